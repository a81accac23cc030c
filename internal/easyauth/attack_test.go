package easyauth

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/identity"
)

// A callback the module must refuse leaves no session and reaches
// nothing else.
func refusedCallback(t *testing.T, res result, want int) {
	t.Helper()
	if res.rec.Code != want {
		t.Fatalf("callback: %d, want %d: %s", res.rec.Code, want, res.rec.Body)
	}
	if c := cookieOf(res.rec, sessionCookie); c != nil && c.Value != "" {
		t.Fatalf("a refused callback set a session cookie")
	}
}

func TestAttackState(t *testing.T) {
	h := newHarness(t)
	s := settings()
	host := "app.localhost"
	form := func(st started, state string) url.Values {
		idt := h.p.sign(h.p.userClaims(st.nonce))
		return url.Values{"state": {state}, "code": {h.p.issueCode(st.redirectURI, idt)}, "id_token": {idt}}
	}
	t.Run("forged", func(t *testing.T) {
		// A state the attacker wrote: well-formed, live, bound to a
		// Nonce cookie of their choosing, but not sealed by the site.
		st := h.start("app", s, host, "/")
		j, _ := json.Marshal(loginState{ID: st.nonce + "x", Bind: digest("mine"), Redirect: "/", Exp: h.clock().Add(time.Minute).Unix()})
		forged := base64.RawURLEncoding.EncodeToString(j)
		idt := h.p.sign(h.p.userClaims(st.nonce + "x"))
		f := url.Values{"state": {forged}, "id_token": {idt}}
		refusedCallback(t, h.do("app", s, callbackRequest(host, f, &http.Cookie{Name: nonceCookie, Value: "mine"})), 401)
		refusedCallback(t, h.do("app", s, callbackRequest(host, form(st, "forged-state"), st.nonceCookie)), 401)
	})
	t.Run("tampered", func(t *testing.T) {
		st := h.start("app", s, host, "/")
		b := []byte(st.state)
		b[len(b)/2] ^= 1
		if b[len(b)/2] == '-' || b[len(b)/2] == '_' { // stay in the alphabet
			b[len(b)/2] = 'A'
		}
		refusedCallback(t, h.do("app", s, callbackRequest(host, form(st, string(b)), st.nonceCookie)), 401)
	})
	t.Run("replayed", func(t *testing.T) {
		st := h.start("app", s, host, "/")
		idt := h.p.sign(h.p.userClaims(st.nonce))
		f := url.Values{"state": {st.state}, "id_token": {idt}}
		if res := h.do("app", s, callbackRequest(host, f, st.nonceCookie)); res.rec.Code != 302 {
			t.Fatalf("first use: %d %s", res.rec.Code, res.rec.Body)
		}
		refusedCallback(t, h.do("app", s, callbackRequest(host, f, st.nonceCookie)), 401)
	})
	t.Run("expired", func(t *testing.T) {
		st := h.start("app", s, host, "/")
		f := form(st, st.state)
		h.advance(6 * time.Minute) // nonceExpirationInterval 00:05:00
		defer h.advance(-6 * time.Minute)
		refusedCallback(t, h.do("app", s, callbackRequest(host, f, st.nonceCookie)), 401)
	})
	t.Run("another site's", func(t *testing.T) {
		st := h.start("other", s, "other.localhost", "/")
		refusedCallback(t, h.do("app", s, callbackRequest(host, form(st, st.state), st.nonceCookie)), 401)
	})
	t.Run("login CSRF: the attacker's answer posted from the victim's browser", func(t *testing.T) {
		// The attacker starts a sign-in in their own browser and has the
		// victim's browser post the answer: the victim has no Nonce
		// cookie of that sign-in (or one of their own).
		st := h.start("app", s, host, "/")
		victim := h.start("app", s, host, "/")
		refusedCallback(t, h.do("app", s, callbackRequest(host, form(st, st.state))), 401)
		refusedCallback(t, h.do("app", s, callbackRequest(host, form(st, st.state), victim.nonceCookie)), 401)
	})
	t.Run("GET", func(t *testing.T) {
		st := h.start("app", s, host, "/")
		r := get("https://"+host+"/.auth/login/aad/callback?"+form(st, st.state).Encode(), st.nonceCookie)
		refusedCallback(t, h.do("app", s, r), 405)
	})
}

