package frontdoor

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// laneHandlers exercise every rule of a ResponseWriter that net/http's
// server applies: framing, Content-Length, sniffing, Date, 1xx, trailers,
// HEAD, bodies a status forbids, panics.
func laneHandlers() http.Handler {
	mux := http.NewServeMux()
	body := func(n int) string { return strings.Repeat("abcdefghij", n/10+1)[:n] }
	mux.HandleFunc("/cl", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5")
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello")
	})
	mux.HandleFunc("/small", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<html><body>sniffed</body></html>")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		w.Write([]byte(body(1000)))
		w.Write([]byte(body(1500)))
		w.Write([]byte(body(2500)))
	})
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(201)
		w.(http.Flusher).Flush()
		io.WriteString(w, "one")
		http.NewResponseController(w).Flush()
		io.WriteString(w, "two")
	})
	mux.HandleFunc("/204", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "3")
		w.WriteHeader(204)
		if _, err := io.WriteString(w, "no"); err != http.ErrBodyNotAllowed {
			panic("a 204 took a body")
		}
	})
	mux.HandleFunc("/304", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "3")
		w.Header().Set("Etag", `"x"`)
		w.WriteHeader(304)
	})
	mux.HandleFunc("/103", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.Header().Set("Content-Length", "9")
		w.WriteHeader(103)
		w.Header().Del("Content-Length")
		io.WriteString(w, "after 103")
	})
	mux.HandleFunc("/101", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(101)
		io.WriteString(w, "x")
	})
	mux.HandleFunc("/trailer", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum, Content-Length")
		io.WriteString(w, "body")
		w.Header().Set("X-Sum", "42")
	})
	mux.HandleFunc("/trailer-prefix", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "body")
		w.(http.Flusher).Flush()
		w.Header().Set(http.TrailerPrefix+"X-Late", "yes")
	})
	mux.HandleFunc("/bad-cl", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "abc")
		io.WriteString(w, "body")
	})
	mux.HandleFunc("/short", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "12345")
	})
	mux.HandleFunc("/long", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "3")
		if _, err := io.WriteString(w, "1234567890"); err != http.ErrContentLength {
			panic("wrote past the length")
		}
	})
	mux.HandleFunc("/date", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", "Thu, 01 Jan 2026 00:00:00 GMT")
	})
	mux.HandleFunc("/date-nil", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = nil
		io.WriteString(w, "x")
	})
	mux.HandleFunc("/ct-nil", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil
		io.WriteString(w, "<html>")
	})
	mux.HandleFunc("/ce", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		io.WriteString(w, "<html>")
	})
	mux.HandleFunc("/conn-close", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	})
	mux.HandleFunc("/te-identity", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Transfer-Encoding", "identity")
		io.WriteString(w, "until close")
	})
	mux.HandleFunc("/te-chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Transfer-Encoding", "chunked")
		io.WriteString(w, "chunks")
	})
	mux.HandleFunc("/cl-te", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Transfer-Encoding", "chunked")
		w.Header().Set("Content-Length", "6")
		io.WriteString(w, "chunks")
	})
	mux.HandleFunc("/abort", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, body(50))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	})
	mux.HandleFunc("/panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/599", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(599) })
	mux.HandleFunc("/999", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(999) })
	mux.HandleFunc("/late-header", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Early", "1")
		w.WriteHeader(200)
		w.Header().Set("X-Late", "1") // after WriteHeader: not sent
		io.WriteString(w, "x")
		w.Header().Set("X-Later", "1")
	})
	mux.HandleFunc("/no-header-call", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(202)
		w.Header().Set("X-After", "1")
		io.WriteString(w, "x")
	})
	mux.HandleFunc("/req", func(w http.ResponseWriter, r *http.Request) {
		var keys []string
		for k, vv := range r.Header {
			keys = append(keys, k+"="+strings.Join(vv, "|"))
		}
		sort.Strings(keys)
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s host=%s url=%s close=%v remote=%s cl=%d te=%v nobody=%v body=%q server=%v local=%v\n%s\n",
			r.Method, r.RequestURI, r.Proto, r.Host, r.URL, r.Close, host, r.ContentLength, r.TransferEncoding,
			r.Body == http.NoBody, b, r.Context().Value(http.ServerContextKey) != nil,
			r.Context().Value(http.LocalAddrContextKey) != nil, strings.Join(keys, "\n"))
	})
	return mux
}

