package deploy

// Slot swaps (docs/slots.md §2, docs/appservice.md §6): the source slot's
// content starts under the target's name with the configuration the target
// will have, is warmed up, and the swap is committed in the store inside
// the runtime's gate — before traffic moves, so a failed warm-up changes
// nothing and a killed server comes back with one whole pairing or the
// other. Then the source rolls to the target's old content.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
)

// SlotStore is what swaps need of the store besides Store.
type SlotStore interface {
	Slot(ctx context.Context, rg, app, slot string) (slipway.Site, error)
	Swap(ctx context.Context, app string) (slipway.Swap, error) // ENOTFOUND when none
	Swaps(ctx context.Context) ([]slipway.Swap, error)
	BeginSwap(ctx context.Context, sw slipway.Swap) error
	EndSwap(ctx context.Context, app string) error
	CommitSwap(ctx context.Context, app, source, target string) (newSource, newTarget slipway.Deployment, err error)
	SwapStickyNames(ctx context.Context, app string) (settings, conns []string, err error)
	AutoSwapSlot(ctx context.Context, rg, site string) (string, error)
}

// SlotConfig configures swaps.
type SlotConfig struct {
	Store SlotStore // nil: no slots
	// HostName is a site's default host name, the Host of warm-up
	// requests (what the app's ALLOWED_HOSTS accepts); nil: the address.
	HostName func(site string) string
	// WarmupTimeout bounds one warm-up request; 0 → 90 s (docs/appservice.md §6).
	WarmupTimeout time.Duration
}

// SwapAction is az's --action of `webapp deployment slot swap`.
type SwapAction string

const (
	SwapActionSwap    SwapAction = "swap"
	SwapActionPreview SwapAction = "preview"
	SwapActionReset   SwapAction = "reset"
)

// artifactsOwner is the site whose directory holds a site's artifacts:
// every slot's live under its app, because a swap makes two slots run one
// artifact (docs/slots.md §1).
func artifactsOwner(s slipway.Site) string { return s.App() }

// SwapSlots carries out `az webapp deployment slot swap` on slot of app
// into targetSlot ("" or "production" = the app itself).
func (c *Coordinator) SwapSlots(ctx context.Context, rg, app, slot, targetSlot, action string) error {
	ss := c.cfg.Slots.Store
	if ss == nil {
		return slipway.Errorf(slipway.EUNAVAILABLE, "This server has no deployment slots.")
	}
	if SwapAction(action) == SwapActionReset {
		return c.ResetSwap(ctx, rg, app)
	}
	src, err := ss.Slot(ctx, rg, app, slot)
	if err != nil {
		return err
	}
	dst, err := ss.Slot(ctx, rg, app, targetSlot)
	if err != nil {
		return err
	}
	switch SwapAction(action) {
	case SwapActionPreview:
		return c.previewSwap(ctx, src, dst)
	case SwapActionSwap, "":
		_, err := c.swap(ctx, src, dst, "")
		return err
	}
	return slipway.Errorf(slipway.EINVALID, "Unknown swap action %q: use preview, swap or reset.", action)
}

// lockPair takes both sites' operation locks in a fixed order and refuses
// while either deploys (except self, the deployment that auto swaps).
func (c *Coordinator) lockPair(a, b, self string) (unlock func(), err error) {
	names := []string{strings.ToLower(a), strings.ToLower(b)}
	slices.Sort(names)
	for _, n := range names {
		if id, busy := c.IsDeploying(n); busy && !strings.EqualFold(n, self) {
			return nil, slipway.Errorf(slipway.ECONFLICT, "A deployment (%s) of %s is running; swap when it has finished.", id, n)
		}
	}
	s0, s1 := c.state(names[0]), c.state(names[1])
	s0.op.Lock()
	s1.op.Lock()
	return func() { s1.op.Unlock(); s0.op.Unlock() }, nil
}

