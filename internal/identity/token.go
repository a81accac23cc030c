package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/store"
)

// MaxTokenBytes bounds the tokens Verify reads. Slipway's are about 1.2 KB;
// Azure AD's rarely pass 4 KB.
const MaxTokenBytes = 8 << 10

// Claims are the claims of an access token, those of Azure AD v1 access
// tokens for applications
// (https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference).
type Claims struct {
	Audience         string    // aud: the resource the token is for
	Issuer           string    // iss: https://sts.windows.net/<tenant>/
	IssuedAt         time.Time // iat
	NotBefore        time.Time // nbf
	ExpiresAt        time.Time // exp
	AppID            string    // appid: the client id
	AppIDACR         string    // appidacr: "1" client secret, "2" certificate (managed identities)
	IdentityProvider string    // idp: the issuer, for application tokens
	IDType           string    // idtyp: "app"
	ObjectID         string    // oid: the principal's object id
	Subject          string    // sub: the object id, for application tokens
	TenantID         string    // tid
	TokenID          string    // uti: unique token id
	Version          string    // ver: "1.0"
	MIResourceID     string    // xms_mirid: a managed identity's resource id
}

// wireClaims is Claims as JSON. aud is a string, as in Azure's tokens (the
// library's RegisteredClaims would write an array).
type wireClaims struct {
	Aud      string           `json:"aud"`
	Iss      string           `json:"iss"`
	Iat      *jwt.NumericDate `json:"iat"`
	Nbf      *jwt.NumericDate `json:"nbf"`
	Exp      *jwt.NumericDate `json:"exp"`
	AppID    string           `json:"appid"`
	AppIDACR string           `json:"appidacr"`
	Idp      string           `json:"idp"`
	IDTyp    string           `json:"idtyp"`
	Oid      string           `json:"oid"`
	Sub      string           `json:"sub"`
	Tid      string           `json:"tid"`
	Uti      string           `json:"uti"`
	Ver      string           `json:"ver"`
	MIRID    string           `json:"xms_mirid,omitempty"`
}

var _ jwt.Claims = (*wireClaims)(nil)

func (c *wireClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.Exp, nil }
func (c *wireClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.Iat, nil }
func (c *wireClaims) GetNotBefore() (*jwt.NumericDate, error)      { return c.Nbf, nil }
func (c *wireClaims) GetIssuer() (string, error)                   { return c.Iss, nil }
func (c *wireClaims) GetSubject() (string, error)                  { return c.Sub, nil }
func (c *wireClaims) GetAudience() (jwt.ClaimStrings, error)       { return jwt.ClaimStrings{c.Aud}, nil }

// Token is an issued access token.
type Token struct {
	AccessToken string
	Resource    string // the audience
	ClientID    string // the principal's app id
	NotBefore   time.Time
	ExpiresOn   time.Time
}

// ErrUnknownResource is returned by Issue for a resource that is not in
// Config.Resources.
var ErrUnknownResource = errors.New("identity: resource is not one tokens are issued for")

// ErrInvalidToken wraps every reason Verify refuses a token.
var ErrInvalidToken = errors.New("invalid token")

// matchResource returns the resource as requested when it is allowed:
// equal to one of allowed, ignoring case and one trailing slash.
func matchResource(resource string, allowed []string) (string, bool) {
	want := strings.TrimSuffix(resource, "/")
	if want == "" || len(resource) > 512 {
		return "", false
	}
	for _, a := range allowed {
		if strings.EqualFold(strings.TrimSuffix(a, "/"), want) {
			return resource, true
		}
	}
	return "", false
}

// Issue signs an access token for the principal and resource, valid for
// lifetime (Config.TokenLifetime when zero, never more than
// Config.MaxTokenLifetime). The resource must be one of Config.Resources.
func (s *Service) Issue(ctx context.Context, p Principal, resource string, lifetime time.Duration) (Token, error) {
	aud, ok := matchResource(resource, s.cfg.Resources)
	if !ok {
		return Token{}, ErrUnknownResource
	}
	return s.issue(p, aud, lifetime)
}

