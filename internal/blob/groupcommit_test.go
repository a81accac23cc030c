package blob

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
)

// TestGroupCommitConcurrentPuts drives many concurrent Put Blobs (which
// share group-committed transactions): distinct blobs that must all
// succeed, and races of create-only puts (If-None-Match: *) on the same
// name, where exactly one per name may win and the losers, failing with 412
// inside the shared transaction, must not disturb the others. After Close,
// the directory is reopened and every acknowledged blob must be there with
// its exact content.
func TestGroupCommitConcurrentPuts(t *testing.T) {
	dir := t.TempDir()
	ts := startService(t, Config{Dir: dir})
	ctx := context.Background()
	c := newClient(t, ts)
	if _, err := c.CreateContainer(ctx, "group", nil); err != nil {
		t.Fatal(err)
	}
	const workers, perWorker, races = 16, 20, 10
	type put struct {
		name string
		data []byte
	}
	var (
		mu      sync.Mutex
		acked   []put
		winners = map[string][]byte{}
		losers  = map[string]int{}
		wg      sync.WaitGroup
		errs    = make(chan error, workers*(perWorker+races))
	)
	createOnly := &blockblob.UploadBufferOptions{AccessConditions: &blob.AccessConditions{
		ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}}}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				p := put{fmt.Sprintf("w%02d-%03d", w, i), randomBytes(t, 100+w*37+i)}
				if _, err := c.UploadBuffer(ctx, "group", p.name, p.data, nil); err != nil {
					errs <- fmt.Errorf("put %s: %w", p.name, err)
					return
				}
				mu.Lock()
				acked = append(acked, p)
				mu.Unlock()
				if i < races {
					// Every worker races to create race-<i>.
					name := fmt.Sprintf("race-%02d", i)
					data := randomBytes(t, 50+w)
					_, err := c.UploadBuffer(ctx, "group", name, data, createOnly)
					mu.Lock()
					switch {
					case err == nil:
						if _, dup := winners[name]; dup {
							errs <- fmt.Errorf("two create-only puts of %s succeeded", name)
						}
						winners[name] = data
					case bloberror.HasCode(err, bloberror.BlobAlreadyExists, bloberror.ConditionNotMet):
						losers[name]++
					default:
						errs <- fmt.Errorf("create-only put %s: %w", name, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	for i := 0; i < races; i++ {
		name := fmt.Sprintf("race-%02d", i)
		if _, ok := winners[name]; !ok || losers[name] != workers-1 {
			t.Errorf("%s: winner %v, %d losers; want one winner and %d losers", name, ok, losers[name], workers-1)
		}
	}

	// Reopen the directory: everything acknowledged is durable and exact.
	ts.srv.Close()
	if err := ts.svc.Close(); err != nil {
		t.Fatal(err)
	}
	svc, err := Open(ctx, Config{Dir: dir, Accounts: testAccounts(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	check := func(name string, want []byte) {
		b, err := getBlob(ctx, svc.reader, DevelopmentAccountName, "group", name, "")
		if err != nil {
			t.Errorf("after reopen, %s: %v", name, err)
			return
		}
		if !bytes.Equal(b.Data, want) || b.Size != int64(len(want)) {
			t.Errorf("after reopen, %s holds %d bytes (size %d), want the acknowledged %d", name, len(b.Data), b.Size, len(want))
		}
	}
	if len(acked) != workers*perWorker {
		t.Fatalf("acknowledged %d puts, want %d", len(acked), workers*perWorker)
	}
	for _, p := range acked {
		check(p.name, p.data)
	}
	for name, data := range winners {
		check(name, data)
	}
}

// TestGroupCommitBatchIsolation runs one batch directly: a body that
// fails (after writing), one that panics and one whose caller has gone are
// rolled back alone; the others commit together in one transaction and are
// acknowledged only after it commits.
func TestGroupCommitBatchIsolation(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	svc, err := Open(ctx, Config{Dir: dir, Accounts: testAccounts()})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if _, err := svc.writer.ExecContext(ctx, `CREATE TABLE gc_test (k TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	insert := func(k string) func(context.Context, *sql.Tx) error {
		return func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO gc_test (k) VALUES (?)`, k)
			return err
		}
	}
	visible := func(q queryer, k string) bool {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM gc_test WHERE k = ?`, k).Scan(&n); err != nil {
			t.Errorf("counting %s: %v", k, err)
		}
		return n > 0
	}
	errFail := errors.New("precondition failed")
	gone, cancel := context.WithCancel(ctx)
	cancel()
	var sawShared, sawFailed, sawReader bool
	bodies := []struct {
		name string
		ctx  context.Context
		fn   func(context.Context, *sql.Tx) error
		want error // nil, or the error the caller must get (errors.Is)
	}{
		{"first ok", ctx, insert("a"), nil},
		{"fails after writing", ctx, func(ctx context.Context, tx *sql.Tx) error {
			if err := insert("b")(ctx, tx); err != nil {
				return err
			}
			return errFail
		}, errFail},
		{"duplicate key", ctx, insert("a"), nil}, // want set below: a SQL error
		{"panics", ctx, func(ctx context.Context, tx *sql.Tx) error {
			insert("c")(ctx, tx)
			panic("boom")
		}, nil},
		{"caller gone", gone, insert("d"), context.Canceled},
		{"last ok", ctx, func(ctx context.Context, tx *sql.Tx) error {
			// Same transaction: sees "a" (not yet committed, so the
			// reader pool does not), not the rolled-back "b" and "c".
			sawShared, sawFailed, sawReader = visible(tx, "a"), visible(tx, "b") || visible(tx, "c"), visible(svc.reader, "a")
			return insert("e")(ctx, tx)
		}, nil},
	}
	batch := make([]*commitReq, len(bodies))
	for i, b := range bodies {
		batch[i] = &commitReq{ctx: b.ctx, fn: b.fn, done: make(chan error, 1)}
	}
	svc.runGroup(ctx, batch)
	for i, b := range bodies {
		got := <-batch[i].done
		switch b.name {
		case "duplicate key", "panics":
			if got == nil {
				t.Errorf("%s: got no error", b.name)
			}
		default:
			if (b.want == nil) != (got == nil) || (b.want != nil && !errors.Is(got, b.want)) {
				t.Errorf("%s: got %v, want %v", b.name, got, b.want)
			}
		}
	}
	if !sawShared || sawFailed || sawReader {
		t.Errorf("last body saw a=%v, b or c=%v, a via reader=%v; want true, false, false", sawShared, sawFailed, sawReader)
	}
	for k, want := range map[string]bool{"a": true, "b": false, "c": false, "d": false, "e": true} {
		if got := visible(svc.reader, k); got != want {
			t.Errorf("after commit, %s present = %v, want %v", k, got, want)
		}
	}
	// The committer still serves groupTx after such a batch.
	if err := svc.groupTx(ctx, insert("f")); err != nil {
		t.Fatal(err)
	}
	if !visible(svc.reader, "f") {
		t.Error("f not committed")
	}
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := svc.groupTx(ctx, insert("g")); !errors.Is(err, errServiceClosed) {
		t.Errorf("groupTx after Close: %v, want errServiceClosed", err)
	}
}
