package blob

import (
	"context"
	"database/sql"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// Page blobs: Put Blob with x-ms-blob-type: PageBlob creates one of a
// declared size; Put Page writes or clears 512-byte-aligned ranges; Get
// Page Ranges lists them (or diffs them against a snapshot); Set Blob
// Properties resizes it and sets its sequence number.
//
// A page blob's bytes are rows of the pages table, never overlapping, each
// a piece of one Put Page with its data. A Put Page is one (group-committed)
// transaction that trims or splits the rows it overlaps and adds its own,
// so a page write is atomic and acknowledged only once it is on disk. Its
// data is stored in pieces that end on pageChunk boundaries, so that a
// later small write into it rewrites at most two pieces, and a read loads
// no more than it needs. Ranges are listed as they were written: the
// adjacent pieces of one write (same gen) are one range, but adjacent
// writes are not merged (three 512-byte writes at 0, 512 and 1024 are
// three ranges), as Azure lists them in Azurite's live tests. Pages no row
// covers read as zeros. A snapshot or copy copies the rows, so a snapshot
// never changes.

const (
	pageSize        = 512
	maxPageBlobSize = 8 << 40  // 8 TiB
	maxPutPageBytes = 4 << 20  // one Put Page body
	pageChunk       = 64 << 10 // rows end on multiples of it
)

var (
	errInvalidPageRange              = newError(416, "InvalidPageRange", "The page range specified is invalid.")
	errSequenceNumberConditionNotMet = newError(412, "SequenceNumberConditionNotMet", "The sequence number condition specified was not met.")
	errPreviousSnapshotNotFound      = newError(409, "PreviousSnapshotNotFound", "The previous snapshot is not found.")
	// errPageBlobChanged ends a download whose blob was written meanwhile:
	// read again from the start if nothing was sent yet (it is a
	// errContentChanged), else the response is cut short rather than mix
	// two versions.
	errPageBlobChanged = fmt.Errorf("page blob changed while it was being read: %w", errContentChanged)
)

// pageKey names the pages of one blob or snapshot.
type pageKey struct{ account, container, blob, snapshot string }

func pagesOf(b *blobRow) pageKey { return pageKey{b.Account, b.Container, b.Name, b.Snapshot} }

const pageKeyCond = `account = ? AND container = ? AND blob = ? AND snapshot = ?`

// args returns the arguments of pageKeyCond followed by more.
func (k pageKey) args(more ...any) []any {
	return append([]any{k.account, k.container, k.blob, k.snapshot}, more...)
}

// sqlPagesOverlapping is the tail of a query for the rows of one blob that
// overlap [lo, hi), in order; its arguments are k.args(hi, lo) followed by
// k.args(lo). Rows never overlap, so the first is the last to start at or
// before lo, and the index bounds the scan from there.
const sqlPagesOverlapping = ` FROM pages WHERE ` + pageKeyCond + ` AND start < ? AND stop > ?
	AND start >= coalesce((SELECT max(start) FROM pages WHERE ` + pageKeyCond + ` AND start <= ?), 0) ORDER BY start`

func overlapArgs(k pageKey, lo, hi int64) []any { return append(k.args(hi, lo), k.args(lo)...) }

// pageBlobSize parses x-ms-blob-content-length: a multiple of 512 up to
// 8 TiB.
func pageBlobSize(v string) (int64, error) {
	if v == "" {
		return 0, errMissingHeader
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n%pageSize != 0 || n > maxPageBlobSize {
		return 0, errInvalidHeader
	}
	return n, nil
}

// sequenceNumber parses x-ms-blob-sequence-number (0 to 2^63-1).
func sequenceNumber(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, errInvalidHeader
	}
	return n, nil
}

// pageBlobCreateHeaders reads the size and sequence number of a Put Blob
// that creates a page blob (whose body must be empty).
func pageBlobCreateHeaders(r *http.Request) (size, seq int64, err error) {
	if err := requireEmptyBody(r, "Content-Length must be 0 for a page blob."); err != nil {
		return 0, 0, err
	}
	if size, err = pageBlobSize(r.Header.Get("x-ms-blob-content-length")); err != nil {
		return 0, 0, err
	}
	if v := r.Header.Get("x-ms-blob-sequence-number"); v != "" {
		if seq, err = sequenceNumber(v); err != nil {
			return 0, 0, err
		}
	}
	return size, seq, nil
}

// seqCondition is one of Put Page's sequence number conditions.
type seqCondition struct {
	holds func(cur, v int64) bool
	v     int64
}

var seqConditionHeaders = []struct {
	name  string
	holds func(cur, v int64) bool
}{
	{"x-ms-if-sequence-number-le", func(cur, v int64) bool { return cur <= v }},
	{"x-ms-if-sequence-number-lt", func(cur, v int64) bool { return cur < v }},
	{"x-ms-if-sequence-number-eq", func(cur, v int64) bool { return cur == v }},
}

// parseSeqConditions reads x-ms-if-sequence-number-le/-lt/-eq; a negative
// or malformed value is InvalidInput, as Azure answers.
func parseSeqConditions(h http.Header) ([]seqCondition, error) {
	var out []seqCondition
	for _, c := range seqConditionHeaders {
		v := h.Get(c.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, errInvalidInput
		}
		out = append(out, seqCondition{c.holds, n})
	}
	return out, nil
}

func checkSeqConditions(conds []seqCondition, cur int64) error {
	for _, c := range conds {
		if !c.holds(cur, c.v) {
			return errSequenceNumberConditionNotMet
		}
	}
	return nil
}

// pageWriteRange reads the range of a Put Page (x-ms-range, else Range),
// which must start and end on page boundaries. stop is exclusive.
func pageWriteRange(h http.Header) (start, stop int64, err error) {
	v := h.Get("x-ms-range")
	if v == "" {
		v = h.Get("Range")
	}
	if v == "" {
		return 0, 0, errMissingHeader
	}
	st, en, ok := parseRange(v)
	if !ok || en < 0 || en >= maxPageBlobSize || st%pageSize != 0 || (en+1)%pageSize != 0 {
		return 0, 0, errInvalidPageRange
	}
	return st, en + 1, nil
}

// writablePageBlob loads the base page blob a page write addresses and
// applies its lease, conditions and sequence number conditions.
func (s *Service) writablePageBlob(ctx context.Context, q queryer, rq *req, conds []seqCondition) (*blobRow, error) {
	b, err := getBlobHead(ctx, q, rq.acct.Name, rq.container, rq.blob, "")
	if err != nil {
		return nil, err
	}
	if b.Type != "PageBlob" {
		return nil, errInvalidBlobType
	}
	if err := checkWriteLease(b.Lease, rq.r.Header, s.now(), "blob"); err != nil {
		return nil, err
	}
	if err := checkBlobConditions(rq.r.Header, b, condWrite); err != nil {
		return nil, err
	}
	if err := checkSeqConditions(conds, b.SequenceNumber); err != nil {
		return nil, err
	}
	return b, nil
}

// putPage is Put Page: x-ms-page-write update writes the body to the range,
// clear makes the range unwritten (zeros) again.
func (s *Service) putPage(rq *req) error {
	ctx := rq.r.Context()
	h := rq.r.Header
	var clearing bool
	switch strings.ToLower(h.Get("x-ms-page-write")) {
	case "update":
	case "clear":
		clearing = true
	case "":
		return errMissingHeader
	default:
		return errInvalidHeader
	}
	start, stop, err := pageWriteRange(h)
	if err != nil {
		return err
	}
	if !clearing && stop-start > maxPutPageBytes {
		return errRequestBodyTooLarge
	}
	conds, err := parseSeqConditions(h)
	if err != nil {
		return err
	}
	// Fail fast, before the body is read; the checks are repeated in the
	// committing transaction.
	b, err := s.writablePageBlob(ctx, s.rdb(), rq, conds)
	if err != nil {
		return s.blobOrContainerNotFound(rq, err)
	}
	if stop > b.Size {
		return errInvalidPageRange
	}
	var data []byte
	var checks *uploadChecks
	switch {
	case clearing && fromURL(rq):
		return newError(400, "InvalidHeaderValue", "Put Page From URL writes pages (x-ms-page-write: update); it does not clear them.")
	case clearing:
		if err := requireEmptyBody(rq.r, "Content-Length must be 0 for a Put Page that clears pages."); err != nil {
			return err
		}
	case fromURL(rq):
		if data, checks, err = s.readPageSource(rq, stop-start); err != nil {
			return err
		}
	default:
		if data, checks, err = readPageBody(rq, stop-start); err != nil {
			return err
		}
	}
	now := s.tick()
	err = s.groupTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		q := cachedTx{tx, s.wstmts}
		if _, err := getContainer(ctx, q, rq.acct.Name, rq.container); err != nil {
			return err // missing, or being deleted: add no pages behind the purge
		}
		var err error
		if b, err = s.writablePageBlob(ctx, q, rq, conds); err != nil {
			return err
		}
		if stop > b.Size {
			return errInvalidPageRange
		}
		if err := writePages(ctx, q, pagesOf(b), start, stop, data, now.UnixNano()); err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, `UPDATE blobs SET etag = ?, last_modified = ?, lease = ? WHERE account = ? AND container = ? AND name = ? AND snapshot = ''`,
			newETag(now), now.UnixNano(), mustJSON(b.Lease.afterWrite(now)), b.Account, b.Container, b.Name)
		if err != nil {
			return fmt.Errorf("recording page write: %w", err)
		}
		return nil
	})
	if err != nil {
		return s.blobOrContainerNotFound(rq, err)
	}
	rh := rq.w.Header()
	setTimes(rh, newETag(now), now)
	rh.Set("x-ms-blob-sequence-number", strconv.FormatInt(b.SequenceNumber, 10))
	if checks != nil {
		checks.setHeaders(rh)
		rh.Set("x-ms-request-server-encrypted", "true")
	}
	return rq.ok(http.StatusCreated)
}

