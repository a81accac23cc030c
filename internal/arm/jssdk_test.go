package arm

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/nodetest"
)

// TestAzureSDKForJS drives the endpoint with the real Azure SDK for
// JavaScript's management clients (testdata/arm_js.cjs): WebSiteManagementClient,
// ResourceManagementClient and DeploymentsClient, over HTTPS, with every
// pager read to its end and every long-running operation polled to
// completion by the SDK's own poller. It runs with the current, modular
// generation (@azure/arm-appservice 19, @azure/arm-resources 8,
// @azure/arm-resourcesdeployments; @azure-rest/core-client, core-lro 3)
// and with the classic one (npm aliases of @azure/arm-appservice 18.0.0
// and @azure/arm-resources 6.1.0; @azure/core-client, core-lro 2).
//
// Needs the packages of tests/node/package.json (scripts/setup). Skipped
// when they are missing locally; fatal under CI.
func TestAzureSDKForJS(t *testing.T) {
	t.Run("modular", func(t *testing.T) {
		testAzureSDKForJS(t, "@azure/arm-appservice", "@azure/arm-resources", "@azure/arm-resourcesdeployments")
	})
	t.Run("classic", func(t *testing.T) { testAzureSDKForJS(t, "arm-appservice-classic", "arm-resources-classic") })
}

// testAzureSDKForJS runs the script with the named packages: App
// Service's, Resources' and, where Resources' has no deployments, the
// deployments client.
func testAzureSDKForJS(t *testing.T, packages ...string) {
	node := nodetest.Node(t, packages...)
	g := newGoSDK(t)
	out := nodetest.Run(t, node, nodetest.Script{
		Path: "testdata/arm_js.cjs", Args: []string{g.tls.URL, g.sub, token, packages[0], packages[1]},
		Trust: g.tls.Certificate(), Timeout: 3 * time.Minute,
		// The script asks for the records that prove it owns
		// www.contoso.com once it knows its group's verification ID.
		Answer: func(line string) (string, bool) {
			id, ok := strings.CutPrefix(line, "dns? ")
			if ok {
				g.dns.SetCNAME("www.contoso.com", "app-js.localhost")
				g.dns.SetTXT("asuid.www.contoso.com", id)
			}
			return "ok", ok
		},
	})
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var summary struct {
		Absent   []string `json:"absent"`
		Failures []string `json:"failures"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &summary); err != nil {
		t.Fatalf("summary: %v", err)
	}
	if len(summary.Absent) != 6 {
		t.Errorf("refusals of absent features = %q", summary.Absent)
	}
	g.swaps.mu.Lock()
	swaps := slices.Clone(g.swaps.calls)
	g.swaps.mu.Unlock()
	if want := []string{"swap rg-js app-js  staging"}; !slices.Equal(swaps, want) {
		t.Errorf("swaps = %q, want %q", swaps, want)
	}
	want := []string{"RestartSite rg-js/app-js", "StopSite rg-js/app-js", "StartSite rg-js/app-js"}
	if calls := g.ctl.Calls(); !containsInOrder(calls, want) {
		t.Errorf("controller calls = %q, want %q among them", calls, want)
	}
}

// containsInOrder reports whether want occurs in got as a contiguous run.
func containsInOrder(got, want []string) bool {
	for i := 0; i+len(want) <= len(got); i++ {
		if slices.Equal(got[i:i+len(want)], want) {
			return true
		}
	}
	return false
}
