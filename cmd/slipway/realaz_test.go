package main

// TestRealAz drives the unmodified Azure CLI (azure-cli from PyPI, installed
// by CI in .ci/azcli) against a Slipway server, as users will.
//
// TEST-ONLY SCAFFOLDING. Slipway speaks plain HTTP and has no token service
// yet, while az insists on HTTPS for login, ARM and Kudu and on an OAuth
// token (docs/arm.md §1.1, §2.2, "Measured with the real az"). Until Slipway
// serves both itself, this test puts in front of it:
//
//   - a TLS terminator (realAzFront): a listener on 127.0.0.1 with a
//     certificate from a CA the test generates, that reverse-proxies every
//     request to Slipway's front door keeping the Host header and setting
//     X-Forwarded-Proto: https (Slipway's /metadata/endpoints builds its
//     URLs from both);
//   - a token stub under login.localhost on that same listener: OpenID
//     discovery and a client-credentials token endpoint whose access_token
//     is Slipway's admin token, which is what ARM's Authorize accepts. It
//     stands in for Slipway's own token service (issue 11) until that
//     exists; it checks nothing and must never be copied into the server.
//
// Names and ports. az resolves host names through the system resolver, and
// here *.localhost does not resolve. Slipway names sites
// "<app>.localhost:<front door port>" and "<app>.scm.localhost:<front door
// port>" (the HostSuffix of a front door not on 80/443), and az builds the
// Kudu URL as https:// + that name: it would speak TLS to the plain-HTTP
// front door. So az runs with a test-only sitecustomize.py (on PYTHONPATH)
// that patches socket.getaddrinfo: every *.localhost name, whatever the
// port, resolves to the terminator (127.0.0.1:<tls port>); every other
// name fails, so az can never reach Azure or anything off this machine.
// The terminator sniffs the first byte of each connection: a TLS handshake
// is terminated, anything else (az fetches the app over http:// while its
// sslState is Disabled) is proxied as plain HTTP. The Host header keeps the
// port az put in the URL, so the front door routes exactly as it would
// without the terminator. /etc/hosts is never touched.
//
// The CA bundle given to az (REQUESTS_CA_BUNDLE, SSL_CERT_FILE) holds only
// the test CA, which is what keeps az from trusting anything else, too.

