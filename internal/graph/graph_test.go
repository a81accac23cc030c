package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/identity"
	"github.com/slipway-dev/slipway/internal/store"
)

const admin = "admin-token-0123456789abcdef"

// env is a Graph handler over a real store and token service, served
// over TLS on 127.0.0.1.
type env struct {
	st     *store.Store
	svc    *identity.Service
	h      *Handler
	srv    *httptest.Server
	tenant string
	mu     sync.Mutex
	owners map[string]bool // principals MayWrite admits
	logs   lockedBuffer    // what the handler logged
}

// lockedBuffer is a bytes.Buffer safe for the handler's concurrent logging.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const graphBase = "https://graph.localhost:8443"

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := store.Open(t.Context(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	_, tenant, err := st.Identity(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := identity.New(t.Context(), identity.Config{Store: st, TenantID: tenant,
		Resources: []string{graphBase + "/", "https://management.localhost:8443/"}})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, svc: svc, tenant: tenant, owners: map[string]bool{}}
	e.h, err = New(Config{Store: st, Tokens: svc, TenantID: tenant, BaseURL: graphBase, AdminToken: admin,
		Logger: slog.New(slog.NewTextHandler(&e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MayWrite: func(_ context.Context, oid string) (bool, error) {
			e.mu.Lock()
			defer e.mu.Unlock()
			return e.owners[oid], nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewTLSServer(e.h)
	t.Cleanup(e.srv.Close)
	return e
}

// call sends a request with the bearer token and returns the status and
// decoded JSON answer (nil for an empty body).
func (e *env) call(t *testing.T, token, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequestWithContext(t.Context(), method, e.srv.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("client-request-id", "c0ffee00-0000-4000-8000-000000000001")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if len(b) == 0 {
		return resp.StatusCode, nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %q", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

func (e *env) must(t *testing.T, token, method, path string, body any, want int) map[string]any {
	t.Helper()
	code, m := e.call(t, token, method, path, body)
	if code != want {
		t.Fatalf("%s %s = %d %v, want %d", method, path, code, m, want)
	}
	return m
}

// wantError checks Graph's error shape.
func wantError(t *testing.T, code int, m map[string]any, wantStatus int, wantCode string) string {
	t.Helper()
	if code != wantStatus {
		t.Fatalf("status %d (%v), want %d %s", code, m, wantStatus, wantCode)
	}
	e, _ := m["error"].(map[string]any)
	inner, _ := e["innerError"].(map[string]any)
	if e["code"] != wantCode || e["message"] == "" || inner["request-id"] == "" || inner["date"] == "" ||
		inner["client-request-id"] != "c0ffee00-0000-4000-8000-000000000001" {
		t.Fatalf("error = %v, want code %s with message and innerError", m, wantCode)
	}
	msg, _ := e["message"].(string)
	return msg
}

func q(filter string) string { return "?$filter=" + url.QueryEscape(filter) }

func values(t *testing.T, m map[string]any) []map[string]any {
	t.Helper()
	v, ok := m["value"].([]any)
	if !ok {
		t.Fatalf("no value array in %v", m)
	}
	out := make([]map[string]any, len(v))
	for i, x := range v {
		out[i] = x.(map[string]any)
	}
	return out
}

// token signs in with the app id and secret through the real token
// endpoint and returns a token for the audience.
func (e *env) token(t *testing.T, appID, secret, audience string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {appID}, "client_secret": {secret}, "scope": {audience + ".default"}}
	req := httptest.NewRequest("POST", "https://login.localhost:8443/"+e.tenant+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	e.svc.Handler().ServeHTTP(rec, req)
	var out struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(rec.Body.Bytes(), &out)
	if rec.Code != 200 || out.AccessToken == "" {
		t.Fatalf("token for %s: %d %s", appID, rec.Code, rec.Body)
	}
	return out.AccessToken
}

// createForRBAC replays what `az ad sp create-for-rbac --name <name>`
// sends to Graph (role module custom.py) and returns the app id, the
// password and the service principal's object id.
func (e *env) createForRBAC(t *testing.T, token, name string) (appID, password, spID string) {
	t.Helper()
	if sps := values(t, e.must(t, token, "GET", "/v1.0/servicePrincipals"+q("displayName eq '"+strings.ReplaceAll(name, "'", "''")+"'"), nil, 200)); len(sps) != 0 {
		t.Fatalf("service principal %q exists: %v", name, sps)
	}
	if apps := values(t, e.must(t, token, "GET", "/v1.0/applications"+q("startswith(displayName,'"+strings.ReplaceAll(name, "'", "''")+"')"), nil, 200)); len(apps) != 0 {
		t.Fatalf("application %q exists: %v", name, apps)
	}
	app := e.must(t, token, "POST", "/v1.0/applications", map[string]any{"displayName": name, "keyCredentials": []any{}}, 201)
	if creds, _ := app["passwordCredentials"].([]any); creds == nil || len(creds) != 0 {
		t.Fatalf("new application: %v", app)
	}
	start := time.Now().UTC()
	pw := e.must(t, token, "POST", "/v1.0/applications/"+app["id"].(string)+"/addPassword", map[string]any{"passwordCredential": map[string]any{
		"displayName": "rbac", "startDateTime": start.Format(timeFormat), "endDateTime": start.AddDate(1, 0, 0).Format(timeFormat)}}, 200)
	secret, _ := pw["secretText"].(string)
	if len(secret) != 40 || pw["hint"] != secret[:3] || pw["displayName"] != "rbac" {
		t.Fatalf("addPassword = %v", pw)
	}
	sp := e.must(t, token, "POST", "/v1.0/servicePrincipals", map[string]any{"appId": app["appId"], "accountEnabled": true}, 201)
	if sp["appId"] != app["appId"] || sp["id"] == app["id"] || sp["servicePrincipalType"] != "Application" || sp["appOwnerOrganizationId"] != e.tenant {
		t.Fatalf("service principal = %v (application %v)", sp, app)
	}
	return app["appId"].(string), secret, sp["id"].(string)
}

func TestCreateForRBACSignsIn(t *testing.T) {
	e := newEnv(t)
	appID, secret, spID := e.createForRBAC(t, admin, "deployer")
	// The application's password signs the service principal in.
	tok := e.token(t, appID, secret, graphBase+"/")
	claims, err := e.svc.Verify(t.Context(), tok, []string{graphBase + "/"})
	if err != nil || claims.ObjectID != spID {
		t.Fatalf("token claims = %+v, %v; want oid %s", claims, err, spID)
	}
	// The secret is stored only as a hash: nowhere in any answer.
	for _, p := range []string{"/v1.0/applications", "/v1.0/servicePrincipals", "/v1.0/servicePrincipals/" + spID} {
		_, m := e.call(t, admin, "GET", p, nil)
		if b, _ := json.Marshal(m); bytes.Contains(b, []byte(secret)) {
			t.Fatalf("%s shows the secret", p)
		}
	}
	// A second service principal for the same app is Graph's conflict.
	code, m := e.call(t, admin, "POST", "/v1.0/servicePrincipals", map[string]any{"appId": appID, "accountEnabled": true})
	wantError(t, code, m, 409, "Request_MultipleObjectsWithSameKeyValue")
	// A service principal of no application.
	code, m = e.call(t, admin, "POST", "/v1.0/servicePrincipals", map[string]any{"appId": "00000000-0000-4000-8000-000000000000"})
	if msg := wantError(t, code, m, 400, "Request_BadRequest"); !strings.Contains(msg, "does not reference a valid application") {
		t.Fatalf("message %q", msg)
	}
}

func TestFilters(t *testing.T) {
	e := newEnv(t)
	appID, _, spID := e.createForRBAC(t, admin, "O'Brien app")
	e.createForRBAC(t, admin, "other")
	for _, tc := range []struct {
		coll, filter string
		want         int
	}{
		{"servicePrincipals", "servicePrincipalNames/any(c:c eq '" + appID + "')", 1},
		{"servicePrincipals", "servicePrincipalNames/any(x:x eq '" + strings.ToUpper(appID) + "')", 1},
		{"servicePrincipals", "appId eq '" + appID + "'", 1},
		{"servicePrincipals", "displayName eq 'o''brien APP'", 1},
		{"servicePrincipals", "startswith(displayName,'O''B') and appId eq '" + appID + "'", 1},
		{"servicePrincipals", "startswith(displayName,'O''B') and appId eq 'x'", 0},
		{"servicePrincipals", "id eq '" + spID + "'", 1},
		{"servicePrincipals", "startswith(displayName,'OTH')", 1},
		{"servicePrincipals", "startswith(displayName,'otherwise')", 0},
		{"servicePrincipals", "servicePrincipalType eq 'Application'", 2},
		{"servicePrincipals", "displayName eq 'x and y'", 0},
		{"applications", "appId eq '" + appID + "'", 1},
		{"applications", "identifierUris/any(s:s eq 'api://x')", 0},
		{"applications", "startswith(displayName,'')", 2},
		{"users", "userPrincipalName eq 'a@b.c'", 0},
	} {
		m := e.must(t, admin, "GET", "/v1.0/"+tc.coll+q(tc.filter), nil, 200)
		if got := len(values(t, m)); got != tc.want {
			t.Errorf("%s %q: %d results, want %d", tc.coll, tc.filter, got, tc.want)
		}
	}
	for _, bad := range []string{
		"appId ne 'x'", "displayName eq 'unterminated", "servicePrincipalNames/any(c:d eq 'x')",
		"passwordCredentials/any(c:c eq 'x')", "identifierUris/any(s:s eq 'x')", "appId eq x",
		strings.Repeat("appId eq 'x' and ", 9) + "appId eq 'x'", "appId eq '" + strings.Repeat("x", 3000) + "'",
	} {
		code, m := e.call(t, admin, "GET", "/v1.0/servicePrincipals"+q(bad), nil)
		wantError(t, code, m, 400, "Request_UnsupportedQuery")
	}
}

func TestPaging(t *testing.T) {
	e := newEnv(t)
	for i := range 5 {
		e.must(t, admin, "POST", "/v1.0/applications", map[string]any{"displayName": fmt.Sprintf("app %d", i)}, 201)
	}
	var names []string
	next := "/v1.0/applications" + q("startswith(displayName,'app')") + "&$top=2"
	for range 10 {
		m := e.must(t, admin, "GET", next, nil, 200)
		for _, a := range values(t, m) {
			names = append(names, a["displayName"].(string))
		}
		link, _ := m["@odata.nextLink"].(string)
		if link == "" {
			break
		}
		if !strings.HasPrefix(link, graphBase+"/v1.0/applications?") {
			t.Fatalf("nextLink %q", link)
		}
		next = strings.TrimPrefix(link, graphBase)
	}
	if strings.Join(names, ",") != "app 0,app 1,app 2,app 3,app 4" {
		t.Fatalf("pages gave %v", names)
	}
	for _, bad := range []string{"$top=0", "$top=1000", "$top=x", "$skiptoken=-1"} {
		code, m := e.call(t, admin, "GET", "/v1.0/applications?"+bad, nil)
		wantError(t, code, m, 400, "Request_BadRequest")
	}
}

// Reads are open to every principal of the tenant; changes need the admin
// token or a principal MayWrite admits (the server: Owner or User Access
// Administrator at the subscription).
func TestAuthorization(t *testing.T) {
	e := newEnv(t)
	appID, secret, spID := e.createForRBAC(t, admin, "plain")
	tok := e.token(t, appID, secret, graphBase+"/")

	e.must(t, tok, "GET", "/v1.0/servicePrincipals/"+spID, nil, 200)
	e.must(t, tok, "GET", "/v1.0/applications", nil, 200)
	code, m := e.call(t, tok, "POST", "/v1.0/applications", map[string]any{"displayName": "mine"})
	if msg := wantError(t, code, m, 403, "Authorization_RequestDenied"); !strings.Contains(strings.ToLower(msg), "insufficient privileges") {
		t.Fatalf("message %q: az looks for 'insufficient privileges'", msg)
	}
	code, m = e.call(t, tok, "POST", "/v1.0/servicePrincipals/"+spID+"/addPassword", map[string]any{})
	wantError(t, code, m, 403, "Authorization_RequestDenied")
	code, m = e.call(t, tok, "DELETE", "/v1.0/servicePrincipals/"+spID, nil)
	wantError(t, code, m, 403, "Authorization_RequestDenied")
	if _, err := e.st.PrincipalByObjectID(t.Context(), spID); err != nil {
		t.Fatalf("refused delete deleted: %v", err)
	}

	e.mu.Lock()
	e.owners[spID] = true
	e.mu.Unlock()
	e.createForRBAC(t, tok, "made by an owner")

	// Tokens for another audience, forged, or none at all.
	mgmt := e.token(t, appID, secret, "https://management.localhost:8443/")
	for _, bad := range []string{mgmt, tok[:len(tok)-4] + "AAAA", "", admin + "x"} {
		code, m := e.call(t, bad, "GET", "/v1.0/servicePrincipals", nil)
		wantError(t, code, m, 401, "InvalidAuthenticationToken")
	}
	// Plain HTTP is refused before anything else.
	plain := httptest.NewServer(e.h)
	defer plain.Close()
	resp, err := http.Get(plain.URL + "/v1.0/servicePrincipals")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("plain HTTP: %d", resp.StatusCode)
	}
}

// `az ad sp credential reset` removes the service principal's passwords
// and adds one; `--append` keeps them. The application's password is
// untouched, as in Entra ID.
func TestCredentialReset(t *testing.T) {
	e := newEnv(t)
	appID, appSecret, spID := e.createForRBAC(t, admin, "reset")
	pw1 := e.must(t, admin, "POST", "/v1.0/servicePrincipals/"+spID+"/addPassword", map[string]any{"passwordCredential": map[string]any{"displayName": nil}}, 200)
	sp := e.must(t, admin, "GET", "/v1.0/servicePrincipals/"+spID, nil, 200)
	creds := sp["passwordCredentials"].([]any)
	if len(creds) != 1 || creds[0].(map[string]any)["keyId"] != pw1["keyId"] || creds[0].(map[string]any)["secretText"] != nil {
		t.Fatalf("passwordCredentials = %v", creds)
	}
	e.token(t, appID, pw1["secretText"].(string), graphBase+"/")
	e.must(t, admin, "POST", "/v1.0/servicePrincipals/"+spID+"/removePassword", map[string]any{"keyId": pw1["keyId"]}, 204)
	pw2 := e.must(t, admin, "POST", "/v1.0/servicePrincipals/"+spID+"/addPassword", nil, 200)
	end, _ := time.Parse(time.RFC3339, pw2["endDateTime"].(string))
	if d := time.Until(end); d < 729*24*time.Hour || d > 731*24*time.Hour {
		t.Fatalf("default validity ends %v, want two years", end)
	}
	e.token(t, appID, pw2["secretText"].(string), graphBase+"/")
	e.token(t, appID, appSecret, graphBase+"/")
	code, m := e.call(t, admin, "POST", "/v1.0/servicePrincipals/"+spID+"/removePassword", map[string]any{"keyId": pw1["keyId"]})
	wantError(t, code, m, 400, "Request_BadRequest")
	for _, body := range []any{
		map[string]any{"passwordCredential": map[string]any{"endDateTime": "2001-01-01T00:00:00Z"}},
		map[string]any{"passwordCredential": map[string]any{"startDateTime": "yesterday"}},
		map[string]any{"passwordCredential": map[string]any{"endDateTime": "9999-01-01T00:00:00Z"}},
		map[string]any{"passwordCredential": map[string]any{"displayName": strings.Repeat("x", 300)}},
	} {
		code, m := e.call(t, admin, "POST", "/v1.0/servicePrincipals/"+spID+"/addPassword", body)
		wantError(t, code, m, 400, "Request_BadRequest")
	}
}

func TestDeleteAndLookups(t *testing.T) {
	e := newEnv(t)
	appID, _, spID := e.createForRBAC(t, admin, "gone")
	apps := values(t, e.must(t, admin, "GET", "/v1.0/applications"+q("appId eq '"+appID+"'"), nil, 200))
	appObj := apps[0]["id"].(string)
	site := "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app"
	mi, err := e.st.CreatePrincipal(t.Context(), store.Principal{Kind: store.SystemAssignedIdentity, DisplayName: "app", ResourceID: site})
	if err != nil {
		t.Fatal(err)
	}
	// az's role assignment list resolves principal names with getByIds.
	m := e.must(t, admin, "POST", "/v1.0/directoryObjects/getByIds", map[string]any{
		"ids": []string{spID, mi.ObjectID, appObj, "00000000-0000-4000-8000-000000000000"}, "types": []string{"user", "group", "servicePrincipal", "directoryObjectPartnerReference"}}, 200)
	got := map[string]string{}
	for _, o := range values(t, m) {
		got[o["id"].(string)] = o["@odata.type"].(string) + " " + o["servicePrincipalType"].(string)
	}
	if len(got) != 2 || got[spID] != "#microsoft.graph.servicePrincipal Application" || got[mi.ObjectID] != "#microsoft.graph.servicePrincipal ManagedIdentity" {
		t.Fatalf("getByIds = %v", got)
	}
	if o := e.must(t, admin, "GET", "/v1.0/directoryObjects/"+appObj, nil, 200); o["@odata.type"] != "#microsoft.graph.application" {
		t.Fatalf("directoryObjects/{app} = %v", o)
	}
	for _, body := range []any{map[string]any{"ids": []string{}}, map[string]any{"ids": []string{"not-a-guid"}}, map[string]any{"ids": make([]string, 1001)}} {
		code, m := e.call(t, admin, "POST", "/v1.0/directoryObjects/getByIds", body)
		wantError(t, code, m, 400, "Request_BadRequest")
	}
	code, m := e.call(t, admin, "DELETE", "/v1.0/servicePrincipals/"+mi.ObjectID, nil)
	wantError(t, code, m, 400, "Request_BadRequest")
	// Deleting the application deletes its service principal.
	e.must(t, admin, "DELETE", "/v1.0/applications/"+appObj, nil, 204)
	code, m = e.call(t, admin, "GET", "/v1.0/servicePrincipals/"+spID, nil)
	if msg := wantError(t, code, m, 404, "Request_ResourceNotFound"); !strings.Contains(msg, spID) {
		t.Fatalf("message %q", msg)
	}
	code, m = e.call(t, admin, "GET", "/v1.0/applications/"+appObj, nil)
	wantError(t, code, m, 404, "Request_ResourceNotFound")
}

// Hostile and unsupported requests get Graph's errors, never a 500 or a
// silently ignored property.
func TestRefusals(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
		code         string
	}{
		{"GET", "/v1.0/me", nil, 400, "BadRequest"},
		{"GET", "/beta/servicePrincipals", nil, 400, "BadRequest"},
		{"GET", "/v1.0/devices", nil, 400, "BadRequest"},
		{"GET", "/v1.0/servicePrincipals/not-a-guid", nil, 400, "Request_BadRequest"},
		{"GET", "/v1.0/servicePrincipals/00000000-0000-4000-8000-000000000000", nil, 404, "Request_ResourceNotFound"},
		{"PUT", "/v1.0/servicePrincipals", map[string]any{}, 405, "Request_BadRequest"},
		{"POST", "/v1.0/applications", map[string]any{"displayName": "x", "identifierUris": []string{"api://x"}}, 400, "Request_BadRequest"},
		{"POST", "/v1.0/applications", map[string]any{"displayName": ""}, 400, "Request_BadRequest"},
		{"POST", "/v1.0/applications", map[string]any{"displayName": strings.Repeat("x", 257)}, 400, "Request_BadRequest"},
		{"POST", "/v1.0/applications", map[string]any{"displayName": 5}, 400, "Request_BadRequest"},
		{"POST", "/v1.0/applications", "{not json", 400, "Request_BadRequest"},
		{"POST", "/v1.0/applications", `{"displayName":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "Request_BadRequest"},
		{"POST", "/v1.0/servicePrincipals", map[string]any{"appId": "x"}, 400, "Request_BadRequest"},
		{"POST", "/v1.0/applications/" + strings.Repeat("a", 2000), nil, 400, "Request_BadRequest"},
	} {
		code, m := e.call(t, admin, tc.method, tc.path, tc.body)
		msg := wantError(t, code, m, tc.status, tc.code)
		if tc.path == "/v1.0/me" && msg != "/me request is only valid with delegated authentication flow." {
			t.Errorf("/me: %q", msg)
		}
		if strings.Contains(tc.path, "applications") && tc.body != nil && strings.Contains(fmt.Sprint(tc.body), "identifierUris") && !strings.Contains(msg, "identifierUris") {
			t.Errorf("unsupported property not named: %q", msg)
		}
	}
}
