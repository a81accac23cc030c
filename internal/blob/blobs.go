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

// uploadChecks hashes an upload and validates Content-MD5 and
// x-ms-content-crc64 once the body is on disk.
type uploadChecks struct {
	md5        hash.Hash
	crc        hash.Hash64
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

// newUploadChecks reads the transactional checksums of an upload. With
// blobMD5 (Put Blob of a block blob), x-ms-blob-content-md5 takes
// precedence over Content-MD5 as the value the body must match.
func newUploadChecks(h http.Header, blobMD5 bool) (*uploadChecks, error) {
	if h.Get("x-ms-structured-body") != "" {
		// Structured-message (XSM) framing is not decoded; refuse it rather
		// than store the framing as content.
		return nil, newError(400, "InvalidHeaderValue", "Structured message request bodies (x-ms-structured-body) are not supported.")
	}
	u := &uploadChecks{md5: md5.New(), crc: crc64.New(crc64Table)}
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
	u.hasherList = []io.Writer{u.md5, u.crc}
	return u, nil
}

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

// setHeaders returns the content's checksums: Content-MD5, and
// x-ms-content-crc64 when the client sent one or alwaysCRC is set (Put
// Block and Append Block return the CRC64 they computed in any case).
func (u *uploadChecks) setHeaders(h http.Header, alwaysCRC bool) {
	h.Set("Content-MD5", md5Header(u.sumMD5()))
	if u.wantCRC != nil || alwaysCRC {
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
		switch {
		case err != nil:
			return errInvalidHeader
		case len(m) != md5.Size && fallback:
			// Put Blob checks the body against it (newUploadChecks).
			return errInvalidMD5
		}
		// Set Blob Properties stores the value as given, as Azure does.
		b.ContentMD5 = m
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
// on failure it removes b.File. The transaction is shared with concurrent
// commits (groupTx), so check must not block or touch the database.
func (s *Service) commitBlob(rq *req, b *blobRow, check func(old *blobRow) error) error {
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
			if old.File != "" && old.File != b.File {
				garbage = append(garbage, old.File)
			}
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
		if err := putBlob(ctx, q, b); err != nil {
			return err
		}
		garbageBlocks, err = takeStagedBlocks(ctx, q, b.Account, b.Container, b.Name)
		return err
	})
	if err != nil {
		s.removeContent(b.File)
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
	case "BlockBlob", "AppendBlob":
	case "":
		return errMissingHeader
	default:
		return newError(400, "InvalidHeaderValue", "Page blobs are not supported by this service.")
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
	)
	if blobType == "AppendBlob" {
		if rq.r.ContentLength > 0 {
			return newError(400, "InvalidHeaderValue", "Content-Length must be 0 for an append blob.")
		}
		// Append blobs always live in a file: Append Block extends it.
		if file, size, err = writeFile(s.contentDir, bytes.NewReader(nil), checks.hasherList...); err != nil {
			return fmt.Errorf("storing blob content: %w", err)
		}
	} else {
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
	if size > maxPutBlobBytes {
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
		Size: size, File: file, Data: inline, ETag: newETag(now), Created: now, LastModified: now, Metadata: md, Tags: tags,
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
	if err := s.commitBlob(rq, b, nil); err != nil {
		return err
	}
	rh := rq.w.Header()
	setTimes(rh, b.ETag, now)
	if blobType == "BlockBlob" {
		checks.setHeaders(rh, false)
	}
	rh.Set("x-ms-request-server-encrypted", "true")
	return rq.ok(http.StatusCreated)
}

func (s *Service) putBlock(rq *req) error {
	ctx := rq.r.Context()
	id := rq.q.Get("blockid")
	raw, err := base64.StdEncoding.DecodeString(id)
	if err != nil || len(raw) == 0 || len(raw) > 64 {
		return errInvalidBlockID
	}
	checks, err := newUploadChecks(rq.r.Header, false)
	if err != nil {
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
	file, size, err := writeFile(s.blocksDir, io.LimitReader(rq.r.Body, maxPutBlockBytes+1), checks.hasherList...)
	if err != nil {
		return fmt.Errorf("staging block: %w", err)
	}
	if size > maxPutBlockBytes {
		os.Remove(filepath.Join(s.blocksDir, file))
		return errRequestBodyTooLarge
	}
	if err := checks.verify(); err != nil {
		os.Remove(filepath.Join(s.blocksDir, file))
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
	checks.setHeaders(rq.w.Header(), true)
	rq.w.Header().Set("x-ms-request-server-encrypted", "true")
	return rq.ok(http.StatusCreated)
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
	type source struct {
		r         io.ReaderAt
		off, size int64
	}
	var sources []source
	var refs []blockRef
	opened := map[string]*os.File{}
	defer func() {
		for _, f := range opened {
			f.Close()
		}
	}()
	open := func(path string) (*os.File, error) {
		if f, ok := opened[path]; ok {
			return f, nil
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		opened[path] = f
		return f, nil
	}
	reusesCommitted := false
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
			f, err := open(filepath.Join(s.blocksDir, sb.file))
			if err != nil {
				return errInvalidBlockList
			}
			sources = append(sources, source{f, 0, sb.size})
			refs = append(refs, blockRef{e.ID, sb.size})
		case useCommitted:
			reusesCommitted = true
			c := committed[e.ID]
			var r io.ReaderAt = bytes.NewReader(old.Data)
			if old.File != "" {
				f, err := open(filepath.Join(s.contentDir, old.File))
				if err != nil {
					return errInvalidBlockList
				}
				r = f
			}
			sources = append(sources, source{r, c[0], c[1]})
			refs = append(refs, blockRef{e.ID, c[1]})
		default:
			return errInvalidBlockList
		}
	}
	readers := make([]io.Reader, len(sources))
	var total int64
	for i, src := range sources {
		readers[i] = io.NewSectionReader(src.r, src.off, src.size)
		total += src.size
	}
	var (
		file   string
		size   int64
		inline []byte
	)
	if total <= inlineMax {
		if inline, err = io.ReadAll(io.MultiReader(readers...)); err != nil {
			return fmt.Errorf("composing blob from blocks: %w", err)
		}
		size = int64(len(inline))
	} else if file, size, err = writeFile(s.contentDir, io.MultiReader(readers...)); err != nil {
		return fmt.Errorf("composing blob from blocks: %w", err)
	}
	now := s.tick()
	b := &blobRow{
		Account: rq.acct.Name, Container: rq.container, Name: rq.blob, Type: "BlockBlob",
		Size: size, File: file, Data: inline, ETag: newETag(now), Created: now, LastModified: now, Metadata: md, Blocks: refs, Tags: tags,
	}
	if err := blobHTTPHeaders(b, h, false); err != nil {
		s.removeContent(file)
		return err
	}
	if b.AccessTier, err = tierHeader(h, "BlockBlob"); err != nil {
		s.removeContent(file)
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
	})
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
	} else if b == nil {
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
	if b.Type == "AppendBlob" {
		h.Set("x-ms-blob-committed-block-count", strconv.FormatInt(b.AppendCount, 10))
		h.Set("x-ms-blob-sealed", strconv.FormatBool(b.Sealed))
	} else if b.AccessTier == "" {
		h.Set("x-ms-access-tier", "Hot")
		h.Set("x-ms-access-tier-inferred", "true")
	} else {
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
	var b *blobRow
	var f io.ReaderAt
	for attempt := 0; ; attempt++ {
		var err error
		b, err = s.readableBlob(rq)
		if err != nil {
			return err
		}
		if b.AccessTier == "Archive" {
			return errBlobArchived
		}
		if b.File == "" {
			f = bytes.NewReader(b.Data)
			break
		}
		file, err := os.Open(filepath.Join(s.contentDir, b.File))
		if err == nil {
			defer file.Close()
			f = file
			break
		}
		if !errors.Is(err, fs.ErrNotExist) || attempt == 3 {
			return fmt.Errorf("opening blob content: %w", err)
		}
		// Replaced between the query and the open: read the new version.
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
			if st >= b.Size {
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
	rq.w.WriteHeader(status)
	if n <= 0 {
		return nil
	}
	if b.File == "" {
		_, err := rq.w.Write(b.Data[start : start+n])
		return err
	}
	buf := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(buf)
	if _, err := io.CopyBuffer(rq.w, io.NewSectionReader(f, start, n), *buf); err != nil {
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

// updateBlob changes the base blob in a write transaction after checking
// its lease and conditions, then stores it with a new ETag.
func (s *Service) updateBlob(rq *req, fn func(b *blobRow) error) (*blobRow, error) {
	ctx := rq.r.Context()
	var b *blobRow
	err := s.tx(ctx, func(tx *sql.Tx) error {
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
		if err := fn(b); err != nil {
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
	var garbage, garbageBlocks []string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		b, err := getBlob(ctx, tx, rq.acct.Name, rq.container, rq.blob, snapshot)
		if err != nil {
			return err
		}
		if err := checkBlobConditions(rq.r.Header, b, condWrite); err != nil {
			return err
		}
		if snapshot != "" {
			garbage = append(garbage, b.File)
			_, err := tx.ExecContext(ctx, `DELETE FROM blobs WHERE account = ? AND container = ? AND name = ? AND snapshot = ?`,
				rq.acct.Name, rq.container, rq.blob, snapshot)
			if err != nil {
				return fmt.Errorf("deleting snapshot: %w", err)
			}
			return nil
		}
		if err := checkWriteLease(b.Lease, rq.r.Header, s.now(), "blob"); err != nil {
			return err
		}
		snaps, err := collect(tx, `SELECT file FROM blobs WHERE account = ? AND container = ? AND name = ? AND snapshot != ''`,
			rq.acct.Name, rq.container, rq.blob)
		if err != nil {
			return err
		}
		if len(snaps) > 0 && opt == "" {
			return errSnapshotsPresent
		}
		garbage = append(garbage, snaps...)
		q := `DELETE FROM blobs WHERE account = ? AND container = ? AND name = ? AND snapshot != ''`
		if opt != "only" {
			garbage = append(garbage, b.File)
			q = `DELETE FROM blobs WHERE account = ? AND container = ? AND name = ?`
			garbageBlocks, err = takeStagedBlocks(ctx, tx, rq.acct.Name, rq.container, rq.blob)
			if err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, q, rq.acct.Name, rq.container, rq.blob); err != nil {
			return fmt.Errorf("deleting blob: %w", err)
		}
		return nil
	})
	if err != nil {
		return s.blobOrContainerNotFound(rq, err)
	}
	if err := s.removeFiles(append(s.contentPaths(garbage), s.blockPaths(garbageBlocks)...)); err != nil {
		s.log.Warn("removing deleted blob files", "err", err)
	}
	rq.w.Header().Set("x-ms-delete-type-permanent", "true")
	return rq.ok(http.StatusAccepted)
}

// cloneContent gives b's content a new file: a hard link for immutable
// block-blob content, a copy for append blobs (extended in place).
func (s *Service) cloneContent(b *blobRow) (string, error) {
	if b.File == "" {
		return "", nil // inline content is copied with the row
	}
	if b.Type == "BlockBlob" {
		return s.linkFile(b.File)
	}
	return s.copyFile(b.File, b.Size)
}

func (s *Service) snapshotBlob(rq *req) error {
	ctx := rq.r.Context()
	md, err := metadataFromHeaders(rq.r.Header)
	if err != nil {
		return err
	}
	var snap *blobRow
	err = s.tx(ctx, func(tx *sql.Tx) error {
		b, err := getBlob(ctx, tx, rq.acct.Name, rq.container, rq.blob, "")
		if err != nil {
			return err
		}
		if err := checkReadLease(b.Lease, rq.r.Header, s.now(), "blob"); err != nil {
			return err
		}
		if err := checkBlobConditions(rq.r.Header, b, condWrite); err != nil {
			return err
		}
		file, err := s.cloneContent(b)
		if err != nil {
			return err
		}
		snap = b
		snap.File = file
		snap.Snapshot = s.tick().Format(snapshotFormat)
		snap.Lease = leaseInfo{}
		if len(md) > 0 {
			snap.Metadata = md
		}
		if err := putBlob(ctx, tx, snap); err != nil {
			s.removeContent(file)
			return err
		}
		return nil
	})
	if err != nil {
		return s.blobOrContainerNotFound(rq, err)
	}
	h := rq.w.Header()
	setTimes(h, snap.ETag, snap.LastModified)
	h.Set("x-ms-snapshot", snap.Snapshot)
	h.Set("x-ms-request-server-encrypted", "false")
	return rq.ok(http.StatusCreated)
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
	if acct.Name != rq.acct.Name || q.Get("sig") != "" {
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
	src, srcURL, err := s.copySource(rq)
	if err != nil {
		return err
	}
	if err := checkCopySource(rq.r.Header, src); err != nil {
		return err
	}
	tags, err := copyTags(rq.r.Header, given, src)
	if err != nil {
		return err
	}
	tier, err := tierHeader(rq.r.Header, src.Type)
	if err != nil {
		return err
	}
	if src.AccessTier == "Archive" && tier == "" {
		// An archived source is copied only into an online tier.
		return errBlobArchived
	}
	file, err := s.cloneContent(src)
	if err != nil {
		return err
	}
	now := s.tick()
	b := *src
	b.Account, b.Container, b.Name, b.Snapshot = rq.acct.Name, rq.container, rq.blob, ""
	b.File, b.ETag, b.Created, b.LastModified = file, newETag(now), now, now
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
	if err := s.commitBlob(rq, &b, nil); err != nil {
		return err
	}
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

func (s *Service) appendBlock(rq *req) error {
	ctx := rq.r.Context()
	h := rq.r.Header
	checks, err := newUploadChecks(h, false)
	if err != nil {
		return err
	}
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	b, err := getBlob(ctx, s.rdb(), rq.acct.Name, rq.container, rq.blob, "")
	if err != nil {
		return s.blobOrContainerNotFound(rq, err)
	}
	if b.Type != "AppendBlob" {
		return errInvalidBlobType
	}
	if b.Sealed {
		return errBlobIsSealed
	}
	if err := checkWriteLease(b.Lease, h, s.now(), "blob"); err != nil {
		return err
	}
	if err := checkBlobConditions(h, b, condWrite); err != nil {
		return err
	}
	if v := h.Get("x-ms-blob-condition-appendpos"); v != "" {
		if p, err := strconv.ParseInt(v, 10, 64); err != nil || p != b.Size {
			return newError(412, "AppendPositionConditionNotMet", "The append position condition specified was not met.")
		}
	}
	maxSize := int64(-1)
	if v := h.Get("x-ms-blob-condition-maxsize"); v != "" {
		p, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return errInvalidHeader
		}
		maxSize = p
		if b.Size+rq.r.ContentLength > maxSize && rq.r.ContentLength >= 0 {
			return newError(412, "MaxBlobSizeConditionNotMet", "The max blob size condition specified was not met.")
		}
	}
	if b.AppendCount >= 50000 {
		return newError(409, "BlockCountExceedsLimit", "The committed block count cannot exceed the maximum limit of 50,000 blocks.")
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
	n, err := io.Copy(io.MultiWriter(append([]io.Writer{f}, checks.hasherList...)...), io.LimitReader(rq.r.Body, maxAppendBlockBytes+1))
	if err == nil && n > maxAppendBlockBytes {
		err = errRequestBodyTooLarge
	}
	if err == nil && n == 0 {
		err = newError(400, "InvalidHeaderValue", "The append block is empty.")
	}
	if err == nil && maxSize >= 0 && b.Size+n > maxSize {
		err = newError(412, "MaxBlobSizeConditionNotMet", "The max blob size condition specified was not met.")
	}
	if err == nil {
		err = checks.verify()
	}
	if err == nil {
		if serr := f.Sync(); serr != nil {
			err = fmt.Errorf("syncing append blob: %w", serr)
		}
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
	checks.setHeaders(rh, true)
	rh.Set("x-ms-blob-append-offset", strconv.FormatInt(offset, 10))
	rh.Set("x-ms-blob-committed-block-count", strconv.FormatInt(b.AppendCount+1, 10))
	rh.Set("x-ms-request-server-encrypted", "true")
	return rq.ok(http.StatusCreated)
}
