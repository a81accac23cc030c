package scm

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/diskreserve"
)

// Kudu's file API (docs/appservice.md §5, "/api/vfs"), as Microsoft
// documents it (https://github.com/projectkudu/kudu/wiki/REST-API#vfs) and
// KuduLite implements it (VfsControllerBase, VfsController): paths are
// relative to the app's /home; a path ending in '/' names a directory.
//
// The home belongs to the app, whose code can put anything there while a
// request runs: every operation goes through an os.Root on the home (no
// symbolic link or ".." leads out of it) and runs as the app's own user
// (tenantHome.do). Only regular files with one link are served or
// replaced — a second link could be a file of the host's — and files are
// opened without blocking (a FIFO would hang the request), then checked to
// be the file that was examined. A file is replaced through a temporary
// file in its directory and a rename, so that a full quota leaves the
// previous content whole.

// Bounds of the file API.
const (
	maxVFSFile       = 2 << 30 // one PUT; the home's quota usually ends it first
	maxListEntries   = 20000   // a directory listing's entries
	maxListCount     = 1000000 // entries counted to refuse a longer listing
	maxFileTransfers = 16      // file downloads and uploads at once per site
	maxLockWait      = 10 * time.Second
)

// Kudu's messages (KuduLite Kudu.Services/Resources.resx).
const (
	msgMissingIfMatch    = "Updating an existing resource requires an If-Match header carrying a single, strong ETag."
	msgEtagMismatch      = "ETag does not represent the latest state of the resource."
	msgCannotUpdateDir   = "The resource represents a directory which can not be updated."
	msgCannotDeleteDir   = "Cannot delete directory. It is either not empty or access is not allowed."
	directoryMediaType   = "inode/directory"
	defaultFileMediaType = "application/octet-stream"
)

// appHome is where the app sees its home.
const appHome = "/home"

// vfsPath returns the path a /vfs or /zip request names, relative to the
// home ("." for the home itself), and whether it ends in '/'. A path that
// could name anything outside the home is refused before any file is
// touched; the os.Root is the real wall.
func vfsPath(r *http.Request) (rel string, slash bool, err error) {
	raw := r.PathValue("path")
	slash = raw == "" || strings.HasSuffix(raw, "/")
	refuse := func(why string) (string, bool, error) {
		return "", false, slipway.Errorf(slipway.EINVALID, "The path '%s' is invalid: %s", raw, why)
	}
	switch {
	case strings.IndexByte(raw, 0) >= 0:
		return refuse("it contains a NUL byte.")
	case len(raw) > maxPath:
		return refuse(fmt.Sprintf("it is longer than %d bytes.", maxPath))
	}
	var parts []string
	for c := range strings.SplitSeq(raw, "/") {
		switch {
		case c == "" || c == ".":
			continue
		case c == "..":
			return refuse("it contains '..'; paths are relative to /home and stay in it.")
		case len(c) > maxName:
			return refuse(fmt.Sprintf("a part of it is longer than %d bytes.", maxName))
		}
		parts = append(parts, c)
	}
	if len(parts) == 0 {
		return ".", true, nil
	}
	return strings.Join(parts, "/"), slash, nil
}

// Linux's limits of a path and of one name in it.
const (
	maxPath = 4095
	maxName = 255
)

// shown is a path as the app sees it.
func shown(rel string) string {
	if rel == "." {
		return appHome
	}
	return appHome + "/" + rel
}

// etagOf is a file's ETag: Kudu's — its modification time in .NET ticks,
// little-endian, in hex (VfsController.CreateEntityTag) — followed by its
// inode number. The kernel stamps files with a clock that moves every few
// milliseconds, so two versions written within one tick would share
// Kudu's ETag; a replacement here is a new file, with a new inode.
func etagOf(fi fs.FileInfo) string {
	const unixEpochTicks = 621355968000000000
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(fi.ModTime().UnixNano()/100+unixEpochTicks))
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = st.Ino
	}
	return `"` + hex.EncodeToString(b[:]) + strconv.FormatUint(ino, 16) + `"`
}

// ifMatch reports whether the If-Match header is present and whether one
// of its tags is "*" or etag (weakly compared, as Kudu's PUT does).
func ifMatch(r *http.Request, etag string) (present, match bool) {
	return tagListed(r, "If-Match", etag, true)
}

