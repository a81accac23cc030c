package arm

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	authClientID     = "00001111-aaaa-2222-bbbb-3333cccc4444"
	authClientSecret = "auth-secret-5f1e-value"
)

// authV2Body is a V2 PUT with the Microsoft provider configured, as az
// webapp auth microsoft update and the portal write it.
func authV2Body(tenant string) string {
	return `{"properties":{
		"platform":{"enabled":true,"runtimeVersion":"~1"},
		"globalValidation":{"requireAuthentication":true,"unauthenticatedClientAction":"Return401","redirectToProvider":"azureactivedirectory","excludedPaths":["/health","/static/site.css"]},
		"identityProviders":{"azureActiveDirectory":{"enabled":true,
			"registration":{"openIdIssuer":"https://sts.windows.net/` + tenant + `/v2.0","clientId":"` + authClientID + `","clientSecretSettingName":"MICROSOFT_PROVIDER_AUTHENTICATION_SECRET"},
			"login":{"disableWWWAuthenticate":false,"loginParameters":["scope=openid profile email offline_access"]},
			"validation":{"allowedAudiences":["api://` + authClientID + `"],"defaultAuthorizationPolicy":{"allowedApplications":["` + authClientID + `"]}},
			"isAutoProvisioned":false},
			"facebook":{"enabled":false},"google":null},
		"login":{"tokenStore":{"enabled":true,"tokenRefreshExtensionHours":72},"allowedExternalRedirectUrls":["https://app.example.com/done"],"preserveUrlFragmentsForLogins":false},
		"httpSettings":{"requireHttps":true,"routes":{"apiPrefix":"/.auth"},"forwardProxy":{"convention":"NoProxy"}}}}`
}

// TestAuthSettingsV2_NeverConfigured: a site whose authentication was
// never configured reads as off in both forms, as the Azure SDK for Go
// and az read it for every app.
func TestAuthSettingsV2_NeverConfigured(t *testing.T) {
	e := newEnv(t)
	e.seed()
	for _, path := range []string{"/config/authsettingsV2/list", "/config/authsettingsV2"} {
		got := e.must(200, "GET", sitePath+path, "").json(t)
		platform, _ := got["properties"].(map[string]any)["platform"].(map[string]any)
		if got["name"] != "authsettingsV2" || got["type"] != "Microsoft.Web/sites/config" || got["location"] != "West Europe" ||
			got["id"] != e.path(strings.Replace(sitePath, "resourcegroups", "resourceGroups", 1))+"/config/authsettingsV2" || platform["enabled"] != false || platform["runtimeVersion"] != "~1" {
			t.Fatalf("GET %s = %v, want the platform off", path, got)
		}
		if _, ok := got["properties"].(map[string]any)["globalValidation"]; ok {
			t.Errorf("GET %s of a site never configured has globalValidation, which az's authV2 extension takes for an app configured before: %v", path, got)
		}
	}
	got := e.must(200, "POST", sitePath+"/config/authsettings/list", "").json(t)
	props := got["properties"].(map[string]any)
	// A site never configured reads no runtime version (azure-cli's
	// test_webapp_authentication, recorded against Azure).
	if v, ok := props["runtimeVersion"]; got["name"] != "authsettings" || props["enabled"] != false || !ok || v != nil {
		t.Fatalf("authsettings = %v, want authentication off with runtimeVersion null", got)
	}
	e.must(404, "GET", webPath+"/sites/nope/config/authsettingsV2", "")
	e.must(404, "POST", webPath+"/sites/nope/config/authsettings/list", "")
	e.must(404, "PUT", webPath+"/sites/nope/config/authsettingsV2", `{"properties":{}}`)
}

