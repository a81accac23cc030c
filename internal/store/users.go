package store

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"golang.org/x/crypto/argon2"

	"github.com/slipway-dev/slipway"
)

// User is a user of the directory (Graph's user): a person who signs in at
// the token service's authorization endpoint with a password. The password
// itself is never kept or returned; PasswordChanged moves whenever it is
// set.
type User struct {
	ObjectID          string
	UserPrincipalName string
	DisplayName       string
	Mail              string
	MailNickname      string
	AccountEnabled    bool
	PasswordChanged   time.Time
	Created           time.Time
}

// Password hashing: argon2id with the parameters OWASP recommends for it
// (19 MiB, two passes, one lane), a 16-byte salt per user and a 32-byte
// hash, kept in PHC string form so parameters can change later.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// Password rules, as Entra ID's
// (https://learn.microsoft.com/entra/identity/authentication/concept-sspr-policy):
// 8 to 256 characters, three of lower case, upper case, digits and symbols.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 256
)

func errUserNotFound(id string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "User '%s' does not exist in the directory.", truncateString(id, 300))
}

// ErrWeakPassword is the message for a password that breaks the rules.
const weakPassword = "The specified password does not comply with password complexity requirements. Please provide a different password (8 to 256 characters, with three of: lower case, upper case, digits, symbols)."

// CheckPasswordRules returns EINVALID if the password breaks Entra ID's
// rules.
func CheckPasswordRules(pw string) error {
	if len(pw) < MinPasswordLen || len(pw) > MaxPasswordLen {
		return slipway.Errorf(slipway.EINVALID, weakPassword)
	}
	var lower, upper, digit, other int
	for _, c := range pw {
		switch {
		case unicode.IsLower(c):
			lower = 1
		case unicode.IsUpper(c):
			upper = 1
		case unicode.IsDigit(c):
			digit = 1
		case unicode.IsControl(c):
			return slipway.Errorf(slipway.EINVALID, weakPassword)
		default:
			other = 1
		}
	}
	if lower+upper+digit+other < 3 {
		return slipway.Errorf(slipway.EINVALID, weakPassword)
	}
	return nil
}

// checkUPN validates a userPrincipalName: alias@domain, as Entra ID
// requires (https://learn.microsoft.com/entra/identity/hybrid/connect/plan-connect-userprincipalname).
func checkUPN(upn string) error {
	local, domain, ok := strings.Cut(upn, "@")
	bad := !ok || local == "" || len(local) > 64 || domain == "" || len(upn) > 113 ||
		strings.Contains(domain, "@") || strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") ||
		strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || !strings.Contains(domain, ".") && domain != "localhost"
	for _, c := range upn {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("@.-_'!#^~", c)) {
			bad = true
		}
	}
	if bad {
		return slipway.Errorf(slipway.EINVALID, "Property userPrincipalName '%s' is invalid: give alias@domain (letters, digits and . - _ ' ! # ^ ~; at most 113 characters, 64 before the @).", truncateString(upn, 120))
	}
	return nil
}

func hashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("generating salt: %w", err)
	}
	h := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(h)), nil
}

// passwordMatches checks pw against a PHC argon2id string.
func passwordMatches(phc, pw string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 256*1024 || t == 0 || t > 10 || p == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when the user does not exist, so that the
// time taken does not say whether a user name exists.
var dummyHash = func() string {
	h, _ := hashPassword("not a password of anyone")
	return h
}()

const userSelect = `SELECT object_id, user_principal_name, display_name, mail, mail_nickname, account_enabled, password_changed, created FROM users`

func scanUser(r rowScanner) (User, error) {
	var u User
	var changed, created int64
	if err := r.Scan(&u.ObjectID, &u.UserPrincipalName, &u.DisplayName, &u.Mail, &u.MailNickname, &u.AccountEnabled, &changed, &created); err != nil {
		return User{}, err
	}
	u.PasswordChanged, u.Created = fromUnix(changed), fromUnix(created)
	return u, nil
}

// CreateUser stores a new user with the password (hashed), generating its
// object id. A userPrincipalName already used, ignoring case, is
// ECONFLICT.
func (s *Store) CreateUser(ctx context.Context, u User, password string) (User, error) {
	if err := checkUPN(u.UserPrincipalName); err != nil {
		return User{}, err
	}
	if strings.TrimSpace(u.DisplayName) == "" || len(u.DisplayName) > 256 {
		return User{}, slipway.Errorf(slipway.EINVALID, "A user needs a display name of at most 256 characters.")
	}
	if len(u.Mail) > 256 || len(u.MailNickname) > 64 {
		return User{}, slipway.Errorf(slipway.EINVALID, "mail is at most 256 characters, mailNickname 64.")
	}
	if err := CheckPasswordRules(password); err != nil {
		return User{}, err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return User{}, err
	}
	if u.ObjectID, err = newGUID(); err != nil {
		return User{}, err
	}
	now := s.now().UTC()
	u.Created, u.PasswordChanged = now, now
	_, err = s.write.ExecContext(ctx, `INSERT INTO users (object_id, user_principal_name, upn_lower, display_name, mail, mail_nickname,
		account_enabled, password_hash, password_changed, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ObjectID, u.UserPrincipalName, strings.ToLower(u.UserPrincipalName), u.DisplayName, u.Mail, u.MailNickname,
		boolInt(u.AccountEnabled), hash, toUnix(now), toUnix(now))
	if isUniqueViolation(err) {
		return User{}, slipway.Errorf(slipway.ECONFLICT, "Another object with the same value for property userPrincipalName already exists.")
	} else if err != nil {
		return User{}, fmt.Errorf("creating user: %w", err)
	}
	return u, nil
}

// UserByObjectID returns the user with the object id.
func (s *Store) UserByObjectID(ctx context.Context, objectID string) (User, error) {
	return s.userWhere(ctx, `object_id = ?`, strings.ToLower(objectID))
}

// UserByPrincipalName returns the user with the userPrincipalName,
// compared ignoring case.
func (s *Store) UserByPrincipalName(ctx context.Context, upn string) (User, error) {
	return s.userWhere(ctx, `upn_lower = ?`, strings.ToLower(upn))
}

func (s *Store) userWhere(ctx context.Context, where, arg string) (User, error) {
	u, err := scanUser(s.read.QueryRowContext(ctx, userSelect+` WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, errUserNotFound(arg)
	} else if err != nil {
		return User{}, fmt.Errorf("reading user: %w", err)
	}
	return u, nil
}

// Users returns every user, ordered by display name.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	return listRows(ctx, s.read, "listing users", scanUser, userSelect+` ORDER BY display_name, object_id`)
}

