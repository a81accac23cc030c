package arm

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/internal/store"
)

// TestSCMType: az webapp deployment source config-local-git reads
// config/web, sets scmType LocalGit and writes it all back. scmType is
// kept per site in Azure's casing, shown by config/web and the site, and
// changing it restarts nothing; a source Slipway cannot deploy from is
// refused, saying what it deploys from.
func TestSCMType(t *testing.T) {
	e := newEnv(t)
	e.seed()
	cfgPath := sitePath + "/config/web"
	scmType := func() (string, string) {
		c := e.must(200, "GET", cfgPath, "").json(t)["properties"].(map[string]any)["scmType"]
		s := e.must(200, "GET", sitePath, "").json(t)["properties"].(map[string]any)["siteConfig"].(map[string]any)["scmType"]
		return c.(string), s.(string)
	}
	if c, s := scmType(); c != "None" || s != "None" {
		t.Fatalf("new site: scmType %q (config/web), %q (site); want None", c, s)
	}
	doc := e.must(200, "GET", cfgPath, "").json(t)
	props := doc["properties"].(map[string]any)
	props["scmType"] = "localgit"
	body, _ := json.Marshal(map[string]any{"properties": props})
	r := e.must(200, "PUT", cfgPath, string(body)).json(t)
	if got := r["properties"].(map[string]any)["scmType"]; got != "LocalGit" {
		t.Errorf("PUT answered scmType %v, want LocalGit", got)
	}
	if c, s := scmType(); c != "LocalGit" || s != "LocalGit" {
		t.Fatalf("after config-local-git: %q, %q; want LocalGit", c, s)
	}
	if calls := e.ctl.Calls(); len(calls) != 0 {
		t.Errorf("setting scmType restarted the app: %v", calls)
	}
	for _, v := range []string{"GitHub", "ExternalGit", "VSTSRM", "BitbucketGit", "Dropbox", "nonsense"} {
		r := e.do("PATCH", cfgPath, `{"properties":{"scmType":"`+v+`"}}`)
		if r.status != 400 || !strings.Contains(string(r.body), "Local Git") || !strings.Contains(string(r.body), v) {
			t.Errorf("scmType %s: %d %s; want 400 saying what Slipway deploys from", v, r.status, r.body)
		}
	}
	if c, _ := scmType(); c != "LocalGit" {
		t.Errorf("a refused scmType changed it to %q", c)
	}
	e.must(200, "PATCH", cfgPath, `{"properties":{"scmType":"NONE"}}`)
	if c, _ := scmType(); c != "None" {
		t.Errorf("after scmType NONE: %q", c)
	}
}

// TestSourceControl: sites/{app}/sourcecontrols/web as az reads it. For
// LocalGit repoUrl is the app's Kudu (az appends /<app>.git and the user)
// and branch the deployed one; DELETE turns Local Git off; linking an
// external repository is refused.
func TestSourceControl(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.Slots = &swapRecorder{} })
	e.seed()
	scPath := sitePath + "/sourcecontrols/web"
	props := func(p string) map[string]any {
		doc := e.must(200, "GET", p, "").json(t)
		if doc["name"] != "web" || doc["type"] != "Microsoft.Web/sites/sourcecontrols" || doc["id"] != e.path(strings.ReplaceAll(p, "resourcegroups", "resourceGroups")) {
			t.Errorf("GET %s: id %v, name %v, type %v", p, doc["id"], doc["name"], doc["type"])
		}
		return doc["properties"].(map[string]any)
	}
	if p := props(scPath); p["repoUrl"] != nil || p["branch"] != nil || p["isManualIntegration"] != false || p["isMercurial"] != false {
		t.Errorf("no source control: %v", p)
	}
	e.must(200, "PATCH", sitePath+"/config/web", `{"properties":{"scmType":"LocalGit"}}`)
	if p := props(scPath); p["repoUrl"] != "http://app.scm.localhost:8080" || p["branch"] != "master" || p["isGitHubAction"] != false {
		t.Errorf("Local Git: %v", p)
	}
	e.must(200, "PUT", sitePath+"/config/appsettings", `{"properties":{"DEPLOYMENT_BRANCH":"main"}}`)
	if p := props(scPath); p["branch"] != "main" {
		t.Errorf("with DEPLOYMENT_BRANCH=main: branch %v", p["branch"])
	}

	for _, body := range []string{
		`{"properties":{"repoUrl":"https://github.com/Azure-Samples/msdocs-python-flask-webapp-quickstart","branch":"main","isManualIntegration":true,"isGitHubAction":false,"isMercurial":false}}`,
		`{"properties":{"repoUrl":"https://dev.azure.com/org/p/_git/r","branch":"main"}}`,
	} {
		r := e.do("PUT", scPath, body)
		if r.status != 400 || !strings.Contains(string(r.body), "Local Git") || !strings.Contains(string(r.body), "webapp up") {
			t.Errorf("PUT %s: %d %s; want 400 saying what Slipway deploys from", body, r.status, r.body)
		}
	}
	if p := props(scPath); p["repoUrl"] != "http://app.scm.localhost:8080" {
		t.Errorf("a refused PUT changed the source control: %v", p)
	}

	e.must(200, "DELETE", scPath, "")
	if p := props(scPath); p["repoUrl"] != nil {
		t.Errorf("after DELETE: %v", p)
	}
	if c := e.must(200, "GET", sitePath+"/config/web", "").json(t)["properties"].(map[string]any)["scmType"]; c != "None" {
		t.Errorf("after DELETE scmType = %v", c)
	}

	// A slot has its own, on its own Kudu name.
	e.standardPlan()
	e.must(200, "PUT", sitePath+"/slots/staging", `{"location":"westeurope","properties":{}}`)
	e.must(200, "PATCH", sitePath+"/slots/staging/config/web", `{"properties":{"scmType":"LocalGit"}}`)
	if p := props(sitePath + "/slots/staging/sourcecontrols/web"); p["repoUrl"] != "http://app-staging.scm.localhost:8080" {
		t.Errorf("slot: %v", p)
	}
	if p := props(scPath); p["repoUrl"] != nil {
		t.Errorf("the slot's Local Git turned the app's on: %v", p)
	}
}

