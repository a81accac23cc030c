// Package homefs owns the file system of each app's persistent home: an ext4
// image of the pricing tier's quota, loop-mounted at the home path, so that
// writes past the quota fail with ENOSPC for that app and nothing else. App
// Service limits /home per tier (Free and Shared 1 GB, Basic 10 GB, Standard
// 50 GB, Premium 250 GB; see
// https://learn.microsoft.com/azure/azure-resource-manager/management/azure-subscription-service-limits#app-service-limits).
//
// Images are sparse files <ImageDir>/<app>.img made with mkfs.ext4 (with a
// journal, no reserved blocks) and attached to loop devices through the
// kernel's loop ioctls with autoclear, so a device is released as soon as its
// file system is unmounted (even by a lazy unmount whose last user goes away
// later). Homes are mounted nosuid,nodev; they stay executable, as App
// Service's /home is. A mounted image's root has no lost+found, as App
// Service's /home has none (dropLostFound).
//
// A home that already holds files (a site made before quotas) is migrated on
// the first Ensure: the files are copied into the new image through a private
// staging mount, and removed from the underlying directory only once the image
// is complete. A quota larger than the image grows it online; a smaller one
// applies the next time the home is mounted (see Ensure).
//
// It needs root, /dev/loop-control and mkfs.ext4, e2fsck and resize2fs
// (Debian package e2fsprogs); see Supported.
package homefs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// MinQuota is the smallest quota Ensure accepts: an ext4 file system with a
// journal needs a few megabytes of its own.
const MinQuota = 8 << 20

// ErrTooLarge is wrapped by Ensure's error when a home's existing content
// does not fit the quota of its new image; the content is left in place.
var ErrTooLarge = errors.New("the existing content of the home does not fit its quota")

// Config configures Homes.
type Config struct {
	// ImageDir holds the images; New creates it (0700, root-owned).
	ImageDir string
	Logger   *slog.Logger
}

// Homes mounts app homes from their images. Ensure, Unmount and Remove for
// one app are serialized; different apps proceed in parallel.
type Homes struct {
	dir    string
	logger *slog.Logger
	tools  tools

	mu      sync.Mutex
	locks   map[string]*sync.Mutex // per app
	mounted map[string]string      // app → home this Homes mounted
}

type tools struct{ mkfs, e2fsck, resize2fs string }

func findTools() (tools, error) {
	var t tools
	for _, p := range []struct {
		name string
		dst  *string
	}{{"mkfs.ext4", &t.mkfs}, {"e2fsck", &t.e2fsck}, {"resize2fs", &t.resize2fs}} {
		path, err := lookPath(p.name)
		if err != nil {
			return t, fmt.Errorf("%s not found (install e2fsprogs): %w", p.name, err)
		}
		*p.dst = path
	}
	return t, nil
}

// lookPath finds a tool on PATH or in the sbin directories, which a
// server's PATH may lack.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// Supported reports whether homes can be quota-limited here: it needs root,
// /dev/loop-control and the e2fsprogs tools.
func Supported() (ok bool, reason string) {
	if os.Geteuid() != 0 {
		return false, "not running as root"
	}
	f, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return false, fmt.Sprintf("no loop devices: %v", err)
	}
	f.Close()
	if _, err := findTools(); err != nil {
		return false, err.Error()
	}
	return true, ""
}

// New returns Homes keeping images in cfg.ImageDir.
func New(cfg Config) (*Homes, error) {
	if !filepath.IsAbs(cfg.ImageDir) {
		return nil, fmt.Errorf("opening homes: image directory %q is not an absolute path", cfg.ImageDir)
	}
	if cfg.Logger == nil {
		return nil, errors.New("opening homes: no logger")
	}
	t, err := findTools()
	if err != nil {
		return nil, fmt.Errorf("opening homes: %w", err)
	}
	if err := os.MkdirAll(cfg.ImageDir, 0o700); err != nil {
		return nil, fmt.Errorf("opening homes: %w", err)
	}
	fi, err := os.Lstat(cfg.ImageDir)
	if err != nil {
		return nil, fmt.Errorf("opening homes: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("opening homes: %s is not a directory", cfg.ImageDir)
	}
	if err := os.Chown(cfg.ImageDir, 0, 0); err != nil {
		return nil, fmt.Errorf("opening homes: %w", err)
	}
	if err := os.Chmod(cfg.ImageDir, 0o700); err != nil {
		return nil, fmt.Errorf("opening homes: %w", err)
	}
	dir, err := filepath.EvalSymlinks(cfg.ImageDir)
	if err != nil {
		return nil, fmt.Errorf("opening homes: %w", err)
	}
	return &Homes{dir: dir, logger: cfg.Logger, tools: t,
		locks: map[string]*sync.Mutex{}, mounted: map[string]string{}}, nil
}

// validApp accepts what the caller derives from a site name: lower-case
// letters, digits and hyphens.
func validApp(app string) error {
	if app == "" || len(app) > 128 {
		return fmt.Errorf("invalid app name %q", app)
	}
	for _, c := range app {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("invalid app name %q: only a-z, 0-9 and - are allowed", app)
		}
	}
	return nil
}

