package store

import (
	"fmt"
	"strings"
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

// TestAttackDeploymentIDsPerSite: Kudu's PUT /api/deployments/{id} records
// a deployment under the id its client chose, and ids were unique across
// the server, so a tenant learnt from a 409 that another app had recorded
// an id (a commit hash says which version of a known project it runs) and
// could take an id before the app that would use it. Each app's Kudu has
// its own deployments, as on App Service: the same id in two sites is two
// deployments, each with its own log, and what happens to one (a new log
// entry, pruning, deletion) leaves the other alone.
func TestAttackDeploymentIDsPerSite(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	if _, _, err := s.PutSite(ctx, slipway.Site{ResourceGroup: "rg", Name: "other", Plan: "plan", Enabled: true,
		Config: slipway.SiteConfig{LinuxFxVersion: "PYTHON|3.12"}}); err != nil {
		t.Fatal(err)
	}
	const id = "4f2a9c0d5e6b7a8f9c0d1e2f3a4b5c6d1765000000000"
	mine, err := s.CreateDeployment(ctx, slipway.Deployment{ID: id, Site: "app", Status: slipway.DeploySuccess, Recorded: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendDeploymentLog(ctx, "app", id, slipway.DeploymentLogEntry{Message: "app's entry", Details: "app's details\n"}); err != nil {
		t.Fatal(err)
	}
	// Another tenant records the same id (in another case): its own record.
	theirs, err := s.CreateDeployment(ctx, slipway.Deployment{ID: strings.ToUpper(id), Site: "other", Status: slipway.DeploySuccess, Recorded: true})
	if err != nil {
		t.Fatalf("an id another site uses was refused to this one: %v", err)
	}
	_, err = s.CreateDeployment(ctx, slipway.Deployment{ID: id, Site: "other"})
	wantCode(t, err, slipway.ECONFLICT) // within a site an id is still one deployment
	e, err := s.AppendDeploymentLog(ctx, "other", theirs.ID, slipway.DeploymentLogEntry{Message: "other's entry"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AppendDeploymentLogDetails(ctx, "other", theirs.ID, e.ID, "other's details\n"); err != nil {
		t.Fatal(err)
	}
	// Each site reads its own log, and no entry of the other's.
	for _, c := range []struct{ site, want string }{{"app", "app's entry"}, {"other", "other's entry"}} {
		log, err := s.DeploymentLog(ctx, c.site, id)
		if err != nil || len(log) != 1 || log[0].Message != c.want {
			t.Fatalf("the log of %s's deployment %s = %+v, %v; want only %q", c.site, id, log, err, c.want)
		}
	}
	if lines, err := s.DeploymentLogLines(ctx, "app", id, e.ID); err != nil || len(lines) != 0 {
		t.Fatalf("app reads the details of other's entry: %+v, %v", lines, err)
	}
	wantCode(t, s.AppendDeploymentLogDetails(ctx, "app", id, e.ID, "x"), slipway.ENOTFOUND)
	// Clearing, deleting and pruning the other site's record leave the
	// app's record and log.
	if err := s.ClearDeploymentLog(ctx, "other", id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteDeployment(ctx, "other", id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateDeployment(ctx, slipway.Deployment{ID: id, Site: "other", Status: slipway.DeployFailed, Recorded: true}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := s.CreateDeployment(ctx, slipway.Deployment{ID: fmt.Sprint("newer", i), Site: "other", Status: slipway.DeployFailed, Recorded: true}); err != nil {
			t.Fatal(err)
		}
	}
	pruned, err := s.PruneDeployments(ctx, "other", 1)
	if err != nil || len(pruned) != 3 {
		t.Fatalf("pruned %d of other's records (%v), want 3", len(pruned), err)
	}
	got, err := s.GetDeployment(ctx, "app", id)
	if err != nil || got.ID != mine.ID {
		t.Fatalf("the app's deployment after the other site's were deleted and pruned: %+v, %v", got, err)
	}
	if log, err := s.DeploymentLog(ctx, "app", id); err != nil || len(log) != 1 || log[0].Details != "app's details\n" {
		t.Fatalf("the app's log after the other site's were deleted and pruned: %+v, %v", log, err)
	}
}
