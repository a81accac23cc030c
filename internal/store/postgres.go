package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/slipway-dev/slipway"
)

// Azure Database for PostgreSQL flexible servers (migrations
// 0032_postgres_flexible_servers.sql, 0038_postgres_entra.sql): one row
// per server, its databases, its firewall rules and its Microsoft Entra
// administrators. The ARM layer (internal/arm/postgres.go) writes
// them; the backend that runs the servers (internal/pgflex) reads
// PostgresServers at start to bring its clusters back in line.

func errPostgresServerNotFound(rg, name string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "The Resource 'Microsoft.DBforPostgreSQL/flexibleServers/%s' under resource group '%s' was not found.", name, rg)
}

const postgresSelect = `SELECT resource_group, name, location, tags, sku_name, sku_tier, version, administrator_login,
	storage_gb, backup_retention_days, stopped, created, password_auth, entra_auth, tenant_id FROM postgres_servers`

func scanPostgresServer(r rowScanner) (slipway.PostgresServer, error) {
	var p slipway.PostgresServer
	var tags string
	var stopped, password, entra int
	var created int64
	if err := r.Scan(&p.ResourceGroup, &p.Name, &p.Location, &tags, &p.SKUName, &p.SKUTier, &p.Version, &p.AdministratorLogin,
		&p.StorageGB, &p.BackupRetentionDays, &stopped, &created, &password, &entra, &p.TenantID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return p, err
		}
		return p, fmt.Errorf("reading PostgreSQL server: %w", err)
	}
	var err error
	if p.Tags, err = decodeTags(tags); err != nil {
		return p, err
	}
	p.Stopped, p.Created = stopped != 0, fromUnix(created)
	p.PasswordAuthDisabled, p.EntraAuth = password == 0, entra != 0
	return p, nil
}