// readPageBody reads the body of a Put Page that writes n bytes (at most
// maxPutPageBytes, checked before) and validates its transactional
// checksums.
func readPageBody(rq *req, n int64) ([]byte, *uploadChecks, error) {
	if cl := rq.r.ContentLength; cl >= 0 && cl != n {
		return nil, nil, errInvalidPageRange
	}
	return readPages(rq.r.Body, rq.r.Header, n)
}

// readPageSource reads the content of a Put Page From URL that writes n
// bytes: the source's range x-ms-source-range, which must hold exactly n.
func (s *Service) readPageSource(rq *req, n int64) ([]byte, *uploadChecks, error) {
	v := rq.r.Header.Get("x-ms-source-range")
	if v == "" {
		return nil, nil, errMissingHeader
	}
	if st, en, ok := parseRange(v); !ok || en < 0 || en-st+1 != n {
		return nil, nil, errInvalidPageRange
	}
	src, err := s.openURLSource(rq, maxPutPageBytes)
	if err != nil {
		return nil, nil, err
	}
	defer src.release()
	if src.size != n {
		return nil, nil, errInvalidRange // the range runs past the source's end
	}
	return readPages(src.body, src.checks, n)
}

// readPages reads n bytes of pages from body and validates them against
// the checksums of h.
func readPages(body io.Reader, h http.Header, n int64) ([]byte, *uploadChecks, error) {
	checks, err := newUploadChecks(h, false)
	if err != nil {
		return nil, nil, err
	}
	data := make([]byte, n+1)
	k, err := io.ReadFull(body, data)
	switch {
	case err == nil || int64(k) < n && (err == io.EOF || err == io.ErrUnexpectedEOF):
		// More or fewer bytes than the range holds.
		return nil, nil, errInvalidPageRange
	case err != io.ErrUnexpectedEOF:
		return nil, nil, fmt.Errorf("reading page content: %w", err)
	}
	data = data[:n]
	for _, hw := range checks.hasherList {
		hw.Write(data)
	}
	if err := checks.verify(); err != nil {
		return nil, nil, err
	}
	return data, checks, nil
}

