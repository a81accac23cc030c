package store

// A site's App Service authentication settings (config/authsettingsV2,
// slipway.AuthSettings), kept in its row (auth_settings: '' when never
// configured, else the settings' JSON). They stay with the row through a
// slot swap — App Service applies the target slot's authentication
// settings to the source's instances before it swaps
// (https://learn.microsoft.com/azure/app-service/deploy-staging-slots#swap-operation-steps)
// — and are deleted with it. The in-memory site table carries them for
// the front door (SiteRouting.Auth).

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/slipway-dev/slipway"
)

// maxAuthSettingsBytes bounds the stored document: the ARM layer bounds
// every list and string, so anything near this is a bug, refused rather
// than stored.
const maxAuthSettingsBytes = 64 << 10

// AuthSettings returns the site's authentication settings and whether
// they were ever configured (a zero AuthSettings, off, when not).
func (s *Store) AuthSettings(ctx context.Context, rg, site string) (slipway.AuthSettings, bool, error) {
	var doc string
	err := s.read.QueryRowContext(ctx, `SELECT auth_settings FROM sites WHERE name = ? AND resource_group = ?`, site, rg).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		if _, gerr := s.ResourceGroup(ctx, rg); gerr != nil {
			return slipway.AuthSettings{}, false, gerr
		}
		return slipway.AuthSettings{}, false, errSiteNotFound(rg, site)
	} else if err != nil {
		return slipway.AuthSettings{}, false, fmt.Errorf("reading the authentication settings of %s: %w", site, err)
	}
	return decodeAuthSettings(doc)
}

// SetAuthSettings replaces the site's authentication settings and, in the
// same transaction, sets the app settings in setSettings beside the
// site's others (the client secret a classic settings write carries,
// which is kept as an app setting the settings name) and makes them
// slot-sticky, as az's authV2 commands make the secret they store: the
// secret stays with the slot as its authentication settings do. It
// reports whether anything changed, so that the caller restarts the app
// only then.
func (s *Store) SetAuthSettings(ctx context.Context, rg, site string, a slipway.AuthSettings, setSettings map[string]string) (changed bool, err error) {
	b, err := json.Marshal(a)
	if err != nil {
		return false, fmt.Errorf("encoding authentication settings: %w", err)
	}
	if len(b) > maxAuthSettingsBytes {
		return false, slipway.Errorf(slipway.EINVALID, "The authentication settings are too large (%d bytes; at most %d).", len(b), maxAuthSettingsBytes)
	}
	if err := validateSettings(setSettings); err != nil {
		return false, err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		name, err := s.siteName(ctx, tx, rg, site)
		if err != nil {
			return err
		}
		var old string
		if err := tx.QueryRowContext(ctx, `SELECT auth_settings FROM sites WHERE name = ?`, name).Scan(&old); err != nil {
			return fmt.Errorf("reading the authentication settings of %s: %w", name, err)
		}
		if old != string(b) {
			changed = true
			if _, err := tx.ExecContext(ctx, `UPDATE sites SET auth_settings = ?, modified = ? WHERE name = ?`, string(b), toUnix(s.now().UTC()), name); err != nil {
				return fmt.Errorf("storing the authentication settings of %s: %w", name, err)
			}
		}
		if len(setSettings) == 0 {
			return nil
		}
		cur, err := s.readSettings(ctx, tx, name)
		if err != nil {
			return err
		}
		for k, v := range setSettings {
			if cv, ok := cur[k]; !ok || cv != v {
				changed = true
			}
		}
		maps.Copy(cur, setSettings)
		if err := s.setSettingsTx(ctx, tx, name, cur); err != nil {
			return err
		}
		return makeSticky(ctx, tx, name, slices.Sorted(maps.Keys(setSettings)))
	})
	if err != nil {
		return false, err
	}
	if changed {
		s.sitesChanged(ctx)
	}
	return changed, nil
}

// decodeAuthSettings reads the auth_settings column.
func decodeAuthSettings(doc string) (slipway.AuthSettings, bool, error) {
	if doc == "" {
		return slipway.AuthSettings{}, false, nil
	}
	var a slipway.AuthSettings
	if err := json.Unmarshal([]byte(doc), &a); err != nil {
		return slipway.AuthSettings{}, true, fmt.Errorf("decoding authentication settings: %w", err)
	}
	return a, true, nil
}

// makeSticky adds names to the slot-sticky app setting names of the app
// the site with stored name site belongs to (they are the app's, kept on
// its production row, as a swap reads them).
func makeSticky(ctx context.Context, tx *sql.Tx, site string, names []string) error {
	var app string
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(slot_of, name) FROM sites WHERE name = ?`, site).Scan(&app); err != nil {
		return fmt.Errorf("reading the app of %s: %w", site, err)
	}
	sticky, conns, err := stickyNames(ctx, tx, app)
	if err != nil {
		return err
	}
	n := len(sticky)
	for _, name := range names {
		if !slices.Contains(sticky, name) {
			sticky = append(sticky, name)
		}
	}
	if len(sticky) == n {
		return nil
	}
	a, _ := json.Marshal(sticky) // []string always marshals
	c, _ := json.Marshal(conns)
	if _, err := tx.ExecContext(ctx, `UPDATE sites SET sticky_setting_names = ?, sticky_connstr_names = ? WHERE name = ?`, string(a), string(c), app); err != nil {
		return fmt.Errorf("storing slot config names: %w", err)
	}
	return nil
}
