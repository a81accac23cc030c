package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/store"
)

// These tests redeploy and delete deployments below HTTP, as Kudu's PUT and
// DELETE /api/deployments/{id} do (docs/appservice.md §5): the real store,
// the real runtime with real processes, and instances that answer
// "<version>|<GREETING>|<ENV_NAME>" (swap_test.go's echoPlanner). The
// coordinator has no Builder: a redeploy that built anything would panic.

// stored records a successful deployment of version v of site whose
// artifact lies where a deployment's does, in its app's artifacts
// directory, and returns it; it is not made active.
func (e *swapEnv) stored(site, v string) slipway.Deployment {
	e.t.Helper()
	ctx := e.t.Context()
	s, err := e.st.FindSite(ctx, site)
	if err != nil {
		e.t.Fatal(err)
	}
	id := newID()
	dir := filepath.Join(e.c.artifactsDir(s), id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "version"), []byte(v), 0o644); err != nil {
		e.t.Fatal(err)
	}
	if err := WriteArtifact(Artifact{Dir: dir}); err != nil {
		e.t.Fatal(err)
	}
	t0 := time.Now().UTC().Add(-time.Hour)
	d, err := e.st.CreateDeployment(ctx, slipway.Deployment{ID: id, Site: site, Status: slipway.DeploySuccess, StatusText: "Deployment successful.",
		Deployer: "Push-Deployer", Message: "version " + v, ArtifactDir: dir, PackageSHA256: "pkg-" + v,
		ReceivedTime: t0, StartTime: t0, EndTime: t0.Add(time.Second)})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// redeploy redeploys id on site and waits for it to finish.
func (e *swapEnv) redeploy(site, id, deployer string) (slipway.Deployment, error) {
	e.t.Helper()
	ctx := e.t.Context()
	s, err := e.st.FindSite(ctx, site)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.c.Redeploy(ctx, s, id, RedeployOptions{Deployer: deployer}); err != nil {
		return slipway.Deployment{}, err
	}
	if err := e.c.Wait(ctx, site); err != nil {
		e.t.Fatal(err)
	}
	return e.st.GetDeployment(ctx, site, id)
}

// refusal is a call on the site "app" that must fail with code, its
// message holding msg; busy makes it while a deployment of the site runs.
type refusal struct {
	name, id, code, msg string
	busy                bool
}

// wantRefusals checks each refusal of call.
func (e *swapEnv) wantRefusals(tests []refusal, call func(site slipway.Site, id string) error) {
	e.t.Helper()
	site, err := e.st.FindSite(e.t.Context(), "app")
	if err != nil {
		e.t.Fatal(err)
	}
	for _, tc := range tests {
		e.t.Run(tc.name, func(t *testing.T) {
			if tc.busy {
				release, err := e.c.begin("app", "0000000000000000000000000000beef")
				if err != nil {
					t.Fatal(err)
				}
				defer release()
			}
			err := call(site, tc.id)
			if slipway.ErrorCode(err) != tc.code || !strings.Contains(slipway.ErrorMessage(err), tc.msg) {
				t.Fatalf("got %v; want %s saying %q", err, tc.code, tc.msg)
			}
		})
	}
}

// logText returns the log of app's deployment id, one message a line.
func (e *swapEnv) logText(id string) string {
	e.t.Helper()
	return appLogText(e.t, e.st, id)
}

// appLogText is the messages of the app's deployment id, a line each.
func appLogText(t *testing.T, st *store.Store, id string) string {
	t.Helper()
	log, err := st.DeploymentLog(t.Context(), "app", id)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range log {
		b.WriteString(l.Message + "\n")
	}
	return b.String()
}

