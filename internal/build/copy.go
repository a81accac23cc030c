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

	"github.com/slipway-dev/slipway/internal/tree"
)

// skipDir reports whether the source directory at rel (slash-separated,
// relative to the source root) is left out of the artifact: a venv shipped
// with the source (antenv at the root, or any directory holding pyvenv.cfg),
// version-control data and bytecode caches (docs/appservice.md §3 build step 1
// excludes the venv dir).
func skipDir(srcRoot, rel, name string) bool {
	switch {
	case rel == "antenv", name == ".git", name == "__pycache__":
		return true
	}
	_, err := os.Lstat(filepath.Join(srcRoot, rel, "pyvenv.cfg"))
	return err == nil
}

// copyTree copies the source into dst (absent or empty), leaving out what
// skipDir names and refusing symlinks that leave the tree; other file types
// (sockets, devices, fifos) are left out and reported through skipped.
func copyTree(ctx context.Context, src, dst string, skipped func(rel string)) error {
	err := tree.Copy(ctx, src, dst, tree.Options{
		Skip: func(rel string, d fs.DirEntry) bool {
			return d.IsDir() && skipDir(src, rel, d.Name())
		},
		Skipped: skipped,
	})
	if err != nil {
		return fmt.Errorf("copying source to %s: %w", dst, err)
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
	// The app's code (PRE_BUILD_COMMAND) ran in root: the file may be a
	// FIFO or a sparse file of any size.
	f, err := r.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading %s: %w", rel, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return "", false, fmt.Errorf("reading %s: not a regular file", rel)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxLocalFile+1))
	if err != nil {
		return "", false, fmt.Errorf("reading %s: %w", rel, err)
	}
	if len(data) > maxLocalFile {
		return "", false, fmt.Errorf("reading %s: larger than %d MB", rel, maxLocalFile>>20)
	}
	return string(data), true, nil
}

// maxLocalFile bounds the files the builder reads from the app
// (requirements.txt, setup.py, pyproject.toml, runtime.txt).
const maxLocalFile = 4 << 20

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
