package easyauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/slipway-dev/slipway"
)

// harness is one module with a test provider and a clock.
type harness struct {
	t    *testing.T
	m    *Module
	p    *testProvider
	mu   sync.Mutex
	now  time.Time
	sets map[string]*slipway.AuthSettings
	// binds are the binding cookies of the sessions the module made, by
	// the session cookie's value: do sends one along with its session to
	// the host that set it, as the browser that signed in does.
	binds map[string]boundCookie
}

type boundCookie struct {
	host string
	c    *http.Cookie
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), sets: map[string]*slipway.AuthSettings{}, binds: map[string]boundCookie{}}
	h.p = newTestProvider(h.clock)
	m, err := New(Config{Provider: h.p, LoginBase: "https://login.localhost:8443", TenantID: testTenant,
		Key: []byte("0123456789abcdef0123456789abcdef"), Now: h.clock,
		ClientSecret: func(_ context.Context, site, name string) (string, error) { return testSecret, nil }})
	if err != nil {
		t.Fatal(err)
	}
	h.m = m
	return h
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	h.now = h.now.Add(d)
	h.mu.Unlock()
}

// settings is a site with Easy Auth on, requiring sign-in, with the
// token store and a client secret.
func settings() *slipway.AuthSettings {
	s := &slipway.AuthSettings{}
	s.Platform.Enabled = true
	s.GlobalValidation.RequireAuthentication = true
	s.IdentityProviders.AzureActiveDirectory = &slipway.AuthAAD{Enabled: true,
		Registration: slipway.AuthAADRegistration{ClientID: testClientID, OpenIDIssuer: testIssuer,
			ClientSecretSettingName: "MICROSOFT_PROVIDER_AUTHENTICATION_SECRET"}}
	s.Login.TokenStore.Enabled = true
	return s
}

// result is what became of one request.
type result struct {
	rec    *httptest.ResponseRecorder
	fields http.Header // for the app; nil: anonymous
	app    bool        // the request went on to the app
}

func (h *harness) do(site string, s *slipway.AuthSettings, r *http.Request) result {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if _, err := r.Cookie(bindCookie); err != nil {
			if b, ok := h.binds[c.Value]; ok && b.host == r.Host {
				r.AddCookie(b.c)
			}
		}
	}
	rec := httptest.NewRecorder()
	f, done := h.m.Authenticate(rec, r, site, s)
	if sc, bc := cookieOf(rec, sessionCookie), cookieOf(rec, bindCookie); sc != nil && bc != nil && sc.Value != "" {
		h.binds[sc.Value] = boundCookie{r.Host, bc}
	}
	return result{rec: rec, fields: f, app: !done}
}

