package pgflex

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/cgroups"
	"github.com/slipway-dev/slipway/internal/homefs"
)

// The attacks a tenant (or anyone who can reach the proxy) can make on
// the servers, each through the real client.
func TestAttack_Proxy(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustCreate(t, e, "pgt-a")
	mustCreate(t, e, "pgt-b")
	e.m.SetFirewallRules("pgt-a", allowLocal)
	e.m.SetFirewallRules("pgt-b", []FirewallRule{{Start: netip.IPv4Unspecified(), End: netip.IPv4Unspecified()}})
	hostA, hostB := "pgt-a"+Suffix, "pgt-b"+Suffix

	t.Run("plaintext is refused", func(t *testing.T) {
		out, err := psqlAt(t, e.addr, hostA, "myadmin", adminPW, "postgres", "SELECT 1", "sslmode=disable")
		if err == nil || !strings.Contains(out, "no encryption") {
			t.Fatalf("%v %s", err, out)
		}
	})
	t.Run("the platform's superuser is refused even with its password", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(e.m.cfg.Dir, "pgt-a", "platform.pw"))
		if err != nil {
			t.Fatal(err)
		}
		for _, user := range []string{platformRole, "AzureSU", "pg_monitor"} {
			out, err := psqlAt(t, e.addr, hostA, user, string(b), "postgres", "SELECT 1")
			if err == nil || !strings.Contains(out, "no pg_hba.conf entry") {
				t.Fatalf("%s: %v %s", user, err, out)
			}
		}
	})
	t.Run("an address is not a server", func(t *testing.T) {
		out, err := psqlAt(t, e.addr, "127.0.0.1", "myadmin", adminPW, "postgres", "SELECT 1")
		if err == nil || !strings.Contains(out, "is found by its name") {
			t.Fatalf("%v %s", err, out)
		}
		out, err = psqlAt(t, e.addr, "pgt-a.postgres.database.azure.com.evil.example", "myadmin", adminPW, "postgres", "SELECT 1")
		if err == nil || !strings.Contains(out, "there is no PostgreSQL flexible server") {
			t.Fatalf("%v %s", err, out)
		}
	})
	t.Run("the administrator cannot become the system user", func(t *testing.T) {
		for _, sql := range []string{
			"COPY (SELECT 1) TO PROGRAM 'id'",
			"GRANT pg_execute_server_program TO myadmin",
			"ALTER ROLE myadmin SUPERUSER",
			"CREATE ROLE evil SUPERUSER",
			"SELECT pg_read_file('/etc/passwd')",
			"CREATE EXTENSION adminpack",
			"ALTER SYSTEM SET listen_addresses = '*'",
			"GRANT " + platformRole + " TO myadmin",
		} {
			if out, err := psqlAt(t, e.addr, hostA, "myadmin", adminPW, "postgres", sql); err == nil {
				t.Errorf("%s: allowed: %s", sql, out)
			}
		}
		// Nor a role it makes (PostgreSQL 16 gives it CREATEROLE).
		out, err := psqlAt(t, e.addr, hostA, "myadmin", adminPW, "postgres", "SELECT rolsuper OR rolcreaterole AND current_setting('server_version_num')::int < 160000 FROM pg_roles WHERE rolname = current_user")
		if err != nil || out != "f" {
			t.Fatalf("administrator's attributes: %v %q", err, out)
		}
	})
	t.Run("the 0.0.0.0 rule admits only Slipway's apps", func(t *testing.T) {
		if out, err := psqlAt(t, e.addr, hostB, "myadmin", adminPW, "postgres", "SELECT 1"); err == nil || !strings.Contains(out, "no pg_hba.conf entry") {
			t.Fatalf("outside client admitted by 0.0.0.0: %v %s", err, out)
		}
		if _, err := psqlAt(t, e.internal, hostB, "myadmin", adminPW, "postgres", "SELECT 1"); err != nil {
			t.Fatalf("app refused by 0.0.0.0: %v", err)
		}
		// pgt-a's rule names 127.0.0.1 only; apps come from their own
		// addresses, which it does not cover... here the test's apps come
		// from 127.0.0.1 too, so it admits them: a rule is an address range.
	})
	t.Run("one server's credentials do not open another", func(t *testing.T) {
		if err := e.m.SetAdminPassword(ctx, "pgt-b", "myadmin", "Other-Passw0rd!"); err != nil {
			t.Fatal(err)
		}
		out, err := psqlAt(t, e.internal, hostB, "myadmin", adminPW, "postgres", "SELECT 1")
		if err == nil || !strings.Contains(out, "password authentication failed") {
			t.Fatalf("%v %s", err, out)
		}
	})
	t.Run("malformed and oversized startups are closed", func(t *testing.T) {
		for name, msg := range map[string][]byte{
			"huge length":  be32(1<<30, 196608),
			"tiny length":  be32(4, 196608),
			"old protocol": append(be32(16, 2<<16), []byte("user\x00x\x00\x00\x00")...),
		} {
			c := dialTLS(t, e.addr, hostA)
			c.Write(msg)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			b, _ := io.ReadAll(c)
			c.Close()
			if len(b) > 0 && b[0] != 'E' {
				t.Errorf("%s: answered %q", name, b)
			}
		}
	})
	t.Run("a cancel request without TLS is dropped", func(t *testing.T) {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(append(be32(16, cancelRequestCode), 0, 0, 0, 1, 0, 0, 0, 2))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if b, _ := io.ReadAll(c); len(b) != 0 {
			t.Fatalf("answered %q", b)
		}
	})
}