import (
	"archive/zip"
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRealAz(t *testing.T) {
	az, _ := filepath.Abs("../../.ci/azcli/bin/az")
	if _, err := os.Stat(az); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the real az is missing at %s; CI installs azure-cli there", az)
		}
		t.Skipf("the real az is not installed at %s (CI installs it)", az)
	}
	var args []string
	if os.Geteuid() != 0 {
		args = append(args, "--allow-shared-network") // two apps without containers
	}
	s := startServer(t, args...)
	var info struct {
		TenantID       string `json:"tenantId"`
		SubscriptionID string `json:"subscriptionId"`
	}
	if b, err := os.ReadFile(filepath.Join(s.data, "server.json")); err != nil || json.Unmarshal(b, &info) != nil || info.TenantID == "" {
		t.Fatalf("server.json has no tenantId: %v", err)
	}

	front := startRealAzFront(t, s.info.URL, s.data, s.info.AdminToken)
	cli := newRealAz(t, az, front)

	rg, plan, app, upApp := "rg-realaz", "plan-realaz", "realaz-made", "realaz-up"
	tlsPort := front.port
	mgmt := fmt.Sprintf("https://management.localhost:%d/", tlsPort)
	login := fmt.Sprintf("https://login.localhost:%d", tlsPort)

	// Cloud registration with endpoint discovery: az GETs
	// <mgmt>/metadata/endpoints without credentials and takes the resource
	// manager and audience from it; the login endpoint is given explicitly
	// because Slipway has no token service to name there yet.
	cli.must("cloud", "register", "-n", "slipway", "--endpoint-resource-manager", mgmt, "--endpoint-active-directory", login)
	out := cli.must("cloud", "show", "-n", "slipway", "-o", "json")
	var cloud struct {
		Endpoints map[string]string `json:"endpoints"`
	}
	json.Unmarshal([]byte(out), &cloud)
	if cloud.Endpoints["resourceManager"] != mgmt || cloud.Endpoints["activeDirectoryResourceId"] == "" || strings.TrimSuffix(cloud.Endpoints["activeDirectory"], "/") != login {
		t.Fatalf("registered cloud endpoints: %v", cloud.Endpoints)
	}
	cli.must("cloud", "set", "-n", "slipway")

	cli.must("login", "--service-principal", "-u", realAzClientID, "-p", "not-checked-by-the-stub", "--tenant", info.TenantID, "-o", "json")
	out = cli.must("account", "show", "-o", "json")
	var acct struct {
		ID          string `json:"id"`
		Environment string `json:"environmentName"`
	}
	json.Unmarshal([]byte(out), &acct)
	if acct.ID != info.SubscriptionID || acct.Environment != "slipway" {
		t.Fatalf("account show: %s", out)
	}
	if n := front.tokens(); n == 0 {
		t.Fatalf("az logged in without asking the token stub for a token")
	}

	out = cli.must("group", "create", "-n", rg, "-l", "westeurope", "-o", "json")
	wantJSON(t, out, "name", rg)
	out = cli.must("appservice", "plan", "create", "-g", rg, "-n", plan, "--is-linux", "--sku", "B1", "-o", "json")
	wantJSON(t, out, "name", plan)
	out = cli.must("webapp", "create", "-g", rg, "-p", plan, "-n", app, "--runtime", "PYTHON:3.12", "-o", "json")
	wantJSON(t, out, "name", app)
	out = cli.must("webapp", "config", "appsettings", "set", "-g", rg, "-n", app, "--settings", "GREETING=hi", "-o", "json")
	if !strings.Contains(out, `"GREETING"`) {
		t.Fatalf("appsettings set output lacks GREETING:\n%s", out)
	}

	// webapp up for a new app, from a project folder.
	project := filepath.Join(t.TempDir(), "hello")
	if err := os.CopyFS(project, os.DirFS("testdata/apps/hello")); err != nil {
		t.Fatal(err)
	}
	cli.dir = project
	// -l is given because az 2.91 without it calls
	// client.list_geo_regions(sku, True), which the azure-mgmt-web it ships
	// no longer accepts (TypeError: takes 1 positional argument but 3 were
	// given): an az bug, before any request is sent.
	out = cli.mustTimeout(5*time.Minute, "webapp", "up", "-n", upApp, "-g", rg, "--plan", plan, "--sku", "B1", "-r", "PYTHON:3.12", "-l", "westeurope", "-o", "json")
	cli.dir = ""
	wantJSON(t, out, "name", upApp)

	// The new app answers through the terminator, over HTTPS, at the host
	// name Slipway gave it.
	code, body := front.get(t, fmt.Sprintf("https://%s.localhost:%d/", upApp, s.info.HTTPPort))
	if code != 200 || body != "hello v1" {
		t.Fatalf("GET https://%s/ through the terminator = %d %q, want 200 \"hello v1\"", upApp, code, body)
	}

	out = cli.must("resource", "list", "-g", rg, "-o", "json")
	var resources []struct {
		Name, Type, ResourceGroup string
	}
	if err := json.Unmarshal([]byte(out), &resources); err != nil {
		t.Fatalf("resource list: %v\n%s", err, out)
	}
	want := map[string]string{plan: "microsoft.web/serverfarms", app: "microsoft.web/sites", upApp: "microsoft.web/sites"}
	for _, r := range resources {
		if want[r.Name] == strings.ToLower(r.Type) {
			delete(want, r.Name)
		}
	}
	if len(want) > 0 {
		t.Fatalf("resource list lacks %v:\n%s", want, out)
	}

	out = cli.must("webapp", "log", "deployment", "show", "-n", upApp, "-g", rg, "-o", "json")
	if !strings.Contains(out, "Deployment successful") {
		t.Fatalf("webapp log deployment show lacks \"Deployment successful\":\n%s", out)
	}

	// Commands that already worked, over the same TLS and login.
	out = cli.must("webapp", "show", "-n", app, "-g", rg, "-o", "json")
	wantJSON(t, out, "name", app)
	out = cli.must("webapp", "list", "-g", rg, "-o", "json")
	if !strings.Contains(out, `"`+app+`"`) || !strings.Contains(out, `"`+upApp+`"`) {
		t.Fatalf("webapp list lacks %s or %s:\n%s", app, upApp, out)
	}
	out = cli.must("webapp", "config", "appsettings", "list", "-n", upApp, "-g", rg, "-o", "json")
	if !strings.Contains(out, "SCM_DO_BUILD_DURING_DEPLOYMENT") {
		t.Fatalf("webapp up did not set SCM_DO_BUILD_DURING_DEPLOYMENT:\n%s", out)
	}
	z := zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": "v2"})
	cli.mustTimeout(5*time.Minute, "webapp", "deploy", "-n", app, "-g", rg, "--src-path", z, "--type", "zip", "-o", "json")
	code, body = front.get(t, fmt.Sprintf("https://%s.localhost:%d/", app, s.info.HTTPPort))
	if code != 200 || body != "hello v2" {
		t.Fatalf("after webapp deploy, GET https://%s/ = %d %q, want 200 \"hello v2\"", app, code, body)
	}

	logs := filepath.Join(t.TempDir(), "logs.zip")
	cli.must("webapp", "log", "download", "-n", upApp, "-g", rg, "--log-file", logs)
	zr, err := zip.OpenReader(logs)
	if err != nil {
		t.Fatalf("webapp log download: %s is not a zip: %v", logs, err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	zr.Close()
	if len(names) == 0 {
		t.Fatalf("webapp log download: the zip is empty")
	}
	t.Logf("log download: %d files, e.g. %v", len(names), names[:min(len(names), 5)])
	t.Logf("az timings:\n%s", cli.timings.String())
	// Kudu names its own URLs (Location, log_url, details_url) with the
	// scheme the client called (X-Forwarded-Proto behind a terminator), so
	// az never follows one with the publishing credentials over plain HTTP.
	f := front
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.plainAuth) > 0 {
		t.Errorf("az sent credentials over plain HTTP %d times, e.g. %s", len(f.plainAuth), f.plainAuth[0])
	}
}

