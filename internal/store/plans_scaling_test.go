package store

import (
	"testing"

	"github.com/slipway-dev/slipway"
)

// A plan's perSiteScaling is stored: it survives a reopen and an update
// can turn it off again.
func TestPlanPerSiteScaling(t *testing.T) {
	s, dir := openTest(t)
	ctx := t.Context()
	if _, _, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "rg", Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	sku, _ := slipway.ParseSKU("S1")
	p, _, err := s.PutPlan(ctx, slipway.Plan{ResourceGroup: "rg", Name: "plan", SKU: sku, Linux: true, PerSiteScaling: true})
	if err != nil || !p.PerSiteScaling {
		t.Fatalf("create: %+v %v", p, err)
	}
	s.Close()
	s2, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got, err := s2.Plan(ctx, "rg", "plan"); err != nil || !got.PerSiteScaling {
		t.Fatalf("after a reopen: %+v %v", got, err)
	}
	if all, err := s2.Plans(ctx, "rg"); err != nil || len(all) != 1 || !all[0].PerSiteScaling {
		t.Fatalf("list: %+v %v", all, err)
	}
	p.PerSiteScaling = false
	if out, _, err := s2.PutPlan(ctx, p); err != nil || out.PerSiteScaling {
		t.Fatalf("update: %+v %v", out, err)
	}
	if got, _ := s2.Plan(ctx, "rg", "plan"); got.PerSiteScaling {
		t.Fatal("perSiteScaling still on after the update")
	}
}
