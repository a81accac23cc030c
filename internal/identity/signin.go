package identity

// Signing users in: the relying-party side of the authorization code flow
// as the platform's own authentication (internal/easyauth, App Service's
// "Easy Auth") uses it in process. The same flow is served over the wire
// at /{tenant}/oauth2/v2.0/authorize and /token for MSAL and other
// clients.
//
// Errors of RedeemCode and RedeemRefreshToken are the token endpoint's:
// OAuthError reads their OAuth error code and AADSTS number. Those of
// VerifyIDToken and VerifyAccessToken wrap ErrInvalidToken.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
)

// AuthorizeRequest is a browser's sign-in request as a relying party
// builds it (https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc).
type AuthorizeRequest struct {
	ClientID     string
	RedirectURI  string
	ResponseType string // "code", "id_token", "code id_token"
	ResponseMode string // "query", "fragment", "form_post"
	Scope        string // e.g. "openid profile email offline_access"
	State        string
	Nonce        string
	Prompt       string // "", "login", "select_account", "none"
	LoginHint    string
	DomainHint   string
	// CodeChallenge and CodeChallengeMethod ("S256") are PKCE's.
	CodeChallenge, CodeChallengeMethod string
}

// CodeRedemption is a token request with grant_type authorization_code.
type CodeRedemption struct {
	ClientID     string
	ClientSecret string // "" for a public client with PKCE
	Code         string
	RedirectURI  string
	CodeVerifier string
	Scope        string
}

// UserTokens are what the token endpoint answers for a signed-in user.
type UserTokens struct {
	IDToken      string
	AccessToken  string
	RefreshToken string
	Scope        string
	ExpiresOn    time.Time // of the access token
}

// UserClaims are a verified token's claims as its JSON payload holds them.
type UserClaims map[string]any

// OAuthError returns the OAuth 2.0 error code (invalid_grant,
// invalid_client, ...) and AADSTS number of an error RedeemCode or
// RedeemRefreshToken returned; ok is false for an internal error.
func OAuthError(err error) (code string, aadsts int, ok bool) {
	var ae *aadError
	if errors.As(err, &ae) {
		return ae.code, ae.aadsts, true
	}
	return "", 0, false
}

// AuthorizeURL returns the URL of the authorization endpoint, at base (the
// login host as a browser reaches it, e.g. "https://login.localhost:8443"),
// carrying r.
func (s *Service) AuthorizeURL(base string, r AuthorizeRequest) string {
	q := url.Values{}
	for k, v := range map[string]string{"client_id": r.ClientID, "redirect_uri": r.RedirectURI, "response_type": r.ResponseType,
		"response_mode": r.ResponseMode, "scope": r.Scope, "state": r.State, "nonce": r.Nonce, "prompt": r.Prompt,
		"login_hint": r.LoginHint, "domain_hint": r.DomainHint, "code_challenge": r.CodeChallenge,
		"code_challenge_method": r.CodeChallengeMethod} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return strings.TrimSuffix(base, "/") + "/" + s.cfg.TenantID + "/oauth2/v2.0/authorize?" + q.Encode()
}

// LogoutURL returns the URL of the end-session endpoint at base, which
// signs the browser out of the login host and then sends it to
// postLogoutRedirectURI.
func (s *Service) LogoutURL(base, postLogoutRedirectURI string) string {
	u := strings.TrimSuffix(base, "/") + "/" + s.cfg.TenantID + "/oauth2/v2.0/logout"
	if postLogoutRedirectURI != "" {
		u += "?" + url.Values{"post_logout_redirect_uri": {postLogoutRedirectURI}}.Encode()
	}
	return u
}

