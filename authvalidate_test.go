package slipway

import (
	"strings"
	"testing"
)

func TestAuthSettingsValidate(t *testing.T) {
	ok := func() AuthSettings {
		var a AuthSettings
		a.Platform.Enabled, a.Platform.RuntimeVersion = true, "~1"
		a.GlobalValidation.RequireAuthentication = true
		a.GlobalValidation.UnauthenticatedClientAction = AuthReturn401
		a.GlobalValidation.RedirectToProvider = AuthProviderAAD
		a.GlobalValidation.ExcludedPaths = []string{"/health", "/static/app.css"}
		a.IdentityProviders.AzureActiveDirectory = &AuthAAD{Enabled: true,
			Registration: AuthAADRegistration{ClientID: "00001111-aaaa-2222-bbbb-3333cccc4444", ClientSecretSettingName: "MICROSOFT_PROVIDER_AUTHENTICATION_SECRET",
				OpenIDIssuer: "https://sts.windows.net/aaaabbbb-0000-cccc-1111-dddd2222eeee/v2.0"},
			Login:      AuthAADLogin{LoginParameters: []string{"scope=openid profile email offline_access"}},
			Validation: AuthAADValidation{AllowedAudiences: []string{"api://00001111-aaaa-2222-bbbb-3333cccc4444"}}}
		a.Login.TokenStore.Enabled, a.Login.TokenStore.TokenRefreshExtensionHours = true, 72
		a.Login.AllowedExternalRedirectURLs = []string{"https://app.example.com/done", "http://localhost:3000"}
		a.Login.CookieExpiration.Convention, a.Login.CookieExpiration.TimeToExpiration = "FixedTime", "08:00:00"
		a.Login.Nonce.NonceExpirationInterval = "00:05:00"
		a.HTTPSettings.Routes.APIPrefix = "/.auth"
		return a
	}
	if err := ok().Validate(); err != nil {
		t.Fatalf("valid settings refused: %v", err)
	}
	if err := (AuthSettings{}).Validate(); err != nil {
		t.Fatalf("zero settings refused: %v", err)
	}
	many := func(n int, v string) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = v
		}
		return s
	}
	for name, tc := range map[string]struct {
		edit func(a *AuthSettings)
		want string
	}{
		"action":          {func(a *AuthSettings) { a.GlobalValidation.UnauthenticatedClientAction = "Return302" }, "unauthenticatedClientAction"},
		"action casing":   {func(a *AuthSettings) { a.GlobalValidation.UnauthenticatedClientAction = "return401" }, "unauthenticatedClientAction"},
		"provider":        {func(a *AuthSettings) { a.GlobalValidation.RedirectToProvider = "google" }, "redirectToProvider"},
		"relative path":   {func(a *AuthSettings) { a.GlobalValidation.ExcludedPaths = []string{"health"} }, "excludedPaths"},
		"scheme-rel path": {func(a *AuthSettings) { a.GlobalValidation.ExcludedPaths = []string{"//evil.example"} }, "excludedPaths"},
		"path query":      {func(a *AuthSettings) { a.GlobalValidation.ExcludedPaths = []string{"/a?b"} }, "excludedPaths"},
		"dot segment":     {func(a *AuthSettings) { a.GlobalValidation.ExcludedPaths = []string{"/health/../admin"} }, "excludedPaths"},
		"encoded dots":    {func(a *AuthSettings) { a.GlobalValidation.ExcludedPaths = []string{"/health/%2E%2e/admin"} }, "excludedPaths"},
		"encoded slash":   {func(a *AuthSettings) { a.GlobalValidation.ExcludedPaths = []string{"/health%2fadmin"} }, "excludedPaths"},
		"path newline":    {func(a *AuthSettings) { a.GlobalValidation.ExcludedPaths = []string{"/a\r\nX: y"} }, "excludedPaths"},
		"too many paths":  {func(a *AuthSettings) { a.GlobalValidation.ExcludedPaths = many(MaxAuthExcludedPaths+1, "/a") }, "at most 64"},
		"long path":       {func(a *AuthSettings) { a.GlobalValidation.ExcludedPaths = []string{"/" + strings.Repeat("a", 600)} }, "excludedPaths"},
		"client id":       {func(a *AuthSettings) { a.IdentityProviders.AzureActiveDirectory.Registration.ClientID = "my-app" }, "clientId"},
		"secret name": {func(a *AuthSettings) {
			a.IdentityProviders.AzureActiveDirectory.Registration.ClientSecretSettingName = "--"
		}, "clientSecretSettingName"},
		"reserved param": {func(a *AuthSettings) {
			a.IdentityProviders.AzureActiveDirectory.Login.LoginParameters = []string{"redirect_uri=https://evil"}
		}, "loginParameters"},
		"param form": {func(a *AuthSettings) {
			a.IdentityProviders.AzureActiveDirectory.Login.LoginParameters = []string{"scope"}
		}, "loginParameters"},
		"empty audience": {func(a *AuthSettings) {
			a.IdentityProviders.AzureActiveDirectory.Validation.AllowedAudiences = []string{""}
		}, "allowedAudiences"},
		"app not guid": {func(a *AuthSettings) {
			a.IdentityProviders.AzureActiveDirectory.Validation.DefaultAuthorizationPolicy.AllowedApplications = []string{"x"}
		}, "allowedApplications"},
		"negative hours":    {func(a *AuthSettings) { a.Login.TokenStore.TokenRefreshExtensionHours = -1 }, "tokenRefreshExtensionHours"},
		"relative redirect": {func(a *AuthSettings) { a.Login.AllowedExternalRedirectURLs = []string{"/done"} }, "allowedExternalRedirectUrls"},
		"javascript":        {func(a *AuthSettings) { a.Login.AllowedExternalRedirectURLs = []string{"javascript:alert(1)"} }, "allowedExternalRedirectUrls"},
		"userinfo": {func(a *AuthSettings) {
			a.Login.AllowedExternalRedirectURLs = []string{"https://good.example@evil.example/"}
		}, "allowedExternalRedirectUrls"},
		"scheme-rel url":   {func(a *AuthSettings) { a.Login.AllowedExternalRedirectURLs = []string{"//evil.example"} }, "allowedExternalRedirectUrls"},
		"convention":       {func(a *AuthSettings) { a.Login.CookieExpiration.Convention = "Forever" }, "convention"},
		"time span":        {func(a *AuthSettings) { a.Login.CookieExpiration.TimeToExpiration = "8h" }, "timeToExpiration"},
		"zero time span":   {func(a *AuthSettings) { a.Login.Nonce.NonceExpirationInterval = "00:00:00" }, "nonceExpirationInterval"},
		"api prefix":       {func(a *AuthSettings) { a.HTTPSettings.Routes.APIPrefix = "/" }, "apiPrefix"},
		"api prefix slash": {func(a *AuthSettings) { a.HTTPSettings.Routes.APIPrefix = "/.auth/" }, "apiPrefix"},
		"runtime version":  {func(a *AuthSettings) { a.Platform.RuntimeVersion = "latest" }, "runtimeVersion"},
		"identity not guid": {func(a *AuthSettings) {
			a.IdentityProviders.AzureActiveDirectory.Validation.DefaultAuthorizationPolicy.AllowedPrincipals.Identities = []string{"bob"}
		}, "identities"},
		"too many audiences": {func(a *AuthSettings) {
			a.IdentityProviders.AzureActiveDirectory.Validation.AllowedAudiences = many(MaxAuthAudiences+1, "x")
		}, "at most 32"},
	} {
		t.Run(name, func(t *testing.T) {
			a := ok()
			tc.edit(&a)
			err := a.Validate()
			if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want EINVALID naming %s", err, tc.want)
			}
		})
	}
}
