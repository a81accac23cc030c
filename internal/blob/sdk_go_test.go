package blob

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/google/go-cmp/cmp"
)

// These tests drive the service with the real Go SDK (azblob), configured
// only by a connection string, as users configure it against Azure.

func newClient(t *testing.T, ts *testServer) *azblob.Client {
	t.Helper()
	c, err := azblob.NewClientFromConnectionString(ts.conn, nil)
	if err != nil {
		t.Fatalf("NewClientFromConnectionString: %v", err)
	}
	return c
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func wantCode(t *testing.T, err error, code bloberror.Code, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	if !bloberror.HasCode(err, code) {
		t.Fatalf("got error %v, want code %s", err, code)
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.StatusCode != status {
		t.Fatalf("got status %d, want %d for %s", re.StatusCode, status, code)
	}
}

func download(t *testing.T, ctx context.Context, c *azblob.Client, cont, name string, opts *azblob.DownloadStreamOptions) []byte {
	t.Helper()
	resp, err := c.DownloadStream(ctx, cont, name, opts)
	if err != nil {
		t.Fatalf("DownloadStream %s/%s: %v", cont, name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s/%s: %v", cont, name, err)
	}
	return b
}

func TestGoSDKContainers(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	for _, name := range []string{"alpha", "beta", "gamma-1", "gamma-2"} {
		if _, err := c.CreateContainer(ctx, name, &azblob.CreateContainerOptions{Metadata: map[string]*string{"owner": to.Ptr(name)}}); err != nil {
			t.Fatalf("CreateContainer %s: %v", name, err)
		}
	}
	t.Run("create twice is ContainerAlreadyExists", func(t *testing.T) {
		_, err := c.CreateContainer(ctx, "alpha", nil)
		wantCode(t, err, bloberror.ContainerAlreadyExists, 409)
	})
	t.Run("invalid name is InvalidResourceName", func(t *testing.T) {
		for _, bad := range []string{"Upper", "a--b", "-ab", "ab-", "a_b"} {
			_, err := c.CreateContainer(ctx, bad, nil)
			wantCode(t, err, bloberror.InvalidResourceName, 400)
		}
	})
	// As Azurite's container suite ("create with invalid container name")
	// expects: a name of the wrong length is OutOfRangeInput.
	t.Run("name of wrong length is OutOfRangeInput", func(t *testing.T) {
		for _, bad := range []string{"a", "ab", strings.Repeat("a", 64)} {
			_, err := c.CreateContainer(ctx, bad, nil)
			wantCode(t, err, bloberror.OutOfRangeInput, 400)
		}
	})
	t.Run("list with prefix, paging and metadata", func(t *testing.T) {
		var got []string
		pages := 0
		p := c.NewListContainersPager(&azblob.ListContainersOptions{Prefix: to.Ptr("gamma"), MaxResults: to.Ptr[int32](1), Include: azblob.ListContainersInclude{Metadata: true}})
		for p.More() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, it := range page.ContainerItems {
				got = append(got, *it.Name+"="+*it.Metadata["owner"])
			}
		}
		if diff := cmp.Diff([]string{"gamma-1=gamma-1", "gamma-2=gamma-2"}, got); diff != "" {
			t.Errorf("containers (-want +got):\n%s", diff)
		}
		if pages != 2 {
			t.Errorf("pages = %d, want 2", pages)
		}
	})
	t.Run("metadata and properties", func(t *testing.T) {
		cc := c.ServiceClient().NewContainerClient("beta")
		if _, err := cc.SetMetadata(ctx, &container.SetMetadataOptions{Metadata: map[string]*string{"k": to.Ptr("v")}}); err != nil {
			t.Fatal(err)
		}
		props, err := cc.GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if v := props.Metadata["K"]; v == nil || *v != "v" {
			t.Errorf("metadata = %v", props.Metadata)
		}
	})
	t.Run("ACL with stored policy", func(t *testing.T) {
		cc := c.ServiceClient().NewContainerClient("beta")
		start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		exp := start.Add(3 * time.Hour)
		_, err := cc.SetAccessPolicy(ctx, &container.SetAccessPolicyOptions{
			Access: to.Ptr(container.PublicAccessTypeBlob),
			ContainerACL: []*container.SignedIdentifier{{ID: to.Ptr("pol1"), AccessPolicy: &container.AccessPolicy{
				Start: &start, Expiry: &exp, Permission: to.Ptr("rl")}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := cc.GetAccessPolicy(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.BlobPublicAccess == nil || *got.BlobPublicAccess != container.PublicAccessTypeBlob {
			t.Errorf("public access = %v", got.BlobPublicAccess)
		}
		if len(got.SignedIdentifiers) != 1 || *got.SignedIdentifiers[0].ID != "pol1" || *got.SignedIdentifiers[0].AccessPolicy.Permission != "rl" ||
			!got.SignedIdentifiers[0].AccessPolicy.Expiry.Equal(exp) {
			t.Errorf("signed identifiers = %+v", got.SignedIdentifiers)
		}
	})
	t.Run("delete then missing is ContainerNotFound", func(t *testing.T) {
		if _, err := c.DeleteContainer(ctx, "alpha", nil); err != nil {
			t.Fatal(err)
		}
		_, err := c.DeleteContainer(ctx, "alpha", nil)
		wantCode(t, err, bloberror.ContainerNotFound, 404)
		_, err = c.UploadBuffer(ctx, "alpha", "x", []byte("x"), nil)
		wantCode(t, err, bloberror.ContainerNotFound, 404)
	})
}

func TestGoSDKBlockBlobs(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	if _, err := c.CreateContainer(ctx, "data", nil); err != nil {
		t.Fatal(err)
	}
	big := randomBytes(t, 300_000)
	t.Run("UploadBuffer in blocks and download", func(t *testing.T) {
		_, err := c.UploadBuffer(ctx, "data", "big.bin", big, &azblob.UploadBufferOptions{BlockSize: 64 << 10, Concurrency: 3,
			HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("application/x-test")}})
		if err != nil {
			t.Fatal(err)
		}
		got := download(t, ctx, c, "data", "big.bin", nil)
		if !bytes.Equal(got, big) {
			t.Fatalf("downloaded %d bytes differ from uploaded %d", len(got), len(big))
		}
		props, err := c.ServiceClient().NewContainerClient("data").NewBlobClient("big.bin").GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if *props.ContentType != "application/x-test" || *props.ContentLength != int64(len(big)) {
			t.Errorf("props: type %q length %d", *props.ContentType, *props.ContentLength)
		}
	})
	t.Run("UploadStream in blocks", func(t *testing.T) {
		// The SDK's minimum stream block size is 1 MiB.
		large := randomBytes(t, 2<<20+12345)
		_, err := c.UploadStream(ctx, "data", "stream.bin", bytes.NewReader(large), &azblob.UploadStreamOptions{BlockSize: 1 << 20, Concurrency: 2})
		if err != nil {
			t.Fatal(err)
		}
		if got := download(t, ctx, c, "data", "stream.bin", nil); !bytes.Equal(got, large) {
			t.Fatal("stream upload content differs")
		}
		bl, err := c.ServiceClient().NewContainerClient("data").NewBlockBlobClient("stream.bin").GetBlockList(ctx, "all", nil)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(bl.CommittedBlocks); n != 3 {
			t.Errorf("committed blocks = %d, want 3 (Put Block + Put Block List)", n)
		}
	})
	t.Run("ranged download", func(t *testing.T) {
		got := download(t, ctx, c, "data", "big.bin", &azblob.DownloadStreamOptions{Range: azblob.HTTPRange{Offset: 1000, Count: 5000}})
		if !bytes.Equal(got, big[1000:6000]) {
			t.Fatal("range content differs")
		}
		buf := make([]byte, len(big))
		if _, err := c.DownloadBuffer(ctx, "data", "big.bin", buf, &azblob.DownloadBufferOptions{BlockSize: 50_000, Concurrency: 3}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf, big) {
			t.Fatal("parallel ranged download differs")
		}
		_, err := c.DownloadStream(ctx, "data", "big.bin", &azblob.DownloadStreamOptions{Range: azblob.HTTPRange{Offset: int64(len(big)) + 10, Count: 5}})
		wantCode(t, err, bloberror.InvalidRange, 416)
	})
	t.Run("staged blocks are uncommitted until Put Block List", func(t *testing.T) {
		bb := c.ServiceClient().NewContainerClient("data").NewBlockBlobClient("staged")
		ids := []string{"YmxvY2sx", "YmxvY2sy"} // block1, block2
		for i, id := range ids {
			if _, err := bb.StageBlock(ctx, id, streaming.NopCloser(bytes.NewReader([]byte(strings.Repeat(string(rune('a'+i)), 10)))), nil); err != nil {
				t.Fatal(err)
			}
		}
		bl, err := bb.GetBlockList(ctx, "uncommitted", nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(bl.UncommittedBlocks) != 2 || len(bl.CommittedBlocks) != 0 {
			t.Fatalf("block list: %d committed, %d uncommitted", len(bl.CommittedBlocks), len(bl.UncommittedBlocks))
		}
		if _, err := bb.GetProperties(ctx, nil); !bloberror.HasCode(err, bloberror.BlobNotFound) {
			t.Fatalf("uncommitted blob visible: %v", err)
		}
		if _, err := bb.CommitBlockList(ctx, []string{ids[1], ids[0]}, nil); err != nil {
			t.Fatal(err)
		}
		if got := string(download(t, ctx, c, "data", "staged", nil)); got != "bbbbbbbbbbaaaaaaaaaa" {
			t.Fatalf("content = %q", got)
		}
		_, err = bb.CommitBlockList(ctx, []string{"bWlzc2luZw=="}, nil)
		wantCode(t, err, bloberror.InvalidBlockList, 400)
	})
	t.Run("Content-MD5 returned and validated", func(t *testing.T) {
		bb := c.ServiceClient().NewContainerClient("data").NewBlockBlobClient("md5")
		data := []byte("hello md5")
		sum := md5.Sum(data)
		up, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(up.ContentMD5, sum[:]) {
			t.Errorf("returned MD5 %x, want %x", up.ContentMD5, sum)
		}
		bad := md5.Sum([]byte("other"))
		_, err = bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), &blockblob.UploadOptions{TransactionalValidation: blob.TransferValidationTypeMD5(bad[:])})
		wantCode(t, err, bloberror.MD5Mismatch, 400)
	})
}

func TestGoSDKListing(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	if _, err := c.CreateContainer(ctx, "list", nil); err != nil {
		t.Fatal(err)
	}
	names := []string{"a.txt", "dir/x.txt", "dir/y.txt", "dir/sub/z.txt", "dir2/q.txt", "e.txt"}
	for _, n := range names {
		if _, err := c.UploadBuffer(ctx, "list", n, []byte(n), &azblob.UploadBufferOptions{Metadata: map[string]*string{"name": to.Ptr(strings.ReplaceAll(n, "/", "_"))}}); err != nil {
			t.Fatal(err)
		}
	}
	cc := c.ServiceClient().NewContainerClient("list")
	t.Run("flat with paging", func(t *testing.T) {
		var got []string
		pages := 0
		p := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{MaxResults: to.Ptr[int32](2), Include: container.ListBlobsInclude{Metadata: true}})
		for p.More() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, b := range page.Segment.BlobItems {
				got = append(got, *b.Name)
				if want := strings.ReplaceAll(*b.Name, "/", "_"); b.Metadata["name"] == nil || *b.Metadata["name"] != want {
					t.Errorf("metadata of %s = %v", *b.Name, b.Metadata)
				}
			}
		}
		want := []string{"a.txt", "dir/sub/z.txt", "dir/x.txt", "dir/y.txt", "dir2/q.txt", "e.txt"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if pages != 3 {
			t.Errorf("pages = %d, want 3", pages)
		}
	})
	tests := []struct {
		prefix   string
		max      int32
		blobs    []string
		prefixes []string
	}{
		{"", 0, []string{"a.txt", "e.txt"}, []string{"dir/", "dir2/"}},
		{"dir/", 0, []string{"dir/x.txt", "dir/y.txt"}, []string{"dir/sub/"}},
		{"", 1, []string{"a.txt", "e.txt"}, []string{"dir/", "dir2/"}},
		{"nothing", 0, nil, nil},
	}
	for _, tt := range tests {
		t.Run("hierarchy prefix="+tt.prefix, func(t *testing.T) {
			opts := &container.ListBlobsHierarchyOptions{Prefix: to.Ptr(tt.prefix)}
			if tt.max > 0 {
				opts.MaxResults = to.Ptr(tt.max)
			}
			p := cc.NewListBlobsHierarchyPager("/", opts)
			var blobs, prefixes []string
			for p.More() {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, b := range page.Segment.BlobItems {
					blobs = append(blobs, *b.Name)
				}
				for _, bp := range page.Segment.BlobPrefixes {
					prefixes = append(prefixes, *bp.Name)
				}
			}
			if diff := cmp.Diff(tt.blobs, blobs); diff != "" {
				t.Errorf("blobs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.prefixes, prefixes); diff != "" {
				t.Errorf("prefixes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGoSDKPropertiesAndConditions(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	if _, err := c.CreateContainer(ctx, "props", nil); err != nil {
		t.Fatal(err)
	}
	bc := c.ServiceClient().NewContainerClient("props").NewBlobClient("doc.txt")
	up, err := c.UploadBuffer(ctx, "props", "doc.txt", []byte("v1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	etag1 := *up.ETag
	t.Run("set HTTP headers and metadata", func(t *testing.T) {
		_, err := bc.SetHTTPHeaders(ctx, blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain"), BlobCacheControl: to.Ptr("max-age=60"),
			BlobContentDisposition: to.Ptr("attachment"), BlobContentLanguage: to.Ptr("en"), BlobContentEncoding: to.Ptr("identity")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bc.SetMetadata(ctx, map[string]*string{"color": to.Ptr("blue")}, nil); err != nil {
			t.Fatal(err)
		}
		p, err := bc.GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := []string{*p.ContentType, *p.CacheControl, *p.ContentDisposition, *p.ContentLanguage, *p.ContentEncoding, *p.Metadata["Color"], string(*p.BlobType)}
		want := []string{"text/plain", "max-age=60", "attachment", "en", "identity", "blue", "BlockBlob"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if *p.ETag == etag1 {
			t.Error("ETag did not change on property update")
		}
	})
	t.Run("If-Match mismatch is ConditionNotMet", func(t *testing.T) {
		_, err := c.UploadBuffer(ctx, "props", "doc.txt", []byte("v2"), &azblob.UploadBufferOptions{
			AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &etag1}}})
		wantCode(t, err, bloberror.ConditionNotMet, 412)
		_, err = bc.GetProperties(ctx, &blob.GetPropertiesOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &etag1}}})
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.StatusCode != 412 {
			t.Fatalf("HEAD with stale If-Match: %v", err)
		}
	})
	t.Run("If-None-Match current ETag is 304 on read", func(t *testing.T) {
		p, err := bc.GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		// The Go SDK reports 304 as a response with ErrorCode set.
		nm, err := bc.DownloadStream(ctx, &blob.DownloadStreamOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: p.ETag}}})
		if err != nil || nm.ErrorCode == nil || *nm.ErrorCode != "ConditionNotMet" {
			t.Fatalf("got %v (error code %v), want 304 ConditionNotMet", err, nm.ErrorCode)
		}
		_, err = bc.DownloadStream(ctx, &blob.DownloadStreamOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: p.ETag}}})
		if err != nil {
			t.Fatalf("matching If-Match: %v", err)
		}
	})
	t.Run("If-None-Match * refuses overwrite", func(t *testing.T) {
		_, err := c.UploadBuffer(ctx, "props", "doc.txt", []byte("v3"), &azblob.UploadBufferOptions{
			AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}}})
		wantCode(t, err, bloberror.BlobAlreadyExists, 409)
	})
	t.Run("If-Unmodified-Since in the past is ConditionNotMet", func(t *testing.T) {
		past := time.Now().Add(-time.Hour)
		_, err := bc.SetMetadata(ctx, map[string]*string{"x": to.Ptr("y")}, &blob.SetMetadataOptions{
			AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfUnmodifiedSince: &past}}})
		wantCode(t, err, bloberror.ConditionNotMet, 412)
		_, err = bc.SetMetadata(ctx, map[string]*string{"x": to.Ptr("y")}, &blob.SetMetadataOptions{
			AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfModifiedSince: &past}}})
		if err != nil {
			t.Fatalf("If-Modified-Since past: %v", err)
		}
	})
	t.Run("missing blob is BlobNotFound", func(t *testing.T) {
		_, err := c.DownloadStream(ctx, "props", "nope", nil)
		wantCode(t, err, bloberror.BlobNotFound, 404)
		_, err = c.DeleteBlob(ctx, "props", "nope", nil)
		wantCode(t, err, bloberror.BlobNotFound, 404)
	})
	t.Run("delete", func(t *testing.T) {
		if _, err := c.DeleteBlob(ctx, "props", "doc.txt", nil); err != nil {
			t.Fatal(err)
		}
		_, err := bc.GetProperties(ctx, nil)
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.StatusCode != 404 {
			t.Fatalf("after delete: %v", err)
		}
	})
}

