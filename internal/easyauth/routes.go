package easyauth

// The /.auth endpoints
// (https://learn.microsoft.com/azure/app-service/configure-authentication-customize-sign-in-out,
// https://learn.microsoft.com/azure/app-service/configure-authentication-oauth-tokens).

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/cleartext"
	"github.com/slipway-dev/slipway/internal/identity"
)

func (m *Module) serveRoute(w http.ResponseWriter, r *http.Request, st *site, route string) {
	noStore(w)
	if st.s.HTTPSRequired() && !cleartext.OverTLS(r) {
		// The endpoints carry codes, tokens and cookies: HTTPS only.
		http.Redirect(w, r, "https://"+r.Host+r.URL.RequestURI(), http.StatusTemporaryRedirect)
		return
	}
	switch route {
	case "/login/" + providerName:
		m.login(w, r, st)
	case "/login/" + providerName + "/callback":
		m.callback(w, r, st)
	case "/me":
		m.me(w, r, st)
	case "/logout":
		m.logout(w, r, st)
	case "/refresh":
		m.refresh(w, r, st)
	case "/login/done":
		writePage(w, http.StatusOK, "You have signed in. Return to the app.")
	case "/logout/complete":
		writePage(w, http.StatusOK, "You have signed out.")
	default:
		writePage(w, http.StatusNotFound, "There is no authentication endpoint at this path.")
	}
}

// loginState is the state parameter of a sign-in, sealed: it comes back
// through the browser in the form_post answer.
type loginState struct {
	ID       string `json:"i"` // single use; also the ID token's nonce
	Bind     string `json:"b"` // SHA-256 of the Nonce cookie of the browser that asked
	Redirect string `json:"r"` // post_login_redirect_uri, checked
	Exp      int64  `json:"e"`
}

func (m *Module) login(w http.ResponseWriter, r *http.Request, st *site) {
	if r.Method == http.MethodPost {
		m.clientLogin(w, r, st)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, POST")
		writePage(w, http.StatusMethodNotAllowed, "Sign in with GET (a browser), or POST the provider's token as JSON (the client-directed sign-in).")
		return
	}
	if st.aad == nil {
		writePage(w, http.StatusNotFound, "This app has no Microsoft identity provider configured (identityProviders.azureActiveDirectory).")
		return
	}
	q := r.URL.Query()
	target := q.Get("post_login_redirect_uri")
	if target == "" {
		target = q.Get("post_login_redirect_url") // the older name, still accepted
	}
	if target == "" {
		target = st.prefix + "/login/done"
	}
	if !m.allowedRedirect(r, st, target) {
		writePage(w, http.StatusBadRequest, "post_login_redirect_uri must be a path of this app or one of its allowed external redirect URLs (login.allowedExternalRedirectUrls).")
		return
	}
	now := m.cfg.Now()
	bind := randomID()
	life := nonceLife(st.s)
	ls := loginState{ID: randomID(), Bind: digest(bind), Redirect: target, Exp: now.Add(life).Unix()}
	state, err := m.seal(st, "state", ls)
	if err != nil {
		writePage(w, http.StatusInternalServerError, "The sign-in could not start.")
		return
	}
	req := identity.AuthorizeRequest{
		ClientID:     st.clientID,
		RedirectURI:  origin(r) + st.prefix + "/login/" + providerName + "/callback",
		ResponseType: "code id_token",
		ResponseMode: "form_post",
		Scope:        defaultScope,
		State:        state,
		Nonce:        ls.ID,
	}
	if !validateNonce(st.s) {
		req.Nonce = ""
	}
	// loginParameters first, then the hints the request itself names.
	for _, p := range st.aad.Login.LoginParameters {
		k, v, _ := strings.Cut(p, "=")
		setLoginParameter(&req, strings.TrimSpace(k), v)
	}
	for _, k := range []string{"prompt", "login_hint", "domain_hint"} {
		if v := q.Get(k); v != "" && len(v) < 256 {
			setLoginParameter(&req, k, v)
		}
	}
	setCookie(w, r, nonceCookie, bind, now.Add(life))
	http.Redirect(w, r, m.cfg.Provider.AuthorizeURL(m.cfg.LoginBase, req), http.StatusFound)
}