// tagListed reports whether the header (If-Match, If-None-Match) is
// present and whether one of its tags is etag, weakly compared, or "*"
// when star says it counts.
func tagListed(r *http.Request, header, etag string, star bool) (present, match bool) {
	vals := r.Header.Values(header)
	for _, v := range vals {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == etag || star && t == "*" {
				return true, true
			}
		}
	}
	return len(vals) > 0, false
}

// precondition is a refusal Kudu answers with a status of its own (412,
// or 409 for a DELETE whose ETag does not match) and the current ETag.
type precondition struct {
	status int
	etag   string
	msg    string
}

func (p *precondition) Error() string { return p.msg }

// writePrecondition answers a *precondition and reports whether err was one.
func writePrecondition(w http.ResponseWriter, err error) bool {
	var p *precondition
	if !errors.As(err, &p) {
		return false
	}
	if p.etag != "" {
		w.Header().Set("ETag", p.etag)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(p.status)
	io.WriteString(w, p.msg+"\n")
	return true
}

// redirectSlash answers as Kudu does a path whose trailing '/' does not
// match what it names: 307 to the path with it (a directory) or without.
func redirectSlash(w http.ResponseWriter, r *http.Request, dir bool) error {
	p := strings.TrimSuffix(r.URL.EscapedPath(), "/")
	if dir {
		p += "/"
	}
	u := baseURL(r) + p
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, u, http.StatusTemporaryRedirect)
	return nil
}

// vfsEntry is one entry of a directory listing (Kudu's VfsStatEntry).
type vfsEntry struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	MTime  string `json:"mtime"`
	CRTime string `json:"crtime"`
	Mime   string `json:"mime"`
	Href   string `json:"href"`
	Path   string `json:"path"`
}

// dotnetTime renders a time as JSON.NET renders a DateTimeOffset.
func dotnetTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.9999999-07:00") }

// createdTime is what .NET on Linux reports as a file's creation time
// without a birth time: the older of its change and modification times.
func createdTime(fi fs.FileInfo) time.Time {
	t := fi.ModTime()
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if c := time.Unix(st.Ctim.Sec, st.Ctim.Nsec); c.Before(t) {
			t = c
		}
	}
	return t
}

// mediaType is a file's media type as KuduLite's MediaTypeMap names it:
// its own entries for .js, .json, .log and .md, then the extension's type
// without parameters (ASP.NET's table has none; Go's adds a charset).
func mediaType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	switch ext {
	case ".js":
		return "application/javascript"
	case ".json":
		return "application/json"
	case ".log", ".md":
		return "text/plain"
	}
	if mt, _, err := mime.ParseMediaType(mime.TypeByExtension(ext)); err == nil {
		return mt
	}
	return defaultFileMediaType
}

// fileRequest starts a request of the file API: the path it names
// (vfsPath), one of the n places the site has for requests of its kind,
// and the site's home, open. end gives both back.
func (h *Handler) fileRequest(r *http.Request, s slipway.Site, kind string, n int) (rel string, slash bool, home *tenantHome, end func(), err error) {
	if rel, slash, err = vfsPath(r); err != nil {
		return "", false, nil, nil, err
	}
	home, end, err = h.enterHome(r, s, kind, n)
	return rel, slash, home, end, err
}

// enterHome takes one of the n places the site has for requests of a
// kind and opens its home; end gives both back.
func (h *Handler) enterHome(r *http.Request, s slipway.Site, kind string, n int) (home *tenantHome, end func(), err error) {
	leave, err := h.enter(kind, s, n)
	if err != nil {
		return nil, nil, err
	}
	if home, err = h.openHome(r.Context(), s); err != nil {
		leave()
		return nil, nil, err
	}
	return home, func() { home.Close(); leave() }, nil
}

