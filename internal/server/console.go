package server

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/cgroups"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/runtime"
	"github.com/slipway-dev/slipway/internal/sandbox"
)

// Console implements deploy.Planner: a Kudu command (POST /api/command)
// gets what one more instance of the app would — its own user, the
// sandbox with the app's home at /home and nothing else of the host's
// files, a private copy of the release, a network of its own, the plan's
// cgroup limits and the app's environment — and runs in dir. Publishing
// credentials already let their holder run code as the app, so that is
// the privilege the command has, and no more. Without the sandbox, or
// where it would run as root, the command is refused rather than run
// with the server's view of the machine.
func (p *planner) Console(ctx context.Context, s deploy.Snapshot, built deploy.Artifact, argv []string, dir string) (runtime.Launch, error) {
	if !p.sandboxed {
		return runtime.Launch{}, errNoSandbox()
	}
	r, err := p.prepare(ctx, s, built, runtime.Instance{ID: strings.Repeat("0", 64), Port: p.Port(s)}, false)
	if err != nil {
		return runtime.Launch{}, err
	}
	if r.spec.UID == 0 && os.Geteuid() == 0 {
		r.cleanup()
		return runtime.Launch{}, errNoAppUser()
	}
	// APP_PATH is the command's copy of the release, as an instance's is
	// its own (an interactive shell starts there: sandbox's /etc/profile).
	env := append(slices.Clip(r.env), "APP_PATH="+r.art.Dir)
	return runtime.Launch{Argv: argv, Env: env, Dir: dir, Extra: r.spec, Cleanup: r.cleanup}, nil
}

// Enter implements deploy.Planner: an SSH session or `az webapp exec`
// inside a running instance, as App Service's run in the app's container.
// The command gets that instance's own sandbox — its files (the instance's
// copy of the release, the app's home at /home), its network, its cgroup
// limits, its user and its environment — and joins its PID namespace, so
// that `ps` shows the app's processes and `curl localhost:$PORT` reaches
// it; /tmp is the session's own. That adds no privilege: the session runs
// as the app's user, which runs everything in the instance already. It
// ends when the instance does (the PID namespace's init, the cgroup).
func (p *planner) Enter(ctx context.Context, run runtime.Running, argv []string, dir string) (runtime.Launch, error) {
	if !p.sandboxed || p.sb == nil {
		return runtime.Launch{}, errNoSandbox()
	}
	spec, ok := run.Launch.Extra.(sandbox.Spec)
	proc, isProc := run.Proc.(*process)
	if !ok || !isProc {
		return runtime.Launch{}, fmt.Errorf("instance %s does not run in a sandbox of this server's", run.Machine)
	}
	if spec.UID == 0 && os.Geteuid() == 0 {
		return runtime.Launch{}, errNoAppUser()
	}
	var session *cgroups.Group
	if len(spec.CgroupProcs) > 0 {
		// A group of the session's own inside the instance's: the
		// instance's limits hold it, and what it leaves behind (a job that
		// ignores the hang-up) is killed when it ends.
		g := p.instanceGroup(run.Site, spec.CgroupProcs)
		if g == nil {
			return runtime.Launch{}, fmt.Errorf("entering instance %s: its resource group has ended", run.Machine)
		}
		var err error
		if session, err = g.Sub("session-" + strings.ToLower(rand.Text()[:12])); err != nil {
			return runtime.Launch{}, fmt.Errorf("entering instance %s: %w", run.Machine, err)
		}
		spec.CgroupProcs = session.ProcsFiles()
	}
	ns, err := p.sb.PIDNamespace(proc.cmd)
	if err != nil {
		if session != nil {
			session.Close()
		}
		return runtime.Launch{}, fmt.Errorf("entering instance %s: %w", run.Machine, err)
	}
	spec.PIDNamespace = ns
	env := slices.Clone(run.Launch.Env)
	return runtime.Launch{Argv: argv, Env: env, Dir: dir, Extra: spec, Cleanup: func() {
		ns.Close()
		if session != nil {
			session.Close()
		}
	}}, nil
}

// instanceGroup is the tracked cgroup of one of site's instances whose
// cgroup.procs files are procs; nil if none is.
func (p *planner) instanceGroup(site string, procs []string) *cgroups.Group {
	for _, g := range p.siteGroups(site) {
		if slices.Equal(g.ProcsFiles(), procs) {
			return g
		}
	}
	return nil
}

// errNoSandbox and errNoAppUser are why a command is refused rather than
// run unconfined or as root.
func errNoSandbox() error {
	return slipway.Errorf(slipway.EUNAVAILABLE, "Commands cannot run on this server: it has no working sandbox (bubblewrap) to confine them to the app's own files, and a command is never run unconfined. Install bubblewrap (apt-get install bubblewrap) and restart the server.")
}

func errNoAppUser() error {
	return slipway.Errorf(slipway.EUNAVAILABLE, "Commands cannot run on this server: the app has no user of its own to run them as, and a command is never run as root.")
}
