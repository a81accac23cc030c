package store

import (
	"strings"
	"sync"
	"testing"

	"github.com/slipway-dev/slipway"
)

// TestAttack_PlanMoveRacesSlotCreation: moving an app to a Basic plan (no
// slots) at the same moment as a slot of it is made, or as the target plan
// is scaled down, never ends with the app on a plan that allows fewer
// slots than it has: each check runs in the transaction that writes, so
// one of the two is refused. Found nothing; it pins that.
func TestAttack_PlanMoveRacesSlotCreation(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seedSKU(t, s, "S1")
	seedPlans(t, s, "basic", "B1", "standard", "S1")
	for round := range 20 {
		slot := "s" + strings.Repeat("x", round%3) + string(rune('a'+round))
		target := "basic"
		if round%2 == 1 {
			target = "standard"
		}
		app, err := s.Site(ctx, "rg", "app")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(3)
		go func() {
			defer wg.Done()
			moved := app
			moved.Plan = target
			s.PutSiteWithConfig(ctx, moved, nil, nil) // refused or not: the end state is checked
		}()
		go func() {
			defer wg.Done()
			s.PutSlot(ctx, "rg", "app", slot, slipway.Site{Enabled: true, Config: slipway.SiteConfig{LinuxFxVersion: "PYTHON|3.12"}}, nil, nil)
		}()
		go func() {
			defer wg.Done()
			p, err := s.Plan(ctx, "rg", "standard")
			if err != nil {
				return
			}
			p.SKU, _ = slipway.ParseSKU("B1")
			s.PutPlan(ctx, p)
			p.SKU, _ = slipway.ParseSKU("S1")
			s.PutPlan(ctx, p)
		}()
		wg.Wait()

		app, err = s.Site(ctx, "rg", "app")
		if err != nil {
			t.Fatal(err)
		}
		plan, err := s.Plan(ctx, "rg", app.Plan)
		if err != nil {
			t.Fatal(err)
		}
		slots, err := s.Slots(ctx, "rg", "app")
		if err != nil {
			t.Fatal(err)
		}
		if max, _ := plan.SKU.MaxSlots(); 1+len(slots) > max {
			t.Fatalf("round %d: the app is on %s (%s) with %d slot(s)", round, plan.Name, plan.SKU.Name, len(slots))
		}
		// Back to a Standard plan without slots for the next round.
		for _, sl := range slots {
			if err := s.DeleteSite(ctx, "rg", sl.Name); err != nil {
				t.Fatal(err)
			}
		}
		app.Plan = "plan"
		if _, _, err := s.PutSiteWithConfig(ctx, app, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAttack_SlotOffThePlanEscapesTheSlotRule: slots are a Standard
// feature (an app on Free or Basic has none), and the plan-move check
// counts an app's slots wherever they are. A slot may move to another
// plan of its group, but that must not open a way round the rule: moving
// the slot onto a Free plan, or moving it off its app's plan, scaling that
// plan down to Free, and moving the slot back, left an app with a slot on
// Free. Each step that would leave an app's slots on a plan without room
// for them is refused, naming the app's slots.
func TestAttack_SlotOffThePlanEscapesTheSlotRule(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seedSKU(t, s, "S1")
	seedSlot(t, s)
	seedPlans(t, s, "free", "F1", "standard", "S1")
	slot, err := s.Site(ctx, "rg", "app-staging")
	if err != nil {
		t.Fatal(err)
	}
	// Straight onto Free.
	slot.Plan = "free"
	_, _, err = s.PutSiteWithConfig(ctx, slot, nil, nil)
	wantCode(t, err, slipway.ECONFLICT)
	// Off to another Standard plan: allowed.
	slot.Plan = "standard"
	if _, _, err := s.PutSiteWithConfig(ctx, slot, nil, nil); err != nil {
		t.Fatalf("moving the slot to a Standard plan: %v", err)
	}
	// The app's own plan still has an app with a slot: it stays Standard.
	p, err := s.Plan(ctx, "rg", "plan")
	if err != nil {
		t.Fatal(err)
	}
	p.SKU, _ = slipway.ParseSKU("F1")
	_, _, err = s.PutPlan(ctx, p)
	wantCode(t, err, slipway.ECONFLICT)
	// And the plan the slot went to, as it holds a slot.
	q, err := s.Plan(ctx, "rg", "standard")
	if err != nil {
		t.Fatal(err)
	}
	q.SKU, _ = slipway.ParseSKU("B1")
	_, _, err = s.PutPlan(ctx, q)
	wantCode(t, err, slipway.ECONFLICT)

	app, _ := s.Site(ctx, "rg", "app")
	for _, site := range []slipway.Site{app, slot} {
		pl, err := s.Plan(ctx, "rg", site.Plan)
		if err != nil {
			t.Fatal(err)
		}
		if max, _ := pl.SKU.MaxSlots(); max < 2 {
			t.Errorf("%s is on %s (%s), which allows no slots", site.Name, pl.Name, pl.SKU.Name)
		}
	}
}

// seedPlans adds Linux plans to the group rg, given as name, SKU pairs.
func seedPlans(t *testing.T, s *Store, nameSKU ...string) {
	t.Helper()
	for i := 0; i+1 < len(nameSKU); i += 2 {
		q := slipway.Plan{ResourceGroup: "rg", Name: nameSKU[i], Location: "westeurope", Linux: true}
		q.SKU, _ = slipway.ParseSKU(nameSKU[i+1])
		if _, _, err := s.PutPlan(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
}
