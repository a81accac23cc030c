package blob

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
)

// TestDeleteContainerManagementPlane: the management plane's delete
// (Blob Containers - Delete) removes a container with its blobs, reports a
// missing one as ErrContainerNotFound, and leaves a leased one alone, as
// its request carries no lease ID.
func TestDeleteContainerManagementPlane(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	acct := DevelopmentAccountName
	if _, _, err := ts.svc.PutContainer(ctx, acct, "media", "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadStream(ctx, "media", "a.txt", strings.NewReader("hello"), nil); err != nil {
		t.Fatal(err)
	}
	lc, err := lease.NewContainerClient(c.ServiceClient().NewContainerClient("media"), &lease.ContainerClientOptions{LeaseID: to.Ptr("11111111-2222-3333-4444-555555555555")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.AcquireLease(ctx, -1, nil); err != nil {
		t.Fatal(err)
	}
	if err := ts.svc.DeleteContainer(ctx, acct, "media"); !errors.Is(err, ErrContainerLeased) {
		t.Fatalf("delete of a leased container = %v, want ErrContainerLeased", err)
	}
	if _, err := ts.svc.Container(ctx, acct, "media"); err != nil {
		t.Fatalf("the leased container is gone: %v", err)
	}
	if _, err := lc.ReleaseLease(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := ts.svc.DeleteContainer(ctx, acct, "media"); err != nil {
		t.Fatalf("delete = %v", err)
	}
	if _, err := ts.svc.Container(ctx, acct, "media"); !errors.Is(err, ErrContainerNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := ts.svc.DeleteContainer(ctx, acct, "media"); !errors.Is(err, ErrContainerNotFound) {
		t.Fatalf("second delete = %v, want ErrContainerNotFound", err)
	}
	// The name is free again, and the old blob did not come back with it.
	if _, created, err := ts.svc.PutContainer(ctx, acct, "media", "", nil); err != nil || !created {
		t.Fatalf("recreate: created %v, %v", created, err)
	}
	pager := c.NewListBlobsFlatPager("media", nil)
	page, err := pager.NextPage(ctx)
	if err != nil || len(page.Segment.BlobItems) != 0 {
		t.Fatalf("blobs after recreate: %v, %v", page.Segment.BlobItems, err)
	}
}