// lanePair serves h twice: from net/http's server alone, and from the lane
// in front of net/http's server (laneable: every request the lane takes).
func lanePair(t *testing.T, h http.Handler) (stdAddr, laneAddr string, lane *Lane) {
	t.Helper()
	p := newLanePair(t, h)
	return p.stdAddr, p.laneAddr, p.lane
}

// lanePairServers is a lanePair with its servers, for tests that stop
// them.
type lanePairServers struct {
	std, behindLane   *http.Server
	stdAddr, laneAddr string
	lane              *Lane
}

func newLanePair(t *testing.T, h http.Handler) *lanePairServers {
	t.Helper()
	quiet := log.New(io.Discard, "", 0)
	listen := func() net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return ln
	}
	ln1, ln2 := listen(), listen()
	srv1 := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second, ErrorLog: quiet}
	srv2 := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second, ErrorLog: quiet}
	lane := newLane(h, func(*http.Request) bool { return true }, srv2, nil)
	go srv1.Serve(NewDualListener(ln1, nil))
	go srv2.Serve(lane.Listen(ln2, nil))
	t.Cleanup(func() {
		srv1.Close()
		srv2.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		lane.Shutdown(ctx)
	})
	return &lanePairServers{std: srv1, behindLane: srv2, stdAddr: ln1.Addr().String(), laneAddr: ln2.Addr().String(), lane: lane}
}

// rawRoundTrip writes raw to addr and reads until the server closes; a
// raw ending in a cut head is followed by the end of the stream.
func rawRoundTrip(t *testing.T, addr, raw string) string {
	t.Helper()
	return rawRoundTripSplit(t, addr, raw, nil)
}

// rawRoundTripSplit is rawRoundTrip writing raw in pieces, cut at cuts
// (ascending), so that heads arrive cut at those places.
func rawRoundTripSplit(t *testing.T, addr, raw string, cuts []int) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.(*net.TCPConn).SetNoDelay(true)
	prev := 0
	for _, cut := range append(cuts, len(raw)) {
		if cut <= prev || cut > len(raw) {
			continue
		}
		if _, err := io.WriteString(c, raw[prev:cut]); err != nil {
			break // the server may close on a bad head
		}
		prev = cut
		if cut < len(raw) {
			time.Sleep(time.Millisecond)
		}
	}
	if strings.HasSuffix(raw, "X-Cut: y") {
		c.(*net.TCPConn).CloseWrite()
	}
	b, err := io.ReadAll(c)
	if err != nil && !isReset(err) {
		t.Fatalf("reading: %v (after %q)", err, b)
	}
	return string(b)
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

var dateField = regexp.MustCompile(`(?m)^Date: [A-Za-z]{3}, \d\d [A-Za-z]{3} \d{4} \d\d:\d\d:\d\d GMT\r$`)

