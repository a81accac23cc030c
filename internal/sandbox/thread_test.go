package sandbox

import (
	"context"
	"errors"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// TestOutlivesTheThreadThatStartedIt: a sandbox dies with Slipway
// (bwrap's --die-with-parent; a plain process's Pdeathsig) through the
// kernel's parent-death signal, which fires when the *thread* that forked
// it ends, not the process. Go ends a thread when a goroutine locked to it
// returns — as each Kudu file call made as the app's user does — so an
// app's instance started from a thread that later served such a call was
// killed (SIGKILL) under a running server: the app was unready until it
// restarted, a second later, at random. Start forks from a thread that
// lives as long as the server.
func TestOutlivesTheThreadThatStartedIt(t *testing.T) {
	for _, mode := range []string{"confined", "plain"} {
		t.Run(mode, func(t *testing.T) {
			var s *Sandbox
			var spec Spec
			if mode == "confined" {
				s = confinedSandbox(t)
				spec = Spec{Argv: []string{"/bin/sh", "-c", "sleep 30"}, Env: []string{"PATH=/usr/bin:/bin"},
					Home: appHome(t), UID: testUID, GID: testGID}
			} else {
				var err error
				if s, err = New(Config{Disabled: true}); err != nil {
					t.Fatal(err)
				}
				spec = Spec{Argv: []string{"sleep", "30"}, Env: []string{"PATH=/usr/bin:/bin"}}
			}
			// Go does not end every such thread (not the process's first
			// one), so four are tried.
			var cmds []*exec.Cmd
			var dones []chan error
			for range 4 {
				cmd, err := s.Command(context.Background(), spec)
				if err != nil {
					t.Fatal(err)
				}
				started := make(chan error, 1)
				go func() {
					// Never unlocked: the thread ends with this goroutine,
					// as a locked thread of the file API does.
					runtime.LockOSThread()
					started <- Start(cmd)
				}()
				if err := <-started; err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				cmds, dones = append(cmds, cmd), append(dones, done)
			}
			time.Sleep(time.Second)
			for i, cmd := range cmds {
				select {
				case err := <-dones[i]:
					t.Errorf("sandboxed process %d ended when the thread that started it did: %v", i, err)
					continue
				default:
				}
				s.Signal(cmd, syscall.SIGKILL)
				<-dones[i]
			}
		})
	}
}

// TestRunAndStart: Run starts through Start and waits; the command's
// outcome is its own.
func TestRunAndStart(t *testing.T) {
	s, err := New(Config{Disabled: true})
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := s.Command(context.Background(), Spec{Argv: []string{"sh", "-c", "exit 3"}, Env: []string{"PATH=/usr/bin:/bin"}})
	if err != nil {
		t.Fatal(err)
	}
	var ee *exec.ExitError
	if err := Run(cmd); err == nil || !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("Run = %v, want exit status 3", err)
	}
	if err := Start(cmd); err == nil {
		t.Error("Start of a command already run: no error")
	}
}