// writePages makes [start, stop) of k's pages hold data, written by gen
// (data nil clears them): the rows the range overlaps are trimmed or split
// around it, then data becomes rows of its own, cut at pageChunk
// boundaries.
func writePages(ctx context.Context, q txQueryer, k pageKey, start, stop int64, data []byte, gen int64) error {
	if err := cutPages(ctx, q, k, start, stop); err != nil {
		return fmt.Errorf("writing pages: %w", err)
	}
	if data == nil {
		return nil
	}
	for off := start; off < stop; {
		next := min(stop, (off/pageChunk+1)*pageChunk)
		_, err := q.ExecContext(ctx, `INSERT INTO pages (account, container, blob, snapshot, start, stop, gen, data) VALUES (?,?,?,?,?,?,?,?)`,
			k.args(off, next, gen, data[off-start:next-start])...)
		if err != nil {
			return fmt.Errorf("writing pages: %w", err)
		}
		off = next
	}
	return nil
}

// cutPages removes [start, stop) from k's rows.
func cutPages(ctx context.Context, q txQueryer, k pageKey, start, stop int64) error {
	// The row that begins before start and reaches into the range keeps
	// its head, and also its tail if it reaches past the range.
	var rs, re int64
	err := q.QueryRowContext(ctx, `SELECT start, stop FROM pages WHERE `+pageKeyCond+` AND start < ? ORDER BY start DESC LIMIT 1`,
		k.args(start)...).Scan(&rs, &re)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	case re > start:
		if re > stop {
			_, err := q.ExecContext(ctx, `INSERT INTO pages (account, container, blob, snapshot, start, stop, gen, data)
				SELECT account, container, blob, snapshot, ?, stop, gen, substr(data, ? - start + 1) FROM pages WHERE `+pageKeyCond+` AND start = ?`,
				append([]any{stop, stop}, k.args(rs)...)...)
			if err != nil {
				return err
			}
		}
		_, err := q.ExecContext(ctx, `UPDATE pages SET stop = ?, data = substr(data, 1, ? - start) WHERE `+pageKeyCond+` AND start = ?`,
			append([]any{start, start}, k.args(rs)...)...)
		if err != nil {
			return err
		}
	}
	// Rows inside the range go; the row that begins inside it and reaches
	// past it keeps its tail.
	if _, err := q.ExecContext(ctx, `DELETE FROM pages WHERE `+pageKeyCond+` AND start >= ? AND stop <= ?`, k.args(start, stop)...); err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `UPDATE pages SET start = ?, data = substr(data, ? - start + 1) WHERE `+pageKeyCond+` AND start >= ? AND start < ? AND stop > ?`,
		append([]any{stop, stop}, k.args(start, stop, stop)...)...)
	return err
}

