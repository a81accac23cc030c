// Package every runs a function on a ticker until a context ends: the loop
// the server's periodic jobs (idle unload, autoscale, Key Vault reference
// refresh, thread sizing) share.
package every

import (
	"context"
	"time"
)

// Run calls f every d until ctx ends; the first call is after d. It returns
// when ctx ends (a call under way finishes first).
func Run(ctx context.Context, d time.Duration, f func(context.Context)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f(ctx)
		}
	}
}
