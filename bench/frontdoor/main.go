// Command frontdoor serves Slipway's front door (internal/frontdoor) in
// process for bench/frontdoor.sh, as the server builds it: apps routed by
// Host from a real store's in-memory site table, on one port that answers
// HTTP and HTTPS (HTTP/2 by ALPN) through the same DualListener. Each app
// is one site whose one ready instance is an upstream given on the command
// line. With -upstream-listen it is instead a small Go upstream (the
// benchmark's "fast upstream").
//
//	frontdoor -listen 127.0.0.1:18080 -cert c.pem -key k.pem -app go=http://127.0.0.1:18081 [-cpuprofile cpu.out]
//	frontdoor -upstream-listen 127.0.0.1:18081
//
// A CPU profile is written when the process gets SIGINT or SIGTERM.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/frontdoor"
	"github.com/slipway-dev/slipway/internal/server"
	"github.com/slipway-dev/slipway/internal/store"
)

type apps map[string]string

func (a apps) String() string { return fmt.Sprint(map[string]string(a)) }
func (a apps) Set(v string) error {
	name, u, ok := strings.Cut(v, "=")
	if !ok || name == "" || u == "" {
		return fmt.Errorf("want name=URL, got %q", v)
	}
	a[name] = u
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "frontdoor:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:18080", "front door address (HTTP and HTTPS)")
	upListen := flag.String("upstream-listen", "", "serve the Go upstream on this address instead")
	certFile := flag.String("cert", "", "PEM certificate chain for HTTPS")
	keyFile := flag.String("key", "", "PEM key for HTTPS")
	domain := flag.String("domain", "localhost", "platform domain")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile here until SIGINT/SIGTERM")
	upstreams := apps{}
	flag.Var(upstreams, "app", "name=URL of an app's one instance (repeatable)")
	flag.Parse()
	if *upListen == "" {
		server.TuneGC(os.Getenv) // as the server's process runs
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *upListen != "" {
		return serveUpstream(ctx, *upListen)
	}

	dir, err := os.MkdirTemp("", "frontdoor-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(ctx, dir, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := seed(ctx, st, upstreams); err != nil {
		return err
	}
	fd := frontdoor.New(frontdoor.Config{Domain: *domain, Backends: newFixedBackends(upstreams), Sites: siteTable{st},
		HostNames: st, SlotRoutes: st, SCM: http.NotFoundHandler(), Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	// As internal/server configures the front door's server and its lane.
	srv := &http.Server{Handler: fd, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	lane := fd.Lane(srv)
	if os.Getenv("FD_H2_STD") == "" { // FD_H2_STD=1: net/http's own HTTP/2 server, for an A/B
		if err := frontdoor.ConfigureHTTP2(srv); err != nil {
			return err
		}
	}
	var tlsConfig *tls.Config
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return err
		}
		base := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}, MinVersion: tls.VersionTLS12}
		tlsConfig = fd.TLSConfig(base)
	}
	var serveLn net.Listener = lane.Listen(ln, tlsConfig)
	if os.Getenv("FD_NO_LANE") != "" {
		serveLn = frontdoor.NewDualListener(ln, tlsConfig) // an A/B of the lane
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(serveLn) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		lane.Shutdown(sctx)
		srv.Shutdown(sctx)
		<-errc
		return nil
	case err := <-errc:
		return err
	}
}

// seed creates one running site per app.
func seed(ctx context.Context, st *store.Store, upstreams apps) error {
	if _, _, err := st.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "bench", Location: "local"}); err != nil {
		return err
	}
	sku, _ := slipway.ParseSKU("B1")
	if _, _, err := st.PutPlan(ctx, slipway.Plan{ResourceGroup: "bench", Name: "plan", Location: "local", SKU: sku, Linux: true}); err != nil {
		return err
	}
	for name := range upstreams {
		if _, _, err := st.PutSite(ctx, slipway.Site{ResourceGroup: "bench", Plan: "plan", Name: name, Enabled: true}); err != nil {
			return err
		}
	}
	return nil
}

// fixedBackends gives each app its one instance; the slices are built once,
// as the runtime's ready lists are between changes.
type fixedBackends map[string][]frontdoor.Backend

func newFixedBackends(a apps) fixedBackends {
	out := fixedBackends{}
	for name, u := range a {
		out[name] = []frontdoor.Backend{{ID: name + "-0", URL: u}}
	}
	return out
}

func (b fixedBackends) Backends(site string) []frontdoor.Backend { return b[site] }

// siteTable is internal/server's siteLookup: the store's in-memory table.
type siteTable struct{ st *store.Store }

func (s siteTable) SiteExists(_ context.Context, name string) (bool, error) {
	_, ok := s.st.SiteRouting(name)
	return ok, nil
}

func (s siteTable) SiteState(_ context.Context, name string) (frontdoor.SiteState, error) {
	r, ok := s.st.SiteRouting(name)
	return frontdoor.SiteState{Exists: ok, HTTPSOnly: r.HTTPSOnly, Stopped: !r.Enabled, ClientAffinity: r.ClientAffinity,
		MinTLSVersion: r.MinTLSVersion, SCMMinTLSVersion: r.SCMMinTLSVersion, HTTP20Off: r.HTTP20Off}, nil
}

// serveUpstream is the fast upstream: a fixed small page, keep-alive.
func serveUpstream(ctx context.Context, addr string) error {
	body := []byte("Hello from the Go upstream.\n")
	srv := &http.Server{Addr: addr, ReadHeaderTimeout: 30 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(body)
	})}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case <-ctx.Done():
		srv.Close()
		<-errc
		return nil
	case err := <-errc:
		return err
	}
}
