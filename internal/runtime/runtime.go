// Package runtime runs and supervises the instances of each site: processes
// started in a sandbox from a release, gated by App Service's readiness ping
// (GET /robots933456.txt answered with any status, docs/appservice.md §4), and
// replaced without downtime — new instances start and become ready before
// traffic moves; old ones then drain and stop. A crashed instance leaves the
// rotation and is restarted with backoff. Scale adds instances of the
// running release (ready before they take traffic) or drains and stops the
// surplus, without restarting the others. An instance keeps its id across
// restarts, as App Service's WEBSITE_INSTANCE_ID names the worker, so an
// ARRAffinity cookie outlives a restart.
//
// With a health-check path the runtime pings each instance (health.go):
// after too many failures it leaves the rotation (within the unhealthy
// percentage cap), comes back on recovery, and is replaced when unhealthy
// too long (docs/appservice.md §9).
//
// The front door asks Ready for a site's serving instances on each request.
package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/slipway-dev/slipway/internal/applog"
)

// ReadinessPath is the path App Service pings to decide a container is up.
const ReadinessPath = "/robots933456.txt"

// Process is a started instance process as the runtime needs it.
type Process interface {
	Wait() error
	Signal(sig syscall.Signal) error // to the whole process group
}

// Launcher starts instance processes (the sandbox in production).
type Launcher interface {
	Start(ctx context.Context, l Launch) (Process, error)
}

// Launch describes one process to start.
type Launch struct {
	Argv   []string
	Env    []string
	Dir    string
	Stdin  io.Reader // nil: none (a console session's input, deploy.Coordinator.Shell)
	Stdout io.Writer
	Stderr io.Writer
	Extra  any      // launcher-specific settings (e.g. sandbox mounts), built by the Release
	Notes  []string // lines to log before starting (e.g. startup detection's findings)
	// Cleanup, if set, runs once the process has exited (or failed to
	// start): it removes what Build prepared for this run, such as the
	// instance's ephemeral copy of the app.
	Cleanup func()
	// Addr is where the instance serves (host:port) once started, e.g. an
	// address in its own network; "" means 127.0.0.1:<Instance.Port>.
	Addr string
	// Diagnose, if set, explains why the instance does not answer its
	// readiness ping yet (e.g. "it listens on port 5000, not 8000; set
	// WEBSITES_PORT=5000"); "" when it has nothing to say.
	Diagnose func(ctx context.Context) string
	// Explain, if set, says what happened to the instance since it was last
	// called (e.g. the kernel killed a process for exceeding the memory
	// limit); "" when nothing new did. It is called every few seconds while
	// the instance runs and once after it exits.
	Explain func() string
}

// Instance identifies one running copy of a site.
type Instance struct {
	ID   string // 64 hex chars, as WEBSITE_INSTANCE_ID
	Role int    // 0, 1, ... as WEBSITE_ROLE_INSTANCE_ID
	// Machine names the instance in its startup logs and in ARM's
	// instances (machineName), as App Service names a worker.
	Machine string
	Port    int    // the port the app listens on (PORT)
	Addr    string // where the front door reaches it (host:port), once started
	// State and HealthFailures are filled in by Instances: where the
	// instance is in its life, and its consecutive failed health pings.
	State          State
	HealthFailures int
	// Incarnation numbers the instance's current process, unique in the
	// runtime: a restart of the instance (a crash, a deployment that keeps
	// its id) gives a new one. 0 until its first process starts.
	Incarnation uint64
}

// State is where an instance is in its life, as Instances reports it.
type State string

// The states of an instance.
const (
	StateStarting   State = "Starting"   // not yet answered its readiness ping
	StateReady      State = "Ready"      // serving
	StateUnhealthy  State = "Unhealthy"  // failing health pings but kept serving (the percentage cap, or all are unhealthy)
	StateRemoved    State = "Removed"    // failing health pings and out of the load balancer
	StateRestarting State = "Restarting" // exited; being started again
)

