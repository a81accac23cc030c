package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRealAzTemplateDeployment drives ARM template deployments with the
// real az (docs/arm.md "Template deployments"): validate, create with
// parameters from a file and from the command line, the site the template
// made, show, list, operations, failures, delete. The template is in the
// shape of Microsoft's App Service Linux quickstart
// (https://learn.microsoft.com/azure/app-service/quickstart-arm-template):
// a Linux plan and a site with linuxFxVersion, names from uniqueString.
func TestRealAzTemplateDeployment(t *testing.T) {
	t.Parallel() // its own server and names; az mostly waits (CI time)
	r := startRealAz(t, realAzPath(t))
	cli := r.cli
	tpl := func(name string) string {
		p, err := filepath.Abs(filepath.Join("testdata", "templates", name))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	const secret = "django-insecure-tmpl-7Qx9"
	cli.must("group", "create", "-n", "tmplrg", "-l", "westeurope", "-o", "none")
	args := []string{"--template-file", tpl("appservice-linux.json"),
		"--parameters", "@" + tpl("appservice-linux.parameters.json"), "webAppName=tmplapp", "djangoSecret=" + secret}

	out := cli.must(append([]string{"deployment", "group", "validate", "-g", "tmplrg", "-o", "json"}, args...)...)
	if !strings.Contains(out, "validatedResources") || !strings.Contains(out, "/sites/tmplapp") || strings.Contains(out, secret) {
		t.Fatalf("validate: %s", out)
	}

	out = cli.must(append([]string{"deployment", "group", "create", "-g", "tmplrg", "-n", "quickstart", "-o", "json"}, args...)...)
	var dep struct {
		Name       string `json:"name"`
		Properties struct {
			ProvisioningState string                    `json:"provisioningState"`
			Outputs           map[string]map[string]any `json:"outputs"`
			Parameters        map[string]map[string]any `json:"parameters"`
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(out), &dep); err != nil || dep.Properties.ProvisioningState != "Succeeded" {
		t.Fatalf("create: %v %s", err, out)
	}
	if strings.Contains(out, secret) {
		t.Fatalf("the securestring parameter is echoed: %s", out)
	}
	if dep.Properties.Outputs["siteName"]["value"] != "tmplapp" || !strings.HasPrefix(dep.Properties.Outputs["hostName"]["value"].(string), "tmplapp.") ||
		dep.Properties.Parameters["sku"]["value"] != "B1" {
		t.Fatalf("outputs/parameters: %s", out)
	}

	// The site is there, with the runtime and the settings.
	out = cli.must("webapp", "show", "-g", "tmplrg", "-n", "tmplapp", "-o", "json")
	if !strings.Contains(out, `"PYTHON|3.12"`) {
		t.Fatalf("webapp show: %s", out)
	}
	out = cli.must("webapp", "config", "appsettings", "list", "-g", "tmplrg", "-n", "tmplapp", "-o", "json")
	if !strings.Contains(out, "DJANGO_SECRET_KEY") || !strings.Contains(out, secret) {
		t.Fatalf("appsettings: %s", out)
	}
	out = cli.must("appservice", "plan", "show", "-g", "tmplrg", "-n", "plan-tmplapp", "-o", "json")
	if !strings.Contains(out, `"B1"`) {
		t.Fatalf("plan: %s", out)
	}

	out = cli.must("deployment", "group", "show", "-g", "tmplrg", "-n", "quickstart", "--query", "properties.outputs.siteName.value", "-o", "tsv")
	if strings.TrimSpace(out) != "tmplapp" {
		t.Fatalf("show: %q", out)
	}
	out = cli.must("deployment", "group", "list", "-g", "tmplrg", "--query", "[].name", "-o", "tsv")
	if strings.TrimSpace(out) != "quickstart" {
		t.Fatalf("list: %q", out)
	}
	out = cli.must("deployment", "operation", "group", "list", "-g", "tmplrg", "-n", "quickstart", "-o", "json")
	if strings.Count(out, `"provisioningOperation": "Create"`) != 2 || !strings.Contains(out, "Microsoft.Web/serverfarms") {
		t.Fatalf("operations: %s", out)
	}
	// A re-run of the same deployment is idempotent.
	cli.must(append([]string{"deployment", "group", "create", "-g", "tmplrg", "-n", "quickstart", "-o", "none"}, args...)...)

	// A template Slipway cannot deploy is refused before anything is made.
	msg := cli.fail("deployment", "group", "create", "-g", "tmplrg", "--template-file", tpl("unsupported.json"))
	if !strings.Contains(msg, "InvalidTemplate") || !strings.Contains(msg, "Microsoft.Sql/servers") {
		t.Fatalf("unsupported type: %s", msg)
	}
	t.Logf("az on an unsupported type: %s", msg)
	cli.fail("appservice", "plan", "show", "-g", "tmplrg", "-n", "never-created")
	// A resource that fails while deploying fails the deployment with its
	// reason.
	msg = cli.fail("deployment", "group", "create", "-g", "tmplrg", "-n", "broken", "--template-file", tpl("missing-plan.json"))
	if !strings.Contains(msg, "no-such-plan") {
		t.Fatalf("failed deployment: %s", msg)
	}
	t.Logf("az on a failed deployment: %s", msg)
	out = cli.must("deployment", "group", "show", "-g", "tmplrg", "-n", "broken", "--query", "properties.provisioningState", "-o", "tsv")
	if strings.TrimSpace(out) != "Failed" {
		t.Fatalf("broken deployment state: %q", out)
	}

	// Storage and a vault: an account with a container (a child
	// resource), a vault and a secret holding the account's connection
	// string from listKeys().
	out = cli.must("deployment", "group", "create", "-g", "tmplrg", "-n", "data", "--template-file", tpl("storage.json"),
		"--parameters", "accountName=tmplmedia1", "--query", "properties.outputs", "-o", "json")
	var outs map[string]struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal([]byte(out), &outs); err != nil || !strings.Contains(outs["blobEndpoint"].Value, "tmplmedia1") || !strings.HasPrefix(outs["vaultName"].Value, "kv") {
		t.Fatalf("storage outputs: %v %s", err, out)
	}
	out = cli.must("storage", "container-rm", "show", "-g", "tmplrg", "--storage-account", "tmplmedia1", "-n", "media", "-o", "json")
	if !strings.Contains(out, `"publicAccess": "None"`) {
		t.Fatalf("container-rm show: %s", out)
	}
	out = cli.must("storage", "container", "exists", "--account-name", "tmplmedia1", "-n", "media", "--auth-mode", "key", "-o", "json")
	if !strings.Contains(out, `"exists": true`) {
		t.Fatalf("container exists (data plane): %s", out)
	}
	key := strings.TrimSpace(cli.must("storage", "account", "keys", "list", "-g", "tmplrg", "-n", "tmplmedia1", "--query", "[0].value", "-o", "tsv"))
	cli.must("role", "assignment", "create", "--role", "Key Vault Secrets User", "--assignee", r.owner.AppID,
		"--scope", r.sub+"/resourceGroups/tmplrg/providers/Microsoft.KeyVault/vaults/"+outs["vaultName"].Value, "-o", "none")
	out = cli.must("keyvault", "secret", "show", "--vault-name", outs["vaultName"].Value, "-n", "storage-connection", "--query", "value", "-o", "tsv")
	if !strings.Contains(out, "AccountName=tmplmedia1;AccountKey="+key+fmt.Sprintf(";EndpointSuffix=localhost:%d", r.port)) {
		t.Fatalf("vault secret: %q", out)
	}

	// A parameters file that reads the securestring from a key vault
	// (https://learn.microsoft.com/azure/azure-resource-manager/templates/key-vault-parameter):
	// refused while the vault does not let templates read it, with the
	// command that does; then the app's setting is the vault's value, which
	// az never prints.
	const vaultSecret = "django-from-vault-Zr4k"
	kvID := strings.TrimSpace(cli.must("keyvault", "create", "-g", "tmplrg", "-n", "tmplrefkv", "-l", "westeurope", "--query", "id", "-o", "tsv"))
	cli.must("role", "assignment", "create", "--role", "Key Vault Secrets Officer", "--assignee", r.owner.AppID, "--scope", kvID, "-o", "none")
	cli.must("keyvault", "secret", "set", "--vault-name", "tmplrefkv", "-n", "django-secret", "--value", vaultSecret, "-o", "none")
	refParams := filepath.Join(t.TempDir(), "kvref.parameters.json")
	if err := os.WriteFile(refParams, []byte(`{"$schema":"https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#","contentVersion":"1.0.0.0",
 "parameters":{"djangoSecret":{"reference":{"keyVault":{"id":"`+kvID+`"},"secretName":"django-secret"}}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	refArgs := []string{"deployment", "group", "create", "-g", "tmplrg", "-n", "kvref", "--template-file", tpl("appservice-linux.json"),
		"--parameters", "@" + tpl("appservice-linux.parameters.json"), "--parameters", "@" + refParams, "--parameters", "webAppName=tmplkvref"}
	if msg := cli.fail(refArgs...); !strings.Contains(msg, "KeyVaultParameterReferenceSecretRetrieveFailed") || !strings.Contains(msg, "--enabled-for-template-deployment true") {
		t.Fatalf("a reference to a vault closed to templates: %s", msg)
	}
	cli.must("keyvault", "update", "-n", "tmplrefkv", "--enabled-for-template-deployment", "true", "-o", "none")
	if out := strings.TrimSpace(cli.must("keyvault", "show", "-n", "tmplrefkv", "--query", "properties.enabledForTemplateDeployment", "-o", "tsv")); out != "true" {
		t.Fatalf("keyvault show enabledForTemplateDeployment: %q", out)
	}
	if out := cli.must(append(refArgs, "-o", "json")...); !strings.Contains(out, `"Succeeded"`) || strings.Contains(out, vaultSecret) || !strings.Contains(out, `"secretName": "django-secret"`) {
		t.Fatalf("deployment with a Key Vault reference: %s", out)
	}
	if out := strings.TrimSpace(cli.must("webapp", "config", "appsettings", "list", "-g", "tmplrg", "-n", "tmplkvref", "--query", "[?name=='DJANGO_SECRET_KEY'].value", "-o", "tsv")); out != vaultSecret {
		t.Fatalf("DJANGO_SECRET_KEY from the vault: %q", out)
	}

	// A template as Bicep compiles one with modules: each module a nested
	// deployment with its own scope, the second fed the first's output,
	// the outer output read from the second.
	out = cli.must("deployment", "group", "create", "-g", "tmplrg", "-n", "modules", "--template-file", tpl("modules.json"),
		"--parameters", "appName=tmplmods", "--query", "properties.outputs.hostName.value", "-o", "tsv")
	if !strings.HasPrefix(strings.TrimSpace(out), "tmplmods.") {
		t.Fatalf("the modules' output: %q", out)
	}
	if out := strings.TrimSpace(cli.must("webapp", "show", "-g", "tmplrg", "-n", "tmplmods", "--query", "serverFarmId", "-o", "tsv")); !strings.HasSuffix(strings.ToLower(out), "/serverfarms/plan-tmplmods") {
		t.Fatalf("the module's site is on %q", out)
	}
	if out := strings.TrimSpace(cli.must("deployment", "group", "show", "-g", "tmplrg", "-n", "appModule", "--query", "properties.provisioningState", "-o", "tsv")); out != "Succeeded" {
		t.Fatalf("the module's own deployment: %q", out)
	}

	// --no-wait: the PUT alone; the deployment is there when az returns.
	cli.must(append([]string{"deployment", "group", "create", "-g", "tmplrg", "-n", "nowait", "--no-wait"}, args...)...)
	out = cli.must("deployment", "group", "show", "-g", "tmplrg", "-n", "nowait", "--query", "properties.provisioningState", "-o", "tsv")
	if strings.TrimSpace(out) != "Succeeded" {
		t.Fatalf("--no-wait deployment: %q", out)
	}
	msg = cli.fail("deployment", "group", "what-if", "-g", "tmplrg", "--template-file", tpl("missing-plan.json"))
	if !strings.Contains(msg, "not supported by Slipway") {
		t.Fatalf("what-if: %s", msg)
	}

	// A deployment creates nothing its caller could not create: a Website
	// Contributor of the group (deployments and sites, not plans) is
	// refused the quickstart, which makes a plan, before anything is made.
	var webContrib realAzCreds
	webContrib.parse(t, cli.must("ad", "sp", "create-for-rbac", "--name", "tmpl-webcontrib", "--role", "Website Contributor",
		"--scopes", r.sub+"/resourceGroups/tmplrg", "-o", "json"))
	cli.login(webContrib, r.info.TenantID)
	msg = cli.fail("deployment", "group", "create", "-g", "tmplrg", "-n", "escalate", "--template-file", tpl("appservice-linux.json"),
		"--parameters", "webAppName=escalated", "sku=P1v3", "djangoSecret=x")
	if !strings.Contains(msg, "AuthorizationFailed") || !strings.Contains(msg, "Microsoft.Web/serverfarms/write") {
		t.Fatalf("website contributor's deployment: %s", msg)
	}
	cli.login(r.owner, r.info.TenantID)
	cli.fail("appservice", "plan", "show", "-g", "tmplrg", "-n", "plan-escalated")
	cli.fail("webapp", "show", "-g", "tmplrg", "-n", "escalated")

	cli.must("deployment", "group", "delete", "-g", "tmplrg", "-n", "quickstart")
	cli.fail("deployment", "group", "show", "-g", "tmplrg", "-n", "quickstart")
	cli.must("webapp", "show", "-g", "tmplrg", "-n", "tmplapp", "-o", "none") // the resources stay
}
