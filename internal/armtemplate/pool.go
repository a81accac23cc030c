package armtemplate

import (
	"sync"
	"sync/atomic"
)

// Pool is a budget of value bytes shared by the evaluations of many
// deployments (all of a server's): each evaluation may build at most
// maxValueBytes, and all those not yet released at most the pool's size
// together. Without it a tenant's concurrent deployments, each within its
// own limit, would together hold more memory than the server has; with it
// a deployment past the shared budget fails with TemplateMemoryBusy and
// can be retried, and the server and the other tenants' apps go on.
type Pool struct {
	mu   sync.Mutex
	size int64
	used int64
}

// NewPool returns a pool of size bytes.
func NewPool(size int64) *Pool { return &Pool{size: size} }

// take reserves n bytes; false when the pool has not that many free.
func (p *Pool) take(n int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.used+n > p.size {
		return false
	}
	p.used += n
	return true
}

// give returns n bytes taken before.
func (p *Pool) give(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.used = max(p.used-n, 0)
}

// Release gives the bytes the deployment's evaluation built back to its
// pool (Options.Pool): call it once the deployment has ended, deployed or
// not. Its values are not used after it; a second call does nothing.
func (d *Deployment) Release() {
	if ev := d.ev; ev.pool != nil && ev.taken > 0 {
		ev.pool.give(ev.taken)
		ev.taken = 0
	}
}

// Work is a budget of evaluation steps shared by the evaluations of
// several deployments (a deployment and those it nests): each may take
// maxSteps, and all of them together the Work's size. A call of
// reference() or listKeys(), a request to the server, counts as
// runtimeCallSteps.
type Work struct {
	used atomic.Int64
	size int64
}

// NewWork returns a budget of size steps.
func NewWork(size int64) *Work { return &Work{size: size} }

// runtimeCallSteps is what a reference() or listKeys() call counts for
// against a Work: it is an internal request, authorized and served.
const runtimeCallSteps = 100

// take counts n steps; false past the budget.
func (w *Work) take(n int64) bool { return w.used.Add(n) <= w.size }
