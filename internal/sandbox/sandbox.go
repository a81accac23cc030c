// Package sandbox owns confinement of the processes Slipway runs for apps:
// app instances and build steps. It turns a Spec (argv, environment, the app's
// persistent home, the host paths it may read or write, extra /etc/hosts
// names, the user to run as) into an *exec.Cmd that runs the process under
// bubblewrap (bwrap) with private PID, IPC and UTS namespaces, a private /tmp,
// a read-only view of the system, the app's home mounted at /home (as App
// Service mounts its share at /home, docs/appservice.md §1) and nothing else of the
// host's file system. The network namespace is shared: apps listen on the
// loopback port the runtime gives them.
//
// It also owns the per-app system users (EnsureUser, UserName) and the layout
// and ownership of an app's home directory (PrepareHome).
//
// When bwrap is missing or disabled, Command falls back to a plain process
// with the same environment, working directory and user; the caller must say
// so loudly (see Sandbox.Available and Sandbox.Confined).
package sandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slipway-dev/slipway/internal/atomicfile"
	"github.com/slipway-dev/slipway/internal/cgroups"
)

// Spec describes one confined process.
type Spec struct {
	// Argv is the command and its arguments; Argv[0] is looked up in the PATH
	// of Env when it has no slash.
	Argv []string
	// Env is the complete environment ("K=V"). Nothing of Slipway's own
	// environment is inherited.
	Env []string
	// Dir is the working directory as seen by the process ("" = / when
	// confined, the server's working directory otherwise).
	Dir string
	// Home is the app's persistent home on the host; when confined it is
	// mounted read-write at /home. "" mounts nothing at /home.
	Home string
	// ReadOnly are host paths bound read-only at the same path (artifact dir,
	// cached venv, interpreter prefix such as /root/.pyenv/versions/3.12.1,
	// the default site ...).
	ReadOnly []string
	// ReadWrite are host paths bound read-write at the same path (rare, e.g.
	// a build's output directory).
	ReadWrite []string
	// Hosts are extra /etc/hosts entries, name → IP address (platform names →
	// 127.0.0.1).
	Hosts map[string]string
	// Hostname is the sandbox's host name (its own UTS namespace), which
	// /etc/hosts gives 127.0.0.1, as a container's is its own; "" is
	// defaultHostname. The host's name never reaches a sandbox.
	Hostname string
	// Binds are host directories bound at another path, e.g. an instance's
	// private copy of its environment at the path the environment was built
	// for (venvs hard-code their own path).
	Binds []Bind
	// Links are symbolic links made in the sandbox's own tree, path →
	// target (e.g. /opt/python/3 → the app's Python, as App Service's
	// Python image lays it out). A path inside a bound host directory is
	// refused: the link would be made on the host.
	Links map[string]string
	// NetNS, if set, is a network namespace file (/run/netns/<name>) the
	// process runs in: its own loopback and ports (package netns).
	// Confined processes without one share the host's network.
	NetNS string
	// CgroupProcs are cgroup.procs files (package cgroups) the process joins
	// before it execs anything of the app, so that every process it starts
	// is inside the limits from its first instruction.
	CgroupProcs []string
	// PIDNamespace, if set, is another sandbox's PID namespace (from
	// PIDNamespace) that the process joins instead of having its own: it
	// sees that sandbox's processes and they see it, and it ends with that
	// sandbox's init. An SSH session inside a running instance is one
	// (App Service's SSH is into the app's container). Needs confinement.
	PIDNamespace *os.File
	// UID and GID to run as; 0 and 0 means "don't change".
	UID, GID int
	// Stdin is the process's input; nil is none (/dev/null). An *os.File
	// (a terminal) is passed as it is.
	Stdin io.Reader
	// Stdout and Stderr receive the process output; nil discards it.
	Stdout, Stderr io.Writer
}

// Bind mounts the host directory Src at Dst inside the sandbox.
type Bind struct {
	Src, Dst string
	ReadOnly bool
}

// Config configures a Sandbox.
type Config struct {
	// Disabled turns confinement off: Command runs plain processes.
	Disabled bool
	// BwrapPath is the bubblewrap binary; "" looks "bwrap" up in PATH and
	// then tries /usr/bin/bwrap.
	BwrapPath string
	// Logger receives debug records (the bwrap argv); nil discards them.
	Logger *slog.Logger
	// StateDir holds generated files (hosts files). Required unless Disabled.
	StateDir string
}

// Sandbox builds confined commands. It is safe for concurrent use.
type Sandbox struct {
	cfg     Config
	bwrap   string // "" when not found
	setpriv string // "" when not found
	nsenter string // "" when not found
	logger  *slog.Logger

	probeOnce   sync.Once
	probeOK     bool
	probeReason string
}

