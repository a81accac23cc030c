package arm

// App Service authentication ("Easy Auth") settings of a site and its
// slots (docs/arm.md §1.6): config/authsettingsV2, the settings as
// Slipway stores them (slipway.AuthSettings), and config/authsettings,
// the classic (V1) view of the same settings, which az webapp auth
// show|update reads and writes
// (https://learn.microsoft.com/azure/app-service/configure-authentication-api-version).
//
//   - GET config/authsettingsV2 and GET .../authsettingsV2/list (the Azure
//     SDK for Go's GetAuthSettingsV2WithoutSecrets and GetAuthSettingsV2)
//     answer the V2 document with App Service's defaults for unset parts;
//     it holds no secret (the client secret is an app setting it names).
//   - PUT config/authsettingsV2 replaces the settings. Everything is
//     validated; a setting Slipway cannot honour is refused with the
//     reason, never stored and ignored: identity providers other than the
//     Microsoft identity platform (Slipway signs users in only with its
//     own, at login.<domain>), file-based configuration, a token store
//     elsewhere, a forward proxy convention, certificate credentials,
//     claim checks. An issuer must name this installation's tenant.
//   - POST config/authsettings/list and PUT config/authsettings are the
//     V1 view: a V1 write sets what V1 can say and keeps the V2-only
//     parts; a clientSecret becomes the app setting
//     MICROSOFT_PROVIDER_AUTHENTICATION_SECRET (as App Service's move to
//     V2 keeps it) named by clientSecretSettingName, and is never shown.
//
// A write that changes settings in force restarts the app, as a change of
// its site config does on App Service (Linux apps get the settings in
// their environment); the front door sees the new settings at once (the
// store's site table).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/slipway-dev/slipway"
)

// authSecretSetting is the app setting App Service keeps the Microsoft
// provider's client secret in
// (https://learn.microsoft.com/azure/app-service/configure-authentication-provider-aad).
const authSecretSetting = "MICROSOFT_PROVIDER_AUTHENTICATION_SECRET"

// maxAuthSecretLen bounds a V1 clientSecret.
const maxAuthSecretLen = 1024

// Defaults App Service shows for unset parts, stored as unset.
const (
	authDefaultRuntime       = "~1"
	authDefaultAPIPrefix     = slipway.DefaultAuthAPIPrefix
	authDefaultRefreshHours  = 72.0
	authDefaultCookieConv    = "FixedTime"
	authDefaultCookieExpiry  = "08:00:00"
	authDefaultNonceInterval = "00:05:00"
)

// --- V2 --------------------------------------------------------------------

// getAuthSettingsV2 answers GET config/authsettingsV2 and its /list form.
func (h *Handler) getAuthSettingsV2(w http.ResponseWriter, r *http.Request, p params) error {
	s, a, configured, err := h.siteAuth(r.Context(), p)
	if err != nil {
		return err
	}
	props := authV2JSON(a)
	if !configured {
		// No globalValidation: what az's authV2 extension takes for an
		// app new to authentication (is_app_new_to_auth), which it may
		// configure with the V2 commands.
		delete(props, "globalValidation")
	}
	return writeJSON(w, http.StatusOK, h.configResource(p.sub, s, "authsettingsV2", props))
}

// siteAuth reads the site a request names and its authentication
// settings (and whether they were ever configured).
func (h *Handler) siteAuth(ctx context.Context, p params) (slipway.Site, slipway.AuthSettings, bool, error) {
	s, err := h.cfg.Store.Site(ctx, p.rg, p.site)
	if err != nil {
		return s, slipway.AuthSettings{}, false, err
	}
	a, configured, err := h.cfg.Store.AuthSettings(ctx, s.ResourceGroup, s.Name)
	return s, a, configured, err
}

// readProperties reads a PUT's properties, unparsed.
func readProperties(r *http.Request) (json.RawMessage, error) {
	var body struct {
		Properties json.RawMessage `json:"properties"`
	}
	err := readJSON(r, &body)
	return body.Properties, err
}

// putAuthSettingsV2 answers PUT config/authsettingsV2.
func (h *Handler) putAuthSettingsV2(w http.ResponseWriter, r *http.Request, p params) error {
	props, err := readProperties(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	s, _, _, err := h.siteAuth(ctx, p)
	if err != nil {
		return err
	}
	a, err := parseAuthV2(props)
	if err != nil {
		return err
	}
	if err := h.checkAuthSettings(ctx, a); err != nil {
		return err
	}
	if err := h.storeAuthSettings(ctx, w, s, a, nil); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.configResource(p.sub, s, "authsettingsV2", authV2JSON(a)))
}

