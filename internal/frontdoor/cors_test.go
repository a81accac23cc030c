package frontdoor

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestCORS: what the front door answers for a site's platform CORS, by
// origin and kind of request, and what reaches the app. App Service
// answers a preflight itself with every method and header asked for
// (docs/appservice.md, "Platform CORS"); an actual request goes to the app
// and its answer gets the allowance.
func TestCORS(t *testing.T) {
	var reached atomic.Int32
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.Header().Set("Vary", "Accept-Encoding")
		w.Header().Set("Access-Control-Allow-Origin", "https://app-says.test") // dropped where the platform answers CORS
		fmt.Fprint(w, r.Method+" "+r.Host)
	}))
	defer app.Close()
	fd := New(Config{Domain: "localhost",
		Backends: backends{"api": {app.URL}, "creds": {app.URL}, "any": {app.URL}, "plain": {app.URL}, "api-staging": {app.URL}, "wild": {app.URL}},
		Sites: tlsSites{
			"api":         {Exists: true, CORS: corsPolicy(t, false, "https://example.com", "http://localhost:5000")},
			"api-staging": {Exists: true, CORS: corsPolicy(t, false, "https://staging.example.com")},
			"creds":       {Exists: true, CORS: corsPolicy(t, true, "https://example.com")},
			"any":         {Exists: true, CORS: corsPolicy(t, false, "*")},
			"wild":        {Exists: true, CORS: corsPolicy(t, true, "https://*.contoso.com")},
			"plain":       {Exists: true},
			"down":        {Exists: true, CORS: corsPolicy(t, false, "https://example.com")},
		},
		HostNames:  boundNames{"api.contoso.com": "api"},
		SlotRoutes: routeTable{"api": {Slots: map[string]string{"staging": "api-staging"}}},
	})
	base := serve(t, fd)

	const none = "-" // the field must be absent
	for _, c := range []struct {
		name, method, host, origin string
		header                     map[string]string
		status                     int
		reaches                    bool
		allowOrigin, credentials   string
		methods, headers, vary     string
	}{
		{"preflight, allowed", "OPTIONS", "api.localhost", "https://example.com",
			map[string]string{"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "x-custom, content-type"},
			204, false, "https://example.com", none, "PUT", "x-custom, content-type", "Origin"},
		{"preflight, second origin", "OPTIONS", "api.localhost", "http://localhost:5000",
			map[string]string{"Access-Control-Request-Method": "DELETE"}, 204, false, "http://localhost:5000", none, "DELETE", none, "Origin"},
		{"preflight, origin as the browser may case it", "OPTIONS", "api.localhost", "https://EXAMPLE.com",
			map[string]string{"Access-Control-Request-Method": "GET"}, 204, false, "https://EXAMPLE.com", none, "GET", none, "Origin"},
		{"preflight, not allowed", "OPTIONS", "api.localhost", "https://other.test",
			map[string]string{"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "x-custom"},
			204, false, none, none, none, none, "Origin"},
		{"preflight, credentials", "OPTIONS", "creds.localhost", "https://example.com",
			map[string]string{"Access-Control-Request-Method": "POST"}, 204, false, "https://example.com", "true", "POST", none, "Origin"},
		{"preflight, any origin", "OPTIONS", "any.localhost", "https://whoever.test",
			map[string]string{"Access-Control-Request-Method": "PATCH", "Access-Control-Request-Headers": "authorization"},
			204, false, "*", none, "PATCH", "authorization", none},
		{"preflight, wildcard subdomain", "OPTIONS", "wild.localhost", "https://web.contoso.com",
			map[string]string{"Access-Control-Request-Method": "PUT"}, 204, false, "https://web.contoso.com", "true", "PUT", none, "Origin"},
		{"preflight, wildcard lookalike", "OPTIONS", "wild.localhost", "https://web.contoso.com.evil.test",
			map[string]string{"Access-Control-Request-Method": "PUT"}, 204, false, none, none, none, none, "Origin"},
		{"preflight by a custom domain", "OPTIONS", "api.contoso.com", "https://example.com",
			map[string]string{"Access-Control-Request-Method": "PUT"}, 204, false, "https://example.com", none, "PUT", none, "Origin"},
		{"preflight routed to a slot takes the slot's", "OPTIONS", "api.localhost", "https://staging.example.com",
			map[string]string{"Access-Control-Request-Method": "PUT", "Cookie": "x-ms-routing-name=staging"}, 204, false, "https://staging.example.com", none, "PUT", none, "Origin"},
		{"preflight routed to a slot, production's origin", "OPTIONS", "api.localhost", "https://example.com",
			map[string]string{"Access-Control-Request-Method": "PUT", "Cookie": "x-ms-routing-name=staging"}, 204, false, none, none, none, none, "Origin"},
		{"OPTIONS without Access-Control-Request-Method is the app's", "OPTIONS", "api.localhost", "https://example.com",
			nil, 200, true, "https://example.com", none, none, none, "Origin"},
		{"preflight to a site without CORS is the app's", "OPTIONS", "plain.localhost", "https://example.com",
			map[string]string{"Access-Control-Request-Method": "PUT"}, 200, true, "https://app-says.test", none, none, none, "Accept-Encoding"},
		{"preflight to an app with no instance", "OPTIONS", "down.localhost", "https://example.com",
			map[string]string{"Access-Control-Request-Method": "PUT"}, 503, false, none, none, none, none, none},
		{"GET, allowed", "GET", "api.localhost", "https://example.com", nil, 200, true, "https://example.com", none, none, none, "Origin"},
		{"HEAD, allowed", "HEAD", "api.localhost", "https://example.com", nil, 200, true, "https://example.com", none, none, none, "Origin"},
		{"GET, not allowed", "GET", "api.localhost", "https://other.test", nil, 200, true, none, none, none, none, "Origin"},
		{"GET without Origin", "GET", "api.localhost", "", nil, 200, true, none, none, none, none, "Origin"},
		{"GET, credentials", "GET", "creds.localhost", "https://example.com", nil, 200, true, "https://example.com", "true", none, none, "Origin"},
		{"GET, any origin", "GET", "any.localhost", "https://whoever.test", nil, 200, true, "*", none, none, none, none},
		{"GET, any origin, from a sandboxed page", "GET", "any.localhost", "null", nil, 200, true, "*", none, none, none, none},
		{"POST with a body, allowed", "POST", "api.localhost", "https://example.com", nil, 200, true, "https://example.com", none, none, none, "Origin"},
		{"DELETE, credentials", "DELETE", "creds.localhost", "https://example.com", nil, 200, true, "https://example.com", "true", none, none, "Origin"},
		{"GET by azurewebsites.net", "GET", "api.azurewebsites.net", "https://example.com", nil, 200, true, "https://example.com", none, none, none, "Origin"},
		{"GET to a site without CORS keeps the app's", "GET", "plain.localhost", "https://example.com", nil, 200, true, "https://app-says.test", none, none, none, "Accept-Encoding"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := reached.Load()
			var body *strings.Reader
			if c.method == "POST" {
				body = strings.NewReader("a=1")
			} else {
				body = strings.NewReader("")
			}
			req, _ := http.NewRequest(c.method, base+"/api/todo", body)
			if c.method != "POST" {
				req.Body = http.NoBody
			}
			req.Host = c.host
			if c.origin != "" {
				req.Header.Set("Origin", c.origin)
			}
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Errorf("status %d, want %d", resp.StatusCode, c.status)
			}
			if got := reached.Load() != before; got != c.reaches {
				t.Errorf("reached the app: %v, want %v", got, c.reaches)
			}
			for _, f := range []struct{ name, want string }{
				{"Access-Control-Allow-Origin", c.allowOrigin},
				{"Access-Control-Allow-Credentials", c.credentials},
				{"Access-Control-Allow-Methods", c.methods},
				{"Access-Control-Allow-Headers", c.headers},
			} {
				got := resp.Header.Values(f.name)
				if f.want == none && len(got) != 0 || f.want != none && (len(got) != 1 || got[0] != f.want) {
					t.Errorf("%s: %q, want %q", f.name, got, f.want)
				}
			}
			vary := strings.Join(resp.Header.Values("Vary"), ", ")
			if c.vary == none && strings.Contains(vary, "Origin") || c.vary != none && !strings.Contains(vary, c.vary) {
				t.Errorf("Vary: %q, want it to hold %q", vary, c.vary)
			}
			if c.reaches && c.status == 200 && resp.Header.Get("Vary") != "" && !strings.Contains(vary, "Accept-Encoding") {
				t.Errorf("the app's Vary was lost: %q", vary)
			}
		})
	}
}