// TestAuthSettingsV2_PutReadBack: a V2 PUT is stored and answered as a GET
// shows it; the GET's document sent back changes nothing (no restart);
// the front door's site table has the settings at once; turning the
// platform on restarts the app, as a site config change does.
func TestAuthSettingsV2_PutReadBack(t *testing.T) {
	e := newEnv(t)
	e.seed()
	put := e.must(200, "PUT", sitePath+"/config/authsettingsV2", authV2Body(e.tenant)).json(t)
	get := e.must(200, "GET", sitePath+"/config/authsettingsV2", "").json(t)
	if d := cmp.Diff(put, get); d != "" {
		t.Fatalf("PUT's answer and GET differ (-put +get):\n%s", d)
	}
	props := get["properties"].(map[string]any)
	aad := props["identityProviders"].(map[string]any)["azureActiveDirectory"].(map[string]any)
	reg := aad["registration"].(map[string]any)
	gv := props["globalValidation"].(map[string]any)
	if reg["clientId"] != authClientID || reg["clientSecretSettingName"] != "MICROSOFT_PROVIDER_AUTHENTICATION_SECRET" ||
		gv["unauthenticatedClientAction"] != "Return401" || gv["redirectToProvider"] != "azureActiveDirectory" {
		t.Fatalf("read back: %v", props)
	}
	if _, ok := props["identityProviders"].(map[string]any)["facebook"]; ok {
		t.Errorf("a disabled provider is shown: %v", props["identityProviders"])
	}
	if calls := e.ctl.Calls(); len(calls) != 1 || calls[0] != "SiteConfigChanged rg/app" {
		t.Fatalf("turning authentication on: controller calls %v, want one restart", calls)
	}
	r, ok := e.store.SiteRouting("app")
	if !ok || r.Auth == nil || r.Auth.IdentityProviders.AzureActiveDirectory == nil || r.Auth.IdentityProviders.AzureActiveDirectory.Registration.ClientID != authClientID {
		t.Fatalf("the site table's Auth = %+v", r.Auth)
	}

	// The GET's properties sent back (what az's authV2 extension does
	// for every update): nothing changes.
	e.ctl.Reset()
	back, _ := json.Marshal(map[string]any{"properties": props})
	again := e.must(200, "PUT", sitePath+"/config/authsettingsV2", string(back)).json(t)
	if d := cmp.Diff(get, again); d != "" {
		t.Fatalf("round trip changed the settings (-before +after):\n%s", d)
	}
	if calls := e.ctl.Calls(); len(calls) != 0 {
		t.Fatalf("a PUT that changed nothing restarted the app: %v", calls)
	}

	// Off: the site table drops it; the rest stays stored.
	props["platform"].(map[string]any)["enabled"] = false
	off, _ := json.Marshal(map[string]any{"properties": props})
	e.must(200, "PUT", sitePath+"/config/authsettingsV2", string(off))
	if r, _ := e.store.SiteRouting("app"); r.Auth != nil {
		t.Fatalf("authentication off, the site table still has %+v", r.Auth)
	}
	if calls := e.ctl.Calls(); len(calls) != 1 {
		t.Fatalf("turning authentication off: controller calls %v, want one restart", calls)
	}
	// A write that keeps it off runs nowhere: no restart.
	e.ctl.Reset()
	e.must(200, "PUT", sitePath+"/config/authsettingsV2", `{"properties":{"platform":{"enabled":false}}}`)
	if calls := e.ctl.Calls(); len(calls) != 0 {
		t.Fatalf("a write of settings that stay off restarted the app: %v", calls)
	}
}