// CreatePostgresServer records a new server in its resource group (which
// must exist; the location defaults to the group's). The name must be
// free across the installation: ECONFLICT names where it is taken.
func (s *Store) CreatePostgresServer(ctx context.Context, p slipway.PostgresServer) (slipway.PostgresServer, error) {
	if err := slipway.ValidatePostgresServerName(p.Name); err != nil {
		return p, err
	}
	if p.Tags == nil {
		p.Tags = map[string]string{}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		g, err := groupInTx(ctx, tx, p.ResourceGroup)
		if err != nil {
			return err
		}
		p.ResourceGroup = g.Name
		if strings.TrimSpace(p.Location) == "" {
			p.Location = g.Location
		}
		var taken string
		switch err := tx.QueryRowContext(ctx, `SELECT resource_group FROM postgres_servers WHERE name = ?`, p.Name).Scan(&taken); {
		case err == nil:
			return errPostgresNameTaken(p.Name)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("looking up PostgreSQL server: %w", err)
		}
		p.Created = s.now().UTC()
		if _, err := tx.ExecContext(ctx, `INSERT INTO postgres_servers (resource_group, name, location, tags, sku_name, sku_tier, version,
			administrator_login, storage_gb, backup_retention_days, stopped, created, password_auth, entra_auth, tenant_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ResourceGroup, p.Name, p.Location, encodeTags(p.Tags), p.SKUName, p.SKUTier, p.Version,
			p.AdministratorLogin, p.StorageGB, p.BackupRetentionDays, boolInt(p.Stopped), toUnix(p.Created),
			boolInt(!p.PasswordAuthDisabled), boolInt(p.EntraAuth), p.TenantID); err != nil {
			return fmt.Errorf("storing PostgreSQL server: %w", err)
		}
		return nil
	})
	return p, err
}

// errPostgresNameTaken is Azure's answer to a server name in use anywhere.
func errPostgresNameTaken(name string) error {
	return slipway.Errorf(slipway.ECONFLICT, "The server name '%s' is already in use: server names are unique across Slipway, as across Azure, because they name the server's host (%s.postgres.database.azure.com). Choose another name.", name, name)
}

// UpdatePostgresServer stores a server's changeable fields: tags, SKU,
// version, storage, backup retention, the stopped flag and authConfig.
func (s *Store) UpdatePostgresServer(ctx context.Context, p slipway.PostgresServer) error {
	if p.Tags == nil {
		p.Tags = map[string]string{}
	}
	res, err := s.write.ExecContext(ctx, `UPDATE postgres_servers SET tags = ?, sku_name = ?, sku_tier = ?, version = ?, storage_gb = ?,
		backup_retention_days = ?, stopped = ?, password_auth = ?, entra_auth = ?, tenant_id = ? WHERE resource_group = ? AND name = ?`,
		encodeTags(p.Tags), p.SKUName, p.SKUTier, p.Version, p.StorageGB, p.BackupRetentionDays, boolInt(p.Stopped),
		boolInt(!p.PasswordAuthDisabled), boolInt(p.EntraAuth), p.TenantID, p.ResourceGroup, p.Name)
	if err != nil {
		return fmt.Errorf("updating PostgreSQL server: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errPostgresServerNotFound(p.ResourceGroup, p.Name)
	}
	return nil
}

// PostgresServer returns a server of a group; ENOTFOUND (naming a missing
// group first) when there is none.
func (s *Store) PostgresServer(ctx context.Context, rg, name string) (slipway.PostgresServer, error) {
	p, err := scanPostgresServer(s.read.QueryRowContext(ctx, postgresSelect+` WHERE resource_group = ? AND name = ?`, rg, name))
	if errors.Is(err, sql.ErrNoRows) {
		if _, gerr := s.ResourceGroup(ctx, rg); gerr != nil {
			return p, gerr
		}
		return p, errPostgresServerNotFound(rg, name)
	}
	return p, err
}

// PostgresServerNameTaken reports whether a server of any group has the name.
func (s *Store) PostgresServerNameTaken(ctx context.Context, name string) (bool, error) {
	var rg string
	switch err := s.read.QueryRowContext(ctx, `SELECT resource_group FROM postgres_servers WHERE name = ?`, name).Scan(&rg); {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("looking up PostgreSQL server: %w", err)
	}
	return true, nil
}

// PostgresServersIn lists the servers of a resource group, or of every
// group when rg is "", by group and name.
func (s *Store) PostgresServersIn(ctx context.Context, rg string) ([]slipway.PostgresServer, error) {
	return listInGroup(ctx, s, "PostgreSQL servers", scanPostgresServer, postgresSelect, rg)
}

// DeletePostgresServer deletes a server's record with its databases and
// firewall rules; ENOTFOUND when there is none.
func (s *Store) DeletePostgresServer(ctx context.Context, rg, name string) error {
	return deleteInGroup(ctx, s, "postgres_servers", rg, name, errPostgresServerNotFound)
}

// PostgresServerState is what the backend needs of a server at start:
// whether it runs, who may connect, and how they sign in.
type PostgresServerState struct {
	Name                 string
	Stopped              bool
	Rules                []slipway.PostgresFirewallRule
	PasswordAuthDisabled bool
	EntraAuth            bool
	TenantID             string
}

// PostgresServers lists every server of the installation with its
// stopped flag and firewall rules, by name, so that the backend can be
// brought back in line after a restart.
func (s *Store) PostgresServers(ctx context.Context) ([]PostgresServerState, error) {
	all, err := s.PostgresServersIn(ctx, "")
	if err != nil {
		return nil, err
	}
	rules, err := postgresRules.all(postgresRules.list(ctx, s.read, ""))
	if err != nil {
		return nil, err
	}
	by := map[string][]slipway.PostgresFirewallRule{}
	for _, r := range rules {
		by[strings.ToLower(r.Server)] = append(by[strings.ToLower(r.Server)], r)
	}
	out := make([]PostgresServerState, 0, len(all))
	for _, p := range all {
		out = append(out, PostgresServerState{Name: p.Name, Stopped: p.Stopped, Rules: by[strings.ToLower(p.Name)],
			PasswordAuthDisabled: p.PasswordAuthDisabled, EntraAuth: p.EntraAuth, TenantID: p.TenantID})
	}
	return out, nil
}

// postgresServerExists checks that the server is rg's (ENOTFOUND naming
// the group or the server otherwise).
func postgresServerExists(ctx context.Context, q querier, rg, server string) error {
	return resourceExists(ctx, q, "postgres_servers", rg, server, errPostgresServerNotFound)
}

// Databases.

func errPostgresDatabaseNotFound(server, name string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "The Resource 'Microsoft.DBforPostgreSQL/flexibleServers/%s/databases/%s' was not found.", server, name)
}

func scanPostgresDatabase(r rowScanner) (slipway.PostgresDatabase, error) {
	var d slipway.PostgresDatabase
	if err := r.Scan(&d.Server, &d.Name, &d.Charset, &d.Collation); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return d, err
		}
		return d, fmt.Errorf("reading PostgreSQL database: %w", err)
	}
	return d, nil
}

// postgresDatabases is the table of the servers' databases.
var postgresDatabases = serverChildren[slipway.PostgresDatabase]{
	table: "postgres_databases", columns: "server, name, charset, collation", key: "name", order: "name",
	what: "PostgreSQL database", scan: scanPostgresDatabase, notFound: errPostgresDatabaseNotFound,
}

// PutPostgresDatabase records a database of rg's server; an existing one
// keeps its charset and collation (PostgreSQL cannot change them) and is
// returned as it is.
func (s *Store) PutPostgresDatabase(ctx context.Context, rg string, d slipway.PostgresDatabase) (slipway.PostgresDatabase, error) {
	if err := slipway.ValidatePostgresDatabaseName(d.Name); err != nil {
		return d, err
	}
	var out slipway.PostgresDatabase
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := postgresServerExists(ctx, tx, rg, d.Server); err != nil {
			return err
		}
		old, err := postgresDatabases.row(ctx, tx, d.Server, d.Name)
		if err == nil {
			out = old
			return nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO postgres_databases (server, name, charset, collation) VALUES (?, ?, ?, ?)`,
			d.Server, d.Name, d.Charset, d.Collation); err != nil {
			return fmt.Errorf("storing PostgreSQL database: %w", err)
		}
		out = d
		return nil
	})
	return out, err
}

