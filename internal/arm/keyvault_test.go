package arm

import (
	"strings"
	"testing"
)

const (
	kvPath    = "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults"
	vaultPath = kvPath + "/kv1?api-version=2024-11-01"
)

// vaultBodyAz is what `az keyvault create` (2.91) sends without
// --enable-rbac-authorization: an access policy for the caller, soft delete
// said explicitly, retention 90.
func vaultBodyAz(tenant string) string {
	return `{"location":"westeurope","tags":{"env":"dev"},"properties":{"tenantId":"` + tenant + `","sku":{"family":"A","name":"standard"},
	"accessPolicies":[{"tenantId":"` + tenant + `","objectId":"oid-1","permissions":{"keys":["all"],"secrets":["all"],"certificates":["all"],"storage":["all"]}}],
	"vaultUri":null,"enableSoftDelete":true,"softDeleteRetentionInDays":90,"networkAcls":{"bypass":"AzureServices","defaultAction":"Allow"}}}`
}

func TestKeyVault_Lifecycle(t *testing.T) {
	e := newEnv(t)
	e.must(201, "PUT", rgPath, `{"location":"westeurope"}`)

	// az's create first GETs the vault and expects an error.
	e.must(404, "GET", vaultPath, "")
	put := e.must(200, "PUT", vaultPath, vaultBodyAz(e.tenant)).json(t)
	props := put["properties"].(map[string]any)
	if put["id"] != e.path("/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1") ||
		props["vaultUri"] != "https://kv1.vault.localhost:8080/" || props["enableRbacAuthorization"] != false ||
		props["softDeleteRetentionInDays"] != float64(90) || props["tenantId"] != e.tenant {
		t.Fatalf("PUT = %v", put)
	}
	pols := props["accessPolicies"].([]any)
	if len(pols) != 1 || pols[0].(map[string]any)["objectId"] != "oid-1" {
		t.Fatalf("accessPolicies = %v", pols)
	}

	// Another tenant is refused; a taken name in another group conflicts.
	if r := e.do("PUT", strings.Replace(vaultPath, "kv1", "kv9", 1), vaultBodyAz("other-tenant")); r.status != 400 {
		t.Errorf("foreign tenant: %d %s", r.status, r.body)
	}
	e.must(201, "PUT", "/subscriptions/{s}/resourcegroups/rg2", `{"location":"westeurope"}`)
	if r := e.do("PUT", strings.Replace(vaultPath, "/rg/", "/rg2/", 1), vaultBodyAz(e.tenant)); r.status != 409 || !strings.Contains(string(r.body), "VaultAlreadyExists") {
		t.Errorf("taken name: %d %s", r.status, r.body)
	}
	cn := e.must(200, "POST", "/subscriptions/{s}/providers/Microsoft.KeyVault/checkNameAvailability", `{"name":"KV1","type":"Microsoft.KeyVault/vaults"}`).json(t)
	if cn["nameAvailable"] != false || cn["reason"] != "AlreadyExists" {
		t.Errorf("checkNameAvailability = %v", cn)
	}

	// set-policy: add merges, remove takes away.
	apPath := kvPath + "/kv1/accessPolicies/"
	e.must(200, "PUT", apPath+"add", `{"properties":{"accessPolicies":[{"tenantId":"`+e.tenant+`","objectId":"oid-2","permissions":{"secrets":["Get","List"]}}]}}`)
	e.must(200, "PUT", apPath+"add", `{"properties":{"accessPolicies":[{"tenantId":"`+e.tenant+`","objectId":"oid-2","permissions":{"secrets":["set"]}}]}}`)
	v, err := e.store.Vault(t.Context(), "rg", "kv1")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.AccessPolicies) != 2 || strings.Join(v.AccessPolicies[1].Secrets, ",") != "get,list,set" {
		t.Fatalf("after add: %+v", v.AccessPolicies)
	}
	e.must(200, "PUT", apPath+"remove", `{"properties":{"accessPolicies":[{"tenantId":"`+e.tenant+`","objectId":"oid-2","permissions":{"secrets":["list"]}}]}}`)
	if v, _ = e.store.Vault(t.Context(), "rg", "kv1"); strings.Join(v.AccessPolicies[1].Secrets, ",") != "get,set" {
		t.Fatalf("after remove: %+v", v.AccessPolicies)
	}
	e.must(400, "PUT", apPath+"frob", `{"properties":{"accessPolicies":[]}}`)

	// PATCH turns on RBAC and purge protection; listings see the vault.
	e.must(200, "PATCH", vaultPath, `{"properties":{"enableRbacAuthorization":true,"enablePurgeProtection":true}}`)
	if v, _ = e.store.Vault(t.Context(), "rg", "kv1"); !v.EnableRBACAuthorization || !v.EnablePurgeProtection {
		t.Fatalf("after PATCH: %+v", v)
	}
	for _, p := range []string{kvPath, "/subscriptions/{s}/providers/Microsoft.KeyVault/vaults",
		"/subscriptions/{s}/resources?$filter=resourceType%20eq%20%27Microsoft.KeyVault%2Fvaults%27&api-version=2015-11-01"} {
		l := e.must(200, "GET", p, "").json(t)["value"].([]any)
		if len(l) != 1 || l[0].(map[string]any)["name"] != "kv1" {
			t.Errorf("GET %s = %v", p, l)
		}
	}

	// Delete soft-deletes; the deleted vault is listed and shown; purge is
	// refused under purge protection; recover brings it back.
	e.must(200, "DELETE", vaultPath, "")
	e.must(404, "GET", vaultPath, "")
	e.must(204, "DELETE", vaultPath, "")
	dl := e.must(200, "GET", "/subscriptions/{s}/providers/Microsoft.KeyVault/deletedVaults", "").json(t)["value"].([]any)
	if len(dl) != 1 {
		t.Fatalf("deletedVaults = %v", dl)
	}
	dv := e.must(200, "GET", "/subscriptions/{s}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/kv1", "").json(t)
	if dp := dv["properties"].(map[string]any); dp["purgeProtectionEnabled"] != true || dp["scheduledPurgeDate"] == nil {
		t.Errorf("deleted vault = %v", dv)
	}
	e.must(404, "GET", "/subscriptions/{s}/providers/Microsoft.KeyVault/locations/eastus/deletedVaults/kv1", "")
	e.must(409, "POST", "/subscriptions/{s}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/kv1/purge", "")
	if r := e.do("PUT", vaultPath, vaultBodyAz(e.tenant)); r.status != 409 {
		t.Errorf("create over a deleted vault: %d %s", r.status, r.body)
	}
	rec := e.must(200, "PUT", vaultPath, `{"location":"westeurope","properties":{"tenantId":"`+e.tenant+`","sku":{"family":"A","name":"standard"},"createMode":"recover"}}`).json(t)
	if rec["properties"].(map[string]any)["enablePurgeProtection"] != true {
		t.Errorf("recovered = %v", rec)
	}
	e.must(200, "GET", vaultPath, "")

	// Without purge protection a deleted vault purges and frees its name.
	kv2 := strings.Replace(vaultPath, "kv1", "kv2", 1)
	e.must(200, "PUT", kv2, vaultBodyAz(e.tenant))
	e.must(200, "DELETE", kv2, "")
	e.must(200, "POST", "/subscriptions/{s}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/kv2/purge", "")
	e.must(404, "GET", "/subscriptions/{s}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/kv2", "")
	e.must(200, "PUT", kv2, vaultBodyAz(e.tenant))

	// Bad names and retention.
	e.must(400, "PUT", strings.Replace(vaultPath, "kv1", "a--b", 1), vaultBodyAz(e.tenant))
	e.must(400, "PUT", strings.Replace(vaultPath, "kv1", "kv3", 1), strings.Replace(vaultBodyAz(e.tenant), `"softDeleteRetentionInDays":90`, `"softDeleteRetentionInDays":5`, 1))
}

