package frontdoor

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// h2Stream is a server's stream of frames, with where each frame ends and
// whether a write ending there may be held (a response head whose body is
// to follow).
func h2Stream(t *testing.T) (b []byte, ends map[int]bool) {
	t.Helper()
	var buf bytes.Buffer
	fr := http2.NewFramer(&buf, nil)
	ends = map[int]bool{}
	mark := func(hold bool) { ends[buf.Len()] = hold }
	head := []byte{0x88} // ":status: 200", indexed
	fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100})
	mark(false)
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: head, EndHeaders: true})
	mark(true)
	fr.WriteData(1, true, []byte("hello"))
	mark(false)
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: head, EndHeaders: false})
	mark(false) // its block goes on in a CONTINUATION
	fr.WriteContinuation(3, true, []byte{0x5f, 0x00})
	mark(false)
	fr.WriteData(3, false, bytes.Repeat([]byte("x"), 16000))
	mark(false)
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: head, EndStream: true, EndHeaders: true}) // trailers
	mark(false)
	fr.WritePing(false, [8]byte{1})
	mark(false)
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 5, BlockFragment: head, EndStream: true, EndHeaders: true}) // a 204
	mark(false)
	fr.WriteWindowUpdate(0, 1000)
	mark(false)
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 7, BlockFragment: head, EndHeaders: true})
	mark(true)
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 9, BlockFragment: head, EndHeaders: true})
	mark(true)
	fr.WriteData(7, true, nil)
	mark(false)
	return buf.Bytes(), ends
}

// TestH2FramesScan: written in any pieces, a write may be held exactly
// when it ends at the end of a HEADERS frame that ends its block and not
// its stream.
func TestH2FramesScan(t *testing.T) {
	b, ends := h2Stream(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		var f h2Frames
		off := 0
		for off < len(b) {
			n := 1 + rng.IntN(64)
			switch {
			case round == 0:
				n = 1 // byte by byte
			case round == 1:
				n = len(b) // all at once
			case rng.IntN(4) == 0:
				n = 1 + rng.IntN(20000)
			}
			n = min(n, len(b)-off)
			got := f.scan(b[off : off+n])
			off += n
			if want := ends[off]; got != want {
				t.Fatalf("round %d: a write ending at %d: hold %v, want %v", round, off, got, want)
			}
		}
	}
}

// recordConn is a connection that records its writes; a write blocks
// while block is set, until Close.
type recordConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
	block  bool
	closed chan struct{}
	once   sync.Once
}

func newRecordConn() *recordConn { return &recordConn{closed: make(chan struct{})} }

func (c *recordConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	block := c.block
	c.mu.Unlock()
	if block {
		<-c.closed
		return 0, net.ErrClosed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func (c *recordConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *recordConn) ConnectionState() tls.ConnectionState { return tls.ConnectionState{} }

func (c *recordConn) got() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.writes...)
}

// frames cuts the stream from h2Stream at its frame ends.
func frames(t *testing.T) [][]byte {
	b, ends := h2Stream(t)
	var out [][]byte
	last := 0
	for off := 1; off <= len(b); off++ {
		if _, ok := ends[off]; ok {
			out = append(out, b[last:off])
			last = off
		}
	}
	return out
}

// TestH2ConnHeadGoesWithItsBody: a response head waits for the next
// write and goes out with it in one write; nothing else waits; a head
// whose body does not come goes out alone within h2HoldFor.
func TestH2ConnHeadGoesWithItsBody(t *testing.T) {
	fs := frames(t)
	rc := newRecordConn()
	c := newH2Conn(rc)
	defer c.Close()
	write := func(p []byte) {
		t.Helper()
		if n, err := c.Write(p); n != len(p) || err != nil {
			t.Fatalf("Write: %d, %v", n, err)
		}
	}
	write(fs[0]) // SETTINGS
	write(fs[1]) // stream 1's head
	if got := rc.got(); len(got) != 1 || !bytes.Equal(got[0], fs[0]) {
		t.Fatalf("after SETTINGS and a head: %d writes, want the SETTINGS alone", len(got))
	}
	write(fs[2]) // its body
	if got := rc.got(); len(got) != 2 || !bytes.Equal(got[1], append(bytes.Clone(fs[1]), fs[2]...)) {
		t.Fatalf("the head and its body: %d writes, want them in one", len(got))
	}
	for _, f := range fs[3:10] { // a CONTINUATION'd head, a large DATA, trailers, PING, a 204, WINDOW_UPDATE
		write(f)
	}
	if got := rc.got(); len(got) != 9 {
		t.Fatalf("frames that are not a response head: %d writes, want each at once (9)", len(got))
	}
	write(fs[10]) // stream 7's head; its body is slow to come
	start := time.Now()
	for len(rc.got()) == 9 && time.Since(start) < 5*time.Second {
		time.Sleep(100 * time.Microsecond)
	}
	if got := rc.got(); len(got) != 10 || !bytes.Equal(got[9], fs[10]) {
		t.Fatalf("a head without its body: %d writes after %v", len(got), time.Since(start))
	}
	if took := time.Since(start); took < h2HoldFor/2 {
		t.Errorf("a head without its body went out after %v, before the hold (%v)", took, h2HoldFor)
	}
}

