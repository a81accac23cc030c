package scm

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestRunCPU: a run's CPU time is found by its WEBJOBS_RUN_ID among the
// processes of its user (the first variable of an environment counts too),
// grows while it computes, and another run's id or another user's
// processes do not count.
func TestRunCPU(t *testing.T) {
	for _, first := range []bool{true, false} {
		env := []string{"WEBJOBS_RUN_ID=7001", "PATH=" + os.Getenv("PATH")}
		if !first {
			env = []string{"PATH=" + os.Getenv("PATH"), "WEBJOBS_RUN_ID=7001"}
		}
		cmd := exec.Command("sh", "-c", "while :; do :; done")
		cmd.Env = env
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		a, ok := runCPU(os.Getuid(), "7001")
		time.Sleep(300 * time.Millisecond)
		b, _ := runCPU(os.Getuid(), "7001")
		_, other := runCPU(os.Getuid(), "700")
		_, otherUser := runCPU(os.Getuid()+12345, "7001")
		cmd.Process.Kill()
		cmd.Wait()
		if !ok || b <= a || other || otherUser {
			t.Errorf("first=%v: found %v, %d then %d ticks; a prefix of the id found %v; another user's %v", first, ok, a, b, other, otherUser)
		}
	}
}

// TestStatCPU: a command name with spaces and parentheses does not shift
// the fields.
func TestStatCPU(t *testing.T) {
	p := filepath.Join(t.TempDir(), "stat")
	os.WriteFile(p, []byte("42 (a) b (c) S 1 42 42 0 -1 4194560 100 0 0 0 7 5 3 2 20 0 1 0 100 1000 10\n"), 0o644)
	if got, ok := statCPU(p); !ok || got != 17 {
		t.Errorf("statCPU = %d %v, want 7+5+3+2", got, ok)
	}
}
