// Package server is Slipway's composition root: it reads the server's
// configuration, opens the state, wires every part (store, builder,
// sandbox, runtime, deployment coordinator, Kudu and management APIs, front
// door) and runs them until its context ends. Nothing else knows every part.
package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/applog"
	"github.com/slipway-dev/slipway/internal/arm"
	"github.com/slipway-dev/slipway/internal/atomicfile"
	"github.com/slipway-dev/slipway/internal/blob"
	"github.com/slipway-dev/slipway/internal/build"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/frontdoor"
	"github.com/slipway-dev/slipway/internal/runtime"
	"github.com/slipway-dev/slipway/internal/sandbox"
	"github.com/slipway-dev/slipway/internal/scm"
	"github.com/slipway-dev/slipway/internal/store"
)

// Config is the server's configuration.
type Config struct {
	DataDir     string   // --data / SLIPWAY_DATA; default $HOME/.slipway
	Domain      string   // --domain / SLIPWAY_DOMAIN; default "localhost"
	HTTPPort    int      // --http-port / SLIPWAY_HTTP_PORT; default 8080; 0 picks a free port
	Listen      string   // --listen / SLIPWAY_LISTEN; default 127.0.0.1
	NoSandbox   bool     // --no-sandbox / SLIPWAY_NO_SANDBOX: run apps unconfined
	CacheDir    string   // --cache-dir / SLIPWAY_CACHE_DIR: build cache (Python environments, pip downloads); default <data>/cache
	BlobPort    int      // --blob-port / SLIPWAY_BLOB_PORT: path-style Blob endpoint, as Azurite's; default 10000; 0 picks a free port
	DevStorage  bool     // --dev-storage / SLIPWAY_DEV_STORAGE: serve the well-known development account devstoreaccount1
	PythonRoots []string // where to look for interpreters; default pyenv versions and /usr/bin, /usr/local/bin
	Logger      *slog.Logger
	// Ready, if set, is called once the server listens, with its base URL.
	Ready func(info Info)
	// StopGrace and DrainDelay tune instance replacement (tests shorten them).
	StopGrace  time.Duration
	DrainDelay time.Duration
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
	blobPort := 10000
	if v := getenv("SLIPWAY_BLOB_PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil {
			return cfg, fmt.Errorf("SLIPWAY_BLOB_PORT=%q is not a port number", v)
		}
		blobPort = p
	}
	fs.IntVar(&cfg.BlobPort, "blob-port", blobPort, "port of the path-style Blob endpoint http://127.0.0.1:<port>/<account> (env SLIPWAY_BLOB_PORT)")
	devStorage := getenv("SLIPWAY_DEV_STORAGE") == "1" || strings.EqualFold(getenv("SLIPWAY_DEV_STORAGE"), "true")
	fs.BoolVar(&cfg.DevStorage, "dev-storage", devStorage, "serve the development storage account devstoreaccount1 with its published key, for UseDevelopmentStorage=true (env SLIPWAY_DEV_STORAGE)")
	fs.StringVar(&cfg.CacheDir, "cache-dir", getenv("SLIPWAY_CACHE_DIR"), "build cache directory, shareable between servers (env SLIPWAY_CACHE_DIR; default <data>/cache)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
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
	bcfg := build.Config{CacheDir: cacheDir, Interpreters: interps, Logger: log}
	if sandboxed && os.Geteuid() == 0 {
		// Builds run the app's own code (setup.py, settings imported by
		// collectstatic, PRE/POST_BUILD_COMMAND): confine them too, as an
		// unprivileged build user that sees only the build's directories.
		uid, gid, err := sandbox.EnsureUser(ctx, buildUser)
		if err != nil {
			return fmt.Errorf("creating the build user: %w", err)
		}
		bcfg.Owner = &build.Owner{UID: uid, GID: gid}
		bcfg.Runner = &buildRunner{sb: sb, uid: uid, gid: gid, cacheDir: cacheDir, interps: interps}
	}
	builder, err := build.New(bcfg)
	if err != nil {
		return err
	}
	launcher := &launcher{sb: sb}

	logs := applog.NewHub(applog.Config{Machine: "slipway0"})
	rtm := runtime.New(runtime.Config{Launcher: launcher, Logger: log, StopGrace: cfg.StopGrace, DrainDelay: cfg.DrainDelay})
	closers = append(closers, rtm.Close)

	def, err := prepareDefaultSite(ctx, builder, filepath.Join(dataDir, "platform"), interps)
	if err != nil {
		return fmt.Errorf("preparing the default site: %w", err)
	}
	pl := &planner{
		domain: cfg.Domain, subscription: sub,
		sandboxed: sandboxed, asRoot: os.Geteuid() == 0, def: def, dataDir: dataDir,
		users: map[string][2]int{},
	}
	coord := deploy.New(deploy.Config{
		Store: st, Builder: builder, Runtime: rtm, Planner: pl, Launcher: launcher,
		Logs: logs, DataDir: dataDir, Default: def, Logger: log,
	})
	pl.home = coord.SiteHome
	closers = append(closers, coord.Close)
	if err := coord.Recover(ctx); err != nil {
		return fmt.Errorf("recovering from the last stop: %w", err)
	}
	// Instances' ephemeral app copies do not outlive a server (one killed
	// with -9 leaves them behind).
	if stale, _ := filepath.Glob(filepath.Join(dataDir, "sites", "*", "run")); len(stale) > 0 {
		for _, d := range stale {
			os.RemoveAll(d)
		}
	}

	blobs, err := blob.Open(ctx, blob.Config{
		Dir: filepath.Join(dataDir, "blob"), Accounts: storageAccounts{st: st, dev: cfg.DevStorage}, Logger: log, BaseDomain: cfg.Domain,
	})
	if err != nil {
		return fmt.Errorf("opening the blob service: %w", err)
	}
	closers = append(closers, blobs.Close)
	blobLn, err := net.Listen("tcp", net.JoinHostPort(cfg.Listen, strconv.Itoa(cfg.BlobPort)))
	if err != nil {
		return fmt.Errorf("listening on blob port %d: %w (choose another with --blob-port)", cfg.BlobPort, err)
	}
	closers = append(closers, func() error { blobLn.Close(); return nil })
	blobURL := "http://" + net.JoinHostPort(cfg.Listen, strconv.Itoa(blobLn.Addr().(*net.TCPAddr).Port))

	token, err := adminToken(dataDir)
	if err != nil {
		return err
	}
	versions := pythonMinorVersions(interps)
	mgmt := arm.New(arm.Config{
		Store: st, Controller: &controller{coord: coord, store: st, blobs: blobs}, Domain: cfg.Domain, HostSuffix: hostSuffix,
		Scheme: "http", PythonVersions: versions, Logger: log,
		BlobEndpoint: func(account string) string { return blobURL + "/" + account + "/" },
		Authorize: func(r *http.Request) error {
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(token)) != 1 {
				return slipway.Errorf(slipway.EUNAUTHORIZED, "Authentication failed: send the admin token from %s as a Bearer token.", filepath.Join(dataDir, InfoFile))
			}
			return nil
		},
	})
	kudu := scm.New(scm.Config{
		Store: st, Deployer: coord, AdminToken: token, Logger: log,
		SiteOf: func(r *http.Request) string { return frontdoor.SiteFromContext(r.Context()) },
	})
	fd := frontdoor.New(frontdoor.Config{
		Domain: cfg.Domain, Backends: rtm, Sites: siteLookup{st}, SCM: kudu, Management: mgmt, Logger: log,
		Extra: map[string]http.Handler{"blob": blobs},
	})

	srv := &http.Server{Handler: fd, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	blobSrv := &http.Server{Handler: blobs, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.Serve(ln) }()
	go func() { serveErr <- blobSrv.Serve(blobLn) }()

	info := Info{
		URL: "http://" + net.JoinHostPort(cfg.Listen, strconv.Itoa(port)), Domain: cfg.Domain, HTTPPort: port, BlobURL: blobURL,
		SubscriptionID: sub, TenantID: tenant, AdminToken: token,
	}
	if err := writeInfo(dataDir, info); err != nil {
		srv.Close()
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
	srv.Shutdown(shutdownCtx)
	blobSrv.Shutdown(shutdownCtx)
	if serveFailed != nil {
		return serveFailed
	}
	log.Info("slipway server stopped")
	return nil
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
	dev bool // serve devstoreaccount1 (UseDevelopmentStorage=true)
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
	acct := blob.Account{Name: name, SKU: access.SKU, Kind: access.Kind}
	for _, k := range []string{access.Key1, access.Key2} {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			return blob.Account{}, fmt.Errorf("decoding the key of storage account %q: %w", name, err)
		}
		acct.Keys = append(acct.Keys, b)
	}
	return acct, nil
}

// siteLookup adapts the store for the front door.
type siteLookup struct{ st *store.Store }

func (s siteLookup) SiteExists(ctx context.Context, name string) (bool, error) {
	_, err := s.st.FindSite(ctx, name)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return false, nil
	}
	return err == nil, err
}

// controller adapts the coordinator to the management API's side effects.
type controller struct {
	coord *deploy.Coordinator
	store *store.Store
	blobs *blob.Service
}

// StorageAccountDeleted removes a deleted account's containers and blobs.
func (c *controller) StorageAccountDeleted(ctx context.Context, rg, name string) error {
	return c.blobs.DeleteAccountData(ctx, name)
}

func (c *controller) SiteConfigChanged(ctx context.Context, rg, site string) error {
	return c.coord.SiteConfigChanged(ctx, rg, site)
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
	return c.coord.SiteDeleted(ctx, rg, site)
}
func (c *controller) Instances(ctx context.Context, rg, site string) ([]string, error) {
	return c.coord.Instances(ctx, rg, site)
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