// vfsGet answers GET /api/vfs/{path}: a file's content, or with a trailing
// '/' a directory's listing.
func (h *Handler) vfsGet(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	rel, slash, home, end, err := h.fileRequest(r, s, "file transfers", maxFileTransfers)
	if err != nil {
		return err
	}
	defer end()
	var (
		f        *os.File
		fi       fs.FileInfo
		list     []vfsEntry
		redirect bool
	)
	err = home.do(func() error {
		fi, err = home.root.Stat(rel) // a link is followed, inside the home only
		if err != nil {
			return fsError("reading", shown(rel), err)
		}
		if fi.IsDir() != slash {
			redirect = true
			return nil
		}
		if fi.IsDir() {
			list, err = listDir(r, home.root, rel)
			return err
		}
		var why string
		f, why, err = openRegularFile(home.root, rel, fi, 0)
		if err != nil {
			return fsError("reading", shown(rel), err)
		}
		if why != "" {
			return slipway.Errorf(slipway.EFORBIDDEN, "'%s' is not served: it %s.", shown(rel), why)
		}
		return nil
	})
	switch {
	case err != nil:
		return err
	case redirect:
		return redirectSlash(w, r, fi.IsDir())
	case f == nil:
		return writeJSON(w, http.StatusOK, list)
	}
	defer f.Close()
	hd := w.Header()
	hd.Set("Content-Type", mediaType(rel))
	hd.Set("ETag", etagOf(fi))
	// The app wrote the content: never let a browser run it as Kudu's.
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	// Only the size examined: a log still growing is cut where it was.
	// A client that takes nothing for StallTimeout is gone.
	sw := stallResponse{ResponseWriter: w, sw: stallWriter{w: w, rc: http.NewResponseController(w), timeout: h.cfg.StallTimeout}}
	http.ServeContent(sw, r, path.Base(rel), fi.ModTime(), io.NewSectionReader(f, 0, fi.Size()))
	return nil
}

// stallResponse is a ResponseWriter whose writes end when the client
// takes nothing for a while.
type stallResponse struct {
	http.ResponseWriter
	sw stallWriter
}

func (s stallResponse) Write(p []byte) (int, error) { return s.sw.Write(p) }

// listDir lists the directory rel: Kudu's VfsStatEntry for each entry, a
// link described by what it leads to inside the home (or as itself). A
// directory of more than maxListEntries entries is refused (tooLong).
func listDir(r *http.Request, root *os.Root, rel string) ([]vfsEntry, error) {
	d, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fsError("listing", shown(rel), err)
	}
	defer d.Close()
	base := baseURL(r) + strings.TrimSuffix(r.URL.EscapedPath(), "/") + "/"
	out := []vfsEntry{}
	for read := 0; ; {
		if err := r.Context().Err(); err != nil {
			return nil, err
		}
		ents, err := d.ReadDir(1000)
		if read += len(ents); read > maxListEntries {
			return nil, tooLong(r, d, rel, read)
		}
		for _, e := range ents {
			child := path.Join(rel, e.Name())
			fi, lerr := root.Lstat(child)
			if lerr != nil {
				continue // gone since the listing
			}
			if fi.Mode()&fs.ModeSymlink != 0 {
				if ti, serr := root.Stat(child); serr == nil {
					fi = ti
				}
			}
			v := vfsEntry{Name: e.Name(), MTime: dotnetTime(fi.ModTime()), CRTime: dotnetTime(createdTime(fi)), Path: shown(child)}
			href := (&url.URL{Path: e.Name()}).EscapedPath()
			if fi.IsDir() {
				v.Mime, href = directoryMediaType, href+"/"
			} else {
				v.Mime, v.Size = mediaType(e.Name()), fi.Size()
			}
			v.Href = base + strings.TrimPrefix(href, "./")
			out = append(out, v)
		}
		if errors.Is(err, io.EOF) || (err == nil && len(ents) == 0) {
			break
		}
		if err != nil {
			return nil, fsError("listing", shown(rel), err)
		}
	}
	return out, nil
}

// tooLong refuses the listing of rel, a directory of more entries than a
// listing holds, read of them from d so far. The listing is not cut: a JSON
// array cannot say that it is partial, and clients (az, the portal,
// scripts) would take it for the whole directory. Kudu lists any number;
// the refusal says how many there are, counted up to maxListCount, and
// what to do instead. 409, as for the zip expansion's limit (merge): the
// request is sound, the directory is what it cannot be answered for.
func tooLong(r *http.Request, d *os.File, rel string, read int) error {
	for read <= maxListCount {
		if err := r.Context().Err(); err != nil {
			return err
		}
		names, err := d.Readdirnames(10000)
		read += len(names)
		if errors.Is(err, io.EOF) || (err == nil && len(names) == 0) {
			break
		}
		if err != nil {
			return fsError("listing", shown(rel), err)
		}
	}
	count := strconv.Itoa(read)
	if read > maxListCount {
		count = "more than " + strconv.Itoa(maxListCount)
	}
	zip := "/api/zip/"
	if rel != "." {
		zip += (&url.URL{Path: rel}).EscapedPath() + "/"
	}
	return slipway.Errorf(slipway.ECONFLICT, "'%s' holds %s entries, more than the %d a listing returns. "+
		"List one of its subfolders, or download it as a zip: GET %s", shown(rel), count, maxListEntries, zip)
}

