package deploy

import (
	"strings"
	"testing"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/applog"
	"github.com/slipway-dev/slipway/internal/diskreserve"
	"github.com/slipway-dev/slipway/internal/store"
)

// TestAttackFailedPushesPileUp: old deployments were pruned only when one
// succeeded, so a tenant pushing packages that fail — a few bytes that are
// no zip, each recorded with its log and up to a megabyte of author and
// message from the query string; or a release command printing 16 MB
// before it fails — added to the platform's database without end. A
// failed deployment prunes too: the failed ones kept are bounded.
func TestAttackFailedPushesPileUp(t *testing.T) {
	ctx := t.Context()
	st, site, dir := realSite(t)
	c := New(Config{Store: st, Logs: applog.NewHub(applog.Config{}), DataDir: dir,
		FreeSpace: func(string) (diskreserve.Space, error) {
			return diskreserve.Space{Free: 100 << 30, Size: 200 << 30}, nil
		}})
	t.Cleanup(func() { c.Close() })
	const pushes = 2*keepDeployments + 5
	for i := range pushes {
		d, err := c.Submit(ctx, site, strings.NewReader("not a zip"), Options{Deployer: "Push-Deployer", Message: strings.Repeat("m", 64<<10)})
		if err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
		if err := c.Wait(ctx, site.Name); err != nil {
			t.Fatal(err)
		}
		if got, err := st.GetDeployment(ctx, site.Name, d.ID); err != nil || got.Status != slipway.DeployFailed {
			t.Fatalf("push %d: %+v, %v; want a failed deployment", i, got.Status, err)
		}
	}
	ds, err := st.ListDeployments(ctx, site.Name)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) > keepDeployments {
		t.Errorf("%d failed pushes left %d deployment records; want at most %d", pushes, len(ds), keepDeployments)
	}
}

// realSite opens the real store in a temporary directory, also the data
// directory, with the enabled site "app" of group "rg" on a B1 plan.
func realSite(t *testing.T) (*store.Store, slipway.Site, string) {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	st, err := store.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, seedSite(t, st, "B1"), dir
}

// seedSite stores the resource group "rg", its plan "plan" of the SKU
// named sku and the enabled site "app" on it.
func seedSite(t *testing.T, st *store.Store, sku string) slipway.Site {
	t.Helper()
	ctx := t.Context()
	if _, _, err := st.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "rg", Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	s, _ := slipway.ParseSKU(sku)
	if _, _, err := st.PutPlan(ctx, slipway.Plan{ResourceGroup: "rg", Name: "plan", Location: "westeurope", SKU: s, Linux: true}); err != nil {
		t.Fatal(err)
	}
	site, _, err := st.PutSite(ctx, slipway.Site{ResourceGroup: "rg", Name: "app", Plan: "plan", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	return site
}