func (h *Homes) lock(app string) func() {
	h.mu.Lock()
	l, ok := h.locks[app]
	if !ok {
		l = new(sync.Mutex)
		h.locks[app] = l
	}
	h.mu.Unlock()
	l.Lock()
	return l.Unlock
}

func (h *Homes) image(app string) string { return filepath.Join(h.dir, app+".img") }

// canonicalHome returns home as the kernel names it in mountinfo (its parent
// with symlinks resolved), refusing a relative path and a home that is
// itself a symlink or not a directory.
func canonicalHome(home string) (string, error) {
	if !filepath.IsAbs(home) {
		return "", fmt.Errorf("home %q is not an absolute path", home)
	}
	home = filepath.Clean(home)
	parent, err := filepath.EvalSymlinks(filepath.Dir(home))
	if err != nil {
		return "", err
	}
	home = filepath.Join(parent, filepath.Base(home))
	fi, err := os.Lstat(home)
	if err != nil {
		return "", err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return "", fmt.Errorf("home %s is a symlink; refusing to follow it", home)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("home %s is not a directory", home)
	}
	return home, nil
}

// Ensure makes home, an existing directory, a mount of the app's image,
// with the image's root owned by uid:gid, mode 0700. It returns the size of
// the image in effect.
//
//   - Without an image, it makes one of quota bytes (rounded down to 4 KiB),
//     copies into it whatever home holds (keeping modes, owners, times, hard
//     links and symlinks, never following them; fifos, sockets and devices
//     are left out), removes the copied originals and mounts the image. If
//     the content does not fit, the error wraps ErrTooLarge and home is left
//     as it was.
//   - With the image mounted at home, it checks the mount is that image's.
//   - With the image not mounted (after a restart or Unmount), it mounts it.
//   - A quota larger than the image grows it, online if mounted.
//   - A quota smaller than the image cannot apply to a mounted file system:
//     it applies the next time Ensure mounts the image (after Unmount or a
//     server restart), and then only if the used space fits; until then the
//     returned size is larger than quota and Ensure logs why.
func (h *Homes) Ensure(ctx context.Context, app, home string, quota int64, uid, gid int) (size int64, err error) {
	if err := validApp(app); err != nil {
		return 0, fmt.Errorf("ensuring home: %w", err)
	}
	quota &^= 4095
	if quota < MinQuota {
		return 0, fmt.Errorf("ensuring home of %s: quota %d bytes is below the minimum of %d", app, quota, MinQuota)
	}
	if uid < 0 || gid < 0 {
		return 0, fmt.Errorf("ensuring home of %s: invalid owner %d:%d", app, uid, gid)
	}
	defer h.lock(app)()
	home, err = canonicalHome(home)
	if err != nil {
		return 0, fmt.Errorf("ensuring home of %s: %w", app, err)
	}
	img := h.image(app)
	m, mounted, err := mountAt(home)
	if err != nil {
		return 0, fmt.Errorf("ensuring home of %s: %w", app, err)
	}
	imgInfo, err := os.Lstat(img)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if mounted {
			return 0, fmt.Errorf("ensuring home of %s: %s is already a mount point of %s (%s), not of a home image", app, home, m.source, m.fstype)
		}
		if err := h.create(ctx, app, home, img, quota, uid, gid); err != nil {
			return 0, fmt.Errorf("ensuring home of %s: %w", app, err)
		}
		size = quota
	case err != nil:
		return 0, fmt.Errorf("ensuring home of %s: %w", app, err)
	case !imgInfo.Mode().IsRegular():
		return 0, fmt.Errorf("ensuring home of %s: %s is not a regular file", app, img)
	default:
		if mounted {
			if ok, err := m.backedBy(img); err != nil {
				return 0, fmt.Errorf("ensuring home of %s: %w", app, err)
			} else if !ok {
				return 0, fmt.Errorf("ensuring home of %s: %s is a mount point of %s, not of %s", app, home, m.source, img)
			}
			if err := h.growMounted(ctx, app, img, m.source, quota); err != nil {
				return 0, fmt.Errorf("ensuring home of %s: %w", app, err)
			}
		} else {
			// A file system still alive elsewhere (see liveLoop) is
			// mounted again as it is: checking or resizing its image
			// offline would corrupt it.
			live, err := liveLoop(img)
			if err != nil {
				return 0, fmt.Errorf("ensuring home of %s: %w", app, err)
			}
			if live != nil {
				live.Close()
			}
			if size, err = fsSize(img); err != nil {
				return 0, fmt.Errorf("ensuring home of %s: %w", app, err)
			}
			switch {
			case live != nil:
				h.logger.Info("the app's home file system is still in use (an open file, or another mount namespace); mounting it again as it is",
					"app", app)
			case quota > size:
				if err := h.growOffline(ctx, img, quota); err != nil {
					return 0, fmt.Errorf("ensuring home of %s: growing its image to %s: %w", app, human(quota), err)
				}
			case quota < size:
				h.shrinkOffline(ctx, app, img, size, quota)
			}
			if err := h.warnHidden(app, home); err != nil {
				return 0, fmt.Errorf("ensuring home of %s: %w", app, err)
			}
			if m, err = mountImage(img, home); err != nil {
				return 0, fmt.Errorf("ensuring home of %s: %w", app, err)
			}
			if err := h.dropLostFound(app, home); err != nil {
				return 0, fmt.Errorf("ensuring home of %s: %w", app, err)
			}
			if live != nil {
				if err := h.growMounted(ctx, app, img, m.source, quota); err != nil {
					return 0, fmt.Errorf("ensuring home of %s: %w", app, err)
				}
			}
		}
		if size, err = fsSize(m.source); err != nil {
			return 0, fmt.Errorf("ensuring home of %s: %w", app, err)
		}
		if quota < size {
			h.logger.Info("the /home quota is smaller than the app's home file system; it applies when the home is next mounted, if the used space fits",
				"app", app, "quota_bytes", quota, "fs_bytes", size)
		}
	}
	h.mu.Lock()
	h.mounted[app] = home
	h.mu.Unlock()
	if err := setRootOwner(home, uid, gid); err != nil {
		return 0, fmt.Errorf("ensuring home of %s: %w", app, err)
	}
	return size, nil
}

