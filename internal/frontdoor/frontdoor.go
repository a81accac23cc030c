// Package frontdoor is the platform's single HTTP entry point. It routes on
// the Host header, as Azure's front ends do: <app>.<domain> goes to the
// app's ready instances, <app>.scm.<domain> to the app's Kudu (SCM) API,
// management.<domain> (or an ARM path on the bare address) to the management
// API, a custom domain bound to a site (HostNames) to that site's instances.
// Requests to apps keep the Host the app expects (WEBSITE_HOSTNAME) and
// carry the platform's headers (X-Forwarded-For/-Proto/-Host, X-ARR-SSL,
// Client-IP, X-ARR-LOG-ID, …) as the front door sets them: any a client sent
// are dropped first. A site's access restrictions (IP rules on the
// connection's peer address, never on a header) refuse a request with 403
// before it reaches the app or Kudu; a site's platform CORS is answered
// here too (cors.go). A site's App Service authentication (SiteState.Auth)
// is run by Config.Auth (internal/easyauth) after those, before the
// request is balanced: it answers the site's /.auth endpoints and its
// gate, and a signed-in user reaches the app as the X-MS-CLIENT-PRINCIPAL*
// and X-MS-TOKEN-AAD-* fields the front door adds on both of its paths
// to the app (after dropping any a client sent); Kudu is not behind it. WebSockets and streamed responses pass through. An app with no ready instance answers 503; an unknown host 404.
//
// Plain HTTP/1.1 requests to apps without a body are served by the app
// lane, the front door's own server side (lane.go); every other request by
// net/http's server, to which the lane hands such connections.
//
// Requests to an app are balanced over its ready instances by least
// outstanding requests, and with clientAffinityEnabled pinned to one by
// App Service's ARRAffinity cookies (balance.go).
package frontdoor

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/cleartext"
)

// Backends tells which instances of a site are ready for requests (the
// runtime, through the composition root): an instance taken out by health
// checks or being drained is not among them.
type Backends interface {
	Backends(site string) []Backend
}

// Sites tells whether a site exists (the store implements it).
type Sites interface {
	SiteExists(ctx context.Context, name string) (bool, error)
}

// SiteState is what a request to an app needs to know of its site.
type SiteState struct {
	Exists bool
	// HTTPSOnly answers plain HTTP with a redirect to HTTPS (httpsOnly,
	// az webapp update --https-only true).
	HTTPSOnly bool
	// Stopped (webapp stop) answers App Service's 403 page rather than the
	// page of an app that is starting.
	Stopped bool
	// MinTLSVersion and SCMMinTLSVersion ("1.0".."1.3") are the oldest TLS
	// versions the app's and its Kudu's names accept; "" leaves the
	// listener's minimum.
	MinTLSVersion, SCMMinTLSVersion string
	// MinTLSCipherSuite (siteConfig minTlsCipherSuite) is the weakest
	// cipher suite the app's names accept, in App Service's order
	// (slipway.TLSCipherSuites); "" leaves the listener's suites.
	MinTLSCipherSuite string
	// ClientAffinity (clientAffinityEnabled) pins each client to one
	// instance with the ARRAffinity cookies (balance.go).
	ClientAffinity bool
	// HTTP20Off (siteConfig http20Enabled false) offers only HTTP/1.1 by
	// ALPN on the app's names (not its Kudu's), as App Service's front end.
	HTTP20Off bool
	// WebSocketsOff (siteConfig webSocketsEnabled false) keeps WebSocket
	// upgrades from the app: the front door answers them itself (403).
	WebSocketsOff bool
	// Access and SCMAccess are the access restrictions of the app's names
	// and of its Kudu's (siteConfig ipSecurityRestrictions and
	// scmIpSecurityRestrictions), evaluated on the address of the
	// connection's peer; nil lets every address through.
	Access, SCMAccess *slipway.AccessRules
	// CORS is the site's platform CORS (siteConfig.cors), answered by the
	// front door on the app's names (cors.go); nil: none, the app answers
	// CORS itself.
	CORS *slipway.CORSPolicy
	// Auth is the site's App Service authentication (config/authsettingsV2),
	// run by Config.Auth on the app's names (not its Kudu's); nil: none,
	// and the site pays nothing for it.
	Auth *slipway.AuthSettings
}

