package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestRealAzAutoscale: the installed az's `monitor autoscale` commands
// (create, rule create|list|delete, update, show, list, delete) against
// the server's Microsoft.Insights/autoscalesettings.
func TestRealAzAutoscale(t *testing.T) {
	r := startRealAz(t, realAzPath(t))
	cli := r.cli
	rg, plan := "rg-realaz-as", "plan-realaz-as"
	cli.must("group", "create", "-n", rg, "-l", "westeurope", "-o", "none")
	cli.must("appservice", "plan", "create", "-g", rg, "-n", plan, "--is-linux", "--sku", "S1", "-o", "none")

	out := cli.must("monitor", "autoscale", "create", "-g", rg, "--resource", plan, "--resource-type", "Microsoft.Web/serverfarms",
		"--name", "as1", "--min-count", "1", "--max-count", "3", "--count", "1", "-o", "json")
	wantJSON(t, out, "name", "as1")
	cli.must("monitor", "autoscale", "rule", "create", "-g", rg, "--autoscale-name", "as1",
		"--condition", "CpuPercentage > 70 avg 10m", "--scale", "out", "1", "-o", "none")
	cli.must("monitor", "autoscale", "rule", "create", "-g", rg, "--autoscale-name", "as1",
		"--condition", "HttpQueueLength < 5 avg 10m", "--scale", "in", "1", "-o", "none")
	out = cli.must("monitor", "autoscale", "rule", "list", "-g", rg, "--autoscale-name", "as1", "-o", "json")
	var rules []struct {
		MetricTrigger struct{ MetricName, Operator, TimeWindow string }
		ScaleAction   struct{ Direction, Cooldown string }
	}
	if err := json.Unmarshal([]byte(out), &rules); err != nil || len(rules) != 2 || rules[0].MetricTrigger.MetricName != "CpuPercentage" ||
		rules[1].ScaleAction.Direction != "Decrease" || rules[0].ScaleAction.Cooldown != "PT5M" {
		t.Fatalf("rule list (%v):\n%s", err, out)
	}
	if out := cli.fail("monitor", "autoscale", "update", "-g", rg, "-n", "as1", "--max-count", "11", "-o", "none"); !strings.Contains(out, "limit of 10") {
		t.Fatalf("update --max-count 11 on Standard:\n%s", out)
	}
	out = cli.must("monitor", "autoscale", "update", "-g", rg, "-n", "as1", "--count", "2", "--enabled", "false", "-o", "json")
	if !strings.Contains(out, `"default": "2"`) || !strings.Contains(out, `"enabled": false`) {
		t.Fatalf("update:\n%s", out)
	}
	cli.must("monitor", "autoscale", "rule", "delete", "-g", rg, "--autoscale-name", "as1", "--index", "0", "-o", "none")
	out = cli.must("monitor", "autoscale", "show", "-g", rg, "-n", "as1", "-o", "json")
	if strings.Contains(out, "CpuPercentage") || !strings.Contains(out, "HttpQueueLength") {
		t.Fatalf("show after rule delete:\n%s", out)
	}
	if out := cli.must("monitor", "autoscale", "list", "-g", rg, "-o", "json"); !strings.Contains(out, `"as1"`) {
		t.Fatalf("list:\n%s", out)
	}
	cli.must("monitor", "autoscale", "delete", "-g", rg, "-n", "as1", "-o", "none")
	cli.fail("monitor", "autoscale", "show", "-g", rg, "-n", "as1", "-o", "none")
}
