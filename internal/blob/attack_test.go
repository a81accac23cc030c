package blob

// Attacks on the blob service by a client that holds at most its own
// account's key, a SAS someone gave it, or a token of its own: each test
// is an attack that once worked (or, where it says so, one that held).

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// attackDo sends a raw request to path (after the server's address),
// signed with SharedKey as signer with key when key is not nil.
func attackDo(t *testing.T, ts *testServer, method, path string, hdr map[string]string, body, signer string, key []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, ts.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("x-ms-version", "2021-08-06")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if key != nil {
		signSharedKey(req, len(body), signer, key)
	}
	resp, err := ts.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// signSharedKey signs req, whose body is length bytes long, with
// SharedKey as signer with key.
func signSharedKey(req *http.Request, length int, signer string, key []byte) {
	h := req.Header.Clone()
	h.Set("Content-Length", strconv.Itoa(length))
	sts := sharedKeyStringToSign(req.Method, h, signer, req.URL.EscapedPath(), req.URL.Query())
	req.Header.Set("Authorization", "SharedKey "+signer+":"+sign(key, sts))
}

// foldedAccounts looks accounts up without regard to case, as the
// platform's store does (storage account names are COLLATE NOCASE), and
// names the account as it was asked for, as the server's adapter did.
type foldedAccounts struct{ m *mapAccounts }

func (f foldedAccounts) Account(ctx context.Context, name string) (Account, error) {
	a, err := f.m.Account(ctx, strings.ToLower(name))
	if err != nil {
		return a, err
	}
	a.Name = name
	return a, nil
}

// TestAttackAccountNameCase: the store finds "OTHERACCOUNT" as
// "otheraccount", with its keys. Data written under the upper-case name
// was a namespace of its own that the account's deletion (which names the
// account in lower case) left behind, for the next owner of the name to
// read; and a deletion named in upper case removed nothing.
func TestAttackAccountNameCase(t *testing.T) {
	accts := testAccounts()
	ts := startService(t, Config{Accounts: foldedAccounts{accts}})
	ctx := context.Background()
	key := accts.m["otheraccount"].Keys[0]
	rows := func() int {
		t.Helper()
		var n int
		if err := ts.svc.reader.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM containers WHERE lower(account) = 'otheraccount')
			+ (SELECT count(*) FROM blobs WHERE lower(account) = 'otheraccount')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, signer := range []string{"OTHERACCOUNT", "otheraccount"} {
		attackDo(t, ts, "PUT", "/OTHERACCOUNT/stash?restype=container", nil, "", signer, key)
		attackDo(t, ts, "PUT", "/OTHERACCOUNT/stash/loot", map[string]string{"x-ms-blob-type": "BlockBlob"}, "kept", signer, key)
	}
	if st, got := attackDo(t, ts, "GET", "/otheraccount/stash/loot", nil, "", "otheraccount", key); st == 200 && got != "kept" {
		t.Fatalf("the account reads %d %q", st, got)
	}
	if err := ts.svc.DeleteAccountData(ctx, "otheraccount"); err != nil {
		t.Fatal(err)
	}
	if n := rows(); n != 0 {
		t.Fatalf("%d rows of the deleted account remain", n)
	}
	// The next owner of the name (a new key) finds nothing.
	newKey := []byte("a-new-owner-a-new-owner-new-key!")
	accts.m["otheraccount"] = Account{Name: "otheraccount", Keys: [][]byte{newKey}}
	for _, p := range []string{"/OTHERACCOUNT/stash/loot", "/otheraccount/stash/loot"} {
		if st, got := attackDo(t, ts, "GET", p, nil, "", "otheraccount", newKey); st == 200 {
			t.Fatalf("GET %s by the next owner: %d %q", p, st, got)
		}
	}

	// A deletion that names the account in upper case removes its data.
	attackDo(t, ts, "PUT", "/otheraccount/again?restype=container", nil, "", "otheraccount", newKey)
	if st, _ := attackDo(t, ts, "PUT", "/otheraccount/again/b", map[string]string{"x-ms-blob-type": "BlockBlob"}, "x", "otheraccount", newKey); st != 201 {
		t.Fatalf("put: %d", st)
	}
	if err := ts.svc.DeleteAccountData(ctx, "OtherAccount"); err != nil {
		t.Fatal(err)
	}
	if n := rows(); n != 0 {
		t.Fatalf("%d rows remain after deleting OtherAccount", n)
	}
}

// TestAttackCopySourceOutsideSAS: a SAS that reaches one blob (or one
// container) was enough to copy any blob of the account into a blob it may
// read: a copy source in the same account without a SAS of its own was
// taken as authorised by the destination's credentials, whatever they were.
// The destination's SAS now has to reach the source too.
func TestAttackCopySourceOutsideSAS(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "vault")
	mustCreateContainer(t, c, "drop")
	if _, err := c.UploadBuffer(ctx, "vault", "secret.txt", []byte("the secret"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadBuffer(ctx, "drop", "shared.txt", []byte("shared"), nil); err != nil {
		t.Fatal(err)
	}
	cred, err := azblob.NewSharedKeyCredential(DevelopmentAccountName, DevelopmentAccountKey)
	if err != nil {
		t.Fatal(err)
	}
	source := c.ServiceClient().NewContainerClient("vault").NewBlobClient("secret.txt").URL()
	sign := func(v sas.BlobSignatureValues) string {
		t.Helper()
		v.Protocol, v.ExpiryTime = sas.ProtocolHTTPSandHTTP, time.Now().Add(time.Hour)
		qp, err := v.SignWithSharedKey(cred)
		if err != nil {
			t.Fatal(err)
		}
		return qp.Encode()
	}
	blobSAS := sign(sas.BlobSignatureValues{ContainerName: "drop", BlobName: "mine.txt",
		Permissions: (&sas.BlobPermissions{Read: true, Create: true, Write: true}).String()})
	containerSAS := sign(sas.BlobSignatureValues{ContainerName: "drop",
		Permissions: (&sas.ContainerPermissions{Read: true, Create: true, Write: true}).String()})
	for _, tc := range []struct {
		name, sas, source string
		ok                bool
	}{
		{"blob SAS, private blob of another container", blobSAS, source, false},
		{"container SAS, private blob of another container", containerSAS, source, false},
		{"container SAS, a blob of its own container", containerSAS, ts.endpoint() + "/drop/shared.txt", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst, err := blob.NewClientWithNoCredential(ts.endpoint()+"/drop/mine.txt?"+tc.sas, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = dst.CopyFromURL(ctx, tc.source, nil)
			if tc.ok {
				if err != nil {
					t.Fatalf("copy within the SAS's reach: %v", err)
				}
				return
			}
			wantCode(t, err, "CannotVerifyCopySource", 403)
			if got, err := dst.DownloadStream(ctx, nil); err == nil {
				b, _ := io.ReadAll(got.Body)
				got.Body.Close()
				if string(b) == "the secret" {
					t.Fatal("the SAS holder read the secret through a copy")
				}
			}
		})
	}
	t.Run("account SAS with read reaches every blob of the account", func(t *testing.T) {
		u, err := c.ServiceClient().GetSASURL(sas.AccountResourceTypes{Object: true},
			sas.AccountPermissions{Read: true, Create: true, Write: true}, time.Now().Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := azblob.NewClientWithNoCredential(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sc.ServiceClient().NewContainerClient("drop").NewBlobClient("acct.txt").CopyFromURL(ctx, source, nil); err != nil {
			t.Fatalf("copy with an account SAS that may read the source: %v", err)
		}
	})
	t.Run("account SAS without read does not", func(t *testing.T) {
		u, err := c.ServiceClient().GetSASURL(sas.AccountResourceTypes{Object: true},
			sas.AccountPermissions{Create: true, Write: true}, time.Now().Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := azblob.NewClientWithNoCredential(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = sc.ServiceClient().NewContainerClient("drop").NewBlobClient("acct2.txt").CopyFromURL(ctx, source, nil)
		wantCode(t, err, "CannotVerifyCopySource", 403)
	})
}

// TestAttackUncommittedBlockFlood: a blob took any number of uncommitted
// blocks, and Put Block List and Get Block List load them all into memory.
// Azure allows 100,000 per blob; past that Put Block is refused, while a
// block staged again under an ID it already has is still accepted.
func TestAttackUncommittedBlockFlood(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "flood")
	bb := c.ServiceClient().NewContainerClient("flood").NewBlockBlobClient("b")
	first := b64([]byte("block-000000"))
	if _, err := bb.StageBlock(ctx, first, body("x"), nil); err != nil {
		t.Fatal(err)
	}
	// The other blocks go straight into the database: staging 100,000
	// files one request at a time is not what is under test.
	err := ts.svc.tx(ctx, func(tx *sql.Tx) error {
		for i := 1; i < maxUncommittedBlocks; i++ {
			if _, err := tx.ExecContext(ctx, `INSERT INTO blocks (account, container, blob, block_id, size, file, created) VALUES (?,?,?,?,?,?,?)`,
				DevelopmentAccountName, "flood", "b", b64([]byte(fmt.Sprintf("block-%06d", i))), 0, "missing", time.Now().UnixNano()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bb.StageBlock(ctx, b64([]byte("block-999999")), body("y"), nil)
	wantCode(t, err, "RequestEntityTooLargeBlockCountExceedsLimit", 409)
	if _, err := bb.StageBlock(ctx, first, body("z"), nil); err != nil {
		t.Fatalf("staging a block again under its own ID: %v", err)
	}
	var n int
	if err := ts.svc.reader.QueryRowContext(ctx, `SELECT count(*) FROM blocks`).Scan(&n); err != nil || n != maxUncommittedBlocks {
		t.Fatalf("%d staged blocks (%v), want %d", n, err, maxUncommittedBlocks)
	}
}

// TestAttackSharedKeyQueryCase: the SharedKey string-to-sign lower-cases
// query parameter names and joins repeated ones, while the service acts on
// names as sent: a request signed as Get Blob Tags (?comp=tags) was served,
// sent as ?Comp=tags, as Get Blob, the blob's content. Parameter names that
// are not in lower case, or repeated, are now refused under SharedKey.
func TestAttackSharedKeyQueryCase(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "qcase")
	if _, err := c.UploadBuffer(ctx, "qcase", "b", []byte("the content"), nil); err != nil {
		t.Fatal(err)
	}
	key := DevelopmentAccount().Keys[0]
	for _, q := range []string{"Comp=tags", "comp=tags&COMP=tags", "comp=tags&comp=x"} {
		st, got := attackDo(t, ts, "GET", "/devstoreaccount1/qcase/b?"+q, nil, "", DevelopmentAccountName, key)
		if st != http.StatusForbidden || strings.Contains(got, "the content") {
			t.Errorf("?%s: %d %q, want 403", q, st, got)
		}
	}
	if st, got := attackDo(t, ts, "GET", "/devstoreaccount1/qcase/b?comp=tags", nil, "", DevelopmentAccountName, key); st != 200 || !strings.Contains(got, "<Tags>") {
		t.Fatalf("?comp=tags: %d %q", st, got)
	}
}

// TestAttackCopyOntoItself (held): a blob copied onto itself, of every
// kind and storage (inline, one file, extents, append, page), keeps its
// content, and leaves no file behind and none missing.
func TestAttackCopyOntoItself(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "self")
	cc := c.ServiceClient().NewContainerClient("self")
	big := randomBytes(t, inlineMax+1000)
	if _, err := c.UploadBuffer(ctx, "self", "inline", []byte("small"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.NewBlockBlobClient("file").Upload(ctx, body(string(big)), nil); err != nil {
		t.Fatal(err)
	}
	stageAndCommit(t, ctx, cc.NewBlockBlobClient("extents"),
		map[string][]byte{blockID(0): big[:inlineMax], blockID(1): big[inlineMax:]}, []string{blockID(0), blockID(1)})
	ab := cc.NewAppendBlobClient("append")
	if _, err := ab.Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ab.AppendBlock(ctx, body(string(big)), nil); err != nil {
		t.Fatal(err)
	}
	pb := newPageBlob(t, c, "self", "page", 1024)
	if _, err := pb.UploadPages(ctx, body(string(big[:512])), blob.HTTPRange{Offset: 512, Count: 512}, nil); err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{"inline": []byte("small"), "file": big, "extents": big, "append": big,
		"page": append(make([]byte, 512), big[:512]...)}
	for name, content := range want {
		bc := cc.NewBlobClient(name)
		for range 2 {
			if _, err := bc.StartCopyFromURL(ctx, bc.URL(), nil); err != nil {
				t.Fatalf("copy %s onto itself: %v", name, err)
			}
		}
		if got := download(t, ctx, c, "self", name, nil); !bytes.Equal(got, content) {
			t.Errorf("%s after copying onto itself: %d bytes, want %d", name, len(got), len(content))
		}
	}
	checkNoStrayFiles(t, ts)
}

// TestAttackCopySourceNeverFetched (held): a copy source names a URL, but
// the service resolves it to one of its own accounts and never fetches
// it, so a copy cannot reach an internal address (the metadata service, a
// host port) or another account's private blob by way of the network.
func TestAttackCopySourceNeverFetched(t *testing.T) {
	var hits sync.Map
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Store(r.URL.Path, true)
		io.WriteString(w, "internal secret")
	}))
	defer internal.Close()
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "ssrf")
	dst := c.ServiceClient().NewContainerClient("ssrf").NewBlobClient("dst")
	for _, src := range []string{
		internal.URL + "/latest/meta-data/iam",
		internal.URL + "/otheraccount/src/private.txt",
		"http://169.254.169.254/metadata/identity/oauth2/token",
		"file:///etc/passwd",
	} {
		_, err := dst.CopyFromURL(ctx, src, nil)
		if err == nil {
			t.Fatalf("copy from %s succeeded", src)
		}
	}
	hits.Range(func(k, _ any) bool { t.Errorf("the service fetched %s", k); return true })
	if _, err := dst.GetProperties(ctx, nil); !bloberror.HasCode(err, bloberror.BlobNotFound) {
		t.Fatalf("destination after refused copies: %v", err)
	}
}

// TestAttackNamesNeverReachTheDisk (held): blob names, block ids and
// snapshot ids that look like paths (.., NUL, separators, encodings, very
// long) are keys in the database only: content goes to files the service
// names, so nothing is written outside the data directory and every name
// reads back its own content.
func TestAttackNamesNeverReachTheDisk(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "blob")
	ts := startService(t, Config{Dir: dir})
	key := DevelopmentAccount().Keys[0]
	attackDo(t, ts, "PUT", "/devstoreaccount1/names?restype=container", nil, "", DevelopmentAccountName, key)
	big := strings.Repeat("x", inlineMax+1)
	names := []string{"..%2F..%2F..%2Fescaped", "../../../../escaped2", "%2e%2e/%2e%2e/escaped3", "a%00b", "..\\..\\escaped4",
		"%C0%AE%C0%AE/escaped5", "/abs", strings.Repeat("n", 1024)}
	created := 0
	for i, n := range names {
		content := fmt.Sprintf("%d:%s", i, big)
		st, _ := attackDo(t, ts, "PUT", "/devstoreaccount1/names/"+n, map[string]string{"x-ms-blob-type": "BlockBlob"}, content, DevelopmentAccountName, key)
		if st != http.StatusCreated {
			continue // refused is fine too
		}
		created++
		if st, got := attackDo(t, ts, "GET", "/devstoreaccount1/names/"+n, nil, "", DevelopmentAccountName, key); st != 200 || got != content {
			t.Errorf("%q reads back %d, %d bytes", n, st, len(got))
		}
	}
	if created < len(names)-1 {
		t.Errorf("only %d of %d names taken: the test reaches too little", created, len(names))
	}
	for _, id := range []string{"Li4vLi4vZXNjYXBlZA==", "Li4vLi4vLi4vLi4vLi4v"} { // ../../escaped, ../../../../../
		attackDo(t, ts, "PUT", "/devstoreaccount1/names/blocks?comp=block&blockid="+url.QueryEscape(id), nil, big, DevelopmentAccountName, key)
	}
	attackDo(t, ts, "GET", "/devstoreaccount1/names/x?snapshot=..%2F..%2F..%2Fetc%2Fpasswd", nil, "", DevelopmentAccountName, key)
	if st, _ := attackDo(t, ts, "PUT", "/devstoreaccount1/names/"+strings.Repeat("n", 1025), map[string]string{"x-ms-blob-type": "BlockBlob"}, "x", DevelopmentAccountName, key); st != 400 {
		t.Errorf("a 1025-character name: %d, want 400", st)
	}
	err := filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel, _ := filepath.Rel(dir, p); p != parent && (rel == ".." || strings.HasPrefix(rel, "../")) {
			t.Errorf("written outside the data directory: %s", p)
		}
		if strings.Contains(d.Name(), "escaped") {
			t.Errorf("a file named after a client's name: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAttackSnapshotHoldsTheWriter: a blob committed from many small
// blocks keeps one extent file per block, and Snapshot Blob linked every
// one of them inside its write transaction, so each snapshot of such a
// blob (50,000 blocks: two seconds here) stopped every write of every
// account for as long. The links are now made before the transaction.
func TestAttackSnapshotHoldsTheWriter(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	key := DevelopmentAccount().Keys[0]
	for _, c := range []string{"many", "other"} {
		if st, _ := attackDo(t, ts, "PUT", "/devstoreaccount1/"+c+"?restype=container", nil, "", DevelopmentAccountName, key); st != 201 {
			t.Fatalf("create %s: %d", c, st)
		}
	}
	const n = 20000
	manyExtentsBlob(t, ts, "many", "b", n)
	started := make(chan struct{})
	var snapshot time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		s := time.Now()
		close(started)
		if st, got := attackDo(t, ts, "PUT", "/devstoreaccount1/many/b?comp=snapshot", nil, "", DevelopmentAccountName, key); st != 201 {
			t.Errorf("snapshot: %d %s", st, got)
		}
		snapshot = time.Since(s)
	}()
	<-started
	time.Sleep(snapshotSettle)
	s := time.Now()
	if st, _ := attackDo(t, ts, "PUT", "/devstoreaccount1/other/small", map[string]string{"x-ms-blob-type": "BlockBlob"}, "x", DevelopmentAccountName, key); st != 201 {
		t.Fatalf("small put: %d", st)
	}
	small := time.Since(s)
	<-done
	if small > snapshot/3 {
		t.Fatalf("a one-byte Put Blob in another container took %v while a snapshot took %v", small, snapshot)
	}
	if got := download(t, ctx, newClient(t, ts), "many", "b", nil); len(got) != 4*n {
		t.Fatalf("the blob reads %d bytes", len(got))
	}
	checkNoStrayFiles(t, ts)
}

// snapshotSettle lets a snapshot get under way before a write races it.
const snapshotSettle = 50 * time.Millisecond

// manyExtentsBlob commits a blob of n 4-byte blocks (past inlineMax from
// 16,385 blocks on: one extent file per block). The blocks are staged
// straight into the database and the blocks directory: the many Put Block
// requests are not what is under test.
func manyExtentsBlob(t *testing.T, ts *testServer, container, name string, n int) {
	t.Helper()
	ctx := context.Background()
	var list strings.Builder
	list.WriteString("<BlockList>")
	err := ts.svc.tx(ctx, func(tx *sql.Tx) error {
		for i := range n {
			id, f := b64([]byte(fmt.Sprintf("b%07d", i))), fmt.Sprintf("attack-%s-%07d", name, i)
			if err := os.WriteFile(filepath.Join(ts.svc.blocksDir, f), []byte("abcd"), 0o600); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO blocks (account, container, blob, block_id, size, file, created) VALUES (?,?,?,?,?,?,?)`,
				DevelopmentAccountName, container, name, id, 4, f, time.Now().UnixNano()); err != nil {
				return err
			}
			list.WriteString("<Latest>" + id + "</Latest>")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	list.WriteString("</BlockList>")
	st, got := attackDo(t, ts, "PUT", "/devstoreaccount1/"+container+"/"+name+"?comp=blocklist", nil, list.String(), DevelopmentAccountName, DevelopmentAccount().Keys[0])
	if st != 201 {
		t.Fatalf("put block list: %d %s", st, got)
	}
}

// TestAttackManyExtentsOpenFiles: a read of a blob committed from many
// small blocks held every extent file it reached open until the response
// ended: one GET of a blob of 50,000 blocks took 50,000 descriptors of the
// server's process (here it ran out: "too many open files", for every
// request of every account meanwhile). A read now holds a bounded number.
func TestAttackManyExtentsOpenFiles(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd")
	}
	fds := func() int {
		es, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			return math.MaxInt32 // none left to read it with
		}
		return len(es)
	}
	ts := startService(t, Config{})
	ctx := context.Background()
	key := DevelopmentAccount().Keys[0]
	attackDo(t, ts, "PUT", "/devstoreaccount1/many?restype=container", nil, "", DevelopmentAccountName, key)
	const n = 20000
	manyExtentsBlob(t, ts, "many", "b", n)
	b, err := getBlob(ctx, ts.svc.rdb(), DevelopmentAccountName, "many", "b", "")
	if err != nil || b.Extents != n {
		t.Fatalf("blob: %d extents, %v", b.Extents, err)
	}
	before := fds()
	r, release, err := ts.svc.openContent(ctx, b, 0, b.Size)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	w := &fdWatch{count: fds}
	if _, err := io.CopyBuffer(w, io.NewSectionReader(r, 0, b.Size), make([]byte, 8<<10)); err != nil {
		t.Fatal(err)
	}
	if w.n != b.Size || w.max-before > 2*maxOpenExtentFiles {
		t.Fatalf("read %d of %d bytes holding up to %d more descriptors", w.n, b.Size, w.max-before)
	}
	if got := download(t, ctx, newClient(t, ts), "many", "b", nil); len(got) != 4*n || string(got[4*n-4:]) != "abcd" {
		t.Fatalf("GET reads %d bytes", len(got))
	}
}

// fdWatch records the most descriptors open at any write.
type fdWatch struct {
	count func() int
	n     int64
	max   int
}

func (w *fdWatch) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	w.max = max(w.max, w.count())
	return len(p), nil
}

// TestAttackSnapshotSASWritesBase: a SAS for one snapshot (sr=bs) is
// checked against the request's snapshot parameter, but the writes ignored
// that parameter and changed the base blob: a PUT ...?snapshot=<it> with
// the snapshot's SAS overwrote the blob the SAS does not reach. Writes
// that apply to the base blob only now refuse a snapshot parameter.
func TestAttackSnapshotSASWritesBase(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "snaps")
	if _, err := c.UploadBuffer(ctx, "snaps", "b", []byte("original"), nil); err != nil {
		t.Fatal(err)
	}
	bc := c.ServiceClient().NewContainerClient("snaps").NewBlobClient("b")
	snap, err := bc.CreateSnapshot(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := azblob.NewSharedKeyCredential(DevelopmentAccountName, DevelopmentAccountKey)
	if err != nil {
		t.Fatal(err)
	}
	qp, err := sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour),
		ContainerName: "snaps", BlobName: "b", SnapshotTime: mustSnapshotTime(t, *snap.Snapshot),
		Permissions: (&sas.BlobPermissions{Read: true, Add: true, Create: true, Write: true, Delete: true, Tag: true}).String()}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	if qp.Resource() != "bs" {
		t.Fatalf("signed resource %q", qp.Resource())
	}
	base := "/devstoreaccount1/snaps/b?snapshot=" + url.QueryEscape(*snap.Snapshot) + "&" + qp.Encode()
	if st, got := attackDo(t, ts, "GET", base, nil, "", "", nil); st != 200 || got != "original" {
		t.Fatalf("reading the snapshot with its SAS: %d %q", st, got)
	}
	for _, w := range []struct {
		q   string
		hdr map[string]string
	}{
		{"", map[string]string{"x-ms-blob-type": "BlockBlob"}},
		{"&comp=metadata", map[string]string{"x-ms-meta-owned": "yes"}},
		{"&comp=properties", map[string]string{"x-ms-blob-content-type": "text/evil"}},
		{"&comp=block&blockid=" + url.QueryEscape(b64([]byte("blk"))), nil},
		{"&comp=blocklist", nil},
		{"&comp=lease", map[string]string{"x-ms-lease-action": "acquire", "x-ms-lease-duration": "-1"}},
		{"&comp=snapshot", nil},
	} {
		body := "overwritten"
		if w.q == "&comp=blocklist" {
			body = "<BlockList><Latest>" + b64([]byte("blk")) + "</Latest></BlockList>"
		}
		if st, _ := attackDo(t, ts, "PUT", base+w.q, w.hdr, body, "", nil); st < 400 {
			t.Errorf("PUT ?snapshot%s with the snapshot's SAS: %d", w.q, st)
		}
	}
	p, err := bc.GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := download(t, ctx, c, "snaps", "b", nil); string(got) != "original" || len(p.Metadata) != 0 || *p.ContentType == "text/evil" || p.LeaseState != nil && *p.LeaseState != "available" {
		t.Fatalf("the base blob after writes with a snapshot's SAS: %q, metadata %v, type %s, lease %v", got, p.Metadata, *p.ContentType, *p.LeaseState)
	}
}

func mustSnapshotTime(t *testing.T, s string) time.Time {
	t.Helper()
	st, err := time.Parse(snapshotFormat, s)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestAttackLongBlockIDs: a block ID is the base64 of at most 64 bytes,
// but the decoder skips newlines, so an ID padded with hundreds of
// kilobytes of them passed, and was stored as sent: 100,000 such blocks
// would have Put Block List and Get Block List load tens of gigabytes of
// IDs. An ID longer than 64 bytes' base64 (88 characters) is refused.
func TestAttackLongBlockIDs(t *testing.T) {
	ts := startService(t, Config{})
	key := DevelopmentAccount().Keys[0]
	attackDo(t, ts, "PUT", "/devstoreaccount1/ids?restype=container", nil, "", DevelopmentAccountName, key)
	long := "QUJD" + strings.Repeat("\n", 200000)
	if st, _ := attackDo(t, ts, "PUT", "/devstoreaccount1/ids/b?comp=block&blockid="+url.QueryEscape(long), nil, "x", DevelopmentAccountName, key); st != 400 {
		t.Errorf("a block ID of %d characters: %d, want 400", len(long), st)
	}
	max := b64(bytes.Repeat([]byte{0xfb}, 64))
	if st, got := attackDo(t, ts, "PUT", "/devstoreaccount1/ids/b64?comp=block&blockid="+url.QueryEscape(max), nil, "x", DevelopmentAccountName, key); st != 201 {
		t.Errorf("a block ID of 64 bytes: %d %s", st, got)
	}
	var n int
	if err := ts.svc.reader.QueryRowContext(context.Background(), `SELECT coalesce(max(length(block_id)), 0) FROM blocks`).Scan(&n); err != nil || n > 88 {
		t.Fatalf("longest stored block ID: %d characters (%v)", n, err)
	}
}

// TestAttackWhereContainerFlood: the per-key rule of a where expression
// (one equality or one range) skipped @container, so an expression could
// repeat it tens of thousands of times, each a parameter of the SQL
// query, until SQLite refused it: a 500 for the client's own mistake,
// after building a half-megabyte statement. @container now obeys the
// rule as a tag does (without counting toward the 10 tags).
func TestAttackWhereContainerFlood(t *testing.T) {
	ts := startService(t, Config{})
	key := DevelopmentAccount().Keys[0]
	for _, tc := range []struct {
		where string
		want  int
	}{
		{`"a"='1'` + strings.Repeat(` AND @container>'a'`, 30000), 400},
		{`"a"='1' AND @container='x' AND @container='y'`, 400},
		{`"a"='1' AND @container>='a' AND @container<'z'`, 200},
	} {
		st, got := attackDo(t, ts, "GET", "/devstoreaccount1?comp=blobs&where="+url.QueryEscape(tc.where), nil, "", DevelopmentAccountName, key)
		if st != tc.want {
			t.Errorf("where of %d bytes: %d, want %d: %.200s", len(tc.where), st, tc.want, got)
		}
	}
}

// TestAttackAnonymousUncommittedBlocks: in a public container anyone may
// read a blob's committed block list, but "only committed blocks can be
// accessed publicly" (Get Block List): anonymous clients also read the
// IDs and sizes of blocks staged for uploads in progress, and learnt of
// blobs not yet committed at all (List Blobs, include=uncommittedblobs,
// named them too). They now see committed blocks and blobs only.
func TestAttackAnonymousUncommittedBlocks(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	cc := c.ServiceClient().NewContainerClient("public")
	if _, err := cc.Create(ctx, &container.CreateOptions{Access: to.Ptr(container.PublicAccessTypeContainer)}); err != nil {
		t.Fatal(err)
	}
	stageAndCommit(t, ctx, cc.NewBlockBlobClient("b"), map[string][]byte{blockID(0): []byte("committed")}, []string{blockID(0)})
	if _, err := cc.NewBlockBlobClient("b").StageBlock(ctx, blockID(1), body("staged"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.NewBlockBlobClient("draft").StageBlock(ctx, blockID(2), body("draft"), nil); err != nil {
		t.Fatal(err)
	}
	get := func(q string) (int, string) {
		if strings.HasPrefix(q, "?") {
			q = "/public" + q
		}
		resp, err := ts.srv.Client().Get(ts.endpoint() + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, got := get("/public/b?comp=blocklist"); st != 200 || !strings.Contains(got, blockID(0)) {
		t.Fatalf("anonymous committed block list: %d %s", st, got)
	}
	if st, got := get("?restype=container&comp=list&include=uncommittedblobs"); st != 200 || strings.Contains(got, "draft") {
		t.Errorf("anonymous listing with uncommitted blobs: %d %s", st, got)
	}
	for _, q := range []string{"/public/b?comp=blocklist&blocklisttype=all", "/public/b?comp=blocklist&blocklisttype=uncommitted",
		"/public/draft?comp=blocklist&blocklisttype=uncommitted", "/public/draft?comp=blocklist"} {
		st, got := get(q)
		if strings.Contains(q, "draft") && st == 200 || strings.Contains(got, blockID(1)) || strings.Contains(got, blockID(2)) {
			t.Errorf("anonymous %s: %d %s", q, st, got)
		}
	}
}
