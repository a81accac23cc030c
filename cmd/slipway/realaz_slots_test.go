package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/server"
)

// realAzEnv is a Slipway server with the real az registered as a cloud
// and signed in as an Owner service principal of the subscription.
type realAzEnv struct {
	s    *testServer
	info struct {
		TenantID       string `json:"tenantId"`
		SubscriptionID string `json:"subscriptionId"`
		CAFile         string `json:"caFile"`
	}
	port  int
	sub   string
	cli   *realAz
	web   platformHTTP
	owner realAzCreds
}

// startRealAz starts a server and signs the real az in: the first service
// principal, an Owner, is made with Slipway's CLI and the admin token (az
// cannot sign in without one); the cloud is registered by endpoint
// discovery (az GETs <mgmt>/metadata/endpoints without credentials and
// takes the login endpoint, the audience, Graph and the Key Vault suffix
// from it). extra are more `slipway server` flags.
func startRealAz(t *testing.T, az string, extra ...string) *realAzEnv {
	t.Helper()
	return startRealAzEdit(t, az, nil, extra...)
}

// startRealAzEdit is startRealAz with edit adjusting the server's
// configuration (a stand-in PostgreSQL backend).
func startRealAzEdit(t *testing.T, az string, edit func(*server.Config), extra ...string) *realAzEnv {
	t.Helper()
	args := append([]string{}, extra...)
	if os.Geteuid() != 0 {
		args = append(args, "--allow-shared-network") // two apps without containers
	}
	r := &realAzEnv{s: startServerEdit(t, filepath.Join(t.TempDir(), "data"), edit, args...)}
	info := &r.info
	if b, err := os.ReadFile(filepath.Join(r.s.data, "server.json")); err != nil || json.Unmarshal(b, info) != nil || info.TenantID == "" || info.CAFile == "" {
		t.Fatalf("server.json has no tenantId or caFile: %v", err)
	}
	r.port = r.s.info.HTTPPort
	r.sub = "/subscriptions/" + info.SubscriptionID
	r.cli = newRealAz(t, az, info.CAFile)
	r.web = platformClient(t, info.CAFile, r.port)
	port, cli := r.port, r.cli
	mgmt := fmt.Sprintf("https://management.localhost:%d/", port)

	r.owner.parse(t, r.s.mustCLI("", "ad", "sp", "create-for-rbac", "-n", "realaz-owner", "--role", "Owner", "--scopes", r.sub))

	cli.must("cloud", "register", "-n", "slipway", "--endpoint-resource-manager", mgmt)
	out := cli.must("cloud", "show", "-n", "slipway", "-o", "json")
	var cloud struct {
		Endpoints map[string]string `json:"endpoints"`
		Suffixes  map[string]string `json:"suffixes"`
	}
	json.Unmarshal([]byte(out), &cloud)
	if cloud.Endpoints["resourceManager"] != mgmt || cloud.Endpoints["activeDirectoryResourceId"] != mgmt ||
		strings.TrimSuffix(cloud.Endpoints["activeDirectory"], "/") != fmt.Sprintf("https://login.localhost:%d", port) ||
		cloud.Endpoints["microsoftGraphResourceId"] != fmt.Sprintf("https://graph.localhost:%d/", port) ||
		cloud.Suffixes["keyvaultDns"] != fmt.Sprintf(".vault.localhost:%d", port) {
		t.Fatalf("registered cloud: %s", out)
	}
	cli.must("cloud", "set", "-n", "slipway")

	cli.login(r.owner, info.TenantID)
	out = cli.must("account", "show", "-o", "json")
	var acct struct {
		ID          string `json:"id"`
		Environment string `json:"environmentName"`
	}
	json.Unmarshal([]byte(out), &acct)
	if acct.ID != info.SubscriptionID || acct.Environment != "slipway" {
		t.Fatalf("account show: %s", out)
	}
	return r
}

// realAzPath is the unmodified az CI installs, or a skip.
func realAzPath(t *testing.T) string {
	t.Helper()
	az, _ := filepath.Abs("../../.ci/azcli/bin/az")
	if _, err := os.Stat(az); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the real az is missing at %s; CI installs azure-cli there", az)
		}
		t.Skipf("the real az is not installed at %s (CI installs it)", az)
	}
	return az
}