// authenticateClient checks a confidential client's secret: its service
// principal's or its application's. secret "" is a public client.
func (s *Service) authenticateClient(ctx context.Context, clientID, secret string) error {
	_, err := s.cfg.Store.CheckPrincipalSecret(ctx, clientID, secret, s.cfg.Now())
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		_, err = s.cfg.Store.CheckApplicationSecret(ctx, clientID, secret, s.cfg.Now())
	}
	switch slipway.ErrorCode(err) {
	case "":
		return nil
	case slipway.ENOTFOUND:
		return newAADError(http.StatusBadRequest, "unauthorized_client", aadstsAppNotFound, "Application with identifier '%s' was not found in the directory '%s'.", truncate(clientID, 64), s.cfg.TenantID)
	case slipway.EUNAUTHORIZED:
		return newAADError(http.StatusUnauthorized, "invalid_client", aadstsBadSecret, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", strings.ToLower(clientID))
	}
	return err
}

// RedeemCode exchanges an authorization code for tokens, as the token
// endpoint does for grant_type authorization_code.
func (s *Service) RedeemCode(ctx context.Context, r CodeRedemption) (UserTokens, error) {
	if r.Code == "" || r.ClientID == "" {
		return UserTokens{}, newAADError(http.StatusBadRequest, "invalid_request", aadstsMissingParameter, "The request body must contain the parameters 'code' and 'client_id'.")
	}
	// The code is spent by this attempt whatever its outcome: a second
	// try, even with the right verifier, is a replay.
	g, err := s.codes.take(r.Code, s.cfg.Now())
	if err != nil {
		return UserTokens{}, err
	}
	if !strings.EqualFold(g.ClientID, r.ClientID) {
		return UserTokens{}, newAADError(http.StatusBadRequest, "invalid_grant", aadstsInvalidGrant, "Provided grant is invalid or malformed: the authorization code was issued to another client.")
	}
	if r.RedirectURI != g.RedirectURI {
		return UserTokens{}, newAADError(http.StatusBadRequest, "invalid_grant", aadstsRedirectMismatch, "The redirect URI '%s' does not match the redirect URI the authorization code was issued for.", truncate(r.RedirectURI, 256))
	}
	if g.CodeChallenge != "" {
		if r.CodeVerifier == "" {
			return UserTokens{}, newAADError(http.StatusBadRequest, "invalid_grant", aadstsPKCEMalformed, "The code_verifier is missing: the authorization request sent a code_challenge.")
		}
		if len(r.CodeVerifier) < 43 || len(r.CodeVerifier) > 128 {
			return UserTokens{}, newAADError(http.StatusBadRequest, "invalid_grant", aadstsPKCEMalformed, "The Code_Verifier does not match the code_challenge supplied in the authorization request for PKCE (it must be 43 to 128 characters).")
		}
		if !pkceMatches(r.CodeVerifier, g.CodeChallenge) {
			return UserTokens{}, newAADError(http.StatusBadRequest, "invalid_grant", aadstsPKCEMismatch, "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.")
		}
	} else if r.CodeVerifier != "" {
		return UserTokens{}, newAADError(http.StatusBadRequest, "invalid_grant", aadstsPKCEMismatch, "A code_verifier was sent, but the authorization request had no code_challenge.")
	}
	a, err := s.cfg.Store.ApplicationByAppID(ctx, g.ClientID)
	if err != nil {
		return UserTokens{}, newAADError(http.StatusBadRequest, "invalid_grant", aadstsInvalidGrant, "The application the code was issued to no longer exists.")
	}
	if r.ClientSecret == "" {
		if !isPublicRedirect(a, g.RedirectURI) || g.CodeChallenge == "" {
			return UserTokens{}, newAADError(http.StatusUnauthorized, "invalid_client", aadstsPublicClientSecret, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'. (Only a public-client redirect URI with PKCE redeems without one.)")
		}
		g.Public = true
	} else if err := s.authenticateClient(ctx, g.ClientID, r.ClientSecret); err != nil {
		return UserTokens{}, err
	}
	if _, err := s.currentUser(ctx, g.User.ObjectID, g.User.PasswordChanged.UnixNano()); err != nil {
		return UserTokens{}, err
	}
	scope := g.Scope
	if r.Scope != "" {
		scope = r.Scope
	}
	rs, err := s.parseScopes(ctx, g.ClientID, scope)
	if err != nil {
		return UserTokens{}, err
	}
	g.grant.Scope = scope
	return s.issueUserTokens(ctx, g.grant, rs)
}

// RedeemRefreshToken exchanges a refresh token for new tokens, as the token
// endpoint does for grant_type refresh_token.
func (s *Service) RedeemRefreshToken(ctx context.Context, clientID, clientSecret, rawRefresh, scope string) (UserTokens, error) {
	var rt refreshToken
	invalid := newAADError(http.StatusBadRequest, "invalid_grant", aadstsInvalidGrant, "Provided grant is invalid or malformed.")
	if !s.unseal(rawRefresh, aadRefresh, &rt) {
		return UserTokens{}, invalid
	}
	if !strings.EqualFold(rt.ClientID, clientID) {
		return UserTokens{}, newAADError(http.StatusBadRequest, "invalid_grant", aadstsInvalidGrant, "Provided grant is invalid or malformed: the refresh token was issued to another client.")
	}
	if s.cfg.Now().Unix() >= rt.Expires {
		return UserTokens{}, newAADError(http.StatusBadRequest, "invalid_grant", aadstsCodeExpired, "The refresh token has expired due to inactivity. The token was issued on a date more than 90 days ago. Sign in again.")
	}
	if s.codes.isRevoked(rt.Family) {
		return UserTokens{}, newAADError(http.StatusBadRequest, "invalid_grant", aadstsInvalidGrant, "The refresh token was revoked: the authorization code it came from was redeemed twice.")
	}
	if clientSecret != "" {
		if err := s.authenticateClient(ctx, rt.ClientID, clientSecret); err != nil {
			return UserTokens{}, err
		}
	} else if !rt.Public {
		return UserTokens{}, newAADError(http.StatusUnauthorized, "invalid_client", aadstsPublicClientSecret, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	}
	if _, err := s.currentUser(ctx, rt.OID, rt.Password); err != nil {
		return UserTokens{}, err
	}
	u, err := s.cfg.Store.UserByObjectID(ctx, rt.OID)
	if err != nil {
		return UserTokens{}, err
	}
	if scope == "" {
		scope = rt.Scope
	}
	rs, err := s.parseScopes(ctx, rt.ClientID, scope)
	if err != nil {
		return UserTokens{}, err
	}
	if !rs.has("offline_access") {
		// The refresh token keeps being renewed: the grant was offline.
		rs.oidc = append(rs.oidc, "offline_access")
	}
	return s.issueUserTokens(ctx, grant{User: u, ClientID: rt.ClientID, Scope: scope, AuthTime: time.Unix(rt.AuthTime, 0),
		Public: rt.Public, Family: rt.Family}, rs)
}

// VerifyIDToken checks an ID token this service issued for clientID
// (signature, issuer, audience, lifetime, and nonce when nonce is not "")
// and returns its claims.
func (s *Service) VerifyIDToken(ctx context.Context, raw, clientID, nonce string) (UserClaims, error) {
	c, err := s.parseSigned(raw, s.v2Issuer())
	if err != nil {
		return nil, err
	}
	if aud, _ := c["aud"].(string); clientID == "" || !strings.EqualFold(aud, clientID) {
		return nil, fmt.Errorf("%w: issued for another client", ErrInvalidToken)
	}
	if v, _ := c["ver"].(string); v != "2.0" {
		return nil, fmt.Errorf("%w: not an ID token", ErrInvalidToken)
	}
	if nonce != "" {
		if got, _ := c["nonce"].(string); got != nonce {
			return nil, fmt.Errorf("%w: the nonce does not match", ErrInvalidToken)
		}
	}
	return UserClaims(c), nil
}

// VerifyAccessToken checks an access token this service issued, for a
// user or an application, whose audience is one of audiences, and returns
// its claims.
func (s *Service) VerifyAccessToken(ctx context.Context, raw string, audiences []string) (UserClaims, error) {
	c, err := s.parseSigned(raw, s.issuer)
	if err != nil {
		return nil, err
	}
	if v, _ := c["ver"].(string); v != "1.0" {
		return nil, fmt.Errorf("%w: not an access token", ErrInvalidToken)
	}
	aud, _ := c["aud"].(string)
	if _, ok := matchResource(aud, audiences); !ok {
		return nil, fmt.Errorf("%w: audience %q is not accepted here", ErrInvalidToken, truncate(aud, 128))
	}
	switch typ, _ := c["idtyp"].(string); typ {
	case "user", "app":
	default:
		return nil, fmt.Errorf("%w: not an access token", ErrInvalidToken)
	}
	return UserClaims(c), nil
}

// issueForApplication is Issue for an app registration's own audience
// (api://<appId> or the app id), which Config.Resources does not list:
// client credentials for an API registered in the directory.
func (s *Service) issueForApplication(ctx context.Context, p Principal, resource string) (Token, error) {
	res := strings.TrimSuffix(resource, "/")
	appID := strings.TrimPrefix(strings.ToLower(res), "api://")
	if !isGUID(appID) {
		return Token{}, ErrUnknownResource
	}
	a, err := s.cfg.Store.ApplicationByAppID(ctx, appID)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return Token{}, ErrUnknownResource
	} else if err != nil {
		return Token{}, err
	}
	if res != appID && !slices.ContainsFunc(a.IdentifierURIs, func(u string) bool { return strings.EqualFold(u, res) }) {
		return Token{}, ErrUnknownResource
	}
	return s.issue(p, res, 0)
}

// userGrant serves the token endpoint's authorization_code and
// refresh_token grants, answering as Entra ID does: token_type, scope,
// expires_in, ext_expires_in, access_token, refresh_token (offline_access),
// id_token (openid) and client_info when the client asks (client_info=1,
// as MSAL does).
func (s *Service) userGrant(w http.ResponseWriter, r *http.Request, grantType, clientID, secret string) error {
	form := r.PostForm
	for _, k := range []string{"code", "redirect_uri", "code_verifier", "refresh_token", "client_info"} {
		if len(form[k]) > 1 {
			return newAADError(http.StatusBadRequest, "invalid_request", aadstsMissingParameter, "The request body must contain the parameter '%s' once only.", k)
		}
	}
	var toks UserTokens
	var err error
	if grantType == "authorization_code" {
		toks, err = s.RedeemCode(r.Context(), CodeRedemption{ClientID: clientID, ClientSecret: secret, Code: form.Get("code"),
			RedirectURI: form.Get("redirect_uri"), CodeVerifier: form.Get("code_verifier"), Scope: form.Get("scope")})
	} else {
		if form.Get("refresh_token") == "" {
			return newAADError(http.StatusBadRequest, "invalid_request", aadstsMissingParameter, "The request body must contain the following parameter: 'refresh_token'.")
		}
		toks, err = s.RedeemRefreshToken(r.Context(), clientID, secret, form.Get("refresh_token"), form.Get("scope"))
	}
	if err != nil {
		return err
	}
	expiresIn := int64(toks.ExpiresOn.Sub(s.cfg.Now()).Seconds())
	out := map[string]any{"token_type": "Bearer", "scope": toks.Scope, "expires_in": expiresIn, "ext_expires_in": expiresIn,
		"access_token": toks.AccessToken}
	if toks.RefreshToken != "" {
		out["refresh_token"] = toks.RefreshToken
	}
	if toks.IDToken != "" {
		out["id_token"] = toks.IDToken
		if form.Get("client_info") == "1" {
			if c, err := s.parseSigned(toks.IDToken, s.v2Issuer()); err == nil {
				ci, _ := json.Marshal(map[string]string{"uid": fmt.Sprint(c["oid"]), "utid": s.cfg.TenantID})
				out["client_info"] = base64.RawURLEncoding.EncodeToString(ci)
			}
		}
	}
	return writeJSON(w, http.StatusOK, out)
}
