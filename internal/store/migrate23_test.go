package store

import (
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"
)

// TestMigration23_KeepsDeploymentsAndLogs: migration 0023 rebuilds the
// deployment tables (ids unique per site). A database that version 22 left
// keeps every deployment, in its order, with its log entries and their
// details, each under its own site.
func TestMigration23_KeepsDeploymentsAndLogs(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	db, exec := dbAtVersion(t, dir, 22)
	now := toUnix(time.Now())
	exec(`INSERT INTO resource_groups (name, location, created) VALUES ('rg', 'westeurope', ?)`, now)
	exec(`INSERT INTO plans (resource_group, name, location, sku_name, sku_tier, sku_capacity, linux, created)
		VALUES ('rg', 'plan', 'westeurope', 'B1', 'Basic', 1, 1, ?)`, now)
	for _, site := range []string{"app", "other"} {
		exec(`INSERT INTO sites (name, resource_group, plan, location, created, modified, publishing_user, publishing_password)
			VALUES (?, 'rg', 'plan', 'westeurope', ?, ?, ?, x'00')`, site, now, now, "$"+site)
	}
	// Two deployments of app (the second active) and one of other.
	for i, d := range [][2]string{{"a1", "app"}, {"o1", "other"}, {"a2", "app"}} {
		exec(`INSERT INTO deployments (id, site, resource_group, status, message, received_time, active) VALUES (?, ?, 'rg', 4, ?, ?, ?)`,
			d[0], d[1], "deployment "+d[0], now+int64(i), map[bool]int{true: 1}[d[0] == "a2"])
		for j := range 2 {
			entry := fmt.Sprintf("%s-e%d", d[0], j)
			exec(`INSERT INTO deployment_log (deployment_id, id, time, message, type) VALUES (?, ?, ?, ?, 0)`, d[0], entry, now, "entry "+entry)
			for k := range 2 {
				exec(`INSERT INTO deployment_log_details (deployment_id, entry_id, text, time) VALUES (?, ?, ?, ?)`,
					d[0], entry, fmt.Sprintf("%s line %d\n", entry, k), now+int64(k)*int64(time.Second))
			}
		}
	}
	db.Close()

	s, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatalf("Open migrating from version 22: %v", err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(ctx); err != nil || v < 23 {
		t.Fatalf("schema version %d, %v", v, err)
	}
	for site, want := range map[string][]string{"app": {"a2", "a1"}, "other": {"o1"}} {
		ds, err := s.ListDeployments(ctx, site)
		if err != nil || len(ds) != len(want) {
			t.Fatalf("%s's deployments after the migration: %+v, %v; want %v", site, ds, err, want)
		}
		for i, d := range ds {
			if d.ID != want[i] || d.Site != site || d.Message != "deployment "+want[i] || d.Active != (d.ID == "a2") {
				t.Errorf("%s's deployment %d after the migration = %+v; want %s", site, i, d, want[i])
			}
			log, err := s.DeploymentLog(ctx, site, d.ID)
			if err != nil || len(log) != 2 {
				t.Fatalf("log of %s/%s: %+v, %v", site, d.ID, log, err)
			}
			for j, e := range log {
				entry := fmt.Sprintf("%s-e%d", d.ID, j)
				if e.ID != entry || e.Details != entry+" line 0\n"+entry+" line 1\n" {
					t.Errorf("log entry %d of %s/%s = %+v", j, site, d.ID, e)
				}
			}
			lines, err := s.DeploymentLogLines(ctx, site, d.ID, d.ID+"-e1")
			if err != nil || len(lines) != 2 || !lines[1].Time.Equal(fromUnix(now+int64(time.Second))) {
				t.Errorf("lines of %s/%s-e1 = %+v, %v; want two, the second at its own time", site, d.ID, lines, err)
			}
		}
	}
	// The cascade follows the new keys: deleting a site takes its
	// deployments and logs, and leaves the other's.
	if _, err := s.write.ExecContext(ctx, `DELETE FROM sites WHERE name = 'other'`); err != nil {
		t.Fatal(err)
	}
	var logs, details int
	s.read.QueryRowContext(ctx, `SELECT count(*) FROM deployment_log`).Scan(&logs)
	s.read.QueryRowContext(ctx, `SELECT count(*) FROM deployment_log_details`).Scan(&details)
	if logs != 4 || details != 8 {
		t.Errorf("after deleting a site: %d log entries and %d details rows; want app's 4 and 8", logs, details)
	}
}

// dbAtVersion makes the database of a data directory dir as the given
// schema version left it (migrations 1 to version applied), for a test to
// fill before Open migrates it on. exec runs a statement on it or fails
// the test; close the database before Open.
func dbAtVersion(t *testing.T, dir string, version int) (*sql.DB, func(q string, args ...any)) {
	t.Helper()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	u := url.URL{Scheme: "file", Path: filepath.Join(dir, "slipway.db"), RawQuery: "_foreign_keys=1"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(t.Context(), q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, m := range ms[:version] {
		exec(m.sql)
	}
	exec(fmt.Sprintf("PRAGMA user_version = %d", version))
	return db, exec
}
