package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/slipway-dev/slipway"
)

// Service Connector connections (migration 0028_service_linkers.sql): what
// `az webapp connection create` made for a site. The ARM layer validates
// the target and carries out the connection (identity, role, settings);
// the store keeps what it did, for show, list and delete.

// ServiceLinker is a stored connection of a site.
type ServiceLinker struct {
	Site       string
	Name       string
	TargetID   string // the target's resource id, e.g. …/storageAccounts/a/blobServices/default
	AuthType   string // secret, systemAssignedIdentity or userAssignedIdentity
	ClientType string // python, django, none, …
	ClientID   string // the user-assigned identity's client id, for userAssignedIdentity
	Settings   []string
	Created    time.Time
}

func errServiceLinkerNotFound(name string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "The linker '%s' was not found.", name)
}

const serviceLinkerSelect = `SELECT site, name, target_id, auth_type, client_type, client_id, settings, created FROM service_linkers`

func scanServiceLinker(r rowScanner) (ServiceLinker, error) {
	var l ServiceLinker
	var settings string
	var created int64
	if err := r.Scan(&l.Site, &l.Name, &l.TargetID, &l.AuthType, &l.ClientType, &l.ClientID, &settings, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return l, err
		}
		return l, fmt.Errorf("reading service linker: %w", err)
	}
	if err := json.Unmarshal([]byte(settings), &l.Settings); err != nil {
		return l, fmt.Errorf("reading service linker %s settings: %w", l.Name, err)
	}
	l.Created = fromUnix(created)
	return l, nil
}

// PutServiceLinker creates or replaces a site's connection; the site must
// exist. It returns whether it was created.
func (s *Store) PutServiceLinker(ctx context.Context, l ServiceLinker) (bool, error) {
	settings, err := json.Marshal(l.Settings)
	if err != nil {
		return false, err
	}
	if l.Settings == nil {
		settings = []byte("[]")
	}
	var created bool
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sites WHERE name = ?`, l.Site).Scan(&n); err != nil {
			return fmt.Errorf("checking site: %w", err)
		}
		if n == 0 {
			return slipway.Errorf(slipway.ENOTFOUND, "The Resource 'Microsoft.Web/sites/%s' was not found.", l.Site)
		}
		res, err := tx.ExecContext(ctx, `UPDATE service_linkers SET target_id = ?, auth_type = ?, client_type = ?, client_id = ?, settings = ?
			WHERE site = ? AND name = ?`, l.TargetID, l.AuthType, l.ClientType, l.ClientID, string(settings), l.Site, l.Name)
		if err != nil {
			return fmt.Errorf("updating service linker: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		created = true
		if _, err := tx.ExecContext(ctx, `INSERT INTO service_linkers (site, name, target_id, auth_type, client_type, client_id, settings, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, l.Site, l.Name, l.TargetID, l.AuthType, l.ClientType, l.ClientID, string(settings), toUnix(s.now().UTC())); err != nil {
			return fmt.Errorf("storing service linker: %w", err)
		}
		return nil
	})
	return created, err
}

// ServiceLinker returns a site's connection; ENOTFOUND when there is none.
func (s *Store) ServiceLinker(ctx context.Context, site, name string) (ServiceLinker, error) {
	l, err := scanServiceLinker(s.read.QueryRowContext(ctx, serviceLinkerSelect+` WHERE site = ? AND name = ?`, site, name))
	if errors.Is(err, sql.ErrNoRows) {
		return l, errServiceLinkerNotFound(name)
	}
	return l, err
}

// ServiceLinkers lists a site's connections by name.
func (s *Store) ServiceLinkers(ctx context.Context, site string) ([]ServiceLinker, error) {
	return listRows(ctx, s.read, "listing service linkers", scanServiceLinker, serviceLinkerSelect+` WHERE site = ? ORDER BY name`, site)
}

// DeleteServiceLinker deletes a site's connection; ENOTFOUND when there is
// none.
func (s *Store) DeleteServiceLinker(ctx context.Context, site, name string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM service_linkers WHERE site = ? AND name = ?`, site, name)
	if err != nil {
		return fmt.Errorf("deleting service linker: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errServiceLinkerNotFound(name)
	}
	return nil
}
