package store

// Every statement the store runs goes through a thin wrapper around the
// SQLite driver that counts it (Queries). The count is what proves that a
// path meant to be served from memory — the front door's routing of a
// request to an app (sitecache.go) — does no database I/O: a test reads it
// before and after. The wrapper keeps every optional interface of the
// driver's connection that database/sql uses, so the driver's fast paths
// (QueryContext/ExecContext without a prepared statement) stay in use.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync/atomic"
)

// openCounted opens a pool on the registered "sqlite" driver whose
// connections add one to n per statement.
func openCounted(dsn string, n *atomic.Uint64) (*sql.DB, error) {
	probe, err := sql.Open("sqlite", dsn) // connects to nothing: only finds the driver
	if err != nil {
		return nil, err
	}
	drv := probe.Driver()
	probe.Close()
	return sql.OpenDB(&countingConnector{drv: drv, dsn: dsn, n: n}), nil
}

type countingConnector struct {
	drv driver.Driver
	dsn string
	n   *atomic.Uint64
}

func (c *countingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	inner, ok := conn.(innerConn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("sqlite driver connection %T lacks the context methods", conn)
	}
	return &countingConn{inner: inner, n: c.n}, nil
}

func (c *countingConnector) Driver() driver.Driver { return c.drv }

// innerConn is what modernc.org/sqlite's connection implements and
// database/sql uses.
type innerConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type countingConn struct {
	inner innerConn
	n     *atomic.Uint64
}

var _ innerConn = (*countingConn)(nil)

func (c *countingConn) Prepare(q string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), q)
}
func (c *countingConn) Close() error              { return c.inner.Close() }
func (c *countingConn) Begin() (driver.Tx, error) { return c.inner.Begin() }
func (c *countingConn) BeginTx(ctx context.Context, o driver.TxOptions) (driver.Tx, error) {
	return c.inner.BeginTx(ctx, o)
}
func (c *countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	st, err := c.inner.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	return &countingStmt{Stmt: st, n: c.n}, nil
}
func (c *countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	c.n.Add(1)
	return c.inner.ExecContext(ctx, q, args)
}
func (c *countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.n.Add(1)
	return c.inner.QueryContext(ctx, q, args)
}
func (c *countingConn) Ping(ctx context.Context) error         { return c.inner.Ping(ctx) }
func (c *countingConn) ResetSession(ctx context.Context) error { return c.inner.ResetSession(ctx) }
func (c *countingConn) IsValid() bool                          { return c.inner.IsValid() }

// countingStmt counts each execution of a prepared statement.
type countingStmt struct {
	driver.Stmt
	n *atomic.Uint64
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.n.Add(1)
	if e, ok := s.Stmt.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	return nil, errNoContext
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.n.Add(1)
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	return nil, errNoContext
}

var errNoContext = errors.New("sqlite driver statement lacks the context methods")

// Queries returns how many statements the store has run since Open (reads
// and writes, transactions' statements included).
func (s *Store) Queries() uint64 { return s.queries.Load() }
