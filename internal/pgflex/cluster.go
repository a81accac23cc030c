package pgflex

// One server's cluster: its directories, its system user, and the
// PostgreSQL programs run on it (initdb and postgres in its sandbox, psql
// from the host over its socket).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/slipway-dev/slipway/internal/sandbox"
	"github.com/slipway-dev/slipway/internal/tenantproc"
)

// settings are appended to each cluster's postgresql.conf.
const settings = `
# Slipway: an Azure Database for PostgreSQL flexible server (internal/pgflex).
listen_addresses = ''
port = 5432
max_connections = 100
password_encryption = 'scram-sha-256'
ssl = off
logging_collector = on
log_directory = 'log'
log_filename = 'postgresql-%a.log'
log_truncate_on_rotation = on
log_rotation_age = 1d
log_rotation_size = 0
log_line_prefix = '%m [%p] %q%u@%d '
timezone = 'UTC'
log_timezone = 'UTC'
`

// opTimeout bounds each PostgreSQL program the manager runs.
const opTimeout = 60 * time.Second

type cluster struct {
	m        *Manager
	name     string
	dir      string // <Dir>/<name>
	vol      string // the server's storage: a file system of its own with Volumes
	data     string // PGDATA, in vol
	run      string // the socket's directory
	uid, gid int    // -1: this process's own

	proc tenantproc.Proc // the postmaster's sandbox
	db   platformSQL     // the platform's sessions, for sign-ins (platformsql.go)
}

// path is p, a path under c.dir on the host, as the cluster's processes
// see it: inside the sandbox the server's directory is /home (as an app's
// home is), so that no path above it on the host need be open to the
// cluster's user.
func (c *cluster) path(p string) string { return c.m.cfg.Sandbox.InHome(c.dir, p) }

// clusterAt is the cluster of a server, its user not yet known.
func (m *Manager) clusterAt(name string) *cluster {
	dir := filepath.Join(m.cfg.Dir, name)
	vol := filepath.Join(dir, "storage")
	c := &cluster{m: m, name: name, dir: dir, vol: vol, data: filepath.Join(vol, "data"), run: filepath.Join(dir, "run"), uid: -1, gid: -1}
	// SIGINT is PostgreSQL's fast shutdown. A cluster that rejects
	// connections (in crash recovery, e.g. with its storage full) would
	// wait for its recovery before one: it is stopped at once, and
	// recovers at its next start.
	c.proc = tenantproc.Proc{Sandbox: m.cfg.Sandbox, Graceful: syscall.SIGINT, Grace: 30 * time.Second,
		Name: "PostgreSQL server " + name, Logger: m.cfg.Logger, Urgent: c.rejecting}
	return c
}

// newCluster makes a new server's directories, owned by its user.
func (m *Manager) newCluster(ctx context.Context, name string) (*cluster, error) {
	c := m.clusterAt(name)
	if _, err := os.Lstat(c.dir); err == nil {
		return nil, fmt.Errorf("creating PostgreSQL server %q: its data directory %s exists", name, c.dir)
	}
	if err := c.resolveUser(ctx); err != nil {
		return nil, err
	}
	if err := os.Mkdir(c.dir, 0o711); err != nil {
		return nil, fmt.Errorf("creating PostgreSQL server %q: %w", name, err)
	}
	for _, d := range []string{c.vol, c.run} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, fmt.Errorf("creating PostgreSQL server %q: %w", name, err)
		}
	}
	if err := c.mount(ctx); err != nil {
		return nil, err
	}
	for _, d := range []string{c.vol, c.data, c.run} {
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("creating PostgreSQL server %q: %w", name, err)
		}
		if c.uid >= 0 {
			if err := os.Lchown(d, c.uid, c.gid); err != nil {
				return nil, fmt.Errorf("creating PostgreSQL server %q: %w", name, err)
			}
		}
	}
	return c, nil
}

// resolveUser finds (or creates) the cluster's system user.
func (c *cluster) resolveUser(ctx context.Context) error {
	if c.m.cfg.User == nil || c.uid >= 0 {
		return nil
	}
	uid, gid, err := c.m.cfg.User(ctx, c.name)
	if err != nil {
		return fmt.Errorf("PostgreSQL server %q: its system user: %w", c.name, err)
	}
	c.uid, c.gid = uid, gid
	return nil
}

