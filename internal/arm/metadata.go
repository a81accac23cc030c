package arm

import (
	"net/http"
	"strings"

	"github.com/slipway-dev/slipway/internal/cleartext"
)

// isMetadataEndpoints reports whether the path is /metadata/endpoints, the
// cloud discovery document: the one route served without credentials.
func isMetadataEndpoints(segs []string) bool {
	return len(segs) == 2 && strings.EqualFold(segs[0], "metadata") && strings.EqualFold(segs[1], "endpoints")
}

// managementURL is the base URL clients reach this endpoint at, with a
// trailing slash as Azure's own (https://management.azure.com/): the
// configured one, or the scheme and Host the request came with. A
// TLS-terminating proxy in front says https in X-Forwarded-Proto; the
// document is computed per request and never cached, so a client that
// lies about either misleads only itself.
func (h *Handler) managementURL(r *http.Request) string {
	if u := h.cfg.ManagementURL; u != "" {
		return strings.TrimSuffix(u, "/") + "/"
	}
	scheme := h.cfg.Scheme
	if cleartext.OverTLS(r) || strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/"
}

// metadataEndpoints answers GET /metadata/endpoints, which `az cloud
// register --endpoint-resource-manager` reads without an Authorization
// header (docs/arm.md §2.1 "Discovery" and "Measured with the real az"). The
// shape follows the api-version as Azure's does: before 2019-05-01 the
// original document (galleryEndpoint, graphEndpoint, portalEndpoint,
// authentication); 2019-05-01 an array of cloud documents; later versions
// (az sends 2022-09-01) one cloud document. The resource manager and the
// token audience are this server's management URL; fields for services
// Slipway does not run are left out (or empty where the old shape has no
// optional fields), so clients do not send users somewhere that is not
// there.
func (h *Handler) metadataEndpoints(w http.ResponseWriter, r *http.Request) error {
	mgmt := h.managementURL(r)
	login := strings.TrimSuffix(h.cfg.AuthorityURL, "/")
	if login == "" {
		// No token service is configured: name this server, so that
		// registration succeeds and a login fails loudly against it.
		login = strings.TrimSuffix(mgmt, "/")
	}
	version := r.URL.Query().Get("api-version")
	if len(version) > 10 {
		version = version[:10] // a date, maybe with -preview
	}
	if version != "" && version < "2019-05-01" {
		return writeJSON(w, http.StatusOK, map[string]any{
			"galleryEndpoint": "",
			"graphEndpoint":   "",
			"portalEndpoint":  "",
			"authentication": map[string]any{
				"loginEndpoint": login + "/",
				"audiences":     []string{mgmt},
			},
		})
	}
	cloud := map[string]any{
		"name":            "Slipway",
		"resourceManager": mgmt,
		"authentication": map[string]any{
			"loginEndpoint":    login,
			"audiences":        []string{mgmt},
			"tenant":           "common",
			"identityProvider": "AAD",
		},
		// Blob endpoints are <account>.blob.<domain>[:port], vaults
		// <vault>.vault.<domain>[:port] (az builds --vault-name's URL from
		// keyVaultDns); az requires the suffixes object to be present
		// (docs/arm.md, "Measured").
		"suffixes": map[string]any{"storage": h.cfg.Domain + h.cfg.HostSuffix, "keyVaultDns": "vault." + h.cfg.Domain + h.cfg.HostSuffix},
		// The audience az asks a token for when an app's SCM basic
		// authentication is off (get_scm_site_headers); a custom cloud has
		// it only from here. Azure's sovereign clouds name their
		// management audience, as this does: Kudu takes management tokens.
		"appServiceResourceId": mgmt,
	}
	if h.cfg.GraphURL != "" {
		// az's `ad` commands and role assignments' principal lookups go
		// to microsoftGraphResourceId (internal/graph).
		cloud["microsoftGraphResourceId"] = h.cfg.GraphURL
	}
	if version == "2019-05-01" {
		return writeJSON(w, http.StatusOK, []any{cloud})
	}
	return writeJSON(w, http.StatusOK, cloud)
}
