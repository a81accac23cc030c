package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
)

// Application is a Microsoft Graph application (an app registration): the
// directory object a service principal is created from, sharing its AppID.
// Passwords added to it sign its service principal in.
type Application struct {
	ObjectID    string
	AppID       string
	DisplayName string
	Created     time.Time
	SignIn
}

// SignIn is what an application registers to sign users in: Graph's
// web.redirectUris and web.implicitGrantSettings, publicClient.redirectUris
// and identifierUris.
type SignIn struct {
	WebRedirectURIs           []string
	PublicClientRedirectURIs  []string
	IdentifierURIs            []string
	EnableIDTokenIssuance     bool
	EnableAccessTokenIssuance bool
}

func errApplicationNotFound(id string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "Application '%s' does not exist in the directory.", id)
}

const applicationSelect = `SELECT object_id, app_id, display_name, created, web_redirect_uris, public_client_redirect_uris,
	identifier_uris, enable_id_token_issuance, enable_access_token_issuance FROM applications`

func scanApplication(r rowScanner) (Application, error) {
	var a Application
	var created int64
	var web, public, ids string
	if err := r.Scan(&a.ObjectID, &a.AppID, &a.DisplayName, &created, &web, &public, &ids,
		&a.EnableIDTokenIssuance, &a.EnableAccessTokenIssuance); err != nil {
		return Application{}, err
	}
	a.Created = fromUnix(created)
	for _, l := range []struct {
		raw string
		to  *[]string
	}{{web, &a.WebRedirectURIs}, {public, &a.PublicClientRedirectURIs}, {ids, &a.IdentifierURIs}} {
		if err := json.Unmarshal([]byte(l.raw), l.to); err != nil {
			return Application{}, fmt.Errorf("decoding application %s's URIs: %w", a.ObjectID, err)
		}
	}
	return a, nil
}

// CreateApplication stores a new application, generating its object and
// app ids when they are empty. An app id already used by an application
// or a principal is ECONFLICT.
func (s *Store) CreateApplication(ctx context.Context, a Application) (Application, error) {
	if strings.TrimSpace(a.DisplayName) == "" {
		return Application{}, slipway.Errorf(slipway.EINVALID, "An application needs a display name.")
	}
	for _, id := range []*string{&a.ObjectID, &a.AppID} {
		if *id == "" {
			g, err := newGUID()
			if err != nil {
				return Application{}, err
			}
			*id = g
		}
		*id = strings.ToLower(*id)
	}
	if err := a.SignIn.ValidateFor(a.AppID); err != nil {
		return Application{}, err
	}
	if a.Created.IsZero() {
		a.Created = s.now().UTC()
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM principals WHERE app_id = ? AND kind <> ?`, a.AppID, string(ServicePrincipal)).Scan(&n); err != nil {
			return fmt.Errorf("checking app id: %w", err)
		}
		if n > 0 {
			return slipway.Errorf(slipway.ECONFLICT, "The app id '%s' belongs to a managed identity.", a.AppID)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO applications (object_id, app_id, display_name, created, web_redirect_uris,
			public_client_redirect_uris, identifier_uris, enable_id_token_issuance, enable_access_token_issuance)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ObjectID, a.AppID, a.DisplayName, toUnix(a.Created), jsonList(a.WebRedirectURIs), jsonList(a.PublicClientRedirectURIs),
			jsonList(a.IdentifierURIs), boolInt(a.EnableIDTokenIssuance), boolInt(a.EnableAccessTokenIssuance))
		if err != nil {
			if isUniqueViolation(err) {
				return slipway.Errorf(slipway.ECONFLICT, "An application with this id or app id already exists.")
			}
			return fmt.Errorf("creating application: %w", err)
		}
		return nil
	})
	if err != nil {
		return Application{}, err
	}
	return a, nil
}

// ApplicationByObjectID returns the application with the object id.
func (s *Store) ApplicationByObjectID(ctx context.Context, objectID string) (Application, error) {
	return s.applicationWhere(ctx, `object_id = ?`, strings.ToLower(objectID))
}

// ApplicationByAppID returns the application with the app id.
func (s *Store) ApplicationByAppID(ctx context.Context, appID string) (Application, error) {
	return s.applicationWhere(ctx, `app_id = ?`, strings.ToLower(appID))
}

func (s *Store) applicationWhere(ctx context.Context, where, arg string) (Application, error) {
	a, err := scanApplication(s.read.QueryRowContext(ctx, applicationSelect+` WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return Application{}, errApplicationNotFound(arg)
	} else if err != nil {
		return Application{}, fmt.Errorf("reading application: %w", err)
	}
	return a, nil
}

// Applications returns every application, ordered by display name.
func (s *Store) Applications(ctx context.Context) ([]Application, error) {
	return listRows(ctx, s.read, "listing applications", scanApplication, applicationSelect+` ORDER BY display_name, object_id`)
}

