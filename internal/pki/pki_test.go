package pki

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// gcmSealer stands in for the store's master-key AES-GCM.
type gcmSealer struct {
	aead  cipher.AEAD
	seals int
}

func newSealer(t *testing.T) *gcmSealer {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return &gcmSealer{aead: aead}
}

func (s *gcmSealer) Seal(plain []byte) ([]byte, error) {
	s.seals++
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plain, []byte("pki/ca.key")), nil
}

func (s *gcmSealer) Open(sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("too short")
	}
	return s.aead.Open(nil, sealed[:n], sealed[n:], []byte("pki/ca.key"))
}

func openCA(t *testing.T, cfg Config) *CA {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(t.TempDir(), "pki")
	}
	if cfg.Domain == "" {
		cfg.Domain = "localhost"
	}
	ca, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return ca
}

func rootPool(t *testing.T, ca *CA) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca.RootPEM()) {
		t.Fatal("RootPEM holds no certificate")
	}
	return pool
}

// handshake runs a real TLS handshake over net.Pipe between a server using
// serverCfg and a client using clientCfg, returning the client's state and
// error.
func handshake(t *testing.T, serverCfg, clientCfg *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	sc, cc := net.Pipe()
	defer sc.Close()
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		srv := tls.Server(sc, serverCfg)
		err := srv.HandshakeContext(ctx)
		sc.Close() // unblock the client when the server gives up
		done <- err
	}()
	client := tls.Client(cc, clientCfg)
	err := client.HandshakeContext(ctx)
	cc.Close()
	<-done
	return client.ConnectionState(), err
}

func serverConfig(ca *CA) *tls.Config {
	return &tls.Config{GetCertificate: ca.GetCertificate, NextProtos: []string{"h2", "http/1.1"}}
}

func TestHandshake(t *testing.T) {
	ca := openCA(t, Config{})
	pool := rootPool(t, ca)
	tests := []struct {
		serverName string // what the client sends as SNI and verifies
		wantErr    string // substring of the client's error; "" for success
		wantDNS    []string
	}{
		{serverName: "app.localhost", wantDNS: []string{"app.localhost"}},
		{serverName: "app.scm.localhost", wantDNS: []string{"*.scm.localhost"}},
		{serverName: "management.localhost", wantDNS: []string{"management.localhost"}},
		{serverName: "x.blob.localhost", wantDNS: []string{"*.blob.localhost"}},
		{serverName: "v.vault.localhost", wantDNS: []string{"*.vault.localhost"}},
		{serverName: "localhost", wantDNS: []string{"localhost"}},
		{serverName: "App.LocalHost", wantDNS: []string{"app.localhost"}},
		{serverName: "app.azurewebsites.net", wantDNS: []string{"*.azurewebsites.net"}},
		{serverName: "app.scm.azurewebsites.net", wantDNS: []string{"*.scm.azurewebsites.net"}},
		{serverName: "acct.blob.core.windows.net", wantDNS: []string{"*.blob.core.windows.net"}},
		{serverName: "v.vault.azure.net", wantDNS: []string{"*.vault.azure.net"}},
		{serverName: "db1.postgres.database.azure.com", wantDNS: []string{"*.postgres.database.azure.com"}},
		{serverName: "cache1.redis.cache.windows.net", wantDNS: []string{"*.redis.cache.windows.net"}},
		{serverName: "management.azure.com", wantDNS: []string{"management.azure.com"}},
		// An IP needs no SNI: the server serves the bare-domain leaf with loopback IP SANs.
		{serverName: "127.0.0.1", wantDNS: []string{"localhost"}},
		{serverName: "::1", wantDNS: []string{"localhost"}},
		// The server refuses names the root does not cover; the handshake fails.
		{serverName: "other.example", wantErr: "remote error: tls"},
		{serverName: "localhost.example", wantErr: "remote error: tls"},
		{serverName: "x.app.scm.localhost", wantErr: "remote error: tls"},
	}
	for _, tt := range tests {
		t.Run(tt.serverName, func(t *testing.T) {
			state, err := handshake(t, serverConfig(ca), &tls.Config{
				RootCAs:    pool,
				ServerName: tt.serverName,
				NextProtos: []string{"h2", "http/1.1"},
			})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("handshake error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if state.NegotiatedProtocol != "h2" {
				t.Errorf("negotiated %q, want h2", state.NegotiatedProtocol)
			}
			leaf := state.PeerCertificates[0]
			if fmt.Sprint(leaf.DNSNames) != fmt.Sprint(tt.wantDNS) {
				t.Errorf("DNS SANs = %v, want %v", leaf.DNSNames, tt.wantDNS)
			}
			if len(state.PeerCertificates) != 2 || !state.PeerCertificates[1].Equal(ca.Root()) {
				t.Errorf("chain has %d certificates, want leaf + root", len(state.PeerCertificates))
			}
		})
	}
}

