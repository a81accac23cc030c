package frontdoor

// The app lane: the front door's own server side for the plain HTTP/1.1
// requests that make up nearly all of an app's traffic.
//
// net/http's server pays, on every request, for a background read of the
// connection in a goroutine of its own (started before the handler, then
// stopped through a read deadline and a wait for that goroutine) and for
// five read-deadline changes; on this 2-core machine that was a tenth of
// the front door's CPU and much of its tail latency at saturation
// (docs/benchmarks.md). The lane serves a connection on one goroutine: it
// waits for a request head in its own buffer, parses it with net/http's
// parser (http.ReadRequest) and answers through a ResponseWriter that
// follows net/http's server rule for rule (framing, Content-Length,
// sniffed Content-Type, Date, 1xx, trailers, HEAD, Connection: close), so
// that a client cannot tell the two apart; lane_test.go holds them to the
// same bytes.
//
// It takes only the plainest requests: HTTP/1.1 GET and HEAD without a
// body, an upgrade or an expectation, in origin form, with one valid Host
// naming an app, whose head fits the lane's 4 KiB buffer and passes every
// check net/http's server makes. Anything else — a body, a WebSocket, a
// malformed or doubtful head, Kudu, ARM and the platform's other
// services — goes to net/http's server with the connection, handed over
// before a byte of the request is consumed, so that net/http reads it as
// if it had had the connection from the start (DualListener.Accept).
//
// A client that goes away is still noticed: a request that has run for
// watchDelay gets a read of the connection (as net/http's background read)
// that cancels the request's context on end of stream.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

const (
	laneBufSize = 4 << 10 // read and write buffers, as net/http's server
	// chunkingAfter is how much of a body net/http's server holds before
	// it must choose between a Content-Length and chunking.
	chunkingAfter = 2048
	// watchDelay is how long a request runs before the lane watches its
	// connection for the client going away.
	watchDelay = time.Second
	// newConnGrace is how long Shutdown lets a new connection send its
	// first head (net/http's server: 5 seconds in StateNew).
	newConnGrace = 5 * time.Second
)

// Lane serves plain HTTP/1.1 connections for the front door, handing the
// requests it does not take to net/http's server.
type Lane struct {
	handler  http.Handler
	laneable func(*http.Request) bool
	srv      *http.Server // its timeouts (ReadHeader, Idle, Read, Write); its address in requests' contexts
	log      *slog.Logger
	watch    time.Duration

	mu      sync.Mutex
	conns   map[*laneConn]struct{}
	closing atomic.Bool

	served, handed atomic.Int64 // requests served here; connections handed over
}

// Lane returns the app lane for srv, the net/http server that serves the
// front door's other requests.
func (f *FrontDoor) Lane(srv *http.Server) *Lane {
	return newLane(f, f.laneable, srv, f.cfg.Logger)
}

func newLane(h http.Handler, laneable func(*http.Request) bool, srv *http.Server, log *slog.Logger) *Lane {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Lane{handler: h, laneable: laneable, srv: srv, log: log, watch: watchDelay, conns: map[*laneConn]struct{}{}}
}

// Listen wraps inner for srv: TLS connections and the plain ones the lane
// hands over come out of Accept; the lane serves the rest.
func (l *Lane) Listen(inner net.Listener, cfg *tls.Config) *DualListener {
	return newDualListener(inner, cfg, l)
}

// Served is how many requests the lane has answered, Handed how many
// connections it has passed to net/http's server.
func (l *Lane) Served() int64 { return l.served.Load() }
func (l *Lane) Handed() int64 { return l.handed.Load() }

