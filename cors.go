package slipway

import (
	"net/netip"
	"strconv"
	"strings"
)

// Platform CORS: App Service's siteConfig.cors, origins allowed to make
// cross-origin calls to an app, answered by the platform in front of it
// (https://learn.microsoft.com/azure/app-service/app-service-web-tutorial-rest-api).
// App Service allows every method and header for each allowed origin (as
// ASP.NET Core's AllowAnyMethod and AllowAnyHeader); "*" allows every
// origin and must stand alone; an origin's host may be a wildcard subdomain
// ("https://*.contoso.com"); supportCredentials adds
// Access-Control-Allow-Credentials and cannot go with "*". Once set, it
// takes precedence over the app's own CORS headers.

// AnyOrigin is the allowed origin that allows every origin.
const AnyOrigin = "*"

// MaxCORSOrigins bounds the origins of one site, and MaxOriginLength one
// origin (a scheme, "://", a host name of at most 253 characters and a
// port). Slipway's bounds: App Service documents none.
const (
	MaxCORSOrigins  = 100
	MaxOriginLength = 300
)

// CORS is a site's platform CORS. AllowedOrigins are kept as a client
// wrote them (az webapp cors remove matches them by their text); an entry
// may hold several origins separated by commas, as Microsoft's tutorial
// says `az webapp cors add --allowed-origins` takes them. With no allowed
// origins the platform answers no CORS and the app's own headers pass.
type CORS struct {
	AllowedOrigins     []string
	SupportCredentials bool
}

// Equal reports whether c and o are the same configuration.
func (c CORS) Equal(o CORS) bool {
	if c.SupportCredentials != o.SupportCredentials || len(c.AllowedOrigins) != len(o.AllowedOrigins) {
		return false
	}
	for i := range c.AllowedOrigins {
		if c.AllowedOrigins[i] != o.AllowedOrigins[i] {
			return false
		}
	}
	return true
}

// Validate reports whether the configuration can be stored and applied.
func (c CORS) Validate() error {
	_, err := c.Compile()
	return err
}

// origins splits the entries into single origins, spaces trimmed.
func (c CORS) origins() []string {
	var out []string
	for _, e := range c.AllowedOrigins {
		for o := range strings.SplitSeq(e, ",") {
			out = append(out, strings.TrimSpace(o))
		}
	}
	return out
}

// CORSPolicy is a site's CORS made ready to evaluate on every request.
// A nil *CORSPolicy is a site without platform CORS.
type CORSPolicy struct {
	any         bool
	credentials bool
	exact       map[string]struct{} // canonical origins
	wild        []wildOrigin
}

// wildOrigin is an allowed origin whose host is "*.<domain>": any host
// below domain, with the same scheme and port.
type wildOrigin struct {
	scheme, suffix, port string // suffix: "." + domain
}

// Compile readies the configuration, checking every origin. It returns nil
// when no origin is allowed (supportCredentials alone does nothing).
func (c CORS) Compile() (*CORSPolicy, error) {
	list := c.origins()
	if len(list) > MaxCORSOrigins {
		return nil, Errorf(EINVALID, "cors.allowedOrigins has %d origins; Slipway allows at most %d.", len(list), MaxCORSOrigins)
	}
	if len(list) == 0 {
		return nil, nil
	}
	p := &CORSPolicy{credentials: c.SupportCredentials, exact: make(map[string]struct{}, len(list))}
	for _, o := range list {
		if o == AnyOrigin {
			if len(list) > 1 {
				return nil, Errorf(EINVALID, "cors.allowedOrigins: '*' allows every origin and must be the only one; remove the other origins (%s) or remove '*'.", strings.Join(others(list, AnyOrigin), ", "))
			}
			if c.SupportCredentials {
				return nil, Errorf(EINVALID, "cors.supportCredentials cannot be true while cors.allowedOrigins is '*': allowing credentials from every origin would let any site act as the signed-in user. List the origins instead (a wildcard subdomain such as https://*.contoso.com is allowed).")
			}
			p.any = true
			continue
		}
		u, err := parseOrigin(o, true)
		if err != nil {
			return nil, err
		}
		if u.wild {
			p.wild = append(p.wild, wildOrigin{scheme: u.scheme, suffix: u.host[1:], port: u.port})
			continue
		}
		p.exact[u.canonical()] = struct{}{}
	}
	return p, nil
}

func others(list []string, not string) []string {
	var out []string
	for _, o := range list {
		if o != not {
			out = append(out, o)
		}
	}
	return out
}

// DenyAllCORS returns a policy that allows no origin: the platform still
// answers preflights and drops the app's CORS headers.
func DenyAllCORS() *CORSPolicy { return &CORSPolicy{} }

// AnyOrigin reports whether every origin is allowed ("*").
func (p *CORSPolicy) AnyOrigin() bool { return p.any }

