package keyvault_test

// These tests drive the handler with the real Go Key Vault client
// (azsecrets) over HTTPS. Only identity is stubbed: the credential hands
// out a fixed token per vault and Authorize compares it in constant time,
// so what is proven is the wire (paths, JSON, the 401 challenge, paging,
// errors), not token validation, which is the integrator's.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/keyvault"
	"github.com/slipway-dev/slipway/internal/store"
)

// fakeCred is the stubbed identity: a fixed token, and a record of what the
// client asked for after the challenge.
type fakeCred struct {
	token string
	mu    sync.Mutex
	asked []policy.TokenRequestOptions
}

func (c *fakeCred) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	c.asked = append(c.asked, o)
	c.mu.Unlock()
	return azcore.AccessToken{Token: c.token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

type env struct {
	st     *store.Store
	srv    *httptest.Server
	logs   *bytes.Buffer
	tokens map[string]string // vault (lower case) -> its token
	client *http.Client
	// denied, if set, is an operation the Authorize stub refuses.
	denied string
}

const authority = "https://login.localhost"

func newEnv(t *testing.T, tweak ...func(*keyvault.Config)) *env {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, _, err := st.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "rg", Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, logs: &bytes.Buffer{}, tokens: map[string]string{}}
	for _, v := range []slipway.Vault{
		{ResourceGroup: "rg", Name: "kv1", TenantID: "tenant-1", EnableRBACAuthorization: true},
		{ResourceGroup: "rg", Name: "kv2", TenantID: "tenant-1", EnableRBACAuthorization: true},
		{ResourceGroup: "rg", Name: "kvp", TenantID: "tenant-1", EnablePurgeProtection: true,
			AccessPolicies: []slipway.AccessPolicy{{TenantID: "tenant-1", ObjectID: "oid-p", Secrets: []string{"get", "set", "delete", "list", "purge"}}}},
	} {
		if _, _, err := st.PutVault(ctx, v); err != nil {
			t.Fatal(err)
		}
		e.tokens[v.Name] = "token-for-" + v.Name
	}
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, e.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := keyvault.Config{
		Store: st, Sealer: st, Authority: authority, Logger: logger,
		Authorize: func(r *http.Request, v slipway.Vault, op keyvault.Operation) error {
			_, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			want := e.tokens[strings.ToLower(v.Name)]
			if subtle.ConstantTimeCompare([]byte(tok), []byte(want)) != 1 {
				return keyvault.Unauthorized("AKV10032: Invalid issuer.")
			}
			if op.Name == e.denied {
				if v.EnableRBACAuthorization {
					return keyvault.ForbiddenByRBAC(v, op, "sub", "oid-x")
				}
				return keyvault.ForbiddenByPolicy(v, op, "oid=oid-x")
			}
			if !v.EnableRBACAuthorization && !keyvault.AccessPolicyAllows(v, "tenant-1", "oid-p", "", op.Permission) {
				return keyvault.ForbiddenByPolicy(v, op, "oid=oid-p")
			}
			return nil
		},
	}
	for _, f := range tweak {
		f(&cfg)
	}
	h, err := keyvault.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The integrator's part: the vault from the Host, then the handler.
	front := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := keyvault.VaultFromHost(r.Host, "vault.localhost", "vault.azure.net")
		if !ok {
			http.NotFound(w, r)
			return
		}
		v, err := st.FindVault(r.Context(), name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		h.ServeVault(w, r, v)
	})
	srv := httptest.NewUnstartedServer(front)
	cert, pool := selfSigned(t, "*.vault.localhost", "*.vault.azure.net")
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	e.srv = srv
	addr := srv.Listener.Addr().String()
	e.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr) // every vault host is this server
		},
	}}
	return e
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func selfSigned(t *testing.T, names ...string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func (e *env) port() string {
	_, p, _ := net.SplitHostPort(e.srv.Listener.Addr().String())
	return p
}

// sdk returns an azsecrets client for the vault URL with a token.
func (e *env) sdk(t *testing.T, vaultURL, token string) (*azsecrets.Client, *fakeCred) {
	t.Helper()
	cred := &fakeCred{token: token}
	c, err := azsecrets.NewClient(vaultURL, cred, &azsecrets.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: e.client, Retry: policy.RetryOptions{MaxRetries: -1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c, cred
}

func (e *env) vaultURL(name string) string {
	return fmt.Sprintf("https://%s.vault.localhost:%s", name, e.port())
}

func status(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

func errCode(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

func TestAzsecrets_RoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	c, cred := e.sdk(t, e.vaultURL("kv1"), "token-for-kv1")
	const value = "s3cr3t-value-0f9e8d"

	set, err := c.SetSecret(ctx, "db-password", azsecrets.SetSecretParameters{Value: to.Ptr(value), ContentType: to.Ptr("text/plain"),
		Tags: map[string]*string{"env": to.Ptr("dev")}}, nil)
	if err != nil {
		t.Fatalf("SetSecret: %v", err)
	}
	if *set.Value != value || set.ID.Name() != "db-password" || len(set.ID.Version()) != 32 || *set.Attributes.RecoveryLevel != "Recoverable+Purgeable" || *set.Attributes.RecoverableDays != 90 {
		t.Fatalf("SetSecret = %+v", set)
	}
	wantID := fmt.Sprintf("https://kv1.vault.localhost:%s/secrets/db-password/%s", e.port(), set.ID.Version())
	if string(*set.ID) != wantID {
		t.Errorf("id = %s, want %s", *set.ID, wantID)
	}
	// The challenge named the authority with the vault's tenant and a
	// resource that follows the host.
	if len(cred.asked) == 0 || cred.asked[0].TenantID != "tenant-1" || cred.asked[0].Scopes[0] != "https://vault.localhost:"+e.port()+"/.default" {
		t.Fatalf("token requests = %+v", cred.asked)
	}

	v1 := set.ID.Version()
	set2, err := c.SetSecret(ctx, "db-password", azsecrets.SetSecretParameters{Value: to.Ptr("second")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	latest, err := c.GetSecret(ctx, "db-password", "", nil)
	if err != nil || *latest.Value != "second" || latest.ID.Version() != set2.ID.Version() {
		t.Fatalf("GetSecret latest = %+v, %v", latest, err)
	}
	old, err := c.GetSecret(ctx, "db-password", v1, nil)
	if err != nil || *old.Value != value || *old.ContentType != "text/plain" || *old.Tags["env"] != "dev" {
		t.Fatalf("GetSecret(v1) = %+v, %v", old, err)
	}

	// Update attributes of v1: disabled, expiry, content type, tags.
	exp := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	up, err := c.UpdateSecretProperties(ctx, "db-password", v1, azsecrets.UpdateSecretPropertiesParameters{
		ContentType: to.Ptr("application/json"), Tags: map[string]*string{"k": to.Ptr("v")},
		SecretAttributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(false), Expires: &exp}}, nil)
	if err != nil || *up.Attributes.Enabled || !up.Attributes.Expires.Equal(exp) || *up.ContentType != "application/json" || up.Value != nil {
		t.Fatalf("UpdateSecretProperties = %+v, %v", up, err)
	}
	_, err = c.GetSecret(ctx, "db-password", v1, nil)
	if status(err) != 403 || !strings.Contains(err.Error(), "Operation get is not allowed on a disabled secret.") {
		t.Fatalf("get of a disabled version: %v", err)
	}

	// List versions and secrets, through nextLink pages (the SDK asks 25 a page).
	var versions []string
	for pg := c.NewListSecretPropertiesVersionsPager("db-password", nil); pg.More(); {
		p, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range p.Value {
			versions = append(versions, s.ID.Version())
		}
	}
	if len(versions) != 2 || versions[0] != v1 {
		t.Errorf("versions = %v", versions)
	}
	for i := range 30 {
		if _, err := c.SetSecret(ctx, fmt.Sprintf("s-%02d", i), azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	pages := 0
	for pg := c.NewListSecretPropertiesPager(nil); pg.More(); pages++ {
		p, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range p.Value {
			if s.ID.Version() != "" {
				t.Errorf("a list item's id has a version: %s", *s.ID)
			}
			names = append(names, s.ID.Name())
		}
	}
	if len(names) != 31 || pages != 2 || names[0] != "db-password" || names[30] != "s-29" {
		t.Errorf("listed %d names in %d pages: %v", len(names), pages, names)
	}

	// Backup, then delete, conflict, get deleted, recover, delete, purge, restore.
	bk, err := c.BackupSecret(ctx, "db-password", nil)
	if err != nil || len(bk.Value) == 0 || bytes.Contains(bk.Value, []byte(value)) {
		t.Fatalf("BackupSecret = %d bytes, %v", len(bk.Value), err)
	}
	del, err := c.DeleteSecret(ctx, "db-password", nil)
	if err != nil || del.DeletedDate == nil || del.ScheduledPurgeDate.Sub(*del.DeletedDate) != 90*24*time.Hour || !strings.HasSuffix(*del.RecoveryID, "/deletedsecrets/db-password") {
		t.Fatalf("DeleteSecret = %+v, %v", del, err)
	}
	_, err = c.SetSecret(ctx, "db-password", azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil)
	if status(err) != 409 || errCode(err) != "Conflict" || !strings.Contains(err.Error(), "deleted but recoverable") {
		t.Fatalf("set on a deleted name: %v", err)
	}
	_, err = c.GetSecret(ctx, "db-password", "", nil)
	if status(err) != 404 || errCode(err) != "SecretNotFound" {
		t.Fatalf("get of a deleted secret: %v", err)
	}
	gd, err := c.GetDeletedSecret(ctx, "db-password", nil)
	if err != nil || gd.ID.Name() != "db-password" {
		t.Fatalf("GetDeletedSecret = %+v, %v", gd, err)
	}
	var deleted []string
	for pg := c.NewListDeletedSecretPropertiesPager(nil); pg.More(); {
		p, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range p.Value {
			deleted = append(deleted, s.ID.Name())
		}
	}
	if len(deleted) != 1 || deleted[0] != "db-password" {
		t.Errorf("deleted = %v", deleted)
	}
	if _, err := c.RecoverDeletedSecret(ctx, "db-password", nil); err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetSecret(ctx, "db-password", "", nil); err != nil || *got.Value != "second" {
		t.Fatalf("after recover = %+v, %v", got, err)
	}
	if _, err := c.DeleteSecret(ctx, "db-password", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PurgeDeletedSecret(ctx, "db-password", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetDeletedSecret(ctx, "db-password", nil); status(err) != 404 {
		t.Fatalf("deleted secret after purge: %v", err)
	}
	rs, err := c.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: bk.Value}, nil)
	if err != nil || rs.ID.Name() != "db-password" {
		t.Fatalf("RestoreSecret = %+v, %v", rs, err)
	}
	if got, err := c.GetSecret(ctx, "db-password", "", nil); err != nil || *got.Value != "second" {
		t.Fatalf("after restore = %+v, %v", got, err)
	}
	// Restore refuses when the name exists.
	if _, err := c.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: bk.Value}, nil); status(err) != 409 {
		t.Fatalf("restore over an existing name: %v", err)
	}
	// A backup restores into another vault of the installation.
	c2, _ := e.sdk(t, e.vaultURL("kv2"), "token-for-kv2")
	if _, err := c2.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: bk.Value}, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := c2.GetSecret(ctx, "db-password", v1, nil); err != nil || *got.Value != value {
		// v1 was disabled when backed up: the 403 proves the attributes came along.
		if status(err) != 403 {
			t.Fatalf("restored v1 in kv2 = %+v, %v", got, err)
		}
	}

	if strings.Contains(e.logs.String(), value) || strings.Contains(e.logs.String(), "second") {
		t.Error("a secret value reached the log")
	}
	if !strings.Contains(e.logs.String(), "key vault request") {
		t.Error("the handler logged nothing: the log check above proves nothing")
	}
}

func TestAzsecrets_AzureHostChallenge(t *testing.T) {
	e := newEnv(t)
	// Inside sandboxes apps use <vault>.vault.azure.net: the challenge must
	// name https://vault.azure.net or the SDK refuses to send its token.
	c, cred := e.sdk(t, fmt.Sprintf("https://kv1.vault.azure.net:%s", e.port()), "token-for-kv1")
	if _, err := c.SetSecret(t.Context(), "a", azsecrets.SetSecretParameters{Value: to.Ptr("b")}, nil); err != nil {
		t.Fatal(err)
	}
	if got := cred.asked[0].Scopes[0]; got != "https://vault.azure.net:"+e.port()+"/.default" {
		t.Errorf("scope = %s", got)
	}
	if got := keyvault.ResourceForHost("kv1.vault.azure.net"); got != "https://vault.azure.net" {
		t.Errorf("ResourceForHost = %s", got)
	}
}

func TestAzsecrets_ExpiryAndNotBefore(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	c, _ := e.sdk(t, e.vaultURL("kv1"), "token-for-kv1")
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	for _, tc := range []struct {
		name  string
		attrs azsecrets.SecretAttributes
		msg   string
	}{
		{"expired", azsecrets.SecretAttributes{Expires: &past}, "expired secret"},
		{"not-yet", azsecrets.SecretAttributes{NotBefore: &future}, "not yet valid"},
		{"disabled", azsecrets.SecretAttributes{Enabled: to.Ptr(false)}, "disabled secret"},
	} {
		if _, err := c.SetSecret(ctx, tc.name, azsecrets.SetSecretParameters{Value: to.Ptr("v"), SecretAttributes: &tc.attrs}, nil); err != nil {
			t.Fatal(err)
		}
		_, err := c.GetSecret(ctx, tc.name, "", nil)
		if status(err) != 403 || errCode(err) != "Forbidden" || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestAzsecrets_Refusals(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()

	// A wrong token: 401, and the SDK gives up.
	bad, _ := e.sdk(t, e.vaultURL("kv1"), "token-for-kv2")
	if _, err := bad.SetSecret(ctx, "x", azsecrets.SetSecretParameters{Value: to.Ptr("y")}, nil); status(err) != 401 {
		t.Fatalf("wrong token: %v", err)
	}
	// RBAC refusal and access-policy refusal.
	e.denied = "GetSecret"
	c, _ := e.sdk(t, e.vaultURL("kv1"), "token-for-kv1")
	if _, err := c.SetSecret(ctx, "x", azsecrets.SetSecretParameters{Value: to.Ptr("y")}, nil); err != nil {
		t.Fatal(err)
	}
	_, err := c.GetSecret(ctx, "x", "", nil)
	if status(err) != 403 || !strings.Contains(err.Error(), "ForbiddenByRbac") || !strings.Contains(err.Error(), "secrets/getSecret/action") {
		t.Fatalf("RBAC refusal: %v", err)
	}
	e.denied = ""
	cp, _ := e.sdk(t, e.vaultURL("kvp"), "token-for-kvp")
	if _, err := cp.SetSecret(ctx, "x", azsecrets.SetSecretParameters{Value: to.Ptr("y")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.BackupSecret(ctx, "x", nil); status(err) != 403 || !strings.Contains(err.Error(), "does not have secrets backup permission") {
		t.Fatalf("access policy refusal: %v", err)
	}
	// Purge protection: a deleted secret cannot be purged.
	if _, err := cp.DeleteSecret(ctx, "x", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.PurgeDeletedSecret(ctx, "x", nil); status(err) != 403 {
		t.Fatalf("purge under purge protection: %v", err)
	}

	// Oversized value.
	if _, err := c.SetSecret(ctx, "big", azsecrets.SetSecretParameters{Value: to.Ptr(strings.Repeat("a", 25*1024+1))}, nil); status(err) != 400 {
		t.Fatalf("oversized value: %v", err)
	}
	if _, err := c.SetSecret(ctx, "big", azsecrets.SetSecretParameters{Value: to.Ptr(strings.Repeat("a", 25*1024))}, nil); err != nil {
		t.Fatalf("a 25 KiB value: %v", err)
	}
	// Names that are not names, including traversal.
	for _, n := range []string{"../kv2/x", "a_b", strings.Repeat("a", 128), "..", "a%2Fb"} {
		if _, err := c.SetSecret(ctx, n, azsecrets.SetSecretParameters{Value: to.Ptr("y")}, nil); status(err) != 400 && status(err) != 404 {
			t.Errorf("name %q: %v", n, err)
		}
	}
	// A tampered backup does not restore.
	bk, err := c.BackupSecret(ctx, "x", nil)
	if err != nil {
		t.Fatal(err)
	}
	bk.Value[len(bk.Value)/2] ^= 1
	if _, err := c.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: bk.Value}, nil); status(err) != 400 {
		t.Fatalf("tampered backup: %v", err)
	}
}

// raw sends a request with the wire client, for what the SDK never sends.
func (e *env) raw(t *testing.T, method, url, token, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&m) //nolint:errcheck // 204 has no body
	return resp, m
}

func TestWire_ChallengeAndApiVersion(t *testing.T) {
	e := newEnv(t)
	u := e.vaultURL("kv1")
	resp, m := e.raw(t, "GET", u+"/secrets?api-version=7.4", "", "")
	wantChallenge := fmt.Sprintf(`Bearer authorization="%s/tenant-1", resource="https://vault.localhost:%s"`, authority, e.port())
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != wantChallenge {
		t.Fatalf("no token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if m["error"].(map[string]any)["code"] != "Unauthorized" {
		t.Errorf("body = %v", m)
	}
	// Another vault's token against this vault's host: 401 with the challenge.
	resp, _ = e.raw(t, "GET", u+"/secrets?api-version=7.4", "token-for-kv2", "")
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("other vault's token: %d", resp.StatusCode)
	}
	for _, q := range []string{"", "?api-version=", "?api-version=1.0", "?api-version=7.4;drop"} {
		resp, m := e.raw(t, "GET", u+"/secrets"+q, "token-for-kv1", "")
		if resp.StatusCode != 400 || m["error"].(map[string]any)["code"] != "BadParameter" {
			t.Errorf("api-version %q: %d %v", q, resp.StatusCode, m)
		}
	}
	for _, v := range []string{"7.0", "7.4", "7.6-preview.2", "2025-07-01", "2026-04-01"} {
		if resp, _ := e.raw(t, "GET", u+"/secrets?api-version="+v, "token-for-kv1", ""); resp.StatusCode != 200 {
			t.Errorf("api-version %s: %d", v, resp.StatusCode)
		}
	}
	// Keys and certificates are not served.
	if resp, _ := e.raw(t, "GET", u+"/keys?api-version=7.4", "token-for-kv1", ""); resp.StatusCode != 404 {
		t.Errorf("keys: %d", resp.StatusCode)
	}
	// maxresults bounds, and a forged skip token.
	for _, q := range []string{"&maxresults=0", "&maxresults=26", "&maxresults=x", "&$skiptoken=%25%25", "&$skiptoken=Li4vLi4v"} {
		if resp, _ := e.raw(t, "GET", u+"/secrets?api-version=7.4"+q, "token-for-kv1", ""); resp.StatusCode != 400 {
			t.Errorf("list %s: %d", q, resp.StatusCode)
		}
	}
	// A body that is not JSON is refused without being echoed.
	resp, m = e.raw(t, "PUT", u+"/secrets/a?api-version=7.4", "token-for-kv1", `{"value":"leak-me-123"`)
	if resp.StatusCode != 400 || strings.Contains(fmt.Sprint(m), "leak-me-123") {
		t.Errorf("bad JSON: %d %v", resp.StatusCode, m)
	}
	// A Host naming another vault is that vault, with its own token: the
	// token of kv1 does not open kv2.
	resp, _ = e.raw(t, "GET", e.vaultURL("kv2")+"/secrets?api-version=7.4", "token-for-kv1", "")
	if resp.StatusCode != 401 {
		t.Errorf("kv1's token on kv2's host: %d", resp.StatusCode)
	}
}

func TestVaultFromHost(t *testing.T) {
	for _, tc := range []struct {
		host string
		want string
		ok   bool
	}{
		{"kv1.vault.localhost:8443", "kv1", true},
		{"KV1.Vault.Azure.Net", "KV1", true},
		{"kv1.vault.example.com", "", false},
		{"a.kv1.vault.localhost", "", false},
		{"kv1.blob.localhost", "", false},
		{"x_y.vault.localhost", "", false},
		{"vault.localhost", "", false},
	} {
		got, ok := keyvault.VaultFromHost(tc.host, "vault.localhost", ".vault.azure.net")
		if got != tc.want || ok != tc.ok {
			t.Errorf("VaultFromHost(%q) = %q, %v", tc.host, got, ok)
		}
	}
}
