package main

// TestRealAz drives the unmodified Azure CLI (azure-cli from PyPI, installed
// by CI in .ci/azcli) against a Slipway server, as users will: Slipway
// serves HTTPS on its front door's port with the platform root
// (server.json caFile), its own token service at login.<domain> and its
// directory (a Microsoft Graph subset) at graph.<domain>, and az trusts
// only that root (REQUESTS_CA_BUNDLE, SSL_CERT_FILE).
//
// The acceptance of the identity issue: `cloud register` (discovering the
// login, Graph and Key Vault endpoints), `login --service-principal`, then
// `ad sp create-for-rbac`, `group create`, `webapp create`, `webapp config
// appsettings set`, `keyvault create`, `keyvault secret set|show`, `role
// assignment create`, `storage account create` and `storage container|blob
// ... --auth-mode login` (realAzStorage), `provider register|show|list`,
// `resource show|tag --ids` without --api-version and `appservice
// list-locations`; a Reader cannot write (nor register a provider), a
// principal without a role cannot even read (AuthorizationFailed). az has
// no way to sign in with the admin token, so the first service principal
// (an Owner) is made with Slipway's own CLI, which talks to the same
// directory.
//
// TEST-ONLY SCAFFOLDING: name resolution. az resolves host names through
// the system resolver, and here *.localhost does not resolve. az runs with
// a test-only sitecustomize.py (on PYTHONPATH) that patches
// socket.getaddrinfo: every *.localhost name resolves to 127.0.0.1 with the
// port az asked for (the front door's); every other name fails, so az can
// never reach Azure or anything off this machine. /etc/hosts is never
// touched.

