package identity

// Signing users in: the relying-party side of the authorization code flow
// as the platform's own authentication (internal/easyauth, App Service's
// "Easy Auth") uses it in process. The same flow is served over the wire
// at /{tenant}/oauth2/v2.0/authorize and /token for MSAL and other
// clients.

import (
	"context"
	"errors"
	"time"
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

// errSignInNotBuilt is returned until the sign-in flow is served.
var errSignInNotBuilt = errors.New("identity: signing users in is not available yet")

// AuthorizeURL returns the URL of the authorization endpoint, at base (the
// login host as a browser reaches it, e.g. "https://login.localhost:8443"),
// carrying r.
func (s *Service) AuthorizeURL(base string, r AuthorizeRequest) string { return "" }

// LogoutURL returns the URL of the end-session endpoint at base, which
// signs the browser out of the login host and then sends it to
// postLogoutRedirectURI.
func (s *Service) LogoutURL(base, postLogoutRedirectURI string) string { return "" }

// RedeemCode exchanges an authorization code for tokens, as the token
// endpoint does for grant_type authorization_code.
func (s *Service) RedeemCode(ctx context.Context, r CodeRedemption) (UserTokens, error) {
	return UserTokens{}, errSignInNotBuilt
}

// RedeemRefreshToken exchanges a refresh token for new tokens, as the
// token endpoint does for grant_type refresh_token.
func (s *Service) RedeemRefreshToken(ctx context.Context, clientID, clientSecret, refreshToken, scope string) (UserTokens, error) {
	return UserTokens{}, errSignInNotBuilt
}

// VerifyIDToken checks an ID token this service issued for clientID
// (signature, issuer, audience, lifetime, and nonce when nonce is not "")
// and returns its claims.
func (s *Service) VerifyIDToken(ctx context.Context, raw, clientID, nonce string) (UserClaims, error) {
	return nil, errSignInNotBuilt
}

// VerifyAccessToken checks an access token this service issued, for a
// user or an application, whose audience is one of audiences, and returns
// its claims.
func (s *Service) VerifyAccessToken(ctx context.Context, raw string, audiences []string) (UserClaims, error) {
	return nil, errSignInNotBuilt
}
