package frontdoor

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
)

// corsPolicy compiles a site's CORS for a test.
func corsPolicy(t testing.TB, credentials bool, origins ...string) *slipway.CORSPolicy {
	t.Helper()
	p, err := slipway.CORS{AllowedOrigins: origins, SupportCredentials: credentials}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// reflectingApp is the classic CORS mistake: an app that allows whatever
// Origin it is sent, with credentials. It records whether it was reached.
func reflectingApp(t *testing.T) (*httptest.Server, *atomic.Int32) {
	n := new(atomic.Int32)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("Access-Control-Allow-Methods", "*")
		h.Set("Access-Control-Allow-Headers", "*")
		h.Set("Access-Control-Expose-Headers", "X-Secret")
		h.Set("Access-Control-Max-Age", "86400")
		fmt.Fprint(w, "app")
	}))
	t.Cleanup(app.Close)
	return app, n
}

// TestAttackOriginIsNeverReflected: a site allows https://example.com with
// credentials, and its app reflects any Origin. An attacker's page — its
// own origin, a lookalike, "null", a garbled value, or two Origin fields —
// gets no allowance from the front door, which also drops the app's: App
// Service CORS takes precedence. Checked on every way a request reaches an
// app: the lane (plain GET), net/http with a body (ReverseProxy), HTTP/2,
// and preflights, which never reach the app.
func TestAttackOriginIsNeverReflected(t *testing.T) {
	app, reached := reflectingApp(t)
	fd := New(Config{Domain: "localhost", Backends: backends{"api": {app.URL}},
		Sites: tlsSites{"api": {Exists: true, CORS: corsPolicy(t, true, "https://example.com")}}})
	base := serve(t, fd)
	_, h2base, h2client, _ := serveH2(t, fd)

	attackers := [][]string{
		{"https://evil.test"},
		{"https://example.com.evil.test"},
		{"https://evilexample.com"},
		{"http://example.com"},
		{"https://example.com:8443"},
		{"https://sub.example.com"},
		{"null"},
		{"https://example.com/"},
		{"https://example.com https://evil.test"},
		{"https://example.com,https://evil.test"},
		{"https://example.com", "https://evil.test"}, // two fields
		{"https://evil.test", "https://example.com"},
		{""},
	}
	type way struct {
		name   string
		method string
		body   string
		h2     bool
	}
	for _, origins := range attackers {
		for _, wy := range []way{{"lane GET", "GET", "", false}, {"POST with a body", "POST", "x=1", false}, {"HTTP/2 GET", "GET", "", true}, {"preflight", "OPTIONS", "", false}} {
			t.Run(fmt.Sprintf("%s/%q", wy.name, origins), func(t *testing.T) {
				before := reached.Load()
				u, client := base, &http.Client{Timeout: 10 * time.Second}
				if wy.h2 {
					u, client = h2base, h2client
				}
				req, _ := http.NewRequest(wy.method, u+"/data", strings.NewReader(wy.body))
				if wy.body == "" {
					req.Body = http.NoBody
				}
				req.Host = "api.localhost"
				req.Header["Origin"] = origins
				req.Header.Set("Cookie", "session=victim")
				if wy.method == "OPTIONS" {
					req.Header.Set("Access-Control-Request-Method", "DELETE")
					req.Header.Set("Access-Control-Request-Headers", "x-csrf")
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if wy.h2 && resp.ProtoMajor != 2 {
					t.Fatalf("answered over %s, want HTTP/2", resp.Proto)
				}
				for k, v := range resp.Header {
					if strings.HasPrefix(k, "Access-Control-") {
						t.Errorf("Origin %q got %s: %q", origins, k, v)
					}
				}
				if !slices.Contains(resp.Header.Values("Vary"), "Origin") {
					t.Errorf("no Vary: Origin in %v", resp.Header)
				}
				if wy.method == "OPTIONS" {
					if resp.StatusCode != http.StatusNoContent || reached.Load() != before {
						t.Errorf("preflight: %d, reached the app %d times; want 204 from the front door", resp.StatusCode, reached.Load()-before)
					}
				} else if resp.StatusCode != 200 || reached.Load() != before+1 {
					t.Errorf("%s: %d, reached the app %d times; want 200 from the app", wy.method, resp.StatusCode, reached.Load()-before)
				}
			})
		}
	}

	// The allowed origin gets the platform's allowance, and only that: the
	// app's wider one (every method and header, exposed fields, max age)
	// is gone.
	for _, wy := range []string{"GET", "POST"} {
		req, _ := http.NewRequest(wy, base+"/data", nil)
		req.Host = "api.localhost"
		req.Header.Set("Origin", "https://example.com")
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.Header{"Access-Control-Allow-Origin": {"https://example.com"}, "Access-Control-Allow-Credentials": {"true"}}
		got := http.Header{}
		for k, v := range resp.Header {
			if strings.HasPrefix(k, "Access-Control-") {
				got[k] = v
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s from the allowed origin: %v; want %v", wy, got, want)
		}
	}
}

// TestAttackRequestHeadersAreNotEchoedRaw: a preflight from an allowed
// origin whose Access-Control-Request-Method or -Headers is no token list
// gets no allowance for them (nothing the client wrote but field names and
// a method is echoed), over a raw connection where nothing cleans it up.
func TestAttackRequestHeadersAreNotEchoedRaw(t *testing.T) {
	app, reached := reflectingApp(t)
	fd := New(Config{Domain: "localhost", Backends: backends{"api": {app.URL}},
		Sites: tlsSites{"api": {Exists: true, CORS: corsPolicy(t, false, "https://example.com")}}})
	base := serve(t, fd)
	for _, c := range []struct{ name, method, headers, wantMethods, wantHeaders string }{
		{"a clean request", "PUT", "x-a, content-type", "PUT", "x-a, content-type"},
		{"a method with a space", "PUT X", "x-a", "", "x-a"},
		{"a header list with a bad name", "PUT", "x-a, bad name", "PUT", ""},
		{"a header list with a colon", "PUT", "x-a:1", "PUT", ""},
		{"a header list with a semicolon", "PUT", "x-a;Set-Cookie=1", "PUT", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "OPTIONS /x HTTP/1.1\r\nHost: api.localhost\r\nOrigin: https://example.com\r\nAccess-Control-Request-Method: %s\r\nAccess-Control-Request-Headers: %s\r\n\r\n", c.method, c.headers)
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://example.com" {
				t.Fatalf("%d %v", resp.StatusCode, resp.Header)
			}
			if got := resp.Header.Get("Access-Control-Allow-Methods"); got != c.wantMethods {
				t.Errorf("Allow-Methods %q, want %q", got, c.wantMethods)
			}
			if got := resp.Header.Get("Access-Control-Allow-Headers"); got != c.wantHeaders {
				t.Errorf("Allow-Headers %q, want %q", got, c.wantHeaders)
			}
		})
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("preflights reached the app %d times", n)
	}
}

