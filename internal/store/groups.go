package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/slipway-dev/slipway"
)

// errGroupNotFound is Azure's message for a missing resource group
// (code ResourceGroupNotFound).
func errGroupNotFound(name string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "Resource group '%s' could not be found.", name)
}

// groupInTx reads the group a resource is being put into, inside the
// writing transaction; errGroupNotFound when there is none.
func groupInTx(ctx context.Context, tx *sql.Tx, name string) (slipway.ResourceGroup, error) {
	g, err := scanGroup(tx.QueryRowContext(ctx, groupSelect+` WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return g, errGroupNotFound(name)
	}
	return g, err
}

// PutResourceGroup creates the resource group or updates its tags. It
// returns the stored group (with the name casing and creation time of the
// first PUT) and whether it was created. A group's location cannot change:
// a different location is ECONFLICT, as on Azure.
func (s *Store) PutResourceGroup(ctx context.Context, g slipway.ResourceGroup) (slipway.ResourceGroup, bool, error) {
	if err := g.Validate(); err != nil {
		return slipway.ResourceGroup{}, false, err
	}
	if strings.TrimSpace(g.Location) == "" {
		return slipway.ResourceGroup{}, false, slipway.Errorf(slipway.EINVALID, "The 'location' property is required for resource group '%s'.", g.Name)
	}
	var out slipway.ResourceGroup
	var created bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := scanGroup(tx.QueryRowContext(ctx, groupSelect+` WHERE name = ?`, g.Name))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if g.Created.IsZero() {
				g.Created = s.now().UTC()
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO resource_groups (name, location, tags, created) VALUES (?, ?, ?, ?)`,
				g.Name, g.Location, encodeTags(g.Tags), toUnix(g.Created)); err != nil {
				return fmt.Errorf("inserting resource group: %w", err)
			}
			out, created = g, true
			if out.Tags == nil {
				out.Tags = map[string]string{}
			}
			return nil
		case err != nil:
			return err
		}
		if !strings.EqualFold(old.Location, g.Location) {
			return slipway.Errorf(slipway.ECONFLICT, "Invalid resource group location '%s'. The Resource group already exists in location '%s'.", g.Location, old.Location)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE resource_groups SET tags = ? WHERE name = ?`, encodeTags(g.Tags), g.Name); err != nil {
			return fmt.Errorf("updating resource group: %w", err)
		}
		old.Tags = g.Tags
		if old.Tags == nil {
			old.Tags = map[string]string{}
		}
		out = old
		return nil
	})
	if err != nil {
		return slipway.ResourceGroup{}, false, err
	}
	return out, created, nil
}

// ResourceGroup returns the named resource group (case-insensitive).
func (s *Store) ResourceGroup(ctx context.Context, name string) (slipway.ResourceGroup, error) {
	g, err := scanGroup(s.read.QueryRowContext(ctx, groupSelect+` WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return slipway.ResourceGroup{}, errGroupNotFound(name)
	}
	return g, err
}

// ResourceGroups returns every resource group, ordered by name.
func (s *Store) ResourceGroups(ctx context.Context) ([]slipway.ResourceGroup, error) {
	return listRows(ctx, s.read, "listing resource groups", scanGroup, groupSelect+` ORDER BY name`)
}

// DeleteResourceGroup deletes the group and everything in it (plans, sites,
// their settings and deployments, storage accounts, role assignments at and
// below it), as ARM does. It returns the sites that
// were deleted so the caller can stop them and remove their files.
func (s *Store) DeleteResourceGroup(ctx context.Context, name string) ([]slipway.Site, error) {
	sites, _, err := s.DeleteResourceGroupWithStorage(ctx, name)
	return sites, err
}

const groupSelect = `SELECT name, location, tags, created FROM resource_groups`

func scanGroup(r rowScanner) (slipway.ResourceGroup, error) {
	var g slipway.ResourceGroup
	var tags string
	var created int64
	if err := r.Scan(&g.Name, &g.Location, &tags, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return g, err
		}
		return g, fmt.Errorf("reading resource group: %w", err)
	}
	var err error
	if g.Tags, err = decodeTags(tags); err != nil {
		return g, err
	}
	g.Created = fromUnix(created)
	return g, nil
}
