// Package arm serves the subset of Azure Resource Manager's REST API that
// Slipway implements: Microsoft.Resources (subscriptions, tenants, locations,
// resource groups, resource providers), Microsoft.Web (App Service plans,
// sites, their config, publishing credentials and profiles, instances and
// deployment status) and
// Microsoft.Storage (storage accounts and their keys) and Microsoft.KeyVault
// (vaults, their access policies, deleted vaults), so
// that Slipway's CLI — and one day the unmodified `az` CLI — can drive
// Slipway with ARM's paths, JSON shapes and status codes (docs/arm.md §1, §3).
//
// It owns request routing for the management endpoint, ARM's error
// envelope and request-id headers, and the mapping between the domain types
// and ARM's wire shapes. State lives in the store; side effects on running
// apps go through the small Controller interface declared here.
package arm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/armtemplate"
	"github.com/slipway-dev/slipway/internal/certs"
	"github.com/slipway-dev/slipway/internal/cleartext"
	"github.com/slipway-dev/slipway/internal/diskreserve"
	"github.com/slipway-dev/slipway/internal/rbac"
	"github.com/slipway-dev/slipway/internal/store"
)

// Controller carries out the side effects of management calls on running
// apps. The deploy coordinator implements it.
type Controller interface {
	// SiteConfigChanged is called after settings, connection strings or the
	// site config changed: the app restarts, as App Service restarts it.
	SiteConfigChanged(ctx context.Context, rg, site string) error
	RestartSite(ctx context.Context, rg, site string) error
	StopSite(ctx context.Context, rg, site string) error
	StartSite(ctx context.Context, rg, site string) error
	// SiteDeleted is called after a site's record is deleted: stop its
	// instances and remove its files.
	SiteDeleted(ctx context.Context, rg, site string) error
	// LogsConfigChanged is called after a site's logging document changed
	// (config/logs): the size quota and retention of its log files.
	LogsConfigChanged(ctx context.Context, rg, site string) error
	// PlanChanged is called after a plan's SKU or worker count changed:
	// its apps restart with the new size and instance count.
	PlanChanged(ctx context.Context, rg, plan string) error
	// Instances returns the site's running instances.
	Instances(ctx context.Context, rg, site string) ([]Instance, error)
	// SiteStatus returns the runtime status of the site's instances
	// (sites/{app}/siteStatus, sitestatus.go).
	SiteStatus(ctx context.Context, rg, site string) ([]InstanceStatus, error)
	// StorageAccountDeleted is called after a storage account's record is
	// deleted (alone or with its resource group): remove its blob data.
	StorageAccountDeleted(ctx context.Context, rg, account string) error
}

// Instance is one running instance of a site (sites/{app}/instances).
type Instance struct {
	ID string // WEBSITE_INSTANCE_ID, the resource's name
	// Machine is the instance's machine name (properties.machineName), as
	// its startup logs name it.
	Machine string
	// Ready reports that it serves requests (Azure's state READY; else UNKNOWN).
	Ready bool
	// Status, Address and HealthCheckFailures are Slipway's additions, for
	// the operator: its life-cycle status ("Starting", "Ready",
	// "Unhealthy", "Removed", "Restarting"), where the front door reaches
	// it (host:port) and its consecutive failed health pings.
	Status              string
	Address             string
	HealthCheckFailures int
}