func get(target string, cookies ...*http.Cookie) *http.Request {
	r := httptest.NewRequest("GET", target, nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return r
}

func cookieOf(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// started is a sign-in begun at /.auth/login/aad.
type started struct {
	state, nonce, redirectURI string
	nonceCookie               *http.Cookie
}

func (h *harness) start(site string, s *slipway.AuthSettings, host, redirect string) started {
	h.t.Helper()
	target := "https://" + host + "/.auth/login/aad"
	if redirect != "" {
		target += "?post_login_redirect_uri=" + url.QueryEscape(redirect)
	}
	res := h.do(site, s, get(target))
	if res.rec.Code != http.StatusFound {
		h.t.Fatalf("login: %d %s", res.rec.Code, res.rec.Body)
	}
	u, err := url.Parse(res.rec.Header().Get("Location"))
	if err != nil || !strings.HasPrefix(u.String(), "https://login.localhost:8443/"+testTenant+"/oauth2/v2.0/authorize?") {
		h.t.Fatalf("login redirects to %q", res.rec.Header().Get("Location"))
	}
	q := u.Query()
	return started{state: q.Get("state"), nonce: q.Get("nonce"), redirectURI: q.Get("redirect_uri"), nonceCookie: cookieOf(res.rec, nonceCookieTLS)}
}

func callbackRequest(host string, form url.Values, cookies ...*http.Cookie) *http.Request {
	r := httptest.NewRequest("POST", "https://"+host+"/.auth/login/aad/callback", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range cookies {
		if c != nil {
			r.AddCookie(c)
		}
	}
	return r
}

// signIn runs the whole sign-in for site and returns the callback's answer.
func (h *harness) signIn(site string, s *slipway.AuthSettings, redirect string) *httptest.ResponseRecorder {
	h.t.Helper()
	host := site + ".localhost"
	st := h.start(site, s, host, redirect)
	idt := h.p.sign(h.p.userClaims(st.nonce))
	code := h.p.issueCode(st.redirectURI, idt)
	res := h.do(site, s, callbackRequest(host, url.Values{"state": {st.state}, "code": {code}, "id_token": {idt}}, st.nonceCookie))
	return res.rec
}

func (h *harness) session(site string, s *slipway.AuthSettings) *http.Cookie {
	h.t.Helper()
	rec := h.signIn(site, s, "/after")
	c := cookieOf(rec, sessionCookie)
	if rec.Code != http.StatusFound || c == nil {
		h.t.Fatalf("sign-in: %d %s", rec.Code, rec.Body)
	}
	return c
}

type clientPrincipal struct {
	AuthTyp string  `json:"auth_typ"`
	Claims  []claim `json:"claims"`
	NameTyp string  `json:"name_typ"`
	RoleTyp string  `json:"role_typ"`
}

func decodePrincipal(t *testing.T, v string) clientPrincipal {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		t.Fatalf("X-MS-CLIENT-PRINCIPAL is not base64: %v", err)
	}
	var p clientPrincipal
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("X-MS-CLIENT-PRINCIPAL is not JSON: %v", err)
	}
	return p
}

func hasClaim(p clientPrincipal, typ, val string) bool {
	for _, c := range p.Claims {
		if c.Typ == typ && c.Val == val {
			return true
		}
	}
	return false
}

func TestOffDoesNothing(t *testing.T) {
	h := newHarness(t)
	off := settings()
	off.Platform.Enabled = false
	for name, s := range map[string]*slipway.AuthSettings{"nil": nil, "disabled": off} {
		t.Run(name, func(t *testing.T) {
			for _, p := range []string{"/", "/.auth/login/aad", "/.auth/me"} {
				res := h.do("app", s, get("https://app.localhost"+p))
				if !res.app || res.fields != nil || res.rec.Code != 200 || len(res.rec.Header()) != 0 {
					t.Errorf("%s: the module acted: app=%v fields=%v code=%d", p, res.app, res.fields, res.rec.Code)
				}
			}
		})
	}
}

func TestUnauthenticatedActions(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name    string
		edit    func(*slipway.AuthSettings)
		req     func() *http.Request
		code    int
		app     bool
		loc     string
		wwwAuth bool
	}{
		{name: "redirect", edit: func(s *slipway.AuthSettings) {}, code: 302,
			loc: "/.auth/login/aad?post_login_redirect_uri=%2Fpath%3Fq%3D1"},
		{name: "redirect over http goes to https", edit: func(s *slipway.AuthSettings) {}, code: 302,
			req: func() *http.Request { return get("http://app.localhost/path?q=1") },
			loc: "https://app.localhost/.auth/login/aad?post_login_redirect_uri=%2Fpath%3Fq%3D1"},
		{name: "redirect, but script gets 401", edit: func(s *slipway.AuthSettings) {}, code: 401, wwwAuth: true,
			req: func() *http.Request {
				r := get("https://app.localhost/path?q=1")
				r.Header.Set("X-Requested-With", "XMLHttpRequest")
				return r
			}},
		{name: "401", edit: func(s *slipway.AuthSettings) { s.GlobalValidation.UnauthenticatedClientAction = slipway.AuthReturn401 }, code: 401, wwwAuth: true},
		{name: "401 without WWW-Authenticate", edit: func(s *slipway.AuthSettings) {
			s.GlobalValidation.UnauthenticatedClientAction = slipway.AuthReturn401
			s.IdentityProviders.AzureActiveDirectory.Login.DisableWWWAuthenticate = true
		}, code: 401},
		{name: "403", edit: func(s *slipway.AuthSettings) { s.GlobalValidation.UnauthenticatedClientAction = slipway.AuthReturn403 }, code: 403},
		{name: "anonymous", edit: func(s *slipway.AuthSettings) {
			s.GlobalValidation.UnauthenticatedClientAction = slipway.AuthAllowAnonymous
		}, code: 200, app: true},
		{name: "not required", edit: func(s *slipway.AuthSettings) { s.GlobalValidation.RequireAuthentication = false }, code: 200, app: true},
		{name: "excluded path", edit: func(s *slipway.AuthSettings) {
			s.GlobalValidation.UnauthenticatedClientAction = slipway.AuthReturn401
			s.GlobalValidation.ExcludedPaths = []string{"/path"}
		}, code: 200, app: true},
		{name: "excluded prefix", edit: func(s *slipway.AuthSettings) {
			s.GlobalValidation.UnauthenticatedClientAction = slipway.AuthReturn401
			s.GlobalValidation.ExcludedPaths = []string{"/public/*"}
		}, req: func() *http.Request { return get("https://app.localhost/public/a.css") }, code: 200, app: true},
		{name: "excluded path is exact", edit: func(s *slipway.AuthSettings) {
			s.GlobalValidation.UnauthenticatedClientAction = slipway.AuthReturn401
			s.GlobalValidation.ExcludedPaths = []string{"/pat", "/public/*"}
		}, code: 401, wwwAuth: true},
		{name: "a dot-dot path is never excluded", edit: func(s *slipway.AuthSettings) {
			s.GlobalValidation.UnauthenticatedClientAction = slipway.AuthReturn401
			s.GlobalValidation.ExcludedPaths = []string{"/public/*"}
		}, req: func() *http.Request { return get("https://app.localhost/public/../admin") }, code: 401, wwwAuth: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := settings()
			tt.edit(s)
			r := get("https://app.localhost/path?q=1")
			if tt.req != nil {
				r = tt.req()
			}
			r.Header.Set("X-MS-CLIENT-PRINCIPAL-NAME", "forged")
			res := h.do("app", s, r)
			if res.rec.Code != tt.code || res.app != tt.app {
				t.Fatalf("got %d app=%v, want %d app=%v: %s", res.rec.Code, res.app, tt.code, tt.app, res.rec.Body)
			}
			if res.fields != nil {
				t.Errorf("an anonymous request got principal fields %v", res.fields)
			}
			if got := res.rec.Header().Get("Location"); got != tt.loc {
				t.Errorf("Location %q, want %q", got, tt.loc)
			}
			if got := res.rec.Header().Get("WWW-Authenticate"); (got != "") != tt.wwwAuth {
				t.Errorf("WWW-Authenticate %q, want present=%v", got, tt.wwwAuth)
			} else if tt.wwwAuth && !strings.HasPrefix(got, `Bearer realm="app.localhost" authorization_uri="https://login.localhost:8443/`+testTenant) {
				t.Errorf("WWW-Authenticate %q", got)
			}
		})
	}
}

