package rbac

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/slipway-dev/slipway"
)

// MemoryStore keeps role assignments in memory, for an Authorizer whose
// assignments need not outlive the process: tests of the parts that
// authorize with a real Authorizer. It is safe for concurrent use.
type MemoryStore struct {
	mu   sync.Mutex
	list []Assignment
}

var _ Store = (*MemoryStore)(nil)

// RoleAssignments returns a copy of every assignment.
func (m *MemoryStore) RoleAssignments(context.Context) ([]Assignment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.list), nil
}

// CreateRoleAssignment adds the assignment.
func (m *MemoryStore) CreateRoleAssignment(_ context.Context, a Assignment) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.list = append(m.list, a)
	return nil
}

// SetRoleAssignmentDescription sets the named assignment's description.
func (m *MemoryStore) SetRoleAssignmentDescription(_ context.Context, name, description string, updated time.Time) (Assignment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, a := range m.list {
		if a.Name == name {
			m.list[i].Description, m.list[i].Updated = description, updated
			return m.list[i], nil
		}
	}
	return Assignment{}, slipway.Errorf(slipway.ENOTFOUND, "no assignment %s", name)
}

// DeleteRoleAssignment removes the named assignment.
func (m *MemoryStore) DeleteRoleAssignment(_ context.Context, name string) (Assignment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, a := range m.list {
		if a.Name == name {
			m.list = slices.Delete(m.list, i, i+1)
			return a, nil
		}
	}
	return Assignment{}, slipway.Errorf(slipway.ENOTFOUND, "no assignment %s", name)
}
