package frontdoor

// Attacks on the app lane (lane.go, laneresponse.go): the same raw bytes
// to net/http's server and to the lane must give the same bytes back, and
// the lane must hold no more than net/http's server would.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scriptHandler does what its request's op parameters say, in order, so
// that one handler covers any sequence of ResponseWriter calls:
// H/A k v (Header().Set/Add), D k (Del), N k (set to nil), S code
// (WriteHeader), W n (write n bytes of HTML), F (Flush), G (Header()
// alone), X (abort).
func scriptHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, op := range r.URL.Query()["op"] {
			f := strings.SplitN(op, " ", 3)
			arg := func(i int) string {
				if i < len(f) {
					return f[i]
				}
				return ""
			}
			switch f[0] {
			case "H":
				w.Header().Set(arg(1), arg(2))
			case "A":
				w.Header().Add(arg(1), arg(2))
			case "D":
				w.Header().Del(arg(1))
			case "N":
				w.Header()[arg(1)] = nil
			case "S":
				code, _ := strconv.Atoi(arg(1))
				w.WriteHeader(code)
			case "W":
				n, _ := strconv.Atoi(arg(1))
				w.Write([]byte(strings.Repeat("<html>0123456789", n/16+1)[:n]))
			case "F":
				w.(http.Flusher).Flush()
			case "G":
				w.Header()
			case "X":
				panic(http.ErrAbortHandler)
			}
		}
	})
}

// randomScript is a query of ops for scriptHandler.
func randomScript(rnd *rand.Rand) string {
	keys := []string{"Content-Length", "Content-Type", "Transfer-Encoding", "Connection", "Trailer",
		"Date", "Content-Encoding", "X-A", "Upgrade", http.TrailerPrefix + "X-T", "X-T"}
	vals := map[string][]string{
		"Content-Length":    {"0", "3", "10", "5000", "abc", "-1", "+3", " 3"},
		"Content-Type":      {"text/plain", ""},
		"Transfer-Encoding": {"chunked", "identity", "gzip", "Chunked"},
		"Connection":        {"close", "keep-alive", "Close", "x close", "close, x", "upgrade", "x\tclose"},
		"Trailer":           {"X-T", "X-T, Content-Length", "x-t"},
		"Date":              {"then"},
		"Content-Encoding":  {"gzip", ""},
		"Upgrade":           {"websocket"},
	}
	codes := []int{100, 101, 103, 200, 201, 204, 206, 301, 304, 404, 500, 599, 999}
	var ops []string
	for range rnd.IntN(7) {
		switch rnd.IntN(10) {
		case 9:
			ops = append(ops, "G")
		case 0, 1:
			k := keys[rnd.IntN(len(keys))]
			v := "v"
			if vv := vals[k]; len(vv) > 0 {
				v = vv[rnd.IntN(len(vv))]
			}
			ops = append(ops, []string{"H", "A"}[rnd.IntN(2)]+" "+k+" "+v)
		case 2:
			ops = append(ops, []string{"D", "N"}[rnd.IntN(2)]+" "+keys[rnd.IntN(len(keys))])
		case 3, 4:
			ops = append(ops, "S "+strconv.Itoa(codes[rnd.IntN(len(codes))]))
		case 5, 6:
			ops = append(ops, "W "+strconv.Itoa([]int{0, 1, 3, 10, 600, 2047, 2048, 2049, 4096, 5000}[rnd.IntN(10)]))
		case 7:
			ops = append(ops, "F")
		case 8:
			if rnd.IntN(4) == 0 {
				ops = append(ops, "X")
			}
		}
	}
	q := make([]string, len(ops))
	for i, op := range ops {
		q[i] = "op=" + strings.NewReplacer("%", "%25", " ", "%20", "+", "%2B", "\t", "%09", ",", "%2C").Replace(op)
	}
	return "/s?" + strings.Join(q, "&")
}

