package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/slipway-dev/slipway"
)

// User-assigned managed identities and the sites they are assigned to
// (migration 0010_managed_identities.sql). Each identity resource owns one
// principal of kind UserAssigned, created and deleted with it; a site's
// system-assigned identity is a principal of kind SystemAssigned named by
// the site's ARM id (CreatePrincipal, PrincipalsByResource), deleted with
// the site by the migration's trigger.

func errIdentityNotFound(rg, name string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/%s' under resource group '%s' was not found.", name, rg)
}

// IdentityRef names a user-assigned identity resource.
type IdentityRef struct{ ResourceGroup, Name string }

const identitySelect = `SELECT u.resource_group, u.name, u.location, u.tags, u.object_id, p.app_id, u.created
	FROM user_assigned_identities u JOIN principals p ON p.object_id = u.object_id`

func scanIdentity(r rowScanner) (slipway.UserAssignedIdentity, error) {
	var i slipway.UserAssignedIdentity
	var tags string
	var created int64
	if err := r.Scan(&i.ResourceGroup, &i.Name, &i.Location, &tags, &i.PrincipalID, &i.ClientID, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return i, err
		}
		return i, fmt.Errorf("reading user-assigned identity: %w", err)
	}
	var err error
	if i.Tags, err = decodeTags(tags); err != nil {
		return i, err
	}
	i.Created = fromUnix(created)
	return i, nil
}

// PutUserAssignedIdentity creates the identity, with a new principal whose
// resource id is resourceID (its ARM id), or updates its tags. The
// resource group must exist; the location defaults to the group's and
// cannot change. It returns the stored identity and whether it was created.
func (s *Store) PutUserAssignedIdentity(ctx context.Context, i slipway.UserAssignedIdentity, resourceID string) (slipway.UserAssignedIdentity, bool, error) {
	if err := i.Validate(); err != nil {
		return slipway.UserAssignedIdentity{}, false, err
	}
	var out slipway.UserAssignedIdentity
	var created bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		g, err := groupInTx(ctx, tx, i.ResourceGroup)
		if err != nil {
			return err
		}
		i.ResourceGroup = g.Name
		if strings.TrimSpace(i.Location) == "" {
			i.Location = g.Location
		}
		old, err := scanIdentity(tx.QueryRowContext(ctx, identitySelect+` WHERE u.resource_group = ? AND u.name = ?`, i.ResourceGroup, i.Name))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			p := Principal{Kind: UserAssignedIdentity, DisplayName: i.Name, ResourceID: resourceID, Created: s.now().UTC()}
			if err := fillPrincipalIDs(&p); err != nil {
				return err
			}
			if _, err := insertPrincipal(ctx, tx, p); err != nil {
				return err
			}
			i.PrincipalID, i.ClientID, i.Created = p.ObjectID, p.AppID, p.Created
			if _, err := tx.ExecContext(ctx, `INSERT INTO user_assigned_identities (resource_group, name, location, tags, object_id, created) VALUES (?, ?, ?, ?, ?, ?)`,
				i.ResourceGroup, i.Name, i.Location, encodeTags(i.Tags), i.PrincipalID, toUnix(i.Created)); err != nil {
				return fmt.Errorf("storing user-assigned identity: %w", err)
			}
			out, created = i, true
			return nil
		case err != nil:
			return err
		case !strings.EqualFold(old.Location, i.Location):
			return slipway.Errorf(slipway.ECONFLICT, "The identity %s already exists in location '%s'; its location cannot be changed to '%s'.", old.Name, old.Location, i.Location)
		}
		if i.Tags != nil {
			old.Tags = i.Tags
			if _, err := tx.ExecContext(ctx, `UPDATE user_assigned_identities SET tags = ? WHERE resource_group = ? AND name = ?`,
				encodeTags(old.Tags), old.ResourceGroup, old.Name); err != nil {
				return fmt.Errorf("updating user-assigned identity: %w", err)
			}
		}
		out = old
		return nil
	})
	return out, created, err
}