// New returns a Sandbox. A missing bwrap is not an error: Available reports
// it and Command falls back to plain processes.
//
// New marks every descriptor of the process from 3 up close-on-exec. What
// the server inherited open across exec (from the shell or supervisor that
// started it) would otherwise reach every process it starts, and so every
// app's instances: one descriptor shared by tenants. Descriptors given to
// a command on purpose (exec.Cmd.ExtraFiles) are unaffected.
func New(cfg Config) (*Sandbox, error) {
	s := &Sandbox{cfg: cfg, logger: cfg.Logger}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if err := closeInheritedOnExec(); err != nil {
		return nil, fmt.Errorf("creating sandbox: %w", err)
	}
	if cfg.Disabled {
		return s, nil
	}
	if cfg.StateDir == "" || !filepath.IsAbs(cfg.StateDir) {
		return nil, fmt.Errorf("creating sandbox: state dir %q must be an absolute path", cfg.StateDir)
	}
	if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating sandbox: %w", err)
	}
	s.bwrap = cfg.BwrapPath
	if s.bwrap == "" {
		if p, err := exec.LookPath("bwrap"); err == nil {
			s.bwrap = p
		} else if isExecutable("/usr/bin/bwrap") {
			s.bwrap = "/usr/bin/bwrap"
		}
	}
	if s.bwrap != "" {
		abs, err := filepath.Abs(s.bwrap)
		if err != nil {
			return nil, fmt.Errorf("creating sandbox: %w", err)
		}
		s.bwrap = abs
	}
	// setpriv (util-linux) drops to the app user inside the sandbox; it must
	// live under /usr, which every sandbox sees.
	for _, p := range []string{"/usr/bin/setpriv", "/usr/sbin/setpriv"} {
		if isExecutable(p) {
			s.setpriv = p
			break
		}
	}
	for _, p := range []string{"/usr/bin/nsenter", "/usr/sbin/nsenter", "/bin/nsenter"} {
		if isExecutable(p) {
			s.nsenter = p
			break
		}
	}
	return s, nil
}

// closeInheritedOnExec marks the process's descriptors from 3 up
// close-on-exec (see New).
func closeInheritedOnExec() error {
	if unix.CloseRange(3, uint(^uint32(0)), unix.CLOSE_RANGE_CLOEXEC) == nil {
		return nil
	}
	// Kernels before 5.11: one by one.
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("listing the server's descriptors: %w", err)
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd >= 3 {
			syscall.CloseOnExec(fd)
		}
	}
	return nil
}

// Available reports whether bwrap is present and works here, with the reason
// when it does not. The probe runs once, the first time it is needed.
func (s *Sandbox) Available() (ok bool, reason string) {
	s.probeOnce.Do(s.probe)
	return s.probeOK, s.probeReason
}

// Confined reports whether Command confines processes (not disabled and bwrap
// available).
func (s *Sandbox) Confined() bool {
	ok, _ := s.Available()
	return ok
}

// HomeMount returns the path at which a process sees the given home: /home
// when confined, the host path itself otherwise. Callers use it for HOME and
// for paths under the home in Argv, Env and Dir.
func (s *Sandbox) HomeMount(home string) string {
	if s.Confined() {
		return "/home"
	}
	return home
}

// InHome returns the path at which a process sees p, a host path under the
// given home (HomeMount): /home/<rest> when confined, p itself otherwise.
func (s *Sandbox) InHome(home, p string) string {
	rel, err := filepath.Rel(home, p)
	if err != nil {
		return p
	}
	return filepath.Join(s.HomeMount(home), rel)
}

func (s *Sandbox) probe() {
	switch {
	case s.cfg.Disabled:
		s.probeReason = "sandbox disabled by configuration"
		return
	case s.bwrap == "":
		s.probeReason = "bwrap (bubblewrap) not found; install it (apt-get install bubblewrap)"
		return
	}
	spec := Spec{Argv: []string{"/usr/bin/true"}, Env: []string{"PATH=/usr/bin:/bin"}}
	if os.Geteuid() == 0 {
		if s.setpriv == "" {
			s.probeReason = "setpriv (util-linux) not found under /usr; it is needed to run apps as their own user"
			return
		}
		spec.UID, spec.GID = 65534, 65534 // nobody: exercise the user switch too
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	args, err := s.bwrapArgs(spec)
	if err != nil {
		s.probeReason = "preparing bwrap probe: " + err.Error()
		return
	}
	cmd := exec.CommandContext(ctx, s.bwrap, args...)
	cmd.Env = spec.Env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.probeReason = fmt.Sprintf("bwrap at %s does not work here: %v: %s", s.bwrap, err, strings.TrimSpace(string(out)))
		return
	}
	s.probeOK = true
	s.probeReason = "bwrap at " + s.bwrap + " works"
}

