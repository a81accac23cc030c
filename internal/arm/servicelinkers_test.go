package arm

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/internal/rbac"
)

const linkersPath = sitePath + "/providers/Microsoft.ServiceLinker/linkers"

// linkerBody is what `az webapp connection create storage-blob
// --system-identity` (az 2.91, api-version 2024-07-01-preview) sends for
// the account's Blob service; authInfo is given whole.
func linkerBodyFor(account, authInfo string) string {
	return `{"properties": {"targetService": {"type": "AzureResource", "id": "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/` + account + `/blobServices/default"},
		"authInfo": ` + authInfo + `, "clientType": "python", "secretStore": {}, "publicNetworkSolution": {}, "configurationInfo": {"configurationStore": {}}}}`
}

const linkerAPI = "?api-version=2024-07-01-preview"

// linkerEnv is an app "app" in rg, and the storage account photos1 there.
func linkerEnv(t *testing.T) (*env, context.Context) {
	e := newEnv(t)
	e.seed()
	e.must(200, "PUT", stgPath+"/photos1", accountBody)
	return e, t.Context()
}

// TestServiceLinkerStorageBlobSystemIdentity follows the Flask
// managed-identity tutorial's `az webapp connection create storage-blob
// --system-identity`: the site gets a system-assigned identity, the
// identity Storage Blob Data Contributor on the account, and the app the
// setting AZURE_STORAGEBLOB_RESOURCEENDPOINT (restarted for it); show,
// list, list-configuration and delete read and undo it.
func TestServiceLinkerStorageBlobSystemIdentity(t *testing.T) {
	e, ctx := linkerEnv(t)
	e.must(404, "GET", linkersPath+"/blob1"+linkerAPI, "")

	got := e.must(201, "PUT", linkersPath+"/blob1"+linkerAPI, e.path(linkerBodyFor("photos1", `{"authType": "systemAssignedIdentity"}`))).json(t)
	props := got["properties"].(map[string]any)
	if got["name"] != "blob1" || got["type"] != "microsoft.servicelinker/linkers" || !strings.HasSuffix(got["id"].(string), "/sites/app/providers/Microsoft.ServiceLinker/linkers/blob1") ||
		props["provisioningState"] != "Succeeded" || props["clientType"] != "python" ||
		props["authInfo"].(map[string]any)["authType"] != "systemAssignedIdentity" {
		t.Fatalf("PUT = %v", got)
	}
	id := e.siteIdentity()
	if id == nil || id["type"] != "SystemAssigned" {
		t.Fatalf("site identity after the connection = %v; want SystemAssigned", id)
	}
	principal := id["principalId"].(string)
	as, err := e.store.RoleAssignments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	account := e.path(stgPath + "/photos1")
	granted := slices.ContainsFunc(as, func(a rbac.Assignment) bool {
		return a.PrincipalID == principal && a.RoleDefinitionID == storageBlobDataContributor && strings.EqualFold(a.Scope, account)
	})
	if !granted {
		t.Fatalf("role assignments %+v: want Storage Blob Data Contributor for %s on %s", as, principal, account)
	}
	settings, err := e.store.Settings(ctx, "rg", "app")
	if err != nil || settings[settingBlobEndpoint] != "https://photos1.blob.core.windows.net/" || settings["SCM_DO_BUILD_DURING_DEPLOYMENT"] != "True" {
		t.Fatalf("settings = %v %v", settings, err)
	}
	if calls := e.ctl.Calls(); !slices.Contains(calls, "SiteConfigChanged rg/app") {
		t.Fatalf("controller calls %v: want the app restarted with the setting", calls)
	}

	// Again (az create on an existing name): the same identity and role.
	e.must(200, "PUT", linkersPath+"/blob1"+linkerAPI, e.path(linkerBodyFor("photos1", `{"authType": "systemAssignedIdentity"}`)))
	if again := e.siteIdentity(); again["principalId"] != principal {
		t.Fatalf("a second PUT changed the identity: %v", again)
	}
	if l := e.must(200, "GET", linkersPath+linkerAPI, "").json(t)["value"].([]any); len(l) != 1 {
		t.Fatalf("list = %v", l)
	}
	e.must(200, "GET", linkersPath+"/BLOB1"+linkerAPI, "")
	configs := e.must(200, "POST", linkersPath+"/blob1/listConfigurations"+linkerAPI, "").json(t)["configurations"].([]any)
	if len(configs) != 1 || configs[0].(map[string]any)["name"] != settingBlobEndpoint || configs[0].(map[string]any)["value"] != "https://photos1.blob.core.windows.net/" {
		t.Fatalf("listConfigurations = %v", configs)
	}

	e.must(200, "DELETE", linkersPath+"/blob1"+linkerAPI, "")
	e.must(404, "GET", linkersPath+"/blob1"+linkerAPI, "")
	e.must(204, "DELETE", linkersPath+"/blob1"+linkerAPI, "")
	if settings, _ := e.store.Settings(ctx, "rg", "app"); settings[settingBlobEndpoint] != "" || settings["SCM_DO_BUILD_DURING_DEPLOYMENT"] != "True" {
		t.Fatalf("settings after delete = %v; want the connection's gone, the others kept", settings)
	}
}

