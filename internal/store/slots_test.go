package store

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
)

// seedSlot adds slot "staging" to seed's app.
func seedSlot(t *testing.T, s *Store) slipway.Site {
	t.Helper()
	sl, created, err := s.PutSlot(t.Context(), "rg", "app", "staging", slipway.Site{Enabled: true, Config: slipway.SiteConfig{LinuxFxVersion: "PYTHON|3.12"}}, nil, nil)
	if err != nil || !created {
		t.Fatalf("PutSlot = %v, %v", created, err)
	}
	return sl
}

func TestSlots_AreSiteRowsOfTheirApp(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seedSKU(t, s, "S1")
	sl := seedSlot(t, s)
	if sl.Name != "app-staging" || sl.SlotOf != "app" || sl.Slot != "staging" || sl.Plan != "plan" {
		t.Fatalf("slot = %+v", sl)
	}
	got, err := s.Slot(ctx, "RG", "APP", "Staging")
	if err != nil || got.Name != "app-staging" {
		t.Fatalf("Slot = %+v, %v", got, err)
	}
	// The slot's host label is taken: no app may use it, and the slot's
	// row cannot be turned into a production site by a site PUT.
	_, _, err = s.PutSite(ctx, slipway.Site{ResourceGroup: "rg", Name: "app-staging", Plan: "plan"})
	wantCode(t, err, slipway.ECONFLICT)
	// A slot of a slot, a bad name and a missing app are refused.
	_, _, err = s.PutSlot(ctx, "rg", "app-staging", "x", slipway.Site{}, nil, nil)
	wantCode(t, err, slipway.ENOTFOUND)
	_, _, err = s.PutSlot(ctx, "rg", "app", "production", slipway.Site{}, nil, nil)
	wantCode(t, err, slipway.EINVALID)
	_, _, err = s.PutSlot(ctx, "rg", "app", "../x", slipway.Site{}, nil, nil)
	wantCode(t, err, slipway.EINVALID)
	_, _, err = s.PutSlot(ctx, "rg", "nope", "staging", slipway.Site{}, nil, nil)
	wantCode(t, err, slipway.ENOTFOUND)
	_, err = s.Slot(ctx, "rg", "app", "nope")
	wantCode(t, err, slipway.ENOTFOUND)

	user, _, err := s.PublishingCredentials(ctx, "rg", "app-staging")
	if err != nil || user != "$app__staging" {
		t.Fatalf("slot publishing user = %q, %v; want $app__staging", user, err)
	}
	list, err := s.Slots(ctx, "rg", "app")
	if err != nil || len(list) != 1 || list[0].Name != "app-staging" {
		t.Fatalf("Slots = %+v, %v", list, err)
	}
	// Deleting the app deletes its slots.
	if err := s.DeleteSite(ctx, "rg", "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FindSite(ctx, "app-staging"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Fatalf("slot survived its app: %v", err)
	}
	if _, ok := s.SlotRoute("app"); ok {
		t.Fatal("routing table still has the deleted app")
	}
}

