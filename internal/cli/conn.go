package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// API versions the CLI sends, as az does (docs/arm.md §0).
const (
	apiWeb     = "2024-11-01" // Microsoft.Web through the SDK
	apiPlanPut = "2025-03-01" // az appservice plan create (AAZ)
	apiGroups  = "2024-11-01" // Microsoft.Resources resource groups
	apiSubs    = "2022-12-01" // subscriptions
	// armTimeout bounds one ARM or Kudu JSON call. Generous: a settings
	// change restarts the app and the server answers once the new instances
	// are warm (App Service's warm-up allows 230 s), like azure-core's 300 s.
	armTimeout    = 5 * time.Minute
	uploadTimeout = 30 * time.Minute
)

// serverFile is <data>/server.json as the server writes it.
type serverFile struct {
	URL            string `json:"url"`
	Domain         string `json:"domain"`
	HTTPPort       int    `json:"httpPort"`
	SubscriptionID string `json:"subscriptionId"`
	TenantID       string `json:"tenantId"`
	AdminToken     string `json:"adminToken"`
	CAFile         string `json:"caFile"` // the platform root, trusted beside the system's roots
}

// conn is one invocation's connection to a Slipway server: ARM calls go to
// base, Kudu and app calls to "<name>.<domain>" names that the dialer sends to
// the same listener.
type conn struct {
	base      *url.URL
	source    string         // where base came from, for error messages
	roots     *x509.CertPool // the system's roots plus the platform root; nil: the system's
	domain    string         // "" routes every name to the server
	sub       string
	token     string
	graphBase string // the directory's URL, once graphURL found it
	requestID string // x-ms-client-request-id, one per invocation as the SDK does
	command   string // az's CommandName header, e.g. "webapp create"
	slot      string // --slot: site paths name this deployment slot (sitePath)
	client    *http.Client
	debug     io.Writer // nil unless --debug
	// warn prints the platform's warnings about a request that succeeded
	// (WarningHeader), as az prints warnings; nil drops them.
	warn func(format string, args ...any)
}

// WarningHeader carries a warning about a management call that succeeded,
// e.g. that the app did not restart after its settings were stored. ARM
// stores the write and answers 200 as Azure does; the CLI says what went
// wrong rather than staying silent.
const WarningHeader = "X-Slipway-Warning"

// dataDir returns the folder holding server.json.
func (inv *invocation) dataDir() string {
	if d := inv.flags.str("data"); d != "" {
		return d
	}
	if d := inv.getenv("SLIPWAY_DATA"); d != "" {
		return d
	}
	return filepath.Join(inv.getenv("HOME"), ".slipway")
}

