package identity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/slipway-dev/slipway"
)

// Values the service hands out and reads back — refresh tokens, the SSO
// session cookie, a sign-in flow's state — are JSON sealed with the
// store's master key (AES-256-GCM), each kind under its own associated
// data so that one can never be read as another. They are opaque to
// clients and cannot be forged or altered without the key.
const (
	aadRefresh = "slipway identity refresh token v1"
	aadSession = "slipway identity sso session v1"
	aadFlow    = "slipway identity sign-in flow v1"
)

// maxSealedBytes bounds a sealed value the service will try to open.
const maxSealedBytes = 8 << 10

func (s *Service) seal(v any, aad string) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encoding sealed value: %w", err)
	}
	sealed, err := s.cfg.Store.SealBytes(b, aad)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// unseal opens a sealed value into v; false if it is not one this service
// sealed under aad.
func (s *Service) unseal(raw, aad string, v any) bool {
	if raw == "" || len(raw) > maxSealedBytes {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return false
	}
	plain, err := s.cfg.Store.OpenBytes(b, aad)
	if err != nil {
		return false
	}
	return json.Unmarshal(plain, v) == nil
}

// refreshToken is a refresh token's content.
type refreshToken struct {
	OID      string `json:"oid"`
	ClientID string `json:"cid"`
	Scope    string `json:"scp"`
	Public   bool   `json:"pub"`
	Family   string `json:"fam"`
	Password int64  `json:"pwd"` // the user's PasswordChanged, UnixNano
	AuthTime int64  `json:"at"`
	Expires  int64  `json:"exp"`
}

func (s *Service) sealRefresh(_ context.Context, g grant) (string, error) {
	return s.seal(refreshToken{OID: g.User.ObjectID, ClientID: g.ClientID, Scope: g.Scope, Public: g.Public, Family: g.Family,
		Password: g.User.PasswordChanged.UnixNano(), AuthTime: g.AuthTime.Unix(), Expires: s.cfg.Now().Add(refreshLifetime).Unix()}, aadRefresh)
}

// currentUser returns the grant's user if they still exist, are enabled
// and have not changed their password since passwordChanged (UnixNano).
func (s *Service) currentUser(ctx context.Context, oid string, passwordChanged int64) (userOK bool, err error) {
	u, err := s.cfg.Store.UserByObjectID(ctx, oid)
	switch {
	case slipway.ErrorCode(err) == slipway.ENOTFOUND:
		return false, newAADError(http.StatusBadRequest, "invalid_grant", aadstsUserNotFound, "The user account does not exist in the directory any more. Sign in again with another account.")
	case err != nil:
		return false, err
	case !u.AccountEnabled:
		return false, newAADError(http.StatusBadRequest, "invalid_grant", aadstsAccountDisabled, "The user account is disabled.")
	case u.PasswordChanged.UnixNano() != passwordChanged:
		return false, newAADError(http.StatusBadRequest, "invalid_grant", aadstsPasswordChanged, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.")
	}
	return true, nil
}

// session is the SSO session cookie's content.
type session struct {
	OID      string `json:"oid"`
	Password int64  `json:"pwd"`
	AuthTime int64  `json:"at"`
	Expires  int64  `json:"exp"`
}

// sessionLifetime bounds an SSO session.
const sessionLifetime = 12 * time.Hour

// The login host's cookies carry the __Host- prefix: browsers take such
// a cookie only from the host itself, over HTTPS, with Path=/ and no
// Domain. The apps are served beside the login host under the same
// domain, which is no public suffix, so without it any app could plant
// its own SSO session or flow cookie on the login host (cookie tossing)
// and sign its visitors in as someone else
// (RFC 6265bis, "Cookie Name Prefixes").
const (
	sessionCookie = "__Host-slipway_sso"
	flowCookie    = "__Host-slipway_flow"
)
