package scm

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// sessionLeftovers counts what the server still holds for sessions that
// have ended: goroutines in a session's copying, and terminal masters open.
func sessionLeftovers() (goroutines, ptmx int) {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "(*sshSession).run") {
			goroutines++
		}
	}
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		if l, _ := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); l == "/dev/ptmx" {
			ptmx++
		}
	}
	return
}

// TestAttackSSHTerminalHeldElsewhere: a session's command hands its
// terminal to a process that outlives it (in the sandbox, one of the app's
// instances, through a Unix socket in /home; here a process of a session
// of its own) and that never writes. The session ends; the server must not
// keep, for each such session, a goroutine and an OS thread blocked reading
// the terminal, and the terminal itself: the app's bound on sessions no
// longer counts them, so they would pile up to the machine's limits on
// terminals and on the server's threads.
func TestAttackSSHTerminalHeldElsewhere(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("setsid (util-linux) not installed")
	}
	g0, p0 := sessionLeftovers()
	srv := newSSHKudu(t, runningSite(), &localShells{})
	c := login(t, srv)
	const n = 3
	for i := 0; i < n; i++ {
		s, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.RequestPty("xterm", 24, 80, ssh.TerminalModes{}); err != nil {
			t.Fatal(err)
		}
		var out syncBuffer
		s.Stdout = &out
		// The holder keeps the terminal as its input and outputs, silent.
		err = s.Run("setsid -f sh -c 'echo holder=$$; exec sleep 120'; sleep 0.2")
		if err != nil {
			t.Fatalf("session %d: %v (%q)", i, err, out.String())
		}
		_, pid, _ := strings.Cut(strings.TrimSpace(out.String()), "holder=")
		if p, err := strconv.Atoi(strings.TrimSpace(pid)); err == nil {
			t.Cleanup(func() { syscall.Kill(p, syscall.SIGKILL) })
		} else {
			t.Fatalf("no holder's pid in %q", out.String())
		}
	}
	var g, p int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if g, p = sessionLeftovers(); g <= g0 && p <= p0 {
			return
		}
	}
	t.Fatalf("after %d sessions ended, the server still holds %d goroutines reading their terminals and %d terminals", n, g-g0, p-p0)
}
