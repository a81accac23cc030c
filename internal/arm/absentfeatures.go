package arm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/slipway-dev/slipway"
)

// App Service features Slipway does not have, answered as App Service
// answers for a site that does not use them (docs/arm.md §1.6): the
// setting reads truthfully as off or empty, a write that leaves it so is
// answered as stored, and one that would turn it on is refused with the
// reason — never stored and ignored. Deploy scripts read these to check a
// site, so a 404 there fails them (or, for storage mounts, makes az print
// nothing and exit 0).
//
//   - App Service Authentication ("Easy Auth", az webapp auth show|update),
//     config/authsettings and its V2 form config/authsettingsV2 (which
//     Terraform-style provisioners read through the Azure SDK for Go's
//     GetAuthSettingsV2 for every app)
//     (https://learn.microsoft.com/azure/app-service/overview-authentication-authorization):
//     Slipway has no built-in sign-in.
//   - Storage mounts (az webapp config storage-account list|add|delete),
//     config/azurestorageaccounts
//     (https://learn.microsoft.com/azure/app-service/configure-connect-to-azure-storage):
//     Slipway mounts no Azure Files share or blob container into apps;
//     they use the blob service's API.
//   - Virtual network integration (az webapp vnet-integration list and
//     remove), virtualNetworkConnections and networkConfig/virtualNetwork
//     (https://learn.microsoft.com/azure/app-service/overview-vnet-integration):
//     Slipway serves no virtual networks, so az's add fails looking the
//     network up before it reaches the site.
//   - Federated identity credentials of a user-assigned identity (az
//     identity federated-credential list|show|create|delete),
//     userAssignedIdentities/{name}/federatedIdentityCredentials
//     (https://learn.microsoft.com/entra/workload-id/workload-identity-federation-create-trust-user-assigned-managed-identity):
//     trusting another issuer's tokens (GitHub Actions, Kubernetes) means
//     fetching its signing keys, and Slipway's token service reaches no
//     outside issuer; an identity has none, and adding one is refused.

// authSettingsOff are the settings of a site whose authentication was
// never configured, as App Service shows them (docs/arm.md §1.6; the
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

// absentConfig is a site config resource of a feature Slipway does not
// have: its name, what it reads as, and refuse, which says why a PUT's
// properties cannot be taken (nil when they leave the feature off).
type absentConfig struct {
	name   string
	off    map[string]any
	refuse func(props map[string]json.RawMessage) error
}

var (
	// POST config/authsettings/list, PUT config/authsettings.
	authSettings = absentConfig{"authsettings", authSettingsOff, refuseAuthSettings}
	// GET config/authsettingsV2 and its /list form (the Azure SDK for
	// Go's GetAuthSettingsV2WithoutSecrets and GetAuthSettingsV2), PUT.
	authSettingsV2 = absentConfig{"authsettingsV2", authSettingsV2Off, refuseAuthSettingsV2}
	// POST config/azurestorageaccounts/list, PUT.
	storageMounts = absentConfig{"azurestorageaccounts", map[string]any{}, refuseStorageMounts}
)

// listAbsent answers a read of c: the feature off.
func (h *Handler) listAbsent(c absentConfig) func(http.ResponseWriter, *http.Request, params) error {
	return func(w http.ResponseWriter, r *http.Request, p params) error {
		s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
		if err != nil {
			return err
		}
		return h.writeAbsentConfig(w, p, s, c.name, c.off)
	}
}

// putAbsent answers a PUT of c: properties that leave the feature off
// are answered as stored (what a read shows), anything else is refused
// with the reason.
func (h *Handler) putAbsent(c absentConfig) func(http.ResponseWriter, *http.Request, params) error {
	return func(w http.ResponseWriter, r *http.Request, p params) error {
		var body struct {
			Properties map[string]json.RawMessage `json:"properties"`
		}
		if err := readJSON(r, &body); err != nil {
			return err
		}
		s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
		if err != nil {
			return err
		}
		if err := c.refuse(body.Properties); err != nil {
			return err
		}
		return h.writeAbsentConfig(w, p, s, c.name, c.off)
	}
}

// refuseAuthSettings takes settings that leave sign-in off (what a read
// showed, with enabled false: az webapp auth update --enabled false);
// anything else is a 400 naming the first field (sorted, so the same one
// each time).
func refuseAuthSettings(props map[string]json.RawMessage) error {
	for _, name := range slices.Sorted(maps.Keys(props)) {
		if !leavesAuthOff(name, props[name]) {
			return authUnavailable(fmt.Sprintf("'%s' cannot be set (only enabled false is accepted)", name))
		}
	}
	return nil
}

// authSettingsV2Off are the V2 settings of a site whose authentication was
// never configured: the platform off, nothing required
// (https://learn.microsoft.com/rest/api/appservice/web-apps/get-auth-settings-v2).
var authSettingsV2Off = map[string]any{
	"platform":          map[string]any{"enabled": false, "runtimeVersion": "~1"},
	"globalValidation":  map[string]any{"requireAuthentication": false},
	"identityProviders": map[string]any{},
	"login":             map[string]any{"tokenStore": map[string]any{"enabled": false}},
	"httpSettings": map[string]any{"requireHttps": true, "routes": map[string]any{"apiPrefix": "/.auth"},
		"forwardProxy": map[string]any{"convention": "NoProxy"}},
}

