package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
)

// ipRuleTable is a table of firewall rules of one kind of resource
// (postgres_firewall_rules, redis_firewall_rules): each a named IPv4 range
// of an owner (the server's or cache's name), kept as text.
type ipRuleTable struct {
	table, owner string // the table and its owner column
	what         string // e.g. "PostgreSQL firewall rule", for errors
}

// ipRule is one row of an ipRuleTable.
type ipRule struct {
	owner, name string
	start, end  netip.Addr
}

func (t ipRuleTable) selectSQL() string {
	return `SELECT ` + t.owner + `, name, start_ip, end_ip FROM ` + t.table
}

func (t ipRuleTable) scan(r rowScanner) (ipRule, error) {
	var f ipRule
	var start, end string
	if err := r.Scan(&f.owner, &f.name, &start, &end); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return f, err
		}
		return f, fmt.Errorf("reading %s: %w", t.what, err)
	}
	var err1, err2 error
	f.start, err1 = netip.ParseAddr(start)
	f.end, err2 = netip.ParseAddr(end)
	if err := errors.Join(err1, err2); err != nil {
		return f, fmt.Errorf("reading %s %s: %w", t.what, f.name, err)
	}
	return f, nil
}

// list returns owner's rules by name, or every rule by owner and name
// when owner is "".
func (t ipRuleTable) list(ctx context.Context, q querier, owner string) ([]ipRule, error) {
	if owner == "" {
		return listRows(ctx, q, "listing "+t.what+"s", t.scan, t.selectSQL()+` ORDER BY `+t.owner+`, name`)
	}
	return listRows(ctx, q, "listing "+t.what+"s", t.scan, t.selectSQL()+` WHERE `+t.owner+` = ? ORDER BY name`, owner)
}

// get returns one rule; sql.ErrNoRows when there is none.
func (t ipRuleTable) get(ctx context.Context, q querier, owner, name string) (ipRule, error) {
	return t.scan(q.QueryRowContext(ctx, t.selectSQL()+` WHERE `+t.owner+` = ? AND name = ?`, owner, name))
}

// put creates or replaces a rule and returns its owner's rules after.
func (t ipRuleTable) put(ctx context.Context, tx *sql.Tx, f ipRule) ([]ipRule, error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+t.table+` (`+t.owner+`, name, start_ip, end_ip) VALUES (?, ?, ?, ?)
		ON CONFLICT (`+t.owner+`, name) DO UPDATE SET start_ip = excluded.start_ip, end_ip = excluded.end_ip`,
		f.owner, f.name, f.start.String(), f.end.String()); err != nil {
		return nil, fmt.Errorf("storing %s: %w", t.what, err)
	}
	return t.list(ctx, tx, f.owner)
}

// delete deletes a rule and returns its owner's rules after; notFound
// when there is none.
func (t ipRuleTable) delete(ctx context.Context, tx *sql.Tx, owner, name string, notFound error) ([]ipRule, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM `+t.table+` WHERE `+t.owner+` = ? AND name = ?`, owner, name)
	if err != nil {
		return nil, fmt.Errorf("deleting %s: %w", t.what, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, notFound
	}
	return t.list(ctx, tx, owner)
}
