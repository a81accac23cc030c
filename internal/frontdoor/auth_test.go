package frontdoor

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/slipway-dev/slipway"
)

// fakeAuth stands in for internal/easyauth (whose own tests run it
// behind a real front door): it answers /.auth/*, refuses /private to
// the anonymous, and signs in a request whose cookie says so.
type fakeAuth struct{ calls atomic.Int32 }

func (a *fakeAuth) Authenticate(w http.ResponseWriter, r *http.Request, site string, s *slipway.AuthSettings) (http.Header, bool) {
	a.calls.Add(1)
	if strings.HasPrefix(r.URL.Path, "/.auth/") {
		fmt.Fprintf(w, "auth endpoint of %s", site)
		return nil, true
	}
	if c, err := r.Cookie("AppServiceAuthSession"); err == nil && c.Value == "signed-in" {
		h := http.Header{}
		h.Set("X-MS-CLIENT-PRINCIPAL", "eyJhdXRoX3R5cCI6ImFhZCJ9")
		h.Set("X-MS-CLIENT-PRINCIPAL-ID", "user-1")
		h.Set("X-MS-TOKEN-AAD-ID-TOKEN", "id-token")
		return h, false
	}
	if r.URL.Path == "/private" {
		http.Error(w, "sign in", http.StatusUnauthorized)
		return nil, true
	}
	return nil, false
}

// authSites: "todo" has authentication on, "plain" none.
type authSites struct{}

func (authSites) SiteExists(_ context.Context, name string) (bool, error) {
	return name == "todo" || name == "plain", nil
}

func (authSites) SiteState(_ context.Context, name string) (SiteState, error) {
	st := SiteState{Exists: name == "todo" || name == "plain"}
	if name == "todo" {
		st.Auth = &slipway.AuthSettings{Platform: slipway.AuthPlatform{Enabled: true}}
	}
	return st, nil
}

// seenApp records the principal fields and the body of each request.
type seenApp struct {
	srv  *httptest.Server
	last chan seen
}

type seen struct {
	h    http.Header
	body string
}

