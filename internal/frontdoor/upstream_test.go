package frontdoor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawApp is an upstream written against the socket, so a test decides every
// byte the app sends and when it closes.
type rawApp struct {
	ln    net.Listener
	conns atomic.Int32
	wg    sync.WaitGroup
	mu    sync.Mutex
	open  []net.Conn
}

// newRawApp serves each connection with handle(conn, reader); handle
// returns when the connection is done with (the server closes it).
func newRawApp(t *testing.T, handle func(c net.Conn, br *bufio.Reader)) *rawApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &rawApp{ln: ln}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			a.conns.Add(1)
			a.mu.Lock()
			a.open = append(a.open, c)
			a.mu.Unlock()
			a.wg.Add(1)
			go func() {
				defer a.wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				handle(c, bufio.NewReader(c))
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		a.mu.Lock()
		for _, c := range a.open {
			c.Close()
		}
		a.mu.Unlock()
		a.wg.Wait()
	})
	return a
}

// newRawLoopApp answers request after request on each connection with
// handle, until handle returns false or the client closes.
func newRawLoopApp(t *testing.T, handle func(c net.Conn, req *http.Request) bool) *rawApp {
	return newRawApp(t, func(c net.Conn, br *bufio.Reader) {
		for {
			req, ok := readHead(br)
			if !ok || !handle(c, req) {
				return
			}
		}
	})
}

func (a *rawApp) url() string { return "http://" + a.ln.Addr().String() }

// readHead reads one request head; it reports false at the end of the
// connection.
func readHead(br *bufio.Reader) (*http.Request, bool) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, false
	}
	io.Copy(io.Discard, req.Body)
	return req, true
}

func getVia(t *testing.T, base, host, path string) (int, string) {
	t.Helper()
	code, body, _ := get(t, base, host, path)
	return code, body
}

// TestUpstreamKeepAlive: bodiless requests to an app that keeps
// connections open share one connection; an app that closes each one (as
// gunicorn's sync workers do) gets a new one per request, and each answer
// is whole.
func TestUpstreamKeepAlive(t *testing.T) {
	keep := newRawApp(t, func(c net.Conn, br *bufio.Reader) {
		for i := 0; ; i++ {
			req, ok := readHead(br)
			if !ok {
				return
			}
			body := fmt.Sprintf("keep %s %d", req.URL.Path, i)
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		}
	})
	closing := newRawApp(t, func(c net.Conn, br *bufio.Reader) {
		if _, ok := readHead(br); ok {
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nclose")
		}
	})
	base := serve(t, New(Config{Domain: "localhost", Backends: backends{"keep": {keep.url()}, "shut": {closing.url()}}}))
	for i := 0; i < 20; i++ {
		if code, body := getVia(t, base, "keep.localhost", "/k"); code != 200 || body != fmt.Sprintf("keep /k %d", i) {
			t.Fatalf("request %d: %d %q", i, code, body)
		}
		if code, body := getVia(t, base, "shut.localhost", "/"); code != 200 || body != "close" {
			t.Fatalf("request %d to the closing app: %d %q", i, code, body)
		}
	}
	if n := keep.conns.Load(); n != 1 {
		t.Errorf("20 sequential requests used %d connections to a keep-alive app, want 1", n)
	}
	if n := closing.conns.Load(); n != 20 {
		t.Errorf("the closing app saw %d connections, want 20", n)
	}
}

