// Package scm serves each app's Kudu (SCM) API at <app>.scm.<domain>, as
// Microsoft documents it (docs/appservice.md §5): zip and OneDeploy pushes,
// Local Git (git.go), deployment records and their logs, redeploys and
// deletions of deployments (redeploy.go), the deployment lock, the live
// log stream, log downloads (dump.go, dockerlogs.go), commands
// (command.go), the repository's clean and delete (scmrepo.go), and the
// diagnostics settings, recent logs, container CI hook, deployment script
// and SSH key routes (diagnostics.go). Requests authenticate with HTTP Basic — the
// app's publishing credentials ("$<app>"), or a principal's deployment user
// (az webapp deployment user set) when that principal may deploy to the app
// — or with the platform's admin token, over HTTPS (plain HTTP only from
// this machine: package cleartext).
package scm

import (
	"runtime"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/applog"
	"github.com/slipway-dev/slipway/internal/cleartext"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/diskreserve"
)

// Store is the state the Kudu API reads.
type Store interface {
	FindSite(ctx context.Context, name string) (slipway.Site, error)
	CheckPublishingCredentials(ctx context.Context, site, user, password string) (slipway.Site, error)
	ListDeployments(ctx context.Context, site string) ([]slipway.Deployment, error) // newest first
	GetDeployment(ctx context.Context, site, id string) (slipway.Deployment, error)
	DeploymentLog(ctx context.Context, site, deploymentID string) ([]slipway.DeploymentLogEntry, error)
	// DeploymentLogLines returns one entry's details line by line, each
	// with the time it arrived.
	DeploymentLogLines(ctx context.Context, site, deploymentID, entryID string) ([]slipway.DeploymentLogLine, error)
	Settings(ctx context.Context, rg, site string) (map[string]string, error)
	// BasicAuthAllowed reports whether the site's policy ("scm") allows
	// Basic authentication with publishing credentials.
	BasicAuthAllowed(ctx context.Context, site, policy string) (bool, error)
}

// Tokens checks Microsoft Entra access tokens sent to Kudu as
// "Authorization: Bearer". App Service's Kudu takes a token for Azure
// Resource Manager's audience (docs/appservice.md §5): az account
// get-access-token issues one, and the GitHub Action for App Service sends
// one when it signs in with a service principal.
type Tokens interface {
	// ManagementPrincipal verifies a token for the management audience
	// and returns the object id of its principal.
	ManagementPrincipal(ctx context.Context, token string) (principalID string, err error)
}

// DeploymentUsers checks user-level deployment credentials (App Service's
// "user scope" credentials, one per principal).
type DeploymentUsers interface {
	// CheckPublishingUser returns the principal whose deployment user
	// name and password these are; EUNAUTHORIZED otherwise.
	CheckPublishingUser(ctx context.Context, name, password string) (principalID string, err error)
	// MayPublish returns nil when the principal may deploy to the site
	// (its roles grant publishing over it) and an EFORBIDDEN error
	// otherwise.
	MayPublish(ctx context.Context, principalID string, site slipway.Site) error
}

// Deployer runs deployments (package deploy).
type Deployer interface {
	Submit(ctx context.Context, site slipway.Site, pkg io.Reader, o deploy.Options) (slipway.Deployment, error)
	// Redeploy releases an earlier deployment's version again under its
	// id, in the background, as Submit runs a push (redeploy.go).
	Redeploy(ctx context.Context, site slipway.Site, id string, o deploy.RedeployOptions) (slipway.Deployment, error)
	// Record adds a deployment made elsewhere to the site's history.
	Record(ctx context.Context, site slipway.Site, r deploy.Record) (slipway.Deployment, error)
	// DeleteDeployment deletes a deployment that is not the active one.
	DeleteDeployment(ctx context.Context, site slipway.Site, id string) error
	Wait(ctx context.Context, site string) error
	IsDeploying(site string) (string, bool)
	SiteLog(site string) *applog.Log
}

// SettingsResolver is a Deployer that knows the app settings as the app's
// instances see them: Key Vault references resolved where they resolve
// (package deploy's Coordinator). Kudu's /api/settings shows those, as App
// Service's Kudu does; a Deployer without it shows the settings stored.
type SettingsResolver interface {
	AppSettings(ctx context.Context, site slipway.Site) (map[string]string, error)
}

// Config configures the handler.
type Config struct {
	Store      Store
	Deployer   Deployer
	SiteOf     func(r *http.Request) string // the site a request is for (set by the front door)
	AdminToken string                       // also accepted as a Bearer token
	Logger     *slog.Logger
	Heartbeat  time.Duration // log stream keep-alive; 0 → 60 s
	// LogStreamTimeout is how long a log stream lasts when the app has no
	// SCM_LOGSTREAM_TIMEOUT setting; 0 → 30 minutes, Kudu's default.
	LogStreamTimeout time.Duration
	// StallTimeout ends a log stream or a dump whose client takes
	// nothing for this long; 0 → 60 s.
	StallTimeout time.Duration
	// LogDir returns the path of a site's LogFiles directory (in its home),
	// which /dump zips. Nil: /dump answers 404.
	LogDir func(site string) string
	// RepoDir returns the path of a site's Local Git repository (git.go),
	// a directory no app can write. Nil: no Local Git.
	RepoDir func(site string) string
	// MaxRepository bounds the disk a site's repository may take: it
	// lies outside the app's quota. 0 → 2 GiB.
	MaxRepository int64
	// ReserveDir is a directory on the file system that holds the
	// repositories and the platform's own data (the data directory):
	// git pushes must leave DiskReserve free there. Empty: pushes are
	// bounded by MaxRepository only.
	ReserveDir string
	// DiskReserve is that free space; zero → the default of
	// diskreserve.Amount.
	DiskReserve diskreserve.Amount
	// FreeSpace reads the file system's free space; nil → statfs.
	FreeSpace diskreserve.FreeSpace
	// Reserve, when set, is the Guard pushes ask instead of one of their
	// own from ReserveDir, DiskReserve and FreeSpace: the server's, shared
	// with the other writers on the same file system (diskreserve.Disks).
	Reserve *diskreserve.Guard
	// DeploymentUsers checks user-level deployment credentials. Nil: only
	// the app's own publishing credentials are accepted.
	DeploymentUsers DeploymentUsers
	// Tokens checks Entra tokens sent as Bearer; the principal must also
	// be allowed to deploy (DeploymentUsers.MayPublish). Nil, or without
	// DeploymentUsers: only the admin token is taken as Bearer.
	Tokens Tokens
	// Commands runs POST /api/command (command.go). Nil: 404.
	Commands Commands
	// CommandTimeout bounds a command's run; 0 → 230 s, App Service's
	// request timeout.
	CommandTimeout time.Duration
	// Home returns a site's home, ready for the file API (vfs.go,
	// zipapi.go). Nil: /api/vfs and /api/zip answer 404.
	Home func(ctx context.Context, s slipway.Site) (Home, error)
	// FileReserve is the Guard uploads through the file API stream
	// through: homes are (sparse) images or directories on the data
	// directory's file system, so an upload must also leave the
	// platform's reserve there. Nil: uploads are bounded by the home's
	// quota only.
	FileReserve *diskreserve.Guard
	// Shells runs SSH sessions' commands (ssh.go, tunnel.go). Nil: the
	// tunnel answers that SSH is not available.
	Shells Shells
	// SSHHostKey is the SSH server's host key; nil: one made at start.
	SSHHostKey ssh.Signer
	// Packages reads the packages deployments name by URL (a packageUri,
	// packageuri.go) from the server's blob service, at the addresses
	// PackageAddresses names. Nil: deploying from a URL is refused.
	Packages         Packages
	PackageAddresses BlobAddresses
	// BackupBlobs writes and deletes app backups' blobs (backup.go); nil:
	// no backups.
	BackupBlobs BackupBlobs
	// Instances lists the ids of a site's running instances, which its
	// WebJobs run in (webjobs_run.go); Sites lists every site, for the
	// scheduler. Nil: WebJobs are listed but not run.
	Instances func(site string) []RunningInstance
	Sites     func(ctx context.Context) ([]slipway.Site, error)
	// Restart restarts a site's app, for the container CI hook
	// (diagnostics.go). Nil: a hook that would restart answers 503.
	Restart func(ctx context.Context, s slipway.Site) error
}

