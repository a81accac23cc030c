package server

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	slipway "github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/build"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/homefs"
	"github.com/slipway-dev/slipway/internal/store"
)

// TestDeletedSlotKeepsTheEnvironmentProductionRuns: v2 was built in the
// slot web-staging and swapped into production, which runs it with the
// environment in the slot's build cache scope. Deleting the slot removed
// the scope, environment and all: production's version could start
// again only while a copy of the environment happened to be in its local
// storage. The deleted slot's scope loses everything but that
// environment, and goes once production no longer keeps the version.
func TestDeletedSlotKeepsTheEnvironmentProductionRuns(t *testing.T) {
	for _, images := range []bool{false, true} {
		name := map[bool]string{false: "directories", true: "images"}[images]
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			f := newRetiredScopes(t, images)
			r, st, data := f.r, f.st, f.data
			dir, running := f.slotDeleted(t)
			other := sealedEnv(t, dir, "other")
			for _, p := range []string{"pip/http/wheel", "tmp/home-1/.bashrc"} {
				writeFile(t, filepath.Join(dir, p))
			}

			if err := r.retire(ctx, "web-staging"); err != nil {
				t.Fatalf("retire: %v", err)
			}
			mustExist(t, filepath.Join(running, "bin", "python"), "production's environment")
			for _, gone := range []string{other, filepath.Join(dir, "pip"), filepath.Join(dir, "tmp")} {
				mustBeGone(t, gone)
			}

			// Production deploys v3 from its own scope; v2 is pruned.
			runVersion(t, st, data, "web", sealedEnv(t, f.scope(t, "web"), "v3"))
			if _, err := st.PruneDeployments(ctx, "web", 1); err != nil {
				t.Fatal(err)
			}
			if err := r.sweep(ctx, ""); err != nil { // as the next build begins
				t.Fatalf("sweep: %v", err)
			}
			mustBeGone(t, dir)
			mustBeGone(t, filepath.Join(r.dir, "web-staging"))
			if r.images != nil {
				if imgs, _ := r.images.Images(); imgs["web-staging"] != 0 {
					t.Errorf("the retired scope's image is still there: %v", imgs)
				}
			}
		})
	}
}

// TestRetiredScopeAfterAStop: a deletion cut short by a stop — its scope
// marked retired, nothing of it emptied yet — is finished by the sweep as
// the server starts, keeping what production runs. A new site of the
// deleted one's name then owns the scope, and the sweeps leave it be.
func TestRetiredScopeAfterAStop(t *testing.T) {
	ctx := t.Context()
	f := newRetiredScopes(t, false)
	r, st := f.r, f.st
	dir, running := f.slotDeleted(t)
	writeFile(t, filepath.Join(dir, "pip", "http", "wheel"))
	writeFile(t, filepath.Join(r.dir, "web-staging")) // then the server stopped

	if err := r.sweep(ctx, ""); err != nil {
		t.Fatalf("sweep: %v", err)
	}
	mustExist(t, filepath.Join(running, "bin", "python"), "production's environment")
	mustBeGone(t, filepath.Join(dir, "pip"))
	mustExist(t, filepath.Join(dir, "generation"), "the scope's new generation")

	putSites(t, st, "S1", "web-staging")
	if err := r.sweep(ctx, ""); err != nil {
		t.Fatalf("sweep: %v", err)
	}
	mustBeGone(t, filepath.Join(r.dir, "web-staging"))
	mustExist(t, filepath.Join(running, "bin", "python"), "production's environment")
}

// TestRetiredScopeImageNotMounted: a retired scope whose image did not
// mount shows an empty directory; judged by it, the sweep would delete the
// image with the environment production runs in it. It is left as it is.
func TestRetiredScopeImageNotMounted(t *testing.T) {
	ctx := t.Context()
	f := newRetiredScopes(t, true)
	r := f.r
	dir, running := f.slotDeleted(t)
	if err := r.images.Unmount("web-staging", dir); err != nil {
		t.Fatal(err)
	}
	if err := r.retire(ctx, "web-staging"); err == nil {
		t.Error("retire: no error for a scope whose image is not mounted")
	}
	if _, err := r.images.Ensure(ctx, "web-staging", dir, 1<<30, 0, 0); err != nil {
		t.Fatal(err)
	}
	mustExist(t, filepath.Join(running, "bin", "python"), "production's environment")
}

