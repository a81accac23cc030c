package deploy

// Redeploying and deleting earlier deployments: Kudu's PUT and DELETE
// /api/deployments/{id} (https://github.com/projectkudu/kudu/wiki/REST-API,
// "Deployment"; docs/appservice.md §5).
//
// Kudu redeploys by building the deployment's commit again, so only
// repository (git) deployments can be redeployed there; a zip push's
// record is read-only. Here every successful deployment keeps its sealed
// artifact (the last keepDeployments of them, for rollback), so any of them
// is released again as it was built: no build, no release command (as at a
// restart or a swap), the app's settings of now, the zero-downtime roll of
// a deployment. As on Kudu the record runs again under its id: its log
// starts afresh, and it ends successful and active (or failed, its version
// kept) with new start and end times, received when it first was.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
)

// RedeployOptions describe a redeploy.
type RedeployOptions struct {
	// Deployer is who asked: Kudu records the Basic user name of the
	// request as the deployer of the run. "" keeps the record's.
	Deployer string
}

// Redeploy releases the version of one of the site's earlier deployments
// again, in the background, under that deployment's id; Wait blocks until
// it has finished. It fails at once, changing nothing, with ENOTFOUND for
// an id the site has not (another site's, a slot's, "latest") or whose
// version is no longer stored, ECONFLICT for a deployment that failed (it
// has no version) and, as Submit, while a deployment of the site runs.
// Redeploying the active deployment restarts the site onto it.
func (c *Coordinator) Redeploy(ctx context.Context, site slipway.Site, id string, o RedeployOptions) (slipway.Deployment, error) {
	release, err := c.begin(site.Name, id)
	if err != nil {
		return slipway.Deployment{}, err
	}
	d, art, err := c.redeployable(ctx, site, id)
	if err != nil {
		release()
		return slipway.Deployment{}, err
	}
	if err := c.cfg.Store.ClearDeploymentLog(ctx, d.Site, d.ID); err != nil {
		release()
		return slipway.Deployment{}, err
	}
	// Running again: unfinished, with the end of its last run until this
	// one ends (d.Redeploying), as Kudu's status file keeps it.
	d.Status, d.StatusText, d.Progress, d.StartTime = slipway.DeployDeploying, "Redeploying.", "", c.cfg.Now().UTC()
	if o.Deployer != "" {
		d.Deployer = o.Deployer
	}
	if err := c.cfg.Store.UpdateDeployment(ctx, d); err != nil {
		release()
		return slipway.Deployment{}, fmt.Errorf("recording the redeploy: %w", err)
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer release()
		if c.redeploy(c.ctx, site, d, art) {
			c.autoSwap(c.ctx, site, d) // as Kudu's redeploy does (DeploymentController.Deploy)
		}
	}()
	return d, nil
}

// Record is a deployment made elsewhere, as Kudu's PUT
// /api/deployments/{id} describes it (DeploymentController's
// TryParseDeployResult).
type Record struct {
	ID                        string
	Status                    slipway.DeployStatus // DeploySuccess or DeployFailed
	Message, Deployer, Author string
	AuthorEmail               string
	StartTime, EndTime        time.Time // zero: now
	// Details, if any, is logged under the record's one log entry.
	Details string
}

// Record adds a deployment made elsewhere to the site's history, as Kudu's
// CreateDeployment does for tools that deploy by other means and report
// to Kudu (the GitHub Action for App Service does after each run): a
// finished, read-only record whose log says "Deployment successful." or
// "Deployment failed.", with the details under it. Unlike Kudu's, it never
// becomes the active deployment: here the active one is the version that
// serves, and a record has none. ECONFLICT while a deployment of the site
// runs (Kudu takes its deployment lock) or for an id that exists.
func (c *Coordinator) Record(ctx context.Context, site slipway.Site, r Record) (slipway.Deployment, error) {
	release, err := c.begin(site.Name, r.ID)
	if err != nil {
		return slipway.Deployment{}, err
	}
	defer release()
	now := c.cfg.Now().UTC()
	if r.StartTime.IsZero() {
		r.StartTime = now
	}
	if r.EndTime.IsZero() {
		r.EndTime = now
	}
	d, err := c.cfg.Store.CreateDeployment(ctx, slipway.Deployment{
		ID: r.ID, Site: site.Name, Status: r.Status, Author: r.Author, AuthorEmail: r.AuthorEmail,
		Deployer: r.Deployer, Message: r.Message, ReceivedTime: r.StartTime, StartTime: r.StartTime, EndTime: r.EndTime,
		Recorded: true,
	})
	if err != nil {
		return slipway.Deployment{}, err
	}
	entry := slipway.DeploymentLogEntry{Message: "Deployment successful.", Type: slipway.LogMessage, Details: r.Details}
	if r.Status != slipway.DeploySuccess {
		entry.Message, entry.Type = "Deployment failed.", slipway.LogError
	}
	if _, err := c.cfg.Store.AppendDeploymentLog(ctx, d.Site, d.ID, entry); err != nil {
		c.cfg.Logger.Error("logging a recorded deployment", "site", site.Name, "deployment", d.ID, "err", err)
	}
	c.prune(ctx, site, d, "")
	return d, nil
}

