package blob

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// leaseInfo is the lease of a container or blob as stored. State is "" (never
// leased, or released), "leased", "breaking" or "broken"; "expired" is
// derived when a fixed-duration lease has run out.
type leaseInfo struct {
	ID         string `json:"id,omitempty"`
	State      string `json:"state,omitempty"`
	Duration   int    `json:"dur,omitempty"` // seconds; -1 infinite
	Expires    int64  `json:"exp,omitempty"` // unix nanos, fixed-duration leases
	BreakUntil int64  `json:"brk,omitempty"` // unix nanos, breaking leases
}

// effective returns the lease as of now (fixed leases expire, breaking
// leases become broken).
func (l leaseInfo) effective(now time.Time) leaseInfo {
	switch l.State {
	case "leased":
		if l.Duration > 0 && now.UnixNano() >= l.Expires {
			l.State = "expired"
		}
	case "breaking":
		if now.UnixNano() >= l.BreakUntil {
			l.State = "broken"
		}
	}
	return l
}

func (l leaseInfo) active() bool { return l.State == "leased" || l.State == "breaking" }

// stateAndStatus returns Azure's LeaseState and LeaseStatus.
func (l leaseInfo) stateAndStatus() (state, status string) {
	switch l.State {
	case "leased", "breaking":
		return l.State, "locked"
	case "expired", "broken":
		return l.State, "unlocked"
	}
	return "available", "unlocked"
}

func (l leaseInfo) setHeaders(h http.Header) {
	state, status := l.stateAndStatus()
	h.Set("x-ms-lease-state", state)
	h.Set("x-ms-lease-status", status)
	if l.State == "leased" {
		if l.Duration < 0 {
			h.Set("x-ms-lease-duration", "infinite")
		} else {
			h.Set("x-ms-lease-duration", "fixed")
		}
	}
}

// metadata is user metadata, names lower-cased.
type metadata map[string]string

func (m metadata) keys() []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (m metadata) setHeaders(h http.Header) {
	for k, v := range m {
		h["x-ms-meta-"+k] = []string{v}
	}
}

// maxMetadataBytes is Azure's limit on the total size of metadata names
// and values.
const maxMetadataBytes = 8 << 10

// metadataFromHeaders collects x-ms-meta-* headers.
func metadataFromHeaders(h http.Header) (metadata, error) {
	m := metadata{}
	total := 0
	for k, v := range h {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, "x-ms-meta-") {
			continue
		}
		name := lk[len("x-ms-meta-"):]
		if !validMetadataName(name) {
			return nil, newError(400, "InvalidMetadata", "The metadata specified is invalid. It has characters that are not permitted.")
		}
		m[name] = strings.Join(v, ",")
		total += len(name) + len(m[name])
	}
	if total > maxMetadataBytes {
		return nil, newError(400, "MetadataTooLarge", "The size of the specified metadata exceeds the maximum size permitted.")
	}
	return m, nil
}

