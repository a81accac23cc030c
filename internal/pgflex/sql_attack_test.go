package pgflex

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// What a holder of one server's administrator password can try from SQL
// on PostgreSQL 15: every road to the platform's superuser, to the
// cluster's system user or to the files beside the data is closed.
func TestAttack_AdminSQL(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustCreate(t, e, "pgt-sql")
	e.m.SetFirewallRules("pgt-sql", allowLocal)
	host := "pgt-sql" + Suffix
	if err := e.m.CreateDatabase(ctx, "pgt-sql", "appdb", "", ""); err != nil {
		t.Fatal(err)
	}
	as := func(db, sql string) (string, error) {
		return psqlAt(t, e.addr, host, "myadmin", adminPW, db, sql)
	}

	t.Run("every escalation is refused", func(t *testing.T) {
		for _, sql := range []string{
			// Settings that load code or change where code is found.
			"ALTER ROLE myadmin SET session_preload_libraries = 'auto_explain'",
			"ALTER ROLE myadmin SET dynamic_library_path = '/home'",
			"ALTER DATABASE postgres SET session_preload_libraries = 'auto_explain'",
			"ALTER DATABASE appdb SET session_preload_libraries = 'auto_explain'",
			"ALTER DATABASE postgres SET search_path = public, pg_catalog",
			"ALTER ROLE " + platformRole + " SET search_path = public, pg_catalog",
			"ALTER ROLE ALL SET search_path = public, pg_catalog",
			"SET session_preload_libraries = 'auto_explain'",
			"LOAD 'auto_explain'",
			"LOAD '/usr/lib/postgresql/15/lib/auto_explain.so'",
			"SELECT set_config('log_statement', 'all', false)",
			"ALTER SYSTEM SET log_statement = 'all'",
			"SELECT pg_reload_conf()",
			"CHECKPOINT",
			// Files and programs of the server.
			"SELECT lo_import('/etc/passwd')",
			"SELECT lo_export(lo_create(0), '/home/storage/x')",
			"COPY (SELECT 1) TO '/home/storage/x'",
			"CREATE TEMP TABLE f(l text); COPY f FROM '/etc/passwd'",
			"SELECT pg_read_binary_file('/etc/passwd')",
			"SELECT pg_read_file('postgresql.conf')",
			"SELECT pg_ls_dir('.')",
			"SELECT pg_stat_file('postgresql.conf')",
			"SELECT pg_ls_logdir()",
			"SELECT * FROM pg_authid",
			"SELECT passwd FROM pg_shadow",
			// Code in untrusted languages, and extensions that reach out.
			"CREATE FUNCTION f() RETURNS int AS 'system' LANGUAGE c",
			"CREATE FUNCTION f(cstring) RETURNS int AS 'int4in' LANGUAGE internal",
			"CREATE EXTENSION dblink",
			"CREATE EXTENSION postgres_fdw",
			"CREATE EXTENSION file_fdw",
			"CREATE EXTENSION adminpack",
			"CREATE EXTENSION pageinspect",
			"CREATE EXTENSION pg_surgery",
			"CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION pg_catalog.pg_event_trigger_ddl_commands()",
			"CREATE PUBLICATION p FOR ALL TABLES",
			"CREATE SUBSCRIPTION s CONNECTION 'host=/home/run dbname=postgres' PUBLICATION p",
			// Roles.
			"SET ROLE " + platformRole,
			"SET SESSION AUTHORIZATION " + platformRole,
			"GRANT pg_read_server_files TO myadmin",
			"GRANT pg_write_server_files TO myadmin",
			"GRANT pg_execute_server_program TO myadmin",
			"GRANT azure_pg_admin TO PUBLIC",
			"ALTER ROLE myadmin REPLICATION",
			"ALTER ROLE myadmin BYPASSRLS",
			"ALTER ROLE myadmin CREATEROLE",
			"ALTER ROLE myadmin RENAME TO other",
			"CREATE ROLE pg_x",
			"ALTER ROLE " + platformRole + " PASSWORD 'x'",
			"ALTER ROLE azure_pg_admin LOGIN",
			// Databases the platform owns.
			"CREATE DATABASE x TEMPLATE postgres",
			"ALTER DATABASE postgres OWNER TO myadmin",
			"ALTER DATABASE template1 ALLOW_CONNECTIONS true",
			"ALTER DATABASE template0 ALLOW_CONNECTIONS true",
			"DROP DATABASE postgres",
		} {
			if out, err := as("postgres", sql); err == nil {
				t.Errorf("%s: allowed: %s", sql, out)
			}
		}
		if out, err := as("template1", "SELECT 1"); err == nil {
			t.Errorf("the administrator connected to template1: %s", out)
		}
	})

	t.Run("the platform's sessions cannot be signalled", func(t *testing.T) {
		c, err := e.m.running("pgt-sql")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { _, err := c.psql(ctx, "postgres", "SELECT pg_sleep(4);\n"); done <- err }()
		deadline := time.Now().Add(3 * time.Second)
		for {
			out, err := as("postgres", "SELECT count(*) FROM pg_stat_activity WHERE usename = '"+platformRole+"' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()")
			if err != nil {
				t.Fatal(err)
			}
			if out == "1" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the platform's session never showed")
			}
			time.Sleep(50 * time.Millisecond)
		}
		for _, f := range []string{"pg_terminate_backend", "pg_cancel_backend"} {
			if out, err := as("postgres", "SELECT "+f+"(pid) FROM pg_stat_activity WHERE usename = '"+platformRole+"' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()"); err == nil && !strings.Contains(out, "f") {
				t.Errorf("%s of the platform's session: %s", f, out)
			}
		}
		if err := <-done; err != nil {
			t.Fatalf("the platform's session was ended: %v", err)
		}
	})

	t.Run("a password change that fails leaks nothing", func(t *testing.T) {
		const secret = "Le4k-Me'\\\nNot"
		err := e.m.SetAdminPassword(ctx, "pgt-sql", "nosuchadmin", secret)
		if err == nil {
			t.Fatal("a password was set for a role that does not exist")
		}
		if strings.Contains(err.Error(), "Le4k") {
			t.Errorf("the error carries the password: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
		logs, _ := filepath.Glob(filepath.Join(e.m.cfg.Dir, "pgt-sql", "storage", "data", "log", "*"))
		if len(logs) == 0 {
			t.Fatal("no server log to check")
		}
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			if strings.Contains(string(b), "Le4k") {
				t.Errorf("the password is in %s:\n%s", l, b)
			}
		}
	})
}