func TestAuthEndpointsRequireHTTPS(t *testing.T) {
	h := newHarness(t)
	res := h.do("app", settings(), get("http://app.localhost/.auth/login/aad?post_login_redirect_uri=/x"))
	if res.rec.Code != http.StatusTemporaryRedirect || res.rec.Header().Get("Location") != "https://app.localhost/.auth/login/aad?post_login_redirect_uri=/x" {
		t.Fatalf("got %d %q", res.rec.Code, res.rec.Header().Get("Location"))
	}
	s := settings()
	off := false
	s.HTTPSettings.RequireHTTPS = &off
	res = h.do("app", s, get("http://app.localhost/.auth/login/aad"))
	if res.rec.Code != http.StatusFound || !strings.Contains(res.rec.Header().Get("Location"), url.QueryEscape("http://app.localhost/.auth/login/aad/callback")) {
		t.Fatalf("requireHttps false: got %d %q", res.rec.Code, res.rec.Header().Get("Location"))
	}
}

func TestSignIn(t *testing.T) {
	h := newHarness(t)
	s := settings()
	s.IdentityProviders.AzureActiveDirectory.Login.LoginParameters = []string{"prompt=select_account"}
	st := h.start("app", s, "app.localhost", "/after?x=1")
	if st.nonce == "" || st.state == "" || st.redirectURI != "https://app.localhost/.auth/login/aad/callback" || st.nonceCookie == nil {
		t.Fatalf("login: %+v", st)
	}
	if !st.nonceCookie.HttpOnly || !st.nonceCookie.Secure || st.nonceCookie.SameSite != http.SameSiteNoneMode {
		t.Errorf("Nonce cookie %+v: want HttpOnly, Secure, SameSite=None", st.nonceCookie)
	}
	idt := h.p.sign(h.p.userClaims(st.nonce))
	code := h.p.issueCode(st.redirectURI, idt)
	res := h.do("app", s, callbackRequest("app.localhost", url.Values{"state": {st.state}, "code": {code}, "id_token": {idt}}, st.nonceCookie))
	if res.rec.Code != http.StatusFound || res.rec.Header().Get("Location") != "/after?x=1" {
		t.Fatalf("callback: %d %q %s", res.rec.Code, res.rec.Header().Get("Location"), res.rec.Body)
	}
	if h.p.redeemed != 1 {
		t.Errorf("the code was redeemed %d times, want 1", h.p.redeemed)
	}
	c := cookieOf(res.rec, sessionCookie)
	if c == nil || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteNoneMode || c.Path != "/" {
		t.Fatalf("session cookie %+v: want HttpOnly, Secure, SameSite=None, Path=/", c)
	}
	if want := h.clock().Add(8 * time.Hour); !c.Expires.Equal(want) {
		t.Errorf("session expires %v, want %v (08:00:00)", c.Expires, want)
	}
	if len(c.Value) > cookieBudget {
		t.Errorf("session cookie is %d bytes", len(c.Value))
	}

	// The app sees the user.
	r := get("https://app.localhost/page", c)
	r.Header.Set("X-MS-CLIENT-PRINCIPAL-ID", "forged")
	got := h.do("app", s, r)
	if !got.app || got.fields == nil {
		t.Fatalf("signed-in request: app=%v code=%d", got.app, got.rec.Code)
	}
	f := got.fields
	if f.Get("X-MS-CLIENT-PRINCIPAL-ID") != testOID || f.Get("X-MS-CLIENT-PRINCIPAL-NAME") != "ada@contoso.test" || f.Get("X-MS-CLIENT-PRINCIPAL-IDP") != "aad" {
		t.Errorf("principal fields %v", f)
	}
	p := decodePrincipal(t, f.Get("X-MS-CLIENT-PRINCIPAL"))
	if p.AuthTyp != "aad" || p.NameTyp != nameType || p.RoleTyp != roleType ||
		!hasClaim(p, "http://schemas.microsoft.com/identity/claims/objectidentifier", testOID) ||
		!hasClaim(p, "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", "ada@contoso.test") ||
		!hasClaim(p, roleType, "Admin") || !hasClaim(p, roleType, "Reader") || !hasClaim(p, "name", "Ada Lovelace") {
		t.Errorf("X-MS-CLIENT-PRINCIPAL %+v", p)
	}
	if f.Get("X-MS-TOKEN-AAD-ID-TOKEN") != idt || !strings.HasPrefix(f.Get("X-MS-TOKEN-AAD-ACCESS-TOKEN"), "at-") ||
		!strings.HasPrefix(f.Get("X-MS-TOKEN-AAD-REFRESH-TOKEN"), "rt-") || f.Get("X-MS-TOKEN-AAD-EXPIRES-ON") != "2026-01-02T04:04:05.0000000Z" {
		t.Errorf("token fields %v", f)
	}

	// /.auth/me
	me := h.do("app", s, get("https://app.localhost/.auth/me", c))
	var entries []meEntry
	if me.rec.Code != 200 || json.Unmarshal(me.rec.Body.Bytes(), &entries) != nil || len(entries) != 1 {
		t.Fatalf("/.auth/me: %d %s", me.rec.Code, me.rec.Body)
	}
	if e := entries[0]; e.ProviderName != "aad" || e.UserID != "ada@contoso.test" || e.IDToken != idt || e.AccessToken == "" || e.RefreshToken == "" ||
		e.ExpiresOn != "2026-01-02T04:04:05.0000000Z" || len(e.UserClaims) == 0 {
		t.Errorf("/.auth/me entry %+v", e)
	}
	if me := h.do("app", s, get("https://app.localhost/.auth/me")); me.rec.Code != 401 {
		t.Errorf("/.auth/me without a session: %d, want 401", me.rec.Code)
	}

	// /.auth/refresh
	ref := h.do("app", s, get("https://app.localhost/.auth/refresh", c))
	if ref.rec.Code != 200 {
		t.Fatalf("/.auth/refresh: %d %s", ref.rec.Code, ref.rec.Body)
	}
	after := h.do("app", s, get("https://app.localhost/page", c))
	if !strings.HasPrefix(after.fields.Get("X-MS-TOKEN-AAD-ACCESS-TOKEN"), "at2-") || after.fields.Get("X-MS-TOKEN-AAD-ID-TOKEN") != idt {
		t.Errorf("after refresh: %v", after.fields)
	}
	if ref := h.do("app", s, get("https://app.localhost/.auth/refresh")); ref.rec.Code != 401 {
		t.Errorf("/.auth/refresh without a session: %d, want 401", ref.rec.Code)
	}

	// /.auth/logout
	out := h.do("app", s, get("https://app.localhost/.auth/logout?post_logout_redirect_uri=/bye", c))
	wantLoc := "https://login.localhost:8443/" + testTenant + "/oauth2/v2.0/logout?post_logout_redirect_uri=" + url.QueryEscape("https://app.localhost/bye")
	if out.rec.Code != 302 || out.rec.Header().Get("Location") != wantLoc {
		t.Errorf("logout: %d %q, want %q", out.rec.Code, out.rec.Header().Get("Location"), wantLoc)
	}
	if cl := cookieOf(out.rec, sessionCookie); cl == nil || cl.MaxAge >= 0 {
		t.Errorf("logout does not clear the session cookie: %+v", cl)
	}
	// The stored tokens are gone with the session.
	if again := h.do("app", s, get("https://app.localhost/page", c)); again.fields.Get("X-MS-TOKEN-AAD-ACCESS-TOKEN") != "" {
		t.Errorf("tokens outlive the logout")
	}
}

