package arm

// Microsoft.Storage/storageAccounts/blobServices/default: the blob
// service's properties on the management plane
// (https://learn.microsoft.com/rest/api/storagerp/blob-services/set-service-properties,
// https://learn.microsoft.com/azure/templates/microsoft.storage/storageaccounts/blobservices),
// as `az storage account blob-service-properties show|update` and ARM
// templates declaring the containers' parent drive them. They are the
// data plane's Set/Get Blob Service Properties (internal/blob's
// ServiceProperties): delete retention (blob soft delete), CORS, static
// website and the default service version. What Slipway does not have —
// versioning, change feed, point-in-time restore, container soft delete,
// last access time tracking, permanent delete, automatic snapshots — is
// refused when a request turns it on and shows as off.

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/slipway-dev/slipway/internal/blob"
)

type corsRuleJSON struct {
	AllowedOrigins  []string `json:"allowedOrigins"`
	AllowedMethods  []string `json:"allowedMethods"`
	MaxAgeInSeconds int      `json:"maxAgeInSeconds"`
	ExposedHeaders  []string `json:"exposedHeaders"`
	AllowedHeaders  []string `json:"allowedHeaders"`
}

// blobServiceBody is what a PUT or PATCH of the blob service reads; a
// field left out (or null) stays as it is.
type blobServiceBody struct {
	Properties struct {
		Cors *struct {
			CorsRules []corsRuleJSON `json:"corsRules"`
		} `json:"cors"`
		DefaultServiceVersion *string `json:"defaultServiceVersion"`
		DeleteRetentionPolicy *struct {
			Enabled              *bool `json:"enabled"`
			Days                 *int  `json:"days"`
			AllowPermanentDelete *bool `json:"allowPermanentDelete"`
		} `json:"deleteRetentionPolicy"`
		StaticWebsite *struct {
			Enabled                  *bool   `json:"enabled"`
			IndexDocument            *string `json:"indexDocument"`
			DefaultIndexDocumentPath *string `json:"defaultIndexDocumentPath"`
			ErrorDocument404Path     *string `json:"errorDocument404Path"`
		} `json:"staticWebsite"`
		IsVersioningEnabled            *bool        `json:"isVersioningEnabled"`
		AutomaticSnapshotPolicyEnabled *bool        `json:"automaticSnapshotPolicyEnabled"`
		ChangeFeed                     *enabledJSON `json:"changeFeed"`
		RestorePolicy                  *enabledJSON `json:"restorePolicy"`
		ContainerDeleteRetentionPolicy *enabledJSON `json:"containerDeleteRetentionPolicy"`
		LastAccessTimeTrackingPolicy   *struct {
			Enable *bool `json:"enable"`
		} `json:"lastAccessTimeTrackingPolicy"`
	} `json:"properties"`
}

type enabledJSON struct {
	Enabled *bool `json:"enabled"`
}

func on(b *bool) bool { return b != nil && *b }

// unsupported names the first feature the body turns on that Slipway does
// not have, or "".
func (b *blobServiceBody) unsupported() (field, feature string) {
	p := &b.Properties
	switch {
	case on(p.IsVersioningEnabled):
		return "isVersioningEnabled", "blob versioning"
	case p.ChangeFeed != nil && on(p.ChangeFeed.Enabled):
		return "changeFeed.enabled", "the blob change feed"
	case p.RestorePolicy != nil && on(p.RestorePolicy.Enabled):
		return "restorePolicy.enabled", "point-in-time restore"
	case p.ContainerDeleteRetentionPolicy != nil && on(p.ContainerDeleteRetentionPolicy.Enabled):
		return "containerDeleteRetentionPolicy.enabled", "container soft delete"
	case p.LastAccessTimeTrackingPolicy != nil && on(p.LastAccessTimeTrackingPolicy.Enable):
		return "lastAccessTimeTrackingPolicy.enable", "last access time tracking"
	case p.DeleteRetentionPolicy != nil && on(p.DeleteRetentionPolicy.AllowPermanentDelete):
		return "deleteRetentionPolicy.allowPermanentDelete", "permanent delete of soft-deleted blobs (soft-deleted blobs are removed when their retention ends)"
	case on(p.AutomaticSnapshotPolicyEnabled):
		return "automaticSnapshotPolicyEnabled", "automatic snapshots"
	}
	return "", ""
}

