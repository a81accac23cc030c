package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/store"
)

// Tokens for signed-in users, with the claims of the Microsoft identity
// platform's (https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference,
// https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference):
//
//   - ID tokens are v2.0 tokens with iss https://login.microsoftonline.com/<tenant>/v2.0,
//     the issuer Entra ID's v2.0 discovery document names whatever host it is
//     reached at, and so this service's: the same string in discovery, in
//     tokens and in verification, however a client reached the service.
//   - Access tokens are v1.0 tokens (iss https://sts.windows.net/<tenant>/),
//     as Entra ID issues for Graph and for apps that leave
//     api.requestedAccessTokenVersion null, with idtyp "user", scp, upn.

// graphAppID is Microsoft Graph's well-known application id: the audience of
// delegated tokens for the OpenID scopes, as Entra ID issues them.
const graphAppID = "00000003-0000-0000-c000-000000000000"

// oidcScopes are the OpenID Connect scopes; they name no resource.
var oidcScopes = []string{"openid", "profile", "email", "offline_access"}

// Lifetimes of what a sign-in issues.
const (
	codeLifetime    = 10 * time.Minute
	refreshLifetime = 90 * 24 * time.Hour // sliding: each use issues a new one
	idTokenLifetime = time.Hour
)

// v2Issuer is the iss of ID tokens and the issuer of the v2.0 discovery
// document.
func (s *Service) v2Issuer() string {
	return "https://login.microsoftonline.com/" + s.cfg.TenantID + "/v2.0"
}

// resourceScopes is what a request's scope names: the OpenID scopes, and
// the one resource (with its scope names) an access token is for.
type resourceScopes struct {
	oidc     []string // openid, profile, email, offline_access present
	audience string   // the access token's aud
	scp      []string // the access token's scp
}

func (rs resourceScopes) has(s string) bool { return slices.Contains(rs.oidc, s) }

// scopeString is the scope a token response names.
func (rs resourceScopes) scopeString() string {
	var out []string
	prefix := ""
	if rs.audience != graphAppID {
		prefix = rs.audience + "/"
	}
	for _, s := range rs.scp {
		out = append(out, prefix+s)
	}
	out = append(out, rs.oidc...)
	return strings.Join(out, " ")
}

// parseScopes reads a delegated request's scope: OpenID scopes, and at most
// one resource as api://<appId>/<name>, <identifier URI>/<name>,
// <appId>/<name> or <...>/.default; or Graph's (User.Read,
// https://graph.microsoft.com/User.Read). With only OpenID scopes the token
// is for Graph, as Entra ID issues it.
func (s *Service) parseScopes(ctx context.Context, clientID, scope string) (resourceScopes, error) {
	var rs resourceScopes
	fields := strings.Fields(scope)
	if len(fields) == 0 {
		return rs, newAADError(http.StatusBadRequest, "invalid_request", aadstsMissingParameter, "The request must contain the parameter 'scope'.")
	}
	if len(fields) > 32 || len(scope) > 4096 {
		return rs, newAADError(http.StatusBadRequest, "invalid_scope", aadstsInvalidScope, "The provided value for the input parameter 'scope' is not valid: too many scopes.")
	}
	for _, f := range fields {
		switch {
		case slices.Contains(oidcScopes, f):
			if !rs.has(f) {
				rs.oidc = append(rs.oidc, f)
			}
			continue
		}
		aud, name, err := s.scopeResource(ctx, clientID, f)
		if err != nil {
			return rs, err
		}
		if rs.audience != "" && !strings.EqualFold(rs.audience, aud) {
			return rs, newAADError(http.StatusBadRequest, "invalid_scope", aadstsMultipleResources,
				"The scope '%s' names a second resource: tokens may be requested for only one resource at a time.", truncate(scope, 256))
		}
		rs.audience = aud
		if !slices.Contains(rs.scp, name) {
			rs.scp = append(rs.scp, name)
		}
	}
	if rs.audience == "" {
		rs.audience = graphAppID
	}
	if rs.audience == graphAppID && len(rs.scp) == 0 {
		rs.scp = append(rs.scp, "User.Read")
	}
	return rs, nil
}