// TestAuthSettingsV2_Refused: what Slipway cannot honour or what is
// malformed is a 400 naming the setting and saying why, and nothing is
// stored.
func TestAuthSettingsV2_Refused(t *testing.T) {
	e := newEnv(t)
	e.seed()
	for _, tc := range []struct{ name, props, want string }{
		{"google", `{"identityProviders":{"google":{"registration":{"clientId":"x"}}}}`, "only with its own Microsoft identity platform"},
		{"facebook on", `{"identityProviders":{"facebook":{"enabled":true}}}`, "identityProviders.facebook"},
		{"gitHub", `{"identityProviders":{"gitHub":{"registration":{"clientId":"x"}}}}`, "identityProviders.gitHub"},
		{"twitter", `{"identityProviders":{"twitter":{"enabled":true}}}`, "identityProviders.twitter"},
		{"apple", `{"identityProviders":{"apple":{"enabled":true}}}`, "identityProviders.apple"},
		{"static web apps", `{"identityProviders":{"azureStaticWebApps":{"registration":{"clientId":"x"}}}}`, "azureStaticWebApps"},
		{"custom oidc", `{"identityProviders":{"customOpenIdConnectProviders":{"okta":{"registration":{"clientId":"x"}}}}}`, "customOpenIdConnectProviders.okta"},
		{"redirect to google", `{"globalValidation":{"redirectToProvider":"google"}}`, "redirectToProvider"},
		{"config file", `{"platform":{"enabled":true,"configFilePath":"auth.json"}}`, "configFilePath"},
		{"blob token store", `{"login":{"tokenStore":{"enabled":true,"azureBlobStorage":{"sasUrlSettingName":"X"}}}}`, "sasUrlSettingName"},
		{"file token store", `{"login":{"tokenStore":{"enabled":true,"fileSystem":{"directory":"/home/tokens"}}}}`, "fileSystem.directory"},
		{"forward proxy", `{"httpSettings":{"forwardProxy":{"convention":"Custom","customHostHeaderName":"X-Host"}}}`, "forwardProxy"},
		{"forward proxy standard", `{"httpSettings":{"forwardProxy":{"convention":"Standard"}}}`, "forwardProxy"},
		{"logout endpoint", `{"login":{"routes":{"logoutEndpoint":"/bye"}}}`, "logoutEndpoint"},
		{"certificate", `{"identityProviders":{"azureActiveDirectory":{"registration":{"clientId":"` + authClientID + `","clientSecretCertificateThumbprint":"ABC"}}}}`, "clientSecretCertificateThumbprint"},
		{"claim checks", `{"identityProviders":{"azureActiveDirectory":{"validation":{"jwtClaimChecks":{"allowedGroups":["g"]}}}}}`, "jwtClaimChecks"},
		{"groups", `{"identityProviders":{"azureActiveDirectory":{"validation":{"defaultAuthorizationPolicy":{"allowedPrincipals":{"groups":["g"]}}}}}}`, "groups"},
		{"action", `{"platform":{"enabled":true},"globalValidation":{"unauthenticatedClientAction":"Return302"}}`, "unauthenticatedClientAction"},
		{"relative excluded path", `{"globalValidation":{"excludedPaths":["health"]}}`, "excludedPaths"},
		{"redirect url", `{"login":{"allowedExternalRedirectUrls":["javascript:alert(1)"]}}`, "allowedExternalRedirectUrls"},
		{"relative redirect url", `{"login":{"allowedExternalRedirectUrls":["/next"]}}`, "allowedExternalRedirectUrls"},
		{"client id", `{"identityProviders":{"azureActiveDirectory":{"registration":{"clientId":"my app"}}}}`, "clientId"},
		{"reserved login parameter", `{"identityProviders":{"azureActiveDirectory":{"login":{"loginParameters":["redirect_uri=https://evil.example"]}}}}`, "loginParameters"},
		{"platform not an object", `{"platform":"on"}`, "properties"},
		{"too many paths", `{"globalValidation":{"excludedPaths":[` + strings.Repeat(`"/a",`, 64) + `"/b"]}}`, "at most 64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.must(400, "PUT", sitePath+"/config/authsettingsV2", `{"properties":`+tc.props+`}`)
			if msg := armError(t, r); !strings.Contains(string(r.body), tc.want) || msg == "" {
				t.Errorf("%s: %s, want the reason naming %s", tc.props, r.body, tc.want)
			}
		})
	}
	if _, configured, err := e.store.AuthSettings(t.Context(), "rg", "app"); err != nil || configured {
		t.Fatalf("a refused write stored settings: configured %v, %v", configured, err)
	}
	if calls := e.ctl.Calls(); len(calls) != 0 {
		t.Errorf("refused writes restarted something: %v", calls)
	}
}

