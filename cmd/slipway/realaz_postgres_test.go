package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

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
