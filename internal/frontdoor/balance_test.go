package frontdoor

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// named is an app instance that answers its name; a request for /slow
// is announced on started and waits for hold to close.
func named(t *testing.T, name string, hold <-chan struct{}, started chan<- string, headers map[string]string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			started <- name
			<-hold
		}
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		fmt.Fprint(w, name)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// instances is a mutable set of ready instances.
type instances struct {
	mu       sync.Mutex
	ready    []Backend
	affinity bool
}

func (i *instances) Backends(string) []Backend {
	i.mu.Lock()
	defer i.mu.Unlock()
	return append([]Backend(nil), i.ready...)
}

func (i *instances) set(b ...Backend) {
	i.mu.Lock()
	i.ready = b
	i.mu.Unlock()
}

func (i *instances) SiteExists(context.Context, string) (bool, error) { return true, nil }
func (i *instances) SiteState(context.Context, string) (SiteState, error) {
	return SiteState{Exists: true, ClientAffinity: i.affinity}, nil
}

// fetch GETs / of todo.localhost from the front door at base, with
// cookies, and returns the answer and its Set-Cookie headers.
func fetch(t *testing.T, base, path string, cookies ...*http.Cookie) (string, []string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Host = "todo.localhost"
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.Header.Values("Set-Cookie")
}

// TestLeastOutstandingRequests: with affinity off, requests alternate over
// idle instances, and an instance busy with a long request gets no more
// until the others are as busy (App Service's LeastRequests balancing).
func TestLeastOutstandingRequests(t *testing.T) {
	hold, started := make(chan struct{}), make(chan string, 1)
	a, b := named(t, "a", hold, started, nil), named(t, "b", hold, started, nil)
	set := &instances{}
	set.set(Backend{ID: "a", URL: a.URL}, Backend{ID: "b", URL: b.URL})
	base := serve(t, New(Config{Domain: "localhost", Backends: set, Sites: set}))

	seen := map[string]int{}
	for range 10 {
		s, cookies := fetch(t, base, "/")
		seen[s]++
		if len(cookies) != 0 {
			t.Fatalf("affinity off but the front door set %v", cookies)
		}
	}
	if seen["a"] != 5 || seen["b"] != 5 {
		t.Fatalf("idle instances got %v, want 5 each", seen)
	}

	// One long request occupies an instance: the next ten go to the other.
	slow := make(chan string, 1)
	go func() { s, _ := fetch(t, base, "/slow"); slow <- s }()
	var busy string
	select {
	case busy = <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the long request never reached an instance")
	}
	clear(seen)
	for range 10 {
		s, _ := fetch(t, base, "/")
		seen[s]++
	}
	close(hold)
	if got := <-slow; got != busy {
		t.Fatalf("the long request answered from %s, started on %s", got, busy)
	}
	if seen[busy] != 0 {
		t.Fatalf("while %s served a long request it got %d of 10 new requests (%v), want none", busy, seen[busy], seen)
	}
}

