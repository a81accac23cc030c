package server

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	slipway "github.com/slipway-dev/slipway"
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
	plan := func(name string) slipway.SKU {
		t.Helper()
		sku, err := slipway.ParseSKU(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.PutPlan(ctx, slipway.Plan{ResourceGroup: "rg", Name: "plan", Location: "westeurope", SKU: sku, Linux: true}); err != nil {
			t.Fatal(err)
		}
		return sku
	}
	b1 := plan("B1")
	if _, _, err := st.PutSite(ctx, slipway.Site{ResourceGroup: "rg", Name: "app", Plan: "plan", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	data, cache := t.TempDir(), t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
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
	plan("F1")
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
	if ok, why := homefs.Supported(); !ok {
		t.Skip(why)
	}
	ctx := t.Context()
	st := storeWithGroup(t)
	f1, _ := slipway.ParseSKU("F1")
	if _, _, err := st.PutPlan(ctx, slipway.Plan{ResourceGroup: "rg", Name: "plan", Location: "westeurope", SKU: f1, Linux: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.PutSite(ctx, slipway.Site{ResourceGroup: "rg", Name: "app", Plan: "plan", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	b, err := newBuildStorage(t.TempDir(), t.TempDir(), st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
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
