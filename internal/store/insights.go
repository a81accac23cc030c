package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/slipway-dev/slipway"
)

// Application Insights components (migration 0031_insights_components.sql):
// one row per Microsoft.Insights/components resource. The ARM layer
// (internal/arm/insights.go) writes them; the ingestion and query
// endpoints (internal/insights) find them by instrumentation key and by
// application id.

func errInsightsComponentNotFound(rg, name string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "The Resource 'Microsoft.Insights/components/%s' under resource group '%s' was not found.", name, rg)
}

const insightsSelect = `SELECT resource_group, name, location, tags, kind, application_type, instrumentation_key, app_id,
	retention_days, ingestion_mode, workspace_resource_id, flow_type, request_source, sampling_percentage,
	disable_ip_masking, disable_local_auth, public_ingestion, public_query, created FROM insights_components`

func scanInsightsComponent(r rowScanner) (slipway.InsightsComponent, error) {
	var c slipway.InsightsComponent
	var tags string
	var masking, localAuth int
	var created int64
	if err := r.Scan(&c.ResourceGroup, &c.Name, &c.Location, &tags, &c.Kind, &c.ApplicationType, &c.InstrumentationKey, &c.AppID,
		&c.RetentionInDays, &c.IngestionMode, &c.WorkspaceResourceID, &c.FlowType, &c.RequestSource, &c.SamplingPercentage,
		&masking, &localAuth, &c.PublicNetworkAccessForIngestion, &c.PublicNetworkAccessForQuery, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return c, err
		}
		return c, fmt.Errorf("reading Application Insights component: %w", err)
	}
	var err error
	if c.Tags, err = decodeTags(tags); err != nil {
		return c, err
	}
	c.DisableIPMasking, c.DisableLocalAuth, c.Created = masking != 0, localAuth != 0, fromUnix(created)
	return c, nil
}

