package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// apiAuthz is the Microsoft.Authorization api-version az's
// azure-mgmt-authorization sends for role assignments.
const apiAuthz = "2022-04-01"

func roleCommands() []command {
	fAssignee := flagDef{Names: []string{"--assignee"}, Help: "Represent a service principal by its app id (service principal name) or object id, resolved through the directory."}
	fObjectID := flagDef{Names: []string{"--assignee-object-id"}, Help: "The principal's object id."}
	fRole := flagDef{Names: []string{"--role"}, Help: "Role name (e.g. Reader) or id."}
	fScope := flagDef{Names: []string{"--scope"}, Help: "Scope: /subscriptions/{id}[/resourceGroups/{group}[/providers/{namespace}/{type}/{name}]]."}
	fInherited := flagDef{Names: []string{"--include-inherited"}, Kind: kindBool, Help: "Include assignments at scopes above the given one."}
	return []command{
		{path: "role assignment create", short: "Create a new role assignment for a user, group, or service principal.", run: roleAssignmentCreate, flags: withUnsupported([]flagDef{
			{Names: []string{"--role"}, Required: true, Help: "Role name (e.g. Reader) or id."},
			{Names: []string{"--scope"}, Required: true, Help: fScope.Help},
			fAssignee, fObjectID,
			{Names: []string{"--assignee-principal-type"}, Help: "User, Group, ServicePrincipal, ForeignGroup or Device. Give it with --assignee-object-id."},
			{Names: []string{"--description"}, Help: "Description of the role assignment."},
			{Names: []string{"--condition"}, Help: "Condition (Slipway does not evaluate conditions and refuses them)."},
			{Names: []string{"--condition-version"}, Help: "Version of the condition syntax."},
			{Names: []string{"--name", "-n"}, Help: "The role assignment's GUID. Default: a new one."},
		}, uPolicy)},
		{path: "role assignment list", short: "List role assignments.", run: roleAssignmentList, flags: []flagDef{
			{Names: []string{"--all"}, Kind: kindBool, Help: "Show all assignments under the current subscription."},
			fAssignee, fObjectID, fRole, fGroupOpt, fScope, fInherited,
			{Names: []string{"--include-groups"}, Kind: kindBool, Help: "Include assignments of groups the assignee belongs to (Slipway has no groups)."},
			{Names: []string{"--fill-principal-name"}, Kind: kindBool, Help: "Fill principalName from the directory. Default: true."},
			{Names: []string{"--fill-role-definition-name"}, Kind: kindBool, Help: "Fill roleDefinitionName. Default: true."},
		}},
		{path: "role assignment delete", short: "Delete role assignments.", run: roleAssignmentDelete, flags: withUnsupported([]flagDef{
			{Names: []string{"--ids"}, Kind: kindList, Help: "Space-separated role assignment ids."},
			fAssignee, fObjectID, fRole, fGroupOpt, fScope, fInherited, fYes,
		}, uPolicy)},
		{path: "role definition list", short: "List role definitions.", run: roleDefinitionList, flags: []flagDef{
			{Names: []string{"--name", "-n"}, Help: "A role's name (e.g. Reader) or id."},
			fGroupOpt, fScope,
			{Names: []string{"--custom-role-only"}, Kind: kindBool, Help: "Custom roles only (Slipway has only built-in ones)."},
		}},
	}
}

var (
	guidRE       = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	roleIDRE     = regexp.MustCompile(`(?i)^/subscriptions/.+/providers/Microsoft\.Authorization/roleDefinitions/`)
	assignmentRE = regexp.MustCompile(`(?i)^(/.+)/providers/Microsoft\.Authorization/roleAssignments/[^/]+$`)
)

// roleScope is az's _build_role_scope: --scope, else the group, else the
// subscription.
func (inv *invocation) roleScope(c *conn) (string, error) {
	scope, rg := inv.flags.str("scope"), inv.flags.str("resource-group")
	switch {
	case scope != "" && rg != "":
		return "", exitErrorf("", "Resource group \"%s\" is redundant because scope is supplied", rg)
	case scope != "":
		if !strings.HasPrefix(scope, "/subscriptions/") {
			return "", exitErrorf("Give a scope such as /subscriptions/{id}/resourceGroups/{group}.", "Invalid scope. Please use --help to view the valid format.")
		}
		return strings.TrimRight(scope, "/"), nil
	case rg != "":
		return c.subPath() + "/resourceGroups/" + url.PathEscape(rg), nil
	}
	return c.subPath(), nil
}

// connectScope connects and builds the role scope.
func (inv *invocation) connectScope(ctx context.Context) (*conn, string, error) {
	c, err := inv.connect(ctx)
	if err != nil {
		return nil, "", err
	}
	scope, err := inv.roleScope(c)
	return c, scope, err
}