// setRootOwner makes the mounted root uid:gid, mode 0700, without following
// a symlink.
func setRootOwner(home string, uid, gid int) error {
	f, err := os.OpenFile(home, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Chown(uid, gid); err != nil {
		return err
	}
	return f.Chmod(0o700)
}

// create makes the app's image, migrating home's content into it, and
// mounts it at home. The image is built under a temporary name and renamed
// only when complete; the originals are removed only after that.
func (h *Homes) create(ctx context.Context, app, home, img string, quota int64, uid, gid int) error {
	src, err := os.OpenRoot(home)
	if err != nil {
		return err
	}
	defer src.Close()
	entries, err := readDirNames(src, ".")
	if err != nil {
		return fmt.Errorf("reading %s: %w", home, err)
	}
	if len(entries) > 0 {
		need, err := treeSize(ctx, src)
		if err != nil {
			return fmt.Errorf("measuring the existing content of %s: %w", home, err)
		}
		if need > quota {
			return fmt.Errorf("%w: %s holds %s, the quota is %s; nothing was changed", ErrTooLarge, home, human(need), human(quota))
		}
	}
	tmp := img + ".new"
	os.Remove(tmp) // left by an interrupted attempt
	if err := h.mkfs(ctx, tmp, quota, uid, gid); err != nil {
		os.Remove(tmp)
		return err
	}
	stage := filepath.Join(h.dir, app+".stage")
	err = h.fill(ctx, app, tmp, stage, src, home)
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		err = fmt.Errorf("%w: %s does not fit %s once copied (%v); nothing was changed", ErrTooLarge, home, human(quota), err)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, img); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := syncDir(h.dir); err != nil {
		return err
	}
	// The image is now authoritative: the originals can go.
	for _, name := range entries {
		if err := src.RemoveAll(name); err != nil {
			return fmt.Errorf("removing %s from %s after copying it into the image: %w", name, home, err)
		}
	}
	if len(entries) > 0 {
		h.logger.Info("moved the app's existing home into its image", "app", app, "entries", len(entries))
	}
	if _, err := mountImage(img, home); err != nil {
		return err
	}
	return nil
}

