// Package deploy coordinates the life of a deployment and of a running site
// (docs/design.md "The life of a deployment"): a package is stored by content,
// extracted with confinement (with OneDeploy's clean=false, over the active
// version's files: overlay.go), built the way Oryx builds (when Oryx would),
// released once (Django migrations) — or a single file is added to a copy of
// the active version (OneDeploy static and startup, file.go) — and rolled
// out through the runtime, so
// that traffic moves only to instances that passed the readiness ping. Any
// failure leaves the previous version serving and the reason in the
// deployment log.
//
// It also answers the management API's side effects: restarts, stops and
// settings changes become zero-downtime rolls of the active release.
//
// Key Vault references in settings and connection strings are resolved
// before anything of a new version runs (build, release, instances): one
// that cannot be resolved blocks the version and says why, unless the app
// is lenient (references.go). A refresher re-resolves the references of
// running sites and restarts them, without downtime, when a secret
// rotated.
//
// It explains common Django mistakes where they show: after the release
// step, Django's deployment checklist (manage.py check --deploy) adds
// warnings to the deployment log (doctor.go), and a watcher on each running
// site's log stream explains a host refused by ALLOWED_HOSTS
// (allowedhosts.go).
package deploy

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/applog"
	"github.com/slipway-dev/slipway/internal/archive"
	"github.com/slipway-dev/slipway/internal/build"
	"github.com/slipway-dev/slipway/internal/diskreserve"
	"github.com/slipway-dev/slipway/internal/kvref"
	"github.com/slipway-dev/slipway/internal/redact"
	rt "github.com/slipway-dev/slipway/internal/runtime"
	"github.com/slipway-dev/slipway/internal/tree"
)

// Store is the state the coordinator reads and writes.
type Store interface {
	Site(ctx context.Context, rg, name string) (slipway.Site, error)
	FindSite(ctx context.Context, name string) (slipway.Site, error)
	Sites(ctx context.Context, rg string) ([]slipway.Site, error) // rg "" = all
	Plan(ctx context.Context, rg, name string) (slipway.Plan, error)
	Settings(ctx context.Context, rg, site string) (map[string]string, error)
	ConnectionStrings(ctx context.Context, rg, site string) (map[string]slipway.ConnectionString, error)

	CreateDeployment(ctx context.Context, d slipway.Deployment) (slipway.Deployment, error)
	UpdateDeployment(ctx context.Context, d slipway.Deployment) error
	ActiveDeployment(ctx context.Context, site string) (slipway.Deployment, error)  // ENOTFOUND when none
	ListDeployments(ctx context.Context, site string) ([]slipway.Deployment, error) // newest first
	SetActiveDeployment(ctx context.Context, site, id string) error
	AppendDeploymentLog(ctx context.Context, site, deploymentID string, e slipway.DeploymentLogEntry) (slipway.DeploymentLogEntry, error)
	AppendDeploymentLogDetails(ctx context.Context, site, deploymentID, entryID, text string) error
	PruneDeployments(ctx context.Context, site string, keep int) ([]slipway.Deployment, error)
	// DeleteDeployment deletes a finished, inactive deployment with its
	// log and returns it, its ArtifactDir cleared when another record
	// runs that artifact.
	DeleteDeployment(ctx context.Context, site, id string) (slipway.Deployment, error)
	ClearDeploymentLog(ctx context.Context, site, deploymentID string) error
}

// keepDeployments is how many successful deployments (and their artifacts,
// for rollback) a site keeps, as Kudu keeps the last 10; and how many
// failed ones, whose logs say why.
const keepDeployments = 10

// Builder builds artifacts (package build).
type Builder interface {
	Build(ctx context.Context, req build.Request) (build.Result, error)
}

// Runtime runs instances (package runtime).
type Runtime interface {
	Roll(ctx context.Context, site string, rel rt.Release) error
	Stop(ctx context.Context, site string)
	// Scale sets the number of instances of the running release, starting
	// or draining the difference only (scale.go).
	Scale(ctx context.Context, site string, n int) error
	Instances(site string) []rt.Instance
	// SiteStatus is the runtime status of the site's instances, with the
	// last error of each (runtime/status.go).
	SiteStatus(site string) []rt.RuntimeStatus
	// Enter is the running instance whose id is id, else the first ready
	// one: where a console session inside the app runs (console.go).
	Enter(site, id string) (rt.Running, bool)
}

// Planner turns a release into the launch of one instance and of one-off
// commands: startup detection, environment, sandbox. The composition root
// provides it (it knows the sandbox, users and paths).
type Planner interface {
	// Instance returns the launch of one instance of the site running art.
	Instance(ctx context.Context, s Snapshot, art Artifact, inst rt.Instance) (rt.Launch, error)
	// Command returns the launch of a one-off command (the release step) in
	// the same environment an instance gets, run in the artifact itself:
	// what it writes next to the code is part of the release.
	Command(ctx context.Context, s Snapshot, art Artifact, argv []string) (rt.Launch, error)
	// Console returns the launch of a Kudu command (console.go): in the
	// sandbox and environment an instance gets, with a private copy of
	// art as an instance has, in dir as the command sees it. It refuses
	// when the command could not be confined as an instance is.
	Console(ctx context.Context, s Snapshot, art Artifact, argv []string, dir string) (rt.Launch, error)
	// Enter returns the launch of a console command inside the running
	// instance run (console.go): its sandbox's files, processes, network,
	// limits and environment, in dir. It refuses where the command could
	// not be confined as the instance is.
	Enter(ctx context.Context, run rt.Running, argv []string, dir string) (rt.Launch, error)
	// ProbeHost sends one request to an instance at addr with the Host the
	// front door gives it (the site's default host name) and returns that
	// host and the answer's status and first bytes.
	ProbeHost(ctx context.Context, s Snapshot, addr string) (host string, status int, body string, err error)
	// BuildSettings is the environment of the site's build: its settings
	// and the platform's variables an instance sees.
	BuildSettings(s Snapshot) map[string]string
	// Identity is the user the site's processes (and builds) run as; 0, 0
	// when the server cannot switch users.
	Identity(ctx context.Context, site string) (uid, gid int, err error)
	// Port is the port the site's instances listen on (PORT); 0 lets the
	// runtime pick a free one per instance.
	Port(s Snapshot) int
	// Publish puts the release's files into the app's /home/site/wwwroot,
	// where App Service keeps the deployed content (docs/appservice.md §1).
	Publish(ctx context.Context, s Snapshot, art Artifact) error
}

