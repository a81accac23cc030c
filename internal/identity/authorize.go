package identity

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/cleartext"
	"github.com/slipway-dev/slipway/internal/store"
)

// The authorization endpoint, as the Microsoft identity platform serves it
// (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow,
// https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc).
// It validates in Entra ID's order: the client and its redirect URI first,
// answered with an error page and never a redirect (a redirect to an
// unregistered URI would make the endpoint an open redirector); every
// later error goes to the registered redirect URI, per response_mode, with
// error, error_description and state.

// maxAuthorizeParam bounds each authorization request parameter (state and
// nonce included); Entra ID's URLs are limited to about 8 KB in all.
const maxAuthorizeParam = 2048

// flowLifetime bounds how long a sign-in form may be left open.
const flowLifetime = 15 * time.Minute

// pageError is an error the endpoint shows as a page, because it cannot
// send the browser back to the client.
type pageError struct {
	status int
	aadsts int
	msg    string
}

// flow is a sign-in in progress: the validated request, and the CSRF value
// its form and the browser's flow cookie must both carry.
type flow struct {
	Req     AuthorizeRequest `json:"req"`
	CSRF    string           `json:"csrf"`
	Expires int64            `json:"exp"`
}

// authorizeParams reads the request's parameters: the query of a GET, or
// the form of a POST (response_mode form_post requests may be POSTed).
func authorizeParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	switch r.Method {
	case http.MethodGet:
		return r.URL.Query(), nil
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		return r.PostForm, nil
	}
	return nil, fmt.Errorf("method %s", r.Method)
}

// readAuthorizeRequest builds an AuthorizeRequest from the parameters.
func readAuthorizeRequest(q url.Values) (AuthorizeRequest, bool) {
	for k, v := range q {
		if len(v) > 1 || len(v[0]) > maxAuthorizeParam || len(k) > 64 {
			return AuthorizeRequest{}, false
		}
	}
	return AuthorizeRequest{
		ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"), ResponseType: q.Get("response_type"),
		ResponseMode: q.Get("response_mode"), Scope: q.Get("scope"), State: q.Get("state"), Nonce: q.Get("nonce"),
		Prompt: q.Get("prompt"), LoginHint: q.Get("login_hint"), DomainHint: q.Get("domain_hint"),
		CodeChallenge: q.Get("code_challenge"), CodeChallengeMethod: q.Get("code_challenge_method"),
	}, true
}

// checkClient is the first stage: the client exists and the redirect URI
// is one it registered (exact match, as Entra ID compares them). It fills
// in the redirect URI when the request has none and the app registered
// exactly one.
func (s *Service) checkClient(ctx context.Context, req *AuthorizeRequest) (store.Application, *pageError, error) {
	if !isGUID(req.ClientID) {
		return store.Application{}, &pageError{http.StatusBadRequest, aadstsAppNotFound, fmt.Sprintf(
			"Application with identifier '%s' was not found in the directory. The client_id must be the application (client) id of an app registration.", truncate(req.ClientID, 64))}, nil
	}
	a, err := s.cfg.Store.ApplicationByAppID(ctx, req.ClientID)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return store.Application{}, &pageError{http.StatusBadRequest, aadstsAppNotFound, fmt.Sprintf(
			"Application with identifier '%s' was not found in the directory '%s'. Register it with az ad app create.", req.ClientID, s.cfg.TenantID)}, nil
	} else if err != nil {
		return store.Application{}, nil, err
	}
	all := append(slices.Clone(a.WebRedirectURIs), a.PublicClientRedirectURIs...)
	if req.RedirectURI == "" && len(all) == 1 {
		req.RedirectURI = all[0]
	}
	if req.RedirectURI == "" || !redirectRegistered(all, req.RedirectURI) {
		return store.Application{}, &pageError{http.StatusBadRequest, aadstsRedirectMismatch, fmt.Sprintf(
			"The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'. Make sure the redirect URI sent in the request matches one added to your application (az ad app update --id %s --web-redirect-uris ...).",
			truncate(req.RedirectURI, 256), a.AppID, a.AppID)}, nil
	}
	return a, nil, nil
}

// isPublicRedirect reports whether uri is one of the app's public-client
// (native) redirect URIs and not also a web one.
func isPublicRedirect(a store.Application, uri string) bool {
	return redirectRegistered(a.PublicClientRedirectURIs, uri) && !redirectRegistered(a.WebRedirectURIs, uri)
}