// truncatePages discards k's pages at and beyond size (Set Blob Properties
// shrinking a page blob).
func truncatePages(ctx context.Context, q txQueryer, k pageKey, size int64) error {
	if err := cutPages(ctx, q, k, size, math.MaxInt64); err != nil {
		return fmt.Errorf("truncating pages: %w", err)
	}
	return nil
}

// copyPages gives to a copy of from's pages below size (a snapshot or a
// copy of a page blob). It copies every written byte inside the caller's
// write transaction, so a snapshot or copy of a page blob with gigabytes
// written holds up every other write (and grows the WAL) meanwhile: fine
// for the page blobs Django apps and the SDKs' tests make, not for disk
// images. Sharing rows between versions would lift that.
func copyPages(ctx context.Context, q txQueryer, from, to pageKey, size int64) error {
	_, err := q.ExecContext(ctx, `INSERT INTO pages (account, container, blob, snapshot, start, stop, gen, data)
		SELECT ?, ?, ?, ?, start, stop, gen, data FROM pages WHERE `+pageKeyCond+` AND start < ?`,
		append(to.args(), from.args(size)...)...)
	if err != nil {
		return fmt.Errorf("copying pages: %w", err)
	}
	return truncatePages(ctx, q, to, size)
}

// sqlDeletePages deletes the pages of one blob or snapshot (pageKeyCond).
const sqlDeletePages = `DELETE FROM pages WHERE ` + pageKeyCond

