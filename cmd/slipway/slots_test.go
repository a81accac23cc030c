package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// slotApp answers "<VERSION>|<ENV_NAME>|<GREETING>": the code it runs and
// the settings it was started with.
const slotApp = `import os
VERSION = open(os.path.join(os.path.dirname(__file__), "VERSION")).read().strip()
def app(environ, start_response):
    body = ("%s|%s|%s" % (VERSION, os.environ.get("ENV_NAME", ""), os.environ.get("GREETING", ""))).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
`

// deploySlot zip-deploys version to the app or one of its slots through
// that slot's own Kudu and publishing credentials.
func (s *testServer) deploySlot(app, slot, version string) {
	s.t.Helper()
	s.deploySlotCode(app, slot, version, slotApp)
}

// deploySlotCode is deploySlot with app.py's code given.
func (s *testServer) deploySlotCode(app, slot, version, code string) {
	s.t.Helper()
	s.deploySlotFiles(app, slot, map[string]string{"VERSION": version, "app.py": code})
}

// deploySlotFiles is deploySlot with the files (path → content) that the
// zip of testdata/apps/hello gets over its own.
func (s *testServer) deploySlotFiles(app, slot string, files map[string]string) {
	s.t.Helper()
	host := app
	if slot != "" {
		host = app + "-" + slot
	}
	user, pass := s.slotCredentials(app, slot)
	z := zipDir(s.t, "testdata/apps/hello", files)
	scm := "http://" + strings.Replace(s.host(host), ".localhost", ".scm.localhost", 1)
	if out, err := s.curl("-X", "POST", "-u", user+":"+pass, "--data-binary", "@"+z, "-o", "/dev/null", "-w", "%{http_code}", scm+"/api/zipdeploy"); err != nil || out != "200" {
		s.t.Fatalf("deploy %s to %s: %q %v\n%s", files["VERSION"], host, out, err, s.deploymentLog(host, user, pass, "latest"))
	}
}

// slotCredentials returns the publishing user name and password of the
// app's slot ("" for production).
func (s *testServer) slotCredentials(app, slot string) (user, pass string) {
	s.t.Helper()
	args := []string{"webapp", "deployment", "list-publishing-credentials", "-g", "rg-" + app, "-n", app}
	if slot != "" {
		args = append(args, "--slot", slot)
	}
	var cred struct{ PublishingUserName, PublishingPassword string }
	if err := json.Unmarshal([]byte(s.mustCLI("", args...)), &cred); err != nil {
		s.t.Fatal(err)
	}
	return cred.PublishingUserName, cred.PublishingPassword
}

// Acceptance 1 (issue 12): a staging slot with its own settings and a
// sticky one; v2 deployed to staging is swapped in under load — at least
// 10,000 requests from 20 clients, none failed — and production then serves
// v2 with production's sticky setting while staging serves v1.
func TestSlotSwapUnderLoad(t *testing.T) {
	s := startServer(t)
	s.createAppOn("swp", "S1", "GREETING=g1")
	s.mustCLI("", "webapp", "config", "appsettings", "set", "-g", "rg-swp", "-n", "swp", "--slot-settings", "ENV_NAME=prod")
	s.mustCLI("", "webapp", "deployment", "slot", "create", "-g", "rg-swp", "-n", "swp", "--slot", "staging")
	s.mustCLI("", "webapp", "config", "appsettings", "set", "-g", "rg-swp", "-n", "swp", "--slot", "staging", "--settings", "GREETING=g2")
	s.mustCLI("", "webapp", "config", "appsettings", "set", "-g", "rg-swp", "-n", "swp", "--slot", "staging", "--slot-settings", "ENV_NAME=staging")
	s.deploySlot("swp", "", "v1")
	s.deploySlot("swp", "staging", "v2")
	app, staging := s.host("swp"), s.host("swp-staging")
	eventually(t, 60*time.Second, "both slots serve their version", func() bool {
		_, a := s.get(app, "/")
		_, b := s.get(staging, "/")
		return a == "v1|prod|g1" && b == "v2|staging|g2"
	})
	if out := s.mustCLI("", "webapp", "deployment", "slot", "list", "-g", "rg-swp", "-n", "swp"); !strings.Contains(out, `"name": "staging"`) {
		t.Fatalf("slot list: %s", out)
	}

	l := s.loadGen("http://"+app+"/", 20, 2*time.Millisecond, func(status int, body string) error {
		if status != 200 || (body != "v1|prod|g1" && body != "v2|prod|g2") {
			return fmt.Errorf("%d %s", status, body)
		}
		return nil
	})
	time.Sleep(2 * time.Second)
	began := time.Now()
	s.mustCLI("", "webapp", "deployment", "slot", "swap", "-g", "rg-swp", "-n", "swp", "--slot", "staging")
	t.Logf("swap command took %s", time.Since(began).Round(time.Millisecond))
	for deadline := time.Now().Add(90 * time.Second); l.total.Load() < 10000 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	total, failed, errs := l.end()
	if total < 10000 {
		t.Fatalf("only %d requests were made; want at least 10,000", total)
	}
	if failed != 0 {
		t.Fatalf("%d of %d requests failed across the swap; first: %v", failed, total, errs)
	}
	if _, a := s.get(app, "/"); a != "v2|prod|g2" {
		t.Fatalf("production after the swap: %q, want v2 with production's sticky setting", a)
	}
	if _, b := s.get(staging, "/"); b != "v1|staging|g1" {
		t.Fatalf("staging after the swap: %q, want v1 with staging's sticky setting", b)
	}
	t.Logf("%d requests, none failed", total)

	// Traffic routing: ?x-ms-routing-name picks the slot and pins it.
	s.mustCLI("", "webapp", "traffic-routing", "set", "-g", "rg-swp", "-n", "swp", "--distribution", "staging=0")
	resp, err := s.client.Get("http://" + app + "/?x-ms-routing-name=staging")
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 64)
	n, _ := resp.Body.Read(b)
	resp.Body.Close()
	if string(b[:n]) != "v1|staging|g1" || !strings.Contains(resp.Header.Get("Set-Cookie"), "x-ms-routing-name=staging") {
		t.Fatalf("routed to staging: %q, cookie %q", b[:n], resp.Header.Get("Set-Cookie"))
	}
}
