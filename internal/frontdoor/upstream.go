package frontdoor

// upstreamTransport is the front door's own HTTP/1.1 client for the requests
// that make up nearly all of an app's traffic: those without a body (GET,
// HEAD, a POST with Content-Length 0) and without an Upgrade. It exists
// because the profile of the front door under load (docs/benchmarks.md, "The
// front door") showed net/http's Transport spending a third of the CPU in the
// two goroutines it runs per connection (writeLoop and readLoop) and in the
// channel hand-offs between them and the handler — and, for apps whose server
// closes every connection (gunicorn's sync workers, App Service's default
// line), a dial goroutine and two new goroutines per request. Here the
// handler's goroutine dials (or takes an idle connection), writes the request
// and reads the response itself, as nginx does from its one thread.
//
// Everything else — request bodies (where an app may answer before reading
// the body, which needs the concurrent read and write the standard Transport
// does), Expect: 100-continue, WebSocket and other upgrades, HTTPS upstreams —
// goes to the standard Transport unchanged.
//
// The upstream is hostile (an app's own server): the response head is read
// under a size limit and a timeout; at most five informational (1xx)
// responses are accepted before the real one; a 101 to a request that asked
// for no upgrade is refused; a connection is only reused when its response
// was read to its end with nothing after it; and an idle connection is
// checked (a non-blocking peek) before it is reused, so a connection the app
// closed while idle is never written to. A request that fails on a reused
// connection before any byte of the answer arrived is retried once on a new
// connection when it is replayable (GET, HEAD, OPTIONS, TRACE), as net/http
// does.
//
// Two costs per request are saved under load (measured together: 3% more
// requests per second, 5% less CPU per request; docs/benchmarks.md, "fifth
// pass"):
//   - the peek (a system call) is skipped for a replayable request on a
//     connection idle for less than freshIdle: an app closing a connection
//     that soon after answering on it is rare (keep-alive timeouts are
//     seconds), and the retry above covers it (nginx checks nothing at reuse;
//     its event loop watches idle connections).
//   - the head timeout is a read deadline set per connection, not per
//     request: it is re-armed only when the one set has aged by more than
//     1/256 of the timeout, and it is cleared only when the body must be read
//     from the network (one that is already buffered needs no read).

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"syscall"
	"time"
)

const (
	maxUpstreamHeaderBytes = 1 << 20 // the response head an app may send
	freshIdle              = 250 * time.Millisecond
	max1xxResponses        = 5 // as net/http's Transport
	upstreamBufSize        = 4 << 10
)

type upstreamTransport struct {
	next              http.RoundTripper // requests the fast path does not take
	dialer            *net.Dialer
	respHeaderTimeout time.Duration
	idleTimeout       time.Duration
	maxIdlePerHost    int

	mu     sync.Mutex
	idle   map[string][]*upConn // by host:port; the newest last
	reaper *time.Timer          // armed while any connection is idle
}

// upConn is one connection to an instance.
type upConn struct {
	t      *upstreamTransport
	key    string
	c      net.Conn
	raw    syscall.RawConn // for the liveness peek; nil when unavailable
	peek   func(fd uintptr)
	peekOK bool
	lr     limitedConn
	br     *bufio.Reader
	bw     *bufio.Writer
	idleAt time.Time
	// deadline is the read deadline set on c: zero when none. It is only
	// ever set by the goroutine using the connection (or the cancellation,
	// after which the connection is closed).
	deadline time.Time
	abort    func() // ends a read or write under way: the request was cancelled
}

// limitedConn bounds what is read of a response head; read counts the bytes
// read since the request was written, to tell a connection that failed
// before answering from one that failed midway.
type limitedConn struct {
	c     net.Conn
	limit int64
	read  int64
}

func (l *limitedConn) Read(p []byte) (int, error) {
	if l.limit <= 0 {
		return 0, errHeadTooLarge
	}
	if int64(len(p)) > l.limit {
		p = p[:l.limit]
	}
	n, err := l.c.Read(p)
	l.limit -= int64(n)
	l.read += int64(n)
	return n, err
}

