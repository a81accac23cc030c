package identity

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/cleartext"
)

// maxFormBytes bounds a token request's body. MSAL's, with its claims
// parameter, are under 1 KB.
const maxFormBytes = 32 << 10

// maxPathBytes bounds the request path the login handler looks at.
const maxPathBytes = 1024

// AADSTS error numbers Slipway answers with, as Azure AD does
// (https://learn.microsoft.com/entra/identity-platform/reference-error-codes).
const (
	aadstsInvalidInstance    = 50049   // instance discovery for a host we are not
	aadstsUnsupportedGrant   = 70003   // grant_type other than client_credentials
	aadstsInvalidScope       = 70011   // scope malformed
	aadstsTenantNotFound     = 90002   // unknown tenant in the path
	aadstsThrottled          = 50196   // too many requests in flight
	aadstsResourceNotFound   = 500011  // resource not in the allow-list
	aadstsAppNotFound        = 700016  // unknown client_id
	aadstsBadSecret          = 7000215 // wrong client secret
	aadstsNoCredential       = 7000216 // no client_secret
	aadstsMissingParameter   = 900144  // a required parameter is missing or repeated
	aadstsScopeWithoutSuffix = 1002012 // client credentials scope without /.default
	aadstsServerError        = 90033   // a transient error on our side
)

// aadError is an error rendered as Azure AD's token-endpoint error JSON.
type aadError struct {
	status int
	code   string // OAuth 2.0 error code: invalid_client, invalid_request, ...
	aadsts int
	desc   string
}

func (e *aadError) Error() string { return fmt.Sprintf("AADSTS%d: %s", e.aadsts, e.desc) }

func newAADError(status int, code string, aadsts int, format string, args ...any) *aadError {
	return &aadError{status: status, code: code, aadsts: aadsts, desc: fmt.Sprintf(format, args...)}
}

// Handler returns the login endpoint, to be mounted for the hosts
// login.<domain>[:port] and (inside sandboxes) login.microsoftonline.com,
// over HTTPS only: MSAL refuses any other authority (docs/arm.md §2.2), and
// the token endpoint refuses a request without TLS. It
// serves, for the tenant GUID and the aliases organizations, common and
// adfs:
//
//	GET  /{tenant}/v2.0/.well-known/openid-configuration
//	GET  /{tenant}/.well-known/openid-configuration   (v1, and the adfs form)
//	GET  /{tenant}/discovery/v2.0/keys, /{tenant}/discovery/keys
//	POST /{tenant}/oauth2/v2.0/token, /{tenant}/oauth2/token (client_credentials)
//	GET  /common/discovery/instance                   (MSAL instance discovery)
func (s *Service) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		if err := s.serveLogin(w, r); err != nil {
			s.writeAADError(w, r, err)
		}
	})
}

// tenantForm is how a request named the tenant.
type tenantForm int

const (
	tenantGUID tenantForm = iota
	tenantAlias
	tenantADFS
)

func (s *Service) serveLogin(w http.ResponseWriter, r *http.Request) error {
	host := strings.ToLower(r.Host)
	if !validHost(host) {
		return newAADError(http.StatusBadRequest, "invalid_request", aadstsInvalidInstance, "The request's Host is not valid.")
	}
	if len(r.URL.Path) > maxPathBytes {
		return newAADError(http.StatusNotFound, "invalid_request", aadstsMissingParameter, "Unknown path.")
	}
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) == 3 && eq(segs, "common", "discovery", "instance") {
		if err := onlyMethod(r, http.MethodGet); err != nil {
			return err
		}
		return s.instanceDiscovery(w, r, host)
	}
	form, err := s.tenant(segs[0])
	if err != nil {
		return err
	}
	base := "https://" + host + "/" + s.cfg.TenantID
	if form == tenantADFS {
		base = "https://" + host + "/adfs"
	}
	rest := segs[1:]
	switch {
	case eq(rest, "v2.0", ".well-known", "openid-configuration"):
		if err := onlyMethod(r, http.MethodGet); err != nil {
			return err
		}
		issuer := s.v2Issuer()
		if form == tenantADFS {
			issuer = s.issuer
		}
		return writeJSON(w, http.StatusOK, s.openIDConfiguration(base, "/v2.0", issuer))
	case eq(rest, ".well-known", "openid-configuration"):
		if err := onlyMethod(r, http.MethodGet); err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, s.openIDConfiguration(base, "", s.issuer))
	case eq(rest, "discovery", "v2.0", "keys"), eq(rest, "discovery", "keys"):
		if err := onlyMethod(r, http.MethodGet); err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "max-age=3600")
		return writeJSON(w, http.StatusOK, s.jwks())
	case eq(rest, "oauth2", "v2.0", "authorize"), eq(rest, "oauth2", "authorize"):
		return s.authorize(w, r, segs[0])
	case eq(rest, "login"):
		return s.signIn(w, r, segs[0])
	case eq(rest, "oauth2", "v2.0", "logout"), eq(rest, "oauth2", "logout"):
		return s.logout(w, r)
	case eq(rest, "oauth2", "v2.0", "token"):
		return s.token(w, r, true)
	case eq(rest, "oauth2", "token"):
		return s.token(w, r, false)
	}
	return newAADError(http.StatusNotFound, "invalid_request", aadstsMissingParameter, "Unknown path %q on the Slipway token service.", r.URL.Path)
}

