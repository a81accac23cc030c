package store

import (
	"testing"

	"github.com/slipway-dev/slipway"
)

const testSiteID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app"

func testIdentityID(name string) string {
	return "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + name
}

// TestUserAssignedIdentities: an identity owns a principal from creation to
// deletion, its location is the group's by default and cannot change, and
// assignments to sites go with either side.
func TestUserAssignedIdentities(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	_, _, err := s.PutUserAssignedIdentity(ctx, slipway.UserAssignedIdentity{ResourceGroup: "nope", Name: "id1"}, "x")
	wantCode(t, err, slipway.ENOTFOUND)
	_, _, err = s.PutUserAssignedIdentity(ctx, slipway.UserAssignedIdentity{ResourceGroup: "rg", Name: "a"}, "x")
	wantCode(t, err, slipway.EINVALID)

	id1, created, err := s.PutUserAssignedIdentity(ctx, slipway.UserAssignedIdentity{ResourceGroup: "RG", Name: "id1", Tags: map[string]string{"k": "v"}}, testIdentityID("id1"))
	if err != nil || !created || id1.Location != "westeurope" || id1.ResourceGroup != "rg" || len(id1.PrincipalID) != 36 || len(id1.ClientID) != 36 {
		t.Fatalf("PutUserAssignedIdentity = %+v, %v, %v", id1, created, err)
	}
	p, err := s.PrincipalByAppID(ctx, id1.ClientID)
	if err != nil || p.ObjectID != id1.PrincipalID || p.Kind != UserAssignedIdentity || p.ResourceID != testIdentityID("id1") {
		t.Fatalf("principal of the identity = %+v, %v", p, err)
	}
	again, created, err := s.PutUserAssignedIdentity(ctx, slipway.UserAssignedIdentity{ResourceGroup: "rg", Name: "ID1"}, testIdentityID("id1"))
	if err != nil || created || again.PrincipalID != id1.PrincipalID || again.Tags["k"] != "v" {
		t.Fatalf("second PUT = %+v, %v, %v; want the same identity, tags kept", again, created, err)
	}
	_, _, err = s.PutUserAssignedIdentity(ctx, slipway.UserAssignedIdentity{ResourceGroup: "rg", Name: "id1", Location: "eastus"}, testIdentityID("id1"))
	wantCode(t, err, slipway.ECONFLICT)
	id2, _, err := s.PutUserAssignedIdentity(ctx, slipway.UserAssignedIdentity{ResourceGroup: "rg", Name: "id2"}, testIdentityID("id2"))
	if err != nil {
		t.Fatal(err)
	}
	if list, err := s.UserAssignedIdentities(ctx, ""); err != nil || len(list) != 2 {
		t.Fatalf("UserAssignedIdentities = %+v, %v", list, err)
	}

	if err := s.SetSiteUserAssignedIdentities(ctx, "app", []IdentityRef{{"rg", "id1"}, {"rg", "missing"}}); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Fatalf("assigning a missing identity: %v", err)
	}
	if got, _ := s.SiteUserAssignedIdentities(ctx, "app"); len(got) != 0 {
		t.Fatalf("a failed assignment left %+v", got)
	}
	if err := s.SetSiteUserAssignedIdentities(ctx, "APP", []IdentityRef{{"rg", "id1"}, {"rg", "id2"}, {"RG", "ID2"}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.SiteUserAssignedIdentities(ctx, "app")
	if err != nil || len(got) != 2 || got[0].ClientID != id1.ClientID || got[1].ClientID != id2.ClientID {
		t.Fatalf("SiteUserAssignedIdentities = %+v, %v", got, err)
	}

	if err := s.DeleteUserAssignedIdentity(ctx, "rg", "id1"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteUserAssignedIdentity(ctx, "rg", "id1"), slipway.ENOTFOUND)
	_, err = s.PrincipalByObjectID(ctx, id1.PrincipalID)
	wantCode(t, err, slipway.ENOTFOUND)
	if got, _ := s.SiteUserAssignedIdentities(ctx, "app"); len(got) != 1 || got[0].Name != "id2" {
		t.Fatalf("after deleting id1 the site has %+v; want id2 only", got)
	}
}

// TestManagedIdentitiesGoWithTheirResources: deleting a site deletes its
// system-assigned identity; deleting a group deletes its identities'
// principals; other principals stay.
func TestManagedIdentitiesGoWithTheirResources(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	sys, err := s.CreatePrincipal(ctx, Principal{Kind: SystemAssignedIdentity, DisplayName: "app", ResourceID: testSiteID})
	if err != nil {
		t.Fatal(err)
	}
	// A site whose name ends like this one's keeps its identity.
	other, err := s.CreatePrincipal(ctx, Principal{Kind: SystemAssignedIdentity, DisplayName: "xapp", ResourceID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/xapp"})
	if err != nil {
		t.Fatal(err)
	}
	sp, err := s.CreatePrincipal(ctx, Principal{Kind: ServicePrincipal, DisplayName: "deployer"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSite(ctx, "rg", "app"); err != nil {
		t.Fatal(err)
	}
	_, err = s.PrincipalByObjectID(ctx, sys.ObjectID)
	wantCode(t, err, slipway.ENOTFOUND)
	if _, err := s.PrincipalByObjectID(ctx, other.ObjectID); err != nil {
		t.Fatalf("another site's identity went too: %v", err)
	}

	seed(t, s)
	sys, err = s.CreatePrincipal(ctx, Principal{Kind: SystemAssignedIdentity, DisplayName: "app", ResourceID: testSiteID})
	if err != nil {
		t.Fatal(err)
	}
	uai, _, err := s.PutUserAssignedIdentity(ctx, slipway.UserAssignedIdentity{ResourceGroup: "rg", Name: "id1"}, testIdentityID("id1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetSiteUserAssignedIdentities(ctx, "app", []IdentityRef{{"rg", "id1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteResourceGroup(ctx, "rg"); err != nil {
		t.Fatal(err)
	}
	for _, oid := range []string{sys.ObjectID, uai.PrincipalID} {
		_, err = s.PrincipalByObjectID(ctx, oid)
		wantCode(t, err, slipway.ENOTFOUND)
	}
	if _, err := s.PrincipalByObjectID(ctx, sp.ObjectID); err != nil {
		t.Fatalf("the service principal went with the group: %v", err)
	}
}
