package blob

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"hash/crc64"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/appendblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/google/go-cmp/cmp"
)

// Regression tests for behaviours Azurite's own blob suite (run live
// against Slipway) checks, each named after the Azurite case it covers.
// They use the real Go SDK; raw headers the SDK does not send on its own
// are added by a per-call policy, so they are signed like any other.

// headerPolicy sets fixed headers on every request.
type headerPolicy map[string]string

func (p headerPolicy) Do(req *policy.Request) (*http.Response, error) {
	for k, v := range p {
		// Stored under the key as written: the SDK's SharedKey signer
		// looks up "Content-MD5" verbatim, not canonicalised.
		req.Raw().Header[k] = []string{v}
	}
	return req.Next()
}

// clientWithHeaders is a client that adds headers to every request.
func clientWithHeaders(t *testing.T, ts *testServer, h map[string]string) *azblob.Client {
	t.Helper()
	c, err := azblob.NewClientFromConnectionString(ts.conn, &azblob.ClientOptions{
		ClientOptions: azcore.ClientOptions{PerCallPolicies: []policy.Policy{headerPolicy(h)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func md5Of(s string) []byte { m := md5.Sum([]byte(s)); return m[:] }

func crc64Of(s string) []byte {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], crc64.Checksum([]byte(s), crc64Table))
	return b[:]
}

func body(s string) io.ReadSeekCloser { return streaming.NopCloser(strings.NewReader(s)) }

func mustCreateContainer(t *testing.T, c *azblob.Client, name string) {
	t.Helper()
	if _, err := c.CreateContainer(context.Background(), name, nil); err != nil {
		t.Fatal(err)
	}
}

func TestAzuriteChecksumHeaders(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "sums")
	cc := c.ServiceClient().NewContainerClient("sums")
	const text = "HelloWorld"

	t.Run("PutBlob with both md5 and crc64 is BothCrc64AndMd5HeaderPresent", func(t *testing.T) {
		hc := clientWithHeaders(t, ts, map[string]string{"Content-MD5": b64(md5Of(text)), "x-ms-content-crc64": b64(crc64Of(text))})
		_, err := hc.UploadBuffer(ctx, "sums", "both", []byte(text), nil)
		wantCode(t, err, "BothCrc64AndMd5HeaderPresent", 400)
	})
	t.Run("PutBlob with wrong-length x-ms-blob-content-md5 is InvalidMd5", func(t *testing.T) {
		_, err := cc.NewBlockBlobClient("short").Upload(ctx, body(text), &blockblob.UploadOptions{
			HTTPHeaders: &blob.HTTPHeaders{BlobContentMD5: []byte{0, 0, 0, 0}}})
		wantCode(t, err, "InvalidMd5", 400)
	})
	t.Run("stageBlock with wrong-length MD5 is InvalidMd5", func(t *testing.T) {
		_, err := cc.NewBlockBlobClient("stage").StageBlock(ctx, b64([]byte("1")), body(text), &blockblob.StageBlockOptions{
			TransactionalValidation: blob.TransferValidationTypeMD5([]byte{1, 2, 3})})
		wantCode(t, err, "InvalidMd5", 400)
	})
	t.Run("PutBlob x-ms-blob-content-md5 takes precedence over Content-MD5", func(t *testing.T) {
		hc := clientWithHeaders(t, ts, map[string]string{"Content-MD5": b64(md5Of("other")), "x-ms-blob-content-md5": b64(md5Of(text))})
		if _, err := hc.UploadBuffer(ctx, "sums", "prec", []byte(text), nil); err != nil {
			t.Fatalf("wrong Content-MD5, right x-ms-blob-content-md5: %v", err)
		}
		hc = clientWithHeaders(t, ts, map[string]string{"Content-MD5": b64(md5Of(text)), "x-ms-blob-content-md5": b64(md5Of("other"))})
		_, err := hc.UploadBuffer(ctx, "sums", "prec", []byte(text), nil)
		wantCode(t, err, bloberror.MD5Mismatch, 400)
	})
	t.Run("stageBlock and appendBlock echo the computed crc64 unasked", func(t *testing.T) {
		r, err := cc.NewBlockBlobClient("echo").StageBlock(ctx, b64([]byte("1")), body(text), nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(crc64Of(text), r.ContentCRC64); diff != "" {
			t.Errorf("Put Block x-ms-content-crc64 (-want +got):\n%s", diff)
		}
		ab := cc.NewAppendBlobClient("echo-append")
		if _, err := ab.Create(ctx, nil); err != nil {
			t.Fatal(err)
		}
		ar, err := ab.AppendBlock(ctx, body(text), nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(crc64Of(text), ar.ContentCRC64); diff != "" {
			t.Errorf("Append Block x-ms-content-crc64 (-want +got):\n%s", diff)
		}
		// From version 2019-02-02 Azure returns Content-MD5 on Put Block and
		// Append Block only when the request carried it.
		if r.ContentMD5 != nil || ar.ContentMD5 != nil {
			t.Errorf("Content-MD5 returned unasked: Put Block %x, Append Block %x", r.ContentMD5, ar.ContentMD5)
		}
	})
	t.Run("stageBlock and appendBlock with Content-MD5 echo it and no crc64", func(t *testing.T) {
		r, err := cc.NewBlockBlobClient("echo-md5").StageBlock(ctx, b64([]byte("1")), body(text),
			&blockblob.StageBlockOptions{TransactionalValidation: blob.TransferValidationTypeMD5(md5Of(text))})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(md5Of(text), r.ContentMD5); diff != "" || r.ContentCRC64 != nil {
			t.Errorf("Put Block with Content-MD5: Content-MD5 (-want +got):\n%s; x-ms-content-crc64 %x (want none)", diff, r.ContentCRC64)
		}
		ab := cc.NewAppendBlobClient("echo-append-md5")
		if _, err := ab.Create(ctx, nil); err != nil {
			t.Fatal(err)
		}
		ar, err := ab.AppendBlock(ctx, body(text), &appendblob.AppendBlockOptions{TransactionalValidation: blob.TransferValidationTypeMD5(md5Of(text))})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(md5Of(text), ar.ContentMD5); diff != "" || ar.ContentCRC64 != nil {
			t.Errorf("Append Block with Content-MD5: Content-MD5 (-want +got):\n%s; x-ms-content-crc64 %x (want none)", diff, ar.ContentCRC64)
		}
	})
	t.Run("Set append blob HTTP headers stores a content MD5 of any length", func(t *testing.T) {
		bc := cc.NewBlobClient("echo-append")
		want := []byte{1, 2, 3, 4, 5}
		if _, err := bc.SetHTTPHeaders(ctx, blob.HTTPHeaders{BlobContentMD5: want, BlobContentType: to.Ptr("t")}, nil); err != nil {
			t.Fatal(err)
		}
		p, err := bc.GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, p.ContentMD5); diff != "" {
			t.Errorf("ContentMD5 (-want +got):\n%s", diff)
		}
	})
	t.Run("whole-blob download reports x-ms-blob-content-md5", func(t *testing.T) {
		if _, err := c.UploadBuffer(ctx, "sums", "abc", []byte("abc"), nil); err != nil {
			t.Fatal(err)
		}
		r, err := c.DownloadStream(ctx, "sums", "abc", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if diff := cmp.Diff(md5Of("abc"), r.BlobContentMD5); diff != "" {
			t.Errorf("BlobContentMD5 (-want +got):\n%s", diff)
		}
	})
	t.Run("getBlockList_BlockListingFilter: block IDs of another length are InvalidBlobOrBlock", func(t *testing.T) {
		bb := cc.NewBlockBlobClient("idlen")
		if _, err := bb.StageBlock(ctx, b64([]byte("1")), body(text), nil); err != nil {
			t.Fatal(err)
		}
		_, err := bb.StageBlock(ctx, b64([]byte("123")), body(text), nil)
		wantCode(t, err, "InvalidBlobOrBlock", 400)
	})
}

func TestAzuriteLeaseSemantics(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	ts := startService(t, Config{Now: clock.Now})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "leases")
	cc := c.ServiceClient().NewContainerClient("leases")
	for _, kind := range []string{"block", "append"} {
		t.Run(kind+" blob write refreshes an expired lease", func(t *testing.T) {
			bc := cc.NewBlobClient(kind)
			write := func() error {
				if kind == "block" {
					_, err := c.UploadBuffer(ctx, "leases", kind, []byte("a"), nil)
					return err
				}
				_, err := cc.NewAppendBlobClient(kind).AppendBlock(ctx, body("a"), nil)
				return err
			}
			if kind == "append" {
				if _, err := cc.NewAppendBlobClient(kind).Create(ctx, nil); err != nil {
					t.Fatal(err)
				}
			} else if err := write(); err != nil {
				t.Fatal(err)
			}
			// Azurite's suite leases with non-GUID IDs.
			lc, err := lease.NewBlobClient(bc, &lease.BlobClientOptions{LeaseID: to.Ptr("abcdefg")})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := lc.AcquireLease(ctx, 20, nil); err != nil {
				t.Fatalf("acquire with a non-GUID ID: %v", err)
			}
			clock.Advance(21 * time.Second)
			if err := write(); err != nil {
				t.Fatalf("write after expiry: %v", err)
			}
			p, err := bc.GetProperties(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if *p.LeaseState != "available" {
				t.Errorf("lease state after write: %s, want available", *p.LeaseState)
			}
			_, err = lc.RenewLease(ctx, nil)
			wantCode(t, err, bloberror.LeaseIDMismatchWithLeaseOperation, 409)
		})
	}
}

func TestAzuriteIfNoneMatchStar(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "star")
	if _, err := c.UploadBuffer(ctx, "star", "b", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	bc := c.ServiceClient().NewContainerClient("star").NewBlobClient("b")
	star := &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}}
	t.Run("download with ifNoneMatch * is 400 UnsatisfiableCondition", func(t *testing.T) {
		_, err := bc.DownloadStream(ctx, &blob.DownloadStreamOptions{AccessConditions: star})
		wantCode(t, err, "UnsatisfiableCondition", 400)
	})
	t.Run("upload with ifNoneMatch * over an existing blob is BlobAlreadyExists", func(t *testing.T) {
		_, err := c.UploadBuffer(ctx, "star", "b", []byte("y"), &azblob.UploadBufferOptions{AccessConditions: star})
		wantCode(t, err, bloberror.BlobAlreadyExists, 409)
	})
	t.Run("delete with ifNoneMatch * succeeds", func(t *testing.T) {
		if _, err := bc.Delete(ctx, &blob.DeleteOptions{AccessConditions: star}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAzuriteListingMarkersAndETags(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	if _, err := c.CreateContainer(ctx, "list", &container.CreateOptions{Access: to.Ptr(container.PublicAccessTypeContainer)}); err != nil {
		t.Fatal(err)
	}
	names := []string{"blockblob/abc-000", "blockblob/abc-001", "blockblob/abc-002", "blockblob/abc-003", "blockblob/abc-004", "d/x", "d/y", "e"}
	for _, n := range names {
		if _, err := c.UploadBuffer(ctx, "list", n, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	cc := c.ServiceClient().NewContainerClient("list")
	if _, err := cc.NewBlobClient("e").CreateSnapshot(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.NewBlobClient("e").CreateSnapshot(ctx, nil); err != nil {
		t.Fatal(err)
	}

	t.Run("returns a valid, correct continuationToken: NextMarker is the last name returned", func(t *testing.T) {
		p := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{MaxResults: to.Ptr[int32](4)})
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := *page.NextMarker; got != "blockblob/abc-003" {
			t.Errorf("NextMarker %q, want blockblob/abc-003", got)
		}
	})
	// Every page size must list each item exactly once, with and without
	// a delimiter and snapshots (pages may end inside a blob's snapshots),
	// in Azure's order: a blob's snapshots, oldest first, then the blob.
	want := map[bool][]string{
		false: {"blockblob/abc-000", "blockblob/abc-001", "blockblob/abc-002", "blockblob/abc-003", "blockblob/abc-004", "d/x", "d/y", "e@", "e@", "e"},
		true:  {"blockblob/", "d/", "e@", "e@", "e"},
	}
	for _, delim := range []bool{false, true} {
		for size := int32(1); size <= 5; size++ {
			var got []string
			if delim {
				p := cc.NewListBlobsHierarchyPager("/", &container.ListBlobsHierarchyOptions{MaxResults: to.Ptr(size), Include: container.ListBlobsInclude{Snapshots: true}})
				for p.More() {
					page, err := p.NextPage(ctx)
					if err != nil {
						t.Fatal(err)
					}
					for _, bp := range page.Segment.BlobPrefixes {
						got = append(got, *bp.Name)
					}
					for _, b := range page.Segment.BlobItems {
						got = append(got, itemName(b.Name, b.Snapshot))
					}
				}
			} else {
				p := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{MaxResults: to.Ptr(size), Include: container.ListBlobsInclude{Snapshots: true}})
				for p.More() {
					page, err := p.NextPage(ctx)
					if err != nil {
						t.Fatal(err)
					}
					for _, b := range page.Segment.BlobItems {
						got = append(got, itemName(b.Name, b.Snapshot))
					}
				}
			}
			if diff := cmp.Diff(want[delim], got); diff != "" {
				t.Errorf("delimiter %v, page size %d (-want +got):\n%s", delim, size, diff)
			}
		}
	}

	t.Run("listBlobFlatSegment: Etag unquoted, quotes written literally", func(t *testing.T) {
		p, err := cc.NewBlobClient("e").GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(ts.endpoint() + "/list?restype=container&comp=list&prefix=e")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		wantTag := "<Etag>" + strings.Trim(string(*p.ETag), `"`) + "</Etag>"
		if !strings.Contains(string(raw), wantTag) {
			t.Errorf("listing lacks %s:\n%s", wantTag, raw)
		}
		if strings.Contains(string(raw), "&#34;") {
			t.Errorf("listing escapes quotes as &#34;:\n%s", raw)
		}
	})
}

// itemName is name, or name@ for a snapshot.
func itemName(name, snapshot *string) string {
	if snapshot != nil && *snapshot != "" {
		return *name + "@"
	}
	return *name
}

func TestAzuriteCopy(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "copy")
	if _, err := c.UploadBuffer(ctx, "copy", "src", []byte("hello"), nil); err != nil {
		t.Fatal(err)
	}
	cc := c.ServiceClient().NewContainerClient("copy")
	src := cc.NewBlobClient("src")
	dst := cc.NewBlobClient("dst")

	t.Run("Copy blob should fail with 400 when copy source is invalid", func(t *testing.T) {
		_, err := dst.StartCopyFromURL(ctx, "/devstoreaccount1/copy/src", nil)
		wantCode(t, err, bloberror.InvalidHeaderValue, 400)
	})
	t.Run("Start copy without required permission is CannotVerifyCopySource", func(t *testing.T) {
		u, err := src.GetSASURL(sas.BlobPermissions{Write: true}, time.Now().Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = dst.StartCopyFromURL(ctx, u, nil)
		wantCode(t, err, bloberror.CannotVerifyCopySource, 403)
		if !strings.Contains(err.Error(), "This request is not authorized to perform this operation using this permission.") {
			t.Errorf("error does not carry the source's message: %v", err)
		}
	})
	t.Run("Synchronized copy blob echoes source Content-MD5", func(t *testing.T) {
		u, err := src.GetSASURL(sas.BlobPermissions{Read: true}, time.Now().Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := dst.CopyFromURL(ctx, u, &blob.CopyFromURLOptions{SourceContentMD5: md5Of("hello")})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(md5Of("hello"), r.ContentMD5); diff != "" {
			t.Errorf("Content-MD5 (-want +got):\n%s", diff)
		}
	})
	t.Run("Copy append blob snapshot keeps ?snapshot in x-ms-copy-source", func(t *testing.T) {
		ab := cc.NewAppendBlobClient("app")
		if _, err := ab.Create(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := ab.AppendBlock(ctx, body("hello"), nil); err != nil {
			t.Fatal(err)
		}
		snap, err := ab.CreateSnapshot(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ab.AppendBlock(ctx, body("world"), nil); err != nil {
			t.Fatal(err)
		}
		snapClient, err := ab.WithSnapshot(*snap.Snapshot)
		if err != nil {
			t.Fatal(err)
		}
		dst := cc.NewAppendBlobClient("app-copy")
		if _, err := dst.StartCopyFromURL(ctx, snapClient.URL(), nil); err != nil {
			t.Fatal(err)
		}
		p, err := dst.GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if *p.ContentLength != 5 || *p.CopySource != snapClient.URL() {
			t.Errorf("copy of snapshot: length %d, source %q; want 5, %q", *p.ContentLength, *p.CopySource, snapClient.URL())
		}
	})
}

func TestAzuriteAccessTier(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "tiers")
	if _, err := c.UploadBuffer(ctx, "tiers", "b", []byte("hello"), nil); err != nil {
		t.Fatal(err)
	}
	cc := c.ServiceClient().NewContainerClient("tiers")
	bc := cc.NewBlobClient("b")
	tier := func(bc *blob.Client) (string, bool) {
		t.Helper()
		p, err := bc.GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.AccessTierInferred == nil {
			t.Fatal("no x-ms-access-tier-inferred")
		}
		return *p.AccessTier, *p.AccessTierInferred
	}
	listed := func() string {
		t.Helper()
		page, err := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: to.Ptr("b")}).NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(*page.Segment.BlobItems[0].Properties.AccessTier)
	}
	if got, inferred := tier(bc); got != "Hot" || !inferred {
		t.Errorf("new blob: tier %s inferred %v, want Hot inferred", got, inferred)
	}
	for _, want := range []blob.AccessTier{blob.AccessTierCool, blob.AccessTierCold, blob.AccessTierHot} {
		if _, err := bc.SetTier(ctx, want, nil); err != nil {
			t.Fatalf("SetTier %s: %v", want, err)
		}
		if got, inferred := tier(bc); got != string(want) || inferred {
			t.Errorf("after SetTier %s: tier %s inferred %v", want, got, inferred)
		}
		if got := listed(); got != string(want) {
			t.Errorf("listed tier %s, want %s", got, want)
		}
	}
	t.Run("Archive blobs cannot be downloaded or copied without a tier", func(t *testing.T) {
		if _, err := bc.SetTier(ctx, blob.AccessTierArchive, nil); err != nil {
			t.Fatal(err)
		}
		_, err := bc.DownloadStream(ctx, nil)
		wantCode(t, err, bloberror.BlobArchived, 409)
		dst := cc.NewBlobClient("dst")
		_, err = dst.StartCopyFromURL(ctx, bc.URL(), nil)
		wantCode(t, err, bloberror.BlobArchived, 409)
		if _, err := dst.StartCopyFromURL(ctx, bc.URL(), &blob.StartCopyFromURLOptions{Tier: to.Ptr(blob.AccessTierHot)}); err != nil {
			t.Fatalf("copy with tier Hot: %v", err)
		}
		if got, _ := tier(dst); got != "Hot" {
			t.Errorf("copied tier %s, want Hot", got)
		}
		if _, err := bc.SetTier(ctx, blob.AccessTierHot, nil); err != nil {
			t.Fatal(err)
		}
		if got := download(t, ctx, c, "tiers", "b", nil); string(got) != "hello" {
			t.Errorf("after rehydration: %q", got)
		}
	})
	t.Run("Upload blob with accesstier is not inferred", func(t *testing.T) {
		if _, err := cc.NewBlockBlobClient("u").Upload(ctx, body("x"), &blockblob.UploadOptions{Tier: to.Ptr(blob.AccessTierCool)}); err != nil {
			t.Fatal(err)
		}
		if got, inferred := tier(cc.NewBlobClient("u")); got != "Cool" || inferred {
			t.Errorf("tier %s inferred %v, want Cool not inferred", got, inferred)
		}
	})
	t.Run("Set tier should not work for append blob", func(t *testing.T) {
		ab := cc.NewAppendBlobClient("a")
		if _, err := ab.Create(ctx, nil); err != nil {
			t.Fatal(err)
		}
		_, err := cc.NewBlobClient("a").SetTier(ctx, blob.AccessTierCool, nil)
		wantCode(t, err, bloberror.InvalidBlobType, 409)
	})
}

func TestAzuriteSealAppendBlob(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "seal")
	cc := c.ServiceClient().NewContainerClient("seal")
	ab := cc.NewAppendBlobClient("a")

	_, err := ab.Seal(ctx, nil)
	wantCode(t, err, bloberror.BlobNotFound, 404)
	if _, err := ab.Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ab.AppendBlock(ctx, body("hello"), nil); err != nil {
		t.Fatal(err)
	}
	sealed := func(bc interface {
		GetProperties(context.Context, *blob.GetPropertiesOptions) (blob.GetPropertiesResponse, error)
	}) bool {
		t.Helper()
		p, err := bc.GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.IsSealed == nil {
			t.Fatal("no x-ms-blob-sealed")
		}
		return *p.IsSealed
	}
	if sealed(ab) {
		t.Error("new append blob reported sealed")
	}
	if _, err := ab.Seal(ctx, nil); err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if !sealed(ab) {
		t.Error("sealed append blob reported unsealed")
	}
	_, err = ab.AppendBlock(ctx, body("x"), nil)
	wantCode(t, err, "BlobIsSealed", 409)
	_, err = ab.Seal(ctx, nil)
	wantCode(t, err, "BlobAlreadySealed", 409)

	snap, err := ab.CreateSnapshot(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ab.WithSnapshot(*snap.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	if !sealed(sc) {
		t.Error("snapshot of a sealed blob reported unsealed")
	}
	page, err := cc.NewListBlobsFlatPager(nil).NextPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p := page.Segment.BlobItems[0].Properties; p.IsSealed == nil || !*p.IsSealed {
		t.Errorf("listing: Sealed %v, want true", p.IsSealed)
	}
	copied := cc.NewAppendBlobClient("copied")
	if _, err := copied.StartCopyFromURL(ctx, ab.URL(), nil); err != nil {
		t.Fatal(err)
	}
	if sealed(copied) {
		t.Error("copy without x-ms-seal-blob is sealed")
	}
	if _, err := c.UploadBuffer(ctx, "seal", "block", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	_, err = cc.NewAppendBlobClient("block").Seal(ctx, nil)
	wantCode(t, err, bloberror.InvalidBlobType, 409)
}

func TestAzuriteContainerMarker(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	for _, n := range []string{"conaa", "conbb", "concc", "other"} {
		mustCreateContainer(t, c, n)
	}
	// "List containers with marker": the marker is a container name and
	// the page starts after it; NextMarker is the last name returned.
	page, err := c.NewListContainersPager(&azblob.ListContainersOptions{Prefix: to.Ptr("con"), Marker: to.Ptr("conaa")}).NextPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ci := range page.ContainerItems {
		got = append(got, *ci.Name)
	}
	if diff := cmp.Diff([]string{"conbb", "concc"}, got); diff != "" {
		t.Errorf("after marker conaa (-want +got):\n%s", diff)
	}
	page, err = c.NewListContainersPager(&azblob.ListContainersOptions{MaxResults: to.Ptr[int32](2)}).NextPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if page.NextMarker == nil || *page.NextMarker != "conbb" {
		t.Errorf("NextMarker %v, want conbb", page.NextMarker)
	}
}

func TestAzuriteSASScope(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "scope")
	if _, err := c.UploadBuffer(ctx, "scope", "existing", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	t.Run("account SAS with create but not write cannot overwrite", func(t *testing.T) {
		u, err := c.ServiceClient().GetSASURL(sas.AccountResourceTypes{Container: true, Object: true},
			sas.AccountPermissions{Read: true, Create: true}, time.Now().Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := azblob.NewClientWithNoCredential(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sc.UploadBuffer(ctx, "scope", "new", []byte("x"), nil); err != nil {
			t.Fatalf("create a new blob: %v", err)
		}
		_, err = sc.UploadBuffer(ctx, "scope", "existing", []byte("y"), nil)
		wantCode(t, err, bloberror.AuthorizationPermissionMismatch, 403)
		src := c.ServiceClient().NewContainerClient("scope").NewBlobClient("existing").URL()
		_, err = sc.ServiceClient().NewContainerClient("scope").NewBlobClient("new").StartCopyFromURL(ctx, src, nil)
		wantCode(t, err, bloberror.AuthorizationPermissionMismatch, 403)
	})
	t.Run("Container operations on container should fail with container SAS", func(t *testing.T) {
		cc := c.ServiceClient().NewContainerClient("scope")
		u, err := cc.GetSASURL(sas.ContainerPermissions{Read: true, Add: true, Create: true, Write: true, Delete: true, List: true}, time.Now().Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := container.NewClientWithNoCredential(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = sc.GetProperties(ctx, nil)
		wantCode(t, err, bloberror.AuthorizationFailure, 403)
		_, err = sc.SetMetadata(ctx, nil)
		wantCode(t, err, bloberror.AuthorizationFailure, 403)
		if _, err := sc.NewListBlobsFlatPager(nil).NextPage(ctx); err != nil {
			t.Errorf("listing blobs with a container SAS: %v", err)
		}
		if _, err := sc.NewBlobClient("existing").GetProperties(ctx, nil); err != nil {
			t.Errorf("reading a blob with a container SAS: %v", err)
		}
	})
}

func TestAzuriteCORS(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	setRule := func(origins string) {
		t.Helper()
		_, err := c.ServiceClient().SetProperties(ctx, &service.SetPropertiesOptions{CORS: []*service.CORSRule{{
			AllowedOrigins: to.Ptr(origins), AllowedMethods: to.Ptr("GET"), AllowedHeaders: to.Ptr("header"),
			ExposedHeaders: to.Ptr("*"), MaxAgeInSeconds: to.Ptr[int32](8888)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	preflight := func(origin string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodOptions, ts.endpoint()+"/", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		resp, err := ts.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	t.Run("subdomain wildcard origins", func(t *testing.T) {
		setRule("*.contoso.com")
		for origin, want := range map[string]int{
			"contoso.com": 403, "bar.notcontoso.com": 403,
			"foo.contoso.com": 200, "foo.bar.baz.contoso.com": 200, "foo.CONTOSO.com": 200,
		} {
			if got := preflight(origin); got != want {
				t.Errorf("origin %s: status %d, want %d", origin, got, want)
			}
		}
	})
	// Vary: Origin whenever the answer depends on the origin: a specific
	// rule matched, or rules exist and none matched; not for "*".
	varyFor := func(origin string) (vary, allow string) {
		t.Helper()
		var raw *http.Response
		hc, err := azblob.NewClientFromConnectionString(ts.conn, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
			PerCallPolicies: []policy.Policy{headerPolicy{"Origin": origin}}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := hc.ServiceClient().GetProperties(policy.WithCaptureResponse(ctx, &raw), nil); err != nil {
			t.Fatal(err)
		}
		return raw.Header.Get("Vary"), raw.Header.Get("Access-Control-Allow-Origin")
	}
	setRule("*")
	if vary, allow := varyFor("anyOrigin"); vary != "" || allow != "*" {
		t.Errorf("rule *: Vary %q, Allow-Origin %q; want none, *", vary, allow)
	}
	setRule("test")
	if vary, allow := varyFor("anyOrigin"); vary != "Origin" || allow != "" {
		t.Errorf("no matching rule: Vary %q, Allow-Origin %q; want Origin, none", vary, allow)
	}
	if vary, allow := varyFor("test"); vary != "Origin" || allow != "test" {
		t.Errorf("matching rule: Vary %q, Allow-Origin %q; want Origin, test", vary, allow)
	}
}

func TestAzuriteDuplicateSASField(t *testing.T) {
	ts := startService(t, Config{})
	c := newClient(t, ts)
	u, err := c.ServiceClient().GetSASURL(sas.AccountResourceTypes{Service: true}, sas.AccountPermissions{Read: true}, time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	get := func(u string) int {
		t.Helper()
		resp, err := http.Get(strings.Replace(u, "/?", "/?restype=service&comp=properties&", 1))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(u); got != 200 {
		t.Fatalf("valid account SAS: status %d", got)
	}
	// "generateAccountSASQueryParameters should reject duplicate SAS signature query"
	if got := get(u + "&sig=duplicated-signature"); got != 403 {
		t.Errorf("duplicated sig: status %d, want 403", got)
	}
}

// "Should work with special blob name characters": Azure turns "\" in a
// blob name into "/".
func TestAzuriteBackslashInBlobName(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "bsl")
	if _, err := c.UploadBuffer(ctx, "bsl", `dir\file.txt`, []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	if got := download(t, ctx, c, "bsl", "dir/file.txt", nil); string(got) != "x" {
		t.Errorf("dir/file.txt = %q", got)
	}
	if got := download(t, ctx, c, "bsl", `dir\file.txt`, nil); string(got) != "x" {
		t.Errorf(`dir\file.txt = %q`, got)
	}
	page, err := c.NewListBlobsFlatPager("bsl", nil).NextPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := *page.Segment.BlobItems[0].Name; n != "dir/file.txt" {
		t.Errorf("listed %q, want dir/file.txt", n)
	}
}

// "getUserDelegationKey with Key credential should fail".
func TestAzuriteUserDelegationKeyRefused(t *testing.T) {
	ts := startService(t, Config{})
	c := newClient(t, ts)
	start, expiry := time.Now().UTC(), time.Now().UTC().Add(time.Hour)
	_, err := c.ServiceClient().GetUserDelegationCredential(context.Background(), service.KeyInfo{
		Start: to.Ptr(start.Format(sas.TimeFormat)), Expiry: to.Ptr(expiry.Format(sas.TimeFormat))}, nil)
	wantCode(t, err, bloberror.AuthenticationFailed, 403)
	if !strings.Contains(err.Error(), "Only authentication scheme Bearer is supported") {
		t.Errorf("error lacks the detail: %v", err)
	}
}
