package rediscache

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/slipway-dev/slipway/internal/sandbox"
	"github.com/slipway-dev/slipway/internal/tenantproc"
)

// Config configures a Manager.
type Config struct {
	// Dir holds one directory per cache: <Dir>/<name>/redis.conf, run/
	// (the socket) and data/ (the server's working directory; nothing is
	// saved there: Basic and Standard caches keep no data on disk).
	Dir string
	// Bin is redis-server; "": from PATH, else Debian's redis-tools'
	// redis-check-rdb, the same program, which runs as the server when
	// called by that name (each cache's directory holds a link so named).
	Bin string
	// Domain is the platform's base domain: caches also answer at
	// <name>.redis.<Domain>.
	Domain string
	// Sandbox runs the servers; confined, each sees only its directory
	// (at /home). Required.
	Sandbox *sandbox.Sandbox
	// User returns the system user a cache runs as (created on demand).
	// Nil: Slipway's own user (Slipway not running as root).
	User func(ctx context.Context, cache string) (uid, gid int, err error)
	// Apps reports whether a client of the apps' listener (Proxy.Serve
	// with internal) is one of Slipway's app instances, by its address.
	// Nil: none is.
	Apps func(netip.Addr) bool
	// Outbound is the address ARM publishes as every app's outbound
	// address (outboundIpAddresses): a rule that names it admits apps, as
	// a rule naming an App Service app's outbound addresses does on Azure.
	Outbound netip.Addr
	Logger   *slog.Logger
}

// GroupFunc makes a control group for a cache's server, sized for its
// memory, and returns its cgroup.procs files and how to remove it.
type GroupFunc func(cache string, maxMemory int64) (procs []string, release func() error, err error)

// Manager runs the caches and the proxy in front of them. It is safe for
// concurrent use.
type Manager struct {
	cfg     Config
	bin     string
	version string

	caches tenantproc.Registry[*cache]

	mu     sync.RWMutex
	rules  map[string][]FirewallRule
	groups GroupFunc

	// cmdTimeout bounds each of the platform's commands to a cache.
	cmdTimeout time.Duration
	// maxClients is the connections each cache takes (Redis's maxclients).
	maxClients int
}

// ErrNotFound is returned for a cache Slipway does not run.
var ErrNotFound = errors.New("no such cache")

// cacheNameRE is Azure's rule for a cache's name: letters, digits and
// single hyphens, starting and ending with a letter or digit (lower-cased
// here, as DNS names are).
var cacheNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

func validName(name string) bool {
	return cacheNameRE.MatchString(name) && !strings.Contains(name, "--")
}