// TestAffinity: with clientAffinityEnabled the first answer pins the
// client with ARRAffinity (HTTP) and ARRAffinitySameSite (HTTPS) cookies
// naming the instance id; later requests stay on it while it is ready and
// move, with a new cookie, once it is gone. An app's
// Arr-Disable-Session-Affinity: true suppresses the cookie.
func TestAffinity(t *testing.T) {
	a, b := named(t, "a", nil, nil, nil), named(t, "b", nil, nil, nil)
	c := named(t, "c", nil, nil, map[string]string{"Arr-Disable-Session-Affinity": "true"})
	urls := map[string]string{"a": a.URL, "b": b.URL}
	set := &instances{affinity: true}
	set.set(Backend{ID: "id-a", URL: a.URL}, Backend{ID: "id-b", URL: b.URL})
	base := serve(t, New(Config{Domain: "localhost", Backends: set, Sites: set}))

	first, cookies := fetch(t, base, "/")
	want := "ARRAffinity=id-" + first + ";Path=/;HttpOnly;Domain=todo.localhost"
	if len(cookies) != 1 || cookies[0] != want {
		t.Fatalf("Set-Cookie over HTTP = %q, want [%q]", cookies, want)
	}
	pin := &http.Cookie{Name: "ARRAffinity", Value: "id-" + first}
	for range 10 {
		s, cookies := fetch(t, base, "/", pin)
		if s != first {
			t.Fatalf("a pinned client went to %s, want %s", s, first)
		}
		if len(cookies) != 0 {
			t.Fatalf("the cookie was set again for a client already pinned: %v", cookies)
		}
	}
	// The pinned instance is gone: the client moves and is pinned anew.
	other := map[string]string{"a": "b", "b": "a"}[first]
	set.set(Backend{ID: "id-" + other, URL: urls[other]})
	if s, cookies := fetch(t, base, "/", pin); s != other || len(cookies) != 1 || !strings.HasPrefix(cookies[0], "ARRAffinity=id-"+other+";") {
		t.Fatalf("pinned instance gone: served by %s with cookies %v; want %s and a new cookie", s, cookies, other)
	}
	// A forged or stale cookie is no more than a hint.
	if s, _ := fetch(t, base, "/", &http.Cookie{Name: "ARRAffinity", Value: strings.Repeat("x", 4000)}); s != other {
		t.Fatalf("a junk cookie: served by %s", s)
	}
	// An app that opts out per response gets no cookie.
	set.set(Backend{ID: "id-c", URL: c.URL})
	if s, cookies := fetch(t, base, "/"); s != "c" || len(cookies) != 0 {
		t.Fatalf("Arr-Disable-Session-Affinity: served by %s with cookies %v; want c and none", s, cookies)
	}
	// The SameSite cookie alone pins too (a cross-site request, where
	// browsers drop the other).
	set.set(Backend{ID: "id-a", URL: a.URL}, Backend{ID: "id-b", URL: b.URL})
	for range 6 {
		if s, _ := fetch(t, base, "/", &http.Cookie{Name: "ARRAffinitySameSite", Value: "id-b"}); s != "b" {
			t.Fatalf("ARRAffinitySameSite=id-b went to %s", s)
		}
	}
	// Affinity off: no cookie, and a cookie pins nothing.
	set.mu.Lock()
	set.affinity = false
	set.mu.Unlock()
	seen := map[string]int{}
	for range 6 {
		s, cookies := fetch(t, base, "/", &http.Cookie{Name: "ARRAffinity", Value: "id-b"})
		seen[s]++
		if len(cookies) != 0 {
			t.Fatalf("affinity off: cookies %v", cookies)
		}
	}
	if seen["a"] == 0 {
		t.Fatalf("affinity off, a cookie still pinned every request: %v", seen)
	}

	// Over HTTPS both cookies, Secure, the SameSite one with SameSite=None.
	set.mu.Lock()
	set.affinity = true
	set.mu.Unlock()
	set.set(Backend{ID: "id-a", URL: a.URL})
	tsrv := httptest.NewTLSServer(New(Config{Domain: "localhost", Backends: set, Sites: set}))
	defer tsrv.Close()
	req, _ := http.NewRequest("GET", tsrv.URL+"/", nil)
	req.Host = "todo.localhost"
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	defer tr.CloseIdleConnections()
	r2, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	got := r2.Header.Values("Set-Cookie")
	wantTLS := []string{
		"ARRAffinity=id-a;Path=/;HttpOnly;Secure;Domain=todo.localhost",
		"ARRAffinitySameSite=id-a;Path=/;HttpOnly;SameSite=None;Secure;Domain=todo.localhost",
	}
	if strings.Join(got, "\n") != strings.Join(wantTLS, "\n") {
		t.Fatalf("Set-Cookie over HTTPS = %q, want %q", got, wantTLS)
	}
}
