package pgflex

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// A client that starts sessions and never answers the password request
// holds one of the cluster's connection slots each, until PostgreSQL's
// authentication_timeout. With the 0.0.0.0 rule any app may do that to any
// server: it must not shut out the platform nor the server's own clients.
func TestAttack_UnauthenticatedSessionsCannotFillAServer(t *testing.T) {
	// The attacker's apps come from 127.0.1.x, as many addresses as it
	// has instances; the owner's client from 127.0.0.1, which a rule of
	// the server names.
	e := newEnvWith(t, func(c *Config) {
		c.Apps = func(a netip.Addr) bool { return netip.MustParsePrefix("127.0.1.0/24").Contains(a) }
	})
	ctx := context.Background()
	mustCreate(t, e, "pgt-fill")
	e.m.SetFirewallRules("pgt-fill", []FirewallRule{{Start: netip.IPv4Unspecified(), End: netip.IPv4Unspecified()}, allowLocal[0]})
	host := "pgt-fill" + Suffix
	var held []net.Conn
	t.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	msg := startupMessage("user", "myadmin", "database", "postgres")
	var tlsConns []*tls.Conn
	for i := range 110 {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(i%11+2))}, Timeout: 5 * time.Second}
		raw, err := d.Dial("tcp", e.internal)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, raw)
		raw.Write(be32(8, sslRequestCode))
		var s [1]byte
		if _, err := io.ReadFull(raw, s[:]); err != nil {
			continue
		}
		c := tls.Client(raw, &tls.Config{ServerName: host, InsecureSkipVerify: true})
		c.Write(msg)
		tlsConns = append(tlsConns, c)
	}
	// Each waits for the cluster's password request ('R') or its turn.
	var wg sync.WaitGroup
	for _, c := range tlsConns {
		wg.Go(func() {
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			io.ReadFull(c, make([]byte, 1))
		})
	}
	wg.Wait()
	if err := e.m.CreateDatabase(ctx, "pgt-fill", "stillmine", "", ""); err != nil {
		t.Errorf("the platform was shut out: %v", err)
	}
	if _, err := psqlAt(t, e.addr, host, "myadmin", adminPW, "postgres", "SELECT 1"); err != nil {
		t.Errorf("the server's own client was shut out: %v", err)
	}
}

// A burst of sessions from one app (its workers starting at once) may be
// more than its share signing in at once: the rest wait their turn, and
// are not refused.
func TestBurstOfSessionsWaitsItsTurn(t *testing.T) {
	e := newEnv(t)
	mustCreate(t, e, "pgt-burst")
	e.m.SetFirewallRules("pgt-burst", allowLocal)
	host := "pgt-burst" + Suffix
	// The app's share, signing in slowly.
	var slow []net.Conn
	for range maxSigningInPerClient {
		raw, err := net.Dial("tcp", e.internal)
		if err != nil {
			t.Fatal(err)
		}
		slow = append(slow, raw)
		raw.Write(be32(8, sslRequestCode))
		io.ReadFull(raw, make([]byte, 1))
		c := tls.Client(raw, &tls.Config{ServerName: host, InsecureSkipVerify: true})
		c.Write(startupMessage("user", "myadmin", "database", "postgres"))
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := psqlAt(t, e.internal, host, "myadmin", adminPW, "postgres", "SELECT 1")
		done <- err
	}()
	time.Sleep(time.Second)
	for _, c := range slow {
		c.Close()
	}
	if err := <-done; err != nil {
		t.Fatalf("a session past the share signing in: %v", err)
	}
}