// Command returns a command that runs spec, confined when possible (see
// Confined). The command is not started: start it with Start or Run, never
// with its own Start (see Start). It runs in a new session (so it has
// no controlling terminal and its own process group); use Signal to stop it.
// Cancelling ctx kills the whole sandbox with SIGKILL.
func (s *Sandbox) Command(ctx context.Context, spec Spec) (*exec.Cmd, error) {
	if err := validate(spec); err != nil {
		return nil, fmt.Errorf("building sandbox command: %w", err)
	}
	changeUser := spec.UID != 0 || spec.GID != 0
	if changeUser && os.Geteuid() != 0 {
		return nil, fmt.Errorf("building sandbox command: running as uid %d gid %d needs root, but Slipway runs as uid %d", spec.UID, spec.GID, os.Geteuid())
	}
	env := spec.Env
	if env == nil {
		env = []string{} // never inherit Slipway's environment
	}
	var cmd *exec.Cmd
	if s.Confined() {
		// bwrap and what wraps it run as root: they get the environment
		// less the loader's variables, which reach the app's command only
		// (bwrapArgs).
		env, _ = loaderEnv(env)
		args, err := s.bwrapArgs(spec)
		if err != nil {
			return nil, fmt.Errorf("building sandbox command: %w", err)
		}
		argv := append([]string{s.bwrap}, args...)
		if spec.NetNS != "" {
			if s.nsenter == "" {
				return nil, errors.New("building sandbox command: nsenter (util-linux) not found; it is needed to run an instance in its own network")
			}
			// nsenter execs bwrap in place: the pid stays bwrap's.
			argv = append([]string{s.nsenter, "--net=" + spec.NetNS, "--"}, argv...)
		}
		argv = cgroups.JoinArgv(spec.CgroupProcs, argv)
		s.logger.Debug("sandbox command", "argv", argv)
		cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if spec.PIDNamespace != nil {
			cmd.ExtraFiles = []*os.File{spec.PIDNamespace} // fd 3, bwrap's --pidns
		}
	} else {
		path, err := lookPath(spec.Argv[0], env)
		if err != nil {
			return nil, fmt.Errorf("building sandbox command: %w", err)
		}
		if spec.NetNS != "" || len(spec.Binds) > 0 || spec.PIDNamespace != nil {
			return nil, errors.New("building sandbox command: a private network, another sandbox's processes or bind mounts need the sandbox (bubblewrap)")
		}
		argv := cgroups.JoinArgv(spec.CgroupProcs, append([]string{path}, spec.Argv[1:]...))
		cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
		if len(spec.CgroupProcs) == 0 {
			cmd.Args[0] = spec.Argv[0]
		}
		cmd.Dir = spec.Dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
		if changeUser {
			cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(spec.UID), Gid: uint32(spec.GID), Groups: []uint32{}}
		}
	}
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = spec.Stdin, spec.Stdout, spec.Stderr
	cmd.Cancel = func() error { return s.Signal(cmd, syscall.SIGKILL) }
	// A process the command left behind that holds its output pipes (one
	// that escaped the sandbox's end, or any child of an unconfined
	// command) must not hold Wait: the pipes are closed waitDelay after
	// the command ends (or its context does).
	cmd.WaitDelay = waitDelay
	return cmd, nil
}

// waitDelay is how long Wait waits for a command's output pipes once the
// command has ended (exec.Cmd.WaitDelay).
const waitDelay = 5 * time.Second

// Signal sends sig to the processes of a started command from Command.
//
// For a confined command, SIGKILL kills the whole sandbox; any other signal
// goes to the process group inside the sandbox (the app and its children),
// not to bwrap itself, so the app can shut down gracefully (gunicorn on
// SIGTERM) while bwrap waits for it and then exits with the app's status.
// For an unconfined command the signal goes to its process group. If the
// sandbox's init is not running yet (just after Start) or is gone, the signal
// goes to bwrap's process group, which for SIGTERM means a hard stop.
// A process that is already gone is not an error.
func (s *Sandbox) Signal(cmd *exec.Cmd, sig syscall.Signal) error {
	if cmd == nil || cmd.Process == nil {
		return errors.New("signalling sandbox: command not started")
	}
	if s.Confined() && errors.Is(cmd.Process.Signal(syscall.Signal(0)), os.ErrProcessDone) {
		// Waited for: nothing of the sandbox is left (bwrap outlives what
		// it runs), and its number may be another process's already —
		// another app's sandbox. The process's own handle (its pidfd)
		// tells.
		return nil
	}
	pid := cmd.Process.Pid
	if s.bwrap != "" && s.isBwrap(pid) {
		// bwrap --new-session: the sandbox's init (a child of the outer bwrap)
		// leads a new session whose process group holds the app.
		if inner, ok := sessionLeaderChild(pid); ok {
			if err := killGroup(inner, sig); err != nil {
				return err
			}
			if sig != syscall.SIGKILL {
				return nil
			}
		}
	}
	return killGroup(pid, sig)
}

