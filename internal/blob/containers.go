package blob

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
)

func (rq *req) ok(status int) error {
	rq.w.WriteHeader(status)
	return nil
}

func setTimes(h http.Header, etag string, lm interface{ Format(string) string }) {
	h.Set("ETag", etag)
	h.Set("Last-Modified", lm.Format(http.TimeFormat))
}

func (s *Service) createContainer(rq *req) error {
	ctx := rq.r.Context()
	pa := rq.r.Header.Get("x-ms-blob-public-access")
	if pa != "" && pa != "blob" && pa != "container" {
		return errInvalidHeader
	}
	md, err := metadataFromHeaders(rq.r.Header)
	if err != nil {
		return err
	}
	now := s.tick()
	etag := newETag(now)
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO containers (account, name, etag, last_modified, metadata, public_access) VALUES (?,?,?,?,?,?)`,
			rq.acct.Name, rq.container, etag, now.UnixNano(), mustJSON(md), pa)
		if err != nil {
			return fmt.Errorf("creating container: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var deleting bool
			if err := tx.QueryRowContext(ctx, `SELECT deleting FROM containers WHERE account = ? AND name = ?`, rq.acct.Name, rq.container).Scan(&deleting); err != nil {
				return fmt.Errorf("checking existing container: %w", err)
			}
			if deleting {
				return errContainerBeingDeleted
			}
			return errContainerExists
		}
		return nil
	})
	if err != nil {
		return err
	}
	setTimes(rq.w.Header(), etag, now)
	return rq.ok(http.StatusCreated)
}

func (s *Service) deleteContainer(rq *req) error {
	err := s.removeContainer(rq.r.Context(), rq.acct.Name, rq.container, func(c *containerRow) error {
		if err := checkWriteLease(c.Lease, rq.r.Header, s.now(), "container"); err != nil {
			return err
		}
		return checkConditions(onlyDates(rq.r.Header), true, c.ETag, c.LastModified, condWrite)
	})
	if err != nil {
		return err
	}
	return rq.ok(http.StatusAccepted)
}

// removeContainer deletes account's container name once allow (given its
// row, in the transaction that marks it) lets it: errContainerNotFound
// when there is none.
func (s *Service) removeContainer(ctx context.Context, account, name string, allow func(*containerRow) error) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		c, err := getContainer(ctx, tx, account, name)
		if err != nil {
			return err
		}
		if err := allow(c); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE containers SET deleting = 1 WHERE account = ? AND name = ?`, account, name); err != nil {
			return fmt.Errorf("marking container deleted: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The container is gone for clients now; its blobs are purged in
	// bounded batches (resumed by Open after a crash), and a client that
	// disconnects does not stop the purge.
	return s.purgeContainer(context.WithoutCancel(ctx), account, name)
}

// purgeBatch bounds the rows (and file names) one purge transaction holds.
const purgeBatch = 1000

// purgeContainer deletes the blobs, staged blocks, extents, pages and
// finally the row of a container marked deleting, a batch per
// transaction, removing each batch's files after its commit. Every write
// that adds rows under a blob checks, in its transaction, that the
// container is not being deleted, so nothing is added behind the purge.
func (s *Service) purgeContainer(ctx context.Context, account, name string) error {
	for _, spec := range []struct{ sel, del, dir string }{
		{`SELECT name, snapshot, file FROM blobs WHERE account = ? AND container = ? LIMIT ?`,
			`DELETE FROM blobs WHERE account = ? AND container = ? AND name = ? AND snapshot = ?`, s.contentDir},
		{`SELECT blob, block_id, file FROM blocks WHERE account = ? AND container = ? LIMIT ?`,
			`DELETE FROM blocks WHERE account = ? AND container = ? AND blob = ? AND block_id = ?`, s.blocksDir},
		// Extents are keyed here by their file, which is unique.
		{`SELECT file, '', file FROM extents WHERE account = ? AND container = ? LIMIT ?`,
			`DELETE FROM extents WHERE account = ? AND container = ? AND file = ? AND '' = ?`, s.contentDir},
	} {
		for {
			var files []string
			n := 0
			err := s.tx(ctx, func(tx *sql.Tx) error {
				rows, err := tx.QueryContext(ctx, spec.sel, account, name, purgeBatch)
				if err != nil {
					return err
				}
				var keys [][2]string
				for rows.Next() {
					var k1, k2, f string
					if err := rows.Scan(&k1, &k2, &f); err != nil {
						rows.Close()
						return err
					}
					keys = append(keys, [2]string{k1, k2})
					if f != "" {
						files = append(files, filepath.Join(spec.dir, f))
					}
				}
				rows.Close()
				if err := rows.Err(); err != nil {
					return err
				}
				n = len(keys)
				for _, k := range keys {
					if _, err := tx.ExecContext(ctx, spec.del, account, name, k[0], k[1]); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("purging container %s/%s: %w", account, name, err)
			}
			if err := s.removeFiles(files); err != nil {
				return err
			}
			if n < purgeBatch {
				break
			}
		}
	}
	for {
		res, err := s.writer.ExecContext(ctx, `DELETE FROM pages WHERE rowid IN (SELECT rowid FROM pages WHERE account = ? AND container = ? LIMIT ?)`,
			account, name, purgeBatch)
		if err != nil {
			return fmt.Errorf("purging pages of container %s/%s: %w", account, name, err)
		}
		if n, _ := res.RowsAffected(); n < purgeBatch {
			break
		}
	}
	if _, err := s.writer.ExecContext(ctx, `DELETE FROM containers WHERE account = ? AND name = ? AND deleting = 1`, account, name); err != nil {
		return fmt.Errorf("purging container %s/%s: %w", account, name, err)
	}
	return nil
}

// purgeDeleting finishes the purge of every container marked deleting
// (of one account, or all when account is "").
func (s *Service) purgeDeleting(ctx context.Context, account string) error {
	for {
		todo, err := scanRows(ctx, s.reader, "listing deleted containers",
			`SELECT account, name FROM containers WHERE deleting = 1 AND (? = '' OR account = ?) LIMIT 100`, []any{account, account},
			func(sc scanner) (c [2]string, err error) {
				err = sc.Scan(&c[0], &c[1])
				return c, err
			})
		if err != nil {
			return err
		}
		if len(todo) == 0 {
			return nil
		}
		for _, c := range todo {
			if err := s.purgeContainer(ctx, c[0], c[1]); err != nil {
				return err
			}
		}
	}
}

// onlyDates keeps only the date conditions (containers support no ETag
// conditions on delete and metadata).
func onlyDates(h http.Header) http.Header {
	out := http.Header{}
	for _, k := range []string{"If-Modified-Since", "If-Unmodified-Since"} {
		if v := h.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	return out
}

// contentPaths maps content file names to paths, skipping the empty name
// of inline blobs.
func (s *Service) contentPaths(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if n != "" {
			out = append(out, filepath.Join(s.contentDir, n))
		}
	}
	return out
}

func (s *Service) blockPaths(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = s.blocksDir + "/" + n
	}
	return out
}

func (s *Service) getContainerProperties(rq *req) error {
	c, err := getContainer(rq.r.Context(), s.rdb(), rq.acct.Name, rq.container)
	if err != nil {
		return err
	}
	if err := checkReadLease(c.Lease, rq.r.Header, s.now(), "container"); err != nil {
		return err
	}
	h := rq.w.Header()
	setTimes(h, c.ETag, c.LastModified)
	c.Metadata.setHeaders(h)
	c.Lease.effective(s.now()).setHeaders(h)
	if c.PublicAccess != "" {
		h.Set("x-ms-blob-public-access", c.PublicAccess)
	}
	h.Set("x-ms-has-immutability-policy", "false")
	h.Set("x-ms-has-legal-hold", "false")
	h.Set("x-ms-default-encryption-scope", "$account-encryption-key")
	h.Set("x-ms-deny-encryption-scope-override", "false")
	return rq.ok(http.StatusOK)
}

// updateContainer loads a container in a write transaction, lets fn change
// it, stores it with a new ETag and writes ETag and Last-Modified.
func (s *Service) updateContainer(rq *req, fn func(c *containerRow) error) error {
	ctx := rq.r.Context()
	now := s.tick()
	var etag string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		c, err := getContainer(ctx, tx, rq.acct.Name, rq.container)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
		etag = newETag(now)
		_, err = tx.ExecContext(ctx, `UPDATE containers SET etag = ?, last_modified = ?, metadata = ?, public_access = ?, acl = ?, lease = ? WHERE account = ? AND name = ?`,
			etag, now.UnixNano(), mustJSON(nonNilMeta(c.Metadata)), c.PublicAccess, mustJSON(nonNilACL(c.ACL)), mustJSON(c.Lease), c.Account, c.Name)
		if err != nil {
			return fmt.Errorf("updating container: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	setTimes(rq.w.Header(), etag, now)
	return nil
}

func nonNilACL(a []accessPolicy) []accessPolicy {
	if a == nil {
		return []accessPolicy{}
	}
	return a
}

func (s *Service) setContainerMetadata(rq *req) error {
	md, err := metadataFromHeaders(rq.r.Header)
	if err != nil {
		return err
	}
	err = s.updateContainer(rq, func(c *containerRow) error {
		if err := checkReadLease(c.Lease, rq.r.Header, s.now(), "container"); err != nil {
			return err
		}
		if err := checkConditions(onlyDates(rq.r.Header), true, c.ETag, c.LastModified, condWrite); err != nil {
			return err
		}
		c.Metadata = md
		return nil
	})
	if err != nil {
		return err
	}
	return rq.ok(http.StatusOK)
}

type signedIdentifiersXML struct {
	XMLName     xml.Name              `xml:"SignedIdentifiers"`
	Identifiers []signedIdentifierXML `xml:"SignedIdentifier"`
}

type signedIdentifierXML struct {
	ID     string `xml:"Id"`
	Policy struct {
		Start      string `xml:"Start,omitempty"`
		Expiry     string `xml:"Expiry,omitempty"`
		Permission string `xml:"Permission,omitempty"`
	} `xml:"AccessPolicy"`
}

func (s *Service) getContainerACL(rq *req) error {
	c, err := getContainer(rq.r.Context(), s.rdb(), rq.acct.Name, rq.container)
	if err != nil {
		return err
	}
	if err := checkReadLease(c.Lease, rq.r.Header, s.now(), "container"); err != nil {
		return err
	}
	var out signedIdentifiersXML
	for _, p := range c.ACL {
		var si signedIdentifierXML
		si.ID = p.ID
		si.Policy.Start, si.Policy.Expiry, si.Policy.Permission = p.Start, p.Expiry, p.Permission
		out.Identifiers = append(out.Identifiers, si)
	}
	h := rq.w.Header()
	setTimes(h, c.ETag, c.LastModified)
	if c.PublicAccess != "" {
		h.Set("x-ms-blob-public-access", c.PublicAccess)
	}
	return rq.writeXML(http.StatusOK, out)
}

func (rq *req) writeXML(status int, v any) error {
	body, err := marshalXML(v)
	if err != nil {
		return fmt.Errorf("encoding XML response: %w", err)
	}
	h := rq.w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(xml.Header)+len(body)))
	rq.w.WriteHeader(status)
	if rq.r.Method == http.MethodHead {
		return nil
	}
	io.WriteString(rq.w, xml.Header)
	rq.w.Write(body)
	return nil
}

// readXMLBody reads a bounded XML request body into v.
func readXMLBody(r *http.Request, limit int64, v any) (empty bool, err error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return false, fmt.Errorf("reading request body: %w", err)
	}
	if int64(len(body)) > limit {
		return false, errRequestBodyTooLarge
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return true, nil
	}
	if err := xml.Unmarshal(body, v); err != nil {
		return false, errInvalidXML
	}
	return false, nil
}

func (s *Service) setContainerACL(rq *req) error {
	pa := rq.r.Header.Get("x-ms-blob-public-access")
	if pa != "" && pa != "blob" && pa != "container" {
		return errInvalidHeader
	}
	var in signedIdentifiersXML
	if _, err := readXMLBody(rq.r, 64<<10, &in); err != nil {
		return err
	}
	if len(in.Identifiers) > 5 {
		return newError(400, "InvalidXmlDocument", "XML specified is not syntactically valid: more than five signed identifiers.")
	}
	var acl []accessPolicy
	for _, si := range in.Identifiers {
		if si.ID == "" || len(si.ID) > 64 {
			return errInvalidXML
		}
		// A stored access policy does not grant Find Blobs by Tags: Azure
		// keeps a policy's permissions without f (racwdxyltfmei reads
		// back as racwdxyltmei, azure-cli's
		// test_storage_container_access_policy_scenario).
		perm := strings.ReplaceAll(si.Policy.Permission, "f", "")
		acl = append(acl, accessPolicy{ID: si.ID, Start: si.Policy.Start, Expiry: si.Policy.Expiry, Permission: perm})
	}
	err := s.updateContainer(rq, func(c *containerRow) error {
		if err := checkReadLease(c.Lease, rq.r.Header, s.now(), "container"); err != nil {
			return err
		}
		if err := checkConditions(onlyDates(rq.r.Header), true, c.ETag, c.LastModified, condWrite); err != nil {
			return err
		}
		c.ACL, c.PublicAccess = acl, pa
		return nil
	})
	if err != nil {
		return err
	}
	return rq.ok(http.StatusOK)
}

func (s *Service) leaseContainer(rq *req) error {
	ctx := rq.r.Context()
	var status int
	var out map[string]string
	var etag string
	var c *containerRow
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = getContainer(ctx, tx, rq.acct.Name, rq.container)
		if err != nil {
			return err
		}
		if err := checkConditions(onlyDates(rq.r.Header), true, c.ETag, c.LastModified, condWrite); err != nil {
			return err
		}
		var n leaseInfo
		n, status, out, err = leaseAction(c.Lease, rq.r.Header, s.now())
		if err != nil {
			return err
		}
		etag = c.ETag
		_, err = tx.ExecContext(ctx, `UPDATE containers SET lease = ? WHERE account = ? AND name = ?`, mustJSON(n), c.Account, c.Name)
		if err != nil {
			return fmt.Errorf("storing container lease: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	h := rq.w.Header()
	setTimes(h, etag, c.LastModified)
	for k, v := range out {
		h.Set(k, v)
	}
	return rq.ok(status)
}

func (s *Service) accountInfo(rq *req) error {
	h := rq.w.Header()
	sku, kind := rq.acct.SKU, rq.acct.Kind
	if sku == "" {
		sku = "Standard_LRS"
	}
	if kind == "" {
		kind = "StorageV2"
	}
	h.Set("x-ms-sku-name", sku)
	h.Set("x-ms-account-kind", kind)
	h.Set("x-ms-is-hns-enabled", "false")
	return rq.ok(http.StatusOK)
}

// errBlobArchived: the content of an archived blob cannot be read.
var errBlobArchived = newError(409, "BlobArchived", "This operation is not permitted on an archived blob.")

// tierHeader reads x-ms-access-tier of an upload or copy: "" when absent,
// else the tier in Azure's spelling. Only block blobs have tiers.
func tierHeader(h http.Header, blobType string) (string, error) {
	v := h.Get("x-ms-access-tier")
	if v == "" {
		return "", nil
	}
	t, ok := canonicalTier(v)
	if !ok || blobType != "BlockBlob" {
		return "", errInvalidHeader
	}
	return t, nil
}

func canonicalTier(v string) (string, bool) {
	for _, t := range []string{"Hot", "Cool", "Cold", "Archive"} {
		if strings.EqualFold(v, t) {
			return t, true
		}
	}
	return "", false
}

// setTier is Set Blob Tier for block blobs (and their snapshots). Tiers
// are recorded and reported, not acted on: every tier is stored on the
// same disk. Archive makes the content unreadable (BlobArchived) until the
// tier is set back to an online one, which takes effect at once (Azure
// rehydrates over hours). The blob's ETag and Last-Modified do not change.
func (s *Service) setTier(rq *req) error {
	ctx := rq.r.Context()
	tier, ok := canonicalTier(rq.r.Header.Get("x-ms-access-tier"))
	if !ok {
		return errInvalidHeader
	}
	snapshot := rq.q.Get("snapshot")
	status := http.StatusOK
	err := s.tx(ctx, func(tx *sql.Tx) error {
		b, err := getBlob(ctx, tx, rq.acct.Name, rq.container, rq.blob, snapshot)
		if err != nil {
			return err
		}
		if b.Type != "BlockBlob" {
			return errInvalidBlobType
		}
		if err := checkIfTags(rq.r.Header, b); err != nil {
			return err
		}
		if snapshot == "" {
			if err := checkReadLease(b.Lease, rq.r.Header, s.now(), "blob"); err != nil {
				return err
			}
		}
		if b.AccessTier == "Archive" && tier != "Archive" {
			status = http.StatusAccepted // Azure: rehydration accepted
		}
		_, err = tx.ExecContext(ctx, `UPDATE blobs SET access_tier = ? WHERE account = ? AND container = ? AND name = ? AND snapshot = ?`,
			tier, b.Account, b.Container, b.Name, b.Snapshot)
		if err != nil {
			return fmt.Errorf("setting access tier: %w", err)
		}
		return nil
	})
	if err != nil {
		return s.blobOrContainerNotFound(rq, err)
	}
	return rq.ok(status)
}

// blobOrContainerNotFound turns BlobNotFound into ContainerNotFound when the
// container is missing, as Azure reports.
func (s *Service) blobOrContainerNotFound(rq *req, err error) error {
	if !errors.Is(err, errBlobNotFound) {
		return err
	}
	if _, cerr := getContainer(rq.r.Context(), s.rdb(), rq.acct.Name, rq.container); cerr != nil {
		return cerr
	}
	return err
}

// md5Header formats an MD5 for Content-MD5.
func md5Header(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
