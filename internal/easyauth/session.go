package easyauth

// The session cookie and the principal it carries to the app.

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/internal/cleartext"
	"github.com/slipway-dev/slipway/internal/identity"
)

// session is what AppServiceAuthSession holds, sealed.
type session struct {
	ID     string      `json:"i"`
	Exp    int64       `json:"e"` // unix seconds
	Claims [][2]string `json:"c"` // the ID token's claims, as the token names them
	// Bind is the digest of the __Host- binding cookie's value, for a
	// session made over HTTPS.
	Bind string `json:"b,omitempty"`
}

// Planted cookies. The apps are served side by side under the platform's
// domain, which is no public suffix (Azure's azurewebsites.net is one),
// so one app can set a cookie with Domain=<domain> that browsers send to
// every other app. An attacker who signed in to a victim app themselves
// could so plant their own session cookie, or the Nonce cookie of a
// sign-in they started, on the victim app's visitors, who would then use
// it as the attacker (login CSRF). Over HTTPS a session is therefore
// bound to a second cookie named with the __Host- prefix, which browsers
// accept only from the host itself (RFC 6265bis, "Cookie Name Prefixes"),
// and the nonce cookie carries that prefix too; a site that requires
// HTTPS takes no session cookie over plain HTTP, where there is no such
// prefix. An app that allows HTTP (httpSettings.requireHttps false) is
// not protected from planted cookies.

// zumoHeader carries the authenticationToken of a client-directed
// sign-in (https://learn.microsoft.com/azure/app-service/configure-authentication-customize-sign-in-out#client-directed-sign-in).
const zumoHeader = "X-ZUMO-AUTH"

// Purposes of sealed sessions: the cookie's, and the authenticationToken
// a client-directed sign-in answers, which clients send back in
// X-ZUMO-AUTH. Neither opens as the other.
const (
	cookiePurpose = "session"
	tokenPurpose  = "authtoken"
)

// openSession returns r's session if it expires after now-grace: the one
// its X-ZUMO-AUTH field carries when it has that field (a token this site
// sealed for a client-directed sign-in; fromHeader is then true), else
// its session cookie if this site sealed it and, over HTTPS, its binding
// cookie came with it (over HTTP only when the site does not require
// HTTPS).
func (m *Module) openSession(r *http.Request, st *site, now time.Time, grace time.Duration) (s *session, fromHeader, ok bool) {
	if v := r.Header.Get(zumoHeader); v != "" {
		var s session
		if m.open(st, tokenPurpose, v, &s) != nil || s.ID == "" || !time.Unix(s.Exp, 0).After(now.Add(-grace)) {
			return nil, true, false
		}
		return &s, true, true
	}
	if !cleartext.OverTLS(r) && st.s.HTTPSRequired() {
		// No browser sends a session made over HTTPS (a Secure cookie)
		// over HTTP, and a site requiring HTTPS makes none over HTTP:
		// a session cookie here is one planted without its binding.
		return nil, false, false
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, false, false
	}
	var cs session
	if m.open(st, cookiePurpose, c.Value, &cs) != nil || cs.ID == "" {
		return nil, false, false
	}
	if cleartext.OverTLS(r) {
		b, err := r.Cookie(bindCookie)
		if err != nil || cs.Bind == "" || subtle.ConstantTimeCompare([]byte(digest(b.Value)), []byte(cs.Bind)) != 1 {
			return nil, false, false
		}
	}
	if !time.Unix(cs.Exp, 0).After(now.Add(-grace)) {
		return nil, false, false
	}
	return &cs, false, true
}

// essentialClaims are kept when a session's claims must be trimmed to
// fit a cookie.
var essentialClaims = map[string]bool{"oid": true, "sub": true, "tid": true, "preferred_username": true,
	"name": true, "upn": true, "email": true, "aud": true, "iss": true, "exp": true, "iat": true, "nbf": true}