// redirectRegistered reports whether the requested redirect URI is one of
// the registered ones: the same string, or, for a registered loopback
// http URI (localhost, 127.0.0.1, [::1]), the same but for the port, as
// Entra ID matches them
// (https://learn.microsoft.com/entra/identity-platform/reply-url#localhost-exceptions;
// RFC 8252 §7.3: native apps listen on an ephemeral port). Scheme, host,
// path and query must be the registered ones; "" and "/" are one path.
func redirectRegistered(registered []string, requested string) bool {
	if slices.Contains(registered, requested) {
		return true
	}
	req, err := url.Parse(requested)
	if err != nil || req.Scheme != "http" || req.User != nil || req.Opaque != "" || req.ForceQuery ||
		strings.ContainsAny(requested, "#\\") || strings.HasSuffix(req.Host, ":") {
		return false
	}
	if p := req.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
			return false
		}
	}
	for _, r := range registered {
		reg, err := url.Parse(r)
		if err != nil || reg.Scheme != "http" || reg.User != nil || !isLoopbackHost(reg.Hostname()) {
			continue
		}
		if req.Hostname() == reg.Hostname() && slashPath(req.EscapedPath()) == slashPath(reg.EscapedPath()) && req.RawQuery == reg.RawQuery {
			return true
		}
	}
	return false
}

func isLoopbackHost(h string) bool { return h == "localhost" || h == "127.0.0.1" || h == "::1" }

