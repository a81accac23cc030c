package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/slipway-dev/slipway/internal/blob"
	"github.com/slipway-dev/slipway/internal/identity"
	"github.com/slipway-dev/slipway/internal/rbac"
)

// blobBearer lets the blob service accept Entra ID tokens: the token
// service verifies them, role assignments authorize them.
type blobBearer struct {
	id     *identity.Service
	authz  *rbac.Authorizer
	domain string
}

var _ blob.BearerAuth = (*blobBearer)(nil)

// newBlobBearer returns the blob service's BearerAuth over the token
// service and the role assignments. domain is the platform's domain: a
// token for https://<account>.blob.<domain> is accepted at that account.
func newBlobBearer(id *identity.Service, authz *rbac.Authorizer, domain string) blob.BearerAuth {
	return &blobBearer{id: id, authz: authz, domain: domain}
}

// blobAudiences are the audiences a token for the account may carry, as
// Azure Storage accepts them: the storage resource (what azure-identity,
// azidentity and az ask for, as the scope https://storage.azure.com/.default)
// and the account's own endpoint (Azure's name, and Slipway's).
func (b *blobBearer) blobAudiences(account string) []string {
	aud := []string{blob.StorageResource, "https://" + account + ".blob.core.windows.net"}
	if b.domain != "" {
		aud = append(aud, "https://"+account+".blob."+b.domain)
	}
	return aud
}

func (b *blobBearer) Authenticate(ctx context.Context, account, token string) (string, string, error) {
	c, err := b.id.Verify(ctx, token, b.blobAudiences(account))
	if err != nil {
		return "", "", err
	}
	return c.ObjectID, c.TenantID, nil
}

func (b *blobBearer) Authorize(ctx context.Context, oid, action, scope string, data bool) error {
	err := b.authz.Check(ctx, oid, action, scope, data)
	var denied *rbac.AuthorizationFailed
	if errors.As(err, &denied) {
		return fmt.Errorf("%w: %w", blob.ErrNotAuthorized, err)
	}
	return err
}

// AuthorizationURI names Azure's authority, as Azure Storage's challenges
// do: inside app sandboxes login.microsoftonline.com is this platform's
// token service, and clients read only the tenant from it.
func (b *blobBearer) AuthorizationURI() string {
	return "https://login.microsoftonline.com/" + strings.ToLower(b.id.TenantID()) + "/oauth2/authorize"
}