// randomHead is a request head near the lane's border: mostly ones it
// takes, with one thing changed.
func randomHead(rnd *rand.Rand, path string) string {
	pick := func(s ...string) string { return s[rnd.IntN(len(s))] }
	method := pick("GET", "GET", "GET", "HEAD")
	proto := "HTTP/1.1"
	host := "Host: app.test\r\n"
	var fields []string
	switch rnd.IntN(16) {
	case 0:
		method = pick("HEAD", "POST", "OPTIONS", "GET ", "get", "G\x00T")
	case 1:
		proto = pick("HTTP/1.0", "HTTP/1.2", "HTTP/2.0", "http/1.1", "HTTP/1.1 ", "HTTP/01.1")
	case 2:
		host = pick("", "Host:\r\n", "Host: a b\r\n", "host: APP.test:80\r\n", "Host: app.test\r\nHost: app.test\r\n",
			"Host:app.test\r\n", "Host: app.test.\r\n", "Host: [::1]:8080\r\n", "Host : app.test\r\n", "HOST: x\r\n")
	case 3:
		fields = append(fields, pick("Connection: close\r\n", "Connection: keep-alive\r\n", "Connection: Close\r\n",
			"Connection: close\r\nConnection: keep-alive\r\n", "Connection:\r\n", "Connection: te\r\n", "Connection:  close \r\n"))
	case 4:
		fields = append(fields, pick("Content-Length: 0\r\n", "Content-Length: 2\r\n", "Transfer-Encoding: chunked\r\n",
			"Transfer-Encoding: identity\r\n", "Content_Length: 3\r\n", "Expect: 100-continue\r\n", "Upgrade: h2c\r\n"))
	case 5:
		fields = append(fields, pick("X: a\r\n b\r\n", "X: a\r\n\tb\r\n", "X:\r\n", "X: \x7f\r\n", "X: \x80\xff\r\n",
			"X: a\x00\r\n", "X\x01: a\r\n", ": a\r\n", "X: a\rb\r\n", "X: a\nY: b\r\n"))
	case 6:
		fields = append(fields, "X-Pad: "+strings.Repeat("p", rnd.IntN(4200))+"\r\n")
	case 7:
		path = pick("*", "http://app.test"+path, "//app.test"+path, path+"#frag", path+"%zz", path+"\x01")
	}
	for range rnd.IntN(3) {
		fields = append(fields, fmt.Sprintf("X-F%d: %d\r\n", rnd.IntN(3), rnd.IntN(100)))
	}
	rnd.Shuffle(len(fields), func(i, j int) { fields[i], fields[j] = fields[j], fields[i] })
	head := method + " " + path + " " + proto + "\r\n" + host + strings.Join(fields, "") + "\r\n"
	if rnd.IntN(10) == 0 {
		head = strings.ReplaceAll(head, "\r\n", "\n")
	}
	return head
}

// TestLaneFuzzAsNetHTTP sends random handler scripts behind random heads,
// pipelined and cut at random places, to net/http's server and to the
// lane, and wants the same bytes back.
func TestLaneFuzzAsNetHTTP(t *testing.T) {
	stdAddr, laneAddr, lane := lanePair(t, scriptHandler())
	const end = "GET /s HTTP/1.1\r\nHost: end\r\nConnection: close\r\n\r\n"
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("LANE_FUZZ_SEED"), 10, 64); err == nil {
		seed = s // to replay a failure
	}
	t.Logf("seed %d (LANE_FUZZ_SEED replays it)", seed)
	rnd := rand.New(rand.NewPCG(seed, 1))
	n := 300
	if testing.Short() {
		n = 60
	}
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; i < n && time.Now().Before(deadline); i++ {
		var raw string
		for range 1 + rnd.IntN(3) {
			raw += randomHead(rnd, randomScript(rnd))
		}
		if rnd.IntN(6) == 0 {
			raw = raw[:rnd.IntN(len(raw))] + "X-Cut: y" // then the end of the stream
		} else {
			raw += end
		}
		var cuts []int
		if rnd.IntN(3) == 0 {
			for range 1 + rnd.IntN(4) {
				cuts = append(cuts, rnd.IntN(len(raw)))
			}
			sortInts(cuts)
		}
		want := dateField.ReplaceAllString(rawRoundTripSplit(t, stdAddr, raw, cuts), "Date: *\r")
		got := dateField.ReplaceAllString(rawRoundTripSplit(t, laneAddr, raw, cuts), "Date: *\r")
		if got != want {
			t.Errorf("sent %q (cut at %v)\n%s", raw, cuts, firstDifference(want, got))
		}
	}
	t.Logf("served %d, handed %d", lane.Served(), lane.Handed())
}

