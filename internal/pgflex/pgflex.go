// Package pgflex runs the servers of Azure Database for PostgreSQL flexible
// server (Microsoft.DBforPostgreSQL/flexibleServers) on this machine, so that
// Microsoft's Django tutorials and the scripts written for them work
// unchanged: `az postgres flexible-server create`, then an app that connects
// to <server>.postgres.database.azure.com:5432 with sslmode=require.
//
// Each server is a real PostgreSQL cluster of its own (initdb, postgres and
// psql of the installed PostgreSQL): its own data directory, its own
// postmaster, its own system user when Slipway runs as root, and no TCP
// listener — the cluster answers only on a Unix socket in a directory only
// its user (and root) may enter. Its programs run in the platform's
// sandbox (bubblewrap, as apps do), where the server's directory is /home
// and the rest of the host is the read-only system: the postmaster is the
// sandbox's main process and ends with Slipway. Clients reach it through the proxy
// (proxy.go): one listener for every server, which takes the TLS
// connection as Azure's gateway does, learns the server from the TLS
// server name (SNI, which libpq sends from PostgreSQL 14 on), applies the
// server's firewall rules to the client's address and hands the
// connection to that cluster's socket.
//
// Tenants are hostile. The administrator login is what Azure makes it: a
// role with CREATEDB (and CREATEROLE from PostgreSQL 16 on, where it no
// longer lets a role grant itself pg_execute_server_program), a member of
// azure_pg_admin, never a superuser — a superuser could run programs as the
// cluster's system user (COPY ... PROGRAM). The platform's own superuser,
// azuresu as on Azure, has a random password sealed at rest and is refused
// at the proxy, as are PostgreSQL's reserved pg_ roles.
//
// Besides passwords, a server may take Microsoft Entra tokens (entra.go):
// its Entra administrators and the principals they make with
// pgaadauth_create_principal sign in with an access token as the
// password, which the proxy verifies before it signs in to the cluster
// for them.
package pgflex

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/slipway-dev/slipway/internal/gateway"
	"github.com/slipway-dev/slipway/internal/sandbox"
	"github.com/slipway-dev/slipway/internal/tenantproc"
)

// Suffix is the DNS suffix of Azure's flexible servers: a server named s
// answers at s.postgres.database.azure.com (its fullyQualifiedDomainName),
// a name apps resolve to Slipway inside their sandboxes.
const Suffix = ".postgres.database.azure.com"

// Label is the zone of the servers under the platform's own domain:
// s.postgres.<domain>, for clients outside the sandboxes.
const Label = "postgres"

// platformRole is the platform's superuser in every cluster: Azure's own
// (azuresu), refused at the proxy whatever the password.
const platformRole = "azuresu"

// Config configures a Manager.
type Config struct {
	// Dir holds one directory per server: <Dir>/<name>/data (PGDATA),
	// <Dir>/<name>/run (the socket) and the platform role's sealed
	// password.
	Dir string
	// BinDir holds initdb, postgres, psql and pg_isready. "": the newest installed
	// PostgreSQL under /usr/lib/postgresql/<major>/bin, then PATH.
	BinDir string
	// Domain is the platform's base domain: servers also answer at
	// <name>.postgres.<Domain>.
	Domain string
	// Seal and Open protect the platform role's password at rest. Nil: it
	// is kept in clear (tests).
	Seal func([]byte) ([]byte, error)
	Open func([]byte) ([]byte, error)
	// User returns the system user a server's cluster runs as (created on
	// demand). Nil: the server's own user (Slipway not running as root).
	User func(ctx context.Context, server string) (uid, gid int, err error)
	// Sandbox runs PostgreSQL's programs: confined (bubblewrap), each
	// cluster sees only its own directory; unconfined, they run as plain
	// processes (as the cluster's user). Required.
	Sandbox *sandbox.Sandbox
	// Volumes, when set, gives each server's data a file system of its
	// own of StorageBytes (internal/homefs' images), so that a server
	// that fills its storage fails its own writes (as Azure's does at its
	// storage size) and nothing else on the machine. Nil: the data lies
	// on the machine's disk, unbounded.
	Volumes Volumes
	// StorageBytes is each server's storage; 0: 32 GiB, Azure's smallest.
	StorageBytes int64
	// Apps reports whether a client of the apps' listener (Proxy.Serve
	// with internal) is one of Slipway's app instances, by its address:
	// only those are admitted by the 0.0.0.0 rule. That listener is on
	// the instances' gateway address, which the host's own processes (and
	// a neighbour routing to it) reach too; they are outside clients. Nil:
	// no client is an app.
	Apps func(netip.Addr) bool
	// Outbound is the address ARM publishes as every app's outbound
	// address (outboundIpAddresses): a rule that names it admits apps, as
	// a rule naming an App Service app's outbound addresses does on
	// Azure. Invalid: only apps' own addresses count.
	Outbound netip.Addr
	Logger   *slog.Logger
}

