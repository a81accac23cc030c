package deploy

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestSealTreeKeepsReleaseReadable: a sealed release belongs to root, and
// the app, which no longer owns it, reads it as any other user. An entry the
// package gave no access for others (az webapp up zips its own config file,
// mode 0600, with the project) becomes readable, folders and the owner's
// executables usable, and nothing else changes; a symbolic link is left as
// it is, and so is what it points to outside the tree.
func TestSealTreeKeepsReleaseReadable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("sealTree changes nothing without root")
	}
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, e := range []struct {
		name string
		perm fs.FileMode
	}{ // folders before what they hold
		{"app.py", 0o644},
		{".azure", 0o700 | fs.ModeDir},
		{".azure/config", 0o600},
		{"startup.sh", 0o700},
		{"static", 0o750 | fs.ModeDir},
		{"static/site.css", 0o640},
		{"static/shared.sh", 0o755},
	} {
		p := filepath.Join(dir, e.name)
		var err error
		if e.perm.IsDir() {
			err = os.Mkdir(p, 0o700)
		} else {
			err = os.WriteFile(p, []byte("x"), 0o600)
		}
		if err == nil {
			err = os.Chmod(p, e.perm.Perm())
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := sealTree(dir); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]fs.FileMode{
		".":                0o755,
		"app.py":           0o644,
		".azure":           0o755,
		".azure/config":    0o644,
		"startup.sh":       0o755,
		"static":           0o755,
		"static/site.css":  0o644,
		"static/shared.sh": 0o755,
	} {
		info, err := os.Lstat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s: mode %v after sealTree, want %v", name, info.Mode().Perm(), want)
		}
	}
	if info, err := os.Stat(outside); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("the file a link points to outside the tree: %v (%v), want it untouched (0600)", info.Mode(), err)
	}
}