// firstDifference shows where the lane's answer leaves net/http's.
func firstDifference(want, got string) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	from := max(0, i-200)
	return fmt.Sprintf("at byte %d, net/http's server answered\n%q\nthe lane\n%q",
		i, want[from:min(len(want), i+200)], got[from:min(len(got), i+200)])
}

// TestLaneAttacksAsNetHTTP: what the fuzzing above found, kept as cases.
func TestLaneAttacksAsNetHTTP(t *testing.T) {
	stdAddr, laneAddr, _ := lanePair(t, scriptHandler())
	const end = "GET /s HTTP/1.1\r\nHost: end\r\nConnection: close\r\n\r\n"
	for _, tc := range []struct{ name, raw string }{
		// net/http keeps a handler's Connection field when its first value
		// has "close" as a token between spaces, commas or tabs (hasToken),
		// not only as a comma-separated element.
		{"handler's Connection with close after a space",
			"GET /s?op=H%20Connection%20x%20close HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"},
		{"handler's Connection with close after a tab",
			"GET /s?op=H%20Connection%20x%09close&op=W%2010 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"},
		{"head of 4095 bytes", padHead(4095)},
		{"head of 4096 bytes, the lane's buffer", padHead(4096)},
		{"head of 4097 bytes", padHead(4097)},
		{"4096 bytes, then a pipelined request", padHead(4096) + "GET /s?op=W%201 HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"4094 bytes, then a body-carrying request", padHead(4094) + "POST /s HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"},
		{"100 fields", "GET /s HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: y\r\n", 100) + "\r\n"},
		{"folded Host", "GET /s HTTP/1.1\r\nHost: a\r\n b\r\n\r\n"},
		{"field folded into a Host line", "GET /s HTTP/1.1\r\nX: y\r\n Host: b\r\nHost: a\r\n\r\n"},
		{"NUL in the path", "GET /s\x00 HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"NUL in a name", "GET /s HTTP/1.1\r\nHost: a\r\nX\x00: y\r\n\r\n"},
		{"CR CR LF", "GET /s HTTP/1.1\r\nHost: a\r\r\n\r\n"},
		{"empty line of CR alone", "GET /s HTTP/1.1\r\nHost: a\r\n\r"},
		{"Content-Length in another case", "GET /s HTTP/1.1\r\nHost: a\r\ncontent-LENGTH: 3\r\n\r\nabc"},
		{"Transfer-Encoding folded", "GET /s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n"},
		{"absolute form with another Host", "GET http://b/s HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"HTTP/1.1 in lower case version digits", "GET /s HTTP/1.10\r\nHost: a\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.raw + end
			want := dateField.ReplaceAllString(rawRoundTrip(t, stdAddr, raw), "Date: *\r")
			got := dateField.ReplaceAllString(rawRoundTrip(t, laneAddr, raw), "Date: *\r")
			if got != want {
				t.Error(firstDifference(want, got))
			}
		})
	}
}

func sortInts(s []int) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// TestLaneByteByByteAsNetHTTP: heads arriving a byte at a time (a lane
// request, a doubtful head, a body-carrying request after a lane request)
// get the answers they get whole.
func TestLaneByteByByteAsNetHTTP(t *testing.T) {
	stdAddr, laneAddr, _ := lanePair(t, scriptHandler())
	for _, raw := range []string{
		"GET /s?op=W%205 HTTP/1.1\r\nHost: a\r\nX: b\r\n\r\nGET /s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
		"GET /s HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\nX: \rd\r\n\r\n",
		"GET /s HTTP/1.1\r\nHost: a\r\n\r\nPOST /s?op=W%201 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab",
	} {
		cuts := make([]int, len(raw)-1)
		for i := range cuts {
			cuts[i] = i + 1
		}
		want := dateField.ReplaceAllString(rawRoundTripSplit(t, stdAddr, raw, cuts), "Date: *\r")
		got := dateField.ReplaceAllString(rawRoundTripSplit(t, laneAddr, raw, cuts), "Date: *\r")
		if got != want {
			t.Errorf("%q a byte at a time: %s", raw, firstDifference(want, got))
		}
	}
}

// padHead is a GET head of n bytes (n > 64).
func padHead(n int) string {
	const start, last = "GET /s HTTP/1.1\r\nHost: a\r\nX-Pad: ", "\r\n\r\n"
	return start + strings.Repeat("p", n-len(start)-len(last)) + last
}

