package rediscache

// The proxy in front of every cache, in the place of Azure's gateway: TLS
// on the cache's SSL port, the cache found by the TLS server name, its
// firewall rules applied to the client's address, then the client joined
// to the cache's socket. The cache checks the access key itself (AUTH).

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
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
// signed in once its cache has taken its first command (AUTH or HELLO).
var limits = gateway.Limits{Max: 4000, PerClient: 512, HandshakesPerClient: 32}

// Proxy serves Redis clients for a Manager.
type Proxy struct {
	m    *Manager
	tls  *tls.Config
	gate *gateway.Gate

	// signIn is how long a client has, from its TLS handshake, to sign
	// in with its first command.
	signIn time.Duration

	mu       sync.Mutex
	perCache map[string]int // connections joined to each cache
}

// NewProxy returns the proxy for m, serving TLS with certificates from
// getCert (the platform's CA: *.redis.cache.windows.net, *.redis.<domain>).
func (m *Manager) NewProxy(getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *Proxy {
	fallback := "caches." + Label + "." + strings.ToLower(m.cfg.Domain)
	return &Proxy{m: m, gate: gateway.New(limits), perCache: map[string]int{}, signIn: handshakeTimeout,
		tls: &tls.Config{GetCertificate: gateway.Certificates(getCert, fallback), MinVersion: tls.VersionTLS12}}
}

// Serve accepts clients on l until it is closed; internal says whether
// its clients are Slipway's apps (the instances' gateway).
func (p *Proxy) Serve(l net.Listener, internal bool) error {
	return p.gate.Serve(l, func(conn net.Conn, client netip.Addr, handshook func()) { p.serve(conn, client, internal, handshook) })
}

// Close ends every connection the proxy holds.
func (p *Proxy) Close() error { return p.gate.Close() }

// serve takes one client through to its cache, or tells it why not in
// Redis's own words (an error reply) before closing.
func (p *Proxy) serve(raw net.Conn, client netip.Addr, internal bool, handshook func()) {
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
	if !p.m.allowed(name, client, internal) {
		refuse(tc, fmt.Sprintf("the client address %s is not allowed by the cache's firewall rules", client))
		return
	}
	// Signing in comes first, within signIn: anyone may connect, and
	// otherwise a client without a key would hold one of the cache's
	// connections for as long as it liked.
	raw.SetDeadline(time.Now().Add(p.signIn))
	br := bufio.NewReaderSize(tc, maxSignIn)
	first, err := readSignIn(br)
	if err != nil {
		if errors.Is(err, errNotSignIn) {
			tc.Write([]byte("-NOAUTH Authentication required.\r\n"))
		}
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
	up.SetDeadline(time.Now().Add(p.signIn))
	ub := bufio.NewReader(up)
	if _, err := up.Write(first); err != nil {
		return
	}
	if b, err := ub.Peek(1); err != nil {
		return
	} else if b[0] == '-' {
		// Not signed in: the server's error, then the end.
		line, _ := ub.ReadSlice('\n')
		tc.Write(line)
		return
	}
	handshook()
	raw.SetDeadline(time.Time{})
	up.SetDeadline(time.Time{})
	gateway.Splice(&buffered{tc, br}, &buffered{up, ub})
}

// maxSignIn bounds a client's first command.
const maxSignIn = 4096

var errNotSignIn = errors.New("the first command does not sign in")

// readSignIn reads a client's first command, in RESP or inline, and
// returns its bytes: it must be AUTH or HELLO (HELLO 3 AUTH user key).
func readSignIn(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), line...)
	var name string
	if line[0] == '*' {
		n, err := strconv.Atoi(strings.TrimSpace(string(line[1:])))
		if err != nil || n < 1 || n > 16 {
			return nil, errNotSignIn
		}
		for i := range n {
			hdr, err := br.ReadSlice('\n')
			if err != nil {
				return nil, err
			}
			size, err := strconv.Atoi(strings.TrimSpace(string(hdr[1:])))
			if hdr[0] != '$' || err != nil || size < 0 || size > maxSignIn {
				return nil, errNotSignIn
			}
			out = append(out, hdr...)
			arg := make([]byte, size+2)
			if _, err := io.ReadFull(br, arg); err != nil {
				return nil, err
			}
			out = append(out, arg...)
			if i == 0 {
				name = string(arg[:size])
			}
		}
	} else if f := strings.Fields(string(line)); len(f) > 0 {
		name = f[0]
	}
	if !strings.EqualFold(name, "AUTH") && !strings.EqualFold(name, "HELLO") {
		return nil, errNotSignIn
	}
	return out, nil
}

// buffered is a connection whose reads go through a reader that may hold
// bytes already read from it.
type buffered struct {
	net.Conn
	r *bufio.Reader
}

func (b *buffered) Read(p []byte) (int, error) { return b.r.Read(p) }

func (b *buffered) CloseWrite() error {
	if cw, ok := b.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
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
