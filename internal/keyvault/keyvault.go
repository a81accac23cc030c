// Package keyvault serves the Azure Key Vault secrets data plane for one
// vault per request: set, get (latest and by version), list, list
// versions, update, soft delete, get and list deleted, recover, purge,
// backup and restore, on the paths and JSON shapes of the Key Vault REST
// API (https://learn.microsoft.com/rest/api/keyvault/secrets/operation-groups),
// with its 401 bearer challenge and its error codes. Keys and certificates
// are not served.
//
// Requests without TLS are refused: tokens and values never cross in the
// clear. The integrator owns the front: it terminates TLS (in the same
// net/http server, so that the request's TLS field is set), picks the vault from
// the Host (<vault>.vault.<domain>, or <vault>.vault.azure.net inside
// sandboxes; see [VaultFromHost]) and calls [Handler.ServeVault]. Who the
// caller is and what it may do is the integrator's too, through
// [Config.Authorize]: the handler names the operation both ways Azure
// does (an RBAC data action and an access-policy permission, see
// [Operation]) and renders the verdict as Key Vault does.
//
// Secret values never reach a log: the handler logs only operation,
// vault, secret name and status, and the request bodies it reads are
// never echoed in errors.
package keyvault

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/cleartext"
	"github.com/slipway-dev/slipway/internal/diskreserve"
)

// Store is what the data plane needs of the control-plane database;
// *store.Store implements it.
type Store interface {
	SetSecret(ctx context.Context, s slipway.Secret) (slipway.Secret, error)
	Secret(ctx context.Context, vault, name, version string) (slipway.Secret, error)
	SecretPage(ctx context.Context, vault string, deleted bool, after string, limit int) ([]slipway.DeletedSecret, bool, error)
	SecretVersionPage(ctx context.Context, vault, name string, skip, limit int) ([]slipway.Secret, bool, error)
	UpdateSecret(ctx context.Context, vault, name, version string, u slipway.SecretUpdate) (slipway.Secret, error)
	DeleteSecret(ctx context.Context, vault, name string) (slipway.DeletedSecret, error)
	DeletedSecret(ctx context.Context, vault, name string) (slipway.DeletedSecret, error)
	RecoverSecret(ctx context.Context, vault, name string) (slipway.Secret, error)
	PurgeSecret(ctx context.Context, vault, name string) error
	SecretVersions(ctx context.Context, vault, name string) ([]slipway.Secret, error)
	RestoreSecret(ctx context.Context, vault string, versions []slipway.Secret) (slipway.Secret, error)
}

// Sealer encrypts backups; *store.Store implements it with the master key.
type Sealer interface {
	SealBytes(plain []byte, aad string) ([]byte, error)
	OpenBytes(sealed []byte, aad string) ([]byte, error)
}

// Operation names one data-plane operation in both of Key Vault's
// authorization models: DataAction for vaults with RBAC authorization
// (https://learn.microsoft.com/azure/role-based-access-control/permissions/security#microsoftkeyvault),
// Permission for vaults with access policies (a secret permission:
// get, list, set, delete, recover, backup, restore, purge).
type Operation struct {
	Name       string // the REST operation, e.g. "GetSecret"
	DataAction string // e.g. "Microsoft.KeyVault/vaults/secrets/getSecret/action"
	Permission string // e.g. "get"
}

// The operations, with the data actions Azure defines for them
// (https://learn.microsoft.com/azure/role-based-access-control/permissions/security#microsoftkeyvault)
// and the access-policy permissions the REST reference names for each.
var (
	OpSet     = Operation{"SetSecret", "Microsoft.KeyVault/vaults/secrets/setSecret/action", "set"}
	OpGet     = Operation{"GetSecret", "Microsoft.KeyVault/vaults/secrets/getSecret/action", "get"}
	OpList    = Operation{"GetSecrets", "Microsoft.KeyVault/vaults/secrets/readMetadata/action", "list"}
	OpUpdate  = Operation{"UpdateSecret", "Microsoft.KeyVault/vaults/secrets/update/action", "set"}
	OpDelete  = Operation{"DeleteSecret", "Microsoft.KeyVault/vaults/secrets/delete", "delete"}
	OpRecover = Operation{"RecoverDeletedSecret", "Microsoft.KeyVault/vaults/secrets/recover/action", "recover"}
	OpPurge   = Operation{"PurgeDeletedSecret", "Microsoft.KeyVault/vaults/secrets/purge/action", "purge"}
	OpBackup  = Operation{"BackupSecret", "Microsoft.KeyVault/vaults/secrets/backup/action", "backup"}
	OpRestore = Operation{"RestoreSecret", "Microsoft.KeyVault/vaults/secrets/restore/action", "restore"}
	// Reading deleted secrets is reading metadata: "list" in an access
	// policy, readMetadata under RBAC (Azure has no deletedSecrets data
	// action).
	OpGetDeleted  = Operation{"GetDeletedSecret", "Microsoft.KeyVault/vaults/secrets/readMetadata/action", "list"}
	OpListDeleted = Operation{"GetDeletedSecrets", "Microsoft.KeyVault/vaults/secrets/readMetadata/action", "list"}
)