// assigneeObjectID returns --assignee-object-id, or --assignee resolved
// through the directory as az does (an object id the directory cannot be
// asked about is taken as given, with az's warning). "" when neither is
// given.
func (inv *invocation) assigneeObjectID(ctx context.Context, c *conn) (string, error) {
	a, oid := inv.flags.str("assignee"), inv.flags.str("assignee-object-id")
	if a != "" && oid != "" {
		return "", exitErrorf("", "Usage error: Provide only one of --assignee or --assignee-object-id.")
	}
	if oid != "" || a == "" {
		return oid, nil
	}
	oid, _, err := c.resolveAssignee(ctx, inv, a, true)
	return oid, err
}

// resolveRoleID is az's _resolve_role_id: a full id as is, a GUID under the
// subscription, a name through the roleName filter.
func (c *conn) resolveRoleID(ctx context.Context, role, scope string) (string, error) {
	if roleIDRE.MatchString(role) {
		return role, nil
	}
	if guidRE.MatchString(role) {
		return c.subPath() + "/providers/Microsoft.Authorization/roleDefinitions/" + strings.ToLower(role), nil
	}
	defs, err := c.roleDefinitions(ctx, scope, role)
	if err != nil {
		return "", err
	}
	switch len(defs) {
	case 0:
		return "", exitErrorf("List the roles with `slipway role definition list`.", "Role '%s' doesn't exist.", role)
	case 1:
		id, _ := defs[0]["id"].(string)
		return id, nil
	}
	return "", exitErrorf("", "More than one role matches the given name '%s'.", role)
}

// roleDefinitions lists role definitions at scope, by roleName when name is
// given.
func (c *conn) roleDefinitions(ctx context.Context, scope, name string) ([]map[string]any, error) {
	q := url.Values{}
	if name != "" {
		q.Set("$filter", fmt.Sprintf("roleName eq '%s'", name))
	}
	return c.authzList(ctx, scope+"/providers/Microsoft.Authorization/roleDefinitions", q)
}

// authzList GETs a Microsoft.Authorization collection.
func (c *conn) authzList(ctx context.Context, path string, q url.Values) ([]map[string]any, error) {
	resp, err := c.arm(ctx, http.MethodGet, path, apiAuthz, q, nil)
	if err != nil {
		return nil, err
	}
	var page struct {
		Value []map[string]any `json:"value"`
	}
	if err := decodeBody(resp, &page); err != nil {
		return nil, err
	}
	return page.Value, nil
}

// assignmentOutput is a role assignment as az prints it: the properties
// lifted to the top level (az's _role_assignment_to_dict), nulls left out.
func assignmentOutput(m map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range []string{"id", "name", "type"} {
		if v, ok := m[k]; ok && v != nil {
			out[k] = v
		}
	}
	if p, ok := m["properties"].(map[string]any); ok {
		for k, v := range p {
			if v != nil {
				out[k] = v
			}
		}
	}
	return out
}

var assignmentColumns = []column{{"Principal", "principalId"}, {"Role", "roleDefinitionName"}, {"Scope", "scope"}}

func roleAssignmentCreate(ctx context.Context, inv *invocation) error {
	a, oid, ptype := inv.flags.str("assignee"), inv.flags.str("assignee-object-id"), inv.flags.str("assignee-principal-type")
	if (a == "") == (oid == "") {
		return usageErrorf(inv.cmdPath(), "usage error: --assignee STRING | --assignee-object-id GUID")
	}
	if ptype != "" && oid == "" {
		return usageErrorf(inv.cmdPath(), "usage error: --assignee-object-id GUID --assignee-principal-type TYPE")
	}
	cond, condVer := inv.flags.str("condition"), inv.flags.str("condition-version")
	if condVer != "" && cond == "" {
		return exitErrorf("", "usage error: When --condition-version is set, --condition must be set as well.")
	}
	if cond != "" && condVer == "" {
		condVer = "2.0"
	}
	name := inv.flags.str("name")
	if name == "" {
		var err error
		if name, err = inv.r.newGUID(); err != nil {
			return err
		}
	}
	c, scope, err := inv.connectScope(ctx)
	if err != nil {
		return err
	}
	principal := oid
	if a != "" {
		if principal, ptype, err = c.resolveAssignee(ctx, inv, a, true); err != nil {
			return err
		}
	} else if ptype == "" {
		inv.warnf("RBAC service might reject creating role assignment without --assignee-principal-type in the future. Better to specify --assignee-principal-type manually.")
		// Best effort, as az's _get_principal_type_from_object_id.
		if objs, err := c.objectStubs(ctx, []string{oid}); err == nil && len(objs) > 0 {
			t, _ := objs[0]["@odata.type"].(string)
			ptype = principalTypes[t]
		} else if err != nil {
			inv.warnf("Failed to query --assignee-principal-type for --assignee-object-id %s by invoking Graph API.", oid)
		}
	}
	roleID, err := c.resolveRoleID(ctx, inv.flags.str("role"), scope)
	if err != nil {
		return err
	}
	props := map[string]any{"roleDefinitionId": roleID, "principalId": principal}
	for k, v := range map[string]string{"principalType": ptype, "description": inv.flags.str("description"), "condition": cond, "conditionVersion": condVer} {
		if v != "" {
			props[k] = v
		}
	}
	resp, err := c.arm(ctx, http.MethodPut, scope+"/providers/Microsoft.Authorization/roleAssignments/"+url.PathEscape(name), apiAuthz, nil, map[string]any{"properties": props})
	var ae *apiError
	if errors.As(err, &ae) && ae.Code == "RoleAssignmentExists" {
		// az is idempotent here: it shows the existing assignment.
		list, lerr := c.searchAssignments(ctx, scope, principal, roleID, false, false)
		if lerr != nil || len(list) == 0 {
			return err
		}
		return inv.printResult(assignmentOutput(list[0]), assignmentColumns)
	}
	if err != nil {
		return err
	}
	m := map[string]any{}
	if err := decodeBody(resp, &m); err != nil {
		return err
	}
	return inv.printResult(assignmentOutput(m), assignmentColumns)
}

