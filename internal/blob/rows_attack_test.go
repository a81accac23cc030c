package blob

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// TestAttackEmptyObjectsFillTheDisk: Create Container and a Put Block
// List that makes a new blob of no blocks store no content, but each adds
// a row with up to 8 KiB of metadata (and a blob ten tags) to the
// platform's database, and neither has a count limit: a tenant looping
// over new names took the disk's reserve, which every other write stops
// at, a row at a time. Both are refused on a short disk (503 ServerBusy);
// metadata of what exists, reads and deletes go on.
func TestAttackEmptyObjectsFillTheDisk(t *testing.T) {
	ctx := context.Background()
	disk, _, c := reserveService(t, nil)
	if _, err := c.CreateContainer(ctx, "full", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadBuffer(ctx, "full", "keep", []byte("kept"), nil); err != nil {
		t.Fatal(err)
	}
	md := map[string]*string{"pad": to.Ptr(strings.Repeat("m", 7<<10))}
	cc := c.ServiceClient().NewContainerClient("full")

	disk.set(512 << 20) // below the 1 GiB reserve
	for i := range 3 {
		_, err := c.ServiceClient().NewContainerClient(fmt.Sprintf("cont%d", i)).Create(ctx, &container.CreateOptions{Metadata: md})
		wantCode(t, err, bloberror.ServerBusy, 503)
		_, err = cc.NewBlockBlobClient(fmt.Sprintf("b%d", i)).CommitBlockList(ctx, nil, &blockblob.CommitBlockListOptions{Metadata: md})
		wantCode(t, err, bloberror.ServerBusy, 503)
	}
	if _, err := cc.NewBlobClient("keep").SetMetadata(ctx, md, nil); err != nil {
		t.Errorf("Set Blob Metadata on a short disk: %v", err)
	}
	if got := download(t, ctx, c, "full", "keep", nil); string(got) != "kept" {
		t.Errorf("keep = %q", got)
	}
	if _, err := c.DeleteBlob(ctx, "full", "keep", nil); err != nil {
		t.Errorf("Delete Blob on a short disk: %v", err)
	}

	disk.set(100 << 30)
	if _, err := c.ServiceClient().NewContainerClient("cont0").Create(ctx, &container.CreateOptions{Metadata: md}); err != nil {
		t.Errorf("Create Container once space is back: %v", err)
	}
	if _, err := cc.NewBlockBlobClient("b0").CommitBlockList(ctx, nil, nil); err != nil {
		t.Errorf("Put Block List once space is back: %v", err)
	}
}
