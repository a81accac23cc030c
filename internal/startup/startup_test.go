package startup

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/apps/*.txtar")

// TestDetectGolden runs Detect on every fixture app in testdata/apps and
// compares the plan with the fixture's "want" section (docs/appservice.md §4).
//
// A fixture's comment section holds the options, one per line:
//
//	startup: <appCommandLine>
//	script: <path of a startup script deployed with OneDeploy>
//	setting: NAME=value
//	python: 3.14.0        (default 3.12.1)
//	cpus: 4               (default 2)
//	bind: 127.0.0.1:9000  (default 127.0.0.1:8000; "none" for no --bind)
//
// Every file except "want" is written into the app directory. The app path is
// rendered as $APP and the default site path as $DEFAULTSITE.
func TestDetectGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/apps/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no fixtures in testdata/apps")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			ar, err := parseTxtarFile(file)
			if err != nil {
				t.Fatal(err)
			}
			root := t.TempDir()
			appDir := filepath.Join(root, "app")
			defDir := filepath.Join(root, "defaultsite")
			if err := os.MkdirAll(appDir, 0o755); err != nil {
				t.Fatal(err)
			}
			opts := Options{
				AppPath:        appDir,
				DefaultAppPath: defDir,
				PythonVersion:  "3.12.1",
				CPUCount:       2,
				BindAddr:       "127.0.0.1:8000",
				Settings:       map[string]string{},
			}
			parseFixtureOptions(t, string(ar.Comment), &opts)
			wantIdx := -1
			for i, f := range ar.Files {
				if f.Name == "want" {
					wantIdx = i
					continue
				}
				path := filepath.Join(appDir, filepath.FromSlash(f.Name))
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}

			plan, err := Detect(opts)
			got := renderPlan(plan, err)
			got = strings.ReplaceAll(got, appDir, "$APP")
			got = strings.ReplaceAll(got, defDir, "$DEFAULTSITE")

			if *update {
				if wantIdx < 0 {
					ar.Files = append(ar.Files, txtarFile{Name: "want"})
					wantIdx = len(ar.Files) - 1
				}
				ar.Files[wantIdx].Data = []byte(got)
				if err := os.WriteFile(file, formatTxtar(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if wantIdx < 0 {
				t.Fatalf("%s has no want section; run go test ./internal/startup -update", file)
			}
			if diff := cmp.Diff(string(ar.Files[wantIdx].Data), got); diff != "" {
				t.Errorf("plan mismatch (-want +got); run with -update if the change is intended:\n%s", diff)
			}
		})
	}
}

func parseFixtureOptions(t *testing.T, comment string, o *Options) {
	t.Helper()
	for _, line := range strings.Split(comment, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("fixture option %q: want key: value", line)
		}
		val = strings.TrimSpace(val)
		switch key {
		case "startup":
			o.StartupCommand = val
		case "script":
			o.StartupScript = val
		case "setting":
			k, v, _ := strings.Cut(val, "=")
			o.Settings[k] = v
		case "python":
			o.PythonVersion = val
		case "cpus":
			n, err := strconv.Atoi(val)
			if err != nil {
				t.Fatal(err)
			}
			o.CPUCount = n
		case "bind":
			if val == "none" {
				val = ""
			}
			o.BindAddr = val
		default:
			t.Fatalf("unknown fixture option %q", key)
		}
	}
}

// renderPlan is the golden form of a Detect result.
func renderPlan(p Plan, err error) string {
	var b strings.Builder
	if err != nil {
		fmt.Fprintf(&b, "Error: %v\n", err)
		return b.String()
	}
	fmt.Fprintf(&b, "Kind: %s\n", p.Kind)
	fmt.Fprintf(&b, "Module: %s\n", p.Module)
	fmt.Fprintf(&b, "Dir: %s\n", p.Dir)
	quoted := make([]string, len(p.Argv))
	for i, a := range p.Argv {
		quoted[i] = strconv.Quote(a)
	}
	fmt.Fprintf(&b, "Argv: %s\n", strings.Join(quoted, " "))
	keys := make([]string, 0, len(p.Env))
	for k := range p.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "Env: %s=%s\n", k, p.Env[k])
	}
	fmt.Fprintf(&b, "CommandLine: %s\n", p.CommandLine)
	b.WriteString("Messages:\n")
	for _, m := range p.Messages {
		fmt.Fprintf(&b, "  %s\n", m)
	}
	return b.String()
}

// TestDetectMakesShellScriptExecutable: a startup command naming a .sh file
// makes it executable (docs/appservice.md §4 "Startup-command interpretation").
func TestDetectMakesShellScriptExecutable(t *testing.T) {
	app := t.TempDir()
	script := filepath.Join(app, "startup.sh")
	if err := os.WriteFile(script, []byte("echo hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Detect(Options{AppPath: app, StartupCommand: "startup.sh"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(script)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o755 {
		t.Errorf("startup.sh mode = %v, want 0755", got)
	}
}

func TestDetectErrors(t *testing.T) {
	app := t.TempDir()
	emptyFirstLine := filepath.Join(app, "cmd.txt")
	if err := os.WriteFile(emptyFirstLine, []byte("\ngunicorn app:app\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		opts    Options
		wantSub string
	}{
		{"relative app path", Options{AppPath: "site/wwwroot"}, "must be an absolute directory"},
		{"missing app path", Options{AppPath: filepath.Join(app, "nope")}, "no such file"},
		{"no default site path", Options{AppPath: app}, "default site path"},
		{"startup file with empty first line", Options{AppPath: app, StartupCommand: "cmd.txt"}, "first line is empty"},
		{"bad worker number", Options{AppPath: app, DefaultAppPath: "/d", Settings: map[string]string{
			SettingMultiWorkers: "true", SettingWorkerNum: "four"}}, "PYTHON_GUNICORN_CUSTOM_WORKER_NUM"},
		{"bad thread number", Options{AppPath: app, DefaultAppPath: "/d", Settings: map[string]string{
			SettingMultiWorkers: "1", SettingThreadNum: "-2"}}, "PYTHON_GUNICORN_CUSTOM_THREAD_NUM"},
		{"bad fastapi switch on 3.14", Options{AppPath: app, DefaultAppPath: "/d", PythonVersion: "3.14.0",
			Settings: map[string]string{SettingDisableFastAPI: "nope"}}, "DISABLE_FASTAPI_DETECTION"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Detect(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantSub) {
				t.Fatalf("Detect error = %v, want one containing %q", err, tt.wantSub)
			}
		})
	}
}

// TestGunicornArgsQuoting: paths gunicorn cannot shlex-split safely are
// quoted; plain paths are not (matching App Service's log lines).
func TestGunicornArgsQuoting(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/tmp/8db5634d63c444a", "/tmp/8db5634d63c444a"},
		{"/srv/my app", "'/srv/my app'"},
		{"/srv/it's", `'/srv/it'"'"'s'`},
		{"[::1]:8000", "'[::1]:8000'"},
	}
	for _, tt := range tests {
		if got := shellQuote(tt.in); got != tt.want {
			t.Errorf("shellQuote(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPythonAtLeast(t *testing.T) {
	tests := []struct {
		v    string
		want bool
	}{{"3.14.0", true}, {"3.14", true}, {"3.15.1", true}, {"4.0", true}, {"3.13.9", false}, {"3.12.1", false}, {"", false}, {"three", false}}
	for _, tt := range tests {
		if got := pythonAtLeast(tt.v, 3, 14); got != tt.want {
			t.Errorf("pythonAtLeast(%q, 3, 14) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

// TestStartupScriptRefused: the recorded startup script must be a regular
// file inside the app; anything else fails the start with a reason.
func TestStartupScriptRefused(t *testing.T) {
	app := t.TempDir()
	os.WriteFile(filepath.Join(t.TempDir(), "x.sh"), []byte("#!/bin/sh\n"), 0o755)
	os.Symlink("/bin/true", filepath.Join(app, "link.sh"))
	os.Mkdir(filepath.Join(app, "dir.sh"), 0o755)
	for _, script := range []string{"../x.sh", "/bin/true", "missing.sh", "link.sh", "dir.sh"} {
		if _, err := Detect(Options{AppPath: app, StartupScript: script}); err == nil {
			t.Errorf("startup script %q: Detect succeeded, want an error", script)
		}
	}
}
