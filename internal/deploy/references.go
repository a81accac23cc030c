package deploy

import (
	"context"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/every"
	"github.com/slipway-dev/slipway/internal/kvref"
)

// References resolves the Key Vault references of a site's settings and
// connection strings; *kvref.Resolver implements it.
type References interface {
	Resolve(ctx context.Context, site slipway.Site, settings map[string]string, conns map[string]slipway.ConnectionString) kvref.Resolution
}

var _ References = (*kvref.Resolver)(nil)

// DefaultReferenceRefresh is how often App Service fetches referenced
// secrets again: every 24 hours (docs/appservice.md §7,
// https://learn.microsoft.com/azure/app-service/app-service-key-vault-references#rotation).
// Any configuration change, restart or deployment resolves them at once.
const DefaultReferenceRefresh = 24 * time.Hour

// resolve replaces the references in snap by their values and adds the
// values to the site's log masks. It fails, saying which references and
// why, when one cannot be resolved and the app is not lenient.
func (c *Coordinator) resolve(ctx context.Context, snap *Snapshot) (kvref.Resolution, error) {
	res := c.lookUpReferences(ctx, *snap)
	if err := res.Err(); err != nil {
		return res, err
	}
	snap.Settings, snap.ConnectionStrings = res.Settings, res.ConnectionStrings
	return res, nil
}

// lookUpReferences resolves the references of snap's configuration and
// adds their values to the site's log masks, before anything that could
// print them runs. Without a resolver the configuration is as stored.
func (c *Coordinator) lookUpReferences(ctx context.Context, snap Snapshot) kvref.Resolution {
	if c.cfg.References == nil {
		return kvref.Resolution{Settings: snap.Settings, ConnectionStrings: snap.ConnectionStrings}
	}
	res := c.cfg.References.Resolve(ctx, snap.Site, snap.Settings, snap.ConnectionStrings)
	c.SiteLog(snap.Site.Name).Secrets().Add(res.Values()...)
	return res
}

// resolveAsSeen puts into snap the configuration the app's instances see
// whatever becomes of its references: resolved ones replaced by their
// values, the others left as their literal text — what App Service's Kudu
// and an SSH session into the app show (Kudu "will always see the
// resolved appSettings ones. Only if the URL is not resolvable, then you
// will see the unresolved URL":
// https://github.com/projectkudu/kudu/issues/3034). Unlike a deployment, a
// reference that does not resolve stops nothing here.
func (c *Coordinator) resolveAsSeen(ctx context.Context, snap *Snapshot) {
	res := c.lookUpReferences(ctx, *snap)
	snap.Settings, snap.ConnectionStrings = res.Settings, res.ConnectionStrings
}

// AppSettings returns the site's app settings as its instances and its
// Kudu see them (resolveAsSeen): Kudu's GET /api/settings.
func (c *Coordinator) AppSettings(ctx context.Context, site slipway.Site) (map[string]string, error) {
	snap, err := c.snapshot(ctx, site.ResourceGroup, site.Name)
	if err != nil {
		return nil, err
	}
	c.resolveAsSeen(ctx, &snap)
	return snap.Settings, nil
}

// noteReferences says in the deployment log what became of the app's
// references: how many resolved, and each one a lenient app gets as its
// literal text.
func (c *Coordinator) noteReferences(ctx context.Context, d slipway.Deployment, res kvref.Resolution) {
	if len(res.Results) == 0 {
		return
	}
	failed := res.Failed()
	if n := len(res.Results) - len(failed); n > 0 {
		c.step(ctx, d, slipway.LogMessage, "Resolved %d Key Vault reference(s) with the app's managed identity.", n)
	}
	for _, line := range strings.Split(res.Explain(), "\n") {
		if line != "" {
			c.step(ctx, d, slipway.LogWarning, "Key Vault reference not resolved; the app gets its literal text (%s is true): %s", kvref.LenientSetting, line)
		}
	}
}

// setRunningRefs records the fingerprint of the references the site's
// instances now run with ("" for none: nothing to refresh).
func (c *Coordinator) setRunningRefs(site, fingerprint string) {
	st := c.state(site)
	c.mu.Lock()
	st.refs, st.refsNote = fingerprint, ""
	c.mu.Unlock()
}

// refreshLoop resolves the references of running sites every
// ReferenceRefresh until ctx ends.
func (c *Coordinator) refreshLoop(ctx context.Context) {
	every.Run(ctx, c.cfg.ReferenceRefresh, func(ctx context.Context) { c.RefreshReferences(ctx) })
}

// RefreshReferences resolves the references of every running site that
// has some, one site after another, and restarts (without downtime) each
// whose values changed, so that a rotated secret reaches the app. A site
// whose references no longer resolve keeps the values it runs with; its
// log says why, once.
func (c *Coordinator) RefreshReferences(ctx context.Context) {
	type running struct{ name, refs string }
	var todo []running
	c.mu.Lock()
	for name, st := range c.sites {
		if st.refs != "" {
			todo = append(todo, running{name, st.refs})
		}
	}
	c.mu.Unlock()
	for _, r := range todo {
		if ctx.Err() != nil {
			return
		}
		site, err := c.cfg.Store.FindSite(ctx, r.name)
		if err != nil || !site.Enabled {
			continue
		}
		snap, err := c.snapshot(ctx, site.ResourceGroup, site.Name)
		if err != nil {
			c.cfg.Logger.Warn("refreshing Key Vault references", "site", site.Name, "err", err)
			continue
		}
		res := c.cfg.References.Resolve(ctx, snap.Site, snap.Settings, snap.ConnectionStrings)
		if err := res.Err(); err != nil {
			c.noteRefreshProblem(site.Name, errText(err))
			continue
		}
		if res.Fingerprint() == r.refs {
			continue
		}
		c.SiteLog(site.Name).Event("A Key Vault secret the app references changed; restarting the app with the new value.")
		if err := c.Restart(ctx, site.ResourceGroup, site.Name); err != nil {
			c.noteRefreshProblem(site.Name, errText(err))
		}
	}
}

func (c *Coordinator) noteRefreshProblem(site, msg string) {
	st := c.state(site)
	c.mu.Lock()
	seen := st.refsNote == msg
	st.refsNote = msg
	c.mu.Unlock()
	if !seen {
		c.SiteLog(site).Event("Refreshing Key Vault references failed; the app keeps the values it runs with. %s", msg)
	}
}