func TestCommitSwap_ExchangesContentAndNonStickySettings(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seedSKU(t, s, "S1")
	seedSlot(t, s)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.SetSettings(ctx, "rg", "app", map[string]string{"GREETING": "v1", "ENV_NAME": "prod", "DB": "prod-db"}))
	must(s.SetSettings(ctx, "rg", "app-staging", map[string]string{"GREETING": "v2", "ENV_NAME": "staging", "NEW": "x"}))
	must(s.SetConnectionStrings(ctx, "rg", "app", map[string]slipway.ConnectionString{"main": {Value: "p", Type: "PostgreSQL"}}))
	must(s.SetSlotConfigNames(ctx, "rg", "app", []string{"ENV_NAME", "DB"}, []string{"main"}))
	mk := func(site, dir string) slipway.Deployment {
		d, err := s.CreateDeployment(ctx, slipway.Deployment{Site: site, Status: slipway.DeploySuccess, ArtifactDir: dir})
		must(err)
		must(s.SetActiveDeployment(ctx, site, d.ID))
		return d
	}
	mk("app", "/art/v1")
	mk("app-staging", "/art/v2")

	must(s.BeginSwap(ctx, slipway.Swap{App: "app", Source: "app-staging", Target: "app", Phase: slipway.SwapWarming}))
	// Another swap of the app is refused while this one runs.
	wantCode(t, s.BeginSwap(ctx, slipway.Swap{App: "app", Source: "app", Target: "app-staging", Phase: slipway.SwapWarming}), slipway.ECONFLICT)

	newSrc, newDst, err := s.CommitSwap(ctx, "app", "app-staging", "app")
	must(err)
	if newSrc.ArtifactDir != "/art/v1" || newDst.ArtifactDir != "/art/v2" || newDst.Deployer != "Swap" {
		t.Fatalf("new active deployments: source %+v, target %+v", newSrc, newDst)
	}
	prod, _ := s.Settings(ctx, "rg", "app")
	stg, _ := s.Settings(ctx, "rg", "app-staging")
	if d := cmp.Diff(map[string]string{"GREETING": "v2", "NEW": "x", "ENV_NAME": "prod", "DB": "prod-db"}, prod); d != "" {
		t.Errorf("production settings after swap (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]string{"GREETING": "v1", "ENV_NAME": "staging"}, stg); d != "" {
		t.Errorf("staging settings after swap (-want +got):\n%s", d)
	}
	if cs, _ := s.ConnectionStrings(ctx, "rg", "app"); cs["main"].Value != "p" {
		t.Errorf("sticky connection string moved: %+v", cs)
	}
	a, _ := s.ActiveDeployment(ctx, "app")
	b, _ := s.ActiveDeployment(ctx, "app-staging")
	if a.ArtifactDir != "/art/v2" || b.ArtifactDir != "/art/v1" {
		t.Fatalf("active artifacts: prod %q, staging %q", a.ArtifactDir, b.ArtifactDir)
	}
	if _, err := s.Swap(ctx, "app"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Fatalf("swap record survived its commit: %v", err)
	}
	// Swap back restores the first pairing.
	must(s.BeginSwap(ctx, slipway.Swap{App: "app", Source: "app-staging", Target: "app", Phase: slipway.SwapWarming}))
	_, _, err = s.CommitSwap(ctx, "app", "app-staging", "app")
	must(err)
	prod, _ = s.Settings(ctx, "rg", "app")
	a, _ = s.ActiveDeployment(ctx, "app")
	if prod["GREETING"] != "v1" || prod["ENV_NAME"] != "prod" || a.ArtifactDir != "/art/v1" {
		t.Fatalf("after swap back: %v, %q", prod, a.ArtifactDir)
	}
	// Pruning never hands out an artifact another record still runs.
	for range 3 {
		mk("app-staging", "/art/other")
	}
	pruned, err := s.PruneDeployments(ctx, "app-staging", 1)
	must(err)
	for _, d := range pruned {
		if d.ArtifactDir == "/art/v1" || d.ArtifactDir == "/art/v2" || d.ArtifactDir == "/art/other" {
			t.Errorf("pruned %s hands out artifact %s that is still in use", d.ID, d.ArtifactDir)
		}
	}
}

