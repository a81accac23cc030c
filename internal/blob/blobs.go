package blob

import (
	"bytes"
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"hash/crc64"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// crc64Table is Azure Storage's CRC-64 (polynomial 0x9A6C9329AC4BC9B5),
// sent little-endian and base64-encoded in x-ms-content-crc64.
var crc64Table = crc64.MakeTable(0x9A6C9329AC4BC9B5)

const snapshotFormat = "2006-01-02T15:04:05.0000000Z"

// inlineMax is the largest block blob stored inline in its database row
// rather than in a content file.
const inlineMax = 64 << 10

// Azure's limits on one request body: Put Blob 5000 MiB, Put Block 4000 MiB,
// Append Block 100 MiB.
const (
	maxPutBlobBytes     = 5000 << 20
	maxPutBlockBytes    = 4000 << 20
	maxAppendBlockBytes = 100 << 20
)

// maxUncommittedBlocks is how many uncommitted blocks a blob may have, as
// Azure (Put Block: "a maximum of 100,000 uncommitted blocks"); it bounds
// what Put Block List and Get Block List load.
const maxUncommittedBlocks = 100000

// uploadChecks hashes an upload, validates Content-MD5 and
// x-ms-content-crc64 once the body is on disk, and answers with the
// checksums Azure returns. It computes only what it needs: hashing costs
// more CPU than the copy itself.
type uploadChecks struct {
	md5        hash.Hash   // nil when neither asked for nor stored
	crc        hash.Hash64 // nil when not returned
	wantMD5    []byte
	wantCRC    []byte
	hasherList []io.Writer
}

// errInvalidMD5 is Azure's answer to an MD5 header that is not 16 bytes of
// base64 (for Content-MD5 and, on Put Blob, x-ms-blob-content-md5).
var errInvalidMD5 = newError(400, "InvalidMd5", "The MD5 value specified in the request is invalid. MD5 value must be 128 bits and base64 encoded.")

// errBothChecksums: Azure refuses a request carrying both Content-MD5 and
// x-ms-content-crc64.
var errBothChecksums = newError(400, "BothCrc64AndMd5HeaderPresent", "Both x-ms-content-crc64 header and Content-MD5 header are present.")

// newUploadChecks reads the transactional checksums of an upload.
//
// With blobMD5 (Put Blob of a block blob) the blob's MD5 is always
// computed, since it is stored as the blob's Content-MD5 and returned, and
// x-ms-blob-content-md5 takes precedence over Content-MD5 as the value the
// body must match; x-ms-content-crc64 is computed only when the request
// carries one. Otherwise (Put Block, Append Block, Put Page) Azure, from
// version 2019-02-02, returns Content-MD5 only when the request carried it
// and x-ms-content-crc64 when it did not, so exactly one of them is
// computed.
func newUploadChecks(h http.Header, blobMD5 bool) (*uploadChecks, error) {
	if h.Get("x-ms-structured-body") != "" {
		// Structured-message (XSM) framing is not decoded; refuse it rather
		// than store the framing as content.
		return nil, newError(400, "InvalidHeaderValue", "Structured message request bodies (x-ms-structured-body) are not supported.")
	}
	u := &uploadChecks{}
	if h.Get("Content-MD5") != "" && h.Get("x-ms-content-crc64") != "" {
		return nil, errBothChecksums
	}
	md5Value := h.Get("Content-MD5")
	if v := h.Get("x-ms-blob-content-md5"); blobMD5 && v != "" {
		md5Value = v
	}
	if md5Value != "" {
		b, err := base64.StdEncoding.DecodeString(md5Value)
		if err != nil || len(b) != md5.Size {
			return nil, errInvalidMD5
		}
		u.wantMD5 = b
	}
	if v := h.Get("x-ms-content-crc64"); v != "" {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(b) != 8 {
			return nil, errInvalidHeader
		}
		u.wantCRC = b
	}
	if blobMD5 || h.Get("Content-MD5") != "" {
		u.md5 = md5.New()
		u.hasherList = append(u.hasherList, u.md5)
	}
	if u.wantCRC != nil || (!blobMD5 && u.md5 == nil) {
		u.crc = crc64.New(crc64Table)
		u.hasherList = append(u.hasherList, u.crc)
	}
	return u, nil
}

// sumMD5 returns the body's MD5; only valid when it was computed (always
// for blobMD5 checks).
func (u *uploadChecks) sumMD5() []byte { return u.md5.Sum(nil) }

func (u *uploadChecks) sumCRC() []byte {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], u.crc.Sum64())
	return b[:]
}

func (u *uploadChecks) verify() error {
	if u.wantMD5 != nil && !bytes.Equal(u.wantMD5, u.sumMD5()) {
		return errMD5Mismatch
	}
	if u.wantCRC != nil && !bytes.Equal(u.wantCRC, u.sumCRC()) {
		return errCRC64Mismatch
	}
	return nil
}

// setHeaders returns the checksums that were computed (see
// newUploadChecks for which).
func (u *uploadChecks) setHeaders(h http.Header) {
	if u.md5 != nil {
		h.Set("Content-MD5", md5Header(u.sumMD5()))
	}
	if u.crc != nil {
		h.Set("x-ms-content-crc64", base64.StdEncoding.EncodeToString(u.sumCRC()))
	}
}

// blobHTTPHeaders reads the x-ms-blob-* property headers of Put Blob, Put
// Block List and Set Blob Properties into b. fallback allows the plain
// Content-* headers (Put Blob only).
func blobHTTPHeaders(b *blobRow, h http.Header, fallback bool) error {
	get := func(name, plain string) string {
		if v := h.Get(name); v != "" || !fallback || plain == "" {
			return v
		}
		return h.Get(plain)
	}
	b.ContentType = get("x-ms-blob-content-type", "Content-Type")
	b.ContentEncoding = get("x-ms-blob-content-encoding", "Content-Encoding")
	b.ContentLanguage = get("x-ms-blob-content-language", "Content-Language")
	b.ContentDisposition = get("x-ms-blob-content-disposition", "")
	b.CacheControl = get("x-ms-blob-cache-control", "")
	b.ContentMD5 = nil
	if v := h.Get("x-ms-blob-content-md5"); v != "" {
		m, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return errInvalidHeader
		}
		// Stored as given, as Azure does, unless a Put Blob body is
		// checked against it (newUploadChecks refuses one that is not an
		// MD5). Append and page blobs are created empty, so theirs is
		// stored as given too (Azurite's "Create append blob override
		// existing pageblob").
		b.ContentMD5 = m
	}
	return nil
}

// requireEmptyBody refuses a body on a request that Azure wants without
// one, whether its length was declared or it came chunked.
func requireEmptyBody(r *http.Request, msg string) error {
	if r.ContentLength > 0 {
		return newError(400, "InvalidHeaderValue", msg)
	}
	if r.ContentLength < 0 {
		var b [1]byte
		if n, _ := io.ReadFull(r.Body, b[:]); n > 0 {
			return newError(400, "InvalidHeaderValue", msg)
		}
	}
	return nil
}

// removeContent removes a content file that was never committed (nothing
// for an inline blob).
func (s *Service) removeContent(name string) {
	if name != "" {
		os.Remove(filepath.Join(s.contentDir, name))
	}
}

