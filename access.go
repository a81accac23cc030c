package slipway

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
)

// Access restrictions: App Service's siteConfig ipSecurityRestrictions and
// scmIpSecurityRestrictions, IP-based rules the front door applies before a
// request reaches the app or its Kudu
// (https://learn.microsoft.com/azure/app-service/overview-access-restrictions).
// Rules are evaluated by priority, lowest first (equal priorities in the
// order listed); the first whose address range holds the client's address
// decides. When none matches, the default action applies; unset, it is
// Allow with no rules and Deny with any (the "implicit deny all").

// The actions of a rule and of the unmatched rule (Azure's casing).
const (
	AccessAllow = "Allow"
	AccessDeny  = "Deny"
)

// MaxAccessRules is App Service's limit on rules per list, and
// MaxRuleRanges on the address ranges of one multi-source rule.
const (
	MaxAccessRules = 512
	MaxRuleRanges  = 8
)

// IPRestriction is one access restriction rule: an IP-based rule with the
// tag "Default". IPAddress is canonical (CanonicalIPRanges): one CIDR range
// or up to eight separated by commas, host bits cleared.
type IPRestriction struct {
	IPAddress   string
	Action      string // AccessAllow or AccessDeny
	Priority    int
	Name        string
	Description string
}

// AccessRestrictions are a site's rules for its app's names (Main) and its
// Kudu's (SCM). SCMUseMain applies Main's rules and default to Kudu too.
// The default actions are "" (unset), AccessAllow or AccessDeny.
type AccessRestrictions struct {
	Main, SCM               []IPRestriction
	SCMUseMain              bool
	MainDefault, SCMDefault string
}

// Equal reports whether a and b are the same restrictions.
func (a AccessRestrictions) Equal(b AccessRestrictions) bool {
	return slices.Equal(a.Main, b.Main) && slices.Equal(a.SCM, b.SCM) && a.SCMUseMain == b.SCMUseMain &&
		a.MainDefault == b.MainDefault && a.SCMDefault == b.SCMDefault
}

// Validate reports whether the restrictions can be stored and enforced.
func (a AccessRestrictions) Validate() error {
	for _, l := range []struct {
		name  string
		rules []IPRestriction
	}{{"ipSecurityRestrictions", a.Main}, {"scmIpSecurityRestrictions", a.SCM}} {
		if len(l.rules) > MaxAccessRules {
			return Errorf(EINVALID, "%s has %d rules; App Service allows at most %d.", l.name, len(l.rules), MaxAccessRules)
		}
		for _, r := range l.rules {
			if _, err := CanonicalIPRanges(r.IPAddress); err != nil {
				return err
			}
			if r.Action != AccessAllow && r.Action != AccessDeny {
				return Errorf(EINVALID, "The action '%s' of the access restriction rule for '%s' is not valid: use Allow or Deny.", r.Action, r.IPAddress)
			}
		}
	}
	for _, d := range []string{a.MainDefault, a.SCMDefault} {
		if d != "" && d != AccessAllow && d != AccessDeny {
			return Errorf(EINVALID, "The default action '%s' is not valid: use Allow or Deny.", d)
		}
	}
	return nil
}

// CanonicalAccessAction returns Allow or Deny for a case-insensitive
// action; "" is Allow, as App Service takes a rule without one.
func CanonicalAccessAction(v string) (string, error) {
	switch {
	case v == "" || strings.EqualFold(v, AccessAllow):
		return AccessAllow, nil
	case strings.EqualFold(v, AccessDeny):
		return AccessDeny, nil
	}
	return "", Errorf(EINVALID, "The action '%s' is not valid for an access restriction: use Allow or Deny.", v)
}

// CanonicalIPRanges checks a rule's ipAddress — an IPv4 or IPv6 CIDR range,
// or a bare address (taken as /32 or /128), or up to eight of them separated
// by commas — and returns it as az writes it: each range with its prefix
// length and host bits cleared ("10.1.2.3" → "10.1.2.3/32", "10.1.2.3/8" →
// "10.0.0.0/8").
func CanonicalIPRanges(v string) (string, error) {
	ps, err := parseIPRanges(v)
	if err != nil {
		return "", err
	}
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
	}
	return strings.Join(parts, ","), nil
}

func parseIPRanges(v string) ([]netip.Prefix, error) {
	parts := strings.Split(v, ",")
	if len(parts) > MaxRuleRanges {
		return nil, Errorf(EINVALID, "The access restriction '%s' has %d address ranges; a rule may have at most %d.", v, len(parts), MaxRuleRanges)
	}
	out := make([]netip.Prefix, 0, len(parts))
	for _, s := range parts {
		s = strings.TrimSpace(s)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil || a.Zone() != "" {
				return nil, Errorf(EINVALID, "IpSecurityRestriction.IpAddress '%s' is invalid. It must be an IPv4 or IPv6 address or range in CIDR format (e.g. 203.0.113.0/24 or 2001:db8::/32).", v)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// AccessRules are one list of restrictions made ready to evaluate: sorted by
// priority, parsed, with the unmatched rule's action resolved. A nil
// *AccessRules allows everything (no rules, no default).
type AccessRules struct {
	rules []accessRule
	allow bool // when no rule matches
}

type accessRule struct {
	ranges []netip.Prefix
	allow  bool
}

// CompileAccessRules readies a list of rules and its default action ("",
// Allow or Deny). It returns nil when every address is allowed.
func CompileAccessRules(list []IPRestriction, def string) (*AccessRules, error) {
	if len(list) == 0 && def != AccessDeny {
		return nil, nil
	}
	sorted := slices.Clone(list)
	slices.SortStableFunc(sorted, func(a, b IPRestriction) int { return cmp.Compare(a.Priority, b.Priority) })
	out := &AccessRules{allow: def == AccessAllow, rules: make([]accessRule, 0, len(sorted))}
	for _, r := range sorted {
		ps, err := parseIPRanges(r.IPAddress)
		if err != nil {
			return nil, err
		}
		out.rules = append(out.rules, accessRule{ranges: ps, allow: r.Action == AccessAllow})
	}
	return out, nil
}

// Compile readies the app's and Kudu's lists (SCMUseMain gives Kudu the
// app's).
func (a AccessRestrictions) Compile() (main, scm *AccessRules, err error) {
	if main, err = CompileAccessRules(a.Main, a.MainDefault); err != nil {
		return nil, nil, err
	}
	if a.SCMUseMain {
		return main, main, nil
	}
	if scm, err = CompileAccessRules(a.SCM, a.SCMDefault); err != nil {
		return nil, nil, err
	}
	return main, scm, nil
}

// DenyAllRules returns a rule list that refuses every address.
func DenyAllRules() *AccessRules { return &AccessRules{} }

// Allows reports whether a client at addr may pass. It does not allocate.
func (r *AccessRules) Allows(addr netip.Addr) bool {
	if r == nil {
		return true
	}
	addr = addr.Unmap().WithZone("")
	for i := range r.rules {
		for _, p := range r.rules[i].ranges {
			if p.Contains(addr) {
				return r.rules[i].allow
			}
		}
	}
	return r.allow
}

// AllowsRemoteAddr is Allows for a connection's peer address as net/http
// gives it in Request.RemoteAddr ("ip:port"); an address it cannot parse
// is refused unless everything is allowed.
func (r *AccessRules) AllowsRemoteAddr(remote string) bool {
	if r == nil {
		return true
	}
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		a, aerr := netip.ParseAddr(remote)
		if aerr != nil {
			return false
		}
		return r.Allows(a)
	}
	return r.Allows(ap.Addr())
}
