// Command identity is the identity-platform benchmark's driver, run by
// bench/identity.sh. It has three subcommands:
//
//   - setup: before the server first starts on a data directory (so that
//     nothing writes behind a running server's back), creates a service
//     principal with a client secret through internal/identity, as `az ad sp
//     create-for-rbac` would, and prints its credentials and object id as
//     JSON. The tree has no Graph subset yet to do this over HTTP.
//   - msi: serves internal/identity's managed-identity endpoint
//     (Service.MSIHandler, GET /msi/token) over plain HTTP on a loopback
//     address, with a real store in its own data directory and one
//     system-assigned identity, until SIGTERM. The server does not mount
//     this endpoint on a host-reachable address, so the benchmark runs it
//     as its own process instead; it prints "<address> <X-IDENTITY-HEADER>".
//   - load: one HTTP workload — a URL, method, headers and body — on N
//     keep-alive connections (HTTP/1.1) for a duration, every response
//     checked (status, and optionally that the body holds a JSON field);
//     prints requests/s and latency percentiles as key=value pairs.
//
// Every loop is bounded in time (-d, -timeout) and in count (-max).
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/slipway-dev/slipway/internal/identity"
	"github.com/slipway-dev/slipway/internal/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/identity:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: identity setup|msi|load [flags]")
	}
	switch args[0] {
	case "setup":
		return setup(ctx, args[1:], stdout)
	case "msi":
		return serveMSI(ctx, args[1:], stdout)
	case "load":
		return load(ctx, args[1:], stdout)
	}
	return fmt.Errorf("unknown subcommand %q", args[0])
}

// Audiences the benchmark's tokens are for: Azure's Key Vault audience, as
// apps ask for it, and the management API's.
var resources = []string{"https://vault.azure.net", "https://management.azure.com/"}

// openService opens the store in dir and a token service over it.
func openService(ctx context.Context, dir string) (*store.Store, *identity.Service, error) {
	st, err := store.Open(ctx, dir, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the store: %w", err)
	}
	_, tenant, err := st.Identity(ctx)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	svc, err := identity.New(ctx, identity.Config{Store: st, TenantID: tenant, Resources: resources})
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("starting the token service: %w", err)
	}
	return st, svc, nil
}

func setup(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	dir := fs.String("data", "", "the data directory of a server that is not running")
	name := fs.String("name", "slipway-bench", "the service principal's display name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("setup: -data is required")
	}
	st, svc, err := openService(ctx, *dir)
	if err != nil {
		return err
	}
	defer st.Close()
	creds, err := svc.CreateServicePrincipal(ctx, *name, time.Hour)
	if err != nil {
		return fmt.Errorf("creating the service principal: %w", err)
	}
	p, err := st.PrincipalByAppID(ctx, creds.AppID)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(map[string]string{
		"appId": creds.AppID, "password": creds.Password, "tenant": creds.Tenant, "objectId": p.ObjectID,
	})
}

func serveMSI(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("msi", flag.ContinueOnError)
	dir := fs.String("data", "", "a data directory of this process's own")
	listen := fs.String("listen", "127.0.0.1:0", "loopback address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("msi: -data is required")
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("msi: %s is not a loopback address", *listen)
	}
	st, svc, err := openService(ctx, *dir)
	if err != nil {
		return err
	}
	defer st.Close()
	p, err := svc.EnsureSystemAssignedIdentity(ctx, "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/bench/providers/Microsoft.Web/sites/bench", "bench")
	if err != nil {
		return err
	}
	headers := identity.NewIdentityHeaders()
	header, err := headers.Register(identity.Instance{SystemAssigned: &p})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(identity.MSIPath, svc.MSIHandler(headers.Lookup))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "%s %s\n", ln.Addr(), header)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	<-errc
	return nil
}

// headerList collects repeated -H "Name: value" flags.
type headerList []string

func (h *headerList) String() string     { return strings.Join(*h, ", ") }
func (h *headerList) Set(v string) error { *h = append(*h, v); return nil }

// LoadConfig is one load run.
type LoadConfig struct {
	URL, Method, Body string
	Headers           http.Header
	Host              string // Host header; "" for the URL's
	Concurrency       int
	Duration, Warmup  time.Duration
	Timeout           time.Duration // per request
	Max               int64         // requests at most (warm-up included)
	Expect            int           // status expected
	JSONField         string        // a top-level field the JSON body must have ("" for any body)
	Client            *http.Client
}

// LoadResult is what a load run measured (warm-up excluded).
type LoadResult struct {
	Requests, Errors int64
	Elapsed          time.Duration
	Latencies        []time.Duration // of successful requests, sorted
	FirstError       string
}

// RPS is successful requests per second.
func (r LoadResult) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Percentile returns the q-quantile (0 < q ≤ 1) of the latencies, nearest rank.
func (r LoadResult) Percentile(q float64) time.Duration {
	n := len(r.Latencies)
	if n == 0 {
		return 0
	}
	i := int(q*float64(n)+0.999999) - 1
	i = min(max(i, 0), n-1)
	return r.Latencies[i]
}

