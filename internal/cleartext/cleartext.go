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
// X-Forwarded-Proto or X-Forwarded-For, which any client can write.
package cleartext

import (
	"net"
	"net/http"
	"net/netip"
)

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
	if r.TLS != nil {
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
