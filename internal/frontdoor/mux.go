package frontdoor

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// handshakeByte starts every TLS connection (a handshake record); no HTTP
// method starts with it.
const handshakeByte = 0x16

// sniffTimeout bounds how long a new connection may stay silent before it
// is known to be TLS or plain HTTP.
const sniffTimeout = 10 * time.Second

// DualListener serves HTTP and HTTPS on one port: each connection's first
// byte says which (a TLS handshake record, or an HTTP request line), and
// TLS connections are handed out already wrapped, so that an http.Server
// serving this listener sees *tls.Conn (and speaks HTTP/2 when ALPN
// agrees). The first byte is read in a goroutine per connection, so a
// silent client never holds up Accept.
type DualListener struct {
	inner net.Listener
	tls   *tls.Config
	lane  *Lane // serves plain connections when set (lane.go)
	conns chan net.Conn
	errs  chan error
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	sniffing map[net.Conn]struct{} // Close closes them: their first byte may be 10 s away
}

// NewDualListener wraps inner; cfg serves the TLS connections.
func NewDualListener(inner net.Listener, cfg *tls.Config) *DualListener {
	return newDualListener(inner, cfg, nil)
}

func newDualListener(inner net.Listener, cfg *tls.Config, lane *Lane) *DualListener {
	l := &DualListener{inner: inner, tls: cfg, lane: lane, conns: make(chan net.Conn), errs: make(chan error, 1), done: make(chan struct{}),
		sniffing: map[net.Conn]struct{}{}}
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

func (l *DualListener) acceptLoop() {
	defer l.wg.Done()
	for {
		c, err := l.inner.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			select {
			case l.errs <- err:
			case <-l.done:
			}
			return
		}
		l.wg.Add(1)
		go func() {
			if plain := l.sniff(c); plain != nil {
				l.lane.ServeConn(plain, l.handoff)
			}
		}()
	}
}

// sniff reads c's first byte and hands c out through Accept, or returns
// it when it is plain HTTP and the lane serves it.
func (l *DualListener) sniff(c net.Conn) net.Conn {
	defer l.wg.Done()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		c.Close()
		return nil
	}
	l.sniffing[c] = struct{}{}
	l.mu.Unlock()
	c.SetReadDeadline(time.Now().Add(sniffTimeout))
	var first [1]byte
	_, err := io.ReadFull(c, first[:])
	l.mu.Lock()
	delete(l.sniffing, c)
	l.mu.Unlock()
	c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return nil
	}
	var out net.Conn = &peekedConn{Conn: c, pending: first[:]}
	if first[0] == handshakeByte {
		out = tls.Server(out, l.tls)
	} else if l.lane != nil {
		return out
	}
	if !l.handoff(out) {
		c.Close()
	}
	return nil
}

// handoff gives c to the server calling Accept; false once the listener
// is closed.
func (l *DualListener) handoff(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		return false
	}
}

// Accept returns the next connection, TLS ones as *tls.Conn.
func (l *DualListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errs:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting and closes the connections still being sniffed
// (none has had an answer, nor is a server's to close), waiting for their
// goroutines; a silent client would hold it for sniffTimeout otherwise.
func (l *DualListener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		err = l.inner.Close()
		l.mu.Lock()
		l.closed = true
		for c := range l.sniffing {
			c.Close()
		}
		l.mu.Unlock()
		l.wg.Wait()
	})
	return err
}

// Addr is the inner listener's address.
func (l *DualListener) Addr() net.Addr { return l.inner.Addr() }

// peekedConn gives back the byte sniffing read, then reads the connection.
type peekedConn struct {
	net.Conn
	pending []byte
}

func (p *peekedConn) Read(b []byte) (int, error) {
	if len(p.pending) > 0 {
		n := copy(b, p.pending)
		p.pending = p.pending[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}
