package build

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// These tests pin the build cache's isolation: environments and pip caches
// are per scope, a complete environment is sealed (root-owned, no write
// bits), and the commands that build an environment ignore what the app's
// own files and settings could do to pip.

func TestValidateScope(t *testing.T) {
	tests := []struct {
		scope string
		ok    bool
	}{
		{"", true},
		{"myapp", true},
		{"my-app_2.prod", true},
		{PlatformScope, true},
		{"a", true},
		{strings.Repeat("a", maxScopeLen), true},
		{strings.Repeat("a", maxScopeLen+1), false},
		{"MyApp", false},
		{"a/b", false},
		{"../b", false},
		{"..", false},
		{".", false},
		{"a..b", false},
		{"a b", false},
		{"a\x00", false},
		{"é", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.scope), func(t *testing.T) {
			if err := ValidateScope(tt.scope); (err == nil) != tt.ok {
				t.Errorf("ValidateScope(%q) = %v, want ok=%v", tt.scope, err, tt.ok)
			}
		})
	}
	b, err := New(Config{CacheDir: t.TempDir(), Interpreters: testInterpreters})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Build(context.Background(), Request{SourceDir: t.TempDir(), OutputDir: filepath.Join(t.TempDir(), "x"), Scope: "../other"}); err == nil || !strings.Contains(err.Error(), "cache scope") {
		t.Errorf("Build with scope ../other: err = %v, want a cache scope error", err)
	}
}

func TestEnvBuildSettings(t *testing.T) {
	b := &Builder{cfg: Config{Env: []string{"HTTPS_PROXY=http://proxy:3128", "PIP_INDEX_URL=https://mirror/simple", "PIP_CONFIG_FILE=/etc/mine.conf"}}}
	got := b.envBuildSettings(map[string]string{
		"PIP_EXTRA_INDEX_URL": "https://extra/simple",
		"PIP_INDEX_URL":       "https://app/simple",
		"PIP_CONFIG_FILE":     "/home/site/wwwroot/pip.conf",
		"pip_config_file":     "/x",
		"PYTHONNOUSERSITE":    "",
		"PYTHONPATH":          "/home/site/wwwroot/inject",
		"PYTHONSTARTUP":       "/x.py",
		"DJANGO_SECRET":       "s",
	})
	want := map[string]string{
		"HTTPS_PROXY":         "http://proxy:3128",
		"PIP_INDEX_URL":       "https://app/simple", // in the key, like every PIP_* setting
		"PIP_EXTRA_INDEX_URL": "https://extra/simple",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("envBuildSettings (-want +got):\n%s", diff)
	}
}

