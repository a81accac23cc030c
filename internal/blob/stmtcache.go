package blob

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// stmtCache holds statements prepared once, in Open, for the hot paths
// (loading a container or blob, storing a blob row), which otherwise spend
// a large share of their CPU parsing the same SQL. It is read-only after
// Open. database/sql prepares a Stmt on each pooled connection it runs on,
// and Tx.StmtContext reuses the one already prepared on the transaction's
// connection. SQL not in the cache runs unprepared, as before.
//
// Statements are prepared up front rather than on first use because the
// writer pool has a single connection: preparing on it while the committer
// holds it in a transaction would wait forever.
type stmtCache struct {
	db *sql.DB
	m  map[string]*sql.Stmt
}

// newStmtCache prepares qs on db.
func newStmtCache(ctx context.Context, db *sql.DB, qs ...string) (*stmtCache, error) {
	c := &stmtCache{db: db, m: map[string]*sql.Stmt{}}
	for _, q := range qs {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			c.close()
			return nil, fmt.Errorf("preparing statement: %w", err)
		}
		c.m[q] = st
	}
	return c, nil
}

// close closes the prepared statements (before the database is closed).
func (c *stmtCache) close() error {
	if c == nil {
		return nil
	}
	var errs []error
	for _, st := range c.m {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}

// cachedDB runs queries on the pool of c.db, with the cached statement
// when there is one. It satisfies queryer and execer.
type cachedDB struct{ c *stmtCache }

func (d cachedDB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st, ok := d.c.m[q]; ok {
		return st.QueryRowContext(ctx, args...)
	}
	return d.c.db.QueryRowContext(ctx, q, args...)
}

// cachedTx runs queries in tx (a transaction of c.db), with the cached
// statement when there is one. It satisfies queryer and execer.
type cachedTx struct {
	tx *sql.Tx
	c  *stmtCache
}

func (t cachedTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st, ok := t.c.m[q]; ok {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, q, args...)
}

func (t cachedTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st, ok := t.c.m[q]; ok {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, q, args...)
}

func (t cachedTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st, ok := t.c.m[q]; ok {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, q, args...)
}
