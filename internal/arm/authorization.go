package arm

// Microsoft.Authorization: role assignments and role definitions at any
// scope Slipway serves (subscription, resource group, resource), with the
// paths, shapes, filters and errors of ARM's Authorization API 2022-04-01
// (Microsoft Learn, "List Azure role assignments using the REST API",
// https://learn.microsoft.com/azure/role-based-access-control/role-assignments-list-rest,
// and "Assign Azure roles using the REST API",
// https://learn.microsoft.com/azure/role-based-access-control/role-assignments-rest),
// as azure-cli's `az role assignment|definition` calls them through
// azure-mgmt-authorization. The scope is a variable number of segments, so
// these are routed before the fixed table.

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/rbac"
)

const (
	authzNamespace      = "Microsoft.Authorization"
	roleAssignmentsType = "Microsoft.Authorization/roleAssignments"
	roleDefinitionsType = "Microsoft.Authorization/roleDefinitions"
)

// AuthorizeRequest is what the composition root calls from Config.Authorize
// once a token names a principal: it authorizes the request by the
// principal's role assignments (rbac.ActionFor, then Authorizer.Check),
// answering 403 AuthorizationFailed when no role grants the operation. A
// list the caller may read in part (filteredlists.go) is let through when
// the principal holds a role below its scope; the route then keeps only
// what the caller may read. An anyRole lookup (routes.go) is let through
// when the principal holds a role anywhere in the subscription.
func (h *Handler) AuthorizeRequest(principalObjectID string, r *http.Request) error {
	err := h.cfg.RBAC.AuthorizeRequest(principalObjectID, r)
	var denied *rbac.AuthorizationFailed
	if err == nil || !errors.As(err, &denied) || !(h.filteredList(r) || h.anyRoleLookup(r)) {
		return err
	}
	_, scope := rbac.ActionFor(r.Method, r.URL.Path)
	if segs := splitPath(r.URL.Path); h.anyRoleLookup(r) && len(segs) >= 2 {
		scope = "/subscriptions/" + segs[1] // a role anywhere in the subscription
	}
	in, herr := h.cfg.RBAC.HoldsRoleIn(r.Context(), principalObjectID, scope)
	if herr != nil {
		return herr
	}
	if in {
		return nil
	}
	return err
}

// anyRoleLookup reports whether the request is routed to an anyRole route.
func (h *Handler) anyRoleLookup(r *http.Request) bool {
	segs := splitPath(r.URL.Path)
	for _, rt := range h.routes {
		if _, ok := rt.match(segs); ok && rt.anyRole && rt.method == r.Method {
			return true
		}
	}
	return false
}

// checkLinked checks, as ARM does for the other resources a write names
// (a linked scope), that the caller may also perform linkedAction over
// linkedScope; it answers 403 LinkedAuthorizationFailed in ARM's words
// when not. action over scope is the write being made, which the caller
// was already authorized for. The admin token (no caller) may link
// anything.
func (h *Handler) checkLinked(r *http.Request, action, scope, linkedAction, linkedScope string) error {
	caller, ok, err := h.callerMay(r, linkedAction, linkedScope)
	if err != nil || ok {
		return err
	}
	return &apiError{Status: http.StatusForbidden, Code: "LinkedAuthorizationFailed", Message: fmt.Sprintf(
		"The client '%s' with object id '%s' has permission to perform action '%s' on scope '%s'; however, it does not have permission to perform action(s) '%s' on the linked scope(s) '%s' (respectively) or the linked scope(s) are invalid.",
		caller, caller, action, scope, linkedAction, linkedScope)}
}

// callerMay reports whether the request's caller (by its roles; the admin
// token may do anything) may perform action over scope, and names it.
func (h *Handler) callerMay(r *http.Request, action, scope string) (caller string, ok bool, err error) {
	if h.cfg.RBAC == nil || h.cfg.CallerObjectID == nil {
		return "", true, nil
	}
	if caller = h.cfg.CallerObjectID(r); caller == "" {
		return "", true, nil
	}
	err = h.cfg.RBAC.Check(r.Context(), caller, action, scope, false)
	if slipway.ErrorCode(err) == slipway.EFORBIDDEN {
		return caller, false, nil
	}
	return caller, err == nil, err
}

