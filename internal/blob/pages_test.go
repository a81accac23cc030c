package blob

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/pageblob"
	"github.com/google/go-cmp/cmp"
)

// Page blobs driven by the real Go SDK (azblob/pageblob).

func pageClient(c *azblob.Client, cont, name string) *pageblob.Client {
	return c.ServiceClient().NewContainerClient(cont).NewPageBlobClient(name)
}

func newPageBlob(t *testing.T, c *azblob.Client, cont, name string, size int64) *pageblob.Client {
	t.Helper()
	pb := pageClient(c, cont, name)
	if _, err := pb.Create(context.Background(), size, nil); err != nil {
		t.Fatalf("Create %s: %v", name, err)
	}
	return pb
}

// pageSpan is a listed range in bytes, End inclusive as on the wire.
type pageSpan struct{ Start, End int64 }

// pageRangesOf lists a page blob's ranges through the SDK's pager.
func pageRangesOf(t *testing.T, pb *pageblob.Client, opts *pageblob.GetPageRangesOptions) []pageSpan {
	t.Helper()
	var out []pageSpan
	pager := pb.NewGetPageRangesPager(opts)
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatalf("GetPageRanges: %v", err)
		}
		for _, r := range page.PageRange {
			out = append(out, pageSpan{*r.Start, *r.End})
		}
	}
	return out
}

// pageDiffOf lists the ranges changed (and cleared) since prev.
func pageDiffOf(t *testing.T, pb *pageblob.Client, prev string) (changed, cleared []pageSpan) {
	t.Helper()
	pager := pb.NewGetPageRangesDiffPager(&pageblob.GetPageRangesDiffOptions{PrevSnapshot: &prev})
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatalf("GetPageRangesDiff: %v", err)
		}
		for _, r := range page.PageRange {
			changed = append(changed, pageSpan{*r.Start, *r.End})
		}
		for _, r := range page.ClearRange {
			cleared = append(cleared, pageSpan{*r.Start, *r.End})
		}
	}
	return changed, cleared
}

func uploadPages(t *testing.T, pb *pageblob.Client, off int64, data []byte) pageblob.UploadPagesResponse {
	t.Helper()
	resp, err := pb.UploadPages(context.Background(), streaming.NopCloser(bytes.NewReader(data)),
		blob.HTTPRange{Offset: off, Count: int64(len(data))}, nil)
	if err != nil {
		t.Fatalf("UploadPages at %d: %v", off, err)
	}
	return resp
}

func downloadPages(t *testing.T, pb *pageblob.Client, opts *blob.DownloadStreamOptions) []byte {
	t.Helper()
	resp, err := pb.DownloadStream(context.Background(), opts)
	if err != nil {
		t.Fatalf("DownloadStream: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading download: %v", err)
	}
	return b
}

// pageOp is one write (fill != 0) or clear (fill == 0) of whole pages.
type pageOp struct {
	page, pages int64
	fill        byte
}