// RunningInstance is an instance whose app runs: its id and the number of
// its current process (runtime.Instance.Incarnation), which changes when it
// restarts under the same id.
type RunningInstance struct {
	ID          string
	Incarnation uint64
}

// Handler is the Kudu API.
type Handler struct {
	cfg     Config
	mux     *http.ServeMux
	reserve *diskreserve.Guard // nil: no ReserveDir

	mu      sync.Mutex
	busy    map[string]int    // log streams and dumps running, by kind and lower-cased site
	pushing map[string]bool   // repositories a push is writing, by path
	ssh     *ssh.ServerConfig // nil: no SSH (tunnel.go)

	jobsOnce sync.Once
	jobs     *jobs // WebJobs running (webjobs_run.go)
}

// New returns the Kudu API handler.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LogStreamTimeout == 0 {
		cfg.LogStreamTimeout = 30 * time.Minute
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = time.Minute
	}
	if cfg.StallTimeout <= 0 {
		cfg.StallTimeout = time.Minute
	}
	if cfg.MaxRepository <= 0 {
		cfg.MaxRepository = defaultMaxRepository
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux(), busy: make(map[string]int), pushing: make(map[string]bool)}
	if cfg.Shells != nil {
		var err error
		if h.ssh, err = newSSHConfig(cfg.SSHHostKey); err != nil {
			cfg.Logger.Error("SSH is not available: making its host key", "err", err)
		}
	}
	h.reserve = cfg.Reserve
	if h.reserve == nil && cfg.ReserveDir != "" {
		h.reserve = diskreserve.New(diskreserve.Config{Path: cfg.ReserveDir, What: "git pushes", Reserve: cfg.DiskReserve,
			FreeSpace: cfg.FreeSpace, Logger: cfg.Logger})
	}
	// Every route is reachable as /api/X and, deprecated, as /X (KL-routes MapHttpRouteDual).
	for _, prefix := range []string{"/api", ""} {
		h.handle("POST "+prefix+"/zipdeploy", h.zipDeploy)
		h.handle("PUT "+prefix+"/zipdeploy", h.zipDeployFromURL)
		h.handle("POST "+prefix+"/publish", h.publish)
		h.handle("PUT "+prefix+"/publish", h.publish)
		h.handle("GET "+prefix+"/deployments", h.listDeployments)
		h.handle("GET "+prefix+"/deployments/{id}", h.getDeployment)
		h.handle("PUT "+prefix+"/deployments/{id}", h.redeploy)
		h.handle("DELETE "+prefix+"/deployments/{id}", h.deleteDeployment)
		h.handle("GET "+prefix+"/deployments/{id}/log", h.deploymentLog)
		h.handle("GET "+prefix+"/deployments/{id}/log/{entry}", h.deploymentLogDetails)
		h.handle("GET "+prefix+"/isdeploying", h.isDeploying)
		h.handle("GET "+prefix+"/logstream", h.logStream)
		h.handle("GET "+prefix+"/logstream/{path...}", h.logStream)
		h.handle("GET "+prefix+"/environment", h.environment)
		h.handle("GET "+prefix+"/scm/info", h.scmInfo)
		h.handle("GET "+prefix+"/settings", h.settings)
		h.handle("GET "+prefix+"/settings/{key}", h.setting)
		h.handle("POST "+prefix+"/settings", h.changeSettings)
		h.handle("DELETE "+prefix+"/settings/{key}", h.changeSettings)
		h.handle("GET "+prefix+"/diagnostics/runtime", h.runtimeInfo)
		h.handle("GET "+prefix+"/dump", h.dump)
		h.handle("GET "+prefix+"/logs/docker", h.dockerLogs)
		h.handle("GET "+prefix+"/logs/docker/zip", h.dockerLogsZip)
		h.handle("GET "+prefix+"/startuplogs", h.startupLogs) // startuplogs.go
		h.handle("GET "+prefix+"/startuplogs/{name}", h.startupLogFile)
		h.handle("GET "+prefix+"/troubleshoot/config", noConfigChecks)
		h.handle("POST "+prefix+"/command", h.command)
		h.handle("GET "+prefix+"/vfs/{path...}", h.vfsGet)
		h.handle("PUT "+prefix+"/vfs/{path...}", h.vfsPut)
		h.handle("DELETE "+prefix+"/vfs/{path...}", h.vfsDelete)
		h.handle("GET "+prefix+"/zip/{path...}", h.zipGet)
		h.handle("PUT "+prefix+"/zip/{path...}", h.zipPut)
		// WebJobs (webjobs.go).
		h.handle("GET "+prefix+"/webjobs", h.listAllJobsRoute)
		for _, k := range []string{"triggered", "continuous"} {
			base := prefix + "/" + k + "webjobs"
			h.handle("GET "+base, h.listJobsRoute)
			h.handle("GET "+base+"/{name}", h.getJobRoute)
			h.handle("PUT "+base+"/{name}", h.uploadJobRoute)
			h.handle("DELETE "+base+"/{name}", h.deleteJobRoute)
			h.handle("GET "+base+"/{name}/settings", h.jobSettingsRoute)
			h.handle("PUT "+base+"/{name}/settings", h.putJobSettingsRoute)
		}
		h.handle("POST "+prefix+"/triggeredwebjobs/{name}/run", h.runJobRoute)
		h.handle("GET "+prefix+"/triggeredwebjobs/{name}/history", h.jobHistoryRoute)
		h.handle("GET "+prefix+"/triggeredwebjobs/{name}/history/{id}", h.jobRunRoute)
		h.handle("POST "+prefix+"/continuouswebjobs/{name}/start", h.startJobRoute)
		h.handle("POST "+prefix+"/continuouswebjobs/{name}/stop", h.stopJobRoute)
		// The repository (scmrepo.go), diagnostics settings, recent logs,
		// the container CI hook, the deployment script and SSH keys
		// (diagnostics.go).
		h.handle("POST "+prefix+"/scm/clean", h.scmClean)
		h.handle("DELETE "+prefix+"/scm", h.scmDelete)
		for _, method := range []string{"GET", "HEAD", "PUT", "DELETE"} {
			h.handle(method+" "+prefix+"/scmvfs/{path...}", h.scmVFS)
		}
		h.handle("GET "+prefix+"/diagnostics/settings", h.getDiagnosticsSettings)
		h.handle("POST "+prefix+"/diagnostics/settings", h.setDiagnosticsSettings)
		h.handle("GET "+prefix+"/diagnostics/settings/{key}", h.getDiagnosticsSetting)
		h.handle("DELETE "+prefix+"/diagnostics/settings/{key}", h.deleteDiagnosticsSetting)
		h.handle("GET "+prefix+"/logs/recent", h.recentLogs)
		h.handle("POST "+prefix+"/docker/hook", h.dockerHook)
		h.handle("GET "+prefix+"/deploymentscript", h.deploymentScript)
		h.handle("GET "+prefix+"/sshkey", h.getSSHKey)
		h.handle("PUT "+prefix+"/sshkey", h.putSSHKey)
		h.handle("DELETE "+prefix+"/sshkey", h.deleteSSHKey)
	}
	// az webapp exec (exec.go): on the site's root, not under /api.
	h.handle("GET /exec/shell", h.execShell)
	h.handle("POST /exec/execute", h.execExecute)
	// The browser's SSH page (webssh.go), on the site's root as on App Service.
	h.handle("GET /webssh/host", h.webSSHHost)
	h.handle("GET /webssh/{file}", h.webSSHFile)
	// The process API (KL-routes MapHttpProcessesRoute), which KuduLite
	// answers on Linux only through dotnet-monitor, for .NET apps.
	for _, p := range []string{"/api/processes", "/api/diagnostics/processes", "/diagnostics/processes"} {
		for _, method := range []string{"GET", "POST", "DELETE"} {
			h.handle(method+" "+p, notOnLinux)
			h.handle(method+" "+p+"/{rest...}", notOnLinux)
		}
	}
	h.handle("GET /AppServiceTunnel/Tunnel.ashx", h.tunnel)
	h.handle("GET /{$}", h.home) // home.go
	// Anything else, whatever its method, is KuduLite's catch-all route
	// (Error404Controller): a 404 once the request has authenticated, as
	// every request to Kudu must (no 405, and nothing tells a caller
	// without credentials which routes exist).
	h.handle("/", func(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
		return slipway.Errorf(slipway.ENOTFOUND, "No route registered for '%s'", r.URL.Path)
	})
	return h
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, s slipway.Site) error

