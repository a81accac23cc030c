package server

import (
	"errors"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/arm"
	"github.com/slipway-dev/slipway/internal/kvref"
	"github.com/slipway-dev/slipway/internal/store"
)

// TestSiteReferenceIdentity: Key Vault references resolve as the identity
// the site's keyVaultReferenceIdentity names, as stored: its
// system-assigned identity by default, else the user-assigned identity,
// which the site must have; otherwise no identity (MSINotEnabled).
func TestSiteReferenceIdentity(t *testing.T) {
	f := newMSIFixture(t)
	ctx := t.Context()
	ids := (&platformIdentity{st: f.st, sub: f.sub, svc: f.svc}).referenceIdentities()
	other, _, err := f.st.PutUserAssignedIdentity(ctx, slipway.UserAssignedIdentity{ResourceGroup: "rg", Name: "unassigned"},
		"/subscriptions/"+f.sub+"/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/unassigned")
	if err != nil {
		t.Fatal(err)
	}
	// The property as the site stores it, read back from the store.
	withIdentity := func(id string) slipway.Site {
		t.Helper()
		s := f.site
		s.KeyVaultReferenceIdentity = id
		if _, _, err := f.st.PutSite(ctx, s); err != nil {
			t.Fatal(err)
		}
		s, err := f.st.Site(ctx, "rg", "app")
		if err != nil || s.KeyVaultReferenceIdentity != id {
			t.Fatalf("stored keyVaultReferenceIdentity = %q (%v), want %q", s.KeyVaultReferenceIdentity, err, id)
		}
		return s
	}

	got, err := ids.ReferenceIdentity(ctx, withIdentity(""))
	if err != nil || got.Type != "SystemAssigned" || got.ObjectID != f.sys.ObjectID || got.ResourceID != "" {
		t.Fatalf("default: %+v, %v; want the system-assigned identity %s", got, err, f.sys.ObjectID)
	}
	uaiID := arm.IdentityResourceID(f.sub, f.uai)
	got, err = ids.ReferenceIdentity(ctx, withIdentity(strings.ToLower(uaiID)))
	if err != nil || got.Type != "UserAssigned" || got.ObjectID != f.uai.PrincipalID || got.ClientID != f.uai.ClientID ||
		got.ResourceID != uaiID || got.TenantID != f.svc.TenantID() {
		t.Fatalf("user-assigned: %+v, %v; want %+v", got, err, f.uai)
	}
	// An identity the site does not have, even one that exists, is not
	// used; nor is the system-assigned one in its place.
	for _, id := range []string{arm.IdentityResourceID(f.sub, other), strings.Replace(uaiID, "shared", "deleted", 1)} {
		if got, err := ids.ReferenceIdentity(ctx, withIdentity(id)); !errors.Is(err, kvref.ErrNoIdentity) {
			t.Errorf("%s, not assigned to the site: %+v, %v; want ErrNoIdentity", id, got, err)
		}
	}
	// Detaching the identity from the site takes effect at once.
	withIdentity(uaiID)
	if err := f.st.SetSiteUserAssignedIdentities(ctx, "app", []store.IdentityRef{}); err != nil {
		t.Fatal(err)
	}
	if got, err := ids.ReferenceIdentity(ctx, f.site); err != nil || got.Type != "SystemAssigned" {
		t.Fatalf("f.site has no property set: %+v, %v", got, err)
	}
	s, _ := f.st.Site(ctx, "rg", "app")
	if got, err := ids.ReferenceIdentity(ctx, s); !errors.Is(err, kvref.ErrNoIdentity) {
		t.Errorf("after the identity was detached: %+v, %v; want ErrNoIdentity", got, err)
	}
}
