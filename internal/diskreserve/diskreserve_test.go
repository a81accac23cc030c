package diskreserve_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/diskreserve"
)

// The default reader is statfs itself: its numbers are those df reports.
func TestStatfsReadsTheFileSystem(t *testing.T) {
	dir := t.TempDir()
	sp, err := diskreserve.Statfs(dir)
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if want := st.Blocks * uint64(st.Bsize); sp.Size != want {
		t.Errorf("Size = %d, want %d", sp.Size, want)
	}
	if sp.Size == 0 || sp.Free > sp.Size {
		t.Errorf("Space = %+v: want a size and no more free than it", sp)
	}
	// Free moves as other processes write; it stays within a few MB.
	if got, want := sp.Free>>20, (st.Bavail*uint64(st.Bsize))>>20; got+64 < want || got > want+64 {
		t.Errorf("Free = %d MB, statfs says %d MB", got, want)
	}
	if _, err := diskreserve.Statfs(dir + "/missing"); err == nil {
		t.Error("Statfs of a missing path: no error")
	}
}

// fakeDisk is a file system whose free space a test sets.
type fakeDisk struct {
	space diskreserve.Space
	reads int
}

func (d *fakeDisk) read(string) (diskreserve.Space, error) {
	d.reads++
	return d.space, nil
}

func TestGuard(t *testing.T) {
	const GiB = 1 << 30
	disk := &fakeDisk{space: diskreserve.Space{Free: 3 * GiB, Size: 250 * GiB}} // reserve 2%: 5 GiB
	now := time.Unix(1e9, 0)
	var logs bytes.Buffer
	g := diskreserve.New(diskreserve.Config{Path: "/data", What: "uploads", FreeSpace: disk.read,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return now }})

	if err := g.Check(0); !errors.Is(err, diskreserve.ErrShort) {
		t.Fatalf("3 GiB free of 250, 5 GiB reserve: Check = %v, want ErrShort", err)
	}
	g.Check(1)
	if n := strings.Count(logs.String(), "DISK RESERVE REACHED"); n != 1 {
		t.Errorf("warned %d times, want once:\n%s", n, logs.String())
	}
	if disk.reads != 1 {
		t.Errorf("read the disk %d times within a second, want once", disk.reads)
	}

	// Space freed: writes fit again, once the reading is stale.
	disk.space.Free = 6 * GiB
	if err := g.Check(0); err == nil {
		t.Error("within a second of the reading, the freed space was seen: want the reading kept")
	}
	now = now.Add(time.Second)
	if err := g.Check(512 << 20); err != nil {
		t.Fatalf("6 GiB free, 5 GiB reserve, 512 MiB write: %v", err)
	}
	if err := g.Check(2 * GiB); !errors.Is(err, diskreserve.ErrShort) {
		t.Errorf("a 2 GiB write into 1 GiB above the reserve: %v, want ErrShort", err)
	}

	// A stream is let through a few MiB at a time, counted against the
	// reading: 1 GiB above the reserve, a 2 GiB body stops at about 1 GiB.
	r := g.Reader(io.LimitReader(zeros{}, 2*GiB))
	n, err := io.Copy(io.Discard, r)
	if !errors.Is(err, diskreserve.ErrShort) || !errors.Is(r.Err(), diskreserve.ErrShort) {
		t.Fatalf("2 GiB stream: err %v, Err() %v; want ErrShort", err, r.Err())
	}
	if n > GiB || n < GiB-(8<<20) {
		t.Errorf("the stream stopped after %d MB, want about 1024", n>>20)
	}

	// Short bodies pass through whole, and count for what they hold:
	// 1 GiB above the reserve takes a thousand of them within a reading.
	now = now.Add(time.Second)
	for i := range 1000 {
		r = g.Reader(strings.NewReader("hello"))
		if b, err := io.ReadAll(r); err != nil || string(b) != "hello" || r.Err() != nil {
			t.Fatalf("short body %d: %q, %v, %v", i, b, err, r.Err())
		}
	}
}

