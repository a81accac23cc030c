// Package server is Slipway's composition root: it reads the server's
// configuration, opens the state, wires every part (store, builder,
// sandbox, runtime, deployment coordinator, Kudu and management APIs, front
// door) and runs them until its context ends. Nothing else knows every part.
package server

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/applog"
	"github.com/slipway-dev/slipway/internal/arm"
	"github.com/slipway-dev/slipway/internal/atomicfile"
	"github.com/slipway-dev/slipway/internal/blob"
	"github.com/slipway-dev/slipway/internal/build"
	"github.com/slipway-dev/slipway/internal/certs"
	"github.com/slipway-dev/slipway/internal/cgroups"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/diskreserve"
	"github.com/slipway-dev/slipway/internal/dnsverify"
	"github.com/slipway-dev/slipway/internal/frontdoor"
	"github.com/slipway-dev/slipway/internal/homefs"
	"github.com/slipway-dev/slipway/internal/insights"
	"github.com/slipway-dev/slipway/internal/kvref"
	"github.com/slipway-dev/slipway/internal/netns"
	"github.com/slipway-dev/slipway/internal/pki"
	"github.com/slipway-dev/slipway/internal/runtime"
	"github.com/slipway-dev/slipway/internal/sandbox"
	"github.com/slipway-dev/slipway/internal/scm"
	"github.com/slipway-dev/slipway/internal/store"
	"golang.org/x/crypto/ssh"
)

// Config is the server's configuration.
type Config struct {
	DataDir     string // --data / SLIPWAY_DATA; default $HOME/.slipway
	Domain      string // --domain / SLIPWAY_DOMAIN; default "localhost"
	HTTPPort    int    // --http-port / SLIPWAY_HTTP_PORT; default 8080; 0 picks a free port
	Listen      string // --listen / SLIPWAY_LISTEN; default 127.0.0.1
	NoSandbox   bool   // --no-sandbox / SLIPWAY_NO_SANDBOX: run apps unconfined
	AllowShared bool   // --allow-shared-network / SLIPWAY_ALLOW_SHARED_NETWORK: run several apps even when they must share the host's network
	NoEgress    bool   // --no-egress / SLIPWAY_NO_EGRESS: instances reach only the platform, not outside networks
	HostPorts   []int  // --allow-host-port / SLIPWAY_ALLOW_HOST_PORTS: ports of host services (a database) instances may reach on the gateway address
	// TrustedProxies (--trusted-proxy / SLIPWAY_TRUSTED_PROXIES) are the
	// operator's proxies in front of the server, whose X-Forwarded-For and
	// X-Forwarded-Proto the front door believes (frontdoor.Config).
	TrustedProxies []netip.Prefix
	CacheDir       string   // --cache-dir / SLIPWAY_CACHE_DIR: build cache (Python environments, pip downloads); default <data>/cache
	BlobPort       int      // --blob-port / SLIPWAY_BLOB_PORT: path-style Blob endpoint, as Azurite's; default 10000; 0 picks a free port
	RedisPort      int      // --redis-port / SLIPWAY_REDIS_PORT: the Azure Cache for Redis proxy on the host; default 0, a free port (apps always use 6380)
	PostgresPort   int      // --postgres-port / SLIPWAY_POSTGRES_PORT: the PostgreSQL flexible servers' proxy on the host; default 0, a free port (apps always use 5432)
	DevStorage     bool     // --dev-storage / SLIPWAY_DEV_STORAGE: serve the well-known development account devstoreaccount1
	PythonRoots    []string // where to look for interpreters; default pyenv versions and /usr/bin, /usr/local/bin
	DNSResolver    string   // --dns-resolver / SLIPWAY_DNS_RESOLVER: host:port of the DNS server that verifies custom domains; default from /etc/resolv.conf
	// ACME: managed certificates for custom domains (az webapp config ssl create).
	ACMEDirectory string        // --acme-directory / SLIPWAY_ACME_DIRECTORY: the ACME CA's directory URL; "" disables managed certificates
	ACMEEmail     string        // --acme-email / SLIPWAY_ACME_EMAIL: contact for the ACME account
	ACMERoots     string        // --acme-ca-roots / SLIPWAY_ACME_CA_ROOTS: PEM file of extra roots that verify the ACME CA's HTTPS (a private CA)
	ACMERenew     time.Duration // --acme-renew-check / SLIPWAY_ACME_RENEW_CHECK: how often managed certificates are checked for renewal; default 12h
	// KeyVaultRefresh is how often running apps' Key Vault references are
	// resolved again (--keyvault-reference-refresh /
	// SLIPWAY_KEYVAULT_REFERENCE_REFRESH); default 24h, as App Service.
	KeyVaultRefresh time.Duration
	ExternalIP      string // --external-ip / SLIPWAY_EXTERNAL_IP: the address custom domains' A records point at; default the --listen address
	Logger          *slog.Logger
	// Ready, if set, is called once the server listens, with its base URL.
	Ready func(info Info)
	// StopGrace and DrainDelay tune instance replacement (tests shorten them).
	StopGrace  time.Duration
	DrainDelay time.Duration
	// HealthEvery and ReplaceAfter time health checks (scaling.go).
	HealthEvery  time.Duration // --health-check-interval; default 1m
	ReplaceAfter time.Duration // --health-check-replace-after; default 1h
	// IdleAfter and ColdStartWait time the unloading of apps without
	// Always On (idle.go).
	IdleAfter     time.Duration // --idle-unload-after; default 20m, 0 never
	ColdStartWait time.Duration // --cold-start-timeout; default 2m
	// AutoscaleEvery is how often autoscale settings are evaluated
	// (autoscale.go).
	AutoscaleEvery time.Duration // --autoscale-interval; default 1m, 0 off
	// WebJobsInterval is how often the apps' WebJobs are looked at: the
	// continuous jobs an instance lacks started, due schedules run (a
	// job's start or stop through the API is acted on at once); 0 → 10 s.
	WebJobsInterval time.Duration
	// DiskReserve (--disk-reserve / SLIPWAY_DISK_RESERVE) is the free
	// space that blob uploads, pushed packages, git pushes, management
	// changes (ARM PUT and PATCH) and new secret versions must leave
	// on the file system of the data directory, where the platform's own
	// databases live; zero → the larger of 1 GiB and 2%.
	DiskReserve diskreserve.Amount
	// Postgres runs the PostgreSQL flexible servers of
	// Microsoft.DBforPostgreSQL (arm.PostgresServers). Nil: that provider
	// is refused. Tests give a stand-in here; internal/pgflex is the real
	// one.
	Postgres arm.PostgresServers
	// Redis runs the caches of Microsoft.Cache/redis (arm.RedisCaches).
	// Nil: that provider is refused. Tests give a stand-in here;
	// internal/rediscache is the real one.
	Redis arm.RedisCaches
}

// Info is what a client needs to reach a running server; it is written to
// <data>/server.json (mode 0600) for the CLI on the same machine.
type Info struct {
	URL            string `json:"url"`
	Domain         string `json:"domain"`
	HTTPPort       int    `json:"httpPort"`
	BlobURL        string `json:"blobUrl"`
	SubscriptionID string `json:"subscriptionId"`
	TenantID       string `json:"tenantId"`
	AdminToken     string `json:"adminToken"`
	// CAFile is the platform root's certificate (PEM), for clients to trust
	// (curl --cacert, REQUESTS_CA_BUNDLE, slipway ca).
	CAFile string `json:"caFile"`
	// PostgresPort is the port of the PostgreSQL flexible servers' proxy
	// on the host (0: not served, PostgreSQL is not installed).
	PostgresPort int `json:"postgresPort,omitempty"`
	// RedisPort is the port of the caches' proxy on the host (0: not
	// served).
	RedisPort int `json:"redisPort,omitempty"`
}