// TestLaneShutdownAsNetHTTP: an answer written while the server shuts
// down says Connection: close, as net/http's server's does (keep-alives
// are off once Shutdown has begun), so that a client does not send its
// next request on a connection about to close.
func TestLaneShutdownAsNetHTTP(t *testing.T) {
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
		io.WriteString(w, "ok")
	})
	p := newLanePair(t, h)
	answer := func(addr string, shutdown func(context.Context)) string {
		c := dialSend(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done := make(chan struct{})
		go func() { shutdown(ctx); close(done) }()
		time.Sleep(50 * time.Millisecond) // Shutdown has begun
		release <- struct{}{}
		defer func() { <-done }()
		return readAnswer(t, c)
	}
	want := answer(p.stdAddr, func(ctx context.Context) { p.std.Shutdown(ctx) })
	got := answer(p.laneAddr, func(ctx context.Context) {
		go p.behindLane.Shutdown(ctx) // as internal/server does
		p.lane.Shutdown(ctx)
	})
	if got != want {
		t.Error(firstDifference(want, got))
	}
}

// TestLaneHandOffKeepsNoBuffers: a connection handed to net/http's server
// (a POST, a WebSocket: it may live for hours) holds what the lane had
// read of it and no more; the lane's buffers (4 KiB to read, 4 KiB to
// write, 2 KiB of body) go when the lane lets go of it. Else every such
// connection costs more than twice what net/http's server gives it.
func TestLaneHandOffKeepsNoBuffers(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	lane := newLane(h, func(*http.Request) bool { return true }, &http.Server{}, nil)
	const n = 200
	var handed, clients []net.Conn
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range n {
		client, server := net.Pipe()
		go io.WriteString(client, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n")
		lane.ServeConn(server, func(c net.Conn) bool { handed = append(handed, c); return true })
		clients = append(clients, client)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perConn := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	for i, c := range handed {
		b := make([]byte, 64)
		k, _ := c.Read(b)
		if !strings.HasPrefix("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n", string(b[:k])) || k == 0 {
			t.Fatalf("the handed connection reads %q", b[:k])
		}
		c.Close()
		clients[i].Close()
	}
	if perConn > 4<<10 {
		t.Errorf("a handed connection holds %d bytes of heap; want under 4 KiB (net.Pipe's own included)", perConn)
	}
	t.Logf("%d bytes per handed connection", perConn)
}

// TestLaneWatchThenHandOff: the byte a watch read (the first of a
// pipelined POST) reaches net/http's server with the rest of that
// request; a client's half-close after its request is then no different
// with the lane than without.
func TestLaneWatchThenHandOff(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(200 * time.Millisecond)
		}
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %q", r.Method, r.URL.Path, b)
	})
	p := newLanePair(t, h)
	p.lane.watch = 20 * time.Millisecond
	for _, tc := range []struct {
		name   string
		second string
	}{
		{"POST", "POST /next HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"},
		{"GET", "GET /next HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"bad", "\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n"},
		// The watch reads past a POST already buffered: its byte goes
		// over after the POST.
		{"after a buffered POST", "GET /third HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"after a buffered GET", "GET /third HTTP/1.1\r\nHost: a\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n"
			switch tc.name {
			case "after a buffered POST":
				first += "POST /next HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
			case "after a buffered GET":
				first += "GET /next HTTP/1.1\r\nHost: a\r\n\r\n"
			}
			answer := func(addr string) string {
				c := dialSend(t, addr, first)
				time.Sleep(100 * time.Millisecond) // the watch is reading
				io.WriteString(c, tc.second[:1])
				time.Sleep(20 * time.Millisecond)
				io.WriteString(c, tc.second[1:])
				c.(*net.TCPConn).CloseWrite()
				return readAnswer(t, c)
			}
			handed := p.lane.Handed()
			want, got := answer(p.stdAddr), answer(p.laneAddr)
			if got != want {
				t.Error(firstDifference(want, got))
			}
			t.Logf("handed %d: %q", p.lane.Handed()-handed, got)
		})
	}
}