// isBwrap reports whether pid runs bwrap now (a confined command starts as
// a shell that joins its cgroups, then nsenter, each exec'ing the next).
func (s *Sandbox) isBwrap(pid int) bool {
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	return err == nil && exe == s.bwrap
}

func killGroup(pgid int, sig syscall.Signal) error {
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signalling process group %d with %v: %w", pgid, sig, err)
	}
	return nil
}

// PIDNamespace opens the PID namespace of the sandbox that cmd (from
// Command, started, confined) runs: its init's, the child of bwrap that
// leads the sandbox's session. A Spec.PIDNamespace runs another process
// in it; the caller closes the file. The init is opened through its /proc
// directory, which stays that process's even if its number is reused, and
// checked to be the child of bwrap — cmd's, not a later holder of its
// number — after the open.
func (s *Sandbox) PIDNamespace(cmd *exec.Cmd) (*os.File, error) {
	if !s.Confined() || cmd == nil || cmd.Process == nil {
		return nil, errors.New("the process runs in no sandbox")
	}
	pid := cmd.Process.Pid
	if !s.isBwrap(pid) {
		return nil, errors.New("the process does not run in its sandbox (yet or any more)")
	}
	inner, ok := sessionLeaderChild(pid)
	if !ok {
		return nil, errors.New("the sandbox has no init (it is starting or ending)")
	}
	dir, err := os.Open("/proc/" + strconv.Itoa(inner))
	if err != nil {
		return nil, fmt.Errorf("the sandbox's init has ended: %w", err)
	}
	defer dir.Close()
	fd, err := unix.Openat(int(dir.Fd()), "ns/pid", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening the sandbox's PID namespace: %w", err)
	}
	ns := os.NewFile(uintptr(fd), "pidns")
	stat, err := readAt(dir, "stat")
	if ppid, _, _, ok := parseStat(stat); err != nil || !ok || ppid != pid {
		ns.Close()
		return nil, errors.New("the sandbox's init has ended")
	}
	var own, theirs unix.Stat_t
	status, _ := readAt(dir, "status")
	if unix.Stat("/proc/self/ns/pid", &own) != nil || unix.Fstat(fd, &theirs) != nil || own.Ino == theirs.Ino || !nsInit(status) {
		// A sandbox that joined another's (Spec.PIDNamespace) has a child
		// of bwrap that leads a session too, but in that other's.
		ns.Close()
		return nil, errors.New("the sandbox has no PID namespace of its own")
	}
	// The number pid is cmd's only until cmd is waited for; then the next
	// process may take it (another app's sandbox). The process itself
	// (its pidfd) is asked after the parent check: not waited for now, it
	// was not then, so the init's parent was cmd.
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		ns.Close()
		return nil, fmt.Errorf("the sandbox has ended: %w", err)
	}
	return ns, nil
}

// nsInit reports whether the text of a /proc/<pid>/status is that of its
// PID namespace's init: pid 1 in the innermost of its NSpid.
func nsInit(status []byte) bool {
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			f := strings.Fields(rest)
			return len(f) > 1 && f[len(f)-1] == "1"
		}
	}
	return false
}

// readAt reads the file name in the directory dir.
func readAt(dir *os.File, name string) ([]byte, error) {
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 4096))
}

// sessionLeaderChild finds a child of parent that leads its own session.
func sessionLeaderChild(parent int) (int, bool) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, _, sid, ok := procStat(pid)
		if ok && ppid == parent && sid == pid {
			return pid, true
		}
	}
	return 0, false
}

// procStat reads ppid, pgrp and session of pid from /proc/<pid>/stat.
func procStat(pid int) (ppid, pgrp, sid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, 0, false
	}
	return parseStat(b)
}

// parseStat reads ppid, pgrp and session from the text of a /proc/<pid>/stat.
func parseStat(b []byte) (ppid, pgrp, sid int, ok bool) {
	// The command name (field 2) is in parentheses and may contain spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 4 {
		return 0, 0, 0, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgrp, err2 := strconv.Atoi(f[2])
	sid, err3 := strconv.Atoi(f[3])
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, 0, false
	}
	return ppid, pgrp, sid, true
}

