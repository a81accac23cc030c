package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/arm"
	"github.com/slipway-dev/slipway/internal/server"
)

// stubPostgres stands in for the PostgreSQL backend (internal/pgflex, a
// separate package with its own end-to-end test against real
// PostgreSQL): here the real az's requests are what is under test, and
// the stub records what ARM asked of the backend.
type stubPostgres struct {
	mu        sync.Mutex
	passwords map[string]string // server → administrator password
	running   map[string]bool
	dbs       map[string][]string
	rules     map[string][]arm.PostgresFirewallRule
	auth      map[string]arm.PostgresAuthConfig
	admins    map[string]map[string]string // server → object id → role
}

var _ arm.PostgresServers = (*stubPostgres)(nil)

func newStubPostgres() *stubPostgres {
	return &stubPostgres{passwords: map[string]string{}, running: map[string]bool{}, dbs: map[string][]string{}, rules: map[string][]arm.PostgresFirewallRule{},
		auth: map[string]arm.PostgresAuthConfig{}, admins: map[string]map[string]string{}}
}

func (s *stubPostgres) CreateServer(_ context.Context, name, _, password string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.passwords[name], s.running[name], s.dbs[name] = password, true, []string{"postgres"}
	return "15", nil // not the version asked for: a server shows what runs
}

func (s *stubPostgres) SetAdminPassword(_ context.Context, name, _, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.passwords[name] = password
	return nil
}

func (s *stubPostgres) DeleteServer(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.passwords, name)
	delete(s.running, name)
	return nil
}

func (s *stubPostgres) StartServer(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running[name] = true
	return nil
}

func (s *stubPostgres) StopServer(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running[name] = false
	return nil
}

func (s *stubPostgres) CreateDatabase(_ context.Context, server, db, _, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dbs[server] = append(s.dbs[server], db)
	return nil
}

func (s *stubPostgres) DeleteDatabase(_ context.Context, server, db string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dbs[server] = slices.DeleteFunc(s.dbs[server], func(d string) bool { return d == db })
	return nil
}

func (s *stubPostgres) SetFirewallRules(server string, rules []arm.PostgresFirewallRule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules[server] = slices.Clone(rules)
}

func (s *stubPostgres) SetAuthConfig(server string, a arm.PostgresAuthConfig) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.auth[server] = a
}

func (s *stubPostgres) AddEntraAdmin(_ context.Context, server string, p arm.PostgresEntraPrincipal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admins[server] == nil {
		s.admins[server] = map[string]string{}
	}
	s.admins[server][p.ObjectID] = p.Name
	return nil
}

func (s *stubPostgres) RemoveEntraAdmin(_ context.Context, server, objectID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.admins[server], objectID)
	return nil
}

func (s *stubPostgres) state(name string) (password string, running bool, dbs []string, rules []arm.PostgresFirewallRule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.passwords[name], s.running[name], slices.Clone(s.dbs[name]), slices.Clone(s.rules[name])
}

