package cli

import (
	"strings"
	"testing"
)

// TestAutoscaleCommands drives `monitor autoscale` and `monitor autoscale
// rule` against the real management API and store.
func TestAutoscaleCommands(t *testing.T) {
	e := newStorageEnv(t)
	e.seedGroup()
	e.must("appservice", "plan", "create", "-g", "rg1", "-n", "plan1", "--sku", "B1", "--is-linux")
	if ee := e.fails("monitor", "autoscale", "create", "-g", "rg1", "--resource", "plan1", "--count", "1", "--max-count", "3"); !strings.Contains(ee.Error(), "Standard or above") {
		t.Fatalf("autoscale on Basic: %v", ee)
	}
	e.must("appservice", "plan", "update", "-g", "rg1", "-n", "plan1", "--sku", "S1")
	if ee := e.fails("monitor", "autoscale", "create", "-g", "rg1", "--resource", "plan1", "--count", "1", "--max-count", "11"); !strings.Contains(ee.Error(), "limit of 10") {
		t.Fatalf("max 11 on Standard: %v", ee)
	}
	as := e.must("monitor", "autoscale", "create", "-g", "rg1", "--resource", "plan1", "--resource-type", "Microsoft.Web/serverfarms",
		"--min-count", "1", "--max-count", "3", "--count", "1").(map[string]any)
	if as["name"] != "plan1" || as["enabled"] != true || !strings.HasSuffix(as["targetResourceUri"].(string), "/serverfarms/plan1") || as["resourceGroup"] != "rg1" {
		t.Fatalf("create = %v", as)
	}
	rule := e.must("monitor", "autoscale", "rule", "create", "-g", "rg1", "--autoscale-name", "plan1",
		"--condition", "CpuPercentage > 70 avg 10m", "--scale", "out", "1", "--cooldown", "3").(map[string]any)
	mt, sa := rule["metricTrigger"].(map[string]any), rule["scaleAction"].(map[string]any)
	if mt["metricName"] != "CpuPercentage" || mt["operator"] != "GreaterThan" || mt["threshold"] != 70.0 || mt["timeWindow"] != "PT10M" ||
		mt["timeAggregation"] != "Average" || mt["statistic"] != "Average" || mt["timeGrain"] != "PT1M" ||
		sa["direction"] != "Increase" || sa["value"] != "1" || sa["cooldown"] != "PT3M" || sa["type"] != "ChangeCount" {
		t.Fatalf("rule create = %v", rule)
	}
	e.must("monitor", "autoscale", "rule", "create", "-g", "rg1", "--autoscale-name", "plan1",
		"--condition", "CpuPercentage < 30 avg 10m", "--scale", "in", "1")
	if ee := e.fails("monitor", "autoscale", "rule", "create", "-g", "rg1", "--autoscale-name", "plan1",
		"--condition", "Requests > 30 avg 10m", "--scale", "in", "1"); !strings.Contains(ee.Error(), "metricName") {
		t.Fatalf("an unknown metric: %v", ee)
	}
	if ee := e.fails("monitor", "autoscale", "rule", "create", "-g", "rg1", "--autoscale-name", "plan1",
		"--condition", "CpuPercentage > 30 avg 10m", "--scale", "to", "2"); !strings.Contains(ee.Error(), "ChangeCount") {
		t.Fatalf("--scale to: %v", ee)
	}
	rules := e.must("monitor", "autoscale", "rule", "list", "-g", "rg1", "--autoscale-name", "plan1").([]any)
	if len(rules) != 2 || rules[1].(map[string]any)["index"] != 1.0 ||
		rules[1].(map[string]any)["scaleAction"].(map[string]any)["direction"] != "Decrease" {
		t.Fatalf("rule list = %v", rules)
	}

	up := e.must("monitor", "autoscale", "update", "-g", "rg1", "-n", "plan1", "--enabled", "false", "--count", "2").(map[string]any)
	capacity := up["profiles"].([]any)[0].(map[string]any)["capacity"].(map[string]any)
	if up["enabled"] != false || capacity["default"] != "2" || len(up["profiles"].([]any)[0].(map[string]any)["rules"].([]any)) != 2 {
		t.Fatalf("update = %v", up)
	}
	e.must("monitor", "autoscale", "rule", "delete", "-g", "rg1", "--autoscale-name", "plan1", "--index", "0")
	rules = e.must("monitor", "autoscale", "rule", "list", "-g", "rg1", "--autoscale-name", "plan1").([]any)
	if len(rules) != 1 || rules[0].(map[string]any)["scaleAction"].(map[string]any)["direction"] != "Decrease" {
		t.Fatalf("after rule delete --index 0: %v", rules)
	}
	if l := e.must("monitor", "autoscale", "list", "-g", "rg1").([]any); len(l) != 1 {
		t.Fatalf("list = %v", l)
	}
	if s := e.must("monitor", "autoscale", "show", "-g", "rg1", "-n", "plan1").(map[string]any); s["enabled"] != false {
		t.Fatalf("show = %v", s)
	}
	e.must("monitor", "autoscale", "delete", "-g", "rg1", "-n", "plan1")
	e.fails("monitor", "autoscale", "show", "-g", "rg1", "-n", "plan1")
}