// TestLaneShutdownSlowHead: a keep-alive connection trickling its next
// head is idle to Shutdown, as net/http's server holds it (StateIdle until
// a whole head is read): closed at once, not waited for until Shutdown's
// deadline (a slowloris client would hold every restart for it).
func TestLaneShutdownSlowHead(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	p := newLanePair(t, h)
	took := func(addr string, shutdown func(context.Context) error) (time.Duration, error) {
		c := dialSend(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		br := bufio.NewReader(c)
		readOK(t, br)
		io.WriteString(c, "GET / HTTP/1.1\r\nHo")
		time.Sleep(50 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		err := shutdown(ctx)
		return time.Since(start), err
	}
	if d, err := took(p.stdAddr, p.std.Shutdown); err != nil || d > time.Second {
		t.Fatalf("net/http's server: Shutdown %v after %v", err, d)
	}
	if d, err := took(p.laneAddr, p.lane.Shutdown); err != nil || d > time.Second {
		t.Errorf("the lane: Shutdown %v after %v; want nil at once", err, d)
	}
}

// dialSend connects to addr for the test's length (or 5 s) and sends raw.
func dialSend(t *testing.T, addr, raw string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	return c
}

// readAnswer reads c to its end, the time in Date masked.
func readAnswer(t *testing.T, c net.Conn) string {
	t.Helper()
	b, err := io.ReadAll(c)
	if err != nil && !isReset(err) {
		t.Fatalf("reading: %v (after %q)", err, b)
	}
	return dateField.ReplaceAllString(string(b), "Date: *\r")
}

// TestLaneShutdownSilentClient: a client that connects and says nothing
// does not hold up the server's Shutdown, which closes the listener:
// DualListener.Close waited for its first byte (up to sniffTimeout, 10 s,
// past Shutdown's own deadline) before it closed it.
func TestLaneShutdownSilentClient(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	p := newLanePair(t, h)
	c := dialSend(t, p.laneAddr, "")
	time.Sleep(50 * time.Millisecond) // accepted, its first byte awaited
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	err := p.behindLane.Shutdown(ctx)
	if d := time.Since(start); err != nil || d > time.Second {
		t.Errorf("Shutdown: %v after %v; want nil at once", err, d)
	}
	if b, err := io.ReadAll(c); len(b) != 0 || err != nil {
		t.Errorf("the silent connection: %q, %v; want it closed", b, err)
	}
}

// TestLaneableIsAppsOnly: every request laneable lets into the lane is
// one ServeHTTP routes to an app (or to the page saying no app has the
// name), never to Kudu, the management API, the token service, the
// directory, ACME or a storage service, whatever its Host or path.
func TestLaneableIsAppsOnly(t *testing.T) {
	app := echoApp()
	defer app.Close()
	platform := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-Platform", name) })
	}
	fd := New(Config{
		Domain: "localhost", Backends: backends{"web": {app.URL}}, Sites: sites{"web": true, "management": true, "login": true},
		SCM: platform("scm"), Login: platform("login"), Graph: platform("graph"), Management: platform("arm"),
		Extra:          map[string]http.Handler{"blob": platform("blob"), "vault": platform("vault")},
		ACMEChallenges: platform("acme"),
		HostNames: boundNames{"www.contoso.com": "web", "gone.contoso.com": "deleted", "management.azure.com": "web",
			"x.blob.core.windows.net": "web", "web.azurewebsites.net": "web", "x.vault.azure.net": "web"},
	})
	hosts := []string{"web.localhost", "WEB.LOCALHOST.", "web.localhost:80", "web.localhost:", "management.localhost",
		"login.localhost", "graph.localhost", "localhost", "localhost.", "x.blob.localhost", "x.vault.localhost", "web.scm.localhost",
		"web.SCM.localhost:1", "www.contoso.com", "www.contoso.com.:443", "gone.contoso.com", "web.azurewebsites.net",
		"web.scm.azurewebsites.net", "x.blob.core.windows.net", "x.queue.core.windows.net", "x.vault.azure.net",
		"management.azure.com", "login.microsoftonline.com", "[::1]:80", "127.0.0.1", "web..localhost", ".localhost",
		"a.b.localhost", "web.localhost:80:80", "web.localhost%25", "web%2elocalhost"}
	paths := []string{"/", "/subscriptions/x", "//subscriptions", "/SUBSCRIPTIONS", "/%73ubscriptions", "/providers/x",
		"/metadata/endpoints", "/tenants", "/.well-known/acme-challenge/t", "/.well-known/acme-challenge/../x",
		"/.well-known/%61cme-challenge/t", "/api/deployments"}
	taken := 0
	for _, host := range hosts {
		for _, path := range paths {
			raw := "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
			req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
			if err != nil || !laneTakes(req) || !fd.laneable(req) {
				continue
			}
			taken++
			req.RemoteAddr = "192.0.2.1:1234"
			rec := httptest.NewRecorder()
			fd.ServeHTTP(rec, req)
			if p := rec.Header().Get("X-Platform"); p != "" {
				t.Errorf("%q: the lane took it, ServeHTTP sent it to %s", raw, p)
			}
		}
	}
	t.Logf("%d of %d requests laneable", taken, len(hosts)*len(paths))
}

// TestLaneWatchStress: with a watch of a millisecond, requests that end
// around it and pipelined requests arriving around it (the watch starting,
// reading a byte, being stopped) all get their answers, in order, the last
// (a POST) from net/http's server, and no request's context is cancelled
// while its client is there.
func TestLaneWatchStress(t *testing.T) {
	var cancelled atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			cancelled.Add(1)
		}
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.URL.Query().Get("i")+string(b))
	})
	p := newLanePair(t, h)
	p.lane.watch = time.Millisecond
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	var wg sync.WaitGroup
	for conn := range 8 {
		delays := make([]time.Duration, 25)
		for i := range delays {
			delays[i] = time.Duration(rnd.IntN(3000)) * time.Microsecond
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", p.laneAddr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			go func() {
				for i, d := range delays {
					if i == len(delays)-1 { // the last goes to net/http's server, after a watch's byte maybe
						fmt.Fprintf(c, "POST /?i=%d.%d&d=%v HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody", conn, i, d)
						continue
					}
					fmt.Fprintf(c, "GET /?i=%d.%d&d=%v HTTP/1.1\r\nHost: a\r\n\r\n", conn, i, d)
					time.Sleep(delays[len(delays)-1-i])
				}
			}()
			br := bufio.NewReader(c)
			for i := range delays {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Errorf("conn %d, answer %d: %v", conn, i, err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				want := fmt.Sprintf("%d.%d", conn, i)
				if i == len(delays)-1 {
					want += "body"
				}
				if string(b) != want {
					t.Errorf("answer %q, want %q", b, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := cancelled.Load(); n != 0 {
		t.Errorf("%d requests cancelled with their clients there", n)
	}
	t.Logf("served %d", p.lane.Served())
}

// TestLaneLeavesNoGoroutines: connections of every kind (a request its
// client leaves while the watch reads, a hand-off, a cut head, a silent
// client, an idle keep-alive) leave no goroutine behind once their
// clients have gone.
func TestLaneLeavesNoGoroutines(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/wait" {
			select {
			case <-r.Context().Done():
			case <-time.After(3 * time.Second):
			}
		}
		io.WriteString(w, "ok")
	})
	p := newLanePair(t, h)
	p.lane.watch = 5 * time.Millisecond
	time.Sleep(20 * time.Millisecond)
	base := runtime.NumGoroutine()
	for _, raw := range []string{
		"GET /wait HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc",
		"GET / HTTP/1.1\r\nHo",
		"",
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	} {
		var conns []net.Conn
		for range 10 {
			c, err := net.Dial("tcp", p.laneAddr)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(c, raw)
			conns = append(conns, c)
		}
		time.Sleep(50 * time.Millisecond)
		for _, c := range conns {
			c.Close()
		}
	}
	waitGoroutines(t, base)
}

// TestLaneNoticesClientGonePipelined: a client that sends the start of a
// next request with its first and then leaves is noticed too, as by
// net/http's background read (which reads past the bytes it holds): else
// one byte more keeps the app working for a client long gone.
func TestLaneNoticesClientGonePipelined(t *testing.T) {
	cancelled := make(chan bool, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			cancelled <- true
		case <-time.After(3 * time.Second):
			cancelled <- false
		}
	})
	p := newLanePair(t, h)
	p.lane.watch = 50 * time.Millisecond
	for _, addr := range []string{p.stdAddr, p.laneAddr} {
		c := dialSend(t, addr, "GET /wait HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHo")
		time.Sleep(150 * time.Millisecond)
		c.Close()
		if !<-cancelled {
			t.Errorf("%s: the request of a client that left was not cancelled", map[bool]string{true: "net/http", false: "the lane"}[addr == p.stdAddr])
		}
	}
}