// previewSwap is phase 1 of a swap with preview: the source restarts with
// the target's slot settings and stays so until swap or reset.
func (c *Coordinator) previewSwap(ctx context.Context, src, dst slipway.Site) error {
	unlock, err := c.lockPair(src.Name, dst.Name, "")
	if err != nil {
		return err
	}
	defer unlock()
	ss := c.cfg.Slots.Store
	if err := ss.BeginSwap(ctx, slipway.Swap{App: src.App(), Source: src.Name, Target: dst.Name, Phase: slipway.SwapPreview}); err != nil {
		return err
	}
	snap, err := c.snapshot(ctx, src.ResourceGroup, src.Name) // now with dst's slot settings (previewed)
	if err == nil {
		var art Artifact
		if art, err = c.artifact(ctx, src.Name); err == nil && src.Enabled {
			err = c.roll(ctx, snap, art)
		}
	}
	if err != nil {
		_ = ss.EndSwap(context.WithoutCancel(ctx), src.App())
		c.SiteLog(src.Name).Event("Swap with preview of %s into %s failed and was cancelled: %v", src.Name, dst.Name, err)
		return slipway.Errorf(slipway.EUNAVAILABLE, "The swap preview failed and was cancelled: %s", errText(err))
	}
	c.SiteLog(src.Name).Event("Swap with preview: %s now runs with the slot settings of %s. Finish with --action swap, cancel with --action reset.", src.Name, dst.Name)
	return nil
}

// ResetSwap cancels the app's swap with preview: the source restarts with
// its own settings. Without a swap under way it does nothing.
func (c *Coordinator) ResetSwap(ctx context.Context, rg, app string) error {
	ss := c.cfg.Slots.Store
	if ss == nil {
		return slipway.Errorf(slipway.EUNAVAILABLE, "This server has no deployment slots.")
	}
	if _, err := ss.Slot(ctx, rg, app, ""); err != nil {
		return err
	}
	sw, err := ss.Swap(ctx, app)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if sw.Phase != slipway.SwapPreview {
		return slipway.Errorf(slipway.ECONFLICT, "A swap of %s is running; it cannot be reset now.", app)
	}
	if err := ss.EndSwap(ctx, app); err != nil {
		return err
	}
	c.SiteLog(sw.Source).Event("Swap with preview reset: %s restarts with its own settings.", sw.Source)
	return c.Restart(ctx, rg, sw.Source)
}

// previewed applies a swap with preview to the snapshot of its source: the
// source's own settings with the target's sticky ones (docs/appservice.md §6
// phase 1). Other snapshots pass unchanged.
func (c *Coordinator) previewed(ctx context.Context, snap Snapshot) (Snapshot, error) {
	ss := c.cfg.Slots.Store
	if ss == nil {
		return snap, nil
	}
	sw, err := ss.Swap(ctx, snap.Site.App())
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return snap, nil
	} else if err != nil {
		return Snapshot{}, err
	}
	if !sw.Previews(snap.Site.Name) {
		return snap, nil
	}
	target, err := c.rawSnapshot(ctx, snap.Site.ResourceGroup, sw.Target)
	if err != nil {
		return Snapshot{}, err
	}
	p, err := c.swappedConfig(ctx, snap, target)
	if err != nil {
		return Snapshot{}, err
	}
	// Only the settings: the source keeps its name, content and config.
	snap.Settings, snap.ConnectionStrings = p.Settings, p.ConnectionStrings
	return snap, nil
}

// rawSnapshot is a site's own snapshot, without a preview applied.
func (c *Coordinator) rawSnapshot(ctx context.Context, rg, name string) (Snapshot, error) {
	settings, err := c.cfg.Store.Settings(ctx, rg, name)
	if err != nil {
		return Snapshot{}, err
	}
	conns, err := c.cfg.Store.ConnectionStrings(ctx, rg, name)
	if err != nil {
		return Snapshot{}, err
	}
	site, err := c.cfg.Store.Site(ctx, rg, name)
	if err != nil {
		return Snapshot{}, err
	}
	plan, err := c.cfg.Store.Plan(ctx, site.PlanResourceGroup(), site.Plan)
	if err != nil {
		return Snapshot{}, err
	}
	return Snapshot{Site: site, Plan: plan, Settings: settings, ConnectionStrings: conns}, nil
}

// swappedConfig returns target as it runs source's content after a swap:
// the source's non-sticky settings and connection strings, the target's
// sticky ones, the source's stack and startup command.
func (c *Coordinator) swappedConfig(ctx context.Context, source, target Snapshot) (Snapshot, error) {
	stickySet, stickyConn, err := c.cfg.Slots.Store.SwapStickyNames(ctx, target.Site.App())
	if err != nil {
		return Snapshot{}, err
	}
	out := target
	_, out.Settings = slipway.SwapConfig(source.Settings, target.Settings, stickySet)
	_, out.ConnectionStrings = slipway.SwapConfig(source.ConnectionStrings, target.ConnectionStrings, stickyConn)
	out.Site.Config.LinuxFxVersion = source.Site.Config.LinuxFxVersion
	out.Site.Config.AppCommandLine = source.Site.Config.AppCommandLine
	return out, nil
}