// Config configures a Handler.
type Config struct {
	Store  Store
	Sealer Sealer

	// Authorize decides whether the request may perform op on the vault.
	// The handler calls it only for requests that carry an
	// "Authorization: Bearer ..." header (others get the 401 challenge
	// without a call). It returns nil to allow; an error from
	// [Unauthorized] (the token is not valid for this vault: 401 with the
	// challenge) or [Forbidden] (valid, but not allowed: 403); any other
	// error is a 500. A vault with EnableRBACAuthorization is checked
	// against op.DataAction, any other against op.Permission in its
	// AccessPolicies ([AccessPolicyAllows] does that part).
	Authorize func(r *http.Request, vault slipway.Vault, op Operation) error

	// Authority is the login authority the challenge names, e.g.
	// "https://login.localhost"; the tenant is appended.
	Authority string
	// Resource returns the token audience the challenge names for a
	// request to host (with its port); [ResourceForHost] if nil.
	Resource func(host string) string

	// Reserve, when set, keeps free space on the disk of the vault's
	// store: a new secret version and a restore are refused (503 with
	// Retry-After) while it is at its reserve, since every Set Secret
	// keeps a version; reads, lists and deletes go on.
	Reserve *diskreserve.Guard

	Logger *slog.Logger
	Now    func() time.Time
}

// Handler serves the secrets data plane.
type Handler struct {
	cfg Config
}

// New returns a Handler. Store, Sealer, Authorize and Authority are required.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil || cfg.Sealer == nil || cfg.Authorize == nil || cfg.Authority == "" {
		return nil, errors.New("keyvault: Store, Sealer, Authorize and Authority are required")
	}
	if cfg.Resource == nil {
		cfg.Resource = ResourceForHost
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Authority = strings.TrimSuffix(cfg.Authority, "/")
	return &Handler{cfg: cfg}, nil
}

// ResourceForHost is the challenge resource for a vault host: the host
// without its first label, with its port, so that
// kv1.vault.azure.net gives https://vault.azure.net and
// kv1.vault.localhost:8443 gives https://vault.localhost:8443. The Azure
// SDKs check that the vault host ends in "." + the resource's host.
func ResourceForHost(host string) string {
	_, rest, ok := strings.Cut(host, ".")
	if !ok {
		rest = host
	}
	return "https://" + rest
}

// VaultFromHost returns the vault named by host (port ignored) if host is
// <vault>.<suffix> for one of suffixes (e.g. "vault.localhost",
// "vault.azure.net"), compared case-insensitively.
func VaultFromHost(host string, suffixes ...string) (string, bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	name, rest, ok := strings.Cut(host, ".")
	if !ok || slipway.ValidateVaultName(name) != nil {
		return "", false
	}
	for _, s := range suffixes {
		if strings.EqualFold(rest, strings.Trim(s, ".")) {
			return name, true
		}
	}
	return "", false
}

// AccessPolicyAllows reports whether one of the vault's access policies
// grants the secret permission to the identity (tenant and object id; an
// application id narrows a compound-identity policy).
func AccessPolicyAllows(v slipway.Vault, tenantID, objectID, applicationID, permission string) bool {
	for _, p := range v.AccessPolicies {
		if !strings.EqualFold(p.TenantID, tenantID) || !strings.EqualFold(p.ObjectID, objectID) {
			continue
		}
		if p.ApplicationID != "" && !strings.EqualFold(p.ApplicationID, applicationID) {
			continue
		}
		for _, perm := range p.Secrets {
			if strings.EqualFold(perm, permission) || strings.EqualFold(perm, "all") {
				return true
			}
		}
	}
	return false
}