// TestLaneWriteTimeout: the server's WriteTimeout holds in the lane as in
// net/http's server: an answer a client does not read fails once it has
// run that long, rather than holding its handler for ever.
func TestLaneWriteTimeout(t *testing.T) {
	failed := make(chan time.Duration, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		buf := make([]byte, 64<<10)
		for time.Since(start) < 5*time.Second {
			if _, err := w.Write(buf); err != nil {
				failed <- time.Since(start)
				return
			}
		}
		failed <- 0
	})
	addr := laneAlone(t, &http.Server{Handler: h, WriteTimeout: 300 * time.Millisecond, ErrorLog: log.New(io.Discard, "", 0)})
	c := dialSend(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n") // and never read
	select {
	case d := <-failed:
		if d == 0 {
			t.Errorf("writes to a client that does not read went on for 5 s")
		}
	case <-time.After(3 * time.Second):
		t.Errorf("a write to a client that does not read still blocks after 3 s; want it failed after the write timeout")
		c.Close() // and the handler's write fails
		<-failed
	}
}

// TestLaneHandOffKeepsHeadDeadline: a head the lane hands over late (a
// bare LF after a slow start) keeps the deadline it had: net/http's server
// set a fresh ReadHeaderTimeout on it, so that a slowloris client got
// twice the time to hold a connection.
func TestLaneHandOffKeepsHeadDeadline(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	addr := laneAlone(t, &http.Server{Handler: h, ReadHeaderTimeout: 400 * time.Millisecond, ErrorLog: log.New(io.Discard, "", 0)})
	start := time.Now()
	c := dialSend(t, addr, "GET / HTTP/1.1\r\n")
	time.Sleep(300 * time.Millisecond)
	io.WriteString(c, "X: y\n") // doubtful: handed over
	go func() {
		for range 40 {
			time.Sleep(50 * time.Millisecond)
			if _, err := io.WriteString(c, "X: y\n"); err != nil {
				return
			}
		}
	}()
	b, _ := io.ReadAll(c)
	if d := time.Since(start); d > 600*time.Millisecond {
		t.Errorf("a head trickling in was cut after %v (%q); want about the header timeout, 400ms", d, b)
	}
}