// Release is what to run for a site: it builds the launch of each instance
// once the runtime has chosen its port and identity.
type Release struct {
	DeploymentID string
	// Port is the port every instance's app listens on (PORT), in a network
	// of its own; 0 picks a free loopback port per instance (instances that
	// share the host's network).
	Port         int
	Instances    int           // how many to run (≥1)
	ReadyTimeout time.Duration // WEBSITES_CONTAINER_START_TIME_LIMIT; 0 → 230 s
	Health       HealthCheck   // the site's health check; zero: none
	Log          *applog.Log
	Build        func(inst Instance) (Launch, error)
	// Gate, if set, runs once every new instance is ready and before
	// traffic moves, with their base URLs; an error stops the new
	// instances and the previous ones keep serving (a slot swap's warm-up
	// and commit, docs/slots.md §2).
	Gate func(ctx context.Context, backends []string) error
}

// Config configures a Runtime.
type Config struct {
	Launcher   Launcher
	Logger     *slog.Logger
	DrainDelay time.Duration // between moving traffic and stopping old instances; 0 → 2 s
	StopGrace  time.Duration // SIGTERM → SIGKILL; 0 → 30 s
	PingEvery  time.Duration // readiness polling interval; 0 → 200 ms
	// HealthEvery is the interval of health-check pings; 0 → 1 minute, as
	// on App Service (tests shorten it).
	HealthEvery time.Duration
	// ReplaceAfter is how long an instance stays unhealthy before it is
	// replaced; 0 → 1 hour, as on App Service.
	ReplaceAfter time.Duration
}

// Runtime owns every site's instances.
type Runtime struct {
	cfg    Config
	client *http.Client    // readiness pings
	health *http.Client    // health-check pings (timeouts per request)
	ctx    context.Context // lifetime; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	sites map[string]*site // by lower-cased name

	starts atomic.Uint64 // processes started, for Instance.Incarnation
}

type site struct {
	op      sync.Mutex // serialises Roll, Scale and Stop of the site
	current atomic.Pointer[group]
	rr      atomic.Uint64
	ids     []string // instance ids by role, kept across rolls (guarded by op)
	status  statusBook
}

// group is the instances of one release. Its list changes only under the
// site's op lock, by replacing the slice (readers load it lock-free).
type group struct {
	release Release
	list    atomic.Pointer[[]*instance]
	quit    chan struct{} // closed when the group stops: ends its health checks
	once    sync.Once
	health  healthState
}

func (g *group) instances() []*instance {
	if p := g.list.Load(); p != nil {
		return *p
	}
	return nil
}

func (g *group) setInstances(l []*instance) { g.list.Store(&l) }

type instance struct {
	Instance
	rel         Release
	site        *site
	ready       atomic.Bool
	stopping    atomic.Bool
	removed     atomic.Bool // taken out of the load balancer by health checks
	started     atomic.Bool // has been ready once
	replace     atomic.Bool // being replaced (health): restart at once
	fails       int         // consecutive failed health pings (guarded by group.health.mu)
	badSince    time.Time   // when fails reached the limit (guarded by group.health.mu)
	mu          sync.Mutex
	proc        Process
	launch      Launch        // what started proc (guarded by mu; Enter)
	done        chan struct{} // closed when supervision has ended
	stop        chan struct{} // closed when the instance is being stopped
	stopOnce    sync.Once
	url         atomic.Pointer[string] // base URL of the current run
	incarnation atomic.Uint64          // Instance.Incarnation of the current process
}

func (in *instance) markStopping() {
	in.stopping.Store(true)
	in.stopOnce.Do(func() { close(in.stop) })
}

