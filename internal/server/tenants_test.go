package server

import (
	"strings"
	"testing"
)

// Without networks of their own, a server runs one app unless the operator
// opts in (issue: apps on a shared network reach each other).
func TestOneTenantOnASharedNetwork(t *testing.T) {
	p := &planner{}
	if err := p.tenantAllowed("first"); err != nil {
		t.Fatalf("the first app was refused: %v", err)
	}
	if err := p.tenantAllowed("First"); err != nil {
		t.Fatalf("the same app again was refused: %v", err)
	}
	err := p.tenantAllowed("second")
	if err == nil || !strings.Contains(err.Error(), "--allow-shared-network") {
		t.Fatalf("a second app on a shared network: %v; want a refusal naming --allow-shared-network", err)
	}
	opted := &planner{allowShared: true}
	for _, app := range []string{"a", "b", "c"} {
		if err := opted.tenantAllowed(app); err != nil {
			t.Errorf("with --allow-shared-network, %s was refused: %v", app, err)
		}
	}
}
