package frontdoor

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// answers are the raw responses of the scripted app, by request path.
var answers = map[string]string{
	"/plain": "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
	"/hop": "HTTP/1.1 200 OK\r\nConnection: X-Secret, keep-alive\r\nX-Secret: s\r\nKeep-Alive: timeout=5\r\n" +
		"Proxy-Authenticate: Basic\r\nX-Kept: k\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 2\r\n\r\nok",
	"/head": "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 10\r\n\r\n",
	// (With a Content-Type: without one, whether ReverseProxy's server
	// sniffs one depends on a race between its first write and its timer's
	// flush; the direct path flushes a stream's head first, and adds none.)
	"/trailers": "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"5\r\nhello\r\n0\r\nX-Sum: 5\r\nX-Late: 1\r\n\r\n",
	"/hints": "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" +
		"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone",
	"/events":  "HTTP/1.1 200 OK\r\nContent-Type: Text/Event-Stream; charset=utf-8\r\nConnection: close\r\n\r\ndata: 1\n\ndata: 2\n\n",
	"/created": "HTTP/1.1 201 Created\r\nLocation: /items/1\r\nContent-Length: 0\r\n\r\n",
	"/cut":     "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this much",
	"/none":    "",
}

// scriptedApp answers each request with answers[path] (by the path's
// first segment) and records every request head it read, as sent.
type scriptedApp struct {
	*rawApp
	mu    sync.Mutex
	heads []string
}

func newScriptedApp(t *testing.T) *scriptedApp {
	a := &scriptedApp{}
	a.rawApp = newRawApp(t, func(c net.Conn, br *bufio.Reader) {
		for {
			var head strings.Builder
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					return
				}
				head.WriteString(l)
				if l == "\r\n" {
					break
				}
			}
			a.mu.Lock()
			a.heads = append(a.heads, head.String())
			a.mu.Unlock()
			_, target, _ := strings.Cut(head.String(), " ")
			path, _, _ := strings.Cut(target, " ")
			path, _, _ = strings.Cut(path, "?")
			if i := strings.IndexByte(path[1:], '/'); i >= 0 {
				path = path[:i+1]
			}
			ans, ok := answers[path]
			if !ok {
				ans = answers["/plain"]
			}
			io.WriteString(c, ans)
			if ans == "" || strings.Contains(ans, "Connection: close") || path == "/cut" {
				return
			}
		}
	})
	return a
}

func (a *scriptedApp) last() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.heads) == 0 {
		return ""
	}
	return a.heads[len(a.heads)-1]
}

// headFields parses a request head into its request line and its fields;
// the values that differ per connection or request are replaced by
// placeholders.
func headFields(head string) (string, map[string][]string) {
	lines := strings.Split(strings.TrimSuffix(head, "\r\n\r\n"), "\r\n")
	fields := map[string][]string{}
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, ": ")
		switch k {
		case "X-Client-Port", "X-Arr-Log-Id":
			v = "<" + k + ">"
		}
		fields[k] = append(fields[k], v)
	}
	return lines[0], fields
}

// exchange is what a client saw of one request: every status line with its
// fields (the 1xx ones first), the body, and the trailers.
type exchange struct {
	heads    []string
	body     string
	trailers string
}

func rawExchange(t *testing.T, addr, method, raw string) exchange {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, raw)
	br := bufio.NewReader(c)
	var ex exchange
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			ex.heads = append(ex.heads, "error: "+err.Error())
			return ex
		}
		resp.Header.Del("Date")
		ex.heads = append(ex.heads, fmt.Sprint(resp.Status, " ", resp.ContentLength, " ", resp.TransferEncoding, " ", sortedHeader(resp.Header)))
		if resp.StatusCode >= 200 {
			b, err := io.ReadAll(resp.Body)
			ex.body = string(b)
			if err != nil {
				ex.body += " [error: " + err.Error() + "]"
			}
			ex.trailers = sortedHeader(resp.Trailer)
			return ex
		}
	}
}

