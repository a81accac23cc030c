package blob

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/google/go-cmp/cmp"
)

// These tests drive blob index tags with the real Go SDK (azblob).

func getTags(t *testing.T, ctx context.Context, bc *blob.Client, o *blob.GetTagsOptions) map[string]string {
	t.Helper()
	resp, err := bc.GetTags(ctx, o)
	if err != nil {
		t.Fatalf("GetTags: %v", err)
	}
	out := map[string]string{}
	for _, tag := range resp.BlobTagSet {
		out[*tag.Key] = *tag.Value
	}
	return out
}

func ifTags(expr string) *blob.AccessConditions {
	return &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfTags: to.Ptr(expr)}}
}

func TestGoSDKBlobTags(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "tags")
	cc := c.ServiceClient().NewContainerClient("tags")
	tags := map[string]string{"project": "contoso", "stage": "raw data/2026:01"}

	t.Run("tags on upload, tag count on properties, download and listing", func(t *testing.T) {
		if _, err := c.UploadBuffer(ctx, "tags", "up", []byte("hello"), &azblob.UploadBufferOptions{Tags: tags}); err != nil {
			t.Fatal(err)
		}
		bc := cc.NewBlobClient("up")
		if diff := cmp.Diff(tags, getTags(t, ctx, bc, nil)); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
		p, err := bc.GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.TagCount == nil || *p.TagCount != 2 {
			t.Errorf("properties tag count = %v, want 2", p.TagCount)
		}
		d, err := bc.DownloadStream(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		d.Body.Close()
		if d.TagCount == nil || *d.TagCount != 2 {
			t.Errorf("download tag count = %v, want 2", d.TagCount)
		}
		page, err := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Tags: true}}).NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		item := page.Segment.BlobItems[0]
		if *item.Name != "up" || item.Properties.TagCount == nil || *item.Properties.TagCount != 2 || item.BlobTags == nil {
			t.Fatalf("listed %s with tag count %v and tags %v", *item.Name, item.Properties.TagCount, item.BlobTags)
		}
		listed := map[string]string{}
		for _, tag := range item.BlobTags.BlobTagSet {
			listed[*tag.Key] = *tag.Value
		}
		if diff := cmp.Diff(tags, listed); diff != "" {
			t.Errorf("listed tags (-want +got):\n%s", diff)
		}
	})

	t.Run("set tags replaces them and keeps ETag and Last-Modified", func(t *testing.T) {
		bc := cc.NewBlobClient("up")
		before, err := bc.GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bc.SetTags(ctx, map[string]string{"only": "one"}, nil); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"only": "one"}, getTags(t, ctx, bc, nil)); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
		after, err := bc.GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if *before.ETag != *after.ETag || !before.LastModified.Equal(*after.LastModified) {
			t.Errorf("ETag %s -> %s, Last-Modified %v -> %v", *before.ETag, *after.ETag, before.LastModified, after.LastModified)
		}
		if _, err := bc.SetTags(ctx, nil, nil); err != nil {
			t.Fatal(err)
		}
		if got := getTags(t, ctx, bc, nil); len(got) != 0 {
			t.Errorf("after clearing: %v", got)
		}
		p, err := bc.GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.TagCount != nil {
			t.Errorf("tag count of an untagged blob = %d, want no header", *p.TagCount)
		}
	})

	t.Run("overwriting a blob drops its tags", func(t *testing.T) {
		if _, err := c.UploadBuffer(ctx, "tags", "over", []byte("1"), &azblob.UploadBufferOptions{Tags: tags}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.UploadBuffer(ctx, "tags", "over", []byte("2"), nil); err != nil {
			t.Fatal(err)
		}
		if got := getTags(t, ctx, cc.NewBlobClient("over"), nil); len(got) != 0 {
			t.Errorf("tags after overwrite: %v", got)
		}
	})

	t.Run("invalid tags are refused with Azure's codes", func(t *testing.T) {
		bc := cc.NewBlobClient("up")
		eleven := map[string]string{}
		for i := range 11 {
			eleven[fmt.Sprintf("tag%d", i)] = "v"
		}
		for _, tc := range []struct {
			name string
			tags map[string]string
			code bloberror.Code
		}{
			{"eleven tags", eleven, "TagsTooLarge"},
			{"empty key", map[string]string{"": "v"}, "EmptyTagName"},
			{"key of 129", map[string]string{strings.Repeat("k", 129): "v"}, "TagsTooLarge"},
			{"value of 257", map[string]string{"k": strings.Repeat("v", 257)}, "TagsTooLarge"},
			{"percent", map[string]string{"k": "a%b"}, "InvalidTag"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := bc.SetTags(ctx, tc.tags, nil)
				wantCode(t, err, tc.code, 400)
				_, err = c.UploadBuffer(ctx, "tags", "bad-upload", []byte("x"), &azblob.UploadBufferOptions{Tags: tc.tags})
				wantCode(t, err, tc.code, 400)
			})
		}
		if _, err := cc.NewBlobClient("bad-upload").GetProperties(ctx, nil); !bloberror.HasCode(err, bloberror.BlobNotFound) {
			t.Errorf("an upload with invalid tags left a blob: %v", err)
		}
	})

	t.Run("snapshots keep the base blob's tags and have their own", func(t *testing.T) {
		bc := cc.NewBlobClient("snap")
		if _, err := c.UploadBuffer(ctx, "tags", "snap", []byte("x"), &azblob.UploadBufferOptions{Tags: tags}); err != nil {
			t.Fatal(err)
		}
		s, err := bc.CreateSnapshot(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := bc.WithSnapshot(*s.Snapshot)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tags, getTags(t, ctx, sc, nil)); diff != "" {
			t.Errorf("snapshot tags (-want +got):\n%s", diff)
		}
		if _, err := sc.SetTags(ctx, map[string]string{"snap": "only"}, nil); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"snap": "only"}, getTags(t, ctx, sc, nil)); diff != "" {
			t.Errorf("snapshot tags after set (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(tags, getTags(t, ctx, bc, nil)); diff != "" {
			t.Errorf("base tags after setting the snapshot's (-want +got):\n%s", diff)
		}
	})

	t.Run("x-ms-if-tags on reads, writes, deletes and the tags themselves", func(t *testing.T) {
		if _, err := c.UploadBuffer(ctx, "tags", "cond", []byte("x"), &azblob.UploadBufferOptions{Tags: tags}); err != nil {
			t.Fatal(err)
		}
		bc := cc.NewBlobClient("cond")
		met, unmet := `project = 'contoso' AND "stage" > 'raw'`, `project <> 'contoso' OR stage < 'a'`
		if _, err := bc.GetProperties(ctx, &blob.GetPropertiesOptions{AccessConditions: ifTags(met)}); err != nil {
			t.Errorf("properties with a met condition: %v", err)
		}
		_, err := bc.GetProperties(ctx, &blob.GetPropertiesOptions{AccessConditions: ifTags(unmet)})
		wantCode(t, err, bloberror.ConditionNotMet, 412)
		_, err = bc.DownloadStream(ctx, &blob.DownloadStreamOptions{AccessConditions: ifTags(unmet)})
		wantCode(t, err, bloberror.ConditionNotMet, 412)
		_, err = bc.SetMetadata(ctx, map[string]*string{"k": to.Ptr("v")}, &blob.SetMetadataOptions{AccessConditions: ifTags(unmet)})
		wantCode(t, err, bloberror.ConditionNotMet, 412)
		_, err = c.UploadBuffer(ctx, "tags", "cond", []byte("y"), &azblob.UploadBufferOptions{AccessConditions: ifTags(unmet)})
		wantCode(t, err, bloberror.ConditionNotMet, 412)
		_, err = bc.GetTags(ctx, &blob.GetTagsOptions{BlobAccessConditions: ifTags(unmet)})
		wantCode(t, err, bloberror.ConditionNotMet, 412)
		_, err = bc.SetTags(ctx, nil, &blob.SetTagsOptions{AccessConditions: ifTags(unmet)})
		wantCode(t, err, bloberror.ConditionNotMet, 412)
		_, err = bc.Delete(ctx, &blob.DeleteOptions{AccessConditions: ifTags(unmet)})
		wantCode(t, err, bloberror.ConditionNotMet, 412)
		_, err = bc.GetProperties(ctx, &blob.GetPropertiesOptions{AccessConditions: ifTags(`project==contoso`)})
		wantCode(t, err, bloberror.InvalidHeaderValue, 400)
		_, err = c.UploadBuffer(ctx, "tags", "new-blob", []byte("y"), &azblob.UploadBufferOptions{AccessConditions: ifTags(met)})
		wantCode(t, err, bloberror.ConditionNotMet, 412) // a missing blob has no tags
		if diff := cmp.Diff(tags, getTags(t, ctx, bc, nil)); diff != "" {
			t.Errorf("tags changed by failed requests (-want +got):\n%s", diff)
		}
		if _, err := bc.Delete(ctx, &blob.DeleteOptions{AccessConditions: ifTags(met)}); err != nil {
			t.Errorf("delete with a met condition: %v", err)
		}
	})

	t.Run("tags under a lease need its ID", func(t *testing.T) {
		if _, err := c.UploadBuffer(ctx, "tags", "leased", []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
		bc := cc.NewBlobClient("leased")
		lc, err := lease.NewBlobClient(bc, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lc.AcquireLease(ctx, -1, nil); err != nil {
			t.Fatal(err)
		}
		_, err = bc.SetTags(ctx, tags, nil)
		wantCode(t, err, bloberror.LeaseIDMissing, 412)
		withLease := &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: lc.LeaseID()}}
		if _, err := bc.SetTags(ctx, tags, &blob.SetTagsOptions{AccessConditions: withLease}); err != nil {
			t.Fatalf("SetTags with the lease ID: %v", err)
		}
		wrong := &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: to.Ptr("3c7e72eb-b430-4526-bc53-d8ecef03798f")}}
		_, err = bc.GetTags(ctx, &blob.GetTagsOptions{BlobAccessConditions: wrong})
		wantCode(t, err, bloberror.LeaseIDMismatchWithBlobOperation, 412)
	})

	t.Run("copies take x-ms-tags or, asked, the source's", func(t *testing.T) {
		if _, err := c.UploadBuffer(ctx, "tags", "src", []byte("source"), &azblob.UploadBufferOptions{Tags: tags}); err != nil {
			t.Fatal(err)
		}
		src := cc.NewBlobClient("src").URL()
		dst := cc.NewBlockBlobClient("dst")
		if _, err := dst.StartCopyFromURL(ctx, src, nil); err != nil {
			t.Fatal(err)
		}
		if got := getTags(t, ctx, dst.BlobClient(), nil); len(got) != 0 {
			t.Errorf("a copy without tags got %v", got)
		}
		if _, err := dst.StartCopyFromURL(ctx, src, &blob.StartCopyFromURLOptions{BlobTags: map[string]string{"copied": "yes"}}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"copied": "yes"}, getTags(t, ctx, dst.BlobClient(), nil)); diff != "" {
			t.Errorf("tags of a copy with x-ms-tags (-want +got):\n%s", diff)
		}
		if _, err := dst.UploadBlobFromURL(ctx, src, &blockblob.UploadBlobFromURLOptions{CopySourceTags: to.Ptr(blockblob.BlobCopySourceTagsCopy)}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tags, getTags(t, ctx, dst.BlobClient(), nil)); diff != "" {
			t.Errorf("tags of a copy with COPY (-want +got):\n%s", diff)
		}
		_, err := dst.UploadBlobFromURL(ctx, src, &blockblob.UploadBlobFromURLOptions{
			CopySourceTags: to.Ptr(blockblob.BlobCopySourceTagsCopy), Tags: map[string]string{"k": "v"}})
		wantCode(t, err, "BothUserTagsAndSourceTagsCopyPresentException", 400)
		_, err = dst.StartCopyFromURL(ctx, src, &blob.StartCopyFromURLOptions{
			SourceModifiedAccessConditions: &blob.SourceModifiedAccessConditions{SourceIfTags: to.Ptr(`project = 'other'`)}})
		wantCode(t, err, "SourceConditionNotMet", 412)
		if _, err := dst.StartCopyFromURL(ctx, src, &blob.StartCopyFromURLOptions{
			SourceModifiedAccessConditions: &blob.SourceModifiedAccessConditions{SourceIfTags: to.Ptr(`project = 'contoso'`)}}); err != nil {
			t.Errorf("copy with a met source condition: %v", err)
		}
	})

	t.Run("SAS permission t grants the tags operations", func(t *testing.T) {
		bc := cc.NewBlobClient("src")
		for _, tc := range []struct {
			perms sas.BlobPermissions
			ok    bool
		}{
			{sas.BlobPermissions{Tag: true}, true},
			{sas.BlobPermissions{Read: true, Write: true}, false},
		} {
			u, err := bc.GetSASURL(tc.perms, time.Now().Add(time.Hour), nil)
			if err != nil {
				t.Fatal(err)
			}
			sc, err := blob.NewClientWithNoCredential(u, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, gerr := sc.GetTags(ctx, nil)
			_, serr := sc.SetTags(ctx, tags, nil)
			for _, err := range []error{gerr, serr} {
				if tc.ok && err != nil {
					t.Errorf("with %+v: %v", tc.perms, err)
				}
				if !tc.ok {
					wantCode(t, err, bloberror.AuthorizationPermissionMismatch, 403)
				}
			}
		}
	})
}