func TestAttackIDToken(t *testing.T) {
	h := newHarness(t)
	s := settings()
	host := "app.localhost"
	tests := []struct {
		name string
		edit func(c jwt.MapClaims)
		key  bool // signed with a key the provider does not trust
	}{
		{name: "wrong nonce", edit: func(c jwt.MapClaims) { c["nonce"] = "another" }},
		{name: "no nonce", edit: func(c jwt.MapClaims) { delete(c, "nonce") }},
		{name: "wrong audience", edit: func(c jwt.MapClaims) { c["aud"] = "another-app" }},
		{name: "wrong issuer", edit: func(c jwt.MapClaims) { c["iss"] = "https://evil.example/v2.0" }},
		{name: "expired", edit: func(c jwt.MapClaims) { c["exp"] = h.clock().Add(-time.Minute).Unix() }},
		{name: "untrusted key", key: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := h.start("app", s, host, "/")
			c := h.p.userClaims(st.nonce)
			if tt.edit != nil {
				tt.edit(c)
			}
			idt := h.p.sign(c)
			if tt.key {
				idt = h.p.signWith(h.p.other, c)
			}
			f := url.Values{"state": {st.state}, "code": {h.p.issueCode(st.redirectURI, idt)}, "id_token": {idt}}
			refusedCallback(t, h.do("app", s, callbackRequest(host, f, st.nonceCookie)), 401)
			if h.p.redeemed != 0 {
				t.Errorf("the code was redeemed for a refused ID token")
			}
		})
	}
	t.Run("no ID token", func(t *testing.T) {
		st := h.start("app", s, host, "/")
		refusedCallback(t, h.do("app", s, callbackRequest(host, url.Values{"state": {st.state}, "code": {"x"}}, st.nonceCookie)), 401)
	})
}

func TestAttackOpenRedirect(t *testing.T) {
	h := newHarness(t)
	s := settings()
	s.Login.AllowedExternalRedirectURLs = []string{"https://ok.example.com/cb", "https://spa.example.com"}
	tests := []struct {
		target string
		ok     bool
	}{
		{"/after", true},
		{"/after?x=1&y=//evil.com", true},
		{"/", true},
		{"https://app.localhost/page", true},
		{"https://ok.example.com/cb", true},
		{"https://ok.example.com/cb/deeper?q=1", true},
		{"https://spa.example.com/anything", true},
		{"https://evil.com/", false},
		{"http://evil.com", false},
		{"//evil.com", false},
		{"//evil.com/after", false},
		{"/\\evil.com", false},
		{"\\\\evil.com", false},
		{"/%2Fevil.com", false},
		{"/%2f%2fevil.com", false},
		{"%2F%2Fevil.com", false},
		{"/%5Cevil.com", false},
		{"/\t/evil.com", false},
		{"/\n/evil.com", false},
		{" //evil.com", false},
		{"https:evil.com", false},
		{"https:/evil.com", false},
		{"javascript:alert(1)", false},
		{"data:text/html,x", false},
		{"http://app.localhost/page", false}, // a downgrade from HTTPS
		{"https://app.localhost.evil.com/", false},
		{"https://ok.example.com.evil.com/cb", false},
		{"https://ok.example.com@evil.com/cb", false},
		{"https://evil.com@ok.example.com/cb", false}, // userinfo
		{"https://ok.example.com/cbx", false},
		{"https://ok.example.com/other", false},
		{"http://ok.example.com/cb", false},
		{strings.Repeat("/a", 2000), false},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			login := h.do("app", s, get("https://app.localhost/.auth/login/aad?post_login_redirect_uri="+url.QueryEscape(tt.target)))
			if got := login.rec.Code == 302; got != tt.ok {
				t.Errorf("login: %d (Location %q), want allowed=%v", login.rec.Code, login.rec.Header().Get("Location"), tt.ok)
			}
			out := h.do("app", s, get("https://app.localhost/.auth/logout?post_logout_redirect_uri="+url.QueryEscape(tt.target)))
			if got := out.rec.Code == 302; got != tt.ok {
				t.Errorf("logout: %d (Location %q), want allowed=%v", out.rec.Code, out.rec.Header().Get("Location"), tt.ok)
			}
		})
	}
	t.Run("the callback checks again", func(t *testing.T) {
		st := h.start("app", s, "app.localhost", "https://ok.example.com/cb")
		s2 := settings() // the allowed URLs were removed meanwhile
		idt := h.p.sign(h.p.userClaims(st.nonce))
		res := h.do("app", s2, callbackRequest("app.localhost", url.Values{"state": {st.state}, "id_token": {idt}}, st.nonceCookie))
		if res.rec.Code != 302 || res.rec.Header().Get("Location") != "/.auth/login/done" {
			t.Errorf("callback: %d %q", res.rec.Code, res.rec.Header().Get("Location"))
		}
	})
}

