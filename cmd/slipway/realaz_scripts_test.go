package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRealAzDeployScript runs, with the unmodified az, the commands that
// deploy scripts and Microsoft's Django tutorials run after `webapp
// create` and that TestRealAz does not
// (https://learn.microsoft.com/azure/app-service/tutorial-python-postgresql-app-django,
// https://learn.microsoft.com/azure/app-service/configure-language-python):
// `webapp up` and its redeploy from the same folder; `webapp config set`
// (startup file, runtime, always-on, TLS, FTPS, HTTP/2) and `config show`;
// app settings list and delete; connection strings; restart, stop and
// start; `webapp update --https-only`; `identity assign|show`, also on a
// slot; publishing profiles and credentials; `list-runtimes`; `auth
// show|update`, `config storage-account list` and `vnet-integration list`
// (features Slipway has not, reading as absent); `tag update
// --operation merge`; and `webapp
// delete` and `group delete`, after which the resources are gone (a key
// vault soft-deleted, `keyvault list-deleted` and `purge`). Each step
// checks what az prints, not only that it exits 0.
func TestRealAzDeployScript(t *testing.T) {
	t.Parallel()
	r := startRealAz(t, realAzPath(t))
	cli, web, port := r.cli, r.web, r.port
	rg, plan, app := "rg-realaz-script", "plan-realaz-script", "realaz-script"
	appURL := fmt.Sprintf("https://%s.localhost:%d/", app, port)

	cli.must("group", "create", "-n", rg, "-l", "westeurope", "-o", "none")
	cli.must("appservice", "plan", "create", "-g", rg, "-n", plan, "--is-linux", "--sku", "B1", "-o", "none")
	cli.must("webapp", "create", "-g", rg, "-p", plan, "-n", app, "--runtime", "PYTHON:3.12", "-o", "none")
	// The quickstart's deployment: `webapp up` from the project folder,
	// which az then remembers in a config file of its own there
	// (https://learn.microsoft.com/azure/app-service/quickstart-python).
	project := filepath.Join(t.TempDir(), "hello")
	if err := os.CopyFS(project, os.DirFS("testdata/apps/hello")); err != nil {
		t.Fatal(err)
	}
	cli.dir = project
	cli.mustTimeout(5*time.Minute, "webapp", "up", "-n", app, "-g", rg, "--plan", plan, "--sku", "B1", "-r", "PYTHON:3.12", "-l", "westeurope", "-o", "none")
	cli.dir = ""
	if code, body := web.get(t, appURL); code != 200 || body != "hello v1" {
		t.Fatalf("GET %s = %d %q, want 200 \"hello v1\"", appURL, code, body)
	}

	// The tutorials' `webapp config set`: az GETs config/web and sends it
	// back with the flags' changes; `config show` has them. gunicorn's
	// --env puts a variable in the app's environment, so /env shows the
	// app restarted on the new command line.
	startup := "gunicorn --bind=0.0.0.0 --timeout 600 --env STARTED_FROM=config-set app:app"
	out := cli.must("webapp", "config", "set", "-g", rg, "-n", app, "--startup-file", startup, "--linux-fx-version", "PYTHON|3.12",
		"--always-on", "true", "--min-tls-version", "1.2", "--ftps-state", "Disabled", "--http20-enabled", "true", "-o", "json")
	wantConfig := func(what, out string) {
		t.Helper()
		var c struct {
			AppCommandLine string `json:"appCommandLine"`
			LinuxFxVersion string `json:"linuxFxVersion"`
			AlwaysOn       bool   `json:"alwaysOn"`
			MinTLSVersion  string `json:"minTlsVersion"`
			FtpsState      string `json:"ftpsState"`
			HTTP20Enabled  bool   `json:"http20Enabled"`
		}
		if err := json.Unmarshal([]byte(out), &c); err != nil || c.AppCommandLine != startup || c.LinuxFxVersion != "PYTHON|3.12" ||
			!c.AlwaysOn || c.MinTLSVersion != "1.2" || c.FtpsState != "Disabled" || !c.HTTP20Enabled {
			t.Fatalf("%s: %+v (%v)\n%s", what, c, err, out)
		}
	}
	wantConfig("webapp config set", out)
	wantConfig("webapp config show after config set", cli.must("webapp", "config", "show", "-g", rg, "-n", app, "-o", "json"))
	if code, body := web.get(t, appURL+"env"); code != 200 || !strings.Contains(body, "STARTED_FROM=config-set") {
		t.Fatalf("after config set --startup-file, GET %senv = %d; the app did not restart on the new command line:\n%s", appURL, code, tail(body, 20))
	}
	// A value other than the defaults the first set wrote back: TLS 1.3
	// shows, and the tutorial's 1.2 again.
	for _, v := range []string{"1.3", "1.2"} {
		cli.must("webapp", "config", "set", "-g", rg, "-n", app, "--min-tls-version", v, "-o", "none")
		if out := strings.TrimSpace(cli.must("webapp", "config", "show", "-g", rg, "-n", app, "--query", "minTlsVersion", "-o", "tsv")); out != v {
			t.Fatalf("config show --query minTlsVersion after config set --min-tls-version %s = %q", v, out)
		}
	}
	// HTTP/2 off, then on again: curl, offering HTTP/2 and trusting only
	// the platform root, gets HTTP/1.1 from the app while it is off.
	for _, v := range []struct{ set, version string }{{"false", "1.1"}, {"true", "2"}} {
		cli.must("webapp", "config", "set", "-g", rg, "-n", app, "--http20-enabled", v.set, "-o", "none")
		if out := strings.TrimSpace(cli.must("webapp", "config", "show", "-g", rg, "-n", app, "--query", "http20Enabled", "-o", "tsv")); out != v.set {
			t.Fatalf("config show --query http20Enabled after config set --http20-enabled %s = %q", v.set, out)
		}
		out, err := exec.Command("curl", "-sS", "--max-time", "30", "--cacert", r.info.CAFile, "--http2", "-o", "/dev/null",
			"--connect-to", fmt.Sprintf("%s.localhost:%d:127.0.0.1:%d", app, port, port),
			"-w", "%{http_code} %{http_version}", appURL).CombinedOutput()
		if err != nil || string(out) != "200 "+v.version {
			t.Fatalf("curl --http2 %s with http20Enabled %s: %q %v; want 200 over HTTP/%s", appURL, v.set, out, err, v.version)
		}
	}

	// WebSockets off (a portal-exported template writes it, and az's
	// --web-sockets-enabled false), then on: while off, the front door
	// answers a handshake itself with 403; on, it reaches the app (this
	// WSGI app answers it as a plain GET).
	for _, v := range []struct{ set, code string }{{"false", "403"}, {"true", "200"}} {
		cli.must("webapp", "config", "set", "-g", rg, "-n", app, "--web-sockets-enabled", v.set, "-o", "none")
		if out := strings.TrimSpace(cli.must("webapp", "config", "show", "-g", rg, "-n", app, "--query", "webSocketsEnabled", "-o", "tsv")); out != v.set {
			t.Fatalf("config show --query webSocketsEnabled after config set --web-sockets-enabled %s = %q", v.set, out)
		}
		out, err := exec.Command("curl", "-sS", "--max-time", "30", "--cacert", r.info.CAFile, "--http1.1", "-o", "/dev/null",
			"-H", "Connection: Upgrade", "-H", "Upgrade: websocket", "-H", "Sec-WebSocket-Version: 13", "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
			"--connect-to", fmt.Sprintf("%s.localhost:%d:127.0.0.1:%d", app, port, port),
			"-w", "%{http_code}", appURL).CombinedOutput()
		if err != nil || string(out) != v.code {
			t.Fatalf("a WebSocket handshake with webSocketsEnabled %s: %q %v; want %s", v.set, out, err, v.code)
		}
	}

	// App settings: list shows values, delete removes only the names given.
	cli.must("webapp", "config", "appsettings", "set", "-g", rg, "-n", app, "--settings", "DJANGO_SETTINGS=prod", "KEEP=1", "DROP=2", "-o", "none")
	out = cli.must("webapp", "config", "appsettings", "list", "-g", rg, "-n", app, "-o", "json")
	wantSetting(t, out, "DJANGO_SETTINGS", "prod", false)
	wantSetting(t, out, "DROP", "2", false)
	out = cli.must("webapp", "config", "appsettings", "delete", "-g", rg, "-n", app, "--setting-names", "DROP", "-o", "json")
	wantSetting(t, out, "KEEP", "", false)
	out = cli.must("webapp", "config", "appsettings", "list", "-g", rg, "-n", app, "-o", "json")
	wantSetting(t, out, "KEEP", "1", false)
	if strings.Contains(out, `"DROP"`) {
		t.Fatalf("appsettings delete --setting-names DROP left it:\n%s", out)
	}
	if code, body := web.get(t, appURL+"env"); code != 200 || !strings.Contains(body, "KEEP=1") || strings.Contains(body, "DROP=") {
		t.Fatalf("GET %senv = %d after appsettings delete DROP; want KEEP=1 and no DROP:\n%s", appURL, code, tail(body, 30))
	}

	// Connection strings, as the Django tutorial's PostgreSQL one: az
	// prints them after set, list shows the type and the value.
	const conn = "host=db.example port=5432 dbname=app user=u password=p"
	out = cli.must("webapp", "config", "connection-string", "set", "-g", rg, "-n", app, "-t", "PostgreSQL", "--settings", "AZURE_POSTGRESQL_CONNECTIONSTRING="+conn, "-o", "json")
	if !strings.Contains(out, "AZURE_POSTGRESQL_CONNECTIONSTRING") {
		t.Fatalf("connection-string set printed:\n%s", out)
	}
	out = cli.must("webapp", "config", "connection-string", "list", "-g", rg, "-n", app, "-o", "json")
	var conns []struct {
		Name, Type, Value string
		SlotSetting       bool
	}
	if err := json.Unmarshal([]byte(out), &conns); err != nil || len(conns) != 1 || conns[0].Name != "AZURE_POSTGRESQL_CONNECTIONSTRING" ||
		conns[0].Type != "PostgreSQL" || conns[0].Value != conn || conns[0].SlotSetting {
		t.Fatalf("connection-string list (%v):\n%s", err, out)
	}
	// App Service gives a PostgreSQL connection string to the app as
	// POSTGRESQLCONNSTR_<name> (docs/appservice.md).
	if code, body := web.get(t, appURL+"env"); code != 200 || !strings.Contains(body, "POSTGRESQLCONNSTR_AZURE_POSTGRESQL_CONNECTIONSTRING="+conn) {
		t.Fatalf("GET %senv = %d; the connection string is not in the app's environment:\n%s", appURL, code, tail(body, 30))
	}

	// restart (a file the app wrote next to its code is gone: a new
	// instance, docs/appservice.md §1), stop (the front door answers App
	// Service's 403 page), start.
	for i, want := range []string{"new", "existed"} {
		if code, body := web.get(t, appURL+"touch"); code != 200 || body != want {
			t.Fatalf("GET %stouch (%d) = %d %q, want %q", appURL, i, code, body, want)
		}
	}
	cli.must("webapp", "restart", "-g", rg, "-n", app)
	if code, body := web.get(t, appURL+"touch"); code != 200 || body != "new" {
		t.Fatalf("GET %stouch after webapp restart = %d %q, want \"new\" (a restarted app)", appURL, code, body)
	}
	cli.must("webapp", "stop", "-g", rg, "-n", app)
	out = cli.must("webapp", "show", "-g", rg, "-n", app, "-o", "json")
	wantJSON(t, out, "state", "Stopped")
	if code, body := web.get(t, appURL); code != 403 || !strings.Contains(body, "This web app is stopped") {
		t.Fatalf("GET %s of a stopped app = %d %q, want 403 \"This web app is stopped\"", appURL, code, tail(body, 3))
	}
	cli.must("webapp", "start", "-g", rg, "-n", app)
	wantJSON(t, cli.must("webapp", "show", "-g", rg, "-n", app, "-o", "json"), "state", "Running")
	if code, body := web.get(t, appURL); code != 200 || body != "hello v1" {
		t.Fatalf("GET %s after start = %d %q, want 200 \"hello v1\"", appURL, code, body)
	}

	// webapp update: az GETs the site and PUTs it back with the change.
	out = cli.must("webapp", "update", "-g", rg, "-n", app, "--https-only", "true", "-o", "json")
	var updated struct {
		HTTPSOnly bool `json:"httpsOnly"`
	}
	if err := json.Unmarshal([]byte(out), &updated); err != nil || !updated.HTTPSOnly {
		t.Fatalf("webapp update --https-only true printed (%v):\n%s", err, out)
	}
	if out := strings.TrimSpace(cli.must("webapp", "show", "-g", rg, "-n", app, "--query", "httpsOnly", "-o", "json")); out != "true" {
		t.Fatalf("webapp show --query httpsOnly after update = %s, want true", out)
	}
	// The PUT az sent back kept the configuration set above.
	wantConfig("webapp config show after webapp update", cli.must("webapp", "config", "show", "-g", rg, "-n", app, "-o", "json"))
	noRedirect := *web.client
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	plainURL := fmt.Sprintf("http://%s.localhost:%d/", app, port)
	if resp, err := noRedirect.Get(plainURL); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != appURL {
		t.Fatalf("GET %s with httpsOnly = %d Location %q, want 301 to %s", plainURL, resp.StatusCode, resp.Header.Get("Location"), appURL)
	}

	// A system-assigned identity, given a role on the group as scripts
	// do: assign prints it, show has the same, the directory has its
	// service principal and the role is assigned to it.
	rgID := strings.TrimSpace(cli.must("group", "show", "-n", rg, "--query", "id", "-o", "tsv"))
	out = cli.must("webapp", "identity", "assign", "-g", rg, "-n", app, "--role", "Reader", "--scope", rgID, "-o", "json")
	type identity struct {
		Type        string `json:"type"`
		PrincipalID string `json:"principalId"`
		TenantID    string `json:"tenantId"`
	}
	var assigned, shown identity
	if err := json.Unmarshal([]byte(out), &assigned); err != nil || assigned.Type != "SystemAssigned" || assigned.PrincipalID == "" ||
		assigned.TenantID != r.info.TenantID {
		t.Fatalf("identity assign printed (%v):\n%s", err, out)
	}
	out = cli.must("webapp", "identity", "show", "-g", rg, "-n", app, "-o", "json")
	if err := json.Unmarshal([]byte(out), &shown); err != nil || shown != assigned {
		t.Fatalf("identity show = %+v (%v), want %+v:\n%s", shown, err, assigned, out)
	}
	wantJSON(t, cli.must("ad", "sp", "show", "--id", assigned.PrincipalID, "-o", "json"), "id", assigned.PrincipalID)
	out = cli.must("role", "assignment", "list", "--assignee", assigned.PrincipalID, "--scope", rgID, "--query", "[].roleDefinitionName", "-o", "json")
	if strings.Join(strings.Fields(out), "") != `["Reader"]` {
		t.Fatalf("role assignment list for the app's identity = %s, want [\"Reader\"]", out)
	}

	// Publishing profiles, as XML (what CI systems store as a secret) and
	// as JSON, and the publishing credentials.
	out = cli.must("webapp", "deployment", "list-publishing-profiles", "-g", rg, "-n", app, "--xml")
	var profiles struct {
		Profiles []struct {
			Name        string `xml:"profileName,attr"`
			Method      string `xml:"publishMethod,attr"`
			URL         string `xml:"publishUrl,attr"`
			UserName    string `xml:"userName,attr"`
			UserPWD     string `xml:"userPWD,attr"`
			DestAppURL  string `xml:"destinationAppUrl,attr"`
			SiteName    string `xml:"msdeploySite,attr"`
			ControlPanl string `xml:"controlPanelLink,attr"`
		} `xml:"publishProfile"`
	}
	if err := xml.Unmarshal([]byte(out), &profiles); err != nil || len(profiles.Profiles) == 0 {
		t.Fatalf("list-publishing-profiles --xml (%v):\n%s", err, out)
	}
	methods := map[string]bool{}
	for _, p := range profiles.Profiles {
		methods[p.Method] = true
		if p.UserName == "" || p.UserPWD == "" {
			t.Fatalf("publishing profile %q has no credentials:\n%s", p.Name, out)
		}
	}
	if !methods["MSDeploy"] || !methods["ZipDeploy"] {
		t.Fatalf("list-publishing-profiles --xml lacks MSDeploy or ZipDeploy:\n%s", out)
	}
	out = cli.must("webapp", "deployment", "list-publishing-profiles", "-g", rg, "-n", app, "-o", "json")
	var jsonProfiles []map[string]any
	if err := json.Unmarshal([]byte(out), &jsonProfiles); err != nil || len(jsonProfiles) != len(profiles.Profiles) || jsonProfiles[0]["userPWD"] == "" {
		t.Fatalf("list-publishing-profiles -o json (%v):\n%s", err, out)
	}
	out = cli.must("webapp", "deployment", "list-publishing-credentials", "-g", rg, "-n", app, "-o", "json")
	var creds struct {
		Name              string `json:"name"`
		PublishingUser    string `json:"publishingUserName"`
		PublishingPass    string `json:"publishingPassword"`
		ScmURI            string `json:"scmUri"`
		PublishingProfile string `json:"type"`
	}
	if err := json.Unmarshal([]byte(out), &creds); err != nil || creds.PublishingUser != "$"+app || creds.PublishingPass == "" ||
		!strings.Contains(creds.ScmURI, app+".scm.localhost") {
		t.Fatalf("list-publishing-credentials (%v):\n%s", err, out)
	}
	// The site-level credentials deploy: Kudu takes them.
	if code, _ := web.getAuth(t, fmt.Sprintf("https://%s.scm.localhost:%d/api/deployments", app, port), creds.PublishingUser, creds.PublishingPass); code != 200 {
		t.Fatalf("Kudu with the publishing credentials az printed: %d, want 200", code)
	}

	// list-runtimes: the Python stacks Linux apps can run.
	out = cli.must("webapp", "list-runtimes", "--os", "linux", "-o", "json")
	var runtimes []struct{ Config, Runtime, Version, OS string }
	if err := json.Unmarshal([]byte(out), &runtimes); err != nil || !slices.ContainsFunc(runtimes, func(r struct{ Config, Runtime, Version, OS string }) bool {
		return r.Config == "PYTHON|3.12" && r.OS == "Linux"
	}) {
		t.Fatalf("list-runtimes --os linux (%v) lacks PYTHON:3.12:\n%s", err, out)
	}

	// As scripts check them (docs/arm.md §1.6): authentication reads off
	// and `--enabled false` is taken, another identity provider than the
	// platform's own is refused with the reason (TestRealAzAuth turns it
	// on); no storage mounts, no virtual network connections.
	if out := strings.TrimSpace(cli.must("webapp", "auth", "show", "-g", rg, "-n", app, "--query", "enabled", "-o", "json")); out != "false" {
		t.Fatalf("webapp auth show --query enabled = %s, want false", out)
	}
	cli.must("webapp", "auth", "update", "-g", rg, "-n", app, "--enabled", "false", "-o", "none")
	if msg := cli.fail("webapp", "auth", "update", "-g", rg, "-n", app, "--enabled", "true", "--action", "LoginWithGoogle", "--google-client-id", "g-id"); !strings.Contains(msg, "only with its own Microsoft identity platform") {
		t.Fatalf("webapp auth update --action LoginWithGoogle: %s", msg)
	}
	for _, args := range [][]string{{"config", "storage-account", "list"}, {"vnet-integration", "list"}} {
		if out := strings.TrimSpace(cli.must(append(append([]string{"webapp"}, args...), "-g", rg, "-n", app, "-o", "json")...)); out != "[]" {
			t.Fatalf("webapp %s = %q, want []", strings.Join(args, " "), out)
		}
	}

	// az tag update --operation merge adds a tag and keeps the others
	// (the Tags API, docs/arm.md §5); the site shows them.
	siteID := rgID + "/providers/Microsoft.Web/sites/" + app
	cli.must("tag", "update", "--resource-id", siteID, "--operation", "merge", "--tags", "env=prod", "-o", "none")
	out = cli.must("tag", "update", "--resource-id", siteID, "--operation", "merge", "--tags", "team=web", "-o", "json")
	if !strings.Contains(out, `"env": "prod"`) || !strings.Contains(out, `"team": "web"`) {
		t.Fatalf("tag update --operation merge printed:\n%s", out)
	}
	if out := strings.Join(strings.Fields(cli.must("webapp", "show", "-g", rg, "-n", app, "--query", "tags", "-o", "json")), ""); out != `{"env":"prod","team":"web"}` {
		t.Fatalf("webapp show --query tags after tag update = %s", out)
	}

	// The quickstart's redeploy: `webapp up` again, with no arguments, in
	// the same folder. az finds the app in the config file it wrote there
	// (mode 0600) and zips that file too; the app deploys all the same.
	if err := os.WriteFile(filepath.Join(project, "VERSION"), []byte("v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	cli.dir = project
	cli.mustTimeout(5*time.Minute, "webapp", "up", "-o", "none")
	cli.dir = ""
	if !strings.Contains(cli.lastLog, "/sites/"+app+"/") {
		t.Fatalf("webapp up without arguments did not deploy to %s:\n%s", app, tail(cli.lastLog, 40))
	}
	if code, body := web.get(t, appURL); code != 200 || body != "hello v2" {
		t.Fatalf("after webapp up again, GET %s = %d %q, want 200 \"hello v2\"", appURL, code, body)
	}

	// The same on a slot (Standard, as App Service requires): a startup
	// command with no code yet, then `identity assign --slot` and `update
	// --slot`, which PUT the slot back with their change.
	cli.must("appservice", "plan", "update", "-g", rg, "-n", plan, "--sku", "S1", "-o", "none")
	cli.must("webapp", "deployment", "slot", "create", "-g", rg, "-n", app, "--slot", "staging", "-o", "none")
	cli.must("webapp", "config", "set", "-g", rg, "-n", app, "--slot", "staging", "--startup-file", "gunicorn --bind=0.0.0.0 app:app", "-o", "none")
	out = cli.must("webapp", "identity", "assign", "-g", rg, "-n", app, "--slot", "staging", "-o", "json")
	var slotID identity
	if err := json.Unmarshal([]byte(out), &slotID); err != nil || slotID.Type != "SystemAssigned" || slotID.PrincipalID == "" || slotID.PrincipalID == assigned.PrincipalID {
		t.Fatalf("identity assign --slot staging printed (%v), want a system-assigned identity of the slot's own:\n%s", err, out)
	}
	if out := strings.TrimSpace(cli.must("webapp", "identity", "show", "-g", rg, "-n", app, "--slot", "staging", "--query", "principalId", "-o", "tsv")); out != slotID.PrincipalID {
		t.Fatalf("identity show --slot staging = %q, want %s", out, slotID.PrincipalID)
	}
	cli.must("webapp", "update", "-g", rg, "-n", app, "--slot", "staging", "--https-only", "true", "-o", "none")
	if out := strings.TrimSpace(cli.must("webapp", "show", "-g", rg, "-n", app, "--slot", "staging", "--query", "httpsOnly", "-o", "json")); out != "true" {
		t.Fatalf("webapp show --slot staging --query httpsOnly after update = %s, want true", out)
	}

	// webapp delete: the app is gone, as az reports it, and so is its plan,
	// left empty (az sends deleteEmptyServerFarm unless --keep-empty-plan;
	// docs/arm.md §1.5).
	cli.must("webapp", "delete", "-g", rg, "-n", app)
	if out := strings.TrimSpace(cli.must("appservice", "plan", "list", "-g", rg, "-o", "json")); out != "[]" {
		t.Fatalf("appservice plan list after deleting the plan's only app = %s, want []", out)
	}
	if msg := cli.fail("webapp", "show", "-g", rg, "-n", app); !strings.Contains(msg, "(ResourceNotFound)") {
		t.Fatalf("webapp show after webapp delete: %s", msg)
	}
	if code, _ := web.get(t, appURL); code != 404 {
		t.Fatalf("GET %s after webapp delete = %d, want 404", appURL, code)
	}

	// group delete --yes (waits), and --no-wait: the groups and what was in
	// them are gone; the app's identity leaves the directory with it, and a
	// key vault is soft-deleted, as on Azure
	// (https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview),
	// listed by `keyvault list-deleted` until purged.
	other, vault := app+"-2", "realazscriptkv"
	cli.must("appservice", "plan", "create", "-g", rg, "-n", plan, "--is-linux", "--sku", "B1", "-o", "none")
	otherID := strings.TrimSpace(cli.must("webapp", "create", "-g", rg, "-p", plan, "-n", other, "--runtime", "PYTHON:3.12",
		"--assign-identity", "[system]", "--query", "identity.principalId", "-o", "tsv"))
	cli.must("keyvault", "create", "-g", rg, "-n", vault, "-l", "westeurope", "-o", "none")
	cli.must("group", "delete", "-n", rg, "--yes")
	if out := strings.TrimSpace(cli.must("group", "exists", "-n", rg)); out != "false" {
		t.Fatalf("group exists after group delete = %s, want false", out)
	}
	if msg := cli.fail("webapp", "show", "-g", rg, "-n", other); !strings.Contains(msg, "(ResourceGroupNotFound)") {
		t.Fatalf("webapp show after group delete: %s", msg)
	}
	if code, _ := web.get(t, fmt.Sprintf("https://%s.localhost:%d/", other, port)); code != 404 {
		t.Fatalf("GET https://%s.localhost/ after group delete = %d, want 404", other, code)
	}
	if msg := cli.fail("ad", "sp", "show", "--id", otherID); !strings.Contains(msg, "does not exist") {
		t.Fatalf("ad sp show of a deleted app's identity: %s", msg)
	}
	if out := strings.TrimSpace(cli.must("keyvault", "list-deleted", "--query", "[].name", "-o", "tsv")); out != vault {
		t.Fatalf("keyvault list-deleted after group delete = %q, want %s", out, vault)
	}
	cli.must("keyvault", "purge", "-n", vault)
	if out := strings.TrimSpace(cli.must("keyvault", "list-deleted", "-o", "json")); out != "[]" {
		t.Fatalf("keyvault list-deleted after purge = %s, want []", out)
	}
	rg2 := rg + "-nowait"
	cli.must("group", "create", "-n", rg2, "-l", "westeurope", "-o", "none")
	cli.must("appservice", "plan", "create", "-g", rg2, "-n", plan, "--is-linux", "--sku", "B1", "-o", "none")
	cli.must("webapp", "create", "-g", rg2, "-p", plan, "-n", app+"-3", "--runtime", "PYTHON:3.12", "-o", "none")
	cli.must("group", "delete", "-n", rg2, "--yes", "--no-wait")
	cli.must("group", "wait", "-n", rg2, "--deleted", "--timeout", "120")
	if out := strings.TrimSpace(cli.must("group", "exists", "-n", rg2)); out != "false" {
		t.Fatalf("group exists after group delete --no-wait and wait --deleted = %s, want false", out)
	}
	if out := cli.must("webapp", "list", "-o", "json"); strings.Contains(out, `"`+app+`-3"`) || strings.Contains(out, `"`+other+`"`) {
		t.Fatalf("webapp list after the group deletes still has their apps:\n%s", out)
	}
	t.Logf("az timings:\n%s", cli.timings.String())
}