// TestH2ConnCloseBreaksAStuckWrite: a client that reads nothing leaves a
// write blocked (a held head sent by the timer, holding the lock); Close
// must not wait for it, and later writes fail.
func TestH2ConnCloseBreaksAStuckWrite(t *testing.T) {
	fs := frames(t)
	rc := newRecordConn()
	rc.block = true
	c := newH2Conn(rc)
	held := make(chan error, 1)
	go func() { _, err := c.Write(fs[1]); held <- err }() // held; the timer's write will block
	select {
	case err := <-held:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		c.Close()
		t.Fatal("a response head was not held")
	}
	time.Sleep(2 * h2HoldFor) // the timer fires and blocks in the write
	writeErr := make(chan error, 1)
	go func() { _, err := c.Write(fs[2]); writeErr <- err }()
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for a write to a client that reads nothing")
	}
	select {
	case err := <-writeErr:
		if err == nil {
			t.Errorf("a write after Close succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a write waiting behind the stuck one never ended")
	}
}

// countingListener counts the writes to its connections (under TLS: one
// per record flushed).
type countingListener struct {
	net.Listener
	writes atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, n: &l.writes}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(p)
}

// serveH2 serves h as internal/server serves the front door: a
// DualListener over TCP, TLS with h2, ConfigureHTTP2.
func serveH2(t *testing.T, h http.Handler) (srv *http.Server, url string, client *http.Client, ln *countingListener) {
	t.Helper()
	cert, pool := selfSigned(t)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln = &countingListener{Listener: inner}
	dual := NewDualListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}, MinVersion: tls.VersionTLS12})
	srv = &http.Server{Handler: h, IdleTimeout: time.Minute}
	if err := ConfigureHTTP2(srv); err != nil {
		t.Fatal(err)
	}
	go srv.Serve(dual)
	t.Cleanup(func() { srv.Close() })
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return srv, "https://" + dual.Addr().String(), &http.Client{Transport: tr, Timeout: 10 * time.Second}, ln
}

// TestHTTP2SmallAnswerInOneRecord: through ConfigureHTTP2 a small answer
// leaves in one write (one TLS record) instead of two, the handler sees
// the TLS state, and the answer is whole.
func TestHTTP2SmallAnswerInOneRecord(t *testing.T) {
	_, url, client, ln := serveH2(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A head with fields, as every answer through the front door
		// has: net/http's HTTP/2 server then waits for the head to be
		// written before it takes the body (with none, it does not).
		w.Header().Set("Content-Type", "text/plain")
		if r.TLS == nil {
			io.WriteString(w, "no TLS state")
			return
		}
		io.WriteString(w, "tls "+r.Proto)
	}))
	get := func() {
		t.Helper()
		resp, err := client.Get(url + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "tls HTTP/2.0" {
			t.Fatalf("answer %q", b)
		}
	}
	get() // the connection, its settings
	time.Sleep(10 * time.Millisecond)
	before := ln.writes.Load()
	const n = 20
	for range n {
		get()
	}
	// One write per answer; a few may go in two when the machine is
	// busy (a body queued after h2HoldFor). net/http's own server: 2n.
	if w := ln.writes.Load() - before; w > n*3/2 {
		t.Errorf("%d answers took %d writes, want about one each", n, w)
	}
}

// TestHTTP2StreamedHeadIsNotHeldBack: a handler that sends its head and
// then waits (server-sent events, a long poll) has the head at the client
// while it waits.
func TestHTTP2StreamedHeadIsNotHeldBack(t *testing.T) {
	release := make(chan struct{})
	_, url, client, _ := serveH2(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-release:
			io.WriteString(w, "data: done\n\n")
		case <-r.Context().Done():
		}
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/events", nil)
	resp, err := client.Do(req) // returns at the head, while the handler waits
	if err != nil {
		t.Fatalf("the head of a streamed answer did not arrive: %v", err)
	}
	defer resp.Body.Close()
	close(release)
	b, err := io.ReadAll(resp.Body)
	if err != nil || string(b) != "data: done\n\n" {
		t.Fatalf("body %q, %v", b, err)
	}
}

// TestHTTP2GracefulShutdown: Shutdown lets an HTTP/2 stream in progress
// finish, as net/http's own HTTP/2 server does.
func TestHTTP2GracefulShutdown(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	srv, url, client, _ := serveH2(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "finished")
	}))
	got := make(chan string, 1)
	go func() {
		resp, err := client.Get(url + "/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-started
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- srv.Shutdown(ctx)
	}()
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) while a stream was open", err)
	default:
	}
	close(release)
	if s := <-got; s != "finished" {
		t.Errorf("the open stream got %q", s)
	}
	if err := <-shut; err != nil && !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Shutdown: %v", err)
	}
}
