package server

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/arm"
	"github.com/slipway-dev/slipway/internal/diskreserve"
	"github.com/slipway-dev/slipway/internal/graph"
	"github.com/slipway-dev/slipway/internal/identity"
	"github.com/slipway-dev/slipway/internal/insights"
	"github.com/slipway-dev/slipway/internal/keyvault"
	"github.com/slipway-dev/slipway/internal/kvref"
	"github.com/slipway-dev/slipway/internal/pgflex"
	"github.com/slipway-dev/slipway/internal/rbac"
	"github.com/slipway-dev/slipway/internal/scm"
	"github.com/slipway-dev/slipway/internal/store"
)

// platformIdentity is the identity platform as the server wires it: the
// token service at login.<domain> (login.microsoftonline.com inside
// sandboxes), the directory (a Microsoft Graph subset) at graph.<domain>,
// role-based authorization of management and data calls, and
// the Key Vault data plane at <vault>.vault.<domain> (<vault>.vault.azure.net
// inside sandboxes). The admin token of server.json is accepted everywhere
// beside tokens, for the local CLI (docs/arm.md §2).
type platformIdentity struct {
	st            *store.Store
	svc           *identity.Service
	authz         *rbac.Authorizer
	vaults        *keyvault.Handler
	vaultAccess   keyvault.Access // shared by the data plane and Key Vault references
	directory     *graph.Handler
	sub           string
	domain        string
	adminToken    string
	infoFile      string
	authority     string   // https://login.<domain><suffix>
	managementURL string   // https://management.<domain><suffix>/
	graphURL      string   // https://graph.<domain><suffix>/ (microsoftGraphResourceId)
	mgmtAudiences []string // what a management token's aud may be
	log           *slog.Logger
}

// Token audiences of Azure's public cloud that SDKs inside apps ask for
// (DefaultAzureCredential with Azure's scopes), beside the platform's own.
var (
	azureManagementAudiences = []string{"https://management.core.windows.net/", "https://management.azure.com/"}
	azureVaultAudience       = "https://vault.azure.net"
	azureStorageAudience     = "https://storage.azure.com/"
)

func newPlatformIdentity(ctx context.Context, st *store.Store, sub, tenant, domain, hostSuffix, adminToken, dataDir string, reserve *diskreserve.Guard, log *slog.Logger) (*platformIdentity, error) {
	p := &platformIdentity{st: st, sub: sub, domain: strings.ToLower(domain), adminToken: adminToken, log: log,
		infoFile:      filepath.Join(dataDir, InfoFile),
		authority:     "https://login." + domain + hostSuffix,
		managementURL: "https://management." + domain + hostSuffix + "/",
		graphURL:      "https://graph." + domain + hostSuffix + "/"}
	p.mgmtAudiences = append([]string{p.managementURL}, azureManagementAudiences...)
	resources := append(append([]string{}, p.mgmtAudiences...),
		azureVaultAudience, "https://vault."+domain+hostSuffix, azureStorageAudience, p.graphURL,
		insights.QueryAudience, insights.IngestAudience, pgflex.EntraAudience)
	var err error
	p.svc, err = identity.New(ctx, identity.Config{Store: st, TenantID: tenant, Resources: resources,
		AuthorityHosts: []string{"login." + domain + hostSuffix, "login.microsoftonline.com"}, Logger: log})
	if err != nil {
		return nil, err
	}
	p.authz = rbac.New(rbac.Config{Store: st, PrincipalExists: func(ctx context.Context, oid string) (bool, error) {
		_, err := st.PrincipalByObjectID(ctx, oid)
		if slipway.ErrorCode(err) == slipway.ENOTFOUND {
			return false, nil
		}
		return err == nil, err
	}})
	p.vaultAccess = keyvault.Access{Subscription: sub, Roles: func(ctx context.Context, oid, action, scope string) error {
		return p.authz.Check(ctx, oid, action, scope, true)
	}}
	p.vaults, err = keyvault.New(keyvault.Config{Store: st, Sealer: st, Authorize: p.authorizeVault, Authority: p.authority, Reserve: reserve, Logger: log})
	if err != nil {
		return nil, err
	}
	p.directory, err = graph.New(graph.Config{Store: st, Tokens: p.svc, TenantID: p.svc.TenantID(), BaseURL: p.graphURL,
		AdminToken: adminToken, MayWrite: p.mayChangeDirectory, Logger: log})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// directoryRoles may change the directory: Owner and User Access
// Administrator, who can assign themselves any role, so creating service
// principals grants them nothing new.
var directoryRoles = []string{"Owner", "User Access Administrator"}

// mayChangeDirectory reports whether the principal holds Owner or User
// Access Administrator at the subscription (or above it).
func (p *platformIdentity) mayChangeDirectory(ctx context.Context, objectID string) (bool, error) {
	list, err := p.authz.Assignments(ctx)
	if err != nil {
		return false, err
	}
	sub := "/subscriptions/" + p.sub
	for _, a := range list {
		if !strings.EqualFold(a.PrincipalID, objectID) || !rbac.ScopeContains(a.Scope, sub) {
			continue
		}
		if role := rbac.RoleByID(a.RoleDefinitionID); role != nil && slices.Contains(directoryRoles, role.RoleName) {
			return true, nil
		}
	}
	return false, nil
}

// isAdmin reports whether a bearer token is the server's admin token.
func (p *platformIdentity) isAdmin(tok string) bool {
	return subtle.ConstantTimeCompare([]byte(tok), []byte(p.adminToken)) == 1
}

// authorizeARM authenticates a management call (the admin token or a
// token of the token service for the management API) and authorizes it by
// the caller's roles with authorize (Azure's AuthorizationFailed
// otherwise).
func (p *platformIdentity) authorizeARM(r *http.Request, authorize func(principalObjectID string, r *http.Request) error) error {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return slipway.Errorf(slipway.EUNAUTHORIZED, "Authentication failed. The 'Authorization' header is missing. Sign in with az login, or send the admin token from %s as a Bearer token.", p.infoFile)
	}
	if p.isAdmin(tok) {
		return nil
	}
	claims, err := p.svc.Verify(r.Context(), tok, p.mgmtAudiences)
	if err != nil {
		return slipway.Errorf(slipway.EUNAUTHORIZED, "Authentication failed. The access token is not valid for %s: %v", p.managementURL, err)
	}
	return authorize(claims.ObjectID, r)
}