// Credentials reports whether supportCredentials is set.
func (p *CORSPolicy) Credentials() bool { return p.credentials }

// AllowsOrigin reports whether a request's Origin header value is allowed.
// Unless every origin is, only a well-formed origin can be: scheme://host[:port]
// with nothing after it, never "null". Scheme and host compare
// case-insensitively, and an http or https origin's default port may be
// written or left out.
func (p *CORSPolicy) AllowsOrigin(origin string) bool {
	if p == nil || origin == "" {
		return false
	}
	if p.any {
		// Every origin, "null" (a sandboxed page's) included, as "*"
		// allows in browsers: the answer is the literal "*", which
		// reflects nothing and never goes with credentials.
		return true
	}
	u, err := parseOrigin(origin, false)
	if err != nil {
		return false
	}
	if _, ok := p.exact[u.canonical()]; ok {
		return true
	}
	for _, w := range p.wild {
		if u.scheme == w.scheme && u.port == w.port && len(u.host) > len(w.suffix) && strings.HasSuffix(u.host, w.suffix) {
			return true
		}
	}
	return false
}

// origin is a parsed origin: scheme and host in lower case, port without
// the default one of http and https.
type origin struct {
	scheme, host, port string
	wild               bool // host is "*.<domain>"
}

func (o origin) canonical() string {
	if o.port == "" {
		return o.scheme + "://" + o.host
	}
	return o.scheme + "://" + o.host + ":" + o.port
}

// parseOrigin parses scheme://host[:port]. With config, the text is an
// allowed origin (errors say what to fix, and "*.<domain>" hosts are
// wildcards); otherwise it is a request's Origin, and any error just means
// "not allowed".
func parseOrigin(s string, config bool) (origin, error) {
	bad := func(why string) (origin, error) {
		if !config {
			return origin{}, errNotOrigin
		}
		return origin{}, Errorf(EINVALID, "cors.allowedOrigins: '%s' is not an origin: %s. Give scheme://host[:port], e.g. https://www.contoso.com or http://localhost:5000, or '*' alone for every origin.", s, why)
	}
	if len(s) > MaxOriginLength {
		return bad("it is longer than " + strconv.Itoa(MaxOriginLength) + " characters")
	}
	if s == "" {
		return bad("it is empty")
	}
	if strings.EqualFold(s, "null") {
		return bad("'null' is the origin of sandboxed pages and local files, which any page can make; it cannot be allowed")
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || !validScheme(scheme) {
		return bad("it has no scheme (such as https://)")
	}
	scheme = strings.ToLower(scheme)
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		return bad("an origin has no path, query or fragment (a browser sends none, so it would never match); drop everything from '" + rest[i:i+1] + "' on")
	}
	if strings.Contains(rest, "@") {
		return bad("an origin has no user name or password")
	}
	host, port := rest, ""
	if strings.HasPrefix(host, "[") { // an IPv6 address
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return bad("its IPv6 address has no closing ']'")
		}
		host, port = rest[:end+1], strings.TrimPrefix(rest[end+1:], ":")
		if rest[end+1:] != "" && !strings.HasPrefix(rest[end+1:], ":") {
			return bad("something other than a port follows its address")
		}
		a, err := netip.ParseAddr(host[1:end])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return bad("its IPv6 address is not valid")
		}
		host = "[" + a.String() + "]" // as a browser writes it
	} else if h, pt, ok := strings.Cut(rest, ":"); ok {
		host, port = h, pt
		if port == "" {
			return bad("it has ':' but no port")
		}
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return bad("its port '" + port + "' is not a number from 1 to 65535")
		}
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = "" // the default port: the Origin a browser sends leaves it out
	}
	host = strings.ToLower(host)
	wild := false
	if strings.HasPrefix(host, "*.") && config {
		wild = true
		if !validHostName(host[2:]) {
			return bad("after '*.' comes a host name, as in https://*.contoso.com")
		}
	} else if !strings.HasPrefix(host, "[") && !validHostName(host) {
		if strings.Contains(host, "*") {
			return bad("a wildcard may only be a whole first label ('*.contoso.com') or '*' alone")
		}
		return bad("its host name is not valid (letters, digits, '-', '_' and dots; give an international name in its xn-- form)")
	}
	return origin{scheme: scheme, host: host, port: port, wild: wild}, nil
}

var errNotOrigin = Errorf(EINVALID, "not an origin")

// validScheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1).
func validScheme(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		switch {
		case 'a' <= c && c <= 'z':
		case i > 0 && ('0' <= s[i] && s[i] <= '9' || s[i] == '+' || s[i] == '-' || s[i] == '.'):
		default:
			return false
		}
	}
	return true
}

// validHostName accepts a DNS name or IPv4 address in ASCII: labels of
// letters, digits, '-' and '_', of 1 to 63 characters, 253 in all.
func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
