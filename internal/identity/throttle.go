package identity

import (
	"strings"
	"sync"
	"time"
)

// throttle counts failed sign-ins per user name and per client address and
// locks a key out once it reaches its threshold, as Entra ID's smart
// lockout does (https://learn.microsoft.com/entra/identity/authentication/howto-password-smart-lockout).
// Its memory is bounded: at most maxThrottleKeys keys, the stalest dropped
// first when full.
type throttle struct {
	mu        sync.Mutex
	threshold int
	lockFor   time.Duration
	keys      map[string]*failures
}

type failures struct {
	count       int
	last        time.Time
	lockedUntil time.Time
}

const maxThrottleKeys = 20000

func newThrottle(threshold int, lockFor time.Duration) *throttle {
	return &throttle{threshold: threshold, lockFor: lockFor, keys: map[string]*failures{}}
}

func userKey(upn string) string  { return "u:" + strings.ToLower(upn) }
func addrKey(addr string) string { return "a:" + addr }

func (t *throttle) limit(key string) int {
	if strings.HasPrefix(key, "a:") {
		return 5 * t.threshold
	}
	return t.threshold
}

// locked reports whether any of the keys is locked out now.
func (t *throttle) locked(now time.Time, keys ...string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		if f, ok := t.keys[k]; ok && now.Before(f.lockedUntil) {
			return true
		}
	}
	return false
}

// fail records a failed sign-in against every key.
func (t *throttle) fail(now time.Time, keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		f, ok := t.keys[k]
		if !ok {
			if len(t.keys) >= maxThrottleKeys {
				t.evict(now)
			}
			f = &failures{}
			t.keys[k] = f
		}
		if now.Sub(f.last) > 10*t.lockFor {
			f.count = 0 // failures long ago are forgiven
		}
		f.count++
		f.last = now
		if f.count >= t.limit(k) {
			f.lockedUntil = now.Add(t.lockFor)
			f.count = 0
		}
	}
}

// succeed forgets the user's failures.
func (t *throttle) succeed(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.keys, key)
}

// evict drops keys that are neither locked nor recent, or else the stalest.
func (t *throttle) evict(now time.Time) {
	var stalest string
	var at time.Time
	for k, f := range t.keys {
		if now.After(f.lockedUntil) && now.Sub(f.last) > 10*t.lockFor {
			delete(t.keys, k)
			continue
		}
		if stalest == "" || f.last.Before(at) {
			stalest, at = k, f.last
		}
	}
	if len(t.keys) >= maxThrottleKeys {
		delete(t.keys, stalest)
	}
}
