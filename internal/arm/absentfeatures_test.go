package arm

import (
	"strings"
	"testing"
)

// TestAuthSettings: az webapp auth show finds App Service Authentication
// off on a site and its slots; az webapp auth update --enabled false (the
// list's answer sent back with enabled false) is taken, and a write that
// would turn sign-in on or configure it is refused with the reason.
func TestAuthSettings(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.Slots = &swapRecorder{} })
	e.seed()
	got := e.must(200, "POST", sitePath+"/config/authsettings/list", "").json(t)
	props, _ := got["properties"].(map[string]any)
	if got["name"] != "authsettings" || got["type"] != "Microsoft.Web/sites/config" || props["enabled"] != false {
		t.Fatalf("authsettings = %v, want authentication off", got)
	}
	// A site never configured reads no runtime version (azure-cli's
	// test_webapp_authentication, recorded against Azure).
	if v, ok := props["runtimeVersion"]; !ok || v != nil {
		t.Errorf("runtimeVersion = %v (present %v), want null", v, ok)
	}
	// What az sends for `auth update --enabled false`: the list's
	// properties back, enabled false.
	off := `{"properties":{"enabled":false,"runtimeVersion":"~1","unauthenticatedClientAction":null,"clientSecret":"","allowedAudiences":null,"isAuthFromFile":"false"}}`
	if got := e.must(200, "PUT", sitePath+"/config/authsettings", off).json(t); got["properties"].(map[string]any)["enabled"] != false {
		t.Fatalf("PUT enabled false answered %v", got)
	}
	for _, body := range []string{
		`{"properties":{"enabled":true}}`,
		`{"properties":{"enabled":false,"unauthenticatedClientAction":"AllowAnonymous"}}`,
		`{"properties":{"enabled":false,"clientId":"00001111-aaaa-2222-bbbb-3333cccc4444"}}`,
		`{"properties":{"runtimeVersion":"1.3.2"}}`,
	} {
		r := e.must(400, "PUT", sitePath+"/config/authsettings", body)
		if !strings.Contains(string(r.body), "Slipway has no built-in sign-in") {
			t.Errorf("PUT %s: %s, want the reason", body, r.body)
		}
	}
	r := e.must(400, "PUT", sitePath+"/config/authsettings", `{"properties":{"enabled":true,"clientId":"x"}}`)
	if !strings.Contains(string(r.body), "'clientId'") {
		t.Errorf("PUT enabled true with a client id: %s, want the first field by name, clientId", r.body)
	}
	if calls := e.ctl.Calls(); len(calls) != 0 {
		t.Errorf("auth settings restarted something: %v", calls)
	}
	// A slot's settings are the slot's own resource.
	e.standardPlan()
	e.must(200, "PUT", slotPath, `{"location":"West Europe","properties":{"serverFarmId":"x","siteConfig":{}}}`)
	if got := e.must(200, "POST", slotPath+"/config/authsettings/list", "").json(t); got["type"] != "Microsoft.Web/sites/slots/config" {
		t.Errorf("a slot's authsettings = %v", got)
	}
	e.must(400, "PUT", slotPath+"/config/authsettings", `{"properties":{"enabled":true}}`)
	e.must(404, "POST", webPath+"/sites/nope/config/authsettings/list", "")
	e.must(404, "PUT", webPath+"/sites/nope/config/authsettings", off)
}

// TestAuthSettingsV2: the V2 form of the same settings, which the Azure
// SDK for Go reads (GetAuthSettingsV2, GetAuthSettingsV2WithoutSecrets)
// and provisioners write with the platform off for every app: read as off,
// a write that keeps the platform off is taken, turning it on is refused.
func TestAuthSettingsV2(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.Slots = &swapRecorder{} })
	e.seed()
	for _, path := range []string{"/config/authsettingsV2/list", "/config/authsettingsV2"} {
		got := e.must(200, "GET", sitePath+path, "").json(t)
		platform, _ := got["properties"].(map[string]any)["platform"].(map[string]any)
		if got["name"] != "authsettingsV2" || got["type"] != "Microsoft.Web/sites/config" || platform["enabled"] != false {
			t.Fatalf("GET %s = %v, want the platform off", path, got)
		}
	}
	for _, body := range []string{
		`{"properties":{}}`,
		`{"properties":{"platform":{"enabled":false,"runtimeVersion":"~1"},"globalValidation":{"requireAuthentication":false},"login":{"tokenStore":{"enabled":false,"tokenRefreshExtensionHours":72}},"httpSettings":{"requireHttps":true}}}`,
	} {
		got := e.must(200, "PUT", sitePath+"/config/authsettingsV2", body).json(t)
		if got["properties"].(map[string]any)["platform"].(map[string]any)["enabled"] != false {
			t.Errorf("PUT %s answered %v", body, got)
		}
	}
	for _, body := range []string{`{"properties":{"platform":{"enabled":true}}}`, `{"properties":{"platform":"on"}}`} {
		r := e.must(400, "PUT", sitePath+"/config/authsettingsV2", body)
		if armError(t, r) == "" {
			t.Errorf("PUT %s: %s, want an ARM error", body, r.body)
		}
	}
	if !strings.Contains(string(e.must(400, "PUT", sitePath+"/config/authsettingsV2", `{"properties":{"platform":{"enabled":true}}}`).body), "Slipway has no built-in sign-in") {
		t.Error("the refusal does not say why")
	}
	if calls := e.ctl.Calls(); len(calls) != 0 {
		t.Errorf("auth settings restarted something: %v", calls)
	}
	e.standardPlan()
	e.must(200, "PUT", slotPath, `{"location":"West Europe","properties":{"serverFarmId":"x","siteConfig":{}}}`)
	if got := e.must(200, "GET", slotPath+"/config/authsettingsV2/list", "").json(t); got["type"] != "Microsoft.Web/sites/slots/config" {
		t.Errorf("a slot's authsettingsV2 = %v", got)
	}
	e.must(404, "GET", webPath+"/sites/nope/config/authsettingsV2/list", "")
}