func (m *Module) callback(w http.ResponseWriter, r *http.Request, st *site) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writePage(w, http.StatusMethodNotAllowed, "The sign-in answer comes by POST (response_mode form_post). Start again at "+st.prefix+"/login/aad.")
		return
	}
	if st.aad == nil {
		writePage(w, http.StatusNotFound, "This app has no Microsoft identity provider configured (identityProviders.azureActiveDirectory).")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		writePage(w, http.StatusUnsupportedMediaType, "The sign-in answer must be a form (application/x-www-form-urlencoded).")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxCallbackBody)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writePage(w, http.StatusRequestEntityTooLarge, "The sign-in answer is larger than "+strconv.Itoa(maxCallbackBody)+" bytes.")
			return
		}
		writePage(w, http.StatusBadRequest, "The sign-in answer is not a valid form.")
		return
	}
	f := r.PostForm
	now := m.cfg.Now()
	var ls loginState
	if m.open(st, "state", f.Get("state"), &ls) != nil || ls.ID == "" {
		writePage(w, http.StatusUnauthorized, "The sign-in answer's state is not one this app issued. Start again at "+st.prefix+"/login/aad.")
		return
	}
	if !time.Unix(ls.Exp, 0).After(now) {
		writePage(w, http.StatusUnauthorized, "The sign-in took too long and its state expired. Start again at "+st.prefix+"/login/aad.")
		return
	}
	c, err := nonceCookieOf(r)
	if err != nil || subtle.ConstantTimeCompare([]byte(digest(c.Value)), []byte(ls.Bind)) != 1 {
		writePage(w, http.StatusUnauthorized, "This sign-in was not started by this browser. Start again at "+st.prefix+"/login/aad.")
		return
	}
	if e := f.Get("error"); e != "" {
		writePage(w, http.StatusUnauthorized, "The identity provider refused the sign-in: "+trim(e, 100)+": "+trim(f.Get("error_description"), 500))
		return
	}
	raw := f.Get("id_token")
	nonce := ls.ID
	if !validateNonce(st.s) {
		nonce = ""
	}
	claims, err := m.cfg.Provider.VerifyIDToken(r.Context(), raw, st.clientID, nonce)
	if err == nil {
		err = checkIDClaims(claims, st.clientID, nonce, now)
	}
	if err != nil {
		m.cfg.Logger.Info("easyauth: refused an ID token", "site", st.name, "err", err)
		writePage(w, http.StatusUnauthorized, "The sign-in answer's ID token is not valid for this app. Start again at "+st.prefix+"/login/aad.")
		return
	}
	// Marked used only now, after the ID token: filling the set of used
	// states takes real sign-ins, not just states anyone can start.
	if !m.used.use(ls.ID, time.Unix(ls.Exp, 0), now) {
		writePage(w, http.StatusUnauthorized, "This sign-in answer was already used (or too many sign-ins are under way). Start again at "+st.prefix+"/login/aad.")
		return
	}
	tokens := identity.UserTokens{IDToken: raw}
	if code := f.Get("code"); code != "" && st.aad.Registration.ClientSecretSettingName != "" && m.cfg.ClientSecret != nil {
		secret, err := m.cfg.ClientSecret(r.Context(), st.name, st.aad.Registration.ClientSecretSettingName)
		if err != nil {
			m.cfg.Logger.Warn("easyauth: resolving the client secret", "site", st.name, "setting", st.aad.Registration.ClientSecretSettingName, "err", err)
			writePage(w, http.StatusInternalServerError, "The app's client secret (app setting "+st.aad.Registration.ClientSecretSettingName+") could not be read; see the app's settings.")
			return
		}
		t, err := m.cfg.Provider.RedeemCode(r.Context(), identity.CodeRedemption{ClientID: st.clientID, ClientSecret: secret,
			Code: code, RedirectURI: origin(r) + st.prefix + "/login/" + providerName + "/callback", Scope: scopeOf(st)})
		if err != nil {
			m.cfg.Logger.Info("easyauth: redeeming a code", "site", st.name, "err", err)
			writePage(w, http.StatusUnauthorized, "The sign-in's code could not be redeemed. Start again at "+st.prefix+"/login/aad.")
			return
		}
		if t.IDToken == "" {
			t.IDToken = raw
		}
		tokens = t
	}
	exp := now.Add(sessionLife(st.s))
	if st.s.Login.CookieExpiration.Convention == "IdentityProviderDerived" {
		if e, ok := claims["exp"].(float64); ok {
			exp = time.Unix(int64(e), 0)
		}
	}
	sess := &session{ID: randomID(), Exp: exp.Unix(), Claims: flattenClaims(claims)}
	if !allowedIdentity(st, sess.principal(nil)) {
		writePage(w, http.StatusForbidden, "You do not have permission to view this app.")
		return
	}
	if err := m.setSession(w, r, st, sess); err != nil {
		writePage(w, http.StatusInternalServerError, "The session could not be made: "+err.Error())
		return
	}
	if st.s.Login.TokenStore.Enabled {
		m.store.put(st.name, sess.ID, sess.user(), tokens, now, exp.Add(refreshExt(st.s)))
	}
	setCookie(w, r, nonceCookie, "", time.Time{})
	target := ls.Redirect
	if !m.allowedRedirect(r, st, target) { // the settings may have changed since
		target = st.prefix + "/login/done"
	}
	http.Redirect(w, r, target, http.StatusFound)
}