// TestKeyVault_ListDeletedManagedHSMs: `az keyvault list-deleted` lists
// deleted vaults and then deleted managed HSMs, and fails on an error from
// either. Slipway has no managed HSMs, so none was ever deleted: an empty
// list, like any subscription without them.
func TestKeyVault_ListDeletedManagedHSMs(t *testing.T) {
	e := newEnv(t)
	got := e.must(200, "GET", "/subscriptions/{s}/providers/Microsoft.KeyVault/deletedManagedHSMs?api-version=2026-02-01", "").json(t)
	if v, ok := got["value"].([]any); !ok || len(v) != 0 {
		t.Fatalf("deletedManagedHSMs = %v, want {\"value\":[]}", got)
	}
}

// TestKeyVault_NetworkRulesRefused: Slipway does not filter a vault's data
// plane by network, so a firewall (`az keyvault update --default-action
// Deny`, `az keyvault network-rule add --ip-address`) is refused with a
// 400 that says so, never stored and shown as if it held; the Allow-all
// ACL az sends by default is accepted.
func TestKeyVault_NetworkRulesRefused(t *testing.T) {
	e := newEnv(t)
	e.must(201, "PUT", rgPath, `{"location":"westeurope"}`)
	e.must(200, "PUT", vaultPath, vaultBodyAz(e.tenant))
	deny := strings.Replace(vaultBodyAz(e.tenant), `"defaultAction":"Allow"`, `"defaultAction":"Deny"`, 1)
	for _, tc := range []struct{ method, body string }{
		{"PUT", deny},
		{"PATCH", `{"properties":{"networkAcls":{"bypass":"AzureServices","defaultAction":"Deny","ipRules":[],"virtualNetworkRules":[]}}}`},
		{"PATCH", `{"properties":{"networkAcls":{"defaultAction":"Allow","ipRules":[{"value":"203.0.113.7/32"}]}}}`},
		{"PATCH", `{"properties":{"networkAcls":{"defaultAction":"Allow","virtualNetworkRules":[{"id":"/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s"}]}}}`},
	} {
		r := e.do(tc.method, vaultPath, tc.body)
		if r.status != 400 || !strings.Contains(string(r.body), "networkAcls") {
			t.Errorf("%s %s: %d %s", tc.method, tc.body, r.status, r.body)
		}
	}
	acls := e.must(200, "GET", vaultPath, "").json(t)["properties"].(map[string]any)["networkAcls"].(map[string]any)
	if acls["defaultAction"] != "Allow" {
		t.Errorf("networkAcls after the refusals: %v", acls)
	}
}