// setSession seals s into the session cookie (sealSession), bound over
// HTTPS to the binding cookie it sets beside it.
func (m *Module) setSession(w http.ResponseWriter, r *http.Request, st *site, s *session) error {
	bind := ""
	if cleartext.OverTLS(r) {
		if b, err := r.Cookie(bindCookie); err == nil && s.Bind != "" && subtle.ConstantTimeCompare([]byte(digest(b.Value)), []byte(s.Bind)) == 1 {
			bind = b.Value // a renewed session keeps its binding
		} else {
			bind = randomID()
			s.Bind = digest(bind)
		}
	}
	v, err := m.sealSession(st, cookiePurpose, s)
	if err != nil {
		return err
	}
	setCookie(w, r, sessionCookie, v, time.Unix(s.Exp, 0))
	if bind != "" {
		setCookie(w, r, bindCookie, bind, time.Unix(s.Exp, 0))
	}
	return nil
}

// sealSession seals s for purpose, leaving out its largest non-essential
// claims until the sealed value fits a cookie's budget (a token sent in
// X-ZUMO-AUTH keeps the same bound).
func (m *Module) sealSession(st *site, purpose string, s *session) (string, error) {
	for {
		v, err := m.seal(st, purpose, s)
		if err != nil {
			return "", err
		}
		if len(v) <= cookieBudget {
			return v, nil
		}
		drop := -1
		for i, c := range s.Claims {
			if !essentialClaims[c[0]] && (drop < 0 || len(c[0])+len(c[1]) > len(s.Claims[drop][0])+len(s.Claims[drop][1])) {
				drop = i
			}
		}
		if drop < 0 {
			// Only essential claims and still too large: keep the ids.
			var kept [][2]string
			for _, c := range s.Claims {
				if (c[0] == "oid" || c[0] == "sub" || c[0] == "tid") && len(c[1]) < 256 {
					kept = append(kept, c)
				}
			}
			if len(kept) == len(s.Claims) {
				return "", errTooLarge
			}
			s.Claims = kept
			continue
		}
		s.Claims = append(s.Claims[:drop], s.Claims[drop+1:]...)
	}
}

type constError string

func (e constError) Error() string { return string(e) }

const errTooLarge = constError("the session does not fit in a cookie")

// nonceCookieOf returns the nonce cookie r carries: over HTTPS only the
// one named with the __Host- prefix.
func nonceCookieOf(r *http.Request) (*http.Cookie, error) {
	if cleartext.OverTLS(r) {
		return r.Cookie(nonceCookieTLS)
	}
	return r.Cookie(nonceCookie)
}

// setCookie sets one of the module's cookies (the nonce cookie under its
// __Host- name over HTTPS): HttpOnly, on the whole
// site, SameSite=None and Secure over HTTPS (the form_post answer comes
// from the login host), Lax over plain HTTP, where a browser drops
// SameSite=None. A zero expires clears the cookie.
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, expires time.Time) {
	if name == nonceCookie && cleartext.OverTLS(r) {
		name = nonceCookieTLS
	}
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if cleartext.OverTLS(r) {
		c.Secure, c.SameSite = true, http.SameSiteNoneMode
	}
	if expires.IsZero() {
		c.MaxAge = -1
	} else {
		c.Expires = expires.UTC()
	}
	http.SetCookie(w, c)
}

// flattenClaims turns a verified token's claims into (type, value)
// pairs in a stable order: an array gives one pair per element, a number
// its decimal form, an object its JSON.
func flattenClaims(c identity.UserClaims) [][2]string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out [][2]string
	for _, k := range keys {
		switch v := c[k].(type) {
		case []any:
			for _, e := range v {
				out = append(out, [2]string{k, claimString(e)})
			}
		case []string:
			for _, e := range v {
				out = append(out, [2]string{k, e})
			}
		default:
			out = append(out, [2]string{k, claimString(v)})
		}
	}
	return out
}

