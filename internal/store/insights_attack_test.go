package store

import (
	"testing"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/rbac"
)

// TestInsightsComponentFoldTwins: a component's name may hold any letter,
// and role assignments compare scopes with Unicode case folding
// (rbac.ScopeEqual), while SQLite's NOCASE folds ASCII only. Two
// components whose names differ only in a non-ASCII case ("aiſ" and
// "ais", "Éa" and "éa") would be two resources but one scope: a role on
// one would be a role on the other, and a principal with a role on one
// could create the other. The second is refused.
func TestInsightsComponentFoldTwins(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	if _, _, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "rg", Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	for first, twin := range map[string]string{"ais": "aiſ", "éa": "Éa", "k-ai": "\u212a-ai"} {
		if !rbac.ScopeEqual("/components/"+first, "/components/"+twin) {
			t.Fatalf("%q and %q are not one scope", first, twin)
		}
		if _, _, err := s.PutInsightsComponent(ctx, slipway.InsightsComponent{ResourceGroup: "rg", Name: first, Kind: "web", ApplicationType: "web"}); err != nil {
			t.Fatal(err)
		}
		_, created, err := s.PutInsightsComponent(ctx, slipway.InsightsComponent{ResourceGroup: "rg", Name: twin, Kind: "web", ApplicationType: "web"})
		if created || slipway.ErrorCode(err) != slipway.ECONFLICT {
			t.Errorf("%q beside %q: created %v, %v; want a conflict", twin, first, created, err)
		}
	}
	// The same name in another case is the same component, as before.
	if _, created, err := s.PutInsightsComponent(ctx, slipway.InsightsComponent{ResourceGroup: "rg", Name: "AIS", Kind: "web", ApplicationType: "web"}); err != nil || created {
		t.Errorf("AIS: created %v, %v; want ais updated", created, err)
	}
}