// handle adapts a handler that returns an error: it authenticates, finds
// the site, and renders errors once.
func (h *Handler) handle(pattern string, fn handlerFunc) {
	h.mux.HandleFunc(pattern, h.handleFunc(fn))
}

func (h *Handler) handleFunc(fn handlerFunc) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		w := &startedWriter{ResponseWriter: rw}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.cfg.Logger.Error("panic in kudu handler", "path", r.URL.Path, "panic", v)
				if w.started {
					panic(http.ErrAbortHandler)
				}
				http.Error(w, "An internal error occurred.", http.StatusInternalServerError)
			}
		}()
		site, err := h.authenticate(r)
		if err == nil {
			err = crossSite(r)
		}
		if err == nil {
			err = fn(w, r, site)
		}
		switch {
		case err == nil:
		case w.started:
			// The answer is on its way (a file, a stream, git's pack):
			// an error written after it would read as part of it, and
			// the client would take a cut download for a whole one. What
			// was written is sent (within StallTimeout: git reports its
			// own failures inside its answer, "ERR upload-pack: not our
			// ref"), then the connection is cut, which the client sees
			// as the failure it is.
			h.cfg.Logger.Info("kudu response cut short", "path", r.URL.Path, "err", err)
			rc := http.NewResponseController(rw)
			rc.SetWriteDeadline(time.Now().Add(h.cfg.StallTimeout))
			rc.Flush()
			panic(http.ErrAbortHandler)
		default:
			h.writeError(w, r, err)
		}
	}
}

// startedWriter records whether a response has begun. Unwrap lets
// http.ResponseController and WebSocket's Accept reach the writer below.
type startedWriter struct {
	http.ResponseWriter
	started bool
}

func (w *startedWriter) WriteHeader(status int) {
	// 1xx answers come before the response; 101 hands the connection over.
	if status >= 200 || status == http.StatusSwitchingProtocols {
		w.started = true
	}
	w.ResponseWriter.WriteHeader(status)
}

// FlushError sends what is written, the header at least: the response
// has begun (http.ResponseController's Flush calls it).
func (w *startedWriter) FlushError() error {
	w.started = true
	return http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *startedWriter) Write(p []byte) (int, error) {
	w.started = true
	return w.ResponseWriter.Write(p)
}

func (w *startedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// crossSite refuses a write that a page of another site made a browser
// send. Kudu's clients (az, curl, git, the SDKs) send no Origin; a browser
// sends one with every POST, PUT and DELETE, and Sec-Fetch-Site. Without
// this, a page could make a browser that holds the app's Basic
// credentials push a deployment: Microsoft documents zipdeploy with curl's
// --data-binary, whose form content type a cross-site form or fetch may
// also send, so the content type cannot tell them apart.
func crossSite(r *http.Request) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	foreign := r.Header.Get("Sec-Fetch-Site") == "cross-site"
	if o := r.Header.Get("Origin"); o != "" {
		foreign = foreign || !sameOrigin(r, o)
	}
	if foreign {
		return slipway.Errorf(slipway.EFORBIDDEN, "A page of another site sent this request: Kudu's writes are taken from its own pages and from tools (az, curl, git), never from another site's page.")
	}
	return nil
}

// sameOrigin reports whether origin, a browser's Origin header, is the
// origin r was sent to: its host and port, and its scheme — a page served
// over plain HTTP on the same host is another origin (anyone on the way
// can write it), whose requests to HTTPS would carry the credentials the
// browser holds for the HTTPS site.
func sameOrigin(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	scheme := "http"
	if cleartext.OverTLS(r) {
		scheme = "https"
	}
	return strings.EqualFold(u.Scheme, scheme) && strings.EqualFold(u.Host, r.Host) &&
		u.Path == "" && u.RawQuery == "" && u.Fragment == "" && u.User == nil
}

