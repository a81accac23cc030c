package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/slipway-dev/slipway"
)

// TestAttackZipOverlayThroughLinks: a zip deployed with clean=false lands
// on the active version's files, which the app controls (its package, its
// build and its release command chose them). A link there — out of the
// app, up the tree, or inside it — is never written through, nor is a
// file taken for a directory: the deployment fails before anything is
// built, nothing is written outside the new version, and the previous
// version keeps serving.
func TestAttackZipOverlayThroughLinks(t *testing.T) {
	const escape = "slipway-overlay-escape" // a name no test leaves anywhere
	tests := []struct {
		name  string
		link  string // planted in the active version as "planted", "" for none
		files map[string]string
		want  string
	}{
		{"a link out of the app", "OUT", map[string]string{"planted/" + escape: "pwned"}, "symbolic link"},
		{"a link up the tree", "../..", map[string]string{"planted/" + escape: "pwned"}, "symbolic link"},
		{"a link to the root", "/", map[string]string{"planted/etc/" + escape: "pwned"}, "symbolic link"},
		{"a link inside the app", "", map[string]string{"link/" + escape: "pwned"}, "symbolic link"},
		{"a file on the way", "", map[string]string{"keep.txt/x": "pwned"}, "file"},
		{"a file over a directory", "", map[string]string{"sub": "pwned"}, "folder"},
		{"a link the zip leaves alone", "OUT", map[string]string{"version": "v2"}, "outside"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newFileEnv(t)
			if tc.link != "" {
				target := strings.ReplaceAll(tc.link, "OUT", e.out)
				if err := os.Symlink(target, filepath.Join(e.v1.Dir, "planted")); err != nil {
					t.Fatal(err)
				}
			}
			up := filepath.Join(e.v1.Dir, "..", "..", escape)
			d := e.zip(tc.files, true)
			text := d.StatusText + "\n" + e.logText(d.ID)
			if d.Status != slipway.DeployFailed || d.Active || !strings.Contains(d.StatusText, tc.want) {
				t.Errorf("deployment = %+v; want failed, saying %q\n%s", d, tc.want, text)
			}
			if !strings.Contains(text, "The previous version keeps serving.") {
				t.Errorf("the log does not say the previous version serves:\n%s", text)
			}
			for _, p := range []string{e.c.cfg.DataDir, e.v1.Dir} {
				if strings.Contains(text, p) {
					t.Errorf("the deployer is told the server's path %s:\n%s", p, text)
				}
			}
			if ents, _ := os.ReadDir(e.out); len(ents) != 0 {
				t.Errorf("a file was written outside the app: %v", ents)
			}
			for _, p := range []string{filepath.Join(e.v1.Dir, "sub", escape), up, "/etc/" + escape} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("a file was written through the link: %s", p)
				}
			}
			if b, _ := os.ReadFile(filepath.Join(e.v1.Dir, "keep.txt")); string(b) != "kept" {
				t.Errorf("the active version changed: keep.txt = %q", b)
			}
			active, err := e.st.ActiveDeployment(t.Context(), "app")
			if err != nil || active.ArtifactDir != e.v1.Dir {
				t.Errorf("active deployment = %+v, %v; want the previous one", active, err)
			}
			if _, err := os.Stat(d.ArtifactDir); d.ArtifactDir != "" && err == nil {
				t.Errorf("the failed version was kept at %s", d.ArtifactDir)
			}
			e.want("v1||")
		})
	}
}

// TestAttackZipOverlayBounded: each clean=false zip is within the package
// limits, but what it keeps adds up; the union is bounded as a package is,
// so repeated pushes cannot grow a version without end.
func TestAttackZipOverlayBounded(t *testing.T) {
	e := newFileEnv(t)
	e.c.cfg.Limits.MaxFiles = 4 // the zip's file and the active version's four entries are more
	d := e.zip(map[string]string{"new.txt": "x"}, true)
	if d.Status != slipway.DeployFailed || !strings.Contains(d.StatusText, "more than a package may") {
		t.Fatalf("deployment = %+v; want failed for its size", d)
	}
	e.want("v1||")
	if d = e.zip(map[string]string{"version": "v2"}, false); d.Status != slipway.DeploySuccess {
		t.Fatalf("clean deployment within the limits = %+v", d)
	}
}

// TestAttackZipOverlayFillsTheServersDisk: the active version is bounded
// only by the app's /home quota (its release command writes it, up to
// 250 GB on Premium), and clean=false gathers it with the package in the
// deployment's scratch directory on the server's own disk. The union is
// refused once it passes a package's limits — before it is written there,
// never after: the scratch directory here is a small file system of its
// own that holds a package's limits and no more, and the deployment must
// fail for the package's size, not for that file system's ENOSPC.
func TestAttackZipOverlayFillsTheServersDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount the small file system")
	}
	tests := []struct {
		name  string
		limit func(*fileEnv)
		plant func(t *testing.T, dir string) // into the active version
		tmpfs string                         // the scratch file system's size
	}{
		{"bytes", func(e *fileEnv) { e.c.cfg.Limits.MaxTotalBytes = 256 << 10 }, func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "big.bin"), make([]byte, 4<<20), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "size=1m"},
		{"entries", func(e *fileEnv) { e.c.cfg.Limits.MaxFiles = 20 }, func(t *testing.T, dir string) {
			for i := range 500 {
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d", i)), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}, "size=8m,nr_inodes=100"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newFileEnv(t)
			tc.limit(e)
			tc.plant(t, e.v1.Dir)
			scratch := filepath.Join(e.c.cfg.DataDir, "tmp")
			if err := os.MkdirAll(scratch, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mount("tmpfs", scratch, "tmpfs", 0, tc.tmpfs); err != nil {
				t.Skipf("cannot mount a tmpfs: %v", err)
			}
			t.Cleanup(func() { syscall.Unmount(scratch, syscall.MNT_DETACH) })
			d := e.zip(map[string]string{"version": "v2"}, true)
			if d.Status != slipway.DeployFailed || !strings.Contains(d.StatusText, "more than a package may") {
				t.Errorf("deployment = %+v; want failed for its size\n%s", d, e.logText(d.ID))
			}
			e.want("v1||")
		})
	}
}
