package build

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// These tests run real Pythons, real venv and real pip against PyPI (through
// a shared pip download cache). Nothing is faked; countingRunner only wraps
// the real ExecRunner to observe which commands ran.

// TestBuildRequirementsApp: docs/appservice.md §3 build steps for a
// requirements.txt app — antenv works, gunicorn is importable although the
// requirements omit it, the manifest is written, the log reads like Oryx's.
func TestBuildRequirementsApp(t *testing.T) {
	t.Parallel()
	v312 := needVersion(t, "3.12")
	r := &countingRunner{}
	b, cache := newTestBuilder(t, r)
	src := fixture(t, "simple", map[string]string{
		"runtime.txt":                     "python-3.12\n",
		".git/HEAD":                       "ref: refs/heads/main\n",
		"__pycache__/app.cpython-312.pyc": "stale",
		"localvenv/pyvenv.cfg":            "home = /usr/bin\n",
		"antenv/bin/python":               "shipped venv must be skipped",
		"pkg/__pycache__/x.pyc":           "stale",
		"pkg/mod.py":                      "X = 1\n",
	})
	if err := os.Symlink("pkg/mod.py", filepath.Join(src, "link.py")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(src, "app.py"), 0o750); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "artifacts", "a1")
	log := &syncBuffer{}
	res, err := b.Build(context.Background(), Request{SourceDir: src, OutputDir: dst, Log: log,
		Settings: map[string]string{"SOME_SETTING": "x"}})
	if err != nil {
		t.Fatalf("Build: %v\nlog:\n%s", err, log)
	}
	want := Result{PythonVersion: v312, CacheHit: false}
	if diff := cmp.Diff(want, res, cmpopts.IgnoreFields(Result{}, "PythonPath", "VenvDir")); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(res.VenvDir, filepath.Join(cache, "scopes", PlatformScope, "venvs")+"/") || filepath.Base(res.VenvDir) != "antenv" {
		t.Errorf("VenvDir = %s, want <cache>/scopes/_platform/venvs/<key>/antenv", res.VenvDir)
	}

	// antenv is an absolute symlink to the cached venv, and Python run
	// through the symlink uses it as its prefix.
	link, err := os.Readlink(filepath.Join(dst, "antenv"))
	if err != nil || link != res.VenvDir {
		t.Fatalf("antenv link = %q, %v; want %q", link, err, res.VenvDir)
	}
	out := runPython(t, dst, "-c", "import sys, six, gunicorn; print(sys.prefix); print(sys.version.split()[0])")
	if diff := cmp.Diff(filepath.Join(dst, "antenv")+"\n"+v312+"\n", out); diff != "" {
		t.Errorf("python through antenv (-want +got):\n%s", diff)
	}

	// Copy: skipped dirs, kept symlink and modes.
	gotTree := listTree(t, dst)
	wantTree := []string{"antenv", "app.py", "link.py", "oryx-manifest.toml", "pkg/", "pkg/mod.py", "requirements.txt", "runtime.txt"}
	if diff := cmp.Diff(wantTree, gotTree); diff != "" {
		t.Errorf("artifact tree (-want +got):\n%s", diff)
	}
	if fi, err := os.Stat(filepath.Join(dst, "app.py")); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("app.py mode = %v, %v; want 0750", fi.Mode().Perm(), err)
	}
	if l, err := os.Readlink(filepath.Join(dst, "link.py")); err != nil || l != "pkg/mod.py" {
		t.Errorf("link.py = %q, %v; want symlink to pkg/mod.py", l, err)
	}

	// Manifest (docs/appservice.md §3 "Manifest").
	m := readManifest(t, dst)
	if m["OperationId"] == "" || m["SlipwayEnvironmentKey"] == "" {
		t.Errorf("manifest lacks OperationId or SlipwayEnvironmentKey: %v", m)
	}
	delete(m, "OperationId")
	delete(m, "SlipwayEnvironmentKey")
	wantManifest := map[string]string{
		"PythonVersion":                   v312,
		"virtualEnvName":                  "antenv",
		"SourceDirectoryInBuildContainer": dst,
		"PlatformName":                    "python",
		"CompressDestinationDir":          "false",
		"SlipwayVirtualEnvDir":            res.VenvDir,
		"SlipwayDjango":                   "false",
		"SlipwayCollectstatic":            "false",
	}
	if diff := cmp.Diff(wantManifest, m); diff != "" {
		t.Errorf("manifest (-want +got):\n%s", diff)
	}

	// Log lines in Oryx's order, with pip's output streamed in between.
	assertLogOrder(t, log.String(),
		"Python Version: "+res.PythonPath,
		"Using Python "+v312+", chosen by runtime.txt (python-3.12)",
		"Python Virtual Environment: antenv",
		"Creating virtual environment...",
		"Running pip install...",
		"Successfully installed six-1.17.0",
		"pip install done in ",
		"gunicorn is not in your requirements; installing it",
		"Successfully installed gunicorn",
		"Manifest file created.",
		"Total execution done in ",
	)
	if got := len(r.pipInstalls()); got != 2 {
		t.Errorf("pip install ran %d times, want 2 (requirements, gunicorn): %v", got, r.pipInstalls())
	}
	// The source is only read.
	if _, err := os.Stat(filepath.Join(src, "antenv", "bin", "python")); err != nil {
		t.Errorf("source was modified: %v", err)
	}

	// The environment cache: same requirements reuse the environment
	// without running pip; changed requirements build a new one.
	ctx := context.Background()
	first := res
	settings := map[string]string{"PYTHON_VERSION": "3.12"}
	pipRuns := len(r.pipInstalls())

	t.Run("changed code same requirements is a hit", func(t *testing.T) {
		src := fixture(t, "simple", map[string]string{"app.py": "print('new code')\n", "extra.py": "Y = 2\n"})
		dst := filepath.Join(t.TempDir(), "a2")
		log := &syncBuffer{}
		res, err := b.Build(ctx, Request{SourceDir: src, OutputDir: dst, Settings: settings, Log: log})
		if err != nil {
			t.Fatalf("Build: %v\n%s", err, log)
		}
		if !res.CacheHit || res.VenvDir != first.VenvDir {
			t.Errorf("CacheHit=%v VenvDir=%s, want hit on %s", res.CacheHit, res.VenvDir, first.VenvDir)
		}
		if got := len(r.pipInstalls()); got != pipRuns {
			t.Errorf("pip ran on a cache hit: %v", r.pipInstalls()[pipRuns:])
		}
		if !strings.Contains(log.String(), "Reusing cached virtual environment antenv (requirements unchanged, key ") {
			t.Errorf("log does not say the environment was reused:\n%s", log)
		}
		if strings.Contains(log.String(), "Running pip install...") {
			t.Errorf("log mentions pip on a cache hit:\n%s", log)
		}
		if got, _ := os.ReadFile(filepath.Join(dst, "app.py")); string(got) != "print('new code')\n" {
			t.Errorf("artifact has old code: %q", got)
		}
		runPython(t, dst, "-c", "import six, gunicorn")
	})

	t.Run("changed requirements is a miss", func(t *testing.T) {
		src := fixture(t, "simple", map[string]string{"requirements.txt": "six==1.16.0\n"})
		res, err := b.Build(ctx, Request{SourceDir: src, OutputDir: filepath.Join(t.TempDir(), "a3"), Settings: settings})
		if err != nil {
			t.Fatalf("Build: %v", err)
		}
		if res.CacheHit || res.VenvDir == first.VenvDir {
			t.Errorf("CacheHit=%v VenvDir=%s, want a new environment", res.CacheHit, res.VenvDir)
		}
		if len(r.pipInstalls()) == pipRuns {
			t.Error("pip did not run for changed requirements")
		}
	})

	t.Run("CUSTOM_REQUIREMENTSTXT_PATH with the same text is a hit", func(t *testing.T) {
		src := fixture(t, "simple", map[string]string{"requirements.txt": "", "req/prod.txt": "six==1.17.0\n"})
		dst := filepath.Join(t.TempDir(), "a5")
		res, err := b.Build(ctx, Request{SourceDir: src, OutputDir: dst,
			Settings: map[string]string{"PYTHON_VERSION": "3.12", "CUSTOM_REQUIREMENTSTXT_PATH": "./req/prod.txt"}})
		if err != nil {
			t.Fatalf("Build: %v", err)
		}
		if !res.CacheHit || res.VenvDir != first.VenvDir {
			t.Errorf("CacheHit=%v VenvDir=%s, want a hit on %s", res.CacheHit, res.VenvDir, first.VenvDir)
		}
		runPython(t, dst, "-c", "import six")
	})

	t.Run("CUSTOM_REQUIREMENTSTXT_PATH outside the app is refused", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "a6")
		_, err := b.Build(ctx, Request{SourceDir: fixture(t, "simple", nil), OutputDir: dst,
			Settings: map[string]string{"CUSTOM_REQUIREMENTSTXT_PATH": "../../etc/passwd"}})
		if err == nil || !strings.Contains(err.Error(), "CUSTOM_REQUIREMENTSTXT_PATH") {
			t.Fatalf("err = %v, want a CUSTOM_REQUIREMENTSTXT_PATH error", err)
		}
		mustNotExist(t, dst)
	})

	t.Run("manage.py without django in requirements warns", func(t *testing.T) {
		log := &syncBuffer{}
		res, err := b.Build(ctx, Request{SourceDir: fixture(t, "simple", map[string]string{"manage.py": "print('hi')\n"}),
			OutputDir: filepath.Join(t.TempDir(), "a4"), Log: log, Settings: settings})
		if err != nil {
			t.Fatalf("Build: %v", err)
		}
		if res.Django || !res.CacheHit {
			t.Errorf("Django=%v CacheHit=%v, want false, true", res.Django, res.CacheHit)
		}
		if !strings.Contains(log.String(), "Missing Django module in ") || !strings.Contains(log.String(), "Add Django to your requirements.txt file.") {
			t.Errorf("log lacks Oryx's missing-Django warning:\n%s", log)
		}
	})
}

