package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/slipway-dev/slipway"
)

// BasicAuthAllowed reports whether Basic authentication with publishing
// credentials is allowed for the site's policy ("scm" or "ftp"), App
// Service's basicPublishingCredentialsPolicies: allowed unless switched
// off.
func (s *Store) BasicAuthAllowed(ctx context.Context, site, policy string) (bool, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM basic_auth_off WHERE site = ? AND policy = ?`, site, policy).Scan(&n); err != nil {
		return false, fmt.Errorf("reading basic auth policy: %w", err)
	}
	return n == 0, nil
}

// SetBasicAuthAllowed allows or refuses Basic authentication for the
// site's policy. The site must exist.
func (s *Store) SetBasicAuthAllowed(ctx context.Context, site, policy string, allow bool) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sites WHERE name = ?`, site).Scan(&n); err != nil {
			return fmt.Errorf("looking up site: %w", err)
		} else if n == 0 {
			return slipway.Errorf(slipway.ENOTFOUND, "Site '%s' was not found.", site)
		}
		q := `INSERT INTO basic_auth_off (site, policy) VALUES (?, ?) ON CONFLICT DO NOTHING`
		if allow {
			q = `DELETE FROM basic_auth_off WHERE site = ? AND policy = ?`
		}
		if _, err := tx.ExecContext(ctx, q, site, policy); err != nil {
			return fmt.Errorf("setting basic auth policy: %w", err)
		}
		return nil
	})
}