// ServeHTTP implements http.Handler. Kudu's routing (ASP.NET) ignores a
// trailing slash and `az webapp log deployment show` sends
// /api/deployments/, so the path is served without it, and with repeated
// slashes collapsed — never redirected, which would turn a POST into a GET.
// Plain HTTP from another machine is not served (refuseCleartext).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if cleartext.FromNetwork(r) {
		h.refuseCleartext(w, r)
		return
	}
	if p := cleanPath(r.URL.Path, keepsSlash(r.URL.Path)); p != r.URL.Path {
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.URL.RawPath = p, ""
		r = r2
	}
	if repo, service, advertise, ok := gitRequest(r); ok {
		h.handleFunc(func(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
			return h.serveGit(w, r, s, repo, service, advertise)
		})(w, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// refuseCleartext answers a request that came over plain HTTP from
// another machine. Kudu is served over HTTPS, and App Service sends plain
// HTTP to it (docs/appservice.md §5); here only a read without credentials
// is sent there, so that a browser or git goes on over HTTPS and is asked
// for its password there. Anything else is refused: credentials that came
// in the clear are not used, and nothing asks for them (no Basic
// challenge, which browsers and git answer with the password).
func (h *Handler) refuseCleartext(w http.ResponseWriter, r *http.Request) {
	secure := "https://" + r.Host
	sent := r.Header.Get("Authorization") != ""
	if !sent && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		http.Redirect(w, r, secure+r.URL.RequestURI(), http.StatusMovedPermanently)
		return
	}
	msg := "Kudu takes requests over HTTPS only, except from this machine: use " + secure + "."
	if _, _, basic := r.BasicAuth(); basic {
		msg += " The credentials sent over plain HTTP could be read on the way: reset them (the app's publishing password with the site's newpassword action, a deployment user's with az webapp deployment user set)."
	} else if sent {
		msg += " " + cleartext.TokenExposed
	}
	h.writeError(w, r, slipway.Errorf(slipway.EINVALID, "%s", msg))
}

// cleanPath collapses repeated slashes and, unless keepSlash, drops a
// trailing one ("/" stays).
func cleanPath(p string, keepSlash bool) string {
	if !strings.Contains(p, "//") && (keepSlash || len(p) <= 1 || !strings.HasSuffix(p, "/")) {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && b.Len() > 0 && strings.HasSuffix(b.String(), "/") {
			continue
		}
		b.WriteByte(p[i])
	}
	out := b.String()
	if len(out) > 1 && !keepSlash {
		out = strings.TrimSuffix(out, "/")
	}
	return out
}

// authenticate finds the site a request is for and checks its
// credentials. A Basic user name starting with '$' or holding a '\' is the
// app's own publishing user ("$<app>", FTP style "<app>\$<app>"); any other
// is a deployment user, whose names can hold neither
// (slipway.ValidateDeploymentUser), so the two kinds never meet. A
// deployment user's principal must also be allowed to deploy to the site.
func (h *Handler) authenticate(r *http.Request) (slipway.Site, error) {
	name := h.cfg.SiteOf(r)
	unauthorized := slipway.Errorf(slipway.EUNAUTHORIZED, "Authentication is required: use the app's publishing credentials (slipway webapp deployment list-publishing-credentials) or your deployment user (az webapp deployment user set) with HTTP Basic auth.")
	if name == "" {
		return slipway.Site{}, slipway.Errorf(slipway.ENOTFOUND, "No app is addressed.")
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		if h.cfg.AdminToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(h.cfg.AdminToken)) == 1 {
			return h.cfg.Store.FindSite(r.Context(), name)
		}
		return h.authenticateToken(r, name, tok)
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return slipway.Site{}, unauthorized
	}
	// Basic authentication switched off for the app (its scm
	// basicPublishingCredentialsPolicies): no password is even checked.
	if allowed, err := h.cfg.Store.BasicAuthAllowed(r.Context(), name, "scm"); err != nil {
		return slipway.Site{}, err
	} else if !allowed {
		return slipway.Site{}, slipway.Errorf(slipway.EUNAUTHORIZED, "Basic authentication is disabled for this app's SCM site: sign in with Microsoft Entra ID instead (az does when the app's scm basicPublishingCredentialsPolicies allow is false; with curl, send -H \"Authorization: Bearer $(az account get-access-token --query accessToken -o tsv)\").")
	}
	denied := func(err error) (slipway.Site, error) {
		if c := slipway.ErrorCode(err); c == slipway.EUNAUTHORIZED || c == slipway.ENOTFOUND {
			return slipway.Site{}, unauthorized
		}
		return slipway.Site{}, err
	}
	if strings.HasPrefix(user, "$") || strings.Contains(user, `\`) || h.cfg.DeploymentUsers == nil {
		if _, err := h.cfg.Store.CheckPublishingCredentials(r.Context(), name, user, pass); err != nil {
			return denied(err)
		}
		return h.cfg.Store.FindSite(r.Context(), name)
	}
	site, err := h.cfg.Store.FindSite(r.Context(), name)
	if err != nil {
		return denied(err)
	}
	principal, err := h.cfg.DeploymentUsers.CheckPublishingUser(r.Context(), user, pass)
	if err != nil {
		return denied(err)
	}
	if err := h.cfg.DeploymentUsers.MayPublish(r.Context(), principal, site); err != nil {
		if slipway.ErrorCode(err) == slipway.EFORBIDDEN {
			return slipway.Site{}, slipway.Errorf(slipway.EFORBIDDEN, "The deployment user '%s' may not deploy to '%s': deploying needs a role that grants Microsoft.Web/sites/publish/Action over the app (Website Contributor, Contributor or Owner).", user, site.Name)
		}
		return slipway.Site{}, err
	}
	return site, nil
}

// authenticateToken takes an Entra token for the management audience
// whose principal may deploy to the site, as App Service's Kudu does: the
// same right as a deployment user's (Microsoft.Web/sites/publish/Action),
// for Kudu can run any command as the app.
func (h *Handler) authenticateToken(r *http.Request, name, tok string) (slipway.Site, error) {
	unauthorized := slipway.Errorf(slipway.EUNAUTHORIZED, "The Bearer token is not valid for Kudu: send an access token for the management endpoint (az account get-access-token), or the app's publishing credentials with HTTP Basic auth.")
	if h.cfg.Tokens == nil || h.cfg.DeploymentUsers == nil {
		return slipway.Site{}, unauthorized
	}
	principal, err := h.cfg.Tokens.ManagementPrincipal(r.Context(), tok)
	if err != nil {
		return slipway.Site{}, unauthorized
	}
	site, err := h.cfg.Store.FindSite(r.Context(), name)
	if err != nil {
		if slipway.ErrorCode(err) == slipway.ENOTFOUND {
			return slipway.Site{}, unauthorized
		}
		return slipway.Site{}, err
	}
	if err := h.cfg.DeploymentUsers.MayPublish(r.Context(), principal, site); err != nil {
		if slipway.ErrorCode(err) == slipway.EFORBIDDEN {
			return slipway.Site{}, slipway.Errorf(slipway.EFORBIDDEN, "The principal '%s' may not use Kudu of '%s': that needs a role that grants Microsoft.Web/sites/publish/Action over the app (Website Contributor, Contributor or Owner).", principal, site.Name)
		}
		return slipway.Site{}, err
	}
	return site, nil
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := slipway.ErrorCode(err)
	status := map[string]int{
		slipway.ECONFLICT: http.StatusConflict, slipway.EINVALID: http.StatusBadRequest,
		slipway.ENOTFOUND: http.StatusNotFound, slipway.EUNAUTHORIZED: http.StatusUnauthorized,
		slipway.EFORBIDDEN: http.StatusForbidden, slipway.EUNAVAILABLE: http.StatusServiceUnavailable,
	}[code]
	if status == 0 {
		status = http.StatusInternalServerError
		h.cfg.Logger.Error("kudu request failed", "path", r.URL.Path, "err", err)
	}
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Basic realm="site"`)
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "5")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, slipway.ErrorMessage(err)+"\n")
}

