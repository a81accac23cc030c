package archive

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// makeTree creates files under dir. Keys ending in "/" are folders; values
// starting with "->" are symlinks; "|fifo" makes a named pipe; a key
// ending in "*" is an executable file.
func makeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		exec := strings.HasSuffix(name, "*")
		name = strings.TrimSuffix(name, "*")
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case strings.HasSuffix(name, "/"):
			err = os.MkdirAll(p, 0o755)
		case strings.HasPrefix(body, "->"):
			err = os.Symlink(strings.TrimPrefix(body, "->"), p)
		case body == "|fifo":
			err = syscall.Mkfifo(p, 0o644)
		default:
			perm := fs.FileMode(0o644)
			if exec {
				perm = 0o755
			}
			if err = os.WriteFile(p, []byte(body), perm); err == nil {
				err = os.Chmod(p, perm) // whatever the umask
			}
		}
		if err != nil {
			t.Fatalf("creating %s: %v", name, err)
		}
	}
}

// TestZipProject: Zip leaves out what `az webapp up` leaves out for Python
// (docs/appservice.md §13: folders whose name contains "env", files named
// exactly ".env") plus .git, __pycache__, .azure, node_modules, .venv,
// virtual environments (pyvenv.cfg) and *.pyc; keeps in-tree symlinks; and
// the result round-trips through Extract.
func TestZipProject(t *testing.T) {
	src := filepath.Join(t.TempDir(), "myproject")
	makeTree(t, src, map[string]string{
		"manage.py*":                 "#!/usr/bin/env python\n",
		"requirements.txt":           "Django==5.0\n",
		".env":                       "SECRET_KEY=dev\n",
		".env.example":               "SECRET_KEY=\n", // not exactly ".env": kept
		"mysite/__init__.py":         "",
		"mysite/settings.py":         "DEBUG = False\n",
		"mysite/.env":                "NESTED=1\n",
		"mysite/__pycache__/s.pyc":   "\x00",
		"mysite/old.pyc":             "\x00",
		"mysite/templates/base.html": "<html>",
		"static/":                    "",
		".git/HEAD":                  "ref: refs/heads/main\n",
		"venv/pyvenv.cfg":            "home = /usr/bin\n",
		"venv/lib/site.py":           "",
		".venv/lib/x.py":             "",
		"myvirtual/pyvenv.cfg":       "home = /usr/bin\n", // a venv without "env" in its name
		"myvirtual/bin/python":       "",
		"environment/config.py":      "", // az: name contains "env"
		"prod_env/settings.py":       "",
		"Environment/readme.txt":     "kept: az's rule is case-sensitive",
		"node_modules/x/index.js":    "",
		".azure/config":              "[defaults]\n",
		"inventory/models.py":        "class Item: pass\n", // no "env" substring
		"current":                    "->mysite",
		"settings_link.py":           "->mysite/settings.py",
		"abs_link":                   "->/etc/passwd",
		"outside_link":               "->../elsewhere",
		"venv_python":                "->venv/lib/site.py", // into a skipped folder
		"envlink":                    "->mysite",           // a link to a folder named *env*
		"dangling":                   "->nowhere",
		"pipe":                       "|fifo",
	})
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			os.Chtimes(p, mtime, mtime)
		}
		return nil
	})

	var buf bytes.Buffer
	st, err := Zip(t.Context(), src, &buf)
	if err != nil {
		t.Fatalf("Zip: %v", err)
	}
	wantPaths := []string{
		".env.example",
		"Environment/",
		"Environment/readme.txt",
		"current",
		"inventory/",
		"inventory/models.py",
		"manage.py",
		"mysite/",
		"mysite/__init__.py",
		"mysite/settings.py",
		"mysite/templates/",
		"mysite/templates/base.html",
		"requirements.txt",
		"settings_link.py",
		"static/",
	}
	if diff := cmp.Diff(wantPaths, st.Paths); diff != "" {
		t.Errorf("Paths (-want +got):\n%s", diff)
	}
	wantSkipped := []string{
		".azure/",
		".env",
		".git/",
		".venv/",
		"abs_link",
		"dangling",
		"environment/",
		"envlink",
		"mysite/.env",
		"mysite/__pycache__/",
		"mysite/old.pyc",
		"myvirtual/",
		"node_modules/",
		"outside_link",
		"pipe",
		"prod_env/",
		"venv/",
		"venv_python",
	}
	if diff := cmp.Diff(wantSkipped, st.Skipped); diff != "" {
		t.Errorf("Skipped (-want +got):\n%s", diff)
	}
	// Regular files plus the two kept links; Bytes counts file contents only.
	wantBytes := int64(len("SECRET_KEY=\n" + "kept: az's rule is case-sensitive" + "class Item: pass\n" +
		"#!/usr/bin/env python\n" + "DEBUG = False\n" + "<html>" + "Django==5.0\n"))
	if st.Files != 10 || st.Bytes != wantBytes {
		t.Errorf("Files, Bytes = %d, %d; want 10, %d", st.Files, st.Bytes, wantBytes)
	}

	// Deterministic: zipping again gives the same bytes.
	var again bytes.Buffer
	if _, err := Zip(t.Context(), src, &again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("zipping the same tree twice gave different bytes")
	}

	// Round trip: Extract reproduces the source tree minus what was skipped.
	zipPath := writeBytes(t, buf.Bytes())
	dest := filepath.Join(t.TempDir(), "wwwroot")
	if _, err := Extract(t.Context(), zipPath, dest, DefaultLimits()); err != nil {
		t.Fatalf("Extract(Zip(tree)): %v", err)
	}
	want := listTree(t, src, true)
	for p := range want {
		for _, s := range wantSkipped {
			if p == s || p == strings.TrimSuffix(s, "/") || (strings.HasSuffix(s, "/") && strings.HasPrefix(p, s)) {
				delete(want, p)
			}
		}
	}
	got := listTree(t, dest, true)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-source +extracted):\n%s", diff)
	}
	if n := got["manage.py"]; n.Perm != 0o755 {
		t.Errorf("manage.py perm = %v, want 0755", n.Perm)
	}
}

// TestZipEntryKinds checks the headers Zip writes: folders stored with a
// trailing slash, links with the symlink mode and the target as content,
// files deflated.
func TestZipEntryKinds(t *testing.T) {
	src := t.TempDir()
	makeTree(t, src, map[string]string{"a/b.txt": "hello hello hello", "l": "->a/b.txt"})
	var buf bytes.Buffer
	if _, err := Zip(t.Context(), src, &buf); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	type hdr struct {
		Name   string
		Type   fs.FileMode
		Method uint16
		Body   string
	}
	var got []hdr
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(rc)
		rc.Close()
		got = append(got, hdr{f.Name, f.Mode().Type(), f.Method, b.String()})
	}
	want := []hdr{
		{"a/", fs.ModeDir, zip.Store, ""},
		{"a/b.txt", 0, zip.Deflate, "hello hello hello"},
		{"l", fs.ModeSymlink, zip.Store, "a/b.txt"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

// TestZipErrors: a missing folder, a file, and a cancelled context fail.
func TestZipErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		src  string
		want string
	}{
		{"missing", t.Context(), filepath.Join(dir, "nope"), "no such file"},
		{"file", t.Context(), file, "not a folder"},
		{"cancelled", ctx, dir, context.Canceled.Error()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Zip(tc.ctx, tc.src, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if tc.name == "cancelled" && !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want errors.Is context.Canceled", err)
			}
		})
	}
}
