package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/slipway-dev/slipway"
)

// fixture is a CA-signed leaf with its key, made for one test.
type fixture struct {
	leaf *x509.Certificate
	key  crypto.Signer
	ca   *x509.Certificate
}

var testRSAKey = func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}()

func newFixture(t testing.TB, key crypto.Signer, names []string, notBefore, notAfter time.Time) fixture {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test Issuing CA"},
		NotBefore: notBefore.Add(-time.Hour), NotAfter: notAfter.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0], Organization: []string{"Contoso"}},
		DNSNames: names, NotBefore: notBefore, NotAfter: notAfter,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return fixture{leaf: leaf, key: key, ca: ca}
}

func validFixture(t testing.TB) fixture {
	now := time.Now()
	return newFixture(t, testRSAKey, []string{"www.contoso.com", "contoso.com"}, now.Add(-time.Hour), now.Add(90*24*time.Hour))
}

func encodePFX(t testing.TB, f fixture, password string) []byte {
	t.Helper()
	data, err := pkcs12.LegacyDES.Encode(f.key, f.leaf, []*x509.Certificate{f.ca}, password)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func wantInvalid(t *testing.T, err error, fragment string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want an error containing %q", fragment)
	}
	if slipway.ErrorCode(err) != slipway.EINVALID || !strings.Contains(slipway.ErrorMessage(err), fragment) {
		t.Fatalf("err = %v, want EINVALID containing %q", err, fragment)
	}
}

func TestParsePFX(t *testing.T) {
	f := validFixture(t)
	c, err := ParsePFX(encodePFX(t, f, "s3cret!"), "s3cret!")
	if err != nil {
		t.Fatal(err)
	}
	// The thumbprint as `openssl x509 -fingerprint -sha1` prints it, colons
	// removed, computed here independently of the package.
	sum := sha1.Sum(f.leaf.Raw)
	var parts []string
	for _, b := range sum {
		parts = append(parts, strings.ToUpper(hex.EncodeToString([]byte{b})))
	}
	if want := strings.ReplaceAll(strings.Join(parts, ":"), ":", ""); c.Thumbprint != want {
		t.Errorf("Thumbprint = %s, want %s", c.Thumbprint, want)
	}
	if c.SubjectName != "www.contoso.com" || c.Issuer != "Test Issuing CA" {
		t.Errorf("SubjectName, Issuer = %q, %q", c.SubjectName, c.Issuer)
	}
	if strings.Join(c.HostNames, ",") != "www.contoso.com,contoso.com" {
		t.Errorf("HostNames = %v", c.HostNames)
	}
	if len(c.TLS.Certificate) != 2 || !c.Leaf.Equal(f.leaf) || !c.NotAfter.Equal(f.leaf.NotAfter) {
		t.Errorf("chain length %d, leaf or dates differ", len(c.TLS.Certificate))
	}
	if err := c.CanBind("WWW.contoso.com.", time.Now()); err != nil {
		t.Errorf("CanBind(www): %v", err)
	}
	wantInvalid(t, c.CanBind("other.example.com", time.Now()), "does not match the host name")

	// PEM round trip keeps everything.
	chainPEM, keyPEM := c.PEM()
	back, err := FromPEM(chainPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if back.Thumbprint != c.Thumbprint || len(back.TLS.Certificate) != 2 {
		t.Errorf("FromPEM: thumbprint %s chain %d", back.Thumbprint, len(back.TLS.Certificate))
	}
}

func TestParsePFXLeafNotFirst(t *testing.T) {
	f := validFixture(t)
	// Some exporters put the CA first; the leaf is the key's certificate.
	data, err := pkcs12.LegacyDES.Encode(f.key, f.ca, []*x509.Certificate{f.leaf}, "pw")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParsePFX(data, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Leaf.Equal(f.leaf) {
		t.Errorf("leaf = %s, want the key's certificate", c.Leaf.Subject)
	}
}

func TestParsePFXRejects(t *testing.T) {
	now := time.Now()
	good := validFixture(t)
	weakKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	expired := newFixture(t, testRSAKey, []string{"old.contoso.com"}, now.Add(-100*24*time.Hour), now.Add(-24*time.Hour))
	noKey, err := pkcs12.LegacyDES.EncodeTrustStore([]*x509.Certificate{good.leaf}, "pw")
	if err != nil {
		t.Fatal(err)
	}
	other := validFixture(t)
	mismatched, err := pkcs12.LegacyDES.Encode(mustECKey(t), other.leaf, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, password, want string
		data                 []byte
	}{
		{"wrong password", "nope", "password for the certificate is incorrect", encodePFX(t, good, "pw")},
		{"no password", "", "password-protected PFX", encodePFX(t, good, "pw")},
		{"no private key", "pw", "does not contain a private key", noKey},
		{"weak key", "pw", "at least 2048 bits", encodePFX(t, newFixture(t, weakKey, []string{"weak.contoso.com"}, now.Add(-time.Hour), now.Add(time.Hour)), "pw")},
		{"ed25519 key", "pw", "accepts RSA", encodePFX(t, newFixture(t, edKey, []string{"ed.contoso.com"}, now.Add(-time.Hour), now.Add(time.Hour)), "pw")},
		{"expired", "pw", "has expired", encodePFX(t, expired, "pw")},
		{"key of another certificate", "pw", "does not match", mismatched},
		{"not a PFX", "pw", "not a valid PFX", []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")},
		{"empty", "pw", "empty", nil},
		{"too large", "pw", "larger than", make([]byte, MaxPFXSize+1)},
		{"truncated", "pw", "not a valid PFX", encodePFX(t, good, "pw")[:200]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePFX(tt.data, tt.password)
			wantInvalid(t, err, tt.want)
		})
	}
}

// TestParsePFXIterationBomb: a PFX asking for a billion key-derivation
// rounds is refused before any is computed (the test would take minutes
// otherwise).
func TestParsePFXIterationBomb(t *testing.T) {
	f := validFixture(t)
	for _, enc := range []*pkcs12.Encoder{pkcs12.LegacyDES, pkcs12.Modern2023} {
		data, err := enc.WithIterations(maxKDFIteration+1).Encode(f.key, f.leaf, nil, "pw")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = ParsePFX(data, "pw")
		wantInvalid(t, err, "key-derivation iterations")
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("refusing took %v", d)
		}
	}
	// The modern AES encoding with default settings is accepted.
	data, err := pkcs12.Modern2023.Encode(f.key, f.leaf, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePFX(data, "pw"); err != nil {
		t.Errorf("Modern2023 PFX: %v", err)
	}
}

func TestFromPEMRejectsMismatchedKey(t *testing.T) {
	a, err := ParsePFX(encodePFX(t, validFixture(t), "pw"), "pw")
	if err != nil {
		t.Fatal(err)
	}
	b := newFixture(t, mustECKey(t), []string{"b.contoso.com"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	bc := &Cert{}
	bc.TLS.PrivateKey = b.key
	bc.TLS.Certificate = [][]byte{b.leaf.Raw}
	_, keyB := bc.PEM()
	chainA, _ := a.PEM()
	if _, err := FromPEM(chainA, keyB); err == nil {
		t.Fatal("FromPEM accepted a key that is not the leaf's")
	}
	if _, err := FromPEM(nil, keyB); err == nil {
		t.Fatal("FromPEM accepted no certificate")
	}
	if _, err := FromPEM(chainA, []byte("junk")); err == nil {
		t.Fatal("FromPEM accepted no key")
	}
}

func mustECKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
