package rbac

import (
	"net/http"
	"strings"
)

// TenantScope is the scope of operations above any subscription (listing
// subscriptions and tenants, provider metadata such as webAppStacks).
const TenantScope = "/"

// ActionFor maps an ARM request to the operation it performs and the scope
// it performs it over, as Azure Resource Manager names them (Microsoft
// Learn, "Azure resource provider operations",
// https://learn.microsoft.com/azure/role-based-access-control/resource-provider-operations):
//
//   - GET and HEAD read, PUT and PATCH write, DELETE deletes:
//     GET .../providers/Microsoft.Web/sites/app → Microsoft.Web/sites/read
//     over the site's id; nested types add up, e.g. .../sites/app/config/web
//     → Microsoft.Web/sites/config/read;
//   - a POST to a verb under a resource is that verb's action over the
//     resource: POST .../sites/app/restart → Microsoft.Web/sites/restart/action
//     over .../sites/app;
//   - listing a type (a path ending in a type, not a name) reads the type
//     over the parent: GET .../resourceGroups/rg/providers/Microsoft.Web/sites
//     → Microsoft.Web/sites/read over .../resourceGroups/rg;
//   - Microsoft.Resources: subscriptions, resource groups (path word
//     resourcegroups in any casing) → Microsoft.Resources/subscriptions/read,
//     Microsoft.Resources/subscriptions/resourceGroups/read|write|delete; the
//     subscription's locations and resources lists →
//     Microsoft.Resources/subscriptions/locations/read,
//     Microsoft.Resources/subscriptions/resources/read,
//     Microsoft.Resources/subscriptions/resourceGroups/resources/read;
//   - resource providers: GET /subscriptions/{s}/providers[/{namespace}] →
//     Microsoft.Resources/subscriptions/providers/read over the
//     subscription; POST .../providers/Microsoft.Web/register →
//     Microsoft.Web/register/action over the subscription;
//   - paths with no subscription (/subscriptions, /tenants,
//     /providers/...) are over TenantScope;
//   - an extension resource such as
//     {scope}/providers/Microsoft.Authorization/roleAssignments/{name} is
//     named by its own namespace: Microsoft.Authorization/roleAssignments/write
//     over the assignment's id.
//
// Path segments are split on "/" with empty ones dropped, exactly as the
// ARM router splits them, so the scope checked is the resource routed to.
// Type words keep the request's casing (matching is case-insensitive); the
// scope is the request path, cleaned, as Azure quotes it in
// AuthorizationFailed.
func ActionFor(method, path string) (action, scope string) {
	segs := splitSegments(path)
	verb := "write"
	switch method {
	case http.MethodGet, http.MethodHead:
		verb = "read"
	case http.MethodPut, http.MethodPatch:
		verb = "write"
	case http.MethodDelete:
		verb = "delete"
	case http.MethodPost:
		verb = "action"
	}
	join := func(s []string) string {
		if len(s) == 0 {
			return TenantScope
		}
		return "/" + strings.Join(s, "/")
	}
	eq := strings.EqualFold

	// Find where the provider part starts: after subscriptions/{s} and
	// resourceGroups/{rg}, or at the start for tenant-level paths.
	i := 0
	var sub, rg bool
	if len(segs) >= 1 && eq(segs[0], "subscriptions") {
		if len(segs) == 1 {
			return "Microsoft.Resources/subscriptions/" + verbSuffix(verb), TenantScope
		}
		sub, i = true, 2
		if len(segs) >= 3 && eq(segs[2], "resourceGroups") {
			if len(segs) == 3 {
				return "Microsoft.Resources/subscriptions/resourceGroups/" + verbSuffix(verb), join(segs[:2])
			}
			rg, i = true, 4
		}
	}
	rest := segs[i:]
	switch {
	case len(rest) == 0 && rg:
		return "Microsoft.Resources/subscriptions/resourceGroups/" + verbSuffix(verb), join(segs)
	case len(rest) == 0 && sub:
		return "Microsoft.Resources/subscriptions/" + verbSuffix(verb), join(segs)
	case len(rest) == 0:
		return "Microsoft.Resources/" + verbSuffix(verb), TenantScope
	case !eq(rest[0], "providers") || len(rest) == 1:
		// A Microsoft.Resources child of the subscription or group
		// (locations, resources, tenants at the top).
		prefix := "Microsoft.Resources/"
		switch {
		case rg:
			prefix += "subscriptions/resourceGroups/"
		case sub:
			prefix += "subscriptions/"
		}
		return resourceAction(prefix, rest, verb, segs[:i], nil, join)
	}
	// providers/{namespace}/{type}/{name}/...; a "providers" word where a
	// type is expected starts an extension resource's namespace.
	base := i
	for {
		if len(segs) < base+2 {
			// An extension "providers" word with nothing after it.
			return resourceAction("Microsoft.Resources/", segs[base:], verb, segs[:base], nil, join)
		}
		ns := segs[base+1]
		rest = segs[base+2:]
		ext := -1
		for k := 0; k+2 < len(rest); k += 2 {
			if eq(rest[k], "providers") && k > 0 {
				ext = k
				break
			}
		}
		if ext < 0 && len(rest) == 0 && base == 2 && sub && !rg {
			// The namespace itself: the subscription's resource provider
			// (GET /subscriptions/{s}/providers/Microsoft.Web).
			return "Microsoft.Resources/subscriptions/providers/" + verbSuffix(verb), join(segs[:2])
		}
		if ext < 0 {
			return resourceAction(ns+"/", rest, verb, segs[:base], segs[base:base+2], join)
		}
		base += 2 + ext
	}
}

// resourceAction names the operation on rest (type/name pairs under a
// namespace prefix such as "Microsoft.Web/"). parent is the path before the
// namespace's "providers/{namespace}" words (nsWords; none for
// Microsoft.Resources children), the scope of a list or of a verb on a
// top-level type.
func resourceAction(prefix string, rest []string, verb string, parent, nsWords []string, join func([]string) string) (string, string) {
	var types []string
	for k := 0; k < len(rest); k += 2 {
		types = append(types, rest[k])
	}
	full := append(append(append([]string{}, parent...), nsWords...), rest...)
	if len(rest)%2 == 0 {
		// Ends with a name: the resource itself. A POST to it (no verb) is
		// taken as a write.
		return prefix + strings.Join(types, "/") + "/" + verbSuffix(verb), join(full)
	}
	// Ends with a type word: a list (GET) or a verb (POST) on the parent.
	scope := full[:len(full)-1]
	if len(rest) == 1 {
		scope = parent
	}
	if verb == "action" {
		t := types[:len(types)-1]
		return prefix + strings.Join(append(t, rest[len(rest)-1]), "/") + "/action", join(scope)
	}
	return prefix + strings.Join(types, "/") + "/" + verbSuffix(verb), join(scope)
}

// verbSuffix is the last word of an operation for a method verb: a POST to a
// Microsoft.Resources object itself is treated as a write.
func verbSuffix(verb string) string {
	if verb == "action" {
		return "write"
	}
	return verb
}