// realAzClientID is the service principal az logs in as; the stub accepts
// any client and secret.
const realAzClientID = "00000000-0000-0000-0000-00000000a2a2"

func wantJSON(t *testing.T, out, key, want string) {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, out)
	}
	if got, _ := v[key].(string); !strings.EqualFold(got, want) {
		t.Fatalf("%s = %q, want %q in\n%s", key, got, want, out)
	}
}

// realAz runs the real az with a private configuration directory, the test
// CA and the test-only name resolution.
type realAz struct {
	t       *testing.T
	az      string
	env     []string
	dir     string // working directory; "" for a temp dir
	work    string
	logs    string
	n       int
	timings strings.Builder
}

func newRealAz(t *testing.T, az string, front *realAzFront) *realAz {
	root := t.TempDir()
	c := &realAz{t: t, az: az, work: filepath.Join(root, "cwd"), logs: os.Getenv("REALAZ_LOGDIR")}
	if c.logs == "" {
		c.logs = filepath.Join(root, "logs")
	}
	site := filepath.Join(root, "site")
	for _, d := range []string{c.work, c.logs, site, filepath.Join(root, "home"), filepath.Join(root, "azure")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(site, "sitecustomize.py"), fmt.Appendf(nil, realAzSiteCustomize, front.port), 0o644); err != nil {
		t.Fatal(err)
	}
	c.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(root, "home"),
		"LANG=C.UTF-8",
		"AZURE_CONFIG_DIR=" + filepath.Join(root, "azure"),
		"AZURE_CORE_COLLECT_TELEMETRY=no",
		"AZURE_CORE_NO_COLOR=true",
		"AZURE_CORE_ONLY_SHOW_ERRORS=true",
		"AZURE_CORE_SURVEY_MESSAGE=false",
		"AZURE_EXTENSION_USE_DYNAMIC_INSTALL=no",
		// MSAL would otherwise ask login.microsoftonline.com about the
		// authority (docs/arm.md §2.3).
		"AZURE_CORE_INSTANCE_DISCOVERY=false",
		"REQUESTS_CA_BUNDLE=" + front.caFile,
		"SSL_CERT_FILE=" + front.caFile,
		"PYTHONPATH=" + site,
	}
	return c
}

// realAzSiteCustomize is imported by every Python process az starts (site
// imports sitecustomize from PYTHONPATH): *.localhost goes to the TLS
// terminator's port whatever port the URL names, loopback addresses pass,
// every other name fails to resolve.
const realAzSiteCustomize = `# Test-only (cmd/slipway/realaz_test.go): name resolution for the real az.
import socket

_getaddrinfo = socket.getaddrinfo
_PORT = %d


def _slipway_getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    h = host.decode() if isinstance(host, bytes) else host
    if h is not None:
        name = h.lower().rstrip(".")
        if name == "localhost" or name.endswith(".localhost"):
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", _PORT))]
        if name not in ("127.0.0.1", "::1"):
            raise socket.gaierror(socket.EAI_NONAME, "test: only *.localhost resolves, not " + h)
    return _getaddrinfo(host, port, family, type, proto, flags)


socket.getaddrinfo = _slipway_getaddrinfo
`