// TestGoSDKPageRanges checks how writes and clears shape the listed ranges
// (each write stays its own range; overlaps trim and split) and that the
// content reads back with zeros where nothing is written.
func TestGoSDKPageRanges(t *testing.T) {
	ts := startService(t, Config{})
	c := newClient(t, ts)
	mustCreateContainer(t, c, "pages")
	const pages = 5
	for _, tc := range []struct {
		name string
		ops  []pageOp
		want []pageSpan // in pages, End exclusive
	}{
		{"sequential writes stay separate", []pageOp{{0, 1, 'a'}, {1, 1, 'b'}, {2, 1, 'c'}}, []pageSpan{{0, 1}, {1, 2}, {2, 3}}},
		{"one write is one range", []pageOp{{0, 3, 'a'}}, []pageSpan{{0, 3}}},
		{"write inside splits", []pageOp{{0, 3, 'a'}, {1, 1, 'd'}}, []pageSpan{{0, 1}, {1, 2}, {2, 3}}},
		{"write over the tail", []pageOp{{0, 3, 'a'}, {2, 1, 'd'}}, []pageSpan{{0, 2}, {2, 3}}},
		{"write over the head", []pageOp{{0, 3, 'a'}, {0, 1, 'd'}}, []pageSpan{{0, 1}, {1, 3}}},
		{"write across two ranges", []pageOp{{0, 2, 'a'}, {3, 2, 'b'}, {1, 3, 'd'}}, []pageSpan{{0, 1}, {1, 4}, {4, 5}}},
		{"write covering all", []pageOp{{1, 3, 'a'}, {0, 5, 'd'}}, []pageSpan{{0, 5}}},
		{"clear inside splits", []pageOp{{1, 3, 'a'}, {2, 1, 0}}, []pageSpan{{1, 2}, {3, 4}}},
		{"clear across ranges", []pageOp{{0, 1, 'a'}, {2, 2, 'b'}, {3, 2, 0}}, []pageSpan{{0, 1}, {2, 3}}},
		{"clear everything", []pageOp{{0, 1, 'a'}, {2, 1, 'b'}, {4, 1, 'c'}, {0, 5, 0}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pb := newPageBlob(t, c, "pages", tc.name, pages*pageSize)
			want := make([]byte, pages*pageSize)
			for _, op := range tc.ops {
				off, n := op.page*pageSize, op.pages*pageSize
				if op.fill == 0 {
					if _, err := pb.ClearPages(context.Background(), blob.HTTPRange{Offset: off, Count: n}, nil); err != nil {
						t.Fatal(err)
					}
					clear(want[off : off+n])
					continue
				}
				data := bytes.Repeat([]byte{op.fill}, int(n))
				for i := range data {
					data[i] += byte(i / pageSize) // each page distinct
				}
				uploadPages(t, pb, off, data)
				copy(want[off:], data)
			}
			var wantSpans []pageSpan
			for _, s := range tc.want {
				wantSpans = append(wantSpans, pageSpan{s.Start * pageSize, s.End*pageSize - 1})
			}
			if diff := cmp.Diff(wantSpans, pageRangesOf(t, pb, nil)); diff != "" {
				t.Errorf("page ranges (-want +got):\n%s", diff)
			}
			if got := downloadPages(t, pb, nil); !bytes.Equal(got, want) {
				t.Errorf("content differs from the writes")
			}
			got := downloadPages(t, pb, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: 700, Count: 1000}})
			if !bytes.Equal(got, want[700:1700]) {
				t.Errorf("ranged read differs from the writes")
			}
		})
	}
}

// TestGoSDKPageRangesLargeWrites checks writes larger than the pieces
// they are stored in (pageChunk): one write still lists as one range, and
// writes and clears inside it and across piece boundaries split it.
func TestGoSDKPageRangesLargeWrites(t *testing.T) {
	ts := startService(t, Config{})
	c := newClient(t, ts)
	mustCreateContainer(t, c, "pages")
	const size = 1 << 20
	pb := newPageBlob(t, c, "pages", "p", size)
	want := make([]byte, size)
	big := randomBytes(t, 300<<10)
	uploadPages(t, pb, 512, big)
	copy(want[512:], big)
	if diff := cmp.Diff([]pageSpan{{512, 512 + 300<<10 - 1}}, pageRangesOf(t, pb, nil)); diff != "" {
		t.Errorf("one large write (-want +got):\n%s", diff)
	}
	small := randomBytes(t, 512)
	uploadPages(t, pb, 128<<10, small)
	copy(want[128<<10:], small)
	if _, err := pb.ClearPages(context.Background(), blob.HTTPRange{Offset: 64<<10 - 512, Count: 1024}, nil); err != nil {
		t.Fatal(err)
	}
	clear(want[64<<10-512 : 64<<10+512])
	wantSpans := []pageSpan{
		{512, 64<<10 - 512 - 1},
		{64<<10 + 512, 128<<10 - 1},
		{128 << 10, 128<<10 + 511},
		{128<<10 + 512, 512 + 300<<10 - 1},
	}
	if diff := cmp.Diff(wantSpans, pageRangesOf(t, pb, nil)); diff != "" {
		t.Errorf("ranges after a write and a clear inside a large write (-want +got):\n%s", diff)
	}
	if got := downloadPages(t, pb, nil); !bytes.Equal(got, want) {
		t.Error("content differs from the writes")
	}
	got := downloadPages(t, pb, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: 60 << 10, Count: 100 << 10}})
	if !bytes.Equal(got, want[60<<10:160<<10]) {
		t.Error("ranged read across pieces differs from the writes")
	}
	var longest int64
	if err := ts.svc.reader.QueryRow(`SELECT max(stop - start) FROM pages`).Scan(&longest); err != nil {
		t.Fatal(err)
	}
	if longest > pageChunk {
		t.Errorf("a stored piece holds %d bytes, more than %d", longest, pageChunk)
	}
}

