package arm

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/diskreserve"
	"github.com/slipway-dev/slipway/internal/rbac"
)

// TestAttackRoleAssignmentsFillTheStore: a resource group's Owner may
// create role assignments at any scope below it, one that names no stored
// resource too, so without end; and their PUT, routed before the fixed
// table, skipped the disk reserve every other PUT stops at. A group holds
// at most rbac's limit (400 RoleAssignmentLimitExceeded past it), and on a
// short disk a new assignment is refused with 503 as other changes are;
// deleting one goes on.
func TestAttackRoleAssignmentsFillTheStore(t *testing.T) {
	var free atomic.Uint64
	free.Store(100 << 30)
	guard := diskreserve.New(diskreserve.Config{Path: t.TempDir(), What: "changes", Reserve: diskreserve.Amount{Bytes: 1 << 30},
		FreeSpace: func(string) (diskreserve.Space, error) {
			return diskreserve.Space{Free: free.Load(), Size: 200 << 30}, nil
		},
		Now: func() time.Time { return time.Now().Add(time.Duration(free.Load())) }})
	const limit = 5
	var e *env
	e = newEnvWith(t, func(c *Config) {
		c.Reserve = guard
		c.RBAC = rbac.New(rbac.Config{Store: c.Store, MaxGroupAssignments: limit})
	})
	e.seed()
	name := func(i int) string { return fmt.Sprintf("9b1f4a1e-6c1d-4f7a-8d3e-%012d", i) }
	at := func(i int) string {
		return rgPath + "/providers/Microsoft.Foo/bars/b" + fmt.Sprint(i) + "/providers/Microsoft.Authorization/roleAssignments/" + name(i) + raAPI
	}
	for i := range limit {
		e.must(http.StatusCreated, "PUT", at(i), raBody(e.sub, readerID, principal1))
	}
	r := e.do("PUT", at(limit), raBody(e.sub, readerID, principal1))
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "RoleAssignmentLimitExceeded") {
		t.Errorf("assignment past the limit: %d %.300s", r.status, r.body)
	}
	e.must(http.StatusOK, "DELETE", at(0), "")

	free.Store(512 << 20) // under the 1 GiB reserve
	r = e.do("PUT", at(limit), raBody(e.sub, readerID, principal1))
	if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "short of disk space") || r.header.Get("Retry-After") == "" {
		t.Errorf("assignment on a short disk: %d %.300s", r.status, r.body)
	}
	e.must(http.StatusOK, "DELETE", at(1), "")

	free.Store(100 << 30)
	e.must(http.StatusCreated, "PUT", at(limit), raBody(e.sub, readerID, principal1))
}