func newSeenApp(t *testing.T) *seenApp {
	a := &seenApp{last: make(chan seen, 1)}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		a.last <- seen{h: r.Header.Clone(), body: string(b)}
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// principalFields are the app's fields of the platform's authentication.
func principalFields(h http.Header) map[string][]string {
	out := map[string][]string{}
	for k, v := range h {
		if isPlatformHeader(k) && (strings.HasPrefix(strings.ToLower(k), "x-ms-client-principal") || strings.HasPrefix(strings.ToLower(k), "x-ms-token-")) {
			out[k] = v
		}
	}
	return out
}

func spoof(req *http.Request) {
	req.Header["X-MS-CLIENT-PRINCIPAL-ID"] = []string{"spoofed"}
	req.Header["x-ms-client-principal-name"] = []string{"spoofed"}
	req.Header["X_MS_TOKEN_AAD_ACCESS_TOKEN"] = []string{"spoofed"}
}

// TestAuthPrincipalReachesApp: a signed-in user's fields reach the app on
// every path (the lane, net/http with a body, HTTP/2 both direct and
// through ReverseProxy), in place of any the client sent; an anonymous
// request and a site without authentication carry none of them.
func TestAuthPrincipalReachesApp(t *testing.T) {
	app := newSeenApp(t)
	auth := &fakeAuth{}
	fd := New(Config{Domain: "localhost", Backends: backends{"todo": {app.srv.URL}, "plain": {app.srv.URL}}, Sites: authSites{}, Auth: auth,
		SCM: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "kudu") })})
	srv := httptest.NewUnstartedServer(fd)
	lane := fd.Lane(srv.Config)
	srv.Listener = lane.Listen(srv.Listener, nil)
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		lane.Shutdown(ctx)
	})
	_, h2URL, h2Client, _ := serveH2(t, fd)

	signedIn := map[string][]string{
		"X-Ms-Client-Principal":    {"eyJhdXRoX3R5cCI6ImFhZCJ9"},
		"X-Ms-Client-Principal-Id": {"user-1"},
		"X-Ms-Token-Aad-Id-Token":  {"id-token"},
	}
	tests := []struct {
		name, base, method, host, body, cookie string
		client                                 *http.Client
		want                                   map[string][]string
		lane                                   bool
	}{
		{name: "lane", base: srv.URL, method: "GET", host: "todo.localhost", cookie: "signed-in", want: signedIn, lane: true},
		{name: "net/http with a body", base: srv.URL, method: "POST", host: "todo.localhost", body: "a=1", cookie: "signed-in", want: signedIn},
		{name: "HTTP/2 direct", base: h2URL, client: h2Client, method: "GET", host: "todo.localhost", cookie: "signed-in", want: signedIn},
		{name: "HTTP/2 with a body", base: h2URL, client: h2Client, method: "POST", host: "todo.localhost", body: "a=1", cookie: "signed-in", want: signedIn},
		{name: "anonymous, lane", base: srv.URL, method: "GET", host: "todo.localhost", want: map[string][]string{}, lane: true},
		{name: "anonymous, with a body", base: srv.URL, method: "POST", host: "todo.localhost", body: "a=1", want: map[string][]string{}},
		{name: "site without auth", base: srv.URL, method: "GET", host: "plain.localhost", cookie: "signed-in", want: map[string][]string{}, lane: true},
		{name: "site without auth, HTTP/2 with a body", base: h2URL, client: h2Client, method: "POST", host: "plain.localhost", body: "x", cookie: "signed-in", want: map[string][]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, _ := http.NewRequest(tt.method, tt.base+"/page", body)
			req.Host = tt.host
			spoof(req)
			if tt.cookie != "" {
				req.AddCookie(&http.Cookie{Name: "AppServiceAuthSession", Value: tt.cookie})
			}
			client := tt.client
			if client == nil {
				client = &http.Client{Transport: &http.Transport{}}
			}
			served := lane.Served()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			got := <-app.last
			if d := fmt.Sprint(principalFields(got.h)); d != fmt.Sprint(tt.want) {
				t.Errorf("the app got %s, want %s", d, fmt.Sprint(tt.want))
			}
			if got.body != tt.body {
				t.Errorf("the app got body %q, want %q", got.body, tt.body)
			}
			if onLane := lane.Served() > served; onLane != tt.lane {
				t.Errorf("served by the lane: %v, want %v", onLane, tt.lane)
			}
		})
	}
	calls := auth.calls.Load()

	// The module answers its endpoints and its gate; the app sees neither.
	for _, tc := range []struct{ path, want string }{{"/.auth/me", "auth endpoint of todo"}, {"/private", "sign in"}} {
		status, b, _ := get(t, srv.URL, "todo.localhost", tc.path)
		if !strings.Contains(b, tc.want) {
			t.Errorf("%s: %d %q", tc.path, status, b)
		}
		select {
		case <-app.last:
			t.Errorf("%s reached the app", tc.path)
		default:
		}
	}
	// Kudu is not behind the app's authentication.
	before := auth.calls.Load()
	if status, b, _ := get(t, srv.URL, "todo.scm.localhost", "/private"); status != 200 || b != "kudu" {
		t.Errorf("Kudu: %d %q", status, b)
	}
	if auth.calls.Load() != before {
		t.Errorf("Kudu went through the app's authentication")
	}
	// The site without auth never called the module: 6 calls for the 6
	// requests to todo above.
	if calls != 6 {
		t.Errorf("the module ran %d times for 6 requests to the site with authentication", calls)
	}
}

// With no Authenticator configured, a site's settings change nothing.
func TestAuthWithoutModule(t *testing.T) {
	app := newSeenApp(t)
	base := serve(t, New(Config{Domain: "localhost", Backends: backends{"todo": {app.srv.URL}}, Sites: authSites{}}))
	req, _ := http.NewRequest("GET", base+"/private", nil)
	req.Host = "todo.localhost"
	spoof(req)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := <-app.last; resp.StatusCode != 200 || len(principalFields(got.h)) != 0 {
		t.Errorf("%d, fields %v", resp.StatusCode, principalFields(got.h))
	}
}
