package arm

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway"
)

// fakePostgres stands in for the backend that runs the servers
// (internal/pgflex, a separate package whose own tests and the server's
// end-to-end test run real PostgreSQL): it records what it was asked.
type fakePostgres struct {
	fakeBackend[fakePGServer]
	passwords []string // every password given, to look for them elsewhere
}

type fakePGServer struct {
	login, password string
	running         bool
	dbs             []string
	rules           []PostgresFirewallRule
	auth            PostgresAuthConfig
	admins          map[string]string // object id → role
}

var _ PostgresServers = (*fakePostgres)(nil)

func newFakePostgres() *fakePostgres {
	return &fakePostgres{fakeBackend: fakeBackend[fakePGServer]{items: map[string]*fakePGServer{}}}
}

func (f *fakePostgres) CreateServer(_ context.Context, name, login, password string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.passwords = append(f.passwords, password)
	if err := f.call("create %s %s", name, login); err != nil {
		return "", err
	}
	if _, ok := f.items[name]; ok {
		return "", errors.New("exists")
	}
	f.items[name] = &fakePGServer{login: login, password: password, running: true, dbs: []string{"postgres"}}
	return "15", nil
}

func (f *fakePostgres) SetAdminPassword(_ context.Context, name, login, password string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.passwords = append(f.passwords, password)
	if err := f.call("password %s %s", name, login); err != nil {
		return err
	}
	s, ok := f.items[name]
	if !ok || s.login != login {
		return errors.New("no such server or login")
	}
	s.password = password
	return nil
}

func (f *fakePostgres) DeleteServer(_ context.Context, name string) error { return f.remove(name) }

func (f *fakePostgres) StartServer(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("start %s", name); err != nil {
		return err
	}
	f.items[name].running = true
	return nil
}

func (f *fakePostgres) StopServer(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("stop %s", name); err != nil {
		return err
	}
	f.items[name].running = false
	return nil
}

func (f *fakePostgres) CreateDatabase(_ context.Context, server, db, charset, collation string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("createdb %s %s %s %s", server, db, charset, collation); err != nil {
		return err
	}
	s := f.items[server]
	if !slices.Contains(s.dbs, db) {
		s.dbs = append(s.dbs, db)
	}
	return nil
}

func (f *fakePostgres) DeleteDatabase(_ context.Context, server, db string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("dropdb %s %s", server, db); err != nil {
		return err
	}
	s := f.items[server]
	s.dbs = slices.DeleteFunc(s.dbs, func(d string) bool { return d == db })
	return nil
}

func (f *fakePostgres) SetFirewallRules(server string, rules []PostgresFirewallRule) {
	f.rules(server, len(rules), func(s *fakePGServer) { s.rules = slices.Clone(rules) })
}

// SetAuthConfig is kept on the server, not among the calls: every
// create and update sets it.
func (f *fakePostgres) SetAuthConfig(server string, a PostgresAuthConfig) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.items[server]; ok {
		s.auth = a
	}
}

func (f *fakePostgres) AddEntraAdmin(_ context.Context, server string, p PostgresEntraPrincipal) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("entra-admin %s %s %s %s", server, p.Name, p.ObjectID, p.Type); err != nil {
		return err
	}
	s := f.items[server]
	if s.admins == nil {
		s.admins = map[string]string{}
	}
	s.admins[p.ObjectID] = p.Name
	return nil
}

func (f *fakePostgres) RemoveEntraAdmin(_ context.Context, server, objectID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("drop-entra-admin %s %s", server, objectID); err != nil {
		return err
	}
	delete(f.items[server].admins, objectID)
	return nil
}

func (f *fakePostgres) server(name string) (fakePGServer, bool) { return f.item(name) }

// pgEnv is newEnv with a fake backend and group rg.
func pgEnv(t *testing.T) *env {
	t.Helper()
	pg := newFakePostgres()
	e := backendEnv(t, func(c *Config) { c.Postgres = pg })
	e.pg = pg
	return e
}

const (
	pgAPI      = "?api-version=2026-04-01-preview"
	pgPath     = "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers"
	pgPassword = "Slipway-Pg-Secret-1"
)

// pgCreateBody is what az postgres flexible-server create sends (the
// Server model of _create_server), with the given name's password.
func pgCreateBody(password string) string {
	return `{"location":"westeurope","sku":{"name":"Standard_B1ms","tier":"Burstable"},
		"properties":{"administratorLogin":"myadmin","administratorLoginPassword":"` + password + `","version":"16",
		"storage":{"storageSizeGB":32},"backup":{"geoRedundantBackup":"Disabled"},"network":{"publicNetworkAccess":"Enabled"},
		"highAvailability":{"mode":"Disabled"},"authConfig":{"activeDirectoryAuth":"Disabled","passwordAuth":"Enabled"},"createMode":"Create"}}`
}

