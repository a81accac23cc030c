package insights

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

// schema is the telemetry database: every item as its envelope was sent,
// with what the query API selects by, and each component's running
// total, which bounds what one component keeps.
const schema = `
CREATE TABLE IF NOT EXISTS items (
	seq      INTEGER PRIMARY KEY AUTOINCREMENT,
	ikey     TEXT NOT NULL,
	type     TEXT NOT NULL,
	id       TEXT NOT NULL,
	time     INTEGER NOT NULL,
	received INTEGER NOT NULL,
	size     INTEGER NOT NULL,
	envelope BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS items_by_time ON items(ikey, type, time);
CREATE INDEX IF NOT EXISTS items_by_id ON items(ikey, type, id);
CREATE INDEX IF NOT EXISTS items_by_received ON items(received);
CREATE TABLE IF NOT EXISTS usage (
	ikey  TEXT PRIMARY KEY,
	items INTEGER NOT NULL,
	bytes INTEGER NOT NULL
);
`

// item is one telemetry item to keep.
type item struct {
	ikey, typ, id string
	time          time.Time
	envelope      []byte
}

// db is the telemetry database: one writer connection, readers beside it.
type db struct {
	w, r *sql.DB
}

func openDB(ctx context.Context, dir string) (*db, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("opening insights: %w", err)
	}
	dsn := "file:" + (&url.URL{Path: filepath.Join(dir, "insights.db")}).EscapedPath() +
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)"
	w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("opening the insights database: %w", err)
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("opening the insights database: %w", err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	d := &db{w: w, r: r}
	if _, err := w.ExecContext(ctx, schema); err != nil {
		d.close()
		return nil, fmt.Errorf("creating the insights database: %w", err)
	}
	return d, nil
}

func (d *db) close() error {
	d.r.Close()
	return d.w.Close()
}

// insert keeps items, then evicts each component's oldest items beyond
// maxItems or maxBytes: a component that sends too much loses its own
// oldest telemetry, never another's.
func (d *db) insert(ctx context.Context, items []item, received time.Time, maxItems, maxBytes int64) error {
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	added := map[string][2]int64{}
	for _, it := range items {
		if _, err := tx.ExecContext(ctx, `INSERT INTO items(ikey, type, id, time, received, size, envelope) VALUES(?,?,?,?,?,?,?)`,
			it.ikey, it.typ, it.id, it.time.UnixMilli(), received.UnixMilli(), len(it.envelope), it.envelope); err != nil {
			return err
		}
		a := added[it.ikey]
		added[it.ikey] = [2]int64{a[0] + 1, a[1] + int64(len(it.envelope))}
	}
	for ikey, a := range added {
		var n, size int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO usage(ikey, items, bytes) VALUES(?,?,?)
			ON CONFLICT(ikey) DO UPDATE SET items = items + excluded.items, bytes = bytes + excluded.bytes
			RETURNING items, bytes`, ikey, a[0], a[1]).Scan(&n, &size); err != nil {
			return err
		}
		// Evict in batches of the oldest, at most as many rounds as it
		// takes to come under both bounds (each round removes at least
		// one item while any is over).
		for round := 0; (n > maxItems || size > maxBytes) && round < 64; round++ {
			// Past the count, exactly the excess; past the bytes, a tenth
			// of the items at a time.
			batch := n - maxItems
			if batch <= 0 {
				batch = max(n/10, 1)
			}
			var gone, freed int64
			if err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(size), 0) FROM
				(SELECT size FROM items WHERE ikey = ? ORDER BY seq LIMIT ?)`, ikey, batch).Scan(&gone, &freed); err != nil {
				return err
			}
			if gone == 0 {
				break
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM items WHERE seq IN
				(SELECT seq FROM items WHERE ikey = ? ORDER BY seq LIMIT ?)`, ikey, batch); err != nil {
				return err
			}
			n, size = n-gone, size-freed
			if _, err := tx.ExecContext(ctx, `UPDATE usage SET items = ?, bytes = ? WHERE ikey = ?`, n, size, ikey); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

// keys lists the components that have telemetry kept.
func (d *db) keys(ctx context.Context) ([]string, error) {
	rows, err := d.r.QueryContext(ctx, `SELECT ikey FROM usage`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// expire removes ikey's items received before cutoff (all of them for a
// zero cutoff's far future, see dropAll), and their share of its total.
func (d *db) expire(ctx context.Context, ikey string, cutoff time.Time) (int64, error) {
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var n, size int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(size), 0) FROM items WHERE ikey = ? AND received < ?`,
		ikey, cutoff.UnixMilli()).Scan(&n, &size); err != nil || n == 0 {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM items WHERE ikey = ? AND received < ?`, ikey, cutoff.UnixMilli()); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE usage SET items = items - ?, bytes = bytes - ? WHERE ikey = ?`, n, size, ikey); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM usage WHERE ikey = ? AND items <= 0`, ikey); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

// query selects a component's items of types (newest first unless
// ascending) whose time is within [from, to], or the items with id,
// received at receivedSince or later.
type query struct {
	ikey          string
	receivedSince time.Time
	types         []string
	id            string
	from, to      time.Time
	top, skip     int
	ascending     bool
}

// query calls each with the envelope of each item q selects, in order,
// until each returns false.
func (d *db) query(ctx context.Context, q query, each func([]byte) bool) error {
	s := `SELECT envelope FROM items WHERE ikey = ? AND time >= ? AND time <= ? AND received >= ? AND type IN (`
	args := []any{q.ikey, q.from.UnixMilli(), q.to.UnixMilli(), q.receivedSince.UnixMilli()}
	for i, t := range q.types {
		if i > 0 {
			s += ","
		}
		s += "?"
		args = append(args, t)
	}
	s += ")"
	if q.id != "" {
		s += ` AND id = ?`
		args = append(args, q.id)
	}
	if q.ascending {
		s += ` ORDER BY time, seq`
	} else {
		s += ` ORDER BY time DESC, seq DESC`
	}
	s += ` LIMIT ? OFFSET ?`
	args = append(args, q.top, q.skip)
	rows, err := d.r.QueryContext(ctx, s, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return err
		}
		if !each(b) {
			break
		}
	}
	return rows.Err()
}
