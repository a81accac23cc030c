package build

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slipway-dev/slipway/internal/atomicfile"
	"github.com/slipway-dev/slipway/internal/tree"
)

// Config configures a Builder.
type Config struct {
	// CacheDir holds, per cache scope (see Request.Scope), the cached
	// environments (scopes/<scope>/venvs/<key>/antenv) and pip's download
	// cache (scopes/<scope>/pip), plus the builds' temporary HOMEs (tmp/).
	// Required; created if missing.
	CacheDir string
	// Interpreters are the installed Pythons; see FindInterpreters.
	Interpreters []Interpreter
	// Runner runs every subprocess; nil means ExecRunner{}.
	Runner Runner
	// Logger receives platform-side records (not the build log); nil discards.
	Logger *slog.Logger
	// Now is the clock for durations and log timestamps; nil means time.Now.
	Now func() time.Time
	// Env holds KEY=value pairs given to every build command before the
	// app's settings (which win), e.g. HTTPS_PROXY or the PIP_INDEX_URL of a
	// mirror. Nothing else from the server's environment reaches builds.
	// PIP_* entries are part of the environment cache key. PIP_CONFIG_FILE
	// is always /dev/null for the commands that build an environment.
	Env []string
	// Storage, if set, is called before a build writes into its scope's
	// directory (which exists then) with the scope's name and path, to make
	// the directory a file system of bounded size (the server mounts an
	// image of the app's quota there). Everything a build command may write
	// but the output directory is inside the scope — its HOME too — so
	// that one build cannot fill the disk other apps and the server use.
	Storage func(ctx context.Context, scope, dir string) error
	// Owner, if set, is the user build commands run as when the Request
	// names none (the Runner switches to it): the builder hands it the
	// directories those commands write — its scope's pip cache, each build's
	// HOME, the output directory and a new environment's directory — and
	// nothing else.
	Owner *Owner
}

// Owner is a user and group id.
type Owner struct{ UID, GID int }

func (o *Owner) validate() error {
	if o != nil && (o.UID < 0 || o.GID < 0) {
		return fmt.Errorf("owner %d:%d is not a user and group id", o.UID, o.GID)
	}
	return nil
}

// Request is one build.
type Request struct {
	SourceDir      string            // extracted deployment source; only read
	OutputDir      string            // artifact directory to create; must not exist; becomes APP_PATH at run time
	Settings       map[string]string // the app's resolved settings; environment of build commands
	LinuxFxVersion string            // e.g. "PYTHON|3.12"; may be empty
	Log            io.Writer         // build log, streamed line by line; nil discards
	// Owner is the user this build's commands run as; nil means
	// Config.Owner. Give each app its own user: a build can then write only
	// what its commands' Cmd.Writable names, and file permissions keep it
	// out of everything else.
	Owner *Owner
	// Scope is the cache namespace of this build, e.g. the lower-cased app
	// name (see ValidateScope); "" means PlatformScope. Environments and
	// pip's download cache are shared only within a scope, so what one
	// app's build does to them (a setup.py or PRE_BUILD_COMMAND is the
	// app's own code) can affect no other app.
	Scope string
}

// Result describes a successful build.
type Result struct {
	PythonVersion string // exact, e.g. "3.12.1"
	PythonPath    string // the interpreter the venv was created from
	VenvDir       string // absolute path of the cached, sealed venv; <OutputDir>/antenv is a symlink to it
	CacheHit      bool   // the environment was reused, pip did not run
	Django        bool   // manage.py at the root and "django" in the requirements
	Collectstatic bool   // collectstatic ran and succeeded
}

// Builder builds artifacts. It is safe for concurrent use; builds that need
// the same environment wait for each other.
type Builder struct {
	cfg    Config
	runner Runner
	log    *slog.Logger
	now    func() time.Time
	asRoot bool // seal environments as root:root (see sealEnv)
}

