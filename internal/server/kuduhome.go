package server

import (
	"context"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/scm"
)

// planReader reads an app's plan, whose tier sets its home's quota.
type planReader interface {
	Plan(ctx context.Context, rg, name string) (slipway.Plan, error)
}

// kuduHome is scm.Config.Home: the site's home as its instances have it —
// mounted with its tier's quota and laid out (prepareHome), owned by the
// app's user — so that Kudu's file API (/api/vfs, /api/zip) writes what
// the app then sees, as the app's user, within the app's quota, whether
// or not an instance runs.
func (p *planner) kuduHome(ctx context.Context, plans planReader, site slipway.Site) (scm.Home, error) {
	plan, err := plans.Plan(ctx, site.PlanResourceGroup(), site.Plan)
	if err != nil {
		return scm.Home{}, err
	}
	uid, gid, err := p.identity(ctx, site.Name)
	if err != nil {
		return scm.Home{}, err
	}
	home, err := p.prepareHome(ctx, deploy.Snapshot{Site: site, Plan: plan}, uid, gid)
	if err != nil {
		return scm.Home{}, err
	}
	return scm.Home{Dir: home, UID: uid, GID: gid}, nil
}