// Config configures a Handler.
type Config struct {
	Store      *store.Store
	Controller Controller
	Slots      SlotController // slot swaps (slots.go); nil: swaps answer 503
	// OneDeploy runs the OneDeploy extension (onedeploy.go); nil: it
	// answers 501.
	OneDeploy OneDeploy
	// Backups takes and restores app backups (backups.go); nil: refused.
	Backups Backups
	// WebJobs answers the WebJobs routes from Kudu (webjobs.go); nil: 404.
	WebJobs WebJobs
	// Domain is the base domain apps are named under, e.g. "localhost".
	Domain string
	// HostSuffix is appended to host names when the front door is not on
	// 80/443, e.g. ":8080" gives "app.localhost:8080" (docs/arm.md §4 "Blockers").
	HostSuffix string
	// Scheme is "http" or "https", used in scmUri and destinationAppUrl.
	Scheme string
	// PythonVersions are the installed Python versions offered as runtimes,
	// e.g. ["3.10", "3.11", "3.12", "3.13"]. Empty: any 3.x is accepted.
	PythonVersions []string
	// Authorize checks a request's credentials and returns a
	// *slipway.Error with EUNAUTHORIZED when they are missing or wrong. A
	// nil Authorize refuses every request.
	Authorize func(r *http.Request) error
	// AuthorityURL is the token authority (e.g. "https://login.localhost"),
	// named in the WWW-Authenticate challenge of a 401 and as the login
	// endpoint in /metadata/endpoints. Optional.
	AuthorityURL string
	// ManagementURL is this endpoint's URL as clients reach it (e.g.
	// "https://management.localhost:8443/"), published as the resource
	// manager and token audience in /metadata/endpoints. Empty: the
	// request's scheme and Host (metadata.go).
	ManagementURL string
	// GraphURL is the directory's URL (Microsoft Graph subset, e.g.
	// "https://graph.localhost:8443/"), published as
	// microsoftGraphResourceId in /metadata/endpoints. Optional.
	GraphURL string
	// BlobEndpoint returns a storage account's blob endpoint URL, with a
	// trailing slash: primaryEndpoints.blob, e.g.
	// "http://127.0.0.1:10000/<account>/". Nil: that path-style URL on the
	// blob service's default port 10000.
	BlobEndpoint func(account string) string
	// Certificates obtains managed certificates and reloads the TLS
	// listeners' certificates after a change. Nil: uploads work, managed
	// certificates are refused with the flag that enables them.
	Certificates Certificates
	// Verifier checks the DNS records of a custom host name before it is
	// bound (hostnames.go). Nil: custom host names cannot be added.
	Verifier HostNameVerifier
	// ExternalIP is the platform's address that A records of custom host
	// names point at, shown as the site's inboundIpAddress. Optional.
	ExternalIP string
	// RBAC keeps role assignments and authorizes by them
	// (authorization.go). Nil: one over Store. Give the same Authorizer
	// to whatever checks requests (AuthorizeRequest), so that its
	// in-memory assignments see every change made here.
	RBAC *rbac.Authorizer
	// CallerObjectID, when set, names the principal behind a request
	// (from its verified token), recorded as a role assignment's
	// createdBy. Nil or "": none (the admin token).
	CallerObjectID func(r *http.Request) string
	// VaultURI returns a key vault's properties.vaultUri, with a trailing
	// slash. Nil: https://<name>.vault.<Domain><HostSuffix>/.
	VaultURI func(name string) string
	// References reports the status of sites' Key Vault references
	// (config/configreferences, configreferences.go). Nil: none is
	// reported as a reference.
	References References
	Logger     *slog.Logger
	Now        func() time.Time
	// Reserve, when set, keeps free space on the disk of the store: a PUT
	// or PATCH (a change to store) is refused with 503 and Retry-After
	// while it is at its reserve; reads, actions and deletes go on, so
	// that space can be freed.
	Reserve *diskreserve.Guard
	// Containers serves blob containers on the management plane
	// (storagecontainers.go). Nil: those routes answer 501.
	Containers Containers
	// Postgres runs the servers of Microsoft.DBforPostgreSQL/flexibleServers
	// (postgres.go). Nil: the provider is refused.
	Postgres PostgresServers
	// Redis runs the caches of Microsoft.Cache/redis (redis.go). Nil: the
	// provider is refused.
	Redis RedisCaches
}

// maxBodyBytes bounds request bodies: ARM documents are small.
const maxBodyBytes = 4 << 20

// Handler is the ARM endpoint, an http.Handler.
type Handler struct {
	cfg    Config
	logger *slog.Logger
	routes []route
	pfx    *certs.PFXDecoder // uploaded certificates, a few at a time
	// deployments are the template deployments running (templatedeployments.go).
	deployments deploymentRuns
	// templateValues bounds the memory all template evaluations hold
	// together (templatedeployments.go).
	templateValues *armtemplate.Pool
	// pgOps are the PostgreSQL operations answered lately; pgRulesMu
	// orders the firewall rules given to the backend (postgres.go).
	pgOps     pgOperations
	pgRulesMu sync.Mutex
	// redisRulesMu orders the caches' firewall rules given to the
	// backend; redisKeyLocks (lower-case name → *sync.Mutex) each cache's
	// regenerated keys, one cache's slow change holding up no other's
	// (redis.go).
	redisRulesMu  sync.Mutex
	redisKeyLocks sync.Map
}

var _ http.Handler = (*Handler)(nil)

// New returns a Handler serving cfg.Store.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Scheme == "" {
		cfg.Scheme = "http"
	}
	if cfg.Domain == "" {
		cfg.Domain = "localhost"
	}
	if cfg.RBAC == nil && cfg.Store != nil {
		cfg.RBAC = rbac.New(rbac.Config{Store: cfg.Store, Now: cfg.Now})
	}
	h := &Handler{cfg: cfg, logger: cfg.Logger, pfx: certs.NewPFXDecoder(certs.MaxConcurrentPFX),
		templateValues: armtemplate.NewPool(templateValueBytes)}
	h.routes = h.routeTable()
	return h
}

