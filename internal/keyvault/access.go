package keyvault

import (
	"context"
	"time"

	"github.com/slipway-dev/slipway"
)

// Principal is a verified caller of the data plane: the oid, tid and appid
// of its token, or the managed identity a site resolves its Key Vault
// references as.
type Principal struct {
	ObjectID string
	TenantID string
	AppID    string
}

// Access decides whether a principal may perform an operation on a vault,
// by the vault's authorization model: a role assignment granting
// op.DataAction at the vault's scope or above (vaults with
// EnableRBACAuthorization), or an access policy granting op.Permission.
// The data plane (after it has verified the token) and the resolution of
// Key Vault references in app settings both ask it, so that the two decide
// alike (https://learn.microsoft.com/azure/key-vault/general/security-features#privileged-access).
type Access struct {
	// Subscription is the platform's subscription id: the vault's scope
	// and Key Vault's RBAC message name it.
	Subscription string
	// Roles reports whether the principal holds dataAction at scope
	// through a role assignment (rbac.Authorizer.Check with data=true): nil
	// to allow, an error slipway.ErrorCode classifies as EFORBIDDEN to
	// refuse; any other error is a failure to decide.
	Roles func(ctx context.Context, objectID, dataAction, scope string) error
}

// Scope is the ARM id of the vault, the scope role assignments are checked at.
func (a Access) Scope(v slipway.Vault) string {
	return "/subscriptions/" + a.Subscription + "/resourceGroups/" + v.ResourceGroup + "/providers/Microsoft.KeyVault/vaults/" + v.Name
}

// Allow returns nil when p may perform op on v; the 403 of Key Vault
// ([ForbiddenByRBAC] or [ForbiddenByPolicy]) when it may not; any other
// error when the roles could not be read.
func (a Access) Allow(ctx context.Context, v slipway.Vault, p Principal, op Operation) error {
	if v.EnableRBACAuthorization {
		if a.Roles == nil {
			return ForbiddenByRBAC(v, op, a.Subscription, p.ObjectID)
		}
		err := a.Roles(ctx, p.ObjectID, op.DataAction, a.Scope(v))
		switch {
		case err == nil:
			return nil
		case slipway.ErrorCode(err) == slipway.EFORBIDDEN:
			return ForbiddenByRBAC(v, op, a.Subscription, p.ObjectID)
		default:
			return err
		}
	}
	if !AccessPolicyAllows(v, p.TenantID, p.ObjectID, p.AppID, op.Permission) {
		return ForbiddenByPolicy(v, op, p.ObjectID)
	}
	return nil
}

// Usable refuses, as the data plane does, a secret version that is
// disabled, expired or not yet valid at now
// (https://learn.microsoft.com/azure/key-vault/secrets/about-secrets#secret-attributes).
func Usable(s slipway.Secret, now func() time.Time) error {
	t := now()
	switch {
	case !s.Enabled:
		return Forbidden("Operation get is not allowed on a disabled secret.", "SecretDisabled")
	case !s.Expires.IsZero() && t.After(s.Expires):
		return Forbidden("Operation get is not allowed on an expired secret.", "SecretExpired")
	case !s.NotBefore.IsZero() && t.Before(s.NotBefore):
		return Forbidden("Operation get is not allowed on a secret that is not yet valid.", "SecretNotYetValid")
	}
	return nil
}
