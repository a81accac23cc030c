package scm

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestWebSSHOrigin: the SSH page's session (/exec/shell) opens from the
// page's own origin only — the same scheme, host and port. A page served
// as http:// on the app's Kudu host (a network attacker answers for it:
// plain HTTP is not the server's to vouch for) is another origin, whose
// WebSocket to wss:// would carry the Basic credentials the browser holds
// for the HTTPS site; so is a sandboxed or file page ("null"), another
// port, or a sibling app's Kudu host.
func TestWebSSHOrigin(t *testing.T) {
	srv := httptest.NewTLSServer(New(Config{
		Store: &fakeStore{site: runningSite()}, Deployer: fakeDeployer{},
		SiteOf: func(*http.Request) string { return "app" }, Shells: &localShells{},
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "https://")
	dial := func(origin string) (*http.Response, error) {
		h := http.Header{}
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("$app:pass")))
		if origin != "" {
			h.Set("Origin", origin)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, resp, err := websocket.Dial(ctx, "wss://"+host+"/exec/shell", &websocket.DialOptions{HTTPHeader: h, HTTPClient: srv.Client()})
		if err == nil {
			c.Close(websocket.StatusNormalClosure, "")
		}
		return resp, err
	}
	for _, origin := range []string{"", "https://" + host, "HTTPS://" + strings.ToUpper(host)} {
		if resp, err := dial(origin); err != nil {
			t.Errorf("Origin %q: %v %v, want the session", origin, err, resp)
		}
	}
	for _, origin := range []string{"http://" + host, "null", "https://127.0.0.1:1", "https://other.scm.localhost", "ws://" + host,
		"https://" + host + ".evil.example", "https://evil.example#" + host} {
		if resp, err := dial(origin); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("Origin %q: %v %v, want 403", origin, err, resp)
		}
	}
	// Kudu's writes check Origin the same way (crossSite): the page's own
	// origin reaches the handler (here a 404: the test has no command
	// runner), the http:// one does not.
	for origin, refused := range map[string]bool{"http://" + host: true, "https://" + host: false} {
		req, _ := http.NewRequest("POST", srv.URL+"/api/command", strings.NewReader(`{"command":"true","dir":"/home"}`))
		req.SetBasicAuth("$app", "pass")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", origin)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if (resp.StatusCode == http.StatusForbidden) != refused {
			t.Errorf("POST /api/command from %q: %d, refused: %v", origin, resp.StatusCode, refused)
		}
	}
}
