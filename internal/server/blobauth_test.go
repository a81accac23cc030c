package server

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/slipway-dev/slipway/internal/blob"
	"github.com/slipway-dev/slipway/internal/identity"
	"github.com/slipway-dev/slipway/internal/rbac"
)

// The blob service's BearerAuth, over a real token service and real role
// assignments: which audiences it accepts, and how it reports refusals.
func TestBlobBearer(t *testing.T) {
	ctx := t.Context()
	st, sub, tenant := openTestStore(t)
	id, err := identity.New(ctx, identity.Config{Store: st, TenantID: tenant, Resources: []string{
		"https://storage.azure.com/", "https://management.azure.com/",
		"https://acct.blob.core.windows.net", "https://acct.blob.slipway.test", "https://other.blob.core.windows.net",
	}})
	if err != nil {
		t.Fatal(err)
	}
	authz := rbac.New(rbac.Config{Store: st})
	b := newBlobBearer(id, authz, "slipway.test")

	creds, err := id.CreateServicePrincipal(ctx, "app", 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.PrincipalByAppID(ctx, creds.AppID)
	if err != nil {
		t.Fatal(err)
	}
	token := func(resource string) string {
		tok, err := id.Issue(ctx, p, resource, 0)
		if err != nil {
			t.Fatal(err)
		}
		return tok.AccessToken
	}
	for _, tc := range []struct {
		resource, account string
		ok                bool
	}{
		{"https://storage.azure.com/", "acct", true},
		{"https://acct.blob.core.windows.net", "acct", true},
		{"https://acct.blob.slipway.test", "acct", true},
		{"https://other.blob.core.windows.net", "acct", false}, // another account's
		{"https://management.azure.com/", "acct", false},
	} {
		oid, tid, err := b.Authenticate(ctx, tc.account, token(tc.resource))
		if (err == nil) != tc.ok {
			t.Errorf("token for %s at %s: err %v, want ok=%v", tc.resource, tc.account, err, tc.ok)
		}
		if tc.ok && (oid != p.ObjectID || tid != tenant) {
			t.Errorf("token for %s: principal %s tenant %s, want %s %s", tc.resource, oid, tid, p.ObjectID, tenant)
		}
	}
	if _, _, err := b.Authenticate(ctx, "acct", "garbage"); err == nil {
		t.Error("a malformed token was accepted")
	}

	acct := "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct"
	if _, _, err := authz.Create(ctx, rbac.Assignment{Name: uuid.NewString(), Scope: acct,
		RoleDefinitionID: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", PrincipalID: p.ObjectID, PrincipalType: rbac.PrincipalServicePrincipal}, ""); err != nil {
		t.Fatal(err)
	}
	scope := acct + "/blobServices/default/containers/media"
	read := "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
	write := "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
	if err := b.Authorize(ctx, p.ObjectID, read, scope, true); err != nil {
		t.Errorf("Storage Blob Data Reader cannot read: %v", err)
	}
	if err := b.Authorize(ctx, p.ObjectID, write, scope, true); !errors.Is(err, blob.ErrNotAuthorized) {
		t.Errorf("Storage Blob Data Reader writing: %v, want ErrNotAuthorized", err)
	}
	if got := b.AuthorizationURI(); got != "https://login.microsoftonline.com/"+strings.ToLower(tenant)+"/oauth2/authorize" {
		t.Errorf("AuthorizationURI = %s", got)
	}
}
