// Package graph is Slipway's subset of Microsoft Graph v1.0, served at
// https://graph.<domain>[:port]/ (the cloud's microsoftGraphResourceId):
// the directory objects the az CLI's role module reads and writes for
// `az ad sp create-for-rbac`, `az ad sp show|list|delete`, `az ad sp
// credential reset`, `az ad app create|show|list|delete` and for resolving
// principals in `az role assignment create|list` (docs/arm.md §2.4).
//
// The directory holds applications (app registrations) and service
// principals, two objects with their own object ids joined by the appId,
// as in Microsoft Entra ID
// (https://learn.microsoft.com/entra/identity-platform/app-objects-and-service-principals).
// Managed identities appear as service principals of type ManagedIdentity.
// Passwords are generated here (addPassword returns secretText once) and
// kept only as keyed hashes by the store; the token service
// (internal/identity) signs in a service principal with its own passwords
// or its application's. Applications register redirect URIs, implicit-
// grant switches and identifier URIs for signing users in. Users
// (https://learn.microsoft.com/graph/api/resources/user) have a password,
// kept only as an argon2id hash by the store, and sign in at the token
// service's authorization endpoint. There are no groups: /groups answers
// an empty list; /me answers as Graph does to an application token.
//
// Callers authenticate with a bearer token of the token service for the
// Graph audience, or with the server's admin token. Any principal of the
// tenant may read applications and service principals; changes, and any
// read of users, need the admin token or a principal the MayWrite hook
// admits (the server: Owner or User Access Administrator at the
// subscription, who can grant themselves any role anyway). Users are
// guarded on reads too because every app's managed identity can get a
// Graph token, and the directory's users are the whole installation's. Errors have
// Graph's shape: {"error":{"code","message","innerError":{...}}}
// (https://learn.microsoft.com/graph/errors).
package graph

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/cleartext"
	"github.com/slipway-dev/slipway/internal/identity"
	"github.com/slipway-dev/slipway/internal/store"
)

// Store keeps the directory: applications, principals and their secrets.
// *store.Store implements it.
type Store interface {
	CreateApplication(ctx context.Context, a store.Application) (store.Application, error)
	ApplicationByObjectID(ctx context.Context, objectID string) (store.Application, error)
	ApplicationByAppID(ctx context.Context, appID string) (store.Application, error)
	Applications(ctx context.Context) ([]store.Application, error)
	RenameApplication(ctx context.Context, objectID, displayName string) error
	SetApplicationSignIn(ctx context.Context, objectID string, si store.SignIn) error
	DeleteApplication(ctx context.Context, objectID string) (string, error)
	AddApplicationSecret(ctx context.Context, objectID, secret, displayName string, start, end time.Time, replace bool) (store.PrincipalSecret, error)
	ApplicationSecrets(ctx context.Context, objectID string) ([]store.PrincipalSecret, error)
	DeleteApplicationSecret(ctx context.Context, objectID, keyID string) error

	CreatePrincipal(ctx context.Context, p store.Principal) (store.Principal, error)
	PrincipalByObjectID(ctx context.Context, objectID string) (store.Principal, error)
	Principals(ctx context.Context) ([]store.Principal, error)
	DeletePrincipal(ctx context.Context, objectID string) error
	AddPrincipalSecret(ctx context.Context, objectID, secret, displayName string, start, end time.Time, replace bool) (store.PrincipalSecret, error)
	PrincipalSecrets(ctx context.Context, objectID string) ([]store.PrincipalSecret, error)
	DeletePrincipalSecret(ctx context.Context, objectID, keyID string) error

	CreateUser(ctx context.Context, u store.User, password string) (store.User, error)
	UserByObjectID(ctx context.Context, objectID string) (store.User, error)
	UserByPrincipalName(ctx context.Context, upn string) (store.User, error)
	Users(ctx context.Context) ([]store.User, error)
	UpdateUser(ctx context.Context, u store.User) error
	SetUserPassword(ctx context.Context, objectID, password string) error
	DeleteUser(ctx context.Context, objectID string) error
}