// Authenticator is the platform's App Service authentication ("Easy
// Auth", internal/easyauth) for the sites whose SiteState.Auth is set.
type Authenticator interface {
	// Authenticate answers r itself (the /.auth endpoints, a redirect to
	// sign in, a refusal) and returns done; or it returns the request
	// fields that carry the signed-in user to the app (nil: anonymous),
	// which the front door adds after dropping every X-MS-CLIENT-PRINCIPAL*
	// and X-MS-TOKEN-* field the client sent.
	Authenticate(w http.ResponseWriter, r *http.Request, site string, settings *slipway.AuthSettings) (principal http.Header, done bool)
}

// SiteStates, when Sites implements it too, gives a site's whole state in
// one lookup per request.
type SiteStates interface {
	SiteState(ctx context.Context, name string) (SiteState, error)
}

// HostNames tells which site a custom host name is bound to (the store's
// in-memory index implements it). It is asked on every request whose Host
// is outside the platform's domain, so it must not do I/O.
type HostNames interface {
	SiteForHostName(host string) (site string, ok bool)
}

// Config configures the front door.
type Config struct {
	Domain     string                  // base domain, e.g. "localhost"
	Backends   Backends                // app instances
	Sites      Sites                   // which apps exist
	SCM        http.Handler            // Kudu API; the site name is passed via SiteFromContext
	Login      http.Handler            // token service at login.<domain> (login.microsoftonline.com inside sandboxes); nil: none
	Graph      http.Handler            // directory (Microsoft Graph subset) at graph.<domain>; nil: none
	Management http.Handler            // ARM API
	Extra      map[string]http.Handler // other service hosts by label, e.g. "blob" for <account>.blob.<domain>
	// ACMEChallenges answers ACME HTTP-01 challenges
	// (/.well-known/acme-challenge/<token>) for bound custom names over
	// plain HTTP; nil: none.
	ACMEChallenges http.Handler
	HostNames      HostNames  // custom host names bound to sites; nil: none
	SlotRoutes     SlotRouter // traffic routing among an app's slots (slots.go); nil: none
	Logger         *slog.Logger
	Observe        func(site string, r *http.Request, status int, d time.Duration) // optional per-request record for apps
	// Auth runs the authentication of sites whose SiteState.Auth is set;
	// nil: no site has any.
	Auth Authenticator
	// TrustedProxies are the addresses of the operator's proxies in front
	// of the front door, whose X-Forwarded-For and X-Forwarded-Proto are
	// believed (trusted.go); none by default.
	TrustedProxies []netip.Prefix
}

// FrontDoor is an http.Handler.
type FrontDoor struct {
	cfg   Config
	proxy *httputil.ReverseProxy
	lb    balancer
	urls  urlCache // backends' parsed base URLs (proxy.go)
	// upstream carries bodiless requests itself and the rest through
	// net/http's Transport (upstream.go).
	upstream *upstreamTransport
	bufs     *bufferPool // response copy buffers (proxy.go)
	noDirect bool        // tests: every request through proxy (forward.go)
}

type ctxKey int

const (
	siteKey ctxKey = iota
	routeKey
	statusKey
	defaultHostKey // the site's default host name, for a request to a custom domain
)

// SiteFromContext returns the site a request was routed for.
func SiteFromContext(ctx context.Context) string {
	s, _ := ctx.Value(siteKey).(string)
	return s
}

