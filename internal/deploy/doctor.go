package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/slipway"
)

// Django's deployment checklist (`manage.py check --deploy`) runs after the
// release step of a Django app. App Service does not run it; its
// findings are only advice (docs/appservice.md §14 lists what bites Django apps
// there), so they become warnings in the deployment log and nothing the
// check does can fail the deployment.
const (
	djangoCheckTimeout    = 60 * time.Second
	djangoCheckMaxEntries = 20       // findings logged as entries of their own
	djangoCheckMaxBytes   = 64 << 10 // output read
)

// djangoCheckCommand returns the deployment check for an artifact, or nil
// when it is not a built Django app.
func djangoCheckCommand(art Artifact) []string {
	if !art.Django || art.VenvDir == "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(art.Dir, "manage.py")); err != nil {
		return nil
	}
	return []string{"python", "manage.py", "check", "--deploy"} // the venv's python comes first on PATH
}

// djangoCheck runs Django's deployment check in the release, as the release
// command runs, and appends what it reports to the deployment log as
// warnings: a line that says how to fix them, then each finding once (with
// its HINT), as an entry of its own, up to djangoCheckMaxEntries; the rest
// go, one a line, into the details of one last entry. It never fails: a
// check that cannot run is only noted in the platform's log.
func (c *Coordinator) djangoCheck(ctx context.Context, snap Snapshot, art Artifact, d slipway.Deployment) {
	argv := djangoCheckCommand(art)
	if argv == nil || ctx.Err() != nil {
		return
	}
	var out boundedBuffer
	out.max = djangoCheckMaxBytes
	err := c.runCommand(ctx, snap, art, argv, &out, djangoCheckTimeout)
	findings, ok := checkFindings(out.String())
	if !ok {
		if err != nil {
			c.cfg.Logger.Info("django deployment check did not run", "site", d.Site, "deployment", d.ID, "err", err)
		}
		return
	}
	c.step(ctx, d, slipway.LogWarning, "Django's deployment checklist (python manage.py check --deploy) reports issues. They do not stop the deployment; see https://docs.djangoproject.com/en/stable/howto/deployment/checklist/ and fix them in settings.py.")
	shown := findings[:min(len(findings), djangoCheckMaxEntries)]
	for _, f := range shown {
		c.step(ctx, d, slipway.LogWarning, "%s", f)
	}
	if rest := findings[len(shown):]; len(rest) > 0 {
		entry := c.step(ctx, d, slipway.LogWarning, "... and %d more line(s) of the checklist's report, in this entry's details:", len(rest))
		details := c.SiteLog(d.Site).Secrets().String(strings.Join(rest, "\n") + "\n")
		if err := c.cfg.Store.AppendDeploymentLogDetails(ctx, d.Site, d.ID, entry, details); err != nil {
			c.cfg.Logger.Error("appending deployment log details", "deployment", d.ID, "err", err)
		}
	}
}

// checkFindings summarises the output of `manage.py check --deploy`: the
// findings after "System check identified some issues", each with its HINT,
// without the section headings, then the closing count. ok is false when
// the output reports no issues (or the check did not run).
func checkFindings(output string) (findings []string, ok bool) {
	lines := strings.Split(strings.ReplaceAll(output, "\r\n", "\n"), "\n")
	start := -1
	for i, l := range lines {
		if strings.Contains(l, "System check identified some issues") {
			start = i + 1
			break
		}
	}
	if start < 0 {
		return nil, false
	}
	var all []string
	for _, l := range lines[start:] {
		t := strings.TrimSpace(l)
		switch {
		case t == "", t == "CRITICALS:", t == "ERRORS:", t == "WARNINGS:", t == "INFOS:", t == "DEBUGS:":
			continue
		case strings.HasPrefix(t, "HINT:") && len(all) > 0:
			all[len(all)-1] += " " + t
			continue
		}
		all = append(all, t)
	}
	return all, len(all) > 0
}

// boundedBuffer keeps the first max bytes written to it and discards the
// rest, so a chatty command cannot fill memory.
type boundedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A Django project trusts the origin of a form posted over HTTPS when it is
// the request's own (SECURE_PROXY_SSL_HEADER set, so that Django knows the
// request came over HTTPS) or listed in CSRF_TRUSTED_ORIGINS; any other
// origin gets 403 "CSRF verification failed"
// (https://docs.djangoproject.com/en/stable/ref/settings/#csrf-trusted-origins).
// Microsoft's Django samples list only 'https://' + WEBSITE_HOSTNAME, the
// site's origin on App Service, where the front ends listen on 443
// (https://learn.microsoft.com/azure/app-service/configure-language-python#detect-https-session).
// Behind a front door on another port the browser's origin carries the port,
// so after the checklist the coordinator asks the project what it trusts
// and warns when the site's own origin is not among it.