// refuseAuthSettingsV2 takes V2 settings whose platform stays off
// (platform.enabled absent or false; what a provisioner sends for an app
// without sign-in); platform.enabled true is a 400 with the reason.
func refuseAuthSettingsV2(props map[string]json.RawMessage) error {
	var platform struct {
		Enabled *bool `json:"enabled"`
	}
	if v, ok := props["platform"]; ok && !leavesAuthOff("platform", v) {
		if err := json.Unmarshal(v, &platform); err != nil {
			return slipway.Errorf(slipway.EINVALID, "The parameter 'properties.platform' is not valid: %v.", err)
		}
	}
	if platform.Enabled != nil && *platform.Enabled {
		return authUnavailable("'platform.enabled' cannot be true")
	}
	return nil
}

// authUnavailable refuses a write of the auth settings, saying what of it
// cannot be.
func authUnavailable(what string) error {
	return slipway.Errorf(slipway.EINVALID, "App Service Authentication is not available: Slipway has no built-in sign-in, so %s and authentication stays off. Sign users in within the app (Slipway: see README, Differences from App Service).", what)
}

// authOffAlso are values a client may send back for a site without
// sign-in besides authSettingsOff's: the "~1" runtime a site shows once
// its authentication has been configured (and Slipway showed until it
// read null off azure-cli's recording), which a template or script may
// carry.
var authOffAlso = map[string]string{"runtimeVersion": "~1"}

// leavesAuthOff says whether value, given for the auth setting name, is
// what a site without sign-in has: unset (null, false, empty), or the
// value authSettingsOff (or authOffAlso) shows for it.
func leavesAuthOff(name string, value json.RawMessage) bool {
	v := bytes.TrimSpace(value)
	switch string(v) {
	case "null", "false", `""`, "[]", "{}":
		return true
	}
	off, ok := authSettingsOff[name].(string)
	if !ok {
		off, ok = authOffAlso[name]
	}
	if ok {
		var got string
		return json.Unmarshal(v, &got) == nil && got == off
	}
	return false
}

// refuseStorageMounts takes the empty set (az's delete of the last
// mount), which is what there is; a mount is a 400 naming it, never
// quoting its access key.
func refuseStorageMounts(props map[string]json.RawMessage) error {
	if names := slices.Sorted(maps.Keys(props)); len(names) > 0 {
		return slipway.Errorf(slipway.EINVALID, "Storage mounts are not available: Slipway mounts no Azure Files share or blob container into apps, so '%s' cannot be added. Use the blob service from the app through its API (Slipway: see README, Differences from App Service).", names[0])
	}
	return nil
}

// listVnetConnections answers GET sites/{app}/virtualNetworkConnections:
// none, as a bare JSON array, as App Service answers (the SDK's
// list_vnet_connections reads a list, not {"value": [...]}).
func (h *Handler) listVnetConnections(w http.ResponseWriter, r *http.Request, p params) error {
	if _, err := h.cfg.Store.Site(r.Context(), p.rg, p.site); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, []any{})
}

// deleteSwiftVnet answers DELETE sites/{app}/networkConfig/virtualNetwork
// (az webapp vnet-integration remove): a site has no virtual network
// integration to remove, so 200 with nothing to say — the only status
// azure-mgmt-web's delete_swift_virtual_network takes (a 204 fails az with
// "Operation returned an invalid status 'No Content'").
func (h *Handler) deleteSwiftVnet(w http.ResponseWriter, r *http.Request, p params) error {
	if _, err := h.cfg.Store.Site(r.Context(), p.rg, p.site); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// writeAbsentConfig answers with the site's config resource name holding
// props.
func (h *Handler) writeAbsentConfig(w http.ResponseWriter, p params, s slipway.Site, name string, props map[string]any) error {
	return writeJSON(w, http.StatusOK, h.configResource(p.sub, s, name, props))
}

// listFederatedCredentials answers GET federatedIdentityCredentials: none,
// for an identity that exists.
func (h *Handler) listFederatedCredentials(w http.ResponseWriter, r *http.Request, p params) error {
	if _, err := h.cfg.Store.GetUserAssignedIdentity(r.Context(), p.rg, p.identity); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"value": []any{}})
}

// getFederatedCredential answers GET of one: not found, as for any name.
func (h *Handler) getFederatedCredential(w http.ResponseWriter, r *http.Request, p params) error {
	if _, err := h.cfg.Store.GetUserAssignedIdentity(r.Context(), p.rg, p.identity); err != nil {
		return err
	}
	return slipway.Errorf(slipway.ENOTFOUND, "The federated identity credential '%s' of the identity '%s' was not found.", p.id, p.identity)
}

// putFederatedCredential refuses to add one, with the reason.
func (h *Handler) putFederatedCredential(w http.ResponseWriter, r *http.Request, p params) error {
	if _, err := h.cfg.Store.GetUserAssignedIdentity(r.Context(), p.rg, p.identity); err != nil {
		return err
	}
	return slipway.Errorf(slipway.EINVALID, "Federated identity credentials are not available: Slipway's token service does not trust tokens of another issuer, so '%s' cannot be added to the identity '%s'. "+
		"Sign the workload in as a service principal with a secret (az ad sp create-for-rbac) instead (Slipway: see README, Differences from App Service).", p.id, p.identity)
}

// deleteFederatedCredential answers DELETE of one: there is nothing to
// delete, which ARM answers 204.
func (h *Handler) deleteFederatedCredential(w http.ResponseWriter, r *http.Request, p params) error {
	if _, err := h.cfg.Store.GetUserAssignedIdentity(r.Context(), p.rg, p.identity); err != nil {
		return err
	}
	return writeEmpty(w, http.StatusNoContent)
}