// TestGetCertificateNamesRefusedName: the server's error names the name it refused.
func TestGetCertificateNamesRefusedName(t *testing.T) {
	ca := openCA(t, Config{})
	_, err := ca.GetCertificate(&tls.ClientHelloInfo{ServerName: "other.example"})
	if err == nil || !strings.Contains(err.Error(), `"other.example"`) {
		t.Fatalf("GetCertificate(other.example) error = %v, want one naming it", err)
	}
}

// TestWrongNameRejectedByClient: a client that asks for one name and gets a
// valid leaf for another rejects it.
func TestWrongNameRejectedByClient(t *testing.T) {
	ca := openCA(t, Config{})
	cert, err := ca.Issue([]string{"app.localhost"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = handshake(t, &tls.Config{Certificates: []tls.Certificate{*cert}},
		&tls.Config{RootCAs: rootPool(t, ca), ServerName: "other.localhost"})
	var hostErr x509.HostnameError
	if !errors.As(err, &hostErr) {
		t.Fatalf("handshake error = %v, want x509.HostnameError", err)
	}
}

// TestHTTP2 serves real HTTP over a loopback listener and checks that a
// client trusting only the root speaks HTTP/2 to the platform's names.
func TestHTTP2(t *testing.T) {
	ca := openCA(t, Config{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.Proto, r.Host)
	}))
	srv.EnableHTTP2 = true
	srv.TLS = serverConfig(ca)
	srv.StartTLS()
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	_, port, _ := net.SplitHostPort(addr)

	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: rootPool(t, ca)},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr) // every name resolves here
		},
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for _, host := range []string{"app.localhost", "app.scm.localhost", "localhost"} {
		t.Run(host, func(t *testing.T) {
			resp, err := client.Get("https://" + host + ":" + port + "/")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.ProtoMajor != 2 || !strings.HasPrefix(string(body), "HTTP/2.0 ") {
				t.Errorf("proto = %s, body %q; want HTTP/2", resp.Proto, body)
			}
		})
	}
}