// TestRedeploy_ReleasesTheStoredVersionAgain: PUT /api/deployments/{id}
// rolls the deployment's sealed artifact out again, with the app's settings
// of now (as a restart), without a build; the record runs again under its
// id, as Kudu's does — active and successful, with new start and end
// times, its received time, the caller as deployer and a new log — and
// becomes Kudu's "latest". Redeploying the active deployment restarts the
// app onto it.
func TestRedeploy_ReleasesTheStoredVersionAgain(t *testing.T) {
	e := newSwapEnv(t)
	ctx := t.Context()
	v1 := e.stored("app", "v1")
	if _, err := e.st.AppendDeploymentLog(ctx, "app", v1.ID, slipway.DeploymentLogEntry{Message: "Running oryx build...", Details: "pip install\n"}); err != nil {
		t.Fatal(err)
	}
	v2 := e.stored("app", "v2")
	// v2 added a migration that v1 lacks: rolling back keeps it in the
	// database, which the log warns of.
	for dir, files := range map[string][]string{v1.ArtifactDir: {"0001_initial.py"}, v2.ArtifactDir: {"0001_initial.py", "0002_price.py"}} {
		os.MkdirAll(filepath.Join(dir, "shop", "migrations"), 0o755)
		for _, f := range files {
			os.WriteFile(filepath.Join(dir, "shop", "migrations", f), nil, 0o644)
		}
	}
	if err := e.st.SetActiveDeployment(ctx, "app", v2.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Restart(ctx, "rg", "app"); err != nil {
		t.Fatal(err)
	}
	e.want("app", "v2|hello-v1|prod")
	if err := e.st.SetSettings(ctx, "rg", "app", map[string]string{"GREETING": "hello-now", "ENV_NAME": "prod"}); err != nil {
		t.Fatal(err)
	}

	began := time.Now().UTC()
	got, err := e.redeploy("app", v1.ID, "$app")
	if err != nil {
		t.Fatal(err)
	}
	e.want("app", "v1|hello-now|prod")
	if got.Status != slipway.DeploySuccess || !got.Active || got.Deployer != "$app" || got.Message != v1.Message ||
		!got.ReceivedTime.Equal(v1.ReceivedTime) || got.StartTime.Before(began) || got.EndTime.Before(got.StartTime) ||
		got.ArtifactDir != v1.ArtifactDir {
		t.Errorf("record after the redeploy = %+v; want v1 successful and active again, run by $app now, received as before", got)
	}
	if d, _ := e.st.GetDeployment(ctx, "app", v2.ID); d.Active {
		t.Errorf("v2 is still active")
	}
	if d, err := e.st.GetDeployment(ctx, "app", "latest"); err != nil || d.ID != v1.ID {
		t.Errorf("latest = %s, %v; want the redeployed v1", d.ID, err)
	}
	log := e.logText(v1.ID)
	for _, want := range []string{"Redeploying deployment " + v1.ID, "not built again", "migrations this one lacks (shop/migrations/0002_price.py)", "Deployment successful."} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "Running oryx build") {
		t.Errorf("the log of the earlier run is still there:\n%s", log)
	}

	// The active deployment again: a restart onto it, with today's settings.
	if err := e.st.SetSettings(ctx, "rg", "app", map[string]string{"GREETING": "hello-again", "ENV_NAME": "prod"}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.redeploy("app", v1.ID, "$app"); err != nil || !got.Active || got.Status != slipway.DeploySuccess {
		t.Fatalf("redeploying the active deployment = %+v, %v", got, err)
	}
	e.want("app", "v1|hello-again|prod")
}

// TestRedeploy_Refusals: what cannot be redeployed is refused before
// anything changes, with Kudu's codes where Kudu has them — an id the site
// has not (another site's, a slot's), "latest", a deployment that failed
// and so has no version to release, a version no longer stored, and any
// redeploy while a deployment of the site runs.
func TestRedeploy_Refusals(t *testing.T) {
	e := newSwapEnv(t)
	ctx := t.Context()
	slotActive, err := e.st.ActiveDeployment(ctx, "app-staging")
	if err != nil {
		t.Fatal(err)
	}
	failed, err := e.st.CreateDeployment(ctx, slipway.Deployment{Site: "app", Status: slipway.DeployFailed, StatusText: "Build failed.",
		ArtifactDir: filepath.Join(t.TempDir(), "removed"), EndTime: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	gone := e.stored("app", "gone")
	if err := os.RemoveAll(gone.ArtifactDir); err != nil {
		t.Fatal(err)
	}
	v3 := e.stored("app", "v3")
	e.wantRefusals([]refusal{
		{"unknown id", "0123456789abcdef0123456789abcdef", slipway.ENOTFOUND, "Deployment '0123456789abcdef0123456789abcdef' not found.", false},
		{"a slot's deployment on production", slotActive.ID, slipway.ENOTFOUND, "not found", false},
		{"latest", "latest", slipway.ENOTFOUND, "not found", false},
		{"a failed deployment", failed.ID, slipway.ECONFLICT, "failed", false},
		{"a version no longer stored", gone.ID, slipway.ENOTFOUND, "no longer", false},
		{"while a deployment runs", v3.ID, slipway.ECONFLICT, "There is a deployment currently in progress.", true},
	}, func(site slipway.Site, id string) error {
		_, err := e.c.Redeploy(ctx, site, id, RedeployOptions{Deployer: "$app"})
		return err
	})
	e.want("app", "v1|hello-v1|prod")
	for _, d := range []slipway.Deployment{failed, gone, v3} {
		if got, _ := e.st.GetDeployment(ctx, "app", d.ID); got.Status != d.Status || got.Active || !got.StartTime.Equal(d.StartTime) {
			t.Errorf("a refused redeploy changed %s: %+v", d.ID, got)
		}
	}
	if got, _ := e.st.GetDeployment(ctx, "app-staging", slotActive.ID); !got.Active {
		t.Errorf("the slot's deployment changed: %+v", got)
	}
}

// TestRedeploy_FailureLeavesThePreviousServing: a redeployed version that
// does not start fails its record (status 3, the reason in its log) and
// changes nothing else: the previous version serves and stays active, and
// the version stays stored, so that it can be redeployed once fixed.
func TestRedeploy_FailureLeavesThePreviousServing(t *testing.T) {
	e := newSwapEnv(t)
	ctx := t.Context()
	broken := e.stored("app", "broken")
	if err := os.Remove(filepath.Join(broken.ArtifactDir, "version")); err != nil { // its instances cannot start
		t.Fatal(err)
	}
	active, _ := e.st.ActiveDeployment(ctx, "app")
	got, err := e.redeploy("app", broken.ID, "$app")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != slipway.DeployFailed || got.Active || got.EndTime.Before(got.StartTime) {
		t.Errorf("record after a failed redeploy = %+v; want failed, not active", got)
	}
	if log := e.logText(broken.ID); !strings.Contains(log, "did not start") || !strings.Contains(log, "previous version keeps serving") {
		t.Errorf("log does not say why:\n%s", log)
	}
	e.want("app", "v1|hello-v1|prod")
	if a, _ := e.st.ActiveDeployment(ctx, "app"); a.ID != active.ID {
		t.Errorf("active = %s, want %s still", a.ID, active.ID)
	}
	if _, err := ReadArtifact(broken.ArtifactDir); err != nil {
		t.Errorf("the version was removed: %v", err)
	}
	// Fixed, it redeploys.
	if err := os.WriteFile(filepath.Join(broken.ArtifactDir, "version"), []byte("fixed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := e.redeploy("app", broken.ID, "$app"); err != nil || got.Status != slipway.DeploySuccess || !got.Active {
		t.Fatalf("redeploy once fixed = %+v, %v", got, err)
	}
	e.want("app", "fixed|hello-v1|prod")
}

// TestDeleteDeployment: DELETE /api/deployments/{id} removes a record and
// what only it used — its artifact and package — as pruning does; an
// artifact another record runs (a swap's) stays, and so does anything
// outside the app's artifacts. The active deployment, an id the site has
// not and a delete during a deployment are refused as Kudu refuses them.
func TestDeleteDeployment(t *testing.T) {
	e := newSwapEnv(t)
	ctx := t.Context()
	site, _ := e.st.FindSite(ctx, "app")
	pkgs := filepath.Join(e.c.cfg.DataDir, "packages")
	if err := os.MkdirAll(pkgs, 0o700); err != nil {
		t.Fatal(err)
	}
	old := e.stored("app", "old")
	for _, sum := range []string{old.PackageSHA256, "pkg-kept"} {
		if err := os.WriteFile(filepath.Join(pkgs, sum+".zip"), []byte("zip"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.c.DeleteDeployment(ctx, site, old.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.GetDeployment(ctx, "app", old.ID); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("record still there: %v", err)
	}
	if _, err := os.Stat(old.ArtifactDir); !os.IsNotExist(err) {
		t.Errorf("artifact still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(pkgs, old.PackageSHA256+".zip")); !os.IsNotExist(err) {
		t.Errorf("package still there: %v", err)
	}

	// A package and an artifact another successful record uses stay.
	a := e.stored("app", "kept")
	b, err := e.st.CreateDeployment(ctx, slipway.Deployment{Site: "app", Status: slipway.DeploySuccess, ArtifactDir: a.ArtifactDir, PackageSHA256: a.PackageSHA256, EndTime: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pkgs, a.PackageSHA256+".zip"), []byte("zip"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.c.DeleteDeployment(ctx, site, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadArtifact(b.ArtifactDir); err != nil {
		t.Errorf("an artifact another record runs was removed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(pkgs, a.PackageSHA256+".zip")); err != nil {
		t.Errorf("a package another deployment uses was removed: %v", err)
	}

	// A record whose artifact is not in the app's artifacts directory
	// loses its record only.
	outside := e.activate("app", "outside") // now active
	if err := e.st.SetActiveDeployment(ctx, "app", b.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.c.DeleteDeployment(ctx, site, outside.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadArtifact(outside.ArtifactDir); err != nil {
		t.Errorf("a directory outside the app's artifacts was removed: %v", err)
	}

	slotActive, _ := e.st.ActiveDeployment(ctx, "app-staging")
	v := e.stored("app", "v")
	e.wantRefusals([]refusal{
		{"active", b.ID, slipway.ECONFLICT, "Unable to delete '" + b.ID + "'. The deployment is currently active.", false},
		{"unknown", "0123456789abcdef0123456789abcdef", slipway.ENOTFOUND, "Unable to delete '0123456789abcdef0123456789abcdef'. No deployment found.", false},
		{"a slot's on production", slotActive.ID, slipway.ENOTFOUND, "No deployment found.", false},
		{"during a deployment", v.ID, slipway.ECONFLICT, "There is a deployment currently in progress.", true},
	}, func(site slipway.Site, id string) error { return e.c.DeleteDeployment(ctx, site, id) })
	if _, err := ReadArtifact(v.ArtifactDir); err != nil {
		t.Errorf("a refused delete removed the artifact: %v", err)
	}
	if _, err := e.st.GetDeployment(ctx, "app-staging", slotActive.ID); err != nil {
		t.Errorf("the slot's record was deleted: %v", err)
	}
}

// TestRecover_KeepsTheVersionOfAnInterruptedRedeploy: a server killed
// during a redeploy fails the record, as it fails any deployment it was
// running, but the version was stored long before: it stays, redeployable.
func TestRecover_KeepsTheVersionOfAnInterruptedRedeploy(t *testing.T) {
	e := newSwapEnv(t)
	ctx := t.Context()
	d := e.stored("app", "v9")
	d.Status, d.StatusText, d.StartTime = slipway.DeployDeploying, "Redeploying.", time.Now().UTC() // EndTime: its first run's
	if err := e.st.UpdateDeployment(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := e.st.GetDeployment(ctx, "app", d.ID)
	if got.Status != slipway.DeployFailed {
		t.Errorf("status after recovery = %s, want Failed", got.Status)
	}
	if _, err := ReadArtifact(d.ArtifactDir); err != nil {
		t.Fatalf("recovery removed the version of a redeployed deployment: %v", err)
	}
	if got, err := e.redeploy("app", d.ID, "$app"); err != nil || got.Status != slipway.DeploySuccess {
		t.Fatalf("redeploy after recovery = %+v, %v", got, err)
	}
	e.want("app", "v9|hello-v1|prod")
}

// TestRecord_HistoryOnly: a deployment made elsewhere and recorded through
// Kudu (PUT /api/deployments/{id} with a status body) is history: finished,
// logged as Kudu logs it, never active (the version serving stays the
// active one and keeps serving), never redeployed, and it takes no place
// among the versions kept for rollback — records are kept apart, the
// newest keepDeployments of them.
func TestRecord_HistoryOnly(t *testing.T) {
	e := newSwapEnv(t)
	ctx := t.Context()
	site, err := e.st.FindSite(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	active, err := e.st.ActiveDeployment(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	var versions []slipway.Deployment
	for _, v := range []string{"v2", "v3"} {
		versions = append(versions, e.stored("app", v))
	}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var ids []string
	for i := range keepDeployments + 2 {
		id := fmt.Sprintf("3f786850e387550fdab836ed7e6dc881de23001b%013d", i)
		d, err := e.c.Record(ctx, site, Record{ID: id, Status: slipway.DeploySuccess, Message: `{"type":"deployment"}`,
			Deployer: "GitHub", Author: "octocat", StartTime: t0.Add(time.Duration(i) * time.Minute), Details: "run " + id})
		if err != nil {
			t.Fatal(err)
		}
		if !d.Recorded || d.Active || !d.Complete() || d.ArtifactDir != "" || !d.StartTime.Equal(t0.Add(time.Duration(i)*time.Minute)) {
			t.Fatalf("the record: %+v", d)
		}
		ids = append(ids, id)
	}
	e.want("app", "v1|hello-v1|prod")
	if got, err := e.st.ActiveDeployment(ctx, "app"); err != nil || got.ID != active.ID {
		t.Errorf("the active deployment after the records: %v %+v; want %s", err, got, active.ID)
	}
	for _, d := range append(versions, active) {
		if _, err := e.st.GetDeployment(ctx, "app", d.ID); err != nil {
			t.Errorf("version %s (%s) was pruned for records: %v", d.ID, d.Message, err)
		}
	}
	for i, id := range ids {
		_, err := e.st.GetDeployment(ctx, "app", id)
		if gone := i < 2; gone != (err != nil) {
			t.Errorf("record %d: %v; want it pruned: %v", i, err, gone)
		}
	}
	last := ids[len(ids)-1]
	if log := e.logText(last); log != "Deployment successful.\n" {
		t.Errorf("the record's log: %q", log)
	}
	e.wantRefusals([]refusal{
		{"redeploy a record", last, slipway.ECONFLICT, "only recorded here", false},
	}, func(site slipway.Site, id string) error {
		_, err := e.c.Redeploy(ctx, site, id, RedeployOptions{Deployer: "$app"})
		return err
	})
	e.wantRefusals([]refusal{
		{"record while a deployment runs", "ci-run", slipway.ECONFLICT, "There is a deployment currently in progress.", true},
		{"record an id the site has", last, slipway.ECONFLICT, "already exists", false},
	}, func(site slipway.Site, id string) error {
		_, err := e.c.Record(ctx, site, Record{ID: id, Status: slipway.DeployFailed, Message: "m", Deployer: "d", Author: "a"})
		return err
	})
	e.want("app", "v1|hello-v1|prod")
}
