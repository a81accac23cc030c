package blob

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/google/go-cmp/cmp"
)

// Blob Batch driven by the real Go SDK's batch builders, at service and
// container scope, with SharedKey and with SAS.

// uploadBlobs creates container cont holding the named small blobs.
func uploadBlobs(t *testing.T, c *azblob.Client, cont string, names ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateContainer(ctx, cont, nil); err != nil {
		t.Fatalf("CreateContainer %s: %v", cont, err)
	}
	for _, n := range names {
		if _, err := c.UploadBuffer(ctx, cont, n, []byte("content of "+n), nil); err != nil {
			t.Fatalf("UploadBuffer %s/%s: %v", cont, n, err)
		}
	}
}

// listNames lists the blob names of a container.
func listNames(t *testing.T, c *azblob.Client, cont string) []string {
	t.Helper()
	var got []string
	p := c.NewListBlobsFlatPager(cont, nil)
	for p.More() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("listing %s: %v", cont, err)
		}
		for _, it := range page.Segment.BlobItems {
			got = append(got, *it.Name)
		}
	}
	return got
}

// batchOutcome is a batch item as "container/blob: OK" or
// "container/blob: <code>". (The SDK splits the sub-request's path into
// container and blob naively: path-style, the account is its "container".)
func batchOutcome(cont, name *string, err error) string {
	res := "OK"
	if err != nil {
		res = "error"
		for _, code := range []bloberror.Code{bloberror.BlobNotFound, bloberror.LeaseIDMissing, bloberror.ContainerNotFound,
			bloberror.InvalidHeaderValue, bloberror.AuthorizationPermissionMismatch, bloberror.SnapshotsPresent} {
			if bloberror.HasCode(err, code) {
				res = string(code)
			}
		}
	}
	return fmt.Sprintf("%s: %s", strings.TrimPrefix(*cont+"/"+*name, DevelopmentAccountName+"/"), res)
}

func serviceOutcomes(t *testing.T, resp service.SubmitBatchResponse) []string {
	t.Helper()
	var out []string
	for _, it := range resp.Responses {
		if it.RequestID == nil || *it.RequestID == "" {
			t.Errorf("item %v has no x-ms-request-id", *it.BlobName)
		}
		out = append(out, batchOutcome(it.ContainerName, it.BlobName, it.Error))
	}
	return out
}

func accessTier(t *testing.T, c *azblob.Client, cont, name string) string {
	t.Helper()
	p, err := c.ServiceClient().NewContainerClient(cont).NewBlobClient(name).GetProperties(context.Background(), nil)
	if err != nil {
		t.Fatalf("GetProperties %s/%s: %v", cont, name, err)
	}
	return *p.AccessTier
}