func TestPermits(t *testing.T) {
	ca := openCA(t, Config{})
	tests := []struct {
		name string
		want bool
	}{
		{"localhost", true},
		{"app.localhost", true},
		{"a.b.c.localhost", true},
		{"LOCALHOST.", true},
		{"mystorage.blob.core.windows.net", true},
		{"core.windows.net", true},
		{"app.azurewebsites.net", true},
		{"management.azure.com", true},
		{"login.microsoftonline.com", true},
		{"myvault.vault.azure.net", true},
		{"127.0.0.1", true},
		{"127.8.9.10", true},
		{"::1", true},
		{"169.254.169.254", true},

		{"example.com", false},
		{"google.com", false},
		{"other.example", false},
		{"evillocalhost", false},
		{"localhost.evil.com", false},
		{"evilcore.windows.net", false},
		{"windows.net", false},
		{"azure.com", false},
		{"portal.azure.com", false},
		{"*.localhost", false},
		{"", false},
		{".localhost", false},
		{"a..localhost", false},
		{"-a.localhost", false},
		{"8.8.8.8", false},
		{"10.0.0.1", false},
		{"::2", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ca.Permits(tt.name); got != tt.want {
				t.Errorf("Permits(%q) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}

func TestIssueRefusesForbiddenNames(t *testing.T) {
	ca := openCA(t, Config{})
	tests := []struct {
		label string
		names []string
		ips   []net.IP
	}{
		{"example.com", []string{"example.com"}, nil},
		{"google.com", []string{"google.com"}, nil},
		{"one bad among good", []string{"app.localhost", "google.com"}, nil},
		{"wildcard", []string{"*.localhost"}, nil},
		{"public IP", []string{"localhost"}, []net.IP{net.ParseIP("8.8.8.8")}},
		{"nothing", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			if cert, err := ca.Issue(tt.names, tt.ips); err == nil {
				t.Fatalf("Issue(%v, %v) issued %v, want an error", tt.names, tt.ips, cert.Leaf.DNSNames)
			}
		})
	}
}

// TestNameConstraintsEnforced signs leaves with the root key directly,
// bypassing Issue, and checks that crypto/x509's verifier rejects the ones
// outside the constraints because of them.
func TestNameConstraintsEnforced(t *testing.T) {
	ca := openCA(t, Config{})
	pool := rootPool(t, ca)
	tests := []struct {
		label   string
		dns     []string
		ips     []net.IP
		wantErr bool
	}{
		{"permitted name", []string{"app.localhost"}, nil, false},
		{"permitted Azure name", []string{"x.blob.core.windows.net"}, nil, false},
		{"permitted IP", nil, []net.IP{net.ParseIP("169.254.0.1")}, false},
		{"google.com", []string{"google.com"}, nil, true},
		{"example.com", []string{"example.com"}, nil, true},
		{"smuggled beside a permitted name", []string{"app.localhost", "google.com"}, nil, true},
		{"public IP", nil, []net.IP{net.ParseIP("8.8.8.8")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			tmpl := &x509.Certificate{
				SerialNumber: randomSerialT(t),
				Subject:      pkix.Name{CommonName: "forged"},
				NotBefore:    time.Now().Add(-time.Hour),
				NotAfter:     time.Now().Add(time.Hour),
				KeyUsage:     x509.KeyUsageDigitalSignature,
				ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
				DNSNames:     tt.dns,
				IPAddresses:  tt.ips,
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.root, key.Public(), ca.key)
			if err != nil {
				t.Fatal(err)
			}
			leaf, _ := x509.ParseCertificate(der)
			_, err = leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			var invalid x509.CertificateInvalidError
			if !errors.As(err, &invalid) || invalid.Reason != x509.CANotAuthorizedForThisName {
				t.Fatalf("Verify error = %v, want CANotAuthorizedForThisName", err)
			}
		})
	}
}

func randomSerialT(t *testing.T) *big.Int {
	t.Helper()
	s, err := randomSerial()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRootCertificate(t *testing.T) {
	c := &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	dir := filepath.Join(t.TempDir(), "pki")
	ca := openCA(t, Config{Dir: dir, Now: c.Now})
	root := ca.Root()
	if got, want := root.Subject.CommonName, "Slipway Platform Root CA localhost"; got != want {
		t.Errorf("CN = %q, want %q", got, want)
	}
	if pub, ok := root.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("root key is %T, want ECDSA P-256", root.PublicKey)
	}
	if !root.IsCA || root.MaxPathLen != 0 || !root.MaxPathLenZero {
		t.Errorf("IsCA=%v MaxPathLen=%d, want a CA that signs leaves only", root.IsCA, root.MaxPathLen)
	}
	if !root.PermittedDNSDomainsCritical {
		t.Error("name constraints are not critical")
	}
	wantDNS := "[localhost core.windows.net azurewebsites.net management.azure.com login.microsoftonline.com vault.azure.net postgres.database.azure.com redis.cache.windows.net]"
	if got := fmt.Sprint(root.PermittedDNSDomains); got != wantDNS {
		t.Errorf("PermittedDNSDomains = %s, want %s", got, wantDNS)
	}
	if got := fmt.Sprint(root.PermittedIPRanges); got != "[127.0.0.0/8 ::1/128 169.254.0.0/16]" {
		t.Errorf("PermittedIPRanges = %s", got)
	}
	if got := root.NotAfter.Sub(c.Now()); got < 3650*24*time.Hour {
		t.Errorf("root valid for %v from now, want 10 years", got)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, certFile): 0o644, filepath.Join(dir, unsealedKeyFile): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode = %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
}

func TestLeafCertificate(t *testing.T) {
	c := &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	ca := openCA(t, Config{Now: c.Now, LeafLifetime: 24 * time.Hour})
	cert, err := ca.Issue([]string{"app.localhost", "app.scm.localhost"}, []net.IP{net.ParseIP("169.254.1.1")})
	if err != nil {
		t.Fatal(err)
	}
	leaf := cert.Leaf
	if got := fmt.Sprint(leaf.DNSNames); got != "[app.localhost app.scm.localhost]" {
		t.Errorf("DNSNames = %s", got)
	}
	if !leaf.NotBefore.Equal(c.Now().Add(-5*time.Minute)) || !leaf.NotAfter.Equal(c.Now().Add(24*time.Hour)) {
		t.Errorf("validity %v – %v, want now−5m – now+24h", leaf.NotBefore, leaf.NotAfter)
	}
	if leaf.IsCA || fmt.Sprint(leaf.ExtKeyUsage) != fmt.Sprint([]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("IsCA=%v ExtKeyUsage=%v, want a server-auth leaf", leaf.IsCA, leaf.ExtKeyUsage)
	}
	if pub, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("leaf key is %T, want ECDSA P-256", leaf.PublicKey)
	}
	if leaf.SerialNumber.BitLen() < 64 {
		t.Errorf("serial %v looks too short to be random 128-bit", leaf.SerialNumber)
	}
	if len(cert.Certificate) != 2 || !bytes.Equal(cert.Certificate[1], ca.Root().Raw) {
		t.Error("chain is not leaf + root")
	}
	other, _ := ca.Issue([]string{"app.localhost"}, nil)
	if other.Leaf.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
		t.Error("two leaves share a serial number")
	}
}

// TestRenewal moves the clock: a cached leaf is reused until less than a
// third of its life is left, then renewed; a client after the old leaf's
// NotAfter rejects the old leaf and accepts the new one.
func TestRenewal(t *testing.T) {
	c := &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	ca := openCA(t, Config{Now: c.Now})
	hello := &tls.ClientHelloInfo{ServerName: "app.localhost"}
	first, err := ca.GetCertificate(hello)
	if err != nil {
		t.Fatal(err)
	}
	if got := first.Leaf.NotAfter.Sub(c.Now()); got != 7*24*time.Hour {
		t.Fatalf("default leaf lifetime = %v, want 7 days", got)
	}

	c.Add(4 * 24 * time.Hour) // 3 of 7 days left: more than a third
	same, _ := ca.GetCertificate(hello)
	if same != first {
		t.Fatal("leaf renewed while more than a third of its life was left")
	}

	c.Add(24 * time.Hour) // 2 of 7 days left: less than a third
	renewed, _ := ca.GetCertificate(hello)
	if renewed == first {
		t.Fatal("leaf not renewed with less than a third of its life left")
	}
	if !renewed.Leaf.NotAfter.After(first.Leaf.NotAfter) {
		t.Errorf("renewed leaf expires %v, not after the old %v", renewed.Leaf.NotAfter, first.Leaf.NotAfter)
	}

	later := first.Leaf.NotAfter.Add(time.Minute)
	tests := []struct {
		label   string
		cert    *tls.Certificate
		wantErr bool
	}{
		{"old leaf", first, true},
		{"renewed leaf", renewed, false},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			_, err := handshake(t, &tls.Config{Certificates: []tls.Certificate{*tt.cert}},
				&tls.Config{RootCAs: rootPool(t, ca), ServerName: "app.localhost", Time: func() time.Time { return later }})
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("handshake: %v", err)
				}
				return
			}
			var invalid x509.CertificateInvalidError
			if !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
				t.Fatalf("handshake error = %v, want an expired certificate", err)
			}
		})
	}
}

