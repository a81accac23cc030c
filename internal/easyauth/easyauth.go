// Package easyauth is App Service authentication ("Easy Auth") as the
// front door runs it for a site whose config/authsettingsV2 turns it on
// (https://learn.microsoft.com/azure/app-service/overview-authentication-authorization).
// It owns the /.auth/* endpoints on the app's names (login, its
// callback, me, logout, refresh), the gate in front of the app
// (globalValidation: RedirectToLoginPage, Return401, Return403,
// AllowAnonymous, excluded paths), bearer tokens sent by clients
// (validation.allowedAudiences and defaultAuthorizationPolicy), the
// session cookie AppServiceAuthSession, the client-directed sign-in and
// its X-ZUMO-AUTH session token (clientlogin.go), the token store, and
// the request
// headers that hand the signed-in user to the app: X-MS-CLIENT-PRINCIPAL
// (base64 JSON of the claims after App Service's default claim mapping),
// -ID, -NAME, -IDP and, with the token store, X-MS-TOKEN-AAD-*
// (https://learn.microsoft.com/azure/app-service/configure-authentication-user-identities,
// https://learn.microsoft.com/azure/app-service/configure-authentication-oauth-tokens).
//
// Its one identity provider is the Microsoft identity platform as Slipway
// serves it (internal/identity, through the Provider interface declared
// here): users sign in with the authorization code flow, the answer
// coming back by form_post with a code and an ID token
// (https://learn.microsoft.com/azure/app-service/configure-authentication-provider-aad).
//
// Everything a client sends is hostile. The login state is sealed with
// the site's key, short-lived, single-use and bound to the browser that
// asked for it by a nonce cookie (no login CSRF); the ID token must carry
// the nonce of that state; redirects after login and logout go only to a
// path of the site or to login.allowedExternalRedirectUrls; the session
// cookie is sealed (AES-GCM) with a key derived from the platform's key
// and the site's name (HKDF), so that one site's cookie is worthless on
// another, and carries its expiry; bodies, cookies and the memory held
// per site and in all are bounded.
//
// The session (the user's claims and its expiry) lives in the cookie;
// the token store (login.tokenStore.enabled) keeps the provider's tokens
// in this process's memory, keyed by a session id in the cookie, and
// writes them through to a keeper (Config.Keeper: the store's table,
// sealed with the master key), from which they are loaded at start, so
// that users keep their stored tokens across a restart of Slipway. A
// request never waits for the keeper.
package easyauth

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/cleartext"
	"github.com/slipway-dev/slipway/internal/identity"
)

// Provider signs users in: the relying-party side of the authorization
// code flow, as internal/identity's *Service serves it in process.
type Provider interface {
	AuthorizeURL(base string, r identity.AuthorizeRequest) string
	LogoutURL(base, postLogoutRedirectURI string) string
	RedeemCode(ctx context.Context, r identity.CodeRedemption) (identity.UserTokens, error)
	RedeemRefreshToken(ctx context.Context, clientID, clientSecret, refreshToken, scope string) (identity.UserTokens, error)
	VerifyIDToken(ctx context.Context, raw, clientID, nonce string) (identity.UserClaims, error)
	VerifyAccessToken(ctx context.Context, raw string, audiences []string) (identity.UserClaims, error)
}

// Config configures the module.
type Config struct {
	Provider Provider
	// LoginBase is the login host as a browser reaches it, e.g.
	// "https://login.localhost:8443".
	LoginBase string
	// TenantID is the directory's tenant, named in WWW-Authenticate.
	TenantID string
	// Key is the platform's secret (32 random bytes, kept across
	// restarts); each site's keys are derived from it and the site name.
	Key []byte
	// ClientSecret resolves the app setting that holds a site's client
	// secret (registration.clientSecretSettingName), Key Vault
	// references included.
	ClientSecret func(ctx context.Context, site, settingName string) (string, error)
	Now          func() time.Time // nil: time.Now
	Logger       *slog.Logger     // nil: discard
	// MaxSessions and MaxSessionsPerSite bound the token store (0:
	// 20000 and 2000); the oldest entry of the site goes first.
	MaxSessions, MaxSessionsPerSite int
	// Keeper keeps the token store across restarts (the store's sealed
	// table); nil: the tokens live in memory only.
	Keeper TokenKeeper
}

