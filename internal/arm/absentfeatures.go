package arm

import (
	"bytes"
	"encoding/json"
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
//     config/authsettings
//     (https://learn.microsoft.com/azure/app-service/overview-authentication-authorization):
//     Slipway has no built-in sign-in.
//   - Storage mounts (az webapp config storage-account list|add|delete),
//     config/azurestorageaccounts
//     (https://learn.microsoft.com/azure/app-service/configure-connect-to-azure-storage):
//     Slipway mounts no Azure Files share or blob container into apps;
//     they use the blob service's API.
//   - Virtual network integration (az webapp vnet-integration list),
//     virtualNetworkConnections
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
// never configured, as App Service shows them (docs/arm.md §1.6).
var authSettingsOff = map[string]any{
	"enabled":                     false,
	"runtimeVersion":              "~1",
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

// listAuthSettings answers POST config/authsettings/list: sign-in is off.
func (h *Handler) listAuthSettings(w http.ResponseWriter, r *http.Request, p params) error {
	return h.listAbsentConfig(w, r, p, "authsettings", authSettingsOff)
}

// putAuthSettings answers PUT config/authsettings: settings that leave
// sign-in off (what listAuthSettings showed, with enabled false: az webapp
// auth update --enabled false) are answered as stored; anything else is a
// 400 naming the first field (sorted, so the same one each time).
func (h *Handler) putAuthSettings(w http.ResponseWriter, r *http.Request, p params) error {
	s, props, err := h.readAbsentConfig(r, p)
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(props)) {
		if !leavesAuthOff(name, props[name]) {
			return slipway.Errorf(slipway.EINVALID, "App Service Authentication is not available: Slipway has no built-in sign-in, so '%s' cannot be set and authentication stays off (only enabled false is accepted). Sign users in within the app (Slipway: see README, Differences from App Service).", name)
		}
	}
	return h.writeAbsentConfig(w, p, s, "authsettings", authSettingsOff)
}

// leavesAuthOff says whether value, given for the auth setting name, is
// what a site without sign-in has: unset (null, false, empty), or the
// value authSettingsOff shows for it.
func leavesAuthOff(name string, value json.RawMessage) bool {
	v := bytes.TrimSpace(value)
	switch string(v) {
	case "null", "false", `""`, "[]", "{}":
		return true
	}
	if off, ok := authSettingsOff[name].(string); ok {
		var got string
		return json.Unmarshal(v, &got) == nil && got == off
	}
	return false
}

// listStorageMounts answers POST config/azurestorageaccounts/list: none.
func (h *Handler) listStorageMounts(w http.ResponseWriter, r *http.Request, p params) error {
	return h.listAbsentConfig(w, r, p, "azurestorageaccounts", map[string]any{})
}

// putStorageMounts answers PUT config/azurestorageaccounts: the empty set
// (az's delete of the last mount) is what there is; a mount is a 400
// naming it, never quoting its access key.
func (h *Handler) putStorageMounts(w http.ResponseWriter, r *http.Request, p params) error {
	s, props, err := h.readAbsentConfig(r, p)
	if err != nil {
		return err
	}
	if names := slices.Sorted(maps.Keys(props)); len(names) > 0 {
		return slipway.Errorf(slipway.EINVALID, "Storage mounts are not available: Slipway mounts no Azure Files share or blob container into apps, so '%s' cannot be added. Use the blob service from the app through its API (Slipway: see README, Differences from App Service).", names[0])
	}
	return h.writeAbsentConfig(w, p, s, "azurestorageaccounts", map[string]any{})
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

// readAbsentConfig reads the properties of a PUT of such a config
// resource, and the site it is for (which must exist).
func (h *Handler) readAbsentConfig(r *http.Request, p params) (slipway.Site, map[string]json.RawMessage, error) {
	var body struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := readJSON(r, &body); err != nil {
		return slipway.Site{}, nil, err
	}
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	return s, body.Properties, err
}

// listAbsentConfig answers a POST .../list of such a config resource.
func (h *Handler) listAbsentConfig(w http.ResponseWriter, r *http.Request, p params, name string, props map[string]any) error {
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	return h.writeAbsentConfig(w, p, s, name, props)
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