// accepted checks a 202 as az's SDK needs it and polls its status.
func (e *env) accepted(r response) {
	e.t.Helper()
	if r.status != 202 {
		e.t.Fatalf("status %d, want 202\n%s", r.status, r.body)
	}
	op := r.header.Get("Azure-AsyncOperation")
	if op == "" || r.header.Get("Location") == "" || r.header.Get("Retry-After") == "" {
		e.t.Fatalf("202 headers: %v", r.header)
	}
	p := strings.TrimPrefix(op, e.srv.URL)
	if got := e.must(200, "GET", p, "").json(e.t); got["status"] != "Succeeded" {
		e.t.Fatalf("GET %s = %v", p, got)
	}
}

// TestPostgresServer_Lifecycle: what az postgres flexible-server create,
// show, list, update --admin-password, stop, start, restart and delete
// send, with Azure's shapes; the backend is asked for each.
func TestPostgresServer_Lifecycle(t *testing.T) {
	e := pgEnv(t)
	e.must(404, "GET", pgPath+"/pg1"+pgAPI, "")
	e.accepted(e.do("PUT", pgPath+"/pg1"+pgAPI, pgCreateBody(pgPassword)))
	if s, ok := e.pg.server("pg1"); !ok || s.login != "myadmin" || s.password != pgPassword || !s.running {
		t.Fatalf("backend server = %+v, %v", s, ok)
	}
	got := e.must(200, "GET", pgPath+"/pg1"+pgAPI, "").json(t)
	props := got["properties"].(map[string]any)
	sku := got["sku"].(map[string]any)
	if got["id"] != e.path(pgPath+"/pg1") || got["type"] != "Microsoft.DBforPostgreSQL/flexibleServers" || got["location"] != "West Europe" ||
		sku["name"] != "Standard_B1ms" || sku["tier"] != "Burstable" ||
		props["fullyQualifiedDomainName"] != "pg1.postgres.database.azure.com" || props["state"] != "Ready" ||
		props["version"] != "15" || props["administratorLogin"] != "myadmin" ||
		props["storage"].(map[string]any)["storageSizeGB"] != float64(32) ||
		props["network"].(map[string]any)["publicNetworkAccess"] != "Enabled" {
		t.Fatalf("GET = %v", got)
	}
	// The server's postgres database is listed, as the backend has it.
	dbs := e.must(200, "GET", pgPath+"/pg1/databases"+pgAPI, "").json(t)["value"].([]any)
	if len(dbs) != 1 || dbs[0].(map[string]any)["name"] != "postgres" {
		t.Fatalf("databases = %v", dbs)
	}
	for _, p := range []string{pgPath, "/subscriptions/{s}/providers/Microsoft.DBforPostgreSQL/flexibleServers"} {
		if l := e.must(200, "GET", p+pgAPI, "").json(t)["value"].([]any); len(l) != 1 || l[0].(map[string]any)["name"] != "pg1" {
			t.Fatalf("GET %s = %v", p, l)
		}
	}

	// update --admin-password: a PATCH echoing the server with the new password.
	const newPassword = "Another-Secret-22"
	e.accepted(e.do("PATCH", pgPath+"/pg1"+pgAPI, `{"sku":{"name":"Standard_B1ms","tier":"Burstable"},"storage":{"storageSizeGB":32},
		"properties":{"administratorLogin":"myadmin","administratorLoginPassword":"`+newPassword+`","network":{"publicNetworkAccess":"Enabled"},
		"maintenanceWindow":{"customWindow":"Disabled","dayOfWeek":0,"startHour":0,"startMinute":0},"authConfig":{"activeDirectoryAuth":"Disabled","passwordAuth":"Enabled"}},"tags":{"env":"dev"}}`))
	if s, _ := e.pg.server("pg1"); s.password != newPassword {
		t.Fatalf("password not changed: %+v", s)
	}
	if tags := e.must(200, "GET", pgPath+"/pg1"+pgAPI, "").json(t)["tags"].(map[string]any); tags["env"] != "dev" {
		t.Fatalf("tags = %v", tags)
	}

	e.accepted(e.do("POST", pgPath+"/pg1/stop"+pgAPI, ""))
	if s, _ := e.pg.server("pg1"); s.running {
		t.Fatal("stop did not stop the backend")
	}
	if st := e.must(200, "GET", pgPath+"/pg1"+pgAPI, "").json(t)["properties"].(map[string]any)["state"]; st != "Stopped" {
		t.Fatalf("state after stop = %v", st)
	}
	if r := e.do("PUT", pgPath+"/pg1/databases/app"+pgAPI, `{"properties":{"charset":"utf8","collation":"en_US.utf8"}}`); r.status != 409 || !strings.Contains(string(r.body), "ServerIsStopped") {
		t.Fatalf("db create on a stopped server: %d %s", r.status, r.body)
	}
	e.accepted(e.do("POST", pgPath+"/pg1/start"+pgAPI, ""))
	e.accepted(e.do("POST", pgPath+"/pg1/restart"+pgAPI, ""))
	if s, _ := e.pg.server("pg1"); !s.running {
		t.Fatal("start did not start the backend")
	}

	e.accepted(e.do("DELETE", pgPath+"/pg1"+pgAPI, ""))
	if _, ok := e.pg.server("pg1"); ok {
		t.Fatal("delete did not delete the backend's server")
	}
	e.must(404, "GET", pgPath+"/pg1"+pgAPI, "")
	e.must(204, "DELETE", pgPath+"/pg1"+pgAPI, "")
	// The name is free again.
	e.accepted(e.do("PUT", pgPath+"/pg1"+pgAPI, pgCreateBody(pgPassword)))
}