// TokenKeeper keeps the token store's entries, written through from
// memory: the tokens as JSON, which the keeper seals at rest.
type TokenKeeper interface {
	SaveAuthTokens(ctx context.Context, site, session string, tokens []byte, added, expires time.Time) error
	DeleteAuthTokens(ctx context.Context, site, session string) error
	LoadAuthTokens(ctx context.Context, now time.Time, fn func(site, session string, tokens []byte, added, expires time.Time)) error
}

// Module is the authentication of every site, for the front door.
type Module struct {
	cfg   Config
	keys  sync.Map // site -> cipher.AEAD
	store *tokenStore
	used  *usedStates
}

// New returns the module, or an error that says what is missing.
func New(cfg Config) (*Module, error) {
	if cfg.Provider == nil {
		return nil, errors.New("easyauth: no Provider: pass the identity service that signs users in")
	}
	if len(cfg.Key) < 32 {
		return nil, errors.New("easyauth: Key must hold at least 32 random bytes, kept across restarts")
	}
	if cfg.LoginBase == "" {
		return nil, errors.New("easyauth: no LoginBase: pass the login host as browsers reach it, e.g. https://login.localhost:8443")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 20000
	}
	if cfg.MaxSessionsPerSite <= 0 {
		cfg.MaxSessionsPerSite = 2000
	}
	cfg.LoginBase = strings.TrimSuffix(cfg.LoginBase, "/")
	m := &Module{cfg: cfg, store: newTokenStore(cfg.MaxSessions, cfg.MaxSessionsPerSite), used: newUsedStates(maxUsedStates)}
	if cfg.Keeper != nil {
		if err := m.store.keep(cfg.Keeper, cfg.Now(), cfg.Logger); err != nil {
			return nil, fmt.Errorf("easyauth: loading the token store: %w", err)
		}
	}
	return m, nil
}

// Close stops writing the token store through to the keeper, once what
// was asked is written.
func (m *Module) Close() error {
	m.store.close()
	return nil
}

// Names and defaults of App Service's authentication.
const (
	sessionCookie = "AppServiceAuthSession"
	nonceCookie   = "Nonce"
	// Over HTTPS the nonce cookie and the session's binding cookie carry
	// the __Host- prefix (session.go: planted cookies).
	nonceCookieTLS    = "__Host-Nonce"
	bindCookie        = "__Host-AppServiceAuthBind"
	providerName      = "aad"
	defaultScope      = "openid profile email offline_access"
	defaultLifetime   = 8 * time.Hour    // cookieExpiration.timeToExpiration "08:00:00"
	defaultNonceLife  = 5 * time.Minute  // nonce.nonceExpirationInterval "00:05:00"
	maxNonceLife      = 30 * time.Minute // a longer setting is taken as this
	defaultRefreshExt = 72 * time.Hour   // tokenStore.tokenRefreshExtensionHours
	maxCallbackBody   = 64 << 10
	maxCookieLen      = 4000 // a sealed cookie value longer than this is no session
	cookieBudget      = 3800 // what a new session cookie's value may take
	maxUsedStates     = 100000
)

// site is one request's view of a site's settings.
type site struct {
	name     string
	s        *slipway.AuthSettings
	aad      *slipway.AuthAAD // nil: no provider configured
	clientID string
	prefix   string
}

