package deploy

import (
	"context"
	"fmt"
	"io"
	"strings"

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
	return c.Shell(ctx, site, argv, dir, ConsoleIO{Stdout: stdout, Stderr: stderr})
}

// ConsoleIO is what a console command reads and writes, and what it adds
// to the app's environment.
type ConsoleIO struct {
	// Stdin is the command's input; nil is none. A terminal (*os.File)
	// given as Stdin, Stdout and Stderr is passed to the command as it is.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Env holds "NAME=value" entries that replace or add to the app's
	// environment (an SSH client's TERM).
	Env []string
	// Inside runs the command inside a running instance of the app, as
	// App Service's SSH and `az webapp exec` run in the app's container:
	// the instance whose id is Instance (an ARRAffinity cookie's), else
	// the first ready one. With none running (a stopped app, one whose
	// start failed), it runs beside them as a Kudu command does, so that
	// an app that cannot start can still be looked into.
	Inside   bool
	Instance string
	// NoFallback, with Inside, fails rather than run beside the
	// instances when the one named (or any) is not running: a WebJob
	// belongs in an instance.
	NoFallback bool
}

// Shell runs argv as Console does, with the input, output and environment
// of cio: an SSH session's command (package scm, ssh.go), inside a running
// instance when cio.Inside asks for it.
func (c *Coordinator) Shell(ctx context.Context, site slipway.Site, argv []string, dir string, cio ConsoleIO) error {
	if cio.Inside {
		run, ok := c.cfg.Runtime.Enter(site.Name, cio.Instance)
		if ok && cio.NoFallback && cio.Instance != "" && !strings.EqualFold(run.ID, cio.Instance) {
			ok = false // the one named has ended: not another in its place
		}
		if ok {
			l, err := c.cfg.Planner.Enter(ctx, run, argv, dir)
			if err == nil {
				l.Env = withEnv(l.Env, cio.Env)
				l.Stdin = cio.Stdin
				return c.launch(ctx, l, cio.Stdout, cio.Stderr)
			}
			// The instance ended meanwhile, or cannot be entered: the
			// session runs beside the instances instead.
			if cio.NoFallback {
				return fmt.Errorf("entering instance %s: %w", run.ID, err)
			}
			c.cfg.Logger.Info("console session beside the app's instances", "site", site.Name, "instance", run.ID, "why", err)
		} else if cio.NoFallback {
			return fmt.Errorf("the instance %q of %s is not running", cio.Instance, site.Name)
		}
	}
	snap, err := c.snapshot(ctx, site.ResourceGroup, site.Name)
	if err != nil {
		return fmt.Errorf("reading the app's configuration: %w", err)
	}
	c.resolveAsSeen(ctx, &snap) // the environment of the app's instances
	art, err := c.artifact(ctx, site.Name)
	if err != nil {
		return fmt.Errorf("finding the app's release: %w", err)
	}
	l, err := c.cfg.Planner.Console(ctx, snap, art, argv, dir)
	if err != nil {
		return err
	}
	l.Env = withEnv(l.Env, cio.Env)
	l.Stdin = cio.Stdin
	return c.launch(ctx, l, cio.Stdout, cio.Stderr)
}

// withEnv returns env with each of add's entries in place of the entry
// of the same name (a process reads the first of two), or appended.
func withEnv(env, add []string) []string {
	if len(add) == 0 {
		return env
	}
	out := make([]string, 0, len(env)+len(add))
	replaced := map[string]bool{}
	for _, a := range add {
		name, _, _ := strings.Cut(a, "=")
		replaced[name] = true
	}
	for _, e := range env {
		name, _, _ := strings.Cut(e, "=")
		if !replaced[name] {
			out = append(out, e)
		}
	}
	return append(out, add...)
}
