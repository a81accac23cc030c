package blob

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/google/go-cmp/cmp"
)

// testClock is a settable clock for Config.Now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Do dates each request by the clock, so that SharedKey's date check
// (within 15 minutes of the service's clock) holds as the clock moves.
func (c *testClock) Do(req *policy.Request) (*http.Response, error) {
	req.Raw().Header["x-ms-date"] = []string{c.now().UTC().Format(http.TimeFormat)} // as the signer looks it up
	return req.Next()
}

func enableSoftDelete(t *testing.T, c *azblob.Client, days int32) {
	t.Helper()
	_, err := c.ServiceClient().SetProperties(context.Background(), &service.SetPropertiesOptions{
		DeleteRetentionPolicy: &service.RetentionPolicy{Enabled: to.Ptr(true), Days: to.Ptr(days)}})
	if err != nil {
		t.Fatalf("enabling soft delete: %v", err)
	}
}

// listed is one item of a listing: name, whether a snapshot, whether
// soft-deleted, and its remaining retention days.
type listed struct {
	Name     string
	Snapshot bool
	Deleted  bool
	Days     int32
}

func listAll(t *testing.T, cc *container.Client, inc container.ListBlobsInclude) []listed {
	t.Helper()
	var out []listed
	p := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: inc, MaxResults: to.Ptr[int32](1)})
	for p.More() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("listing: %v", err)
		}
		for _, b := range page.Segment.BlobItems {
			l := listed{Name: *b.Name, Snapshot: b.Snapshot != nil && *b.Snapshot != "", Deleted: b.Deleted != nil && *b.Deleted}
			if b.Properties.RemainingRetentionDays != nil {
				l.Days = *b.Properties.RemainingRetentionDays
			}
			if l.Deleted && b.Properties.DeletedTime == nil {
				t.Errorf("soft-deleted %s listed without DeletedTime", l.Name)
			}
			out = append(out, l)
		}
	}
	return out
}