// TestRealAzPostgresFlexibleServer: the commands of Microsoft's Django
// tutorial ("Deploy a Python (Django or Flask) web app with PostgreSQL in
// Azure", Azure CLI tab) and the msdocs-django-postgresql-sample-app with
// the installed az: flexible-server create (with --public-access 0.0.0.0,
// so that az asks no outside service for the client's address), show,
// list, update --admin-password, db create|list|show|delete,
// firewall-rule create|list|delete, stop, start, restart,
// show-connection-string and delete.
func TestRealAzPostgresFlexibleServer(t *testing.T) {
	t.Parallel() // its own server and names; az mostly waits (CI time)
	pg := newStubPostgres()
	r := startRealAzEdit(t, realAzPath(t), func(c *server.Config) { c.Postgres = pg })
	cli := r.cli
	rg, name := "rg-realaz-pg", "realaz-pg1"
	const password, password2 = "Tutorial-Pass-1234", "Rotated-Pass-5678"
	cli.must("group", "create", "-n", rg, "-l", "westeurope", "-o", "none")
	srv := []string{"-g", rg, "-n", name}

	// The tutorial's --database-name is refused by az 2.91 itself unless
	// --node-count names an elastic cluster: nothing reaches Slipway.
	out := cli.fail(append([]string{"postgres", "flexible-server", "create", "-l", "westeurope", "--admin-user", "myadmin",
		"--admin-password", password, "--database-name", "pollsdb", "--yes"}, srv...)...)
	if !strings.Contains(out, "--database-name") {
		t.Fatalf("create --database-name: %s", out)
	}

	out = cli.must(append([]string{"postgres", "flexible-server", "create", "-l", "westeurope", "--admin-user", "myadmin",
		"--admin-password", password, "--sku-name", "Standard_B1ms", "--tier", "Burstable", "--public-access", "0.0.0.0",
		"--version", "16", "--storage-size", "32", "--yes", "-o", "json"}, srv...)...)
	var created struct {
		Host, Username, Version, Skuname, ID, ConnectionString, FirewallName string
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Host != name+".postgres.database.azure.com" ||
		created.Version != "15" || created.Skuname != "Standard_B1ms" || created.Username != "myadmin" ||
		!strings.HasPrefix(created.FirewallName, "AllowAllAzureServicesAndResourcesWithinAzureIps_") ||
		created.ConnectionString != fmt.Sprintf("postgresql://myadmin:%s@%s/postgres?sslmode=require", password, created.Host) {
		t.Fatalf("create (%v):\n%s", err, out)
	}
	if pw, running, _, rules := pg.state(name); pw != password || !running || len(rules) != 1 || rules[0].Start.String() != "0.0.0.0" || rules[0].End.String() != "0.0.0.0" {
		t.Fatalf("backend after create: %q %v %v", pw, running, rules)
	}
	// A second server may not take the name, in any group.
	cli.must("group", "create", "-n", rg+"-2", "-l", "westeurope", "-o", "none")
	if out := cli.fail("postgres", "flexible-server", "create", "-g", rg+"-2", "-n", name, "-l", "westeurope", "--admin-user", "myadmin",
		"--admin-password", password, "--sku-name", "Standard_B1ms", "--tier", "Burstable", "--public-access", "None", "--yes"); !strings.Contains(out, "already used") {
		t.Fatalf("create with a taken name: %s", out)
	}

	out = cli.must(append([]string{"postgres", "flexible-server", "show", "-o", "json"}, srv...)...)
	if !strings.Contains(out, `"state": "Ready"`) || !strings.Contains(out, `"fullyQualifiedDomainName": "`+created.Host+`"`) || strings.Contains(out, password) {
		t.Fatalf("show:\n%s", out)
	}
	if got := strings.TrimSpace(cli.must("postgres", "flexible-server", "list", "-g", rg, "--query", "[].name", "-o", "tsv")); got != name {
		t.Fatalf("list = %q", got)
	}
	cli.must(append([]string{"postgres", "flexible-server", "update", "--admin-password", password2, "-o", "none"}, srv...)...)
	if pw, _, _, _ := pg.state(name); pw != password2 {
		t.Fatalf("password after update = %q", pw)
	}

	db := []string{"-g", rg, "-s", name}
	cli.must(append([]string{"postgres", "flexible-server", "db", "create", "-n", "pollsdb", "-o", "none"}, db...)...)
	if got := strings.Fields(cli.must(append([]string{"postgres", "flexible-server", "db", "list", "--query", "[].name", "-o", "tsv"}, db...)...)); !slices.Equal(got, []string{"pollsdb", "postgres"}) {
		t.Fatalf("db list = %v", got)
	}
	if got := strings.TrimSpace(cli.must(append([]string{"postgres", "flexible-server", "db", "show", "-n", "pollsdb", "--query", "charset", "-o", "tsv"}, db...)...)); got != "utf8" {
		t.Fatalf("db show charset = %q", got)
	}
	cli.must(append([]string{"postgres", "flexible-server", "firewall-rule", "create", "-n", "office", "--start-ip-address", "203.0.113.1", "--end-ip-address", "203.0.113.9", "-o", "none"}, "-g", rg, "-s", name)...)
	if got := strings.Fields(cli.must("postgres", "flexible-server", "firewall-rule", "list", "-g", rg, "-s", name, "--query", "[].name", "-o", "tsv")); len(got) != 2 || !slices.Contains(got, "office") {
		t.Fatalf("firewall-rule list = %v", got)
	}
	if _, _, _, rules := pg.state(name); len(rules) != 2 {
		t.Fatalf("backend rules = %v", rules)
	}
	cli.must("postgres", "flexible-server", "firewall-rule", "delete", "-g", rg, "-s", name, "-n", "office", "--yes")
	if _, _, _, rules := pg.state(name); len(rules) != 1 {
		t.Fatalf("backend rules after delete = %v", rules)
	}
	cli.must(append([]string{"postgres", "flexible-server", "db", "delete", "-n", "pollsdb", "--yes"}, db...)...)
	if _, _, dbs, _ := pg.state(name); slices.Contains(dbs, "pollsdb") {
		t.Fatalf("backend dbs after delete = %v", dbs)
	}

	cli.must(append([]string{"postgres", "flexible-server", "stop", "-o", "none"}, srv...)...)
	if st := strings.TrimSpace(cli.must(append([]string{"postgres", "flexible-server", "show", "--query", "state", "-o", "tsv"}, srv...)...)); st != "Stopped" {
		t.Fatalf("state after stop = %q", st)
	}
	cli.must(append([]string{"postgres", "flexible-server", "start", "-o", "none"}, srv...)...)
	cli.must(append([]string{"postgres", "flexible-server", "restart", "-o", "none"}, srv...)...)
	if _, running, _, _ := pg.state(name); !running {
		t.Fatal("not running after start and restart")
	}

	// Offline: az formats the strings itself.
	out = cli.must("postgres", "flexible-server", "show-connection-string", "-s", name, "-u", "myadmin", "-p", password2, "-d", "postgres", "-o", "json")
	if !strings.Contains(out, name+".postgres.database.azure.com") {
		t.Fatalf("show-connection-string:\n%s", out)
	}

	cli.must(append([]string{"postgres", "flexible-server", "delete", "--yes"}, srv...)...)
	if pw, _, _, _ := pg.state(name); pw != "" {
		t.Fatal("the backend's server was not deleted")
	}
	if out := cli.fail(append([]string{"postgres", "flexible-server", "show"}, srv...)...); !strings.Contains(out, "ResourceNotFound") && !strings.Contains(out, "was not found") {
		t.Fatalf("show after delete: %s", out)
	}
}

// TestRealAzPostgresEntraSignIn: Microsoft's passwordless path ("Connect
// to Azure databases from App Service without secrets using a managed
// identity") with the real az and the real PostgreSQL backend:
// `flexible-server update --microsoft-entra-auth Enabled`,
// `microsoft-entra-admin create|list|show|delete` naming az's own service
// principal, psql on the host signing in as it with `az account
// get-access-token`'s token, pgaadauth_create_principal for an app's
// system-assigned identity, and the app signing in from its instance with
// azure-identity and psycopg, no password anywhere.
func TestRealAzPostgresEntraSignIn(t *testing.T) {
	t.Parallel() // its own server and names; az mostly waits (CI time)
	needSandbox(t, "apps reaching <server>.postgres.database.azure.com need")
	if _, err := exec.LookPath("psql"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("psql is missing: scripts/setup installs postgresql")
		}
		t.Skip("PostgreSQL is not installed")
	}
	r := startRealAz(t, realAzPath(t))
	cli := r.cli
	rg, name, app := "rg-realaz-pgentra", "realaz-pgentra", "pgentra-app"
	cli.must("group", "create", "-n", rg, "-l", "westeurope", "-o", "none")
	cli.must("postgres", "flexible-server", "create", "-g", rg, "-n", name, "-l", "westeurope", "--admin-user", "myadmin",
		"--admin-password", "Tutorial-Pass-1234", "--sku-name", "Standard_B1ms", "--tier", "Burstable", "--public-access", "0.0.0.0",
		"--version", "16", "--storage-size", "32", "--yes", "-o", "none")
	cli.must("postgres", "flexible-server", "firewall-rule", "create", "-g", rg, "-s", name, "-n", "host",
		"--start-ip-address", "127.0.0.1", "--end-ip-address", "127.0.0.1", "-o", "none")
	// Administrators need Entra authentication on.
	if out := cli.fail("postgres", "flexible-server", "microsoft-entra-admin", "create", "-g", rg, "-s", name,
		"-u", "someone", "-i", "00000000-0000-4000-8000-000000000001", "-t", "User"); !strings.Contains(out, "--microsoft-entra-auth Enabled") {
		t.Fatalf("an administrator with Entra disabled: %s", out)
	}
	out := cli.must("postgres", "flexible-server", "update", "-g", rg, "-n", name, "--microsoft-entra-auth", "Enabled", "-o", "json")
	var srv struct {
		AuthConfig struct{ ActiveDirectoryAuth, PasswordAuth, TenantID string } `json:"authConfig"`
	}
	if err := json.Unmarshal([]byte(out), &srv); err != nil || srv.AuthConfig.ActiveDirectoryAuth != "Enabled" ||
		srv.AuthConfig.PasswordAuth != "Enabled" || srv.AuthConfig.TenantID != r.info.TenantID {
		t.Fatalf("update --microsoft-entra-auth Enabled (%v): %s", err, out)
	}

	// az's own service principal is the server's Entra administrator.
	ownerOID := strings.TrimSpace(cli.must("ad", "sp", "show", "--id", r.owner.AppID, "--query", "id", "-o", "tsv"))
	out = cli.must("postgres", "flexible-server", "microsoft-entra-admin", "create", "-g", rg, "-s", name,
		"-u", r.owner.DisplayName, "-i", ownerOID, "-t", "ServicePrincipal", "-o", "json")
	var admin struct{ PrincipalName, PrincipalType, ObjectID, TenantID string }
	if err := json.Unmarshal([]byte(out), &admin); err != nil || admin.PrincipalName != r.owner.DisplayName ||
		admin.PrincipalType != "ServicePrincipal" || admin.ObjectID != ownerOID || admin.TenantID != r.info.TenantID {
		t.Fatalf("microsoft-entra-admin create (%v): %s", err, out)
	}
	if out := cli.must("postgres", "flexible-server", "microsoft-entra-admin", "list", "-g", rg, "-s", name, "--query", "[].principalName", "-o", "tsv"); strings.TrimSpace(out) != r.owner.DisplayName {
		t.Fatalf("microsoft-entra-admin list: %s", out)
	}
	if out := cli.must("postgres", "flexible-server", "microsoft-entra-admin", "show", "-g", rg, "-s", name, "-i", ownerOID, "--query", "principalName", "-o", "tsv"); strings.TrimSpace(out) != r.owner.DisplayName {
		t.Fatalf("microsoft-entra-admin show: %s", out)
	}
	adminToken := strings.TrimSpace(cli.must("account", "get-access-token", "--resource", "https://ossrdbms-aad.database.windows.net", "--query", "accessToken", "-o", "tsv"))
	psql := func(user, password, sql string) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn := fmt.Sprintf("host=%s.postgres.localhost hostaddr=127.0.0.1 port=%d dbname=postgres sslmode=require", name, r.s.info.PostgresPort)
		cmd := exec.CommandContext(ctx, "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", conn, "-U", user, "-c", sql)
		cmd.Env = append(os.Environ(), "PGPASSWORD="+password)
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	if out, err := psql(r.owner.DisplayName, adminToken, "SELECT current_user, pg_has_role('azure_pg_admin', 'member')"); err != nil || out != r.owner.DisplayName+"|t" {
		t.Fatalf("the Entra administrator with its token: %v %s", err, out)
	}

	// The app's system-assigned identity is a principal of the server,
	// named as the app, made by the administrator.
	r.s.createApp(app, "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
	cli.must("webapp", "identity", "assign", "-g", "rg-"+app, "-n", app, "-o", "none")
	if out, err := psql(r.owner.DisplayName, adminToken, "SELECT * FROM pgaadauth_create_principal('"+app+"', false, false)"); err != nil || !strings.Contains(out, "Created role") {
		t.Fatalf("pgaadauth_create_principal: %v %s", err, out)
	}
	if code := r.s.deployZip(app, zipDir(t, "testdata/apps/pgentra", nil)); code != "200" {
		user, pass := r.s.credentials(app)
		t.Fatalf("deploy: %s\n%s", code, r.s.deploymentLog(app, user, pass, "latest"))
	}
	signIn := func(user, cred string) string {
		t.Helper()
		code, body := r.s.get(r.s.host(app), "/?"+url.Values{"host": {name + ".postgres.database.azure.com"}, "user": {user}, "cred": {cred}}.Encode())
		if code != 200 {
			t.Fatalf("the app: %d %s", code, body)
		}
		return body
	}
	for _, cred := range []string{"mi", "default"} {
		if got := signIn(app, cred); got != "OK "+app {
			t.Fatalf("the app with its managed identity (%s): %q", cred, got)
		}
	}
	// Its token is not the administrator's.
	if got := signIn(r.owner.DisplayName, "mi"); !strings.Contains(got, "password authentication failed") {
		t.Fatalf("the app's token for the administrator's role: %q", got)
	}
	// Entra off: tokens refused.
	cli.must("postgres", "flexible-server", "update", "-g", rg, "-n", name, "--microsoft-entra-auth", "Disabled", "-o", "none")
	if got := signIn(app, "mi"); !strings.Contains(got, "password authentication failed") {
		t.Fatalf("with Entra authentication disabled: %q", got)
	}
	cli.must("postgres", "flexible-server", "update", "-g", rg, "-n", name, "--microsoft-entra-auth", "Enabled", "-o", "none")
	cli.must("postgres", "flexible-server", "microsoft-entra-admin", "delete", "-g", rg, "-s", name, "-i", ownerOID, "--yes")
	if _, err := psql(r.owner.DisplayName, adminToken, "SELECT 1"); err == nil {
		t.Fatal("the deleted administrator still signs in")
	}
}
