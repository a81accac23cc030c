package slipway

// Validation of App Service authentication settings (auth.go): the form
// of every value a site's owner gives, bounded, so that what the front
// door and the sign-in flow read is well formed. Whether an issuer names
// this installation's directory is the management API's to check: it
// knows the tenant and the authority.

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strings"
)

// Bounds on the settings' lists and strings.
const (
	MaxAuthExcludedPaths   = 64
	MaxAuthRedirectURLs    = 64
	MaxAuthAudiences       = 32
	MaxAuthLoginParameters = 16
	MaxAuthPolicyEntries   = 64
	maxAuthPathLen         = 512
	maxAuthURLLen          = 2048
	maxAuthValueLen        = 256
	maxAuthRefreshHours    = 8760 // a year
	maxAuthRuntimeVersion  = 32
	maxAuthAPIPrefixLen    = 64
	maxAuthSettingNameLen  = 256
)

// AuthProviderAAD is the one identity provider's name in
// identityProviders and globalValidation.redirectToProvider.
const AuthProviderAAD = "azureActiveDirectory"

var (
	guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	// timeSpanRE is a .NET TimeSpan as App Service writes them:
	// [d.]hh:mm:ss.
	timeSpanRE = regexp.MustCompile(`^(\d{1,4}\.)?\d{1,2}:[0-5]\d:[0-5]\d$`)
	// runtimeVersionRE is what az accepts for --runtime-version: ~N or a.b.c.
	runtimeVersionRE = regexp.MustCompile(`^(~\d{1,4}|\d{1,4}\.\d{1,4}\.\d{1,4})$`)
	apiPrefixRE      = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+$`)
)

// IsGUID reports whether s is a GUID in its 8-4-4-4-12 hex form.
func IsGUID(s string) bool { return guidRE.MatchString(s) }

// authLoginParamsReserved are the sign-in request's parameters the
// platform sets itself: a login parameter may not replace them (one that
// set redirect_uri or state would take the sign-in elsewhere).
var authLoginParamsReserved = map[string]bool{
	"client_id": true, "redirect_uri": true, "state": true, "nonce": true, "response_mode": true,
	"code_challenge": true, "code_challenge_method": true, "client_secret": true, "client_assertion": true,
	"client_assertion_type": true, "code": true, "grant_type": true,
}

// CanonicalAuthAction returns the unauthenticated client action in its
// canonical casing, or false when v names none ("" is RedirectToLoginPage's
// default, returned as "").
func CanonicalAuthAction(v string) (string, bool) {
	if v == "" {
		return "", true
	}
	for _, a := range []string{AuthRedirectToLoginPage, AuthAllowAnonymous, AuthReturn401, AuthReturn403} {
		if strings.EqualFold(v, a) {
			return a, true
		}
	}
	return "", false
}

// Validate checks the settings' form and bounds. Names in its errors are
// the ARM document's (properties.…).
func (a AuthSettings) Validate() error {
	if v := a.Platform.RuntimeVersion; v != "" && (len(v) > maxAuthRuntimeVersion || !runtimeVersionRE.MatchString(v)) {
		return authInvalid("platform.runtimeVersion", v, "a version such as ~1 or 1.7.1")
	}
	g := a.GlobalValidation
	if act, ok := CanonicalAuthAction(g.UnauthenticatedClientAction); !ok || act != g.UnauthenticatedClientAction {
		return authInvalid("globalValidation.unauthenticatedClientAction", g.UnauthenticatedClientAction,
			"one of RedirectToLoginPage, AllowAnonymous, Return401, Return403")
	}
	if p := g.RedirectToProvider; p != "" && p != AuthProviderAAD {
		return authInvalid("globalValidation.redirectToProvider", p, "azureActiveDirectory, the one identity provider")
	}
	if err := authList("globalValidation.excludedPaths", g.ExcludedPaths, MaxAuthExcludedPaths, checkAuthPath); err != nil {
		return err
	}
	if aad := a.IdentityProviders.AzureActiveDirectory; aad != nil {
		if err := aad.validate(); err != nil {
			return err
		}
	}
	l := a.Login
	if h := l.TokenStore.TokenRefreshExtensionHours; math.IsNaN(h) || h < 0 || h > maxAuthRefreshHours {
		return authInvalid("login.tokenStore.tokenRefreshExtensionHours", fmt.Sprint(h), fmt.Sprintf("a number of hours from 0 to %d", maxAuthRefreshHours))
	}
	if err := authList("login.allowedExternalRedirectUrls", l.AllowedExternalRedirectURLs, MaxAuthRedirectURLs, checkAuthRedirectURL); err != nil {
		return err
	}
	switch l.CookieExpiration.Convention {
	case "", "FixedTime", "IdentityProviderDerived":
	default:
		return authInvalid("login.cookieExpiration.convention", l.CookieExpiration.Convention, "FixedTime or IdentityProviderDerived")
	}
	if err := checkTimeSpan("login.cookieExpiration.timeToExpiration", l.CookieExpiration.TimeToExpiration); err != nil {
		return err
	}
	if err := checkTimeSpan("login.nonce.nonceExpirationInterval", l.Nonce.NonceExpirationInterval); err != nil {
		return err
	}
	if p := a.HTTPSettings.Routes.APIPrefix; p != "" && (len(p) > maxAuthAPIPrefixLen || !apiPrefixRE.MatchString(p)) {
		return authInvalid("httpSettings.routes.apiPrefix", p, "an absolute path of letters, digits and . _ ~ - such as /.auth, without a trailing slash")
	}
	return nil
}

func (aad *AuthAAD) validate() error {
	const p = "identityProviders.azureActiveDirectory."
	r := aad.Registration
	if r.ClientID != "" && !IsGUID(r.ClientID) {
		return authInvalid(p+"registration.clientId", r.ClientID, "the application (client) ID of an app registration, a GUID (az ad app create prints it as appId)")
	}
	if n := r.ClientSecretSettingName; n != "" {
		if err := ValidateSettingName(n); err != nil || len(n) > maxAuthSettingNameLen || strings.ContainsAny(n, "\x00\r\n") {
			return authInvalid(p+"registration.clientSecretSettingName", n, "the name of an app setting, such as MICROSOFT_PROVIDER_AUTHENTICATION_SECRET")
		}
	}
	if len(r.OpenIDIssuer) > maxAuthURLLen {
		return authInvalid(p+"registration.openIdIssuer", r.OpenIDIssuer[:64]+"…", fmt.Sprintf("at most %d characters", maxAuthURLLen))
	}
	if err := authList(p+"login.loginParameters", aad.Login.LoginParameters, MaxAuthLoginParameters, checkLoginParameter); err != nil {
		return err
	}
	if err := authList(p+"validation.allowedAudiences", aad.Validation.AllowedAudiences, MaxAuthAudiences, checkAuthValue); err != nil {
		return err
	}
	pol := aad.Validation.DefaultAuthorizationPolicy
	if err := authList(p+"validation.defaultAuthorizationPolicy.allowedApplications", pol.AllowedApplications, MaxAuthPolicyEntries, checkGUID); err != nil {
		return err
	}
	return authList(p+"validation.defaultAuthorizationPolicy.allowedPrincipals.identities", pol.AllowedPrincipals.Identities, MaxAuthPolicyEntries, checkGUID)
}

// authInvalid is the 400 for a setting's value: what it is, what it must be.
func authInvalid(name, value, want string) error {
	return Errorf(EINVALID, "The authentication setting 'properties.%s' is not valid: '%s'. It must be %s.", name, printable(value), want)
}

// printable shows at most 128 characters of v with control characters
// escaped, for an error message.
func printable(v string) string {
	if len(v) > 128 {
		v = v[:128] + "…"
	}
	return strings.Trim(fmt.Sprintf("%q", v), `"`)
}

