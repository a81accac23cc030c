package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/slipway-dev/slipway/internal/certs/acmetest"
)

// TestCustomDomainsAndCertificates: custom domains verified through a DNS
// server of the test's (TXT asuid plus CNAME or A), served over HTTPS with
// an uploaded PFX (SNI choosing among several) and with a managed
// certificate issued by Pebble through ACME HTTP-01 answered by the front
// door, renewed before expiry; a failed renewal keeps the current
// certificate serving and says why (issue 10, acceptance 4 and 5).
func TestCustomDomainsAndCertificates(t *testing.T) {
	port := freePort(t)
	// Short-lived managed certificates: renewal is due after two thirds.
	pebble := acmetest.Start(t, 45, port, freePort(t))
	dns := pebble.DNS
	roots := filepath.Join(t.TempDir(), "pebble-roots.pem")
	if err := os.WriteFile(roots, pebble.RootsPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--http-port", strconv.Itoa(port), "--dns-resolver", dns.Addr(),
		"--acme-directory", pebble.DirURL, "--acme-ca-roots", roots, "--acme-email", "ops@shop.test", "--acme-renew-check", "2s")
	s.createApp("shop")
	if code := s.deployZip("shop", zipDir(t, "testdata/apps/probe", nil)); code != "200" {
		t.Fatalf("deploy: %s", code)
	}
	var site struct {
		Properties struct {
			CustomDomainVerificationID string `json:"customDomainVerificationId"`
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(s.mustCLI("", "webapp", "show", "-g", "rg-shop", "-n", "shop", "--query", "{properties: {customDomainVerificationId: customDomainVerificationId}}")), &site); err != nil || site.Properties.CustomDomainVerificationID == "" {
		t.Fatalf("webapp show gives no customDomainVerificationId: %v", err)
	}
	id := site.Properties.CustomDomainVerificationID
	addHost := func(name string) (string, int) {
		_, stderr, code := s.cli("", "webapp", "config", "hostname", "add", "-g", "rg-shop", "--webapp-name", "shop", "--hostname", name)
		return stderr, code
	}

	// A CNAME without the TXT record: refused with App Service's message.
	dns.SetCNAME("www.shop.test", "shop.localhost")
	if stderr, code := addHost("www.shop.test"); code == 0 || !strings.Contains(stderr, "asuid.www.shop.test") {
		t.Fatalf("hostname add without TXT asuid: exit %d, %s", code, stderr)
	}
	dns.SetTXT("asuid.www.shop.test", id)
	dns.SetCNAME("api.shop.test", "shop.localhost")
	dns.SetTXT("asuid.api.shop.test", id)
	for _, h := range []string{"www.shop.test", "api.shop.test"} {
		if stderr, code := addHost(h); code != 0 {
			t.Fatalf("hostname add %s: exit %d, %s", h, code, stderr)
		}
	}
	if out := s.mustCLI("", "webapp", "config", "hostname", "list", "-g", "rg-shop", "--webapp-name", "shop"); !strings.Contains(out, "www.shop.test") || !strings.Contains(out, "api.shop.test") {
		t.Errorf("hostname list: %s", out)
	}

	// Two uploaded certificates, one per name, bound with SNI.
	ca, caKey := testCA(t)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	thumbs := map[string]string{}
	for _, h := range []string{"www.shop.test", "api.shop.test"} {
		pfx, thumb := testPFX(t, ca, caKey, h, "s3cret!")
		thumbs[h] = thumb
		file := filepath.Join(t.TempDir(), h+".pfx")
		os.WriteFile(file, pfx, 0o600)
		if _, stderr, code := s.cli("", "webapp", "config", "ssl", "upload", "-g", "rg-shop", "-n", "shop", "--certificate-file", file, "--certificate-password", "wrong"); code == 0 {
			t.Errorf("upload with a wrong password succeeded")
		} else if strings.Contains(stderr, "s3cret") {
			t.Errorf("an error printed the password: %s", stderr)
		}
		out := s.mustCLI("", "webapp", "config", "ssl", "upload", "-g", "rg-shop", "-n", "shop", "--certificate-file", file, "--certificate-password", "s3cret!")
		if !strings.Contains(out, thumb) || strings.Contains(out, "s3cret") {
			t.Errorf("upload output: %s", out)
		}
		s.mustCLI("", "webapp", "config", "ssl", "bind", "-g", "rg-shop", "-n", "shop", "--certificate-thumbprint", thumb, "--ssl-type", "SNI")
	}
	u, _ := url.Parse(s.info.URL)
	for h, thumb := range thumbs {
		if got := servedThumbprint(t, u.Host, h, pool); got != thumb {
			t.Errorf("SNI %s served certificate %s, want %s", h, got, thumb)
		}
		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx2 context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx2, network, u.Host)
			},
			TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
		resp, err := client.Get("https://" + h + ":" + u.Port() + "/")
		if err != nil {
			t.Fatalf("GET https://%s/: %v", h, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "probe shop" || resp.ProtoMajor != 2 {
			t.Errorf("https://%s/ = %d %s %q", h, resp.StatusCode, resp.Proto, b)
		}
	}
	// The default name keeps the platform's certificate.
	if _, err := tls.Dial("tcp", u.Host, &tls.Config{ServerName: "shop.localhost", RootCAs: s.rootPool(t)}); err != nil {
		t.Errorf("the default name lost its platform certificate: %v", err)
	}
	// A certificate in use cannot be deleted; unbound, it can.
	if _, _, code := s.cli("", "webapp", "config", "ssl", "delete", "-g", "rg-shop", "--certificate-thumbprint", thumbs["api.shop.test"]); code == 0 {
		t.Errorf("deleting a bound certificate succeeded")
	}

	// A managed certificate through ACME for a name routed by an A record.
	dns.SetA("m.shop.test", "127.0.0.1")
	dns.SetTXT("asuid.m.shop.test", id)
	if stderr, code := addHost("m.shop.test"); code != 0 {
		t.Fatalf("hostname add m.shop.test: %s", stderr)
	}
	var managed struct{ Thumbprint string }
	if err := json.Unmarshal([]byte(s.mustCLI("", "webapp", "config", "ssl", "create", "-g", "rg-shop", "-n", "shop", "--hostname", "m.shop.test")), &managed); err != nil || managed.Thumbprint == "" {
		t.Fatalf("ssl create: %v", err)
	}
	s.mustCLI("", "webapp", "config", "ssl", "bind", "-g", "rg-shop", "-n", "shop", "--certificate-thumbprint", managed.Thumbprint, "--ssl-type", "SNI")
	if got := servedThumbprint(t, u.Host, "m.shop.test", pebble.Issued); got != managed.Thumbprint {
		t.Fatalf("m.shop.test served %s, want the managed certificate %s", got, managed.Thumbprint)
	}
	// Renewed before it expires (a third of 45 s left), and served.
	var renewed string
	eventually(t, 90*time.Second, "the managed certificate to be renewed", func() bool {
		renewed = servedThumbprint(t, u.Host, "m.shop.test", pebble.Issued)
		return renewed != "" && renewed != managed.Thumbprint
	})
	if out := s.mustCLI("", "webapp", "config", "ssl", "list", "-g", "rg-shop"); !strings.Contains(out, renewed) || strings.Contains(out, managed.Thumbprint) {
		t.Errorf("after renewal ssl list shows %s", out)
	}
	// The name now leads elsewhere: the next renewal fails, the current
	// certificate keeps serving and the certificate says why.
	dns.SetA("m.shop.test", "127.0.0.2")
	eventually(t, 90*time.Second, "the failed renewal to be recorded", func() bool {
		return strings.Contains(s.mustCLI("", "webapp", "config", "ssl", "show", "-g", "rg-shop", "--certificate-name", "m.shop.test"), "could not validate")
	})
	out := s.mustCLI("", "webapp", "config", "ssl", "show", "-g", "rg-shop", "--certificate-name", "m.shop.test")
	if !strings.Contains(out, "lastRenewalError") || !strings.Contains(out, "could not validate m.shop.test") {
		t.Errorf("ssl show after a failed renewal: %s", out)
	}
	// The current certificate: the one renewed above, or a later renewal
	// that succeeded before the name moved (a busy machine can be slow to
	// move it) — never the first one.
	var current struct{ Thumbprint string }
	if err := json.Unmarshal([]byte(out), &current); err != nil || current.Thumbprint == "" || current.Thumbprint == managed.Thumbprint {
		t.Fatalf("ssl show after a failed renewal: thumbprint %q (%v), first %s, renewed %s", current.Thumbprint, err, managed.Thumbprint, renewed)
	}
	if got := servedThumbprint(t, u.Host, "m.shop.test", pebble.Issued); got != current.Thumbprint {
		t.Errorf("after a failed renewal m.shop.test serves %q, want the current %s", got, current.Thumbprint)
	}
}

// servedThumbprint is the thumbprint of the leaf the server presents for
// name, verified against roots ("" when the handshake fails).
func servedThumbprint(t *testing.T, addr, name string, roots *x509.CertPool) string {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, &tls.Config{ServerName: name, RootCAs: roots})
	if err != nil {
		t.Logf("handshake for %s: %v", name, err)
		return ""
	}
	defer c.Close()
	sum := sha1.Sum(c.ConnectionState().PeerCertificates[0].Raw)
	return fmt.Sprintf("%X", sum[:])
}

// testCA is a CA of the test's own, standing in for a public CA.
func testCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test Shop CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

// testPFX is a password-protected PFX holding a leaf for host, signed by
// the test CA, and the leaf's thumbprint.
func testPFX(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, host, password string) ([]byte, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(12 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pfx, err := pkcs12.Modern.Encode(key, leaf, []*x509.Certificate{ca}, password)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(der)
	return pfx, fmt.Sprintf("%X", sum[:])
}

// freePort is a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
