// Package diskreserve keeps free space on the file system that holds the
// platform's own data (its SQLite databases, deployment records, blob
// metadata). Writes whose size a tenant controls — blob uploads, pushed
// packages, git pushes — ask a Guard first and stream through it, and are
// refused when they would leave less than the reserve free, so that a
// tenant cannot fill the disk under every app's settings and deployments.
//
// Reading the free space is a statfs(2), cheap but not free: a Guard
// keeps a reading for a second and, meanwhile, counts what it let through
// against it. Reads, deletes and small metadata writes never ask, so that
// space can still be freed on a short disk.
//
// Several services write to one file system (blob uploads, deployment
// packages, git pushes and the store all live under the data directory).
// Their Guards come from one Disks, which gives the Guards of paths on the
// same file system one reading and one count: what one service lets
// through counts against what the others may, and a shortage is warned
// about once, naming every kind of write it stops.
package diskreserve

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Space is a file system's size and the bytes of it still available.
type Space struct {
	Free uint64 // available to unprivileged writers (statfs f_bavail)
	Size uint64 // the file system's size
}

// FreeSpace reads the space of the file system that holds path.
type FreeSpace func(path string) (Space, error)

var _ FreeSpace = Statfs

// Statfs is the FreeSpace of the running system. Free counts only the
// blocks unprivileged users may take (f_bavail), so the blocks a file
// system keeps for root are a margin on top of the reserve.
func Statfs(path string) (Space, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return Space{}, fmt.Errorf("reading the free space of %s: %w", path, err)
	}
	bs := uint64(st.Bsize)
	return Space{Free: st.Bavail * bs, Size: st.Blocks * bs}, nil
}

// ErrShort is what a refused write's error wraps.
var ErrShort = errors.New("the disk reserve would be used")

// Amount is how much to keep free: a number of bytes or a percentage of
// the file system. The zero Amount is the default: the larger of 1 GiB
// and 2%.
type Amount struct {
	Bytes   uint64
	Percent uint64 // 1-100; when set, Bytes is not used
}

// Of returns the bytes to keep free on a file system of size bytes.
func (a Amount) Of(size uint64) uint64 {
	switch {
	case a.Percent > 0:
		return size / 100 * a.Percent
	case a.Bytes > 0:
		return a.Bytes
	}
	return max(1<<30, size/100*2)
}

// String writes a as ParseAmount reads it.
func (a Amount) String() string {
	switch {
	case a.Percent > 0:
		return strconv.FormatUint(a.Percent, 10) + "%"
	case a.Bytes > 0 && a.Bytes%(1<<30) == 0:
		return strconv.FormatUint(a.Bytes>>30, 10) + "GiB"
	case a.Bytes > 0 && a.Bytes%(1<<20) == 0:
		return strconv.FormatUint(a.Bytes>>20, 10) + "MiB"
	case a.Bytes > 0:
		return strconv.FormatUint(a.Bytes, 10)
	}
	return "default"
}

// ParseAmount reads an Amount: "" or "default"; a percentage ("10%"); or
// bytes, bare or with a binary unit ("512MiB", "2GiB", "2G", "1TiB").
func ParseAmount(s string) (Amount, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "default" {
		return Amount{}, nil
	}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		n, err := strconv.ParseUint(strings.TrimSpace(p), 10, 64)
		if err != nil || n < 1 || n > 90 {
			return Amount{}, fmt.Errorf("%q is not a percentage from 1%% to 90%%", s)
		}
		return Amount{Percent: n}, nil
	}
	num := strings.TrimRight(s, "KMGTiBkmgtib ")
	unit := strings.ToUpper(strings.TrimSpace(s[len(num):]))
	shift := map[string]uint{"": 0, "B": 0, "K": 10, "KIB": 10, "M": 20, "MIB": 20, "G": 30, "GIB": 30, "T": 40, "TIB": 40}
	sh, ok := shift[unit]
	n, err := strconv.ParseUint(num, 10, 64)
	if !ok || err != nil || n == 0 || n > (1<<63)>>sh {
		return Amount{}, fmt.Errorf("%q is not a size (bytes, or a number with KiB, MiB, GiB or TiB) nor a percentage", s)
	}
	return Amount{Bytes: n << sh}, nil
}

