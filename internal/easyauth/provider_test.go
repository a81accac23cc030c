package easyauth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/slipway-dev/slipway/internal/identity"
)

// The real sign-in is internal/identity's *Service; it satisfies Provider.
var _ Provider = (*identity.Service)(nil)

const (
	testIssuer   = "https://login.localhost:8443/11111111-2222-3333-4444-555555555555/v2.0"
	testTenant   = "11111111-2222-3333-4444-555555555555"
	testClientID = "aaaaaaaa-0000-0000-0000-000000000001"
	testSecret   = "s3cret-value"
	testOID      = "0bbbbbbb-0000-0000-0000-00000000000a"
)

// testProvider stands in for internal/identity (built in parallel; the
// integrator adds the end-to-end test against the real one). It signs
// real RS256 JWTs and verifies them as the identity service does:
// signature, issuer, audience, lifetime and nonce.
type testProvider struct {
	key   *rsa.PrivateKey
	other *rsa.PrivateKey // a key the provider does not trust
	now   func() time.Time

	mu        sync.Mutex
	codes     map[string]codeGrant
	refreshes map[string]bool
	redeemed  int
	longest   int // the longest token given to VerifyAccessToken
}

type codeGrant struct {
	redirectURI string
	tokens      identity.UserTokens
}

func newTestProvider(now func() time.Time) *testProvider {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	o, _ := rsa.GenerateKey(rand.Reader, 2048)
	return &testProvider{key: k, other: o, now: now, codes: map[string]codeGrant{}, refreshes: map[string]bool{}}
}

func (p *testProvider) sign(claims jwt.MapClaims) string {
	return p.signWith(p.key, claims)
}

func (p *testProvider) signWith(k *rsa.PrivateKey, claims jwt.MapClaims) string {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = "test"
	s, err := t.SignedString(k)
	if err != nil {
		panic(err)
	}
	return s
}

// userClaims are the ID token claims of the test user.
func (p *testProvider) userClaims(nonce string) jwt.MapClaims {
	now := p.now()
	return jwt.MapClaims{
		"iss": testIssuer, "aud": testClientID, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"nonce": nonce, "oid": testOID, "sub": "subject-1", "tid": testTenant,
		"preferred_username": "ada@contoso.test", "name": "Ada Lovelace", "email": "ada@contoso.test",
		"roles": []string{"Admin", "Reader"},
	}
}

// issueCode records a code the provider will redeem for tokens.
func (p *testProvider) issueCode(redirectURI string, idToken string) string {
	code := rand.Text()
	p.mu.Lock()
	defer p.mu.Unlock()
	rt := "rt-" + rand.Text()
	p.refreshes[rt] = true
	p.codes[code] = codeGrant{redirectURI: redirectURI, tokens: identity.UserTokens{
		IDToken: idToken, AccessToken: "at-" + rand.Text(), RefreshToken: rt, ExpiresOn: p.now().Add(time.Hour).Truncate(time.Second)}}
	return code
}

func (p *testProvider) AuthorizeURL(base string, r identity.AuthorizeRequest) string {
	q := url.Values{"client_id": {r.ClientID}, "redirect_uri": {r.RedirectURI}, "response_type": {r.ResponseType},
		"response_mode": {r.ResponseMode}, "scope": {r.Scope}, "state": {r.State}, "nonce": {r.Nonce}}
	if r.Prompt != "" {
		q.Set("prompt", r.Prompt)
	}
	return base + "/" + testTenant + "/oauth2/v2.0/authorize?" + q.Encode()
}

func (p *testProvider) LogoutURL(base, post string) string {
	return base + "/" + testTenant + "/oauth2/v2.0/logout?post_logout_redirect_uri=" + url.QueryEscape(post)
}

func (p *testProvider) RedeemCode(ctx context.Context, r identity.CodeRedemption) (identity.UserTokens, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	g, ok := p.codes[r.Code]
	delete(p.codes, r.Code)
	if !ok || r.ClientID != testClientID || r.ClientSecret != testSecret || r.RedirectURI != g.redirectURI {
		return identity.UserTokens{}, errors.New("invalid_grant")
	}
	p.redeemed++
	return g.tokens, nil
}

func (p *testProvider) RedeemRefreshToken(ctx context.Context, clientID, secret, rt, scope string) (identity.UserTokens, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.refreshes[rt] || clientID != testClientID || secret != testSecret {
		return identity.UserTokens{}, errors.New("invalid_grant")
	}
	delete(p.refreshes, rt)
	nrt := "rt-" + rand.Text()
	p.refreshes[nrt] = true
	return identity.UserTokens{AccessToken: "at2-" + rand.Text(), RefreshToken: nrt, ExpiresOn: p.now().Add(2 * time.Hour).Truncate(time.Second)}, nil
}

func (p *testProvider) parse(raw string, audiences []string) (identity.UserClaims, error) {
	opts := []jwt.ParserOption{jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(testIssuer),
		jwt.WithTimeFunc(p.now), jwt.WithExpirationRequired(), jwt.WithAudience(audiences...)}
	c := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, c, func(*jwt.Token) (any, error) { return &p.key.PublicKey, nil }, opts...)
	if err != nil {
		return nil, err
	}
	return identity.UserClaims(c), nil
}

func (p *testProvider) VerifyIDToken(ctx context.Context, raw, clientID, nonce string) (identity.UserClaims, error) {
	c, err := p.parse(raw, []string{clientID})
	if err != nil {
		return nil, err
	}
	if nonce != "" && c["nonce"] != nonce {
		return nil, errors.New("nonce mismatch")
	}
	return c, nil
}

func (p *testProvider) VerifyAccessToken(ctx context.Context, raw string, audiences []string) (identity.UserClaims, error) {
	p.mu.Lock()
	p.longest = max(p.longest, len(raw))
	p.mu.Unlock()
	if len(audiences) == 0 {
		return nil, errors.New("no audiences")
	}
	c, err := p.parse(raw, audiences)
	if err != nil {
		return nil, err
	}
	aud, _ := c["aud"].(string)
	if !slices.Contains(audiences, aud) {
		return nil, errors.New("audience")
	}
	return c, nil
}