// Shutdown stops the lane as http.Server.Shutdown stops a server: idle
// connections close at once, busy ones after their request; when ctx ends
// first, the rest are closed and ctx's error returned. A connection
// waiting for a head is idle, as in net/http's server (StateIdle until a
// whole head is read; a new connection after newConnGrace).
func (l *Lane) Shutdown(ctx context.Context) error {
	l.closing.Store(true)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		l.mu.Lock()
		for c := range l.conns {
			if c.idle.Load() && (!c.fresh.Load() || time.Since(c.born) > newConnGrace) && c.idle.CompareAndSwap(true, false) {
				c.rwc.Close() // its readRequest sees idle false: no request is served
			}
		}
		n := len(l.conns)
		l.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			l.mu.Lock()
			for c := range l.conns {
				c.rwc.Close()
			}
			l.mu.Unlock()
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func (l *Lane) track(c *laneConn, add bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !add {
		delete(l.conns, c)
		return true
	}
	if l.closing.Load() {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *Lane) headerTimeout() time.Duration {
	if d := l.srv.ReadHeaderTimeout; d > 0 {
		return d
	}
	return l.srv.ReadTimeout
}

func (l *Lane) idleTimeout() time.Duration {
	if d := l.srv.IdleTimeout; d > 0 {
		return d
	}
	return l.srv.ReadTimeout
}

// laneConn is one connection the lane serves.
type laneConn struct {
	lane       *Lane
	rwc        net.Conn
	remoteAddr string
	in         laneReader
	br         *bufio.Reader // the connection
	bw         *bufio.Writer // the connection, through connWriter
	hr         bytes.Reader  // a complete head, for http.ReadRequest
	body       *bufio.Writer // a response's first chunkingAfter bytes
	ctx        context.Context
	cancel     context.CancelFunc
	werr       error
	headBy     time.Time   // the deadline of the head being read, if set
	idle       atomic.Bool // waiting for a head: Shutdown may close it
	fresh      atomic.Bool // no head read yet
	born       time.Time

	// The watch of a long request (watchDelay).
	wmu       sync.Mutex
	armed     bool
	watching  bool
	watchDone chan struct{}
	timer     *time.Timer

	// The current request's cancellation hook (cancelHook), under wmu.
	reqCtx  context.Context
	hook    func()
	hookGen uint64 // counts hooks set, so that a stale stop stops nothing
	hookRan bool
}

// laneReader reads the connection, first giving back the byte a watch
// read (a pipelined request's).
type laneReader struct {
	c       net.Conn
	stash   [1]byte
	stashed bool
}

func (r *laneReader) Read(p []byte) (int, error) {
	if r.stashed && len(p) > 0 {
		p[0], r.stashed = r.stash[0], false
		return 1, nil
	}
	return r.c.Read(p)
}

// connWriter writes to the connection; a failed write cancels the
// connection's context, as net/http's server does.
type connWriter struct{ c *laneConn }

func (w connWriter) Write(p []byte) (int, error) {
	n, err := w.c.rwc.Write(p)
	if err != nil && w.c.werr == nil {
		w.c.werr = err
		w.c.cancelConn()
	}
	return n, err
}

// handedConn is a connection handed to net/http's server. The first read
// deadline that server sets (its header timeout for the head) is no later
// than the one the lane had set for the same head: a head trickled in for
// most of the lane's timeout, then made doubtful, does not get a second.
type handedConn struct {
	peekedConn
	headBy time.Time // zero when the lane had set none (or once used)
}

func (h *handedConn) SetReadDeadline(t time.Time) error {
	if by := h.headBy; !by.IsZero() {
		h.headBy = time.Time{}
		if t.IsZero() || t.After(by) {
			t = by
		}
	}
	return h.Conn.SetReadDeadline(t)
}

// ServeConn serves c until it closes, or hands it to net/http's server
// through handoff (false: that server has stopped; c is closed). A panic
// serving it ends the connection alone, as in net/http's server.
func (l *Lane) ServeConn(rwc net.Conn, handoff func(net.Conn) bool) {
	c := &laneConn{lane: l, rwc: rwc, born: time.Now(), watchDone: make(chan struct{}, 1)}
	if ra := rwc.RemoteAddr(); ra != nil { // net/http's server allows none
		c.remoteAddr = ra.String()
	}
	defer func() {
		if v := recover(); v != nil {
			c.logPanic(v)
			rwc.Close()
		}
	}()
	c.fresh.Store(true)
	c.in.c = rwc
	c.br = bufio.NewReaderSize(&c.in, laneBufSize)
	c.bw = bufio.NewWriterSize(connWriter{c}, laneBufSize)
	c.body = bufio.NewWriterSize(nil, chunkingAfter)
	ctx := context.WithValue(context.Background(), http.ServerContextKey, l.srv)
	ctx = context.WithValue(ctx, http.LocalAddrContextKey, rwc.LocalAddr())
	ctx = context.WithValue(ctx, laneConnKey{}, c)
	c.ctx, c.cancel = context.WithCancel(ctx)
	defer c.cancelConn()
	c.timer = time.AfterFunc(time.Hour, c.watchConn)
	c.timer.Stop()
	if !l.track(c, true) {
		rwc.Close()
		return
	}
	defer l.track(c, false)
	for first := true; ; first = false {
		c.idle.Store(true)
		req, next := c.readRequest(first)
		c.fresh.Store(false)
		if !c.idle.CompareAndSwap(true, false) {
			next = laneClose // Shutdown closed it
		}
		switch next {
		case laneClose:
			rwc.Close()
			return
		case laneHandOff:
			rwc.SetReadDeadline(time.Time{})
			l.track(c, false)
			l.handed.Add(1)
			// What the lane read and did not consume goes with the
			// connection, copied: the lane's buffers are not held for the
			// rest of its life (a WebSocket's may be hours).
			// A watch's byte, not yet read into the buffer, comes after it.
			buffered, _ := c.br.Peek(c.br.Buffered())
			pending := bytes.Clone(buffered)
			if c.in.stashed {
				pending = append(pending, c.in.stash[0])
			}
			if !handoff(&handedConn{peekedConn: peekedConn{Conn: rwc, pending: pending}, headBy: c.headBy}) {
				rwc.Close()
			}
			return
		}
		if !c.serve(req) || l.closing.Load() {
			rwc.Close()
			return
		}
	}
}

type laneNext int

const (
	laneServe laneNext = iota
	laneHandOff
	laneClose
)

// readRequest waits for the next request head and parses it; it returns
// laneServe with a request the lane takes.
func (c *laneConn) readRequest(first bool) (*http.Request, laneNext) {
	l := c.lane
	headDeadline := first
	c.headBy = time.Time{}
	if c.br.Buffered() == 0 {
		d := l.idleTimeout()
		if first {
			d = l.headerTimeout() // the listener read a first byte already
		}
		if by := c.setReadDeadline(d); first {
			c.headBy = by
		}
		_, err := c.br.Peek(1)
		if err != nil {
			return nil, laneClose
		}
	}
	var n, scanned int
	for {
		buf, _ := c.br.Peek(c.br.Buffered())
		var complete bool
		n, complete = headEnd(buf, &scanned)
		if n < 0 {
			return nil, laneHandOff
		}
		if complete {
			break
		}
		if c.br.Buffered() == c.br.Size() {
			return nil, laneHandOff // a head over 4 KiB: net/http's limits
		}
		if !headDeadline {
			c.headBy = c.setReadDeadline(l.headerTimeout())
			headDeadline = true
		}
		if _, err := c.br.Peek(c.br.Buffered() + 1); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return nil, laneClose // as net/http: no answer to a head that timed out
			}
			return nil, laneHandOff // net/http answers a cut head as it would
		}
	}
	buf, _ := c.br.Peek(n)
	c.hr.Reset(buf)
	hbr := headReaders.Get().(*bufio.Reader)
	hbr.Reset(&c.hr)
	req, err := http.ReadRequest(hbr) // takes Host out of the header
	whole := hbr.Buffered() == 0 && c.hr.Len() == 0
	hbr.Reset(nil)
	headReaders.Put(hbr)
	if err != nil || !whole || hostFields(buf) != 1 || !laneTakes(req) || !c.lane.laneable(req) {
		return nil, laneHandOff
	}
	c.br.Discard(n)
	return req, laneServe
}

