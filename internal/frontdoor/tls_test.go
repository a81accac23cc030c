package frontdoor

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

// tlsSites gives each site its minimum TLS versions.
type tlsSites map[string]SiteState

func (s tlsSites) SiteExists(_ context.Context, name string) (bool, error) {
	return s[name].Exists, nil
}
func (s tlsSites) SiteState(_ context.Context, name string) (SiteState, error) { return s[name], nil }

// serveHandshakes listens with cfg and completes each connection's
// handshake, then closes it.
func serveHandshakes(t *testing.T, cfg *tls.Config) net.Listener {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c.SetDeadline(time.Now().Add(5 * time.Second))
				c.(*tls.Conn).Handshake()
				c.Close()
			}()
		}
	}()
	return ln
}

// TestMinTLSVersionPerSite: a handshake for an app's name takes the site's
// minTlsVersion, its Kudu name the scmMinTlsVersion, and other names the
// listener's minimum — whatever version the client offers.
func TestMinTLSVersionPerSite(t *testing.T) {
	f := New(Config{Domain: "localhost", Sites: tlsSites{
		"strict": {Exists: true, MinTLSVersion: "1.3", SCMMinTLSVersion: "1.2"},
		"legacy": {Exists: true, MinTLSVersion: "1.0", SCMMinTLSVersion: "1.3"},
		"plain":  {Exists: true},
	}})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	base := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	ln := serveHandshakes(t, f.TLSConfig(base))
	handshake := func(name string, maxV uint16) error {
		d := &net.Dialer{Timeout: 5 * time.Second}
		c, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), &tls.Config{ServerName: name, InsecureSkipVerify: true,
			MinVersion: tls.VersionTLS10, MaxVersion: maxV})
		if err == nil {
			c.Close()
		}
		return err
	}
	for _, tc := range []struct {
		name string
		max  uint16
		ok   bool
	}{
		{"strict.localhost", tls.VersionTLS12, false},
		{"strict.localhost", tls.VersionTLS13, true},
		{"STRICT.localhost.", tls.VersionTLS12, false}, // case and a trailing dot change nothing
		{"strict.azurewebsites.net", tls.VersionTLS12, false},
		{"strict.scm.localhost", tls.VersionTLS12, true},
		{"legacy.localhost", tls.VersionTLS11, true},
		{"legacy.scm.localhost", tls.VersionTLS12, false},
		{"plain.localhost", tls.VersionTLS11, false}, // no setting: the listener's 1.2
		{"plain.localhost", tls.VersionTLS12, true},
		{"management.localhost", tls.VersionTLS11, false},
		{"nosuchapp.localhost", tls.VersionTLS11, false},
		{"x.strict.localhost", tls.VersionTLS11, false},
	} {
		err := handshake(tc.name, tc.max)
		if (err == nil) != tc.ok {
			t.Errorf("handshake for %s with TLS up to %s: err = %v, want ok=%v", tc.name, tls.VersionName(tc.max), err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "version") {
			t.Errorf("handshake for %s failed for another reason than the version: %v", tc.name, err)
		}
	}
}

// TestHTTP20OffPerSite: a site with http20Enabled false is offered HTTP/1.1
// alone on its app's names, whatever the client offers and whatever its
// minimum TLS version; its Kudu name, other sites and the platform's names
// keep HTTP/2.
func TestHTTP20OffPerSite(t *testing.T) {
	f := New(Config{Domain: "localhost", Sites: tlsSites{
		"plain":  {Exists: true, HTTP20Off: true},
		"strict": {Exists: true, HTTP20Off: true, MinTLSVersion: "1.3"},
		"h2":     {Exists: true},
	}})
	cert, _ := selfSigned(t)
	base := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}, MinVersion: tls.VersionTLS12}
	ln := serveHandshakes(t, f.TLSConfig(base))
	for _, tc := range []struct {
		name, proto string
		version     uint16
	}{
		{"plain.localhost", "http/1.1", 0},
		{"PLAIN.azurewebsites.net", "http/1.1", 0},
		{"strict.localhost", "http/1.1", tls.VersionTLS13},
		{"plain.scm.localhost", "h2", 0},
		{"h2.localhost", "h2", 0},
		{"management.localhost", "h2", 0},
	} {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{ServerName: tc.name, InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		st := c.ConnectionState()
		c.Close()
		if st.NegotiatedProtocol != tc.proto || (tc.version != 0 && st.Version != tc.version) {
			t.Errorf("%s: ALPN %q over %s, want %q", tc.name, st.NegotiatedProtocol, tls.VersionName(st.Version), tc.proto)
		}
	}
	if base.NextProtos[0] != "h2" {
		t.Errorf("the base config was changed: %v", base.NextProtos)
	}
}