// TestPostgresDatabasesAndFirewallRules: db create|show|list|delete and
// firewall-rule create|list|delete; the backend gets every rule set.
func TestPostgresDatabasesAndFirewallRules(t *testing.T) {
	e := pgEnv(t)
	e.accepted(e.do("PUT", pgPath+"/pg1"+pgAPI, pgCreateBody(pgPassword)))
	e.accepted(e.do("PUT", pgPath+"/pg1/databases/app"+pgAPI, `{"properties":{"charset":"utf8","collation":"en_US.utf8"}}`))
	d := e.must(200, "GET", pgPath+"/pg1/databases/app"+pgAPI, "").json(t)
	if d["id"] != e.path(pgPath+"/pg1/databases/app") || d["properties"].(map[string]any)["charset"] != "utf8" {
		t.Fatalf("db = %v", d)
	}
	if s, _ := e.pg.server("pg1"); !slices.Contains(s.dbs, "app") {
		t.Fatalf("backend dbs = %v", s.dbs)
	}
	e.must(400, "PUT", pgPath+"/pg1/databases/1bad"+pgAPI, `{}`)
	e.accepted(e.do("DELETE", pgPath+"/pg1/databases/app"+pgAPI, ""))
	e.must(404, "GET", pgPath+"/pg1/databases/app"+pgAPI, "")
	e.must(204, "DELETE", pgPath+"/pg1/databases/app"+pgAPI, "")
	if s, _ := e.pg.server("pg1"); slices.Contains(s.dbs, "app") {
		t.Fatalf("backend dbs after delete = %v", s.dbs)
	}

	e.accepted(e.do("PUT", pgPath+"/pg1/firewallRules/AllowAllAzureServicesAndResourcesWithinAzureIps_1"+pgAPI,
		`{"properties":{"startIpAddress":"0.0.0.0","endIpAddress":"0.0.0.0"}}`))
	e.accepted(e.do("PUT", pgPath+"/pg1/firewallRules/office"+pgAPI, `{"properties":{"startIpAddress":"203.0.113.1","endIpAddress":"203.0.113.9"}}`))
	s, _ := e.pg.server("pg1")
	want := []PostgresFirewallRule{{Start: netip.MustParseAddr("0.0.0.0"), End: netip.MustParseAddr("0.0.0.0")}, {Start: netip.MustParseAddr("203.0.113.1"), End: netip.MustParseAddr("203.0.113.9")}}
	if !slices.Equal(s.rules, want) {
		t.Fatalf("backend rules = %v, want %v", s.rules, want)
	}
	if l := e.must(200, "GET", pgPath+"/pg1/firewallRules"+pgAPI, "").json(t)["value"].([]any); len(l) != 2 {
		t.Fatalf("rules = %v", l)
	}
	for _, body := range []string{
		`{"properties":{"startIpAddress":"203.0.113.9","endIpAddress":"203.0.113.1"}}`,
		`{"properties":{"startIpAddress":"::1","endIpAddress":"::1"}}`,
		`{"properties":{"startIpAddress":"nope","endIpAddress":"1.2.3.4"}}`,
	} {
		e.must(400, "PUT", pgPath+"/pg1/firewallRules/bad"+pgAPI, body)
	}
	e.accepted(e.do("DELETE", pgPath+"/pg1/firewallRules/office"+pgAPI, ""))
	if s, _ := e.pg.server("pg1"); len(s.rules) != 1 {
		t.Fatalf("backend rules after delete = %v", s.rules)
	}
	e.must(404, "GET", pgPath+"/pg1/firewallRules/office"+pgAPI, "")

	// What the backend's wiring reads at start.
	states, err := e.store.PostgresServers(t.Context())
	if err != nil || len(states) != 1 || states[0].Name != "pg1" || states[0].Stopped || len(states[0].Rules) != 1 {
		t.Fatalf("PostgresServers = %+v, %v", states, err)
	}
}

