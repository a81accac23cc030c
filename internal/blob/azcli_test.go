package blob

// Behaviours azure-cli's own storage scenario tests expect of Azure, found by
// replaying them with the real az (cmd/slipway TestRealAzStorageScenarios);
// each test here fails without its fix.

import (
	"context"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// TestAbortCopyWithoutPendingCopy: `az storage blob copy cancel` sends
// Abort Copy Blob (PUT ?comp=copy&copyid=…, x-ms-copy-action: abort),
// which Slipway answered 400 UnsupportedHttpVerb. Its copies finish before
// Copy Blob answers, so an abort is Azure's answer to an abort after the
// copy finished: 409 NoPendingCopyOperation
// (test_storage_blob_copy_cancel_nopendingcopyoperation_error), and 404
// for a blob that does not exist.
func TestAbortCopyWithoutPendingCopy(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "copies")
	if _, err := c.UploadBuffer(ctx, "copies", "src", []byte("data"), nil); err != nil {
		t.Fatal(err)
	}
	cc := c.ServiceClient().NewContainerClient("copies")
	dst := cc.NewBlobClient("dst")
	res, err := dst.StartCopyFromURL(ctx, cc.NewBlobClient("src").URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = dst.AbortCopyFromURL(ctx, *res.CopyID, nil)
	wantCode(t, err, bloberror.NoPendingCopyOperation, 409)
	_, err = cc.NewBlobClient("missing").AbortCopyFromURL(ctx, "abcdabcd-abcd-abcd-abcd-abcdabcdabcd", nil)
	wantCode(t, err, bloberror.BlobNotFound, 404)
}

// TestAccessPolicyKeepsNoFilterPermission: Azure keeps a stored access
// policy's permissions without f (Find Blobs by Tags), so `az storage
// container policy create --permissions racwdxyltfmei` lists racwdxyltmei
// (test_storage_container_access_policy_scenario); Slipway kept the f,
// and a SAS naming the policy could find blobs by tags.
func TestAccessPolicyKeepsNoFilterPermission(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "policies")
	cc := c.ServiceClient().NewContainerClient("policies")
	id, perm := "policyone", "racwdxyltfmei"
	if _, err := cc.SetAccessPolicy(ctx, &container.SetAccessPolicyOptions{ContainerACL: []*container.SignedIdentifier{
		{ID: &id, AccessPolicy: &container.AccessPolicy{Permission: &perm}},
	}}); err != nil {
		t.Fatal(err)
	}
	got, err := cc.GetAccessPolicy(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.SignedIdentifiers) != 1 || *got.SignedIdentifiers[0].AccessPolicy.Permission != "racwdxyltmei" {
		t.Fatalf("stored access policy: %+v, want permission racwdxyltmei", got.SignedIdentifiers)
	}
}
