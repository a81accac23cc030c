package pgflex

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// startupMessage is a protocol 3.0 startup message with the given
// name/value pairs, in order (a name may repeat).
func startupMessage(pairs ...string) []byte {
	body := be32(0, 3<<16)
	for _, s := range pairs {
		body = append(append(body, s...), 0)
	}
	body = append(body, 0)
	binary.BigEndian.PutUint32(body, uint32(len(body)))
	return body
}

// startupFrom sends a startup message over TLS from a client address and
// returns the first message of the answer: 'E' and its text for a
// refusal, 'R' for the cluster's request for a password.
func startupFrom(t *testing.T, from, addr, host string, msg []byte) (byte, string) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	raw.Write(be32(8, sslRequestCode))
	var s [1]byte
	if _, err := io.ReadFull(raw, s[:]); err != nil || s[0] != 'S' {
		t.Fatalf("SSLRequest: %v %q", err, s)
	}
	c := tls.Client(raw, &tls.Config{ServerName: host, InsecureSkipVerify: true})
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	var head [5]byte
	if _, err := io.ReadFull(c, head[:]); err != nil {
		return 0, err.Error()
	}
	n := binary.BigEndian.Uint32(head[1:])
	if n < 4 || n > 1<<16 {
		return head[0], "bad length"
	}
	body := make([]byte, n-4)
	io.ReadFull(c, body)
	return head[0], strings.ReplaceAll(string(body), "\x00", " ")
}

// The apps' listener is on the instances' gateway address, which the host's
// own processes (and a neighbour that routes to it) can reach too: only an
// app's address there is an app, admitted by the 0.0.0.0 rule.
func TestAttack_AppsListenerAdmitsOnlyApps(t *testing.T) {
	e := newEnv(t)
	mustCreate(t, e, "pgt-apps")
	e.m.SetFirewallRules("pgt-apps", []FirewallRule{{Start: netip.IPv4Unspecified(), End: netip.IPv4Unspecified()}})
	host := "pgt-apps" + Suffix
	msg := startupMessage("user", "myadmin", "database", "postgres")
	if kind, text := startupFrom(t, "127.0.0.1", e.internal, host, msg); kind != 'R' {
		t.Fatalf("an app was refused: %c %s", kind, text)
	}
	if kind, text := startupFrom(t, "127.0.0.2", e.internal, host, msg); kind != 'E' || !strings.Contains(text, "no pg_hba.conf entry") {
		t.Fatalf("a client that is not an app was taken for one: %c %s", kind, text)
	}
}

// The proxy reads the role from the startup message as PostgreSQL does
// (the last "user" wins), and what else a client may put there cannot make
// it someone else.
func TestAttack_StartupParameters(t *testing.T) {
	e := newEnv(t)
	mustCreate(t, e, "pgt-start")
	e.m.SetFirewallRules("pgt-start", allowLocal)
	host := "pgt-start" + Suffix
	for name, pairs := range map[string][]string{
		"the platform's role last":  {"user", "myadmin", "user", platformRole, "database", "postgres"},
		"upper case":                {"user", "AzureSU", "database", "postgres"},
		"a pg_ role":                {"user", "pg_read_server_files", "database", "postgres"},
		"a pg_ role, upper case":    {"user", "PG_monitor", "database", "postgres"},
		"no user":                   {"database", "postgres"},
		"an empty user":             {"user", "", "database", "postgres"},
		"the platform's role as db": {"user", platformRole, "database", "myadmin"},
	} {
		if kind, text := startupFrom(t, "127.0.0.1", e.addr, host, startupMessage(pairs...)); kind != 'E' || !strings.Contains(text, "no pg_hba.conf entry") {
			t.Errorf("%s: %c %s", name, kind, text)
		}
	}
	// The platform's role first and the administrator last is the
	// administrator for PostgreSQL too.
	if kind, text := startupFrom(t, "127.0.0.1", e.addr, host, startupMessage("user", platformRole, "user", "myadmin", "database", "postgres")); kind != 'R' {
		t.Errorf("the administrator last: %c %s", kind, text)
	}
	for _, extra := range []string{
		"options='-c role=" + platformRole + "'",
		"options='-c session_authorization=" + platformRole + "'",
		"options='-c is_superuser=on'",
		"options='-c log_statement=all'",
		"options='-c local_preload_libraries=/usr/lib/postgresql/15/lib/auto_explain.so'",
		"options='-c session_preload_libraries=auto_explain'",
		"replication=database",
		"replication=true",
	} {
		out, err := psqlAt(t, e.addr, host, "myadmin", adminPW, "postgres", "SELECT current_user || ' ' || session_user || ' ' || (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)", extra)
		if err == nil && out != "myadmin myadmin f" {
			t.Errorf("%s: %s", extra, out)
		}
		if err == nil && !strings.Contains(extra, "role=") && !strings.Contains(extra, "session_authorization") {
			t.Errorf("%s: accepted: %s", extra, out)
		}
	}
}

