package server

import (
	"flag"
	"fmt"
	"time"

	"github.com/slipway-dev/slipway/internal/arm"
	"github.com/slipway-dev/slipway/internal/frontdoor"
	"github.com/slipway-dev/slipway/internal/runtime"
)

// readyBackends adapts the runtime for the front door: a site's serving
// instances with their ids (the ARRAffinity cookie's value) and addresses.
type readyBackends struct{ rt *runtime.Runtime }

func (b readyBackends) Backends(site string) []frontdoor.Backend {
	ready := b.rt.Ready(site)
	if len(ready) == 0 {
		return nil
	}
	out := make([]frontdoor.Backend, len(ready))
	for i, in := range ready {
		out[i] = frontdoor.Backend{ID: in.ID, URL: "http://" + in.Addr}
	}
	return out
}

var _ frontdoor.Backends = readyBackends{}

// armInstances renders the runtime's instances for the management API.
func armInstances(list []runtime.Instance, err error) ([]arm.Instance, error) {
	if err != nil {
		return nil, err
	}
	out := make([]arm.Instance, len(list))
	for i, in := range list {
		ready := in.State == runtime.StateReady || in.State == runtime.StateUnhealthy
		out[i] = arm.Instance{ID: in.ID, Machine: in.Machine, Ready: ready, Status: string(in.State), Address: in.Addr, HealthCheckFailures: in.HealthFailures}
	}
	return out, nil
}

// healthFlags adds the health-check timing flags: App Service pings every
// minute and replaces an instance unhealthy for an hour
// (docs/appservice.md §9); tests shorten both.
func healthFlags(fs *flag.FlagSet, cfg *Config, getenv func(string) string) error {
	for _, f := range []struct {
		name, env, help string
		def             time.Duration
		dst             *time.Duration
	}{
		{"health-check-interval", "SLIPWAY_HEALTHCHECK_INTERVAL", "interval of health-check pings to each instance of an app with a health check path", time.Minute, &cfg.HealthEvery},
		{"health-check-replace-after", "SLIPWAY_HEALTHCHECK_REPLACE_AFTER", "how long an instance stays unhealthy before it is replaced", time.Hour, &cfg.ReplaceAfter},
	} {
		def := f.def
		if v := getenv(f.env); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("%s=%q is not a positive duration", f.env, v)
			}
			def = d
		}
		fs.DurationVar(f.dst, f.name, def, f.help+" (env "+f.env+")")
	}
	return nil
}
