package identity

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/slipway-dev/slipway/internal/store"
)

// testResources is the allow-list the tests run with.
var testResources = []string{
	"https://management.core.windows.net/", "https://management.azure.com/",
	"https://management.localhost/", "https://vault.azure.net", "https://storage.azure.com/",
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

type env struct {
	svc   *Service
	store *store.Store
	clock *clock
	// fresh is an audience of this env alone: clients that cache tokens
	// per resource in the process (MSAL Go's managed-identity cache) get
	// no token of an earlier test run for it.
	fresh string
}

// newEnv opens a real store in a temporary directory and a Service over it.
func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := store.Open(t.Context(), t.TempDir(), nil)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	_, tenant, err := st.Identity(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Now()}
	fresh := "https://" + newID() + ".localhost/"
	svc, err := New(t.Context(), Config{Store: st, TenantID: tenant, Resources: append(slices.Clip(testResources), fresh), Now: c.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &env{svc: svc, store: st, clock: c, fresh: fresh}
}

func (e *env) servicePrincipal(t *testing.T) (Principal, ServicePrincipalCredentials) {
	t.Helper()
	creds, err := e.svc.CreateServicePrincipal(t.Context(), "deployer", 0)
	if err != nil {
		t.Fatalf("CreateServicePrincipal: %v", err)
	}
	p, err := e.store.PrincipalByAppID(t.Context(), creds.AppID)
	if err != nil {
		t.Fatal(err)
	}
	return p, creds
}

func TestIssueVerify(t *testing.T) {
	e := newEnv(t)
	p, _ := e.servicePrincipal(t)
	tok, err := e.svc.Issue(t.Context(), p, "https://management.localhost/", 0)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	c, err := e.svc.Verify(t.Context(), tok.AccessToken, []string{"https://management.localhost"})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := Claims{Audience: "https://management.localhost/", Issuer: "https://sts.windows.net/" + e.svc.TenantID() + "/",
		AppID: p.AppID, AppIDACR: "1", IdentityProvider: e.svc.Issuer(), IDType: "app", ObjectID: p.ObjectID,
		Subject: p.ObjectID, TenantID: e.svc.TenantID(), Version: "1.0"}
	got := c
	got.IssuedAt, got.NotBefore, got.ExpiresAt, got.TokenID = time.Time{}, time.Time{}, time.Time{}, ""
	if got != want {
		t.Errorf("claims = %+v\nwant %+v", got, want)
	}
	if d := c.ExpiresAt.Sub(e.clock.Now()); d < 59*time.Minute || d > time.Hour {
		t.Errorf("lifetime %v, want one hour", d)
	}
	if len(c.TokenID) != 22 {
		t.Errorf("uti %q", c.TokenID)
	}
	// The header names the key as Azure's do: kid = x5t.
	hdr := decodeSegment(t, tok.AccessToken, 0)
	if hdr["alg"] != "RS256" || hdr["kid"] == nil || hdr["kid"] != hdr["x5t"] || hdr["typ"] != "JWT" {
		t.Errorf("header = %v", hdr)
	}
	// aud is a string, as in Azure's tokens.
	if body := decodeSegment(t, tok.AccessToken, 1); body["aud"] != "https://management.localhost/" {
		t.Errorf("aud = %#v", body["aud"])
	}
	if _, err := e.svc.Issue(t.Context(), p, "https://evil.example/", 0); !errors.Is(err, ErrUnknownResource) {
		t.Errorf("Issue(unknown resource) = %v, want ErrUnknownResource", err)
	}
}

func TestManagedIdentityClaims(t *testing.T) {
	e := newEnv(t)
	site := "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app"
	p, err := e.svc.EnsureSystemAssignedIdentity(t.Context(), site, "app")
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.svc.EnsureSystemAssignedIdentity(t.Context(), site, "app")
	if err != nil || again.ObjectID != p.ObjectID {
		t.Fatalf("second Ensure = %+v, %v; want the same identity", again, err)
	}
	tok, err := e.svc.Issue(t.Context(), p, "https://vault.azure.net", 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.svc.Verify(t.Context(), tok.AccessToken, []string{"https://vault.azure.net"})
	if err != nil {
		t.Fatal(err)
	}
	if c.MIResourceID != site || c.AppIDACR != "2" || c.ObjectID != p.ObjectID {
		t.Errorf("claims = %+v", c)
	}
}

// sign makes a token with arbitrary header and claims, signed by key.
func sign(t *testing.T, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("signing: %v", err)
	}
	return s
}

func TestVerifyRefuses(t *testing.T) {
	e := newEnv(t)
	p, _ := e.servicePrincipal(t)
	aud := []string{"https://management.azure.com/"}
	good, err := e.svc.Issue(t.Context(), p, aud[0], 0)
	if err != nil {
		t.Fatal(err)
	}
	ring := e.svc.ring.Load()
	kid := ring.current.kid
	pub := &ring.current.private.PublicKey
	pubDER, _ := x509.MarshalPKIXPublicKey(pub)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	now := e.clock.Now()
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{}
		b, _ := base64.RawURLEncoding.DecodeString(strings.Split(good.AccessToken, ".")[1])
		_ = json.Unmarshal(b, &c)
		if mod != nil {
			mod(c)
		}
		return c
	}
	hdr := map[string]any{"kid": kid, "x5t": kid}
	parts := strings.Split(good.AccessToken, ".")

	cases := map[string]string{
		"forged signature":          sign(t, jwt.SigningMethodRS256, other, hdr, claims(nil)),
		"tampered claims":           parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"aud":"https://management.azure.com/","oid":"x"}`)) + "." + parts[2],
		"alg none":                  sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, hdr, claims(nil)),
		"HS256 with the public key": sign(t, jwt.SigningMethodHS256, pubDER, hdr, claims(nil)),
		"HS256 with the PEM key":    sign(t, jwt.SigningMethodHS256, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), hdr, claims(nil)),
		"unknown kid":               sign(t, jwt.SigningMethodRS256, other, map[string]any{"kid": "bm90IGEga2V5", "x5t": "bm90IGEga2V5"}, claims(nil)),
		"x5t differs":               sign(t, jwt.SigningMethodRS256, ring.current.private, map[string]any{"kid": kid, "x5t": "other"}, claims(nil)),
		"no kid":                    sign(t, jwt.SigningMethodRS256, ring.current.private, nil, claims(nil)),
		"expired":                   sign(t, jwt.SigningMethodRS256, ring.current.private, hdr, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-2 * time.Minute).Unix() })),
		"no exp":                    sign(t, jwt.SigningMethodRS256, ring.current.private, hdr, claims(func(c jwt.MapClaims) { delete(c, "exp") })),
		"future nbf":                sign(t, jwt.SigningMethodRS256, ring.current.private, hdr, claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(5 * time.Minute).Unix() })),
		"no nbf":                    sign(t, jwt.SigningMethodRS256, ring.current.private, hdr, claims(func(c jwt.MapClaims) { delete(c, "nbf") })),
		"future iat":                sign(t, jwt.SigningMethodRS256, ring.current.private, hdr, claims(func(c jwt.MapClaims) { c["iat"] = now.Add(5 * time.Minute).Unix() })),
		"wrong audience":            sign(t, jwt.SigningMethodRS256, ring.current.private, hdr, claims(func(c jwt.MapClaims) { c["aud"] = "https://vault.azure.net" })),
		"audience array":            sign(t, jwt.SigningMethodRS256, ring.current.private, hdr, claims(func(c jwt.MapClaims) { c["aud"] = []string{"https://evil/", aud[0]} })),
		"wrong issuer":              sign(t, jwt.SigningMethodRS256, ring.current.private, hdr, claims(func(c jwt.MapClaims) { c["iss"] = "https://sts.windows.net/other/" })),
		"other tenant":              sign(t, jwt.SigningMethodRS256, ring.current.private, hdr, claims(func(c jwt.MapClaims) { c["tid"] = "00000000-0000-0000-0000-000000000000" })),
		"oversized":                 sign(t, jwt.SigningMethodRS256, ring.current.private, hdr, claims(func(c jwt.MapClaims) { c["pad"] = strings.Repeat("a", MaxTokenBytes) })),
		"two segments":              parts[0] + "." + parts[1],
		"garbage":                   "not a token",
		"empty":                     "",
	}
	if _, err := e.svc.Verify(t.Context(), good.AccessToken, aud); err != nil {
		t.Fatalf("the untampered token is refused: %v", err)
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := e.svc.Verify(t.Context(), tok, aud)
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("Verify = %v, want ErrInvalidToken", err)
			}
			t.Log(err)
		})
	}
	t.Run("no accepted audiences", func(t *testing.T) {
		if _, err := e.svc.Verify(t.Context(), good.AccessToken, nil); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Verify = %v, want ErrInvalidToken", err)
		}
	})
	t.Run("expires with the clock", func(t *testing.T) {
		e.clock.Add(time.Hour + 2*time.Minute)
		defer e.clock.Add(-time.Hour - 2*time.Minute)
		if _, err := e.svc.Verify(t.Context(), good.AccessToken, aud); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Verify after expiry = %v, want ErrInvalidToken", err)
		}
	})
}

// Rotation: a new key signs, tokens of the old one keep verifying until
// they expire, and the old key leaves the JWKS and the store afterwards.
func TestRotate(t *testing.T) {
	e := newEnv(t)
	p, _ := e.servicePrincipal(t)
	aud := []string{"https://management.azure.com/"}
	old, err := e.svc.Issue(t.Context(), p, aud[0], 0)
	if err != nil {
		t.Fatal(err)
	}
	oldKID := e.svc.ring.Load().current.kid
	if err := e.svc.Rotate(t.Context()); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	newKID := e.svc.ring.Load().current.kid
	if newKID == oldKID {
		t.Fatal("Rotate kept the key")
	}
	if kids := jwksKIDs(e.svc); len(kids) != 2 || kids[0] != newKID || kids[1] != oldKID {
		t.Errorf("JWKS kids = %v, want [%s %s]", kids, newKID, oldKID)
	}
	fresh, _ := e.svc.Issue(t.Context(), p, aud[0], 0)
	if h := decodeSegment(t, fresh.AccessToken, 0); h["kid"] != newKID {
		t.Errorf("new token signed by %v, want %s", h["kid"], newKID)
	}
	if _, err := e.svc.Verify(t.Context(), old.AccessToken, aud); err != nil {
		t.Errorf("a live token of the old key is refused after rotation: %v", err)
	}
	// A restart (a new Service over the same store) keeps both.
	again, err := New(t.Context(), Config{Store: e.store, TenantID: e.svc.TenantID(), Resources: testResources, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := again.Verify(t.Context(), old.AccessToken, aud); err != nil {
		t.Errorf("after restart: %v", err)
	}
	// Past the longest lifetime, a rotation drops the old key everywhere.
	e.clock.Add(25 * time.Hour)
	if err := e.svc.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	keys, _ := e.store.SigningKeys(t.Context())
	for _, k := range keys {
		if k.KID == oldKID {
			t.Errorf("old key still stored after every token it signed expired")
		}
	}
	for _, k := range jwksKIDs(e.svc) {
		if k == oldKID {
			t.Errorf("old key still published")
		}
	}
}

func TestRunRotation(t *testing.T) {
	e := newEnv(t)
	first := e.svc.ring.Load().current.kid
	e.clock.Add(31 * 24 * time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.svc.RunRotation(ctx, 30*24*time.Hour) }()
	deadline := time.Now().Add(10 * time.Second)
	for e.svc.ring.Load().current.kid == first && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, ctx.Err()) {
		t.Errorf("RunRotation returned %v", err)
	}
	if e.svc.ring.Load().current.kid == first {
		t.Error("an old key was not rotated")
	}
	if err := e.svc.RunRotation(t.Context(), time.Second); err == nil {
		t.Error("a one-second rotation period was accepted")
	}
}

func TestNewClientSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		s, err := NewClientSecret()
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != 40 || s[4:6] != "Q~" || s[3] < '0' || s[3] > '9' {
			t.Fatalf("secret %q is not in Azure's shape", s)
		}
		if seen[s] {
			t.Fatal("a secret repeated")
		}
		seen[s] = true
	}
}

func jwksKIDs(s *Service) []string {
	var kids []string
	for _, k := range s.jwks()["keys"] {
		kids = append(kids, k.Kid)
	}
	return kids
}

func decodeSegment(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// FuzzVerify feeds arbitrary strings, and mutations of a valid token, to
// Verify: it must never panic and never accept anything but the token
// issued (or one equal to it).
func FuzzVerify(f *testing.F) {
	st, err := store.Open(f.Context(), f.TempDir(), nil)
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	_, tenant, _ := st.Identity(f.Context())
	svc, err := New(f.Context(), Config{Store: st, TenantID: tenant, Resources: testResources})
	if err != nil {
		f.Fatal(err)
	}
	creds, err := svc.CreateServicePrincipal(f.Context(), "fuzz", 0)
	if err != nil {
		f.Fatal(err)
	}
	p, _ := st.PrincipalByAppID(f.Context(), creds.AppID)
	tok, err := svc.Issue(f.Context(), p, "https://management.azure.com/", 0)
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(tok.AccessToken, ".")
	f.Add(tok.AccessToken)
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add("eyJhbGciOiJub25lIn0." + parts[1] + ".")
	f.Add("eyJhbGciOiJIUzI1NiJ9." + parts[1] + "." + parts[2])
	f.Add(parts[0] + ".e30." + parts[2])
	f.Add("...")
	f.Add("a.b.c")
	f.Add(strings.Repeat("A", 100) + "." + strings.Repeat("B", 100) + "." + strings.Repeat("C", 100))
	f.Fuzz(func(t *testing.T, s string) {
		c, err := svc.Verify(t.Context(), s, []string{"https://management.azure.com/"})
		if err == nil && c.ObjectID != p.ObjectID {
			t.Fatalf("accepted a token for %q", c.ObjectID)
		}
		if err == nil && s != tok.AccessToken {
			// Only re-encodings of the same signed content could pass;
			// strict base64 decoding rules those out.
			t.Fatalf("accepted a token other than the one issued: %q", s)
		}
	})
}
