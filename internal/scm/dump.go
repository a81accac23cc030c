package scm

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/slipway-dev/slipway"
)

// Bounds of a log dump: LogFiles belongs to the app, which can fill it.
const (
	maxDumpBytes   = 100 << 20 // file content, in total
	maxDumpEntries = 10000     // files and directories
	maxDumpDepth   = 16
	maxDumps       = 2 // at once per site: each holds a compressor until its client has read it
)

// dumpNotes is the entry listing what a dump left out and why.
const dumpNotes = "slipway-dump-notes.txt"

// dump answers GET /dump and /api/dump with a zip of the app's LogFiles,
// streamed (`az webapp log download` saves it as webapp_logs.zip;
// https://learn.microsoft.com/azure/app-service/troubleshoot-diagnostic-logs#access-log-files).
//
// LogFiles is in the app's home, which the app controls, so it is read
// only through an os.Root and never through a symlink: symlinks,
// devices, FIFOs and sockets are left out, as are files with more than
// one hard link (one could be a host file linked in) and files that change
// identity between being listed and opened. What is left out is listed in
// slipway-dump-notes.txt.
func (h *Handler) dump(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	root, done, err := h.openLogDownload(s)
	if err != nil {
		return err
	}
	defer done()
	return h.sendZip(w, s, "dump.zip", "LogFiles/", func(d *dumper) error {
		if root == nil {
			return nil // no logs yet: an empty archive
		}
		return d.walk(r, root, ".", 0)
	})
}

// sendZip answers with a zip named filename whose entries fill adds, each
// name after prefix, within the dump's bounds, and the notes on what was
// left out. Once the status is sent, a failure only cuts the archive short.
func (h *Handler) sendZip(w http.ResponseWriter, s slipway.Site, filename, prefix string, fill func(*dumper) error) error {
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	w.WriteHeader(http.StatusOK)
	// A client that takes nothing for StallTimeout is gone.
	d := &dumper{zw: zip.NewWriter(stallWriter{w: w, rc: http.NewResponseController(w), timeout: h.cfg.StallTimeout}), prefix: prefix, budget: maxDumpBytes}
	err := fill(d)
	if err == nil {
		err = d.writeNotes()
	}
	if err == nil {
		err = d.zw.Close()
	}
	if err != nil {
		// The status is sent: the client sees a truncated archive.
		h.cfg.Logger.Warn("kudu log download cut short", "site", s.Name, "file", filename, "err", err)
	}
	return nil
}

// openLogDownload takes one of the site's places for log downloads
// (maxDumps) and opens its LogFiles (logRoot); done gives both back.
func (h *Handler) openLogDownload(s slipway.Site) (root *os.Root, done func(), err error) {
	leave, err := h.enter("log downloads", s, maxDumps)
	if err != nil {
		return nil, nil, err
	}
	if root, err = h.logRoot(s); err != nil {
		leave()
		return nil, nil, err
	}
	return root, func() {
		if root != nil {
			root.Close()
		}
		leave()
	}, nil
}

