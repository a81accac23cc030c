package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/rbac"
)

var _ rbac.Store = (*Store)(nil)

const roleAssignmentSelect = `SELECT name, scope, role_definition_id, principal_id, principal_type, description,
	condition, condition_version, created, updated, created_by FROM role_assignments`

// RoleAssignments returns every role assignment, ordered by scope and name.
func (s *Store) RoleAssignments(ctx context.Context) ([]rbac.Assignment, error) {
	return listRows(ctx, s.read, "listing role assignments", scanRoleAssignment, roleAssignmentSelect+` ORDER BY scope, name`)
}

// CreateRoleAssignment stores a new assignment, committed before it
// returns. It validates the assignment again (rbac.Assignment.Validate);
// a name in use, or the same role for the same principal at the same scope,
// is ECONFLICT.
func (s *Store) CreateRoleAssignment(ctx context.Context, a rbac.Assignment) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if a.Created.IsZero() {
		a.Created = s.now().UTC()
	}
	if a.Updated.IsZero() {
		a.Updated = a.Created
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM role_assignments WHERE name = ?
			OR (scope = ? AND role_definition_id = ? AND principal_id = ?)`,
			a.Name, a.Scope, a.RoleDefinitionID, a.PrincipalID).Scan(&n); err != nil {
			return fmt.Errorf("checking role assignment: %w", err)
		}
		if n > 0 {
			return slipway.Errorf(slipway.ECONFLICT, "The role assignment already exists.")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO role_assignments (name, scope, role_definition_id, principal_id,
			principal_type, description, condition, condition_version, created, updated, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.Name, a.Scope, a.RoleDefinitionID, a.PrincipalID, a.PrincipalType, a.Description,
			a.Condition, a.ConditionVersion, toUnix(a.Created), toUnix(a.Updated), strings.ToLower(a.CreatedBy)); err != nil {
			return fmt.Errorf("inserting role assignment: %w", err)
		}
		return nil
	})
}

// DeleteRoleAssignment deletes the named assignment (case-insensitive) and
// returns it, committed before it returns; ENOTFOUND when there is none.
func (s *Store) DeleteRoleAssignment(ctx context.Context, name string) (rbac.Assignment, error) {
	var old rbac.Assignment
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		a, err := roleAssignmentTx(ctx, tx, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM role_assignments WHERE name = ?`, name); err != nil {
			return fmt.Errorf("deleting role assignment: %w", err)
		}
		old = a
		return nil
	})
	return old, err
}

// SetRoleAssignmentDescription sets the named assignment's description
// and updated time and returns it, committed before it returns; ENOTFOUND
// when there is none.
func (s *Store) SetRoleAssignmentDescription(ctx context.Context, name, description string, updated time.Time) (rbac.Assignment, error) {
	var out rbac.Assignment
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		a, err := roleAssignmentTx(ctx, tx, name)
		if err != nil {
			return err
		}
		a.Description, a.Updated = description, updated
		if err := a.Validate(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE role_assignments SET description = ?, updated = ? WHERE name = ?`,
			description, toUnix(updated), a.Name); err != nil {
			return fmt.Errorf("updating role assignment: %w", err)
		}
		out = a
		return nil
	})
	return out, err
}

// roleAssignmentTx reads the named assignment in tx; ENOTFOUND when
// there is none.
func roleAssignmentTx(ctx context.Context, tx *sql.Tx, name string) (rbac.Assignment, error) {
	a, err := scanRoleAssignment(tx.QueryRowContext(ctx, roleAssignmentSelect+` WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return a, slipway.Errorf(slipway.ENOTFOUND, "The role assignment '%s' is not found.", name)
	}
	return a, err
}

func scanRoleAssignment(r rowScanner) (rbac.Assignment, error) {
	var a rbac.Assignment
	var created, updated int64
	if err := r.Scan(&a.Name, &a.Scope, &a.RoleDefinitionID, &a.PrincipalID, &a.PrincipalType, &a.Description,
		&a.Condition, &a.ConditionVersion, &created, &updated, &a.CreatedBy); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return a, err
		}
		return a, fmt.Errorf("reading role assignment: %w", err)
	}
	a.Created, a.Updated = fromUnix(created), fromUnix(updated)
	return a, nil
}

// deleteGroupRoleAssignmentsTx deletes the role assignments at and below
// the resource group: they go with it, or its principals would hold their
// roles over a group created later under the same name.
func deleteGroupRoleAssignmentsTx(ctx context.Context, tx *sql.Tx, group string) error {
	rows, err := tx.QueryContext(ctx, `SELECT name, scope FROM role_assignments`)
	if err != nil {
		return fmt.Errorf("listing role assignments: %w", err)
	}
	var names []string
	for rows.Next() {
		var name, scope string
		if err := rows.Scan(&name, &scope); err != nil {
			rows.Close()
			return fmt.Errorf("listing role assignments: %w", err)
		}
		// Stored scopes are clean (rbac.CleanScope): /subscriptions/{s}/resourceGroups/{rg}[/...].
		segs := strings.Split(strings.TrimPrefix(scope, "/"), "/")
		if len(segs) >= 4 && strings.EqualFold(segs[2], "resourceGroups") && strings.EqualFold(segs[3], group) {
			names = append(names, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("listing role assignments: %w", err)
	}
	for _, n := range names {
		if _, err := tx.ExecContext(ctx, `DELETE FROM role_assignments WHERE name = ?`, n); err != nil {
			return fmt.Errorf("deleting role assignment %s: %w", n, err)
		}
	}
	return nil
}