func TestGoSDKAuthErrors(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	if _, err := c.CreateContainer(ctx, "auth", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadBuffer(ctx, "auth", "secret.txt", []byte("secret"), nil); err != nil {
		t.Fatal(err)
	}
	t.Run("wrong key is AuthenticationFailed", func(t *testing.T) {
		bad := connectionString(ts.endpoint(), DevelopmentAccountName, []byte("not-the-key-not-the-key-not-the-key"))
		bc, err := azblob.NewClientFromConnectionString(bad, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = bc.DownloadStream(ctx, "auth", "secret.txt", nil)
		wantCode(t, err, bloberror.AuthenticationFailed, 403)
	})
	t.Run("second key works", func(t *testing.T) {
		other := testAccounts().m["otheraccount"]
		oc, err := azblob.NewClientFromConnectionString(connectionString(ts.srv.URL+"/otheraccount", "otheraccount", other.Keys[1]), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := oc.CreateContainer(ctx, "mine", nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("anonymous read of private blob refused", func(t *testing.T) {
		anon, err := blob.NewClientWithNoCredential(ts.endpoint()+"/auth/secret.txt", nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = anon.DownloadStream(ctx, nil)
		wantCode(t, err, bloberror.ResourceNotFound, 404)
	})
	t.Run("public blob access allows anonymous blob reads only", func(t *testing.T) {
		if _, err := c.CreateContainer(ctx, "pub", &azblob.CreateContainerOptions{Access: to.Ptr(container.PublicAccessTypeBlob)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.UploadBuffer(ctx, "pub", "open.txt", []byte("hello"), nil); err != nil {
			t.Fatal(err)
		}
		anon, err := azblob.NewClientWithNoCredential(ts.endpoint(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := download(t, ctx, anon, "pub", "open.txt", nil); string(got) != "hello" {
			t.Fatalf("anonymous read = %q", got)
		}
		p := anon.NewListBlobsFlatPager("pub", nil)
		if _, err := p.NextPage(ctx); err == nil {
			t.Fatal("anonymous list allowed with blob-level public access")
		}
		_, err = anon.UploadBuffer(ctx, "pub", "write.txt", []byte("x"), nil)
		if err == nil {
			t.Fatal("anonymous write allowed")
		}
	})
	t.Run("public container access allows anonymous listing", func(t *testing.T) {
		cc := c.ServiceClient().NewContainerClient("pub")
		if _, err := cc.SetAccessPolicy(ctx, &container.SetAccessPolicyOptions{Access: to.Ptr(container.PublicAccessTypeContainer)}); err != nil {
			t.Fatal(err)
		}
		anon, err := azblob.NewClientWithNoCredential(ts.endpoint(), nil)
		if err != nil {
			t.Fatal(err)
		}
		page, err := anon.NewListBlobsFlatPager("pub", nil).NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Segment.BlobItems) != 1 {
			t.Fatalf("anonymous list = %d items", len(page.Segment.BlobItems))
		}
	})
}

func TestGoSDKSAS(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	if _, err := c.CreateContainer(ctx, "sas", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadBuffer(ctx, "sas", "file.txt", []byte("sas content"), nil); err != nil {
		t.Fatal(err)
	}
	cc := c.ServiceClient().NewContainerClient("sas")
	bc := cc.NewBlobClient("file.txt")
	t.Run("blob SAS reads, cannot write", func(t *testing.T) {
		u, err := bc.GetSASURL(sas.BlobPermissions{Read: true}, time.Now().Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := blob.NewClientWithNoCredential(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := sc.DownloadStream(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "sas content" {
			t.Fatalf("content = %q", b)
		}
		_, err = sc.SetMetadata(ctx, map[string]*string{"a": to.Ptr("b")}, nil)
		wantCode(t, err, bloberror.AuthorizationPermissionMismatch, 403)
	})
	t.Run("expired SAS is AuthenticationFailed", func(t *testing.T) {
		u, err := bc.GetSASURL(sas.BlobPermissions{Read: true}, time.Now().Add(-time.Minute), nil)
		if err != nil {
			t.Fatal(err)
		}
		sc, _ := blob.NewClientWithNoCredential(u, nil)
		_, err = sc.DownloadStream(ctx, nil)
		wantCode(t, err, bloberror.AuthenticationFailed, 403)
	})
	t.Run("tampered SAS is AuthenticationFailed", func(t *testing.T) {
		u, err := bc.GetSASURL(sas.BlobPermissions{Read: true}, time.Now().Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		sc, _ := blob.NewClientWithNoCredential(strings.Replace(u, "sp=r", "sp=rw", 1), nil)
		_, err = sc.DownloadStream(ctx, nil)
		wantCode(t, err, bloberror.AuthenticationFailed, 403)
	})
	t.Run("container SAS lists and writes", func(t *testing.T) {
		u, err := cc.GetSASURL(sas.ContainerPermissions{Read: true, List: true, Write: true, Create: true}, time.Now().Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := container.NewClientWithNoCredential(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sc.NewBlockBlobClient("new.txt").UploadBuffer(ctx, []byte("via sas"), nil); err != nil {
			t.Fatal(err)
		}
		page, err := sc.NewListBlobsFlatPager(nil).NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Segment.BlobItems) != 2 {
			t.Fatalf("listed %d blobs", len(page.Segment.BlobItems))
		}
		_, err = sc.NewBlobClient("new.txt").Delete(ctx, nil)
		wantCode(t, err, bloberror.AuthorizationPermissionMismatch, 403)
	})
	t.Run("SAS with stored access policy", func(t *testing.T) {
		exp := time.Now().UTC().Add(time.Hour)
		if _, err := cc.SetAccessPolicy(ctx, &container.SetAccessPolicyOptions{ContainerACL: []*container.SignedIdentifier{{
			ID: to.Ptr("readers"), AccessPolicy: &container.AccessPolicy{Expiry: &exp, Permission: to.Ptr("r")}}}}); err != nil {
			t.Fatal(err)
		}
		cred, err := azblob.NewSharedKeyCredential(DevelopmentAccountName, DevelopmentAccountKey)
		if err != nil {
			t.Fatal(err)
		}
		qp, err := sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ContainerName: "sas", BlobName: "file.txt", Identifier: "readers"}.SignWithSharedKey(cred)
		if err != nil {
			t.Fatal(err)
		}
		sc, _ := blob.NewClientWithNoCredential(bc.URL()+"?"+qp.Encode(), nil)
		if _, err := sc.GetProperties(ctx, nil); err != nil {
			t.Fatalf("stored-policy SAS: %v", err)
		}
		qp, err = sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ContainerName: "sas", BlobName: "file.txt", Identifier: "nosuch"}.SignWithSharedKey(cred)
		if err != nil {
			t.Fatal(err)
		}
		sc, _ = blob.NewClientWithNoCredential(bc.URL()+"?"+qp.Encode(), nil)
		_, err = sc.DownloadStream(ctx, nil)
		wantCode(t, err, bloberror.AuthenticationFailed, 403)
	})
	t.Run("SAS IP and protocol restrictions", func(t *testing.T) {
		cred, _ := azblob.NewSharedKeyCredential(DevelopmentAccountName, DevelopmentAccountKey)
		for _, tt := range []struct {
			name string
			v    sas.BlobSignatureValues
			code bloberror.Code
		}{
			{"other IP", sas.BlobSignatureValues{IPRange: sas.IPRange{Start: []byte{10, 0, 0, 1}}}, bloberror.AuthorizationSourceIPMismatch},
			{"https only", sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPS}, bloberror.AuthorizationProtocolMismatch},
		} {
			t.Run(tt.name, func(t *testing.T) {
				v := tt.v
				v.ContainerName, v.BlobName, v.Permissions, v.ExpiryTime = "sas", "file.txt", "r", time.Now().Add(time.Hour)
				qp, err := v.SignWithSharedKey(cred)
				if err != nil {
					t.Fatal(err)
				}
				sc, _ := blob.NewClientWithNoCredential(bc.URL()+"?"+qp.Encode(), nil)
				_, err = sc.GetProperties(ctx, nil)
				var re *azcore.ResponseError
				if !errors.As(err, &re) || re.StatusCode != 403 || re.ErrorCode != string(tt.code) {
					t.Fatalf("got %v, want 403 %s", err, tt.code)
				}
			})
		}
	})
	t.Run("account SAS", func(t *testing.T) {
		u, err := c.ServiceClient().GetSASURL(sas.AccountResourceTypes{Service: true, Container: true, Object: true},
			sas.AccountPermissions{Read: true, List: true, Create: true, Write: true}, time.Now().Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := azblob.NewClientWithNoCredential(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sc.CreateContainer(ctx, "viaaccountsas", nil); err != nil {
			t.Fatal(err)
		}
		page, err := sc.NewListContainersPager(nil).NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.ContainerItems) != 2 {
			t.Errorf("listed %d containers", len(page.ContainerItems))
		}
		_, err = sc.DeleteContainer(ctx, "viaaccountsas", nil)
		wantCode(t, err, bloberror.AuthorizationPermissionMismatch, 403)

		u, err = c.ServiceClient().GetSASURL(sas.AccountResourceTypes{Object: true}, sas.AccountPermissions{Read: true, List: true}, time.Now().Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		sc, _ = azblob.NewClientWithNoCredential(u, nil)
		_, err = sc.NewListContainersPager(nil).NextPage(ctx)
		wantCode(t, err, bloberror.AuthorizationResourceTypeMismatch, 403)
	})
}

func TestGoSDKLeases(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	if _, err := c.CreateContainer(ctx, "leases", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadBuffer(ctx, "leases", "l.txt", []byte("v1"), nil); err != nil {
		t.Fatal(err)
	}
	bc := c.ServiceClient().NewContainerClient("leases").NewBlobClient("l.txt")
	lc, err := lease.NewBlobClient(bc, &lease.BlobClientOptions{LeaseID: to.Ptr("11111111-1111-1111-1111-111111111111")})
	if err != nil {
		t.Fatal(err)
	}
	acq, err := lc.AcquireLease(ctx, -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *acq.LeaseID != "11111111-1111-1111-1111-111111111111" {
		t.Fatalf("lease id %s", *acq.LeaseID)
	}
	_, err = c.UploadBuffer(ctx, "leases", "l.txt", []byte("v2"), nil)
	wantCode(t, err, bloberror.LeaseIDMissing, 412)
	_, err = c.UploadBuffer(ctx, "leases", "l.txt", []byte("v2"), &azblob.UploadBufferOptions{AccessConditions: &blob.AccessConditions{
		LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: to.Ptr("22222222-2222-2222-2222-222222222222")}}})
	wantCode(t, err, bloberror.LeaseIDMismatchWithBlobOperation, 412)
	if _, err := c.UploadBuffer(ctx, "leases", "l.txt", []byte("v2"), &azblob.UploadBufferOptions{AccessConditions: &blob.AccessConditions{
		LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: acq.LeaseID}}}); err != nil {
		t.Fatalf("write with lease: %v", err)
	}
	other, _ := lease.NewBlobClient(bc, &lease.BlobClientOptions{LeaseID: to.Ptr("33333333-3333-3333-3333-333333333333")})
	_, err = other.AcquireLease(ctx, 15, nil)
	wantCode(t, err, bloberror.LeaseAlreadyPresent, 409)
	p, err := bc.GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{string(*p.LeaseState), string(*p.LeaseStatus), string(*p.LeaseDuration)}; !cmp.Equal(got, []string{"leased", "locked", "infinite"}) {
		t.Errorf("lease props = %v", got)
	}
	if _, err := lc.ChangeLease(ctx, "44444444-4444-4444-4444-444444444444", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.RenewLease(ctx, nil); err != nil {
		t.Fatalf("renew after change: %v", err)
	}
	br, err := lc.BreakLease(ctx, &lease.BlobBreakOptions{BreakPeriod: to.Ptr[int32](0)})
	if err != nil {
		t.Fatal(err)
	}
	if *br.LeaseTime != 0 {
		t.Errorf("lease time %d", *br.LeaseTime)
	}
	p, _ = bc.GetProperties(ctx, nil)
	if *p.LeaseState != "broken" {
		t.Errorf("after break: %s", *p.LeaseState)
	}
	if _, err := lc.ReleaseLease(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadBuffer(ctx, "leases", "l.txt", []byte("v3"), nil); err != nil {
		t.Fatalf("write after release: %v", err)
	}

	t.Run("container lease protects delete", func(t *testing.T) {
		cl, err := lease.NewContainerClient(c.ServiceClient().NewContainerClient("leases"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.AcquireLease(ctx, 15, nil); err != nil {
			t.Fatal(err)
		}
		_, err = c.DeleteContainer(ctx, "leases", nil)
		wantCode(t, err, bloberror.LeaseIDMissing, 412)
		if _, err := c.DeleteContainer(ctx, "leases", &azblob.DeleteContainerOptions{AccessConditions: &container.AccessConditions{
			LeaseAccessConditions: &container.LeaseAccessConditions{LeaseID: cl.LeaseID()}}}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestGoSDKSnapshotsCopyAppend(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	if _, err := c.CreateContainer(ctx, "snap", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadBuffer(ctx, "snap", "s.txt", []byte("version one"), nil); err != nil {
		t.Fatal(err)
	}
	bc := c.ServiceClient().NewContainerClient("snap").NewBlobClient("s.txt")
	snap, err := bc.CreateSnapshot(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadBuffer(ctx, "snap", "s.txt", []byte("version two"), nil); err != nil {
		t.Fatal(err)
	}
	t.Run("snapshot keeps old content", func(t *testing.T) {
		sc, err := bc.WithSnapshot(*snap.Snapshot)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := sc.DownloadStream(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "version one" {
			t.Fatalf("snapshot content %q", b)
		}
		page, err := c.NewListBlobsFlatPager("snap", &azblob.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Snapshots: true}}).NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Segment.BlobItems) != 2 {
			t.Fatalf("listed %d items with snapshots", len(page.Segment.BlobItems))
		}
		_, err = bc.Delete(ctx, nil)
		wantCode(t, err, bloberror.SnapshotsPresent, 409)
	})
	t.Run("copy within the service", func(t *testing.T) {
		dst := c.ServiceClient().NewContainerClient("snap").NewBlobClient("copy.txt")
		resp, err := dst.StartCopyFromURL(ctx, bc.URL(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if *resp.CopyStatus != blob.CopyStatusTypeSuccess {
			t.Fatalf("copy status %s", *resp.CopyStatus)
		}
		if got := download(t, ctx, c, "snap", "copy.txt", nil); string(got) != "version two" {
			t.Fatalf("copy content %q", got)
		}
		p, err := dst.GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.CopyStatus == nil || *p.CopyStatus != blob.CopyStatusTypeSuccess {
			t.Errorf("copy status property %v", p.CopyStatus)
		}
		sync, err := c.ServiceClient().NewContainerClient("snap").NewBlobClient("copy2.txt").CopyFromURL(ctx, bc.URL(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if *sync.CopyStatus != "success" {
			t.Errorf("sync copy status %s", *sync.CopyStatus)
		}
	})
	t.Run("delete including snapshots", func(t *testing.T) {
		if _, err := bc.Delete(ctx, &blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeInclude)}); err != nil {
			t.Fatal(err)
		}
		page, err := c.NewListBlobsFlatPager("snap", &azblob.ListBlobsFlatOptions{Prefix: to.Ptr("s."), Include: container.ListBlobsInclude{Snapshots: true}}).NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Segment.BlobItems) != 0 {
			t.Fatalf("%d items left", len(page.Segment.BlobItems))
		}
	})
	t.Run("append blob", func(t *testing.T) {
		ab := c.ServiceClient().NewContainerClient("snap").NewAppendBlobClient("log.txt")
		if _, err := ab.Create(ctx, nil); err != nil {
			t.Fatal(err)
		}
		var want []byte
		for i := 0; i < 3; i++ {
			line := []byte(strings.Repeat(string(rune('a'+i)), 5) + "\n")
			want = append(want, line...)
			r, err := ab.AppendBlock(ctx, streaming.NopCloser(bytes.NewReader(line)), nil)
			if err != nil {
				t.Fatal(err)
			}
			if *r.BlobCommittedBlockCount != int32(i+1) {
				t.Errorf("committed block count %d", *r.BlobCommittedBlockCount)
			}
		}
		if got := download(t, ctx, c, "snap", "log.txt", nil); !bytes.Equal(got, want) {
			t.Fatalf("append content %q", got)
		}
		bb := c.ServiceClient().NewContainerClient("snap").NewBlockBlobClient("copy.txt")
		_, err := c.ServiceClient().NewContainerClient("snap").NewAppendBlobClient("copy.txt").AppendBlock(ctx, streaming.NopCloser(strings.NewReader("x")), nil)
		wantCode(t, err, bloberror.InvalidBlobType, 409)
		_ = bb
	})
}

func TestGoSDKServiceProperties(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	svc := c.ServiceClient()
	_, err := svc.SetProperties(ctx, &service.SetPropertiesOptions{CORS: []*service.CORSRule{{
		AllowedOrigins: to.Ptr("https://app.example"), AllowedMethods: to.Ptr("GET,PUT"),
		AllowedHeaders: to.Ptr("x-ms-meta-*,content-type"), ExposedHeaders: to.Ptr("x-ms-request-id"), MaxAgeInSeconds: to.Ptr[int32](600)}}})
	if err != nil {
		t.Fatal(err)
	}
	props, err := svc.GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(props.CORS) != 1 || *props.CORS[0].AllowedOrigins != "https://app.example" {
		t.Fatalf("cors = %+v", props.CORS)
	}
	info, err := svc.GetAccountInfo(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *info.AccountKind != service.AccountKindStorageV2 || *info.SKUName != service.SKUNameStandardRAGRS {
		t.Errorf("development account: kind %s, SKU %s; want StorageV2, Standard_RAGRS (as Azurite)", *info.AccountKind, *info.SKUName)
	}
	t.Run("account information follows the account", func(t *testing.T) {
		accounts := testAccounts()
		grs := Account{Name: "grsaccount", Keys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")}, SKU: "Standard_GRS", Kind: "BlobStorage"}
		accounts.m[grs.Name] = grs
		ts := startService(t, Config{Accounts: accounts})
		for _, tc := range []struct {
			acct Account
			sku  service.SKUName
			kind service.AccountKind
		}{
			{grs, service.SKUNameStandardGRS, service.AccountKindBlobStorage},
			{accounts.m["otheraccount"], service.SKUNameStandardLRS, service.AccountKindStorageV2}, // unset: the defaults
		} {
			c, err := azblob.NewClientFromConnectionString(connectionString(ts.srv.URL+"/"+tc.acct.Name, tc.acct.Name, tc.acct.Keys[0]), nil)
			if err != nil {
				t.Fatal(err)
			}
			info, err := c.ServiceClient().GetAccountInfo(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if *info.SKUName != tc.sku || *info.AccountKind != tc.kind {
				t.Errorf("%s: SKU %s, kind %s; want %s, %s", tc.acct.Name, *info.SKUName, *info.AccountKind, tc.sku, tc.kind)
			}
		}
	})
	t.Run("preflight", func(t *testing.T) {
		for _, tt := range []struct {
			origin, method, headers string
			status                  int
		}{
			{"https://app.example", "PUT", "x-ms-meta-a,content-type", 200},
			{"https://app.example", "DELETE", "", 403},
			{"https://evil.example", "GET", "", 403},
			{"https://app.example", "GET", "x-other", 403},
		} {
			req, _ := http.NewRequest(http.MethodOptions, ts.endpoint()+"/any/blob", nil)
			req.Header.Set("Origin", tt.origin)
			req.Header.Set("Access-Control-Request-Method", tt.method)
			if tt.headers != "" {
				req.Header.Set("Access-Control-Request-Headers", tt.headers)
			}
			resp, err := ts.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("%s %s %s: status %d, want %d", tt.origin, tt.method, tt.headers, resp.StatusCode, tt.status)
			}
			if tt.status == 200 && resp.Header.Get("Access-Control-Allow-Origin") != tt.origin {
				t.Errorf("allow-origin %q", resp.Header.Get("Access-Control-Allow-Origin"))
			}
		}
	})
}
