package frontdoor

import (
	"crypto/tls"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestMinTLSCipherSuitePerSite: a site's minTlsCipherSuite keeps the
// suites App Service ranks weaker off its app's host names (a client
// offering only those fails the handshake), admits the stronger ones, and
// leaves its Kudu name and other sites alone; a TLS 1.3 minimum admits
// TLS 1.3 alone. A minimum never adds a suite the listener does not offer.
func TestMinTLSCipherSuitePerSite(t *testing.T) {
	f := New(Config{Domain: "localhost", Sites: tlsSites{
		"strict": {Exists: true, MinTLSCipherSuite: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
		"gcm":    {Exists: true, MinTLSCipherSuite: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
		"only13": {Exists: true, MinTLSCipherSuite: "TLS_AES_128_GCM_SHA256"},
		"weak":   {Exists: true, MinTLSCipherSuite: "TLS_RSA_WITH_AES_128_CBC_SHA"},
		"plain":  {Exists: true},
	}})
	cert, _ := selfSigned(t) // ECDSA
	base := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	ln := serveHandshakes(t, f.TLSConfig(base))
	handshake := func(name string, suite uint16, max uint16) error {
		d := &net.Dialer{Timeout: 5 * time.Second}
		cfg := &tls.Config{ServerName: name, InsecureSkipVerify: true, MaxVersion: max}
		if suite != 0 {
			cfg.CipherSuites = []uint16{suite}
		}
		c, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), cfg)
		if err == nil {
			c.Close()
		}
		return err
	}
	const (
		ecdsa256gcm = tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
		ecdsa128gcm = tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
		ecdsa128cbc = tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA // not in App Service's list
		chacha      = tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
	)
	for _, tc := range []struct {
		name  string
		suite uint16
		max   uint16
		ok    bool
	}{
		{"strict.localhost", ecdsa256gcm, tls.VersionTLS12, true},
		{"strict.localhost", ecdsa128gcm, tls.VersionTLS12, false}, // ranked below the minimum
		{"strict.localhost", chacha, tls.VersionTLS12, false},      // not ranked by App Service
		{"strict.localhost", 0, tls.VersionTLS13, true},
		{"STRICT.azurewebsites.net", ecdsa128gcm, tls.VersionTLS12, false},
		{"strict.scm.localhost", ecdsa128gcm, tls.VersionTLS12, true}, // Kudu keeps the listener's
		{"gcm.localhost", ecdsa128gcm, tls.VersionTLS12, true},
		{"gcm.localhost", ecdsa128cbc, tls.VersionTLS12, false},
		{"only13.localhost", ecdsa256gcm, tls.VersionTLS12, false},
		{"only13.localhost", 0, tls.VersionTLS13, true},
		{"weak.localhost", ecdsa128gcm, tls.VersionTLS12, true},
		{"plain.localhost", ecdsa128cbc, tls.VersionTLS12, true},
		{"plain.localhost", chacha, tls.VersionTLS12, true},
	} {
		err := handshake(tc.name, tc.suite, tc.max)
		if (err == nil) != tc.ok {
			t.Errorf("handshake for %s with suite %s up to %s: err = %v, want ok=%v",
				tc.name, tls.CipherSuiteName(tc.suite), tls.VersionName(tc.max), err, tc.ok)
		}
	}
}

// TestCipherTooWeakForTheHost: a client that made its handshake for a
// name without a minimum cannot send its request to a site with one: the
// request's own connection state is checked (421), as for the TLS version.
func TestCipherTooWeakForTheHost(t *testing.T) {
	r := &http.Request{TLS: &tls.ConnectionState{Version: tls.VersionTLS12, CipherSuite: tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}
	if !cipherTooWeak(r, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256") {
		t.Error("a CBC suite passed a GCM minimum")
	}
	r.TLS.CipherSuite = tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
	if cipherTooWeak(r, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256") || !cipherTooWeak(r, "TLS_AES_128_GCM_SHA256") {
		t.Error("the policies of a GCM minimum and a TLS 1.3 minimum")
	}
	r.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256}
	if cipherTooWeak(r, "TLS_AES_128_GCM_SHA256") || cipherTooWeak(r, "") || cipherTooWeak(&http.Request{}, "TLS_AES_128_GCM_SHA256") {
		t.Error("TLS 1.3, no minimum, or plain HTTP were refused")
	}
}