// New returns a front door.
func New(cfg Config) *FrontDoor {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	f := &FrontDoor{cfg: cfg, bufs: newBufferPool()}
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	const (
		headTimeout = 230 * time.Second // App Service's front-end request timeout (docs/appservice.md §9)
		idleTimeout = 30 * time.Second
		maxIdle     = 64
	)
	standard := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		MaxIdleConnsPerHost:   maxIdle,
		IdleConnTimeout:       idleTimeout,
		ResponseHeaderTimeout: headTimeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true, // pass the client's Accept-Encoding through (proxy.go)
	}
	// Requests without a body take the front door's own HTTP/1.1 client
	// (upstream.go); the rest go to the standard transport.
	// Its connections need no TCP keep-alive probes (four setsockopt calls
	// per dial): they live on this host, and idle ones are reaped after
	// idleTimeout.
	f.upstream = newUpstreamTransport(standard, &net.Dialer{Timeout: dialer.Timeout, KeepAlive: -1}, headTimeout, idleTimeout, maxIdle)
	f.proxy = &httputil.ReverseProxy{
		Rewrite: f.rewrite,
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode < 100 {
				return errBadStatus // WriteHeader would panic
			}
			rt, _ := resp.Request.Context().Value(routeKey).(*route)
			setAffinity(resp, rt)
			dropAppCORS(resp, rt)
			return nil
		},
		Transport: &retryTransport{next: f.upstream},
		// 0: no flush per write for bodies of known length; streams
		// (text/event-stream, unknown length) are still flushed at once
		// by ReverseProxy itself (proxy.go).
		FlushInterval: 0,
		BufferPool:    f.bufs,
		ErrorHandler:  f.proxyError,
	}
	return f
}

// acmeChallengePath is where ACME CAs fetch HTTP-01 key authorizations (RFC 8555 §8.3).
const acmeChallengePath = "/.well-known/acme-challenge/"

// ServeHTTP routes a request by its Host.
func (f *FrontDoor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 2 {
		growStack(0) // a new goroutine per request (forward.go)
	}
	if len(f.cfg.TrustedProxies) > 0 {
		r = f.fromTrustedProxy(r) // trusted.go
	}
	host := canonicalHost(r.Host)
	domain := strings.ToLower(f.cfg.Domain)
	host, handled := f.azureName(w, r, host, domain)
	if handled {
		return
	}
	label, ok := strings.CutSuffix(host, "."+domain)
	if !ok && host != domain && f.cfg.HostNames != nil {
		// A custom domain bound to a site (App Service's hostNameBindings):
		// the app sees the name it was called by, as on Azure.
		if site, bound := f.cfg.HostNames.SiteForHostName(host); bound {
			if f.cfg.ACMEChallenges != nil && r.TLS == nil && strings.HasPrefix(r.URL.Path, acmeChallengePath) {
				// HTTP-01 for a managed certificate of this bound name; the
				// handler answers only the tokens of its pending orders.
				f.cfg.ACMEChallenges.ServeHTTP(w, r)
				return
			}
			def := site + "." + domain + portOf(r.Host)
			if f.routeApp(w, r.WithContext(context.WithValue(r.Context(), defaultHostKey, def)), site) {
				return
			}
		}
	}
	switch {
	case host == "login."+domain && f.cfg.Login != nil:
		f.cfg.Login.ServeHTTP(w, r)
		return
	case host == "graph."+domain && f.cfg.Graph != nil:
		f.cfg.Graph.ServeHTTP(w, r)
		return
	case host == "management."+domain || (!ok && isARMPath(r.URL.Path)) || (host == domain && isARMPath(r.URL.Path)):
		if f.cfg.Management != nil {
			f.cfg.Management.ServeHTTP(w, r)
			return
		}
	case ok && strings.HasSuffix(label, ".scm"):
		site := strings.TrimSuffix(label, ".scm")
		if strings.Contains(site, ".") {
			break
		}
		if st := f.siteState(r.Context(), site); st.Exists {
			if !st.SCMAccess.AllowsRemoteAddr(r.RemoteAddr) {
				// Kudu's clients are tools: a plain-text refusal.
				http.Error(w, "Error 403 - Forbidden: the Kudu (SCM) site of this app has blocked your access by its access restrictions.", http.StatusForbidden)
				return
			}
			if tlsTooOld(r, st.SCMMinTLSVersion) {
				writeMisdirected(w, st.SCMMinTLSVersion)
				return
			}
			f.cfg.SCM.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), siteKey, site)))
			return
		}
	case ok && !strings.Contains(label, "."):
		if f.routeApp(w, r, label) {
			return
		}
	case ok:
		parts := strings.Split(label, ".")
		if len(parts) == 2 {
			if h := f.cfg.Extra[parts[1]]; h != nil {
				h.ServeHTTP(w, r)
				return
			}
		}
	}
	writePage(w, http.StatusNotFound, pageData{
		Title:   "404 Web Site not found.",
		Heading: "404 Web Site not found",
		Text:    fmt.Sprintf("No app answers to the host name %q on this Slipway server. Check the name, or create the app with `slipway webapp create`.", r.Host),
	})
}