// fill mounts the new image at a private staging directory, removes
// lost+found (dropLostFound) and copies src into it.
func (h *Homes) fill(ctx context.Context, app, img, stage string, src *os.Root, home string) (err error) {
	if err := os.RemoveAll(stage); err != nil {
		return err
	}
	if err := os.Mkdir(stage, 0o700); err != nil {
		return err
	}
	defer os.Remove(stage)
	if _, err := mountImage(img, stage); err != nil {
		return err
	}
	defer func() {
		if uerr := unmount(stage); uerr != nil && err == nil {
			err = fmt.Errorf("unmounting the staging mount: %w", uerr)
		}
	}()
	if err := h.dropLostFound(app, stage); err != nil {
		return err
	}
	dst, err := os.OpenRoot(stage)
	if err != nil {
		return err
	}
	defer dst.Close()
	if err := copyTree(ctx, src, dst, func(rel string) {
		h.logger.Warn("left out of the app's new home: not a file, directory or symlink", "home", home, "path", rel)
	}); err != nil {
		return fmt.Errorf("copying %s into its image: %w", home, err)
	}
	return nil
}

// dropLostFound removes the file system's own lost+found from the root of
// the image mounted at point. App Service's /home has none, and the app
// would see it there (root's, which it can neither read nor remove), as
// would Kudu's file API. mkfs.ext4 makes it, and e2fsck makes it again each
// time it checks the image (before a resize, or when an operator runs it):
// nothing else uses it, and e2fsck never needs it to be there already. So
// it is removed at every mount, which covers images made before this too.
// Only an empty directory of root's is the file system's own: an app's
// lost+found is its user's and stays, and one that holds what e2fsck
// recovered stays for the operator, who is told.
func (h *Homes) dropLostFound(app, point string) error {
	dir, err := os.OpenFile(point, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer dir.Close()
	const name = "lost+found"
	var st unix.Stat_t
	err = unix.Fstatat(int(dir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil
	case err != nil:
		return fmt.Errorf("examining %s/%s: %w", point, name, err)
	case st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Uid != 0:
		return nil // the app's own
	}
	// AT_REMOVEDIR: only ever a directory, and only an empty one.
	err = unix.Unlinkat(int(dir.Fd()), name, unix.AT_REMOVEDIR)
	switch {
	case errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST):
		h.logger.Warn("the app's home holds files e2fsck recovered into lost+found; they are left there for the operator to look at",
			"app", app, "dir", filepath.Join(point, name))
		return nil
	case err != nil:
		return fmt.Errorf("removing %s/%s: %w", point, name, err)
	}
	return nil
}

func (h *Homes) mkfs(ctx context.Context, img string, size int64, uid, gid int) error {
	f, err := os.OpenFile(img, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	err = f.Truncate(size) // sparse
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// -m 0: the whole quota is the app's; the journal stays for crash
	// safety; lazy init keeps creation fast and the file sparse.
	args := []string{"-q", "-F", "-t", "ext4", "-m", "0",
		"-E", "lazy_itable_init=1,lazy_journal_init=1,root_owner=" + strconv.Itoa(uid) + ":" + strconv.Itoa(gid),
		img}
	if out, err := exec.CommandContext(ctx, h.tools.mkfs, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("mkfs.ext4 %s: %w: %s", img, err, out)
	}
	return nil
}

// growOnline extends a mounted image to size bytes: the file, then the
// loop device's capacity, then the file system, online (which needs
// CAP_SYS_RESOURCE).
func (h *Homes) growOnline(ctx context.Context, img, dev string, size int64) error {
	if err := os.Truncate(img, size); err != nil {
		return err
	}
	if err := setCapacity(dev); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, h.tools.resize2fs, dev).CombinedOutput(); err != nil {
		return fmt.Errorf("resize2fs %s: %w: %s", dev, err, bytes.TrimSpace(out))
	}
	return nil
}

// growMounted grows the file system mounted from dev, img's loop device,
// online to quota if it is smaller. The app keeps working with its current
// size if that fails; the next mount grows the image offline.
func (h *Homes) growMounted(ctx context.Context, app, img, dev string, quota int64) error {
	size, err := fsSize(dev)
	if err != nil {
		return err
	}
	if quota > size {
		if err := h.growOnline(ctx, img, dev, quota); err != nil {
			h.logger.Warn("cannot grow the app's mounted home; its new quota applies when the home is next mounted",
				"app", app, "quota_bytes", quota, "fs_bytes", size, "err", err)
		}
	}
	return nil
}

// growOffline extends an unmounted image and its file system to size
// bytes.
func (h *Homes) growOffline(ctx context.Context, img string, size int64) error {
	fi, err := os.Stat(img)
	if err != nil {
		return err
	}
	if fi.Size() < size {
		if err := os.Truncate(img, size); err != nil {
			return err
		}
	}
	if err := h.fsck(ctx, img); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, h.tools.resize2fs, img, strconv.FormatInt(size/1024, 10)+"K").CombinedOutput(); err != nil {
		return fmt.Errorf("resize2fs %s: %w: %s", img, err, bytes.TrimSpace(out))
	}
	return nil
}

