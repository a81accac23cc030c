package rediscache

// The proxy in front of every cache, in the place of Azure's gateway: TLS
// on the cache's SSL port, the cache found by the TLS server name, its
// firewall rules applied to the client's address, then the client joined
// to the cache's socket. The cache checks the access key itself (AUTH).

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/slipway/internal/gateway"
)

const (
	handshakeTimeout = 15 * time.Second
	// platformRoom is the connections of each cache's server the proxy
	// leaves to the platform (SetKeys), whatever its clients hold.
	platformRoom = 8
)

// limits bound the proxy's connections (gateway.Limits): a connection is
// signed in once it reaches its cache.
var limits = gateway.Limits{Max: 4000, PerClient: 512, HandshakesPerClient: 32}

// Proxy serves Redis clients for a Manager.
type Proxy struct {
	m    *Manager
	tls  *tls.Config
	gate *gateway.Gate

	mu       sync.Mutex
	perCache map[string]int // connections joined to each cache
}

// NewProxy returns the proxy for m, serving TLS with certificates from
// getCert (the platform's CA: *.redis.cache.windows.net, *.redis.<domain>).
func (m *Manager) NewProxy(getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *Proxy {
	fallback := "caches." + Label + "." + strings.ToLower(m.cfg.Domain)
	return &Proxy{m: m, gate: gateway.New(limits), perCache: map[string]int{},
		tls: &tls.Config{GetCertificate: gateway.Certificates(getCert, fallback), MinVersion: tls.VersionTLS12}}
}

// Serve accepts clients on l until it is closed.
func (p *Proxy) Serve(l net.Listener) error { return p.gate.Serve(l, p.serve) }

// Close ends every connection the proxy holds.
func (p *Proxy) Close() error { return p.gate.Close() }

// serve takes one client through to its cache, or tells it why not in
// Redis's own words (an error reply) before closing.
func (p *Proxy) serve(raw net.Conn, client netip.Addr, handshook func()) {
	raw.SetDeadline(time.Now().Add(handshakeTimeout))
	tc := tls.Server(raw, p.tls)
	if err := tc.HandshakeContext(context.Background()); err != nil {
		return
	}
	sni := strings.ToLower(strings.TrimSuffix(tc.ConnectionState().ServerName, "."))
	name := p.m.cacheOf(sni)
	if name == "" {
		if sni == "" {
			refuse(tc, "this cache is found by its name: connect with the host name <cache>"+Suffix+" (TLS sends it), not an address")
		} else {
			refuse(tc, fmt.Sprintf("there is no Azure Cache for Redis at %q", sni))
		}
		return
	}
	c, err := p.m.known(name)
	if err != nil {
		refuse(tc, fmt.Sprintf("there is no Azure Cache for Redis at %q", sni))
		return
	}
	if !p.m.allowed(name, client) {
		refuse(tc, fmt.Sprintf("the client address %s is not allowed by the cache's firewall rules", client))
		return
	}
	if !p.take(name) {
		refuse(tc, "max number of clients reached")
		return
	}
	defer p.give(name)
	up, err := dialCache(c)
	if err != nil {
		refuse(tc, "the cache is not running")
		return
	}
	untrack, ok := p.gate.Track(up)
	defer untrack()
	if !ok {
		up.Close()
		return
	}
	handshook()
	raw.SetDeadline(time.Time{})
	gateway.Splice(tc, up)
}

// take counts a connection to a cache, if its server has room for it and
// the platform's.
func (p *Proxy) take(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.perCache[name] >= p.m.maxClients-platformRoom {
		return false
	}
	p.perCache[name]++
	return true
}

func (p *Proxy) give(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.perCache[name]--; p.perCache[name] <= 0 {
		delete(p.perCache, name)
	}
}

func dialCache(c *cache) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.dial(ctx)
}

// cacheOf is the cache a TLS server name names; "" for anything else.
func (m *Manager) cacheOf(sni string) string {
	for _, suffix := range []string{Suffix, "." + Label + "." + strings.ToLower(m.cfg.Domain)} {
		if name, ok := strings.CutSuffix(sni, suffix); ok && validName(name) {
			return name
		}
	}
	return ""
}

// refuse sends a Redis error reply.
func refuse(c net.Conn, msg string) {
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("-ERR " + strings.ReplaceAll(msg, "\r\n", " ") + "\r\n"))
}