// TestBuildMissingRequirement: pip failure fails the build with Oryx's
// "Please review your requirements.txt" and pip's last lines, and leaves
// neither an artifact nor a cached environment behind.
func TestBuildMissingRequirement(t *testing.T) {
	t.Parallel()
	b, cache := newTestBuilder(t, nil)
	src := fixture(t, "simple", map[string]string{"requirements.txt": "six==1.17.0\nthis-package-does-not-exist-slipway==1.0\n"})
	dst := filepath.Join(t.TempDir(), "a1")
	log := &syncBuffer{}
	_, err := b.Build(context.Background(), Request{SourceDir: src, OutputDir: dst, Log: log})
	if err == nil {
		t.Fatal("Build succeeded, want pip failure")
	}
	for _, want := range []string{"pip install failed", "Please review your requirements.txt", "this-package-does-not-exist-slipway"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if !strings.Contains(log.String(), "this-package-does-not-exist-slipway") {
		t.Errorf("pip's output was not streamed to the log:\n%s", log)
	}
	mustNotExist(t, dst)
	if entries, _ := os.ReadDir(filepath.Join(cache, "scopes", PlatformScope, "venvs")); len(entries) > 1 { // only the .lock file may remain
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("cache holds %v after a failed build, want only the lock file", names)
	}
}

// TestBuildDjango: docs/appservice.md §3 step 5, collectstatic rule.
func TestBuildDjango(t *testing.T) {
	t.Parallel()
	b, _ := newTestBuilder(t, nil)
	ctx := context.Background()

	t.Run("collectstatic runs", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "a1")
		log := &syncBuffer{}
		res, err := b.Build(ctx, Request{SourceDir: fixture(t, "djangoapp", nil), OutputDir: dst, Log: log})
		if err != nil {
			t.Fatalf("Build: %v\n%s", err, log)
		}
		if !res.Django || !res.Collectstatic {
			t.Errorf("Django=%v Collectstatic=%v, want both true\n%s", res.Django, res.Collectstatic, log)
		}
		if got, err := os.ReadFile(filepath.Join(dst, "staticfiles", "css", "site.css")); err != nil || !strings.Contains(string(got), "#0078d4") {
			t.Errorf("collected file: %q, %v", got, err)
		}
		assertLogOrder(t, log.String(), "Content in source directory is a Django app", "Running 'collectstatic'...",
			"static file copied to", "collectstatic done in ", "Total execution done in ")
	})

	t.Run("DISABLE_COLLECTSTATIC skips it", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "a2")
		log := &syncBuffer{}
		res, err := b.Build(ctx, Request{SourceDir: fixture(t, "djangoapp", nil), OutputDir: dst, Log: log,
			Settings: map[string]string{"DISABLE_COLLECTSTATIC": "true"}})
		if err != nil {
			t.Fatalf("Build: %v", err)
		}
		if !res.Django || res.Collectstatic || !res.CacheHit {
			t.Errorf("Django=%v Collectstatic=%v CacheHit=%v, want true/false/true", res.Django, res.Collectstatic, res.CacheHit)
		}
		mustNotExist(t, filepath.Join(dst, "staticfiles"))
		if strings.Contains(log.String(), "Running 'collectstatic'") {
			t.Errorf("collectstatic ran:\n%s", log)
		}
	})

	t.Run("collectstatic failure is only a warning", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "a3")
		log := &syncBuffer{}
		res, err := b.Build(ctx, Request{SourceDir: fixture(t, "djangoapp", map[string]string{
			"mysite/settings.py": "raise RuntimeError('settings exploded')\n",
		}), OutputDir: dst, Log: log})
		if err != nil {
			t.Fatalf("Build failed, want warning only: %v", err)
		}
		if !res.Django || res.Collectstatic {
			t.Errorf("Django=%v Collectstatic=%v, want true/false", res.Django, res.Collectstatic)
		}
		assertLogOrder(t, log.String(), "settings exploded", "WARNING: 'collectstatic' failed", "Manifest file created.")
	})
}

