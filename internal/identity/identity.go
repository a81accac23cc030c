// Package identity is Slipway's token service: the login.<domain> endpoint
// (login.microsoftonline.com inside app sandboxes) that MSAL, azure-identity,
// azidentity and the az CLI sign in against, and App Service's managed-
// identity endpoint that apps reach through IDENTITY_ENDPOINT and
// IDENTITY_HEADER (docs/arm.md §1.2, §2.2; docs/appservice.md §8).
//
// It owns the issuing and verification of access tokens — RS256 JWTs with the
// claims of Azure AD v1 access tokens for applications — and the signing keys
// behind them (RSA-2048, rotated; old keys verify until every token they
// signed has expired). Principals (service principals with client secrets,
// system- and user-assigned managed identities) and keys are kept by the
// store (internal/store/identity.go); this package declares the small Store
// interface it needs.
//
// Tokens carry iss https://sts.windows.net/<tenant>/ as Azure's v1 tokens
// do: no client that obtains a token reads it (MSAL and az treat access
// tokens as opaque; az reads only tid after `az login --identity`), and apps
// that validate tokens themselves expect Azure's v1 issuer. The tenant is
// Slipway's own random GUID, and Verify trusts only this service's keys, so
// the name grants nothing.
package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/store"
)

// Principal is an identity tokens are issued for (a service principal or a
// managed identity).
type Principal = store.Principal

// Store keeps principals, their secrets and the signing keys. *store.Store
// implements it.
type Store interface {
	CreatePrincipal(ctx context.Context, p store.Principal) (store.Principal, error)
	PrincipalByAppID(ctx context.Context, appID string) (store.Principal, error)
	PrincipalsByResource(ctx context.Context, resourceID string) ([]store.Principal, error)
	AddPrincipalSecret(ctx context.Context, objectID, secret, displayName string, start, end time.Time, replace bool) (store.PrincipalSecret, error)
	CheckPrincipalSecret(ctx context.Context, appID, secret string, at time.Time) (store.Principal, error)
	SigningKeys(ctx context.Context) ([]store.SigningKey, error)
	AddSigningKey(ctx context.Context, k store.SigningKey) error
	DeleteSigningKeysRetiredBefore(ctx context.Context, t time.Time) (int, error)

	// Signing users in (signin.go).
	ApplicationByAppID(ctx context.Context, appID string) (store.Application, error)
	Applications(ctx context.Context) ([]store.Application, error)
	CheckApplicationSecret(ctx context.Context, appID, secret string, at time.Time) (store.Application, error)
	UserByObjectID(ctx context.Context, objectID string) (store.User, error)
	CheckUserPassword(ctx context.Context, upn, password string) (store.User, error)
	SealBytes(plain []byte, aad string) ([]byte, error)
	OpenBytes(sealed []byte, aad string) ([]byte, error)
}

var _ Store = (*store.Store)(nil)

// Config configures a Service.
type Config struct {
	Store Store
	// TenantID is the installation's tenant GUID (store.Identity).
	TenantID string
	// Resources are the audiences tokens may be requested for, e.g.
	// "https://management.core.windows.net/", "https://management.azure.com/",
	// "https://management.<domain>/", "https://vault.azure.net",
	// "https://storage.azure.com/". A request matches one with or without
	// its trailing slash; any other is refused (AADSTS500011).
	Resources []string
	// AuthorityHosts are the host[:port] names this service is reached at
	// besides the request's own Host (e.g. "login.localhost:8443"), for which
	// instance discovery answers.
	AuthorityHosts []string
	// TokenLifetime is the default lifetime of a token; default one hour
	// (expires_in 3599, as Azure AD answers).
	TokenLifetime time.Duration
	// MaxTokenLifetime caps any token's lifetime, and is how long a retired
	// key keeps verifying; default 24 hours.
	MaxTokenLifetime time.Duration
	// Leeway is the clock skew Verify allows on exp, nbf and iat; default
	// one minute.
	Leeway time.Duration
	// MaxConcurrentTokenRequests bounds the token endpoint's work in flight;
	// requests beyond it get 429 with Retry-After. Default 64.
	MaxConcurrentTokenRequests int
	// LockoutThreshold is how many failed sign-ins lock a user name out
	// for LockoutDuration (Entra ID's smart lockout: 10 and one minute);
	// a client address is locked after five times as many.
	LockoutThreshold int
	LockoutDuration  time.Duration
	Logger           *slog.Logger
	Now              func() time.Time
}

// Service issues and verifies tokens and serves the login and managed-
// identity endpoints. It is safe for concurrent use.
type Service struct {
	cfg    Config
	issuer string
	ring   atomic.Pointer[keyring]
	slots  chan struct{} // token requests in flight

	codes     *codeStore
	throttle  *throttle
	passwords chan struct{} // password checks in flight (argon2id costs 19 MiB each)
}

