package store

import (
	"fmt"
	"strings"
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

// TestPlanScaleDownKeepsSlots: App Service refuses to scale a plan down to
// a SKU with fewer deployment slots than its apps have (slots are a
// Standard feature; Basic has none). The plan keeps its SKU, and the
// refusal names the app, its slots and what to do; a SKU with room for
// them is taken.
func TestPlanScaleDownKeepsSlots(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s) // app on plan, B1
	plan, err := s.Plan(ctx, "rg", "plan")
	if err != nil {
		t.Fatal(err)
	}
	plan.SKU, _ = slipway.ParseSKU("S1")
	if _, _, err := s.PutPlan(ctx, plan); err != nil {
		t.Fatal(err)
	}
	for _, slot := range []string{"staging", "qa"} {
		if _, _, err := s.PutSlot(ctx, "rg", "app", slot, slipway.Site{Enabled: true, Config: slipway.SiteConfig{LinuxFxVersion: "PYTHON|3.12"}}, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"B1", "F1", "D1"} {
		down := plan
		down.SKU, _ = slipway.ParseSKU(name)
		_, _, err := s.PutPlan(ctx, down)
		wantCode(t, err, slipway.ECONFLICT)
		if msg := slipway.ErrorMessage(err); !strings.Contains(msg, "'app' has 2 deployment slot(s)") || !strings.Contains(msg, "slot delete") {
			t.Errorf("refusal of %s: %q; want the app, its slots and what to do", name, msg)
		}
		if got, _ := s.Plan(ctx, "rg", "plan"); got.SKU.Name != "S1" {
			t.Fatalf("the plan is %s after a refused scale to %s", got.SKU.Name, name)
		}
	}
	for _, name := range []string{"S2", "P1V3", "S1"} {
		up := plan
		up.SKU, _ = slipway.ParseSKU(name)
		if got, _, err := s.PutPlan(ctx, up); err != nil || !strings.EqualFold(got.SKU.Name, name) {
			t.Fatalf("scale to %s with room for the slots: %+v, %v", name, got.SKU, err)
		}
	}
}

// TestSlotLimitInTheStore: the slot limit is the store's, checked in the
// transaction that adds the slot (as the plan's SKU change checks the
// slots in its own), so that a slot made while the plan scales down is
// either counted by the scale-down or refused itself: none on Basic, four
// besides production on Standard; an existing slot can still be updated.
func TestSlotLimitInTheStore(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s) // B1
	slot := slipway.Site{Enabled: true, Config: slipway.SiteConfig{LinuxFxVersion: "PYTHON|3.12"}}
	_, _, err := s.PutSlot(ctx, "rg", "app", "staging", slot, nil, nil)
	wantCode(t, err, slipway.ECONFLICT)
	plan, _ := s.Plan(ctx, "rg", "plan")
	plan.SKU, _ = slipway.ParseSKU("S1")
	if _, _, err := s.PutPlan(ctx, plan); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if _, _, err := s.PutSlot(ctx, "rg", "app", fmt.Sprint("s", i), slot, nil, nil); err != nil {
			t.Fatalf("slot %d of 4 on Standard: %v", i+1, err)
		}
	}
	_, _, err = s.PutSlot(ctx, "rg", "app", "fifth", slot, nil, nil)
	wantCode(t, err, slipway.ECONFLICT)
	slot.HTTPSOnly = true
	if got, created, err := s.PutSlot(ctx, "rg", "app", "s0", slot, nil, nil); err != nil || created || !got.HTTPSOnly {
		t.Fatalf("updating an existing slot at the limit: %+v, %v, %v", got, created, err)
	}
}

// TestMoveAppWithSlotsNeedsRoomForThem: an app with deployment slots cannot
// be moved to a plan whose SKU allows fewer (App Service keeps slots to
// Standard and up), as its own plan cannot be scaled down below them; the
// app stays where it was, and a plan with room takes it.
func TestMoveAppWithSlotsNeedsRoomForThem(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s) // app on plan, B1
	plan, _ := s.Plan(ctx, "rg", "plan")
	plan.SKU, _ = slipway.ParseSKU("S1")
	if _, _, err := s.PutPlan(ctx, plan); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutSlot(ctx, "rg", "app", "staging", slipway.Site{Enabled: true, Config: slipway.SiteConfig{LinuxFxVersion: "PYTHON|3.12"}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ name, sku string }{{"basic", "B1"}, {"standard", "S1"}} {
		q := slipway.Plan{ResourceGroup: "rg", Name: p.name, Location: plan.Location, Linux: true}
		q.SKU, _ = slipway.ParseSKU(p.sku)
		if _, _, err := s.PutPlan(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	app, err := s.Site(ctx, "rg", "app")
	if err != nil {
		t.Fatal(err)
	}
	moved := app
	moved.Plan = "basic"
	_, _, err = s.PutSiteWithConfig(ctx, moved, nil, nil)
	wantCode(t, err, slipway.ECONFLICT)
	if msg := slipway.ErrorMessage(err); !strings.Contains(msg, "has 1 deployment slot(s)") || !strings.Contains(msg, "slot delete") {
		t.Errorf("refusal: %q; want the slots and what to do", msg)
	}
	if got, _ := s.Site(ctx, "rg", "app"); got.Plan != "plan" {
		t.Fatalf("the app is on %q after a refused move", got.Plan)
	}
	moved.Plan = "standard"
	if got, _, err := s.PutSiteWithConfig(ctx, moved, nil, nil); err != nil || got.Plan != "standard" {
		t.Fatalf("move to a Standard plan: %+v, %v", got.Plan, err)
	}
	// A slot itself moves as any app: the check is the app's slot count.
	slot, err := s.Site(ctx, "rg", "app-staging")
	if err != nil {
		t.Fatal(err)
	}
	slot.Plan = "standard"
	if _, _, err := s.PutSiteWithConfig(ctx, slot, nil, nil); err != nil {
		t.Fatalf("moving the slot: %v", err)
	}
}