// RenameApplication sets an application's display name.
func (s *Store) RenameApplication(ctx context.Context, objectID, displayName string) error {
	if strings.TrimSpace(displayName) == "" {
		return slipway.Errorf(slipway.EINVALID, "An application needs a display name.")
	}
	res, err := s.write.ExecContext(ctx, `UPDATE applications SET display_name = ? WHERE object_id = ?`, displayName, strings.ToLower(objectID))
	if err != nil {
		return fmt.Errorf("renaming application: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errApplicationNotFound(objectID)
	}
	return nil
}

// SetApplicationSignIn replaces what an application registers to sign
// users in, after validating it.
func (s *Store) SetApplicationSignIn(ctx context.Context, objectID string, si SignIn) error {
	a, err := s.ApplicationByObjectID(ctx, objectID)
	if err != nil {
		return err
	}
	if err := si.ValidateFor(a.AppID); err != nil {
		return err
	}
	res, err := s.write.ExecContext(ctx, `UPDATE applications SET web_redirect_uris = ?, public_client_redirect_uris = ?,
		identifier_uris = ?, enable_id_token_issuance = ?, enable_access_token_issuance = ? WHERE object_id = ?`,
		jsonList(si.WebRedirectURIs), jsonList(si.PublicClientRedirectURIs), jsonList(si.IdentifierURIs),
		boolInt(si.EnableIDTokenIssuance), boolInt(si.EnableAccessTokenIssuance), strings.ToLower(objectID))
	if err != nil {
		return fmt.Errorf("updating application: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errApplicationNotFound(objectID)
	}
	return nil
}

// CheckApplicationSecret returns the application with the app id if
// secret is one of its passwords valid at the time at: a web app
// registered with `az ad app create` and `az ad app credential reset`
// signs users in without a service principal. Errors as
// CheckPrincipalSecret's.
func (s *Store) CheckApplicationSecret(ctx context.Context, appID, secret string, at time.Time) (Application, error) {
	a, err := s.ApplicationByAppID(ctx, appID)
	if err != nil {
		return Application{}, err
	}
	err = s.matchSecret(ctx, secret, at, `SELECT salt, hash, start_time, end_time FROM application_secrets WHERE object_id = ? LIMIT ?`,
		a.ObjectID, MaxPrincipalSecrets)
	if err != nil {
		return Application{}, err
	}
	return a, nil
}

// DeleteApplication deletes an application, its passwords and its service
// principal (with the principal's secrets), as Graph's application delete
// does, in one transaction. It returns the deleted service principal's
// object id ("" when it had none).
func (s *Store) DeleteApplication(ctx context.Context, objectID string) (string, error) {
	objectID = strings.ToLower(objectID)
	var spID string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var appID string
		err := tx.QueryRowContext(ctx, `SELECT app_id FROM applications WHERE object_id = ?`, objectID).Scan(&appID)
		if errors.Is(err, sql.ErrNoRows) {
			return errApplicationNotFound(objectID)
		} else if err != nil {
			return fmt.Errorf("reading application: %w", err)
		}
		err = tx.QueryRowContext(ctx, `SELECT object_id FROM principals WHERE app_id = ? AND kind = ?`, appID, string(ServicePrincipal)).Scan(&spID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("reading service principal: %w", err)
		}
		if spID != "" {
			if _, err := tx.ExecContext(ctx, `DELETE FROM principals WHERE object_id = ?`, spID); err != nil {
				return fmt.Errorf("deleting service principal: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM applications WHERE object_id = ?`, objectID); err != nil {
			return fmt.Errorf("deleting application: %w", err)
		}
		return nil
	})
	return spID, err
}

// AddApplicationSecret stores a hash of a new password of an application
// (Graph's application addPassword); replace deletes its other passwords
// in the same transaction. An application holds at most
// MaxPrincipalSecrets.
func (s *Store) AddApplicationSecret(ctx context.Context, objectID, secret, displayName string, start, end time.Time, replace bool) (PrincipalSecret, error) {
	return s.addSecret(ctx, applicationSecrets, objectID, secret, displayName, start, end, replace, func(tx *sql.Tx, objectID string) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM applications WHERE object_id = ?`, objectID).Scan(&n); err != nil {
			return fmt.Errorf("reading application: %w", err)
		}
		if n == 0 {
			return errApplicationNotFound(objectID)
		}
		return nil
	})
}

// ApplicationSecrets lists an application's passwords (without values).
func (s *Store) ApplicationSecrets(ctx context.Context, objectID string) ([]PrincipalSecret, error) {
	return s.listSecrets(ctx, applicationSecrets, objectID)
}

// DeleteApplicationSecret deletes one of an application's passwords.
func (s *Store) DeleteApplicationSecret(ctx context.Context, objectID, keyID string) error {
	return s.deleteSecret(ctx, applicationSecrets, objectID, keyID)
}
