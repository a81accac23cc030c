package deploy

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/slipway-dev/slipway"
)

// TestSiteDeleted_SlotLeavesOnlyArtifactsInUse: every slot's versions lie
// in its app's artifacts directory (docs/slots.md §1), which deleting the
// slot's own directory never touched: each slot created and deleted left
// up to keepDeployments full copies of the app for ever. Deleting a slot
// removes the versions no remaining record names, and their packages — but
// never the version production runs since a swap (it still restarts and
// redeploys), a running deployment's directory, anything that is not a
// deployment's directory, or what a symlink there points at.
func TestSiteDeleted_SlotLeavesOnlyArtifactsInUse(t *testing.T) {
	e := newSwapEnv(t)
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	pkgs := filepath.Join(e.c.cfg.DataDir, "packages")
	must(os.MkdirAll(pkgs, 0o700))
	writePkg := func(sum string) string {
		p := filepath.Join(pkgs, sum+".zip")
		must(os.WriteFile(p, []byte("zip"), 0o600))
		return p
	}

	// Two deployments to the slot; the second swapped into production.
	s1 := e.stored("app-staging", "s1")
	s2 := e.stored("app-staging", "s2")
	pkgS1, pkgS2 := writePkg(s1.PackageSHA256), writePkg(s2.PackageSHA256)
	must(e.st.SetActiveDeployment(ctx, "app-staging", s2.ID))
	must(e.c.Restart(ctx, "rg", "app-staging"))
	if _, err := e.c.Swap(ctx, "rg", "app", "staging", ""); err != nil {
		t.Fatal(err)
	}
	e.want("app", "s2|hello-v2|prod")
	prod, err := e.st.ActiveDeployment(ctx, "app")
	must(err)

	// Another slot's deployment is running: its record exists, its
	// directory is being filled.
	_, _, err = e.st.PutSlot(ctx, "rg", "app", "other", slipway.Site{Enabled: true}, nil, nil)
	must(err)
	other, err := e.st.FindSite(ctx, "app-other")
	must(err)
	running, err := e.st.CreateDeployment(ctx, slipway.Deployment{ID: newID(), Site: "app-other", Status: slipway.DeployBuilding, PackageSHA256: "pkg-running"})
	must(err)
	arts := e.c.artifactsDir(other)
	runningDir := filepath.Join(arts, running.ID)
	must(os.MkdirAll(runningDir, 0o755))
	pkgRunning := writePkg("pkg-running")

	// What is no deployment's directory, and a link out of the directory.
	notes := filepath.Join(arts, "notes")
	must(os.MkdirAll(notes, 0o755))
	outside := t.TempDir()
	must(os.WriteFile(filepath.Join(outside, "keep"), nil, 0o644))
	link := filepath.Join(arts, newID())
	must(os.Symlink(outside, link))

	must(e.st.DeleteSite(ctx, "rg", "app-staging"))
	must(e.c.SiteDeleted(ctx, "rg", "app-staging"))

	for _, gone := range []string{s1.ArtifactDir, pkgS1} {
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Errorf("%s is still there after the slot's deletion (%v): no record names it", gone, err)
		}
	}
	for _, kept := range []string{s2.ArtifactDir, pkgS2, runningDir, pkgRunning, notes, filepath.Join(outside, "keep")} {
		if _, err := os.Stat(kept); err != nil {
			t.Errorf("%s was removed: %v", kept, err)
		}
	}

	// Production still runs, restarts and redeploys the slot's version.
	must(e.c.Restart(ctx, "rg", "app"))
	e.want("app", "s2|hello-v2|prod")
	if got, err := e.redeploy("app", prod.ID, "$app"); err != nil || got.Status != slipway.DeploySuccess {
		t.Fatalf("redeploying production's swapped-in version = %+v, %v", got, err)
	}
	e.want("app", "s2|hello-v2|prod")
}

// TestRecover_RemovesArtifactsNoRecordNames: a server killed between a
// slot's deletion and the removal of its versions finishes it at start.
func TestRecover_RemovesArtifactsNoRecordNames(t *testing.T) {
	e := newSwapEnv(t)
	ctx := t.Context()
	kept := e.stored("app-staging", "kept")
	app, err := e.st.FindSite(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	orphan := filepath.Join(e.c.artifactsDir(app), newID())
	if err := os.MkdirAll(orphan, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("a version no record names survived recovery: %v", err)
	}
	if _, err := ReadArtifact(kept.ArtifactDir); err != nil {
		t.Errorf("recovery removed a slot's version: %v", err)
	}
}