// TestLeafNames: the name of the leaf that serves each ClientHello's name,
// on the default domain of one label and on a domain of two.
func TestLeafNames(t *testing.T) {
	tests := []struct {
		domain, name, want, wantErr string
	}{
		{"localhost", "localhost", "localhost", ""},
		{"localhost", "app.localhost", "app.localhost", ""}, // no *.localhost: OpenSSL refuses it
		{"localhost", "app-staging.localhost", "app-staging.localhost", ""},
		{"localhost", "app.scm.localhost", "*.scm.localhost", ""},
		{"localhost", "acct.blob.localhost", "*.blob.localhost", ""},
		{"localhost", "kv.vault.localhost", "*.vault.localhost", ""},
		{"localhost", "x.app.scm.localhost", "", "3 labels below localhost"},
		{"localhost", "app.azurewebsites.net", "*.azurewebsites.net", ""},
		{"localhost", "app.scm.azurewebsites.net", "*.scm.azurewebsites.net", ""},
		{"localhost", "acct.blob.core.windows.net", "*.blob.core.windows.net", ""},
		{"localhost", "x.acct.blob.core.windows.net", "", "3 labels below core.windows.net"},
		{"localhost", "kv.vault.azure.net", "*.vault.azure.net", ""},
		{"localhost", "management.azure.com", "management.azure.com", ""},
		{"localhost", "login.microsoftonline.com", "login.microsoftonline.com", ""},
		{"apps.example.test", "apps.example.test", "apps.example.test", ""},
		{"apps.example.test", "app.apps.example.test", "*.apps.example.test", ""},
		{"apps.example.test", "app.scm.apps.example.test", "*.scm.apps.example.test", ""},
		{"apps.example.test", "a.app.scm.apps.example.test", "", "3 labels below apps.example.test"},
	}
	cas := map[string]*CA{}
	for _, tt := range tests {
		t.Run(tt.domain+"/"+tt.name, func(t *testing.T) {
			ca := cas[tt.domain]
			if ca == nil {
				ca = openCA(t, Config{Domain: tt.domain})
				cas[tt.domain] = ca
			}
			got, err := ca.leafName(tt.name)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("leafName(%s) = %q, %v; want an error containing %q", tt.name, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("leafName(%s) = %q, %v; want %q", tt.name, got, err, tt.want)
			}
		})
	}
}

