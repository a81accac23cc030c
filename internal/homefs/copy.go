package homefs

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"syscall"
	"time"
)

// The home being migrated belongs to the app's user, so it is read only
// through an os.Root: a symlink it holds is copied as a symlink and never
// leads the copy outside the home.

func readDirNames(r *os.Root, dir string) ([]string, error) {
	f, err := r.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	slices.Sort(names)
	return names, err
}

// walk calls pre for every entry below r's root (depth first, parents
// first) and post for every directory after its children.
func walk(ctx context.Context, r *os.Root, dir string, pre, post func(rel string, fi fs.FileInfo) error) error {
	names, err := readDirNames(r, dir)
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		rel := path.Join(dir, name)
		fi, err := r.Lstat(rel)
		if err != nil {
			return err
		}
		if err := pre(rel, fi); err != nil {
			return err
		}
		if fi.IsDir() {
			if err := walk(ctx, r, rel, pre, post); err != nil {
				return err
			}
			if post != nil {
				if err := post(rel, fi); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

type fileID struct{ dev, ino uint64 }

func idOf(fi fs.FileInfo) (fileID, *syscall.Stat_t) {
	st := fi.Sys().(*syscall.Stat_t)
	return fileID{uint64(st.Dev), st.Ino}, st
}

// treeSize estimates the bytes the tree under r takes on ext4: files by
// their apparent size in 4 KiB blocks (hard links once), a block per
// directory and per symlink too long to be stored in its inode.
func treeSize(ctx context.Context, r *os.Root) (int64, error) {
	const block = 4096
	seen := map[fileID]bool{}
	var n int64
	err := walk(ctx, r, ".", func(rel string, fi fs.FileInfo) error {
		id, st := idOf(fi)
		switch {
		case fi.Mode().IsRegular():
			if st.Nlink > 1 {
				if seen[id] {
					return nil
				}
				seen[id] = true
			}
			n += (fi.Size() + block - 1) / block * block
		case fi.IsDir():
			n += block
		case fi.Mode()&fs.ModeSymlink != 0 && fi.Size() >= 60:
			n += block
		}
		return nil
	}, nil)
	return n, err
}

// keptMode is the part of a mode that is copied.
const keptMode = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// copyTree copies src's tree into dst's (empty) root, keeping modes,
// owners, modification times, hard links and symlinks (never following
// them). Entries that are not files, directories or symlinks are passed
// to skipped and left out.
func copyTree(ctx context.Context, src, dst *os.Root, skipped func(rel string)) error {
	links := map[fileID]string{}
	finish := func(rel string, fi fs.FileInfo) error {
		_, st := idOf(fi)
		if err := dst.Lchown(rel, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
		if err := dst.Chmod(rel, fi.Mode()&keptMode); err != nil {
			return err
		}
		return dst.Chtimes(rel, time.Unix(st.Atim.Unix()), fi.ModTime())
	}
	pre := func(rel string, fi fs.FileInfo) error {
		id, st := idOf(fi)
		switch mode := fi.Mode(); {
		case mode.IsDir():
			return dst.Mkdir(rel, 0o700) // its mode is set after its children
		case mode&fs.ModeSymlink != 0:
			target, err := src.Readlink(rel)
			if err != nil {
				return err
			}
			if err := dst.Symlink(target, rel); err != nil {
				return err
			}
			return dst.Lchown(rel, int(st.Uid), int(st.Gid))
		case mode.IsRegular():
			if st.Nlink > 1 {
				if first, ok := links[id]; ok {
					return dst.Link(first, rel)
				}
				links[id] = rel
			}
			if err := copyFile(src, dst, rel, id); err != nil {
				return err
			}
			return finish(rel, fi)
		default:
			skipped(rel)
			return nil
		}
	}
	if err := walk(ctx, src, ".", pre, finish); err != nil {
		return err
	}
	return nil
}

// copyFile copies the regular file rel, checking that what it opened is the
// file it examined.
func copyFile(src, dst *os.Root, rel string, id fileID) (err error) {
	in, err := src.OpenFile(rel, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if got, _ := idOf(fi); got != id || !fi.Mode().IsRegular() {
		return fmt.Errorf("%s changed while being copied", rel)
	}
	out, err := dst.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	return nil
}
