package blob

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/google/go-cmp/cmp"
)

// fakeClock is an adjustable Config.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestFixedLeaseExpires(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	ts := startService(t, Config{Now: clock.Now})
	ctx := context.Background()
	c := newClient(t, ts)
	if _, err := c.CreateContainer(ctx, "exp", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadBuffer(ctx, "exp", "b", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	bc := c.ServiceClient().NewContainerClient("exp").NewBlobClient("b")
	lc, _ := lease.NewBlobClient(bc, nil)
	if _, err := lc.AcquireLease(ctx, 15, nil); err != nil {
		t.Fatal(err)
	}
	_, err := c.UploadBuffer(ctx, "exp", "b", []byte("y"), nil)
	wantCode(t, err, bloberror.LeaseIDMissing, 412)
	clock.Advance(16 * time.Second)
	p, err := bc.GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *p.LeaseState != "expired" || *p.LeaseStatus != "unlocked" {
		t.Errorf("after 16s: %s/%s", *p.LeaseState, *p.LeaseStatus)
	}
	if _, err := c.UploadBuffer(ctx, "exp", "b", []byte("y"), nil); err != nil {
		t.Fatalf("write after expiry: %v", err)
	}
	if _, err := lc.AcquireLease(ctx, 15, nil); err != nil {
		t.Fatalf("re-acquire after expiry: %v", err)
	}
	if _, err := lc.BreakLease(ctx, &lease.BlobBreakOptions{BreakPeriod: to.Ptr[int32](10)}); err != nil {
		t.Fatal(err)
	}
	p, _ = bc.GetProperties(ctx, nil)
	if *p.LeaseState != "breaking" {
		t.Errorf("after break with period: %s", *p.LeaseState)
	}
	clock.Advance(11 * time.Second)
	p, _ = bc.GetProperties(ctx, nil)
	if *p.LeaseState != "broken" {
		t.Errorf("after break period: %s", *p.LeaseState)
	}
}

func TestUncommittedBlobsCRC64EmptyBlobs(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	if _, err := c.CreateContainer(ctx, "misc", nil); err != nil {
		t.Fatal(err)
	}
	cc := c.ServiceClient().NewContainerClient("misc")
	t.Run("include=uncommittedblobs lists staged-only blobs", func(t *testing.T) {
		if _, err := c.UploadBuffer(ctx, "misc", "committed", []byte("c"), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := cc.NewBlockBlobClient("staged-only").StageBlock(ctx, "QUFB", streaming.NopCloser(bytes.NewReader([]byte("abc"))), nil); err != nil {
			t.Fatal(err)
		}
		list := func(inc container.ListBlobsInclude) []string {
			page, err := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: inc}).NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, b := range page.Segment.BlobItems {
				names = append(names, *b.Name)
			}
			return names
		}
		if diff := cmp.Diff([]string{"committed"}, list(container.ListBlobsInclude{})); diff != "" {
			t.Errorf("default listing (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"committed", "staged-only"}, list(container.ListBlobsInclude{UncommittedBlobs: true})); diff != "" {
			t.Errorf("with uncommitted (-want +got):\n%s", diff)
		}
	})
	t.Run("x-ms-content-crc64 validated", func(t *testing.T) {
		data := []byte("crc me please")
		bb := cc.NewBlockBlobClient("crc")
		good := crc64.Checksum(data, crc64Table)
		if _, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), &blockblob.UploadOptions{
			TransactionalValidation: blob.TransferValidationTypeCRC64(good)}); err != nil {
			t.Fatalf("good crc64: %v", err)
		}
		_, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), &blockblob.UploadOptions{
			TransactionalValidation: blob.TransferValidationTypeCRC64(good ^ 1)})
		wantCode(t, err, "Crc64Mismatch", 400)
	})
	t.Run("empty blob", func(t *testing.T) {
		if _, err := c.UploadBuffer(ctx, "misc", "empty", nil, nil); err != nil {
			t.Fatal(err)
		}
		if got := download(t, ctx, c, "misc", "empty", nil); len(got) != 0 {
			t.Fatalf("got %d bytes", len(got))
		}
		_, err := c.DownloadStream(ctx, "misc", "empty", &azblob.DownloadStreamOptions{Range: azblob.HTTPRange{Offset: 0, Count: 10}})
		wantCode(t, err, bloberror.InvalidRange, 416)
	})
	t.Run("SAS response header overrides", func(t *testing.T) {
		if _, err := c.UploadBuffer(ctx, "misc", "report.bin", []byte("pdf"), nil); err != nil {
			t.Fatal(err)
		}
		bc := cc.NewBlobClient("report.bin")
		u, err := bc.GetSASURL(sas.BlobPermissions{Read: true}, time.Now().Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		cred, _ := azblob.NewSharedKeyCredential(DevelopmentAccountName, DevelopmentAccountKey)
		qp, err := sas.BlobSignatureValues{ContainerName: "misc", BlobName: "report.bin", Permissions: "r", ExpiryTime: time.Now().Add(time.Hour),
			ContentType: "application/pdf", ContentDisposition: "attachment; filename=r.pdf"}.SignWithSharedKey(cred)
		if err != nil {
			t.Fatal(err)
		}
		_ = u
		resp, err := ts.srv.Client().Get(bc.URL() + "?" + qp.Encode())
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		got := []string{resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition")}
		if diff := cmp.Diff([]string{"application/pdf", "attachment; filename=r.pdf"}, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

func TestDeleteAccountData(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	if _, err := c.CreateContainer(ctx, "gone", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadBuffer(ctx, "gone", "a", []byte("a"), nil); err != nil {
		t.Fatal(err)
	}
	if err := ts.svc.DeleteAccountData(ctx, DevelopmentAccountName); err != nil {
		t.Fatal(err)
	}
	page, err := c.NewListContainersPager(nil).NextPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.ContainerItems) != 0 {
		t.Errorf("%d containers left", len(page.ContainerItems))
	}
	entries, _ := os.ReadDir(filepath.Join(ts.dir, "content"))
	if len(entries) != 0 {
		t.Errorf("%d content files left", len(entries))
	}
}

func TestOpenRecipeAndStaleBlocks(t *testing.T) {
	dir := t.TempDir()
	clock := &fakeClock{t: time.Now()}
	ctx := context.Background()
	svc, err := Open(ctx, Config{Dir: dir, Accounts: testAccounts(), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := svc.writer.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
	if _, err := svc.writer.ExecContext(ctx, `INSERT INTO blocks (account, container, blob, block_id, size, file, created) VALUES ('a','c','b','id',1,'stale',?)`,
		clock.Now().UnixNano()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "blocks", "stale"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	svc.Close()
	clock.Advance(8 * 24 * time.Hour)
	svc, err = Open(ctx, Config{Dir: dir, Accounts: testAccounts(), Now: clock.Now}) // migrations re-run idempotently
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	var n int
	if err := svc.reader.QueryRowContext(ctx, `SELECT count(*) FROM blocks`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "blocks", "stale")); n != 0 || !os.IsNotExist(err) {
		t.Errorf("stale staged block kept: %d rows, stat err %v", n, err)
	}
}

// A committed blob is replaced atomically: readers racing with overwrites
// always see one complete version.
func TestAtomicReplace(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	if _, err := c.CreateContainer(ctx, "atomic", nil); err != nil {
		t.Fatal(err)
	}
	versions := make([][]byte, 4)
	for i := range versions {
		versions[i] = bytes.Repeat([]byte{byte('a' + i)}, 200_000+i*1000)
	}
	if _, err := c.UploadBuffer(ctx, "atomic", "x", versions[0], nil); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if _, err := c.UploadBuffer(ctx, "atomic", "x", versions[(i+w)%len(versions)], nil); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				resp, err := c.DownloadStream(ctx, "atomic", "x", nil)
				if err != nil {
					errs <- err
					return
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					errs <- err
					return
				}
				ok := false
				for _, v := range versions {
					ok = ok || bytes.Equal(got, v)
				}
				if !ok {
					errs <- fmt.Errorf("read a torn blob of %d bytes", len(got))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Put Block List may reuse committed blocks (Latest falls back to the
// committed block when no staged block has the ID).
func TestBlockListReusesCommittedBlocks(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	if _, err := c.CreateContainer(ctx, "reuse", nil); err != nil {
		t.Fatal(err)
	}
	bb := c.ServiceClient().NewContainerClient("reuse").NewBlockBlobClient("b")
	stage := func(id, content string) {
		t.Helper()
		if _, err := bb.StageBlock(ctx, id, streaming.NopCloser(bytes.NewReader([]byte(content))), nil); err != nil {
			t.Fatal(err)
		}
	}
	stage("QQ==", "AAAA") // A
	stage("Qg==", "BB")   // B
	if _, err := bb.CommitBlockList(ctx, []string{"QQ==", "Qg=="}, nil); err != nil {
		t.Fatal(err)
	}
	stage("Qw==", "CCC") // C
	if _, err := bb.CommitBlockList(ctx, []string{"Qg==", "Qw==", "QQ=="}, nil); err != nil {
		t.Fatal(err)
	}
	if got := string(download(t, ctx, c, "reuse", "b", nil)); got != "BBCCCAAAA" {
		t.Fatalf("content %q, want BBCCCAAAA", got)
	}
	bl, err := bb.GetBlockList(ctx, blockblob.BlockListTypeAll, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range bl.CommittedBlocks {
		got = append(got, fmt.Sprintf("%s:%d", *b.Name, *b.Size))
	}
	if diff := cmp.Diff([]string{"Qg==:2", "Qw==:3", "QQ==:4"}, got); diff != "" {
		t.Errorf("committed blocks (-want +got):\n%s", diff)
	}
	if len(bl.UncommittedBlocks) != 0 {
		t.Errorf("%d uncommitted blocks left after commit", len(bl.UncommittedBlocks))
	}
}

// seedBlobs inserts n blob rows with content files directly (fast), for
// tests of batch behaviour.
func seedBlobs(t *testing.T, svc *Service, container string, n int) {
	t.Helper()
	ctx := context.Background()
	tx, err := svc.writer.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i := 0; i < n; i++ {
		name := randomName()
		if err := os.WriteFile(filepath.Join(svc.contentDir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		b := &blobRow{Account: DevelopmentAccountName, Container: container, Name: fmt.Sprintf("seed/%05d", i), Type: "BlockBlob",
			Size: 1, File: name, ETag: newETag(now), Created: now, LastModified: now, ContentType: "text/plain"}
		if err := putBlob(ctx, tx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestDeleteContainerPurgesInBatches(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	for _, name := range []string{"big", "crashed"} {
		if _, err := c.CreateContainer(ctx, name, nil); err != nil {
			t.Fatal(err)
		}
		seedBlobs(t, ts.svc, name, 2*purgeBatch+17)
	}
	// Listing pages through thousands of blobs.
	count := 0
	p := c.NewListBlobsFlatPager("big", nil)
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		count += len(page.Segment.BlobItems)
	}
	if count != 2*purgeBatch+17 {
		t.Fatalf("listed %d blobs", count)
	}
	if _, err := c.DeleteContainer(ctx, "big", nil); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateContainer(ctx, "big", nil)
	if err != nil {
		t.Fatalf("re-create after delete: %v", err)
	}
	// A purge interrupted by a crash is finished by Open.
	if _, err := ts.svc.writer.Exec(`UPDATE containers SET deleting = 1 WHERE name = 'crashed'`); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateContainer(ctx, "crashed", nil)
	wantCode(t, err, "ContainerBeingDeleted", 409)
	ts.srv.Close()
	if err := ts.svc.Close(); err != nil {
		t.Fatal(err)
	}
	svc, err := Open(ctx, Config{Dir: ts.dir, Accounts: testAccounts()})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	var blobs, containers int
	svc.reader.QueryRow(`SELECT count(*) FROM blobs`).Scan(&blobs)
	svc.reader.QueryRow(`SELECT count(*) FROM containers`).Scan(&containers)
	entries, _ := os.ReadDir(svc.contentDir)
	if blobs != 0 || containers != 1 || len(entries) != 0 {
		t.Errorf("after purge: %d blob rows, %d containers, %d content files", blobs, containers, len(entries))
	}
}

func TestCopyAcrossAccountsAndSnapshotSAS(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	other := testAccounts().m["otheraccount"]
	oc, err := azblob.NewClientFromConnectionString(connectionString(ts.srv.URL+"/otheraccount", "otheraccount", other.Keys[0]), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, cl := range []*azblob.Client{c, oc} {
		if _, err := cl.CreateContainer(ctx, "src", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := oc.UploadBuffer(ctx, "src", "private.txt", []byte("other private"), nil); err != nil {
		t.Fatal(err)
	}
	src := oc.ServiceClient().NewContainerClient("src").NewBlobClient("private.txt")
	dst := c.ServiceClient().NewContainerClient("src").NewBlobClient("copied.txt")
	t.Run("private source in another account without SAS is refused", func(t *testing.T) {
		// The source's own answer to an anonymous read (404, as Azure
		// hides private blobs) under the code CannotVerifyCopySource.
		_, err := dst.StartCopyFromURL(ctx, src.URL(), nil)
		wantCode(t, err, "CannotVerifyCopySource", 404)
	})
	t.Run("source SAS authorises a cross-account copy", func(t *testing.T) {
		u, err := src.GetSASURL(sas.BlobPermissions{Read: true}, time.Now().Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dst.StartCopyFromURL(ctx, u, nil); err != nil {
			t.Fatal(err)
		}
		if got := string(download(t, ctx, c, "src", "copied.txt", nil)); got != "other private" {
			t.Fatalf("copied %q", got)
		}
	})
	t.Run("snapshot SAS", func(t *testing.T) {
		snap, err := src.CreateSnapshot(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := oc.UploadBuffer(ctx, "src", "private.txt", []byte("changed"), nil); err != nil {
			t.Fatal(err)
		}
		sc, err := src.WithSnapshot(*snap.Snapshot)
		if err != nil {
			t.Fatal(err)
		}
		u, err := sc.GetSASURL(sas.BlobPermissions{Read: true}, time.Now().Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(u, "sr=bs") {
			t.Fatalf("SDK did not produce a snapshot SAS: %s", u)
		}
		anon, _ := blob.NewClientWithNoCredential(u, nil)
		resp, err := anon.DownloadStream(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "other private" {
			t.Fatalf("snapshot via SAS = %q", b)
		}
	})
}

// Blob names with characters that need escaping must sign and round-trip.
func TestAwkwardBlobNames(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	if _, err := c.CreateContainer(ctx, "names", nil); err != nil {
		t.Fatal(err)
	}
	names := []string{"spaced name.txt", "plus+and%percent.txt", "q?mark&amp=1.txt", "hash#tag.txt", "ünïcødé/文件.txt", "a//double/slash", "trailing.dot.", "semi;colon,comma'quote\"dq"}
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			if _, err := c.UploadBuffer(ctx, "names", n, []byte(n), nil); err != nil {
				t.Fatal(err)
			}
			if got := string(download(t, ctx, c, "names", n, nil)); got != n {
				t.Fatalf("content %q", got)
			}
		})
	}
	var listed []string
	p := c.NewListBlobsFlatPager("names", nil)
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Segment.BlobItems {
			listed = append(listed, *b.Name)
		}
	}
	want := append([]string(nil), names...)
	slices.Sort(want)
	if diff := cmp.Diff(want, listed); diff != "" {
		t.Errorf("listing (-want +got):\n%s", diff)
	}
}

func TestRangeCRC64AndMetadataLimit(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	if _, err := c.CreateContainer(ctx, "lim", nil); err != nil {
		t.Fatal(err)
	}
	data := []byte("0123456789abcdef")
	if _, err := c.UploadBuffer(ctx, "lim", "r", data, nil); err != nil {
		t.Fatal(err)
	}
	// The Go SDK does not send x-ms-range-get-content-crc64; send it directly.
	u, err := c.ServiceClient().NewContainerClient("lim").NewBlobClient("r").GetSASURL(sas.BlobPermissions{Read: true}, time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("x-ms-range", "bytes=2-6")
	req.Header.Set("x-ms-range-get-content-crc64", "true")
	resp, err := ts.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 206 || string(got) != "23456" {
		t.Fatalf("range: %d %q", resp.StatusCode, got)
	}
	var sum [8]byte
	binary.LittleEndian.PutUint64(sum[:], crc64.Checksum(data[2:7], crc64Table))
	if h := resp.Header.Get("x-ms-content-crc64"); h != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("x-ms-content-crc64 = %q", h)
	}
	// Structured-message bodies are refused rather than stored framed.
	_, err = c.ServiceClient().NewContainerClient("lim").NewBlockBlobClient("sm").Upload(ctx, streaming.NopCloser(bytes.NewReader(data)),
		&blockblob.UploadOptions{TransactionalValidation: blob.TransferValidationTypeComputeStructuredMessageCRC64(4 << 20)})
	wantCode(t, err, "InvalidHeaderValue", 400)
	big := strings.Repeat("v", 9000)
	_, err = c.UploadBuffer(ctx, "lim", "m", data, &azblob.UploadBufferOptions{Metadata: map[string]*string{"big": &big}})
	wantCode(t, err, "MetadataTooLarge", 400)
}

// Small block blobs live inline in their row, larger ones in files; every
// operation must behave the same on both sides of the threshold.
func TestInlineAndFileContent(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	if _, err := c.CreateContainer(ctx, "sizes", nil); err != nil {
		t.Fatal(err)
	}
	cc := c.ServiceClient().NewContainerClient("sizes")
	countFiles := func() int {
		entries, err := os.ReadDir(filepath.Join(ts.dir, "content"))
		if err != nil {
			t.Fatal(err)
		}
		return len(entries)
	}
	for _, size := range []int{0, 1, inlineMax - 1, inlineMax, inlineMax + 1, 200_000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			name := fmt.Sprintf("blob-%d", size)
			data := randomBytes(t, size)
			before := countFiles()
			if _, err := c.UploadBuffer(ctx, "sizes", name, data, nil); err != nil {
				t.Fatal(err)
			}
			wantFiles := 0
			if size > inlineMax {
				wantFiles = 1
			}
			if got := countFiles() - before; got != wantFiles {
				t.Errorf("content files added = %d, want %d", got, wantFiles)
			}
			bc := cc.NewBlobClient(name)
			// Rewriting the row (metadata, properties, lease) keeps the content.
			if _, err := bc.SetMetadata(ctx, map[string]*string{"k": to.Ptr("v")}, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := bc.SetHTTPHeaders(ctx, blob.HTTPHeaders{BlobContentType: to.Ptr("x/y")}, nil); err != nil {
				t.Fatal(err)
			}
			if got := download(t, ctx, c, "sizes", name, nil); !bytes.Equal(got, data) {
				t.Fatalf("content differs after property updates (%d bytes)", len(got))
			}
			if size > 10 {
				got := download(t, ctx, c, "sizes", name, &azblob.DownloadStreamOptions{Range: azblob.HTTPRange{Offset: 3, Count: 7}})
				if !bytes.Equal(got, data[3:10]) {
					t.Fatal("range differs")
				}
			}
			snap, err := bc.CreateSnapshot(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			dst := cc.NewBlobClient(name + "-copy")
			if _, err := dst.StartCopyFromURL(ctx, bc.URL(), nil); err != nil {
				t.Fatal(err)
			}
			// Overwrite with the other storage kind, then check snapshot and copy.
			other := randomBytes(t, 200_000-size)
			if _, err := c.UploadBuffer(ctx, "sizes", name, other, nil); err != nil {
				t.Fatal(err)
			}
			sc, _ := bc.WithSnapshot(*snap.Snapshot)
			resp, err := sc.DownloadStream(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !bytes.Equal(got, data) {
				t.Fatal("snapshot content differs")
			}
			if got := download(t, ctx, c, "sizes", name+"-copy", nil); !bytes.Equal(got, data) {
				t.Fatal("copy content differs")
			}
			if got := download(t, ctx, c, "sizes", name, nil); !bytes.Equal(got, other) {
				t.Fatal("overwritten content differs")
			}
			for _, n := range []string{name, name + "-copy"} {
				if _, err := cc.NewBlobClient(n).Delete(ctx, &blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeInclude)}); err != nil {
					t.Fatal(err)
				}
			}
			if got := countFiles(); got != before {
				t.Errorf("content files after deleting everything = %d, want %d", got, before)
			}
		})
	}
	t.Run("block list composed small is inline, reusing inline committed blocks", func(t *testing.T) {
		bb := cc.NewBlockBlobClient("composed")
		before := countFiles()
		for i, id := range []string{"MQ==", "Mg=="} {
			if _, err := bb.StageBlock(ctx, id, streaming.NopCloser(bytes.NewReader(bytes.Repeat([]byte{byte('a' + i)}, 100))), nil); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := bb.CommitBlockList(ctx, []string{"MQ==", "Mg=="}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := bb.CommitBlockList(ctx, []string{"Mg==", "MQ=="}, nil); err != nil {
			t.Fatal(err)
		}
		want := append(bytes.Repeat([]byte{'b'}, 100), bytes.Repeat([]byte{'a'}, 100)...)
		if got := download(t, ctx, c, "sizes", "composed", nil); !bytes.Equal(got, want) {
			t.Fatalf("composed content %q", got)
		}
		if got := countFiles(); got != before {
			t.Errorf("content files = %d, want %d (inline)", got, before)
		}
	})
}