// authzPath finds {scope}/providers/Microsoft.Authorization/{kind}[/{name}]
// in a path: kind is "roleAssignments" or "roleDefinitions"; scope is the
// segments before it (none at tenant level).
func authzPath(segs []string) (scope []string, kind, name string, ok bool) {
	for i := len(segs) - 3; i >= 0; i-- {
		if !strings.EqualFold(segs[i], "providers") || !strings.EqualFold(segs[i+1], authzNamespace) {
			continue
		}
		switch {
		case strings.EqualFold(segs[i+2], "roleAssignments"):
			kind = "roleAssignments"
		case strings.EqualFold(segs[i+2], "roleDefinitions"):
			kind = "roleDefinitions"
		default:
			return nil, "", "", false
		}
		switch len(segs) - (i + 3) {
		case 0:
		case 1:
			name = segs[i+3]
		default:
			return nil, "", "", false
		}
		return segs[:i], kind, name, true
	}
	return nil, "", "", false
}

// serveAuthorization serves the Microsoft.Authorization routes. handled is
// false for any other path.
func (h *Handler) serveAuthorization(w http.ResponseWriter, r *http.Request, segs []string) (handled bool, err error) {
	scopeSegs, kind, name, ok := authzPath(segs)
	if !ok {
		return false, nil
	}
	if h.cfg.RBAC == nil {
		return true, slipway.Errorf(slipway.EUNAVAILABLE, "Role-based access control is not configured on this server.")
	}
	scope, sub, err := h.authzScope(r, scopeSegs, kind)
	if err != nil {
		return true, err
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if r.Method == http.MethodPut {
		// A new assignment is a change to the store like any other PUT
		// (these routes come before the check in ServeHTTP): refused on a
		// disk at its reserve; deletes go on.
		if err := h.checkReserve(w, r); err != nil {
			return true, err
		}
	}
	switch {
	case kind == "roleAssignments" && name == "" && r.Method == http.MethodGet:
		return true, h.listRoleAssignments(w, r, scope, sub)
	case kind == "roleAssignments" && name != "" && r.Method == http.MethodGet:
		return true, h.getRoleAssignment(w, r, scope, sub, name)
	case kind == "roleAssignments" && name != "" && r.Method == http.MethodPut:
		return true, h.putRoleAssignment(w, r, scope, sub, name)
	case kind == "roleAssignments" && name != "" && r.Method == http.MethodDelete:
		return true, h.deleteRoleAssignment(w, r, scope, sub, name)
	case kind == "roleDefinitions" && name == "" && r.Method == http.MethodGet:
		return true, h.listRoleDefinitions(w, r, sub)
	case kind == "roleDefinitions" && name != "" && r.Method == http.MethodGet:
		return true, h.getRoleDefinition(w, sub, name)
	case kind == "roleDefinitions" && name != "" && (r.Method == http.MethodPut || r.Method == http.MethodDelete):
		// az role definition create|update|delete: custom roles. Said
		// plainly rather than as a bare 405, and before anything is looked
		// up, so that it tells no one what exists.
		return true, &apiError{Status: http.StatusBadRequest, Code: "BadRequest",
			Message: "Custom role definitions are not supported by Slipway: only the built-in roles exist (az role definition list). Assign one of them (az role assignment create --role <name>) at the narrowest scope that serves."}
	}
	return true, errMethodNotAllowed(r.Method)
}

// authzScope checks the scope of an Authorization request: this
// installation's subscription, and an existing resource group and (for the
// resource types Slipway stores) resource. It returns the scope in
// canonical form and the subscription id ("" at tenant level, where only
// role definitions are served).
func (h *Handler) authzScope(r *http.Request, segs []string, kind string) (scope, sub string, err error) {
	if len(segs) == 0 {
		if kind != "roleDefinitions" {
			return "", "", &apiError{Status: http.StatusBadRequest, Code: "InvalidScope",
				Message: "Role assignments are served at a subscription, resource group or resource scope."}
		}
		return "", "", nil
	}
	raw := "/" + strings.Join(segs, "/")
	clean, err := rbac.CleanScope(raw)
	if err != nil {
		return "", "", &apiError{Status: http.StatusBadRequest, Code: "InvalidScope", Message: slipway.ErrorMessage(err)}
	}
	parts := strings.Split(clean[1:], "/")
	if parts[1], err = h.checkSubscription(r.Context(), parts[1]); err != nil {
		return "", "", err
	}
	if len(parts) >= 4 {
		g, err := h.cfg.Store.ResourceGroup(r.Context(), parts[3])
		if err != nil {
			return "", "", err
		}
		parts[3] = g.Name
	}
	if len(parts) >= 8 {
		ns, typ, res := parts[5], parts[6], parts[7]
		switch {
		case strings.EqualFold(ns, "Microsoft.Web") && strings.EqualFold(typ, "sites"):
			_, err = h.cfg.Store.Site(r.Context(), parts[3], res)
		case strings.EqualFold(ns, "Microsoft.Web") && strings.EqualFold(typ, "serverfarms"):
			_, err = h.cfg.Store.Plan(r.Context(), parts[3], res)
		case strings.EqualFold(ns, "Microsoft.Storage") && strings.EqualFold(typ, "storageAccounts"):
			_, err = h.cfg.Store.StorageAccount(r.Context(), parts[3], res)
		case strings.EqualFold(ns, "Microsoft.Insights") && strings.EqualFold(typ, "components"):
			_, err = h.cfg.Store.InsightsComponent(r.Context(), parts[3], res)
		case strings.EqualFold(ns, postgresNamespace) && strings.EqualFold(typ, "flexibleServers"):
			_, err = h.cfg.Store.PostgresServer(r.Context(), parts[3], res)
		case strings.EqualFold(ns, redisNamespace) && strings.EqualFold(typ, "redis"):
			_, err = h.cfg.Store.RedisCache(r.Context(), parts[3], res)
		}
		if err != nil {
			return "", "", err
		}
	}
	return "/" + strings.Join(parts, "/"), parts[1], nil
}

// roleDefinitionID is a built-in role's id as ARM names it under a
// subscription (or at tenant level when sub is "").
func roleDefinitionID(sub, guid string) string {
	if sub == "" {
		return "/providers/Microsoft.Authorization/roleDefinitions/" + guid
	}
	return "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + guid
}

// Wire shapes (Authorization 2022-04-01).
type roleAssignmentJSON struct {
	ID         string                  `json:"id"`
	Type       string                  `json:"type"`
	Name       string                  `json:"name"`
	Properties roleAssignmentPropsJSON `json:"properties"`
}

type roleAssignmentPropsJSON struct {
	RoleDefinitionID                   string  `json:"roleDefinitionId"`
	PrincipalID                        string  `json:"principalId"`
	PrincipalType                      string  `json:"principalType"`
	Scope                              string  `json:"scope"`
	Condition                          *string `json:"condition"`
	ConditionVersion                   *string `json:"conditionVersion"`
	CreatedOn                          string  `json:"createdOn"`
	UpdatedOn                          string  `json:"updatedOn"`
	CreatedBy                          *string `json:"createdBy"`
	UpdatedBy                          *string `json:"updatedBy"`
	DelegatedManagedIdentityResourceID *string `json:"delegatedManagedIdentityResourceId"`
	Description                        *string `json:"description"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func roleAssignmentOut(sub string, a rbac.Assignment) roleAssignmentJSON {
	return roleAssignmentJSON{
		ID:   a.Scope + "/providers/Microsoft.Authorization/roleAssignments/" + a.Name,
		Type: roleAssignmentsType, Name: a.Name,
		Properties: roleAssignmentPropsJSON{
			RoleDefinitionID: roleDefinitionID(sub, a.RoleDefinitionID),
			PrincipalID:      a.PrincipalID, PrincipalType: a.PrincipalType, Scope: a.Scope,
			Condition: optional(a.Condition), ConditionVersion: optional(a.ConditionVersion),
			CreatedOn: armTime(a.Created), UpdatedOn: armTime(a.Updated),
			CreatedBy: optional(a.CreatedBy), UpdatedBy: optional(a.CreatedBy),
			Description: optional(a.Description),
		},
	}
}

// roleDefIDRE matches a role definition id as clients send it.
var roleDefIDRE = regexp.MustCompile(`(?i)^(?:/subscriptions/([^/]+))?/providers/Microsoft\.Authorization/roleDefinitions/([^/]+)$`)

func (h *Handler) putRoleAssignment(w http.ResponseWriter, r *http.Request, scope, sub, name string) error {
	if !rbac.IsGUID(name) {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidRoleAssignmentId",
			Message: fmt.Sprintf("The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", name)}
	}
	var body struct {
		Properties struct {
			RoleDefinitionID string `json:"roleDefinitionId"`
			PrincipalID      string `json:"principalId"`
			PrincipalType    string `json:"principalType"`
			Description      string `json:"description"`
			Condition        string `json:"condition"`
			ConditionVersion string `json:"conditionVersion"`
		} `json:"properties"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	p := body.Properties
	m := roleDefIDRE.FindStringSubmatch(strings.TrimSpace(p.RoleDefinitionID))
	if m == nil || (m[1] != "" && !strings.EqualFold(m[1], sub)) {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidRoleDefinitionId",
			Message: fmt.Sprintf("The role definition ID '%s' is not valid.", p.RoleDefinitionID)}
	}
	if rbac.RoleByID(m[2]) == nil {
		return &apiError{Status: http.StatusBadRequest, Code: "RoleDefinitionDoesNotExist",
			Message: fmt.Sprintf("The specified role definition with ID '%s' does not exist.", m[2])}
	}
	if !rbac.IsGUID(p.PrincipalID) {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidPrincipalId",
			Message: fmt.Sprintf("A valid principal ID must be provided for role assignment; '%s' is not one.", p.PrincipalID)}
	}
	var by string
	if h.cfg.CallerObjectID != nil {
		by = h.cfg.CallerObjectID(r)
	}
	a, created, err := h.cfg.RBAC.Create(r.Context(), rbac.Assignment{
		Name: name, Scope: scope, RoleDefinitionID: m[2], PrincipalID: p.PrincipalID, PrincipalType: p.PrincipalType,
		Description: p.Description, Condition: p.Condition, ConditionVersion: p.ConditionVersion,
	}, by)
	switch {
	case errors.Is(err, rbac.ErrRoleAssignmentExists):
		return &apiError{Status: http.StatusConflict, Code: "RoleAssignmentExists", Message: slipway.ErrorMessage(err)}
	case errors.Is(err, rbac.ErrUpdateNotPermitted):
		return &apiError{Status: http.StatusBadRequest, Code: "RoleAssignmentUpdateNotPermitted", Message: slipway.ErrorMessage(err)}
	case errors.Is(err, rbac.ErrRoleAssignmentLimit):
		return &apiError{Status: http.StatusBadRequest, Code: "RoleAssignmentLimitExceeded", Message: slipway.ErrorMessage(err)}
	case errors.Is(err, rbac.ErrPrincipalNotFound):
		return &apiError{Status: http.StatusBadRequest, Code: "PrincipalNotFound", Message: slipway.ErrorMessage(err)}
	case err != nil:
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, roleAssignmentOut(sub, a))
}

