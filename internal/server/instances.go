package server

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/slipway-dev/slipway/internal/appenv"
	"github.com/slipway-dev/slipway/internal/build"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/runtime"
	"github.com/slipway-dev/slipway/internal/sandbox"
	"github.com/slipway-dev/slipway/internal/startup"
	"github.com/slipway-dev/slipway/internal/tree"
)

// sandboxHome is where an app's persistent home appears inside its sandbox.
const sandboxHome = "/home"

// planner turns a site's release into process launches: the App Service
// environment, startup detection and the sandbox's mounts and user.
type planner struct {
	domain, subscription string
	sandboxed, asRoot    bool
	def                  deploy.Artifact
	dataDir              string
	home                 func(site string) string

	mu    sync.Mutex
	users map[string][2]int // site → uid, gid
}

var _ deploy.Planner = (*planner)(nil)

// hostName is WEBSITE_HOSTNAME: the default host name without a port, as on
// Azure, so that apps building ALLOWED_HOSTS from it (Django matches hosts
// without their port) work unchanged when the front door is not on port 80.
func (p *planner) hostName(site string) string {
	return strings.ToLower(site) + "." + p.domain
}

// identity returns the user an app runs as: its own system user when the
// server runs as root, else the server's user.
func (p *planner) identity(ctx context.Context, site string) (uid, gid int, err error) {
	if !p.asRoot {
		return 0, 0, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if ids, ok := p.users[strings.ToLower(site)]; ok {
		return ids[0], ids[1], nil
	}
	uid, gid, err = sandbox.EnsureUser(ctx, sandbox.UserName(site))
	if err != nil {
		return 0, 0, fmt.Errorf("creating the app's user: %w", err)
	}
	p.users[strings.ToLower(site)] = [2]int{uid, gid}
	return uid, gid, nil
}

// common prepares what instances and one-off commands share. Each run gets
// its own writable copy of the app (APP_PATH), as App Service extracts the
// build output into a fresh /tmp/<hash> on every container start: an app
// may write next to its code, and those writes vanish with the instance
// (APPSERVICE.md §1). The venv stays shared and read-only (antenv is a link
// into the build cache). cleanup removes the copy.
func (p *planner) common(ctx context.Context, s deploy.Snapshot, built deploy.Artifact, inst runtime.Instance) (env []string, spec sandbox.Spec, art deploy.Artifact, cleanup func(), err error) {
	uid, gid, err := p.identity(ctx, s.Site.Name)
	if err != nil {
		return nil, spec, art, nil, err
	}
	art = built
	runDir := filepath.Join(p.dataDir, "sites", strings.ToLower(s.Site.Name), "run")
	if err := os.MkdirAll(runDir, 0o711); err != nil {
		return nil, spec, art, nil, fmt.Errorf("preparing the instance directory: %w", err)
	}
	art.Dir = filepath.Join(runDir, fmt.Sprintf("%.12s-%d", inst.ID, time.Now().UnixNano()))
	cleanup = func() { os.RemoveAll(art.Dir) }
	err = tree.Copy(ctx, built.Dir, art.Dir, tree.Options{
		Chown: p.asRoot, UID: uid, GID: gid,
		Symlink: func(rel, target string) error {
			if rel == "antenv" && target == built.VenvDir {
				return nil // the shared, read-only environment
			}
			return tree.InTree(rel, target)
		},
	})
	if err != nil {
		cleanup()
		return nil, spec, art, nil, fmt.Errorf("copying the app for the instance: %w", err)
	}
	home := p.home(s.Site.Name)
	if err := sandbox.PrepareHome(home, uid, gid); err != nil {
		cleanup()
		return nil, spec, art, nil, fmt.Errorf("preparing the app's home: %w", err)
	}
	seenHome := home
	if p.sandboxed {
		seenHome = sandboxHome
	}
	binDir := filepath.Dir(art.PythonPath)
	if art.VenvDir == "" && p.def.VenvDir != "" {
		// An app deployed without a build still finds gunicorn, as in App
		// Service's image (whose global site-packages hold it).
		binDir = filepath.Join(p.def.Dir, "antenv", "bin")
	}
	env = appenv.Environment(appenv.Input{
		Site: s.Site, Plan: s.Plan, Settings: s.Settings, ConnectionStrings: s.ConnectionStrings,
		SubscriptionID: p.subscription, HostName: p.hostName(s.Site.Name),
		InstanceID: inst.ID, RoleInstance: inst.Role, Port: inst.Port,
		Home: seenHome, AppPath: art.Dir, VenvDir: art.VenvDir, PythonBinDir: binDir,
		PythonVersion: art.PythonVersion,
	})
	ro := []string{p.def.Dir}
	for _, d := range []string{art.VenvDir, p.def.VenvDir} {
		if d != "" {
			ro = append(ro, d)
		}
	}
	for _, py := range []string{art.PythonPath, p.def.PythonPath} {
		if py != "" {
			ro = append(ro, pythonPrefix(py))
		}
	}
	hosts := map[string]string{}
	for _, h := range []string{s.Site.Name + "." + p.domain, s.Site.Name + ".scm." + p.domain, "management." + p.domain} {
		hosts[strings.ToLower(h)] = "127.0.0.1"
	}
	spec = sandbox.Spec{Home: home, ReadOnly: dedupe(ro), ReadWrite: []string{art.Dir}, Hosts: hosts, UID: uid, GID: gid}
	return env, spec, art, cleanup, nil
}

// Instance implements deploy.Planner.
func (p *planner) Instance(ctx context.Context, s deploy.Snapshot, built deploy.Artifact, inst runtime.Instance) (runtime.Launch, error) {
	env, spec, art, cleanup, err := p.common(ctx, s, built, inst)
	if err != nil {
		return runtime.Launch{}, err
	}
	plan, err := startup.Detect(startup.Options{
		AppPath: art.Dir, StartupCommand: s.Site.Config.AppCommandLine, Settings: s.Settings,
		PythonVersion: art.PythonVersion, CPUCount: goruntime.NumCPU(), DefaultAppPath: p.def.Dir,
		BindAddr: fmt.Sprintf("127.0.0.1:%d", inst.Port),
	})
	if err != nil {
		cleanup()
		return runtime.Launch{}, err
	}
	for k, v := range plan.Env {
		env = append(env, k+"="+v)
	}
	return runtime.Launch{Argv: plan.Argv, Env: env, Dir: plan.Dir, Extra: spec, Notes: plan.Messages, Cleanup: cleanup}, nil
}

// Command implements deploy.Planner.
func (p *planner) Command(ctx context.Context, s deploy.Snapshot, built deploy.Artifact, argv []string) (runtime.Launch, error) {
	env, spec, art, cleanup, err := p.common(ctx, s, built, runtime.Instance{ID: strings.Repeat("0", 64), Port: 0})
	if err != nil {
		return runtime.Launch{}, err
	}
	return runtime.Launch{Argv: argv, Env: env, Dir: art.Dir, Extra: spec, Cleanup: cleanup}, nil
}

func pythonPrefix(python string) string {
	// <prefix>/bin/python3 → <prefix>; system Pythons (/usr/bin) are already visible.
	prefix := filepath.Dir(filepath.Dir(python))
	if prefix == "/usr" || prefix == "/usr/local" || prefix == "/" {
		return ""
	}
	return prefix
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// launcher starts processes through the sandbox.
type launcher struct{ sb *sandbox.Sandbox }

var _ runtime.Launcher = (*launcher)(nil)

func (l *launcher) Start(ctx context.Context, ln runtime.Launch) (runtime.Process, error) {
	spec, _ := ln.Extra.(sandbox.Spec)
	spec.Argv, spec.Env, spec.Dir = ln.Argv, ln.Env, ln.Dir
	spec.Stdout, spec.Stderr = ln.Stdout, ln.Stderr
	for _, n := range ln.Notes {
		fmt.Fprintln(ln.Stdout, n)
	}
	cmd, err := l.sb.Command(ctx, spec)
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", spec.Argv[0], err)
	}
	return &process{cmd: cmd, sb: l.sb}, nil
}

type process struct {
	cmd *exec.Cmd
	sb  *sandbox.Sandbox
}

func (p *process) Wait() error { return p.cmd.Wait() }

// Signal signals the app's whole process group (inside the sandbox).
func (p *process) Signal(sig syscall.Signal) error { return p.sb.Signal(p.cmd, sig) }

// prepareDefaultSite builds (once, then reuses) the default site: the page
// an app shows before its first deployment, and the Python environment with
// gunicorn that apps deployed without a build fall back to.
func prepareDefaultSite(ctx context.Context, b *build.Builder, dir string, interps []build.Interpreter) (deploy.Artifact, error) {
	py := interps[len(interps)-1]
	for _, i := range interps { // prefer 3.12, App Service's current default, when installed
		if strings.HasPrefix(i.Version, "3.12.") {
			py = i
		}
	}
	out := filepath.Join(dir, "defaultsite-"+py.Version)
	if a, err := deploy.ReadArtifact(out); err == nil {
		return a, nil
	}
	os.RemoveAll(out)
	src := filepath.Join(dir, "defaultsite-src")
	os.RemoveAll(src)
	if err := startup.WriteDefaultSite(src); err != nil {
		return deploy.Artifact{}, err
	}
	if err := os.WriteFile(filepath.Join(src, "requirements.txt"), []byte("gunicorn\n"), 0o644); err != nil {
		return deploy.Artifact{}, err
	}
	res, err := b.Build(ctx, build.Request{SourceDir: src, OutputDir: out, LinuxFxVersion: "PYTHON|" + py.Version, Log: discard{}})
	if err != nil {
		return deploy.Artifact{}, err
	}
	a := deploy.Artifact{Dir: out, PythonVersion: res.PythonVersion, PythonPath: res.PythonPath, VenvDir: res.VenvDir}
	if err := deploy.WriteArtifact(a); err != nil {
		return deploy.Artifact{}, err
	}
	return a, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// buildUser runs every build. App users are named sw-<app> with only
// letters, digits and '-', so no app can be given this one.
const buildUser = "sw_build"

// buildRunner runs build commands in the sandbox as the build user, with
// the build's working directory and the build cache writable and the
// interpreters readable; the data directory, the apps' homes and the
// server's keys are not there at all.
type buildRunner struct {
	sb       *sandbox.Sandbox
	uid, gid int
	cacheDir string
	interps  []build.Interpreter
}

var _ build.Runner = (*buildRunner)(nil)

func (r *buildRunner) Run(ctx context.Context, c build.Cmd) error {
	var ro []string
	for _, i := range r.interps {
		ro = append(ro, pythonPrefix(i.Path))
	}
	spec := sandbox.Spec{
		Argv: c.Argv, Env: c.Env, Dir: c.Dir,
		ReadOnly: dedupe(ro), ReadWrite: dedupe([]string{r.cacheDir, c.Dir}),
		UID: r.uid, GID: r.gid, Stdout: c.Stdout, Stderr: c.Stderr,
	}
	cmd, err := r.sb.Command(ctx, spec)
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	defer close(done)
	go func() { // cancelling the build stops the whole sandbox
		select {
		case <-ctx.Done():
			r.sb.Signal(cmd, syscall.SIGKILL)
		case <-done:
		}
	}()
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	return nil
}