// TestIssuanceBucket: with the bucket empty, a name never served is
// refused, a cached leaf due for renewal is served until it expires, and
// the bucket refills with time.
func TestIssuanceBucket(t *testing.T) {
	c := &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	ca := openCA(t, Config{Now: c.Now})
	get := func(name string) (*tls.Certificate, error) {
		return ca.GetCertificate(&tls.ClientHelloInfo{ServerName: name})
	}
	first, err := get("app.localhost")
	if err != nil {
		t.Fatal(err)
	}
	c.Add(5 * 24 * time.Hour) // 2 of 7 days left: due for renewal
	ca.issuance.tokens, ca.issuance.last = 0, c.Now()
	if _, err := get("new.localhost"); err == nil || !strings.Contains(err.Error(), `"new.localhost": too many new certificates`) {
		t.Errorf("a new name with the bucket empty: error = %v, want a refusal naming it", err)
	}
	if same, err := get("app.localhost"); err != nil || same != first {
		t.Errorf("renewal with the bucket empty = %v; want the cached leaf until it expires", err)
	}
	c.Add(time.Second / issuePerSecond)
	if renewed, err := get("app.localhost"); err != nil || renewed == first {
		t.Errorf("renewal once the bucket refilled: err %v, renewed %v", err, renewed != first)
	}
	c.Add(2 * 24 * time.Hour) // the old leaf has expired, the renewed one not
	ca.issuance.tokens, ca.issuance.last = 0, c.Now()
	if _, err := get("other.localhost"); err == nil {
		t.Error("a new name was issued with the bucket empty")
	}
}

func TestCacheBound(t *testing.T) {
	ca := openCA(t, Config{})
	ca.maxLeaves = 8
	ca.issuance.burst, ca.issuance.tokens = 1000, 1000
	get := func(name string) *tls.Certificate {
		t.Helper()
		cert, err := ca.GetCertificate(&tls.ClientHelloInfo{ServerName: name})
		if err != nil {
			t.Fatal(err)
		}
		return cert
	}
	first := get("n0.localhost")
	for i := 1; i < 100; i++ {
		get(fmt.Sprintf("n%d.localhost", i))
		if n, m := len(ca.leaves), ca.order.Len(); n > 8 || n != m {
			t.Fatalf("after %d names the cache holds %d (list %d), want at most 8", i+1, n, m)
		}
	}
	last := get("n99.localhost")
	if again := get("n99.localhost"); again != last {
		t.Error("the newest entry was evicted")
	}
	if again := get("n0.localhost"); again == first {
		t.Error("the oldest entry survived 99 newer names")
	}
	// Eviction takes the leaf served least recently, not the oldest.
	kept := get("kept.localhost")
	for i := range 20 {
		get(fmt.Sprintf("m%d.localhost", i))
		if again := get("kept.localhost"); again != kept {
			t.Fatalf("a leaf served after every new name was evicted after %d", i+1)
		}
	}
	if maxCachedLeaves != 10000 {
		t.Errorf("maxCachedLeaves = %d, want 10000", maxCachedLeaves)
	}
}

func TestConcurrentGetCertificate(t *testing.T) {
	ca := openCA(t, Config{})
	var wg sync.WaitGroup
	certs := make([]*tls.Certificate, 16)
	for i := range certs {
		wg.Go(func() {
			certs[i], _ = ca.GetCertificate(&tls.ClientHelloInfo{ServerName: "app.localhost"})
		})
	}
	wg.Wait()
	for _, c := range certs {
		if c == nil || c != certs[0] {
			t.Fatal("concurrent requests for one name got different leaves")
		}
	}
}

