package easyauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/identity"
)

// clientLoginRequest is the client-directed sign-in's POST.
func clientLoginRequest(host, contentType, body string) *http.Request {
	r := httptest.NewRequest("POST", "https://"+host+"/.auth/login/aad", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

// accessToken is a user's access token for the test app's API.
func (h *harness) accessToken(edit func(jwt.MapClaims)) string {
	now := h.clock()
	c := jwt.MapClaims{"iss": testIssuer, "aud": "api://" + testClientID, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(),
		"oid": testOID, "sub": testOID, "appid": "spa-app", "scp": "user_impersonation", "preferred_username": "ada@contoso.test"}
	if edit != nil {
		edit(c)
	}
	return h.p.sign(c)
}

// clientLogin signs in the client-directed way and returns the answer.
func (h *harness) clientLogin(site string, s *slipway.AuthSettings, token string) (authTokenAnswer, *httptest.ResponseRecorder) {
	h.t.Helper()
	body, _ := json.Marshal(map[string]string{"access_token": token})
	res := h.do(site, s, clientLoginRequest(site+".localhost", "application/json", string(body)))
	var out authTokenAnswer
	if res.rec.Code == http.StatusOK {
		if err := json.Unmarshal(res.rec.Body.Bytes(), &out); err != nil {
			h.t.Fatalf("the sign-in answered %s: %v", res.rec.Body, err)
		}
	}
	return out, res.rec
}

func withZumo(r *http.Request, token string) *http.Request {
	r.Header.Set(zumoHeader, token)
	return r
}

// TestClientDirectedSignIn follows Microsoft's client-directed sign-in: a
// client POSTs its access token as JSON to /.auth/login/aad, gets an
// authenticationToken and a "sid:" user id, and is then the signed-in user
// wherever it sends that token in X-ZUMO-AUTH: the app (with the token
// store's access token), /.auth/me, /.auth/refresh (which answers a
// renewed token) and /.auth/logout. The sign-in sets no cookie.
func TestClientDirectedSignIn(t *testing.T) {
	h := newHarness(t)
	s := settings()
	at := h.accessToken(nil)
	out, rec := h.clientLogin("app", s, at)
	if rec.Code != http.StatusOK || out.AuthenticationToken == "" || !strings.HasPrefix(out.User.UserID, "sid:") || len(out.User.UserID) != 36 {
		t.Fatalf("client-directed sign-in: %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	if c := rec.Result().Cookies(); len(c) != 0 {
		t.Errorf("the client-directed sign-in set cookies: %v", c)
	}
	// The same user signing in again gets the same user id.
	if again, _ := h.clientLogin("app", s, h.accessToken(nil)); again.User.UserID != out.User.UserID {
		t.Errorf("user ids %q and %q for one user", again.User.UserID, out.User.UserID)
	}

	res := h.do("app", s, withZumo(get("https://app.localhost/data"), out.AuthenticationToken))
	if !res.app || res.fields.Get("X-MS-CLIENT-PRINCIPAL-NAME") != "ada@contoso.test" || res.fields.Get("X-MS-CLIENT-PRINCIPAL-ID") != testOID {
		t.Fatalf("the app got %v (went on: %v, %d)", res.fields, res.app, res.rec.Code)
	}
	if got := res.fields.Get("X-MS-TOKEN-AAD-ACCESS-TOKEN"); got != at {
		t.Errorf("the app got access token %.20q, want the one the client signed in with", got)
	}
	if p := decodePrincipal(t, res.fields.Get("X-MS-CLIENT-PRINCIPAL")); !hasClaim(p, "http://schemas.microsoft.com/identity/claims/objectidentifier", testOID) {
		t.Errorf("X-MS-CLIENT-PRINCIPAL claims: %v", p.Claims)
	}

	res = h.do("app", s, withZumo(get("https://app.localhost/.auth/me"), out.AuthenticationToken))
	var me []meEntry
	if res.rec.Code != 200 || json.Unmarshal(res.rec.Body.Bytes(), &me) != nil || len(me) != 1 || me[0].UserID != "ada@contoso.test" || me[0].AccessToken != at {
		t.Fatalf("/.auth/me with the token: %d %s", res.rec.Code, res.rec.Body)
	}

	// Refresh: the session's stored refresh token is redeemed and a new
	// authenticationToken answered, with no cookie.
	var sess session
	if err := h.m.open(&site{name: "app", s: s, clientID: testClientID}, tokenPurpose, out.AuthenticationToken, &sess); err != nil {
		t.Fatal(err)
	}
	code := h.p.issueCode("x", "")
	h.p.mu.Lock()
	rt := h.p.codes[code].tokens.RefreshToken
	h.p.mu.Unlock()
	h.m.store.put("app", sess.ID, "", identity.UserTokens{AccessToken: at, RefreshToken: rt}, h.clock(), h.clock().Add(24*time.Hour))
	h.advance(7 * time.Hour)
	res = h.do("app", s, withZumo(get("https://app.localhost/.auth/refresh"), out.AuthenticationToken))
	var renewed authTokenAnswer
	if res.rec.Code != 200 || json.Unmarshal(res.rec.Body.Bytes(), &renewed) != nil || renewed.AuthenticationToken == "" || renewed.User.UserID != out.User.UserID {
		t.Fatalf("/.auth/refresh with the token: %d %s", res.rec.Code, res.rec.Body)
	}
	if c := res.rec.Result().Cookies(); len(c) != 0 {
		t.Errorf("the refresh set cookies: %v", c)
	}
	h.advance(2 * time.Hour) // past the first token's 8 hours, within the renewed one's
	if res := h.do("app", s, withZumo(get("https://app.localhost/data"), out.AuthenticationToken)); res.app || res.rec.Code != 401 {
		t.Errorf("an expired token: %d (went on: %v), want 401", res.rec.Code, res.app)
	}
	res = h.do("app", s, withZumo(get("https://app.localhost/data"), renewed.AuthenticationToken))
	if !res.app || !strings.HasPrefix(res.fields.Get("X-MS-TOKEN-AAD-ACCESS-TOKEN"), "at2-") {
		t.Fatalf("the renewed token: %d, app token %.10q", res.rec.Code, res.fields.Get("X-MS-TOKEN-AAD-ACCESS-TOKEN"))
	}

	// Logout drops the stored tokens.
	h.do("app", s, withZumo(get("https://app.localhost/.auth/logout"), renewed.AuthenticationToken))
	if res := h.do("app", s, withZumo(get("https://app.localhost/data"), renewed.AuthenticationToken)); res.fields.Get("X-MS-TOKEN-AAD-ACCESS-TOKEN") != "" {
		t.Errorf("the tokens outlived the logout")
	}
}

// TestClientDirectedSignInRefusals: a token that is not the app's, a
// request that is not the documented JSON, and session tokens used where
// they do not belong are refused with a status and a reason, and none
// signs anyone in.
func TestClientDirectedSignInRefusals(t *testing.T) {
	h := newHarness(t)
	s := settings()
	for _, tt := range []struct {
		name, contentType, body string
		code                    int
	}{
		{"another audience", "application/json", `{"access_token":"` + h.accessToken(func(c jwt.MapClaims) { c["aud"] = "api://other" }) + `"}`, 401},
		{"untrusted key", "application/json", `{"access_token":"` + h.p.signWith(h.p.other, jwt.MapClaims{"iss": testIssuer, "aud": testClientID, "exp": time.Now().Add(time.Hour).Unix()}) + `"}`, 401},
		{"an ID token's field", "application/json", `{"id_token":"` + h.accessToken(nil) + `"}`, 400},
		{"a form", "application/x-www-form-urlencoded", "access_token=" + h.accessToken(nil), 415},
		{"no type", "", `{"access_token":"` + h.accessToken(nil) + `"}`, 415},
		{"not JSON", "application/json", `{"access_token":`, 400},
		{"too large", "application/json", `{"access_token":"` + strings.Repeat("a", maxClientLoginBody) + `"}`, 413},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := h.do("app", s, clientLoginRequest("app.localhost", tt.contentType, tt.body))
			if res.rec.Code != tt.code || strings.Contains(res.rec.Body.String(), "authenticationToken") {
				t.Fatalf("%d %s, want %d", res.rec.Code, res.rec.Body, tt.code)
			}
			if !strings.Contains(res.rec.Body.String(), `"message"`) {
				t.Errorf("no reason given: %s", res.rec.Body)
			}
		})
	}
	t.Run("policy", func(t *testing.T) {
		p := settings()
		p.IdentityProviders.AzureActiveDirectory.Validation.DefaultAuthorizationPolicy.AllowedApplications = []string{"another-app"}
		if _, rec := h.clientLogin("app", p, h.accessToken(nil)); rec.Code != 403 {
			t.Fatalf("an application the policy does not allow: %d %s", rec.Code, rec.Body)
		}
	})

	out, rec := h.clientLogin("app", s, h.accessToken(nil))
	if rec.Code != 200 {
		t.Fatalf("sign-in: %d %s", rec.Code, rec.Body)
	}
	anon := settings()
	anon.GlobalValidation.RequireAuthentication = false
	for _, tt := range []struct {
		name  string
		site  string
		s     *slipway.AuthSettings
		token string
	}{
		{"garbage", "app", s, "garbage"},
		{"garbage where anonymous is allowed", "app", anon, "garbage"},
		{"another site's token", "other", s, out.AuthenticationToken},
		{"a session cookie's value", "app", s, h.session("app", s).Value},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := h.do(tt.site, tt.s, withZumo(get("https://"+tt.site+".localhost/data"), tt.token))
			if res.app || res.rec.Code != 401 {
				t.Fatalf("%d (went on: %v), want 401", res.rec.Code, res.app)
			}
		})
	}
	// Nor does the token work as a session cookie.
	res := h.do("app", anon, get("https://app.localhost/data", &http.Cookie{Name: sessionCookie, Value: out.AuthenticationToken}))
	if !res.app || res.fields != nil {
		t.Fatalf("the authenticationToken as a cookie: %d, fields %v; want an anonymous request", res.rec.Code, res.fields)
	}
}