// Artifact is what a deployment produced: the app path and its Python.
type Artifact struct {
	Dir           string // app path (immutable)
	PythonVersion string
	PythonPath    string
	VenvDir       string // "" when no build ran
	Django        bool
	// StartupScript is the startup script deployed with OneDeploy
	// (type=startup), relative to Dir; "" when none. Instances run it when
	// the site has no startup command.
	StartupScript string `json:",omitempty"`
}

// Snapshot is everything about a site that determines how it runs.
type Snapshot struct {
	Site              slipway.Site
	Plan              slipway.Plan
	Settings          map[string]string
	ConnectionStrings map[string]slipway.ConnectionString
}

// Launcher runs one-off commands to completion.
type Launcher interface {
	Start(ctx context.Context, l rt.Launch) (rt.Process, error)
}

// Config configures a Coordinator.
type Config struct {
	Store    Store
	Builder  Builder
	Runtime  Runtime
	Planner  Planner
	Launcher Launcher
	Logs     *applog.Hub
	DataDir  string   // root of packages/, sites/, tmp/
	Default  Artifact // the default site ("Hey, Python developers!") run before any deployment
	Logger   *slog.Logger
	Now      func() time.Time
	Limits   archive.Limits
	// MaxPackage bounds a pushed package or file; 0 → 2048 MB, Kudu's
	// limit (docs/appservice.md §5).
	MaxPackage int64
	// DiskReserve is the free space that pushed packages must leave on
	// the file system of DataDir, which also holds the platform's own
	// data; zero → the default of diskreserve.Amount.
	DiskReserve diskreserve.Amount
	// FreeSpace reads that file system's free space; nil → statfs.
	FreeSpace diskreserve.FreeSpace
	// Reserve, when set, is the Guard packages ask instead of one of
	// their own from DiskReserve and FreeSpace: the server's, shared with
	// the other writers on the same file system (diskreserve.Disks).
	Reserve *diskreserve.Guard

	// References resolves Key Vault references (package kvref). Nil:
	// values are passed on as they are stored.
	References References
	// ReferenceRefresh is how often the references of running sites are
	// resolved again; 0 → DefaultReferenceRefresh.
	ReferenceRefresh time.Duration
	Slots            SlotConfig // deployment slots and swaps (swap.go); zero: no swaps
	// Storage, if set, is called before a deployment writes a version into
	// its app's artifacts directory (which exists then), with the app that
	// owns the versions (a slot's are its app's) and its plan's SKU, so that
	// the server can bound what builds and release commands write there.
	Storage func(ctx context.Context, owner string, sku slipway.SKU, dir string) error
	// Origin, if set, is the origin a browser has for a site's default host
	// name over HTTPS (https://<app>.<domain>, with the front door's port
	// unless it is 443); Django projects that would refuse their own forms
	// from it get a warning in the deployment log (doctor.go).
	Origin func(site string) string
}

// Coordinator runs deployments and site lifecycle operations.
type Coordinator struct {
	cfg     Config
	reserve *diskreserve.Guard // packages are stored above it
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu       sync.Mutex
	sites    map[string]*siteState
	inflight map[string]int         // package sha256 → deployments using it now
	watching map[string]*applog.Log // site (lower case) → its log that watchHosts reads
	closed   bool                   // Close was called: start no more goroutines
	// pkgEpoch changes with every change of inflight (guarded by mu): a
	// sweep of stored packages (sweep.go) removes nothing when it changed
	// meanwhile.
	pkgEpoch uint64
}

type siteState struct {
	op        sync.Mutex // serialises rolls of one site
	deploying string     // id of the running deployment, "" when none (guarded by Coordinator.mu)
	done      chan struct{}
	stopped   bool
	refs      string    // fingerprint of the running release's resolved references, "" when none (guarded by Coordinator.mu)
	refsNote  string    // the last refresh problem logged, so it is logged once (guarded by Coordinator.mu)
	running   *Snapshot // what the running instances started with (guarded by Coordinator.mu)
}

// New returns a Coordinator. Close waits for running deployments.
func New(cfg Config) *Coordinator {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Limits = cfg.Limits.WithDefaults()
	if cfg.MaxPackage <= 0 {
		cfg.MaxPackage = DefaultMaxPackage
	}
	if cfg.ReferenceRefresh <= 0 {
		cfg.ReferenceRefresh = DefaultReferenceRefresh
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Coordinator{cfg: cfg, ctx: ctx, cancel: cancel, sites: make(map[string]*siteState), inflight: map[string]int{},
		watching: map[string]*applog.Log{}}
	c.reserve = cfg.Reserve
	if c.reserve == nil {
		c.reserve = diskreserve.New(diskreserve.Config{Path: cfg.DataDir, What: "deployment packages", Reserve: cfg.DiskReserve,
			FreeSpace: cfg.FreeSpace, Logger: cfg.Logger, Now: cfg.Now})
	}
	if cfg.References != nil {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.refreshLoop(ctx)
		}()
	}
	return c
}

// Close cancels running deployments and the log watchers and waits for
// them to end.
func (c *Coordinator) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	return nil
}

func (c *Coordinator) state(site string) *siteState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state0(site)
}

// state0 is state with c.mu held.
func (c *Coordinator) state0(site string) *siteState {
	k := strings.ToLower(site)
	s := c.sites[k]
	if s == nil {
		s = &siteState{}
		c.sites[k] = s
	}
	return s
}

// SiteHome returns the persistent home directory of a site.
func (c *Coordinator) SiteHome(site string) string {
	return filepath.Join(c.cfg.DataDir, "sites", strings.ToLower(site), "home")
}

// SiteLog returns the log of a site.
func (c *Coordinator) SiteLog(site string) *applog.Log {
	return c.cfg.Logs.App(site, filepath.Join(c.SiteHome(site), "LogFiles"))
}

// IsDeploying reports whether a deployment of the site is running, and its id.
func (c *Coordinator) IsDeploying(site string) (string, bool) {
	st := c.state(site)
	c.mu.Lock()
	defer c.mu.Unlock()
	return st.deploying, st.deploying != ""
}

// Options describe a push.
type Options struct {
	Deployer    string // "Push-Deployer" (zipdeploy), "OneDeploy" (publish), ...
	Author      string
	AuthorEmail string
	Message     string
	Build       *bool // nil → decide from SCM_DO_BUILD_DURING_DEPLOYMENT, absent: BuildByDefault
	// BuildByDefault is the build decision when the app sets no
	// SCM_DO_BUILD_DURING_DEPLOYMENT: false for zip pushes, true for Local
	// Git, as Kudu builds git deployments.
	BuildByDefault bool
	Restart        bool // roll the new release out (default true from callers)
	// File, when set, makes the push a single-file deployment (OneDeploy's
	// type=static and type=startup): the package is one file, written into
	// a copy of the active version.
	File *FileTarget
	// Overlay (OneDeploy's type=zip&clean=false) makes the new version's
	// source the active version's files with the package's over them
	// (overlay.go); built and released as any zip is.
	Overlay bool
}