// TestAuthSettingsV2_Issuer: the issuer must name this installation's
// tenant, at Microsoft's authorities or its own; any other directory, and
// look-alike hosts and paths, are refused.
func TestAuthSettingsV2_Issuer(t *testing.T) {
	e := newEnv(t)
	e.seed()
	put := func(issuer string) response {
		return e.do("PUT", sitePath+"/config/authsettingsV2", `{"properties":{"platform":{"enabled":true},"identityProviders":{"azureActiveDirectory":{"registration":{"clientId":"`+
			authClientID+`","openIdIssuer":"`+issuer+`"}}}}}`)
	}
	upper := strings.ToUpper(e.tenant)
	for _, ok := range []string{
		"https://sts.windows.net/" + e.tenant + "/v2.0",
		"https://sts.windows.net/" + e.tenant + "/",
		"https://login.microsoftonline.com/" + e.tenant + "/v2.0",
		"https://login.microsoftonline.com/" + upper + "/v2.0/",
		"https://login.localhost/" + e.tenant + "/v2.0",
		"https://LOGIN.localhost/" + e.tenant + "/v2.0",
	} {
		if r := put(ok); r.status != 200 {
			t.Errorf("issuer %s: %d %s", ok, r.status, r.body)
		}
	}
	const other = "aaaabbbb-0000-cccc-1111-dddd2222eeee"
	for _, bad := range []string{
		"https://sts.windows.net/" + other + "/v2.0",
		"https://login.microsoftonline.com/common/v2.0",
		"https://evil.example/" + e.tenant + "/v2.0",
		"https://sts.windows.net.evil.example/" + e.tenant + "/v2.0",
		"https://sts.windows.net@evil.example/" + e.tenant + "/v2.0",
		"https://login.microsoftonline.com/" + e.tenant + ".evil.example/v2.0",
		"http://login.microsoftonline.com/" + e.tenant + "/v2.0",
		"https://login.localhost:9999/" + e.tenant + "/v2.0",
		"https://sts.windows.net/" + e.tenant + "/v2.0?x=1",
		"https://sts.windows.net/" + e.tenant + "/extra/v2.0",
	} {
		r := put(bad)
		if r.status != 400 || !strings.Contains(string(r.body), "openIdIssuer") || !strings.Contains(string(r.body), e.tenant) {
			t.Errorf("issuer %s: %d %s, want 400 naming the tenant", bad, r.status, r.body)
		}
	}
}