// ServeHTTP cleans the path (collapsing "//" without redirecting, docs/arm.md
// §1.1), sets ARM's request-id headers, refuses plain HTTP from other
// machines (all but the public metadata document), authorizes, checks
// api-version, routes, and renders any error as ARM's JSON error.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newGUID()
	w.Header().Set("x-ms-request-id", reqID)
	if v := r.Header.Get("x-ms-client-request-id"); v != "" {
		w.Header().Set("x-ms-client-request-id", v)
	}
	corr := r.Header.Get("x-ms-correlation-request-id")
	if corr == "" {
		corr = reqID
	}
	w.Header().Set("x-ms-correlation-request-id", corr)

	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.logger.Error("panic in ARM handler", "request_id", reqID, "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
			h.writeError(w, r, reqID, fmt.Errorf("panic: %v", v))
		}
	}()
	if err := h.serve(w, r); err != nil {
		h.writeError(w, r, reqID, err)
	}
}

// serve does the work of ServeHTTP and returns the error to render.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request) error {
	segs := splitPath(r.URL.Path)
	if r.Method == http.MethodGet && isMetadataEndpoints(segs) {
		// Public: clients read it before they have credentials.
		if err := checkAPIVersion(r); err != nil {
			return err
		}
		return h.metadataEndpoints(w, r)
	}
	if cleartext.FromNetwork(r) {
		// Azure Resource Manager is HTTPS only (docs/arm.md §1.1): a token
		// that crossed a network in the clear is not taken, and no 401
		// challenge asks for one.
		msg := fmt.Sprintf("The management API takes requests over HTTPS only, except from this machine: use https://%s.", strings.ToLower(r.Host))
		if r.Header.Get("Authorization") != "" {
			msg += " " + cleartext.TokenExposed
		}
		return slipway.Errorf(slipway.EINVALID, "%s", msg)
	}
	if h.cfg.Authorize == nil {
		return slipway.Errorf(slipway.EUNAUTHORIZED, "Authentication is not configured on this server.")
	}
	if err := h.cfg.Authorize(r); err != nil {
		return err
	}
	if err := checkAPIVersion(r); err != nil {
		return err
	}
	if err := checkContentType(r); err != nil {
		return err
	}
	// Role assignments and definitions live under any scope: routed
	// before the fixed table.
	if handled, err := h.serveAuthorization(w, r, segs); handled {
		return err
	}
	// So do their tags (tags.go).
	if handled, err := h.serveTags(w, r, segs); handled {
		return err
	}
	var pathMatched bool
	for _, rt := range h.routes {
		p, ok := rt.match(segs)
		if !ok {
			continue
		}
		pathMatched = true
		if rt.method != r.Method {
			continue
		}
		if p.sub != "" {
			sub, err := h.checkSubscription(r.Context(), p.sub)
			if err != nil {
				return err
			}
			p.sub = sub // ids carry the canonical (stored) casing
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		if r.Method == http.MethodPut || r.Method == http.MethodPatch {
			if err := h.checkReserve(w, r); err != nil {
				return err
			}
		}
		if rt.filtered {
			action, scope := rbac.ActionFor(r.Method, r.URL.Path)
			if _, ok, err := h.callerMay(r, action, scope); err != nil {
				return err
			} else if !ok {
				return h.serveFiltered(w, r, rt, p) // filteredlists.go
			}
		}
		return rt.fn(w, r, p)
	}
	if pathMatched {
		return errMethodNotAllowed(r.Method)
	}
	if ns := h.unservedNamespace(segs); ns != "" {
		return h.errUnservedNamespace(r.URL.Path, ns)
	}
	return &apiError{Status: http.StatusNotFound, Code: "NotFound",
		Message: fmt.Sprintf("No HTTP resource was found that matches the request URI '%s'.", r.URL.Path)}
}

// unservedNamespace is the resource provider namespace a path names after
// a "providers" segment, when Slipway serves no such namespace; "" if it
// names none or one Slipway serves.
func (h *Handler) unservedNamespace(segs []string) string {
	for i := 0; i+1 < len(segs); i++ {
		if !strings.EqualFold(segs[i], "providers") {
			continue
		}
		ns := segs[i+1]
		if _, err := h.findProvider(ns); err != nil && strings.Contains(ns, ".") && len(ns) <= 100 {
			return ns
		}
	}
	return ""
}

// errUnservedNamespace is ARM's 404 for a path of namespace ns, which
// Slipway does not serve, saying what to do instead.
func (h *Handler) errUnservedNamespace(path, ns string) error {
	return &apiError{Status: http.StatusNotFound, Code: "NotFound", Message: fmt.Sprintf(
		"No HTTP resource was found that matches the request URI '%s': Slipway does not serve the resource provider '%s' (it serves %s). Run that service yourself and give the app its address in an app setting; apps reach the host's services at 169.254.0.1 (slipway server --allow-host-port): README, Differences from App Service.",
		path, ns, h.servedNamespaces())}
}

