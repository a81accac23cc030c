package pgflex

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/proctest"

	"github.com/slipway-dev/slipway/internal/pki"
	"github.com/slipway-dev/slipway/internal/sandbox"
)

// These tests run the installed PostgreSQL (initdb, postgres) in the sandbox and
// its own client, psql, as a real client through the proxy: a client that
// speaks the protocol as apps' libpq does (TLS with the server name).

const adminPW = "Str0ng-Passw0rd!"

type env struct {
	m        *Manager
	addr     string // the proxy, as a client outside the sandboxes reaches it
	internal string // the proxy's listener for Slipway's apps
}

func newEnv(t *testing.T) *env { return newEnvWith(t, nil) }

func newEnvWith(t *testing.T, adjust func(*Config)) *env {
	t.Helper()
	if _, _, err := findBinaries(""); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	if _, err := exec.LookPath("psql"); err != nil {
		t.Skip("psql is not installed")
	}
	dir := t.TempDir()
	// The clusters' users must pass through the test's directories.
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o711)
	}
	sb, err := sandbox.New(sandbox.Config{StateDir: filepath.Join(dir, "sandbox"), Disabled: os.Getenv("PGFLEX_UNCONFINED") != ""})
	if err != nil {
		t.Fatal(err)
	}
	// The test's apps come from 127.0.0.1 (other loopback addresses are
	// the host's processes); their published outbound address is a
	// documentation address no client has.
	cfg := Config{Dir: filepath.Join(dir, "pg"), Domain: "localhost", Sandbox: sb,
		Apps:     func(a netip.Addr) bool { return a == netip.MustParseAddr("127.0.0.1") },
		Outbound: netip.MustParseAddr("203.0.113.77")}
	if os.Geteuid() == 0 {
		cfg.User = func(ctx context.Context, server string) (int, int, error) {
			return sandbox.EnsureTenantUser(ctx, "swpg-", server)
		}
	}
	if adjust != nil {
		adjust(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ca, err := pki.Open(pki.Config{Dir: filepath.Join(dir, "pki"), Domain: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	p := m.NewProxy(ca.GetCertificate)
	e := &env{m: m}
	for _, internal := range []bool{false, true} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go p.Serve(l, internal)
		t.Cleanup(func() { l.Close() })
		if internal {
			e.internal = l.Addr().String()
		} else {
			e.addr = l.Addr().String()
		}
	}
	t.Cleanup(func() { p.Close() })
	return e
}

// psql runs a statement through the proxy as a client would, with extra
// connection parameters, and returns its output.
func psqlAt(t *testing.T, addr, host, user, password, db, sql string, extra ...string) (string, error) {
	t.Helper()
	h, port, _ := net.SplitHostPort(addr)
	conn := fmt.Sprintf("host=%s hostaddr=%s port=%s user=%s dbname=%s sslmode=require connect_timeout=10 %s", host, h, port, user, db, strings.Join(extra, " "))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", conn, "-c", sql)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password, "PGSSLROOTCERT=", "PGSERVICEFILE=/nonexistent")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%w: %s", err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

func mustCreate(t *testing.T, e *env, name string) {
	t.Helper()
	v, err := e.m.CreateServer(context.Background(), name, "myadmin", adminPW)
	if err != nil {
		t.Fatal(err)
	}
	if v != e.m.Version() || v == "" {
		t.Fatalf("version %q, want %q", v, e.m.Version())
	}
}

var allowLocal = []FirewallRule{{Start: netip.MustParseAddr("127.0.0.1"), End: netip.MustParseAddr("127.0.0.1")}}

func TestServerLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustCreate(t, e, "pgt-life")
	host := "pgt-life" + Suffix
	// No rule yet: refused as Azure's firewall refuses, in pg_hba's words.
	if out, err := psqlAt(t, e.addr, host, "myadmin", adminPW, "postgres", "SELECT 1"); err == nil || !strings.Contains(out, `no pg_hba.conf entry for host "127.0.0.1", user "myadmin", database "postgres", SSL encryption`) {
		t.Fatalf("without a firewall rule: %v %s", err, out)
	}
	e.m.SetFirewallRules("pgt-life", allowLocal)
	out, err := psqlAt(t, e.addr, host, "myadmin", adminPW, "postgres", "SELECT current_user, rolsuper, ssl FROM pg_roles, pg_stat_ssl WHERE rolname = current_user AND pg_stat_ssl.pid = pg_backend_pid()")
	if err != nil {
		t.Fatal(err)
	}
	// The cluster sees a socket client; TLS is the proxy's.
	if out != "myadmin|f|f" {
		t.Fatalf("admin session: %q", out)
	}
	// Azure's default collation, served by ICU.
	if err := e.m.CreateDatabase(ctx, "pgt-life", "restaurant", "utf8", "en_US.utf8"); err != nil {
		t.Fatal(err)
	}
	if err := e.m.CreateDatabase(ctx, "pgt-life", "restaurant", "UTF8", ""); err != nil {
		t.Fatalf("again: %v", err)
	}
	out, err = psqlAt(t, e.addr, host, "myadmin", adminPW, "restaurant",
		"CREATE TABLE r (n text); INSERT INTO r VALUES ('b'), ('A'), ('a'); SELECT string_agg(n, '' ORDER BY n) FROM r")
	if err != nil {
		t.Fatal(err)
	}
	if out != "aAb" { // en-US order, not C's "Aab"
		t.Fatalf("en_US collation order: %q", out)
	}
	if err := e.m.CreateDatabase(ctx, "pgt-life", "latin", "LATIN1", ""); err == nil {
		t.Fatal("a LATIN1 database was made")
	}
	// The server's own name under the platform's domain reaches it too.
	if _, err := psqlAt(t, e.addr, "pgt-life.postgres.localhost", "myadmin", adminPW, "restaurant", "SELECT count(*) FROM r"); err != nil {
		t.Fatal(err)
	}

	if err := e.m.SetAdminPassword(ctx, "pgt-life", "myadmin", "N3w-Passw0rd'\\x"); err != nil {
		t.Fatal(err)
	}
	if out, err := psqlAt(t, e.addr, host, "myadmin", adminPW, "postgres", "SELECT 1"); err == nil || !strings.Contains(out, "password authentication failed") {
		t.Fatalf("the old password still works: %v %s", err, out)
	}
	if _, err := psqlAt(t, e.addr, host, "myadmin", "N3w-Passw0rd'\\x", "postgres", "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	// No password, in any statement, in the server's log.
	logs, _ := filepath.Glob(filepath.Join(e.m.cfg.Dir, "pgt-life", "data", "log", "*"))
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		if strings.Contains(string(b), "N3w-Passw0rd") || strings.Contains(string(b), adminPW) {
			t.Fatalf("a password in %s", l)
		}
	}

	if err := e.m.DeleteDatabase(ctx, "pgt-life", "restaurant"); err != nil {
		t.Fatal(err)
	}
	if out, err := psqlAt(t, e.addr, host, "myadmin", "N3w-Passw0rd'\\x", "restaurant", "SELECT 1"); err == nil || !strings.Contains(out, `database "restaurant" does not exist`) {
		t.Fatalf("dropped database: %v %s", err, out)
	}

	if err := e.m.StopServer(ctx, "pgt-life"); err != nil {
		t.Fatal(err)
	}
	if out, err := psqlAt(t, e.addr, host, "myadmin", "N3w-Passw0rd'\\x", "postgres", "SELECT 1"); err == nil || !strings.Contains(out, "is stopped") {
		t.Fatalf("stopped server: %v %s", err, out)
	}
	if err := e.m.CreateDatabase(ctx, "pgt-life", "x", "", ""); err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Fatalf("database on a stopped server: %v", err)
	}
	if err := e.m.StartServer(ctx, "pgt-life"); err != nil {
		t.Fatal(err)
	}
	if _, err := psqlAt(t, e.addr, host, "myadmin", "N3w-Passw0rd'\\x", "postgres", "SELECT 1"); err != nil {
		t.Fatal(err)
	}

	// After a restart of the platform: the records bring it back.
	if err := e.m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Reconcile(ctx, []Reconciled{{Name: "pgt-life", Rules: allowLocal}}); err != nil {
		t.Fatal(err)
	}
	if _, err := psqlAt(t, e.addr, host, "myadmin", "N3w-Passw0rd'\\x", "postgres", "SELECT 1"); err != nil {
		t.Fatal(err)
	}

	if err := e.m.DeleteServer(ctx, "pgt-life"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.m.cfg.Dir, "pgt-life")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("data left after delete: %v", err)
	}
	if out, err := psqlAt(t, e.addr, host, "myadmin", "N3w-Passw0rd'\\x", "postgres", "SELECT 1"); err == nil || !strings.Contains(out, "there is no PostgreSQL flexible server") {
		t.Fatalf("deleted server: %v %s", err, out)
	}
	if err := e.m.DeleteServer(ctx, "pgt-life"); err != nil {
		t.Fatalf("deleting again: %v", err)
	}
}