func TestGoSDKPageRangesWindowAndPaging(t *testing.T) {
	ts := startService(t, Config{})
	c := newClient(t, ts)
	mustCreateContainer(t, c, "pages")
	pb := newPageBlob(t, c, "pages", "p", 10*pageSize)
	uploadPages(t, pb, 0, randomBytes(t, 3*pageSize))
	for i := int64(4); i < 10; i++ {
		uploadPages(t, pb, i*pageSize, randomBytes(t, pageSize))
	}
	// A range is widened to whole pages and the ranges are clipped to it.
	got := pageRangesOf(t, pb, &pageblob.GetPageRangesOptions{Range: blob.HTTPRange{Offset: 600, Count: 100}})
	if diff := cmp.Diff([]pageSpan{{512, 1023}}, got); diff != "" {
		t.Errorf("ranges in a window (-want +got):\n%s", diff)
	}
	// MaxResults pages through the ranges with NextMarker.
	var want []pageSpan
	want = append(want, pageSpan{0, 3*pageSize - 1})
	for i := int64(4); i < 10; i++ {
		want = append(want, pageSpan{i * pageSize, (i+1)*pageSize - 1})
	}
	pager := pb.NewGetPageRangesPager(&pageblob.GetPageRangesOptions{MaxResults: to.Ptr(int32(3))})
	var paged []pageSpan
	pages := 0
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page.PageRange) > 3 {
			t.Errorf("page of %d ranges, want at most 3", len(page.PageRange))
		}
		for _, r := range page.PageRange {
			paged = append(paged, pageSpan{*r.Start, *r.End})
		}
	}
	if diff := cmp.Diff(want, paged); diff != "" || pages != 3 {
		t.Errorf("paged ranges in %d pages (-want +got):\n%s", pages, diff)
	}
	resp, err := pb.NewGetPageRangesPager(nil).NextPage(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if *resp.BlobContentLength != 10*pageSize {
		t.Errorf("x-ms-blob-content-length %d", *resp.BlobContentLength)
	}
	_, err = pb.NewGetPageRangesPager(&pageblob.GetPageRangesOptions{Range: blob.HTTPRange{Offset: 10 * pageSize, Count: 512}}).NextPage(context.Background())
	wantCode(t, err, bloberror.InvalidRange, http.StatusRequestedRangeNotSatisfiable)
}

