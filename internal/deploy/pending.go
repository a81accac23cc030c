package deploy

// A version that did not start. On App Service a deployment copies the
// app's files into /home/site/wwwroot and restarts the container; if the
// app then fails to start — a setting it reads is not there yet, as in
// Microsoft's tutorials that deploy before they connect a database — the
// files stay, and the next restart (a changed app setting or connection
// string restarts the app: "Configure an App Service app",
// https://learn.microsoft.com/azure/app-service/configure-common) starts
// them. Slipway never lets a version that does not start take traffic: the
// previous one keeps serving. It keeps the version instead, as the one the
// app should run, and every restart (but the server's own start, when no
// instance serves yet and the active version starts) starts it first, with the app's
// configuration of the moment; if it starts, it becomes the active
// deployment, else the previous version restarts and keeps serving, and
// the restart says why. Whatever the deployer does next — another
// deployment, a redeploy — supersedes it, because the pending version is
// always the site's latest deployment (slipway.LatestDeployment).

import (
	"context"
	"errors"
	"fmt"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/kvref"
)

// keptForRestart ends the log of a deployment or redeploy whose version is
// kept to start at the app's next restart.
const keptForRestart = "This version is kept, as App Service keeps the files a deployment wrote: the app's next restart starts it with the configuration of the moment (changing an app setting or connection string restarts the app, and so do `az webapp restart` and `az webapp start`), and if it starts it becomes the active deployment. Another deployment or a redeploy replaces it."

// pendingStart returns the site's version that did not start and that the
// next restart starts first: the site's latest deployment when it failed,
// is not active and its version is still stored. False when there is none.
func (c *Coordinator) pendingStart(ctx context.Context, site string) (slipway.Deployment, Artifact, bool) {
	ds, err := c.cfg.Store.ListDeployments(ctx, site)
	if err != nil {
		return slipway.Deployment{}, Artifact{}, false
	}
	d, ok := slipway.LatestDeployment(ds)
	if !ok || d.Active || d.Recorded || d.Status != slipway.DeployFailed || d.ArtifactDir == "" {
		return slipway.Deployment{}, Artifact{}, false
	}
	art, err := c.artifactOf(d)
	if err != nil {
		return slipway.Deployment{}, Artifact{}, false
	}
	return d, art, true
}

// startPending starts d's version, which did not start when it was
// deployed, as the site's restart with snap, and makes it the active
// deployment; it returns why not, with the previous instances untouched.
// Called with the site's lock held.
func (c *Coordinator) startPending(ctx context.Context, snap Snapshot, d slipway.Deployment, art Artifact, refs kvref.Resolution) error {
	c.SiteLog(snap.Site.Name).Event("Restarting site %s with deployment %s, whose version did not start when it was deployed.", snap.Site.Name, d.ID)
	c.step(ctx, d, slipway.LogMessage, "The app is restarting: starting this version again, with the app's current configuration.")
	var failed error
	fail := func(format string, args ...any) {
		failed = fmt.Errorf(format, args...)
		c.step(context.Background(), d, slipway.LogError, "%v The previous version keeps serving; this version is kept for the next restart.", failed)
	}
	if c.activate(ctx, snap, &d, art, refs, true, fail, fail) {
		c.SiteLog(snap.Site.Name).Event("Deployment %s started and is now the active deployment.", d.ID)
		return nil
	}
	if failed == nil {
		failed = errors.New("the version did not start")
	}
	c.SiteLog(snap.Site.Name).Event("Deployment %s still did not start: %v", d.ID, failed)
	return failed
}