// foundNames pages through Find Blobs by Tags (service level when cc is
// nil) and returns container/name of each blob found, with its tags.
func foundNames(t *testing.T, ctx context.Context, sc *service.Client, cc *container.Client, where string, pageSize int32) ([]string, int) {
	t.Helper()
	var got []string
	var marker *string
	pages := 0
	for pages < 100 {
		var seg service.FilterBlobSegment
		if cc == nil {
			resp, err := sc.FilterBlobs(ctx, where, &service.FilterBlobsOptions{MaxResults: &pageSize, Marker: marker})
			if err != nil {
				t.Fatalf("FilterBlobs %q: %v", where, err)
			}
			seg = resp.FilterBlobSegment
		} else {
			resp, err := cc.FilterBlobs(ctx, where, &container.FilterBlobsOptions{MaxResults: &pageSize, Marker: marker})
			if err != nil {
				t.Fatalf("container FilterBlobs %q: %v", where, err)
			}
			seg = resp.FilterBlobSegment
		}
		var items []*blobFound
		for _, b := range seg.Blobs {
			items = append(items, &blobFound{*b.ContainerName, *b.Name, b.Tags.BlobTagSet})
		}
		next := seg.NextMarker
		pages++
		if len(items) > int(pageSize) {
			t.Fatalf("page of %d items, max %d", len(items), pageSize)
		}
		for _, it := range items {
			got = append(got, it.String())
		}
		if next == nil || *next == "" {
			return got, pages
		}
		marker = next
	}
	t.Fatal("FilterBlobs did not finish in 100 pages")
	return nil, 0
}

