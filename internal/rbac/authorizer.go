package rbac

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/slipway"
)

// Store keeps role assignments durably. internal/store implements it;
// every method returns only after the change is committed.
type Store interface {
	// RoleAssignments returns every assignment.
	RoleAssignments(ctx context.Context) ([]Assignment, error)
	// CreateRoleAssignment stores a new, validated assignment. An
	// assignment of the same role to the same principal at the same scope
	// (under another name) is ECONFLICT; so is the name taken at another
	// scope.
	CreateRoleAssignment(ctx context.Context, a Assignment) error
	// DeleteRoleAssignment deletes the named assignment and returns it;
	// ENOTFOUND when there is none.
	DeleteRoleAssignment(ctx context.Context, name string) (Assignment, error)
	// SetRoleAssignmentDescription sets the named assignment's
	// description and updated time and returns it; ENOTFOUND when there
	// is none.
	SetRoleAssignmentDescription(ctx context.Context, name, description string, updated time.Time) (Assignment, error)
}

// Config configures an Authorizer.
type Config struct {
	Store Store
	// PrincipalExists, when set, says whether an object id names a
	// principal the token service knows; creating an assignment for one
	// it does not know is refused with PrincipalNotFound. Nil: any GUID.
	PrincipalExists func(ctx context.Context, objectID string) (bool, error)
	// MaxGroupAssignments bounds the assignments at a resource group and
	// below it; 0 → the constant MaxGroupAssignments.
	MaxGroupAssignments int
	Now                 func() time.Time
}

// Authorizer decides whether a principal may perform an operation, from
// the role assignments it holds in memory, and makes every assignment change
// (so that its copy is refreshed after each). It is safe for concurrent use.
//
// Use one Authorizer per Store: changes made through another are not seen
// until Reload.
type Authorizer struct {
	cfg Config

	// mu guards the cached assignments; writes serializes changes so the
	// cache is reloaded in commit order.
	mu      sync.RWMutex
	loaded  bool
	byPrinc map[string][]Assignment // by lower-case principal id
	all     []Assignment
	writes  sync.Mutex
}

// New returns an Authorizer over cfg.Store. It reads the assignments on
// first use (or at Reload).
func New(cfg Config) *Authorizer {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxGroupAssignments <= 0 {
		cfg.MaxGroupAssignments = MaxGroupAssignments
	}
	return &Authorizer{cfg: cfg}
}

// Reload replaces the in-memory assignments with the store's.
func (a *Authorizer) Reload(ctx context.Context) error {
	list, err := a.cfg.Store.RoleAssignments(ctx)
	if err != nil {
		return fmt.Errorf("loading role assignments: %w", err)
	}
	by := make(map[string][]Assignment)
	for _, x := range list {
		if _, err := CleanScope(x.Scope); err != nil {
			// Stored before CleanScope refused its scope (one under
			// Microsoft.Authorization): listed, but it grants nothing.
			continue
		}
		k := strings.ToLower(x.PrincipalID)
		by[k] = append(by[k], x)
	}
	a.mu.Lock()
	a.all, a.byPrinc, a.loaded = list, by, true
	a.mu.Unlock()
	return nil
}

