package blob

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Listing pages through SQL (keyset paging on the primary key), so memory
// stays bounded by maxresults whatever the number of containers or blobs.

const defaultMaxResults = 5000

func maxResults(q string) (int, error) {
	if q == "" {
		return defaultMaxResults, nil
	}
	n, err := strconv.Atoi(q)
	if err != nil || n < 1 {
		return 0, newError(400, "OutOfRangeQueryParameterValue", "One of the query parameters specified in the request URI is outside the permissible range.")
	}
	if n > defaultMaxResults {
		n = defaultMaxResults
	}
	return n, nil
}

// Listing markers follow Azurite: NextMarker is the name of the last
// item returned (a blob or a BlobPrefix), and the next page starts after
// it. Only when a page ends inside one blob's snapshots does the marker
// need the snapshot too; it is then snapMarkerPrefix + base64(name NUL
// snapshot).
const snapMarkerPrefix = "!snap!"

// blobMarker is the NextMarker for a page whose last item is (name,
// snapshot).
func blobMarker(name, snapshot string) string {
	if snapshot == "" {
		return name
	}
	return snapMarkerPrefix + base64.RawURLEncoding.EncodeToString([]byte(name+"\x00"+snapshot))
}

// resumeAfter returns the key (name, snapshot) from which a listing
// continues after marker m: just past the named blob or, when the name lies
// under a BlobPrefix of this listing (it holds the delimiter after the
// prefix), past everything under that prefix.
func resumeAfter(m, prefix, delim string) (name, snapshot string) {
	if m == "" {
		return "", ""
	}
	if enc, ok := strings.CutPrefix(m, snapMarkerPrefix); ok {
		if b, err := base64.RawURLEncoding.DecodeString(enc); err == nil {
			if n, snap, ok := strings.Cut(string(b), "\x00"); ok {
				return n, snap + "\x00"
			}
		}
	}
	if delim != "" && strings.HasPrefix(m, prefix) {
		if i := strings.Index(m[len(prefix):], delim); i >= 0 {
			if next, ok := prefixUpperBound(m[:len(prefix)+i+len(delim)]); ok {
				return next, ""
			}
		}
	}
	// Past the base blob m, which follows its snapshots.
	return m, baseSortKey + "\x00"
}

// baseSortKey is where a base blob sorts among its snapshots: after them,
// as Azure lists a blob's snapshots, oldest first, then the blob
// (https://learn.microsoft.com/rest/api/storageservices/enumerating-blob-resources).
// Snapshot times start with a digit, which sorts before '~'.
const baseSortKey = "~"

// sortKey is the listing order of a row within its name.
func sortKey(snapshot string) string {
	if snapshot == "" {
		return baseSortKey
	}
	return snapshot
}

// sqlSortKey is sortKey in SQL.
const sqlSortKey = `(CASE WHEN snapshot = '' THEN '` + baseSortKey + `' ELSE snapshot END)`