// New returns a Builder and creates the cache directories.
func New(cfg Config) (*Builder, error) {
	if cfg.CacheDir == "" {
		return nil, errors.New("creating builder: Config.CacheDir is required")
	}
	abs, err := filepath.Abs(cfg.CacheDir)
	if err != nil {
		return nil, fmt.Errorf("creating builder: %w", err)
	}
	cfg.CacheDir = abs
	if err := cfg.Owner.validate(); err != nil {
		return nil, fmt.Errorf("creating builder: Config.Owner: %w", err)
	}
	// Listing is refused to others (0711): nobody needs to find other
	// scopes' environments, only to reach its own.
	for _, d := range []string{"scopes", "tmp"} {
		if err := os.MkdirAll(filepath.Join(abs, d), 0o711); err != nil {
			return nil, fmt.Errorf("creating builder cache: %w", err)
		}
	}
	cfg.Interpreters = slices.Clone(cfg.Interpreters)
	cfg.Env = slices.Clone(cfg.Env)
	sortInterpreters(cfg.Interpreters)
	b := &Builder{cfg: cfg, runner: cfg.Runner, log: cfg.Logger, now: cfg.Now, asRoot: os.Geteuid() == 0}
	if b.runner == nil {
		b.runner = ExecRunner{}
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.now == nil {
		b.now = time.Now
	}
	return b, nil
}

// Oryx's log wording (docs/appservice.md §3, OX-snip).
const (
	msgNoRequirements = "Could not find requirements.txt, pyproject.toml, or setup.py; Not installing dependencies."
	manifestName      = "oryx-manifest.toml"
)

// buildLog writes human lines to the request's log.
type buildLog struct{ w io.Writer }

func (l buildLog) printf(format string, args ...any) {
	// The build log is best effort: a reader that went away must not fail
	// the build.
	_, _ = fmt.Fprintf(l.w, format+"\n", args...)
}

// Build turns req.SourceDir into an artifact at req.OutputDir following
// docs/appservice.md §3. On failure OutputDir is removed and the error says what
// went wrong and what to do.
func (b *Builder) Build(ctx context.Context, req Request) (res Result, err error) {
	start := b.now()
	out := req.Log
	if out == nil {
		out = io.Discard
	}
	lg := buildLog{out}

	if req.SourceDir == "" || req.OutputDir == "" {
		return Result{}, errors.New("building: SourceDir and OutputDir are required")
	}
	if err := ValidateScope(req.Scope); err != nil {
		return Result{}, fmt.Errorf("building: %w", err)
	}
	if err := req.Owner.validate(); err != nil {
		return Result{}, fmt.Errorf("building: Request.Owner: %w", err)
	}
	owner := req.Owner
	if owner == nil {
		owner = b.cfg.Owner
	}
	src, err := filepath.Abs(req.SourceDir)
	if err == nil {
		src, err = filepath.EvalSymlinks(src)
	}
	if err != nil {
		return Result{}, fmt.Errorf("building: source directory: %w", err)
	}
	if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
		return Result{}, fmt.Errorf("building: source directory %s is not a directory", src)
	}
	dst, err := filepath.Abs(req.OutputDir)
	if err != nil {
		return Result{}, fmt.Errorf("building: output directory: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return Result{}, fmt.Errorf("building: creating parent of output directory: %w", err)
	}
	parent, err := filepath.EvalSymlinks(filepath.Dir(dst))
	if err != nil {
		return Result{}, fmt.Errorf("building: output directory: %w", err)
	}
	dst = filepath.Join(parent, filepath.Base(dst))
	if rel, err := filepath.Rel(src, dst); err == nil && filepath.IsLocal(rel) {
		return Result{}, fmt.Errorf("building: output directory %s is inside the source directory %s", dst, src)
	}
	settings := req.Settings
	envSettings := b.envSettings(settings)
	opID := newOperationID()

	lg.printf("Operation performed by Slipway, an Oryx-compatible Python builder")
	lg.printf("Build Operation ID: %s", opID)
	lg.printf("Source directory     : %s", src)
	lg.printf("Destination directory: %s", dst)

	// 1. Which Python.
	runtimeTxt, _, err := readLocal(src, "runtime.txt")
	if err != nil {
		return Result{}, fmt.Errorf("building: %w", err)
	}
	vreq, err := requestedVersion(settings, req.LinuxFxVersion, runtimeTxt)
	if err != nil {
		return Result{}, fmt.Errorf("choosing the Python version: %w", err)
	}
	interp, err := selectInterpreter(vreq, b.cfg.Interpreters)
	if err != nil {
		return Result{}, fmt.Errorf("choosing the Python version: %w", err)
	}
	res.PythonVersion, res.PythonPath = interp.Version, interp.Path
	lg.printf("Python Version: %s", interp.Path)
	lg.printf("Using Python %s, chosen by %s", interp.Version, vreq.Source)

	// 2. Copy the source.
	if err := os.Mkdir(dst, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return Result{}, fmt.Errorf("building: output directory %s already exists; every build needs a new directory", dst)
		}
		return Result{}, fmt.Errorf("building: creating output directory: %w", err)
	}
	defer func() {
		if err != nil {
			if rmErr := os.RemoveAll(dst); rmErr != nil {
				err = errors.Join(err, fmt.Errorf("removing partial output %s: %w", dst, rmErr))
			}
		}
	}()
	if err := copyTree(ctx, src, dst, func(rel string) {
		lg.printf("Skipping %s: not a regular file, directory or symlink", rel)
	}); err != nil {
		return Result{}, fmt.Errorf("building: %w", err)
	}

	pipDir, err := b.prepareScope(ctx, req.Scope, owner)
	if err != nil {
		return Result{}, fmt.Errorf("building: %w", err)
	}
	home, removeHome, err := b.newHome(b.scopeDir(req.Scope), owner)
	if err != nil {
		return Result{}, fmt.Errorf("building: %w", err)
	}
	defer removeHome()
	if owner != nil {
		if err := chownTree(dst, owner); err != nil {
			return Result{}, fmt.Errorf("building: %w", err)
		}
	}
	appVenvBin := filepath.Join(dst, venvName, "bin")
	interpBin := filepath.Dir(interp.Path)
	appEnv := commandEnv(envSettings, searchPath(appVenvBin, interpBin), home, "VIRTUAL_ENV="+filepath.Join(dst, venvName),
		"SOURCE_DIR="+dst, "DESTINATION_DIR="+dst)
	// The app's own commands write only the artifact, their HOME and their
	// scope's pip cache; environments are never writable to them.
	appCmd := func(argv []string, readable ...string) Cmd {
		return Cmd{Argv: argv, Dir: dst, Env: appEnv, Owner: owner,
			Writable: []string{dst, home, pipDir}, Readable: readable}
	}

	// 3. PRE_BUILD_COMMAND.
	if c := strings.TrimSpace(settings["PRE_BUILD_COMMAND"]); c != "" {
		lg.printf("Executing pre-build command...")
		if err := b.runLogged(ctx, out, nil, appCmd([]string{"/bin/sh", "-c", c})); err != nil {
			return Result{}, fmt.Errorf("pre-build command failed: %w; fix the PRE_BUILD_COMMAND app setting (see the build log above)", err)
		}
		lg.printf("Finished executing pre-build command.")
	}

	// 4. The environment.
	spec, djangoText, err := b.envSpec(dst, settings, envSettings, interp)
	if err != nil {
		return Result{}, fmt.Errorf("building: %w", err)
	}
	if spec.Generation, err = scopeGeneration(b.scopeDir(req.Scope)); err != nil {
		return Result{}, fmt.Errorf("building: %w", err)
	}
	key := spec.key()
	paths := b.envPaths(req.Scope, key)
	lg.printf("Python Virtual Environment: %s", venvName)
	hit, err := b.ensureEnv(ctx, lg, out, spec, key, paths, envJob{
		owner: owner, appDir: dst, pipDir: pipDir, interpBin: interpBin,
		settings: b.envBuildSettings(settings),
	})
	if err != nil {
		return Result{}, err
	}
	res.CacheHit, res.VenvDir = hit, paths.Venv
	link := filepath.Join(dst, venvName)
	if _, err := os.Lstat(link); err == nil {
		lg.printf("Replacing %s created by the pre-build command with the built environment", venvName)
		if err := os.RemoveAll(link); err != nil {
			return Result{}, fmt.Errorf("building: %w", err)
		}
	}
	if err := os.Symlink(paths.Venv, link); err != nil {
		return Result{}, fmt.Errorf("building: linking %s: %w", venvName, err)
	}

	// 5. Django's collectstatic (docs/appservice.md §3 step 5).
	if existsLocal(dst, "manage.py") {
		if strings.Contains(strings.ToLower(djangoText), "django") {
			res.Django = true
			lg.printf("")
			lg.printf("Content in source directory is a Django app")
			if isTrue(settings["DISABLE_COLLECTSTATIC"]) {
				lg.printf("Skipping 'collectstatic' because DISABLE_COLLECTSTATIC is true.")
			} else {
				lg.printf("Running 'collectstatic'...")
				t0 := b.now()
				err := b.runLogged(ctx, out, nil, appCmd(
					[]string{filepath.Join(appVenvBin, "python"), "manage.py", "collectstatic", "--noinput"}, paths.Venv))
				if ctx.Err() != nil {
					return Result{}, fmt.Errorf("building: collectstatic: %w", ctx.Err())
				}
				if err != nil {
					lg.printf("WARNING: 'collectstatic' failed (%v). The build continues, but static files may be missing at run time. Please review the output above, or set DISABLE_COLLECTSTATIC=true.", err)
					b.log.Warn("collectstatic failed", "output", dst, "err", err)
				} else {
					res.Collectstatic = true
				}
				lg.printf("collectstatic done in %d sec(s).", b.secondsSince(t0))
			}
		} else {
			lg.printf("WARNING: Missing Django module in %s | Add Django to your requirements.txt file.", filepath.Join(dst, spec.reqFileOrDefault()))
		}
	}

	// 6. POST_BUILD_COMMAND.
	if c := strings.TrimSpace(settings["POST_BUILD_COMMAND"]); c != "" {
		lg.printf("Executing post-build command...")
		if err := b.runLogged(ctx, out, nil, appCmd([]string{"/bin/sh", "-c", c}, paths.Venv)); err != nil {
			return Result{}, fmt.Errorf("post-build command failed: %w; fix the POST_BUILD_COMMAND app setting (see the build log above)", err)
		}
		lg.printf("Finished executing post-build command.")
	}

	// 7. Manifest, written last: its presence marks a complete artifact.
	lg.printf("Preparing output...")
	lg.printf("Keeping the output extracted (no output.tar.gz): the artifact directory is the app path.")
	lg.printf("Creating a manifest file...")
	if err := syncFS(dst); err != nil {
		return Result{}, fmt.Errorf("building: %w", err)
	}
	m := manifest(res, opID, dst, key)
	if err := atomicfile.WriteFile(filepath.Join(dst, manifestName), []byte(m), 0o644); err != nil {
		return Result{}, fmt.Errorf("building: %w", err)
	}
	lg.printf("Manifest file created.")
	lg.printf("Total execution done in %d sec(s).", b.secondsSince(start))
	b.log.Info("build finished", "output", dst, "python", interp.Version, "cache_hit", hit, "django", res.Django)
	return res, nil
}

