package store

import (
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
)

// TestDeleteDeployment follows Kudu's DELETE /api/deployments/{id}
// (DeploymentManager.Delete, docs/appservice.md §5): an unknown id is
// ENOTFOUND, the active deployment is ECONFLICT, each with Kudu's message;
// otherwise the record goes with its log. The artifact is the caller's to
// remove only when no other record runs it (a swap shares one).
func TestDeleteDeployment(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	if _, _, err := s.PutSite(ctx, slipway.Site{ResourceGroup: "rg", Name: "other", Plan: "plan", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	mk := func(site, id, dir string, st slipway.DeployStatus) slipway.Deployment {
		t.Helper()
		d, err := s.CreateDeployment(ctx, slipway.Deployment{ID: id, Site: site, Status: st, ArtifactDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	old := mk("app", "00000000000000000000000000000001", "/data/sites/app/artifacts/1", slipway.DeploySuccess)
	shared := mk("app", "00000000000000000000000000000002", "/data/sites/app/artifacts/2", slipway.DeploySuccess)
	mk("app", "00000000000000000000000000000003", "/data/sites/app/artifacts/2", slipway.DeploySuccess) // a swap's copy
	active := mk("app", "00000000000000000000000000000004", "/data/sites/app/artifacts/4", slipway.DeploySuccess)
	running := mk("app", "00000000000000000000000000000005", "", slipway.DeployBuilding)
	theirs := mk("other", "00000000000000000000000000000006", "/data/sites/other/artifacts/6", slipway.DeploySuccess)
	if err := s.SetActiveDeployment(ctx, "app", active.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendDeploymentLog(ctx, "app", old.ID, slipway.DeploymentLogEntry{Message: "Deployment successful.", Details: "build output\n"}); err != nil {
		t.Fatal(err)
	}

	got, err := s.DeleteDeployment(ctx, "app", old.ID)
	if err != nil || got.ID != old.ID || got.ArtifactDir != old.ArtifactDir {
		t.Fatalf("DeleteDeployment(old) = %+v, %v; want the record with its artifact to remove", got, err)
	}
	if _, err := s.GetDeployment(ctx, "app", old.ID); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("the deleted record is still there: %v", err)
	}
	if log, _ := s.DeploymentLog(ctx, "app", old.ID); len(log) != 0 {
		t.Errorf("the deleted record's log survived: %v", log)
	}
	if got, err := s.DeleteDeployment(ctx, "app", shared.ID); err != nil || got.ArtifactDir != "" {
		t.Errorf("DeleteDeployment(shared) = %+v, %v; want no artifact to remove: another record runs it", got, err)
	}

	refusals := []struct {
		name, site, id, code, msg string
	}{
		{"unknown", "app", "ffffffffffffffffffffffffffffffff", slipway.ENOTFOUND, "Unable to delete 'ffffffffffffffffffffffffffffffff'. No deployment found."},
		{"deleted already", "app", old.ID, slipway.ENOTFOUND, "No deployment found."},
		{"another site's", "app", theirs.ID, slipway.ENOTFOUND, "No deployment found."},
		{"active", "app", active.ID, slipway.ECONFLICT, "Unable to delete '" + active.ID + "'. The deployment is currently active."},
		{"running", "app", running.ID, slipway.ECONFLICT, "is running"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.DeleteDeployment(ctx, tc.site, tc.id)
			wantCode(t, err, tc.code)
			if !strings.Contains(slipway.ErrorMessage(err), tc.msg) {
				t.Errorf("message %q lacks %q", slipway.ErrorMessage(err), tc.msg)
			}
		})
	}
	if _, err := s.GetDeployment(ctx, "other", theirs.ID); err != nil {
		t.Errorf("another site's record was touched: %v", err)
	}
	if _, err := s.GetDeployment(ctx, "app", active.ID); err != nil {
		t.Errorf("the active record was touched: %v", err)
	}
}

// TestClearDeploymentLog: a redeploy starts its record's log afresh, as
// Kudu removes the old log file of a deployment it runs again
// (DeploymentManager.DeployAsync); other records' logs stay.
func TestClearDeploymentLog(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	a, _ := s.CreateDeployment(ctx, slipway.Deployment{Site: "app"})
	b, _ := s.CreateDeployment(ctx, slipway.Deployment{Site: "app"})
	for _, id := range []string{a.ID, b.ID} {
		if _, err := s.AppendDeploymentLog(ctx, "app", id, slipway.DeploymentLogEntry{Message: "Running oryx build...", Details: "pip output\n"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ClearDeploymentLog(ctx, "app", a.ID); err != nil {
		t.Fatal(err)
	}
	if log, _ := s.DeploymentLog(ctx, "app", a.ID); len(log) != 0 {
		t.Errorf("log after clearing: %v", log)
	}
	var details int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM deployment_log_details WHERE deployment_id = ?`, a.ID).Scan(&details); err != nil || details != 0 {
		t.Errorf("%d detail rows left after clearing (%v)", details, err)
	}
	if log, _ := s.DeploymentLog(ctx, "app", b.ID); len(log) != 1 || log[0].Details != "pip output\n" {
		t.Errorf("another record's log changed: %v", log)
	}
	e, err := s.AppendDeploymentLog(ctx, "app", a.ID, slipway.DeploymentLogEntry{Message: "Redeploying."})
	if err != nil {
		t.Fatal(err)
	}
	if log, _ := s.DeploymentLog(ctx, "app", a.ID); len(log) != 1 || log[0].ID != e.ID {
		t.Errorf("log after a new entry: %v", log)
	}
}

// TestLatestDeploymentIsKudus: "latest" is what Kudu's GET
// /api/deployments/latest names (DeploymentController
// IsLatestPendingDeployment): the newest deployment still running, else the
// one that finished last — after a redeploy, the redeployed one, though
// others were received after it.
func TestLatestDeploymentIsKudus(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	t0 := time.Date(2026, 11, 25, 4, 0, 0, 0, time.UTC)
	v1, _ := s.CreateDeployment(ctx, slipway.Deployment{Site: "app", Status: slipway.DeploySuccess, ReceivedTime: t0, EndTime: t0.Add(time.Minute)})
	v2, _ := s.CreateDeployment(ctx, slipway.Deployment{Site: "app", Status: slipway.DeploySuccess, ReceivedTime: t0.Add(time.Hour), EndTime: t0.Add(time.Hour + time.Minute)})
	if d, err := s.GetDeployment(ctx, "app", "latest"); err != nil || d.ID != v2.ID {
		t.Fatalf("latest before the redeploy = %s, %v; want v2 %s", d.ID, err, v2.ID)
	}
	// v1 redeployed: it ran again, and finished after v2.
	v1.StartTime, v1.EndTime = t0.Add(2*time.Hour), t0.Add(2*time.Hour+time.Minute)
	if err := s.UpdateDeployment(ctx, v1); err != nil {
		t.Fatal(err)
	}
	if d, err := s.LatestDeployment(ctx, "app"); err != nil || d.ID != v1.ID {
		t.Fatalf("latest after redeploying v1 = %s, %v; want v1 %s", d.ID, err, v1.ID)
	}
	// A running one comes first, whatever the times.
	v2.Status = slipway.DeployDeploying
	if err := s.UpdateDeployment(ctx, v2); err != nil {
		t.Fatal(err)
	}
	if d, err := s.GetDeployment(ctx, "app", "latest"); err != nil || d.ID != v2.ID {
		t.Fatalf("latest while v2 runs again = %s, %v; want v2 %s", d.ID, err, v2.ID)
	}
}
