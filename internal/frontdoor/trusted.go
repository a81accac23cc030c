package frontdoor

// Behind a proxy the operator runs in front of Slipway (a load balancer, a
// CDN, an nginx that terminates TLS), every request's peer is the proxy:
// access restrictions would see one address for every client, apps'
// X-Forwarded-For and Client-Ip would name the proxy, and HTTPS Only would
// redirect requests the proxy already received over HTTPS, for ever. App
// Service's own front ends are the first hop clients reach, so there the
// peer is the client; Config.TrustedProxies (--trusted-proxy) makes the
// operator's proxies part of the front end in the same way.
//
// Only a peer inside a trusted range is believed, and only for what it
// adds: the client's address is the right-most X-Forwarded-For entry that
// is not itself a trusted proxy (entries to its left were written by the
// client, which can claim any address), and X-Forwarded-Proto "https"
// marks the request as received over HTTPS (cleartext.ProxiedTLS), so that
// HTTPS Only, X-Forwarded-Proto, X-ARR-SSL and the APIs that take
// credentials only over HTTPS treat it so. An entry that is not an IP
// address ends the walk: the request keeps the last address believed. A
// request from any other peer is served as ever: its X-Forwarded-* headers
// are dropped (setPlatformHeaders). The minimum TLS version of a site
// (minTlsVersion) is the proxy's to enforce: the TLS it received is not
// the front door's to see.

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/slipway-dev/slipway/internal/cleartext"
)

// maxForwardedHops bounds the X-Forwarded-For entries walked.
const maxForwardedHops = 32

// fromTrustedProxy returns r as the front door serves it: with the client's
// address and scheme that a trusted proxy reported when r's peer is one,
// r itself otherwise.
func (f *FrontDoor) fromTrustedProxy(r *http.Request) *http.Request {
	peer, ok := f.trustedPeer(r.RemoteAddr)
	if !ok {
		return r
	}
	client := peer
	hops := 0
walk:
	for i := len(r.Header["X-Forwarded-For"]) - 1; i >= 0; i-- {
		list := r.Header["X-Forwarded-For"][i]
		for list != "" && hops < maxForwardedHops {
			hops++
			var entry string
			if j := strings.LastIndexByte(list, ','); j >= 0 {
				entry, list = list[j+1:], list[:j]
			} else {
				entry, list = list, ""
			}
			ip, ok := forwardedIP(strings.TrimSpace(entry))
			if !ok {
				break walk
			}
			client = ip
			if !f.trusted(ip) {
				break walk
			}
		}
	}
	proxiedTLS := false
	if v := r.Header["X-Forwarded-Proto"]; len(v) > 0 {
		// The proxy's own value is the last one it added.
		last := v[len(v)-1]
		if j := strings.LastIndexByte(last, ','); j >= 0 {
			last = last[j+1:]
		}
		proxiedTLS = strings.EqualFold(strings.TrimSpace(last), "https")
	}
	if client == peer && !proxiedTLS {
		return r
	}
	ctx := r.Context()
	if proxiedTLS {
		ctx = cleartext.ProxiedTLS(ctx)
	}
	r2 := r.WithContext(ctx)
	if client != peer {
		// The client's port is not known: 0 (X-Client-Port is left out).
		r2.RemoteAddr = net.JoinHostPort(client.String(), "0")
	}
	return r2
}

// trustedPeer parses a request's peer address and reports whether it is a
// trusted proxy.
func (f *FrontDoor) trustedPeer(remoteAddr string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	ip := ap.Addr().Unmap()
	return ip, f.trusted(ip)
}

func (f *FrontDoor) trusted(ip netip.Addr) bool {
	for _, p := range f.cfg.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// forwardedIP reads an X-Forwarded-For entry: an address, with or without
// a port ("203.0.113.7", "203.0.113.7:4711", "[2001:db8::1]:4711" — App
// Service's own front ends add the port).
func forwardedIP(s string) (netip.Addr, bool) {
	if ip, err := netip.ParseAddr(s); err == nil && ip.Zone() == "" {
		return ip.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Zone() == "" {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}