// PutInsightsComponent creates or updates a component; the resource group
// must exist and the location defaults to the group's. A new component
// gets a new instrumentation key and application id; an existing one
// keeps its keys, name and creation time whatever c says, as on Azure.
// Empty retention, ingestion mode and network access take their
// defaults. It returns the stored component and whether it was created.
func (s *Store) PutInsightsComponent(ctx context.Context, c slipway.InsightsComponent) (slipway.InsightsComponent, bool, error) {
	if err := c.Validate(); err != nil {
		return c, false, err
	}
	if c.RetentionInDays == 0 {
		c.RetentionInDays = slipway.DefaultInsightsRetentionDays
	}
	if c.IngestionMode == "" {
		c.IngestionMode = slipway.IngestionApplicationInsights
	}
	if c.PublicNetworkAccessForIngestion == "" {
		c.PublicNetworkAccessForIngestion = "Enabled"
	}
	if c.PublicNetworkAccessForQuery == "" {
		c.PublicNetworkAccessForQuery = "Enabled"
	}
	if c.Tags == nil {
		c.Tags = map[string]string{}
	}
	var out slipway.InsightsComponent
	var created bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		g, err := groupInTx(ctx, tx, c.ResourceGroup)
		if err != nil {
			return err
		}
		c.ResourceGroup = g.Name
		if strings.TrimSpace(c.Location) == "" {
			c.Location = g.Location
		}
		old, err := scanInsightsComponent(tx.QueryRowContext(ctx, insightsSelect+` WHERE resource_group = ? AND name = ?`, c.ResourceGroup, c.Name))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if err := insightsFoldTwin(ctx, tx, c.ResourceGroup, c.Name); err != nil {
				return err
			}
			if c.InstrumentationKey, err = newGUID(); err != nil {
				return err
			}
			if c.AppID, err = newGUID(); err != nil {
				return err
			}
			c.Created, created = s.now().UTC(), true
			if _, err := tx.ExecContext(ctx, `INSERT INTO insights_components (resource_group, name, location, tags, kind, application_type,
				instrumentation_key, app_id, retention_days, ingestion_mode, workspace_resource_id, flow_type, request_source, sampling_percentage,
				disable_ip_masking, disable_local_auth, public_ingestion, public_query, created)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				c.ResourceGroup, c.Name, c.Location, encodeTags(c.Tags), c.Kind, c.ApplicationType,
				c.InstrumentationKey, c.AppID, c.RetentionInDays, c.IngestionMode, c.WorkspaceResourceID, c.FlowType, c.RequestSource, c.SamplingPercentage,
				boolInt(c.DisableIPMasking), boolInt(c.DisableLocalAuth), c.PublicNetworkAccessForIngestion, c.PublicNetworkAccessForQuery, toUnix(c.Created)); err != nil {
				return fmt.Errorf("storing Application Insights component: %w", err)
			}
		case err != nil:
			return err
		default:
			c.Name, c.InstrumentationKey, c.AppID, c.Created = old.Name, old.InstrumentationKey, old.AppID, old.Created
			if _, err := tx.ExecContext(ctx, `UPDATE insights_components SET location = ?, tags = ?, kind = ?, application_type = ?,
				retention_days = ?, ingestion_mode = ?, workspace_resource_id = ?, flow_type = ?, request_source = ?, sampling_percentage = ?,
				disable_ip_masking = ?, disable_local_auth = ?, public_ingestion = ?, public_query = ?
				WHERE resource_group = ? AND name = ?`,
				c.Location, encodeTags(c.Tags), c.Kind, c.ApplicationType,
				c.RetentionInDays, c.IngestionMode, c.WorkspaceResourceID, c.FlowType, c.RequestSource, c.SamplingPercentage,
				boolInt(c.DisableIPMasking), boolInt(c.DisableLocalAuth), c.PublicNetworkAccessForIngestion, c.PublicNetworkAccessForQuery,
				c.ResourceGroup, c.Name); err != nil {
				return fmt.Errorf("updating Application Insights component: %w", err)
			}
		}
		out = c
		return nil
	})
	return out, created, err
}

// insightsFoldTwin refuses a new component whose name equals another's in
// rg under Unicode case folding but not under SQLite's NOCASE (ASCII
// only): "aiſ" beside "ais". Role assignments compare scopes with Unicode
// folding (rbac.ScopeEqual), so the two would be one scope — a role on one
// a role on the other.
func insightsFoldTwin(ctx context.Context, tx *sql.Tx, rg, name string) error {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM insights_components WHERE resource_group = ?`, rg)
	if err != nil {
		return fmt.Errorf("listing Application Insights components: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var other string
		if err := rows.Scan(&other); err != nil {
			return fmt.Errorf("listing Application Insights components: %w", err)
		}
		if strings.EqualFold(other, name) {
			return slipway.Errorf(slipway.ECONFLICT, "The Application Insights component '%s' already exists in resource group '%s' under the name '%s': names are compared without regard to case.", name, rg, other)
		}
	}
	return rows.Err()
}

// InsightsComponent returns a component; ENOTFOUND (naming a missing
// group first) when there is none.
func (s *Store) InsightsComponent(ctx context.Context, rg, name string) (slipway.InsightsComponent, error) {
	c, err := scanInsightsComponent(s.read.QueryRowContext(ctx, insightsSelect+` WHERE resource_group = ? AND name = ?`, rg, name))
	if errors.Is(err, sql.ErrNoRows) {
		if _, gerr := s.ResourceGroup(ctx, rg); gerr != nil {
			return c, gerr
		}
		return c, errInsightsComponentNotFound(rg, name)
	}
	return c, err
}

// InsightsComponents lists the components of a resource group, or of
// every group when rg is "", by group and name.
func (s *Store) InsightsComponents(ctx context.Context, rg string) ([]slipway.InsightsComponent, error) {
	q, args := insightsSelect, []any{}
	if rg != "" {
		if _, err := s.ResourceGroup(ctx, rg); err != nil {
			return nil, err
		}
		q += ` WHERE resource_group = ?`
		args = append(args, rg)
	}
	return listRows(ctx, s.read, "listing Application Insights components", scanInsightsComponent, q+` ORDER BY resource_group, name`, args...)
}

// InsightsComponentByKey returns the component whose instrumentation key
// is instrumentationKey (compared without regard to case); ENOTFOUND when
// there is none.
func (s *Store) InsightsComponentByKey(ctx context.Context, instrumentationKey string) (slipway.InsightsComponent, error) {
	return s.insightsComponentBy(ctx, "instrumentation_key", instrumentationKey)
}

// InsightsComponentByAppID returns the component whose application id is
// appID (compared without regard to case); ENOTFOUND when there is none.
func (s *Store) InsightsComponentByAppID(ctx context.Context, appID string) (slipway.InsightsComponent, error) {
	return s.insightsComponentBy(ctx, "app_id", appID)
}

// insightsComponentBy looks a component up by a unique column (a
// constant of this file, never a caller's text).
func (s *Store) insightsComponentBy(ctx context.Context, column, value string) (slipway.InsightsComponent, error) {
	c, err := scanInsightsComponent(s.read.QueryRowContext(ctx, insightsSelect+` WHERE `+column+` = ?`, strings.TrimSpace(value)))
	if errors.Is(err, sql.ErrNoRows) || err == nil && value == "" {
		return slipway.InsightsComponent{}, slipway.Errorf(slipway.ENOTFOUND, "No Application Insights component has that %s.",
			map[string]string{"instrumentation_key": "instrumentation key", "app_id": "application id"}[column])
	}
	return c, err
}

// DeleteInsightsComponent deletes a component; ENOTFOUND when there is
// none.
func (s *Store) DeleteInsightsComponent(ctx context.Context, rg, name string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM insights_components WHERE resource_group = ? AND name = ?`, rg, name)
	if err != nil {
		return fmt.Errorf("deleting Application Insights component: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, gerr := s.ResourceGroup(ctx, rg); gerr != nil {
			return gerr
		}
		return errInsightsComponentNotFound(rg, name)
	}
	return nil
}