// issue signs an application token for p with audience aud.
func (s *Service) issue(p Principal, aud string, lifetime time.Duration) (Token, error) {
	if !isGUID(p.ObjectID) || !isGUID(p.AppID) {
		return Token{}, slipway.Errorf(slipway.EINVALID, "Principal ids must be GUIDs.")
	}
	if lifetime <= 0 {
		lifetime = s.cfg.TokenLifetime
	}
	lifetime = min(lifetime, s.cfg.MaxTokenLifetime)
	uti := make([]byte, 16)
	if _, err := rand.Read(uti); err != nil {
		return Token{}, fmt.Errorf("generating token id: %w", err)
	}
	// Azure backdates nbf and iat by five minutes for clock skew.
	now := s.cfg.Now().UTC().Truncate(time.Second)
	nbf := now.Add(-5 * time.Minute)
	exp := now.Add(lifetime)
	c := &wireClaims{
		Aud: aud, Iss: s.issuer,
		Iat: jwt.NewNumericDate(nbf), Nbf: jwt.NewNumericDate(nbf), Exp: jwt.NewNumericDate(exp),
		AppID: p.AppID, AppIDACR: "1", Idp: s.issuer, IDTyp: "app",
		Oid: p.ObjectID, Sub: p.ObjectID, Tid: s.cfg.TenantID,
		Uti: base64.RawURLEncoding.EncodeToString(uti), Ver: "1.0",
	}
	if p.Kind != store.ServicePrincipal {
		c.AppIDACR = "2"
		c.MIRID = p.ResourceID
	}
	signed, err := s.sign(c)
	if err != nil {
		return Token{}, err
	}
	return Token{AccessToken: signed, Resource: aud, ClientID: p.AppID, NotBefore: nbf, ExpiresOn: exp}, nil
}

// Verify checks a token issued by this service and returns its claims. It
// refuses (with an error wrapping ErrInvalidToken) anything but RS256 signed
// by a published key named by kid, tokens that are expired or not yet valid
// (beyond Config.Leeway), issued in the future, from another issuer or
// tenant, for an audience not in accepted (compared ignoring case and one
// trailing slash; an empty list accepts none), malformed, or longer than
// MaxTokenBytes.
func (s *Service) Verify(ctx context.Context, token string, accepted []string) (Claims, error) {
	var c wireClaims
	if err := s.parseJWT(token, &c, jwt.WithIssuer(s.issuer)); err != nil {
		return Claims{}, err
	}
	if c.Iat == nil {
		return Claims{}, fmt.Errorf("%w: no iat", ErrInvalidToken)
	}
	if c.Tid != s.cfg.TenantID {
		return Claims{}, fmt.Errorf("%w: issued for another tenant", ErrInvalidToken)
	}
	if _, ok := matchResource(c.Aud, accepted); !ok {
		return Claims{}, fmt.Errorf("%w: audience %q is not accepted here", ErrInvalidToken, c.Aud)
	}
	if c.Ver != "1.0" || c.IDTyp != "app" || !isGUID(c.Oid) || !isGUID(c.AppID) {
		return Claims{}, fmt.Errorf("%w: not an application token of this service", ErrInvalidToken)
	}
	return Claims{
		Audience: c.Aud, Issuer: c.Iss,
		IssuedAt: c.Iat.Time, NotBefore: c.Nbf.Time, ExpiresAt: c.Exp.Time,
		AppID: c.AppID, AppIDACR: c.AppIDACR, IdentityProvider: c.Idp, IDType: c.IDTyp,
		ObjectID: c.Oid, Subject: c.Sub, TenantID: c.Tid, TokenID: c.Uti, Version: c.Ver,
		MIResourceID: c.MIRID,
	}, nil
}

// sign signs claims with the current key, naming it by kid and x5t as
// Entra does.
func (s *Service) sign(c jwt.Claims) (string, error) {
	key := s.ring.Load().current
	if key == nil {
		return "", errors.New("identity: no signing key")
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	t.Header["kid"] = key.kid
	t.Header["x5t"] = key.kid
	signed, err := t.SignedString(key.private)
	if err != nil {
		return "", fmt.Errorf("signing token: %w", err)
	}
	return signed, nil
}

// parseJWT verifies raw's signature (RS256 by a published key named by kid,
// not retired beyond the cutoff) and lifetime, with opts added to the
// parser, into claims. Errors wrap ErrInvalidToken.
func (s *Service) parseJWT(raw string, claims jwt.Claims, opts ...jwt.ParserOption) error {
	if len(raw) > MaxTokenBytes {
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, MaxTokenBytes)
	}
	if strings.Count(raw, ".") != 2 {
		return fmt.Errorf("%w: not a signed JWT", ErrInvalidToken)
	}
	ring := s.ring.Load()
	cutoff := s.retiredCutoff()
	parser := jwt.NewParser(append([]jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithLeeway(s.cfg.Leeway),
		jwt.WithTimeFunc(s.cfg.Now),
		jwt.WithExpirationRequired(),
		jwt.WithNotBeforeRequired(),
		jwt.WithIssuedAt(),
		jwt.WithStrictDecoding(),
	}, opts...)...)
	_, err := parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, ok := ring.byKID[kid]
		if !ok || (!k.retired.IsZero() && k.retired.Before(cutoff)) {
			return nil, errors.New("unknown signing key")
		}
		if x5t, ok := t.Header["x5t"]; ok && x5t != kid {
			return nil, errors.New("x5t does not match kid")
		}
		return &k.private.PublicKey, nil
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return nil
}