// setLoginParameter sets one of the authorization request's parameters a
// site or a request may name; others are left out.
func setLoginParameter(req *identity.AuthorizeRequest, k, v string) {
	switch k {
	case "scope":
		req.Scope = v
	case "prompt":
		req.Prompt = v
	case "login_hint":
		req.LoginHint = v
	case "domain_hint":
		req.DomainHint = v
	}
}

// checkIDClaims repeats the checks the provider makes that matter most
// here: the nonce of this sign-in, this app as audience, a live token.
func checkIDClaims(c identity.UserClaims, clientID, nonce string, now time.Time) error {
	if nonce != "" && c["nonce"] != nonce {
		return errors.New("the ID token's nonce is not this sign-in's")
	}
	switch aud := c["aud"].(type) {
	case string:
		if aud != clientID {
			return errors.New("the ID token is for another app")
		}
	case []any:
		if !slices.Contains(aud, any(clientID)) {
			return errors.New("the ID token is for another app")
		}
	default:
		return errors.New("the ID token has no audience")
	}
	if e, ok := c["exp"].(float64); !ok || !time.Unix(int64(e), 0).After(now) {
		return errors.New("the ID token has expired")
	}
	return nil
}

// meEntry is one provider's entry in /.auth/me.
type meEntry struct {
	AccessToken  string  `json:"access_token,omitempty"`
	ExpiresOn    string  `json:"expires_on,omitempty"`
	IDToken      string  `json:"id_token,omitempty"`
	ProviderName string  `json:"provider_name"`
	RefreshToken string  `json:"refresh_token,omitempty"`
	UserClaims   []claim `json:"user_claims"`
	UserID       string  `json:"user_id"`
}

