package kvref

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/keyvault"
	"github.com/slipway-dev/slipway/internal/rbac"
	"github.com/slipway-dev/slipway/internal/store"
)

var suffixes = []string{"vault.localhost", "vault.azure.net"}

const version = "0123456789abcdef0123456789abcdef"

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Reference
	}{
		{"@Microsoft.KeyVault(SecretUri=https://kv1.vault.azure.net/secrets/db-password/)", Reference{"kv1", "db-password", ""}},
		{"@Microsoft.KeyVault(SecretUri=https://kv1.vault.azure.net/secrets/db-password)", Reference{"kv1", "db-password", ""}},
		{"@Microsoft.KeyVault(SecretUri=https://kv1.vault.azure.net/secrets/db-password/" + version + ")", Reference{"kv1", "db-password", version}},
		{"@Microsoft.KeyVault(SecretUri=https://KV1.Vault.Localhost:8443/secrets/x/)", Reference{"KV1", "x", ""}},
		{"@Microsoft.KeyVault(VaultName=kv1;SecretName=secret-key)", Reference{"kv1", "secret-key", ""}},
		{"  @Microsoft.KeyVault(VaultName=kv1; SecretName=secret-key; SecretVersion=" + version + ";)  ", Reference{"kv1", "secret-key", version}},
		{"@microsoft.keyvault(secretname=s;vaultname=kv1)", Reference{"kv1", "s", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if !IsReference(tc.in) {
				t.Fatalf("IsReference = false")
			}
			got, err := Parse(tc.in, suffixes)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseHostile: references that must not resolve, each with its status.
func TestParseHostile(t *testing.T) {
	tests := []struct {
		name, in string
		status   Status
		says     string
	}{
		{"another host", "@Microsoft.KeyVault(SecretUri=https://evil.example/secrets/x/)", VaultNotFound, "not a key vault of this platform"},
		{"a vault-looking host elsewhere", "@Microsoft.KeyVault(SecretUri=https://kv1.vault.azure.net.evil.example/secrets/x/)", VaultNotFound, "evil.example"},
		{"an address", "@Microsoft.KeyVault(SecretUri=https://169.254.169.254/secrets/x/)", VaultNotFound, "never fetches"},
		{"http", "@Microsoft.KeyVault(SecretUri=http://kv1.vault.azure.net/secrets/x/)", InvalidSyntax, "https"},
		{"credentials", "@Microsoft.KeyVault(SecretUri=https://u:p@kv1.vault.azure.net/secrets/x/)", InvalidSyntax, "credentials"},
		{"query", "@Microsoft.KeyVault(SecretUri=https://kv1.vault.azure.net/secrets/x/?api-version=7.4)", InvalidSyntax, "query"},
		{"keys path", "@Microsoft.KeyVault(SecretUri=https://kv1.vault.azure.net/keys/x/)", InvalidSyntax, "/secrets/<name>"},
		{"traversal", "@Microsoft.KeyVault(SecretUri=https://kv1.vault.azure.net/secrets/../keys/x)", InvalidSyntax, "secret"},
		{"escaped slash", "@Microsoft.KeyVault(SecretUri=https://kv1.vault.azure.net/secrets/a%2Fb)", InvalidSyntax, "secret name"},
		{"too deep", "@Microsoft.KeyVault(SecretUri=https://kv1.vault.azure.net/secrets/x/" + version + "/more)", InvalidSyntax, "/secrets/<name>"},
		{"bad version", "@Microsoft.KeyVault(VaultName=kv1;SecretName=x;SecretVersion=latest)", InvalidSyntax, "version"},
		{"missing secret name", "@Microsoft.KeyVault(VaultName=kv1)", InvalidSyntax, "both VaultName and SecretName"},
		{"unknown part", "@Microsoft.KeyVault(VaultName=kv1;SecretName=x;Tenant=t)", InvalidSyntax, "tenant"},
		{"duplicate part", "@Microsoft.KeyVault(VaultName=kv1;VaultName=kv2;SecretName=x)", InvalidSyntax, "twice"},
		{"bad vault name", "@Microsoft.KeyVault(VaultName=k;SecretName=x)", InvalidSyntax, "vault name"},
		{"no closing parenthesis", "@Microsoft.KeyVault(VaultName=kv1;SecretName=x", InvalidSyntax, "has the form"},
		{"nested", "@Microsoft.KeyVault(VaultName=kv1;SecretName=@Microsoft.KeyVault(x))", InvalidSyntax, "parenthesis"},
		{"newline", "@Microsoft.KeyVault(VaultName=kv1;\nSecretName=x)", InvalidSyntax, "control"},
		{"huge", "@Microsoft.KeyVault(VaultName=kv1;SecretName=" + strings.Repeat("a", 5000) + ")", InvalidSyntax, "at most"},
		{"empty", "@Microsoft.KeyVault()", InvalidSyntax, "both"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.in, suffixes)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse = %v, want a ParseError", err)
			}
			if pe.Status != tc.status || !strings.Contains(strings.ToLower(pe.Message), strings.ToLower(tc.says)) {
				t.Errorf("Parse = %s %q, want %s saying %q", pe.Status, pe.Message, tc.status, tc.says)
			}
			if len(pe.Message) > 600 {
				t.Errorf("the message is %d bytes: hostile input is echoed unbounded", len(pe.Message))
			}
		})
	}
	for _, plain := range []string{"", "hunter2", "Microsoft.KeyVault(VaultName=kv1;SecretName=x)", "x@Microsoft.KeyVault("} {
		if IsReference(plain) {
			t.Errorf("IsReference(%q) = true", plain)
		}
	}
}