// openRegularFile opens rel, which stat or lstat described as fi, for
// reading without blocking, and checks that it is that same regular file
// with one link. A refusal is returned as why (nil error): what the file
// is, for a message.
func openRegularFile(root *os.Root, rel string, fi fs.FileInfo, flag int) (f *os.File, why string, err error) {
	if !fi.Mode().IsRegular() {
		return nil, "is not a regular file (" + fi.Mode().Type().String() + ")", nil
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Nlink != 1 {
		return nil, "has more than one hard link", nil
	}
	f, err = root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY|flag, 0)
	if err != nil {
		return nil, "", err
	}
	oi, err := f.Stat()
	if err != nil || !oi.Mode().IsRegular() || !os.SameFile(oi, fi) {
		f.Close()
		return nil, "changed while it was being opened", nil
	}
	if st, ok := oi.Sys().(*syscall.Stat_t); !ok || st.Nlink != 1 {
		f.Close()
		return nil, "has more than one hard link", nil
	}
	return f, "", nil
}

// vfsPut answers PUT /api/vfs/{path}: writes a file (an existing one only
// with If-Match: its ETag or *), or with a trailing '/' creates a
// directory. Missing parents are created, as Kudu does; an upload that
// fails removes those it made (writeFile).
func (h *Handler) vfsPut(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	rel, slash, home, end, err := h.fileRequest(r, s, "file transfers", maxFileTransfers)
	if err != nil {
		return err
	}
	defer end()
	if slash {
		err := home.do(func() error {
			if _, err := home.root.Lstat(rel); err == nil {
				return slipway.Errorf(slipway.ECONFLICT, "%s", msgCannotUpdateDir)
			}
			if err := home.root.MkdirAll(rel, 0o755); err != nil {
				return fsError("creating", shown(rel), err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		w.WriteHeader(http.StatusCreated)
		return nil
	}
	var (
		existed bool
		written fs.FileInfo
	)
	body, err := h.uploadBody(r, r.Body)
	if err == nil {
		existed, written, err = writeFile(r, body, home, rel, func() (func(), error) { return h.lockFile(r.Context(), s, rel) })
	}
	if writePrecondition(w, err) {
		return nil
	}
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etagOf(written))
	w.Header().Set("Last-Modified", written.ModTime().UTC().Format(http.TimeFormat))
	if existed {
		w.WriteHeader(http.StatusNoContent)
	} else {
		w.WriteHeader(http.StatusCreated)
	}
	return nil
}

// replaceable checks that rel, if it exists, is a file a PUT may replace
// with this request's If-Match; it returns whether it exists, and its mode.
func replaceable(r *http.Request, root *os.Root, rel string) (exists bool, perm fs.FileMode, err error) {
	fi, err := lstatLinked(root, rel)
	if errors.Is(err, fs.ErrNotExist) {
		return false, 0, nil
	} else if slipway.ErrorCode(err) == slipway.ECONFLICT {
		return false, 0, err
	} else if err != nil {
		return false, 0, fsError("writing", shown(rel), err)
	}
	switch {
	case fi.IsDir():
		return false, 0, slipway.Errorf(slipway.ECONFLICT, "%s", msgCannotUpdateDir)
	case fi.Mode()&fs.ModeSymlink != 0:
		return false, 0, slipway.Errorf(slipway.ECONFLICT, "'%s' is a symbolic link: write the file it leads to.", shown(rel))
	case !fi.Mode().IsRegular():
		return false, 0, slipway.Errorf(slipway.ECONFLICT, "'%s' is not a regular file (%s) and is not replaced.", shown(rel), fi.Mode().Type())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Nlink != 1 {
		return false, 0, slipway.Errorf(slipway.ECONFLICT, "'%s' has more than one hard link and is not replaced: delete it first.", shown(rel))
	}
	etag := etagOf(fi)
	switch present, match := ifMatch(r, etag); {
	case !present:
		return false, 0, &precondition{status: http.StatusPreconditionFailed, msg: msgMissingIfMatch}
	case !match:
		return false, 0, &precondition{status: http.StatusPreconditionFailed, etag: etag, msg: msgEtagMismatch}
	}
	return true, fi.Mode().Perm() | 0o600, nil
}

// lstatLinked is root.Lstat(rel) for a name another PUT may be renaming a
// file over: a stat that races the rename can find the replaced file
// with no link left (Nlink 0), which is no longer the file rel names.
// It asks again, a few times, for the file rel names now.
func lstatLinked(root *os.Root, rel string) (fs.FileInfo, error) {
	for range 3 {
		fi, err := root.Lstat(rel)
		if err != nil {
			return nil, err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Nlink != 0 {
			return fi, nil
		}
	}
	return nil, slipway.Errorf(slipway.ECONFLICT, "'%s' was being replaced while this request checked it; try again.", shown(rel))
}

// writeFile writes body to rel through a temporary file in its directory,
// renamed over it once complete; existed says whether it replaced a file.
// r's If-Match is checked first and again under lock, which is held to the
// rename. The temporary file is made, and renamed, on the app's file thread
// (home.do); the body is copied in on the caller's goroutine, so that a
// client that sends it slowly holds no OS thread (an open file is written
// whatever the thread's identity).
func writeFile(r *http.Request, body io.Reader, home *tenantHome, rel string, lock func() (func(), error)) (existed bool, written fs.FileInfo, err error) {
	root := home.root
	var (
		perm fs.FileMode
		tmp  string
		f    *os.File
		made []string // the missing folders on the way, made for this file
	)
	// undo removes what a failed upload made: its temporary file, then the
	// folders it made, if they are still empty (another upload may have
	// put a file in one meanwhile).
	undo := func() {
		if tmp != "" {
			root.Remove(tmp)
		}
		for _, dir := range slices.Backward(made) {
			rmdir(root, dir)
		}
	}
	err = home.do(func() (err error) {
		if existed, perm, err = replaceable(r, root, rel); err != nil {
			return err
		}
		if !existed {
			perm = 0o644
			dir := path.Dir(rel)
			if made, err = mkdirAll(root, dir); err != nil {
				undo()
				return fsError("creating", shown(dir), err)
			}
		}
		if tmp, f, err = createTemp(root, rel); err != nil {
			undo()
			return fsError("writing", shown(rel), err)
		}
		if err := f.Chmod(perm); err != nil {
			f.Close()
			undo()
			return fsError("writing", shown(rel), err)
		}
		return nil
	})
	if err != nil {
		return false, nil, err
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			home.do(func() error { undo(); return nil })
		}
	}()
	n, err := io.Copy(f, io.LimitReader(body, maxVFSFile+1))
	if err != nil {
		return false, nil, uploadError(shown(rel), err)
	}
	if n > maxVFSFile {
		return false, nil, slipway.Errorf(slipway.EINVALID, "'%s' is larger than %d MB, the most one PUT writes.", shown(rel), maxVFSFile>>20)
	}
	if err := f.Sync(); err != nil {
		return false, nil, fsError("writing", shown(rel), err)
	}
	if err := f.Close(); err != nil {
		return false, nil, fsError("writing", shown(rel), err)
	}
	unlock, err := lock()
	if err != nil {
		return false, nil, err
	}
	defer unlock()
	err = home.do(func() error {
		// Checked again: the file may have changed while the body arrived.
		if exists, _, err := replaceable(r, root, rel); err != nil {
			return err
		} else if exists != existed {
			return slipway.Errorf(slipway.ECONFLICT, "'%s' was created or deleted while it was being written; try again.", shown(rel))
		}
		if err := root.Rename(tmp, rel); err != nil {
			return fsError("writing", shown(rel), err)
		}
		done = true
		if written, err = root.Lstat(rel); err != nil {
			return fsError("writing", shown(rel), err)
		}
		return nil
	})
	return existed, written, err
}

// uploadBody returns body as an upload streams it into the home: through
// the disk reserve, when there is one, and refused at once when the
// declared length would not fit above it.
func (h *Handler) uploadBody(r *http.Request, body io.Reader) (io.Reader, error) {
	g := h.cfg.FileReserve
	if g == nil {
		return body, nil
	}
	if err := g.Check(r.ContentLength); err != nil {
		return nil, uploadError("the upload", err)
	}
	return g.Reader(body), nil
}

// errUploadDiskShort refuses an upload that would take the disk space
// kept for the platform's own data: 503 with Retry-After, as the
// condition is the server's and passes when space is freed.
var errUploadDiskShort = slipway.Errorf(slipway.EUNAVAILABLE, "The upload was not stored: the server is short of disk space. Try again later; the server's operator has been warned.")

// uploadError classifies the failure of copying an upload to what, a
// file in the home: the server's disk reserve, the home (its quota), or
// the client's body.
func uploadError(what string, err error) error {
	var pe *fs.PathError
	switch {
	case errors.Is(err, diskreserve.ErrShort):
		return errUploadDiskShort
	case errors.As(err, &pe): // writing failed, not reading the request
		return fsError("writing", what, err)
	}
	return slipway.Errorf(slipway.EINVALID, "The upload of '%s' did not complete: %v", what, err)
}

// randomSuffix makes the names of temporary files unique.
func randomSuffix() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// lockFile serializes, among Kudu's own writers, the last check and the
// rename of writes to one file of a site, so that an If-Match holds
// between them (the app itself may still write the file at any time). It
// waits at most maxLockWait, then answers 503.
func (h *Handler) lockFile(ctx context.Context, s slipway.Site, rel string) (func(), error) {
	deadline := time.Now().Add(maxLockWait)
	for {
		leave, err := h.enter("writes to "+shown(rel), s, 1)
		if err == nil || time.Now().After(deadline) {
			return leave, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// createTemp creates a new file beside rel for its new content.
func createTemp(root *os.Root, rel string) (string, *os.File, error) {
	suffix := randomSuffix()
	tmp := path.Join(path.Dir(rel), "."+path.Base(rel)+".slipway-"+suffix)
	if len(path.Base(tmp)) > maxName {
		tmp = path.Join(path.Dir(rel), ".slipway-"+suffix)
	}
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	return tmp, f, err
}

// vfsDelete answers DELETE /api/vfs/{path}: a file (with If-Match: its
// ETag or *), or a directory (empty, or with ?recursive=true all of it).
// A symbolic link is removed itself, never what it leads to.
func (h *Handler) vfsDelete(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	rel, slash, home, end, err := h.fileRequest(r, s, "file transfers", maxFileTransfers)
	if err != nil {
		return err
	}
	defer end()
	if rel == "." {
		return slipway.Errorf(slipway.EFORBIDDEN, "The app's home (/home) itself is not deleted.")
	}
	redirect := false
	err = home.do(func() error {
		fi, err := home.root.Lstat(rel)
		if err != nil {
			return fsError("deleting", shown(rel), err)
		}
		if fi.IsDir() {
			if isTrue(r.URL.Query().Get("recursive")) {
				err = home.root.RemoveAll(rel)
			} else {
				err = home.root.Remove(rel)
			}
			if err != nil {
				return slipway.Errorf(slipway.ECONFLICT, "%s", msgCannotDeleteDir)
			}
			return nil
		}
		if slash {
			redirect = true
			return nil
		}
		etag := etagOf(fi)
		switch present, match := ifMatch(r, etag); {
		case !present:
			return &precondition{status: http.StatusPreconditionFailed, msg: msgMissingIfMatch}
		case !match:
			return &precondition{status: http.StatusConflict, etag: etag, msg: msgEtagMismatch}
		}
		if err := home.root.Remove(rel); err != nil {
			return fsError("deleting", shown(rel), err)
		}
		return nil
	})
	if writePrecondition(w, err) {
		return nil
	}
	if err != nil {
		return err
	}
	if redirect {
		return redirectSlash(w, r, false)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// keepsSlash reports whether p is a path of the file API, where a trailing
// '/' names a directory: ServeHTTP keeps it.
func keepsSlash(p string) bool {
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	for _, prefix := range []string{"/api/vfs/", "/vfs/", "/api/zip/", "/zip/", "/api/scmvfs/", "/scmvfs/"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}
