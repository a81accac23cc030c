package store

import (
	"strings"
	"testing"
	"time"
)

// TestMigration27_RebuildsSitesKeepingEverything: migration 0027 rebuilds
// the sites table (the plan's group gets a column of its own). Every child
// table names sites in a foreign key with ON DELETE CASCADE, so a rebuild
// run with foreign keys on would empty them all; a database that version 26
// left keeps its sites, slots, settings, host names, identities and
// deployments, the system-identity trigger still works, and foreign keys
// are on again afterwards.
func TestMigration27_RebuildsSitesKeepingEverything(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	db, exec := dbAtVersion(t, dir, 26)
	now := toUnix(time.Now())
	exec(`INSERT INTO resource_groups (name, location, created) VALUES ('rg', 'westeurope', ?)`, now)
	exec(`INSERT INTO plans (resource_group, name, location, sku_name, sku_tier, sku_capacity, linux, created)
		VALUES ('rg', 'plan', 'westeurope', 'S1', 'Standard', 1, 1, ?)`, now)
	exec(`INSERT INTO sites (name, resource_group, plan, location, created, modified, publishing_user, publishing_password,
		linux_fx_version, cors, min_tls_cipher_suite)
		VALUES ('app', 'rg', 'plan', 'westeurope', ?, ?, '$app', x'00', 'PYTHON|3.12', '{"allowedOrigins":["https://a.example"]}', 'TLS_AES_128_GCM_SHA256')`, now, now)
	exec(`INSERT INTO sites (name, resource_group, plan, location, created, modified, publishing_user, publishing_password, slot_of, slot_name)
		VALUES ('app-staging', 'rg', 'plan', 'westeurope', ?, ?, '$app__staging', x'00', 'app', 'staging')`, now, now)
	exec(`INSERT INTO app_settings (site, name, value) VALUES ('app', 'K', x'01'), ('app-staging', 'K', x'02')`)
	exec(`INSERT INTO connection_strings (site, name, type, value) VALUES ('app', 'db', 'Custom', x'03')`)
	exec(`INSERT INTO host_name_bindings (host_name, site, created) VALUES ('www.example.com', 'app', ?)`, now)
	exec(`INSERT INTO deployments (id, site, resource_group, status, active) VALUES ('d1', 'app', 'rg', 4, 1)`)
	exec(`INSERT INTO principals (object_id, app_id, kind, display_name, resource_id, created)
		VALUES ('00000000-0000-0000-0000-0000000000aa', 'c', 'SystemAssigned', 'app', '/subscriptions/x/resourceGroups/rg/providers/Microsoft.Web/sites/app', ?)`, now)
	db.Close()

	s, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatalf("Open migrating from version 26: %v", err)
	}
	defer s.Close()
	app, err := s.Site(ctx, "rg", "app")
	if err != nil {
		t.Fatal(err)
	}
	if app.Plan != "plan" || app.PlanGroup != "" || app.PlanResourceGroup() != "rg" || app.Config.LinuxFxVersion != "PYTHON|3.12" ||
		len(app.CORS.AllowedOrigins) != 1 || app.Config.MinTLSCipherSuite != "TLS_AES_128_GCM_SHA256" {
		t.Errorf("app after the migration: %+v", app)
	}
	if slot, err := s.Slot(ctx, "rg", "app", "staging"); err != nil || slot.SlotOf != "app" || slot.PlanResourceGroup() != "rg" {
		t.Errorf("slot after the migration: %+v, %v", slot, err)
	}
	count := func(q string) int {
		t.Helper()
		var n int
		if err := s.read.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for q, want := range map[string]int{
		`SELECT count(*) FROM app_settings`:                             2,
		`SELECT count(*) FROM connection_strings`:                       1,
		`SELECT count(*) FROM host_name_bindings`:                       1,
		`SELECT count(*) FROM deployments`:                              1,
		`SELECT count(*) FROM principals WHERE kind = 'SystemAssigned'`: 1,
	} {
		if got := count(q); got != want {
			t.Errorf("%s = %d after the migration; want %d", q, got, want)
		}
	}
	var fk int
	if err := s.write.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign keys after migrating: %d, %v; want on", fk, err)
	}
	// The keys and the trigger point at the new table: deleting the app
	// takes its slot, settings, host names, deployments and identity.
	if _, err := s.write.ExecContext(ctx, `DELETE FROM sites WHERE name = 'app'`); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"sites", "app_settings", "connection_strings", "host_name_bindings", "deployments", "principals WHERE kind = 'SystemAssigned'"} {
		if got := count(`SELECT count(*) FROM ` + table); got != 0 {
			t.Errorf("%s has %d rows after the app was deleted; want 0", table, got)
		}
	}
	// A site naming a plan that does not exist is refused by the new key.
	_, err = s.write.ExecContext(ctx, `INSERT INTO sites (name, resource_group, plan, plan_resource_group, location, created, modified, publishing_user, publishing_password)
		VALUES ('x', 'rg', 'nope', 'rg', 'westeurope', 0, 0, '$x', x'00')`)
	if err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Errorf("a site on a missing plan: %v; want a foreign key failure", err)
	}
}