// scopeResource resolves one resource scope to its audience and name. A
// registration's API is a resource only to that registration's own
// sign-in: Slipway has no consent step, and without one any tenant's app
// could get, as each of its users, a token for another tenant's API
// (Entra ID asks the user or an administrator first, AADSTS65001).
func (s *Service) scopeResource(ctx context.Context, clientID, f string) (aud, name string, err error) {
	bad := newAADError(http.StatusBadRequest, "invalid_scope", aadstsInvalidScope,
		"The provided value for the input parameter 'scope' is not valid: '%s'. Slipway issues delegated tokens for the OpenID scopes, Microsoft Graph's User.Read, and an app registration's own scopes (api://<appId>/<name> or <appId>/.default).", truncate(f, 256))
	if len(f) > 512 {
		return "", "", bad
	}
	if f == "User.Read" || strings.EqualFold(f, "https://graph.microsoft.com/User.Read") || strings.EqualFold(f, "https://graph.microsoft.com/.default") {
		return graphAppID, "User.Read", nil
	}
	i := strings.LastIndex(f, "/")
	if i <= 0 || i == len(f)-1 {
		return "", "", bad
	}
	res, name := f[:i], f[i+1:]
	if name == ".default" {
		name = "user_impersonation"
	}
	if isGUID(res) {
		if _, err := s.cfg.Store.ApplicationByAppID(ctx, res); err != nil {
			if slipway.ErrorCode(err) == slipway.ENOTFOUND {
				return "", "", errResourceNotFound(res, s.cfg.TenantID)
			}
			return "", "", err
		}
		if !strings.EqualFold(res, clientID) {
			return "", "", errNoConsent(clientID, res)
		}
		return strings.ToLower(res), name, nil
	}
	appID, ok := strings.CutPrefix(strings.ToLower(res), "api://")
	if !ok {
		return "", "", bad
	}
	appID, _, _ = strings.Cut(appID, "/")
	a, err := s.cfg.Store.ApplicationByAppID(ctx, appID)
	if err != nil || !slices.ContainsFunc(a.IdentifierURIs, func(u string) bool { return strings.EqualFold(u, res) }) {
		if err != nil && slipway.ErrorCode(err) != slipway.ENOTFOUND {
			return "", "", err
		}
		return "", "", errResourceNotFound(res, s.cfg.TenantID)
	}
	if !strings.EqualFold(appID, clientID) {
		return "", "", errNoConsent(clientID, res)
	}
	return res, name, nil
}

// errNoConsent refuses a registration's sign-in a token for another
// registration's API, as Entra ID refuses one nobody consented to.
func errNoConsent(clientID, resource string) error {
	return newAADError(http.StatusBadRequest, "consent_required", aadstsNoConsent,
		"The user or administrator has not consented to use the application with ID '%s' for the resource '%s'. Slipway has no consent step: an app registration's sign-in gets delegated tokens only for its own API (api://<its appId>) and Microsoft Graph's User.Read; call another API with that API's own sign-in or an application token.",
		truncate(clientID, 64), truncate(resource, 256))
}

