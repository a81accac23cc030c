package frontdoor

// The lane's cancellation hook: what the upstream client asks to run when
// a request is cancelled (its connection's deadline moved to the past),
// kept in a field of the lane's connection instead of being registered
// with the request's context by context.AfterFunc.

import "context"

// laneConnKey is the context key under which a lane request's context
// carries its connection (cancelHook).
type laneConnKey struct{}

// cancelHook runs f when ctx ends, as context.AfterFunc does, and returns a
// stop function with the same meaning. For the context of a request the
// lane serves (or one that only adds values to it) the lane keeps f in a
// field of the connection and runs it where it cancels the request: the
// upstream client sets one per request, and context.AfterFunc's
// registration (an allocation, a map of children and a channel made for
// it) was 4% of the lane's CPU per request (docs/benchmarks.md, "fifth
// pass"). Any other context, or a second hook while one is set, takes
// context.AfterFunc.
func cancelHook(ctx context.Context, f func()) (stop func() bool) {
	if c, ok := ctx.Value(laneConnKey{}).(*laneConn); ok {
		if stop, ok := c.setHook(ctx, f); ok {
			return stop
		}
	}
	return context.AfterFunc(ctx, f)
}

// setHook sets f as the current request's hook when ctx is that request's
// context or only adds values to it (its Done channel is the request's).
func (c *laneConn) setHook(ctx context.Context, f func()) (func() bool, bool) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.reqCtx == nil || c.hook != nil || ctx.Done() != c.reqCtx.Done() {
		return nil, false
	}
	if ctx.Err() != nil {
		return nil, false // already ended: AfterFunc runs f at once
	}
	c.hookGen++
	c.hook, c.hookRan = f, false
	gen := c.hookGen
	return func() bool { return c.unhook(gen) }, true
}

// unhook removes hook number gen; it reports false when that hook has
// already run (or started), as an AfterFunc stop function does.
func (c *laneConn) unhook(gen uint64) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if gen != c.hookGen {
		return false // a later hook was set since: this one may have run
	}
	if c.hook == nil {
		return !c.hookRan
	}
	c.hook = nil
	return true
}

// fireHook runs the request's hook, if one is set.
func (c *laneConn) fireHook() {
	c.wmu.Lock()
	f := c.hook
	c.hook = nil
	if f != nil {
		c.hookRan = true
	}
	c.wmu.Unlock()
	if f != nil {
		f()
	}
}
