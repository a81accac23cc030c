package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/slipway-dev/slipway"
)

// errPlanNotFound is ARM's ResourceNotFound message for a plan.
func errPlanNotFound(rg, name string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "The Resource 'Microsoft.Web/serverFarms/%s' under resource group '%s' was not found.", name, rg)
}

// PutPlan creates the plan or updates its SKU, OS flag and tags. It returns
// the stored plan (name casing and creation time from the first PUT) and
// whether it was created. The resource group must exist.
func (s *Store) PutPlan(ctx context.Context, p slipway.Plan) (slipway.Plan, bool, error) {
	if err := p.Validate(); err != nil {
		return slipway.Plan{}, false, err
	}
	if p.SKU.Capacity == 0 {
		p.SKU.Capacity = 1
	}
	var out slipway.Plan
	var created bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		g, err := groupInTx(ctx, tx, p.ResourceGroup)
		if err != nil {
			return err
		}
		p.ResourceGroup = g.Name
		if strings.TrimSpace(p.Location) == "" {
			p.Location = g.Location
		}
		old, err := scanPlan(tx.QueryRowContext(ctx, planSelect+` WHERE resource_group = ? AND name = ?`, p.ResourceGroup, p.Name))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if p.Created.IsZero() {
				p.Created = s.now().UTC()
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO plans (resource_group, name, location, sku_name, sku_tier, sku_capacity, linux, tags, created, per_site_scaling)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				p.ResourceGroup, p.Name, p.Location, p.SKU.Name, p.SKU.Tier, p.SKU.Capacity, boolInt(p.Linux), encodeTags(p.Tags), toUnix(p.Created), boolInt(p.PerSiteScaling)); err != nil {
				return fmt.Errorf("inserting plan: %w", err)
			}
			out, created = p, true
		case err != nil:
			return err
		default:
			if err := slotsFit(ctx, tx, p); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE plans SET sku_name = ?, sku_tier = ?, sku_capacity = ?, linux = ?, tags = ?, per_site_scaling = ?
				WHERE resource_group = ? AND name = ?`,
				p.SKU.Name, p.SKU.Tier, p.SKU.Capacity, boolInt(p.Linux), encodeTags(p.Tags), boolInt(p.PerSiteScaling), p.ResourceGroup, p.Name); err != nil {
				return fmt.Errorf("updating plan: %w", err)
			}
			out = old
			out.SKU, out.Linux, out.Tags, out.PerSiteScaling = p.SKU, p.Linux, p.Tags, p.PerSiteScaling
		}
		if out.Tags == nil {
			out.Tags = map[string]string{}
		}
		return nil
	})
	if err != nil {
		return slipway.Plan{}, false, err
	}
	return out, created, nil
}

// slotsFit refuses p's SKU when an app of the plan has more deployment
// slots than it allows, as App Service refuses to scale a plan with slots
// down to Basic (slots are a Standard feature): the app with the most
// slots is named, with what to do. An app is the plan's when it or one of
// its slots runs there, and all its slots count, wherever they run (a
// slot moved off the plan is still the app's). Checked in the plan's
// transaction, so a slot made at the same time is counted or refused
// itself.
func slotsFit(ctx context.Context, tx *sql.Tx, p slipway.Plan) error {
	max, tier := p.SKU.MaxSlots()
	var app string
	var n int
	err := tx.QueryRowContext(ctx, `SELECT a.name, (SELECT count(*) FROM sites s WHERE s.slot_of = a.name) AS n
		FROM sites a WHERE a.slot_of IS NULL
		AND (a.plan_resource_group = ? AND a.plan = ?
			OR EXISTS (SELECT 1 FROM sites s WHERE s.slot_of = a.name AND s.plan_resource_group = ? AND s.plan = ?))
		ORDER BY n DESC, a.name LIMIT 1`, p.ResourceGroup, p.Name, p.ResourceGroup, p.Name).Scan(&app, &n)
	if errors.Is(err, sql.ErrNoRows) || err == nil && 1+n <= max {
		return nil
	} else if err != nil {
		return fmt.Errorf("counting the plan's slots: %w", err)
	}
	return slipway.Errorf(slipway.ECONFLICT, "Cannot change the App Service plan '%s' to %s: its app '%s' has %d deployment slot(s) and the '%s' SKU allows %s. Delete the slots first (az webapp deployment slot delete), or choose a SKU with enough slots (Standard: 4 besides production; Premium: 19).",
		p.Name, p.SKU.Name, app, n, tier, slotsAllowed(max))
}

// Plan returns the named plan in the resource group (both case-insensitive).
func (s *Store) Plan(ctx context.Context, rg, name string) (slipway.Plan, error) {
	p, err := scanPlan(s.read.QueryRowContext(ctx, planSelect+` WHERE resource_group = ? AND name = ?`, rg, name))
	if errors.Is(err, sql.ErrNoRows) {
		if _, gerr := s.ResourceGroup(ctx, rg); gerr != nil {
			return slipway.Plan{}, gerr
		}
		return slipway.Plan{}, errPlanNotFound(rg, name)
	}
	return p, err
}

// Plans returns the plans in the resource group, or in every group when rg
// is "", ordered by group and name. A missing group is ENOTFOUND.
func (s *Store) Plans(ctx context.Context, rg string) ([]slipway.Plan, error) {
	if rg == "" {
		return listRows(ctx, s.read, "listing plans", scanPlan, planSelect+` ORDER BY resource_group, name`)
	}
	if _, err := s.ResourceGroup(ctx, rg); err != nil {
		return nil, err
	}
	return listRows(ctx, s.read, "listing plans", scanPlan, planSelect+` WHERE resource_group = ? ORDER BY name`, rg)
}

// PlanSiteCount returns how many sites use the plan.
func (s *Store) PlanSiteCount(ctx context.Context, rg, name string) (int, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM sites WHERE plan_resource_group = ? AND plan = ?`, rg, name).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting sites of plan: %w", err)
	}
	return n, nil
}

