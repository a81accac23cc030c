package blob

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/slipway-dev/slipway/internal/atomicfile"
)

// Where a blob's content lives. A blob's content is in exactly one of:
//
//   - its row (Data): block blobs of up to inlineMax bytes;
//   - one content file (File): Put Blob and Copy Blob of larger blobs, and
//     append blobs, which Append Block extends in place;
//   - extents (Extents > 0): a block blob committed by Put Block List keeps
//     the files its blocks were staged in, in order, rather than having
//     them copied into one file. Committing a large blob from blocks then
//     writes no content at all: its block files get a second name in the
//     content directory (a hard link) and rows in the extents table.
//
// Every content file has exactly one referencing row (a blob row's file
// column, or an extents row): snapshots and copies give the content a new
// name of its own (a hard link, or a copy for append blobs), so a file is
// removed when its one row goes.

// extent is one piece of a blob's content held in a file of its own.
type extent struct {
	Off  int64  // where the piece starts in the blob
	Size int64  // its length (> 0)
	File string // its file in the content directory
}

const (
	sqlInsertExtent = `INSERT INTO extents (account, container, name, snapshot, off, size, file) VALUES (?,?,?,?,?,?,?)`
	// sqlExtentsIn selects the extents that overlap [?, ?) in order.
	sqlExtentsIn = `SELECT off, size, file FROM extents WHERE account = ? AND container = ? AND name = ? AND snapshot = ?
		AND off < ? AND off + size > ? ORDER BY off`
)

// putExtents records the extents of the blob b.
func putExtents(ctx context.Context, x execer, b *blobRow, exts []extent) error {
	for _, e := range exts {
		if _, err := x.ExecContext(ctx, sqlInsertExtent, b.Account, b.Container, b.Name, b.Snapshot, e.Off, e.Size, e.File); err != nil {
			return fmt.Errorf("storing blob extent: %w", err)
		}
	}
	return nil
}

// loadExtents returns the extents of a blob that overlap [from, to).
func loadExtents(ctx context.Context, q rowsQueryer, account, container, name, snapshot string, from, to int64) ([]extent, error) {
	return scanRows(ctx, q, "loading blob extents", sqlExtentsIn, []any{account, container, name, snapshot, to, from},
		func(sc scanner) (e extent, err error) {
			err = sc.Scan(&e.Off, &e.Size, &e.File)
			return e, err
		})
}

// Conditions on the extents table, for takeFiles.
const (
	extentsOfVersion   = `account = ? AND container = ? AND name = ? AND snapshot = ?`
	extentsOfBlob      = `account = ? AND container = ? AND name = ?`
	extentsOfSnapshots = `account = ? AND container = ? AND name = ? AND snapshot != ''`
)

// linkContent gives the file at src (a staged block or a content file) a
// new name in the content directory. The caller syncs the directory once
// for all links (syncContentDir) before a row refers to the new name.
func (s *Service) linkContent(src string) (string, error) {
	name := randomName()
	if err := os.Link(src, filepath.Join(s.contentDir, name)); err != nil {
		return "", fmt.Errorf("linking content: %w", err)
	}
	return name, nil
}

func (s *Service) syncContentDir() error { return atomicfile.SyncDir(s.contentDir) }

// cloneExtents links every file of exts (a whole blob's extents) under a
// new name, for a snapshot or copy of it.
func (s *Service) cloneExtents(exts []extent) ([]extent, error) {
	out := make([]extent, 0, len(exts))
	for _, e := range exts {
		name, err := s.linkContent(filepath.Join(s.contentDir, e.File))
		if err != nil {
			s.removeExtentFiles(out)
			return nil, err
		}
		out = append(out, extent{Off: e.Off, Size: e.Size, File: name})
	}
	if err := s.syncContentDir(); err != nil {
		s.removeExtentFiles(out)
		return nil, err
	}
	return out, nil
}

// removeExtentFiles removes the files of extents that were never
// committed.
func (s *Service) removeExtentFiles(exts []extent) {
	for _, e := range exts {
		os.Remove(filepath.Join(s.contentDir, e.File))
	}
}

// versionExtents loads the extents of b that overlap [from, to), in a read
// transaction that first checks that b is still the version loaded: the
// extents table is keyed by name, not version, so a blob re-committed
// meanwhile would otherwise lend b its new content (errContentChanged).
func (s *Service) versionExtents(ctx context.Context, b *blobRow, from, to int64) ([]extent, error) {
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("loading blob extents: %w", err)
	}
	defer tx.Rollback()
	if err := sameVersion(ctx, tx, b); err != nil {
		return nil, err
	}
	return loadExtents(ctx, tx, b.Account, b.Container, b.Name, b.Snapshot, from, to)
}

// sameVersion checks, in a read transaction, that b's row still has the
// ETag it was loaded with, else errContentChanged.
func sameVersion(ctx context.Context, tx queryer, b *blobRow) error {
	var etag string
	err := tx.QueryRowContext(ctx, `SELECT etag FROM blobs WHERE account = ? AND container = ? AND name = ? AND snapshot = ? AND deleted_time = 0`,
		b.Account, b.Container, b.Name, b.Snapshot).Scan(&etag)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err == nil && etag != b.ETag):
		return errContentChanged
	case err != nil:
		return fmt.Errorf("loading blob: %w", err)
	}
	return nil
}