// GetUserAssignedIdentity returns an identity; ENOTFOUND (naming a missing
// group first) when there is none.
func (s *Store) GetUserAssignedIdentity(ctx context.Context, rg, name string) (slipway.UserAssignedIdentity, error) {
	i, err := scanIdentity(s.read.QueryRowContext(ctx, identitySelect+` WHERE u.resource_group = ? AND u.name = ?`, rg, name))
	if errors.Is(err, sql.ErrNoRows) {
		if _, gerr := scanGroup(s.read.QueryRowContext(ctx, groupSelect+` WHERE name = ?`, rg)); errors.Is(gerr, sql.ErrNoRows) {
			return i, errGroupNotFound(rg)
		}
		return i, errIdentityNotFound(rg, name)
	}
	return i, err
}

// UserAssignedIdentities lists the identities of a resource group, or all
// when rg is "", by group and name.
func (s *Store) UserAssignedIdentities(ctx context.Context, rg string) ([]slipway.UserAssignedIdentity, error) {
	q, args := identitySelect, []any{}
	if rg != "" {
		if _, err := scanGroup(s.read.QueryRowContext(ctx, groupSelect+` WHERE name = ?`, rg)); errors.Is(err, sql.ErrNoRows) {
			return nil, errGroupNotFound(rg)
		}
		q += ` WHERE u.resource_group = ?`
		args = append(args, rg)
	}
	return s.identities(ctx, q+` ORDER BY u.resource_group, u.name`, args...)
}

func (s *Store) identities(ctx context.Context, q string, args ...any) ([]slipway.UserAssignedIdentity, error) {
	return listRows(ctx, s.read, "listing user-assigned identities", scanIdentity, q, args...)
}

// DeleteUserAssignedIdentity deletes an identity, its principal, and its
// assignments to sites.
func (s *Store) DeleteUserAssignedIdentity(ctx context.Context, rg, name string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM user_assigned_identities WHERE resource_group = ? AND name = ?`, rg, name)
	if err != nil {
		return fmt.Errorf("deleting user-assigned identity: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		_, err := s.GetUserAssignedIdentity(ctx, rg, name)
		if err == nil { // deleted by someone else in between
			return errIdentityNotFound(rg, name)
		}
		return err
	}
	return nil
}

// SiteUserAssignedIdentities returns the user-assigned identities assigned
// to a site, by group and name.
func (s *Store) SiteUserAssignedIdentities(ctx context.Context, site string) ([]slipway.UserAssignedIdentity, error) {
	return s.identities(ctx, identitySelect+` JOIN site_user_identities a ON a.object_id = u.object_id WHERE a.site = ? ORDER BY u.resource_group, u.name`, site)
}

// IdentitySites returns the sites (apps and slots) the identity is
// assigned to, ordered by name; none for a missing identity.
func (s *Store) IdentitySites(ctx context.Context, rg, name string) ([]slipway.Site, error) {
	return listRows(ctx, s.read, "listing an identity's sites", scanSite, siteSelect+` WHERE name IN (SELECT a.site
		FROM site_user_identities a JOIN user_assigned_identities u ON a.object_id = u.object_id
		WHERE u.resource_group = ? AND u.name = ?) ORDER BY name`, rg, name)
}

// SetSiteUserAssignedIdentities makes refs the site's user-assigned
// identities, replacing the ones it had; each must exist (ENOTFOUND).
func (s *Store) SetSiteUserAssignedIdentities(ctx context.Context, site string, refs []IdentityRef) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var name string
		if err := tx.QueryRowContext(ctx, `SELECT name FROM sites WHERE name = ?`, site).Scan(&name); errors.Is(err, sql.ErrNoRows) {
			return slipway.Errorf(slipway.ENOTFOUND, "The site '%s' was not found.", site)
		} else if err != nil {
			return fmt.Errorf("reading site: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM site_user_identities WHERE site = ?`, name); err != nil {
			return fmt.Errorf("detaching identities: %w", err)
		}
		for _, r := range refs {
			var oid string
			err := tx.QueryRowContext(ctx, `SELECT object_id FROM user_assigned_identities WHERE resource_group = ? AND name = ?`, r.ResourceGroup, r.Name).Scan(&oid)
			if errors.Is(err, sql.ErrNoRows) {
				return errIdentityNotFound(r.ResourceGroup, r.Name)
			} else if err != nil {
				return fmt.Errorf("reading user-assigned identity: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO site_user_identities (site, object_id) VALUES (?, ?)`, name, oid); err != nil {
				return fmt.Errorf("assigning identity: %w", err)
			}
		}
		return nil
	})
}
