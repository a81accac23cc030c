package frontdoor

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync/atomic"

	"testing"
	"time"
)

type backends map[string][]string

// Backends gives each URL as its own instance id.
func (b backends) Backends(site string) []Backend {
	var out []Backend
	for _, u := range b[site] {
		out = append(out, Backend{ID: u, URL: u})
	}
	return out
}

type sites map[string]bool

func (s sites) SiteExists(_ context.Context, name string) (bool, error) { return s[name], nil }

// echoApp reports what the app saw.
func echoApp() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{
			"host": r.Host, "xff": r.Header.Get("X-Forwarded-For"), "proto": r.Header.Get("X-Forwarded-Proto"),
			"xfh": r.Header.Get("X-Forwarded-Host"), "path": r.URL.RequestURI(),
		})
	}))
}

// serve serves fd as internal/server does: plain HTTP/1.1 requests to
// apps through the lane, the rest through net/http's server.
func serve(t *testing.T, fd *FrontDoor) string {
	t.Helper()
	srv, stop := laneServer(fd)
	t.Cleanup(stop)
	return srv.URL
}

// laneServer starts an httptest server for fd with the lane in front.
func laneServer(fd *FrontDoor) (*httptest.Server, func()) {
	srv := httptest.NewUnstartedServer(fd)
	lane := fd.Lane(srv.Config)
	srv.Listener = lane.Listen(srv.Listener, nil)
	srv.Start()
	return srv, func() {
		srv.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		lane.Shutdown(ctx)
	}
}

func get(t *testing.T, base, host, path string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Host = host
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestRouting(t *testing.T) {
	app := echoApp()
	defer app.Close()
	scm := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "scm for %s", SiteFromContext(r.Context()))
	})
	mgmt := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "arm "+r.URL.Path) })
	blob := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "blob "+r.Host) })
	web := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "web "+r.Host) })
	login := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "login "+r.URL.Path) })
	graph := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "graph "+r.URL.Path) })
	base := serve(t, New(Config{
		Domain:   "localhost",
		Backends: backends{"todo": {app.URL}, "web": {app.URL}},
		Sites:    sites{"todo": true, "idle": true, "graph": true, "web": true},
		SCM:      scm, Management: mgmt, Extra: map[string]http.Handler{"blob": blob, "web": web},
		Login: login, Graph: graph,
	}))

	tests := []struct {
		name, host, path string
		status           int
		contains         string
	}{
		{"app", "todo.localhost:8080", "/x?y=1", 200, `"path":"/x?y=1"`},
		{"app host kept", "todo.localhost:8080", "/", 200, `"host":"todo.localhost:8080"`},
		{"app case-insensitive", "TODO.Localhost", "/", 200, `"proto":"http"`},
		{"scm", "todo.scm.localhost:8080", "/api/deployments", 200, "scm for todo"},
		{"scm of unknown app", "nope.scm.localhost", "/", 404, "Web Site not found"},
		{"management host", "management.localhost", "/subscriptions", 200, "arm /subscriptions"},
		{"ARM path on the bare address", "127.0.0.1:8080", "//subscriptions/x", 200, "arm //subscriptions/x"},
		{"blob host", "acct.blob.localhost", "/c/b", 200, "blob acct.blob.localhost"},
		// A static website's endpoint is the account's, whatever apps are
		// named: an app "todo" and an account "todo", an app "web" and an
		// account "web" each keep their own host.
		{"web endpoint", "acct.web.localhost:8080", "/index.html", 200, "web acct.web.localhost:8080"},
		{"web endpoint of an account named like an app", "todo.web.localhost", "/", 200, "web todo.web.localhost"},
		{"app named web", "web.localhost", "/", 200, `"host":"web.localhost"`},
		{"web endpoint of an account named web", "web.web.localhost", "/", 200, "web web.web.localhost"},
		{"blob host of an account named web", "web.blob.localhost", "/", 200, "blob web.blob.localhost"},
		{"no web endpoint below an account's", "x.acct.web.localhost", "/", 404, "Web Site not found"},
		{"Azure's web endpoint name is not served", "acct.z6.web.core.windows.net", "/", 501, "Blob storage only"},
		{"login host", "login.localhost:8080", "/t/oauth2/v2.0/token", 200, "login /t/oauth2/v2.0/token"},
		{"graph host, before any app of that name", "Graph.localhost:8080", "/v1.0/servicePrincipals", 200, "graph /v1.0/servicePrincipals"},
		{"unknown app", "other.localhost", "/", 404, "other.localhost"},
		{"unknown domain", "example.com", "/", 404, "Web Site not found"},
		{"app without ready instance", "idle.localhost", "/", 503, "Application Error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := get(t, base, tc.host, tc.path)
			if status != tc.status || !strings.Contains(body, tc.contains) {
				t.Fatalf("%s %s = %d %q; want %d containing %q", tc.host, tc.path, status, body, tc.status, tc.contains)
			}
		})
	}
}

