package slipway_test

import (
	"net/netip"
	"testing"

	"github.com/slipway-dev/slipway"
)

// TestAccessRules: rules go by priority, lowest first, equal priorities in
// the order listed; the first whose range holds the address decides; with
// no match the default action applies, and unset it is Allow with no rules
// and Deny with any (the implicit deny all of
// https://learn.microsoft.com/azure/app-service/overview-access-restrictions).
func TestAccessRules(t *testing.T) {
	rule := func(ip, action string, prio int) slipway.IPRestriction {
		return slipway.IPRestriction{IPAddress: ip, Action: action, Priority: prio}
	}
	allow, deny := slipway.AccessAllow, slipway.AccessDeny
	for _, tc := range []struct {
		name  string
		rules []slipway.IPRestriction
		def   string
		addr  string
		want  bool
	}{
		{"no rules", nil, "", "203.0.113.9", true},
		{"no rules, deny by default", nil, deny, "203.0.113.9", false},
		{"no rules, allow by default", nil, allow, "203.0.113.9", true},
		{"implicit deny all", []slipway.IPRestriction{rule("10.0.0.0/8", allow, 100)}, "", "203.0.113.9", false},
		{"allowed range", []slipway.IPRestriction{rule("10.0.0.0/8", allow, 100)}, "", "10.9.8.7", true},
		{"deny rule, allow by default", []slipway.IPRestriction{rule("127.0.0.1/32", deny, 100)}, allow, "127.0.0.1", false},
		{"deny rule, other address, allow by default", []slipway.IPRestriction{rule("127.0.0.1/32", deny, 100)}, allow, "127.0.0.2", true},
		{"deny rule alone denies everyone", []slipway.IPRestriction{rule("127.0.0.1/32", deny, 100)}, "", "127.0.0.2", false},
		{"lower priority first, listed later", []slipway.IPRestriction{rule("10.0.0.0/8", allow, 200), rule("10.1.0.0/16", deny, 100)}, allow, "10.1.2.3", false},
		{"first match decides", []slipway.IPRestriction{rule("10.0.0.0/8", allow, 100), rule("10.1.0.0/16", deny, 200)}, deny, "10.1.2.3", true},
		{"equal priority: listed order", []slipway.IPRestriction{rule("10.0.0.0/8", deny, 100), rule("10.0.0.0/8", allow, 100)}, allow, "10.1.2.3", false},
		{"IPv6 range", []slipway.IPRestriction{rule("2001:db8::/32", allow, 1)}, "", "2001:db8::42", true},
		{"IPv6 outside", []slipway.IPRestriction{rule("2001:db8::/32", allow, 1)}, "", "2001:db9::42", false},
		{"IPv4 rule, IPv4-mapped IPv6 peer", []slipway.IPRestriction{rule("192.0.2.0/24", allow, 1)}, "", "::ffff:192.0.2.7", true},
		{"IPv4 rule does not match IPv6", []slipway.IPRestriction{rule("0.0.0.0/0", allow, 1)}, "", "2001:db8::1", false},
		{"multi-source rule", []slipway.IPRestriction{rule("192.0.2.0/24,198.51.100.7/32", allow, 1)}, "", "198.51.100.7", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := slipway.CompileAccessRules(tc.rules, tc.def)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Allows(netip.MustParseAddr(tc.addr)); got != tc.want {
				t.Errorf("Allows(%s) = %v, want %v", tc.addr, got, tc.want)
			}
		})
	}
}

func TestAccessRulesRemoteAddr(t *testing.T) {
	r, err := slipway.CompileAccessRules([]slipway.IPRestriction{{IPAddress: "127.0.0.1/32", Action: slipway.AccessAllow}, {IPAddress: "::1/128", Action: slipway.AccessAllow}}, "")
	if err != nil {
		t.Fatal(err)
	}
	for remote, want := range map[string]bool{
		"127.0.0.1:5000": true, "[::1]:5000": true, "127.0.0.2:5000": false, "[::ffff:127.0.0.1]:80": true,
		"[fe80::1%eth0]:80": false, "garbage": false, "": false,
	} {
		if got := r.AllowsRemoteAddr(remote); got != want {
			t.Errorf("AllowsRemoteAddr(%q) = %v, want %v", remote, got, want)
		}
	}
	var none *slipway.AccessRules
	if !none.AllowsRemoteAddr("garbage") {
		t.Error("no rules refused an address")
	}
	if slipway.DenyAllRules().AllowsRemoteAddr("127.0.0.1:1") {
		t.Error("DenyAllRules allowed an address")
	}
	if n := testing.AllocsPerRun(100, func() { r.AllowsRemoteAddr("[::1]:5000") }); n != 0 {
		t.Errorf("AllowsRemoteAddr allocates %v times", n)
	}
}

func TestCanonicalIPRanges(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1": "127.0.0.1/32", "10.1.2.3/8": "10.0.0.0/8", "2001:db8::1": "2001:db8::1/128",
		"2001:DB8::/32": "2001:db8::/32", "192.0.2.0/24, 198.51.100.1": "192.0.2.0/24,198.51.100.1/32",
	} {
		got, err := slipway.CanonicalIPRanges(in)
		if err != nil || got != want {
			t.Errorf("CanonicalIPRanges(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "Any", "10.0.0.0/33", "example.com", "10.0.0.0/8,", "fe80::1%eth0", "1,2,3,4,5,6,7,8,9"} {
		if got, err := slipway.CanonicalIPRanges(in); err == nil {
			t.Errorf("CanonicalIPRanges(%q) = %q, want an error", in, got)
		}
	}
}
