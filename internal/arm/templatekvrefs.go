package arm

// Key Vault references in a template deployment's parameters
// (https://learn.microsoft.com/azure/azure-resource-manager/templates/key-vault-parameter):
// a parameter given as
//
//	{"reference": {"keyVault": {"id": VAULT-ID}, "secretName": NAME, "secretVersion": VERSION}}
//
// (secretVersion optional: the latest) in place of {"value": ...} takes the
// secret's value, read by ARM itself before the deployment starts. ARM reads
// it when
//   - the caller may: Microsoft.KeyVault/vaults/deploy/action on the vault
//     (Owner and Contributor have it). The vault's own data-plane access
//     (access policies, RBAC data actions) is not asked: a deployer need not
//     be able to read the secret, only to deploy with it;
//   - the vault allows it: enabledForTemplateDeployment (az keyvault update
//     --enabled-for-template-deployment true);
//   - the secret version exists and is usable (enabled, not expired, valid).
//
// Otherwise the PUT fails and no deployment is made, with ARM's
// KeyVaultParameterReferenceSecretRetrieveFailed naming the parameter (or
// AuthorizationFailed, or KeyVaultParameterReferenceNotFound for a vault
// that is not there). The value is never stored or echoed: the
// deployment's parameters show the reference, as ARM's do.

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/armtemplate"
	"github.com/slipway-dev/slipway/internal/keyvault"
)

// kvParamRef is a parameter's Key Vault reference.
type kvParamRef struct {
	KeyVault struct {
		ID string `json:"id"`
	} `json:"keyVault"`
	SecretName    string `json:"secretName"`
	SecretVersion string `json:"secretVersion"`
}

// resolveKeyVaultParameters returns params with each Key Vault reference
// replaced by {"value": the secret's value}, and the references as given,
// by parameter name, for the deployment's echo. params itself is left as
// it is.
func (h *Handler) resolveKeyVaultParameters(r *http.Request, sub string, params map[string]any) (map[string]any, map[string]any, error) {
	var names []string
	for name, x := range params {
		if w, ok := x.(map[string]any); ok && armtemplate.Member(w, "reference") != nil {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return params, nil, nil
	}
	slices.Sort(names) // the first failure named is the same each time
	out := maps.Clone(params)
	refs := map[string]any{}
	for _, name := range names {
		raw := armtemplate.Member(params[name].(map[string]any), "reference")
		value, err := h.keyVaultParameter(r, sub, name, raw)
		if err != nil {
			return nil, nil, err
		}
		out[name] = map[string]any{"value": value}
		refs[name] = raw
	}
	return out, refs, nil
}

// keyVaultParameter reads the secret one parameter's reference names.
func (h *Handler) keyVaultParameter(r *http.Request, sub, param string, raw any) (string, error) {
	b, _ := json.Marshal(raw)
	var ref kvParamRef
	if err := json.Unmarshal(b, &ref); err != nil || ref.KeyVault.ID == "" || ref.SecretName == "" {
		return "", &apiError{Status: http.StatusBadRequest, Code: "InvalidDeploymentParameterValue",
			Message: fmt.Sprintf("The Key Vault reference of the parameter '%s' is not valid: give {\"reference\": {\"keyVault\": {\"id\": \"<the vault's resource id>\"}, \"secretName\": \"<name>\"}}, with \"secretVersion\" if not the latest. Please see https://aka.ms/arm-keyvault for usage details.", param)}
	}
	rg, name, ok := vaultIDParts(ref.KeyVault.ID, sub)
	if !ok {
		return "", &apiError{Status: http.StatusBadRequest, Code: "KeyVaultParameterReferenceNotFound",
			Message: fmt.Sprintf("The specified KeyVault '%s' of the parameter '%s' could not be found: name a vault of this subscription by its resource id (/subscriptions/%s/resourceGroups/<group>/providers/Microsoft.KeyVault/vaults/<name>). Please see https://aka.ms/arm-keyvault for usage details.", ref.KeyVault.ID, param, sub)}
	}
	// The caller's right first, so that one without it learns nothing of
	// the vault, not even whether it exists.
	const deployAction = "Microsoft.KeyVault/vaults/deploy/action"
	scope := vaultID(sub, rg, name)
	caller, allowed, err := h.callerMay(r, deployAction, scope)
	if err != nil {
		return "", err
	}
	if !allowed {
		return "", &apiError{Status: http.StatusForbidden, Code: "AuthorizationFailed", Message: fmt.Sprintf(
			"The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid, which the Key Vault reference of the parameter '%s' needs. Owner and Contributor grant it.",
			caller, caller, deployAction, scope, param)}
	}
	ctx := r.Context()
	v, err := h.cfg.Store.Vault(ctx, rg, name)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return "", &apiError{Status: http.StatusBadRequest, Code: "KeyVaultParameterReferenceNotFound",
			Message: fmt.Sprintf("The specified KeyVault '%s' of the parameter '%s' could not be found. Please see https://aka.ms/arm-keyvault for usage details.", ref.KeyVault.ID, param)}
	} else if err != nil {
		return "", err
	}
	retrieveFailed := func(status, msg string) error {
		return &apiError{Status: http.StatusBadRequest, Code: "KeyVaultParameterReferenceSecretRetrieveFailed", Message: fmt.Sprintf(
			"The secret of KeyVault parameter '%s' cannot be retrieved. Http status code: '%s'. Error message: '%s'. Please see https://aka.ms/arm-keyvault for usage details.", param, status, msg)}
	}
	if !v.EnabledForTemplateDeployment {
		return "", retrieveFailed("Forbidden", fmt.Sprintf("Access denied to first party service. The vault '%s' does not let template deployments read its secrets: turn on enabledForTemplateDeployment (az keyvault update --name %s --enabled-for-template-deployment true)", v.Name, v.Name))
	}
	s, err := h.cfg.Store.Secret(ctx, v.Name, ref.SecretName, ref.SecretVersion)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return "", retrieveFailed("NotFound", slipway.ErrorMessage(err))
	} else if err != nil {
		return "", err
	}
	if err := keyvault.Usable(s, h.cfg.Now); err != nil {
		msg := err.Error()
		if kerr := (*keyvault.Error)(nil); errors.As(err, &kerr) {
			msg = kerr.Message
		}
		return "", retrieveFailed("Forbidden", msg)
	}
	return s.Value, nil
}

// vaultIDParts splits a key vault's resource id into its group and name;
// ok is false for an id that is not one, or one of another subscription.
func vaultIDParts(id, sub string) (rg, name string, ok bool) {
	segs := splitPath(id)
	if len(segs) != 8 || !strings.EqualFold(segs[0], "subscriptions") || !strings.EqualFold(segs[1], sub) ||
		!strings.EqualFold(segs[2], "resourceGroups") || !strings.EqualFold(segs[4], "providers") ||
		!strings.EqualFold(segs[5], "Microsoft.KeyVault") || !strings.EqualFold(segs[6], "vaults") {
		return "", "", false
	}
	return segs[3], segs[7], true
}