import (
	"archive/zip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRealAz(t *testing.T) {
	t.Parallel()
	r := startRealAz(t, realAzPath(t))
	info, port, sub, cli, web, owner := r.info, r.port, r.sub, r.cli, r.web, r.owner
	rg, plan, app, upApp, vault := "rg-realaz", "plan-realaz", "realaz-made", "realaz-up", "realazkv1"

	// The directory through az itself: an application, its password, its
	// service principal and a role assignment; another with no role.
	var reader, norole realAzCreds
	reader.parse(t, cli.must("ad", "sp", "create-for-rbac", "--name", "realaz-reader", "--role", "Reader", "--scopes", sub, "-o", "json"))
	norole.parse(t, cli.must("ad", "sp", "create-for-rbac", "--name", "realaz-norole", "-o", "json"))
	if reader.Tenant != info.TenantID || norole.DisplayName != "realaz-norole" {
		t.Fatalf("create-for-rbac printed %+v, %+v", reader, norole)
	}
	out := cli.must("ad", "sp", "show", "--id", reader.AppID, "-o", "json")
	wantJSON(t, out, "appId", reader.AppID)
	var readerSP struct {
		ID string `json:"id"`
	}
	json.Unmarshal([]byte(out), &readerSP)

	out = cli.must("group", "create", "-n", rg, "-l", "westeurope", "-o", "json")
	wantJSON(t, out, "name", rg)
	out = cli.must("appservice", "plan", "create", "-g", rg, "-n", plan, "--is-linux", "--sku", "B1", "-o", "json")
	wantJSON(t, out, "name", plan)
	out = cli.must("webapp", "create", "-g", rg, "-p", plan, "-n", app, "--runtime", "PYTHON:3.12", "-o", "json")
	wantJSON(t, out, "name", app)
	out = cli.must("webapp", "config", "appsettings", "set", "-g", rg, "-n", app, "--settings", "GREETING=hi", "-o", "json")
	if !strings.Contains(out, `"GREETING"`) {
		t.Fatalf("appsettings set output lacks GREETING:\n%s", out)
	}

	// `webapp log config` sends only the sections its flags name, and App
	// Service keeps the others: two calls add up, and `webapp log show`
	// has both, the level in Azure's spelling.
	cli.must("webapp", "log", "config", "-g", rg, "-n", app, "--application-logging", "filesystem", "--level", "information", "-o", "json")
	cli.must("webapp", "log", "config", "-g", rg, "-n", app, "--docker-container-logging", "filesystem", "-o", "json")
	out = cli.must("webapp", "log", "show", "-g", rg, "-n", app, "-o", "json")
	var logCfg struct {
		ApplicationLogs struct {
			FileSystem struct {
				Level string `json:"level"`
			} `json:"fileSystem"`
		} `json:"applicationLogs"`
		HTTPLogs struct {
			FileSystem struct {
				Enabled       bool `json:"enabled"`
				RetentionInMb int  `json:"retentionInMb"`
			} `json:"fileSystem"`
		} `json:"httpLogs"`
	}
	if err := json.Unmarshal([]byte(out), &logCfg); err != nil || logCfg.ApplicationLogs.FileSystem.Level != "Information" ||
		!logCfg.HTTPLogs.FileSystem.Enabled || logCfg.HTTPLogs.FileSystem.RetentionInMb != 100 {
		t.Fatalf("webapp log show after --application-logging then --docker-container-logging: want level Information and file-system container logs of 100 MB (%v)\n%s", err, out)
	}

	// An app whose startup file has no code to run yet: restart and start
	// succeed at once as on App Service, the site is Running, and why the
	// container failed is in the app's log.
	nocode := "realaz-nocode"
	cli.must("webapp", "create", "-g", rg, "-p", plan, "-n", nocode, "--runtime", "PYTHON:3.12", "--startup-file", "gunicorn --bind=0.0.0.0 nothere:app", "-o", "json")
	for _, action := range []string{"restart", "stop", "start"} {
		cli.must("webapp", action, "-g", rg, "-n", nocode)
	}
	out = cli.must("webapp", "show", "-g", rg, "-n", nocode, "-o", "json")
	wantJSON(t, out, "state", "Running")
	nocodeLogs := filepath.Join(t.TempDir(), "nocode-logs.zip")
	cli.must("webapp", "log", "download", "-n", nocode, "-g", rg, "--log-file", nocodeLogs)
	if text := zipText(t, nocodeLogs, "_docker.log"); !strings.Contains(text, "failing site start") {
		t.Fatalf("the docker logs of %s do not say why it did not start:\n%s", nocode, tail(text, 40))
	}
	// What az 2.91 points to after a start that failed: the startup logs
	// (Kudu's /api/startuplogs) and the runtime status (ARM's siteStatus
	// with the startup summary).
	realAzStartupLogs(t, cli, rg, nocode)

	// Key Vault: az creates it with its defaults (RBAC authorization unless
	// told otherwise; an access policy for the caller, found through Graph,
	// otherwise), the caller gets the data role, and az's data plane finds
	// the vault at <vault><keyVaultDns> and asks for the audience the
	// vault's challenge names.
	out = cli.must("keyvault", "create", "-g", rg, "-n", vault, "-l", "westeurope", "-o", "json")
	var kv struct {
		ID         string `json:"id"`
		Properties struct {
			VaultURI string `json:"vaultUri"`
			RBAC     *bool  `json:"enableRbacAuthorization"`
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(out), &kv); err != nil || kv.ID == "" ||
		strings.TrimSuffix(kv.Properties.VaultURI, "/") != fmt.Sprintf("https://%s.vault.localhost:%d", vault, port) {
		t.Fatalf("keyvault create: %v\n%s", err, out)
	}
	if kv.Properties.RBAC != nil {
		t.Logf("az keyvault create: enableRbacAuthorization = %v", *kv.Properties.RBAC)
	}
	out = cli.must("role", "assignment", "create", "--role", "Key Vault Secrets Officer", "--assignee", owner.AppID, "--scope", kv.ID, "-o", "json")
	if !strings.Contains(out, `"principalType": "ServicePrincipal"`) {
		t.Fatalf("role assignment create:\n%s", out)
	}
	cli.must("keyvault", "secret", "set", "--vault-name", vault, "-n", "greeting", "--value", "hello from az", "-o", "json")
	out = cli.must("keyvault", "secret", "show", "--vault-name", vault, "-n", "greeting", "-o", "json")
	wantJSON(t, out, "value", "hello from az")
	// A teardown script's delete, list-deleted and purge: the Secrets
	// Officer's secrets/* covers readMetadata and purge/action, as on Azure.
	cli.must("keyvault", "secret", "delete", "--vault-name", vault, "-n", "greeting", "-o", "none")
	if out := strings.TrimSpace(cli.must("keyvault", "secret", "list-deleted", "--vault-name", vault, "--query", "[].name", "-o", "tsv")); out != "greeting" {
		t.Fatalf("keyvault secret list-deleted: %q", out)
	}
	cli.must("keyvault", "secret", "purge", "--vault-name", vault, "-n", "greeting")
	// A vault firewall is refused, not shown as if it held.
	if msg := cli.fail("keyvault", "update", "-n", vault, "--default-action", "Deny"); !strings.Contains(msg, "does not filter a key vault's traffic by network") {
		t.Fatalf("keyvault update --default-action Deny: %s", msg)
	}
	// An identity has no federated credentials, and adding one is refused
	// with the reason rather than a bare 404.
	cli.must("identity", "create", "-g", rg, "-n", "realaz-id", "-o", "none")
	if out := strings.TrimSpace(cli.must("identity", "federated-credential", "list", "-g", rg, "--identity-name", "realaz-id", "--query", "length(@)", "-o", "tsv")); out != "0" {
		t.Fatalf("identity federated-credential list: %q, want 0", out)
	}
	if msg := cli.fail("identity", "federated-credential", "create", "-g", rg, "--identity-name", "realaz-id", "-n", "gh",
		"--issuer", "https://token.actions.githubusercontent.com", "--subject", "repo:org/app:ref:refs/heads/main"); !strings.Contains(msg, "does not trust tokens of another issuer") {
		t.Fatalf("identity federated-credential create: %s", msg)
	}
	out = cli.must("role", "assignment", "list", "--assignee", reader.AppID, "--scope", sub, "-o", "json")
	if !strings.Contains(out, `"roleDefinitionName": "Reader"`) || !strings.Contains(out, `"principalName": "`+reader.AppID+`"`) ||
		!strings.Contains(out, readerSP.ID) {
		t.Fatalf("role assignment list for the reader:\n%s", out)
	}

	realAzStorage(t, cli, rg, owner.AppID, port)
	realAzConnection(t, cli, rg, app, "realazblob1")
	realAzDeployFromURL(t, cli, web, rg, app, port)
	realAzBackup(t, cli, web, rg, app, "realazblob1", port)
	realAzContainerCD(t, cli, web, rg, app, port)

	// webapp up for a new app, from a project folder.
	project := filepath.Join(t.TempDir(), "hello")
	if err := os.CopyFS(project, os.DirFS("testdata/apps/hello")); err != nil {
		t.Fatal(err)
	}
	cli.dir = project
	// -l is given because az 2.91 without it calls
	// client.list_geo_regions(sku, True), which the azure-mgmt-web it ships
	// no longer accepts (TypeError: takes 1 positional argument but 3 were
	// given): an az bug, before any request is sent.
	out = cli.mustTimeout(5*time.Minute, "webapp", "up", "-n", upApp, "-g", rg, "--plan", plan, "--sku", "B1", "-r", "PYTHON:3.12", "-l", "westeurope", "-o", "json")
	cli.dir = ""
	wantJSON(t, out, "name", upApp)

	// The new app answers over HTTPS at the host name Slipway gave it.
	code, body := web.get(t, fmt.Sprintf("https://%s.localhost:%d/", upApp, port))
	if code != 200 || body != "hello v1" {
		t.Fatalf("GET https://%s/ = %d %q, want 200 \"hello v1\"", upApp, code, body)
	}

	out = cli.must("resource", "list", "-g", rg, "-o", "json")
	var resources []struct {
		Name, Type, ResourceGroup string
	}
	if err := json.Unmarshal([]byte(out), &resources); err != nil {
		t.Fatalf("resource list: %v\n%s", err, out)
	}
	want := map[string]string{plan: "microsoft.web/serverfarms", app: "microsoft.web/sites", upApp: "microsoft.web/sites"}
	for _, r := range resources {
		if want[r.Name] == strings.ToLower(r.Type) {
			delete(want, r.Name)
		}
	}
	if len(want) > 0 {
		t.Fatalf("resource list lacks %v:\n%s", want, out)
	}

	// The resource providers: step one of many tutorials, and where az
	// finds a type's api-versions (resource show|tag without
	// --api-version) and App Service's locations.
	cli.must("provider", "register", "-n", "Microsoft.Web")
	out = cli.must("provider", "show", "-n", "microsoft.web", "-o", "json")
	var prov struct {
		Namespace, RegistrationState string
	}
	if err := json.Unmarshal([]byte(out), &prov); err != nil || prov.Namespace != "Microsoft.Web" || prov.RegistrationState != "Registered" {
		t.Fatalf("provider show -n microsoft.web: %v\n%s", err, out)
	}
	out = cli.must("provider", "list", "--query", "[].namespace", "-o", "json")
	if !strings.Contains(out, `"Microsoft.Web"`) || !strings.Contains(out, `"Microsoft.Storage"`) {
		t.Fatalf("provider list:\n%s", out)
	}
	siteID := sub + "/resourceGroups/" + rg + "/providers/Microsoft.Web/sites/" + app
	out = cli.must("resource", "show", "--ids", siteID, "-o", "json")
	wantJSON(t, out, "name", app)
	if !strings.Contains(cli.lastLog, "/sites/"+app+"?api-version=2025-05-01") {
		t.Fatalf("resource show --ids did not GET the site with the newest api-version listed (2025-05-01):\n%s", tail(cli.lastLog, 40))
	}
	out = cli.must("resource", "tag", "--ids", siteID, "--tags", "env=realaz", "-o", "json")
	if !strings.Contains(out, `"env": "realaz"`) {
		t.Fatalf("resource tag --ids:\n%s", out)
	}
	out = cli.must("appservice", "list-locations", "--sku", "B1", "-o", "json")
	if !strings.Contains(out, `"name": "West Europe"`) {
		t.Fatalf("appservice list-locations --sku B1 lacks West Europe:\n%s", out)
	}

	out = cli.must("webapp", "log", "deployment", "show", "-n", upApp, "-g", rg, "-o", "json")
	if !strings.Contains(out, "Deployment successful") {
		t.Fatalf("webapp log deployment show lacks \"Deployment successful\":\n%s", out)
	}
	out = cli.must("webapp", "show", "-n", app, "-g", rg, "-o", "json")
	wantJSON(t, out, "name", app)
	out = cli.must("webapp", "list", "-g", rg, "-o", "json")
	if !strings.Contains(out, `"`+app+`"`) || !strings.Contains(out, `"`+upApp+`"`) {
		t.Fatalf("webapp list lacks %s or %s:\n%s", app, upApp, out)
	}
	out = cli.must("webapp", "config", "appsettings", "list", "-n", upApp, "-g", rg, "-o", "json")
	if !strings.Contains(out, "SCM_DO_BUILD_DURING_DEPLOYMENT") {
		t.Fatalf("webapp up did not set SCM_DO_BUILD_DURING_DEPLOYMENT:\n%s", out)
	}
	z := zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": "v2"})
	cli.mustTimeout(5*time.Minute, "webapp", "deploy", "-n", app, "-g", rg, "--src-path", z, "--type", "zip", "-o", "json")
	code, body = web.get(t, fmt.Sprintf("https://%s.localhost:%d/", app, port))
	if code != 200 || body != "hello v2" {
		t.Fatalf("after webapp deploy, GET https://%s/ = %d %q, want 200 \"hello v2\"", app, code, body)
	}
	realAzAccessRestrictions(t, cli, web, rg, app, port)
	realAzFiles(t, cli, web, rg, app, port)
	realAzExec(t, cli, web, rg, app, port)
	// A backup to a container that does not exist fails with the blob
	// service's reason, its signature masked, and is listed as Failed
	// (beside what realAzBackup's schedule may have taken since).
	if msg := cli.fail("webapp", "config", "backup", "create", "-g", rg, "--webapp-name", app, "--backup-name", "nowhere",
		"--container-url", "https://acct.blob.core.windows.net/backups?sv=2024&sig=x"); !strings.Contains(msg, "404") || !strings.Contains(msg, "sig=***") {
		t.Fatalf("config backup create to a missing account: %s", msg)
	}
	if out := strings.TrimSpace(cli.must("webapp", "config", "backup", "list", "-g", rg, "--webapp-name", app, "--query", "[?blobName=='nowhere'].status", "-o", "tsv")); out != "Failed" {
		t.Fatalf("config backup list printed %q, want the failed backup", out)
	}

	logs := filepath.Join(t.TempDir(), "logs.zip")
	cli.must("webapp", "log", "download", "-n", upApp, "-g", rg, "--log-file", logs)
	zr, err := zip.OpenReader(logs)
	if err != nil {
		t.Fatalf("webapp log download: %s is not a zip: %v", logs, err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	zr.Close()
	if len(names) == 0 {
		t.Fatalf("webapp log download: the zip is empty")
	}
	t.Logf("log download: %d files, e.g. %v", len(names), names[:min(len(names), 5)])

	realAzLocalGit(t, r, rg, plan, reader)

	// A Reader reads but cannot write.
	cli.login(reader, info.TenantID)
	out = cli.must("group", "show", "-n", rg, "-o", "json")
	wantJSON(t, out, "name", rg)
	cli.must("provider", "show", "-n", "Microsoft.Web", "-o", "none")
	for _, write := range [][]string{
		{"group", "create", "-n", "rg-by-reader", "-l", "westeurope"},
		{"webapp", "config", "appsettings", "set", "-g", rg, "-n", app, "--settings", "BY=reader"},
		{"provider", "register", "-n", "Microsoft.Web"},
	} {
		msg := cli.fail(write...)
		if !strings.Contains(msg, "AuthorizationFailed") || !strings.Contains(msg, "does not have authorization to perform action") {
			t.Fatalf("az %s as a Reader: want AuthorizationFailed, got:\n%s", strings.Join(write, " "), msg)
		}
	}
	// A principal without a role cannot even read.
	cli.login(norole, info.TenantID)
	msg := cli.fail("group", "show", "-n", rg)
	if !strings.Contains(msg, "AuthorizationFailed") || !strings.Contains(msg, "Microsoft.Resources/subscriptions/resourceGroups/read") {
		t.Fatalf("az group show without a role: want AuthorizationFailed, got:\n%s", msg)
	}
	msg = cli.fail("provider", "show", "-n", "Microsoft.Web")
	if !strings.Contains(msg, "AuthorizationFailed") || !strings.Contains(msg, "Microsoft.Resources/subscriptions/providers/read") {
		t.Fatalf("az provider show without a role: want AuthorizationFailed, got:\n%s", msg)
	}
	t.Logf("az timings:\n%s", cli.timings.String())
}

// realAzFiles: `az webapp deploy --type static` replaces one file of the
// running app (VERSION, which it reads at start) and restarts it; `--type
// startup` deploys a startup script that the app starts with from then on;
// `--type zip --clean false` puts a zip over the app, keeping the files it
// lacks (docs/appservice.md §5).
func realAzFiles(t *testing.T, cli *realAz, web platformHTTP, rg, app string, port int) {
	t.Helper()
	dir := t.TempDir()
	version, startup := filepath.Join(dir, "VERSION"), filepath.Join(dir, "startup.sh")
	if err := os.WriteFile(version, []byte("v3"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(startup, []byte("#!/bin/sh\nexport STARTED_BY=az-startup\nexec gunicorn app:app\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	appURL := fmt.Sprintf("https://%s.localhost:%d/", app, port)
	cli.mustTimeout(5*time.Minute, "webapp", "deploy", "-n", app, "-g", rg, "--src-path", version, "--type", "static", "--target-path", "VERSION", "-o", "json")
	if !strings.Contains(cli.lastLog, "/api/publish?type=static") || !strings.Contains(cli.lastLog, "path=VERSION") {
		t.Fatalf("az did not send a static OneDeploy push:\n%s", tail(cli.lastLog, 40))
	}
	if code, body := web.get(t, appURL); code != 200 || body != "hello v3" {
		t.Fatalf("after webapp deploy --type static, GET %s = %d %q, want 200 \"hello v3\"", appURL, code, body)
	}
	cli.mustTimeout(5*time.Minute, "webapp", "deploy", "-n", app, "-g", rg, "--src-path", startup, "--type", "startup", "-o", "json")
	if code, body := web.get(t, appURL+"env"); code != 200 || !strings.Contains(body, "STARTED_BY=az-startup") {
		t.Fatalf("after webapp deploy --type startup, GET %senv = %d; the app did not start with the script:\n%s", appURL, code, tail(body, 20))
	}
	if code, body := web.get(t, appURL); code != 200 || body != "hello v3" {
		t.Fatalf("after webapp deploy --type startup, GET %s = %d %q, want the same app (\"hello v3\")", appURL, code, body)
	}
	// --clean false: a zip holding only VERSION goes over the app; app.py
	// and the startup script stay.
	only := t.TempDir()
	if err := os.WriteFile(filepath.Join(only, "VERSION"), []byte("v4"), 0o644); err != nil {
		t.Fatal(err)
	}
	cli.mustTimeout(5*time.Minute, "webapp", "deploy", "-n", app, "-g", rg, "--src-path", zipDir(t, only, nil), "--type", "zip", "--clean", "false", "-o", "json")
	if !strings.Contains(cli.lastLog, "/api/publish?type=zip") || !strings.Contains(cli.lastLog, "clean=False") {
		t.Fatalf("az did not send a zip OneDeploy push with clean=False:\n%s", tail(cli.lastLog, 40))
	}
	if code, body := web.get(t, appURL); code != 200 || body != "hello v4" {
		t.Fatalf("after webapp deploy --clean false, GET %s = %d %q, want 200 \"hello v4\"", appURL, code, body)
	}
	if code, body := web.get(t, appURL+"env"); code != 200 || !strings.Contains(body, "STARTED_BY=az-startup") {
		t.Fatalf("after webapp deploy --clean false, GET %senv = %d; the startup script was lost:\n%s", appURL, code, tail(body, 20))
	}
}

// realAzDeployFromURL follows Microsoft's "Deploy ZIP package from URL"
// (Deploy files to App Service): a zip uploaded to blob storage, a
// read-only SAS for it (az storage blob generate-sas with the account key:
// az 2.91 cannot make a user delegation SAS (--as-user) for an endpoint
// outside *.blob.core.*, whose account name its storage SDK does not find
// in the host name, and fails with a TypeError before signing), and
// `az webapp deploy --src-url <url> --type zip`, which
// az sends to ARM's OneDeploy extension (docs/arm.md §1.13), after warming
// an instance's Kudu through ARM. It answers once the deployment has
// started ("Deployment was submitted asynchronously"); the app then serves
// the new version. A URL of anything but the server's blob service is
// refused with the reason az prints.
func realAzDeployFromURL(t *testing.T, cli *realAz, web platformHTTP, rg, app string, port int) {
	t.Helper()
	const account = "realazblob1"
	z := zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": "from-url"})
	cli.must("storage", "blob", "upload", "--account-name", account, "-c", "docs", "-n", "packages/app.zip", "-f", z, "--auth-mode", "login", "-o", "none")
	expiry := time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04Z")
	key := strings.TrimSpace(cli.must("storage", "account", "keys", "list", "-g", rg, "-n", account, "--query", "[0].value", "-o", "tsv"))
	uri := strings.TrimSpace(cli.must("storage", "blob", "generate-sas", "--account-name", account, "--account-key", key, "-c", "docs", "-n", "packages/app.zip",
		"--permissions", "r", "--expiry", expiry, "--https-only", "--full-uri", "-o", "tsv"))
	if want := fmt.Sprintf("https://%s.blob.localhost:%d/docs/packages/app.zip?", account, port); !strings.HasPrefix(uri, want) || !strings.Contains(uri, "sig=") {
		t.Fatalf("storage blob generate-sas --full-uri printed %q, want %s...sig=...", uri, want)
	}
	out := cli.mustTimeout(5*time.Minute, "webapp", "deploy", "-g", rg, "-n", app, "--src-url", uri, "--type", "zip", "-o", "json")
	if !strings.Contains(cli.lastLog, "/extensions/onedeploy?api-version=") {
		t.Fatalf("az did not send the OneDeploy extension request:\n%s", tail(cli.lastLog, 40))
	}
	if !strings.Contains(out, `"provisioningState": "InProgress"`) {
		t.Errorf("webapp deploy --src-url printed:\n%s", out)
	}
	appURL := fmt.Sprintf("https://%s.localhost:%d/", app, port)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		code, body := web.get(t, appURL)
		if code == 200 && body == "hello from-url" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after webapp deploy --src-url, GET %s = %d %q, want 200 \"hello from-url\"", appURL, code, body)
		}
		time.Sleep(time.Second)
	}
	// The newest deployment's record (Kudu's /api/deployments) names the
	// URL, its signature masked.
	out = strings.TrimSpace(cli.must("webapp", "log", "deployment", "list", "-g", rg, "-n", app, "--query", "[0].message", "-o", "tsv"))
	_, rawSig, _ := strings.Cut(uri, "sig=")
	rawSig, _, _ = strings.Cut(rawSig, "&")
	if !strings.HasPrefix(out, "OneDeploy from https://"+account+".blob.localhost") || !strings.Contains(out, "sig=***") || strings.Contains(out, rawSig) {
		t.Errorf("webapp log deployment list: the newest message %q does not name the URL with its signature masked", out)
	}
	msg := cli.fail("webapp", "deploy", "-g", rg, "-n", app, "--src-url", "http://169.254.169.254/metadata/identity/oauth2/token", "--type", "zip")
	if !strings.Contains(msg, "not this server's blob service") {
		t.Errorf("webapp deploy --src-url of the metadata address: %s", msg)
	}
}

// realAzStorage: `az storage ... --auth-mode login` as the signed-in
// principal, no account key. az builds the blob endpoint from the cloud's
// storage suffix (suffixes.storage of /metadata/endpoints, "localhost:<port>")
// as https://<account>.blob.localhost:<port>, the front door's, which
// routes it to the blob service (the account's primaryEndpoints.blob, the
// blob port's path-style URL, is not what az uses with --account-name), and
// asks for a token for https://storage.azure.com/.default.
//
// az behaviours this relies on, none worked around in the server: az
// replaces Azure's 403 AuthorizationPermissionMismatch with its own advice
// ("You do not have the required permissions..."), so that sentence is what
// the refusal is recognised by; and Create Container needs only
// containers/write, a management action Owner holds, so az creates the
// container before any data role is assigned, as on Azure.
func realAzStorage(t *testing.T, cli *realAz, rg, appID string, port int) {
	t.Helper()
	const account = "realazblob1"
	out := cli.must("storage", "account", "create", "-g", rg, "-n", account, "-l", "westeurope", "--sku", "Standard_LRS", "-o", "json")
	var sa struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(out), &sa); err != nil || sa.ID == "" {
		t.Fatalf("storage account create: %v\n%s", err, out)
	}
	// A firewall the blob service would not apply is refused, not shown
	// as if it held (internal/arm/networkisolation.go).
	if msg := cli.fail("storage", "account", "update", "-g", rg, "-n", account, "--default-action", "Deny"); !strings.Contains(msg, "does not filter a storage account's traffic by network") {
		t.Errorf("storage account update --default-action Deny: %s", msg)
	}
	// Create Container needs containers/write, a management action that
	// Owner's "*" covers; blob operations need data actions, which it has
	// none of (https://learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory#permissions-for-blob-service-operations).
	out = cli.must("storage", "container", "create", "--account-name", account, "-n", "docs", "--auth-mode", "login", "-o", "json")
	if !strings.Contains(out, `"created": true`) {
		t.Fatalf("storage container create --auth-mode login:\n%s", out)
	}
	// urllib3's debug line for the request az sent.
	if sent := fmt.Sprintf(`https://%s.blob.localhost:%d "PUT /docs?restype=container`, account, port); !strings.Contains(cli.lastLog, sent) {
		t.Fatalf("az did not send %s:\n%s", sent, tail(cli.lastLog, 40))
	}
	// The management plane lists the same containers (a GET of the
	// collection, paged by nextLink).
	if out := strings.TrimSpace(cli.must("storage", "container-rm", "list", "--storage-account", account, "-g", rg, "--query", "[].name", "-o", "tsv")); out != "docs" {
		t.Fatalf("storage container-rm list: %q", out)
	}
	dir := t.TempDir()
	up, down := filepath.Join(dir, "up.txt"), filepath.Join(dir, "down.txt")
	if err := os.WriteFile(up, []byte("hello from az storage"), 0o644); err != nil {
		t.Fatal(err)
	}
	upload := []string{"storage", "blob", "upload", "--account-name", account, "-c", "docs", "-n", "notes/hello.txt", "-f", up, "--auth-mode", "login"}
	msg := cli.fail(upload...)
	// az words Azure's 403 AuthorizationPermissionMismatch as this advice.
	if !strings.Contains(msg, "You do not have the required permissions needed to perform this operation") {
		t.Fatalf("storage blob upload --auth-mode login as an Owner without a data role: want AuthorizationPermissionMismatch, got:\n%s", msg)
	}
	cli.must("role", "assignment", "create", "--role", "Storage Blob Data Contributor", "--assignee", appID, "--scope", sa.ID, "-o", "json")
	cli.must(append(upload, "-o", "json")...)
	out = cli.must("storage", "blob", "list", "--account-name", account, "-c", "docs", "--auth-mode", "login", "-o", "json")
	var blobs []struct {
		Name       string `json:"name"`
		Properties struct {
			ContentLength int `json:"contentLength"`
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(out), &blobs); err != nil || len(blobs) != 1 || blobs[0].Name != "notes/hello.txt" ||
		blobs[0].Properties.ContentLength != len("hello from az storage") {
		t.Fatalf("storage blob list --auth-mode login: %v\n%s", err, out)
	}
	cli.must("storage", "blob", "download", "--account-name", account, "-c", "docs", "-n", "notes/hello.txt", "-f", down, "--auth-mode", "login", "-o", "none")
	if b, err := os.ReadFile(down); err != nil || string(b) != "hello from az storage" {
		t.Fatalf("storage blob download --auth-mode login wrote %q (%v)", b, err)
	}
}

// realAzConnection is the Service Connector step of Microsoft's Flask
// managed-identity tutorial (docs/conformance.md): `webapp connection
// create storage-blob --system-identity` gives the app a system-assigned
// identity with Storage Blob Data Contributor on the account and the
// setting AZURE_STORAGEBLOB_RESOURCEENDPOINT; list-configuration shows it
// and delete takes it away.
func realAzConnection(t *testing.T, cli *realAz, rg, app, account string) {
	t.Helper()
	out := cli.must("webapp", "connection", "create", "storage-blob", "-g", rg, "-n", app, "--tg", rg, "--account", account,
		"--system-identity", "--connection", "photos", "--client-type", "python", "-o", "json")
	endpoint := "https://" + account + ".blob.core.windows.net/"
	if !strings.Contains(out, `"authType": "systemAssignedIdentity"`) || !strings.Contains(out, `"provisioningState": "Succeeded"`) || !strings.Contains(out, endpoint) {
		t.Fatalf("webapp connection create storage-blob --system-identity:\n%s", out)
	}
	principal := strings.TrimSpace(cli.must("webapp", "identity", "show", "-g", rg, "-n", app, "--query", "principalId", "-o", "tsv"))
	if len(principal) != 36 {
		t.Fatalf("the connection gave the app no system identity: %q", principal)
	}
	out = cli.must("role", "assignment", "list", "--assignee", principal, "--all", "--query", "[].roleDefinitionName", "-o", "tsv")
	if strings.TrimSpace(out) != "Storage Blob Data Contributor" {
		t.Fatalf("roles of the app's identity: %q, want Storage Blob Data Contributor", out)
	}
	if out := cli.must("webapp", "connection", "list-configuration", "-g", rg, "-n", app, "--connection", "photos", "-o", "json"); !strings.Contains(out, `"AZURE_STORAGEBLOB_RESOURCEENDPOINT"`) {
		t.Fatalf("webapp connection list-configuration:\n%s", out)
	}
	// az prints the checks (validationDetail) alone.
	if out := cli.must("webapp", "connection", "validate", "-g", rg, "-n", app, "--connection", "photos", "-o", "json"); !strings.Contains(out, `"name": "TargetAuthentication"`) || strings.Count(out, `"result": "success"`) != 3 {
		t.Fatalf("webapp connection validate:\n%s", out)
	}
	cli.must("webapp", "connection", "delete", "-g", rg, "-n", app, "--connection", "photos", "--yes", "-o", "none")
	if out := strings.TrimSpace(cli.must("webapp", "connection", "list", "-g", rg, "-n", app, "--query", "length(@)", "-o", "tsv")); out != "0" {
		t.Fatalf("webapp connection list after delete: %q", out)
	}
}

// realAzLocalGit follows Microsoft's Local Git tutorial
// (https://learn.microsoft.com/azure/app-service/deploy-local-git) with the
// real az and the real git: a deployment user, an app created with
// --deployment-local-git (and config-local-git, which prints the same
// URL), the URL az prints with the password the user chose pushed to with
// git, which deploys; `deployment source show` and `delete`. A Reader's
// deployment user is refused at Kudu. The signed-in principal is the
// Owner, and is again at the end.
func realAzLocalGit(t *testing.T, r *realAzEnv, rg, plan string, reader realAzCreds) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("git is not installed")
		}
		t.Log("git is not installed: the Local Git tutorial is not run")
		return
	}
	cli, port, app := r.cli, r.port, "realaz-git"
	const user, password = "realaz-deployer", "Tutorial-pa55word"
	out := cli.must("webapp", "deployment", "user", "set", "--user-name", user, "--password", password, "-o", "json")
	wantJSON(t, out, "publishingUserName", user)
	if strings.Contains(out, password) || !strings.Contains(out, `"publishingPassword": null`) {
		t.Fatalf("deployment user set shows the password, or not null:\n%s", out)
	}
	out = cli.must("webapp", "deployment", "user", "show", "-o", "json")
	wantJSON(t, out, "publishingUserName", user)

	gitURL := fmt.Sprintf("https://%s@%s.scm.localhost:%d/%s.git", user, app, port, app)
	// az prints the URL as a warning (and the azure-mgmt-web it ships drops
	// the deploymentLocalGitUrl it adds to the output): what shows it
	// worked is that it asked for the URL's parts, and exited 0.
	out = cli.must("webapp", "create", "-g", rg, "-p", plan, "-n", app, "--runtime", "PYTHON:3.12", "--deployment-local-git", "-o", "json")
	wantJSON(t, out, "name", app)
	if !strings.Contains(cli.lastLog, "/providers/Microsoft.Web/publishingUsers/web") || !strings.Contains(cli.lastLog, "/sourcecontrols/web") {
		t.Fatalf("webapp create --deployment-local-git did not read the deployment user and source control:\n%s", tail(cli.lastLog, 60))
	}
	out = cli.must("webapp", "deployment", "source", "config-local-git", "-g", rg, "-n", app, "-o", "json")
	wantJSON(t, out, "url", gitURL)
	out = cli.must("webapp", "config", "show", "-g", rg, "-n", app, "-o", "json")
	wantJSON(t, out, "scmType", "LocalGit")
	out = cli.must("webapp", "deployment", "source", "show", "-g", rg, "-n", app, "-o", "json")
	wantJSON(t, out, "repoUrl", fmt.Sprintf("https://%s.scm.localhost:%d", app, port))
	wantJSON(t, out, "branch", "master")

	// git push azure main:master, with the deployment user's password.
	work := t.TempDir()
	if err := os.CopyFS(work, os.DirFS("testdata/apps/hello")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "VERSION"), []byte("from git"), 0o644); err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) (string, error) {
		return r.s.gitEnv([]string{"GIT_SSL_CAINFO=" + r.info.CAFile}, app, work, args...)
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"commit", "-q", "-m", "Local Git tutorial"}} {
		if out, err := git(args...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	withPassword := strings.Replace(gitURL, user+"@", url.UserPassword(user, password).String()+"@", 1)
	if out, err := git("remote", "add", "azure", withPassword); err != nil {
		t.Fatalf("git remote add: %v\n%s", err, out)
	}
	out, err := git("push", "azure", "main:master")
	if err != nil || !strings.Contains(out, "remote: Deployment successful.") {
		t.Fatalf("git push azure main:master with the deployment user: %v\n%s", err, out)
	}
	if code, body := r.web.get(t, fmt.Sprintf("https://%s.localhost:%d/", app, port)); code != 200 || body != "hello from git" {
		t.Fatalf("after the push GET https://%s/ = %d %q, want \"hello from git\"", app, code, body)
	}
	wrong := strings.Replace(gitURL, user+"@", url.UserPassword(user, "Wrong-pa55word").String()+"@", 1)
	if out, err := git("push", wrong, "main:master"); err == nil || !strings.Contains(out, "Authentication failed") {
		t.Fatalf("push with a wrong password: %v\n%s", err, out)
	}

	// A Reader's own deployment user does not deploy: Readers may not
	// publish. Nor may it take the Owner's user name.
	cli.login(reader, r.info.TenantID)
	msg := cli.fail("webapp", "deployment", "user", "set", "--user-name", user, "--password", "Reader-pa55word")
	if !strings.Contains(msg, "already in use") {
		t.Fatalf("deployment user set with the Owner's name, as the Reader: want a conflict, got:\n%s", msg)
	}
	cli.must("webapp", "deployment", "user", "set", "--user-name", "realaz-reader-deployer", "--password", "Reader-pa55word", "-o", "none")
	readerURL := fmt.Sprintf("https://%s@%s.scm.localhost:%d/%s.git", url.UserPassword("realaz-reader-deployer", "Reader-pa55word"), app, port, app)
	if out, err := git("push", readerURL, "main:master"); err == nil || !strings.Contains(out, "403") {
		t.Fatalf("push with a Reader's deployment user: %v\n%s", err, out)
	}
	cli.login(r.owner, r.info.TenantID)

	cli.must("webapp", "deployment", "source", "delete", "-g", rg, "-n", app, "-o", "none")
	out = cli.must("webapp", "config", "show", "-g", rg, "-n", app, "-o", "json")
	wantJSON(t, out, "scmType", "None")
}

// realAzAccessRestrictions: `az webapp config access-restriction add`
// (GET config/web, then PATCH the list it read — Azure's unmatched rule
// included — with its rule), `show`, `set --use-same-restrictions-for-scm-site`
// and `remove`, enforced by the front door on the test's own address,
// 127.0.0.1.
func realAzAccessRestrictions(t *testing.T, cli *realAz, web platformHTTP, rg, app string, port int) {
	t.Helper()
	appURL := fmt.Sprintf("https://%s.localhost:%d/", app, port)
	out := cli.must("webapp", "config", "access-restriction", "add", "-g", rg, "-n", app, "--rule-name", "blockme",
		"--action", "Deny", "--ip-address", "127.0.0.1/32", "--priority", "100", "-o", "json")
	var added []map[string]any
	if err := json.Unmarshal([]byte(out), &added); err != nil || len(added) != 2 || added[0]["name"] != "blockme" || added[1]["name"] != "Deny all" {
		t.Fatalf("access-restriction add printed %v:\n%s", err, out)
	}
	if code, body := web.get(t, appURL); code != 403 || !strings.Contains(body, "The web app you have attempted to reach has blocked your access.") {
		t.Fatalf("GET %s from 127.0.0.1 under a Deny 127.0.0.1/32 rule = %d %q, want 403", appURL, code, body)
	}
	out = cli.must("webapp", "config", "access-restriction", "show", "-g", rg, "-n", app, "-o", "json")
	var shown struct {
		Main    []map[string]any `json:"ipSecurityRestrictions"`
		SCM     []map[string]any `json:"scmIpSecurityRestrictions"`
		UseMain *bool            `json:"scmIpSecurityRestrictionsUseMain"`
	}
	if err := json.Unmarshal([]byte(out), &shown); err != nil || len(shown.Main) != 2 || shown.Main[0]["ipAddress"] != "127.0.0.1/32" ||
		shown.Main[0]["action"] != "Deny" || shown.Main[1]["ipAddress"] != "Any" || len(shown.SCM) != 1 || shown.SCM[0]["name"] != "Allow all" ||
		shown.UseMain == nil || *shown.UseMain {
		t.Fatalf("access-restriction show: %v\n%s", err, out)
	}
	// Kudu has its own rules (none: it answers, here 401 without
	// credentials) until it is set to use the main site's.
	scmURL := fmt.Sprintf("https://%s.scm.localhost:%d/api/deployments", app, port)
	if code, body := web.get(t, scmURL); code == 403 {
		t.Fatalf("Kudu refused 127.0.0.1 under the app's rules only: %d %q", code, body)
	}
	out = cli.must("webapp", "config", "access-restriction", "set", "-g", rg, "-n", app, "--use-same-restrictions-for-scm-site", "true", "-o", "json")
	if !strings.Contains(out, `"scmIpSecurityRestrictionsUseMain": true`) {
		t.Fatalf("access-restriction set --use-same-restrictions-for-scm-site true printed:\n%s", out)
	}
	if code, body := web.get(t, scmURL); code != 403 {
		t.Fatalf("Kudu on the main rules (Deny 127.0.0.1/32): %d %q, want 403", code, body)
	}
	cli.must("webapp", "config", "access-restriction", "set", "-g", rg, "-n", app, "--use-same-restrictions-for-scm-site", "false", "-o", "none")

	// az refuses a second rule for the same range itself, from what GET showed.
	msg := cli.fail("webapp", "config", "access-restriction", "add", "-g", rg, "-n", app, "--rule-name", "again",
		"--action", "Deny", "--ip-address", "127.0.0.1/32", "--priority", "200")
	if !strings.Contains(msg, "already exists") {
		t.Fatalf("a duplicate access-restriction add: %s", msg)
	}
	out = cli.must("webapp", "config", "access-restriction", "remove", "-g", rg, "-n", app, "--rule-name", "blockme", "--action", "Deny", "-o", "json")
	if !strings.Contains(out, `"Allow all"`) || strings.Contains(out, "blockme") {
		t.Fatalf("access-restriction remove printed:\n%s", out)
	}
	if code, body := web.get(t, appURL); code != 200 || body != "hello v2" {
		t.Fatalf("GET %s after remove = %d %q, want 200 \"hello v2\"", appURL, code, body)
	}
}

// realAzCreds is what create-for-rbac prints.
type realAzCreds struct {
	AppID       string `json:"appId"`
	DisplayName string `json:"displayName"`
	Password    string `json:"password"`
	Tenant      string `json:"tenant"`
}

func (c *realAzCreds) parse(t *testing.T, out string) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), c); err != nil || c.AppID == "" || c.Password == "" || c.Tenant == "" {
		t.Fatalf("create-for-rbac printed %q (%v)", out, err)
	}
}

