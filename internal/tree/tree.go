// Package tree copies directory trees without trusting them: symlinks are
// never followed (they are recreated, or refused when a policy says so),
// special files are left out, and permission bits are kept without setuid,
// setgid or sticky bits. Deployments copy their confined sources with it and
// instances get their own writable copy of an artifact.
package tree

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Options tune a copy.
type Options struct {
	// Skip, if set, leaves out the entry at rel (slash-separated, relative
	// to the source root); for a directory, its whole subtree.
	Skip func(rel string, d fs.DirEntry) bool
	// Symlink decides a symlink at rel pointing to target: nil error keeps
	// it. Nil Symlink keeps only links that stay inside the tree.
	Symlink func(rel, target string) error
	// Skipped, if set, hears of entries left out because they are neither
	// regular files, directories nor symlinks (fifos, sockets, devices).
	Skipped func(rel string)
	// UID and GID, when Chown is true, own every copied entry (but
	// hard-linked files, which stay the source's).
	Chown    bool
	UID, GID int
	// Hardlink links regular files instead of copying them (a copy where
	// the two trees are on different file systems). The linked files keep
	// their owner and mode: a tree of read-only, root-owned files can be
	// given to a user who may add, remove and replace entries in its own
	// directories but never change the shared files.
	Hardlink bool
	// Budget, if set, bounds what Fill adds (Copy ignores it): Fill stops
	// with an error wrapping ErrBudget before an entry, or a file's
	// content, that would take it past Budget — so a source larger than
	// the budget is never written out first and judged after.
	Budget *Count
	// Room, if set, is asked by Fill (Copy ignores it) whether a regular
	// file's n bytes fit on the destination's disk, before it is written;
	// its error ends Fill (wrapped). The caller's disk reserve (package
	// diskreserve), where dst lies outside every quota.
	Room func(n int64) error
}

// ErrBudget is wrapped by Fill's error when what it would add exceeds
// Options.Budget.
var ErrBudget = errors.New("more than the budget")

// InTree keeps a symlink only when its target stays inside the tree
// (judged lexically). A ".." may only lead the target: after a name it
// would climb out of whatever that name resolves to, and a name may be
// another link ("a -> ." makes "a/a/.." the tree's parent). Leading ".."
// climb the link's own directories, which the walk saw as real ones.
func InTree(rel, target string) error {
	bad := filepath.IsAbs(target) || !filepath.IsLocal(filepath.Join(filepath.Dir(rel), target))
	named := false
	for _, part := range strings.Split(target, "/") {
		switch part {
		case "", ".":
		case "..":
			bad = bad || named
		default:
			named = true
		}
	}
	if bad {
		return fmt.Errorf("symlink %s points outside the tree (%s); an app may only contain symlinks to files inside it", rel, target)
	}
	return nil
}

// Copy copies src into dst, which must be absent or an empty directory.
// Regular files keep their permission bits (not setuid, setgid or sticky);
// directories get theirs last, with the owner's rwx kept so the copy stays
// writable by its owner.
func Copy(ctx context.Context, src, dst string, o Options) error {
	if o.Symlink == nil {
		o.Symlink = InTree
	}
	type dirMode struct {
		path string
		mode fs.FileMode
	}
	var dirs []dirMode
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		slash := filepath.ToSlash(rel)
		if rel != "." && o.Skip != nil && o.Skip(slash, d) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch mode := info.Mode(); {
		case mode.IsDir():
			if rel == "." {
				if err := os.MkdirAll(target, 0o700); err != nil {
					return err
				}
			} else if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
			dirs = append(dirs, dirMode{target, mode.Perm()})
		case mode&fs.ModeSymlink != 0:
			if err := copyLink(path, slash, o.Symlink, func(link string) error { return os.Symlink(link, target) }); err != nil {
				return err
			}
		case mode.IsRegular():
			if o.Hardlink {
				err := os.Link(path, target)
				if err == nil {
					return nil // the source's owner and mode stay
				}
				if !errors.Is(err, syscall.EXDEV) {
					return err
				}
			}
			if err := copyFile(path, target, mode.Perm()); err != nil {
				return err
			}
		default: // sockets, devices, fifos: never part of an app
			if o.Skipped != nil {
				o.Skipped(slash)
			}
			return nil
		}
		if o.Chown {
			if err := os.Lchown(target, o.UID, o.GID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("copying %s to %s: %w", src, dst, err)
	}
	// Directory modes last, so that read-only directories could be filled.
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chmod(dirs[i].path, dirs[i].mode|0o700); err != nil {
			return fmt.Errorf("copying %s to %s: %w", src, dst, err)
		}
	}
	return nil
}

// copyLink makes, with create, a copy of the symlink at path (rel in its
// tree) when policy keeps it.
func copyLink(path, rel string, policy func(rel, target string) error, create func(target string) error) error {
	link, err := os.Readlink(path)
	if err != nil {
		return err
	}
	if err := policy(rel, link); err != nil {
		return err
	}
	return create(link)
}

// copyFile copies one regular file without following a symlink at src and
// without overwriting anything at dst.
func copyFile(src, dst string, perm fs.FileMode) error {
	_, err := copyTo(src, perm, -1, func() (*os.File, error) {
		return os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	})
	return err
}

// copyTo copies the regular file at src, without following a symlink
// there, into the new file create makes, and returns the bytes copied.
// With max >= 0 it copies at most max+1 bytes and fails, wrapping
// ErrBudget, if the file holds more than max.
func copyTo(src string, perm fs.FileMode, max int64, create func() (*os.File, error)) (n int64, err error) {
	in, err := os.OpenFile(src, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := create()
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	var r io.Reader = in
	if max >= 0 {
		r = io.LimitReader(in, max+1) // os.File.ReadFrom still copies in the kernel
	}
	if n, err = io.Copy(out, r); err != nil {
		return n, err
	}
	if max >= 0 && n > max {
		return n, fmt.Errorf("%s: %w", src, ErrBudget)
	}
	if err := out.Chmod(perm); err != nil { // after creation, so the umask does not change it
		return n, err
	}
	// The copy keeps the modification time, as cp -p does: Python checks
	// a cached .pyc against its source's, and a copied environment whose
	// sources all look changed would be compiled again at every start
	// (its read-only caches are never rewritten).
	fi, err := in.Stat()
	if err != nil {
		return n, err
	}
	tv := unix.NsecToTimeval(fi.ModTime().UnixNano())
	return n, unix.Futimes(int(out.Fd()), []unix.Timeval{tv, tv})
}

// Chown gives every entry of the tree at root to uid:gid, without following
// symlinks (a link is chowned itself, never its target).
func Chown(root string, uid, gid int) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}
