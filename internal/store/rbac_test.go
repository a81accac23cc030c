package store

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/rbac"
)

const (
	testSub       = "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590"
	readerRole    = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	ownerRole     = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	testPrincipal = "11111111-2222-3333-4444-555555555555"
)

func testAssignment(name, scope, role string) rbac.Assignment {
	return rbac.Assignment{
		Name: name, Scope: scope, RoleDefinitionID: role, PrincipalID: testPrincipal,
		PrincipalType: "ServicePrincipal", Description: "ci deployer",
		Created: time.Unix(1700000000, 0).UTC(), Updated: time.Unix(1700000000, 0).UTC(),
		CreatedBy: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
	}
}

func TestRoleAssignments_RoundTripAndReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := testAssignment("6A3C1B2E-0000-4000-8000-000000000001", testSub+"/resourcegroups/RG1", readerRole)
	if err := s.CreateRoleAssignment(t.Context(), a); err != nil {
		t.Fatalf("create: %v", err)
	}
	want := a
	want.Name = strings.ToLower(a.Name)
	want.Scope = testSub + "/resourceGroups/RG1" // canonical words, names keep their case
	got, err := s.RoleAssignments(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]rbac.Assignment{want}, got); diff != "" {
		t.Fatalf("after create (-want +got):\n%s", diff)
	}

	// Same name again, or same role+principal+scope under another name
	// (scope in another casing): conflict.
	wantCode(t, s.CreateRoleAssignment(t.Context(), a), slipway.ECONFLICT)
	dup := testAssignment("6a3c1b2e-0000-4000-8000-000000000002", testSub+"/resourceGroups/rg1", readerRole)
	wantCode(t, s.CreateRoleAssignment(t.Context(), dup), slipway.ECONFLICT)
	// Another role at the same scope is fine.
	other := testAssignment("6a3c1b2e-0000-4000-8000-000000000003", testSub, ownerRole)
	if err := s.CreateRoleAssignment(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	// Invalid input never reaches the table.
	bad := testAssignment("not-a-guid", testSub, readerRole)
	wantCode(t, s.CreateRoleAssignment(t.Context(), bad), slipway.EINVALID)
	// The description can change (az role assignment update); nothing else.
	want.Description, want.Updated = "Some updated description.", time.Unix(1700000100, 0).UTC()
	if u, err := s.SetRoleAssignmentDescription(t.Context(), want.Name, want.Description, want.Updated); err != nil || u.Description != want.Description {
		t.Fatalf("set description: %+v, %v", u, err)
	}
	_, err = s.SetRoleAssignmentDescription(t.Context(), "6a3c1b2e-0000-4000-8000-0000000000ff", "x", want.Updated)
	wantCode(t, err, slipway.ENOTFOUND)

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err = s.RoleAssignments(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != other.Name || got[1].Name != want.Name {
		t.Fatalf("after reopen: %+v", got)
	}
	if diff := cmp.Diff(want, got[1]); diff != "" {
		t.Fatalf("after reopen (-want +got):\n%s", diff)
	}

	old, err := s.DeleteRoleAssignment(t.Context(), strings.ToUpper(want.Name))
	if err != nil || old.Name != want.Name {
		t.Fatalf("delete: %+v, %v", old, err)
	}
	_, err = s.DeleteRoleAssignment(t.Context(), want.Name)
	wantCode(t, err, slipway.ENOTFOUND)
	if got, _ := s.RoleAssignments(t.Context()); len(got) != 1 {
		t.Fatalf("after delete: %+v", got)
	}
}

// TestRoleAssignments_SurviveKill9 creates an assignment in a child process,
// kills it with SIGKILL as soon as CreateRoleAssignment has returned, and
// reads the assignment back: a create is committed before it returns.
func TestRoleAssignments_SurviveKill9(t *testing.T) {
	if dir := os.Getenv("SLIPWAY_TEST_RBAC_CHILD"); dir != "" {
		s, err := Open(t.Context(), dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		a := testAssignment("6a3c1b2e-0000-4000-8000-0000000000aa", testSub, ownerRole)
		if err := s.CreateRoleAssignment(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		os.Stdout.WriteString("committed\n")
		time.Sleep(30 * time.Second) // killed long before
		t.Fatal("not killed")
	}
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestRoleAssignments_SurviveKill9$")
	cmd.Env = append(os.Environ(), "SLIPWAY_TEST_RBAC_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "committed" {
				line <- sc.Text()
				return
			}
		}
		close(line)
	}()
	select {
	case l, ok := <-line:
		if !ok {
			cmd.Wait()
			t.Fatalf("child ended without committing: %s", l)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("child did not commit within 20s")
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()

	s, err := Open(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.RoleAssignments(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "6a3c1b2e-0000-4000-8000-0000000000aa" || got[0].RoleDefinitionID != ownerRole {
		t.Fatalf("after kill -9: %+v", got)
	}
}
