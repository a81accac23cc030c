package applog

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLogLinesFilesAndSubscribers(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	h := NewHub(Config{Machine: "m0", Now: func() time.Time { return now }})
	l := h.App("Todo", dir)
	if h.App("todo", "/elsewhere") != l {
		t.Fatalf("the same site (any case) must get the same log")
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.Event("Starting container %s.", "c1")
	recent, live := l.Subscribe(ctx, 10)
	if len(recent) != 1 || !strings.HasSuffix(recent[0], "Starting container c1.") {
		t.Fatalf("recent = %q", recent)
	}
	w := l.Writer(SourceApp)
	w.Write([]byte("partial "))
	w.Write([]byte("line\nsecond\nthird-without-newline"))
	w.Close()
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"partial line", "second", "third-without-newline"} {
		select {
		case got := <-live:
			if !strings.HasSuffix(got, " "+want) || !strings.HasPrefix(got, "2026-11-25T10:00:00") {
				t.Errorf("live line = %q, want a timestamped %q", got, want)
			}
		case <-time.After(time.Second):
			t.Fatalf("no live line %q", want)
		}
	}
	app, _ := os.ReadFile(filepath.Join(dir, "2026_11_25_m0_default_docker.log"))
	platform, _ := os.ReadFile(filepath.Join(dir, "2026_11_25_m0_docker.log"))
	if strings.Count(string(app), "\n") != 3 || !strings.Contains(string(platform), "Starting container c1.") {
		t.Errorf("log files:\napp:\n%s\nplatform:\n%s", app, platform)
	}
	cancel()
	deadline := time.After(time.Second)
	for {
		select {
		case _, ok := <-live:
			if !ok {
				return // the subscription ended with its context
			}
		case <-deadline:
			t.Fatalf("the subscription did not end with its context")
		}
	}
}

func TestForgetEndsSubscriptions(t *testing.T) {
	h := NewHub(Config{})
	l := h.App("a", "")
	_, live := l.Subscribe(context.Background(), 5)
	h.Forget("A")
	if _, ok := <-live; ok {
		t.Fatalf("a forgotten log's subscription is still open")
	}
}

var day = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

const (
	appFile      = "2026_11_25_m0_default_docker.log"
	platformFile = "2026_11_25_m0_docker.log"
)

// layout makes <tmp>/home/LogFiles and, outside the home, a file and a
// directory standing for the host's.
func layout(t *testing.T) (logs, outsideFile, outsideDir string) {
	t.Helper()
	tmp := t.TempDir()
	logs = filepath.Join(tmp, "home", "LogFiles")
	outsideDir = filepath.Join(tmp, "etc")
	outsideFile = filepath.Join(outsideDir, "passwd")
	for _, d := range []string{logs, outsideDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(outsideFile, []byte("root:x:0:0:root:/root:/bin/bash\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return logs, outsideFile, outsideDir
}

// snapshot is every file under dir with its contents.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			m[p] = string(b)
		}
		return nil
	})
	return m
}

func newHub(t *testing.T, cfg Config) *Hub {
	t.Helper()
	if cfg.Machine == "" {
		cfg.Machine = "m0"
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return day }
	}
	h := NewHub(cfg)
	t.Cleanup(func() { h.Close() })
	return h
}

