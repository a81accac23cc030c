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
	// ownerExists checks that the owner is rg's (ENOTFOUND naming the
	// group or the owner otherwise).
	ownerExists func(ctx context.Context, q querier, rg, owner string) error
	// notFound is the error for a missing rule.
	notFound func(owner, name string) error
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

// typedRules is an ipRuleTable seen through the domain's rule type R,
// which the store's exported methods take and return.
type typedRules[R any] struct {
	ipRuleTable
	to       func(ipRule) R
	from     func(R) ipRule
	validate func(name string) error
}

func (t typedRules[R]) all(rows []ipRule, err error) ([]R, error) {
	out := make([]R, 0, len(rows))
	for _, r := range rows {
		out = append(out, t.to(r))
	}
	return out, err
}

// putIn creates or replaces a rule of rg's owner and returns the owner's
// rules after the change.
func (t typedRules[R]) putIn(ctx context.Context, s *Store, rg string, r R) ([]R, error) {
	f := t.from(r)
	if err := t.validate(f.name); err != nil {
		return nil, err
	}
	var out []ipRule
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := t.ownerExists(ctx, tx, rg, f.owner); err != nil {
			return err
		}
		var err error
		out, err = t.put(ctx, tx, f)
		return err
	})
	return t.all(out, err)
}

// getIn returns a rule of rg's owner.
func (t typedRules[R]) getIn(ctx context.Context, s *Store, rg, owner, name string) (R, error) {
	if err := t.ownerExists(ctx, s.read, rg, owner); err != nil {
		return t.to(ipRule{}), err
	}
	f, err := t.get(ctx, s.read, owner, name)
	if errors.Is(err, sql.ErrNoRows) {
		err = t.notFound(owner, name)
	}
	return t.to(f), err
}

// listIn lists the rules of rg's owner by name.
func (t typedRules[R]) listIn(ctx context.Context, s *Store, rg, owner string) ([]R, error) {
	if err := t.ownerExists(ctx, s.read, rg, owner); err != nil {
		return nil, err
	}
	return t.all(t.list(ctx, s.read, owner))
}

// deleteIn deletes a rule of rg's owner and returns the owner's rules
// after the change; ENOTFOUND when there is none.
func (t typedRules[R]) deleteIn(ctx context.Context, s *Store, rg, owner, name string) ([]R, error) {
	var out []ipRule
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := t.ownerExists(ctx, tx, rg, owner); err != nil {
			return err
		}
		var err error
		out, err = t.delete(ctx, tx, owner, name, t.notFound(owner, name))
		return err
	})
	return t.all(out, err)
}

// resourceExists checks that the named row of table (a resource with
// columns resource_group and name) is rg's: ENOTFOUND naming the group
// when it does not exist, else notFound.
func resourceExists(ctx context.Context, q querier, table, rg, name string, notFound func(rg, name string) error) error {
	var got string
	err := q.QueryRowContext(ctx, `SELECT name FROM `+table+` WHERE resource_group = ? AND name = ?`, rg, name).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		var g string
		if gerr := q.QueryRowContext(ctx, `SELECT name FROM resource_groups WHERE name = ?`, rg).Scan(&g); errors.Is(gerr, sql.ErrNoRows) {
			return errGroupNotFound(rg)
		}
		return notFound(rg, name)
	}
	if err != nil {
		return fmt.Errorf("looking up %s: %w", table, err)
	}
	return nil
}
