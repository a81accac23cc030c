package frontdoor

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/slipway-dev/slipway"
)

// rules compiles a rule list for a test.
func rules(t testing.TB, def string, rs ...slipway.IPRestriction) *slipway.AccessRules {
	t.Helper()
	r, err := slipway.CompileAccessRules(rs, def)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestAccessRestrictions: a site's rules are evaluated on the connection's
// peer address (r.RemoteAddr as net/http sets it) before anything reaches
// the app or Kudu; a refused request gets 403 — App Service's page on the
// app's names, plain text on Kudu's — and platform names are not affected.
func TestAccessRestrictions(t *testing.T) {
	var seen atomic.Int32
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		fmt.Fprint(w, "app")
	}))
	defer app.Close()
	var kudu atomic.Int32
	scm := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { kudu.Add(1); fmt.Fprint(w, "scm") })
	mgmt := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "arm") })

	office := slipway.IPRestriction{IPAddress: "203.0.113.0/24", Action: slipway.AccessAllow, Priority: 100}
	blocked := slipway.IPRestriction{IPAddress: "203.0.113.66/32", Action: slipway.AccessDeny, Priority: 10}
	v6 := slipway.IPRestriction{IPAddress: "2001:db8::/32", Action: slipway.AccessAllow, Priority: 200}
	main := rules(t, "", office, blocked, v6)
	fd := New(Config{
		Domain:   "localhost",
		Backends: backends{"app": {app.URL}, "app-staging": {app.URL}, "open": {app.URL}},
		Sites: tlsSites{
			// Kudu: deny by default, no rules.
			"app":         {Exists: true, Access: main, SCMAccess: rules(t, slipway.AccessDeny)},
			"app-staging": {Exists: true, Access: rules(t, "", slipway.IPRestriction{IPAddress: "198.51.100.0/24", Action: slipway.AccessAllow})},
			// Kudu uses the main rules (scmIpSecurityRestrictionsUseMain).
			"shared": {Exists: true, Access: main, SCMAccess: main},
			"open":   {Exists: true},
		},
		HostNames:  boundNames{"www.contoso.com": "app"},
		SlotRoutes: routeTable{"app": {Slots: map[string]string{"staging": "app-staging"}}},
		SCM:        scm, Management: mgmt,
	})

	for _, tc := range []struct {
		name, host, remote string
		header             map[string]string
		want               int
		says               string
	}{
		{"allowed range", "app.localhost", "203.0.113.7:5000", nil, 200, "app"},
		{"deny rule of lower priority number first", "app.localhost", "203.0.113.66:5000", nil, 403, "The web app you have attempted to reach has blocked your access."},
		{"implicit deny all", "app.localhost", "192.0.2.1:5000", nil, 403, "Error 403 - Forbidden"},
		{"IPv6 peer", "app.localhost", "[2001:db8::5]:5000", nil, 200, "app"},
		{"IPv6 peer outside", "app.localhost", "[2001:db9::5]:5000", nil, 403, "Error 403 - Forbidden"},
		{"spoofed X-Forwarded-For does not help", "app.localhost", "192.0.2.1:5000",
			map[string]string{"X-Forwarded-For": "203.0.113.7", "X-Client-IP": "203.0.113.7", "Client-IP": "203.0.113.7", "Forwarded": "for=203.0.113.7"}, 403, "Error 403"},
		{"X-Forwarded-For does not deny an allowed peer", "app.localhost", "203.0.113.7:5000", map[string]string{"X-Forwarded-For": "203.0.113.66"}, 200, "app"},
		{"azurewebsites.net name", "app.azurewebsites.net", "192.0.2.1:5000", nil, 403, "Error 403"},
		{"custom domain", "www.contoso.com", "192.0.2.1:5000", nil, 403, "Error 403"},
		{"custom domain, allowed", "www.contoso.com", "203.0.113.7:5000", nil, 200, "app"},
		{"slot by its own name", "app-staging.localhost", "198.51.100.1:5000", nil, 200, "app"},
		{"slot by its own name, refused", "app-staging.localhost", "203.0.113.7:5000", nil, 403, "Error 403"},
		{"routed to a slot: its rules apply too", "app.localhost", "203.0.113.7:5000", map[string]string{"Cookie": "x-ms-routing-name=staging"}, 403, "Error 403"},
		{"routed to a slot: the app's rules first", "app.localhost", "198.51.100.1:5000", map[string]string{"Cookie": "x-ms-routing-name=staging"}, 403, "Error 403"},
		{"Kudu has its own rules", "app.scm.localhost", "203.0.113.7:5000", nil, 403, "Forbidden"},
		{"Kudu with the main rules", "shared.scm.localhost", "203.0.113.7:5000", nil, 200, "scm"},
		{"Kudu with the main rules, refused", "shared.scm.localhost", "192.0.2.1:5000", nil, 403, "Forbidden"},
		{"no rules", "open.localhost", "192.0.2.1:5000", nil, 200, "app"},
		{"no rules, Kudu", "open.scm.localhost", "192.0.2.1:5000", nil, 200, "scm"},
		{"management is not an app", "management.localhost", "192.0.2.1:5000", nil, 200, "arm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen.Store(0)
			kudu.Store(0)
			r := httptest.NewRequest("GET", "http://"+tc.host+"/", nil)
			r.RemoteAddr = tc.remote
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			fd.ServeHTTP(w, r)
			if w.Code != tc.want || !strings.Contains(w.Body.String(), tc.says) {
				t.Fatalf("%s from %s: %d %q; want %d containing %q", tc.host, tc.remote, w.Code, w.Body, tc.want, tc.says)
			}
			if tc.want == 403 && (seen.Load() != 0 || kudu.Load() != 0) {
				t.Errorf("a refused request reached the app (%d) or Kudu (%d)", seen.Load(), kudu.Load())
			}
		})
	}
	// Kudu's refusal is plain text; the app's is App Service's page.
	r := httptest.NewRequest("GET", "http://app.scm.localhost/api/deployments", nil)
	r.RemoteAddr = "192.0.2.1:5000"
	w := httptest.NewRecorder()
	fd.ServeHTTP(w, r)
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Kudu's 403 is %s, want text/plain", ct)
	}
}