// TestBuildCommands: PRE_BUILD_COMMAND and POST_BUILD_COMMAND see the app's
// settings and SOURCE_DIR/DESTINATION_DIR, not the server's environment, and
// their failure fails the build (docs/appservice.md §3 steps 2 and 6).
func TestBuildCommands(t *testing.T) {
	t.Setenv("SLIPWAY_SERVER_SECRET", "must-not-leak")
	b, _ := newTestBuilder(t, nil)
	b.cfg.Env = append(b.cfg.Env, "BUILD_PROXY=from-config", "MY_SETTING=config-loses-to-setting")
	ctx := context.Background()

	t.Run("settings visible", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "a1")
		log := &syncBuffer{}
		res, err := b.Build(ctx, Request{SourceDir: fixture(t, "noreqs", nil), OutputDir: dst, Log: log, Settings: map[string]string{
			"MY_SETTING":         "hello world",
			"PRE_BUILD_COMMAND":  `printf '%s|%s|%s|%s' "$MY_SETTING" "${SLIPWAY_SERVER_SECRET:-unset}" "$DESTINATION_DIR" "$BUILD_PROXY" > pre.txt; echo pre-ran`,
			"POST_BUILD_COMMAND": `printf '%s|%s|%s' "$MY_SETTING" "$(command -v python)" "$SOURCE_DIR" > post.txt; python -c 'import gunicorn'`,
		}})
		if err != nil {
			t.Fatalf("Build: %v\n%s", err, log)
		}
		for file, want := range map[string]string{
			"pre.txt":  "hello world|unset|" + dst + "|from-config",
			"post.txt": "hello world|" + filepath.Join(dst, "antenv", "bin", "python") + "|" + dst,
		} {
			got, err := os.ReadFile(filepath.Join(dst, file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, string(got)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", file, diff)
			}
		}
		if res.Django {
			t.Error("Django = true for a non-Django app")
		}
		assertLogOrder(t, log.String(), "Executing pre-build command...", "pre-ran", "Finished executing pre-build command.",
			"Could not find requirements.txt, pyproject.toml, or setup.py; Not installing dependencies.",
			"Executing post-build command...", "Finished executing post-build command.")
	})

	for _, tt := range []struct{ setting, wantErr string }{
		{"PRE_BUILD_COMMAND", "pre-build command failed"},
		{"POST_BUILD_COMMAND", "post-build command failed"},
	} {
		t.Run(tt.setting+" failure fails the build", func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "a2")
			log := &syncBuffer{}
			_, err := b.Build(ctx, Request{SourceDir: fixture(t, "noreqs", nil), OutputDir: dst, Log: log,
				Settings: map[string]string{tt.setting: "echo about to fail; exit 3"}})
			if err == nil {
				t.Fatal("Build succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.setting) || !strings.Contains(err.Error(), "exit status 3") {
				t.Errorf("error %q should say %q, name %s and the exit status", err, tt.wantErr, tt.setting)
			}
			if !strings.Contains(log.String(), "about to fail") {
				t.Errorf("command output not streamed:\n%s", log)
			}
			mustNotExist(t, dst)
		})
	}
}