// login signs az in as the service principal.
func (c *realAz) login(p realAzCreds, tenant string) {
	c.t.Helper()
	c.must("login", "--service-principal", "-u", p.AppID, "-p", p.Password, "--tenant", tenant, "-o", "none")
}

// fail runs az expecting it to fail and returns its stderr (without
// --debug's noise: the error az prints).
func (c *realAz) fail(args ...string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.az, args...)
	cmd.Env, cmd.Dir, cmd.WaitDelay = c.env, c.work, 5*time.Second
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	fmt.Fprintf(&c.timings, "  %6s  az %s (expected to fail)\n", time.Since(start).Round(100*time.Millisecond), redactArgs(args))
	if err == nil {
		c.t.Fatalf("az %s succeeded; want a failure\n%s", redactArgs(args), stdout.String())
	}
	return stderr.String()
}

// redactArgs joins az's arguments for the test log, without the value of
// a password argument.
func redactArgs(args []string) string {
	out := slices.Clone(args)
	for i := 1; i < len(out); i++ {
		if out[i-1] == "-p" || out[i-1] == "--password" || out[i-1] == "--account-key" {
			out[i] = "<redacted>"
		}
	}
	return strings.Join(out, " ")
}

// platformClient fetches from the front door over HTTPS, trusting only
// the platform root, with every name dialled at 127.0.0.1:<port>.
type platformHTTP struct{ client *http.Client }