// fsck checks an unmounted image, as resize2fs requires; it exits 1 when it
// fixed something, which is fine here.
func (h *Homes) fsck(ctx context.Context, img string) error {
	out, err := exec.CommandContext(ctx, h.tools.e2fsck, "-f", "-p", img).CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		return fmt.Errorf("e2fsck %s: %w: %s", img, err, bytes.TrimSpace(out))
	}
	return nil
}

// shrinkOffline tries to shrink an unmounted image's file system to size
// bytes, then the file. Failing (the used space does not fit, or a tool
// fails) leaves the file system as it was, and is logged: the app keeps its
// larger home.
func (h *Homes) shrinkOffline(ctx context.Context, app, img string, from, to int64) {
	if err := h.fsck(ctx, img); err != nil {
		h.logger.Warn("cannot shrink the app's home to its quota", "app", app, "quota_bytes", to, "fs_bytes", from, "err", err)
		return
	}
	out, err := exec.CommandContext(ctx, h.tools.resize2fs, img, strconv.FormatInt(to/1024, 10)+"K").CombinedOutput()
	if err != nil {
		h.logger.Warn("cannot shrink the app's home to its quota (does the used space fit?); it keeps its current size", "app", app,
			"quota_bytes", to, "fs_bytes", from, "err", fmt.Sprintf("%v: %s", err, bytes.TrimSpace(out)))
		return
	}
	if err := os.Truncate(img, to); err != nil {
		// The file system already fits; the file keeps its tail.
		h.logger.Warn("shrank the app's home file system but not its image file", "app", app, "err", err)
		return
	}
	h.logger.Info("shrank the app's home to its quota", "app", app, "quota_bytes", to, "fs_bytes", from)
}

// warnHidden logs entries in an unmounted home that a mount is about to
// hide: left by a migration interrupted after its image was complete, or
// written while the home was not mounted. They are kept, not deleted.
func (h *Homes) warnHidden(app, home string) error {
	r, err := os.OpenRoot(home)
	if err != nil {
		return err
	}
	defer r.Close()
	names, err := readDirNames(r, ".")
	if err != nil {
		return err
	}
	if len(names) > 0 {
		h.logger.Warn("the unmounted home directory holds entries that its image's mount hides", "app", app, "home", home, "entries", len(names))
	}
	return nil
}

// Usage returns the used and total bytes of the app's mounted home.
func (h *Homes) Usage(app, home string) (used, total int64, err error) {
	if err := validApp(app); err != nil {
		return 0, 0, fmt.Errorf("reading home usage: %w", err)
	}
	home, err = canonicalHome(home)
	if err != nil {
		return 0, 0, fmt.Errorf("reading home usage of %s: %w", app, err)
	}
	if err := h.checkMounted(app, home); err != nil {
		return 0, 0, fmt.Errorf("reading home usage of %s: %w", app, err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(home, &st); err != nil {
		return 0, 0, fmt.Errorf("reading home usage of %s: %w", app, err)
	}
	total = int64(st.Blocks) * st.Bsize
	used = total - int64(st.Bfree)*st.Bsize
	return used, total, nil
}

func (h *Homes) checkMounted(app, home string) error {
	m, ok, err := mountAt(home)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s is not mounted", home)
	}
	if ok, err := m.backedBy(h.image(app)); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%s is a mount point of %s, not of the app's image", home, m.source)
	}
	return nil
}

