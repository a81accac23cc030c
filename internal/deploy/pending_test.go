package deploy

import (
	"strings"
	"testing"

	"github.com/slipway-dev/slipway"
)

// TestDidNotStartStartsAtNextRestart: a deployment whose app does not start
// because a setting is missing (as Microsoft's tutorials deploy before they
// connect a database) fails, and the previous version keeps serving; the
// version is kept, a restart without the setting tries it and restarts the
// previous one, saying why, and once the setting is there the change's
// restart starts it and it becomes the active deployment — as App Service
// starts the files the deployment left in wwwroot.
func TestDidNotStartStartsAtNextRestart(t *testing.T) {
	e := newFileEnv(t)
	ctx := t.Context()
	d, err := e.deploy("needs:DBUSER", FileTarget{Path: "version"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != slipway.DeployFailed || d.Active {
		t.Fatalf("deployment = %+v; want failed, not active", d)
	}
	if log := appLogText(t, e.st, d.ID); !strings.Contains(log, "did not start") || !strings.Contains(log, "previous version keeps serving") || !strings.Contains(log, "next restart starts it") {
		t.Errorf("the log does not say the version is kept for the next restart:\n%s", log)
	}
	e.want("v1||")

	err = e.c.Restart(ctx, "rg", "app")
	if slipway.ErrorCode(err) != slipway.EUNAVAILABLE || !strings.Contains(slipway.ErrorMessage(err), d.ID) {
		t.Fatalf("restart without the setting = %v; want EUNAVAILABLE naming %s", err, d.ID)
	}
	e.want("v1||")
	if a, _ := e.st.ActiveDeployment(ctx, "app"); a.ArtifactDir != e.v1.Dir {
		t.Fatalf("active after the failed start = %+v; want v1's", a)
	}

	if err := e.st.SetSettings(ctx, "rg", "app", map[string]string{"DBUSER": "app"}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.SiteConfigChanged(ctx, "rg", "app"); err != nil {
		t.Fatalf("restart on the settings change: %v", err)
	}
	e.want("needs:DBUSER||")
	got, err := e.st.GetDeployment(ctx, "app", d.ID)
	if err != nil || !got.Active || got.Status != slipway.DeploySuccess {
		t.Fatalf("deployment after it started = %+v, %v; want active and successful", got, err)
	}
	if log := appLogText(t, e.st, d.ID); !strings.Contains(log, "restarting: starting this version again") || !strings.HasSuffix(strings.TrimSpace(log), "Deployment successful.") {
		t.Errorf("the log does not tell the start:\n%s", log)
	}
	if err := e.c.Restart(ctx, "rg", "app"); err != nil {
		t.Fatal(err)
	}
	e.want("needs:DBUSER||")
}

// TestDidNotStartSupersededByTheNextDeployment: what the deployer does after
// a version that did not start — a new deployment, a redeploy — replaces it,
// and no later restart brings it back.
func TestDidNotStartSupersededByTheNextDeployment(t *testing.T) {
	e := newFileEnv(t)
	ctx := t.Context()
	site := e.site
	broken, err := e.deploy("needs:DBUSER", FileTarget{Path: "version"}, true)
	if err != nil || broken.Status != slipway.DeployFailed {
		t.Fatalf("deployment = %+v, %v; want failed", broken, err)
	}
	v3, err := e.deploy("v3", FileTarget{Path: "version"}, true)
	if err != nil || v3.Status != slipway.DeploySuccess {
		t.Fatalf("deployment = %+v, %v; want successful", v3, err)
	}
	if err := e.st.SetSettings(ctx, "rg", "app", map[string]string{"DBUSER": "app"}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.SiteConfigChanged(ctx, "rg", "app"); err != nil {
		t.Fatal(err)
	}
	e.want("v3||")

	other, err := e.deploy("needs:OTHER", FileTarget{Path: "version"}, true)
	if err != nil || other.Status != slipway.DeployFailed {
		t.Fatalf("deployment = %+v, %v; want failed", other, err)
	}
	if _, err := e.c.Redeploy(ctx, site, v3.ID, RedeployOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Wait(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetSettings(ctx, "rg", "app", map[string]string{"DBUSER": "app", "OTHER": "x"}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.SiteConfigChanged(ctx, "rg", "app"); err != nil {
		t.Fatal(err)
	}
	e.want("v3||")
	for _, d := range []slipway.Deployment{broken, other} {
		if got, _ := e.st.GetDeployment(ctx, "app", d.ID); got.Active || got.Status != slipway.DeployFailed {
			t.Errorf("superseded %s = %+v; want failed, not active", d.ID, got)
		}
	}
}

// TestDidNotStartWaitsAtServerStart: when the server starts, no instance
// serves yet, so the active version starts (the site answers at once) and
// a version that did not start waits for the next restart, rather than
// hold the site down for its start time limit.
func TestDidNotStartWaitsAtServerStart(t *testing.T) {
	e := newFileEnv(t)
	ctx := t.Context()
	d, err := e.deploy("needs:DBUSER", FileTarget{Path: "version"}, true)
	if err != nil || d.Status != slipway.DeployFailed {
		t.Fatalf("deployment = %+v, %v; want failed", d, err)
	}
	// The setting arrives with no restart, then the server starts.
	if err := e.st.SetSettings(ctx, "rg", "app", map[string]string{"DBUSER": "app"}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.StartAll(ctx); err != nil {
		t.Fatal(err)
	}
	e.want("v1||")
	if err := e.c.Restart(ctx, "rg", "app"); err != nil {
		t.Fatal(err)
	}
	e.want("needs:DBUSER||")
}
