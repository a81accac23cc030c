package frontdoor

// HTTP/2 answers in one TLS record.
//
// Go's HTTP/2 server writes a small answer in two flushes: a handler's
// HEADERS frame is written and flushed on its own (the handler waits for
// it, since the server must not read the header map after the handler goes
// on), and only then is the DATA frame queued and flushed. Each flush is a
// TLS record, a write system call and a wake-up of the client; on this
// 2-core machine that kept the front door's HTTP/2 under 0.8× nginx's
// rate (docs/benchmarks.md).
//
// h2Conn sits between the HTTP/2 server and the TLS connection and follows
// the server's frames (the server's bytes are frames from the first one;
// a write ends on a frame boundary or inside a frame the next write
// continues). A write that ends with a HEADERS frame that closes its header
// block but not its stream — a response head whose body is to follow — is
// held and goes out with the next write, usually the DATA frame a few
// microseconds later, in one record. What is held goes out anyway after
// h2HoldFor, so the head of a stream whose body is slow to come (server-sent
// events, a long poll) reaches the client within that delay; an answer whose
// body follows at once is not later than before, since its body goes out
// with its head. A write that does not end in such a head — DATA, SETTINGS,
// PING, GOAWAY, RST_STREAM, WINDOW_UPDATE, trailers — goes out at once,
// behind what was held, in order; frames that share one write with a head
// (the server flushes what it has queued) wait with it, at most h2HoldFor.
// So does a 1xx head (100 Continue, 103 Early Hints): telling it apart
// would mean following the HPACK state. At most h2HoldMax bytes are held.

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

const (
	// h2HoldFor is the longest a response's head waits for its body. Under
	// load the body can take a millisecond to be queued (the handler's
	// goroutine must run again); at 500 µs 12% of heads went out alone.
	h2HoldFor = 2 * time.Millisecond
	// h2HoldMax bounds the bytes held (a response head is a few hundred).
	h2HoldMax = 16 << 10
	// HTTP/2 frame header fields (RFC 9113 §4.1, §6.2).
	h2FrameHeaderLen = 9
	h2FrameHeaders   = 0x1
	h2FlagEndStream  = 0x1
	h2FlagEndHeaders = 0x4
)

// ConfigureHTTP2 serves srv's HTTP/2 connections (TLS with ALPN "h2") with
// golang.org/x/net/http2's server — the code net/http bundles as its own
// in Go 1.26 — each through an h2Conn. The server registers for srv's
// Shutdown (GOAWAY, then waiting for open streams) and takes srv's
// IdleTimeout, as net/http's own does. Call it before srv serves.
//
// Built with Go 1.27 or later, x/net/http2 hands connections to net/http's
// own server instead (its server_wrap.go); requests must still carry the
// connection's TLS state (r.TLS: HTTPS Only, X-Forwarded-Proto), which
// TestHTTP2SmallAnswerInOneRecord checks along with the single record.
func ConfigureHTTP2(srv *http.Server) error {
	h2 := &http2.Server{}
	if err := http2.ConfigureServer(srv, h2); err != nil {
		return err
	}
	srv.TLSNextProto["h2"] = func(hs *http.Server, c *tls.Conn, h http.Handler) {
		// As http2.ConfigureServer's own: net/http passes the
		// connection's base context through the handler it gives.
		var ctx context.Context
		if bc, ok := h.(interface{ BaseContext() context.Context }); ok {
			ctx = bc.BaseContext()
		}
		hc := newH2Conn(c)
		defer hc.stop()
		h2.ServeConn(hc, &http2.ServeConnOpts{Context: ctx, Handler: h, BaseConfig: hs})
	}
	return nil
}

// tlsConn is what h2Conn wraps: a TLS connection (the HTTP/2 server takes
// the connection's TLS state from ConnectionState, for requests' r.TLS).
type tlsConn interface {
	net.Conn
	ConnectionState() tls.ConnectionState
}

// h2Conn is a connection served by the HTTP/2 server; see the top of this
// file.
type h2Conn struct {
	tlsConn // Read, deadlines, addresses, ConnectionState

	mu    sync.Mutex
	held  []byte // written, not yet sent; ends with a response head
	timer *time.Timer
	err   error // a held write's failure, for the next Write
	f     h2Frames
}

func newH2Conn(c tlsConn) *h2Conn {
	hc := &h2Conn{tlsConn: c}
	hc.timer = time.AfterFunc(time.Hour, hc.release)
	hc.timer.Stop()
	return hc
}

func (c *h2Conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if c.f.scan(p) && len(c.held)+len(p) <= h2HoldMax {
		if len(c.held) == 0 {
			c.timer.Reset(h2HoldFor)
		}
		c.held = append(c.held, p...)
		return len(p), nil
	}
	if len(c.held) == 0 {
		return c.tlsConn.Write(p)
	}
	c.timer.Stop()
	c.held = append(c.held, p...)
	err := c.sendHeldLocked()
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// sendHeldLocked writes what is held; a failure is the connection's.
func (c *h2Conn) sendHeldLocked() error {
	_, err := c.tlsConn.Write(c.held)
	c.held = c.held[:0]
	if cap(c.held) > h2HoldMax {
		c.held = nil // a large write went through: do not keep its buffer
	}
	if err != nil {
		c.err = err
	}
	return err
}

// release sends what is held when no write has come for h2HoldFor. A
// failure closes the connection, so that the server's reader ends it.
func (c *h2Conn) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.held) > 0 && c.err == nil && c.sendHeldLocked() != nil {
		c.tlsConn.Close()
	}
}

// Close closes the connection. What is held is dropped: the server closes
// a connection with a response head held only when it gives up on the
// stream (a graceful shutdown's GOAWAY, itself a write, sends it first).
// A write in progress, perhaps to a client that reads nothing, is not
// waited for: closing the TLS connection breaks it.
func (c *h2Conn) Close() error {
	if c.mu.TryLock() {
		c.dropLocked()
		c.mu.Unlock()
	}
	return c.tlsConn.Close()
}

// stop ends the timer once the server is done with the connection.
func (c *h2Conn) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked()
}

func (c *h2Conn) dropLocked() {
	c.timer.Stop()
	c.held = nil
	if c.err == nil {
		c.err = net.ErrClosed
	}
}

// h2Frames follows the frame boundaries of a stream of HTTP/2 frames
// written in arbitrary pieces.
type h2Frames struct {
	hdr   [h2FrameHeaderLen]byte
	hn    int // bytes of hdr seen
	rem   int // payload bytes of the current frame still to come
	typ   byte
	flags byte
}

// scan follows p and reports whether it ends exactly at the end of a
// HEADERS frame that ends its header block but not its stream.
func (f *h2Frames) scan(p []byte) bool {
	for len(p) > 0 {
		if f.rem > 0 {
			n := min(f.rem, len(p))
			f.rem -= n
			p = p[n:]
			continue
		}
		n := copy(f.hdr[f.hn:], p)
		f.hn += n
		p = p[n:]
		if f.hn < h2FrameHeaderLen {
			return false
		}
		f.hn = 0
		f.rem = int(f.hdr[0])<<16 | int(f.hdr[1])<<8 | int(f.hdr[2])
		f.typ, f.flags = f.hdr[3], f.hdr[4]
	}
	return f.hn == 0 && f.rem == 0 && f.typ == h2FrameHeaders &&
		f.flags&h2FlagEndHeaders != 0 && f.flags&h2FlagEndStream == 0
}