func fetchBlob(t *testing.T, b *blob.Client) []byte {
	t.Helper()
	r, err := b.DownloadStream(context.Background(), nil)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	defer r.Body.Close()
	data, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestSoftDelete follows "Soft delete for blobs": with the retention policy
// on, deleted blobs and snapshots and the prior state of overwritten blobs
// are kept, hidden from every operation but listings that include deleted,
// until Undelete Blob restores them or their retention ends.
func TestSoftDelete(t *testing.T) {
	clock := &testClock{t: time.Now()}
	ts := startService(t, Config{Now: clock.now})
	ctx := context.Background()
	c, err := azblob.NewClientFromConnectionString(ts.conn, &azblob.ClientOptions{
		ClientOptions: azcore.ClientOptions{PerCallPolicies: []policy.Policy{clock}}})
	if err != nil {
		t.Fatal(err)
	}
	enableSoftDelete(t, c, 7)
	props, err := c.ServiceClient().GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := props.DeleteRetentionPolicy; p == nil || !*p.Enabled || p.Days == nil || *p.Days != 7 {
		t.Fatalf("DeleteRetentionPolicy %+v, want enabled for 7 days", p)
	}
	if _, err := c.CreateContainer(ctx, "soft", nil); err != nil {
		t.Fatal(err)
	}
	cc := c.ServiceClient().NewContainerClient("soft")
	bc := cc.NewBlockBlobClient("a")
	if _, err := bc.UploadBuffer(ctx, []byte("first"), &azblob.UploadBufferOptions{Tags: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := bc.CreateSnapshot(ctx, nil); err != nil {
		t.Fatal(err)
	}
	filesBefore := contentFiles(t, ts)

	// Delete Blob (with its snapshot): gone from Get, listing, Find Blobs
	// by Tags; kept, and listed with include=deleted.
	if _, err := bc.Delete(ctx, &blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeInclude)}); err != nil {
		t.Fatal(err)
	}
	_, err = bc.GetProperties(ctx, nil)
	wantCode(t, err, bloberror.BlobNotFound, 404)
	_, err = bc.DownloadStream(ctx, nil)
	wantCode(t, err, bloberror.BlobNotFound, 404)
	if got := listAll(t, cc, container.ListBlobsInclude{Snapshots: true}); len(got) != 0 {
		t.Errorf("default listing after delete: %+v, want none", got)
	}
	found, err := c.ServiceClient().FilterBlobs(ctx, `"k" = 'v'`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(found.Blobs) != 0 {
		t.Errorf("Find Blobs by Tags found %d soft-deleted blobs", len(found.Blobs))
	}
	want := []listed{{"a", true, true, 7}, {"a", false, true, 7}}
	if diff := cmp.Diff(want, listAll(t, cc, container.ListBlobsInclude{Snapshots: true, Deleted: true})); diff != "" {
		t.Errorf("include=deleted,snapshots (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[1:], listAll(t, cc, container.ListBlobsInclude{Deleted: true})); diff != "" {
		t.Errorf("include=deleted (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(filesBefore, contentFiles(t, ts)); diff != "" {
		t.Errorf("soft delete removed content (-before +after):\n%s", diff)
	}

	// Undelete Blob restores the blob, its snapshot and its tags; again,
	// it changes nothing.
	for range 2 {
		if _, err := bc.Undelete(ctx, nil); err != nil {
			t.Fatalf("undelete: %v", err)
		}
	}
	if got := string(fetchBlob(t, bc.BlobClient())); got != "first" {
		t.Errorf("undeleted content %q", got)
	}
	if diff := cmp.Diff([]listed{{"a", true, false, 0}, {"a", false, false, 0}}, listAll(t, cc, container.ListBlobsInclude{Snapshots: true, Deleted: true})); diff != "" {
		t.Errorf("after undelete (-want +got):\n%s", diff)
	}
	found, err = c.ServiceClient().FilterBlobs(ctx, `"k" = 'v'`, nil)
	if err != nil || len(found.Blobs) != 1 {
		t.Errorf("Find Blobs by Tags after undelete: %v, %v", found.Blobs, err)
	}

	// An overwrite keeps the prior state as a soft-deleted snapshot, which
	// Undelete Blob restores as a readable snapshot.
	if _, err := bc.UploadBuffer(ctx, []byte("second"), nil); err != nil {
		t.Fatal(err)
	}
	want = []listed{{"a", true, false, 0}, {"a", true, true, 7}, {"a", false, false, 0}}
	if diff := cmp.Diff(want, listAll(t, cc, container.ListBlobsInclude{Snapshots: true, Deleted: true})); diff != "" {
		t.Errorf("after overwrite (-want +got):\n%s", diff)
	}
	if _, err := bc.Undelete(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var snaps []string
	p := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Snapshots: true}})
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Segment.BlobItems {
			if b.Snapshot != nil && *b.Snapshot != "" {
				snaps = append(snaps, *b.Snapshot)
			}
		}
	}
	if len(snaps) != 2 || snaps[0] >= snaps[1] {
		t.Fatalf("snapshots %v, want two, oldest first", snaps)
	}
	kept, err := bc.WithSnapshot(snaps[1])
	if err != nil {
		t.Fatal(err)
	}
	if got := string(fetchBlob(t, kept.BlobClient())); got != "first" {
		t.Errorf("the overwritten state reads %q, want first", got)
	}
	if got := string(fetchBlob(t, bc.BlobClient())); got != "second" {
		t.Errorf("the blob reads %q, want second", got)
	}

	// Deleting only the snapshots soft-deletes them.
	if _, err := bc.Delete(ctx, &blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeOnly)}); err != nil {
		t.Fatal(err)
	}
	want = []listed{{"a", true, true, 7}, {"a", true, true, 7}, {"a", false, false, 0}}
	if diff := cmp.Diff(want, listAll(t, cc, container.ListBlobsInclude{Snapshots: true, Deleted: true})); diff != "" {
		t.Errorf("after deleting the snapshots (-want +got):\n%s", diff)
	}

	// A name with nothing, live or deleted, is BlobNotFound.
	_, err = cc.NewBlobClient("nothing").Undelete(ctx, nil)
	wantCode(t, err, bloberror.BlobNotFound, 404)

	// Retention: a day later, six days remain; past seven, nothing is
	// listed or restored, and the sweep removes the content.
	if _, err := bc.Delete(ctx, nil); err != nil {
		t.Fatal(err)
	}
	clock.advance(24 * time.Hour)
	for _, l := range listAll(t, cc, container.ListBlobsInclude{Snapshots: true, Deleted: true}) {
		if l.Days != 6 {
			t.Errorf("a day after deletion %+v, want 6 days remaining", l)
		}
	}
	clock.advance(6*24*time.Hour + time.Second)
	if got := listAll(t, cc, container.ListBlobsInclude{Snapshots: true, Deleted: true}); len(got) != 0 {
		t.Errorf("listing after retention ended: %+v", got)
	}
	_, err = bc.Undelete(ctx, nil)
	wantCode(t, err, bloberror.BlobNotFound, 404)
	if err := ts.svc.sweepExpired(ctx); err != nil {
		t.Fatal(err)
	}
	if got := contentFiles(t, ts); len(got) != 0 {
		t.Errorf("content left after the retention ended: %v", got)
	}
	var rows int
	if err := ts.svc.reader.QueryRow(`SELECT (SELECT count(*) FROM blobs) + (SELECT count(*) FROM extents) + (SELECT count(*) FROM blob_tags)`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("rows left after the retention ended: %d, %v", rows, err)
	}
}