// storeAuthSettings stores a (and the app settings in set) for s and
// restarts the app when settings in force changed.
func (h *Handler) storeAuthSettings(ctx context.Context, w http.ResponseWriter, s slipway.Site, a slipway.AuthSettings, set map[string]string) error {
	old, _, err := h.cfg.Store.AuthSettings(ctx, s.ResourceGroup, s.Name)
	if err != nil {
		return err
	}
	changed, err := h.cfg.Store.SetAuthSettings(ctx, s.ResourceGroup, s.Name, a, set)
	if err != nil || !changed || (!old.AuthOn() && !a.AuthOn() && len(set) == 0) {
		return err // settings of authentication that stays off run nowhere
	}
	if err := h.restartWarning(w, h.cfg.Controller.SiteConfigChanged(ctx, s.ResourceGroup, s.Name)); err != nil {
		return fmt.Errorf("applying the authentication settings of %s: %w", s.Name, err)
	}
	return nil
}

// checkAuthSettings validates a's form and its issuer.
func (h *Handler) checkAuthSettings(ctx context.Context, a slipway.AuthSettings) error {
	if err := a.Validate(); err != nil {
		return err
	}
	aad := a.IdentityProviders.AzureActiveDirectory
	if aad == nil || aad.Registration.OpenIDIssuer == "" {
		return nil
	}
	_, tenant, err := h.cfg.Store.Identity(ctx)
	if err != nil {
		return err
	}
	return checkAuthIssuer(aad.Registration.OpenIDIssuer, tenant, h.cfg.AuthorityURL)
}

// checkAuthIssuer accepts an issuer that names tenant at Microsoft's
// authorities (as apps configured for Azure name it) or at this
// installation's: https://sts.windows.net/<tenant>/v2.0,
// https://login.microsoftonline.com/<tenant>/v2.0 or
// <authority>/<tenant>/v2.0 (each also without v2.0, with or without a
// trailing slash).
func checkAuthIssuer(issuer, tenant, authority string) error {
	const name = "identityProviders.azureActiveDirectory.registration.openIdIssuer"
	authorities := []string{"https://sts.windows.net", "https://login.microsoftonline.com"}
	if authority != "" {
		authorities = append([]string{strings.TrimSuffix(authority, "/")}, authorities...)
	}
	got := strings.ToLower(strings.TrimSuffix(issuer, "/"))
	got = strings.TrimSuffix(got, "/v2.0")
	if u, err := url.Parse(issuer); err == nil && u.RawQuery == "" && u.Fragment == "" && u.User == nil {
		for _, a := range authorities {
			if got == strings.ToLower(a)+"/"+strings.ToLower(tenant) {
				return nil
			}
		}
	}
	return slipway.Errorf(slipway.EINVALID, "The authentication setting 'properties.%s' is not valid: '%s'. Slipway signs users in only with its own Microsoft identity platform, so the issuer must name this installation's directory (tenant %s): %s/%s/v2.0 (https://sts.windows.net/%s/v2.0 and https://login.microsoftonline.com/%s/v2.0 are taken as the same). Leave it empty for that default.",
		name, strings.Trim(fmt.Sprintf("%q", truncate(issuer, 128)), `"`), tenant, authorities[0], tenant, tenant, tenant)
}

