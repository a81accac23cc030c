package main

import (
	"regexp"
	"testing"
	"time"
)

// Tests in this file reproduce the shapes of Microsoft's own Python samples
// and the deploy steps their tutorials give (docs/conformance.md, "Microsoft's
// Python samples"), with small apps of our own.

// TestMultiWorkersFollowThePlan is the shape the Django and Flask
// quickstarts' azd templates deploy: no startup command, and the app setting
// PYTHON_ENABLE_GUNICORN_MULTIWORKERS=true. App Service's Python container
// then runs gunicorn with (2 × CPUs) + 1 workers
// (https://github.com/microsoft/Oryx/blob/main/doc/configuration.md), the
// CPUs being those of the plan's worker — one on B1, two on B2
// (https://learn.microsoft.com/azure/app-service/overview-hosting-plans) —
// not those of whatever machine runs Slipway. A scale up restarts the app
// with the new size's count.
func TestMultiWorkersFollowThePlan(t *testing.T) {
	s := startServer(t)
	name := "multiworkers"
	s.createAppOn(name, "B1", "SCM_DO_BUILD_DURING_DEPLOYMENT=true", "PYTHON_ENABLE_GUNICORN_MULTIWORKERS=true")
	if code := s.deployZip(name, zipDir(t, "testdata/apps/hello", nil)); code != "200" {
		t.Fatalf("zipdeploy = %s, want 200", code)
	}
	workersFlag := regexp.MustCompile(`(?m)^GUNICORN_CMD_ARGS=.*--workers=(\d+)`)
	workers := func() string {
		code, body := s.get(s.host(name), "/env")
		if m := workersFlag.FindStringSubmatch(body); code == 200 && m != nil {
			return m[1]
		}
		return ""
	}
	if got := workers(); got != "3" {
		t.Fatalf("on B1 (1 core) gunicorn runs --workers=%s, want 3 = 2 × 1 + 1", got)
	}
	s.mustCLI("", "appservice", "plan", "update", "-g", "rg-"+name, "-n", "plan-"+name, "--sku", "B2")
	eventually(t, 2*time.Minute, "after the scale up to B2 (2 cores) gunicorn runs --workers=5", func() bool { return workers() == "5" })
}
