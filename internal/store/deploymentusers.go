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
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipway-dev/slipway"
)

// Deployment users: App Service's user-level deployment credentials, one
// per principal (slipway.ValidateDeploymentUser has the rules).

// deploymentPasswordIterations is the PBKDF2 work per check. Unlike client
// secrets (secretHash), these passwords are chosen by people and may be
// guessable, so the hash is slow as well as keyed: a stolen database with
// its master key still costs an attacker this much per guess. The first
// Kudu request with user-level credentials pays it (~20 ms); the client's
// next ones find the check remembered (below).
const deploymentPasswordIterations = 100_000

// Checking a deployment password is slow on purpose, which would let
// anyone who can reach a Kudu site burn the server's CPU with guesses. So
// at most passwordCheckSlots checks run at once — a check waits up to
// passwordCheckWait for a slot, then is refused as unavailable (503, retry)
// — and a password that checked out is remembered for verifiedTTL, so that
// a client's next requests (git's several per push, a deployment's status
// polls) skip the slow hash and the queue. The memory is keyed by a fast
// keyed hash of the password under the user's salt, which changes with
// every new password, so a changed password is never taken from it.
const (
	passwordCheckWait = 2 * time.Second
	verifiedTTL       = 10 * time.Minute
	verifiedMax       = 4096 // remembered checks; when full, the oldest half goes
)

// passwordChecks is the Store's bound on slow checks and memory of good
// ones; Open makes it with init.
type passwordChecks struct {
	slots    chan struct{}
	mu       sync.Mutex
	verified map[string]time.Time // fast hash → when the memory ends
	slow     atomic.Int64         // slow checks made (tests)
}

func (p *passwordChecks) init() {
	p.slots = make(chan struct{}, max(1, runtime.NumCPU()/2))
	p.verified = make(map[string]time.Time)
}

// acquire takes a slot for a slow check, waiting at most passwordCheckWait.
func (p *passwordChecks) acquire(ctx context.Context) error {
	select {
	case p.slots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(passwordCheckWait)
	defer t.Stop()
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return slipway.Errorf(slipway.EUNAVAILABLE, "The server is checking too many deployment passwords at once; retry in a few seconds.")
	}
}

func (p *passwordChecks) release() { <-p.slots }

func (p *passwordChecks) remembered(key string, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	until, ok := p.verified[key]
	return ok && now.Before(until)
}

func (p *passwordChecks) remember(key string, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.verified) >= verifiedMax {
		// Drop what has ended, then, if still full, what ends soonest.
		ends := make([]time.Time, 0, len(p.verified))
		for k, until := range p.verified {
			if !now.Before(until) {
				delete(p.verified, k)
			} else {
				ends = append(ends, until)
			}
		}
		if len(p.verified) >= verifiedMax {
			slices.SortFunc(ends, time.Time.Compare)
			cut := ends[len(ends)/2]
			for k, until := range p.verified {
				if until.Before(cut) {
					delete(p.verified, k)
				}
			}
		}
	}
	p.verified[key] = now.Add(verifiedTTL)
}

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
	fast := string(s.secretHash(salt, "checked deployment password\x00"+password))
	if found && s.pw.remembered(fast, s.now()) {
		return principalID, nil
	}
	if err := s.pw.acquire(ctx); err != nil {
		return "", err
	}
	s.pw.slow.Add(1)
	got, err := s.deploymentPasswordHash(salt, password)
	s.pw.release()
	if err != nil {
		return "", err
	}
	if subtle.ConstantTimeCompare(got, want) != 1 || !found {
		return "", denied
	}
	s.pw.remember(fast, s.now())
	return principalID, nil
}
