package arm

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
)

// TestAzureSDKForPython drives the endpoint with the real Azure SDK for
// Python (azure-mgmt-web, azure-mgmt-resource — the clients the az CLI is
// built on) and xmltodict (how the CLI parses publish profiles): status
// codes and bodies must satisfy the SDK's checks and models.
//
// Needs: pip install azure-mgmt-web azure-mgmt-resource xmltodict.
// Skipped when they are missing locally; fatal under CI.
func TestAzureSDKForPython(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(python, "-c", "import azure.mgmt.web, azure.mgmt.resource, xmltodict").Run()
	}
	if err != nil {
		msg := "python3 with azure-mgmt-web, azure-mgmt-resource and xmltodict is needed (pip install azure-mgmt-web azure-mgmt-resource xmltodict)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	run := func(t *testing.T, e *env, args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		args = append([]string{"testdata/sdk_client.py", e.srv.URL, e.sub, token}, args...)
		out, err := exec.CommandContext(ctx, python, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "OK") {
			t.Fatalf("SDK client failed: %v\n%s", err, out)
		}
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
func TestAzureSDKForPythonManagement(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(python, "-c", "import azure.mgmt.keyvault, azure.mgmt.msi, azure.mgmt.authorization, azure.mgmt.monitor, azure.mgmt.resource").Run()
	}
	if err != nil {
		msg := "python3 with azure-mgmt-keyvault, azure-mgmt-msi, azure-mgmt-authorization, azure-mgmt-monitor and azure-mgmt-resource is needed (pip install -r tests/requirements.txt)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	for _, section := range []string{"keyvault", "msi", "authorization", "autoscale", "absent"} {
		t.Run(section, func(t *testing.T) {
			e := newEnv(t)
			e.seed()
			e.standardPlan() // autoscale needs Standard or above
			site := e.must(200, "PUT", sitePath, e.path(`{"location":"West Europe","identity":{"type":"SystemAssigned"},"properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan"}}`)).json(t)
			principal, _ := site["identity"].(map[string]any)["principalId"].(string)
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			out, err := exec.CommandContext(ctx, python, "testdata/sdk_mgmt_client.py", e.srv.URL, e.sub, token, section, e.tenant, principal).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "OK") {
				t.Fatalf("SDK client failed: %v\n%s", err, out)
			}
		})
	}
}