// SwapResult says how a swap went.
type SwapResult struct {
	// Flip is the time from the start of the swap to the moment the
	// target's traffic moved to the warmed instances.
	Flip time.Duration
}

// swap swaps src into dst (docs/slots.md §2). self is the site whose
// deployment asks (auto swap), "" otherwise.
func (c *Coordinator) swap(ctx context.Context, src, dst slipway.Site, self string) (SwapResult, error) {
	ss := c.cfg.Slots.Store
	unlock, err := c.lockPair(src.Name, dst.Name, self)
	if err != nil {
		return SwapResult{}, err
	}
	defer unlock()
	if !src.Enabled || !dst.Enabled {
		return SwapResult{}, slipway.Errorf(slipway.EINVALID, "Both slots must be running to swap; start the stopped one first.")
	}
	app := src.App()
	began := c.cfg.Now()
	if err := ss.BeginSwap(ctx, slipway.Swap{App: app, Source: src.Name, Target: dst.Name, Phase: slipway.SwapWarming}); err != nil {
		return SwapResult{}, err
	}
	fail := func(err error) (SwapResult, error) {
		_ = ss.EndSwap(context.WithoutCancel(ctx), app)
		for _, n := range []string{src.Name, dst.Name} {
			c.SiteLog(n).Event("The swap of %s into %s was stopped; nothing changed and both slots keep serving as before. Reason: %s", src.Name, dst.Name, errText(err))
		}
		return SwapResult{}, slipway.Errorf(slipway.EUNAVAILABLE, "The swap of %s into %s was stopped and nothing changed: %s", src.Name, dst.Name, errText(err))
	}
	c.SiteLog(dst.Name).Event("Swapping %s into %s: starting its content with %s's settings and warming it up.", src.Name, dst.Name, dst.Name)
	srcSnap, err := c.rawSnapshot(ctx, src.ResourceGroup, src.Name)
	if err != nil {
		return fail(err)
	}
	dstSnap, err := c.rawSnapshot(ctx, dst.ResourceGroup, dst.Name)
	if err != nil {
		return fail(err)
	}
	target, err := c.swappedConfig(ctx, srcSnap, dstSnap)
	if err != nil {
		return fail(err)
	}
	srcArt, err := c.artifact(ctx, src.Name)
	if err != nil {
		return fail(err)
	}
	dstArt, err := c.artifact(ctx, dst.Name)
	if err != nil {
		return fail(err)
	}
	var committed bool
	var newSrc, newDst slipway.Deployment
	gate := func(gctx context.Context, backends []string) error {
		if err := c.warmUp(gctx, target, backends); err != nil {
			return err
		}
		var err error
		if newSrc, newDst, err = ss.CommitSwap(gctx, app, src.Name, dst.Name); err != nil {
			return fmt.Errorf("recording the swap failed: %w", err)
		}
		committed = true
		return nil
	}
	if err := c.rollGated(ctx, target, srcArt, gate); err != nil {
		if committed { // cannot happen: the gate's commit is its last step
			return SwapResult{}, err
		}
		return fail(err)
	}
	res := SwapResult{Flip: c.cfg.Now().Sub(began)}
	c.SiteLog(dst.Name).Event("Swap: %s now serves the content of %s (traffic moved %s after the swap began).", dst.Name, src.Name, res.Flip.Round(time.Millisecond))
	if newDst.ID != "" {
		c.step(ctx, newDst, slipway.LogMessage, "Swapped in from slot %s: release commands do not run at a swap.", src.Name)
		if missing := newMigrations(srcArt, dstArt); len(missing) > 0 {
			msg := fmt.Sprintf("The swapped-in code has Django migrations the code it replaced did not have (%s). Release commands (migrate) do not run at a swap: if %s's database has not been migrated to them, run them against it now.", strings.Join(missing, ", "), dst.Name)
			c.step(ctx, newDst, slipway.LogWarning, "%s", msg)
			c.SiteLog(dst.Name).Event("%s", msg)
		}
	}
	if newSrc.ID != "" {
		c.step(ctx, newSrc, slipway.LogMessage, "Swapped in from slot %s.", dst.Name)
	}
	if err := c.cfg.Planner.Publish(ctx, target, srcArt); err != nil {
		c.SiteLog(dst.Name).Event("Publishing the swapped-in files to /home/site/wwwroot failed: %v", err)
	}
	// Phase 6: the source takes the target's old content with its own
	// settings (re-read: the commit changed them).
	srcNew, err := c.rawSnapshot(ctx, src.ResourceGroup, src.Name)
	if err == nil {
		if err = c.cfg.Planner.Publish(ctx, srcNew, dstArt); err == nil {
			err = c.roll(ctx, srcNew, dstArt)
		}
	}
	if err != nil {
		c.SiteLog(src.Name).Event("After the swap, %s did not restart with its new content (%v); restart it.", src.Name, err)
		return res, slipway.Errorf(slipway.EUNAVAILABLE, "The swap is done, but %s did not restart with its new content: %s. Restart it.", src.Name, errText(err))
	}
	c.SiteLog(src.Name).Event("Swap: %s now serves the content %s had.", src.Name, dst.Name)
	return res, nil
}

