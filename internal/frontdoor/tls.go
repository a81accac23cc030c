package frontdoor

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// tlsVersions maps siteConfig's minTlsVersion values to Go's constants.
var tlsVersions = map[string]uint16{
	"1.0": tls.VersionTLS10,
	"1.1": tls.VersionTLS11,
	"1.2": tls.VersionTLS12,
	"1.3": tls.VersionTLS13,
}

// TLSConfig returns base with a per-handshake choice of the minimum TLS
// version and, for a site with a minTlsCipherSuite, of the cipher suites: a handshake for an app's host name takes the site's
// minTlsVersion, one for its Kudu host name the site's scmMinTlsVersion
// (App Service's siteConfig; docs/appservice.md §12). Other names (the
// management API, blob) keep base's minimum; a custom name bound to a site
// takes the site's minTlsVersion. A site with http20Enabled false is
// offered HTTP/1.1 alone by ALPN on its app's names. The site is looked
// up by the SNI name the client sent, which only chooses among the
// platform's own settings: an unknown or hostile name gets base. A client
// may name another host in its ClientHello than in its requests:
// requestTLSTooOld refuses those.
func (f *FrontDoor) TLSConfig(base *tls.Config) *tls.Config {
	ciphers := &cipherConfigs{}
	// One config per minimum version ("" for base's) with and without
	// HTTP/2; base itself (nil from GetConfigForClient) for {"", false}.
	// A site's minimum cipher suite makes a config of its own from one of
	// these, on first use (cipherConfig).
	type variant struct {
		min  string
		noH2 bool
	}
	h1 := slices.DeleteFunc(slices.Clone(base.NextProtos), func(p string) bool { return p == "h2" })
	configs := map[variant]*tls.Config{}
	add := func(k variant, min uint16) {
		c := base.Clone()
		if min != 0 {
			c.MinVersion = min
		}
		if k.noH2 {
			c.NextProtos = h1
		}
		configs[k] = c
	}
	for name, v := range tlsVersions {
		add(variant{name, false}, v)
		add(variant{name, true}, v)
	}
	add(variant{"", true}, 0)
	out := base.Clone()
	out.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		site, scm := f.siteOfName(hello.ServerName)
		if site == "" && f.cfg.HostNames != nil {
			site, _ = f.cfg.HostNames.SiteForHostName(canonicalHost(hello.ServerName)) // as a request's Host is looked up
		}
		if site == "" {
			return nil, nil
		}
		st := f.siteState(hello.Context(), site)
		if !st.Exists {
			return nil, nil
		}
		v := st.MinTLSVersion
		if scm {
			v = st.SCMMinTLSVersion
		}
		if _, ok := tlsVersions[v]; !ok {
			v = "" // none of the site's own: the listener's minimum
		}
		c := configs[variant{v, st.HTTP20Off && !scm}] // nil for base
		if st.MinTLSCipherSuite != "" && !scm {
			if c == nil {
				c = base
			}
			return ciphers.config(c, st.MinTLSCipherSuite), nil
		}
		return c, nil
	}
	return out
}

// siteOfName returns the site a TLS server name belongs to, and whether it
// is the site's Kudu name: <app>.<domain>, <app>.scm.<domain> and their
// *.azurewebsites.net forms. "" for any other name.
func (f *FrontDoor) siteOfName(name string) (site string, scm bool) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	label, ok := strings.CutSuffix(name, "."+strings.ToLower(f.cfg.Domain))
	if !ok {
		if label, ok = strings.CutSuffix(name, ".azurewebsites.net"); !ok {
			return "", false
		}
	}
	if s, isSCM := strings.CutSuffix(label, ".scm"); isSCM {
		label, scm = s, true
	}
	if label == "" || strings.Contains(label, ".") {
		return "", false
	}
	return label, scm
}

// tlsTooOld reports whether r came over a TLS version older than min (a
// siteConfig value; "" or unknown: no minimum of the site's own). The
// handshake applied the minimum of the name in the ClientHello, which
// need not be the request's Host.
func tlsTooOld(r *http.Request, min string) bool {
	if r.TLS == nil {
		return false // plain HTTP (the lane's requests): no map lookup
	}
	v, ok := tlsVersions[min]
	return ok && r.TLS.Version < v
}

// writeMisdirected answers a request whose site demands a newer TLS
// version than its connection's (421: the client may retry on a
// connection of its own for that name).
func writeMisdirected(w http.ResponseWriter, min string) {
	writePage(w, http.StatusMisdirectedRequest, pageData{
		Title:   "421 Misdirected Request",
		Heading: "421 Misdirected Request",
		Text:    fmt.Sprintf("This app accepts TLS %s and later; this connection was made with an older version, for another host name. Connect again naming this host.", min),
	})
}
