package arm

import (
	"strings"
	"testing"
)

// TestAttack_PrivateNetworkingNotFaked: a site, a storage account or a key
// vault told to refuse public networks (publicNetworkAccess Disabled,
// networkAcls that deny by default or allow only some addresses) was
// answered 200 and stayed reachable from every network: the owner
// believed it private. Slipway serves no private endpoints and filters no
// traffic of these by network, so each is refused saying so and what
// restricts access instead; Enabled and allow-all, what az sends by
// default, are taken; nothing of the refused body is stored.
func TestAttack_PrivateNetworkingNotFaked(t *testing.T) {
	e := newStorageEnv(t)
	e.seed()
	e.must(200, "PUT", accountPath, accountBody)
	e.must(200, "PUT", vaultPath, vaultBodyAz(e.tenant))
	site := e.path(`{"location":"West Europe","properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan","publicNetworkAccess":"%s"}}`)
	for _, tc := range []struct {
		what, method, path, body, hint string
	}{
		{"webapp create --public-network-access Disabled", "PUT", webPath + "/sites/private", strings.Replace(site, "%s", "Disabled", 1), "access-restriction"},
		{"webapp update --set publicNetworkAccess=Disabled", "PATCH", sitePath, `{"properties":{"publicNetworkAccess":"Disabled"}}`, "access-restriction"},
		{"storage account create --public-network-access Disabled", "PUT", stgPath + "/private1", strings.Replace(accountBody, `"properties":{`, `"properties":{"publicNetworkAccess":"Disabled",`, 1), "keys"},
		{"storage account update --public-network-access Disabled", "PATCH", accountPath, `{"properties":{"publicNetworkAccess":"Disabled"}}`, "keys"},
		{"storage account update --default-action Deny", "PATCH", accountPath, `{"properties":{"networkAcls":{"bypass":"AzureServices","defaultAction":"Deny","ipRules":[],"virtualNetworkRules":[]}}}`, "keys"},
		{"storage account network-rule add --ip-address", "PATCH", accountPath, `{"properties":{"networkAcls":{"defaultAction":"Allow","ipRules":[{"value":"203.0.113.7","action":"Allow"}]}}}`, "keys"},
		{"keyvault update --public-network-access Disabled", "PATCH", vaultPath, `{"properties":{"publicNetworkAccess":"Disabled"}}`, "RBAC"},
	} {
		r := e.do(tc.method, tc.path, tc.body)
		if r.status != 400 || !strings.Contains(string(r.body), "network") || !strings.Contains(string(r.body), tc.hint) {
			t.Errorf("%s: %d %s; want 400 saying Slipway does not filter by network and naming %q", tc.what, r.status, r.body, tc.hint)
		}
	}
	e.must(404, "GET", webPath+"/sites/private", "")
	e.must(404, "GET", stgPath+"/private1", "")
	for _, path := range []string{sitePath, accountPath, vaultPath} {
		props := e.must(200, "GET", path, "").json(t)["properties"].(map[string]any)
		if props["publicNetworkAccess"] != "Enabled" {
			t.Errorf("%s after the refusals: publicNetworkAccess %v", path, props["publicNetworkAccess"])
		}
	}
	// What az sends by default passes.
	e.must(200, "PATCH", sitePath, `{"properties":{"publicNetworkAccess":"Enabled"}}`)
	e.must(200, "PATCH", accountPath, `{"properties":{"publicNetworkAccess":"Enabled","networkAcls":{"bypass":"AzureServices","defaultAction":"Allow","ipRules":[],"virtualNetworkRules":[]}}}`)
	e.must(200, "PATCH", vaultPath, `{"properties":{"publicNetworkAccess":"Enabled"}}`)
}