// Set reads s into a (flag.Value).
func (a *Amount) Set(s string) error {
	v, err := ParseAmount(s)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// Config configures a Guard.
type Config struct {
	// Path is a directory on the file system to watch.
	Path string
	// What names the writes the Guard refuses, for its warning ("blob
	// uploads").
	What string
	// Reserve is how much to keep free; zero → the larger of 1 GiB and 2%.
	Reserve Amount
	// FreeSpace reads the file system's space; nil → Statfs.
	FreeSpace FreeSpace
	// Logger receives the warning when writes start being refused; nil
	// discards it.
	Logger *slog.Logger
	// Now is the clock; nil → time.Now.
	Now func() time.Time
}

const (
	// fresh is how long a reading of the free space is used.
	fresh = time.Second
	// step is how much of a streaming body one check lets through: the
	// most a stream writes past a reading before it is checked again.
	step = 4 << 20
	// rearm is how far above the reserve the free space must come back
	// before another shortage is warned about, so that a disk hovering at
	// its reserve warns once, not at every reading.
	rearm = 256 << 20
)

// Guard decides whether writes to one file system fit above its reserve.
// It is safe for concurrent use.
type Guard struct {
	cfg Config
	t   *tally // shared with the other Guards of a Disks on the same file system
}

// tally is the reading of a file system's space that Guards share, and
// what they let through since it was taken.
type tally struct {
	mu     sync.Mutex
	read   time.Time // when space was read; zero: never
	space  Space
	taken  uint64   // let through since space was read
	warned bool     // warned of this shortage; cleared when room returns (rearm)
	whats  []string // the writes its Guards refuse, for the warning
}

// New returns a Guard of its own: it shares its reading with no other.
func New(cfg Config) *Guard {
	cfg = cfg.defaults()
	return &Guard{cfg: cfg, t: &tally{whats: []string{cfg.What}}}
}

func (cfg Config) defaults() Config {
	if cfg.FreeSpace == nil {
		cfg.FreeSpace = Statfs
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg
}

// Disks makes the Guards of the services that write to the server's file
// systems, one tally per file system (told apart by device number), so
// that concurrent writers in different services cannot each take the same
// free space. It is safe for concurrent use.
type Disks struct {
	cfg Config // Path and What come with each Guard
	// Device returns the file system a path is on; nil → stat(2)'s st_dev.
	Device func(path string) (uint64, error)

	mu    sync.Mutex
	byDev map[uint64]*tally
}

// NewDisks returns a Disks whose Guards keep cfg.Reserve free, read space
// with cfg.FreeSpace and warn to cfg.Logger (cfg.Path and cfg.What are not
// used).
func NewDisks(cfg Config) *Disks {
	return &Disks{cfg: cfg.defaults(), byDev: make(map[uint64]*tally)}
}

// Guard returns a Guard for writes of kind what ("blob uploads") to the
// file system of path, sharing its tally with the other Guards on that
// file system. A path whose file system cannot be told gets a tally of
// its own, as New gives.
func (d *Disks) Guard(path, what string) *Guard {
	cfg := d.cfg
	cfg.Path, cfg.What = path, what
	dev, err := d.device(path)
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.byDev[dev]
	if err != nil || t == nil {
		t = &tally{}
		if err == nil {
			d.byDev[dev] = t
		}
	}
	t.mu.Lock()
	t.whats = append(t.whats, what)
	t.mu.Unlock()
	return &Guard{cfg: cfg, t: t}
}

func (d *Disks) device(path string) (uint64, error) {
	if d.Device != nil {
		return d.Device(path)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, err
	}
	return uint64(st.Dev), nil
}

// Check returns an error wrapping ErrShort when writing n more bytes
// would leave less than the reserve free (n ≤ 0: when the reserve is
// already reached). It lets nothing through: a body that follows streams
// through Reader, which counts it.
func (g *Guard) Check(n int64) error { return g.take(max(n, 0), false) }

// take checks that n more bytes fit and, if charge, counts them against
// the current reading.
func (g *Guard) take(n int64, charge bool) error {
	t := g.t
	t.mu.Lock()
	defer t.mu.Unlock()
	now := g.cfg.Now()
	if t.read.IsZero() || now.Sub(t.read) >= fresh || now.Before(t.read) {
		sp, err := g.cfg.FreeSpace(g.cfg.Path)
		if err != nil {
			return err
		}
		t.read, t.space, t.taken = now, sp, 0
		if t.warned && sp.Free >= g.cfg.Reserve.Of(sp.Size)+rearm {
			t.warned = false // room again: the next shortage warns again
		}
	}
	keep := g.cfg.Reserve.Of(t.space.Size)
	free := t.space.Free - min(t.taken, t.space.Free)
	if free < keep || free-keep < uint64(n) {
		if !t.warned {
			t.warned = true
			g.cfg.Logger.Warn("DISK RESERVE REACHED: refusing "+strings.Join(t.whats, ", ")+" until space is freed on the file system of "+g.cfg.Path,
				"free_mb", free>>20, "reserve_mb", keep>>20, "write_mb", n>>20)
		}
		return fmt.Errorf("%w: %s has %d MB free and keeps %d MB", ErrShort, g.cfg.Path, free>>20, keep>>20)
	}
	if charge {
		t.taken += uint64(n)
	}
	return nil
}

// Reader is a body streaming through a Guard.
type Reader struct {
	g    *Guard
	r    io.Reader
	left int64 // let through and not yet read
	err  error
}

// Reader returns r, checked as it is read: before each few MiB, the Guard
// must let them through, or the read fails with an error wrapping
// ErrShort, which Err reports too.
func (g *Guard) Reader(r io.Reader) *Reader { return &Reader{g: g, r: r} }

func (x *Reader) Read(p []byte) (int, error) {
	if x.err != nil {
		return 0, x.err
	}
	if x.left <= 0 {
		if err := x.g.take(step, true); err != nil {
			x.err = err
			return 0, err
		}
		x.left = step
	}
	if int64(len(p)) > x.left {
		p = p[:x.left]
	}
	n, err := x.r.Read(p)
	x.left -= int64(n)
	if err != nil && x.left > 0 {
		// The body ended short of what was let through: give the rest
		// back, so that many small bodies do not count as many steps.
		x.g.giveBack(x.left)
		x.left = 0
	}
	return n, err
}

// giveBack returns n bytes let through and not written.
func (g *Guard) giveBack(n int64) {
	g.t.mu.Lock()
	defer g.t.mu.Unlock()
	g.t.taken -= min(g.t.taken, uint64(n))
}

// Err returns the refusal that ended the stream, if one did. It tells a
// refused write from its consumer's failure when the consumer (a git
// process) reports only its own.
func (x *Reader) Err() error { return x.err }