func TestGoSDKPageBlobProperties(t *testing.T) {
	ts := startService(t, Config{})
	c := newClient(t, ts)
	ctx := context.Background()
	mustCreateContainer(t, c, "pages")
	pb := pageClient(c, "pages", "p")
	_, err := pb.Create(ctx, 4*pageSize, &pageblob.CreateOptions{
		SequenceNumber: to.Ptr(int64(5)),
		HTTPHeaders:    &blob.HTTPHeaders{BlobContentType: to.Ptr("application/x-disk"), BlobCacheControl: to.Ptr("no-cache")},
		Metadata:       map[string]*string{"kind": to.Ptr("disk")},
	})
	if err != nil {
		t.Fatal(err)
	}
	props, err := pb.GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *props.BlobType != blob.BlobTypePageBlob || *props.ContentLength != 4*pageSize || *props.BlobSequenceNumber != 5 ||
		*props.ContentType != "application/x-disk" || *props.Metadata["Kind"] != "disk" || props.AccessTier != nil {
		t.Errorf("properties: type %v, length %d, sequence number %d, content type %q, metadata %v, tier %v",
			*props.BlobType, *props.ContentLength, *props.BlobSequenceNumber, *props.ContentType, props.Metadata, props.AccessTier)
	}
	if got := downloadPages(t, pb, nil); !bytes.Equal(got, make([]byte, 4*pageSize)) {
		t.Errorf("a new page blob reads %d bytes, not all zeros", len(got))
	}

	data := randomBytes(t, 3*pageSize)
	uploadPages(t, pb, 0, data)
	// Shrinking drops the pages past the new end; growing adds zeros.
	if _, err := pb.Resize(ctx, 2*pageSize, nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]pageSpan{{0, 2*pageSize - 1}}, pageRangesOf(t, pb, nil)); diff != "" {
		t.Errorf("ranges after shrinking (-want +got):\n%s", diff)
	}
	if _, err := pb.Resize(ctx, 6*pageSize, nil); err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte{}, data[:2*pageSize]...), make([]byte, 4*pageSize)...)
	if got := downloadPages(t, pb, nil); !bytes.Equal(got, want) {
		t.Errorf("content after shrinking and growing differs")
	}
	if props, _ := pb.GetProperties(ctx, nil); *props.ContentType != "application/x-disk" || *props.CacheControl != "no-cache" {
		t.Errorf("resize changed the HTTP properties: %q %q", *props.ContentType, *props.CacheControl)
	}
	_, err = pb.Resize(ctx, 1000, nil)
	wantCode(t, err, bloberror.InvalidHeaderValue, http.StatusBadRequest)

	for _, step := range []struct {
		action pageblob.SequenceNumberActionType
		n      *int64
		want   int64
	}{
		{pageblob.SequenceNumberActionTypeIncrement, nil, 6},
		{pageblob.SequenceNumberActionTypeMax, to.Ptr(int64(3)), 6},
		{pageblob.SequenceNumberActionTypeMax, to.Ptr(int64(9)), 9},
		{pageblob.SequenceNumberActionTypeUpdate, to.Ptr(int64(2)), 2},
	} {
		resp, err := pb.UpdateSequenceNumber(ctx, &pageblob.UpdateSequenceNumberOptions{ActionType: &step.action, SequenceNumber: step.n})
		if err != nil {
			t.Fatalf("%s: %v", step.action, err)
		}
		if *resp.BlobSequenceNumber != step.want {
			t.Errorf("%s: sequence number %d, want %d", step.action, *resp.BlobSequenceNumber, step.want)
		}
	}
	_, err = pb.UpdateSequenceNumber(ctx, &pageblob.UpdateSequenceNumberOptions{ActionType: to.Ptr(pageblob.SequenceNumberActionType("garbage")), SequenceNumber: to.Ptr(int64(1))})
	wantCode(t, err, bloberror.InvalidHeaderValue, http.StatusBadRequest)

	// Listing reports the type and the sequence number.
	pager := c.NewListBlobsFlatPager("pages", nil)
	page, err := pager.NextPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	item := page.Segment.BlobItems[0]
	if *item.Properties.BlobType != blob.BlobTypePageBlob || item.Properties.BlobSequenceNumber == nil ||
		*item.Properties.BlobSequenceNumber != 2 || *item.Properties.ContentLength != 6*pageSize {
		t.Errorf("listed %v, sequence number %v, length %d", *item.Properties.BlobType, item.Properties.BlobSequenceNumber, *item.Properties.ContentLength)
	}

	_, err = pageClient(c, "pages", "bad").Create(ctx, 1000, nil)
	wantCode(t, err, bloberror.InvalidHeaderValue, http.StatusBadRequest)
	_, err = pageClient(c, "pages", "bad").Create(ctx, 512, &pageblob.CreateOptions{SequenceNumber: to.Ptr(int64(-1))})
	wantCode(t, err, bloberror.InvalidHeaderValue, http.StatusBadRequest)
	_, err = pageClient(c, "pages", "bad").Create(ctx, 512, &pageblob.CreateOptions{Tier: to.Ptr(pageblob.PremiumPageBlobAccessTierP10)})
	wantCode(t, err, bloberror.InvalidHeaderValue, http.StatusBadRequest)
	_, err = pageClient(c, "pages", "big").Create(ctx, maxPageBlobSize, nil)
	if err != nil {
		t.Errorf("creating an 8 TiB page blob: %v", err)
	}
	_, err = pageClient(c, "pages", "bad").Create(ctx, maxPageBlobSize+pageSize, nil)
	wantCode(t, err, bloberror.InvalidHeaderValue, http.StatusBadRequest)
}

