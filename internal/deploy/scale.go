package deploy

import (
	"context"
	"maps"
	"strconv"
	"strings"

	"github.com/slipway-dev/slipway"
	rt "github.com/slipway-dev/slipway/internal/runtime"
)

// This file turns a site's scale and health-check configuration into the
// runtime's terms, and applies a change of the instance count alone
// (scale out or in) without restarting the instances that keep running.

// instanceCount is how many instances of the site run: one per worker of
// its plan (every app runs on every worker) or, when the plan has
// perSiteScaling, the site's numberOfWorkers up to the plan's workers
// (https://learn.microsoft.com/azure/app-service/manage-scale-per-app).
func instanceCount(s Snapshot) int {
	n := max(s.Plan.SKU.Capacity, 1)
	if s.Plan.PerSiteScaling && s.Site.Config.NumberOfWorkers > 0 {
		n = min(n, s.Site.Config.NumberOfWorkers)
	}
	return n
}

// healthCheck is the site's health check (docs/appservice.md §9): its
// healthCheckPath, pinged on its default host name host, with the limits
// of the WEBSITE_HEALTHCHECK_* app settings (out-of-range values take
// App Service's defaults, in the runtime).
func healthCheck(s Snapshot, host string) rt.HealthCheck {
	path := strings.TrimSpace(s.Site.Config.HealthCheckPath)
	if path == "" {
		return rt.HealthCheck{}
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	h := rt.HealthCheck{Path: path, Host: host, HTTPS: s.Site.HTTPSOnly}
	h.MaxPingFailures, _ = strconv.Atoi(strings.TrimSpace(s.Settings["WEBSITE_HEALTHCHECK_MAXPINGFAILURES"]))
	h.MaxUnhealthyPercent, _ = strconv.Atoi(strings.TrimSpace(s.Settings["WEBSITE_HEALTHCHECK_MAXUNHEALTHYWORKERPERCENT"]))
	return h
}

// scaleOnly reports whether now differs from was (what the running
// instances were started with) in nothing but the instance count: then a
// scale, not a restart, applies it, as on App Service.
func scaleOnly(was, now Snapshot) bool {
	a, b := was.Site.Config, now.Site.Config
	a.NumberOfWorkers, b.NumberOfWorkers = 0, 0
	return a == b && was.Site.HTTPSOnly == now.Site.HTTPSOnly && strings.EqualFold(was.Site.Plan, now.Site.Plan) &&
		was.Plan.SKU.Name == now.Plan.SKU.Name && was.Plan.Linux == now.Plan.Linux &&
		maps.Equal(was.Settings, now.Settings) && maps.Equal(was.ConnectionStrings, now.ConnectionStrings)
}

// rolled records the snapshot a site's running instances were started with.
func (c *Coordinator) rolled(s Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state0(s.Site.Name).running = &s
}

// scaleOrRestart applies a changed configuration: by scaling when only the
// instance count changed since the instances started, else by a restart.
func (c *Coordinator) scaleOrRestart(ctx context.Context, rg, name string) error {
	snap, err := c.snapshot(ctx, rg, name)
	if err != nil {
		return err
	}
	st := c.state(name)
	c.mu.Lock()
	was := st.running
	c.mu.Unlock()
	if !snap.Site.Enabled || was == nil || !scaleOnly(*was, snap) {
		return c.Restart(ctx, rg, name)
	}
	st.op.Lock()
	defer st.op.Unlock()
	if err := c.cfg.Runtime.Scale(ctx, snap.Site.Name, instanceCount(snap)); err != nil {
		return slipway.Errorf(slipway.EUNAVAILABLE, "The app did not scale to %d instances: %v. The running instances keep serving; see the log stream.", instanceCount(snap), err)
	}
	c.rolled(snap)
	return nil
}