// TestUpstreamClosedWhileIdle: an app that closes a kept-alive connection
// while it is idle (a keep-alive timeout) costs no failed request: the
// front door sees the connection is gone before writing to it. The same for
// an app that closes right after answering without saying so.
func TestUpstreamClosedWhileIdle(t *testing.T) {
	idleClose := newRawApp(t, func(c net.Conn, br *bufio.Reader) {
		if _, ok := readHead(br); ok {
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
		// Keep-alive was promised; the connection closes when handle returns.
	})
	f := New(Config{Domain: "localhost", Backends: backends{"idle": {idleClose.url()}}})
	base := serve(t, f)
	for i := 0; i < 30; i++ {
		for _, method := range []string{"GET", "POST", "DELETE"} {
			req, _ := http.NewRequest(method, base+"/", nil)
			req.Host = "idle.localhost"
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != "ok" {
				t.Fatalf("%s %d after the app closed the idle connection: %d %q", method, i, resp.StatusCode, b)
			}
			time.Sleep(2 * time.Millisecond) // let the FIN arrive, as it does between real requests
		}
	}
}

// TestUpstreamHostileAnswers: what an app sends cannot hold the front door
// or leak into the next request: an endless head, a 101 nobody asked for,
// endless informational answers, bytes after a complete answer, and a
// silent app (the head timeout).
func TestUpstreamHostileAnswers(t *testing.T) {
	var after atomic.Int32
	app := newRawLoopApp(t, func(c net.Conn, req *http.Request) bool {
		switch req.URL.Path {
		case "/endless-head":
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\n")
			line := "X-Junk: " + strings.Repeat("a", 8000) + "\r\n"
			for i := 0; i < 200; i++ { // 1.6 MB of header
				if _, err := io.WriteString(c, line); err != nil {
					return false
				}
			}
			return false
		case "/switch":
			fmt.Fprint(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: evil\r\nConnection: Upgrade\r\n\r\nraw bytes")
			return false
		case "/many-1xx":
			for i := 0; i < 50; i++ {
				fmt.Fprint(c, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
			}
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		case "/trailing-bytes":
			after.Add(1)
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled")
		case "/silent":
			time.Sleep(3 * time.Second)
			return false
		case "/continue-then-ok":
			fmt.Fprint(c, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		default:
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nplain!")
		}
		return true
	})
	f := New(Config{Domain: "localhost", Backends: backends{"app": {app.url()}}})
	f.upstream.respHeaderTimeout = 500 * time.Millisecond
	base := serve(t, f)
	for _, c := range []struct {
		path string
		code int
		body string
	}{
		{"/endless-head", 502, ""},
		{"/switch", 502, ""},
		{"/many-1xx", 502, ""},
		{"/continue-then-ok", 200, "ok"},
		{"/trailing-bytes", 200, "ok"},
		{"/", 200, "plain!"}, // not "smuggled": the connection with extra bytes was not reused
		{"/silent", 502, ""},
		{"/", 200, "plain!"},
	} {
		start := time.Now()
		code, body := getVia(t, base, "app.localhost", c.path)
		if code != c.code || (c.body != "" && body != c.body) {
			t.Errorf("%s: %d %.60q, want %d %q", c.path, code, body, c.code, c.body)
		}
		if d := time.Since(start); d > 2500*time.Millisecond {
			t.Errorf("%s took %v", c.path, d)
		}
	}
	if after.Load() != 1 {
		t.Fatalf("the trailing-bytes case ran %d times", after.Load())
	}
}

// TestUpstreamClientGoesAway: when the client disconnects while the app
// is still working, the front door closes its connection to the app
// rather than wait for the answer.
func TestUpstreamClientGoesAway(t *testing.T) {
	closed := make(chan time.Duration, 1)
	app := newRawApp(t, func(c net.Conn, br *bufio.Reader) {
		if _, ok := readHead(br); !ok {
			return
		}
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var b [1]byte
		_, err := c.Read(b[:]) // blocks until the front door closes
		if errors.Is(err, io.EOF) {
			closed <- time.Since(start)
		}
	})
	base := serve(t, New(Config{Domain: "localhost", Backends: backends{"app": {app.url()}}}))
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/slow", nil)
	req.Host = "app.localhost"
	go func() { time.Sleep(200 * time.Millisecond); cancel() }()
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("the request did not fail when cancelled")
	}
	select {
	case d := <-closed:
		if d > 3*time.Second {
			t.Fatalf("the app's connection closed %v after the client left", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the front door kept its connection to the app after the client left")
	}
}

// TestUpstreamIdleConnectionsReaped: idle connections to an instance that
// is no longer used are closed after the idle timeout.
func TestUpstreamIdleConnectionsReaped(t *testing.T) {
	gone := make(chan struct{}, 1)
	app := newRawApp(t, func(c net.Conn, br *bufio.Reader) {
		if _, ok := readHead(br); !ok {
			return
		}
		fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, ok := readHead(br); !ok {
			gone <- struct{}{}
		}
	})
	f := New(Config{Domain: "localhost", Backends: backends{"app": {app.url()}}})
	f.upstream.idleTimeout = 300 * time.Millisecond
	base := serve(t, f)
	if code, _ := getVia(t, base, "app.localhost", "/"); code != 200 {
		t.Fatal(code)
	}
	select {
	case <-gone:
	case <-time.After(4 * time.Second):
		t.Fatal("the idle connection was still open 4 s after a 300 ms idle timeout")
	}
}

// TestUpstreamSlowPathKeepsBodies: requests with a body still go through
// the standard transport (which reads an early answer while the body is
// being sent); both kinds of request reach a plain net/http app whole.
func TestUpstreamSlowPathKeepsBodies(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %d %s", r.Method, r.URL.RequestURI(), len(b), r.Header.Get("X-Forwarded-Proto"))
	}))
	defer app.Close()
	base := serve(t, New(Config{Domain: "localhost", Backends: backends{"app": {app.URL}}}))
	for _, c := range []struct {
		method, body, want string
	}{
		{"GET", "", "GET /p?q=1 0 http"},
		{"HEAD", "", ""},
		{"POST", "", "POST /p?q=1 0 http"},
		{"POST", strings.Repeat("x", 100000), "POST /p?q=1 100000 http"},
		{"PUT", "abc", "PUT /p?q=1 3 http"},
	} {
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		req, _ := http.NewRequest(c.method, base+"/p?q=1", body)
		req.Host = "app.localhost"
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != c.want {
			t.Errorf("%s with %d bytes: %d %q, want %q", c.method, len(c.body), resp.StatusCode, b, c.want)
		}
	}
}

// TestUpstreamHeadTimeoutSparesBodies: the head timeout bounds the wait for
// an answer's head only. A body (sized or chunked) that takes longer than
// the timeout to come arrives whole — also on a connection whose previous
// answer left the head's deadline set — and the connection then serves the
// next request, where a silent app is still cut at the timeout.
func TestUpstreamHeadTimeoutSparesBodies(t *testing.T) {
	app := newRawLoopApp(t, func(c net.Conn, req *http.Request) bool {
		switch req.URL.Path {
		case "/slow-sized":
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello")
			time.Sleep(700 * time.Millisecond)
			fmt.Fprint(c, "world")
		case "/slow-chunked":
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
			time.Sleep(700 * time.Millisecond)
			fmt.Fprint(c, "5\r\nworld\r\n0\r\n\r\n")
		case "/silent":
			time.Sleep(2 * time.Second)
			return false
		default:
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
		return true
	})
	f := New(Config{Domain: "localhost", Backends: backends{"app": {app.url()}}})
	f.upstream.respHeaderTimeout = 400 * time.Millisecond
	base := serve(t, f)
	for _, c := range []struct{ path, body string }{
		{"/", "ok"}, {"/slow-sized", "helloworld"}, {"/", "ok"}, {"/slow-chunked", "helloworld"}, {"/", "ok"},
	} {
		if code, body := getVia(t, base, "app.localhost", c.path); code != 200 || body != c.body {
			t.Fatalf("%s: %d %q, want 200 %q", c.path, code, body, c.body)
		}
	}
	if n := app.conns.Load(); n != 1 {
		t.Errorf("five answers took %d connections, want 1", n)
	}
	start := time.Now()
	if code, _ := getVia(t, base, "app.localhost", "/silent"); code != 502 {
		t.Errorf("a silent app: %d, want 502", code)
	}
	if d := time.Since(start); d < 350*time.Millisecond || d > 1500*time.Millisecond {
		t.Errorf("a silent app was cut after %v, want the 400ms head timeout", d)
	}
}

// TestUpstreamKeptDeadline: the head timeout's deadline, which stays set on
// a connection between answers whose bodies came with their heads, neither
// cuts a later request on that connection nor makes the connection look
// dead to the check made before reusing it after a pause.
func TestUpstreamKeptDeadline(t *testing.T) {
	app := newRawLoopApp(t, func(c net.Conn, req *http.Request) bool {
		if req.URL.Path == "/slowish" {
			time.Sleep(150 * time.Millisecond)
		}
		fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
	f := New(Config{Domain: "localhost", Backends: backends{"app": {app.url()}}})
	f.upstream.respHeaderTimeout = 300 * time.Millisecond
	base := serve(t, f)
	for i, step := range []struct {
		pause time.Duration
		path  string
	}{
		{0, "/"}, {200 * time.Millisecond, "/slowish"}, {200 * time.Millisecond, "/slowish"},
		{500 * time.Millisecond, "/"}, {0, "/slowish"},
	} {
		time.Sleep(step.pause)
		if code, body := getVia(t, base, "app.localhost", step.path); code != 200 || body != "ok" {
			t.Fatalf("request %d (%s after %v): %d %q", i, step.path, step.pause, code, body)
		}
	}
	if n := app.conns.Load(); n != 1 {
		t.Errorf("five answers took %d connections, want 1: a healthy idle connection was dropped", n)
	}
}