// FileTarget is where a single-file deployment puts its file
// (docs/appservice.md §5, OneDeploy).
type FileTarget struct {
	// Path is slash-separated and relative to /home/site/wwwroot; the
	// Kudu API validated it, and Submit refuses one that is not local.
	Path string
	// Startup marks the file as the app's startup script (type=startup):
	// instances run it when the site has no startup command.
	Startup bool
	// Clean (clean=true) starts the new version empty: it holds this file
	// only.
	Clean bool
}

// Submit stores a package and starts its deployment in the background. It
// returns the deployment record at once; Wait blocks until it finishes. It
// fails with ECONFLICT while another deployment of the site runs.
func (c *Coordinator) Submit(ctx context.Context, site slipway.Site, pkg io.Reader, o Options) (slipway.Deployment, error) {
	id := newID()
	release, err := c.begin(site.Name, id)
	if err != nil {
		return slipway.Deployment{}, err
	}

	if o.File != nil {
		// Refused before anything is stored or recorded: the path is
		// checked against the active version, which no deployment can
		// change while this one holds the site.
		if err := c.checkFileTarget(ctx, site, *o.File); err != nil {
			release()
			return slipway.Deployment{}, err
		}
	}
	sum, pkgPath, err := c.storePackage(pkg) // in flight from here on
	if err != nil {
		release()
		return slipway.Deployment{}, err
	}
	finish := release
	release = func() {
		c.unusePackage(sum)
		finish()
	}
	now := c.cfg.Now().UTC()
	d := slipway.Deployment{
		ID: id, ResourceGroup: site.ResourceGroup, Site: site.Name,
		Status: slipway.DeployPending, StatusText: "Receiving changes.",
		Author: orNA(o.Author), AuthorEmail: orNA(o.AuthorEmail), Deployer: o.Deployer,
		Message: o.Message, PackageSHA256: sum, ReceivedTime: now, StartTime: now,
	}
	if d.Message == "" {
		d.Message = "Created via a push deployment"
	}
	if _, err := c.cfg.Store.CreateDeployment(ctx, d); err != nil {
		release()
		c.dropPackage(context.Background(), sum)
		return slipway.Deployment{}, fmt.Errorf("recording deployment: %w", err)
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ok := c.run(c.ctx, site, d, pkgPath, o)
		if ok {
			c.autoSwap(c.ctx, site, d) // swap.go
		}
		release()
		if !ok {
			// A refused or failed push leaves nothing behind (a package a
			// successful deployment also uses stays, for redeploys).
			c.dropPackage(context.Background(), sum)
		}
	}()
	return d, nil
}

// begin takes the site's deployment lock for the operation id (a
// deployment, a redeploy, the deletion of a deployment): one runs at a
// time, and the others get Kudu's 409 (docs/appservice.md §5). release
// gives it back and ends Wait.
func (c *Coordinator) begin(site, id string) (release func(), err error) {
	st := c.state(site)
	c.mu.Lock()
	defer c.mu.Unlock()
	if st.deploying != "" {
		return nil, slipway.Errorf(slipway.ECONFLICT, "There is a deployment currently in progress. Please try again when it completes.")
	}
	st.deploying, st.done = id, make(chan struct{})
	done := st.done
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		st.deploying = ""
		close(done)
	}, nil
}

// dropPackage removes a stored package that no successful deployment of any
// site refers to and no running deployment uses. An empty sum (a
// deployment only recorded has no package) names none, and is not worth
// the look at every site's deployments: records cost their sender one
// small PUT.
func (c *Coordinator) dropPackage(ctx context.Context, sum string) {
	if sum == "" {
		return
	}
	c.mu.Lock()
	busy := c.inflight[sum] > 0
	c.mu.Unlock()
	if busy {
		return
	}
	sites, err := c.cfg.Store.Sites(ctx, "")
	if err != nil {
		return
	}
	for _, s := range sites {
		ds, err := c.cfg.Store.ListDeployments(ctx, s.Name)
		if err != nil {
			return
		}
		for _, d := range ds {
			if d.PackageSHA256 == sum && d.Status == slipway.DeploySuccess {
				return
			}
		}
	}
	os.Remove(filepath.Join(c.cfg.DataDir, "packages", sum+".zip"))
}