// BenchmarkAccessCheck: the check on the request path does not allocate.
func BenchmarkAccessCheck(b *testing.B) {
	rs := make([]slipway.IPRestriction, 0, 64)
	for i := range 64 {
		rs = append(rs, slipway.IPRestriction{IPAddress: fmt.Sprintf("10.%d.0.0/16", i), Action: slipway.AccessAllow, Priority: i})
	}
	r := rules(b, "", rs...)
	b.ReportAllocs()
	for b.Loop() {
		if r.AllowsRemoteAddr("192.0.2.1:5000") {
			b.Fatal("allowed")
		}
	}
}

// BenchmarkProxyWithAccessRules is BenchmarkProxy for a site with access
// restrictions (ten rules, the client allowed by the last): the check adds
// no allocation to a proxied request.
func BenchmarkProxyWithAccessRules(b *testing.B) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello") }))
	defer app.Close()
	rs := make([]slipway.IPRestriction, 0, 10)
	for i := range 9 {
		rs = append(rs, slipway.IPRestriction{IPAddress: fmt.Sprintf("10.%d.0.0/16", i), Action: slipway.AccessDeny, Priority: i})
	}
	rs = append(rs, slipway.IPRestriction{IPAddress: "127.0.0.0/8", Action: slipway.AccessAllow, Priority: 100})
	benchProxy(b, New(Config{Domain: "localhost", Backends: backends{"todo": {app.URL}},
		Sites: tlsSites{"todo": {Exists: true, Access: rules(b, "", rs...)}}}))
}
