package tree

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Count is what Fill added.
type Count struct {
	Entries int   // files, links and directories
	Bytes   int64 // of file content
}

// ConflictError is Fill's refusal of an entry that one tree holds as a
// directory and the other as a file or a link: they cannot merge.
type ConflictError struct {
	Path     string      // slash-separated, relative to both roots
	Src, Dst fs.FileMode // the types of the two entries
}

func (e *ConflictError) Error() string {
	kind := func(m fs.FileMode) string {
		switch {
		case m.IsDir():
			return "a directory"
		case m&fs.ModeSymlink != 0:
			return "a symbolic link"
		}
		return "a file"
	}
	return fmt.Sprintf("%s is %s in one tree and %s in the other", e.Path, kind(e.Src), kind(e.Dst))
}

// Fill copies into dst the entries of src that dst lacks, so that dst ends
// as the union of the two with its own entries winning: a directory both
// hold is merged, a file or a link dst holds stays as it is. Where one tree
// has a directory and the other a file or a link, Fill fails with a
// *ConflictError: it never merges a directory into a link (which would
// write through it) nor replaces one tree's directory with the other's
// file. Entries are created through an [os.Root] on dst, never over
// anything, and follow Copy's rules (o.Skip, o.Symlink, o.Skipped; modes
// without setuid, setgid or sticky bits); o.Chown and o.Hardlink do not
// apply, o.Budget bounds what it adds. On failure dst keeps what Fill
// added.
func Fill(ctx context.Context, src, dst string, o Options) (Count, error) {
	var added Count
	if o.Symlink == nil {
		o.Symlink = InTree
	}
	root, err := os.OpenRoot(dst)
	if err != nil {
		return added, err
	}
	defer root.Close()
	type dirMode struct {
		rel  string
		mode fs.FileMode
	}
	var dirs []dirMode
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil || rel == "." {
			return err
		}
		slash := filepath.ToSlash(rel)
		if o.Skip != nil && o.Skip(slash, d) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := info.Mode()
		// Every directory on the way in dst is a real one: Fill descends
		// only where both trees hold a directory, or where it made one.
		have, err := root.Lstat(rel)
		switch {
		case err == nil && mode.IsDir() != have.IsDir():
			return &ConflictError{Path: slash, Src: mode.Type(), Dst: have.Mode().Type()}
		case err == nil:
			return nil // a directory both hold merges; dst's file or link wins
		case !errors.Is(err, fs.ErrNotExist):
			return err
		}
		kept := mode.IsDir() || mode.IsRegular() || mode&fs.ModeSymlink != 0
		if b := o.Budget; b != nil && kept && (added.Entries >= b.Entries || mode.IsRegular() && added.Bytes+info.Size() > b.Bytes) {
			return fmt.Errorf("adding %s: %w (%d entries, %d bytes)", slash, ErrBudget, b.Entries, b.Bytes)
		}
		switch {
		case mode.IsDir():
			if err := root.Mkdir(rel, 0o700); err != nil {
				return err
			}
			dirs = append(dirs, dirMode{rel, mode.Perm()})
		case mode&fs.ModeSymlink != 0:
			if err := copyLink(path, slash, o.Symlink, func(link string) error { return root.Symlink(link, rel) }); err != nil {
				return err
			}
		case mode.IsRegular():
			if o.Room != nil {
				if err := o.Room(info.Size()); err != nil {
					return fmt.Errorf("adding %s: %w", slash, err)
				}
			}
			max := int64(-1)
			if o.Budget != nil {
				max = o.Budget.Bytes - added.Bytes
			}
			n, err := copyTo(path, mode.Perm(), max, func() (*os.File, error) {
				return root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			})
			added.Bytes += n
			if err != nil {
				return err
			}
		default: // sockets, devices, fifos: never part of an app
			if o.Skipped != nil {
				o.Skipped(slash)
			}
			return nil
		}
		added.Entries++
		return nil
	})
	if err != nil {
		return added, fmt.Errorf("filling %s from %s: %w", dst, src, err)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := root.Chmod(dirs[i].rel, dirs[i].mode|0o700); err != nil {
			return added, fmt.Errorf("filling %s from %s: %w", dst, src, err)
		}
	}
	return added, nil
}
