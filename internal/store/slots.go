package store

// Deployment slots, slot swaps and traffic routing (docs/slots.md). A slot
// is a site row named "<app>-<slot>" with slot_of and slot_name set, so
// every per-site method works on it by that name; this file adds what only
// slots have.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/slipway-dev/slipway"
)

func errSlotNotFound(rg, app, slot string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "The Resource 'Microsoft.Web/sites/%s/slots/%s' under resource group '%s' was not found.", app, slot, rg)
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// publishingUser is the app-scope publishing user: "$<app>" for a site,
// "$<app>__<slot>" for a slot, as Azure names them.
func publishingUser(site slipway.Site) string {
	if site.SlotOf != "" {
		return "$" + site.SlotOf + "__" + site.Slot
	}
	return "$" + site.Name
}

// sameSlot reports whether a and b are the same kind of row: both the
// production site, or both the same slot of the same app.
func sameSlot(a, b slipway.Site) bool {
	return strings.EqualFold(a.SlotOf, b.SlotOf) && strings.EqualFold(a.Slot, b.Slot)
}

// checkSlotParent checks, for a new slot row, that its app exists in the
// same resource group and plan and is a production site, and canonicalises
// the names. A production row passes unchanged.
func checkSlotParent(ctx context.Context, tx *sql.Tx, site *slipway.Site) error {
	if site.SlotOf == "" {
		if site.Slot != "" {
			return slipway.Errorf(slipway.EINVALID, "A slot needs its app.")
		}
		return nil
	}
	if err := slipway.ValidateSlotName(site.SlotOf, site.Slot); err != nil {
		return err
	}
	app, err := scanSite(tx.QueryRowContext(ctx, siteSelect+` WHERE name = ? AND resource_group = ?`, site.SlotOf, site.ResourceGroup))
	if errors.Is(err, sql.ErrNoRows) {
		return errSiteNotFound(site.ResourceGroup, site.SlotOf)
	} else if err != nil {
		return err
	}
	if app.SlotOf != "" {
		return slipway.Errorf(slipway.EINVALID, "%s is itself a slot; slots belong to an app.", app.Name)
	}
	if !app.OnPlan(site.PlanResourceGroup(), site.Plan) {
		return slipway.Errorf(slipway.EINVALID, "A slot runs on its app's App Service plan %s, not %s.", app.Plan, site.Plan)
	}
	site.SlotOf = app.Name
	site.Slot = strings.ToLower(site.Slot)
	if !strings.EqualFold(site.Name, slipway.SlotSiteName(app.Name, site.Slot)) {
		return slipway.Errorf(slipway.EINVALID, "Slot %s of %s must be named %s.", site.Slot, app.Name, slipway.SlotSiteName(app.Name, site.Slot))
	}
	return checkSlotLimit(ctx, tx, app)
}

