package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
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

	"github.com/slipway-dev/slipway/internal/diskreserve"
)

// fakeDisk is the file system under a service, as a test fills it: its
// free space and a clock the service reads it by.
type fakeDisk struct {
	mu   sync.Mutex
	free uint64
	now  time.Time
}

func (d *fakeDisk) space(string) (diskreserve.Space, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return diskreserve.Space{Free: d.free, Size: 200 << 30}, nil
}

func (d *fakeDisk) clock() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.now
}

// set changes the free space and lets the service's last reading expire.
func (d *fakeDisk) set(free uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.free, d.now = free, d.now.Add(2*time.Second)
}

// reserveService starts a service on a fakeDisk with 100 GiB free and a
// 1 GiB reserve, logging to log (nil: nowhere), and a client of it that
// does not retry, so that a test sees each answer.
func reserveService(t *testing.T, log *slog.Logger) (*fakeDisk, *testServer, *azblob.Client) {
	t.Helper()
	disk := &fakeDisk{free: 100 << 30, now: time.Now()}
	ts := startService(t, Config{DiskReserve: diskreserve.Amount{Bytes: 1 << 30}, FreeSpace: disk.space, Now: disk.clock, Logger: log})
	c, err := azblob.NewClientFromConnectionString(ts.conn, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	return disk, ts, c
}

// syncBuffer is a log the service writes from its request goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Uploads may not take the disk's last space, which the platform's own
// databases need: on a short disk the service refuses them with
// 503 ServerBusy and goes on serving reads, deletes and metadata.
func TestDiskReserveRefusesUploads(t *testing.T) {
	ctx := context.Background()
	var logs syncBuffer
	disk, ts, c := reserveService(t, slog.New(slog.NewTextHandler(&logs, nil)))
	var err error
	if _, err := c.CreateContainer(ctx, "full", nil); err != nil {
		t.Fatal(err)
	}
	old := randomBytes(t, 1<<20)
	if _, err := c.UploadBuffer(ctx, "full", "keep", old, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadBuffer(ctx, "full", "spare", []byte("to delete"), nil); err != nil {
		t.Fatal(err)
	}
	cc := c.ServiceClient().NewContainerClient("full")
	ab := cc.NewAppendBlobClient("log")
	if _, err := ab.Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	pb := cc.NewPageBlobClient("disk")
	if _, err := pb.Create(ctx, 4096, nil); err != nil {
		t.Fatal(err)
	}
	bb := cc.NewBlockBlobClient("staged")

	disk.set(512 << 20) // below the 1 GiB reserve
	refused := map[string]func() error{
		"Put Blob": func() error {
			_, err := c.UploadBuffer(ctx, "full", "new", []byte("small"), nil)
			return err
		},
		"Put Block": func() error {
			_, err := bb.StageBlock(ctx, "YmxvY2s=", streaming.NopCloser(strings.NewReader("block")), nil)
			return err
		},
		"Append Block": func() error {
			_, err := ab.AppendBlock(ctx, streaming.NopCloser(strings.NewReader("line\n")), nil)
			return err
		},
		"Put Page": func() error {
			_, err := pb.UploadPages(ctx, streaming.NopCloser(bytes.NewReader(make([]byte, 512))), blob.HTTPRange{Offset: 0, Count: 512}, nil)
			return err
		},
		"Create Container": func() error {
			_, err := c.CreateContainer(ctx, "empty", nil)
			return err
		},
		"Copy Blob": func() error {
			_, err := cc.NewBlobClient("copy").StartCopyFromURL(ctx, cc.NewBlobClient("keep").URL(), nil)
			return err
		},
	}
	for name, write := range refused {
		t.Run(name+" refused", func(t *testing.T) { wantCode(t, write(), bloberror.ServerBusy, 503) })
	}
	t.Run("reads, deletes and metadata go on", func(t *testing.T) {
		if got := download(t, ctx, c, "full", "keep", nil); !bytes.Equal(got, old) {
			t.Error("keep: content changed")
		}
		if _, err := cc.NewBlobClient("keep").SetMetadata(ctx, map[string]*string{"note": to.Ptr("short")}, nil); err != nil {
			t.Errorf("Set Blob Metadata: %v", err)
		}
		if _, err := c.DeleteBlob(ctx, "full", "spare", nil); err != nil {
			t.Errorf("Delete Blob: %v", err)
		}
	})
	if n := strings.Count(logs.String(), "DISK RESERVE REACHED"); n != 1 {
		t.Errorf("warned %d times, want once:\n%s", n, logs.String())
	}

	// An upload that fits when it starts and meets the reserve midway
	// (the disk fills meanwhile) fails, and the blob keeps its content.
	disk.set(100 << 30)
	body := &fillingBody{Reader: bytes.NewReader(make([]byte, 64<<20)), at: 16 << 20, fill: func() { disk.set(512 << 20) }}
	_, err = cc.NewBlockBlobClient("keep").Upload(ctx, body, nil)
	// The service answers 503 ServerBusy and stops reading: the client
	// sees the answer, or, when its write of the rest comes first, the
	// connection closed under it (as with Azure); either way it fails.
	var re *azcore.ResponseError
	if err == nil || errors.As(err, &re) {
		wantCode(t, err, bloberror.ServerBusy, 503)
	}
	if got := download(t, ctx, c, "full", "keep", nil); !bytes.Equal(got, old) {
		t.Error("keep: a refused upload changed its content")
	}
	for _, d := range []string{"content", "blocks"} {
		ents, _ := os.ReadDir(filepath.Join(ts.dir, d))
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".tmp") {
				t.Errorf("%s/%s left behind", d, e.Name())
			}
		}
	}

	disk.set(100 << 30)
	if _, err := c.UploadBuffer(ctx, "full", "new", []byte("small"), nil); err != nil {
		t.Errorf("Put Blob once space is back: %v", err)
	}
	if _, err := bb.StageBlock(ctx, "YmxvY2s=", streaming.NopCloser(strings.NewReader("block")), nil); err != nil {
		t.Errorf("Put Block once space is back: %v", err)
	}
}

