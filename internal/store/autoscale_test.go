package store

import "testing"

// TestPlanOfTarget: ARM takes a target id with empty segments (as it reads
// any path), so the autoscaler must read the same plan from it, not skip
// the setting.
func TestPlanOfTarget(t *testing.T) {
	for _, tc := range []struct{ target, sub, rg, plan string }{
		{"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan", "s1", "rg", "plan"},
		{"/subscriptions/s1/resourceGroups//rg/providers/microsoft.web/serverFarms/plan/", "s1", "rg", "plan"},
		{"//subscriptions/s1/resourceGroups/rg/providers/Microsoft.Web/serverfarms//plan", "s1", "rg", "plan"},
		{"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Web/sites/app", "", "", ""},
		{"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan/slots/x", "", "", ""},
		{"", "", "", ""},
	} {
		sub, rg, plan, ok := PlanOfTarget(tc.target)
		if ok != (tc.plan != "") || sub != tc.sub || rg != tc.rg || plan != tc.plan {
			t.Errorf("PlanOfTarget(%q) = %q %q %q %v, want %q %q %q", tc.target, sub, rg, plan, ok, tc.sub, tc.rg, tc.plan)
		}
	}
}
