package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestRealAzAuth: the unmodified az configures App Service authentication
// with the Microsoft identity platform as Microsoft's documentation does
// (https://learn.microsoft.com/azure/app-service/configure-authentication-provider-aad):
// `webapp auth show|update` (az's built-in commands, the classic
// settings; the V2 commands `webapp auth microsoft ...` come with the
// authV2 extension, which this machine cannot install) with
// --aad-client-id, --aad-client-secret, --aad-token-issuer-url and
// --aad-allowed-token-audiences, then the V2 settings through `az rest`.
// The secret becomes the app setting MICROSOFT_PROVIDER_AUTHENTICATION_SECRET
// and no read of the settings shows it; another identity provider is
// refused with the reason (the issuer and the rest: internal/arm); a
// template deploys the settings; the front door gates the app with them.
func TestRealAzAuth(t *testing.T) {
	t.Parallel() // its own server and names; az mostly waits (CI time)
	r := startRealAz(t, realAzPath(t))
	cli, tenant := r.cli, r.info.TenantID
	rg, plan, app := "rg-realaz-auth", "plan-realaz-auth", "realaz-auth"
	const (
		clientID = "00001111-aaaa-2222-bbbb-3333cccc4444"
		secret   = "realaz-auth-secret-7d41"
	)
	cli.must("group", "create", "-n", rg, "-l", "westeurope", "-o", "none")
	cli.must("appservice", "plan", "create", "-g", rg, "-n", plan, "--is-linux", "--sku", "B1", "-o", "none")
	cli.must("webapp", "create", "-g", rg, "-p", plan, "-n", app, "--runtime", "PYTHON:3.12", "-o", "none")
	obj := func(out string) map[string]any {
		t.Helper()
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("az printed no JSON object (%v):\n%s", err, out)
		}
		return v
	}
	noSecret := func(what, out string) {
		t.Helper()
		if strings.Contains(out, secret) {
			t.Fatalf("%s shows the client secret:\n%s", what, out)
		}
	}

	show := obj(cli.must("webapp", "auth", "show", "-g", rg, "-n", app, "-o", "json"))
	if show["enabled"] != false {
		t.Fatalf("auth show of a new app: %v", show)
	}

	issuer := "https://sts.windows.net/" + tenant + "/v2.0"
	out := cli.must("webapp", "auth", "update", "-g", rg, "-n", app, "--enabled", "true", "--action", "LoginWithAzureActiveDirectory",
		"--aad-client-id", clientID, "--aad-client-secret", secret, "--aad-token-issuer-url", issuer,
		"--aad-allowed-token-audiences", "api://"+clientID, "--token-store", "true", "-o", "json")
	noSecret("auth update's output", out)
	got := obj(out)
	if got["enabled"] != true || got["clientId"] != clientID || got["issuer"] != issuer || got["defaultProvider"] != "AzureActiveDirectory" ||
		got["unauthenticatedClientAction"] != "RedirectToLoginPage" || got["clientSecretSettingName"] != "MICROSOFT_PROVIDER_AUTHENTICATION_SECRET" || got["tokenStoreEnabled"] != true {
		t.Fatalf("auth update printed %v", got)
	}
	show = obj(cli.must("webapp", "auth", "show", "-g", rg, "-n", app, "-o", "json"))
	noSecret("auth show (and its --debug log)", cli.lastLog)
	if show["enabled"] != true || show["clientId"] != clientID || show["clientSecret"] != nil {
		t.Fatalf("auth show after update: %v", show)
	}
	// The secret is an app setting, slot-sticky as the settings that name
	// it (az's authV2 commands store it so).
	var settings []struct {
		Name, Value string
		SlotSetting bool
	}
	json.Unmarshal([]byte(cli.must("webapp", "config", "appsettings", "list", "-g", rg, "-n", app, "-o", "json")), &settings)
	found := false
	for _, s := range settings {
		found = found || (s.Name == "MICROSOFT_PROVIDER_AUTHENTICATION_SECRET" && s.Value == secret && s.SlotSetting)
	}
	if !found {
		t.Fatalf("the client secret is not the slot-sticky app setting MICROSOFT_PROVIDER_AUTHENTICATION_SECRET: %+v", settings)
	}

	// The same settings in their V2 form, as the portal and the authV2
	// extension read them.
	v2url := "https://management.localhost:" + strconv.Itoa(r.port) + r.sub + "/resourceGroups/" + rg + "/providers/Microsoft.Web/sites/" + app + "/config/authsettingsV2?api-version=2024-11-01"
	out = cli.must("rest", "--method", "get", "--url", v2url, "-o", "json")
	noSecret("the V2 settings", out)
	props, _ := obj(out)["properties"].(map[string]any)
	aad, _ := props["identityProviders"].(map[string]any)["azureActiveDirectory"].(map[string]any)
	reg, _ := aad["registration"].(map[string]any)
	if props["platform"].(map[string]any)["enabled"] != true || reg["clientId"] != clientID || reg["openIdIssuer"] != issuer ||
		reg["clientSecretSettingName"] != "MICROSOFT_PROVIDER_AUTHENTICATION_SECRET" || props["globalValidation"].(map[string]any)["requireAuthentication"] != true {
		t.Fatalf("the V2 settings: %s", out)
	}
	// A V2 write through az rest: excluded paths, 401 for APIs and the
	// platform's own issuer; the classic view shows them.
	props["globalValidation"] = map[string]any{"requireAuthentication": true, "unauthenticatedClientAction": "Return401", "excludedPaths": []string{"/health"}}
	ownIssuer := "https://login.localhost:" + strconv.Itoa(r.port) + "/" + tenant + "/v2.0" // the platform's own authority
	reg["openIdIssuer"] = ownIssuer
	body, _ := json.Marshal(map[string]any{"properties": props})
	cli.must("rest", "--method", "put", "--url", v2url, "--body", string(body), "-o", "none")
	show = obj(cli.must("webapp", "auth", "show", "-g", rg, "-n", app, "-o", "json"))
	if show["unauthenticatedClientAction"] != "Return401" || show["clientId"] != clientID || show["issuer"] != ownIssuer {
		t.Fatalf("auth show after the V2 write: %v", show)
	}
	// The front door gates the app with them at once: a request without
	// a signed-in user is answered 401 before it reaches the app.
	if code, body := r.web.get(t, "https://"+app+".localhost:"+strconv.Itoa(r.port)+"/"); code != 401 {
		t.Fatalf("the app's page with Return401 set: %d %.300s, want 401", code, body)
	}

	// az webapp auth update --action AllowAnonymous keeps the rest.
	got = obj(cli.must("webapp", "auth", "update", "-g", rg, "-n", app, "--action", "AllowAnonymous", "-o", "json"))
	if got["unauthenticatedClientAction"] != "AllowAnonymous" || got["clientId"] != clientID {
		t.Fatalf("auth update --action AllowAnonymous printed %v", got)
	}

	// Refused, saying why.
	if msg := cli.fail("webapp", "auth", "update", "-g", rg, "-n", app, "--action", "LoginWithGoogle", "--google-client-id", "g-id"); !strings.Contains(msg, "only with its own Microsoft identity platform") {
		t.Errorf("Google sign-in: %s", msg)
	}

	got = obj(cli.must("webapp", "auth", "update", "-g", rg, "-n", app, "--enabled", "false", "-o", "json"))
	if got["enabled"] != false {
		t.Fatalf("auth update --enabled false printed %v", got)
	}

	// A template's Microsoft.Web/sites/config resource authsettingsV2
	// (az deployment group create) turns it on again.
	tmpl := filepath.Join(t.TempDir(), "auth.json")
	if err := os.WriteFile(tmpl, []byte(`{"$schema":"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#","contentVersion":"1.0.0.0",
 "parameters":{"site":{"type":"string"},"clientId":{"type":"string"},"tenantId":{"type":"string"}},
 "resources":[{"type":"Microsoft.Web/sites/config","apiVersion":"2024-11-01","name":"[concat(parameters('site'), '/authsettingsV2')]",
  "properties":{"platform":{"enabled":true},"globalValidation":{"requireAuthentication":true,"unauthenticatedClientAction":"Return403"},
   "identityProviders":{"azureActiveDirectory":{"enabled":true,"registration":{"clientId":"[parameters('clientId')]",
    "openIdIssuer":"[concat('https://login.microsoftonline.com/', parameters('tenantId'), '/v2.0')]","clientSecretSettingName":"MICROSOFT_PROVIDER_AUTHENTICATION_SECRET"}}}}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cli.must("deployment", "group", "create", "-g", rg, "-n", "auth", "--template-file", tmpl,
		"--parameters", "site="+app, "clientId="+clientID, "tenantId="+tenant, "-o", "none")
	if show = obj(cli.must("webapp", "auth", "show", "-g", rg, "-n", app, "-o", "json")); show["enabled"] != true || show["unauthenticatedClientAction"] != "Return403" {
		t.Fatalf("auth show after the template deployment: %v", show)
	}
}