// New returns a Service over cfg.Store, creating the first signing key if
// there is none.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("identity: a store is required")
	}
	if !isGUID(cfg.TenantID) {
		return nil, fmt.Errorf("identity: tenant id %q is not a GUID", cfg.TenantID)
	}
	cfg.TenantID = strings.ToLower(cfg.TenantID)
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = time.Hour
	}
	if cfg.MaxTokenLifetime <= 0 {
		cfg.MaxTokenLifetime = 24 * time.Hour
	}
	if cfg.TokenLifetime > cfg.MaxTokenLifetime {
		cfg.TokenLifetime = cfg.MaxTokenLifetime
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = time.Minute
	}
	if cfg.MaxConcurrentTokenRequests <= 0 {
		cfg.MaxConcurrentTokenRequests = 64
	}
	if cfg.LockoutThreshold <= 0 {
		cfg.LockoutThreshold = 10
	}
	if cfg.LockoutDuration <= 0 {
		cfg.LockoutDuration = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{
		cfg:       cfg,
		issuer:    "https://sts.windows.net/" + cfg.TenantID + "/",
		slots:     make(chan struct{}, cfg.MaxConcurrentTokenRequests),
		codes:     newCodeStore(),
		throttle:  newThrottle(cfg.LockoutThreshold, cfg.LockoutDuration),
		passwords: make(chan struct{}, 4),
	}
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	if s.ring.Load().current == nil {
		if err := s.Rotate(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// TenantID returns the tenant the service issues tokens for.
func (s *Service) TenantID() string { return s.cfg.TenantID }

// Issuer returns the iss of every token the service issues.
func (s *Service) Issuer() string { return s.issuer }

// ServicePrincipalCredentials is what `az ad sp create-for-rbac` prints:
// the app id, display name, the generated password and the tenant.
type ServicePrincipalCredentials struct {
	AppID       string `json:"appId"`
	DisplayName string `json:"displayName"`
	Password    string `json:"password"`
	Tenant      string `json:"tenant"`
}

// DefaultSecretValidity is how long a generated client secret is valid:
// one year, create-for-rbac's default.
const DefaultSecretValidity = 365 * 24 * time.Hour

// CreateServicePrincipal creates a service principal with a new client
// secret valid for validFor (DefaultSecretValidity when zero). The secret is
// returned once and kept only as a hash.
func (s *Service) CreateServicePrincipal(ctx context.Context, displayName string, validFor time.Duration) (ServicePrincipalCredentials, error) {
	if strings.TrimSpace(displayName) == "" {
		return ServicePrincipalCredentials{}, slipway.Errorf(slipway.EINVALID, "A service principal needs a display name.")
	}
	p, err := s.cfg.Store.CreatePrincipal(ctx, store.Principal{Kind: store.ServicePrincipal, DisplayName: displayName})
	if err != nil {
		return ServicePrincipalCredentials{}, err
	}
	return s.addSecret(ctx, p, validFor, false)
}

// ResetCredential gives the service principal with the app id a new client
// secret; with appendSecret the old ones stay valid (`az ad sp credential
// reset --append`), without it they are deleted.
func (s *Service) ResetCredential(ctx context.Context, appID string, appendSecret bool, validFor time.Duration) (ServicePrincipalCredentials, error) {
	p, err := s.cfg.Store.PrincipalByAppID(ctx, appID)
	if err != nil {
		return ServicePrincipalCredentials{}, err
	}
	return s.addSecret(ctx, p, validFor, !appendSecret)
}

func (s *Service) addSecret(ctx context.Context, p Principal, validFor time.Duration, replace bool) (ServicePrincipalCredentials, error) {
	if validFor <= 0 {
		validFor = DefaultSecretValidity
	}
	secret, err := NewClientSecret()
	if err != nil {
		return ServicePrincipalCredentials{}, err
	}
	now := s.cfg.Now().UTC()
	if _, err := s.cfg.Store.AddPrincipalSecret(ctx, p.ObjectID, secret, "rbac", now, now.Add(validFor), replace); err != nil {
		return ServicePrincipalCredentials{}, err
	}
	return ServicePrincipalCredentials{AppID: p.AppID, DisplayName: p.DisplayName, Password: secret, Tenant: s.cfg.TenantID}, nil
}

// EnsureSystemAssignedIdentity returns the system-assigned identity of the
// resource (a site's ARM id), creating it on first use.
func (s *Service) EnsureSystemAssignedIdentity(ctx context.Context, resourceID, displayName string) (Principal, error) {
	ps, err := s.cfg.Store.PrincipalsByResource(ctx, resourceID)
	if err != nil {
		return Principal{}, err
	}
	for _, p := range ps {
		if p.Kind == store.SystemAssignedIdentity {
			return p, nil
		}
	}
	return s.cfg.Store.CreatePrincipal(ctx, store.Principal{Kind: store.SystemAssignedIdentity, DisplayName: displayName, ResourceID: resourceID})
}

// isGUID reports whether s is a GUID in 8-4-4-4-12 hex form.
func isGUID(s string) bool {
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
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
