package arm

import (
	"net/http"
	"testing"
)

// TestAttack_AutoscaleOutlivesItsPlan: an autoscale setting names its
// target plan by id, and may live in another group than the plan. When
// the plan goes — alone, or with its group — the setting must go with
// it: a group deleted and made again under its name is the operator's
// next tenant's (TestAttack_DeletedGroupsRolesPassToItsSuccessor), and a
// plan it makes under the old plan's name would otherwise be driven by
// the old tenant's setting (its worker count pinned at that setting's
// minimum, billing the new owner, or held at its maximum), from a group
// the new owner cannot see, and its owner could set no autoscale of its
// own (one setting per plan: 409 naming the old tenant's group).
func TestAttack_AutoscaleOutlivesItsPlan(t *testing.T) {
	_, call := scopeEnv(t)
	as := rgPath + "/providers/microsoft.insights/autoscalesettings/"
	otherAS := otherRG + "/providers/microsoft.insights/autoscalesettings/"
	std := `{"location":"westeurope","sku":{"name":"S1","tier":"Standard"},"properties":{"reserved":true}}`
	// The setting is made while its maker may write both groups.
	if s, b := call("", "PUT", as+"pinned", autoscaleFor(otherPlan, "10", "10", "10")); s != http.StatusCreated {
		t.Fatalf("setting on other's plan: %d %s", s, b)
	}
	// other is deleted and made again for someone else, with a plan of
	// the old one's name.
	for _, c := range []struct{ method, p, body string }{
		{"DELETE", otherRG, ""},
		{"PUT", otherRG, `{"location":"westeurope"}`},
		{"PUT", otherPlan, std},
	} {
		if s, b := call("", c.method, c.p, c.body); s >= 300 {
			t.Fatalf("%s %s: %d %s", c.method, c.p, s, b)
		}
	}
	if s, b := call("", "GET", as+"pinned", ""); s != http.StatusNotFound {
		t.Errorf("rg's setting on the deleted group's plan, after the group was made again: %d %.300s; want 404", s, b)
	}
	if s, b := call("", "PUT", otherAS+"own", autoscaleFor(otherPlan, "1", "1", "2")); s != http.StatusCreated {
		t.Errorf("the new plan's own setting: %d %.300s; want 201", s, b)
	}

	// A plan deleted alone takes the settings on it along too.
	if s, b := call("", "PUT", as+"std", autoscaleFor(webPath+"/serverfarms/std", "1", "1", "2")); s != http.StatusCreated {
		t.Fatalf("setting on rg's plan: %d %s", s, b)
	}
	if s, b := call("", "DELETE", webPath+"/serverfarms/std", ""); s >= 300 {
		t.Fatalf("delete plan: %d %s", s, b)
	}
	if s, b := call("", "PUT", webPath+"/serverfarms/std", std); s >= 300 {
		t.Fatalf("plan made again: %d %s", s, b)
	}
	if s, b := call("", "GET", as+"std", ""); s != http.StatusNotFound {
		t.Errorf("setting on a deleted plan: %d %.300s; want 404", s, b)
	}
}
