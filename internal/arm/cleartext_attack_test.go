package arm

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAttackCredentialsOverPlainHTTPFromNetwork: the front door serves
// HTTP and HTTPS on one port, and the management API took a bearer token
// (a user's, or the server's admin token, which is worth every
// subscription) over plain HTTP from anywhere: anyone on the path read it
// and could replay it. Azure Resource Manager is HTTPS only
// (docs/arm.md §1.1). A request in the clear is still served to this
// machine's loopback (the CLI on the server's own machine, the
// quickstart), which no network carries; whether it came over TLS and
// from where is the connection's, never a header's.
func TestAttackCredentialsOverPlainHTTPFromNetwork(t *testing.T) {
	e := newEnv(t)
	h := e.srv.Config.Handler
	send := func(remote string, overTLS bool, hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "http://management.example.com:8080/subscriptions?api-version=2022-12-01", nil)
		r.RemoteAddr = remote
		if overTLS {
			r.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, HandshakeComplete: true}
		}
		r.Header.Set("Authorization", "Bearer "+token)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	for _, c := range []struct {
		name   string
		remote string
		hdr    []string
	}{
		{"an IPv4 peer", "192.0.2.10:51000", nil},
		{"an IPv6 peer", "[2001:db8::10]:51000", nil},
		{"an IPv4-mapped IPv6 peer", "[::ffff:192.0.2.10]:51000", nil},
		{"an instance on the gateway", "169.254.128.2:40000", nil},
		{"a peer that claims a TLS terminator", "192.0.2.10:51000", []string{"X-Forwarded-Proto", "https", "X-Arr-Ssl", "1"}},
		{"a peer that claims to be loopback", "192.0.2.10:51000", []string{"X-Forwarded-For", "127.0.0.1", "X-Real-Ip", "127.0.0.1"}},
		{"an unparsable peer", "somewhere", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := send(c.remote, false, c.hdr...)
			if rec.Code == http.StatusOK {
				t.Fatalf("a bearer token over plain HTTP from %s was accepted: %d %s", c.remote, rec.Code, rec.Body)
			}
			if rec.Code != http.StatusBadRequest {
				t.Errorf("status %d, want 400", rec.Code)
			}
			var body errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code == "" {
				t.Fatalf("not ARM's JSON error (%v): %s", err, rec.Body)
			}
			if !strings.Contains(body.Error.Message, "https://management.example.com:8080") {
				t.Errorf("the refusal does not say to use HTTPS: %s", body.Error.Message)
			}
			if rec.Header().Get("WWW-Authenticate") != "" {
				t.Errorf("a challenge invites credentials in the clear: %q", rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("without credentials, no challenge either", func(t *testing.T) {
		r := httptest.NewRequest("GET", "http://management.example.com/subscriptions?api-version=2022-12-01", nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusBadRequest || rec.Header().Get("WWW-Authenticate") != "" {
			t.Errorf("status %d, WWW-Authenticate %q; want 400 and none", rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
	})
	for _, c := range []struct {
		name    string
		remote  string
		overTLS bool
	}{
		{"loopback IPv4 in the clear (the CLI, the quickstart)", "127.0.0.1:51000", false},
		{"loopback 127/8 in the clear", "127.0.0.2:51000", false},
		{"loopback IPv6 in the clear", "[::1]:51000", false},
		{"IPv4-mapped loopback in the clear", "[::ffff:127.0.0.1]:51000", false},
		{"a network peer over TLS", "192.0.2.10:51000", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if rec := send(c.remote, c.overTLS); rec.Code != http.StatusOK {
				t.Errorf("status %d, want 200: %s", rec.Code, rec.Body)
			}
		})
	}
	t.Run("the public metadata document carries no credentials", func(t *testing.T) {
		r := httptest.NewRequest("GET", "http://management.example.com/metadata/endpoints?api-version=2022-09-01", nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			t.Errorf("status %d, want 200: %s", rec.Code, rec.Body)
		}
	})
}