// validMetadataName: metadata names must be valid C# identifiers.
func validMetadataName(n string) bool {
	if n == "" {
		return false
	}
	for i, c := range n {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// accessPolicy is a stored access policy of a container.
type accessPolicy struct {
	ID         string `json:"id"`
	Start      string `json:"start,omitempty"`
	Expiry     string `json:"expiry,omitempty"`
	Permission string `json:"perm,omitempty"`
}

type containerRow struct {
	Account, Name, ETag string
	LastModified        time.Time
	Metadata            metadata
	PublicAccess        string
	ACL                 []accessPolicy
	Lease               leaseInfo
}

const containerCols = `account, name, etag, last_modified, metadata, public_access, acl, lease`

type scanner interface{ Scan(...any) error }

func scanContainer(sc scanner) (*containerRow, error) {
	var c containerRow
	var lm int64
	var md, acl, ls string
	if err := sc.Scan(&c.Account, &c.Name, &c.ETag, &lm, &md, &c.PublicAccess, &acl, &ls); err != nil {
		return nil, err
	}
	c.LastModified = time.Unix(0, lm).UTC()
	if err := errors.Join(json.Unmarshal([]byte(md), &c.Metadata), json.Unmarshal([]byte(acl), &c.ACL), json.Unmarshal([]byte(ls), &c.Lease)); err != nil {
		return nil, fmt.Errorf("decoding container row: %w", err)
	}
	return &c, nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

const sqlGetContainer = `SELECT ` + containerCols + ` FROM containers WHERE account = ? AND name = ? AND deleting = 0`

// getContainer loads a container or returns errContainerNotFound.
func getContainer(ctx context.Context, q queryer, account, name string) (*containerRow, error) {
	c, err := scanContainer(q.QueryRowContext(ctx, sqlGetContainer, account, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errContainerNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("loading container: %w", err)
	}
	return c, nil
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs and maps
	}
	return string(b)
}

// blockRef is one committed block of a block blob.
type blockRef struct {
	ID   string `json:"n"`
	Size int64  `json:"s"`
}

// copyInfo records the (always synchronous) copy that created a blob.
type copyInfo struct {
	ID         string `json:"id,omitempty"`
	Source     string `json:"src,omitempty"`
	Completion int64  `json:"done,omitempty"`
	Size       int64  `json:"size,omitempty"`
}

type blobRow struct {
	Account, Container, Name, Snapshot  string
	Type                                string // BlockBlob, AppendBlob or PageBlob
	Size                                int64  // of a page blob: its declared size, not its stored bytes
	File                                string
	ETag                                string
	Created, LastModified               time.Time
	ContentType, ContentEncoding        string
	ContentLanguage, ContentDisposition string
	CacheControl                        string
	ContentMD5                          []byte
	Metadata                            metadata
	Blocks                              []blockRef
	Lease                               leaseInfo
	Copy                                copyInfo
	AppendCount                         int64
	// AccessTier is the tier set by Put Blob, Put Block List, Copy Blob or
	// Set Blob Tier; "" is the account default (Hot, reported inferred).
	AccessTier string
	// Sealed is set on an append blob by Seal Append Blob.
	Sealed bool
	// SequenceNumber is a page blob's x-ms-blob-sequence-number.
	SequenceNumber int64
	// Tags are the blob index tags (Set Blob Tags, x-ms-tags).
	Tags tagSet
	// Data holds the content of small block blobs stored inline in the
	// database (File is then ""). Listing queries do not load it.
	Data []byte
	// Extents counts the extents that hold the content of a blob committed
	// from blocks (File and Data are then empty); see content.go.
	Extents int
	// DeletedTime and DeleteExpiry are set on a soft-deleted row read by a
	// listing that includes deleted blobs (softdelete.go).
	DeletedTime, DeleteExpiry time.Time
	// parts are the extents of a blob being committed (commitBlob stores
	// them with the row); never loaded from the database.
	parts []extent
}

const blobCols = `account, container, name, snapshot, blob_type, size, file, etag, created, last_modified,
	content_type, content_encoding, content_language, content_disposition, cache_control, content_md5,
	metadata, blocks, lease, copy, append_count, access_tier, sealed, sequence_number, extents, tags`

func scanBlob(sc scanner) (*blobRow, error) { return scanBlobData(sc, false) }

// scanBlobData scans blobCols, followed by the data column if withData,
// then into extra any columns selected after them.
func scanBlobData(sc scanner, withData bool, extra ...any) (*blobRow, error) {
	var b blobRow
	var created, lm int64
	var md, blocks, ls, cp, tags string
	dest := []any{&b.Account, &b.Container, &b.Name, &b.Snapshot, &b.Type, &b.Size, &b.File, &b.ETag, &created, &lm,
		&b.ContentType, &b.ContentEncoding, &b.ContentLanguage, &b.ContentDisposition, &b.CacheControl, &b.ContentMD5,
		&md, &blocks, &ls, &cp, &b.AppendCount, &b.AccessTier, &b.Sealed, &b.SequenceNumber, &b.Extents, &tags}
	if withData {
		dest = append(dest, &b.Data)
	}
	dest = append(dest, extra...)
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	b.Created = time.Unix(0, created).UTC()
	b.LastModified = time.Unix(0, lm).UTC()
	if err := errors.Join(json.Unmarshal([]byte(md), &b.Metadata), json.Unmarshal([]byte(blocks), &b.Blocks),
		json.Unmarshal([]byte(ls), &b.Lease), json.Unmarshal([]byte(cp), &b.Copy), json.Unmarshal([]byte(tags), &b.Tags)); err != nil {
		return nil, fmt.Errorf("decoding blob row: %w", err)
	}
	return &b, nil
}

const (
	// A soft-deleted row (deleted_time > 0, softdelete.go) is no blob to
	// any operation but Undelete Blob and listings that include deleted.
	sqlGetBlob     = `SELECT ` + blobCols + `, data FROM blobs WHERE account = ? AND container = ? AND name = ? AND snapshot = ? AND deleted_time = 0`
	sqlGetBlobHead = `SELECT ` + blobCols + ` FROM blobs WHERE account = ? AND container = ? AND name = ? AND snapshot = ? AND deleted_time = 0`
)

// getBlobHead loads a blob's row without its inline content (for checks
// that need only its properties), or returns errBlobNotFound.
func getBlobHead(ctx context.Context, q queryer, account, container, name, snapshot string) (*blobRow, error) {
	b, err := scanBlob(q.QueryRowContext(ctx, sqlGetBlobHead, account, container, name, snapshot))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errBlobNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("loading blob: %w", err)
	}
	return b, nil
}

// getBlob loads a blob (snapshot "" is the base blob), including inline
// content, or returns errBlobNotFound.
func getBlob(ctx context.Context, q queryer, account, container, name, snapshot string) (*blobRow, error) {
	b, err := scanBlobData(q.QueryRowContext(ctx, sqlGetBlob, account, container, name, snapshot), true)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errBlobNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("loading blob: %w", err)
	}
	return b, nil
}

type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

const sqlPutBlob = `INSERT OR REPLACE INTO blobs (` + blobCols + `, data) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

// putBlob inserts or replaces a blob row, including its inline content
// (so b must have been loaded with getBlob, never from a listing). A page
// blob's pages are rows of their own (see pages.go).
func putBlob(ctx context.Context, x execer, b *blobRow) error {
	if b.File == "" && b.Extents == 0 && b.Type != "PageBlob" && int64(len(b.Data)) != b.Size {
		return fmt.Errorf("storing blob row %s: inline content of %d bytes for size %d", b.Name, len(b.Data), b.Size)
	}
	_, err := x.ExecContext(ctx, sqlPutBlob,
		b.Account, b.Container, b.Name, b.Snapshot, b.Type, b.Size, b.File, b.ETag, b.Created.UnixNano(), b.LastModified.UnixNano(),
		b.ContentType, b.ContentEncoding, b.ContentLanguage, b.ContentDisposition, b.CacheControl, b.ContentMD5,
		mustJSON(nonNilMeta(b.Metadata)), mustJSON(nonNilBlocks(b.Blocks)), mustJSON(b.Lease), mustJSON(b.Copy), b.AppendCount, b.AccessTier, b.Sealed, b.SequenceNumber, b.Extents,
		mustJSON(nonNilTags(b.Tags)), inlineData(b))
	if err != nil {
		return fmt.Errorf("storing blob row: %w", err)
	}
	return nil
}

func nonNilMeta(m metadata) metadata {
	if m == nil {
		return metadata{}
	}
	return m
}

func nonNilBlocks(b []blockRef) []blockRef {
	if b == nil {
		return []blockRef{}
	}
	return b
}

// stagedOfBlob selects the uncommitted blocks of a blob.
const stagedOfBlob = `account = ? AND container = ? AND blob = ?`

// Statements of takeFiles on the blocks table, prepared once (stmtCache).
const (
	sqlStagedFiles  = `SELECT file FROM blocks WHERE ` + stagedOfBlob
	sqlDeleteStaged = `DELETE FROM blocks WHERE ` + stagedOfBlob
)

// txQueryer is a write transaction: *sql.Tx or cachedTx.
type txQueryer interface {
	queryer
	execer
	rowsQueryer
}

// rowsQueryer runs a query that returns rows: *sql.DB, *sql.Tx, cachedTx.
type rowsQueryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// takeStagedBlocks deletes the uncommitted blocks of a blob and returns
// their files (to remove after commit).
func takeStagedBlocks(ctx context.Context, tx txQueryer, account, container, name string) ([]string, error) {
	return takeFiles(ctx, tx, "blocks", stagedOfBlob, account, container, name)
}

// takeFiles deletes the rows of table (blocks or extents) that where
// selects and returns their files, to remove once the transaction commits.
func takeFiles(ctx context.Context, tx txQueryer, table, where string, args ...any) ([]string, error) {
	files, err := collect(ctx, tx, `SELECT file FROM `+table+` WHERE `+where, args...)
	if err != nil || len(files) == 0 {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE `+where, args...); err != nil {
		return nil, fmt.Errorf("deleting from %s: %w", table, err)
	}
	return files, nil
}

// collect runs a query of one text column and returns its values.
func collect(ctx context.Context, q rowsQueryer, query string, args ...any) ([]string, error) {
	return scanRows(ctx, q, "listing files", query, args, func(sc scanner) (f string, err error) {
		err = sc.Scan(&f)
		return f, err
	})
}

// scanRows runs query and returns its rows, each made by scan, in order;
// errors are wrapped with what ("doing what").
func scanRows[T any](ctx context.Context, q rowsQueryer, what, query string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// inlineData is the value of the data column: the content of inline blobs,
// NULL for blobs stored in files and for page blobs.
func inlineData(b *blobRow) any {
	if b.File != "" || b.Extents > 0 || b.Type == "PageBlob" {
		return nil
	}
	if b.Data == nil {
		return []byte{}
	}
	return b.Data
}