// packageBody returns the zip in a push: the raw body, or the first file
// of a multipart form (both are accepted by Kudu). A JSON body names the
// package by URL instead (push); here it is refused.
func packageBody(r *http.Request) (io.Reader, error) {
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" {
		return nil, slipway.Errorf(slipway.EINVALID, "A JSON body (a packageUri) is not taken here; send the zip as the request body.")
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return nil, slipway.Errorf(slipway.EINVALID, "The multipart body holds no file part with the zip package.")
			}
			if p.FileName() != "" || p.FormName() != "" {
				return p, nil
			}
		}
	}
	return r.Body, nil
}

// zipDeployFromURL answers PUT /api/zipdeploy, Kudu's zip deployment
// from a packageUri in a JSON body (ZipPushDeployViaUrl), as POST with
// such a body (packageuri.go).
func (h *Handler) zipDeployFromURL(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	if !isJSON(r) {
		return slipway.Errorf(slipway.EINVALID, "PUT /api/zipdeploy deploys from a URL: send Content-Type: application/json and {\"packageUri\": \"<url of the zip>\"}, or POST the zip itself.")
	}
	return h.zipDeploy(w, r, s)
}

func (h *Handler) environment(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	return writeJSON(w, http.StatusOK, map[string]string{"version": "slipway", "siteLastModified": s.Modified.UTC().Format(time.RFC3339)})
}

// scmInfo answers GET /api/scm/info as KuduLite's LiveScmController: the
// repository's type (Git, 1: its Kudu serves a git repository whatever
// deploys it) and its URL, named for the app (a slot's too), as Local Git
// serves it (git.go).
func (h *Handler) scmInfo(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	app := s.Name
	if s.SlotOf != "" {
		app = s.SlotOf
	}
	return writeJSON(w, http.StatusOK, struct {
		Type   int
		GitURL string `json:"GitUrl"`
	}{1, baseURL(r) + "/" + app + ".git"})
}

// notOnLinux answers KuduLite's process API as it does on Linux without
// dotnet-monitor (LinuxProcessController).
func notOnLinux(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	return slipway.Errorf(slipway.EINVALID, "Not supported on Linux")
}

func (h *Handler) zipDeploy(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	q := r.URL.Query()
	return h.push(w, r, s, pushOptions{
		async:    isTrue(q.Get("isAsync")),
		deployer: orDefault(q.Get("deployer"), "Push-Deployer"),
		opts: deploy.Options{
			Author: q.Get("author"), AuthorEmail: q.Get("authorEmail"), Message: q.Get("message"), Restart: true,
		},
	})
}

// publish is Kudu's OneDeploy (docs/appservice.md §5): type=zip replaces
// the app, or with clean=false is extracted over it, keeping the files it
// lacks; type=static and type=startup put one file under
// /home/site/wwwroot in a copy of the active version. Every type restarts
// the app unless restart=false (Kudu's RestartAllowed).
func (h *Handler) publish(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	p, err := publishOptions(r.URL.Query())
	if err != nil {
		return err
	}
	return h.push(w, r, s, p)
}

// publishOptions reads OneDeploy's parameters: the query of
// /api/publish, or the properties of ARM's OneDeploy extension.
func publishOptions(q url.Values) (pushOptions, error) {
	var file *deploy.FileTarget
	overlay := false
	switch t := strings.ToLower(q.Get("type")); t {
	case "zip":
		if p := q.Get("path"); p != "" && p != "/" && p != "." {
			return pushOptions{}, slipway.Errorf(slipway.EINVALID, "path=%q is not supported: a zip deployment deploys the whole app, under /home/site/wwwroot.", p)
		}
		// clean defaults to true for a zip (Kudu cleans wwwroot first);
		// clean=false keeps the files the zip lacks.
		switch v := q.Get("clean"); {
		case v == "" || isTrue(v):
		case strings.EqualFold(v, "false") || v == "0":
			overlay = true
		default:
			return pushOptions{}, slipway.Errorf(slipway.EINVALID, "clean=%s is neither true nor false: with true (the default for a zip) the zip replaces the app; with false its files go over the app's, keeping those it lacks.", v)
		}
	case "static", "startup":
		p, err := fileTargetPath(t, q.Get("path"))
		if err != nil {
			return pushOptions{}, err
		}
		file = &deploy.FileTarget{Path: p, Startup: t == "startup", Clean: isTrue(q.Get("clean"))}
	case "":
		return pushOptions{}, slipway.Errorf(slipway.EINVALID, "type is required: use /api/publish?type=zip (or static, startup)")
	case "war", "jar", "ear", "lib":
		return pushOptions{}, slipway.Errorf(slipway.EINVALID, "type='%s' is not supported for Python apps on this server: war, jar, ear and lib deploy Java apps. Use type=zip (or static, startup).", t)
	case "script":
		return pushOptions{}, slipway.Errorf(slipway.EINVALID, "type='script' is not supported on this server: App Service's publish API lists zip, war, jar, ear, lib, startup and static, and az webapp deploy has no --type script. Deploy the file with type=static.")
	default:
		return pushOptions{}, slipway.Errorf(slipway.EINVALID, "type='%s' not recognized", q.Get("type"))
	}
	restart := q.Get("restart") == "" || isTrue(q.Get("restart"))
	return pushOptions{
		async:    isTrue(q.Get("async")) || isTrue(q.Get("isAsync")),
		deployer: "OneDeploy",
		// Kudu records OneDeploy's pushes with the message "OneDeploy".
		opts: deploy.Options{Message: "OneDeploy", Restart: restart, File: file, Overlay: overlay},
	}, nil
}

// wwwroot is where App Service keeps the deployed app; OneDeploy's
// absolute paths for static and startup files must start with it.
const wwwroot = "/home/site/wwwroot/"

