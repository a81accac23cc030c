package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// AADSTS numbers of the sign-in flow
// (https://learn.microsoft.com/entra/identity-platform/reference-error-codes).
const (
	aadstsMultipleResources   = 28000   // scopes for more than one resource
	aadstsNoConsent           = 65001   // a scope of an API nobody consented to
	aadstsRedirectMismatch    = 50011   // redirect_uri not registered for the app
	aadstsLoginRequired       = 50058   // prompt=none without a session
	aadstsBadCredentials      = 50126   // wrong user name or password
	aadstsAccountDisabled     = 50057   // accountEnabled false
	aadstsLocked              = 50053   // too many failed sign-ins
	aadstsUserNotFound        = 50034   // the user of a grant no longer exists
	aadstsPKCEMismatch        = 50148   // code_verifier does not match the challenge
	aadstsPKCEMalformed       = 501481  // code_verifier malformed
	aadstsPasswordChanged     = 50173   // grant issued before the password changed
	aadstsCodeExpired         = 70008   // code or refresh token expired
	aadstsCodeRedeemed        = 54005   // code already redeemed
	aadstsInvalidGrant        = 70000   // grant malformed, for another client, revoked
	aadstsIDTokenNotEnabled   = 700054  // response_type id_token not enabled
	aadstsUnsupportedResponse = 70005   // response_type not supported
	aadstsPublicClientSecret  = 7000218 // a confidential client redeemed without a secret
	aadstsInvalidRequest      = 90014   // a required field is missing
	aadstsBadPrompt           = 90023   // prompt value not supported
	aadstsPKCERequired        = 9002325 // PKCE required (public clients)
	aadstsBadCodeChallenge    = 5000    // code_challenge_method other than S256 (Slipway's)
)

// maxCodes bounds the authorization codes held at once: ten minutes'
// worth at 16 sign-ins a second. Beyond it the authorization endpoint
// answers temporarily_unavailable rather than grow.
const maxCodes = 10000

// maxCodesPerUser bounds the codes one user holds: a user with a live SSO
// session gets a code for each GET of the authorization endpoint, no
// password asked, and must not fill the store for everyone. A new code
// beyond it drops the user's oldest.
const maxCodesPerUser = 64

// codeGrant is what an authorization code is bound to.
type codeGrant struct {
	grant
	RedirectURI   string
	CodeChallenge string // S256 challenge; "" when PKCE was not used
	Scope         string
	Expires       time.Time
	Redeemed      bool // kept until Expires so that a replay is recognized
	seq           uint64
}

// codeStore holds authorization codes in memory, keyed by the SHA-256 of
// the code: single use, ten minutes, bounded.
type codeStore struct {
	mu      sync.Mutex
	codes   map[[32]byte]*codeGrant
	perUser map[string]int       // codes held, by the user's object id
	seq     uint64               // codes issued, to find a user's oldest
	revoked map[string]time.Time // families revoked by a replayed code, until their tokens expire
}

func newCodeStore() *codeStore {
	return &codeStore{codes: map[[32]byte]*codeGrant{}, perUser: map[string]int{}, revoked: map[string]time.Time{}}
}

// deleteLocked forgets a code.
func (cs *codeStore) deleteLocked(k [32]byte) {
	if g, ok := cs.codes[k]; ok {
		delete(cs.codes, k)
		if cs.perUser[g.User.ObjectID]--; cs.perUser[g.User.ObjectID] <= 0 {
			delete(cs.perUser, g.User.ObjectID)
		}
	}
}

func codeKey(code string) [32]byte { return sha256.Sum256([]byte(code)) }

// add stores g under a new code and returns the code.
func (cs *codeStore) add(g *codeGrant, now time.Time) (string, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if oid := g.User.ObjectID; cs.perUser[oid] >= maxCodesPerUser {
		var oldest [32]byte
		var at uint64
		found := false
		for k, c := range cs.codes {
			if c.User.ObjectID == oid && (!found || c.seq < at) {
				oldest, at, found = k, c.seq, true
			}
		}
		if found {
			cs.deleteLocked(oldest)
		}
	}
	if len(cs.codes) >= maxCodes {
		for k, c := range cs.codes {
			if now.After(c.Expires) {
				cs.deleteLocked(k)
			}
		}
		for f, until := range cs.revoked {
			if now.After(until) {
				delete(cs.revoked, f)
			}
		}
	}
	if len(cs.codes) >= maxCodes {
		return "", newAADError(http.StatusServiceUnavailable, "temporarily_unavailable", aadstsThrottled, "Too many sign-ins are in progress; try again in a minute.")
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	code := base64.RawURLEncoding.EncodeToString(b)
	cs.seq++
	g.seq = cs.seq
	cs.codes[codeKey(code)] = g
	cs.perUser[g.User.ObjectID]++
	return code, nil
}

// take returns the code's grant and marks it redeemed. A code redeemed
// before is ErrCodeRedeemed, and revokes every token its first redemption
// led to (RFC 6749 §4.1.2: a code used twice means it was stolen).
func (cs *codeStore) take(code string, now time.Time) (codeGrant, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	k := codeKey(code)
	g, ok := cs.codes[k]
	switch {
	case !ok:
		return codeGrant{}, newAADError(http.StatusBadRequest, "invalid_grant", aadstsInvalidGrant, "Provided grant is invalid or malformed: the authorization code is not one this service issued.")
	case g.Redeemed:
		cs.revoked[g.Family] = now.Add(refreshLifetime)
		return codeGrant{}, newAADError(http.StatusBadRequest, "invalid_grant", aadstsCodeRedeemed, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token. The tokens it was redeemed for are revoked.")
	case now.After(g.Expires):
		cs.deleteLocked(k)
		return codeGrant{}, newAADError(http.StatusBadRequest, "invalid_grant", aadstsCodeExpired, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
	}
	g.Redeemed = true
	return *g, nil
}

// isRevoked reports whether a family's tokens were revoked.
func (cs *codeStore) isRevoked(family string) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	_, ok := cs.revoked[family]
	return ok
}