// New finds redis-server and returns a Manager for cfg.Dir. It starts
// nothing: Reconcile starts the caches that exist.
func New(cfg Config) (*Manager, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Sandbox == nil {
		return nil, errors.New("opening caches: no sandbox to run them in")
	}
	bin := cfg.Bin
	if bin == "" {
		for _, name := range []string{"redis-server", "redis-check-rdb"} {
			if p, err := exec.LookPath(name); err == nil {
				bin = p
				break
			}
		}
	}
	if bin == "" {
		return nil, errors.New("Redis is not installed: install it (apt-get install redis-tools) to serve Azure Cache for Redis")
	}
	version := exec.Command(bin, "--version")
	version.Args[0] = "redis-server"
	out, err := version.Output()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w", bin, err)
	}
	m := regexp.MustCompile(`v=([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("%s --version: %q names no version", bin, out)
	}
	if err := os.MkdirAll(cfg.Dir, 0o711); err != nil {
		return nil, fmt.Errorf("opening caches: %w", err)
	}
	return &Manager{cfg: cfg, bin: bin, version: string(m[1]), rules: map[string][]FirewallRule{},
		cmdTimeout: 10 * time.Second, maxClients: 1000}, nil
}

// Version is the Redis version the caches run, e.g. "7.0.15".
func (m *Manager) Version() string { return m.version }

// SetGroups has every cache started from now on run in a control group
// of its own. Nil: none.
func (m *Manager) SetGroups(f GroupFunc) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.groups = f
}

// Names are the caches the manager runs, sorted.
func (m *Manager) Names() []string { return m.caches.Names() }

// CreateCache makes and starts a cache of maxMemory bytes whose clients
// authenticate with either key, and returns the Redis version it runs.
func (m *Manager) CreateCache(ctx context.Context, name string, maxMemory int64, primaryKey, secondaryKey string) (string, error) {
	if !validName(name) {
		return "", fmt.Errorf("creating cache %q: not a valid cache name", name)
	}
	if maxMemory < 1<<20 {
		return "", fmt.Errorf("creating cache %q: %d bytes of memory is too little", name, maxMemory)
	}
	if err := checkKeys(primaryKey, secondaryKey); err != nil {
		return "", fmt.Errorf("creating cache %q: %w", name, err)
	}
	defer m.lock(name)()
	c := m.cacheAt(name)
	if _, err := os.Lstat(c.dir); err == nil {
		// A cache keeps nothing on disk: what is left is a crashed
		// start's, or a deleted cache's whose removal failed.
		if err := os.RemoveAll(c.dir); err != nil {
			return "", fmt.Errorf("creating cache %q: %w", name, err)
		}
	}
	c.maxMemory, c.keys = maxMemory, [2]string{primaryKey, secondaryKey}
	if err := c.start(ctx); err != nil {
		c.proc.Stop()
		os.RemoveAll(c.dir)
		return "", fmt.Errorf("creating cache %q: %w", name, err)
	}
	m.caches.Put(name, c)
	m.cfg.Logger.Info("cache created", "cache", name, "redis", m.version, "max_memory", maxMemory)
	return m.version, nil
}

// checkKeys refuses keys the configuration could not hold safely.
func checkKeys(keys ...string) error {
	for _, k := range keys {
		if len(k) < 16 || len(k) > 512 || strings.ContainsAny(k, " \t\r\n\x00") {
			return errors.New("an access key must be 16–512 characters without spaces or line breaks")
		}
	}
	return nil
}

// SetKeys replaces a cache's access keys; clients already signed in stay
// (as on Azure), new ones need a new key.
func (m *Manager) SetKeys(ctx context.Context, name, primaryKey, secondaryKey string) error {
	if err := checkKeys(primaryKey, secondaryKey); err != nil {
		return fmt.Errorf("changing the keys of cache %q: %w", name, err)
	}
	defer m.lock(name)()
	c, err := m.known(name)
	if err != nil {
		return err
	}
	c.keys = [2]string{primaryKey, secondaryKey}
	if err := c.writeConf(); err != nil {
		return err
	}
	setuser := []string{"ACL", "SETUSER", "default", "resetpass", "#" + hash(primaryKey), "#" + hash(secondaryKey)}
	_, err = c.command(ctx, setuser...)
	if err != nil && strings.HasPrefix(err.Error(), "BUSY") {
		// A client's script holds the server: ended (if it has written
		// nothing), the change goes through.
		c.command(ctx, "SCRIPT", "KILL")
		c.command(ctx, "FUNCTION", "KILL")
		_, err = c.command(ctx, setuser...)
	}
	if err != nil {
		// The server does not take the change (a client paused it, or
		// runs a script that cannot be killed): a client holding a
		// leaked key must not keep it valid, so the server starts again
		// with the new keys (empty, as after any restart of a Basic or
		// Standard cache).
		m.cfg.Logger.Warn("cache restarted to change its keys", "cache", name, "reason", err)
		if serr := c.proc.Stop(); serr != nil {
			return fmt.Errorf("changing the keys of cache %q: %w", name, errors.Join(err, serr))
		}
		if serr := c.start(ctx); serr != nil {
			return fmt.Errorf("changing the keys of cache %q: restarting it: %w", name, serr)
		}
	}
	return nil
}

// DeleteCache stops a cache and removes it. None: nil.
func (m *Manager) DeleteCache(ctx context.Context, name string) error {
	if !validName(name) {
		return nil
	}
	defer m.lock(name)()
	c, ok := m.caches.Delete(name)
	m.mu.Lock()
	delete(m.rules, name)
	m.mu.Unlock()
	if ok {
		if err := c.proc.Stop(); err != nil {
			return fmt.Errorf("deleting cache %q: %w", name, err)
		}
	} else {
		c = m.cacheAt(name)
	}
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("deleting cache %q: %w", name, err)
	}
	m.cfg.Logger.Info("cache deleted", "cache", name)
	return nil
}

// SetFirewallRules replaces a cache's firewall rules.
func (m *Manager) SetFirewallRules(name string, rules []FirewallRule) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rules[name] = append([]FirewallRule(nil), rules...)
}

// allowed reports whether a client may reach a cache: any, without rules.
// An app (internal, at an instance's address) is also admitted by a rule
// that names the apps' published outbound address.
func (m *Manager) allowed(name string, client netip.Addr, internal bool) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	rules := m.rules[name]
	if len(rules) == 0 {
		return true
	}
	app := internal && m.cfg.Apps != nil && m.cfg.Apps(client.Unmap()) && m.cfg.Outbound.IsValid()
	for _, r := range rules {
		if r.Contains(client) || app && r.Contains(m.cfg.Outbound) {
			return true
		}
	}
	return false
}

// Reconciled is a cache as the platform's records know it.
type Reconciled struct {
	Name                     string
	MaxMemory                int64
	PrimaryKey, SecondaryKey string
	Rules                    []FirewallRule
}

// Reconcile starts the recorded caches after Slipway starts (empty: a
// Basic or Standard cache keeps no data across a restart of its server).
func (m *Manager) Reconcile(ctx context.Context, caches []Reconciled) error {
	var errs []error
	for _, r := range caches {
		m.SetFirewallRules(r.Name, r.Rules)
		if _, err := m.CreateCache(ctx, r.Name, r.MaxMemory, r.PrimaryKey, r.SecondaryKey); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close stops every cache.
func (m *Manager) Close() error {
	var errs []error
	for _, c := range m.caches.All() {
		errs = append(errs, c.proc.Stop())
	}
	return errors.Join(errs...)
}

func (m *Manager) lock(name string) func() { return m.caches.Lock(name) }

func (m *Manager) known(name string) (*cache, error) {
	c, ok := m.caches.Get(name)
	if !ok {
		return nil, fmt.Errorf("cache %q: %w", name, ErrNotFound)
	}
	return c, nil
}

// cache is one cache's server.
type cache struct {
	m         *Manager
	name      string
	dir       string // <Dir>/<name>, /home in the sandbox
	run, data string
	maxMemory int64
	keys      [2]string
	platform  string // the platform user's password, made at each start
	uid, gid  int
	proc      tenantproc.Proc
}

func (m *Manager) cacheAt(name string) *cache {
	dir := filepath.Join(m.cfg.Dir, name)
	return &cache{m: m, name: name, dir: dir, run: filepath.Join(dir, "run"), data: filepath.Join(dir, "data"), uid: -1, gid: -1,
		proc: tenantproc.Proc{Sandbox: m.cfg.Sandbox, Graceful: syscall.SIGTERM, Grace: 2 * time.Second, Name: "cache " + name, Logger: m.cfg.Logger}}
}

// in is a path under c.dir as the server sees it.
func (c *cache) in(p string) string { return c.m.cfg.Sandbox.InHome(c.dir, p) }

func (c *cache) socket() string { return filepath.Join(c.run, "redis.sock") }

// start lays out the cache's directory and starts its server.
func (c *cache) start(ctx context.Context) error {
	if c.m.cfg.User != nil && c.uid < 0 {
		uid, gid, err := c.m.cfg.User(ctx, c.name)
		if err != nil {
			return fmt.Errorf("its system user: %w", err)
		}
		c.uid, c.gid = uid, gid
	}
	if err := os.MkdirAll(c.dir, 0o711); err != nil {
		return err
	}
	for _, d := range []string{c.run, c.data} {
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		if c.uid >= 0 {
			if err := os.Lchown(d, c.uid, c.gid); err != nil {
				return err
			}
		}
	}
	pw := make([]byte, 32)
	if _, err := rand.Read(pw); err != nil {
		return err
	}
	c.platform = hex.EncodeToString(pw)
	if err := c.writeConf(); err != nil {
		return err
	}
	// The server runs as <dir>/redis-server, a link to the program: it
	// picks its part by the name it is called by.
	link := filepath.Join(c.dir, "redis-server")
	os.Remove(link)
	if err := os.Symlink(c.m.bin, link); err != nil {
		return err
	}
	spec := sandbox.Spec{
		Argv:     []string{c.in(link), c.in(filepath.Join(c.dir, "redis.conf"))},
		Env:      []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "HOME=" + c.in(c.dir)},
		Dir:      c.in(c.dir),
		Hostname: "redis-" + c.name,
	}
	if c.uid >= 0 {
		spec.UID, spec.GID = c.uid, c.gid
	}
	if c.m.cfg.Sandbox.Confined() {
		spec.Home = c.dir
	}
	c.m.mu.RLock()
	groups := c.m.groups
	c.m.mu.RUnlock()
	opts := tenantproc.Options{Spec: spec, Timeout: 30 * time.Second, Output: filepath.Join(c.dir, "server.log"),
		Ready: func() bool { _, err := c.command(ctx, "PING"); return err == nil }}
	if groups != nil {
		opts.Group = func() ([]string, func() error, error) { return groups(c.name, c.maxMemory) }
	}
	return c.proc.Start(ctx, opts)
}

// deniedCommands are the commands Azure Cache for Redis does not offer its
// tenants (https://learn.microsoft.com/azure/azure-cache-for-redis/cache-configure#redis-commands-not-supported-in-azure-cache-for-redis),
// with ACL (a client could grant itself the rest) and MONITOR (it would
// show the platform's own commands): CONFIG and SAVE together write files
// where a client says, as the cache's user.
var deniedCommands = []string{"config", "module", "debug", "shutdown", "replicaof", "slaveof", "migrate", "save", "bgsave",
	"bgrewriteaof", "sync", "psync", "replconf", "failover", "acl", "monitor", "cluster",
	// A client exempt from eviction would escape the bound on clients'
	// memory (writeConf).
	"client|no-evict",
	// HyperLogLog's debugging commands (@admin): no client needs them,
	// and they reach into the encoding's internals.
	"pfdebug", "pfselftest"}

// writeConf writes redis.conf: the socket only, no persistence, the
// cache's memory, and its users — the tenant's (either key, as SHA-256
// hashes: no key on disk) and the platform's.
func (c *cache) writeConf() error {
	deny := ""
	for _, d := range deniedCommands {
		deny += " -" + d
	}
	// Clients' buffers (replies a client has not read, commands it has
	// not finished sending) are bounded in all, and each: by default a
	// normal client's replies are not, and a client that never reads
	// would grow the server past its control group.
	clients := strconv.FormatInt(clientMemory(c.maxMemory), 10)
	conf := strings.Join([]string{
		"# Slipway: an Azure Cache for Redis (internal/rediscache). Made at each start.",
		"port 0",
		"unixsocket " + c.in(c.socket()),
		"unixsocketperm 700",
		"daemonize no",
		"dir " + c.in(c.data),
		`save ""`,
		"appendonly no",
		"maxmemory " + strconv.FormatInt(c.maxMemory, 10),
		"maxmemory-policy volatile-lru",
		"maxclients " + strconv.Itoa(c.m.maxClients),
		"maxmemory-clients " + clients,
		"client-output-buffer-limit normal " + clients + " 0 0",
		"client-query-buffer-limit " + clients,
		"protected-mode no",
		"enable-protected-configs no",
		"enable-debug-command no",
		"enable-module-command no",
		`logfile ""`,
		"user default on #" + hash(c.keys[0]) + " #" + hash(c.keys[1]) + " ~* &* +@all" + deny,
		"user slipway on #" + hash(c.platform) + " ~* &* +@all",
		"",
	}, "\n")
	p := filepath.Join(c.dir, "redis.conf")
	tmp := p + ".new"
	if err := os.WriteFile(tmp, []byte(conf), 0o600); err != nil {
		return err
	}
	if c.uid >= 0 {
		if err := os.Lchown(tmp, c.uid, c.gid); err != nil {
			return err
		}
	}
	return os.Rename(tmp, p)
}

// clientMemory is what a cache's clients may hold in buffers, all
// together and each: an eighth of its memory and 16 MB, within the room
// its control group leaves past its memory (a quarter and 64 MB).
func clientMemory(maxMemory int64) int64 { return maxMemory/8 + 16<<20 }

// hash is the SHA-256 of a password in hex, as Redis ACLs take it.
func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// command runs one command as the platform's user over the socket and
// returns its reply's first line.
func (c *cache) command(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.m.cmdTimeout)
	defer cancel()
	conn, err := c.dial(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if _, err := conn.Write(append(resp("AUTH", "slipway", c.platform), resp(args...)...)); err != nil {
		return "", err
	}
	buf := make([]byte, 4096)
	var got []byte
	for strings.Count(string(got), "\r\n") < 2 {
		n, err := conn.Read(buf)
		if err != nil {
			return "", fmt.Errorf("reading the reply: %w", err)
		}
		got = append(got, buf[:n]...)
	}
	lines := strings.SplitN(string(got), "\r\n", 3)
	if !strings.HasPrefix(lines[0], "+OK") {
		return "", fmt.Errorf("the platform's sign-in: %s", lines[0])
	}
	if strings.HasPrefix(lines[1], "-") {
		return "", errors.New(lines[1][1:])
	}
	return lines[1], nil
}

// dial connects to the cache's socket. The cache's user owns the socket's
// directory: with code running as that user (a flaw in Redis) it could
// put a link there to any socket on the host, which connect follows, so
// the peer must be a process of the cache's user.
func (c *cache) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.socket())
	if err != nil || c.uid < 0 {
		return conn, err
	}
	uid := -1
	if raw, err := conn.(*net.UnixConn).SyscallConn(); err == nil {
		raw.Control(func(fd uintptr) {
			if cred, err := syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED); err == nil {
				uid = int(cred.Uid)
			}
		})
	}
	if uid != c.uid {
		conn.Close()
		c.m.cfg.Logger.Warn("a cache's socket leads to another user's process", "cache", c.name, "uid", uid)
		return nil, fmt.Errorf("the socket of cache %q leads to a process of user %d, not the cache's", c.name, uid)
	}
	return conn, nil
}

// resp encodes a command as a RESP array of bulk strings.
func resp(args ...string) []byte {
	b := []byte("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b = append(b, "$"+strconv.Itoa(len(a))+"\r\n"+a+"\r\n"...)
	}
	return b
}
