package tenantproc

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/sandbox"
)

// A process that ends is started again, and so it is after a restart that
// failed before its process could run (its output's folder was gone).
func TestRestartOutlastsAFailedStart(t *testing.T) {
	sb, err := sandbox.New(sandbox.Config{Disabled: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	logs, starts := filepath.Join(dir, "logs"), filepath.Join(dir, "starts")
	if err := os.Mkdir(logs, 0o700); err != nil {
		t.Fatal(err)
	}
	p := &Proc{Sandbox: sb, Graceful: syscall.SIGTERM, Grace: time.Second, Name: "test"}
	o := Options{
		Spec:    sandbox.Spec{Argv: []string{"/bin/sh", "-c", "echo started >> " + starts + "; exec sleep 60"}},
		Ready:   func() bool { return true },
		Timeout: 5 * time.Second,
		Output:  filepath.Join(logs, "out"),
	}
	if err := p.Start(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop() })
	count := func() int {
		b, _ := os.ReadFile(starts)
		return strings.Count(string(b), "started")
	}
	// The next start will fail before its process runs.
	if err := os.RemoveAll(logs); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.cmd.Process.Kill()
	p.mu.Unlock()
	time.Sleep(1500 * time.Millisecond) // the first restart (after 1 s) has failed
	if !p.wanted || p.Running() {
		t.Fatalf("after a failed restart: wanted %v, running %v", p.wanted, p.Running())
	}
	if err := os.Mkdir(logs, 0o700); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for count() < 2 || !p.Running() {
		if time.Now().After(deadline) {
			t.Fatalf("not started again: %d starts, running %v", count(), p.Running())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Stopped, it stays stopped.
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if p.Running() || count() != 2 {
		t.Fatalf("after Stop: running %v, %d starts", p.Running(), count())
	}
}