// TestServiceLinkerOtherAuthAndRefusals: a user-assigned identity of the
// site and the account key (secret) connect too; what Slipway cannot
// connect is refused with the reason, and nothing is changed.
func TestServiceLinkerOtherAuthAndRefusals(t *testing.T) {
	e, ctx := linkerEnv(t)

	e.must(201, "PUT", linkersPath+"/key1"+linkerAPI, e.path(linkerBodyFor("photos1", `{"authType": "secret"}`)))
	settings, _ := e.store.Settings(ctx, "rg", "app")
	if cs := settings[settingBlobConnStr]; !strings.HasPrefix(cs, "DefaultEndpointsProtocol=https;AccountName=photos1;AccountKey=") {
		t.Fatalf("%s = %q", settingBlobConnStr, cs)
	}

	uai := e.must(201, "PUT", msiPath+"/id1"+msiAPI, `{"location":"westeurope"}`).json(t)["properties"].(map[string]any)
	clientID := uai["clientId"].(string)
	body := e.path(linkerBodyFor("photos1", `{"authType": "userAssignedIdentity", "clientId": "`+clientID+`", "subscriptionId": "{s}"}`))
	if r := e.do("PUT", linkersPath+"/uai1"+linkerAPI, body); r.status != 400 || !strings.Contains(string(r.body), "not assigned to the app") {
		t.Fatalf("an identity the app does not have: %d %s", r.status, r.body)
	}
	e.must(200, "PATCH", sitePath, e.path(`{"identity":{"type":"UserAssigned","userAssignedIdentities":{"`+e.path(msiPath+"/id1")+`":{}}},"properties":{}}`))
	e.must(201, "PUT", linkersPath+"/uai1"+linkerAPI, body)
	settings, _ = e.store.Settings(ctx, "rg", "app")
	if settings[settingBlobClientID] != clientID || settings[settingBlobEndpoint] != "https://photos1.blob.core.windows.net/" {
		t.Fatalf("settings = %v", settings)
	}

	for _, c := range []struct{ what, body, want string }{
		{"PostgreSQL", `{"properties":{"targetService":{"type":"AzureResource","id":"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg/databases/db"},"authInfo":{"authType":"systemAssignedIdentity"},"clientType":"python"}}`, "Blob service only"},
		{"service principal", linkerBodyFor("photos1", `{"authType": "servicePrincipalSecret", "clientId": "x", "principalId": "y", "secret": "z"}`), "authType 'servicePrincipalSecret'"},
		{"Key Vault secret store", strings.Replace(linkerBodyFor("photos1", `{"authType": "secret"}`), `"secretStore": {}`, `"secretStore": {"keyVaultId": "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v"}`, 1), "--vault-id"},
		{"private endpoint", strings.Replace(linkerBodyFor("photos1", `{"authType": "secret"}`), `"secretStore": {}`, `"vNetSolution": {"type": "privateLink"}`, 1), "virtual networks"},
		{"missing account", linkerBodyFor("nosuch1", `{"authType": "systemAssignedIdentity"}`), "nosuch1"},
	} {
		if r := e.do("PUT", linkersPath+"/bad"+linkerAPI, e.path(c.body)); r.status < 400 || !strings.Contains(string(r.body), c.want) {
			t.Errorf("%s: %d %s; want a refusal naming %q", c.what, r.status, r.body, c.want)
		}
	}
	if r := e.do("PUT", linkersPath+"/bad%20name"+linkerAPI, e.path(linkerBodyFor("photos1", `{"authType": "secret"}`))); r.status != 400 {
		t.Errorf("a name with a space: %d %s", r.status, r.body)
	}
	if l := e.must(200, "GET", linkersPath+linkerAPI, "").json(t)["value"].([]any); len(l) != 2 {
		t.Fatalf("a refused PUT stored a connection: %v", l)
	}
	if id := e.siteIdentity(); id["type"] != "UserAssigned" {
		t.Fatalf("a refused PUT changed the identity: %v", id)
	}
}