// envSpec reads what determines the environment from the artifact directory
// (after the pre-build command) and returns it with the text in which Oryx
// looks for "django".
func (b *Builder) envSpec(dst string, settings, envSettings map[string]string, interp Interpreter) (envSpec, string, error) {
	spec := envSpec{Interp: interp, PipEnv: pipSettings(envSettings)}
	reqFile := "requirements.txt"
	if custom := strings.TrimSpace(settings["CUSTOM_REQUIREMENTSTXT_PATH"]); custom != "" {
		reqFile = cleanRel(custom)
		if !filepath.IsLocal(reqFile) {
			return envSpec{}, "", fmt.Errorf("CUSTOM_REQUIREMENTSTXT_PATH %q must be a path inside the app, relative to its root", custom)
		}
	}
	reqText, ok, err := readLocal(dst, reqFile)
	if err != nil {
		return envSpec{}, "", err
	}
	if ok {
		spec.Mode, spec.ReqFile, spec.ReqText = depsRequirements, reqFile, reqText
		local, editable := requirementsUseLocalFiles(reqText)
		if local {
			if spec.Project, err = treeHash(dst); err != nil {
				return envSpec{}, "", err
			}
		}
		if editable {
			spec.Editable = dst
		}
		return spec, reqText, nil
	}
	setupPy, hasSetup, err := readLocal(dst, "setup.py")
	if err != nil {
		return envSpec{}, "", err
	}
	pyproject, hasPyproject, err := readLocal(dst, "pyproject.toml")
	if err != nil {
		return envSpec{}, "", err
	}
	if hasSetup || hasPyproject {
		// pip install . puts a copy of the app into the venv, so the
		// environment depends on every file of the app.
		spec.Mode, spec.SetupPy, spec.Pyproj = depsProject, setupPy, pyproject
		if spec.Project, err = treeHash(dst); err != nil {
			return envSpec{}, "", err
		}
		return spec, setupPy + "\n" + pyproject, nil
	}
	spec.Mode = depsNone
	return spec, "", nil
}

