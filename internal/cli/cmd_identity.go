package cli

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/slipway-dev/slipway"
)

// apiMSI is the Microsoft.ManagedIdentity api-version the CLI sends.
const apiMSI = "2023-01-31"

// msiLocal is az's name for the system-assigned identity in --identities.
const msiLocal = "[system]"

// identityCommands are `identity create|show|list|delete` (az's identity
// module, over Microsoft.ManagedIdentity/userAssignedIdentities) and
// `webapp identity assign|show|remove` (appservice custom.py
// assign_identity, show_identity, remove_identity).
func identityCommands() []command {
	fName := flagDef{Names: []string{"--name", "-n", "--resource-name"}, Required: true, Help: "Name of the identity."}
	fIdentities := flagDef{Names: []string{"--identities"}, Kind: kindList, Help: "Space-separated identities: '[system]' for the system-assigned one, or user-assigned identities' resource ids (or names, in the app's resource group). Default: [system]."}
	return []command{
		{path: "identity create", short: "Create a user-assigned managed identity.", run: identityCreate, flags: withUnsupported([]flagDef{
			fGroup, fName,
			{Names: []string{"--location", "-l"}, Help: "Location. Default: the resource group's."},
			{Names: []string{"--tags"}, Kind: kindList, Help: "Space-separated tags: key[=value]."},
		}, unsupported("isolation scopes and assignment restrictions are Azure policy features Slipway does not have", "--isolation-scope", "--resource-restriction"), uPolicy)},
		{path: "identity show", short: "Show a user-assigned managed identity.", run: identityShow, flags: withUnsupported([]flagDef{fGroup, fName}, uIDs)},
		{path: "identity list", short: "List user-assigned managed identities.", run: identityList, flags: withUnsupported([]flagDef{fGroupOpt},
			unsupported("Slipway answers lists in one page", "--max-items", "--next-token"))},
		{path: "identity delete", short: "Delete a user-assigned managed identity (apps that have it lose it).", run: identityDelete, flags: withUnsupported([]flagDef{fGroup, fName}, uIDs, uPolicy)},

		{path: "webapp identity assign", short: "Assign managed identities to a web app.", run: webappIdentityAssign, flags: withUnsupported([]flagDef{
			fGroup, fApp, fIdentities,
			{Names: []string{"--role"}, Help: "Role the system-assigned identity gets at --scope. Default: Contributor."},
			{Names: []string{"--scope"}, Help: "Scope of the role assignment for the system-assigned identity, e.g. a key vault's id. Default: no role assignment."},
		}, uSlot, uIDs, uPolicy)},
		{path: "webapp identity show", short: "Show a web app's managed identities.", run: webappIdentityShow, flags: withUnsupported([]flagDef{fGroup, fApp}, uSlot, uIDs)},
		{path: "webapp identity remove", short: "Remove managed identities from a web app.", run: webappIdentityRemove, flags: withUnsupported([]flagDef{
			fGroup, fApp, fIdentities,
		}, uSlot, uIDs, uPolicy)},
	}
}

func (c *conn) identityPath(rg, name string) string {
	return c.groupPath(rg) + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + url.PathEscape(name)
}

// identityOutput is an identity as az prints it: properties lifted, with
// resourceGroup.
func identityOutput(m map[string]any) map[string]any {
	out := flatten(m)
	if id, ok := m["id"].(string); ok {
		out["resourceGroup"] = resourceGroupOf(id)
	}
	return out
}

var identityColumns = []column{{"ClientId", "clientId"}, {"Location", "location"}, {"Name", "name"}, {"PrincipalId", "principalId"}, {"ResourceGroup", "resourceGroup"}, {"TenantId", "tenantId"}}

func identityCreate(ctx context.Context, inv *invocation) error {
	rg, name := inv.flags.str("resource-group"), inv.flags.str("name")
	if err := slipway.ValidateIdentityName(name); err != nil {
		return exitErrorf("", "%s", slipway.ErrorMessage(err))
	}
	c, loc, err := inv.connectWithLocation(ctx, rg)
	if err != nil {
		return err
	}
	res, err := c.armMap(ctx, http.MethodPut, c.identityPath(rg, name), apiMSI, map[string]any{"location": loc, "tags": tagsFlag(inv)})
	if err != nil {
		return err
	}
	return inv.printResult(identityOutput(res), identityColumns)
}

func identityShow(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	res, err := c.armMap(ctx, http.MethodGet, c.identityPath(inv.flags.str("resource-group"), inv.flags.str("name")), apiMSI, nil)
	if err != nil {
		return err
	}
	return inv.printResult(identityOutput(res), identityColumns)
}

func identityList(ctx context.Context, inv *invocation) error {
	const typ = "/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
	return listResources(ctx, inv, typ, apiMSI, identityOutput, identityColumns,
		func(c *conn, rg string) string { return c.groupPath(rg) + typ })
}

func identityDelete(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	_, err = c.arm(ctx, http.MethodDelete, c.identityPath(inv.flags.str("resource-group"), inv.flags.str("name")), apiMSI, nil, nil)
	return err
}

// siteIdentity is a site's identity property as the CLI reads it.
type siteIdentity struct {
	system bool
	user   []string // resource ids as the server spells them
}