func (h *Handler) blobServiceJSON(r *http.Request, p params) (map[string]any, error) {
	ctx := r.Context()
	a, err := h.cfg.Store.StorageAccount(ctx, p.rg, p.account)
	if err != nil {
		return nil, err
	}
	sp, err := h.cfg.Containers.ServiceProperties(ctx, a.Name)
	if err != nil {
		return nil, err
	}
	rules := make([]any, 0, len(sp.Cors))
	for _, c := range sp.Cors {
		rules = append(rules, corsRuleJSON{
			AllowedOrigins: nonNil(c.AllowedOrigins), AllowedMethods: nonNil(c.AllowedMethods),
			MaxAgeInSeconds: c.MaxAgeInSeconds, ExposedHeaders: nonNil(c.ExposedHeaders), AllowedHeaders: nonNil(c.AllowedHeaders),
		})
	}
	retention := map[string]any{"allowPermanentDelete": false, "enabled": sp.DeleteRetention.Enabled}
	if sp.DeleteRetention.Enabled {
		retention["days"] = sp.DeleteRetention.Days
	}
	site := map[string]any{"enabled": sp.StaticWebsite.Enabled}
	for k, v := range map[string]string{"indexDocument": sp.StaticWebsite.IndexDocument,
		"defaultIndexDocumentPath": sp.StaticWebsite.DefaultIndexDocumentPath, "errorDocument404Path": sp.StaticWebsite.ErrorDocument404Path} {
		if v != "" {
			site[k] = v
		}
	}
	props := map[string]any{
		"cors":                           map[string]any{"corsRules": rules},
		"deleteRetentionPolicy":          retention,
		"containerDeleteRetentionPolicy": map[string]any{"enabled": false},
		"isVersioningEnabled":            false,
		"changeFeed":                     map[string]any{"enabled": false},
		"restorePolicy":                  map[string]any{"enabled": false},
		"automaticSnapshotPolicyEnabled": false,
		"staticWebsite":                  site,
	}
	if sp.DefaultServiceVersion != "" {
		props["defaultServiceVersion"] = sp.DefaultServiceVersion
	}
	tier, _, _ := strings.Cut(a.SKU, "_")
	return map[string]any{
		"id":         storageAccountID(p.sub, a.ResourceGroup, a.Name) + "/blobServices/default",
		"name":       "default",
		"type":       "Microsoft.Storage/storageAccounts/blobServices",
		"sku":        map[string]any{"name": a.SKU, "tier": tier},
		"properties": props,
	}, nil
}

// getBlobService answers GET .../blobServices/default
// (blob_services.get_service_properties).
func (h *Handler) getBlobService(w http.ResponseWriter, r *http.Request, p params) error {
	if err := h.blobService(r.Context(), p); err != nil {
		return err
	}
	out, err := h.blobServiceJSON(r, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// listBlobServices answers GET .../blobServices (blob_services.list): the
// one blob service.
func (h *Handler) listBlobServices(w http.ResponseWriter, r *http.Request, p params) error {
	p.policy = "default"
	if err := h.blobService(r.Context(), p); err != nil {
		return err
	}
	out, err := h.blobServiceJSON(r, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"value": []any{out}})
}

// putBlobService answers PUT and PATCH of .../blobServices/default
// (blob_services.set_service_properties, az's update sends back what it
// read with its changes): what the body names changes, the rest stays, as
// the data plane's Set Blob Service Properties does.
func (h *Handler) putBlobService(w http.ResponseWriter, r *http.Request, p params) error {
	ctx := r.Context()
	if err := h.blobService(ctx, p); err != nil {
		return err
	}
	var b blobServiceBody
	if err := readJSON(r, &b); err != nil {
		return err
	}
	if field, feature := b.unsupported(); field != "" {
		return &apiError{Status: http.StatusBadRequest, Code: "FeatureNotSupported",
			Message: fmt.Sprintf("properties.%s: Slipway does not have %s; leave it disabled.", field, feature)}
	}
	var u blob.ServicePropertiesUpdate
	bp := &b.Properties
	if bp.Cors != nil {
		rules := make([]blob.CorsRule, 0, len(bp.Cors.CorsRules))
		for _, c := range bp.Cors.CorsRules {
			rules = append(rules, blob.CorsRule{AllowedOrigins: c.AllowedOrigins, AllowedMethods: c.AllowedMethods,
				AllowedHeaders: c.AllowedHeaders, ExposedHeaders: c.ExposedHeaders, MaxAgeInSeconds: c.MaxAgeInSeconds})
		}
		u.Cors = &rules
	}
	u.DefaultServiceVersion = bp.DefaultServiceVersion
	if d := bp.DeleteRetentionPolicy; d != nil {
		u.DeleteRetention = &blob.RetentionPolicy{Enabled: on(d.Enabled)}
		if on(d.Enabled) {
			if d.Days == nil {
				return &apiError{Status: http.StatusBadRequest, Code: "InvalidRequestPropertyValue",
					Message: "properties.deleteRetentionPolicy.days is required when the policy is enabled: 1 to 365."}
			}
			u.DeleteRetention.Days = *d.Days
		}
	}
	if s := bp.StaticWebsite; s != nil {
		u.StaticWebsite = &blob.StaticWebsite{Enabled: on(s.Enabled)}
		for _, f := range []struct {
			v   *string
			dst *string
		}{{s.IndexDocument, &u.StaticWebsite.IndexDocument}, {s.DefaultIndexDocumentPath, &u.StaticWebsite.DefaultIndexDocumentPath},
			{s.ErrorDocument404Path, &u.StaticWebsite.ErrorDocument404Path}} {
			if f.v != nil {
				*f.dst = *f.v
			}
		}
	}
	err := h.cfg.Containers.SetServiceProperties(ctx, strings.ToLower(p.account), u)
	if errors.Is(err, blob.ErrInvalidServiceProperties) {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidRequestPropertyValue", Message: err.Error()}
	}
	if err != nil {
		return err
	}
	out, err := h.blobServiceJSON(r, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}
