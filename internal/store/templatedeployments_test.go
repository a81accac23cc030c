package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
)

// TestAttack_TemplateDeploymentHistoryBounded: a deployment's record is
// kept in the platform's database, outside every quota, and its name is
// the caller's: a group's history holds at most so many records and
// bytes, the oldest going first (Azure keeps 800 a group, deleting the
// oldest), so that a tenant who deploys under ever new names cannot fill
// the server's disk. The record just written always stays.
func TestAttack_TemplateDeploymentHistoryBounded(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	if _, _, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "rg", Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	old := templateDeploymentLimits
	t.Cleanup(func() { templateDeploymentLimits = old })
	templateDeploymentLimits.count, templateDeploymentLimits.bytes = 3, 1<<20
	t0 := time.Now()
	tick := 0
	put := func(name string, pad int) {
		t.Helper()
		tick++
		s.now = func() time.Time { return t0.Add(time.Duration(tick) * time.Second) }
		doc, _ := json.Marshal(map[string]string{"pad": strings.Repeat("x", pad)})
		if _, err := s.PutTemplateDeployment(ctx, TemplateDeployment{ResourceGroup: "rg", Name: name, Document: doc}); err != nil {
			t.Fatalf("put %s: %v", name, err)
		}
	}
	names := func() string {
		t.Helper()
		ds, err := s.TemplateDeployments(ctx, "rg")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range ds {
			out = append(out, d.Name)
		}
		return strings.Join(out, " ")
	}
	for i := range 5 {
		put(fmt.Sprintf("d%d", i), 10)
	}
	if got := names(); got != "d4 d3 d2" {
		t.Errorf("after 5 records under a limit of 3: %q, want the newest three", got)
	}
	put("d2", 10) // a re-run is the newest
	put("d5", 10)
	if got := names(); got != "d5 d2 d4" {
		t.Errorf("after re-running d2 and adding d5: %q", got)
	}
	put("big1", 600<<10)
	put("big2", 600<<10) // with big1, over the group's bytes
	if got := names(); got != "big2 d5 d2" {
		t.Errorf("after two records over the group's bytes together: %q, want big2 and the small ones, no big1", got)
	}
	put("huge", 2<<20) // alone over the group's bytes: kept, the rest go
	if got := names(); got != "huge" {
		t.Errorf("after a record over the group's bytes alone: %q, want it alone", got)
	}
}