var (
	errHeadTooLarge = errors.New("the app's response head is larger than 1 MiB")
	errUnasked101   = errors.New("the app switched protocols on a request that asked for no upgrade")
	errTooMany1xx   = errors.New("the app sent too many informational (1xx) responses")
	errHeadTimeout  = errors.New("the app sent no response head within the request timeout")
	errBadStatus    = errors.New("the app sent a status code below 100")
)

func newUpstreamTransport(next http.RoundTripper, dialer *net.Dialer, respHeaderTimeout, idleTimeout time.Duration, maxIdlePerHost int) *upstreamTransport {
	return &upstreamTransport{
		next:              next,
		dialer:            dialer,
		respHeaderTimeout: respHeaderTimeout,
		idleTimeout:       idleTimeout,
		maxIdlePerHost:    maxIdlePerHost,
		idle:              make(map[string][]*upConn),
	}
}

// fast reports whether the request is one this transport carries itself.
func fast(req *http.Request) bool {
	if req.URL.Scheme != "http" || req.ContentLength != 0 || (req.Body != nil && req.Body != http.NoBody) {
		return false
	}
	h := req.Header
	return len(h["Upgrade"]) == 0 && len(h["Expect"]) == 0 && len(h["Transfer-Encoding"]) == 0 && len(req.TransferEncoding) == 0
}

func replayable(req *http.Request) bool {
	switch req.Method {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return true
	}
	return false
}

// requestHead writes the head of a request the transport carries itself
// and takes the informational (1xx) answers other than 100 Continue that
// come before the real one.
type requestHead interface {
	write(bw *bufio.Writer, req *http.Request) error
	got1xx(req *http.Request, code int, h http.Header) error
}

// outgoing is the head of a request built as an *http.Request (by
// httputil.ReverseProxy): written as Request.Write would (reqhead.go), with
// 1xx answers given to the request's httptrace.ClientTrace.
type outgoing struct{}

func (outgoing) write(bw *bufio.Writer, req *http.Request) error { return writeHead(bw, req) }

func (outgoing) got1xx(req *http.Request, code int, h http.Header) error {
	if trace := httptrace.ContextClientTrace(req.Context()); trace != nil && trace.Got1xxResponse != nil {
		return trace.Got1xxResponse(code, textproto.MIMEHeader(h))
	}
	return nil
}

func (t *upstreamTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !fast(req) {
		return t.next.RoundTrip(req)
	}
	return t.roundTrip(req, outgoing{})
}