// commitBlob stores b as the new base blob in a write transaction after
// checking the container, conditions and lease of the blob it replaces.
// On success it removes the replaced content file and the staged blocks;
// on failure it removes b.File. The replaced blob's pages go, and a page
// blob copied from the page blob pagesFrom (nil otherwise) gets a copy of
// its pages, or errSourceChanged if pagesFrom is no longer that version.
// The transaction is shared with concurrent commits (groupTx), so check
// must not block or touch the database.
func (s *Service) commitBlob(rq *req, b *blobRow, check func(old *blobRow) error, pagesFrom *blobRow) error {
	var garbage, garbageBlocks []string
	err := s.groupTx(rq.r.Context(), func(ctx context.Context, tx *sql.Tx) error {
		q := cachedTx{tx, s.wstmts}
		if _, err := getContainer(ctx, q, b.Account, b.Container); err != nil {
			return err
		}
		old, err := getBlobHead(ctx, q, b.Account, b.Container, b.Name, "")
		if err != nil && !errors.Is(err, errBlobNotFound) {
			return err
		}
		if old != nil {
			if err := rq.mayOverwrite(); err != nil {
				return err
			}
			if err := checkWriteLease(old.Lease, rq.r.Header, s.now(), "blob"); err != nil {
				return err
			}
			if err := checkBlobConditions(rq.r.Header, old, condCreate); err != nil {
				return err
			}
			b.Lease = old.Lease.afterWrite(s.now())
		} else {
			if err := checkBlobConditions(rq.r.Header, nil, condCreate); err != nil {
				return err
			}
			if rq.r.Header.Get("x-ms-lease-id") != "" {
				return errBlobNotFound
			}
		}
		if check != nil {
			if err := check(old); err != nil {
				return err
			}
		}
		// With soft delete on, the blob's prior state is kept as a
		// soft-deleted snapshot (softdelete.go); its content is then no
		// garbage.
		kept, dropped, err := s.keepOverwritten(ctx, q, b, old)
		if err != nil {
			return err
		}
		garbage = append(garbage, dropped...)
		if old != nil && !kept {
			if old.File != "" && old.File != b.File {
				garbage = append(garbage, old.File)
			}
			if old.Extents > 0 {
				files, err := takeFiles(ctx, q, "extents", extentsOfVersion, b.Account, b.Container, b.Name, "")
				if err != nil {
					return err
				}
				garbage = append(garbage, files...)
			}
		}
		if err := putBlob(ctx, q, b); err != nil {
			return err
		}
		if err := putExtents(ctx, q, b, b.parts); err != nil {
			return err
		}
		if err := replacePages(ctx, q, old, b, pagesFrom); err != nil {
			return err
		}
		garbageBlocks, err = takeStagedBlocks(ctx, q, b.Account, b.Container, b.Name)
		return err
	})
	if err != nil {
		s.removeContent(b.File)
		s.removeExtentFiles(b.parts)
		return err
	}
	if err := s.removeFiles(append(s.contentPaths(garbage), s.blockPaths(garbageBlocks)...)); err != nil {
		s.log.Warn("removing replaced blob files", "err", err)
	}
	return nil
}

// precheck fails fast (before a body is read) when the container is
// missing or the conditions/lease of the existing blob already fail. The
// checks are repeated in the committing transaction.
func (s *Service) precheck(rq *req) error {
	ctx := rq.r.Context()
	if _, err := getContainer(ctx, s.rdb(), rq.acct.Name, rq.container); err != nil {
		return err
	}
	old, err := getBlobHead(ctx, s.rdb(), rq.acct.Name, rq.container, rq.blob, "")
	if errors.Is(err, errBlobNotFound) {
		return checkBlobConditions(rq.r.Header, nil, condCreate)
	}
	if err != nil {
		return err
	}
	if err := rq.mayOverwrite(); err != nil {
		return err
	}
	if err := checkWriteLease(old.Lease, rq.r.Header, s.now(), "blob"); err != nil {
		return err
	}
	return checkBlobConditions(rq.r.Header, old, condCreate)
}

func (s *Service) putBlob(rq *req) error {
	h := rq.r.Header
	blobType := h.Get("x-ms-blob-type")
	switch blobType {
	case "BlockBlob", "AppendBlob", "PageBlob":
	case "":
		return errMissingHeader
	default:
		return errInvalidHeader
	}
	md, err := metadataFromHeaders(h)
	if err != nil {
		return err
	}
	tags, err := tagsFromHeader(h.Get("x-ms-tags"))
	if err != nil {
		return err
	}
	checks, err := newUploadChecks(h, blobType == "BlockBlob")
	if err != nil {
		return err
	}
	if err := s.precheck(rq); err != nil {
		return err
	}
	var (
		file   string
		size   int64
		inline []byte
		seq    int64
	)
	switch blobType {
	case "PageBlob":
		// An empty blob of the declared size; Put Page writes its pages.
		if size, seq, err = pageBlobCreateHeaders(rq.r); err != nil {
			return err
		}
	case "AppendBlob":
		if err := requireEmptyBody(rq.r, "Content-Length must be 0 for an append blob."); err != nil {
			return err
		}
		// Append blobs always live in a file: Append Block extends it.
		if file, size, err = writeFile(s.contentDir, bytes.NewReader(nil), checks.hasherList...); err != nil {
			return fmt.Errorf("storing blob content: %w", err)
		}
	default:
		// Small block blobs are stored inline in the database row (no
		// file fsync; the row's commit is group-committed); larger ones
		// stream to a file.
		headBuf := chunkPool.Get().(*[]byte)
		defer chunkPool.Put(headBuf)
		head := (*headBuf)[:inlineMax+1]
		n, rerr := io.ReadFull(rq.r.Body, head)
		switch {
		case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
			inline, size = bytes.Clone(head[:n]), int64(n)
			for _, hw := range checks.hasherList {
				hw.Write(inline)
			}
		case rerr != nil:
			return fmt.Errorf("reading blob content: %w", rerr)
		default:
			body := io.MultiReader(bytes.NewReader(head), rq.r.Body)
			if file, size, err = writeFile(s.contentDir, io.LimitReader(body, maxPutBlobBytes+1), checks.hasherList...); err != nil {
				return fmt.Errorf("storing blob content: %w", err)
			}
		}
	}
	if size > maxPutBlobBytes && blobType != "PageBlob" {
		s.removeContent(file)
		return errRequestBodyTooLarge
	}
	if err := checks.verify(); err != nil {
		s.removeContent(file)
		return err
	}
	now := s.tick()
	b := &blobRow{
		Account: rq.acct.Name, Container: rq.container, Name: rq.blob, Type: blobType,
		Size: size, File: file, Data: inline, ETag: newETag(now), Created: now, LastModified: now, Metadata: md,
		SequenceNumber: seq, Tags: tags,
	}
	if err := blobHTTPHeaders(b, h, true); err != nil {
		s.removeContent(file)
		return err
	}
	if b.AccessTier, err = tierHeader(h, blobType); err != nil {
		s.removeContent(file)
		return err
	}
	if b.ContentType == "" {
		b.ContentType = "application/octet-stream"
	}
	if b.ContentMD5 == nil && blobType == "BlockBlob" {
		b.ContentMD5 = checks.sumMD5()
	}
	if err := s.commitBlob(rq, b, nil, nil); err != nil {
		return err
	}
	rh := rq.w.Header()
	setTimes(rh, b.ETag, now)
	if blobType == "BlockBlob" {
		checks.setHeaders(rh)
	}
	rh.Set("x-ms-request-server-encrypted", "true")
	return rq.ok(http.StatusCreated)
}

