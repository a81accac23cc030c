package applog

import (
	"bytes"
	"path/filepath"
	"testing"
)

// TestAttackHugeLinesAreSplit: an app's output is kept in memory (the
// recent ring, every log-stream subscriber's queue), so one line must not
// be as long as the app likes. A line of 1 MB written at once, ending in a
// newline, arrives in pieces of at most MaxLineBytes, as Docker's log
// driver splits lines on App Service; nothing is lost.
func TestAttackHugeLinesAreSplit(t *testing.T) {
	l := newHub(t, Config{}).App("a", filepath.Join(t.TempDir(), "LogFiles"))
	w := l.Writer(SourceApp)
	huge := bytes.Repeat([]byte("x"), 1<<20)
	w.Write(append(huge, '\n'))
	w.Write([]byte("next\n"))
	got := 0
	for _, rec := range l.Recent(recentLines) {
		text := rec[len(timestampLayout)+1:]
		if len(text) > MaxLineBytes {
			t.Fatalf("a line of %d bytes is kept whole", len(text))
		}
		if text != "next" {
			got += len(text)
		}
	}
	if got != len(huge) {
		t.Errorf("the pieces hold %d bytes, want %d", got, len(huge))
	}
}

// TestAttackSecretAcrossTheSplit: a line longer than MaxLineBytes arrives
// in pieces; a Key Vault value the app prints where the cut falls would
// reach the log half in one piece and half in the next, each too short to
// be masked. The cut moves to before the value; a value longer than a
// piece (Key Vault holds up to 25 KiB) is kept whole, masked.
func TestAttackSecretAcrossTheSplit(t *testing.T) {
	short := "s3cr3t-" + string(bytes.Repeat([]byte("k"), 40))
	long := "L0ng-" + string(bytes.Repeat([]byte("v"), 20<<10))
	for _, tc := range []struct {
		name, secret string
		at           int // where the value starts in the line
	}{
		{"across the cut", short, MaxLineBytes - 10},
		{"ends at the cut", short, MaxLineBytes - len(short)},
		{"starts at the cut", short, MaxLineBytes},
		{"longer than a piece", long, 100},
		{"longer than a piece, at the start", long, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newHub(t, Config{}).App("a", filepath.Join(t.TempDir(), "LogFiles"))
			l.Secrets().Add(tc.secret)
			w := l.Writer(SourceApp)
			line := append(bytes.Repeat([]byte("x"), tc.at), tc.secret...)
			line = append(line, bytes.Repeat([]byte("y"), 3*MaxLineBytes)...)
			// In small writes, as a process's output arrives.
			for rest := append(line, '\n'); len(rest) > 0; {
				n := min(len(rest), 1000)
				w.Write(rest[:n])
				rest = rest[n:]
			}
			var all bytes.Buffer
			for _, rec := range l.Recent(recentLines) {
				text := rec[len(timestampLayout)+1:]
				if len(text) > MaxLineBytes {
					t.Errorf("a piece of %d bytes", len(text))
				}
				all.WriteString(text)
			}
			want := append(bytes.Repeat([]byte("x"), tc.at), "***"...)
			want = append(want, bytes.Repeat([]byte("y"), 3*MaxLineBytes)...)
			if !bytes.Equal(all.Bytes(), want) {
				i := 0
				for i < min(all.Len(), len(want)) && all.Bytes()[i] == want[i] {
					i++
				}
				t.Errorf("the pieces joined differ from the masked line at byte %d of %d: %.60q", i, all.Len(), all.Bytes()[max(i-20, 0):])
			}
		})
	}
}