// snapshot returns the cached assignments, loading them the first time.
func (a *Authorizer) snapshot(ctx context.Context) ([]Assignment, map[string][]Assignment, error) {
	a.mu.RLock()
	if a.loaded {
		all, by := a.all, a.byPrinc
		a.mu.RUnlock()
		return all, by, nil
	}
	a.mu.RUnlock()
	a.writes.Lock()
	defer a.writes.Unlock()
	a.mu.RLock()
	loaded := a.loaded
	a.mu.RUnlock()
	if !loaded {
		if err := a.Reload(ctx); err != nil {
			return nil, nil, err
		}
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.all, a.byPrinc, nil
}

// Check returns nil when one of the principal's role assignments at scope
// or above grants action (a data action when data is true), and otherwise
// an *AuthorizationFailed carrying Azure's message (which
// slipway.ErrorCode classifies as EFORBIDDEN). The scope is any ARM path;
// containment is by whole segments, case-insensitive.
func (a *Authorizer) Check(ctx context.Context, principalObjectID, action, scope string, data bool) error {
	_, by, err := a.snapshot(ctx)
	if err != nil {
		return err
	}
	for _, x := range by[strings.ToLower(principalObjectID)] {
		if !ScopeContains(x.Scope, scope) {
			continue
		}
		if role := RoleByID(x.RoleDefinitionID); role != nil && role.Allows(action, data) {
			return nil
		}
	}
	return &AuthorizationFailed{PrincipalID: principalObjectID, Action: action, Scope: scope, Data: data}
}

// providersRead is reading a subscription's resource providers (GET
// /subscriptions/{s}/providers[/{namespace}]).
const providersRead = "Microsoft.Resources/subscriptions/providers/read"

// AuthorizeRequest authorizes an ARM request by the principal (its object
// id, from a verified token): the operation and scope come from ActionFor.
// Reads above any subscription (listing subscriptions and tenants,
// provider metadata) are open to every authenticated principal, as on
// Azure; so are a subscription's resource providers to anyone holding a
// role in that subscription, at any scope: az reads a type's api-versions
// there before `az resource show --ids`, which a principal whose only
// role is on one resource group may run on it. Everything else needs a
// role that grants the operation.
//
// The caller's own deployment user (GET and PUT
// /providers/Microsoft.Web/publishingUsers/web, exactly that path) is open
// to every authenticated principal too: it belongs to the caller, not to
// any resource (az webapp deployment user set).
func (a *Authorizer) AuthorizeRequest(principalObjectID string, r *http.Request) error {
	action, scope := ActionFor(r.Method, r.URL.Path)
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	if scope == TenantScope && read {
		return nil
	}
	if IsPublishingUserPath(r.URL.Path) && (read || r.Method == http.MethodPut) {
		return nil
	}
	err := a.Check(r.Context(), principalObjectID, action, scope, false)
	var denied *AuthorizationFailed
	if read && action == providersRead && errors.As(err, &denied) {
		in, herr := a.HoldsRoleIn(r.Context(), principalObjectID, scope)
		if herr != nil {
			return herr
		}
		if in {
			return nil
		}
	}
	return err
}

// HoldsRoleIn reports whether the principal has a role assignment at,
// above or anywhere below scope.
func (a *Authorizer) HoldsRoleIn(ctx context.Context, principalObjectID, scope string) (bool, error) {
	_, by, err := a.snapshot(ctx)
	if err != nil {
		return false, err
	}
	for _, x := range by[strings.ToLower(principalObjectID)] {
		if ScopeContains(x.Scope, scope) || ScopeContains(scope, x.Scope) {
			return true, nil
		}
	}
	return false, nil
}

// Assignments returns every assignment, from memory, ordered by scope and
// then name. The caller must not modify the result.
func (a *Authorizer) Assignments(ctx context.Context) ([]Assignment, error) {
	all, _, err := a.snapshot(ctx)
	return all, err
}

// Assignment returns the named assignment at scope; ENOTFOUND (with ARM's
// RoleAssignmentNotFound message) when there is none there.
func (a *Authorizer) Assignment(ctx context.Context, scope, name string) (Assignment, error) {
	all, _, err := a.snapshot(ctx)
	if err != nil {
		return Assignment{}, err
	}
	for _, x := range all {
		if strings.EqualFold(x.Name, name) && ScopeEqual(x.Scope, scope) {
			return x, nil
		}
	}
	return Assignment{}, errAssignmentNotFound(name)
}

// ErrRoleAssignmentExists marks the conflict ARM answers with 409
// RoleAssignmentExists.
var ErrRoleAssignmentExists = errors.New("role assignment exists")

// ErrPrincipalNotFound marks ARM's 400 PrincipalNotFound.
var ErrPrincipalNotFound = errors.New("principal not found")

// ErrUpdateNotPermitted marks ARM's 400 RoleAssignmentUpdateNotPermitted.
var ErrUpdateNotPermitted = errors.New("role assignment update not permitted")

// ErrRoleAssignmentLimit marks ARM's 400 RoleAssignmentLimitExceeded.
var ErrRoleAssignmentLimit = errors.New("role assignment limit exceeded")

// MaxGroupAssignments bounds the role assignments at a resource group and
// below it (and at the subscription's own scope). A group's Owner may
// assign roles at any scope below it, which need not name a stored
// resource, and each assignment is a row in the platform's database and an
// entry held in memory and reloaded whole at every change: without a bound
// one tenant could add them without end. Azure's bound is 4,000 per
// subscription; here every group may be another tenant's, so that one
// cannot use up the others' share, it applies per group.
const MaxGroupAssignments = 4000

// coded is a *slipway.Error that also matches one of the sentinels above,
// so an edge can tell ARM's specific codes apart.
type coded struct {
	err  *slipway.Error
	kind error
}

func (c *coded) Error() string   { return c.err.Error() }
func (c *coded) Unwrap() []error { return []error{c.err, c.kind} }

func errAssignmentNotFound(name string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "The role assignment '%s' is not found.", name)
}

