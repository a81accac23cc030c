package startup

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
)

// Plan kinds: which rule of docs/appservice.md §4 "Command selection" chose the command.
const (
	KindCustom  = "custom"  // the site's appCommandLine (startup command)
	KindScript  = "script"  // the startup script deployed with OneDeploy (type=startup)
	KindDjango  = "django"  // <subdir>/wsgi.py → gunicorn <subdir>.wsgi
	KindFastAPI = "fastapi" // Python ≥ 3.14 only: gunicorn -k uvicorn_worker.UvicornWorker <module>:app
	KindFlask   = "flask"   // application.py, app.py, ... → gunicorn <module>:app
	KindDefault = "default" // the default site: gunicorn application:app in DefaultAppPath
)

// VirtualEnvName is the name of the build's virtual environment directory inside
// the app path; Django detection skips it (docs/appservice.md §3, §4).
const VirtualEnvName = "antenv"

// DefaultAppModule is the gunicorn module of the default site (Oryx's
// -defaultAppModule default, docs/appservice.md §4).
const DefaultAppModule = "application:app"

// App settings read by Detect (docs/appservice.md §4).
const (
	SettingMultiWorkers     = "PYTHON_ENABLE_GUNICORN_MULTIWORKERS"
	SettingWorkerNum        = "PYTHON_GUNICORN_CUSTOM_WORKER_NUM"
	SettingThreadNum        = "PYTHON_GUNICORN_CUSTOM_THREAD_NUM"
	SettingDisableFastAPI   = "DISABLE_FASTAPI_DETECTION"
	gunicornTimeoutSeconds  = "600"
	fastAPIWorkerClass      = "uvicorn_worker.UvicornWorker"
	maxStartupFileLineBytes = 64 << 10
)

// flaskFiles are the Flask-style entry files in App Service's search order
// (docs/appservice.md §4, rule 4).
var flaskFiles = []string{"application.py", "app.py", "run.py", "index.py", "server.py", "wsgi.py"}

// fastAPIFiles are the FastAPI entry files in App Service's search order
// (docs/appservice.md §4, rule 3).
var fastAPIFiles = []string{"main.py", "app.py", "application.py", "server.py", "asgi.py", "api.py", "index.py", "run.py"}

var (
	importsFastAPI = regexp.MustCompile(`(?m)^[ \t]*(from[ \t]+fastapi[ \t.]|import[ \t]+fastapi\b)`)
	importsFlask   = regexp.MustCompile(`(?m)^[ \t]*(from[ \t]+flask[ \t.]|import[ \t]+flask\b)`)
)

// Options describe one instance start: the app on disk, the site's startup
// command and the app settings that influence the gunicorn line.
type Options struct {
	// AppPath is the artifact directory (the app files, maybe an antenv venv).
	// Required and absolute.
	AppPath string
	// StartupCommand is the site's appCommandLine; "" means the startup
	// script, if there is one, else auto-detect.
	StartupCommand string
	// StartupScript is the startup script deployed with OneDeploy
	// (type=startup), relative to AppPath; "" when none. It runs when
	// StartupCommand is empty.
	StartupScript string
	// Settings are the app settings (names as the user wrote them).
	Settings map[string]string
	// PythonVersion is the interpreter version, e.g. "3.12.1"; it only matters
	// for the FastAPI rule, which App Service applies from Python 3.14 on.
	PythonVersion string
	// CPUCount is used for the (2 × CPU) + 1 worker rule; ≤ 0 means the
	// number of CPUs of this machine.
	CPUCount int
	// DefaultAppPath is the directory holding the default site (see
	// WriteDefaultSite). Required only when the default site is chosen.
	DefaultAppPath string
	// BindAddr is the address gunicorn binds, e.g. "127.0.0.1:41234".
	// Slipway binds loopback explicitly; App Service passes no --bind and
	// relies on gunicorn's default 0.0.0.0:$PORT. "" adds no --bind (the
	// App Service behaviour). It cannot be applied to a custom startup
	// command: such a command must honour $PORT (gunicorn does by default).
	BindAddr string
}