// TestAuthSettingsV1: az webapp auth update (classic): the V1 view of the
// same settings; a V1 write sets what V1 says and keeps the V2-only
// parts; the client secret becomes the app setting the settings name and
// is shown by no read of the settings.
func TestAuthSettingsV1(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.Slots = &swapRecorder{} })
	e.seed()
	e.must(200, "PUT", sitePath+"/config/authsettingsV2", `{"properties":{"platform":{"enabled":false},"globalValidation":{"excludedPaths":["/health"]},"httpSettings":{"requireHttps":false}}}`)
	// What az webapp auth update --enabled true --action
	// LoginWithAzureActiveDirectory --aad-client-id --aad-client-secret
	// --aad-token-issuer-url --aad-allowed-token-audiences sends: the
	// list's answer with those set.
	listed := e.must(200, "POST", sitePath+"/config/authsettings/list", "").json(t)["properties"].(map[string]any)
	for k, v := range map[string]any{"enabled": true, "unauthenticatedClientAction": "RedirectToLoginPage", "defaultProvider": "AzureActiveDirectory",
		"clientId": authClientID, "clientSecret": authClientSecret, "issuer": "https://sts.windows.net/" + e.tenant + "/v2.0", "allowedAudiences": []string{"api://" + authClientID}} {
		listed[k] = v
	}
	body, _ := json.Marshal(map[string]any{"properties": listed})
	put := e.must(200, "PUT", sitePath+"/config/authsettings", string(body))
	got := put.json(t)["properties"].(map[string]any)
	if got["enabled"] != true || got["clientId"] != authClientID || got["clientSecret"] != nil || got["clientSecretSettingName"] != "MICROSOFT_PROVIDER_AUTHENTICATION_SECRET" ||
		got["defaultProvider"] != "AzureActiveDirectory" || got["unauthenticatedClientAction"] != "RedirectToLoginPage" || got["configVersion"] != "v2" {
		t.Fatalf("V1 PUT answered %v", got)
	}
	settings := e.must(200, "POST", sitePath+"/config/appsettings/list", "").json(t)["properties"].(map[string]any)
	if settings["MICROSOFT_PROVIDER_AUTHENTICATION_SECRET"] != authClientSecret || settings["SCM_DO_BUILD_DURING_DEPLOYMENT"] != "True" {
		t.Fatalf("app settings after a V1 write with a secret: %v", settings)
	}
	if b := string(e.must(200, "GET", sitePath+"/config/slotConfigNames", "").body); !strings.Contains(b, `"MICROSOFT_PROVIDER_AUTHENTICATION_SECRET"`) {
		t.Fatalf("the secret's setting is not slot-sticky: %s", b)
	}
	for _, r := range []response{put,
		e.must(200, "POST", sitePath+"/config/authsettings/list", ""),
		e.must(200, "GET", sitePath+"/config/authsettingsV2", ""),
		e.must(200, "GET", sitePath+"/config/authsettingsV2/list", "")} {
		if strings.Contains(string(r.body), authClientSecret) {
			t.Fatalf("the client secret is shown: %s", r.body)
		}
	}
	v2 := e.must(200, "GET", sitePath+"/config/authsettingsV2", "").json(t)["properties"].(map[string]any)
	gv := v2["globalValidation"].(map[string]any)
	if v2["platform"].(map[string]any)["enabled"] != true || gv["requireAuthentication"] != true || gv["redirectToProvider"] != "azureActiveDirectory" ||
		!cmp.Equal(gv["excludedPaths"], []any{"/health"}) || v2["httpSettings"].(map[string]any)["requireHttps"] != false {
		t.Fatalf("V2 after a V1 write (the V2-only parts kept): %v", v2)
	}
	reg := v2["identityProviders"].(map[string]any)["azureActiveDirectory"].(map[string]any)["registration"].(map[string]any)
	if reg["clientId"] != authClientID || reg["clientSecretSettingName"] != "MICROSOFT_PROVIDER_AUTHENTICATION_SECRET" {
		t.Fatalf("V2 registration after a V1 write: %v", reg)
	}

	// az webapp auth update --action AllowAnonymous: the list sent back
	// (clientSecret null) keeps the secret and the provider.
	listed = e.must(200, "POST", sitePath+"/config/authsettings/list", "").json(t)["properties"].(map[string]any)
	listed["unauthenticatedClientAction"] = "AllowAnonymous"
	body, _ = json.Marshal(map[string]any{"properties": listed})
	got = e.must(200, "PUT", sitePath+"/config/authsettings", string(body)).json(t)["properties"].(map[string]any)
	if got["unauthenticatedClientAction"] != "AllowAnonymous" || got["clientSecretSettingName"] != "MICROSOFT_PROVIDER_AUTHENTICATION_SECRET" || got["clientId"] != authClientID {
		t.Fatalf("AllowAnonymous: %v", got)
	}
	if s := e.must(200, "POST", sitePath+"/config/appsettings/list", "").json(t)["properties"].(map[string]any); s["MICROSOFT_PROVIDER_AUTHENTICATION_SECRET"] != authClientSecret {
		t.Fatalf("the secret setting after a write without it: %v", s)
	}

	for _, tc := range []struct{ props, want string }{
		{`{"enabled":true,"defaultProvider":"Google","googleClientId":"x"}`, "googleClientId"},
		{`{"enabled":true,"defaultProvider":"Facebook"}`, "defaultProvider"},
		{`{"enabled":true,"twitterConsumerKey":"k"}`, "twitterConsumerKey"},
		{`{"enabled":true,"clientId":"` + authClientID + `","clientSecretCertificateThumbprint":"AB"}`, "clientSecretCertificateThumbprint"},
		{`{"enabled":true,"isAuthFromFile":"true","authFilePath":"auth.json"}`, "isAuthFromFile"},
		{`{"enabled":true,"clientId":"` + authClientID + `","validateIssuer":false}`, "validateIssuer"},
		{`{"enabled":true,"clientId":"` + authClientID + `","issuer":"https://sts.windows.net/aaaabbbb-0000-cccc-1111-dddd2222eeee/"}`, "openIdIssuer"},
		{`{"enabled":true,"unauthenticatedClientAction":"Redirect"}`, "unauthenticatedClientAction"},
		{`{"enabled":true,"clientId":"` + authClientID + `","clientSecret":"` + strings.Repeat("x", 1025) + `"}`, "clientSecret"},
	} {
		r := e.must(400, "PUT", sitePath+"/config/authsettings", `{"properties":`+tc.props+`}`)
		if !strings.Contains(string(r.body), tc.want) {
			t.Errorf("V1 PUT %s: %s, want the reason naming %s", tc.props, r.body, tc.want)
		}
	}

	// az webapp auth update --enabled false: the list sent back, off.
	listed = e.must(200, "POST", sitePath+"/config/authsettings/list", "").json(t)["properties"].(map[string]any)
	listed["enabled"] = false
	body, _ = json.Marshal(map[string]any{"properties": listed})
	if got := e.must(200, "PUT", sitePath+"/config/authsettings", string(body)).json(t)["properties"].(map[string]any); got["enabled"] != false {
		t.Fatalf("--enabled false: %v", got)
	}
	if r, _ := e.store.SiteRouting("app"); r.Auth != nil {
		t.Fatalf("authentication off, the site table has %+v", r.Auth)
	}
}

