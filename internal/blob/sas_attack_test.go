package blob

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// TestAttackAccountSASSetsContainerACL: an account SAS for containers
// (srt=c) with write let its holder call Set Container ACL, making a
// private container public — every blob in it readable by anyone, which
// the SAS itself (no srt=o, no read) never granted — and Get Container ACL
// read the stored access policies. Azure gives an account SAS no
// permission-related operation (Set/Get Container ACL): they are refused.
func TestAttackAccountSASSetsContainerACL(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "private")
	if _, err := c.UploadBuffer(ctx, "private", "secret", []byte("secret"), nil); err != nil {
		t.Fatal(err)
	}
	qp := containerAccountSAS(t, sas.AccountPermissions{Read: true, Write: true, List: true})
	acl := "/devstoreaccount1/private?restype=container&comp=acl&" + qp
	if st, _ := attackDo(t, ts, "PUT", "/devstoreaccount1/private?restype=container&comp=metadata&"+qp,
		map[string]string{"x-ms-meta-k": "v"}, "", "", nil); st != http.StatusOK {
		t.Fatalf("Set Container Metadata with the account SAS: %d (the SAS should work for what it grants)", st)
	}
	if st, body := attackDo(t, ts, "PUT", acl, map[string]string{"x-ms-blob-public-access": "container"}, "", "", nil); st < 400 {
		t.Errorf("Set Container ACL with an account SAS: %d %s", st, body)
	}
	if st, body := attackDo(t, ts, "GET", acl, nil, "", "", nil); st < 400 {
		t.Errorf("Get Container ACL with an account SAS: %d %s", st, body)
	}
	resp, err := ts.srv.Client().Get(ts.endpoint() + "/private/secret")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("anonymous read of a private container's blob after Set Container ACL by an account SAS: %d", resp.StatusCode)
	}
}

// TestAttackAnonymousListingReadsTags: blob index tags are not public —
// Get Blob Tags refuses anonymous callers — but List Blobs with
// include=tags in a public container returned every blob's tags to
// anyone. An anonymous listing now leaves tags out.
func TestAttackAnonymousListingReadsTags(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	cc := c.ServiceClient().NewContainerClient("public")
	if _, err := cc.Create(ctx, &container.CreateOptions{Access: to.Ptr(container.PublicAccessTypeContainer)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadBuffer(ctx, "public", "b", []byte("public content"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.NewBlobClient("b").SetTags(ctx, map[string]string{"owner": "tagsecret"}, nil); err != nil {
		t.Fatal(err)
	}
	get := func(q string) (int, string) {
		resp, err := ts.srv.Client().Get(ts.endpoint() + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, _ := get("/public/b?comp=tags"); st < 400 {
		t.Fatalf("anonymous Get Blob Tags: %d", st)
	}
	st, body := get("/public?restype=container&comp=list&include=tags,metadata")
	if st != http.StatusOK || !strings.Contains(body, "<Name>b</Name>") {
		t.Fatalf("anonymous listing of a public container: %d %s", st, body)
	}
	if strings.Contains(body, "tagsecret") {
		t.Fatalf("anonymous listing returned the blob's tags: %s", body)
	}
}

// TestAttackAccountSASCreatesPublicContainer: an account SAS that may
// create containers created them with x-ms-blob-public-access, a
// permission setting an account SAS does not reach (Set Container ACL is
// refused to it): its holder could create "backups" public before the
// owner's app did, which then, finding it there, wrote its blobs where
// anyone reads them. Creating a public container takes the account key or
// a token with the role.
func TestAttackAccountSASCreatesPublicContainer(t *testing.T) {
	ts := startService(t, Config{})
	qp := containerAccountSAS(t, sas.AccountPermissions{Create: true, Write: true})
	for _, pa := range []string{"container", "blob"} {
		name := "planted-" + pa
		if st, body := attackDo(t, ts, "PUT", "/devstoreaccount1/"+name+"?restype=container&"+qp,
			map[string]string{"x-ms-blob-public-access": pa}, "", "", nil); st < 400 {
			t.Errorf("Create Container with public access %q by an account SAS: %d %s", pa, st, body)
		}
	}
	if st, body := attackDo(t, ts, "PUT", "/devstoreaccount1/private-one?restype=container&"+qp, nil, "", "", nil); st != http.StatusCreated {
		t.Fatalf("Create Container (private) by the account SAS: %d %s", st, body)
	}
}

// containerAccountSAS is the query of an account SAS of the development
// account for containers (srt=c) with perms, valid for an hour.
func containerAccountSAS(t *testing.T, perms sas.AccountPermissions) string {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(DevelopmentAccountName, DevelopmentAccountKey)
	if err != nil {
		t.Fatal(err)
	}
	qp, err := sas.AccountSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().UTC().Add(time.Hour),
		Permissions: perms.String(), ResourceTypes: to.Ptr(sas.AccountResourceTypes{Container: true}).String(),
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	return qp.Encode()
}
