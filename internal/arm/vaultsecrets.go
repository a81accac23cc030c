package arm

// Microsoft.KeyVault/vaults/secrets on the management plane: the resource
// ARM templates declare to put a secret in a vault
// (https://learn.microsoft.com/rest/api/keyvault/keyvault/secrets/create-or-update,
// https://learn.microsoft.com/azure/templates/microsoft.keyvault/vaults/secrets).
// Azure documents it as meant for deployments; clients use the data plane
// (internal/keyvault). Both write the same secrets. Writing is the
// control-plane action Microsoft.KeyVault/vaults/secrets/write (Contributor
// has it), not a data action, as on Azure. The value is never returned.

import (
	"net/http"
	"reflect"
	"time"

	"github.com/slipway-dev/slipway"
)

// vaultSecretBody is the request body of a secret PUT.
type vaultSecretBody struct {
	Tags       map[string]string `json:"tags"`
	Properties struct {
		Value       *string `json:"value"`
		ContentType string  `json:"contentType"`
		Attributes  struct {
			Enabled   *bool  `json:"enabled"`
			NotBefore *int64 `json:"nbf"`
			Expires   *int64 `json:"exp"`
		} `json:"attributes"`
	} `json:"properties"`
}

func unixOrZero(p *int64) time.Time {
	if p == nil || *p == 0 {
		return time.Time{}
	}
	return time.Unix(*p, 0).UTC()
}

func (h *Handler) vaultSecretJSON(sub string, v slipway.Vault, s slipway.Secret) map[string]any {
	uri := h.vaultURI(v.Name) + "secrets/" + s.Name
	tags := s.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	// What is not set is left out, as Azure leaves it out
	// (https://learn.microsoft.com/rest/api/keyvault/keyvault/secrets/get):
	// the SDKs then read None, not an empty content type.
	attrs := map[string]any{"enabled": s.Enabled, "created": s.Created.Unix(), "updated": s.Updated.Unix()}
	if !s.NotBefore.IsZero() {
		attrs["nbf"] = s.NotBefore.Unix()
	}
	if !s.Expires.IsZero() {
		attrs["exp"] = s.Expires.Unix()
	}
	props := map[string]any{
		"attributes":           attrs,
		"secretUri":            uri,
		"secretUriWithVersion": uri + "/" + s.Version,
	}
	if s.ContentType != "" {
		props["contentType"] = s.ContentType
	}
	return map[string]any{
		"id":         vaultID(sub, v.ResourceGroup, v.Name) + "/secrets/" + s.Name,
		"name":       s.Name,
		"type":       "Microsoft.KeyVault/vaults/secrets",
		"location":   v.Location,
		"tags":       tags,
		"properties": props,
	}
}

// putVaultSecret answers PUT .../vaults/{vault}/secrets/{name}: a new
// version when anything changed (201 for a new secret, 200 otherwise); an
// identical PUT — a template run again — adds no version.
func (h *Handler) putVaultSecret(w http.ResponseWriter, r *http.Request, p params) error {
	ctx := r.Context()
	v, err := h.cfg.Store.Vault(ctx, p.rg, p.vault)
	if err != nil {
		return err
	}
	var b vaultSecretBody
	if err := readJSON(r, &b); err != nil {
		return err
	}
	bad := func(msg string) error {
		return &apiError{Status: http.StatusBadRequest, Code: "BadRequest", Message: msg}
	}
	switch {
	case b.Properties.Value == nil:
		return bad("The secret's properties.value is required.")
	case len(*b.Properties.Value) > slipway.MaxSecretValueBytes:
		return bad("The secret value exceeds the maximum size of 25 KB.")
	case len(b.Properties.ContentType) > 255:
		return bad("The content type exceeds the maximum length of 255 characters.")
	case len(b.Tags) > slipway.MaxSecretTags:
		return bad("The number of tags exceeds the limit of 15.")
	}
	want := slipway.Secret{
		Vault: v.Name, Name: p.id, Value: *b.Properties.Value, ContentType: b.Properties.ContentType, Enabled: true,
		NotBefore: unixOrZero(b.Properties.Attributes.NotBefore), Expires: unixOrZero(b.Properties.Attributes.Expires), Tags: b.Tags,
	}
	if e := b.Properties.Attributes.Enabled; e != nil {
		want.Enabled = *e
	}
	if want.Tags == nil {
		want.Tags = map[string]string{}
	}
	old, err := h.cfg.Store.Secret(ctx, v.Name, p.id, "")
	created := slipway.ErrorCode(err) == slipway.ENOTFOUND
	if err != nil && !created {
		return err
	}
	if !created && old.Value == want.Value && old.ContentType == want.ContentType && old.Enabled == want.Enabled &&
		old.NotBefore.Equal(want.NotBefore) && old.Expires.Equal(want.Expires) && sameTags(old.Tags, want.Tags) {
		return writeJSON(w, http.StatusOK, h.vaultSecretJSON(p.sub, v, old))
	}
	s, err := h.cfg.Store.SetSecret(ctx, want)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, h.vaultSecretJSON(p.sub, v, s))
}

func sameTags(a, b map[string]string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

// getVaultSecret answers GET .../vaults/{vault}/secrets/{name}: the latest
// version's attributes, without the value.
func (h *Handler) getVaultSecret(w http.ResponseWriter, r *http.Request, p params) error {
	v, err := h.cfg.Store.Vault(r.Context(), p.rg, p.vault)
	if err != nil {
		return err
	}
	s, err := h.cfg.Store.Secret(r.Context(), v.Name, p.id, "")
	if err != nil {
		if slipway.ErrorCode(err) == slipway.ENOTFOUND {
			return &apiError{Status: http.StatusNotFound, Code: "SecretNotFound", Message: slipway.ErrorMessage(err)}
		}
		return err
	}
	return writeJSON(w, http.StatusOK, h.vaultSecretJSON(p.sub, v, s))
}

// vaultSecretPage bounds one page of listVaultSecrets: Azure's Secrets -
// List takes $top up to 25
// (https://learn.microsoft.com/rest/api/keyvault/keyvault/secrets/list).
const vaultSecretPage = 25

// listVaultSecrets answers GET .../vaults/{vault}/secrets (azure-mgmt-
// keyvault's secrets.list): a page of the vault's secrets that are not
// deleted, in name order, without values, and a nextLink while there are
// more.
func (h *Handler) listVaultSecrets(w http.ResponseWriter, r *http.Request, p params) error {
	ctx := r.Context()
	v, err := h.cfg.Store.Vault(ctx, p.rg, p.vault)
	if err != nil {
		return err
	}
	size, err := pageSize(r, "$top", vaultSecretPage)
	if err != nil {
		return err
	}
	ss, more, err := h.cfg.Store.SecretPage(ctx, v.Name, false, r.URL.Query().Get("$skipToken"), size)
	if err != nil {
		return err
	}
	out := map[string]any{}
	if more && len(ss) > 0 {
		out["nextLink"] = h.nextPageLink(r, "$top", size, ss[len(ss)-1].Name)
	}
	value := make([]any, 0, len(ss))
	for _, s := range ss {
		value = append(value, h.vaultSecretJSON(p.sub, v, s.Secret))
	}
	out["value"] = value
	return writeJSON(w, http.StatusOK, out)
}