// roundTrip carries a request that fast accepts, its head written by head.
func (t *upstreamTransport) roundTrip(req *http.Request, head requestHead) (*http.Response, error) {
	key := req.URL.Host
	if req.URL.Port() == "" {
		key = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	pc, err := t.getConn(req.Context(), key, true, replayable(req))
	if err != nil {
		return nil, err
	}
	resp, err := pc.roundTrip(req, head)
	// A reused connection the app closed as the request went out: nothing
	// of an answer came, and not for the client's or the clock's reasons.
	if err != nil && pc.idleAt != (time.Time{}) && pc.lr.read == 0 && replayable(req) &&
		req.Context().Err() == nil && !errors.Is(err, errHeadTimeout) {
		if pc, err = t.getConn(req.Context(), key, false, false); err != nil {
			// The app may have read the request before it dropped the
			// connection: not an instance that refused it, so the front
			// door must not send it to another one (%v, not %w: isRefused
			// must not see the dial error).
			return nil, fmt.Errorf("the app closed the connection without answering, and a new connection failed: %v", err)
		}
		resp, err = pc.roundTrip(req, head)
	}
	return resp, err
}

// getConn returns an idle connection that is still open, or a new one. A
// replayable request takes a connection idle for less than freshIdle
// without the peek.
func (t *upstreamTransport) getConn(ctx context.Context, key string, reuse, replayable bool) (*upConn, error) {
	for reuse {
		pc, idle := t.takeIdle(key)
		if pc == nil {
			break
		}
		if pc.br.Buffered() == 0 && replayable && idle < freshIdle || pc.alive() {
			return pc, nil
		}
		pc.c.Close()
	}
	var c net.Conn
	var err error
	if ap, ok := dialable(key); ok {
		c, err = dialIP(ctx, ap, t.dialer.Timeout) // dial.go
	} else {
		c, err = t.dialer.DialContext(ctx, "tcp", key)
	}
	if err != nil {
		return nil, err
	}
	pc := &upConn{t: t, key: key, c: c}
	pc.abort = func() { c.SetDeadline(aLongTimeAgo) }
	if sc, ok := c.(syscall.Conn); ok {
		pc.raw, _ = sc.SyscallConn()
		pc.peek = pc.peekFD // made once: a closure per check would allocate
	}
	pc.lr.c = c
	pc.br = bufio.NewReaderSize(&pc.lr, upstreamBufSize)
	pc.bw = bufio.NewWriterSize(c, upstreamBufSize)
	return pc, nil
}

// takeIdle takes the most recently idle connection to key that has not
// outlived idleTimeout, with how long it has been idle.
func (t *upstreamTransport) takeIdle(key string) (*upConn, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	conns := t.idle[key]
	for len(conns) > 0 {
		pc := conns[len(conns)-1]
		conns[len(conns)-1] = nil
		conns = conns[:len(conns)-1]
		if idle := time.Since(pc.idleAt); idle < t.idleTimeout {
			t.setIdle(key, conns)
			return pc, idle
		}
		pc.c.Close()
	}
	t.setIdle(key, conns)
	return nil, 0
}

func (t *upstreamTransport) setIdle(key string, conns []*upConn) {
	if len(conns) == 0 {
		delete(t.idle, key)
	} else {
		t.idle[key] = conns
	}
}

// putIdle keeps a connection whose last response was read to its end.
func (t *upstreamTransport) putIdle(pc *upConn) {
	pc.idleAt = time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	conns := t.idle[pc.key]
	if len(conns) >= t.maxIdlePerHost {
		pc.c.Close()
		return
	}
	t.idle[pc.key] = append(conns, pc)
	if t.reaper == nil {
		t.reaper = time.AfterFunc(t.idleTimeout, t.reap)
	}
}

// reap closes connections idle for longer than idleTimeout — those to
// instances that are gone would otherwise stay open — and re-arms itself
// while any connection is idle.
func (t *upstreamTransport) reap() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for key, conns := range t.idle {
		kept := conns[:0]
		for _, pc := range conns {
			if time.Since(pc.idleAt) >= t.idleTimeout {
				pc.c.Close()
			} else {
				kept = append(kept, pc)
			}
		}
		clear(conns[len(kept):])
		t.setIdle(key, kept)
	}
	if len(t.idle) > 0 {
		t.reaper.Reset(t.idleTimeout)
	} else {
		t.reaper = nil
	}
}

// alive reports whether an idle connection is still open and silent: a
// non-blocking peek finds no data and no end of stream.
func (pc *upConn) alive() bool {
	if pc.br.Buffered() > 0 {
		return false
	}
	if pc.raw == nil {
		return true
	}
	pc.peekOK = false
	// Control, not Read: the peek must not fail on a read deadline the
	// connection still carries from its last answer (armHeadTimeout).
	err := pc.raw.Control(pc.peek)
	return err == nil && pc.peekOK
}

func (pc *upConn) peekFD(fd uintptr) {
	var b [1]byte
	n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	pc.peekOK = n < 0 && (err == syscall.EAGAIN || err == syscall.EWOULDBLOCK)
}

var aLongTimeAgo = time.Unix(1, 0)