func (s *Service) putBlock(rq *req) error {
	ctx := rq.r.Context()
	id := rq.q.Get("blockid")
	raw, err := base64.StdEncoding.DecodeString(id)
	// The decoder skips newlines: bound the ID as sent (and stored) too,
	// to the base64 of 64 bytes.
	if err != nil || len(raw) == 0 || len(raw) > 64 || len(id) > base64.StdEncoding.EncodedLen(64) {
		return errInvalidBlockID
	}
	if _, err := newUploadChecks(rq.r.Header, false); err != nil {
		return err
	}
	if _, err := getContainer(ctx, s.rdb(), rq.acct.Name, rq.container); err != nil {
		return err
	}
	if old, err := getBlob(ctx, s.rdb(), rq.acct.Name, rq.container, rq.blob, ""); err == nil {
		if err := checkWriteLease(old.Lease, rq.r.Header, s.now(), "blob"); err != nil {
			return err
		}
	}
	var file string
	var size int64
	var checks *uploadChecks
	for attempt := 0; ; attempt++ {
		file, size, checks, err = s.stageBlockFile(rq)
		if !errors.Is(err, errSourceChanged) || attempt == 3 {
			break
		}
		// The source was replaced while it was read: read the new version.
	}
	if err != nil {
		return err
	}
	var replaced string
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := getContainer(ctx, tx, rq.acct.Name, rq.container); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `SELECT file FROM blocks WHERE account = ? AND container = ? AND blob = ? AND block_id = ?`,
			rq.acct.Name, rq.container, rq.blob, id).Scan(&replaced)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("looking up block: %w", err)
		}
		// All uncommitted blocks of a blob have IDs of one length.
		var other string
		err = tx.QueryRowContext(ctx, `SELECT block_id FROM blocks WHERE account = ? AND container = ? AND blob = ? LIMIT 1`,
			rq.acct.Name, rq.container, rq.blob).Scan(&other)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("looking up blocks: %w", err)
		}
		if o, derr := base64.StdEncoding.DecodeString(other); err == nil && derr == nil && len(o) != len(raw) {
			return errInvalidBlobOrBlock
		}
		if replaced == "" {
			var n int
			err = tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM blocks WHERE account = ? AND container = ? AND blob = ? LIMIT ?)`,
				rq.acct.Name, rq.container, rq.blob, maxUncommittedBlocks).Scan(&n)
			if err != nil {
				return fmt.Errorf("counting staged blocks: %w", err)
			}
			if n >= maxUncommittedBlocks {
				return errTooManyUncommittedBlocks
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO blocks (account, container, blob, block_id, size, file, created) VALUES (?,?,?,?,?,?,?)`,
			rq.acct.Name, rq.container, rq.blob, id, size, file, s.now().UnixNano())
		if err != nil {
			return fmt.Errorf("storing block: %w", err)
		}
		return nil
	})
	if err != nil {
		os.Remove(filepath.Join(s.blocksDir, file))
		return err
	}
	if replaced != "" {
		os.Remove(filepath.Join(s.blocksDir, replaced))
	}
	checks.setHeaders(rq.w.Header())
	rq.w.Header().Set("x-ms-request-server-encrypted", "true")
	return rq.ok(http.StatusCreated)
}

// stageBlockFile writes the content of a Put Block (its body) or a Put
// Block From URL (its source's range) to a file in the blocks directory,
// verified against the request's checksums.
func (s *Service) stageBlockFile(rq *req) (file string, size int64, checks *uploadChecks, err error) {
	body, h := io.Reader(rq.r.Body), rq.r.Header
	if fromURL(rq) {
		src, err := s.openURLSource(rq, maxPutBlockBytes)
		if err != nil {
			return "", 0, nil, err
		}
		defer src.release()
		body, h = src.body, src.checks
	}
	if checks, err = newUploadChecks(h, false); err != nil {
		return "", 0, nil, err
	}
	file, size, err = writeFile(s.blocksDir, io.LimitReader(body, maxPutBlockBytes+1), checks.hasherList...)
	if errors.Is(err, errSourceChanged) {
		return "", 0, nil, err
	}
	if err != nil {
		return "", 0, nil, fmt.Errorf("staging block: %w", err)
	}
	if size > maxPutBlockBytes {
		err = errRequestBodyTooLarge
	} else {
		err = checks.verify()
	}
	if err != nil {
		os.Remove(filepath.Join(s.blocksDir, file))
		return "", 0, nil, err
	}
	return file, size, checks, nil
}

// blockListEntry is one entry of a Put Block List body.
type blockListEntry struct {
	Kind string // Committed, Uncommitted or Latest
	ID   string
}

// parseBlockList parses a Put Block List body, keeping the order of
// entries across the three element kinds.
func parseBlockList(r io.Reader) ([]blockListEntry, error) {
	d := xml.NewDecoder(r)
	var out []blockListEntry
	depth := 0
	sawRoot := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errInvalidXML
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch depth {
			case 1:
				if t.Name.Local != "BlockList" {
					return nil, errInvalidXML
				}
				sawRoot = true
			case 2:
				kind := t.Name.Local
				if kind != "Committed" && kind != "Uncommitted" && kind != "Latest" {
					return nil, errInvalidXML
				}
				var id string
				if err := d.DecodeElement(&id, &t); err != nil {
					return nil, errInvalidXML
				}
				depth--
				if len(out) >= 50000 {
					return nil, errInvalidBlockList
				}
				out = append(out, blockListEntry{Kind: kind, ID: strings.TrimSpace(id)})
			default:
				return nil, errInvalidXML
			}
		case xml.EndElement:
			depth--
		}
	}
	if !sawRoot {
		return nil, errInvalidXML
	}
	return out, nil
}

type stagedBlock struct {
	size int64
	file string
}

func (s *Service) putBlockList(rq *req) error {
	ctx := rq.r.Context()
	h := rq.r.Header
	md, err := metadataFromHeaders(h)
	if err != nil {
		return err
	}
	tags, err := tagsFromHeader(h.Get("x-ms-tags"))
	if err != nil {
		return err
	}
	entries, err := parseBlockList(io.LimitReader(rq.r.Body, 8<<20))
	if err != nil {
		return err
	}
	if err := s.precheck(rq); err != nil {
		return err
	}
	// Resolve entries against staged and committed blocks.
	staged := map[string]stagedBlock{}
	rows, err := s.reader.QueryContext(ctx, `SELECT block_id, size, file FROM blocks WHERE account = ? AND container = ? AND blob = ?`,
		rq.acct.Name, rq.container, rq.blob)
	if err != nil {
		return fmt.Errorf("loading staged blocks: %w", err)
	}
	for rows.Next() {
		var id string
		var sb stagedBlock
		if err := rows.Scan(&id, &sb.size, &sb.file); err != nil {
			rows.Close()
			return fmt.Errorf("loading staged blocks: %w", err)
		}
		staged[id] = sb
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("loading staged blocks: %w", err)
	}
	old, err := getBlob(ctx, s.rdb(), rq.acct.Name, rq.container, rq.blob, "")
	if err != nil && !errors.Is(err, errBlobNotFound) {
		return err
	}
	committed := map[string][2]int64{} // id -> offset, size
	if old != nil && old.Type == "BlockBlob" {
		var off int64
		for _, b := range old.Blocks {
			committed[b.ID] = [2]int64{off, b.Size}
			off += b.Size
		}
	}
	// Each entry becomes a piece of the new content: a staged block's file
	// or a range of the old blob's content.
	var pieces []contentPiece
	var refs []blockRef
	reusesCommitted := false
	var total int64
	for _, e := range entries {
		var useStaged, useCommitted bool
		switch e.Kind {
		case "Uncommitted":
			_, useStaged = staged[e.ID]
		case "Committed":
			_, useCommitted = committed[e.ID]
		case "Latest":
			_, useStaged = staged[e.ID]
			if !useStaged {
				_, useCommitted = committed[e.ID]
			}
		}
		switch {
		case useStaged:
			sb := staged[e.ID]
			pieces = append(pieces, contentPiece{path: filepath.Join(s.blocksDir, sb.file), size: sb.size})
			refs = append(refs, blockRef{e.ID, sb.size})
			total += sb.size
		case useCommitted:
			reusesCommitted = true
			c := committed[e.ID]
			pieces = append(pieces, contentPiece{old: true, off: c[0], size: c[1]})
			refs = append(refs, blockRef{e.ID, c[1]})
			total += c[1]
		default:
			return errInvalidBlockList
		}
	}
	inline, parts, err := s.composeBlocks(ctx, old, pieces, total)
	if err != nil {
		return err
	}
	now := s.tick()
	b := &blobRow{
		Account: rq.acct.Name, Container: rq.container, Name: rq.blob, Type: "BlockBlob",
		Size: total, Data: inline, ETag: newETag(now), Created: now, LastModified: now, Metadata: md, Blocks: refs,
		Extents: len(parts), parts: parts, Tags: tags,
	}
	if err := blobHTTPHeaders(b, h, false); err != nil {
		s.removeExtentFiles(parts)
		return err
	}
	if b.AccessTier, err = tierHeader(h, "BlockBlob"); err != nil {
		s.removeExtentFiles(parts)
		return err
	}
	if b.ContentType == "" {
		b.ContentType = "application/octet-stream"
	}
	oldETag := ""
	if old != nil {
		oldETag = old.ETag
		b.Created = old.Created
	}
	err = s.commitBlob(rq, b, func(cur *blobRow) error {
		curETag := ""
		if cur != nil {
			curETag = cur.ETag
		}
		if reusesCommitted && curETag != oldETag {
			// The committed blocks this list reused were replaced meanwhile.
			return errInvalidBlockList
		}
		return nil
	}, nil)
	if err != nil {
		return err
	}
	rh := rq.w.Header()
	setTimes(rh, b.ETag, now)
	rh.Set("x-ms-request-server-encrypted", "true")
	return rq.ok(http.StatusCreated)
}