// Authenticate runs the site's authentication for r. It answers r itself
// (an /.auth endpoint, a redirect to sign in, a refusal) and returns
// done; or it returns the request fields that carry the signed-in user
// to the app (nil for an anonymous request), which the front door adds
// after dropping every such field the client sent. A nil settings or one
// with platform.enabled false does nothing.
func (m *Module) Authenticate(w http.ResponseWriter, r *http.Request, siteName string, settings *slipway.AuthSettings) (http.Header, bool) {
	if settings == nil || !settings.Platform.Enabled {
		return nil, false
	}
	st := &site{name: siteName, s: settings, prefix: settings.APIPrefix()}
	if a := settings.IdentityProviders.AzureActiveDirectory; a != nil && a.Enabled {
		st.aad, st.clientID = a, a.Registration.ClientID
	}
	if p := r.URL.Path; p == st.prefix || strings.HasPrefix(p, st.prefix+"/") {
		m.serveRoute(w, r, st, strings.TrimPrefix(p, st.prefix))
		return nil, true
	}
	now := m.cfg.Now()
	var p *principal
	if raw, ok := bearerToken(r); ok && st.aad != nil {
		var status int
		p, status = m.bearer(r.Context(), st, raw)
		if p == nil {
			m.refuse(w, r, st, status, "The bearer token is not valid for this app.")
			return nil, true
		}
	} else if sess, fromHeader, ok := m.openSession(r, st, now, 0); ok {
		p = sess.principal(m.store.get(st.name, sess.ID, now))
		if !allowedIdentity(st, p) {
			m.refuse(w, r, st, http.StatusForbidden, "You do not have permission to view this app.")
			return nil, true
		}
	} else if fromHeader {
		m.refuse(w, r, st, http.StatusUnauthorized, "The "+zumoHeader+" token is not valid for this app (or has expired); sign in again.")
		return nil, true
	}
	if p != nil {
		return p.fields(), false
	}
	if !settings.GlobalValidation.RequireAuthentication || excluded(settings, r.URL.Path) {
		return nil, false
	}
	switch settings.GlobalValidation.UnauthenticatedClientAction {
	case slipway.AuthAllowAnonymous:
		return nil, false
	case slipway.AuthReturn401:
		m.refuse(w, r, st, http.StatusUnauthorized, "You must sign in to view this app.")
	case slipway.AuthReturn403:
		m.refuse(w, r, st, http.StatusForbidden, "You do not have permission to view this app.")
	default: // RedirectToLoginPage
		if !isBrowser(r) || st.aad == nil {
			m.refuse(w, r, st, http.StatusUnauthorized, "You must sign in to view this app.")
			return nil, true
		}
		target := st.prefix + "/login/" + providerName + "?post_login_redirect_uri=" + queryEscape(r.URL.RequestURI())
		if settings.HTTPSRequired() && !cleartext.OverTLS(r) {
			target = "https://" + r.Host + target
		}
		noStore(w)
		if settings.Login.PreserveURLFragmentsForLogins && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			writeFragmentRedirect(w, r, target)
			return nil, true
		}
		http.Redirect(w, r, target, http.StatusFound)
	}
	return nil, true
}

// isBrowser tells a request App Service may send to the login page: not
// one made by script (X-Requested-With: XMLHttpRequest), which gets 401.
func isBrowser(r *http.Request) bool {
	return !strings.EqualFold(r.Header.Get("X-Requested-With"), "XMLHttpRequest")
}

// excluded reports whether path is one of globalValidation.excludedPaths:
// an exact match, or under an entry ending in "/*". A path that is not
// clean ("//", "/./", "/../") is never excluded: the app may read it as
// another path.
func excluded(s *slipway.AuthSettings, path string) bool {
	if len(s.GlobalValidation.ExcludedPaths) == 0 || !cleanPath(path) {
		return false
	}
	for _, e := range s.GlobalValidation.ExcludedPaths {
		if prefix, ok := strings.CutSuffix(e, "/*"); ok {
			if strings.HasPrefix(path, prefix+"/") {
				return true
			}
		} else if path == e {
			return true
		}
	}
	return false
}

func cleanPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.Contains(p, "//") || strings.Contains(p, "\\") {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// refuse answers 401 or 403 as App Service does; a 401 carries a
// WWW-Authenticate challenge unless login.disableWWWAuthenticate.
func (m *Module) refuse(w http.ResponseWriter, r *http.Request, st *site, status int, text string) {
	if status == http.StatusUnauthorized && (st.aad == nil || !st.aad.Login.DisableWWWAuthenticate) {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q authorization_uri=%q`,
			quotable(hostOnly(r.Host)), m.cfg.LoginBase+"/"+m.cfg.TenantID+"/oauth2/v2.0/authorize"))
	}
	writePage(w, status, text)
}

func hostOnly(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		return h[:i]
	}
	return h
}

// quotable keeps what may stand in a quoted string of a header.
func quotable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == '"' || r == '\\' || r > 0x7e {
			return -1
		}
		return r
	}, s)
}

// siteAEAD returns the site's sealing key: HKDF-SHA256 of the platform's
// key with the site's name.
func (m *Module) siteAEAD(name string) cipher.AEAD {
	if a, ok := m.keys.Load(name); ok {
		return a.(cipher.AEAD)
	}
	a := deriveAEAD(m.cfg.Key, name)
	m.keys.Store(name, a)
	return a
}
