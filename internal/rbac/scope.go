package rbac

import (
	"strings"

	"github.com/slipway-dev/slipway"
)

// maxScopeLen bounds a scope; ARM resource ids are far shorter.
const maxScopeLen = 2048

// authorizationNamespace is the namespace of role assignments and
// definitions, which are no scope.
const authorizationNamespace = "Microsoft.Authorization"

// CleanScope checks that s is a scope an assignment can have and returns it
// in canonical form: a leading "/", no trailing or repeated "/", and the
// fixed words spelled as ARM spells them (subscriptions, resourceGroups,
// providers); names keep their casing. A scope is
//
//	/subscriptions/{s}
//	/subscriptions/{s}/resourceGroups/{rg}
//	/subscriptions/{s}/resourceGroups/{rg}/providers/{namespace}/{type}/{name}[/{type}/{name}...]
//
// Segments "." and ".." and characters outside printable ASCII are
// refused, so two spellings can never name one scope; so is a resource of
// Microsoft.Authorization (a role assignment is not a scope roles apply
// at).
func CleanScope(s string) (string, error) {
	segs, err := scopeSegments(s)
	if err != nil {
		return "", err
	}
	return "/" + strings.Join(segs, "/"), nil
}

func invalidScope(s string) error {
	return slipway.Errorf(slipway.EINVALID, "The scope '%s' is not valid. A scope is /subscriptions/{subscriptionId}, optionally followed by /resourceGroups/{resourceGroupName} and /providers/{namespace}/{type}/{name}.", s)
}

// scopeSegments parses and canonicalizes a scope (see CleanScope).
func scopeSegments(s string) ([]string, error) {
	if len(s) > maxScopeLen || !strings.HasPrefix(s, "/") {
		return nil, invalidScope(s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f || s[i] == '?' || s[i] == '#' || s[i] == '\\' {
			return nil, invalidScope(s)
		}
	}
	var segs []string
	for _, p := range strings.Split(s, "/") {
		if p == "" {
			continue
		}
		if p == "." || p == ".." {
			return nil, invalidScope(s)
		}
		segs = append(segs, p)
	}
	n := len(segs)
	if n < 2 || !strings.EqualFold(segs[0], "subscriptions") {
		return nil, invalidScope(s)
	}
	segs[0] = "subscriptions"
	if n == 2 {
		return segs, nil
	}
	if n < 4 || !strings.EqualFold(segs[2], "resourceGroups") {
		return nil, invalidScope(s)
	}
	segs[2] = "resourceGroups"
	if n == 4 {
		return segs, nil
	}
	// providers/{namespace} then one or more {type}/{name} pairs.
	if n < 8 || n%2 != 0 || !strings.EqualFold(segs[4], "providers") {
		return nil, invalidScope(s)
	}
	segs[4] = "providers"
	if strings.EqualFold(segs[5], authorizationNamespace) {
		// A role assignment (or definition) holds no roles: a role "over"
		// .../roleAssignments/{name} would be one over the id ARM checks
		// when that name is written at its parent, so a role over the
		// parent.
		return nil, invalidScope(s)
	}
	for i := 6; i < n; i += 2 {
		if strings.EqualFold(segs[i], "providers") {
			return nil, invalidScope(s) // extension resources are not scopes Slipway serves
		}
	}
	return segs, nil
}

// ScopeContains reports whether an assignment at outer applies at inner:
// inner is outer or below it. Both are compared segment by segment, case-
// insensitively, so /subscriptions/x/resourceGroups/ab is not below
// /subscriptions/x/resourceGroups/a. inner may be any ARM path (an
// operation's scope); outer must be a clean scope. "/" contains every scope.
func ScopeContains(outer, inner string) bool {
	o := splitSegments(outer)
	in := splitSegments(inner)
	if len(o) > len(in) {
		return false
	}
	for i := range o {
		if !strings.EqualFold(o[i], in[i]) {
			return false
		}
	}
	return true
}

// splitSegments splits a path on "/", dropping empty segments.
func splitSegments(p string) []string {
	var segs []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	return segs
}
