package deploy

import (
	"bytes"
	"context"
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
		if err := c.cfg.Store.AppendDeploymentLogDetails(ctx, d.ID, entry, details); err != nil {
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