// TestSoftDeleteOverwriteKinds: a page blob's pages and an extents blob's
// blocks are kept with the overwritten state, and a write of another blob
// type over a soft-deleted blob drops its soft-deleted data.
func TestSoftDeleteOverwriteKinds(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	enableSoftDelete(t, c, 1)
	if _, err := c.CreateContainer(ctx, "kinds", nil); err != nil {
		t.Fatal(err)
	}
	cc := c.ServiceClient().NewContainerClient("kinds")
	pb := cc.NewPageBlobClient("p")
	if _, err := pb.Create(ctx, 512, nil); err != nil {
		t.Fatal(err)
	}
	page := bytes.Repeat([]byte("x"), 512)
	if _, err := pb.UploadPages(ctx, streamOf(page), blob.HTTPRange{Count: 512}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pb.Create(ctx, 512, nil); err != nil { // overwrite: a new, empty page blob
		t.Fatal(err)
	}
	if got := fetchBlob(t, pb.BlobClient()); !bytes.Equal(got, make([]byte, 512)) {
		t.Errorf("the new page blob is not empty")
	}
	if _, err := pb.Undelete(ctx, nil); err != nil {
		t.Fatal(err)
	}
	items := listSnapshots(t, cc)
	if len(items) != 1 {
		t.Fatalf("snapshots %v, want the overwritten page blob", items)
	}
	old, _ := pb.WithSnapshot(items[0])
	if got := fetchBlob(t, old.BlobClient()); !bytes.Equal(got, page) {
		t.Errorf("the overwritten page blob lost its pages")
	}

	// Blocks committed as extents.
	bb := cc.NewBlockBlobClient("b")
	big := bytes.Repeat([]byte("y"), 100<<10)
	if _, err := bb.UploadBuffer(ctx, big, &azblob.UploadBufferOptions{BlockSize: 64 << 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := bb.Delete(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// Another type over the soft-deleted block blob: its data goes.
	ab := cc.NewAppendBlobClient("b")
	if _, err := ab.Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ab.Undelete(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for _, l := range listAll(t, cc, container.ListBlobsInclude{Snapshots: true, Deleted: true}) {
		if l.Name == "b" && (l.Snapshot || l.Deleted) {
			t.Errorf("soft-deleted data of another blob type kept: %+v", l)
		}
	}
	// The same type over a soft-deleted blob keeps it as a snapshot.
	if _, err := bb.UploadBuffer(ctx, big, &azblob.UploadBufferOptions{BlockSize: 64 << 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := bb.Delete(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := bb.UploadBuffer(ctx, []byte("small"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := bb.Undelete(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	for _, s := range listSnapshots(t, cc) {
		if s == items[0] {
			continue
		}
		sc, _ := bb.WithSnapshot(s)
		got = append(got, fetchBlob(t, sc.BlobClient()))
	}
	// The append blob overwritten by the second upload, then the deleted
	// block blob.
	if len(got) != 2 || len(got[0]) != 0 || !bytes.Equal(got[1], big) {
		t.Errorf("kept states of b: %d, want the append blob and the deleted block blob", len(got))
	}
}

func listSnapshots(t *testing.T, cc *container.Client) []string {
	t.Helper()
	var out []string
	p := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Snapshots: true}})
	for p.More() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Segment.BlobItems {
			if b.Snapshot != nil && *b.Snapshot != "" {
				out = append(out, *b.Snapshot)
			}
		}
	}
	return out
}

// TestSoftDeletePolicyValidation: Set Blob Service Properties refuses a
// retention policy Azure refuses, and what Slipway does not serve.
func TestSoftDeletePolicyValidation(t *testing.T) {
	ts := startService(t, Config{})
	for _, tc := range []struct{ name, policy, code string }{
		{"days 0", `<Enabled>true</Enabled><Days>0</Days>`, "InvalidXmlNodeValue"},
		{"days 366", `<Enabled>true</Enabled><Days>366</Days>`, "InvalidXmlNodeValue"},
		{"days not a number", `<Enabled>true</Enabled><Days>x</Days>`, "InvalidXmlNodeValue"},
		{"enabled without days", `<Enabled>true</Enabled>`, "InvalidXmlDocument"},
		{"no enabled", `<Days>3</Days>`, "InvalidXmlDocument"},
		{"permanent delete", `<Enabled>true</Enabled><Days>3</Days><AllowPermanentDelete>true</AllowPermanentDelete>`, "FeatureNotSupported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `<?xml version="1.0" encoding="utf-8"?><StorageServiceProperties><DeleteRetentionPolicy>` + tc.policy + `</DeleteRetentionPolicy></StorageServiceProperties>`
			status, got := devDo(t, ts, http.MethodPut, "/?restype=service&comp=properties", body)
			if status != 400 || !strings.Contains(got, "<Code>"+tc.code+"</Code>") {
				t.Errorf("got %d %s, want 400 %s", status, got, tc.code)
			}
		})
	}
	c := newClient(t, ts)
	props, err := c.ServiceClient().GetProperties(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if *props.DeleteRetentionPolicy.Enabled {
		t.Errorf("a refused policy was stored")
	}
	// Permanent delete (deletetype=permanent) is refused, not ignored.
	if status, got := devDo(t, ts, http.MethodDelete, "/ccc/b?deletetype=permanent", ""); status != 400 || !strings.Contains(got, "<Code>FeatureNotSupported</Code>") {
		t.Errorf("deletetype=permanent: %d %s", status, got)
	}
}

// TestAttack_SoftDelete: deleted blobs stay the account's own, Undelete
// needs Write, a container's deletion takes its soft-deleted blobs, and
// soft-deleted content stays on disk (so it counts against the disk
// reserve, which measures the disk).
func TestAttack_SoftDelete(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	enableSoftDelete(t, c, 7)
	if _, err := c.CreateContainer(ctx, "shared", nil); err != nil {
		t.Fatal(err)
	}
	secret := bytes.Repeat([]byte("s"), 100<<10) // stored in a file
	if _, err := c.UploadBuffer(ctx, "shared", "secret", secret, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteBlob(ctx, "shared", "secret", nil); err != nil {
		t.Fatal(err)
	}
	if len(contentFiles(t, ts)) == 0 {
		t.Fatal("soft-deleted content is not on disk")
	}

	t.Run("another account sees and restores nothing", func(t *testing.T) {
		other := testAccounts().m["otheraccount"]
		oc, err := azblob.NewClientFromConnectionString(connectionString(ts.srv.URL+"/otheraccount", other.Name, other.Keys[0]), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := oc.CreateContainer(ctx, "shared", nil); err != nil {
			t.Fatal(err)
		}
		occ := oc.ServiceClient().NewContainerClient("shared")
		if got := listAll(t, occ, container.ListBlobsInclude{Deleted: true, Snapshots: true}); len(got) != 0 {
			t.Errorf("another account lists %+v", got)
		}
		_, err = occ.NewBlobClient("secret").Undelete(ctx, nil)
		wantCode(t, err, bloberror.BlobNotFound, 404)
	})

	t.Run("undelete needs Write, not Delete", func(t *testing.T) {
		cred, err := azblob.NewSharedKeyCredential(DevelopmentAccountName, DevelopmentAccountKey)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			perms sas.BlobPermissions
			ok    bool
		}{{sas.BlobPermissions{Delete: true, Read: true}, false}, {sas.BlobPermissions{Write: true}, true}} {
			qp, err := sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour),
				ContainerName: "shared", BlobName: "secret", Permissions: tc.perms.String()}.SignWithSharedKey(cred)
			if err != nil {
				t.Fatal(err)
			}
			bc, err := blob.NewClientWithNoCredential(ts.endpoint()+"/shared/secret?"+qp.Encode(), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = bc.Undelete(ctx, nil)
			if tc.ok && err != nil {
				t.Errorf("SAS %s: %v", tc.perms.String(), err)
			}
			if !tc.ok {
				wantCode(t, err, bloberror.AuthorizationPermissionMismatch, 403)
			}
		}
		if _, err := c.DeleteBlob(ctx, "shared", "secret", nil); err != nil {
			t.Fatal(err)
		}
		// Anonymous, even on a public container: no.
		if _, err := c.ServiceClient().NewContainerClient("shared").SetAccessPolicy(ctx, &container.SetAccessPolicyOptions{Access: to.Ptr(container.PublicAccessTypeContainer)}); err != nil {
			t.Fatal(err)
		}
		anon, _ := blob.NewClientWithNoCredential(ts.endpoint()+"/shared/secret", nil)
		if _, err := anon.Undelete(ctx, nil); err == nil {
			t.Errorf("anonymous undelete succeeded")
		}
		if _, err := anon.DownloadStream(ctx, nil); err == nil {
			t.Errorf("anonymous read of a soft-deleted blob succeeded")
		}
	})

	t.Run("a container's deletion takes its soft-deleted blobs", func(t *testing.T) {
		if _, err := c.DeleteContainer(ctx, "shared", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateContainer(ctx, "shared", nil); err != nil {
			t.Fatal(err)
		}
		if got := listAll(t, c.ServiceClient().NewContainerClient("shared"), container.ListBlobsInclude{Deleted: true, Snapshots: true}); len(got) != 0 {
			t.Errorf("the new container lists %+v", got)
		}
		_, err := c.ServiceClient().NewContainerClient("shared").NewBlobClient("secret").Undelete(ctx, nil)
		wantCode(t, err, bloberror.BlobNotFound, 404)
		if got := contentFiles(t, ts); len(got) != 0 {
			t.Errorf("content left: %v", got)
		}
	})
}

// TestCopyFromURLRequiresBlockBlob: Copy Blob From URL
// (x-ms-requires-sync) copies only block blobs.
func TestCopyFromURLRequiresBlockBlob(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	if _, err := c.CreateContainer(ctx, "cpy", &azblob.CreateContainerOptions{Access: to.Ptr(container.PublicAccessTypeContainer)}); err != nil {
		t.Fatal(err)
	}
	cc := c.ServiceClient().NewContainerClient("cpy")
	if _, err := cc.NewPageBlobClient("page").Create(ctx, 512, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.NewAppendBlobClient("append").Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.NewBlockBlobClient("block").UploadBuffer(ctx, []byte("b"), nil); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{"page", "append"} {
		_, err := cc.NewBlobClient("dst").CopyFromURL(ctx, ts.endpoint()+"/cpy/"+src, nil)
		wantCode(t, err, bloberror.InvalidBlobType, 409)
	}
	if _, err := cc.NewBlobClient("dst").CopyFromURL(ctx, ts.endpoint()+"/cpy/block", nil); err != nil {
		t.Errorf("block blob: %v", err)
	}
	// Copy Blob (asynchronous on Azure) still copies a page blob.
	if _, err := cc.NewBlobClient("dst2").StartCopyFromURL(ctx, ts.endpoint()+"/cpy/page", nil); err != nil {
		t.Errorf("Copy Blob of a page blob: %v", err)
	}
}

// devDo sends a raw request for the development account, signed with its key.
func devDo(t *testing.T, ts *testServer, method, path, body string) (int, string) {
	t.Helper()
	return attackDo(t, ts, method, "/"+DevelopmentAccountName+path, nil, body, DevelopmentAccountName, DevelopmentAccount().Keys[0])
}

func streamOf(b []byte) io.ReadSeekCloser { return streaming.NopCloser(bytes.NewReader(b)) }
