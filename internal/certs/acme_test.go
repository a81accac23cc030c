package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/certs/acmetest"
	"github.com/slipway-dev/slipway/internal/dnstest"
)

// pebble is Let's Encrypt's test CA run in-process (acmetest).
type pebble struct {
	dirURL string
	roots  *x509.CertPool // trusts the WFE's HTTPS
	issued *x509.CertPool // Pebble's root, which signs issued certificates
	dns    *dnstest.Server
}

func startPebble(t *testing.T, validitySeconds uint64, httpPort, tlsPort int) *pebble {
	t.Helper()
	p := acmetest.Start(t, validitySeconds, httpPort, tlsPort)
	return &pebble{dirURL: p.DirURL, roots: p.Roots, issued: p.Issued, dns: p.DNS}
}

// serveChallenges serves h on 127.0.0.1 over HTTP, as the front door will
// for /.well-known/acme-challenge/, and returns the port.
func serveChallenges(t *testing.T, h http.Handler) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return ln.Addr().(*net.TCPAddr).Port
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func newTestIssuer(t *testing.T, p *pebble, ch *Challenges, alpn bool) *Issuer {
	t.Helper()
	var mu sync.Mutex
	var saved []byte
	iss, err := NewIssuer(Config{
		DirectoryURL: p.dirURL,
		Email:        "admin@example.test",
		Roots:        p.roots,
		Timeout:      60 * time.Second,
		TLSALPN:      alpn,
		LoadAccountKey: func(context.Context) ([]byte, error) {
			mu.Lock()
			defer mu.Unlock()
			return saved, nil
		},
		SaveAccountKey: func(_ context.Context, k []byte) error {
			mu.Lock()
			defer mu.Unlock()
			saved = k
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ch != nil {
		iss.challenges = ch
	}
	return iss
}

func verifyIssued(t *testing.T, p *pebble, c *Cert, name string) {
	t.Helper()
	inter := x509.NewCertPool()
	for _, der := range c.TLS.Certificate[1:] {
		ic, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		inter.AddCert(ic)
	}
	if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: p.issued, Intermediates: inter}); err != nil {
		t.Fatalf("issued certificate does not verify against Pebble's root: %v", err)
	}
}

// memStore is the test's ManagedStore.
type memStore struct {
	mu       sync.Mutex
	certs    map[string]Managed
	failures map[string]error
}

func (s *memStore) ManagedCertificates(context.Context) ([]Managed, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Managed
	for _, m := range s.certs {
		out = append(out, m)
	}
	return out, nil
}

func (s *memStore) SaveRenewed(_ context.Context, id string, c *Cert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.certs[id]
	m.Cert = c
	s.certs[id] = m
	return nil
}

func (s *memStore) RecordRenewalFailure(_ context.Context, id string, reason error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[id] = reason
	return nil
}

func (s *memStore) get(id string) (*Cert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.certs[id].Cert, s.failures[id]
}

// TestACMEIssueBindRenew: a managed certificate is issued through HTTP-01,
// served by SNI beside an uploaded one, renewed when due, and kept when a
// renewal fails.
func TestACMEIssueBindRenew(t *testing.T) {
	ch := NewChallenges()
	p := startPebble(t, 3600, serveChallenges(t, ch), closedPort(t))
	const name = "www.example.test"
	p.dns.SetA(name, "127.0.0.1")
	iss := newTestIssuer(t, p, ch, false)
	ctx := context.Background()

	first, err := iss.Obtain(ctx, []string{name})
	if err != nil {
		t.Fatal(err)
	}
	verifyIssued(t, p, first, name)
	if got := first.NotAfter.Sub(first.NotBefore); got > 3601*time.Second {
		t.Errorf("validity %v, want Pebble's configured hour", got)
	}

	// SNI picks among several bindings: the managed certificate for its
	// name, an uploaded one for another.
	uploaded, err := ParsePFX(encodePFX(t, validFixture(t), "pw"), "pw")
	if err != nil {
		t.Fatal(err)
	}
	tab := NewTable()
	tab.Replace(map[string]*tls.Certificate{name: &first.TLS, "www.contoso.com": &uploaded.TLS, "*.contoso.com": &uploaded.TLS})
	addr := serveTLS(t, tab)
	for sni, want := range map[string]string{name: first.Thumbprint, "WWW.CONTOSO.COM": uploaded.Thumbprint, "api.contoso.com": uploaded.Thumbprint} {
		if got := servedThumbprint(t, addr, sni); got != want {
			t.Errorf("SNI %s served %s, want %s", sni, got, want)
		}
	}

	// Renewal: not due at issuance, due when less than a third remains.
	clock := first.NotBefore.Add(time.Minute)
	store := &memStore{certs: map[string]Managed{"m1": {ID: "m1", Domains: []string{name}, Cert: first}}, failures: map[string]error{}}
	r := &Renewer{Store: store, Issuer: iss, Now: func() time.Time { return clock }, RetryMin: time.Hour}
	if err := r.RenewDue(ctx); err != nil {
		t.Fatal(err)
	}
	if c, _ := store.get("m1"); c != first {
		t.Fatal("renewed a certificate that was not due")
	}
	clock = first.NotAfter.Add(-10 * time.Minute)
	if err := r.RenewDue(ctx); err != nil {
		t.Fatal(err)
	}
	second, _ := store.get("m1")
	if second == first || second.Thumbprint == first.Thumbprint || second.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0 {
		t.Fatal("renewal did not yield a new certificate")
	}
	verifyIssued(t, p, second, name)

	// A failed challenge: the name now resolves where nothing answers. The
	// renewal fails with the CA's reason and the previous certificate stays.
	p.dns.SetA(name, "127.0.0.2")
	clock = second.NotAfter.Add(-10 * time.Minute)
	err = r.RenewDue(ctx)
	if err == nil {
		t.Fatal("renewal succeeded with the name pointing nowhere")
	}
	kept, recorded := store.get("m1")
	if kept != second {
		t.Fatal("a failed renewal replaced the certificate")
	}
	for _, e := range []error{err, recorded} {
		if msg := slipway.ErrorMessage(unwrapSlipway(e)); !strings.Contains(msg, "could not validate "+name) || !strings.Contains(msg, "127.0.0.2") {
			t.Errorf("failure = %v, want the name and the CA's explanation", e)
		}
	}
	// Backoff: the next pass within RetryMin does not ask the CA again.
	p.dns.SetA(name, "127.0.0.1")
	if err := r.RenewDue(ctx); err != nil {
		t.Fatalf("pass during backoff: %v", err)
	}
	if c, _ := store.get("m1"); c != second {
		t.Fatal("retried during backoff")
	}
	clock = clock.Add(time.Hour)
	if err := r.RenewDue(ctx); err != nil {
		t.Fatalf("retry after backoff: %v", err)
	}
	if c, _ := store.get("m1"); c == second {
		t.Fatal("no retry after the backoff")
	}
}

func unwrapSlipway(err error) error {
	var se *slipway.Error
	if errors.As(err, &se) {
		return se
	}
	return err
}

// TestACMEChallengeNotAnswered: the front door stops answering; Obtain says
// which name failed and why.
func TestACMEChallengeNotAnswered(t *testing.T) {
	ch := NewChallenges()
	var answering atomic.Bool
	port := serveChallenges(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !answering.Load() {
			http.NotFound(w, r)
			return
		}
		ch.ServeHTTP(w, r)
	}))
	p := startPebble(t, 3600, port, closedPort(t))
	p.dns.SetA("shop.example.test", "127.0.0.1")
	iss := newTestIssuer(t, p, ch, false)
	_, err := iss.Obtain(context.Background(), []string{"shop.example.test"})
	if slipway.ErrorCode(err) != slipway.EINVALID {
		t.Fatalf("err = %v, want EINVALID", err)
	}
	if msg := slipway.ErrorMessage(err); !strings.Contains(msg, "The ACME server could not validate shop.example.test: ") || !strings.Contains(msg, "404") {
		t.Errorf("message = %q", msg)
	}
	t.Logf("failure as the user sees it: %s", slipway.ErrorMessage(err))
	answering.Store(true)
	c, err := iss.Obtain(context.Background(), []string{"shop.example.test"})
	if err != nil {
		t.Fatalf("with the handler answering: %v", err)
	}
	verifyIssued(t, p, c, "shop.example.test")
}

// TestACMETLSALPN: with HTTP closed, the TLS-ALPN-01 challenge is answered by
// the GetCertificate hook on an acme-tls/1 handshake.
func TestACMETLSALPN(t *testing.T) {
	ch := NewChallenges()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		GetCertificate: ch.GetCertificate,
		NextProtos:     []string{ACMETLSProtocol},
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			_ = conn.(*tls.Conn).Handshake()
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	p := startPebble(t, 3600, closedPort(t), ln.Addr().(*net.TCPAddr).Port)
	p.dns.SetA("alpn.example.test", "127.0.0.1")
	c, err := newTestIssuer(t, p, ch, true).Obtain(context.Background(), []string{"alpn.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	verifyIssued(t, p, c, "alpn.example.test")
}

func serveTLS(t *testing.T, tab *Table) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app") }))
	srv.TLS = &tls.Config{GetCertificate: tab.GetCertificate}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func servedThumbprint(t *testing.T, addr, sni string) string {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("handshake for %s: %v", sni, err)
	}
	defer conn.Close()
	return Thumbprint(conn.ConnectionState().PeerCertificates[0].Raw)
}