// UpdateUser sets a user's display name, mail and accountEnabled.
func (s *Store) UpdateUser(ctx context.Context, u User) error {
	if strings.TrimSpace(u.DisplayName) == "" || len(u.DisplayName) > 256 || len(u.Mail) > 256 {
		return slipway.Errorf(slipway.EINVALID, "A user needs a display name of at most 256 characters; mail is at most 256.")
	}
	res, err := s.write.ExecContext(ctx, `UPDATE users SET display_name = ?, mail = ?, account_enabled = ? WHERE object_id = ?`,
		u.DisplayName, u.Mail, boolInt(u.AccountEnabled), strings.ToLower(u.ObjectID))
	if err != nil {
		return fmt.Errorf("updating user: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errUserNotFound(u.ObjectID)
	}
	return nil
}

// SetUserPassword replaces a user's password; sessions and refresh tokens
// from before it stop working.
func (s *Store) SetUserPassword(ctx context.Context, objectID, password string) error {
	if err := CheckPasswordRules(password); err != nil {
		return err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	res, err := s.write.ExecContext(ctx, `UPDATE users SET password_hash = ?, password_changed = ? WHERE object_id = ?`,
		hash, toUnix(s.now().UTC()), strings.ToLower(objectID))
	if err != nil {
		return fmt.Errorf("setting password: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errUserNotFound(objectID)
	}
	return nil
}

// DeleteUser deletes a user.
func (s *Store) DeleteUser(ctx context.Context, objectID string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM users WHERE object_id = ?`, strings.ToLower(objectID))
	if err != nil {
		return fmt.Errorf("deleting user: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errUserNotFound(objectID)
	}
	return nil
}

// CheckUserPassword returns the user with the userPrincipalName (ignoring
// case) if password is theirs: ENOTFOUND for no such user, EUNAUTHORIZED
// for a wrong password. An unknown user costs a hash as a known one does.
// Whether the account is enabled is the caller's to check.
func (s *Store) CheckUserPassword(ctx context.Context, upn, password string) (User, error) {
	var hash string
	u, err := scanUserWithHash(s.read.QueryRowContext(ctx, `SELECT object_id, user_principal_name, display_name, mail, mail_nickname,
		account_enabled, password_changed, created, password_hash FROM users WHERE upn_lower = ?`, strings.ToLower(upn)), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		passwordMatches(dummyHash, password)
		return User{}, errUserNotFound(upn)
	} else if err != nil {
		return User{}, fmt.Errorf("reading user: %w", err)
	}
	if len(password) > MaxPasswordLen || !passwordMatches(hash, password) {
		return User{}, slipway.Errorf(slipway.EUNAUTHORIZED, "Error validating credentials due to invalid username or password.")
	}
	return u, nil
}

func scanUserWithHash(r rowScanner, hash *string) (User, error) {
	var u User
	var changed, created int64
	if err := r.Scan(&u.ObjectID, &u.UserPrincipalName, &u.DisplayName, &u.Mail, &u.MailNickname, &u.AccountEnabled, &changed, &created, hash); err != nil {
		return User{}, err
	}
	u.PasswordChanged, u.Created = fromUnix(changed), fromUnix(created)
	return u, nil
}
