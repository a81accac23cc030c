package store

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/slipway-dev/slipway"
)

// Deployment users: App Service's user-level deployment credentials, one
// per principal (slipway.ValidateDeploymentUser has the rules).

// deploymentPasswordIterations is the PBKDF2 work per check. Unlike client
// secrets (secretHash), these passwords are chosen by people and may be
// guessable, so the hash is slow as well as keyed: a stolen database with
// its master key still costs an attacker this much per guess. A Kudu
// request with user-level credentials pays it once (~20 ms).
const deploymentPasswordIterations = 100_000

// deploymentPasswordHash is secretHash (keyed by the master key) over
// PBKDF2-SHA-256(password, salt).
func (s *Store) deploymentPasswordHash(salt []byte, password string) ([]byte, error) {
	dk, err := pbkdf2.Key(sha256.New, password, salt, deploymentPasswordIterations, 32)
	if err != nil {
		return nil, fmt.Errorf("hashing deployment password: %w", err)
	}
	return s.secretHash(salt, string(dk)), nil
}

// PublishingUser returns the deployment user name of the principal, or ""
// when it never set one.
func (s *Store) PublishingUser(ctx context.Context, principalID string) (string, error) {
	var name string
	err := s.read.QueryRowContext(ctx, `SELECT user_name FROM publishing_users WHERE principal_id = ?`, strings.ToLower(principalID)).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("reading deployment user: %w", err)
	}
	return name, nil
}

// SetPublishingUser sets the principal's deployment user name and
// password (validated; the password kept only as a salted, keyed, slow
// hash). A name another principal holds is ECONFLICT; an unknown principal
// ENOTFOUND.
func (s *Store) SetPublishingUser(ctx context.Context, principalID, name, password string) error {
	if err := slipway.ValidateDeploymentUser(name, password); err != nil {
		return err
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return fmt.Errorf("generating salt: %w", err)
	}
	hash, err := s.deploymentPasswordHash(salt, password)
	if err != nil {
		return err
	}
	oid := strings.ToLower(principalID)
	taken := slipway.Errorf(slipway.ECONFLICT, "The deployment user name '%s' is already in use. Choose another: user names are unique across the platform.", name)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var holder string
		err := tx.QueryRowContext(ctx, `SELECT principal_id FROM publishing_users WHERE user_name = ?`, name).Scan(&holder)
		switch {
		case err == nil && holder != oid:
			return taken
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("reading deployment users: %w", err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM principals WHERE object_id = ?`, oid).Scan(&n); err != nil {
			return fmt.Errorf("reading principal: %w", err)
		} else if n == 0 {
			return errPrincipalNotFound(principalID)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO publishing_users (principal_id, user_name, salt, hash, modified) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (principal_id) DO UPDATE SET user_name = excluded.user_name, salt = excluded.salt, hash = excluded.hash, modified = excluded.modified`,
			oid, name, salt, hash, toUnix(s.now()))
		if isUniqueViolation(err) {
			return taken
		} else if err != nil {
			return fmt.Errorf("storing deployment user: %w", err)
		}
		return nil
	})
}

// dummySalt is hashed against when no user has the name, so that an
// unknown name takes as long as a wrong password.
var dummySalt = make([]byte, 16)

// CheckPublishingUser returns the principal whose deployment user name
// (case-insensitive) and password these are; anything else is
// EUNAUTHORIZED, in the same time whether or not the name exists.
func (s *Store) CheckPublishingUser(ctx context.Context, name, password string) (principalID string, err error) {
	denied := slipway.Errorf(slipway.EUNAUTHORIZED, "The deployment credentials are not valid.")
	var salt, want []byte
	err = s.read.QueryRowContext(ctx, `SELECT principal_id, salt, hash FROM publishing_users WHERE user_name = ?`, name).Scan(&principalID, &salt, &want)
	found := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("reading deployment users: %w", err)
	}
	if !found {
		salt, want = dummySalt, nil
	}
	got, err := s.deploymentPasswordHash(salt, password)
	if err != nil {
		return "", err
	}
	if subtle.ConstantTimeCompare(got, want) != 1 || !found {
		return "", denied
	}
	return principalID, nil
}
