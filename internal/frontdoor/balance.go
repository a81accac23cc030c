package frontdoor

import (
	"net"
	"net/http"
	"strings"
	"sync"
)

// Backend is one ready instance of a site as the front door reaches it.
type Backend struct {
	// ID is the instance's id (WEBSITE_INSTANCE_ID): the value of the
	// ARRAffinity cookie that pins a client to it.
	ID string
	// URL is the instance's base URL, e.g. "http://10.88.0.2:8000".
	URL string
}

// The ARR affinity cookies (docs/appservice.md §9): ARRAffinity for every
// client, and ARRAffinitySameSite, the SameSite=None copy browsers keep on
// cross-site requests, which needs Secure and so exists only over HTTPS.
const (
	affinityCookie         = "ARRAffinity"
	affinitySameSiteCookie = "ARRAffinitySameSite"
	// disableAffinityHeader, answered "true" by an app, keeps the front
	// door from setting the cookies on that response.
	disableAffinityHeader = "Arr-Disable-Session-Affinity"
)

// route is how one request to an app is sent: to backends[0], then to the
// others in order when a connection is refused (retryTransport).
type route struct {
	backends []Backend
	affinity bool   // clientAffinityEnabled
	pinned   string // the instance the client's cookie named, if it is among backends
	host     string // Host of the request, for the cookie's Domain
	https    bool
	cors     bool // the site has platform CORS: the app's CORS fields are dropped (cors.go)
	// principal are the fields that carry the signed-in user to the app
	// (Config.Auth); nil for an anonymous request or a site without
	// authentication.
	principal http.Header
}

// balancer picks the instance for each request: the one pinned by the
// client's affinity cookie while it is ready, else the one with the fewest
// requests in progress (App Service's "LeastRequests" load balancing),
// ties taken in turn.
type balancer struct {
	mu     sync.Mutex
	active map[string]int // backend URL → requests in progress; absent = 0
	turn   uint
}

// order returns the backends with the chosen one first and the rest by
// their load, for retries.
func (b *balancer) order(backends []Backend, pinned string) []Backend {
	out := make([]Backend, len(backends))
	b.mu.Lock()
	defer b.mu.Unlock()
	b.turn++
	// Start the scan at a rotating offset so that equal loads alternate.
	n := len(backends)
	load := make([]int, n)
	for i := range backends {
		j := (i + int(b.turn%uint(n))) % n
		out[i] = backends[j]
		load[i] = b.active[backends[j].URL]
	}
	// Insertion sort by load, stable: n is a handful of instances.
	for i := 1; i < n; i++ {
		for j := i; j > 0 && load[j] < load[j-1]; j-- {
			load[j], load[j-1] = load[j-1], load[j]
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	if pinned != "" {
		for i, be := range out {
			if be.ID == pinned {
				copy(out[1:i+1], out[:i])
				out[0] = be
				break
			}
		}
	}
	return out
}

// start counts a request in progress on the backend at url; the returned
// func ends it.
func (b *balancer) start(url string) func() {
	b.mu.Lock()
	if b.active == nil {
		b.active = map[string]int{}
	}
	b.active[url]++
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		if b.active[url]--; b.active[url] <= 0 {
			delete(b.active, url) // the map holds only instances in use
		}
		b.mu.Unlock()
	}
}

// pinnedInstance returns the instance id the request's affinity cookie
// names when that instance is among backends, else "".
func pinnedInstance(r *http.Request, backends []Backend) string {
	for _, name := range []string{affinitySameSiteCookie, affinityCookie} {
		c, err := r.Cookie(name)
		if err != nil || c.Value == "" || len(c.Value) > 128 {
			continue
		}
		for _, be := range backends {
			if be.ID == c.Value {
				return be.ID
			}
		}
	}
	return ""
}

// setAffinity adds the affinity cookies for the instance that answered
// (resp.Request went to it) unless the client is already pinned to it or
// the app asked for none.
func setAffinity(resp *http.Response, rt *route) {
	if rt == nil || !rt.affinity || strings.EqualFold(strings.TrimSpace(resp.Header.Get(disableAffinityHeader)), "true") {
		return
	}
	id := ""
	for _, be := range rt.backends {
		if hostOf(be.URL) == resp.Request.URL.Host {
			id = be.ID
			break
		}
	}
	if id == "" || id == rt.pinned {
		return
	}
	// App Service's attributes: Path=/, HttpOnly, the request's host as
	// Domain; Secure over HTTPS, where ARRAffinitySameSite adds SameSite=None.
	domain := ""
	if rt.host != "" && net.ParseIP(rt.host) == nil {
		domain = ";Domain=" + rt.host
	}
	if rt.https {
		resp.Header.Add("Set-Cookie", affinityCookie+"="+id+";Path=/;HttpOnly;Secure"+domain)
		resp.Header.Add("Set-Cookie", affinitySameSiteCookie+"="+id+";Path=/;HttpOnly;SameSite=None;Secure"+domain)
		return
	}
	resp.Header.Add("Set-Cookie", affinityCookie+"="+id+";Path=/;HttpOnly"+domain)
}

// hostOf returns the host:port of a base URL such as "http://h:p".
func hostOf(base string) string {
	_, rest, ok := strings.Cut(base, "://")
	if !ok {
		rest = base
	}
	h, _, _ := strings.Cut(rest, "/")
	return h
}
