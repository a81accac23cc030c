package blob

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Group commit. Every write transaction on the single writer connection
// waits for its own fsync (synchronous=FULL), which bounds small writes to
// one per disk flush. groupTx instead hands the transaction body to the
// committer goroutine, which runs every body queued meanwhile in one
// transaction, each in its own SAVEPOINT (so a body that fails rolls back
// only its own changes), commits once, and only then tells each caller its
// result. A caller is told of success only after the transaction holding its
// changes has committed, so durability is as before.

const (
	sqlSavepoint  = `SAVEPOINT g`
	sqlRelease    = `RELEASE g`
	sqlRollbackTo = `ROLLBACK TO g`
)

// maxGroup bounds how many bodies share one transaction.
const maxGroup = 256

// errServiceClosed is returned to writes that arrive after Close.
var errServiceClosed = errors.New("blob service is closed")

// commitReq is one queued transaction body and where its result goes.
type commitReq struct {
	ctx  context.Context // the caller's; a body not yet run when it ends is skipped
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan error // buffered (1)
}

// groupTx runs fn in a savepoint of a shared write transaction and returns
// fn's error, or the error of committing that transaction. fn must use the
// ctx and tx it is given (never the caller's context: a cancelled statement
// would abort the whole shared transaction), must not call groupTx or s.tx,
// and must keep its side effects to tx and to variables the caller reads
// only when groupTx returns nil. Once fn is queued, groupTx waits for its
// outcome even if ctx ends, so the caller never mistakes a committed write
// for a failed one.
func (s *Service) groupTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	r := &commitReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.commits <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.quit:
		return errServiceClosed
	}
	return <-r.done
}

// committer serves groupTx until Close. ctx is the service's lifetime
// context (never cancelled, so no statement of a shared transaction is
// interrupted).
func (s *Service) committer(ctx context.Context) {
	defer close(s.committerDone)
	batch := make([]*commitReq, 0, maxGroup)
	for {
		select {
		case <-s.quit:
			return
		case r := <-s.commits:
			batch = append(batch[:0], r)
		}
		// Take whatever else is already waiting: those callers queued while
		// the previous transaction was committing.
	drain:
		for len(batch) < maxGroup {
			select {
			case r := <-s.commits:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		s.runGroup(ctx, batch)
		clear(batch)
	}
}

// runGroup runs batch in one transaction and reports each request's result.
func (s *Service) runGroup(ctx context.Context, batch []*commitReq) {
	results := make([]error, len(batch))
	fail := func(err error) {
		for _, r := range batch {
			r.done <- err
		}
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("beginning transaction: %w", err))
		return
	}
	q := cachedTx{tx, s.wstmts}
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if _, err := q.ExecContext(ctx, sqlSavepoint); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("beginning savepoint: %w", err))
			return
		}
		results[i] = runBody(ctx, tx, r.fn)
		if results[i] != nil {
			_, err = q.ExecContext(ctx, sqlRollbackTo)
			if err != nil {
				// SQLite may have rolled back the whole transaction (e.g. on
				// a full disk); nothing in it can be committed.
				tx.Rollback()
				fail(fmt.Errorf("rolling back savepoint after %w: %w", results[i], err))
				return
			}
		}
		if _, err := q.ExecContext(ctx, sqlRelease); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("releasing savepoint: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("committing transaction: %w", err))
		return
	}
	for i, r := range batch {
		r.done <- results[i]
	}
}

// runBody runs fn, turning a panic into an error (the committer goroutine
// has no ServeHTTP recover above it).
func runBody(ctx context.Context, tx *sql.Tx, fn func(context.Context, *sql.Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in write transaction: %v", p)
		}
	}()
	return fn(ctx, tx)
}
