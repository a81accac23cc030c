package arm

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/slipway-dev/slipway"
)

// region is a location Slipway offers. Slipway is one machine, so the
// region only labels resources; these are a few of Azure's, to keep names
// familiar and the CLI's location handling working.
type region struct {
	Name, DisplayName, RegionalDisplayName string
}

// regions are listed with the default first: `az webapp up` without -l
// takes the first geoRegion (docs/arm.md §1.14 step 3).
var regions = []region{
	{"westeurope", "West Europe", "(Europe) West Europe"},
	{"northeurope", "North Europe", "(Europe) North Europe"},
	{"uksouth", "UK South", "(Europe) UK South"},
	{"eastus", "East US", "(US) East US"},
	{"eastus2", "East US 2", "(US) East US 2"},
	{"westus2", "West US 2", "(US) West US 2"},
	{"centralus", "Central US", "(US) Central US"},
}

// normalizeLocation returns the short form of a location given as a short
// or display name ("West Europe" → "westeurope"), as the CLI does.
func normalizeLocation(loc string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(loc), " ", ""))
}

// displayLocation returns the display form Microsoft.Web uses ("West
// Europe") for a short name; unknown names are returned as they are.
func displayLocation(short string) string {
	for _, r := range regions {
		if r.Name == short {
			return r.DisplayName
		}
	}
	return short
}

func (h *Handler) subscriptionJSON(sub, tenant string) map[string]any {
	return map[string]any{
		"id":             "/subscriptions/" + sub,
		"subscriptionId": sub,
		"tenantId":       tenant,
		"displayName":    "Slipway",
		"state":          "Enabled",
		"subscriptionPolicies": map[string]any{
			"locationPlacementId": "Internal_2014-09-01",
			"quotaId":             "Internal_2014-09-01",
			"spendingLimit":       "Off",
		},
		"authorizationSource": "RoleBased",
		"managedByTenants":    []any{},
	}
}

func (h *Handler) listSubscriptions(w http.ResponseWriter, r *http.Request, _ params) error {
	sub, tenant, err := h.cfg.Store.Identity(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list{Value: []any{h.subscriptionJSON(sub, tenant)}})
}

func (h *Handler) getSubscription(w http.ResponseWriter, r *http.Request, _ params) error {
	sub, tenant, err := h.cfg.Store.Identity(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.subscriptionJSON(sub, tenant))
}

func (h *Handler) listTenants(w http.ResponseWriter, r *http.Request, _ params) error {
	_, tenant, err := h.cfg.Store.Identity(r.Context())
	if err != nil {
		return err
	}
	domain := "slipway." + h.cfg.Domain
	return writeJSON(w, http.StatusOK, list{Value: []any{map[string]any{
		"id":             "/tenants/" + tenant,
		"tenantId":       tenant,
		"tenantCategory": "Home",
		"displayName":    "Slipway",
		"defaultDomain":  domain,
		"domains":        []string{domain},
		"countryCode":    "US",
		"tenantType":     "AAD",
	}}})
}

func (h *Handler) listLocations(w http.ResponseWriter, r *http.Request, p params) error {
	vs := make([]any, 0, len(regions))
	for _, rg := range regions {
		vs = append(vs, map[string]any{
			"id":                  "/subscriptions/" + p.sub + "/locations/" + rg.Name,
			"name":                rg.Name,
			"displayName":         rg.DisplayName,
			"regionalDisplayName": rg.RegionalDisplayName,
			"type":                "Region",
		})
	}
	return writeJSON(w, http.StatusOK, list{Value: vs})
}

func (h *Handler) geoRegions(w http.ResponseWriter, r *http.Request, p params) error {
	vs := make([]any, 0, len(regions))
	for _, rg := range regions {
		vs = append(vs, map[string]any{
			"id":   "/subscriptions/" + p.sub + "/providers/Microsoft.Web/geoRegions/" + rg.DisplayName,
			"name": rg.DisplayName,
			"type": "Microsoft.Web/geoRegions",
			"properties": map[string]any{
				"name":        rg.DisplayName,
				"displayName": rg.DisplayName,
				"orgDomain":   "PUBLIC",
			},
		})
	}
	return writeJSON(w, http.StatusOK, list{Value: vs})
}

// pythonEndOfLife holds CPython's end-of-life dates; the CLI hides stacks
// past theirs (docs/arm.md §1.15 "Web app stacks").
var pythonEndOfLife = map[string]string{
	"3.8": "2024-10-31T00:00:00Z", "3.9": "2025-10-31T00:00:00Z", "3.10": "2026-10-31T00:00:00Z",
	"3.11": "2027-10-31T00:00:00Z", "3.12": "2028-10-31T00:00:00Z", "3.13": "2029-10-31T00:00:00Z",
	"3.14": "2030-10-31T00:00:00Z",
}