func platformClient(t *testing.T, caFile string, port int) platformHTTP {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	return platformHTTP{client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}}
}

func (p platformHTTP) get(t *testing.T, u string) (int, string) {
	t.Helper()
	return p.getAuth(t, u, "", "")
}

// getAuth is get with HTTP basic credentials, unless user is "".
func (p platformHTTP) getAuth(t *testing.T, u, user, pass string) (int, string) {
	t.Helper()
	return p.send(t, http.MethodGet, u, user, pass, nil)
}

// send sends a request with body (nil: none) and HTTP basic credentials,
// unless user is "", and returns the status and the body's first MB.
func (p platformHTTP) send(t *testing.T, method, u, user, pass string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

func wantJSON(t *testing.T, out, key, want string) {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, out)
	}
	if got, _ := v[key].(string); !strings.EqualFold(got, want) {
		t.Fatalf("%s = %q, want %q in\n%s", key, got, want, out)
	}
}

// zipText returns the text of the files in the zip at path whose names end
// with suffix, one after the other.
func zipText(t *testing.T, path, suffix string) string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatalf("%s is not a zip: %v", path, err)
	}
	defer zr.Close()
	var text strings.Builder
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, suffix) {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("opening %s in %s: %v", f.Name, path, err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("reading %s in %s: %v", f.Name, path, err)
		}
		text.Write(b)
	}
	return text.String()
}