// authV2Wire is a config/authsettingsV2 PUT's properties: every part App
// Service takes, so that each one is either stored or refused.
type authV2Wire struct {
	Platform struct {
		Enabled        bool   `json:"enabled"`
		RuntimeVersion string `json:"runtimeVersion"`
		ConfigFilePath string `json:"configFilePath"`
	} `json:"platform"`
	GlobalValidation struct {
		RequireAuthentication       bool     `json:"requireAuthentication"`
		UnauthenticatedClientAction string   `json:"unauthenticatedClientAction"`
		RedirectToProvider          string   `json:"redirectToProvider"`
		ExcludedPaths               []string `json:"excludedPaths"`
	} `json:"globalValidation"`
	IdentityProviders struct {
		AzureActiveDirectory         *authAADWire               `json:"azureActiveDirectory"`
		Facebook                     json.RawMessage            `json:"facebook"`
		GitHub                       json.RawMessage            `json:"gitHub"`
		Google                       json.RawMessage            `json:"google"`
		Twitter                      json.RawMessage            `json:"twitter"`
		LegacyMicrosoftAccount       json.RawMessage            `json:"legacyMicrosoftAccount"`
		Apple                        json.RawMessage            `json:"apple"`
		AzureStaticWebApps           json.RawMessage            `json:"azureStaticWebApps"`
		CustomOpenIDConnectProviders map[string]json.RawMessage `json:"customOpenIdConnectProviders"`
	} `json:"identityProviders"`
	Login struct {
		Routes struct {
			LogoutEndpoint string `json:"logoutEndpoint"`
		} `json:"routes"`
		TokenStore struct {
			Enabled                    bool     `json:"enabled"`
			TokenRefreshExtensionHours *float64 `json:"tokenRefreshExtensionHours"`
			FileSystem                 struct {
				Directory string `json:"directory"`
			} `json:"fileSystem"`
			AzureBlobStorage struct {
				SASURLSettingName string `json:"sasUrlSettingName"`
			} `json:"azureBlobStorage"`
		} `json:"tokenStore"`
		PreserveURLFragmentsForLogins bool     `json:"preserveUrlFragmentsForLogins"`
		AllowedExternalRedirectURLs   []string `json:"allowedExternalRedirectUrls"`
		CookieExpiration              struct {
			Convention       string `json:"convention"`
			TimeToExpiration string `json:"timeToExpiration"`
		} `json:"cookieExpiration"`
		Nonce struct {
			ValidateNonce           *bool  `json:"validateNonce"`
			NonceExpirationInterval string `json:"nonceExpirationInterval"`
		} `json:"nonce"`
	} `json:"login"`
	HTTPSettings struct {
		RequireHTTPS *bool `json:"requireHttps"`
		Routes       struct {
			APIPrefix string `json:"apiPrefix"`
		} `json:"routes"`
		ForwardProxy struct {
			Convention            string `json:"convention"`
			CustomHostHeaderName  string `json:"customHostHeaderName"`
			CustomProtoHeaderName string `json:"customProtoHeaderName"`
		} `json:"forwardProxy"`
	} `json:"httpSettings"`
}

// authAADWire is identityProviders.azureActiveDirectory in a PUT.
type authAADWire struct {
	Enabled      *bool `json:"enabled"` // absent: true, as App Service reads it
	Registration struct {
		OpenIDIssuer                               string `json:"openIdIssuer"`
		ClientID                                   string `json:"clientId"`
		ClientSecretSettingName                    string `json:"clientSecretSettingName"`
		ClientSecretCertificateThumbprint          string `json:"clientSecretCertificateThumbprint"`
		ClientSecretCertificateSubjectAlternativeN string `json:"clientSecretCertificateSubjectAlternativeName"`
		ClientSecretCertificateIssuer              string `json:"clientSecretCertificateIssuer"`
	} `json:"registration"`
	Login struct {
		LoginParameters        []string `json:"loginParameters"`
		DisableWWWAuthenticate bool     `json:"disableWWWAuthenticate"`
	} `json:"login"`
	Validation struct {
		JwtClaimChecks struct {
			AllowedGroups             []string `json:"allowedGroups"`
			AllowedClientApplications []string `json:"allowedClientApplications"`
		} `json:"jwtClaimChecks"`
		AllowedAudiences           []string `json:"allowedAudiences"`
		DefaultAuthorizationPolicy struct {
			AllowedPrincipals struct {
				Groups     []string `json:"groups"`
				Identities []string `json:"identities"`
			} `json:"allowedPrincipals"`
			AllowedApplications []string `json:"allowedApplications"`
		} `json:"defaultAuthorizationPolicy"`
	} `json:"validation"`
	// IsAutoProvisioned is the portal's note that it made the app
	// registration; it changes nothing and is taken.
	IsAutoProvisioned *bool `json:"isAutoProvisioned"`
}

// authCannot refuses a setting Slipway cannot honour, with the reason.
func authCannot(setting, reason string) error {
	return slipway.Errorf(slipway.EINVALID, "The authentication setting 'properties.%s' cannot be used: %s (Slipway: see docs/arm.md, App Service authentication).", setting, reason)
}

// refuseProvider refuses an identity provider that is configured and not
// turned off (null, {} and enabled false leave it out).
func refuseProvider(name string, raw json.RawMessage) error {
	if isUnset(raw) {
		return nil
	}
	v := bytes.TrimSpace(raw)
	var p struct {
		Enabled *bool `json:"enabled"`
	}
	if err := json.Unmarshal(v, &p); err != nil {
		return slipway.Errorf(slipway.EINVALID, "The authentication setting 'properties.identityProviders.%s' is not valid: %v.", name, err)
	}
	if p.Enabled != nil && !*p.Enabled {
		return nil
	}
	return authCannot("identityProviders."+name, "Slipway signs users in only with its own Microsoft identity platform (identityProviders.azureActiveDirectory, the directory at login.<domain>), so this identity provider cannot be enabled. Remove it, or set its enabled to false")
}