// PostgresDatabase returns a database of rg's server.
func (s *Store) PostgresDatabase(ctx context.Context, rg, server, name string) (slipway.PostgresDatabase, error) {
	return postgresDatabases.get(ctx, s, rg, server, name)
}

// PostgresDatabases lists the databases of rg's server by name.
func (s *Store) PostgresDatabases(ctx context.Context, rg, server string) ([]slipway.PostgresDatabase, error) {
	return postgresDatabases.list(ctx, s, rg, server)
}

// DeletePostgresDatabase deletes a database's record; ENOTFOUND when
// there is none.
func (s *Store) DeletePostgresDatabase(ctx context.Context, rg, server, name string) error {
	return postgresDatabases.delete(ctx, s, rg, server, name)
}

// Firewall rules.

func errPostgresRuleNotFound(server, name string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "The Resource 'Microsoft.DBforPostgreSQL/flexibleServers/%s/firewallRules/%s' was not found.", server, name)
}

// postgresRules is the table of the servers' firewall rules.
var postgresRules = typedRules[slipway.PostgresFirewallRule]{
	ipRuleTable: ipRuleTable{table: "postgres_firewall_rules", owner: "server", what: "PostgreSQL firewall rule", ownerExists: postgresServerExists, notFound: errPostgresRuleNotFound},
	to: func(r ipRule) slipway.PostgresFirewallRule {
		return slipway.PostgresFirewallRule{Server: r.owner, Name: r.name, Start: r.start, End: r.end}
	},
	from: func(f slipway.PostgresFirewallRule) ipRule {
		return ipRule{owner: f.Server, name: f.Name, start: f.Start, end: f.End}
	},
	validate: slipway.ValidatePostgresFirewallRuleName,
}

// PutPostgresFirewallRule creates or replaces a firewall rule of rg's
// server and returns the server's rules after the change.
func (s *Store) PutPostgresFirewallRule(ctx context.Context, rg string, f slipway.PostgresFirewallRule) ([]slipway.PostgresFirewallRule, error) {
	return postgresRules.putIn(ctx, s, rg, f)
}

// PostgresFirewallRule returns a firewall rule of rg's server.
func (s *Store) PostgresFirewallRule(ctx context.Context, rg, server, name string) (slipway.PostgresFirewallRule, error) {
	return postgresRules.getIn(ctx, s, rg, server, name)
}

// PostgresFirewallRules lists the firewall rules of rg's server by name.
func (s *Store) PostgresFirewallRules(ctx context.Context, rg, server string) ([]slipway.PostgresFirewallRule, error) {
	return postgresRules.listIn(ctx, s, rg, server)
}

// DeletePostgresFirewallRule deletes a firewall rule and returns the
// server's rules after the change; ENOTFOUND when there is none.
func (s *Store) DeletePostgresFirewallRule(ctx context.Context, rg, server, name string) ([]slipway.PostgresFirewallRule, error) {
	return postgresRules.deleteIn(ctx, s, rg, server, name)
}

// Microsoft Entra administrators.

func errPostgresAdminNotFound(server, objectID string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "The Resource 'Microsoft.DBforPostgreSQL/flexibleServers/%s/administrators/%s' was not found.", server, objectID)
}

// postgresAdmins is the table of the servers' Microsoft Entra administrators.
var postgresAdmins = serverChildren[slipway.PostgresEntraAdmin]{
	table: "postgres_entra_admins", columns: "server, object_id, principal_name, principal_type, tenant_id", key: "object_id", order: "principal_name",
	what: "PostgreSQL administrator", scan: scanPostgresAdmin, notFound: errPostgresAdminNotFound,
}

func scanPostgresAdmin(r rowScanner) (slipway.PostgresEntraAdmin, error) {
	var a slipway.PostgresEntraAdmin
	if err := r.Scan(&a.Server, &a.ObjectID, &a.PrincipalName, &a.PrincipalType, &a.TenantID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return a, err
		}
		return a, fmt.Errorf("reading PostgreSQL administrator: %w", err)
	}
	return a, nil
}