// TestPublishingUser: /providers/Microsoft.Web/publishingUsers/web is the
// caller's own deployment user. Any authenticated principal reads and sets
// its own — no role needed — and never sees a password; a name another
// principal holds is 409; Azure's password rules apply; the password
// appears in no response and no log.
func TestPublishingUser(t *testing.T) {
	e, call := rbacEnv(t)
	ctx := t.Context()
	alice, err := e.store.CreatePrincipal(ctx, store.Principal{Kind: store.ServicePrincipal, DisplayName: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := e.store.CreatePrincipal(ctx, store.Principal{Kind: store.ServicePrincipal, DisplayName: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	const path, pw = "/providers/Microsoft.Web/publishingUsers/web", "Tutorial-Pa55"
	user := func(body string) map[string]any {
		t.Helper()
		var doc map[string]any
		if err := json.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		if doc["id"] != path || doc["name"] != "web" || doc["type"] != "Microsoft.Web/publishingUsers/web" {
			t.Errorf("envelope: %s", body)
		}
		p := doc["properties"].(map[string]any)
		for _, k := range []string{"publishingPassword", "publishingPasswordHash", "publishingPasswordHashSalt", "scmUri"} {
			if v, ok := p[k]; !ok || v != nil {
				t.Errorf("%s = %v, want null", k, v)
			}
		}
		return p
	}

	// Never set: 200 with a null name, for a principal with no role at all.
	code, body := call(alice.ObjectID, "GET", path, "")
	if code != 200 {
		t.Fatalf("GET: %d %s", code, body)
	}
	if p := user(body); p["publishingUserName"] != nil || p["name"] != "web" {
		t.Errorf("never set: %v", p)
	}
	// Set, as az sends it.
	code, body = call(alice.ObjectID, "PUT", path, `{"properties":{"publishingUserName":"alice-deploy","publishingPassword":"`+pw+`"}}`)
	if code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	if p := user(body); p["publishingUserName"] != "alice-deploy" {
		t.Errorf("PUT answered %v", p)
	}
	if _, body = call(alice.ObjectID, "GET", path, ""); user(body)["publishingUserName"] != "alice-deploy" {
		t.Errorf("GET after PUT: %s", body)
	}
	// Each principal sees its own.
	if _, body = call(bob.ObjectID, "GET", path, ""); user(body)["publishingUserName"] != nil {
		t.Errorf("bob sees %s", body)
	}
	// Taking alice's name: 409, and hers keeps working.
	code, body = call(bob.ObjectID, "PUT", path, `{"properties":{"publishingUserName":"Alice-Deploy","publishingPassword":"Bob-pa55word"}}`)
	if code != 409 || !strings.Contains(body, "already in use") {
		t.Errorf("bob takes alice's name: %d %s", code, body)
	}
	if oid, err := e.store.CheckPublishingUser(ctx, "alice-deploy", pw); err != nil || oid != alice.ObjectID {
		t.Errorf("alice's credentials after bob's attempt: %q, %v", oid, err)
	}
	// Azure's rules.
	for _, b := range []string{
		`{"properties":{"publishingUserName":"bob@example.com","publishingPassword":"Bob-pa55word"}}`,
		`{"properties":{"publishingUserName":"$app","publishingPassword":"Bob-pa55word"}}`,
		`{"properties":{"publishingUserName":"bob","publishingPassword":"bob"}}`,
		`{"properties":{"publishingUserName":"bob","publishingPassword":"bobbobbobbob"}}`,
		`{"properties":{"publishingUserName":"","publishingPassword":"Bob-pa55word"}}`,
	} {
		if code, body := call(bob.ObjectID, "PUT", path, b); code != 400 {
			t.Errorf("PUT %s: %d %s, want 400", b, code, body)
		}
	}
	// The admin token is no principal: it has no deployment user to set.
	if code, body := call("", "PUT", path, `{"properties":{"publishingUserName":"admin","publishingPassword":"Adm1n-pass"}}`); code != 400 || !strings.Contains(body, "az login") {
		t.Errorf("admin PUT: %d %s", code, body)
	}
	// Only that path is open to everyone: other writes above the
	// subscriptions are still refused.
	for _, p := range []string{"/providers/Microsoft.Web/publishingUsers/other", "/providers/Microsoft.Web/sourcecontrols/GitHub"} {
		if code, body := call(bob.ObjectID, "PUT", p, `{"properties":{}}`); code != http.StatusForbidden || !strings.Contains(body, "AuthorizationFailed") {
			t.Errorf("PUT %s by a role-less principal: %d %s", p, code, body)
		}
	}
	if code, _ := call(bob.ObjectID, "DELETE", path, ""); code != http.StatusForbidden {
		t.Errorf("DELETE %s: %d, want 403", path, code)
	}
	if strings.Contains(e.logs.String(), pw) || strings.Contains(e.logs.String(), "Bob-pa55word") {
		t.Errorf("a password reached the log:\n%s", e.logs.String())
	}
}