// TestAppCannotRedirectLogWrites: whatever the app plants in its LogFiles
// (or in place of it), the root server's writes never leave the app's home.
func TestAppCannotRedirectLogWrites(t *testing.T) {
	tests := []struct {
		name string
		// plant runs after a first line was written and flushed.
		plant func(t *testing.T, logs, outsideFile, outsideDir string)
		// inFile: the later lines must reach a fresh plain log file.
		inFile bool
	}{
		{"log file replaced by a symlink to a host file", func(t *testing.T, logs, file, _ string) {
			must(t, os.Remove(filepath.Join(logs, appFile)))
			must(t, os.Symlink(file, filepath.Join(logs, appFile)))
		}, true},
		{"log file replaced by a relative symlink out of the home", func(t *testing.T, logs, _, _ string) {
			must(t, os.Remove(filepath.Join(logs, appFile)))
			must(t, os.Symlink("../../etc/passwd", filepath.Join(logs, appFile)))
		}, true},
		{"log file replaced by a dangling symlink", func(t *testing.T, logs, _, dir string) {
			must(t, os.Remove(filepath.Join(logs, appFile)))
			must(t, os.Symlink(filepath.Join(dir, "new"), filepath.Join(logs, appFile)))
		}, true},
		{"log file replaced by a hard link to a host file", func(t *testing.T, logs, file, _ string) {
			must(t, os.Remove(filepath.Join(logs, appFile)))
			must(t, os.Link(file, filepath.Join(logs, appFile)))
		}, true},
		{"LogFiles replaced by a symlink to a host directory", func(t *testing.T, logs, _, dir string) {
			must(t, os.Rename(logs, logs+".old"))
			must(t, os.Symlink(dir, logs))
		}, false},
		{"LogFiles replaced by a symlink inside the home", func(t *testing.T, logs, _, _ string) {
			must(t, os.Rename(logs, logs+".old"))
			must(t, os.Symlink("LogFiles.old", logs))
		}, false},
		{"LogFiles replaced by a file", func(t *testing.T, logs, _, _ string) {
			must(t, os.RemoveAll(logs))
			must(t, os.WriteFile(logs, nil, 0o644))
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logs, outsideFile, outsideDir := layout(t)
			l := newHub(t, Config{}).App("a", logs)
			w := l.Writer(SourceApp)
			fmt.Fprintln(w, "before")
			must(t, l.Flush())
			before := snapshot(t, outsideDir)
			tc.plant(t, logs, outsideFile, outsideDir)
			for i := range 100 {
				fmt.Fprintf(w, "root::0:0::/:/bin/sh %d\n", i)
			}
			l.Flush()
			if diff := cmp.Diff(before, snapshot(t, outsideDir)); diff != "" {
				t.Fatalf("a file outside the home changed (-before +after):\n%s", diff)
			}
			if got := l.Recent(1); len(got) != 1 || !strings.HasSuffix(got[0], "/bin/sh 99") {
				t.Errorf("recent = %q, want the last line kept in memory", got)
			}
			if !tc.inFile {
				return
			}
			fi, err := os.Lstat(filepath.Join(logs, appFile))
			if err != nil || !fi.Mode().IsRegular() {
				t.Fatalf("log file after the attack: %v, %v; want a fresh plain file", fi, err)
			}
			b, _ := os.ReadFile(filepath.Join(logs, appFile))
			if n := strings.Count(string(b), "/bin/sh"); n != 100 {
				t.Errorf("fresh log file has %d of 100 lines:\n%s", n, b)
			}
		})
	}
}

// TestSymlinkBeforeFirstOpen: a symlink planted before the log ever opened
// its file is not written through either.
func TestSymlinkBeforeFirstOpen(t *testing.T) {
	logs, outsideFile, _ := layout(t)
	must(t, os.Symlink(outsideFile, filepath.Join(logs, platformFile)))
	before, _ := os.ReadFile(outsideFile)
	l := newHub(t, Config{}).App("a", logs)
	l.Event("root::0:0::/:/bin/sh")
	must(t, l.Flush())
	if after, _ := os.ReadFile(outsideFile); string(after) != string(before) {
		t.Fatalf("host file changed: %q", after)
	}
}

// TestFIFONeverBlocks: a FIFO in place of the log file, with or without a
// reader, neither blocks the server nor receives the lines.
func TestFIFONeverBlocks(t *testing.T) {
	for _, withReader := range []bool{false, true} {
		t.Run(fmt.Sprintf("reader=%v", withReader), func(t *testing.T) {
			logs, _, _ := layout(t)
			fifo := filepath.Join(logs, appFile)
			must(t, syscall.Mkfifo(fifo, 0o644))
			if withReader {
				r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
				must(t, err)
				defer func() {
					b := make([]byte, 100)
					if n, _ := r.Read(b); n > 0 {
						t.Errorf("the FIFO's reader got %q", b[:n])
					}
					r.Close()
				}()
			}
			l := newHub(t, Config{}).App("a", logs)
			done := make(chan struct{})
			go func() {
				defer close(done)
				fmt.Fprintln(l.Writer(SourceApp), "hello")
				l.Flush()
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("writing a line blocked on a FIFO")
			}
			if b, _ := os.ReadFile(filepath.Join(logs, appFile)); !strings.HasSuffix(string(b), " hello\n") {
				t.Errorf("log file = %q, want a fresh file with the line", b)
			}
		})
	}
}