// fillingBody is a request body during whose sending the disk fills: once
// at bytes have been read, fill runs.
type fillingBody struct {
	*bytes.Reader
	at   int64
	fill func()
	done bool
}

func (b *fillingBody) Read(p []byte) (int, error) {
	n, err := b.Reader.Read(p)
	if pos := b.Size() - int64(b.Len()); !b.done && pos >= b.at {
		b.done = true
		b.fill()
	}
	return n, err
}

func (b *fillingBody) Close() error { return nil }

var _ io.ReadSeekCloser = (*fillingBody)(nil)

// TestAttackCopiesAndSnapshotsFillTheDisk: a snapshot of a page blob and
// a copy of a page or append blob write again every byte the source
// holds (a page blob's rows, an append blob's file), so that a tenant
// who wrote a few gigabytes while there was room could take the disk's
// last space with copies and snapshots, each checked only for a disk
// already short. They are refused (503 ServerBusy) when the bytes they
// write would not fit above the reserve; a block blob's copy and
// snapshot, hard links that write nothing, go on.
func TestAttackCopiesAndSnapshotsFillTheDisk(t *testing.T) {
	ctx := context.Background()
	disk, _, c := reserveService(t, nil)
	if _, err := c.CreateContainer(ctx, "big", nil); err != nil {
		t.Fatal(err)
	}
	cc := c.ServiceClient().NewContainerClient("big")
	const written = 8 << 20
	pb := cc.NewPageBlobClient("disk")
	if _, err := pb.Create(ctx, 1<<30, nil); err != nil { // sparse: 8 MiB of 1 GiB written
		t.Fatal(err)
	}
	for off := int64(0); off < written; off += 4 << 20 {
		if _, err := pb.UploadPages(ctx, streaming.NopCloser(bytes.NewReader(randomBytes(t, 4<<20))), blob.HTTPRange{Offset: off, Count: 4 << 20}, nil); err != nil {
			t.Fatal(err)
		}
	}
	ab := cc.NewAppendBlobClient("log")
	if _, err := ab.Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := ab.AppendBlock(ctx, streaming.NopCloser(bytes.NewReader(randomBytes(t, 4<<20))), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.UploadBuffer(ctx, "big", "block", randomBytes(t, written), nil); err != nil {
		t.Fatal(err)
	}

	// 4 MiB above the reserve: less than any of the sources holds.
	disk.set(1<<30 + 4<<20)
	for _, tc := range []struct {
		name string
		do   func() error
	}{
		{"snapshot of a page blob", func() error { _, err := pb.CreateSnapshot(ctx, nil); return err }},
		{"copy of a page blob", func() error {
			_, err := cc.NewBlobClient("disk-copy").StartCopyFromURL(ctx, pb.URL(), nil)
			return err
		}},
		{"snapshot of an append blob", func() error { _, err := ab.CreateSnapshot(ctx, nil); return err }},
		{"copy of an append blob", func() error {
			_, err := cc.NewBlobClient("log-copy").StartCopyFromURL(ctx, ab.URL(), nil)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.do(), bloberror.ServerBusy, 503) })
	}
	// Block blobs link their content: no space taken, nothing refused.
	if _, err := cc.NewBlobClient("block-copy").StartCopyFromURL(ctx, cc.NewBlobClient("block").URL(), nil); err != nil {
		t.Errorf("copy of a block blob: %v", err)
	}
	if _, err := cc.NewBlobClient("block").CreateSnapshot(ctx, nil); err != nil {
		t.Errorf("snapshot of a block blob: %v", err)
	}
	// With room, all of them go.
	disk.set(100 << 30)
	if _, err := pb.CreateSnapshot(ctx, nil); err != nil {
		t.Errorf("snapshot of a page blob with room: %v", err)
	}
	if _, err := cc.NewBlobClient("log-copy").StartCopyFromURL(ctx, ab.URL(), nil); err != nil {
		t.Errorf("copy of an append blob with room: %v", err)
	}
}