// TestLaneAsNetHTTP sends the same bytes to net/http's server and to the
// lane and wants the same bytes back (but for the time in Date): the lane
// answering requests it takes as net/http would, and handing over, with
// not a byte lost, those it does not.
func TestLaneAsNetHTTP(t *testing.T) {
	stdAddr, laneAddr, lane := lanePair(t, laneHandlers())
	const end = "GET /req HTTP/1.1\r\nHost: end\r\nConnection: close\r\n\r\n"
	get := func(method, path string, fields ...string) string {
		return method + " " + path + " HTTP/1.1\r\nHost: app.test\r\n" + strings.Join(fields, "") + "\r\n"
	}
	cases := []struct {
		name string
		raw  string
		lane bool // served by the lane (else handed to net/http's server)
	}{
		{"content length", get("GET", "/cl"), true},
		{"sniffed, length computed", get("GET", "/small"), true},
		{"chunked in net/http's chunks", get("GET", "/big"), true},
		{"flushed", get("GET", "/flush"), true},
		{"204 takes no body", get("GET", "/204"), true},
		{"304 drops its length and type", get("GET", "/304"), true},
		{"103 then the answer", get("GET", "/103"), true},
		{"101 without an upgrade", get("GET", "/101"), true},
		{"declared trailers", get("GET", "/trailer"), true},
		{"prefixed trailers", get("GET", "/trailer-prefix"), true},
		{"invalid length dropped", get("GET", "/bad-cl"), true},
		{"short body closes", get("GET", "/short"), true},
		{"long body refused", get("GET", "/long"), true},
		{"Date kept", get("GET", "/date"), true},
		{"Date suppressed", get("GET", "/date-nil"), true},
		{"no sniffing when type is nil", get("GET", "/ct-nil"), true},
		{"no sniffing when encoded", get("GET", "/ce"), true},
		{"handler closes", get("GET", "/conn-close"), true},
		{"identity: close delimited", get("GET", "/te-identity"), true},
		{"handler's chunked", get("GET", "/te-chunked"), true},
		{"length and chunked", get("GET", "/cl-te"), true},
		{"aborted", get("GET", "/abort"), true},
		{"panic", get("GET", "/panic"), true},
		{"empty", get("GET", "/empty"), true},
		{"unknown status", get("GET", "/599"), true},
		{"three-digit status", get("GET", "/999"), true},
		{"header after WriteHeader", get("GET", "/late-header"), true},
		{"Header only after WriteHeader", get("GET", "/no-header-call"), true},
		{"not found", get("GET", "/nowhere"), true},
		{"request as the handler sees it", get("GET", "/req?a=1&b=%20&c", "X-Dup: 1\r\n", "x-dup: 2\r\n", "Accept:  text/html \r\n", "Cookie: a=b\r\n"), true},
		{"client closes", get("GET", "/cl", "Connection: close\r\n"), true},
		{"keep-alive asked", get("GET", "/req", "Connection: Keep-Alive\r\n"), true},
		{"HEAD with length", get("HEAD", "/cl"), true},
		{"HEAD sniffed", get("HEAD", "/small"), true},
		{"HEAD empty", get("HEAD", "/empty"), true},
		{"HEAD big", get("HEAD", "/big"), true},
		{"pipelined, then handed over", get("GET", "/cl") + get("GET", "/small") + "POST /req HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", true},

		{"POST with a body", "POST /req HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", false},
		{"GET with a zero length", get("GET", "/req", "Content-Length: 0\r\n"), false},
		{"GET with a chunked body", get("GET", "/req", "Transfer-Encoding: chunked\r\n") + "5\r\nhello\r\n0\r\n\r\n", false},
		{"expect", get("GET", "/req", "Expect: 100-continue\r\n"), false},
		{"upgrade", get("GET", "/req", "Upgrade: websocket\r\n", "Connection: Upgrade\r\n"), false},
		{"connection with other tokens", get("GET", "/req", "Connection: keep-alive, x-foo\r\n"), false},
		{"HTTP/1.0", "GET /req HTTP/1.0\r\nHost: a\r\n\r\n", false},
		{"absolute form", "GET http://other/req HTTP/1.1\r\nHost: a\r\n\r\n", false},
		{"asterisk", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", false},
		{"DELETE", get("DELETE", "/req"), false},
		{"no Host", "GET /req HTTP/1.1\r\nX: y\r\n\r\n", false},
		{"two Hosts", get("GET", "/req", "Host: b\r\n"), false},
		{"bad Host", "GET /req HTTP/1.1\r\nHost: a b\r\n\r\n", false},
		{"bad field name", get("GET", "/req", "Bad Field: x\r\n"), false},
		{"control in a value", get("GET", "/req", "X: a\x01b\r\n"), false},
		{"bare LF", "GET /req HTTP/1.1\nHost: a\n\n", false},
		{"bare CR", get("GET", "/req", "X: a\rb\r\n"), false},
		{"leading CRLF", "\r\n" + get("GET", "/req"), false},
		{"lower-case method", "get /req HTTP/1.1\r\nHost: a\r\n\r\n", false},
		{"head over 4 KiB", get("GET", "/req", "X-Big: "+strings.Repeat("b", 5000)+"\r\n"), false},
		{"length and chunked (smuggling)", get("GET", "/req", "Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n") + "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n", false},
		{"two lengths", get("GET", "/req", "Content-Length: 1\r\n", "Content-Length: 2\r\n") + "ab", false},
		{"h2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", false},
		{"garbage", "\x00\x01\x02 nonsense\r\n\r\n", false},
		{"cut head", "GET /req HTTP/1.1\r\nHost: a\r\nX-Cut: y", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.raw
			if !strings.HasSuffix(raw, "X-Cut: y") {
				raw += end // else the server reads to the end of the stream
			}
			served, handed := lane.Served(), lane.Handed()
			want := dateField.ReplaceAllString(rawRoundTrip(t, stdAddr, raw), "Date: *\r")
			got := dateField.ReplaceAllString(rawRoundTrip(t, laneAddr, raw), "Date: *\r")
			if got != want {
				t.Errorf("net/http's server answered\n%q\nthe lane\n%q", want, got)
			}
			if want == "" && tc.lane && !strings.Contains(tc.raw, "/panic") {
				t.Errorf("no answer at all")
			}
			dServed, dHanded := lane.Served()-served, lane.Handed()-handed
			if tc.lane && (dServed == 0 || dHanded > 1) {
				t.Errorf("the lane served %d requests, handed %d connections; want it to serve", dServed, dHanded)
			}
			if !tc.lane && (dServed != 0 || dHanded != 1) {
				t.Errorf("the lane served %d requests, handed %d connections; want one handed over", dServed, dHanded)
			}
		})
	}
}

