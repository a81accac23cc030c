package identity

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// The end-session endpoint
// (https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc#send-a-sign-out-request)
// clears the SSO cookie; it redirects only to the origin of a registered
// redirect URI, and otherwise shows the signed-out page.
func TestLogout(t *testing.T) {
	se := newSigninEnv(t)
	logout := func(c *http.Client, target string) (*http.Response, string) {
		t.Helper()
		return browse(t, c, se.svc.LogoutURL(se.srv.URL, target))
	}
	signedIn := func() *http.Client {
		t.Helper()
		c := se.browser(t)
		se.signIn(t, c, se.authorizeURL(nil))
		return c
	}

	c := signedIn()
	resp, page := logout(c, "")
	if resp.StatusCode != 200 || resp.Header.Get("Location") != "" || !strings.Contains(page, "You signed out") {
		t.Fatalf("logout: %d %q %.300s", resp.StatusCode, resp.Header.Get("Location"), page)
	}
	var cleared bool
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie && ck.Value == "" && ck.MaxAge < 0 && ck.Secure && ck.HttpOnly {
			cleared = true
		}
	}
	if !cleared {
		t.Fatalf("logout did not clear %s: %v", sessionCookie, resp.Header["Set-Cookie"])
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("signed-out page headers: %v", resp.Header)
	}
	// Signed out: a silent sign-in no longer works, the form is shown.
	resp, page = browse(t, c, se.authorizeURL(func(r *AuthorizeRequest) { r.Prompt = "none" }))
	if q := redirectQuery(t, resp, page); q.Get("error") != "login_required" {
		t.Fatalf("prompt=none after logout: %v", q)
	}

	// A registered origin (any path on it) is followed.
	for _, target := range []string{"https://app.localhost:8443/signed-out?x=1", "https://APP.localhost:8443", "http://localhost:53123/bye"} {
		resp, page = logout(signedIn(), target)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != target {
			t.Errorf("post_logout_redirect_uri %s: %d %q %.200s", target, resp.StatusCode, resp.Header.Get("Location"), page)
		}
	}
	// Anything else is not: the signed-out page, and the cookie is still
	// cleared.
	for _, target := range []string{
		"https://evil.example/",
		"https://app.localhost:9443/",
		"http://app.localhost:8443/",
		"https://app.localhost/",
		"https://user@app.localhost:8443/",
		"https://user:pw@app.localhost:8443/",
		"https://app.localhost:8443@evil.example/",
		"https://evil.example\\@app.localhost:8443/",
		"https://evil.example/\\app.localhost:8443/",
		"//evil.example/",
		"/relative",
		"javascript://app.localhost:8443/%0aalert(1)",
		"data:text/html,<script>alert(1)</script>",
		"https://app.localhost.evil.example:8443/",
		"https://app.localhost:8443.evil.example/",
		"https://app.localhost:8443/" + strings.Repeat("a", 5000),
	} {
		resp, page = logout(signedIn(), target)
		if resp.StatusCode != 200 || resp.Header.Get("Location") != "" || !strings.Contains(page, "You signed out") {
			t.Errorf("post_logout_redirect_uri %q followed: %d %q", target, resp.StatusCode, resp.Header.Get("Location"))
		}
		if strings.Contains(page, "evil.example") || strings.Contains(page, "<script>alert") {
			t.Errorf("the signed-out page reflects %q: %.500s", target, page)
		}
		var cleared bool
		for _, ck := range resp.Cookies() {
			cleared = cleared || ck.Name == sessionCookie && ck.MaxAge < 0
		}
		if !cleared {
			t.Errorf("post_logout_redirect_uri %q: the cookie was not cleared", target)
		}
	}
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// formPost reads the auto-submitting form of a form_post answer: its
// action and fields.
func formPost(t *testing.T, resp *http.Response, page string) (string, url.Values) {
	t.Helper()
	am := regexp.MustCompile(`<form method="post" name="hiddenform" action="([^"]+)"`).FindStringSubmatch(page)
	if resp.StatusCode != 200 || am == nil {
		t.Fatalf("want a form_post page, got %d %q %.500s", resp.StatusCode, resp.Header.Get("Location"), page)
	}
	fields := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(page, -1) {
		fields.Add(m[1], html.UnescapeString(m[2]))
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !regexp.MustCompile(`(^|; )form-action [^;]*https://app\.localhost:8443[ ;]`).MatchString(csp) || !strings.Contains(csp, "script-src 'nonce-") {
		t.Errorf("form_post CSP %q: it must allow the post to the redirect URI's origin and the nonce'd script", csp)
	}
	return html.UnescapeString(am[1]), fields
}

// response_type id_token and "code id_token" with response_mode
// form_post (https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc#send-the-sign-in-request):
// the ID token carries the nonce and, beside a code, its c_hash; the code
// redeems. id_token in a query, without a nonce, or for an app that has
// not enabled ID tokens is refused.
func TestIDTokenResponseTypes(t *testing.T) {
	se := newSigninEnv(t)
	c := se.browser(t)
	se.signIn(t, c, se.authorizeURL(nil))

	formPostOf := func(rt string) url.Values {
		t.Helper()
		resp, page := browse(t, c, se.authorizeURL(func(r *AuthorizeRequest) {
			r.ResponseType, r.ResponseMode, r.Nonce, r.State = rt, "form_post", "nonce-"+rt, "st-"+rt
		}))
		action, f := formPost(t, resp, page)
		if action != webRedirect || f.Get("state") != "st-"+rt {
			t.Fatalf("%s: form posts to %q with %v", rt, action, f)
		}
		return f
	}

	f := formPostOf("id_token")
	if f.Get("code") != "" || f.Get("id_token") == "" {
		t.Fatalf("id_token: fields %v", f)
	}
	claims, err := se.svc.VerifyIDToken(t.Context(), f.Get("id_token"), se.app.AppID, "nonce-id_token")
	if err != nil || claims["oid"] != se.user.ObjectID || claims["c_hash"] != nil {
		t.Fatalf("id_token: %v %v", err, claims)
	}

	f = formPostOf("code id_token")
	code := f.Get("code")
	claims, err = se.svc.VerifyIDToken(t.Context(), f.Get("id_token"), se.app.AppID, "nonce-code id_token")
	if err != nil || code == "" || claims["c_hash"] != halfHash(code) || claims["oid"] != se.user.ObjectID {
		t.Fatalf("code id_token: %v %v (code %q)", err, claims, code)
	}
	if status, m := se.redeem(t, se.codeForm(code)); status != 200 || m["id_token"] == nil {
		t.Fatalf("redeeming the hybrid flow's code: %d %v", status, m)
	}

	// Refusals, delivered to the redirect URI.
	for _, tc := range []struct {
		name string
		mod  func(*AuthorizeRequest)
		want string
	}{
		{"no nonce", func(r *AuthorizeRequest) { r.ResponseType, r.ResponseMode, r.Nonce = "id_token", "form_post", "" }, "invalid_request"},
		{"no openid", func(r *AuthorizeRequest) {
			r.ResponseType, r.ResponseMode, r.Scope = "code id_token", "form_post", "profile"
		}, "invalid_request"},
		{"token", func(r *AuthorizeRequest) { r.ResponseType, r.ResponseMode = "id_token token", "form_post" }, "unsupported_response_type"},
	} {
		resp, page := browse(t, c, se.authorizeURL(tc.mod))
		_, f := formPost(t, resp, page)
		if f.Get("error") != tc.want || f.Get("id_token") != "" || f.Get("code") != "" {
			t.Errorf("%s: %v", tc.name, f)
		}
	}
	// An ID token never travels in a query; the error does.
	resp, page := browse(t, c, se.authorizeURL(func(r *AuthorizeRequest) { r.ResponseType, r.ResponseMode = "id_token", "query" }))
	if q := redirectQuery(t, resp, page); q.Get("error") != "invalid_request" || q.Get("id_token") != "" {
		t.Errorf("id_token in a query: %v", q)
	}
	// ID tokens not enabled for the app: AADSTS700054.
	a := se.app
	a.EnableIDTokenIssuance = false
	if err := se.store.SetApplicationSignIn(t.Context(), a.ObjectID, a.SignIn); err != nil {
		t.Fatal(err)
	}
	resp, page = browse(t, c, se.authorizeURL(func(r *AuthorizeRequest) { r.ResponseType, r.ResponseMode = "id_token", "form_post" }))
	if _, f := formPost(t, resp, page); f.Get("error") != "unsupported_response_type" || !strings.HasPrefix(f.Get("error_description"), "AADSTS700054") {
		t.Errorf("id_token not enabled: %v", f)
	}
}

// SSO: a second authorize in the same browser answers without the form,
// for a code and for form_post; prompt=login shows the form anyway; another
// browser sees the form.
func TestSSOSecondAuthorize(t *testing.T) {
	se := newSigninEnv(t)
	c := se.browser(t)
	first := se.signIn(t, c, se.authorizeURL(nil))
	resp, page := browse(t, c, se.authorizeURL(func(r *AuthorizeRequest) { r.State = "again" }))
	q := redirectQuery(t, resp, page)
	if q.Get("code") == "" || q.Get("code") == first.Get("code") || q.Get("state") != "again" {
		t.Fatalf("SSO: %v", q)
	}
	if status, m := se.redeem(t, se.codeForm(q.Get("code"))); status != 200 {
		t.Fatalf("redeeming the SSO code: %d %v", status, m)
	}
	resp, page = browse(t, c, se.authorizeURL(func(r *AuthorizeRequest) { r.ResponseMode = "form_post"; r.State = "fp" }))
	if _, f := formPost(t, resp, page); f.Get("code") == "" || f.Get("state") != "fp" {
		t.Fatalf("SSO form_post: %v", f)
	}
	for _, tc := range []struct {
		name string
		c    *http.Client
		mod  func(*AuthorizeRequest)
	}{
		{"prompt=login", c, func(r *AuthorizeRequest) { r.Prompt = "login" }},
		{"another browser", se.browser(t), nil},
	} {
		resp, page := browse(t, tc.c, se.authorizeURL(tc.mod))
		if resp.StatusCode != 200 || !flowRE.MatchString(page) || resp.Header.Get("Location") != "" {
			t.Errorf("%s: want the form, got %d %q", tc.name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

// claims_supported names the claims this service's tokens carry, no more
// and no fewer: application and managed-identity tokens, users' access
// tokens (v1.0, which carry appid, as Entra's v1.0 tokens do; azp is a
// v2.0 access token's) and ID tokens with every optional claim. A client
// that looks for a listed claim finds it.
func TestClaimsSupportedMatchTokens(t *testing.T) {
	se := newSigninEnv(t)
	ctx := t.Context()
	u := se.user
	u.Mail = "ada@mail.contoso.test"
	if err := se.store.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	carried := map[string]bool{}
	add := func(raw string) {
		t.Helper()
		if raw == "" {
			t.Fatal("no token")
		}
		for k := range decodeSegment(t, raw, 1) {
			carried[k] = true
		}
	}
	p, _ := se.servicePrincipal(t)
	tok, err := se.svc.Issue(ctx, p, "https://management.localhost/", 0)
	if err != nil {
		t.Fatal(err)
	}
	add(tok.AccessToken)
	mi, err := se.svc.EnsureSystemAssignedIdentity(ctx, "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app", "app")
	if err != nil {
		t.Fatal(err)
	}
	if tok, err = se.svc.Issue(ctx, mi, "https://vault.azure.net", 0); err != nil {
		t.Fatal(err)
	}
	add(tok.AccessToken)

	c := se.browser(t)
	se.signIn(t, c, se.authorizeURL(nil))
	resp, page := browse(t, c, se.authorizeURL(func(r *AuthorizeRequest) {
		r.ResponseType, r.ResponseMode, r.Scope = "code id_token", "form_post", "openid profile email offline_access"
	}))
	_, f := formPost(t, resp, page)
	add(f.Get("id_token"))
	form := se.codeForm(f.Get("code"))
	form.Set("scope", "openid profile email offline_access")
	status, m := se.redeem(t, form)
	if status != 200 {
		t.Fatalf("redeem: %d %v", status, m)
	}
	for _, k := range []string{"access_token", "id_token"} {
		s, _ := m[k].(string)
		add(s)
	}

	code, doc := get(t, se.srv, "/"+se.svc.TenantID()+"/v2.0/.well-known/openid-configuration")
	list, _ := doc["claims_supported"].([]any)
	if code != 200 || len(list) == 0 {
		t.Fatalf("discovery: %d %v", code, doc)
	}
	listed := map[string]bool{}
	for _, x := range list {
		c, _ := x.(string)
		listed[c] = true
		if !carried[c] {
			t.Errorf("claims_supported lists %q, which no token carries", c)
		}
	}
	for c := range carried {
		if !listed[c] {
			t.Errorf("tokens carry %q, which claims_supported does not list", c)
		}
	}
}

// A loopback redirect URI matches with any port, as Entra ID's does
// (https://learn.microsoft.com/entra/identity-platform/reply-url#localhost-exceptions,
// RFC 8252 §7.3): MSAL's interactive sign-in listens on an ephemeral port
// of http://localhost and sends http://localhost:<port>. Only the port is
// free: the scheme, the host and the path must be the registered ones,
// and no other host gets the exception.
func TestLoopbackRedirectAnyPort(t *testing.T) {
	se := newSigninEnv(t)
	a := se.app
	a.PublicClientRedirectURIs = []string{pubRedirect, "http://localhost", "http://127.0.0.1/native"}
	if err := se.store.SetApplicationSignIn(t.Context(), a.ObjectID, a.SignIn); err != nil {
		t.Fatal(err)
	}
	verifier := strings.Repeat("k", 43)
	c := se.browser(t)
	for _, uri := range []string{"http://localhost:49152", "http://localhost:49153/", "http://127.0.0.1:8400/native", "http://localhost:53124/"} {
		resp, page := browse(t, c, se.authorizeURL(func(r *AuthorizeRequest) {
			r.RedirectURI, r.CodeChallenge, r.CodeChallengeMethod, r.Prompt = uri, s256(verifier), "S256", "login"
		}))
		if resp.StatusCode != 200 || !flowRE.MatchString(page) {
			t.Errorf("%s: %d %.300s", uri, resp.StatusCode, page)
			continue
		}
		resp, page = se.submit(t, c, page, testUPN, testPassword)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), strings.TrimSuffix(uri, "/")) || loc.Query().Get("code") == "" {
			t.Errorf("%s: %d %q", uri, resp.StatusCode, resp.Header.Get("Location"))
			continue
		}
		// A public client: no secret, the verifier, the same redirect URI.
		f := url.Values{"grant_type": {"authorization_code"}, "client_id": {se.app.AppID}, "code": {loc.Query().Get("code")},
			"redirect_uri": {uri}, "code_verifier": {verifier}, "scope": {"openid profile"}}
		if status, m := se.redeem(t, f); status != 200 {
			t.Errorf("%s: redeem %d %v", uri, status, m)
		}
	}
	for _, uri := range []string{
		"https://localhost:49152",             // another scheme
		"http://localhost:49152/other",        // another path
		"http://127.0.0.1:8400/",              // a host registered with another path
		"http://[::1]:8400/native",            // another loopback host than registered
		"http://localhost.evil.example:49152", // not loopback
		"http://localhost:49152@evil.example/",
		"http://localhost:49152/#x",
		"http://localhost:49152?x=1",
		"http://localhost:0",
		"http://localhost:99999",
		"http://localhost:",
		"http://localhost:+80",
		"https://app.localhost:9443/.auth/login/aad/callback", // not loopback: the port counts
	} {
		resp, page := browse(t, c, se.authorizeURL(func(r *AuthorizeRequest) {
			r.RedirectURI, r.CodeChallenge, r.CodeChallengeMethod = uri, s256(verifier), "S256"
		}))
		if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || !strings.Contains(page, "AADSTS50011") {
			t.Errorf("%s accepted: %d %q", uri, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}
