// Package cleartext tells whether a request crossed a network
// unencrypted, for the platform's APIs that refuse credentials which did:
// bearer tokens, the admin token and publishing credentials travel over
// HTTPS, as they do to Azure, except between processes of one machine
// (the CLI beside its server, the quickstart), where no network carries
// them.
//
// The front door answers HTTP and HTTPS on one port; what counts is the
// connection a request came on (http.Request.TLS, RemoteAddr and the
// local address as net/http's server sets them), never a header such as
// X-Forwarded-Proto or X-Forwarded-For, which any client can write. The
// one exception is a proxy the operator named as trusted
// (--trusted-proxy): the front door then takes the client's address from
// the proxy's X-Forwarded-For and marks a request the proxy received over
// HTTPS with ProxiedTLS, which OverTLS honours.
package cleartext

import (
	"context"
	"net"
	"net/http"
	"net/netip"
)

type proxiedTLSKey struct{}

// ProxiedTLS marks ctx as a request that a trusted proxy received over
// HTTPS and forwarded (the front door sets it, and only for a peer the
// operator trusts).
func ProxiedTLS(ctx context.Context) context.Context {
	return context.WithValue(ctx, proxiedTLSKey{}, true)
}

// OverTLS reports whether r reached the platform encrypted: on a TLS
// connection, or through a trusted proxy that received it over HTTPS.
func OverTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	v, _ := r.Context().Value(proxiedTLSKey{}).(bool)
	return v
}

// TokenExposed ends a refusal of a bearer token that came in the clear:
// what the client should do now.
const TokenExposed = "The token sent over plain HTTP could be read on the way: if it was the server's admin token, renew it (delete server.json in the server's data directory and restart the server)."

// FromNetwork reports whether r came over plain HTTP from another
// machine: what it carries was readable, and replaceable, on the way.
// This machine is a loopback peer, or a peer whose address is the one the
// connection was accepted on (a client beside a server that listens on
// one of the machine's own addresses: the kernel carries that over its
// loopback too). A peer address that does not parse is another machine.
func FromNetwork(r *http.Request) bool {
	if OverTLS(r) {
		return false
	}
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return true
	}
	ip := peer.Addr().Unmap()
	if ip.IsLoopback() {
		return false
	}
	local, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr)
	return !ok || local.AddrPort().Addr().Unmap() != ip
}
