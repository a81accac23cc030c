package identity

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/store"
)

const (
	testUPN      = "ada@contoso.test"
	testPassword = "Correct-Horse-9"
	webRedirect  = "https://app.localhost:8443/.auth/login/aad/callback"
	pubRedirect  = "http://localhost:53123/"
)

// signinEnv is a token service over TLS with an app registration (a web
// and a public-client redirect URI, a client secret) and a user.
type signinEnv struct {
	*env
	srv    *httptest.Server
	app    store.Application
	secret string
	user   store.User
}

func newSigninEnv(t *testing.T) *signinEnv {
	t.Helper()
	e := newEnv(t)
	ctx := t.Context()
	a, err := e.store.CreateApplication(ctx, store.Application{DisplayName: "contoso <web>", SignIn: store.SignIn{
		WebRedirectURIs: []string{webRedirect}, PublicClientRedirectURIs: []string{pubRedirect}, EnableIDTokenIssuance: true}})
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := NewClientSecret()
	if _, err := e.store.AddApplicationSecret(ctx, a.ObjectID, secret, "web", time.Now().Add(-time.Hour), time.Now().Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	u, err := e.store.CreateUser(ctx, store.User{UserPrincipalName: testUPN, DisplayName: "Ada Lovelace", AccountEnabled: true}, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	return &signinEnv{env: e, srv: loginServer(t, e), app: a, secret: secret, user: u}
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, as a test drives a browser's steps one by one.
func (se *signinEnv) browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := se.srv.Client()
	return &http.Client{Transport: c.Transport, Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (se *signinEnv) authorizeURL(mod func(*AuthorizeRequest)) string {
	r := AuthorizeRequest{ClientID: se.app.AppID, RedirectURI: webRedirect, ResponseType: "code",
		Scope: "openid profile offline_access", State: "st-1", Nonce: "n-1"}
	if mod != nil {
		mod(&r)
	}
	return se.svc.AuthorizeURL(se.srv.URL, r)
}

var (
	flowRE   = regexp.MustCompile(`name="flow" value="([^"]+)"`)
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

func browse(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// submit posts the sign-in form of page.
func (se *signinEnv) submit(t *testing.T, c *http.Client, page, login, password string) (*http.Response, string) {
	t.Helper()
	fm, am := flowRE.FindStringSubmatch(page), actionRE.FindStringSubmatch(page)
	if fm == nil || am == nil {
		t.Fatalf("no sign-in form in %q", page)
	}
	resp, err := c.PostForm(se.srv.URL+html.UnescapeString(am[1]), url.Values{"flow": {html.UnescapeString(fm[1])}, "login": {login}, "passwd": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// signIn runs a whole interactive sign-in and returns the redirect's
// query.
func (se *signinEnv) signIn(t *testing.T, c *http.Client, authURL string) url.Values {
	t.Helper()
	resp, page := browse(t, c, authURL)
	if resp.StatusCode != 200 {
		t.Fatalf("authorize: %d %s", resp.StatusCode, page)
	}
	resp, page = se.submit(t, c, page, testUPN, testPassword)
	return redirectQuery(t, resp, page)
}

func redirectQuery(t *testing.T, resp *http.Response, page string) url.Values {
	t.Helper()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, webRedirect+"?") {
		t.Fatalf("want a redirect to %s, got %d %q %.300s", webRedirect, resp.StatusCode, loc, page)
	}
	u, _ := url.Parse(loc)
	return u.Query()
}

func (se *signinEnv) redeem(t *testing.T, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := se.srv.Client().PostForm(se.srv.URL+"/"+se.svc.TenantID()+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func (se *signinEnv) codeForm(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "client_id": {se.app.AppID}, "client_secret": {se.secret},
		"code": {code}, "redirect_uri": {webRedirect}, "scope": {"openid profile offline_access"}}
}

func aadsts(m map[string]any) string {
	d, _ := m["error_description"].(string)
	code, _, _ := strings.Cut(d, ":")
	return code
}

// A whole sign-in: the form, the code, its redemption, the ID token the
// in-process API verifies, the refresh token, and SSO on the second visit.
func TestSignInCodeFlow(t *testing.T) {
	se := newSigninEnv(t)
	c := se.browser(t)
	q := se.signIn(t, c, se.authorizeURL(nil))
	if q.Get("state") != "st-1" || q.Get("code") == "" {
		t.Fatalf("redirect query %v", q)
	}
	status, m := se.redeem(t, se.codeForm(q.Get("code")))
	if status != 200 {
		t.Fatalf("redeem: %d %v", status, m)
	}
	claims, err := se.svc.VerifyIDToken(t.Context(), m["id_token"].(string), se.app.AppID, "n-1")
	if err != nil || claims["oid"] != se.user.ObjectID || claims["preferred_username"] != testUPN || claims["name"] != "Ada Lovelace" ||
		claims["iss"] != "https://login.microsoftonline.com/"+se.svc.TenantID()+"/v2.0" {
		t.Fatalf("ID token: %v %v", err, claims)
	}
	if _, err := se.svc.VerifyIDToken(t.Context(), m["id_token"].(string), se.app.AppID, "other"); err == nil {
		t.Error("an ID token was accepted with another nonce")
	}
	if _, err := se.svc.Verify(t.Context(), m["access_token"].(string), []string{graphAppID}); err == nil {
		t.Error("a user's access token passed Verify, which admits applications only")
	}
	rt, _ := m["refresh_token"].(string)
	status, m = se.redeem(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {se.app.AppID}, "client_secret": {se.secret}, "refresh_token": {rt}})
	if status != 200 || m["access_token"] == nil || m["refresh_token"] == nil {
		t.Fatalf("refresh: %d %v", status, m)
	}
	// SSO: the second authorize skips the form.
	resp, page := browse(t, c, se.authorizeURL(func(r *AuthorizeRequest) { r.State = "st-2" }))
	if q := redirectQuery(t, resp, page); q.Get("state") != "st-2" || q.Get("code") == "" {
		t.Fatalf("SSO: %v", q)
	}
	// The page is served with a CSP that loads nothing and frames nowhere.
	resp, _ = browse(t, se.browser(t), se.authorizeURL(nil))
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
		resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", resp.Header)
	}
}

// A redirect URI the app did not register, exactly, gets an error page and
// never a redirect.
func TestAttackRedirectURI(t *testing.T) {
	se := newSigninEnv(t)
	c := se.browser(t)
	for _, uri := range []string{
		"https://evil.example/cb",
		"https://app.localhost:8443/.auth/login/aad/callback/../../x",
		"https://app.localhost:8443/.auth/login/aad/other",
		"https://app.localhost:9443/.auth/login/aad/callback",
		"https://evil@app.localhost:8443/.auth/login/aad/callback",
		webRedirect + "#frag",
		webRedirect + "?x=1",
		"https://APP.localhost:8443/.auth/login/aad/callback",
	} {
		resp, page := browse(t, c, se.authorizeURL(func(r *AuthorizeRequest) { r.RedirectURI = uri }))
		if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || !strings.Contains(page, "AADSTS50011") {
			t.Errorf("%s: %d %q", uri, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	resp, page := browse(t, c, se.authorizeURL(func(r *AuthorizeRequest) { r.ClientID = newID() }))
	if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || !strings.Contains(page, "AADSTS700016") {
		t.Errorf("unknown client: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// A code is spent by its first redemption; a replay is refused and
// revokes the refresh token the first one gave. Another client or
// redirect URI cannot redeem it.
func TestAttackCodeReplayAndBinding(t *testing.T) {
	se := newSigninEnv(t)
	c := se.browser(t)
	code := se.signIn(t, c, se.authorizeURL(nil)).Get("code")
	status, m := se.redeem(t, se.codeForm(code))
	if status != 200 {
		t.Fatalf("redeem: %d %v", status, m)
	}
	rt := m["refresh_token"].(string)
	status, m = se.redeem(t, se.codeForm(code))
	if status != 400 || aadsts(m) != "AADSTS54005" {
		t.Errorf("replay: %d %v", status, m)
	}
	status, m = se.redeem(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {se.app.AppID}, "client_secret": {se.secret}, "refresh_token": {rt}})
	if status != 400 || m["error"] != "invalid_grant" {
		t.Errorf("refresh token of a replayed code: %d %v", status, m)
	}

	// Another client (with its own valid secret) or another redirect URI.
	other, _ := se.store.CreateApplication(t.Context(), store.Application{DisplayName: "other", SignIn: store.SignIn{WebRedirectURIs: []string{"https://other.localhost/cb"}}})
	osecret, _ := NewClientSecret()
	if _, err := se.store.AddApplicationSecret(t.Context(), other.ObjectID, osecret, "", time.Now().Add(-time.Hour), time.Now().Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	code = se.signIn(t, c, se.authorizeURL(func(r *AuthorizeRequest) { r.Prompt = "login" })).Get("code")
	f := se.codeForm(code)
	f.Set("client_id", other.AppID)
	f.Set("client_secret", osecret)
	if status, m := se.redeem(t, f); status != 400 || m["error"] != "invalid_grant" {
		t.Errorf("code of another client: %d %v", status, m)
	}
	code = se.signIn(t, c, se.authorizeURL(func(r *AuthorizeRequest) { r.Prompt = "login" })).Get("code")
	f = se.codeForm(code)
	f.Set("redirect_uri", "https://app.localhost:8443/other")
	if status, m := se.redeem(t, f); status != 400 || m["error"] != "invalid_grant" {
		t.Errorf("code for another redirect URI: %d %v", status, m)
	}
	// A refresh token of one client is refused to another.
	status, m = se.redeem(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {other.AppID}, "client_secret": {osecret}, "refresh_token": {rt}})
	if status != 400 || m["error"] != "invalid_grant" {
		t.Errorf("refresh token of another client: %d %v", status, m)
	}
}

func s256(v string) string {
	h := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// PKCE: a wrong verifier is AADSTS50148; plain is refused at authorize.
func TestAttackPKCE(t *testing.T) {
	se := newSigninEnv(t)
	c := se.browser(t)
	verifier := strings.Repeat("v", 50)
	code := se.signIn(t, c, se.authorizeURL(func(r *AuthorizeRequest) {
		r.CodeChallenge, r.CodeChallengeMethod = s256(verifier), "S256"
	})).Get("code")
	f := se.codeForm(code)
	f.Set("code_verifier", strings.Repeat("w", 50))
	if status, m := se.redeem(t, f); status != 400 || aadsts(m) != "AADSTS50148" {
		t.Errorf("wrong verifier: %d %v", status, m)
	}
	// A plain challenge of a valid S256 challenge's shape (43 base64url
	// characters), so that only the method can refuse it; this browser
	// has a session, so anything else would answer with a code.
	plain := strings.Repeat("p", 43)
	resp, page := browse(t, c, se.authorizeURL(func(r *AuthorizeRequest) { r.CodeChallenge, r.CodeChallengeMethod = plain, "plain" }))
	q := redirectQuery(t, resp, page)
	if q.Get("error") != "invalid_request" || q.Get("code") != "" || q.Get("state") != "st-1" || !strings.Contains(q.Get("error_description"), "S256") {
		t.Errorf("plain: %v", q)
	}
}

// The sign-in form refuses a post without this browser's flow (CSRF), and
// escapes what the request reflects.
func TestAttackCSRFAndXSS(t *testing.T) {
	se := newSigninEnv(t)
	c := se.browser(t)
	_, page := browse(t, c, se.authorizeURL(nil))
	am := actionRE.FindStringSubmatch(page)
	fm := flowRE.FindStringSubmatch(page)
	// No flow token at all.
	resp, err := c.PostForm(se.srv.URL+am[1], url.Values{"login": {testUPN}, "passwd": {testPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || len(resp.Cookies()) != 0 {
		t.Errorf("post without flow: %d %v", resp.StatusCode, resp.Header)
	}
	// The flow token, from another browser (no flow cookie): a login CSRF.
	resp, err = se.browser(t).PostForm(se.srv.URL+am[1], url.Values{"flow": {html.UnescapeString(fm[1])}, "login": {testUPN}, "passwd": {testPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
		t.Errorf("post from another browser: %d %v", resp.StatusCode, resp.Header)
	}
	xss := `"><script>alert(1)</script>`
	_, page = browse(t, se.browser(t), se.authorizeURL(func(r *AuthorizeRequest) { r.LoginHint = xss; r.State = xss }))
	if strings.Contains(page, "<script>alert") {
		t.Errorf("login_hint reflected unescaped: %s", page)
	}
	_, page = browse(t, c, se.authorizeURL(func(r *AuthorizeRequest) { r.ClientID = xss }))
	if strings.Contains(page, "<script>alert") {
		t.Errorf("client_id reflected unescaped: %s", page)
	}
	resp, page = browse(t, c, se.authorizeURL(func(r *AuthorizeRequest) { r.ResponseMode = "form_post"; r.State = xss; r.Prompt = "none" }))
	if strings.Contains(page, "<script>alert") || !strings.Contains(page, "login_required") {
		t.Errorf("form_post reflected state unescaped or no error: %s", page)
	}
}

// Guessing locks the user name out (AADSTS50053) even for the right
// password; a disabled user gets AADSTS50057; prompt=none without a
// session is login_required.
func TestAttackGuessingDisabledPromptNone(t *testing.T) {
	se := newSigninEnv(t)
	c := se.browser(t)
	_, page := browse(t, c, se.authorizeURL(nil))
	for i := 0; i < 10; i++ {
		var resp *http.Response
		resp, page = se.submit(t, c, page, testUPN, "Wrong-Password-1")
		if resp.StatusCode != 400 || (!strings.Contains(page, "AADSTS50126") && i < 9) {
			t.Fatalf("guess %d: %d %.200s", i, resp.StatusCode, page)
		}
	}
	resp, page := se.submit(t, c, page, testUPN, testPassword)
	if resp.StatusCode != 400 || !strings.Contains(page, "AADSTS50053") {
		t.Errorf("locked: %d %.300s", resp.StatusCode, page)
	}
	se.clock.Add(2 * time.Minute)
	resp, page = se.submit(t, c, page, testUPN, testPassword)
	redirectQuery(t, resp, page)

	u := se.user
	u.AccountEnabled = false
	if err := se.store.UpdateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	// The session of the disabled user no longer signs in silently.
	resp, page = browse(t, c, se.authorizeURL(func(r *AuthorizeRequest) { r.Prompt = "none" }))
	if q := redirectQuery(t, resp, page); q.Get("error") != "login_required" {
		t.Errorf("prompt=none for a disabled user's session: %v", q)
	}
	_, page = browse(t, c, se.authorizeURL(nil))
	resp, page = se.submit(t, c, page, testUPN, testPassword)
	if resp.StatusCode != 400 || !strings.Contains(page, "AADSTS50057") {
		t.Errorf("disabled: %d %.300s", resp.StatusCode, page)
	}
}

// A session and a refresh token from before a password change are refused.
func TestAttackPasswordChange(t *testing.T) {
	se := newSigninEnv(t)
	c := se.browser(t)
	code := se.signIn(t, c, se.authorizeURL(nil)).Get("code")
	_, m := se.redeem(t, se.codeForm(code))
	rt, _ := m["refresh_token"].(string)
	se.clock.Add(time.Second)
	if err := se.store.SetUserPassword(t.Context(), se.user.ObjectID, "Another-Pass-7"); err != nil {
		t.Fatal(err)
	}
	resp, page := browse(t, c, se.authorizeURL(func(r *AuthorizeRequest) { r.Prompt = "none" }))
	if q := redirectQuery(t, resp, page); q.Get("error") != "login_required" {
		t.Errorf("SSO cookie from before the password change: %v", q)
	}
	status, m := se.redeem(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {se.app.AppID}, "client_secret": {se.secret}, "refresh_token": {rt}})
	if status != 400 || aadsts(m) != "AADSTS50173" {
		t.Errorf("refresh token from before the password change: %d %v", status, m)
	}
}

// msalSignInScript signs in with MSAL Python's auth code flow, following
// the auth_uri with requests like a browser: a confidential client, then a
// public client with PKCE, then acquire_token_silent with the refresh token.
const msalSignInScript = `
import json, sys, re, html, urllib.parse, msal, requests
base, tenant, app, secret, user, pw, web, pub = sys.argv[1:9]
out = {}
s = requests.Session()
def follow(uri, redirect):
    r = s.get(uri, allow_redirects=False)
    if r.status_code == 200:
        flow = html.unescape(re.search(r'name="flow" value="([^"]+)"', r.text).group(1))
        action = html.unescape(re.search(r'<form method="post" action="([^"]+)"', r.text).group(1))
        r = s.post(urllib.parse.urljoin(uri, action), data={"flow": flow, "login": user, "passwd": pw}, allow_redirects=False)
    loc = r.headers["Location"]
    assert loc.startswith(redirect), loc
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(loc).query))
cca = msal.ConfidentialClientApplication(app, client_credential=secret, authority=base + "/" + tenant, instance_discovery=False)
f = cca.initiate_auth_code_flow(["User.Read"], redirect_uri=web)
out["confidential"] = cca.acquire_token_by_auth_code_flow(f, follow(f["auth_uri"], web))
acct = cca.get_accounts()[0]
out["silent"] = cca.acquire_token_silent(["User.Read"], account=acct, force_refresh=True)
pca = msal.PublicClientApplication(app, authority=base + "/" + tenant, instance_discovery=False)
f = pca.initiate_auth_code_flow(["User.Read"], redirect_uri=pub)
out["public"] = pca.acquire_token_by_auth_code_flow(f, follow(f["auth_uri"], pub))
print(json.dumps(out))
`

func TestMSALPythonSignIn(t *testing.T) {
	py := azcliPython(t)
	se := newSigninEnv(t)
	out := runMSALPython(t, py, se.srv.Certificate(), time.Minute, msalSignInScript,
		[]string{se.srv.URL, se.svc.TenantID(), se.app.AppID, se.secret, testUPN, testPassword, webRedirect, pubRedirect})
	for _, name := range []string{"confidential", "silent", "public"} {
		tok, _ := out[name]["access_token"].(string)
		c, err := se.svc.VerifyAccessToken(t.Context(), tok, []string{graphAppID})
		if err != nil || c["oid"] != se.user.ObjectID || c["upn"] != testUPN {
			t.Errorf("%s: %v %v (MSAL answered %v)", name, err, c, out[name])
		}
	}
	if idc, _ := out["confidential"]["id_token_claims"].(map[string]any); idc["preferred_username"] != testUPN {
		t.Errorf("id_token_claims %v", out["confidential"]["id_token_claims"])
	}
}

// One registration's sign-in cannot get users' delegated tokens for
// another registration's API: with no consent step, that would hand any
// tenant's app a token, as each of its users, for another tenant's API
// (Entra ID asks the user or an administrator first: AADSTS65001).
// Its own API and Graph's User.Read stay allowed.
func TestAttackNoDelegationToAnotherAPI(t *testing.T) {
	se := newSigninEnv(t)
	ctx := t.Context()
	api, err := se.store.CreateApplication(ctx, store.Application{DisplayName: "another tenant's api"})
	if err != nil {
		t.Fatal(err)
	}
	if err := se.store.SetApplicationSignIn(ctx, api.ObjectID, store.SignIn{IdentifierURIs: []string{"api://" + api.AppID}}); err != nil {
		t.Fatal(err)
	}
	own := se.app
	si := own.SignIn
	si.IdentifierURIs = []string{"api://" + own.AppID}
	if err := se.store.SetApplicationSignIn(ctx, own.ObjectID, si); err != nil {
		t.Fatal(err)
	}
	c := se.browser(t)
	for _, scope := range []string{"openid api://" + api.AppID + "/read", "openid " + api.AppID + "/.default"} {
		resp, page := browse(t, c, se.authorizeURL(func(r *AuthorizeRequest) { r.Scope = scope }))
		if resp.StatusCode == 200 {
			// A sign-in form: sign in and see what comes back.
			resp, page = se.submit(t, c, page, testUPN, testPassword)
		}
		q := redirectQuery(t, resp, page)
		if q.Get("code") != "" || q.Get("error") != "consent_required" || !strings.Contains(q.Get("error_description"), "AADSTS65001") {
			t.Errorf("scope %q: the redirect carried %v, want consent_required (AADSTS65001) and no code", scope, q)
		}
	}
	// Its own API: a code whose token is for it.
	q := se.signIn(t, se.browser(t), se.authorizeURL(func(r *AuthorizeRequest) { r.Scope = "openid offline_access api://" + own.AppID + "/read" }))
	status, m := se.redeem(t, se.codeForm(q.Get("code")))
	if status != 200 {
		t.Fatalf("a token for the app's own API: %d %v", status, m)
	}
	// Nor by refreshing into it.
	status, m = se.redeem(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {se.app.AppID}, "client_secret": {se.secret},
		"refresh_token": {m["refresh_token"].(string)}, "scope": {"api://" + api.AppID + "/read"}})
	if status != 400 || !strings.Contains(aadsts(m), "65001") {
		t.Errorf("refreshing into another API: %d %v", status, m)
	}
}
