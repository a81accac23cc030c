package frontdoor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stalledPort returns a loopback port whose SYNs an nftables rule of the
// test's own drops, so a connect to it stays in progress; the rule goes
// with the test. It needs root and nft, and skips without them.
func stalledPort(t *testing.T) netip.AddrPort {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for an nftables rule")
	}
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("needs nft")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ap := netip.MustParseAddrPort(ln.Addr().String())
	table := fmt.Sprintf("slipway_dialtest_%d", os.Getpid())
	rules := fmt.Sprintf("table inet %s {\n chain input {\n type filter hook input priority -300; policy accept;\n tcp dport %d tcp flags syn drop\n }\n}\n", table, ap.Port())
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("nft: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("nft", "delete", "table", "inet", table).Run() })
	return ap
}

// TestDialIP: a connection that works both ways and names its peer; a
// refused one is a dial error the instance retry takes; a connect that
// never completes ends at the timeout (a dial error too) or, sooner, when
// the request's context ends (the context's error, which the retry does
// not take).
func TestDialIP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.Copy(c, c)
			c.Close()
		}
	}()
	ap, ok := dialable(ln.Addr().String())
	if !ok {
		t.Fatalf("dialable(%s) = false", ln.Addr())
	}
	c, err := dialIP(t.Context(), ap, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "ping"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" || c.RemoteAddr().String() != ln.Addr().String() {
		t.Fatalf("echo %q, %v; remote %v", buf, err, c.RemoteAddr())
	}
	if _, ok := c.(interface {
		SyscallConn() (syscall.RawConn, error)
	}); !ok {
		t.Fatal("the connection has no SyscallConn: the idle peek would be skipped")
	}
	c.Close()

	// Refused: nothing listens there any more.
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAP, _ := dialable(dead.Addr().String())
	dead.Close()
	_, err = dialIP(t.Context(), deadAP, time.Second)
	var op *net.OpError
	if !errors.Is(err, syscall.ECONNREFUSED) || !errors.As(err, &op) || op.Op != "dial" || !isRefused(err) {
		t.Fatalf("refused: %v (%T)", err, err)
	}

	// Never completed: the timeout, then the context.
	full := stalledPort(t)
	start := time.Now()
	_, err = dialIP(t.Context(), full, 300*time.Millisecond)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !isRefused(err) || time.Since(start) > 5*time.Second {
		t.Fatalf("stalled connect: %v after %v; want a dial timeout after 300ms", err, time.Since(start))
	}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	_, err = dialIP(ctx, full, 10*time.Second)
	if !errors.Is(err, context.Canceled) || isRefused(err) || time.Since(start) > 5*time.Second {
		t.Fatalf("cancelled connect: %v after %v", err, time.Since(start))
	}

	// Not an IP literal, or zoned: left to net.Dialer.
	for _, a := range []string{"localhost:80", "[fe80::1%lo]:80", "127.0.0.1"} {
		if _, ok := dialable(a); ok {
			t.Errorf("dialable(%q) = true", a)
		}
	}
	if ap, ok := dialable("[::ffff:127.0.0.1]:80"); !ok || !ap.Addr().Is4() {
		t.Errorf("a 4-in-6 address: %v %v", ap, ok)
	}
}

// TestDialIPv6: the same over IPv6 loopback, where the host has it.
func TestDialIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Write([]byte("v6"))
			c.Close()
		}
	}()
	ap, _ := dialable(ln.Addr().String())
	c, err := dialIP(t.Context(), ap, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	if string(b) != "v6" || err != nil {
		t.Fatalf("read %q, %v", b, err)
	}
}
