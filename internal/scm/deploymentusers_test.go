package scm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/rbac"
)

const testSub = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"

// users holds deployment users by name, each with its password and
// principal; MayPublish asks the real RBAC.
type users struct {
	byName map[string][2]string // name → password, principal
	authz  *rbac.Authorizer
}

func (u *users) CheckPublishingUser(_ context.Context, name, password string) (string, error) {
	if name == "busy" { // as the store answers when its slow checks are all taken
		return "", slipway.Errorf(slipway.EUNAVAILABLE, "The server is checking too many deployment passwords at once; retry in a few seconds.")
	}
	v, ok := u.byName[strings.ToLower(name)]
	if !ok || v[0] != password {
		return "", slipway.Errorf(slipway.EUNAUTHORIZED, "The deployment credentials are not valid.")
	}
	return v[1], nil
}

func (u *users) MayPublish(ctx context.Context, principal string, s slipway.Site) error {
	return u.authz.MayPublish(ctx, principal, testSub, s)
}

// siteID is the resource id of the app name in the tests' resource group.
func siteID(name string) string {
	return "/subscriptions/" + testSub + "/resourceGroups/rg/providers/Microsoft.Web/sites/" + name
}

// roleOf is a role of a principal over a scope.
type roleOf struct{ who, role, scope string }

// assignRoles returns an authorizer, over memory, holding the roles.
func assignRoles(t *testing.T, roles []roleOf) *rbac.Authorizer {
	t.Helper()
	authz := rbac.New(rbac.Config{Store: &rbac.MemoryStore{}})
	for i, a := range roles {
		if _, _, err := authz.Create(t.Context(), rbac.Assignment{Name: fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1),
			Scope: a.scope, RoleDefinitionID: rbac.RoleByName(a.role).Name, PrincipalID: a.who}, ""); err != nil {
			t.Fatal(err)
		}
	}
	return authz
}

// TestDeploymentUsers: Kudu takes a principal's deployment user (az webapp
// deployment user set) for an app its roles let it deploy to — Website
// Contributor, Contributor, Owner over the app — never a Reader's, never
// for another app than its role covers; the app's own credentials keep
// working, and a '$' name is always the app's own, never a deployment user.
func TestDeploymentUsers(t *testing.T) {
	const (
		webc, reader, other, dollar = "00000001-0000-4000-8000-000000000000", "00000002-0000-4000-8000-000000000000",
			"00000003-0000-4000-8000-000000000000", "00000004-0000-4000-8000-000000000000"
	)
	authz := assignRoles(t, []roleOf{
		{webc, "Website Contributor", siteID("app")},
		{reader, "Reader", "/subscriptions/" + testSub},
		{other, "Website Contributor", siteID("appb")},
		{dollar, "Owner", "/subscriptions/" + testSub},
	})
	us := &users{authz: authz, byName: map[string][2]string{
		"webc":   {"Webc-pass1", webc},
		"reader": {"Reader-pass1", reader},
		"other":  {"Other-pass1", other},
		// Cannot be made through the store (names are validated), but
		// even if it were, "$app" must stay the app's own user.
		"$app": {"Dollar-pass1", dollar},
	}}
	var logs bytes.Buffer
	h := New(Config{
		Store: &fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: "app"}}, Deployer: fakeDeployer{},
		SiteOf:          func(*http.Request) string { return "app" },
		DeploymentUsers: us,
		Logger:          slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	get := func(user, pass string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/api/deployments", nil)
		req.SetBasicAuth(user, pass)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct {
		name, user, pass string
		want             int
	}{
		{"app-level credentials", "$app", "pass", 200},
		{"a '\\' name is app-level (FTP style), never a deployment user", `app\webc`, "Webc-pass1", 401},
		{"a Website Contributor of the app", "webc", "Webc-pass1", 200},
		{"its name in another casing", "WEBC", "Webc-pass1", 200},
		{"a wrong password", "webc", "webc-pass1", 401},
		{"an empty password", "webc", "", 401},
		{"an unknown user", "nobody", "Webc-pass1", 401},
		{"a Reader", "reader", "Reader-pass1", 403},
		{"a role on another app only", "other", "Other-pass1", 403},
		{"a '$' name is the app's own user, not a deployment user", "$app", "Dollar-pass1", 401},
		{"a deployment user's password for the app-level user", "$app", "Webc-pass1", 401},
		{"the app's password for a deployment user", "webc", "pass", 401},
	} {
		code, body := get(c.user, c.pass)
		if code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, code, body, c.want)
		}
		if c.pass != "" && strings.Contains(body, c.pass) {
			t.Errorf("%s: the answer repeats the password: %s", c.name, body)
		}
	}
	// Too many password checks at once: 503 with a time to retry, not 401
	// (the credentials may be good) and not 500.
	req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/api/deployments", nil)
	req.SetBasicAuth("busy", "Busy-pass1")
	if resp, err := srv.Client().Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("checks all busy: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	for _, pw := range []string{"Webc-pass1", "Reader-pass1", "Other-pass1"} {
		if strings.Contains(logs.String(), pw) {
			t.Errorf("a password reached the log:\n%s", logs.String())
		}
	}

	// Without DeploymentUsers only the app's own credentials work.
	h2 := New(Config{Store: &fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: "app"}}, Deployer: fakeDeployer{},
		SiteOf: func(*http.Request) string { return "app" }})
	req = httptest.NewRequestWithContext(t.Context(), "GET", "/api/deployments", nil)
	req.RemoteAddr = "127.0.0.1:50000" // plain HTTP from another machine is refused first (cleartext_attack_test.go)
	req.SetBasicAuth("webc", "Webc-pass1")
	rec := httptest.NewRecorder()
	h2.ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Errorf("deployment user without DeploymentUsers: %d", rec.Code)
	}
}