// A server whose postmaster dies (a crash, the out-of-memory killer) is
// started again and recovers its data, as Azure restarts a failed server.
func TestServerRestartsAfterACrash(t *testing.T) {
	e := newEnv(t)
	mustCreate(t, e, "pgt-crash")
	e.m.SetFirewallRules("pgt-crash", allowLocal)
	host := "pgt-crash" + Suffix
	if _, err := psqlAt(t, e.addr, host, "myadmin", adminPW, "postgres", "CREATE TABLE kept AS SELECT 42 AS x"); err != nil {
		t.Fatal(err)
	}
	killed := proctest.Kill(t, sandbox.UserNameWith("swpg-", "pgt-crash"), "postgres")
	if killed == 0 {
		t.Fatal("no postgres process of the server found")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := psqlAt(t, e.addr, host, "myadmin", adminPW, "postgres", "SELECT x FROM kept")
		if err == nil && out == "42" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not come back within 30 s: %v %s", err, out)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// A rule naming the apps' published outbound address (ARM's
// outboundIpAddresses) admits the apps, as on Azure, and no one else.
func TestFirewallRuleForTheAppsOutboundAddress(t *testing.T) {
	e := newEnv(t)
	mustCreate(t, e, "pgt-out")
	e.m.SetFirewallRules("pgt-out", []FirewallRule{{Start: netip.MustParseAddr("203.0.113.77"), End: netip.MustParseAddr("203.0.113.77")}})
	if _, err := psqlAt(t, e.internal, "pgt-out"+Suffix, "myadmin", adminPW, "postgres", "SELECT 1"); err != nil {
		t.Fatalf("an app under a rule for its outbound address: %v", err)
	}
	if out, err := psqlAt(t, e.addr, "pgt-out"+Suffix, "myadmin", adminPW, "postgres", "SELECT 1"); err == nil || !strings.Contains(out, "no pg_hba.conf entry") {
		t.Fatalf("a client outside the sandboxes: %v %s", err, out)
	}
}