// Plan is how to start the app. The runtime executes Argv in Dir with Env
// added to the instance environment; PATH and the virtual environment are the
// runtime's business.
type Plan struct {
	// Kind is one of KindCustom, KindDjango, KindFastAPI, KindFlask, KindDefault.
	Kind string
	// Module is the gunicorn app module, e.g. "todo.wsgi" or "app:app";
	// empty for a custom command.
	Module string
	// Argv is what to exec: ["/bin/sh", "-c", ...] for a custom command,
	// ["gunicorn", <module>] (plus the FastAPI worker class) for detection.
	Argv []string
	// Env holds variables the plan needs: APP_PATH always, and
	// GUNICORN_CMD_ARGS for a detected app.
	Env map[string]string
	// Dir is the working directory: AppPath, or DefaultAppPath for the default site.
	Dir string
	// Messages are the log lines App Service prints while deciding.
	Messages []string
	// CommandLine is a one-line rendering of the command in Oryx's startup.sh
	// form, for logs and golden files.
	CommandLine string
}

// Detect chooses how to start the app, following docs/appservice.md §4: the
// startup command first, else the startup script deployed with OneDeploy,
// else Django, else FastAPI (Python ≥ 3.14), else a
// Flask-style entry file, else the default site.
//
// A custom startup command runs with /bin/sh -c in AppPath, with AppPath
// appended to PATH, exactly as App Service runs it; Slipway cannot add --bind
// to it, so the command must listen on $PORT (gunicorn does so by default
// when PORT is set), and the runtime must set PORT to the port of BindAddr.
//
// Detect has one side effect, copied from App Service: a startup command that
// names an existing ".sh" file makes that file executable (chmod 0755) when it
// is not already.
func Detect(o Options) (Plan, error) {
	if o.AppPath == "" || !filepath.IsAbs(o.AppPath) {
		return Plan{}, fmt.Errorf("detecting startup: app path %q must be an absolute directory", o.AppPath)
	}
	o.AppPath = filepath.Clean(o.AppPath)
	if fi, err := os.Stat(o.AppPath); err != nil {
		return Plan{}, fmt.Errorf("detecting startup: %w", err)
	} else if !fi.IsDir() {
		return Plan{}, fmt.Errorf("detecting startup: app path %s is not a directory", o.AppPath)
	}
	if strings.TrimSpace(o.StartupCommand) != "" {
		return customPlan(o)
	}
	if o.StartupScript != "" {
		return scriptPlan(o)
	}
	return detectedPlan(o)
}

// scriptPlan runs the startup script deployed with OneDeploy: "If you
// deploy a startup script this way, App Service automatically uses your
// script to start your app"
// (https://learn.microsoft.com/azure/app-service/deploy-zip#deploy-individual-files).
// App Service does not make it the site's startup command; the platform
// looks for it when none is configured, as the Java images document
// (https://learn.microsoft.com/azure/app-service/configure-language-java-deploy-run).
// It is executed from the app path like a .sh startup command (its #!
// line chooses the shell; without one /bin/sh runs it), with the app path
// on PATH, and made executable when it is not.
func scriptPlan(o Options) (Plan, error) {
	rel := filepath.Clean(filepath.FromSlash(o.StartupScript))
	if !filepath.IsLocal(rel) {
		return Plan{}, fmt.Errorf("startup script %q is not a path inside the app", o.StartupScript)
	}
	path := filepath.Join(o.AppPath, rel)
	root, err := os.OpenRoot(o.AppPath)
	if err != nil {
		return Plan{}, fmt.Errorf("detecting startup: %w", err)
	}
	defer root.Close()
	// Through the root: a link on the way out of the app (antenv is one)
	// leads nowhere, so the server never changes a file that is not the app's.
	fi, err := root.Lstat(rel)
	if err != nil || !fi.Mode().IsRegular() {
		return Plan{}, fmt.Errorf("the startup script %s deployed with OneDeploy is not a file of the app", filepath.ToSlash(rel))
	}
	if fi.Mode().Perm()&0o111 != 0o111 {
		if err := root.Chmod(rel, fi.Mode().Perm()|0o111); err != nil {
			return Plan{}, fmt.Errorf("making startup script %s executable: %w", filepath.ToSlash(rel), err)
		}
	}
	return Plan{
		Kind: KindScript,
		Dir:  o.AppPath,
		Env:  map[string]string{"APP_PATH": o.AppPath},
		Messages: []string{
			"App Command Line not configured; running the startup script deployed with OneDeploy: " + filepath.ToSlash(rel),
		},
		// The path is an argument, never spliced into the shell text.
		Argv:        []string{"/bin/sh", "-c", `PATH="$PATH:$APP_PATH" exec "$APP_PATH/$1"`, "sh", filepath.ToSlash(rel)},
		CommandLine: `PATH="$PATH:` + o.AppPath + `" ` + path,
	}, nil
}

