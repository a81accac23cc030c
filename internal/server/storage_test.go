package server

import (
	"io"
	"log/slog"
	"os"
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
