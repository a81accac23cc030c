// Package cgroups owns the kernel resource limits of the processes Slipway
// runs for apps: one control group per app instance (and per build), with a
// memory limit (swap included), a CPU bandwidth quota and a task limit, the
// way App Service gives each worker the cores and memory of its instance size
// (https://learn.microsoft.com/azure/app-service/overview-hosting-plans).
//
// It drives cgroup v1 (one hierarchy per controller: memory, cpu, pids) and
// cgroup v2 (one unified hierarchy) behind one API, detecting which one is
// mounted when a Manager is opened. It only writes files: processes join a
// group by writing their own pid into the group's cgroup.procs files before
// they exec the app (see JoinArgv), so that the app never runs outside it.
//
// Every path is built from the configured root and validated name
// components, and every file is opened through an os.Root on that root, so
// nothing outside it is ever written.
package cgroups

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Limits for one group. Zero means "no limit" for that resource.
type Limits struct {
	// MemoryBytes is the hard memory limit. Swap is not allowed beyond it:
	// memory+swap is limited to MemoryBytes (v1 memory.memsw.limit_in_bytes,
	// v2 memory.swap.max 0) where the kernel accounts swap.
	MemoryBytes int64
	// CPUs is the CPU bandwidth in cores (v1 cfs_quota_us/cfs_period_us,
	// v2 cpu.max).
	CPUs float64
	// Pids is the most tasks (processes and threads) the group may hold.
	Pids int64
}

// Config configures a Manager.
type Config struct {
	// Root is the cgroup mount root; default "/sys/fs/cgroup". On v1 it
	// holds one mount per controller (memory/, cpu/, pids/); on v2 it is
	// the unified mount, with cgroup.controllers at its top.
	Root string
	// Parent is the group under which Slipway creates its groups, e.g.
	// "slipway-<serverid>"; one or more components separated by "/",
	// each of [a-z0-9_-].
	Parent string
	Logger *slog.Logger
	// AllowPlainTree lets Open accept a Root that is not a cgroup file
	// system: a prepared directory tree for tests. Limit files are then
	// created as they are written and Kill signals nothing. Without it,
	// Open refuses such a Root, so limits are never silently unenforced.
	AllowPlainTree bool
}

// Manager creates groups under one parent group.
type Manager struct {
	root    *os.Root
	rootDir string   // absolute, cleaned
	parent  string   // validated, slash-separated, relative
	version int      // 1 or 2
	hiers   []string // v1: "memory", "cpu", "pids"; v2: "."
	plain   bool     // Root is a prepared tree, not a cgroup file system
	created []string // parent directories Open created, relative to root, outermost first
	log     *slog.Logger
}

// Group is one control group: Parent/name in every hierarchy.
type Group struct {
	m    *Manager
	name string
	dirs []string // relative to the root, one per hierarchy

	mu     sync.Mutex
	subs   map[*Group]bool // open groups nested in this one (Sub)
	parent *Group          // the group this one is nested in, if any
	closed bool
}

// v1Controllers are the v1 hierarchies a group is created in, in the order
// limits are written.
var v1Controllers = []string{"memory", "cpu", "pids"}

// v2Controllers are the controllers enabled for Slipway's groups on v2, as
// written to cgroup.subtree_control.
const v2Controllers = "+cpu +memory +pids"

const (
	cgroupSuperMagic  = 0x27e0eb   // CGROUP_SUPER_MAGIC, linux/magic.h
	cgroup2SuperMagic = 0x63677270 // CGROUP2_SUPER_MAGIC
	cfsPeriodUS       = 100000     // 100 ms, the kernel's default period
	minQuotaUS        = 1000       // the kernel refuses quotas under 1 ms
)

var nameRE = regexp.MustCompile(`^[a-z0-9_-]{1,100}$`)

// validateName reports whether name is one safe path component.
func validateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("cgroup name %q is invalid: use 1-100 of a-z, 0-9, '_' or '-'", name)
	}
	return nil
}