// realAz runs the real az with a private configuration directory, the
// platform root as its only trusted CA, and the test-only name resolution.
type realAz struct {
	t       *testing.T
	az      string
	env     []string
	dir     string // working directory; "" for a temp dir
	work    string
	logs    string
	n       int
	lastLog string // the last successful command's --debug output
	timings strings.Builder
}

func newRealAz(t *testing.T, az, caFile string) *realAz {
	root := t.TempDir()
	c := &realAz{t: t, az: az, work: filepath.Join(root, "cwd"), logs: os.Getenv("REALAZ_LOGDIR")}
	if c.logs == "" {
		c.logs = filepath.Join(root, "logs")
	}
	site := filepath.Join(root, "site")
	for _, d := range []string{c.work, c.logs, site, filepath.Join(root, "home"), filepath.Join(root, "azure"), filepath.Join(root, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(site, "sitecustomize.py"), []byte(realAzSiteCustomize), 0o644); err != nil {
		t.Fatal(err)
	}
	c.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(root, "home"),
		"LANG=C.UTF-8",
		"AZURE_CONFIG_DIR=" + filepath.Join(root, "azure"),
		// az webapp up leaves its zip in the temporary directory.
		"TMPDIR=" + filepath.Join(root, "tmp"),
		"AZURE_CORE_COLLECT_TELEMETRY=no",
		"AZURE_CORE_NO_COLOR=true",
		"AZURE_CORE_ONLY_SHOW_ERRORS=true",
		"AZURE_CORE_SURVEY_MESSAGE=false",
		"AZURE_EXTENSION_USE_DYNAMIC_INSTALL=no",
		// MSAL would otherwise ask login.microsoftonline.com about the
		// authority (docs/arm.md §2.3).
		"AZURE_CORE_INSTANCE_DISCOVERY=false",
		"REQUESTS_CA_BUNDLE=" + caFile,
		"SSL_CERT_FILE=" + caFile,
		"PYTHONPATH=" + site,
	}
	return c
}

