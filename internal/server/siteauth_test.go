package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/frontdoor"
	"github.com/slipway-dev/slipway/internal/store"
)

// storeWithPlan opens a store in a temporary directory with resource
// group rg and Linux plan "plan" of the SKU.
func storeWithPlan(t *testing.T, skuName string) *store.Store {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, _, err := st.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "rg", Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	sku, _ := slipway.ParseSKU(skuName)
	if _, _, err := st.PutPlan(ctx, slipway.Plan{ResourceGroup: "rg", Name: "plan", Location: "westeurope", SKU: sku, Linux: true}); err != nil {
		t.Fatal(err)
	}
	return st
}

// gateRecorder is a frontdoor.Authenticator that refuses every request
// with 401 and records the settings it was given.
type gateRecorder struct{ got []*slipway.AuthSettings }

func (g *gateRecorder) Authenticate(w http.ResponseWriter, _ *http.Request, _ string, a *slipway.AuthSettings) (http.Header, bool) {
	g.got = append(g.got, a)
	w.WriteHeader(http.StatusUnauthorized)
	return nil, true
}

// TestSiteLookup_CarriesAuthSettings: the authentication settings stored
// for a site reach the front door's gate (SiteState.Auth) from the
// in-memory site table, with no query; a site without them is not gated.
func TestSiteLookup_CarriesAuthSettings(t *testing.T) {
	ctx := t.Context()
	st := storeWithPlan(t, "B1")
	for _, name := range []string{"gated", "open"} {
		if _, _, err := st.PutSite(ctx, slipway.Site{ResourceGroup: "rg", Name: name, Plan: "plan", Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	var a slipway.AuthSettings
	a.Platform.Enabled = true
	a.GlobalValidation.RequireAuthentication = true
	if _, err := st.SetAuthSettings(ctx, "rg", "gated", a, nil); err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer up.Close()
	gate := &gateRecorder{}
	fd := frontdoor.New(frontdoor.Config{Domain: "localhost", Backends: oneBackend(up.URL), Sites: siteLookup{st},
		HostNames: st, SlotRoutes: st, SCM: http.NotFoundHandler(), Auth: gate})
	before := st.Queries()
	for host, want := range map[string]int{"gated.localhost": http.StatusUnauthorized, "open.localhost": http.StatusOK} {
		w := httptest.NewRecorder()
		fd.ServeHTTP(w, httptest.NewRequest("GET", "http://"+host+"/", nil))
		if w.Code != want {
			t.Errorf("%s: %d, want %d", host, w.Code, want)
		}
	}
	if n := st.Queries() - before; n != 0 {
		t.Errorf("gating requests ran %d statements", n)
	}
	if len(gate.got) != 1 || gate.got[0] == nil || !gate.got[0].AuthOn() {
		t.Fatalf("the gate was given %v, want the gated site's settings once", gate.got)
	}
	if s, _ := (siteLookup{st}).SiteState(context.Background(), "open"); s.Auth != nil {
		t.Fatalf("a site without authentication has Auth %+v", s.Auth)
	}
}