// Open detects the cgroup version under cfg.Root, checks that the memory,
// cpu and pids controllers are available, and creates cfg.Parent in every
// hierarchy (enabling the controllers for its children on v2).
func Open(cfg Config) (*Manager, error) {
	if cfg.Root == "" {
		cfg.Root = "/sys/fs/cgroup"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Parent == "" {
		return nil, errors.New("opening cgroups: Config.Parent is empty")
	}
	for c := range strings.SplitSeq(cfg.Parent, "/") {
		if err := validateName(c); err != nil {
			return nil, fmt.Errorf("opening cgroups: parent: %w", err)
		}
	}
	rootDir, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("opening cgroups: %w", err)
	}
	r, err := os.OpenRoot(rootDir)
	if err != nil {
		return nil, fmt.Errorf("opening cgroups: no cgroup mount: %w", err)
	}
	m := &Manager{root: r, rootDir: rootDir, parent: cfg.Parent, log: cfg.Logger}
	if err := m.detect(cfg.AllowPlainTree); err != nil {
		r.Close()
		return nil, fmt.Errorf("opening cgroups under %s: %w", rootDir, err)
	}
	if err := m.createParent(); err != nil {
		m.removeCreated()
		r.Close()
		return nil, fmt.Errorf("opening cgroups under %s: %w", rootDir, err)
	}
	m.log.Info("cgroups opened", "version", m.version, "root", rootDir, "parent", m.parent, "plain_tree", m.plain)
	return m, nil
}

