package scm

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway"
)

// TestAttackCredentialsOverPlainHTTPFromNetwork: Kudu is served on the
// front door's one port, HTTP and HTTPS alike, and took the app's
// publishing credentials (HTTP Basic: the password in base64), a
// deployment user's, or the admin token over plain HTTP from anywhere, and
// even asked for them there: a 401 with a Basic challenge over plain HTTP
// makes browsers and git send the password in the clear. Kudu is
// "secured by HTTPS" and App Service sends plain HTTP to its HTTPS
// (Microsoft's Kudu service overview, docs/appservice.md §5). To this
// machine's loopback plain HTTP is still served: no network carries it
// (the CLI and the quickstart call Kudu so). Whether a request came over
// TLS and from where is its connection's, never a header's.
func TestAttackCredentialsOverPlainHTTPFromNetwork(t *testing.T) {
	h := New(Config{
		Store: &fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: "app"}}, Deployer: fakeDeployer{},
		SiteOf: func(*http.Request) string { return "app" }, AdminToken: "admin-token",
		RepoDir: func(string) string { return t.TempDir() + "/repository.git" },
	})
	send := func(method, path, remote string, overTLS bool, auth func(*http.Request), hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequestWithContext(t.Context(), method, "http://app.scm.example.com:8080"+path, nil)
		r.RemoteAddr = remote
		if overTLS {
			r.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, HandshakeComplete: true}
		}
		if auth != nil {
			auth(r)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	basic := func(r *http.Request) { r.SetBasicAuth("$app", "pass") }
	bearer := func(r *http.Request) { r.Header.Set("Authorization", "Bearer admin-token") }
	refused := func(t *testing.T, rec *httptest.ResponseRecorder) {
		t.Helper()
		if rec.Code != http.StatusBadRequest {
			t.Errorf("status %d, want 400: %s", rec.Code, rec.Body)
		}
		if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") || !strings.Contains(rec.Body.String(), "https://app.scm.example.com:8080") {
			t.Errorf("not Kudu's plain-text refusal naming HTTPS: %q %s", rec.Header().Get("Content-Type"), rec.Body)
		}
		if rec.Header().Get("WWW-Authenticate") != "" {
			t.Errorf("a Basic challenge over plain HTTP invites the password in the clear: %q", rec.Header().Get("WWW-Authenticate"))
		}
	}
	for _, c := range []struct {
		name, method, path, remote string
		auth                       func(*http.Request)
		hdr                        []string
	}{
		{"publishing credentials from an IPv4 peer", "GET", "/api/deployments", "192.0.2.10:51000", basic, nil},
		{"publishing credentials from an IPv6 peer", "GET", "/api/settings", "[2001:db8::10]:51000", basic, nil},
		{"publishing credentials on a zip push", "POST", "/api/zipdeploy", "192.0.2.10:51000", basic, nil},
		{"publishing credentials to git", "GET", "/app.git/info/refs?service=git-receive-pack", "192.0.2.10:51000", basic, nil},
		{"the admin token", "GET", "/api/deployments", "192.0.2.10:51000", bearer, nil},
		{"from an instance on the gateway", "GET", "/api/deployments", "169.254.128.2:40000", basic, nil},
		{"from a peer that claims a TLS terminator", "GET", "/api/deployments", "192.0.2.10:51000", basic, []string{"X-Forwarded-Proto", "https", "X-Arr-Ssl", "1"}},
		{"from a peer that claims to be loopback", "GET", "/api/deployments", "192.0.2.10:51000", basic, []string{"X-Forwarded-For", "127.0.0.1"}},
		{"a push without credentials", "POST", "/api/zipdeploy", "192.0.2.10:51000", nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			refused(t, send(c.method, c.path, c.remote, false, c.auth, c.hdr...))
		})
	}
	t.Run("a read without credentials goes to HTTPS, as App Service's does", func(t *testing.T) {
		for _, path := range []string{"/api/deployments?x=1", "/app.git/info/refs?service=git-upload-pack", "/"} {
			rec := send("GET", path, "192.0.2.10:51000", false, nil)
			if rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "https://app.scm.example.com:8080"+path {
				t.Errorf("GET %s: %d Location %q; want 301 to https://app.scm.example.com:8080%s", path, rec.Code, rec.Header().Get("Location"), path)
			}
			if rec.Header().Get("WWW-Authenticate") != "" {
				t.Errorf("GET %s: a Basic challenge over plain HTTP", path)
			}
		}
	})
	for _, c := range []struct {
		name    string
		remote  string
		overTLS bool
		auth    func(*http.Request)
	}{
		{"publishing credentials from loopback in the clear (the CLI, the quickstart)", "127.0.0.1:51000", false, basic},
		{"the admin token from IPv6 loopback in the clear", "[::1]:51000", false, bearer},
		{"publishing credentials from a network peer over TLS", "192.0.2.10:51000", true, basic},
	} {
		t.Run(c.name, func(t *testing.T) {
			if rec := send("GET", "/api/deployments", c.remote, c.overTLS, c.auth); rec.Code != http.StatusOK {
				t.Errorf("status %d, want 200: %s", rec.Code, rec.Body)
			}
		})
	}
	t.Run("loopback without credentials is still challenged", func(t *testing.T) {
		if rec := send("GET", "/api/deployments", "127.0.0.1:51000", false, nil); rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("status %d, WWW-Authenticate %q; want 401 with a challenge", rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
	})
}
