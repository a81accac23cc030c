package archive

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// python3 returns the path of python3, skipping locally (failing in CI)
// when it is missing.
func python3(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	if err != nil {
		requireCI(t, "python3 not found on PATH (CI installs it)")
	}
	return p
}

// azZipScript builds a zip the way `az webapp up` does for Python
// (azure-cli _create_util.zip_contents_from_dir: os.walk, skip folders whose
// name contains "env", skip files named ".env", zipfile.ZIP_DEFLATED).
const azZipScript = `
import os, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
abs_src = os.path.abspath(src)
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
    for dirname, subdirs, files in os.walk(src):
        subdirs[:] = [d for d in subdirs if 'env' not in d]
        for filename in files:
            if filename == '.env':
                continue
            absname = os.path.abspath(os.path.join(dirname, filename))
            zf.write(absname, absname[len(abs_src) + 1:])
`

// TestExtractAzWebappUpZip: a zip made by az's own algorithm with Python's
// zipfile extracts, with executable bits kept.
func TestExtractAzWebappUpZip(t *testing.T) {
	py := python3(t)
	src := t.TempDir()
	makeTree(t, src, map[string]string{
		"manage.py*":         "#!/usr/bin/env python\n",
		"mysite/settings.py": "DEBUG = False\n",
		".env":               "SECRET=1\n",
		"venv/pyvenv.cfg":    "home = /usr/bin\n",
	})
	zipPath := filepath.Join(t.TempDir(), "az.zip")
	cmd := exec.CommandContext(t.Context(), py, "-c", azZipScript, src, zipPath)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("python zip: %v\n%s", err, out)
	}
	dest := filepath.Join(t.TempDir(), "wwwroot")
	if _, err := Extract(t.Context(), zipPath, dest, DefaultLimits()); err != nil {
		t.Fatalf("Extract: %v", err)
	}
	want := map[string]node{
		"manage.py":          {Type: "file", Perm: 0o755, Body: "#!/usr/bin/env python\n"},
		"mysite":             {Type: "dir", Perm: 0o755},
		"mysite/settings.py": {Type: "file", Perm: 0o644, Body: "DEBUG = False\n"},
	}
	if diff := cmp.Diff(want, listTree(t, dest, false)); diff != "" {
		t.Errorf("extracted (-want +got):\n%s", diff)
	}
}

// TestZipReadableByPython: Python's zipfile (an independent reader) finds
// Zip's output intact and sees the symlink and executable modes.
func TestZipReadableByPython(t *testing.T) {
	py := python3(t)
	src := t.TempDir()
	makeTree(t, src, map[string]string{
		"manage.py*":         "#!/usr/bin/env python\n",
		"mysite/settings.py": strings.Repeat("X = 1\n", 1000),
		"current":            "->mysite",
	})
	var buf bytes.Buffer
	if _, err := Zip(t.Context(), src, &buf); err != nil {
		t.Fatal(err)
	}
	zipPath := filepath.Join(t.TempDir(), "out.zip")
	if err := os.WriteFile(zipPath, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	const script = `
import stat, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as zf:
    bad = zf.testzip()
    if bad:
        sys.exit("corrupt member " + bad)
    for i in zf.infolist():
        mode = i.external_attr >> 16
        kind = "link" if stat.S_ISLNK(mode) else "dir" if i.is_dir() else "file"
        print(i.filename, kind, oct(stat.S_IMODE(mode)), len(zf.read(i)))
`
	out, err := exec.CommandContext(t.Context(), py, "-c", script, zipPath).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	want := strings.Join([]string{
		"current link 0o777 6",
		"manage.py file 0o755 22",
		"mysite/ dir 0o755 0",
		"mysite/settings.py file 0o644 6000",
		"",
	}, "\n")
	if diff := cmp.Diff(want, string(out)); diff != "" {
		t.Errorf("python's view (-want +got):\n%s", diff)
	}
}
