package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/certs"
	"github.com/slipway-dev/slipway/internal/store"
)

// TestAttack_SNIServesTheBindingGroupsCopy: two resource groups may each
// hold a copy of one certificate (a shared wildcard), each with a chain of
// its own choosing. A name bound in one group serves that group's copy,
// whichever was stored last: another group's upload changes nothing that
// group serves.
func TestAttack_SNIServesTheBindingGroupsCopy(t *testing.T) {
	ctx := t.Context()
	st, err := store.Open(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "*.a.example"}, DNSNames: []string{"*.a.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leafPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	kb, _ := x509.MarshalPKCS8PrivateKey(key)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})
	thumb := certs.Thumbprint(der)
	sku, _ := slipway.ParseSKU("B1")
	for _, rg := range []string{"rg", "tenant2"} {
		if _, _, err := st.PutResourceGroup(ctx, slipway.ResourceGroup{Name: rg, Location: "westeurope"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.PutPlan(ctx, slipway.Plan{ResourceGroup: rg, Name: "plan", Location: "westeurope", SKU: sku, Linux: true}); err != nil {
			t.Fatal(err)
		}
		chain := leafPEM
		if rg == "tenant2" { // the same leaf with a longer chain
			chain = append(append([]byte{}, leafPEM...), leafPEM...)
		}
		if _, err := st.PutCertificate(ctx, store.Certificate{ResourceGroup: rg, Name: "wild", Location: "westeurope", Thumbprint: thumb,
			Subject: "CN=*.a.example", HostNames: []string{"*.a.example"}, NotBefore: tmpl.NotBefore, NotAfter: tmpl.NotAfter,
			CertPEM: chain, KeyPEM: keyPEM}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := st.PutSite(ctx, slipway.Site{ResourceGroup: "rg", Name: "app", Plan: "plan", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.AddHostNameBinding(ctx, slipway.HostNameBinding{ResourceGroup: "rg", Site: "app", HostName: "www.a.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetHostNameSSL(ctx, "rg", "app", "www.a.example", slipway.SSLSniEnabled, thumb); err != nil {
		t.Fatal(err)
	}
	m := &certManager{st: st, table: certs.NewTable(), log: slog.New(slog.DiscardHandler)}
	if err := m.Changed(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := m.GetCertificate(func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, nil })(&tls.ClientHelloInfo{ServerName: "www.a.example"})
	if err != nil || c == nil {
		t.Fatalf("www.a.example serves %v, %v", c, err)
	}
	if len(c.Certificate) != 1 {
		t.Errorf("www.a.example serves a chain of %d certificates: the other group's copy, not its own", len(c.Certificate))
	}
}