// authList checks a list's length and each item.
func authList(name string, items []string, max int, check func(string) string) error {
	if len(items) > max {
		return Errorf(EINVALID, "The authentication setting 'properties.%s' has %d entries; at most %d are allowed.", name, len(items), max)
	}
	for _, it := range items {
		if want := check(it); want != "" {
			return authInvalid(name, it, want)
		}
	}
	return nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// checkAuthPath: an absolute path, as App Service matches excluded paths
// (no query, no fragment, no scheme-relative //), with no dot segment and
// no encoded dot, slash or backslash: a path the front door's cleaning of
// the request path could make another one is no exclusion to match.
func checkAuthPath(p string) string {
	want := fmt.Sprintf("an absolute path such as /health (starting with one '/', without query, fragment, spaces, backslashes, . or .. segments or encoded . / \\, at most %d characters)", maxAuthPathLen)
	if p == "" || p[0] != '/' || strings.HasPrefix(p, "//") || len(p) > maxAuthPathLen || hasControl(p) || strings.ContainsAny(p, "?# \\") {
		return want
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return want
		}
	}
	if l := strings.ToLower(p); strings.Contains(l, "%2e") || strings.Contains(l, "%2f") || strings.Contains(l, "%5c") {
		return want
	}
	return ""
}

// checkAuthRedirectURL: an absolute http or https URL with a host, no
// user information and no fragment.
func checkAuthRedirectURL(v string) string {
	const want = "an absolute http or https URL with a host, such as https://app.example.com (no user name or fragment)"
	if len(v) > maxAuthURLLen || hasControl(v) || strings.ContainsAny(v, " \\") {
		return want
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Hostname() == "" || u.User != nil || u.Fragment != "" || strings.Contains(v, "#") || u.Opaque != "" {
		return want
	}
	return ""
}

func checkAuthValue(v string) string {
	if v == "" || len(v) > maxAuthValueLen || hasControl(v) {
		return fmt.Sprintf("a value of 1 to %d printable characters", maxAuthValueLen)
	}
	return ""
}

func checkGUID(v string) string {
	if !IsGUID(v) {
		return "a GUID"
	}
	return ""
}

// checkLoginParameter: key=value, the key not one the platform sets.
func checkLoginParameter(v string) string {
	k, _, ok := strings.Cut(v, "=")
	if !ok || k == "" || len(v) > maxAuthValueLen || hasControl(v) || strings.ContainsAny(k, "&? #") {
		return fmt.Sprintf("a parameter of the sign-in request as name=value, such as scope=openid profile email (at most %d characters)", maxAuthValueLen)
	}
	if authLoginParamsReserved[strings.ToLower(k)] {
		return fmt.Sprintf("a parameter the platform does not set itself (%s is set by the sign-in flow)", k)
	}
	return ""
}

func checkTimeSpan(name, v string) error {
	if v == "" {
		return nil
	}
	if !timeSpanRE.MatchString(v) || strings.Trim(v, "0:.") == "" {
		return authInvalid(name, v, "a positive time span as hh:mm:ss or d.hh:mm:ss, such as 08:00:00")
	}
	return nil
}
