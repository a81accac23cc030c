package insights

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/slipway/internal/cleartext"
	"github.com/slipway-dev/slipway/internal/every"
)

// Component is what the service needs of an Application Insights
// component; the control plane keeps components
// (Microsoft.Insights/components).
type Component struct {
	InstrumentationKey string // lower case
	AppID              string
	Name               string
	ResourceID         string // its ARM id, the scope of its role assignments
	// Retention is how long its telemetry is kept (0: the service's).
	Retention time.Duration
	// LocalAuthDisabled: telemetry is taken only with a Microsoft Entra
	// token whose principal may publish to the component
	// (DisableLocalAuth, as on Azure).
	LocalAuthDisabled bool
}

// Components finds components by instrumentation key and by application
// id; a missing one is slipway.ENOTFOUND.
type Components interface {
	ComponentByKey(ctx context.Context, instrumentationKey string) (Component, error)
	ComponentByAppID(ctx context.Context, appID string) (Component, error)
}

// BearerAuth verifies a caller's token and authorizes an action on a
// component (role assignments), for the query API.
type BearerAuth interface {
	// Authenticate returns the object id of the principal of a token
	// issued for audience.
	Authenticate(ctx context.Context, token, audience string) (string, error)
	// Authorize is nil if the principal may take action (a data action
	// if data) at scope.
	Authorize(ctx context.Context, oid, action, scope string, data bool) error
}

// Config configures a Service.
type Config struct {
	// Dir holds the telemetry database (insights.db).
	Dir        string
	Components Components
	// Auth admits callers of the query API; nil refuses them all.
	Auth BearerAuth
	// AdminToken, if set, is the server's administrator token, which may
	// read every component (Slipway's CLI sends it).
	AdminToken string
	// MaxItems and MaxBytes bound what one component keeps (defaults
	// 100,000 items and 256 MB of envelopes): past them its oldest go.
	MaxItems, MaxBytes int64
	// Retention is how long an item of a component without a retention
	// of its own is kept (default 90 days, Azure's default RetentionInDays).
	Retention time.Duration
	// Reserve, if set, refuses telemetry (retryably) when the data
	// directory's disk is at its reserve.
	Reserve interface{ Check(n int64) error }
	Logger  *slog.Logger
	Now     func() time.Time
}

// Service is Application Insights' ingestion and query APIs.
type Service struct {
	db                 *db
	components         Components
	auth               BearerAuth
	adminToken         string
	maxItems, maxBytes int64
	retention          time.Duration
	reserve            interface{ Check(n int64) error }
	log                *slog.Logger
	now                func() time.Time

	// decoding holds a token for each request whose body is being
	// decompressed, split and kept: at most maxDecoding at once.
	decoding chan struct{}

	mu         sync.Mutex
	lastExpiry time.Time
}

// New opens the telemetry database in cfg.Dir.
func New(ctx context.Context, cfg Config) (*Service, error) {
	d, err := openDB(ctx, cfg.Dir)
	if err != nil {
		return nil, err
	}
	s := &Service{db: d, components: cfg.Components, auth: cfg.Auth, adminToken: cfg.AdminToken, maxItems: cfg.MaxItems, maxBytes: cfg.MaxBytes,
		retention: cfg.Retention, reserve: cfg.Reserve, log: cfg.Logger, now: cfg.Now,
		decoding: make(chan struct{}, maxDecoding)}
	if s.maxItems <= 0 {
		s.maxItems = 100000
	}
	if s.maxBytes <= 0 {
		s.maxBytes = 256 << 20
	}
	if s.retention <= 0 {
		s.retention = 90 * 24 * time.Hour
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Close closes the database.
func (s *Service) Close() error { return s.db.close() }

// Sweep removes expired telemetry, and every item of a component that no
// longer exists, each interval (at most once a minute) until ctx ends: a
// quiet server, or a deleted component no one sends to, does not keep them
// until the next telemetry arrives.
func (s *Service) Sweep(ctx context.Context, interval time.Duration) {
	every.Run(ctx, interval, func(ctx context.Context) { s.expireSometimes(ctx, s.now()) })
}

// ServeHTTP serves the ingestion API (POST /v2.1/track, /v2/track) and
// the query API (GET /v1/apps/{appId}/events/...).
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The exporters join the endpoint, which ends in "/", and "/v2.1/track":
	// Breeze takes the path however many slashes it has.
	track := false
	switch path.Clean("/" + r.URL.Path) {
	case "/v2.1/track", "/v2/track":
		track = true
	}
	// A token that crossed a network in the clear is not taken (the
	// query API's are all tokens, the server's administrator's among
	// them), and no challenge asks for one; telemetry alone, whose key
	// is not a secret, may come over plain HTTP.
	if cleartext.FromNetwork(r) && (!track || r.Header.Get("Authorization") != "") {
		msg := "Application Insights takes tokens over HTTPS only, except from this machine: use https://" + strings.ToLower(r.Host) + "."
		if r.Header.Get("Authorization") != "" {
			msg += " " + cleartext.TokenExposed
		}
		if track {
			s.trackFailed(w, badRequest("%s", msg))
		} else {
			s.apiError(w, http.StatusBadRequest, "HttpsRequired", "%s", msg)
		}
		return
	}
	if track {
		// Pages send telemetry too (the JavaScript SDK, from the app's own
		// origin): ingestion answers any origin, as Azure's does. No
		// cookie or other ambient credential is taken here, so nothing a
		// page could borrow from its visitor; a token is one the page's
		// own script holds.
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", trackCORSHeaders)
			h.Set("Access-Control-Max-Age", "3600")
			w.WriteHeader(http.StatusOK)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			s.writeJSON(w, http.StatusMethodNotAllowed, trackResponse{Errors: []trackError{{StatusCode: http.StatusMethodNotAllowed,
				Message: "Telemetry is sent with POST."}}})
			return
		}
		s.track(w, r)
		return
	}
	s.events(w, r)
}

// trackCORSHeaders are the request headers a page may send telemetry
// with: the JavaScript SDK's (Content-Type, Sdk-Context, Content-Name),
// gzip's, and a token's.
const trackCORSHeaders = "Origin, X-Requested-With, Content-Name, Content-Type, Content-Encoding, Accept, Sdk-Context, Authorization, x-ms-client-request-id"

func (s *Service) writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}