// customPlan interprets the site's appCommandLine like App Service's
// init_container.sh and Oryx (docs/appservice.md §4, "Startup-command
// interpretation" and "Command selection" rule 1).
func customPlan(o Options) (Plan, error) {
	cmd := strings.TrimSpace(o.StartupCommand)
	p := Plan{
		Kind: KindCustom,
		Dir:  o.AppPath,
		Env:  map[string]string{"APP_PATH": o.AppPath},
	}
	p.Messages = append(p.Messages, "Site's appCommandLine: "+cmd)
	if fields := strings.Fields(cmd); len(fields) == 1 {
		tok := fields[0]
		// App Service's own wording, typo included.
		p.Messages = append(p.Messages, "Checking of "+tok+" is a file")
		root, err := os.OpenRoot(o.AppPath)
		if err != nil {
			return Plan{}, fmt.Errorf("detecting startup: %w", err)
		}
		defer root.Close()
		// The server looks only at the app's own files, through the root:
		// a path out of the app (absolute, '..', or a link the app holds)
		// is the sandbox's to resolve, never read or changed here as root.
		rel, inApp := appRelative(o.AppPath, tok)
		var fi os.FileInfo
		if inApp {
			fi, err = root.Stat(rel)
		}
		// Like the shell's [ -f ], any stat error means "not a file".
		switch {
		case inApp && err == nil && fi.Mode().IsRegular():
			p.Messages = append(p.Messages, "App command line is a file on disk")
			if strings.HasSuffix(tok, ".sh") {
				p.Messages = append(p.Messages, "App command line is a shell script, will execute this script as startup script")
				if fi.Mode().Perm()&0o111 != 0o111 {
					if err := root.Chmod(rel, 0o755); err != nil {
						return Plan{}, fmt.Errorf("making startup script %s executable: %w", tok, err)
					}
				}
				if strings.HasPrefix(tok, wwwroot) {
					// The instance's copy, the one made executable: the
					// files under /home/site/wwwroot keep their modes.
					cmd = `"$APP_PATH"/` + strings.TrimPrefix(tok, wwwroot)
				}
			} else {
				p.Messages = append(p.Messages, tok+" file exists on disk, reading its contents to run as startup arguments")
				line, err := firstLine(root, rel)
				if err != nil {
					return Plan{}, fmt.Errorf("reading startup file %s: %w", tok, err)
				}
				if line == "" {
					return Plan{}, fmt.Errorf("startup file %s: its first line is empty, but App Service runs the first line as the startup command", tok)
				}
				p.Messages = append(p.Messages, "Contents of startupScript: "+line)
				cmd = line
			}
		default:
			p.Messages = append(p.Messages, "App command line is not a file on disk, using it as the startup command.")
		}
	}
	// Oryx prefixes the command with PATH="$PATH:<apppath>" (common.ExtendPathForCommand).
	// We reference $APP_PATH rather than splicing the path into the shell text,
	// so no path needs shell quoting; the user's command itself is a shell
	// command by definition and is used verbatim.
	p.Argv = []string{"/bin/sh", "-c", `PATH="$PATH:$APP_PATH" ` + cmd}
	p.CommandLine = `PATH="$PATH:` + o.AppPath + `" ` + cmd
	return p, nil
}

