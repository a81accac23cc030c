package arm

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/store"
)

// Microsoft.Storage/storageAccounts: the shapes of Azure's storage
// management API (2023-x and later), as azure-mgmt-storage and
// `az storage account` read them. Slipway serves the blob endpoint and the
// static website's web endpoint; the other endpoints (queue, table, file,
// dfs) are absent.

func storageAccountID(sub, rg, name string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Storage/storageAccounts/" + name
}

// storageSKUs are the SKU names Azure accepts, by lower-cased name.
var storageSKUs = map[string]string{
	"standard_lrs": "Standard_LRS", "standard_grs": "Standard_GRS", "standard_ragrs": "Standard_RAGRS",
	"standard_zrs": "Standard_ZRS", "standard_gzrs": "Standard_GZRS", "standard_ragzrs": "Standard_RAGZRS",
	"premium_lrs": "Premium_LRS", "premium_zrs": "Premium_ZRS",
}

// storageKinds are the account kinds Azure accepts, by lower-cased name.
var storageKinds = map[string]string{
	"storage": "Storage", "storagev2": "StorageV2", "blobstorage": "BlobStorage",
	"filestorage": "FileStorage", "blockblobstorage": "BlockBlobStorage",
}

// blobEndpoint is the account's primaryEndpoints.blob, with a trailing slash
// as on Azure. Without a configured BlobEndpoint it is the path-style URL
// of the blob service's default port.
func (h *Handler) blobEndpoint(account string) string {
	if h.cfg.BlobEndpoint != nil {
		return h.cfg.BlobEndpoint(account)
	}
	return "http://127.0.0.1:10000/" + account + "/"
}

// webEndpoint is the account's primaryEndpoints.web, the static website's
// endpoint <account>.web.<domain> on the front door (internal/blob's
// website.go), as Azure's https://<account>.z<N>.web.core.windows.net/.
// Azure shows it for the kinds that can host a static website,
// general-purpose v2 and BlockBlobStorage ("Static website hosting in Azure
// Storage", learn.microsoft.com/azure/storage/blobs/storage-blob-static-website),
// whether or not the website is enabled.
func (h *Handler) webEndpoint(a slipway.StorageAccount) (string, bool) {
	if a.Kind != "StorageV2" && a.Kind != "BlockBlobStorage" {
		return "", false
	}
	return "https://" + strings.ToLower(a.Name) + ".web." + h.cfg.Domain + h.cfg.HostSuffix + "/", true
}

func armTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// storageAccountJSON is the StorageAccount resource.
func (h *Handler) storageAccountJSON(sub string, a slipway.StorageAccount, keys [2]store.StorageAccountKey) map[string]any {
	tags := a.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	tier, _, _ := strings.Cut(a.SKU, "_")
	endpoints := map[string]any{"blob": h.blobEndpoint(a.Name)}
	if web, ok := h.webEndpoint(a); ok {
		endpoints["web"] = web
	}
	return map[string]any{
		"id":       storageAccountID(sub, a.ResourceGroup, a.Name),
		"name":     a.Name,
		"type":     "Microsoft.Storage/storageAccounts",
		"location": a.Location,
		"tags":     tags,
		"sku":      map[string]any{"name": a.SKU, "tier": tier},
		"kind":     a.Kind,
		"properties": map[string]any{
			"provisioningState":            "Succeeded",
			"creationTime":                 armTime(a.Created),
			"primaryEndpoints":             endpoints,
			"primaryLocation":              a.Location,
			"statusOfPrimary":              "available",
			"accessTier":                   "Hot",
			"supportsHttpsTrafficOnly":     false,
			"allowBlobPublicAccess":        true,
			"allowSharedKeyAccess":         true,
			"minimumTlsVersion":            "TLS1_2",
			"publicNetworkAccess":          "Enabled",
			"keyCreationTime":              map[string]any{"key1": armTime(keys[0].Created), "key2": armTime(keys[1].Created)},
			"networkAcls":                  map[string]any{"bypass": "AzureServices", "virtualNetworkRules": []any{}, "ipRules": []any{}, "defaultAction": "Allow"},
			"encryption":                   map[string]any{"keySource": "Microsoft.Storage", "services": map[string]any{"blob": map[string]any{"enabled": true, "keyType": "Account", "lastEnabledTime": armTime(a.Created)}}},
			"privateEndpointConnections":   []any{},
			"dnsEndpointType":              "Standard",
			"largeFileSharesState":         nil,
			"isHnsEnabled":                 false,
			"defaultToOAuthAuthentication": false,
		},
	}
}

func (h *Handler) accountKeys(r *http.Request, rg, name string) ([2]store.StorageAccountKey, error) {
	return h.cfg.Store.StorageAccountKeyDetails(r.Context(), rg, name)
}

