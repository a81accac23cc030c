package arm

import (
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/pythontest"
)

// TestAzureSDKForPython drives the endpoint with the real Azure SDK for
// Python (azure-mgmt-web, azure-mgmt-resource — the clients the az CLI is
// built on) and xmltodict (how the CLI parses publish profiles): status
// codes and bodies must satisfy the SDK's checks and models.
//
// Needs: pip install azure-mgmt-web azure-mgmt-resource xmltodict.
// Skipped when they are missing locally; fatal under CI.
func TestAzureSDKForPython(t *testing.T) {
	python := pythontest.Python(t, "azure.mgmt.web", "azure.mgmt.resource", "xmltodict")
	run := func(t *testing.T, e *env, args ...string) {
		t.Helper()
		pythontest.Run(t, python, append([]string{"testdata/sdk_client.py", e.srv.URL, e.sub, token}, args...)...)
	}
	t.Run("lifecycle", func(t *testing.T) {
		run(t, newEnv(t))
	})
	t.Run("deployments", func(t *testing.T) {
		e := newEnv(t)
		e.seed()
		now := time.Now()
		d, err := e.store.CreateDeployment(t.Context(), slipway.Deployment{Site: "app", Status: slipway.DeploySuccess,
			Deployer: "slipway-test", StartTime: now, EndTime: now.Add(time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.SetActiveDeployment(t.Context(), "app", d.ID); err != nil {
			t.Fatal(err)
		}
		run(t, e, "deployments")
	})
}

// TestAzureSDKForPythonManagement drives the endpoint with the Azure SDK
// for Python management clients other than azure-mgmt-web (see
// testdata/sdk_mgmt_client.py): azure-mgmt-keyvault, azure-mgmt-msi,
// azure-mgmt-authorization and azure-mgmt-monitor, what `az keyvault`,
// `az identity`, `az role` and `az monitor autoscale` are built on. Each
// subtest seeds group rg, plan "plan" and site "app" with a system-assigned
// identity, and runs one section of the script.
//
// Needs: pip install -r tests/requirements.txt. Skipped when the clients
// are missing locally; fatal under CI.
// TestAzureSDKForPythonInsights: azure-mgmt-applicationinsights's
// ComponentsOperations (2020-02-02) create, update, read, list, tag and
// delete an Application Insights component (insights.go).
func TestAzureSDKForPythonInsights(t *testing.T) {
	python := pythontest.Python(t, "azure.mgmt.applicationinsights", "azure.mgmt.resource")
	e := newEnv(t)
	pythontest.Run(t, python, "testdata/sdk_mgmt_client.py", e.srv.URL, e.sub, token, "insights", e.tenant, "", "https://dc.insights.localhost:8080/")
}

func TestAzureSDKForPythonManagement(t *testing.T) {
	python := pythontest.Python(t, "azure.mgmt.keyvault", "azure.mgmt.msi", "azure.mgmt.authorization", "azure.mgmt.monitor", "azure.mgmt.resource")
	for _, section := range []string{"keyvault", "msi", "authorization", "autoscale", "absent"} {
		t.Run(section, func(t *testing.T) {
			e := newEnv(t)
			e.seed()
			e.standardPlan() // autoscale needs Standard or above
			site := e.must(200, "PUT", sitePath, e.path(`{"location":"West Europe","identity":{"type":"SystemAssigned"},"properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan"}}`)).json(t)
			principal, _ := site["identity"].(map[string]any)["principalId"].(string)
			pythontest.Run(t, python, "testdata/sdk_mgmt_client.py", e.srv.URL, e.sub, token, section, e.tenant, principal)
		})
	}
}
