package appenv

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-dev/slipway"
)

// TestEnvironment checks the contract of docs/appservice.md §2 and §4 (env vars
// the platform sets, APPSETTING_ copies, connection-string prefixes,
// sanitised names, the venv activated).
func TestEnvironment(t *testing.T) {
	in := Input{
		Site:     slipway.Site{Name: "todo", ResourceGroup: "rg1", Location: "West Europe"},
		Plan:     slipway.Plan{SKU: slipway.SKU{Name: "B1", Tier: "Basic", Capacity: 2}},
		Settings: map[string]string{"DJANGO_SECRET_KEY": "s3cret", "my-setting.v2": "x", "WEBSITE_SITE_NAME": "spoofed", "PORT": "1"},
		ConnectionStrings: map[string]slipway.ConnectionString{
			"MainDb": {Value: "postgres://u@h/db", Type: "PostgreSQL"},
			"Cache":  {Value: "redis://r", Type: "RedisCache"},
			"Odd":    {Value: "v", Type: "Unknown"},
		},
		SubscriptionID: "00000000-0000-0000-0000-000000000001",
		HostName:       "todo.localhost:8080", InstanceID: strings.Repeat("ab", 32), RoleInstance: 1, Port: 40123,
		Home: "/home", AppPath: "/data/sites/todo/artifacts/d1", VenvDir: "/cache/venvs/k/antenv",
		PythonBinDir: "/opt/python/3.12.1/bin", PythonVersion: "3.12.1",
	}
	got := map[string]string{}
	for _, kv := range Environment(in) {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	want := map[string]string{
		"PORT":                         "40123",
		"WEBSITE_SITE_NAME":            "todo",
		"WEBSITE_HOSTNAME":             "todo.localhost:8080",
		"WEBSITE_RESOURCE_GROUP":       "rg1",
		"WEBSITE_OWNER_NAME":           "00000000-0000-0000-0000-000000000001+rg1-westeuropewebspace-Linux",
		"WEBSITE_SKU":                  "Basic",
		"WEBSITE_COMPUTE_MODE":         "Dedicated",
		"WEBSITE_INSTANCE_ID":          strings.Repeat("ab", 32),
		"WEBSITE_ROLE_INSTANCE_ID":     "1",
		"WEBSITE_SLOT_NAME":            "Production",
		"WEBSITE_AUTH_ENABLED":         "False",
		"WEBSITE_AUTH_LOGOUT_PATH":     "/.auth/logout",
		"REGION_NAME":                  "West Europe",
		"HOME":                         "/home",
		"APP_PATH":                     "/data/sites/todo/artifacts/d1",
		"APPSVC_VIRTUAL_ENV":           "antenv",
		"VIRTUAL_ENV":                  "/data/sites/todo/artifacts/d1/antenv",
		"PYTHONPATH":                   "/data/sites/todo/artifacts/d1/antenv/lib/python3.12/site-packages",
		"PATH":                         "/data/sites/todo/artifacts/d1/antenv/bin:/opt/python/3.12.1/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LANG":                         "C.UTF-8",
		"LC_ALL":                       "C.UTF-8",
		"PYTHONUNBUFFERED":             "1",
		"PYTHONDONTWRITEBYTECODE":      "1",
		"TMPDIR":                       "/tmp",
		"DJANGO_SECRET_KEY":            "s3cret",
		"APPSETTING_DJANGO_SECRET_KEY": "s3cret",
		"mysettingv2":                  "x",
		"APPSETTING_mysettingv2":       "x",
		"APPSETTING_WEBSITE_SITE_NAME": "todo", // platform values win over settings
		"APPSETTING_PORT":              "1",
		"POSTGRESQLCONNSTR_MainDb":     "postgres://u@h/db",
		"REDISCACHECONNSTR_Cache":      "redis://r",
		"CUSTOMCONNSTR_Odd":            "v",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("environment mismatch (-want +got):\n%s", diff)
	}
}

func TestEnvironmentWithoutBuild(t *testing.T) {
	env := Environment(Input{Site: slipway.Site{Name: "a"}, Plan: slipway.Plan{SKU: slipway.SKU{Tier: "Free"}}, PythonBinDir: "/p/bin", Port: 1})
	joined := strings.Join(env, "\n")
	for _, bad := range []string{"VIRTUAL_ENV=", "PYTHONPATH="} {
		if strings.Contains(joined, "\n"+bad) || strings.HasPrefix(joined, bad) {
			t.Errorf("%s set although no venv was built", bad)
		}
	}
	if !strings.Contains(joined, "PATH=/p/bin:") || !strings.Contains(joined, "WEBSITE_COMPUTE_MODE=Shared") {
		t.Errorf("unexpected environment:\n%s", joined)
	}
}

// TestEnvironmentAuth: with App Service authentication on, the app sees
// WEBSITE_AUTH_ENABLED "True" (Microsoft's libraries compare it to exactly
// that) with the provider and registration, and a setting of the app's
// own cannot pose as them; with it off, "False".
func TestEnvironmentAuth(t *testing.T) {
	a := &slipway.AuthSettings{}
	a.Platform.Enabled = true
	a.GlobalValidation.RequireAuthentication = true
	a.Login.TokenStore.Enabled = true
	a.HTTPSettings.Routes.APIPrefix = "/.sso/"
	a.IdentityProviders.AzureActiveDirectory = &slipway.AuthAAD{Enabled: true, Registration: slipway.AuthAADRegistration{
		ClientID: "11111111-2222-3333-4444-555555555555", OpenIDIssuer: "https://sts.windows.net/t/v2.0",
		ClientSecretSettingName: "MICROSOFT_PROVIDER_AUTHENTICATION_SECRET"}}
	env := func(in Input) map[string]string {
		got := map[string]string{}
		for _, kv := range Environment(in) {
			if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "WEBSITE_AUTH_") {
				got[k] = v
			}
		}
		return got
	}
	in := Input{Site: slipway.Site{Name: "a"}, Settings: map[string]string{"WEBSITE_AUTH_CLIENT_ID": "spoofed"}, Auth: a}
	want := map[string]string{
		"WEBSITE_AUTH_ENABLED":                    "True",
		"WEBSITE_AUTH_DEFAULT_PROVIDER":           "AzureActiveDirectory",
		"WEBSITE_AUTH_CLIENT_ID":                  "11111111-2222-3333-4444-555555555555",
		"WEBSITE_AUTH_OPENID_ISSUER":              "https://sts.windows.net/t/v2.0",
		"WEBSITE_AUTH_CLIENT_SECRET_SETTING_NAME": "MICROSOFT_PROVIDER_AUTHENTICATION_SECRET",
		"WEBSITE_AUTH_LOGOUT_PATH":                "/.sso/logout",
		"WEBSITE_AUTH_API_PREFIX":                 "/.sso",
		"WEBSITE_AUTH_TOKEN_STORE":                "True",
		"WEBSITE_AUTH_REQUIRE_HTTPS":              "True",
		"WEBSITE_AUTH_UNAUTHENTICATED_ACTION":     "RedirectToLoginPage",
		"WEBSITE_AUTH_PRESERVE_URL_FRAGMENT":      "False",
	}
	if diff := cmp.Diff(want, env(in)); diff != "" {
		t.Fatalf("authentication on (-want +got):\n%s", diff)
	}
	a.GlobalValidation.RequireAuthentication = false
	if got := env(in)["WEBSITE_AUTH_UNAUTHENTICATED_ACTION"]; got != "AllowAnonymous" {
		t.Errorf("without requireAuthentication the action is %q, want AllowAnonymous", got)
	}
	a.Platform.Enabled = false
	want = map[string]string{"WEBSITE_AUTH_ENABLED": "False", "WEBSITE_AUTH_LOGOUT_PATH": "/.auth/logout", "WEBSITE_AUTH_CLIENT_ID": "spoofed"}
	if diff := cmp.Diff(want, env(in)); diff != "" {
		t.Fatalf("authentication off (-want +got):\n%s", diff)
	}
}