// Swap swaps slot into targetSlot and reports the time to the flip (for
// the bench and callers that want it).
func (c *Coordinator) Swap(ctx context.Context, rg, app, slot, targetSlot string) (SwapResult, error) {
	ss := c.cfg.Slots.Store
	if ss == nil {
		return SwapResult{}, slipway.Errorf(slipway.EUNAVAILABLE, "This server has no deployment slots.")
	}
	src, err := ss.Slot(ctx, rg, app, slot)
	if err != nil {
		return SwapResult{}, err
	}
	dst, err := ss.Slot(ctx, rg, app, targetSlot)
	if err != nil {
		return SwapResult{}, err
	}
	return c.swap(ctx, src, dst, "")
}

// warmUp sends each new instance the swap's warm-up requests
// (docs/appservice.md §6): WEBSITE_SWAP_WARMUP_PING_PATH (default "/"),
// any status warm unless WEBSITE_SWAP_WARMUP_PING_STATUSES lists the
// accepted ones; then the health check path, which must answer 2xx. A
// request that times out or cannot connect is retried, at most
// WEBSITE_SLOT_MAX_NUMBER_OF_TIMEOUTS (default 5) times.
func (c *Coordinator) warmUp(ctx context.Context, s Snapshot, backends []string) error {
	path := strings.TrimSpace(s.Settings["WEBSITE_SWAP_WARMUP_PING_PATH"])
	if path == "" {
		path = "/"
	}
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n#") || len(path) > 2048 {
		return fmt.Errorf("WEBSITE_SWAP_WARMUP_PING_PATH %q is not a path: use one like /healthz", path)
	}
	var statuses []int
	if v := strings.TrimSpace(s.Settings["WEBSITE_SWAP_WARMUP_PING_STATUSES"]); v != "" {
		for f := range strings.SplitSeq(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 100 || n > 599 {
				return fmt.Errorf("WEBSITE_SWAP_WARMUP_PING_STATUSES %q is not a list of HTTP status codes such as 200,202", v)
			}
			statuses = append(statuses, n)
		}
	}
	tries := 5
	if n, err := strconv.Atoi(strings.TrimSpace(s.Settings["WEBSITE_SLOT_MAX_NUMBER_OF_TIMEOUTS"])); err == nil && n >= 1 && n <= 10 {
		tries = n
	}
	type probe struct {
		path string
		ok   func(int) bool
		want string
	}
	probes := []probe{{path, func(code int) bool { return statuses == nil || slices.Contains(statuses, code) }, fmt.Sprintf("one of %v (WEBSITE_SWAP_WARMUP_PING_STATUSES)", statuses)}}
	if hc := s.Site.Config.HealthCheckPath; hc != "" {
		probes = append(probes, probe{hc, func(code int) bool { return code >= 200 && code < 300 }, "2xx (health check)"})
	}
	host := ""
	if c.cfg.Slots.HostName != nil {
		host = c.cfg.Slots.HostName(s.Site.Name)
	}
	for _, b := range backends {
		for _, p := range probes {
			code, err := c.warmOnce(ctx, b+p.path, host, tries)
			if err != nil {
				return fmt.Errorf("warm-up request to %s of a new instance failed: %w", p.path, err)
			}
			if !p.ok(code) {
				return fmt.Errorf("warm-up request to %s of a new instance answered %d, not %s", p.path, code, p.want)
			}
		}
	}
	return nil
}

