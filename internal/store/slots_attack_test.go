package store

import (
	"testing"

	"github.com/slipway-dev/slipway"
)

// TestAttack_SwapTargetIsNeverAnotherApp: a swap's source and target are
// looked up as slots of the app in its group (the deploy coordinator's
// SwapSlots, ARM's slotsswap and auto swap go through Slot). A slot name
// that spells another app's row name, that app's name, or a path never
// reaches an app of another group, even when that app is named as a slot
// row of this one would be.
func TestAttack_SwapTargetIsNeverAnotherApp(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seedSKU(t, s, "S1")
	if _, _, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "other", Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	sku, _ := slipway.ParseSKU("B1")
	if _, _, err := s.PutPlan(ctx, slipway.Plan{ResourceGroup: "other", Name: "plan", Location: "westeurope", SKU: sku, Linux: true}); err != nil {
		t.Fatal(err)
	}
	// "app-x" is the row name slot x of app would have.
	for _, name := range []string{"victim", "app-x"} {
		if _, _, err := s.PutSite(ctx, slipway.Site{ResourceGroup: "other", Name: name, Plan: "plan", Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	for _, slot := range []string{"x", "victim", "app-x", "../victim", "/subscriptions/s/resourceGroups/other/providers/Microsoft.Web/sites/victim"} {
		if got, err := s.Slot(ctx, "rg", "app", slot); err == nil {
			t.Errorf("Slot(rg, app, %q) = %s of group %s", slot, got.Name, got.ResourceGroup)
		}
		if err := s.SetAutoSwapSlot(ctx, "rg", "app-x", slot); err == nil {
			t.Errorf("another group's app-x takes auto swap target %q from rg", slot)
		}
	}
	// Nor does a slot PUT of app take over other's app-x.
	if _, _, err := s.PutSlot(ctx, "rg", "app", "x", slipway.Site{Enabled: true}, nil, nil); err == nil {
		t.Errorf("slot x of app created over other's app-x")
	}
	if got, err := s.Site(ctx, "other", "app-x"); err != nil || got.SlotOf != "" {
		t.Errorf("other's app-x after the attempts: %+v, %v", got, err)
	}
}