// TestLaneNoticesClientGone: a request the client left is cancelled, as
// net/http's background read cancels it, once it has run for the watch's
// delay; a byte the watch read (the next pipelined request's) is kept.
func TestLaneNoticesClientGone(t *testing.T) {
	cancelled := make(chan time.Duration, 1)
	h := http.NewServeMux()
	h.HandleFunc("/wait", func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		select {
		case <-r.Context().Done():
			cancelled <- time.Since(start)
		case <-time.After(10 * time.Second):
		}
	})
	h.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "slow")
	})
	h.HandleFunc("/fast", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "fast") })
	_, addr, lane := lanePair(t, h)
	lane.watch = 50 * time.Millisecond

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /wait HTTP/1.1\r\nHost: a\r\n\r\n")
	time.Sleep(150 * time.Millisecond)
	c.Close()
	select {
	case d := <-cancelled:
		t.Logf("cancelled after %v", d)
	case <-time.After(5 * time.Second):
		t.Fatal("the request of a client that went away was not cancelled")
	}

	c, err = net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
	time.Sleep(150 * time.Millisecond) // the watch is reading now
	io.WriteString(c, "GET /fast HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(c)
	for _, want := range []string{"slow", "fast"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("reading the answer %q: %v", want, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if string(b) != want {
			t.Fatalf("answer %q, want %q", b, want)
		}
	}
	if n := lane.Handed(); n != 0 {
		t.Fatalf("handed %d connections", n)
	}
}

// laneAlone serves srv's handler through a lane in front of srv (every
// request laneable) until the test ends; it returns the address.
func laneAlone(t *testing.T, srv *http.Server) string {
	t.Helper()
	lane := newLane(srv.Handler, func(*http.Request) bool { return true }, srv, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lane.Listen(ln, nil))
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		lane.Shutdown(ctx)
	})
	return ln.Addr().String()
}

// TestLaneTimeouts: a head trickling in is cut at the header timeout
// without an answer; an idle connection is closed at the idle timeout.
func TestLaneTimeouts(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	addr := laneAlone(t, &http.Server{Handler: h, ReadHeaderTimeout: 200 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})

	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		return c
	}
	for _, first := range []bool{true, false} {
		c := dial()
		br := bufio.NewReader(c)
		if !first {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			readOK(t, br)
		}
		start := time.Now()
		io.WriteString(c, "GET / HTTP/1.1\r\nHo")
		b, err := io.ReadAll(br)
		if d := time.Since(start); err != nil || len(b) != 0 || d < 150*time.Millisecond || d > 3*time.Second {
			t.Errorf("first request %v: a trickling head got %q, %v after %v; want the connection closed after ~200ms", first, b, err, d)
		}
		c.Close()
	}

	c := dial()
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(c)
	readOK(t, br)
	start := time.Now()
	b, err := io.ReadAll(br)
	if d := time.Since(start); err != nil || len(b) != 0 || d < 250*time.Millisecond || d > 3*time.Second {
		t.Errorf("an idle connection: %q, %v after %v; want it closed after ~300ms", b, err, d)
	}
}

