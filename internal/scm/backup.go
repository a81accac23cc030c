package scm

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/archive"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/redact"
)

// App backups (README "Backups"; Microsoft's "Back up and restore your
// app in Azure App Service", custom backups): the management API asks
// Kudu's side for what lives in the app's home. A backup is one zip blob,
// <name>.zip, written into a container of this server's own blob service
// that a URL with a SAS names (az webapp config backup create
// --container-url), so that, as for a packageUri (packageuri.go), only
// that service's own checks of the SAS decide and no socket is opened. The
// blob holds, stored (not compressed again):
//
//	slipway-backup.json  what the management API gives (the configuration, sealed)
//	wwwroot.zip          /home/site/wwwroot, the deployed files, without the
//	                     build's environment (antenv), which a restore builds again
//	home.zip             the rest of /home, without LogFiles
//	slipway-backup-notes.txt  what was left out, if anything
//
// Both parts are read as the file API reads the home (dumper: the app's
// user, no link followed, bounded), and the blob is assembled in a staging
// folder in the home, within the app's quota. A restore reads the blob back
// into such a folder and checks all of it — the archive's layout and both
// parts, expanded as an uploaded zip is (package archive's limits for
// hostile archives) — before anything of the app changes.

// Names in a backup blob.
const (
	backupMeta  = "slipway-backup.json"
	backupSite  = "wwwroot.zip"
	backupHome  = "home.zip"
	backupNotes = "slipway-backup-notes.txt"
	// maxBackupMeta bounds the configuration part.
	maxBackupMeta = 4 << 20
	// maxBackupBlob bounds a backup blob read back: both parts at their
	// limits, and the rest.
	maxBackupBlob = 2*maxZipBytes + maxBackupMeta + 64<<20
	maxBackups    = 1 // backups and restores at once per site
	// maxBackupDirectory bounds what parsing a backup blob's directory
	// reads: its end record is found in the last 64 KB, and its directory
	// names four parts.
	maxBackupDirectory = 1 << 20
)

// readBudget is a ReaderAt that fails once left bytes have been read.
type readBudget struct {
	r    io.ReaderAt
	left int64
}

func (b *readBudget) ReadAt(p []byte, off int64) (int, error) {
	if int64(len(p)) > b.left {
		return 0, errors.New("read past the budget")
	}
	b.left -= int64(len(p))
	return b.r.ReadAt(p, off)
}

// BackupBlobs writes and deletes backup blobs in this server's own blob
// service, in process, as Packages reads them: the blob service's handler
// serves a request carrying nothing but the URL's path and query (its SAS).
type BackupBlobs interface {
	// Put writes a block blob of size bytes at u.
	Put(ctx context.Context, u *url.URL, body io.Reader, size int64) error
	// Delete deletes the blob at u.
	Delete(ctx context.Context, u *url.URL) error
}

var errBackups = slipway.Errorf(slipway.EINVALID, "App backups are not available on this server: it has no blob service to write them to.")