func (m *Module) me(w http.ResponseWriter, r *http.Request, st *site) {
	if !st.s.Login.TokenStore.Enabled {
		writePage(w, http.StatusNotFound, "The token store is not enabled for this app (login.tokenStore.enabled).")
		return
	}
	now := m.cfg.Now()
	sess, _, ok := m.openSession(r, st, now, 0)
	if !ok {
		writeJSONError(w, http.StatusUnauthorized, "You are not signed in.")
		return
	}
	p := sess.principal(m.store.get(st.name, sess.ID, now))
	e := meEntry{ProviderName: providerName, UserClaims: p.mapped(), UserID: p.name()}
	if t := p.tokens; t != nil {
		e.AccessToken, e.IDToken, e.RefreshToken = t.AccessToken, t.IDToken, t.RefreshToken
		e.ExpiresOn = expiresOn(t.ExpiresOn)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode([]meEntry{e})
}

func (m *Module) logout(w http.ResponseWriter, r *http.Request, st *site) {
	target := r.URL.Query().Get("post_logout_redirect_uri")
	if target == "" {
		target = st.prefix + "/logout/complete"
	}
	if !m.allowedRedirect(r, st, target) {
		writePage(w, http.StatusBadRequest, "post_logout_redirect_uri must be a path of this app or one of its allowed external redirect URLs (login.allowedExternalRedirectUrls).")
		return
	}
	if sess, _, ok := m.openSession(r, st, m.cfg.Now(), refreshExt(st.s)); ok {
		m.store.remove(st.name, sess.ID)
	}
	setCookie(w, r, sessionCookie, "", time.Time{})
	if cleartext.OverTLS(r) {
		setCookie(w, r, bindCookie, "", time.Time{})
	}
	if strings.HasPrefix(target, "/") {
		target = origin(r) + target
	}
	if st.aad != nil {
		if u := m.cfg.Provider.LogoutURL(m.cfg.LoginBase, target); u != "" {
			target = u
		}
	}
	http.Redirect(w, r, target, http.StatusFound)
}

func (m *Module) refresh(w http.ResponseWriter, r *http.Request, st *site) {
	now := m.cfg.Now()
	sess, fromHeader, ok := m.openSession(r, st, now, refreshExt(st.s))
	if !ok {
		writeJSONError(w, http.StatusUnauthorized, "You are not signed in.")
		return
	}
	if !st.s.Login.TokenStore.Enabled || st.aad == nil {
		writeJSONError(w, http.StatusForbidden, "The token store is not enabled for this app (login.tokenStore.enabled): there is no token to refresh.")
		return
	}
	t := m.store.get(st.name, sess.ID, now)
	if t == nil || t.RefreshToken == "" {
		writeJSONError(w, http.StatusForbidden, "This session holds no refresh token (request offline_access, configure a client secret, and sign in again).")
		return
	}
	secret := ""
	if name := st.aad.Registration.ClientSecretSettingName; name != "" && m.cfg.ClientSecret != nil {
		s, err := m.cfg.ClientSecret(r.Context(), st.name, name)
		if err != nil {
			writeJSONError(w, http.StatusInternalServerError, "The app's client secret (app setting "+name+") could not be read.")
			return
		}
		secret = s
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	nt, err := m.cfg.Provider.RedeemRefreshToken(ctx, st.clientID, secret, t.RefreshToken, scopeOf(st))
	if err != nil {
		m.cfg.Logger.Info("easyauth: refreshing tokens", "site", st.name, "err", err)
		writeJSONError(w, http.StatusForbidden, "The identity provider refused to refresh the tokens; sign in again.")
		return
	}
	if nt.RefreshToken == "" {
		nt.RefreshToken = t.RefreshToken
	}
	if nt.IDToken == "" {
		nt.IDToken = t.IDToken
	}
	sess.Exp = now.Add(sessionLife(st.s)).Unix()
	if fromHeader {
		// A client-directed session is renewed by a new token in the
		// answer, as the sign-in gave it.
		m.store.put(st.name, sess.ID, sess.user(), nt, now, time.Unix(sess.Exp, 0).Add(refreshExt(st.s)))
		m.writeAuthToken(w, st, sess)
		return
	}
	if err := m.setSession(w, r, st, sess); err != nil {
		writeJSONError(w, http.StatusInternalServerError, "The session could not be renewed.")
		return
	}
	m.store.put(st.name, sess.ID, sess.user(), nt, now, time.Unix(sess.Exp, 0).Add(refreshExt(st.s)))
	w.WriteHeader(http.StatusOK)
}

// allowedRedirect reports whether target may follow a sign-in or a
// sign-out: a path of this app ("/..." but never "//host" or "/\host",
// in any encoding), the app's own origin, or one of
// login.allowedExternalRedirectUrls (same scheme and host, and its path
// or below; the query is ignored, as App Service ignores it).
func (m *Module) allowedRedirect(r *http.Request, st *site, target string) bool {
	if target == "" || len(target) > 2048 {
		return false
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c == 0x7f || c == '\\' {
			return false // browsers drop tabs and newlines and read '\' as '/'
		}
	}
	if dec, err := url.PathUnescape(target); err != nil || strings.ContainsAny(dec, "\\\t\r\n") {
		return false
	} else if strings.HasPrefix(dec, "//") {
		return false
	}
	if target[0] == '/' {
		return len(target) == 1 || target[1] != '/'
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Opaque != "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) && (u.Scheme == "https" || !cleartext.OverTLS(r)) {
		return true
	}
	for _, a := range st.s.Login.AllowedExternalRedirectURLs {
		au, err := url.Parse(a)
		if err != nil || au.Host == "" || !strings.EqualFold(au.Scheme, u.Scheme) || !strings.EqualFold(au.Host, u.Host) {
			continue
		}
		ap := strings.TrimSuffix(au.Path, "/")
		if ap == "" || u.Path == ap || strings.HasPrefix(u.Path, ap+"/") {
			return true
		}
	}
	return false
}

// bearerToken returns the token of an Authorization: Bearer field.
func bearerToken(r *http.Request) (string, bool) {
	v := r.Header.Get("Authorization")
	if len(v) < 7 || !strings.EqualFold(v[:7], "bearer ") {
		return "", false
	}
	return strings.TrimSpace(v[7:]), true
}

// maxBearer bounds a bearer token given to the provider to verify.
const maxBearer = 16 << 10

// bearer verifies a client's access token for this app
// (validation.allowedAudiences, default the client id and
// api://<client id>) and its default authorization policy; it returns
// the principal, or nil and 401 (not a valid token) or 403 (a token the
// policy refuses).
func (m *Module) bearer(ctx context.Context, st *site, raw string) (*principal, int) {
	if raw == "" || len(raw) > maxBearer {
		return nil, http.StatusUnauthorized
	}
	aud := st.aad.Validation.AllowedAudiences
	if len(aud) == 0 {
		aud = []string{st.clientID, "api://" + st.clientID}
	}
	claims, err := m.cfg.Provider.VerifyAccessToken(ctx, raw, aud)
	if err != nil {
		return nil, http.StatusUnauthorized
	}
	p := &principal{claims: flattenClaims(claims)}
	if apps := st.aad.Validation.DefaultAuthorizationPolicy.AllowedApplications; len(apps) > 0 {
		app := p.get("appid")
		if app == "" {
			app = p.get("azp")
		}
		if !slices.Contains(apps, app) {
			return nil, http.StatusForbidden
		}
	}
	if !allowedIdentity(st, p) {
		return nil, http.StatusForbidden
	}
	return p, 0
}

// allowedIdentity applies defaultAuthorizationPolicy.allowedPrincipals.
func allowedIdentity(st *site, p *principal) bool {
	if st.aad == nil {
		return true
	}
	ids := st.aad.Validation.DefaultAuthorizationPolicy.AllowedPrincipals.Identities
	return len(ids) == 0 || slices.Contains(ids, p.get("oid"))
}

func origin(r *http.Request) string {
	if cleartext.OverTLS(r) {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

func scopeOf(st *site) string {
	for _, p := range st.aad.Login.LoginParameters {
		if k, v, _ := strings.Cut(p, "="); strings.TrimSpace(k) == "scope" {
			return v
		}
	}
	return defaultScope
}

func validateNonce(s *slipway.AuthSettings) bool {
	return s.Login.Nonce.ValidateNonce == nil || *s.Login.Nonce.ValidateNonce
}

func nonceLife(s *slipway.AuthSettings) time.Duration {
	d, ok := parseTimeSpan(s.Login.Nonce.NonceExpirationInterval)
	if !ok || d <= 0 {
		return defaultNonceLife
	}
	return min(d, maxNonceLife)
}

func sessionLife(s *slipway.AuthSettings) time.Duration {
	d, ok := parseTimeSpan(s.Login.CookieExpiration.TimeToExpiration)
	if !ok || d <= 0 {
		return defaultLifetime
	}
	return d
}

func refreshExt(s *slipway.AuthSettings) time.Duration {
	h := s.Login.TokenStore.TokenRefreshExtensionHours
	if h <= 0 {
		return defaultRefreshExt
	}
	return time.Duration(min(h, 24*365) * float64(time.Hour))
}

// parseTimeSpan reads a .NET TimeSpan as the settings write it:
// "hh:mm:ss" or "d.hh:mm:ss".
func parseTimeSpan(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	var days int
	if d, rest, ok := strings.Cut(s, "."); ok && !strings.Contains(d, ":") {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 || n > 3650 {
			return 0, false
		}
		days, s = n, rest
	}
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0, false
	}
	var v [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 99 {
			return 0, false
		}
		v[i] = n
	}
	return time.Duration(days)*24*time.Hour + time.Duration(v[0])*time.Hour + time.Duration(v[1])*time.Minute + time.Duration(v[2])*time.Second, true
}

func digest(s string) string {
	h := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func trim(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// queryEscape escapes a path and query for a query value.
func queryEscape(s string) string { return url.QueryEscape(s) }

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-cache, no-store")
}

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Status}}</title></head>
<body><h1>{{.Status}}</h1><p>{{.Text}}</p><p><small>Slipway App Service authentication</small></p></body></html>
`))

func writePage(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	pageTmpl.Execute(w, struct{ Status, Text string }{strconv.Itoa(status) + " " + http.StatusText(status), text})
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": strconv.Itoa(status), "message": msg})
}