// tenant resolves the tenant segment: the installation's tenant GUID, or an
// alias MSAL uses (organizations when az has no --tenant, common, adfs).
func (s *Service) tenant(seg string) (tenantForm, error) {
	switch strings.ToLower(seg) {
	case s.cfg.TenantID:
		return tenantGUID, nil
	case "organizations", "common":
		return tenantAlias, nil
	case "adfs":
		return tenantADFS, nil
	}
	if len(seg) > 64 {
		seg = seg[:64]
	}
	return 0, newAADError(http.StatusBadRequest, "invalid_tenant", aadstsTenantNotFound,
		"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Slipway's tenant is %s.", seg, s.cfg.TenantID)
}

// openIDConfiguration is the OpenID Provider Metadata document, with the
// fields Azure AD publishes that apply to this service. MSAL reads
// authorization_endpoint and token_endpoint; MSAL Go also checks that the
// issuer's host is the authority's (or Microsoft's).
func (s *Service) openIDConfiguration(base, version, issuer string) map[string]any {
	return map[string]any{
		"issuer":                                issuer,
		"authorization_endpoint":                base + "/oauth2" + version + "/authorize",
		"token_endpoint":                        base + "/oauth2" + version + "/token",
		"jwks_uri":                              base + "/discovery" + version + "/keys",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", "client_credentials"},
		"end_session_endpoint":                  base + "/oauth2" + version + "/logout",
		"code_challenge_methods_supported":      []string{"S256"},
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"response_types_supported":              []string{"code", "id_token", "code id_token"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		// The claims the tokens carry (TestClaimsSupportedMatchTokens):
		// access tokens are v1.0, which carry appid/appidacr, never v2.0's
		// azp/azpacr (https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference).
		"claims_supported": []string{"sub", "iss", "aud", "exp", "iat", "nbf", "auth_time", "acr", "amr", "nonce", "c_hash", "name",
			"preferred_username", "email", "oid", "tid", "appid", "appidacr", "idp", "idtyp", "scp", "upn", "unique_name", "uti", "ver", "xms_mirid"},
		"request_uri_parameter_supported": false,
		"tenant_region_scope":             nil,
		"cloud_instance_name":             "slipway",
	}
}

// instanceDiscovery answers MSAL's instance discovery, which it sends to
// login.microsoftonline.com for any authority host it does not know
// (docs/arm.md §2.3): inside a sandbox that reaches this service. Hosts this
// service is reached at are answered with their tenant discovery endpoint;
// any other is invalid_instance, as Azure AD answers for unknown hosts.
func (s *Service) instanceDiscovery(w http.ResponseWriter, r *http.Request, host string) error {
	ae, err := url.Parse(r.URL.Query().Get("authorization_endpoint"))
	invalid := newAADError(http.StatusBadRequest, "invalid_instance", aadstsInvalidInstance, "Unknown or invalid instance.")
	if err != nil || ae.Scheme != "https" || ae.User != nil {
		return invalid
	}
	aeHost := strings.ToLower(ae.Host)
	known := aeHost == host
	for _, h := range s.cfg.AuthorityHosts {
		known = known || strings.EqualFold(h, aeHost)
	}
	tenant, _, _ := strings.Cut(strings.TrimPrefix(ae.Path, "/"), "/")
	if !known || !validHost(aeHost) || !validTenantSegment(tenant) {
		return invalid
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": "https://" + aeHost + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": aeHost, "preferred_cache": aeHost, "aliases": []string{aeHost},
		}},
	})
}