// checkSlotLimit refuses a new slot of app beyond what its plan's SKU
// allows (slipway.SKU.MaxSlots: production and 4 slots on Standard, 20 in
// all on Premium, none on Free and Basic), with App Service's message. It
// runs in the transaction that adds the slot, as slotsFit runs in the one
// that changes the plan's SKU, so that neither gets past the other.
func checkSlotLimit(ctx context.Context, tx *sql.Tx, app slipway.Site) error {
	var skuName string
	if err := tx.QueryRowContext(ctx, `SELECT sku_name FROM plans WHERE resource_group = ? AND name = ?`, app.PlanResourceGroup(), app.Plan).Scan(&skuName); err != nil {
		return fmt.Errorf("reading the app's plan: %w", err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sites WHERE slot_of = ?`, app.Name).Scan(&n); err != nil {
		return fmt.Errorf("counting the app's slots: %w", err)
	}
	if max, tier := (slipway.SKU{Name: skuName}).MaxSlots(); 1+n >= max {
		return slipway.SlotLimitError(tier)
	}
	return nil
}

// slotsFitMove refuses to move the site moving — app itself or one of
// its slots — to plan p when p's SKU allows fewer slots than app has, as
// App Service does not let an app with slots onto a Basic plan: the same
// rule as scaling its plan down (slotsFit), checked in the transaction
// that moves it, so a slot made meanwhile is counted or refused itself.
func slotsFitMove(ctx context.Context, tx *sql.Tx, app, moving string, p slipway.Plan) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sites WHERE slot_of = ?`, app).Scan(&n); err != nil {
		return fmt.Errorf("counting the app's slots: %w", err)
	}
	max, tier := p.SKU.MaxSlots()
	if 1+n <= max {
		return nil
	}
	return slipway.Errorf(slipway.ECONFLICT, "Cannot move '%s' to the App Service plan '%s': the app '%s' has %d deployment slot(s) and the plan's '%s' SKU (%s) allows %s. Delete the slots first (az webapp deployment slot delete), or choose a plan with enough slots (Standard: 4 besides production; Premium: 19).",
		moving, p.Name, app, n, p.SKU.Name, tier, slotsAllowed(max))
}

// slotsAllowed says how many slots besides production max allows.
func slotsAllowed(max int) string {
	if max > 1 {
		return fmt.Sprintf("at most %d", max-1)
	}
	return "none"
}

// PutSlot creates the slot of the app, or replaces its properties, with
// its settings and connection strings when they are not nil (a new slot
// starts empty, docs/appservice.md §6). site gives the properties; its
// name, app, slot and plan are set here. The name "<app>-<slot>" must be
// free: a site of that name that is not this slot is ECONFLICT.
func (s *Store) PutSlot(ctx context.Context, rg, app, slot string, site slipway.Site, settings map[string]string, conns map[string]slipway.ConnectionString) (slipway.Site, bool, error) {
	if err := slipway.ValidateSlotName(app, slot); err != nil {
		return slipway.Site{}, false, err
	}
	parent, err := s.Site(ctx, rg, app)
	if err != nil {
		return slipway.Site{}, false, err
	}
	if parent.SlotOf != "" {
		return slipway.Site{}, false, errSiteNotFound(rg, app)
	}
	site.ResourceGroup, site.Plan, site.PlanGroup = parent.ResourceGroup, parent.Plan, parent.PlanGroup
	site.Name, site.SlotOf, site.Slot = slipway.SlotSiteName(parent.Name, slot), parent.Name, slot
	if site.Location == "" {
		site.Location = parent.Location
	}
	return s.PutSiteWithConfig(ctx, site, settings, conns) // rebuilds the routing
}

// Slot returns the slot of the app ("production" returns the app itself).
func (s *Store) Slot(ctx context.Context, rg, app, slot string) (slipway.Site, error) {
	if strings.EqualFold(slot, slipway.ProductionSlot) || slot == "" {
		site, err := s.Site(ctx, rg, app)
		if err == nil && site.SlotOf != "" {
			return slipway.Site{}, errSiteNotFound(rg, app)
		}
		return site, err
	}
	site, err := scanSite(s.read.QueryRowContext(ctx, siteSelect+` WHERE slot_of = ? AND slot_name = ? AND resource_group = ?`, app, slot, rg))
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := s.Slot(ctx, rg, app, ""); err != nil {
			return slipway.Site{}, err
		}
		return slipway.Site{}, errSlotNotFound(rg, app, slot)
	}
	return site, err
}

// Slots returns the slots of the app (not the app itself), by name.
func (s *Store) Slots(ctx context.Context, rg, app string) ([]slipway.Site, error) {
	if _, err := s.Slot(ctx, rg, app, ""); err != nil {
		return nil, err
	}
	return listRows(ctx, s.read, "listing slots", scanSite, siteSelect+` WHERE slot_of = ? AND resource_group = ? ORDER BY slot_name`, app, rg)
}

// --- Swaps --------------------------------------------------------------

// Swap returns the swap under way for the app; ENOTFOUND when none.
func (s *Store) Swap(ctx context.Context, app string) (slipway.Swap, error) {
	sw, err := scanSwap(s.read.QueryRowContext(ctx, `SELECT app, source, target, phase FROM slot_swaps WHERE app = ?`, app))
	if errors.Is(err, sql.ErrNoRows) {
		return slipway.Swap{}, slipway.Errorf(slipway.ENOTFOUND, "No slot swap of %s is under way.", app)
	}
	return sw, err
}

