package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/arm"
	"github.com/slipway-dev/slipway/internal/keyvault"
	"github.com/slipway-dev/slipway/internal/store"
)

// The keyvault commands run against the real ARM handler and the real
// secrets data plane over one store, on one listener that routes on the
// Host as the server's front does. The data plane is reached over plain
// HTTP here (vaultUri says so): TLS and the challenge are proven in
// internal/keyvault's tests with the Azure SDK.
func newKeyVaultEnv(t *testing.T) *storageEnv {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	authorize := func(r *http.Request) error {
		if r.Header.Get("Authorization") != "Bearer "+storageToken {
			return slipway.Errorf(slipway.EUNAUTHORIZED, "The access token is missing or invalid.")
		}
		return nil
	}
	kv, err := keyvault.New(keyvault.Config{Store: st, Sealer: st, Authority: "https://login.localhost",
		Authorize: func(r *http.Request, _ slipway.Vault, _ keyvault.Operation) error {
			if authorize(r) != nil {
				return keyvault.Unauthorized("AKV10032: Invalid issuer.")
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	var port string
	h := arm.New(arm.Config{Store: st, Controller: &storageController{}, Domain: "localhost", Scheme: "http", Authorize: authorize,
		VaultURI: func(name string) string { return "http://" + name + ".vault.localhost:" + port + "/" }})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name, ok := keyvault.VaultFromHost(r.Host, "vault.localhost"); ok {
			v, err := st.FindVault(r.Context(), name)
			if err != nil {
				http.NotFound(w, r)
				return
			}
			// The vault answers only requests that came over TLS; the
			// server terminates it in front of the vault. This fake front
			// speaks plain HTTP to the CLI under test and stands in for
			// that termination.
			r.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, HandshakeComplete: true, ServerName: r.Host}
			kv.ServeVault(w, r, v)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	_, port, _ = net.SplitHostPort(srv.Listener.Addr().String())
	sub, tenant, err := st.Identity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	b, _ := json.Marshal(serverFile{URL: srv.URL, Domain: "localhost", SubscriptionID: sub, TenantID: tenant, AdminToken: storageToken})
	if err := os.WriteFile(filepath.Join(data, "server.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return &storageEnv{t: t, store: st, armSrv: srv, data: data, sub: sub}
}

func TestKeyVaultCommands(t *testing.T) {
	e := newKeyVaultEnv(t)
	e.must("group", "create", "-n", "rg", "-l", "westeurope")
	v := e.must("keyvault", "create", "-g", "rg", "-n", "kv1").(map[string]any)
	if p := v["properties"].(map[string]any); p["enableRbacAuthorization"] != true || !strings.HasPrefix(p["vaultUri"].(string), "http://kv1.vault.localhost:") || v["resourceGroup"] != "rg" {
		t.Fatalf("keyvault create = %v", v)
	}
	if l := e.must("keyvault", "list").([]any); len(l) != 1 {
		t.Errorf("keyvault list = %v", l)
	}

	const value = "p@ss w0rd-cli-7"
	s := e.must("keyvault", "secret", "set", "--vault-name", "kv1", "-n", "db", "--value", value, "--content-type", "text/plain", "--tags", "a=b").(map[string]any)
	if s["value"] != value || s["name"] != "db" || s["contentType"] != "text/plain" {
		t.Fatalf("secret set = %v", s)
	}
	if a := s["attributes"].(map[string]any); a["enabled"] != true || a["recoveryLevel"] != "Recoverable+Purgeable" {
		t.Errorf("attributes = %v", a)
	}
	got := e.must("keyvault", "secret", "show", "--vault-name", "kv1", "-n", "db").(map[string]any)
	if got["value"] != value {
		t.Fatalf("secret show = %v", got)
	}
	// --id takes an https secret id only (the data plane is HTTPS).
	e.fails("keyvault", "secret", "show", "--id", "https://kv1.vault.localhost/keys/x")
	e.fails("keyvault", "secret", "show", "--id", s["id"].(string))
	if l := e.must("keyvault", "secret", "list", "--vault-name", "kv1").([]any); len(l) != 1 || l[0].(map[string]any)["value"] != nil {
		t.Errorf("secret list = %v", l)
	}
	e.must("keyvault", "secret", "delete", "--vault-name", "kv1", "-n", "db")
	if ee := e.fails("keyvault", "secret", "set", "--vault-name", "kv1", "-n", "db", "--value", "x"); !strings.Contains(ee.Message, "deleted but recoverable") {
		t.Errorf("set over a deleted secret: %v", ee)
	}
	e.must("keyvault", "secret", "recover", "--vault-name", "kv1", "-n", "db")
	e.must("keyvault", "secret", "delete", "--vault-name", "kv1", "-n", "db")
	e.must("keyvault", "secret", "purge", "--vault-name", "kv1", "-n", "db")
	e.must("keyvault", "secret", "set", "--vault-name", "kv1", "-n", "db", "--value", "again")

	// Access policies: refused on an RBAC vault, applied on a policy vault.
	if ee := e.fails("keyvault", "set-policy", "-n", "kv1", "--object-id", "oid-1", "--secret-permissions", "get"); !strings.Contains(ee.Message, "enable-rbac-authorization") {
		t.Errorf("set-policy on RBAC vault: %v", ee)
	}
	e.must("keyvault", "create", "-g", "rg", "-n", "kv2", "--enable-rbac-authorization", "false", "--no-self-perms")
	e.must("keyvault", "set-policy", "-n", "kv2", "--object-id", "oid-1", "--secret-permissions", "get", "list")
	pv, err := e.store.Vault(t.Context(), "rg", "kv2")
	if err != nil || len(pv.AccessPolicies) != 1 || strings.Join(pv.AccessPolicies[0].Secrets, ",") != "get,list" {
		t.Fatalf("kv2 policies = %+v, %v", pv.AccessPolicies, err)
	}

	// Vault soft delete, recover, delete again, purge.
	e.must("keyvault", "delete", "-n", "kv1")
	e.fails("keyvault", "show", "-g", "rg", "-n", "kv1")
	e.must("keyvault", "recover", "-n", "kv1")
	if got := e.must("keyvault", "secret", "show", "--vault-name", "kv1", "-n", "db").(map[string]any); got["value"] != "again" {
		t.Errorf("secret after vault recovery = %v", got)
	}
	e.must("keyvault", "delete", "-n", "kv1")
	e.must("keyvault", "purge", "-n", "kv1")
	if taken, _ := e.store.VaultNameTaken(t.Context(), "kv1"); taken {
		t.Error("purge left the vault")
	}
}

// TestKeyVaultCommands_ValueNotInDebug checks that --debug, which prints
// every request, does not print the value.
func TestKeyVaultCommands_ValueNotInDebug(t *testing.T) {
	e := newKeyVaultEnv(t)
	e.must("group", "create", "-n", "rg", "-l", "westeurope")
	e.must("keyvault", "create", "-g", "rg", "-n", "kv1")
	var errb bytes.Buffer
	r := defaultRunner([]string{"HOME=" + t.TempDir(), "SLIPWAY_DATA=" + e.data}, strings.NewReader(""), &bytes.Buffer{}, &errb)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := r.run(ctx, []string{"keyvault", "secret", "set", "--vault-name", "kv1", "-n", "x", "--value", "debug-secret-93", "--debug"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errb.String(), "/secrets/x") {
		t.Fatalf("--debug printed no request: %s", errb.String())
	}
	if strings.Contains(errb.String(), "debug-secret-93") {
		t.Error("--debug printed the secret value")
	}
}
