package easyauth

// The token store (login.tokenStore.enabled) in memory, written through
// to a keeper when there is one (the store's sealed table, so that the
// tokens outlive a restart), and the login states already used; both
// bounded.

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/slipway/internal/identity"
)

type storedTokens struct {
	identity.UserTokens
	site    string
	user    string // the signed-in user (oid, else sub); "" when loaded from the keeper
	added   time.Time
	expires time.Time // the session's end and its refresh extension
}

type tokenStore struct {
	mu           sync.Mutex
	max, perSite int
	bySession    map[string]*storedTokens // site + "\x00" + session id
	countBySite  map[string]int
	countByUser  map[string]int // site + "\x00" + user
	// writes go to the keeper, in the order the store changed, from one
	// goroutine (nil: memory only); done is closed when it has ended.
	writes chan keeperWrite
	done   chan struct{}
}

// keeperWrite is one change for the keeper: a save, or a delete (t nil).
type keeperWrite struct {
	site, id string
	t        *storedTokens
}

// maxTokenSessionsPerUser bounds the sessions whose tokens one user keeps
// on one site (their own oldest go first): a user, or one access token
// posted again and again to the client-directed sign-in, cannot fill the
// site's share of the store and push the other users' tokens out.
const maxTokenSessionsPerUser = 32

// maxKeeperWrites bounds the changes waiting for the keeper; more are
// dropped (and logged): the memory store stays right, the kept one may
// miss them until the session's next change.
const maxKeeperWrites = 4096

// keep loads what keeper kept (entries that expire after now) and then
// writes every change through to it.
func (s *tokenStore) keep(keeper TokenKeeper, now time.Time, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := keeper.LoadAuthTokens(ctx, now, func(site, id string, b []byte, added, expires time.Time) {
		var t identity.UserTokens
		if json.Unmarshal(b, &t) != nil {
			return
		}
		s.put(site, id, "", t, added, expires)
	})
	if err != nil {
		return err
	}
	writes, done := make(chan keeperWrite, maxKeeperWrites), make(chan struct{})
	s.mu.Lock()
	s.writes, s.done = writes, done
	s.mu.Unlock()
	go func() {
		defer close(done)
		for w := range writes {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			var err error
			if w.t == nil {
				err = keeper.DeleteAuthTokens(ctx, w.site, w.id)
			} else if b, merr := json.Marshal(w.t.UserTokens); merr != nil {
				err = merr
			} else {
				err = keeper.SaveAuthTokens(ctx, w.site, w.id, b, w.t.added, w.t.expires)
			}
			cancel()
			if err != nil {
				log.Warn("easyauth: keeping the token store", "site", w.site, "err", err)
			}
		}
	}()
	return nil
}

// writeLocked queues a change for the keeper, if there is one.
func (s *tokenStore) writeLocked(site, id string, t *storedTokens) {
	if s.writes == nil {
		return
	}
	if t != nil {
		c := *t
		t = &c
	}
	select {
	case s.writes <- keeperWrite{site: site, id: id, t: t}:
	default: // the keeper is far behind: memory stays right
	}
}

func (s *tokenStore) close() {
	s.mu.Lock()
	w := s.writes
	s.writes = nil
	s.mu.Unlock()
	if w != nil {
		close(w)
		<-s.done
	}
}

func newTokenStore(max, perSite int) *tokenStore {
	return &tokenStore{max: max, perSite: perSite, bySession: map[string]*storedTokens{},
		countBySite: map[string]int{}, countByUser: map[string]int{}}
}

// get returns a copy of the session's tokens, or nil.
func (s *tokenStore) get(site, id string, now time.Time) *storedTokens {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.bySession[site+"\x00"+id]
	if t == nil || !now.Before(t.expires) {
		return nil
	}
	c := *t
	return &c
}

// put keeps the tokens of user's session id on site, making room by
// dropping expired entries and then the user's oldest on the site, the
// site's oldest, or the oldest of the site holding most.
func (s *tokenStore) put(site, id, user string, t identity.UserTokens, now, expires time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := site + "\x00" + id
	if old := s.bySession[key]; old != nil {
		old.UserTokens, old.expires = t, expires
		s.writeLocked(site, id, old)
		return
	}
	userKey := site + "\x00" + user
	if user != "" && s.countByUser[userKey] >= maxTokenSessionsPerUser ||
		s.countBySite[site] >= s.perSite || len(s.bySession) >= s.max {
		s.pruneLocked(now)
	}
	for user != "" && s.countByUser[userKey] >= maxTokenSessionsPerUser {
		s.dropOldestLocked(site, user)
	}
	for s.countBySite[site] >= s.perSite {
		s.dropOldestLocked(site, "")
	}
	for len(s.bySession) >= s.max {
		// The site that holds most gives room (the oldest of its
		// entries), so that one tenant's sign-ins on many sites cannot
		// push another site's users' tokens out.
		s.dropOldestLocked(s.largestSiteLocked(), "")
	}
	st := &storedTokens{UserTokens: t, site: site, user: user, added: now, expires: expires}
	s.bySession[key] = st
	s.countBySite[site]++
	if user != "" {
		s.countByUser[userKey]++
	}
	s.writeLocked(site, id, st)
}

func (s *tokenStore) remove(site, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(site + "\x00" + id)
}

func (s *tokenStore) removeLocked(key string) {
	if t := s.bySession[key]; t != nil {
		delete(s.bySession, key)
		if s.countBySite[t.site]--; s.countBySite[t.site] <= 0 {
			delete(s.countBySite, t.site)
		}
		if userKey := t.site + "\x00" + t.user; t.user != "" {
			if s.countByUser[userKey]--; s.countByUser[userKey] <= 0 {
				delete(s.countByUser, userKey)
			}
		}
		_, id, _ := strings.Cut(key, "\x00")
		s.writeLocked(t.site, id, nil)
	}
}

func (s *tokenStore) pruneLocked(now time.Time) {
	for k, t := range s.bySession {
		if !now.Before(t.expires) {
			s.removeLocked(k)
		}
	}
}

// largestSiteLocked returns the site holding most entries.
func (s *tokenStore) largestSiteLocked() string {
	var site string
	n := 0
	for k, c := range s.countBySite {
		if c > n || (c == n && k < site) {
			site, n = k, c
		}
	}
	return site
}

// dropOldestLocked removes the oldest entry of site ("" any site) and
// user ("" any user).
func (s *tokenStore) dropOldestLocked(site, user string) {
	var oldest string
	var at time.Time
	for k, t := range s.bySession {
		if (site == "" || t.site == site) && (user == "" || t.user == user) && (oldest == "" || t.added.Before(at)) {
			oldest, at = k, t.added
		}
	}
	if oldest == "" {
		return
	}
	s.removeLocked(oldest)
}

func (s *tokenStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bySession)
}

// usedStates remembers the login states already redeemed until they
// expire, so that a state (and the form_post answer that carried it)
// works once.
type usedStates struct {
	mu  sync.Mutex
	max int
	m   map[string]time.Time
}

func newUsedStates(max int) *usedStates { return &usedStates{max: max, m: map[string]time.Time{}} }

// use marks id used until expires, and reports false if it already was,
// or if the set is full of states still live (a flood: refuse rather
// than forget).
func (u *usedStates) use(id string, expires, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.m[id]; ok {
		return false
	}
	if len(u.m) >= u.max {
		for k, e := range u.m {
			if !now.Before(e) {
				delete(u.m, k)
			}
		}
		if len(u.m) >= u.max {
			return false
		}
	}
	u.m[id] = expires
	return true
}