// replacePages gives the new base blob b, which replaces old (nil if none),
// its pages: a copy of the page blob from's for a copy of it (from must
// still be the version loaded, else errSourceChanged), none otherwise. The
// replaced blob's pages go.
func replacePages(ctx context.Context, q txQueryer, old, b, from *blobRow) error {
	to := pagesOf(b)
	if from != nil && pagesOf(from) == to {
		// A page blob copied onto itself keeps its pages, if it is still
		// the version copied: b has already replaced its row, so old (the
		// row b replaced) is what tells.
		if old == nil || old.ETag != from.ETag {
			return errSourceChanged
		}
		return nil
	}
	if from != nil {
		if err := sameVersion(ctx, q, from); errors.Is(err, errContentChanged) {
			return errSourceChanged
		} else if err != nil {
			return err
		}
	}
	if old != nil && old.Type == "PageBlob" || b.Type == "PageBlob" {
		// The replaced page blob's pages go; a new page blob starts with
		// none, whatever an interrupted purge of an older container of
		// this name might have left.
		if _, err := q.ExecContext(ctx, sqlDeletePages, to.args()...); err != nil {
			return fmt.Errorf("deleting replaced pages: %w", err)
		}
	}
	if from == nil {
		return nil
	}
	return copyPages(ctx, q, pagesOf(from), to, b.Size)
}

// pageRow is a written page range [start, stop) and the write it came from.
type pageRow struct{ start, stop, gen int64 }

// pageRows returns k's rows that overlap [lo, hi), in order.
func pageRows(ctx context.Context, q rowsQueryer, k pageKey, lo, hi int64) ([]pageRow, error) {
	return scanRows(ctx, q, "listing pages", `SELECT start, stop, gen`+sqlPagesOverlapping, overlapArgs(k, lo, hi),
		func(sc scanner) (p pageRow, err error) {
			err = sc.Scan(&p.start, &p.stop, &p.gen)
			return p, err
		})
}

// pageReader reads a page blob's content at any offset, zeros where no
// page is written. Each ReadAt is a short read transaction of its own (a
// slow client never holds a database connection) that first checks that
// the blob still has the ETag the read began with, so a download never
// mixes two versions of the blob: it fails instead.
type pageReader struct {
	ctx  context.Context
	db   *sql.DB
	blob *blobRow
}

func (r *pageReader) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	tx, err := r.db.BeginTx(r.ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("reading pages: %w", err)
	}
	defer tx.Rollback()
	b := r.blob
	if err := sameVersion(r.ctx, tx, b); errors.Is(err, errContentChanged) {
		return 0, errPageBlobChanged
	} else if err != nil {
		return 0, fmt.Errorf("reading pages: %w", err)
	}
	end := off + int64(len(p))
	// Only the part of each row inside [off, end) is loaded.
	rows, err := tx.QueryContext(r.ctx, `SELECT start, substr(data, max(? - start, 0) + 1, min(stop, ?) - max(start, ?))`+sqlPagesOverlapping,
		append([]any{off, end, off}, overlapArgs(pagesOf(b), off, end)...)...)
	if err != nil {
		return 0, fmt.Errorf("reading pages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var start int64
		var chunk sql.RawBytes
		if err := rows.Scan(&start, &chunk); err != nil {
			return 0, fmt.Errorf("reading pages: %w", err)
		}
		copy(p[max(start, off)-off:], chunk)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("reading pages: %w", err)
	}
	return len(p), nil
}

// pageRangeXML is one PageRange or ClearRange of a PageList (End
// inclusive).
type pageRangeXML struct {
	XMLName xml.Name
	Start   int64 `xml:"Start"`
	End     int64 `xml:"End"`
}

type pageListXML struct {
	XMLName    xml.Name       `xml:"PageList"`
	Ranges     []pageRangeXML // PageRange and ClearRange, in offset order
	NextMarker string         `xml:"NextMarker"`
}

func pageRangeItem(kind string, start, stop int64) pageRangeXML {
	return pageRangeXML{XMLName: xml.Name{Local: kind}, Start: start, End: stop - 1}
}