// Swaps returns every swap under way (for recovery at start).
func (s *Store) Swaps(ctx context.Context) ([]slipway.Swap, error) {
	return listRows(ctx, s.read, "listing swaps", scanSwap, `SELECT app, source, target, phase FROM slot_swaps ORDER BY app`)
}

func scanSwap(r rowScanner) (slipway.Swap, error) {
	var sw slipway.Swap
	var phase string
	if err := r.Scan(&sw.App, &sw.Source, &sw.Target, &phase); err != nil {
		return sw, err
	}
	sw.Phase = slipway.SwapPhase(phase)
	return sw, nil
}

// BeginSwap records a swap in its phase. Source and Target are site row
// names of two different slots of the app. A swap of the same pair may
// move from preview to warming; any other swap under way for the app is
// ECONFLICT.
func (s *Store) BeginSwap(ctx context.Context, sw slipway.Swap) error {
	if sw.Phase != slipway.SwapPreview && sw.Phase != slipway.SwapWarming {
		return slipway.Errorf(slipway.EINVALID, "Unknown swap phase %q.", sw.Phase)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		src, dst, err := swapPair(ctx, tx, sw)
		if err != nil {
			return err
		}
		old, err := scanSwap(tx.QueryRowContext(ctx, `SELECT app, source, target, phase FROM slot_swaps WHERE app = ?`, src.App()))
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("reading swap: %w", err)
		case !strings.EqualFold(old.Source, src.Name) || !strings.EqualFold(old.Target, dst.Name):
			return slipway.Errorf(slipway.ECONFLICT, "Another slot swap of %s is under way (%s). Finish it or reset it first.", src.App(), old)
		case old.Phase == slipway.SwapWarming:
			return slipway.Errorf(slipway.ECONFLICT, "This slot swap is already under way.")
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO slot_swaps (app, source, target, phase, started) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (app) DO UPDATE SET phase = excluded.phase`, src.App(), src.Name, dst.Name, string(sw.Phase), toUnix(s.now()))
		if err != nil {
			return fmt.Errorf("recording swap: %w", err)
		}
		return nil
	})
}

// swapPair loads the two rows of a swap and checks they are two different
// slots of one app.
func swapPair(ctx context.Context, q querier, sw slipway.Swap) (src, dst slipway.Site, err error) {
	if src, err = scanSite(q.QueryRowContext(ctx, siteSelect+` WHERE name = ?`, sw.Source)); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			err = slipway.Errorf(slipway.ENOTFOUND, "Slot site %s was not found.", sw.Source)
		}
		return
	}
	if dst, err = scanSite(q.QueryRowContext(ctx, siteSelect+` WHERE name = ?`, sw.Target)); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			err = slipway.Errorf(slipway.ENOTFOUND, "Slot site %s was not found.", sw.Target)
		}
		return
	}
	if !strings.EqualFold(src.App(), dst.App()) || (sw.App != "" && !strings.EqualFold(sw.App, src.App())) {
		err = slipway.Errorf(slipway.EINVALID, "%s and %s are not slots of the same app.", src.Name, dst.Name)
	} else if strings.EqualFold(src.Name, dst.Name) {
		err = slipway.Errorf(slipway.EINVALID, "A slot cannot be swapped with itself.")
	}
	return
}

// EndSwap forgets the app's swap (reset, a failed warm-up, recovery).
func (s *Store) EndSwap(ctx context.Context, app string) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM slot_swaps WHERE app = ?`, app); err != nil {
		return fmt.Errorf("ending swap: %w", err)
	}
	return nil
}

// SwapStickyNames returns the app's slot-sticky setting and connection
// string names (kept on the production row, docs/slots.md §1).
func (s *Store) SwapStickyNames(ctx context.Context, app string) (settings, conns []string, err error) {
	return stickyNames(ctx, s.read, app)
}