// TestPostgresValidation: names, logins, passwords, SKUs and the
// features Slipway does not have are refused before the backend is
// asked, with what to do.
func TestPostgresValidation(t *testing.T) {
	e := pgEnv(t)
	good := pgCreateBody(pgPassword)
	for _, c := range []struct {
		name, body, want string
	}{
		{"ab", good, "3 to 63"},
		{"-pg", good, "3 to 63"},
		{"pg-", good, "3 to 63"},
		{"Pg1", good, "lower-case"},
		{strings.Repeat("a", 64), good, "3 to 63"},
		{"pg1", strings.Replace(good, `"myadmin"`, `"azure_superuser"`, 1), "reserved"},
		{"pg1", strings.Replace(good, `"myadmin"`, `"Admin"`, 1), "reserved"},
		{"pg1", strings.Replace(good, `"myadmin"`, `"pg_owner"`, 1), "reserved"},
		// The platform's superuser in each cluster, and PostgreSQL's
		// usual one, which the backend refuses: a 400, not an internal
		// error after the record was made.
		{"pg1", strings.Replace(good, `"myadmin"`, `"azuresu"`, 1), "reserved"},
		{"pg1", strings.Replace(good, `"myadmin"`, `"AzureSU"`, 1), "reserved"},
		{"pg1", strings.Replace(good, `"myadmin"`, `"postgres"`, 1), "reserved"},
		{"pg1", pgCreateBody("short1A"), "8 to 128"},
		{"pg1", pgCreateBody("alllowercase1"), "three of the following"},
		{"pg1", pgCreateBody("Xmyadmin-123"), "login name"},
		{"pg1", pgCreateBody(strings.Repeat("Aa1", 43)), "8 to 128"},
		{"pg1", strings.Replace(good, "Standard_B1ms", "Standard_D2s_v3", 1), "not available in the Burstable tier"},
		{"pg1", strings.Replace(good, `"version":"16"`, `"version":"9"`, 1), "version"},
		{"pg1", strings.Replace(good, `"storageSizeGB":32`, `"storageSizeGB":33`, 1), "storage size"},
		{"pg1", strings.Replace(good, `"mode":"Disabled"`, `"mode":"ZoneRedundant"`, 1), "high availability"},
		{"pg1", strings.Replace(good, `"geoRedundantBackup":"Disabled"`, `"geoRedundantBackup":"Enabled"`, 1), "geo-redundant"},
		{"pg1", strings.Replace(good, `"publicNetworkAccess":"Enabled"`, `"delegatedSubnetResourceId":"/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s"`, 1), "private access"},
		{"pg1", strings.Replace(good, `"publicNetworkAccess":"Enabled"`, `"publicNetworkAccess":"Disabled"`, 1), "publicNetworkAccess"},
		{"pg1", strings.Replace(good, `"passwordAuth":"Enabled"`, `"passwordAuth":"Disabled"`, 1), "cannot both be disabled"},
		{"pg1", strings.Replace(good, `"passwordAuth":"Enabled"`, `"passwordAuth":"Sometimes"`, 1), "Allowed values: Enabled, Disabled"},
		{"pg1", strings.Replace(good, `"activeDirectoryAuth":"Disabled"`, `"activeDirectoryAuth":"Enabled","tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47"`, 1), "not this Slipway's"},
		{"pg1", strings.Replace(good, `"createMode":"Create"`, `"createMode":"PointInTimeRestore"`, 1), "createMode"},
		{"pg1", `{"location":"westeurope","properties":{"administratorLogin":"myadmin"}}`, "administratorLoginPassword"},
	} {
		r := e.do("PUT", pgPath+"/"+c.name+pgAPI, c.body)
		if r.status != 400 || !strings.Contains(string(r.body), c.want) {
			t.Errorf("PUT %s %.80s: %d %s; want 400 saying %q", c.name, c.body, r.status, r.body, c.want)
		}
	}
	if calls := e.pg.Calls(); len(calls) != 0 {
		t.Errorf("the backend was asked: %v", calls)
	}
	// The SKU az's create names by default elsewhere.
	e.accepted(e.do("PUT", pgPath+"/pg-gp"+pgAPI, strings.Replace(strings.Replace(good, "Standard_B1ms", "Standard_D2ds_v4", 1), "Burstable", "GeneralPurpose", 1)))
	// Storage never shrinks.
	if r := e.do("PATCH", pgPath+"/pg-gp"+pgAPI, `{"properties":{"storage":{"storageSizeGB":32}}}`); r.status != 200 && r.status != 202 {
		t.Fatalf("same storage: %d %s", r.status, r.body)
	}
	e.accepted(e.do("PATCH", pgPath+"/pg-gp"+pgAPI, `{"properties":{"storage":{"storageSizeGB":64}}}`))
	if r := e.do("PATCH", pgPath+"/pg-gp"+pgAPI, `{"properties":{"storage":{"storageSizeGB":32}}}`); r.status != 400 || !strings.Contains(string(r.body), "Decreasing") {
		t.Fatalf("shrink: %d %s", r.status, r.body)
	}
}