func sortedHeader(h http.Header) string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q ", k, h[k])
	}
	return b.String()
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestDirectPathAsReverseProxy sends the same requests through the direct
// path and through httputil.ReverseProxy (noDirect) to the same scripted
// app, and wants the same request heads at the app and the same answers at
// the client: hop-by-hop and platform fields, TE, the query, User-Agent,
// HEAD, trailers, 1xx, streams, cut bodies, and an app that answers nothing.
func TestDirectPathAsReverseProxy(t *testing.T) {
	app := newScriptedApp(t)
	var statuses []int
	var statusMu sync.Mutex
	direct := New(Config{Domain: "localhost", Backends: backends{"todo": {app.url()}},
		Observe: func(_ string, _ *http.Request, status int, _ time.Duration) {
			statusMu.Lock()
			statuses = append(statuses, status)
			statusMu.Unlock()
		}})
	direct.proxy.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("%s %s went through ReverseProxy, not the direct path", r.Method, r.URL)
		return nil, fmt.Errorf("not the direct path")
	})
	viaProxy := New(Config{Domain: "localhost", Backends: backends{"todo": {app.url()}}})
	viaProxy.noDirect = true
	dAddr := strings.TrimPrefix(serve(t, direct), "http://")
	pAddr := strings.TrimPrefix(serve(t, viaProxy), "http://")

	cases := []struct{ name, method, raw string }{
		{"hop-by-hop and platform fields", "GET", "GET /plain?a=1&b=2 HTTP/1.1\r\nHost: todo.localhost\r\n" +
			"Connection: keep-alive, X-Hop, User-Agent\r\nX-Hop: 1\r\nKeep-Alive: 300\r\nProxy-Connection: keep-alive\r\n" +
			"TE: trailers, deflate\r\nProxy-Authorization: Basic eDp5\r\nUser-Agent: curl/8\r\n" +
			"X-Forwarded-For: 10.9.8.7\r\nX_Forwarded_Proto: https\r\nX-MS-CLIENT-PRINCIPAL-NAME: admin\r\nForwarded: for=1.2.3.4\r\n" +
			"Accept: text/html\r\nAccept: */*\r\nCookie: x=1\r\nTrailer: X-T\r\n\r\n"},
		{"no user agent, unparsable query", "GET", "GET /plain?a=1;b=2&c=%zz&d=4 HTTP/1.1\r\nHost: todo.localhost\r\nConnection: close\r\n\r\n"},
		{"encoded path", "GET", "GET /plain/a%2Fb/c%20d?q=%C3%A9 HTTP/1.1\r\nHost: todo.localhost:8080\r\nUser-Agent: a\r\nUser-Agent: b\r\nConnection: close\r\n\r\n"},
		{"absolute form", "GET", "GET http://todo.localhost/plain/abs?x=1 HTTP/1.1\r\nHost: todo.localhost\r\nConnection: close\r\n\r\n"},
		{"hop-by-hop answer", "GET", "GET /hop HTTP/1.1\r\nHost: todo.localhost\r\nConnection: close\r\n\r\n"},
		{"HEAD", "HEAD", "HEAD /head HTTP/1.1\r\nHost: todo.localhost\r\nConnection: close\r\n\r\n"},
		{"trailers", "GET", "GET /trailers HTTP/1.1\r\nHost: todo.localhost\r\nTE: trailers\r\nConnection: close\r\n\r\n"},
		{"early hints", "GET", "GET /hints HTTP/1.1\r\nHost: todo.localhost\r\nConnection: close\r\n\r\n"},
		{"event stream", "GET", "GET /events HTTP/1.1\r\nHost: todo.localhost\r\nConnection: close\r\n\r\n"},
		{"bodiless POST", "POST", "POST /created HTTP/1.1\r\nHost: todo.localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
		{"bodiless DELETE", "DELETE", "DELETE /plain/1 HTTP/1.1\r\nHost: todo.localhost\r\nConnection: close\r\n\r\n"},
		{"HTTP/1.0", "GET", "GET /plain HTTP/1.0\r\nHost: todo.localhost\r\n\r\n"},
		{"cut body", "GET", "GET /cut HTTP/1.1\r\nHost: todo.localhost\r\nConnection: close\r\n\r\n"},
		{"no answer", "GET", "GET /none HTTP/1.1\r\nHost: todo.localhost\r\nConnection: close\r\n\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pEx := rawExchange(t, pAddr, c.method, c.raw)
			pLine, pFields := headFields(app.last())
			dEx := rawExchange(t, dAddr, c.method, c.raw)
			dLine, dFields := headFields(app.last())
			if dLine != pLine || fmt.Sprint(dFields) != fmt.Sprint(pFields) {
				t.Errorf("the app got\n  %s %v\nvia ReverseProxy\n  %s %v", dLine, dFields, pLine, pFields)
			}
			if fmt.Sprint(dEx) != fmt.Sprint(pEx) {
				t.Errorf("the client got\n  %q\nvia ReverseProxy\n  %q", dEx, pEx)
			}
		})
	}
	// What the cases must have shown, so that a path that dropped or kept
	// everything alike would not pass.
	_, f := headFields(app.heads[1])
	for _, gone := range []string{"X-Hop", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "User-Agent", "Trailer", "Forwarded", "X_forwarded_proto", "X-Ms-Client-Principal-Name"} {
		if _, ok := f[gone]; ok {
			t.Errorf("%s reached the app: %v", gone, f)
		}
	}
	if fmt.Sprint(f["Te"], f["X-Forwarded-For"], f["Accept"]) != "[trailers] [127.0.0.1] [text/html */*]" {
		t.Errorf("TE, X-Forwarded-For, Accept at the app: %v", f)
	}
	statusMu.Lock()
	defer statusMu.Unlock()
	if !slices.Contains(statuses, http.StatusCreated) || slices.Contains(statuses, http.StatusEarlyHints) {
		t.Errorf("statuses recorded = %v, want each request's final status (no 103)", statuses)
	}
}