// token serves the token endpoint: the client-credentials grant with a
// client secret in the body or HTTP Basic; v2 names the resource by
// scope=<resource>/.default, v1 by resource=<resource>.
func (s *Service) token(w http.ResponseWriter, r *http.Request, v2 bool) error {
	if err := onlyMethod(r, http.MethodPost); err != nil {
		return err
	}
	if !cleartext.OverTLS(r) {
		// Client secrets and tokens never cross in the clear.
		return newAADError(http.StatusBadRequest, "invalid_request", aadstsMissingParameter, "The token endpoint is served over HTTPS only: use https://%s.", strings.ToLower(r.Host))
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		w.Header().Set("Retry-After", "1")
		return newAADError(http.StatusTooManyRequests, "temporarily_unavailable", aadstsThrottled, "Too many token requests; retry after a second.")
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		return newAADError(http.StatusBadRequest, "invalid_request", aadstsMissingParameter, "The request body must contain the following parameter: 'grant_type'. (The body must be application/x-www-form-urlencoded.)")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return newAADError(http.StatusBadRequest, "invalid_request", aadstsMissingParameter, "The request body is malformed or larger than %d bytes.", maxFormBytes)
	}
	form := r.PostForm
	for _, k := range []string{"grant_type", "client_id", "client_secret", "scope", "resource"} {
		if len(form[k]) > 1 {
			return newAADError(http.StatusBadRequest, "invalid_request", aadstsMissingParameter, "The request body must contain the parameter '%s' once only.", k)
		}
	}
	grant := form.Get("grant_type")
	if grant == "" {
		return newAADError(http.StatusBadRequest, "invalid_request", aadstsMissingParameter, "The request body must contain the following parameter: 'grant_type'.")
	}
	if grant != "client_credentials" && (!v2 || grant != "authorization_code" && grant != "refresh_token") {
		return newAADError(http.StatusBadRequest, "unsupported_grant_type", aadstsUnsupportedGrant, "The app requested an unsupported grant type '%s'. Slipway issues tokens for the client_credentials, authorization_code and refresh_token grants (the last two at /oauth2/v2.0/token).", truncate(grant, 64))
	}
	clientID, secret := form.Get("client_id"), form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		// RFC 6749 §2.3.1: both are form-encoded before Basic encoding.
		bu, err1 := url.QueryUnescape(u)
		bp, err2 := url.QueryUnescape(p)
		if err1 != nil || err2 != nil || secret != "" || (clientID != "" && clientID != bu) {
			return newAADError(http.StatusBadRequest, "invalid_request", aadstsMissingParameter, "The client must authenticate by one method only: client_secret in the body or HTTP Basic.")
		}
		clientID, secret = bu, bp
	}
	if form.Has("client_assertion") {
		return newAADError(http.StatusBadRequest, "invalid_request", aadstsNoCredential, "Client assertions are not supported by Slipway; use a client secret.")
	}
	if clientID == "" {
		return newAADError(http.StatusBadRequest, "invalid_request", aadstsMissingParameter, "The request body must contain the following parameter: 'client_id'.")
	}
	if grant != "client_credentials" {
		return s.userGrant(w, r, grant, clientID, secret)
	}
	notFound := newAADError(http.StatusBadRequest, "unauthorized_client", aadstsAppNotFound,
		"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", truncate(clientID, 64), s.cfg.TenantID)
	if !isGUID(clientID) {
		return notFound
	}
	if secret == "" {
		return newAADError(http.StatusBadRequest, "invalid_client", aadstsNoCredential, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	}
	resource, err := requestedResource(form, v2)
	if err != nil {
		return err
	}
	p, err := s.cfg.Store.CheckPrincipalSecret(r.Context(), clientID, secret, s.cfg.Now())
	switch slipway.ErrorCode(err) {
	case "":
	case slipway.ENOTFOUND:
		return notFound
	case slipway.EUNAUTHORIZED:
		return newAADError(http.StatusUnauthorized, "invalid_client", aadstsBadSecret,
			"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", strings.ToLower(clientID))
	default:
		return err
	}
	tok, err := s.Issue(r.Context(), p, resource, 0)
	if errors.Is(err, ErrUnknownResource) {
		tok, err = s.issueForApplication(r.Context(), p, resource)
	}
	if errors.Is(err, ErrUnknownResource) {
		return errResourceNotFound(resource, s.cfg.TenantID)
	} else if err != nil {
		return err
	}
	expiresIn := int64(tok.ExpiresOn.Sub(s.cfg.Now()).Seconds())
	if v2 {
		return writeJSON(w, http.StatusOK, map[string]any{
			"token_type": "Bearer", "expires_in": expiresIn, "ext_expires_in": expiresIn, "access_token": tok.AccessToken,
		})
	}
	// The v1 endpoint answers numbers as strings.
	return writeJSON(w, http.StatusOK, map[string]string{
		"token_type": "Bearer", "expires_in": strconv.FormatInt(expiresIn, 10), "ext_expires_in": strconv.FormatInt(expiresIn, 10),
		"expires_on": strconv.FormatInt(tok.ExpiresOn.Unix(), 10), "not_before": strconv.FormatInt(tok.NotBefore.Unix(), 10),
		"resource": tok.Resource, "access_token": tok.AccessToken,
	})
}

