package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nodeWith returns a node that can require each module (found through
// NODE_PATH, which scripts/test sets to .ci/node's), or skips the test
// outside CI and fails it in CI, which installs them (scripts/setup).
func nodeWith(t *testing.T, modules ...string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	for _, m := range modules {
		if err == nil {
			err = exec.Command(node, "-e", "require('"+m+"')").Run()
		}
	}
	if err != nil {
		msg := "node with " + strings.Join(modules, ", ") + " is not available (scripts/setup installs them into .ci/node; scripts/test sets NODE_PATH)"
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: %v", msg, err)
		}
		t.Skipf("%s: %v", msg, err)
	}
	return node
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
	node := nodeWith(t, "azure-actions-appservice-rest/Kudu/azure-app-kudu-service", "xml2js")
	s := startServer(t)
	s.createApp("gha", "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
	profile := filepath.Join(t.TempDir(), "gha.PublishSettings")
	if err := os.WriteFile(profile, []byte(s.mustCLI("", "webapp", "deployment", "list-publishing-profiles", "-g", "rg-gha", "-n", "gha", "--xml")), 0o600); err != nil {
		t.Fatal(err)
	}
	const sha = "3f786850e387550fdab836ed7e6dc881de23001b"
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/github_action_deploy.cjs")
	cmd.Env = append(os.Environ(),
		"NODE_EXTRA_CA_CERTS="+s.info.CAFile,
		"PUBLISH_PROFILE="+profile,
		"PACKAGE="+zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": "from-actions"}),
		"GITHUB_SHA="+sha, "GITHUB_ACTOR=octocat", "GITHUB_REPOSITORY=octo/hello",
		"RUNNER_TEMP="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the action's deployment failed: %v\n%s", err, out)
	}
	// @actions/core prints warnings and errors as workflow commands.
	if strings.Contains(string(out), "::warning::") || strings.Contains(string(out), "::error::") {
		t.Errorf("the action warned or failed:\n%s", out)
	}
	var res struct {
		OSName             string `json:"osName"`
		IsLinux            bool   `json:"isLinux"`
		DeploymentID       string `json:"deploymentID"`
		ActiveDeploymentID string `json:"activeDeploymentID"`
		AppURL             string `json:"appUrl"`
	}
	_, line, _ := strings.Cut(string(out), "RESULT ")
	if err := json.Unmarshal([]byte(strings.TrimSpace(line)), &res); err != nil || !res.IsLinux || res.DeploymentID == "" ||
		!strings.HasPrefix(res.ActiveDeploymentID, sha) || res.AppURL == "" {
		t.Fatalf("what the action learnt: %v %+v\n%s", err, res, out)
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
