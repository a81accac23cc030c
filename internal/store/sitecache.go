package store

// The in-memory site table: what the front door needs of every site to
// route a request (does it exist, is it stopped, HTTPS only, its minimum
// TLS versions, client affinity, its access restrictions and CORS
// compiled, its authentication settings), kept beside the database so that a request to an app does no
// database I/O (issue 13: the lookup of the whole site row cost about
// 150 µs and a third of the front door's CPU).
//
// The table is rebuilt whole from the database after every committed
// change to a site row (sitesChanged) and published atomically; readers
// load it without a lock. Rebuilds are serialized and each starts after
// its own change committed, so the last one published has seen every
// committed change: a reader is never left with a state older than the
// last write that returned. Sites are few (hundreds at most on a server),
// so a rebuild is one small query.

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/slipway-dev/slipway"
)

// SiteRouting is what a request to a site's names needs to know of it.
type SiteRouting struct {
	Name      string // as stored (casing of the first PUT)
	HTTPSOnly bool
	Enabled   bool // false after webapp stop
	// MinTLSVersion and SCMMinTLSVersion are siteConfig's minTlsVersion and
	// scmMinTlsVersion ("" = the listener's).
	MinTLSVersion, SCMMinTLSVersion string
	ClientAffinity                  bool   // clientAffinityEnabled
	HTTP20Off                       bool   // siteConfig http20Enabled false
	WebSocketsOff                   bool   // siteConfig webSocketsEnabled false
	MinTLSCipherSuite               string // siteConfig minTlsCipherSuite ("" = the listener's)
	// Access and SCMAccess are the access restrictions of the app's names
	// and of its Kudu's, ready to evaluate (nil: every address passes).
	Access, SCMAccess *slipway.AccessRules
	// CORS is the site's platform CORS, ready to evaluate (nil: none).
	CORS *slipway.CORSPolicy
	// Auth is the site's App Service authentication (config/authsettingsV2)
	// when its platform is enabled; nil when authentication is off (never
	// configured, or platform.enabled false). Shared: never modify it.
	Auth *slipway.AuthSettings
}

// SiteRouting returns the routing facts of the site with the given name
// (case-insensitive). It reads the in-memory table and never the database.
func (s *Store) SiteRouting(name string) (SiteRouting, bool) {
	p := s.sites.m.Load()
	if p == nil {
		return SiteRouting{}, false
	}
	r, ok := (*p)[name]
	if !ok {
		r, ok = (*p)[strings.ToLower(name)]
	}
	return r, ok
}

// siteIndex is the in-memory site table by lower-case name.
type siteIndex struct {
	mu sync.Mutex // serializes rebuilds
	m  atomic.Pointer[map[string]SiteRouting]
}

// loadSiteIndex rebuilds the table from the database.
func (s *Store) loadSiteIndex(ctx context.Context) error {
	s.sites.mu.Lock()
	defer s.sites.mu.Unlock()
	m := map[string]SiteRouting{}
	err := eachRow(ctx, s.read, "loading the site table", func(row rowScanner) error {
		var r SiteRouting
		var ac accessColumns
		var http2, webSockets bool
		var cors, auth string
		var created int64
		if err := row.Scan(&r.Name, &r.HTTPSOnly, &r.Enabled, &r.MinTLSVersion, &r.SCMMinTLSVersion, &r.ClientAffinity,
			&ac.main, &ac.scm, &ac.useMain, &ac.mainDefault, &ac.scmDefault, &http2, &cors, &webSockets, &r.MinTLSCipherSuite, &auth, &created); err != nil {
			return err
		}
		if a, _, err := decodeAuthSettings(auth); err != nil {
			// Settings that cannot be read fail closed: every request
			// needs a signed-in user (and none can sign in) until they
			// are written again.
			s.logger.Error("reading the authentication settings of a site; refusing every request", "site", r.Name, "err", err)
			r.Auth = authFailClosed()
		} else if a.AuthOn() {
			// The site's creation time (nanoseconds) tells it from a
			// deleted site of the same name.
			a.Instance = strconv.FormatInt(created, 36)
			r.Auth = &a
		}
		c, err := decodeCORS(cors)
		if err == nil {
			r.CORS, err = c.Compile()
		}
		if err != nil {
			// A CORS configuration that cannot be read allows no origin
			// (and still keeps the app's own CORS headers out) until it
			// is written again.
			s.logger.Error("reading the CORS configuration of a site; allowing no origin", "site", r.Name, "err", err)
			r.CORS = slipway.DenyAllCORS()
		}
		r.HTTP20Off, r.WebSocketsOff = !http2, !webSockets
		a, err := ac.restrictions()
		if err == nil {
			r.Access, r.SCMAccess, err = a.Compile()
		}
		if err != nil {
			// Rules that cannot be read fail closed: the site refuses
			// every address until they are written again.
			s.logger.Error("reading the access restrictions of a site; refusing every address", "site", r.Name, "err", err)
			r.Access, r.SCMAccess = slipway.DenyAllRules(), slipway.DenyAllRules()
		}
		m[strings.ToLower(r.Name)] = r
		return nil
	}, `SELECT name, https_only, enabled, min_tls_version, scm_min_tls_version, client_affinity,
		ip_security_restrictions, scm_ip_security_restrictions, scm_ip_security_restrictions_use_main,
		ip_security_restrictions_default_action, scm_ip_security_restrictions_default_action, http20_enabled, cors,
		web_sockets_enabled, min_tls_cipher_suite, auth_settings, created FROM sites`)
	if err != nil {
		return err
	}
	s.sites.m.Store(&m)
	return nil
}

// authFailClosed are the settings a site whose stored settings cannot be
// read runs with: authentication on, every request refused with 401.
func authFailClosed() *slipway.AuthSettings {
	a := &slipway.AuthSettings{}
	a.Platform.Enabled = true
	a.GlobalValidation.RequireAuthentication = true
	a.GlobalValidation.UnauthenticatedClientAction = slipway.AuthReturn401
	return a
}

// sitesChanged rebuilds the in-memory tables drawn from the sites table
// (this one and the slot routing) after a committed change. A rebuild that
// fails is retried twice, then logged; the next change retries again.
func (s *Store) sitesChanged(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	var err error
	for range 3 {
		if err = s.loadSiteIndex(ctx); err == nil {
			break
		}
	}
	if err != nil {
		s.logger.Error("reloading the site table", "err", err)
	}
	s.reloadRoutes(ctx)
}