// InfoFile is the name of the file in the data directory that holds Info.
const InfoFile = "server.json"

// DefaultDataDir returns the data directory used when none is given.
func DefaultDataDir(getenv func(string) string) string {
	if d := getenv("SLIPWAY_DATA"); d != "" {
		return d
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".slipway")
}

// ParseFlags reads the server's flags, with SLIPWAY_* environment variables
// as defaults.
func ParseFlags(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("slipway server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := Config{}
	port := 8080
	if v := getenv("SLIPWAY_HTTP_PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil {
			return cfg, fmt.Errorf("SLIPWAY_HTTP_PORT=%q is not a port number", v)
		}
		port = p
	}
	fs.StringVar(&cfg.DataDir, "data", DefaultDataDir(getenv), "data directory (env SLIPWAY_DATA)")
	fs.StringVar(&cfg.Domain, "domain", orDefault(getenv("SLIPWAY_DOMAIN"), "localhost"), "base domain for app host names (env SLIPWAY_DOMAIN)")
	fs.IntVar(&cfg.HTTPPort, "http-port", port, "HTTP port of the front door (env SLIPWAY_HTTP_PORT)")
	fs.StringVar(&cfg.Listen, "listen", orDefault(getenv("SLIPWAY_LISTEN"), "127.0.0.1"), "address to listen on (env SLIPWAY_LISTEN)")
	noSandbox := getenv("SLIPWAY_NO_SANDBOX") == "1" || strings.EqualFold(getenv("SLIPWAY_NO_SANDBOX"), "true")
	fs.BoolVar(&cfg.NoSandbox, "no-sandbox", noSandbox, "run apps without bubblewrap confinement (env SLIPWAY_NO_SANDBOX)")
	noEgress := getenv("SLIPWAY_NO_EGRESS") == "1" || strings.EqualFold(getenv("SLIPWAY_NO_EGRESS"), "true")
	fs.BoolVar(&cfg.NoEgress, "no-egress", noEgress, "instances reach only the platform's services, not outside networks (env SLIPWAY_NO_EGRESS)")
	blobPort := 10000
	if v := getenv("SLIPWAY_BLOB_PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil {
			return cfg, fmt.Errorf("SLIPWAY_BLOB_PORT=%q is not a port number", v)
		}
		blobPort = p
	}
	postgresPort := 0
	if v := getenv("SLIPWAY_POSTGRES_PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil {
			return cfg, fmt.Errorf("SLIPWAY_POSTGRES_PORT=%q is not a port number", v)
		}
		postgresPort = p
	}
	redisPort := 0
	if v := getenv("SLIPWAY_REDIS_PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil {
			return cfg, fmt.Errorf("SLIPWAY_REDIS_PORT=%q is not a port number", v)
		}
		redisPort = p
	}
	fs.IntVar(&cfg.RedisPort, "redis-port", redisPort, "port on the host of the Azure Cache for Redis caches (clients here connect with TLS to 127.0.0.1:<port> with the server name <cache>.redis.<domain>; apps use <cache>.redis.cache.windows.net:6380); 0 picks a free port (env SLIPWAY_REDIS_PORT)")
	fs.IntVar(&cfg.PostgresPort, "postgres-port", postgresPort, "port on the host of the Azure Database for PostgreSQL flexible servers (clients here connect with host=<server>.postgres.<domain> hostaddr=127.0.0.1 port=<port> sslmode=require; apps use <server>.postgres.database.azure.com:5432); 0 picks a free port (env SLIPWAY_POSTGRES_PORT)")
	fs.IntVar(&cfg.BlobPort, "blob-port", blobPort, "port of the path-style Blob endpoint http://127.0.0.1:<port>/<account> (env SLIPWAY_BLOB_PORT)")
	devStorage := getenv("SLIPWAY_DEV_STORAGE") == "1" || strings.EqualFold(getenv("SLIPWAY_DEV_STORAGE"), "true")
	fs.BoolVar(&cfg.DevStorage, "dev-storage", devStorage, "serve the development storage account devstoreaccount1 with its published key, for UseDevelopmentStorage=true (env SLIPWAY_DEV_STORAGE)")
	allowShared := getenv("SLIPWAY_ALLOW_SHARED_NETWORK") == "1" || strings.EqualFold(getenv("SLIPWAY_ALLOW_SHARED_NETWORK"), "true")
	fs.BoolVar(&cfg.AllowShared, "allow-shared-network", allowShared, "run more than one app even where apps cannot get networks of their own (no root): they can then reach each other (env SLIPWAY_ALLOW_SHARED_NETWORK)")
	hostPorts := getenv("SLIPWAY_ALLOW_HOST_PORTS")
	fs.Func("allow-host-port", "a TCP port of a service on this host that apps may reach at 169.254.0.1 (the service must listen there), e.g. 5432 for PostgreSQL; repeatable (env SLIPWAY_ALLOW_HOST_PORTS, comma-separated)", func(v string) error {
		hostPorts += "," + v
		return nil
	})
	trustedProxies := getenv("SLIPWAY_TRUSTED_PROXIES")
	fs.Func("trusted-proxy", "an address or CIDR range of a proxy in front of this server (a load balancer, a CDN, an nginx that terminates TLS) whose X-Forwarded-For names the client and whose X-Forwarded-Proto https counts as HTTPS; repeatable (env SLIPWAY_TRUSTED_PROXIES, comma-separated; default none: every peer is the client)", func(v string) error {
		trustedProxies += "," + v
		return nil
	})
	fs.StringVar(&cfg.DNSResolver, "dns-resolver", getenv("SLIPWAY_DNS_RESOLVER"), "host:port of the DNS server that verifies custom domains' TXT asuid, CNAME and A records (env SLIPWAY_DNS_RESOLVER; default the first nameserver of /etc/resolv.conf)")
	fs.StringVar(&cfg.ACMEDirectory, "acme-directory", getenv("SLIPWAY_ACME_DIRECTORY"), "directory URL of the ACME certificate authority that issues managed certificates for custom domains, e.g. https://acme-v02.api.letsencrypt.org/directory (env SLIPWAY_ACME_DIRECTORY; default none: managed certificates are refused)")
	fs.StringVar(&cfg.ACMEEmail, "acme-email", getenv("SLIPWAY_ACME_EMAIL"), "contact e-mail of the ACME account (env SLIPWAY_ACME_EMAIL)")
	fs.StringVar(&cfg.ACMERoots, "acme-ca-roots", getenv("SLIPWAY_ACME_CA_ROOTS"), "PEM file of extra root certificates that verify the ACME CA's HTTPS, for a private CA (env SLIPWAY_ACME_CA_ROOTS)")
	renew := 12 * time.Hour
	if v := getenv("SLIPWAY_ACME_RENEW_CHECK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return cfg, fmt.Errorf("SLIPWAY_ACME_RENEW_CHECK=%q is not a positive duration", v)
		}
		renew = d
	}
	fs.DurationVar(&cfg.ACMERenew, "acme-renew-check", renew, "how often managed certificates are checked for renewal; each is renewed when a third of its validity is left (env SLIPWAY_ACME_RENEW_CHECK)")
	kvRefresh := deploy.DefaultReferenceRefresh
	if v := getenv("SLIPWAY_KEYVAULT_REFERENCE_REFRESH"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return cfg, fmt.Errorf("SLIPWAY_KEYVAULT_REFERENCE_REFRESH=%q is not a duration of at least 1s", v)
		}
		kvRefresh = d
	}
	fs.DurationVar(&cfg.KeyVaultRefresh, "keyvault-reference-refresh", kvRefresh, "how often running apps' Key Vault references are resolved again; an app whose secret changed restarts without downtime (env SLIPWAY_KEYVAULT_REFERENCE_REFRESH; default 24h, as App Service)")
	fs.StringVar(&cfg.ExternalIP, "external-ip", getenv("SLIPWAY_EXTERNAL_IP"), "the IP address clients reach this server at, which custom domains' A records point to (env SLIPWAY_EXTERNAL_IP; default the --listen address)")
	fs.StringVar(&cfg.CacheDir, "cache-dir", getenv("SLIPWAY_CACHE_DIR"), "build cache directory, shareable between servers (env SLIPWAY_CACHE_DIR; default <data>/cache)")
	if v := getenv("SLIPWAY_DISK_RESERVE"); v != "" {
		if err := cfg.DiskReserve.Set(v); err != nil {
			return cfg, fmt.Errorf("SLIPWAY_DISK_RESERVE: %w", err)
		}
	}
	fs.Var(&cfg.DiskReserve, "disk-reserve", "free space that blob uploads, deployment packages, git pushes, management changes and new secret versions must leave on the data directory's file system, where the platform's own databases live: a size (2GiB, 512MiB) or a percentage (10%); writes that would use it are refused (env SLIPWAY_DISK_RESERVE; default the larger of 1GiB and 2%)")
	jobsEvery := 10 * time.Second
	if v := getenv("SLIPWAY_WEBJOBS_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 100*time.Millisecond {
			return cfg, fmt.Errorf("SLIPWAY_WEBJOBS_INTERVAL=%q is not a duration of at least 100ms", v)
		}
		jobsEvery = d
	}
	fs.DurationVar(&cfg.WebJobsInterval, "webjobs-interval", jobsEvery, "how often the apps' WebJobs are looked at: continuous jobs an instance lacks are started and due schedules run (env SLIPWAY_WEBJOBS_INTERVAL)")
	if err := healthFlags(fs, &cfg, getenv); err != nil {
		return cfg, err
	}
	if err := idleFlags(fs, &cfg, getenv); err != nil {
		return cfg, err
	}
	if err := autoscaleFlags(fs, &cfg, getenv); err != nil {
		return cfg, err
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if cfg.ExternalIP != "" && net.ParseIP(cfg.ExternalIP) == nil {
		return cfg, fmt.Errorf("--external-ip %q is not an IP address", cfg.ExternalIP)
	}
	for _, v := range strings.Split(trustedProxies, ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil || a.Zone() != "" {
				return cfg, fmt.Errorf("--trusted-proxy %q is not an IP address or a CIDR range (10.0.0.0/8, 2001:db8::/32)", v)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		} else if p.Addr().Is4In6() {
			return cfg, fmt.Errorf("--trusted-proxy %q: write an IPv4 range as such (10.0.0.0/8)", v)
		}
		// Apps reach the front door from their link-local addresses (the
		// instances' gateway): trusting them would let an app name any
		// client, and pass other apps' access restrictions as it.
		if p.Overlaps(netip.MustParsePrefix("169.254.0.0/16")) || p.Overlaps(netip.MustParsePrefix("fe80::/10")) {
			return cfg, fmt.Errorf("--trusted-proxy %q takes in the link-local addresses apps reach the platform from (169.254.0.0/16, fe80::/10): name only your proxies' addresses", v)
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, p.Masked())
	}
	for _, v := range strings.Split(hostPorts, ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			return cfg, fmt.Errorf("--allow-host-port %q is not a port number", v)
		}
		cfg.HostPorts = append(cfg.HostPorts, p)
	}
	return cfg, nil
}