// TestPostgresBackendFailureLeavesNothing: a create the backend fails is
// answered with an error, and neither record nor name stays.
func TestPostgresBackendFailureLeavesNothing(t *testing.T) {
	e := pgEnv(t)
	e.pg.failNext = errors.New("initdb failed")
	if r := e.do("PUT", pgPath+"/pg1"+pgAPI, pgCreateBody(pgPassword)); r.status != 500 {
		t.Fatalf("failed create: %d %s", r.status, r.body)
	}
	e.must(404, "GET", pgPath+"/pg1"+pgAPI, "")
	if taken, _ := e.store.PostgresServerNameTaken(t.Context(), "pg1"); taken {
		t.Fatal("the name stays taken")
	}
	e.accepted(e.do("PUT", pgPath+"/pg1"+pgAPI, pgCreateBody(pgPassword)))
}

// TestPostgresBusyWhileCreated: a server whose creation is under way (its
// record made, the backend not done) shows Provisioning and refuses
// changes rather than ask the backend of a server it has not made.
func TestPostgresBusyWhileCreated(t *testing.T) {
	e := pgEnv(t)
	if _, err := e.store.CreatePostgresServer(t.Context(), slipway.PostgresServer{ResourceGroup: "rg", Name: "pg1", SKUName: "Standard_B1ms", SKUTier: "Burstable",
		AdministratorLogin: "myadmin", StorageGB: 32, BackupRetentionDays: 7}); err != nil {
		t.Fatal(err)
	}
	if st := e.must(200, "GET", pgPath+"/pg1"+pgAPI, "").json(t)["properties"].(map[string]any)["state"]; st != "Provisioning" {
		t.Fatalf("state = %v", st)
	}
	for _, c := range []struct{ method, p, body string }{
		{"PATCH", pgPath + "/pg1" + pgAPI, `{"properties":{"administratorLoginPassword":"` + pgPassword + `"}}`},
		{"PUT", pgPath + "/pg1" + pgAPI, pgCreateBody(pgPassword)},
		{"POST", pgPath + "/pg1/stop" + pgAPI, ""},
		{"PUT", pgPath + "/pg1/databases/app" + pgAPI, `{}`},
	} {
		if r := e.do(c.method, c.p, c.body); r.status != 409 || !strings.Contains(string(r.body), "ConflictingServerOperation") {
			t.Errorf("%s %s: %d %s", c.method, c.p, r.status, r.body)
		}
	}
	if calls := e.pg.Calls(); len(calls) != 0 {
		t.Errorf("the backend was asked: %v", calls)
	}
}

// TestPostgresCapabilitiesAndNames: what az reads before a create.
func TestPostgresCapabilitiesAndNames(t *testing.T) {
	e := pgEnv(t)
	c := e.must(200, "GET", "/subscriptions/{s}/providers/Microsoft.DBforPostgreSQL/locations/westeurope/capabilities"+pgAPI, "").json(t)
	v := c["value"].([]any)[0].(map[string]any)
	if !strings.Contains(fmt.Sprint(v["supportedFeatures"]), "name:OfferRestricted status:Disabled") ||
		len(v["supportedServerEditions"].([]any)) != 3 || len(v["supportedServerVersions"].([]any)) != len(postgresVersions) {
		t.Fatalf("capabilities = %v", v)
	}
	check := func(p, name string) map[string]any {
		return e.must(200, "POST", p+pgAPI, `{"name":"`+name+`","type":"Microsoft.DBforPostgreSQL/flexibleServers"}`).json(t)
	}
	for _, p := range []string{"/subscriptions/{s}/providers/Microsoft.DBforPostgreSQL/checkNameAvailability",
		"/subscriptions/{s}/providers/Microsoft.DBforPostgreSQL/locations/westeurope/checkNameAvailability"} {
		if got := check(p, "pg1"); got["nameAvailable"] != true {
			t.Fatalf("%s pg1 = %v", p, got)
		}
		if got := check(p, "Bad_Name"); got["nameAvailable"] != false || got["reason"] != "Invalid" {
			t.Fatalf("%s Bad_Name = %v", p, got)
		}
	}
	e.accepted(e.do("PUT", pgPath+"/pg1"+pgAPI, pgCreateBody(pgPassword)))
	if got := check("/subscriptions/{s}/providers/Microsoft.DBforPostgreSQL/locations/westeurope/checkNameAvailability", "pg1"); got["nameAvailable"] != false || got["reason"] != "AlreadyExists" {
		t.Fatalf("taken pg1 = %v", got)
	}
}