func be32(a, b uint32) []byte {
	out := make([]byte, 8)
	binary.BigEndian.PutUint32(out, a)
	binary.BigEndian.PutUint32(out[4:], b)
	return out
}

// dialTLS negotiates TLS as libpq does and returns the encrypted connection.
func dialTLS(t *testing.T, addr, host string) *tls.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Write(be32(8, sslRequestCode))
	var s [1]byte
	if _, err := io.ReadFull(c, s[:]); err != nil || s[0] != 'S' {
		t.Fatalf("SSLRequest: %v %q", err, s)
	}
	tc := tls.Client(c, &tls.Config{ServerName: host, InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	return tc
}

// A server that fills its storage fails its own writes and takes nothing
// from the machine's disk beyond its size, nor from another server.
func TestAttack_StorageIsBounded(t *testing.T) {
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
	mustCreate(t, e, "pgt-full")
	mustCreate(t, e, "pgt-ok")
	e.m.SetFirewallRules("pgt-full", allowLocal)
	e.m.SetFirewallRules("pgt-ok", allowLocal)
	var before syscall.Statfs_t
	syscall.Statfs(dir, &before)
	out, err := psqlAt(t, e.addr, "pgt-full"+Suffix, "myadmin", adminPW, "postgres",
		"CREATE TABLE f AS SELECT md5(random()::text) AS a, md5(random()::text) AS b FROM generate_series(1, 3000000)")
	if err == nil || !strings.Contains(out, "No space left on device") {
		t.Fatalf("300 MB into 96 MiB of storage: %v %s", err, out)
	}
	var after syscall.Statfs_t
	syscall.Statfs(dir, &after)
	if used := (int64(before.Bavail) - int64(after.Bavail)) * before.Bsize; used > 96<<20 {
		t.Errorf("the machine's disk lost %d MiB to one server", used>>20)
	}
	if _, err := psqlAt(t, e.addr, "pgt-ok"+Suffix, "myadmin", adminPW, "postgres", "CREATE TABLE t AS SELECT 1 AS x"); err != nil {
		t.Fatalf("the other server: %v", err)
	}
	if err := e.m.DeleteServer(context.Background(), "pgt-full"); err != nil {
		t.Fatal(err)
	}
	if imgs, _ := vols.Images(); imgs["pgt-full"] != 0 {
		t.Errorf("the deleted server's image is left: %v", imgs)
	}
}

// One client that opens connections and never speaks (slowloris) cannot
// take the proxy from the others: it holds at most 32 connections in their
// handshake (each for 15 s), so that the proxy's 2000 slots take dozens of
// addresses to fill, not eight (its 256 in all).
func TestAttack_OneClientCannotTakeEverySlot(t *testing.T) {
	e := newEnv(t)
	mustCreate(t, e, "pgt-slots")
	e.m.SetFirewallRules("pgt-slots", allowLocal)
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 5 * time.Second}
	var held []net.Conn
	t.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	for range 32 {
		c, err := d.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	// The proxy accepts in order: once the next one from 127.0.0.2 is
	// closed at once, every earlier one holds a slot.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := d.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(time.Second))
		_, err = c.Read(make([]byte, 1))
		c.Close()
		if err == io.EOF {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a connection past its share was kept: %v", err)
		}
	}
	if _, err := psqlAt(t, e.addr, "pgt-slots"+Suffix, "myadmin", adminPW, "postgres", "SELECT 1"); err != nil {
		t.Fatalf("another client was shut out: %v", err)
	}
}

// A server's processes, the postmaster and every backend, live in its own
// control group with its limits, so that a busy or greedy server takes at
// most its share of the machine.
func TestAttack_ServerIsLimited(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("control groups need root")
	}
	groups, err := cgroups.Open(cgroups.Config{Parent: "slipway-pgflex-test", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Skip("no control groups here:", err)
	}
	e := newEnv(t)
	t.Cleanup(func() { e.m.Close(); groups.Close() })
	var procsFiles []string
	e.m.SetGroups(func(server string) ([]string, func() error, error) {
		g, err := groups.New("pg-"+server, cgroups.Limits{MemoryBytes: 256 << 20, CPUs: 0.5, Pids: 64})
		if err != nil {
			return nil, nil, err
		}
		procsFiles = g.ProcsFiles()
		return g.ProcsFiles(), g.Close, nil
	})
	mustCreate(t, e, "pgt-lim")
	e.m.SetFirewallRules("pgt-lim", allowLocal)
	pid, err := psqlAt(t, e.addr, "pgt-lim"+Suffix, "myadmin", adminPW, "postgres", "SELECT pg_backend_pid()")
	if err != nil {
		t.Fatal(err)
	}
	// The backend's pid is the sandbox's: count the group's processes, and
	// find the memory limit on the group that holds them.
	limited := false
	for _, f := range procsFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(strings.Fields(string(b))); n < 5 { // bwrap, the postmaster, its helpers and the backend
			t.Fatalf("%s holds %d processes (backend %s): %q", f, n, pid, b)
		}
		for _, lim := range []string{"memory.limit_in_bytes", "memory.max"} {
			if v, err := os.ReadFile(filepath.Join(filepath.Dir(f), lim)); err == nil && strings.TrimSpace(string(v)) == "268435456" {
				limited = true
			}
		}
	}
	if !limited {
		t.Fatalf("no memory limit on the server's group (%v)", procsFiles)
	}
}