// canonicalHost is a Host field's name in lower case, without its port
// and trailing dot.
func canonicalHost(hostport string) string {
	host := strings.ToLower(hostport)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.TrimSuffix(host, ".")
}

// laneable reports whether ServeHTTP would route r to an app (or answer
// that no app has its name): the app lane serves those (lane.go); the
// platform's services, Kudu and Azure's names keep net/http's server.
func (f *FrontDoor) laneable(r *http.Request) bool {
	host := canonicalHost(r.Host)
	if strings.HasSuffix(host, ".azure.com") || strings.HasSuffix(host, ".azure.net") ||
		strings.HasSuffix(host, ".windows.net") || strings.HasSuffix(host, ".microsoftonline.com") {
		return false // azureName's
	}
	domain := strings.ToLower(f.cfg.Domain)
	if label, ok := strings.CutSuffix(host, "."+domain); ok {
		return label != "" && !strings.Contains(label, ".") && label != "management" &&
			!(label == "login" && f.cfg.Login != nil) && !(label == "graph" && f.cfg.Graph != nil)
	}
	if host == domain || f.cfg.HostNames == nil || strings.HasPrefix(r.URL.Path, acmeChallengePath) {
		return false
	}
	_, bound := f.cfg.HostNames.SiteForHostName(host)
	return bound && !isARMPath(r.URL.Path)
}

// routeApp serves a request to one of app's names if the app exists, and
// reports whether it did. The app's access restrictions come first; a
// request that traffic routing sends to a slot must pass the slot's too.
func (f *FrontDoor) routeApp(w http.ResponseWriter, r *http.Request, app string) bool {
	st := f.siteState(r.Context(), app)
	if !st.Exists {
		return false
	}
	if !st.Access.AllowsRemoteAddr(r.RemoteAddr) {
		writeForbidden(w)
		return true
	}
	if tlsTooOld(r, st.MinTLSVersion) {
		writeMisdirected(w, st.MinTLSVersion)
		return true
	}
	if cipherTooWeak(r, st.MinTLSCipherSuite) {
		writeMisdirectedCipher(w, st.MinTLSCipherSuite)
		return true
	}
	site := f.pickSlot(w, r, app)
	if site != app {
		if st = f.siteState(r.Context(), site); !st.Exists {
			return false
		}
		if !st.Access.AllowsRemoteAddr(r.RemoteAddr) {
			writeForbidden(w)
			return true
		}
		if tlsTooOld(r, st.MinTLSVersion) {
			writeMisdirected(w, st.MinTLSVersion)
			return true
		}
		if cipherTooWeak(r, st.MinTLSCipherSuite) {
			writeMisdirectedCipher(w, st.MinTLSCipherSuite)
			return true
		}
	}
	if st.HTTPSOnly && !cleartext.OverTLS(r) {
		// App Service answers 301 with the same host and path.
		http.Redirect(w, r, "https://"+r.Host+r.URL.RequestURI(), http.StatusMovedPermanently)
		return true
	}
	f.serveApp(w, r, site, st)
	return true
}