func TestForwardedHeaders(t *testing.T) {
	app := echoApp()
	defer app.Close()
	base := serve(t, New(Config{Domain: "localhost", Backends: backends{"todo": {app.URL}}}))
	_, body, _ := get(t, base, "todo.localhost:9000", "/")
	var got map[string]string
	json.Unmarshal([]byte(body), &got)
	if got["xff"] != "127.0.0.1" || got["xfh"] != "todo.localhost:9000" || got["proto"] != "http" {
		t.Fatalf("forwarded headers = %v", got)
	}
}

// TestRetryOnRefused: an instance that stopped listening (drained) is
// skipped; the request, even a POST, goes to the next ready one.
func TestRetryOnRefused(t *testing.T) {
	app := echoApp()
	defer app.Close()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()
	base := serve(t, New(Config{Domain: "localhost", Backends: backends{"todo": {dead, app.URL}}}))
	req, _ := http.NewRequest("POST", base+"/form", strings.NewReader("a=1"))
	req.Host = "todo.localhost"
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST with a dead first instance = %d, want 200 from the second", resp.StatusCode)
	}
	// With no live instance at all, the user gets a 502 page.
	base = serve(t, New(Config{Domain: "localhost", Backends: backends{"todo": {dead}}}))
	if status, body, _ := get(t, base, "todo.localhost", "/"); status != 502 || !strings.Contains(body, "Bad Gateway") {
		t.Fatalf("dead instance: %d %q", status, body)
	}
}

// TestStreamingAndWebSocket: streamed responses arrive before the app
// finishes, and a WebSocket upgrade passes through both ways.
func TestStreamingAndWebSocket(t *testing.T) {
	release := make(chan struct{})
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "websocket" {
			conn, brw := switchToWebSocket(w, "")
			if conn == nil {
				return
			}
			defer conn.Close()
			line, _ := brw.ReadString('\n')
			brw.WriteString("echo " + line)
			brw.Flush()
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "first\n")
		http.NewResponseController(w).Flush()
		<-release
		fmt.Fprint(w, "second\n")
	}))
	defer app.Close()
	base := serve(t, New(Config{Domain: "localhost", Backends: backends{"todo": {app.URL}}}))

	req, _ := http.NewRequest("GET", base+"/events", nil)
	req.Host = "todo.localhost"
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(resp.Body)
	done := make(chan string, 1)
	go func() { l, _ := r.ReadString('\n'); done <- l }()
	select {
	case l := <-done:
		if l != "first\n" {
			t.Fatalf("first line = %q", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first streamed line did not arrive while the response was still open")
	}
	close(release)
	resp.Body.Close()

	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET /ws HTTP/1.1\r\nHost: todo.localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(conn)
	status, _ := br.ReadString('\n')
	if !strings.Contains(status, "101") {
		t.Fatalf("upgrade status %q", status)
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil || l == "\r\n" {
			break
		}
	}
	fmt.Fprint(conn, "ping\n")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if l, _ := br.ReadString('\n'); l != "echo ping\n" {
		t.Fatalf("websocket echo = %q", l)
	}
}

// recordingApp is an upstream that records the headers of the last request it got.
func recordingApp(t *testing.T) (*httptest.Server, <-chan http.Header) {
	t.Helper()
	got := make(chan http.Header, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
	}))
	t.Cleanup(app.Close)
	return app, got
}

