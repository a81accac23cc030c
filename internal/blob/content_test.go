package blob

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/google/go-cmp/cmp"
)

// contentFiles lists the files in the service's content directory.
func contentFiles(t *testing.T, ts *testServer) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(ts.dir, "content"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// referencedFiles lists the content files that rows refer to: blob files
// and extents.
func referencedFiles(t *testing.T, ts *testServer) []string {
	t.Helper()
	rows, err := ts.svc.reader.Query(`SELECT file FROM blobs WHERE file != '' UNION ALL SELECT file FROM extents ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			t.Fatal(err)
		}
		names = append(names, f)
	}
	return names
}

// checkNoStrayFiles fails the test if a content file is not referenced by
// exactly one row, or a row's file is missing.
func checkNoStrayFiles(t *testing.T, ts *testServer) {
	t.Helper()
	if diff := cmp.Diff(referencedFiles(t, ts), contentFiles(t, ts)); diff != "" {
		t.Errorf("content files differ from the files rows refer to (-referenced +on disk):\n%s", diff)
	}
}

// stageAndCommit stages blocks (name → content) and commits the list
// given, as the SDK does.
func stageAndCommit(t *testing.T, ctx context.Context, bb *blockblob.Client, blocks map[string][]byte, list []string) {
	t.Helper()
	for id, data := range blocks {
		if _, err := bb.StageBlock(ctx, id, streaming.NopCloser(bytes.NewReader(data)), nil); err != nil {
			t.Fatalf("stage %s: %v", id, err)
		}
	}
	if _, err := bb.CommitBlockList(ctx, list, nil); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

func blockID(i int) string { return b64([]byte(fmt.Sprintf("block-%04d", i))) }

// TestExtents: a large blob committed from staged blocks keeps its blocks'
// files as extents instead of a composed copy, reads back exactly (whole,
// and ranges across extent boundaries), and its files follow its rows
// through re-commits that reuse committed blocks, snapshots, copies and
// deletes — no file lost while referenced, none left behind.
func TestExtents(t *testing.T) {
	ts := startService(t, Config{})
	c := newClient(t, ts)
	ctx := context.Background()
	if _, err := c.CreateContainer(ctx, "ext", nil); err != nil {
		t.Fatal(err)
	}
	cc := c.ServiceClient().NewContainerClient("ext")
	bb := cc.NewBlockBlobClient("big")

	// Three blocks of odd sizes, committed out of staging order.
	parts := [][]byte{randomBytes(t, 100_003), randomBytes(t, 70_001), randomBytes(t, 1)}
	stageAndCommit(t, ctx, bb, map[string][]byte{blockID(0): parts[0], blockID(1): parts[1], blockID(2): parts[2]},
		[]string{blockID(2), blockID(0), blockID(1)})
	want := bytes.Join([][]byte{parts[2], parts[0], parts[1]}, nil)
	if got := download(t, ctx, c, "ext", "big", nil); !bytes.Equal(got, want) {
		t.Fatalf("content after commit: %d bytes, want %d (equal %v)", len(got), len(want), bytes.Equal(got, want))
	}
	var extents int
	if err := ts.svc.reader.QueryRow(`SELECT extents FROM blobs WHERE name = 'big'`).Scan(&extents); err != nil {
		t.Fatal(err)
	}
	if extents != 3 {
		t.Errorf("blob committed from 3 blocks has %d extents, want 3 (composed into one file?)", extents)
	}
	for _, r := range []struct{ off, n int64 }{{0, 1}, {0, 2}, {1, 100_003}, {100_000, 10}, {100_004, 70_000}, {5, int64(len(want)) - 5}} {
		got := download(t, ctx, c, "ext", "big", &azblob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: r.off, Count: r.n}})
		if !bytes.Equal(got, want[r.off:r.off+r.n]) {
			t.Errorf("range %d+%d differs", r.off, r.n)
		}
	}
	checkNoStrayFiles(t, ts)

	// A snapshot keeps the content while the base is re-committed from a
	// mix of its committed blocks and a new one.
	snap, err := bb.CreateSnapshot(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	extra := randomBytes(t, 65_000)
	stageAndCommit(t, ctx, bb, map[string][]byte{blockID(3): extra}, []string{blockID(1), blockID(3), blockID(2)})
	want2 := bytes.Join([][]byte{parts[1], extra, parts[2]}, nil)
	if got := download(t, ctx, c, "ext", "big", nil); !bytes.Equal(got, want2) {
		t.Errorf("content after re-commit reusing committed blocks differs (%d bytes, want %d)", len(got), len(want2))
	}
	snapClient, err := bb.WithSnapshot(*snap.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := snapClient.DownloadStream(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("snapshot content changed by re-commit (err %v)", err)
	}
	checkNoStrayFiles(t, ts)

	// A copy is independent of its source.
	dst := cc.NewBlobClient("copy")
	if _, err := dst.CopyFromURL(ctx, bb.URL(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := bb.Delete(ctx, &blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeInclude)}); err != nil {
		t.Fatal(err)
	}
	if got := download(t, ctx, c, "ext", "copy", nil); !bytes.Equal(got, want2) {
		t.Errorf("copy content differs after its source was deleted")
	}
	checkNoStrayFiles(t, ts)

	// An inline blob (small) re-committed into a large one: its blocks are
	// copied into extents of their own.
	small := cc.NewBlockBlobClient("grow")
	a, b := randomBytes(t, 1000), randomBytes(t, 2000)
	stageAndCommit(t, ctx, small, map[string][]byte{blockID(0): a, blockID(1): b}, []string{blockID(0), blockID(1)})
	large := randomBytes(t, inlineMax)
	stageAndCommit(t, ctx, small, map[string][]byte{blockID(2): large}, []string{blockID(1), blockID(2), blockID(0)})
	if got := download(t, ctx, c, "ext", "grow", nil); !bytes.Equal(got, bytes.Join([][]byte{b, large, a}, nil)) {
		t.Errorf("inline blob grown from its committed blocks differs")
	}
	checkNoStrayFiles(t, ts)

	// Deleting the container removes every file.
	if _, err := c.DeleteContainer(ctx, "ext", nil); err != nil {
		t.Fatal(err)
	}
	if files := contentFiles(t, ts); len(files) != 0 {
		t.Errorf("%d content files left after the container was deleted", len(files))
	}
}