// realAzSiteCustomize is imported by every Python process az starts (site
// imports sitecustomize from PYTHONPATH): *.localhost resolves to
// 127.0.0.1 (the port is the one az asked for), loopback addresses pass,
// every other name fails to resolve.
const realAzSiteCustomize = `# Test-only (cmd/slipway/realaz_test.go): name resolution for the real az.
import socket

_getaddrinfo = socket.getaddrinfo


def _slipway_getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    h = host.decode() if isinstance(host, bytes) else host
    if h is not None:
        name = h.lower().rstrip(".")
        if name == "localhost" or name.endswith(".localhost"):
            return _getaddrinfo("127.0.0.1", port, socket.AF_INET, type, proto, flags)
        if name not in ("127.0.0.1", "::1"):
            raise socket.gaierror(socket.EAI_NONAME, "test: only *.localhost resolves, not " + h)
    return _getaddrinfo(host, port, family, type, proto, flags)


socket.getaddrinfo = _slipway_getaddrinfo
`

func (c *realAz) must(args ...string) string {
	c.t.Helper()
	return c.mustTimeout(2*time.Minute, args...)
}

// mustTimeout runs az with --debug (into a log file) and fails the test
// unless it exits 0; it returns stdout.
func (c *realAz) mustTimeout(d time.Duration, args ...string) string {
	c.t.Helper()
	c.n++
	logFile := filepath.Join(c.logs, fmt.Sprintf("%02d-%s.log", c.n, strings.Join(args[:min(len(args), 3)], "-")))
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.az, append(args, "--debug")...)
	cmd.Env = c.env
	cmd.Dir = c.dir
	if cmd.Dir == "" {
		cmd.Dir = c.work
	}
	cmd.WaitDelay = 5 * time.Second
	var stdout strings.Builder
	stderr, err := os.Create(logFile)
	if err != nil {
		c.t.Fatal(err)
	}
	defer stderr.Close()
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start).Round(100 * time.Millisecond)
	fmt.Fprintf(&c.timings, "  %6s  az %s\n", took, redactArgs(args))
	b, _ := os.ReadFile(logFile)
	c.lastLog = string(b)
	if err != nil {
		c.t.Fatalf("az %s: %v after %s (ctx %v)\nstdout:\n%s\nstderr (--debug, %s), last lines:\n%s",
			redactArgs(args), err, took, ctx.Err(), stdout.String(), logFile, tail(string(b), 80))
	}
	return stdout.String()
}
