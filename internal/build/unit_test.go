package build

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestManifestGolden pins the oryx-manifest.toml format (docs/appservice.md §3
// "Manifest"). Run with -update to rewrite testdata/manifest.golden.
func TestManifestGolden(t *testing.T) {
	got := manifest(Result{
		PythonVersion: "3.12.1",
		PythonPath:    "/root/.pyenv/versions/3.12.1/bin/python3",
		VenvDir:       "/data/cache/venvs/abc/antenv",
		Django:        true,
		Collectstatic: true,
	}, "0123456789abcdef", `/data/artifacts/my "app"`, "abc")
	golden := filepath.Join("testdata", "manifest.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("manifest (-want +got):\n%s", diff)
	}
}

func TestCopyTree(t *testing.T) {
	t.Run("modes, skipped dirs, inner symlinks, fifos", func(t *testing.T) {
		src := t.TempDir()
		write := func(rel, content string, mode os.FileMode) {
			p := filepath.Join(src, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, mode); err != nil {
				t.Fatal(err)
			}
		}
		write("run.sh", "#!/bin/sh\n", 0o755)
		write("secret.txt", "s", 0o600)
		write("ro/file.txt", "r", 0o644)
		write(".venv/pyvenv.cfg", "home=/x", 0o644)
		write(".venv/lib/x.py", "", 0o644)
		write("antenv/bin/python", "", 0o755)
		write("sub/antenv/keep.txt", "nested antenv is app code", 0o644)
		write("sub/__pycache__/a.pyc", "", 0o644)
		write(".git/config", "", 0o644)
		if err := os.Chmod(filepath.Join(src, "ro"), 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(filepath.Join(src, "ro"), 0o755) }) // so that a non-root TempDir cleanup can remove it
		if err := os.Symlink("../run.sh", filepath.Join(src, "sub", "run-link")); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(filepath.Join(src, "pipe"), 0o644); err != nil {
			t.Fatal(err)
		}
		dst := t.TempDir()
		var skipped []string
		if err := copyTree(context.Background(), src, dst, func(rel string) { skipped = append(skipped, rel) }); err != nil {
			t.Fatal(err)
		}
		want := []string{"ro/", "ro/file.txt", "run.sh", "secret.txt", "sub/", "sub/antenv/", "sub/antenv/keep.txt", "sub/run-link"}
		if diff := cmp.Diff(want, listTree(t, dst)); diff != "" {
			t.Errorf("tree (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"pipe"}, skipped); diff != "" {
			t.Errorf("skipped (-want +got):\n%s", diff)
		}
		for rel, mode := range map[string]os.FileMode{"run.sh": 0o755, "secret.txt": 0o600, "ro": 0o755 /* u+rwx kept so the build can write */} {
			fi, err := os.Stat(filepath.Join(dst, rel))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != mode {
				t.Errorf("%s mode = %o, want %o", rel, fi.Mode().Perm(), mode)
			}
		}
		if l, _ := os.Readlink(filepath.Join(dst, "sub", "run-link")); l != "../run.sh" {
			t.Errorf("sub/run-link = %q, want ../run.sh", l)
		}
	})

	for _, link := range []string{"/etc/passwd", "../../outside", "../a/../../x"} {
		t.Run("symlink escaping the tree: "+link, func(t *testing.T) {
			src := t.TempDir()
			if err := os.Mkdir(filepath.Join(src, "d"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(link, filepath.Join(src, "d", "evil")); err != nil {
				t.Fatal(err)
			}
			err := copyTree(context.Background(), src, t.TempDir(), nil)
			if err == nil || !strings.Contains(err.Error(), "points outside the tree") {
				t.Fatalf("err = %v, want a symlink-escape error", err)
			}
		})
	}
}

func TestReadLocalConfined(t *testing.T) {
	root := t.TempDir()
	if err := os.Symlink("/etc/hostname", filepath.Join(root, "requirements.txt")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readLocal(root, "requirements.txt"); err == nil {
		t.Error("readLocal followed a symlink out of the root")
	}
	if _, _, err := readLocal(root, "../x"); err == nil {
		t.Error("readLocal accepted ../x")
	}
	if _, ok, err := readLocal(root, "missing.txt"); ok || err != nil {
		t.Errorf("missing file: ok=%v err=%v, want false, nil", ok, err)
	}
}

func TestCommandEnv(t *testing.T) {
	t.Setenv("SLIPWAY_SERVER_ONLY", "leak")
	got := commandEnv(map[string]string{
		"DJANGO_SETTINGS_MODULE": "mysite.settings",
		"PATH":                   "/evil",
		"HOME":                   "/evil",
		"BAD=NAME":               "x",
		"":                       "x",
		"LANG":                   "de_DE.UTF-8",
	}, searchPath("/app/antenv/bin", "/py/bin"), "/home/build", "VIRTUAL_ENV=/app/antenv")
	want := []string{
		"LANG=C.UTF-8",
		"PYTHONUNBUFFERED=1",
		"PIP_DISABLE_PIP_VERSION_CHECK=1",
		"PIP_NO_INPUT=1",
		"DJANGO_SETTINGS_MODULE=mysite.settings",
		"LANG=de_DE.UTF-8", // a setting overrides the default (later entries win in exec)
		"PATH=/app/antenv/bin:/py/bin:/usr/local/bin:/usr/bin:/bin",
		"HOME=/home/build",
		"VIRTUAL_ENV=/app/antenv",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
}

func TestEnvKey(t *testing.T) {
	base := envSpec{Interp: Interpreter{Version: "3.12.1", Path: "/py/3.12.1/bin/python3"}, Mode: depsRequirements,
		ReqFile: "requirements.txt", ReqText: "six\n"}
	key := base.key()
	changed := map[string]envSpec{}
	s := base
	s.ReqText = "six==1.16.0\n"
	changed["requirements"] = s
	s = base
	s.Interp.Version = "3.12.2"
	changed["python version"] = s
	s = base
	s.Interp.Path = "/other/python3"
	changed["python path"] = s
	s = base
	s.PipEnv = []string{"PIP_INDEX_URL=https://example.invalid/simple"}
	changed["pip settings"] = s
	s = base
	s.Project = "tree"
	changed["project tree"] = s
	for name, spec := range changed {
		if spec.key() == key {
			t.Errorf("changing %s did not change the key", name)
		}
	}
	if base.key() != key {
		t.Error("key is not deterministic")
	}
	if got := pipSettings(map[string]string{"PIP_INDEX_URL": "u", "OTHER": "x", "pip_extra_index_url": "v"}); !slices.Equal(got, []string{"PIP_INDEX_URL=u", "pip_extra_index_url=v"}) {
		t.Errorf("pipSettings = %v", got)
	}
}

func TestRequirementsUseLocalFiles(t *testing.T) {
	tests := []struct {
		text            string
		local, editable bool
	}{
		{"six==1.17.0\nDjango>=5\n# -r commented\n", false, false},
		{"-r base.txt\n", true, false},
		{"--requirement=base.txt\n", true, false},
		{"-c constraints.txt\nsix\n", true, false},
		{"./vendor/pkg.whl\n", true, false},
		{"mypkg @ file:///app/vendor/mypkg\n", true, false},
		{"-e .\n", true, true},
		{"--editable ./lib\n", true, true},
	}
	for _, tt := range tests {
		local, editable := requirementsUseLocalFiles(tt.text)
		if local != tt.local || editable != tt.editable {
			t.Errorf("%q: local=%v editable=%v, want %v %v", tt.text, local, editable, tt.local, tt.editable)
		}
	}
}

func TestLineLog(t *testing.T) {
	var out bytes.Buffer
	n := 0
	l := newLineLog(&out, func() string { n++; return "> " })
	for _, chunk := range []string{"one\ntw", "o\r\n", "three"} {
		if _, err := l.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff("> one\n> two\n", out.String()); diff != "" {
		t.Errorf("before flush (-want +got):\n%s", diff)
	}
	l.Flush()
	if diff := cmp.Diff("> one\n> two\n> three\n", out.String()); diff != "" {
		t.Errorf("after flush (-want +got):\n%s", diff)
	}
	for i := range 20 {
		l.Write([]byte(strings.Repeat("x", i) + "\n"))
	}
	tail := l.Tail()
	if len(tail) != maxTail || tail[len(tail)-1] != strings.Repeat("x", 19) {
		t.Errorf("tail = %q, want the last %d lines", tail, maxTail)
	}
}