// azureName maps the names of Azure's endpoints that apps use directly to
// the platform's own (inside a sandbox they resolve to the front door):
// <app>.azurewebsites.net and <app>.scm.azurewebsites.net to the app and its
// Kudu, management.azure.com to the management API; <account>.blob.core.windows.net
// stays as it is (the blob service knows it). Storage services Slipway does
// not have answer a clear error (handled is then true). An app reached by
// its Azure name sees its own host name, as ALLOWED_HOSTS expects.
func (f *FrontDoor) azureName(w http.ResponseWriter, r *http.Request, host, domain string) (string, bool) {
	switch {
	case host == "management.azure.com":
		return "management." + domain, false
	case host == "login.microsoftonline.com":
		return "login." + domain, false
	case strings.HasSuffix(host, ".vault.azure.net"):
		if h := f.cfg.Extra["vault"]; h != nil && !strings.Contains(strings.TrimSuffix(host, ".vault.azure.net"), ".") {
			h.ServeHTTP(w, r)
			return host, true
		}
	case strings.HasSuffix(host, ".azurewebsites.net"):
		label := strings.TrimSuffix(host, ".azurewebsites.net")
		if !strings.Contains(strings.TrimSuffix(label, ".scm"), ".") {
			r.Host = label + "." + domain + portOf(r.Host)
			return label + "." + domain, false
		}
	case strings.HasSuffix(host, ".blob.core.windows.net"):
		account := strings.TrimSuffix(host, ".blob.core.windows.net")
		if h := f.cfg.Extra["blob"]; h != nil && !strings.Contains(account, ".") {
			h.ServeHTTP(w, r)
			return host, true
		}
	case strings.HasSuffix(host, ".core.windows.net"):
		writePage(w, http.StatusNotImplemented, pageData{
			Title:   "501 Not supported",
			Heading: "501 This Azure Storage service is not supported",
			Text:    fmt.Sprintf("Slipway serves Blob storage only (<account>.blob.core.windows.net); %q is a service it does not have.", host),
		})
		return host, true
	}
	return host, false
}

// portOf returns ":port" of a Host header, or "".
func portOf(host string) string {
	if _, port, err := net.SplitHostPort(host); err == nil && port != "" {
		return ":" + port
	}
	return ""
}

func isARMPath(p string) bool {
	p = "/" + strings.TrimLeft(strings.ToLower(p), "/")
	return strings.HasPrefix(p, "/subscriptions") || strings.HasPrefix(p, "/providers/") || strings.HasPrefix(p, "/tenants") || strings.HasPrefix(p, "/metadata/")
}

// writeForbidden answers a request that the app's access restrictions
// refuse with App Service's page for it; the app never sees the request.
// isWebSocket tells a WebSocket opening handshake: an HTTP/1.1 upgrade to
// "websocket" (RFC 6455 §4.1), with a version ("websocket/13") or not, or
// an HTTP/2 extended CONNECT with that :protocol (RFC 8441 §4).
func isWebSocket(r *http.Request) bool {
	if r.Method == http.MethodConnect {
		return strings.EqualFold(r.Header.Get(":protocol"), "websocket")
	}
	for _, v := range r.Header["Upgrade"] {
		for _, p := range strings.Split(v, ",") {
			name, _, _ := strings.Cut(strings.TrimSpace(p), "/")
			if strings.EqualFold(strings.TrimSpace(name), "websocket") {
				return true
			}
		}
	}
	return false
}

func writeForbidden(w http.ResponseWriter) {
	writePage(w, http.StatusForbidden, pageData{
		Title:   "Error 403 - Forbidden",
		Heading: "Error 403 - Forbidden",
		Text:    "The web app you have attempted to reach has blocked your access.",
	})
}

func (f *FrontDoor) siteExists(ctx context.Context, name string) bool {
	if f.cfg.Sites == nil {
		return true
	}
	ok, err := f.cfg.Sites.SiteExists(ctx, name)
	if err != nil {
		f.cfg.Logger.Error("looking up site", "site", name, "err", err)
		return false
	}
	return ok
}

// siteState looks a site up once: its whole state when Sites can tell it,
// else whether it exists.
func (f *FrontDoor) siteState(ctx context.Context, name string) SiteState {
	ss, ok := f.cfg.Sites.(SiteStates)
	if !ok {
		return SiteState{Exists: f.siteExists(ctx, name)}
	}
	st, err := ss.SiteState(ctx, name)
	if err != nil {
		f.cfg.Logger.Error("looking up site", "site", name, "err", err)
		return SiteState{}
	}
	return st
}

