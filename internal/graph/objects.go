package graph

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/internal/store"
)

// Directory objects as Graph v1.0 renders them
// (https://learn.microsoft.com/graph/api/resources/application,
// .../serviceprincipal, .../passwordcredential), with the properties that
// apply to Slipway's directory; collections Slipway does not keep are
// empty.

const timeFormat = "2006-01-02T15:04:05Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// passwordJSON renders a password credential; secretText is set only in
// addPassword's answer.
func passwordJSON(ps store.PrincipalSecret, secretText string) map[string]any {
	var text any
	if secretText != "" {
		text = secretText
	}
	var name any
	if ps.DisplayName != "" {
		name = ps.DisplayName
	}
	return map[string]any{
		"customKeyIdentifier": nil,
		"displayName":         name,
		"endDateTime":         formatTime(ps.End),
		"hint":                ps.Hint,
		"keyId":               ps.KeyID,
		"secretText":          text,
		"startDateTime":       formatTime(ps.Start),
	}
}

func passwordsJSON(list []store.PrincipalSecret) []any {
	out := []any{}
	for _, ps := range list {
		out = append(out, passwordJSON(ps, ""))
	}
	return out
}

// appObject is what a filter sees of an application.
func appObject(a store.Application) object {
	return object{id: a.ObjectID, appID: a.AppID, displayName: a.DisplayName, names: a.IdentifierURIs}
}

func (h *Handler) appJSON(ctx context.Context, a store.Application) (map[string]any, error) {
	secrets, err := h.cfg.Store.ApplicationSecrets(ctx, a.ObjectID)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"id":                     a.ObjectID,
		"appId":                  a.AppID,
		"displayName":            a.DisplayName,
		"createdDateTime":        formatTime(a.Created),
		"deletedDateTime":        nil,
		"description":            nil,
		"identifierUris":         list(a.IdentifierURIs),
		"keyCredentials":         []any{},
		"passwordCredentials":    passwordsJSON(secrets),
		"signInAudience":         "AzureADMyOrg",
		"tags":                   []any{},
		"appRoles":               []any{},
		"requiredResourceAccess": []any{},
		"api":                    map[string]any{"requestedAccessTokenVersion": nil, "oauth2PermissionScopes": []any{}},
		"web": map[string]any{"homePageUrl": nil, "redirectUris": list(a.WebRedirectURIs), "implicitGrantSettings": map[string]any{
			"enableAccessTokenIssuance": a.EnableAccessTokenIssuance, "enableIdTokenIssuance": a.EnableIDTokenIssuance}},
		"publicClient": map[string]any{"redirectUris": list(a.PublicClientRedirectURIs)},
	}, nil
}

// spType is a principal's servicePrincipalType.
func spType(p store.Principal) string {
	if p.Kind == store.ServicePrincipal {
		return "Application"
	}
	return "ManagedIdentity"
}

func spObject(p store.Principal) object {
	return object{id: p.ObjectID, appID: p.AppID, displayName: p.DisplayName, spType: spType(p), names: []string{p.AppID}}
}

func (h *Handler) spJSON(ctx context.Context, p store.Principal) (map[string]any, error) {
	m := map[string]any{
		"id":                         p.ObjectID,
		"appId":                      p.AppID,
		"displayName":                p.DisplayName,
		"accountEnabled":             true,
		"appDisplayName":             nil,
		"appOwnerOrganizationId":     nil,
		"alternativeNames":           []any{},
		"createdDateTime":            formatTime(p.Created),
		"deletedDateTime":            nil,
		"servicePrincipalNames":      []any{p.AppID},
		"servicePrincipalType":       spType(p),
		"signInAudience":             nil,
		"keyCredentials":             []any{},
		"passwordCredentials":        []any{},
		"tags":                       []any{},
		"appRoles":                   []any{},
		"oauth2PermissionScopes":     []any{},
		"replyUrls":                  []any{},
		"notificationEmailAddresses": []any{},
	}
	switch p.Kind {
	case store.ServicePrincipal:
		m["appOwnerOrganizationId"] = h.cfg.TenantID
		m["signInAudience"] = "AzureADMyOrg"
		m["appDisplayName"] = p.DisplayName
		if a, err := h.cfg.Store.ApplicationByAppID(ctx, p.AppID); err == nil {
			m["appDisplayName"] = a.DisplayName
		}
		secrets, err := h.cfg.Store.PrincipalSecrets(ctx, p.ObjectID)
		if err != nil {
			return nil, err
		}
		m["passwordCredentials"] = passwordsJSON(secrets)
	case store.SystemAssignedIdentity:
		m["alternativeNames"] = []any{"isExplicit=False", p.ResourceID}
	case store.UserAssignedIdentity:
		m["alternativeNames"] = []any{"isExplicit=True", p.ResourceID}
	}
	return m, nil
}

// context is the @odata.context of an answer.
func (h *Handler) context(fragment string) string {
	return h.cfg.BaseURL + "/v1.0/$metadata#" + fragment
}

// page picks the page of n items a list request asks for ($top, default
// 100, at most 999; $skiptoken, the offset this handler put in the last
// nextLink) and the nextLink to the page after it ("" on the last).
func (h *Handler) page(r *http.Request, n int) (start, end int, next string, err error) {
	q := r.URL.Query()
	top := defaultPage
	if v := q.Get("$top"); v != "" {
		top, err = strconv.Atoi(v)
		if err != nil || top < 1 || top > maxPage {
			return 0, 0, "", errBadRequest("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", v, maxPage)
		}
	}
	if v := q.Get("$skiptoken"); v != "" {
		start, err = strconv.Atoi(v)
		if err != nil || start < 0 {
			return 0, 0, "", errBadRequest("Invalid $skiptoken '%s'.", v)
		}
	}
	start = min(start, n)
	end = min(start+top, n)
	if end < n {
		nq := url.Values{}
		for _, k := range []string{"$filter", "$top"} {
			if v := q.Get(k); v != "" {
				nq.Set(k, v)
			}
		}
		nq.Set("$skiptoken", strconv.Itoa(end))
		next = h.cfg.BaseURL + r.URL.EscapedPath() + "?" + strings.ReplaceAll(nq.Encode(), "+", "%20")
	}
	return start, end, next, nil
}

// writeList answers a list: the page's values, and the nextLink.
func (h *Handler) writeList(w http.ResponseWriter, fragment string, values []any, next string) error {
	m := map[string]any{"@odata.context": h.context(fragment), "value": values}
	if next != "" {
		m["@odata.nextLink"] = next
	}
	return writeJSON(w, http.StatusOK, m)
}

// list renders a list of strings as a JSON array, never null.
func list(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
