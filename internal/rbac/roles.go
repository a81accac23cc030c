package rbac

import (
	"strings"
	"unicode"
)

// Permission is one entry of a role definition's permissions.
type Permission struct {
	Actions        []string
	NotActions     []string
	DataActions    []string
	NotDataActions []string
}

// RoleDefinition is a built-in role.
type RoleDefinition struct {
	// Name is the role's GUID, the same in every Azure tenant.
	Name        string
	RoleName    string
	Description string
	Permissions []Permission
}

// The built-in roles Slipway knows, each exactly as Microsoft publishes it
// (Actions, NotActions, DataActions, NotDataActions, GUID, description) in
// "Azure built-in roles":
//   - Owner, Contributor, Role Based Access Control Administrator, User Access
//     Administrator: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/privileged
//   - Reader: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/general
//   - Website Contributor: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/web-and-mobile
//   - Key Vault Administrator, Secrets Officer, Secrets User:
//     https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security
//   - Storage Blob Data Owner, Contributor, Reader:
//     https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage
//   - Monitoring Metrics Publisher (what an app's identity needs to send
//     telemetry to a component that takes Entra tokens only):
//     https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/monitor
//
// Built-in roles are data, not state: they never change at run time.
var builtinRoles = []RoleDefinition{
	{
		Name: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", RoleName: "Owner",
		Description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
		Permissions: []Permission{{Actions: []string{"*"}}},
	},
	{
		Name: "b24988ac-6180-42a0-ab88-20f7382dd24c", RoleName: "Contributor",
		Description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
		Permissions: []Permission{{
			Actions: []string{"*"},
			NotActions: []string{
				"Microsoft.Authorization/*/Delete",
				"Microsoft.Authorization/*/Write",
				"Microsoft.Authorization/elevateAccess/Action",
				"Microsoft.Blueprint/blueprintAssignments/write",
				"Microsoft.Blueprint/blueprintAssignments/delete",
				"Microsoft.Compute/galleries/share/action",
				"Microsoft.Purview/consents/write",
				"Microsoft.Purview/consents/delete",
				"Microsoft.Resources/deploymentStacks/manageDenySetting/action",
				"Microsoft.Subscription/cancel/action",
				"Microsoft.Subscription/enable/action",
			},
		}},
	},
	{
		Name: "acdd72a7-3385-48ef-bd42-f606fba81ae7", RoleName: "Reader",
		Description: "View all resources, but does not allow you to make any changes.",
		Permissions: []Permission{{Actions: []string{"*/read"}}},
	},
	{
		Name: "f58310d9-a9f6-439a-9e8d-f62e7b41a168", RoleName: "Role Based Access Control Administrator",
		Description: "Manage access to Azure resources by assigning roles using Azure RBAC. This role does not allow you to manage access using other ways, such as Azure Policy.",
		Permissions: []Permission{{Actions: []string{
			"Microsoft.Authorization/roleAssignments/write",
			"Microsoft.Authorization/roleAssignments/delete",
			"*/read",
			"Microsoft.Support/*",
		}}},
	},
	{
		Name: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", RoleName: "User Access Administrator",
		Description: "Lets you manage user access to Azure resources.",
		Permissions: []Permission{{Actions: []string{"*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"}}},
	},
	{
		Name: "de139f84-1756-47ae-9be6-808fbbe84772", RoleName: "Website Contributor",
		Description: "Lets you manage websites (not web plans), but not access to them.",
		Permissions: []Permission{{Actions: []string{
			"Microsoft.Authorization/*/read",
			"Microsoft.Insights/alertRules/*",
			"Microsoft.Insights/components/*",
			"Microsoft.ResourceHealth/availabilityStatuses/read",
			"Microsoft.Resources/deployments/*",
			"Microsoft.Resources/subscriptions/resourceGroups/read",
			"Microsoft.Support/*",
			"Microsoft.Web/certificates/*",
			"Microsoft.Web/listSitesAssignedToHostName/read",
			"Microsoft.Web/serverFarms/join/action",
			"Microsoft.Web/serverFarms/read",
			"Microsoft.Web/sites/*",
		}}},
	},
	{
		Name: "00482a5a-887f-4fb3-b363-3b7fe8e74483", RoleName: "Key Vault Administrator",
		Description: "Perform all data plane operations on a key vault and all objects in it, including certificates, keys, and secrets. Cannot manage key vault resources or manage role assignments. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		Permissions: []Permission{{Actions: keyVaultDataRoleActions, DataActions: []string{"Microsoft.KeyVault/vaults/*"}}},
	},
	{
		Name: "b86a8fe4-44ce-4948-aee5-eccb2c155cd7", RoleName: "Key Vault Secrets Officer",
		Description: "Perform any action on the secrets of a key vault, except manage permissions. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		Permissions: []Permission{{Actions: keyVaultDataRoleActions, DataActions: []string{"Microsoft.KeyVault/vaults/secrets/*"}}},
	},
	{
		Name: "4633458b-17de-408a-b874-0445c86b69e6", RoleName: "Key Vault Secrets User",
		Description: "Read secret contents. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		Permissions: []Permission{{DataActions: []string{
			"Microsoft.KeyVault/vaults/secrets/getSecret/action",
			"Microsoft.KeyVault/vaults/secrets/readMetadata/action",
		}}},
	},
	{
		Name: "b7e6dc6d-f1e8-4753-8033-0f276bb0955b", RoleName: "Storage Blob Data Owner",
		Description: "Allows for full access to Azure Storage blob containers and data, including assigning POSIX access control.",
		Permissions: []Permission{{
			Actions: []string{
				"Microsoft.Storage/storageAccounts/blobServices/containers/*",
				"Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
			},
			DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"},
		}},
	},
	{
		Name: "ba92f5b4-2d11-453d-a403-e96b0029c9fe", RoleName: "Storage Blob Data Contributor",
		Description: "Allows for read, write and delete access to Azure Storage blob containers and data",
		Permissions: []Permission{{
			Actions: []string{
				"Microsoft.Storage/storageAccounts/blobServices/containers/delete",
				"Microsoft.Storage/storageAccounts/blobServices/containers/read",
				"Microsoft.Storage/storageAccounts/blobServices/containers/write",
				"Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
			},
			DataActions: []string{
				"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
				"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
				"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
				"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
				"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
			},
		}},
	},
	{
		Name: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", RoleName: "Storage Blob Data Reader",
		Description: "Allows for read access to Azure Storage blob containers and data",
		Permissions: []Permission{{
			Actions: []string{
				"Microsoft.Storage/storageAccounts/blobServices/containers/read",
				"Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
			},
			DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"},
		}},
	},
	{
		Name: "3913510d-42f4-4e42-8a64-420c390055eb", RoleName: "Monitoring Metrics Publisher",
		Description: "Enables publishing metrics against Azure resources",
		Permissions: []Permission{{
			Actions: []string{
				"Microsoft.Insights/Register/Action",
				"Microsoft.Support/*",
				"Microsoft.Resources/subscriptions/resourceGroups/read",
			},
			DataActions: []string{"Microsoft.Insights/Metrics/Write", "Microsoft.Insights/Telemetry/Write"},
		}},
	},
}

// keyVaultDataRoleActions are the control-plane Actions shared by Key Vault
// Administrator and Key Vault Secrets Officer (the same list in both).
var keyVaultDataRoleActions = []string{
	"Microsoft.Authorization/*/read",
	"Microsoft.Insights/alertRules/*",
	"Microsoft.Resources/deployments/*",
	"Microsoft.Resources/subscriptions/resourceGroups/read",
	"Microsoft.Support/*",
	"Microsoft.KeyVault/checkNameAvailability/read",
	"Microsoft.KeyVault/deletedVaults/read",
	"Microsoft.KeyVault/locations/*/read",
	"Microsoft.KeyVault/vaults/*/read",
	"Microsoft.KeyVault/operations/read",
}

// BuiltinRoles returns the built-in roles, in a fixed order. The caller
// must not modify them.
func BuiltinRoles() []RoleDefinition { return builtinRoles }

// RoleByID returns the built-in role with the GUID (case-insensitive), or
// nil.
func RoleByID(id string) *RoleDefinition {
	for i := range builtinRoles {
		if strings.EqualFold(builtinRoles[i].Name, id) {
			return &builtinRoles[i]
		}
	}
	return nil
}

// RoleByName returns the built-in role with the display name (roleName,
// case-insensitive as ARM's roleName filter is), or nil.
func RoleByName(name string) *RoleDefinition {
	for i := range builtinRoles {
		if strings.EqualFold(builtinRoles[i].RoleName, name) {
			return &builtinRoles[i]
		}
	}
	return nil
}

// Allows reports whether the role grants the operation: some permission
// has an Action (DataAction when data) matching it and no NotAction
// (NotDataAction) of that same permission matching it.
func (d *RoleDefinition) Allows(action string, data bool) bool {
	for _, p := range d.Permissions {
		allow, deny := p.Actions, p.NotActions
		if data {
			allow, deny = p.DataActions, p.NotDataActions
		}
		if matchAny(allow, action) && !matchAny(deny, action) {
			return true
		}
	}
	return false
}

func matchAny(patterns []string, action string) bool {
	for _, p := range patterns {
		if MatchAction(p, action) {
			return true
		}
	}
	return false
}

// maxActionLen bounds the operation strings matched: Azure's longest are
// well under 300 characters.
const maxActionLen = 1024

// MatchAction reports whether an operation matches a permission pattern:
// case-insensitive, * standing for any run of characters (including /),
// everything else literal. The usual greedy wildcard match, which
// backtracks only to the last *: at worst len(pattern)·len(action) steps,
// both bounded by maxActionLen (over-long inputs never match), so a
// hostile action cannot make it slow.
func MatchAction(pattern, action string) bool {
	if len(pattern) > maxActionLen || len(action) > maxActionLen {
		return false
	}
	// Compared rune by rune with Unicode simple folding, the relation
	// strings.EqualFold (and so ActionFor and the ARM router) uses: were
	// "ſ" (U+017F) to differ from "s" here while the router takes
	// "Microſoft.Authorization" for Microsoft.Authorization, a NotActions
	// pattern could be stepped around.
	p, a := []rune(pattern), []rune(action)
	pi, ai := 0, 0
	star, mark := -1, 0
	for ai < len(a) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ai
			pi++
		case pi < len(p) && p[pi] != '*' && foldEqual(p[pi], a[ai]):
			pi++
			ai++
		case star >= 0:
			pi = star + 1
			mark++
			ai = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// foldEqual reports whether two runes are equal under Unicode simple case
// folding, as strings.EqualFold compares them.
func foldEqual(x, y rune) bool {
	if x == y {
		return true
	}
	for r := unicode.SimpleFold(x); r != x; r = unicode.SimpleFold(r) {
		if r == y {
			return true
		}
	}
	return false
}
