package scm

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/archive"
	"github.com/slipway-dev/slipway/internal/diskreserve"
)

// Kudu's zip API (docs/appservice.md §5, "/api/zip"; KuduLite
// ZipController): GET a folder of the home as a zip, PUT a zip to expand
// into a folder. The folder is read and written as the file API does
// (vfs.go): through an os.Root on the home, as the app's user.

// Bounds of a folder download. What is left out is listed in the
// archive's slipway-zip-notes.txt, as /dump does.
const (
	maxZipBytes   = 2 << 30 // file content, in total
	maxZipEntries = 100000
	maxZipDepth   = 64
	maxZips       = 2 // downloads and uploads at once per site
	zipNotes      = "slipway-zip-notes.txt"
)

// zipGet answers GET /api/zip/{path}/: the folder as a zip, streamed,
// its entries relative to it; ?fileName= names the download (else the
// folder's name with .zip). Symbolic links, special files and files with
// more than one link are left out.
func (h *Handler) zipGet(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	rel, slash, home, end, err := h.fileRequest(r, s, "zip transfers", maxZips)
	if err != nil {
		return err
	}
	defer end()
	name := r.URL.Query().Get("fileName")
	if name == "" {
		name = path.Base(shown(rel)) + ".zip"
	}
	redirect := false
	err = home.do(func() error {
		fi, err := home.root.Stat(rel)
		if err != nil {
			return fsError("reading", shown(rel), err)
		}
		if !fi.IsDir() {
			// Kudu's zip controller serves no single file.
			return slipway.Errorf(slipway.ENOTFOUND, "'%s' is not a directory: /api/zip downloads folders; use /api/vfs for a file.", shown(rel))
		}
		if !slash {
			redirect = true
			return nil
		}
		dir, err := home.root.OpenRoot(rel)
		if err != nil {
			return fsError("reading", shown(rel), err)
		}
		defer dir.Close()
		h.streamZip(w, r, s, dir, name, dumper{notesName: zipNotes, maxBytes: maxZipBytes, maxEntries: maxZipEntries, maxDepth: maxZipDepth})
		return nil
	})
	if err != nil {
		return err
	}
	if redirect {
		return redirectSlash(w, r, true)
	}
	return nil
}