// CommitSwap swaps two slots of an app in one transaction (docs/slots.md
// §2): non-sticky app settings and connection strings change places, so do
// the stack, startup command and web sockets setting (general settings
// that move with the content:
// https://learn.microsoft.com/azure/app-service/deploy-staging-slots#which-settings-are-swapped),
// each row gets a new active deployment
// record pointing at the other's active artifact, and the swap record is
// deleted. It returns the new active deployments of source and target
// (zero when a side now runs no deployment).
func (s *Store) CommitSwap(ctx context.Context, app, source, target string) (newSource, newTarget slipway.Deployment, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		src, dst, err := swapPair(ctx, tx, slipway.Swap{App: app, Source: source, Target: target})
		if err != nil {
			return err
		}
		stickySet, stickyConn, err := stickyNames(ctx, tx, src.App())
		if err != nil {
			return err
		}
		for _, kind := range []bool{true, false} { // settings, then connection strings
			if kind {
				a, err := s.readSettings(ctx, tx, src.Name)
				if err != nil {
					return err
				}
				b, err := s.readSettings(ctx, tx, dst.Name)
				if err != nil {
					return err
				}
				na, nb := slipway.SwapConfig(a, b, stickySet)
				if err := s.setSettingsTx(ctx, tx, src.Name, na); err != nil {
					return err
				}
				if err := s.setSettingsTx(ctx, tx, dst.Name, nb); err != nil {
					return err
				}
				continue
			}
			a, err := s.readConnectionStrings(ctx, tx, src.Name)
			if err != nil {
				return err
			}
			b, err := s.readConnectionStrings(ctx, tx, dst.Name)
			if err != nil {
				return err
			}
			na, nb := slipway.SwapConfig(a, b, stickyConn)
			if err := s.setConnectionStringsTx(ctx, tx, src.Name, na); err != nil {
				return err
			}
			if err := s.setConnectionStringsTx(ctx, tx, dst.Name, nb); err != nil {
				return err
			}
		}
		now := toUnix(s.now().UTC())
		for _, p := range [][2]slipway.Site{{src, dst}, {dst, src}} {
			if _, err := tx.ExecContext(ctx, `UPDATE sites SET linux_fx_version = ?, app_command_line = ?, web_sockets_enabled = ?, modified = ? WHERE name = ?`,
				p[1].Config.LinuxFxVersion, p[1].Config.AppCommandLine, boolInt(!p[1].Config.WebSocketsOff), now, p[0].Name); err != nil {
				return fmt.Errorf("swapping site config: %w", err)
			}
		}
		srcActive, err := activeDeploymentID(ctx, tx, src.Name)
		if err != nil {
			return err
		}
		dstActive, err := activeDeploymentID(ctx, tx, dst.Name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE deployments SET active = 0 WHERE site IN (?, ?) AND active = 1`, src.Name, dst.Name); err != nil {
			return fmt.Errorf("clearing active deployments: %w", err)
		}
		if newSource, err = s.copyDeploymentTx(ctx, tx, dstActive, src, dst, now); err != nil {
			return err
		}
		if newTarget, err = s.copyDeploymentTx(ctx, tx, srcActive, dst, src, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM slot_swaps WHERE app = ?`, src.App()); err != nil {
			return fmt.Errorf("ending swap: %w", err)
		}
		return nil
	})
	if err == nil {
		s.sitesChanged(ctx) // the web sockets setting moved
	}
	return newSource, newTarget, err
}