// redeployable returns the site's deployment id and its stored version, or
// why it cannot be redeployed.
func (c *Coordinator) redeployable(ctx context.Context, site slipway.Site, id string) (slipway.Deployment, Artifact, error) {
	ds, err := c.cfg.Store.ListDeployments(ctx, site.Name)
	if err != nil {
		return slipway.Deployment{}, Artifact{}, err
	}
	for _, d := range ds {
		if !strings.EqualFold(d.ID, id) {
			continue
		}
		if d.ArtifactDir != "" {
			if art, err := c.artifactOf(d); err == nil {
				return d, art, nil
			}
		}
		if d.Recorded {
			return slipway.Deployment{}, Artifact{}, slipway.Errorf(slipway.ECONFLICT, "Deployment '%s' was made elsewhere and only recorded here (by %s), so this server has no version of it to release: deploy its package instead.", d.ID, orNA(d.Deployer))
		}
		if d.Status == slipway.DeployFailed {
			return slipway.Deployment{}, Artifact{}, slipway.Errorf(slipway.ECONFLICT, "Deployment '%s' failed (%s), so it has no version to release again: only a successful deployment can be redeployed. Fix the app and deploy it again.", d.ID, orNA(d.StatusText))
		}
		return slipway.Deployment{}, Artifact{}, slipway.Errorf(slipway.ENOTFOUND, "The version deployment '%s' made is no longer stored on this server, so it cannot be redeployed; deploy its package again.", d.ID)
	}
	// Kudu's Error_DeploymentNotFound.
	return slipway.Deployment{}, Artifact{}, slipway.Errorf(slipway.ENOTFOUND, "Deployment '%s' not found.", id)
}

// redeploy is the life of one redeploy; it ends the record with status 3
// or 4 and reports whether it succeeded. The version is never changed or
// removed: a failed redeploy can be tried again.
func (c *Coordinator) redeploy(ctx context.Context, site slipway.Site, d slipway.Deployment, art Artifact) bool {
	fail := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		c.step(context.Background(), d, slipway.LogError, "%s", msg)
		c.step(context.Background(), d, slipway.LogError, "Redeploy failed. The previous version keeps serving. %s", keptForRestart)
		c.setStatus(context.Background(), &d, slipway.DeployFailed, msg)
	}
	c.step(ctx, d, slipway.LogMessage, "Redeploying deployment %s, received %s: its stored version is released again as it was built, not built again; release commands do not run, and the app's current settings apply.",
		d.ID, d.ReceivedTime.UTC().Format("2006-01-02 15:04:05Z"))
	// The site's lock first, as a restart takes it: a swap that commits
	// meanwhile exchanges the settings this redeploy must run with.
	st := c.state(site.Name)
	st.op.Lock()
	defer st.op.Unlock()
	snap, refs, ok := c.configuration(ctx, site, d, fail)
	if !ok {
		return false
	}
	if active, _, ok, err := c.activeArtifact(ctx, site.Name); err == nil && ok {
		if gone := newMigrations(active, art); len(gone) > 0 {
			c.step(ctx, d, slipway.LogWarning, "The version serving until now has Django migrations this one lacks (%s). Release commands do not run at a redeploy, and Django never unapplies migrations by itself: the database keeps them. If this version cannot work with a database so migrated, migrate it back with the version that has them (manage.py migrate <app> <migration>) and redeploy this one, or deploy a fix.",
				strings.Join(gone, ", "))
		}
	}
	restart := snap.Site.Enabled
	if !restart {
		c.step(ctx, d, slipway.LogWarning, "The app is stopped: this version serves when it is started.")
	}
	return c.activate(ctx, snap, &d, art, refs, restart, fail, fail)
}

// DeleteDeployment deletes one of the site's deployments with its log, and
// its version and package unless another deployment uses them, as Kudu's
// DELETE /api/deployments/{id} does: ENOTFOUND for an id the site has not,
// ECONFLICT for the active deployment and while a deployment of the site
// runs.
func (c *Coordinator) DeleteDeployment(ctx context.Context, site slipway.Site, id string) error {
	release, err := c.begin(site.Name, id)
	if err != nil {
		return err
	}
	defer release()
	d, err := c.cfg.Store.DeleteDeployment(ctx, site.Name, id)
	if err != nil {
		return err
	}
	c.removeFiles(site, d)
	return nil
}
