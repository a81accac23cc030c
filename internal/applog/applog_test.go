package applog

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