// etcFiles are the parts of the host's /etc a Python process needs: name
// resolution, TLS roots, time zone, the dynamic linker's cache, Debian's
// alternatives symlinks, and the machine's pip configuration (a package
// mirror or a TLS root for builds: the operator's, in force for every app's
// build). Missing ones are skipped. Users and groups come from accountFiles.
var etcFiles = []string{
	"nsswitch.conf", "host.conf", "resolv.conf", "gai.conf",
	"services", "protocols", "ssl", "ca-certificates", "ca-certificates.conf", "pki",
	"localtime", "timezone", "ld.so.cache", "ld.so.conf", "ld.so.conf.d",
	"alternatives", "mime.types", "os-release", "pip.conf",
}

// sandboxProfile is the sandbox's /etc/profile, which login shells read
// (an SSH session's, `az webapp ssh`'s "source /etc/profile; exec $SHELL
// -l"). It keeps the environment the process was given — the app's
// settings, its Python first on PATH — where the host's would reset PATH.
// An interactive shell starts in the app's folder (APP_PATH) with its
// virtual environment's name in the prompt, as the lines App Service's
// startup script (Oryx's) adds to ~/.bashrc have it: `python manage.py
// migrate` works there as Microsoft's tutorials run it.
const sandboxProfile = `# Generated by Slipway for a sandboxed process: the app's environment
# (its settings, its Python first on PATH) is already set.
if [ -n "${PS1-}" ]; then
	if [ -n "${BASH_VERSION-}" ]; then
		PS1='\u@\h:\w\$ '
		if [ -n "${VIRTUAL_ENV-}" ]; then
			PS1="(${VIRTUAL_ENV##*/}) $PS1"
		fi
	fi
	if [ -n "${APP_PATH-}" ] && [ -d "$APP_PATH" ]; then
		cd "$APP_PATH" || true
	fi
fi
`

// sandboxMotd is the sandbox's /etc/motd, which `az webapp ssh` shows
// first, as App Service's containers show theirs.
const sandboxMotd = `
  Slipway: App Service on Linux, on your own machines.

  This session runs as the app: its own user, its settings, its Python,
  its home at /home (the deployed files are in /home/site/wwwroot). It
  is a sandbox of its own, beside the app's running instances.

`

// defaultHostname is a sandbox's host name when its Spec names none.
const defaultHostname = "sandbox"

// instanceMotd is /etc/motd for a session inside a running instance
// (Spec.PIDNamespace).
const instanceMotd = `
  Slipway: App Service on Linux, on your own machines.

  This session runs in one of the app's running instances, as the app:
  its own user, its settings, its Python, its processes (ps), its network
  (curl http://localhost:$PORT/), its home at /home (the deployed files
  are in /home/site/wwwroot). /tmp is the session's own. The session
  ends when the instance stops or restarts.

`

// hostEtc is the host's /etc (a test's directory in tests).
var hostEtc = "/etc"

// rootLinks are the top-level system directories; on merged-/usr systems
// they are symlinks into /usr and are recreated as symlinks.
var rootLinks = []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}