// Create stores a new assignment (validated; Created, Updated and
// CreatedBy filled in) and refreshes the in-memory copy. It answers as ARM
// does: the same name with the same role, principal and scope returns the
// existing assignment and created=false; the same role for the same
// principal at the same scope under another name is a conflict matching
// ErrRoleAssignmentExists; the name in use for anything else matches
// ErrUpdateNotPermitted.
func (a *Authorizer) Create(ctx context.Context, x Assignment, createdBy string) (Assignment, bool, error) {
	if err := x.Validate(); err != nil {
		return Assignment{}, false, err
	}
	if a.cfg.PrincipalExists != nil {
		ok, err := a.cfg.PrincipalExists(ctx, x.PrincipalID)
		if err != nil {
			return Assignment{}, false, fmt.Errorf("looking up principal %s: %w", x.PrincipalID, err)
		}
		if !ok {
			return Assignment{}, false, &coded{slipway.Errorf(slipway.EINVALID,
				"Principal %s does not exist in the directory. Check that you have the correct principal ID.", strings.ReplaceAll(x.PrincipalID, "-", "")), ErrPrincipalNotFound}
		}
	}
	a.writes.Lock()
	defer a.writes.Unlock()
	if err := a.ensureLoadedLocked(ctx); err != nil {
		return Assignment{}, false, err
	}
	a.mu.RLock()
	all := a.all
	a.mu.RUnlock()
	for _, old := range all {
		sameTrio := old.PrincipalID == x.PrincipalID && old.RoleDefinitionID == x.RoleDefinitionID && ScopeEqual(old.Scope, x.Scope)
		if old.Name == x.Name {
			if sameTrio && old.Description == x.Description {
				return old, false, nil
			}
			if sameTrio {
				// A PUT of the same assignment may change its description
				// (az role assignment update), as on Azure.
				u, err := a.cfg.Store.SetRoleAssignmentDescription(ctx, old.Name, x.Description, a.cfg.Now().UTC())
				if err != nil {
					return Assignment{}, false, err
				}
				if err := a.Reload(ctx); err != nil {
					return Assignment{}, false, err
				}
				return u, false, nil
			}
			return Assignment{}, false, &coded{slipway.Errorf(slipway.EINVALID,
				"Tenant ID, application ID, principal ID, and scope are not allowed to be updated."), ErrUpdateNotPermitted}
		}
		if sameTrio {
			return Assignment{}, false, &coded{slipway.Errorf(slipway.ECONFLICT, "The role assignment already exists."), ErrRoleAssignmentExists}
		}
	}
	group := assignmentGroup(x.Scope)
	n := 0
	for _, old := range all {
		if strings.EqualFold(assignmentGroup(old.Scope), group) {
			n++
		}
	}
	if n >= a.cfg.MaxGroupAssignments {
		return Assignment{}, false, &coded{slipway.Errorf(slipway.EINVALID,
			"No more role assignments can be created at %s and below it: it holds %d, the limit. Delete assignments that are no longer needed.", group, n), ErrRoleAssignmentLimit}
	}
	now := a.cfg.Now().UTC()
	x.Created, x.Updated, x.CreatedBy = now, now, strings.ToLower(createdBy)
	if err := a.cfg.Store.CreateRoleAssignment(ctx, x); err != nil {
		if slipway.ErrorCode(err) == slipway.ECONFLICT {
			return Assignment{}, false, &coded{slipway.Errorf(slipway.ECONFLICT, "The role assignment already exists."), ErrRoleAssignmentExists}
		}
		return Assignment{}, false, err
	}
	if err := a.Reload(ctx); err != nil {
		return Assignment{}, false, err
	}
	return x, true, nil
}

