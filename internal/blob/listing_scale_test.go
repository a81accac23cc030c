package blob

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// fillRows inserts n empty blob rows named "dirDD/fileNNNNNNN" (20
// directories) into a container, or n containers named "cNNNNNNN", straight
// into the database: listing is what is under test, not uploading.
func fillRows(t *testing.T, ts *testServer, containerName string, n int) {
	t.Helper()
	ctx := context.Background()
	err := ts.svc.tx(ctx, func(tx *sql.Tx) error {
		now := time.Now().UTC()
		for i := range n {
			if containerName == "" {
				_, err := tx.ExecContext(ctx, `INSERT INTO containers (account, name, etag, last_modified) VALUES (?, ?, ?, ?)`,
					DevelopmentAccountName, fmt.Sprintf("c%07d", i), newETag(now), now.UnixNano())
				if err != nil {
					return err
				}
				continue
			}
			b := &blobRow{Account: DevelopmentAccountName, Container: containerName, Name: fmt.Sprintf("dir%02d/file%07d", i%20, i),
				Type: "BlockBlob", ETag: newETag(now), Created: now, LastModified: now, ContentType: "application/octet-stream"}
			if err := putBlob(ctx, tx, b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// allocated returns the bytes the process allocated while fn ran.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestListingMemoryIsBounded: listing a page costs the same whatever the
// size of what is listed. A page of 1,000 blobs out of 200,000 allocates
// about as much as a page of 1,000 out of 1,000; a delimiter listing of 20
// virtual directories over 200,000 blobs about as much as over 1,000 (it
// skips each directory with one query rather than reading its blobs); and
// a page of 1,000 containers out of 5,000 as much as out of 1,000. The
// whole process is measured (the SDK client runs in it too), so each
// comparison allows a factor of 2; reading everything would cost 200×.
func TestListingMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 200,000 rows")
	}
	ctx := context.Background()
	measure := func(t *testing.T, containers int, blobs int) (flat, delim, containersPage uint64) {
		ts := startService(t, Config{})
		c := newClient(t, ts)
		if _, err := c.CreateContainer(ctx, "big", nil); err != nil {
			t.Fatal(err)
		}
		fillRows(t, ts, "big", blobs)
		fillRows(t, ts, "", containers)
		cc := c.ServiceClient().NewContainerClient("big")
		flat = allocated(func() {
			page, err := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{MaxResults: to.Ptr[int32](1000)}).NextPage(ctx)
			if err != nil || len(page.Segment.BlobItems) != 1000 {
				t.Fatalf("flat page: %v", err)
			}
		})
		delim = allocated(func() {
			page, err := cc.NewListBlobsHierarchyPager("/", nil).NextPage(ctx)
			if err != nil || len(page.Segment.BlobPrefixes) != 20 {
				t.Fatalf("delimiter page: %d prefixes, %v", len(page.Segment.BlobPrefixes), err)
			}
		})
		containersPage = allocated(func() {
			page, err := c.ServiceClient().NewListContainersPager(&service.ListContainersOptions{MaxResults: to.Ptr[int32](1000)}).NextPage(ctx)
			if err != nil || len(page.ContainerItems) != 1000 {
				t.Fatalf("containers page: %v", err)
			}
		})
		return flat, delim, containersPage
	}
	sf, sd, sc := measure(t, 1000, 1000)
	bf, bd, bc := measure(t, 5000, 200_000)
	for _, m := range []struct {
		what        string
		small, huge uint64
	}{
		{"a flat page of 1,000 blobs", sf, bf},
		{"a delimiter page of 20 directories", sd, bd},
		{"a page of 1,000 containers", sc, bc},
	} {
		t.Logf("%s: %d KiB from the small listing, %d KiB from the large one", m.what, m.small>>10, m.huge>>10)
		if m.huge > 2*m.small {
			t.Errorf("%s allocated %d KiB from the large listing, %d KiB from the small one: memory grows with what is listed", m.what, m.huge>>10, m.small>>10)
		}
	}
}