// Unmount unmounts the app's home if its image is mounted there; a busy
// file system is detached lazily (its loop device is released when its
// last user goes), so Unmount never blocks on running processes.
func (h *Homes) Unmount(app, home string) error {
	if err := validApp(app); err != nil {
		return fmt.Errorf("unmounting home: %w", err)
	}
	defer h.lock(app)()
	if err := h.unmountLocked(app, home); err != nil {
		return fmt.Errorf("unmounting home of %s: %w", app, err)
	}
	return nil
}

func (h *Homes) unmountLocked(app, home string) error {
	home, err := canonicalHome(home)
	if err != nil {
		return err
	}
	for {
		m, ok, err := mountAt(home)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if ours, err := m.backedBy(h.image(app)); err != nil {
			return err
		} else if !ours {
			return fmt.Errorf("%s is a mount point of %s, not of the app's image; left mounted", home, m.source)
		}
		if err := unmount(home); err != nil {
			return err
		}
	}
	h.mu.Lock()
	if h.mounted[app] == home {
		delete(h.mounted, app)
	}
	h.mu.Unlock()
	return nil
}

// Remove unmounts the app's home and deletes its image, for a deleted site.
// It also empties the directory under the mount, leaving home an empty,
// unmounted directory. A home that does not exist has nothing to unmount
// or empty: only an image left of it, if any, is deleted.
func (h *Homes) Remove(ctx context.Context, app, home string) error {
	if err := validApp(app); err != nil {
		return fmt.Errorf("removing home: %w", err)
	}
	defer h.lock(app)()
	home, err := canonicalHome(home)
	missing := errors.Is(err, fs.ErrNotExist)
	if err != nil && !missing {
		return fmt.Errorf("removing home of %s: %w", app, err)
	}
	if !missing {
		if err := h.unmountLocked(app, home); err != nil {
			return fmt.Errorf("removing home of %s: %w", app, err)
		}
	}
	for _, p := range []string{h.image(app), h.image(app) + ".new"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing home of %s: %w", app, err)
		}
	}
	if missing {
		return nil
	}
	r, err := os.OpenRoot(home)
	if err != nil {
		return fmt.Errorf("removing home of %s: %w", app, err)
	}
	defer r.Close()
	names, err := readDirNames(r, ".")
	if err != nil {
		return fmt.Errorf("removing home of %s: %w", app, err)
	}
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.RemoveAll(n); err != nil {
			return fmt.Errorf("removing home of %s: %w", app, err)
		}
	}
	return nil
}

// Images returns the apps that have an image, each with the image's size
// in bytes.
func (h *Homes) Images() (map[string]int64, error) {
	entries, err := os.ReadDir(h.dir)
	if err != nil {
		return nil, fmt.Errorf("listing images: %w", err)
	}
	out := map[string]int64{}
	for _, e := range entries {
		app, ok := strings.CutSuffix(e.Name(), ".img")
		if !ok || !e.Type().IsRegular() || validApp(app) != nil {
			continue
		}
		if fi, err := e.Info(); err == nil {
			out[app] = fi.Size()
		}
	}
	return out, nil
}

// Close unmounts every home this Homes mounted, lazily where busy.
func (h *Homes) Close() error {
	h.mu.Lock()
	mounted := make(map[string]string, len(h.mounted))
	for app, home := range h.mounted {
		mounted[app] = home
	}
	h.mu.Unlock()
	var errs []error
	for app, home := range mounted {
		if err := h.Unmount(app, home); err != nil {
			errs = append(errs, err)
		}
	}
	// The kernel releases an unmounted image's loop device (autoclear)
	// after the unmount returns. Until it has, the image reads as in use
	// elsewhere, and a server started again at once would mount it as it
	// is, without the resize its plan asks for: wait for the release, a
	// few seconds at most (a home unmounted lazily, still busy, keeps its
	// device until its last user goes).
	deadline := time.Now().Add(closeWait)
	for app := range mounted {
		for time.Now().Before(deadline) {
			dev, err := liveLoop(h.image(app))
			if err != nil || dev == nil {
				break
			}
			dev.Close()
			time.Sleep(20 * time.Millisecond)
		}
	}
	return errors.Join(errs...)
}

// closeWait bounds how long Close waits for the loop devices of the homes
// it unmounted to be released.
const closeWait = 5 * time.Second

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	default:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
}
