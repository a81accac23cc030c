package runtime

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"syscall"
	"time"
)

// HealthCheck is a site's health check (siteConfig.healthCheckPath and the
// WEBSITE_HEALTHCHECK_* app settings), as App Service runs it
// (docs/appservice.md §9;
// https://learn.microsoft.com/azure/app-service/monitor-instances-health-check):
// every instance is pinged at Path on the site's default host name; a status
// from 200 to 299 is healthy, anything else (redirects included, as they are
// not followed) or no answer within a minute is a failure.
type HealthCheck struct {
	Path string // "" turns health checks off
	Host string // the Host of the pings: the site's default host name
	// HTTPS sends the pings as over HTTPS (X-Forwarded-Proto: https), as
	// App Service does for an app with httpsOnly.
	HTTPS bool
	// MaxPingFailures is WEBSITE_HEALTHCHECK_MAXPINGFAILURES: consecutive
	// failures before an instance leaves the load balancer (2–10; 0 → 10).
	MaxPingFailures int
	// MaxUnhealthyPercent is WEBSITE_HEALTHCHECK_MAXUNHEALTHYWORKERPERCENT:
	// the most instances, in percent, that may be out at once (1–100; 0 → 50).
	MaxUnhealthyPercent int
}

func (h HealthCheck) maxFailures() int {
	if h.MaxPingFailures < 2 || h.MaxPingFailures > 10 {
		return 10
	}
	return h.MaxPingFailures
}

func (h HealthCheck) maxPercent() int {
	if h.MaxUnhealthyPercent < 1 || h.MaxUnhealthyPercent > 100 {
		return 50
	}
	return h.MaxUnhealthyPercent
}

// healthUserAgent is the User-Agent of health pings. ⚠ App Service does not
// document its own; "HealthCheck/1.0" is what apps report seeing.
const healthUserAgent = "HealthCheck/1.0"

// healthState is a group's health bookkeeping.
type healthState struct {
	mu          sync.Mutex // guards the instances' fails and badSince, and lastReplace
	lastReplace time.Time
}

// healthPing sends one health ping to the instance at base and returns why
// it failed, or nil for a 2xx answer.
func (r *Runtime) healthPing(base string, h HealthCheck) error {
	timeout := min(time.Minute, r.cfg.HealthEvery)
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+h.Path, nil)
	if err != nil {
		return err
	}
	if h.Host != "" {
		req.Host = h.Host
	}
	proto := "http"
	if h.HTTPS {
		proto = "https"
	}
	req.Header.Set("User-Agent", healthUserAgent)
	req.Header.Set("X-Forwarded-Proto", proto)
	req.Header.Set("X-Appservice-Proto", proto)
	resp, err := r.health.Do(req)
	if err != nil {
		return fmt.Errorf("no answer within %s", timeout)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// watchHealth starts the group's health checks, if it has a path; they end
// when the group stops.
func (r *Runtime) watchHealth(g *group) {
	if g.release.Health.Path == "" {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(r.cfg.HealthEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				r.checkHealth(g)
			case <-g.quit:
				return
			case <-r.ctx.Done():
				return
			}
		}
	}()
}

// checkHealth pings every ready instance of g once, then decides which are
// out of the load balancer and which to replace.
func (r *Runtime) checkHealth(g *group) {
	h := g.release.Health
	log := g.release.Log
	list := g.instances()
	results := make([]error, len(list))
	pinged := make([]bool, len(list))
	var wg sync.WaitGroup
	for i, in := range list {
		u := in.url.Load()
		if !in.ready.Load() || in.stopping.Load() || u == nil {
			continue // starting or restarting: the readiness gate covers it
		}
		pinged[i] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = r.healthPing(*u, h)
		}()
	}
	wg.Wait()
	select {
	case <-g.quit: // stopped or replaced meanwhile: its verdicts no longer matter
		return
	default:
	}

	limit := h.maxFailures()
	now := time.Now()
	g.health.mu.Lock()
	defer g.health.mu.Unlock()
	var unhealthy []*instance
	for i, in := range list {
		if pinged[i] {
			name := fmt.Sprintf("%s_%d", in.ID[:8], in.Role)
			if err := results[i]; err != nil {
				in.fails++
				if in.fails == limit {
					in.badSince = now
					log.Event("Health check: container %s is unhealthy: %d consecutive pings of %s failed (last: %v).", name, in.fails, h.Path, err)
				}
			} else {
				if in.fails >= limit {
					log.Event("Health check: container %s is healthy again (%s answered).", name, h.Path)
				}
				in.fails, in.badSince = 0, time.Time{}
			}
		}
		if in.fails >= limit && in.ready.Load() {
			unhealthy = append(unhealthy, in)
		}
	}
	// At most MaxUnhealthyPercent of the instances are out, the longest
	// unhealthy first; if every one is unhealthy none is taken out, and a
	// single instance never is.
	allowed := len(list) * h.maxPercent() / 100
	if len(unhealthy) == len(list) {
		allowed = 0
	}
	sort.SliceStable(unhealthy, func(i, j int) bool { return unhealthy[i].badSince.Before(unhealthy[j].badSince) })
	out := map[*instance]bool{}
	for i, in := range unhealthy {
		if i < allowed {
			out[in] = true
		}
	}
	for _, in := range list {
		name := fmt.Sprintf("%s_%d", in.ID[:8], in.Role)
		switch was := in.removed.Load(); {
		case out[in] && !was:
			in.removed.Store(true)
			log.Event("Health check: container %s removed from the load balancer.", name)
		case !out[in] && was:
			in.removed.Store(false)
			if in.fails >= limit {
				log.Event("Health check: container %s returned to the load balancer although unhealthy: at most %d%% of instances may be out, and never all.", name, h.maxPercent())
			} else {
				log.Event("Health check: container %s returned to the load balancer.", name)
			}
		case !out[in] && in.fails == limit:
			log.Event("Health check: container %s stays in the load balancer: at most %d%% of instances may be out, and never all.", name, h.maxPercent())
		}
	}
	// Unhealthy for ReplaceAfter → replaced with a fresh instance, one at a
	// time per ReplaceAfter (App Service: one per hour).
	for _, in := range unhealthy {
		if now.Sub(in.badSince) < r.cfg.ReplaceAfter || (!g.health.lastReplace.IsZero() && now.Sub(g.health.lastReplace) < r.cfg.ReplaceAfter) {
			continue
		}
		g.health.lastReplace = now
		name := fmt.Sprintf("%s_%d", in.ID[:8], in.Role)
		log.Event("Health check: container %s has been unhealthy for %s; replacing it.", name, now.Sub(in.badSince).Round(time.Second))
		in.fails, in.badSince = 0, time.Time{}
		in.replace.Store(true)
		in.ready.Store(false)
		in.mu.Lock()
		if in.proc != nil {
			in.proc.Signal(syscall.SIGTERM)
		}
		in.mu.Unlock()
		break
	}
}