// TestAttackCORSStaysOffKuduAndARM: an app's platform CORS is the app's:
// it never answers for the app's Kudu site or the management API. Were a
// preflight to <app>.scm answered by the app's allowed origins, a page of
// such an origin could script Kudu — run commands, push code — with
// whatever credentials the browser holds for it; the ARM host is no app's.
// Both handlers see the preflight themselves, and nothing of the app's
// CORS is added to their answers.
func TestAttackCORSStaysOffKuduAndARM(t *testing.T) {
	var seen atomic.Int32
	own := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		w.WriteHeader(http.StatusTeapot)
	})
	fd := New(Config{Domain: "localhost", SCM: own, Management: own,
		Sites: tlsSites{"api": {Exists: true, CORS: corsPolicy(t, true, "https://example.com")}}})
	base := serve(t, fd)
	for _, host := range []string{"api.scm.localhost", "management.localhost", "api.scm.azurewebsites.net", "management.azure.com"} {
		for _, method := range []string{"OPTIONS", "POST"} {
			req, _ := http.NewRequestWithContext(t.Context(), method, base+"/api/command", nil)
			req.Host = host
			req.Header.Set("Origin", "https://example.com")
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
			before := seen.Load()
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusTeapot || seen.Load() != before+1 {
				t.Errorf("%s to %s: %d, handler reached %d times; want the host's own handler", method, host, resp.StatusCode, seen.Load()-before)
			}
			for k := range resp.Header {
				if strings.HasPrefix(strings.ToLower(k), "access-control-") {
					t.Errorf("%s to %s: the app's CORS answered: %s: %s", method, host, k, resp.Header.Get(k))
				}
			}
		}
	}
}
