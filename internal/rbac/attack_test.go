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