// The rules are IPv4 ranges: a v4-mapped client is its IPv4 address, an
// IPv6 client matches no range (not even 0.0.0.0–255.255.255.255), and the
// 0.0.0.0 rule is for apps alone, whatever their address family.
func TestAttack_FirewallAddressFamilies(t *testing.T) {
	app := netip.MustParseAddr("169.254.128.2")
	m := &Manager{cfg: Config{Apps: func(a netip.Addr) bool { return a == app }}, rules: map[string][]FirewallRule{}}
	m.SetFirewallRules("all", []FirewallRule{{Start: netip.MustParseAddr("0.0.0.0"), End: netip.MustParseAddr("255.255.255.255")}})
	m.SetFirewallRules("one", []FirewallRule{{Start: netip.MustParseAddr("203.0.113.7"), End: netip.MustParseAddr("203.0.113.7")}})
	m.SetFirewallRules("azure", []FirewallRule{{Start: netip.IPv4Unspecified(), End: netip.IPv4Unspecified()}})
	for _, c := range []struct {
		server   string
		client   string
		internal bool
		want     bool
	}{
		{"one", "::ffff:203.0.113.7", false, true},
		{"one", "203.0.113.8", false, false},
		{"one", "2001:db8::cb00:7107", false, false},
		{"all", "::1", false, false},
		{"all", "2001:db8::1", false, false},
		{"all", "0.0.0.0", false, true},
		{"azure", "0.0.0.0", false, false},
		{"azure", "203.0.113.7", false, false},
		{"azure", "203.0.113.7", true, false}, // on the apps' listener, not an app
		{"azure", "::ffff:169.254.128.2", true, true},
		{"azure", "169.254.128.2", false, false}, // an app's address on the host's listener
		{"none", "169.254.128.2", true, false},
	} {
		if got := m.allowed(c.server, netip.MustParseAddr(c.client), c.internal); got != c.want {
			t.Errorf("%s from %s (apps' listener %v): %v, want %v", c.server, c.client, c.internal, got, c.want)
		}
	}
}

// Malformed startups, odd server names and foreign protocols are refused
// (or closed), never passed on nor hung on.
func TestAttack_StartupShapesAndNames(t *testing.T) {
	e := newEnv(t)
	mustCreate(t, e, "pgt-shape")
	e.m.SetFirewallRules("pgt-shape", allowLocal)
	host := "pgt-shape" + Suffix
	good := startupMessage("user", "myadmin", "database", "postgres")
	many := []string{"user", "myadmin"}
	for i := range 600 {
		many = append(many, fmt.Sprintf("x%d", i), "y")
	}
	for name, msg := range map[string][]byte{
		"no terminator":              bytes.Clone(good[:len(good)-1]),
		"a name without a value":     append(startupMessage("user", "myadmin")[:len(startupMessage("user", "myadmin"))-1], "database\x00\x00"...),
		"an empty name":              startupMessage("user", "myadmin", "", "x"),
		"a second TLS request":       be32(8, sslRequestCode),
		"a GSSAPI request after TLS": be32(8, gssEncRequestCode),
	} {
		binary.BigEndian.PutUint32(msg, uint32(len(msg)))
		if kind, text := startupFrom(t, "127.0.0.1", e.addr, host, msg); kind != 'E' && kind != 0 {
			t.Errorf("%s: %c %s", name, kind, text)
		}
	}
	// Many parameters (within the 10,000 bytes) are PostgreSQL's to judge,
	// after the password.
	if kind, text := startupFrom(t, "127.0.0.1", e.addr, host, startupMessage(many...)); kind != 'R' {
		t.Errorf("many parameters: %c %s", kind, text)
	}
	for sni, want := range map[string]byte{
		"PGT-SHAPE.Postgres.Database.Azure.COM.":               'R', // the same server
		"pgt-shape.postgres.localhost":                         'R',
		"pgt-shape.postgres.localhost" + Suffix:                'E',
		"x.pgt-shape" + Suffix:                                 'E',
		"pgt-shape" + Suffix + ".localhost":                    'E',
		"pgt-shape.postgres.database.azure.com.postgres.local": 'E',
		"pgt-ſhape" + Suffix:                                   'E',
	} {
		if kind, text := startupFrom(t, "127.0.0.1", e.addr, sni, good); kind != want {
			t.Errorf("server name %q: %c %s, want %c", sni, kind, text, want)
		}
	}
	// A client that wants another protocol than PostgreSQL over TLS (ALPN).
	raw, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(5 * time.Second))
	c := tls.Client(raw, &tls.Config{ServerName: host, InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err := c.Handshake(); err == nil {
		t.Errorf("a TLS handshake for h2 (direct TLS) went through: %q", c.ConnectionState().NegotiatedProtocol)
	}
}