// TestOrderAcrossFlushes: lines reach the file in the order they were
// logged, across size-triggered, timed and explicit flushes.
func TestOrderAcrossFlushes(t *testing.T) {
	logs, _, _ := layout(t)
	l := newHub(t, Config{FlushBytes: 4 << 10, FlushDelay: 20 * time.Millisecond}).App("a", logs)
	w := l.Writer(SourceApp)
	const n = 20000
	for i := range n {
		fmt.Fprintf(w, "line %d\n", i)
		if i == n/2 {
			// A timed flush writes what is buffered without being asked.
			deadline := time.Now().Add(5 * time.Second)
			for {
				b, _ := os.ReadFile(filepath.Join(logs, appFile))
				if strings.HasSuffix(string(b), fmt.Sprintf(" line %d\n", i)) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("line %d not written within the flush delay", i)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	must(t, l.Flush())
	b, err := os.ReadFile(filepath.Join(logs, appFile))
	must(t, err)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("%d lines in the file, want %d", len(lines), n)
	}
	for i, line := range lines {
		if want := fmt.Sprintf(" line %d", i); !strings.HasSuffix(line, want) {
			t.Fatalf("line %d = %q, want …%q", i, line, want)
		}
	}
}

// TestSizeCap: written well past the cap, the hub's files stay under it
// (plus one buffer), the newest lines are kept and older files rolled over.
func TestSizeCap(t *testing.T) {
	const maxBytes, flush = 64 << 10, 2 << 10
	logs, _, _ := layout(t)
	other := filepath.Join(logs, "app-own.txt")
	must(t, os.WriteFile(other, []byte("the app's own file"), 0o644))
	l := newHub(t, Config{FlushBytes: flush}).App("a", logs)
	l.SetRetention(maxBytes, 0)
	app, platform := l.Writer(SourceApp), l.Writer(SourcePlatform)
	line := strings.Repeat("x", 100)
	for i := range 20000 { // about 2.6 MB
		fmt.Fprintf(app, "%d %s\n", i, line)
		if i%10 == 0 {
			fmt.Fprintf(platform, "event %d\n", i)
		}
		if i%1000 == 999 {
			if total := logTotal(t, logs); total > maxBytes+flush {
				t.Fatalf("after %d lines the log files total %d bytes, cap %d", i+1, total, maxBytes)
			}
		}
	}
	must(t, l.Flush())
	if total := logTotal(t, logs); total > maxBytes+flush {
		t.Fatalf("log files total %d bytes, cap %d", total, maxBytes)
	}
	if b, _ := os.ReadFile(filepath.Join(logs, appFile)); !strings.Contains(string(b), " 19999 ") {
		t.Errorf("the newest line is not in the current file")
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("the app's own file was deleted: %v", err)
	}
	rolled, _ := filepath.Glob(filepath.Join(logs, "2026_11_25_m0_default_docker.*.log"))
	if len(rolled) == 0 {
		t.Errorf("no rolled-over file; LogFiles has %v", names(t, logs))
	}
}

func logTotal(t *testing.T, dir string) int64 {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	var total int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			total += fi.Size()
		}
	}
	return total
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	es, _ := os.ReadDir(dir)
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// TestRetentionDays: files dated before the retention go; newer ones, and
// files the hub did not write, stay.
func TestRetentionDays(t *testing.T) {
	logs, _, _ := layout(t)
	old := []string{"2026_11_20_m0_docker.log", "2026_11_22_m0_default_docker.log", "2026_11_22_m0_default_docker.1.log"}
	kept := []string{"2026_11_23_m0_docker.log", "2026_11_24_m0_default_docker.log", "2026_11_01_other_docker.log", "notes.log", "2026_11_01.txt"}
	for _, n := range append(slices.Clone(old), kept...) {
		must(t, os.WriteFile(filepath.Join(logs, n), []byte("old\n"), 0o644))
	}
	l := newHub(t, Config{}).App("a", logs)
	l.SetRetention(0, 2)
	l.Event("hello")
	must(t, l.Flush())
	want := append(slices.Clone(kept), platformFile)
	slices.Sort(want)
	if diff := cmp.Diff(want, names(t, logs)); diff != "" {
		t.Errorf("LogFiles after retention (-want +got):\n%s", diff)
	}
}

// TestDayChange: a new day's lines go to a new day's file.
func TestDayChange(t *testing.T) {
	logs, _, _ := layout(t)
	now := day
	l := newHub(t, Config{Now: func() time.Time { return now }}).App("a", logs)
	l.Event("one")
	now = now.Add(24 * time.Hour)
	l.Event("two")
	must(t, l.Flush())
	for file, want := range map[string]string{platformFile: " one\n", "2026_11_26_m0_docker.log": " two\n"} {
		if b, _ := os.ReadFile(filepath.Join(logs, file)); !strings.HasSuffix(string(b), want) || strings.Count(string(b), "\n") != 1 {
			t.Errorf("%s = %q, want one line ending %q", file, b, want)
		}
	}
}

// TestCloseAndForget write out buffered lines and close the files.
func TestCloseAndForget(t *testing.T) {
	logs, _, _ := layout(t)
	h := NewHub(Config{Machine: "m0", Now: func() time.Time { return day }, FlushDelay: time.Hour})
	a := h.App("a", logs)
	a.Event("by close")
	must(t, h.Close())
	a.Event("after close")
	b, _ := os.ReadFile(filepath.Join(logs, platformFile))
	if string(b) != day.Format(timestampLayout)+" by close\n" {
		t.Errorf("after Close the file has %q", b)
	}
	if got := a.Recent(5); len(got) != 2 {
		t.Errorf("recent after Close = %q", got)
	}

	logs2, _, _ := layout(t)
	h2 := NewHub(Config{Machine: "m0", Now: func() time.Time { return day }, FlushDelay: time.Hour})
	defer h2.Close()
	h2.App("b", logs2).Event("by forget")
	h2.Forget("b")
	if b, _ := os.ReadFile(filepath.Join(logs2, platformFile)); !strings.HasSuffix(string(b), " by forget\n") {
		t.Errorf("after Forget the file has %q", b)
	}
}

// TestOwner: created files belong to the app's user.
func TestOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	logs, _, _ := layout(t)
	l := newHub(t, Config{}).App("a", logs)
	l.SetOwner(4321, 4322)
	l.Event("mine")
	must(t, l.Flush())
	fi, err := os.Stat(filepath.Join(logs, platformFile))
	must(t, err)
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 4321 || st.Gid != 4322 {
		t.Errorf("log file owned by %d:%d, want 4321:4322", st.Uid, st.Gid)
	}
}