// prefixUpperBound returns the smallest string greater than every string
// that starts with p, and false if there is none.
func prefixUpperBound(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

type metadataXML map[string]string

func (m metadataXML) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	for _, k := range metadata(m).keys() {
		if err := e.EncodeElement(m[k], xml.StartElement{Name: xml.Name{Local: k}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

type containerListXML struct {
	XMLName         xml.Name `xml:"EnumerationResults"`
	ServiceEndpoint string   `xml:"ServiceEndpoint,attr"`
	Prefix          string   `xml:"Prefix,omitempty"`
	Marker          string   `xml:"Marker,omitempty"`
	MaxResults      int      `xml:"MaxResults,omitempty"`
	Containers      struct {
		List []containerXML `xml:"Container"`
	} `xml:"Containers"`
	NextMarker string `xml:"NextMarker"`
}

type containerXML struct {
	Name       string `xml:"Name"`
	Properties struct {
		LastModified string `xml:"Last-Modified"`
		ETag         string `xml:"Etag"`
		LeaseStatus  string `xml:"LeaseStatus"`
		LeaseState   string `xml:"LeaseState"`
		LeaseDur     string `xml:"LeaseDuration,omitempty"`
		PublicAccess string `xml:"PublicAccess,omitempty"`
		Immutability bool   `xml:"HasImmutabilityPolicy"`
		LegalHold    bool   `xml:"HasLegalHold"`
	} `xml:"Properties"`
	Metadata *metadataXML `xml:"Metadata,omitempty"`
}

func leaseDuration(l leaseInfo) string {
	if l.State != "leased" {
		return ""
	}
	if l.Duration < 0 {
		return "infinite"
	}
	return "fixed"
}

func (s *Service) listContainers(rq *req) error {
	ctx := rq.r.Context()
	prefix, marker := rq.q.Get("prefix"), rq.q.Get("marker")
	max, err := maxResults(rq.q.Get("maxresults"))
	if err != nil {
		return err
	}
	// As for blobs, the marker is the last container name returned and
	// the page starts after it.
	from, op := marker, ">"
	if prefix > from {
		from, op = prefix, ">="
	}
	withMeta := includes(rq.q.Get("include"), "metadata")
	args := []any{rq.acct.Name, from}
	q := `SELECT ` + containerCols + ` FROM containers WHERE account = ? AND deleting = 0 AND name ` + op + ` ?`
	if ub, ok := prefixUpperBound(prefix); ok && prefix != "" {
		q += ` AND name < ?`
		args = append(args, ub)
	}
	q += ` ORDER BY name LIMIT ?`
	args = append(args, max+1)
	rows, err := s.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("listing containers: %w", err)
	}
	defer rows.Close()
	out := containerListXML{ServiceEndpoint: rq.endpoint, Prefix: prefix, Marker: marker}
	if rq.q.Get("maxresults") != "" {
		out.MaxResults = max
	}
	now := s.now()
	for rows.Next() {
		c, err := scanContainer(rows)
		if err != nil {
			return fmt.Errorf("listing containers: %w", err)
		}
		if n := len(out.Containers.List); n == max {
			out.NextMarker = out.Containers.List[n-1].Name
			break
		}
		var x containerXML
		x.Name = c.Name
		x.Properties.LastModified = c.LastModified.Format(http.TimeFormat)
		x.Properties.ETag = c.ETag
		l := c.Lease.effective(now)
		x.Properties.LeaseState, x.Properties.LeaseStatus = l.stateAndStatus()
		x.Properties.LeaseDur = leaseDuration(l)
		x.Properties.PublicAccess = c.PublicAccess
		if withMeta {
			m := metadataXML(c.Metadata)
			x.Metadata = &m
		}
		out.Containers.List = append(out.Containers.List, x)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("listing containers: %w", err)
	}
	return rq.writeXML(http.StatusOK, out)
}

func includes(list, item string) bool {
	for _, v := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(v), item) {
			return true
		}
	}
	return false
}

type blobListXML struct {
	XMLName         xml.Name `xml:"EnumerationResults"`
	ServiceEndpoint string   `xml:"ServiceEndpoint,attr"`
	ContainerName   string   `xml:"ContainerName,attr"`
	Prefix          string   `xml:"Prefix,omitempty"`
	Marker          string   `xml:"Marker,omitempty"`
	MaxResults      int      `xml:"MaxResults,omitempty"`
	Delimiter       string   `xml:"Delimiter,omitempty"`
	Blobs           struct {
		Items []any
	} `xml:"Blobs"`
	NextMarker string `xml:"NextMarker"`
}

type blobPrefixXML struct {
	XMLName xml.Name `xml:"BlobPrefix"`
	Name    string   `xml:"Name"`
}

type blobXMLItem struct {
	XMLName    xml.Name `xml:"Blob"`
	Name       string   `xml:"Name"`
	Snapshot   string   `xml:"Snapshot,omitempty"`
	Deleted    bool     `xml:"Deleted,omitempty"`
	Properties struct {
		Created            string `xml:"Creation-Time"`
		LastModified       string `xml:"Last-Modified"`
		ETag               string `xml:"Etag"`
		ContentLength      int64  `xml:"Content-Length"`
		ContentType        string `xml:"Content-Type"`
		ContentEncoding    string `xml:"Content-Encoding"`
		ContentLanguage    string `xml:"Content-Language"`
		ContentMD5         string `xml:"Content-MD5"`
		ContentDisposition string `xml:"Content-Disposition"`
		CacheControl       string `xml:"Cache-Control"`
		BlobType           string `xml:"BlobType"`
		AccessTier         string `xml:"AccessTier,omitempty"`
		AccessTierInferred string `xml:"AccessTierInferred,omitempty"`
		LeaseStatus        string `xml:"LeaseStatus"`
		LeaseState         string `xml:"LeaseState"`
		LeaseDuration      string `xml:"LeaseDuration,omitempty"`
		CopyID             string `xml:"CopyId,omitempty"`
		CopyStatus         string `xml:"CopyStatus,omitempty"`
		CopySource         string `xml:"CopySource,omitempty"`
		ServerEncrypted    bool   `xml:"ServerEncrypted"`
		Sealed             string `xml:"Sealed,omitempty"`
		SequenceNumber     *int64 `xml:"x-ms-blob-sequence-number,omitempty"`
		TagCount           int    `xml:"TagCount,omitempty"`
		DeletedTime        string `xml:"DeletedTime,omitempty"`
		RemainingDays      *int   `xml:"RemainingRetentionDays,omitempty"`
	} `xml:"Properties"`
	Metadata *metadataXML `xml:"Metadata,omitempty"`
	Tags     *tagsXML     `xml:"Tags,omitempty"`
}

func (s *Service) listBlobs(rq *req) error {
	ctx := rq.r.Context()
	if _, err := getContainer(ctx, s.rdb(), rq.acct.Name, rq.container); err != nil {
		return err
	}
	prefix, delim, marker := rq.q.Get("prefix"), rq.q.Get("delimiter"), rq.q.Get("marker")
	max, err := maxResults(rq.q.Get("maxresults"))
	if err != nil {
		return err
	}
	inc := rq.q.Get("include")
	withMeta, withSnaps, withUncommitted := includes(inc, "metadata"), includes(inc, "snapshots"), includes(inc, "uncommittedblobs")
	withTags, withDeleted := includes(inc, "tags"), includes(inc, "deleted")
	// Blobs with staged blocks only are the writer's until committed
	// (see getBlockList), not the public's.
	withUncommitted = withUncommitted && !rq.anonymous
	// Nor are a blob's index tags (Get Blob Tags is refused to
	// anonymous callers): public read access lists blobs without them.
	withTags = withTags && !rq.anonymous
	fromName, fromSnap := resumeAfter(marker, prefix, delim)
	if prefix > fromName {
		fromName, fromSnap = prefix, ""
	}
	upper, hasUpper := prefixUpperBound(prefix)
	hasUpper = hasUpper && prefix != ""
	out := blobListXML{ServiceEndpoint: rq.endpoint, ContainerName: rq.container, Prefix: prefix, Marker: marker, Delimiter: delim}
	if rq.q.Get("maxresults") != "" {
		out.MaxResults = max
	}
	now := s.now()
	// Soft-deleted blobs whose retention has ended are never listed, swept
	// or not (softdelete.go).
	deletedFrom := int64(-1)
	if withDeleted {
		deletedFrom = now.UnixNano()
	}
	count := 0
	var lastName, lastSnap string // the last item returned
	// Rows are read a batch at a time. A delimiter listing often uses only
	// the first row of a query (the start of a virtual directory, which it
	// then skips), so its batches start small and grow while rows are used.
	const batch, firstDelimBatch = 500, 16
	n := batch
	if delim != "" {
		n = firstDelimBatch
	}
	for count <= max {
		items, err := s.blobPage(ctx, rq.acct.Name, rq.container, fromName, fromSnap, upper, hasUpper, withSnaps, deletedFrom, n)
		if err != nil {
			return err
		}
		if withUncommitted {
			items, err = s.mergeUncommitted(ctx, rq.acct.Name, rq.container, fromName, fromSnap, upper, hasUpper, n, items)
			if err != nil {
				return err
			}
		}
		if len(items) == 0 {
			break
		}
		restart := false
		for _, b := range items {
			if count == max {
				out.NextMarker = blobMarker(lastName, lastSnap)
				return rq.writeXML(http.StatusOK, out)
			}
			if delim != "" {
				if i := strings.Index(b.Name[len(prefix):], delim); i >= 0 {
					p := b.Name[:len(prefix)+i+len(delim)]
					out.Blobs.Items = append(out.Blobs.Items, blobPrefixXML{Name: p})
					count++
					lastName, lastSnap = p, ""
					next, ok := prefixUpperBound(p)
					if !ok {
						return rq.writeXML(http.StatusOK, out)
					}
					fromName, fromSnap = next, ""
					restart = true
					break
				}
			}
			item := blobItem(b, now, withMeta)
			if withTags && len(b.Tags) > 0 {
				item.Tags = b.Tags.xml(nil)
			}
			out.Blobs.Items = append(out.Blobs.Items, item)
			count++
			lastName, lastSnap = b.Name, b.Snapshot
			fromName, fromSnap = b.Name, sortKey(b.Snapshot)+"\x00"
		}
		switch {
		case restart:
			n = firstDelimBatch
		case len(items) < n:
			return rq.writeXML(http.StatusOK, out)
		default:
			n = min(2*n, batch)
		}
	}
	return rq.writeXML(http.StatusOK, out)
}

// blobPage returns up to n blobs with key (name, sortKey(snapshot)) >=
// (fromName, fromSnap), in key order: a blob's snapshots, oldest first,
// then the blob. Soft-deleted rows are included when their retention ends
// after deletedFrom (unix ns; -1 leaves them out).
func (s *Service) blobPage(ctx context.Context, account, container, fromName, fromSnap, upper string, hasUpper, withSnaps bool, deletedFrom int64, n int) ([]*blobRow, error) {
	q := `SELECT ` + blobCols + `, deleted_time, delete_expiry FROM blobs WHERE account = ? AND container = ? AND (name > ? OR (name = ? AND ` + sqlSortKey + ` >= ?))`
	args := []any{account, container, fromName, fromName, fromSnap}
	if deletedFrom < 0 {
		q += ` AND deleted_time = 0`
	} else {
		q += ` AND (deleted_time = 0 OR delete_expiry > ?)`
		args = append(args, deletedFrom)
	}
	if hasUpper {
		q += ` AND name < ?`
		args = append(args, upper)
	}
	if !withSnaps {
		q += ` AND snapshot = ''`
	}
	q += ` ORDER BY name, ` + sqlSortKey + ` LIMIT ?`
	args = append(args, n)
	return scanRows(ctx, s.reader, "listing blobs", q, args, func(sc scanner) (*blobRow, error) {
		var deleted, expiry int64
		b, err := scanBlobData(sc, false, &deleted, &expiry)
		if err == nil && deleted > 0 {
			b.DeletedTime, b.DeleteExpiry = time.Unix(0, deleted).UTC(), time.Unix(0, expiry).UTC()
		}
		return b, err
	})
}

// mergeUncommitted adds blobs that exist only as staged blocks
// (include=uncommittedblobs), keeping key order and at most n items.
func (s *Service) mergeUncommitted(ctx context.Context, account, container, fromName, fromSnap, upper string, hasUpper bool, n int, items []*blobRow) ([]*blobRow, error) {
	q := `SELECT blob, sum(size) FROM blocks WHERE account = ? AND container = ? AND blob >= ?`
	args := []any{account, container, fromName}
	if hasUpper {
		q += ` AND blob < ?`
		args = append(args, upper)
	}
	q += ` AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.account = blocks.account AND b.container = blocks.container AND b.name = blocks.blob AND b.snapshot = '')
		GROUP BY blob ORDER BY blob LIMIT ?`
	args = append(args, n)
	rows, err := s.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing uncommitted blobs: %w", err)
	}
	defer rows.Close()
	var extra []*blobRow
	for rows.Next() {
		var name string
		var size int64
		if err := rows.Scan(&name, &size); err != nil {
			return nil, fmt.Errorf("listing uncommitted blobs: %w", err)
		}
		if name == fromName && fromSnap > baseSortKey {
			continue // listed already (it sorts as a base blob)
		}
		extra = append(extra, &blobRow{Name: name, Type: "BlockBlob", Size: 0, ContentType: "", Metadata: metadata{}})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing uncommitted blobs: %w", err)
	}
	if len(extra) == 0 {
		return items, nil
	}
	merged := make([]*blobRow, 0, len(items)+len(extra))
	i, j := 0, 0
	for i < len(items) || j < len(extra) {
		if j == len(extra) || (i < len(items) && items[i].Name <= extra[j].Name) {
			merged = append(merged, items[i])
			i++
		} else {
			merged = append(merged, extra[j])
			j++
		}
	}
	if len(merged) > n {
		merged = merged[:n]
	}
	return merged, nil
}

