package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/slipway-dev/slipway"
)

// siteName returns the stored name of the site in rg, or ENOTFOUND.
func (s *Store) siteName(ctx context.Context, q querier, rg, site string) (string, error) {
	var name string
	err := q.QueryRowContext(ctx, `SELECT name FROM sites WHERE name = ? AND resource_group = ?`, site, rg).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		var g string
		if err := q.QueryRowContext(ctx, `SELECT name FROM resource_groups WHERE name = ?`, rg).Scan(&g); errors.Is(err, sql.ErrNoRows) {
			return "", errGroupNotFound(rg)
		}
		return "", errSiteNotFound(rg, site)
	} else if err != nil {
		return "", fmt.Errorf("looking up site: %w", err)
	}
	return name, nil
}

func aadSetting(site, name string) string {
	return "app-setting\x00" + strings.ToLower(site) + "\x00" + name
}

func aadConnectionString(site, name string) string {
	return "connection-string\x00" + strings.ToLower(site) + "\x00" + name
}

// Settings returns the site's app settings, decrypted. The map is never nil.
func (s *Store) Settings(ctx context.Context, rg, site string) (map[string]string, error) {
	name, err := s.siteName(ctx, s.read, rg, site)
	if err != nil {
		return nil, err
	}
	return s.readSettings(ctx, s.read, name)
}

// readSettings reads the settings of the site with stored name name through q.
func (s *Store) readSettings(ctx context.Context, q querier, name string) (map[string]string, error) {
	out := map[string]string{}
	err := eachRow(ctx, q, "reading app settings", func(r rowScanner) error {
		var k string
		var sealed []byte
		if err := r.Scan(&k, &sealed); err != nil {
			return err
		}
		v, err := s.open(sealed, aadSetting(name, k))
		if err != nil {
			return fmt.Errorf("app setting %s: %w", k, err)
		}
		out[k] = v
		return nil
	}, `SELECT name, value FROM app_settings WHERE site = ?`, name)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetSettings replaces the site's app settings in full: names missing from
// settings are deleted (ARM's PUT config/appsettings). Each value is
// encrypted with its own random nonce.
func (s *Store) SetSettings(ctx context.Context, rg, site string, settings map[string]string) error {
	if err := validateSettings(settings); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		name, err := s.siteName(ctx, tx, rg, site)
		if err != nil {
			return err
		}
		return s.setSettingsTx(ctx, tx, name, settings)
	})
}

// MergeSettings sets the given app settings and deletes the names in
// remove, leaving the site's others as they are, in one transaction: what
// the platform writes on its own (Service Connector) never undoes a change
// made meanwhile, as reading the whole map and writing it back could.
func (s *Store) MergeSettings(ctx context.Context, rg, site string, set map[string]string, remove []string) error {
	if err := validateSettings(set); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		name, err := s.siteName(ctx, tx, rg, site)
		if err != nil {
			return err
		}
		cur, err := s.readSettings(ctx, tx, name)
		if err != nil {
			return err
		}
		for _, k := range remove {
			delete(cur, k)
		}
		maps.Copy(cur, set)
		return s.setSettingsTx(ctx, tx, name, cur)
	})
}

func validateSettings(settings map[string]string) error {
	for k := range settings {
		if err := slipway.ValidateSettingName(k); err != nil {
			return err
		}
	}
	return nil
}

// setSettingsTx replaces the settings of the site with stored name name.
func (s *Store) setSettingsTx(ctx context.Context, tx *sql.Tx, name string, settings map[string]string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM app_settings WHERE site = ?`, name); err != nil {
		return fmt.Errorf("replacing app settings: %w", err)
	}
	for k, v := range settings {
		sealed, err := s.seal(v, aadSetting(name, k))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO app_settings (site, name, value) VALUES (?, ?, ?)`, name, k, sealed); err != nil {
			return fmt.Errorf("storing app setting %s: %w", k, err)
		}
	}
	return nil
}

// ConnectionStrings returns the site's connection strings, decrypted. The
// map is never nil.
func (s *Store) ConnectionStrings(ctx context.Context, rg, site string) (map[string]slipway.ConnectionString, error) {
	name, err := s.siteName(ctx, s.read, rg, site)
	if err != nil {
		return nil, err
	}
	return s.readConnectionStrings(ctx, s.read, name)
}

// readConnectionStrings reads the connection strings of the site with
// stored name name through q.
func (s *Store) readConnectionStrings(ctx context.Context, q querier, name string) (map[string]slipway.ConnectionString, error) {
	out := map[string]slipway.ConnectionString{}
	err := eachRow(ctx, q, "reading connection strings", func(r rowScanner) error {
		var k, typ string
		var sealed []byte
		if err := r.Scan(&k, &typ, &sealed); err != nil {
			return err
		}
		v, err := s.open(sealed, aadConnectionString(name, k))
		if err != nil {
			return fmt.Errorf("connection string %s: %w", k, err)
		}
		out[k] = slipway.ConnectionString{Value: v, Type: typ}
		return nil
	}, `SELECT name, type, value FROM connection_strings WHERE site = ?`, name)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetConnectionStrings replaces the site's connection strings in full.
// Types are stored in their canonical spelling; an unknown type is EINVALID.
func (s *Store) SetConnectionStrings(ctx context.Context, rg, site string, cs map[string]slipway.ConnectionString) error {
	canon, err := canonicalConnectionStrings(cs)
	if err != nil {
		return err
	}
	if canon == nil {
		canon = map[string]slipway.ConnectionString{}
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		name, err := s.siteName(ctx, tx, rg, site)
		if err != nil {
			return err
		}
		return s.setConnectionStringsTx(ctx, tx, name, canon)
	})
}