func (f *FrontDoor) serveApp(w http.ResponseWriter, r *http.Request, site string, st SiteState) {
	backends := f.cfg.Backends.Backends(site)
	if len(backends) == 0 {
		if st.Stopped {
			writePage(w, http.StatusForbidden, pageData{
				Title:   "Error 403 - This web app is stopped.",
				Heading: "Error 403 - This web app is stopped.",
				Text:    fmt.Sprintf("The app %q is stopped and does not accept requests. If you run it, start it again with `slipway webapp start -n %s -g <group>`.", site, site),
			})
			return
		}
		writePage(w, http.StatusServiceUnavailable, pageData{
			Title:   ":( Application Error",
			Heading: ":( Application Error",
			Text:    fmt.Sprintf("The app %q has no instance ready to serve requests. If it was just deployed or restarted it is starting; otherwise see its log stream (`slipway webapp log tail -n %s`) and its last deployment's log.", site, site),
		})
		return
	}
	if badTarget(r.URL.RawQuery) {
		// Go's HTTP/2 server takes a query with spaces that its HTTP/1.1
		// server refuses; sent on, it would split the request line the app
		// reads. Refused here, as a bad request.
		writePage(w, http.StatusBadRequest, pageData{Title: "400 Bad Request", Heading: "400 Bad Request",
			Text: "The request's query holds a space or a control character; encode it (%20)."})
		return
	}
	if st.WebSocketsOff && isWebSocket(r) {
		writePage(w, http.StatusForbidden, pageData{
			Title:   "Error 403 - WebSockets are turned off for this web app.",
			Heading: "Error 403 - WebSockets are turned off for this web app.",
			Text:    fmt.Sprintf("The app %q does not take WebSocket connections: its general setting \"Web sockets\" (siteConfig.webSocketsEnabled) is off. If you run it, turn it on with `az webapp config set --web-sockets-enabled true -n %s -g <group>`.", site, site),
		})
		return
	}
	if st.CORS != nil && f.serveCORS(w, r, site, st.CORS) {
		return // a preflight, answered here
	}
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	var principal http.Header
	if st.Auth != nil && f.cfg.Auth != nil {
		// App Service authentication: its endpoints and its gate come
		// before the app; a signed-in user goes on as principal fields.
		var done bool
		if principal, done = f.cfg.Auth.Authenticate(sw, r, site, st.Auth); done {
			if f.cfg.Observe != nil {
				f.cfg.Observe(site, r, sw.status, time.Since(start))
			}
			return
		}
	}
	if h := w.Header(); len(h) > 0 {
		sw.before = h.Clone() // the slot routing cookie: a 1xx answer clears the map
	}
	rt := &route{affinity: st.ClientAffinity, https: cleartext.OverTLS(r), cors: st.CORS != nil, principal: principal}
	if rt.affinity {
		rt.pinned = pinnedInstance(r, backends)
		rt.host = strings.ToLower(r.Host)
		if h, _, err := net.SplitHostPort(rt.host); err == nil {
			rt.host = h
		}
	}
	rt.backends = f.lb.order(backends, rt.pinned)
	ctx := context.WithValue(r.Context(), siteKey, site)
	ctx = context.WithValue(ctx, routeKey, rt)
	func() {
		defer f.lb.start(rt.backends[0].URL)() // ends even when a stream is aborted (panic)
		r := r.WithContext(ctx)
		if !f.forward(sw, r, rt) {
			f.proxy.ServeHTTP(sw, r)
		}
	}()
	if f.cfg.Observe != nil {
		f.cfg.Observe(site, r, sw.status, time.Since(start))
	}
}

func (f *FrontDoor) rewrite(pr *httputil.ProxyRequest) {
	rt, _ := pr.In.Context().Value(routeKey).(*route)
	u, _ := f.urls.get(rt.backends[0].URL)
	pr.SetURL(u)
	pr.Out.Host = pr.In.Host // the app sees the host it was called by (its WEBSITE_HOSTNAME)
	setPlatformHeaders(pr.Out.Header, pr.In)
	for k, v := range rt.principal {
		pr.Out.Header[k] = v
	}
}