// Load runs the workload: Concurrency workers, each sending requests one
// after another until the warm-up and the duration have passed or Max
// requests were sent. Only responses that began after the warm-up count.
func Load(ctx context.Context, c LoadConfig) (LoadResult, error) {
	if c.Concurrency < 1 || c.Duration <= 0 || c.Max < 1 {
		return LoadResult{}, errors.New("load: concurrency, duration and max must be positive")
	}
	start := time.Now()
	measureFrom := start.Add(c.Warmup)
	end := measureFrom.Add(c.Duration)
	ctx, cancel := context.WithDeadline(ctx, end.Add(c.Timeout))
	defer cancel()
	var sent, errs atomic.Int64
	var firstErr atomic.Pointer[string]
	lat := make([][]time.Duration, c.Concurrency)
	var wg sync.WaitGroup
	for w := range c.Concurrency {
		wg.Go(func() {
			for time.Now().Before(end) && sent.Add(1) <= c.Max {
				t0 := time.Now()
				err := once(ctx, c)
				t1 := time.Now()
				if t0.Before(measureFrom) || t1.After(end) {
					continue
				}
				if err != nil {
					errs.Add(1)
					msg := err.Error()
					firstErr.CompareAndSwap(nil, &msg)
					continue
				}
				lat[w] = append(lat[w], t1.Sub(t0))
			}
		})
	}
	wg.Wait()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	res := LoadResult{Requests: int64(len(all)), Errors: errs.Load(), Latencies: all}
	// The measured window ends at end, or earlier when Max stopped the run.
	stopped := time.Now()
	if stopped.After(end) {
		stopped = end
	}
	res.Elapsed = stopped.Sub(measureFrom)
	if p := firstErr.Load(); p != nil {
		res.FirstError = *p
	}
	return res, nil
}

// maxBody bounds what is read of a response.
const maxBody = 1 << 20

func once(ctx context.Context, c LoadConfig) error {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	var body io.Reader
	if c.Body != "" {
		body = strings.NewReader(c.Body)
	}
	req, err := http.NewRequestWithContext(ctx, c.Method, c.URL, body)
	if err != nil {
		return err
	}
	req.Header = c.Headers.Clone()
	if c.Host != "" {
		req.Host = c.Host
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return err
	}
	if resp.StatusCode != c.Expect {
		return fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, b)
	}
	if c.JSONField != "" {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("response is not a JSON object: %w", err)
		}
		if len(m[c.JSONField]) == 0 {
			return fmt.Errorf("response has no %q", c.JSONField)
		}
	}
	return nil
}

// newClient returns a client that dials connect (host:port) whatever the
// URL's host, so that names like login.localhost need no resolver, and
// trusts cafile (or, with insecure, any certificate).
func newClient(connect, cafile string, insecure bool, conns int, timeout time.Duration) (*http.Client, error) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if insecure {
		tlsConf.InsecureSkipVerify = true
	} else if cafile != "" {
		pem, err := os.ReadFile(cafile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificate in %s", cafile)
		}
		tlsConf.RootCAs = pool
	}
	d := &net.Dialer{Timeout: timeout}
	tr := &http.Transport{
		TLSClientConfig:     tlsConf,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     30 * time.Second,
		TLSHandshakeTimeout: timeout,
		DisableCompression:  true,
		// HTTP/1.1 on both sides: the reference speaks no h2 on its port.
		ForceAttemptHTTP2: false,
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if connect != "" {
			addr = connect
		}
		return d.DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, nil
}

func load(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	var hdrs headerList
	u := fs.String("url", "", "URL to request")
	method := fs.String("method", http.MethodGet, "HTTP method")
	body := fs.String("body", "", "request body")
	fs.Var(&hdrs, "H", `request header "Name: value" (repeatable)`)
	host := fs.String("host", "", "Host header (default: the URL's)")
	connect := fs.String("connect", "", "host:port to dial instead of the URL's (must be loopback)")
	cafile := fs.String("cacert", "", "PEM file of the CA to trust")
	insecure := fs.Bool("insecure", false, "do not verify the server's certificate")
	conc := fs.Int("c", 8, "concurrent connections")
	dur := fs.Duration("d", 5*time.Second, "measured duration")
	warm := fs.Duration("warmup", time.Second, "warm-up before measuring (not counted)")
	timeout := fs.Duration("timeout", 10*time.Second, "per-request timeout")
	maxReq := fs.Int64("max", 2_000_000, "requests at most")
	expect := fs.Int("expect", http.StatusOK, "expected status")
	field := fs.String("json-field", "", "top-level JSON field each response must have")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *u == "" {
		return errors.New("load: -url is required")
	}
	if *dur > 10*time.Minute || *conc > 256 {
		return errors.New("load: at most 10 minutes and 256 connections")
	}
	if *connect != "" {
		h, _, err := net.SplitHostPort(*connect)
		if err != nil {
			return err
		}
		if ip := net.ParseIP(h); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("load: %s is not a loopback address", *connect)
		}
	}
	h := http.Header{}
	for _, kv := range hdrs {
		k, v, ok := strings.Cut(kv, ":")
		if !ok {
			return fmt.Errorf("load: header %q is not Name: value", kv)
		}
		h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	client, err := newClient(*connect, *cafile, *insecure, *conc, *timeout)
	if err != nil {
		return err
	}
	res, err := Load(ctx, LoadConfig{URL: *u, Method: *method, Body: *body, Headers: h, Host: *host,
		Concurrency: *conc, Duration: *dur, Warmup: *warm, Timeout: *timeout, Max: *maxReq,
		Expect: *expect, JSONField: *field, Client: client})
	if err != nil {
		return err
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintf(stdout, "requests=%d errors=%d seconds=%.2f rps=%.0f p50_ms=%s p90_ms=%s p99_ms=%s\n",
		res.Requests, res.Errors, res.Elapsed.Seconds(), res.RPS(), ms(res.Percentile(0.5)), ms(res.Percentile(0.9)), ms(res.Percentile(0.99)))
	if res.FirstError != "" {
		fmt.Fprintf(os.Stderr, "first error: %s\n", res.FirstError)
	}
	return nil
}