func TestGoSDKPutPageErrorsAndConditions(t *testing.T) {
	ts := startService(t, Config{})
	c := newClient(t, ts)
	ctx := context.Background()
	mustCreateContainer(t, c, "pages")
	pb := newPageBlob(t, c, "pages", "p", 4*pageSize)
	page := randomBytes(t, pageSize)
	put := func(off int64, data []byte, o *pageblob.UploadPagesOptions) error {
		_, err := pb.UploadPages(ctx, streaming.NopCloser(bytes.NewReader(data)), blob.HTTPRange{Offset: off, Count: int64(len(data))}, o)
		return err
	}
	seq := func(le, lt, eq *int64) *pageblob.UploadPagesOptions {
		return &pageblob.UploadPagesOptions{SequenceNumberAccessConditions: &pageblob.SequenceNumberAccessConditions{
			IfSequenceNumberLessThanOrEqualTo: le, IfSequenceNumberLessThan: lt, IfSequenceNumberEqualTo: eq}}
	}
	if _, err := pb.UpdateSequenceNumber(ctx, &pageblob.UpdateSequenceNumberOptions{
		ActionType: to.Ptr(pageblob.SequenceNumberActionTypeUpdate), SequenceNumber: to.Ptr(int64(10))}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		err    error
		code   bloberror.Code
		status int
	}{
		{"sequence number conditions met", put(0, page, seq(to.Ptr(int64(10)), to.Ptr(int64(11)), to.Ptr(int64(10)))), "", 0},
		{"if-sequence-number-lt not met", put(0, page, seq(nil, to.Ptr(int64(10)), nil)), bloberror.SequenceNumberConditionNotMet, 412},
		{"if-sequence-number-le not met", put(0, page, seq(to.Ptr(int64(9)), nil, nil)), bloberror.SequenceNumberConditionNotMet, 412},
		{"if-sequence-number-eq not met", put(0, page, seq(nil, nil, to.Ptr(int64(11)))), bloberror.SequenceNumberConditionNotMet, 412},
		{"negative sequence number condition", put(0, page, seq(to.Ptr(int64(-1)), nil, nil)), bloberror.InvalidInput, 400},
		{"if-match not met", put(0, page, &pageblob.UploadPagesOptions{AccessConditions: &blob.AccessConditions{
			ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: to.Ptr(azcore.ETag(`"0x1"`))}}}), bloberror.ConditionNotMet, 412},
		{"past the end", put(4*pageSize, page, nil), bloberror.InvalidPageRange, 416},
		{"range not page aligned", put(0, page[:500], nil), bloberror.InvalidPageRange, 416},
		{"body larger than 4 MiB", put(0, make([]byte, maxPutPageBytes+pageSize), nil), bloberror.RequestBodyTooLarge, 413},
		{"wrong MD5", put(0, page, &pageblob.UploadPagesOptions{TransactionalValidation: blob.TransferValidationTypeMD5(md5Of("other"))}),
			bloberror.MD5Mismatch, 400},
		{"missing blob", func() error {
			_, err := pageClient(c, "pages", "nope").UploadPages(ctx, streaming.NopCloser(bytes.NewReader(page)), blob.HTTPRange{Count: pageSize}, nil)
			return err
		}(), bloberror.BlobNotFound, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.code == "" {
				if tc.err != nil {
					t.Fatal(tc.err)
				}
				return
			}
			wantCode(t, tc.err, tc.code, tc.status)
		})
	}

	// Put Page returns the CRC64 it computed, and Content-MD5 only when
	// one was sent.
	resp := uploadPages(t, pb, pageSize, page)
	if !bytes.Equal(resp.ContentCRC64, crc64Of(string(page))) || resp.ContentMD5 != nil || *resp.BlobSequenceNumber != 10 {
		t.Errorf("Put Page answered CRC64 %x, MD5 %x, sequence number %d", resp.ContentCRC64, resp.ContentMD5, *resp.BlobSequenceNumber)
	}
	resp, err := pb.UploadPages(ctx, streaming.NopCloser(bytes.NewReader(page)), blob.HTTPRange{Offset: pageSize, Count: pageSize},
		&pageblob.UploadPagesOptions{TransactionalValidation: blob.TransferValidationTypeMD5(md5Of(string(page)))})
	if err != nil || !bytes.Equal(resp.ContentMD5, md5Of(string(page))) {
		t.Errorf("Put Page with Content-MD5: %v, MD5 %x", err, resp.ContentMD5)
	}

	// A leased page blob takes writes only with the lease.
	lc, err := lease.NewBlobClient(pb, &lease.BlobClientOptions{LeaseID: to.Ptr("c0ffee00-0000-0000-0000-000000000000")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.AcquireLease(ctx, -1, nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, put(0, page, nil), bloberror.LeaseIDMissing, 412)
	_, err = pb.ClearPages(ctx, blob.HTTPRange{Count: pageSize}, nil)
	wantCode(t, err, bloberror.LeaseIDMissing, 412)
	_, err = pb.Resize(ctx, pageSize, nil)
	wantCode(t, err, bloberror.LeaseIDMissing, 412)
	withLease := &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: lc.LeaseID()}}
	if err := put(0, page, &pageblob.UploadPagesOptions{AccessConditions: withLease}); err != nil {
		t.Errorf("Put Page with the lease: %v", err)
	}
	if _, err := pb.ClearPages(ctx, blob.HTTPRange{Count: pageSize}, &pageblob.ClearPagesOptions{AccessConditions: withLease}); err != nil {
		t.Errorf("clearing with the lease: %v", err)
	}
	if _, err := lc.ReleaseLease(ctx, nil); err != nil {
		t.Fatal(err)
	}

	// Page operations on other blob types, and appends to a page blob.
	if _, err := c.UploadBuffer(ctx, "pages", "block", []byte("block"), nil); err != nil {
		t.Fatal(err)
	}
	_, err = pageClient(c, "pages", "block").UploadPages(ctx, streaming.NopCloser(bytes.NewReader(page)), blob.HTTPRange{Count: pageSize}, nil)
	wantCode(t, err, bloberror.InvalidBlobType, 409)
	_, err = pageClient(c, "pages", "block").NewGetPageRangesPager(nil).NextPage(ctx)
	wantCode(t, err, bloberror.InvalidBlobType, 409)
	_, err = c.ServiceClient().NewContainerClient("pages").NewAppendBlobClient("p").AppendBlock(ctx, body("x"), nil)
	wantCode(t, err, bloberror.InvalidBlobType, 409)
}