func errRoleAssignmentNotFound(name string) error {
	return &apiError{Status: http.StatusNotFound, Code: "RoleAssignmentNotFound",
		Message: fmt.Sprintf("The role assignment '%s' is not found.", name)}
}

func (h *Handler) getRoleAssignment(w http.ResponseWriter, r *http.Request, scope, sub, name string) error {
	a, err := h.cfg.RBAC.Assignment(r.Context(), scope, name)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return errRoleAssignmentNotFound(name)
	} else if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, roleAssignmentOut(sub, a))
}

// deleteRoleAssignment answers 200 with the deleted assignment, or 204
// when there was none (both are what the SDK accepts).
func (h *Handler) deleteRoleAssignment(w http.ResponseWriter, r *http.Request, scope, sub, name string) error {
	a, err := h.cfg.RBAC.Delete(r.Context(), scope, name)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return writeEmpty(w, http.StatusNoContent)
	} else if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, roleAssignmentOut(sub, a))
}

// assignmentFilter is a parsed role assignment $filter.
type assignmentFilter struct {
	atScope   bool
	principal string // principalId eq '...' or assignedTo('...')
}

var (
	principalEqRE = regexp.MustCompile(`(?i)^principalId\s+eq\s+'([^']*)'$`)
	assignedToRE  = regexp.MustCompile(`(?i)^assignedTo\('([^']*)'\)$`)
	andRE         = regexp.MustCompile(`(?i)\s+and\s+`)
)