// TestAttack_PostgresOperationOfAnotherServer: an operation's status is
// read under its own server only.
func TestAttack_PostgresOperationOfAnotherServer(t *testing.T) {
	e := pgEnv(t)
	e.accepted(e.do("PUT", pgPath+"/victim"+pgAPI, pgCreateBody(pgPassword)))
	r := e.do("PUT", pgPath+"/mine"+pgAPI, pgCreateBody(pgPassword))
	op := strings.TrimPrefix(r.header.Get("Azure-AsyncOperation"), e.srv.URL)
	if r.status != 202 || op == "" {
		t.Fatalf("own create: %d %s", r.status, r.body)
	}
	e.must(200, "GET", op, "")
	e.must(404, "GET", strings.Replace(op, e.path(pgPath+"/mine"), e.path(pgPath+"/victim"), 1), "")
	e.must(404, "GET", strings.Replace(op, "operationStatuses/", "operationStatuses/0", 1), "")
}

// TestAttack_PostgresAcrossGroups: a principal with roles on rg only
// neither reads, changes, deletes nor polls other's server, nor takes its
// name in its own group; and the password is in no answer nor in the
// store's files.
func TestAttack_PostgresAcrossGroups(t *testing.T) {
	e, call := scopeEnv(t)
	otherPG := otherRG + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/victimdb"
	if s, b := call("", "PUT", otherPG, pgCreateBody(pgPassword)); s != 202 {
		t.Fatalf("seed: %d %s", s, b)
	}
	wantAllDenied(t, call, otherPG, []deniedCall{
		{"GET", otherPG, ""},
		{"PATCH", otherPG, `{"properties":{"administratorLoginPassword":"Stolen-Pass-99"}}`},
		{"PUT", otherPG, pgCreateBody("Stolen-Pass-99")},
		{"DELETE", otherPG, ""},
		{"POST", otherPG + "/stop", ""},
		{"GET", otherPG + "/databases", ""},
		{"PUT", otherPG + "/databases/loot", `{}`},
		{"PUT", otherPG + "/firewallRules/all", `{"properties":{"startIpAddress":"0.0.0.0","endIpAddress":"255.255.255.255"}}`},
		{"GET", otherPG + "/firewallRules", ""},
	}, "/subscriptions/{s}/providers/Microsoft.DBforPostgreSQL/flexibleServers", "victimdb")
	if s, _ := e.pg.server("victimdb"); s.password != pgPassword || !s.running || len(s.rules) != 0 {
		t.Errorf("victim's server changed: %+v", s)
	}
	// The name is other's: rg's Contributor cannot have it in rg.
	s, b := call(principal1, "PUT", pgPath+"/victimdb", pgCreateBody("Yours-Pass-123"))
	if s != 409 || !strings.Contains(b, "already in use") {
		t.Errorf("rg's contributor takes other's server name: %d %s", s, b)
	}
	if s, b := call("", "PUT", pgPath+"/mine", pgCreateBody(pgPassword)); s != 202 {
		t.Fatalf("own create: %d %s", s, b)
	}
	// A Contributor of rg only creates a server there as az does: the
	// location's capabilities and name check first. Who holds no role
	// in the subscription may not even look.
	caps := "/subscriptions/{s}/providers/Microsoft.DBforPostgreSQL/locations/westeurope/capabilities"
	check := "/subscriptions/{s}/providers/Microsoft.DBforPostgreSQL/locations/westeurope/checkNameAvailability"
	nameBody := `{"name":"contrib","type":"Microsoft.DBforPostgreSQL/flexibleServers"}`
	if s, b := call(principal1, "GET", caps, ""); s != 200 {
		t.Errorf("rg's contributor reads the capabilities: %d %.300s", s, b)
	}
	if s, b := call(principal1, "POST", check, nameBody); s != 200 || !strings.Contains(b, `"nameAvailable":true`) {
		t.Errorf("rg's contributor checks a name: %d %.300s", s, b)
	}
	if s, b := call(principal1, "PUT", pgPath+"/contrib", pgCreateBody("Yours-Pass-123")); s != 202 {
		t.Errorf("rg's contributor creates a server in rg: %d %.300s", s, b)
	}
	s3, b3 := call(principal3, "GET", caps, "")
	wantDenied(t, "no role: capabilities", s3, b3)
	s3, b3 = call(principal3, "POST", check, nameBody)
	wantDenied(t, "no role: name check", s3, b3)

	// A role is given on a server that exists only.
	if s, b := call("", "PUT", pgPath+"/nope/providers/Microsoft.Authorization/roleAssignments/"+raName6, raBody("{s}", readerID, principal3)); s != 404 {
		t.Errorf("a role on a missing server: %d %s", s, b)
	}
	// az resource list shows the servers.
	if s, b := call("", "GET", otherRG+"/resources", ""); s != 200 || !strings.Contains(b, `"type":"Microsoft.DBforPostgreSQL/flexibleServers"`) {
		t.Errorf("resources of other: %d %s", s, b)
	}

	// The password is in no answer and in none of the store's files.
	for _, p := range []string{otherPG, pgPath + "/mine", "/subscriptions/{s}/providers/Microsoft.DBforPostgreSQL/flexibleServers", otherRG + "/resources"} {
		if s, b := call("", "GET", p, ""); strings.Contains(b, pgPassword) || s != 200 {
			t.Errorf("GET %s: %d, password in %s", p, s, b)
		}
	}
	if len(e.pg.passwords) == 0 {
		t.Fatal("no password reached the backend")
	}
	noneInFiles(t, e.dir, e.pg.passwords)
}