func TestSwap_PhasesAndPairs(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seedSKU(t, s, "S1")
	seedSlot(t, s)
	wantCode(t, s.BeginSwap(ctx, slipway.Swap{App: "app", Source: "app", Target: "app", Phase: slipway.SwapPreview}), slipway.EINVALID)
	wantCode(t, s.BeginSwap(ctx, slipway.Swap{App: "app", Source: "app-staging", Target: "app", Phase: "bogus"}), slipway.EINVALID)
	if err := s.BeginSwap(ctx, slipway.Swap{App: "app", Source: "app-staging", Target: "app", Phase: slipway.SwapPreview}); err != nil {
		t.Fatal(err)
	}
	// preview → warming for the same pair.
	if err := s.BeginSwap(ctx, slipway.Swap{App: "app", Source: "app-staging", Target: "app", Phase: slipway.SwapWarming}); err != nil {
		t.Fatal(err)
	}
	sws, err := s.Swaps(ctx)
	if err != nil || len(sws) != 1 || sws[0].Phase != slipway.SwapWarming || sws[0].Source != "app-staging" {
		t.Fatalf("Swaps = %+v, %v", sws, err)
	}
	if err := s.EndSwap(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if sws, _ := s.Swaps(ctx); len(sws) != 0 {
		t.Fatalf("swap not ended: %+v", sws)
	}
}

func TestRampUpRules_AndRoutingTable(t *testing.T) {
	s, dir := openTest(t)
	ctx := t.Context()
	seedSKU(t, s, "S1")
	seedSlot(t, s)
	wantCode(t, s.SetRampUpRules(ctx, "rg", "app", []slipway.RampUpRule{{Slot: "nope", Percent: 10}}), slipway.ENOTFOUND)
	wantCode(t, s.SetRampUpRules(ctx, "rg", "app", []slipway.RampUpRule{{Slot: "staging", Percent: 120}}), slipway.EINVALID)
	wantCode(t, s.SetRampUpRules(ctx, "rg", "app-staging", []slipway.RampUpRule{{Slot: "staging", Percent: 1}}), slipway.ENOTFOUND) // a slot is no app
	if err := s.SetRampUpRules(ctx, "rg", "app", []slipway.RampUpRule{{Slot: "Staging", Percent: 20}}); err != nil {
		t.Fatal(err)
	}
	want := slipway.SlotRoutes{Rules: []slipway.RampUpRule{{Slot: "staging", Percent: 20}}, Slots: map[string]string{"staging": "app-staging"}}
	got, ok := s.SlotRoute("APP")
	if d := cmp.Diff(want, got); !ok || d != "" {
		t.Fatalf("SlotRoute (-want +got):\n%s", d)
	}
	// The table is rebuilt from the database at open.
	s2, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got, _ := s2.SlotRoute("app"); cmp.Diff(want, got) != "" {
		t.Fatalf("routing table after reopen: %+v", got)
	}
	if err := s.SetAutoSwapSlot(ctx, "rg", "app", "staging"); slipway.ErrorCode(err) != slipway.EINVALID {
		t.Fatalf("auto swap on production: %v", err)
	}
	if err := s.SetAutoSwapSlot(ctx, "rg", "app-staging", "production"); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.AutoSwapSlot(ctx, "rg", "app-staging"); v != "production" {
		t.Fatalf("AutoSwapSlot = %q", v)
	}
	// Deleting the slot takes it out of the table.
	if err := s.DeleteSite(ctx, "rg", "app-staging"); err != nil {
		t.Fatal(err)
	}
	if r, ok := s.SlotRoute("app"); ok {
		t.Fatalf("deleted slot still routed: %+v", r)
	}
}

// TestCommitSwap_WebSocketsMoveWithTheContent: the web sockets setting is a
// general setting that App Service swaps with the content
// (https://learn.microsoft.com/azure/app-service/deploy-staging-slots#which-settings-are-swapped),
// and the front door's routing table follows at once.
func TestCommitSwap_WebSocketsMoveWithTheContent(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seedSKU(t, s, "S1")
	seedSlot(t, s)
	stg, err := s.Site(ctx, "rg", "app-staging")
	if err != nil {
		t.Fatal(err)
	}
	stg.Config.WebSocketsOff = true
	if _, _, err := s.PutSiteWithConfig(ctx, stg, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.BeginSwap(ctx, slipway.Swap{App: "app", Source: "app-staging", Target: "app", Phase: slipway.SwapWarming}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CommitSwap(ctx, "app", "app-staging", "app"); err != nil {
		t.Fatal(err)
	}
	prod, _ := s.Site(ctx, "rg", "app")
	stg, _ = s.Site(ctx, "rg", "app-staging")
	if !prod.Config.WebSocketsOff || stg.Config.WebSocketsOff {
		t.Errorf("after the swap: production WebSocketsOff=%v, staging %v; want true, false", prod.Config.WebSocketsOff, stg.Config.WebSocketsOff)
	}
	if r, _ := s.SiteRouting("app"); !r.WebSocketsOff {
		t.Error("the routing table still passes WebSockets to production")
	}
}