// Run runs the server until ctx ends.
func Run(ctx context.Context, cfg Config) (err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if cfg.Domain == "" {
		cfg.Domain = "localhost"
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1"
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("resolving data directory: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	os.Chmod(dataDir, 0o700) // other users (and apps running unsandboxed) must not read it

	// Undo what was started if a later step fails (STYLE rule 10).
	var closers []func() error
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			if cerr := closers[i](); cerr != nil && err == nil {
				err = cerr
			}
		}
	}()

	st, err := store.Open(ctx, dataDir, log)
	if err != nil {
		return fmt.Errorf("opening state: %w", err)
	}
	closers = append(closers, st.Close)
	sub, tenant, err := st.Identity(ctx)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Listen, strconv.Itoa(cfg.HTTPPort)))
	if err != nil {
		return fmt.Errorf("listening on port %d: %w (is another server running? choose another with --http-port)", cfg.HTTPPort, err)
	}
	closers = append(closers, func() error { ln.Close(); return nil })
	port := ln.Addr().(*net.TCPAddr).Port
	blobLn, err := net.Listen("tcp", net.JoinHostPort(cfg.Listen, strconv.Itoa(cfg.BlobPort)))
	if err != nil {
		return fmt.Errorf("listening on blob port %d: %w (choose another with --blob-port)", cfg.BlobPort, err)
	}
	closers = append(closers, func() error { blobLn.Close(); return nil })
	blobURL := "http://" + net.JoinHostPort(cfg.Listen, strconv.Itoa(blobLn.Addr().(*net.TCPAddr).Port))
	blobPort := blobLn.Addr().(*net.TCPAddr).Port

	// The platform's own CA: every listener answers HTTP and HTTPS on the
	// same port, with leaves for the platform's names issued on demand.
	ca, err := pki.Open(pki.Config{
		Dir: filepath.Join(dataDir, "pki"), Domain: cfg.Domain, Logger: log,
		Seal: func(p []byte) ([]byte, error) { return st.SealBytes(p, "pki/ca.key") },
		Open: func(b []byte) ([]byte, error) { return st.OpenBytes(b, "pki/ca.key") },
	})
	if err != nil {
		return fmt.Errorf("opening the platform's certificate authority: %w", err)
	}
	caBundle, err := writeCABundle(filepath.Join(dataDir, "pki", "bundle.pem"), ca.RootPEM())
	if err != nil {
		return err
	}
	// Custom domains' certificates first (SNI), then the platform CA's leaves.
	certMgr, err := newCertManager(ctx, cfg, st, dataDir, log)
	if err != nil {
		return err
	}
	tlsConfig := &tls.Config{GetCertificate: certMgr.GetCertificate(ca.GetCertificate), NextProtos: []string{"h2", "http/1.1"}, MinVersion: tls.VersionTLS12}
	dual := func(l net.Listener) net.Listener { return frontdoor.NewDualListener(l, tlsConfig) }
	hostSuffix := ""
	if port != 80 {
		hostSuffix = ":" + strconv.Itoa(port)
	}

	roots := cfg.PythonRoots
	if len(roots) == 0 {
		roots = defaultPythonRoots()
	}
	interps, err := build.FindInterpreters(ctx, roots...)
	if err != nil {
		return fmt.Errorf("finding Python interpreters: %w", err)
	}
	if len(interps) == 0 {
		return fmt.Errorf("no Python 3 interpreter found under %s: install Python 3.10 or later", strings.Join(roots, ", "))
	}
	cacheDir := cfg.CacheDir
	if cacheDir == "" {
		cacheDir = filepath.Join(dataDir, "cache")
	}
	sb, err := sandbox.New(sandbox.Config{Disabled: cfg.NoSandbox, Logger: log, StateDir: filepath.Join(dataDir, "sandbox")})
	if err != nil {
		return err
	}
	sandboxed, why := sb.Available()
	if !sandboxed {
		log.Warn("APPS RUN UNSANDBOXED: every app can read what this server's user can read. Install bubblewrap (apt-get install bubblewrap) to confine them.", "reason", why)
	}
	launcher := &launcher{sb: sb}
	pg, err := openPostgres(cfg, dataDir, st, sb, ca.GetCertificate, log)
	if err != nil {
		return fmt.Errorf("listening on PostgreSQL port %d: %w (choose another with --postgres-port)", cfg.PostgresPort, err)
	}
	rc, err := openRedis(cfg, dataDir, sb, ca.GetCertificate, log)
	if err != nil {
		pg.close()
		return fmt.Errorf("listening on Redis port %d: %w (choose another with --redis-port)", cfg.RedisPort, err)
	}
	tenantsClosed := false
	closeTenants := func() error {
		if tenantsClosed {
			return nil
		}
		tenantsClosed = true
		return errors.Join(pg.close(), rc.close())
	}
	closers = append(closers, closeTenants) // on the error paths until the closer below

	// Each instance in a network of its own, limited to its plan's size
	// (docs/appservice.md §11), when the host allows it (root, bubblewrap).
	var nets *netns.Manager
	var groups *cgroups.Manager
	serverID := shortID(dataDir)
	if sandboxed && os.Geteuid() == 0 {
		if ok, why := netns.Available(); !ok {
			log.Warn("INSTANCES SHARE THE HOST'S NETWORK: an app can reach the host's loopback services and other apps' instances.", "reason", why)
		} else {
			tenantPlatform, redirects := tenantNetwork([]*tenantPorts{pg.listeners(), rc.listeners()}, map[int]int{443: port, 80: port}, cfg.HostPorts)
			nets, err = netns.Open(ctx, netns.Config{ID: serverID + "a", PlatformPorts: slices.Concat([]int{port, blobPort}, tenantPlatform, cfg.HostPorts), LoopbackPorts: []int{port, blobPort}, Pool: 2,
				GatewayRedirects: redirects, Egress: !cfg.NoEgress, Logger: log})
			if err != nil {
				return err
			}
			closers = append(closers, nets.Close)
			log.Info("each instance has a network of its own", "gateway", nets.Gateway(), "platform_ports", []int{port, blobPort},
				"host_ports", cfg.HostPorts, "egress", !cfg.NoEgress)
		}
		groups, err = cgroups.Open(cgroups.Config{Parent: "slipway-" + serverID, Logger: log})
		if err != nil {
			log.Warn("INSTANCES RUN WITHOUT RESOURCE LIMITS: one app can starve the others and this server.", "reason", err)
			groups = nil
		} else {
			closers = append(closers, groups.Close)
		}
	} else {
		log.Warn("INSTANCES SHARE THE HOST'S NETWORK AND RUN WITHOUT RESOURCE LIMITS: both need root and bubblewrap.")
	}
	// The PostgreSQL servers stop before the cgroups' parent is removed.
	closers = append(closers, closeTenants)
	if rc != nil && cfg.Redis == nil {
		rc.limit(groups)
		cfg.Redis = rc.m
		rc.reconcile(ctx, st)
	}
	if pg != nil && cfg.Postgres == nil {
		pg.limit(groups)
		cfg.Postgres = pg.m
		pg.reconcile(ctx, st)
	}
	var homes, locals *homefs.Homes
	var builds *buildStorage
	if ok, why := homefs.Supported(); ok && sandboxed {
		homes, err = homefs.New(homefs.Config{ImageDir: filepath.Join(dataDir, "homes"), Logger: log})
		if err != nil {
			return err
		}
		closers = append(closers, homes.Close)
		// Each app's run directory (its instances' copies and views of
		// their environment) on an image of the tier's local storage.
		locals, err = homefs.New(homefs.Config{ImageDir: filepath.Join(dataDir, "images", "local"), Logger: log})
		if err != nil {
			return err
		}
		closers = append(closers, locals.Close)
		// Each app's versions and build cache on images of its quota.
		if builds, err = newBuildStorage(dataDir, cacheDir, st, log); err != nil {
			return err
		}
		closers = append(closers, builds.Close)
	} else {
		log.Warn("APP HOMES, LOCAL STORAGE, VERSIONS AND BUILD CACHES HAVE NO QUOTA: one app can fill this server's disk.", "reason", why)
	}
	bcfg := build.Config{CacheDir: cacheDir, Interpreters: interps, Logger: log}
	if builds != nil {
		bcfg.Storage = builds.Scope
	}
	if sandboxed && os.Geteuid() == 0 {
		// Builds run the app's own code (setup.py, settings imported by
		// collectstatic, PRE/POST_BUILD_COMMAND): confine them too, as an
		// unprivileged build user that sees only the build's directories.
		uid, gid, err := sandbox.EnsureUser(ctx, buildUser, buildUser)
		if err != nil {
			return fmt.Errorf("creating the build user: %w", err)
		}
		bcfg.Owner = &build.Owner{UID: uid, GID: gid}
		runner := &buildRunner{sb: sb, uid: uid, gid: gid, interps: interps, cg: groups}
		if nets != nil {
			// Builds fetch packages: their networks always have egress,
			// and reach nothing of the platform's.
			if runner.net, err = netns.Open(ctx, netns.Config{ID: serverID + "b", Egress: true, Pool: 1, Logger: log}); err != nil {
				return err
			}
			closers = append(closers, runner.net.Close)
		}
		bcfg.Runner = runner
	}
	builder, err := build.New(bcfg)
	if err != nil {
		return err
	}
	retired := &retiredScopes{dir: filepath.Join(dataDir, "retired-scopes"), cacheDir: cacheDir, builder: builder, store: st, logger: log}
	if builds != nil {
		retired.images, builds.retired = builds.scopes, retired
	}

	logs := applog.NewHub(applog.Config{Machine: "slipway0", Logger: log})
	closers = append(closers, logs.Close)
	rtm := runtime.New(runtime.Config{Launcher: launcher, Logger: log, StopGrace: cfg.StopGrace, DrainDelay: cfg.DrainDelay,
		HealthEvery: cfg.HealthEvery, ReplaceAfter: cfg.ReplaceAfter})
	closers = append(closers, rtm.Close)

	def, err := prepareDefaultSite(ctx, builder, filepath.Join(dataDir, "platform"), interps)
	if err != nil {
		return fmt.Errorf("preparing the default site: %w", err)
	}
	pl := &planner{
		domain: cfg.Domain, subscription: sub,
		sandboxed: sandboxed, asRoot: os.Geteuid() == 0, def: def, dataDir: dataDir, interps: interps,
		users: map[string][2]int{}, net: nets, cg: groups, homes: homes, sb: sb, logs: logs, allowShared: cfg.AllowShared,
		caBundle: caBundle, azure: func(ctx context.Context) []string {
			var names []string
			if accts, err := st.StorageAccounts(ctx, ""); err == nil {
				for _, a := range accts {
					names = append(names, a.Name+".blob.core.windows.net")
				}
			}
			if vaults, err := st.Vaults(ctx, ""); err == nil {
				for _, v := range vaults {
					names = append(names, strings.ToLower(v.Name)+".vault.azure.net")
				}
			}
			names = append(names, pg.names(cfg.Domain)...)
			names = append(names, rc.names(cfg.Domain)...)
			return append(names, "management.azure.com", "login.microsoftonline.com")
		},
	}
	pl.exists = func(site string) bool { _, ok := st.SiteRouting(site); return ok }
	pl.auth = func(site string) *slipway.AuthSettings { r, _ := st.SiteRouting(site); return r.Auth }
	pl.aiAgent = &aiAgent{b: builder, dir: filepath.Join(dataDir, "platform")}
	if locals != nil {
		pl.local = newLocalDisk(locals)
		pl.local.exists = pl.exists
	}
	token, err := adminToken(dataDir)
	if err != nil {
		return err
	}
	// The identity platform: tokens, roles, Key Vault (issue 11).
	// Changes to the platform's store from tenants (ARM PUT and PATCH, new
	// secret versions) stop, as uploads do, when the data directory's disk
	// is at its reserve: the store needs that space to keep working.
	// Every writer on the data directory's file system asks one tally of
	// its free space (diskreserve.Disks), so that writes in different
	// services cannot each take the same room.
	disks := diskreserve.NewDisks(diskreserve.Config{Reserve: cfg.DiskReserve, Logger: log})
	storeReserve := disks.Guard(dataDir, "management changes and new secret versions")
	ident, err := newPlatformIdentity(ctx, st, sub, tenant, cfg.Domain, hostSuffix, token, dataDir, storeReserve, log)
	if err != nil {
		return fmt.Errorf("starting the identity platform: %w", err)
	}
	if pg != nil {
		pg.m.SetDirectory(ident.postgresDirectory())
	}
	identCtx, stopIdent := context.WithCancel(ctx)
	identDone := make(chan struct{})
	go func() { defer close(identDone); ident.run(identCtx) }()
	closers = append(closers, func() error { stopIdent(); <-identDone; return nil })
	refs, err := kvref.New(kvref.Config{Store: st, Access: ident.vaultAccess, Identities: ident.referenceIdentities(),
		VaultSuffixes: []string{"vault." + cfg.Domain, "vault.azure.net"}, Logger: log})
	if err != nil {
		return err
	}
	var artifactStorage func(context.Context, string, slipway.SKU, string) error
	if builds != nil {
		artifactStorage = builds.Artifacts
	}
	coord := deploy.New(deploy.Config{
		Store: st, Builder: builder, Runtime: rtm, Planner: pl, Launcher: launcher,
		Logs: logs, DataDir: dataDir, Default: def, Logger: log,
		References: refs, ReferenceRefresh: cfg.KeyVaultRefresh,
		Slots:   deploy.SlotConfig{Store: st, HostName: pl.hostName},
		Storage: artifactStorage,
		Reserve: disks.Guard(dataDir, "deployment packages"),
		Origin:  func(site string) string { return siteOrigin(pl.hostName(site), port) },
	})
	pl.home = coord.SiteHome
	closers = append(closers, coord.Close)
	if builds != nil {
		builds.mountExisting(ctx)
	}
	// Before anything builds: finish retiring the scopes of sites whose
	// deletion a stop cut short, and remove those no version names now.
	if err := retired.sweep(ctx, ""); err != nil {
		log.Warn("sweeping the build cache scopes of deleted sites", "err", err)
	}
	if err := coord.Recover(ctx); err != nil {
		return fmt.Errorf("recovering from the last stop: %w", err)
	}
	if sites, err := st.Sites(ctx, ""); err == nil {
		for _, site := range sites {
			if err := applyLogsConfig(ctx, st, coord.SiteLog(site.Name), site.ResourceGroup, site.Name); err != nil {
				log.Warn("applying a site's logging configuration", "site", site.Name, "err", err)
			}
		}
	}
	// Instances' ephemeral app copies do not outlive a server (one killed
	// with -9 leaves them behind).
	if stale, _ := filepath.Glob(siteRunDir(dataDir, "*")); len(stale) > 0 {
		for _, d := range stale {
			os.RemoveAll(d)
		}
	}

	delegation, err := sealedSecret(st, filepath.Join(dataDir, "blob-delegation.key"), "blob/delegation")
	if err != nil {
		return err
	}
	// Made first, so that its Guard knows its file system (one mounted
	// there may be another).
	blobDir := filepath.Join(dataDir, "blob")
	if err := os.MkdirAll(blobDir, 0o750); err != nil {
		return err
	}
	blobs, err := blob.Open(ctx, blob.Config{
		Dir: blobDir, Accounts: storageAccounts{st: st, sub: sub, dev: cfg.DevStorage}, Logger: log, BaseDomain: cfg.Domain,
		// Azure AD bearer tokens and user delegation SAS, authorized by data roles.
		Bearer: newBlobBearer(ident.svc, ident.authz, cfg.Domain), DelegationSecret: delegation,
		Reserve: disks.Guard(blobDir, "blob uploads"),
	})
	if err != nil {
		return fmt.Errorf("opening the blob service: %w", err)
	}
	closers = append(closers, blobs.Close)

	// Application Insights (internal/insights): telemetry the apps send,
	// kept apart from the control plane, and the query API.
	insightsDir := filepath.Join(dataDir, "insights")
	if err := os.MkdirAll(insightsDir, 0o750); err != nil {
		return err
	}
	telemetry, err := insights.New(ctx, insights.Config{Dir: insightsDir, Components: insightsComponents{st: st, sub: sub},
		Auth: insightsBearer{id: ident.svc, authz: ident.authz}, AdminToken: token, Reserve: disks.Guard(insightsDir, "telemetry"), Logger: log})
	if err != nil {
		return fmt.Errorf("opening Application Insights: %w", err)
	}
	closers = append(closers, telemetry.Close)
	{
		sweepCtx, stopSweep := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); telemetry.Sweep(sweepCtx, time.Minute) }()
		closers = append(closers, func() error { stopSweep(); <-done; return nil })
	}

	// The managed-identity endpoint (msi.go): on the instances' gateway
	// listener when they have networks of their own, else on a loopback
	// listener of its own; never on the host's listener.
	msiHost := ""
	var msiLn net.Listener
	if nets != nil {
		msiHost = net.JoinHostPort(nets.Gateway().String(), strconv.Itoa(port))
	} else {
		if msiLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return fmt.Errorf("listening for the managed-identity endpoint: %w", err)
		}
		closers = append(closers, func() error { msiLn.Close(); return nil })
		msiHost = msiLn.Addr().String()
	}
	msi := newMSIEndpoint(st, sub, ident.svc, msiURL(msiHost), log)
	pl.msi = msi
	versions := pythonMinorVersions(interps)
	verifier, externalIP := customDomains(cfg, log)
	hostKey, err := sshHostKey(st, dataDir)
	if err != nil {
		return fmt.Errorf("SSH host key: %w", err)
	}
	var _ scm.SettingsResolver = coord // Kudu shows settings as the app sees them
	kudu := scm.New(scm.Config{
		Store: st, Deployer: coord, AdminToken: token, Logger: log,
		LogDir: func(site string) string { return filepath.Join(coord.SiteHome(site), "LogFiles") },
		Home:   func(ctx context.Context, s slipway.Site) (scm.Home, error) { return pl.kuduHome(ctx, st, s) },
		// Beside the home (which the app's sandbox writes), never in it; removed with the site.
		RepoDir:         func(site string) string { return filepath.Join(filepath.Dir(coord.SiteHome(site)), "repository.git") },
		SiteOf:          func(r *http.Request) string { return frontdoor.SiteFromContext(r.Context()) },
		DeploymentUsers: ident.deploymentUsers(),
		Tokens:          ident.kuduTokens(),
		Reserve:         disks.Guard(dataDir, "git pushes"),
		Commands:        coord,
		Shells:          coord, SSHHostKey: hostKey,
		FileReserve: disks.Guard(dataDir, "Kudu file uploads"),
		// Deployments from a URL read blobs of this server's blob
		// service only, in process (packages.go).
		Packages: blobPackages{blobs}, BackupBlobs: blobPackages{blobs}, PackageAddresses: blobAddresses(cfg.Domain, port, cfg.Listen, blobPort),
		// WebJobs run inside the app's running instances.
		Instances: func(site string) []scm.RunningInstance { return runningInstances(rtm, site) },
		Sites:     func(ctx context.Context) ([]slipway.Site, error) { return st.Sites(ctx, "") },
		// The container CI hook (POST /api/docker/hook) restarts as az webapp restart does.
		Restart: func(ctx context.Context, s slipway.Site) error { return coord.Restart(ctx, s.ResourceGroup, s.Name) },
	})
	var mgmt *arm.Handler
	mgmt = arm.New(arm.Config{
		Verifier: verifier, ExternalIP: externalIP, Certificates: certMgr,
		Store: st, Controller: &controller{scopes: retired, homes: homes, local: pl.local, builds: builds, dataDir: dataDir, coord: coord, store: st, blobs: blobs}, Domain: cfg.Domain, HostSuffix: hostSuffix,
		Slots: coord, Containers: blobs, OneDeploy: kudu, // ARM's OneDeploy extension is Kudu's (az webapp deploy --src-url)
		Backups: backups{kudu}, WebJobs: kuduWebJobs{kudu},
		Scheme: "https", PythonVersions: versions, Logger: log, Reserve: storeReserve,
		// Connection strings handed out name HTTPS (DefaultEndpointsProtocol=https),
		// as Azure's do; the blob port answers both.
		BlobEndpoint: func(account string) string {
			return "https" + strings.TrimPrefix(blobURL, "http") + "/" + account + "/"
		},
		// By the caller's roles as the management API reads them (lists
		// a caller may read in part: arm.Handler.AuthorizeRequest).
		Authorize:    func(r *http.Request) error { return ident.authorizeARM(r, mgmt.AuthorizeRequest) },
		AuthorityURL: ident.authority, ManagementURL: ident.managementURL,
		// Application Insights' ingestion endpoint, named by components'
		// connection strings, on the front door's HTTPS port.
		RBAC: ident.authz, CallerObjectID: ident.callerObjectID, GraphURL: ident.graphURL,
		References: refs,
		Postgres:   cfg.Postgres,
		Redis:      cfg.Redis,
	})
	backends, stopIdle := startIdle(ctx, cfg, idleApps{st, coord, rtm}, readyBackends{rtm}, log)
	closers = append(closers, stopIdle)
	auth, err := newEasyAuth(st, ident, refs, log)
	if err != nil {
		return err
	}
	closers = append(closers, auth.Close)
	fd := frontdoor.New(frontdoor.Config{
		Domain: cfg.Domain, Backends: backends, Sites: siteLookup{st}, HostNames: st, SlotRoutes: st, SCM: kudu, Management: mgmt, Logger: log,
		Extra: map[string]http.Handler{"blob": blobs, "web": blobs.Website(), "vault": ident.vaultHost(), insights.Label: telemetry}, Login: ident.svc.Handler(), Graph: ident.directory, ACMEChallenges: acmeHandler(certMgr),
		TrustedProxies: cfg.TrustedProxies, Auth: auth,
	})
	{
		// Scheduled app backups (az webapp config backup update) are
		// looked at every minute, their frequency being at least hourly.
		backupCtx, stopBackups := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); mgmt.RunBackupSchedules(backupCtx, time.Minute) }()
		closers = append(closers, func() error { stopBackups(); <-done; return nil })
	}
	{
		// WebJobs: continuous jobs kept running, scheduled runs started.
		jobsCtx, stopJobs := context.WithCancel(ctx)
		done := make(chan struct{})
		interval := cmp.Or(cfg.WebJobsInterval, 10*time.Second)
		go func() { defer close(done); kudu.RunWebJobs(jobsCtx, interval) }()
		closers = append(closers, func() error { stopJobs(); <-done; return nil })
	}
	closers = append(closers, startAutoscale(ctx, cfg, storeScaler{st, coord},
		&liveMetrics{st: st, pl: pl, ready: readyBackends{rtm}, fd: fd}, st.AutoscaleSettings, log))
	if certMgr.issuer != nil {
		// Managed certificates are renewed when a third of their validity
		// is left; a failed renewal keeps the current one serving.
		renewer := &certs.Renewer{Store: certMgr, Issuer: certMgr.issuer, Logger: log, RetryMin: cfg.ACMERenew}
		renewCtx, stopRenew := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); renewer.Run(renewCtx, cfg.ACMERenew) }()
		closers = append(closers, func() error { stopRenew(); <-done; return nil })
	}

	// Each app's and Kudu's name takes its site's minimum TLS version.
	tlsConfig = fd.TLSConfig(tlsConfig)
	srv := &http.Server{Handler: fd, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	blobSrv := &http.Server{Handler: blobs, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	// Instances' own listeners: the front door plus the managed-identity
	// endpoint (gateway), or that endpoint alone (loopback).
	instSrv := &http.Server{Handler: gatewayHandler(msi, fd), ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	serveErr := make(chan error, 12)
	// Plain HTTP/1.1 requests to apps take the front door's app lane;
	// the rest (TLS, bodies, upgrades, Kudu, ARM) net/http's server.
	lane := fd.Lane(srv)
	// HTTP/2 answers leave in one TLS record (internal/frontdoor/h2conn.go).
	if err := frontdoor.ConfigureHTTP2(srv); err != nil {
		return err
	}
	go func() { serveErr <- srv.Serve(lane.Listen(ln, tlsConfig)) }()
	stopLane := func() { // on the error paths below: its connections too
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		lane.Shutdown(ctx)
	}
	go func() { serveErr <- blobSrv.Serve(dual(blobLn)) }()
	if msiLn != nil {
		instSrv.Handler = msi
		go func() { serveErr <- instSrv.Serve(msiLn) }()
	}
	gateway := ""
	if nets != nil {
		// Instances reach the platform's services on the gateway address,
		// on the same ports as the host does.
		gw := nets.Gateway().String()
		gwLn, err := net.Listen("tcp", net.JoinHostPort(gw, strconv.Itoa(port)))
		if err != nil {
			srv.Close()
			stopLane()
			blobSrv.Close()
			return fmt.Errorf("listening on the instances' gateway %s:%d: %w", gw, port, err)
		}
		gwBlobLn, err := net.Listen("tcp", net.JoinHostPort(gw, strconv.Itoa(blobPort)))
		if err != nil {
			gwLn.Close()
			srv.Close()
			stopLane()
			blobSrv.Close()
			instSrv.Close()
			return fmt.Errorf("listening on the instances' gateway %s:%d: %w", gw, blobPort, err)
		}
		go func() { serveErr <- instSrv.Serve(dual(gwLn)) }()
		go func() { serveErr <- blobSrv.Serve(dual(gwBlobLn)) }()
		gateway = gw
	}
	if err := errors.Join(pg.serve(gateway, serveErr), rc.serve(gateway, serveErr)); err != nil {
		srv.Close()
		stopLane()
		blobSrv.Close()
		instSrv.Close()
		return fmt.Errorf("listening on the instances' gateway for PostgreSQL and Redis: %w", err)
	}

	info := Info{
		URL: "http://" + net.JoinHostPort(cfg.Listen, strconv.Itoa(port)), Domain: cfg.Domain, HTTPPort: port, BlobURL: blobURL,
		SubscriptionID: sub, TenantID: tenant, AdminToken: token,
		CAFile: filepath.Join(dataDir, "pki", "ca.pem"),
	}
	if pg != nil {
		info.PostgresPort = pg.ports.port
	}
	if rc != nil {
		info.RedisPort = rc.ports.port
	}
	if err := writeInfo(dataDir, info); err != nil {
		srv.Close()
		stopLane()
		instSrv.Close()
		return err
	}
	log.Info("slipway server listening", "url", info.URL, "domain", cfg.Domain, "data", dataDir, "sandbox", sandboxed)
	if err := coord.StartAll(ctx); err != nil {
		log.Error("some apps did not start", "err", err)
	}
	if cfg.Ready != nil {
		cfg.Ready(info)
	}

	var serveFailed error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		serveFailed = fmt.Errorf("serving: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	laneDone := make(chan struct{})
	go func() { lane.Shutdown(shutdownCtx); close(laneDone) }()
	srv.Shutdown(shutdownCtx)
	<-laneDone
	blobSrv.Shutdown(shutdownCtx)
	instSrv.Shutdown(shutdownCtx)
	if serveFailed != nil {
		return serveFailed
	}
	log.Info("slipway server stopped")
	return nil
}

// systemCABundles are where Debian and others keep the public CAs.
var systemCABundles = []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"}

// writeCABundle writes the public CAs and the platform's root into one
// file, which sandboxes trust: an app's Azure SDK verifies Slipway's
// certificates and the public ones alike.
func writeCABundle(path string, root []byte) (string, error) {
	var b []byte
	for _, p := range systemCABundles {
		if c, err := os.ReadFile(p); err == nil {
			b = append(c, '\n')
			break
		}
	}
	b = append(b, root...)
	if err := atomicfile.WriteFile(path, b, 0o644); err != nil {
		return "", fmt.Errorf("writing the CA bundle for apps: %w", err)
	}
	return path, nil
}

// shortID names this server's host-wide resources (network namespaces,
// nftables table, cgroups): stable for a data directory, so a restarted
// server finds and removes what a killed one left.
func shortID(dataDir string) string {
	sum := sha256.Sum256([]byte(dataDir))
	return hex.EncodeToString(sum[:2])[:3] // room for a suffix: ≤ 4 characters in all
}

func defaultPythonRoots() []string {
	roots := []string{}
	if home, err := os.UserHomeDir(); err == nil {
		roots = append(roots, filepath.Join(home, ".pyenv", "versions"))
	}
	if v := os.Getenv("PYENV_ROOT"); v != "" {
		roots = append(roots, filepath.Join(v, "versions"))
	}
	return append(roots, "/usr/local/bin", "/usr/bin")
}

func pythonMinorVersions(in []build.Interpreter) []string {
	seen := map[string]bool{}
	var out []string
	for _, i := range in {
		parts := strings.Split(i.Version, ".")
		if len(parts) < 2 {
			continue
		}
		mm := parts[0] + "." + parts[1]
		if !seen[mm] {
			seen[mm] = true
			out = append(out, mm)
		}
	}
	return out
}

// sealedSecret returns 32 random bytes kept (sealed with the master key)
// in path, made on first use.
func sealedSecret(st *store.Store, path, aad string) ([]byte, error) {
	if secret, err := readSealed(st, path, aad); err != nil || secret != nil {
		return secret, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	if err := writeSealed(st, path, aad, secret); err != nil {
		return nil, err
	}
	return secret, nil
}

// sshHostKey is the server's SSH host key (Kudu's tunnel, package scm's
// ssh.go): an Ed25519 key from a seed sealed in the data directory, so that
// clients see the same key after a restart.
func sshHostKey(st *store.Store, dataDir string) (ssh.Signer, error) {
	seed, err := sealedSecret(st, filepath.Join(dataDir, "ssh-host.key"), "ssh/host-key")
	if err != nil {
		return nil, err
	}
	return ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(seed))
}

// readSealed reads a file written by writeSealed: nil, nil when it does
// not exist yet.
func readSealed(st *store.Store, path, aad string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return st.OpenBytes(b, aad)
}

// writeSealed writes secret to path (mode 0600), sealed with the store's
// master key and bound to aad.
func writeSealed(st *store.Store, path, aad string, secret []byte) error {
	sealed, err := st.SealBytes(secret, aad)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, sealed, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// adminToken returns the admin token, creating it on first start.
func adminToken(dataDir string) (string, error) {
	path := filepath.Join(dataDir, InfoFile)
	if b, err := os.ReadFile(path); err == nil {
		var info Info
		if json.Unmarshal(b, &info) == nil && info.AdminToken != "" {
			return info.AdminToken, nil
		}
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func writeInfo(dataDir string, info Info) error {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dataDir, InfoFile), append(b, '\n'), 0o600)
}

// storageAccounts tells the blob service which accounts exist and their keys.
// The accounts are the storage accounts in the store, plus the development
// account when it is enabled.
type storageAccounts struct {
	st  *store.Store
	sub string // the subscription, for accounts' ARM ids
	dev bool   // serve devstoreaccount1 (UseDevelopmentStorage=true)
}

func (a storageAccounts) Account(ctx context.Context, name string) (blob.Account, error) {
	if a.dev && name == blob.DevelopmentAccountName {
		return blob.DevelopmentAccount(), nil
	}
	access, err := a.st.FindStorageAccountAccess(ctx, name)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return blob.Account{}, fmt.Errorf("storage account %q: %w", name, blob.ErrAccountNotFound)
	} else if err != nil {
		return blob.Account{}, err
	}
	acct := blob.Account{Name: name, SKU: access.SKU, Kind: access.Kind,
		ResourceID: "/subscriptions/" + a.sub + "/resourceGroups/" + access.ResourceGroup + "/providers/Microsoft.Storage/storageAccounts/" + name}
	for _, k := range []string{access.Key1, access.Key2} {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			return blob.Account{}, fmt.Errorf("decoding the key of storage account %q: %w", name, err)
		}
		acct.Keys = append(acct.Keys, b)
	}
	return acct, nil
}

// acmeHandler is the front door's HTTP-01 handler: nil (no interface
// holding a nil pointer) without an ACME issuer.
func acmeHandler(m *certManager) http.Handler {
	if ch := m.Challenges(); ch != nil {
		return ch
	}
	return nil
}

// customDomains returns what custom host names need: the DNS verifier (nil,
// with a warning, when no resolver can be found: binding names is then
// refused) and the external IP their A records point at (--external-ip, else
// the --listen address unless it is a wildcard).
func customDomains(cfg Config, log *slog.Logger) (arm.HostNameVerifier, string) {
	ip := cfg.ExternalIP
	if ip == "" {
		if l := net.ParseIP(cfg.Listen); l != nil && !l.IsUnspecified() {
			ip = l.String()
		}
	}
	v, err := dnsverify.New(dnsverify.Config{Resolver: cfg.DNSResolver})
	if err != nil {
		log.Warn("CUSTOM DOMAINS CANNOT BE ADDED: no DNS resolver to verify them", "err", err)
		return nil, ip
	}
	return v, ip
}

// siteLookup adapts the store for the front door: both answers come from
// the store's in-memory site table, so a request does no database I/O.
type siteLookup struct{ st *store.Store }

func (s siteLookup) SiteExists(_ context.Context, name string) (bool, error) {
	_, ok := s.st.SiteRouting(name)
	return ok, nil
}

// SiteState implements frontdoor.SiteStates.
func (s siteLookup) SiteState(_ context.Context, name string) (frontdoor.SiteState, error) {
	r, ok := s.st.SiteRouting(name)
	if !ok {
		return frontdoor.SiteState{}, nil
	}
	return frontdoor.SiteState{Exists: true, HTTPSOnly: r.HTTPSOnly, Stopped: !r.Enabled,
		MinTLSVersion: r.MinTLSVersion, SCMMinTLSVersion: r.SCMMinTLSVersion, ClientAffinity: r.ClientAffinity,
		HTTP20Off: r.HTTP20Off, WebSocketsOff: r.WebSocketsOff, MinTLSCipherSuite: r.MinTLSCipherSuite, Access: r.Access, SCMAccess: r.SCMAccess, CORS: r.CORS,
		Auth: r.Auth}, nil
}

// controller adapts the coordinator to the management API's side effects.
type controller struct {
	// scopes drops a deleted app's build cache.
	scopes *retiredScopes
	homes  *homefs.Homes
	// local, if set, holds each app's local storage (localdisk.go), at
	// siteRunDir(dataDir, app).
	local   *localDisk
	builds  *buildStorage // nil without images
	dataDir string
	coord   *deploy.Coordinator
	store   *store.Store
	blobs   *blob.Service
}

// StorageAccountDeleted removes a deleted account's containers and blobs.
func (c *controller) StorageAccountDeleted(ctx context.Context, rg, name string) error {
	return c.blobs.DeleteAccountData(ctx, name)
}

// SiteConfigChanged restarts the app on its new configuration; a restart
// that fails is EUNAVAILABLE, which the management API turns into a warning
// on a write that stands.
func (c *controller) SiteConfigChanged(ctx context.Context, rg, site string) error {
	return c.coord.SiteConfigChanged(ctx, rg, site)
}

// LogsConfigChanged applies a site's logging document to its log files.
func (c *controller) LogsConfigChanged(ctx context.Context, rg, site string) error {
	return applyLogsConfig(ctx, c.store, c.coord.SiteLog(site), rg, site)
}

// applyLogsConfig sets the size quota and retention of a site's log files
// from its logging document (httpLogs.fileSystem.retentionInMb and
// retentionInDays, as az webapp log config writes them; App Service's
// defaults are 35 MB and no age limit).
func applyLogsConfig(ctx context.Context, st *store.Store, l *applog.Log, rg, site string) error {
	doc, err := st.LogsConfig(ctx, rg, site)
	if err != nil || doc == nil {
		return err
	}
	var v struct {
		HTTPLogs struct {
			FileSystem struct {
				RetentionInMb   int `json:"retentionInMb"`
				RetentionInDays int `json:"retentionInDays"`
			} `json:"fileSystem"`
		} `json:"httpLogs"`
	}
	if err := json.Unmarshal(doc, &v); err != nil {
		return nil // not ours to judge: ARM stores the document as sent
	}
	l.SetRetention(int64(v.HTTPLogs.FileSystem.RetentionInMb)<<20, v.HTTPLogs.FileSystem.RetentionInDays)
	return nil
}

func (c *controller) PlanChanged(ctx context.Context, rg, plan string) error {
	return c.coord.PlanChanged(ctx, rg, plan)
}
func (c *controller) RestartSite(ctx context.Context, rg, site string) error {
	return c.coord.RestartSite(ctx, rg, site)
}
func (c *controller) StopSite(ctx context.Context, rg, site string) error {
	return c.coord.StopSite(ctx, rg, site)
}
func (c *controller) StartSite(ctx context.Context, rg, site string) error {
	return c.coord.StartSite(ctx, rg, site)
}
func (c *controller) SiteDeleted(ctx context.Context, rg, site string) error {
	if c.homes != nil {
		// Stop the instances, then release the home's image, then remove
		// the site's files (the mount point among them).
		if err := c.coord.StopSite(ctx, rg, site); err != nil {
			return err
		}
		if err := c.homes.Remove(ctx, strings.ToLower(site), c.coord.SiteHome(site)); err != nil {
			return fmt.Errorf("removing the app's home: %w", err)
		}
	}
	if c.local != nil {
		if err := c.local.remove(ctx, site, siteRunDir(c.dataDir, site)); err != nil {
			return fmt.Errorf("removing the app's local storage: %w", err)
		}
	}
	if c.builds != nil {
		if err := c.builds.Remove(ctx, site); err != nil {
			return fmt.Errorf("removing the app's build storage: %w", err)
		}
	}
	if err := c.coord.SiteDeleted(ctx, rg, site); err != nil {
		return err
	}
	// Its builds ran in a scope of the site's name (deploy's build
	// request), which the next app of that name would inherit; but a
	// version another slot of the app runs since a swap may run an
	// environment of that scope, which stays until none does.
	if err := c.scopes.retire(ctx, site); err != nil {
		return fmt.Errorf("removing the app's build cache: %w", err)
	}
	return nil
}
func (c *controller) Instances(ctx context.Context, rg, site string) ([]arm.Instance, error) {
	return armInstances(c.coord.Instances(ctx, rg, site))
}

func (c *controller) SiteStatus(ctx context.Context, rg, site string) ([]arm.InstanceStatus, error) {
	list := c.coord.SiteStatus(ctx, rg, site)
	out := make([]arm.InstanceStatus, len(list))
	for i, st := range list {
		out[i] = arm.InstanceStatus{
			ID: st.InstanceID, Machine: st.Machine, State: st.State, Details: st.Details,
			LastError: st.LastError, LastErrorDetails: st.LastErrorDetails, LastErrorAt: st.LastErrorAt,
		}
	}
	return out, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// siteOrigin is the origin a browser has for host over HTTPS through the
// front door on port: without a port when that is HTTPS's own, 443.
func siteOrigin(host string, port int) string {
	if port == 443 {
		return "https://" + host
	}
	return "https://" + net.JoinHostPort(host, strconv.Itoa(port))
}
