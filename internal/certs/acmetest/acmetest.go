// Package acmetest runs Pebble, Let's Encrypt's test certificate
// authority, in the test's process, for tests of ACME-managed
// certificates: its front end over httptest TLS, its validator resolving
// names through a dnstest server and checking HTTP-01 (and TLS-ALPN-01) on
// the ports the test names. Only tests import it.
package acmetest

import (
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"

	"github.com/slipway-dev/slipway/internal/dnstest"
)

// Pebble is a running test CA.
type Pebble struct {
	DirURL string         // the ACME directory URL
	Roots  *x509.CertPool // trusts the front end's HTTPS
	// RootsPEM is Roots as PEM, for a server's --acme-ca-roots.
	RootsPEM []byte
	Issued   *x509.CertPool  // Pebble's root, which signs issued certificates
	DNS      *dnstest.Server // the resolver Pebble's validator asks
}

// Start starts Pebble issuing certificates valid for validitySeconds,
// validating HTTP-01 on httpPort and TLS-ALPN-01 on tlsPort of the
// addresses its DNS gives. It stops with the test.
func Start(t testing.TB, validitySeconds uint64, httpPort, tlsPort int) *Pebble {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")      // validate at once
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0") // no random bad nonces
	t.Setenv("PEBBLE_AUTHZREUSE", "0")      // every order validates afresh
	logger := log.New(io.Discard, "", 0)
	if testing.Verbose() {
		logger = log.New(tWriter{t}, "pebble ", 0)
	}
	dns := dnstest.Start(t)
	store := db.NewMemoryStore()
	authority := ca.New(logger, store, "", "rsa", 0, 1, map[string]ca.Profile{
		"default": {Description: "test", ValidityPeriod: validitySeconds},
	})
	validator := va.New(logger, httpPort, tlsPort, false, dns.Addr(), store)
	front := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 1, 1)
	srv := httptest.NewTLSServer(front.Handler())
	t.Cleanup(srv.Close)
	p := &Pebble{DirURL: srv.URL + wfe.DirectoryPath, Roots: x509.NewCertPool(), Issued: x509.NewCertPool(), DNS: dns,
		RootsPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})}
	p.Roots.AddCert(srv.Certificate())
	p.Issued.AddCert(authority.GetRootCert(0).Cert)
	return p
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
