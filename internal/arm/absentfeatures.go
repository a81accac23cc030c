package arm

import (
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

// absentConfig is a site config resource of a feature Slipway does not
// have: its name, what it reads as, and refuse, which says why a PUT's
// properties cannot be taken (nil when they leave the feature off).
type absentConfig struct {
	name   string
	off    map[string]any
	refuse func(props map[string]json.RawMessage) error
}

// POST config/azurestorageaccounts/list, PUT.
var storageMounts = absentConfig{"azurestorageaccounts", map[string]any{}, refuseStorageMounts}

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