// zipPut answers PUT /api/zip/{path}/: expands the zip in the body into
// the folder, over what is there. The zip is saved and checked whole
// (package archive, with its limits for hostile archives) and expanded
// into a staging folder in the home before anything in the home changes.
// A folder that does not exist is made only then, with the zip in it: the
// expanded zip takes its place by one rename (place), so that an upload
// that is refused or fails leaves neither it nor the missing folders on
// its way behind (KuduLite's ZipController makes none for a body that is
// not a zip either: it opens the zip before extracting it). Into a folder
// that exists, the zip's files and links take their places by rename,
// never written through what is there; a folder of the zip where the home
// has a file (or the reverse) stops the expansion there: what was moved
// stays.
func (h *Handler) zipPut(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	rel, _, home, end, err := h.fileRequest(r, s, "zip transfers", maxZips)
	if err != nil {
		return err
	}
	defer end()
	body, err := packageBody(r)
	if err != nil {
		return err
	}
	// The folder is looked at and the staging file made on the app's file
	// thread (home.do); the zip is copied in on this goroutine, so that a
	// client that sends it slowly holds no OS thread; then it is checked
	// and expanded on the app's thread again.
	var (
		staging string
		pkg     *os.File
	)
	err = home.do(func() (err error) {
		if _, err := zipTarget(home.root, rel); err != nil {
			return err
		}
		staging, pkg, err = stage(home.root)
		return err
	})
	if staging != "" {
		defer home.do(func() error { return home.root.RemoveAll(staging) })
	}
	if err != nil {
		return err
	}
	defer pkg.Close()
	if err := h.receive(r, body, pkg, archive.DefaultMaxTotalBytes, "The zip"); err != nil {
		return err
	}
	err = home.do(func() error {
		lim := archive.Limits{Room: h.roomCheck()} // what the zip expands to, too
		if err := expand(r.Context(), home.root, staging, pkg, lim); err != nil {
			return err
		}
		return place(home.root, path.Join(staging, "x"), rel)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// receive copies an upload's body into the staged file dst (stage's),
// through the disk reserve, refusing one of more than limit bytes; what
// names it in the errors ("The zip").
func (h *Handler) receive(r *http.Request, body io.Reader, dst *os.File, limit int64, what string) error {
	body, err := h.uploadBody(r, body)
	if err != nil {
		return err
	}
	n, err := io.Copy(dst, io.LimitReader(body, limit+1))
	if err != nil {
		return uploadError(strings.ToLower(what[:1])+what[1:], err)
	}
	if n > limit {
		return slipway.Errorf(slipway.EINVALID, "%s is larger than %d MB.", what, limit>>20)
	}
	return nil
}

// roomCheck is the check of the server's disk reserve for what an
// expansion writes (archive.Limits.Room), or nil without one. The
// expansion runs on the app's file thread (tenantHome.do), whose file
// identity is the app's user, which may not read the server's data
// directory that the reserve measures: the check runs on a goroutine of
// its own, with the server's identity.
func (h *Handler) roomCheck() func(int64) error {
	g := h.cfg.FileReserve
	if g == nil {
		return nil
	}
	return func(n int64) error {
		done := make(chan error, 1)
		go func() { done <- g.Check(n) }()
		return <-done
	}
}

// zipTarget reports whether the folder rel, where a zip is to be
// expanded, exists; a file there, or a link that leads nowhere, is in the
// way.
func zipTarget(root *os.Root, rel string) (exists bool, err error) {
	fi, err := root.Stat(rel)
	switch {
	case err == nil && fi.IsDir():
		return true, nil
	case err == nil:
		return false, inTheWay(shown(rel))
	case !errors.Is(err, fs.ErrNotExist):
		return false, fsError("expanding the zip in", shown(rel), err)
	}
	if _, err := root.Lstat(rel); err == nil {
		return false, inTheWay(shown(rel))
	}
	return false, nil
}

// place puts the expanded zip src at dst: merged into the folder there,
// or, when there is none, as that folder, by one rename after the missing
// folders on its way are made; those are removed again should that fail.
func place(root *os.Root, src, dst string) error {
	exists, err := zipTarget(root, dst) // again: the app may have made it since
	if err != nil {
		return err
	}
	if !exists {
		made, err := mkdirAll(root, path.Dir(dst))
		if err == nil {
			err = root.Chmod(src, 0o755) // as the staging folder's, 0700
		}
		if err == nil {
			err = root.Rename(src, dst)
			if err == nil {
				return nil
			}
			if errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTEMPTY) {
				// The app made the folder meanwhile: the zip is merged into it.
				moved := 0
				return merge(root, src, dst, &moved)
			}
		}
		for _, dir := range slices.Backward(made) {
			rmdir(root, dir)
		}
		return fsError("expanding the zip in", shown(dst), err)
	}
	moved := 0
	return merge(root, src, dst, &moved)
}

// mkdirAll makes the folder dir in root and the folders on its way, and
// returns those it made, outermost first, even with an error.
func mkdirAll(root *os.Root, dir string) (made []string, err error) {
	if dir == "." {
		return nil, nil
	}
	parts := strings.Split(dir, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		err := root.Mkdir(p, 0o755)
		if err == nil {
			made = append(made, p)
			continue
		}
		if fi, serr := root.Stat(p); errors.Is(err, fs.ErrExist) && serr == nil && fi.IsDir() {
			continue
		}
		return made, err
	}
	return made, nil
}

// rmdir removes the folder rel in root if it is empty, and never anything
// else.
func rmdir(root *os.Root, rel string) error {
	parent, err := root.OpenFile(path.Dir(rel), os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	defer parent.Close()
	return unix.Unlinkat(int(parent.Fd()), path.Base(rel), unix.AT_REMOVEDIR)
}

// stage makes a staging folder in the home (so that the zip counts
// against the app's quota) and the file the zip is saved to in it. The
// staging folder is returned even with an error, to be removed.
func stage(root *os.Root) (staging string, pkg *os.File, err error) {
	staging = ".slipway-zip-" + randomSuffix()
	if err := root.Mkdir(staging, 0o700); err != nil {
		return "", nil, fsError("staging the zip in", shown(staging), err)
	}
	pkg, err = root.OpenFile(path.Join(staging, "package.zip"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return staging, nil, fsError("staging the zip in", shown(staging), err)
	}
	return staging, pkg, nil
}

// expand checks the zip saved in pkg and expands it into staging's x/.
func expand(ctx context.Context, root *os.Root, staging string, pkg *os.File, lim archive.Limits) error {
	if err := root.Mkdir(path.Join(staging, "x"), 0o700); err != nil {
		return fsError("staging the zip in", shown(staging), err)
	}
	dest, err := root.OpenFile(path.Join(staging, "x"), os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return fsError("staging the zip in", shown(staging), err)
	}
	defer dest.Close()
	// Both are named by the descriptors already open, so that no path the
	// app controls is walked again.
	_, err = archive.Extract(ctx, fdPath(pkg), fdPath(dest), lim)
	var ae *archive.Error
	switch {
	case errors.As(err, &ae):
		return slipway.Errorf(slipway.EINVALID, "%s", ae.Error())
	case errors.Is(err, diskreserve.ErrShort):
		return errUploadDiskShort
	}
	if err != nil {
		return fsError("expanding the zip in", shown(staging), err)
	}
	return nil
}

// fdPath names an open file by its descriptor: opening it reaches that
// very file, whatever has been renamed since.
func fdPath(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }

// merge moves the entries of src into dst, both in root: what dst lacks
// takes its place whole, a folder on both sides is merged, and a file or
// link replaces a file or link. At most maxZipEntries are moved (the app
// can add to src while this runs).
func merge(root *os.Root, src, dst string, moved *int) error {
	d, err := root.OpenFile(src, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return fsError("expanding the zip in", shown(dst), err)
	}
	names, err := d.Readdirnames(archive.DefaultMaxFiles + 1)
	d.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return fsError("expanding the zip in", shown(dst), err)
	}
	for _, name := range names {
		if *moved++; *moved > archive.DefaultMaxFiles {
			return slipway.Errorf(slipway.ECONFLICT, "The zip's expansion into '%s' found more than %d entries; it stopped.", shown(dst), archive.DefaultMaxFiles)
		}
		s, t := path.Join(src, name), path.Join(dst, name)
		si, err := root.Lstat(s)
		if err != nil {
			return fsError("expanding the zip in", shown(t), err)
		}
		ti, err := root.Lstat(t)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return fsError("expanding the zip in", shown(t), err)
		case si.IsDir() && ti.IsDir():
			if err := merge(root, s, t, moved); err != nil {
				return err
			}
			continue
		case si.IsDir() || ti.IsDir():
			return slipway.Errorf(slipway.ECONFLICT, "The zip has %s where '%s' is %s: remove it first.",
				kind(si), shown(t), kind(ti))
		}
		if err := root.Rename(s, t); err != nil {
			return fsError("expanding the zip in", shown(t), err)
		}
	}
	return nil
}

func kind(fi fs.FileInfo) string {
	switch {
	case fi.IsDir():
		return "a folder"
	case fi.Mode()&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "a file"
}
