package server

// Azure Database for PostgreSQL flexible servers (internal/pgflex): the
// clusters, the proxy on the host's loopback (for clients on this machine)
// and on the instances' gateway (for apps, which reach it at
// <server>.postgres.database.azure.com:5432), and the names apps resolve.

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/slipway-dev/slipway/internal/cgroups"
	"github.com/slipway-dev/slipway/internal/homefs"
	"github.com/slipway-dev/slipway/internal/netns"
	"github.com/slipway-dev/slipway/internal/pgflex"
	"github.com/slipway-dev/slipway/internal/sandbox"
	"github.com/slipway-dev/slipway/internal/store"
)

// postgresPort is the port apps connect to, as on Azure.
const postgresPort = 5432

type postgresService struct {
	m     *pgflex.Manager
	vols  *homefs.Homes // nil: storage unbounded
	proxy *pgflex.Proxy
	ports *tenantPorts
	log   *slog.Logger
}

// openPostgres opens the servers' manager and the proxy's host listener.
// Without PostgreSQL installed it returns nil and logs why: the provider
// is then refused with that reason.
func openPostgres(cfg Config, dataDir string, st *store.Store, sb *sandbox.Sandbox, cert func(*tls.ClientHelloInfo) (*tls.Certificate, error), log *slog.Logger) (*postgresService, error) {
	pc := pgflex.Config{
		Dir: filepath.Join(dataDir, "postgres"), Domain: cfg.Domain, Logger: log.With("part", "postgres"), Sandbox: sb,
		Seal: func(p []byte) ([]byte, error) { return st.SealBytes(p, "postgres/platform.pw") },
		Open: func(b []byte) ([]byte, error) { return st.OpenBytes(b, "postgres/platform.pw") },
		// On the gateway's listener, only an instance's own address is an
		// app (Azure's 0.0.0.0 rule): the host's processes reach the
		// gateway address too.
		Apps: netns.IsInstance, Outbound: appsOutbound,
	}
	if os.Geteuid() == 0 && !sb.Confined() {
		// Each cluster runs as a user of its own, who could not reach its
		// directory below the data directory (0700) outside the sandbox.
		log.Warn("Azure Database for PostgreSQL flexible servers are not served", "reason", "they run in the sandbox (bubblewrap) when Slipway runs as root")
		return nil, nil
	}
	if os.Geteuid() == 0 {
		pc.User = tenantUser("swpg-")
	}
	var vols *homefs.Homes
	if ok, why := homefs.Supported(); ok {
		v, err := homefs.New(homefs.Config{ImageDir: filepath.Join(dataDir, "postgres-images"), Logger: log.With("part", "postgres")})
		if err != nil {
			return nil, err
		}
		vols, pc.Volumes = v, v
	} else {
		log.Warn("PostgreSQL servers' storage is not bounded: each needs a file system image of its own", "reason", why)
	}
	m, err := pgflex.New(pc)
	if err != nil {
		log.Warn("Azure Database for PostgreSQL flexible servers are not served", "reason", err)
		if vols != nil {
			vols.Close()
		}
		return nil, nil
	}
	ports, err := listenTenant(cfg.Listen, cfg.PostgresPort, postgresPort)
	if err != nil {
		if vols != nil {
			vols.Close()
		}
		return nil, err
	}
	log.Info("PostgreSQL flexible servers served", "version", m.Version(), "host_port", ports.port, "apps_port", postgresPort)
	return &postgresService{m: m, vols: vols, proxy: m.NewProxy(cert), ports: ports, log: log}, nil
}

// listeners are the service's (nil when not served).
func (p *postgresService) listeners() *tenantPorts {
	if p == nil {
		return nil
	}
	return p.ports
}

// serve serves the proxy on the host and the gateway.
func (p *postgresService) serve(gateway string, serveErr chan<- error) error {
	if p == nil {
		return nil
	}
	return p.ports.serve(gateway, serveErr, p.proxy.Serve)
}

// names are the host names of every server, as apps resolve them:
// Azure's and the platform domain's.
func (p *postgresService) names(domain string) []string {
	if p == nil {
		return nil
	}
	var out []string
	for _, s := range p.m.Names() {
		out = append(out, s+pgflex.Suffix, s+"."+pgflex.Label+"."+domain)
	}
	return out
}

// close stops the proxy and then the clusters.
func (p *postgresService) close() error {
	if p == nil {
		return nil
	}
	p.ports.close()
	p.proxy.Close()
	err := p.m.Close()
	if p.vols != nil {
		err = errors.Join(err, p.vols.Close())
	}
	return err
}

// reconcile brings the clusters in line with ARM's records after a start:
// their firewall rules, and the servers not stopped running. A server that
// does not start is logged; the others, and the platform, go on.
func (p *postgresService) reconcile(ctx context.Context, st *store.Store) {
	states, err := st.PostgresServers(ctx)
	if err != nil {
		p.log.Error("reading the PostgreSQL servers' records", "err", err)
		return
	}
	want := make([]pgflex.Reconciled, 0, len(states))
	for _, s := range states {
		r := pgflex.Reconciled{Name: s.Name, Stopped: s.Stopped,
			Auth: &pgflex.AuthConfig{Password: !s.PasswordAuthDisabled, Entra: s.EntraAuth, TenantID: s.TenantID}}
		for _, fr := range s.Rules {
			r.Rules = append(r.Rules, pgflex.FirewallRule{Start: fr.Start, End: fr.End})
		}
		want = append(want, r)
	}
	if err := p.m.Reconcile(ctx, want); err != nil {
		p.log.Error("some PostgreSQL servers did not start", "err", err)
	}
}

// serverLimits are each PostgreSQL server's: Azure's Burstable B1ms (one
// core, 2 GiB), whatever SKU it names, and room for its 100 connections'
// processes.
var serverLimits = cgroups.Limits{MemoryBytes: 2 << 30, CPUs: 1, Pids: 512}

// limit puts each server's processes in a control group of their own, so
// that a busy or greedy server takes at most its share of the machine.
func (p *postgresService) limit(groups *cgroups.Manager) {
	if groups == nil {
		p.log.Warn("PostgreSQL servers run without resource limits: they need cgroups (root)")
		return
	}
	p.m.SetGroups(func(server string) ([]string, func() error, error) {
		return tenantGroup(groups, "pg-"+server, serverLimits)
	})
}

// appsOutbound is the address ARM publishes as every app's outbound
// address (outboundIpAddresses, internal/arm/sites.go): a database's or
// cache's firewall rule naming it admits the apps, as on Azure.
var appsOutbound = netip.MustParseAddr("127.0.0.1")