// servedNamespaces lists the namespaces Slipway serves, for a message:
// Microsoft.DBforPostgreSQL and Microsoft.Cache only with a backend.
func (h *Handler) servedNamespaces() string {
	var names []string
	for _, rp := range h.providers() {
		names = append(names, rp.namespace)
	}
	return strings.Join(names, ", ")
}

// splitPath collapses repeated slashes and splits the path into segments.
func splitPath(p string) []string {
	var segs []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	return segs
}

var apiVersionRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(-[A-Za-z0-9.]+)?$`)

// checkAPIVersion requires api-version (docs/arm.md §3.3). Any well-formed value
// is accepted, and a duplicated parameter is tolerated.
func checkAPIVersion(r *http.Request) error {
	vs := r.URL.Query()["api-version"]
	if len(vs) == 0 || vs[0] == "" {
		return &apiError{Status: http.StatusBadRequest, Code: "MissingApiVersionParameter",
			Message: "The api-version query parameter (?api-version=) is required for all requests."}
	}
	for _, v := range vs {
		if !apiVersionRE.MatchString(v) {
			return &apiError{Status: http.StatusBadRequest, Code: "InvalidApiVersionParameter",
				Message: fmt.Sprintf("The api-version '%s' is invalid. The supported versions are dates of the form 'yyyy-mm-dd', optionally with a '-preview' suffix.", v)}
		}
	}
	return nil
}

// checkContentType refuses form and plain-text bodies, which a browser can
// send cross-site without a preflight: ARM bodies are JSON.
func checkContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" || r.ContentLength == 0 {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return &apiError{Status: http.StatusUnsupportedMediaType, Code: "UnsupportedMediaType",
			Message: fmt.Sprintf("The content media type '%s' is not supported. Use 'application/json'.", ct)}
	}
	switch mt {
	case "application/x-www-form-urlencoded", "multipart/form-data", "text/plain":
		return &apiError{Status: http.StatusUnsupportedMediaType, Code: "UnsupportedMediaType",
			Message: fmt.Sprintf("The content media type '%s' is not supported. Use 'application/json'.", mt)}
	}
	return nil
}

// checkSubscription answers 404 SubscriptionNotFound for any subscription
// but this installation's, and returns the stored spelling of its id.
func (h *Handler) checkSubscription(ctx context.Context, sub string) (string, error) {
	s, _, err := h.cfg.Store.Identity(ctx)
	if err != nil {
		return "", err
	}
	if !strings.EqualFold(s, sub) {
		return "", &apiError{Status: http.StatusNotFound, Code: "SubscriptionNotFound",
			Message: fmt.Sprintf("The subscription '%s' could not be found.", sub)}
	}
	return s, nil
}

// readBody reads the request body: 413 past maxBodyBytes.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &apiError{Status: http.StatusRequestEntityTooLarge, Code: "RequestEntityTooLarge",
				Message: fmt.Sprintf("The request content is larger than %d bytes.", mbe.Limit)}
		}
		return nil, fmt.Errorf("reading request body: %w", err)
	}
	return b, nil
}

// readJSON decodes the request body into v. An empty body leaves v as is.
func readJSON(r *http.Request, v any) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidRequestContent",
			Message: fmt.Sprintf("The request content was invalid and could not be deserialized: '%s'.", err)}
	}
	return nil
}

// writeJSON writes v as the JSON response body.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b) // the client went away; nothing to do
	return nil
}

// writeEmpty writes a status with no body.
func writeEmpty(w http.ResponseWriter, status int) error {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
	return nil
}

// writeDeleted answers the DELETE of a resource in group rg whose
// deletion returned err, as ARM does: 200 when it was deleted, 204 when
// there was none (if the group exists; else the group's error), err
// otherwise.
func (h *Handler) writeDeleted(w http.ResponseWriter, r *http.Request, rg string, err error) error {
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		if _, gerr := h.cfg.Store.ResourceGroup(r.Context(), rg); gerr != nil {
			return gerr
		}
		return writeEmpty(w, http.StatusNoContent)
	} else if err != nil {
		return err
	}
	return writeEmpty(w, http.StatusOK)
}

// newGUID returns a random GUID string.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b[:])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}

// checkReserve refuses a change to the store (Config.Reserve) while its
// disk is at the reserve: 503 with Retry-After, nothing stored.
func (h *Handler) checkReserve(w http.ResponseWriter, r *http.Request) error {
	if h.cfg.Reserve == nil || h.cfg.Reserve.Check(r.ContentLength) == nil {
		return nil
	}
	w.Header().Set("Retry-After", "60")
	return &apiError{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable",
		Message: "The change was not stored: the Slipway server is short of disk space. Retry once space is freed on its data disk."}
}