// TestDirectPathRetriesAndHTTP2: over HTTP/2 too, a GET goes the direct
// path, a refused instance passes it to the next one, and trailers and
// streams arrive.
func TestDirectPathRetriesAndHTTP2(t *testing.T) {
	app := newScriptedApp(t)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()
	fd := New(Config{Domain: "localhost", Backends: backends{"todo": {dead, app.url()}}})
	fd.proxy.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("%s %s went through ReverseProxy", r.Method, r.URL)
		return nil, fmt.Errorf("not the direct path")
	})
	srv := httptest.NewUnstartedServer(fd)
	srv.EnableHTTP2 = true
	if err := ConfigureHTTP2(srv.Config); err != nil { // the server's HTTP/2 (h2conn.go)
		t.Fatal(err)
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	client := srv.Client()
	client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true, ServerName: "todo.localhost"}

	get := func(path string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Host = "todo.localhost"
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	for i := range 6 { // the balancer puts the dead instance first about half the time
		resp, b := get("/trailers")
		if resp.ProtoMajor != 2 || resp.StatusCode != 200 || b != "hello" || resp.Trailer.Get("X-Sum") != "5" || resp.Trailer.Get("X-Late") != "1" {
			t.Fatalf("request %d: %s %d %q trailers %v", i, resp.Proto, resp.StatusCode, b, resp.Trailer)
		}
	}
	_, f := headFields(app.last())
	if fmt.Sprint(f["X-Forwarded-Proto"], f["X-Arr-Ssl"], f["Was-Default-Hostname"]) != "[https] [1] [todo.localhost]" {
		t.Errorf("platform fields over HTTP/2: %v", f)
	}
	if _, b := get("/events"); b != "data: 1\n\ndata: 2\n\n" {
		t.Errorf("event stream over HTTP/2: %q", b)
	}
}