// listRanges lists rows clipped to [lo, hi), the adjacent pieces of one
// write as one range.
func listRanges(rows []pageRow, lo, hi int64) []pageRangeXML {
	var out []pageRangeXML
	for i, r := range rows {
		if n := len(out); n > 0 && rows[i-1].gen == r.gen && rows[i-1].stop == r.start {
			out[n-1].End = min(r.stop, hi) - 1
			continue
		}
		out = append(out, pageRangeItem("PageRange", max(r.start, lo), min(r.stop, hi)))
	}
	return out
}

// diffRanges compares a blob's rows (cur) with those of an earlier
// snapshot (old) over [lo, hi): pages written since the snapshot are
// PageRanges, pages cleared since are ClearRanges. A page is unchanged
// when both hold it from the same write. The pieces of one write are
// reported as one range.
func diffRanges(cur, old []pageRow, lo, hi int64) []pageRangeXML {
	var out []pageRangeXML
	var lastGen int64
	emit := func(kind string, gen, start, stop int64) {
		if n := len(out); n > 0 && out[n-1].XMLName.Local == kind && lastGen == gen && out[n-1].End+1 == start {
			out[n-1].End = stop - 1
			return
		}
		out = append(out, pageRangeItem(kind, start, stop))
		lastGen = gen
	}
	// at returns the row of rows (from index *i on) that holds pos, and
	// lowers next to where that answer may change.
	at := func(rows []pageRow, i *int, pos int64, next *int64) *pageRow {
		for *i < len(rows) && rows[*i].stop <= pos {
			*i++
		}
		if *i == len(rows) {
			return nil
		}
		r := &rows[*i]
		if r.start > pos {
			*next = min(*next, r.start)
			return nil
		}
		*next = min(*next, r.stop)
		return r
	}
	i, j := 0, 0
	for pos := lo; pos < hi; {
		next := hi
		c, o := at(cur, &i, pos, &next), at(old, &j, pos, &next)
		switch {
		case c != nil && (o == nil || o.gen != c.gen):
			emit("PageRange", c.gen, pos, next)
		case c == nil && o != nil:
			emit("ClearRange", o.gen, pos, next)
		}
		pos = next
	}
	return out
}

// getPageRanges is Get Page Ranges (comp=pagelist): the written ranges of
// the blob or snapshot within the optional range, or with prevsnapshot the
// ranges changed since that snapshot. maxresults and marker page through
// them; without maxresults every range is returned (the older clients do
// not follow NextMarker).
func (s *Service) getPageRanges(rq *req) error {
	ctx := rq.r.Context()
	h := rq.r.Header
	if h.Get("x-ms-previous-snapshot-url") != "" {
		return newError(400, "InvalidHeaderValue", "Page range diffs against a snapshot URL (managed disks) are not supported.")
	}
	limit := -1
	if v := rq.q.Get("maxresults"); v != "" {
		n, err := maxResults(v)
		if err != nil {
			return err
		}
		limit = n
	}
	var marker int64
	if v := rq.q.Get("marker"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return errInvalidQuery
		}
		marker = n
	}
	// One read transaction: the ranges are those of the ETag reported.
	tx, err := s.reader.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("listing page ranges: %w", err)
	}
	defer tx.Rollback()
	b, err := getBlobHead(ctx, tx, rq.acct.Name, rq.container, rq.blob, rq.q.Get("snapshot"))
	if err != nil {
		return s.blobOrContainerNotFound(rq, err)
	}
	if b.Type != "PageBlob" {
		return errInvalidBlobType
	}
	if b.Snapshot == "" {
		if err := checkReadLease(b.Lease, h, s.now(), "blob"); err != nil {
			return err
		}
	}
	// Azure answers unmet conditions here with 412, as for a write.
	if err := checkBlobConditions(h, b, condWrite); err != nil {
		return err
	}
	lo, hi, err := pageListWindow(h, b.Size)
	if err != nil {
		return err
	}
	lo = max(lo, marker)
	var ranges []pageRangeXML
	cur, err := pageRows(ctx, tx, pagesOf(b), lo, hi)
	if err != nil {
		return err
	}
	if prev := rq.q.Get("prevsnapshot"); prev != "" {
		pb, err := getBlobHead(ctx, tx, b.Account, b.Container, b.Name, prev)
		if errors.Is(err, errBlobNotFound) {
			return errPreviousSnapshotNotFound
		}
		if err != nil {
			return err
		}
		old, err := pageRows(ctx, tx, pagesOf(pb), lo, hi)
		if err != nil {
			return err
		}
		ranges = diffRanges(cur, old, lo, hi)
	} else {
		ranges = listRanges(cur, lo, hi)
	}
	tx.Rollback()
	out := pageListXML{Ranges: ranges}
	if limit >= 0 && len(ranges) > limit {
		out.NextMarker = strconv.FormatInt(ranges[limit].Start, 10)
		out.Ranges = ranges[:limit]
	}
	rh := rq.w.Header()
	setTimes(rh, b.ETag, b.LastModified)
	rh.Set("x-ms-blob-content-length", strconv.FormatInt(b.Size, 10))
	return rq.writeXML(http.StatusOK, out)
}