func (s envSpec) reqFileOrDefault() string {
	if s.ReqFile != "" {
		return s.ReqFile
	}
	return "requirements.txt"
}

// requirementsUseLocalFiles reports whether a requirements file refers to
// other files of the app (nested -r/-c files, local paths), so that the
// environment depends on more than the file's text, and whether it holds an
// editable install, whose venv points into one artifact and must not be
// shared.
func requirementsUseLocalFiles(text string) (local, editable bool) {
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "", strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "-e"), strings.HasPrefix(line, "--editable"):
			local, editable = true, true
		case strings.HasPrefix(line, "-r"), strings.HasPrefix(line, "--requirement"),
			strings.HasPrefix(line, "-c"), strings.HasPrefix(line, "--constraint"),
			strings.HasPrefix(line, "."), strings.HasPrefix(line, "/"),
			strings.Contains(line, "file:"):
			local = true
		}
	}
	return local, editable
}

// envJob is what the commands that build an environment run with.
type envJob struct {
	owner     *Owner            // the build's user
	appDir    string            // the artifact directory, where pip runs
	pipDir    string            // the scope's pip download cache
	interpBin string            // the chosen interpreter's bin directory
	settings  map[string]string // see envBuildSettings
}

// ensureEnv makes sure the environment for key exists, is complete and is
// sealed, building it if needed. It reports whether a cached environment was
// reused.
//
// The environment is built at its final path (a venv hard-codes it) by the
// build's user, then sealed (sealEnv) before the completion marker is
// written, so a complete environment is never writable by a build or an app.
func (b *Builder) ensureEnv(ctx context.Context, lg buildLog, out io.Writer, spec envSpec, key string, p envPaths, job envJob) (hit bool, err error) {
	short := key[:8]
	reuse := func() (bool, error) {
		lg.printf("Reusing cached virtual environment %s (requirements unchanged, key %s)", venvName, short)
		return true, nil
	}
	if p.isComplete(b.asRoot) {
		return reuse()
	}
	unlock, err := lockFile(ctx, p.Lock, func() {
		lg.printf("Waiting for another build that is creating the same environment (key %s)...", short)
	})
	if err != nil {
		return false, fmt.Errorf("building the environment: %w", err)
	}
	defer unlock()
	if p.isComplete(b.asRoot) {
		return reuse()
	}
	if _, err := os.Lstat(p.Dir); err == nil {
		lg.printf("Discarding incomplete cached environment (key %s) left by an interrupted build", short)
		if err := RemoveEnvironment(p.Dir); err != nil {
			return false, fmt.Errorf("building the environment: removing incomplete %s: %w", p.Dir, err)
		}
	}
	if err := os.Mkdir(p.Dir, 0o755); err != nil {
		return false, fmt.Errorf("building the environment: %w", err)
	}
	defer func() {
		// Never leave a half-built environment behind. Even if this removal
		// fails, the missing marker keeps it from being reused.
		if err != nil {
			_ = RemoveEnvironment(p.Dir)
		}
	}()
	if job.owner != nil {
		if err := chownTree(p.Dir, job.owner); err != nil {
			return false, fmt.Errorf("building the environment: %w", err)
		}
	}
	// A HOME of their own: not the one PRE_BUILD_COMMAND could have put a
	// pip.conf into. The machine's own configuration (/etc/pip.conf,
	// /etc/xdg/pip) is the operator's, not an app's, and stays in force: it
	// is where a host names its package mirror or TLS root.
	home, removeHome, err := b.newHome(filepath.Dir(job.pipDir), job.owner)
	if err != nil {
		return false, fmt.Errorf("building the environment: %w", err)
	}
	defer removeHome()
	env := commandEnv(job.settings, searchPath(filepath.Join(p.Venv, "bin"), job.interpBin), home,
		"VIRTUAL_ENV="+p.Venv, "PYTHONNOUSERSITE=1", "XDG_CONFIG_HOME="+filepath.Join(home, ".config"))
	envCmd := func(argv []string, dir string) Cmd {
		return Cmd{Argv: argv, Dir: dir, Env: env, Owner: job.owner,
			Writable: []string{job.appDir, home, job.pipDir, p.Dir}}
	}

	lg.printf("Cached environment not found (key %s); building it", short)
	lg.printf("Creating virtual environment...")
	if err := b.runLogged(ctx, out, nil, envCmd([]string{spec.Interp.Path, "-m", "venv", "--copies", p.Venv}, p.Dir)); err != nil {
		return false, fmt.Errorf("creating the virtual environment with %s: %w", spec.Interp.Path, err)
	}
	lg.printf("Activating virtual environment...")
	python := filepath.Join(p.Venv, "bin", "python")
	pipInstall := []string{python, "-m", "pip", "install", "--cache-dir", job.pipDir,
		"--prefer-binary", "--disable-pip-version-check", "--progress-bar", "off"}
	pip := func(args []string, what string) error {
		return b.pip(ctx, lg, out, envCmd(slices.Concat(pipInstall, args), job.appDir), what, spec.Interp)
	}
	switch spec.Mode {
	case depsRequirements:
		if err := pip([]string{"-r", spec.ReqFile}, spec.ReqFile); err != nil {
			return false, err
		}
	case depsProject:
		what := "setup.py"
		if spec.SetupPy == "" {
			what = "pyproject.toml"
		}
		if err := pip([]string{"."}, what); err != nil {
			return false, err
		}
	default:
		lg.printf("%s", msgNoRequirements)
	}

	// App Service's image provides gunicorn; here it must be in the venv.
	check := envCmd([]string{python, "-c", "import gunicorn"}, p.Dir)
	check.Stdout, check.Stderr = io.Discard, io.Discard
	if err := b.runner.Run(ctx, check); err != nil {
		if ctx.Err() != nil {
			return false, fmt.Errorf("building the environment: %w", ctx.Err())
		}
		lg.printf("gunicorn is not in your requirements; installing it, because App Service's Python image provides it to start the app...")
		if err := pip([]string{"gunicorn"}, ""); err != nil {
			return false, err
		}
	}

	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("building the environment: %w", err)
	}
	// Seal, flush, then mark complete: a marker never describes an
	// environment that is still writable or that a crash could lose.
	if err := sealEnv(p.Dir, b.asRoot); err != nil {
		return false, fmt.Errorf("building the environment: %w", err)
	}
	if err := syncFS(p.Dir); err != nil {
		return false, fmt.Errorf("building the environment: %w", err)
	}
	marker := fmt.Sprintf("key=%s\npython=%s\npath=%s\ncreated=%s\n", key, spec.Interp.Version, spec.Interp.Path, b.now().UTC().Format(time.RFC3339))
	if err := atomicfile.WriteFile(p.Marker, []byte(marker), 0o444); err != nil {
		return false, fmt.Errorf("building the environment: %w", err)
	}
	if err := finishSeal(p.Dir); err != nil {
		return false, fmt.Errorf("building the environment: %w", err)
	}
	return false, nil
}