// eagerExtentFiles is how many extent files a read opens before it
// answers: enough for any range the SDKs read in one request, so that a
// blob replaced meanwhile is noticed (and read again) before the response
// starts. Beyond them, files are opened as the read reaches them.
const eagerExtentFiles = 64

// maxOpenExtentFiles bounds the files one read holds open: a blob of
// 50,000 blocks must not take as many of the process's descriptors. Reads
// move forward, so the files behind the one being opened are closed.
const maxOpenExtentFiles = 2 * eagerExtentFiles

// extentReader reads the content of an extents blob: an io.ReaderAt over
// the extents it was given (those overlapping the range to be read), for
// one reader at a time, which moves forward (maxOpenExtentFiles).
type extentReader struct {
	dir  string
	exts []extent

	mu    sync.Mutex
	files map[int]*os.File // open files by index in exts
}

// openExtents opens the first eagerExtentFiles of exts. An error wrapping
// fs.ErrNotExist means the blob was replaced or deleted meanwhile.
func (s *Service) openExtents(exts []extent) (*extentReader, error) {
	r := &extentReader{dir: s.contentDir, exts: exts, files: map[int]*os.File{}}
	for i := range min(len(exts), eagerExtentFiles) {
		if _, err := r.file(i); err != nil {
			r.Close()
			return nil, err
		}
	}
	return r, nil
}

func (r *extentReader) file(i int) (*os.File, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f, ok := r.files[i]; ok {
		return f, nil
	}
	if len(r.files) >= maxOpenExtentFiles {
		for j, f := range r.files {
			if j < i {
				f.Close()
				delete(r.files, j)
			}
		}
	}
	f, err := os.Open(filepath.Join(r.dir, r.exts[i].File))
	if err != nil {
		return nil, fmt.Errorf("opening blob content: %w", err)
	}
	r.files[i] = f
	return f, nil
}

// ReadAt reads from the extents; off is an offset in the blob.
func (r *extentReader) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	i := sort.Search(len(r.exts), func(i int) bool { return r.exts[i].Off+r.exts[i].Size > off })
	for n < len(p) {
		if i >= len(r.exts) || r.exts[i].Off > off {
			// Past the extents given, or a hole (which a blob never has).
			return n, io.EOF
		}
		e := r.exts[i]
		f, err := r.file(i)
		if err != nil {
			return n, err
		}
		want := min(int64(len(p)-n), e.Off+e.Size-off)
		k, err := f.ReadAt(p[n:n+int(want)], off-e.Off)
		n += k
		off += int64(k)
		if err != nil && !(errors.Is(err, io.EOF) && int64(k) == want) {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF // the file is shorter than its extent
			}
			return n, fmt.Errorf("reading blob content: %w", err)
		}
		i++
	}
	return n, nil
}

// Close closes the files opened.
func (r *extentReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.files {
		f.Close()
	}
	r.files = nil
	return nil
}

var _ io.ReaderAt = (*extentReader)(nil)

// openContent returns a reader of b's content that serves [start, end) and
// a function that releases it. An error wrapping fs.ErrNotExist means b was
// replaced or deleted since it was loaded.
func (s *Service) openContent(ctx context.Context, b *blobRow, start, end int64) (io.ReaderAt, func(), error) {
	switch {
	case b.Type == "PageBlob":
		return &pageReader{ctx: ctx, db: s.reader, blob: b}, func() {}, nil
	case b.Extents > 0:
		exts, err := s.versionExtents(ctx, b, start, end)
		if err != nil {
			return nil, nil, err
		}
		r, err := s.openExtents(exts)
		if err != nil {
			return nil, nil, err
		}
		return r, func() { r.Close() }, nil
	case b.File != "":
		f, err := os.Open(filepath.Join(s.contentDir, b.File))
		if err != nil {
			return nil, nil, fmt.Errorf("opening blob content: %w", err)
		}
		return f, func() { f.Close() }, nil
	}
	return bytes.NewReader(b.Data), func() {}, nil
}

// contentPiece is one block of a blob being committed by Put Block List:
// a staged block's file (path), or a range of the old blob's content (old).
type contentPiece struct {
	path      string
	old       bool
	off, size int64
}