// logRoot opens the site's LogFiles (openLogRoot); nil when there is
// none yet.
func (h *Handler) logRoot(s slipway.Site) (*os.Root, error) {
	if h.cfg.LogDir == nil {
		return nil, slipway.Errorf(slipway.ENOTFOUND, "Log download is not available on this server.")
	}
	root, err := openLogRoot(h.cfg.LogDir(s.Name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return root, err
}

// openLogRoot opens LogFiles as an os.Root through one on its parent (the
// app's home), refusing a LogFiles that is a symlink or not a directory.
func openLogRoot(dir string) (*os.Root, error) {
	home, err := os.OpenRoot(filepath.Dir(dir))
	if err != nil {
		return nil, err
	}
	defer home.Close()
	base := filepath.Base(dir)
	li, err := home.Lstat(base)
	if err != nil {
		return nil, err
	}
	if !li.IsDir() {
		return nil, slipway.Errorf(slipway.ECONFLICT, "The app's LogFiles is not a directory (%s): there is nothing to download.", li.Mode().Type())
	}
	root, err := home.OpenRoot(base)
	if err != nil {
		return nil, err
	}
	ri, err := root.Stat(".")
	if err != nil || !os.SameFile(ri, li) { // swapped for a symlink in between
		root.Close()
		return nil, slipway.Errorf(slipway.ECONFLICT, "The app's LogFiles changed while it was being opened; try again.")
	}
	return root, nil
}

type dumper struct {
	zw      *zip.Writer
	prefix  string // of every entry's name
	budget  int64
	entries int
	notes   []string
}

func (d *dumper) skip(rel, why string) { d.notes = append(d.notes, rel+": "+why) }

// walk adds the entries of dir (relative to root), depth first in name order.
func (d *dumper) walk(r *http.Request, root *os.Root, dir string, depth int) error {
	if depth > maxDumpDepth {
		d.skip(dir, fmt.Sprintf("nested deeper than %d directories", maxDumpDepth))
		return nil
	}
	f, err := root.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		d.skip(dir, "cannot be opened")
		return nil
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		d.skip(dir, "cannot be listed")
		return nil
	}
	slices.Sort(names)
	for _, name := range names {
		if err := r.Context().Err(); err != nil {
			return err
		}
		rel := path.Join(dir, name)
		if d.entries >= maxDumpEntries {
			d.skip(rel, fmt.Sprintf("and what follows: more than %d entries", maxDumpEntries))
			return nil
		}
		fi, err := root.Lstat(rel)
		if err != nil {
			continue // gone since the listing
		}
		switch mode := fi.Mode(); {
		case mode.IsDir():
			d.entries++
			if _, err := d.zw.CreateHeader(&zip.FileHeader{Name: d.prefix + rel + "/", Modified: fi.ModTime()}); err != nil {
				return err
			}
			if err := d.walk(r, root, rel, depth+1); err != nil {
				return err
			}
		case mode.IsRegular():
			if err := d.file(root, rel, fi); err != nil {
				return err
			}
		case mode&fs.ModeSymlink != 0:
			d.skip(rel, "a symbolic link, not followed")
		default:
			d.skip(rel, "not a regular file ("+mode.Type().String()+")")
		}
	}
	return nil
}

// file adds the regular file rel, which Lstat described as fi.
func (d *dumper) file(root *os.Root, rel string, fi fs.FileInfo) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Nlink != 1 {
		d.skip(rel, "has more than one hard link")
		return nil
	}
	if fi.Size() > d.budget {
		d.skip(rel, fmt.Sprintf("%d bytes, over what is left of the %d MB limit", fi.Size(), maxDumpBytes>>20))
		return nil
	}
	f, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		d.skip(rel, "cannot be opened")
		return nil
	}
	defer f.Close()
	oi, err := f.Stat()
	if err != nil || !oi.Mode().IsRegular() || !os.SameFile(oi, fi) {
		d.skip(rel, "changed while the dump was made")
		return nil
	}
	if st, ok := oi.Sys().(*syscall.Stat_t); !ok || st.Nlink != 1 {
		d.skip(rel, "has more than one hard link")
		return nil
	}
	d.entries++
	zf, err := d.zw.CreateHeader(&zip.FileHeader{Name: d.prefix + rel, Method: zip.Deflate, Modified: fi.ModTime()})
	if err != nil {
		return err
	}
	// Only the size examined, against the budget: a log still growing is
	// cut where it was.
	n, err := io.Copy(zf, io.LimitReader(f, fi.Size()))
	d.budget -= n
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) { // reading failed, not writing
			d.skip(rel, "could not be read in full")
			return nil
		}
		return err
	}
	return nil
}

func (d *dumper) writeNotes() error {
	if len(d.notes) == 0 {
		return nil
	}
	zf, err := d.zw.Create(dumpNotes)
	if err != nil {
		return err
	}
	_, err = io.WriteString(zf, "Left out of this dump:\n"+strings.Join(d.notes, "\n")+"\n")
	return err
}
