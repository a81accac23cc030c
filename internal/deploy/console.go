package deploy

import (
	"context"
	"fmt"
	"io"

	"github.com/slipway-dev/slipway"
)

// Console runs argv for site as Kudu's POST /api/command runs a command
// (docs/appservice.md §5): as the app's own user, in the sandbox, the
// environment and the resource limits of one of its instances, with its
// home at /home and a private copy of its running release, in dir as the
// command sees it. It returns when the command has ended — a non-nil
// error that is an *exec.ExitError carries its exit status — or, once
// ctx is done, when every process it started has been killed. Bounding
// its time and output is the caller's.
func (c *Coordinator) Console(ctx context.Context, site slipway.Site, argv []string, dir string, stdout, stderr io.Writer) error {
	snap, err := c.snapshot(ctx, site.ResourceGroup, site.Name)
	if err != nil {
		return fmt.Errorf("reading the app's configuration: %w", err)
	}
	art, err := c.artifact(ctx, site.Name)
	if err != nil {
		return fmt.Errorf("finding the app's release: %w", err)
	}
	l, err := c.cfg.Planner.Console(ctx, snap, art, argv, dir)
	if err != nil {
		return err
	}
	return c.launch(ctx, l, stdout, stderr)
}