func TestAttackSessionCookie(t *testing.T) {
	h := newHarness(t)
	s := settings()
	s.GlobalValidation.UnauthenticatedClientAction = "Return401"
	c := h.session("app", s)
	page := func(site string, c *http.Cookie) result {
		return h.do(site, s, get("https://"+site+".localhost/page", c))
	}
	if res := page("app", c); !res.app || res.fields == nil {
		t.Fatalf("the session does not pass: %d", res.rec.Code)
	}
	t.Run("another site's cookie", func(t *testing.T) {
		if res := page("other", c); res.app || res.rec.Code != 401 {
			t.Errorf("app's cookie passes on other: %d", res.rec.Code)
		}
	})
	t.Run("another registration's cookie", func(t *testing.T) {
		s2 := settings()
		s2.GlobalValidation.UnauthenticatedClientAction = "Return401"
		s2.IdentityProviders.AzureActiveDirectory.Registration.ClientID = "another-client"
		if res := h.do("app", s2, get("https://app.localhost/page", c)); res.app {
			t.Errorf("a cookie of the old registration passes")
		}
	})
	t.Run("the cookie of a deleted site of the same name", func(t *testing.T) {
		// The site was deleted and another made with its name and the
		// same registration (a tenant may name any client id): the old
		// site's sessions are not the new one's.
		s2 := settings()
		s2.GlobalValidation.UnauthenticatedClientAction = "Return401"
		s2.Instance = "re-created"
		if res := h.do("app", s2, get("https://app.localhost/page", c)); res.app {
			t.Errorf("a cookie of the deleted site passes on the new one")
		}
	})
	t.Run("tampered", func(t *testing.T) {
		b := []byte(c.Value)
		for _, i := range []int{0, len(b) / 2, len(b) - 1} {
			t2 := append([]byte(nil), b...)
			if t2[i] == 'A' {
				t2[i] = 'B'
			} else {
				t2[i] = 'A'
			}
			if res := page("app", &http.Cookie{Name: sessionCookie, Value: string(t2)}); res.app {
				t.Errorf("a cookie changed at %d passes", i)
			}
		}
	})
	t.Run("forged", func(t *testing.T) {
		for _, v := range []string{"", "x", `{"i":"a","e":9999999999,"c":[["oid","x"]]}`, strings.Repeat("A", 100)} {
			if res := page("app", &http.Cookie{Name: sessionCookie, Value: v}); res.app {
				t.Errorf("forged cookie %q passes", v)
			}
		}
	})
	t.Run("oversized", func(t *testing.T) {
		if res := page("app", &http.Cookie{Name: sessionCookie, Value: c.Value + strings.Repeat("A", 5000)}); res.app {
			t.Errorf("an oversized cookie passes")
		}
	})
	t.Run("expired", func(t *testing.T) {
		h.advance(8*time.Hour + time.Second)
		defer h.advance(-(8*time.Hour + time.Second))
		if res := page("app", c); res.app {
			t.Errorf("a session past its 8 hours passes")
		}
	})
	t.Run("a state is not a session", func(t *testing.T) {
		st := h.start("app", s, "app.localhost", "/")
		if res := page("app", &http.Cookie{Name: sessionCookie, Value: st.state}); res.app {
			t.Errorf("a sealed login state passes as a session")
		}
	})
}