// parseAuthV2 reads a PUT's properties into the settings, refusing what
// Slipway cannot honour. Values equal to App Service's defaults are kept
// as unset, so that the document a GET shows, sent back, changes nothing.
func parseAuthV2(props json.RawMessage) (slipway.AuthSettings, error) {
	var in authV2Wire
	if v := bytes.TrimSpace(props); len(v) > 0 && string(v) != "null" {
		if err := json.Unmarshal(v, &in); err != nil {
			return slipway.AuthSettings{}, slipway.Errorf(slipway.EINVALID, "The parameter 'properties' of the authentication settings is not valid: %v.", err)
		}
	}
	var a slipway.AuthSettings
	if in.Platform.ConfigFilePath != "" {
		return a, authCannot("platform.configFilePath", "Slipway keeps authentication settings in the site's config, not in a file of the app's; configure them here")
	}
	a.Platform.Enabled = in.Platform.Enabled
	a.Platform.RuntimeVersion = unlessDefault(in.Platform.RuntimeVersion, authDefaultRuntime)

	g := in.GlobalValidation
	a.GlobalValidation.RequireAuthentication = g.RequireAuthentication
	act, ok := slipway.CanonicalAuthAction(g.UnauthenticatedClientAction)
	if !ok {
		act = g.UnauthenticatedClientAction // Validate names it
	}
	a.GlobalValidation.UnauthenticatedClientAction = act
	a.GlobalValidation.RedirectToProvider = g.RedirectToProvider
	if strings.EqualFold(g.RedirectToProvider, slipway.AuthProviderAAD) {
		a.GlobalValidation.RedirectToProvider = slipway.AuthProviderAAD
	} else if g.RedirectToProvider != "" {
		return a, authCannot("globalValidation.redirectToProvider", fmt.Sprintf("'%s' is not an identity provider here: Slipway signs users in only with its own Microsoft identity platform, azureActiveDirectory", truncate(g.RedirectToProvider, 64)))
	}
	a.GlobalValidation.ExcludedPaths = g.ExcludedPaths

	idp := in.IdentityProviders
	for _, p := range []struct {
		name string
		raw  json.RawMessage
	}{{"facebook", idp.Facebook}, {"gitHub", idp.GitHub}, {"google", idp.Google}, {"twitter", idp.Twitter},
		{"legacyMicrosoftAccount", idp.LegacyMicrosoftAccount}, {"apple", idp.Apple}, {"azureStaticWebApps", idp.AzureStaticWebApps}} {
		if err := refuseProvider(p.name, p.raw); err != nil {
			return a, err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(idp.CustomOpenIDConnectProviders)) {
		if err := refuseProvider("customOpenIdConnectProviders."+truncate(name, 64), idp.CustomOpenIDConnectProviders[name]); err != nil {
			return a, err
		}
	}
	if w := idp.AzureActiveDirectory; w != nil {
		aad, err := parseAADV2(w)
		if err != nil {
			return a, err
		}
		a.IdentityProviders.AzureActiveDirectory = aad
	}

	l := in.Login
	if l.Routes.LogoutEndpoint != "" {
		return a, authCannot("login.routes.logoutEndpoint", "Slipway serves sign-out at <apiPrefix>/logout only")
	}
	if l.TokenStore.FileSystem.Directory != "" || l.TokenStore.AzureBlobStorage.SASURLSettingName != "" {
		name := "login.tokenStore.fileSystem.directory"
		if l.TokenStore.AzureBlobStorage.SASURLSettingName != "" {
			name = "login.tokenStore.azureBlobStorage.sasUrlSettingName"
		}
		return a, authCannot(name, "Slipway keeps the token store itself; leave it unset and turn the store on or off with login.tokenStore.enabled")
	}
	a.Login.TokenStore.Enabled = l.TokenStore.Enabled
	if h := l.TokenStore.TokenRefreshExtensionHours; h != nil && *h != authDefaultRefreshHours {
		a.Login.TokenStore.TokenRefreshExtensionHours = *h
	}
	a.Login.PreserveURLFragmentsForLogins = l.PreserveURLFragmentsForLogins
	a.Login.AllowedExternalRedirectURLs = l.AllowedExternalRedirectURLs
	conv := l.CookieExpiration.Convention
	for _, c := range []string{"FixedTime", "IdentityProviderDerived"} {
		if strings.EqualFold(conv, c) {
			conv = c
		}
	}
	a.Login.CookieExpiration.Convention = unlessDefault(conv, authDefaultCookieConv)
	a.Login.CookieExpiration.TimeToExpiration = unlessDefault(l.CookieExpiration.TimeToExpiration, authDefaultCookieExpiry)
	if v := l.Nonce.ValidateNonce; v != nil && !*v {
		a.Login.Nonce.ValidateNonce = v
	}
	a.Login.Nonce.NonceExpirationInterval = unlessDefault(l.Nonce.NonceExpirationInterval, authDefaultNonceInterval)

	hs := in.HTTPSettings
	if fp := hs.ForwardProxy; (fp.Convention != "" && !strings.EqualFold(fp.Convention, "NoProxy")) || fp.CustomHostHeaderName != "" || fp.CustomProtoHeaderName != "" {
		return a, authCannot("httpSettings.forwardProxy", "Slipway's front door is the proxy in front of the app and sets the forwarded host and scheme itself, so only the convention NoProxy is taken")
	}
	if v := hs.RequireHTTPS; v != nil && !*v {
		a.HTTPSettings.RequireHTTPS = v
	}
	a.HTTPSettings.Routes.APIPrefix = unlessDefault(hs.Routes.APIPrefix, authDefaultAPIPrefix)
	return a, nil
}

// parseAADV2 reads identityProviders.azureActiveDirectory.
func parseAADV2(w *authAADWire) (*slipway.AuthAAD, error) {
	const p = "identityProviders.azureActiveDirectory."
	r := w.Registration
	if r.ClientSecretCertificateThumbprint != "" || r.ClientSecretCertificateSubjectAlternativeN != "" || r.ClientSecretCertificateIssuer != "" {
		return nil, authCannot(p+"registration.clientSecretCertificateThumbprint", "Slipway's sign-in authenticates the app registration with its client secret only; give clientSecretSettingName, the app setting that holds the secret, instead")
	}
	v := w.Validation
	if len(v.JwtClaimChecks.AllowedGroups) > 0 || len(v.JwtClaimChecks.AllowedClientApplications) > 0 {
		return nil, authCannot(p+"validation.jwtClaimChecks", "Slipway does not check group or client application claims; use validation.defaultAuthorizationPolicy.allowedApplications and allowedPrincipals.identities")
	}
	if len(v.DefaultAuthorizationPolicy.AllowedPrincipals.Groups) > 0 {
		return nil, authCannot(p+"validation.defaultAuthorizationPolicy.allowedPrincipals.groups", "Slipway's directory issues no group claims; list the users' object ids in allowedPrincipals.identities")
	}
	aad := &slipway.AuthAAD{Enabled: w.Enabled == nil || *w.Enabled}
	aad.Registration = slipway.AuthAADRegistration{OpenIDIssuer: r.OpenIDIssuer, ClientID: r.ClientID, ClientSecretSettingName: r.ClientSecretSettingName}
	aad.Login = slipway.AuthAADLogin{LoginParameters: w.Login.LoginParameters, DisableWWWAuthenticate: w.Login.DisableWWWAuthenticate}
	aad.Validation.AllowedAudiences = v.AllowedAudiences
	aad.Validation.DefaultAuthorizationPolicy.AllowedApplications = v.DefaultAuthorizationPolicy.AllowedApplications
	aad.Validation.DefaultAuthorizationPolicy.AllowedPrincipals.Identities = v.DefaultAuthorizationPolicy.AllowedPrincipals.Identities
	return aad, nil
}

// unlessDefault is v, or "" when it is the default def.
func unlessDefault(v, def string) string {
	if v == def {
		return ""
	}
	return v
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// orNull is v, or JSON null when it is empty.
func orNull[T any](v []T) any {
	if len(v) == 0 {
		return nil
	}
	return v
}

// authV2JSON is the V2 document's properties for a, with App Service's
// defaults for what is unset.
func authV2JSON(a slipway.AuthSettings) map[string]any {
	gv := map[string]any{"requireAuthentication": a.GlobalValidation.RequireAuthentication}
	if v := a.GlobalValidation.UnauthenticatedClientAction; v != "" {
		gv["unauthenticatedClientAction"] = v
	}
	if v := a.GlobalValidation.RedirectToProvider; v != "" {
		gv["redirectToProvider"] = v
	}
	if v := a.GlobalValidation.ExcludedPaths; len(v) > 0 {
		gv["excludedPaths"] = v
	}
	idp := map[string]any{}
	if aad := a.IdentityProviders.AzureActiveDirectory; aad != nil {
		reg := map[string]any{}
		for k, v := range map[string]string{"openIdIssuer": aad.Registration.OpenIDIssuer, "clientId": aad.Registration.ClientID,
			"clientSecretSettingName": aad.Registration.ClientSecretSettingName} {
			if v != "" {
				reg[k] = v
			}
		}
		login := map[string]any{"disableWWWAuthenticate": aad.Login.DisableWWWAuthenticate}
		if v := aad.Login.LoginParameters; len(v) > 0 {
			login["loginParameters"] = v
		}
		pol := aad.Validation.DefaultAuthorizationPolicy
		principals := map[string]any{}
		if len(pol.AllowedPrincipals.Identities) > 0 {
			principals["identities"] = pol.AllowedPrincipals.Identities
		}
		policy := map[string]any{"allowedPrincipals": principals}
		if len(pol.AllowedApplications) > 0 {
			policy["allowedApplications"] = pol.AllowedApplications
		}
		validation := map[string]any{"jwtClaimChecks": map[string]any{}, "defaultAuthorizationPolicy": policy}
		if v := aad.Validation.AllowedAudiences; len(v) > 0 {
			validation["allowedAudiences"] = v
		}
		idp[slipway.AuthProviderAAD] = map[string]any{"enabled": aad.Enabled, "registration": reg, "login": login,
			"validation": validation, "isAutoProvisioned": false}
	}
	l := a.Login
	hours := l.TokenStore.TokenRefreshExtensionHours
	if hours == 0 {
		hours = authDefaultRefreshHours
	}
	validateNonce := l.Nonce.ValidateNonce == nil || *l.Nonce.ValidateNonce
	login := map[string]any{
		"routes": map[string]any{},
		"tokenStore": map[string]any{"enabled": l.TokenStore.Enabled, "tokenRefreshExtensionHours": hours,
			"fileSystem": map[string]any{}, "azureBlobStorage": map[string]any{}},
		"preserveUrlFragmentsForLogins": l.PreserveURLFragmentsForLogins,
		"cookieExpiration": map[string]any{"convention": orDefault(l.CookieExpiration.Convention, authDefaultCookieConv),
			"timeToExpiration": orDefault(l.CookieExpiration.TimeToExpiration, authDefaultCookieExpiry)},
		"nonce": map[string]any{"validateNonce": validateNonce,
			"nonceExpirationInterval": orDefault(l.Nonce.NonceExpirationInterval, authDefaultNonceInterval)},
	}
	if len(l.AllowedExternalRedirectURLs) > 0 {
		login["allowedExternalRedirectUrls"] = l.AllowedExternalRedirectURLs
	}
	return map[string]any{
		"platform":          map[string]any{"enabled": a.Platform.Enabled, "runtimeVersion": orDefault(a.Platform.RuntimeVersion, authDefaultRuntime)},
		"globalValidation":  gv,
		"identityProviders": idp,
		"login":             login,
		"httpSettings": map[string]any{
			"requireHttps": a.HTTPSRequired(),
			"routes":       map[string]any{"apiPrefix": orDefault(a.HTTPSettings.Routes.APIPrefix, authDefaultAPIPrefix)},
			"forwardProxy": map[string]any{"convention": "NoProxy"},
		},
	}
}

// --- V1 (classic) ----------------------------------------------------------

// listAuthSettings answers POST config/authsettings/list: the V1 view.
func (h *Handler) listAuthSettings(w http.ResponseWriter, r *http.Request, p params) error {
	s, a, configured, err := h.siteAuth(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.configResource(p.sub, s, "authsettings", authV1JSON(a, configured)))
}

// putAuthSettings answers PUT config/authsettings: the V1 view written
// onto the V2 settings.
func (h *Handler) putAuthSettings(w http.ResponseWriter, r *http.Request, p params) error {
	props, err := readProperties(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	s, cur, _, err := h.siteAuth(ctx, p)
	if err != nil {
		return err
	}
	a, secret, err := parseAuthV1(props, cur)
	if err != nil {
		return err
	}
	if err := h.checkAuthSettings(ctx, a); err != nil {
		return err
	}
	var set map[string]string
	if secret != "" {
		set = map[string]string{a.IdentityProviders.AzureActiveDirectory.Registration.ClientSecretSettingName: secret}
	}
	if err := h.storeAuthSettings(ctx, w, s, a, set); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.configResource(p.sub, s, "authsettings", authV1JSON(a, true)))
}

// authV1JSON is the V1 view of a. A site never configured reads as
// azure-cli's recording of Azure shows it (authSettingsOff); the client
// secret is never shown, only the app setting that holds it.
func authV1JSON(a slipway.AuthSettings, configured bool) map[string]any {
	out := maps.Clone(authSettingsOff)
	if !configured {
		return out
	}
	g := a.GlobalValidation
	action := slipway.AuthAllowAnonymous
	if g.RequireAuthentication {
		action = orDefault(g.UnauthenticatedClientAction, slipway.AuthRedirectToLoginPage)
	}
	hours := a.Login.TokenStore.TokenRefreshExtensionHours
	if hours == 0 {
		hours = authDefaultRefreshHours
	}
	maps.Copy(out, map[string]any{
		"enabled":                     a.Platform.Enabled,
		"runtimeVersion":              orDefault(a.Platform.RuntimeVersion, authDefaultRuntime),
		"configVersion":               "v2",
		"unauthenticatedClientAction": action,
		"tokenStoreEnabled":           a.Login.TokenStore.Enabled,
		"tokenRefreshExtensionHours":  hours,
		"allowedExternalRedirectUrls": orNull(a.Login.AllowedExternalRedirectURLs),
		"validateIssuer":              true,
	})
	if aad := a.IdentityProviders.AzureActiveDirectory; aad != nil && aad.Enabled {
		reg := aad.Registration
		maps.Copy(out, map[string]any{
			"defaultProvider":         "AzureActiveDirectory",
			"clientId":                nullIfEmpty(reg.ClientID),
			"clientSecretSettingName": nullIfEmpty(reg.ClientSecretSettingName),
			"issuer":                  nullIfEmpty(reg.OpenIDIssuer),
			"allowedAudiences":        orNull(aad.Validation.AllowedAudiences),
			"additionalLoginParams":   orNull(aad.Login.LoginParameters),
		})
	}
	return out
}

// authV1Wire is a config/authsettings PUT's properties.
type authV1Wire struct {
	Enabled                           bool     `json:"enabled"`
	RuntimeVersion                    string   `json:"runtimeVersion"`
	ConfigVersion                     string   `json:"configVersion"`
	UnauthenticatedClientAction       string   `json:"unauthenticatedClientAction"`
	TokenStoreEnabled                 bool     `json:"tokenStoreEnabled"`
	AllowedExternalRedirectURLs       []string `json:"allowedExternalRedirectUrls"`
	DefaultProvider                   string   `json:"defaultProvider"`
	TokenRefreshExtensionHours        *float64 `json:"tokenRefreshExtensionHours"`
	ClientID                          string   `json:"clientId"`
	ClientSecret                      string   `json:"clientSecret"`
	ClientSecretSettingName           string   `json:"clientSecretSettingName"`
	ClientSecretCertificateThumbprint string   `json:"clientSecretCertificateThumbprint"`
	Issuer                            string   `json:"issuer"`
	ValidateIssuer                    *bool    `json:"validateIssuer"`
	AllowedAudiences                  []string `json:"allowedAudiences"`
	AdditionalLoginParams             []string `json:"additionalLoginParams"`
	AADClaimsAuthorization            string   `json:"aadClaimsAuthorization"`
	IsAuthFromFile                    string   `json:"isAuthFromFile"`
	AuthFilePath                      string   `json:"authFilePath"`
}

// authV1OtherProviders are the V1 settings of the providers Slipway has
// not: any value in one is refused.
var authV1OtherProviders = []string{
	"googleClientId", "googleClientSecret", "googleClientSecretSettingName", "googleOAuthScopes",
	"facebookAppId", "facebookAppSecret", "facebookAppSecretSettingName", "facebookOAuthScopes",
	"gitHubClientId", "gitHubClientSecret", "gitHubClientSecretSettingName", "gitHubOAuthScopes",
	"twitterConsumerKey", "twitterConsumerSecret", "twitterConsumerSecretSettingName",
	"microsoftAccountClientId", "microsoftAccountClientSecret", "microsoftAccountClientSecretSettingName", "microsoftAccountOAuthScopes",
}

// parseAuthV1 writes a V1 PUT's properties onto cur: what V1 says
// replaces, the V2-only parts (excluded paths, HTTPS, cookie and nonce
// settings, the authorization policy) stay. It returns the client secret
// to keep as the app setting the settings name ("" for none given).
func parseAuthV1(props json.RawMessage, cur slipway.AuthSettings) (slipway.AuthSettings, string, error) {
	var in authV1Wire
	var raw map[string]json.RawMessage
	if v := bytes.TrimSpace(props); len(v) > 0 && string(v) != "null" {
		if err := json.Unmarshal(v, &in); err != nil {
			return cur, "", slipway.Errorf(slipway.EINVALID, "The parameter 'properties' of the authentication settings is not valid: %v.", err)
		}
		_ = json.Unmarshal(v, &raw) // an object: it decoded above
	}
	for _, name := range authV1OtherProviders {
		for k, v := range raw {
			if strings.EqualFold(k, name) && !isUnset(v) {
				return cur, "", authCannot(name, "Slipway signs users in only with its own Microsoft identity platform (defaultProvider AzureActiveDirectory, the directory at login.<domain>), so no other identity provider can be configured")
			}
		}
	}
	switch {
	case in.ClientSecretCertificateThumbprint != "":
		return cur, "", authCannot("clientSecretCertificateThumbprint", "Slipway's sign-in authenticates the app registration with its client secret only")
	case in.AADClaimsAuthorization != "":
		return cur, "", authCannot("aadClaimsAuthorization", "Slipway does not check group or client application claims")
	case strings.EqualFold(in.IsAuthFromFile, "true") || in.AuthFilePath != "":
		return cur, "", authCannot("isAuthFromFile", "Slipway keeps authentication settings in the site's config, not in a file of the app's")
	case in.ValidateIssuer != nil && !*in.ValidateIssuer:
		return cur, "", authCannot("validateIssuer", "Slipway always checks that tokens come from its own directory")
	case in.DefaultProvider != "" && !strings.EqualFold(in.DefaultProvider, "AzureActiveDirectory"):
		return cur, "", authCannot("defaultProvider", fmt.Sprintf("'%s' is not an identity provider here: Slipway signs users in only with its own Microsoft identity platform, AzureActiveDirectory", truncate(in.DefaultProvider, 64)))
	case len(in.ClientSecret) > maxAuthSecretLen:
		return cur, "", slipway.Errorf(slipway.EINVALID, "The authentication setting 'properties.clientSecret' is longer than %d characters.", maxAuthSecretLen)
	}
	a := cur
	a.Platform.Enabled = in.Enabled
	a.Platform.RuntimeVersion = unlessDefault(in.RuntimeVersion, authDefaultRuntime)
	act, ok := slipway.CanonicalAuthAction(in.UnauthenticatedClientAction)
	if !ok {
		act = in.UnauthenticatedClientAction // Validate names it
	}
	switch act {
	case slipway.AuthAllowAnonymous:
		a.GlobalValidation.RequireAuthentication, a.GlobalValidation.UnauthenticatedClientAction = false, slipway.AuthAllowAnonymous
	case "":
		// Unset reads as V1's default, sign-in required.
		a.GlobalValidation.RequireAuthentication, a.GlobalValidation.UnauthenticatedClientAction = true, slipway.AuthRedirectToLoginPage
	default:
		a.GlobalValidation.RequireAuthentication, a.GlobalValidation.UnauthenticatedClientAction = true, act
	}
	a.GlobalValidation.RedirectToProvider = ""
	if in.DefaultProvider != "" {
		a.GlobalValidation.RedirectToProvider = slipway.AuthProviderAAD
	}
	a.Login.TokenStore.Enabled = in.TokenStoreEnabled
	a.Login.TokenStore.TokenRefreshExtensionHours = 0
	if h := in.TokenRefreshExtensionHours; h != nil && *h != authDefaultRefreshHours {
		a.Login.TokenStore.TokenRefreshExtensionHours = *h
	}
	a.Login.AllowedExternalRedirectURLs = in.AllowedExternalRedirectURLs

	secretName := in.ClientSecretSettingName
	if in.ClientSecret != "" && secretName == "" {
		secretName = authSecretSetting
	}
	if in.ClientID == "" && in.Issuer == "" && len(in.AllowedAudiences) == 0 && secretName == "" && len(in.AdditionalLoginParams) == 0 {
		a.IdentityProviders.AzureActiveDirectory = nil
		return a, "", nil
	}
	aad := &slipway.AuthAAD{Enabled: true}
	if old := cur.IdentityProviders.AzureActiveDirectory; old != nil {
		aad.Login.DisableWWWAuthenticate = old.Login.DisableWWWAuthenticate
		aad.Validation.DefaultAuthorizationPolicy = old.Validation.DefaultAuthorizationPolicy
	}
	aad.Registration = slipway.AuthAADRegistration{OpenIDIssuer: in.Issuer, ClientID: in.ClientID, ClientSecretSettingName: secretName}
	aad.Login.LoginParameters = in.AdditionalLoginParams
	aad.Validation.AllowedAudiences = in.AllowedAudiences
	a.IdentityProviders.AzureActiveDirectory = aad
	return a, in.ClientSecret, nil
}

// authSettingsOff is the V1 view of a site whose authentication was
// never configured, as App Service shows it (docs/arm.md §1.6; the
// runtimeVersion null as azure-cli's test_webapp_authentication, recorded
// against Azure, checks it).
var authSettingsOff = map[string]any{
	"enabled":                     false,
	"runtimeVersion":              nil,
	"unauthenticatedClientAction": nil,
	"tokenStoreEnabled":           nil,
	"allowedExternalRedirectUrls": nil,
	"defaultProvider":             nil,
	"clientId":                    nil,
	"clientSecret":                nil,
	"clientSecretSettingName":     nil,
	"issuer":                      nil,
	"allowedAudiences":            nil,
	"additionalLoginParams":       nil,
	"isAuthFromFile":              "false",
}

// isUnset says whether a JSON value is unset: null, false, empty.
func isUnset(value json.RawMessage) bool {
	switch string(bytes.TrimSpace(value)) {
	case "", "null", "false", `""`, "[]", "{}":
		return true
	}
	return false
}
