package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
)

// Autoscale settings (migration 0015_autoscale_settings.sql): one row per
// Microsoft.Insights/autoscalesettings resource. The store keeps the
// setting's profiles and notifications as JSON; the ARM layer validates
// them (internal/autoscale) before they get here.

// AutoscaleSetting is a stored autoscale setting.
type AutoscaleSetting struct {
	ResourceGroup     string
	Name              string
	Location          string
	Tags              map[string]string
	Enabled           bool
	TargetResourceURI string
	// Properties holds profiles, notifications and the other properties
	// the client sent, as a JSON object.
	Properties json.RawMessage
	Created    time.Time
}

// maxAutoscaleProperties bounds a setting's stored JSON.
const maxAutoscaleProperties = 256 << 10

// validAutoscaleName checks a setting's name as Azure does: 1-260
// characters, none of <>%&:\?/ or control characters, not ending in '.'
// or a space.
func validAutoscaleName(name string) error {
	bad := len(name) == 0 || len(name) > 260 || strings.HasSuffix(name, ".") || strings.HasSuffix(name, " ") ||
		strings.ContainsAny(name, "<>%&:\\?/#") || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f })
	if bad {
		return slipway.Errorf(slipway.EINVALID, "The autoscale setting name '%s' is invalid: use 1-260 characters other than <>%%&:\\?/#, not ending in '.' or a space.", name)
	}
	return nil
}

func errAutoscaleNotFound(rg, name string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "The Resource 'Microsoft.Insights/autoscalesettings/%s' under resource group '%s' was not found.", name, rg)
}

const autoscaleSelect = `SELECT resource_group, name, location, tags, enabled, target_resource_uri, properties, created FROM autoscale_settings`

func scanAutoscale(r rowScanner) (AutoscaleSetting, error) {
	var a AutoscaleSetting
	var tags, props string
	var enabled int
	var created int64
	if err := r.Scan(&a.ResourceGroup, &a.Name, &a.Location, &tags, &enabled, &a.TargetResourceURI, &props, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return a, err
		}
		return a, fmt.Errorf("reading autoscale setting: %w", err)
	}
	var err error
	if a.Tags, err = decodeTags(tags); err != nil {
		return a, err
	}
	a.Enabled, a.Properties, a.Created = enabled != 0, json.RawMessage(props), fromUnix(created)
	return a, nil
}

