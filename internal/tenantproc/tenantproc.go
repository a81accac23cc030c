// Package tenantproc runs the long-lived process of a tenant's service — a
// PostgreSQL cluster's postmaster, a Redis cache's server — in the
// platform's sandbox, as the main process of its own sandbox: optionally in
// a control group made for it, waited for until it answers, stopped with a
// graceful signal before a hard one, and ended with Slipway (the sandbox
// dies with its parent).
package tenantproc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/slipway-dev/slipway/internal/sandbox"
)

// GroupFunc makes a control group for a process and returns its
// cgroup.procs files and how to remove it once the process has ended.
type GroupFunc func() (procs []string, release func() error, err error)

// Options say how to start a process.
type Options struct {
	Spec sandbox.Spec
	// Group, when set, gives the process a control group of its own.
	Group GroupFunc
	// Ready reports whether the process answers; Start waits for it.
	Ready func() bool
	// Timeout bounds the wait for Ready.
	Timeout time.Duration
	// Output is the file the process's output goes to (truncated at each
	// start, 0600), and where Start looks for why it ended.
	Output string
}

// Proc is one tenant process, started and stopped any number of times. It
// is safe for concurrent use.
type Proc struct {
	Sandbox *sandbox.Sandbox
	// Graceful is the signal that asks the process to end (PostgreSQL's
	// fast shutdown is SIGINT, Redis ends on SIGTERM); Stop waits Grace
	// for it before harder signals.
	Graceful syscall.Signal
	Grace    time.Duration

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start starts the process unless it runs, and waits until Ready.
func (p *Proc) Start(ctx context.Context, o Options) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.runningLocked() {
		return nil
	}
	out, err := os.OpenFile(o.Output, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	release := func() error { return nil }
	if o.Group != nil {
		procs, r, err := o.Group()
		if err != nil {
			return fmt.Errorf("its control group: %w", err)
		}
		o.Spec.CgroupProcs, release = procs, r
	}
	o.Spec.Stdout, o.Spec.Stderr = out, out
	cmd, err := p.Sandbox.Command(context.Background(), o.Spec)
	if err != nil {
		release()
		return err
	}
	if err := sandbox.Start(cmd); err != nil {
		release()
		return fmt.Errorf("starting %s: %w", filepath.Base(o.Spec.Argv[0]), err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		release()
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited
	deadline := time.Now().Add(o.Timeout)
	for {
		select {
		case <-exited:
			p.cmd = nil
			b, _ := os.ReadFile(o.Output)
			return fmt.Errorf("%s ended as it started: %s", filepath.Base(o.Spec.Argv[0]), tail(b, 2000))
		case <-ctx.Done():
			p.stopLocked()
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if o.Ready() {
			return nil
		}
		if time.Now().After(deadline) {
			p.stopLocked()
			return fmt.Errorf("%s did not answer within %s", filepath.Base(o.Spec.Argv[0]), o.Timeout)
		}
	}
}

// Stop ends the process, if it runs: the graceful signal, then SIGQUIT,
// then SIGKILL.
func (p *Proc) Stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopLocked()
}

func (p *Proc) stopLocked() error {
	if !p.runningLocked() {
		p.cmd = nil
		return nil
	}
	for _, step := range []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{p.Graceful, p.Grace}, {syscall.SIGQUIT, 5 * time.Second}, {syscall.SIGKILL, 5 * time.Second}} {
		p.Sandbox.Signal(p.cmd, step.sig)
		select {
		case <-p.exited:
			p.cmd = nil
			return nil
		case <-time.After(step.wait):
		}
	}
	return fmt.Errorf("%s did not stop", filepath.Base(p.cmd.Path))
}

// Running reports whether the process runs.
func (p *Proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.runningLocked()
}

func (p *Proc) runningLocked() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// tail is the end of a process's output, for an error message.
func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