// Delete removes the named assignment at scope and refreshes the
// in-memory copy. It returns the deleted assignment; ENOTFOUND when there
// is none at that scope.
func (a *Authorizer) Delete(ctx context.Context, scope, name string) (Assignment, error) {
	a.writes.Lock()
	defer a.writes.Unlock()
	if err := a.ensureLoadedLocked(ctx); err != nil {
		return Assignment{}, err
	}
	a.mu.RLock()
	i := slices.IndexFunc(a.all, func(x Assignment) bool {
		return strings.EqualFold(x.Name, name) && ScopeEqual(x.Scope, scope)
	})
	a.mu.RUnlock()
	if i < 0 {
		return Assignment{}, errAssignmentNotFound(name)
	}
	old, err := a.cfg.Store.DeleteRoleAssignment(ctx, strings.ToLower(name))
	// Reload whatever happened: the store is the truth.
	if rerr := a.Reload(ctx); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return Assignment{}, err
	}
	return old, nil
}

// ensureLoadedLocked loads the assignments if they never were; a.writes
// is held.
func (a *Authorizer) ensureLoadedLocked(ctx context.Context) error {
	a.mu.RLock()
	loaded := a.loaded
	a.mu.RUnlock()
	if loaded {
		return nil
	}
	return a.Reload(ctx)
}

// ScopeEqual reports whether two scopes name the same place (segment by
// segment, case-insensitive).
func ScopeEqual(x, y string) bool {
	return ScopeContains(x, y) && ScopeContains(y, x)
}

// IsPublishingUserPath reports whether an ARM path is the caller's own
// deployment user, /providers/Microsoft.Web/publishingUsers/web (split as
// ActionFor splits, case-insensitive).
func IsPublishingUserPath(path string) bool {
	segs := splitSegments(path)
	want := []string{"providers", "Microsoft.Web", "publishingUsers", "web"}
	if len(segs) != len(want) {
		return false
	}
	for i := range want {
		if !strings.EqualFold(segs[i], want[i]) {
			return false
		}
	}
	return true
}

// Deploying to an app (Kudu, Local Git) is this operation over the site's
// id, or the slot operation over the slot's: Website Contributor,
// Contributor and Owner grant it, Reader does not (App Service: "Readers
// are not allowed to publish").
const (
	PublishAction     = "Microsoft.Web/sites/publish/Action"
	SlotPublishAction = "Microsoft.Web/sites/slots/publish/Action"
)

// MayPublish returns nil when the principal's roles grant deploying to the
// site (a slot when s.SlotOf is set) of the subscription, and otherwise
// Check's *AuthorizationFailed.
func (a *Authorizer) MayPublish(ctx context.Context, principalObjectID, subscription string, s slipway.Site) error {
	action := PublishAction
	if s.SlotOf != "" {
		action = SlotPublishAction
	}
	return a.Check(ctx, principalObjectID, action, s.ResourceID(subscription), false)
}

// assignmentGroup is the scope an assignment at scope counts against
// (MaxGroupAssignments): its resource group's, or the subscription's.
func assignmentGroup(scope string) string {
	segs := splitSegments(scope)
	return "/" + strings.Join(segs[:min(len(segs), 4)], "/")
}