func readOK(t *testing.T, br *bufio.Reader) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "ok" {
		t.Fatalf("answer %q", b)
	}
}

// TestLaneShutdown: idle connections close at once, a request under way
// gets its answer, and Shutdown returns when it is done.
func TestLaneShutdown(t *testing.T) {
	var started atomic.Bool
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			started.Store(true)
			time.Sleep(300 * time.Millisecond)
		}
		io.WriteString(w, "ok")
	})
	_, addr, lane := lanePair(t, h)
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		return c, bufio.NewReader(c)
	}
	idle, ibr := dial()
	defer idle.Close()
	io.WriteString(idle, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	readOK(t, ibr)
	busy, bbr := dial()
	defer busy.Close()
	io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
	for i := 0; i < 200 && !started.Load(); i++ {
		time.Sleep(5 * time.Millisecond)
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- lane.Shutdown(ctx)
	}()
	if b, err := io.ReadAll(ibr); len(b) != 0 || err != nil {
		t.Errorf("the idle connection: %q, %v; want it closed", b, err)
	}
	resp, err := http.ReadResponse(bbr, nil)
	if err != nil {
		t.Fatalf("the request under way lost its answer: %v", err)
	}
	if !resp.Close {
		t.Errorf("the last answer before shutdown does not say Connection: close (%v)", resp.Header)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "ok" {
		t.Errorf("answer %q", b)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if b, err := io.ReadAll(bbr); len(b) != 0 || err != nil {
		t.Errorf("after its answer: %q, %v; want the connection closed", b, err)
	}
}

// TestLaneTakesAppsOnly: the front door's lane serves requests to apps;
// Kudu, the management API, bodies and upgrades go to net/http's server.
func TestLaneTakesAppsOnly(t *testing.T) {
	app := echoApp()
	defer app.Close()
	scm := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "kudu") })
	mgmt := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "arm") })
	fd := New(Config{Domain: "localhost", Backends: backends{"web": {app.URL}}, Sites: sites{"web": true}, SCM: scm, Management: mgmt})
	srv := &http.Server{Handler: fd, ReadHeaderTimeout: 5 * time.Second}
	lane := fd.Lane(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lane.Listen(ln, nil))
	defer srv.Close()
	addr := ln.Addr().String()
	for _, tc := range []struct {
		raw, want string
		lane      bool
	}{
		{"GET /x HTTP/1.1\r\nHost: web.localhost\r\nConnection: close\r\n\r\n", `"path":"/x"`, true},
		{"GET /x HTTP/1.1\r\nHost: nope.localhost\r\nConnection: close\r\n\r\n", "404 Web Site not found", true},
		{"GET / HTTP/1.1\r\nHost: web.scm.localhost\r\nConnection: close\r\n\r\n", "kudu", false},
		{"GET /subscriptions HTTP/1.1\r\nHost: management.localhost\r\nConnection: close\r\n\r\n", "arm", false},
		{"GET /subscriptions HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", "arm", false},
		{"GET / HTTP/1.1\r\nHost: web.azurewebsites.net\r\nConnection: close\r\n\r\n", `"path":"/"`, false},
		{"POST /x HTTP/1.1\r\nHost: web.localhost\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi", `"path":"/x"`, false},
	} {
		served, handed := lane.Served(), lane.Handed()
		got := rawRoundTrip(t, addr, tc.raw)
		if !strings.Contains(got, tc.want) {
			t.Errorf("%q: answer %q, want %q in it", tc.raw, got, tc.want)
		}
		if byLane := lane.Served() > served && lane.Handed() == handed; byLane != tc.lane {
			t.Errorf("%q: served by the lane %v, want %v", tc.raw, byLane, tc.lane)
		}
	}
}