// bwrapArgs builds the bwrap argument list for spec.
func (s *Sandbox) bwrapArgs(spec Spec) ([]string, error) {
	hostname := spec.Hostname
	if hostname == "" {
		hostname = defaultHostname
	}
	hosts, err := s.hostsFile(hostname, spec.Hosts)
	if err != nil {
		return nil, err
	}
	args := []string{
		"--die-with-parent", // nothing outlives Slipway
		"--new-session",     // no controlling terminal (no TIOCSTI), own process group
	}
	motdText := sandboxMotd
	if spec.PIDNamespace != nil {
		// The namespace is the command's first extra file (Command).
		args = append(args, "--pidns", "3")
		motdText = instanceMotd
	} else {
		args = append(args, "--unshare-pid")
	}
	args = append(args, "--unshare-ipc", "--unshare-uts", "--hostname", hostname, "--ro-bind", "/usr", "/usr")
	for _, d := range rootLinks {
		fi, err := os.Lstat(d)
		if err != nil {
			continue
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(d)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", d, err)
			}
			args = append(args, "--symlink", target, d)
		} else if fi.IsDir() {
			args = append(args, "--ro-bind", d, d)
		}
	}
	passwd, group, err := s.accountFiles(spec.UID, spec.GID)
	if err != nil {
		return nil, err
	}
	args = append(args, "--perms", "0755", "--dir", "/etc")
	for _, f := range etcFiles {
		args = append(args, "--ro-bind-try", filepath.Join(hostEtc, f), "/etc/"+f)
	}
	profile, err := s.stateFile("profile", []byte(sandboxProfile))
	if err != nil {
		return nil, err
	}
	motd, err := s.stateFile("motd", []byte(motdText))
	if err != nil {
		return nil, err
	}
	args = append(args,
		"--ro-bind", profile, "/etc/profile",
		"--ro-bind", motd, "/etc/motd",
		"--ro-bind", passwd, "/etc/passwd",
		"--ro-bind", group, "/etc/group",
		"--ro-bind", hosts, "/etc/hosts",
		"--proc", "/proc",
		"--dev", "/dev",
		// POSIX semaphores and shared memory (Python's multiprocessing).
		"--perms", "1777", "--tmpfs", "/dev/shm",
		"--perms", "1777", "--tmpfs", "/tmp",
	)
	// binds are mount points whose content comes from the host: directories
	// below them exist already. Everything else is on bwrap's tmpfs root,
	// where missing parents must be created; bwrap would make them 0700,
	// which an unprivileged app user cannot traverse.
	binds := []string{"/usr"}
	if spec.Home != "" {
		args = append(args, "--bind", spec.Home, "/home")
		binds = append(binds, "/home")
	}
	type mount struct {
		src, path string
		rw        bool
	}
	var mounts []mount
	seen := map[string]bool{}
	for _, p := range spec.ReadOnly {
		p = filepath.Clean(p)
		if !seen[p] {
			seen[p] = true
			mounts = append(mounts, mount{p, p, false})
		}
	}
	for _, p := range spec.ReadWrite {
		p = filepath.Clean(p)
		if seen[p] {
			return nil, fmt.Errorf("path %s is both read-only and read-write", p)
		}
		seen[p] = true
		mounts = append(mounts, mount{p, p, true})
	}
	for _, b := range spec.Binds {
		dst := filepath.Clean(b.Dst)
		if seen[dst] {
			return nil, fmt.Errorf("path %s is mounted twice", dst)
		}
		seen[dst] = true
		mounts = append(mounts, mount{filepath.Clean(b.Src), dst, !b.ReadOnly})
	}
	sort.Slice(mounts, func(i, j int) bool { return mounts[i].path < mounts[j].path })
	created := map[string]bool{"/": true, "/etc": true, "/tmp": true, "/proc": true, "/dev": true}
	for _, m := range mounts {
		var parents []string
		for d := filepath.Dir(m.path); !created[d] && !under(d, binds); d = filepath.Dir(d) {
			parents = append(parents, d)
		}
		for i := len(parents) - 1; i >= 0; i-- {
			args = append(args, "--perms", "0755", "--dir", parents[i])
			created[parents[i]] = true
		}
		if m.rw {
			args = append(args, "--bind", m.src, m.path)
		} else {
			args = append(args, "--ro-bind", m.src, m.path)
		}
		binds = append(binds, m.path)
	}
	links := make([]string, 0, len(spec.Links))
	for p := range spec.Links {
		links = append(links, p)
	}
	sort.Strings(links)
	for _, p := range links {
		path, target := filepath.Clean(p), spec.Links[p]
		if !filepath.IsAbs(path) || under(path, binds) || created[path] || target == "" {
			return nil, fmt.Errorf("the link %s → %s cannot be made in the sandbox's own tree", p, target)
		}
		var parents []string
		for d := filepath.Dir(path); !created[d] && !under(d, binds); d = filepath.Dir(d) {
			parents = append(parents, d)
		}
		if d := filepath.Dir(path); under(d, binds) && !created[d] {
			return nil, fmt.Errorf("the link %s would be made in a host directory", p)
		}
		for i := len(parents) - 1; i >= 0; i-- {
			args = append(args, "--perms", "0755", "--dir", parents[i])
			created[parents[i]] = true
		}
		args = append(args, "--symlink", target, path)
		created[path] = true
	}
	if spec.Dir != "" {
		args = append(args, "--chdir", spec.Dir)
	}
	argv := spec.Argv
	if _, loader := loaderEnv(spec.Env); len(loader) > 0 {
		// Given back by env(1) once setpriv has dropped to the app's user.
		if strings.Contains(argv[0], "=") {
			return nil, fmt.Errorf("the command %q has '=' in its name, which env(1) would take for a variable", argv[0])
		}
		argv = append(append([]string{envPath, "--"}, loader...), argv...)
	}
	if spec.UID != 0 || spec.GID != 0 {
		if os.Geteuid() != 0 {
			return nil, fmt.Errorf("running as uid %d needs root", spec.UID)
		}
		if s.setpriv == "" {
			return nil, errors.New("setpriv (util-linux) not found under /usr; it is needed to run as another user")
		}
		// bwrap run by root keeps no capabilities by default; setpriv needs
		// these three to switch user and empty its bounding set, and then
		// keeps none: the app runs with no capabilities and no_new_privs.
		args = append(args, "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP")
		argv = append([]string{s.setpriv,
			"--reuid=" + strconv.Itoa(spec.UID), "--regid=" + strconv.Itoa(spec.GID), "--clear-groups",
			"--no-new-privs", "--bounding-set=-all", "--inh-caps=-all", "--"}, argv...)
	}
	if spec.PIDNamespace != nil {
		// bwrap leaves the --pidns descriptor open in what it runs: a
		// shell closes it first, while still root (the app's processes
		// can read a process of its user's descriptors through /proc), so
		// that setpriv and the app's command never hold the namespace.
		argv = append([]string{"/bin/sh", "-c", `exec "$@" 3<&-`, "sh"}, argv...)
	}
	return append(args, argv...), nil
}