// PutAutoscaleSetting creates or replaces a setting; the resource group
// must exist and the location defaults to the group's. It returns the
// stored setting and whether it was created.
func (s *Store) PutAutoscaleSetting(ctx context.Context, a AutoscaleSetting) (AutoscaleSetting, bool, error) {
	if err := validAutoscaleName(a.Name); err != nil {
		return a, false, err
	}
	if len(a.Properties) > maxAutoscaleProperties || !json.Valid(a.Properties) {
		return a, false, slipway.Errorf(slipway.EINVALID, "The autoscale setting's properties must be a JSON object of at most %d bytes.", maxAutoscaleProperties)
	}
	var out AutoscaleSetting
	var created bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		g, err := groupInTx(ctx, tx, a.ResourceGroup)
		if err != nil {
			return err
		}
		a.ResourceGroup = g.Name
		if strings.TrimSpace(a.Location) == "" {
			a.Location = g.Location
		}
		if a.Tags == nil {
			a.Tags = map[string]string{}
		}
		old, err := scanAutoscale(tx.QueryRowContext(ctx, autoscaleSelect+` WHERE resource_group = ? AND name = ?`, a.ResourceGroup, a.Name))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			a.Created, created = s.now().UTC(), true
			if _, err := tx.ExecContext(ctx, `INSERT INTO autoscale_settings (resource_group, name, location, tags, enabled, target_resource_uri, properties, created)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, a.ResourceGroup, a.Name, a.Location, encodeTags(a.Tags), boolInt(a.Enabled), a.TargetResourceURI, string(a.Properties), toUnix(a.Created)); err != nil {
				return fmt.Errorf("storing autoscale setting: %w", err)
			}
		case err != nil:
			return err
		default:
			a.Name, a.Created = old.Name, old.Created
			if _, err := tx.ExecContext(ctx, `UPDATE autoscale_settings SET location = ?, tags = ?, enabled = ?, target_resource_uri = ?, properties = ?
				WHERE resource_group = ? AND name = ?`, a.Location, encodeTags(a.Tags), boolInt(a.Enabled), a.TargetResourceURI, string(a.Properties), a.ResourceGroup, a.Name); err != nil {
				return fmt.Errorf("updating autoscale setting: %w", err)
			}
		}
		out = a
		return nil
	})
	return out, created, err
}

// AutoscaleSetting returns a setting; ENOTFOUND (naming a missing group
// first) when there is none.
func (s *Store) AutoscaleSetting(ctx context.Context, rg, name string) (AutoscaleSetting, error) {
	a, err := scanAutoscale(s.read.QueryRowContext(ctx, autoscaleSelect+` WHERE resource_group = ? AND name = ?`, rg, name))
	if errors.Is(err, sql.ErrNoRows) {
		if _, gerr := s.ResourceGroup(ctx, rg); gerr != nil {
			return a, gerr
		}
		return a, errAutoscaleNotFound(rg, name)
	}
	return a, err
}

// AutoscaleSettings lists the settings of a resource group, or of every
// group when rg is "", by group and name.
func (s *Store) AutoscaleSettings(ctx context.Context, rg string) ([]AutoscaleSetting, error) {
	q, args := autoscaleSelect, []any{}
	if rg != "" {
		if _, err := s.ResourceGroup(ctx, rg); err != nil {
			return nil, err
		}
		q += ` WHERE resource_group = ?`
		args = append(args, rg)
	}
	return listRows(ctx, s.read, "listing autoscale settings", scanAutoscale, q+` ORDER BY resource_group, name`, args...)
}

// DeleteAutoscaleSetting deletes a setting; ENOTFOUND when there is none.
func (s *Store) DeleteAutoscaleSetting(ctx context.Context, rg, name string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM autoscale_settings WHERE resource_group = ? AND name = ?`, rg, name)
	if err != nil {
		return fmt.Errorf("deleting autoscale setting: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, gerr := s.ResourceGroup(ctx, rg); gerr != nil {
			return gerr
		}
		return errAutoscaleNotFound(rg, name)
	}
	return nil
}

// PlanOfTarget reads the subscription, group and name of the App Service
// plan an autoscale setting's target id names (empty segments skipped,
// as ARM reads a path); ok is false for any other id. ARM's validation,
// the autoscaler and the store's clean-up read the target with it alike.
func PlanOfTarget(target string) (sub, rg, plan string, ok bool) {
	var segs []string
	for _, s := range strings.Split(target, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	if len(segs) != 8 || !strings.EqualFold(segs[0], "subscriptions") || !strings.EqualFold(segs[2], "resourceGroups") ||
		!strings.EqualFold(segs[4], "providers") || !strings.EqualFold(segs[5], "Microsoft.Web") || !strings.EqualFold(segs[6], "serverfarms") {
		return "", "", "", false
	}
	return segs[1], segs[3], segs[7], true
}

// deleteAutoscaleOfPlansTx deletes the settings, in any group, whose
// target is the plan rg/plan, or any plan of rg when plan is "": a setting
// goes with the plan it was made for. A plan made later under that name —
// in a group deleted and made again for another tenant, say — is another
// plan, which the old setting must not drive, nor keep its owner from
// setting an autoscale of its own.
func deleteAutoscaleOfPlansTx(ctx context.Context, tx *sql.Tx, rg, plan string) error {
	type key struct{ rg, name string }
	var gone []key
	err := eachRow(ctx, tx, "listing autoscale settings", func(r rowScanner) error {
		var k key
		var target string
		if err := r.Scan(&k.rg, &k.name, &target); err != nil {
			return err
		}
		if _, trg, tp, ok := PlanOfTarget(target); ok && strings.EqualFold(trg, rg) && (plan == "" || strings.EqualFold(tp, plan)) {
			gone = append(gone, k)
		}
		return nil
	}, `SELECT resource_group, name, target_resource_uri FROM autoscale_settings`)
	if err != nil {
		return err
	}
	for _, k := range gone {
		if _, err := tx.ExecContext(ctx, `DELETE FROM autoscale_settings WHERE resource_group = ? AND name = ?`, k.rg, k.name); err != nil {
			return fmt.Errorf("deleting the autoscale setting of a deleted plan: %w", err)
		}
	}
	return nil
}
