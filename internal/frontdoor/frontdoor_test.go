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
	"strings"

	"testing"
	"time"
)

type backends map[string][]string

func (b backends) Backends(site string) []string { return b[site] }

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

func serve(t *testing.T, fd *FrontDoor) string {
	t.Helper()
	srv := httptest.NewServer(fd)
	t.Cleanup(srv.Close)
	return srv.URL
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
	base := serve(t, New(Config{
		Domain:   "localhost",
		Backends: backends{"todo": {app.URL}},
		Sites:    sites{"todo": true, "idle": true},
		SCM:      scm, Management: mgmt, Extra: map[string]http.Handler{"blob": blob},
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
			conn, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			brw.Flush()
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