// TestRealAzSlots is acceptance 6 of the slots issue: the unmodified az
// runs `webapp deployment slot create`, `slot list`, `webapp config
// appsettings set --slot-settings`, `webapp deploy --slot` and `slot swap`
// against Slipway over its own HTTPS, on a Standard (S1) plan as Azure
// requires for slots; then each slot serves the other's code with its own
// sticky setting.
func TestRealAzSlots(t *testing.T) {
	t.Parallel() // its own server and names; az mostly waits (CI time)
	r := startRealAz(t, realAzPath(t))
	cli, web, port := r.cli, r.web, r.port
	rg, plan, app := "rg-realaz-slots", "plan-realaz-slots", "realaz-slots"
	serves := func(host string) string {
		t.Helper()
		code, body := web.get(t, fmt.Sprintf("https://%s.localhost:%d/", host, port))
		if code != 200 {
			t.Fatalf("GET https://%s/ = %d %q", host, code, body)
		}
		return body
	}

	cli.must("group", "create", "-n", rg, "-l", "westeurope", "-o", "none")
	out := cli.must("appservice", "plan", "create", "-g", rg, "-n", plan, "--is-linux", "--sku", "S1", "-o", "json")
	wantJSON(t, out, "name", plan)
	cli.must("webapp", "create", "-g", rg, "-p", plan, "-n", app, "--runtime", "PYTHON:3.12", "-o", "none")
	cli.must("webapp", "config", "appsettings", "set", "-g", rg, "-n", app, "--settings", "GREETING=g1", "-o", "none")
	out = cli.must("webapp", "config", "appsettings", "set", "-g", rg, "-n", app, "--slot-settings", "ENV_NAME=prod", "-o", "json")
	// az 2.91 prints the settings after a set with every value null
	// (redacted on its side); `appsettings list` shows them.
	wantSetting(t, out, "ENV_NAME", "", true)
	zip := func(version string) string {
		return zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": version, "app.py": slotApp})
	}
	cli.mustTimeout(5*time.Minute, "webapp", "deploy", "-g", rg, "-n", app, "--src-path", zip("v1"), "--type", "zip", "-o", "none")

	out = cli.must("webapp", "deployment", "slot", "create", "-g", rg, "-n", app, "--slot", "staging", "-o", "json")
	var created struct{ Name, Type, DefaultHostName string }
	// ARM names the slot "realaz-slots/staging"; az prints the last part.
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Name != "staging" ||
		!strings.EqualFold(created.Type, "Microsoft.Web/sites/slots") || !strings.HasPrefix(created.DefaultHostName, app+"-staging.") {
		t.Fatalf("slot create printed (%v):\n%s", err, out)
	}
	out = cli.must("webapp", "deployment", "slot", "list", "-g", rg, "-n", app, "-o", "json")
	var slots []struct{ Name string }
	if err := json.Unmarshal([]byte(out), &slots); err != nil || len(slots) != 1 || slots[0].Name != "staging" {
		t.Fatalf("slot list (%v):\n%s", err, out)
	}
	cli.must("webapp", "config", "appsettings", "set", "-g", rg, "-n", app, "--slot", "staging", "--settings", "GREETING=g2", "-o", "none")
	out = cli.must("webapp", "config", "appsettings", "set", "-g", rg, "-n", app, "--slot", "staging", "--slot-settings", "ENV_NAME=staging", "STICKY=1", "-o", "json")
	wantSetting(t, out, "STICKY", "", true)
	wantSetting(t, out, "GREETING", "", false)
	cli.mustTimeout(5*time.Minute, "webapp", "deploy", "-g", rg, "-n", app, "--slot", "staging", "--src-path", zip("v2"), "--type", "zip", "-o", "none")
	if a, b := serves(app), serves(app+"-staging"); a != "v1|prod|g1" || b != "v2|staging|g2" {
		t.Fatalf("before the swap production serves %q, staging %q", a, b)
	}

	cli.mustTimeout(5*time.Minute, "webapp", "deployment", "slot", "swap", "-g", rg, "-n", app, "--slot", "staging", "--target-slot", "production")
	if a, b := serves(app), serves(app+"-staging"); a != "v2|prod|g2" || b != "v1|staging|g1" {
		t.Fatalf("after the swap production serves %q, staging %q; want v2|prod|g2 and v1|staging|g1", a, b)
	}
	out = cli.must("webapp", "config", "appsettings", "list", "-g", rg, "-n", app, "--slot", "staging", "-o", "json")
	wantSetting(t, out, "STICKY", "1", true)
	wantSetting(t, out, "GREETING", "g1", false)
	t.Logf("az timings:\n%s", cli.timings.String())
}

// wantSetting finds name in the list az prints for app settings
// ([{name, value, slotSetting}]); value "" does not check the value.
func wantSetting(t *testing.T, out, name, value string, sticky bool) {
	t.Helper()
	var list []struct {
		Name        string `json:"name"`
		Value       string `json:"value"`
		SlotSetting bool   `json:"slotSetting"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("app settings are not a JSON list: %v\n%s", err, out)
	}
	for _, s := range list {
		if s.Name == name {
			if (value != "" && s.Value != value) || s.SlotSetting != sticky {
				t.Fatalf("%s = %q (slotSetting %v), want %q (%v) in\n%s", name, s.Value, s.SlotSetting, value, sticky, out)
			}
			return
		}
	}
	t.Fatalf("no app setting %s in\n%s", name, out)
}