// searchAssignments is az's _search_role_assignments: at scope with
// atScope() (then only those at the scope unless inherited), or by
// principal across the subscription, narrowed to roleID when given.
func (c *conn) searchAssignments(ctx context.Context, scope, principal, roleID string, inherited, groups bool) ([]map[string]any, error) {
	q := url.Values{}
	path := c.subPath() + "/providers/Microsoft.Authorization/roleAssignments"
	switch {
	case scope != "":
		f := "atScope()"
		if principal != "" && groups {
			f += fmt.Sprintf(" and assignedTo('%s')", principal)
		}
		q.Set("$filter", f)
		path = scope + "/providers/Microsoft.Authorization/roleAssignments"
	case principal != "" && groups:
		q.Set("$filter", fmt.Sprintf("assignedTo('%s')", principal))
	case principal != "":
		q.Set("$filter", fmt.Sprintf("principalId eq '%s'", principal))
	}
	list, err := c.authzList(ctx, path, q)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, m := range list {
		p, _ := m["properties"].(map[string]any)
		s, _ := p["scope"].(string)
		if scope != "" && !inherited && !strings.EqualFold(s, scope) {
			continue
		}
		if rid, _ := p["roleDefinitionId"].(string); roleID != "" && !strings.EqualFold(rid, roleID) {
			continue
		}
		if pid, _ := p["principalId"].(string); principal != "" && !groups && !strings.EqualFold(pid, principal) {
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

func roleAssignmentList(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	scope := ""
	if inv.flags.boolean("all") {
		if inv.flags.has("resource-group") || inv.flags.has("scope") {
			return exitErrorf("", "group or scope are not required when --all is used")
		}
	} else if scope, err = inv.roleScope(c); err != nil {
		return err
	}
	principal, roleID, err := inv.assigneeAndRole(ctx, c, firstNonEmpty(scope, c.subPath()))
	if err != nil {
		return err
	}
	list, err := c.searchAssignments(ctx, scope, principal, roleID, inv.flags.boolean("include-inherited"), inv.flags.boolean("include-groups"))
	if err != nil {
		return err
	}
	out := []any{}
	names := map[string]string{}
	if !inv.flags.has("fill-role-definition-name") || inv.flags.boolean("fill-role-definition-name") {
		defs, err := c.roleDefinitions(ctx, firstNonEmpty(scope, c.subPath()), "")
		if err != nil {
			return err
		}
		for _, d := range defs {
			id, _ := d["id"].(string)
			if p, ok := d["properties"].(map[string]any); ok {
				names[strings.ToLower(id)], _ = p["roleName"].(string)
			}
		}
	}
	for _, m := range list {
		a := assignmentOutput(m)
		if len(names) > 0 {
			rid, _ := a["roleDefinitionId"].(string)
			if n, ok := names[strings.ToLower(rid)]; ok {
				a["roleDefinitionName"] = n
			} else {
				a["roleDefinitionName"] = nil
			}
		}
		out = append(out, a)
	}
	if !inv.flags.has("fill-principal-name") || inv.flags.boolean("fill-principal-name") {
		c.fillPrincipalNames(ctx, inv, out)
	}
	return inv.printResult(out, assignmentColumns)
}

// assigneeAndRole reads --assignee/--assignee-object-id and resolves
// --role (at scope), for list and delete.
func (inv *invocation) assigneeAndRole(ctx context.Context, c *conn, scope string) (principal, roleID string, err error) {
	if principal, err = inv.assigneeObjectID(ctx, c); err != nil {
		return "", "", err
	}
	if r := inv.flags.str("role"); r != "" {
		if roleID, err = c.resolveRoleID(ctx, r, scope); err != nil {
			return "", "", err
		}
	}
	return principal, roleID, nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func roleAssignmentDelete(ctx context.Context, inv *invocation) error {
	ids := inv.flags.list("ids")
	if len(ids) == 0 && !inv.flags.has("assignee") && !inv.flags.has("assignee-object-id") && !inv.flags.has("role") &&
		!inv.flags.has("resource-group") && !inv.flags.has("scope") {
		return usageErrorf(inv.cmdPath(), "Please provide at least one of these arguments: --ids, --assignee, --assignee-object-id, --role, --resource-group, --scope")
	}
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	if len(ids) > 0 {
		for _, arg := range []string{"assignee", "role", "resource-group", "scope", "include-inherited"} {
			if inv.flags.has(arg) {
				inv.warnf("option '--%s' will be ignored due to use of '--ids'.", arg)
			}
		}
		for _, id := range ids {
			if !assignmentRE.MatchString(id) {
				return exitErrorf("Give ids as `slipway role assignment list` prints them.", "'%s' is not a role assignment id.", id)
			}
			if _, err := c.arm(ctx, http.MethodDelete, id, apiAuthz, nil, nil); err != nil {
				return err
			}
		}
		return nil
	}
	scope, err := inv.roleScope(c)
	if err != nil {
		return err
	}
	principal, roleID, err := inv.assigneeAndRole(ctx, c, scope)
	if err != nil {
		return err
	}
	list, err := c.searchAssignments(ctx, scope, principal, roleID, inv.flags.boolean("include-inherited"), false)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return exitErrorf("", "No matched assignments were found to delete")
	}
	for _, m := range list {
		id, _ := m["id"].(string)
		if _, err := c.arm(ctx, http.MethodDelete, id, apiAuthz, nil, nil); err != nil {
			return err
		}
	}
	return nil
}

var definitionColumns = []column{{"Name", "roleName"}, {"Type", "roleType"}, {"Description", "description"}}

func roleDefinitionList(ctx context.Context, inv *invocation) error {
	c, scope, err := inv.connectScope(ctx)
	if err != nil {
		return err
	}
	name := inv.flags.str("name")
	filter := name
	if guidRE.MatchString(name) {
		filter = "" // az filters GUIDs on the client side
	}
	defs, err := c.roleDefinitions(ctx, scope, filter)
	if err != nil {
		return err
	}
	out := []any{}
	for _, d := range defs {
		m := map[string]any{}
		for _, k := range []string{"id", "name", "type"} {
			m[k] = d[k]
		}
		if p, ok := d["properties"].(map[string]any); ok {
			for k, v := range p {
				if k == "type" {
					k = "roleType"
				}
				m[k] = v
			}
		}
		if name != "" && !strings.EqualFold(fmt.Sprint(m["name"]), name) && !strings.EqualFold(fmt.Sprint(m["roleName"]), name) {
			continue
		}
		if inv.flags.boolean("custom-role-only") && m["roleType"] != "CustomRole" {
			continue
		}
		out = append(out, m)
	}
	return inv.printResult(out, definitionColumns)
}

// newGUID returns a random version-4 GUID from the runner's randomness.
func (r *runner) newGUID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r.rand, b[:]); err != nil {
		return "", fmt.Errorf("generating a GUID: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// fillPrincipalNames sets principalName as az does: the user's UPN, the
// service principal's first name (its app id), or the display name. A
// directory that cannot be asked leaves the names out, as in az.
func (c *conn) fillPrincipalNames(ctx context.Context, inv *invocation, list []any) {
	seen := map[string]bool{}
	var ids []string
	for _, x := range list {
		if id, _ := x.(map[string]any)["principalId"].(string); id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return
	}
	objs, err := c.objectStubs(ctx, ids)
	if err != nil {
		return
	}
	names := map[string]string{}
	for _, o := range objs {
		id, _ := o["id"].(string)
		switch {
		case o["userPrincipalName"] != nil:
			names[id], _ = o["userPrincipalName"].(string)
		case o["servicePrincipalNames"] != nil:
			if spns, _ := o["servicePrincipalNames"].([]any); len(spns) > 0 {
				names[id], _ = spns[0].(string)
			}
		default:
			names[id], _ = o["displayName"].(string)
		}
	}
	for _, x := range list {
		m := x.(map[string]any)
		id, _ := m["principalId"].(string)
		m["principalName"] = names[id]
	}
}