// TestHeadEndByteByByte: a head scanned as it arrives, a byte at a time,
// ends where a scan of the whole finds it, and a doubtful one is left to
// net/http either way.
func TestHeadEndByteByByte(t *testing.T) {
	for _, head := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next",
		"GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: \rb\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n\n",
		"GET / HTTP/1.1\r\nHost: a\r\n\r\r\n",
		"get / HTTP/1.1\r\n\r\n",
	} {
		var whole int
		wantN, wantDone := headEnd([]byte(head), &whole)
		var scanned, n int
		var done bool
		for i := 1; i <= len(head) && !done && n >= 0; i++ {
			n, done = headEnd([]byte(head[:i]), &scanned)
		}
		if n != wantN || done != wantDone {
			t.Errorf("%q: byte by byte (%d, %v), whole (%d, %v)", head, n, done, wantN, wantDone)
		}
		if wantDone && !strings.HasSuffix(head[:wantN], "\r\n\r\n") {
			t.Errorf("%q: the head ends at %d", head, wantN)
		}
	}
}

// TestLaneCancelHook: cancelHook keeps context.AfterFunc's meaning for a
// lane request's context: the hook runs when the connection is cancelled
// (the client left) or the request ends, once; stop reports whether it
// stopped the hook in time; a stale stop from an earlier hook never claims
// a later hook's run was stopped. A context that can end on its own (a
// timeout a handler added) or a second hook takes context.AfterFunc.
func TestLaneCancelHook(t *testing.T) {
	newConn := func() (*laneConn, context.Context, context.CancelFunc) {
		c := &laneConn{}
		c.ctx, c.cancel = context.WithCancel(context.WithValue(context.Background(), laneConnKey{}, c))
		req, cancel := context.WithCancel(c.ctx)
		c.reqCtx = req
		return c, req, cancel
	}
	type key struct{}

	// The client leaves: the hook runs at once, once; stop says so.
	c, req, _ := newConn()
	var runs atomic.Int32
	stop := cancelHook(context.WithValue(req, key{}, 1), func() { runs.Add(1) })
	if c.hook == nil {
		t.Fatal("a value over the request's context did not take the lane's hook")
	}
	c.cancelConn()
	c.fireHook()
	if runs.Load() != 1 || stop() {
		t.Fatalf("after the client left: %d runs, stop() = true; want 1 run, false", runs.Load())
	}

	// Stopped in time: it never runs; a later hook's stale stop is false.
	c, req, cancel := newConn()
	stop = cancelHook(req, func() { runs.Add(10) })
	if !stop() {
		t.Fatal("stop() before the end = false, want true")
	}
	stop2 := cancelHook(req, func() { runs.Add(100) })
	if stop() {
		t.Fatal("a stale stop reported stopping a later hook")
	}
	cancel()
	c.fireHook() // as serve does when the handler returns
	if runs.Load() != 101 || stop2() {
		t.Fatalf("runs = %d, stop2() = true; want the second hook run at the request's end (101), false", runs.Load())
	}

	// A context that ends on its own, and a second hook, take AfterFunc.
	c, req, _ = newConn()
	tctx, tcancel := context.WithTimeout(req, 20*time.Millisecond)
	defer tcancel()
	done := make(chan struct{})
	cancelHook(tctx, func() { close(done) })
	if c.hook != nil {
		t.Fatal("a context with its own timeout took the lane's hook")
	}
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("the timeout's hook never ran")
	}
	first := cancelHook(req, func() {})
	second := make(chan struct{})
	cancelHook(req, func() { close(second) })
	c.cancelConn()
	select {
	case <-second:
	case <-time.After(2 * time.Second):
		t.Fatal("a second hook on the request never ran")
	}
	if first() {
		t.Fatal("the first hook's stop = true after it ran")
	}

	// An ended request: AfterFunc runs the hook at once.
	c, req, cancel = newConn()
	cancel()
	ran := make(chan struct{})
	if stop := cancelHook(req, func() { close(ran) }); stop() {
		t.Fatal("stop() on an ended request = true")
	}
	select {
	case <-ran:
	case <-time.After(2 * time.Second):
		t.Fatal("a hook on an ended request never ran")
	}
	_ = c
}
