// Package store persists Slipway's control-plane state in SQLite: the
// subscription identity, resource groups, App Service plans, sites with their
// app settings, connection strings, slot-sticky names and publishing
// credentials, and deployments with their logs.
//
// It owns the database file <dir>/slipway.db and the at-rest encryption key
// <dir>/keys/master.key. Secrets (setting and connection-string values,
// publishing passwords) are sealed with AES-256-GCM before they reach the
// database; names are stored in clear.
//
// The database follows the house recipe: the pure-Go modernc.org/sqlite
// driver, WAL, a busy timeout, foreign keys on, one writer connection and a
// separate read-only pool, and embedded numbered migrations. Every change
// that spans more than one statement runs in a transaction inside this
// package. Errors a user can act on are *slipway.Error values with ENOTFOUND,
// ECONFLICT or EINVALID and messages worded as Azure words them.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Store is Slipway's control-plane database. It is safe for concurrent use.
type Store struct {
	write  *sql.DB // exactly one connection: SQLite allows one writer at a time
	read   *sql.DB // read-only pool
	key    []byte  // 32-byte AES-256 master key
	logger *slog.Logger
	now    func() time.Time
	access accessCache    // for FindStorageAccountAccess
	hosts  hostIndex      // for SiteForHostName (hostnames.go)
	routes routeIndex     // for SlotRoute (slots.go)
	sites  siteIndex      // for SiteRouting (sitecache.go)
	pw     passwordChecks // slow deployment-password checks (deploymentusers.go)
	// queries counts the statements run (counting.go).
	queries atomic.Uint64
}

// readerConns is the size of the read-only connection pool.
const readerConns = 4

// Open opens (creating if needed) the database in dir, applies pending
// migrations, loads or creates the master key, and makes sure the
// subscription and tenant identity exist.
func Open(ctx context.Context, dir string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	key, err := loadOrCreateKey(filepath.Join(dir, "keys", "master.key"))
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "slipway.db")
	u := url.URL{Scheme: "file", Path: path}

	wq := url.Values{}
	wq.Set("_busy_timeout", "10000")
	wq.Set("_journal_mode", "WAL")
	wq.Set("_foreign_keys", "1")
	wq.Set("_synchronous", "NORMAL")
	wq.Set("_txlock", "immediate")
	u.RawQuery = wq.Encode()
	s := &Store{key: key, logger: logger, now: time.Now}
	s.pw.init()
	write, err := openCounted(u.String(), &s.queries)
	if err != nil {
		return nil, fmt.Errorf("opening database writer: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	s.write = write
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		write.Close()
		return nil, err
	}

	rq := url.Values{}
	rq.Set("_busy_timeout", "10000")
	rq.Set("_foreign_keys", "1")
	rq.Set("_query_only", "1")
	u.RawQuery = rq.Encode()
	read, err := openCounted(u.String(), &s.queries)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("opening database readers: %w", err)
	}
	read.SetMaxOpenConns(readerConns)
	read.SetMaxIdleConns(readerConns)
	s.read = read
	if err := read.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("opening database readers %s: %w", path, err)
	}
	if err := s.ensureIdentity(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.loadSiteIndex(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.loadRoutes(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.loadHostIndex(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database. The Store must not be used afterwards.
func (s *Store) Close() error {
	var errs []error
	if s.read != nil {
		if err := s.read.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing database readers: %w", err))
		}
	}
	if s.write != nil {
		if err := s.write.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing database writer: %w", err))
		}
	}
	return errors.Join(errs...)
}

// migration is one numbered .sql file.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order. File names
// are NNNN_description.sql, numbered from 1 without gaps.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("reading embedded migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration file %q is not named NNNN_description.sql", e.Name())
		}
		b, err := fs.ReadFile(migrationFS, "migrations/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("reading migration %s: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// migrate applies every migration newer than the database's user_version,
// all in one transaction, so a failure leaves the schema as it was.
//
// Foreign keys are off while they run, as SQLite's procedure for changing
// a table's constraints needs (a table rebuilt and its old copy dropped
// must cascade to no child row; PRAGMA foreign_keys cannot change inside a
// transaction), and every key is checked before the transaction commits:
// a migration that leaves a row pointing nowhere fails and changes
// nothing. The writer pool holds its one connection for good, so the
// PRAGMAs and the transaction share it.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	if _, err := s.write.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return fmt.Errorf("turning foreign keys off to migrate: %w", err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var current int
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
			return fmt.Errorf("reading schema version: %w", err)
		}
		if current > len(ms) {
			return fmt.Errorf("database schema version %d is newer than this binary knows (%d): upgrade Slipway", current, len(ms))
		}
		for _, m := range ms[current:] {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("applying migration %s: %w", m.name, err)
			}
			// PRAGMA takes no bind parameters; the version is an integer we computed.
			if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version)); err != nil {
				return fmt.Errorf("recording schema version %d: %w", m.version, err)
			}
			s.logger.Info("applied database migration", "migration", m.name)
		}
		return checkForeignKeys(ctx, tx)
	})
	if _, ferr := s.write.ExecContext(ctx, "PRAGMA foreign_keys = ON"); ferr != nil && err == nil {
		err = fmt.Errorf("turning foreign keys back on: %w", ferr)
	}
	return err
}