func (c *realAz) must(args ...string) string {
	c.t.Helper()
	return c.mustTimeout(2*time.Minute, args...)
}

// mustTimeout runs az with --debug (into a log file) and fails the test
// unless it exits 0; it returns stdout.
func (c *realAz) mustTimeout(d time.Duration, args ...string) string {
	c.t.Helper()
	c.n++
	logFile := filepath.Join(c.logs, fmt.Sprintf("%02d-%s.log", c.n, strings.Join(args[:min(len(args), 3)], "-")))
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.az, append(args, "--debug")...)
	cmd.Env = c.env
	cmd.Dir = c.dir
	if cmd.Dir == "" {
		cmd.Dir = c.work
	}
	cmd.WaitDelay = 5 * time.Second
	var stdout strings.Builder
	stderr, err := os.Create(logFile)
	if err != nil {
		c.t.Fatal(err)
	}
	defer stderr.Close()
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start).Round(100 * time.Millisecond)
	fmt.Fprintf(&c.timings, "  %6s  az %s\n", took, strings.Join(args, " "))
	if err != nil {
		b, _ := os.ReadFile(logFile)
		c.t.Fatalf("az %s: %v after %s (ctx %v)\nstdout:\n%s\nstderr (--debug, %s), last lines:\n%s",
			strings.Join(args, " "), err, took, ctx.Err(), stdout.String(), logFile, tail(string(b), 80))
	}
	return stdout.String()
}

// realAzFront is the test-only TLS terminator and token stub.
type realAzFront struct {
	port    int
	caFile  string
	ca      *x509.Certificate
	caKey   *ecdsa.PrivateKey
	pool    *x509.CertPool
	mu      sync.Mutex
	certs   map[string]*tls.Certificate
	nTokens int
	// plainAuth lists requests that carried credentials over plain HTTP.
	plainAuth []string
}

func (f *realAzFront) tokens() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nTokens
}

func startRealAzFront(t *testing.T, frontDoor, dataDir, adminToken string) *realAzFront {
	t.Helper()
	f := &realAzFront{certs: map[string]*tls.Certificate{}}
	// The CA.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Slipway realaz test CA (test only)"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		// Name-constrained to the names this test serves.
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         []string{"localhost"},
		PermittedIPRanges:           []*net.IPNet{{IP: net.IPv4(127, 0, 0, 0).To4(), Mask: net.CIDRMask(8, 32)}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	f.ca, _ = x509.ParseCertificate(der)
	f.caKey = key
	f.pool = x509.NewCertPool()
	f.pool.AddCert(f.ca)
	f.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(f.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.port = l.Addr().(*net.TCPAddr).Port

	target, err := url.Parse(frontDoor)
	if err != nil {
		t.Fatal(err)
	}
	// Requests that came over TLS go on over TLS: the front door serves
	// HTTPS on its own port too (with the platform root, whose leaf for an
	// IP address covers 127.0.0.1), so it sees them as HTTPS (httpsOnly
	// apps answer them instead of redirecting).
	platformRoots := x509.NewCertPool()
	var srvInfo struct {
		CAFile string `json:"caFile"`
	}
	if b, err := os.ReadFile(filepath.Join(dataDir, "server.json")); err == nil && json.Unmarshal(b, &srvInfo) == nil {
		if root, err := os.ReadFile(srvInfo.CAFile); err == nil {
			platformRoots.AppendCertsFromPEM(root)
		}
	}
	secureTarget := *target
	secureTarget.Scheme = "https"
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			if pr.In.TLS != nil {
				pr.SetURL(&secureTarget)
			} else {
				pr.SetURL(target)
			}
			pr.Out.Host = pr.In.Host
		},
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: platformRoots}, ForceAttemptHTTP2: true},
		FlushInterval: -1,
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := strings.ToLower(r.Host)
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if r.TLS == nil && r.Header.Get("Authorization") != "" {
			f.mu.Lock()
			f.plainAuth = append(f.plainAuth, r.Method+" http://"+r.Host+r.URL.Path)
			f.mu.Unlock()
		}
		if host == "login.localhost" {
			f.serveLogin(w, r, adminToken)
			return
		}
		proxy.ServeHTTP(w, r)
	})

	tlsL, plainL := newRealAzConnChan(l.Addr()), newRealAzConnChan(l.Addr())
	tlsSrv := &http.Server{Handler: handler, TLSConfig: &tls.Config{GetCertificate: f.certificate}, ReadHeaderTimeout: 30 * time.Second}
	plainSrv := &http.Server{Handler: handler, ReadHeaderTimeout: 30 * time.Second}
	go tlsSrv.ServeTLS(tlsL, "", "")
	go plainSrv.Serve(plainL)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				// A TLS connection starts with a handshake record (0x16).
				c.SetReadDeadline(time.Now().Add(30 * time.Second))
				br := bufio.NewReader(c)
				b, err := br.Peek(1)
				c.SetReadDeadline(time.Time{})
				if err != nil {
					c.Close()
					return
				}
				pc := &realAzPeekedConn{Conn: c, r: br}
				to := plainL
				if b[0] == 0x16 {
					to = tlsL
				}
				select {
				case to.ch <- pc:
				case <-to.done:
					c.Close()
				}
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		tlsL.Close()
		plainL.Close()
		tlsSrv.Close()
		plainSrv.Close()
	})
	return f
}

