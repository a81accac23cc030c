package server

import (
	"io"
	"log/slog"
	"testing"

	"github.com/google/uuid"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/rbac"
	"github.com/slipway-dev/slipway/internal/store"
)

// openTestStore opens a store in a temporary directory, closed at the
// test's end, with its subscription and tenant.
func openTestStore(t *testing.T) (st *store.Store, sub, tenant string) {
	t.Helper()
	st, err := store.Open(t.Context(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sub, tenant, err = st.Identity(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return st, sub, tenant
}

// TestKuduTokens: Kudu takes a Bearer token for the management audience
// (the platform's name of it and Azure's two), and no other: a token the
// platform issued for Key Vault, Storage or Graph, or one it did not
// issue, names no principal. The principal's right to use Kudu is then
// its right to deploy: a Reader's token is refused, a Website
// Contributor's taken.
func TestKuduTokens(t *testing.T) {
	ctx := t.Context()
	st, sub, tenant := openTestStore(t)
	p, err := newPlatformIdentity(ctx, st, sub, tenant, "slipway.test", "", "admin-token", t.TempDir(), nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	tokens, users := p.kuduTokens(), p.deploymentUsers()
	principal := func(name string) store.Principal {
		creds, err := p.svc.CreateServicePrincipal(ctx, name, 0)
		if err != nil {
			t.Fatal(err)
		}
		pr, err := st.PrincipalByAppID(ctx, creds.AppID)
		if err != nil {
			t.Fatal(err)
		}
		return pr
	}
	ci := principal("ci")
	for _, tc := range []struct {
		resource string
		ok       bool
	}{
		{p.managementURL, true},
		{"https://management.azure.com/", true},
		{"https://management.core.windows.net/", true},
		{"https://vault.azure.net", false},
		{"https://storage.azure.com/", false},
		{p.graphURL, false},
	} {
		tok, err := p.svc.Issue(ctx, ci, tc.resource, 0)
		if err != nil {
			t.Fatal(err)
		}
		oid, err := tokens.ManagementPrincipal(ctx, tok.AccessToken)
		if (err == nil) != tc.ok || tc.ok && oid != ci.ObjectID {
			t.Errorf("a token for %s: principal %q, err %v; want accepted=%v", tc.resource, oid, err, tc.ok)
		}
	}
	for _, bad := range []string{"admin-token", "garbage", ""} {
		if oid, err := tokens.ManagementPrincipal(ctx, bad); err == nil {
			t.Errorf("the token %q named principal %q", bad, oid)
		}
	}

	site := slipway.Site{ResourceGroup: "rg", Name: "app"}
	rg := "/subscriptions/" + sub + "/resourceGroups/rg"
	reader := principal("reader")
	for _, a := range []struct {
		who  store.Principal
		role string
	}{{reader, "acdd72a7-3385-48ef-bd42-f606fba81ae7"}, {ci, "de139f84-1756-47ae-9be6-808fbbe84772"}} { // Reader, Website Contributor
		if _, _, err := p.authz.Create(ctx, rbac.Assignment{Name: uuid.NewString(), Scope: rg, RoleDefinitionID: a.role,
			PrincipalID: a.who.ObjectID, PrincipalType: rbac.PrincipalServicePrincipal}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := users.MayPublish(ctx, reader.ObjectID, site); slipway.ErrorCode(err) != slipway.EFORBIDDEN {
		t.Errorf("a Reader may use Kudu: %v", err)
	}
	if err := users.MayPublish(ctx, ci.ObjectID, site); err != nil {
		t.Errorf("a Website Contributor may not use Kudu: %v", err)
	}
}
