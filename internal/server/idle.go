package server

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/frontdoor"
	"github.com/slipway-dev/slipway/internal/idle"
	"github.com/slipway-dev/slipway/internal/runtime"
	"github.com/slipway-dev/slipway/internal/store"
)

// idleFlags adds the idle-unload flags: App Service unloads an app without
// Always On after 20 idle minutes (internal/idle); tests shorten it, 0
// turns unloading off.
func idleFlags(fs *flag.FlagSet, cfg *Config, getenv func(string) string) error {
	for _, f := range []struct {
		name, env, help string
		def             time.Duration
		dst             *time.Duration
	}{
		{"idle-unload-after", "SLIPWAY_IDLE_UNLOAD_AFTER", "how long an app without Always On may go without a request before its instances stop (the next request starts them); 0 never unloads", 20 * time.Minute, &cfg.IdleAfter},
		{"cold-start-timeout", "SLIPWAY_COLD_START_TIMEOUT", "how long a request to an unloaded app waits for it to start", 2 * time.Minute, &cfg.ColdStartWait},
	} {
		def := f.def
		if v := getenv(f.env); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return fmt.Errorf("%s=%q is not a duration", f.env, v)
			}
			def = d
		}
		fs.DurationVar(f.dst, f.name, def, f.help+" (env "+f.env+")")
	}
	return nil
}

// idleApps is the platform as the idle manager acts on it.
type idleApps struct {
	st    *store.Store
	coord *deploy.Coordinator
	rtm   *runtime.Runtime
}

func (a idleApps) Sites(ctx context.Context) ([]idle.Site, error) {
	sites, err := a.st.Sites(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]idle.Site, len(sites))
	for i, s := range sites {
		out[i] = idle.Site{ResourceGroup: s.ResourceGroup, Name: s.Name, Enabled: s.Enabled, AlwaysOn: s.Config.AlwaysOn}
	}
	return out, nil
}

func (a idleApps) Running(name string) bool { return a.rtm.Running(name) }

func (a idleApps) Unload(ctx context.Context, rg, name string, d time.Duration) (bool, error) {
	return a.coord.Unload(ctx, rg, name, d)
}

func (a idleApps) Load(ctx context.Context, rg, name string) error {
	return a.coord.Load(ctx, rg, name)
}

// wakingBackends is the front door's view of the instances when idle apps
// unload: each request counts as activity, and a request to an unloaded
// app waits for it to start (bounded) instead of finding no instance.
type wakingBackends struct {
	inner frontdoor.Backends
	idle  *idle.Manager
}

func (b wakingBackends) Backends(site string) []frontdoor.Backend {
	b.idle.Touch(site)
	out := b.inner.Backends(site)
	if len(out) == 0 && b.idle.Unloaded(site) {
		if ok, _ := b.idle.Wake(context.Background(), site); ok {
			out = b.inner.Backends(site)
		}
	}
	return out
}

// startIdle starts the idle manager; it returns the front door's backends
// and a closer.
func startIdle(ctx context.Context, cfg Config, apps idleApps, inner frontdoor.Backends, log *slog.Logger) (frontdoor.Backends, func() error) {
	if cfg.IdleAfter <= 0 {
		return inner, func() error { return nil }
	}
	m := idle.New(idle.Config{Apps: apps, After: cfg.IdleAfter, WakeTimeout: cfg.ColdStartWait, Logger: log})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); m.Run(runCtx) }()
	return wakingBackends{inner: inner, idle: m}, func() error { stop(); <-done; return nil }
}