// TestPlatformHeadersCannotBeSpoofed: whatever a client sends in the
// platform's headers, the app sees only the values the front door set from
// the real connection, as behind App Service's front ends.
func TestPlatformHeadersCannotBeSpoofed(t *testing.T) {
	spoofed := []string{
		"X-ARR-SSL", "X-ARR-ClientCert", "X-ARR-LOG-ID", "X-Client-IP", "Client-IP", "X-Client-Port",
		"X-Forwarded-Proto", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-TlsVersion",
		"X-AppService-Proto", "X-Original-URL", "X-Original-Host", "X-Waws-Unencoded-URL",
		"WAS-DEFAULT-HOSTNAME", "X-Site-Deployment-Id", "X-MS-CLIENT-PRINCIPAL",
		"X-MS-CLIENT-PRINCIPAL-NAME", "X-MS-CLIENT-PRINCIPAL-ID", "X-MS-CLIENT-PRINCIPAL-IDP",
		"X-MS-CLIENT-PRINCIPAL-ROLES", "X-MS-TOKEN-AAD-ACCESS-TOKEN", "X-MS-TOKEN-GOOGLE-ID-TOKEN",
	}
	// Platform-set headers and the values they must carry; "" = absent, "*" = any non-empty value.
	wantSet := map[string]string{
		"X-Forwarded-Proto": "http", "X-Appservice-Proto": "http", "X-Arr-Ssl": "",
		"X-Forwarded-For": "127.0.0.1", "Client-Ip": "127.0.0.1", "X-Client-Ip": "127.0.0.1",
		"X-Forwarded-Host": "todo.localhost:9000", "Was-Default-Hostname": "todo.localhost:9000",
		"X-Original-Url": "/p/q?r=1", "X-Forwarded-Tlsversion": "", "X-Arr-Log-Id": "*",
		"X-Client-Port": "*",
	}
	tests := []struct {
		name string
		key  func(string) string // how the client spells a header name
	}{
		{"as documented", func(k string) string { return k }},
		{"lower case", strings.ToLower},
		{"upper case", strings.ToUpper},
		{"underscores for dashes", func(k string) string { return strings.ReplaceAll(k, "-", "_") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			app, got := recordingApp(t)
			base := serve(t, New(Config{Domain: "localhost", Backends: backends{"todo": {app.URL}}}))
			req, _ := http.NewRequest("GET", base+"/p/q?r=1", nil)
			req.Host = "todo.localhost:9000"
			for _, k := range spoofed {
				req.Header[tc.key(k)] = []string{"spoofed"} // sent as spelled, not canonicalized
			}
			req.Header["X-Forwarded-Proto"] = []string{"https"}
			req.Header["X-ARR-SSL"] = []string{"1"}
			for k, v := range map[string]string{"X-Requested-With": "XMLHttpRequest", "Authorization": "Bearer abc", "Cookie": "sessionid=1", "X-Custom": "kept"} {
				req.Header.Set(k, v)
			}
			clientPort := ""
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
				GotConn: func(ci httptrace.GotConnInfo) { _, clientPort, _ = net.SplitHostPort(ci.Conn.LocalAddr().String()) },
			}))
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			h := <-got
			for k, vs := range h {
				for _, v := range vs {
					if strings.Contains(v, "spoofed") {
						t.Errorf("the app got the client's %s: %q", k, v)
					}
				}
			}
			wantSet["X-Client-Port"] = clientPort
			for k, want := range wantSet {
				vs := h.Values(k)
				switch {
				case want == "" && len(vs) != 0:
					t.Errorf("%s = %q, want none", k, vs)
				case want == "*" && (len(vs) != 1 || vs[0] == ""):
					t.Errorf("%s = %q, want one value", k, vs)
				case want != "" && want != "*" && (len(vs) != 1 || vs[0] != want):
					t.Errorf("%s = %q, want %q", k, vs, want)
				}
			}
			for k, want := range map[string]string{"X-Requested-With": "XMLHttpRequest", "Authorization": "Bearer abc", "Cookie": "sessionid=1", "X-Custom": "kept"} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want it passed through as %q", k, got, want)
				}
			}
		})
	}
}

// TestPlatformHeadersOverTLS: over a TLS connection the app is told so.
func TestPlatformHeadersOverTLS(t *testing.T) {
	app, got := recordingApp(t)
	srv := httptest.NewTLSServer(New(Config{Domain: "localhost", Backends: backends{"todo": {app.URL}}}))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	req.Host = "todo.localhost"
	req.Header.Set("X-Forwarded-Proto", "http")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := <-got
	for k, want := range map[string]string{"X-Forwarded-Proto": "https", "X-Appservice-Proto": "https", "X-Arr-Ssl": "1", "X-Forwarded-Tlsversion": "1.3"} {
		if vs := h.Values(k); len(vs) != 1 || vs[0] != want {
			t.Errorf("%s = %q, want %q", k, vs, want)
		}
	}
}

