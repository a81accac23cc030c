package server

import (
	"context"
	"os"
	"strings"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/runtime"
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
		return runtime.Launch{}, slipway.Errorf(slipway.EUNAVAILABLE, "Commands cannot run on this server: it has no working sandbox (bubblewrap) to confine them to the app's own files, and a command is never run unconfined. Install bubblewrap (apt-get install bubblewrap) and restart the server.")
	}
	r, err := p.prepare(ctx, s, built, runtime.Instance{ID: strings.Repeat("0", 64), Port: p.Port(s)}, false)
	if err != nil {
		return runtime.Launch{}, err
	}
	if r.spec.UID == 0 && os.Geteuid() == 0 {
		r.cleanup()
		return runtime.Launch{}, slipway.Errorf(slipway.EUNAVAILABLE, "Commands cannot run on this server: the app has no user of its own to run them as, and a command is never run as root.")
	}
	return runtime.Launch{Argv: argv, Env: r.env, Dir: dir, Extra: r.spec, Cleanup: r.cleanup}, nil
}