func TestRefreshRefusals(t *testing.T) {
	h := newHarness(t)
	s := settings()
	c := h.session("app", s)
	// The provider refuses the refresh token (revoked): 403.
	h.p.mu.Lock()
	clear(h.p.refreshes)
	h.p.mu.Unlock()
	if res := h.do("app", s, get("https://app.localhost/.auth/refresh", c)); res.rec.Code != 403 {
		t.Errorf("a revoked refresh token: %d, want 403", res.rec.Code)
	}
	// Within tokenRefreshExtensionHours after the session's end the
	// session may still refresh; not after.
	h.advance(9 * time.Hour)
	if res := h.do("app", s, get("https://app.localhost/page", c)); res.app {
		t.Errorf("an expired session still passes")
	}
	h.advance(80 * time.Hour)
	if res := h.do("app", s, get("https://app.localhost/.auth/refresh", c)); res.rec.Code != 401 {
		t.Errorf("refresh past the extension: %d, want 401", res.rec.Code)
	}
}

func TestMeWithoutTokenStore(t *testing.T) {
	h := newHarness(t)
	s := settings()
	s.Login.TokenStore.Enabled = false
	c := h.session("app", s)
	res := h.do("app", s, get("https://app.localhost/page", c))
	if res.fields.Get("X-MS-CLIENT-PRINCIPAL-ID") != testOID || res.fields.Get("X-MS-TOKEN-AAD-ID-TOKEN") != "" {
		t.Errorf("without the token store: %v", res.fields)
	}
	if me := h.do("app", s, get("https://app.localhost/.auth/me", c)); me.rec.Code != 404 {
		t.Errorf("/.auth/me without the token store: %d, want 404", me.rec.Code)
	}
	if h.m.store.len() != 0 {
		t.Errorf("tokens stored with the token store off")
	}
}