// TestDeploymentUserOnASlot: a slot's Kudu takes the deployment user of a
// principal whose role covers the app (and so its slots), and serves the
// repository under the app's name, as az's URL names it.
func TestDeploymentUserOnASlot(t *testing.T) {
	const webc = "00000001-0000-4000-8000-000000000000"
	authz := rbac.New(rbac.Config{Store: &rbac.MemoryStore{}})
	if _, _, err := authz.Create(t.Context(), rbac.Assignment{Name: "00000000-0000-4000-8000-000000000001",
		Scope:            "/subscriptions/" + testSub + "/resourceGroups/rg/providers/Microsoft.Web/sites/app",
		RoleDefinitionID: rbac.RoleByName("Website Contributor").Name, PrincipalID: webc}, ""); err != nil {
		t.Fatal(err)
	}
	slot := slipway.Site{ResourceGroup: "rg", Name: "app-staging", SlotOf: "app", Slot: "staging"}
	h := New(Config{
		Store: &fakeStore{site: slot}, Deployer: fakeDeployer{},
		SiteOf:          func(*http.Request) string { return "app-staging" },
		DeploymentUsers: &users{authz: authz, byName: map[string][2]string{"webc": {"Webc-pass1", webc}}},
		RepoDir:         func(string) string { return t.TempDir() + "/repository.git" },
	})
	for _, c := range []struct {
		path string
		want int
	}{
		{"/api/deployments", 200},
		{"/app.git/info/refs?service=git-upload-pack", 200},
		{"/app-staging.git/info/refs?service=git-upload-pack", 200},
		{"/other.git/info/refs?service=git-upload-pack", 404},
	} {
		if strings.Contains(c.path, ".git") {
			if _, err := lookGit(); err != nil {
				continue
			}
		}
		req := httptest.NewRequestWithContext(t.Context(), "GET", c.path, nil)
		req.RemoteAddr = "127.0.0.1:50000"
		req.SetBasicAuth("webc", "Webc-pass1")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("GET %s on the slot: %d %s, want %d", c.path, rec.Code, rec.Body, c.want)
		}
	}
}

func lookGit() (string, error) { return exec.LookPath("git") }

// tokens names the principal of each token it knows; any other is not
// valid.
type tokens map[string]string

func (t tokens) ManagementPrincipal(_ context.Context, tok string) (string, error) {
	if oid, ok := t[tok]; ok {
		return oid, nil
	}
	return "", slipway.Errorf(slipway.EUNAUTHORIZED, "not a token")
}

