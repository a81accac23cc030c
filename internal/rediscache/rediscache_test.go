package rediscache

import (
	"context"
	"errors"
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

// These tests run the installed Redis in the sandbox and its own client,
// redis-cli, through the proxy as apps' clients connect: TLS with the
// cache's name.

const (
	key1 = "S3cr3tPrimaryKey0123456789abcdefghijklmnopq="
	key2 = "S3cr3tSecondaryKey0123456789abcdefghijklmno="
)

type env struct {
	m        *Manager
	p        *Proxy
	addr     string // the proxy, as a client outside the sandboxes reaches it
	internal string // the proxy's listener for Slipway's apps
}

func newEnv(t *testing.T) *env {
	t.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-cli is missing: scripts/setup installs redis-tools")
		}
		t.Skip("Redis is not installed")
	}
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o711)
	}
	sb, err := sandbox.New(sandbox.Config{StateDir: filepath.Join(dir, "sandbox")})
	if err != nil {
		t.Fatal(err)
	}
	// Every client of the apps' listener counts as an app here; the apps'
	// published outbound address is a documentation address no client has.
	cfg := Config{Dir: filepath.Join(dir, "redis"), Domain: "localhost", Sandbox: sb,
		Apps: func(netip.Addr) bool { return true }, Outbound: netip.MustParseAddr("203.0.113.77")}
	if os.Geteuid() == 0 {
		cfg.User = func(ctx context.Context, cache string) (int, int, error) {
			return sandbox.EnsureTenantUser(ctx, "swrd-", cache)
		}
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
	e := &env{m: m, p: p}
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

// cli runs redis-cli through the proxy with TLS and the given server name.
func (e *env) cli(t *testing.T, host, key string, args ...string) (string, error) {
	t.Helper()
	h, port, _ := net.SplitHostPort(e.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	base := []string{"--tls", "--insecure", "--sni", host, "-h", h, "-p", port, "--no-auth-warning"}
	if key != "" {
		base = append(base, "-a", key)
	}
	out, err := exec.CommandContext(ctx, "redis-cli", append(base, args...)...).CombinedOutput()
	s := strings.TrimSpace(string(out))
	if err == nil && (strings.HasPrefix(s, "ERR") || strings.HasPrefix(s, "NOPERM") || strings.HasPrefix(s, "WRONGPASS") || strings.HasPrefix(s, "NOAUTH") || strings.HasPrefix(s, "OOM")) {
		err = errors.New(s)
	}
	return s, err
}

func TestCacheLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v, err := e.m.CreateCache(ctx, "rdt-life", 64<<20, key1, key2)
	if err != nil {
		t.Fatal(err)
	}
	if v != e.m.Version() || !strings.HasPrefix(v, "7.") {
		t.Fatalf("version %q", v)
	}
	host := "rdt-life" + Suffix
	if out, err := e.cli(t, host, key1, "SET", "greeting", "hello"); err != nil || out != "OK" {
		t.Fatalf("SET with the primary key: %v %q", err, out)
	}
	if out, err := e.cli(t, host, key2, "GET", "greeting"); err != nil || out != "hello" {
		t.Fatalf("GET with the secondary key: %v %q", err, out)
	}
	if out, err := e.cli(t, "rdt-life.redis.localhost", key1, "GET", "greeting"); err != nil || out != "hello" {
		t.Fatalf("by the platform's name: %v %q", err, out)
	}
	if out, _ := e.cli(t, host, "not-the-key", "GET", "greeting"); !strings.Contains(out, "WRONGPASS") {
		t.Fatalf("a wrong key: %q", out)
	}
	if out, _ := e.cli(t, host, "", "GET", "greeting"); !strings.Contains(out, "NOAUTH") {
		t.Fatalf("no key: %q", out)
	}

	// New keys: the old ones stop working, the data stays.
	const key3 = "R3generatedPrimaryKey0123456789abcdefghijkl="
	if err := e.m.SetKeys(ctx, "rdt-life", key3, key2); err != nil {
		t.Fatal(err)
	}
	if out, _ := e.cli(t, host, key1, "GET", "greeting"); !strings.Contains(out, "WRONGPASS") {
		t.Fatalf("the old primary key after regeneration: %q", out)
	}
	if out, err := e.cli(t, host, key3, "GET", "greeting"); err != nil || out != "hello" {
		t.Fatalf("the new primary key: %v %q", err, out)
	}

	// Firewall rules: none admits all; a rule that leaves the client out
	// refuses it.
	e.m.SetFirewallRules("rdt-life", []FirewallRule{{Start: netip.MustParseAddr("203.0.113.1"), End: netip.MustParseAddr("203.0.113.9")}})
	if out, _ := e.cli(t, host, key3, "PING"); !strings.Contains(out, "firewall") {
		t.Fatalf("a client outside the rules: %q", out)
	}
	e.m.SetFirewallRules("rdt-life", []FirewallRule{{Start: netip.MustParseAddr("127.0.0.1"), End: netip.MustParseAddr("127.0.0.1")}})
	if out, err := e.cli(t, host, key3, "PING"); err != nil || out != "PONG" {
		t.Fatalf("a client inside the rules: %v %q", err, out)
	}

	// Memory is the cache's size: writes past it are refused.
	// (A script is checked for memory as it starts: 10 MB at a time.)
	var out string
	for i := 0; i < 15 && !strings.Contains(out, "OOM"); i++ {
		out, _ = e.cli(t, host, key3, "EVAL", "for i = 1, 10 do redis.call('SETRANGE', KEYS[1] .. i, 1048575, 'x') end return 'done'", "1", "k"+strings.Repeat("i", i))
	}
	if !strings.Contains(out, "OOM") {
		t.Fatalf("150 MB into a 64 MB cache: %q", out)
	}

	if err := e.m.DeleteCache(ctx, "rdt-life"); err != nil {
		t.Fatal(err)
	}
	if out, _ := e.cli(t, host, key3, "PING"); !strings.Contains(out, "no Azure Cache for Redis") {
		t.Fatalf("a deleted cache: %q", out)
	}
	if _, err := os.Stat(filepath.Join(e.m.cfg.Dir, "rdt-life")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("its directory is left: %v", err)
	}
}

// A cache whose server dies (a crash, the kernel's out-of-memory killer)
// is started again, as Azure restarts a failed cache (empty: a Basic cache
// keeps no data).
func TestCacheRestartsAfterACrash(t *testing.T) {
	e := newEnv(t)
	if _, err := e.m.CreateCache(context.Background(), "rdt-crash", 32<<20, key1, key2); err != nil {
		t.Fatal(err)
	}
	host := "rdt-crash" + Suffix
	pid, err := e.cli(t, host, key1, "INFO", "server")
	if err != nil {
		t.Fatal(err)
	}
	// The cache's server, as the host sees it: the process of the
	// cache's own user running Redis.
	killed := proctest.Kill(t, sandbox.UserNameWith("swrd-", "rdt-crash"), "redis-")
	if killed == 0 {
		t.Fatalf("no redis-server process found to kill (%s)", strings.SplitN(pid, "\n", 2)[0])
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if out, err := e.cli(t, host, key1, "PING"); err == nil && out == "PONG" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the cache did not come back within 20 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A stopped cache stays stopped.
	if err := e.m.DeleteCache(context.Background(), "rdt-crash"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if out, _ := e.cli(t, host, key1, "PING"); out == "PONG" {
		t.Fatal("a deleted cache came back")
	}
}

// A rule naming the apps' published outbound address (ARM's
// outboundIpAddresses) admits the apps, as on Azure, and no one else.
func TestFirewallRuleForTheAppsOutboundAddress(t *testing.T) {
	e := newEnv(t)
	if _, err := e.m.CreateCache(context.Background(), "rdt-out", 32<<20, key1, key2); err != nil {
		t.Fatal(err)
	}
	e.m.SetFirewallRules("rdt-out", []FirewallRule{{Start: netip.MustParseAddr("203.0.113.77"), End: netip.MustParseAddr("203.0.113.77")}})
	app := &env{m: e.m, addr: e.internal}
	if out, err := app.cli(t, "rdt-out"+Suffix, key1, "PING"); err != nil || out != "PONG" {
		t.Fatalf("an app under a rule for its outbound address: %v %q", err, out)
	}
	if out, _ := e.cli(t, "rdt-out"+Suffix, key1, "PING"); !strings.Contains(out, "firewall") {
		t.Fatalf("a client outside the sandboxes: %q", out)
	}
}
