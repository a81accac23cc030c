package store

import (
	"fmt"
	"testing"

	"github.com/slipway-dev/slipway"
)

// TestAttackFailedDeploymentsPileUp: pruning kept every deployment newer
// than the keep-th newest success, so a tenant whose pushes only fail (an
// invalid zip costs a few bytes; a failing release command logs up to
// 16 MB) added records and logs to the platform's database without end.
// Failed deployments beyond the newest keep are pruned too.
func TestAttackFailedDeploymentsPileUp(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	const keep, pushes = 3, 40
	var ids []string
	for i := range pushes {
		st := slipway.DeployFailed
		if i == 0 {
			st = slipway.DeploySuccess // one success long ago: the failures are all newer
		}
		d, err := s.CreateDeployment(ctx, slipway.Deployment{ID: fmt.Sprintf("%032d", i), Site: "app", Status: st})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	if err := s.SetActiveDeployment(ctx, "app", ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PruneDeployments(ctx, "app", keep); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListDeployments(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, d := range list {
		left = append(left, d.ID)
	}
	// The newest keep failures, and the active success.
	want := []string{ids[pushes-1], ids[pushes-2], ids[pushes-3], ids[0]}
	if fmt.Sprint(left) != fmt.Sprint(want) {
		t.Errorf("left %d deployments %v; want %v", len(left), left, want)
	}
}
