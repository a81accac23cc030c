package arm

import (
	"context"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/keyvault"
	"github.com/slipway-dev/slipway/internal/kvref"
)

type kvIdentity struct{}

func (kvIdentity) ReferenceIdentity(context.Context, slipway.Site) (kvref.Identity, error) {
	return kvref.Identity{Type: "SystemAssigned", Principal: keyvault.Principal{ObjectID: "0000aaaa-0000-0000-0000-000000000001", TenantID: "t"}}, nil
}

type kvStore struct{}

func (kvStore) FindVault(ctx context.Context, name string) (slipway.Vault, error) {
	return slipway.Vault{Name: name}, nil
}

func (kvStore) Secret(ctx context.Context, vault, name, version string) (slipway.Secret, error) {
	if name != "db" {
		return slipway.Secret{}, slipway.Errorf(slipway.ENOTFOUND, "no secret")
	}
	return slipway.Secret{Name: name, Version: strings.Repeat("b", 32), Value: "the-secret-value", Enabled: true}, nil
}

type kvAllow struct{}

func (kvAllow) Allow(context.Context, slipway.Vault, keyvault.Principal, keyvault.Operation) error {
	return nil
}

// TestConfigReferences: the status of each reference, as App Service's
// ApiKVReference, and never the value (docs/appservice.md §7).
func TestConfigReferences(t *testing.T) {
	res, err := kvref.New(kvref.Config{Store: kvStore{}, Access: kvAllow{}, Identities: kvIdentity{}, VaultSuffixes: []string{"vault.localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, func(c *Config) { c.References = res })
	e.seed()
	e.must(200, "PUT", sitePath+"/config/appsettings", `{"properties":{"DB":"@Microsoft.KeyVault(VaultName=kv1;SecretName=db)","GONE":"@Microsoft.KeyVault(SecretUri=https://kv1.vault.localhost/secrets/gone/)","PLAIN":"x"}}`)
	e.must(200, "PUT", sitePath+"/config/connectionstrings", `{"properties":{"default":{"value":"@Microsoft.KeyVault(VaultName=kv1;SecretName=db)","type":"PostgreSQL"}}}`)

	list := e.must(200, "GET", sitePath+"/config/configreferences/appsettings", "")
	if strings.Contains(string(list.body), "the-secret-value") {
		t.Fatalf("the value is in the answer: %s", list.body)
	}
	values := list.json(t)["value"].([]any)
	if len(values) != 2 {
		t.Fatalf("%d references, want 2: %s", len(values), list.body)
	}
	db := values[0].(map[string]any)
	props := db["properties"].(map[string]any)
	if db["name"] != "DB" || !strings.HasSuffix(db["id"].(string), "/config/configreferences/appsettings/DB") ||
		props["status"] != "Resolved" || props["vaultName"] != "kv1" || props["secretName"] != "db" ||
		props["activeVersion"] != strings.Repeat("b", 32) || props["source"] != "KeyVault" || props["location"] != "ApplicationSetting" ||
		props["identityType"].(map[string]any)["principalId"] != "0000aaaa-0000-0000-0000-000000000001" {
		t.Errorf("DB reference: %v", db)
	}
	gone := e.must(200, "GET", sitePath+"/config/configreferences/appsettings/gone", "").json(t)["properties"].(map[string]any)
	if gone["status"] != "SecretNotFound" || !strings.Contains(gone["details"].(string), "gone") {
		t.Errorf("GONE reference: %v", gone)
	}
	e.must(404, "GET", sitePath+"/config/configreferences/appsettings/PLAIN", "")
	conns := e.must(200, "GET", sitePath+"/config/configreferences/connectionstrings", "").json(t)["value"].([]any)
	if len(conns) != 1 || conns[0].(map[string]any)["properties"].(map[string]any)["status"] != "Resolved" {
		t.Errorf("connection string references: %v", conns)
	}
	e.ctl.Reset()
	e.must(200, "POST", sitePath+"/config/configreferences/appsettings/refresh", "")
	if calls := e.ctl.Calls(); len(calls) != 1 || !strings.Contains(calls[0], "SiteConfigChanged") {
		t.Errorf("refresh made calls %v, want a restart", calls)
	}
}
