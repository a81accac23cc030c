// Package dnsverify checks, through DNS, that whoever adds a custom host name
// to a site controls that name, as App Service checks it before it accepts a
// host name binding
// (https://learn.microsoft.com/azure/app-service/app-service-web-tutorial-custom-domain):
//
//   - a TXT record at asuid.<name> holds the subscription's domain
//     verification ID (for a wildcard *.contoso.com, at asuid.contoso.com);
//   - the name routes to the app: a CNAME (directly or through a chain) to
//     the app's default host name <app>.<domain>, or an A record with the
//     platform's external IP. A name with neither record is accepted, as App
//     Service accepts it ("If you configured the TXT record but not the A or
//     CNAME record, App Service treats it as a domain migration scenario and
//     allows the validation to succeed"); a name whose records lead
//     elsewhere is refused.
//
// Two choices differ from Azure, on purpose. The TXT record is required
// (Azure still accepts a CNAME alone, but its docs call the TXT record the
// guard against subdomain takeover). And a CNAME to <app>.azurewebsites.net
// does not count: that name leads to Azure, not to this platform, so the
// binding would route nothing here.
//
// It owns the DNS client side of this: queries go to one configurable
// resolver (default: the first nameserver of /etc/resolv.conf) over UDP,
// retried over TCP when truncated, with a bounded time per query and bounded
// work per answer, since answers come from servers the user names.
package dnsverify

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/slipway-dev/slipway"
)

const (
	// defaultTimeout bounds one query (UDP, and TCP again if truncated).
	defaultTimeout = 3 * time.Second
	// maxRecords bounds the records of one answer that are looked at.
	maxRecords = 64
	// maxChain bounds the CNAME links followed.
	maxChain = 8
	// maxTXT bounds the length of one TXT value compared: verification IDs
	// are 64 characters.
	maxTXT = 1024
	// udpSize is the EDNS0 buffer offered: the size DNS Flag Day 2020
	// recommends, so answers fit unfragmented.
	udpSize = 1232
)

// Config configures a Verifier.
type Config struct {
	// Resolver is the DNS server's "host:port". Empty: the first nameserver
	// of /etc/resolv.conf, port 53.
	Resolver string
	// Timeout bounds each query; 0 means 3 seconds.
	Timeout time.Duration
}

// Verifier verifies custom host names. It is safe for concurrent use.
type Verifier struct {
	resolver string
	timeout  time.Duration
}

// New returns a Verifier.
func New(cfg Config) (*Verifier, error) {
	v := &Verifier{resolver: cfg.Resolver, timeout: cfg.Timeout}
	if v.timeout <= 0 {
		v.timeout = defaultTimeout
	}
	if v.resolver == "" {
		cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil {
			return nil, fmt.Errorf("reading the DNS resolver from /etc/resolv.conf: %w (name one with --dns-resolver host:port)", err)
		}
		if len(cc.Servers) == 0 {
			return nil, errors.New("/etc/resolv.conf names no nameserver: name one with --dns-resolver host:port")
		}
		v.resolver = net.JoinHostPort(cc.Servers[0], cc.Port)
	}
	if _, _, err := net.SplitHostPort(v.resolver); err != nil {
		return nil, fmt.Errorf("DNS resolver %q is not host:port: %w", v.resolver, err)
	}
	return v, nil
}

// Resolver returns the "host:port" queries go to.
func (v *Verifier) Resolver() string { return v.resolver }

// Request is one host name to verify for a site.
type Request struct {
	// HostName is the custom name, e.g. "www.contoso.com" or "*.contoso.com".
	HostName string
	// VerificationID is the subscription's customDomainVerificationId.
	VerificationID string
	// DefaultHostName is the app's default host name, <app>.<domain>,
	// without a port.
	DefaultHostName string
	// ExternalIP is the platform's address for A records; empty: A records
	// cannot point at the app.
	ExternalIP string
}