func TestSignInWithoutClientSecret(t *testing.T) {
	h := newHarness(t)
	s := settings()
	s.IdentityProviders.AzureActiveDirectory.Registration.ClientSecretSettingName = ""
	c := h.session("app", s)
	if h.p.redeemed != 0 {
		t.Errorf("a code was redeemed without a client secret")
	}
	res := h.do("app", s, get("https://app.localhost/page", c))
	if res.fields.Get("X-MS-TOKEN-AAD-ID-TOKEN") == "" || res.fields.Get("X-MS-TOKEN-AAD-ACCESS-TOKEN") != "" {
		t.Errorf("without a secret the store holds the ID token only: %v", res.fields)
	}
}

func TestBearerTokens(t *testing.T) {
	h := newHarness(t)
	now := h.clock()
	token := func(edit func(jwt.MapClaims)) string {
		c := jwt.MapClaims{"iss": testIssuer, "aud": "api://" + testClientID, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(),
			"oid": testOID, "sub": testOID, "appid": "client-app", "azp": "client-app", "scp": "user_impersonation", "preferred_username": "ada@contoso.test"}
		if edit != nil {
			edit(c)
		}
		return h.p.sign(c)
	}
	tests := []struct {
		name  string
		edit  func(*slipway.AuthSettings)
		token string
		code  int
	}{
		{name: "valid", token: token(nil), code: 200},
		{name: "client id as audience", token: token(func(c jwt.MapClaims) { c["aud"] = testClientID }), code: 200},
		{name: "other audience", token: token(func(c jwt.MapClaims) { c["aud"] = "api://other" }), code: 401},
		{name: "configured audience", edit: func(s *slipway.AuthSettings) {
			s.IdentityProviders.AzureActiveDirectory.Validation.AllowedAudiences = []string{"api://other"}
		}, token: token(func(c jwt.MapClaims) { c["aud"] = "api://other" }), code: 200},
		{name: "expired", token: token(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() }), code: 401},
		{name: "wrong issuer", token: token(func(c jwt.MapClaims) { c["iss"] = "https://evil/" }), code: 401},
		{name: "untrusted key", token: h.p.signWith(h.p.other, jwt.MapClaims{"iss": testIssuer, "aud": testClientID, "exp": now.Add(time.Hour).Unix()}), code: 401},
		{name: "garbage", token: "not.a.token", code: 401},
		{name: "oversized", token: strings.Repeat("a", maxBearer+1), code: 401},
		{name: "allowed application", edit: func(s *slipway.AuthSettings) {
			s.IdentityProviders.AzureActiveDirectory.Validation.DefaultAuthorizationPolicy.AllowedApplications = []string{"client-app"}
		}, token: token(nil), code: 200},
		{name: "other application", edit: func(s *slipway.AuthSettings) {
			s.IdentityProviders.AzureActiveDirectory.Validation.DefaultAuthorizationPolicy.AllowedApplications = []string{"another-app"}
		}, token: token(nil), code: 403},
		{name: "other principal", edit: func(s *slipway.AuthSettings) {
			s.IdentityProviders.AzureActiveDirectory.Validation.DefaultAuthorizationPolicy.AllowedPrincipals.Identities = []string{"someone-else"}
		}, token: token(nil), code: 403},
		{name: "invalid token even where anonymous is allowed", edit: func(s *slipway.AuthSettings) {
			s.GlobalValidation.RequireAuthentication = false
		}, token: "not.a.token", code: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := settings()
			s.GlobalValidation.UnauthenticatedClientAction = slipway.AuthReturn401
			if tt.edit != nil {
				tt.edit(s)
			}
			r := get("https://app.localhost/api")
			r.Header.Set("Authorization", "Bearer "+tt.token)
			res := h.do("app", s, r)
			if res.rec.Code != tt.code {
				t.Fatalf("got %d, want %d: %s", res.rec.Code, tt.code, res.rec.Body)
			}
			if tt.code == 200 {
				if !res.app || res.fields.Get("X-MS-CLIENT-PRINCIPAL-ID") != testOID {
					t.Errorf("a valid token: app=%v fields=%v", res.app, res.fields)
				}
			} else if res.app {
				t.Errorf("a refused token reached the app")
			}
		})
	}
	if h.p.longest > maxBearer {
		t.Errorf("a %d-byte token was given to the provider to verify; the bound is %d", h.p.longest, maxBearer)
	}
}