var _ Store = (*store.Store)(nil)

// Verifier verifies access tokens; *identity.Service implements it.
type Verifier interface {
	Verify(ctx context.Context, token string, accepted []string) (identity.Claims, error)
}

var _ Verifier = (*identity.Service)(nil)

// Config configures a Handler.
type Config struct {
	Store  Store
	Tokens Verifier
	// TenantID is the directory's tenant (appOwnerOrganizationId).
	TenantID string
	// BaseURL is where the service is reached, e.g.
	// "https://graph.localhost:8443" (no trailing slash): the token
	// audience is BaseURL + "/", and @odata.context and nextLink name it.
	BaseURL string
	// AdminToken is the server's admin token, accepted as a caller that
	// may do anything; "" accepts none.
	AdminToken string
	// MayWrite reports whether the principal (a verified token's oid) may
	// change the directory. nil admits only the admin token.
	MayWrite func(ctx context.Context, objectID string) (bool, error)
	// NewSecret generates a password; default identity.NewClientSecret.
	NewSecret func() (string, error)
	Logger    *slog.Logger
	Now       func() time.Time
}

// Handler serves the Graph subset. It is safe for concurrent use.
type Handler struct {
	cfg Config
}

// New returns a Handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil || cfg.Tokens == nil {
		return nil, errors.New("graph: a store and a token verifier are required")
	}
	if !strings.HasPrefix(cfg.BaseURL, "https://") {
		return nil, fmt.Errorf("graph: base URL %q is not an https URL", cfg.BaseURL)
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	if cfg.NewSecret == nil {
		cfg.NewSecret = identity.NewClientSecret
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{cfg: cfg}, nil
}

// Audience is the token audience the handler accepts: BaseURL + "/".
func (h *Handler) Audience() string { return h.cfg.BaseURL + "/" }

// Limits on what a request may make the handler read or do.
const (
	maxBodyBytes  = 64 << 10 // request bodies; az's are under 1 KB
	maxPathBytes  = 1 << 10
	maxFilter     = 2 << 10 // a $filter's length
	maxIDs        = 1000    // getByIds, as Graph allows
	defaultPage   = 100     // Graph's default page size
	maxPage       = 999     // Graph's largest $top
	maxSecretLife = 100 * 365 * 24 * time.Hour
)

// graphError is an error rendered in Graph's JSON shape.
type graphError struct {
	status        int
	code, message string
}

func (e *graphError) Error() string { return e.code + ": " + e.message }

func gerr(status int, code, format string, args ...any) *graphError {
	return &graphError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func errNotFound(id string) error {
	return gerr(http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
}

func errBadRequest(format string, args ...any) error {
	return gerr(http.StatusBadRequest, "Request_BadRequest", format, args...)
}

// errDenied is Graph's answer to a caller without the permission; az adds
// its own hint when the message says "insufficient privileges".
var errDenied = gerr(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")

// caller is who sent a request.
type caller struct {
	admin    bool
	objectID string
	appID    string
}

// ServeHTTP serves one Graph request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newGUID()
	w.Header().Set("request-id", reqID)
	clientReqID := r.Header.Get("client-request-id")
	if len(clientReqID) > 64 {
		clientReqID = ""
	}
	if clientReqID != "" {
		w.Header().Set("client-request-id", clientReqID)
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.cfg.Logger.Error("graph request panicked", "request_id", reqID, "panic", fmt.Sprint(v))
			h.writeError(w, reqID, clientReqID, fmt.Errorf("panic: %v", v))
		}
	}()
	if err := h.serve(w, r); err != nil {
		h.writeError(w, reqID, clientReqID, err)
	}
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) error {
	if !cleartext.OverTLS(r) {
		// Tokens and secrets never cross in the clear.
		return gerr(http.StatusBadRequest, "BadRequest", "Microsoft Graph is served over HTTPS only: use %s.", h.cfg.BaseURL)
	}
	if len(r.URL.EscapedPath()) > maxPathBytes || len(r.URL.RawQuery) > maxFilter*3 {
		return errBadRequest("The request URL is too long.")
	}
	c, err := h.authenticate(r)
	if err != nil {
		return err
	}
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) == 0 || segs[0] == "" {
		return gerr(http.StatusBadRequest, "BadRequest", "Invalid version.")
	}
	if segs[0] != "v1.0" {
		return gerr(http.StatusBadRequest, "BadRequest", "Invalid version: %s. Slipway serves Microsoft Graph v1.0 only.", segs[0])
	}
	return h.route(w, r, c, segs[1:])
}

// authenticate reads the bearer token: the admin token, or a token of the
// token service for this audience.
func (h *Handler) authenticate(r *http.Request) (caller, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return caller{}, gerr(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
	}
	if h.cfg.AdminToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(h.cfg.AdminToken)) == 1 {
		return caller{admin: true}, nil
	}
	claims, err := h.cfg.Tokens.Verify(r.Context(), tok, []string{h.Audience()})
	if err != nil {
		return caller{}, gerr(http.StatusUnauthorized, "InvalidAuthenticationToken",
			"Access token validation failure. Get a token for %s from this installation's login endpoint.", h.Audience())
	}
	return caller{objectID: claims.ObjectID, appID: claims.AppID}, nil
}