// create runs initdb, starts the cluster and makes the administrator.
func (c *cluster) create(ctx context.Context, adminLogin, adminPassword string) error {
	pw, err := randomPassword()
	if err != nil {
		return err
	}
	if err := c.savePassword(pw); err != nil {
		return err
	}
	// initdb reads the platform role's password from a file its user can
	// read; the file lives for the run of initdb only.
	pwFile := filepath.Join(c.run, "initdb.pw")
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(pwFile)
	if c.uid >= 0 {
		if err := os.Lchown(pwFile, c.uid, c.gid); err != nil {
			return err
		}
	}
	if _, err := c.run1(ctx, "initdb", "-D", c.path(c.data), "-U", platformRole, "--pwfile="+c.path(pwFile),
		"-E", "UTF8", "--locale=C.UTF-8", "--locale-provider=icu", "--icu-locale=en-US",
		"--auth-local=scram-sha-256", "--auth-host=reject", "--no-instructions"); err != nil {
		return err
	}
	os.Remove(pwFile)
	if err := c.appendConf(); err != nil {
		return err
	}
	if err := c.start(ctx); err != nil {
		return err
	}
	major, _ := strconv.Atoi(c.m.version)
	attrs := "LOGIN CREATEDB"
	if major >= 16 {
		// From PostgreSQL 16, CREATEROLE no longer lets a role grant
		// itself the server-program and server-file roles; before, it
		// would make the administrator the cluster's system user.
		attrs += " CREATEROLE"
	}
	script := quietly + "CREATE ROLE azure_pg_admin NOLOGIN;\n" +
		fmt.Sprintf("CREATE ROLE %s %s IN ROLE azure_pg_admin PASSWORD %s;\n", ident(adminLogin), attrs, literal(adminPassword)) +
		"GRANT pg_read_all_settings, pg_read_all_stats, pg_stat_scan_tables, pg_signal_backend TO azure_pg_admin;\n" +
		"GRANT ALL ON DATABASE postgres TO azure_pg_admin;\n" +
		"GRANT ALL ON SCHEMA public TO azure_pg_admin;\n" +
		"REVOKE ALL ON DATABASE template1 FROM PUBLIC;\n"
	if _, err := c.psql(ctx, "postgres", script); err != nil {
		return err
	}
	return c.ensureEntra(ctx)
}

