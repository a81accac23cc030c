// Package tree copies directory trees without trusting them: symlinks are
// never followed (they are recreated, or refused when a policy says so),
// special files are left out, and permission bits are kept without setuid,
// setgid or sticky bits. Deployments copy their confined sources with it and
// instances get their own writable copy of an artifact.
package tree

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Options tune a copy.
type Options struct {
	// Skip, if set, leaves out the entry at rel (slash-separated, relative
	// to the source root); for a directory, its whole subtree.
	Skip func(rel string, d fs.DirEntry) bool
	// Symlink decides a symlink at rel pointing to target: nil error keeps
	// it. Nil Symlink keeps only links that stay inside the tree.
	Symlink func(rel, target string) error
	// UID and GID, when Chown is true, own every copied entry.
	Chown    bool
	UID, GID int
}

// InTree keeps a symlink only when its target stays inside the tree.
func InTree(rel, target string) error {
	if filepath.IsAbs(target) || !filepath.IsLocal(filepath.Join(filepath.Dir(rel), target)) {
		return fmt.Errorf("symlink %s points outside the tree (%s)", rel, target)
	}
	return nil
}

// Copy copies src into dst, which must not exist yet.
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
			if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
			dirs = append(dirs, dirMode{target, mode.Perm()})
		case mode&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := o.Symlink(slash, link); err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
		case mode.IsRegular():
			if err := copyFile(path, target, mode.Perm()); err != nil {
				return err
			}
		default:
			return nil // sockets, devices, fifos: never part of an app
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

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