// mayWrite returns errDenied unless the caller may change the directory.
func (h *Handler) mayWrite(ctx context.Context, c caller) error {
	if c.admin {
		return nil
	}
	if h.cfg.MayWrite == nil {
		return errDenied
	}
	ok, err := h.cfg.MayWrite(ctx, c.objectID)
	if err != nil {
		return err
	}
	if !ok {
		return errDenied
	}
	return nil
}

// writeError renders err as Graph's error JSON. Errors that are neither
// *graphError nor classified domain errors are internal: logged once
// here, answered naming only the request id.
func (h *Handler) writeError(w http.ResponseWriter, reqID, clientReqID string, err error) {
	var ge *graphError
	if !errors.As(err, &ge) {
		switch slipway.ErrorCode(err) {
		case slipway.ENOTFOUND:
			ge = gerr(http.StatusNotFound, "Request_ResourceNotFound", "%s", slipway.ErrorMessage(err))
		case slipway.EINVALID, slipway.ECONFLICT:
			ge = gerr(http.StatusBadRequest, "Request_BadRequest", "%s", slipway.ErrorMessage(err))
		default:
			h.cfg.Logger.Error("graph request failed", "request_id", reqID, "err", err)
			ge = gerr(http.StatusInternalServerError, "generalException",
				"An internal error occurred; the server's log has it under request id %s.", reqID)
		}
	}
	inner := map[string]string{"date": h.cfg.Now().UTC().Format("2006-01-02T15:04:05"), "request-id": reqID}
	if clientReqID != "" {
		inner["client-request-id"] = clientReqID
	}
	writeJSON(w, ge.status, map[string]any{"error": map[string]any{"code": ge.code, "message": ge.message, "innerError": inner}})
}

const contentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}

// readBody decodes a JSON object body of at most maxBodyBytes into v. An
// empty body leaves v alone when optional.
func readBody(r *http.Request, v any, optional bool) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return errBadRequest("Reading the request body failed.")
	}
	if len(b) > maxBodyBytes {
		return gerr(http.StatusRequestEntityTooLarge, "Request_BadRequest", "The request body is larger than %d bytes.", maxBodyBytes)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		if optional {
			return nil
		}
		return errBadRequest("The request body is empty; a JSON object is required.")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errBadRequest("The request body is not valid JSON for this request: %v", err)
	}
	return nil
}

func newGUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// guidRE matches a GUID in 8-4-4-4-12 hex form.
var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func isGUID(s string) bool { return guidRE.MatchString(s) }