// callerObjectID names the principal of a verified management token
// ("" for the admin token).
func (p *platformIdentity) callerObjectID(r *http.Request) string {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || p.isAdmin(tok) {
		return ""
	}
	claims, err := p.svc.Verify(r.Context(), tok, p.mgmtAudiences)
	if err != nil {
		return ""
	}
	return claims.ObjectID
}

// authorizeVault authorizes a Key Vault data-plane call: the admin token,
// or a token for the vault's audience whose principal holds the data
// action (RBAC vaults) or the permission in an access policy.
func (p *platformIdentity) authorizeVault(r *http.Request, v slipway.Vault, op keyvault.Operation) error {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if p.isAdmin(tok) {
		return nil
	}
	claims, err := p.svc.Verify(r.Context(), tok, []string{azureVaultAudience, keyvault.ResourceForHost(r.Host)})
	if err != nil {
		return keyvault.Unauthorized("AKV10000: Request is missing a Bearer or PoP token, or the token is not valid for this vault.")
	}
	return p.vaultAccess.Allow(r.Context(), v, keyvault.Principal{ObjectID: claims.ObjectID, TenantID: claims.TenantID, AppID: claims.AppID}, op)
}

// vaultHost serves <vault>.vault.<domain> and <vault>.vault.azure.net.
func (p *platformIdentity) vaultHost() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := keyvault.VaultFromHost(r.Host, "vault."+p.domain, "vault.azure.net")
		var v slipway.Vault
		var err error
		if ok {
			v, err = p.st.FindVault(r.Context(), name)
		}
		if !ok || err != nil {
			if err != nil && slipway.ErrorCode(err) != slipway.ENOTFOUND {
				p.log.Error("looking up a key vault", "vault", name, "err", err)
			}
			http.Error(w, "No key vault answers to the host name "+r.Host+" on this Slipway server.", http.StatusNotFound)
			return
		}
		p.vaults.ServeVault(w, r, v)
	})
}