// envPath is coreutils' env, under /usr, which every sandbox sees.
const envPath = "/usr/bin/env"

// loaderEnv splits env into what the sandbox's own programs may run with
// and the variables that change what a program loads or runs before its
// first instruction: the dynamic loader's (LD_PRELOAD, LD_LIBRARY_PATH,
// LD_AUDIT... and the rest of glibc's list of variables it drops for setuid
// programs) and those of a shell's start-up (/bin/sh may be bash). An app's
// environment is its owner's (app settings, an SSH client's variables);
// bwrap, nsenter, the cgroup join's sh and setpriv run as root with it, and
// one of these would have them run the app's code as root on the host. The
// app's own command still gets them: env(1) sets them after setpriv.
//
// Shell functions are held back too: bash imports BASH_FUNC_<name>%%
// (BASH_FUNC_<name>() in older patches) as the function <name>, also as
// /bin/sh, where one named echo or [ replaces the builtin the cgroup join's
// script runs as root. Setting names reach a build's environment as their
// owner wrote them, so such a name is the app's to choose.
func loaderEnv(env []string) (safe, loader []string) {
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "LD_") || strings.HasPrefix(name, "BASH_FUNC_") || loaderVars[name] {
			loader = append(loader, kv)
		} else {
			safe = append(safe, kv)
		}
	}
	if len(loader) == 0 {
		return env, nil
	}
	return safe, loader
}

var loaderVars = map[string]bool{
	// glibc's unsecvars.h, less LD_* (all held back) and TMPDIR (harmless
	// here, and in every app's environment).
	"GCONV_PATH": true, "GETCONF_DIR": true, "GLIBC_TUNABLES": true, "HOSTALIASES": true,
	"LOCALDOMAIN": true, "LOCPATH": true, "MALLOC_TRACE": true, "NIS_PATH": true,
	"NLSPATH": true, "RESOLV_HOST_CONF": true, "RES_OPTIONS": true, "TZDIR": true,
	// gettext's message catalogs, whose format strings replace printf's:
	// LANGUAGE finds them anywhere through "..", where NLSPATH is already
	// held back (setpriv and nsenter translate their messages).
	"LANGUAGE": true,
	// A shell's start-up, where /bin/sh is bash: files it reads, options
	// (xtrace) and the prompt they expand.
	"BASH_ENV": true, "ENV": true, "SHELLOPTS": true, "BASHOPTS": true, "PS4": true,
}

// under reports whether p is one of roots or inside one of them.
func under(p string, roots []string) bool {
	for _, r := range roots {
		if p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}

// hostsFile writes (once per distinct content) the /etc/hosts the sandbox
// sees and returns its path.
func (s *Sandbox) hostsFile(hostname string, extra map[string]string) (string, error) {
	var b strings.Builder
	b.WriteString("# Generated by Slipway for a sandboxed process.\n")
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	if _, named := extra[hostname]; !named && hostname != "localhost" {
		fmt.Fprintf(&b, "127.0.0.1\t%s\n", hostname)
	}
	names := make([]string, 0, len(extra))
	for n := range extra {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "%s\t%s\n", extra[n], n)
	}
	return s.stateFile("hosts", []byte(b.String()))
}

// stateFile writes a generated /etc file into the state directory under a
// name made of kind and a hash of its content, so that sandboxes with the
// same content share one file and a running sandbox's file never changes
// under it.
func (s *Sandbox) stateFile(kind string, content []byte) (string, error) {
	sum := sha256.Sum256(content)
	path := filepath.Join(s.cfg.StateDir, kind+"-"+hex.EncodeToString(sum[:8]))
	if existing, err := os.ReadFile(path); err == nil && bytes.Equal(existing, content) {
		return path, nil
	}
	if err := atomicfile.WriteFile(path, content, 0o644); err != nil {
		return "", fmt.Errorf("writing the sandbox's /etc/%s: %w", kind, err)
	}
	return path, nil
}

var hostNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$`)

func validate(spec Spec) error {
	if len(spec.Argv) == 0 || spec.Argv[0] == "" {
		return errors.New("empty argv")
	}
	if spec.Dir != "" && !filepath.IsAbs(spec.Dir) {
		return fmt.Errorf("working dir %q is not absolute", spec.Dir)
	}
	if spec.UID < 0 || spec.GID < 0 {
		return fmt.Errorf("invalid uid %d / gid %d", spec.UID, spec.GID)
	}
	if spec.Home != "" {
		if err := checkDir("home", spec.Home); err != nil {
			return err
		}
	}
	for _, list := range [][]string{spec.ReadOnly, spec.ReadWrite} {
		for _, p := range list {
			if !filepath.IsAbs(p) {
				return fmt.Errorf("bind path %q is not absolute", p)
			}
			c := filepath.Clean(p)
			if c == "/" || under(c, []string{"/proc", "/dev"}) {
				return fmt.Errorf("bind path %q is reserved for the sandbox", p)
			}
			if spec.Home != "" && under(c, []string{"/home"}) {
				return fmt.Errorf("bind path %q is under /home, where the app's home is mounted; keep Slipway's data outside /home", p)
			}
			if _, err := os.Stat(c); err != nil {
				return fmt.Errorf("bind path: %w", err)
			}
		}
	}
	for _, b := range spec.Binds {
		for _, p := range []string{b.Src, b.Dst} {
			if !filepath.IsAbs(p) {
				return fmt.Errorf("bind path %q is not absolute", p)
			}
		}
		c := filepath.Clean(b.Dst)
		if c == "/" || under(c, []string{"/proc", "/dev", "/home", "/usr", "/etc"}) {
			return fmt.Errorf("bind target %q is reserved for the sandbox", b.Dst)
		}
		if err := checkDir("bind source", b.Src); err != nil {
			return err
		}
	}
	if spec.PIDNamespace != nil && spec.PIDNamespace.Fd() == ^uintptr(0) {
		return errors.New("the PID namespace to join is closed")
	}
	if spec.NetNS != "" && !strings.HasPrefix(spec.NetNS, "/run/netns/") {
		return fmt.Errorf("network namespace %q is not under /run/netns", spec.NetNS)
	}
	if spec.Hostname != "" && (len(spec.Hostname) > 63 || !hostNameRE.MatchString(spec.Hostname)) {
		return fmt.Errorf("host name %q is not a valid host name", spec.Hostname)
	}
	for name, ip := range spec.Hosts {
		if !hostNameRE.MatchString(name) {
			return fmt.Errorf("hosts entry %q is not a valid host name", name)
		}
		if _, err := netip.ParseAddr(ip); err != nil {
			return fmt.Errorf("hosts entry %s: %w", name, err)
		}
	}
	return nil
}

func checkDir(what, p string) error {
	if !filepath.IsAbs(p) {
		return fmt.Errorf("%s %q is not absolute", what, p)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s %s is not a directory", what, p)
	}
	return nil
}

// lookPath resolves file like exec.LookPath, but with the PATH of env (the
// child's environment) rather than Slipway's own.
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		if isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: executable not found in the command's PATH %q", file, path)
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// Start starts cmd, a command Command returned. Use it, never cmd.Start:
// a sandbox dies with Slipway through the kernel's parent-death signal
// (bwrap's --die-with-parent, a plain process's Pdeathsig), which fires
// when the thread that forked it ends — not the process — and Go ends a
// thread whenever a goroutine locked to it returns (the Kudu file API's
// threads, which take the app's identity, end that way). Start forks from
// one thread that stays locked, and alive, as long as the process.
func Start(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	forkThread() <- func() { done <- cmd.Start() }
	return <-done
}

// Run starts cmd through Start and waits for it to end.
func Run(cmd *exec.Cmd) error {
	if err := Start(cmd); err != nil {
		return err
	}
	return cmd.Wait()
}

// forkThread returns the queue of the goroutine that starts sandboxes,
// locked to its thread for the life of the process.
var forkThread = sync.OnceValue(func() chan<- func() {
	q := make(chan func())
	go func() {
		runtime.LockOSThread() // never unlocked: this thread must not be reused or end
		for f := range q {
			f()
		}
	}()
	return q
})