// fakeIdentities is the identity seam: the managed identity of a site is
// not part of this package.
type fakeIdentities map[string]Identity

func (f fakeIdentities) ReferenceIdentity(ctx context.Context, s slipway.Site) (Identity, error) {
	id, ok := f[s.Name]
	if !ok {
		return Identity{}, ErrNoIdentity
	}
	return id, nil
}

type env struct {
	st      *store.Store
	res     *Resolver
	sub     string
	tenant  string
	app     Identity
	policyV slipway.Vault // access policy vault, the app may get
	rbacV   slipway.Vault // RBAC vault, no role yet
	authz   *rbac.Authorizer
	now     time.Time
	logs    *strings.Builder
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{st: st, now: time.Now(), logs: &strings.Builder{}}
	e.sub, e.tenant, _ = st.Identity(ctx)
	e.app = Identity{Type: "SystemAssigned", Principal: keyvault.Principal{ObjectID: "11111111-1111-1111-1111-111111111111", TenantID: e.tenant}}
	if _, _, err := st.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "rg", Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	e.policyV, _, err = st.PutVault(ctx, slipway.Vault{ResourceGroup: "rg", Name: "kv-policy", TenantID: e.tenant,
		AccessPolicies: []slipway.AccessPolicy{{TenantID: e.tenant, ObjectID: e.app.ObjectID, Secrets: []string{"get"}}}})
	if err != nil {
		t.Fatal(err)
	}
	e.rbacV, _, err = st.PutVault(ctx, slipway.Vault{ResourceGroup: "rg", Name: "kv-rbac", TenantID: e.tenant, EnableRBACAuthorization: true})
	if err != nil {
		t.Fatal(err)
	}
	e.authz = rbac.New(rbac.Config{Store: st})
	access := keyvault.Access{Subscription: e.sub, Roles: func(ctx context.Context, oid, action, scope string) error {
		return e.authz.Check(ctx, oid, action, scope, true)
	}}
	e.res, err = New(Config{Store: st, Access: access, Identities: fakeIdentities{"app": e.app}, VaultSuffixes: suffixes,
		Now: func() time.Time { return e.now }, Logger: slog.New(slog.NewTextHandler(e.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) secret(t *testing.T, vault, name, value string) slipway.Secret {
	t.Helper()
	s, err := e.st.SetSecret(t.Context(), slipway.Secret{Vault: vault, Name: name, Value: value, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func statuses(r Resolution) map[string]Status {
	out := map[string]Status{}
	for _, x := range r.Results {
		out[x.Name] = x.Status
	}
	return out
}

func TestResolve(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	v1 := e.secret(t, "kv-policy", "db-password", "first-password-value")
	e.secret(t, "kv-policy", "secret-key", "django-secret-key-value")
	e.secret(t, "kv-rbac", "token", "rbac-token-value")
	disabled, err := e.st.SetSecret(ctx, slipway.Secret{Vault: "kv-policy", Name: "off", Value: "disabled-value", Enabled: false})
	if err != nil {
		t.Fatal(err)
	}
	_ = disabled
	settings := map[string]string{
		"PLAIN":          "stays",
		"SECRET_KEY":     "@Microsoft.KeyVault(VaultName=kv-policy;SecretName=secret-key)",
		"DB_PASSWORD":    "@Microsoft.KeyVault(SecretUri=https://kv-policy.vault.localhost/secrets/db-password/)",
		"PINNED":         "@Microsoft.KeyVault(SecretUri=https://kv-policy.vault.azure.net/secrets/db-password/" + v1.Version + ")",
		"MISSING":        "@Microsoft.KeyVault(VaultName=kv-policy;SecretName=nope)",
		"MISSING_VER":    "@Microsoft.KeyVault(VaultName=kv-policy;SecretName=db-password;SecretVersion=" + version + ")",
		"NO_VAULT":       "@Microsoft.KeyVault(VaultName=kv-gone;SecretName=x)",
		"DENIED":         "@Microsoft.KeyVault(VaultName=kv-rbac;SecretName=token)",
		"BAD":            "@Microsoft.KeyVault(VaultName=kv-policy)",
		"DISABLED":       "@Microsoft.KeyVault(VaultName=kv-policy;SecretName=off)",
		"FOREIGN":        "@Microsoft.KeyVault(SecretUri=https://attacker.example/secrets/x)",
		LenientSetting:   "false",
		"SECRET_KEY_TOO": "@Microsoft.KeyVault(VaultName=kv-policy;SecretName=secret-key)",
	}
	conns := map[string]slipway.ConnectionString{
		"default": {Value: "@Microsoft.KeyVault(VaultName=kv-policy;SecretName=db-password)", Type: "PostgreSQL"},
		"other":   {Value: "Server=x", Type: "Custom"},
	}
	site := slipway.Site{Name: "app", ResourceGroup: "rg"}
	r := e.res.Resolve(ctx, site, settings, conns)
	want := map[string]Status{
		"SECRET_KEY": Resolved, "SECRET_KEY_TOO": Resolved, "DB_PASSWORD": Resolved, "PINNED": Resolved, "default": Resolved,
		"MISSING": SecretNotFound, "MISSING_VER": SecretVersionNotFound, "NO_VAULT": VaultNotFound,
		"DENIED": AccessToKeyVaultDenied, "BAD": InvalidSyntax, "DISABLED": OtherReasons, "FOREIGN": VaultNotFound,
	}
	if diff := cmp.Diff(want, statuses(r)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if r.Settings["SECRET_KEY"] != "django-secret-key-value" || r.Settings["DB_PASSWORD"] != "first-password-value" ||
		r.ConnectionStrings["default"].Value != "first-password-value" || r.ConnectionStrings["default"].Type != "PostgreSQL" {
		t.Errorf("resolved configuration: %v %v", r.Settings, r.ConnectionStrings)
	}
	if r.Settings["PLAIN"] != "stays" || r.Settings["MISSING"] != settings["MISSING"] || r.ConnectionStrings["other"].Value != "Server=x" {
		t.Errorf("unresolved or plain values changed")
	}
	if settings["SECRET_KEY"] == r.Settings["SECRET_KEY"] {
		t.Errorf("the input map was changed")
	}
	err = r.Err()
	if err == nil || slipway.ErrorCode(err) != slipway.EINVALID {
		t.Fatalf("Err = %v, want EINVALID", err)
	}
	msg := err.Error()
	for _, says := range []string{"app setting MISSING: SecretNotFound", "app setting DENIED: AccessToKeyVaultDenied", e.app.ObjectID,
		"Key Vault Secrets User", LenientSetting} {
		if !strings.Contains(msg, says) {
			t.Errorf("Err does not say %q:\n%s", says, msg)
		}
	}
	// No value anywhere but in the resolved configuration.
	printed := fmt.Sprintf("%v %+v %#v %s", r, r.Results, r.Results[0], msg) + e.logs.String()
	for _, v := range []string{"first-password-value", "django-secret-key-value", "rbac-token-value", "disabled-value"} {
		if strings.Contains(printed, v) {
			t.Errorf("a value reached printed output or the log: %s", v)
		}
	}
	if got := len(r.Values()); got != 5 {
		t.Errorf("Values has %d entries, want 5", got)
	}

	// A role assignment grants access to the RBAC vault, as the data plane would.
	if _, _, err := e.authz.Create(ctx, rbac.Assignment{Name: "22222222-2222-2222-2222-222222222222",
		Scope: keyvault.Access{Subscription: e.sub}.Scope(e.rbacV), RoleDefinitionID: "4633458b-17de-408a-b874-0445c86b69e6",
		PrincipalID: e.app.ObjectID, PrincipalType: "ServicePrincipal"}, ""); err != nil {
		t.Fatal(err)
	}
	r = e.res.Resolve(ctx, site, map[string]string{"DENIED": settings["DENIED"]}, nil)
	if r.Results[0].Status != Resolved || r.Settings["DENIED"] != "rbac-token-value" || r.Err() != nil {
		t.Errorf("after the role assignment: %v", r)
	}
}

func TestResolveLenient(t *testing.T) {
	e := newEnv(t)
	ref := "@Microsoft.KeyVault(VaultName=kv-policy;SecretName=nope)"
	r := e.res.Resolve(t.Context(), slipway.Site{Name: "app"}, map[string]string{"X": ref, LenientSetting: "true"}, nil)
	if r.Err() != nil || !r.Lenient || r.Settings["X"] != ref || r.Results[0].Status != SecretNotFound {
		t.Errorf("lenient: err %v, X=%q, %v", r.Err(), r.Settings["X"], r)
	}
}

func TestResolveWithoutIdentity(t *testing.T) {
	e := newEnv(t)
	r := e.res.Resolve(t.Context(), slipway.Site{Name: "no-identity"}, map[string]string{"X": "@Microsoft.KeyVault(VaultName=kv-policy;SecretName=x)"}, nil)
	if r.Results[0].Status != MSINotEnabled {
		t.Errorf("status %s, want MSINotEnabled", r.Results[0].Status)
	}
	if none := e.res.Resolve(t.Context(), slipway.Site{Name: "no-identity"}, map[string]string{"A": "b"}, nil); none.Fingerprint() != "" || none.Err() != nil {
		t.Errorf("settings without references: %v", none)
	}
}

// TestFingerprint: it changes when a rotated value resolves, and only then.
func TestFingerprint(t *testing.T) {
	e := newEnv(t)
	e.secret(t, "kv-policy", "rotating", "value-one")
	site := slipway.Site{Name: "app"}
	settings := map[string]string{"R": "@Microsoft.KeyVault(VaultName=kv-policy;SecretName=rotating)"}
	a := e.res.Resolve(t.Context(), site, settings, nil)
	b := e.res.Resolve(t.Context(), site, settings, nil)
	if a.Fingerprint() == "" || a.Fingerprint() != b.Fingerprint() {
		t.Fatalf("fingerprints of the same values differ: %q %q", a.Fingerprint(), b.Fingerprint())
	}
	e.secret(t, "kv-policy", "rotating", "value-two")
	c := e.res.Resolve(t.Context(), site, settings, nil)
	if c.Fingerprint() == a.Fingerprint() || c.Settings["R"] != "value-two" {
		t.Errorf("rotation not seen: %v", c)
	}
	if strings.Contains(c.Fingerprint(), "value") {
		t.Errorf("the fingerprint shows the value")
	}
}