// TestBuildInterrupted: a build cancelled in the middle of pip leaves no
// environment that a later build would treat as complete.
func TestBuildInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	var once sync.Once
	// Cancel as soon as the requirements' pip install prints its first
	// line: pip is then certainly running.
	r := &countingRunner{before: func(_ context.Context, c Cmd) Cmd {
		if isPipInstall(c.Argv) && slices.Contains(c.Argv, "-r") {
			out := c.Stdout
			c.Stdout = writerFunc(func(p []byte) (int, error) {
				once.Do(func() {
					close(started)
					cancel()
				})
				return out.Write(p)
			})
		}
		return c
	}}
	b, _ := newTestBuilder(t, r)
	src := fixture(t, "simple", map[string]string{"requirements.txt": "six==1.17.0\n# interrupted\n"})
	dst := filepath.Join(t.TempDir(), "a1")
	_, err := b.Build(ctx, Request{SourceDir: src, OutputDir: dst})
	select {
	case <-started:
	default:
		t.Fatalf("pip never started; err = %v", err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	mustNotExist(t, dst)

	spec, _, specErr := b.envSpecFromSource(t, src)
	if specErr != nil {
		t.Fatal(specErr)
	}
	p := b.envPaths("", spec.key())
	if p.isComplete(b.asRoot) {
		t.Fatal("interrupted environment is marked complete")
	}
	mustNotExist(t, p.Dir)

	// A fresh build rebuilds and succeeds.
	log := &syncBuffer{}
	res, err := b.Build(context.Background(), Request{SourceDir: src, OutputDir: dst, Log: log})
	if err != nil {
		t.Fatalf("rebuild: %v\n%s", err, log)
	}
	if res.CacheHit {
		t.Error("rebuild after interruption was a cache hit")
	}
	runPython(t, dst, "-c", "import six, gunicorn")
}

// TestBuildIncompleteCacheEntry: an environment directory without the
// completion marker (a crash after pip) is discarded and rebuilt.
func TestBuildIncompleteCacheEntry(t *testing.T) {
	t.Parallel()
	r := &countingRunner{}
	b, _ := newTestBuilder(t, r)
	ctx := context.Background()
	src := fixture(t, "simple", map[string]string{"requirements.txt": "six==1.17.0\n# marker test\n"})
	first, err := b.Build(ctx, Request{SourceDir: src, OutputDir: filepath.Join(t.TempDir(), "a1")})
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(filepath.Dir(first.VenvDir), completeMarker)
	// A sealed environment's directory has no write bits; a builder not
	// running as root needs them back to remove the marker.
	if err := os.Chmod(filepath.Dir(marker), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(marker); err != nil {
		t.Fatalf("removing marker: %v", err)
	}
	before := len(r.pipInstalls())
	log := &syncBuffer{}
	dst := filepath.Join(t.TempDir(), "a2")
	res, err := b.Build(ctx, Request{SourceDir: src, OutputDir: dst, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if res.CacheHit || len(r.pipInstalls()) == before {
		t.Errorf("CacheHit=%v, pip runs %d→%d: want a rebuild", res.CacheHit, before, len(r.pipInstalls()))
	}
	if !strings.Contains(log.String(), "Discarding incomplete cached environment") {
		t.Errorf("log does not mention the discarded environment:\n%s", log)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("marker not rewritten: %v", err)
	}
	runPython(t, dst, "-c", "import six")
}

// TestBuildConcurrentSameKey: two builds needing the same environment at once
// build it once; the other waits and reuses it.
func TestBuildConcurrentSameKey(t *testing.T) {
	t.Parallel()
	r := &countingRunner{}
	b, _ := newTestBuilder(t, r)
	src := fixture(t, "simple", map[string]string{"requirements.txt": "six==1.17.0\n# concurrent test\n"})
	base := t.TempDir()
	var wg sync.WaitGroup
	results := make([]Result, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = b.Build(context.Background(), Request{SourceDir: src, OutputDir: filepath.Join(base, string(rune('a'+i)))})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("build %d: %v", i, err)
		}
	}
	if results[0].CacheHit == results[1].CacheHit {
		t.Errorf("CacheHit = %v, %v; want exactly one miss", results[0].CacheHit, results[1].CacheHit)
	}
	reqInstalls := 0
	for _, a := range r.pipInstalls() {
		if strings.Contains(strings.Join(a, " "), " -r ") {
			reqInstalls++
		}
	}
	if reqInstalls != 1 {
		t.Errorf("pip install -r ran %d times, want 1", reqInstalls)
	}
}

// TestBuildBadRequests: errors for inputs the builder refuses before doing
// any work.
func TestBuildBadRequests(t *testing.T) {
	b, err := New(Config{CacheDir: t.TempDir(), Interpreters: testInterpreters})
	if err != nil {
		t.Fatal(err)
	}
	src := fixture(t, "simple", map[string]string{"runtime.txt": "python-3.9\n"})
	existing := t.TempDir()
	tests := []struct {
		name    string
		req     Request
		wantErr string
	}{
		{"missing Python version", Request{SourceDir: src, OutputDir: filepath.Join(t.TempDir(), "x")},
			"Python 3.9 (from runtime.txt (python-3.9)) is not installed on this Slipway server; installed: 3.10.13, 3.11.2, 3.11.7, 3.12.1, 3.13.0."},
		{"output exists", Request{SourceDir: src, OutputDir: existing, LinuxFxVersion: "PYTHON|3.12"}, "already exists"},
		{"output inside source", Request{SourceDir: src, OutputDir: filepath.Join(src, "out"), LinuxFxVersion: "PYTHON|3.12"}, "is inside the source directory"},
		{"no source", Request{SourceDir: filepath.Join(t.TempDir(), "nope"), OutputDir: filepath.Join(t.TempDir(), "x")}, "source directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.Build(context.Background(), tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
	if _, err := os.Stat(existing); err != nil {
		t.Errorf("existing output dir was removed: %v", err)
	}
}

// assertLogOrder checks that each want appears in log after the previous one.
func assertLogOrder(t *testing.T, log string, wants ...string) {
	t.Helper()
	rest := log
	for _, w := range wants {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("log lacks %q (in order) — full log:\n%s", w, log)
			return
		}
		rest = rest[i+len(w):]
	}
}

// envSpecFromSource computes the environment spec a build of src would use
// (tests only: the builder reads it from the artifact dir).
func (b *Builder) envSpecFromSource(t *testing.T, src string) (envSpec, string, error) {
	t.Helper()
	interp, err := selectInterpreter(versionRequest{}, b.cfg.Interpreters)
	if err != nil {
		return envSpec{}, "", err
	}
	return b.envSpec(src, nil, b.envSettings(nil), interp)
}

// TestBuildPyproject: without requirements.txt, pyproject.toml is installed
// with `pip install .` (docs/appservice.md §3 step 4). The venv then holds a copy
// of the app, so any change to the app is a cache miss.
func TestBuildPyproject(t *testing.T) {
	t.Parallel()
	needVersion(t, "3.12")
	b, _ := newTestBuilder(t, nil)
	ctx := context.Background()
	settings := map[string]string{"PYTHON_VERSION": "3.12"}
	dst := filepath.Join(t.TempDir(), "a1")
	log := &syncBuffer{}
	first, err := b.Build(ctx, Request{SourceDir: fixture(t, "pyproj", nil), OutputDir: dst, Settings: settings, Log: log})
	if err != nil {
		t.Fatalf("Build: %v\n%s", err, log)
	}
	got := runPython(t, dst, "-c", "import importlib.metadata as m, six, gunicorn; print(m.version('slipway-pyproj-fixture'))")
	if got != "0.1\n" {
		t.Errorf("installed project version = %q, want 0.1", got)
	}

	again, err := b.Build(ctx, Request{SourceDir: fixture(t, "pyproj", nil), OutputDir: filepath.Join(t.TempDir(), "a2"), Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	if !again.CacheHit || again.VenvDir != first.VenvDir {
		t.Errorf("identical project: CacheHit=%v, want a hit", again.CacheHit)
	}
	changed, err := b.Build(ctx, Request{SourceDir: fixture(t, "pyproj", map[string]string{"myapp.py": "X = 2\n"}),
		OutputDir: filepath.Join(t.TempDir(), "a3"), Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	if changed.CacheHit {
		t.Error("changed project code was a cache hit; the venv would hold the old copy")
	}
}