// platformHeaders are the request headers App Service's front ends set
// themselves; a client's value for any of them would let it pose as the
// platform (claim HTTPS, another address, a signed-in user), so the front
// door drops them before setting its own. Keys are lower case, with '-' for
// '_' (WSGI and Django's ASGI handler read X_Forwarded_Proto as
// X-Forwarded-Proto). See
// https://learn.microsoft.com/azure/app-service/configure-language-python#detect-https-session
// and, for X-MS-CLIENT-PRINCIPAL* and X-MS-TOKEN-*, which only the
// platform's authentication injects,
// https://learn.microsoft.com/azure/app-service/overview-authentication-authorization
var platformHeaders = map[string]bool{
	"x-arr-ssl":              true,
	"x-arr-clientcert":       true,
	"x-arr-log-id":           true,
	"x-client-ip":            true,
	"client-ip":              true,
	"x-client-port":          true,
	"x-forwarded-proto":      true,
	"x-forwarded-for":        true,
	"x-forwarded-host":       true,
	"x-forwarded-tlsversion": true,
	"x-appservice-proto":     true,
	"x-original-url":         true,
	"x-original-host":        true,
	"x-waws-unencoded-url":   true,
	"was-default-hostname":   true,
	"x-site-deployment-id":   true,
	"forwarded":              true, // RFC 7239's form of X-Forwarded-*; the front door does not send it
}

// Prefixes of platform header families (lower case, '-' for '_').
const (
	principalPrefix = "x-ms-client-principal" // X-MS-CLIENT-PRINCIPAL, -NAME, -ID, -IDP, …
	tokenPrefix     = "x-ms-token-"
)

// isPlatformHeader reports whether a header name, compared case-insensitively
// and with '_' taken as '-', is one the platform sets. It does not allocate.
func isPlatformHeader(name string) bool {
	var buf [64]byte
	if len(name) > len(buf) {
		return hasFoldedPrefix(name, principalPrefix) || hasFoldedPrefix(name, tokenPrefix)
	}
	b := buf[:len(name)]
	for i := 0; i < len(name); i++ {
		b[i] = foldHeaderByte(name[i])
	}
	return platformHeaders[string(b)] || strings.HasPrefix(string(b), principalPrefix) || strings.HasPrefix(string(b), tokenPrefix)
}

func hasFoldedPrefix(name, prefix string) bool {
	if len(name) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if foldHeaderByte(name[i]) != prefix[i] {
			return false
		}
	}
	return true
}

func foldHeaderByte(c byte) byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return c + ('a' - 'A')
	case c == '_':
		return '-'
	}
	return c
}

// setPlatformHeaders removes every client-sent platform header from h (the
// outbound request's headers) and sets the front door's own from the real
// connection in.
func setPlatformHeaders(h http.Header, in *http.Request) {
	for name := range h {
		if isPlatformHeader(name) {
			delete(h, name)
		}
	}
	// One backing array for every value: one allocation, not twelve.
	vals := make([]string, 0, maxPlatformFields)
	platformFields(in, func(name, v string) {
		vals = append(vals, v)
		h[name] = vals[len(vals)-1 : len(vals) : len(vals)]
	})
}

// maxPlatformFields is how many fields platformFields sets at most.
const maxPlatformFields = 12

// platformFields gives the platform's request headers for a request that
// came in as in, from the real connection: the client's address and port,
// the scheme and TLS version, the host and URL it asked for, and a new
// request id. See platformHeaders for the documentation of each.
func platformFields(in *http.Request, set func(name, value string)) {
	ip, port, err := net.SplitHostPort(in.RemoteAddr)
	if err != nil {
		ip, port = in.RemoteAddr, ""
	}
	proto := "http"
	if cleartext.OverTLS(in) {
		proto = "https"
		set("X-Arr-Ssl", "1")
		if in.TLS != nil {
			if v := tlsVersion(in.TLS.Version); v != "" {
				set("X-Forwarded-Tlsversion", v)
			}
		}
	}
	if ip != "" {
		set("X-Forwarded-For", ip)
		set("Client-Ip", ip)
		set("X-Client-Ip", ip)
	}
	if port != "" && port != "0" { // "0": a client a trusted proxy named (trusted.go)
		set("X-Client-Port", port)
	}
	set("X-Forwarded-Proto", proto)
	set("X-Appservice-Proto", proto)
	set("X-Forwarded-Host", in.Host)
	set("X-Original-Url", in.URL.RequestURI())
	if d, ok := in.Context().Value(defaultHostKey).(string); ok {
		set("Was-Default-Hostname", d) // reached by a custom domain
	} else {
		set("Was-Default-Hostname", in.Host)
	}
	set("X-Arr-Log-Id", newRequestID())
}

