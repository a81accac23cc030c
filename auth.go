package slipway

import "strings"

// App Service authentication ("Easy Auth"): a site's config/authsettingsV2
// (https://learn.microsoft.com/azure/app-service/overview-authentication-authorization,
// https://learn.microsoft.com/rest/api/appservice/web-apps/update-auth-settings-v2).
// The platform signs users in before a request reaches the app, serves the
// /.auth/* endpoints on the app's names and hands the app the signed-in
// user in the X-MS-CLIENT-PRINCIPAL* and X-MS-TOKEN-AAD-* request headers.
// Slipway's one identity provider is the Microsoft identity platform as
// Slipway serves it (its login.<domain>, internal/identity), with the
// users and app registrations of its own directory.

// Unauthenticated client actions (globalValidation.unauthenticatedClientAction).
const (
	AuthRedirectToLoginPage = "RedirectToLoginPage"
	AuthAllowAnonymous      = "AllowAnonymous"
	AuthReturn401           = "Return401"
	AuthReturn403           = "Return403"
)

// AuthSettings is a site's authentication as the V2 settings hold it: the
// part of config/authsettingsV2's properties Slipway stores and applies.
// JSON names are the ARM document's; a zero AuthSettings is a site whose
// authentication was never configured (off).
type AuthSettings struct {
	Platform          AuthPlatform          `json:"platform"`
	GlobalValidation  AuthGlobalValidation  `json:"globalValidation"`
	IdentityProviders AuthIdentityProviders `json:"identityProviders"`
	Login             AuthLogin             `json:"login"`
	HTTPSettings      AuthHTTPSettings      `json:"httpSettings"`
	// Instance names the site's creation (the store sets it; it is no part
	// of the ARM document): what the platform seals for a site (its
	// sessions, its sign-in states) is bound to it, so that a site deleted
	// and made again with the same name does not take the old one's.
	Instance string `json:"-"`
}

// AuthPlatform is properties.platform.
type AuthPlatform struct {
	Enabled        bool   `json:"enabled"`
	RuntimeVersion string `json:"runtimeVersion,omitempty"`
}

// AuthGlobalValidation is properties.globalValidation.
type AuthGlobalValidation struct {
	RequireAuthentication bool `json:"requireAuthentication"`
	// UnauthenticatedClientAction is one of the Auth* actions above; ""
	// reads as RedirectToLoginPage, App Service's default.
	UnauthenticatedClientAction string `json:"unauthenticatedClientAction,omitempty"`
	// RedirectToProvider names the provider unauthenticated browsers are
	// sent to ("azureActiveDirectory"); "" with one provider configured
	// means that one.
	RedirectToProvider string `json:"redirectToProvider,omitempty"`
	// ExcludedPaths are paths served without authentication (exact
	// paths, as App Service matches them).
	ExcludedPaths []string `json:"excludedPaths,omitempty"`
}

// AuthIdentityProviders is properties.identityProviders: only the
// Microsoft identity platform.
type AuthIdentityProviders struct {
	AzureActiveDirectory *AuthAAD `json:"azureActiveDirectory,omitempty"`
}

// AuthAAD is identityProviders.azureActiveDirectory.
type AuthAAD struct {
	Enabled      bool                `json:"enabled"`
	Registration AuthAADRegistration `json:"registration"`
	Login        AuthAADLogin        `json:"login"`
	Validation   AuthAADValidation   `json:"validation"`
}

// AuthAADRegistration is azureActiveDirectory.registration. The client
// secret itself is never here: ClientSecretSettingName names the app
// setting that holds it (MICROSOFT_PROVIDER_AUTHENTICATION_SECRET, as az
// and the portal write it; it may be a Key Vault reference).
type AuthAADRegistration struct {
	OpenIDIssuer            string `json:"openIdIssuer,omitempty"`
	ClientID                string `json:"clientId,omitempty"`
	ClientSecretSettingName string `json:"clientSecretSettingName,omitempty"`
}

// AuthAADLogin is azureActiveDirectory.login.
type AuthAADLogin struct {
	LoginParameters        []string `json:"loginParameters,omitempty"`
	DisableWWWAuthenticate bool     `json:"disableWWWAuthenticate,omitempty"`
}

// AuthAADValidation is azureActiveDirectory.validation.
type AuthAADValidation struct {
	AllowedAudiences []string `json:"allowedAudiences,omitempty"`
	// DefaultAuthorizationPolicy.AllowedApplications are the client
	// applications (app ids) whose tokens are accepted; none: any.
	DefaultAuthorizationPolicy AuthAADPolicy `json:"defaultAuthorizationPolicy"`
}

// AuthAADPolicy is validation.defaultAuthorizationPolicy.
type AuthAADPolicy struct {
	AllowedApplications []string `json:"allowedApplications,omitempty"`
	AllowedPrincipals   struct {
		Identities []string `json:"identities,omitempty"` // object ids
	} `json:"allowedPrincipals"`
}

// AuthLogin is properties.login.
type AuthLogin struct {
	TokenStore struct {
		Enabled                    bool    `json:"enabled"`
		TokenRefreshExtensionHours float64 `json:"tokenRefreshExtensionHours,omitempty"`
	} `json:"tokenStore"`
	PreserveURLFragmentsForLogins bool     `json:"preserveUrlFragmentsForLogins,omitempty"`
	AllowedExternalRedirectURLs   []string `json:"allowedExternalRedirectUrls,omitempty"`
	CookieExpiration              struct {
		// Convention is "FixedTime" or "IdentityProviderDerived".
		Convention       string `json:"convention,omitempty"`
		TimeToExpiration string `json:"timeToExpiration,omitempty"` // "08:00:00"
	} `json:"cookieExpiration"`
	Nonce struct {
		ValidateNonce           *bool  `json:"validateNonce,omitempty"` // nil: true
		NonceExpirationInterval string `json:"nonceExpirationInterval,omitempty"`
	} `json:"nonce"`
}

// AuthHTTPSettings is properties.httpSettings.
type AuthHTTPSettings struct {
	// RequireHTTPS: nil reads as true, App Service's default.
	RequireHTTPS *bool `json:"requireHttps,omitempty"`
	Routes       struct {
		APIPrefix string `json:"apiPrefix,omitempty"` // "" reads as "/.auth"
	} `json:"routes"`
}

// AuthOn reports whether the platform's authentication runs for the site.
func (a AuthSettings) AuthOn() bool { return a.Platform.Enabled }

// DefaultAuthAPIPrefix is where App Service serves its authentication
// endpoints when httpSettings.routes.apiPrefix is not set.
const DefaultAuthAPIPrefix = "/.auth"

// APIPrefix is the path the authentication endpoints are served under:
// httpSettings.routes.apiPrefix without a trailing slash, or
// DefaultAuthAPIPrefix when it is unset (or not a path).
func (a AuthSettings) APIPrefix() string {
	p := strings.TrimSuffix(a.HTTPSettings.Routes.APIPrefix, "/")
	if !strings.HasPrefix(p, "/") {
		return DefaultAuthAPIPrefix
	}
	return p
}

// HTTPSRequired is httpSettings.requireHttps: true unless set false, App
// Service's default.
func (a AuthSettings) HTTPSRequired() bool {
	return a.HTTPSettings.RequireHTTPS == nil || *a.HTTPSettings.RequireHTTPS
}
