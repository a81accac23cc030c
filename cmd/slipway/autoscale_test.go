package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// burnApp answers "/" after burning about 50 ms of CPU.
const burnApp = `import time


def app(environ, start_response):
    end = time.process_time() + 0.05
    n = 0
    while time.process_time() < end:
        n += 1
    body = b"burned"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
`

// TestAutoscale: with the evaluator every 2 s, an S1 plan whose app is
// kept busy burning CPU scales 1 → 2 on a CpuPercentage rule (no request
// fails meanwhile), and back to 1 once idle, after the cooldown; both
// decisions are in the platform log with the rule that fired. The busy
// app keeps one worker burning a whole core; the scale-out threshold sits
// well below that (30%), so that a CI machine busy with other tests still
// gives the worker enough CPU to cross it.
func TestAutoscale(t *testing.T) {
	s := startServer(t, "--autoscale-interval", "2s")
	s.createApp("busy")
	s.mustCLI("", "appservice", "plan", "update", "-g", "rg-busy", "-n", "plan-busy", "--sku", "S1")
	if code := s.deployZip("busy", zipDir(t, "testdata/apps/hello", map[string]string{"app.py": burnApp})); code != "200" {
		t.Fatalf("deploy: %s", code)
	}
	if code, body := s.get(s.host("busy"), "/"); code != 200 || body != "burned" {
		t.Fatalf("GET / = %d %q", code, body)
	}
	s.mustCLI("", "monitor", "autoscale", "create", "-g", "rg-busy", "--resource", "plan-busy", "--min-count", "1", "--max-count", "2", "--count", "1")
	s.mustCLI("", "monitor", "autoscale", "rule", "create", "-g", "rg-busy", "--autoscale-name", "plan-busy",
		"--condition", "CpuPercentage > 30 avg 5m", "--scale", "out", "1", "--cooldown", "1")
	s.mustCLI("", "monitor", "autoscale", "rule", "create", "-g", "rg-busy", "--autoscale-name", "plan-busy",
		"--condition", "CpuPercentage < 10 avg 5m", "--scale", "in", "1", "--cooldown", "1")
	workers := func() int {
		var p struct {
			SKU struct{ Capacity int } `json:"sku"`
		}
		if err := json.Unmarshal([]byte(s.mustCLI("", "appservice", "plan", "show", "-g", "rg-busy", "-n", "plan-busy")), &p); err != nil {
			t.Fatalf("plan show: %v", err)
		}
		return p.SKU.Capacity
	}

	began := time.Now()
	l := s.loadGen(s.url(s.host("busy"), "/"), 4, 0, nil)
	eventually(t, 2*time.Minute, "the busy plan scales out to 2", func() bool { return workers() == 2 && len(s.instances("busy")) == 2 })
	t.Logf("scaled out %s after the load began", time.Since(began).Round(time.Second))
	time.Sleep(5 * time.Second) // requests on both instances
	total, failed, errs := l.end()
	if ok := total - failed; failed != 0 || ok == 0 {
		t.Fatalf("during the scale-out %d requests failed (%d succeeded): %v", failed, total-failed, errs)
	}
	idle := time.Now()
	eventually(t, 6*time.Minute, "the idle plan scales in to 1", func() bool { return workers() == 1 })
	t.Logf("scaled in %s after the load ended", time.Since(idle).Round(time.Second))
	eventually(t, time.Minute, "one instance remains", func() bool { return len(s.instances("busy")) == 1 })
	if code, body := s.get(s.host("busy"), "/"); code != 200 || body != "burned" {
		t.Fatalf("GET / after the scale-in = %d %q", code, body)
	}
	log := s.stderr.String()
	for _, want := range []string{"from=1 to=2", "from=2 to=1", "CpuPercentage greaterthan 30", "CpuPercentage lessthan 10"} {
		if !strings.Contains(log, want) {
			t.Errorf("the platform log lacks %q:\n%s", want, tail(log, 40))
		}
	}
}
