package slipway

import (
	"regexp"
	"time"
)

// UserAssignedIdentity is a user-assigned managed identity (ARM type
// Microsoft.ManagedIdentity/userAssignedIdentities): a standalone identity
// that apps are given beside, or instead of, their system-assigned one
// (https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/overview;
// docs/appservice.md §8). PrincipalID is its principal's object id (a
// token's oid), ClientID its client (app) id, by which an app picks it.
type UserAssignedIdentity struct {
	ResourceGroup string
	Name          string
	Location      string
	Tags          map[string]string
	PrincipalID   string
	ClientID      string
	Created       time.Time
}

// Validate reports whether i can be stored.
func (i UserAssignedIdentity) Validate() error {
	return ValidateIdentityName(i.Name)
}

// ValidateIdentityName checks a user-assigned identity's name as Azure
// does: 3-128 letters, digits, '-' and '_', beginning with a letter or digit.
func ValidateIdentityName(name string) error {
	if !identityNameRE.MatchString(name) {
		return Errorf(EINVALID, "The resource name '%s' is invalid. A user-assigned identity's name must be 3-128 characters of letters, digits, '-' and '_', and start with a letter or digit.", name)
	}
	return nil
}

var identityNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$`)

// Identity types of a site's identity property (ManagedServiceIdentityType).
const (
	IdentityNone                       = "None"
	IdentitySystemAssigned             = "SystemAssigned"
	IdentityUserAssigned               = "UserAssigned"
	IdentitySystemAssignedUserAssigned = "SystemAssigned, UserAssigned"
)