// Limits of a target path: Linux's limit of a file name, and a bound on
// the whole that no app needs to reach.
const (
	maxTargetName = 255
	maxTargetPath = 1024
)

// reservedName is the artifact record (package deploy) kept at the root
// of every version: no upload may replace it.
const reservedName = ".slipway-artifact.json"

// fileTargetPath checks the path of a single-file OneDeploy push and
// returns it relative to /home/site/wwwroot, slash-separated and clean.
// Kudu's rules (OneDeployHelper.EnsureValidPath): static needs a path,
// startup defaults to startup.sh (the Linux default), a trailing '/' is
// refused, and an absolute path must start with /home/site/wwwroot/.
// Kudu leaves '..' to Path.Combine; here a path that could leave wwwroot
// in any way is refused outright. Symbolic links on the way are the
// deployer's to refuse: only the app's files can tell.
func fileTargetPath(typ, raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		if typ == "startup" {
			return "startup.sh", nil
		}
		return "", slipway.Errorf(slipway.EINVALID, "Path must be defined for type='%s': give the file's path under /home/site/wwwroot, e.g. path=static/robots.txt (az webapp deploy --target-path).", typ)
	}
	refuse := func(format string, args ...any) error {
		return slipway.Errorf(slipway.EINVALID, "path=%q is invalid: %s", raw, fmt.Sprintf(format, args...))
	}
	if strings.HasSuffix(raw, "/") {
		return "", refuse("Path cannot end with a '/'; name the file to write.")
	}
	p := raw
	if strings.HasPrefix(p, "/") {
		rel, ok := strings.CutPrefix(p, wwwroot)
		if !ok {
			return "", slipway.Errorf(slipway.EINVALID, "Absolute path = '%s' for artifact type = '%s' is invalid. Either use a relative path or use an absolute path that start with prefix '%s'", raw, typ, wwwroot)
		}
		p = rel
	}
	switch {
	case strings.IndexByte(p, 0) >= 0:
		return "", refuse("it contains a NUL byte.")
	case strings.Contains(p, `\`):
		return "", refuse("it contains a backslash; separate directories with '/'.")
	case len(p) > maxTargetPath:
		return "", refuse("it is longer than %d bytes.", maxTargetPath)
	}
	for c := range strings.SplitSeq(p, "/") {
		if c == ".." {
			return "", refuse("it contains '..' and could point outside /home/site/wwwroot.")
		}
		if len(c) > maxTargetName {
			return "", refuse("a part of it is longer than %d bytes.", maxTargetName)
		}
	}
	p = path.Clean(p)
	if p == "." || !filepath.IsLocal(p) {
		return "", refuse("it names no file under /home/site/wwwroot.")
	}
	if first, _, _ := strings.Cut(p, "/"); first == reservedName {
		return "", refuse("%s is reserved for the platform's record of the version.", reservedName)
	}
	return p, nil
}

type pushOptions struct {
	async    bool
	deployer string
	opts     deploy.Options
}

func (h *Handler) push(w http.ResponseWriter, r *http.Request, s slipway.Site, p pushOptions) error {
	var (
		d   slipway.Deployment
		err error
	)
	if isJSON(r) {
		var raw string
		if raw, err = packageURIFromBody(r); err != nil {
			return err
		}
		d, err = h.submitFromURL(r.Context(), s, raw, p)
	} else {
		var body io.Reader
		if body, err = packageBody(r); err != nil {
			return err
		}
		p.opts.Deployer = p.deployer
		d, err = h.cfg.Deployer.Submit(r.Context(), s, body, p.opts)
	}
	if err != nil {
		return err
	}
	if r.URL.Query().Get("trackDeploymentProgress") != "" {
		w.Header().Set("SCM-DEPLOYMENT-ID", d.ID)
	}
	if p.async {
		loc := fmt.Sprintf("%s/api/deployments/latest?deployer=%s&time=%s", baseURL(r), url.QueryEscape(p.deployer), d.ReceivedTime.UTC().Format("2006-01-02_15-04-05Z"))
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	return h.finish(w, r, s, d)
}

// finish waits for the site's running deployment d and answers as a
// synchronous push: 200 when it succeeded; 400 saying why, and where its
// log is, when it failed.
func (h *Handler) finish(w http.ResponseWriter, r *http.Request, s slipway.Site, d slipway.Deployment) error {
	if err := h.cfg.Deployer.Wait(r.Context(), s.Name); err != nil {
		return err
	}
	d, err := h.cfg.Store.GetDeployment(r.Context(), s.Name, d.ID)
	if err != nil {
		return err
	}
	if d.Status == slipway.DeployFailed {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "Deployment failed: %s\nSee %s/api/deployments/%s/log\n", d.StatusText, baseURL(r), d.ID)
		return nil
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// deploymentJSON is a deployment as Kudu renders it (docs/appservice.md §5).
type deploymentJSON struct {
	ID                 string  `json:"id"`
	Status             int     `json:"status"`
	StatusText         string  `json:"status_text"`
	AuthorEmail        string  `json:"author_email"`
	Author             string  `json:"author"`
	Deployer           string  `json:"deployer"`
	Message            string  `json:"message"`
	Progress           string  `json:"progress"`
	ReceivedTime       string  `json:"received_time"`
	StartTime          string  `json:"start_time"`
	EndTime            *string `json:"end_time"`
	LastSuccessEndTime *string `json:"last_success_end_time"`
	Complete           bool    `json:"complete"`
	Active             bool    `json:"active"`
	IsTemp             bool    `json:"is_temp"`
	IsReadonly         bool    `json:"is_readonly"`
	URL                string  `json:"url"`
	LogURL             string  `json:"log_url"`
	SiteName           string  `json:"site_name"`
}

func timeText(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

func render(r *http.Request, d slipway.Deployment, lastSuccess *time.Time) deploymentJSON {
	u := fmt.Sprintf("%s/api/deployments/%s", baseURL(r), d.ID)
	j := deploymentJSON{
		ID: d.ID, Status: int(d.Status), StatusText: d.StatusText, AuthorEmail: d.AuthorEmail,
		Author: d.Author, Deployer: d.Deployer, Message: d.Message, Progress: d.Progress,
		ReceivedTime: timeText(d.ReceivedTime), StartTime: timeText(d.StartTime),
		Complete: d.Complete(), Active: d.Active, URL: u, LogURL: u + "/log", SiteName: d.Site,
	}
	if !d.EndTime.IsZero() {
		s := timeText(d.EndTime)
		j.EndTime = &s
	}
	if lastSuccess != nil {
		s := timeText(*lastSuccess)
		j.LastSuccessEndTime = &s
	}
	return j
}

// lastSuccess is the end of the site's last successful run: a redeploy
// may have ended after deployments received later.
func lastSuccess(ds []slipway.Deployment) *time.Time {
	var last *time.Time
	for _, d := range ds {
		if d.Status == slipway.DeploySuccess && (last == nil || d.EndTime.After(*last)) {
			t := d.EndTime
			last = &t
		}
	}
	return last
}

func (h *Handler) listDeployments(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	ds, err := h.cfg.Store.ListDeployments(r.Context(), s.Name)
	if err != nil {
		return err
	}
	ls := lastSuccess(ds)
	out := make([]deploymentJSON, 0, len(ds))
	for _, d := range ds {
		out = append(out, render(r, d, ls))
	}
	b, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("encoding response: %w", err)
	}
	// KuduLite tags the list (DeploymentController.GetDeployResults): a
	// client polling it with If-None-Match gets 304 while nothing changed
	// ("*" does not count there). Its tag changes with any deployment's;
	// this one is the answer's own digest, with the URL it answers.
	sum := sha256.Sum256(append([]byte(r.URL.RequestURI()+"\x00"), b...))
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	w.Header().Set("ETag", etag)
	if _, match := tagListed(r, "If-None-Match", etag, false); match {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, err = w.Write(b)
	return err
}

func (h *Handler) deployment(r *http.Request, s slipway.Site) (slipway.Deployment, *time.Time, error) {
	ds, err := h.cfg.Store.ListDeployments(r.Context(), s.Name)
	if err != nil {
		return slipway.Deployment{}, nil, err
	}
	id := r.PathValue("id")
	if id == "latest" {
		if d, ok := slipway.LatestDeployment(ds); ok {
			return d, lastSuccess(ds), nil
		}
	}
	for _, d := range ds {
		if strings.EqualFold(d.ID, id) {
			return d, lastSuccess(ds), nil
		}
	}
	return slipway.Deployment{}, nil, slipway.Errorf(slipway.ENOTFOUND, "Deployment '%s' not found.", id)
}

// getDeployment answers GET /api/deployments/{id}. For "latest" while a
// deployment runs — the URL an async push hands out to poll — KuduLite
// answers 202 Accepted with a Location to poll, itself (GetResult,
// IsLatestPendingDeployment). Its body's status stays the deployment's
// own (1 Building, 2 Deploying) where Kudu shows 0 (Pending): clients
// look for 3 and 4.
func (h *Handler) getDeployment(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	d, ls, err := h.deployment(r, s)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if r.PathValue("id") == "latest" && !d.Complete() {
		w.Header().Set("Location", baseURL(r)+r.URL.RequestURI())
		status = http.StatusAccepted
	}
	return writeJSON(w, status, render(r, d, ls))
}

type logEntryJSON struct {
	LogTime    string  `json:"log_time"`
	ID         string  `json:"id"`
	Message    string  `json:"message"`
	Type       int     `json:"type"`
	DetailsURL *string `json:"details_url"`
}

func (h *Handler) deploymentLog(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	d, _, err := h.deployment(r, s)
	if err != nil {
		return err
	}
	entries, err := h.cfg.Store.DeploymentLog(r.Context(), d.Site, d.ID)
	if err != nil {
		return err
	}
	out := make([]logEntryJSON, 0, len(entries))
	for _, e := range entries {
		j := logEntryJSON{LogTime: timeText(e.Time), ID: e.ID, Message: e.Message, Type: int(e.Type)}
		if e.Details != "" {
			u := fmt.Sprintf("%s/api/deployments/%s/log/%s", baseURL(r), d.ID, e.ID)
			j.DetailsURL = &u
		}
		out = append(out, j)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) deploymentLogDetails(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	d, _, err := h.deployment(r, s)
	if err != nil {
		return err
	}
	// One entry's lines, not the whole log with every entry's details.
	entry := r.PathValue("entry")
	lines, err := h.cfg.Store.DeploymentLogLines(r.Context(), d.Site, d.ID, entry)
	if err != nil {
		return err
	}
	out := []logEntryJSON{}
	for _, line := range lines {
		text := strings.TrimRight(line.Text, "\r")
		if text == "" {
			continue
		}
		// Each line has the time it arrived, as Kudu's build lines do.
		out = append(out, logEntryJSON{LogTime: timeText(line.Time), ID: entry, Message: text, Type: int(line.Type)})
	}
	if len(out) > 0 {
		return writeJSON(w, http.StatusOK, out)
	}
	// KuduLite's answer for an entry it lacks or one without details.
	return slipway.Errorf(slipway.ENOTFOUND, "LogId '%s' was not found in Deployment '%s'.", r.PathValue("entry"), d.ID)
}

func (h *Handler) isDeploying(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	id, busy := h.cfg.Deployer.IsDeploying(s.Name)
	v := map[string]string{"value": "False", "msg": ""}
	if busy {
		v = map[string]string{"value": "True", "msg": "Deployment " + id + " is in progress."}
	}
	return writeJSON(w, http.StatusOK, v)
}

// kuduSettings are the settings Kudu reports (KuduLite's
// DeploymentSettingsManager): the app settings, Key Vault references
// resolved as Kudu's environment has them, over Kudu's defaults
// (DefaultSettingsProvider), in order of precedence, each a list in a fixed
// order. Slipway's Kudu uses the same defaults.
func (h *Handler) kuduSettings(ctx context.Context, s slipway.Site) (app, defaults [][2]string, err error) {
	var m map[string]string
	if sr, ok := h.cfg.Deployer.(SettingsResolver); ok {
		m, err = sr.AppSettings(ctx, s)
	} else {
		m, err = h.cfg.Store.Settings(ctx, s.ResourceGroup, s.Name)
	}
	if err != nil {
		return nil, nil, err
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		app = append(app, [2]string{k, m[k]})
	}
	defaults = [][2]string{
		{"deployment_branch", "master"},
		{"SCM_TRACE_LEVEL", "Verbose"},
		{"SCM_COMMAND_IDLE_TIMEOUT", strconv.Itoa(int(defaultCommandIdleTimeout.Seconds()))},
		{"SCM_LOGSTREAM_TIMEOUT", strconv.Itoa(int(h.cfg.LogStreamTimeout.Seconds()))},
		{"SCM_BUILD_ARGS", ""},
	}
	return app, defaults, nil
}

// settings answers GET /api/settings as KuduLite's GetValues merges its
// providers: from the lowest precedence up, names compared without regard
// to case, a later value replacing an earlier one under the earlier name
// (an app's DEPLOYMENT_BRANCH shows as deployment_branch).
func (h *Handler) settings(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	app, defaults, err := h.kuduSettings(r.Context(), s)
	if err != nil {
		return err
	}
	out := map[string]string{}
	names := map[string]string{} // lower-cased → the name shown
	for _, kv := range slices.Concat(defaults, app) {
		name, ok := names[strings.ToLower(kv[0])]
		if !ok {
			name = kv[0]
			names[strings.ToLower(name)] = name
		}
		out[name] = kv[1]
	}
	return writeJSON(w, http.StatusOK, out)
}

// setting answers GET /api/settings/{key} as KuduLite's SettingsController:
// the first value that is not empty, in order of precedence, as text; 404
// without one.
func (h *Handler) setting(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	app, defaults, err := h.kuduSettings(r.Context(), s)
	if err != nil {
		return err
	}
	key := r.PathValue("key")
	for _, kv := range slices.Concat(app, defaults) {
		if strings.EqualFold(kv[0], key) && kv[1] != "" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, err := io.WriteString(w, kv[1])
			return err
		}
	}
	return slipway.Errorf(slipway.ENOTFOUND, "The setting '%s' does not exist.", key)
}

// changeSettings refuses Kudu's own settings (POST /api/settings, DELETE
// /api/settings/{key}), which Kudu keeps apart from the app settings, for
// its own use: Slipway's Kudu reads the app settings alone.
func (h *Handler) changeSettings(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	return slipway.Errorf(slipway.EINVALID, "Kudu's own settings (POST /api/settings, DELETE /api/settings/{key}) are not kept on this server: its Kudu reads the app settings. Change those instead, with az webapp config appsettings set --settings NAME=VALUE or az webapp config appsettings delete --setting-names NAME (a change restarts the app).")
}

// runtimeInfo answers GET /diagnostics/runtime as KuduLite's
// RuntimeController: the node versions it finds (none: Slipway runs
// Python) and the system. On Linux os_name is .NET's
// Environment.OSVersion.VersionString, "Unix <kernel version>": the GitHub
// Action for App Service deploying with a publish profile reads it to know
// a Linux app ("Unix" in it).
func (h *Handler) runtimeInfo(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	return writeJSON(w, http.StatusOK, map[string]any{
		"nodeVersions": []any{},
		"system":       map[string]any{"os_name": "Unix " + kernelVersion(), "os_build_lab_ex": "", "cores": runtime.NumCPU()},
	})
}

// kernelVersion is the kernel's release as .NET's Version reads it: its
// leading numbers ("6.1.0" of "6.1.0-28-amd64"), read once.
var kernelVersion = sync.OnceValue(func() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return "0.0"
	}
	rel := unix.ByteSliceToString(u.Release[:])
	end := strings.IndexFunc(rel, func(c rune) bool { return c != '.' && (c < '0' || c > '9') })
	if end >= 0 {
		rel = rel[:end]
	}
	return strings.Trim(rel, ".")
})

// maxLogStreams bounds the log streams one site may hold open at once:
// each holds a goroutine and up to a thousand lines the client has not
// yet taken.
const maxLogStreams = 8

// enter takes one of the n places a site has for requests of a kind
// that hold memory for as long as their client reads; leave gives it
// back. All taken: EUNAVAILABLE (503, retry).
func (h *Handler) enter(kind string, s slipway.Site, n int) (leave func(), err error) {
	key := kind + "\x00" + strings.ToLower(s.Name)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.busy[key] >= n {
		return nil, slipway.Errorf(slipway.EUNAVAILABLE, "'%s' already has %d %s running, the most one app may have; close one and retry.", s.Name, n, kind)
	}
	h.busy[key]++
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.busy[key]--; h.busy[key] <= 0 {
			delete(h.busy, key)
		}
	}, nil
}

// stallWriter writes to a response, ending it when the client takes
// nothing for a while.
type stallWriter struct {
	w       io.Writer
	rc      *http.ResponseController
	timeout time.Duration
}

func (s stallWriter) Write(p []byte) (int, error) {
	s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
	return s.w.Write(p)
}

// logStream streams the app's log lines (docs/appservice.md §10): a welcome
// line, the last 10 lines, then every new line, with a heartbeat after a
// quiet minute. As Kudu's, a stream lasts SCM_LOGSTREAM_TIMEOUT seconds (30
// minutes without it), checked at each heartbeat, then says so and ends. A
// client that takes nothing for StallTimeout is gone: its stream ends.
func (h *Handler) logStream(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	leave, err := h.enter("log streams", s, maxLogStreams)
	if err != nil {
		return err
	}
	defer leave()
	timeout, err := h.logStreamTimeout(r.Context(), s)
	if err != nil {
		return err
	}
	start := time.Now()
	log := h.cfg.Deployer.SiteLog(s.Name)
	recent, lines := log.Subscribe(r.Context(), 10)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	sw := stallWriter{w: w, rc: rc, timeout: h.cfg.StallTimeout}
	// send writes and flushes; false when the client did not take it.
	send := func(text string) bool {
		if _, err := io.WriteString(sw, text); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	stamp := func() string { return time.Now().UTC().Format("2006-01-02T15:04:05") }
	var b strings.Builder
	fmt.Fprintf(&b, "%s  Welcome, you are now connected to log-streaming service.\n", stamp())
	for _, l := range recent {
		b.WriteString(l + "\n")
	}
	if !send(b.String()) {
		return nil
	}
	filter := strings.ToLower(r.URL.Query().Get("filter"))
	idle := time.Now()
	tick := time.NewTicker(h.cfg.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case l, ok := <-lines:
			if !ok {
				return nil
			}
			if filter != "" && !strings.Contains(strings.ToLower(l), filter) {
				continue
			}
			if !send(l + "\n") {
				return nil
			}
			idle = time.Now()
		case <-tick.C:
			if open := time.Since(start); open >= timeout {
				send(fmt.Sprintf("%s  Stream terminated due to timeout %d min(s).\n", stamp(), int(open.Minutes())))
				return nil
			}
			quiet := time.Since(idle)
			if quiet < h.cfg.Heartbeat {
				continue
			}
			if !send(fmt.Sprintf("%s  No new trace in the past %d min(s).\n", stamp(), int(quiet.Minutes()))) {
				return nil
			}
		}
	}
}

// logStreamTimeout is how long the site's log streams last: its
// SCM_LOGSTREAM_TIMEOUT setting in whole seconds (negative as 0), as Kudu
// reads it, or Config.LogStreamTimeout when the setting is absent or not a
// number.
func (h *Handler) logStreamTimeout(ctx context.Context, s slipway.Site) (time.Duration, error) {
	settings, err := h.cfg.Store.Settings(ctx, s.ResourceGroup, s.Name)
	if err != nil {
		return 0, fmt.Errorf("reading the app's settings: %w", err)
	}
	return secondsSetting(settings, "SCM_LOGSTREAM_TIMEOUT", h.cfg.LogStreamTimeout), nil
}

// baseURL is the scheme and host the client called, for the URLs Kudu hands
// back (Location, log_url, details_url): https also behind a TLS terminator
// that says so, so that a client following them never sends its publishing
// credentials in the clear. A client that claims https only gets https links.
func baseURL(r *http.Request) string {
	scheme := "http"
	if cleartext.OverTLS(r) || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}

func isTrue(v string) bool { return strings.EqualFold(v, "true") || v == "1" }

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