// scopesFixture is retiredScopes over a new cache, with sites web and
// web-staging on an S1 plan in its store and versions under data.
type scopesFixture struct {
	r    *retiredScopes
	b    *buildStorage // nil without images
	st   *store.Store
	data string
}

// newRetiredScopes returns a scopesFixture; with images, each scope is an
// image (skipped where there are none).
func newRetiredScopes(t *testing.T, images bool) *scopesFixture {
	t.Helper()
	f := &scopesFixture{st: storeWithGroup(t), data: t.TempDir()}
	putSites(t, f.st, "S1", "web", "web-staging")
	cache := t.TempDir()
	builder, err := build.New(build.Config{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	f.r = &retiredScopes{dir: filepath.Join(f.data, "retired-scopes"), cacheDir: cache, builder: builder, store: f.st, logger: slog.New(slog.DiscardHandler)}
	if images {
		if ok, why := homefs.Supported(); !ok {
			t.Skip(why)
		}
		if f.b, err = newBuildStorage(f.data, cache, f.st, f.r.logger); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.b.Close() })
		f.r.images, f.b.retired = f.b.scopes, f.r
	}
	return f
}

// scope returns the directory of the build cache scope, made (with images,
// its image mounted there) as a build of it makes it.
func (f *scopesFixture) scope(t *testing.T, scope string) string {
	t.Helper()
	dir := filepath.Join(f.r.cacheDir, "scopes", scope)
	if f.b != nil {
		if err := f.b.mountScope(context.Background(), scope, dir, 1<<30); err != nil {
			t.Fatal(err)
		}
	} else if err := os.MkdirAll(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	return dir
}

// slotDeleted makes production (web) run a version whose environment was
// built in the scope of web-staging, then deletes web-staging's site row,
// as a slot deleted after a swap. It returns the scope's directory and the
// environment's antenv.
func (f *scopesFixture) slotDeleted(t *testing.T) (dir, running string) {
	t.Helper()
	dir = f.scope(t, "web-staging")
	running = sealedEnv(t, dir, "running")
	runVersion(t, f.st, f.data, "web", running)
	if err := f.st.DeleteSite(t.Context(), "rg", "web-staging"); err != nil {
		t.Fatal(err)
	}
	return dir, running
}

// sealedEnv makes a complete-looking, sealed environment <dir>/venvs/<key>
// and returns its antenv.
func sealedEnv(t *testing.T, dir, key string) string {
	t.Helper()
	venv := filepath.Join(dir, "venvs", key, "antenv")
	writeFile(t, filepath.Join(venv, "bin", "python"))
	for _, d := range []string{filepath.Join(venv, "bin"), venv, filepath.Dir(venv)} {
		if err := os.Chmod(d, 0o555); err != nil {
			t.Fatal(err)
		}
	}
	return venv
}

// runVersion records a successful deployment of site, active, whose
// artifact (under data) names the environment venv.
func runVersion(t *testing.T, st *store.Store, data, site, venv string) {
	t.Helper()
	ctx := t.Context()
	d, err := st.CreateDeployment(ctx, slipway.Deployment{Site: site, Status: slipway.DeploySuccess})
	if err != nil {
		t.Fatal(err)
	}
	d.ArtifactDir = filepath.Join(data, "sites", site, "artifacts", d.ID)
	if err := os.MkdirAll(d.ArtifactDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := deploy.WriteArtifact(deploy.Artifact{Dir: d.ArtifactDir, VenvDir: venv}); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateDeployment(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := st.SetActiveDeployment(ctx, site, d.ID); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustExist(t *testing.T, path, what string) {
	t.Helper()
	if _, err := os.Lstat(path); err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

func mustBeGone(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); err == nil {
		t.Errorf("%s is still there", path)
	}
}