type blockListXML struct {
	XMLName     xml.Name       `xml:"BlockList"`
	Committed   blockGroupXML  `xml:"CommittedBlocks"`
	Uncommitted *blockGroupXML `xml:"UncommittedBlocks"`
}

type blockGroupXML struct {
	Blocks []blockXML `xml:"Block"`
}

type blockXML struct {
	Name string `xml:"Name"`
	Size int64  `xml:"Size"`
}

func (s *Service) getBlockList(rq *req) error {
	ctx := rq.r.Context()
	listType := strings.ToLower(rq.q.Get("blocklisttype"))
	if listType == "" {
		listType = "committed"
	}
	if listType != "committed" && listType != "uncommitted" && listType != "all" {
		return errInvalidQuery
	}
	if rq.anonymous {
		// "Only committed blocks can be accessed publicly" (Get Block
		// List): staged blocks, and blobs that have only those, are the
		// writer's until committed.
		listType = "committed"
	}
	b, err := getBlob(ctx, s.rdb(), rq.acct.Name, rq.container, rq.blob, rq.q.Get("snapshot"))
	if err != nil && !errors.Is(err, errBlobNotFound) {
		return err
	}
	if err := checkIfTags(rq.r.Header, b); err != nil {
		return err
	}
	var out blockListXML
	if b != nil {
		if err := checkReadLease(b.Lease, rq.r.Header, s.now(), "blob"); err != nil {
			return err
		}
		if listType != "uncommitted" {
			for _, r := range b.Blocks {
				out.Committed.Blocks = append(out.Committed.Blocks, blockXML{r.ID, r.Size})
			}
		}
	}
	staged := 0
	if listType != "committed" {
		out.Uncommitted = &blockGroupXML{}
		rows, err := s.reader.QueryContext(ctx, `SELECT block_id, size FROM blocks WHERE account = ? AND container = ? AND blob = ? ORDER BY created, block_id`,
			rq.acct.Name, rq.container, rq.blob)
		if err != nil {
			return fmt.Errorf("listing staged blocks: %w", err)
		}
		for rows.Next() {
			var bx blockXML
			if err := rows.Scan(&bx.Name, &bx.Size); err != nil {
				rows.Close()
				return fmt.Errorf("listing staged blocks: %w", err)
			}
			out.Uncommitted.Blocks = append(out.Uncommitted.Blocks, bx)
			staged++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("listing staged blocks: %w", err)
		}
	} else if b == nil && !rq.anonymous {
		n := 0
		if err := s.reader.QueryRowContext(ctx, `SELECT count(*) FROM blocks WHERE account = ? AND container = ? AND blob = ?`,
			rq.acct.Name, rq.container, rq.blob).Scan(&n); err != nil {
			return fmt.Errorf("counting staged blocks: %w", err)
		}
		staged = n
	}
	if b == nil && staged == 0 {
		return s.blobOrContainerNotFound(rq, errBlobNotFound)
	}
	if b != nil {
		h := rq.w.Header()
		setTimes(h, b.ETag, b.LastModified)
		h.Set("x-ms-blob-content-length", strconv.FormatInt(b.Size, 10))
	}
	return rq.writeXML(http.StatusOK, out)
}

// setBlobHeaders writes the properties of b as Get Blob and Get Blob
// Properties return them.
func (s *Service) setBlobHeaders(rq *req, b *blobRow) {
	h := rq.w.Header()
	setTimes(h, b.ETag, b.LastModified)
	h.Set("x-ms-creation-time", b.Created.Format(http.TimeFormat))
	h.Set("x-ms-blob-type", b.Type)
	h.Set("Content-Type", b.ContentType)
	for k, v := range map[string]string{
		"Content-Encoding": b.ContentEncoding, "Content-Language": b.ContentLanguage,
		"Content-Disposition": b.ContentDisposition, "Cache-Control": b.CacheControl,
	} {
		if v != "" {
			h.Set(k, v)
		}
	}
	if rq.sas != nil {
		for k, v := range map[string]string{
			"Cache-Control": rq.sas.CacheControl, "Content-Disposition": rq.sas.ContentDisposition,
			"Content-Encoding": rq.sas.ContentEncoding, "Content-Language": rq.sas.ContentLanguage,
			"Content-Type": rq.sas.ContentType,
		} {
			if v != "" {
				h.Set(k, v)
			}
		}
	}
	b.Metadata.setHeaders(h)
	if b.Snapshot == "" {
		b.Lease.effective(s.now()).setHeaders(h)
	} else {
		leaseInfo{}.setHeaders(h)
	}
	h.Set("Accept-Ranges", "bytes")
	h.Set("x-ms-server-encrypted", "true")
	b.Tags.setTagCount(h)
	switch {
	case b.Type == "AppendBlob":
		h.Set("x-ms-blob-committed-block-count", strconv.FormatInt(b.AppendCount, 10))
		h.Set("x-ms-blob-sealed", strconv.FormatBool(b.Sealed))
	case b.Type == "PageBlob":
		// Standard accounts have no page blob tiers.
		h.Set("x-ms-blob-sequence-number", strconv.FormatInt(b.SequenceNumber, 10))
	case b.AccessTier == "":
		h.Set("x-ms-access-tier", "Hot")
		h.Set("x-ms-access-tier-inferred", "true")
	default:
		h.Set("x-ms-access-tier", b.AccessTier)
		h.Set("x-ms-access-tier-inferred", "false") // as Azurite
	}
	if b.Copy.ID != "" {
		h.Set("x-ms-copy-id", b.Copy.ID)
		h.Set("x-ms-copy-source", b.Copy.Source)
		h.Set("x-ms-copy-status", "success")
		h.Set("x-ms-copy-progress", fmt.Sprintf("%d/%d", b.Copy.Size, b.Copy.Size))
		h.Set("x-ms-copy-completion-time", time.Unix(0, b.Copy.Completion).UTC().Format(http.TimeFormat))
	}
}

// readableBlob loads the blob a read addresses and applies the read
// conditions and lease.
func (s *Service) readableBlob(rq *req) (*blobRow, error) {
	b, err := getBlob(rq.r.Context(), s.rdb(), rq.acct.Name, rq.container, rq.blob, rq.q.Get("snapshot"))
	if err != nil {
		return nil, s.blobOrContainerNotFound(rq, err)
	}
	if err := checkReadLease(b.Lease, rq.r.Header, s.now(), "blob"); err != nil {
		return nil, err
	}
	if err := checkBlobConditions(rq.r.Header, b, condRead); err != nil {
		if err == notModified {
			setTimes(rq.w.Header(), b.ETag, b.LastModified)
		}
		return nil, err
	}
	return b, nil
}

func (s *Service) getBlobProperties(rq *req) error {
	b, err := s.readableBlob(rq)
	if err != nil {
		return err
	}
	s.setBlobHeaders(rq, b)
	h := rq.w.Header()
	if rq.q.Get("comp") == "metadata" {
		h.Del("Content-Type")
		return rq.ok(http.StatusOK)
	}
	h.Set("Content-Length", strconv.FormatInt(b.Size, 10))
	if b.ContentMD5 != nil {
		h.Set("Content-MD5", md5Header(b.ContentMD5))
	}
	return rq.ok(http.StatusOK)
}

