package store

// This file holds the helpers that run a query and walk its rows.

import (
	"context"
	"fmt"
	"strings"
)

// eachRow runs query on q and calls fn with every row, in order. Errors —
// the query's, fn's and the rows' — are wrapped with what ("listing plans").
func eachRow(ctx context.Context, q querier, what string, fn func(rowScanner) error, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// listRows is eachRow collecting scan's value of every row. The result is
// never nil, so that an empty list encodes as [] and not null.
func listRows[T any](ctx context.Context, q querier, what string, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	out := []T{}
	err := eachRow(ctx, q, what, func(r rowScanner) error {
		v, err := scan(r)
		if err != nil {
			return err
		}
		out = append(out, v)
		return nil
	}, query, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// isUniqueViolation reports whether err is SQLite refusing a row that
// breaks a UNIQUE constraint.
func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
