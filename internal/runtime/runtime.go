// Package runtime runs and supervises the instances of each site: processes
// started in a sandbox from a release, gated by App Service's readiness ping
// (GET /robots933456.txt answered with any status, docs/appservice.md §4), and
// replaced without downtime — new instances start and become ready before
// traffic moves; old ones then drain and stop. A crashed instance leaves the
// rotation and is restarted with backoff.
//
// The front door asks Backends for a site's ready instances on each request.
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
	Port int    // the port the app listens on (PORT)
	Addr string // where the front door reaches it (host:port), once started
}

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
}

// Runtime owns every site's instances.
type Runtime struct {
	cfg    Config
	client *http.Client
	ctx    context.Context // lifetime; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	sites map[string]*site // by lower-cased name
}

type site struct {
	current atomic.Pointer[group]
	rr      atomic.Uint64
}

type group struct {
	release   Release
	instances []*instance
}

type instance struct {
	Instance
	rel      Release
	ready    atomic.Bool
	stopping atomic.Bool
	mu       sync.Mutex
	proc     Process
	done     chan struct{} // closed when supervision has ended
	stop     chan struct{} // closed when the instance is being stopped
	stopOnce sync.Once
	url      atomic.Pointer[string] // base URL of the current run
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
	ctx, cancel := context.WithCancel(context.Background())
	return &Runtime{
		cfg: cfg, ctx: ctx, cancel: cancel, sites: make(map[string]*site),
		client: &http.Client{
			Timeout:       5 * time.Second,
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

// Backends returns the base URLs of a site's ready instances, rotated so that
// successive calls spread the load; nil when none is ready.
func (r *Runtime) Backends(name string) []string {
	r.mu.Lock()
	s := r.sites[strings.ToLower(name)]
	r.mu.Unlock()
	if s == nil {
		return nil
	}
	g := s.current.Load()
	if g == nil {
		return nil
	}
	var out []string
	for _, in := range g.instances {
		if in.ready.Load() {
			if u := in.url.Load(); u != nil {
				out = append(out, *u)
			}
		}
	}
	if n := len(out); n > 1 {
		k := int(s.rr.Add(1) % uint64(n))
		out = append(out[k:], out[:k]...)
	}
	return out
}

// Instances returns the identities of a site's current instances.
func (r *Runtime) Instances(name string) []Instance {
	r.mu.Lock()
	s := r.sites[strings.ToLower(name)]
	r.mu.Unlock()
	if s == nil {
		return nil
	}
	g := s.current.Load()
	if g == nil {
		return nil
	}
	out := make([]Instance, len(g.instances))
	for i, in := range g.instances {
		out[i] = in.Instance
		if u := in.url.Load(); u != nil {
			out[i].Addr = strings.TrimPrefix(*u, "http://")
		}
	}
	return out
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
	g := &group{release: rel}
	for i := 0; i < rel.Instances; i++ {
		port := rel.Port
		if port == 0 {
			p, err := freePort()
			if err != nil {
				return fmt.Errorf("choosing a port: %w", err)
			}
			port = p
		}
		in := &instance{
			Instance: Instance{ID: newInstanceID(), Role: i, Port: port},
			rel:      rel, done: make(chan struct{}), stop: make(chan struct{}),
		}
		g.instances = append(g.instances, in)
	}
	errs := make(chan error, len(g.instances))
	for _, in := range g.instances {
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
	for range g.instances {
		if err := <-errs; err != nil && failed == nil {
			failed = err
		}
	}
	if failed == nil && rel.Gate != nil {
		var urls []string
		for _, in := range g.instances {
			if u := in.url.Load(); u != nil {
				urls = append(urls, *u)
			}
		}
		failed = rel.Gate(ctx, urls)
	}
	if failed != nil {
		r.stopGroup(g)
		return failed
	}
	old := s.current.Swap(g)
	if old != nil {
		rel.Log.Event("Traffic moved to the new instances; draining %d old instance(s).", len(old.instances))
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			select {
			case <-time.After(r.cfg.DrainDelay):
			case <-r.ctx.Done():
			}
			r.stopGroup(old)
		}()
	}
	return nil
}

// Stop stops a site's instances; the site then answers 503 until the next Roll.
func (r *Runtime) Stop(ctx context.Context, name string) {
	r.mu.Lock()
	s := r.sites[strings.ToLower(name)]
	r.mu.Unlock()
	if s == nil {
		return
	}
	if g := s.current.Swap(nil); g != nil {
		r.stopGroup(g)
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
		go func() { defer wg.Done(); r.stopGroup(g) }()
	}
	wg.Wait()
	r.cancel()
	r.wg.Wait()
	return nil
}

func (r *Runtime) stopGroup(g *group) {
	for _, in := range g.instances {
		in.markStopping()
		in.ready.Store(false)
		in.mu.Lock()
		if in.proc != nil {
			in.proc.Signal(syscall.SIGTERM)
		}
		in.mu.Unlock()
	}
	for _, in := range g.instances {
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
	l, err := in.rel.Build(in.Instance)
	if err != nil {
		if first {
			ready <- fmt.Errorf("preparing container %s: %w", name, err)
		}
		return err
	}
	if l.Cleanup != nil {
		defer l.Cleanup()
	}
	out := log.Writer(applog.SourceApp)
	defer out.Close()
	l.Stdout, l.Stderr = out, out
	addr := l.Addr
	if addr == "" {
		addr = fmt.Sprintf("127.0.0.1:%d", in.Port)
	}
	url := "http://" + addr
	in.url.Store(&url)
	log.Event("Starting container %s for site (port %d, address %s).", name, in.Port, addr)
	proc, err := r.cfg.Launcher.Start(r.ctx, l)
	if err != nil {
		log.Event("Container %s could not start: %v", name, err)
		if first {
			ready <- fmt.Errorf("starting container %s: %w", name, err)
		}
		return err
	}
	in.mu.Lock()
	in.proc = proc
	stopping := in.stopping.Load()
	in.mu.Unlock()
	if stopping {
		proc.Signal(syscall.SIGTERM)
	}
	exited := make(chan error, 1)
	go func() { exited <- proc.Wait() }()

	log.Event("Initiating warmup request to container %s.", name)
	deadline := time.NewTimer(in.rel.ReadyTimeout)
	defer deadline.Stop()
	// Ping soon and often at first (most apps are up within a fraction of
	// a second), then back off to PingEvery.
	every := min(20*time.Millisecond, r.cfg.PingEvery)
	tick := time.NewTimer(every)
	defer tick.Stop()
	begin := time.Now()
	hinted, nextDiag := "", 3*time.Second
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
					log.Event("%s", x)
					why += "; " + x
				}
			}
			msg := fmt.Errorf("container %s has exited (%v) before answering the warmup request on %s, failing site start; see the app's log for its output", name, why, ReadinessPath)
			log.Event("Container %s has exited, failing site start.", name)
			if first {
				ready <- msg
			}
			return msg
		case <-deadline.C:
			hint := diagnose()
			proc.Signal(syscall.SIGKILL)
			<-exited
			msg := fmt.Errorf("container %s didn't respond to HTTP pings on port %d within %s, failing site start (raise WEBSITES_CONTAINER_START_TIME_LIMIT if the app needs longer)", name, in.Port, in.rel.ReadyTimeout)
			if hint != "" {
				msg = fmt.Errorf("container %s didn't respond to HTTP pings on port %d within %s, failing site start: %s", name, in.Port, in.rel.ReadyTimeout, hint)
			}
			log.Event("Container %s didn't respond to HTTP pings on port: %d, failing site start.", name, in.Port)
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
					log.Event("Container %s is not answering on port %d yet: %s", name, in.Port, hint)
				}
			}
			if r.ping(url) {
				if in.stopping.Load() {
					break
				}
				in.ready.Store(true)
				log.Event("Container %s initialized successfully and is ready to serve requests (%.1fs).", name, time.Since(begin).Seconds())
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
	in.mu.Unlock()
	if !in.stopping.Load() {
		log.Event("Container %s exited: %s.", name, exitText(err))
		if l.Explain != nil {
			if x := l.Explain(); x != "" {
				log.Event("%s", x)
			}
		}
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
