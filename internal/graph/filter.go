package graph

import (
	"net/http"
	"regexp"
	"strings"
)

// The $filter forms az sends (role module, _graph_client.py and custom.py)
// and the ones a script is likely to, joined by "and"
// (https://learn.microsoft.com/graph/filter-query-parameter):
//
//	appId eq 'v'   displayName eq 'v'   id eq 'v'   servicePrincipalType eq 'v'
//	startswith(displayName,'v')
//	servicePrincipalNames/any(c:c eq 'v')   identifierUris/any(s:s eq 'v')
//	userPrincipalName eq 'v'   startswith(userPrincipalName,'v')   mail eq 'v'   (users)
//
// String literals use OData's quoting (” is a quote). Comparisons ignore
// case, as Entra ID's do for these properties. Anything else is Graph's
// Request_UnsupportedQuery, never a silently wider answer.
var (
	odataString = `'((?:[^']|'')*)'`
	eqRE        = regexp.MustCompile(`^(\w+)\s+eq\s+` + odataString + `$`)
	startsRE    = regexp.MustCompile(`^startswith\(\s*(\w+)\s*,\s*` + odataString + `\s*\)$`)
	anyRE       = regexp.MustCompile(`^(\w+)/any\(\s*(\w+)\s*:\s*(\w+)\s+eq\s+` + odataString + `\s*\)$`)
)

// maxClauses bounds the clauses of one $filter.
const maxClauses = 8

// object is what a filter sees of a directory object.
type object struct {
	id, appID, displayName, spType string
	upn, mail, mailNickname        string   // users'
	names                          []string // servicePrincipalNames or identifierUris
}

// clause is one parsed comparison.
type clause struct {
	prop  string // lower case
	op    string // "eq", "startswith", "any"
	value string
}

// filter is a parsed $filter: every clause must hold.
type filter []clause

// props lists the properties each collection filters on, lower case, with
// the operators allowed.
var props = map[string]map[string]string{
	"applications":      {"appid": "eq", "displayname": "eq startswith", "id": "eq", "identifieruris": "any"},
	"servicePrincipals": {"appid": "eq", "displayname": "eq startswith", "id": "eq", "serviceprincipalnames": "any", "serviceprincipaltype": "eq"},
	"users":             {"displayname": "eq startswith", "id": "eq", "userprincipalname": "eq startswith", "mail": "eq startswith", "mailnickname": "eq startswith"},
}

// parseFilter parses $filter for the collection.
func parseFilter(raw, collection string) (filter, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, nil
	}
	if len(raw) > maxFilter {
		return nil, gerr(http.StatusBadRequest, "Request_UnsupportedQuery", "The filter is longer than %d characters.", maxFilter)
	}
	parts, ok := splitAnd(raw)
	if !ok || len(parts) > maxClauses {
		return nil, gerr(http.StatusBadRequest, "Request_UnsupportedQuery", "Invalid filter clause: %s", raw)
	}
	var f filter
	for _, p := range parts {
		c, err := parseClause(p, collection)
		if err != nil {
			return nil, err
		}
		f = append(f, c)
	}
	return f, nil
}

func parseClause(s, collection string) (clause, error) {
	var c clause
	if m := eqRE.FindStringSubmatch(s); m != nil {
		c = clause{prop: strings.ToLower(m[1]), op: "eq", value: unquote(m[2])}
	} else if m := startsRE.FindStringSubmatch(s); m != nil {
		c = clause{prop: strings.ToLower(m[1]), op: "startswith", value: unquote(m[2])}
	} else if m := anyRE.FindStringSubmatch(s); m != nil && m[2] == m[3] {
		c = clause{prop: strings.ToLower(m[1]), op: "any", value: unquote(m[4])}
	} else {
		return clause{}, gerr(http.StatusBadRequest, "Request_UnsupportedQuery", "Invalid filter clause: %s", s)
	}
	ops, ok := props[collection][c.prop]
	if !ok || !strings.Contains(ops, c.op) {
		return clause{}, gerr(http.StatusBadRequest, "Request_UnsupportedQuery",
			"Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", c.prop, strings.TrimSuffix(collection, "s"))
	}
	return c, nil
}

// splitAnd splits at " and " outside string literals; false when a
// literal is not closed.
func splitAnd(s string) ([]string, bool) {
	var parts []string
	inStr := false
	start := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\'':
			inStr = !inStr // '' toggles twice: still inside
		case !inStr && i+5 <= len(s) && strings.EqualFold(s[i:i+5], " and "):
			parts = append(parts, strings.TrimSpace(s[start:i]))
			start = i + 5
			i += 4
		}
	}
	if inStr {
		return nil, false
	}
	return append(parts, strings.TrimSpace(s[start:])), true
}

func unquote(s string) string { return strings.ReplaceAll(s, "''", "'") }

// matches reports whether o passes every clause.
func (f filter) matches(o object) bool {
	for _, c := range f {
		if !c.matches(o) {
			return false
		}
	}
	return true
}

func (c clause) matches(o object) bool {
	var v string
	switch c.prop {
	case "appid":
		v = o.appID
	case "displayname":
		v = o.displayName
	case "id":
		v = o.id
	case "serviceprincipaltype":
		v = o.spType
	case "userprincipalname":
		v = o.upn
	case "mail":
		v = o.mail
	case "mailnickname":
		v = o.mailNickname
	case "serviceprincipalnames", "identifieruris":
		for _, n := range o.names {
			if strings.EqualFold(n, c.value) {
				return true
			}
		}
		return false
	}
	if c.op == "startswith" {
		return len(v) >= len(c.value) && strings.EqualFold(v[:len(c.value)], c.value)
	}
	return strings.EqualFold(v, c.value)
}