func (s *Service) getBlob(rq *req) error {
	for attempt := 0; ; attempt++ {
		err := s.serveBlob(rq)
		if !errors.Is(err, fs.ErrNotExist) || attempt == 3 || rq.w.wrote {
			return err
		}
		// Replaced between the query and the open: read the new version.
	}
}

// serveBlob is one attempt at Get Blob. An error wrapping fs.ErrNotExist,
// before anything is written, means the blob was replaced meanwhile.
func (s *Service) serveBlob(rq *req) error {
	b, err := s.readableBlob(rq)
	if err != nil {
		return err
	}
	if b.AccessTier == "Archive" {
		return errBlobArchived
	}
	h := rq.w.Header()
	start, end := int64(0), b.Size-1
	ranged := false
	rangeHeader := rq.r.Header.Get("x-ms-range")
	strict := rangeHeader != ""
	if !strict {
		rangeHeader = rq.r.Header.Get("Range")
	}
	if rangeHeader != "" {
		st, en, ok := parseRange(rangeHeader)
		switch {
		case !ok && strict:
			return errInvalidRange
		case ok:
			// A page blob read from exactly its end is empty rather than
			// InvalidRange (Azurite's "resize override a sequential range",
			// which also runs against Azure).
			endOfPages := b.Type == "PageBlob" && st == b.Size && b.Size > 0
			if st >= b.Size && !endOfPages {
				h.Set("Content-Range", fmt.Sprintf("bytes */%d", b.Size))
				return errInvalidRange
			}
			if en < 0 || en >= b.Size {
				en = b.Size - 1
			}
			start, end, ranged = st, en, true
		}
	}
	n := end - start + 1
	f, release, err := s.openContent(rq.r.Context(), b, start, start+n)
	if err != nil {
		return err
	}
	defer release()
	s.setBlobHeaders(rq, b)
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	status := http.StatusOK
	if ranged {
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, b.Size))
		if b.ContentMD5 != nil {
			h.Set("x-ms-blob-content-md5", md5Header(b.ContentMD5))
		}
		if strings.EqualFold(rq.r.Header.Get("x-ms-range-get-content-md5"), "true") {
			if n > 4<<20 {
				return errOutOfRangeInput
			}
			m := md5.New()
			if _, err := io.Copy(m, io.NewSectionReader(f, start, n)); err != nil {
				return fmt.Errorf("hashing range: %w", err)
			}
			h.Set("Content-MD5", md5Header(m.Sum(nil)))
		}
		if strings.EqualFold(rq.r.Header.Get("x-ms-range-get-content-crc64"), "true") {
			if n > 4<<20 {
				return errOutOfRangeInput
			}
			c := crc64.New(crc64Table)
			if _, err := io.Copy(c, io.NewSectionReader(f, start, n)); err != nil {
				return fmt.Errorf("hashing range: %w", err)
			}
			var sum [8]byte
			binary.LittleEndian.PutUint64(sum[:], c.Sum64())
			h.Set("x-ms-content-crc64", base64.StdEncoding.EncodeToString(sum[:]))
		}
	} else if b.ContentMD5 != nil {
		h.Set("Content-MD5", md5Header(b.ContentMD5))
		// Azurite (and the JS SDK's blobContentMD5) report the blob's MD5
		// on a whole-blob read too.
		h.Set("x-ms-blob-content-md5", md5Header(b.ContentMD5))
	}
	return writeContent(rq.w, b, f, start, n, status)
}

// writeContent sends status and the n bytes of b from start, read from f
// (its content as openContent opened it). The first chunk is read before
// the status is sent, so that a blob replaced meanwhile (a page blob
// written, an extent gone: an error wrapping fs.ErrNotExist) is read again
// rather than answered with a cut-short body.
func writeContent(w http.ResponseWriter, b *blobRow, f io.ReaderAt, start, n int64, status int) error {
	if n <= 0 {
		w.WriteHeader(status)
		return nil
	}
	if b.File == "" && b.Extents == 0 && b.Type != "PageBlob" {
		w.WriteHeader(status)
		_, err := w.Write(b.Data[start : start+n])
		return err
	}
	buf := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(buf)
	first := (*buf)[:min(n, int64(len(*buf)))]
	if _, err := f.ReadAt(first, start); err != nil && !(errors.Is(err, io.EOF) && int64(len(first)) == n) {
		return fmt.Errorf("reading blob: %w", err)
	}
	w.WriteHeader(status)
	if _, err := w.Write(first); err != nil {
		return fmt.Errorf("streaming blob: %w", err)
	}
	rest := io.NewSectionReader(f, start+int64(len(first)), n-int64(len(first)))
	if _, err := io.CopyBuffer(w, rest, *buf); err != nil {
		return fmt.Errorf("streaming blob: %w", err)
	}
	return nil
}

var (
	errBlobIsSealed      = newError(409, "BlobIsSealed", "The specified blob is sealed, and its contents can't be modified unless the blob is re-created after a delete.")
	errBlobAlreadySealed = newError(409, "BlobAlreadySealed", "The specified blob is already sealed.")
)

// sealBlob is Seal Append Blob: the blob takes no more appends (Azurite
// refuses sealing twice with BlobAlreadySealed).
func (s *Service) sealBlob(rq *req) error {
	b, err := s.updateBlob(rq, func(b *blobRow) error {
		switch {
		case b.Type != "AppendBlob":
			return errInvalidBlobType
		case b.Sealed:
			return errBlobAlreadySealed
		}
		b.Sealed = true
		return nil
	})
	if err != nil {
		return err
	}
	h := rq.w.Header()
	setTimes(h, b.ETag, b.LastModified)
	h.Set("x-ms-blob-sealed", "true")
	return rq.ok(http.StatusOK)
}

// abortCopyBlob is Abort Copy Blob. Slipway's copies (Copy Blob, within
// and between its accounts) complete before Copy Blob answers, so no copy
// is ever pending: an abort of an existing blob is Azure's answer to an
// abort after the copy finished, 409 NoPendingCopyOperation.
func (s *Service) abortCopyBlob(rq *req) error {
	if !strings.EqualFold(rq.r.Header.Get("x-ms-copy-action"), "abort") {
		return newError(400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format.")
	}
	if rq.q.Get("copyid") == "" {
		return newError(400, "MissingRequiredQueryParameter", "A query parameter that's mandatory for this request is not specified.")
	}
	if _, err := getBlobHead(rq.r.Context(), s.rdb(), rq.acct.Name, rq.container, rq.blob, ""); err != nil {
		return err
	}
	return newError(409, "NoPendingCopyOperation", "There is currently no pending copy operation.")
}

// updateBlob changes the base blob in a write transaction after checking
// its lease and conditions, then stores it with a new ETag.
func (s *Service) updateBlob(rq *req, fn func(b *blobRow) error) (*blobRow, error) {
	return s.updateBlobTx(rq, func(_ context.Context, _ *sql.Tx, b *blobRow) error { return fn(b) })
}

// updateBlobTx is updateBlob for changes that also touch other rows in the
// transaction.
func (s *Service) updateBlobTx(rq *req, fn func(ctx context.Context, tx *sql.Tx, b *blobRow) error) (*blobRow, error) {
	ctx := rq.r.Context()
	var b *blobRow
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := getContainer(ctx, tx, rq.acct.Name, rq.container); err != nil {
			return err // missing, or being deleted: add nothing behind the purge
		}
		var err error
		b, err = getBlob(ctx, tx, rq.acct.Name, rq.container, rq.blob, "")
		if err != nil {
			return err
		}
		if err := checkWriteLease(b.Lease, rq.r.Header, s.now(), "blob"); err != nil {
			return err
		}
		if err := checkBlobConditions(rq.r.Header, b, condWrite); err != nil {
			return err
		}
		if err := fn(ctx, tx, b); err != nil {
			return err
		}
		b.Lease = b.Lease.afterWrite(s.now())
		now := s.tick()
		b.ETag, b.LastModified = newETag(now), now
		return putBlob(ctx, tx, b)
	})
	if err != nil {
		return nil, s.blobOrContainerNotFound(rq, err)
	}
	return b, nil
}