// Error is a Key Vault error response: the status, the code and message of
// {"error":{"code","message","innererror":{"code"}}}.
type Error struct {
	Status  int
	Code    string
	Message string
	Inner   string // innererror.code, "" for none
}

func (e *Error) Error() string {
	return fmt.Sprintf("keyvault: %d %s: %s", e.Status, e.Code, e.Message)
}

// Unauthorized is the error Authorize returns for a token that is not
// valid for the vault (expired, wrong audience or issuer, bad signature);
// message is Key Vault's, e.g. "AKV10032: Invalid issuer.".
func Unauthorized(message string) error {
	return &Error{Status: http.StatusUnauthorized, Code: "Unauthorized", Message: message}
}

// Forbidden is the error Authorize returns for a valid caller without the
// permission. ForbiddenByRBAC and ForbiddenByPolicy word it as Key Vault does.
func Forbidden(message, inner string) error {
	return &Error{Status: http.StatusForbidden, Code: "Forbidden", Message: message, Inner: inner}
}

// ForbiddenByRBAC is Key Vault's 403 for a caller without the data action.
func ForbiddenByRBAC(v slipway.Vault, op Operation, subscriptionID, callerID string) error {
	return Forbidden(fmt.Sprintf("Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: oid=%s\r\nAction: '%s'\r\nResource: '/subscriptions/%s/resourcegroups/%s/providers/microsoft.keyvault/vaults/%s/secrets'\r\nAssignment: (not found)\r\nVault: %s;location=%s\r\n",
		callerID, op.DataAction, subscriptionID, strings.ToLower(v.ResourceGroup), strings.ToLower(v.Name), v.Name, v.Location), "ForbiddenByRbac")
}

// ForbiddenByPolicy is Key Vault's 403 for a caller whose access policy
// lacks the permission.
func ForbiddenByPolicy(v slipway.Vault, op Operation, callerID string) error {
	return Forbidden(fmt.Sprintf("The user, group or application '%s' does not have secrets %s permission on key vault '%s;location=%s'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
		callerID, op.Permission, v.Name, v.Location), "AccessDenied")
}

// Limits of the wire.
const (
	maxBody       = 64 << 10 // a 25 KiB value, escaped, plus attributes
	maxBackupBody = 1 << 20
	// maxBackupVersions is Key Vault's limit on the versions a backup holds
	// (https://learn.microsoft.com/azure/key-vault/general/backup#limitations);
	// it also bounds what one backup reads into memory.
	maxBackupVersions = 500
	defaultPage       = 25
	maxPage           = 25
	maxContentLen     = 255
	backupAAD         = "keyvault-secret-backup"
)

// apiVersionRE accepts the versions the SDKs send: 7.x (azure-keyvault-secrets,
// with -preview suffixes) and dated versions (azsecrets v1.5 sends 2026-04-01).
var apiVersionRE = regexp.MustCompile(`^(7\.[0-9]{1,2}(-preview(\.[0-9]{1,2})?)?|20[1-9][0-9]-[01][0-9]-[0-3][0-9](-preview)?)$`)

// ServeVault serves one request for vault, which the integrator resolved
// from the Host ([VaultFromHost], then the store's FindVault: an active
// vault). A Host naming no active vault is the integrator's 404.
func (h *Handler) ServeVault(w http.ResponseWriter, r *http.Request, vault slipway.Vault) {
	status := h.serve(w, r, vault)
	h.cfg.Logger.Info("key vault request", "vault", vault.Name, "method", r.Method, "path", r.URL.Path, "status", status)
}

