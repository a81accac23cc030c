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