// A password is a literal whatever the settings the platform's session
// meets: were standard_conforming_strings off for it (a drifted
// postgresql.conf, a role setting), a backslash before the doubled quote
// would end the literal and run the rest as the platform's superuser.
func TestAttack_PasswordIsNeverSQL(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustCreate(t, e, "pgt-pw")
	e.m.SetFirewallRules("pgt-pw", allowLocal)
	c, err := e.m.running("pgt-pw")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.psql(ctx, "postgres", "ALTER ROLE "+platformRole+" SET standard_conforming_strings = off;\nALTER ROLE "+platformRole+" SET search_path = public, pg_catalog;\n"); err != nil {
		t.Fatal(err)
	}
	const pw = `X\';ALTER ROLE myadmin SUPERUSER;--`
	err = e.m.SetAdminPassword(ctx, "pgt-pw", "myadmin", pw)
	if super, _ := c.psql(ctx, "postgres", "SELECT rolsuper FROM pg_roles WHERE rolname = 'myadmin';\n"); strings.TrimSpace(super) != "f" {
		t.Fatalf("the password made the administrator a superuser: rolsuper %q", super)
	}
	out, qerr := psqlAt(t, e.addr, "pgt-pw"+Suffix, "myadmin", pw, "postgres", "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
	if err != nil || qerr != nil || out != "f" {
		t.Fatalf("setting %q: %v; logging in with it: %v %q", pw, err, qerr, out)
	}
	// Whatever the password holds, it is the password: psql's own
	// commands, variables and quoting, lines, and any script.
	for _, pw := range []string{
		"Ab1\n\\! id\n'",
		"Ab1'\n\\gexec\nSELECT 1;--",
		"Ab1 :'x' :x :\"x\"",
		"$$Ab1$$; SELECT 1; $q$",
		"Ünï¢ødé-Pässwört-1",
		"Ab1\r\n;\t\\",
		"Ab1\\'';ALTER ROLE myadmin SUPERUSER;--",
	} {
		if err := e.m.SetAdminPassword(ctx, "pgt-pw", "myadmin", pw); err != nil {
			t.Errorf("setting %q: %v", pw, err)
			continue
		}
		if out, err := psqlAt(t, e.addr, "pgt-pw"+Suffix, "myadmin", pw, "postgres", "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"); err != nil || out != "f" {
			t.Errorf("logging in with %q: %v %q", pw, err, out)
		}
	}
}

// Were a server's cluster user ever taken (a PostgreSQL bug), its
// sandbox holds nothing of another server's: not its socket, not its
// files, not its processes.
func TestAttack_ClusterUserCannotReachAnotherServer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustCreate(t, e, "pgt-one")
	mustCreate(t, e, "pgt-two")
	one, err := e.m.running("pgt-one")
	if err != nil {
		t.Fatal(err)
	}
	two, err := e.m.running("pgt-two")
	if err != nil {
		t.Fatal(err)
	}
	pw, err := two.loadPassword()
	if err != nil {
		t.Fatal(err)
	}
	// As server one's user, in its sandbox: the other server's socket by
	// its host path (with its platform password), its files, and any
	// process but its own (its sandbox's init aside).
	script := `
PGPASSWORD=` + pw + ` PGCONNECT_TIMEOUT=5 psql -X -h ` + two.run + ` -p 5432 -U ` + platformRole + ` -d postgres -Atc 'SELECT 1' && echo REACHED-SOCKET
cat ` + filepath.Join(two.dir, "platform.pw") + ` && echo READ-PASSWORD
ls ` + two.data + ` && echo LISTED-DATA
ls ` + two.run + ` && echo LISTED-RUN
for p in /proc/[0-9]*; do [ $p = /proc/1 ] || [ "$(stat -c %u $p)" = "$(id -u)" ] || echo SAW-PROCESS $p $(stat -c %u $p); done
echo END`
	cmd, err := one.commandArgv(ctx, []string{"/bin/sh", "-c", script})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "END") {
		t.Fatalf("the script did not run in server one's sandbox: %s", out)
	}
	for _, hole := range []string{"REACHED-SOCKET", "READ-PASSWORD", "LISTED-DATA", "LISTED-RUN", "SAW-PROCESS"} {
		if strings.Contains(string(out), hole) {
			t.Errorf("%s:\n%s", hole, out)
		}
	}
}

