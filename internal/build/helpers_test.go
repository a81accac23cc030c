package build

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/slipway-dev/slipway/internal/testwatch"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// sharedPipCache is one pip download cache for the whole test binary, so that
// each wheel is fetched from PyPI once per run.
var sharedPipCache string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "slipway-build-test-pip-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sharedPipCache = dir
	code := testwatch.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// interpreterRoots are where this machine (and CI) keeps Pythons.
var interpreterRoots = []string{"/root/.pyenv/versions", "/usr/local/bin", "/usr/bin"}

// needPython returns the installed interpreters, skipping the test locally
// (failing it in CI, where they are installed) when there are none.
func needPython(t *testing.T) []Interpreter {
	t.Helper()
	found, err := FindInterpreters(context.Background(), interpreterRoots...)
	if err != nil {
		t.Fatalf("FindInterpreters: %v", err)
	}
	if len(found) == 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("no Python 3.8+ interpreter found under " + strings.Join(interpreterRoots, ", ") + "; CI must install one")
		}
		t.Skip("no Python 3.8+ interpreter found under " + strings.Join(interpreterRoots, ", "))
	}
	return found
}

// needVersion returns the exact version of the newest installed Python
// matching prefix, skipping locally (failing in CI) when there is none.
func needVersion(t *testing.T, prefix string) string {
	t.Helper()
	in, err := selectInterpreter(versionRequest{Version: prefix, Source: "test"}, needPython(t))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return in.Version
}

// newTestBuilder returns a Builder with its own cache dir whose pip download
// cache is the shared one.
func newTestBuilder(t *testing.T, r Runner) (*Builder, string) {
	t.Helper()
	interps := needPython(t)
	cache := t.TempDir()
	t.Cleanup(func() { makeWritable(t, cache) })
	linkSharedPipCache(t, cache, PlatformScope)
	b, err := New(Config{CacheDir: cache, Interpreters: interps, Runner: r, Env: hostPipEnv()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b, cache
}

// hostPipEnv returns the settings of this machine that pip needs to reach
// PyPI (a CA bundle, a proxy, a mirror), for Config.Env: nothing of the
// test's own environment reaches build commands otherwise.
func hostPipEnv() []string {
	var env []string
	for _, k := range []string{"PIP_CERT", "PIP_INDEX_URL", "PIP_DEFAULT_TIMEOUT", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
		"HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// linkSharedPipCache makes the pip download cache of scope in cache the
// shared one (for builds that run as the test's own user).
func linkSharedPipCache(t *testing.T, cache, scope string) {
	t.Helper()
	dir := filepath.Join(cache, "scopes", scope)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(sharedPipCache, filepath.Join(dir, "pip")); err != nil {
		t.Fatal(err)
	}
}

// makeWritable gives the write bits back to every directory under root
// (sealed environments have none), so that t.TempDir's cleanup can remove
// it when the tests do not run as root.
func makeWritable(t *testing.T, root string) {
	t.Helper()
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o755)
		}
		return nil
	})
}

// fixture copies testdata/<name> into a fresh temp dir and applies edits
// (path → content; "" content deletes the file).
func fixture(t *testing.T, name string, edits map[string]string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "src")
	if err := os.CopyFS(dst, os.DirFS(filepath.Join("testdata", name))); err != nil {
		t.Fatal(err)
	}
	for p, content := range edits {
		full := filepath.Join(dst, p)
		if content == "" {
			if err := os.Remove(full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// syncBuffer is a log sink that may be written while a build runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// countingRunner wraps the real ExecRunner and records every argv it runs,
// so tests can tell whether pip ran. before, if set, may change each command
// before it runs (tests use it to cancel a build mid-pip).
type countingRunner struct {
	mu     sync.Mutex
	argvs  [][]string
	before func(ctx context.Context, c Cmd) Cmd
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (r *countingRunner) Run(ctx context.Context, c Cmd) error {
	r.mu.Lock()
	r.argvs = append(r.argvs, slices.Clone(c.Argv))
	r.mu.Unlock()
	if r.before != nil {
		c = r.before(ctx, c)
	}
	return ExecRunner{}.Run(ctx, c)
}

// pipInstalls returns the argvs of "pip install" runs.
func (r *countingRunner) pipInstalls() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out [][]string
	for _, a := range r.argvs {
		if isPipInstall(a) {
			out = append(out, a)
		}
	}
	return out
}

func isPipInstall(argv []string) bool {
	s := strings.Join(argv, " ")
	return strings.Contains(s, " -m pip install ")
}

// runPython runs the artifact's antenv python (through the symlink) and
// returns its combined output.
func runPython(t *testing.T, appDir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(appDir, "antenv", "bin", "python"), args...)
	cmd.Dir = appDir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("antenv/bin/python %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// readManifest parses the Key="value" lines of oryx-manifest.toml.
func readManifest(t *testing.T, appDir string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(appDir, manifestName))
	if err != nil {
		t.Fatalf("reading manifest: %v", err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(v, `"`) || !strings.HasSuffix(v, `"`) {
			t.Fatalf("manifest line %q is not Key=\"value\"", line)
		}
		m[k] = strings.Trim(v, `"`)
	}
	return m
}

func mustNotExist(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); err == nil {
		t.Errorf("%s exists, want it gone", path)
	} else if !os.IsNotExist(err) {
		t.Errorf("lstat %s: %v", path, err)
	}
}

// listTree returns the slash paths under root (dirs end in "/").
func listTree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			rel += "/"
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