// run keeps the identity platform's housekeeping going until ctx ends:
// signing key rotation and the purge of soft-deleted vault objects past
// their retention.
func (p *platformIdentity) run(ctx context.Context) {
	go p.svc.RunRotation(ctx, 30*24*time.Hour)
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if v, s, err := p.st.PurgeExpiredVaultObjects(ctx); err != nil && ctx.Err() == nil {
			p.log.Warn("purging expired key vault objects", "err", err)
		} else if v+s > 0 {
			p.log.Info("purged key vault objects past their retention", "vaults", v, "secrets", s)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// referenceIdentities is the identity the Key Vault references of a site
// resolve as (kvref.Identities).
func (p *platformIdentity) referenceIdentities() kvref.Identities {
	return siteReferenceIdentity{p}
}

// siteReferenceIdentity resolves a site's Key Vault references as the
// identity its keyVaultReferenceIdentity names: by default its
// system-assigned identity, else a user-assigned identity, which the site
// must have (https://learn.microsoft.com/azure/app-service/app-service-key-vault-references#access-vaults-with-a-user-assigned-identity).
// Without the identity, references report MSINotEnabled.
type siteReferenceIdentity struct{ p *platformIdentity }

var _ kvref.Identities = siteReferenceIdentity{}

func (s siteReferenceIdentity) ReferenceIdentity(ctx context.Context, site slipway.Site) (kvref.Identity, error) {
	if site.KeyVaultReferenceIdentity != "" {
		uas, err := s.p.st.SiteUserAssignedIdentities(ctx, site.Name)
		if err != nil {
			return kvref.Identity{}, err
		}
		for _, u := range uas {
			if id := arm.IdentityResourceID(s.p.sub, u); strings.EqualFold(id, site.KeyVaultReferenceIdentity) {
				return kvref.Identity{Type: "UserAssigned", ClientID: u.ClientID, ResourceID: id,
					Principal: keyvault.Principal{ObjectID: u.PrincipalID, TenantID: s.p.svc.TenantID(), AppID: u.ClientID}}, nil
			}
		}
		return kvref.Identity{}, kvref.ErrNoIdentity
	}
	ps, err := s.p.st.PrincipalsByResource(ctx, arm.SiteResourceID(s.p.sub, site.ResourceGroup, site.Name))
	if err != nil {
		return kvref.Identity{}, err
	}
	for _, pr := range ps {
		if pr.Kind == store.SystemAssignedIdentity {
			return kvref.Identity{Type: "SystemAssigned", ClientID: pr.AppID,
				Principal: keyvault.Principal{ObjectID: pr.ObjectID, TenantID: s.p.svc.TenantID(), AppID: pr.AppID}}, nil
		}
	}
	return kvref.Identity{}, kvref.ErrNoIdentity
}

// postgresDirectory lets the PostgreSQL servers' proxy take Microsoft
// Entra sign-ins: tokens of this platform for the open-source databases'
// audience (an app's managed identity's, or a service principal's by
// client credentials), and the principals of a name (service principals
// and managed identities by display name; a system-assigned identity's
// is its app's name).
func (p *platformIdentity) postgresDirectory() pgflex.Directory {
	return pgflex.Directory{
		Verify: func(ctx context.Context, token string, audiences []string) (pgflex.TokenClaims, error) {
			c, err := p.svc.Verify(ctx, token, audiences)
			if err != nil {
				return pgflex.TokenClaims{}, err
			}
			return pgflex.TokenClaims{ObjectID: c.ObjectID, AppID: c.AppID, TenantID: c.TenantID}, nil
		},
		PrincipalsNamed: func(ctx context.Context, name string, madeBy time.Time) ([]string, error) {
			all, err := p.st.Principals(ctx)
			if err != nil {
				return nil, err
			}
			var ids []string
			for _, pr := range all {
				if pr.DisplayName == name && !pr.Created.After(madeBy) {
					ids = append(ids, pr.ObjectID)
				}
			}
			return ids, nil
		},
	}
}

// deploymentUsers lets Kudu accept a principal's deployment user (az
// webapp deployment user set) for the apps its roles let it deploy to.
func (p *platformIdentity) deploymentUsers() scm.DeploymentUsers {
	return kuduDeploymentUsers{p}
}

type kuduDeploymentUsers struct{ p *platformIdentity }

// kuduTokens lets Kudu take a principal's token for the management
// audience (the platform's and Azure's names of it), as App Service's
// Kudu takes ARM tokens; scm checks the principal's right to deploy.
func (p *platformIdentity) kuduTokens() scm.Tokens {
	return kuduTokens{p}
}

type kuduTokens struct{ p *platformIdentity }

var _ scm.Tokens = kuduTokens{}

func (k kuduTokens) ManagementPrincipal(ctx context.Context, token string) (string, error) {
	c, err := k.p.svc.Verify(ctx, token, k.p.mgmtAudiences)
	if err != nil {
		return "", err
	}
	return c.ObjectID, nil
}

var _ scm.DeploymentUsers = kuduDeploymentUsers{}

func (k kuduDeploymentUsers) CheckPublishingUser(ctx context.Context, name, password string) (string, error) {
	return k.p.st.CheckPublishingUser(ctx, name, password)
}

func (k kuduDeploymentUsers) MayPublish(ctx context.Context, principalID string, s slipway.Site) error {
	return k.p.authz.MayPublish(ctx, principalID, k.p.sub, s)
}