// A sign-in whose ID token has many large claims still gets a cookie a
// browser keeps (under 4 KB), with the user's ids.
func TestSessionCookieFits(t *testing.T) {
	h := newHarness(t)
	s := settings()
	st := h.start("app", s, "app.localhost", "/")
	c := h.p.userClaims(st.nonce)
	groups := make([]string, 200)
	for i := range groups {
		groups[i] = "group-00000000-0000-0000-0000-" + strings.Repeat("0", 12)
	}
	c["groups"] = groups
	c["big"] = strings.Repeat("x", 3000)
	idt := h.p.sign(c)
	res := h.do("app", s, callbackRequest("app.localhost", url.Values{"state": {st.state}, "id_token": {idt}}, st.nonceCookie))
	ck := cookieOf(res.rec, sessionCookie)
	if res.rec.Code != 302 || ck == nil {
		t.Fatalf("callback: %d %s", res.rec.Code, res.rec.Body)
	}
	if n := len(ck.String()); n > 4096 {
		t.Fatalf("Set-Cookie is %d bytes", n)
	}
	page := h.do("app", s, get("https://app.localhost/page", ck))
	if page.fields.Get("X-MS-CLIENT-PRINCIPAL-ID") != testOID || page.fields.Get("X-MS-CLIENT-PRINCIPAL-NAME") != "ada@contoso.test" {
		t.Errorf("trimmed session lost the user: %v", page.fields)
	}
}

func TestAttackOversizedCallback(t *testing.T) {
	h := newHarness(t)
	s := settings()
	st := h.start("app", s, "app.localhost", "/")
	f := url.Values{"state": {st.state}, "id_token": {strings.Repeat("a", maxCallbackBody)}}
	refusedCallback(t, h.do("app", s, callbackRequest("app.localhost", f, st.nonceCookie)), http.StatusRequestEntityTooLarge)
	r := callbackRequest("app.localhost", url.Values{"state": {st.state}}, st.nonceCookie)
	r.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	refusedCallback(t, h.do("app", s, r), http.StatusUnsupportedMediaType)
}

// The token store is bounded per site and in all, dropping the oldest.
func TestTokenStoreBounded(t *testing.T) {
	h := newHarness(t)
	h.m.cfg.MaxSessionsPerSite = 3
	h.m.store = newTokenStore(5, 3)
	s := settings()
	var first *http.Cookie
	for i := range 5 {
		c := h.session("app", s)
		if i == 0 {
			first = c
		}
		h.advance(time.Second)
	}
	if n := h.m.store.len(); n != 3 {
		t.Errorf("site holds %d sessions' tokens, want 3", n)
	}
	for range 4 {
		h.session("other", s)
		h.advance(time.Second)
	}
	if n := h.m.store.len(); n != 5 {
		t.Errorf("store holds %d, want 5", n)
	}
	// The first session is still signed in, without its tokens.
	res := h.do("app", s, get("https://app.localhost/page", first))
	if res.fields.Get("X-MS-CLIENT-PRINCIPAL-ID") != testOID || res.fields.Get("X-MS-TOKEN-AAD-ID-TOKEN") != "" {
		t.Errorf("evicted session: %v", res.fields)
	}
}

// Login states used are bounded too: a flood is refused, not remembered
// without end.
func TestUsedStatesBounded(t *testing.T) {
	u := newUsedStates(2)
	now := time.Unix(1000, 0)
	if !u.use("a", now.Add(time.Minute), now) || !u.use("b", now.Add(time.Minute), now) {
		t.Fatal("fresh states refused")
	}
	if u.use("c", now.Add(time.Minute), now) {
		t.Error("a third live state accepted beyond the bound")
	}
	if !u.use("c", now.Add(3*time.Minute), now.Add(2*time.Minute)) {
		t.Error("expired states not pruned")
	}
	if u.use("c", now.Add(3*time.Minute), now.Add(2*time.Minute)) {
		t.Error("a state used twice")
	}
}

// Answers whose ID token is refused are not remembered as used states: a
// client cannot fill the set (and so refuse everyone's sign-in) with
// states it starts itself.
func TestAttackUsedStatesFlood(t *testing.T) {
	h := newHarness(t)
	h.m.used = newUsedStates(2)
	s := settings()
	for range 3 {
		st := h.start("app", s, "app.localhost", "/")
		f := url.Values{"state": {st.state}, "id_token": {"not-a-token"}}
		refusedCallback(t, h.do("app", s, callbackRequest("app.localhost", f, st.nonceCookie)), 401)
	}
	if rec := h.signIn("app", s, "/"); rec.Code != 302 {
		t.Fatalf("a real sign-in after a flood: %d %s", rec.Code, rec.Body)
	}
}

