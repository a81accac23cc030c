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
	"log/slog"
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
	// Prepare, when set, runs before each start, restarts included.
	Prepare func()
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
	// Urgent, when set and true as Stop begins, skips the graceful signal
	// (a server that would wait for something that cannot come).
	Urgent func() bool
	// Name and Logger say which process restarts, and why.
	Name   string
	Logger *slog.Logger

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	wanted  bool    // started and not stopped: an exit is a crash
	opts    Options // how it was last started
	backoff time.Duration
	started time.Time
}

// Restart delays: a process that ends is started again after minBackoff,
// doubling up to maxBackoff while it keeps ending within stableAfter.
const (
	minBackoff  = time.Second
	maxBackoff  = time.Minute
	stableAfter = time.Minute
)

// Start starts the process unless it runs, and waits until Ready. From
// then on, until Stop, a process that ends is started again (a crash, an
// out-of-memory kill), as Azure restarts a failed server.
func (p *Proc) Start(ctx context.Context, o Options) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.runningLocked() {
		return nil
	}
	if err := p.launchLocked(ctx, o); err != nil {
		return err
	}
	p.wanted, p.opts, p.backoff = true, o, minBackoff
	return nil
}

// crashed starts the process again after it ended on its own.
func (p *Proc) crashed(exited chan struct{}) {
	p.mu.Lock()
	if !p.wanted || p.exited != exited {
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.retry()
}

// retry starts the process again after the backoff, and again after a
// start that failed before its process ran (one that ran reports its own
// end through crashed).
func (p *Proc) retry() {
	p.mu.Lock()
	if time.Since(p.started) > stableAfter {
		p.backoff = minBackoff
	}
	wait := p.backoff
	p.backoff = min(2*p.backoff, maxBackoff)
	p.mu.Unlock()
	if p.Logger != nil {
		p.Logger.Warn("a tenant's server ended; starting it again", "server", p.Name, "in", wait)
	}
	time.AfterFunc(wait, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.wanted || p.runningLocked() {
			return
		}
		before := p.exited
		if err := p.launchLocked(context.Background(), p.opts); err != nil {
			if p.Logger != nil {
				p.Logger.Error("a tenant's server did not start again", "server", p.Name, "err", err)
			}
			if p.exited == before {
				go p.retry()
			}
		}
	})
}

// launchLocked starts the process and waits until Ready.
func (p *Proc) launchLocked(ctx context.Context, o Options) error {
	if o.Prepare != nil {
		o.Prepare()
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
		p.crashed(exited)
	}()
	p.cmd, p.exited, p.started = cmd, exited, time.Now()
	deadline := time.Now().Add(o.Timeout)
	for {
		select {
		case <-exited:
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
	p.wanted = false
	return p.stopLocked()
}

func (p *Proc) stopLocked() error {
	if !p.runningLocked() {
		return nil
	}
	steps := []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{p.Graceful, p.Grace}, {syscall.SIGQUIT, 5 * time.Second}, {syscall.SIGKILL, 5 * time.Second}}
	if p.Urgent != nil && p.Urgent() {
		steps = steps[1:]
	}
	for _, step := range steps {
		p.Sandbox.Signal(p.cmd, step.sig)
		select {
		case <-p.exited:
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
