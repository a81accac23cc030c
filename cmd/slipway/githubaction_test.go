package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/nodetest"
)

// runAction runs testdata/github_action_deploy.cjs with env, fails the
// test if it fails or prints one of the action's warnings (@actions/core
// prints them as workflow commands) or any of the phrases, and decodes
// what it learnt into res.
func runAction(t *testing.T, node string, env []string, res any, phrases ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/github_action_deploy.cjs")
	cmd.Env = append(env, "GITHUB_ACTOR=octocat", "GITHUB_REPOSITORY=octo/hello", "RUNNER_TEMP="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the action's deployment failed: %v\n%s", err, out)
	}
	for _, p := range append(phrases, "::warning::", "::error::") {
		if strings.Contains(string(out), p) {
			t.Errorf("the action said %q:\n%s", p, out)
		}
	}
	_, line, _ := strings.Cut(string(out), "RESULT ")
	if err := json.Unmarshal([]byte(strings.TrimSpace(line)), res); err != nil {
		t.Fatalf("the action's result: %v\n%s", err, out)
	}
}

// TestGitHubActionDeploy deploys an app as the GitHub Action for App
// Service (Azure/webapps-deploy) does with a publish profile, through the
// library the action is built on (azure-actions-appservice-rest from npm;
// testdata/github_action_deploy.cjs follows the action's few steps of its
// own): Kudu's /diagnostics/runtime tells it the app runs on Linux, it
// warms Kudu up, deploys with OneDeploy and polls it, then records the
// run in Kudu's deployment history (PUT /api/deployments/{id} with a
// status body) and looks for the deployment's manifest. Every step must
// pass without the warnings the action prints when a call fails, the app
// serves the new version, and the history holds the deployment (active)
// and the action's record (history only).
func TestGitHubActionDeploy(t *testing.T) {
	node := nodetest.Node(t, "azure-actions-appservice-rest/Kudu/azure-app-kudu-service", "xml2js")
	s := startServer(t)
	s.createApp("gha", "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
	profile := filepath.Join(t.TempDir(), "gha.PublishSettings")
	if err := os.WriteFile(profile, []byte(s.mustCLI("", "webapp", "deployment", "list-publishing-profiles", "-g", "rg-gha", "-n", "gha", "--xml")), 0o600); err != nil {
		t.Fatal(err)
	}
	const sha = "3f786850e387550fdab836ed7e6dc881de23001b"
	var res struct {
		OSName             string `json:"osName"`
		IsLinux            bool   `json:"isLinux"`
		DeploymentID       string `json:"deploymentID"`
		ActiveDeploymentID string `json:"activeDeploymentID"`
		AppURL             string `json:"appUrl"`
	}
	runAction(t, node, append(os.Environ(),
		"NODE_EXTRA_CA_CERTS="+s.info.CAFile,
		"PUBLISH_PROFILE="+profile,
		"PACKAGE="+zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": "from-actions"}),
		"GITHUB_SHA="+sha), &res)
	if !res.IsLinux || res.DeploymentID == "" || !strings.HasPrefix(res.ActiveDeploymentID, sha) || res.AppURL == "" {
		t.Fatalf("what the action learnt: %+v", res)
	}
	if code, body := s.get(s.host("gha"), "/"); code != 200 || body != "hello from-actions" {
		t.Fatalf("GET / after the action = %d %q, want hello from-actions", code, body)
	}

	user, pass := s.credentials("gha")
	scm := "http://" + strings.Replace(s.host("gha"), ".localhost", ".scm.localhost", 1)
	body, err := s.curl("-u", user+":"+pass, scm+"/api/deployments")
	var ds []struct {
		ID       string `json:"id"`
		Status   int    `json:"status"`
		Deployer string `json:"deployer"`
		Author   string `json:"author"`
		Message  string `json:"message"`
		Active   bool   `json:"active"`
		Complete bool   `json:"complete"`
	}
	if err != nil || json.Unmarshal([]byte(body), &ds) != nil || len(ds) != 2 {
		t.Fatalf("GET /api/deployments after the action: %v\n%s", err, body)
	}
	recorded, deployed := ds[0], ds[1]
	if recorded.ID != res.ActiveDeploymentID || recorded.Status != 4 || recorded.Deployer != "GitHub" || recorded.Author != "octocat" ||
		!strings.Contains(recorded.Message, sha) || recorded.Active || !recorded.Complete {
		t.Errorf("the action's record: %+v", recorded)
	}
	// KuduLite's OneDeploy records itself as deployer, whatever the query
	// says (PushDeploymentController.OneDeploy).
	if deployed.ID != res.DeploymentID || deployed.Status != 4 || deployed.Deployer != "OneDeploy" || !deployed.Active {
		t.Errorf("the action's deployment: %+v", deployed)
	}
	if log := s.deploymentLog("gha", user, pass, recorded.ID); !strings.Contains(log, "Deployment successful.") {
		t.Errorf("the record's log:\n%s", log)
	}
}

// TestRealAzGitHubActionDeploy deploys as the GitHub Action for App
// Service does after azure/login, with a service principal instead of a
// publish profile: the library takes the subscription, the cloud and its
// tokens from the real az on PATH (signed in as startRealAz does), finds
// the app through ARM's resource list, reaches Kudu with an ARM token at
// the app's Repository host name, reads the app's URL from its publish
// profile, deploys with OneDeploy, sets the startup-command input as the
// app's appCommandLine through ARM, and records the run. No step may warn
// or fall back (to publishing credentials), and the app must serve the new
// version under the new command.
func TestRealAzGitHubActionDeploy(t *testing.T) {
	t.Parallel() // its own server and names; az mostly waits (CI time)
	node := nodetest.Node(t, "azure-actions-appservice-rest/Kudu/azure-app-kudu-service", "azure-actions-webclient/AuthorizerFactory")
	az := realAzPath(t)
	r := startRealAz(t, az)
	cli, rg, plan, app := r.cli, "rg-gha-spn", "plan-gha-spn", "gha-spn"
	cli.must("group", "create", "-n", rg, "-l", "westeurope", "-o", "json")
	cli.must("appservice", "plan", "create", "-g", rg, "-n", plan, "--is-linux", "--sku", "B1", "-o", "json")
	cli.must("webapp", "create", "-g", rg, "-p", plan, "-n", app, "--runtime", "PYTHON:3.12", "-o", "json")
	cli.must("webapp", "config", "appsettings", "set", "-g", rg, "-n", app, "--settings", "SCM_DO_BUILD_DURING_DEPLOYMENT=true", "-o", "json")

	const sha = "9c1185a5c5e9fc54612808977ee8f548b2258d31"
	const startup = "gunicorn --bind=0.0.0.0 --timeout 600 --workers 2 app:app"
	env := append([]string(nil), cli.env...)
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			env[i] = "PATH=" + filepath.Dir(az) + string(os.PathListSeparator) + v // azure/login's az
		}
	}
	var res struct {
		ResourceGroup      string `json:"resourceGroup"`
		IsLinux            bool   `json:"isLinux"`
		KuduWithToken      bool   `json:"kuduWithToken"`
		AppURL             string `json:"appUrl"`
		DeploymentID       string `json:"deploymentID"`
		ActiveDeploymentID string `json:"activeDeploymentID"`
	}
	runAction(t, node, append(env,
		"NODE_PATH="+os.Getenv("NODE_PATH"),
		"NODE_EXTRA_CA_CERTS="+r.info.CAFile,
		"APP_NAME="+app,
		"PACKAGE="+zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": "from-spn"}),
		"STARTUP_COMMAND="+startup,
		"GITHUB_SHA="+sha), &res, "Falling back", "Failed to add release annotation")
	if res.ResourceGroup != rg || !res.IsLinux || !res.KuduWithToken || !strings.Contains(res.AppURL, app+".localhost") ||
		res.DeploymentID == "" || !strings.HasPrefix(res.ActiveDeploymentID, sha) {
		t.Fatalf("what the action learnt: %+v", res)
	}
	if got := strings.TrimSpace(cli.must("webapp", "config", "show", "-g", rg, "-n", app, "--query", "appCommandLine", "-o", "tsv")); got != startup {
		t.Errorf("appCommandLine after the action = %q, want %q", got, startup)
	}
	// The new command restarts the app; it serves the new version under it.
	url := fmt.Sprintf("https://%s.localhost:%d/", app, r.port)
	var code int
	var body string
	for end := time.Now().Add(2 * time.Minute); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		if code, body = r.web.get(t, url); code == 200 && body == "hello from-spn" {
			break
		}
	}
	if code != 200 || body != "hello from-spn" {
		t.Fatalf("GET %s after the action = %d %q, want hello from-spn", url, code, body)
	}

	// Basic authentication switched off as Microsoft documents it
	// (https://learn.microsoft.com/azure/app-service/configure-basic-auth-disable):
	// publishing credentials stop working at Kudu, and az deploys with an
	// Entra token instead (for the cloud's appServiceResourceId).
	out := cli.must("resource", "update", "-g", rg, "--name", "scm", "--namespace", "Microsoft.Web", "--resource-type", "basicPublishingCredentialsPolicies",
		"--parent", "sites/"+app, "--set", "properties.allow=false", "-o", "json")
	if !strings.Contains(out, `"allow": false`) {
		t.Fatalf("az resource update of the scm policy:\n%s", out)
	}
	user, pass := r.s.credentials(app)
	kudu := fmt.Sprintf("https://%s.scm.localhost:%d/api/deployments", app, r.port)
	if code, body := r.web.getAuth(t, kudu, user, pass); code != 401 || !strings.Contains(body, "Basic authentication is disabled") {
		t.Errorf("Kudu with the publishing credentials after basic auth was disabled: %d %q, want 401 saying so", code, body)
	}
	cli.mustTimeout(5*time.Minute, "webapp", "deploy", "-g", rg, "-n", app, "--type", "zip",
		"--src-path", zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": "from-entra"}), "-o", "json")
	for end := time.Now().Add(2 * time.Minute); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		if code, body = r.web.get(t, url); code == 200 && body == "hello from-entra" {
			break
		}
	}
	if code != 200 || body != "hello from-entra" {
		t.Fatalf("GET %s after az webapp deploy with an Entra token = %d %q, want hello from-entra", url, code, body)
	}
}
