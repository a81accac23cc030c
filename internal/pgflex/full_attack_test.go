package pgflex

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/homefs"
)

// A tenant that fills its server's storage hurts only itself, and not for
// good: the platform can still drop a database, stop and start the
// server, and the administrator can free space and write again.
func TestAttack_FullStorageIsRecoverable(t *testing.T) {
	if ok, why := homefs.Supported(); !ok {
		t.Skip("per-server storage needs loop devices:", why)
	}
	dir := t.TempDir()
	vols, err := homefs.New(homefs.Config{ImageDir: filepath.Join(dir, "images"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vols.Close() })
	e := newEnvWith(t, func(c *Config) { c.Volumes = vols; c.StorageBytes = 96 << 20 })
	ctx := context.Background()
	mustCreate(t, e, "pgt-fill2")
	e.m.SetFirewallRules("pgt-fill2", allowLocal)
	host := "pgt-fill2" + Suffix
	// A running server keeps room aside for its next start.
	if fi, err := os.Stat(filepath.Join(e.m.cfg.Dir, "pgt-fill2", "storage", reserveName)); err != nil || fi.Size() == 0 {
		t.Fatalf("no reserve: %v", err)
	}
	if err := e.m.CreateDatabase(ctx, "pgt-fill2", "spare", "", ""); err != nil {
		t.Fatal(err)
	}
	out, err := psqlAt(t, e.addr, host, "myadmin", adminPW, "postgres",
		"CREATE TABLE f AS SELECT md5(random()::text) AS a, md5(random()::text) AS b FROM generate_series(1, 3000000)")
	if err == nil || !strings.Contains(out, "No space left on device") {
		t.Fatalf("300 MB into 96 MiB of storage: %v %s", err, out)
	}
	// Fill what is left with small writes, which the WAL takes first.
	for i := range 20 {
		out, err = psqlAt(t, e.addr, host, "myadmin", adminPW, "postgres",
			"CREATE TABLE IF NOT EXISTS g (a text); INSERT INTO g SELECT repeat(md5(random()::text), 10) FROM generate_series(1, 20000)")
		if err != nil {
			t.Logf("write %d: %s", i, out)
			break
		}
	}
	// A restart (az postgres flexible-server restart) brings it back, at
	// once: a cluster in recovery is not waited for.
	stopping := time.Now()
	if err := e.m.StopServer(ctx, "pgt-fill2"); err != nil {
		t.Errorf("stopping a full server: %v", err)
	}
	if d := time.Since(stopping); d > 10*time.Second {
		t.Errorf("stopping a full server took %s", d)
	}

	if err := e.m.StartServer(ctx, "pgt-fill2"); err != nil {
		t.Fatalf("starting a full server: %v", err)
	}

	if err := e.m.DeleteDatabase(ctx, "pgt-fill2", "spare"); err != nil {
		t.Errorf("dropping a database of a full server: %v", err)
	}
	if out, err := psqlAt(t, e.addr, host, "myadmin", adminPW, "postgres", "DROP TABLE IF EXISTS g; DROP TABLE IF EXISTS f"); err != nil {
		t.Errorf("freeing space: %v %s", err, out)
	}
	if out, err := psqlAt(t, e.addr, host, "myadmin", adminPW, "postgres", "CREATE TABLE ok AS SELECT 1 AS x"); err != nil {
		t.Errorf("writing after freeing space: %v %s", err, out)
	}
}

// The server's own databases cannot be dropped through the platform; a
// tenant's database whose name only starts like one's can.
func TestSystemDatabasesAreKept(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustCreate(t, e, "pgt-sys")
	for _, db := range []string{"postgres", "template0", "template1"} {
		if err := e.m.DeleteDatabase(ctx, "pgt-sys", db); err == nil {
			t.Errorf("%s was dropped", db)
		}
	}
	if err := e.m.CreateDatabase(ctx, "pgt-sys", "templates_app", "", ""); err != nil {
		t.Fatal(err)
	}
	if err := e.m.DeleteDatabase(ctx, "pgt-sys", "templates_app"); err != nil {
		t.Errorf("a tenant's database named templates_app: %v", err)
	}
}

// Names and collations that would be SQL, or not PostgreSQL's, never reach
// it; the odd names that are valid (hyphens, upper case) are quoted.
func TestAttack_DatabaseNamesAndCollations(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustCreate(t, e, "pgt-names")
	for _, c := range []struct{ db, collation string }{
		{`a"b`, ""}, {"a;b", ""}, {"a b", ""}, {"ä", ""}, {"../x", ""}, {"", ""}, {strings.Repeat("a", 64), ""},
		{"ok1", "en_US.utf8'; DROP DATABASE postgres; --"}, {"ok2", `en_US"x`}, {"ok3", "en_US.latin1"}, {"ok4", "de_DE@euro"}, {"ok5", "und-u-co-emoji"},
	} {
		if err := e.m.CreateDatabase(ctx, "pgt-names", c.db, "UTF8", c.collation); err == nil {
			t.Errorf("database %q collation %q: made", c.db, c.collation)
		}
	}
	c, err := e.m.running("pgt-names")
	if err != nil {
		t.Fatal(err)
	}
	for _, db := range []string{"My-App_DB", "select", "2fa"} {
		if err := e.m.CreateDatabase(ctx, "pgt-names", db, "", "C"); err != nil {
			t.Errorf("%q: %v", db, err)
		}
	}
	out, err := c.psql(ctx, "postgres", "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database;\n")
	if err != nil || strings.TrimSpace(out) != "2fa,My-App_DB,postgres,select,template0,template1" {
		t.Fatalf("databases: %q %v", out, err)
	}
	for _, db := range []string{"My-App_DB", "select", "2fa"} {
		if err := e.m.DeleteDatabase(ctx, "pgt-names", db); err != nil {
			t.Errorf("dropping %q: %v", db, err)
		}
	}
}
