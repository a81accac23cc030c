package store

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
)

// TestCertificates: a certificate round-trips with its key, the key is
// sealed on disk, survives a reopen, and is deleted with its group.
func TestCertificates(t *testing.T) {
	s, dir := openTest(t)
	ctx := t.Context()
	seed(t, s)
	key := []byte("-----BEGIN PRIVATE KEY-----\nsecret-key-material-4242\n-----END PRIVATE KEY-----\n")
	in := Certificate{ResourceGroup: "RG", Name: "ABC_westeurope_rg", Thumbprint: "abcdef", Subject: "CN=www.example.com",
		Issuer: "CN=Test CA", HostNames: []string{"www.example.com"}, NotBefore: time.Unix(1000, 0), NotAfter: time.Unix(2000, 0),
		CertPEM: []byte("chain"), KeyPEM: key}
	got, err := s.PutCertificate(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got.ResourceGroup != "rg" || got.Location != "westeurope" || got.Thumbprint != "ABCDEF" || !bytes.Equal(got.KeyPEM, key) ||
		len(got.HostNames) != 1 || got.Managed() || got.Created.IsZero() {
		t.Errorf("stored %+v", got)
	}
	// Replace keeps the creation time; a managed one records its name.
	in.CanonicalName, in.LastError = "WWW.example.com", ""
	again, err := s.PutCertificate(ctx, in)
	if err != nil || !again.Created.Equal(got.Created) || again.CanonicalName != "www.example.com" || !again.Managed() {
		t.Errorf("replaced: %+v %v", again, err)
	}
	if err := s.SetCertificateError(ctx, "rg", "abc_westeurope_rg", "challenge failed"); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Certificate(ctx, "rg", "ABC_WESTEUROPE_RG"); c.LastError != "challenge failed" {
		t.Errorf("last error %q", c.LastError)
	}
	// The key is not on disk in the clear.
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte("secret-key-material-4242")) {
			t.Errorf("%s holds the private key in the clear", f)
		}
	}
	list, err := s.Certificates(ctx, "")
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	if _, err := s.PutCertificate(ctx, Certificate{ResourceGroup: "nogroup", Name: "x", KeyPEM: key}); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("certificate in a missing group: %v", err)
	}
	if _, err := s.PutCertificate(ctx, Certificate{ResourceGroup: "rg", Name: "../x", KeyPEM: key}); slipway.ErrorCode(err) != slipway.EINVALID {
		t.Errorf("certificate name with a slash: %v", err)
	}
	if err := s.DeleteCertificate(ctx, "rg", "abc_westeurope_rg"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteCertificate(ctx, "rg", "abc_westeurope_rg"), slipway.ENOTFOUND)
	_, err = s.Certificate(ctx, "rg", "abc_westeurope_rg")
	wantCode(t, err, slipway.ENOTFOUND)
}