func (s *Service) setBlobProperties(rq *req) error {
	if h := rq.r.Header; h.Get("x-ms-blob-content-length") != "" || h.Get("x-ms-sequence-number-action") != "" {
		return s.setPageBlobProperties(rq)
	}
	b, err := s.updateBlob(rq, func(b *blobRow) error { return blobHTTPHeaders(b, rq.r.Header, false) })
	if err != nil {
		return err
	}
	setTimes(rq.w.Header(), b.ETag, b.LastModified)
	return rq.ok(http.StatusOK)
}

func (s *Service) setBlobMetadata(rq *req) error {
	md, err := metadataFromHeaders(rq.r.Header)
	if err != nil {
		return err
	}
	b, err := s.updateBlob(rq, func(b *blobRow) error { b.Metadata = md; return nil })
	if err != nil {
		return err
	}
	setTimes(rq.w.Header(), b.ETag, b.LastModified)
	rq.w.Header().Set("x-ms-request-server-encrypted", "true")
	return rq.ok(http.StatusOK)
}

func (s *Service) leaseBlob(rq *req) error {
	ctx := rq.r.Context()
	var status int
	var out map[string]string
	var b *blobRow
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		b, err = getBlob(ctx, tx, rq.acct.Name, rq.container, rq.blob, "")
		if err != nil {
			return err
		}
		if err := checkBlobConditions(rq.r.Header, b, condWrite); err != nil {
			return err
		}
		b.Lease, status, out, err = leaseAction(b.Lease, rq.r.Header, s.now())
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE blobs SET lease = ? WHERE account = ? AND container = ? AND name = ? AND snapshot = ''`,
			mustJSON(b.Lease), b.Account, b.Container, b.Name)
		if err != nil {
			return fmt.Errorf("storing blob lease: %w", err)
		}
		return nil
	})
	if err != nil {
		return s.blobOrContainerNotFound(rq, err)
	}
	h := rq.w.Header()
	setTimes(h, b.ETag, b.LastModified)
	for k, v := range out {
		h.Set(k, v)
	}
	return rq.ok(status)
}

func (s *Service) deleteBlob(rq *req) error {
	ctx := rq.r.Context()
	snapshot := rq.q.Get("snapshot")
	opt := rq.r.Header.Get("x-ms-delete-snapshots")
	if opt != "" && opt != "include" && opt != "only" {
		return errInvalidHeader
	}
	if snapshot != "" && opt != "" {
		return errInvalidQuery
	}
	if dt := rq.q.Get("deletetype"); dt != "" {
		if dt != "permanent" {
			return errInvalidQuery
		}
		return errPermanentDeleteUnsupported
	}
	var garbage, garbageBlocks []string
	soft := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		b, err := getBlob(ctx, tx, rq.acct.Name, rq.container, rq.blob, snapshot)
		if err != nil {
			return err
		}
		if err := checkBlobConditions(rq.r.Header, b, condWrite); err != nil {
			return err
		}
		pol, err := loadRetention(ctx, tx, rq.acct.Name)
		if err != nil {
			return err
		}
		soft = pol.Enabled
		now, keep := s.now(), pol.retention()
		if snapshot != "" {
			if soft {
				return softDeleteRows(ctx, tx, rq.acct.Name, rq.container, rq.blob, `snapshot = ?`, now, keep, snapshot)
			}
			exts, err := takeFiles(ctx, tx, "extents", extentsOfVersion, rq.acct.Name, rq.container, rq.blob, snapshot)
			if err != nil {
				return err
			}
			garbage = append(append(garbage, b.File), exts...)
			_, err = tx.ExecContext(ctx, `DELETE FROM blobs WHERE account = ? AND container = ? AND name = ? AND snapshot = ?`,
				rq.acct.Name, rq.container, rq.blob, snapshot)
			if err == nil {
				_, err = tx.ExecContext(ctx, sqlDeletePages, pagesOf(b).args()...)
			}
			if err != nil {
				return fmt.Errorf("deleting snapshot: %w", err)
			}
			return nil
		}
		if err := checkWriteLease(b.Lease, rq.r.Header, s.now(), "blob"); err != nil {
			return err
		}
		// Only live rows count and go: soft-deleted snapshots stay until
		// their retention ends (softdelete.go).
		snaps, err := collect(ctx, tx, `SELECT file FROM blobs WHERE account = ? AND container = ? AND name = ? AND snapshot != '' AND deleted_time = 0`,
			rq.acct.Name, rq.container, rq.blob)
		if err != nil {
			return err
		}
		if len(snaps) > 0 && opt == "" {
			return errSnapshotsPresent
		}
		if opt != "only" {
			garbageBlocks, err = takeStagedBlocks(ctx, tx, rq.acct.Name, rq.container, rq.blob)
			if err != nil {
				return err
			}
		}
		which := `snapshot != ''`
		if opt != "only" {
			which = `1`
		}
		if soft {
			return softDeleteRows(ctx, tx, rq.acct.Name, rq.container, rq.blob, which, now, keep)
		}
		garbage = append(garbage, snaps...)
		if opt != "only" {
			garbage = append(garbage, b.File)
		}
		live := `snapshot IN (SELECT snapshot FROM blobs WHERE account = ?1 AND container = ?2 AND name = ?3 AND deleted_time = 0 AND ` + which + `)`
		exts, err := takeFiles(ctx, tx, "extents", `account = ?1 AND container = ?2 AND name = ?3 AND `+live, rq.acct.Name, rq.container, rq.blob)
		if err != nil {
			return err
		}
		garbage = append(garbage, exts...)
		for _, q := range []string{
			`DELETE FROM pages WHERE account = ?1 AND container = ?2 AND blob = ?3 AND ` + live,
			`DELETE FROM blobs WHERE account = ?1 AND container = ?2 AND name = ?3 AND deleted_time = 0 AND ` + which,
		} {
			if _, err := tx.ExecContext(ctx, q, rq.acct.Name, rq.container, rq.blob); err != nil {
				return fmt.Errorf("deleting blob: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return s.blobOrContainerNotFound(rq, err)
	}
	if err := s.removeFiles(append(s.contentPaths(garbage), s.blockPaths(garbageBlocks)...)); err != nil {
		s.log.Warn("removing deleted blob files", "err", err)
	}
	rq.w.Header().Set("x-ms-delete-type-permanent", strconv.FormatBool(!soft))
	return rq.ok(http.StatusAccepted)
}

// cloneContent gives b's content names of its own, for a snapshot or copy
// of b: a hard link of its file (immutable block-blob content) or of each
// of its extents (exts, which the caller loaded for b's version), or a
// copy of the file of an append blob (extended in place, so only b's
// size is copied). Inline content is copied with the row. An error
// wrapping fs.ErrNotExist means b was replaced or deleted meanwhile.
func (s *Service) cloneContent(b *blobRow, exts []extent) (file string, parts []extent, err error) {
	switch {
	case b.Extents > 0:
		parts, err = s.cloneExtents(exts)
		return "", parts, err
	case b.File == "":
		return "", nil, nil
	case b.Type == "BlockBlob":
		file, err = s.linkFile(b.File)
		return file, nil, err
	}
	file, err = s.copyFile(b.File, b.Size)
	return file, nil, err
}

func (s *Service) snapshotBlob(rq *req) error {
	md, err := metadataFromHeaders(rq.r.Header)
	if err != nil {
		return err
	}
	var snap *blobRow
	for attempt := 0; ; attempt++ {
		snap, err = s.snapshotOnce(rq, md)
		if err == nil {
			break
		}
		if !errors.Is(err, errContentChanged) && !errors.Is(err, fs.ErrNotExist) || attempt == 3 {
			return s.blobOrContainerNotFound(rq, err)
		}
		// The blob was replaced while its content was cloned: clone again.
	}
	h := rq.w.Header()
	setTimes(h, snap.ETag, snap.LastModified)
	h.Set("x-ms-snapshot", snap.Snapshot)
	h.Set("x-ms-request-server-encrypted", "false")
	return rq.ok(http.StatusCreated)
}

// snapshotOnce is one attempt at Snapshot Blob. The blob's content is
// cloned before the write transaction, as a copy's is (cloneSource): a
// blob of 50,000 extents takes as many links, which must not hold the
// one writer every account shares. The transaction then checks that the
// blob is still the version cloned (else errContentChanged, and nothing
// is committed).
func (s *Service) snapshotOnce(rq *req, md metadata) (*blobRow, error) {
	ctx := rq.r.Context()
	b, err := getBlob(ctx, s.rdb(), rq.acct.Name, rq.container, rq.blob, "")
	if err != nil {
		return nil, err
	}
	file, parts, err := s.cloneSource(ctx, b)
	if err != nil {
		return nil, err
	}
	var snap *blobRow
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := getContainer(ctx, tx, rq.acct.Name, rq.container); err != nil {
			return err // missing, or being deleted: add nothing behind the purge
		}
		cur, err := getBlob(ctx, tx, rq.acct.Name, rq.container, rq.blob, "")
		if err != nil {
			return err
		}
		if cur.ETag != b.ETag {
			return errContentChanged
		}
		if err := checkReadLease(cur.Lease, rq.r.Header, s.now(), "blob"); err != nil {
			return err
		}
		if err := checkBlobConditions(rq.r.Header, cur, condWrite); err != nil {
			return err
		}
		base := pagesOf(cur)
		snap = cur
		snap.File, snap.parts = file, parts
		snap.Snapshot = s.tick().Format(snapshotFormat)
		snap.Lease = leaseInfo{}
		if len(md) > 0 {
			snap.Metadata = md
		}
		if err := errors.Join(putBlob(ctx, tx, snap), putExtents(ctx, tx, snap, parts)); err != nil {
			return err
		}
		if snap.Type == "PageBlob" {
			return copyPages(ctx, tx, base, pagesOf(snap), snap.Size)
		}
		return nil
	})
	if err != nil {
		s.removeContent(file)
		s.removeExtentFiles(parts)
		return nil, err
	}
	return snap, nil
}

// copySource resolves and authorises the blob named by x-ms-copy-source.
func (s *Service) copySource(rq *req) (*blobRow, string, error) {
	src := rq.r.Header.Get("x-ms-copy-source")
	u, err := url.Parse(src)
	if err != nil || u.Path == "" || !u.IsAbs() || u.Host == "" {
		return nil, "", newError(400, "InvalidHeaderValue", "The value for the x-ms-copy-source header is not a valid URL.")
	}
	fake := &http.Request{Method: http.MethodGet, Host: u.Host, URL: u, Header: http.Header{}, RemoteAddr: rq.r.RemoteAddr, TLS: rq.r.TLS}
	account, container, blob, _ := s.address(fake)
	if blob == "" {
		return nil, "", newError(400, "InvalidHeaderValue", "The copy source is not a blob.")
	}
	acct, err := s.cfg.Accounts.Account(rq.r.Context(), account)
	if err != nil {
		return nil, "", newError(404, "CannotVerifyCopySource", "The specified resource does not exist.")
	}
	q := u.Query()
	srq := &req{r: fake.WithContext(rq.r.Context()), acct: acct, container: container, blob: blob, q: q}
	if acct.Name == rq.acct.Name && q.Get("sig") == "" && rq.sas != nil {
		// A SAS reaches a source in its own account only as far as it
		// reaches any blob: the source is read with the destination's
		// SAS, which must grant reading it (its resource, permissions and
		// delegator), never by the account's standing.
		if srq.q, err = url.ParseQuery(joinQuery(u.RawQuery, sasQuery(rq.q))); err != nil {
			return nil, "", newError(400, "InvalidHeaderValue", "The value for the x-ms-copy-source header is not a valid URL.")
		}
	}
	if acct.Name != rq.acct.Name || srq.q.Get("sig") != "" {
		getOp := op{"GetBlob", 'o', "r", 1, nil}
		if err := s.authorize(srq, getOp); err != nil {
			// Azure reports the source's own refusal (status and
			// message) under the code CannotVerifyCopySource.
			var se *storageError
			if errors.As(err, &se) {
				return nil, "", newError(se.Status, "CannotVerifyCopySource", se.Message)
			}
			return nil, "", newError(403, "CannotVerifyCopySource", "Server failed to authenticate the copy source.")
		}
		if rq.r.Header.Get("x-ms-source-if-tags") != "" && (srq.anonymous || srq.sas != nil && !strings.Contains(srq.sasPerms, "t")) {
			// A condition on the source's tags tells them: it needs
			// the right to read them, as x-ms-if-tags does (authorize).
			return nil, "", newError(403, "CannotVerifyCopySource", "x-ms-source-if-tags needs permission to read the copy source's tags (a SAS with t).")
		}
	} else if err := s.checkCopySourceRole(rq, container); err != nil {
		// A principal (a token's, or a user delegation SAS's delegator)
		// reads a source in the same account by its own permission.
		var se *storageError
		if errors.As(err, &se) {
			return nil, "", newError(se.Status, "CannotVerifyCopySource", se.Message)
		}
		return nil, "", err
	}
	b, err := getBlob(rq.r.Context(), s.rdb(), acct.Name, container, blob, q.Get("snapshot"))
	if err != nil {
		if errors.Is(err, errBlobNotFound) {
			return nil, "", newError(404, "CannotVerifyCopySource", "The specified blob does not exist.")
		}
		return nil, "", err
	}
	return b, src, nil
}

func (s *Service) copyBlob(rq *req) error {
	md, err := metadataFromHeaders(rq.r.Header)
	if err != nil {
		return err
	}
	given, err := tagsFromHeader(rq.r.Header.Get("x-ms-tags"))
	if err != nil {
		return err
	}
	if err := s.precheck(rq); err != nil {
		return err
	}
	var b *blobRow
	for attempt := 0; ; attempt++ {
		b, err = s.copyOnce(rq, md, given)
		if err == nil {
			break
		}
		if !errors.Is(err, errContentChanged) && !errors.Is(err, fs.ErrNotExist) || attempt == 3 {
			return err
		}
		// The source was replaced while it was copied: copy the new version.
	}
	now := b.LastModified
	h := rq.w.Header()
	setTimes(h, b.ETag, now)
	h.Set("x-ms-copy-id", b.Copy.ID)
	h.Set("x-ms-copy-status", "success")
	if v := rq.r.Header.Get("x-ms-source-content-md5"); v != "" {
		// Copy Blob From URL echoes the source MD5 the client supplied.
		h.Set("Content-MD5", v)
	}
	if rq.r.Header.Get("x-ms-blob-type") != "" {
		// Put Blob From URL (a copy naming the blob type, the form that
		// takes x-ms-copy-source-tag-option) answers 201 as Put Blob does.
		return rq.ok(http.StatusCreated)
	}
	return rq.ok(http.StatusAccepted)
}

// copyOnce is one attempt at Copy Blob: it resolves the source, clones its
// content and commits the copy. An error wrapping fs.ErrNotExist means the
// source changed meanwhile, and nothing was committed.
func (s *Service) copyOnce(rq *req, md metadata, given tagSet) (*blobRow, error) {
	src, srcURL, err := s.copySource(rq)
	if err != nil {
		return nil, err
	}
	if err := checkCopySource(rq.r.Header, src); err != nil {
		return nil, err
	}
	if strings.EqualFold(rq.r.Header.Get("x-ms-requires-sync"), "true") && src.Type != "BlockBlob" {
		// Copy Blob From URL copies only a committed block blob
		// (https://learn.microsoft.com/rest/api/storageservices/copy-blob-from-url).
		return nil, errInvalidBlobType
	}
	tags, err := copyTags(rq.r.Header, given, src)
	if err != nil {
		return nil, err
	}
	tier, err := tierHeader(rq.r.Header, src.Type)
	if err != nil {
		return nil, err
	}
	if src.AccessTier == "Archive" && tier == "" {
		// An archived source is copied only into an online tier.
		return nil, errBlobArchived
	}
	file, parts, err := s.cloneSource(rq.r.Context(), src)
	if err != nil {
		return nil, err
	}
	now := s.tick()
	b := *src
	b.Account, b.Container, b.Name, b.Snapshot = rq.acct.Name, rq.container, rq.blob, ""
	b.File, b.parts, b.ETag, b.Created, b.LastModified = file, parts, newETag(now), now, now
	b.Lease = leaseInfo{}
	b.AccessTier = tier
	b.Tags = tags
	// A copy is sealed only when asked (x-ms-seal-blob), as Azure.
	b.Sealed = b.Type == "AppendBlob" && strings.EqualFold(rq.r.Header.Get("x-ms-seal-blob"), "true")
	if len(md) > 0 {
		b.Metadata = md
	}
	if u, err := url.Parse(srcURL); err == nil {
		// x-ms-copy-source as recorded keeps the snapshot but not a SAS.
		// Parameters are kept as the client encoded them.
		var keep []string
		for _, part := range strings.Split(u.RawQuery, "&") {
			if k, _, _ := strings.Cut(part, "="); strings.EqualFold(k, "snapshot") {
				keep = append(keep, part)
			}
		}
		u.RawQuery = strings.Join(keep, "&")
		srcURL = u.String()
	}
	b.Copy = copyInfo{ID: uuid.NewString(), Source: srcURL, Completion: now.UnixNano(), Size: src.Size}
	var pagesFrom *blobRow
	if src.Type == "PageBlob" {
		pagesFrom = src
	}
	if err := s.commitBlob(rq, &b, nil, pagesFrom); err != nil {
		return nil, err
	}
	return &b, nil
}

func (s *Service) appendBlock(rq *req) error {
	ctx := rq.r.Context()
	checks, err := newUploadChecks(rq.r.Header, false)
	if err != nil {
		return err
	}
	// What can be refused is refused before the body is read; the body is
	// then read to a spool file outside the lock, so that a client that
	// stalls mid-body holds up only its own request, and checked again
	// under the lock.
	if _, _, err := s.appendTarget(rq); err != nil {
		return err
	}
	body := io.Reader(rq.r.Body)
	if fromURL(rq) {
		src, err := s.openURLSource(rq, maxAppendBlockBytes)
		if err != nil {
			return err
		}
		defer src.release()
		if checks, err = newUploadChecks(src.checks, false); err != nil {
			return err
		}
		body = src.body
	}
	spool, n, err := spoolAppend(s.blocksDir, body, checks)
	if err != nil {
		return err
	}
	defer spool.Close()
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	b, maxSize, err := s.appendTarget(rq)
	if err != nil {
		return err
	}
	if maxSize >= 0 && b.Size+n > maxSize {
		return newError(412, "MaxBlobSizeConditionNotMet", "The max blob size condition specified was not met.")
	}
	path := filepath.Join(s.contentDir, b.File)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("opening append blob: %w", err)
	}
	defer f.Close()
	// Drop any torn tail of an earlier failed append, then append.
	if err := f.Truncate(b.Size); err != nil {
		return fmt.Errorf("truncating append blob: %w", err)
	}
	if _, err := f.Seek(b.Size, io.SeekStart); err != nil {
		return fmt.Errorf("seeking append blob: %w", err)
	}
	if _, err = io.Copy(f, io.NewSectionReader(spool, 0, n)); err != nil {
		err = fmt.Errorf("appending to the blob: %w", err)
	} else if serr := f.Sync(); serr != nil {
		err = fmt.Errorf("syncing append blob: %w", serr)
	}
	if err != nil {
		f.Truncate(b.Size)
		return err
	}
	offset := b.Size
	now := s.tick()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		// The lease as of this transaction: an expired or broken one is
		// dropped by the write.
		cur, err := getBlob(ctx, tx, b.Account, b.Container, b.Name, "")
		if err != nil {
			return err
		}
		if cur.Sealed { // sealed since the check above
			return errBlobIsSealed
		}
		res, err := tx.ExecContext(ctx, `UPDATE blobs SET size = ?, etag = ?, last_modified = ?, append_count = append_count + 1, lease = ?
			WHERE account = ? AND container = ? AND name = ? AND snapshot = '' AND file = ?`,
			offset+n, newETag(now), now.UnixNano(), mustJSON(cur.Lease.afterWrite(now)), b.Account, b.Container, b.Name, b.File)
		if err != nil {
			return fmt.Errorf("recording append: %w", err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return errBlobNotFound
		}
		return nil
	})
	if err != nil {
		f.Truncate(b.Size)
		return err
	}
	rh := rq.w.Header()
	setTimes(rh, newETag(now), now)
	checks.setHeaders(rh)
	rh.Set("x-ms-blob-append-offset", strconv.FormatInt(offset, 10))
	rh.Set("x-ms-blob-committed-block-count", strconv.FormatInt(b.AppendCount+1, 10))
	rh.Set("x-ms-request-server-encrypted", "true")
	return rq.ok(http.StatusCreated)
}

// appendTarget reads the append blob rq names and checks that an Append
// Block may extend it: type, seal, lease, conditions, the append position
// and the block count. It returns the blob and the x-ms-blob-condition-maxsize
// condition (-1 without one).
func (s *Service) appendTarget(rq *req) (*blobRow, int64, error) {
	h := rq.r.Header
	b, err := getBlob(rq.r.Context(), s.rdb(), rq.acct.Name, rq.container, rq.blob, "")
	if err != nil {
		return nil, 0, s.blobOrContainerNotFound(rq, err)
	}
	if b.Type != "AppendBlob" {
		return nil, 0, errInvalidBlobType
	}
	if b.Sealed {
		return nil, 0, errBlobIsSealed
	}
	if err := checkWriteLease(b.Lease, h, s.now(), "blob"); err != nil {
		return nil, 0, err
	}
	if err := checkBlobConditions(h, b, condWrite); err != nil {
		return nil, 0, err
	}
	if v := h.Get("x-ms-blob-condition-appendpos"); v != "" {
		if p, err := strconv.ParseInt(v, 10, 64); err != nil || p != b.Size {
			return nil, 0, newError(412, "AppendPositionConditionNotMet", "The append position condition specified was not met.")
		}
	}
	maxSize := int64(-1)
	if v := h.Get("x-ms-blob-condition-maxsize"); v != "" {
		p, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, 0, errInvalidHeader
		}
		maxSize = p
		if b.Size+rq.r.ContentLength > maxSize && rq.r.ContentLength >= 0 {
			return nil, 0, newError(412, "MaxBlobSizeConditionNotMet", "The max blob size condition specified was not met.")
		}
	}
	if b.AppendCount >= 50000 {
		return nil, 0, newError(409, "BlockCountExceedsLimit", "The committed block count cannot exceed the maximum limit of 50,000 blocks.")
	}
	return b, maxSize, nil
}

// spoolAppend reads an Append Block's body (at most maxAppendBlockBytes)
// into an unnamed file in dir, hashing it for the request's checksums, and
// returns the file and the body's size. A file without a name needs no
// cleaning up after a crash.
func spoolAppend(dir string, body io.Reader, checks *uploadChecks) (*os.File, int64, error) {
	f, err := os.CreateTemp(dir, ".tmp-append-*")
	if err != nil {
		return nil, 0, fmt.Errorf("creating a spool file: %w", err)
	}
	os.Remove(f.Name())
	n, err := io.Copy(io.MultiWriter(append([]io.Writer{f}, checks.hasherList...)...), io.LimitReader(body, maxAppendBlockBytes+1))
	switch {
	case err != nil:
	case n > maxAppendBlockBytes:
		err = errRequestBodyTooLarge
	case n == 0:
		err = newError(400, "InvalidHeaderValue", "The append block is empty.")
	default:
		err = checks.verify()
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, n, nil
}