// connect finds the server (flag, environment, server.json) and returns a
// conn for it. It makes no request unless the subscription is unknown.
func (inv *invocation) connect(ctx context.Context) (*conn, error) {
	if inv.conn != nil {
		return inv.conn, nil
	}
	c := &conn{requestID: newUUID(inv.r.rand), command: inv.cmd.path, warn: inv.warnf, slot: inv.flags.str("slot")}
	if inv.flags.boolean("debug") {
		c.debug = inv.stderr
	}
	path := filepath.Join(inv.dataDir(), "server.json")
	var sf serverFile
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &sf); err != nil {
			return nil, exitErrorf("Delete the file and restart `slipway server` to write it again.", "%s is not valid JSON: %v", path, err)
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return nil, exitErrorf("Run the CLI as the user who started the server, or point at it with --server URL and SLIPWAY_TOKEN.", "Cannot read %s: %v", path, err)
	}
	raw, source := inv.flags.str("server"), "--server"
	if raw == "" {
		raw, source = inv.getenv("SLIPWAY_URL"), "SLIPWAY_URL"
	}
	fromFile := raw == ""
	if fromFile {
		if data == nil {
			return nil, &ExitError{Code: ExitFailure,
				Message: fmt.Sprintf("No Slipway server is configured: %s does not exist.", path),
				Hint:    "Start one with `slipway server`, or point at one with --server URL (or SLIPWAY_URL and SLIPWAY_TOKEN)."}
		}
		raw, source = sf.URL, path
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, exitErrorf("Use a URL such as http://127.0.0.1:8080.", "The server URL %q (from %s) is not an http(s) URL.", raw, source)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if u.Scheme == "http" && !onThisMachine(u.Hostname()) {
		// The token and then publishing credentials would cross the
		// network in the clear, and the server refuses them there anyway
		// (docs/https.md "Credentials and plain HTTP").
		secure := *u
		secure.Scheme = "https"
		return nil, exitErrorf(fmt.Sprintf("Use %s: the server answers HTTPS on the same port. Trust its platform root: `slipway ca export -f slipway-ca.pem` on the server's machine, then SSL_CERT_FILE=slipway-ca.pem here.", secure.Redacted()),
			"The server URL %s (from %s) is plain HTTP to another machine; the CLI sends credentials there over HTTPS only.", raw, source)
	}
	c.base, c.source = u, source
	sameServer := fromFile || strings.TrimRight(sf.URL, "/") == strings.TrimRight(raw, "/")
	c.token = inv.getenv("SLIPWAY_TOKEN")
	if c.token == "" && sameServer {
		c.token = sf.AdminToken
	}
	c.domain = inv.getenv("SLIPWAY_DOMAIN")
	if c.domain == "" && sameServer {
		c.domain = sf.Domain
	}
	c.sub = inv.getenv("SLIPWAY_SUBSCRIPTION")
	if c.sub == "" && sameServer {
		c.sub = sf.SubscriptionID
	}
	if sameServer && sf.CAFile != "" {
		roots, err := platformRoots(sf.CAFile)
		if err != nil {
			return nil, err
		}
		c.roots = roots
	}
	c.client = newHTTPClient(c)
	if want := inv.flags.str("subscription"); want != "" && !strings.EqualFold(want, c.sub) {
		if err := c.checkSubscription(ctx, want); err != nil {
			return nil, err
		}
	}
	if c.sub == "" {
		var subs struct {
			Value []struct {
				SubscriptionID string `json:"subscriptionId"`
			} `json:"value"`
		}
		if err := c.armJSON(ctx, http.MethodGet, "/subscriptions", apiSubs, nil, &subs); err != nil {
			return nil, fmt.Errorf("finding the subscription: %w", err)
		}
		if len(subs.Value) == 0 {
			return nil, exitErrorf("Set SLIPWAY_SUBSCRIPTION to the subscription id.", "The server at %s lists no subscriptions.", c.base)
		}
		c.sub = subs.Value[0].SubscriptionID
	}
	inv.conn = c
	return c, nil
}

// onThisMachine reports whether host, from a server URL, is this machine:
// a loopback or unspecified address, one of the machine's own addresses,
// or localhost (and its subdomains, RFC 6761). Plain HTTP to it crosses no
// network. Any other name may resolve anywhere.
func onThisMachine(host string) bool {
	if h := strings.ToLower(strings.TrimSuffix(host, ".")); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	if ip = ip.Unmap(); ip.IsLoopback() || ip.IsUnspecified() {
		return true
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if own, ok := netip.AddrFromSlice(n.IP); ok && own.Unmap() == ip.WithZone("") {
				return true
			}
		}
	}
	return false
}