func activeDeploymentID(ctx context.Context, q querier, site string) (string, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT id FROM deployments WHERE site = ? AND active = 1`, site).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("reading active deployment: %w", err)
	}
	return id, nil
}

// copyDeploymentTx gives site to a new active deployment record that runs
// the artifact of deployment id of from; "" (from runs no deployment)
// leaves to without one.
func (s *Store) copyDeploymentTx(ctx context.Context, tx *sql.Tx, id string, to, from slipway.Site, now int64) (slipway.Deployment, error) {
	if id == "" {
		return slipway.Deployment{}, nil
	}
	newID, err := newGUID()
	if err != nil {
		return slipway.Deployment{}, err
	}
	newID = strings.ReplaceAll(newID, "-", "")
	msg := fmt.Sprintf("Swapped in from %s (deployment %s).", from.Name, id)
	if _, err := tx.ExecContext(ctx, `INSERT INTO deployments (id, site, resource_group, status, status_text, author, author_email,
		deployer, message, progress, build, package_sha256, artifact_dir, received_time, start_time, end_time, active)
		SELECT ?, ?, ?, status, status_text, author, author_email, 'Swap', ?, progress, build, package_sha256, artifact_dir, ?, ?, ?, 1
		FROM deployments WHERE site = ? AND id = ?`, newID, to.Name, to.ResourceGroup, msg, now, now, now, from.Name, id); err != nil {
		return slipway.Deployment{}, fmt.Errorf("recording swapped deployment: %w", err)
	}
	return scanDeployment(tx.QueryRowContext(ctx, deploymentSelect+` WHERE site = ? AND id = ?`, to.Name, newID))
}

// --- Auto swap ----------------------------------------------------------

// AutoSwapSlot returns the slot a site swaps into after each successful
// deployment (siteConfig.autoSwapSlotName); "" when off.
func (s *Store) AutoSwapSlot(ctx context.Context, rg, site string) (string, error) {
	name, err := s.siteName(ctx, s.read, rg, site)
	if err != nil {
		return "", err
	}
	var v string
	if err := s.read.QueryRowContext(ctx, `SELECT auto_swap_slot FROM sites WHERE name = ?`, name).Scan(&v); err != nil {
		return "", fmt.Errorf("reading auto swap: %w", err)
	}
	return v, nil
}

// SetAutoSwapSlot sets the slot a slot swaps into after each successful
// deployment ("" turns auto swap off). Only a slot can auto swap, and only
// into another slot of its app (or production).
func (s *Store) SetAutoSwapSlot(ctx context.Context, rg, site, target string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		row, err := scanSite(tx.QueryRowContext(ctx, siteSelect+` WHERE name = ? AND resource_group = ?`, site, rg))
		if errors.Is(err, sql.ErrNoRows) {
			return errSiteNotFound(rg, site)
		} else if err != nil {
			return err
		}
		if target != "" {
			if row.SlotOf == "" {
				return slipway.Errorf(slipway.EINVALID, "Auto swap is set on a deployment slot, not on the production site.")
			}
			if strings.EqualFold(target, row.Slot) {
				return slipway.Errorf(slipway.EINVALID, "A slot cannot auto swap into itself.")
			}
			if !strings.EqualFold(target, slipway.ProductionSlot) {
				var n int
				if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sites WHERE slot_of = ? AND slot_name = ?`, row.SlotOf, target).Scan(&n); err != nil {
					return fmt.Errorf("looking up slot: %w", err)
				}
				if n == 0 {
					return errSlotNotFound(rg, row.SlotOf, target)
				}
			}
			target = strings.ToLower(target)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sites SET auto_swap_slot = ? WHERE name = ?`, target, row.Name); err != nil {
			return fmt.Errorf("storing auto swap: %w", err)
		}
		return nil
	})
}

// --- Traffic routing ----------------------------------------------------

// RampUpRules returns the app's traffic routing rules; never nil.
func (s *Store) RampUpRules(ctx context.Context, rg, app string) ([]slipway.RampUpRule, error) {
	site, err := s.Slot(ctx, rg, app, "")
	if err != nil {
		return nil, err
	}
	var doc string
	if err := s.read.QueryRowContext(ctx, `SELECT ramp_up_rules FROM sites WHERE name = ?`, site.Name).Scan(&doc); err != nil {
		return nil, fmt.Errorf("reading traffic routing: %w", err)
	}
	return decodeRules(doc)
}

type ruleDoc struct {
	Slot    string  `json:"slot"`
	Percent float64 `json:"percent"`
}

func decodeRules(doc string) ([]slipway.RampUpRule, error) {
	var rs []ruleDoc
	if err := json.Unmarshal([]byte(doc), &rs); err != nil {
		return nil, fmt.Errorf("decoding traffic routing: %w", err)
	}
	out := make([]slipway.RampUpRule, 0, len(rs))
	for _, r := range rs {
		out = append(out, slipway.RampUpRule{Slot: r.Slot, Percent: r.Percent})
	}
	return out, nil
}

// SetRampUpRules replaces the app's traffic routing rules. Every slot they
// name must exist.
func (s *Store) SetRampUpRules(ctx context.Context, rg, app string, rules []slipway.RampUpRule) error {
	if err := slipway.ValidateRampUpRules(app, rules); err != nil {
		return err
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		site, err := scanSite(tx.QueryRowContext(ctx, siteSelect+` WHERE name = ? AND resource_group = ?`, app, rg))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && site.SlotOf != "") {
			return errSiteNotFound(rg, app)
		} else if err != nil {
			return err
		}
		doc := make([]ruleDoc, 0, len(rules))
		for _, r := range rules {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sites WHERE slot_of = ? AND slot_name = ?`, site.Name, r.Slot).Scan(&n); err != nil {
				return fmt.Errorf("looking up slot: %w", err)
			}
			if n == 0 {
				return errSlotNotFound(rg, site.Name, r.Slot)
			}
			doc = append(doc, ruleDoc{Slot: strings.ToLower(r.Slot), Percent: r.Percent})
		}
		b, _ := json.Marshal(doc) // plain structs always marshal
		if _, err := tx.ExecContext(ctx, `UPDATE sites SET ramp_up_rules = ? WHERE name = ?`, string(b), site.Name); err != nil {
			return fmt.Errorf("storing traffic routing: %w", err)
		}
		return nil
	})
	if err == nil {
		s.reloadRoutes(ctx)
	}
	return err
}