// Volumes mounts a file system of its own at a directory (homefs.Homes).
type Volumes interface {
	Ensure(ctx context.Context, name, dir string, quota int64, uid, gid int) (int64, error)
	Remove(ctx context.Context, name, dir string) error
}

// FirewallRule is one allowed range of client IPv4 addresses, inclusive.
// 0.0.0.0–0.0.0.0 is Azure's "allow public access from any Azure service":
// here, Slipway's apps.
type FirewallRule = gateway.Range

// Manager runs the servers' clusters and the proxy in front of them. It is
// safe for concurrent use.
type Manager struct {
	cfg     Config
	bin     string
	version string // the clusters' PostgreSQL major version

	servers tenantproc.Registry[*cluster] // by name, running or not

	mu     sync.RWMutex
	groups GroupFunc
	rules  map[string][]FirewallRule
	auth   map[string]AuthConfig
	dir    Directory

	entra entraPasswords
}

// ErrNotFound is returned for a server Slipway does not run.
var ErrNotFound = errors.New("no such PostgreSQL server")

var (
	serverNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	roleNameRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)
	dbNameRE     = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$`)
)

// New finds the PostgreSQL binaries and returns a Manager for cfg.Dir. It
// starts nothing: Reconcile starts the servers that should run.
func New(cfg Config) (*Manager, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Sandbox == nil {
		return nil, errors.New("opening PostgreSQL servers: no sandbox to run them in")
	}
	if cfg.StorageBytes == 0 {
		cfg.StorageBytes = 32 << 30
	}
	bin, version, err := findBinaries(cfg.BinDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o711); err != nil {
		return nil, fmt.Errorf("opening PostgreSQL servers: %w", err)
	}
	return &Manager{cfg: cfg, bin: bin, version: version, rules: map[string][]FirewallRule{}, auth: map[string]AuthConfig{}}, nil
}

// GroupFunc makes a control group for a server's processes and returns
// its cgroup.procs files and how to remove it once they have ended.
type GroupFunc func(server string) (procs []string, release func() error, err error)

// SetGroups has every postmaster started from now on run in a control
// group of its own (package cgroups), with its limits. Nil: none.
func (m *Manager) SetGroups(f GroupFunc) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.groups = f
}

// Names are the servers the manager knows, running or not, sorted.
func (m *Manager) Names() []string { return m.servers.Names() }

// Version is the PostgreSQL major version the servers run, e.g. "15".
func (m *Manager) Version() string { return m.version }

// findBinaries returns the directory of initdb, postgres, psql and pg_isready,
// and their major version.
func findBinaries(dir string) (string, string, error) {
	if dir == "" {
		majors, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
		sort.Slice(majors, func(i, j int) bool { return majorOf(majors[i]) > majorOf(majors[j]) })
		if len(majors) > 0 {
			dir = filepath.Dir(majors[0])
		}
	}
	if dir == "" {
		return "", "", errors.New("PostgreSQL is not installed (no /usr/lib/postgresql/<version>/bin/initdb): install it (apt-get install postgresql) to serve Azure Database for PostgreSQL flexible servers")
	}
	for _, b := range []string{"initdb", "postgres", "psql", "pg_isready"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return "", "", fmt.Errorf("PostgreSQL's %s is missing in %s: %w", b, dir, err)
		}
	}
	v := majorOf(filepath.Join(dir, "initdb"))
	if v == 0 {
		out, err := readVersion(filepath.Join(dir, "postgres"))
		if err != nil {
			return "", "", err
		}
		v = out
	}
	return dir, strconv.Itoa(v), nil
}

// majorOf reads the major version from /usr/lib/postgresql/<major>/bin/x.
func majorOf(p string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
	return n
}

// CreateServer makes and starts a server's cluster with its administrator
// and returns the PostgreSQL major version it runs. A server whose data
// directory exists is an error: names are unique and a new server never
// takes an old one's data.
func (m *Manager) CreateServer(ctx context.Context, name, adminLogin, adminPassword string) (string, error) {
	if !serverNameRE.MatchString(name) {
		return "", fmt.Errorf("creating PostgreSQL server %q: not a valid server name (3–63 lower-case letters, digits and hyphens, not starting or ending with a hyphen)", name)
	}
	if err := checkAdmin(adminLogin, adminPassword); err != nil {
		return "", fmt.Errorf("creating PostgreSQL server %q: %w", name, err)
	}
	unlock := m.lock(name)
	defer unlock()
	c, err := m.newCluster(ctx, name)
	if err != nil {
		return "", err
	}
	if err := c.create(ctx, adminLogin, adminPassword); err != nil {
		c.stop(context.WithoutCancel(ctx))
		os.RemoveAll(c.dir)
		return "", fmt.Errorf("creating PostgreSQL server %q: %w", name, err)
	}
	m.servers.Put(name, c)
	m.cfg.Logger.Info("PostgreSQL server created", "server", name, "version", m.version, "admin", adminLogin)
	return m.version, nil
}

// checkAdmin refuses what the cluster cannot take safely: names beyond
// PostgreSQL's identifiers or reserved, passwords with NUL bytes.
func checkAdmin(login, password string) error {
	if !roleNameRE.MatchString(login) {
		return fmt.Errorf("administrator login %q: use letters, digits and '_', starting with a letter or '_', at most 63 characters", login)
	}
	if reservedRole(login) {
		return fmt.Errorf("administrator login %q is reserved", login)
	}
	if password == "" || strings.ContainsRune(password, 0) || len(password) > 128 {
		return errors.New("the administrator password must be 1–128 characters without NUL")
	}
	return nil
}

// reservedRole reports whether a role name is the platform's or
// PostgreSQL's own, which no client may log in as and no administrator
// may be named (Azure's list).
func reservedRole(name string) bool {
	n := strings.ToLower(name)
	return slices.Contains(reservedRoles, n) || strings.HasPrefix(n, "pg_")
}

// reservedRoles are the role names no tenant may take (lower case), beside
// PostgreSQL's own pg_ prefix. pgaadauth's functions check the same list
// in SQL (entraSQL).
var reservedRoles = []string{platformRole, "azure_superuser", "azure_pg_admin", "admin", "administrator", "root", "guest", "public", "postgres"}

// SetAdminPassword changes the administrator's password.
func (m *Manager) SetAdminPassword(ctx context.Context, name, adminLogin, password string) error {
	if err := checkAdmin(adminLogin, password); err != nil {
		return fmt.Errorf("changing the administrator password of %q: %w", name, err)
	}
	c, err := m.running(name)
	if err != nil {
		return err
	}
	// The reset is the owner's way back in: it also clears the one
	// setting a role may give itself that makes each of its logins fail
	// (a library that does not exist in local_preload_libraries), in
	// every database.
	_, err = c.psql(ctx, "postgres", quietly+fmt.Sprintf("ALTER ROLE %s PASSWORD %s;\n", ident(adminLogin), literal(password))+
		fmt.Sprintf("ALTER ROLE %s RESET local_preload_libraries;\n", ident(adminLogin))+
		fmt.Sprintf("SELECT format('ALTER ROLE %%I IN DATABASE %%I RESET local_preload_libraries', %s, d.datname) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE s.setrole = %s::regrole \\gexec\n", literal(adminLogin), literal(ident(adminLogin))))
	if err != nil {
		return fmt.Errorf("changing the administrator password of %q: %w", name, err)
	}
	return nil
}

// DeleteServer stops a server and removes its data. A server that does not
// exist is not an error.
func (m *Manager) DeleteServer(ctx context.Context, name string) error {
	if !serverNameRE.MatchString(name) {
		return nil
	}
	unlock := m.lock(name)
	defer unlock()
	c, ok := m.servers.Delete(name)
	m.mu.Lock()
	delete(m.rules, name)
	delete(m.auth, name)
	m.mu.Unlock()
	m.forgetEntraServer(name)
	if !ok {
		c = m.clusterAt(name)
	}
	if _, err := os.Stat(c.dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := c.stop(ctx); err != nil {
		m.cfg.Logger.Warn("stopping a deleted PostgreSQL server", "server", name, "err", err)
	}
	if m.cfg.Volumes != nil {
		if err := m.cfg.Volumes.Remove(ctx, name, c.vol); err != nil {
			return fmt.Errorf("deleting PostgreSQL server %q: %w", name, err)
		}
	}
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("deleting PostgreSQL server %q: %w", name, err)
	}
	m.cfg.Logger.Info("PostgreSQL server deleted", "server", name)
	return nil
}

// StartServer starts a stopped server.
func (m *Manager) StartServer(ctx context.Context, name string) error {
	unlock := m.lock(name)
	defer unlock()
	c, err := m.known(name)
	if err != nil {
		return err
	}
	if err := c.start(ctx); err != nil {
		return fmt.Errorf("starting PostgreSQL server %q: %w", name, err)
	}
	// Servers made before Microsoft Entra sign-in get pgaadauth now. A
	// failure leaves Entra sign-in refused, not the server down.
	if err := c.ensureEntra(ctx); err != nil {
		m.cfg.Logger.Error("a PostgreSQL server has no Microsoft Entra sign-in", "server", name, "err", err)
	}
	return nil
}

// StopServer stops a server's processes; its connections end.
func (m *Manager) StopServer(ctx context.Context, name string) error {
	unlock := m.lock(name)
	defer unlock()
	c, err := m.known(name)
	if err != nil {
		return err
	}
	if err := c.stop(ctx); err != nil {
		return fmt.Errorf("stopping PostgreSQL server %q: %w", name, err)
	}
	return nil
}

// CreateDatabase creates a database owned by the administrator... as Azure
// does for `az postgres flexible-server db create`: owned by azure_pg_admin
// members through the administrator. An existing database is not an error.
// charset must be UTF8 (or ""); collation "" or a language's UTF-8 locale
// (en_US.utf8, Azure's default) is served by ICU, "C" and "POSIX" by libc.
func (m *Manager) CreateDatabase(ctx context.Context, server, db, charset, collation string) error {
	if !dbNameRE.MatchString(db) {
		return fmt.Errorf("creating database %q: use letters, digits, '_' and '-', at most 63 characters", db)
	}
	if err := CheckDatabaseOptions(charset, collation); err != nil {
		return fmt.Errorf("creating database %q: %w", db, err)
	}
	locale, _ := localeClause(collation)
	c, err := m.running(server)
	if err != nil {
		return err
	}
	out, err := c.psql(ctx, "postgres", fmt.Sprintf("SELECT 1 FROM pg_database WHERE datname = %s;\n", literal(db)))
	if err != nil {
		return fmt.Errorf("creating database %q: %w", db, err)
	}
	if strings.TrimSpace(out) == "1" {
		return nil
	}
	owner, err := c.admin(ctx)
	if err != nil {
		return fmt.Errorf("creating database %q: %w", db, err)
	}
	_, err = c.psql(ctx, "postgres", fmt.Sprintf("CREATE DATABASE %s OWNER %s TEMPLATE template0 ENCODING 'UTF8' %s;\n", ident(db), ident(owner), locale))
	if err != nil {
		return fmt.Errorf("creating database %q: %w", db, err)
	}
	return nil
}

// CheckDatabaseOptions says whether a database's charset and collation
// are offered: UTF8 (or ""), and "" or a language's UTF-8 locale
// (en_US.utf8, Azure's default), C or POSIX.
func CheckDatabaseOptions(charset, collation string) error {
	if cs := strings.ToUpper(strings.ReplaceAll(charset, "-", "")); cs != "" && cs != "UTF8" {
		return fmt.Errorf("charset %q is not offered here; use UTF8", charset)
	}
	_, err := localeClause(collation)
	return err
}

// localeClause maps Azure's collation names onto what this machine has.
func localeClause(collation string) (string, error) {
	c := strings.TrimSpace(collation)
	switch strings.ToLower(c) {
	case "c", "posix":
		return "LOCALE_PROVIDER libc LOCALE 'C'", nil
	case "c.utf8", "c.utf-8":
		return "LOCALE_PROVIDER libc LOCALE 'C.UTF-8'", nil
	case "":
		c = "en_US.utf8"
	}
	lang, enc, _ := strings.Cut(c, ".")
	if e := strings.ToLower(strings.ReplaceAll(enc, "-", "")); e != "" && e != "utf8" {
		return "", fmt.Errorf("collation %q: only UTF-8 collations are offered here", collation)
	}
	if !regexp.MustCompile(`^[a-z]{2,3}(_[A-Z]{2})?$`).MatchString(lang) {
		return "", fmt.Errorf("collation %q: not a collation this server knows (use a language's UTF-8 locale such as en_US.utf8, or C)", collation)
	}
	return "LOCALE_PROVIDER icu ICU_LOCALE " + literal(strings.ReplaceAll(lang, "_", "-")) + " LOCALE 'C.UTF-8'", nil
}

// DeleteDatabase drops a database, ending its connections. None: nil.
func (m *Manager) DeleteDatabase(ctx context.Context, server, db string) error {
	if !dbNameRE.MatchString(db) {
		return nil
	}
	if db == "postgres" || db == "template0" || db == "template1" {
		return fmt.Errorf("deleting database %q: it is the server's own", db)
	}
	c, err := m.running(server)
	if err != nil {
		return err
	}
	if _, err := c.psql(ctx, "postgres", fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE);\n", ident(db))); err != nil {
		return fmt.Errorf("deleting database %q: %w", db, err)
	}
	return nil
}

// SetFirewallRules replaces a server's firewall rules.
func (m *Manager) SetFirewallRules(server string, rules []FirewallRule) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rules[server] = append([]FirewallRule(nil), rules...)
}

// allowed reports whether a client may reach server: internal clients
// (Slipway's apps) by the 0.0.0.0 rule or their address, others by their
// address in a rule's range.
func (m *Manager) allowed(server string, client netip.Addr, internal bool) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	client = client.Unmap()
	internal = m.isApp(client, internal)
	for _, r := range m.rules[server] {
		if r.Start == netip.IPv4Unspecified() && r.End == netip.IPv4Unspecified() {
			// Azure's marker for its services, never an address range.
			if internal {
				return true
			}
			continue
		}
		if r.Contains(client) || internal && m.cfg.Outbound.IsValid() && r.Contains(m.cfg.Outbound) {
			return true
		}
	}
	return false
}

// isApp reports whether a client is one of Slipway's apps: on the apps'
// listener (internal) and at an app's address.
func (m *Manager) isApp(client netip.Addr, internal bool) bool {
	return internal && m.cfg.Apps != nil && m.cfg.Apps(client.Unmap())
}

// Reconciled is a server as the platform's records know it.
type Reconciled struct {
	Name    string
	Stopped bool
	Rules   []FirewallRule
	// Auth is the server's authConfig; nil: passwords only.
	Auth *AuthConfig
}

// Reconcile brings the clusters in line with the records after a start:
// each server's rules are loaded and each one not stopped is started. A
// record without data, or data without a record, is logged and left: only
// the records' owner deletes.
func (m *Manager) Reconcile(ctx context.Context, servers []Reconciled) error {
	var errs []error
	known := map[string]bool{}
	for _, s := range servers {
		known[s.Name] = true
		m.SetFirewallRules(s.Name, s.Rules)
		if s.Auth != nil {
			m.SetAuthConfig(s.Name, *s.Auth)
		}
		// A server the manager runs already keeps its cluster: a new one
		// would start a second postmaster on the same data.
		c, ok := m.servers.Get(s.Name)
		if !ok {
			c = m.clusterAt(s.Name)
		}
		if err := c.mount(ctx); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := os.Stat(filepath.Join(c.data, "PG_VERSION")); err != nil {
			m.cfg.Logger.Error("a PostgreSQL server's data is missing: delete and create it again", "server", s.Name, "dir", c.data)
			continue
		}
		m.servers.Put(s.Name, c)
		if s.Stopped {
			continue
		}
		if err := m.StartServer(ctx, s.Name); err != nil {
			errs = append(errs, err)
		}
	}
	entries, _ := os.ReadDir(m.cfg.Dir)
	for _, e := range entries {
		if e.IsDir() && !known[e.Name()] {
			m.cfg.Logger.Warn("PostgreSQL data without a server record left in place", "dir", filepath.Join(m.cfg.Dir, e.Name()))
		}
	}
	return errors.Join(errs...)
}

// Close stops every running cluster.
func (m *Manager) Close() error {
	var errs []error
	for _, c := range m.servers.All() {
		if err := c.stop(context.Background()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// lock serialises lifecycle operations on one server.
func (m *Manager) lock(name string) func() { return m.servers.Lock(name) }

// known returns a server's cluster, running or not.
func (m *Manager) known(name string) (*cluster, error) {
	c, ok := m.servers.Get(name)
	if !ok {
		return nil, fmt.Errorf("PostgreSQL server %q: %w", name, ErrNotFound)
	}
	return c, nil
}

// running returns a server's cluster, which must be running.
func (m *Manager) running(name string) (*cluster, error) {
	c, err := m.known(name)
	if err != nil {
		return nil, err
	}
	if !c.isRunning() {
		return nil, fmt.Errorf("PostgreSQL server %q is stopped: start it first (az postgres flexible-server start)", name)
	}
	return c, nil
}

// randomPassword is the platform role's password: 32 random bytes in hex.
func randomPassword() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// ident quotes a PostgreSQL identifier.
func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// literal quotes a PostgreSQL string literal. It relies on
// standard_conforming_strings, which the platform's sessions set
// themselves (cluster.psql), so that a backslash is an ordinary character.
func literal(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// quietly keeps a statement carrying a password out of the server's log,
// even when it fails.
const quietly = "SET log_statement = 'none';\nSET log_min_error_statement = 'panic';\n"
