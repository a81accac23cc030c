package arm

import (
	"net/http"
	"net/netip"
	"strings"
)

// parseIPv4Range reads a firewall rule's start and end addresses (named
// by their JSON fields for errors): IPv4, start at most end. The error
// is a 400 InvalidParameterValue (badPostgres's shape, which Redis's
// rules answer too).
func parseIPv4Range(startField, start, endField, end string) (netip.Addr, netip.Addr, error) {
	parse := func(what, v string) (netip.Addr, error) {
		a, err := netip.ParseAddr(strings.TrimSpace(v))
		if err != nil || !a.Is4() {
			return netip.Addr{}, badPostgres("InvalidParameterValue", "The %s '%s' is not an IPv4 address.", what, v)
		}
		return a, nil
	}
	s, err := parse(startField, start)
	if err != nil {
		return s, s, err
	}
	e, err := parse(endField, end)
	if err != nil {
		return s, e, err
	}
	if e.Less(s) {
		return s, e, badPostgres("InvalidParameterValue", "The start IP address %s is greater than the end IP address %s.", s, e)
	}
	return s, e, nil
}

// writeOne answers a GET of one resource: v as render makes it, or err.
func writeOne[T any](w http.ResponseWriter, v T, err error, render func(T) map[string]any) error {
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, render(v))
}

// writeValues answers a list: {"value": [...]} of each item as render
// makes it, or err.
func writeValues[T any](w http.ResponseWriter, items []T, err error, render func(T) map[string]any) error {
	if err != nil {
		return err
	}
	out := make([]any, 0, len(items))
	for _, v := range items {
		out = append(out, render(v))
	}
	return writeJSON(w, http.StatusOK, list{Value: out})
}

// unsetOr reports whether an optional string of a request is absent,
// empty or one of want (in any casing): what a body may say of a feature
// Slipway has only one way of.
func unsetOr(v *string, want ...string) bool {
	if v == nil || *v == "" {
		return true
	}
	for _, w := range want {
		if strings.EqualFold(*v, w) {
			return true
		}
	}
	return false
}
