package graph

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// appSignIn is the part of an application's JSON that registers it for
// signing users in, in Graph's shape
// (https://learn.microsoft.com/graph/api/resources/application).
func appSignIn(app map[string]any) map[string]any {
	return map[string]any{"web": app["web"], "publicClient": app["publicClient"], "identifierUris": app["identifierUris"]}
}

// What az ad app create --web-redirect-uris --enable-id-token-issuance
// --public-client-redirect-uris sends, read back; then az ad app update
// --identifier-uris api://<appId>, and updates that keep what they do not
// name.
func TestApplicationSignInRegistration(t *testing.T) {
	e := newEnv(t)
	web := []any{"https://myapp.localhost:8443/.auth/login/aad/callback", "http://localhost:5000/cb", "http://127.0.0.1/cb"}
	app := e.must(t, admin, "POST", "/v1.0/applications", map[string]any{"displayName": "signs in",
		"web":          map[string]any{"redirectUris": web, "implicitGrantSettings": map[string]any{"enableIdTokenIssuance": true}},
		"publicClient": map[string]any{"redirectUris": []string{"http://localhost", "https://login.microsoftonline.com/common/oauth2/nativeclient"}},
	}, 201)
	id, appID := app["id"].(string), app["appId"].(string)
	want := map[string]any{
		"web": map[string]any{"homePageUrl": nil, "redirectUris": web,
			"implicitGrantSettings": map[string]any{"enableIdTokenIssuance": true, "enableAccessTokenIssuance": false}},
		"publicClient":   map[string]any{"redirectUris": []any{"http://localhost", "https://login.microsoftonline.com/common/oauth2/nativeclient"}},
		"identifierUris": []any{},
	}
	if d := cmp.Diff(want, appSignIn(app)); d != "" {
		t.Fatalf("created application (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want, appSignIn(e.must(t, admin, "GET", "/v1.0/applications/"+id, nil, 200))); d != "" {
		t.Fatalf("read back (-want +got):\n%s", d)
	}

	e.must(t, admin, "PATCH", "/v1.0/applications/"+id, map[string]any{"identifierUris": []string{"api://" + appID}}, 204)
	want["identifierUris"] = []any{"api://" + appID}
	if d := cmp.Diff(want, appSignIn(e.must(t, admin, "GET", "/v1.0/applications/"+id, nil, 200))); d != "" {
		t.Fatalf("after identifierUris (-want +got):\n%s", d)
	}
	if apps := values(t, e.must(t, admin, "GET", "/v1.0/applications"+q("identifierUris/any(s:s eq 'API://"+appID+"')"), nil, 200)); len(apps) != 1 || apps[0]["id"] != id {
		t.Fatalf("filter by identifier URI: %v", apps)
	}
	// A web object naming only the implicit grant keeps the redirect URIs.
	e.must(t, admin, "PATCH", "/v1.0/applications/"+id, map[string]any{"web": map[string]any{
		"implicitGrantSettings": map[string]any{"enableIdTokenIssuance": false, "enableAccessTokenIssuance": true}}}, 204)
	want["web"].(map[string]any)["implicitGrantSettings"] = map[string]any{"enableIdTokenIssuance": false, "enableAccessTokenIssuance": true}
	// Clearing: an empty list removes the URIs.
	e.must(t, admin, "PATCH", "/v1.0/applications/"+id, map[string]any{"publicClient": map[string]any{"redirectUris": []string{}},
		"identifierUris": []string{"api://" + appID, "api://" + strings.ToUpper(appID) + "/scope"}}, 204)
	want["publicClient"] = map[string]any{"redirectUris": []any{}}
	want["identifierUris"] = []any{"api://" + appID, "api://" + strings.ToUpper(appID) + "/scope"}
	if d := cmp.Diff(want, appSignIn(e.must(t, admin, "GET", "/v1.0/applications/"+id, nil, 200))); d != "" {
		t.Fatalf("after updates (-want +got):\n%s", d)
	}
	// A rename keeps the registration.
	e.must(t, admin, "PATCH", "/v1.0/applications/"+id, map[string]any{"displayName": "renamed"}, 204)
	if d := cmp.Diff(want, appSignIn(e.must(t, admin, "GET", "/v1.0/applications/"+id, nil, 200))); d != "" {
		t.Fatalf("after a rename (-want +got):\n%s", d)
	}
}

// Redirect URIs that would send codes somewhere unsafe, and identifier
// URIs that would claim another app's audience, are refused with a
// message naming the fault; nothing is stored.
func TestApplicationSignInRefusals(t *testing.T) {
	e := newEnv(t)
	app := e.must(t, admin, "POST", "/v1.0/applications", map[string]any{"displayName": "target",
		"web": map[string]any{"redirectUris": []string{"https://ok.localhost/cb"}}}, 201)
	id, appID := app["id"].(string), app["appId"].(string)
	other := e.must(t, admin, "POST", "/v1.0/applications", map[string]any{"displayName": "other"}, 201)["appId"].(string)
	many := make([]string, 257)
	for i := range many {
		many[i] = fmt.Sprintf("https://x.localhost/cb%d", i)
	}
	webURIs := func(uris ...string) map[string]any {
		return map[string]any{"web": map[string]any{"redirectUris": uris}}
	}
	for _, tc := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"javascript", webURIs("javascript:alert(1)"), "absolute"},
		{"javascript with slashes", webURIs("javascript://x.localhost/%0aalert(1)"), "javascript"},
		{"data", webURIs("data://text/html,x"), "data"},
		{"http elsewhere", webURIs("http://evil.example.com/cb"), "https"},
		{"userinfo", webURIs("https://user:pw@ok.localhost/cb"), "user name"},
		{"fragment", webURIs("https://ok.localhost/cb#x"), "fragment"},
		{"wildcard", webURIs("https://*.localhost/cb"), "wildcard"},
		{"relative", webURIs("/cb"), "absolute"},
		{"custom scheme on web", webURIs("myapp://cb"), "https"},
		{"no host", webURIs("https:///cb"), "host"},
		{"too long", webURIs("https://ok.localhost/" + strings.Repeat("a", 250)), "256"},
		{"too many", webURIs(many...), "at most 256"},
		{"not a list", map[string]any{"web": map[string]any{"redirectUris": "https://ok.localhost/cb"}}, "web.redirectUris"},
		{"public javascript", map[string]any{"publicClient": map[string]any{"redirectUris": []string{"javascript:alert(1)"}}}, "Redirect URI"},
		{"public userinfo", map[string]any{"publicClient": map[string]any{"redirectUris": []string{"http://a:b@localhost/"}}}, "user name"},
		{"grant not a boolean", map[string]any{"web": map[string]any{"implicitGrantSettings": map[string]any{"enableIdTokenIssuance": "yes"}}}, "implicitGrantSettings"},
		{"web property unsupported", map[string]any{"web": map[string]any{"logoutUrl": "https://ok.localhost/logout"}}, "logoutUrl"},
		{"home page", map[string]any{"web": map[string]any{"homePageUrl": "https://ok.localhost/"}}, "homePageUrl"},
		{"case variant", map[string]any{"web": map[string]any{"RedirectUris": []string{"http://evil.example.com/"}}}, "RedirectUris"},
		{"web not an object", map[string]any{"web": []string{"x"}}, "web"},
		{"another app's identifier", map[string]any{"identifierUris": []string{"api://" + other}}, "own id"},
		{"prefix of the app id", map[string]any{"identifierUris": []string{"api://" + appID + "x"}}, "own id"},
		{"https identifier", map[string]any{"identifierUris": []string{"https://graph.microsoft.com"}}, "own id"},
		{"identifier query", map[string]any{"identifierUris": []string{"api://" + appID + "?x"}}, "identifierUris"},
		{"identifier wildcard", map[string]any{"identifierUris": []string{"api://" + appID + "/*"}}, "identifierUris"},
		{"identifiers not a list", map[string]any{"identifierUris": "api://" + appID}, "identifierUris"},
	} {
		code, m := e.call(t, admin, "PATCH", "/v1.0/applications/"+id, tc.body)
		if msg := wantError(t, code, m, 400, "Request_BadRequest"); !strings.Contains(msg, tc.want) {
			t.Errorf("%s: message %q does not say %q", tc.name, msg, tc.want)
		}
	}
	want := map[string]any{
		"web": map[string]any{"homePageUrl": nil, "redirectUris": []any{"https://ok.localhost/cb"},
			"implicitGrantSettings": map[string]any{"enableIdTokenIssuance": false, "enableAccessTokenIssuance": false}},
		"publicClient": map[string]any{"redirectUris": []any{}}, "identifierUris": []any{},
	}
	if d := cmp.Diff(want, appSignIn(e.must(t, admin, "GET", "/v1.0/applications/"+id, nil, 200))); d != "" {
		t.Fatalf("refused updates changed the application (-want +got):\n%s", d)
	}
	// On create the app id is not known yet: no identifier URI can name it.
	code, m := e.call(t, admin, "POST", "/v1.0/applications", map[string]any{"displayName": "x", "identifierUris": []string{"api://" + appID}})
	wantError(t, code, m, 400, "Request_BadRequest")
	// Writing the registration needs the directory-writing role.
	rd, secret, _ := e.createForRBAC(t, admin, "reader")
	tok := e.token(t, rd, secret, graphBase+"/")
	code, m = e.call(t, tok, "PATCH", "/v1.0/applications/"+id, webURIs("https://evil.localhost/cb"))
	wantError(t, code, m, 403, "Authorization_RequestDenied")
}
