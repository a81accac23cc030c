package rbac

import (
	"errors"
	"fmt"
	"testing"
)

// TestAttackAssignmentsWithoutEnd: the Owner of a resource group may
// assign roles at it and below, and a scope below it need not name a
// stored resource (.../providers/Microsoft.Foo/bars/{anything}), so each
// new name made a new assignment: a row in the platform's database and an
// entry every request's authorization holds in memory, reloaded whole at
// each creation, without end. Azure stops at 4,000 per subscription; here
// a resource group (the subscription's own scope likewise) holds at most
// Config.MaxGroupAssignments (MaxGroupAssignments, 4,000, by default),
// and deleting one makes room.
func TestAttackAssignmentsWithoutEnd(t *testing.T) {
	const (
		rg     = "/subscriptions/x/resourceGroups/rg"
		reader = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
		who    = "7f2c6b4e-1d2a-4c3b-9e8f-0a1b2c3d4e61"
	)
	const limit = 50
	if New(Config{}).cfg.MaxGroupAssignments != MaxGroupAssignments {
		t.Errorf("the default limit is not MaxGroupAssignments")
	}
	a := New(Config{Store: &MemoryStore{}, MaxGroupAssignments: limit})
	mk := func(i int, scope string) Assignment {
		return Assignment{Name: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Scope: scope,
			RoleDefinitionID: reader, PrincipalID: who, PrincipalType: PrincipalUser}
	}
	for i := range limit {
		scope := rg
		if i > 0 {
			scope = fmt.Sprintf("%s/providers/Microsoft.Foo/bars/b%d", rg, i)
		}
		if _, _, err := a.Create(t.Context(), mk(i, scope), ""); err != nil {
			t.Fatalf("assignment %d: %v", i, err)
		}
	}
	_, _, err := a.Create(t.Context(), mk(limit, rg+"/providers/Microsoft.Foo/bars/more"), "")
	if !errors.Is(err, ErrRoleAssignmentLimit) {
		t.Fatalf("assignment past the limit: err = %v, want ErrRoleAssignmentLimit", err)
	}
	// Another group is not held to this one's count.
	if _, _, err := a.Create(t.Context(), mk(limit+1, "/subscriptions/x/resourceGroups/other"), ""); err != nil {
		t.Errorf("assignment in another group: %v", err)
	}
	if _, err := a.Delete(t.Context(), rg, mk(0, rg).Name); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Create(t.Context(), mk(limit, rg+"/providers/Microsoft.Foo/bars/more"), ""); err != nil {
		t.Errorf("assignment after one was deleted: %v", err)
	}
}