// wwwroot is where App Service's docs and users name an app's files in a
// startup command (az webapp config set --startup-file
// /home/site/wwwroot/startup.sh): the app's files, whose copy the instance
// runs from (docs/appservice.md §4).
const wwwroot = "/home/site/wwwroot/"

// appRelative returns name (a startup command's file) relative to the app
// path, and false when it is not inside it. A name under /home/site/wwwroot
// is the app's file of that name.
func appRelative(appPath, name string) (string, bool) {
	if strings.HasPrefix(name, wwwroot) {
		name = strings.TrimPrefix(name, wwwroot)
	} else if filepath.IsAbs(name) {
		rel, err := filepath.Rel(appPath, filepath.Clean(name))
		if err != nil {
			return "", false
		}
		name = rel
	}
	name = filepath.Clean(name)
	return name, filepath.IsLocal(name)
}

// firstLine returns the first line of the file at rel in root without its
// line ending.
func firstLine(root *os.Root, rel string) (string, error) {
	f, err := root.Open(rel)
	if err != nil {
		return "", err
	}
	defer f.Close()
	r := bufio.NewReader(io.LimitReader(f, maxStartupFileLineBytes))
	line, err := r.ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	return strings.TrimSpace(strings.TrimSuffix(line, "\n")), nil
}

func detectedPlan(o Options) (Plan, error) {
	p := Plan{Dir: o.AppPath}
	p.Messages = append(p.Messages, "App Command Line not configured, will attempt auto-detect")

	kind, module, err := detectFramework(o)
	if err != nil {
		return Plan{}, err
	}
	switch kind {
	case KindDjango:
		p.Messages = append(p.Messages, "Detected an app based on Django")
	case KindFastAPI:
		p.Messages = append(p.Messages, "Detected an app based on FastAPI")
	case KindFlask:
		p.Messages = append(p.Messages, "Detected an app based on Flask")
	default:
		if o.DefaultAppPath == "" || !filepath.IsAbs(o.DefaultAppPath) {
			return Plan{}, fmt.Errorf("detecting startup: no framework detected and the default site path %q is not an absolute directory", o.DefaultAppPath)
		}
		kind, module = KindDefault, DefaultAppModule
		p.Dir = filepath.Clean(o.DefaultAppPath)
		p.Messages = append(p.Messages, "No framework detected; using default app from "+p.Dir)
	}
	p.Kind, p.Module = kind, module
	p.Messages = append(p.Messages, "Generating `gunicorn` command for '"+module+"'")

	args, err := gunicornArgs(o, p.Dir)
	if err != nil {
		return Plan{}, err
	}
	p.Env = map[string]string{"APP_PATH": o.AppPath, "GUNICORN_CMD_ARGS": args}
	p.Argv = []string{"gunicorn"}
	if kind == KindFastAPI {
		p.Argv = append(p.Argv, "-k", fastAPIWorkerClass)
	}
	p.Argv = append(p.Argv, module)
	p.CommandLine = `GUNICORN_CMD_ARGS="` + args + `" ` + strings.Join(p.Argv, " ")
	return p, nil
}