// detect sets m.version, m.hiers and m.plain.
func (m *Manager) detect(allowPlain bool) error {
	if b, err := m.root.ReadFile("cgroup.controllers"); err == nil {
		m.version, m.hiers = 2, []string{"."}
		have := strings.Fields(string(b))
		var missing []string
		for _, c := range []string{"cpu", "memory", "pids"} {
			if !contains(have, c) {
				missing = append(missing, c)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("cgroup v2 controller(s) %s not available in %s (on a hybrid host they are bound to v1 hierarchies)",
				strings.Join(missing, ", "), filepath.Join(m.rootDir, "cgroup.controllers"))
		}
	} else {
		m.version, m.hiers = 1, v1Controllers
		var missing []string
		for _, c := range v1Controllers {
			if fi, err := m.root.Stat(c); err != nil || !fi.IsDir() {
				missing = append(missing, c)
			}
		}
		if len(missing) == len(v1Controllers) {
			return errors.New("no cgroup file system: neither cgroup.controllers (v2) nor memory/, cpu/, pids/ (v1) found")
		}
		if len(missing) > 0 {
			return fmt.Errorf("cgroup v1 controller(s) %s not mounted (looked for %s/<controller>)", strings.Join(missing, ", "), m.rootDir)
		}
	}
	want := int64(cgroupSuperMagic)
	if m.version == 2 {
		want = cgroup2SuperMagic
	}
	real := 0
	for _, h := range m.hiers {
		var st syscall.Statfs_t
		p := filepath.Join(m.rootDir, h)
		if err := syscall.Statfs(p, &st); err != nil {
			return fmt.Errorf("checking file system of %s: %w", p, err)
		}
		if int64(st.Type) == want {
			real++
		}
	}
	switch {
	case real == len(m.hiers):
	case real == 0 && allowPlain:
		m.plain = true
	default:
		return fmt.Errorf("not a cgroup v%d file system (mount it, or check Config.Root)", m.version)
	}
	return nil
}

// createParent makes the parent group in every hierarchy and, on v2,
// enables the controllers in the subtree_control of the root and of each
// parent level, so that Slipway's groups get the limit files.
func (m *Manager) createParent() error {
	comps := strings.Split(m.parent, "/")
	if m.version == 2 {
		if err := m.enableControllers("."); err != nil {
			return err
		}
	}
	for _, h := range m.hiers {
		for i := range comps {
			dir := path.Join(h, path.Join(comps[:i+1]...))
			err := m.root.Mkdir(dir, 0o755)
			switch {
			case err == nil:
				m.created = append(m.created, dir)
			case errors.Is(err, fs.ErrExist):
			default:
				return m.explain("creating group "+m.abs(dir), err)
			}
			if m.version == 2 {
				if err := m.enableControllers(dir); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// enableControllers writes v2Controllers to dir/cgroup.subtree_control
// unless they are all enabled already.
func (m *Manager) enableControllers(dir string) error {
	f := path.Join(dir, "cgroup.subtree_control")
	if b, err := m.root.ReadFile(f); err == nil {
		have := strings.Fields(string(b))
		if contains(have, "cpu") && contains(have, "memory") && contains(have, "pids") {
			return nil
		}
	}
	if err := m.write(f, v2Controllers); err != nil {
		return m.explain("enabling controllers", err)
	}
	return nil
}

// Version is the cgroup version in use: 1 or 2.
func (m *Manager) Version() int { return m.version }

// New creates the group Parent/name in every hierarchy and applies l. An
// existing group of that name (left by a crash) is reused; call Kill on it
// before starting a process if stale processes matter.
func (m *Manager) New(name string, l Limits) (*Group, error) {
	if err := validateName(name); err != nil {
		return nil, fmt.Errorf("creating cgroup: %w", err)
	}
	g := &Group{m: m, name: name}
	var made []string
	undo := func() {
		for _, d := range made {
			m.removeDir(d)
		}
	}
	for _, h := range m.hiers {
		dir := path.Join(h, m.parent, name)
		err := m.root.Mkdir(dir, 0o755)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			undo()
			return nil, m.explain("creating cgroup "+m.abs(dir), err)
		}
		if err == nil {
			made = append(made, dir)
		}
		g.dirs = append(g.dirs, dir)
		if m.plain {
			// The kernel would create cgroup.procs; a prepared tree needs it
			// for Kill and ProcsFiles to mean the same thing.
			if err := m.write(path.Join(dir, "cgroup.procs"), ""); err != nil {
				undo()
				return nil, fmt.Errorf("creating cgroup %s: %w", name, err)
			}
		}
	}
	if err := g.Update(l); err != nil {
		undo()
		return nil, fmt.Errorf("creating cgroup %s: %w", name, err)
	}
	return g, nil
}

// Close removes the parent group(s) if they are empty and releases the
// root. Groups must be closed first.
func (m *Manager) Close() error {
	var errs []error
	for i := len(m.hiers) - 1; i >= 0; i-- {
		comps := strings.Split(m.parent, "/")
		for j := len(comps); j > 0; j-- {
			dir := path.Join(m.hiers[i], path.Join(comps[:j]...))
			if err := m.removeDir(dir); err != nil && !isBusy(err) {
				errs = append(errs, err)
			} else if err != nil {
				m.log.Debug("cgroup parent not empty; left in place", "dir", m.abs(dir))
				break
			}
		}
	}
	errs = append(errs, m.root.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("closing cgroups: %w", err)
	}
	return nil
}

// removeCreated undoes createParent.
func (m *Manager) removeCreated() {
	for i := len(m.created) - 1; i >= 0; i-- {
		m.removeDir(m.created[i])
	}
}

// Sub creates a group nested in g, named name: its processes are held by
// g's limits (the kernel applies a group's limits to its whole subtree) and
// are counted in g's use, but can be killed apart from g's — a console
// session inside an instance is one. It has no limits of its own and no
// controllers enabled, so that on v2 g keeps its processes. g's Close
// closes it first.
func (g *Group) Sub(name string) (*Group, error) {
	if err := validateName(name); err != nil {
		return nil, fmt.Errorf("creating cgroup: %w", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, fmt.Errorf("creating cgroup %s/%s: the group is closed", g.name, name)
	}
	if g.m.version == 1 {
		// A v1 memory group may be non-hierarchical (memory.use_hierarchy
		// 0, inherited, on kernels before the mode was removed): one nested
		// in it would then not be held by its limit. It can be made
		// hierarchical while it has no nested group; later kernels are
		// hierarchical always and take 1 as it is.
		f := path.Join(g.dirs[0], "memory.use_hierarchy")
		if err := g.m.write(f, "1"); err != nil && !g.m.missing(err) {
			return nil, fmt.Errorf("creating cgroup %s/%s: its memory limit would not hold it: %w", g.name, name, err)
		}
	}
	sub := &Group{m: g.m, name: g.name + "/" + name, parent: g}
	undo := func() {
		for _, made := range sub.dirs {
			g.m.removeDir(made)
		}
	}
	for _, d := range g.dirs {
		dir := path.Join(d, name)
		if err := g.m.root.Mkdir(dir, 0o755); err != nil {
			undo()
			return nil, g.m.explain("creating cgroup "+g.m.abs(dir), err)
		}
		sub.dirs = append(sub.dirs, dir)
		if g.m.plain {
			if err := g.m.write(path.Join(dir, "cgroup.procs"), ""); err != nil {
				undo()
				return nil, fmt.Errorf("creating cgroup %s: %w", sub.name, err)
			}
		}
	}
	if g.subs == nil {
		g.subs = map[*Group]bool{}
	}
	g.subs[sub] = true
	return sub, nil
}

// ProcsFiles returns the absolute paths of the cgroup.procs files a
// process writes its pid into to join the group: one per v1 hierarchy, one
// on v2. See JoinArgv.
func (g *Group) ProcsFiles() []string {
	out := make([]string, len(g.dirs))
	for i, d := range g.dirs {
		out[i] = g.m.abs(path.Join(d, "cgroup.procs"))
	}
	return out
}

// Update applies l to the group.
func (g *Group) Update(l Limits) error {
	if l.MemoryBytes < 0 || l.Pids < 0 || l.CPUs < 0 || math.IsNaN(l.CPUs) || math.IsInf(l.CPUs, 0) {
		return fmt.Errorf("updating cgroup %s: negative or invalid limits %+v", g.name, l)
	}
	var err error
	if g.m.version == 2 {
		err = g.updateV2(l)
	} else {
		err = g.updateV1(l)
	}
	if err != nil {
		return fmt.Errorf("updating cgroup %s: %w", g.name, err)
	}
	return nil
}

func (g *Group) updateV2(l Limits) error {
	d := g.dirs[0]
	mem, swap := "max", "max"
	if l.MemoryBytes > 0 {
		mem, swap = strconv.FormatInt(l.MemoryBytes, 10), "0"
	}
	if err := g.m.write(path.Join(d, "memory.max"), mem); err != nil {
		return err
	}
	// memory.swap.max is missing when the kernel does not account swap.
	if err := g.m.write(path.Join(d, "memory.swap.max"), swap); err != nil && !g.m.missing(err) {
		return err
	}
	quota := "max"
	if l.CPUs > 0 {
		quota = strconv.FormatInt(quotaUS(l.CPUs), 10)
	}
	if err := g.m.write(path.Join(d, "cpu.max"), quota+" "+strconv.Itoa(cfsPeriodUS)); err != nil {
		return err
	}
	return g.m.write(path.Join(d, "pids.max"), pidsMax(l.Pids))
}

func (g *Group) updateV1(l Limits) error {
	mem, cpu, pids := g.dirs[0], g.dirs[1], g.dirs[2]
	limit := path.Join(mem, "memory.limit_in_bytes")
	memsw := path.Join(mem, "memory.memsw.limit_in_bytes")
	v := "-1"
	if l.MemoryBytes > 0 {
		v = strconv.FormatInt(l.MemoryBytes, 10)
	}
	// The kernel keeps memsw >= limit: raising the limit above the current
	// memsw fails with EINVAL until memsw is raised, and lowering memsw
	// below the limit fails until the limit is lowered. Write the limit
	// first; on EINVAL write memsw first.
	err := g.m.write(limit, v)
	memswDone := false
	if errors.Is(err, syscall.EINVAL) {
		if err = g.m.write(memsw, v); err == nil {
			err = g.m.write(limit, v)
		}
		memswDone = true
	}
	if err != nil {
		return err
	}
	if !memswDone {
		err = g.m.write(memsw, v)
	}
	if g.m.missing(err) {
		// No swap accounting: keep the group out of swap another way.
		if l.MemoryBytes > 0 {
			err = g.m.write(path.Join(mem, "memory.swappiness"), "0")
		} else {
			err = nil
		}
	}
	if err != nil {
		return err
	}
	quota := "-1"
	if l.CPUs > 0 {
		quota = strconv.FormatInt(quotaUS(l.CPUs), 10)
	}
	if err := g.m.write(path.Join(cpu, "cpu.cfs_period_us"), strconv.Itoa(cfsPeriodUS)); err != nil {
		return err
	}
	if err := g.m.write(path.Join(cpu, "cpu.cfs_quota_us"), quota); err != nil {
		return err
	}
	return g.m.write(path.Join(pids, "pids.max"), pidsMax(l.Pids))
}

func quotaUS(cpus float64) int64 {
	return max(int64(math.Round(cpus*cfsPeriodUS)), minQuotaUS)
}

func pidsMax(n int64) string {
	if n <= 0 {
		return "max"
	}
	return strconv.FormatInt(n, 10)
}

// OOMKills returns how many processes of the group the kernel killed for
// running out of memory: "oom_kill N" in memory.oom_control (v1) or
// memory.events (v2).
func (g *Group) OOMKills() (int64, error) {
	f := "memory.events"
	if g.m.version == 1 {
		f = "memory.oom_control"
	}
	p := path.Join(g.dirs[0], f)
	b, err := g.m.root.ReadFile(p)
	if err != nil {
		return 0, fmt.Errorf("reading OOM kills of cgroup %s: %w", g.name, err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("reading OOM kills of cgroup %s: parsing %s: %w", g.name, g.m.abs(p), err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("reading OOM kills of cgroup %s: no oom_kill line in %s (kernel older than 4.13?)", g.name, g.m.abs(p))
}

// MemoryCurrent returns the group's memory use in bytes
// (v1 memory.usage_in_bytes, v2 memory.current).
func (g *Group) MemoryCurrent() (int64, error) {
	f := "memory.current"
	if g.m.version == 1 {
		f = "memory.usage_in_bytes"
	}
	b, err := g.m.root.ReadFile(path.Join(g.dirs[0], f))
	if err != nil {
		return 0, fmt.Errorf("reading memory use of cgroup %s: %w", g.name, err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("reading memory use of cgroup %s: %w", g.name, err)
	}
	return n, nil
}

// killTimeout bounds Kill; rmdirTimeout bounds the EBUSY retries of Close.
const (
	killTimeout  = 5 * time.Second
	rmdirTimeout = 5 * time.Second
	pollInterval = 10 * time.Millisecond
)

// Kill kills every process in the group: through cgroup.kill on v2 kernels
// that have it, else by sending SIGKILL to each pid in cgroup.procs until
// the group is empty, for at most a few seconds. In a prepared tree
// (Config.AllowPlainTree) it signals nothing.
func (g *Group) Kill() error {
	if g.m.plain {
		return nil
	}
	if g.m.version == 2 {
		err := g.m.write(path.Join(g.dirs[0], "cgroup.kill"), "1")
		if err != nil && !g.m.missing(err) {
			return fmt.Errorf("killing cgroup %s: %w", g.name, err)
		}
	}
	deadline := time.Now().Add(killTimeout)
	for {
		pids, err := g.pids()
		if err != nil {
			return fmt.Errorf("killing cgroup %s: %w", g.name, err)
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("killing cgroup %s: %d process(es) still running after %s", g.name, len(pids), killTimeout)
		}
		for _, pid := range pids {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("killing cgroup %s: pid %d: %w", g.name, pid, err)
			}
		}
		time.Sleep(pollInterval)
	}
}

// pids lists the processes in the group, across hierarchies.
func (g *Group) pids() ([]int, error) {
	seen := map[int]bool{}
	var out []int
	for _, d := range g.dirs {
		b, err := g.m.root.ReadFile(path.Join(d, "cgroup.procs"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for f := range bytes.FieldsSeq(b) {
			pid, err := strconv.Atoi(string(f))
			if err != nil || pid <= 0 {
				return nil, fmt.Errorf("parsing %s: bad pid %q", g.m.abs(path.Join(d, "cgroup.procs")), f)
			}
			if !seen[pid] {
				seen[pid] = true
				out = append(out, pid)
			}
		}
	}
	return out, nil
}

// Close kills the group's processes and removes the group (its nested
// groups first), retrying while the kernel still reports it busy (exiting
// processes not yet gone). Closing a closed group does nothing.
func (g *Group) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	subs := make([]*Group, 0, len(g.subs))
	for sub := range g.subs {
		subs = append(subs, sub)
	}
	g.mu.Unlock()
	var errs []error
	for _, sub := range subs {
		if err := sub.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if p := g.parent; p != nil {
		p.mu.Lock()
		delete(p.subs, g)
		p.mu.Unlock()
	}
	errs = append(errs, g.Kill())
	for i := len(g.dirs) - 1; i >= 0; i-- {
		d := g.dirs[i]
		deadline := time.Now().Add(rmdirTimeout)
		for {
			err := g.m.removeDir(d)
			if err == nil || !isBusy(err) || time.Now().After(deadline) {
				if err != nil {
					errs = append(errs, err)
				}
				break
			}
			time.Sleep(pollInterval)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("closing cgroup %s: %w", g.name, err)
	}
	return nil
}

// write replaces the contents of the file rel (relative to the root) with
// v. In a prepared tree the file is created if missing.
func (m *Manager) write(rel, v string) error {
	flag := os.O_WRONLY | os.O_TRUNC
	if m.plain {
		flag |= os.O_CREATE
	}
	f, err := m.root.OpenFile(rel, flag, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(v)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return &fs.PathError{Op: "write", Path: m.abs(rel), Err: unwrapPath(err)}
	}
	return nil
}

// removeDir removes a group directory. A kernel cgroup directory holds
// only kernel files and goes with rmdir; a prepared tree's directory is
// emptied of the files written into it first. A missing directory is no
// error.
func (m *Manager) removeDir(rel string) error {
	if m.plain {
		entries, err := fs.ReadDir(m.root.FS(), rel)
		if err == nil {
			for _, e := range entries {
				if !e.IsDir() {
					m.root.Remove(path.Join(rel, e.Name()))
				}
			}
		}
	}
	err := m.root.Remove(rel)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return fmt.Errorf("removing %s: %w", m.abs(rel), unwrapPath(err))
}

// explain turns permission and read-only errors into ones that say what
// is needed.
func (m *Manager) explain(doing string, err error) error {
	switch {
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%s: the cgroup file system is mounted read-only (in a container, mount it read-write or delegate a subtree): %w", doing, err)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return fmt.Errorf("%s: permission denied (Slipway must run as root, uid is %d, or be delegated this subtree): %w", doing, os.Geteuid(), err)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// missing reports whether err says a file does not exist (a kernel
// without that feature).
func (m *Manager) missing(err error) bool { return errors.Is(err, fs.ErrNotExist) }

func (m *Manager) abs(rel string) string { return filepath.Join(m.rootDir, filepath.FromSlash(rel)) }

func isBusy(err error) bool {
	return errors.Is(err, syscall.EBUSY) || errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST)
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// JoinScript is the shell program that puts itself into a group and then
// execs the command: its arguments are the cgroup.procs files, "--", and
// the command's argv. It exits 125 without running the command if a file
// cannot be written, so the app never runs outside its group.
const JoinScript = `while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"`

// JoinArgv returns an argv that runs argv inside the group whose
// ProcsFiles are procsFiles: sh -c JoinScript sh FILE... -- ARGV...
// Wrap the outermost command (bwrap, when sandboxed) so that every process
// it starts inherits the group.
func JoinArgv(procsFiles, argv []string) []string {
	if len(procsFiles) == 0 {
		return argv // no group to join: nothing to wrap
	}
	out := []string{"/bin/sh", "-c", JoinScript, "sh"}
	out = append(out, procsFiles...)
	out = append(out, "--")
	return append(out, argv...)
}
