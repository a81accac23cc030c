package server

// Azure Cache for Redis (internal/rediscache): the caches, and their proxy
// on the host (for clients on this machine) and on the instances' gateway
// (for apps, which reach it at <cache>.redis.cache.windows.net:6380).

import (
	"context"
	"crypto/tls"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/slipway-dev/slipway/internal/cgroups"
	"github.com/slipway-dev/slipway/internal/netns"
	"github.com/slipway-dev/slipway/internal/rediscache"
	"github.com/slipway-dev/slipway/internal/sandbox"
	"github.com/slipway-dev/slipway/internal/store"
)

type redisService struct {
	m     *rediscache.Manager
	proxy *rediscache.Proxy
	ports *tenantPorts
	log   *slog.Logger
}

// openRedis opens the caches' manager and the proxy's host listener.
// Without Redis installed it returns nil and logs why.
func openRedis(cfg Config, dataDir string, sb *sandbox.Sandbox, cert func(*tls.ClientHelloInfo) (*tls.Certificate, error), log *slog.Logger) (*redisService, error) {
	rc := rediscache.Config{Dir: filepath.Join(dataDir, "redis"), Domain: cfg.Domain, Sandbox: sb, Logger: log.With("part", "redis"),
		Apps: netns.IsInstance, Outbound: appsOutbound}
	if os.Geteuid() == 0 {
		if !sb.Confined() {
			log.Warn("Azure Cache for Redis is not served", "reason", "caches run in the sandbox (bubblewrap) when Slipway runs as root")
			return nil, nil
		}
		rc.User = tenantUser("swrd-")
	}
	m, err := rediscache.New(rc)
	if err != nil {
		log.Warn("Azure Cache for Redis is not served", "reason", err)
		return nil, nil
	}
	ports, err := listenTenant(cfg.Listen, cfg.RedisPort, rediscache.SSLPort)
	if err != nil {
		return nil, err
	}
	log.Info("Azure Cache for Redis served", "version", m.Version(), "host_port", ports.port, "apps_port", rediscache.SSLPort)
	return &redisService{m: m, proxy: m.NewProxy(cert), ports: ports, log: log}, nil
}

func (r *redisService) listeners() *tenantPorts {
	if r == nil {
		return nil
	}
	return r.ports
}

func (r *redisService) serve(gateway string, serveErr chan<- error) error {
	if r == nil {
		return nil
	}
	return r.ports.serve(gateway, serveErr, r.proxy.Serve)
}

// names are every cache's host names as apps resolve them.
func (r *redisService) names(domain string) []string {
	if r == nil {
		return nil
	}
	var out []string
	for _, c := range r.m.Names() {
		out = append(out, c+rediscache.Suffix, c+"."+rediscache.Label+"."+domain)
	}
	return out
}

func (r *redisService) close() error {
	if r == nil {
		return nil
	}
	r.ports.close()
	r.proxy.Close()
	return r.m.Close()
}

// limit puts each cache's server in a control group of its own: its
// memory and a quarter more (Redis's own overhead and buffers), one core.
func (r *redisService) limit(groups *cgroups.Manager) {
	if groups == nil {
		r.log.Warn("caches run without resource limits: they need cgroups (root)")
		return
	}
	r.m.SetGroups(func(cache string, maxMemory int64) ([]string, func() error, error) {
		return tenantGroup(groups, "rd-"+cache, cgroups.Limits{MemoryBytes: maxMemory + maxMemory/4 + 64<<20, CPUs: 1, Pids: 64})
	})
}

// reconcile starts the recorded caches after Slipway starts (empty, as a
// Basic or Standard cache restarts). A cache that does not start is logged.
func (r *redisService) reconcile(ctx context.Context, st *store.Store) {
	states, err := st.RedisCaches(ctx)
	if err != nil {
		r.log.Error("reading the caches' records", "err", err)
		return
	}
	want := make([]rediscache.Reconciled, 0, len(states))
	for _, s := range states {
		c := rediscache.Reconciled{Name: s.Name, MaxMemory: s.MaxMemory, PrimaryKey: s.Keys.Primary, SecondaryKey: s.Keys.Secondary}
		for _, fr := range s.Rules {
			c.Rules = append(c.Rules, rediscache.FirewallRule{Start: fr.Start, End: fr.End})
		}
		want = append(want, c)
	}
	if err := r.m.Reconcile(ctx, want); err != nil {
		r.log.Error("some caches did not start", "err", err)
	}
}
