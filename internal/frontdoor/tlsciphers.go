package frontdoor

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"slices"
	"sync"

	"github.com/slipway-dev/slipway"
)

// A site's minTlsCipherSuite: its app's host names accept the cipher suites
// App Service ranks at least as strong (slipway.TLSCipherSuites), among
// those the front door offers at all (Go's secure defaults; a minimum never
// adds a suite). A TLS 1.3 minimum admits TLS 1.3 alone.

// cipherIDs are Go's secure TLS 1.2 suites by name.
var cipherIDs = func() map[string]uint16 {
	m := map[string]uint16{}
	for _, c := range tls.CipherSuites() {
		m[c.Name] = c.ID
	}
	return m
}()

// tls13Suites are App Service's TLS 1.3 suites.
var tls13Suites = map[string]bool{"TLS_AES_256_GCM_SHA384": true, "TLS_AES_128_GCM_SHA256": true}

// cipherPolicy is what a minimum admits: TLS 1.3 alone, or these TLS 1.2
// suites (and TLS 1.3, which is stronger than every TLS 1.2 suite).
type cipherPolicy struct {
	tls13Only bool
	suites    []uint16
}

// cipherPolicies are what each minimum admits, made once: requests over
// TLS to a site with a minimum look theirs up (cipherTooWeak).
var cipherPolicies = func() map[string]cipherPolicy {
	m := map[string]cipherPolicy{}
	for i, min := range slipway.TLSCipherSuites {
		if tls13Suites[min] {
			m[min] = cipherPolicy{tls13Only: true}
			continue
		}
		var p cipherPolicy
		for _, name := range slipway.TLSCipherSuites[:i+1] {
			if id, ok := cipherIDs[name]; ok && !tls13Suites[name] {
				p.suites = append(p.suites, id)
			}
		}
		m[min] = p
	}
	return m
}()

// policyFor returns what the minimum min admits; ok is false for a name
// App Service does not list (then the listener's suites apply).
func policyFor(min string) (cipherPolicy, bool) {
	p, ok := cipherPolicies[min]
	return p, ok
}

// admits reports whether a connection of this version and suite meets the
// policy.
func (p cipherPolicy) admits(version, suite uint16) bool {
	if version >= tls.VersionTLS13 {
		return true
	}
	return !p.tls13Only && slices.Contains(p.suites, suite)
}

// cipherConfigs caches a config per (config, minimum) pair.
type cipherConfigs struct {
	m sync.Map // cipherKey → *tls.Config
}

type cipherKey struct {
	from *tls.Config
	min  string
}

// config returns from restricted to what min admits (from itself for a
// minimum the front door does not know).
func (c *cipherConfigs) config(from *tls.Config, min string) *tls.Config {
	k := cipherKey{from, min}
	if v, ok := c.m.Load(k); ok {
		return v.(*tls.Config)
	}
	p, ok := policyFor(min)
	if !ok {
		return from
	}
	out := from.Clone()
	if p.tls13Only {
		out.MinVersion = tls.VersionTLS13
	} else {
		out.CipherSuites = p.suites
		if len(p.suites) == 0 && out.MinVersion < tls.VersionTLS13 {
			out.MinVersion = tls.VersionTLS13 // no TLS 1.2 suite left to offer
		}
	}
	v, _ := c.m.LoadOrStore(k, out)
	return v.(*tls.Config)
}

// cipherTooWeak reports whether r came over a connection whose cipher suite
// min does not admit. The handshake applied the minimum of the name in the
// ClientHello, which need not be the request's Host.
func cipherTooWeak(r *http.Request, min string) bool {
	if r.TLS == nil || min == "" {
		return false
	}
	p, ok := policyFor(min)
	return ok && !p.admits(r.TLS.Version, r.TLS.CipherSuite)
}

// writeMisdirectedCipher answers a request whose site demands a stronger
// cipher suite than its connection's (421, as for an old TLS version).
func writeMisdirectedCipher(w http.ResponseWriter, min string) {
	writePage(w, http.StatusMisdirectedRequest, pageData{
		Title:   "421 Misdirected Request",
		Heading: "421 Misdirected Request",
		Text:    fmt.Sprintf("This app accepts cipher suites as strong as %s or stronger; this connection was made with a weaker one, for another host name. Connect again naming this host.", min),
	})
}
