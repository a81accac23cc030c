package easyauth

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/frontdoor"
)

// The front door runs the module as its Authenticator.
var _ frontdoor.Authenticator = (*Module)(nil)

type oneSite struct{ s *slipway.AuthSettings }

func (o oneSite) SiteExists(_ context.Context, name string) (bool, error) { return name == "todo", nil }
func (o oneSite) SiteState(_ context.Context, name string) (frontdoor.SiteState, error) {
	return frontdoor.SiteState{Exists: name == "todo", Auth: o.s}, nil
}

type oneBackend string

func (b oneBackend) Backends(string) []frontdoor.Backend {
	return []frontdoor.Backend{{ID: "i1", URL: string(b)}}
}

// TestBehindFrontDoor signs a browser in through a real front door over
// HTTPS: the gate sends it to sign in, the callback sets the session, and
// the app then sees the user — never what the client wrote in the
// principal's fields.
func TestBehindFrontDoor(t *testing.T) {
	h := newHarness(t)
	h.now = time.Now().Truncate(time.Second)
	seen := make(chan http.Header, 4)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		io.WriteString(w, "app page")
	}))
	t.Cleanup(app.Close)
	s := settings()
	fd := frontdoor.New(frontdoor.Config{Domain: "localhost", Sites: oneSite{s}, Backends: oneBackend(app.URL), Auth: h.m})
	srv := httptest.NewUnstartedServer(fd)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)

	jar, _ := cookiejar.New(nil)
	addr := srv.Listener.Addr().String()
	client := &http.Client{
		Jar:     jar,
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
			ForceAttemptHTTP2: true,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	do := func(req *http.Request) *http.Response {
		t.Helper()
		req.Header.Set("X-MS-CLIENT-PRINCIPAL-NAME", "spoofed")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	get := func(u string) *http.Response {
		req, _ := http.NewRequest("GET", u, nil)
		return do(req)
	}

	resp := get("https://todo.localhost/page?x=1")
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "/.auth/login/aad?post_login_redirect_uri=%2Fpage%3Fx%3D1" {
		t.Fatalf("gate: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = get("https://todo.localhost" + resp.Header.Get("Location"))
	authz, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || err != nil || authz.Host != "login.localhost:8443" {
		t.Fatalf("login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	q := authz.Query()
	if q.Get("response_type") != "code id_token" || q.Get("response_mode") != "form_post" || q.Get("scope") != "openid profile email offline_access" ||
		q.Get("client_id") != testClientID || q.Get("redirect_uri") != "https://todo.localhost/.auth/login/aad/callback" {
		t.Fatalf("authorize request %v", q)
	}
	// The login host answers by form_post, as the browser would send it.
	idt := h.p.sign(h.p.userClaims(q.Get("nonce")))
	form := url.Values{"state": {q.Get("state")}, "code": {h.p.issueCode(q.Get("redirect_uri"), idt)}, "id_token": {idt}}
	req, _ := http.NewRequest("POST", q.Get("redirect_uri"), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp = do(req)
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "/page?x=1" {
		t.Fatalf("callback: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	select {
	case <-seen:
		t.Fatal("the sign-in reached the app")
	default:
	}
	for _, proto := range []string{"GET", "POST"} { // bodiless (direct) and with a body (ReverseProxy)
		var body io.Reader
		if proto == "POST" {
			body = strings.NewReader("a=1")
		}
		req, _ := http.NewRequest(proto, "https://todo.localhost/page?x=1", body)
		resp = do(req)
		if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
			t.Fatalf("%s signed in: %d %s", proto, resp.StatusCode, resp.Proto)
		}
		got := <-seen
		if got.Get("X-Ms-Client-Principal-Id") != testOID || got.Get("X-Ms-Client-Principal-Name") != "ada@contoso.test" ||
			len(got.Values("X-Ms-Client-Principal-Name")) != 1 || got.Get("X-Ms-Client-Principal-Idp") != "aad" ||
			got.Get("X-Ms-Token-Aad-Id-Token") != idt || !strings.HasPrefix(got.Get("X-Ms-Token-Aad-Access-Token"), "at-") {
			t.Errorf("%s: the app got %v", proto, got)
		}
		if p := decodePrincipal(t, got.Get("X-Ms-Client-Principal")); !hasClaim(p, "preferred_username", "ada@contoso.test") {
			t.Errorf("%s: X-MS-CLIENT-PRINCIPAL %+v", proto, p)
		}
	}
	// Signed out, the client's own principal fields never reach the app.
	if resp = get("https://todo.localhost/.auth/logout"); resp.StatusCode != 302 {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	s.GlobalValidation.RequireAuthentication = false
	if resp = get("https://todo.localhost/page"); resp.StatusCode != 200 {
		t.Fatalf("anonymous: %d", resp.StatusCode)
	}
	if got := <-seen; got.Get("X-Ms-Client-Principal-Name") != "" || got.Get("X-Ms-Client-Principal-Id") != "" {
		t.Errorf("an anonymous request carried principal fields: %v", got)
	}
}
