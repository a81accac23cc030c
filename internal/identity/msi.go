package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/slipway-dev/slipway/internal/store"
)

// MSIPath is the path the managed-identity endpoint answers at; an
// instance's IDENTITY_ENDPOINT is http://<address it can reach>/msi/token,
// as on App Service for Linux (docs/appservice.md §8).
const MSIPath = "/msi/token"

// MSIAPIVersion is the one api-version the endpoint speaks.
const MSIAPIVersion = "2019-08-01"

// maxIdentityHeaderBytes bounds the X-IDENTITY-HEADER value looked at.
const maxIdentityHeaderBytes = 256

// Instance is what the managed-identity endpoint knows of the app instance
// an IDENTITY_HEADER was given to: its app's identities, and nothing else.
type Instance struct {
	SystemAssigned *Principal  // nil when the app has no system-assigned identity
	UserAssigned   []Principal // the user-assigned identities assigned to the app
}

// msiError is an error answered as App Service's token service does:
// {"statusCode":N,"message":"...","correlationId":"..."}, the shape MSAL
// reads (statusCode, message) into its error.
type msiError struct {
	status int
	msg    string
}

func (e *msiError) Error() string { return e.msg }

// errNoIdentity is App Service's answer when no identity of the app matches
// the request.
var errNoIdentity = &msiError{http.StatusBadRequest, "Unable to load the proper Managed Identity."}

// MSIHandler returns the managed-identity endpoint: GET MSIPath with
// api-version=2019-08-01, resource, and at most one of client_id,
// principal_id (or object_id) and mi_res_id to choose a user-assigned
// identity (none: the system-assigned one), and the header
// X-IDENTITY-HEADER, which lookup maps to the instance it was given to. A
// request can only get tokens for that instance's own identities.
// IdentityHeaders.Lookup is a lookup that compares headers safely.
func (s *Service) MSIHandler(lookup func(identityHeader string) (Instance, bool)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		if err := s.serveMSI(w, r, lookup); err != nil {
			var me *msiError
			if !errors.As(err, &me) {
				s.cfg.Logger.Error("managed identity request failed", "err", err)
				me = &msiError{http.StatusInternalServerError, "An internal error occurred."}
			}
			_ = writeJSON(w, me.status, map[string]any{"statusCode": me.status, "message": me.msg, "correlationId": newID()})
		}
	})
}

func (s *Service) serveMSI(w http.ResponseWriter, r *http.Request, lookup func(string) (Instance, bool)) error {
	if p := strings.TrimSuffix(r.URL.Path, "/"); !strings.EqualFold(p, MSIPath) {
		return &msiError{http.StatusNotFound, "Not found."}
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		return &msiError{http.StatusMethodNotAllowed, "Use GET."}
	}
	header := r.Header.Get("X-IDENTITY-HEADER")
	if header == "" || len(header) > maxIdentityHeaderBytes {
		return &msiError{http.StatusUnauthorized, "The X-IDENTITY-HEADER header is missing or not valid."}
	}
	inst, ok := lookup(header)
	if !ok {
		return &msiError{http.StatusUnauthorized, "The X-IDENTITY-HEADER header is missing or not valid."}
	}
	q := r.URL.Query()
	if v := q.Get("api-version"); v != MSIAPIVersion {
		return &msiError{http.StatusBadRequest, "The api-version '" + truncate(v, 32) + "' is not supported; use " + MSIAPIVersion + "."}
	}
	resource := q.Get("resource")
	if resource == "" {
		return &msiError{http.StatusBadRequest, "The resource parameter is required."}
	}
	p, err := inst.choose(q.Get("client_id"), q.Get("principal_id"), q.Get("object_id"), q.Get("mi_res_id"))
	if err != nil {
		return err
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		w.Header().Set("Retry-After", "1")
		return &msiError{http.StatusTooManyRequests, "Too many token requests; retry after a second."}
	}
	tok, err := s.Issue(r.Context(), p, resource, 0)
	if errors.Is(err, ErrUnknownResource) {
		return &msiError{http.StatusBadRequest, errResourceNotFound(resource, s.cfg.TenantID).Error()}
	} else if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{
		"access_token": tok.AccessToken,
		"expires_on":   strconv.FormatInt(tok.ExpiresOn.Unix(), 10),
		"resource":     resource,
		"token_type":   "Bearer",
		"client_id":    tok.ClientID,
	})
}

// choose picks the identity a request names among the instance's own: by
// client id, principal (object) id or resource id of a user-assigned
// identity, or the system-assigned one when none is named.
func (inst Instance) choose(clientID, principalID, objectID, resourceID string) (Principal, error) {
	n := 0
	for _, v := range []string{clientID, principalID, objectID, resourceID} {
		if v != "" {
			n++
		}
	}
	if n > 1 {
		return Principal{}, &msiError{http.StatusBadRequest, "Only one of client_id, principal_id (object_id) and mi_res_id may be given."}
	}
	if n == 0 {
		if inst.SystemAssigned == nil {
			return Principal{}, errNoIdentity
		}
		return *inst.SystemAssigned, nil
	}
	all := inst.UserAssigned
	if inst.SystemAssigned != nil {
		all = append([]Principal{*inst.SystemAssigned}, all...)
	}
	for _, p := range all {
		switch {
		case clientID != "" && strings.EqualFold(p.AppID, clientID),
			principalID != "" && strings.EqualFold(p.ObjectID, principalID),
			objectID != "" && strings.EqualFold(p.ObjectID, objectID),
			resourceID != "" && p.Kind == store.UserAssignedIdentity && strings.EqualFold(p.ResourceID, resourceID):
			return p, nil
		}
	}
	return Principal{}, errNoIdentity
}

// IdentityHeaders maps the IDENTITY_HEADER secrets given to instances to
// those instances. It keys them by their SHA-256, so that neither a map
// lookup's timing nor a comparison can tell an attacker how close a guess
// came. It is safe for concurrent use.
type IdentityHeaders struct {
	mu sync.RWMutex
	m  map[[sha256.Size]byte]Instance
}

// NewIdentityHeaders returns an empty registry.
func NewIdentityHeaders() *IdentityHeaders {
	return &IdentityHeaders{m: map[[sha256.Size]byte]Instance{}}
}

// Register creates a new IDENTITY_HEADER (128 random bits, in the GUID-like
// form App Service's has) for an instance and returns it.
func (h *IdentityHeaders) Register(inst Instance) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	x := hex.EncodeToString(b[:])
	header := x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
	h.mu.Lock()
	defer h.mu.Unlock()
	h.m[sha256.Sum256([]byte(header))] = inst
	return header, nil
}

// Update replaces the identities of a registered instance (after an
// identity was assigned or removed); it reports whether header was known.
func (h *IdentityHeaders) Update(header string, inst Instance) bool {
	k := sha256.Sum256([]byte(header))
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.m[k]; !ok {
		return false
	}
	h.m[k] = inst
	return true
}

// Remove forgets a header (the instance stopped).
func (h *IdentityHeaders) Remove(header string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.m, sha256.Sum256([]byte(header)))
}

// Lookup returns the instance a header was given to.
func (h *IdentityHeaders) Lookup(header string) (Instance, bool) {
	k := sha256.Sum256([]byte(header))
	h.mu.RLock()
	defer h.mu.RUnlock()
	inst, ok := h.m[k]
	return inst, ok
}
