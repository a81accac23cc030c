package identity

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/store"
)

// The login host is served on the front door's one port, HTTP and HTTPS
// alike: over plain HTTP a client secret came in and an access token went
// out in the clear, for anyone on the network. Azure AD's token endpoint is
// HTTPS only.
func TestAttackTokenEndpointRefusesPlainHTTP(t *testing.T) {
	e := newEnv(t)
	_, creds := e.servicePrincipal(t)
	plain := httptest.NewServer(e.svc.Handler())
	t.Cleanup(plain.Close)
	for _, path := range []string{"/" + creds.Tenant + "/oauth2/v2.0/token", "/" + creds.Tenant + "/oauth2/token"} {
		f := url.Values{"grant_type": {"client_credentials"}, "client_id": {creds.AppID}, "client_secret": {creds.Password},
			"scope": {"https://vault.azure.net/.default"}}
		code, body := post(t, plain, path, f, nil)
		if code == 200 || body["access_token"] != nil {
			t.Fatalf("%s over plain HTTP = %d, a token", path, code)
		}
		if d, _ := body["error_description"].(string); !strings.Contains(d, "HTTPS") {
			t.Errorf("%s: the refusal does not say to use HTTPS: %v", path, body)
		}
	}
}

// Apps are served beside the login host, under the same domain
// (<app>.<domain>, login.<domain>), which is no public suffix: any app can
// set a cookie with Domain=<domain> that browsers then send to the login
// host ("cookie tossing"). An attacker who planted their own SSO session
// that way signed every visitor in as the attacker, silently, to any app
// (login CSRF); a planted flow cookie made a captured sign-in form
// postable from the victim's browser. The login host's cookies carry the
// __Host- prefix, which browsers refuse to take from any other host or
// with a Domain attribute, and a cookie without it is not read.
func TestAttackSiblingHostCannotPlantLoginCookies(t *testing.T) {
	se := newSigninEnv(t)
	attacker := se.browser(t)
	resp, page := browse(t, attacker, se.authorizeURL(nil))
	if resp.StatusCode != 200 {
		t.Fatalf("authorize: %d %s", resp.StatusCode, page)
	}
	checkHostOnly := func(resp *http.Response) {
		t.Helper()
		for _, ck := range resp.Cookies() {
			if !strings.HasPrefix(ck.Name, "__Host-") || !ck.Secure || ck.Path != "/" || ck.Domain != "" {
				t.Errorf("the login host sets cookie %q (Secure %v, Path %q, Domain %q): another host under the domain can set one of that name", ck.Name, ck.Secure, ck.Path, ck.Domain)
			}
		}
	}
	checkHostOnly(resp)
	resp, _ = se.submit(t, attacker, page, testUPN, testPassword)
	checkHostOnly(resp)
	var sso string
	for _, ck := range resp.Cookies() {
		if strings.Contains(ck.Name, "sso") && ck.Value != "" {
			sso = ck.Value
		}
	}
	if sso == "" {
		t.Fatalf("no SSO cookie after signing in: %v", resp.Header["Set-Cookie"])
	}
	// The victim's browser, with the attacker's session planted by a
	// sibling host under every name such a host can set.
	victim := se.browser(t)
	req, _ := http.NewRequest(http.MethodGet, se.authorizeURL(nil), nil)
	for _, name := range []string{"slipway_sso", "__Secure-slipway_sso", "__host-slipway_sso"} {
		req.AddCookie(&http.Cookie{Name: name, Value: sso})
	}
	resp, err := victim.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Location") != "" {
		t.Fatalf("a planted SSO cookie signed the victim in as the attacker: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// Authorization codes are held ten minutes, at most maxCodes in all. A
// user with a live SSO session gets a code for every GET of the
// authorization endpoint, without a password: one signed-in user could
// fill the store and stop every sign-in of every tenant
// (temporarily_unavailable). Each user holds at most maxCodesPerUser; a
// new one drops that user's oldest.
func TestAttackOneUserCannotExhaustCodes(t *testing.T) {
	cs := newCodeStore()
	now := time.Now()
	grantOf := func(oid string) *codeGrant {
		return &codeGrant{grant: grant{User: store.User{ObjectID: oid}}, Expires: now.Add(codeLifetime)}
	}
	var first string
	for i := range maxCodes + 10 {
		code, err := cs.add(grantOf("attacker"), now)
		if err != nil {
			t.Fatalf("the attacker's code %d: %v", i, err)
		}
		if i == 0 {
			first = code
		}
	}
	if _, err := cs.add(grantOf("victim"), now); err != nil {
		t.Fatalf("one user's codes stop everyone's sign-in: %v", err)
	}
	if _, err := cs.take(first, now); err == nil {
		t.Errorf("the attacker's oldest code still redeems")
	}
}