// TestAuthSettings_SlotsAreTheirOwn: a slot's settings are the slot's
// resource: writing them leaves production's alone, and the other way.
func TestAuthSettings_SlotsAreTheirOwn(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.Slots = &swapRecorder{} })
	e.seed()
	e.standardPlan()
	e.must(200, "PUT", slotPath, `{"location":"West Europe","properties":{"serverFarmId":"x","siteConfig":{}}}`)
	got := e.must(200, "PUT", slotPath+"/config/authsettingsV2", authV2Body(e.tenant)).json(t)
	if got["type"] != "Microsoft.Web/sites/slots/config" || !strings.HasSuffix(got["id"].(string), "/slots/staging/config/authsettingsV2") {
		t.Fatalf("a slot's authsettingsV2 = %v", got)
	}
	if p := e.must(200, "GET", sitePath+"/config/authsettingsV2", "").json(t)["properties"].(map[string]any); p["platform"].(map[string]any)["enabled"] != false {
		t.Fatalf("production after the slot's write: %v", p)
	}
	if r, _ := e.store.SiteRouting("app-staging"); r.Auth == nil {
		t.Fatal("the slot's site table entry has no Auth")
	}
	if r, _ := e.store.SiteRouting("app"); r.Auth != nil {
		t.Fatalf("production's site table entry has Auth %+v", r.Auth)
	}
	if v1 := e.must(200, "POST", slotPath+"/config/authsettings/list", "").json(t); v1["type"] != "Microsoft.Web/sites/slots/config" || v1["properties"].(map[string]any)["enabled"] != true {
		t.Fatalf("the slot's V1 view: %v", v1)
	}
}

// TestAuthSettings_RBAC: reads need read, the classic list (which names
// the secret's setting, as appsettings/list shows values) needs the list
// action, writes need write: a Reader reads the V2 settings and nothing
// more; a Contributor writes them.
func TestAuthSettings_RBAC(t *testing.T) {
	e, call := scopeEnv(t)
	if s, b := call("", "PUT", rgPath+"/providers/Microsoft.Authorization/roleAssignments/"+raName3, raBody("{s}", readerID, principal3)); s != http.StatusCreated {
		t.Fatalf("assign Reader: %d %s", s, b)
	}
	for _, p := range []string{sitePath + "/config/authsettingsV2", sitePath + "/config/authsettingsV2/list"} {
		if s, b := call(principal3, "GET", p, ""); s != http.StatusOK {
			t.Errorf("Reader GET %s: %d %.300s", p, s, b)
		}
	}
	s, b := call(principal3, "POST", sitePath+"/config/authsettings/list", "")
	wantDenied(t, "Reader lists the classic settings", s, b)
	s, b = call(principal3, "PUT", sitePath+"/config/authsettingsV2", authV2Body(e.tenant))
	wantDenied(t, "Reader writes the V2 settings", s, b)
	s, b = call(principal3, "PUT", sitePath+"/config/authsettings", `{"properties":{"enabled":true,"clientId":"`+authClientID+`","clientSecret":"x"}}`)
	wantDenied(t, "Reader writes the classic settings", s, b)
	if _, configured, _ := e.store.AuthSettings(t.Context(), "rg", "app"); configured {
		t.Fatal("a Reader's write was stored")
	}
	// principal1 is rg's Contributor (scopeEnv).
	if s, b := call(principal1, "PUT", sitePath+"/config/authsettingsV2", authV2Body(e.tenant)); s != http.StatusOK {
		t.Fatalf("Contributor PUT: %d %.300s", s, b)
	}
	if s, b := call(principal1, "POST", sitePath+"/config/authsettings/list", ""); s != http.StatusOK {
		t.Fatalf("Contributor lists the classic settings: %d %.300s", s, b)
	}
	// And nothing of another group, however its name is spelled.
	s, b = call(principal1, "PUT", otherSite+"/config/authsettingsV2", authV2Body(e.tenant))
	wantDenied(t, "Contributor of rg writes other's settings", s, b)
}