// TestGoSDKPageBlobSnapshotsCopiesAndDiffs checks that a snapshot keeps
// its pages while the blob changes, that diffs against it report written
// and cleared pages, that copies get the same pages, and that deleting
// blobs and containers removes their pages.
func TestGoSDKPageBlobSnapshotsCopiesAndDiffs(t *testing.T) {
	ts := startService(t, Config{})
	c := newClient(t, ts)
	ctx := context.Background()
	mustCreateContainer(t, c, "pages")
	pb := newPageBlob(t, c, "pages", "disk", 8*pageSize)
	before := make([]byte, 8*pageSize)
	w := func(model []byte, page int64, data []byte) {
		uploadPages(t, pb, page*pageSize, data)
		copy(model[page*pageSize:], data)
	}
	w(before, 0, randomBytes(t, 2*pageSize))
	w(before, 4, randomBytes(t, pageSize))
	snap, err := pb.CreateSnapshot(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	after := bytes.Clone(before)
	w(after, 1, randomBytes(t, pageSize))
	if _, err := pb.ClearPages(ctx, blob.HTTPRange{Offset: 4 * pageSize, Count: pageSize}, nil); err != nil {
		t.Fatal(err)
	}
	clear(after[4*pageSize : 5*pageSize])
	w(after, 6, randomBytes(t, pageSize))

	sc, err := pb.WithSnapshot(*snap.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	if got := downloadPages(t, sc, nil); !bytes.Equal(got, before) {
		t.Error("the snapshot's content changed with the blob")
	}
	if diff := cmp.Diff([]pageSpan{{0, 1023}, {2048, 2559}}, pageRangesOf(t, sc, nil)); diff != "" {
		t.Errorf("snapshot ranges (-want +got):\n%s", diff)
	}
	changed, cleared := pageDiffOf(t, pb, *snap.Snapshot)
	if diff := cmp.Diff([]pageSpan{{512, 1023}, {3072, 3583}}, changed); diff != "" {
		t.Errorf("pages changed since the snapshot (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]pageSpan{{2048, 2559}}, cleared); diff != "" {
		t.Errorf("pages cleared since the snapshot (-want +got):\n%s", diff)
	}
	_, err = pb.NewGetPageRangesDiffPager(&pageblob.GetPageRangesDiffOptions{PrevSnapshot: to.Ptr("2001-01-01T00:00:00.0000000Z")}).NextPage(ctx)
	wantCode(t, err, bloberror.PreviousSnapshotNotFound, 409)

	for _, tc := range []struct {
		name string
		src  *pageblob.Client
		want []byte
	}{
		{"copy", pb, after},
		{"copy-of-snapshot", sc, before},
	} {
		dst := pageClient(c, "pages", tc.name)
		if _, err := dst.StartCopyFromURL(ctx, tc.src.URL(), nil); err != nil {
			t.Fatalf("copying to %s: %v", tc.name, err)
		}
		props, err := dst.GetProperties(ctx, nil)
		if err != nil || *props.BlobType != blob.BlobTypePageBlob {
			t.Fatalf("%s: %v %v", tc.name, err, props.BlobType)
		}
		if got := downloadPages(t, dst, nil); !bytes.Equal(got, tc.want) {
			t.Errorf("%s: content differs from its source", tc.name)
		}
		if diff := cmp.Diff(pageRangesOf(t, tc.src, nil), pageRangesOf(t, dst, nil)); diff != "" {
			t.Errorf("%s: ranges differ from the source's (-source +copy):\n%s", tc.name, diff)
		}
	}

	// Replacing a page blob with a block blob drops its pages.
	if _, err := c.UploadBuffer(ctx, "pages", "copy", []byte("now a block blob"), nil); err != nil {
		t.Fatal(err)
	}
	countPages := func(blobName string) int {
		var n int
		if err := ts.svc.reader.QueryRow(`SELECT count(*) FROM pages WHERE container = 'pages' AND (? = '' OR blob = ?)`, blobName, blobName).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := countPages("copy"); n != 0 {
		t.Errorf("%d page rows left after the page blob was replaced", n)
	}
	if _, err := pb.Delete(ctx, &blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeInclude)}); err != nil {
		t.Fatal(err)
	}
	if n := countPages("disk"); n != 0 {
		t.Errorf("%d page rows left after the blob and its snapshot were deleted", n)
	}
	if n := countPages(""); n == 0 {
		t.Fatal("the copy of the snapshot has no page rows")
	}
	if _, err := c.DeleteContainer(ctx, "pages", nil); err != nil {
		t.Fatal(err)
	}
	if n := countPages(""); n != 0 {
		t.Errorf("%d page rows left after the container was deleted", n)
	}
}

// TestPageBlobConcurrentWrites writes distinct pages of one blob from many
// goroutines at once (their transactions share group commits) and checks
// every write is there.
func TestPageBlobConcurrentWrites(t *testing.T) {
	ts := startService(t, Config{})
	c := newClient(t, ts)
	mustCreateContainer(t, c, "pages")
	const workers, each = 8, 16
	pb := newPageBlob(t, c, "pages", "p", workers*each*pageSize)
	want := make([]byte, workers*each*pageSize)
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := range each {
				page := int64(i*workers + w)
				data := bytes.Repeat([]byte{byte(page + 1)}, pageSize)
				copy(want[page*pageSize:], data) // disjoint slices
				if _, err := pb.UploadPages(context.Background(), streaming.NopCloser(bytes.NewReader(data)),
					blob.HTTPRange{Offset: page * pageSize, Count: pageSize}, nil); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := downloadPages(t, pb, nil); !bytes.Equal(got, want) {
		t.Error("content differs from the concurrent writes")
	}
	if n := len(pageRangesOf(t, pb, nil)); n != workers*each {
		t.Errorf("%d ranges, want %d", n, workers*each)
	}
}

// TestPageBlobDownloadFailsWhenWrittenDuring checks that a download of a
// page blob that is written meanwhile fails rather than mix the versions.
func TestPageBlobDownloadFailsWhenWrittenDuring(t *testing.T) {
	ts := startService(t, Config{})
	c := newClient(t, ts)
	ctx := context.Background()
	mustCreateContainer(t, c, "pages")
	const size = 64 << 20 // far more than socket buffers hold
	pb := newPageBlob(t, c, "pages", "p", size)
	resp, err := pb.DownloadStream(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadFull(resp.Body, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	uploadPages(t, pb, size-pageSize, bytes.Repeat([]byte{'x'}, pageSize))
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil {
		t.Fatalf("download of a blob written during it completed (%d more bytes)", n)
	}
}

func TestPageDiffRanges(t *testing.T) {
	r := func(start, stop, gen int64) pageRow { return pageRow{start * pageSize, stop * pageSize, gen} }
	type item struct {
		Kind       string
		Start, End int64 // pages, End exclusive
	}
	for _, tc := range []struct {
		name     string
		cur, old []pageRow
		want     []item
	}{
		{"unchanged", []pageRow{r(0, 2, 1)}, []pageRow{r(0, 2, 1)}, nil},
		{"new write", []pageRow{r(0, 2, 1), r(3, 4, 2)}, []pageRow{r(0, 2, 1)}, []item{{"PageRange", 3, 4}}},
		{"rewrite across old writes is one range", []pageRow{r(0, 4, 3)}, []pageRow{r(0, 1, 1), r(1, 3, 2)}, []item{{"PageRange", 0, 4}}},
		{"split old write", []pageRow{r(0, 1, 1), r(1, 2, 2), r(2, 3, 1)}, []pageRow{r(0, 3, 1)}, []item{{"PageRange", 1, 2}}},
		{"cleared", []pageRow{r(0, 1, 1)}, []pageRow{r(0, 3, 1)}, []item{{"ClearRange", 1, 3}}},
		{"cleared and written", []pageRow{r(2, 3, 4)}, []pageRow{r(0, 3, 1)}, []item{{"ClearRange", 0, 2}, {"PageRange", 2, 3}}},
		{"adjacent writes stay apart", []pageRow{r(0, 1, 5), r(1, 2, 6)}, nil, []item{{"PageRange", 0, 1}, {"PageRange", 1, 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []item
			for _, x := range diffRanges(tc.cur, tc.old, 0, 8*pageSize) {
				got = append(got, item{x.XMLName.Local, x.Start / pageSize, (x.End + 1) / pageSize})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("diff (-want +got):\n%s", diff)
			}
		})
	}
}