// backupName is what a backup may be called: it becomes the blob's name.
var backupName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`)

// BackupBlobURL returns the URL of the blob blobName in the container the
// URL container names, with the container's SAS: one of this server's own
// blob service, checked as a packageUri is.
func (h *Handler) BackupBlobURL(container, blobName string) (*url.URL, error) {
	if h.cfg.BackupBlobs == nil || h.cfg.Packages == nil {
		return nil, errBackups
	}
	name := strings.TrimSuffix(blobName, ".zip")
	if !backupName.MatchString(name) || strings.Contains(name, "..") {
		return nil, slipway.Errorf(slipway.EINVALID, "'%s' is not a backup name Slipway takes: use letters, digits, '.', '-' and '_' (up to 200), starting with a letter or a digit.", blobName)
	}
	if len(container) > maxPackageURI {
		return nil, slipway.Errorf(slipway.EINVALID, "The container URL is longer than %d bytes.", maxPackageURI)
	}
	c, err := url.Parse(container)
	if err != nil || c.Opaque != "" || c.Fragment != "" {
		return nil, slipway.Errorf(slipway.EINVALID, "The container URL is not a URL: give the container's URL with a SAS, https://<account>.blob.<domain>/<container>?<SAS>.")
	}
	b := *c
	b.Path = strings.TrimSuffix(c.Path, "/") + "/" + name + ".zip"
	b.RawPath = ""
	u, rest, err := parseBlobURL(b.String(), h.cfg.PackageAddresses)
	if err != nil {
		msg := strings.Replace(slipway.ErrorMessage(err), "packageUri is refused", "the container URL "+redact.SASURL(c)+" is refused", 1)
		return nil, slipway.Errorf(slipway.ErrorCode(err), "%s", strings.ToUpper(msg[:1])+msg[1:])
	}
	if strings.Count(rest, "/") != 1 {
		return nil, slipway.Errorf(slipway.EINVALID, "The container URL %s does not name a container: give https://<account>.blob.<domain>/<container>?<SAS>.", redact.SASURL(c))
	}
	return u, nil
}

// WrittenBackup is what WriteBackup wrote.
type WrittenBackup struct {
	Size     int64    // bytes of the blob
	SiteSize int64    // bytes of the app's files in it
	Left     []string // what was left out, and why
}

// WriteBackup writes a backup of the site's files, with meta (what the
// management API keeps of the app, sealed), to the blob at u.
func (h *Handler) WriteBackup(ctx context.Context, s slipway.Site, u *url.URL, meta []byte) (WrittenBackup, error) {
	var out WrittenBackup
	if h.cfg.BackupBlobs == nil {
		return out, errBackups
	}
	leave, err := h.enter("backups", s, maxBackups)
	if err != nil {
		return out, err
	}
	defer leave()
	home, err := h.openHome(ctx, s)
	if err != nil {
		return out, err
	}
	defer home.Close()
	var (
		staging string
		f       *os.File
	)
	err = home.do(func() (err error) {
		staging, f, err = stage(home.root)
		return err
	})
	if staging != "" {
		defer home.do(func() error { return home.root.RemoveAll(staging) })
	}
	if err != nil {
		return out, err
	}
	defer f.Close()
	err = home.do(func() error {
		zw := zip.NewWriter(f)
		now := time.Now()
		w, err := zw.CreateHeader(&zip.FileHeader{Name: backupMeta, Method: zip.Deflate, Modified: now})
		if err == nil {
			_, err = w.Write(meta)
		}
		if err != nil {
			return err
		}
		// The deployed files are stored, not deflated: a restore deploys
		// them, and a deployment refuses a zip whose files expand more than
		// archive's zip-bomb ratio, as a file of zeros deflated does.
		parts := []struct {
			name, dir, shown string
			omit             func(string) bool
			store            bool
		}{
			{backupSite, "site/wwwroot", "site/wwwroot/", func(rel string) bool { return rel == "antenv" }, true},
			{backupHome, ".", "", func(rel string) bool {
				return rel == "LogFiles" || rel == "site/wwwroot" || strings.HasPrefix(rel, ".slipway-zip-")
			}, false},
		}
		for _, p := range parts {
			pw, err := zw.CreateHeader(&zip.FileHeader{Name: p.name, Method: zip.Store, Modified: now})
			if err != nil {
				return err
			}
			d := dumper{maxBytes: maxZipBytes, maxEntries: maxZipEntries, maxDepth: maxZipDepth, omit: p.omit, quietSpecial: true, store: p.store}
			d.zw, d.budget = zip.NewWriter(pw), d.maxBytes
			root := home.root
			if p.dir != "." {
				if root, err = home.root.OpenRoot(p.dir); errors.Is(err, os.ErrNotExist) {
					root = nil // never deployed: an empty part
				} else if err != nil {
					return fsError("reading", shown(p.dir), err)
				} else {
					defer root.Close()
				}
			}
			if root != nil {
				if err := d.walk(ctx, root, ".", 0); err != nil {
					return err
				}
			}
			if err := d.zw.Close(); err != nil {
				return err
			}
			out.SiteSize += d.maxBytes - d.budget
			for _, n := range d.allNotes() {
				out.Left = append(out.Left, p.shown+n)
			}
		}
		if len(out.Left) > 0 {
			w, err := zw.Create(backupNotes)
			if err != nil {
				return err
			}
			if _, err := io.WriteString(w, "Left out of this backup:\n"+strings.Join(out.Left, "\n")+"\n"); err != nil {
				return err
			}
		}
		return zw.Close()
	})
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return out, fsError("staging the backup in", shown(staging), err)
		}
		return out, err
	}
	fi, err := f.Stat()
	if err != nil {
		return out, err
	}
	out.Size = fi.Size()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return out, err
	}
	if err := h.cfg.BackupBlobs.Put(ctx, u, f, out.Size); err != nil {
		return out, blobError("Writing the backup to", u, err)
	}
	return out, nil
}

// blobError says what the blob service refused, its SAS masked.
func blobError(what string, u *url.URL, err error) error {
	code := slipway.ErrorCode(err)
	if code == "" || code == slipway.EINTERNAL {
		return fmt.Errorf("%s %s: %w", strings.ToLower(what[:1])+what[1:], redact.SASURL(u), err)
	}
	return slipway.Errorf(code, "%s %s failed: %s", what, redact.SASURL(u), slipway.ErrorMessage(err))
}

// DeleteBackupBlob deletes a backup's blob.
func (h *Handler) DeleteBackupBlob(ctx context.Context, u *url.URL) error {
	if h.cfg.BackupBlobs == nil {
		return errBackups
	}
	if err := h.cfg.BackupBlobs.Delete(ctx, u); err != nil {
		return blobError("Deleting the backup at", u, err)
	}
	return nil
}

// OpenedBackup is a backup read back for a restore, checked whole and
// staged in the app's home; nothing of the app has changed yet. Close it.
type OpenedBackup struct {
	meta    []byte // what WriteBackup was given
	h       *Handler
	s       slipway.Site
	home    *tenantHome
	leave   func()
	staging string
	f       *os.File // the blob
	site    *io.SectionReader
	empty   bool // no deployed files
}

// OpenBackup reads the backup blob at u into a staging folder in the
// site's home and checks it: its layout, and both parts, expanded as an
// uploaded zip is. A blob that is not a backup is refused, saying why.
func (h *Handler) OpenBackup(ctx context.Context, s slipway.Site, u *url.URL) (*OpenedBackup, error) {
	if h.cfg.Packages == nil {
		return nil, errBackups
	}
	leave, err := h.enter("backups", s, maxBackups)
	if err != nil {
		return nil, err
	}
	b := &OpenedBackup{h: h, s: s, leave: leave}
	ok := false
	defer func() {
		if !ok {
			b.Close()
		}
	}()
	body, size, err := h.cfg.Packages.Open(ctx, u)
	if err != nil {
		return nil, blobError("Reading the backup at", u, err)
	}
	defer body.Close()
	if size > maxBackupBlob {
		return nil, slipway.Errorf(slipway.EINVALID, "The blob at %s is %d MB: no Slipway backup is that large.", redact.SASURL(u), size>>20)
	}
	if b.home, err = h.openHome(ctx, s); err != nil {
		return nil, err
	}
	err = b.home.do(func() (err error) {
		b.staging, b.f, err = stage(b.home.root)
		return err
	})
	if err != nil {
		return nil, err
	}
	if n, err := io.Copy(b.f, io.LimitReader(body, size)); err != nil || n != size {
		return nil, uploadError("the backup", errors.Join(err, io.ErrUnexpectedEOF))
	}
	notBackup := func(why string) error {
		return slipway.Errorf(slipway.EINVALID, "The blob at %s is not a Slipway backup (%s): restore a blob that `az webapp config backup create` wrote.", redact.SASURL(u), why)
	}
	// archive/zip keeps every central directory header it finds in
	// memory, whatever the end record says: a backup's directory names
	// four parts, so reading more than a little of the blob to parse it
	// is a blob of many entries, refused before they take the server's
	// memory.
	budget := &readBudget{r: b.f, left: maxBackupDirectory}
	zr, err := zip.NewReader(budget, size)
	if err != nil {
		return nil, notBackup("not a zip")
	}
	budget.left = math.MaxInt64 // the parts are read through it too
	parts := map[string]*zip.File{}
	for _, e := range zr.File {
		switch e.Name {
		case backupMeta, backupSite, backupHome, backupNotes:
			if parts[e.Name] != nil {
				return nil, notBackup(e.Name + " twice")
			}
			parts[e.Name] = e
		default:
			return nil, notBackup("it holds " + fmt.Sprintf("%q", e.Name))
		}
	}
	for _, name := range []string{backupMeta, backupSite, backupHome} {
		if parts[name] == nil {
			return nil, notBackup("no " + name)
		}
	}
	if parts[backupMeta].UncompressedSize64 > maxBackupMeta {
		return nil, notBackup(backupMeta + " too large")
	}
	rc, err := parts[backupMeta].Open()
	if err != nil {
		return nil, notBackup(backupMeta + " unreadable")
	}
	b.meta, err = io.ReadAll(io.LimitReader(rc, maxBackupMeta+1))
	rc.Close()
	if err != nil || len(b.meta) > maxBackupMeta {
		return nil, notBackup(backupMeta + " unreadable")
	}
	// The parts are stored: each is a zip in place in the blob.
	section := func(e *zip.File) (*io.SectionReader, error) {
		off, err := e.DataOffset()
		if err != nil || e.Method != zip.Store || e.CompressedSize64 != e.UncompressedSize64 || off < 0 || uint64(off)+e.CompressedSize64 > uint64(size) {
			return nil, notBackup(e.Name + " is not stored whole")
		}
		return io.NewSectionReader(b.f, off, int64(e.CompressedSize64)), nil
	}
	if b.site, err = section(parts[backupSite]); err != nil {
		return nil, err
	}
	if err := archive.CheckEntryCount(ctx, b.site, b.site.Size(), archive.DefaultLimits()); err != nil {
		return nil, notBackup(backupSite + ": " + err.Error())
	}
	sz, err := zip.NewReader(b.site, b.site.Size())
	if err != nil {
		return nil, notBackup(backupSite + " is not a zip")
	}
	b.empty = len(sz.File) == 0
	homePart, err := section(parts[backupHome])
	if err != nil {
		return nil, err
	}
	// The home's part is expanded now, into the staging folder, so that a
	// bad archive is refused before anything changes.
	err = b.home.do(func() error {
		hf, err := b.home.root.OpenFile(path.Join(b.staging, backupHome), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fsError("staging the backup in", shown(b.staging), err)
		}
		defer hf.Close()
		if _, err := io.Copy(hf, homePart); err != nil {
			return uploadError("the backup", err)
		}
		// No zip-bomb ratio: the backup deflated the app's own files, and
		// a file of zeros deflates past any ratio a deployment allows. The
		// expansion is bounded all the same, by archive's total, the
		// server's disk reserve and the app's quota.
		return expand(ctx, b.home.root, b.staging, hf, archive.Limits{Room: h.roomCheck(), MaxRatio: math.MaxInt64})
	})
	if err != nil {
		return nil, err
	}
	ok = true
	return b, nil
}

// RestoreHome puts the backup's files of the home (all but wwwroot) in
// place, over those there: a file or link replaces one of the same name,
// folders are merged, and what the backup does not have stays.
//
// A database file comes back without the write-ahead log or journal the
// app's SQLite left next to it since (db.sqlite3-wal, -shm, -journal): a
// newer log beside an older database would be replayed into it and
// corrupt it. Those the backup has come back with it.
func (b *OpenedBackup) RestoreHome() error {
	return b.home.do(func() error {
		src := path.Join(b.staging, "x")
		if err := dropStaleSidecars(b.home.root, src, "."); err != nil {
			return err
		}
		return place(b.home.root, src, ".")
	})
}

// sqliteSidecars are the files SQLite keeps beside a database.
var sqliteSidecars = []string{"-wal", "-shm", "-journal"}

// dropStaleSidecars removes, for each regular file of src (a folder of
// root, walked recursively) placed at the same path under dst, the SQLite
// sidecars beside it in dst that src does not have.
func dropStaleSidecars(root *os.Root, src, dst string) error {
	entries, err := readDirNoFollow(root, src)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Name()] = true
	}
	for _, e := range entries {
		s, t := path.Join(src, e.Name()), path.Join(dst, e.Name())
		switch {
		case e.IsDir():
			if fi, err := root.Lstat(t); err == nil && fi.IsDir() {
				if err := dropStaleSidecars(root, s, t); err != nil {
					return err
				}
			}
		case e.Type().IsRegular():
			for _, suffix := range sqliteSidecars {
				if have[e.Name()+suffix] {
					continue
				}
				if fi, err := root.Lstat(t + suffix); err == nil && !fi.IsDir() {
					if err := root.Remove(t + suffix); err != nil {
						return fsError("restoring", shown(t+suffix), err)
					}
				}
			}
		}
	}
	return nil
}

// readDirNoFollow lists the folder dir of root, which must not be a link.
func readDirNoFollow(root *os.Root, dir string) ([]fs.DirEntry, error) {
	f, err := root.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fsError("restoring", shown(dir), err)
	}
	defer f.Close()
	entries, err := f.ReadDir(archive.DefaultMaxFiles + 1)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fsError("restoring", shown(dir), err)
	}
	return entries, nil
}

// Meta is what WriteBackup was given.
func (b *OpenedBackup) Meta() []byte { return b.meta }

// DeployFiles deploys the backup's wwwroot as a deployment of the site
// (built as the app's settings say, as a zip deployment is, since the
// build's environment is not in the backup), with message as its
// message, and waits for it to end; false when the backup has no deployed
// files.
func (b *OpenedBackup) DeployFiles(ctx context.Context, message string) (slipway.Deployment, bool, error) {
	if b.empty {
		return slipway.Deployment{}, false, nil
	}
	o := deploy.Options{Deployer: "Restore", Author: "N/A", Message: message, Restart: true}
	d, err := b.h.cfg.Deployer.Submit(ctx, b.s, io.NewSectionReader(b.site, 0, b.site.Size()), o)
	if err != nil {
		return d, true, err
	}
	if err := b.h.cfg.Deployer.Wait(ctx, b.s.Name); err != nil {
		return d, true, err
	}
	d, err = b.h.cfg.Store.GetDeployment(ctx, b.s.Name, d.ID)
	return d, true, err
}

// Close removes what the backup staged and ends its use of the site.
func (b *OpenedBackup) Close() error {
	if b.f != nil {
		b.f.Close()
	}
	if b.home != nil {
		if b.staging != "" {
			b.home.do(func() error { return b.home.root.RemoveAll(b.staging) })
		}
		b.home.Close()
	}
	if b.leave != nil {
		b.leave()
		b.leave = nil
	}
	return nil
}