func TestGoSDKBatchServiceScope(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	uploadBlobs(t, c, "one", "a", "b", "dir/c d")
	uploadBlobs(t, c, "two", "x", "leased")
	lc, err := lease.NewBlobClient(c.ServiceClient().NewContainerClient("two").NewBlobClient("leased"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.AcquireLease(ctx, -1, nil); err != nil {
		t.Fatal(err)
	}

	t.Run("delete across containers, with failures", func(t *testing.T) {
		bb, err := c.ServiceClient().NewBatchBuilder()
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range [][2]string{{"one", "a"}, {"one", "missing"}, {"two", "x"}, {"one", "dir/c d"}, {"two", "leased"}, {"nocontainer", "z"}} {
			if err := bb.Delete(it[0], it[1], nil); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := c.ServiceClient().SubmitBatch(ctx, bb, nil)
		if err != nil {
			t.Fatalf("SubmitBatch: %v", err)
		}
		want := []string{"one/a: OK", "one/missing: BlobNotFound", "two/x: OK", "one/dir/c d: OK", "two/leased: LeaseIdMissing", "nocontainer/z: ContainerNotFound"}
		if diff := cmp.Diff(want, serviceOutcomes(t, resp)); diff != "" {
			t.Errorf("outcomes (-want +got):\n%s", diff)
		}
		if resp.RequestID == nil || *resp.RequestID == "" {
			t.Error("batch has no x-ms-request-id")
		}
		if diff := cmp.Diff([]string{"b"}, listNames(t, c, "one")); diff != "" {
			t.Errorf("container one after batch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"leased"}, listNames(t, c, "two")); diff != "" {
			t.Errorf("container two after batch (-want +got):\n%s", diff)
		}
	})

	t.Run("set tier", func(t *testing.T) {
		bb, err := c.ServiceClient().NewBatchBuilder()
		if err != nil {
			t.Fatal(err)
		}
		if err := bb.SetTier("one", "b", blob.AccessTierCool, nil); err != nil {
			t.Fatal(err)
		}
		if err := bb.SetTier("two", "leased", blob.AccessTierArchive, &service.BatchSetTierOptions{
			SetTierOptions: blob.SetTierOptions{AccessConditions: &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: lc.LeaseID()}}},
		}); err != nil {
			t.Fatal(err)
		}
		resp, err := c.ServiceClient().SubmitBatch(ctx, bb, nil)
		if err != nil {
			t.Fatalf("SubmitBatch: %v", err)
		}
		if diff := cmp.Diff([]string{"one/b: OK", "two/leased: OK"}, serviceOutcomes(t, resp)); diff != "" {
			t.Errorf("outcomes (-want +got):\n%s", diff)
		}
		if got := accessTier(t, c, "one", "b"); got != "Cool" {
			t.Errorf("tier of one/b = %s, want Cool", got)
		}
		if got := accessTier(t, c, "two", "leased"); got != "Archive" {
			t.Errorf("tier of two/leased = %s, want Archive", got)
		}
	})

	// As Azurite's "SubmitBatch with SAS token": srt=o suffices for the
	// batch request itself; each sub-request needs the SAS's permission.
	for _, tt := range []struct {
		name  string
		perms sas.AccountPermissions
		want  []string
		left  []string
	}{
		{"account SAS", sas.AccountPermissions{Delete: true}, []string{"sas/p: OK", "sas/q: OK"}, nil},
		{"account SAS without the sub-requests' permission", sas.AccountPermissions{Read: true},
			[]string{"sas/p: AuthorizationPermissionMismatch", "sas/q: AuthorizationPermissionMismatch"}, []string{"p", "q"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			uploadBlobs(t, c, "sas", "p", "q")
			defer c.DeleteContainer(ctx, "sas", nil)
			sc, err := service.NewClientWithNoCredential(ts.endpoint()+"/?"+accountSAS(t, tt.perms), nil)
			if err != nil {
				t.Fatal(err)
			}
			bb, err := sc.NewBatchBuilder()
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{"p", "q"} {
				if err := bb.Delete("sas", n, nil); err != nil {
					t.Fatal(err)
				}
			}
			resp, err := sc.SubmitBatch(ctx, bb, nil)
			if err != nil {
				t.Fatalf("SubmitBatch: %v", err)
			}
			if diff := cmp.Diff(tt.want, serviceOutcomes(t, resp)); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.left, listNames(t, c, "sas")); diff != "" {
				t.Errorf("blobs left (-want +got):\n%s", diff)
			}
		})
	}
}

// accountSAS is the query of an account SAS for objects of the development
// account, valid for an hour.
func accountSAS(t *testing.T, perms sas.AccountPermissions) string {
	t.Helper()
	return accountSASFor(t, sas.AccountResourceTypes{Object: true}, perms)
}

// accountSASFor is accountSAS for the resource types types.
func accountSASFor(t *testing.T, types sas.AccountResourceTypes, perms sas.AccountPermissions) string {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(DevelopmentAccountName, DevelopmentAccountKey)
	if err != nil {
		t.Fatal(err)
	}
	qp, err := sas.AccountSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().UTC().Add(time.Hour),
		Permissions: perms.String(), ResourceTypes: types.String(),
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	return qp.Encode()
}

func TestGoSDKBatchContainerScope(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	uploadBlobs(t, c, "scoped", "a", "b", "c", "snap")
	uploadBlobs(t, c, "elsewhere", "a")
	cc := c.ServiceClient().NewContainerClient("scoped")
	if _, err := cc.NewBlobClient("snap").CreateSnapshot(ctx, nil); err != nil {
		t.Fatal(err)
	}

	outcomes := func(t *testing.T, resp container.SubmitBatchResponse) []string {
		var out []string
		for _, it := range resp.Responses {
			out = append(out, batchOutcome(it.ContainerName, it.BlobName, it.Error))
		}
		return out
	}

	t.Run("set tier", func(t *testing.T) {
		bb, err := cc.NewBatchBuilder()
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"a", "b"} {
			if err := bb.SetTier(n, blob.AccessTierArchive, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := bb.SetTier("c", blob.AccessTier("Lukewarm"), nil); err != nil {
			t.Fatal(err)
		}
		resp, err := cc.SubmitBatch(ctx, bb, nil)
		if err != nil {
			t.Fatalf("SubmitBatch: %v", err)
		}
		if diff := cmp.Diff([]string{"scoped/a: OK", "scoped/b: OK", "scoped/c: InvalidHeaderValue"}, outcomes(t, resp)); diff != "" {
			t.Errorf("outcomes (-want +got):\n%s", diff)
		}
		for n, want := range map[string]string{"a": "Archive", "b": "Archive", "c": "Hot"} {
			if got := accessTier(t, c, "scoped", n); got != want {
				t.Errorf("tier of %s = %s, want %s", n, got, want)
			}
		}
	})

	t.Run("delete, with snapshots", func(t *testing.T) {
		bb, err := cc.NewBatchBuilder()
		if err != nil {
			t.Fatal(err)
		}
		if err := bb.Delete("snap", nil); err != nil {
			t.Fatal(err)
		}
		if err := bb.Delete("snap", &container.BatchDeleteOptions{DeleteOptions: blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeInclude)}}); err != nil {
			t.Fatal(err)
		}
		if err := bb.Delete("a", nil); err != nil {
			t.Fatal(err)
		}
		resp, err := cc.SubmitBatch(ctx, bb, nil)
		if err != nil {
			t.Fatalf("SubmitBatch: %v", err)
		}
		if diff := cmp.Diff([]string{"scoped/snap: SnapshotsPresent", "scoped/snap: OK", "scoped/a: OK"}, outcomes(t, resp)); diff != "" {
			t.Errorf("outcomes (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"b", "c"}, listNames(t, c, "scoped")); diff != "" {
			t.Errorf("blobs after batch (-want +got):\n%s", diff)
		}
	})

	t.Run("container SAS", func(t *testing.T) {
		sasURL, err := cc.GetSASURL(sas.ContainerPermissions{Read: true, Delete: true}, time.Now().Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		scc, err := container.NewClientWithNoCredential(sasURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		bb, err := scc.NewBatchBuilder()
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"b", "c"} {
			if err := bb.Delete(n, nil); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := scc.SubmitBatch(ctx, bb, nil)
		if err != nil {
			t.Fatalf("SubmitBatch: %v", err)
		}
		if diff := cmp.Diff([]string{"scoped/b: OK", "scoped/c: OK"}, outcomes(t, resp)); diff != "" {
			t.Errorf("outcomes (-want +got):\n%s", diff)
		}
		if got := listNames(t, c, "scoped"); len(got) != 0 {
			t.Errorf("blobs left: %v", got)
		}
	})

}