// The apps are served side by side under the platform's domain, which is
// no public suffix: an attacker's app can set a cookie with
// Domain=<domain> that browsers send to every other app (cookie
// tossing). An attacker who signed in to the victim app themselves
// planted their session cookie on its visitors, who then used the app as
// the attacker; or planted the Nonce cookie of a sign-in they started and
// posted their captured sign-in answer from the victim's browser. Either
// way the victim's data went into the attacker's account (login CSRF).
// The planted cookies must be worthless: over HTTPS the session needs
// its binding cookie and the nonce cookie its __Host- name, which no
// other host can set.
func TestAttackPlantedCookiesFromSiblingApp(t *testing.T) {
	h := newHarness(t)
	s := settings()
	s.GlobalValidation.UnauthenticatedClientAction = "Return401"
	host := "victim.localhost"
	// What the sign-in sets over HTTPS: only the session cookie may be
	// one a sibling could set under the same name; it is useless alone.
	rec := h.signIn("victim", s, "/after")
	for _, c := range rec.Result().Cookies() {
		if c.Name != sessionCookie && (!strings.HasPrefix(c.Name, "__Host-") || !c.Secure || c.Path != "/" || c.Domain != "") {
			t.Errorf("the callback sets cookie %q that another host under the domain can set", c.Name)
		}
	}
	attackerSession := cookieOf(rec, sessionCookie)
	if attackerSession == nil {
		t.Fatalf("no session: %d %s", rec.Code, rec.Body)
	}
	t.Run("planted session", func(t *testing.T) {
		r := get("https://"+host+"/page", &http.Cookie{Name: sessionCookie, Value: attackerSession.Value})
		r.AddCookie(&http.Cookie{Name: "__Secure-AppServiceAuthBind", Value: "x"})
		if res, _ := authenticate(h, "victim", s, r); res.app || res.fields != nil {
			t.Fatalf("a planted session signs the victim in as the attacker: %v", res.fields)
		}
		r = get("https://"+host+"/.auth/me", &http.Cookie{Name: sessionCookie, Value: attackerSession.Value})
		if res, _ := authenticate(h, "victim", s, r); res.rec.Code != 401 {
			t.Fatalf("/.auth/me with a planted session: %d", res.rec.Code)
		}
	})
	t.Run("planted nonce", func(t *testing.T) {
		// The attacker starts a sign-in, signs in at the provider, and
		// keeps the form_post answer; the victim's browser posts it
		// with the attacker's Nonce cookie planted under every name a
		// sibling host can set.
		st := h.start("victim", s, host, "/")
		idt := h.p.sign(h.p.userClaims(st.nonce))
		f := url.Values{"state": {st.state}, "id_token": {idt}}
		r := callbackRequest(host, f)
		for _, name := range []string{"Nonce", "__Secure-Nonce", "__host-Nonce"} {
			r.AddCookie(&http.Cookie{Name: name, Value: st.nonceCookie.Value})
		}
		res, _ := authenticate(h, "victim", s, r)
		refusedCallback(t, res, 401)
	})
}

// authenticate runs the module without the harness's browser (no binding
// cookie added).
func authenticate(h *harness, site string, s *slipway.AuthSettings, r *http.Request) (result, bool) {
	rec := httptest.NewRecorder()
	f, done := h.m.Authenticate(rec, r, site, s)
	return result{rec: rec, fields: f, app: !done}, done
}

// When the whole token store is full, room is made in the site that holds
// most, not by dropping the oldest tokens of any site: a tenant signing
// its own users in on many sites cannot push another site's users'
// tokens out.
func TestAttackTokenStoreFullEvictsTheLargestSite(t *testing.T) {
	s := newTokenStore(6, 6)
	now := time.Unix(1000, 0)
	later := now.Add(time.Hour)
	s.put("victim", "v1", "", identity.UserTokens{IDToken: "v1"}, now, later)
	for i := range 5 {
		s.put("attacker", fmt.Sprint("a", i), "", identity.UserTokens{}, now.Add(time.Duration(i+1)*time.Second), later)
	}
	s.put("attacker", "a5", "", identity.UserTokens{}, now.Add(10*time.Second), later)
	if s.get("victim", "v1", now) == nil {
		t.Fatal("the victim site's oldest tokens were dropped to make room for the attacker's")
	}
	if n := s.len(); n != 6 {
		t.Fatalf("the store holds %d, want 6", n)
	}
}