// checkForeignKeys fails if any row's foreign key points nowhere.
func checkForeignKeys(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return fmt.Errorf("checking foreign keys: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fk int
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return fmt.Errorf("checking foreign keys: %w", err)
		}
		return fmt.Errorf("migrating the database: a row of %s (rowid %d) refers to a missing row of %s", table, rowid.Int64, parent)
	}
	return rows.Err()
}

// SchemaVersion returns the database's schema version (the number of the
// last applied migration).
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.read.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("reading schema version: %w", err)
	}
	return v, nil
}

// inTx runs fn in a write transaction on the single writer connection and
// commits it if fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // the error from fn is the one that matters
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing transaction: %w", err)
	}
	return nil
}

// ensureIdentity creates the subscription and tenant GUIDs on first open.
func (s *Store) ensureIdentity(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, k := range []string{"subscription_id", "tenant_id"} {
			g, err := newGUID()
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, k, g); err != nil {
				return fmt.Errorf("creating %s: %w", k, err)
			}
		}
		return nil
	})
}

// Identity returns the subscription and tenant GUIDs of this Slipway
// installation. They are created on first open and never change.
func (s *Store) Identity(ctx context.Context) (subscriptionID, tenantID string, err error) {
	err = eachRow(ctx, s.read, "reading identity", func(r rowScanner) error {
		var k, v string
		if err := r.Scan(&k, &v); err != nil {
			return err
		}
		if k == "subscription_id" {
			subscriptionID = v
		} else {
			tenantID = v
		}
		return nil
	}, `SELECT key, value FROM meta WHERE key IN ('subscription_id', 'tenant_id')`)
	if err != nil {
		return "", "", err
	}
	if subscriptionID == "" || tenantID == "" {
		return "", "", fmt.Errorf("reading identity: missing from the database")
	}
	return subscriptionID, tenantID, nil
}

// newGUID returns a random (version 4) GUID in its lower-case 8-4-4-4-12 form.
func newGUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generating GUID: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// newHexID returns 32 random hex characters (a GUID in "N" form), the shape
// of Kudu deployment ids.
func newHexID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generating id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// toUnix stores a time as Unix nanoseconds; the zero time is 0.
func toUnix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromUnix is the inverse of toUnix; times come back in UTC.
func fromUnix(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// encodeTags stores tags as a JSON object.
func encodeTags(tags map[string]string) string {
	if len(tags) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(tags) // a map[string]string always marshals
	return string(b)
}

// decodeTags reads tags stored by encodeTags; it never returns nil.
func decodeTags(s string) (map[string]string, error) {
	m := map[string]string{}
	if s == "" {
		return m, nil
	}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decoding tags: %w", err)
	}
	return m, nil
}

// boolInt converts a bool for an INTEGER column.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// querier is *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