// djangoOriginsMarker starts the line the origins probe prints.
const djangoOriginsMarker = "SLIPWAY-DJANGO-ORIGINS "

// djangoOriginsProbe prints, on one line after djangoOriginsMarker, what the
// project's settings say about trusted origins, as JSON.
const djangoOriginsProbe = `import json
from django.conf import settings as s
print(` + "\"" + djangoOriginsMarker + "\"" + ` + json.dumps({
    "csrf": "django.middleware.csrf.CsrfViewMiddleware" in list(getattr(s, "MIDDLEWARE", None) or []),
    "proxy": bool(getattr(s, "SECURE_PROXY_SSL_HEADER", None)),
    "trusted": [str(o) for o in (getattr(s, "CSRF_TRUSTED_ORIGINS", None) or [])],
}))
`

// djangoOrigins is what djangoOriginsProbe reports.
type djangoOrigins struct {
	CSRF    bool     `json:"csrf"`
	Proxy   bool     `json:"proxy"`
	Trusted []string `json:"trusted"`
}

// trusts reports whether Django's CSRF middleware accepts a form posted
// over HTTPS from origin (scheme://host[:port]) to the site at that same
// origin, as CsrfViewMiddleware._origin_verified decides: the request's
// own origin when Django knows it came over HTTPS, an exact entry of
// CSRF_TRUSTED_ORIGINS, or a wildcard entry ("https://*.example.com")
// whose domain the origin's host and port end with.
func (o djangoOrigins) trusts(origin string) bool {
	if !o.CSRF || o.Proxy {
		return true
	}
	scheme, netloc, _ := strings.Cut(origin, "://")
	for _, t := range o.Trusted {
		if t == origin {
			return true
		}
		ts, tn, ok := strings.Cut(t, "://")
		if !ok || ts != scheme || !strings.Contains(tn, "*") {
			continue
		}
		pattern := strings.ToLower(strings.TrimLeft(tn, "*"))
		host := strings.ToLower(netloc)
		if strings.HasPrefix(pattern, ".") && (strings.HasSuffix(host, pattern) || host == pattern[1:]) || host == pattern {
			return true
		}
	}
	return false
}

// djangoOriginCheck warns when the Django project would refuse the forms it
// protects from CSRF when a browser posts them from the site's own HTTPS
// origin. Like djangoCheck it never fails the deployment.
func (c *Coordinator) djangoOriginCheck(ctx context.Context, snap Snapshot, art Artifact, d slipway.Deployment) {
	if c.cfg.Origin == nil || djangoCheckCommand(art) == nil || ctx.Err() != nil {
		return
	}
	origin := c.cfg.Origin(d.Site)
	var out boundedBuffer
	out.max = djangoCheckMaxBytes
	err := c.runCommand(ctx, snap, art, []string{"python", "manage.py", "shell", "-c", djangoOriginsProbe}, &out, djangoCheckTimeout)
	var got djangoOrigins
	_, line, found := strings.Cut(out.String(), djangoOriginsMarker)
	line, _, _ = strings.Cut(line, "\n")
	if !found || json.Unmarshal([]byte(line), &got) != nil {
		c.cfg.Logger.Info("django origins probe did not run", "site", d.Site, "deployment", d.ID, "err", err)
		return
	}
	if got.trusts(origin) {
		return
	}
	c.step(ctx, d, slipway.LogWarning, "%s", untrustedOriginMessage(origin, got.Trusted))
}

// untrustedOriginMessage says why a browser's forms will be refused, and
// what makes the origin the one App Service gives.
func untrustedOriginMessage(origin string, trusted []string) string {
	list := "is empty"
	if len(trusted) > 0 {
		list = "holds only " + strings.Join(trusted, ", ")
	}
	return "Django will refuse the forms it protects from CSRF (403 \"CSRF verification failed\") when a browser posts them from " + origin +
		": CSRF_TRUSTED_ORIGINS " + list + " and SECURE_PROXY_SSL_HEADER is not set. On App Service a site's origin is https://<WEBSITE_HOSTNAME>, without a port; " +
		"to give it that origin here, run the server on port 443 (slipway server --http-port 443), or trust " + origin + " in settings.py."
}