// serve returns the status it wrote, for the log.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, vault slipway.Vault) (status int) {
	defer func() {
		if p := recover(); p != nil {
			h.cfg.Logger.Error("key vault handler panicked", "vault", vault.Name, "panic", fmt.Sprint(p))
			status = h.writeError(w, r, vault, &Error{Status: 500, Code: "InternalServerError", Message: "An internal error occurred."})
		}
	}()
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if !cleartext.OverTLS(r) {
		// Tokens and secret values never cross in the clear; Key Vault
		// does not listen on HTTP at all.
		return h.writeError(w, r, vault, badParameter("Key Vault is served over HTTPS only: use https://"+strings.ToLower(r.Host)+"."))
	}
	route, err := parseRoute(r)
	if err != nil {
		return h.writeError(w, r, vault, err)
	}
	// The challenge comes before anything else, as Key Vault's does: the
	// SDKs send the first request without a token (and without its body).
	if !hasBearer(r) {
		return h.writeError(w, r, vault, Unauthorized("AKV10000: Request is missing a Bearer or PoP token."))
	}
	if v := r.URL.Query().Get("api-version"); v == "" {
		return h.writeError(w, r, vault, badParameter("The request URI contains an invalid or missing api-version parameter."))
	} else if !apiVersionRE.MatchString(v) {
		return h.writeError(w, r, vault, badParameter(fmt.Sprintf("The specified version (%s) is not recognized. Consider using the latest supported version.", v)))
	}
	if err := h.cfg.Authorize(r, vault, route.op); err != nil {
		return h.writeError(w, r, vault, err)
	}
	if h.cfg.Reserve != nil && (route.op == OpSet || route.op == OpRestore) {
		if err := h.cfg.Reserve.Check(r.ContentLength); err != nil {
			w.Header().Set("Retry-After", "60")
			return h.writeError(w, r, vault, &Error{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable",
				Message: "The secret was not stored: the server is short of disk space. Retry once space is freed."})
		}
	}
	body, err := route.fn(h, r, vault, route)
	if err != nil {
		return h.writeError(w, r, vault, err)
	}
	if body == nil {
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent
	}
	b, err := json.Marshal(body)
	if err != nil {
		return h.writeError(w, r, vault, fmt.Errorf("encoding response: %w", err))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(b) //nolint:errcheck // the client went away
	return http.StatusOK
}

func hasBearer(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(tok) != ""
}

func badParameter(msg string) error {
	return &Error{Status: http.StatusBadRequest, Code: "BadParameter", Message: msg}
}