// setReadDeadline sets the read deadline d from now (none for 0) and
// returns it.
func (c *laneConn) setReadDeadline(d time.Duration) time.Time {
	var t time.Time
	if d > 0 {
		t = time.Now().Add(d)
	}
	c.rwc.SetReadDeadline(t)
	return t
}

// headReaders parse complete heads (an idle connection holds none).
var headReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, laneBufSize) }}

// headEnd finds the end of the request head at the start of buf: n is its
// length when complete. *scanned is where the scan resumes (the start of
// the first line not yet complete), so that a head arriving byte by byte
// is read once. n is -1 for what the lane leaves to net/http: a line
// ending in a bare LF, a CR not before an LF, a head not starting with a
// method.
func headEnd(buf []byte, scanned *int) (n int, complete bool) {
	if len(buf) > 0 && (buf[0] < 'A' || buf[0] > 'Z') {
		return -1, false
	}
	for i := *scanned; i < len(buf); {
		j := bytes.IndexByte(buf[i:], '\n')
		if j < 0 {
			if k := bytes.IndexByte(buf[i:], '\r'); k >= 0 && i+k != len(buf)-1 {
				return -1, false
			}
			*scanned = i
			return 0, false
		}
		j += i
		if j == i || buf[j-1] != '\r' || bytes.IndexByte(buf[i:j-1], '\r') >= 0 {
			return -1, false
		}
		if j-1 == i {
			return j + 1, true // the empty line
		}
		i = j + 1
	}
	*scanned = len(buf)
	return 0, false
}

// hostFields counts the Host fields of a complete head (http.ReadRequest
// keeps the first and drops them all from the header).
func hostFields(head []byte) int {
	n := 0
	_, rest, _ := bytes.Cut(head, []byte("\r\n")) // the request line
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		if name, _, ok := bytes.Cut(line, []byte(":")); ok && len(name) == 4 && bytes.EqualFold(name, []byte("host")) {
			n++
		}
	}
	return n
}