// SlotRoute returns the routing of an app (lower-case name) that has slots.
// It reads an in-memory table and does no I/O: the front door calls it on
// every request.
func (s *Store) SlotRoute(app string) (slipway.SlotRoutes, bool) {
	p := s.routes.m.Load()
	if p == nil {
		return slipway.SlotRoutes{}, false
	}
	r, ok := (*p)[strings.ToLower(app)]
	return r, ok
}

// routeIndex is the in-memory routing table, rebuilt from the database
// after every change to slots or rules and published atomically.
type routeIndex struct {
	mu sync.Mutex // serializes rebuilds
	m  atomic.Pointer[map[string]slipway.SlotRoutes]
}

// loadRoutes rebuilds the routing table from the database.
func (s *Store) loadRoutes(ctx context.Context) error {
	s.routes.mu.Lock()
	defer s.routes.mu.Unlock()
	m := map[string]slipway.SlotRoutes{}
	err := eachRow(ctx, s.read, "loading traffic routing", func(row rowScanner) error {
		var app, name, slot, doc string
		if err := row.Scan(&app, &name, &slot, &doc); err != nil {
			return err
		}
		r := m[app]
		if r.Slots == nil {
			r.Slots = map[string]string{}
		}
		var err error
		if slot != "" {
			r.Slots[slot] = name
		} else if r.Rules, err = decodeRules(doc); err != nil {
			return err
		}
		m[app] = r
		return nil
	}, `SELECT lower(coalesce(slot_of, name)), lower(name), lower(slot_name), ramp_up_rules FROM sites
		WHERE slot_of IS NOT NULL OR ramp_up_rules <> '[]'`)
	if err != nil {
		return err
	}
	for app, r := range m {
		if len(r.Slots) == 0 {
			delete(m, app) // rules whose slots are gone route nowhere
		}
	}
	s.routes.m.Store(&m)
	return nil
}

// reloadRoutes rebuilds the routing table after a committed change; a
// failure is logged and the previous table stays (the next change retries).
func (s *Store) reloadRoutes(ctx context.Context) {
	if err := s.loadRoutes(context.WithoutCancel(ctx)); err != nil {
		s.logger.Error("reloading traffic routing", "err", err)
	}
}
