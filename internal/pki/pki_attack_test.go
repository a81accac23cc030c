package pki

import (
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestAttackSNIFloodSharesWildcards: ClientHellos for made-up names in one
// zone (r1.scm.localhost, r2.scm.localhost, ...) are served one wildcard
// leaf, issued once, as App Service serves *.scm.azurewebsites.net — not a
// fresh key per name.
func TestAttackSNIFloodSharesWildcards(t *testing.T) {
	ca := openCA(t, Config{})
	first, err := ca.GetCertificate(&tls.ClientHelloInfo{ServerName: "app.scm.localhost"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		name := fmt.Sprintf("r%d.scm.localhost", i)
		cert, err := ca.GetCertificate(&tls.ClientHelloInfo{ServerName: name})
		if err != nil {
			t.Fatalf("GetCertificate(%s): %v", name, err)
		}
		if cert != first {
			t.Fatalf("GetCertificate(%s) issued a new leaf for %v; want the zone's one wildcard leaf", name, cert.Leaf.DNSNames)
		}
	}
	if got := fmt.Sprint(first.Leaf.DNSNames); got != "[*.scm.localhost]" {
		t.Errorf("DNS SANs = %s, want [*.scm.localhost]", got)
	}
}

// TestAttackSNIFloodIsRateLimited: a flood of ClientHellos for distinct
// names that cannot share a leaf (r1.localhost — OpenSSL takes no wildcard
// of one label — or x.r1.localhost, each its own zone) costs at most a
// bucket's worth of key generations, and the names legitimate clients use
// stay cached: the flood neither burns the CPU nor evicts them.
func TestAttackSNIFloodIsRateLimited(t *testing.T) {
	c := &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} // stopped: no refill
	ca := openCA(t, Config{Now: c.Now})
	legit := map[string]*tls.Certificate{}
	for _, name := range []string{"app.localhost", "app.scm.localhost", "acct.blob.localhost"} {
		cert, err := ca.GetCertificate(&tls.ClientHelloInfo{ServerName: name})
		if err != nil {
			t.Fatal(err)
		}
		legit[name] = cert
	}
	issued := 0
	for i := range maxCachedLeaves + 2000 {
		name := fmt.Sprintf("r%d.localhost", i)
		if i%2 == 1 {
			name = "x." + name
		}
		if _, err := ca.GetCertificate(&tls.ClientHelloInfo{ServerName: name}); err == nil {
			issued++
		} else if !strings.Contains(err.Error(), "too many") {
			t.Fatalf("GetCertificate(%s) error = %v, want a rate-limit refusal", name, err)
		}
	}
	if issued > issueBurst {
		t.Errorf("the flood got %d new leaves issued, want at most %d", issued, issueBurst)
	}
	for name, want := range legit {
		got, err := ca.GetCertificate(&tls.ClientHelloInfo{ServerName: name})
		if err != nil || got != want {
			t.Errorf("after the flood GetCertificate(%s) = a different leaf (err %v); want the cached one", name, err)
		}
	}
}

// TestAttackDeepNames: no platform name lies more than two labels below a
// zone (<app>.scm.<domain>, <account>.blob.<domain>,
// <vault>.vault.<domain>); deeper names are refused with a clear error, so
// they cannot mint zones of their own.
func TestAttackDeepNames(t *testing.T) {
	ca := openCA(t, Config{})
	for _, name := range []string{
		"x.app.scm.localhost",
		"a.b.c.d.localhost",
		"x.app.scm.azurewebsites.net",
		"x.acct.blob.core.windows.net",
	} {
		_, err := ca.GetCertificate(&tls.ClientHelloInfo{ServerName: name})
		if err == nil || !strings.Contains(err.Error(), "labels below") || !strings.Contains(err.Error(), name) {
			t.Errorf("GetCertificate(%s) error = %v, want a refusal naming it and the depth", name, err)
		}
	}
}
