package frontdoor

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/slipway-dev/slipway"
)

// Attacks on the proxy path, each run on the direct path and on
// ReverseProxy's (noDirect): both must hold.

// h2Raw sends one HTTP/2 request with the given pseudo-header :path,
// written frame by frame (Go's client would refuse the path), and returns
// the answer's :status.
func h2Raw(t *testing.T, addr, path string) string {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, c)
	fr.WriteSettings()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "todo.localhost"}, {":path", path}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true})
	dec := hpack.NewDecoder(4096, nil)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading the answer: %v", err)
		}
		if h, ok := f.(*http2.HeadersFrame); ok && h.StreamID == 1 {
			fields, err := dec.DecodeFull(h.HeaderBlockFragment())
			if err != nil {
				t.Fatal(err)
			}
			for _, hf := range fields {
				if hf.Name == ":status" {
					return hf.Value
				}
			}
		}
	}
}

// TestAttackQuerySplitsRequestLine: Go's HTTP/2 server takes spaces in
// the query, which sent on would make the app read another request line
// ("GET /plain?x=1 HTTP/1.1 GET /admin? HTTP/1.1"). Refused with a 400;
// nothing reaches the app.
func TestAttackQuerySplitsRequestLine(t *testing.T) {
	for _, noDirect := range []bool{false, true} {
		app := newScriptedApp(t)
		fd := New(Config{Domain: "localhost", Backends: backends{"todo": {app.url()}}})
		fd.noDirect = noDirect
		srv := httptest.NewUnstartedServer(fd)
		srv.EnableHTTP2 = true
		if err := ConfigureHTTP2(srv.Config); err != nil { // the server's HTTP/2 (h2conn.go)
			t.Fatal(err)
		}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		addr := strings.TrimPrefix(srv.URL, "https://")
		if st := h2Raw(t, addr, "/plain?x=1 HTTP/1.1 GET /admin?"); st != "400" {
			t.Errorf("noDirect=%v: a query with spaces got %s, want 400", noDirect, st)
		}
		if h := app.last(); h != "" {
			t.Errorf("noDirect=%v: the app got %q", noDirect, h)
		}
		// An ordinary query still goes through.
		if st := h2Raw(t, addr, "/plain?x=1&y=%20"); st != "200" || !strings.HasPrefix(app.last(), "GET /plain?x=1&y=%20 HTTP/1.1\r\n") {
			t.Errorf("noDirect=%v: an ordinary query: %s, the app got %q", noDirect, st, app.last())
		}
	}
}

// TestAttackNoSecondInstanceAfterDelivery: a GET on a kept-alive
// connection that the app read and then dropped (it is draining: it also
// stopped listening) is retried once on a new connection to the same
// instance, as net/http does; when that is refused it must not go on to
// another instance — the first may have acted on it.
func TestAttackNoSecondInstanceAfterDelivery(t *testing.T) {
	for _, noDirect := range []bool{false, true} {
		var aGot, bGot atomic.Int32
		var lnA net.Listener
		a := newRawApp(t, func(c net.Conn, br *bufio.Reader) {
			for {
				if _, ok := readHead(br); !ok {
					return
				}
				if aGot.Add(1) == 2 {
					lnA.Close()
					time.Sleep(20 * time.Millisecond)
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA")
			}
		})
		lnA = a.ln
		b := newRawLoopApp(t, func(c net.Conn, _ *http.Request) bool {
			bGot.Add(1)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB")
			return true
		})
		fd := New(Config{Domain: "localhost", Backends: backends{"todo": {b.url(), a.url()}}})
		fd.noDirect = noDirect
		base := serve(t, fd)
		var got []string
		for range 3 { // the balancer alternates: A, B, then A again on its kept connection
			code, body := getVia(t, base, "todo.localhost", "/transfer?to=bob")
			if code != 200 {
				body = http.StatusText(code)
			}
			got = append(got, body)
		}
		if aGot.Load() != 2 || bGot.Load() != 1 || got[2] != "Bad Gateway" {
			t.Errorf("noDirect=%v: answers %v, A read %d, B read %d; want the third to fail at A, not reach B",
				noDirect, got, aGot.Load(), bGot.Load())
		}
	}
}

// TestAttackStatusBelow100: http.ReadResponse takes "099"; WriteHeader
// would panic on it (a stack trace in the log per request, the client's
// connection dropped). A 502 instead.
func TestAttackStatusBelow100(t *testing.T) {
	for _, noDirect := range []bool{false, true} {
		app := newRawLoopApp(t, func(c net.Conn, _ *http.Request) bool {
			io.WriteString(c, "HTTP/1.1 099 Weird\r\nContent-Length: 2\r\n\r\nok")
			return true
		})
		fd := New(Config{Domain: "localhost", Backends: backends{"todo": {app.url()}}})
		fd.noDirect = noDirect
		srv := httptest.NewUnstartedServer(fd)
		var logs bytes.Buffer
		srv.Config.ErrorLog = log.New(&logs, "", 0)
		srv.Start()
		t.Cleanup(srv.Close)
		for _, raw := range []string{
			"GET / HTTP/1.1\r\nHost: todo.localhost\r\nConnection: close\r\n\r\n",
			"POST / HTTP/1.1\r\nHost: todo.localhost\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi", // ReverseProxy's path
		} {
			ex := rawExchange(t, strings.TrimPrefix(srv.URL, "http://"), "GET", raw)
			if len(ex.heads) == 0 || !strings.HasPrefix(ex.heads[0], "502 ") || strings.Contains(logs.String(), "panic") {
				t.Errorf("noDirect=%v %q: the client got %q; log %.200s", noDirect, raw[:4], ex.heads, logs.String())
			}
		}
	}
}

// TestEarlyHintsKeepTheRoutingCookie: the 1xx relay clears the response's
// fields after sending them; the slot routing cookie the front door set
// before the app answered must still reach the client with the answer,
// beside the app's own cookie.
func TestEarlyHintsKeepTheRoutingCookie(t *testing.T) {
	for _, noDirect := range []bool{false, true} {
		app := newRawLoopApp(t, func(c net.Conn, req *http.Request) bool {
			io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"+
				"HTTP/1.1 200 OK\r\nSet-Cookie: app=1\r\nContent-Length: 4\r\n\r\ndone")
			return true
		})
		fd := New(Config{Domain: "localhost", Backends: backends{"app": {app.url()}, "app-staging": {app.url()}},
			Sites: sites{"app": true, "app-staging": true},
			SlotRoutes: routeTable{"app": {Rules: []slipway.RampUpRule{{Slot: "staging", Percent: 50}},
				Slots: map[string]string{"staging": "app-staging"}}}})
		fd.noDirect = noDirect
		addr := strings.TrimPrefix(serve(t, fd), "http://")
		for _, raw := range []string{
			"GET /?x-ms-routing-name=staging HTTP/1.1\r\nHost: app.localhost\r\nConnection: close\r\n\r\n",
			"POST /?x-ms-routing-name=staging HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
		} {
			ex := rawExchange(t, addr, "GET", raw)
			if len(ex.heads) != 2 || !strings.HasPrefix(ex.heads[0], "103 ") || ex.body != "done" ||
				!strings.Contains(ex.heads[1], "x-ms-routing-name=staging") || !strings.Contains(ex.heads[1], "app=1") {
				t.Errorf("noDirect=%v %s: the client got %q %q", noDirect, raw[:4], ex.heads, ex.body)
			}
		}
	}
}
