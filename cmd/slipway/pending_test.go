package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestDeploymentThatDidNotStartStartsOnSettingsChange follows Microsoft's
// tutorials that deploy an app before they give it the settings it reads
// (the managed-identity Flask tutorial, docs/conformance.md): the first
// deployment fails because the app does not start, and the previous
// version keeps serving; setting the missing app setting with the CLI
// restarts the app, which starts the version that failed — as App Service
// starts the files the deployment left in wwwroot — and it becomes the
// active deployment.
func TestDeploymentThatDidNotStartStartsOnSettingsChange(t *testing.T) {
	s := startServer(t)
	s.createApp("tut")
	user, pass := s.credentials("tut")
	scm, app := "http://"+strings.Replace(s.host("tut"), ".localhost", ".scm.localhost", 1), s.host("tut")
	if code := s.deployZip("tut", zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": "v1"})); code != "200" {
		t.Fatalf("deploy v1: %s", code)
	}
	if code, body := s.get(app, "/"); code != 200 || body != "hello v1" {
		t.Fatalf("GET / = %d %q, want hello v1", code, body)
	}

	needs := "import os\nUSER = os.environ[\"DBUSER\"]  # KeyError until the setting exists\n\n\n" +
		"def app(environ, start_response):\n" +
		"    body = f\"hello {USER}\".encode()\n" +
		"    start_response(\"200 OK\", [(\"Content-Type\", \"text/plain\"), (\"Content-Length\", str(len(body)))])\n" +
		"    return [body]\n"
	z := zipDir(t, "testdata/apps/hello", map[string]string{"app.py": needs})
	if out, err := s.curl("-X", "POST", "-u", user+":"+pass, "--data-binary", "@"+z, "-o", "/dev/null", "-w", "%{http_code}", scm+"/api/zipdeploy?isAsync=true"); err != nil || out != "202" {
		t.Fatalf("deploy: %q %v", out, err)
	}
	d := s.waitDeployment("tut", user, pass)
	if d["status"] != float64(3) {
		t.Fatalf("status = %v, want 3 (failed): %v", d["status"], d)
	}
	id := d["id"].(string)
	log := s.deploymentLog("tut", user, pass, id)
	for _, want := range []string{"did not start", "previous version keeps serving", "next restart starts it"} {
		if !strings.Contains(log, want) {
			t.Errorf("the deployment's log lacks %q:\n%s", want, log)
		}
	}
	if code, body := s.get(app, "/"); code != 200 || body != "hello v1" {
		t.Fatalf("GET / after the failed deployment = %d %q, want hello v1", code, body)
	}
	// Why it did not start: the app's traceback in its startup log, as
	// the CLI shows it (az webapp log startup show).
	var startup struct{ Filename, Outcome, Instance, Content string }
	if out := s.mustCLI("", "webapp", "log", "startup", "show", "-g", "rg-tut", "-n", "tut"); json.Unmarshal([]byte(out), &startup) != nil ||
		startup.Outcome != "failure" || startup.Instance == "" || !strings.Contains(startup.Content, "KeyError: 'DBUSER'") {
		t.Errorf("webapp log startup show after the failed deployment:\n%s", out)
	}
	if out := s.mustCLI("", "webapp", "log", "startup", "list", "-g", "rg-tut", "-n", "tut", "--outcome", "failure"); !strings.Contains(out, startup.Filename) {
		t.Errorf("webapp log startup list --outcome failure lacks %s:\n%s", startup.Filename, out)
	}

	s.mustCLI("", "webapp", "config", "appsettings", "set", "-g", "rg-tut", "-n", "tut", "--settings", "DBUSER=alice")
	if code, body := s.get(app, "/"); code != 200 || body != "hello alice" {
		t.Fatalf("GET / after the setting = %d %q, want hello alice", code, body)
	}
	body, err := s.curl("-u", user+":"+pass, scm+"/api/deployments/"+id)
	var got map[string]any
	if err != nil || json.Unmarshal([]byte(body), &got) != nil {
		t.Fatalf("GET /api/deployments/%s: %v %s", id, err, body)
	}
	if got["active"] != true || got["status"] != float64(4) {
		t.Errorf("deployment after it started = %v; want active, status 4", got)
	}
}
