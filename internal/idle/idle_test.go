package idle

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type fakeApps struct {
	mu       sync.Mutex
	sites    []Site
	running  map[string]bool
	busy     bool
	loads    atomic.Int32
	unloads  atomic.Int32
	loadWait chan struct{} // Load blocks until closed, when set
	loadErr  error
}

func (a *fakeApps) Sites(context.Context) ([]Site, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Site(nil), a.sites...), nil
}
func (a *fakeApps) Running(n string) bool { a.mu.Lock(); defer a.mu.Unlock(); return a.running[n] }
func (a *fakeApps) Unload(_ context.Context, _, n string, _ time.Duration) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.busy {
		return false, nil
	}
	a.unloads.Add(1)
	a.running[n] = false
	return true, nil
}
func (a *fakeApps) Load(ctx context.Context, _, n string) error {
	a.loads.Add(1)
	if a.loadWait != nil {
		select {
		case <-a.loadWait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if a.loadErr != nil {
		return a.loadErr
	}
	a.mu.Lock()
	a.running[n] = true
	a.mu.Unlock()
	return nil
}

func setup() (*Manager, *fakeApps, *fakeClock) {
	clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	apps := &fakeApps{
		sites:   []Site{{"rg", "idler", true, false}, {"rg", "always", true, true}, {"rg", "stopped", false, false}},
		running: map[string]bool{"idler": true, "always": true},
	}
	return New(Config{Apps: apps, After: 20 * time.Minute, WakeTimeout: time.Second, Now: clk.Now}), apps, clk
}

func TestIdleAppUnloadsAlwaysOnDoesNot(t *testing.T) {
	m, apps, clk := setup()
	ctx := t.Context()
	m.Sweep(ctx) // first sight: active now
	clk.add(19 * time.Minute)
	m.Touch("idler")
	clk.add(19 * time.Minute)
	m.Sweep(ctx)
	if m.Unloaded("idler") || apps.unloads.Load() != 0 {
		t.Fatal("unloaded 19 minutes after a request")
	}
	clk.add(time.Minute)
	m.Sweep(ctx)
	if !m.Unloaded("idler") || apps.Running("idler") {
		t.Fatal("not unloaded after 20 idle minutes")
	}
	if m.Unloaded("always") || !apps.Running("always") || m.Unloaded("stopped") {
		t.Fatal("an Always On or stopped app was unloaded")
	}
	// The next request starts it; a second Wake finds it started.
	if ok, err := m.Wake(ctx, "idler"); !ok || err != nil || !apps.Running("idler") || m.Unloaded("idler") {
		t.Fatalf("Wake = %v, %v", ok, err)
	}
	if ok, _ := m.Wake(ctx, "always"); ok || apps.loads.Load() != 1 {
		t.Fatal("Wake started an app that was not unloaded")
	}
	// Woken counts as a request: not unloaded again at once.
	m.Sweep(ctx)
	if m.Unloaded("idler") {
		t.Fatal("unloaded right after a wake")
	}
}

func TestConcurrentWakesStartOnce(t *testing.T) {
	m, apps, clk := setup()
	ctx := t.Context()
	m.Sweep(ctx)
	clk.add(time.Hour)
	m.Sweep(ctx)
	apps.loadWait = make(chan struct{})
	var wg sync.WaitGroup
	var woke atomic.Int32
	for range 10 {
		wg.Go(func() {
			if ok, err := m.Wake(ctx, "idler"); ok && err == nil {
				woke.Add(1)
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(apps.loadWait)
	wg.Wait()
	if apps.loads.Load() != 1 || woke.Load() != 10 {
		t.Fatalf("%d loads, %d requests served; want 1 and 10", apps.loads.Load(), woke.Load())
	}
}

func TestWakeIsBounded(t *testing.T) {
	m, apps, clk := setup()
	ctx := t.Context()
	m.Sweep(ctx)
	clk.add(time.Hour)
	m.Sweep(ctx)
	apps.loadWait = make(chan struct{}) // never starts
	began := time.Now()
	if ok, err := m.Wake(ctx, "idler"); ok || err == nil {
		t.Fatal("a start that never ends was reported done")
	}
	if d := time.Since(began); d > 3*time.Second {
		t.Fatalf("Wake waited %s; its bound is 1 s", d)
	}
	if !m.Unloaded("idler") {
		t.Fatal("a failed start cleared the unloaded mark; the next request would not try again")
	}
	apps.loadWait, apps.loadErr = nil, errors.New("boom")
	if _, err := m.Wake(ctx, "idler"); err == nil {
		t.Fatal("a failed load was not reported")
	}
}

func TestBusyOrRestartedApp(t *testing.T) {
	m, apps, clk := setup()
	ctx := t.Context()
	m.Sweep(ctx)
	clk.add(time.Hour)
	apps.busy = true // a deployment holds the site
	m.Sweep(ctx)
	if m.Unloaded("idler") {
		t.Fatal("marked unloaded though the unload did not happen")
	}
	apps.busy = false
	m.Sweep(ctx)
	if !m.Unloaded("idler") {
		t.Fatal("not unloaded")
	}
	// A deployment starts it again: the mark goes.
	apps.mu.Lock()
	apps.running["idler"] = true
	apps.mu.Unlock()
	m.Sweep(ctx)
	if m.Unloaded("idler") {
		t.Fatal("an app a deployment started is still marked unloaded")
	}
}

func TestDisabled(t *testing.T) {
	apps := &fakeApps{sites: []Site{{"rg", "idler", true, false}}, running: map[string]bool{"idler": true}}
	clk := &fakeClock{now: time.Unix(0, 0)}
	m := New(Config{Apps: apps, Now: clk.Now})
	m.Sweep(t.Context())
	clk.add(1000 * time.Hour)
	m.Sweep(t.Context())
	if m.Unloaded("idler") {
		t.Fatal("After 0 unloaded an app")
	}
}
