package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// Writes that race reads, copies and container deletes. Each test here
// failed before the fix it guards (found in review, 2026-12-02).

// TestGetBlobNeverMixesVersions: a blob's extents are keyed by its name,
// not its version, so a read that loaded the row must not then take the
// extents of a version committed since: it sees errContentChanged (and
// Get Blob reads again) rather than new bytes under the old ETag. Through
// HTTP, downloads racing re-commits always get the bytes of the version
// their ETag names.
func TestGetBlobNeverMixesVersions(t *testing.T) {
	ts := startService(t, Config{})
	c := newClient(t, ts)
	ctx := context.Background()
	if _, err := c.CreateContainer(ctx, "race", nil); err != nil {
		t.Fatal(err)
	}
	bb := c.ServiceClient().NewContainerClient("race").NewBlockBlobClient("x")
	fill := func(l byte) []byte { return bytes.Repeat([]byte{l}, 100_000) }
	stageAndCommit(t, ctx, bb, map[string][]byte{blockID(0): fill('A'), blockID(1): fill('A')}, []string{blockID(0), blockID(1)})
	old, err := getBlob(ctx, ts.svc.rdb(), DevelopmentAccountName, "race", "x", "")
	if err != nil {
		t.Fatal(err)
	}
	stageAndCommit(t, ctx, bb, map[string][]byte{blockID(2): fill('B'), blockID(3): fill('B')}, []string{blockID(2), blockID(3)})
	if _, _, err := ts.svc.openContent(ctx, old, 0, old.Size); !errors.Is(err, errContentChanged) {
		t.Fatalf("opening the content of a replaced version: %v, want errContentChanged", err)
	}

	var mu sync.Mutex
	letterOf := map[string]byte{} // ETag → the letter its content is made of
	commit := func(l byte, i int) error {
		ids := []string{blockID(2 * i), blockID(2*i + 1)}
		for _, id := range ids {
			if _, err := bb.StageBlock(ctx, id, streaming.NopCloser(bytes.NewReader(fill(l))), nil); err != nil {
				return err
			}
		}
		r, err := bb.CommitBlockList(ctx, ids, nil)
		if err == nil {
			mu.Lock()
			letterOf[string(*r.ETag)] = l
			mu.Unlock()
		}
		return err
	}
	if err := commit('A', 10); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for i := 11; i < 160; i++ {
			if err := commit("AB"[i%2], i); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	reads, mixed := 0, 0
	deadline := time.Now().Add(time.Minute)
	for running := true; running && time.Now().Before(deadline); {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
		}
		r, err := bb.DownloadStream(ctx, nil)
		if err != nil {
			t.Fatalf("download: %v", err)
		}
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			t.Fatalf("download body: %v", err)
		}
		reads++
		mu.Lock()
		l, known := letterOf[string(*r.ETag)]
		mu.Unlock()
		if known && (len(body) != 200_000 || bytes.Count(body, []byte{l}) != len(body)) {
			mixed++
		}
	}
	t.Logf("%d downloads raced re-commits", reads)
	if mixed > 0 {
		t.Errorf("%d of %d downloads had content other than their ETag's version", mixed, reads)
	}
}

// TestCopyOfPageBlobNeverCopiesZeros: a copy whose page-blob source is
// deleted or replaced while the copy commits either copies the pages the
// source had or fails; it never succeeds with missing pages.
func TestCopyOfPageBlobNeverCopiesZeros(t *testing.T) {
	ts := startService(t, Config{})
	c := newClient(t, ts)
	ctx := context.Background()
	if _, err := c.CreateContainer(ctx, "race", nil); err != nil {
		t.Fatal(err)
	}
	src, dst := pageClient(c, "race", "src"), pageClient(c, "race", "dst")
	copied := 0
	for i := range 150 {
		newPageBlob(t, c, "race", "src", 512)
		uploadPages(t, src, 0, bytes.Repeat([]byte("A"), 512))
		var wg sync.WaitGroup
		wg.Go(func() {
			time.Sleep(time.Duration(i%7) * 100 * time.Microsecond)
			src.Delete(ctx, nil)
		})
		_, err := dst.CopyFromURL(ctx, src.URL(), nil)
		wg.Wait()
		if err != nil {
			continue // the source was gone first: a refusal is right
		}
		copied++
		if got := downloadPages(t, dst, nil); !bytes.Equal(got, bytes.Repeat([]byte("A"), 512)) {
			t.Fatalf("copy %d succeeded but holds %q…, not the source's pages", i, got[:8])
		}
	}
	t.Logf("%d of 150 copies succeeded", copied)
}

