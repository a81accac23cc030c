package arm

import (
	"context"
	"net/http"
	"strings"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/kvref"
)

// References resolves a site's Key Vault references; *kvref.Resolver
// implements it. The config/configreferences routes report what it finds.
type References interface {
	Resolve(ctx context.Context, site slipway.Site, settings map[string]string, conns map[string]slipway.ConnectionString) kvref.Resolution
}

// configReferences answers GET config/configreferences/appsettings and
// .../connectionstrings: the status of each Key Vault reference, as
// App Service's ApiKVReferenceCollection (docs/appservice.md §7;
// https://learn.microsoft.com/rest/api/appservice/web-apps/get-app-settings-key-vault-references).
// A single one is GET .../appsettings/{name} (404 for a setting that is not a reference).
func (h *Handler) configReferences(loc kvref.Location) func(http.ResponseWriter, *http.Request, params) error {
	return func(w http.ResponseWriter, r *http.Request, p params) error {
		ctx := r.Context()
		s, err := h.cfg.Store.Site(ctx, p.rg, p.site)
		if err != nil {
			return err
		}
		settings, conns, err := h.siteSettings(ctx, s)
		if err != nil {
			return err
		}
		var results []kvref.Result
		if h.cfg.References != nil {
			results = h.cfg.References.Resolve(ctx, s, settings, conns).Results
		}
		kind := "appsettings"
		if loc == kvref.ConnectionString {
			kind = "connectionstrings"
		}
		base := s.ResourceID(p.sub) + "/config/configreferences/" + kind
		value := []map[string]any{}
		for _, x := range results {
			if x.Location != loc {
				continue
			}
			res := h.kvReference(base, x)
			if p.id != "" {
				if strings.EqualFold(x.Name, p.id) {
					return writeJSON(w, http.StatusOK, res)
				}
				continue
			}
			value = append(value, res)
		}
		if p.id != "" {
			return slipway.Errorf(slipway.ENOTFOUND, "The %s '%s' of app '%s' is not a Key Vault reference.", strings.TrimSuffix(kind, "s"), p.id, s.Name)
		}
		return writeJSON(w, http.StatusOK, map[string]any{"value": value, "nextLink": nil})
	}
}

// kvReference is one ApiKVReferenceResource. identityType is the
// ManagedServiceIdentity the reference resolves as; values never appear.
func (h *Handler) kvReference(base string, x kvref.Result) map[string]any {
	props := map[string]any{
		"reference": x.Reference,
		"status":    string(x.Status),
		"details":   x.Details,
		"source":    "KeyVault",
	}
	if x.Location == kvref.AppSetting {
		props["location"] = "ApplicationSetting"
	}
	if x.Ref.VaultName != "" {
		props["vaultName"], props["secretName"] = x.Ref.VaultName, x.Ref.SecretName
		if x.Ref.SecretVersion != "" {
			props["secretVersion"] = x.Ref.SecretVersion
		}
	}
	if x.ActiveVersion != "" {
		props["activeVersion"] = x.ActiveVersion
	}
	if id := x.Identity; id.Type != "" {
		msi := map[string]any{"type": id.Type}
		if id.ResourceID != "" {
			msi["userAssignedIdentities"] = map[string]any{id.ResourceID: map[string]any{"principalId": id.ObjectID, "clientId": id.ClientID}}
		} else {
			msi["principalId"], msi["tenantId"] = id.ObjectID, id.TenantID
		}
		props["identityType"] = msi
	}
	return map[string]any{
		"id":         base + "/" + x.Name,
		"name":       x.Name,
		"type":       "Microsoft.Web/sites/config/configreferences",
		"properties": props,
	}
}

// refreshConfigReferences answers POST config/configreferences/appsettings/refresh:
// the references are resolved again at once, by a restart
// (https://learn.microsoft.com/azure/app-service/app-service-key-vault-references#rotation).
func (h *Handler) refreshConfigReferences(w http.ResponseWriter, r *http.Request, p params) error {
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	if err := h.restartWarning(w, h.cfg.Controller.SiteConfigChanged(r.Context(), s.ResourceGroup, s.Name)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// siteSettings reads a site's app settings and connection strings.
func (h *Handler) siteSettings(ctx context.Context, s slipway.Site) (map[string]string, map[string]slipway.ConnectionString, error) {
	settings, err := h.cfg.Store.Settings(ctx, s.ResourceGroup, s.Name)
	if err != nil {
		return nil, nil, err
	}
	conns, err := h.cfg.Store.ConnectionStrings(ctx, s.ResourceGroup, s.Name)
	if err != nil {
		return nil, nil, err
	}
	return settings, conns, nil
}
