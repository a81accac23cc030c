// Package idle unloads apps that do not have Always On, as App Service
// does: an app whose siteConfig.alwaysOn is false and that received no
// request for a while (20 minutes on App Service) has its instances
// stopped; the next request starts them again and waits for them — a cold
// start — rather than failing (docs/appservice.md §11 "Always On Basic+";
// https://learn.microsoft.com/azure/app-service/configure-common#configure-general-settings).
// An app with Always On never unloads.
//
// A Manager is told of every request to an app (Touch, lock-free), sweeps
// the running apps on a timer (Sweep, Run) and starts an unloaded app when
// a request finds it so (Wake, one start however many requests wait, each
// waiting at most Config.WakeTimeout). The stored state of an unloaded app
// does not change: it is enabled and shows as Running.
//
// Unloading judges idleness by the time of the last request's start: a
// request running longer than the idle time can be cut off by an unload,
// which at the default 20 minutes is longer than App Service's own
// 230-second request timeout.
package idle

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipway-dev/slipway/internal/every"
)

// Site is what the Manager needs of a site.
type Site struct {
	ResourceGroup, Name string
	Enabled, AlwaysOn   bool
}

// Apps is the platform as the Manager acts on it (the deploy coordinator,
// the store and the runtime, through the composition root).
type Apps interface {
	// Sites lists every site, slots included.
	Sites(ctx context.Context) ([]Site, error)
	// Running reports whether the site has instances (ready or starting).
	Running(name string) bool
	// Unload stops the site's instances without changing its stored
	// state; it returns false (and does nothing) when the site is busy
	// with an operation such as a deployment.
	Unload(ctx context.Context, rg, name string, idle time.Duration) (bool, error)
	// Load starts the site's instances and returns once one is ready.
	Load(ctx context.Context, rg, name string) error
}

// Config configures a Manager.
type Config struct {
	Apps Apps
	// After is how long an app without Always On may go without a request
	// before it is unloaded; 0 never unloads.
	After time.Duration
	// WakeTimeout bounds how long a request waits for an unloaded app to
	// start (default 2 minutes).
	WakeTimeout time.Duration
	Now         func() time.Time // default time.Now
	Logger      *slog.Logger
}

// Manager unloads idle apps and starts them on demand.
type Manager struct {
	cfg   Config
	sites sync.Map // lower-cased site name → *state
}

type state struct {
	last     atomic.Int64 // unix nanoseconds of the last request's start
	unloaded atomic.Bool
	mu       sync.Mutex // serialises unloading and loading
	rg       string     // guarded by mu
}

// New returns a Manager.
func New(cfg Config) *Manager {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.WakeTimeout <= 0 {
		cfg.WakeTimeout = 2 * time.Minute
	}
	return &Manager{cfg: cfg}
}

func (m *Manager) state(name string) *state {
	key := strings.ToLower(name) // no allocation when already lower case
	if st, ok := m.sites.Load(key); ok {
		return st.(*state)
	}
	st, _ := m.sites.LoadOrStore(key, &state{})
	return st.(*state)
}

// Touch records a request to the site.
func (m *Manager) Touch(site string) {
	m.state(site).last.Store(m.cfg.Now().UnixNano())
}

// Unloaded reports whether the site's instances were stopped for idleness.
func (m *Manager) Unloaded(site string) bool {
	st, ok := m.sites.Load(strings.ToLower(site))
	return ok && st.(*state).unloaded.Load()
}

// Wake starts an unloaded site and waits (at most WakeTimeout) until it
// serves; it reports whether it did start it (or found it started by
// another request). Requests that arrive meanwhile wait for the same start.
func (m *Manager) Wake(ctx context.Context, site string) (bool, error) {
	st := m.state(site)
	if !st.unloaded.Load() {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.WakeTimeout)
	defer cancel()
	locked := make(chan struct{})
	go func() { st.mu.Lock(); close(locked) }()
	select {
	case <-locked:
	case <-ctx.Done():
		go func() { <-locked; st.mu.Unlock() }()
		return false, fmt.Errorf("the app %s did not start within %s", site, m.cfg.WakeTimeout)
	}
	defer st.mu.Unlock()
	if !st.unloaded.Load() {
		return true, nil // another request started it
	}
	began := m.cfg.Now()
	if err := m.cfg.Apps.Load(ctx, st.rg, site); err != nil {
		return false, err
	}
	st.unloaded.Store(false)
	st.last.Store(m.cfg.Now().UnixNano())
	m.cfg.Logger.Info("started an unloaded app for a request", "site", site, "cold_start", m.cfg.Now().Sub(began).Round(time.Millisecond))
	return true, nil
}

// Sweep unloads every running app without Always On that has been idle
// for After. An app first seen counts as active now (a server just
// started gives every app its whole idle time).
func (m *Manager) Sweep(ctx context.Context) error {
	if m.cfg.After <= 0 {
		return nil
	}
	sites, err := m.cfg.Apps.Sites(ctx)
	if err != nil {
		return err
	}
	now := m.cfg.Now()
	for _, s := range sites {
		st := m.state(s.Name)
		if st.unloaded.Load() {
			// Started by another path (a deployment, a restart, a
			// configuration change, Always On turned on): loaded again.
			if m.cfg.Apps.Running(s.Name) {
				st.unloaded.Store(false)
				st.last.Store(now.UnixNano())
			}
			continue
		}
		if !s.Enabled || s.AlwaysOn || !m.cfg.Apps.Running(s.Name) {
			st.last.Store(now.UnixNano())
			continue
		}
		last := st.last.Load()
		if last == 0 {
			st.last.CompareAndSwap(0, now.UnixNano())
			continue
		}
		if now.Sub(time.Unix(0, last)) < m.cfg.After {
			continue
		}
		if err := m.unload(ctx, st, s, now); err != nil {
			m.cfg.Logger.Error("unloading an idle app", "site", s.Name, "err", err)
		}
	}
	return nil
}

func (m *Manager) unload(ctx context.Context, st *state, s Site, now time.Time) error {
	if !st.mu.TryLock() {
		return nil // being woken
	}
	defer st.mu.Unlock()
	idle := now.Sub(time.Unix(0, st.last.Load()))
	if idle < m.cfg.After { // a request came meanwhile
		return nil
	}
	st.rg = s.ResourceGroup
	st.unloaded.Store(true) // requests from now on wait for the lock
	done, err := m.cfg.Apps.Unload(ctx, s.ResourceGroup, s.Name, idle)
	if err != nil || !done {
		st.unloaded.Store(false)
		return err
	}
	m.cfg.Logger.Info("unloaded an idle app (Always On is off)", "site", s.Name, "idle", idle.Round(time.Second))
	return nil
}

// Run sweeps every tenth of After (at least every second, at most every
// minute) until ctx ends.
func (m *Manager) Run(ctx context.Context) {
	if m.cfg.After <= 0 {
		return
	}
	every.Run(ctx, min(max(m.cfg.After/10, time.Second), time.Minute), func(ctx context.Context) {
		if err := m.Sweep(ctx); err != nil {
			m.cfg.Logger.Error("sweeping idle apps", "err", err)
		}
	})
}
