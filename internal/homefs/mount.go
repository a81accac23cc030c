package homefs

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// mountFlags: homes keep exec (apps may keep scripts in /home, as App
// Service allows) but never honour setuid bits or device nodes.
const mountFlags = unix.MS_NOSUID | unix.MS_NODEV

// mount is one line of /proc/self/mountinfo.
type mount struct {
	point, fstype, source string
}

// mountAt returns the topmost mount at point (a canonical path), if any.
func mountAt(point string) (m mount, ok bool, err error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return m, false, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		// id parent major:minor root point options [optional...] - fstype source superoptions
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" && i >= 6 {
				sep = i
				break
			}
		}
		if len(fields) < 5 || sep < 0 || len(fields) < sep+3 {
			continue
		}
		if unescapeMountinfo(fields[4]) != point {
			continue
		}
		// Later lines are mounted later, on top.
		m, ok = mount{point: point, fstype: fields[sep+1], source: unescapeMountinfo(fields[sep+2])}, true
	}
	return m, ok, sc.Err()
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space,
// \011, \012, \134) in mountinfo paths.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// backedBy reports whether m is an ext4 mount of a loop device whose
// backing file is img (compared by device and inode, not by name).
func (m mount) backedBy(img string) (bool, error) {
	if m.fstype != "ext4" || !isLoopDevice(m.source) {
		return false, nil
	}
	var st syscall.Stat_t
	if err := syscall.Stat(img, &st); err != nil {
		return false, err
	}
	f, err := os.Open(m.source)
	if err != nil {
		return false, err
	}
	defer f.Close()
	info, err := unix.IoctlLoopGetStatus64(int(f.Fd()))
	if err != nil {
		return false, fmt.Errorf("reading the status of %s: %w", m.source, err)
	}
	return info.Device == uint64(st.Dev) && info.Inode == st.Ino, nil
}

func isLoopDevice(p string) bool {
	n, ok := strings.CutPrefix(p, "/dev/loop")
	if !ok || n == "" {
		return false
	}
	_, err := strconv.ParseUint(n, 10, 32)
	return err == nil
}

// attachLoop binds img to a free loop device with autoclear, so the device
// is released when its last user (the mount) goes. The caller must close
// the returned device file once the mount holds it.
func attachLoop(img string) (dev *os.File, err error) {
	backing, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer backing.Close()
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer ctl.Close()
	// Another process may take the free device between GET_FREE and
	// CONFIGURE; then ask again.
	for range 16 {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return nil, fmt.Errorf("finding a free loop device: %w", err)
		}
		dev, err = os.OpenFile("/dev/loop"+strconv.Itoa(n), os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("opening a loop device: %w", err)
		}
		cfg := unix.LoopConfig{Fd: uint32(backing.Fd())}
		cfg.Info.Flags = unix.LO_FLAGS_AUTOCLEAR
		copy(cfg.Info.File_name[:len(cfg.Info.File_name)-1], img)
		err = unix.IoctlLoopConfigure(int(dev.Fd()), &cfg)
		if err == nil {
			return dev, nil
		}
		dev.Close()
		if !errors.Is(err, unix.EBUSY) {
			return nil, fmt.Errorf("attaching %s to a loop device: %w", img, err)
		}
	}
	return nil, fmt.Errorf("attaching %s to a loop device: every free device was taken first", img)
}

// liveLoop returns the loop device img is attached to, opened (so that it
// stays attached until closed), or nil if there is none. An image that is
// not mounted here can still be attached: its file system lives on while a
// lazily detached mount has a file open, or while another mount namespace
// holds a copy of the mount. Such a file system must be mounted again
// through that device — the kernel then gives back the same, live file
// system — never through a second device: a second ext4 over the same
// image sees none of the first one's unwritten changes, and the two
// overwrite each other's blocks. util-linux's mount reuses a device for the
// same reason.
func liveLoop(img string) (*os.File, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(img, &st); err != nil {
		return nil, err
	}
	// Attached devices have a loop directory in sysfs.
	bound, err := filepath.Glob("/sys/block/loop*/loop")
	if err != nil {
		return nil, err
	}
	for _, b := range bound {
		name := filepath.Base(filepath.Dir(b))
		if !isLoopDevice("/dev/" + name) {
			continue
		}
		// Read-only: a kernel built without BLK_DEV_WRITE_MOUNTED refuses
		// to open a mounted device for writing. Any open keeps it attached.
		dev, err := os.OpenFile("/dev/"+name, os.O_RDONLY, 0)
		if err != nil {
			continue // gone, or not a device we may use
		}
		info, err := unix.IoctlLoopGetStatus64(int(dev.Fd()))
		if err == nil && info.Device == uint64(st.Dev) && info.Inode == st.Ino {
			return dev, nil
		}
		dev.Close() // detached meanwhile (ENXIO), or another image
	}
	return nil, nil
}

// mountImage mounts img at point, a directory opened without following
// symlinks: through the loop device it is still attached to if its file
// system is alive elsewhere (liveLoop), else through a new one.
func mountImage(img, point string) (mount, error) {
	dir, err := os.OpenFile(point, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return mount{}, fmt.Errorf("opening mount point %s (must be a directory, not a symlink): %w", point, err)
	}
	defer dir.Close()
	dev, err := liveLoop(img)
	if err != nil {
		return mount{}, fmt.Errorf("looking for a loop device %s is attached to: %w", img, err)
	}
	if dev == nil {
		if dev, err = attachLoop(img); err != nil {
			return mount{}, err
		}
	}
	defer dev.Close() // with autoclear, releases the device if the mount failed
	target := "/proc/self/fd/" + strconv.Itoa(int(dir.Fd()))
	if err := unix.Mount(dev.Name(), target, "ext4", mountFlags, ""); err != nil {
		return mount{}, fmt.Errorf("mounting %s at %s: %w", img, point, err)
	}
	return mount{point: point, fstype: "ext4", source: dev.Name()}, nil
}

// unmount unmounts point, detaching it lazily when busy.
func unmount(point string) error {
	err := unix.Unmount(point, unix.UMOUNT_NOFOLLOW)
	if errors.Is(err, unix.EBUSY) {
		err = unix.Unmount(point, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
	}
	if err != nil {
		return fmt.Errorf("unmounting %s: %w", point, err)
	}
	return nil
}

// setCapacity makes a loop device see its backing file's new size.
func setCapacity(dev string) error {
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := unix.IoctlRetInt(int(f.Fd()), unix.LOOP_SET_CAPACITY); err != nil {
		return fmt.Errorf("updating the capacity of %s: %w", dev, err)
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(filepath.Clean(dir))
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// fsSize reads the size in bytes of the ext4 file system on p (an image or
// a loop device) from its superblock. On a mounted device the read sees the
// kernel's current superblock, which lives in the device's page cache.
func fsSize(p string) (int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sb := make([]byte, 1024)
	if _, err := f.ReadAt(sb, 1024); err != nil {
		return 0, fmt.Errorf("reading the superblock of %s: %w", p, err)
	}
	le := binary.LittleEndian
	if le.Uint16(sb[0x38:]) != 0xEF53 {
		return 0, fmt.Errorf("%s holds no ext4 file system", p)
	}
	blocks := uint64(le.Uint32(sb[0x04:]))
	if le.Uint32(sb[0x60:])&0x80 != 0 { // INCOMPAT_64BIT
		blocks |= uint64(le.Uint32(sb[0x150:])) << 32
	}
	logSize := le.Uint32(sb[0x18:])
	if logSize > 6 {
		return 0, fmt.Errorf("%s: implausible block size", p)
	}
	return int64(blocks) << (10 + logSize), nil
}
