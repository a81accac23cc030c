package armtemplate

import "sync"

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
