package frontdoor

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/cleartext"
)

// TestTrustedProxy: behind a proxy the operator trusts (--trusted-proxy),
// the client is the right-most X-Forwarded-For entry that is not itself a
// trusted proxy — for the app's headers, access restrictions and Kudu —
// and the proxy's X-Forwarded-Proto https counts as HTTPS (no HTTPS Only
// redirect, X-ARR-SSL, credentials accepted). From any other peer, the
// same headers change nothing.
func TestTrustedProxy(t *testing.T) {
	app, got := recordingApp(t)
	var kuduTLS, kuduClear []bool
	scm := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kuduTLS = append(kuduTLS, cleartext.OverTLS(r))
		kuduClear = append(kuduClear, cleartext.FromNetwork(r))
		fmt.Fprint(w, "scm ", r.RemoteAddr)
	})
	office := slipway.IPRestriction{IPAddress: "203.0.113.0/24", Action: slipway.AccessAllow, Priority: 100}
	fd := New(Config{
		Domain:   "localhost",
		Backends: backends{"app": {app.URL}, "secure": {app.URL}},
		Sites: tlsSites{
			"app":    {Exists: true, Access: rules(t, "", office), SCMAccess: rules(t, "", office)},
			"secure": {Exists: true, HTTPSOnly: true},
		},
		SCM:            scm,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:1::/48")},
	})
	do := func(host, remote string, h map[string]string) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest("GET", "http://"+host+"/p?q=1", nil)
		r.RemoteAddr = remote
		for k, v := range h {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		fd.ServeHTTP(w, r)
		return w
	}
	for _, tc := range []struct {
		name, remote, xff, proto string
		wantCode                 int
		wantClient, wantProto    string // the app's X-Forwarded-For and X-Forwarded-Proto
		wantPort                 bool   // X-Client-Port sent
	}{
		{"trusted proxy names the client", "10.1.2.3:4000", "203.0.113.7", "https", 200, "203.0.113.7", "https", false},
		{"the client's own claims are left of the proxy's", "10.1.2.3:4000", "198.51.100.1, 203.0.113.7", "http", 200, "203.0.113.7", "http", false},
		{"a chain of trusted proxies", "10.1.2.3:4000", "203.0.113.7, 10.9.9.9", "https", 200, "203.0.113.7", "https", false},
		{"an entry with a port, as App Service writes it", "10.1.2.3:4000", "203.0.113.7:51000", "https", 200, "203.0.113.7", "https", false},
		{"IPv6 proxy", "[2001:db8:1::5]:4000", "203.0.113.9", "https", 200, "203.0.113.9", "https", false},
		{"a client denied by the rules", "10.1.2.3:4000", "192.0.2.1", "https", 403, "", "", false},
		{"the client's claim cannot get it past the rules", "10.1.2.3:4000", "203.0.113.7, 192.0.2.1", "https", 403, "", "", false},
		{"garbage ends the walk at the last address believed", "10.1.2.3:4000", "203.0.113.7, not-an-ip", "https", 403, "", "", false},
		{"an untrusted peer's headers change nothing", "203.0.113.7:5000", "198.51.100.1", "https", 200, "203.0.113.7", "http", true},
		{"an untrusted peer cannot pose as a trusted client", "192.0.2.1:5000", "203.0.113.7", "https", 403, "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do("app.localhost", tc.remote, map[string]string{"X-Forwarded-For": tc.xff, "X-Forwarded-Proto": tc.proto})
			var h http.Header
			select {
			case h = <-got:
			default: // refused before the app
			}
			if w.Code != tc.wantCode {
				t.Fatalf("%d %q; want %d", w.Code, w.Body, tc.wantCode)
			}
			if tc.wantCode != 200 {
				if h != nil {
					t.Error("a refused request reached the app")
				}
				return
			}
			if h.Get("X-Forwarded-For") != tc.wantClient || h.Get("Client-Ip") != tc.wantClient || h.Get("X-Client-Ip") != tc.wantClient {
				t.Errorf("the app sees X-Forwarded-For %q, Client-Ip %q, X-Client-Ip %q; want %s", h.Get("X-Forwarded-For"), h.Get("Client-Ip"), h.Get("X-Client-Ip"), tc.wantClient)
			}
			if h.Get("X-Forwarded-Proto") != tc.wantProto || (h.Get("X-Arr-Ssl") != "") != (tc.wantProto == "https") {
				t.Errorf("the app sees X-Forwarded-Proto %q, X-Arr-Ssl %q; want %s", h.Get("X-Forwarded-Proto"), h.Get("X-Arr-Ssl"), tc.wantProto)
			}
			if (h.Get("X-Client-Port") != "") != tc.wantPort {
				t.Errorf("X-Client-Port %q; want one: %v", h.Get("X-Client-Port"), tc.wantPort)
			}
		})
	}

	// HTTPS Only: the proxy received HTTPS, so no redirect (which would
	// loop for ever behind it); it received plain HTTP, so the redirect.
	if w := do("secure.localhost", "10.1.2.3:4000", map[string]string{"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}); w.Code != 200 {
		t.Errorf("HTTPS Only behind a proxy that received HTTPS: %d %s", w.Code, w.Header().Get("Location"))
	}
	select {
	case <-got:
	default:
	}
	if w := do("secure.localhost", "10.1.2.3:4000", map[string]string{"X-Forwarded-Proto": "http"}); w.Code != 301 {
		t.Errorf("HTTPS Only behind a proxy that received plain HTTP: %d, want 301", w.Code)
	}
	if w := do("secure.localhost", "192.0.2.1:5000", map[string]string{"X-Forwarded-Proto": "https"}); w.Code != 301 {
		t.Errorf("HTTPS Only, an untrusted peer claiming https: %d, want 301", w.Code)
	}

	// Kudu: the client's address for its rules, and HTTPS as the proxy
	// received it: publishing credentials are taken.
	if w := do("app.scm.localhost", "10.1.2.3:4000", map[string]string{"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}); w.Code != 200 || !strings.Contains(w.Body.String(), "203.0.113.7:0") {
		t.Fatalf("Kudu through the proxy: %d %q", w.Code, w.Body)
	}
	if w := do("app.scm.localhost", "10.1.2.3:4000", map[string]string{"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "http"}); w.Code != 200 {
		t.Fatalf("Kudu through the proxy over plain HTTP: %d %q", w.Code, w.Body)
	}
	if w := do("app.scm.localhost", "203.0.113.8:5000", map[string]string{"X-Forwarded-Proto": "https"}); w.Code != 200 {
		t.Fatalf("Kudu from an untrusted peer: %d %q", w.Code, w.Body)
	}
	if want := []bool{true, false, false}; fmt.Sprint(kuduTLS) != fmt.Sprint(want) {
		t.Errorf("Kudu saw HTTPS %v; want %v (proxied https, proxied http, a client's claim)", kuduTLS, want)
	}
	if want := []bool{false, true, true}; fmt.Sprint(kuduClear) != fmt.Sprint(want) {
		t.Errorf("Kudu saw cleartext from the network %v; want %v", kuduClear, want)
	}
}

// fromTrustedProxy leaves a request from a peer outside the trusted ranges
// as it came, and never changes the request it was given.
func TestFromTrustedProxyLeavesOthers(t *testing.T) {
	fd := New(Config{Domain: "localhost"})
	r := httptest.NewRequest("GET", "http://app.localhost/", nil)
	r.RemoteAddr = "10.1.2.3:4000"
	r.Header.Set("X-Forwarded-For", "203.0.113.7")
	r.Header.Set("X-Forwarded-Proto", "https")
	fd.cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	if r2 := fd.fromTrustedProxy(r); r2 != r {
		t.Error("a peer outside the trusted ranges changed the request")
	}
	fd.cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	if r2 := fd.fromTrustedProxy(r); r2.RemoteAddr != "203.0.113.7:0" || !cleartext.OverTLS(r2) || r.RemoteAddr != "10.1.2.3:4000" || cleartext.OverTLS(r) {
		t.Errorf("trusted peer: %s, TLS %v (the original request: %s, %v)", r2.RemoteAddr, cleartext.OverTLS(r2), r.RemoteAddr, cleartext.OverTLS(r))
	}
}
