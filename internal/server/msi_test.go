package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/arm"
	"github.com/slipway-dev/slipway/internal/identity"
	"github.com/slipway-dev/slipway/internal/store"
)

// msiFixture is a store with site "app" that has a system-assigned and a
// user-assigned identity, the token service, and the endpoint.
type msiFixture struct {
	st       *store.Store
	svc      *identity.Service
	ep       *msiEndpoint
	site     slipway.Site
	sys      store.Principal
	uai      slipway.UserAssignedIdentity
	sub      string
	fdCalled bool
	handler  http.Handler
}

func newMSIFixture(t *testing.T) *msiFixture {
	t.Helper()
	ctx := t.Context()
	st, sub, tenant := openTestStore(t)
	svc, err := identity.New(ctx, identity.Config{Store: st, TenantID: tenant, Resources: []string{"https://vault.azure.net"}})
	if err != nil {
		t.Fatal(err)
	}
	f := &msiFixture{st: st, svc: svc, sub: sub}
	if _, _, err := st.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "rg", Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	sku, _ := slipway.ParseSKU("B1")
	if _, _, err := st.PutPlan(ctx, slipway.Plan{ResourceGroup: "rg", Name: "plan", Location: "westeurope", SKU: sku, Linux: true}); err != nil {
		t.Fatal(err)
	}
	if f.site, _, err = st.PutSite(ctx, slipway.Site{ResourceGroup: "rg", Name: "app", Plan: "plan", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if f.sys, err = st.CreatePrincipal(ctx, store.Principal{Kind: store.SystemAssignedIdentity, DisplayName: "app", ResourceID: arm.SiteResourceID(sub, "rg", "app")}); err != nil {
		t.Fatal(err)
	}
	if f.uai, _, err = st.PutUserAssignedIdentity(ctx, slipway.UserAssignedIdentity{ResourceGroup: "rg", Name: "shared"}, "/subscriptions/"+sub+"/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/shared"); err != nil {
		t.Fatal(err)
	}
	if err := st.SetSiteUserAssignedIdentities(ctx, "app", []store.IdentityRef{{ResourceGroup: "rg", Name: "shared"}}); err != nil {
		t.Fatal(err)
	}
	f.ep = newMSIEndpoint(st, sub, svc, msiURL("169.254.0.1:8080"), nil)
	fd := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.fdCalled = true; w.WriteHeader(299) })
	f.handler = gatewayHandler(f.ep, fd)
	return f
}

