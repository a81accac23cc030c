package store

import (
	"context"
	"fmt"
)

// Resources kept one row per resource in a table with columns
// resource_group and name (postgres_servers, redis_caches).

// listInGroup lists the rows of selectSQL in group rg (which must exist),
// or of every group when rg is "", by group and name.
func listInGroup[T any](ctx context.Context, s *Store, what string, scan func(rowScanner) (T, error), selectSQL, rg string) ([]T, error) {
	q, args := selectSQL, []any{}
	if rg != "" {
		if _, err := s.ResourceGroup(ctx, rg); err != nil {
			return nil, err
		}
		q += ` WHERE resource_group = ?`
		args = append(args, rg)
	}
	return listRows(ctx, s.read, "listing "+what, scan, q+` ORDER BY resource_group, name`, args...)
}

// deleteInGroup deletes rg's row of table named name (what hangs off it
// by foreign key goes with it); notFound when there is none.
func deleteInGroup(ctx context.Context, s *Store, table, rg, name string, notFound func(rg, name string) error) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM `+table+` WHERE resource_group = ? AND name = ?`, rg, name)
	if err != nil {
		return fmt.Errorf("deleting from %s: %w", table, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(rg, name)
	}
	return nil
}
