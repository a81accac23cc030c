package blob

import (
	"context"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
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