func claimString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case int:
		return strconv.Itoa(v)
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// claimMap is App Service's default claim mapping (the inbound map of
// Microsoft's JWT handler), applied to the claims the app sees in
// X-MS-CLIENT-PRINCIPAL and /.auth/me
// (https://learn.microsoft.com/azure/app-service/configure-authentication-user-identities#decoding-the-client-principal-header).
var claimMap = map[string]string{
	"email":       "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
	"given_name":  "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
	"family_name": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
	"sub":         "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier",
	"upn":         "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
	"unique_name": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
	"oid":         "http://schemas.microsoft.com/identity/claims/objectidentifier",
	"tid":         "http://schemas.microsoft.com/identity/claims/tenantid",
	"scp":         "http://schemas.microsoft.com/identity/claims/scope",
	"idp":         "http://schemas.microsoft.com/identity/claims/identityprovider",
	"roles":       "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
	"role":        "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
	"amr":         "http://schemas.microsoft.com/claims/authnmethodsreferences",
	"auth_time":   "http://schemas.microsoft.com/ws/2008/06/identity/claims/authenticationinstant",
}

const (
	nameType = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
	roleType = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
)

// claim is one claim as App Service renders it.
type claim struct {
	Typ string `json:"typ"`
	Val string `json:"val"`
}

// principal is the caller of one request: a session's user or a bearer
// token's user or application.
type principal struct {
	claims [][2]string
	tokens *storedTokens // nil without the token store
}

// user names the session's user for the token store's bound per user:
// its oid claim, else its sub.
func (s *session) user() string {
	var sub string
	for _, c := range s.Claims {
		switch c[0] {
		case "oid":
			return c[1]
		case "sub":
			sub = c[1]
		}
	}
	return sub
}

func (s *session) principal(t *storedTokens) *principal {
	return &principal{claims: s.Claims, tokens: t}
}

func (p *principal) get(typ string) string {
	for _, c := range p.claims {
		if c[0] == typ {
			return c[1]
		}
	}
	return ""
}

func (p *principal) mapped() []claim {
	out := make([]claim, 0, len(p.claims))
	for _, c := range p.claims {
		typ := c[0]
		if m, ok := claimMap[typ]; ok {
			typ = m
		}
		out = append(out, claim{Typ: typ, Val: c[1]})
	}
	return out
}

// id is X-MS-CLIENT-PRINCIPAL-ID: the object id, else the subject.
func (p *principal) id() string {
	if v := p.get("oid"); v != "" {
		return v
	}
	return p.get("sub")
}

// name is X-MS-CLIENT-PRINCIPAL-NAME: the user's sign-in name, or for an
// application's token its app id.
func (p *principal) name() string {
	for _, k := range []string{"preferred_username", "upn", "email", "unique_name", "name", "appid", "azp"} {
		if v := p.get(k); v != "" {
			return v
		}
	}
	return p.id()
}

// fields are the request fields that carry p to the app.
func (p *principal) fields() http.Header {
	body, _ := json.Marshal(struct {
		AuthTyp string  `json:"auth_typ"`
		Claims  []claim `json:"claims"`
		NameTyp string  `json:"name_typ"`
		RoleTyp string  `json:"role_typ"`
	}{providerName, p.mapped(), nameType, roleType})
	h := make(http.Header, 8)
	h.Set("X-MS-CLIENT-PRINCIPAL", base64.StdEncoding.EncodeToString(body))
	h.Set("X-MS-CLIENT-PRINCIPAL-IDP", providerName)
	h.Set("X-MS-CLIENT-PRINCIPAL-ID", fieldValue(p.id()))
	h.Set("X-MS-CLIENT-PRINCIPAL-NAME", fieldValue(p.name()))
	if t := p.tokens; t != nil {
		if t.IDToken != "" {
			h.Set("X-MS-TOKEN-AAD-ID-TOKEN", fieldValue(t.IDToken))
		}
		if t.AccessToken != "" {
			h.Set("X-MS-TOKEN-AAD-ACCESS-TOKEN", fieldValue(t.AccessToken))
			h.Set("X-MS-TOKEN-AAD-EXPIRES-ON", expiresOn(t.ExpiresOn))
		}
		if t.RefreshToken != "" {
			h.Set("X-MS-TOKEN-AAD-REFRESH-TOKEN", fieldValue(t.RefreshToken))
		}
	}
	return h
}

// expiresOn renders a token's expiry as App Service does
// ("2024-05-08T23:06:17.0000000Z").
func expiresOn(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.0000000Z")
}

// fieldValue keeps a value that came from a token fit for a request
// field: no control characters.
func fieldValue(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