// canonicalConnectionStrings validates names and types and returns the map
// with canonical type spellings (nil for nil).
func canonicalConnectionStrings(cs map[string]slipway.ConnectionString) (map[string]slipway.ConnectionString, error) {
	if cs == nil {
		return nil, nil
	}
	canon := make(map[string]slipway.ConnectionString, len(cs))
	for k, c := range cs {
		if err := slipway.ValidateSettingName(k); err != nil {
			return nil, err
		}
		t, err := slipway.CanonicalConnectionStringType(c.Type)
		if err != nil {
			return nil, err
		}
		canon[k] = slipway.ConnectionString{Value: c.Value, Type: t}
	}
	return canon, nil
}

// setConnectionStringsTx replaces the connection strings of the site with
// stored name name.
func (s *Store) setConnectionStringsTx(ctx context.Context, tx *sql.Tx, name string, cs map[string]slipway.ConnectionString) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM connection_strings WHERE site = ?`, name); err != nil {
		return fmt.Errorf("replacing connection strings: %w", err)
	}
	for k, c := range cs {
		sealed, err := s.seal(c.Value, aadConnectionString(name, k))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO connection_strings (site, name, type, value) VALUES (?, ?, ?, ?)`, name, k, c.Type, sealed); err != nil {
			return fmt.Errorf("storing connection string %s: %w", k, err)
		}
	}
	return nil
}

// SlotConfigNames returns the names of the site's slot-sticky app settings
// and connection strings. The slices are never nil.
func (s *Store) SlotConfigNames(ctx context.Context, rg, site string) (appSettingNames, connectionStringNames []string, err error) {
	name, err := s.siteName(ctx, s.read, rg, site)
	if err != nil {
		return nil, nil, err
	}
	return stickyNames(ctx, s.read, name)
}

// stickyNames reads the slot-sticky names of the site with stored name
// name through q.
func stickyNames(ctx context.Context, q querier, name string) (appSettingNames, connectionStringNames []string, err error) {
	var a, c string
	if err := q.QueryRowContext(ctx, `SELECT sticky_setting_names, sticky_connstr_names FROM sites WHERE name = ?`, name).Scan(&a, &c); err != nil {
		return nil, nil, fmt.Errorf("reading slot config names: %w", err)
	}
	appSettingNames, connectionStringNames = []string{}, []string{}
	if err := json.Unmarshal([]byte(a), &appSettingNames); err != nil {
		return nil, nil, fmt.Errorf("decoding slot-sticky setting names: %w", err)
	}
	if err := json.Unmarshal([]byte(c), &connectionStringNames); err != nil {
		return nil, nil, fmt.Errorf("decoding slot-sticky connection string names: %w", err)
	}
	return appSettingNames, connectionStringNames, nil
}

// SetSlotConfigNames replaces the site's slot-sticky names.
func (s *Store) SetSlotConfigNames(ctx context.Context, rg, site string, appSettingNames, connectionStringNames []string) error {
	if appSettingNames == nil {
		appSettingNames = []string{}
	}
	if connectionStringNames == nil {
		connectionStringNames = []string{}
	}
	a, _ := json.Marshal(appSettingNames) // []string always marshals
	c, _ := json.Marshal(connectionStringNames)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		name, err := s.siteName(ctx, tx, rg, site)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sites SET sticky_setting_names = ?, sticky_connstr_names = ? WHERE name = ?`, string(a), string(c), name); err != nil {
			return fmt.Errorf("storing slot config names: %w", err)
		}
		return nil
	})
}

// LogsConfig returns the site's logging configuration document (ARM
// config/logs "properties") as stored by SetLogsConfig; nil if never set.
func (s *Store) LogsConfig(ctx context.Context, rg, site string) (json.RawMessage, error) {
	name, err := s.siteName(ctx, s.read, rg, site)
	if err != nil {
		return nil, err
	}
	var doc string
	if err := s.read.QueryRowContext(ctx, `SELECT logs_config FROM sites WHERE name = ?`, name).Scan(&doc); err != nil {
		return nil, fmt.Errorf("reading logs config: %w", err)
	}
	if doc == "" {
		return nil, nil
	}
	return json.RawMessage(doc), nil
}

// SetLogsConfig stores the site's logging configuration document, which
// must be a JSON object.
func (s *Store) SetLogsConfig(ctx context.Context, rg, site string, doc json.RawMessage) error {
	_, err := s.UpdateLogsConfig(ctx, rg, site, func(json.RawMessage) (json.RawMessage, error) { return doc, nil })
	return err
}

// UpdateLogsConfig replaces the site's logging configuration document with
// what update makes of the stored one (nil if never set), in one
// transaction, so that concurrent partial updates each see the other's
// result. The new document must be a JSON object; it is returned.
func (s *Store) UpdateLogsConfig(ctx context.Context, rg, site string, update func(old json.RawMessage) (json.RawMessage, error)) (json.RawMessage, error) {
	var doc json.RawMessage
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		name, err := s.siteName(ctx, tx, rg, site)
		if err != nil {
			return err
		}
		var old string
		if err := tx.QueryRowContext(ctx, `SELECT logs_config FROM sites WHERE name = ?`, name).Scan(&old); err != nil {
			return fmt.Errorf("reading logs config: %w", err)
		}
		var prev json.RawMessage
		if old != "" {
			prev = json.RawMessage(old)
		}
		if doc, err = update(prev); err != nil {
			return err
		}
		var obj map[string]any
		if err := json.Unmarshal(doc, &obj); err != nil || obj == nil {
			return slipway.Errorf(slipway.EINVALID, "The logs configuration must be a JSON object.")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sites SET logs_config = ? WHERE name = ?`, string(doc), name); err != nil {
			return fmt.Errorf("storing logs config: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return doc, nil
}
