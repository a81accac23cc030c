package arm

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/slipway-dev/slipway"
)

// Microsoft.KeyVault/vaults: the shapes of Key Vault's management API
// (https://learn.microsoft.com/rest/api/keyvault/keyvault/vaults) as
// azure-mgmt-keyvault and `az keyvault` read them. Every vault has soft
// delete on (Azure no longer lets it be turned off); deleting a vault
// soft-deletes it, purge and recover act on the deleted vault.

func vaultID(sub, rg, name string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.KeyVault/vaults/" + name
}

func deletedVaultID(sub, location, name string) string {
	return "/subscriptions/" + sub + "/providers/Microsoft.KeyVault/locations/" + location + "/deletedVaults/" + name
}

// vaultURI is properties.vaultUri: https://<name>.vault.<domain>[:port]/.
func (h *Handler) vaultURI(name string) string {
	if h.cfg.VaultURI != nil {
		return h.cfg.VaultURI(name)
	}
	return "https://" + strings.ToLower(name) + ".vault." + h.cfg.Domain + h.cfg.HostSuffix + "/"
}

// wirePolicy is AccessPolicyEntry.
type wirePolicy struct {
	TenantID      string  `json:"tenantId"`
	ObjectID      string  `json:"objectId"`
	ApplicationID *string `json:"applicationId,omitempty"`
	Permissions   struct {
		Keys         []string `json:"keys"`
		Secrets      []string `json:"secrets"`
		Certificates []string `json:"certificates"`
		Storage      []string `json:"storage"`
	} `json:"permissions"`
}

