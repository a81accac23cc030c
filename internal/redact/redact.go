// Package redact keeps a bounded set of secret values (Key Vault secrets
// resolved into an app's settings) and replaces them in text before the
// text reaches a log: the app's log stream and files, and the deployment
// log. A value is replaced wherever it occurs, and a multi-line value line
// by line, as CI systems mask their secrets, since logs are written by
// line. Values shorter than MinLength are not masked: masking a two-letter
// value everywhere would garble every log without protecting anything.
package redact

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"sync"
)

// Mask is what a secret value becomes.
const Mask = "***"

// Limits of a Set.
const (
	MinLength = 4
	// MaxValues bounds the values a Set holds; the oldest go first.
	MaxValues = 256
	// MaxValueBytes bounds one value (a Key Vault secret holds at most 25 KiB).
	MaxValueBytes = 25 << 10
)

// Set is a set of secret values to mask, safe for concurrent use. The zero
// Set is empty and ready.
type Set struct {
	mu     sync.RWMutex
	values []string // oldest first; each line of a multi-line value on its own
	max    int      // length of the longest value
}

// Add adds values (ignoring empty, short and oversized ones).
func (s *Set) Add(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range values {
		if len(v) > MaxValueBytes {
			v = v[:MaxValueBytes]
		}
		for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' }) {
			if len(part) < MinLength || slices.Contains(s.values, part) {
				continue
			}
			if len(s.values) >= MaxValues {
				s.values = slices.Delete(s.values, 0, 1)
			}
			s.values = append(s.values, part)
		}
	}
	s.max = 0
	for _, v := range s.values {
		s.max = max(s.max, len(v))
	}
	// Longest first, so that a value containing another is masked whole.
	slices.SortStableFunc(s.values, func(a, b string) int { return len(b) - len(a) })
}

// Len is the number of values held.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.values)
}

// String masks the values in text.
func (s *Set) String(text string) string {
	if s == nil {
		return text
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, v := range s.values {
		if strings.Contains(text, v) {
			text = strings.ReplaceAll(text, v, Mask)
		}
	}
	return text
}

// Bytes masks the values in text; it returns text itself when none occurs.
func (s *Set) Bytes(text []byte) []byte {
	if s == nil {
		return text
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, v := range s.values {
		if bytes.Contains(text, []byte(v)) {
			text = bytes.ReplaceAll(text, []byte(v), []byte(Mask))
		}
	}
	return text
}

// Longest is the length of the longest value held.
func (s *Set) Longest() int {
	if s == nil {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.max
}

// Cut returns where to cut text, at n or before it, so that no value
// occurring in text is split: n, or the start of a value that crosses n, or
// — when such a value starts at 0 — its end. Text must hold every byte of a
// value that crosses n: Longest()-1 bytes past n, or up to a line's end (a
// value never spans lines).
func (s *Set) Cut(text []byte, n int) int {
	if s == nil || n <= 0 || n >= len(text) {
		return n
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	// Each move goes left past a value's start, so this ends; the bound
	// is for safety.
	for range MaxValues + 1 {
		moved := false
		for _, v := range s.values {
			from, to := max(n-len(v)+1, 0), min(n+len(v)-1, len(text))
			if to-from < len(v) {
				continue
			}
			if i := bytes.Index(text[from:to], []byte(v)); i >= 0 {
				start := from + i
				if start == 0 {
					return len(v) // kept whole: masked, it is short
				}
				n, moved = start, true
			}
		}
		if !moved {
			break
		}
	}
	return n
}

// Writer masks what passes through it to w. It holds back a line until its
// newline arrives (a value split over two writes is still masked), or, for
// a line longer than flushAt, all but the tail that could begin a value.
// Close writes what is held. A Writer is for one producer at a time.
type Writer struct {
	set *Set
	w   io.Writer
	buf []byte
}

// flushAt is how much of an unterminated line a Writer holds.
const flushAt = 64 << 10

// NewWriter returns a Writer that masks s's values in what it passes to w.
func NewWriter(s *Set, w io.Writer) *Writer {
	return &Writer{set: s, w: w}
}

func (w *Writer) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	if i := bytes.LastIndexByte(p, '\n'); i >= 0 { // only the new bytes can end a line
		if err := w.emit(len(w.buf) - len(p) + i + 1); err != nil {
			return 0, err
		}
	}
	if len(w.buf) > flushAt {
		// Masked as a whole, the buffer can be cut anywhere before its
		// last longest-1 bytes: a value starting before the cut ends
		// inside the buffer, so it has been masked already.
		w.buf = w.set.Bytes(w.buf)
		keep := max(w.set.Longest()-1, 0)
		if err := w.emit(len(w.buf) - keep); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// emit masks and writes the first n bytes held.
func (w *Writer) emit(n int) error {
	out := w.set.Bytes(slices.Clone(w.buf[:n]))
	w.buf = append(w.buf[:0], w.buf[n:]...)
	_, err := w.w.Write(out)
	return err
}

// Close writes what is held back. It does not close the underlying writer.
func (w *Writer) Close() error {
	if len(w.buf) == 0 {
		return nil
	}
	return w.emit(len(w.buf))
}