// Wait blocks until the site's running deployment (if any) has finished.
func (c *Coordinator) Wait(ctx context.Context, site string) error {
	st := c.state(site)
	c.mu.Lock()
	done := st.done
	c.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// storePackage stores a package by its content and marks it in use; the
// caller ends that use with unusePackage.
func (c *Coordinator) storePackage(pkg io.Reader) (sum, path string, err error) {
	dir := filepath.Join(c.cfg.DataDir, "packages")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("creating package store: %w", err)
	}
	// Packages lie outside every app's quota, beside the platform's own
	// data: each is bounded by MaxPackage, and all of them by the disk
	// reserve, checked before and as the package arrives.
	if err := c.reserve.Check(0); errors.Is(err, diskreserve.ErrShort) {
		return "", "", errDiskShort
	} else if err != nil {
		return "", "", fmt.Errorf("storing package: %w", err)
	}
	f, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return "", "", fmt.Errorf("storing package: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := sha256.New()
	limit := c.cfg.MaxPackage
	n, err := io.Copy(io.MultiWriter(f, h), c.reserve.Reader(io.LimitReader(pkg, limit+1)))
	if errors.Is(err, diskreserve.ErrShort) {
		return "", "", errDiskShort
	}
	if err != nil {
		return "", "", fmt.Errorf("receiving package: %w", err)
	}
	if n > limit {
		return "", "", slipway.Errorf(slipway.EINVALID, "The package is larger than %s, the deployment limit.", sizeText(limit))
	}
	if n == 0 {
		return "", "", slipway.Errorf(slipway.EINVALID, "The request body is empty: send the zip package as the body (curl --data-binary @app.zip).")
	}
	if err := f.Sync(); err != nil {
		return "", "", fmt.Errorf("storing package: %w", err)
	}
	sum = hex.EncodeToString(h.Sum(nil))
	path = filepath.Join(dir, sum+".zip")
	// In flight before it is visible, so that no sweep of unused packages
	// (sweep.go) removes it before its deployment is recorded.
	c.mu.Lock()
	c.inflight[sum]++
	c.pkgEpoch++
	c.mu.Unlock()
	if err := os.Rename(f.Name(), path); err != nil {
		c.unusePackage(sum)
		return "", "", fmt.Errorf("storing package: %w", err)
	}
	return sum, path, nil
}

// unusePackage ends one use of a stored package that storePackage began.
func (c *Coordinator) unusePackage(sum string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inflight[sum]--; c.inflight[sum] <= 0 {
		delete(c.inflight, sum)
	}
	c.pkgEpoch++
}

// errDiskShort refuses a package that would take the disk space kept for
// the platform's own data (Config.DiskReserve). The condition is the
// server's and passes when space is freed: EUNAVAILABLE, which Kudu
// answers with 503 and Retry-After, and the message az and curl print.
var errDiskShort = slipway.Errorf(slipway.EUNAVAILABLE, "The package was not stored: the server is short of disk space. Try again later; the server's operator has been warned.")

// DefaultMaxPackage is Kudu's package size limit (docs/appservice.md §5).
const DefaultMaxPackage = 2048 << 20

// sizeText writes a size limit in MB, or in bytes below one MB.
func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// step records one summary line of the deployment log and returns its id,
// so that the step's full output can stream into its details.
func (c *Coordinator) step(ctx context.Context, d slipway.Deployment, typ slipway.LogEntryType, format string, args ...any) string {
	msg := c.SiteLog(d.Site).Secrets().String(fmt.Sprintf(format, args...))
	e := slipway.DeploymentLogEntry{ID: newID(), Time: c.cfg.Now().UTC(), Message: msg, Type: typ}
	if _, err := c.cfg.Store.AppendDeploymentLog(ctx, d.Site, d.ID, e); err != nil {
		c.cfg.Logger.Error("appending deployment log", "deployment", d.ID, "err", err)
	}
	c.SiteLog(d.Site).Event("Deployment %s: %s", d.ID[:8], e.Message)
	return e.ID
}

// detailsWriter streams a step's output into the entry's details and the
// site's log stream, with the site's secrets masked: it holds back a
// partial line until its end arrives (redact.Writer), so Close it when the
// step ends. It is safe for concurrent writers (a command's stdout and
// stderr).
type detailsWriter struct {
	c       *Coordinator
	ctx     context.Context
	site    string
	depID   string
	entryID string
	mu      sync.Mutex
	live    io.Writer
	masked  *redact.Writer
}

func (w *detailsWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.masked.Write(p)
}

// Close writes out a held-back partial line.
func (w *detailsWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.masked.Close()
}

// maxDetailsBytes bounds the details of one log entry: a build or
// release command is the app's code, and its output goes into the
// platform's database and is read whole by the Kudu API.
const maxDetailsBytes = 16 << 20

// sinkWriter is the end of a detailsWriter, called with masked text.
type sinkWriter func(p []byte) (int, error)

func (f sinkWriter) Write(p []byte) (int, error) { return f(p) }

func (c *Coordinator) details(ctx context.Context, d slipway.Deployment, entryID string) *detailsWriter {
	log := c.SiteLog(d.Site)
	w := &detailsWriter{c: c, ctx: ctx, site: d.Site, depID: d.ID, entryID: entryID, live: log.Writer(applog.SourcePlatform)}
	stored, cut := 0, false // called under w.mu
	w.masked = redact.NewWriter(log.Secrets(), sinkWriter(func(p []byte) (int, error) {
		text := ""
		switch {
		case stored < maxDetailsBytes:
			text = string(p[:min(len(p), maxDetailsBytes-stored)])
			stored += len(text)
		case !cut:
			cut = true
			text = fmt.Sprintf("\n[Output cut here: more than %d MB. The rest went to the log stream only.]\n", maxDetailsBytes>>20)
		}
		if text != "" {
			if err := c.cfg.Store.AppendDeploymentLogDetails(w.ctx, w.site, w.depID, w.entryID, text); err != nil {
				return 0, err
			}
		}
		w.live.Write(p)
		return len(p), nil
	}))
	return w
}

func (c *Coordinator) setStatus(ctx context.Context, d *slipway.Deployment, s slipway.DeployStatus, text string) {
	d.Status, d.StatusText = s, text
	if d.Complete() {
		d.EndTime = c.cfg.Now().UTC()
	}
	if err := c.cfg.Store.UpdateDeployment(ctx, *d); err != nil {
		c.cfg.Logger.Error("updating deployment", "deployment", d.ID, "err", err)
	}
}

// run is the life of one deployment; it ends with status 3 or 4, and
// reports whether it succeeded.
func (c *Coordinator) run(ctx context.Context, site slipway.Site, d slipway.Deployment, pkgPath string, o Options) (ok bool) {
	artDir := filepath.Join(c.artifactsDir(site), d.ID)
	end := func(kept bool, format string, args ...any) {
		if !kept {
			os.RemoveAll(artDir) // a failed deployment never serves; its log says why
		}
		// The deployer reads this: what went wrong, never where the
		// server keeps its data.
		msg := fmt.Sprintf(format, args...)
		if data := filepath.Clean(c.cfg.DataDir); data != "/" && data != "." {
			msg = strings.ReplaceAll(msg, data, "the server's data directory")
		}
		c.step(context.Background(), d, slipway.LogError, "%s", msg)
		if kept {
			c.step(context.Background(), d, slipway.LogError, "Deployment failed. The previous version keeps serving. %s", keptForRestart)
		} else {
			c.step(context.Background(), d, slipway.LogError, "Deployment failed. The previous version keeps serving.")
		}
		c.setStatus(context.Background(), &d, slipway.DeployFailed, msg)
		c.prune(context.Background(), site, d, artDir)
	}
	fail := func(format string, args ...any) { end(false, format, args...) }
	// A version that was built and released but did not start is kept:
	// it is what App Service would have left in /home/site/wwwroot, and
	// the app's next restart starts it (pending.go).
	failStart := func(format string, args ...any) { end(true, format, args...) }
	c.step(ctx, d, slipway.LogMessage, "Received deployment package (sha256 %s).", d.PackageSHA256[:12])

	snap, refs, configured := c.configuration(ctx, site, d, fail)
	if !configured {
		return false
	}
	if c.cfg.Storage != nil {
		dir := filepath.Dir(artDir)
		err := os.MkdirAll(dir, 0o711)
		if err == nil {
			err = c.cfg.Storage(ctx, artifactsOwner(site), snap.Plan.SKU, dir)
		}
		if err != nil {
			fail("Preparing the app's storage failed: %s", err)
			return false
		}
	}
	var art Artifact
	var baseID string // the version a single file or a package was added to
	if o.File != nil {
		d.Build = false
		if art, baseID, ok = c.fileArtifact(ctx, snap, d, pkgPath, artDir, *o.File, fail); !ok {
			return false
		}
	} else if art, baseID, d.Build, ok = c.packageArtifact(ctx, site, snap, d, pkgPath, artDir, o, fail); !ok {
		return false
	}
	if err := WriteArtifact(art); err != nil {
		fail("Recording the artifact failed: %v", err)
		return false
	}
	d.ArtifactDir = artDir
	c.setStatus(ctx, &d, slipway.DeployDeploying, "Deploying.")

	st := c.state(site.Name)
	st.op.Lock()
	defer st.op.Unlock()
	if o.File != nil && !o.File.Clean || o.File == nil && o.Overlay {
		// A swap commits under the site's lock, which this deployment
		// has only now: the version it copied must still be the active
		// one, or rolling the copy out would undo the swap.
		if active, _, err := c.activeDeployment(ctx, site.Name); err != nil || active.ID != baseID {
			what := "the file"
			if o.File == nil {
				what = "the package (clean=false)"
			}
			fail("The app's active version changed while %s was being deployed (a slot swap committed); nothing was changed. Deploy %s again.", what, what)
			return false
		}
	}

	// Release step: once per deployment, before any new instance takes
	// traffic, in the artifact itself (instances start from copies of it).
	// A single file is deployed as it is, as Kudu copies it: no release.
	if cmd := releaseCommand(snap.Settings, art); cmd != nil && o.File == nil {
		entry := c.step(ctx, d, slipway.LogMessage, "Running release command: %s", strings.Join(cmd, " "))
		began := c.cfg.Now()
		releaseLog := c.details(ctx, d, entry)
		err := c.runCommand(ctx, snap, art, cmd, releaseLog, releaseTimeout)
		releaseLog.Close()
		if err != nil {
			fail("The release command failed (%v). Fix it, or set the app setting SLIPWAY_RELEASE_COMMAND to another command, or to 'none' to skip it.", err)
			return false
		}
		c.step(ctx, d, slipway.LogMessage, "Release command succeeded.")
		c.warnSQLiteNextToCode(ctx, d, art.Dir, began)
	}
	// Django's deployment checklist: advice only, never a failure.
	if o.File == nil {
		c.djangoCheck(ctx, snap, art, d)
		c.djangoOriginCheck(ctx, snap, art, d)
	}
	if err := sealTree(art.Dir); err != nil {
		fail("Sealing the release failed: %v", err)
		return false
	}
	// The release command and the checks ran as the app in the artifact,
	// beside its record, which later restarts and single-file deployments
	// trust (the environment it names is copied for every instance):
	// write it again, now that only the platform can.
	if err := WriteArtifact(art); err != nil {
		fail("Recording the artifact failed: %v", err)
		return false
	}
	if !o.Restart {
		c.step(ctx, d, slipway.LogWarning, "Restart skipped (restart=false): the new version serves from the next restart.")
	}
	if !c.activate(ctx, snap, &d, art, refs, o.Restart, fail, failStart) {
		return false
	}
	ok = true
	c.prune(ctx, site, d, artDir)
	return true
}

// configuration returns what the site runs with now — its snapshot, with
// its Key Vault references resolved — and notes the references in d's log.
// It reports a failure through fail.
func (c *Coordinator) configuration(ctx context.Context, site slipway.Site, d slipway.Deployment, fail func(string, ...any)) (Snapshot, kvref.Resolution, bool) {
	snap, err := c.snapshot(ctx, site.ResourceGroup, site.Name)
	if err != nil {
		fail("Reading the app's configuration failed: %s", slipway.ErrorMessage(err))
		return Snapshot{}, kvref.Resolution{}, false
	}
	refs, err := c.resolve(ctx, &snap)
	if err != nil {
		fail("%s", errText(err))
		return Snapshot{}, kvref.Resolution{}, false
	}
	c.noteReferences(ctx, d, refs)
	return snap, refs, true
}

// activate makes art, the version of deployment d, the one the site runs,
// as every deployment and redeploy ends: it publishes it to
// /home/site/wwwroot, rolls it out with snap when restart (new instances
// must answer before traffic moves to them), and records d as the site's
// active deployment, successful. It reports a failure through fail, or
// through failStart when the version's instances did not start, and
// returns whether it succeeded.
func (c *Coordinator) activate(ctx context.Context, snap Snapshot, d *slipway.Deployment, art Artifact, refs kvref.Resolution, restart bool, fail, failStart func(string, ...any)) bool {
	if err := c.cfg.Planner.Publish(ctx, snap, art); err != nil {
		fail("Publishing the release to /home/site/wwwroot failed: %v", err)
		return false
	}
	if restart {
		c.step(ctx, *d, slipway.LogMessage, "Starting %d new instance(s) and waiting for them to answer %s...", instanceCount(snap), rt.ReadinessPath)
		if err := c.roll(ctx, snap, art); err != nil {
			failStart("The version did not start: %v", err)
			return false
		}
		c.setRunningRefs(snap.Site.Name, refs.Fingerprint())
		if art.Django {
			c.checkHost(ctx, *d, snap)
		}
	}
	if err := c.cfg.Store.SetActiveDeployment(ctx, snap.Site.Name, d.ID); err != nil {
		fail("Recording the active deployment failed: %v", err)
		return false
	}
	d.Active = true
	c.step(ctx, *d, slipway.LogMessage, "Deployment successful.")
	c.setStatus(ctx, d, slipway.DeploySuccess, "Deployment successful.")
	return true
}

// prune deletes the site's old deployments after d finished, with their
// artifacts and the packages no one else uses. It runs after a failure
// too: records and logs live in the platform's database, outside every
// quota, and a tenant whose pushes only fail must not add to them
// without end (the store keeps keepDeployments failed ones).
func (c *Coordinator) prune(ctx context.Context, site slipway.Site, d slipway.Deployment, artDir string) {
	pruned, err := c.cfg.Store.PruneDeployments(ctx, site.Name, keepDeployments)
	if err != nil {
		c.cfg.Logger.Error("pruning old deployments", "site", site.Name, "err", err)
	}
	for _, old := range pruned {
		c.removeFiles(site, old)
	}
}

// removeFiles removes what a deleted deployment record leaves behind: its
// artifact — unless the store cleared ArtifactDir because another record
// runs it, or it does not lie in the app's artifacts directory — and its
// package, unless another deployment uses it (dropPackage).
func (c *Coordinator) removeFiles(site slipway.Site, old slipway.Deployment) {
	if old.ArtifactDir != "" && filepath.Dir(old.ArtifactDir) == c.artifactsDir(site) {
		os.RemoveAll(old.ArtifactDir)
	}
	c.dropPackage(context.Background(), old.PackageSHA256)
}

// artifactsDir is the directory of the site's artifacts, one per
// deployment: its app's, for a slot (docs/slots.md §1).
func (c *Coordinator) artifactsDir(site slipway.Site) string {
	return filepath.Join(c.cfg.DataDir, "sites", strings.ToLower(artifactsOwner(site)), "artifacts")
}

// packageArtifact makes the new version of a zip push: the package
// extracted with confinement — over the active version's files with
// overlay (overlay.go) — then built the way Oryx builds, or copied as it
// is, as the app's settings and the package's .deployment file decide
// (deploymentfile.go). It returns the id of the deployment whose files it
// kept ("" when none), which must still be the active one when the new
// version replaces it, and whether it built. It reports failures through
// fail.
func (c *Coordinator) packageArtifact(ctx context.Context, site slipway.Site, snap Snapshot, d slipway.Deployment, pkgPath, artDir string, o Options, fail func(string, ...any)) (art Artifact, baseID string, built, ok bool) {
	scratch := filepath.Join(c.cfg.DataDir, "tmp", "deploy-"+d.ID)
	defer os.RemoveAll(scratch)
	if err := os.MkdirAll(scratch, 0o700); err != nil {
		fail("Preparing the deployment's scratch directory failed: %v", err)
		return Artifact{}, "", false, false
	}
	src := filepath.Join(scratch, "extracted")
	// The scratch directory lies beside the platform's own data, outside
	// every quota, and a package may expand to 200 times its size: what
	// it expands to must fit above the disk reserve, as the package did.
	lim := c.cfg.Limits
	lim.Room = c.reserve.Check
	stats, err := archive.Extract(ctx, pkgPath, src, lim)
	if errors.Is(err, diskreserve.ErrShort) {
		fail("The package was not extracted: the server is short of disk space. Try again later; the server's operator has been warned.")
		return Artifact{}, "", false, false
	}
	if err != nil {
		fail("The package was refused: %s", errText(err))
		return Artifact{}, "", false, false
	}
	c.step(ctx, d, slipway.LogMessage, "Extracted %d files (%d bytes).", stats.Files, stats.Bytes)
	// The package's own deployment settings, read before the active
	// version goes under it (clean=false): Kudu reads them from what was
	// sent.
	df, err := readDeploymentFile(src)
	if err != nil {
		fail("The package was refused: %s", errText(err))
		return Artifact{}, "", false, false
	}
	if why := df.unsupported(); why != "" {
		fail("%s", why)
		return Artifact{}, "", false, false
	}
	doBuild := df.build(o, snap.Settings)
	d.Build = doBuild
	if len(df) > 0 {
		c.step(ctx, d, slipway.LogMessage, "Read the package's .deployment file: %s (app settings of the same names win).", strings.Join(slices.Sorted(maps.Keys(df)), ", "))
		snap.Settings = df.under(snap.Settings) // the build's environment
	}
	var base Artifact // the version the package goes over
	if o.Overlay {
		var ok bool
		if base, baseID, ok = c.overlayActive(ctx, d, src, stats, fail); !ok {
			return Artifact{}, "", false, false
		}
	}

	if err := os.MkdirAll(filepath.Dir(artDir), 0o755); err != nil {
		fail("Preparing the artifact directory failed: %v", err)
		return Artifact{}, "", false, false
	}
	if doBuild {
		c.setStatus(ctx, &d, slipway.DeployBuilding, "Building.")
		entry := c.step(ctx, d, slipway.LogMessage, "Running oryx build...")
		uid, gid, err := c.cfg.Planner.Identity(ctx, site.Name)
		if err != nil {
			fail("Preparing the build's user failed: %v", err)
			return Artifact{}, "", false, false
		}
		var owner *build.Owner
		if uid != 0 || gid != 0 {
			owner = &build.Owner{UID: uid, GID: gid}
		}
		buildLog := c.details(ctx, d, entry)
		res, err := c.cfg.Builder.Build(ctx, build.Request{
			// The app's own user and cache: a poisoned build can affect
			// only its own app.
			Owner: owner, Scope: strings.ToLower(site.Name),
			SourceDir: src, OutputDir: artDir, Settings: c.cfg.Planner.BuildSettings(snap),
			LinuxFxVersion: snap.Site.Config.LinuxFxVersion,
			Log:            buildLog,
		})
		buildLog.Close()
		if err != nil {
			fail("Build failed: %s", errText(err))
			return Artifact{}, "", false, false
		}
		art = Artifact{Dir: artDir, PythonVersion: res.PythonVersion, PythonPath: res.PythonPath, VenvDir: res.VenvDir, Django: res.Django}
		if res.CacheHit {
			c.step(ctx, d, slipway.LogMessage, "Reused the cached Python environment: requirements unchanged.")
		}
		c.step(ctx, d, slipway.LogMessage, "Build succeeded (Python %s).", res.PythonVersion)
	} else {
		c.step(ctx, d, slipway.LogMessage, "Build skipped: SCM_DO_BUILD_DURING_DEPLOYMENT is not true, so the package is deployed as it is (set it to true to install requirements.txt).")
		if err := tree.Copy(ctx, src, artDir, tree.Options{}); err != nil {
			fail("Copying the package failed: %v", err)
			return Artifact{}, "", false, false
		}
		art = Artifact{Dir: artDir, PythonVersion: c.cfg.Default.PythonVersion, PythonPath: c.cfg.Default.PythonPath}
	}
	c.keepStartupScript(ctx, d, base, &art)
	return art, baseID, doBuild, true
}

// releaseTimeout bounds the release command.
const releaseTimeout = 30 * time.Minute

// checkHost asks a new instance of a Django app for a page with the app's
// own host name: a 400 Bad Request means ALLOWED_HOSTS lacks it, which with
// DEBUG off Django does not even log (docs/appservice.md §14). The deployment
// still succeeds, as on App Service; its log says what to fix.
func (c *Coordinator) checkHost(ctx context.Context, d slipway.Deployment, snap Snapshot) {
	insts := c.cfg.Runtime.Instances(d.Site)
	if len(insts) == 0 || insts[0].Addr == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	host, status, body, err := c.cfg.Planner.ProbeHost(ctx, snap, insts[0].Addr)
	if err != nil || status != 400 || !strings.Contains(body, "Bad Request") {
		return
	}
	c.step(ctx, d, slipway.LogWarning, "%s", refusedHostMessage(host))
}

// releaseCommand returns the release step for an artifact, or nil: for a
// Django app `python manage.py migrate --noinput`, unless the app setting
// SLIPWAY_RELEASE_COMMAND replaces it (or is "none").
func releaseCommand(settings map[string]string, art Artifact) []string {
	if v, ok := settings["SLIPWAY_RELEASE_COMMAND"]; ok {
		v = strings.TrimSpace(v)
		if v == "" || strings.EqualFold(v, "none") || strings.EqualFold(v, "false") {
			return nil
		}
		return []string{"/bin/sh", "-c", v}
	}
	if !art.Django || art.VenvDir == "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(art.Dir, "manage.py")); err != nil {
		return nil
	}
	return []string{"python", "manage.py", "migrate", "--noinput"} // the venv's python comes first on PATH
}

