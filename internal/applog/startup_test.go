package applog

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStartupLogKeepsEachStartApart: a start's events and output go to the
// log stream as always and, once it ends, to the day's startup log of its
// outcome with an outcome line StartupOutcome reads; output after the end
// (the running app's) does not.
func TestStartupLogKeepsEachStartApart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "LogFiles")
	os.Mkdir(dir, 0o755)
	now := time.Date(2026, 12, 7, 6, 30, 0, 0, time.UTC)
	h := NewHub(Config{Machine: "m0", Now: func() time.Time { return now }})
	l := h.App("app", dir)
	l.Secrets().Add("s3cret-value")

	a := l.BeginStartup("m0-0")
	a.Event("Starting container %s.", "c0")
	w := a.Writer(SourceApp)
	fmt.Fprintf(w, "Traceback (most recent call last):\nKeyError: 'DBUSER' s3cret-value\n")
	now = now.Add(1500 * time.Millisecond)
	a.End(false, "container c0 has exited (exit status 1)")
	fmt.Fprintf(w, "after the end\n")
	a.Event("not kept either")
	w.Close()

	b := l.BeginStartup("m0-0")
	b.Event("Starting container %s.", "c0")
	b.End(true, "")

	failure, err := os.ReadFile(filepath.Join(dir, StartupDir, "2026_12_07_m0-0_failure.log"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(failure)
	for _, want := range []string{"Starting container c0.", "KeyError: 'DBUSER'", "Startup failed: machine m0-0, after 1.5s: container c0 has exited (exit status 1)"} {
		if !strings.Contains(text, want) {
			t.Errorf("failure log lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "s3cret-value") || strings.Contains(text, "after the end") || strings.Contains(text, "not kept") {
		t.Errorf("failure log holds a secret or lines after the start ended:\n%s", text)
	}
	success, err := os.ReadFile(filepath.Join(dir, StartupDir, "2026_12_07_m0-0_success.log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(success)), "\n")
	at, ok, found := StartupOutcome(lines[len(lines)-1])
	if !found || !ok || !at.Equal(now) {
		t.Errorf("success log's last line %q: StartupOutcome = %v %v %v", lines[len(lines)-1], at, ok, found)
	}
	fl := strings.Split(strings.TrimSpace(text), "\n")
	if _, ok, found := StartupOutcome(fl[len(fl)-1]); !found || ok {
		t.Errorf("failure log's last line %q is not read as a failure", fl[len(fl)-1])
	}
	// The stream had everything, the outcome lines included.
	recent := strings.Join(l.Recent(20), "\n")
	if !strings.Contains(recent, "after the end") || !strings.Contains(recent, "Startup succeeded") {
		t.Errorf("the log stream lacks lines:\n%s", recent)
	}
	if _, _, found := StartupOutcome("not a timestamp Startup failed: x"); found {
		t.Errorf("a line without a timestamp was read as an outcome")
	}
}

// TestStartupLogBounds: one start keeps its newest lines, a day's file
// starts afresh past its bound, and old days and the directory's bound
// delete the oldest files, only files named as startup logs.
func TestStartupLogBounds(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "LogFiles")
	os.MkdirAll(filepath.Join(dir, StartupDir), 0o755)
	now := time.Date(2026, 12, 7, 6, 30, 0, 0, time.UTC)
	h := NewHub(Config{Machine: "m0", Now: func() time.Time { return now }})
	l := h.App("app", dir)
	sd := filepath.Join(dir, StartupDir)
	os.WriteFile(filepath.Join(sd, "2026_11_20_m0-0_failure.log"), []byte("old\n"), 0o644)
	os.WriteFile(filepath.Join(sd, "2026_12_06_m0-0_failure.log"), []byte("yesterday\n"), 0o644)
	os.WriteFile(filepath.Join(sd, "notes.txt"), []byte("the app's own\n"), 0o644)

	a := l.BeginStartup("m0-0")
	w := a.Writer(SourceApp)
	line := strings.Repeat("x", 1000)
	for i := range 600 { // about 600 KB: more than a start keeps
		fmt.Fprintf(w, "%04d %s\n", i, line)
	}
	a.End(false, "crashed")
	name := filepath.Join(sd, "2026_12_07_m0-0_failure.log")
	b, _ := os.ReadFile(name)
	if len(b) > StartupAttemptBytes+4096 || !strings.Contains(string(b), "0599 x") || strings.Contains(string(b), "0000 x") || !strings.Contains(string(b), "earlier lines of this start were left out") {
		t.Errorf("one start wrote %d bytes (bound %d), newest kept: %v, note: %v", len(b), StartupAttemptBytes, strings.Contains(string(b), "0599 x"), strings.Contains(string(b), "left out"))
	}
	if _, err := os.Stat(filepath.Join(sd, "2026_11_20_m0-0_failure.log")); err == nil {
		t.Errorf("a startup log older than %d days was kept", StartupDays)
	}
	if _, err := os.Stat(filepath.Join(sd, "2026_12_06_m0-0_failure.log")); err != nil {
		t.Errorf("yesterday's startup log went: %v", err)
	}
	if _, err := os.Stat(filepath.Join(sd, "notes.txt")); err != nil {
		t.Errorf("a file not named as a startup log was deleted: %v", err)
	}
	// More starts that day: the file stays within its bound.
	for range 6 {
		a := l.BeginStartup("m0-0")
		w := a.Writer(SourceApp)
		for i := range 300 {
			fmt.Fprintf(w, "%04d %s\n", i, line)
		}
		a.End(false, "crashed again")
	}
	fi, err := os.Stat(name)
	if err != nil || fi.Size() > StartupFileBytes {
		t.Fatalf("the day's file: %v, %d bytes (bound %d)", err, fi.Size(), StartupFileBytes)
	}
	b, _ = os.ReadFile(name)
	if !strings.Contains(string(b), "earlier starts of the day were left out") || !strings.HasSuffix(strings.TrimSpace(string(b)), "crashed again") {
		t.Errorf("the day's file after many starts does not say what it left out or lacks the newest start")
	}
}

// TestAttack_StartupLogLinks: the app owns LogFiles. A StartupLogs that is
// a symlink, or a startup log name that is a symlink or a hard link to a
// file outside, is never written through.
func TestAttack_StartupLogLinks(t *testing.T) {
	now := time.Date(2026, 12, 7, 6, 30, 0, 0, time.UTC)
	h := NewHub(Config{Machine: "m0", Now: func() time.Time { return now }})

	// StartupLogs is a symlink to a directory outside.
	tmp := t.TempDir()
	outside := filepath.Join(tmp, "outside")
	os.Mkdir(outside, 0o755)
	dir := filepath.Join(tmp, "LogFiles")
	os.Mkdir(dir, 0o755)
	os.Symlink(outside, filepath.Join(dir, StartupDir))
	a := h.App("one", dir).BeginStartup("m0-0")
	a.Event("hello")
	a.End(true, "")
	if es, _ := os.ReadDir(outside); len(es) != 0 {
		t.Errorf("a startup log was written through a symlinked StartupLogs: %v", es)
	}

	// The day's file is a symlink, then a hard link, to a victim file.
	tmp2 := t.TempDir()
	victim := filepath.Join(tmp2, "victim")
	os.WriteFile(victim, []byte("precious\n"), 0o644)
	dir2 := filepath.Join(tmp2, "LogFiles")
	os.MkdirAll(filepath.Join(dir2, StartupDir), 0o755)
	name := filepath.Join(dir2, StartupDir, "2026_12_07_m0-0_success.log")
	os.Symlink(victim, name)
	l := h.App("two", dir2)
	a = l.BeginStartup("m0-0")
	a.Event("through a symlink")
	a.End(true, "")
	os.Remove(name)
	if err := os.Link(victim, name); err != nil {
		t.Fatal(err)
	}
	a = l.BeginStartup("m0-0")
	a.Event("through a hard link")
	a.End(true, "")
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Errorf("the victim file was written through a link: %q", b)
	}
	if b, _ := os.ReadFile(name); !strings.Contains(string(b), "through a hard link") {
		t.Errorf("the startup log was not made afresh: %q", b)
	}

	// A machine name that is not a file name writes nothing.
	dir3 := filepath.Join(t.TempDir(), "LogFiles")
	os.Mkdir(dir3, 0o755)
	a = h.App("three", dir3).BeginStartup("../../etc")
	a.End(true, "")
	if es, _ := os.ReadDir(filepath.Join(dir3, StartupDir)); len(es) != 0 {
		t.Errorf("a startup log named by a bad machine name was written: %v", es)
	}
}