func (h *Handler) writeStorageAccount(w http.ResponseWriter, r *http.Request, sub string, a slipway.StorageAccount) error {
	keys, err := h.accountKeys(r, a.ResourceGroup, a.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.storageAccountJSON(sub, a, keys))
}

// storageError turns the store's errors into Microsoft.Storage's codes:
// StorageAccountAlreadyTaken (409) and AccountNameInvalid (400).
func storageError(err error) error {
	switch slipway.ErrorCode(err) {
	case slipway.ECONFLICT:
		if msg := slipway.ErrorMessage(err); strings.HasSuffix(msg, "is already taken.") {
			return &apiError{Status: http.StatusConflict, Code: "StorageAccountAlreadyTaken", Message: msg}
		}
	case slipway.EINVALID:
		if msg := slipway.ErrorMessage(err); strings.Contains(msg, "is not a valid storage account name") {
			return &apiError{Status: http.StatusBadRequest, Code: "AccountNameInvalid", Message: msg}
		}
	}
	return err
}

type storageAccountBody struct {
	Location *string           `json:"location"`
	Tags     map[string]string `json:"tags"`
	Kind     *string           `json:"kind"`
	SKU      *struct {
		Name string `json:"name"`
	} `json:"sku"`
	Properties struct {
		PublicNetworkAccess *string      `json:"publicNetworkAccess"`
		NetworkACLs         *networkACLs `json:"networkAcls"`
	} `json:"properties"`
}

// refuseNetworkIsolation refuses a firewall or private-only access
// (networkisolation.go): the blob service filters no traffic by network.
func (b storageAccountBody) refuseNetworkIsolation() error {
	return refuseNetworkIsolation("storage account", storageAccessInstead, b.Properties.PublicNetworkAccess, "", b.Properties.NetworkACLs)
}

// canonicalSKUKind checks and canonicalises the SKU and kind given in a
// body; empty values stay empty.
func (b storageAccountBody) canonicalSKUKind() (sku, kind string, err error) {
	if b.SKU != nil && b.SKU.Name != "" {
		var ok bool
		if sku, ok = storageSKUs[strings.ToLower(b.SKU.Name)]; !ok {
			return "", "", &apiError{Status: http.StatusBadRequest, Code: "InvalidValuesForRequestParameters",
				Message: fmt.Sprintf("Values for request parameters are invalid: sku.name '%s'.", b.SKU.Name)}
		}
	}
	if b.Kind != nil && *b.Kind != "" {
		var ok bool
		if kind, ok = storageKinds[strings.ToLower(*b.Kind)]; !ok {
			return "", "", &apiError{Status: http.StatusBadRequest, Code: "InvalidValuesForRequestParameters",
				Message: fmt.Sprintf("Values for request parameters are invalid: kind '%s'.", *b.Kind)}
		}
	}
	return sku, kind, nil
}

// putStorageAccount creates or updates an account. Azure's create is a
// long-running operation; Slipway finishes it at once and answers 200 with
// provisioningState Succeeded, which the SDK's poller accepts as done.
func (h *Handler) putStorageAccount(w http.ResponseWriter, r *http.Request, p params) error {
	var body storageAccountBody
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if body.Location == nil || *body.Location == "" {
		return &apiError{Status: http.StatusBadRequest, Code: "LocationRequired",
			Message: "The location property is required for this definition."}
	}
	if err := body.refuseNetworkIsolation(); err != nil {
		return err
	}
	sku, kind, err := body.canonicalSKUKind()
	if err != nil {
		return err
	}
	a, _, err := h.cfg.Store.PutStorageAccount(r.Context(), slipway.StorageAccount{
		ResourceGroup: p.rg, Name: p.account, Location: normalizeLocation(*body.Location),
		SKU: sku, Kind: kind, Tags: body.Tags,
	})
	if err != nil {
		return storageError(err)
	}
	return h.writeStorageAccount(w, r, p.sub, a)
}

// patchStorageAccount updates tags, SKU and kind of an existing account
// (az storage account update); absent fields are kept.
func (h *Handler) patchStorageAccount(w http.ResponseWriter, r *http.Request, p params) error {
	var body storageAccountBody
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if err := body.refuseNetworkIsolation(); err != nil {
		return err
	}
	sku, kind, err := body.canonicalSKUKind()
	if err != nil {
		return err
	}
	a, err := h.cfg.Store.StorageAccount(r.Context(), p.rg, p.account)
	if err != nil {
		return err
	}
	if sku != "" {
		a.SKU = sku
	}
	if kind != "" {
		a.Kind = kind
	}
	if body.Tags != nil {
		a.Tags = body.Tags
	}
	a, _, err = h.cfg.Store.PutStorageAccount(r.Context(), a)
	if err != nil {
		return storageError(err)
	}
	return h.writeStorageAccount(w, r, p.sub, a)
}

