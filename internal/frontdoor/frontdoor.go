// Package frontdoor is the platform's single HTTP entry point. It routes on
// the Host header, as Azure's front ends do: <app>.<domain> goes to the
// app's ready instances, <app>.scm.<domain> to the app's Kudu (SCM) API,
// management.<domain> (or an ARM path on the bare address) to the management
// API. Requests to apps carry X-Forwarded-For/-Proto/-Host and keep the Host
// the app expects (WEBSITE_HOSTNAME); WebSockets and streamed responses pass
// through. An app with no ready instance answers 503; an unknown host 404.
package frontdoor

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Backends tells which instances serve a site (the runtime implements it).
type Backends interface {
	Backends(site string) []string
}

// Sites tells whether a site exists (the store implements it).
type Sites interface {
	SiteExists(ctx context.Context, name string) (bool, error)
}

// Config configures the front door.
type Config struct {
	Domain     string                  // base domain, e.g. "localhost"
	Backends   Backends                // app instances
	Sites      Sites                   // which apps exist
	SCM        http.Handler            // Kudu API; the site name is passed via SiteFromContext
	Management http.Handler            // ARM API
	Extra      map[string]http.Handler // other service hosts by label, e.g. "blob" for <account>.blob.<domain>
	Logger     *slog.Logger
	Observe    func(site string, r *http.Request, status int, d time.Duration) // optional per-request record for apps
}

// FrontDoor is an http.Handler.
type FrontDoor struct {
	cfg   Config
	proxy *httputil.ReverseProxy
}

type ctxKey int

const (
	siteKey ctxKey = iota
	backendsKey
	statusKey
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
	f := &FrontDoor{cfg: cfg}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: 230 * time.Second, // App Service's front-end request timeout (APPSERVICE.md §9)
		ExpectContinueTimeout: time.Second,
	}
	f.proxy = &httputil.ReverseProxy{
		Rewrite:       f.rewrite,
		Transport:     &retryTransport{next: transport},
		FlushInterval: -1, // stream responses as they come (server-sent events, long polls)
		ErrorHandler:  f.proxyError,
	}
	return f
}

// ServeHTTP routes a request by its Host.
func (f *FrontDoor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := strings.ToLower(r.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(host, ".")
	domain := strings.ToLower(f.cfg.Domain)
	label, ok := strings.CutSuffix(host, "."+domain)
	switch {
	case host == "management."+domain || (!ok && isARMPath(r.URL.Path)) || (host == domain && isARMPath(r.URL.Path)):
		if f.cfg.Management != nil {
			f.cfg.Management.ServeHTTP(w, r)
			return
		}
	case ok && strings.HasSuffix(label, ".scm"):
		site := strings.TrimSuffix(label, ".scm")
		if !strings.Contains(site, ".") && f.siteExists(r.Context(), site) {
			f.cfg.SCM.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), siteKey, site)))
			return
		}
	case ok && !strings.Contains(label, "."):
		if f.siteExists(r.Context(), label) {
			f.serveApp(w, r, label)
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

func isARMPath(p string) bool {
	p = "/" + strings.TrimLeft(strings.ToLower(p), "/")
	return strings.HasPrefix(p, "/subscriptions") || strings.HasPrefix(p, "/providers/") || strings.HasPrefix(p, "/tenants") || strings.HasPrefix(p, "/metadata/")
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

func (f *FrontDoor) serveApp(w http.ResponseWriter, r *http.Request, site string) {
	backends := f.cfg.Backends.Backends(site)
	if len(backends) == 0 {
		writePage(w, http.StatusServiceUnavailable, pageData{
			Title:   ":( Application Error",
			Heading: ":( Application Error",
			Text:    fmt.Sprintf("The app %q has no instance ready to serve requests. If it was just deployed or restarted it is starting; otherwise see its log stream (`slipway webapp log tail -n %s`) and its last deployment's log.", site, site),
		})
		return
	}
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	ctx := context.WithValue(r.Context(), siteKey, site)
	ctx = context.WithValue(ctx, backendsKey, backends)
	f.proxy.ServeHTTP(sw, r.WithContext(ctx))
	if f.cfg.Observe != nil {
		f.cfg.Observe(site, r, sw.status, time.Since(start))
	}
}

func (f *FrontDoor) rewrite(pr *httputil.ProxyRequest) {
	backends, _ := pr.In.Context().Value(backendsKey).([]string)
	u, _ := url.Parse(backends[0])
	pr.SetURL(u)
	pr.Out.Host = pr.In.Host // the app sees the host it was called by (its WEBSITE_HOSTNAME)
	pr.SetXForwarded()
	proto := "http"
	if pr.In.TLS != nil {
		proto = "https"
		pr.Out.Header.Set("X-ARR-SSL", "1")
	}
	pr.Out.Header.Set("X-Forwarded-Proto", proto)
	pr.Out.Header.Set("X-AppService-Proto", proto)
	pr.Out.Header.Set("X-Original-URL", pr.In.URL.RequestURI())
	if ip, _, err := net.SplitHostPort(pr.In.RemoteAddr); err == nil {
		pr.Out.Header.Set("Client-IP", ip)
	}
	pr.Out.Header.Set("WAS-DEFAULT-HOSTNAME", pr.In.Host)
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
	backends, _ := req.Context().Value(backendsKey).([]string)
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
		u, _ := url.Parse(backends[i])
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
	status int
	wrote  bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
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
