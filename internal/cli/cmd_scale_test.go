package cli

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-dev/slipway/internal/arm"
)

// TestScaleCommands drives the scale and instance commands against the real
// management API and store.
func TestScaleCommands(t *testing.T) {
	e := newStorageEnv(t)
	e.seedGroup()
	e.must("appservice", "plan", "create", "-g", "rg1", "-n", "plan1", "--sku", "B1", "--is-linux")
	e.must("webapp", "create", "-g", "rg1", "-p", "plan1", "-n", "app1")

	// Basic scales out to 3 workers at most (docs/appservice.md §11).
	ee := e.fails("appservice", "plan", "update", "-g", "rg1", "-n", "plan1", "--number-of-workers", "4")
	if !strings.Contains(ee.Error(), "at most 3 workers") {
		t.Fatalf("4 workers on Basic: %v", ee)
	}
	plan := e.must("appservice", "plan", "update", "-g", "rg1", "-n", "plan1", "--number-of-workers", "3").(map[string]any)
	if plan["sku"].(map[string]any)["capacity"].(float64) != 3 {
		t.Fatalf("plan after scale-out: %v", plan["sku"])
	}
	// Scaling down the size below the workers' tier limit is refused too.
	if ee := e.fails("appservice", "plan", "update", "-g", "rg1", "-n", "plan1", "--sku", "F1"); !strings.Contains(ee.Error(), "at most 1 workers") {
		t.Fatalf("F1 with 3 workers: %v", ee)
	}

	cfg := e.must("webapp", "scale", "-g", "rg1", "-n", "app1", "--instance-count", "2").(map[string]any)
	if cfg["numberOfWorkers"].(float64) != 2 {
		t.Fatalf("webapp scale answered %v", cfg["numberOfWorkers"])
	}
	if !slices.Contains(e.ctl.Calls(), "SiteConfigChanged rg1/app1") {
		t.Fatalf("scale did not tell the controller: %v", e.ctl.Calls())
	}
	if ee := e.fails("webapp", "scale", "-g", "rg1", "-n", "app1", "--instance-count", "0"); !strings.Contains(ee.Error(), "not a positive integer") {
		t.Fatalf("--instance-count 0: %v", ee)
	}

	cfg = e.must("webapp", "config", "set", "-g", "rg1", "-n", "app1", "--generic-configurations", `{"healthCheckPath": "/health"}`, "--number-of-workers", "3").(map[string]any)
	if cfg["healthCheckPath"] != "/health" || cfg["numberOfWorkers"].(float64) != 3 {
		t.Fatalf("config set --generic-configurations: %v %v", cfg["healthCheckPath"], cfg["numberOfWorkers"])
	}
	if ee := e.fails("webapp", "config", "set", "-g", "rg1", "-n", "app1", "--generic-configurations", `["x"]`); !strings.Contains(ee.Error(), "JSON object") {
		t.Fatalf("a JSON array: %v", ee)
	}

	site := e.must("webapp", "update", "-g", "rg1", "-n", "app1", "--client-affinity-enabled", "false").(map[string]any)
	if site["clientAffinityEnabled"] != false {
		t.Fatalf("clientAffinityEnabled after update: %v", site["clientAffinityEnabled"])
	}

	e.ctl.mu.Lock()
	e.ctl.instances = []arm.Instance{
		{ID: "bb", Ready: true, Status: "Ready", Address: "10.0.0.3:8000"},
		{ID: "aa", Status: "Removed", Address: "10.0.0.2:8000", HealthCheckFailures: 4},
	}
	e.ctl.mu.Unlock()
	got := e.must("webapp", "list-instances", "-g", "rg1", "-n", "app1")
	var names []string
	for _, v := range got.([]any) {
		m := v.(map[string]any)
		names = append(names, m["name"].(string)+" "+m["state"].(string)+" "+m["slipwayInstance"].(map[string]any)["status"].(string))
	}
	if diff := cmp.Diff([]string{"aa UNKNOWN Removed", "bb READY Ready"}, names); diff != "" {
		t.Errorf("list-instances (-want +got):\n%s", diff)
	}
	out, _, err := e.run("webapp", "list-instances", "-g", "rg1", "-n", "app1", "-o", "table")
	if err != nil || !strings.Contains(out, "10.0.0.2:8000") || !strings.Contains(out, "Removed") {
		t.Fatalf("list-instances as a table: %v\n%s", err, out)
	}
}

// TestPlanCreatePerSiteScaling checks that `appservice plan create
// --per-site-scaling` makes a plan whose apps `webapp scale` sizes, as az's
// does: without it, webapp scale stores a count the plan ignores, and the
// CLI had no other way to turn per-site scaling on.
func TestPlanCreatePerSiteScaling(t *testing.T) {
	e := newStorageEnv(t)
	e.seedGroup()
	plan := e.must("appservice", "plan", "create", "-g", "rg1", "-n", "plan1", "--sku", "S1", "--is-linux", "--per-site-scaling").(map[string]any)
	if plan["perSiteScaling"] != true {
		t.Fatalf("plan create --per-site-scaling: perSiteScaling = %v", plan["perSiteScaling"])
	}
	// An update puts the whole plan back, as az's does: it keeps the setting.
	plan = e.must("appservice", "plan", "update", "-g", "rg1", "-n", "plan1", "--sku", "S2").(map[string]any)
	if plan["perSiteScaling"] != true {
		t.Fatalf("plan update --sku turned per-site scaling off: perSiteScaling = %v", plan["perSiteScaling"])
	}
	plan = e.must("appservice", "plan", "create", "-g", "rg1", "-n", "plan2", "--sku", "S1", "--is-linux").(map[string]any)
	if plan["perSiteScaling"] != false {
		t.Fatalf("plan create without --per-site-scaling: perSiteScaling = %v", plan["perSiteScaling"])
	}
}