// laneTakes reports whether req is one the lane serves: the checks
// net/http's server makes of every request all pass, and nothing in it
// needs more than a bodiless exchange.
func laneTakes(req *http.Request) bool {
	if req.ProtoMajor != 1 || req.ProtoMinor != 1 || (req.Method != "GET" && req.Method != "HEAD") ||
		req.ContentLength != 0 || len(req.TransferEncoding) != 0 || req.Body != http.NoBody ||
		req.URL.Host != "" || !strings.HasPrefix(req.RequestURI, "/") {
		return false
	}
	if req.Host == "" || !httpguts.ValidHostHeader(req.Host) {
		return false
	}
	h := req.Header
	for k, vv := range h {
		switch k {
		case "Content-Length", "Transfer-Encoding", "Upgrade", "Expect":
			return false
		case "Connection":
			for _, v := range vv {
				if !strings.EqualFold(v, "keep-alive") && !strings.EqualFold(v, "close") {
					return false
				}
			}
		}
		if !httpguts.ValidHeaderFieldName(k) {
			return false
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return false
			}
		}
	}
	return true
}

// serve answers one request and reports whether the connection may carry
// the next.
func (c *laneConn) serve(req *http.Request) bool {
	ctx, cancel := context.WithCancel(c.ctx)
	c.wmu.Lock()
	c.reqCtx = ctx
	c.wmu.Unlock()
	req = req.WithContext(ctx)
	req.RemoteAddr = c.remoteAddr
	w := &laneResponse{c: c, req: req, handlerHeader: make(http.Header), contentLength: -1}
	w.cw.res = w
	c.body.Reset(&w.cw)
	wt := c.lane.srv.WriteTimeout // as net/http's server: from the head's end to the answer's
	if wt > 0 {
		c.rwc.SetWriteDeadline(time.Now().Add(wt))
	}
	c.arm()
	ok := c.run(w, req)
	cancel()
	c.fireHook() // a hook still set runs, as context.AfterFunc's would
	c.disarm()
	c.lane.served.Add(1)
	if !ok {
		c.bw.Flush() // as net/http's server, before it closes
		return false
	}
	w.finishRequest()
	if wt > 0 {
		c.rwc.SetWriteDeadline(time.Time{})
	}
	return w.shouldReuseConnection()
}

// run calls the handler; a panic ends the connection (logged unless it is
// http.ErrAbortHandler), as in net/http's server.
func (c *laneConn) run(w *laneResponse, req *http.Request) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			c.logPanic(v)
			ok = false
		}
	}()
	c.lane.handler.ServeHTTP(w, req)
	return true
}

// logPanic logs a panic serving the connection, with its stack, unless it
// is http.ErrAbortHandler.
func (c *laneConn) logPanic(v any) {
	if v == http.ErrAbortHandler {
		return
	}
	buf := make([]byte, 64<<10)
	buf = buf[:runtime.Stack(buf, false)]
	c.lane.log.Error("http: panic serving "+c.remoteAddr, "panic", v, "stack", string(buf))
}

// arm starts the watch of a request that will run long, unless a watch
// has already read a byte of what follows. Bytes of pipelined requests
// already buffered do not stop it: the watch reads past them, as
// net/http's background read does, and the byte it reads comes after
// them (laneReader gives it when the buffer asks the connection for
// more).
func (c *laneConn) arm() {
	if c.in.stashed || c.lane.watch <= 0 {
		return
	}
	c.wmu.Lock()
	c.armed, c.watching = true, false
	c.wmu.Unlock()
	c.timer.Reset(c.lane.watch)
}

// watchConn runs on the timer: it reads the connection until the request
// ends (a deadline in the past from disarm), the client sends a byte (kept
// for the next request), or the connection ends (the request's context is
// cancelled, as net/http's background read does).
func (c *laneConn) watchConn() {
	c.wmu.Lock()
	if !c.armed || c.watching {
		c.wmu.Unlock()
		return
	}
	// Under the lock, so that disarm's deadline in the past comes after.
	c.rwc.SetReadDeadline(time.Time{})
	c.watching = true
	c.wmu.Unlock()
	n, err := c.in.c.Read(c.in.stash[:])
	if n == 1 {
		c.in.stashed = true
	}
	var ne net.Error
	if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
		c.cancelConn()
	}
	c.watchDone <- struct{}{}
}

// cancelConn cancels the connection's context, and so the request's, and
// runs the request's cancellation hook.
func (c *laneConn) cancelConn() {
	c.cancel()
	c.fireHook()
}

// disarm ends the watch, waiting for a watch read under way.
func (c *laneConn) disarm() {
	if !c.armed {
		return
	}
	c.timer.Stop()
	c.wmu.Lock()
	watching := c.watching
	c.armed, c.watching = false, false
	c.wmu.Unlock()
	if watching {
		c.rwc.SetReadDeadline(aLongTimeAgo)
		<-c.watchDone
	}
}