func TestAmount(t *testing.T) {
	const GiB = 1 << 30
	for _, c := range []struct {
		in   string
		size uint64
		want uint64
	}{
		{"", 10 * GiB, GiB},             // small disk: 1 GiB
		{"default", 100 * GiB, 2 * GiB}, // large: 2%
		{"10%", 100 * GiB, 10 * GiB},
		{"512MiB", 100 * GiB, 512 << 20},
		{"2G", 100 * GiB, 2 * GiB},
		{"1048576", 100 * GiB, 1 << 20},
	} {
		a, err := diskreserve.ParseAmount(c.in)
		if err != nil {
			t.Errorf("ParseAmount(%q): %v", c.in, err)
			continue
		}
		if got := a.Of(c.size); got != c.want {
			t.Errorf("ParseAmount(%q).Of(%d GiB) = %d, want %d", c.in, c.size>>30, got, c.want)
		}
		if b, err := diskreserve.ParseAmount(a.String()); err != nil || b != a {
			t.Errorf("%q: String %q reads back as %+v, %v", c.in, a.String(), b, err)
		}
	}
	for _, bad := range []string{"x", "0", "-1", "5PB", "0%", "95%", "1.5G"} {
		if _, err := diskreserve.ParseAmount(bad); err == nil {
			t.Errorf("ParseAmount(%q): no error", bad)
		}
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// The Guards of one Disks on the same file system share one reading and
// one count: what blob uploads let through, a deployment package cannot
// take again within the same reading — two Guards of their own (New)
// would each let it through. A Guard on another file system keeps its
// own count, and a path whose file system cannot be told gets its own.
// A shortage is warned about once, naming every kind of write refused.
func TestDisksShareOneTally(t *testing.T) {
	const MiB = 1 << 20
	disk := &fakeDisk{space: diskreserve.Space{Free: 1<<30 + 6*MiB, Size: 10 << 30}} // reserve 1 GiB: 6 MiB above it
	now := time.Unix(1e9, 0)
	var logs bytes.Buffer
	disks := diskreserve.NewDisks(diskreserve.Config{FreeSpace: disk.read,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return now }})
	disks.Device = func(path string) (uint64, error) {
		switch path {
		case "/data", "/data/blob":
			return 1, nil
		case "/other":
			return 2, nil
		}
		return 0, errors.New("no such file")
	}
	blobs := disks.Guard("/data/blob", "blob uploads")
	packages := disks.Guard("/data", "deployment packages")
	other := disks.Guard("/other", "other writes")
	unknown := disks.Guard("/missing", "unknown writes")

	// A 3 MiB upload is let through and counted.
	r := blobs.Reader(io.LimitReader(zeros{}, 3*MiB))
	if n, err := io.Copy(io.Discard, r); err != nil || n != 3*MiB {
		t.Fatalf("3 MiB upload with 6 MiB above the reserve: %d, %v", n, err)
	}
	// 3 MiB are left on that file system, for every service.
	if err := packages.Check(4 * MiB); !errors.Is(err, diskreserve.ErrShort) {
		t.Errorf("a 4 MiB package after a 3 MiB upload, 6 MiB above the reserve: %v, want ErrShort", err)
	}
	if err := packages.Check(MiB); err != nil {
		t.Errorf("a 1 MiB package: %v", err)
	}
	for _, g := range []*diskreserve.Guard{other, unknown} {
		if err := g.Check(4 * MiB); err != nil {
			t.Errorf("a Guard with a count of its own: %v", err)
		}
	}
	if disk.reads != 3 {
		t.Errorf("read the disk %d times, want 3 (one per tally)", disk.reads)
	}
	blobs.Check(5 * MiB)
	packages.Check(5 * MiB)
	if n := strings.Count(logs.String(), "DISK RESERVE REACHED"); n != 1 {
		t.Errorf("warned %d times, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "refusing blob uploads, deployment packages until") {
		t.Errorf("the warning does not name both writes:\n%s", logs.String())
	}
}