// TestAttackPlantedSessionOverPlainHTTP: the binding cookie protects a
// session only over HTTPS. A site whose auth settings require HTTPS
// (httpSettings.requireHttps, the default) may still be reached over
// plain HTTP (the site's httpsOnly is its own setting, off by default),
// and there the session cookie was taken without its binding: an
// attacker's session, tossed onto the visitors by a sibling app
// (Domain=<domain>, not Secure), signed them in as the attacker at
// http://victim... . No browser sends a session made over HTTPS (a Secure
// cookie) over HTTP, and such a site makes none over HTTP (its /.auth
// endpoints move to HTTPS), so the cookie is not taken there.
func TestAttackPlantedSessionOverPlainHTTP(t *testing.T) {
	h := newHarness(t)
	s := settings()
	s.GlobalValidation.UnauthenticatedClientAction = "Return401"
	attackerSession := cookieOf(h.signIn("victim", s, "/after"), sessionCookie)
	if attackerSession == nil {
		t.Fatal("no session")
	}
	for _, path := range []string{"/page", "/.auth/me", "/.auth/refresh"} {
		r := get("http://victim.localhost"+path, &http.Cookie{Name: sessionCookie, Value: attackerSession.Value})
		res, _ := authenticate(h, "victim", s, r)
		if res.app || res.fields != nil || res.rec.Code == http.StatusOK {
			t.Errorf("%s over HTTP with a planted session: %d, the app got %v", path, res.rec.Code, res.fields)
		}
	}
	// With requireHttps false the site takes HTTP as it is, planted
	// cookies included (documented: session.go).
	s.HTTPSettings.RequireHTTPS = new(bool)
	r := get("http://victim.localhost/page", &http.Cookie{Name: sessionCookie, Value: attackerSession.Value})
	if res, _ := authenticate(h, "victim", s, r); !res.app || res.fields == nil {
		t.Errorf("requireHttps false: a session over HTTP is refused: %d", res.rec.Code)
	}
}

// TestAttackTokenStoreOneUserCannotFlushASite: one access token opens as
// many client-directed sessions as its holder posts, each with its own
// stored tokens; without a bound per user, one user (or one stolen
// token) could fill the site's share of the store and push every other
// user's stored tokens out. Each user keeps at most
// maxTokenSessionsPerUser sessions' tokens on a site, dropping their own
// oldest first.
func TestAttackTokenStoreOneUserCannotFlushASite(t *testing.T) {
	s := newTokenStore(1000, 2*maxTokenSessionsPerUser)
	now := time.Unix(1000, 0)
	later := now.Add(time.Hour)
	s.put("app", "victim", "victim-oid", identity.UserTokens{IDToken: "v"}, now, later)
	for i := range 3 * maxTokenSessionsPerUser {
		s.put("app", fmt.Sprint("a", i), "attacker-oid", identity.UserTokens{}, now.Add(time.Duration(i+1)*time.Second), later)
	}
	if s.get("app", "victim", now) == nil {
		t.Fatal("one user's sessions pushed another user's stored tokens out of the site")
	}
	if n := s.len(); n != maxTokenSessionsPerUser+1 {
		t.Errorf("the store holds %d sessions' tokens, want the attacker's %d and the victim's", n, maxTokenSessionsPerUser)
	}
	if s.get("app", fmt.Sprint("a", 3*maxTokenSessionsPerUser-1), now) == nil || s.get("app", "a0", now) != nil {
		t.Error("the user's newest session should keep its tokens and the oldest lose them")
	}
	// The same user on another site is another count.
	s.put("other", "o1", "attacker-oid", identity.UserTokens{}, now, later)
	if s.get("other", "o1", now) == nil {
		t.Error("the user's session on another site lost its tokens")
	}
}