// TestRequestIDsDiffer: each request gets its own UUID-shaped X-ARR-LOG-ID.
func TestRequestIDsDiffer(t *testing.T) {
	app, got := recordingApp(t)
	base := serve(t, New(Config{Domain: "localhost", Backends: backends{"todo": {app.URL}}}))
	seen := map[string]bool{}
	for range 3 {
		get(t, base, "todo.localhost", "/")
		id := (<-got).Get("X-Arr-Log-Id")
		if len(id) != 36 || strings.Count(id, "-") != 4 || seen[id] {
			t.Fatalf("X-ARR-LOG-ID %q is not a fresh UUID (seen %v)", id, seen)
		}
		seen[id] = true
	}
}

func BenchmarkPlatformHeaders(b *testing.B) {
	in := httptest.NewRequest("GET", "http://todo.localhost/x?y=1", nil)
	in.RemoteAddr = "203.0.113.9:51000"
	base := http.Header{
		"Accept": {"*/*"}, "User-Agent": {"bench"}, "Cookie": {"a=b"}, "X-Requested-With": {"XMLHttpRequest"},
		"X-Forwarded-Proto": {"https"}, "X-Ms-Client-Principal-Name": {"eve"},
	}
	b.ReportAllocs()
	for b.Loop() {
		h := base.Clone()
		setPlatformHeaders(h, in)
	}
}

// TestWebSocketsOffPerSite: an app whose siteConfig webSocketsEnabled is
// false never gets a WebSocket handshake — the front door answers it with
// a 403 saying how to turn them on, however the client spells the tokens —
// while its other requests pass, and another app's upgrades still do.
func TestWebSocketsOffPerSite(t *testing.T) {
	var upgrades atomic.Int32
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			fmt.Fprint(w, "page")
			return
		}
		upgrades.Add(1)
		if conn, _ := switchToWebSocket(w, ""); conn != nil {
			conn.Close()
		}
	}))
	defer app.Close()
	sites := tlsSites{"todo": {Exists: true, WebSocketsOff: true}, "chat": {Exists: true}}
	base := serve(t, New(Config{Domain: "localhost", Sites: sites,
		Backends: backends{"todo": {app.URL}, "chat": {app.URL}}}))

	handshake := func(host, upgrade, connection string) (string, string) {
		t.Helper()
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: %s\r\nConnection: %s\r\nUpgrade: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", host, connection, upgrade)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusSwitchingProtocols {
			return resp.Status, ""
		}
		body, _ := io.ReadAll(resp.Body)
		return resp.Status, string(body)
	}
	for _, c := range [][2]string{{"websocket", "Upgrade"}, {"WebSocket", "keep-alive, Upgrade"}, {"h2c, websocket", "Upgrade"}} {
		status, body := handshake("todo.localhost", c[0], c[1])
		if !strings.HasPrefix(status, "403") || !strings.Contains(body, "--web-sockets-enabled true") {
			t.Errorf("handshake %q to an app with WebSockets off: %s %q", c, status, body)
		}
	}
	if n := upgrades.Load(); n != 0 {
		t.Fatalf("the app got %d handshakes with WebSockets off", n)
	}
	if status, body, _ := get(t, base, "todo.localhost", "/"); status != 200 || body != "page" {
		t.Errorf("a plain request to the app with WebSockets off: %d %q", status, body)
	}
	if status, _ := handshake("chat.localhost", "websocket", "Upgrade"); !strings.HasPrefix(status, "101") {
		t.Errorf("handshake to an app with WebSockets on: %s", status)
	}
	if n := upgrades.Load(); n != 1 {
		t.Errorf("the app got %d handshakes, want the one to chat", n)
	}
}

// switchToWebSocket answers an upgrade as an app would: it takes the
// connection and writes a 101 with the extra header lines given (each
// ending in CRLF). A nil connection: it could not be taken.
func switchToWebSocket(w http.ResponseWriter, extra string) (net.Conn, *bufio.ReadWriter) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, nil
	}
	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + extra + "\r\n")
	brw.Flush()
	return conn, brw
}
