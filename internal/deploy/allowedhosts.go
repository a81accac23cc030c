package deploy

import (
	"context"
	"net"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/applog"
)

// A Django project whose ALLOWED_HOSTS lacks the app's host answers every
// request with 400 Bad Request, and the only trace is a line in the app's
// output (docs/appservice.md §14, first row). The coordinator watches each
// site's log stream for that line and says, once per host and
// refusedHostEvery, what to change.

// refusedHostEvery is how often the same host is explained again.
const refusedHostEvery = 10 * time.Minute

// refusedHostsKept bounds the hosts remembered per site: the host is the
// client's Host header, so a client could send endless new ones.
const refusedHostsKept = 64

// refusedHost returns the host Django refused in one line of an app's
// output — Django's DisallowedHost message, "Invalid HTTP_HOST header:
// 'myapp.localhost:8080'. You may need to add 'myapp.localhost' to
// ALLOWED_HOSTS." — or "" when the line is not one. IP addresses are left
// out: those are the platform's own readiness pings to the instance's
// address, which a 400 answers well enough.
func refusedHost(line string) string {
	if !strings.Contains(line, "Invalid HTTP_HOST header") {
		return ""
	}
	_, rest, ok := strings.Cut(line, "You may need to add ")
	if !ok || rest == "" || (rest[0] != '\'' && rest[0] != '"') {
		return ""
	}
	host, rest, ok := strings.Cut(rest[1:], rest[:1])
	if !ok || !strings.HasPrefix(rest, " to ALLOWED_HOSTS") || host == "" {
		return ""
	}
	// Django names only a domain that passed its own syntax check; anything
	// else is not its message.
	for _, r := range host {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '[' || r == ']' || r == ':') {
			return ""
		}
	}
	if net.ParseIP(strings.Trim(host, "[]")) != nil {
		return ""
	}
	return host
}

// refusedHostMessage is what the platform says about a refused host.
func refusedHostMessage(host string) string {
	return "Django refused the host '" + host + "': add it to ALLOWED_HOSTS, e.g. ALLOWED_HOSTS = [os.environ['WEBSITE_HOSTNAME']] (and for forms over HTTPS CSRF_TRUSTED_ORIGINS = ['https://' + os.environ['WEBSITE_HOSTNAME']])."
}

// watchHosts starts explaining refused hosts in the site's log stream,
// unless it is already watched. The goroutine belongs to the coordinator:
// it ends when Close cancels the coordinator's context or when the site's
// log is forgotten (the site was deleted), and Close waits for it.
func (c *Coordinator) watchHosts(site string) {
	lg := c.SiteLog(site)
	key := strings.ToLower(site)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.watching[key] == lg {
		return
	}
	c.watching[key] = lg
	_, lines := lg.Subscribe(c.ctx, 0)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.explainRefusedHosts(site, lg, lines)
	}()
}

// explainRefusedHosts reads a site's log lines until the channel closes.
func (c *Coordinator) explainRefusedHosts(site string, lg *applog.Log, lines <-chan string) {
	last := map[string]time.Time{}
	for line := range lines {
		host := refusedHost(line)
		if host == "" {
			continue
		}
		now := c.cfg.Now()
		if t, ok := last[host]; ok && now.Sub(t) < refusedHostEvery {
			continue
		}
		if len(last) >= refusedHostsKept {
			for h, t := range last {
				if now.Sub(t) >= refusedHostEvery {
					delete(last, h)
				}
			}
			if len(last) >= refusedHostsKept {
				continue // a flood of made-up hosts: enough has been said
			}
		}
		last[host] = now
		msg := refusedHostMessage(host)
		lg.Event("%s", msg)
		c.warnLatestDeployment(site, msg)
	}
}

// warnLatestDeployment appends a warning to the site's running deployment
// or, when none runs, to its latest one; a site never deployed has none.
func (c *Coordinator) warnLatestDeployment(site, msg string) {
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	id, running := c.IsDeploying(site)
	if !running {
		ds, err := c.cfg.Store.ListDeployments(ctx, site)
		if err != nil {
			c.cfg.Logger.Error("listing deployments", "site", site, "err", err)
			return
		}
		latest, ok := slipway.LatestDeployment(ds) // after a redeploy, the redeployed one
		if !ok {
			return
		}
		id = latest.ID
	}
	e := slipway.DeploymentLogEntry{ID: newID(), Time: c.cfg.Now().UTC(), Message: msg, Type: slipway.LogWarning}
	if _, err := c.cfg.Store.AppendDeploymentLog(ctx, site, id, e); err != nil {
		c.cfg.Logger.Error("appending deployment log", "deployment", id, "err", err)
	}
}