// writeError renders err as Key Vault does; a 401 carries the challenge.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, vault slipway.Vault, err error) int {
	var e *Error
	if !errors.As(err, &e) {
		e = fromDomain(err)
		if e.Status == http.StatusInternalServerError {
			h.cfg.Logger.Error("key vault request failed", "vault", vault.Name, "method", r.Method, "path", r.URL.Path, "err", err)
		}
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization="%s/%s", resource="%s"`,
			h.cfg.Authority, vault.TenantID, h.cfg.Resource(r.Host)))
	}
	body := map[string]any{"code": e.Code, "message": e.Message}
	if e.Inner != "" {
		body["innererror"] = map[string]string{"code": e.Inner}
	}
	b, _ := json.Marshal(map[string]any{"error": body}) // plain maps of strings always marshal
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(e.Status)
	w.Write(b) //nolint:errcheck // the client went away
	return e.Status
}

// fromDomain maps a store error to Key Vault's status and code.
func fromDomain(err error) *Error {
	msg := slipway.ErrorMessage(err)
	switch slipway.ErrorCode(err) {
	case slipway.ENOTFOUND:
		code := "SecretNotFound"
		if strings.HasPrefix(msg, "The vault") {
			code = "VaultNotFound"
		}
		return &Error{Status: http.StatusNotFound, Code: code, Message: msg}
	case slipway.ECONFLICT:
		inner := ""
		if strings.Contains(msg, "deleted but recoverable") {
			inner = "ObjectIsDeletedButRecoverable"
		}
		return &Error{Status: http.StatusConflict, Code: "Conflict", Message: msg, Inner: inner}
	case slipway.EINVALID:
		return &Error{Status: http.StatusBadRequest, Code: "BadParameter", Message: msg}
	case slipway.EFORBIDDEN:
		return &Error{Status: http.StatusForbidden, Code: "Forbidden", Message: msg}
	case slipway.EUNAUTHORIZED:
		return &Error{Status: http.StatusUnauthorized, Code: "Unauthorized", Message: msg}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "InternalServerError", Message: "An internal error occurred."}
}

// route is a parsed request path.
type route struct {
	op      Operation
	fn      func(h *Handler, r *http.Request, v slipway.Vault, rt route) (any, error)
	name    string
	version string
}

// parseRoute maps method and path to an operation. Names and versions are
// checked here, so that nothing else sees an unchecked path segment.
func parseRoute(r *http.Request) (route, error) {
	p := strings.Trim(r.URL.EscapedPath(), "/")
	segs := strings.Split(p, "/")
	if len(segs) > 4 {
		return route{}, notFoundPath()
	}
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			return route{}, badParameter("The request URI is malformed.")
		}
		segs[i] = u
	}
	var rt route
	if len(segs) >= 2 {
		rt.name = segs[1]
		if rt.name != "restore" || segs[0] != "secrets" {
			if err := slipway.ValidateSecretName(rt.name); err != nil {
				return route{}, err
			}
		}
	}
	m := r.Method
	switch {
	case len(segs) == 1 && segs[0] == "secrets" && m == http.MethodGet:
		rt.op, rt.fn = OpList, (*Handler).listSecrets
	case len(segs) == 1 && segs[0] == "deletedsecrets" && m == http.MethodGet:
		rt.op, rt.fn = OpListDeleted, (*Handler).listDeleted
	case len(segs) == 2 && segs[0] == "secrets" && segs[1] == "restore" && m == http.MethodPost:
		rt.name = ""
		rt.op, rt.fn = OpRestore, (*Handler).restore
	case len(segs) == 2 && segs[0] == "secrets" && m == http.MethodPut:
		rt.op, rt.fn = OpSet, (*Handler).set
	case len(segs) == 2 && segs[0] == "secrets" && m == http.MethodDelete:
		rt.op, rt.fn = OpDelete, (*Handler).delete
	case len(segs) == 3 && segs[0] == "secrets" && segs[2] == "versions" && m == http.MethodGet:
		rt.op, rt.fn = OpList, (*Handler).listVersions
	case len(segs) == 3 && segs[0] == "secrets" && segs[2] == "backup" && m == http.MethodPost:
		rt.op, rt.fn = OpBackup, (*Handler).backup
	case (len(segs) == 2 || len(segs) == 3) && segs[0] == "secrets" && (m == http.MethodGet || m == http.MethodPatch):
		if len(segs) == 3 && segs[2] != "" {
			if err := slipway.ValidateSecretVersion(segs[2]); err != nil {
				return route{}, err
			}
			rt.version = strings.ToLower(segs[2])
		}
		rt.op, rt.fn = OpGet, (*Handler).get
		if m == http.MethodPatch {
			rt.op, rt.fn = OpUpdate, (*Handler).update
		}
	case len(segs) == 2 && segs[0] == "deletedsecrets" && m == http.MethodGet:
		rt.op, rt.fn = OpGetDeleted, (*Handler).getDeleted
	case len(segs) == 2 && segs[0] == "deletedsecrets" && m == http.MethodDelete:
		rt.op, rt.fn = OpPurge, (*Handler).purge
	case len(segs) == 3 && segs[0] == "deletedsecrets" && segs[2] == "recover" && m == http.MethodPost:
		rt.op, rt.fn = OpRecover, (*Handler).recover
	default:
		return route{}, notFoundPath()
	}
	return rt, nil
}

func notFoundPath() error {
	return &Error{Status: http.StatusNotFound, Code: "NotFound", Message: "The requested resource was not found. Keys and certificates are not served by this vault."}
}

// attributes is SecretAttributes on the wire; times are Unix seconds.
type attributes struct {
	Enabled         *bool  `json:"enabled,omitempty"`
	NotBefore       *int64 `json:"nbf,omitempty"`
	Expires         *int64 `json:"exp,omitempty"`
	Created         int64  `json:"created,omitempty"`
	Updated         int64  `json:"updated,omitempty"`
	RecoverableDays int    `json:"recoverableDays,omitempty"`
	RecoveryLevel   string `json:"recoveryLevel,omitempty"`
}

// bundle is SecretBundle, SecretItem and DeletedSecretBundle in one shape.
type bundle struct {
	Value              *string           `json:"value,omitempty"`
	ID                 string            `json:"id"`
	ContentType        string            `json:"contentType,omitempty"`
	Attributes         attributes        `json:"attributes"`
	Tags               map[string]string `json:"tags,omitempty"`
	RecoveryID         string            `json:"recoveryId,omitempty"`
	DeletedDate        int64             `json:"deletedDate,omitempty"`
	ScheduledPurgeDate int64             `json:"scheduledPurgeDate,omitempty"`
}

func unixPtr(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	u := t.Unix()
	return &u
}

// base is the vault's URL for ids: https://<host as requested>.
func base(r *http.Request) string { return "https://" + strings.ToLower(r.Host) }

// toBundle renders a secret; withVersion false gives the versionless id of
// a list item.
func toBundle(r *http.Request, v slipway.Vault, s slipway.Secret, withValue, withVersion bool) bundle {
	id := base(r) + "/secrets/" + s.Name
	if withVersion {
		id += "/" + s.Version
	}
	enabled := s.Enabled
	b := bundle{ID: id, ContentType: s.ContentType, Tags: s.Tags, Attributes: attributes{
		Enabled: &enabled, NotBefore: unixPtr(s.NotBefore), Expires: unixPtr(s.Expires),
		Created: s.Created.Unix(), Updated: s.Updated.Unix(),
		RecoverableDays: v.RetentionDays(), RecoveryLevel: v.RecoveryLevel(),
	}}
	if withValue {
		val := s.Value
		b.Value = &val
	}
	return b
}

func toDeleted(r *http.Request, v slipway.Vault, d slipway.DeletedSecret, withVersion bool) bundle {
	b := toBundle(r, v, d.Secret, false, withVersion)
	b.RecoveryID = base(r) + "/deletedsecrets/" + d.Name
	b.DeletedDate, b.ScheduledPurgeDate = d.Deleted.Unix(), d.ScheduledPurge.Unix()
	return b
}

// readJSON decodes a bounded JSON body into dst.
func readJSON(r *http.Request, limit int64, dst any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return badParameter("The request body could not be read.")
	}
	if int64(len(b)) > limit {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "BadParameter", Message: "The request body is too large."}
	}
	if err := json.Unmarshal(b, dst); err != nil {
		// Never echo the body or the decoder's excerpt of it: it may hold the value.
		return badParameter("The request body is not valid JSON for this operation.")
	}
	return nil
}

// wireAttrs is the writable part of SecretAttributes in a request.
type wireAttrs struct {
	Enabled   *bool  `json:"enabled"`
	NotBefore *int64 `json:"nbf"`
	Expires   *int64 `json:"exp"`
}

func checkContentTags(contentType *string, tags map[string]string) error {
	if contentType != nil && len(*contentType) > maxContentLen {
		return badParameter("The content type exceeds the maximum length of 255 characters.")
	}
	if len(tags) > slipway.MaxSecretTags {
		return badParameter("The number of tags exceeds the limit of 15.")
	}
	for k, v := range tags {
		if len(k) > 512 || len(v) > 256 {
			return badParameter("A tag name exceeds 512 characters or a tag value exceeds 256 characters.")
		}
	}
	return nil
}

func fromUnixPtr(p *int64) time.Time {
	if p == nil || *p == 0 {
		return time.Time{}
	}
	return time.Unix(*p, 0).UTC()
}

func (h *Handler) set(r *http.Request, v slipway.Vault, rt route) (any, error) {
	var req struct {
		Value       *string           `json:"value"`
		ContentType *string           `json:"contentType"`
		Attributes  *wireAttrs        `json:"attributes"`
		Tags        map[string]string `json:"tags"`
	}
	if err := readJSON(r, maxBody, &req); err != nil {
		return nil, err
	}
	if req.Value == nil {
		return nil, badParameter("Property value is required.")
	}
	if len(*req.Value) > slipway.MaxSecretValueBytes {
		return nil, badParameter("The secret value exceeds the maximum size of 25 KB.")
	}
	if err := checkContentTags(req.ContentType, req.Tags); err != nil {
		return nil, err
	}
	s := slipway.Secret{Vault: v.Name, Name: rt.name, Value: *req.Value, Enabled: true, Tags: req.Tags}
	if req.ContentType != nil {
		s.ContentType = *req.ContentType
	}
	if a := req.Attributes; a != nil {
		if a.Enabled != nil {
			s.Enabled = *a.Enabled
		}
		s.NotBefore, s.Expires = fromUnixPtr(a.NotBefore), fromUnixPtr(a.Expires)
	}
	out, err := h.cfg.Store.SetSecret(r.Context(), s)
	if err != nil {
		return nil, err
	}
	return toBundle(r, v, out, true, true), nil
}

// usable refuses to hand out a disabled, expired or not-yet-valid version.
func (h *Handler) usable(s slipway.Secret) error {
	return Usable(s, h.cfg.Now)
}

func (h *Handler) get(r *http.Request, v slipway.Vault, rt route) (any, error) {
	s, err := h.cfg.Store.Secret(r.Context(), v.Name, rt.name, rt.version)
	if err != nil {
		return nil, err
	}
	if err := h.usable(s); err != nil {
		return nil, err
	}
	return toBundle(r, v, s, true, true), nil
}

func (h *Handler) update(r *http.Request, v slipway.Vault, rt route) (any, error) {
	var req struct {
		ContentType *string            `json:"contentType"`
		Attributes  *wireAttrs         `json:"attributes"`
		Tags        *map[string]string `json:"tags"`
	}
	if err := readJSON(r, maxBody, &req); err != nil {
		return nil, err
	}
	var tags map[string]string
	if req.Tags != nil {
		tags = *req.Tags
	}
	if err := checkContentTags(req.ContentType, tags); err != nil {
		return nil, err
	}
	u := slipway.SecretUpdate{ContentType: req.ContentType, Tags: req.Tags}
	if a := req.Attributes; a != nil {
		u.Enabled = a.Enabled
		if a.NotBefore != nil {
			t := fromUnixPtr(a.NotBefore)
			u.NotBefore = &t
		}
		if a.Expires != nil {
			t := fromUnixPtr(a.Expires)
			u.Expires = &t
		}
	}
	s, err := h.cfg.Store.UpdateSecret(r.Context(), v.Name, rt.name, rt.version, u)
	if err != nil {
		return nil, err
	}
	return toBundle(r, v, s, false, true), nil
}

func (h *Handler) delete(r *http.Request, v slipway.Vault, rt route) (any, error) {
	d, err := h.cfg.Store.DeleteSecret(r.Context(), v.Name, rt.name)
	if err != nil {
		return nil, err
	}
	return toDeleted(r, v, d, true), nil
}

func (h *Handler) getDeleted(r *http.Request, v slipway.Vault, rt route) (any, error) {
	d, err := h.cfg.Store.DeletedSecret(r.Context(), v.Name, rt.name)
	if err != nil {
		return nil, deletedNotFound(err)
	}
	return toDeleted(r, v, d, true), nil
}

// deletedNotFound gives a missing deleted secret Key Vault's code.
func deletedNotFound(err error) error {
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return &Error{Status: http.StatusNotFound, Code: "SecretNotFound", Message: slipway.ErrorMessage(err)}
	}
	return err
}

func (h *Handler) recover(r *http.Request, v slipway.Vault, rt route) (any, error) {
	s, err := h.cfg.Store.RecoverSecret(r.Context(), v.Name, rt.name)
	if err != nil {
		return nil, deletedNotFound(err)
	}
	return toBundle(r, v, s, false, true), nil
}

func (h *Handler) purge(r *http.Request, v slipway.Vault, rt route) (any, error) {
	if err := h.cfg.Store.PurgeSecret(r.Context(), v.Name, rt.name); err != nil {
		return nil, deletedNotFound(err)
	}
	return nil, nil
}

// page reads maxresults (1-25, default 25) and the $skiptoken of a nextLink.
func page(r *http.Request) (limit int, token string, err error) {
	q := r.URL.Query()
	limit = defaultPage
	if s := q.Get("maxresults"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPage {
			return 0, "", badParameter("invalid maxresults value: the value must be between 1 and 25.")
		}
		limit = n
	}
	if t := q.Get("$skiptoken"); t != "" {
		b, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil || len(b) > 200 {
			return 0, "", badParameter("The $skiptoken is invalid.")
		}
		token = string(b)
	}
	return limit, token, nil
}

// nextLink builds the URL of the next page, keeping the api-version.
func nextLink(r *http.Request, token string, limit int) string {
	q := url.Values{}
	q.Set("api-version", r.URL.Query().Get("api-version"))
	q.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte(token)))
	q.Set("maxresults", strconv.Itoa(limit))
	return base(r) + r.URL.EscapedPath() + "?" + q.Encode()
}

type listResult struct {
	Value    []bundle `json:"value"`
	NextLink *string  `json:"nextLink"`
}

func (h *Handler) list(r *http.Request, v slipway.Vault, deleted bool) (any, error) {
	limit, after, err := page(r)
	if err != nil {
		return nil, err
	}
	if after != "" && slipway.ValidateSecretName(after) != nil {
		return nil, badParameter("The $skiptoken is invalid.")
	}
	items, more, err := h.cfg.Store.SecretPage(r.Context(), v.Name, deleted, after, limit)
	if err != nil {
		return nil, err
	}
	out := listResult{Value: []bundle{}}
	for _, d := range items {
		if deleted {
			out.Value = append(out.Value, toDeleted(r, v, d, false))
		} else {
			out.Value = append(out.Value, toBundle(r, v, d.Secret, false, false))
		}
	}
	if more {
		l := nextLink(r, items[len(items)-1].Name, limit)
		out.NextLink = &l
	}
	return out, nil
}

func (h *Handler) listSecrets(r *http.Request, v slipway.Vault, _ route) (any, error) {
	return h.list(r, v, false)
}

func (h *Handler) listDeleted(r *http.Request, v slipway.Vault, _ route) (any, error) {
	return h.list(r, v, true)
}

func (h *Handler) listVersions(r *http.Request, v slipway.Vault, rt route) (any, error) {
	limit, tok, err := page(r)
	if err != nil {
		return nil, err
	}
	skip := 0
	if tok != "" {
		if skip, err = strconv.Atoi(tok); err != nil || skip < 0 || skip > 1<<30 {
			return nil, badParameter("The $skiptoken is invalid.")
		}
	}
	items, more, err := h.cfg.Store.SecretVersionPage(r.Context(), v.Name, rt.name, skip, limit)
	if err != nil {
		return nil, err
	}
	out := listResult{Value: []bundle{}}
	for _, s := range items {
		out.Value = append(out.Value, toBundle(r, v, s, false, true))
	}
	if more {
		l := nextLink(r, strconv.Itoa(skip+len(items)), limit)
		out.NextLink = &l
	}
	return out, nil
}

// backupBlob is what a backup holds before it is sealed: every version of
// one secret, with values, and a random id that makes each blob unique.
type backupBlob struct {
	Format   string           `json:"format"`
	ID       string           `json:"id"`
	Versions []slipway.Secret `json:"versions"`
}

const backupFormat = "slipway-keyvault-secret-backup-1"

func (h *Handler) backup(r *http.Request, v slipway.Vault, rt route) (any, error) {
	// Count before reading values: a secret may have any number of versions.
	if more, _, err := h.cfg.Store.SecretVersionPage(r.Context(), v.Name, rt.name, maxBackupVersions, 1); err != nil {
		return nil, err
	} else if len(more) > 0 {
		return nil, badParameter(fmt.Sprintf("Secret %s has more than %d versions; a backup holds at most %d.", rt.name, maxBackupVersions, maxBackupVersions))
	}
	vs, err := h.cfg.Store.SecretVersions(r.Context(), v.Name, rt.name)
	if err != nil {
		return nil, err
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("generating backup id: %w", err)
	}
	plain, err := json.Marshal(backupBlob{Format: backupFormat, ID: hex.EncodeToString(id[:]), Versions: vs})
	if err != nil {
		return nil, fmt.Errorf("encoding backup: %w", err)
	}
	sealed, err := h.cfg.Sealer.SealBytes(plain, backupAAD)
	if err != nil {
		return nil, err
	}
	// Hand out only what restore takes back: {"value":"<blob>"} within maxBackupBody.
	if base64.RawURLEncoding.EncodedLen(len(sealed))+len(`{"value":""}`) > maxBackupBody {
		return nil, badParameter(fmt.Sprintf("Secret %s is too large to back up: its versions together exceed the %d bytes a backup may hold.", rt.name, maxBackupBody))
	}
	return map[string]string{"value": base64.RawURLEncoding.EncodeToString(sealed)}, nil
}

func (h *Handler) restore(r *http.Request, v slipway.Vault, _ route) (any, error) {
	var req struct {
		Value string `json:"value"`
	}
	if err := readJSON(r, maxBackupBody, &req); err != nil {
		return nil, err
	}
	sealed, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(req.Value, "="))
	if err != nil || len(sealed) == 0 {
		return nil, badParameter("Backup blob is malformed.")
	}
	plain, err := h.cfg.Sealer.OpenBytes(sealed, backupAAD)
	if err != nil {
		return nil, badParameter("Backup blob could not be decrypted: it is corrupt or was made by another installation.")
	}
	var b backupBlob
	if err := json.Unmarshal(plain, &b); err != nil || b.Format != backupFormat || len(b.Versions) == 0 {
		return nil, badParameter("Backup blob is malformed.")
	}
	s, err := h.cfg.Store.RestoreSecret(r.Context(), v.Name, b.Versions)
	if err != nil {
		return nil, err
	}
	return toBundle(r, v, s, false, true), nil
}