// TestNothingAddedBehindAContainerPurge: page writes that race the deletion
// of their container add no rows the purge misses, so a new container of
// the same name starts empty.
func TestNothingAddedBehindAContainerPurge(t *testing.T) {
	ts := startService(t, Config{})
	c := newClient(t, ts)
	ctx := context.Background()
	for round := range 3 {
		if _, err := c.CreateContainer(ctx, "race", nil); err != nil {
			t.Fatal(err)
		}
		fillRows(t, ts, "race", 20_000) // so that the purge takes a while
		pb := newPageBlob(t, c, "race", "zzz", 512)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				pb.UploadPages(ctx, streaming.NopCloser(bytes.NewReader(bytes.Repeat([]byte("S"), 512))), blob.HTTPRange{Offset: 0, Count: 512}, nil)
			}
		})
		time.Sleep(5 * time.Millisecond)
		if _, err := c.DeleteContainer(ctx, "race", nil); err != nil {
			t.Fatal(err)
		}
		close(stop)
		wg.Wait()
		var pages, blobs int
		if err := ts.svc.reader.QueryRow(`SELECT (SELECT count(*) FROM pages WHERE container = 'race'), (SELECT count(*) FROM blobs WHERE container = 'race')`).Scan(&pages, &blobs); err != nil {
			t.Fatal(err)
		}
		if pages > 0 || blobs > 0 {
			t.Fatalf("round %d: %d page rows and %d blob rows left behind the purge", round, pages, blobs)
		}
	}
}

// TestPutPageRangeBounds: a range whose end overflows or lies past any
// page blob is refused (it once passed the alignment check and "wrote"
// nothing, or panicked sizing the body), and a body sent chunked where
// none is allowed is refused rather than dropped.
func TestPutPageRangeBounds(t *testing.T) {
	for _, v := range []string{
		"bytes=9223372036854775296-9223372036854775807",
		"bytes=0-9223372036854775807",
		fmt.Sprintf("bytes=%d-%d", maxPageBlobSize, maxPageBlobSize+511),
	} {
		h := http.Header{}
		h.Set("x-ms-range", v)
		if _, _, err := pageWriteRange(h); !errors.Is(err, errInvalidPageRange) {
			t.Errorf("pageWriteRange(%s): %v, want InvalidPageRange", v, err)
		}
	}

	ts := startService(t, Config{})
	c := newClient(t, ts)
	ctx := context.Background()
	if _, err := c.CreateContainer(ctx, "race", nil); err != nil {
		t.Fatal(err)
	}
	pb := newPageBlob(t, c, "race", "p", 1024)
	_, err := pb.UploadPages(ctx, streaming.NopCloser(bytes.NewReader(make([]byte, 512))), blob.HTTPRange{Offset: 9223372036854775296, Count: 512}, nil)
	wantCode(t, err, "InvalidPageRange", 416)

	u, err := pb.BlobClient().GetSASURL(sas.BlobPermissions{Write: true, Create: true}, time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	chunked := func(query string, h map[string]string) int {
		req, err := http.NewRequest("PUT", u+query, io.MultiReader(bytes.NewReader(make([]byte, 512))))
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = -1
		req.Header.Set("x-ms-version", "2023-11-03")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := ts.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := chunked("&comp=page", map[string]string{"x-ms-page-write": "update", "x-ms-range": "bytes=0-9223372036854775807"}); got != 416 {
		t.Errorf("chunked Put Page with an overflowing range: %d, want 416", got)
	}
	if got := chunked("&comp=page", map[string]string{"x-ms-page-write": "clear", "x-ms-range": "bytes=0-511"}); got != 400 {
		t.Errorf("chunked body on a Put Page that clears: %d, want 400", got)
	}
	if got := chunked("", map[string]string{"x-ms-blob-type": "PageBlob", "x-ms-blob-content-length": "1024"}); got != 400 {
		t.Errorf("chunked body on a Put Blob creating a page blob: %d, want 400", got)
	}
	if got := chunked("", map[string]string{"x-ms-blob-type": "AppendBlob"}); got != 400 {
		t.Errorf("chunked body on a Put Blob creating an append blob: %d, want 400", got)
	}
}