// parseAssignmentFilter reads atScope(), principalId eq '{id}' and
// assignedTo('{id}'), joined by "and". Slipway has no groups, so
// assignedTo is principalId.
func parseAssignmentFilter(f string) (assignmentFilter, error) {
	var out assignmentFilter
	f = strings.TrimSpace(f)
	if f == "" {
		return out, nil
	}
	if len(f) > 512 {
		return out, &apiError{Status: http.StatusBadRequest, Code: "InvalidFilter", Message: "The $filter is too long."}
	}
	for _, term := range andRE.Split(f, -1) {
		term = strings.TrimSpace(term)
		if strings.EqualFold(term, "atScope()") {
			out.atScope = true
			continue
		}
		m := principalEqRE.FindStringSubmatch(term)
		if m == nil {
			m = assignedToRE.FindStringSubmatch(term)
		}
		if m == nil {
			return out, &apiError{Status: http.StatusBadRequest, Code: "InvalidFilter",
				Message: fmt.Sprintf("The filter '%s' is not supported. Supported filters: atScope(), principalId eq '{id}', assignedTo('{id}').", f)}
		}
		out.principal = m[1]
	}
	return out, nil
}

// listRoleAssignments lists the assignments that apply at the scope (at
// or above it) and, unless atScope() is given, those below it too.
func (h *Handler) listRoleAssignments(w http.ResponseWriter, r *http.Request, scope, sub string) error {
	f, err := parseAssignmentFilter(r.URL.Query().Get("$filter"))
	if err != nil {
		return err
	}
	all, err := h.cfg.RBAC.Assignments(r.Context())
	if err != nil {
		return err
	}
	out := []roleAssignmentJSON{}
	for _, a := range all {
		above := rbac.ScopeContains(a.Scope, scope)
		below := rbac.ScopeContains(scope, a.Scope)
		if !above && (f.atScope || !below) {
			continue
		}
		if f.principal != "" && !strings.EqualFold(a.PrincipalID, f.principal) {
			continue
		}
		out = append(out, roleAssignmentOut(sub, a))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

type roleDefinitionJSON struct {
	ID         string                  `json:"id"`
	Type       string                  `json:"type"`
	Name       string                  `json:"name"`
	Properties roleDefinitionPropsJSON `json:"properties"`
}

type roleDefinitionPropsJSON struct {
	RoleName         string           `json:"roleName"`
	Type             string           `json:"type"`
	Description      string           `json:"description"`
	AssignableScopes []string         `json:"assignableScopes"`
	Permissions      []permissionJSON `json:"permissions"`
	CreatedOn        *string          `json:"createdOn"`
	UpdatedOn        *string          `json:"updatedOn"`
	CreatedBy        *string          `json:"createdBy"`
	UpdatedBy        *string          `json:"updatedBy"`
}

type permissionJSON struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func roleDefinitionOut(sub string, d rbac.RoleDefinition) roleDefinitionJSON {
	perms := make([]permissionJSON, len(d.Permissions))
	for i, p := range d.Permissions {
		perms[i] = permissionJSON{nonNil(p.Actions), nonNil(p.NotActions), nonNil(p.DataActions), nonNil(p.NotDataActions)}
	}
	return roleDefinitionJSON{
		ID: roleDefinitionID(sub, d.Name), Type: roleDefinitionsType, Name: d.Name,
		Properties: roleDefinitionPropsJSON{
			RoleName: d.RoleName, Type: "BuiltInRole", Description: d.Description,
			AssignableScopes: []string{"/"}, Permissions: perms,
		},
	}
}

var (
	roleNameEqRE = regexp.MustCompile(`(?i)^roleName\s+eq\s+'(.*)'$`)
	roleTypeEqRE = regexp.MustCompile(`(?i)^type\s+eq\s+'([^']*)'$`)
)

// listRoleDefinitions lists the built-in roles; $filter=roleName eq '...'
// (case-insensitive) or type eq 'BuiltInRole'|'CustomRole' narrows it.
func (h *Handler) listRoleDefinitions(w http.ResponseWriter, r *http.Request, sub string) error {
	f := strings.TrimSpace(r.URL.Query().Get("$filter"))
	var byName, byType string
	if f != "" {
		if m := roleNameEqRE.FindStringSubmatch(f); m != nil {
			byName = strings.ReplaceAll(m[1], "''", "'")
		} else if m := roleTypeEqRE.FindStringSubmatch(f); m != nil {
			byType = m[1]
		} else {
			return &apiError{Status: http.StatusBadRequest, Code: "InvalidFilter",
				Message: fmt.Sprintf("The filter '%s' is not supported. Supported filters: roleName eq '{name}', type eq '{type}'.", f)}
		}
	}
	out := []roleDefinitionJSON{}
	for _, d := range rbac.BuiltinRoles() {
		if byName != "" && !strings.EqualFold(d.RoleName, byName) {
			continue
		}
		if byType != "" && !strings.EqualFold(byType, "BuiltInRole") {
			continue
		}
		out = append(out, roleDefinitionOut(sub, d))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

func (h *Handler) getRoleDefinition(w http.ResponseWriter, sub, id string) error {
	d := rbac.RoleByID(id)
	if d == nil {
		return &apiError{Status: http.StatusNotFound, Code: "RoleDefinitionDoesNotExist",
			Message: fmt.Sprintf("The specified role definition with ID '%s' does not exist.", id)}
	}
	return writeJSON(w, http.StatusOK, roleDefinitionOut(sub, *d))
}
