package arm

import (
	"strings"
	"testing"
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