// pairwise is a subject identifier for the user as one client or resource
// sees it (sub): stable for the pair, unlinkable across apps.
func (s *Service) pairwise(audience, oid string) string {
	h := sha256.Sum256([]byte("slipway pairwise sub\x00" + s.cfg.TenantID + "\x00" + strings.ToLower(audience) + "\x00" + oid))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func newUTI() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// grant is what a code or a refresh token stands for.
type grant struct {
	User     store.User
	ClientID string
	Scope    string
	Nonce    string
	AuthTime time.Time
	Public   bool   // redeemed without a client secret
	Family   string // the code every token of this sign-in descends from
}

// issueUserTokens signs the access token, and the ID token when openid was
// asked, for the grant; the refresh token when offline_access was.
func (s *Service) issueUserTokens(ctx context.Context, g grant, rs resourceScopes) (UserTokens, error) {
	now := s.cfg.Now().UTC().Truncate(time.Second)
	nbf := now.Add(-5 * time.Minute)
	exp := now.Add(s.cfg.TokenLifetime)
	u := g.User
	acr := "1"
	if g.Public {
		acr = "0"
	}
	at := jwt.MapClaims{
		"aud": rs.audience, "iss": s.issuer, "iat": nbf.Unix(), "nbf": nbf.Unix(), "exp": exp.Unix(),
		"acr": "1", "amr": []string{"pwd"}, "appid": g.ClientID, "appidacr": acr, "idtyp": "user",
		"name": u.DisplayName, "oid": u.ObjectID, "scp": strings.Join(rs.scp, " "),
		"sub": s.pairwise(rs.audience, u.ObjectID), "tid": s.cfg.TenantID, "unique_name": u.UserPrincipalName,
		"upn": u.UserPrincipalName, "uti": newUTI(), "ver": "1.0",
	}
	access, err := s.sign(at)
	if err != nil {
		return UserTokens{}, err
	}
	out := UserTokens{AccessToken: access, Scope: rs.scopeString(), ExpiresOn: exp}
	if rs.has("openid") {
		if out.IDToken, err = s.idToken(g, rs, ""); err != nil {
			return UserTokens{}, err
		}
	}
	if rs.has("offline_access") {
		if out.RefreshToken, err = s.sealRefresh(ctx, g); err != nil {
			return UserTokens{}, err
		}
	}
	return out, nil
}

// idToken signs a v2.0 ID token for the grant; cHash is the c_hash of a
// code issued beside it at the authorization endpoint ("" for none).
func (s *Service) idToken(g grant, rs resourceScopes, cHash string) (string, error) {
	now := s.cfg.Now().UTC().Truncate(time.Second)
	u := g.User
	c := jwt.MapClaims{
		"aud": g.ClientID, "iss": s.v2Issuer(), "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(idTokenLifetime).Unix(),
		"oid": u.ObjectID, "sub": s.pairwise(g.ClientID, u.ObjectID), "tid": s.cfg.TenantID, "uti": newUTI(), "ver": "2.0",
		"auth_time": g.AuthTime.Unix(),
	}
	if rs.has("profile") {
		// MSAL builds its account from name and preferred_username.
		c["name"] = u.DisplayName
		c["preferred_username"] = u.UserPrincipalName
	}
	if rs.has("email") && u.Mail != "" {
		c["email"] = u.Mail
	}
	if g.Nonce != "" {
		c["nonce"] = g.Nonce
	}
	if cHash != "" {
		c["c_hash"] = cHash
	}
	return s.sign(c)
}

// halfHash is the left half of SHA-256 of v, base64url: OpenID Connect's
// c_hash and at_hash for RS256.
func halfHash(v string) string {
	h := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(h[:16])
}

// parseSigned verifies a token's signature (a published, unexpired key),
// lifetime and issuer, and returns its claims.
func (s *Service) parseSigned(raw string, issuers ...string) (jwt.MapClaims, error) {
	c := jwt.MapClaims{}
	if err := s.parseJWT(raw, c); err != nil {
		return nil, err
	}
	iss, _ := c["iss"].(string)
	if !slices.Contains(issuers, iss) {
		return nil, fmt.Errorf("%w: issuer %q is not this service's", ErrInvalidToken, truncate(iss, 128))
	}
	if tid, _ := c["tid"].(string); tid != s.cfg.TenantID {
		return nil, fmt.Errorf("%w: issued for another tenant", ErrInvalidToken)
	}
	if _, ok := c["iat"]; !ok {
		return nil, fmt.Errorf("%w: no iat", ErrInvalidToken)
	}
	return c, nil
}