func (h *Handler) getStorageAccount(w http.ResponseWriter, r *http.Request, p params) error {
	a, err := h.cfg.Store.StorageAccount(r.Context(), p.rg, p.account)
	if err != nil {
		return err
	}
	return h.writeStorageAccount(w, r, p.sub, a)
}

// listStorageAccounts lists the accounts of a resource group, or of the
// subscription when the route has no group.
func (h *Handler) listStorageAccounts(w http.ResponseWriter, r *http.Request, p params) error {
	as, err := h.cfg.Store.StorageAccounts(r.Context(), p.rg)
	if err != nil {
		return err
	}
	vs := make([]any, 0, len(as))
	for _, a := range as {
		keys, err := h.accountKeys(r, a.ResourceGroup, a.Name)
		if err != nil {
			return err
		}
		vs = append(vs, h.storageAccountJSON(p.sub, a, keys))
	}
	return writeJSON(w, http.StatusOK, list{Value: vs})
}

// deleteStorageAccount deletes the account and, through the controller,
// its blob data: 200 when it existed, 204 when it did not (as Azure).
func (h *Handler) deleteStorageAccount(w http.ResponseWriter, r *http.Request, p params) error {
	ctx := r.Context()
	a, err := h.cfg.Store.StorageAccount(ctx, p.rg, p.account)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		if _, gerr := h.cfg.Store.ResourceGroup(ctx, p.rg); gerr != nil {
			return gerr
		}
		return writeEmpty(w, http.StatusNoContent)
	} else if err != nil {
		return err
	}
	if err := h.cfg.Store.DeleteStorageAccount(ctx, a.ResourceGroup, a.Name); err != nil {
		return err
	}
	if err := h.cfg.Controller.StorageAccountDeleted(ctx, a.ResourceGroup, a.Name); err != nil {
		return fmt.Errorf("removing the data of deleted storage account %s: %w", a.Name, err)
	}
	return writeEmpty(w, http.StatusOK)
}

// writeKeys answers listKeys and regenerateKey: StorageAccountListKeysResult.
func (h *Handler) writeKeys(w http.ResponseWriter, r *http.Request, rg, name string) error {
	keys, err := h.accountKeys(r, rg, name)
	if err != nil {
		return err
	}
	out := make([]any, 0, 2)
	for _, k := range keys {
		out = append(out, map[string]any{"keyName": k.Name, "value": k.Value, "permissions": "FULL", "creationTime": armTime(k.Created)})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"keys": out})
}

func (h *Handler) listStorageKeys(w http.ResponseWriter, r *http.Request, p params) error {
	return h.writeKeys(w, r, p.rg, p.account)
}

func (h *Handler) regenerateStorageKey(w http.ResponseWriter, r *http.Request, p params) error {
	var body struct {
		KeyName string `json:"keyName"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if _, err := h.cfg.Store.StorageAccount(r.Context(), p.rg, p.account); err != nil {
		return err
	}
	if _, _, err := h.cfg.Store.RegenerateStorageAccountKey(r.Context(), p.rg, p.account, body.KeyName); err != nil {
		return err
	}
	return h.writeKeys(w, r, p.rg, p.account)
}

// checkStorageNameAvailability answers POST
// Microsoft.Storage/checkNameAvailability (names are global).
func (h *Handler) checkStorageNameAvailability(w http.ResponseWriter, r *http.Request, _ params) error {
	var body struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if t := strings.ToLower(body.Type); t != "" && t != "microsoft.storage/storageaccounts" {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidResourceType",
			Message: fmt.Sprintf("The resource type '%s' is not supported; use 'Microsoft.Storage/storageAccounts'.", body.Type)}
	}
	type result struct {
		NameAvailable bool   `json:"nameAvailable"`
		Reason        string `json:"reason,omitempty"`
		Message       string `json:"message,omitempty"`
	}
	if err := (slipway.StorageAccount{Name: body.Name}).Validate(); err != nil {
		return writeJSON(w, http.StatusOK, result{Reason: "AccountNameInvalid", Message: slipway.ErrorMessage(err)})
	}
	_, err := h.cfg.Store.FindStorageAccount(r.Context(), body.Name)
	switch slipway.ErrorCode(err) {
	case "":
		return writeJSON(w, http.StatusOK, result{Reason: "AlreadyExists",
			Message: fmt.Sprintf("The storage account named %s is already taken.", body.Name)})
	case slipway.ENOTFOUND:
		return writeJSON(w, http.StatusOK, result{NameAvailable: true})
	}
	return err
}
