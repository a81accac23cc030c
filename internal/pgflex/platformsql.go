package pgflex

// The platform's own connections to a cluster, for the queries a sign-in
// makes (entra.go): a tiny pool of sessions as azuresu over the cluster's
// socket, opened when first needed and closed when the cluster stops, so
// that a sign-in costs a query, not a psql process. Every query is
// parameterized; the one statement PostgreSQL takes no parameters in
// (ALTER ROLE ... PASSWORD) quotes its role name as an identifier and
// carries only the proxy's own password. Other work on a cluster (its
// creation, its databases, pgaadauth) stays with psql (cluster.psql),
// which runs rarely.

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// platformConns bounds the platform's sessions on one cluster (from its
// superuser_reserved_connections, 3): a burst of sign-ins queues for them.
const platformConns = 2

// platformSQL is a cluster's pool of the platform's sessions.
type platformSQL struct {
	mu   sync.Mutex
	pool *pgxpool.Pool // nil until first needed and after the cluster stops
}

// sql returns the cluster's pool of the platform's sessions, making it if
// the cluster runs. It connects lazily; a broken session is dropped and
// another made at the next query.
func (c *cluster) sql() (*pgxpool.Pool, error) {
	c.db.mu.Lock()
	defer c.db.mu.Unlock()
	if c.db.pool != nil {
		return c.db.pool, nil
	}
	// Checked under the lock that closeSQL takes after the postmaster
	// has stopped: a pool is never made for a stopped cluster, so none
	// outlives it.
	if !c.isRunning() {
		return nil, fmt.Errorf("PostgreSQL server %q is stopped", c.name)
	}
	// Only the socket, only SCRAM: the settings the environment could
	// give libpq-style (PGHOST, PGOPTIONS, ...) are all replaced below.
	cfg, err := pgxpool.ParseConfig("sslmode=disable require_auth=scram-sha-256")
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL server %q: the platform's connection: %w", c.name, err)
	}
	cc := cfg.ConnConfig
	cc.Host, cc.Port, cc.Database, cc.User, cc.Password = c.run, 5432, "postgres", platformRole, ""
	cc.TLSConfig, cc.Fallbacks, cc.ValidateConnect, cc.AfterConnect, cc.AfterNetConnect = nil, nil, nil, nil, nil
	cc.ConnectTimeout = 10 * time.Second
	// The session's settings are the platform's, as cluster.psql's are:
	// names resolve in pg_catalog only, never in a schema a tenant may
	// create objects in; a statement carrying a password is never
	// logged; no statement holds a sign-in longer than its handshake.
	cc.RuntimeParams = map[string]string{
		"application_name":            "slipway",
		"search_path":                 "pg_catalog",
		"standard_conforming_strings": "on",
		"log_statement":               "none",
		"log_min_error_statement":     "panic",
		"statement_timeout":           "10s",
		"lock_timeout":                "5s",
	}
	// The socket's directory is the cluster user's: its peer is checked
	// as the proxy's own connections' are (cluster.peerIsCluster).
	cc.DialFunc = func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "unix", c.socket())
		if err != nil {
			return nil, err
		}
		if err := c.peerIsCluster(conn.(*net.UnixConn)); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	}
	cfg.BeforeConnect = func(_ context.Context, cc *pgx.ConnConfig) error {
		pw, err := c.loadPassword()
		cc.Password = pw
		return err
	}
	cfg.MinConns, cfg.MaxConns = 0, platformConns
	cfg.MaxConnIdleTime, cfg.MaxConnLifetime, cfg.HealthCheckPeriod = 5*time.Minute, time.Hour, time.Minute
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL server %q: the platform's connection: %w", c.name, err)
	}
	c.db.pool = pool
	return pool, nil
}

// closeSQL closes the platform's sessions on the cluster, once its
// postmaster has stopped.
func (c *cluster) closeSQL() {
	c.db.mu.Lock()
	pool := c.db.pool
	c.db.pool = nil
	c.db.mu.Unlock()
	if pool != nil {
		pool.Close()
	}
}
