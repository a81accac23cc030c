// Package appenv computes the environment an app instance sees: App
// Service's contract (docs/appservice.md §2) — PORT, WEBSITE_* variables, HOME,
// every app setting plus its APPSETTING_ copy, connection strings with their
// type prefixes — and the Python container's additions (§4): the virtual
// environment activated, APP_PATH.
package appenv

import (
	"maps"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/slipway-dev/slipway"
)

// Input is everything the environment depends on.
type Input struct {
	Site              slipway.Site
	Plan              slipway.Plan
	Settings          map[string]string
	ConnectionStrings map[string]slipway.ConnectionString
	SubscriptionID    string
	HostName          string // default host name, e.g. "todo.localhost" (with ":port" when not 80)
	InstanceID        string // 64 hex chars
	RoleInstance      int
	Port              int
	Home              string            // the persistent home as the app sees it ("/home" in the sandbox)
	AppPath           string            // the artifact directory
	VenvDir           string            // "" when no build produced one
	PythonBinDir      string            // the interpreter's bin dir (also gives gunicorn to unbuilt apps)
	PythonVersion     string            // "3.12.1"
	Region            string            // display name, e.g. "West Europe"
	Extra             map[string]string // platform additions (identity endpoint, CA bundle...)
	// Auth is the site's App Service authentication when it is on (nil:
	// off), which the app learns from WEBSITE_AUTH_* (authVariables).
	Auth *slipway.AuthSettings
}

