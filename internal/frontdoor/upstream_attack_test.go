package frontdoor

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestAttackCancelDuringHeadLosesDeadline: a request cancelled while the
// response head is being read, once the head's bytes are already in the
// connection's buffer, is not cancelled at all: the cancellation's deadline
// (aLongTimeAgo) is wiped by SetReadDeadline(time.Time{}) after the head,
// and the body read then blocks for as long as the app likes. In the front
// door the window is the Got1xxResponse hook, in which ReverseProxy writes
// the 1xx to the client (a client that does not read blocks it); a client
// and an app owned by one attacker pin a goroutine and two sockets each time.
func TestAttackCancelDuringHeadLosesDeadline(t *testing.T) {
	app := newRawApp(t, func(c net.Conn, br *bufio.Reader) {
		if _, ok := readHead(br); !ok {
			return
		}
		// One write: the 103 and the 200's head arrive together.
		fmt.Fprint(c, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
		io.Copy(io.Discard, br) // the body never comes; wait for the front door to close
	})
	tr := newUpstreamTransport(http.DefaultTransport, &net.Dialer{}, 5*time.Second, 30*time.Second, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		Got1xxResponse: func(int, textproto.MIMEHeader) error {
			cancel()                          // the client goes away while the 1xx is being relayed
			time.Sleep(50 * time.Millisecond) // (a slow client write)
			return nil
		},
	})
	req, _ := http.NewRequestWithContext(ctx, "GET", app.url()+"/", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return // cancelled: fine
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(resp.Body)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the body of a cancelled request read without error")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the body read of a request cancelled 2 s ago is still blocked: the cancellation's deadline was cleared")
	}
}

// goCtxApp is a plain net/http app that says "Connection: close" (as some
// frameworks and every Go server in graceful shutdown do) and whose handler
// honours its request's context, as database/sql and outgoing calls do.
func goCtxApp(seenClose *atomic.Int32) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Close && seenClose != nil {
			seenClose.Add(1)
		}
		w.Header().Set("Connection", "close")
		select {
		case <-r.Context().Done():
			http.Error(w, "request cancelled", http.StatusServiceUnavailable)
		case <-time.After(50 * time.Millisecond):
			io.WriteString(w, "ok")
		}
	}))
}

// TestAttackGoAppSayingClose: a Go app that answers every request with
// "Connection: close" and honours its request's context gets every request
// whole: nothing the front door does to connections such an app closes
// (a half-close, say, which net/http's server takes for "the client went
// away") cancels its requests.
func TestAttackGoAppSayingClose(t *testing.T) {
	app := goCtxApp(nil)
	defer app.Close()
	base := serve(t, New(Config{Domain: "localhost", Backends: backends{"app": {app.URL}}}))
	var bad []int
	for i := 0; i < 8; i++ {
		if code, body := getVia(t, base, "app.localhost", "/"); code != 200 || body != "ok" {
			bad = append(bad, i)
		}
	}
	if len(bad) > 0 {
		t.Fatalf("requests %v to a Go app saying Connection: close were cancelled (want all 8 answered ok)", bad)
	}
}

// TestAttackHeadTimeoutReplayed: a reused connection on which the app is
// merely slow (no answer within the head timeout) is taken for one the app
// closed, and the GET is sent again: the app runs it twice and the client
// waits two head timeouts. net/http's Transport does not retry a timeout.
func TestAttackHeadTimeoutReplayed(t *testing.T) {
	var slow atomic.Int32
	app := newRawLoopApp(t, func(c net.Conn, req *http.Request) bool {
		if req.URL.Path == "/slow" {
			slow.Add(1)
			time.Sleep(time.Second)
			return false
		}
		fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
	f := New(Config{Domain: "localhost", Backends: backends{"app": {app.url()}}})
	f.upstream.respHeaderTimeout = 300 * time.Millisecond
	base := serve(t, f)
	getVia(t, base, "app.localhost", "/") // leaves an idle connection
	start := time.Now()
	code, _ := getVia(t, base, "app.localhost", "/slow")
	d := time.Since(start)
	if n := slow.Load(); n != 1 || d > 550*time.Millisecond {
		t.Fatalf("a GET that timed out on a reused connection: %d, sent to the app %d times, took %v (want once, one timeout)", code, n, d)
	}
}

// TestAttackNormalTraffic: HEAD, 304, 204, chunked with trailers and a
// close-delimited body come through whole, and the stray bytes a HEAD or a
// 204 answer carries reach no one.
func TestAttackNormalTraffic(t *testing.T) {
	app := newRawLoopApp(t, func(c net.Conn, req *http.Request) bool {
		switch req.URL.Path {
		case "/head-with-body": // HEAD, plus the body a GET would have had
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 43\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL")
		case "/204-with-body":
			fmt.Fprint(c, "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL")
		case "/304":
			fmt.Fprint(c, "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 100\r\n\r\n")
		case "/chunked":
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 42\r\n\r\n")
		case "/cl-and-te":
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
		case "/until-close":
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\n\r\nto the end")
			return false
		default:
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain")
		}
		return true
	})
	base := serve(t, New(Config{Domain: "localhost", Backends: backends{"app": {app.url()}}}))
	do := func(method, path string) (*http.Response, string) {
		req, _ := http.NewRequest(method, base+path, nil)
		req.Host = "app.localhost"
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	for i := 0; i < 3; i++ {
		if resp, _ := do("HEAD", "/head-with-body"); resp.StatusCode != 200 {
			t.Fatalf("HEAD: %d", resp.StatusCode)
		}
		if _, b := do("GET", "/"); b != "plain" {
			t.Fatalf("after a HEAD with a body: %q", b)
		}
		if resp, _ := do("GET", "/204-with-body"); resp.StatusCode != 204 {
			t.Fatalf("204: %d", resp.StatusCode)
		}
		if _, b := do("GET", "/"); b != "plain" {
			t.Fatalf("after a 204 with a body: %q", b)
		}
		if resp, _ := do("GET", "/304"); resp.StatusCode != 304 {
			t.Fatalf("304: %d", resp.StatusCode)
		}
		if _, b := do("GET", "/"); b != "plain" {
			t.Fatalf("after a 304: %q", b)
		}
		if resp, b := do("GET", "/chunked"); b != "abc" || resp.Trailer.Get("X-Sum") != "42" {
			t.Fatalf("chunked: %q, trailer %q", b, resp.Trailer)
		}
		if _, b := do("GET", "/cl-and-te"); b != "hello" && !strings.Contains(b, "Bad Gateway") {
			t.Fatalf("CL+TE: %q", b)
		}
		if _, b := do("GET", "/"); b != "plain" {
			t.Fatalf("after CL+TE: %q", b)
		}
		if _, b := do("GET", "/until-close"); b != "to the end" {
			t.Fatalf("until close: %q", b)
		}
	}
}