// runCommand runs a one-off command in the release with the app's
// environment, its output to out, for at most limit.
func (c *Coordinator) runCommand(ctx context.Context, s Snapshot, art Artifact, argv []string, out io.Writer, limit time.Duration) error {
	l, err := c.cfg.Planner.Command(ctx, s, art, argv)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	return c.launch(ctx, l, out, out)
}

// launch runs l to its end, or until ctx is done, its output to stdout
// and stderr.
func (c *Coordinator) launch(ctx context.Context, l rt.Launch, stdout, stderr io.Writer) error {
	if l.Cleanup != nil {
		defer l.Cleanup()
	}
	l.Stdout, l.Stderr = stdout, stderr
	p, err := c.cfg.Launcher.Start(ctx, l)
	if err != nil {
		return err
	}
	return p.Wait()
}

func (c *Coordinator) roll(ctx context.Context, s Snapshot, art Artifact) error {
	return c.rollGated(ctx, s, art, nil)
}

// rollGated is roll with a gate run before traffic moves (rt.Release.Gate).
func (c *Coordinator) rollGated(ctx context.Context, s Snapshot, art Artifact, gate func(context.Context, []string) error) error {
	c.watchHosts(s.Site.Name)
	limit := 230 * time.Second
	if v, err := strconv.Atoi(s.Settings["WEBSITES_CONTAINER_START_TIME_LIMIT"]); err == nil && v >= 10 && v <= 1800 {
		limit = time.Duration(v) * time.Second
	}
	err := c.cfg.Runtime.Roll(ctx, s.Site.Name, rt.Release{
		Instances:    instanceCount(s),
		Port:         c.cfg.Planner.Port(s),
		ReadyTimeout: limit,
		Health:       healthCheck(s, c.cfg.Planner.BuildSettings(s)["WEBSITE_HOSTNAME"]),
		Log:          c.SiteLog(s.Site.Name),
		Gate:         gate,
		Build: func(inst rt.Instance) (rt.Launch, error) {
			// Build also runs for every restart after a crash, long after
			// the request that rolled the release has ended: it must not
			// use that request's context.
			return c.cfg.Planner.Instance(c.ctx, s, art, inst)
		},
	})
	if err == nil {
		c.rolled(s)
	}
	return err
}

