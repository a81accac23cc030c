package keyvault_test

// Attacks on the secrets data plane by a tenant holding a vault of its own
// (docs/design.md's threat model: tenants are hostile to the platform and
// to each other).

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/diskreserve"
	"github.com/slipway-dev/slipway/internal/keyvault"
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

// TestAttackSecretVersionsFillTheDisk: every Set Secret keeps a new version
// (up to 25 KiB), so a caller allowed to set secrets could fill the disk
// where the platform's stores live, one request at a time. On a disk at
// its reserve a new version and a restore are refused with 503 and
// Retry-After; reading, listing and deleting go on, so that space can be
// freed.
func TestAttackSecretVersionsFillTheDisk(t *testing.T) {
	free := atomic.Uint64{}
	free.Store(100 << 30)
	guard := diskreserve.New(diskreserve.Config{Path: t.TempDir(), What: "secrets", Reserve: diskreserve.Amount{Bytes: 1 << 30},
		FreeSpace: func(string) (diskreserve.Space, error) {
			return diskreserve.Space{Free: free.Load(), Size: 200 << 30}, nil
		},
		Now: func() time.Time { return time.Now().Add(time.Duration(free.Load())) }}) // each change of free space is a new reading
	e := newEnv(t, func(c *keyvault.Config) { c.Reserve = guard })
	ctx := t.Context()
	c, _ := e.sdk(t, e.vaultURL("kv1"), e.tokens["kv1"])
	if _, err := c.SetSecret(ctx, "kept", azsecrets.SetSecretParameters{Value: to.Ptr("v1")}, nil); err != nil {
		t.Fatal(err)
	}
	backup, err := c.BackupSecret(ctx, "kept", nil)
	if err != nil {
		t.Fatal(err)
	}

	free.Store(512 << 20) // under the 1 GiB reserve
	_, err = c.SetSecret(ctx, "kept", azsecrets.SetSecretParameters{Value: to.Ptr("v2")}, nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusServiceUnavailable || re.RawResponse.Header.Get("Retry-After") == "" {
		t.Fatalf("Set Secret on a short disk: %v; want 503 with Retry-After", err)
	}
	if _, err := c.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: backup.Value}, nil); status(err) != http.StatusServiceUnavailable {
		t.Errorf("Restore Secret on a short disk: %v; want 503", err)
	}
	if got, err := c.GetSecret(ctx, "kept", "", nil); err != nil || *got.Value != "v1" {
		t.Errorf("Get Secret on a short disk: %v, %v; want v1", got.Value, err)
	}
	pager := c.NewListSecretPropertiesPager(nil)
	if _, err := pager.NextPage(ctx); err != nil {
		t.Errorf("List Secrets on a short disk: %v", err)
	}
	if _, err := c.DeleteSecret(ctx, "kept", nil); err != nil {
		t.Errorf("Delete Secret on a short disk: %v", err)
	}

	free.Store(100 << 30)
	if _, err := c.SetSecret(ctx, "other", azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil); err != nil {
		t.Errorf("Set Secret with room again: %v", err)
	}
}