// TestAuthSettings_TemplateDeployment: a Microsoft.Web/sites/config
// resource named authsettingsV2 in a template configures the site's
// authentication, as on Azure.
func TestAuthSettings_TemplateDeployment(t *testing.T) {
	e := newEnv(t)
	e.seed()
	tmpl := `{"$schema":"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#","contentVersion":"1.0.0.0",
	 "parameters":{"clientId":{"type":"string"}},
	 "resources":[{"type":"Microsoft.Web/sites/config","apiVersion":"2024-11-01","name":"app/authsettingsV2",
	  "properties":{"platform":{"enabled":true},"globalValidation":{"requireAuthentication":true,"unauthenticatedClientAction":"RedirectToLoginPage"},
	   "identityProviders":{"azureActiveDirectory":{"enabled":true,"registration":{"clientId":"[parameters('clientId')]",
	    "openIdIssuer":"[concat('https://sts.windows.net/', subscription().tenantId, '/v2.0')]","clientSecretSettingName":"MICROSOFT_PROVIDER_AUTHENTICATION_SECRET"}}}}}]}`
	r := e.deploy(http.StatusCreated, "auth", depBody(tmpl, `{"clientId":{"value":"`+authClientID+`"}}`))
	if !strings.Contains(string(r.body), `"Succeeded"`) {
		t.Fatalf("deployment: %s", r.body)
	}
	a, configured, err := e.store.AuthSettings(t.Context(), "rg", "app")
	if err != nil || !configured || !a.AuthOn() || a.IdentityProviders.AzureActiveDirectory == nil || a.IdentityProviders.AzureActiveDirectory.Registration.ClientID != authClientID {
		t.Fatalf("after the deployment: %+v, configured %v, %v", a, configured, err)
	}
	// A template with another provider fails the deployment, saying why.
	bad := strings.Replace(tmpl, `"azureActiveDirectory":{`, `"google":{"registration":{"clientId":"g"}},"azureActiveDirectory":{`, 1)
	r = e.deploy(http.StatusCreated, "auth2", depBody(bad, `{"clientId":{"value":"`+authClientID+`"}}`))
	if b := string(e.must(200, "GET", depPath+"/auth2", "").body); !strings.Contains(b, "Failed") || !strings.Contains(b, "identityProviders.google") {
		t.Fatalf("a template with Google: %s / %s", r.body, b)
	}
}

// TestAuthSettings_NoSwapPreviewWithAuth: App Service does not swap with
// preview while either slot has authentication on; a plain swap goes on
// (the settings stay with each slot, internal/store).
func TestAuthSettings_NoSwapPreviewWithAuth(t *testing.T) {
	sw := &swapRecorder{}
	e := newEnvWith(t, func(c *Config) { c.Slots = sw })
	e.seed()
	e.standardPlan()
	e.must(200, "PUT", slotPath, `{"location":"West Europe","properties":{"serverFarmId":"x","siteConfig":{}}}`)
	preview := `{"targetSlot":"production","preserveVnet":true}`
	e.must(200, "POST", slotPath+"/applySlotConfig", preview)
	for _, on := range []string{sitePath, slotPath} {
		e.must(200, "PUT", on+"/config/authsettingsV2", authV2Body(e.tenant))
		r := e.must(400, "POST", slotPath+"/applySlotConfig", preview)
		if !strings.Contains(string(r.body), "Swap with preview is not supported") {
			t.Errorf("preview with authentication on %s: %s", on, r.body)
		}
		e.must(200, "POST", slotPath+"/slotsswap", preview)
		e.must(200, "PUT", on+"/config/authsettingsV2", `{"properties":{"platform":{"enabled":false}}}`)
	}
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if want := []string{"preview rg app staging production", "swap rg app staging production", "swap rg app staging production"}; !cmp.Equal(sw.calls, want) {
		t.Fatalf("swaps asked for: %v, want %v", sw.calls, want)
	}
}