// PutPostgresEntraAdmin records an administrator of rg's server, or
// replaces the one of its object id. Two administrators may not have the
// same principal name: ECONFLICT.
func (s *Store) PutPostgresEntraAdmin(ctx context.Context, rg string, a slipway.PostgresEntraAdmin) (slipway.PostgresEntraAdmin, error) {
	if err := a.Validate(); err != nil {
		return a, err
	}
	a.ObjectID = strings.ToLower(a.ObjectID)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := postgresServerExists(ctx, tx, rg, a.Server); err != nil {
			return err
		}
		var other string
		switch err := tx.QueryRowContext(ctx, `SELECT object_id FROM postgres_entra_admins WHERE server = ? AND principal_name = ? AND object_id <> ?`,
			a.Server, a.PrincipalName, a.ObjectID).Scan(&other); {
		case err == nil:
			return slipway.Errorf(slipway.ECONFLICT, "The server's administrator '%s' is another principal (%s): delete it first.", a.PrincipalName, other)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("looking up PostgreSQL administrator: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO postgres_entra_admins (server, object_id, principal_name, principal_type, tenant_id) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (server, object_id) DO UPDATE SET principal_name = excluded.principal_name, principal_type = excluded.principal_type, tenant_id = excluded.tenant_id`,
			a.Server, a.ObjectID, a.PrincipalName, a.PrincipalType, a.TenantID); err != nil {
			return fmt.Errorf("storing PostgreSQL administrator: %w", err)
		}
		return nil
	})
	return a, err
}

// PostgresEntraAdmin returns an administrator of rg's server.
func (s *Store) PostgresEntraAdmin(ctx context.Context, rg, server, objectID string) (slipway.PostgresEntraAdmin, error) {
	return postgresAdmins.get(ctx, s, rg, server, objectID)
}

// PostgresEntraAdmins lists the administrators of rg's server by name.
func (s *Store) PostgresEntraAdmins(ctx context.Context, rg, server string) ([]slipway.PostgresEntraAdmin, error) {
	return postgresAdmins.list(ctx, s, rg, server)
}

// DeletePostgresEntraAdmin deletes an administrator's record; ENOTFOUND
// when there is none.
func (s *Store) DeletePostgresEntraAdmin(ctx context.Context, rg, server, objectID string) error {
	return postgresAdmins.delete(ctx, s, rg, server, objectID)
}

// serverChildren is a table of records that belong to a server (its
// databases, its Entra administrators), keyed by server and one column:
// the get, list and delete that check the server is rg's first.
// (Firewall rules have their own, ipRuleTable, shared with Redis.)
type serverChildren[T any] struct {
	table, columns string // the table and the columns scan reads, server first
	key, order     string // the column that names a record; the one lists sort by
	what           string // e.g. "PostgreSQL database", for errors
	scan           func(rowScanner) (T, error)
	notFound       func(server, key string) error
}

// row reads one record; sql.ErrNoRows when there is none.
func (c serverChildren[T]) row(ctx context.Context, q querier, server, key string) (T, error) {
	return c.scan(q.QueryRowContext(ctx, `SELECT `+c.columns+` FROM `+c.table+` WHERE server = ? AND `+c.key+` = ?`, server, key))
}

// get returns a record of rg's server.
func (c serverChildren[T]) get(ctx context.Context, s *Store, rg, server, key string) (T, error) {
	if err := postgresServerExists(ctx, s.read, rg, server); err != nil {
		var zero T
		return zero, err
	}
	v, err := c.row(ctx, s.read, server, key)
	if errors.Is(err, sql.ErrNoRows) {
		err = c.notFound(server, key)
	}
	return v, err
}

// list lists the records of rg's server.
func (c serverChildren[T]) list(ctx context.Context, s *Store, rg, server string) ([]T, error) {
	if err := postgresServerExists(ctx, s.read, rg, server); err != nil {
		return nil, err
	}
	return listRows(ctx, s.read, "listing "+c.what+"s", c.scan, `SELECT `+c.columns+` FROM `+c.table+` WHERE server = ? ORDER BY `+c.order, server)
}

// delete deletes a record of rg's server; ENOTFOUND when there is none.
func (c serverChildren[T]) delete(ctx context.Context, s *Store, rg, server, key string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := postgresServerExists(ctx, tx, rg, server); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM `+c.table+` WHERE server = ? AND `+c.key+` = ?`, server, key)
		if err != nil {
			return fmt.Errorf("deleting %s: %w", c.what, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return c.notFound(server, key)
		}
		return nil
	})
}
