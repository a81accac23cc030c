package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/applog"
	"github.com/slipway-dev/slipway/internal/archive"
	"github.com/slipway-dev/slipway/internal/diskreserve"
)

// TestAttackExtractionFillsTheDisk: a package is extracted into a scratch
// directory beside the platform's own data, outside every quota. The
// package was held to the disk reserve, but what it expands to (up to
// 2 GiB from a package 200 times smaller, once per app at a time) was
// not: a tenant deploying small packages to many apps at once took the
// reserve. Extraction stops at the reserve too: the deployment fails
// saying the server is short of disk space, and leaves nothing behind.
func TestAttackExtractionFillsTheDisk(t *testing.T) {
	st, site, dir := realSite(t)
	c := New(Config{Store: st, Logs: applog.NewHub(applog.Config{}), DataDir: dir,
		Limits:      archive.Limits{MaxRatio: 1 << 20}, // the bytes below are zeros: no zip bomb check in the way
		DiskReserve: diskreserve.Amount{Bytes: 1 << 30},
		FreeSpace: func(string) (diskreserve.Space, error) {
			return diskreserve.Space{Free: 1<<30 + 32<<20, Size: 200 << 30}, nil // 32 MiB above the reserve
		}})
	t.Cleanup(func() { c.Close() })
	pkg := zipOf(t, map[string]string{"app.py": "print('hi')\n", "data.bin": strings.Repeat("\x00", 64<<20)})
	d, err := c.Submit(t.Context(), site, bytes.NewReader(pkg), Options{Deployer: "Push-Deployer"})
	if err != nil {
		t.Fatalf("the package (%d bytes) was refused: %v", len(pkg), err)
	}
	if err := c.Wait(t.Context(), site.Name); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetDeployment(t.Context(), site.Name, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != slipway.DeployFailed || !strings.Contains(got.StatusText, "short of disk space") {
		t.Errorf("deployment %d %q; want failed, saying the server is short of disk space", got.Status, got.StatusText)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "tmp"))
	for _, e := range ents {
		t.Errorf("tmp/%s left behind", e.Name())
	}
}

// TestAttackOverlayFillsTheDisk: with clean=false the active version's
// files the package lacks are copied into the scratch directory beside
// the platform's own data, outside every quota (up to a package's 2 GiB).
// That copy stops at the disk reserve too: the deployment fails saying the
// server is short of disk space, leaves nothing behind, and the active
// version keeps serving.
func TestAttackOverlayFillsTheDisk(t *testing.T) {
	e := newFileEnv(t)
	e.c.cfg.MaxPackage = 1 << 20
	// The active version holds 64 MiB the package lacks (sparse: a size).
	f, err := os.Create(filepath.Join(e.v1.Dir, "data.bin"))
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(64 << 20)
	f.Close()
	e.c.reserve = diskreserve.New(diskreserve.Config{Path: e.c.cfg.DataDir, Reserve: diskreserve.Amount{Bytes: 1 << 30},
		FreeSpace: func(string) (diskreserve.Space, error) {
			return diskreserve.Space{Free: 1<<30 + 32<<20, Size: 200 << 30}, nil // 32 MiB above the reserve
		}})
	d, err := e.c.Submit(t.Context(), e.site, bytes.NewReader(zipOf(t, map[string]string{"robots.txt": "x"})),
		Options{Deployer: "OneDeploy", Restart: true, Overlay: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.c.Wait(t.Context(), "app"); err != nil {
		t.Fatal(err)
	}
	got, err := e.st.GetDeployment(t.Context(), "app", d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != slipway.DeployFailed || !strings.Contains(got.StatusText, "short of disk space") {
		t.Errorf("clean=false deployment %d %q; want failed, saying the server is short of disk space", got.Status, got.StatusText)
	}
	if active, err := e.st.ActiveDeployment(t.Context(), "app"); err != nil || active.ArtifactDir != e.v1.Dir {
		t.Errorf("the active version after the refusal: %q, %v", active.ArtifactDir, err)
	}
	ents, _ := os.ReadDir(filepath.Join(e.c.cfg.DataDir, "tmp"))
	for _, ent := range ents {
		t.Errorf("tmp/%s left behind", ent.Name())
	}
}