// composeBlocks makes the content of a blob committed from pieces, total
// bytes in all. Small content is returned inline. Larger content is
// returned as extents, one per non-empty piece: a staged block's file, or
// an extent of the old blob, gets a new name in the content directory; a
// range of an old blob stored otherwise is copied into a file of its own.
// The extents' files are on disk and their directory synced; the caller
// removes them (removeExtentFiles) if the blob is not committed.
func (s *Service) composeBlocks(ctx context.Context, old *blobRow, pieces []contentPiece, total int64) (inline []byte, parts []extent, err error) {
	var oldContent io.ReaderAt
	var oldExtents map[int64]extent // by offset, when old is an extents blob
	for _, p := range pieces {
		if !p.old || oldContent != nil {
			continue
		}
		r, release, err := s.openContent(ctx, old, 0, old.Size)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, nil, errInvalidBlockList // replaced meanwhile
			}
			return nil, nil, err
		}
		defer release()
		oldContent = r
		if old.Extents > 0 {
			oldExtents = map[int64]extent{}
			for _, e := range r.(*extentReader).exts {
				oldExtents[e.Off] = e
			}
		}
	}
	reader := func(p contentPiece) (io.Reader, func(), error) {
		if p.old {
			return io.NewSectionReader(oldContent, p.off, p.size), func() {}, nil
		}
		f, err := os.Open(p.path)
		if err != nil {
			return nil, nil, errInvalidBlockList // a staged block committed or dropped meanwhile
		}
		return io.LimitReader(f, p.size), func() { f.Close() }, nil
	}
	if total <= inlineMax {
		var buf bytes.Buffer
		for _, p := range pieces {
			r, done, err := reader(p)
			if err != nil {
				return nil, nil, err
			}
			_, err = io.Copy(&buf, r)
			done()
			if err != nil {
				return nil, nil, fmt.Errorf("composing blob from blocks: %w", err)
			}
		}
		return buf.Bytes(), nil, nil
	}
	defer func() {
		if err != nil {
			s.removeExtentFiles(parts)
			parts = nil
		}
	}()
	var off int64
	for _, p := range pieces {
		if p.size == 0 {
			continue
		}
		var name string
		switch e, ok := oldExtents[p.off]; {
		case !p.old:
			if name, err = s.linkContent(p.path); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					err = errInvalidBlockList
				}
				return nil, parts, err
			}
		case ok && e.Size == p.size:
			if name, err = s.linkContent(filepath.Join(s.contentDir, e.File)); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					err = errInvalidBlockList
				}
				return nil, parts, err
			}
		default: // a range of an old blob stored inline or in one file
			if name, _, err = writeFile(s.contentDir, io.NewSectionReader(oldContent, p.off, p.size)); err != nil {
				return nil, parts, fmt.Errorf("composing blob from blocks: %w", err)
			}
		}
		parts = append(parts, extent{Off: off, Size: p.size, File: name})
		off += p.size
	}
	if err = s.syncContentDir(); err != nil {
		return nil, parts, err
	}
	return nil, parts, nil
}

// errContentChanged: a blob was replaced or deleted between loading its
// row and reading its content. It wraps fs.ErrNotExist, like a content
// file that vanished, which is what a reader retries on.
var errContentChanged = fmt.Errorf("blob changed while it was read: %w", fs.ErrNotExist)

// errSourceChanged: the source of a copy was replaced while it was being
// copied (a errContentChanged).
var errSourceChanged = fmt.Errorf("copy source changed while it was copied: %w", errContentChanged)

// reserveClone refuses a copy or snapshot of b whose bytes would not fit
// above the disk's reserve (Config.DiskReserve): a page blob's written
// pages, copied row by row, and a content file copied whole (an append
// blob's, or an inline row's few bytes) are written again; block content
// in a file or extents is hard-linked and costs nothing. Otherwise a
// tenant who wrote gigabytes while there was room could take the disk's
// last space with copies and snapshots, each a request without a body.
func (s *Service) reserveClone(ctx context.Context, b *blobRow) error {
	var n int64
	switch {
	case b.Type == "PageBlob":
		err := s.rdb().QueryRowContext(ctx, `SELECT coalesce(sum(length(data)), 0) FROM pages WHERE `+pageKeyCond+` AND start < ?`,
			pagesOf(b).args(b.Size)...).Scan(&n)
		if err != nil {
			return fmt.Errorf("sizing the pages to copy: %w", err)
		}
	case b.Extents > 0 || b.Type == "BlockBlob" && b.File != "":
	default:
		n = b.Size
	}
	return s.reserve.Check(n)
}

// cloneSource clones the content of src, a blob loaded outside any
// transaction, for a copy. A short read transaction checks that src is
// still the version loaded and loads its extents, so that its row and its
// extents agree; the files are linked or copied after it, so that a large
// copy holds no database connection. A source replaced after the check
// loses its files, and the clone fails with fs.ErrNotExist (the copy is
// retried).
func (s *Service) cloneSource(ctx context.Context, src *blobRow) (string, []extent, error) {
	if err := s.reserveClone(ctx, src); err != nil {
		return "", nil, err
	}
	exts, err := func() ([]extent, error) {
		tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return nil, fmt.Errorf("reading copy source: %w", err)
		}
		defer tx.Rollback()
		if err := sameVersion(ctx, tx, src); errors.Is(err, errContentChanged) {
			return nil, errSourceChanged
		} else if err != nil || src.Extents == 0 {
			return nil, err
		}
		return loadExtents(ctx, tx, src.Account, src.Container, src.Name, src.Snapshot, 0, src.Size)
	}()
	if err != nil {
		return "", nil, err
	}
	return s.cloneContent(src, exts)
}
