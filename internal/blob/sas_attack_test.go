package blob

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
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
	qp := accountSASFor(t, sas.AccountResourceTypes{Container: true}, sas.AccountPermissions{Read: true, Write: true, List: true})
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
	qp := accountSASFor(t, sas.AccountResourceTypes{Container: true}, sas.AccountPermissions{Create: true, Write: true})
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

// TestAttackAccountSASUnsignedOverrides: the response header overrides
// (rsct, rscd, ...) are signed by a service SAS only, not by an account
// SAS, yet they were applied under one: anyone holding or relaying an
// account SAS URL could add rsct=text/html and have any blob it reads
// served as a page of the blob origin. An account SAS with overrides is
// refused.
func TestAttackAccountSASUnsignedOverrides(t *testing.T) {
	ts := startService(t, Config{})
	c := newClient(t, ts)
	mustCreateContainer(t, c, "uploads")
	if _, err := c.UploadBuffer(context.Background(), "uploads", "avatar.png", []byte("<script>alert(1)</script>"), nil); err != nil {
		t.Fatal(err)
	}
	q := accountSAS(t, sas.AccountPermissions{Read: true})
	get := func(extra string) *http.Response {
		resp, err := ts.srv.Client().Get(ts.endpoint() + "/uploads/avatar.png?" + q + extra)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := get(""); resp.StatusCode != http.StatusOK {
		t.Fatalf("reading with the account SAS: %d", resp.StatusCode)
	}
	for _, extra := range []string{"&rsct=text/html", "&rscd=inline"} {
		if resp := get(extra); resp.StatusCode < 400 && (strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || resp.Header.Get("Content-Disposition") == "inline") {
			t.Errorf("account SAS with unsigned %s: %d, Content-Type %q, Content-Disposition %q", extra, resp.StatusCode,
				resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
		}
	}
}

// TestAttackIfTagsOracle: x-ms-if-tags makes a read succeed or fail on a
// blob's index tags, so a caller who may read the blob but not its tags —
// anyone, in a public container, or a SAS without t — could learn each tag
// by comparisons ("owner" < 'm', ...). A condition on tags now needs the
// right to read them.
func TestAttackIfTagsOracle(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	cc := c.ServiceClient().NewContainerClient("public")
	if _, err := cc.Create(ctx, &container.CreateOptions{Access: to.Ptr(container.PublicAccessTypeBlob)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadBuffer(ctx, "public", "b", []byte("public content"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.NewBlobClient("b").SetTags(ctx, map[string]string{"owner": "tagsecret"}, nil); err != nil {
		t.Fatal(err)
	}
	readOnly := accountSAS(t, sas.AccountPermissions{Read: true})
	withTags := accountSAS(t, sas.AccountPermissions{Read: true, Tag: true})
	status := func(q, cond string) int {
		req, err := http.NewRequest("GET", ts.endpoint()+"/public/b"+q, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("x-ms-version", "2021-08-06")
		req.Header.Set("x-ms-if-tags", cond)
		resp, err := ts.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, q := range []string{"", "?" + readOnly} {
		right, wrong := status(q, `"owner" = 'tagsecret'`), status(q, `"owner" = 'other'`)
		if right != wrong || right < 400 {
			t.Errorf("x-ms-if-tags by a caller who may not read tags (query %.20q): %d when true, %d when false", q, right, wrong)
		}
	}
	if right, wrong := status("?"+withTags, `"owner" = 'tagsecret'`), status("?"+withTags, `"owner" = 'other'`); right != http.StatusOK || wrong != http.StatusPreconditionFailed {
		t.Fatalf("x-ms-if-tags with a SAS that reads tags: %d when true, %d when false", right, wrong)
	}
}

// TestAttackSourceIfTagsOracle: x-ms-source-if-tags is the same oracle on
// a copy's source: a SAS that may read the source but not its tags learned
// them from whether the copy ran. It now needs the right to read them.
func TestAttackSourceIfTagsOracle(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "src")
	if _, err := c.UploadBuffer(ctx, "src", "b", []byte("content"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ServiceClient().NewContainerClient("src").NewBlobClient("b").SetTags(ctx, map[string]string{"owner": "tagsecret"}, nil); err != nil {
		t.Fatal(err)
	}
	q := accountSAS(t, sas.AccountPermissions{Read: true, Create: true, Write: true})
	copyWith := func(cond string) int {
		st, _ := attackDo(t, ts, "PUT", "/devstoreaccount1/src/copy-"+strings.Trim(cond[len(cond)-6:], "'")+"?"+q, map[string]string{
			"x-ms-copy-source": ts.endpoint() + "/src/b", "x-ms-source-if-tags": cond}, "", "", nil)
		return st
	}
	if right, wrong := copyWith(`"owner" = 'tagsecret'`), copyWith(`"owner" = 'other1'`); right != wrong || right < 400 {
		t.Fatalf("x-ms-source-if-tags with a SAS that may not read tags: %d when true, %d when false", right, wrong)
	}
}