// TestSealEnv: sealing without Python — modes, ownership, setuid, symlinks
// out of the tree, hard links, and removal of a sealed tree.
func TestSealEnv(t *testing.T) {
	asRoot := os.Geteuid() == 0
	outside := filepath.Join(t.TempDir(), "outside.txt")
	if err := os.WriteFile(outside, []byte("x"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(outside, 0o666); err != nil {
		t.Fatal(err)
	}
	newTree := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), "env")
		t.Cleanup(func() { makeWritable(t, filepath.Dir(dir)) })
		for _, d := range []string{"antenv/bin", "antenv/lib/site-packages/pkg"} {
			if err := os.MkdirAll(filepath.Join(dir, d), 0o777); err != nil {
				t.Fatal(err)
			}
		}
		for rel, mode := range map[string]os.FileMode{
			"antenv/bin/python":                       0o775,
			"antenv/bin/suid":                         0o755 | os.ModeSetuid | os.ModeSetgid,
			"antenv/lib/site-packages/pkg/mod.py":     0o664,
			"antenv/lib/site-packages/pkg/private.py": 0o600,
		} {
			p := filepath.Join(dir, rel)
			if err := os.WriteFile(p, []byte(rel), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, mode); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chmod(filepath.Join(dir, "antenv/lib"), 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(dir, "antenv/bin/out")); err != nil {
			t.Fatal(err)
		}
		if asRoot {
			if err := chownTree(dir, &Owner{UID: 65534, GID: 65534}); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}

	t.Run("sealed", func(t *testing.T) {
		dir := newTree(t)
		if err := sealEnv(dir, asRoot); err != nil {
			t.Fatal(err)
		}
		if err := finishSeal(dir); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := os.Lstat(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			st := fi.Sys().(*syscall.Stat_t)
			if asRoot && (st.Uid != 0 || st.Gid != 0) {
				t.Errorf("%s is owned by %d:%d, want root", rel, st.Uid, st.Gid)
			}
			if fi.Mode()&fs.ModeSymlink == 0 {
				got[rel] = fmt.Sprintf("%v", fi.Mode())
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			".":                                   "dr-xr-xr-x",
			"antenv":                              "dr-xr-xr-x",
			"antenv/bin":                          "dr-xr-xr-x",
			"antenv/bin/python":                   "-r-xr-xr-x",
			"antenv/bin/suid":                     "-r-xr-xr-x", // setuid dropped
			"antenv/lib":                          "dr-xr-xr-x",
			"antenv/lib/site-packages":            "dr-xr-xr-x",
			"antenv/lib/site-packages/pkg":        "dr-xr-xr-x",
			"antenv/lib/site-packages/pkg/mod.py": "-r--r--r--",
			"antenv/lib/site-packages/pkg/private.py": "-r--r--r--",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("modes after sealing (-want +got):\n%s", diff)
		}
		if fi, err := os.Stat(outside); err != nil || fi.Mode().Perm() != 0o666 {
			t.Errorf("file outside the tree, reached by a symlink: mode %v, %v; want it untouched (0666)", fi.Mode().Perm(), err)
		}
		if err := RemoveEnvironment(dir); err != nil {
			t.Fatalf("RemoveEnvironment: %v", err)
		}
		mustNotExist(t, dir)
		if err := RemoveEnvironment(dir); err != nil {
			t.Errorf("RemoveEnvironment of a missing dir: %v", err)
		}
	})

	t.Run("hard link refused", func(t *testing.T) {
		dir := newTree(t)
		if err := os.Link(filepath.Join(dir, "antenv/bin/python"), filepath.Join(filepath.Dir(dir), "kept")); err != nil {
			t.Fatal(err)
		}
		if err := sealEnv(dir, asRoot); err == nil || !strings.Contains(err.Error(), "hard links") {
			t.Fatalf("sealEnv = %v, want a hard-link error", err)
		}
	})
}

// TestExecRunnerOwner: as root, ExecRunner runs a command with an Owner as
// that user and still kills it on cancellation.
func TestExecRunnerOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root")
	}
	nobody := lookupNobody(t)
	var out strings.Builder
	err := ExecRunner{}.Run(context.Background(), Cmd{Argv: []string{"/bin/sh", "-c", "id -u; id -g; id -G"}, Owner: nobody, Stdout: &out, Dir: "/"})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d\n%d\n%d\n", nobody.UID, nobody.GID, nobody.GID)
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("uid, gid, groups (-want +got):\n%s", diff)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = ExecRunner{}.Run(ctx, Cmd{Argv: []string{"/bin/sh", "-c", "sleep 30 & sleep 30"}, Owner: nobody, Dir: "/"})
	if err == nil || ctx.Err() == nil {
		t.Fatalf("err = %v, want the command killed by cancellation", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancellation took %v", d)
	}
}

// TestBuildSealsEnvironment: a built environment is sealed — no write bit
// anywhere, owned by root when the builder is root — and a second build of
// the same scope and key reuses it without changing a byte or a mode.
func TestBuildSealsEnvironment(t *testing.T) {
	t.Parallel()
	b, _ := newTestBuilder(t, nil)
	ctx := context.Background()
	src := fixture(t, "simple", map[string]string{"requirements.txt": "six==1.17.0\n# seal test\n"})
	first, err := b.Build(ctx, Request{SourceDir: src, OutputDir: filepath.Join(t.TempDir(), "a1")})
	if err != nil {
		t.Fatal(err)
	}
	envDir := filepath.Dir(first.VenvDir)
	assertSealed(t, envDir)
	before := treeState(t, envDir)

	dst := filepath.Join(t.TempDir(), "a2")
	again, err := b.Build(ctx, Request{SourceDir: src, OutputDir: dst, Settings: map[string]string{
		"POST_BUILD_COMMAND": "python -c 'import six, gunicorn'",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !again.CacheHit || again.VenvDir != first.VenvDir {
		t.Errorf("second build: CacheHit=%v VenvDir=%s, want a hit on %s", again.CacheHit, again.VenvDir, first.VenvDir)
	}
	if diff := cmp.Diff(before, treeState(t, envDir)); diff != "" {
		t.Errorf("the reused environment changed (-before +after):\n%s", diff)
	}
}

// TestBuildScopesAreSeparate: identical requirements in two scopes build two
// environments; each scope then reuses its own.
func TestBuildScopesAreSeparate(t *testing.T) {
	t.Parallel()
	b, cache := newTestBuilder(t, nil)
	for _, s := range []string{"a", "b"} {
		linkSharedPipCache(t, cache, s)
	}
	ctx := context.Background()
	src := fixture(t, "simple", map[string]string{"requirements.txt": "six==1.17.0\n# scopes test\n"})
	build := func(scope string) Result {
		t.Helper()
		res, err := b.Build(ctx, Request{SourceDir: src, OutputDir: filepath.Join(t.TempDir(), "out"), Scope: scope})
		if err != nil {
			t.Fatalf("build in scope %s: %v", scope, err)
		}
		if want := filepath.Join(cache, "scopes", scope, "venvs") + "/"; !strings.HasPrefix(res.VenvDir, want) {
			t.Errorf("scope %s: VenvDir = %s, want it under %s", scope, res.VenvDir, want)
		}
		return res
	}
	b1 := build("b")
	a1 := build("a")
	b2 := build("b")
	a2 := build("a")
	got := []bool{b1.CacheHit, a1.CacheHit, b2.CacheHit, a2.CacheHit}
	if diff := cmp.Diff([]bool{false, false, true, true}, got); diff != "" {
		t.Errorf("CacheHit of b, a, b, a (-want +got):\n%s", diff)
	}
	if filepath.Base(filepath.Dir(a1.VenvDir)) != filepath.Base(filepath.Dir(b1.VenvDir)) {
		t.Errorf("keys differ across scopes: %s vs %s; the key depends only on the inputs", a1.VenvDir, b1.VenvDir)
	}
	if b2.VenvDir != b1.VenvDir || a2.VenvDir != a1.VenvDir {
		t.Errorf("reuse went to another environment: b %s→%s, a %s→%s", b1.VenvDir, b2.VenvDir, a1.VenvDir, a2.VenvDir)
	}
}

// TestBuildPipIgnoresAppConfig: the commands that build the environment do
// not read a pip.conf the pre-build command wrote into its HOME, nor one
// named by the app's PIP_CONFIG_FILE setting, nor run code the app's
// PYTHONPATH setting points to; that setting still reaches the app's own
// commands.
func TestBuildPipIgnoresAppConfig(t *testing.T) {
	t.Parallel()
	b, _ := newTestBuilder(t, nil)
	witness := filepath.Join(t.TempDir(), "witness")
	if err := os.Chmod(filepath.Dir(witness), 0o777); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "a1")
	bogus := "[global]\nindex-url = http://127.0.0.1:9/bogus-index\nno-index = true\n"
	src := fixture(t, "simple", map[string]string{
		"requirements.txt":        "six==1.17.0\n# pip config test\n",
		"bogus.conf":              bogus,
		"inject/sitecustomize.py": "import sys\nwith open(" + strconv.Quote(witness) + ", 'a') as f:\n    f.write(sys.prefix + '\\n')\n",
	})
	log := &syncBuffer{}
	_, err := b.Build(context.Background(), Request{SourceDir: src, OutputDir: dst, Log: log, Settings: map[string]string{
		"PRE_BUILD_COMMAND":  `mkdir -p "$HOME/.config/pip" "$HOME/.pip" && cp bogus.conf "$HOME/.config/pip/pip.conf" && cp bogus.conf "$HOME/.pip/pip.conf"`,
		"PIP_CONFIG_FILE":    filepath.Join(dst, "bogus.conf"),
		"PYTHONPATH":         filepath.Join(dst, "inject"),
		"POST_BUILD_COMMAND": "python -c pass",
	}})
	if err != nil {
		t.Fatalf("Build: %v\n%s", err, log)
	}
	if strings.Contains(log.String(), "bogus-index") {
		t.Errorf("pip saw the bogus index:\n%s", log)
	}
	got, _ := os.ReadFile(witness)
	if diff := cmp.Diff(filepath.Join(dst, "antenv")+"\n", string(got)); diff != "" {
		t.Errorf("sys.prefix of the Pythons that imported the app's sitecustomize (-want: only POST_BUILD_COMMAND +got):\n%s", diff)
	}
}

// TestBuildCachePoisoning: app A's pre-build command, running as its own
// unprivileged user, tries to plant a .pth in every cached environment and
// pip cache it can reach and to redirect pip through its HOME. App B (scope
// b, same requirements) is untouched, and A's own sealed environment too.
func TestBuildCachePoisoning(t *testing.T) {
	if os.Geteuid() != 0 {
		// Without root every build runs as the same user, who owns the
		// whole cache: only the sandboxed Runner and root's seal stop it.
		t.Skip("the two-user part needs root")
	}
	t.Parallel()
	nobody := lookupNobody(t)
	interp := interpreterFor(t, nobody)
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil { // let nobody reach the cache and its output
			t.Fatal(err)
		}
	}
	cache := filepath.Join(base, "cache")
	b, err := New(Config{CacheDir: cache, Interpreters: []Interpreter{interp}, Env: hostPipEnv()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { makeWritable(t, base) })
	ctx := context.Background()
	reqs := map[string]string{"requirements.txt": "six==1.17.0\n"}
	n := 0
	build := func(scope string, owner *Owner, settings map[string]string) Result {
		t.Helper()
		n++
		log := &syncBuffer{}
		res, err := b.Build(ctx, Request{SourceDir: fixture(t, "simple", reqs), OutputDir: filepath.Join(base, "out", strconv.Itoa(n)),
			Scope: scope, Owner: owner, Settings: settings, Log: log})
		if err != nil {
			t.Fatalf("build %d (scope %s): %v\n%s", n, scope, err, log)
		}
		if strings.Contains(log.String(), "bogus-index") {
			t.Errorf("build %d: pip saw the bogus index:\n%s", n, log)
		}
		return res
	}

	b1 := build("b", nil, nil)
	bEnv := filepath.Dir(b1.VenvDir)
	bBefore := treeState(t, bEnv)
	a1 := build("a", nobody, nil)
	if a1.CacheHit || filepath.Dir(a1.VenvDir) == bEnv {
		t.Fatalf("A's first build: CacheHit=%v VenvDir=%s; want its own new environment", a1.CacheHit, a1.VenvDir)
	}
	aEnv := filepath.Dir(a1.VenvDir)
	aBefore := treeState(t, aEnv)
	sitePackages := func(venv string) string {
		m, _ := filepath.Glob(filepath.Join(venv, "lib", "python3.*", "site-packages"))
		if len(m) != 1 {
			t.Fatalf("site-packages under %s: %v", venv, m)
		}
		return m[0]
	}
	targets := []string{
		sitePackages(b1.VenvDir), bEnv, filepath.Join(cache, "scopes", "b", "pip"), filepath.Join(cache, "scopes", "b", "venvs"),
		sitePackages(a1.VenvDir), aEnv, filepath.Join(cache, "scopes", "a", "venvs"), filepath.Join(cache, "scopes"),
	}
	attack := `
wrote="$DESTINATION_DIR/wrote.txt"; : > "$wrote"
try() { if echo 'import os' > "$1/evil.pth" 2>/dev/null; then echo "$1/evil.pth" >> "$wrote"; fi; }
for d in $TARGETS; do try "$d"; done
find "$CACHE" -type d 2>/dev/null | while read -r d; do try "$d"; done
find "$CACHE" -name six.py 2>/dev/null | while read -r f; do echo 'import os' >> "$f" 2>/dev/null && echo "$f" >> "$wrote"; done
chmod -R u+w "$CACHE/scopes/a/venvs" 2>/dev/null && echo chmod >> "$wrote"
mkdir -p "$HOME/.config/pip" "$HOME/.pip"
printf '[global]\nindex-url = http://127.0.0.1:9/bogus-index\nno-index = true\n' | tee "$HOME/.config/pip/pip.conf" > "$HOME/.pip/pip.conf"
printf '# changed by the pre-build command, so that pip runs\n' >> requirements.txt
true`
	a2 := build("a", nobody, map[string]string{"PRE_BUILD_COMMAND": attack, "CACHE": cache, "TARGETS": strings.Join(targets, " ")})
	if a2.CacheHit || a2.VenvDir == a1.VenvDir {
		t.Fatalf("A's poisoned build: CacheHit=%v; want pip to run for the changed requirements", a2.CacheHit)
	}
	wrote, err := os.ReadFile(filepath.Join(base, "out", strconv.Itoa(n), "wrote.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Fields(string(wrote)) {
		// A's own pip cache and its own HOMEs are A's to spoil.
		if !strings.HasPrefix(line, filepath.Join(cache, "scopes", "a", "pip")+"/") && !strings.HasPrefix(line, filepath.Join(cache, "tmp")+"/") {
			t.Errorf("A's pre-build command wrote %s", line)
		}
	}
	if diff := cmp.Diff(aBefore, treeState(t, aEnv)); diff != "" {
		t.Errorf("A's sealed environment changed (-before +after):\n%s", diff)
	}
	assertSealed(t, filepath.Dir(a2.VenvDir))

	b2 := build("b", nil, nil)
	if !b2.CacheHit || b2.VenvDir != b1.VenvDir {
		t.Errorf("B's second build: CacheHit=%v VenvDir=%s, want a hit on %s", b2.CacheHit, b2.VenvDir, b1.VenvDir)
	}
	if diff := cmp.Diff(bBefore, treeState(t, bEnv)); diff != "" {
		t.Errorf("B's environment changed (-before +after):\n%s", diff)
	}
	for _, root := range []string{filepath.Join(cache, "scopes"), filepath.Join(cache, "tmp")} {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Name() == "evil.pth" && !strings.HasPrefix(p, filepath.Join(cache, "scopes", "a", "pip")+"/") {
				t.Errorf("planted file survives: %s", p)
			}
			return nil
		})
	}
}

// lookupNobody returns the unprivileged user "nobody".
func lookupNobody(t *testing.T) *Owner {
	t.Helper()
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("looking up nobody: %v", err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		t.Fatalf("nobody has ids %q:%q", u.Uid, u.Gid)
	}
	return &Owner{UID: uid, GID: gid}
}

// interpreterFor returns the newest installed Python that owner can run and
// make venvs with (pyenv's under /root are out of reach of other users).
func interpreterFor(t *testing.T, owner *Owner) Interpreter {
	t.Helper()
	interps := needPython(t)
	for i := len(interps) - 1; i >= 0; i-- {
		err := ExecRunner{}.Run(context.Background(), Cmd{Argv: []string{interps[i].Path, "-c", "import venv, ensurepip"}, Dir: "/", Owner: owner})
		if err == nil {
			return interps[i]
		}
	}
	msg := fmt.Sprintf("no installed Python can be run by uid %d", owner.UID)
	if os.Getenv("CI") != "" {
		t.Fatal(msg + "; CI must install one outside /root")
	}
	t.Skip(msg)
	return Interpreter{}
}

// assertSealed checks that nothing under dir is writable and, when the test
// runs as root, that everything is root's.
func assertSealed(t *testing.T, dir string) {
	t.Helper()
	bad := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		writable := fi.Mode()&fs.ModeSymlink == 0 && fi.Mode().Perm()&0o222 != 0
		notRoot := os.Geteuid() == 0 && (st.Uid != 0 || st.Gid != 0)
		if (writable || notRoot) && bad < 10 {
			bad++
			t.Errorf("%s: mode %v, owner %d:%d; want no write bit and root", p, fi.Mode(), st.Uid, st.Gid)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// treeState describes every entry under root — path, type and mode, owner,
// and content or link target — so that any change shows in a diff.
func treeState(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		st := fi.Sys().(*syscall.Stat_t)
		what := ""
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			what, _ = os.Readlink(p)
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			what = fmt.Sprintf("%x", sha256.Sum256(data))
		}
		out = append(out, fmt.Sprintf("%s %v %d:%d %s", rel, fi.Mode(), st.Uid, st.Gid, what))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRetiredScopeKeepsWhatIsRunAndBuildsAnew: a deleted slot's scope
// holds the environment of a version its app still runs (a swap moved the
// version there). Retired, the scope keeps that environment whole and
// loses the rest; a new app of the slot's name, building in the same
// scope the same requirements, neither reuses the kept environment nor
// builds over it.
func TestRetiredScopeKeepsWhatIsRunAndBuildsAnew(t *testing.T) {
	t.Parallel()
	b, cache := newTestBuilder(t, nil)
	const scope = "web-staging"
	linkSharedPipCache(t, cache, scope)
	ctx := context.Background()
	build := func(reqs string) Result {
		t.Helper()
		src := fixture(t, "simple", map[string]string{"requirements.txt": reqs})
		res, err := b.Build(ctx, Request{SourceDir: src, OutputDir: filepath.Join(t.TempDir(), "out"), Scope: scope})
		if err != nil {
			t.Fatalf("build in scope %s: %v", scope, err)
		}
		return res
	}
	run := build("six==1.17.0\n# retire test\n")
	other := build("six==1.17.0\n# retire test, another version\n")
	runDir, otherDir := filepath.Dir(run.VenvDir), filepath.Dir(other.VenvDir)
	before := treeState(t, runDir)
	dir := filepath.Join(cache, "scopes", scope)
	if err := os.MkdirAll(filepath.Join(dir, "tmp", "home-left"), 0o700); err != nil {
		t.Fatal(err)
	}

	keep := func(env string) bool { return env == runDir }
	for range 2 { // again, as after a crash
		if err := b.RetireScope(scope, keep); err != nil {
			t.Fatalf("RetireScope: %v", err)
		}
	}
	if diff := cmp.Diff(before, treeState(t, runDir)); diff != "" {
		t.Errorf("the kept environment changed (-before +after):\n%s", diff)
	}
	for _, gone := range []string{otherDir, filepath.Join(dir, "pip"), filepath.Join(dir, "tmp")} {
		mustNotExist(t, gone)
	}

	linkSharedPipCache(t, cache, scope) // pip's downloads, not the retired scope's
	again := build("six==1.17.0\n# retire test\n")
	if again.CacheHit || again.VenvDir == run.VenvDir {
		t.Errorf("the new app reused the retired scope's environment: CacheHit %v, VenvDir %s", again.CacheHit, again.VenvDir)
	}
	if diff := cmp.Diff(before, treeState(t, runDir)); diff != "" {
		t.Errorf("the new app's build changed the kept environment (-before +after):\n%s", diff)
	}
	if again2 := build("six==1.17.0\n# retire test\n"); !again2.CacheHit || again2.VenvDir != again.VenvDir {
		t.Errorf("the new app does not reuse its own environment: CacheHit %v, VenvDir %s, want %s", again2.CacheHit, again2.VenvDir, again.VenvDir)
	}
	if err := b.RetireScope(PlatformScope, keep); err == nil {
		t.Error("RetireScope retired the platform's scope")
	}
}

// TestScopeGeneration: a scope's generation file is the platform's; one
// that is not a generation fails the build with a message saying so,
// rather than keying environments by whatever it holds.
func TestScopeGeneration(t *testing.T) {
	for _, tt := range []struct {
		name, content string // content "-": no file
		want          string
		ok            bool
	}{
		{"none", "-", "", true},
		{"written", "0123456789abcdef0123456789abcdef\n", "0123456789abcdef0123456789abcdef", true},
		{"damaged", "../../x", "", false},
		{"too long", strings.Repeat("a", 65), "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.content != "-" {
				if err := os.WriteFile(filepath.Join(dir, generationFile), []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := scopeGeneration(dir)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("scopeGeneration = %q, %v; want %q, ok %v", got, err, tt.want, tt.ok)
			}
		})
	}
}
