// Package rbac is Slipway's Azure role-based access control: the built-in
// role definitions (with Azure's GUIDs and permissions), role assignments
// at subscription, resource group and resource scope, and the decision
// whether a principal may perform an operation over a scope.
//
// It owns the rules, not the storage or the wire: assignments are kept by a
// Store (internal/store implements it) and served to ARM by internal/arm.
// The Authorizer keeps every assignment in memory, refreshed after each
// change it makes, so a check never reads the database.
//
// Azure's semantics followed here (Microsoft Learn, "Understand Azure role
// definitions", https://learn.microsoft.com/azure/role-based-access-control/role-definitions,
// and "Understand scope", https://learn.microsoft.com/azure/role-based-access-control/scope-overview):
//   - an operation is a string such as Microsoft.Web/sites/restart/action;
//     Actions, NotActions, DataActions and NotDataActions hold patterns in
//     which * matches any run of characters, compared case-insensitively;
//   - a role grants an operation when one of a permission's Actions matches
//     it and none of that permission's NotActions does (NotActions subtract,
//     they do not deny); data operations are matched against DataActions and
//     NotDataActions only;
//   - an assignment at a scope applies at that scope and at every scope
//     below it; permissions from several assignments add up;
//   - there are no deny assignments here.
package rbac

import (
	"fmt"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
)

// Principal types an assignment names (ARM's principalType).
const (
	PrincipalUser             = "User"
	PrincipalGroup            = "Group"
	PrincipalServicePrincipal = "ServicePrincipal"
	PrincipalForeignGroup     = "ForeignGroup"
	PrincipalDevice           = "Device"
)

// principalTypes are the principalType values ARM accepts, by lower case.
var principalTypes = map[string]string{
	"user": PrincipalUser, "group": PrincipalGroup, "serviceprincipal": PrincipalServicePrincipal,
	"foreigngroup": PrincipalForeignGroup, "device": PrincipalDevice,
}

// CanonicalPrincipalType returns ARM's spelling of a principal type, and
// false for a value ARM does not know.
func CanonicalPrincipalType(t string) (string, bool) {
	c, ok := principalTypes[strings.ToLower(t)]
	return c, ok
}

// Assignment is one role assignment: a role granted to a principal over a
// scope.
type Assignment struct {
	// Name is the assignment's GUID (the last segment of its id).
	Name string
	// Scope is where it applies, e.g. /subscriptions/<s>/resourceGroups/rg.
	Scope string
	// RoleDefinitionID is the role's GUID (RoleDefinition.Name).
	RoleDefinitionID string
	// PrincipalID is the object id of the user, group or service principal.
	PrincipalID   string
	PrincipalType string
	Description   string
	// Condition and ConditionVersion are stored and shown; Slipway does
	// not evaluate conditions, so an assignment with one is refused at
	// creation (see Validate).
	Condition        string
	ConditionVersion string
	Created          time.Time
	Updated          time.Time
	// CreatedBy is the object id of the principal that created it ("" for
	// the platform's admin token).
	CreatedBy string
}

// maxDescription bounds an assignment's description (Azure: 2048 chars).
const maxDescription = 2048

// Validate checks an assignment's fields as ARM would before storing it,
// and puts them in canonical form: lower-case GUIDs, the scope cleaned
// (CleanScope), ARM's spelling of the principal type.
func (a *Assignment) Validate() error {
	if !IsGUID(a.Name) {
		return slipway.Errorf(slipway.EINVALID, "The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", a.Name)
	}
	a.Name = strings.ToLower(a.Name)
	s, err := CleanScope(a.Scope)
	if err != nil {
		return err
	}
	a.Scope = s
	if RoleByID(a.RoleDefinitionID) == nil {
		return slipway.Errorf(slipway.EINVALID, "The specified role definition with ID '%s' does not exist.", a.RoleDefinitionID)
	}
	a.RoleDefinitionID = strings.ToLower(a.RoleDefinitionID)
	if !IsGUID(a.PrincipalID) {
		return slipway.Errorf(slipway.EINVALID, "Principal ID '%s' is not a valid GUID.", a.PrincipalID)
	}
	a.PrincipalID = strings.ToLower(a.PrincipalID)
	if a.PrincipalType == "" {
		// ARM's default for api-version 2022-04-01 (azure-cli says so in
		// RoleApiHelper.create_role_assignment).
		a.PrincipalType = PrincipalUser
	}
	pt, ok := CanonicalPrincipalType(a.PrincipalType)
	if !ok {
		return slipway.Errorf(slipway.EINVALID, "The principal type '%s' is not valid. Valid values are User, Group, ServicePrincipal, ForeignGroup and Device.", a.PrincipalType)
	}
	a.PrincipalType = pt
	if len(a.Description) > maxDescription {
		return slipway.Errorf(slipway.EINVALID, "The role assignment description is longer than %d characters.", maxDescription)
	}
	if a.Condition != "" || a.ConditionVersion != "" {
		return slipway.Errorf(slipway.EINVALID, "Role assignment conditions are not supported by Slipway: create the assignment without --condition.")
	}
	return nil
}

// IsGUID reports whether s is a GUID in its 8-4-4-4-12 hex form.
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// AuthorizationFailed is the error of an operation the principal has no
// role for. Its message is Azure Resource Manager's AuthorizationFailed
// text, as Azure answers it (e.g. github.com/microsoft/foundry-dev-tools
// issue 697, github.com/microsoft/vscode-azurestorage issue 944):
// "The client '<id>' with object id '<id>' does not have authorization to
// perform action '<action>' over scope '<scope>' or the scope is invalid. If
// access was recently granted, please refresh your credentials."
type AuthorizationFailed struct {
	PrincipalID string
	Action      string
	Scope       string
	Data        bool // a data action (blob, secret) rather than a control-plane one
}

// Message is Azure's wording.
func (e *AuthorizationFailed) Message() string {
	return fmt.Sprintf("The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
		e.PrincipalID, e.PrincipalID, e.Action, e.Scope)
}

func (e *AuthorizationFailed) Error() string { return "authorization failed: " + e.Message() }

// Unwrap lets slipway.ErrorCode and ErrorMessage classify it as EFORBIDDEN
// (ARM renders that as 403 AuthorizationFailed).
func (e *AuthorizationFailed) Unwrap() error {
	return &slipway.Error{Code: slipway.EFORBIDDEN, Message: e.Message()}
}