// newHTTPClient returns a client whose dialer sends every name under the
// server's domain to the server's own address (one listener routes on the
// Host header), with timeouts on every phase. Requests carry their own
// deadlines through their contexts; log streams have none.
func newHTTPClient(c *conn) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	serverAddr := c.base.Host
	if c.base.Port() == "" {
		if c.base.Scheme == "https" {
			serverAddr = net.JoinHostPort(c.base.Hostname(), "443")
		} else {
			serverAddr = net.JoinHostPort(c.base.Hostname(), "80")
		}
	}
	tr := &http.Transport{
		Proxy: nil, // the server is local; never send its token through a proxy
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err == nil && c.routesToServer(host) {
				addr = serverAddr
			}
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:       &tls.Config{RootCAs: c.roots},
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 0, // uploads and sync deploys can take long; contexts bound them
		IdleConnTimeout:       30 * time.Second,
		MaxIdleConnsPerHost:   4,
	}
	var rt http.RoundTripper = tr
	if c.debug != nil {
		rt = &debugTransport{next: tr, w: c.debug}
	}
	return &http.Client{
		Transport: rt,
		// Redirects are not part of these APIs; a redirected POST would turn into a GET.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// platformRoots is the system's trusted roots plus the server's platform
// root (<data>/pki/ca.pem), so the CLI verifies the server's HTTPS
// endpoints (Kudu, blob) as az does with REQUESTS_CA_BUNDLE, and still
// verifies public endpoints.
func platformRoots(caFile string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, exitErrorf("Restart `slipway server` to write it again.", "Cannot read the platform root certificate %s: %v", caFile, err)
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if !roots.AppendCertsFromPEM(pem) {
		return nil, exitErrorf("Delete it and restart `slipway server` to write it again.", "%s holds no PEM certificate.", caFile)
	}
	return roots, nil
}

// localRoots is platformRoots for the server whose server.json is in the
// data directory, when there is one: a connection string naming
// https://127.0.0.1:10000/<account> is then verified without
// SSL_CERT_FILE. nil (the system's roots) otherwise.
func (inv *invocation) localRoots() *x509.CertPool {
	var sf serverFile
	data, err := os.ReadFile(filepath.Join(inv.dataDir(), "server.json"))
	if err != nil || json.Unmarshal(data, &sf) != nil || sf.CAFile == "" {
		return nil
	}
	roots, err := platformRoots(sf.CAFile)
	if err != nil {
		return nil
	}
	return roots
}

// routesToServer reports whether host is one of the server's names.
func (c *conn) routesToServer(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if c.domain == "" {
		return true
	}
	d := strings.ToLower(c.domain)
	return host == d || strings.HasSuffix(host, "."+d)
}

// hostURL returns the base URL for a host name the server reported (for
// example "myapp.scm.localhost"), using the server's scheme and, when the
// name carries no port, the server's port.
func (c *conn) hostURL(host string) string {
	if _, _, err := net.SplitHostPort(host); err != nil && c.base.Port() != "" {
		host = net.JoinHostPort(host, c.base.Port())
	}
	return c.base.Scheme + "://" + host
}

// reachError turns a transport failure into the message users need.
func (c *conn) reachError(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	hint := "Start it with `slipway server`."
	if c.source == "--server" || c.source == "SLIPWAY_URL" {
		hint = "Check the URL, or start the server with `slipway server`."
	}
	var op *net.OpError
	if errors.Is(err, syscall.ECONNREFUSED) || (errors.As(err, &op) && op.Op == "dial") {
		return &ExitError{Code: ExitFailure, Message: fmt.Sprintf("Cannot reach the Slipway server at %s (from %s): %v.", c.base, c.source, rootCause(err)), Hint: hint}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &ExitError{Code: ExitFailure, Message: fmt.Sprintf("The Slipway server at %s (from %s) did not answer in time: %v.", c.base, c.source, err),
			Hint: "The server may still be working on it (an app restart, for example); check with `slipway webapp show` or the server's log."}
	}
	return &ExitError{Code: ExitFailure, Message: fmt.Sprintf("The Slipway server at %s (from %s) did not answer: %v.", c.base, c.source, err),
		Hint: "Check the server's log: it may have stopped or be overloaded. Then run the command again."}
}

// rootCause returns the innermost error, for short messages.
func rootCause(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// response is a fully read HTTP answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// maxBody bounds what the CLI reads from one JSON answer.
const maxBody = 64 << 20

// do sends req, reads the answer and turns non-2xx answers into *apiError.
func (c *conn) do(req *http.Request) (*response, error) {
	req.Header.Set("x-ms-client-request-id", c.requestID)
	req.Header.Set("User-Agent", "slipway-cli")
	if c.command != "" {
		req.Header.Set("CommandName", c.command)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, c.reachError(fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, c.reachError(fmt.Errorf("reading the answer to %s %s: %w", req.Method, req.URL.Redacted(), err))
	}
	r := &response{Status: resp.StatusCode, Header: resp.Header, Body: body}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return r, parseAPIError(resp.StatusCode, body)
	}
	if w := resp.Header.Get(WarningHeader); w != "" && c.warn != nil {
		c.warn("%s", w)
	}
	return r, nil
}

// parseAPIError reads ARM's {"error":{"code","message"}} (also a top-level
// code/message or App Service's Code/Message), or uses the body as text.
func parseAPIError(status int, body []byte) *apiError {
	var env struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	ae := &apiError{Status: status}
	if json.Unmarshal(body, &env) == nil {
		switch {
		case env.Error != nil && (env.Error.Code != "" || env.Error.Message != ""):
			ae.Code, ae.Message = env.Error.Code, env.Error.Message
		case env.Code != "" || env.Message != "":
			ae.Code, ae.Message = env.Code, env.Message
		}
	}
	if ae.Message == "" {
		ae.Message = strings.TrimSpace(string(body))
		if len(ae.Message) > 2000 {
			ae.Message = ae.Message[:2000] + "..."
		}
	}
	if ae.Message == "" {
		ae.Message = fmt.Sprintf("The server answered %d %s.", status, http.StatusText(status))
	}
	return ae
}

// armURL builds an ARM URL for path (already escaped) and api-version.
func (c *conn) armURL(path, apiVersion string, query url.Values) string {
	q := url.Values{}
	if p, raw, ok := strings.Cut(path, "?"); ok {
		path = p
		if pq, err := url.ParseQuery(raw); err == nil {
			q = pq
		}
	}
	for k, v := range query {
		q[k] = v
	}
	// api-version first, where az puts it; any other parameters after it.
	q.Del("api-version")
	u := c.base.String() + path + "?api-version=" + url.QueryEscape(apiVersion)
	if extra := q.Encode(); extra != "" {
		u += "&" + extra
	}
	return u
}

// arm sends one ARM request with the admin bearer token. body, if not nil,
// is sent as JSON.
func (c *conn) arm(ctx context.Context, method, path, apiVersion string, query url.Values, body any) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, armTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encoding the request body: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.armURL(path, apiVersion, query), rd)
	if err != nil {
		return nil, fmt.Errorf("building %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return c.do(req)
}

// armJSON sends an ARM request and decodes the JSON answer into out (if not nil).
func (c *conn) armJSON(ctx context.Context, method, path, apiVersion string, body, out any) error {
	resp, err := c.arm(ctx, method, path, apiVersion, nil, body)
	if err != nil {
		return err
	}
	return decodeBody(resp, out)
}

// decodeBody decodes a JSON answer into out; an empty body leaves out alone.
func decodeBody(resp *response, out any) error {
	if out == nil || len(bytes.TrimSpace(resp.Body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("decoding the server's answer (status %d): %w", resp.Status, err)
	}
	return nil
}

// Path builders. Names are escaped as path segments.

func (c *conn) subPath() string { return "/subscriptions/" + url.PathEscape(c.sub) }

func (c *conn) groupPath(rg string) string {
	// az's resource client spells this segment in lower case (docs/arm.md §1.3).
	return c.subPath() + "/resourcegroups/" + url.PathEscape(rg)
}

func (c *conn) webPath(rg string) string {
	return c.subPath() + "/resourceGroups/" + url.PathEscape(rg) + "/providers/Microsoft.Web"
}

func (c *conn) planPath(rg, plan string) string {
	return c.webPath(rg) + "/serverfarms/" + url.PathEscape(plan)
}

func (c *conn) sitePath(rg, app string) string {
	p := c.appPath(rg, app)
	if c.slot != "" && !strings.EqualFold(c.slot, "production") {
		p += "/slots/" + url.PathEscape(c.slot)
	}
	return p
}

// appPath is the production site's path, whatever --slot says.
func (c *conn) appPath(rg, app string) string {
	return c.webPath(rg) + "/sites/" + url.PathEscape(app)
}

// kuduCreds are an app's publishing (Basic auth) credentials.
type kuduCreds struct {
	User, Password string
}

// kudu is a client for one app's SCM site.
type kudu struct {
	c     *conn
	base  string // e.g. http://myapp.scm.localhost:8080
	creds kuduCreds
}

// request builds one Kudu request with the app's Basic credentials.
func (k *kudu) request(ctx context.Context, method, pathQuery string, body io.Reader, contentType string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, k.base+pathQuery, body)
	if err != nil {
		return nil, fmt.Errorf("building %s %s: %w", method, pathQuery, err)
	}
	req.SetBasicAuth(k.creds.User, k.creds.Password)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req, nil
}

// json sends a bodiless Kudu request and decodes its JSON answer.
func (k *kudu) json(ctx context.Context, method, pathQuery string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, armTimeout)
	defer cancel()
	req, err := k.request(ctx, method, pathQuery, nil, "")
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.c.do(req)
	if err != nil {
		return err
	}
	return decodeBody(resp, out)
}

// newUUID returns a random (version 4) UUID read from rnd.
func newUUID(rnd io.Reader) string {
	var b [16]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "00000000-0000-4000-8000-000000000000"
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// checkSubscription accepts --subscription when it names (by id or display
// name) a subscription the server lists, and makes it the one used.
func (c *conn) checkSubscription(ctx context.Context, want string) error {
	var subs struct {
		Value []struct {
			SubscriptionID string `json:"subscriptionId"`
			DisplayName    string `json:"displayName"`
		} `json:"value"`
	}
	if err := c.armJSON(ctx, http.MethodGet, "/subscriptions", apiSubs, nil, &subs); err != nil {
		return fmt.Errorf("finding the subscription: %w", err)
	}
	var known []string
	for _, s := range subs.Value {
		if strings.EqualFold(s.SubscriptionID, want) || strings.EqualFold(s.DisplayName, want) {
			c.sub = s.SubscriptionID
			return nil
		}
		known = append(known, fmt.Sprintf("%s (%s)", s.SubscriptionID, s.DisplayName))
	}
	return exitErrorf(fmt.Sprintf("This Slipway server serves: %s. Drop --subscription or pass one of these.", strings.Join(known, ", ")),
		"Subscription '%s' not found. Check the spelling and casing and try again.", want)
}

// debugTransport prints each request line and its status for --debug
// (Authorization and other credentials never appear: headers are not
// printed and secret query parameters are masked).
type debugTransport struct {
	next http.RoundTripper
	w    io.Writer
}

func (d *debugTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := d.next.RoundTrip(req)
	uri := maskedRequestURI(req.URL)
	if err != nil {
		fmt.Fprintf(d.w, "DEBUG: %s %s (Host %s) -> %v\n", req.Method, uri, req.Host, err)
		return resp, err
	}
	fmt.Fprintf(d.w, "DEBUG: %s %s (Host %s) -> %d\n", req.Method, uri, req.Host, resp.StatusCode)
	return resp, nil
}

// secretParams are query parameters that carry credentials (SAS signatures,
// tokens, keys, passwords).
var secretParams = []string{"sig", "token", "key", "password", "secret", "code"}

// maskedRequestURI is u's path and query with credential values replaced.
func maskedRequestURI(u *url.URL) string {
	if u.RawQuery == "" {
		return u.RequestURI()
	}
	parts := strings.Split(u.RawQuery, "&")
	for i, p := range parts {
		k, _, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		lk := strings.ToLower(k)
		for _, s := range secretParams {
			if strings.Contains(lk, s) {
				parts[i] = k + "=***"
				break
			}
		}
	}
	return u.EscapedPath() + "?" + strings.Join(parts, "&")
}