// Whoever holds the administrator's password (or an injection in an app
// that connects as it) can make every login of the administrator fail
// with one statement: a library that does not exist in its role's
// local_preload_libraries. Resetting the password (az postgres
// flexible-server update --admin-password, the owner's way back in) clears
// that too.
func TestAttack_AdminCannotBeLockedOutForGood(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustCreate(t, e, "pgt-lock")
	e.m.SetFirewallRules("pgt-lock", allowLocal)
	host := "pgt-lock" + Suffix
	if out, err := psqlAt(t, e.addr, host, "myadmin", adminPW, "postgres",
		"ALTER ROLE myadmin IN DATABASE postgres SET local_preload_libraries = 'nonexistent'; ALTER ROLE myadmin SET local_preload_libraries = 'nonexistent'"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if out, err := psqlAt(t, e.addr, host, "myadmin", adminPW, "postgres", "SELECT 1"); err == nil || !strings.Contains(out, "nonexistent") {
		t.Fatalf("the lock did not take: %v %s", err, out)
	}
	const pw = "Back-1n-Again!"
	if err := e.m.SetAdminPassword(ctx, "pgt-lock", "myadmin", pw); err != nil {
		t.Fatal(err)
	}
	if out, err := psqlAt(t, e.addr, host, "myadmin", pw, "postgres", "SELECT 1"); err != nil {
		t.Fatalf("locked out after a password reset: %v %s", err, out)
	}
}

// Were a server's cluster user ever taken, it could put a link to another
// server's socket in the place of its own, in its own directory: the
// proxy, which runs as root, would follow it and hand the first server's
// clients to the second, past the second's firewall. The proxy checks who
// answers on the socket.
func TestAttack_SocketLinkToAnotherServer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the clusters have users of their own only when Slipway runs as root")
	}
	e := newEnv(t)
	mustCreate(t, e, "pgt-link")
	mustCreate(t, e, "pgt-target")
	e.m.SetFirewallRules("pgt-link", allowLocal) // the target has no rule
	link, err := e.m.running("pgt-link")
	if err != nil {
		t.Fatal(err)
	}
	target, err := e.m.running("pgt-target")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(link.socket(), link.socket()+".real"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target.socket(), link.socket()); err != nil {
		t.Fatal(err)
	}
	out, err := psqlAt(t, e.addr, "pgt-link"+Suffix, "myadmin", adminPW, "postgres", "SELECT 1")
	if err == nil {
		t.Fatalf("the link led the proxy to another server: %s", out)
	}
}
