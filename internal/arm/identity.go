package arm

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/store"
)

// Managed identities: Microsoft.ManagedIdentity/userAssignedIdentities
// (https://learn.microsoft.com/rest/api/managedidentity/user-assigned-identities)
// as `az identity` reads and writes them, and a site's identity property
// (ManagedServiceIdentity: type, principalId, tenantId,
// userAssignedIdentities) as `az webapp identity assign|show|remove` and
// azure-mgmt-web send and read it (docs/appservice.md §8). A site's
// system-assigned identity is a principal created when the type first
// includes SystemAssigned and deleted when it no longer does (or with the
// site); tokens for it stop at once, as the managed-identity endpoint
// reads a site's identities on every request.

func identityID(sub, rg, name string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + name
}

// IdentityResourceID is a user-assigned identity's ARM id, the principal's
// resource id (a token's xms_mirid, the endpoint's mi_res_id).
func IdentityResourceID(sub string, i slipway.UserAssignedIdentity) string {
	return identityID(sub, i.ResourceGroup, i.Name)
}

// SiteResourceID is a site's ARM id, the resource id of its system-assigned
// identity's principal.
func SiteResourceID(sub, rg, name string) string { return siteID(sub, rg, name) }

// parseIdentityID reads the group and name from a user-assigned identity's
// resource id in this subscription.
func parseIdentityID(id, sub string) (store.IdentityRef, error) {
	segs := splitPath(id)
	if len(segs) != 8 || !strings.EqualFold(segs[0], "subscriptions") || !strings.EqualFold(segs[2], "resourceGroups") ||
		!strings.EqualFold(segs[4], "providers") || !strings.EqualFold(segs[5], "Microsoft.ManagedIdentity") || !strings.EqualFold(segs[6], "userAssignedIdentities") {
		return store.IdentityRef{}, &apiError{Status: http.StatusBadRequest, Code: "BadRequest",
			Message: fmt.Sprintf("The user-assigned identity id '%s' is not of the form /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}.", truncate(id, 300))}
	}
	if !strings.EqualFold(segs[1], sub) {
		return store.IdentityRef{}, &apiError{Status: http.StatusBadRequest, Code: "BadRequest",
			Message: fmt.Sprintf("The user-assigned identity '%s' is in subscription '%s'; Slipway has only subscription '%s'.", segs[7], segs[1], sub)}
	}
	return store.IdentityRef{ResourceGroup: segs[3], Name: segs[7]}, nil
}

// parseKeyVaultReferenceIdentity reads a site's keyVaultReferenceIdentity:
// "SystemAssigned" (or empty) is the site's system-assigned identity,
// stored as ""; anything else must be a user-assigned identity's id in this
// subscription, stored in its canonical form. Whether the site has that
// identity is checked when a reference resolves, as the identity may be
// assigned after the property is set
// (https://learn.microsoft.com/azure/app-service/app-service-key-vault-references#access-vaults-with-a-user-assigned-identity).
func parseKeyVaultReferenceIdentity(v, sub string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" || strings.EqualFold(v, "SystemAssigned") {
		return "", nil
	}
	if len(v) > maxResourceIDBytes {
		return "", &apiError{Status: http.StatusBadRequest, Code: "BadRequest",
			Message: fmt.Sprintf("The keyVaultReferenceIdentity '%s' is longer than %d bytes.", truncate(v, 100), maxResourceIDBytes)}
	}
	ref, err := parseIdentityID(v, sub)
	if err != nil {
		return "", err
	}
	return identityID(sub, ref.ResourceGroup, ref.Name), nil
}

// maxResourceIDBytes bounds a resource id given in a body.
const maxResourceIDBytes = 1024