func slashPath(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// responseTypes splits response_type into code and id_token.
func responseTypes(rt string) (code, idToken, ok bool) {
	for _, t := range strings.Fields(rt) {
		switch t {
		case "code":
			code = true
		case "id_token":
			idToken = true
		default:
			return false, false, false
		}
	}
	return code, idToken, code || idToken
}

// checkRequest is the second stage, whose errors go to the redirect URI. It
// settles the response mode first, so the error itself can be delivered.
func (s *Service) checkRequest(ctx context.Context, a store.Application, req *AuthorizeRequest) *aadError {
	code, idTok, ok := responseTypes(req.ResponseType)
	switch req.ResponseMode {
	case "":
		req.ResponseMode = "query"
		if idTok {
			req.ResponseMode = "fragment"
		}
	case "query", "fragment", "form_post":
	default:
		mode := req.ResponseMode
		req.ResponseMode = "query"
		return newAADError(http.StatusBadRequest, "invalid_request", aadstsInvalidRequest, "The response_mode '%s' is not supported: use query, fragment or form_post.", truncate(mode, 64))
	}
	if req.ResponseType == "" {
		return newAADError(http.StatusBadRequest, "invalid_request", aadstsInvalidRequest, "The request must contain the parameter 'response_type'.")
	}
	if !ok {
		return newAADError(http.StatusBadRequest, "unsupported_response_type", aadstsUnsupportedResponse, "The response_type '%s' is not supported: use code, id_token or 'code id_token'.", truncate(req.ResponseType, 64))
	}
	if idTok && req.ResponseMode == "query" {
		return newAADError(http.StatusBadRequest, "invalid_request", aadstsInvalidRequest, "The response_mode 'query' may not be used with an id_token, which must not travel in a URL's query: use fragment or form_post.")
	}
	if idTok && !a.EnableIDTokenIssuance {
		return newAADError(http.StatusBadRequest, "unsupported_response_type", aadstsIDTokenNotEnabled, "response_type 'id_token' is not enabled for the application. Enable it with az ad app update --id %s --enable-id-token-issuance true.", a.AppID)
	}
	rs, err := s.parseScopes(ctx, req.ClientID, req.Scope)
	if err != nil {
		ae, isAAD := err.(*aadError)
		if !isAAD {
			return newAADError(http.StatusInternalServerError, "server_error", aadstsServerError, "A transient error has occurred. Please try again.")
		}
		return ae
	}
	if idTok && !rs.has("openid") {
		return newAADError(http.StatusBadRequest, "invalid_request", aadstsInvalidRequest, "An id_token was requested, but the scope does not contain 'openid'.")
	}
	if idTok && req.Nonce == "" {
		return newAADError(http.StatusBadRequest, "invalid_request", aadstsInvalidRequest, "The request must contain the parameter 'nonce' when an id_token is requested.")
	}
	if req.CodeChallenge != "" || req.CodeChallengeMethod != "" {
		if req.CodeChallengeMethod != "S256" {
			return newAADError(http.StatusBadRequest, "invalid_request", aadstsBadCodeChallenge, "The code_challenge_method '%s' is not supported: use S256 (the plain method does not protect the code).", truncate(req.CodeChallengeMethod, 32))
		}
		if len(req.CodeChallenge) != 43 || !isBase64URL(req.CodeChallenge) {
			return newAADError(http.StatusBadRequest, "invalid_request", aadstsBadCodeChallenge, "The code_challenge must be the base64url SHA-256 of the code_verifier (43 characters).")
		}
	}
	if code && isPublicRedirect(a, req.RedirectURI) && req.CodeChallenge == "" {
		return newAADError(http.StatusBadRequest, "invalid_request", aadstsPKCERequired, "Proof Key for Code Exchange is required for public clients: send code_challenge and code_challenge_method=S256.")
	}
	switch req.Prompt {
	case "", "login", "select_account", "none", "consent":
	default:
		return newAADError(http.StatusBadRequest, "invalid_request", aadstsBadPrompt, "Invalid prompt value '%s': use login, select_account, consent or none.", truncate(req.Prompt, 32))
	}
	return nil
}

func isBase64URL(s string) bool {
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// authorize serves GET and POST /{tenant}/oauth2/v2.0/authorize.
func (s *Service) authorize(w http.ResponseWriter, r *http.Request, tenantSeg string) error {
	if !cleartext.OverTLS(r) {
		return s.errorPage(w, &pageError{http.StatusBadRequest, aadstsInvalidRequest, "The sign-in page is served over HTTPS only: use https://" + strings.ToLower(r.Host) + "."})
	}
	q, err := authorizeParams(w, r)
	if err != nil {
		return s.errorPage(w, &pageError{http.StatusBadRequest, aadstsInvalidRequest, "The request could not be read; send the parameters in the query of a GET."})
	}
	req, ok := readAuthorizeRequest(q)
	if !ok {
		return s.errorPage(w, &pageError{http.StatusBadRequest, aadstsInvalidRequest, fmt.Sprintf("Each parameter must be given once, and at most %d characters long.", maxAuthorizeParam)})
	}
	a, pe, err := s.checkClient(r.Context(), &req)
	if err != nil {
		return err
	}
	if pe != nil {
		return s.errorPage(w, pe)
	}
	if ae := s.checkRequest(r.Context(), a, &req); ae != nil {
		return s.respondError(w, req, ae)
	}
	if req.Prompt != "login" && req.Prompt != "select_account" {
		if u, sess, ok := s.readSession(r); ok {
			return s.complete(w, r, req, a, u, time.Unix(sess.AuthTime, 0))
		}
	}
	if req.Prompt == "none" {
		return s.respondError(w, req, newAADError(http.StatusBadRequest, "login_required", aadstsLoginRequired,
			"A silent sign-in request was sent but no user is signed in."))
	}
	return s.showSignIn(w, r, tenantSeg, req, a, "", req.LoginHint)
}

// readSession returns the signed-in user of the request's SSO cookie, if
// it holds a live session of a user who still exists, is enabled and has
// not changed their password since.
func (s *Service) readSession(r *http.Request) (store.User, session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return store.User{}, session{}, false
	}
	var sess session
	if !s.unseal(c.Value, aadSession, &sess) || s.cfg.Now().Unix() >= sess.Expires {
		return store.User{}, session{}, false
	}
	u, err := s.cfg.Store.UserByObjectID(r.Context(), sess.OID)
	if err != nil || !u.AccountEnabled || u.PasswordChanged.UnixNano() != sess.Password {
		return store.User{}, session{}, false
	}
	return u, sess, true
}

// setSession sets the SSO cookie for the user on the login host.
func (s *Service) setSession(w http.ResponseWriter, u store.User, authTime time.Time) error {
	exp := authTime.Add(sessionLifetime)
	v, err := s.seal(session{OID: u.ObjectID, Password: u.PasswordChanged.UnixNano(), AuthTime: authTime.Unix(), Expires: exp.Unix()}, aadSession)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: v, Path: "/", MaxAge: int(sessionLifetime.Seconds()),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	return nil
}

// complete finishes a sign-in: the code and/or ID token, sent to the
// redirect URI per response mode.
func (s *Service) complete(w http.ResponseWriter, r *http.Request, req AuthorizeRequest, a store.Application, u store.User, authTime time.Time) error {
	wantCode, wantID, _ := responseTypes(req.ResponseType)
	rs, err := s.parseScopes(r.Context(), a.AppID, req.Scope)
	if err != nil {
		return err
	}
	g := grant{User: u, ClientID: a.AppID, Scope: req.Scope, Nonce: req.Nonce, AuthTime: authTime, Family: newUTI()}
	fields := url.Values{}
	var code string
	if wantCode {
		code, err = s.codes.add(&codeGrant{grant: g, RedirectURI: req.RedirectURI, CodeChallenge: req.CodeChallenge,
			Scope: req.Scope, Expires: s.cfg.Now().Add(codeLifetime)}, s.cfg.Now())
		if err != nil {
			return s.respondError(w, req, err.(*aadError))
		}
		fields.Set("code", code)
	}
	if wantID {
		cHash := ""
		if code != "" {
			cHash = halfHash(code)
		}
		idt, err := s.idToken(g, rs, cHash)
		if err != nil {
			return err
		}
		fields.Set("id_token", idt)
	}
	if req.State != "" {
		fields.Set("state", req.State)
	}
	fields.Set("session_state", s.pairwise("session", u.ObjectID)[:36])
	return s.respond(w, req, fields)
}

// respondError sends an OAuth error to the redirect URI.
func (s *Service) respondError(w http.ResponseWriter, req AuthorizeRequest, ae *aadError) error {
	fields := url.Values{}
	fields.Set("error", ae.code)
	fields.Set("error_description", fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
		ae.aadsts, ae.desc, newID(), newID(), s.cfg.Now().UTC().Format("2006-01-02 15:04:05Z")))
	fields.Set("error_uri", "https://login.microsoftonline.com/error?code="+strconv.Itoa(ae.aadsts))
	if req.State != "" {
		fields.Set("state", req.State)
	}
	return s.respond(w, req, fields)
}

