package homefs

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const mib = 1 << 20

// nobody is the unprivileged user the tests write as.
const nobody = 65534

// newHomes returns Homes over a fresh directory tree that other users may
// traverse, and undoes every mount and loop device below it when the test
// ends, whatever happened. It skips without root and loop devices, and
// fails instead when the CI environment variable is set.
func newHomes(t *testing.T) (*Homes, string) {
	t.Helper()
	if ok, reason := Supported(); !ok {
		if os.Getenv("CI") != "" {
			t.Fatalf("homefs is not supported here: %s", reason)
		}
		t.Skipf("homefs is not supported here: %s", reason)
	}
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	base, err := filepath.EvalSymlinks(base)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{ImageDir: filepath.Join(base, "homes"), Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		sweep(t, base)
	})
	return h, base
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// sweep detaches whatever a failed test left mounted or attached below
// base, and reports it.
func sweep(t *testing.T, base string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Error(err)
		return
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(unescapeMountinfo(f[4]), base+"/") {
			t.Errorf("left mounted: %s", f[4])
			unix.Unmount(unescapeMountinfo(f[4]), unix.MNT_DETACH)
		}
	}
	for _, dev := range loopsLeft(t, base) {
		t.Errorf("loop device left attached: %s", dev)
		exec.Command("losetup", "-d", dev).Run()
	}
}

// loopsLeft is loopsUnder once the devices had 5 s to go: a device whose
// file system was unmounted is released only when no mount namespace holds
// a copy of the mount any more, and any process that unshares its mounts
// (a sandbox starting, in another test package) holds one for an instant.
func loopsLeft(t *testing.T, base string) []string {
	devs := loopsUnder(t, base)
	for deadline := time.Now().Add(5 * time.Second); len(devs) > 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		devs = loopsUnder(t, base)
	}
	return devs
}

// loopsUnder lists loop devices whose backing file is below base, as
// losetup -a reports them.
func loopsUnder(t *testing.T, base string) []string {
	out, err := exec.Command("losetup", "-a").Output()
	if err != nil {
		t.Errorf("losetup -a: %v", err)
		return nil
	}
	var devs []string
	for line := range strings.SplitSeq(string(out), "\n") {
		if dev, rest, ok := strings.Cut(line, ":"); ok && strings.Contains(rest, base+"/") {
			devs = append(devs, dev)
		}
	}
	return devs
}

func mkdir(t *testing.T, p string, uid int) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, uid, uid); err != nil {
		t.Fatal(err)
	}
	return p
}

