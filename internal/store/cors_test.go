package store

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
)

// TestCORS_Persist: a site's platform CORS is stored with it, survives a
// reopen and reaches the in-memory routing table compiled; each slot has
// its own, which a swap leaves where it is (App Service does not swap
// CORS, docs/appservice.md §6); what the domain refuses is not stored; a
// column that cannot be read allows no origin.
func TestCORS_Persist(t *testing.T) {
	s, dir := openTest(t)
	ctx := t.Context()
	site := seedSKU(t, s, "S1")
	if r, _ := s.SiteRouting("app"); r.CORS != nil {
		t.Fatal("a site without CORS has a CORS policy")
	}
	want := slipway.CORS{AllowedOrigins: []string{"https://Example.com", "http://localhost:5000"}, SupportCredentials: true}
	site.CORS = want
	if _, _, err := s.PutSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutSlot(ctx, "rg", "app", "staging", slipway.Site{Enabled: true,
		CORS: slipway.CORS{AllowedOrigins: []string{"https://staging.test"}}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	check := func(s *Store, step string) {
		t.Helper()
		got, err := s.Site(ctx, "rg", "app")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got.CORS); diff != "" {
			t.Errorf("%s: stored CORS (-want +got):\n%s", step, diff)
		}
		before := s.Queries()
		r, _ := s.SiteRouting("app")
		slot, _ := s.SiteRouting(slipway.SlotSiteName("app", "staging"))
		if !r.CORS.AllowsOrigin("https://example.com") || !r.CORS.Credentials() || r.CORS.AllowsOrigin("https://staging.test") {
			t.Errorf("%s: the app's routing CORS: %+v", step, r.CORS)
		}
		if !slot.CORS.AllowsOrigin("https://staging.test") || slot.CORS.AllowsOrigin("https://example.com") || slot.CORS.Credentials() {
			t.Errorf("%s: the slot's routing CORS: %+v", step, slot.CORS)
		}
		if n := s.Queries() - before; n != 0 {
			t.Errorf("%s: SiteRouting ran %d statements", step, n)
		}
	}
	check(s, "stored")

	if _, _, err := s.CommitSwap(ctx, "app", slipway.SlotSiteName("app", "staging"), "app"); err != nil {
		t.Fatal(err)
	}
	check(s, "after a swap")

	s.Close()
	s2, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	check(s2, "reopened")

	site.CORS = slipway.CORS{AllowedOrigins: []string{"*"}, SupportCredentials: true}
	if _, _, err := s2.PutSite(ctx, site); slipway.ErrorCode(err) != slipway.EINVALID {
		t.Errorf("PutSite with '*' and credentials: %v, want EINVALID", err)
	}
	check(s2, "after a refused write")

	// Emptied, the site has no CORS again.
	site.CORS = slipway.CORS{}
	if _, _, err := s2.PutSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	if r, _ := s2.SiteRouting("app"); r.CORS != nil {
		t.Error("a site whose origins were all removed still has a CORS policy")
	}

	// A column that cannot be read fails closed: no origin is allowed.
	if _, err := s2.write.ExecContext(ctx, `UPDATE sites SET cors = '{"allowedOrigins":' WHERE name = 'app'`); err != nil {
		t.Fatal(err)
	}
	if err := s2.loadSiteIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := s2.SiteRouting("app"); r.CORS == nil || r.CORS.AllowsOrigin("https://example.com") {
		t.Errorf("an unreadable CORS column gives %+v; want a policy that allows nothing", r.CORS)
	}
}