// TestKuduBearerTokens: Kudu takes an Entra token for the management
// audience, as App Service's does (the GitHub Action for App Service
// signed in with a service principal sends one), from a principal whose
// roles let it deploy to the app — the right a deployment user needs —
// and nothing else: a Reader's or another app's contributor's token is
// 403, a token that is not valid (for another audience, expired, not
// ours) 401, and without a token checker only the admin token passes.
func TestKuduBearerTokens(t *testing.T) {
	const webc, reader, other = "00000001-0000-4000-8000-000000000000", "00000002-0000-4000-8000-000000000000", "00000003-0000-4000-8000-000000000000"
	authz := assignRoles(t, []roleOf{
		{webc, "Website Contributor", siteID("app")},
		{reader, "Reader", "/subscriptions/" + testSub},
		{other, "Website Contributor", siteID("appb")},
	})
	toks := tokens{"tok-webc": webc, "tok-reader": reader, "tok-other": other}
	serve := func(cfg Config) *httptest.Server {
		cfg.Store, cfg.Deployer = &fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: "app"}}, fakeDeployer{}
		cfg.SiteOf = func(*http.Request) string { return "app" }
		srv := httptest.NewServer(New(cfg))
		t.Cleanup(srv.Close)
		return srv
	}
	get := func(srv *httptest.Server, auth string) int {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/api/deployments", nil)
		req.Header.Set("Authorization", auth)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	us := &users{authz: authz}
	with := serve(Config{DeploymentUsers: us, Tokens: toks, AdminToken: "admin"})
	for _, c := range []struct {
		name, auth string
		want       int
	}{
		{"a Website Contributor's token", "Bearer tok-webc", 200},
		{"a Reader's token", "Bearer tok-reader", 403},
		{"the token of another app's contributor", "Bearer tok-other", 403},
		{"a token that is not valid", "Bearer tok-unknown", 401},
		{"an empty token", "Bearer ", 401},
		{"the admin token", "Bearer admin", 200},
	} {
		if got := get(with, c.auth); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	for name, srv := range map[string]*httptest.Server{
		"no token checker":    serve(Config{DeploymentUsers: us, AdminToken: "admin"}),
		"no deployment users": serve(Config{Tokens: toks, AdminToken: "admin"}),
	} {
		if got := get(srv, "Bearer tok-webc"); got != 401 {
			t.Errorf("%s: a contributor's token got %d, want 401", name, got)
		}
		if got := get(srv, "Bearer admin"); got != 200 {
			t.Errorf("%s: the admin token got %d, want 200", name, got)
		}
	}
}

// TestBasicAuthSwitchedOff: with the app's scm basic authentication
// policy off, Kudu refuses every Basic credential — the app's own and a
// deployment user's, right or wrong, saying why — and still takes a token.
func TestBasicAuthSwitchedOff(t *testing.T) {
	const webc = "00000001-0000-4000-8000-000000000000"
	us := &users{authz: assignRoles(t, []roleOf{{webc, "Website Contributor", siteID("app")}}),
		byName: map[string][2]string{"webc": {"Webc-pass1", webc}}}
	srv := httptest.NewServer(New(Config{
		Store: &fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: "app"}, basicOff: true}, Deployer: fakeDeployer{},
		SiteOf: func(*http.Request) string { return "app" }, DeploymentUsers: us, Tokens: tokens{"tok-webc": webc},
	}))
	t.Cleanup(srv.Close)
	for _, c := range []struct {
		name, user, pass, bearer string
		want                     int
	}{
		{"the app's credentials", "$app", "pass", "", 401},
		{"a deployment user", "webc", "Webc-pass1", "", 401},
		{"a wrong password", "$app", "wrong", "", 401},
		{"a contributor's token", "", "", "tok-webc", 200},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/api/deployments", nil)
		if c.bearer != "" {
			req.Header.Set("Authorization", "Bearer "+c.bearer)
		} else {
			req.SetBasicAuth(c.user, c.pass)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want || c.want == 401 && !strings.Contains(string(b), "Basic authentication is disabled") {
			t.Errorf("%s: %d %s, want %d", c.name, resp.StatusCode, b, c.want)
		}
	}
}

// TestKuduBearerTokenSlotScope: a token opens a slot's Kudu by the slot's
// own right (Microsoft.Web/sites/slots/publish/Action over the slot, which
// a role over the app includes), and a role over one slot opens neither
// its app's Kudu nor another slot's.
func TestKuduBearerTokenSlotScope(t *testing.T) {
	const app, slotOnly = "00000001-0000-4000-8000-000000000000", "00000002-0000-4000-8000-000000000000"
	authz := assignRoles(t, []roleOf{
		{app, "Website Contributor", siteID("app")},
		{slotOnly, "Website Contributor", siteID("app") + "/slots/staging"},
	})
	toks := tokens{"tok-app": app, "tok-slot": slotOnly}
	for _, c := range []struct {
		site slipway.Site
		tok  string
		want int
	}{
		{slipway.Site{ResourceGroup: "rg", Name: "app-staging", SlotOf: "app", Slot: "staging"}, "tok-app", 200},
		{slipway.Site{ResourceGroup: "rg", Name: "app-staging", SlotOf: "app", Slot: "staging"}, "tok-slot", 200},
		{slipway.Site{ResourceGroup: "rg", Name: "app-qa", SlotOf: "app", Slot: "qa"}, "tok-slot", 403},
		{slipway.Site{ResourceGroup: "rg", Name: "app"}, "tok-slot", 403},
		{slipway.Site{ResourceGroup: "rg", Name: "app"}, "tok-app", 200},
	} {
		h := New(Config{Store: &fakeStore{site: c.site}, Deployer: fakeDeployer{},
			SiteOf: func(*http.Request) string { return c.site.Name }, DeploymentUsers: &users{authz: authz}, Tokens: toks})
		req := httptest.NewRequestWithContext(t.Context(), "GET", "/api/deployments", nil)
		req.RemoteAddr = "127.0.0.1:50000"
		req.Header.Set("Authorization", "Bearer "+c.tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("%s on %s: %d %s, want %d", c.tok, c.site.Name, rec.Code, rec.Body, c.want)
		}
	}
}