func isMounted(t *testing.T, home string) bool {
	t.Helper()
	_, ok, err := mountAt(home)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestQuotaStopsWritesWithENOSPC(t *testing.T) {
	h, base := newHomes(t)
	home := mkdir(t, filepath.Join(base, "sites", "app1", "home"), 0)
	const quota = 20 * mib
	if _, err := h.Ensure(t.Context(), "app1", home, quota, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(home)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != nobody || st.Gid != nobody || fi.Mode() != fs.ModeDir|0o700 {
		t.Errorf("home root is %d:%d %v, want %d:%d drwx------", st.Uid, st.Gid, fi.Mode(), nobody, nobody)
	}

	// Outside the home, a write at the same time is unaffected.
	outside := filepath.Join(t.TempDir(), "outside")
	var wg sync.WaitGroup
	var outsideErr error
	wg.Go(func() {
		outsideErr = os.WriteFile(outside, bytes.Repeat([]byte("x"), 2*quota), 0o600)
	})

	fill := filepath.Join(home, "fill")
	cmd := exec.Command("dd", "if=/dev/zero", "of="+fill, "bs=64k")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	wg.Wait()
	if err == nil {
		t.Fatalf("dd into the home succeeded; want it to fail when the home is full")
	}
	if !strings.Contains(strings.ToLower(stderr.String()), syscall.ENOSPC.Error()) {
		t.Errorf("dd failed with %v: %s; want %q", err, stderr.String(), syscall.ENOSPC.Error())
	}
	written, err := os.Stat(fill)
	if err != nil {
		t.Fatal(err)
	}
	if written.Size() > quota || written.Size() < quota/2 {
		t.Errorf("wrote %d bytes into a home of %d", written.Size(), quota)
	}
	if outsideErr != nil {
		t.Errorf("writing outside the home: %v", outsideErr)
	} else if fi, err := os.Stat(outside); err != nil || fi.Size() != 2*quota {
		t.Errorf("outside file: %v, %v", fi, err)
	}
	used, total, err := h.Usage("app1", home)
	if err != nil {
		t.Fatal(err)
	}
	if total > quota || used < written.Size() {
		t.Errorf("Usage = %d used of %d; want the %d written within %d", used, total, written.Size(), quota)
	}
}

func TestMigratesExistingContent(t *testing.T) {
	h, base := newHomes(t)
	home := mkdir(t, filepath.Join(base, "old", "home"), nobody)
	files := map[string]string{"a.txt": "alpha", "site/wwwroot/app.py": "print(1)\n", "data/deep/b.bin": strings.Repeat("b", 100000)}
	for name, body := range files {
		p := filepath.Join(home, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, nobody, nobody); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(home, "site"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.txt", filepath.Join(home, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(home, "outward")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(home, "a.txt"), filepath.Join(home, "hard")); err != nil {
		t.Fatal(err)
	}

	if _, err := h.Ensure(t.Context(), "old", home, 20*mib, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	if !isMounted(t, home) {
		t.Fatal("home is not mounted")
	}
	for name, body := range files {
		got, err := os.ReadFile(filepath.Join(home, name))
		if err != nil || string(got) != body {
			t.Errorf("%s: got %d bytes, %v; want its original content", name, len(got), err)
			continue
		}
		fi, _ := os.Lstat(filepath.Join(home, name))
		if st := fi.Sys().(*syscall.Stat_t); fi.Mode() != 0o640 || st.Uid != nobody {
			t.Errorf("%s: mode %v owner %d, want -rw-r----- owned by %d", name, fi.Mode(), st.Uid, nobody)
		}
	}
	if fi, err := os.Lstat(filepath.Join(home, "site")); err != nil || fi.Mode() != fs.ModeDir|0o750 {
		t.Errorf("site: %v, %v; want drwxr-x---", fi, err)
	}
	for link, target := range map[string]string{"link": "a.txt", "outward": "/etc/passwd"} {
		if got, err := os.Readlink(filepath.Join(home, link)); err != nil || got != target {
			t.Errorf("%s: readlink = %q, %v; want a symlink to %q", link, got, err, target)
		}
	}
	a, _ := os.Stat(filepath.Join(home, "a.txt"))
	hard, _ := os.Stat(filepath.Join(home, "hard"))
	if !os.SameFile(a, hard) {
		t.Error("the hard link became a copy")
	}
	if _, err := os.Lstat(filepath.Join(home, "lost+found")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("lost+found: %v; want none", err)
	}
	// The originals under the mount are gone.
	if err := h.Unmount("old", home); err != nil {
		t.Fatal(err)
	}
	if names, err := os.ReadDir(home); err != nil || len(names) != 0 {
		t.Errorf("under the mount: %v, %v; want nothing", names, err)
	}
}

func TestRefusesContentLargerThanQuota(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int64
	}{
		{"measured", 30 * mib},            // refused before any image is made
		{"found while copying", 19 * mib}, // fits the quota, not the file system's overhead
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, base := newHomes(t)
			home := mkdir(t, filepath.Join(base, "big", "home"), nobody)
			big := filepath.Join(home, "big.bin")
			body := bytes.Repeat([]byte{1}, int(tc.size))
			if err := os.WriteFile(big, body, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := h.Ensure(t.Context(), "big", home, 20*mib, nobody, nobody)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Ensure = %v; want ErrTooLarge", err)
			}
			t.Log(err)
			if isMounted(t, home) {
				t.Error("home was mounted")
			}
			if got, err := os.ReadFile(big); err != nil || !bytes.Equal(got, body) {
				t.Errorf("original content changed: %d bytes, %v", len(got), err)
			}
			if names, _ := os.ReadDir(h.dir); len(names) != 0 {
				t.Errorf("image directory holds %v; want nothing", names)
			}
		})
	}
}

func TestLifecycle(t *testing.T) {
	h, base := newHomes(t)
	ctx := t.Context()
	home := mkdir(t, filepath.Join(base, "life", "home"), 0)
	total := func() int64 {
		t.Helper()
		_, total, err := h.Usage("life", home)
		if err != nil {
			t.Fatal(err)
		}
		return total
	}
	ensure := func(quota, want int64) {
		t.Helper()
		size, err := h.Ensure(ctx, "life", home, quota, nobody, nobody)
		if err != nil {
			t.Fatal(err)
		}
		if size != want {
			t.Errorf("Ensure(%d) = size %d, want %d", quota, size, want)
		}
	}
	keep := filepath.Join(home, "keep.txt")
	checkKept := func(when string) {
		t.Helper()
		if got, err := os.ReadFile(keep); err != nil || string(got) != "kept" {
			t.Errorf("%s: keep.txt = %q, %v", when, got, err)
		}
	}

	ensure(20*mib, 20*mib)
	if err := os.WriteFile(keep, []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	ensure(20*mib, 20*mib) // idempotent
	checkKept("after a second Ensure")
	small := total()

	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if isMounted(t, home) {
		t.Fatal("home still mounted after Close")
	}
	if devs := loopsLeft(t, base); len(devs) != 0 {
		t.Errorf("loop devices attached after Close: %v", devs)
	}
	ensure(20*mib, 20*mib) // remount, as after a restart
	checkKept("after a remount")

	// Growing a mounted home needs CAP_SYS_RESOURCE; without it, the new
	// quota applies at the next mount.
	if size, err := h.Ensure(ctx, "life", home, 40*mib, nobody, nobody); err != nil {
		t.Fatal(err)
	} else if size != 40*mib {
		t.Logf("online growth unavailable (size %d); growing at the next mount", size)
		if err := h.Unmount("life", home); err != nil {
			t.Fatal(err)
		}
		ensure(40*mib, 40*mib)
	}
	checkKept("after growing")
	if big := total(); big <= small+15*mib {
		t.Errorf("total after growing = %d, was %d; want about 20 MiB more", big, small)
	}

	ensure(24*mib, 40*mib) // a smaller quota waits for the next mount
	if err := h.Unmount("life", home); err != nil {
		t.Fatal(err)
	}
	ensure(24*mib, 24*mib)
	checkKept("after shrinking")
	if got := total(); got > 24*mib {
		t.Errorf("total after shrinking = %d, want at most %d", got, 24*mib)
	}

	if err := h.Remove(ctx, "life", home); err != nil {
		t.Fatal(err)
	}
	if isMounted(t, home) {
		t.Error("home still mounted after Remove")
	}
	if names, err := os.ReadDir(home); err != nil || len(names) != 0 {
		t.Errorf("home after Remove: %v, %v; want an empty directory", names, err)
	}
	if _, err := os.Stat(h.image("life")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("image after Remove: %v; want it deleted", err)
	}
	if devs := loopsLeft(t, base); len(devs) != 0 {
		t.Errorf("loop devices attached after Remove: %v", devs)
	}
}

func TestUnmountDetachesBusyHome(t *testing.T) {
	h, base := newHomes(t)
	home := mkdir(t, filepath.Join(base, "busy", "home"), 0)
	if _, err := h.Ensure(t.Context(), "busy", home, 20*mib, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(home, "open"))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Unmount("busy", home); err != nil {
		t.Fatal(err)
	}
	if isMounted(t, home) {
		t.Error("home still mounted")
	}
	if len(loopsUnder(t, base)) != 1 {
		t.Error("the loop device was released while a file on it was open")
	}
	f.Close()
	if devs := loopsLeft(t, base); len(devs) != 0 {
		t.Errorf("loop devices attached after the last file closed: %v", devs)
	}
}

func TestRefusesUnsafeInput(t *testing.T) {
	h, base := newHomes(t)
	ctx := context.Background()
	real := mkdir(t, filepath.Join(base, "real"), 0)
	link := filepath.Join(base, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Ensure(ctx, "linked", link, 20*mib, nobody, nobody); err == nil {
		t.Error("Ensure accepted a symlinked home")
	}
	if isMounted(t, real) {
		t.Error("the symlink's target was mounted")
	}
	for _, app := range []string{"", "../x", "a/b", "..", "App", "a.b", "a b"} {
		if _, err := h.Ensure(ctx, app, real, 20*mib, nobody, nobody); err == nil {
			t.Errorf("Ensure accepted app name %q", app)
		}
	}
	if _, err := h.Ensure(ctx, "tiny", real, 1*mib, nobody, nobody); err == nil {
		t.Error("Ensure accepted a 1 MiB quota")
	}
	if names, _ := os.ReadDir(h.dir); len(names) != 0 {
		t.Errorf("image directory holds %v; want nothing", names)
	}
	// A home already mounted from something else is not taken over.
	if err := unix.Mount("tmpfs", real, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(real, unix.MNT_DETACH)
	if _, err := h.Ensure(ctx, "other", real, 20*mib, nobody, nobody); err == nil {
		t.Error("Ensure took over a tmpfs mount")
	}
	if err := h.Unmount("other", real); err == nil {
		t.Error("Unmount unmounted a tmpfs that is not the app's")
	}
}

func TestUnescapeMountinfo(t *testing.T) {
	for in, want := range map[string]string{`/a\040b`: "/a b", `/plain`: "/plain", `/x\134y`: `/x\y`, `/end\04`: `/end\04`} {
		if got := unescapeMountinfo(in); got != want {
			t.Errorf("unescapeMountinfo(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestImagesAndRemoveWithoutHome: Images lists each app with an image and
// its size; Remove of an app whose home directory is gone deletes its image
// and is no error, and Remove of an app with neither is none either.
func TestImagesAndRemoveWithoutHome(t *testing.T) {
	h, base := newHomes(t)
	home := mkdir(t, filepath.Join(base, "sites", "gone", "home"), 0)
	if _, err := h.Ensure(t.Context(), "gone", home, 16*mib, 0, 0); err != nil {
		t.Fatal(err)
	}
	if imgs, err := h.Images(); err != nil || len(imgs) != 1 || imgs["gone"] != 16*mib {
		t.Fatalf("Images = %v, %v; want gone: %d", imgs, err, 16*mib)
	}
	if err := h.Unmount("gone", home); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(base, "sites")); err != nil {
		t.Fatal(err)
	}
	if err := h.Remove(t.Context(), "gone", home); err != nil {
		t.Fatalf("Remove without a home: %v", err)
	}
	if imgs, err := h.Images(); err != nil || len(imgs) != 0 {
		t.Errorf("Images after Remove = %v, %v; want none", imgs, err)
	}
	if err := h.Remove(t.Context(), "never", filepath.Join(base, "nowhere", "home")); err != nil {
		t.Errorf("Remove of an app with no image and no home: %v", err)
	}
}

// TestNoLostAndFound: App Service's /home has no lost+found, so an image's
// root has none once mounted — not after mkfs.ext4 (an image made before
// homes dropped it), and not after the e2fsck that precedes a resize, which
// makes it again. Only the file system's own goes (an empty directory of
// root's): the app's own lost+found at the root stays, as does one that holds
// what e2fsck recovered.
func TestNoLostAndFound(t *testing.T) {
	h, base := newHomes(t)
	ctx := t.Context()
	lostFound := func(home string) (fs.FileInfo, error) { return os.Lstat(filepath.Join(home, "lost+found")) }
	none := func(t *testing.T, when, home string) {
		t.Helper()
		if fi, err := lostFound(home); err == nil {
			t.Errorf("%s: lost+found is there (%v); want none", when, fi.Mode())
		} else if !errors.Is(err, fs.ErrNotExist) {
			t.Error(err)
		}
	}

	t.Run("made by mkfs", func(t *testing.T) {
		home := mkdir(t, filepath.Join(base, "old", "home"), 0)
		if err := h.mkfs(ctx, h.image("old"), 20*mib, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Ensure(ctx, "old", home, 20*mib, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		none(t, "after mounting an image mkfs.ext4 made", home)
	})
	t.Run("made again by e2fsck", func(t *testing.T) {
		home := mkdir(t, filepath.Join(base, "grown", "home"), 0)
		if _, err := h.Ensure(ctx, "grown", home, 20*mib, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		if err := h.Unmount("grown", home); err != nil {
			t.Fatal(err)
		}
		// Grown offline: e2fsck checks the image first.
		if _, err := h.Ensure(ctx, "grown", home, 24*mib, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		none(t, "after a resize", home)
	})
	for _, tc := range []struct {
		name  string
		owner int
		file  string // in it
	}{
		{"the app's own", nobody, ""},
		{"holding what e2fsck recovered", 0, "#12"},
	} {
		t.Run("kept: "+tc.name, func(t *testing.T) {
			app := strings.ReplaceAll(strings.ReplaceAll(tc.name, "'", ""), " ", "-")
			home := mkdir(t, filepath.Join(base, app, "home"), 0)
			if _, err := h.Ensure(ctx, app, home, 20*mib, nobody, nobody); err != nil {
				t.Fatal(err)
			}
			lf := filepath.Join(home, "lost+found")
			if err := os.Mkdir(lf, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(lf, tc.owner, tc.owner); err != nil {
				t.Fatal(err)
			}
			if tc.file != "" {
				if err := os.WriteFile(filepath.Join(lf, tc.file), []byte("recovered"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := h.Unmount(app, home); err != nil {
				t.Fatal(err)
			}
			if _, err := h.Ensure(ctx, app, home, 20*mib, nobody, nobody); err != nil {
				t.Fatal(err)
			}
			fi, err := lostFound(home)
			if err != nil {
				t.Fatalf("lost+found after a remount: %v; want it kept", err)
			}
			if st := fi.Sys().(*syscall.Stat_t); !fi.IsDir() || int(st.Uid) != tc.owner {
				t.Errorf("lost+found is %v owned by %d; want the directory of %d", fi.Mode(), st.Uid, tc.owner)
			}
			if tc.file != "" {
				if b, err := os.ReadFile(filepath.Join(lf, tc.file)); err != nil || string(b) != "recovered" {
					t.Errorf("recovered file: %q, %v", b, err)
				}
			}
		})
	}
}