// warmOnce GETs url with Host host, retrying timeouts and refused
// connections up to tries times, and returns the status.
func (c *Coordinator) warmOnce(ctx context.Context, url, host string, tries int) (int, error) {
	timeout := c.cfg.Slots.WarmupTimeout
	if timeout == 0 {
		timeout = 90 * time.Second
	}
	client := &http.Client{
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	var last error
	for range tries {
		rctx, cancel := context.WithTimeout(ctx, timeout)
		req, err := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
		if err != nil {
			cancel()
			return 0, err
		}
		if host != "" {
			req.Host = host
		}
		req.Header.Set("User-Agent", "SiteWarmup")
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			cancel()
			return resp.StatusCode, nil
		}
		cancel()
		last = err
		if ctx.Err() != nil {
			break
		}
	}
	return 0, last
}

// newMigrations lists Django migration files (<app>/migrations/NNNN_*.py)
// in art that old lacks, at most 10.
func newMigrations(art, old Artifact) []string {
	have := map[string]bool{}
	for _, f := range migrationFiles(old.Dir) {
		have[f] = true
	}
	var out []string
	for _, f := range migrationFiles(art.Dir) {
		if !have[f] && len(out) < 10 {
			out = append(out, f)
		}
	}
	return out
}

func migrationFiles(dir string) []string {
	if dir == "" {
		return nil
	}
	var out []string
	for _, pat := range []string{"*/migrations/[0-9]*.py", "*/*/migrations/[0-9]*.py"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, f := range m {
			if rel, err := filepath.Rel(dir, f); err == nil && !strings.HasPrefix(rel, "antenv") {
				out = append(out, rel)
			}
		}
	}
	slices.Sort(out)
	return out
}

// autoSwap swaps a slot into its auto-swap target after a successful
// deployment to it (docs/slots.md §2), with the result in the deployment's
// log. It runs before the deployment counts as finished (Wait).
func (c *Coordinator) autoSwap(ctx context.Context, site slipway.Site, d slipway.Deployment) {
	ss := c.cfg.Slots.Store
	if ss == nil || site.SlotOf == "" {
		return
	}
	target, err := ss.AutoSwapSlot(ctx, site.ResourceGroup, site.Name)
	if err != nil || target == "" {
		return
	}
	c.step(ctx, d, slipway.LogMessage, "Auto swap: swapping slot %s into %s.", site.Slot, target)
	src, err := ss.Slot(ctx, site.ResourceGroup, site.SlotOf, site.Slot)
	if err == nil {
		var dst slipway.Site
		if dst, err = ss.Slot(ctx, site.ResourceGroup, site.SlotOf, target); err == nil {
			var res SwapResult
			if res, err = c.swap(ctx, src, dst, site.Name); err == nil {
				c.step(ctx, d, slipway.LogMessage, "Auto swap succeeded: %s serves this deployment (traffic moved after %s).", target, res.Flip.Round(time.Millisecond))
				return
			}
		}
	}
	c.step(ctx, d, slipway.LogWarning, "Auto swap into %s failed: %s The deployment stays in slot %s.", target, errText(err), site.Slot)
}

// recoverSwaps finishes what a server that stopped during a swap left:
// a swap that was warming never committed, so it is forgotten and both
// slots start as they were; a swap with preview stays in preview.
func (c *Coordinator) recoverSwaps(ctx context.Context) error {
	ss := c.cfg.Slots.Store
	if ss == nil {
		return nil
	}
	sws, err := ss.Swaps(ctx)
	if err != nil {
		return err // "listing swaps: ..."
	}
	var errs []error
	for _, sw := range sws {
		if sw.Phase != slipway.SwapWarming {
			continue
		}
		if err := ss.EndSwap(ctx, sw.App); err != nil {
			errs = append(errs, err)
			continue
		}
		for _, n := range []string{sw.Source, sw.Target} {
			c.SiteLog(n).Event("The server stopped during the swap of %s into %s, before it was committed: nothing was swapped, and both slots start as they were.", sw.Source, sw.Target)
		}
	}
	return errors.Join(errs...)
}