func (c *Coordinator) snapshot(ctx context.Context, rg, name string) (Snapshot, error) {
	site, err := c.cfg.Store.Site(ctx, rg, name)
	if err != nil {
		return Snapshot{}, err
	}
	plan, err := c.cfg.Store.Plan(ctx, site.PlanResourceGroup(), site.Plan)
	if err != nil {
		return Snapshot{}, err
	}
	settings, err := c.cfg.Store.Settings(ctx, site.ResourceGroup, site.Name)
	if err != nil {
		return Snapshot{}, err
	}
	conns, err := c.cfg.Store.ConnectionStrings(ctx, site.ResourceGroup, site.Name)
	if err != nil {
		return Snapshot{}, err
	}
	return c.previewed(ctx, Snapshot{Site: site, Plan: plan, Settings: settings, ConnectionStrings: conns})
}

// artifact returns what the site should run now: its active deployment's
// artifact, or the default site.
func (c *Coordinator) artifact(ctx context.Context, site string) (Artifact, error) {
	d, err := c.cfg.Store.ActiveDeployment(ctx, site)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return c.cfg.Default, nil
	} else if err != nil {
		return Artifact{}, err
	}
	return c.artifactOf(d)
}

func (c *Coordinator) artifactOf(d slipway.Deployment) (Artifact, error) {
	art, err := ReadArtifact(d.ArtifactDir)
	if err != nil {
		return Artifact{}, err
	}
	if art.PythonPath == "" {
		art.PythonVersion, art.PythonPath = c.cfg.Default.PythonVersion, c.cfg.Default.PythonPath
	}
	return art, nil
}

