package server

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	slipway "github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/homefs"
	"github.com/slipway-dev/slipway/internal/store"
)

// TestAttackBuildStorageOutlivesScaleDown: an app's versions and build
// cache are bounded by its plan's /home quota. A plan scaled down (B1's
// 10 GB to F1's 1 GB) must bound them by the smaller quota from the next
// server start, as it does the app's home — not keep the images at the
// size they had, mounted again at that size at every start for ever.
func TestAttackBuildStorageOutlivesScaleDown(t *testing.T) {
	if ok, why := homefs.Supported(); !ok {
		t.Skip(why)
	}
	ctx := t.Context()
	st := storeWithGroup(t)
	putSites(t, st, "B1", "app")
	b1, _ := slipway.ParseSKU("B1")
	data, cache := t.TempDir(), t.TempDir()
	// What the storage logs (a shrink it could not make, an image still
	// in use) is what a failure of this test needs to say.
	var logged strings.Builder
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logged}, nil))
	t.Cleanup(func() {
		if t.Failed() {
			logMu.Lock()
			t.Logf("the storage's log:\n%s", logged.String())
			logMu.Unlock()
		}
	})
	open := func() *buildStorage {
		t.Helper()
		b, err := newBuildStorage(data, cache, st, log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}
	b := open()
	for _, dir := range []string{b.artifactsDir("app"), b.scopePath("app")} {
		if err := os.MkdirAll(dir, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Artifacts(ctx, "app", b1, b.artifactsDir("app")); err != nil {
		t.Fatal(err)
	}
	if err := b.Scope(ctx, "app", b.scopePath("app")); err != nil {
		t.Fatal(err)
	}
	putSites(t, st, "F1")
	if err := b.Close(); err != nil { // the server stops
		t.Fatal(err)
	}
	b = open()
	b.mountExisting(ctx)
	for _, c := range []struct {
		what string
		h    *homefs.Homes
		dir  string
	}{{"versions", b.versions, b.artifactsDir("app")}, {"build cache", b.scopes, b.scopePath("app")}} {
		_, total, err := c.h.Usage("app", c.dir)
		if err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		if total > 1<<30 {
			t.Errorf("%s: bounded by %.1f GB on F1; want its 1 GB quota", c.what, float64(total)/(1<<30))
		}
	}
}

// storeWithGroup opens a store in a temporary directory holding resource
// group "rg".
func storeWithGroup(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, _, err := st.PutResourceGroup(t.Context(), slipway.ResourceGroup{Name: "rg", Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestAttackBuildCacheOverQuotaStaysUnbounded: a build cache scope that
// holds more than the quota when its image is first made (a server before
// these images: pip's downloads piled up) was left unbounded for ever,
// with a warning — and with it the builds' HOMEs, where a
// PRE_BUILD_COMMAND then writes without end. pip's downloads and old HOMEs
// are a cache and leftovers: they go, and the scope gets its image.
func TestAttackBuildCacheOverQuotaStaysUnbounded(t *testing.T) {
	ctx := t.Context()
	b, _ := newScopeStorage(t, t.TempDir(), "app")
	dir := b.scopePath("app")
	for _, p := range []string{"pip/http/big.bin", "tmp/home-123/big.bin"} {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, 800<<20); err != nil { // sparse
			t.Fatal(err)
		}
	}
	if err := b.Scope(ctx, "app", dir); err != nil {
		t.Fatal(err)
	}
	if _, total, err := b.scopes.Usage("app", dir); err != nil || total > 1<<30 {
		t.Errorf("the app's build cache: %d bytes, %v; want its 1 GB image", total, err)
	}
}

// TestBuildCacheKeepsOnlyWhatVersionsUse: every change of an app's
// requirements adds an environment to its build cache, and none was ever
// removed: bounded now by the app's quota, the cache of an app that
// changes its requirements every week fills in a few months, and from
// then on every build fails with ENOSPC and nothing the app can do clears
// it. An environment no version of any app (a swap moves a slot's
// version, with the environment it names, to its app) refers to goes
// when the next build of its scope begins.
func TestBuildCacheKeepsOnlyWhatVersionsUse(t *testing.T) {
	ctx := t.Context()
	data := t.TempDir()
	b, st := newScopeStorage(t, data, "app", "other")
	dir := b.scopePath("app")
	if err := os.MkdirAll(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := b.Scope(ctx, "app", dir); err != nil {
		t.Fatal(err)
	}
	env := func(key string) string {
		venv := filepath.Join(dir, "venvs", key, "antenv")
		if err := os.MkdirAll(filepath.Join(venv, "lib"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(venv, "lib"), 0o555); err != nil { // sealed
			t.Fatal(err)
		}
		return venv
	}
	version := func(site, venv string) {
		art := filepath.Join(data, "sites", site, "artifacts", filepath.Base(filepath.Dir(venv)))
		if err := os.MkdirAll(art, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := deploy.WriteArtifact(deploy.Artifact{Dir: art, VenvDir: venv}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateDeployment(ctx, slipway.Deployment{Site: site, Status: slipway.DeploySuccess, ArtifactDir: art}); err != nil {
			t.Fatal(err)
		}
	}
	used, swapped, old := env("used"), env("swapped"), env("old")
	version("app", used)
	version("other", swapped)
	if err := b.Scope(ctx, "app", dir); err != nil { // the next build begins
		t.Fatal(err)
	}
	for venv, want := range map[string]bool{used: true, swapped: true, old: false} {
		if _, err := os.Stat(filepath.Dir(venv)); (err == nil) != want {
			t.Errorf("%s: kept = %v; want %v", filepath.Base(filepath.Dir(venv)), err == nil, want)
		}
	}
}

// putSites puts plan "plan" of sku in resource group "rg", and sites on it.
func putSites(t *testing.T, st *store.Store, sku string, sites ...string) {
	t.Helper()
	s, err := slipway.ParseSKU(sku)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.PutPlan(t.Context(), slipway.Plan{ResourceGroup: "rg", Name: "plan", Location: "westeurope", SKU: s, Linux: true}); err != nil {
		t.Fatal(err)
	}
	for _, n := range sites {
		if _, _, err := st.PutSite(t.Context(), slipway.Site{ResourceGroup: "rg", Name: n, Plan: "plan", Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAttackBuildHomeOutlivesItsBuild: a build's HOME is in its scope and
// removed when the build ends — unless the server is killed first. What a
// PRE_BUILD_COMMAND wrote there (up to the quota) then stayed for good,
// and every later build of the app failed with ENOSPC. A build begins
// with no HOME of an earlier one left.
func TestAttackBuildHomeOutlivesItsBuild(t *testing.T) {
	ctx := t.Context()
	b, _ := newScopeStorage(t, t.TempDir(), "app")
	dir := b.scopePath("app")
	if err := os.MkdirAll(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := b.Scope(ctx, "app", dir); err != nil {
		t.Fatal(err)
	}
	left := filepath.Join(dir, "tmp", "home-123", "big.bin")
	if err := os.MkdirAll(filepath.Dir(left), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(left, []byte("filled"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The server is killed; the next build of the app begins.
	if err := b.Scope(ctx, "app", dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Dir(left)); err == nil {
		t.Errorf("the killed build's HOME is still in the app's build cache")
	}
}

// newScopeStorage returns build storage keeping its versions under data,
// with sites on an F1 plan in its store; it skips without images.
func newScopeStorage(t *testing.T, data string, sites ...string) (*buildStorage, *store.Store) {
	t.Helper()
	if ok, why := homefs.Supported(); !ok {
		t.Skip(why)
	}
	st := storeWithGroup(t)
	putSites(t, st, "F1", sites...)
	b, err := newBuildStorage(data, t.TempDir(), st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, st
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