// TestStorageMounts: az webapp config storage-account list finds no
// mounts on a site or a slot (Slipway mounts none); writing the empty set
// is taken, and adding a mount is refused with the reason.
func TestStorageMounts(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.Slots = &swapRecorder{} })
	e.seed()
	got := e.must(200, "POST", sitePath+"/config/azurestorageaccounts/list", "").json(t)
	if props, ok := got["properties"].(map[string]any); !ok || len(props) != 0 || got["name"] != "azurestorageaccounts" {
		t.Fatalf("azurestorageaccounts = %v, want no mounts", got)
	}
	e.must(200, "PUT", sitePath+"/config/azurestorageaccounts", `{"properties":{}}`)
	mount := `{"properties":{"files":{"type":"AzureFiles","accountName":"acct","shareName":"share","accessKey":"a2V5","mountPath":"/mnt/files"}}}`
	r := e.must(400, "PUT", sitePath+"/config/azurestorageaccounts", mount)
	if !strings.Contains(string(r.body), "Slipway mounts no Azure Files share") || !strings.Contains(string(r.body), "'files'") {
		t.Errorf("adding a mount: %s, want the reason and the mount's name", r.body)
	}
	if strings.Contains(string(r.body), "a2V5") {
		t.Errorf("the refusal quotes the access key: %s", r.body)
	}
	e.standardPlan()
	e.must(200, "PUT", slotPath, `{"location":"West Europe","properties":{"serverFarmId":"x","siteConfig":{}}}`)
	e.must(200, "POST", slotPath+"/config/azurestorageaccounts/list", "")
	e.must(400, "PUT", slotPath+"/config/azurestorageaccounts", mount)
	e.must(404, "POST", webPath+"/sites/nope/config/azurestorageaccounts/list", "")
}

// TestVnetConnections: az webapp vnet-integration list finds no virtual
// network connections, as a bare JSON array (what the SDK reads), on a
// site and a slot.
func TestVnetConnections(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.Slots = &swapRecorder{} })
	e.seed()
	if r := e.must(200, "GET", sitePath+"/virtualNetworkConnections", ""); string(r.body) != "[]" {
		t.Fatalf("virtualNetworkConnections = %s, want []", r.body)
	}
	e.standardPlan()
	e.must(200, "PUT", slotPath, `{"location":"West Europe","properties":{"serverFarmId":"x","siteConfig":{}}}`)
	if r := e.must(200, "GET", slotPath+"/virtualNetworkConnections", ""); string(r.body) != "[]" {
		t.Fatalf("a slot's virtualNetworkConnections = %s, want []", r.body)
	}
	e.must(404, "GET", webPath+"/sites/nope/virtualNetworkConnections", "")
	// vnet-integration remove has nothing to remove (it was a 404 "No HTTP
	// resource was found" before: found by azure-cli's scenario replay).
	// 200: the only status azure-mgmt-web's delete_swift_virtual_network takes.
	e.must(200, "DELETE", sitePath+"/networkConfig/virtualNetwork", "")
	e.must(200, "DELETE", slotPath+"/networkConfig/virtualNetwork", "")
	e.must(404, "DELETE", webPath+"/sites/nope/networkConfig/virtualNetwork", "")
}

// TestFederatedCredentials: az identity federated-credential list finds
// none on an identity and show finds no such credential; create is refused
// with the reason and nothing is stored; delete has nothing to delete. An
// identity that does not exist is a 404 for each.
func TestFederatedCredentials(t *testing.T) {
	e := newEnv(t)
	e.must(201, "PUT", rgPath, `{"location":"westeurope"}`)
	e.must(201, "PUT", msiPath+"/id1"+msiAPI, `{"location":"westeurope"}`)
	fic := msiPath + "/id1/federatedIdentityCredentials"
	if got := e.must(200, "GET", fic+msiAPI, "").json(t); len(got["value"].([]any)) != 0 {
		t.Fatalf("list = %v, want none", got)
	}
	// What az identity federated-credential create sends.
	body := `{"properties":{"issuer":"https://token.actions.githubusercontent.com","subject":"repo:org/app:ref:refs/heads/main","audiences":["api://AzureADTokenExchange"]}}`
	r := e.must(400, "PUT", fic+"/gh"+msiAPI, body)
	if !strings.Contains(string(r.body), "does not trust tokens of another issuer") || !strings.Contains(string(r.body), "'gh'") {
		t.Errorf("create: %s, want the reason naming the credential", r.body)
	}
	e.must(404, "GET", fic+"/gh"+msiAPI, "")
	if got := e.must(200, "GET", fic+msiAPI, "").json(t); len(got["value"].([]any)) != 0 {
		t.Fatalf("list after a refused create = %v, want none", got)
	}
	e.must(204, "DELETE", fic+"/gh"+msiAPI, "")
	nope := msiPath + "/nope/federatedIdentityCredentials"
	e.must(404, "GET", nope+msiAPI, "")
	e.must(404, "GET", nope+"/gh"+msiAPI, "")
	e.must(404, "PUT", nope+"/gh"+msiAPI, body)
	e.must(404, "DELETE", nope+"/gh"+msiAPI, "")
}