// appendConf writes the platform's settings into postgresql.conf and the
// one way in into pg_hba.conf: passwords over the socket.
func (c *cluster) appendConf() error {
	conf := filepath.Join(c.data, "postgresql.conf")
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(settings + "unix_socket_directories = " + literal(c.path(c.run)) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	hba := "# Slipway: only the socket, only passwords (SCRAM); the proxy admits clients.\nlocal all all scram-sha-256\n"
	return os.WriteFile(filepath.Join(c.data, "pg_hba.conf"), []byte(hba), 0o600)
}

// mount gives the server's storage its own file system, when the manager
// has Volumes (mounted already: nothing to do).
func (c *cluster) mount(ctx context.Context) error {
	if c.m.cfg.Volumes == nil {
		return nil
	}
	if err := c.resolveUser(ctx); err != nil {
		return err
	}
	uid, gid := c.uid, c.gid
	if uid < 0 {
		uid, gid = os.Getuid(), os.Getgid()
	}
	if _, err := c.m.cfg.Volumes.Ensure(ctx, c.name, c.vol, c.m.cfg.StorageBytes, uid, gid); err != nil {
		return fmt.Errorf("PostgreSQL server %q: its storage: %w", c.name, err)
	}
	return nil
}

// start starts the cluster's postmaster in its sandbox, if it is not
// running, and waits until it takes connections. The postmaster is the
// sandbox's main process: it ends with Slipway, and the next start of
// Slipway starts it again (Reconcile).
func (c *cluster) start(ctx context.Context) error {
	if err := c.resolveUser(ctx); err != nil {
		return err
	}
	if err := c.mount(ctx); err != nil {
		return err
	}
	if c.proc.Running() {
		return nil
	}
	c.m.mu.RLock()
	groups := c.m.groups
	c.m.mu.RUnlock()
	o := tenantproc.Options{
		Spec:    c.spec(append([]string{filepath.Join(c.m.bin, "postgres")}, "-D", c.path(c.data))),
		Timeout: opTimeout,
		Output:  filepath.Join(c.dir, "startup.log"),
		// A cluster whose storage filled up PANICs on its next WAL write
		// and cannot recover without room to write: the reserve gives it
		// that room on each start, and is taken again once it runs.
		Prepare: c.freeReserve,
		Ready: func() bool {
			if exec.Command(filepath.Join(c.m.bin, "pg_isready"), "-q", "-h", c.run, "-p", "5432", "-t", "1").Run() != nil {
				return false
			}
			if err := c.keepReserve(); err != nil {
				c.m.cfg.Logger.Warn("a PostgreSQL server's storage has no room for its reserve: when it is full it will not start again until the administrator frees space", "server", c.name, "err", err)
			}
			return true
		},
	}
	if groups != nil {
		o.Group = func() ([]string, func() error, error) { return groups(c.name) }
	}
	if err := c.proc.Start(ctx, o); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

// reserveName is the file in a server's storage (beside its data) that
// keeps room for the cluster to start once its data has filled the rest.
const reserveName = "reserve"

// reserveBytes is the reserve's size: two WAL segments and a checkpoint's
// worth, at most a quarter of the storage.
func (c *cluster) reserveBytes() int64 { return min(64<<20, c.m.cfg.StorageBytes/4) }

// freeReserve gives the reserve's room back to the cluster.
func (c *cluster) freeReserve() {
	if c.m.cfg.Volumes == nil {
		return
	}
	os.Remove(filepath.Join(c.vol, reserveName))
}

// keepReserve takes the reserve's room, with blocks allocated (a sparse
// file would keep nothing), if the storage has it.
func (c *cluster) keepReserve() error {
	if c.m.cfg.Volumes == nil {
		return nil
	}
	p := filepath.Join(c.vol, reserveName)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	err = syscall.Fallocate(int(f.Fd()), 0, 0, c.reserveBytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p)
	}
	return err
}

// stop stops the cluster (a fast shutdown: open sessions end), if it
// runs, and closes the platform's sessions on it.
func (c *cluster) stop(ctx context.Context) error {
	err := c.proc.Stop()
	c.closeSQL()
	return err
}

// rejecting reports whether the cluster answers but rejects connections.
func (c *cluster) rejecting() bool {
	var exit *exec.ExitError
	err := exec.Command(filepath.Join(c.m.bin, "pg_isready"), "-q", "-h", c.run, "-p", "5432", "-t", "2").Run()
	return errors.As(err, &exit) && exit.ExitCode() == 1
}

// isRunning reports whether the cluster's postmaster runs.
func (c *cluster) isRunning() bool { return c.proc.Running() }

// socket is the path of the cluster's socket.
func (c *cluster) socket() string { return filepath.Join(c.run, ".s.PGSQL.5432") }

// peerIsCluster checks that the process at the other end of a connection
// to the socket runs as the cluster's user. The socket's directory is the
// cluster user's: were that user ever taken, a link there to another
// server's socket would lead root (the proxy) to it.
func (c *cluster) peerIsCluster(conn *net.UnixConn) error {
	if c.uid < 0 {
		return nil
	}
	sc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var cred *syscall.Ucred
	var cerr error
	if err := sc.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return err
	}
	if cerr != nil {
		return fmt.Errorf("reading the socket's peer: %w", cerr)
	}
	if cred.Uid != uint32(c.uid) {
		return fmt.Errorf("the socket's peer runs as uid %d, not the cluster's %d", cred.Uid, c.uid)
	}
	return nil
}

// admin returns the administrator's role name: the member of
// azure_pg_admin that may log in.
func (c *cluster) admin(ctx context.Context) (string, error) {
	out, err := c.psql(ctx, "postgres", "SELECT r.rolname FROM pg_roles r JOIN pg_auth_members am ON am.member = r.oid JOIN pg_roles g ON g.oid = am.roleid WHERE g.rolname = 'azure_pg_admin' AND r.rolcanlogin ORDER BY r.oid LIMIT 1;\n")
	if err != nil {
		return "", err
	}
	name := strings.TrimSpace(out)
	if name == "" {
		return "", errors.New("the server has no administrator")
	}
	return name, nil
}

