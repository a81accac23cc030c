package arm

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/internal/certs"
	"github.com/slipway-dev/slipway/internal/dnstest"
	"github.com/slipway-dev/slipway/internal/dnsverify"
	"github.com/slipway-dev/slipway/internal/store"
)

// otherGroupSite makes a second tenant's group "thief" with a paid plan and
// the site "thief", and returns the site's path.
func otherGroupSite(t *testing.T, e *env) string {
	t.Helper()
	rg := strings.Replace(rgPath, "/rg", "/thief", 1)
	web := rg + "/providers/Microsoft.Web"
	e.must(201, "PUT", rg, `{"location":"westeurope"}`)
	e.must(200, "PUT", web+"/serverfarms/plan?api-version=2025-03-01", `{"location":"westeurope","sku":{"name":"B1","tier":"BASIC"},"properties":{"reserved":true}}`)
	e.must(200, "PUT", web+"/sites/thief", e.path(`{"location":"West Europe","properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/thief/providers/Microsoft.Web/serverfarms/plan"}}`))
	return web + "/sites/thief"
}

// siteVerificationID is the customDomainVerificationId a site shows.
func siteVerificationID(t *testing.T, e *env, site string) string {
	t.Helper()
	id, _ := e.must(200, "GET", site, "").json(t)["properties"].(map[string]any)["customDomainVerificationId"].(string)
	if id == "" {
		t.Fatalf("%s shows no customDomainVerificationId", site)
	}
	return id
}

// TestAttack_VerificationIDOfAnotherTenant: the TXT record a tenant
// publishes for its own app must not let another tenant bind the name.
// With one verification ID for the whole server, a victim's asuid record
// proves nothing about which tenant asked; when the name routes by an A
// record to the shared external IP (or has no address record yet, App
// Service's migration case), the thief's app passes every check and binds
// the victim's name first — between the victim's DNS change and its own
// hostname add, or whenever it unbinds the name.
func TestAttack_VerificationIDOfAnotherTenant(t *testing.T) {
	e, dns, _ := newDomainEnv(t)
	thief := otherGroupSite(t, e)
	victimID := siteVerificationID(t, e, sitePath)
	if thiefID := siteVerificationID(t, e, thief); thiefID == victimID {
		t.Errorf("two tenants' groups show the same customDomainVerificationId %s", victimID)
	}
	dns.SetTXT("asuid.www.victim.example", victimID)
	dns.SetA("www.victim.example", "127.0.0.1")  // the platform's external IP
	dns.SetTXT("asuid.victim.example", victimID) // TXT only: the migration case, for *.victim.example
	for _, host := range []string{"www.victim.example", "*.victim.example"} {
		if r := e.do("PUT", thief+"/hostNameBindings/"+host, `{"properties":{"siteName":"thief"}}`); r.status == 200 {
			t.Errorf("the thief bound %s with the victim's TXT record", host)
		}
	}
	// The victim still binds its own names.
	e.must(200, "PUT", bindingsPath+"/www.victim.example", `{"properties":{"siteName":"app"}}`)
	e.must(200, "PUT", bindingsPath+"/*.victim.example", `{"properties":{"siteName":"app"}}`)
}

// TestAttack_BindAzureServiceNames: the Azure names apps reach inside
// their sandboxes (<app>.azurewebsites.net, management.azure.com,
// login.microsoftonline.com, <vault>.vault.azure.net,
// <account>.blob.core.windows.net) are the platform's own: the front door
// and the platform CA answer for them. A tenant whose DNS answers for them
// (the resolver is the operator's choice; a local one in development)
// must not bind them: the SNI table is asked before the platform CA, so a
// binding with a certificate of its own would be served to every other
// app that calls those services.
func TestAttack_BindAzureServiceNames(t *testing.T) {
	e, dns, id := newDomainEnv(t)
	for _, host := range []string{
		"other.azurewebsites.net", "other.scm.azurewebsites.net", "*.azurewebsites.net", "*.scm.azurewebsites.net",
		"management.azure.com", "login.microsoftonline.com", "kv.vault.azure.net", "*.vault.azure.net",
		"acct.blob.core.windows.net", "*.blob.core.windows.net", "azurewebsites.net",
	} {
		txt := "asuid." + strings.TrimPrefix(host, "*.")
		dns.SetTXT(txt, id)
		if r := e.do("PUT", bindingsPath+"/"+host, `{"properties":{"siteName":"app"}}`); r.status != 400 {
			t.Errorf("binding %s: %d %s; want 400", host, r.status, r.body)
		}
	}
}

// sniTable is a Certificates that keeps, as the server's certManager does,
// the host names the TLS listeners serve a certificate for, rebuilt from
// the store at each Changed.
type sniTable struct {
	st interface {
		SNIBindings(context.Context) ([]store.SNIBinding, error)
	}
	names map[string]bool
}

func (s *sniTable) Obtain(context.Context, string) (*certs.Cert, error) {
	return nil, errors.New("no ACME")
}
func (s *sniTable) Changed(ctx context.Context) error {
	bs, err := s.st.SNIBindings(ctx)
	if err != nil {
		return err
	}
	s.names = map[string]bool{}
	for _, b := range bs {
		s.names[b.HostName] = true
	}
	return nil
}

// TestAttack_SNICertificateOutlivesBinding: the TLS listeners must stop
// serving a tenant's certificate (with its key) for a name once the name
// is no longer bound: when the binding, its site or its group is deleted.
// Otherwise the certificate keeps answering handshakes for the name after
// another tenant binds it, and for a deleted app until a restart.
func TestAttack_SNICertificateOutlivesBinding(t *testing.T) {
	dns := dnstest.Start(t)
	v, err := dnsverify.New(dnsverify.Config{Resolver: dns.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	table := &sniTable{}
	e := newEnvWith(t, func(c *Config) { c.Verifier = v; c.ExternalIP = "127.0.0.1"; c.Certificates = table })
	table.st = e.store
	e.seed()
	id := siteVerificationID(t, e, sitePath)
	ctx := t.Context()
	bindWithCert := func(site, host string) {
		t.Helper()
		dns.SetTXT("asuid."+host, id)
		e.must(200, "PUT", webPath+"/sites/"+site+"/hostNameBindings/"+host, `{}`)
		if _, err := e.store.SetHostNameSSL(ctx, "rg", site, host, "SniEnabled", "AB12"); err != nil {
			t.Fatal(err)
		}
		if err := table.Changed(ctx); err != nil {
			t.Fatal(err)
		}
	}
	e.must(200, "PUT", webPath+"/sites/app2", e.path(`{"location":"West Europe","properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan"}}`))
	bindWithCert("app", "www.a.example")
	bindWithCert("app", "api.a.example")
	bindWithCert("app2", "www.b.example")
	e.must(200, "DELETE", bindingsPath+"/www.a.example", "")
	if table.names["www.a.example"] {
		t.Errorf("the certificate of www.a.example is still served after its binding was deleted")
	}
	e.do("DELETE", sitePath, "")
	if table.names["api.a.example"] {
		t.Errorf("the certificate of api.a.example is still served after its site was deleted")
	}
	e.do("DELETE", rgPath, "")
	if table.names["www.b.example"] {
		t.Errorf("the certificate of www.b.example is still served after its group was deleted")
	}
}