// TestAttack_PostgresSystemDatabases: the server's own databases are
// PostgreSQL's, not the tenant's: template0 and template1 are never made a
// tenant's resource (a record the backend would then refuse to delete), and
// deleting postgres (or a template) is a clear 400 before the backend is
// asked, not an internal error (nor, with a backend that obeyed, the end
// of the database every client connects to first). "Template1" is another
// name, an ordinary database.
func TestAttack_PostgresSystemDatabases(t *testing.T) {
	e := pgEnv(t)
	e.accepted(e.do("PUT", pgPath+"/pg1"+pgAPI, pgCreateBody(pgPassword)))
	for _, db := range []string{"template0", "template1"} {
		r := e.do("PUT", pgPath+"/pg1/databases/"+db+pgAPI, `{"properties":{"charset":"UTF8","collation":"en_US.utf8"}}`)
		if r.status != 400 || !strings.Contains(string(r.body), "system database") {
			t.Errorf("PUT %s: %d %s", db, r.status, r.body)
		}
	}
	before := len(e.pg.Calls())
	for _, db := range []string{"postgres", "template1"} {
		r := e.do("DELETE", pgPath+"/pg1/databases/"+db+pgAPI, "")
		if r.status != 400 || !strings.Contains(string(r.body), "system database") {
			t.Errorf("DELETE %s: %d %s", db, r.status, r.body)
		}
	}
	if calls := e.pg.Calls()[before:]; len(calls) != 0 {
		t.Errorf("the backend was asked: %v", calls)
	}
	e.must(200, "GET", pgPath+"/pg1/databases/postgres"+pgAPI, "")
	e.accepted(e.do("PUT", pgPath+"/pg1/databases/Template1"+pgAPI, `{}`))
	// PUT of postgres, which exists, stays as it is.
	e.accepted(e.do("PUT", pgPath+"/pg1/databases/postgres"+pgAPI, `{"properties":{"charset":"UTF8","collation":"en_US.utf8"}}`))
}

// TestPostgresDatabaseOptionsRefused: a charset or collation the servers do
// not offer is the client's error, a 400 that says what to use, before the
// backend is asked — not an internal error from it.
func TestPostgresDatabaseOptionsRefused(t *testing.T) {
	e := pgEnv(t)
	e.accepted(e.do("PUT", pgPath+"/pg1"+pgAPI, pgCreateBody(pgPassword)))
	before := len(e.pg.Calls())
	for _, props := range []string{
		`{"charset":"LATIN1","collation":"en_US.utf8"}`,
		`{"charset":"UTF8","collation":"fr_FR.latin1"}`,
		`{"charset":"UTF8","collation":"en_US.utf8'; DROP DATABASE postgres; --"}`,
		`{"charset":"UTF8","collation":"Klingon"}`,
	} {
		r := e.do("PUT", pgPath+"/pg1/databases/app"+pgAPI, `{"properties":`+props+`}`)
		if r.status != 400 || !strings.Contains(string(r.body), "UTF") {
			t.Errorf("%s: %d %s", props, r.status, r.body)
		}
	}
	if calls := e.pg.Calls()[before:]; len(calls) != 0 {
		t.Errorf("the backend was asked: %v", calls)
	}
	e.accepted(e.do("PUT", pgPath+"/pg1/databases/app"+pgAPI, `{"properties":{"charset":"utf8","collation":"C"}}`))
}