// TestRecentRing: Recent keeps the last lines in order once the ring wraps.
func TestRecentRing(t *testing.T) {
	l := newHub(t, Config{}).App("a", "")
	for i := range recentLines + 57 {
		l.Event("%d", i)
	}
	got := l.Recent(3)
	var want []string
	for i := recentLines + 54; i < recentLines+57; i++ {
		want = append(want, fmt.Sprintf("%s %d", day.Format(timestampLayout), i))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Recent(3) (-want +got):\n%s", diff)
	}
	if n := len(l.Recent(1000)); n != recentLines {
		t.Errorf("Recent(1000) has %d lines, want %d", n, recentLines)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkLogLines measures lines per second into a Log with one
// subscriber, written to a file.
func BenchmarkLogLines(b *testing.B) {
	dir := b.TempDir()
	h := NewHub(Config{Machine: "m0"})
	defer h.Close()
	l := h.App("a", dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, live := l.Subscribe(ctx, 0)
	go func() {
		for range live {
		}
	}()
	w := l.Writer(SourceApp)
	line := []byte("10.0.0.1 - - [25/Nov/2026:10:00:00 +0000] \"GET /todos/ HTTP/1.1\" 200 5120 \"-\" \"curl/8\"\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		w.Write(line)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// TestSecretsMasked: a resolved Key Vault value the app or the platform
// prints reaches neither the files, nor the recent lines, nor subscribers.
func TestSecretsMasked(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "LogFiles")
	os.MkdirAll(dir, 0o755)
	h := newHub(t, Config{Machine: "m0"})
	l := h.App("masked", dir)
	_, live := l.Subscribe(t.Context(), 0)
	const secret = "postgres-password-7f3a"
	l.Secrets().Add(secret)
	w := l.Writer(SourceApp)
	w.Write([]byte("DB_PASSWORD=postgres-pass"))
	w.Write([]byte("word-7f3a\n"))
	l.Event("platform saw %s", secret)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, line := range l.Recent(10) {
		all.WriteString(line + "\n")
	}
	for range 2 {
		all.WriteString(<-live + "\n")
	}
	files, _ := os.ReadDir(dir)
	for _, f := range files {
		b, _ := os.ReadFile(filepath.Join(dir, f.Name()))
		all.Write(b)
	}
	if strings.Contains(all.String(), "7f3a") || strings.Count(all.String(), "***") != 6 {
		t.Errorf("logs hold the secret or miss the mask:\n%s", all.String())
	}
}

// TestMissingDirectoryIsQuiet: an app's LogFiles does not exist until its
// home is first prepared (just after the app is created, and at each
// server start before the home is mounted), which is no fault: the lines
// wait in memory and reach the file once it exists, and no warning is
// logged. What is there in its place (a file) is still warned about.
func TestMissingDirectoryIsQuiet(t *testing.T) {
	var logs bytes.Buffer
	now := day
	h := newHub(t, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return now }})
	dir := filepath.Join(t.TempDir(), "LogFiles")
	l := h.App("a", dir)
	l.Event("before the home")
	l.Flush()
	if strings.Contains(logs.String(), "refused") {
		t.Errorf("a LogFiles not made yet was warned about:\n%s", logs.String())
	}
	must(t, os.MkdirAll(dir, 0o755))
	now = now.Add(time.Minute)
	l.Event("after the home")
	must(t, l.Flush())
	b, _ := os.ReadFile(filepath.Join(dir, platformFile))
	if !strings.Contains(string(b), "before the home") || !strings.Contains(string(b), "after the home") {
		t.Errorf("the log file holds %q, want both lines", b)
	}

	other := filepath.Join(t.TempDir(), "LogFiles")
	must(t, os.WriteFile(other, nil, 0o644))
	m := h.App("b", other)
	m.Event("x")
	m.Flush()
	if !strings.Contains(logs.String(), "refused") {
		t.Errorf("a LogFiles that is a file was not warned about:\n%s", logs.String())
	}
}

// TestWaitingLinesReachTheDirectoryMadeLater: lines written before the
// app's LogFiles exists wait in memory; once it is made they reach the
// file without another line to carry them. Before, a failed flush set the
// directory aside for a while and nothing tried again until the app logged
// more, so an app that logs only as it starts (gunicorn's first lines)
// had no log file for Kudu to list or download — a test saw an empty
// /api/logs/docker for 30 s under load.
func TestWaitingLinesReachTheDirectoryMadeLater(t *testing.T) {
	start := time.Now() // a clock that moves, on the day the file names expect
	h := newHub(t, Config{FlushDelay: 5 * time.Millisecond, Now: func() time.Time { return day.Add(time.Since(start)) }})
	h.reopenBackoff = 50 * time.Millisecond
	dir := filepath.Join(t.TempDir(), "LogFiles")
	l := h.App("a", dir)
	w := l.Writer(SourceApp)
	fmt.Fprintln(w, "[INFO] Starting gunicorn")
	fmt.Fprintln(w, "[INFO] Booting worker")
	time.Sleep(30 * time.Millisecond) // the flush has failed: no LogFiles yet
	must(t, os.MkdirAll(dir, 0o755))
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(dir, appFile))
		if strings.Contains(string(b), "Starting gunicorn") && strings.Contains(string(b), "Booting worker") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("5 s after LogFiles was made, %s holds %q; want both lines", appFile, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