// Record types of a verified name, as HostNameBinding.customHostNameDnsRecordType
// names them.
const (
	RecordCName = "CName"
	RecordA     = "A"
)

// Verify checks r's DNS records. It returns the record type that routes the
// name to the app (RecordCName or RecordA; RecordCName for a name with only
// its TXT record, App Service's migration case). A failed check is a
// *slipway.Error with EINVALID and App Service's message; an unreachable
// resolver one with EUNAVAILABLE.
func (v *Verifier) Verify(ctx context.Context, r Request) (string, error) {
	name := strings.ToLower(strings.TrimSuffix(r.HostName, "."))
	if err := CheckHostName(name); err != nil {
		return "", err
	}
	txtName := "asuid." + name
	if base, ok := strings.CutPrefix(name, "*."); ok {
		txtName = "asuid." + base // wildcards: the TXT record sits at the parent (the docs' wildcard tab)
	}
	txts, _, err := v.lookup(ctx, txtName, dns.TypeTXT)
	if err != nil {
		return "", err
	}
	if !hasValue(txts, dns.Fqdn(txtName), r.VerificationID) {
		// App Service's message (ExtendedCode 04006), as its API returns it:
		// "A TXT record pointing from asuid.{0} to {1} was not found." — quoted in
		// https://github.com/rcl-letsencrypt-auto-ssl/Lets-Encrypt-Auto/issues/25
		return "", slipway.Errorf(slipway.EINVALID, "A TXT record pointing from %s to %s was not found.", txtName, r.VerificationID)
	}

	answer, _, err := v.lookup(ctx, name, dns.TypeA)
	if err != nil {
		return "", err
	}
	want := dns.Fqdn(strings.ToLower(r.DefaultHostName))
	aliases, addrs := chain(answer, dns.Fqdn(name))
	if len(aliases) == 0 && len(addrs) == 0 {
		// The answer to an A query may leave the CNAME out when the chain
		// leaves the zone at a server that does not follow it: ask for it.
		cn, _, err := v.lookup(ctx, name, dns.TypeCNAME)
		if err != nil {
			return "", err
		}
		aliases, _ = chain(cn, dns.Fqdn(name))
	}
	if len(aliases) == 0 && len(addrs) == 0 {
		return RecordCName, nil // TXT only: App Service's migration scenario
	}
	for _, a := range aliases {
		if a == want {
			return RecordCName, nil
		}
	}
	if r.ExternalIP != "" {
		ip := net.ParseIP(r.ExternalIP)
		for _, a := range addrs {
			if ip != nil && net.ParseIP(a).Equal(ip) {
				if len(aliases) > 0 {
					return RecordCName, nil // an alias chain that ends at the platform's address
				}
				return RecordA, nil
			}
		}
	}
	if len(aliases) > 0 {
		// The template App Service used for CNAME verification ("A CNAME
		// record pointing from {0} to {1} was not found.").
		return "", slipway.Errorf(slipway.EINVALID, "A CNAME record pointing from %s to %s was not found.", name, strings.TrimSuffix(want, "."))
	}
	ext := r.ExternalIP
	if ext == "" {
		ext = "<the server's --external-ip>"
	}
	return "", slipway.Errorf(slipway.EINVALID, "An A record pointing from %s to %s was not found.", name, ext)
}

// chain follows the CNAME records of an answer from name, at most maxChain
// links, and returns the aliases met (lower case, fully qualified) and the
// A records of the name the chain ends at. Records of other names, which a
// hostile server may add, are ignored.
func chain(rrs []dns.RR, name string) (aliases, addrs []string) {
	cur := strings.ToLower(name)
	for range maxChain {
		next := ""
		for _, rr := range rrs {
			if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, cur) {
				next = strings.ToLower(c.Target)
				break
			}
		}
		if next == "" {
			break
		}
		aliases = append(aliases, next)
		cur = next
	}
	for _, rr := range rrs {
		if a, ok := rr.(*dns.A); ok && strings.EqualFold(a.Hdr.Name, cur) {
			addrs = append(addrs, a.A.String())
		}
	}
	return aliases, addrs
}