// envBuildSettings are the variables, on top of commandEnv's base, of the
// commands that build an environment: the builder's Config.Env and only the
// app's PIP_* settings. Both are in the environment's key (envSpec.PipEnv),
// so what the environment holds depends only on that key. Other app settings
// — PYTHONPATH, PYTHONSTARTUP, PYTHONHOME and the like — could make pip or a
// package's build run code or install something the key does not capture,
// in an environment that later builds of the app reuse; they still reach
// PRE_BUILD_COMMAND, collectstatic and POST_BUILD_COMMAND, as on App Service.
// PIP_CONFIG_FILE is never taken from the app (the file it names is not in
// the key); PYTHONNOUSERSITE is set by ensureEnv itself.
func (b *Builder) envBuildSettings(settings map[string]string) map[string]string {
	out := make(map[string]string, len(b.cfg.Env))
	for _, kv := range b.cfg.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	for k, v := range settings {
		if strings.HasPrefix(strings.ToUpper(k), "PIP_") {
			out[k] = v
		}
	}
	for k := range out {
		if u := strings.ToUpper(k); u == "PIP_CONFIG_FILE" || u == "PYTHONNOUSERSITE" {
			delete(out, k)
		}
	}
	return out
}

// prepareScope creates the scope's directories and returns its pip download
// cache, given to owner and closed to everyone else (a private index's
// packages may be in it).
func (b *Builder) prepareScope(ctx context.Context, scope string, owner *Owner) (pipDir string, err error) {
	dir := b.scopeDir(scope)
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return "", fmt.Errorf("creating cache scope: %w", err)
	}
	if b.cfg.Storage != nil {
		if scope == "" {
			scope = PlatformScope
		}
		if err := b.cfg.Storage(ctx, scope, dir); err != nil {
			return "", fmt.Errorf("preparing the cache scope's storage: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "venvs"), 0o711); err != nil {
		return "", fmt.Errorf("creating cache scope: %w", err)
	}
	pipDir = filepath.Join(dir, "pip")
	if err := os.Mkdir(pipDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("creating pip cache: %w", err)
	}
	if owner != nil {
		fi, err := os.Lstat(pipDir)
		if err != nil {
			return "", fmt.Errorf("creating pip cache: %w", err)
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != owner.UID || int(st.Gid) != owner.GID {
			if err := chownTree(pipDir, owner); err != nil {
				return "", fmt.Errorf("creating pip cache: %w", err)
			}
		}
	}
	return pipDir, nil
}

// newHome creates an empty HOME for build commands in the scope's tmp/,
// owned by owner, and returns a function that removes it.
func (b *Builder) newHome(scopeDir string, owner *Owner) (string, func(), error) {
	tmp := filepath.Join(scopeDir, "tmp")
	if err := os.MkdirAll(tmp, 0o711); err != nil {
		return "", nil, fmt.Errorf("creating HOME for build commands: %w", err)
	}
	home, err := os.MkdirTemp(tmp, "home-")
	if err != nil {
		return "", nil, fmt.Errorf("creating HOME for build commands: %w", err)
	}
	remove := func() { _ = os.RemoveAll(home) }
	if owner != nil {
		if err := chownTree(home, owner); err != nil {
			remove()
			return "", nil, err
		}
	}
	return home, remove, nil
}

// pip runs one pip install c (in the artifact directory, which requirements
// files and "." are relative to), streaming its output with Oryx's
// "[HH:MM:SS+0000] " prefix. reqFile names the file to blame on failure.
// When pip failed compiling a package for want of a library's headers, the
// build log and the error name the Debian package that provides them
// (missingDeps); interp is the interpreter the environment is built from.
func (b *Builder) pip(ctx context.Context, lg buildLog, out io.Writer, c Cmd, reqFile string, interp Interpreter) error {
	lg.printf("Running pip install...")
	t0 := b.now()
	var missing missingDepScanner
	w := &pipWatch{scan: missing.scan}
	err := b.runLogged(ctx, out, w, c)
	lg.printf("pip install done in %d sec(s).", b.secondsSince(t0))
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("pip install interrupted: %w", ctx.Err())
	}
	what := "requirements.txt"
	if reqFile != "" {
		what = reqFile
	}
	advice := missingDepAdvice(missing.found, interp)
	if advice != "" {
		lg.printf("ERROR: %s", advice)
		advice += " "
	}
	return fmt.Errorf("pip install failed (%w). Please review your %s. %sLast lines of pip's output:\n%s", exitSummary(err), what, advice, strings.Join(w.tail, "\n"))
}

// pipWatch is what runLogged does for pip beyond streaming its output: scan
// sees every line, and tail receives the last ones.
type pipWatch struct {
	scan func(line string)
	tail []string
}

// runLogged runs c with its output streamed line by line to out. For pip
// (pip != nil) lines get Oryx's timestamp prefix, every line is handed to
// pip.scan and the last ones are kept in pip.tail.
func (b *Builder) runLogged(ctx context.Context, out io.Writer, pip *pipWatch, c Cmd) error {
	var prefix func() string
	if pip != nil {
		prefix = func() string { return b.now().UTC().Format("[15:04:05-0700] ") }
	}
	l := newLineLog(out, prefix)
	if pip != nil {
		l.scan = pip.scan
	}
	c.Stdout, c.Stderr = l, l
	err := b.runner.Run(ctx, c)
	l.Flush()
	if pip != nil {
		pip.tail = l.Tail()
	}
	return err
}

func (b *Builder) secondsSince(t time.Time) int {
	return int(b.now().Sub(t).Seconds())
}

// reservedEnv are names settings cannot override in build commands.
var reservedEnv = []string{"PATH", "HOME", "VIRTUAL_ENV", "SOURCE_DIR", "DESTINATION_DIR", "PYTHONHOME"}

// searchPath is PATH for build commands: the venv first (Oryx activates it),
// then the chosen interpreter's directory, then the system.
func searchPath(venvBin, interpBin string) string {
	return venvBin + ":" + interpBin + ":/usr/local/bin:/usr/bin:/bin"
}

// commandEnv is the complete environment of a build subprocess: a minimal
// base (nothing from the server's own environment), the app's settings, then
// the builder's own variables.
func commandEnv(settings map[string]string, path, home string, extra ...string) []string {
	env := []string{
		"LANG=C.UTF-8",
		"PYTHONUNBUFFERED=1",
		"PIP_DISABLE_PIP_VERSION_CHECK=1",
		"PIP_NO_INPUT=1",
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := settings[k]
		// Names that cannot be environment variables are left out (the
		// platform sanitises setting names before they get here).
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.Contains(v, "\x00") || slices.Contains(reservedEnv, k) {
			continue
		}
		env = append(env, k+"="+v)
	}
	env = append(env, "PATH="+path, "HOME="+home)
	return append(env, extra...)
}

// exitSummary shortens a command error to "exit status N" when it is one,
// keeping it wrapped.
func exitSummary(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("%w", ee)
	}
	return err
}

// envSettings is Config.Env overlaid with the app's settings: the variables
// build commands see on top of the minimal base.
func (b *Builder) envSettings(settings map[string]string) map[string]string {
	out := make(map[string]string, len(b.cfg.Env)+len(settings))
	for _, kv := range b.cfg.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	for k, v := range settings {
		out[k] = v
	}
	return out
}

func isTrue(v string) bool {
	v = strings.TrimSpace(v)
	return strings.EqualFold(v, "true") || v == "1"
}

func newOperationID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b[:])
}

// syncFS flushes the file system holding dir, so a marker written after it
// never describes content that a crash could lose.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// chownTree gives a directory tree to owner, without following symlinks.
func chownTree(root string, o *Owner) error {
	return tree.Chown(root, o.UID, o.GID)
}