// Environment returns the environment as sorted KEY=value strings.
func Environment(in Input) []string {
	env := map[string]string{}
	// App settings first, so that the platform's own variables win, as on
	// App Service where WEBSITE_* are read-only.
	for k, v := range in.Settings {
		name := slipway.SanitizeSettingName(k)
		if name == "" {
			continue
		}
		env[name] = v
		env["APPSETTING_"+name] = v
	}
	for k, cs := range in.ConnectionStrings {
		prefix, ok := slipway.ConnectionStringTypes[cs.Type]
		if !ok {
			prefix = "CUSTOMCONNSTR_"
		}
		env[prefix+slipway.SanitizeSettingName(k)] = cs.Value
	}
	region := in.Region
	if region == "" {
		region = in.Site.Location
	}
	platform := map[string]string{
		"PORT":                     strconv.Itoa(in.Port),
		"WEBSITE_SITE_NAME":        in.Site.Name,
		"WEBSITE_HOSTNAME":         in.HostName,
		"WEBSITE_RESOURCE_GROUP":   in.Site.ResourceGroup,
		"WEBSITE_OWNER_NAME":       in.SubscriptionID + "+" + in.Site.ResourceGroup + "-" + strings.ReplaceAll(strings.ToLower(region), " ", "") + "webspace-Linux",
		"WEBSITE_SKU":              in.Plan.SKU.Tier,
		"WEBSITE_COMPUTE_MODE":     "Dedicated",
		"WEBSITE_INSTANCE_ID":      in.InstanceID,
		"WEBSITE_ROLE_INSTANCE_ID": strconv.Itoa(in.RoleInstance),
		"WEBSITE_SLOT_NAME":        "Production",
		"WEBSITE_AUTH_ENABLED":     "False",
		"WEBSITE_AUTH_LOGOUT_PATH": slipway.DefaultAuthAPIPrefix + "/logout",
		"REGION_NAME":              region,
		"HOME":                     in.Home,
		"APP_PATH":                 in.AppPath,
		"APPSVC_VIRTUAL_ENV":       "antenv",
		"LANG":                     "C.UTF-8",
		"LC_ALL":                   "C.UTF-8",
		"PYTHONUNBUFFERED":         "1",
		"PYTHONDONTWRITEBYTECODE":  "1",
		"TMPDIR":                   "/tmp",
	}
	if in.Plan.SKU.SharedCompute() {
		platform["WEBSITE_COMPUTE_MODE"] = "Shared"
	}
	maps.Copy(platform, authVariables(in.Auth))
	// APPSETTING_WEBSITE_SITE_NAME is always present; Oryx uses it to detect App Service.
	platform["APPSETTING_WEBSITE_SITE_NAME"] = in.Site.Name
	path := []string{}
	if in.VenvDir != "" {
		venv := filepath.Join(in.AppPath, "antenv")
		platform["VIRTUAL_ENV"] = venv
		path = append(path, filepath.Join(venv, "bin"))
		if mm := majorMinor(in.PythonVersion); mm != "" {
			// A PYTHONPATH of the app's own comes first and is kept, as
			// App Service keeps it; the environment's packages follow.
			sp := filepath.Join(venv, "lib", "python"+mm, "site-packages")
			if own := strings.TrimSpace(env["PYTHONPATH"]); own != "" && own != sp {
				sp = own + ":" + sp
			}
			platform["PYTHONPATH"] = sp
		}
	}
	if in.PythonBinDir != "" {
		path = append(path, in.PythonBinDir)
	}
	path = append(path, "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
	platform["PATH"] = strings.Join(path, ":")
	for k, v := range platform {
		env[k] = v
	}
	for k, v := range in.Extra {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// authVariables are the WEBSITE_AUTH_* variables of a site whose App
// Service authentication is on, as App Service sets them and as
// Microsoft's libraries read them (Microsoft.Identity.Web's
// AppServicesAuthenticationInformation: WEBSITE_AUTH_ENABLED "True" with
// WEBSITE_AUTH_DEFAULT_PROVIDER "AzureActiveDirectory" means the app sits
// behind the platform's sign-in; WEBSITE_AUTH_CLIENT_ID and
// WEBSITE_AUTH_OPENID_ISSUER name its registration; see
// https://learn.microsoft.com/azure/app-service/configure-authentication-provider-aad).
// The client secret is no variable of its own: it is the app setting the
// settings name (WEBSITE_AUTH_CLIENT_SECRET_SETTING_NAME), which the app
// sees as every app setting.
func authVariables(a *slipway.AuthSettings) map[string]string {
	if a == nil || !a.AuthOn() {
		return nil
	}
	titled := func(b bool) string {
		if b {
			return "True"
		}
		return "False"
	}
	prefix := a.APIPrefix()
	action := a.GlobalValidation.UnauthenticatedClientAction
	if !a.GlobalValidation.RequireAuthentication {
		action = slipway.AuthAllowAnonymous
	} else if action == "" {
		action = slipway.AuthRedirectToLoginPage
	}
	v := map[string]string{
		"WEBSITE_AUTH_ENABLED":                "True",
		"WEBSITE_AUTH_LOGOUT_PATH":            prefix + "/logout",
		"WEBSITE_AUTH_API_PREFIX":             prefix,
		"WEBSITE_AUTH_TOKEN_STORE":            titled(a.Login.TokenStore.Enabled),
		"WEBSITE_AUTH_REQUIRE_HTTPS":          titled(a.HTTPSRequired()),
		"WEBSITE_AUTH_UNAUTHENTICATED_ACTION": action,
		"WEBSITE_AUTH_PRESERVE_URL_FRAGMENT":  titled(a.Login.PreserveURLFragmentsForLogins),
	}
	if aad := a.IdentityProviders.AzureActiveDirectory; aad != nil && aad.Enabled {
		v["WEBSITE_AUTH_DEFAULT_PROVIDER"] = "AzureActiveDirectory"
		v["WEBSITE_AUTH_CLIENT_ID"] = aad.Registration.ClientID
		if aad.Registration.OpenIDIssuer != "" {
			v["WEBSITE_AUTH_OPENID_ISSUER"] = aad.Registration.OpenIDIssuer
		}
		if aad.Registration.ClientSecretSettingName != "" {
			v["WEBSITE_AUTH_CLIENT_SECRET_SETTING_NAME"] = aad.Registration.ClientSecretSettingName
		}
	}
	return v
}

func majorMinor(v string) string {
	parts := strings.Split(v, ".")
	if len(parts) < 2 {
		return ""
	}
	return parts[0] + "." + parts[1]
}