func errResourceNotFound(resource, tenant string) error {
	return newAADError(http.StatusBadRequest, "invalid_resource", aadstsResourceNotFound,
		"The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", truncate(resource, 256), tenant)
}

// requestedResource reads the resource of a token request: v2's scope
// "<resource>/.default" (MSAL keeps a trailing slash of the resource, so
// "https://x//.default" is resource "https://x/"; the OpenID scopes MSAL may
// add are ignored), or v1's resource parameter. The v1 path also takes a
// scope, as ADFS does: MSAL posts one there for an adfs authority.
func requestedResource(form url.Values, v2 bool) (string, error) {
	if !v2 {
		if res := form.Get("resource"); res != "" {
			return res, nil
		}
		if form.Get("scope") == "" {
			return "", newAADError(http.StatusBadRequest, "invalid_request", aadstsMissingParameter, "The request body must contain the following parameter: 'resource'.")
		}
	}
	scope := form.Get("scope")
	if scope == "" {
		return "", newAADError(http.StatusBadRequest, "invalid_request", aadstsMissingParameter, "The request body must contain the following parameter: 'scope'.")
	}
	var res []string
	for _, sc := range strings.Fields(scope) {
		switch sc {
		case "openid", "profile", "offline_access":
			continue
		}
		res = append(res, sc)
	}
	if len(res) != 1 {
		return "", newAADError(http.StatusBadRequest, "invalid_scope", aadstsInvalidScope, "The provided value for the input parameter 'scope' is not valid. Client credential flows take one scope, <resource>/.default.")
	}
	resource, ok := strings.CutSuffix(res[0], "/.default")
	if !ok || resource == "" {
		return "", newAADError(http.StatusBadRequest, "invalid_scope", aadstsScopeWithoutSuffix,
			"The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", truncate(res[0], 256))
	}
	return resource, nil
}

// writeAADError renders err as Azure AD's error JSON. Errors that are not
// *aadError are internal: logged once here, answered as a server error
// naming only the trace id.
func (s *Service) writeAADError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *aadError
	traceID := newID()
	if !errors.As(err, &ae) {
		s.cfg.Logger.Error("token service request failed", "trace_id", traceID, "method", r.Method, "path", truncate(r.URL.Path, 256), "err", err)
		ae = newAADError(http.StatusInternalServerError, "temporarily_unavailable", aadstsServerError, "A transient error has occurred. Please try again.")
	}
	corr := r.Header.Get("client-request-id")
	if !isGUID(corr) {
		corr = newID()
	}
	ts := s.cfg.Now().UTC().Format("2006-01-02 15:04:05Z")
	_ = writeJSON(w, ae.status, map[string]any{
		"error": ae.code,
		"error_description": fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
			ae.aadsts, ae.desc, traceID, corr, ts),
		"error_codes":    []int{ae.aadsts},
		"timestamp":      ts,
		"trace_id":       traceID,
		"correlation_id": corr,
		"error_uri":      "https://" + strings.ToLower(r.Host) + "/error?code=" + strconv.Itoa(ae.aadsts),
	})
}

func onlyMethod(r *http.Request, method string) error {
	if r.Method == method {
		return nil
	}
	return newAADError(http.StatusMethodNotAllowed, "invalid_request", aadstsMissingParameter, "Use %s here.", method)
}

// eq reports whether segs equal want, ignoring case.
func eq(segs []string, want ...string) bool {
	if len(segs) != len(want) {
		return false
	}
	for i := range segs {
		if !strings.EqualFold(segs[i], want[i]) {
			return false
		}
	}
	return true
}

// validHost reports whether h looks like host[:port] (a name or an IP
// literal): the documents quote it back in URLs.
func validHost(h string) bool {
	if h == "" || len(h) > 262 {
		return false
	}
	for _, c := range []byte(h) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

// validTenantSegment reports whether t may be a tenant path segment (a GUID,
// an alias or a domain name).
func validTenantSegment(t string) bool {
	if t == "" || len(t) > 64 {
		return false
	}
	for _, c := range []byte(t) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}

// newID returns a random GUID for trace and correlation ids.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