// pageListWindow is the part [lo, hi) of a blob of the given size that Get
// Page Ranges lists: the whole blob, or the range asked for widened to
// whole pages. A range that starts past the end is InvalidRange; one that
// cannot be parsed is ignored, as Azure does.
func pageListWindow(h http.Header, size int64) (lo, hi int64, err error) {
	v := h.Get("x-ms-range")
	if v == "" {
		v = h.Get("Range")
	}
	st, en, ok := parseRange(v)
	if !ok {
		return 0, size, nil
	}
	if st >= size {
		return 0, 0, errInvalidRange
	}
	hi = size
	if en >= 0 && en < size {
		hi = (en/pageSize + 1) * pageSize
	}
	return st / pageSize * pageSize, hi, nil
}

// sequenceNumberAction reads x-ms-sequence-number-action (max, update or
// increment) of Set Blob Properties as the change it makes, nil if absent.
func sequenceNumberAction(h http.Header) (func(cur int64) int64, error) {
	action, v := strings.ToLower(h.Get("x-ms-sequence-number-action")), h.Get("x-ms-blob-sequence-number")
	switch action {
	case "":
		return nil, nil
	case "increment":
		if v != "" {
			return nil, errInvalidHeader
		}
		return func(cur int64) int64 { return min(cur, math.MaxInt64-1) + 1 }, nil
	case "max", "update":
	default:
		return nil, errInvalidHeader
	}
	if v == "" {
		return nil, errMissingHeader
	}
	n, err := sequenceNumber(v)
	if err != nil {
		return nil, err
	}
	if action == "max" {
		return func(cur int64) int64 { return max(cur, n) }, nil
	}
	return func(int64) int64 { return n }, nil
}

// setPageBlobProperties is Set Blob Properties with x-ms-blob-content-length
// (resize: pages at and past the new size are discarded) or
// x-ms-sequence-number-action. The blob's HTTP properties are left as they
// are.
func (s *Service) setPageBlobProperties(rq *req) error {
	h := rq.r.Header
	resize := int64(-1)
	if v := h.Get("x-ms-blob-content-length"); v != "" {
		n, err := pageBlobSize(v)
		if err != nil {
			return err
		}
		resize = n
	}
	action, err := sequenceNumberAction(h)
	if err != nil {
		return err
	}
	b, err := s.updateBlobTx(rq, func(ctx context.Context, tx *sql.Tx, b *blobRow) error {
		if b.Type != "PageBlob" {
			return errInvalidBlobType
		}
		if resize >= 0 {
			if resize < b.Size {
				if err := truncatePages(ctx, tx, pagesOf(b), resize); err != nil {
					return err
				}
			}
			b.Size = resize
		}
		if action != nil {
			b.SequenceNumber = action(b.SequenceNumber)
		}
		return nil
	})
	if err != nil {
		return err
	}
	rh := rq.w.Header()
	setTimes(rh, b.ETag, b.LastModified)
	rh.Set("x-ms-blob-sequence-number", strconv.FormatInt(b.SequenceNumber, 10))
	return rq.ok(http.StatusOK)
}