func blobItem(b *blobRow, now time.Time, withMeta bool) blobXMLItem {
	var x blobXMLItem
	x.Name = b.Name
	x.Snapshot = b.Snapshot
	p := &x.Properties
	if b.ETag != "" { // uncommitted-only blobs have no properties yet
		p.Created = b.Created.Format(http.TimeFormat)
		p.LastModified = b.LastModified.Format(http.TimeFormat)
	}
	p.ETag = strings.Trim(b.ETag, `"`) // List Blobs gives the ETag unquoted, as Azure
	p.ContentLength = b.Size
	p.ContentType, p.ContentEncoding, p.ContentLanguage = b.ContentType, b.ContentEncoding, b.ContentLanguage
	p.ContentDisposition, p.CacheControl = b.ContentDisposition, b.CacheControl
	if b.ContentMD5 != nil {
		p.ContentMD5 = md5Header(b.ContentMD5)
	}
	p.BlobType = b.Type
	switch b.Type {
	case "AppendBlob":
		p.Sealed = strconv.FormatBool(b.Sealed)
	case "PageBlob":
		p.SequenceNumber = &b.SequenceNumber
	case "BlockBlob":
		p.AccessTier, p.AccessTierInferred = "Hot", "true"
		if b.AccessTier != "" {
			p.AccessTier, p.AccessTierInferred = b.AccessTier, ""
		}
	}
	l := b.Lease.effective(now)
	if b.Snapshot != "" {
		l = leaseInfo{}
	}
	p.LeaseState, p.LeaseStatus = l.stateAndStatus()
	p.LeaseDuration = leaseDuration(l)
	if b.Copy.ID != "" {
		p.CopyID, p.CopyStatus, p.CopySource = b.Copy.ID, "success", b.Copy.Source
	}
	p.ServerEncrypted = true
	p.TagCount = len(b.Tags)
	if !b.DeletedTime.IsZero() {
		days := remainingDays(b.DeleteExpiry, now)
		x.Deleted, p.DeletedTime, p.RemainingDays = true, b.DeletedTime.Format(http.TimeFormat), &days
		p.LeaseState, p.LeaseStatus, p.LeaseDuration = "available", "unlocked", ""
	}
	if withMeta {
		m := metadataXML(b.Metadata)
		x.Metadata = &m
	}
	return x
}