type blobFound struct {
	container, name string
	tags            []*blob.Tags
}

// String is container/name{k=v,...}, tags sorted.
func (b *blobFound) String() string {
	kv := map[string]string{}
	for _, t := range b.tags {
		kv[*t.Key] = *t.Value
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		parts = append(parts, k+"="+kv[k])
	}
	return b.container + "/" + b.name + "{" + strings.Join(parts, ",") + "}"
}

func TestGoSDKFindBlobsByTags(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	sc := c.ServiceClient()
	for _, name := range []string{"find-a", "find-b", "find-gone"} {
		mustCreateContainer(t, c, name)
	}
	upload := func(cont, name string, tags map[string]string) {
		t.Helper()
		if _, err := c.UploadBuffer(ctx, cont, name, []byte(name), &azblob.UploadBufferOptions{Tags: tags}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		upload("find-a", fmt.Sprintf("a%d", i), map[string]string{"env": "prod", "rank": fmt.Sprint(i)})
		upload("find-b", fmt.Sprintf("b%d", i), map[string]string{"env": []string{"prod", "test"}[i%2], "rank": fmt.Sprint(i)})
	}
	upload("find-a", "untagged", nil)
	upload("find-gone", "g", map[string]string{"env": "prod", "rank": "0"})
	if _, err := c.DeleteContainer(ctx, "find-gone", nil); err != nil {
		t.Fatal(err)
	}
	// A snapshot is never found, nor a deleted blob.
	if _, err := sc.NewContainerClient("find-a").NewBlobClient("a0").CreateSnapshot(ctx, nil); err != nil {
		t.Fatal(err)
	}
	upload("find-b", "deleted", map[string]string{"env": "prod"})
	if _, err := c.DeleteBlob(ctx, "find-b", "deleted", nil); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, where, container string
		want                   []string
	}{
		{"equality across containers, paged", `env = 'prod'`, "", []string{
			"find-a/a0{env=prod}", "find-a/a1{env=prod}", "find-a/a2{env=prod}", "find-a/a3{env=prod}", "find-a/a4{env=prod}",
			"find-b/b0{env=prod}", "find-b/b2{env=prod}", "find-b/b4{env=prod}"}},
		{"range and equality", `"rank" >= '1' AND rank < '3' AND env = 'prod'`, "", []string{
			"find-a/a1{env=prod,rank=1}", "find-a/a2{env=prod,rank=2}", "find-b/b2{env=prod,rank=2}"}},
		{"range only", `rank > '3'`, "", []string{"find-a/a4{rank=4}", "find-b/b4{rank=4}"}},
		{"@container scopes the service", `@container = 'find-b' AND env = 'test'`, "", []string{"find-b/b1{env=test}", "find-b/b3{env=test}"}},
		{"container level", `env = 'prod'`, "find-b", []string{"find-b/b0{env=prod}", "find-b/b2{env=prod}", "find-b/b4{env=prod}"}},
		{"nothing matches", `env = 'staging'`, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cc *container.Client
			if tc.container != "" {
				cc = sc.NewContainerClient(tc.container)
			}
			got, pages := foundNames(t, ctx, sc, cc, tc.where, 2)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("found (-want +got):\n%s", diff)
			}
			if want := max(1, (len(tc.want)+1)/2); pages != want {
				t.Errorf("%d pages, want %d", pages, want)
			}
		})
	}

	t.Run("set tags and delete update what is found", func(t *testing.T) {
		bc := sc.NewContainerClient("find-a").NewBlobClient("untagged")
		if _, err := bc.SetTags(ctx, map[string]string{"env": "staging"}, nil); err != nil {
			t.Fatal(err)
		}
		got, _ := foundNames(t, ctx, sc, nil, `env = 'staging'`, 10)
		if diff := cmp.Diff([]string{"find-a/untagged{env=staging}"}, got); diff != "" {
			t.Errorf("after set (-want +got):\n%s", diff)
		}
		if _, err := bc.Delete(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if got, _ := foundNames(t, ctx, sc, nil, `env = 'staging'`, 10); len(got) != 0 {
			t.Errorf("after delete: %v", got)
		}
	})

	t.Run("invalid expressions are InvalidQueryParameterValue", func(t *testing.T) {
		for _, where := range []string{`env <> 'prod'`, `env = 'prod' OR env = 'test'`, `'env' = 'prod'`, `env = 'a@b'`} {
			_, err := sc.FilterBlobs(ctx, where, nil)
			wantCode(t, err, bloberror.InvalidQueryParameterValue, 400)
			_, err = sc.NewContainerClient("find-a").FilterBlobs(ctx, where, nil)
			wantCode(t, err, bloberror.InvalidQueryParameterValue, 400)
		}
		_, err := sc.FilterBlobs(ctx, `env = 'prod'`, &service.FilterBlobsOptions{Marker: to.Ptr("not base64!")})
		wantCode(t, err, bloberror.InvalidQueryParameterValue, 400)
		_, err = sc.NewContainerClient("missing").FilterBlobs(ctx, `env = 'prod'`, nil)
		wantCode(t, err, bloberror.ContainerNotFound, 404)
	})

	t.Run("SAS permission f grants finding", func(t *testing.T) {
		for _, tc := range []struct {
			perms sas.AccountPermissions
			ok    bool
		}{
			{sas.AccountPermissions{FilterByTags: true}, true},
			{sas.AccountPermissions{Read: true, List: true}, false},
		} {
			u, err := sc.GetSASURL(sas.AccountResourceTypes{Service: true, Container: true}, tc.perms, time.Now().Add(time.Hour), nil)
			if err != nil {
				t.Fatal(err)
			}
			sasc, err := service.NewClientWithNoCredential(u, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, serr := sasc.FilterBlobs(ctx, `env = 'prod'`, nil)
			_, cerr := sasc.NewContainerClient("find-a").FilterBlobs(ctx, `env = 'prod'`, nil)
			for _, err := range []error{serr, cerr} {
				if tc.ok && err != nil {
					t.Errorf("with %+v: %v", tc.perms, err)
				}
				if !tc.ok {
					wantCode(t, err, bloberror.AuthorizationPermissionMismatch, 403)
				}
			}
		}
		u, err := sc.NewContainerClient("find-b").GetSASURL(sas.ContainerPermissions{FilterByTags: true}, time.Now().Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		ccs, err := container.NewClientWithNoCredential(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := ccs.FilterBlobs(ctx, `env = 'test'`, nil)
		if err != nil {
			t.Fatalf("container SAS with f: %v", err)
		}
		if len(resp.Blobs) != 2 {
			t.Errorf("found %d blobs with a container SAS, want 2", len(resp.Blobs))
		}
	})
}

// TestTagIndexFollowsRows checks that blob_tags holds exactly the tags of
// base blobs through every kind of write, as the triggers promise.
func TestTagIndexFollowsRows(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "idx")
	index := func() []string {
		t.Helper()
		rows, err := ts.svc.reader.QueryContext(ctx, `SELECT container, name, key, value FROM blob_tags ORDER BY 1, 2, 3`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var cn, n, k, v string
			if err := rows.Scan(&cn, &n, &k, &v); err != nil {
				t.Fatal(err)
			}
			out = append(out, cn+"/"+n+":"+k+"="+v)
		}
		return out
	}
	bc := c.ServiceClient().NewContainerClient("idx").NewBlobClient("b")
	steps := []struct {
		name string
		do   func() error
		want []string
	}{
		{"upload with tags", func() error {
			_, err := c.UploadBuffer(ctx, "idx", "b", []byte("x"), &azblob.UploadBufferOptions{Tags: map[string]string{"a": "1", "b": "2"}})
			return err
		}, []string{"idx/b:a=1", "idx/b:b=2"}},
		{"set metadata keeps them", func() error {
			_, err := bc.SetMetadata(ctx, map[string]*string{"m": to.Ptr("v")}, nil)
			return err
		}, []string{"idx/b:a=1", "idx/b:b=2"}},
		{"snapshot adds nothing", func() error {
			s, err := bc.CreateSnapshot(ctx, nil)
			if err != nil {
				return err
			}
			snap, err := bc.WithSnapshot(*s.Snapshot)
			if err != nil {
				return err
			}
			_, err = snap.SetTags(ctx, map[string]string{"s": "x"}, nil)
			return err
		}, []string{"idx/b:a=1", "idx/b:b=2"}},
		{"set tags replaces", func() error {
			_, err := bc.SetTags(ctx, map[string]string{"c": "3"}, nil)
			return err
		}, []string{"idx/b:c=3"}},
		{"overwrite without tags clears", func() error {
			_, err := c.UploadBuffer(ctx, "idx", "b", []byte("y"), nil)
			return err
		}, nil},
		{"block list with tags", func() error {
			_, err := c.UploadBuffer(ctx, "idx", "b", make([]byte, 300<<10), &azblob.UploadBufferOptions{BlockSize: 100 << 10, Tags: map[string]string{"d": "4"}})
			return err
		}, []string{"idx/b:d=4"}},
		{"delete with snapshots removes", func() error {
			_, err := bc.Delete(ctx, &blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeInclude)})
			return err
		}, nil},
		{"delete container removes", func() error {
			if _, err := c.UploadBuffer(ctx, "idx", "e", []byte("x"), &azblob.UploadBufferOptions{Tags: map[string]string{"e": "5"}}); err != nil {
				return err
			}
			_, err := c.DeleteContainer(ctx, "idx", nil)
			return err
		}, nil},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if diff := cmp.Diff(st.want, index()); diff != "" {
			t.Fatalf("after %s, index (-want +got):\n%s", st.name, diff)
		}
	}
}