// noAddrConn is a connection that does not know its peer's address.
type noAddrConn struct{ net.Conn }

func (noAddrConn) RemoteAddr() net.Addr { return nil }

// TestLaneConnPanicsStayInTheConn: a panic on a connection's goroutine
// outside the handler (in laneable, which asks the store, or from a
// connection without a peer address, which net/http's server allows)
// ends that connection, as net/http's server recovers any panic serving a
// connection; it must not take the process down.
func TestLaneConnPanicsStayInTheConn(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	laneable := func(r *http.Request) bool {
		if r.Host == "boom" {
			panic("laneable: boom")
		}
		return true
	}
	lane := newLane(h, laneable, &http.Server{}, nil)
	for _, tc := range []struct {
		name string
		conn func(net.Conn) net.Conn
		raw  string
	}{
		{"laneable panics", func(c net.Conn) net.Conn { return c }, "GET / HTTP/1.1\r\nHost: boom\r\n\r\n"},
		{"no peer address", func(c net.Conn) net.Conn { return noAddrConn{c} }, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := net.Pipe()
			defer client.Close()
			go func() {
				io.WriteString(client, tc.raw)
				io.Copy(io.Discard, client)
			}()
			defer func() {
				if v := recover(); v != nil {
					t.Errorf("ServeConn panicked: %v", v)
				}
			}()
			lane.ServeConn(tc.conn(server), func(net.Conn) bool { return false })
		})
	}
}

