package arm

import (
	"strings"
	"testing"
)

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