// tlsVersion renders a TLS version as X-Forwarded-TlsVersion carries it ("1.2").
func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "1.0"
	case tls.VersionTLS11:
		return "1.1"
	case tls.VersionTLS12:
		return "1.2"
	case tls.VersionTLS13:
		return "1.3"
	}
	return ""
}

// newRequestID returns a random version-4 UUID, the form of App Service's
// X-ARR-LOG-ID.
func newRequestID() string {
	var u [16]byte
	rand.Read(u[:]) // never fails (crypto/rand)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}

func (f *FrontDoor) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	f.cfg.Logger.Warn("proxying to app", "site", SiteFromContext(r.Context()), "err", err)
	writePage(w, http.StatusBadGateway, pageData{
		Title:   "502 Bad Gateway",
		Heading: "502 Bad Gateway",
		Text:    "The app did not give a valid answer. See its log stream for errors.",
	})
}

// retryTransport moves a request to the next ready instance when the
// connection to one is refused — the request never reached the app, so even
// a POST is safe to retry. That closes the window in which an instance
// being drained has stopped listening but was still in a routing snapshot.
type retryTransport struct{ next http.RoundTripper }

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var backends []Backend
	if rt, _ := req.Context().Value(routeKey).(*route); rt != nil {
		backends = rt.backends
	}
	var body *keepOpen
	if req.Body != nil && req.Body != http.NoBody && len(backends) > 1 {
		// The transport closes a request's body even when it never connected;
		// keep it open so a refused request can go to the next instance.
		body = &keepOpen{rc: req.Body}
		req.Body = body
		defer body.rc.Close()
	}
	resp, err := t.next.RoundTrip(req)
	for i := 1; err != nil && i < len(backends) && isRefused(err) && (body == nil || !body.read.Load()); i++ {
		u, _ := url.Parse(backends[i].URL)
		r2 := req.Clone(req.Context())
		r2.URL.Scheme, r2.URL.Host = u.Scheme, u.Host
		resp, err = t.next.RoundTrip(r2)
	}
	return resp, err
}

// keepOpen is a request body whose Close is deferred to its owner, and
// which records whether any of it was sent.
type keepOpen struct {
	rc   io.ReadCloser
	read atomic.Bool
}

func (k *keepOpen) Read(p []byte) (int, error) {
	k.read.Store(true)
	return k.rc.Read(p)
}

func (k *keepOpen) Close() error { return nil }

func isRefused(err error) bool {
	var op *net.OpError
	return errors.Is(err, syscall.ECONNREFUSED) || (errors.As(err, &op) && op.Op == "dial")
}

type statusWriter struct {
	http.ResponseWriter
	status  int
	wrote   bool
	before  http.Header // fields the front door set before the app's answer
	cleared bool        // a 1xx answer went out, and its relay cleared the map
}

func (s *statusWriter) WriteHeader(code int) {
	final := code >= 200 || code == http.StatusSwitchingProtocols // a 103 comes before the answer
	if final && s.cleared {
		// Put back the front door's own fields ahead of the app's, as
		// they were before the 1xx relay cleared the map.
		h := s.Header()
		for k, vv := range s.before {
			h[k] = append(vv[:len(vv):len(vv)], h[k]...)
		}
		s.cleared = false
	}
	if !final && s.before != nil {
		s.cleared = true
	}
	if !s.wrote && final {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

// badTarget reports whether a request's raw query holds a byte that cannot
// stand in an HTTP/1.1 request line: a space or a control character.
func badTarget(rawQuery string) bool {
	for i := 0; i < len(rawQuery); i++ {
		if c := rawQuery[i]; c <= ' ' || c == 0x7f {
			return true
		}
	}
	return false
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

type pageData struct{ Title, Heading, Text string }

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;margin:4em auto;max-width:40em;color:#222}h1{font-weight:400}</style>
</head><body><h1>{{.Heading}}</h1><p>{{.Text}}</p><p><small>Slipway</small></p></body></html>
`))

func writePage(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	pageTmpl.Execute(w, d)
}