// Restart rolls the site's current release again (zero downtime): new
// instances start with the current settings, then the old ones stop.
func (c *Coordinator) Restart(ctx context.Context, rg, name string) error {
	return c.restart(ctx, rg, name, true)
}

// restart is Restart; pending says whether a version that did not start
// is tried first (pending.go).
func (c *Coordinator) restart(ctx context.Context, rg, name string, pending bool) error {
	snap, err := c.snapshot(ctx, rg, name)
	if err != nil {
		return err
	}
	if !snap.Site.Enabled {
		return nil // a stopped app stays stopped; settings apply at start
	}
	st := c.state(name)
	st.op.Lock()
	defer st.op.Unlock()
	// Read under the lock: a deployment or a redeploy that activated its
	// version meanwhile must not be rolled back by this restart.
	art, err := c.artifact(ctx, snap.Site.Name)
	if err != nil {
		return err
	}
	refs, err := c.resolve(ctx, &snap)
	if err != nil {
		c.SiteLog(name).Event("The app was not restarted; the previous instances keep serving. %s", errText(err))
		return slipway.Errorf(slipway.EUNAVAILABLE, "The app was not restarted; the previous instances keep serving. %s", errText(err))
	}
	// A version that did not start when it was deployed starts first
	// (pending.go).
	var pendingErr error
	var pendingID string
	if pending {
		if d, part, ok := c.pendingStart(ctx, name); ok {
			if pendingErr = c.startPending(ctx, snap, d, part, refs); pendingErr == nil {
				return nil
			}
			pendingID = d.ID
		}
	}
	c.SiteLog(name).Event("Restarting site %s.", name)
	if err := c.roll(ctx, snap, art); err != nil {
		c.SiteLog(name).Event("Restart failed; the previous instances keep serving: %v", err)
		return slipway.Errorf(slipway.EUNAVAILABLE, "The app did not restart: %v. The previous instances keep serving; see the log stream.", err)
	}
	c.setRunningRefs(name, refs.Fingerprint())
	if pendingErr != nil {
		return slipway.Errorf(slipway.EUNAVAILABLE, "Deployment %s, the newest, did not start at this restart either (%v). The previous version restarted with the app's current configuration and keeps serving; see the deployment's log.", pendingID, pendingErr)
	}
	return nil
}

