package build

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
)

// skipDir reports whether the source directory at rel (slash-separated,
// relative to the source root) is left out of the artifact: a venv shipped
// with the source (antenv at the root, or any directory holding pyvenv.cfg),
// version-control data and bytecode caches (APPSERVICE.md §3 build step 1
// excludes the venv dir).
func skipDir(srcRoot, rel, name string) bool {
	switch {
	case rel == "antenv", name == ".git", name == "__pycache__":
		return true
	}
	_, err := os.Lstat(filepath.Join(srcRoot, rel, "pyvenv.cfg"))
	return err == nil
}

// copyTree copies src into dst, which must already exist and be empty. It
// never follows symlinks: a symlink is recreated as a symlink when its target
// stays inside the tree (judged lexically) and is an error otherwise. Regular
// files keep their permission bits (no setuid/setgid/sticky); other file types
// (sockets, devices, fifos) are left out and reported through skipped.
// Directory modes are applied last, so read-only directories can be filled.
func copyTree(ctx context.Context, src, dst string, skipped func(rel string)) error {
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
		if rel == "." {
			return nil
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch mode := info.Mode(); {
		case mode.IsDir():
			if skipDir(src, filepath.ToSlash(rel), d.Name()) {
				return filepath.SkipDir
			}
			if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
			dirs = append(dirs, dirMode{target, mode.Perm()})
		case mode&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if filepath.IsAbs(link) || !filepath.IsLocal(filepath.Join(filepath.Dir(rel), link)) {
				return fmt.Errorf("symlink %s points outside the source tree (%s); deployments may only contain symlinks to files inside the app", filepath.ToSlash(rel), link)
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
		case mode.IsRegular():
			if err := copyFile(path, target, mode.Perm()); err != nil {
				return err
			}
		default:
			if skipped != nil {
				skipped(filepath.ToSlash(rel))
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("copying source to %s: %w", dst, err)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chmod(dirs[i].path, dirs[i].mode|0o700); err != nil {
			return fmt.Errorf("copying source to %s: %w", dst, err)
		}
	}
	return nil
}

// copyFile copies one regular file without following a symlink at src and
// without overwriting anything at dst.
func copyFile(src, dst string, perm fs.FileMode) (err error) {
	in, err := os.OpenFile(src, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
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
	// Chmod after creation: the umask must not change the copied mode.
	return out.Chmod(perm)
}

// writeFileAtomic writes data to path via a temporary file in the same
// directory, fsync and rename, then syncs the directory.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// readLocal reads the file at rel inside root without letting rel or a
// symlink escape root. A missing file returns ("", false, nil).
func readLocal(root, rel string) (string, bool, error) {
	if !filepath.IsLocal(rel) {
		return "", false, fmt.Errorf("path %q must be relative to the app root and stay inside it", rel)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return "", false, fmt.Errorf("opening %s: %w", root, err)
	}
	defer r.Close()
	data, err := r.ReadFile(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading %s: %w", rel, err)
	}
	return string(data), true, nil
}

// existsLocal reports whether rel exists (as a regular file) inside root.
func existsLocal(root, rel string) bool {
	r, err := os.OpenRoot(root)
	if err != nil {
		return false
	}
	defer r.Close()
	fi, err := r.Stat(rel)
	return err == nil && fi.Mode().IsRegular()
}

// cleanRel normalises a user-supplied relative path ("./req/prod.txt").
func cleanRel(p string) string {
	return filepath.Clean(strings.TrimPrefix(strings.TrimSpace(p), "./"))
}
