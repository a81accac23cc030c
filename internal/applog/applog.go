// Package applog keeps each app's log stream: the app's own stdout/stderr and
// the platform's events about it (build, release, start, crash, restart).
//
// Lines are timestamped and appended to files under the app's persistent
// home, named as App Service names them (APPSERVICE.md §10):
// LogFiles/YYYY_MM_DD_<machine>_default_docker.log for app output and
// LogFiles/YYYY_MM_DD_<machine>_docker.log for platform events. Live
// subscribers (the Kudu log stream, `webapp log tail`) get every new line and
// the most recent ones on connect.
package applog

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Sources of log lines; each has its own file.
const (
	SourceApp      = "default_docker" // the app's stdout and stderr
	SourcePlatform = "docker"         // platform events about the app
)

const recentLines = 200

// Config configures a Hub.
type Config struct {
	Machine string           // machine name used in file names, e.g. "slipway0"
	Now     func() time.Time // nil → time.Now
}

// Hub owns the logs of every app.
type Hub struct {
	cfg  Config
	mu   sync.Mutex
	apps map[string]*Log // by lower-cased site name
}

// NewHub returns a Hub.
func NewHub(cfg Config) *Hub {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Machine == "" {
		cfg.Machine = "slipway0"
	}
	return &Hub{cfg: cfg, apps: make(map[string]*Log)}
}

// App returns the log of a site whose LogFiles directory is dir, creating it
// on first use. Later calls return the same Log whatever dir they pass.
func (h *Hub) App(site, dir string) *Log {
	h.mu.Lock()
	defer h.mu.Unlock()
	key := strings.ToLower(site)
	if l, ok := h.apps[key]; ok {
		return l
	}
	l := &Log{hub: h, dir: dir, subs: make(map[chan string]struct{})}
	h.apps[key] = l
	return l
}

// Forget drops a site's log (after the site is deleted). Open subscriptions end.
func (h *Hub) Forget(site string) {
	h.mu.Lock()
	l := h.apps[strings.ToLower(site)]
	delete(h.apps, strings.ToLower(site))
	h.mu.Unlock()
	if l != nil {
		l.closeSubs()
	}
}

// Log is one app's log.
type Log struct {
	hub    *Hub
	dir    string
	mu     sync.Mutex
	recent []string
	subs   map[chan string]struct{}
	closed bool
}

// Event records a platform event about the app.
func (l *Log) Event(format string, args ...any) {
	l.line(SourcePlatform, fmt.Sprintf(format, args...))
}

// Writer returns a writer whose lines go to the given source. Partial lines
// are held until their newline arrives (or Close flushes them). Each Writer
// is for one producer; it is not safe for concurrent use.
func (l *Log) Writer(source string) *LineWriter {
	return &LineWriter{log: l, source: source}
}

func (l *Log) line(source, text string) {
	now := l.hub.cfg.Now().UTC()
	rec := now.Format("2006-01-02T15:04:05.000000000Z") + " " + strings.TrimRight(text, "\r\n")
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dir != "" {
		name := fmt.Sprintf("%s_%s_%s.log", now.Format("2006_01_02"), l.hub.cfg.Machine, source)
		// One open per line keeps no descriptor per app; app logs are not a hot path
		// compared with the app's own work, and O_APPEND keeps concurrent writers whole.
		if f, err := os.OpenFile(filepath.Join(l.dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
			f.WriteString(rec + "\n")
			f.Close()
		}
	}
	l.recent = append(l.recent, rec)
	if len(l.recent) > recentLines {
		l.recent = append(l.recent[:0:0], l.recent[len(l.recent)-recentLines:]...)
	}
	for ch := range l.subs {
		select {
		case ch <- rec:
		default: // a slow reader loses lines rather than stalling the app
		}
	}
}

// Recent returns up to n of the most recent lines, oldest first.
func (l *Log) Recent(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n > len(l.recent) {
		n = len(l.recent)
	}
	return append([]string(nil), l.recent[len(l.recent)-n:]...)
}

// Subscribe returns the last n lines and a channel of new lines. The channel
// is closed when ctx ends or the log is forgotten.
func (l *Log) Subscribe(ctx context.Context, n int) ([]string, <-chan string) {
	ch := make(chan string, 1024)
	l.mu.Lock()
	if n > len(l.recent) {
		n = len(l.recent)
	}
	recent := append([]string(nil), l.recent[len(l.recent)-n:]...)
	if l.closed {
		close(ch)
		l.mu.Unlock()
		return recent, ch
	}
	l.subs[ch] = struct{}{}
	l.mu.Unlock()
	context.AfterFunc(ctx, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if _, ok := l.subs[ch]; ok {
			delete(l.subs, ch)
			close(ch)
		}
	})
	return recent, ch
}

func (l *Log) closeSubs() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for ch := range l.subs {
		delete(l.subs, ch)
		close(ch)
	}
}

// LineWriter splits what it is given into lines for a Log.
type LineWriter struct {
	log    *Log
	source string
	buf    bytes.Buffer
}

// Write implements io.Writer.
func (w *LineWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	for {
		i := bytes.IndexByte(w.buf.Bytes(), '\n')
		if i < 0 {
			break
		}
		w.log.line(w.source, string(w.buf.Next(i+1)))
	}
	if w.buf.Len() > 64<<10 { // a very long line without newline: flush it in pieces
		w.log.line(w.source, w.buf.String())
		w.buf.Reset()
	}
	return len(p), nil
}

// Close flushes a trailing partial line.
func (w *LineWriter) Close() error {
	if w.buf.Len() > 0 {
		w.log.line(w.source, w.buf.String())
		w.buf.Reset()
	}
	return nil
}
