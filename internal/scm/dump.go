package scm

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
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
	h.streamZip(w, r, s, root, "dump.zip", logDumper("LogFiles/"))
	return nil
}

// logDumper is a dumper of log downloads' bounds, naming entries after
// prefix.
func logDumper(prefix string) dumper {
	return dumper{prefix: prefix, notesName: dumpNotes, maxBytes: maxDumpBytes, maxEntries: maxDumpEntries, maxDepth: maxDumpDepth}
}

// streamZip answers with a zip of the tree under root (nil: an empty
// one), made by d, which sets the bounds, and named name.
func (h *Handler) streamZip(w http.ResponseWriter, r *http.Request, s slipway.Site, root *os.Root, name string, d dumper) {
	h.sendZip(w, r, s, name, d, func(d *dumper) error {
		if root == nil {
			return nil
		}
		return d.walk(r.Context(), root, ".", 0)
	})
}

// sendZip answers with a zip named name whose entries fill adds through
// d, which sets the bounds, and the notes on what was left out. Once the
// status is sent, a failure only cuts the archive short. A client that
// takes nothing for StallTimeout is gone.
func (h *Handler) sendZip(w http.ResponseWriter, r *http.Request, s slipway.Site, name string, d dumper, fill func(*dumper) error) {
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.WriteHeader(http.StatusOK)
	d.zw = zip.NewWriter(stallWriter{w: w, rc: http.NewResponseController(w), timeout: h.cfg.StallTimeout})
	d.budget = d.maxBytes
	err := fill(&d)
	if err == nil {
		err = d.writeNotes()
	}
	if err == nil {
		err = d.zw.Close()
	}
	if err != nil {
		// The status is sent: the client sees a truncated archive.
		h.cfg.Logger.Warn("kudu zip download cut short", "site", s.Name, "path", r.URL.Path, "err", err)
	}
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
	return openDirIn(home, filepath.Base(dir), "LogFiles", "there is nothing to download")
}

// openDirIn opens the directory name in parent as an os.Root, refusing
// one that is a symlink or not a directory (the app's, shown as shown in
// messages; unusable says what that means) or that was swapped between
// its Lstat and the open. A missing one is an fs.ErrNotExist error.
func openDirIn(parent *os.Root, name, shown, unusable string) (*os.Root, error) {
	li, err := parent.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !li.IsDir() {
		return nil, slipway.Errorf(slipway.ECONFLICT, "The app's %s is not a directory (%s): %s.", shown, li.Mode().Type(), unusable)
	}
	root, err := parent.OpenRoot(name)
	if err != nil {
		return nil, err
	}
	ri, err := root.Stat(".")
	if err != nil || !os.SameFile(ri, li) { // swapped for a symlink in between
		root.Close()
		return nil, slipway.Errorf(slipway.ECONFLICT, "The app's %s changed while it was being opened; try again.", shown)
	}
	return root, nil
}

// dumper zips a tree of the app's (its LogFiles for /dump, any folder
// of its home for /api/zip), within bounds.
type dumper struct {
	zw        *zip.Writer
	prefix    string // of every entry's name
	notesName string // the entry listing what was left out
	// omit, if set, leaves out the entries it names (relative to the
	// walk's root) without a note.
	omit func(rel string) bool
	// quietSpecial leaves sockets, FIFOs and devices out without a note
	// (a backup's: they are a running app's, not its data).
	quietSpecial bool
	// store adds files uncompressed (a backup's wwwroot, which a
	// deployment expands under a zip-bomb ratio that deflated zeros pass).
	store   bool
	budget  int64 // file content left to add
	entries int

	maxBytes   int64
	maxEntries int
	maxDepth   int
	notes      []string
	noteBytes  int // of notes
	unnoted    int // entries left out past maxNoteBytes
}

// maxNoteBytes bounds the notes a dumper keeps: the app decides how many
// entries are left out (a link costs it an inode) and how long their names
// are; past the bound they are counted, not named.
const maxNoteBytes = 64 << 10

func (d *dumper) skip(rel, why string) {
	if d.noteBytes >= maxNoteBytes {
		d.unnoted++
		return
	}
	n := rel + ": " + why
	d.notes, d.noteBytes = append(d.notes, n), d.noteBytes+len(n)
}

// allNotes is the notes, and how many more were left out unnamed.
func (d *dumper) allNotes() []string {
	if d.unnoted == 0 {
		return d.notes
	}
	return append(d.notes[:len(d.notes):len(d.notes)], fmt.Sprintf("and %d more entries, not named here", d.unnoted))
}

// walk adds the entries of dir (relative to root), depth first in name order.
func (d *dumper) walk(ctx context.Context, root *os.Root, dir string, depth int) error {
	if depth > d.maxDepth {
		d.skip(dir, fmt.Sprintf("nested deeper than %d directories", d.maxDepth))
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
		if err := ctx.Err(); err != nil {
			return err
		}
		rel := path.Join(dir, name)
		if d.omit != nil && d.omit(rel) {
			continue
		}
		if d.entries >= d.maxEntries {
			d.skip(rel, fmt.Sprintf("and what follows: more than %d entries", d.maxEntries))
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
			if err := d.walk(ctx, root, rel, depth+1); err != nil {
				return err
			}
		case mode.IsRegular():
			if err := d.file(root, rel, fi); err != nil {
				return err
			}
		case mode&fs.ModeSymlink != 0:
			d.skip(rel, "a symbolic link, not followed")
		case d.quietSpecial:
		default:
			d.skip(rel, "not a regular file ("+mode.Type().String()+")")
		}
	}
	return nil
}

// file adds the regular file rel, which Lstat described as fi.
func (d *dumper) file(root *os.Root, rel string, fi fs.FileInfo) error {
	if fi.Size() > d.budget {
		d.skip(rel, fmt.Sprintf("%d bytes, over what is left of the %d MB limit", fi.Size(), d.maxBytes>>20))
		return nil
	}
	f, why, err := openRegularFile(root, rel, fi, syscall.O_NOFOLLOW)
	if err != nil {
		d.skip(rel, "cannot be opened")
		return nil
	}
	if why != "" {
		d.skip(rel, why)
		return nil
	}
	defer f.Close()
	d.entries++
	method := zip.Deflate
	if d.store {
		method = zip.Store
	}
	zf, err := d.zw.CreateHeader(&zip.FileHeader{Name: d.prefix + rel, Method: method, Modified: fi.ModTime()})
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
	zf, err := d.zw.Create(d.notesName)
	if err != nil {
		return err
	}
	_, err = io.WriteString(zf, "Left out of this archive:\n"+strings.Join(d.allNotes(), "\n")+"\n")
	return err
}
