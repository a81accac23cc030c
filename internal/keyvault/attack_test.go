package keyvault_test

// Attacks on the secrets data plane by a tenant holding a vault of its own
// (docs/design.md's threat model: tenants are hostile to the platform and
// to each other).

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/slipway-dev/slipway"
)

// A secret may gain versions without end; a backup reads every version with
// its value into memory, several copies over (JSON, sealed, base64), so one
// tenant's backups of a secret with thousands of 25 KiB versions exhaust
// the server's memory. Key Vault backs up at most 500 versions
// (https://learn.microsoft.com/azure/key-vault/general/backup#limitations),
// and a backup must be one restore takes back.
func TestAttackBackupOfManyVersionsIsBounded(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	c, _ := e.sdk(t, e.vaultURL("kv1"), "token-for-kv1")

	// Many small versions: refused before their values are read.
	for range 501 {
		if _, err := e.st.SetSecret(ctx, slipway.Secret{Vault: "kv1", Name: "many", Value: "v", Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.BackupSecret(ctx, "many", nil); status(err) != 400 {
		t.Fatalf("backup of 501 versions = %v, want 400", err)
	}

	// Few large versions: a backup is handed out only if restore takes it.
	big := strings.Repeat("s", slipway.MaxSecretValueBytes)
	for range 45 {
		if _, err := e.st.SetSecret(ctx, slipway.Secret{Vault: "kv1", Name: "large", Value: big, Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	bk, err := c.BackupSecret(ctx, "large", nil)
	if err != nil {
		if status(err) != 400 {
			t.Fatalf("backup of 45 large versions = %v, want 400 or a restorable blob", err)
		}
		return
	}
	c2, _ := e.sdk(t, e.vaultURL("kv2"), "token-for-kv2")
	if _, err := c2.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: bk.Value}, nil); err != nil {
		t.Fatalf("a backup the vault handed out does not restore: %v", err)
	}
}

// Key Vault answers over HTTPS only; over plain HTTP a bearer token came in
// and the secret's value went out in the clear, to anyone on the network
// (the blob service and Graph already refuse bearer tokens without TLS).
func TestAttackPlainHTTPIsRefused(t *testing.T) {
	e := newEnv(t)
	if _, err := e.st.SetSecret(t.Context(), slipway.Secret{Vault: "kv1", Name: "db", Value: "cleartext-value", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	plain := httptest.NewServer(e.srv.Config.Handler)
	defer plain.Close()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, plain.URL+"/secrets/db?api-version=7.4", nil)
	req.Host = "kv1.vault.localhost"
	req.Header.Set("Authorization", "Bearer token-for-kv1")
	resp, err := plain.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK || strings.Contains(string(body), "cleartext-value") {
		t.Fatalf("GET over plain HTTP = %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(string(body), "HTTPS") {
		t.Errorf("the refusal does not say to use HTTPS: %s", body)
	}
}
