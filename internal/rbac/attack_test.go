package rbac

import "testing"

// The router and ActionFor fold case with strings.EqualFold, under which
// U+017F (ſ) is 's' and U+212A (Kelvin sign) is 'k'; patterns must match
// such spellings alike, or a NotActions entry can be stepped around.
func TestAttack_MatchActionFoldsAsRouter(t *testing.T) {
	contributor := RoleByID("b24988ac-6180-42a0-ab88-20f7382dd24c")
	for _, action := range []string{
		"Microsoft.Authorization/roleAssignments/write",
		"Micro\u017foft.Authorization/roleAssignments/write",
		"MICRO\u017fOFT.AUTHORIZATION/ROLEA\u017f\u017fIGNMENTS/WRITE",
	} {
		if contributor.Allows(action, false) {
			t.Errorf("Contributor allows %q", action)
		}
	}
	for _, c := range []struct {
		pattern, action string
		want            bool
	}{
		{"Microsoft.Web/sites/*", "micro\u017foft.web/\u017fites/write", true},
		{"Microsoft.Web/sites/*", "Microsoft.Web/sitez/write", false},
		{"*/read", "Microsoft.Web/sites/\u212aeys/read", true},
		{"Microsoft.Web/*/Delete", "Microsoft.Web/sites/delete", true},
		{"a*b", "a\u00e9\u00e9b", true},
		{"a?b", "axb", false},
	} {
		if got := MatchAction(c.pattern, c.action); got != c.want {
			t.Errorf("MatchAction(%q, %q) = %v, want %v", c.pattern, c.action, got, c.want)
		}
	}
}

// An assignment stored at a role assignment's id (before CleanScope
// refused such scopes) grants nothing: ActionFor checks writing the
// assignment .../roleAssignments/{name} over that very id, so a role there
// would let its holder create {name} at the parent scope — Owner of the
// resource group.
func TestAttack_AssignmentAtAnAssignmentsIDGrantsNothing(t *testing.T) {
	const (
		rg   = "/subscriptions/x/resourceGroups/rg"
		name = "9b1f4a1e-6c1d-4f7a-8d3e-2a4b6c8d0e22"
		who  = "7f2c6b4e-1d2a-4c3b-9e8f-0a1b2c3d4e61"
	)
	st := &MemoryStore{}
	if err := st.CreateRoleAssignment(t.Context(), Assignment{
		Name: "9b1f4a1e-6c1d-4f7a-8d3e-2a4b6c8d0e23", Scope: rg + "/providers/Microsoft.Authorization/roleAssignments/" + name,
		RoleDefinitionID: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", PrincipalID: who, PrincipalType: PrincipalUser,
	}); err != nil {
		t.Fatal(err)
	}
	a := New(Config{Store: st})
	action, scope := ActionFor("PUT", rg+"/providers/Microsoft.Authorization/roleAssignments/"+name)
	if err := a.Check(t.Context(), who, action, scope, false); err == nil {
		t.Errorf("a role at %s grants %s over it", scope, action)
	}
}
