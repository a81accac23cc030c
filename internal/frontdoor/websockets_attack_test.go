package frontdoor

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http/httpguts"
)

// TestAttack_WebSocketsOffNoEvasion: with webSocketsEnabled false no
// spelling of a handshake opens a WebSocket to the app — token lists,
// several Upgrade fields, a versioned token, an Upgrade without
// "Connection: upgrade", or a handshake pipelined behind a plain GET that
// the app lane serves. The app here is as willing as an app can be: it
// answers 101 "Upgrade: websocket" to anything that carries an Upgrade
// field. What the front door forwards under another token (websocket/13,
// foo) it passes only to a 101 naming that same token (ReverseProxy's
// rule), which no WebSocket server sends. Found nothing; it pins that.
func TestAttack_WebSocketsOffNoEvasion(t *testing.T) {
	var opened atomic.Int32
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.Header["Upgrade"]) == 0 {
			fmt.Fprint(w, "page")
			return
		}
		if httpguts.HeaderValuesContainsToken(r.Header["Upgrade"], "websocket") {
			opened.Add(1) // a handshake RFC 6455 servers take
		}
		if conn, _ := switchToWebSocket(w, ""); conn != nil {
			conn.Close()
		}
	}))
	defer app.Close()
	sites := tlsSites{"todo": {Exists: true, WebSocketsOff: true}}
	base := serve(t, New(Config{Domain: "localhost", Sites: sites, Backends: backends{"todo": {app.URL}}}))

	// exchange writes raw requests on one connection and returns the
	// status lines of the answers.
	exchange := func(raw string, answers int) []string {
		t.Helper()
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(conn, raw); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		var out []string
		for range answers {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				out = append(out, "error: "+err.Error())
				break
			}
			out = append(out, resp.Status)
			if resp.StatusCode == http.StatusSwitchingProtocols {
				break
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return out
	}
	const key = "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	for _, c := range []struct {
		name, head string
		answers    int
	}{
		{"plain", "Connection: Upgrade\r\nUpgrade: websocket\r\n", 1},
		{"upper case", "CONNECTION: UPGRADE\r\nUPGRADE: WEBSOCKET\r\n", 1},
		{"token list", "Connection: Upgrade\r\nUpgrade: foo, WebSocket\r\n", 1},
		{"two fields", "Connection: Upgrade\r\nUpgrade: foo\r\nUpgrade: websocket\r\n", 1},
		{"versioned token", "Connection: Upgrade\r\nUpgrade: websocket/13\r\n", 1},
		{"other token", "Connection: Upgrade\r\nUpgrade: foo\r\n", 1},
		{"tab and spaces", "Connection: \t upgrade \t\r\nUpgrade: \t websocket \t\r\n", 1},
		{"no Connection upgrade", "Upgrade: websocket\r\n", 1},
		{"Connection in two fields", "Connection: keep-alive\r\nConnection: upgrade\r\nUpgrade: websocket\r\n", 1},
	} {
		raw := "GET /ws HTTP/1.1\r\nHost: todo.localhost\r\n" + c.head + key + "\r\n"
		got := exchange(raw, c.answers)
		for _, st := range got {
			if strings.HasPrefix(st, "101") {
				t.Errorf("%s: a WebSocket opened with WebSockets off: %v", c.name, got)
			}
		}
		// Pipelined behind a request the lane serves itself.
		got = exchange("GET / HTTP/1.1\r\nHost: todo.localhost\r\n\r\n"+raw, 2)
		if len(got) == 0 || !strings.HasPrefix(got[0], "200") {
			t.Errorf("%s pipelined: the plain GET: %v", c.name, got)
		}
		for _, st := range got {
			if strings.HasPrefix(st, "101") {
				t.Errorf("%s pipelined: a WebSocket opened with WebSockets off: %v", c.name, got)
			}
		}
	}
	if n := opened.Load(); n != 0 {
		t.Errorf("the app got %d WebSocket handshakes with WebSockets off", n)
	}
}