// roundTrip writes the request and reads the answer's head.
func (pc *upConn) roundTrip(req *http.Request, head requestHead) (*http.Response, error) {
	ctx := req.Context()
	stop := cancelHook(ctx, pc.abort) // lane.go
	fail := func(err error) (*http.Response, error) {
		stop()
		pc.c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	pc.lr.read = 0
	if err := head.write(pc.bw, req); err != nil {
		return fail(err)
	}
	if err := pc.bw.Flush(); err != nil {
		return fail(err)
	}
	pc.lr.limit = maxUpstreamHeaderBytes
	pc.armHeadTimeout()
	var resp *http.Response
	for n1xx := 0; ; {
		var err error
		resp, err = http.ReadResponse(pc.br, req)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
				err = errHeadTimeout
			}
			return fail(err)
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			return fail(errUnasked101)
		}
		if resp.StatusCode < 100 {
			return fail(errBadStatus)
		}
		if resp.StatusCode >= 200 {
			break
		}
		if n1xx++; n1xx > max1xxResponses {
			return fail(errTooMany1xx)
		}
		if resp.StatusCode != http.StatusContinue {
			if err := head.got1xx(req, resp.StatusCode, resp.Header); err != nil {
				return fail(err)
			}
		}
	}
	pc.lr.limit = 1<<63 - 1
	if !pc.deadline.IsZero() && !bodyBuffered(resp, pc.br) {
		pc.c.SetReadDeadline(time.Time{}) // a body may take as long as it takes
		pc.deadline = time.Time{}
	}
	if ctx.Err() != nil {
		// Cancelled while the head was read from the buffer: the deadline
		// the cancellation set may just have been cleared. (The body is
		// dropped with the connection: closing it would drain it.)
		return fail(ctx.Err())
	}
	resp.Body = &upBody{pc: pc, rc: resp.Body, resp: resp, stop: stop, eof: resp.Body == http.NoBody}
	return resp, nil
}

// armHeadTimeout makes sure the read deadline is the response-head timeout
// from now, give or take 1/256 of it, changing the deadline (a timer in the
// runtime) only when the one set has aged by more than that.
func (pc *upConn) armHeadTimeout() {
	t := pc.t.respHeaderTimeout
	if t <= 0 {
		return
	}
	now := time.Now()
	if !pc.deadline.IsZero() && pc.deadline.Sub(now) > t-t/256 {
		return
	}
	pc.deadline = now.Add(t)
	pc.c.SetReadDeadline(pc.deadline)
}

// bodyBuffered reports whether all of resp's body is in br already, so that
// reading it needs no read from the connection (and no deadline matters).
func bodyBuffered(resp *http.Response, br *bufio.Reader) bool {
	if resp.Body == http.NoBody {
		return true
	}
	return resp.ContentLength > 0 && len(resp.TransferEncoding) == 0 && int64(br.Buffered()) >= resp.ContentLength
}

// upBody hands its connection back (or closes it) once the response body has
// been read to its end or closed.
type upBody struct {
	pc   *upConn
	rc   io.ReadCloser
	resp *http.Response
	stop func() bool
	eof  bool
	done bool
}

func (b *upBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, errors.New("read on a closed response body")
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.eof = true
		b.finish()
	} else if err != nil {
		b.finish()
		if cerr := b.resp.Request.Context().Err(); cerr != nil {
			return n, fmt.Errorf("reading the app's response: %w", cerr)
		}
	}
	return n, err
}

func (b *upBody) Close() error {
	b.finish()
	return nil
}

// finish returns the connection to the pool when the body was read to its
// end, nothing else arrived after it, neither side asked to close, and the
// request was not cancelled meanwhile; it closes it otherwise.
func (b *upBody) finish() {
	if b.done {
		return
	}
	b.done = true
	cancelled := !b.stop()
	pc := b.pc
	if b.eof && !cancelled && !b.resp.Close && !b.resp.Request.Close && pc.br.Buffered() == 0 {
		pc.t.putIdle(pc)
		return
	}
	pc.c.Close()
}