// detectFramework applies rules 2–4 of docs/appservice.md §4 "Command selection".
// It returns kind "" when nothing matched.
func detectFramework(o Options) (kind, module string, err error) {
	entries, err := os.ReadDir(o.AppPath) // sorted by name, like Oryx's ioutil.ReadDir
	if err != nil {
		return "", "", fmt.Errorf("detecting startup: reading app directory: %w", err)
	}
	// Rule 2, Django: the first immediate sub-directory containing wsgi.py.
	// Like Oryx we skip the venv dir; unlike Oryx we also skip hidden
	// directories (.git, .venv ...), which never hold the project package.
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || name == VirtualEnvName || strings.HasPrefix(name, ".") {
			continue
		}
		if isFile(filepath.Join(o.AppPath, name, "wsgi.py")) {
			return KindDjango, name + ".wsgi", nil
		}
	}

	// Rule 3, FastAPI: Python ≥ 3.14 only, unless DISABLE_FASTAPI_DETECTION.
	if pythonAtLeast(o.PythonVersion, 3, 14) {
		disabled, err := boolSetting(o.Settings, SettingDisableFastAPI)
		if err != nil {
			return "", "", err
		}
		if !disabled {
			for _, f := range fastAPIFiles {
				path := filepath.Join(o.AppPath, f)
				if !isFile(path) {
					continue
				}
				src, err := readHead(path)
				if err != nil {
					return "", "", fmt.Errorf("detecting startup: %w", err)
				}
				if importsFastAPI.Match(src) && !importsFlask.Match(src) {
					return KindFastAPI, strings.TrimSuffix(f, ".py") + ":app", nil
				}
			}
		}
	}

	// Rule 4, Flask-style entry file at the app root.
	for _, f := range flaskFiles {
		if isFile(filepath.Join(o.AppPath, f)) {
			return KindFlask, strings.TrimSuffix(f, ".py") + ":app", nil
		}
	}
	return "", "", nil
}

// gunicornArgs renders GUNICORN_CMD_ARGS as Oryx's buildGunicornCommandForModule
// does (docs/appservice.md §4 "Default gunicorn invocation"), in the same order.
func gunicornArgs(o Options, chdir string) (string, error) {
	args := []string{"--timeout " + gunicornTimeoutSeconds, "--access-logfile '-'", "--error-logfile '-'"}
	// App Service adds "-c /opt/startup/gunicorn.conf.py" here (its image sets
	// PYTHON_USE_GUNICORN_CONFIG_FROM_PATH). That config only forwards log
	// records to the platform's socket and writes a pidfile for its profiler;
	// Slipway has no such file and collects stdout/stderr instead, so no -c.
	multi, err := boolSetting(o.Settings, SettingMultiWorkers)
	if err != nil {
		return "", err
	}
	if multi {
		workers := o.Settings[SettingWorkerNum]
		if workers == "" {
			cpus := o.CPUCount
			if cpus <= 0 {
				cpus = runtime.NumCPU()
			}
			workers = strconv.Itoa(2*cpus + 1)
		} else if err := positiveInt(SettingWorkerNum, workers); err != nil {
			return "", err
		}
		args = append(args, "--workers="+workers)
		if threads := o.Settings[SettingThreadNum]; threads != "" {
			if err := positiveInt(SettingThreadNum, threads); err != nil {
				return "", err
			}
			args = append(args, "--threads="+threads)
		}
	}
	if o.BindAddr != "" {
		args = append(args, "--bind="+shellQuote(o.BindAddr))
	}
	args = append(args, "--chdir="+shellQuote(chdir))
	return strings.Join(args, " "), nil
}

// boolSetting parses an App Service boolean setting the way Oryx does
// (Go's strconv.ParseBool); absent or empty is false. App Service's generator
// panics on anything else; Slipway reports it.
func boolSetting(settings map[string]string, name string) (bool, error) {
	v, ok := settings[name]
	if !ok || v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("app setting %s=%q is not a boolean: use true or false (App Service's startup generator fails on this value too)", name, v)
	}
	return b, nil
}

func positiveInt(name, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return fmt.Errorf("app setting %s=%q must be a positive whole number", name, v)
	}
	return nil
}

// pythonAtLeast reports whether version ("3.14.0", "3.14") is ≥ major.minor.
// An empty or unparsable version is treated as older.
func pythonAtLeast(version string, major, minor int) bool {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// readHead reads at most 1 MiB of a source file for import sniffing.
func readHead(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}

// shellQuote quotes s for gunicorn's shlex.split of GUNICORN_CMD_ARGS the way
// Python's shlex.quote does; plain paths stay unquoted, as in App Service's logs.
func shellQuote(s string) string {
	if s != "" && safeUnquoted.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

var safeUnquoted = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)
