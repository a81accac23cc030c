package deploy

import (
	"context"
	"time"
)

// Unload stops a site's instances because it had no request for idle and
// does not have Always On (internal/idle). Its stored state does not
// change: the next request starts it again with Load. A site busy with an
// operation (a deployment, a restart, a swap) is left alone: Unload
// reports false.
func (c *Coordinator) Unload(ctx context.Context, rg, name string, idle time.Duration) (bool, error) {
	st := c.state(name)
	if !st.op.TryLock() {
		return false, nil
	}
	defer st.op.Unlock()
	c.cfg.Runtime.Stop(ctx, name)
	c.setRunningRefs(name, "")
	c.SiteLog(name).Event("Site %s unloaded after %s without requests (Always On is off); the next request starts it again.", name, idle.Round(time.Second))
	return true, nil
}

// Load starts an unloaded site for a request and returns once an instance
// is ready (a cold start): an ordinary start with the current settings.
func (c *Coordinator) Load(ctx context.Context, rg, name string) error {
	began := c.cfg.Now()
	if err := c.Restart(ctx, rg, name); err != nil {
		return err
	}
	c.SiteLog(name).Event("Site %s started for a request after it was unloaded (cold start %s).", name, c.cfg.Now().Sub(began).Round(time.Millisecond))
	return nil
}