// New returns a Runtime. Close stops every instance.
func New(cfg Config) *Runtime {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.DrainDelay == 0 {
		cfg.DrainDelay = 2 * time.Second
	}
	if cfg.StopGrace == 0 {
		cfg.StopGrace = 30 * time.Second
	}
	if cfg.PingEvery == 0 {
		cfg.PingEvery = 200 * time.Millisecond
	}
	if cfg.HealthEvery == 0 {
		cfg.HealthEvery = time.Minute
	}
	if cfg.ReplaceAfter == 0 {
		cfg.ReplaceAfter = time.Hour
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Runtime{
		cfg: cfg, ctx: ctx, cancel: cancel, sites: make(map[string]*site),
		client: &http.Client{
			Timeout:       5 * time.Second,
			Transport:     &http.Transport{DisableKeepAlives: true, Proxy: nil},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		// Health pings do not follow redirects either: a 3xx is unhealthy.
		health: &http.Client{
			Transport:     &http.Transport{DisableKeepAlives: true, Proxy: nil},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

func (r *Runtime) site(name string) *site {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sites[strings.ToLower(name)]
	if s == nil {
		s = &site{}
		r.sites[strings.ToLower(name)] = s
	}
	return s
}

// Backends returns the base URLs of a site's serving instances (Ready),
// rotated so that successive calls spread the load; nil when none is ready.
func (r *Runtime) Backends(name string) []string {
	ready := r.Ready(name)
	var out []string
	for _, in := range ready {
		out = append(out, "http://"+in.Addr)
	}
	if n := len(out); n > 1 {
		s := r.lookup(name)
		k := int(s.rr.Add(1) % uint64(n))
		out = append(out[k:], out[:k]...)
	}
	return out
}

// Ready returns the instances of a site that take requests: ready, and not
// removed by health checks; nil when none is.
func (r *Runtime) Ready(name string) []Instance {
	g := r.currentGroup(name)
	if g == nil {
		return nil
	}
	var out []Instance
	for _, in := range g.instances() {
		if in.ready.Load() && !in.removed.Load() {
			if u := in.url.Load(); u != nil {
				i := in.Instance
				i.Addr = strings.TrimPrefix(*u, "http://")
				i.State = StateReady
				out = append(out, i)
			}
		}
	}
	return out
}

func (r *Runtime) lookup(name string) *site {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sites[strings.ToLower(name)]
}

func (r *Runtime) currentGroup(name string) *group {
	s := r.lookup(name)
	if s == nil {
		return nil
	}
	return s.current.Load()
}

// Instances returns a site's current instances, each with its address,
// state and health.
func (r *Runtime) Instances(name string) []Instance {
	g := r.currentGroup(name)
	if g == nil {
		return nil
	}
	list := g.instances()
	out := make([]Instance, len(list))
	g.health.mu.Lock()
	defer g.health.mu.Unlock()
	for i, in := range list {
		out[i] = in.Instance
		if u := in.url.Load(); u != nil {
			out[i].Addr = strings.TrimPrefix(*u, "http://")
		}
		out[i].HealthFailures = in.fails
		out[i].Incarnation = in.incarnation.Load()
		switch {
		case !in.ready.Load() && in.started.Load():
			out[i].State = StateRestarting
		case !in.ready.Load():
			out[i].State = StateStarting
		case in.removed.Load():
			out[i].State = StateRemoved
		case g.release.Health.Path != "" && in.fails >= g.release.Health.maxFailures():
			out[i].State = StateUnhealthy
		default:
			out[i].State = StateReady
		}
	}
	return out
}

// Running is a running instance of a site: its process and what started
// it (its command, environment, directory and the launcher's settings;
// no outputs or hooks), for a console session that runs inside it.
type Running struct {
	Instance
	Site   string
	Launch Launch
	Proc   Process
}

// Enter returns the instance of the site's current release whose id is id
// while its process runs, or, when id is "" or names none, the first ready
// instance in role order (App Service sends an SSH session to the instance
// its ARRAffinity cookie names, else to any). False when none runs.
func (r *Runtime) Enter(name, id string) (Running, bool) {
	g := r.currentGroup(name)
	if g == nil {
		return Running{}, false
	}
	pick := func(in *instance) (Running, bool) {
		in.mu.Lock()
		defer in.mu.Unlock()
		if in.proc == nil || in.stopping.Load() {
			return Running{}, false
		}
		return Running{Instance: in.Instance, Site: name, Launch: in.launch, Proc: in.proc}, true
	}
	list := g.instances()
	if id != "" {
		for _, in := range list {
			if strings.EqualFold(in.ID, id) {
				if run, ok := pick(in); ok {
					return run, true
				}
			}
		}
	}
	for _, in := range list {
		if in.ready.Load() && !in.removed.Load() {
			if run, ok := pick(in); ok {
				return run, true
			}
		}
	}
	return Running{}, false
}

// Running reports whether the site has a current release (ready or not).
func (r *Runtime) Running(name string) bool {
	r.mu.Lock()
	s := r.sites[strings.ToLower(name)]
	r.mu.Unlock()
	return s != nil && s.current.Load() != nil
}

// Roll starts the release's instances and, once every one is ready, moves
// the site's traffic to them and stops the previous ones after a drain
// delay. If any new instance fails to become ready, the new instances are
// stopped, the previous ones keep serving, and the error says why.
func (r *Runtime) Roll(ctx context.Context, name string, rel Release) error {
	if rel.Instances < 1 {
		rel.Instances = 1
	}
	if rel.ReadyTimeout == 0 {
		rel.ReadyTimeout = 230 * time.Second
	}
	s := r.site(name)
	s.op.Lock()
	defer s.op.Unlock()
	g := &group{release: rel, quit: make(chan struct{})}
	fresh, err := r.startInstances(ctx, s, g, 0, rel.Instances)
	if err != nil {
		return err
	}
	g.setInstances(fresh)
	old := s.current.Swap(g)
	r.watchHealth(g)
	if old != nil {
		rel.Log.Event("Traffic moved to the new instances; draining %d old instance(s).", len(old.instances()))
		old.stopAll()
		r.drain(func() { r.stopInstances(old.instances()) })
	}
	return nil
}

// Scale sets how many instances of the site's current release run. New
// instances start, and join the rotation once ready (and healthy); if one
// fails, those started are stopped and the others keep serving unchanged.
// Surplus instances, the highest roles first, leave the rotation at once,
// finish what they serve during the drain delay and stop. A site with no
// current release (stopped, or never started) is left as it is.
func (r *Runtime) Scale(ctx context.Context, name string, n int) error {
	n = max(n, 1)
	s := r.site(name)
	s.op.Lock()
	defer s.op.Unlock()
	g := s.current.Load()
	if g == nil {
		return nil
	}
	cur := g.instances()
	switch {
	case n > len(cur):
		g.release.Log.Event("Scaling out from %d to %d instance(s).", len(cur), n)
		fresh, err := r.startInstances(ctx, s, g, len(cur), n)
		if err != nil {
			g.release.Log.Event("Scaling out failed; %d instance(s) keep serving: %v", len(cur), err)
			return err
		}
		g.setInstances(append(append([]*instance(nil), cur...), fresh...))
	case n < len(cur):
		g.release.Log.Event("Scaling in from %d to %d instance(s); draining %d.", len(cur), n, len(cur)-n)
		keep, surplus := append([]*instance(nil), cur[:n]...), cur[n:]
		for _, in := range surplus {
			in.removed.Store(true) // out of the rotation now; stopped after the drain delay
		}
		g.setInstances(keep)
		s.status.resize(n)
		r.drain(func() { r.stopInstances(surplus) })
	}
	return nil
}

// drain stops instances after the drain delay, in the background (owned by
// r.wg), so that requests already sent to them finish.
func (r *Runtime) drain(stop func()) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		select {
		case <-time.After(r.cfg.DrainDelay):
		case <-r.ctx.Done():
		}
		stop()
	}()
}

// startInstances starts instances with roles from..to-1 of g's release and
// waits until each is ready. On failure it stops them and returns why.
// Roles keep the site's instance ids. Called with s.op held.
func (r *Runtime) startInstances(ctx context.Context, s *site, g *group, from, to int) ([]*instance, error) {
	rel := g.release
	var list []*instance
	for i := from; i < to; i++ {
		port := rel.Port
		if port == 0 {
			p, err := freePort()
			if err != nil {
				return nil, fmt.Errorf("choosing a port: %w", err)
			}
			port = p
		}
		for len(s.ids) <= i {
			s.ids = append(s.ids, newInstanceID())
		}
		in := &instance{
			Instance: Instance{ID: s.ids[i], Role: i, Port: port, Machine: rel.Log.Machine(i)},
			rel:      rel, site: s, done: make(chan struct{}), stop: make(chan struct{}),
		}
		list = append(list, in)
		s.status.begin(in, to)
	}
	errs := make(chan error, len(list))
	for _, in := range list {
		ready := make(chan error, 1)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.supervise(in, ready)
		}()
		go func() {
			select {
			case err := <-ready:
				errs <- err
			case <-ctx.Done():
				errs <- ctx.Err()
			}
		}()
	}
	var failed error
	for range list {
		if err := <-errs; err != nil && failed == nil {
			failed = err
		}
	}
	if failed == nil && rel.Gate != nil {
		var urls []string
		for _, in := range list {
			if u := in.url.Load(); u != nil {
				urls = append(urls, *u)
			}
		}
		failed = rel.Gate(ctx, urls)
	}
	if failed != nil {
		r.stopInstances(list)
		return nil, failed
	}
	return list, nil
}

// Stop stops a site's instances; the site then answers 503 until the next Roll.
func (r *Runtime) Stop(ctx context.Context, name string) {
	s := r.lookup(name)
	if s == nil {
		return
	}
	s.op.Lock()
	defer s.op.Unlock()
	s.status.stop()
	if g := s.current.Swap(nil); g != nil {
		g.stopAll()
		r.stopInstances(g.instances())
	}
}

// Close stops every instance of every site and waits for them.
func (r *Runtime) Close() error {
	r.mu.Lock()
	var groups []*group
	for _, s := range r.sites {
		if g := s.current.Swap(nil); g != nil {
			groups = append(groups, g)
		}
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Add(1)
		go func() { defer wg.Done(); g.stopAll(); r.stopInstances(g.instances()) }()
	}
	wg.Wait()
	r.cancel()
	r.wg.Wait()
	return nil
}

// stopAll ends the group's health checks.
func (g *group) stopAll() { g.once.Do(func() { close(g.quit) }) }

// stopInstances stops instances: SIGTERM, then SIGKILL after the grace.
func (r *Runtime) stopInstances(list []*instance) {
	for _, in := range list {
		in.markStopping()
		in.ready.Store(false)
		in.mu.Lock()
		if in.proc != nil {
			in.proc.Signal(syscall.SIGTERM)
		}
		in.mu.Unlock()
	}
	for _, in := range list {
		select {
		case <-in.done:
		case <-time.After(r.cfg.StopGrace):
			in.mu.Lock()
			if in.proc != nil {
				in.proc.Signal(syscall.SIGKILL)
			}
			in.mu.Unlock()
			<-in.done
		}
	}
}

// supervise runs one instance until it is stopped: start, wait for
// readiness (reporting the first outcome on ready), then restart after
// crashes with exponential backoff.
func (r *Runtime) supervise(in *instance, ready chan<- error) {
	defer close(in.done)
	log := in.rel.Log
	name := fmt.Sprintf("%s_%d", in.ID[:8], in.Role)
	backoff := time.Second
	first := true
	for {
		if in.stopping.Load() || r.ctx.Err() != nil {
			if first {
				ready <- errors.New("the instance was stopped before it became ready")
			}
			return
		}
		started := time.Now()
		err := r.runOnce(in, name, first, ready)
		if first {
			first = false
			if err != nil { // never became ready: Roll reports it, no restart
				return
			}
		}
		if in.stopping.Load() || r.ctx.Err() != nil {
			log.Event("Container %s stopped.", name)
			return
		}
		if in.replace.Swap(false) {
			// Health checks stopped it to replace it: start afresh now.
			log.Event("Container %s stopped for replacement; starting a new one.", name)
			in.removed.Store(false) // the new one joins once ready
			backoff = time.Second
			continue
		}
		if time.Since(started) > 5*time.Minute {
			backoff = time.Second
		}
		log.Event("Container %s has exited unexpectedly; restarting in %s.", name, backoff)
		select {
		case <-time.After(backoff):
		case <-in.stop: // a stop during the backoff ends it at once
			log.Event("Container %s stopped.", name)
			return
		case <-r.ctx.Done():
			return
		}
		if backoff < time.Minute {
			backoff *= 2
		}
	}
}

// runOnce starts the process, waits until it is ready (reporting on ready
// when first is true) and then until it exits.
func (r *Runtime) runOnce(in *instance, name string, first bool, ready chan<- error) error {
	log := in.rel.Log
	// This start's events and output are kept apart too, in its startup
	// log (applog/startup.go), until it is ready or has failed.
	start := log.BeginStartup(in.Machine)
	defer start.End(false, "the container was stopped before it answered its warmup request")
	book := &in.site.status
	l, err := in.rel.Build(in.Instance)
	if err != nil {
		msg := fmt.Errorf("preparing container %s: %w", name, err)
		start.Event("Container %s could not be prepared: %v", name, err)
		book.failed(in, true, "Container could not be prepared", msg.Error())
		start.End(false, msg.Error())
		if first {
			ready <- msg
		}
		return err
	}
	if l.Cleanup != nil {
		defer l.Cleanup()
	}
	out := start.Writer(applog.SourceApp)
	defer out.Close()
	l.Stdout, l.Stderr = out, out
	addr := l.Addr
	if addr == "" {
		addr = fmt.Sprintf("127.0.0.1:%d", in.Port)
	}
	url := "http://" + addr
	in.url.Store(&url)
	start.Event("Starting container %s for site (port %d, address %s).", name, in.Port, addr)
	proc, err := r.cfg.Launcher.Start(r.ctx, l)
	if err != nil {
		start.Event("Container %s could not start: %v", name, err)
		book.failed(in, true, "Container could not start", fmt.Sprintf("container %s could not start: %v", name, err))
		start.End(false, err.Error())
		if first {
			ready <- fmt.Errorf("starting container %s: %w", name, err)
		}
		return err
	}
	in.mu.Lock()
	in.proc = proc
	in.launch = Launch{Argv: l.Argv, Env: l.Env, Dir: l.Dir, Extra: l.Extra, Addr: addr}
	in.incarnation.Store(r.starts.Add(1))
	stopping := in.stopping.Load()
	in.mu.Unlock()
	if stopping {
		proc.Signal(syscall.SIGTERM)
	}
	exited := make(chan error, 1)
	go func() { exited <- proc.Wait() }()

	start.Event("Initiating warmup request to container %s.", name)
	deadline := time.NewTimer(in.rel.ReadyTimeout)
	defer deadline.Stop()
	// Ping soon and often at first (most apps are up within a fraction of
	// a second), then back off to PingEvery.
	every := min(20*time.Millisecond, r.cfg.PingEvery)
	tick := time.NewTimer(every)
	defer tick.Stop()
	begin := time.Now()
	hinted, nextDiag := "", 3*time.Second
	answered := false // the readiness ping was answered (the health path may not be yet)
	diagnose := func() string {
		if l.Diagnose == nil {
			return ""
		}
		ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
		defer cancel()
		return l.Diagnose(ctx)
	}
	for !in.ready.Load() {
		select {
		case err := <-exited:
			why := exitText(err)
			if l.Explain != nil {
				if x := l.Explain(); x != "" {
					start.Event("%s", x)
					why += "; " + x
				}
			}
			msg := fmt.Errorf("container %s has exited (%v) before answering the warmup request on %s, failing site start; its output is in its startup log (az webapp log startup show) and the app's log", name, why, ReadinessPath)
			start.Event("Container %s has exited, failing site start.", name)
			book.failed(in, true, "Container exited before it answered the warmup request", msg.Error())
			start.End(false, msg.Error())
			if first {
				ready <- msg
			}
			return msg
		case <-deadline.C:
			if answered && in.rel.Health.Path != "" {
				proc.Signal(syscall.SIGKILL)
				<-exited
				msg := fmt.Errorf("container %s answered its warmup request but not its health check path %s with a status from 200 to 299 within %s, failing site start", name, in.rel.Health.Path, in.rel.ReadyTimeout)
				start.Event("%s.", msg)
				book.failed(in, true, "Container did not pass its health check in time", msg.Error())
				start.End(false, msg.Error())
				if first {
					ready <- msg
				}
				return msg
			}
			hint := diagnose()
			proc.Signal(syscall.SIGKILL)
			<-exited
			msg := fmt.Errorf("container %s didn't respond to HTTP pings on port %d within %s, failing site start (raise WEBSITES_CONTAINER_START_TIME_LIMIT if the app needs longer)", name, in.Port, in.rel.ReadyTimeout)
			if hint != "" {
				msg = fmt.Errorf("container %s didn't respond to HTTP pings on port %d within %s, failing site start: %s", name, in.Port, in.rel.ReadyTimeout, hint)
			}
			start.Event("Container %s didn't respond to HTTP pings on port: %d, failing site start.", name, in.Port)
			book.failed(in, true, "Container didn't respond to HTTP pings", msg.Error())
			start.End(false, msg.Error())
			if first {
				ready <- msg
			}
			return msg
		case <-tick.C:
			every = min(every*2, r.cfg.PingEvery)
			tick.Reset(every)
			if hinted == "" && time.Since(begin) > nextDiag {
				// Say early what App Service would only say at the timeout.
				nextDiag += 2 * time.Second
				if hint := diagnose(); hint != "" {
					hinted = hint
					start.Event("Container %s is not answering on port %d yet: %s", name, in.Port, hint)
				}
			}
			if !answered {
				answered = r.ping(url)
			}
			// With a health check, a new instance takes traffic only once
			// its health path answers too (docs/appservice.md §9).
			if answered && (in.rel.Health.Path == "" || r.healthPing(url, in.rel.Health) == nil) {
				if in.stopping.Load() {
					break
				}
				in.started.Store(true)
				in.ready.Store(true)
				start.Event("Container %s initialized successfully and is ready to serve requests (%.1fs).", name, time.Since(begin).Seconds())
				book.started(in)
				start.End(true, "")
				if first {
					ready <- nil
				}
			}
		}
	}
	// While it runs, say what the kernel did to it (a worker killed for
	// memory, which gunicorn then replaces).
	var watch <-chan time.Time
	if l.Explain != nil {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		watch = t.C
	}
	for running := true; running; {
		select {
		case err = <-exited:
			running = false
		case <-watch:
			if x := l.Explain(); x != "" {
				log.Event("Container %s: %s", name, x)
			}
		}
	}
	in.ready.Store(false)
	in.mu.Lock()
	in.proc = nil
	in.launch = Launch{}
	in.mu.Unlock()
	if !in.stopping.Load() {
		log.Event("Container %s exited: %s.", name, exitText(err))
		details := fmt.Sprintf("container %s exited: %s", name, exitText(err))
		if l.Explain != nil {
			if x := l.Explain(); x != "" {
				log.Event("%s", x)
				details += "; " + x
			}
		}
		book.failed(in, false, "Container exited unexpectedly", details)
	}
	return nil
}

func (r *Runtime) ping(base string) bool {
	req, err := http.NewRequestWithContext(r.ctx, http.MethodGet, base+ReadinessPath, nil)
	if err != nil {
		return false
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return true // any HTTP status counts (docs/appservice.md §4)
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ProcessState.String()
	}
	return err.Error()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func newInstanceID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}
