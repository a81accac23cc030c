package server

// The listeners of the platform's TCP services for tenants (PostgreSQL
// flexible servers, Azure Cache for Redis): each service's proxy answers on
// a port of the host (cfg.Listen, for clients on this machine) and on the
// same port of the instances' gateway, where each sandbox's port of the
// Azure service (5432, 6380) leads.

import (
	"context"
	"net"
	"slices"
	"strconv"

	"github.com/slipway-dev/slipway/internal/cgroups"
	"github.com/slipway-dev/slipway/internal/sandbox"
)

type tenantPorts struct {
	appsPort int          // the port apps connect to, as on Azure
	ln, gl   net.Listener // the host's; the gateway's, with instance networks
	port     int
}

// listenTenant listens on the host for a service whose apps use appsPort.
func listenTenant(listen string, port, appsPort int) (*tenantPorts, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(listen, strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	return &tenantPorts{appsPort: appsPort, ln: ln, port: ln.Addr().(*net.TCPAddr).Port}, nil
}

// tenantNetwork is what the instances' networks need of the services: the
// platform ports they may reach and the gateway's redirects. A service's
// Azure port is not redirected where the operator lets apps reach a host
// service on it (--allow-host-port).
func tenantNetwork(services []*tenantPorts, redirects map[int]int, hostPorts []int) ([]int, map[int]int) {
	var ports []int
	for _, t := range services {
		if t == nil {
			continue
		}
		ports = append(ports, t.port)
		if !slices.Contains(hostPorts, t.appsPort) {
			redirects[t.appsPort] = t.port
		}
	}
	return ports, redirects
}

// serve serves the host's listener and, with instance networks, the
// gateway's (internal: its clients are apps); it returns the gateway
// listener's error at once.
func (t *tenantPorts) serve(gateway string, serveErr chan<- error, serve func(l net.Listener, internal bool) error) error {
	go func() { serveErr <- serve(t.ln, false) }()
	if gateway == "" {
		return nil
	}
	gl, err := net.Listen("tcp", net.JoinHostPort(gateway, strconv.Itoa(t.port)))
	if err != nil {
		return err
	}
	t.gl = gl
	go func() { serveErr <- serve(gl, true) }()
	return nil
}

func (t *tenantPorts) close() {
	t.ln.Close()
	if t.gl != nil {
		t.gl.Close()
	}
}

// tenantUser gives each resource of a service (a server, a cache) the
// system user prefix+name, made on demand (sandbox.UserNameWith).
func tenantUser(prefix string) func(ctx context.Context, name string) (uid, gid int, err error) {
	return func(ctx context.Context, name string) (int, int, error) {
		return sandbox.EnsureTenantUser(ctx, prefix, name)
	}
}

// tenantGroup makes a resource's control group with its limits and
// returns its cgroup.procs files and how to remove it.
func tenantGroup(groups *cgroups.Manager, name string, l cgroups.Limits) ([]string, func() error, error) {
	g, err := groups.New(name, l)
	if err != nil {
		return nil, nil, err
	}
	return g.ProcsFiles(), g.Close, nil
}