// webAppStacks lists a Python stack with one minor version per installed
// Python (docs/arm.md §1.5 step 3, §1.15), newest first as Azure lists them.
func (h *Handler) webAppStacks(w http.ResponseWriter, r *http.Request, _ params) error {
	versions := append([]string(nil), h.cfg.PythonVersions...)
	sort.Slice(versions, func(i, j int) bool { return versionLess(versions[j], versions[i]) })
	minors := make([]any, 0, len(versions))
	for _, v := range versions {
		settings := map[string]any{
			"runtimeVersion":           "PYTHON|" + v,
			"remoteDebuggingSupported": false,
			"appInsightsSettings":      map[string]any{"isSupported": true},
			"gitHubActionSettings":     map[string]any{"isSupported": true, "supportedVersion": v},
			"isDeprecated":             false,
			"isHidden":                 false,
		}
		if eol, ok := pythonEndOfLife[v]; ok {
			settings["endOfLifeDate"] = eol
		}
		minors = append(minors, map[string]any{
			"displayText":   "Python " + v,
			"value":         v,
			"stackSettings": map[string]any{"linuxRuntimeSettings": settings},
		})
	}
	stack := map[string]any{
		"id":   "/providers/Microsoft.Web/webAppStacks/python",
		"name": "python",
		"type": "Microsoft.Web/webAppStacks",
		"properties": map[string]any{
			"displayText": "Python",
			"value":       "python",
			"preferredOs": "Linux",
			"majorVersions": []any{map[string]any{
				"displayText":   "Python 3",
				"value":         "3",
				"minorVersions": minors,
			}},
		},
	}
	return writeJSON(w, http.StatusOK, list{Value: []any{stack}})
}

// versionLess orders "3.9" before "3.10" (numerically, part by part).
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, _ := strconv.Atoi(as[i])
		y, _ := strconv.Atoi(bs[i])
		if x != y {
			return x < y
		}
	}
	return len(as) < len(bs)
}

// checkNameAvailability answers whether a site name is free. Names are
// global, so a name used in any resource group is AlreadyExists (docs/arm.md
// §1.5 step 2).
func (h *Handler) checkNameAvailability(w http.ResponseWriter, r *http.Request, _ params) error {
	var body struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if t := strings.ToLower(body.Type); t != "" && t != "site" && t != "microsoft.web/sites" && t != "slot" && t != "microsoft.web/sites/slots" {
		return &apiError{Status: http.StatusBadRequest, Code: "BadRequest",
			Message: "Slipway checks names of type 'Site' only."}
	}
	type result struct {
		NameAvailable bool   `json:"nameAvailable"`
		Reason        string `json:"reason,omitempty"`
		Message       string `json:"message,omitempty"`
	}
	if err := slipway.ValidateSiteName(body.Name); err != nil {
		return writeJSON(w, http.StatusOK, result{Reason: "Invalid", Message: slipway.ErrorMessage(err)})
	}
	_, err := h.cfg.Store.FindSite(r.Context(), body.Name)
	switch slipway.ErrorCode(err) {
	case "":
		return writeJSON(w, http.StatusOK, result{Reason: "AlreadyExists",
			Message: "Hostname '" + body.Name + "' already exists. Please select a different name."})
	case slipway.ENOTFOUND:
		return writeJSON(w, http.StatusOK, result{NameAvailable: true})
	}
	return err
}

// list is ARM's collection shape; nextLink is absent on the last page.
type list struct {
	Value []any `json:"value"`
}

// pageSize reads the page-size query parameter name (ARM's $top or
// $maxpagesize) of a list served in pages: at most limit, and limit when
// absent.
func pageSize(r *http.Request, name string, limit int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return limit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, &apiError{Status: http.StatusBadRequest, Code: "InvalidQueryParameterValue",
			Message: fmt.Sprintf("The %s '%s' is not a positive integer.", name, v)}
	}
	return min(n, limit), nil
}

// nextPageLink is the nextLink of a page of size items that ended with
// the one named last: the same list from after last ($skipToken), pages
// of the same size.
func (h *Handler) nextPageLink(r *http.Request, sizeParam string, size int, last string) string {
	next := url.Values{"api-version": {r.URL.Query().Get("api-version")}, sizeParam: {strconv.Itoa(size)}, "$skipToken": {last}}
	return h.managementURL(r) + strings.TrimPrefix(r.URL.Path, "/") + "?" + next.Encode()
}