func readSiteIdentity(site map[string]any) siteIdentity {
	var s siteIdentity
	id, _ := site["identity"].(map[string]any)
	if id == nil {
		return s
	}
	s.system = strings.Contains(strings.ToLower(str(id, "type")), "systemassigned")
	ua, _ := id["userAssignedIdentities"].(map[string]any)
	for k := range ua {
		s.user = append(s.user, k)
	}
	sort.Strings(s.user)
	return s
}

// identityArgs splits --identities into the system-assigned flag (true
// when none are given, as az) and user-assigned identities' resource ids;
// a bare name is an identity in the app's group.
func (c *conn) identityArgs(ids []string, rg string) (system bool, user []string) {
	if len(ids) == 0 {
		return true, nil
	}
	for _, v := range ids {
		switch {
		case v == msiLocal:
			system = true
		case strings.HasPrefix(v, "/"):
			user = append(user, v)
		default:
			user = append(user, c.subPath()+"/resourceGroups/"+url.PathEscape(rg)+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"+url.PathEscape(v))
		}
	}
	return system, user
}

// identityType is a ManagedServiceIdentityType for the two parts.
func identityType(system, user bool) string {
	switch {
	case system && user:
		return slipway.IdentitySystemAssignedUserAssigned
	case system:
		return slipway.IdentitySystemAssigned
	case user:
		return slipway.IdentityUserAssigned
	}
	return slipway.IdentityNone
}

// containsFold reports whether list holds s, ignoring case (resource ids).
func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

// patchIdentity PATCHes the site's identity and returns the site.
func (c *conn) patchIdentity(ctx context.Context, rg, app string, identity map[string]any) (map[string]any, error) {
	return c.armMap(ctx, http.MethodPatch, c.sitePath(rg, app), apiWeb, map[string]any{"identity": identity})
}

// printIdentity prints a site's identity property (nothing when it has
// none, as az prints None).
func (inv *invocation) printIdentity(site map[string]any) error {
	id, _ := site["identity"].(map[string]any)
	if id == nil {
		return nil
	}
	return inv.printResult(id, []column{{"PrincipalId", "principalId"}, {"TenantId", "tenantId"}, {"Type", "type"}})
}

func webappIdentityAssign(ctx context.Context, inv *invocation) error {
	c, rg, app, site, err := inv.connectSite(ctx)
	if err != nil {
		return err
	}
	cur := readSiteIdentity(site)
	system, user := c.identityArgs(inv.flags.list("identities"), rg)
	scope := inv.flags.str("scope")
	if scope != "" && !system && !cur.system {
		return exitErrorf("Add '[system]' to --identities.", "--role and --scope give a role to the system-assigned identity, which the app does not have.")
	}
	body := map[string]any{"type": identityType(system || cur.system, len(user) > 0 || len(cur.user) > 0)}
	if len(user) > 0 {
		ua := map[string]any{}
		for _, id := range user {
			ua[id] = map[string]any{}
		}
		body["userAssignedIdentities"] = ua
	}
	site, err = c.patchIdentity(ctx, rg, app, body)
	if err != nil {
		return err
	}
	if scope != "" {
		principal := str(site, "identity.principalId")
		role := inv.flags.str("role")
		if role == "" {
			role = "Contributor"
		}
		if err := c.assignRole(ctx, inv, strings.TrimRight(scope, "/"), role, principal); err != nil {
			return err
		}
	}
	return inv.printIdentity(site)
}

func webappIdentityShow(ctx context.Context, inv *invocation) error {
	_, _, _, site, err := inv.connectSite(ctx)
	if err != nil {
		return err
	}
	return inv.printIdentity(site)
}

// connectSite connects and GETs the app named by -g and -n.
func (inv *invocation) connectSite(ctx context.Context) (c *conn, rg, app string, site map[string]any, err error) {
	rg, app = inv.flags.str("resource-group"), inv.flags.str("name")
	if c, err = inv.connect(ctx); err != nil {
		return nil, "", "", nil, err
	}
	site, err = c.getSite(ctx, rg, app)
	return c, rg, app, site, err
}

func webappIdentityRemove(ctx context.Context, inv *invocation) error {
	c, rg, app, site, err := inv.connectSite(ctx)
	if err != nil {
		return err
	}
	cur := readSiteIdentity(site)
	if !cur.system && len(cur.user) == 0 {
		return nil // az: nothing to remove, nothing printed
	}
	system, user := c.identityArgs(inv.flags.list("identities"), rg)
	var missing []string
	for _, id := range user {
		if !containsFold(cur.user, id) {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return exitErrorf("See the app's identities with `slipway webapp identity show`.", "'%s' are not associated with '%s'", strings.Join(missing, ","), app)
	}
	ua := map[string]any{}
	keep := 0
	for _, id := range cur.user {
		if containsFold(user, id) {
			ua[id] = nil
		} else {
			keep++
		}
	}
	body := map[string]any{"type": identityType(cur.system && !system, keep > 0)}
	if keep > 0 && len(ua) > 0 {
		body["userAssignedIdentities"] = ua
	}
	site, err = c.patchIdentity(ctx, rg, app, body)
	if err != nil {
		return err
	}
	return inv.printIdentity(site)
}