func toWirePolicies(ps []slipway.AccessPolicy) []wirePolicy {
	out := []wirePolicy{}
	for _, p := range ps {
		var w wirePolicy
		w.TenantID, w.ObjectID = p.TenantID, p.ObjectID
		if p.ApplicationID != "" {
			app := p.ApplicationID
			w.ApplicationID = &app
		}
		w.Permissions.Keys, w.Permissions.Secrets = orEmpty(p.Keys), orEmpty(p.Secrets)
		w.Permissions.Certificates, w.Permissions.Storage = orEmpty(p.Certificates), orEmpty(p.Storage)
		out = append(out, w)
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// maxAccessPolicies is Azure's limit per vault.
const maxAccessPolicies = 1024

func fromWirePolicies(ws []wirePolicy) ([]slipway.AccessPolicy, error) {
	if len(ws) > maxAccessPolicies {
		return nil, &apiError{Status: http.StatusBadRequest, Code: "BadRequest", Message: "Access policies are limited to 1024 per vault."}
	}
	out := []slipway.AccessPolicy{}
	for _, w := range ws {
		if w.ObjectID == "" || w.TenantID == "" {
			return nil, &apiError{Status: http.StatusBadRequest, Code: "BadRequest", Message: "An access policy needs a tenantId and an objectId."}
		}
		p := slipway.AccessPolicy{TenantID: w.TenantID, ObjectID: w.ObjectID,
			Keys: lowerAll(w.Permissions.Keys), Secrets: lowerAll(w.Permissions.Secrets),
			Certificates: lowerAll(w.Permissions.Certificates), Storage: lowerAll(w.Permissions.Storage)}
		if w.ApplicationID != nil {
			p.ApplicationID = *w.ApplicationID
		}
		out = append(out, p)
	}
	return out, nil
}

func lowerAll(s []string) []string {
	out := []string{}
	for _, x := range s {
		out = append(out, strings.ToLower(x))
	}
	return out
}

// vaultJSON is the Vault resource.
func (h *Handler) vaultJSON(sub string, v slipway.Vault) map[string]any {
	tags := v.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	props := map[string]any{
		"tenantId":                     v.TenantID,
		"sku":                          map[string]any{"family": "A", "name": v.SKU},
		"accessPolicies":               toWirePolicies(v.AccessPolicies),
		"vaultUri":                     h.vaultURI(v.Name),
		"enabledForDeployment":         v.EnabledForDeployment,
		"enabledForDiskEncryption":     v.EnabledForDiskEncryption,
		"enabledForTemplateDeployment": v.EnabledForTemplateDeployment,
		"enableSoftDelete":             true,
		"softDeleteRetentionInDays":    v.RetentionDays(),
		"enableRbacAuthorization":      v.EnableRBACAuthorization,
		"provisioningState":            "Succeeded",
		"publicNetworkAccess":          v.PublicNetworkAccess,
		"networkAcls":                  map[string]any{"bypass": "AzureServices", "defaultAction": "Allow", "ipRules": []any{}, "virtualNetworkRules": []any{}},
	}
	if v.EnablePurgeProtection {
		props["enablePurgeProtection"] = true
	}
	return map[string]any{
		"id":         vaultID(sub, v.ResourceGroup, v.Name),
		"name":       v.Name,
		"type":       "Microsoft.KeyVault/vaults",
		"location":   v.Location,
		"tags":       tags,
		"systemData": map[string]any{"createdAt": armTime(v.Created), "lastModifiedAt": armTime(v.Created)},
		"properties": props,
	}
}

func (h *Handler) deletedVaultJSON(sub string, v slipway.Vault) map[string]any {
	tags := v.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return map[string]any{
		"id":   deletedVaultID(sub, v.Location, v.Name),
		"name": v.Name,
		"type": "Microsoft.KeyVault/deletedVaults",
		"properties": map[string]any{
			"vaultId":                vaultID(sub, v.ResourceGroup, v.Name),
			"location":               v.Location,
			"deletionDate":           armTime(v.Deleted),
			"scheduledPurgeDate":     armTime(v.ScheduledPurge),
			"tags":                   tags,
			"purgeProtectionEnabled": v.EnablePurgeProtection,
		},
	}
}

// vaultError gives the store's errors Microsoft.KeyVault's codes.
func vaultError(err error) error {
	msg := slipway.ErrorMessage(err)
	switch slipway.ErrorCode(err) {
	case slipway.ECONFLICT:
		switch {
		case strings.Contains(msg, "already in use"):
			return &apiError{Status: http.StatusConflict, Code: "VaultAlreadyExists", Message: msg}
		case strings.Contains(msg, "deleted state"):
			return &apiError{Status: http.StatusConflict, Code: "ConflictError", Message: msg}
		}
		return &apiError{Status: http.StatusBadRequest, Code: "BadRequest", Message: msg}
	case slipway.EINVALID:
		return &apiError{Status: http.StatusBadRequest, Code: "BadRequest", Message: msg}
	}
	return err
}

// vaultBody is VaultCreateOrUpdateParameters and VaultPatchParameters.
type vaultBody struct {
	Location   *string           `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties *struct {
		TenantID *string `json:"tenantId"`
		SKU      *struct {
			Name string `json:"name"`
		} `json:"sku"`
		AccessPolicies            *[]wirePolicy `json:"accessPolicies"`
		EnableRBACAuthorization   *bool         `json:"enableRbacAuthorization"`
		EnableSoftDelete          *bool         `json:"enableSoftDelete"`
		SoftDeleteRetentionInDays *int          `json:"softDeleteRetentionInDays"`
		EnablePurgeProtection     *bool         `json:"enablePurgeProtection"`
		PublicNetworkAccess       *string       `json:"publicNetworkAccess"`
		CreateMode                *string       `json:"createMode"`
		NetworkACLs               *networkACLs  `json:"networkAcls"`

		EnabledForDeployment         *bool `json:"enabledForDeployment"`
		EnabledForDiskEncryption     *bool `json:"enabledForDiskEncryption"`
		EnabledForTemplateDeployment *bool `json:"enabledForTemplateDeployment"`
	} `json:"properties"`
}

// apply copies what the body names onto v.
func (b vaultBody) apply(v *slipway.Vault) error {
	if b.Tags != nil {
		v.Tags = b.Tags
	}
	p := b.Properties
	if p == nil {
		return nil
	}
	if p.EnableSoftDelete != nil && !*p.EnableSoftDelete {
		return &apiError{Status: http.StatusBadRequest, Code: "BadRequest",
			Message: "The property \"enableSoftDelete\" cannot be set to false. Soft delete is always on."}
	}
	// The data plane is not filtered by network (networkisolation.go).
	if err := refuseNetworkIsolation("key vault", vaultAccessInstead, p.PublicNetworkAccess, v.PublicNetworkAccess, p.NetworkACLs); err != nil {
		return err
	}
	if p.SKU != nil && p.SKU.Name != "" {
		v.SKU = p.SKU.Name
	}
	if p.AccessPolicies != nil {
		ps, err := fromWirePolicies(*p.AccessPolicies)
		if err != nil {
			return err
		}
		v.AccessPolicies = ps
	}
	if p.EnableRBACAuthorization != nil {
		v.EnableRBACAuthorization = *p.EnableRBACAuthorization
	}
	if p.SoftDeleteRetentionInDays != nil {
		v.SoftDeleteRetentionDays = *p.SoftDeleteRetentionInDays
	}
	if p.EnablePurgeProtection != nil {
		v.EnablePurgeProtection = *p.EnablePurgeProtection
	}
	if p.PublicNetworkAccess != nil {
		v.PublicNetworkAccess = *p.PublicNetworkAccess
	}
	for _, f := range []struct {
		given *bool
		field *bool
	}{
		{p.EnabledForDeployment, &v.EnabledForDeployment},
		{p.EnabledForDiskEncryption, &v.EnabledForDiskEncryption},
		{p.EnabledForTemplateDeployment, &v.EnabledForTemplateDeployment},
	} {
		if f.given != nil {
			*f.field = *f.given
		}
	}
	return nil
}

// putVault creates or updates a vault, or recovers a deleted one
// (properties.createMode "recover", what `az keyvault recover` sends).
// Azure's create is long-running; Slipway answers 200 with
// provisioningState Succeeded at once.
func (h *Handler) putVault(w http.ResponseWriter, r *http.Request, p params) error {
	var body vaultBody
	if err := readJSON(r, &body); err != nil {
		return err
	}
	ctx := r.Context()
	if body.Properties != nil && body.Properties.CreateMode != nil && strings.EqualFold(*body.Properties.CreateMode, "recover") {
		d, err := h.cfg.Store.DeletedVault(ctx, p.vault)
		if err != nil {
			return vaultNotFound(err)
		}
		if !strings.EqualFold(d.ResourceGroup, p.rg) {
			return &apiError{Status: http.StatusBadRequest, Code: "BadRequest",
				Message: fmt.Sprintf("The deleted vault '%s' belongs to resource group '%s' and can only be recovered there.", d.Name, d.ResourceGroup)}
		}
		// A group created since the vault was deleted has its group's
		// name, not its tenant: the vault went with its own group. Its
		// secrets are recovered only by whoever may read the subscription's
		// deleted vaults (the operator), not by the new group's principals.
		g, err := h.cfg.Store.ResourceGroup(ctx, p.rg)
		if err != nil {
			return err
		}
		if !g.Created.Before(d.Deleted) {
			if err := h.checkLinked(r, "Microsoft.KeyVault/vaults/write", vaultID(p.sub, g.Name, d.Name),
				"Microsoft.KeyVault/locations/deletedVaults/read", deletedVaultID(p.sub, d.Location, d.Name)); err != nil {
				return err
			}
		}
		v, err := h.cfg.Store.RecoverVault(ctx, p.vault)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, h.vaultJSON(p.sub, v))
	}
	if body.Location == nil || *body.Location == "" {
		return &apiError{Status: http.StatusBadRequest, Code: "LocationRequired", Message: "The location property is required for this definition."}
	}
	if body.Properties == nil || body.Properties.TenantID == nil || body.Properties.SKU == nil {
		return &apiError{Status: http.StatusBadRequest, Code: "BadRequest", Message: "The properties tenantId and sku are required."}
	}
	_, tenant, err := h.cfg.Store.Identity(ctx)
	if err != nil {
		return err
	}
	if !strings.EqualFold(*body.Properties.TenantID, tenant) {
		return &apiError{Status: http.StatusBadRequest, Code: "BadRequest",
			Message: fmt.Sprintf("The tenant '%s' is not this subscription's tenant.", *body.Properties.TenantID)}
	}
	v := slipway.Vault{ResourceGroup: p.rg, Name: p.vault, Location: normalizeLocation(*body.Location), TenantID: tenant, SKU: "standard"}
	if old, err := h.cfg.Store.Vault(ctx, p.rg, p.vault); err == nil {
		// A PUT replaces the document, but settings it omits keep what
		// can only be set once.
		v.SoftDeleteRetentionDays, v.EnablePurgeProtection = old.SoftDeleteRetentionDays, old.EnablePurgeProtection
	}
	if err := body.apply(&v); err != nil {
		return err
	}
	v, _, err = h.cfg.Store.PutVault(ctx, v)
	if err != nil {
		return vaultError(err)
	}
	return writeJSON(w, http.StatusOK, h.vaultJSON(p.sub, v))
}

// patchVault updates an existing vault; absent fields are kept.
func (h *Handler) patchVault(w http.ResponseWriter, r *http.Request, p params) error {
	var body vaultBody
	if err := readJSON(r, &body); err != nil {
		return err
	}
	v, err := h.cfg.Store.Vault(r.Context(), p.rg, p.vault)
	if err != nil {
		return err
	}
	if err := body.apply(&v); err != nil {
		return err
	}
	if v, _, err = h.cfg.Store.PutVault(r.Context(), v); err != nil {
		return vaultError(err)
	}
	return writeJSON(w, http.StatusOK, h.vaultJSON(p.sub, v))
}

func (h *Handler) getVault(w http.ResponseWriter, r *http.Request, p params) error {
	v, err := h.cfg.Store.Vault(r.Context(), p.rg, p.vault)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.vaultJSON(p.sub, v))
}

// deleteVault soft-deletes the vault: 200, or 204 when there is none.
func (h *Handler) deleteVault(w http.ResponseWriter, r *http.Request, p params) error {
	_, err := h.cfg.Store.DeleteVault(r.Context(), p.rg, p.vault)
	return h.writeDeleted(w, r, p.rg, err)
}

func (h *Handler) listVaults(w http.ResponseWriter, r *http.Request, p params) error {
	vs, err := h.cfg.Store.Vaults(r.Context(), p.rg)
	if err != nil {
		return err
	}
	out := []any{}
	for _, v := range vs {
		out = append(out, h.vaultJSON(p.sub, v))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

// updateAccessPolicy is PUT vaults/{v}/accessPolicies/{add|replace|remove}:
// add merges permissions into the identity's policy (creating it),
// replace sets them, remove takes them away (dropping an empty policy).
func (h *Handler) updateAccessPolicy(w http.ResponseWriter, r *http.Request, p params) error {
	op := strings.ToLower(p.op)
	if op != "add" && op != "replace" && op != "remove" {
		return &apiError{Status: http.StatusBadRequest, Code: "BadRequest",
			Message: fmt.Sprintf("The operation kind '%s' is invalid. Valid values are 'add', 'replace' and 'remove'.", p.op)}
	}
	var body struct {
		Properties struct {
			AccessPolicies []wirePolicy `json:"accessPolicies"`
		} `json:"properties"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	changes, err := fromWirePolicies(body.Properties.AccessPolicies)
	if err != nil {
		return err
	}
	v, err := h.cfg.Store.Vault(r.Context(), p.rg, p.vault)
	if err != nil {
		return err
	}
	for _, c := range changes {
		v.AccessPolicies = applyPolicy(v.AccessPolicies, c, op)
	}
	if len(v.AccessPolicies) > maxAccessPolicies {
		return &apiError{Status: http.StatusBadRequest, Code: "BadRequest", Message: "Access policies are limited to 1024 per vault."}
	}
	if v, _, err = h.cfg.Store.PutVault(r.Context(), v); err != nil {
		return vaultError(err)
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"id": vaultID(p.sub, v.ResourceGroup, v.Name) + "/accessPolicies/" + op, "name": op,
		"type": "Microsoft.KeyVault/vaults/accessPolicies", "location": v.Location,
		"properties": map[string]any{"accessPolicies": toWirePolicies(v.AccessPolicies)},
	})
}

func samePrincipal(a, b slipway.AccessPolicy) bool {
	return strings.EqualFold(a.TenantID, b.TenantID) && strings.EqualFold(a.ObjectID, b.ObjectID) &&
		strings.EqualFold(a.ApplicationID, b.ApplicationID)
}

func applyPolicy(ps []slipway.AccessPolicy, c slipway.AccessPolicy, op string) []slipway.AccessPolicy {
	i := -1
	for j, p := range ps {
		if samePrincipal(p, c) {
			i = j
			break
		}
	}
	switch {
	case i < 0 && op == "remove":
		return ps
	case i < 0:
		return append(ps, c)
	case op == "replace":
		ps[i] = c
	case op == "add":
		p := &ps[i]
		p.Keys, p.Secrets = union(p.Keys, c.Keys), union(p.Secrets, c.Secrets)
		p.Certificates, p.Storage = union(p.Certificates, c.Certificates), union(p.Storage, c.Storage)
	default: // remove
		p := &ps[i]
		p.Keys, p.Secrets = minus(p.Keys, c.Keys), minus(p.Secrets, c.Secrets)
		p.Certificates, p.Storage = minus(p.Certificates, c.Certificates), minus(p.Storage, c.Storage)
		if len(c.Keys)+len(c.Secrets)+len(c.Certificates)+len(c.Storage) == 0 ||
			len(p.Keys)+len(p.Secrets)+len(p.Certificates)+len(p.Storage) == 0 {
			return append(ps[:i], ps[i+1:]...)
		}
	}
	return ps
}

func union(a, b []string) []string {
	out := append([]string{}, a...)
	for _, x := range b {
		if !containsFold(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func minus(a, b []string) []string {
	out := []string{}
	for _, x := range a {
		if !containsFold(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func containsFold(s []string, x string) bool {
	for _, y := range s {
		if strings.EqualFold(x, y) {
			return true
		}
	}
	return false
}

// vaultNotFound words a missing deleted vault as Key Vault does.
func vaultNotFound(err error) error {
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return &apiError{Status: http.StatusNotFound, Code: "DeletedVaultNotFound", Message: slipway.ErrorMessage(err)}
	}
	return err
}

func (h *Handler) getDeletedVault(w http.ResponseWriter, r *http.Request, p params) error {
	v, err := h.cfg.Store.DeletedVault(r.Context(), p.vault)
	if err == nil && !strings.EqualFold(v.Location, normalizeLocation(p.location)) {
		err = slipway.Errorf(slipway.ENOTFOUND, "The specified deleted vault '%s' does not exist in location '%s'.", p.vault, p.location)
	}
	if err != nil {
		return vaultNotFound(err)
	}
	return writeJSON(w, http.StatusOK, h.deletedVaultJSON(p.sub, v))
}

func (h *Handler) listDeletedVaults(w http.ResponseWriter, r *http.Request, p params) error {
	vs, err := h.cfg.Store.DeletedVaults(r.Context())
	if err != nil {
		return err
	}
	out := []any{}
	for _, v := range vs {
		out = append(out, h.deletedVaultJSON(p.sub, v))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

// listDeletedManagedHSMs answers `az keyvault list-deleted`, which lists
// deleted managed HSMs after deleted vaults and fails if either list does:
// Slipway has no managed HSMs, so none was ever deleted.
func (h *Handler) listDeletedManagedHSMs(w http.ResponseWriter, r *http.Request, p params) error {
	return writeJSON(w, http.StatusOK, map[string]any{"value": []any{}})
}

// purgeDeletedVault purges at once and answers 200, which the SDK's
// long-running-operation poller takes as done.
func (h *Handler) purgeDeletedVault(w http.ResponseWriter, r *http.Request, p params) error {
	v, err := h.cfg.Store.DeletedVault(r.Context(), p.vault)
	if err == nil && !strings.EqualFold(v.Location, normalizeLocation(p.location)) {
		err = slipway.Errorf(slipway.ENOTFOUND, "The specified deleted vault '%s' does not exist in location '%s'.", p.vault, p.location)
	}
	if err != nil {
		return vaultNotFound(err)
	}
	if err := h.cfg.Store.PurgeVault(r.Context(), v.Name); err != nil {
		if slipway.ErrorCode(err) == slipway.ECONFLICT {
			return &apiError{Status: http.StatusConflict, Code: "ConflictError", Message: slipway.ErrorMessage(err)}
		}
		return vaultNotFound(err)
	}
	return writeEmpty(w, http.StatusOK)
}

func (h *Handler) checkVaultNameAvailability(w http.ResponseWriter, r *http.Request, _ params) error {
	var body struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if !strings.EqualFold(body.Type, "Microsoft.KeyVault/vaults") {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidResourceType",
			Message: fmt.Sprintf("The resource type '%s' is not supported; use 'Microsoft.KeyVault/vaults'.", body.Type)}
	}
	type result struct {
		NameAvailable bool   `json:"nameAvailable"`
		Reason        string `json:"reason,omitempty"`
		Message       string `json:"message,omitempty"`
	}
	if err := slipway.ValidateVaultName(body.Name); err != nil {
		return writeJSON(w, http.StatusOK, result{Reason: "AccountNameInvalid", Message: slipway.ErrorMessage(err)})
	}
	taken, err := h.cfg.Store.VaultNameTaken(r.Context(), body.Name)
	if err != nil {
		return err
	}
	if taken {
		return writeJSON(w, http.StatusOK, result{Reason: "AlreadyExists",
			Message: fmt.Sprintf("The vault name '%s' is already in use. Vault names are globally unique so it is possible that the name is already taken.", body.Name)})
	}
	return writeJSON(w, http.StatusOK, result{NameAvailable: true})
}