// hasValue reports whether one of owner's TXT records, its strings joined (RFC
// 7208 §3.3), equals want (case-insensitively: the ID is hex).
func hasValue(rrs []dns.RR, owner, want string) bool {
	if want == "" {
		return false
	}
	w := []byte(strings.ToUpper(want))
	for _, rr := range rrs {
		t, ok := rr.(*dns.TXT)
		if !ok || !strings.EqualFold(t.Hdr.Name, owner) {
			continue // only the name asked about counts, whatever else a server adds
		}
		n := 0
		for _, s := range t.Txt {
			n += len(s)
		}
		if n > maxTXT {
			continue
		}
		got := strings.ToUpper(strings.TrimSpace(strings.Join(t.Txt, "")))
		if subtle.ConstantTimeCompare([]byte(got), w) == 1 {
			return true
		}
	}
	return false
}

// lookup asks the resolver for name's records of qtype. NXDOMAIN and NODATA
// are an empty answer; other failures are EUNAVAILABLE errors naming the
// resolver. At most maxRecords records are returned.
func (v *Verifier) lookup(ctx context.Context, name string, qtype uint16) ([]dns.RR, int, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.SetEdns0(udpSize, false)
	what := dns.TypeToString[qtype] + " " + name

	in, err := v.exchange(ctx, "udp", m)
	if err == nil && in.Truncated {
		in, err = v.exchange(ctx, "tcp", m)
	}
	if err != nil {
		return nil, 0, slipway.Errorf(slipway.EUNAVAILABLE,
			"The DNS server %s did not answer the query for %s: %v. Check that it runs and is reachable (the server's --dns-resolver).", v.resolver, what, err)
	}
	if in.Id != m.Id {
		return nil, 0, slipway.Errorf(slipway.EUNAVAILABLE, "The DNS server %s answered another query than %s.", v.resolver, what)
	}
	switch in.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
	default:
		return nil, in.Rcode, slipway.Errorf(slipway.EUNAVAILABLE,
			"The DNS server %s answered %s to the query for %s.", v.resolver, dns.RcodeToString[in.Rcode], what)
	}
	ans := in.Answer
	if len(ans) > maxRecords {
		ans = ans[:maxRecords]
	}
	return ans, in.Rcode, nil
}

// exchange sends m over proto within the query timeout.
func (v *Verifier) exchange(ctx context.Context, proto string, m *dns.Msg) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	c := &dns.Client{Net: proto, Timeout: v.timeout, UDPSize: udpSize}
	in, _, err := c.ExchangeContext(ctx, m, v.resolver)
	return in, err
}

// CheckHostName checks that name (lower case, no trailing dot) is a host
// name a site can bind: DNS labels of letters, digits and hyphens, at least
// two labels, at most 253 characters, optionally one leading "*." wildcard
// label. It returns an EINVALID *slipway.Error.
func CheckHostName(name string) error {
	bad := func(why string) error {
		return slipway.Errorf(slipway.EINVALID, "The host name '%s' is invalid: %s", truncate(name, 300), why)
	}
	if len(name) == 0 || len(name) > 253 {
		return bad("a host name has 1 to 253 characters.")
	}
	labels := strings.Split(strings.TrimPrefix(name, "*."), ".")
	if len(labels) < 2 {
		return bad("it needs a domain, such as www.contoso.com.")
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 {
			return bad("each label between dots has 1 to 63 characters.")
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return bad("a label neither starts nor ends with a hyphen.")
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return bad("use letters, digits and hyphens (internationalized names in their xn-- form), and '*.' only as the first label.")
			}
		}
	}
	if net.ParseIP(name) != nil {
		return bad("an IP address is not a host name.")
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