// psql runs a script as the platform's superuser on a database of the
// cluster and returns its unaligned output. The script goes on stdin,
// never on a command line another user could read.
func (c *cluster) psql(ctx context.Context, db, script string) (string, error) {
	pw, err := c.loadPassword()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.m.bin, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
		"-h", c.run, "-p", "5432", "-U", platformRole, "-d", db, "-f", "-")
	// The session's settings are the platform's whatever the cluster's
	// or a role's say: literal() relies on standard_conforming_strings
	// (off, a backslash would end a password's literal and run the rest
	// as the superuser), and names resolve in pg_catalog only, never in
	// a schema the administrator may create objects in.
	cmd.Env = []string{"PGPASSWORD=" + pw, "PGCONNECT_TIMEOUT=10", "PGAPPNAME=slipway", "LC_ALL=C.UTF-8", "PATH=/usr/bin:/bin",
		"PGOPTIONS=-c standard_conforming_strings=on -c search_path=pg_catalog"}
	cmd.Stdin = strings.NewReader(script)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("psql: %w: %s", err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// run1 runs one of PostgreSQL's programs (initdb) in the cluster's
// sandbox and waits for it.
func (c *cluster) run1(ctx context.Context, prog string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	cmd, err := c.command(ctx, prog, args...)
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := sandbox.Run(cmd); err != nil {
		return out.String(), fmt.Errorf("%s: %w: %s", prog, err, tail(out.Bytes(), 2000))
	}
	return out.String(), nil
}

// command is one of PostgreSQL's programs run in the cluster's sandbox:
// as its user, with its directory at /home and nothing else of the
// host's writable, in a network namespace of its own when confined (the
// cluster listens only on its socket, in that directory).
func (c *cluster) command(ctx context.Context, prog string, args ...string) (*exec.Cmd, error) {
	return c.commandArgv(ctx, append([]string{filepath.Join(c.m.bin, prog)}, args...))
}

// commandArgv is any program run as command runs PostgreSQL's.
func (c *cluster) commandArgv(ctx context.Context, argv []string) (*exec.Cmd, error) {
	return c.m.cfg.Sandbox.Command(ctx, c.spec(argv))
}

// spec is the sandbox of the cluster's programs.
func (c *cluster) spec(argv []string) sandbox.Spec {
	spec := sandbox.Spec{
		Argv:     argv,
		Env:      []string{"LC_ALL=C.UTF-8", "LANG=C.UTF-8", "PATH=" + c.m.bin + ":/usr/bin:/bin", "TZ=UTC", "HOME=" + c.path(c.dir)},
		Dir:      c.path(c.dir),
		Hostname: "pg-" + c.name,
	}
	if c.uid >= 0 {
		spec.UID, spec.GID = c.uid, c.gid
	}
	if c.m.cfg.Sandbox.Confined() {
		spec.Home = c.dir
	}
	return spec
}

// savePassword keeps the platform role's password, sealed when the
// manager has a seal, readable by root (or this user) only.
func (c *cluster) savePassword(pw string) error {
	b := []byte(pw)
	if c.m.cfg.Seal != nil {
		s, err := c.m.cfg.Seal(b)
		if err != nil {
			return err
		}
		b = s
	}
	return os.WriteFile(filepath.Join(c.dir, "platform.pw"), b, 0o600)
}

func (c *cluster) loadPassword() (string, error) {
	b, err := os.ReadFile(filepath.Join(c.dir, "platform.pw"))
	if err != nil {
		return "", fmt.Errorf("PostgreSQL server %q: the platform's password: %w", c.name, err)
	}
	if c.m.cfg.Open != nil {
		if b, err = c.m.cfg.Open(b); err != nil {
			return "", fmt.Errorf("PostgreSQL server %q: the platform's password: %w", c.name, err)
		}
	}
	return string(b), nil
}

// readVersion asks postgres --version for its major version.
func readVersion(postgres string) (int, error) {
	out, err := exec.Command(postgres, "--version").Output()
	if err != nil {
		return 0, fmt.Errorf("%s --version: %w", postgres, err)
	}
	m := regexp.MustCompile(`(\d+)(\.\d+)?`).FindStringSubmatch(string(out))
	if m == nil {
		return 0, fmt.Errorf("%s --version: %q names no version", postgres, out)
	}
	return strconv.Atoi(m[1])
}

// tail is the end of a program's output, for an error message.
func tail(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