// TestLaneFrontDoorAsNetHTTP: the front door itself (its direct path to an
// app: streams, trailers, early hints, HEAD, an app that dies mid-answer)
// answers through the lane with the bytes it answers through net/http's
// server.
func TestLaneFrontDoorAsNetHTTP(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stream":
			for i := range 3 {
				fmt.Fprintf(w, "part %d\n", i)
				w.(http.Flusher).Flush()
				time.Sleep(20 * time.Millisecond) // a chunk each
			}
		case "/sse":
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: x\n\n")
		case "/trailers":
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "body")
			w.Header().Set("X-Sum", "1")
		case "/late-trailer":
			io.WriteString(w, "body")
			w.(http.Flusher).Flush()
			w.Header().Set(http.TrailerPrefix+"X-Late", "2")
		case "/hints":
			w.Header().Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			io.WriteString(w, "after hints")
		case "/big":
			w.Write([]byte(strings.Repeat("0123456789", 10000)))
		case "/cut":
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, "short")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		case "/304":
			w.Header().Set("Etag", `"e"`)
			w.WriteHeader(http.StatusNotModified)
		default:
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, r.Method+" "+r.URL.RequestURI())
		}
	}))
	defer app.Close()
	fd := New(Config{Domain: "localhost", Backends: backends{"web": {app.URL}}, Sites: sites{"web": true}})
	quiet := log.New(io.Discard, "", 0)
	stdSrv := &http.Server{Handler: fd, ErrorLog: quiet}
	laneSrv := &http.Server{Handler: fd, ErrorLog: quiet}
	lane := fd.Lane(laneSrv)
	listen := func(srv *http.Server, wrap func(net.Listener) net.Listener) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(wrap(ln))
		t.Cleanup(func() { srv.Close() })
		return ln.Addr().String()
	}
	stdAddr := listen(stdSrv, func(ln net.Listener) net.Listener { return NewDualListener(ln, nil) })
	laneAddr := listen(laneSrv, func(ln net.Listener) net.Listener { return lane.Listen(ln, nil) })
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		lane.Shutdown(ctx)
	})
	const end = "GET /end HTTP/1.1\r\nHost: web.localhost\r\nConnection: close\r\n\r\n"
	get := func(method, path string) string {
		return method + " " + path + " HTTP/1.1\r\nHost: web.localhost\r\n\r\n"
	}
	for _, raw := range []string{
		get("GET", "/stream"), get("GET", "/sse"), get("GET", "/trailers"), get("GET", "/late-trailer"),
		get("GET", "/hints"), get("GET", "/big"), get("GET", "/cut"), get("GET", "/304"), get("HEAD", "/big"),
		get("HEAD", "/stream"), get("GET", "/q?a=1;b=2&c=%zz"), get("GET", "/x") + get("HEAD", "/x") + get("GET", "/stream"),
		"GET /x HTTP/1.1\r\nHost: nope.localhost\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: web.localhost\r\nTE: trailers\r\nConnection: keep-alive\r\n\r\n",
	} {
		served := lane.Served()
		raw += end
		want := dateField.ReplaceAllString(rawRoundTrip(t, stdAddr, raw), "Date: *\r")
		got := dateField.ReplaceAllString(rawRoundTrip(t, laneAddr, raw), "Date: *\r")
		if got != want {
			t.Errorf("%q: %s", raw, firstDifference(want, got))
		}
		if lane.Served() == served {
			t.Errorf("%q: not served by the lane", raw)
		}
	}
}

// TestLaneShutdownUnderLoad: Shutdown of the lane and of net/http's server
// together (as internal/server does), while clients keep sending requests
// the lane serves and requests it hands over, returns in time, and leaves
// no connection goroutine behind.
func TestLaneShutdownUnderLoad(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		time.Sleep(time.Millisecond)
		io.WriteString(w, "ok")
	})
	base := runtime.NumGoroutine()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	lane := newLane(h, func(*http.Request) bool { return true }, srv, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lane.Listen(ln, nil)) }()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					return
				}
				c.SetDeadline(time.Now().Add(3 * time.Second))
				fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
				if i%2 == 0 {
					fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi")
				}
				io.Copy(io.Discard, io.LimitReader(c, 200))
				c.Close()
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	laneDone := make(chan error, 1)
	go func() { laneDone <- lane.Shutdown(ctx) }()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("net/http's Shutdown: %v", err)
	}
	if err := <-laneDone; err != nil {
		t.Errorf("the lane's Shutdown: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown took %v", d)
	}
	close(stop)
	wg.Wait()
	<-served
	waitGoroutines(t, base)
	t.Logf("served %d, handed %d", lane.Served(), lane.Handed())
}

// waitGoroutines waits up to 2 s for the goroutines to be no more than
// base, and fails with their stacks if they stay more.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	var n int
	for range 100 {
		if n = runtime.NumGoroutine(); n <= base {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n > base {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}