// RestartSite implements the ARM controller.
func (c *Coordinator) RestartSite(ctx context.Context, rg, name string) error {
	return c.Restart(ctx, rg, name)
}

// SiteConfigChanged restarts the site, as App Service does when settings
// change; a change of its instance count alone scales it instead.
func (c *Coordinator) SiteConfigChanged(ctx context.Context, rg, name string) error {
	return c.scaleOrRestart(ctx, rg, name)
}

// PlanChanged applies a plan's change to every running site of it: a new
// number of workers scales each site out or in (the running instances go
// on serving); a new size restarts them (zero downtime) on it.
func (c *Coordinator) PlanChanged(ctx context.Context, rg, plan string) error {
	sites, err := c.cfg.Store.Sites(ctx, "") // a plan's sites may be in other groups
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range sites {
		if !s.OnPlan(rg, plan) || !s.Enabled {
			continue
		}
		c.SiteLog(s.Name).Event("The App Service plan %s changed.", plan)
		if err := c.scaleOrRestart(ctx, s.ResourceGroup, s.Name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// StopSite stops a site's instances.
func (c *Coordinator) StopSite(ctx context.Context, rg, name string) error {
	st := c.state(name)
	st.op.Lock()
	defer st.op.Unlock()
	c.cfg.Runtime.Stop(ctx, name)
	c.setRunningRefs(name, "")
	c.SiteLog(name).Event("Site %s stopped.", name)
	return nil
}

// StartSite starts a stopped site.
func (c *Coordinator) StartSite(ctx context.Context, rg, name string) error {
	return c.Restart(ctx, rg, name)
}

// SiteDeleted stops a deleted site and removes its files, and the versions
// and packages of its deployments no remaining record uses.
func (c *Coordinator) SiteDeleted(ctx context.Context, rg, name string) error {
	st := c.state(name)
	st.op.Lock()
	c.cfg.Runtime.Stop(ctx, name)
	st.op.Unlock()
	c.setRunningRefs(name, "")
	c.cfg.Logs.Forget(name) // ends the site's watchHosts goroutine
	c.mu.Lock()
	delete(c.watching, strings.ToLower(name))
	c.mu.Unlock()
	if err := os.RemoveAll(filepath.Join(c.cfg.DataDir, "sites", strings.ToLower(name))); err != nil {
		return fmt.Errorf("removing site files: %w", err)
	}
	// A slot's versions lie in its app's directory (sweep.go).
	if err := c.slotDeleted(ctx, name); err != nil {
		return fmt.Errorf("removing the versions no one uses: %w", err)
	}
	return nil
}

// Instances lists a site's instances with their state.
func (c *Coordinator) Instances(ctx context.Context, rg, name string) ([]rt.Instance, error) {
	return c.cfg.Runtime.Instances(name), nil
}

// SiteStatus returns the runtime status of the site's instances.
func (c *Coordinator) SiteStatus(ctx context.Context, rg, name string) []rt.RuntimeStatus {
	return c.cfg.Runtime.SiteStatus(name)
}

// Recover finishes what a server that stopped abruptly (killed, crashed,
// lost power) left behind: deployments it was running are marked failed
// with a log line saying so, their artifacts and scratch directories are
// removed, as are versions no record names (a slot's, when the server
// stopped as it was deleted), and packages no deployment refers to any
// more are deleted. Call it once at start, before StartAll and before
// accepting deployments.
func (c *Coordinator) Recover(ctx context.Context) error {
	if err := c.recoverSwaps(ctx); err != nil { // swap.go
		return err
	}
	sites, err := c.cfg.Store.Sites(ctx, "")
	if err != nil {
		return fmt.Errorf("listing sites: %w", err)
	}
	for _, s := range sites {
		ds, err := c.cfg.Store.ListDeployments(ctx, s.Name)
		if err != nil {
			return fmt.Errorf("listing deployments of %s: %w", s.Name, err)
		}
		for _, d := range ds {
			if d.Complete() {
				continue
			}
			if d.Redeploying() {
				// Its version was stored when it first ran, and stays.
				c.step(ctx, d, slipway.LogError, "The server stopped while this deployment was being redeployed (%s). The version serving before keeps serving; redeploy it again.", d.Status)
				c.setStatus(ctx, &d, slipway.DeployFailed, "The server stopped during the redeploy.")
				continue
			}
			c.step(ctx, d, slipway.LogError, "The server stopped while this deployment was running (%s). Nothing of it was activated; the previous version keeps serving. Deploy again.", d.Status)
			if d.ArtifactDir != "" && !d.Active {
				os.RemoveAll(d.ArtifactDir)
			}
			os.RemoveAll(filepath.Join(c.artifactsDir(s), d.ID))
			c.setStatus(ctx, &d, slipway.DeployFailed, "The server stopped during the deployment.")
		}
	}
	// What a slot's deletion cut short left in its app's directory, and
	// pruned deployments' packages. Disk space left taken is no reason not
	// to serve: said, not returned.
	if err := c.sweep(ctx, func(string) bool { return true }); err != nil {
		c.cfg.Logger.Error("removing versions and packages no deployment names", "err", err)
	}
	os.RemoveAll(filepath.Join(c.cfg.DataDir, "tmp"))
	torn, _ := filepath.Glob(filepath.Join(c.cfg.DataDir, "packages", ".upload-*"))
	for _, p := range torn {
		os.Remove(p) // uploads a stop cut short
	}
	return nil
}

// StartAll starts every enabled site (at server start). Sites that fail to
// start are logged in their own log stream and reported together.
func (c *Coordinator) StartAll(ctx context.Context) error {
	sites, err := c.cfg.Store.Sites(ctx, "")
	if err != nil {
		return fmt.Errorf("listing sites: %w", err)
	}
	var errs []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, runtime.NumCPU()))
	for _, s := range sites {
		if !s.Enabled {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			// At the server's start no instance serves yet: the active
			// version starts, so that the site answers at once, and a
			// version that did not start waits for the next restart
			// rather than hold the site down for its start time limit.
			if err := c.restart(ctx, s.ResourceGroup, s.Name, false); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("starting %s: %w", s.Name, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func boolSetting(m map[string]string, k string, def bool) bool {
	v, ok := m[k]
	if !ok {
		return def
	}
	return boolValue(v, def)
}

// boolValue reads a setting's value as a switch; def when it is none.
func boolValue(v string, def bool) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	case "0", "false", "no", "off":
		return false
	}
	return def
}

func orNA(s string) string {
	if s == "" {
		return "N/A"
	}
	return s
}

func errText(err error) string {
	var e *slipway.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
