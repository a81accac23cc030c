package blob

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/appendblob"
)

// stallingBody sends its first bytes, then waits until released before
// it sends the rest: a client whose upload stalls mid-body.
type stallingBody struct {
	r       *bytes.Reader
	first   int
	release chan struct{}
	once    sync.Once
	sent    chan struct{}
}

func (s *stallingBody) Read(p []byte) (int, error) {
	if pos := int(s.r.Size()) - s.r.Len(); pos >= s.first {
		s.once.Do(func() { close(s.sent) })
		<-s.release
	} else {
		p = p[:min(len(p), s.first-pos)]
	}
	return s.r.Read(p)
}

func (s *stallingBody) Seek(off int64, whence int) (int64, error) { return s.r.Seek(off, whence) }
func (s *stallingBody) Close() error                              { return nil }

// TestAttackStalledAppendBlocksEveryone: Append Block extends the blob's
// content in place under one lock. A tenant that starts an Append Block
// and stops sending its body mid-way must not hold that lock: another
// account's append goes on at once.
func TestAttackStalledAppendBlocksEveryone(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	appendBlob := func(account string, key []byte) *appendblob.Client {
		c, err := azblob.NewClientFromConnectionString(connectionString(ts.srv.URL+"/"+account, account, key), nil)
		if err != nil {
			t.Fatal(err)
		}
		mustCreateContainer(t, c, "logs")
		ab := c.ServiceClient().NewContainerClient("logs").NewAppendBlobClient("log.txt")
		if _, err := ab.Create(ctx, nil); err != nil {
			t.Fatal(err)
		}
		return ab
	}
	attacker := appendBlob(DevelopmentAccountName, DevelopmentAccount().Keys[0])
	victim := appendBlob("otheraccount", testAccounts().m["otheraccount"].Keys[0])

	stall := &stallingBody{r: bytes.NewReader(bytes.Repeat([]byte("a"), 1<<20)), first: 1000,
		release: make(chan struct{}), sent: make(chan struct{})}
	attackDone := make(chan error, 1)
	go func() {
		_, err := attacker.AppendBlock(ctx, stall, nil)
		attackDone <- err
	}()
	<-stall.sent
	time.Sleep(200 * time.Millisecond) // the server is reading the stalled body

	vctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := victim.AppendBlock(vctx, body("victim's line\n"), nil); err != nil {
		t.Errorf("another account's append while one stalls: %v", err)
	}
	close(stall.release)
	if err := <-attackDone; err != nil {
		t.Errorf("the stalled append, once resumed: %v", err)
	}
	for _, tc := range []struct {
		ab   *appendblob.Client
		want int
	}{{attacker, 1 << 20}, {victim, len("victim's line\n")}} {
		resp, err := tc.ab.DownloadStream(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if len(b) != tc.want {
			t.Errorf("blob holds %d bytes, want %d", len(b), tc.want)
		}
	}
}
