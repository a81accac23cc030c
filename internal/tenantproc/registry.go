package tenantproc

import (
	"sort"
	"sync"
)

// Registry holds a service's tenants (servers, caches) by name, and lets
// one lifecycle operation at a time run on each name. The zero value is
// ready to use; it is safe for concurrent use.
type Registry[T any] struct {
	mu    sync.RWMutex
	items map[string]T
	ops   sync.Map // name → *sync.Mutex
}

// Lock waits until no other operation runs on name and returns the func
// that ends this one.
func (r *Registry[T]) Lock(name string) (unlock func()) {
	v, _ := r.ops.LoadOrStore(name, &sync.Mutex{})
	mu := v.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// Get returns the tenant of that name.
func (r *Registry[T]) Get(name string) (T, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v, ok := r.items[name]
	return v, ok
}

// Put records a tenant under its name.
func (r *Registry[T]) Put(name string, v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.items == nil {
		r.items = map[string]T{}
	}
	r.items[name] = v
}

// Delete forgets a tenant and returns it.
func (r *Registry[T]) Delete(name string) (T, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.items[name]
	delete(r.items, name)
	return v, ok
}

// Names are the tenants' names, sorted.
func (r *Registry[T]) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.items))
	for n := range r.items {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// All are the tenants, in no order.
func (r *Registry[T]) All() []T {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]T, 0, len(r.items))
	for _, v := range r.items {
		out = append(out, v)
	}
	return out
}
