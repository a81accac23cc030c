package blob

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/google/go-cmp/cmp"
	"github.com/slipway-dev/slipway/internal/testwatch"
)

const durabilityChildEnv = "SLIPWAY_BLOB_DURABILITY_CHILD_DIR"

// TestMain lets the test binary act as the durability test's server
// process: with durabilityChildEnv set it serves the blob service on a
// loopback port (printed on stdout) until it is killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv(durabilityChildEnv); dir != "" {
		os.Exit(runDurabilityChild(dir))
	}
	testwatch.Main(m)
}

func runDurabilityChild(dir string) int {
	ctx := context.Background()
	svc, err := Open(ctx, Config{Dir: dir, Accounts: testAccounts(), Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(ln.Addr().String())
	srv := &http.Server{Handler: svc, ReadHeaderTimeout: 10 * time.Second}
	err = srv.Serve(ln) // until SIGKILL
	fmt.Fprintln(os.Stderr, err)
	return 1
}

// startDurabilityChild runs the service on dir in a child process (this
// test binary, see TestMain) and returns a client of it that never retries
// (a killed server must not be retried into a restarted one), with the
// container "durable" created, and a function that SIGKILLs the child.
// The child is killed at the end of the test in any case.
func startDurabilityChild(t *testing.T, dir string) (*azblob.Client, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), durabilityChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	kill := func() {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
		})
	}
	t.Cleanup(kill)
	addrLine, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading child address: %v", err)
	}
	endpoint := "http://" + strings.TrimSpace(addrLine) + "/" + DevelopmentAccountName
	conn := connectionString(endpoint, DevelopmentAccountName, DevelopmentAccount().Keys[0])
	client, err := azblob.NewClientFromConnectionString(conn, &azblob.ClientOptions{ClientOptions: policy.ClientOptions{
		Retry: policy.RetryOptions{MaxRetries: -1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateContainer(context.Background(), "durable", nil); err != nil {
		t.Fatal(err)
	}
	return client, kill
}

// slowReader yields data in small pieces with pauses, so the server is
// mid-stream when it is killed.
type slowReader struct {
	r     *bytes.Reader
	pause time.Duration
}

func (s *slowReader) Read(p []byte) (int, error) {
	if len(p) > 64<<10 {
		p = p[:64<<10]
	}
	time.Sleep(s.pause)
	return s.r.Read(p)
}

func (s *slowReader) Seek(off int64, whence int) (int64, error) { return s.r.Seek(off, whence) }
func (s *slowReader) Close() error                              { return nil }

// TestDurabilityKill9 runs the service in a child process, streams uploads
// at it (single-shot Put Blob, chunked Put Block/Put Block List, and slow
// uploads that are mid-stream), SIGKILLs it, reopens the directory and
// checks that every acknowledged blob is present with its exact MD5 and
// that no blob holds partial content.
func TestDurabilityKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("durability test starts a child process")
	}
	dir := t.TempDir()
	client, kill := startDurabilityChild(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var mu sync.Mutex
	attempted := map[string][16]byte{} // name -> MD5 of the full content sent
	acked := map[string][16]byte{}
	record := func(m map[string][16]byte, name string, sum [16]byte) {
		mu.Lock()
		m[name] = sum
		mu.Unlock()
	}
	deadline := time.Now().Add(1500 * time.Millisecond)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 10000 && time.Now().Before(deadline.Add(2*time.Second)); i++ {
				name := fmt.Sprintf("w%d/blob-%04d", w, i)
				size := 1000 + (i*7919+w*104729)%300_000 // inline (<= 64 KiB) and file-backed
				if w == 3 {
					size = 3<<20 + i // chunked uploads (UploadStream blocks of 1 MiB)
				}
				data := make([]byte, size)
				for j := range data {
					data[j] = byte(i*31 + j*7 + w)
				}
				sum := md5.Sum(data)
				record(attempted, name, sum)
				var err error
				switch {
				case w == 3:
					_, err = client.UploadStream(ctx, "durable", name, bytes.NewReader(data), &azblob.UploadStreamOptions{BlockSize: 1 << 20, Concurrency: 2})
				case w == 2 && i%3 == 0:
					bb := client.ServiceClient().NewContainerClient("durable").NewBlockBlobClient(name)
					_, err = bb.Upload(ctx, &slowReader{r: bytes.NewReader(data), pause: 5 * time.Millisecond}, nil)
				default:
					_, err = client.UploadBuffer(ctx, "durable", name, data, nil)
				}
				if err != nil {
					return // the server was killed
				}
				record(acked, name, sum)
			}
		}(w)
	}
	time.Sleep(time.Until(deadline))
	kill()
	wg.Wait()
	if len(acked) < 10 {
		t.Fatalf("only %d uploads acknowledged before the kill; test did not exercise anything", len(acked))
	}

	// Reopen the same directory in-process and inspect every blob.
	ts := startService(t, Config{Dir: dir})
	rc := newClient(t, ts)
	present := map[string]bool{}
	pager := rc.NewListBlobsFlatPager("durable", nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Segment.BlobItems {
			name := *b.Name
			present[name] = true
			want, ok := attempted[name]
			if !ok {
				t.Errorf("unexpected blob %s", name)
				continue
			}
			resp, err := rc.DownloadStream(ctx, "durable", name, nil)
			if err != nil {
				t.Fatalf("download %s: %v", name, err)
			}
			h := md5.New()
			n, err := io.Copy(h, resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			var got [16]byte
			copy(got[:], h.Sum(nil))
			if got != want {
				t.Errorf("blob %s (%d bytes) is partial or corrupt: md5 %x, want %x", name, n, got, want)
			}
		}
	}
	for name := range acked {
		if !present[name] {
			t.Errorf("acknowledged blob %s lost after kill -9", name)
		}
	}
	// Open swept torn uploads: no temp files, and exactly one content file
	// per blob row with a file and per extent.
	entries, err := os.ReadDir(filepath.Join(dir, "content"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temp file %s left after reopen", e.Name())
		}
	}
	var fileBlobs, extents int
	if err := ts.svc.reader.QueryRow(`SELECT (SELECT count(*) FROM blobs WHERE file != ''), (SELECT count(*) FROM extents)`).Scan(&fileBlobs, &extents); err != nil {
		t.Fatal(err)
	}
	if len(entries) != fileBlobs+extents {
		t.Errorf("%d content files for %d file-backed blobs and %d extents", len(entries), fileBlobs, extents)
	}
	t.Logf("acknowledged %d, attempted %d, present after restart %d", len(acked), len(attempted), len(present))
}

// TestDurabilityKill9PageWrites writes the pages of one page blob from
// several workers (whole-slot writes and clears, and slow 4 MiB writes
// that are mid-stream), SIGKILLs the server, reopens its directory and
// checks that every slot holds its last acknowledged version or the one
// that was in flight, never a mix of two, and that the listed page ranges
// are exactly the slots that hold a write.
func TestDurabilityKill9PageWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("durability test starts a child process")
	}
	const (
		slots, slotSize = 64, 64 << 10 // small writes, 4 workers
		bigSlots        = 2            // slow 4 MiB writes, a worker each
		bigSize         = maxPutPageBytes
		workers         = 4
	)
	region := func(slot int) (off, n int64) {
		if slot < slots {
			return int64(slot) * slotSize, slotSize
		}
		return slots*slotSize + int64(slot-slots)*bigSize, bigSize
	}
	// content is what version v of a slot holds: nothing before the first
	// write and after every fifth (a clear), else bytes unique to (slot, v).
	content := func(slot, v int) []byte {
		_, n := region(slot)
		if v == 0 || v%5 == 0 {
			return nil
		}
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(slot*31 + v*7 + j*13 + j>>9)
		}
		return b
	}
	dir := t.TempDir()
	client, kill := startDurabilityChild(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	size, _ := region(slots + bigSlots)
	pb := pageClient(client, "durable", "disk")
	if _, err := pb.Create(ctx, size, nil); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	attempted := make([]int, slots+bigSlots) // version last sent, per slot
	acked := make([]int, slots+bigSlots)     // version last acknowledged
	set := func(m []int, slot, v int) {
		mu.Lock()
		m[slot] = v
		mu.Unlock()
	}
	write := func(slot, v int, slow bool) error {
		off, n := region(slot)
		data := content(slot, v)
		if data == nil {
			_, err := pb.ClearPages(ctx, blob.HTTPRange{Offset: off, Count: n}, nil)
			return err
		}
		var body io.ReadSeekCloser = streaming.NopCloser(bytes.NewReader(data))
		if slow {
			body = &slowReader{r: bytes.NewReader(data), pause: 5 * time.Millisecond}
		}
		_, err := pb.UploadPages(ctx, body, blob.HTTPRange{Offset: off, Count: n}, nil)
		return err
	}
	deadline := time.Now().Add(1500 * time.Millisecond)
	var wg sync.WaitGroup
	run := func(mine []int, slow bool) {
		defer wg.Done()
		for v := 1; v < 10000 && time.Now().Before(deadline.Add(2*time.Second)); v++ {
			for _, slot := range mine {
				set(attempted, slot, v)
				if err := write(slot, v, slow); err != nil {
					return // the server was killed
				}
				set(acked, slot, v)
			}
		}
	}
	for w := range workers {
		var mine []int
		for slot := w; slot < slots; slot += workers {
			mine = append(mine, slot)
		}
		wg.Add(1)
		go run(mine, false)
	}
	for slot := slots; slot < slots+bigSlots; slot++ {
		wg.Add(1)
		go run([]int{slot}, true)
	}
	time.Sleep(time.Until(deadline))
	kill()
	wg.Wait()
	writes := 0
	for _, v := range acked {
		writes += v
	}
	if writes < 50 {
		t.Fatalf("only %d page writes acknowledged before the kill; test did not exercise anything", writes)
	}

	ts := startService(t, Config{Dir: dir})
	rpb := pageClient(newClient(t, ts), "durable", "disk")
	got := downloadPages(t, rpb, nil)
	var wantRanges []pageSpan
	for slot := range slots + bigSlots {
		off, n := region(slot)
		have := got[off : off+n]
		v := -1
		for _, cand := range []int{acked[slot], attempted[slot]} {
			want := content(slot, cand)
			if want == nil && bytes.Equal(have, make([]byte, n)) || want != nil && bytes.Equal(have, want) {
				v = cand
			}
		}
		if v < 0 {
			t.Errorf("slot %d holds neither acknowledged version %d nor in-flight version %d: torn or lost page write",
				slot, acked[slot], attempted[slot])
			continue
		}
		if content(slot, v) != nil {
			wantRanges = append(wantRanges, pageSpan{off, off + n - 1})
		}
	}
	if diff := cmp.Diff(wantRanges, pageRangesOf(t, rpb, nil)); diff != "" {
		t.Errorf("page ranges after restart (-want +got):\n%s", diff)
	}
	t.Logf("%d page writes acknowledged before the kill", writes)
}
