package arm

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/internal/dnstest"
	"github.com/slipway-dev/slipway/internal/dnsverify"
)

var _ HostNameVerifier = (*dnsverify.Verifier)(nil)

// newDomainEnv is an env whose verifier asks a loopback DNS server.
func newDomainEnv(t *testing.T) (*env, *dnstest.Server, string) {
	t.Helper()
	dns := dnstest.Start(t)
	v, err := dnsverify.New(dnsverify.Config{Resolver: dns.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, func(c *Config) { c.Verifier = v; c.ExternalIP = "127.0.0.1" })
	e.seed()
	return e, dns, siteVerificationID(t, e, sitePath)
}

const bindingsPath = sitePath + "/hostNameBindings"

// armError returns the error message of an ARM error response.
func armError(t *testing.T, r response) string {
	t.Helper()
	var body struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("not an ARM error: %s", r.body)
	}
	return body.Error.Message
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestHostNameBindings_AddListDelete(t *testing.T) {
	e, dns, id := newDomainEnv(t)
	dns.SetCNAME("www.contoso.com", "app.localhost")
	dns.SetTXT("asuid.www.contoso.com", id)
	dns.SetA("contoso.com", "127.0.0.1")
	dns.SetTXT("asuid.contoso.com", id)

	// The body az sends (custom.py add_hostname: HostNameBinding(site_name=...)).
	r := e.must(200, "PUT", bindingsPath+"/WWW.contoso.com", `{"properties":{"siteName":"app"}}`)
	b := r.json(t)
	props := b["properties"].(map[string]any)
	if b["name"] != "app/www.contoso.com" || b["type"] != "Microsoft.Web/sites/hostNameBindings" ||
		props["customHostNameDnsRecordType"] != "CName" || props["sslState"] != "Disabled" || props["hostNameType"] != "Verified" || props["siteName"] != "app" {
		t.Errorf("PUT answered %s", r.body)
	}
	if b["id"] != e.path("/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/sites/app/hostNameBindings/www.contoso.com") {
		t.Errorf("id = %v", b["id"])
	}
	r = e.must(200, "PUT", bindingsPath+"/contoso.com", `{"properties":{"siteName":"app"}}`)
	if got := r.json(t)["properties"].(map[string]any)["customHostNameDnsRecordType"]; got != "A" {
		t.Errorf("apex record type = %v", got)
	}

	// The site shows them.
	site := e.must(200, "GET", sitePath, "").json(t)["properties"].(map[string]any)
	if got, want := strs(site["hostNames"]), []string{"app.localhost:8080", "contoso.com:8080", "www.contoso.com:8080"}; !slices.Equal(got, want) {
		t.Errorf("hostNames = %q, want %q", got, want)
	}
	if got, want := strs(site["enabledHostNames"]), []string{"app.localhost:8080", "contoso.com:8080", "www.contoso.com:8080", "app.scm.localhost:8080"}; !slices.Equal(got, want) {
		t.Errorf("enabledHostNames = %q, want %q", got, want)
	}
	var types []string
	for _, s := range site["hostNameSslStates"].([]any) {
		m := s.(map[string]any)
		types = append(types, m["name"].(string)+" "+m["hostType"].(string)+" "+m["sslState"].(string))
	}
	if want := []string{"app.localhost:8080 Standard Disabled", "contoso.com:8080 Standard Disabled", "www.contoso.com:8080 Standard Disabled", "app.scm.localhost:8080 Repository Disabled"}; !slices.Equal(types, want) {
		t.Errorf("hostNameSslStates = %q, want %q", types, want)
	}
	if site["customDomainVerificationId"] != id {
		t.Errorf("customDomainVerificationId = %v, want %s", site["customDomainVerificationId"], id)
	}
	// What `webapp config hostname get-external-ip` reads (custom.py get_external_ip).
	if v, ok := site["hostingEnvironmentProfile"]; !ok || v != nil {
		t.Errorf("hostingEnvironmentProfile = %v (present %v), want null", v, ok)
	}
	if site["defaultHostName"] != "app.localhost:8080" || site["inboundIpAddress"] != "127.0.0.1" {
		t.Errorf("defaultHostName %v, inboundIpAddress %v", site["defaultHostName"], site["inboundIpAddress"])
	}

	// List: the default binding, then the custom ones.
	var list struct{ Value []map[string]any }
	if err := json.Unmarshal(e.must(200, "GET", bindingsPath, "").body, &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range list.Value {
		names = append(names, v["name"].(string))
	}
	if want := []string{"app/app.localhost", "app/contoso.com", "app/www.contoso.com"}; !slices.Equal(names, want) {
		t.Errorf("list names = %q, want %q", names, want)
	}
	e.must(200, "GET", bindingsPath+"/www.contoso.com", "")
	e.must(200, "GET", bindingsPath+"/app.localhost", "")
	e.must(404, "GET", bindingsPath+"/nope.contoso.com", "")

	// Delete.
	e.must(200, "DELETE", bindingsPath+"/www.contoso.com", "")
	e.must(204, "DELETE", bindingsPath+"/www.contoso.com", "")
	e.must(404, "GET", bindingsPath+"/www.contoso.com", "")
	if msg := armError(t, e.must(400, "DELETE", bindingsPath+"/app.localhost", "")); msg != "'app.localhost' is the default host name of 'app' and cannot be deleted." {
		t.Errorf("deleting the default name: %q", msg)
	}
	site = e.must(200, "GET", sitePath, "").json(t)["properties"].(map[string]any)
	if got := strs(site["hostNames"]); !slices.Equal(got, []string{"app.localhost:8080", "contoso.com:8080"}) {
		t.Errorf("hostNames after delete = %q", got)
	}
}

func TestHostNameBindings_Refusals(t *testing.T) {
	e, dns, id := newDomainEnv(t)
	dns.SetCNAME("www.contoso.com", "app.localhost")

	// No TXT record: App Service's message, 400.
	r := e.must(400, "PUT", bindingsPath+"/www.contoso.com", `{"properties":{"siteName":"app"}}`)
	if msg, want := armError(t, r), "A TXT record pointing from asuid.www.contoso.com to "+id+" was not found."; msg != want {
		t.Errorf("message %q, want %q", msg, want)
	}
	e.must(404, "GET", bindingsPath+"/www.contoso.com", "")

	// A certificate through this call is not supported yet.
	dns.SetTXT("asuid.www.contoso.com", id)
	e.must(400, "PUT", bindingsPath+"/www.contoso.com", `{"properties":{"sslState":"SniEnabled","thumbprint":"AB"}}`)
	// Names in the platform's domain and malformed names.
	e.must(400, "PUT", bindingsPath+"/other.localhost", `{}`)
	e.must(400, "PUT", bindingsPath+"/bad_name.contoso.com", `{}`)

	// Bound to another site: refused before DNS is asked.
	e.must(200, "PUT", bindingsPath+"/www.contoso.com", `{"properties":{"siteName":"app"}}`)
	e.must(200, "PUT", webPath+"/sites/app2", e.path(`{"location":"West Europe","properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan"}}`))
	r = e.must(409, "PUT", webPath+"/sites/app2/hostNameBindings/WWW.CONTOSO.COM", `{"properties":{"siteName":"app2"}}`)
	if msg := armError(t, r); msg != "Hostname 'www.contoso.com' already exists: it is bound to another app. Delete it from that app first (az webapp config hostname delete)." {
		t.Errorf("conflict message %q", msg)
	}
	e.must(204, "DELETE", webPath+"/sites/app2/hostNameBindings/www.contoso.com", "")
	e.must(200, "GET", bindingsPath+"/www.contoso.com", "")

	// Free plans have no custom domains.
	e.must(200, "PUT", webPath+"/serverfarms/free?api-version=2025-03-01", `{"location":"westeurope","sku":{"name":"F1"},"properties":{"reserved":true}}`)
	e.must(200, "PUT", webPath+"/sites/freeapp", e.path(`{"location":"West Europe","properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/free"}}`))
	dns.SetCNAME("free.contoso.com", "freeapp.localhost")
	dns.SetTXT("asuid.free.contoso.com", id)
	r = e.must(400, "PUT", webPath+"/sites/freeapp/hostNameBindings/free.contoso.com", `{}`)
	if msg := armError(t, r); msg != "Custom domains are not supported on the Free (F1) tier: the App Service plan 'free' of 'freeapp' must be a paid tier. Scale it up first (az appservice plan update --sku B1)." {
		t.Errorf("Free message %q", msg)
	}
}

// TestHostNameBindings_NoVerifier: without a resolver nothing is bound.
func TestHostNameBindings_NoVerifier(t *testing.T) {
	e := newEnv(t)
	e.seed()
	e.must(503, "PUT", bindingsPath+"/www.contoso.com", `{}`)
	e.must(200, "GET", bindingsPath, "")
}

// TestHostNameBindings_NoScaleToFree: a plan whose app has a custom domain
// bound is not scaled down to Free, which has none (found by azure-cli's
// scenario replay, cmd/slipway/realaz_scenarios2_test.go: `appservice plan
// update --sku F1` was taken, and a managed certificate then issued on the
// Free plan); without the binding it is.
func TestHostNameBindings_NoScaleToFree(t *testing.T) {
	e, dns, id := newDomainEnv(t)
	dns.SetCNAME("www.contoso.com", "app.localhost")
	dns.SetTXT("asuid.www.contoso.com", id)
	e.must(200, "PUT", bindingsPath+"/www.contoso.com", `{"properties":{"siteName":"app"}}`)

	// az appservice plan update --sku F1 sends the whole plan back.
	toFree := `{"location":"westeurope","sku":{"name":"F1","tier":"FREE"},"properties":{"reserved":true}}`
	r := e.must(409, "PUT", planPath+"?api-version=2025-03-01", toFree)
	if msg, want := armError(t, r), "The App Service plan 'plan' cannot be scaled to the Free (F1) tier: 'app' has the custom domain 'www.contoso.com' bound, and custom domains need a paid tier. Delete it first (az webapp config hostname delete)."; msg != want {
		t.Errorf("message %q, want %q", msg, want)
	}
	if sku := e.must(200, "GET", planPath, "").json(t)["sku"].(map[string]any)["name"]; sku != "B1" {
		t.Errorf("after the refusal the plan is %v, want B1", sku)
	}
	e.must(409, "PATCH", planPath, `{"sku":{"name":"F1"}}`)
	// Other sizes are taken; without the binding Free is too.
	e.must(200, "PUT", planPath+"?api-version=2025-03-01", `{"location":"westeurope","sku":{"name":"S1"},"properties":{"reserved":true}}`)
	e.must(200, "DELETE", bindingsPath+"/www.contoso.com", "")

	// An app of another group on the plan counts too.
	rg2 := "/subscriptions/{s}/resourceGroups/rg2"
	e.must(201, "PUT", rg2, `{"location":"westeurope"}`)
	e.must(200, "PUT", rg2+"/providers/Microsoft.Web/sites/app2", e.path(`{"location":"West Europe","properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan"}}`))
	dns.SetCNAME("api.contoso.com", "app2.localhost")
	dns.SetTXT("asuid.api.contoso.com", siteVerificationID(t, e, rg2+"/providers/Microsoft.Web/sites/app2"))
	e.must(200, "PUT", rg2+"/providers/Microsoft.Web/sites/app2/hostNameBindings/api.contoso.com", `{"properties":{"siteName":"app2"}}`)
	if msg := armError(t, e.must(409, "PUT", planPath+"?api-version=2025-03-01", toFree)); !strings.Contains(msg, "'app2' has the custom domain 'api.contoso.com'") {
		t.Errorf("an app of another group: %q", msg)
	}
	e.must(200, "DELETE", rg2+"/providers/Microsoft.Web/sites/app2/hostNameBindings/api.contoso.com", "")
	e.must(200, "PUT", planPath+"?api-version=2025-03-01", toFree)
}

// TestSSLBind_DefaultHostName: binding a certificate to a site's default
// name is refused saying that name keeps the platform's certificate, not
// that it should be added with hostname add (which takes no default name).
func TestSSLBind_DefaultHostName(t *testing.T) {
	e, _, _ := newDomainEnv(t)
	bind := `{"properties":{"hostNameSslStates":[{"name":"app.localhost:8080","sslState":"SniEnabled","thumbprint":"AB","toUpdate":true}]}}`
	r := e.must(400, "PATCH", sitePath, bind)
	if msg, want := armError(t, r), "'app.localhost' is the default host name of 'app', which Slipway serves with the platform's certificate: bind the certificate to a custom domain of the app (az webapp config hostname add)."; msg != want {
		t.Errorf("message %q, want %q", msg, want)
	}
}

// TestHostNameBindings_SlotBindingIsTheSlots: a slot's binding is a
// resource of the slot, named as ARM names nested resources — its id
// under …/slots/<slot>, name "<app>/<slot>/<host>" (az cuts at the last
// '/'), type Microsoft.Web/sites/slots/hostNameBindings — not under the
// slot's internal site name, which no ARM path names.
func TestHostNameBindings_SlotBindingIsTheSlots(t *testing.T) {
	e, dns, id := newDomainEnv(t)
	e.must(200, "PUT", planPath, `{"location":"westeurope","sku":{"name":"S1"},"properties":{"reserved":true}}`)
	slot := sitePath + "/slots/staging"
	e.must(200, "PUT", slot, `{"location":"westeurope","properties":{}}`)
	dns.SetCNAME("staging.contoso.com", "app-staging.localhost")
	dns.SetTXT("asuid.staging.contoso.com", id)
	want := map[string]any{
		"id":   e.path("/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/sites/app/slots/staging/hostNameBindings/staging.contoso.com"),
		"name": "app/staging/staging.contoso.com",
		"type": "Microsoft.Web/sites/slots/hostNameBindings",
	}
	check := func(what string, b map[string]any) {
		t.Helper()
		for k, v := range want {
			if b[k] != v {
				t.Errorf("%s: %s = %v, want %v", what, k, b[k], v)
			}
		}
	}
	check("PUT", e.must(200, "PUT", slot+"/hostNameBindings/staging.contoso.com", `{"properties":{"siteName":"app"}}`).json(t))
	check("GET", e.must(200, "GET", slot+"/hostNameBindings/staging.contoso.com", "").json(t))
	var found bool
	for _, v := range e.must(200, "GET", slot+"/hostNameBindings", "").json(t)["value"].([]any) {
		if b := v.(map[string]any); strings.HasSuffix(b["name"].(string), "/staging.contoso.com") {
			check("list", b)
			found = true
		}
	}
	if !found {
		t.Error("the slot's list lacks its binding")
	}
	// The id it gives is one ARM serves.
	e.must(200, "GET", want["id"].(string), "")
}

// TestSlotSubResourcesAreTheSlots: what a slot's routes answer — its
// publishing credentials, basic-auth policies, deployments, instances —
// carries the slot's own id and type, never the slot's internal site name.
func TestSlotSubResourcesAreTheSlots(t *testing.T) {
	e := newEnv(t)
	e.seed()
	e.must(200, "PUT", planPath, `{"location":"westeurope","sku":{"name":"S1"},"properties":{"reserved":true}}`)
	slot := sitePath + "/slots/staging"
	e.must(200, "PUT", slot, `{"location":"westeurope","properties":{}}`)
	slotID := e.path("/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/sites/app/slots/staging/")
	check := func(what string, res map[string]any) {
		t.Helper()
		id, _ := res["id"].(string)
		typ, _ := res["type"].(string)
		if !strings.HasPrefix(id, slotID) || !strings.HasPrefix(typ, "Microsoft.Web/sites/slots/") {
			t.Errorf("%s: id %q type %q; want the slot's", what, id, typ)
		}
	}
	check("publishing credentials", e.must(200, "POST", slot+"/config/publishingcredentials/list", "").json(t))
	for _, v := range e.must(200, "GET", slot+"/basicPublishingCredentialsPolicies", "").json(t)["value"].([]any) {
		check("basic-auth policy", v.(map[string]any))
	}
	check("basic-auth policy", e.must(200, "GET", slot+"/basicPublishingCredentialsPolicies/scm", "").json(t))
}