// respond delivers fields to the (registered) redirect URI per response
// mode: in its query, in its fragment, or posted by an auto-submitting
// form.
func (s *Service) respond(w http.ResponseWriter, req AuthorizeRequest, fields url.Values) error {
	switch req.ResponseMode {
	case "form_post":
		return s.formPost(w, req.RedirectURI, fields)
	case "fragment":
		u, err := url.Parse(req.RedirectURI)
		if err != nil {
			return err
		}
		u.Fragment, u.RawFragment = "", ""
		http.Redirect(w, &http.Request{Method: http.MethodGet}, u.String()+"#"+fields.Encode(), http.StatusFound)
		return nil
	default:
		u, err := url.Parse(req.RedirectURI)
		if err != nil {
			return err
		}
		q := u.Query()
		for k, v := range fields {
			q[k] = v
		}
		u.RawQuery = q.Encode()
		http.Redirect(w, &http.Request{Method: http.MethodGet}, u.String(), http.StatusFound)
		return nil
	}
}

// origin is the scheme://host[:port] of a URI, for a CSP's form-action.
func origin(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" {
		return ""
	}
	if u.Host == "" {
		return u.Scheme + ":"
	}
	return u.Scheme + "://" + u.Host
}

// clientAddr is the client's IP address, for throttling.
func clientAddr(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

// pkceMatches reports whether verifier hashes to the S256 challenge.
func pkceMatches(verifier, challenge string) bool {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:]) == challenge
}

// logout serves the end-session endpoint: it clears the SSO cookie, then
// sends the browser to post_logout_redirect_uri if it is on the origin of
// a redirect URI some app registered, else shows a signed-out page.
func (s *Service) logout(w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	target := r.URL.Query().Get("post_logout_redirect_uri")
	if target != "" && len(target) <= maxAuthorizeParam {
		if ok, err := s.registeredOrigin(r.Context(), target); err != nil {
			return err
		} else if ok {
			http.Redirect(w, r, target, http.StatusFound)
			return nil
		}
	}
	return s.renderPage(w, http.StatusOK, signedOutTemplate, nil, "")
}

// registeredOrigin reports whether target is an absolute http(s) URI, with
// no userinfo, on the scheme, host and port of a redirect URI an app
// registered.
func (s *Service) registeredOrigin(ctx context.Context, target string) (bool, error) {
	t, err := url.Parse(target)
	if err != nil || t.User != nil || (t.Scheme != "https" && t.Scheme != "http") || t.Host == "" || strings.ContainsAny(target, "\\\r\n") {
		return false, nil
	}
	apps, err := s.cfg.Store.Applications(ctx)
	if err != nil {
		return false, err
	}
	want := strings.ToLower(t.Scheme + "://" + t.Host)
	for _, a := range apps {
		for _, u := range append(slices.Clone(a.WebRedirectURIs), a.PublicClientRedirectURIs...) {
			if strings.ToLower(origin(u)) == want {
				return true, nil
			}
		}
	}
	return false, nil
}