// DeletePlan deletes the plan. A plan that sites still use is ECONFLICT.
func (s *Store) DeletePlan(ctx context.Context, rg, name string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		p, err := scanPlan(tx.QueryRowContext(ctx, planSelect+` WHERE resource_group = ? AND name = ?`, rg, name))
		if errors.Is(err, sql.ErrNoRows) {
			return errPlanNotFound(rg, name)
		} else if err != nil {
			return err
		}
		// eachRow closes its rows before it returns, so before the DELETE.
		var names []string
		err = eachRow(ctx, tx, "listing sites of plan", func(r rowScanner) error {
			var n string
			if err := r.Scan(&n); err != nil {
				return err
			}
			names = append(names, n)
			return nil
		}, `SELECT name FROM sites WHERE plan_resource_group = ? AND plan = ? ORDER BY name`, rg, name)
		if err != nil {
			return err
		}
		if len(names) > 0 {
			return slipway.Errorf(slipway.ECONFLICT, "Server farm '%s' cannot be deleted because it has web app(s) %s assigned to it.", p.Name, strings.Join(names, ","))
		}
		if err := deleteAutoscaleOfPlansTx(ctx, tx, p.ResourceGroup, p.Name); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM plans WHERE resource_group = ? AND name = ?`, rg, name); err != nil {
			return fmt.Errorf("deleting plan: %w", err)
		}
		return nil
	})
}

const planSelect = `SELECT resource_group, name, location, sku_name, sku_tier, sku_capacity, linux, tags, created, per_site_scaling FROM plans`

func scanPlan(r rowScanner) (slipway.Plan, error) {
	var p slipway.Plan
	var tags string
	var created int64
	if err := r.Scan(&p.ResourceGroup, &p.Name, &p.Location, &p.SKU.Name, &p.SKU.Tier, &p.SKU.Capacity, &p.Linux, &tags, &created, &p.PerSiteScaling); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return p, err
		}
		return p, fmt.Errorf("reading plan: %w", err)
	}
	var err error
	if p.Tags, err = decodeTags(tags); err != nil {
		return p, err
	}
	p.Created = fromUnix(created)
	return p, nil
}

// plansUsedElsewhere refuses to delete resource group rg while a site of
// another group runs on one of its plans, with the refusal App Service
// gives for deleting that plan: the group's deletion would take the plan
// from under the site.
func plansUsedElsewhere(ctx context.Context, tx *sql.Tx, rg string) error {
	var plan string
	var names []string
	err := eachRow(ctx, tx, "listing sites on the group's plans", func(r rowScanner) error {
		var p, n string
		if err := r.Scan(&p, &n); err != nil {
			return err
		}
		if plan == "" {
			plan = p
		}
		if strings.EqualFold(p, plan) {
			names = append(names, n)
		}
		return nil
	}, `SELECT plan, name FROM sites WHERE plan_resource_group = ? AND resource_group <> ? ORDER BY plan, name`, rg, rg)
	if err != nil || len(names) == 0 {
		return err
	}
	return slipway.Errorf(slipway.ECONFLICT, "Server farm '%s' cannot be deleted because it has web app(s) %s assigned to it. Delete them or move them to another plan before deleting the resource group '%s'.",
		plan, strings.Join(names, ","), rg)
}