// TestCORSSameOnEveryPath: the lane (HTTP/1.1 GET), net/http's HTTP/1.1
// server (a GET it takes over, as a WebSocket's connection) and HTTP/2
// give a GET from an allowed origin the same CORS fields, and HTTP/2 a
// preflight the same answer as HTTP/1.1; a WebSocket
// upgrade, which browsers do not subject to CORS, passes whatever its
// Origin (the app checks it, as on App Service) and carries the allowance
// only for an allowed one.
func TestCORSSameOnEveryPath(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "websocket" {
			if conn, _ := switchToWebSocket(w, "Access-Control-Allow-Origin: *\r\n"); conn != nil {
				conn.Close()
			}
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", "*")
		fmt.Fprint(w, "ok")
	}))
	defer app.Close()
	fd := New(Config{Domain: "localhost", Backends: backends{"api": {app.URL}},
		Sites: tlsSites{"api": {Exists: true, CORS: corsPolicy(t, true, "https://example.com")}}})
	srv, stop := laneServer(fd)
	defer stop()
	_, h2base, h2client, _ := serveH2(t, fd)
	want := "https://example.com|true|Origin"
	fields := func(h http.Header) string {
		return h.Get("Access-Control-Allow-Origin") + "|" + h.Get("Access-Control-Allow-Credentials") + "|" + strings.Join(h.Values("Vary"), ",")
	}

	raw := func(extra string) (string, http.Header) {
		t.Helper()
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET /x HTTP/1.1\r\nHost: api.localhost\r\n%s\r\n", extra)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Status, resp.Header
	}
	if _, h := raw("Origin: https://example.com\r\n"); fields(h) != want {
		t.Errorf("lane: %s, want %s", fields(h), want)
	}
	// An Expect field sends the request to net/http's server.
	if _, h := raw("Origin: https://example.com\r\nExpect: 100-continue\r\nContent-Length: 0\r\n"); fields(h) != want {
		t.Errorf("net/http HTTP/1.1: %s, want %s", fields(h), want)
	}
	req, _ := http.NewRequest("GET", h2base+"/x", nil)
	req.Host = "api.localhost"
	req.Header.Set("Origin", "https://example.com")
	resp, err := h2client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || fields(resp.Header) != want {
		t.Errorf("HTTP/2 (%s): %s, want %s", resp.Proto, fields(resp.Header), want)
	}
	// A preflight over HTTP/2 is answered as over HTTP/1.1.
	req, _ = http.NewRequest("OPTIONS", h2base+"/x", nil)
	req.Host = "api.localhost"
	req.Header.Set("Origin", "https://example.com")
	req.Header.Set("Access-Control-Request-Method", "PUT")
	if resp, err = h2client.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 204 || fields(resp.Header) != want || resp.Header.Get("Access-Control-Allow-Methods") != "PUT" {
		t.Errorf("HTTP/2 preflight (%s): %d %v", resp.Proto, resp.StatusCode, resp.Header)
	}

	ws := "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	if status, h := raw(ws + "Origin: https://example.com\r\n"); !strings.HasPrefix(status, "101") || fields(h) != want {
		t.Errorf("WebSocket from the allowed origin: %s %s, want 101 and %s", status, fields(h), want)
	}
	if status, h := raw(ws + "Origin: https://evil.test\r\n"); !strings.HasPrefix(status, "101") || h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("WebSocket from another origin: %s %v; want 101 without an allowance", status, h)
	}
}