// TestFindQueryPlan checks that every shape of find query walks an index
// in result order (no full scan of blob_tags, no sort of the matches) and
// looks up the other tags of each blob by key.
func TestFindQueryPlan(t *testing.T) {
	ts := startService(t, Config{})
	for _, tc := range []struct {
		name, container string
		conds           []tagCond
		index           string
	}{
		{"equality", "", []tagCond{{"env", "=", "prod"}}, "blob_tags_by_value"},
		{"range", "", []tagCond{{"rank", ">", "1"}, {"rank", "<", "5"}}, "blob_tags_by_name"},
		{"range then equality", "", []tagCond{{"rank", ">", "1"}, {"env", "=", "prod"}, {"@container", "=", "c"}}, "blob_tags_by_value"},
		{"container level", "cont", []tagCond{{"env", "=", "prod"}, {"team", ">=", "a"}}, "blob_tags_by_value"},
		{"container level range", "cont", []tagCond{{"rank", "<=", "9"}}, "blob_tags_by_name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := buildFindQuery("acct", tc.container, tc.conds, findMarker{"a", "b"}, 10)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := ts.svc.reader.Query("EXPLAIN QUERY PLAN "+q.text, q.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			all := strings.Join(plan, "\n")
			if strings.Contains(all, "TEMP B-TREE") || !strings.Contains(plan[0], "t0 USING") || !strings.Contains(plan[0], tc.index) {
				t.Errorf("plan:\n%s\nwant t0 first, through %s, no temp b-tree", all, tc.index)
			}
			for _, p := range plan {
				if strings.HasPrefix(p, "SCAN") {
					t.Errorf("plan scans: %s", p)
				}
				// The other tags are looked up per blob, never scanned.
				if strings.HasPrefix(p, "SEARCH t") && !strings.HasPrefix(p, "SEARCH t0 ") && !strings.Contains(p, "name=?") {
					t.Errorf("plan reads other tags by range: %s", p)
				}
			}
		})
	}
}