func TestReopen(t *testing.T) {
	tests := []struct {
		label  string
		sealed bool
	}{
		{"unsealed", false},
		{"sealed", true},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			cfg := Config{Dir: filepath.Join(t.TempDir(), "pki"), Domain: "localhost"}
			if tt.sealed {
				s := newSealer(t)
				cfg.Seal, cfg.Open = s.Seal, s.Open
			}
			first := openCA(t, cfg)
			second := openCA(t, cfg)
			if !bytes.Equal(first.RootPEM(), second.RootPEM()) {
				t.Error("reopen changed the root certificate")
			}
			if !first.key.PublicKey.Equal(second.key.Public()) {
				t.Error("reopen changed the root key")
			}
			// A leaf from the reopened CA verifies against the first root.
			cert, err := second.Issue([]string{"app.localhost"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: rootPool(t, first), DNSName: "app.localhost"}); err != nil {
				t.Errorf("leaf from the reopened CA: %v", err)
			}
		})
	}
}

func TestSealedKeyAtRest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	s := newSealer(t)
	ca := openCA(t, Config{Dir: dir, Seal: s.Seal, Open: s.Open})
	if s.seals != 1 {
		t.Errorf("Seal called %d times, want 1", s.seals)
	}
	data, err := os.ReadFile(filepath.Join(dir, sealedKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(ca.key)
	if bytes.Contains(data, []byte("PRIVATE KEY")) || bytes.Contains(data, der) || bytes.Contains(data, ca.key.D.Bytes()) {
		t.Error("the key file holds the key in clear")
	}
	if _, err := os.Stat(filepath.Join(dir, unsealedKeyFile)); err == nil {
		t.Error("a clear key file exists beside the sealed one")
	}
	if fi, _ := os.Stat(filepath.Join(dir, sealedKeyFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("sealed key mode = %v, want 0600", fi.Mode().Perm())
	}
}

// TestBrokenRootIsAnError: a root that cannot be loaded is an error, never
// silently replaced; the files on disk stay as they were.
func TestBrokenRootIsAnError(t *testing.T) {
	s := newSealer(t)
	other := newSealer(t)
	tests := []struct {
		label   string
		sealed  bool
		corrupt func(t *testing.T, dir string)
		reopen  func(cfg *Config)
		wantErr string
	}{
		{
			label:   "corrupt clear key",
			corrupt: func(t *testing.T, dir string) { write(t, filepath.Join(dir, unsealedKeyFile), "garbage") },
			wantErr: "no PEM private key",
		},
		{
			label:  "corrupt sealed key",
			sealed: true,
			corrupt: func(t *testing.T, dir string) {
				write(t, filepath.Join(dir, sealedKeyFile), "garbage-garbage-garbage-garbage")
			},
			wantErr: "wrong master key",
		},
		{
			label:   "wrong master key",
			sealed:  true,
			reopen:  func(cfg *Config) { cfg.Seal, cfg.Open = other.Seal, other.Open },
			wantErr: "wrong master key",
		},
		{
			label:   "missing key",
			corrupt: func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, unsealedKeyFile)) },
			wantErr: "key",
		},
		{
			label:   "missing certificate",
			corrupt: func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, certFile)) },
			wantErr: "certificate",
		},
		{
			label: "key of another root",
			corrupt: func(t *testing.T, dir string) {
				o := openCA(t, Config{})
				der, _ := x509.MarshalPKCS8PrivateKey(o.key)
				write(t, filepath.Join(dir, unsealedKeyFile), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
			},
			wantErr: "does not belong",
		},
		{
			label:   "sealed key, no Open",
			sealed:  true,
			reopen:  func(cfg *Config) { cfg.Seal, cfg.Open = nil, nil },
			wantErr: "sealed",
		},
		{
			label:   "clear key, sealing configured",
			reopen:  func(cfg *Config) { cfg.Seal, cfg.Open = s.Seal, s.Open },
			wantErr: "in clear",
		},
		{
			label:   "domain changed",
			reopen:  func(cfg *Config) { cfg.Domain = "example.test" },
			wantErr: `may not vouch for the domain "example.test"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "pki")
			cfg := Config{Dir: dir, Domain: "localhost"}
			if tt.sealed {
				cfg.Seal, cfg.Open = s.Seal, s.Open
			}
			openCA(t, cfg)
			if tt.corrupt != nil {
				tt.corrupt(t, dir)
			}
			before := snapshot(t, dir)
			if tt.reopen != nil {
				tt.reopen(&cfg)
			}
			_, err := Open(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Open error = %v, want one containing %q", err, tt.wantErr)
			}
			if after := snapshot(t, dir); after != before {
				t.Errorf("Open changed the directory:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func snapshot(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		fmt.Fprintf(&b, "%s:%x ", e.Name(), data)
	}
	return b.String()
}
