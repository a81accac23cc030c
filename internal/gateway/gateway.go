// Package gateway is what the platform's TCP services for tenants
// (PostgreSQL flexible servers, Azure Cache for Redis) share in front of
// their backends, as Azure's gateways are: an accept loop that bounds the
// connections it holds, all clients together and per client address (so
// that one tenant cannot take every slot, a connection holding one for its
// whole life), ends every connection at shutdown, and joins a client to its
// backend.
package gateway

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Limits bound the connections a gate holds.
type Limits struct {
	// Max is every client's together.
	Max int
	// PerClient is one client address's.
	PerClient int
	// HandshakesPerClient is one address's connections that have not yet
	// signed in (TLS, the protocol's greeting, the password), which cost
	// the client nothing to hold until the handshake's deadline: filling
	// the gate with them then takes many addresses, not Max/PerClient.
	HandshakesPerClient int
}

// Gate accepts and tracks connections. It is safe for concurrent use.
type Gate struct {
	slots  chan struct{}
	limits Limits

	mu         sync.Mutex
	closing    bool
	conns      map[net.Conn]struct{}
	perAddr    map[netip.Addr]int
	handshakes map[netip.Addr]int
}

// New returns a gate with the limits.
func New(l Limits) *Gate {
	return &Gate{slots: make(chan struct{}, l.Max), limits: l, conns: map[net.Conn]struct{}{},
		perAddr: map[netip.Addr]int{}, handshakes: map[netip.Addr]int{}}
}

// Serve accepts connections on l until it is closed and runs handle for
// each in a goroutine of its own, closing the connection when handle
// returns; handle calls handshook once the client has signed in. A
// connection past the limits is closed at once.
func (g *Gate) Serve(l net.Listener, handle func(conn net.Conn, client netip.Addr, handshook func())) error {
	var backoff time.Duration
	for {
		conn, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS), or a
			// timeout: the condition passes, as net/http's server
			// assumes; returning would end the service for every tenant.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		select {
		case g.slots <- struct{}{}:
		default:
			conn.Close()
			continue
		}
		addr := AddrOf(conn.RemoteAddr())
		if !g.admit(conn, addr) {
			<-g.slots
			conn.Close()
			continue
		}
		var once sync.Once
		handshook := func() { once.Do(func() { g.handshook(addr) }) }
		go func() {
			defer func() { <-g.slots }()
			defer g.release(conn, addr)
			defer handshook()
			defer conn.Close()
			handle(conn, addr, handshook)
		}()
	}
}

func (g *Gate) admit(c net.Conn, addr netip.Addr) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing || g.perAddr[addr] >= g.limits.PerClient || g.handshakes[addr] >= g.limits.HandshakesPerClient {
		return false
	}
	g.perAddr[addr]++
	g.handshakes[addr]++
	g.conns[c] = struct{}{}
	return true
}

// handshook counts a connection of addr as signed in.
func (g *Gate) handshook(addr netip.Addr) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.handshakes[addr]--; g.handshakes[addr] <= 0 {
		delete(g.handshakes, addr)
	}
}

func (g *Gate) release(c net.Conn, addr netip.Addr) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.perAddr[addr]--; g.perAddr[addr] <= 0 {
		delete(g.perAddr, addr)
	}
	delete(g.conns, c)
}

// Track has Close end a connection the caller opened (a backend's); the
// returned func stops tracking it. It reports false when the gate is
// closing.
func (g *Gate) Track(c net.Conn) (untrack func(), ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return func() {}, false
	}
	g.conns[c] = struct{}{}
	return func() {
		g.mu.Lock()
		delete(g.conns, c)
		g.mu.Unlock()
	}, true
}

// Close ends every connection the gate holds (the listeners are the
// caller's).
func (g *Gate) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closing = true
	for c := range g.conns {
		c.Close()
	}
	return nil
}

// Splice copies bytes both ways between a client and its backend until
// either side ends, then closes both.
func Splice(client, backend net.Conn) {
	done := make(chan struct{}, 2)
	go func() {
		io.Copy(backend, client)
		if cw, ok := backend.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		done <- struct{}{}
	}()
	go func() { io.Copy(client, backend); client.Close(); done <- struct{}{} }()
	<-done
	client.Close()
	backend.Close()
	<-done
}

// AddrOf is a connection's remote IP address.
func AddrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			return ip.Unmap()
		}
	}
	return netip.Addr{}
}

// Certificates wraps getCert so that a server name the platform's root does
// not cover still gets a handshake, with the leaf of fallback (a name of
// the platform's own zone): the client then learns in words that there is
// no such server, instead of a TLS alert.
func Certificates(getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error), fallback string) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		c, err := getCert(hello)
		if err != nil {
			h := *hello
			h.ServerName = fallback
			return getCert(&h)
		}
		return c, nil
	}
}

// Range is an inclusive range of IPv4 client addresses, as Azure's
// firewall rules name them.
type Range struct{ Start, End netip.Addr }

// Contains reports whether a is an IPv4 address in the range.
func (r Range) Contains(a netip.Addr) bool {
	a = a.Unmap()
	return a.Is4() && r.Start.Compare(a) <= 0 && a.Compare(r.End) <= 0
}