// token asks the gateway for a token as an instance at from would, with
// extra query parameters; it returns the status and the token's oid.
func (f *msiFixture) token(t *testing.T, from, host, header string, extra url.Values) (int, string) {
	t.Helper()
	q := url.Values{"api-version": {"2019-08-01"}, "resource": {"https://vault.azure.net"}}
	for k, v := range extra {
		q[k] = v
	}
	req := httptest.NewRequest("GET", "http://"+host+"/msi/token?"+q.Encode(), nil)
	req.RemoteAddr = from
	req.Header.Set("X-IDENTITY-HEADER", header)
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	if rec.Code != 200 {
		return rec.Code, ""
	}
	var body struct {
		AccessToken string `json:"access_token"`
		ClientID    string `json:"client_id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	c, err := f.svc.Verify(t.Context(), body.AccessToken, []string{"https://vault.azure.net"})
	if err != nil || c.AppID != body.ClientID {
		t.Fatalf("token %v, client_id %q: %v", c, body.ClientID, err)
	}
	return rec.Code, c.ObjectID
}

func envValue(env []string, k string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, k+"="); ok {
			return v
		}
	}
	return ""
}

// An instance's header gets its app's tokens from its own address only;
// from another instance, the host or after the instance stopped it is
// refused; the identities are the app's current ones.
func TestMSIEndpoint_HeaderBoundToInstance(t *testing.T) {
	f := newMSIFixture(t)
	inst := netip.MustParseAddr("169.254.128.2")
	env, remove, err := f.ep.registerAt(f.site, inst)
	if err != nil {
		t.Fatal(err)
	}
	if got := envValue(env, "IDENTITY_ENDPOINT"); got != "http://169.254.0.1:8080/msi/token" {
		t.Errorf("IDENTITY_ENDPOINT = %q", got)
	}
	header := envValue(env, "IDENTITY_HEADER")
	if len(header) != 36 {
		t.Fatalf("IDENTITY_HEADER = %q; want a GUID-like secret", header)
	}
	other, _, err := f.ep.registerAt(f.site, inst)
	if err != nil || envValue(other, "IDENTITY_HEADER") == header {
		t.Fatalf("a second instance got the same header (%v)", err)
	}
	const gw = "169.254.0.1:8080"
	if code, oid := f.token(t, "169.254.128.2:40000", gw, header, nil); code != 200 || oid != f.sys.ObjectID {
		t.Fatalf("own instance, system-assigned: %d, oid %s; want 200, %s", code, oid, f.sys.ObjectID)
	}
	if code, oid := f.token(t, "169.254.128.2:40000", "127.0.0.1:8080", header, url.Values{"client_id": {f.uai.ClientID}}); code != 200 || oid != f.uai.PrincipalID {
		t.Fatalf("own instance by client_id (via 127.0.0.1): %d, oid %s; want 200, %s", code, oid, f.uai.PrincipalID)
	}
	for _, from := range []string{"169.254.128.6:40000", "169.254.0.1:40000", "127.0.0.1:40000", "[::ffff:169.254.128.10]:1"} {
		if code, _ := f.token(t, from, gw, header, nil); code != 401 {
			t.Errorf("the header used from %s: %d; want 401", from, code)
		}
	}
	if code, _ := f.token(t, "169.254.128.2:40000", gw, strings.ToUpper(header), nil); code != 401 {
		t.Errorf("an altered header: %d; want 401", code)
	}
	if code, _ := f.token(t, "169.254.128.2:40000", gw, strings.Repeat("a", 10000), nil); code != 401 {
		t.Errorf("a huge header: %d; want 401", code)
	}
	// The app loses its system-assigned identity: at once.
	if err := f.st.DeletePrincipal(t.Context(), f.sys.ObjectID); err != nil {
		t.Fatal(err)
	}
	if code, _ := f.token(t, "169.254.128.2:40000", gw, header, nil); code != 400 {
		t.Errorf("after the identity was removed: %d; want 400", code)
	}
	remove()
	if code, _ := f.token(t, "169.254.128.2:40000", gw, header, url.Values{"client_id": {f.uai.ClientID}}); code != 401 {
		t.Errorf("after the instance stopped: %d; want 401", code)
	}
}

// The gateway answers /msi/token only on an IP-literal host: an app's name
// with that path is the app's, through the front door.
func TestGatewayHandler_Routing(t *testing.T) {
	f := newMSIFixture(t)
	for _, c := range []struct {
		host, path string
		msi        bool
	}{
		{"169.254.0.1:8080", "/msi/token", true},
		{"169.254.0.1:8080", "/MSI/token/", true},
		{"127.0.0.1:8080", "/msi/token", true},
		{"169.254.0.1", "/msi/token", true},
		{"app.localhost:8080", "/msi/token", false},
		{"management.azure.com", "/msi/token", false},
		{"169.254.0.1:8080", "/msi/tokens", false},
		{"169.254.0.1:8080", "/", false},
	} {
		f.fdCalled = false
		req := httptest.NewRequest("GET", "http://"+c.host+c.path, nil)
		req.RemoteAddr = "169.254.128.2:1"
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, req)
		if f.fdCalled == c.msi {
			t.Errorf("%s%s: front door called = %v; want %v", c.host, c.path, f.fdCalled, !c.msi)
		}
	}
}

// On the host's network (no address to bind to) the header alone decides.
func TestMSIEndpoint_SharedNetwork(t *testing.T) {
	f := newMSIFixture(t)
	env, _, err := f.ep.registerAt(f.site, netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	if code, oid := f.token(t, "127.0.0.1:5000", "127.0.0.1:41000", envValue(env, "IDENTITY_HEADER"), nil); code != 200 || oid != f.sys.ObjectID {
		t.Fatalf("shared network: %d %s", code, oid)
	}
	if code, _ := f.token(t, "127.0.0.1:5000", "127.0.0.1:41000", "00000000-0000-0000-0000-000000000000", nil); code != 401 {
		t.Fatalf("a guessed header: %d; want 401", code)
	}
}