// keyVaultReferenceIdentityJSON is a site's keyVaultReferenceIdentity as
// Azure shows it.
func keyVaultReferenceIdentityJSON(s slipway.Site) string {
	if s.KeyVaultReferenceIdentity == "" {
		return "SystemAssigned"
	}
	return s.KeyVaultReferenceIdentity
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// identityJSON is a user-assigned identity resource.
func identityJSON(sub, tenant string, i slipway.UserAssignedIdentity) map[string]any {
	tags := i.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return map[string]any{
		"id":       identityID(sub, i.ResourceGroup, i.Name),
		"name":     i.Name,
		"type":     "Microsoft.ManagedIdentity/userAssignedIdentities",
		"location": i.Location,
		"tags":     tags,
		"properties": map[string]any{
			"tenantId":       tenant,
			"principalId":    i.PrincipalID,
			"clientId":       i.ClientID,
			"isolationScope": "None",
		},
	}
}

// identityBody is a userAssignedIdentities PUT or PATCH document.
type identityBody struct {
	Location   *string           `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties *struct {
		IsolationScope *string `json:"isolationScope"`
	} `json:"properties"`
}

func (h *Handler) putIdentity(w http.ResponseWriter, r *http.Request, p params) error {
	return h.writeIdentity(w, r, p, false)
}

func (h *Handler) patchIdentity(w http.ResponseWriter, r *http.Request, p params) error {
	return h.writeIdentity(w, r, p, true)
}

// writeIdentity creates (201) or updates (200) an identity; a PATCH needs
// it to exist and changes only its tags.
func (h *Handler) writeIdentity(w http.ResponseWriter, r *http.Request, p params, patch bool) error {
	var body identityBody
	if err := readJSON(r, &body); err != nil {
		return err
	}
	// Regional isolation (az identity create|update --isolation-scope
	// Regional) keeps an identity from being assigned to resources in
	// other regions; Slipway's regions are names only, so it is refused
	// rather than shown as None after a success.
	if b := body.Properties; b != nil && b.IsolationScope != nil && *b.IsolationScope != "" && !strings.EqualFold(*b.IsolationScope, "None") {
		return &apiError{Status: http.StatusBadRequest, Code: "BadRequest",
			Message: fmt.Sprintf("The isolation scope '%s' is not supported: Slipway does not restrict where an identity may be assigned, so isolationScope can only be 'None'.", truncate(*b.IsolationScope, 50))}
	}
	ctx := r.Context()
	if patch {
		if _, err := h.cfg.Store.GetUserAssignedIdentity(ctx, p.rg, p.identity); err != nil {
			return err
		}
	} else if body.Location == nil || strings.TrimSpace(*body.Location) == "" {
		return &apiError{Status: http.StatusBadRequest, Code: "LocationRequired", Message: "The location property is required for this definition."}
	}
	i := slipway.UserAssignedIdentity{ResourceGroup: p.rg, Name: p.identity, Tags: body.Tags}
	if body.Location != nil {
		i.Location = normalizeLocation(*body.Location)
	}
	_, tenant, err := h.cfg.Store.Identity(ctx)
	if err != nil {
		return err
	}
	stored, created, err := h.cfg.Store.PutUserAssignedIdentity(ctx, i, identityID(p.sub, p.rg, p.identity))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, identityJSON(p.sub, tenant, stored))
}

func (h *Handler) getIdentity(w http.ResponseWriter, r *http.Request, p params) error {
	ctx := r.Context()
	i, err := h.cfg.Store.GetUserAssignedIdentity(ctx, p.rg, p.identity)
	if err != nil {
		return err
	}
	_, tenant, err := h.cfg.Store.Identity(ctx)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, identityJSON(p.sub, tenant, i))
}

// listIdentities lists the identities of a group or of the subscription.
func (h *Handler) listIdentities(w http.ResponseWriter, r *http.Request, p params) error {
	ctx := r.Context()
	is, err := h.cfg.Store.UserAssignedIdentities(ctx, p.rg)
	if err != nil {
		return err
	}
	_, tenant, err := h.cfg.Store.Identity(ctx)
	if err != nil {
		return err
	}
	out := make([]any, 0, len(is))
	for _, i := range is {
		out = append(out, identityJSON(p.sub, tenant, i))
	}
	return writeJSON(w, http.StatusOK, list{Value: out})
}

// deleteIdentity deletes an identity with its principal, detaching it
// from every site: 200, or 204 when there is none.
func (h *Handler) deleteIdentity(w http.ResponseWriter, r *http.Request, p params) error {
	return h.writeDeleted(w, r, p.rg, h.cfg.Store.DeleteUserAssignedIdentity(r.Context(), p.rg, p.identity))
}

// siteIdentityBody is a site's identity property in a PUT or PATCH.
// userAssignedIdentities maps resource ids to {} (or the principalId and
// clientId a GET returned); null removes one in a PATCH.
type siteIdentityBody struct {
	Type                   *string                    `json:"type"`
	UserAssignedIdentities map[string]json.RawMessage `json:"userAssignedIdentities"`
}

// maxUserAssignedIdentities bounds the identities of one site.
const maxUserAssignedIdentities = 64

// identityChange is a validated change of a site's identities.
type identityChange struct {
	system bool
	user   []store.IdentityRef
}

// parseIdentityType reads a ManagedServiceIdentityType: SystemAssigned,
// UserAssigned, "SystemAssigned, UserAssigned" (with or without the space)
// or None, in any case.
func parseIdentityType(t string) (system, user bool, err error) {
	for _, part := range strings.Split(t, ",") {
		switch strings.ToLower(strings.TrimSpace(part)) {
		case "systemassigned":
			system = true
		case "userassigned":
			user = true
		case "none":
		default:
			return false, false, &apiError{Status: http.StatusBadRequest, Code: "BadRequest",
				Message: fmt.Sprintf("The identity type '%s' is not valid. Use SystemAssigned, UserAssigned, 'SystemAssigned, UserAssigned' or None.", truncate(t, 100))}
		}
	}
	return system, user, nil
}

// planIdentity validates a site's identity body against what the site has
// (current: its user-assigned identities' ids) and returns the change. A
// PUT's userAssignedIdentities is the whole set; a PATCH's adds, and its
// nulls remove. Nil when the body has no identity type.
func (h *Handler) planIdentity(sub string, b *siteIdentityBody, current []store.IdentityRef, patch bool) (*identityChange, error) {
	if b == nil || b.Type == nil {
		return nil, nil
	}
	system, user, err := parseIdentityType(*b.Type)
	if err != nil {
		return nil, err
	}
	if len(b.UserAssignedIdentities) > maxUserAssignedIdentities {
		return nil, &apiError{Status: http.StatusBadRequest, Code: "BadRequest", Message: fmt.Sprintf("A site can have at most %d user-assigned identities.", maxUserAssignedIdentities)}
	}
	c := &identityChange{system: system}
	if !user {
		return c, nil
	}
	key := func(r store.IdentityRef) string { return strings.ToLower(r.ResourceGroup + "/" + r.Name) }
	set := map[string]store.IdentityRef{}
	if patch || b.UserAssignedIdentities == nil {
		for _, r := range current {
			set[key(r)] = r
		}
	}
	for id, v := range b.UserAssignedIdentities {
		ref, err := parseIdentityID(id, sub)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(string(v)) == "null" {
			delete(set, key(ref))
			continue
		}
		set[key(ref)] = ref
	}
	if len(set) == 0 {
		return nil, &apiError{Status: http.StatusBadRequest, Code: "BadRequest",
			Message: "The identity type 'UserAssigned' needs at least one identity in userAssignedIdentities."}
	}
	for _, k := range slices.Sorted(maps.Keys(set)) {
		c.user = append(c.user, set[k])
	}
	return c, nil
}

// applyIdentity carries out a change of the site's identities: its
// system-assigned principal created or deleted, its user-assigned ones
// replaced.
func (h *Handler) applyIdentity(ctx context.Context, sub string, s slipway.Site, c *identityChange) error {
	if c == nil {
		return nil
	}
	id := siteID(sub, s.ResourceGroup, s.Name)
	ps, err := h.cfg.Store.PrincipalsByResource(ctx, id)
	if err != nil {
		return err
	}
	var sys *store.Principal
	for i := range ps {
		if ps[i].Kind == store.SystemAssignedIdentity {
			sys = &ps[i]
		}
	}
	switch {
	case c.system && sys == nil:
		_, err := h.cfg.Store.CreatePrincipal(ctx, store.Principal{Kind: store.SystemAssignedIdentity, DisplayName: s.Name, ResourceID: id})
		if err != nil && slipway.ErrorCode(err) != slipway.ECONFLICT { // ECONFLICT: a concurrent request made it
			return err
		}
	case !c.system && sys != nil:
		if err := h.cfg.Store.DeletePrincipal(ctx, sys.ObjectID); err != nil && slipway.ErrorCode(err) != slipway.ENOTFOUND {
			return err
		}
	}
	return h.cfg.Store.SetSiteUserAssignedIdentities(ctx, s.Name, c.user)
}

// currentIdentityRefs lists the site's user-assigned identities.
func (h *Handler) currentIdentityRefs(ctx context.Context, site string) ([]store.IdentityRef, error) {
	is, err := h.cfg.Store.SiteUserAssignedIdentities(ctx, site)
	if err != nil {
		return nil, err
	}
	out := make([]store.IdentityRef, len(is))
	for i, x := range is {
		out[i] = store.IdentityRef{ResourceGroup: x.ResourceGroup, Name: x.Name}
	}
	return out, nil
}

// siteIdentityJSON is the site's identity property, or nil (left out)
// when it has none.
func (h *Handler) siteIdentityJSON(ctx context.Context, sub string, s slipway.Site) (map[string]any, error) {
	ps, err := h.cfg.Store.PrincipalsByResource(ctx, siteID(sub, s.ResourceGroup, s.Name))
	if err != nil {
		return nil, err
	}
	uas, err := h.cfg.Store.SiteUserAssignedIdentities(ctx, s.Name)
	if err != nil {
		return nil, err
	}
	var types []string
	out := map[string]any{}
	for _, p := range ps {
		if p.Kind == store.SystemAssignedIdentity {
			types = append(types, slipway.IdentitySystemAssigned)
			_, tenant, err := h.cfg.Store.Identity(ctx)
			if err != nil {
				return nil, err
			}
			out["principalId"], out["tenantId"] = p.ObjectID, tenant
		}
	}
	if len(uas) > 0 {
		types = append(types, slipway.IdentityUserAssigned)
		m := map[string]any{}
		for _, u := range uas {
			m[IdentityResourceID(sub, u)] = map[string]any{"principalId": u.PrincipalID, "clientId": u.ClientID}
		}
		out["userAssignedIdentities"] = m
	}
	if len(types) == 0 {
		return nil, nil
	}
	out["type"] = strings.Join(types, ", ")
	return out, nil
}

// addSiteIdentity sets a site resource's identity property when it has one.
func (h *Handler) addSiteIdentity(ctx context.Context, res map[string]any, sub string, s slipway.Site) error {
	id, err := h.siteIdentityJSON(ctx, sub, s)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if id != nil {
		res["identity"] = id
	}
	return nil
}

// assignIdentityAction is the operation Azure checks on a user-assigned
// identity (a linked scope) before a resource may take it on; Managed
// Identity Operator and Contributor grant it, Website Contributor does not
// (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/identity#managed-identity-operator).
const assignIdentityAction = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"

// checkIdentityAssign refuses a change that gives the site a user-assigned
// identity it does not have yet unless the caller may assign that identity:
// otherwise anyone who may write a site could borrow any identity's roles
// through the app's managed-identity endpoint. Azure answers 403
// LinkedAuthorizationFailed. The admin token (no caller) may assign any.
func (h *Handler) checkIdentityAssign(r *http.Request, sub string, site string, current []store.IdentityRef, c *identityChange) error {
	if c == nil {
		return nil
	}
	for _, ref := range c.user {
		if slices.ContainsFunc(current, func(x store.IdentityRef) bool {
			return strings.EqualFold(x.ResourceGroup, ref.ResourceGroup) && strings.EqualFold(x.Name, ref.Name)
		}) {
			continue
		}
		id := identityID(sub, ref.ResourceGroup, ref.Name)
		if err := h.checkLinked(r, "Microsoft.Web/sites/write", site, assignIdentityAction, id); err != nil {
			return err
		}
	}
	return nil
}

// checkIdentitiesExist refuses a change naming a user-assigned identity
// that does not exist, before anything is stored.
func (h *Handler) checkIdentitiesExist(ctx context.Context, c *identityChange) error {
	if c == nil {
		return nil
	}
	for _, r := range c.user {
		if _, err := h.cfg.Store.GetUserAssignedIdentity(ctx, r.ResourceGroup, r.Name); err != nil {
			return err
		}
	}
	return nil
}

// getSystemAssignedIdentity answers GET {site}/providers/
// Microsoft.ManagedIdentity/identities/default, the site's system-assigned
// identity read by its scope as azure-mgmt-msi's
// system_assigned_identities.get_by_scope and `az identity show --ids`
// read it
// (https://learn.microsoft.com/rest/api/managedidentity/system-assigned-identities/get-by-scope):
// a proxy resource named "default" whose properties carry the principal's
// tenantId, principalId and clientId. Slipway issues no client secret URL,
// so clientSecretUrl is left out. A site without one gets 404
// ResourceNotFound.
func (h *Handler) getSystemAssignedIdentity(w http.ResponseWriter, r *http.Request, p params) error {
	ctx := r.Context()
	s, err := h.cfg.Store.Site(ctx, p.rg, p.site)
	if err != nil {
		return err
	}
	ps, err := h.cfg.Store.PrincipalsByResource(ctx, siteID(p.sub, s.ResourceGroup, s.Name))
	if err != nil {
		return err
	}
	i := slices.IndexFunc(ps, func(p store.Principal) bool { return p.Kind == store.SystemAssignedIdentity })
	if i < 0 {
		return &apiError{Status: http.StatusNotFound, Code: "ResourceNotFound",
			Message: fmt.Sprintf("The site '%s' has no system-assigned managed identity.", s.Name)}
	}
	_, tenant, err := h.cfg.Store.Identity(ctx)
	if err != nil {
		return err
	}
	segs := splitPath(r.URL.Path)
	segs[1] = p.sub
	return writeJSON(w, http.StatusOK, map[string]any{
		"id":       "/" + strings.Join(segs, "/"),
		"name":     "default",
		"type":     "Microsoft.ManagedIdentity/identities",
		"location": displayLocation(s.Location),
		"properties": map[string]any{
			"tenantId":    tenant,
			"principalId": ps[i].ObjectID,
			"clientId":    ps[i].AppID,
		},
	})
}

// listAssociatedResources answers POST
// userAssignedIdentities/{name}/listAssociatedResources (`az identity
// list-resources`): the apps and slots the identity is assigned to, of
// those the caller may read.
func (h *Handler) listAssociatedResources(w http.ResponseWriter, r *http.Request, p params) error {
	ctx := r.Context()
	i, err := h.cfg.Store.GetUserAssignedIdentity(ctx, p.rg, p.identity)
	if err != nil {
		return err
	}
	sites, err := h.cfg.Store.IdentitySites(ctx, i.ResourceGroup, i.Name)
	if err != nil {
		return err
	}
	out := []any{}
	for _, s := range sites {
		id, name, typ := s.ResourceID(p.sub), s.Name, "microsoft.web/sites"
		if s.SlotOf != "" {
			name, typ = s.SlotOf+"/"+s.Slot, "microsoft.web/sites/slots"
		}
		if _, ok, err := h.callerMay(r, typ+"/read", id); err != nil {
			return err
		} else if !ok {
			continue
		}
		out = append(out, map[string]any{
			"id": id, "name": name, "type": typ, "resourceGroup": s.ResourceGroup,
			"subscriptionId": p.sub, "subscriptionDisplayName": "Slipway",
		})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"totalCount": len(out), "value": out})
}

// managedIdentityOperations are the operations of Microsoft.ManagedIdentity
// that Slipway serves, as Azure names and describes them
// (https://learn.microsoft.com/azure/role-based-access-control/permissions/identity#microsoftmanagedidentity).
var managedIdentityOperations = []struct{ name, resource, operation, description string }{
	{"Microsoft.ManagedIdentity/operations/read", "Operations", "Lists operations available on Microsoft.ManagedIdentity resource provider", "Lists operations available on Microsoft.ManagedIdentity resource provider"},
	{"Microsoft.ManagedIdentity/userAssignedIdentities/read", "userAssignedIdentities", "Get User Assigned Identity", "Gets an existing user assigned identity"},
	{"Microsoft.ManagedIdentity/userAssignedIdentities/write", "userAssignedIdentities", "Create/Update User Assigned Identity", "Creates a new user assigned identity or updates the tags associated with an existing user assigned identity"},
	{"Microsoft.ManagedIdentity/userAssignedIdentities/delete", "userAssignedIdentities", "Delete User Assigned Identity", "Deletes an existing user assigned identity"},
	{"Microsoft.ManagedIdentity/userAssignedIdentities/assign/action", "userAssignedIdentities", "Assign User Assigned Identity", "RBAC action for assigning an existing user assigned identity to a resource"},
	{"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read", "federatedIdentityCredentials", "Get Federated Identity Credential", "Get or list Federated Identity Credentials"},
}

// listManagedIdentityOperations answers GET
// /providers/Microsoft.ManagedIdentity/operations (`az identity
// list-operations`), open to every signed-in caller as on Azure.
func (h *Handler) listManagedIdentityOperations(w http.ResponseWriter, r *http.Request, _ params) error {
	out := make([]any, 0, len(managedIdentityOperations))
	for _, o := range managedIdentityOperations {
		out = append(out, map[string]any{
			"name": o.name,
			"display": map[string]any{
				"provider": "Managed Service Identity", "resource": o.resource,
				"operation": o.operation, "description": o.description,
			},
		})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"value": out})
}
