package identity

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/store"
)

// The pages a browser sees: the sign-in form, the form_post page, an error
// page and the signed-out page. Every value is escaped by html/template;
// each page is served with a CSP that loads nothing from anywhere
// (default-src 'none'), allows only its own nonce'd style and script, and
// posts forms only where the page must; with X-Frame-Options DENY,
// frame-ancestors 'none', and no caching.

const pageStyle = `body{font-family:system-ui,sans-serif;background:#f2f2f2;margin:0}main{max-width:440px;margin:8vh auto;background:#fff;padding:44px;box-shadow:0 2px 6px rgba(0,0,0,.2)}h1{font-size:1.5rem;font-weight:600}label{display:block;margin:1rem 0 .25rem}input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}button{margin-top:1.5rem;background:#0067b8;color:#fff;border:0;padding:.5rem 2rem;font-size:1rem}.error{color:#e81123}`

var pages = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Sign in to your account</title><style nonce="{{.Nonce}}">` + pageStyle + `</style></head>
<body><main>
<h1>Sign in</h1>
<p>to continue to {{.AppName}}</p>
{{if .Error}}<p class="error" role="alert" id="usernameError">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}" autocomplete="on">
<input type="hidden" name="flow" value="{{.Flow}}">
<label for="i0116">User name</label>
<input type="text" name="login" id="i0116" value="{{.LoginHint}}" autocomplete="username" maxlength="113" required autofocus>
<label for="i0118">Password</label>
<input type="password" name="passwd" id="i0118" autocomplete="current-password" maxlength="256" required>
<button type="submit" id="idSIButton9">Sign in</button>
</form>
</main></body></html>
{{define "formpost"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Working...</title></head>
<body><form method="post" name="hiddenform" action="{{.Action}}">{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">{{end}}
<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit"></noscript></form>
<script nonce="{{.Nonce}}">document.forms[0].submit();</script></body></html>
{{end}}{{define "error"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in</title><style nonce="{{.Nonce}}">` + pageStyle + `</style></head>
<body><main><h1>Sorry, but we’re having trouble signing you in.</h1>
<p class="error" id="errorMessage">AADSTS{{.Code}}: {{.Message}}</p>
<p>Trace ID: {{.TraceID}}<br>Timestamp: {{.Time}}</p></main></body></html>
{{end}}{{define "signedout"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signed out</title><style nonce="{{.Nonce}}">` + pageStyle + `</style></head>
<body><main><h1>You signed out of your account</h1><p>It’s a good idea to close all browser windows.</p></main></body></html>
{{end}}`))

const signedOutTemplate = "signedout"

func pageNonce() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawStdEncoding.EncodeToString(b)
}

// renderPage writes a page with its security headers. formAction is the
// CSP form-action source list ("" for none).
func (s *Service) renderPage(w http.ResponseWriter, status int, name string, data map[string]any, formAction string) error {
	nonce := pageNonce()
	if data == nil {
		data = map[string]any{}
	}
	data["Nonce"] = nonce
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("rendering %s page: %w", name, err)
	}
	if formAction == "" {
		formAction = "'none'"
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+nonce+"'; script-src 'nonce-"+nonce+"'; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

func (s *Service) errorPage(w http.ResponseWriter, pe *pageError) error {
	return s.renderPage(w, pe.status, "error", map[string]any{"Code": pe.aadsts, "Message": pe.msg, "TraceID": newID(),
		"Time": s.cfg.Now().UTC().Format("2006-01-02 15:04:05Z")}, "")
}

// formAction is the sign-in form's CSP form-action: itself, and the origin
// of the redirect URI its answer redirects to (browsers apply form-action
// to the redirects that follow a form's submission).
func formAction(redirectURI string) string {
	fa := "'self'"
	if o := origin(redirectURI); o != "" && !strings.ContainsAny(o, "; ,'\"") {
		fa += " " + o
	}
	return fa
}

// showSignIn renders the sign-in form for a validated request, with a new
// flow: sealed into the form, its CSRF value also in a cookie.
func (s *Service) showSignIn(w http.ResponseWriter, r *http.Request, tenantSeg string, req AuthorizeRequest, a store.Application, errMsg, loginHint string) error {
	csrf := newUTI()
	sealed, err := s.seal(flow{Req: req, CSRF: csrf, Expires: s.cfg.Now().Add(flowLifetime).Unix()}, aadFlow)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: csrf, Path: "/", MaxAge: int(flowLifetime.Seconds()),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	status := http.StatusOK
	if errMsg != "" {
		status = http.StatusBadRequest
	}
	return s.renderPage(w, status, "signin", map[string]any{"AppName": a.DisplayName, "Error": errMsg, "Flow": sealed,
		"Action": "/" + tenantSeg + "/login", "LoginHint": loginHint}, formAction(req.RedirectURI))
}

// signIn serves POST /{tenant}/login, the sign-in form's submission.
func (s *Service) signIn(w http.ResponseWriter, r *http.Request, tenantSeg string) error {
	if r.Method != http.MethodPost {
		return s.errorPage(w, &pageError{http.StatusMethodNotAllowed, aadstsInvalidRequest, "Sign in from your application's sign-in link."})
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return s.errorPage(w, &pageError{http.StatusBadRequest, aadstsInvalidRequest, "The sign-in form could not be read."})
	}
	var f flow
	c, cerr := r.Cookie(flowCookie)
	if !s.unseal(r.PostForm.Get("flow"), aadFlow, &f) || cerr != nil ||
		subtle.ConstantTimeCompare([]byte(c.Value), []byte(f.CSRF)) != 1 {
		// A post without this browser's flow: another site's, or a
		// form left from another browser. Nothing is checked or set.
		return s.errorPage(w, &pageError{http.StatusBadRequest, aadstsInvalidRequest,
			"The sign-in request did not come from this browser's sign-in page (its flow token is missing or does not match). Go back to the application and sign in again."})
	}
	if s.cfg.Now().Unix() >= f.Expires {
		return s.errorPage(w, &pageError{http.StatusBadRequest, aadstsInvalidRequest, "The sign-in page was open too long. Go back to the application and sign in again."})
	}
	// The request was validated when the form was shown; the app may
	// have changed since, so it is checked again.
	req := f.Req
	a, pe, err := s.checkClient(r.Context(), &req)
	if err != nil {
		return err
	}
	if pe != nil {
		return s.errorPage(w, pe)
	}
	login, password := strings.TrimSpace(r.PostForm.Get("login")), r.PostForm.Get("passwd")
	if login == "" || password == "" || len(login) > 256 || len(password) > store.MaxPasswordLen {
		return s.showSignIn(w, r, tenantSeg, req, a, "Enter your user name and password.", login)
	}
	now := s.cfg.Now()
	keys := []string{userKey(login), addrKey(clientAddr(r))}
	if s.throttle.locked(now, keys...) {
		return s.showSignIn(w, r, tenantSeg, req, a, fmt.Sprintf("AADSTS%d: Your account is locked because you've tried to sign in too many times with an incorrect user ID or password. Wait a minute and try again.", aadstsLocked), login)
	}
	select {
	case s.passwords <- struct{}{}:
	case <-r.Context().Done():
		return r.Context().Err()
	case <-time.After(10 * time.Second):
		return s.showSignIn(w, r, tenantSeg, req, a, "The service is busy; try again.", login)
	}
	u, err := s.cfg.Store.CheckUserPassword(r.Context(), login, password)
	<-s.passwords
	switch slipway.ErrorCode(err) {
	case "":
	case slipway.ENOTFOUND, slipway.EUNAUTHORIZED:
		s.throttle.fail(now, keys...)
		return s.showSignIn(w, r, tenantSeg, req, a, fmt.Sprintf("AADSTS%d: Error validating credentials due to invalid username or password.", aadstsBadCredentials), login)
	default:
		return err
	}
	if !u.AccountEnabled {
		return s.showSignIn(w, r, tenantSeg, req, a, fmt.Sprintf("AADSTS%d: The user account is disabled.", aadstsAccountDisabled), login)
	}
	s.throttle.succeed(userKey(login))
	authTime := now.UTC().Truncate(time.Second)
	if err := s.setSession(w, u, authTime); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	return s.complete(w, r, req, a, u, authTime)
}

type formField struct{ Name, Value string }

// formPost answers response_mode form_post: a page whose script posts the
// fields to the redirect URI, with a button for browsers without script.
func (s *Service) formPost(w http.ResponseWriter, redirectURI string, fields url.Values) error {
	var ff []formField
	for _, k := range []string{"code", "id_token", "state", "session_state", "error", "error_description", "error_uri"} {
		if v := fields.Get(k); v != "" {
			ff = append(ff, formField{k, v})
		}
	}
	return s.renderPage(w, http.StatusOK, "formpost", map[string]any{"Action": redirectURI, "Fields": ff}, formAction(redirectURI))
}