// TestPostgresEntraAuth: what `az postgres flexible-server update
// --microsoft-entra-auth Enabled|--password-auth Disabled` and
// `microsoft-entra-admin create|list|show|delete` send; the backend is
// given the server's authConfig and its administrators.
func TestPostgresEntraAuth(t *testing.T) {
	e := pgEnv(t)
	e.accepted(e.do("PUT", pgPath+"/pg1"+pgAPI, pgCreateBody(pgPassword)))
	if s, _ := e.pg.server("pg1"); s.auth != (PostgresAuthConfig{Password: true}) {
		t.Fatalf("backend authConfig after create = %+v", s.auth)
	}
	const oid = "3f1c2b3a-1111-4222-8333-944455556666"
	admin := pgPath + "/pg1/administrators/" + oid + pgAPI
	body := `{"properties":{"principalName":"webapp1","principalType":"ServicePrincipal","tenantId":""}}`
	// Not before Entra authentication is on.
	if r := e.do("PUT", admin, body); r.status != 400 || !strings.Contains(string(r.body), "--microsoft-entra-auth Enabled") {
		t.Fatalf("admin with Entra disabled: %d %s", r.status, r.body)
	}
	_, tenant, err := e.store.Identity(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// az's update sends the authConfig it read, changed.
	e.accepted(e.do("PATCH", pgPath+"/pg1"+pgAPI, `{"properties":{"authConfig":{"activeDirectoryAuth":"Enabled","passwordAuth":"Enabled"}}}`))
	ac := e.must(200, "GET", pgPath+"/pg1"+pgAPI, "").json(t)["properties"].(map[string]any)["authConfig"].(map[string]any)
	if ac["activeDirectoryAuth"] != "Enabled" || ac["passwordAuth"] != "Enabled" || ac["tenantId"] != tenant {
		t.Fatalf("authConfig = %v", ac)
	}
	if s, _ := e.pg.server("pg1"); s.auth != (PostgresAuthConfig{Password: true, Entra: true, TenantID: tenant}) {
		t.Fatalf("backend authConfig = %+v", s.auth)
	}
	e.accepted(e.do("PUT", admin, strings.Replace(body, `"tenantId":""`, `"tenantId":"`+tenant+`"`, 1)))
	if s, _ := e.pg.server("pg1"); s.admins[oid] != "webapp1" {
		t.Fatalf("backend admins = %v", s.admins)
	}
	got := e.must(200, "GET", admin, "").json(t)
	props := got["properties"].(map[string]any)
	if got["name"] != oid || got["type"] != "Microsoft.DBforPostgreSQL/flexibleServers/administrators" ||
		props["principalName"] != "webapp1" || props["principalType"] != "ServicePrincipal" || props["objectId"] != oid || props["tenantId"] != tenant {
		t.Fatalf("GET admin = %v", got)
	}
	if l := e.must(200, "GET", pgPath+"/pg1/administrators"+pgAPI, "").json(t)["value"].([]any); len(l) != 1 {
		t.Fatalf("admins = %v", l)
	}
	for _, c := range []struct{ path, body, want string }{
		{pgPath + "/pg1/administrators/not-a-guid" + pgAPI, body, "not a GUID"},
		{pgPath + "/pg1/administrators/" + oid[:35] + "7" + pgAPI, strings.Replace(body, "webapp1", "azuresu", 1), "reserved"},
		{pgPath + "/pg1/administrators/" + oid[:35] + "7" + pgAPI, strings.Replace(body, "webapp1", "pg_signal", 1), "reserved"},
		{pgPath + "/pg1/administrators/" + oid[:35] + "7" + pgAPI, strings.Replace(body, "webapp1", strings.Repeat("x", 64), 1), "1 to 63 bytes"},
		{pgPath + "/pg1/administrators/" + oid[:35] + "7" + pgAPI, strings.Replace(body, "ServicePrincipal", "Robot", 1), "principal type"},
		{pgPath + "/pg1/administrators/" + oid[:35] + "7" + pgAPI, strings.Replace(body, `"tenantId":""`, `"tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47"`, 1), "not this Slipway's"},
	} {
		if r := e.do("PUT", c.path, c.body); r.status != 400 || !strings.Contains(string(r.body), c.want) {
			t.Errorf("PUT %s %s: %d %s; want 400 saying %q", c.path, c.body, r.status, r.body, c.want)
		}
	}
	// Another principal may not take an administrator's name.
	if r := e.do("PUT", pgPath+"/pg1/administrators/"+oid[:35]+"7"+pgAPI, body); r.status != 409 {
		t.Fatalf("a second webapp1: %d %s", r.status, r.body)
	}
	// Passwords off, tokens on; both off is refused.
	e.accepted(e.do("PATCH", pgPath+"/pg1"+pgAPI, `{"properties":{"authConfig":{"passwordAuth":"Disabled"}}}`))
	if s, _ := e.pg.server("pg1"); s.auth.Password || !s.auth.Entra {
		t.Fatalf("backend authConfig = %+v", s.auth)
	}
	if r := e.do("PATCH", pgPath+"/pg1"+pgAPI, `{"properties":{"authConfig":{"activeDirectoryAuth":"Disabled"}}}`); r.status != 400 {
		t.Fatalf("both disabled: %d %s", r.status, r.body)
	}
	e.accepted(e.do("DELETE", admin, ""))
	if s, _ := e.pg.server("pg1"); len(s.admins) != 0 {
		t.Fatalf("backend admins after delete = %v", s.admins)
	}
	e.must(404, "GET", admin, "")
	e.must(204, "DELETE", admin, "")
}