// TestAttack_ServiceLinkerOtherGroupsAccount: Service Connector acts for
// the caller. A Contributor of rg (the app's group) holding no role on
// another group must not connect its app to that group's storage account:
// the connection would grant the app's identity Storage Blob Data
// Contributor there (or copy the account key into the app's settings) —
// a role assignment and a key the caller could not get itself. Each is a
// linked scope, answered 403 LinkedAuthorizationFailed, the same whether
// the account exists or not, and nothing changes.
func TestAttack_ServiceLinkerOtherGroupsAccount(t *testing.T) {
	e, call := scopeEnv(t)
	ctx := t.Context()
	target := func(account string) string {
		return otherRG + "/providers/Microsoft.Storage/storageAccounts/" + account + "/blobServices/default"
	}
	for _, c := range []struct{ account, auth, action string }{
		{"victimstore", "systemAssignedIdentity", "Microsoft.Authorization/roleAssignments/write"},
		{"victimstore", "secret", "Microsoft.Storage/storageAccounts/listKeys/action"},
		{"nosuchstore", "systemAssignedIdentity", "Microsoft.Authorization/roleAssignments/write"},
	} {
		body := `{"properties":{"targetService":{"type":"AzureResource","id":"` + target(c.account) + `"},"authInfo":{"authType":"` + c.auth + `"},"clientType":"python"}}`
		s, b := call(principal1, "PUT", linkersPath+"/steal", body)
		if s != http.StatusForbidden || !strings.Contains(b, "LinkedAuthorizationFailed") || !strings.Contains(b, c.action) {
			t.Errorf("contributor of rg connects to %s with %s: %d %.400s; want 403 LinkedAuthorizationFailed naming %s", c.account, c.auth, s, b, c.action)
		}
	}
	if id := e.siteIdentity(); id != nil {
		t.Errorf("a refused connection gave the app an identity: %v", id)
	}
	as, err := e.store.RoleAssignments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if strings.Contains(strings.ToLower(a.Scope), "victimstore") {
			t.Errorf("a refused connection made a role assignment: %+v", a)
		}
	}
	if settings, _ := e.store.Settings(ctx, "rg", "app"); settings[settingBlobEndpoint] != "" || settings[settingBlobConnStr] != "" {
		t.Errorf("a refused connection wrote settings: %v", settings)
	}
	// The owner of both may.
	body := `{"properties":{"targetService":{"type":"AzureResource","id":"` + target("victimstore") + `"},"authInfo":{"authType":"systemAssignedIdentity"},"clientType":"python"}}`
	if s, b := call("", "PUT", linkersPath+"/ok", body); s != http.StatusCreated {
		t.Fatalf("the admin connects: %d %s", s, b)
	}
}

// TestServiceLinkerValidate: `az webapp connection validate` reads whether
// the connection still works — the account, the settings it wrote, and
// the identity's role — each check with its result, and says which
// failed once one of them is undone.
func TestServiceLinkerValidate(t *testing.T) {
	e, ctx := linkerEnv(t)
	e.must(201, "PUT", linkersPath+"/blob1"+linkerAPI, e.path(linkerBodyFor("photos1", `{"authType": "systemAssignedIdentity"}`)))
	validate := func() (bool, map[string]string) {
		t.Helper()
		props := e.must(200, "POST", linkersPath+"/blob1/validateLinker"+linkerAPI, "").json(t)["properties"].(map[string]any)
		results := map[string]string{}
		for _, d := range props["validationDetail"].([]any) {
			item := d.(map[string]any)
			results[item["name"].(string)] = item["result"].(string)
		}
		if props["linkerName"] != "blob1" || props["authType"] != "systemAssignedIdentity" {
			t.Errorf("validate = %v", props)
		}
		return props["isConnectionAvailable"].(bool), results
	}
	if ok, got := validate(); !ok || got["TargetExistence"] != "success" || got["ConfigurationExistence"] != "success" || got["TargetAuthentication"] != "success" {
		t.Fatalf("a working connection validates as %v %v", ok, got)
	}
	// The identity's role on the account goes.
	as, err := e.store.RoleAssignments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if a.RoleDefinitionID == storageBlobDataContributor {
			e.must(200, "DELETE", a.Scope+"/providers/Microsoft.Authorization/roleAssignments/"+a.Name+"?api-version=2022-04-01", "")
		}
	}
	if ok, got := validate(); ok || got["TargetAuthentication"] != "failure" || got["TargetExistence"] != "success" {
		t.Errorf("without the role: %v %v; want TargetAuthentication failed", ok, got)
	}
	// The setting it wrote goes.
	e.must(200, "PUT", sitePath+"/config/appsettings", `{"properties":{}}`)
	if ok, got := validate(); ok || got["ConfigurationExistence"] != "failure" {
		t.Errorf("without the setting: %v %v; want ConfigurationExistence failed", ok, got)
	}
	e.must(404, "POST", linkersPath+"/nope/validateLinker"+linkerAPI, "")
}
