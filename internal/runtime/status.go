package runtime

import (
	"sort"
	"sync"
	"time"
)

// RuntimeStatus is one instance's runtime status as App Service reports it
// for Linux apps (ARM's sites/siteStatus, read by `az webapp troubleshoot
// status|config`; docs/appservice.md §10): its state and the last error that
// failed a start of it or ended it, which stays after it recovers (az shows
// it only while recent).
type RuntimeStatus struct {
	InstanceID string
	Machine    string
	// State is "Started", "Starting", "Restarting", "Unhealthy", "Failed"
	// (its last start failed and nothing of the site runs) or "Stopped".
	State   string
	Details string
	// LastError is a short title of the last error, LastErrorDetails what
	// the platform said of it; both empty when there has been none.
	LastError        string
	LastErrorDetails string
	LastErrorAt      time.Time
}

// statusBook keeps each role's last error across rolls, as the instance
// ids are: a failed start of a new version names the instance that keeps
// serving the previous one.
type statusBook struct {
	mu      sync.Mutex
	roles   map[int]roleStatus
	count   int  // instances of the site's last release or scale
	stopped bool // the site was stopped (Runtime.Stop) since its last start
}

// begin records an instance as it starts, and how many the site now runs.
func (b *statusBook) begin(in *instance, count int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.roles == nil {
		b.roles = make(map[int]roleStatus)
	}
	rs := b.roles[in.Role]
	rs.id, rs.machine = in.ID, in.Machine
	b.roles[in.Role] = rs
	b.count, b.stopped = count, false
}

type roleStatus struct {
	id, machine     string
	lastError, more string
	at              time.Time
	failedStart     bool // the last start of this role failed
}

// failed records an error of the instance: title is short, details says
// what happened. start tells a failed start from a crash of a running one.
func (b *statusBook) failed(in *instance, start bool, title, details string) {
	if in.stopping.Load() {
		return // stopped on purpose, not failed
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.roles == nil {
		b.roles = make(map[int]roleStatus)
	}
	b.roles[in.Role] = roleStatus{id: in.ID, machine: in.Machine, lastError: title, more: details, at: time.Now().UTC(), failedStart: start}
}

// stop records that the site was stopped.
func (b *statusBook) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = true
}

// resize records that the site now runs n instances (a scale in).
func (b *statusBook) resize(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.count = n
}

// started records that the instance's start succeeded; its last error
// stays.
func (b *statusBook) started(in *instance) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if rs, ok := b.roles[in.Role]; ok {
		rs.failedStart = false
		b.roles[in.Role] = rs
	}
}

// SiteStatus returns the runtime status of the site's instances: those it
// runs now and, when it runs none, those whose last start failed.
func (r *Runtime) SiteStatus(name string) []RuntimeStatus {
	s := r.lookup(name)
	if s == nil {
		return nil
	}
	s.status.mu.Lock()
	stopped := s.status.stopped
	book := make(map[int]roleStatus, len(s.status.roles))
	for k, v := range s.status.roles {
		if k < s.status.count {
			book[k] = v
		}
	}
	s.status.mu.Unlock()
	var out []RuntimeStatus
	withError := func(st RuntimeStatus, rs roleStatus, ok bool) RuntimeStatus {
		if ok && !rs.at.IsZero() {
			st.LastError, st.LastErrorDetails, st.LastErrorAt = rs.lastError, rs.more, rs.at
		}
		return st
	}
	if cur := r.Instances(name); len(cur) > 0 {
		for _, in := range cur {
			st := RuntimeStatus{InstanceID: in.ID, Machine: in.Machine}
			switch in.State {
			case StateReady:
				st.State, st.Details = "Started", "The instance is running and serving requests."
			case StateStarting:
				st.State, st.Details = "Starting", "The instance is starting: it has not answered its warm-up request yet."
			case StateRestarting:
				st.State, st.Details = "Restarting", "The instance's process exited; it is being started again."
			case StateUnhealthy:
				st.State, st.Details = "Unhealthy", "The instance fails its health check; it still serves requests."
			case StateRemoved:
				st.State, st.Details = "Unhealthy", "The instance fails its health check and was taken out of the load balancer."
			}
			rs, ok := book[in.Role]
			out = append(out, withError(st, rs, ok))
		}
		return out
	}
	roles := make([]int, 0, len(book))
	for role := range book {
		roles = append(roles, role)
	}
	sort.Ints(roles)
	for _, role := range roles {
		rs := book[role]
		st := RuntimeStatus{InstanceID: rs.id, Machine: rs.machine, State: "Stopped", Details: "The site is stopped or runs no version."}
		if rs.failedStart && !stopped {
			st.State, st.Details = "Failed", "The instance's last start failed, and the site runs no version."
		}
		out = append(out, withError(st, rs, true))
	}
	return out
}