// certificate issues (and caches) a leaf for the name the client asked for
// by SNI: OpenSSL does not match a wildcard with a single label after it
// (*.localhost), so each name gets its own certificate.
func (f *realAzFront) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if name == "" {
		name = "localhost"
	}
	if name != "localhost" && !strings.HasSuffix(name, ".localhost") {
		return nil, fmt.Errorf("no certificate for %q", name)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.certs[name]; c != nil {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{name, "management.localhost", "login.localhost", "*.scm.localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f.ca, &key.PublicKey, f.caKey)
	if err != nil {
		return nil, err
	}
	c := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	f.certs[name] = c
	return c, nil
}

// serveLogin is the token stub (stands in for Slipway's token service,
// issue 11): OpenID discovery in the AAD form, MSAL's instance discovery,
// and a token endpoint that answers the client-credentials grant with the
// admin token.
func (f *realAzFront) serveLogin(w http.ResponseWriter, r *http.Request, adminToken string) {
	base := "https://" + r.Host
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	writeJSON := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(v)
	}
	tenant := segs[0]
	switch {
	case r.Method == http.MethodGet && len(segs) == 3 && segs[1] == "discovery" && segs[2] == "instance":
		writeJSON(200, map[string]any{
			"tenant_discovery_endpoint": base + "/" + tenant + "/v2.0/.well-known/openid-configuration",
			"api-version":               "1.1",
			"metadata": []any{map[string]any{
				"preferred_network": r.Host, "preferred_cache": r.Host, "aliases": []string{r.Host},
			}},
		})
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration"):
		// /{tenant}/v2.0/.well-known/... (AAD) or /adfs/.well-known/... (ADFS).
		writeJSON(200, map[string]any{
			"issuer":                                base + "/" + tenant + "/v2.0",
			"authorization_endpoint":                base + "/" + tenant + "/oauth2/v2.0/authorize",
			"token_endpoint":                        base + "/" + tenant + "/oauth2/v2.0/token",
			"jwks_uri":                              base + "/" + tenant + "/discovery/v2.0/keys",
			"response_types_supported":              []string{"code", "token"},
			"subject_types_supported":               []string{"pairwise"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" || r.PostForm.Get("client_id") == "" {
			writeJSON(400, map[string]any{"error": "unsupported_grant_type", "error_description": "the test token stub answers only the client-credentials grant"})
			return
		}
		f.mu.Lock()
		f.nTokens++
		f.mu.Unlock()
		writeJSON(200, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": adminToken})
	default:
		writeJSON(404, map[string]any{"error": "not_found", "error_description": "the test token stub does not serve " + r.URL.Path})
	}
}

// get fetches a URL through the terminator, trusting the test CA.
func (f *realAzFront) get(t *testing.T, u string) (int, string) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", f.port)
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: f.pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	resp, err := client.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// realAzConnChan is a net.Listener fed by the sniffing accept loop.
type realAzConnChan struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newRealAzConnChan(addr net.Addr) *realAzConnChan {
	return &realAzConnChan{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *realAzConnChan) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *realAzConnChan) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *realAzConnChan) Addr() net.Addr { return l.addr }

// realAzPeekedConn is a connection whose first bytes were read ahead.
type realAzPeekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *realAzPeekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
