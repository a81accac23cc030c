package server

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/frontdoor"
	"github.com/slipway-dev/slipway/internal/pki"
)

// oneBackend serves every site from one upstream.
type oneBackend string

func (b oneBackend) Backends(string) []frontdoor.Backend {
	return []frontdoor.Backend{{ID: "i0", URL: string(b)}}
}

// TestRequestToAnApp_RunsNoQuery is issue 13's rule: routing a request to
// an app — by its default name, a custom domain, a slot's routing cookie,
// an HTTPS-only redirect, a stopped app's page, an unknown name, access
// restrictions on the app's and Kudu's names, platform CORS (a preflight
// answered by the front door, an allowed origin's request), and the
// TLS handshake's per-site minimum version — reads only memory. The
// store's statement counter must not move while requests are served.
func TestRequestToAnApp_RunsNoQuery(t *testing.T) {
	ctx := t.Context()
	st := storeWithPlan(t, "S1")
	for _, s := range []slipway.Site{
		{Name: "app", Enabled: true, Config: slipway.SiteConfig{MinTLSVersion: "1.3"}},
		{Name: "secure", Enabled: true, HTTPSOnly: true},
		{Name: "stopped", Enabled: false},
		// httptest.NewRequest's peer is 192.0.2.1: denied on the app's
		// names, and on Kudu's, which use the main rules.
		{Name: "guarded", Enabled: true, Access: slipway.AccessRestrictions{SCMUseMain: true,
			Main: []slipway.IPRestriction{{IPAddress: "192.0.2.1/32", Action: slipway.AccessDeny, Priority: 1}}}},
		{Name: "cors", Enabled: true, CORS: slipway.CORS{AllowedOrigins: []string{"https://example.com"}, SupportCredentials: true}},
	} {
		s.ResourceGroup, s.Plan = "rg", "plan"
		if _, _, err := st.PutSite(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := st.PutSlot(ctx, "rg", "app", "staging", slipway.Site{Enabled: true}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.AddHostNameBinding(ctx, slipway.HostNameBinding{ResourceGroup: "rg", Site: "app", HostName: "www.contoso.com"}); err != nil {
		t.Fatal(err)
	}

	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app") }))
	defer up.Close()
	fd := frontdoor.New(frontdoor.Config{Domain: "localhost", Backends: oneBackend(up.URL), Sites: siteLookup{st},
		HostNames: st, SlotRoutes: st, SCM: http.NotFoundHandler()})
	ca, err := pki.Open(pki.Config{Dir: t.TempDir(), Domain: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	tlsSrv := httptest.NewUnstartedServer(fd)
	tlsSrv.TLS = fd.TLSConfig(&tls.Config{GetCertificate: ca.GetCertificate, MinVersion: tls.VersionTLS12})
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(ca.Root())

	before := st.Queries()
	for _, tc := range []struct {
		host, cookie string
		want         int
	}{
		{"app.localhost", "", http.StatusOK},
		{"APP.localhost:8080", "", http.StatusOK},
		{"app.azurewebsites.net", "", http.StatusOK},
		{"www.contoso.com", "", http.StatusOK},
		{"app.localhost", "x-ms-routing-name=staging", http.StatusOK},
		{"app-staging.localhost", "", http.StatusOK},
		{"secure.localhost", "", http.StatusMovedPermanently},
		{"stopped.localhost", "", http.StatusOK}, // stopped but (here) an instance is ready
		{"nosuch.localhost", "", http.StatusNotFound},
		{"app.scm.localhost", "", http.StatusNotFound}, // Kudu's own handler answers; the front door only checked the site
		{"guarded.localhost", "", http.StatusForbidden},
		{"guarded.scm.localhost", "", http.StatusForbidden},
	} {
		r := httptest.NewRequest("GET", "http://"+tc.host+"/", nil)
		if tc.cookie != "" {
			r.Header.Set("Cookie", tc.cookie)
		}
		w := httptest.NewRecorder()
		fd.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("%s (%s): status %d, want %d", tc.host, tc.cookie, w.Code, tc.want)
		}
	}
	for method, want := range map[string]int{"OPTIONS": http.StatusNoContent, "GET": http.StatusOK} {
		r := httptest.NewRequest(method, "http://cors.localhost/", nil)
		r.Header.Set("Origin", "https://example.com")
		r.Header.Set("Access-Control-Request-Method", "PUT") // a preflight when OPTIONS
		w := httptest.NewRecorder()
		fd.ServeHTTP(w, r)
		if w.Code != want || w.Header().Get("Access-Control-Allow-Origin") != "https://example.com" {
			t.Errorf("%s from an allowed origin: %d %v; want %d with its allowance", method, w.Code, w.Header(), want)
		}
	}
	// A TLS 1.2 handshake for the app's name is refused by its minTlsVersion.
	conn, err := tls.Dial("tcp", tlsSrv.Listener.Addr().String(), &tls.Config{ServerName: "app.localhost", RootCAs: roots, MaxVersion: tls.VersionTLS12})
	if err == nil {
		conn.Close()
		t.Error("a TLS 1.2 handshake for app.localhost (minTlsVersion 1.3) succeeded")
	}
	conn, err = tls.Dial("tcp", tlsSrv.Listener.Addr().String(), &tls.Config{ServerName: "app.localhost", RootCAs: roots})
	if err != nil {
		t.Errorf("a TLS 1.3 handshake for app.localhost: %v", err)
	} else {
		conn.Close()
	}
	if n := st.Queries() - before; n != 0 {
		t.Fatalf("serving the requests ran %d database statements, want 0", n)
	}

	// The counter is live: a change to a site is seen by the next request
	// without a query on the request path.
	if _, err := st.SetSiteEnabled(ctx, "rg", "app", false); err != nil {
		t.Fatal(err)
	}
	after := st.Queries()
	if after == before {
		t.Fatal("a write ran no statement: the counter is not counting")
	}
	if _, _, err := st.PutSite(ctx, slipway.Site{ResourceGroup: "rg", Plan: "plan", Name: "secure", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	after = st.Queries()
	w := httptest.NewRecorder()
	fd.ServeHTTP(w, httptest.NewRequest("GET", "http://secure.localhost/", nil))
	if w.Code != http.StatusOK {
		t.Errorf("secure after httpsOnly=false: status %d, want 200", w.Code)
	}
	if n := st.Queries() - after; n != 0 {
		t.Fatalf("a request after a change ran %d statements", n)
	}
}
