package frontdoor

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestAttackHTTPSRedirectLocation: the httpsOnly redirect copies the
// Host field, whose port part is the client's to write. Held: the server
// refuses a Host with '@' (which would turn the name into userinfo and
// send the client to evil.example) before any redirect is built.
func TestAttackHTTPSRedirectLocation(t *testing.T) {
	base := serve(t, New(Config{Domain: "localhost", Backends: backends{"app": {"http://127.0.0.1:1"}},
		Sites:     tlsSites{"app": {Exists: true, HTTPSOnly: true}},
		HostNames: boundNames{"www.contoso.com": "app"}, SCM: http.NotFoundHandler()}))
	for _, host := range []string{"app.localhost:@evil.example", "www.contoso.com:443@evil.example", "app.azurewebsites.net:@evil.example", "app.localhost:8080"} {
		c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /p HTTP/1.1\r\nHost: %s\r\n\r\n", host)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusBadRequest {
			continue
		}
		loc, err := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusMovedPermanently || err != nil || loc.User != nil || loc.Hostname() == "evil.example" {
			t.Errorf("Host %q: %d Location %q", host, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

// TestAttackMinTLSVersionSNIMismatch: a site's minTlsVersion holds for the
// site's requests, not only for handshakes that name it. A client that
// names another host in its ClientHello (or none) gets that name's
// minimum; its request for the strict site must not be served on that
// connection. And a custom name bound to the site takes its minimum in
// the handshake as the default name does.
func TestAttackMinTLSVersionSNIMismatch(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "secret") }))
	defer app.Close()
	f := New(Config{Domain: "localhost",
		Backends:  backends{"strict": {app.URL}, "plain": {app.URL}},
		Sites:     tlsSites{"strict": {Exists: true, MinTLSVersion: "1.3", SCMMinTLSVersion: "1.3"}, "plain": {Exists: true}},
		HostNames: boundNames{"www.strict.example": "strict"},
		SCM:       http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "kudu") }),
	})
	cert, _ := selfSigned(t)
	srv := httptest.NewUnstartedServer(f)
	srv.TLS = f.TLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	srv.StartTLS()
	defer srv.Close()

	do := func(sni, host string) (int, string, error) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{ServerName: sni, InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12}}
		defer tr.CloseIdleConnections()
		req, _ := http.NewRequest("GET", srv.URL+"/", nil)
		req.Host = host
		resp, err := tr.RoundTrip(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	for _, c := range []struct{ sni, host string }{
		{"plain.localhost", "strict.localhost"},
		{"", "strict.localhost"},
		{"plain.localhost", "strict.scm.localhost"},
		{"plain.localhost", "www.strict.example"},
		{"www.strict.example", "www.strict.example"},
	} {
		status, body, err := do(c.sni, c.host)
		if err == nil && (status == http.StatusOK || strings.Contains(body, "secret") || strings.Contains(body, "kudu")) {
			t.Errorf("SNI %q, Host %q over TLS 1.2: %d %q; the site demands TLS 1.3", c.sni, c.host, status, body)
		}
	}
	// The check keys on the request's site: TLS 1.2 still serves the lax one.
	if status, body, err := do("plain.localhost", "plain.localhost"); err != nil || status != http.StatusOK || body != "secret" {
		t.Errorf("plain site over TLS 1.2: %d %q %v; want 200", status, body, err)
	}
}
