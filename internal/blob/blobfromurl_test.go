package blob

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/appendblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/pageblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/google/go-cmp/cmp"
)

// TestPutBlobFromURL: Put Blob From URL is a copy that answers 201, the
// status the SDKs require of it (Copy Blob answers 202).
func TestPutBlobFromURL(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "fromurl")
	if _, err := c.UploadBuffer(ctx, "fromurl", "src", []byte("source"), nil); err != nil {
		t.Fatal(err)
	}
	cc := c.ServiceClient().NewContainerClient("fromurl")
	dst := cc.NewBlockBlobClient("dst")
	if _, err := dst.UploadBlobFromURL(ctx, cc.NewBlobClient("src").URL(), &blockblob.UploadBlobFromURLOptions{}); err != nil {
		t.Fatalf("UploadBlobFromURL: %v", err)
	}
	if got := download(t, ctx, c, "fromurl", "dst", nil); string(got) != "source" {
		t.Errorf("copied content %q", got)
	}
}

// TestBlocksFromURL: Put Block From URL stages the source range it names
// (the whole blob without one), and Append Block From URL appends it, as
// AzCopy's service-to-service copies do; a destination SAS reaches a source
// only as far as it grants reading, and a source in another account needs a
// SAS of its own.
// https://learn.microsoft.com/rest/api/storageservices/put-block-from-url
// https://learn.microsoft.com/rest/api/storageservices/append-block-from-url
func TestBlocksFromURL(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "fromurl")
	content := randomBytes(t, 300<<10) // stored in a file, not inline
	if _, err := c.UploadBuffer(ctx, "fromurl", "src", content, nil); err != nil {
		t.Fatal(err)
	}
	cc := c.ServiceClient().NewContainerClient("fromurl")
	srcURL := cc.NewBlobClient("src").URL()

	t.Run("put block", func(t *testing.T) {
		dst := cc.NewBlockBlobClient("blocks")
		ids := []string{base64.StdEncoding.EncodeToString([]byte("b0")), base64.StdEncoding.EncodeToString([]byte("b1"))}
		half := int64(len(content) / 2)
		sum := md5.Sum(content[half:])
		if _, err := dst.StageBlockFromURL(ctx, ids[1], srcURL, &blockblob.StageBlockFromURLOptions{
			Range:                   blob.HTTPRange{Offset: half},
			SourceContentValidation: blob.SourceContentValidationTypeMD5(sum[:]),
		}); err != nil {
			t.Fatalf("StageBlockFromURL: %v", err)
		}
		if _, err := dst.StageBlockFromURL(ctx, ids[0], srcURL, &blockblob.StageBlockFromURLOptions{
			Range: blob.HTTPRange{Offset: 0, Count: half},
		}); err != nil {
			t.Fatalf("StageBlockFromURL: %v", err)
		}
		if _, err := dst.CommitBlockList(ctx, ids, nil); err != nil {
			t.Fatal(err)
		}
		if got := download(t, ctx, c, "fromurl", "blocks", nil); !bytes.Equal(got, content) {
			t.Errorf("committed %d bytes, want the source's %d", len(got), len(content))
		}
		whole := base64.StdEncoding.EncodeToString([]byte("b2"))
		if _, err := dst.StageBlockFromURL(ctx, whole, srcURL, nil); err != nil {
			t.Fatalf("StageBlockFromURL without a range: %v", err)
		}
		bl, err := dst.GetBlockList(ctx, blockblob.BlockListTypeUncommitted, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(bl.UncommittedBlocks) != 1 || *bl.UncommittedBlocks[0].Size != int64(len(content)) {
			t.Errorf("uncommitted blocks %+v, want one of %d bytes", bl.UncommittedBlocks, len(content))
		}
		bad := md5.Sum([]byte("not the source"))
		_, err = dst.StageBlockFromURL(ctx, whole, srcURL, &blockblob.StageBlockFromURLOptions{
			SourceContentValidation: blob.SourceContentValidationTypeMD5(bad[:]),
		})
		wantCode(t, err, bloberror.MD5Mismatch, 400)
		_, err = dst.StageBlockFromURL(ctx, whole, srcURL, &blockblob.StageBlockFromURLOptions{
			Range: blob.HTTPRange{Offset: int64(len(content)) + 10, Count: 5},
		})
		wantCode(t, err, bloberror.InvalidRange, 416)
		_, err = dst.StageBlockFromURL(ctx, whole, cc.NewBlobClient("nosuch").URL(), nil)
		wantCode(t, err, bloberror.CannotVerifyCopySource, 404)
	})

	t.Run("append block", func(t *testing.T) {
		dst := cc.NewAppendBlobClient("appended")
		if _, err := dst.Create(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := dst.AppendBlockFromURL(ctx, srcURL, &appendblob.AppendBlockFromURLOptions{Range: blob.HTTPRange{Offset: 10, Count: 20}}); err != nil {
			t.Fatalf("AppendBlockFromURL: %v", err)
		}
		if _, err := dst.AppendBlockFromURL(ctx, srcURL, &appendblob.AppendBlockFromURLOptions{Range: blob.HTTPRange{Offset: 0, Count: 5}}); err != nil {
			t.Fatalf("AppendBlockFromURL: %v", err)
		}
		want := append(append([]byte{}, content[10:30]...), content[:5]...)
		if got := download(t, ctx, c, "fromurl", "appended", nil); !bytes.Equal(got, want) {
			t.Errorf("appended %x, want %x", got, want)
		}
	})

	t.Run("sas", func(t *testing.T) {
		writeOnly, err := cc.NewBlockBlobClient("sasdst").GetSASURL(sas.BlobPermissions{Write: true, Create: true}, time.Now().Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		dst, err := blockblob.NewClientWithNoCredential(writeOnly, nil)
		if err != nil {
			t.Fatal(err)
		}
		id := base64.StdEncoding.EncodeToString([]byte("s0"))
		// The source carries no SAS: the destination's does not grant reading it.
		_, err = dst.StageBlockFromURL(ctx, id, srcURL, nil)
		wantCode(t, err, bloberror.CannotVerifyCopySource, 403)
		readSrc, err := cc.NewBlobClient("src").GetSASURL(sas.BlobPermissions{Read: true}, time.Now().Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dst.StageBlockFromURL(ctx, id, readSrc, nil); err != nil {
			t.Fatalf("StageBlockFromURL with a source SAS: %v", err)
		}
	})

	t.Run("other account", func(t *testing.T) {
		key := testAccounts().m["otheraccount"].Keys[0]
		oc, err := azblob.NewClientFromConnectionString(connectionString(ts.srv.URL+"/otheraccount", "otheraccount", key), nil)
		if err != nil {
			t.Fatal(err)
		}
		mustCreateContainer(t, oc, "theirs")
		dst := oc.ServiceClient().NewContainerClient("theirs").NewBlockBlobClient("stolen")
		_, err = dst.StageBlockFromURL(ctx, base64.StdEncoding.EncodeToString([]byte("x0")), srcURL, nil)
		wantCode(t, err, bloberror.CannotVerifyCopySource, 404)
	})
}

// TestPagesFromURL: Put Page From URL writes the source range it names to
// the destination range, as AzCopy's service-to-service copy of a page
// blob does for each written range of its source.
// https://learn.microsoft.com/rest/api/storageservices/put-page-from-url
func TestPagesFromURL(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "pagesurl")
	src := newPageBlob(t, c, "pagesurl", "src", 8192)
	content := randomBytes(t, 1024)
	uploadPages(t, src, 4096, content)
	dst := newPageBlob(t, c, "pagesurl", "dst", 8192)
	sum := md5.Sum(content)
	if _, err := dst.UploadPagesFromURL(ctx, src.URL(), 4096, 512, 1024, &pageblob.UploadPagesFromURLOptions{
		SourceContentValidation: blob.SourceContentValidationTypeMD5(sum[:]),
	}); err != nil {
		t.Fatalf("UploadPagesFromURL: %v", err)
	}
	want := make([]byte, 8192)
	copy(want[512:], content)
	if got := download(t, ctx, c, "pagesurl", "dst", nil); !bytes.Equal(got, want) {
		t.Errorf("destination does not hold the source's pages at 512")
	}
	if diff := cmp.Diff([]pageSpan{{512, 1535}}, pageRangesOf(t, dst, nil)); diff != "" {
		t.Errorf("page ranges (-want +got):\n%s", diff)
	}
	_, err := dst.UploadPagesFromURL(ctx, src.URL(), 8192-512, 0, 1024, nil)
	wantCode(t, err, bloberror.InvalidRange, 416)
	_, err = dst.UploadPagesFromURL(ctx, src.URL(), 0, 0, 1000, nil)
	wantCode(t, err, bloberror.InvalidPageRange, 416)
}
