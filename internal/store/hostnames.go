package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/slipway-dev/slipway"
)

// CustomDomainVerificationID returns the subscription's domain verification
// ID (customDomainVerificationId): 64 upper-case hex digits, made once by
// migration 0005, that a custom domain's TXT record asuid.<name> must hold.
func (s *Store) CustomDomainVerificationID(ctx context.Context) (string, error) {
	var id string
	err := s.read.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'custom_domain_verification_id'`).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("reading the domain verification ID: %w", err)
	}
	return id, nil
}

// errHostNameNotFound is App Service's answer for a binding that does not exist.
func errHostNameNotFound(site, host string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "The host name binding '%s' of site '%s' was not found.", host, site)
}

// AddHostNameBinding binds b.HostName (lower-cased, trailing dot removed)
// to the site b.Site in b.ResourceGroup, or updates the record type of the
// site's existing binding. A name bound to another site is ECONFLICT with
// App Service's message. A new binding's SSL state is "Disabled"; an
// existing one keeps its certificate. It returns the stored binding and
// whether it was created.
func (s *Store) AddHostNameBinding(ctx context.Context, b slipway.HostNameBinding) (slipway.HostNameBinding, bool, error) {
	b.HostName = strings.ToLower(strings.TrimSuffix(b.HostName, "."))
	if b.HostName == "" {
		return slipway.HostNameBinding{}, false, slipway.Errorf(slipway.EINVALID, "The host name is empty.")
	}
	if b.RecordType == "" {
		b.RecordType = "CName"
	}
	var out slipway.HostNameBinding
	var created bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		site, err := scanSite(tx.QueryRowContext(ctx, siteSelect+` WHERE name = ? AND resource_group = ?`, b.Site, b.ResourceGroup))
		if errors.Is(err, sql.ErrNoRows) {
			return errSiteNotFound(b.ResourceGroup, b.Site)
		} else if err != nil {
			return fmt.Errorf("reading site %s: %w", b.Site, err)
		}
		old, err := scanBinding(tx.QueryRowContext(ctx, bindingSelect+` WHERE b.host_name = ?`, b.HostName))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			created = true
			if _, err := tx.ExecContext(ctx, `INSERT INTO host_name_bindings (host_name, site, record_type, created) VALUES (?, ?, ?, ?)`,
				b.HostName, site.Name, b.RecordType, toUnix(s.now())); err != nil {
				return fmt.Errorf("adding host name %s: %w", b.HostName, err)
			}
		case err != nil:
			return fmt.Errorf("reading host name %s: %w", b.HostName, err)
		case !strings.EqualFold(old.Site, site.Name):
			// ⚠ App Service's exact wording for this conflict was not found
			// in its documentation; this follows its "Hostname ... already
			// exists" family of messages and names no other tenant's site.
			return slipway.Errorf(slipway.ECONFLICT, "Hostname '%s' already exists: it is bound to another app. Delete it from that app first (az webapp config hostname delete).", b.HostName)
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE host_name_bindings SET record_type = ? WHERE host_name = ?`, b.RecordType, b.HostName); err != nil {
				return fmt.Errorf("updating host name %s: %w", b.HostName, err)
			}
		}
		out, err = scanBinding(tx.QueryRowContext(ctx, bindingSelect+` WHERE b.host_name = ?`, b.HostName))
		return err
	})
	if err != nil {
		return slipway.HostNameBinding{}, false, err
	}
	s.hosts.update(func(m map[string]string) { m[out.HostName] = strings.ToLower(out.Site) })
	return out, created, nil
}

// HostNameBinding returns the site's binding of host.
func (s *Store) HostNameBinding(ctx context.Context, rg, site, host string) (slipway.HostNameBinding, error) {
	if _, err := s.Site(ctx, rg, site); err != nil {
		return slipway.HostNameBinding{}, err
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	b, err := scanBinding(s.read.QueryRowContext(ctx, bindingSelect+` WHERE b.host_name = ? AND b.site = ?`, host, site))
	if errors.Is(err, sql.ErrNoRows) {
		return slipway.HostNameBinding{}, errHostNameNotFound(site, host)
	}
	if err != nil {
		return slipway.HostNameBinding{}, fmt.Errorf("reading host name %s: %w", host, err)
	}
	return b, nil
}

// HostNameBindings returns the site's bindings, by host name.
func (s *Store) HostNameBindings(ctx context.Context, rg, site string) ([]slipway.HostNameBinding, error) {
	if _, err := s.Site(ctx, rg, site); err != nil {
		return nil, err
	}
	return listRows(ctx, s.read, "listing host names of "+site, scanBinding, bindingSelect+` WHERE b.site = ? ORDER BY b.host_name`, site)
}

// DeleteHostNameBinding removes the site's binding of host; ENOTFOUND when
// the site has none.
func (s *Store) DeleteHostNameBinding(ctx context.Context, rg, site, host string) error {
	if _, err := s.Site(ctx, rg, site); err != nil {
		return err
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	res, err := s.write.ExecContext(ctx, `DELETE FROM host_name_bindings WHERE host_name = ? AND site = ?`, host, site)
	if err != nil {
		return fmt.Errorf("deleting host name %s: %w", host, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("deleting host name %s: %w", host, err)
	} else if n == 0 {
		return errHostNameNotFound(site, host)
	}
	s.hosts.update(func(m map[string]string) { delete(m, host) })
	return nil
}

// SetHostNameSSL records the certificate state of the site's binding of
// host: state "Disabled" with an empty thumbprint, or "SniEnabled" /
// "IpBasedEnabled" with the certificate's thumbprint. The certificate
// itself is not this method's business.
func (s *Store) SetHostNameSSL(ctx context.Context, rg, site, host, state, thumbprint string) (slipway.HostNameBinding, error) {
	switch {
	case state == slipway.SSLDisabled && thumbprint == "":
	case (state == slipway.SSLSniEnabled || state == slipway.SSLIPBasedEnabled) && thumbprint != "":
	default:
		return slipway.HostNameBinding{}, slipway.Errorf(slipway.EINVALID,
			"SSL state '%s' with thumbprint '%s' is invalid: use Disabled without a thumbprint, or SniEnabled or IpBasedEnabled with one.", state, thumbprint)
	}
	b, err := s.HostNameBinding(ctx, rg, site, host)
	if err != nil {
		return slipway.HostNameBinding{}, err
	}
	if _, err := s.write.ExecContext(ctx, `UPDATE host_name_bindings SET ssl_state = ?, thumbprint = ? WHERE host_name = ? AND site = ?`,
		state, thumbprint, b.HostName, b.Site); err != nil {
		return slipway.HostNameBinding{}, fmt.Errorf("updating host name %s: %w", b.HostName, err)
	}
	b.SSLState, b.Thumbprint = state, thumbprint
	return b, nil
}

// SiteForHostName returns the site a request for host (lower case, no port
// or trailing dot) goes to: the site bound to exactly that name, else the
// one bound to the wildcard one label up ("*.contoso.com" for
// "www.contoso.com"). It reads an in-memory index, never the database, so
// the front door can call it on every request.
func (s *Store) SiteForHostName(host string) (string, bool) {
	m := s.hosts.load()
	if site, ok := m[host]; ok {
		return site, true
	}
	if _, parent, ok := strings.Cut(host, "."); ok && strings.Contains(parent, ".") {
		site, ok := m["*."+parent]
		return site, ok
	}
	return "", false
}

// HostNameOwner returns the site bound to exactly host (lower case), from
// the in-memory index: no wildcard matching.
func (s *Store) HostNameOwner(host string) (string, bool) {
	site, ok := s.hosts.load()[host]
	return site, ok
}

// hostIndex maps bound host names to their sites' names (both lower case),
// copied on write: readers load the map without a lock, writers (few: a
// binding added or deleted, a site or group deleted) replace it. It is
// loaded when the store opens and kept in step by the methods that change
// bindings, after their transaction commits.
type hostIndex struct {
	mu sync.Mutex // serializes writers
	m  atomic.Pointer[map[string]string]
}

func (x *hostIndex) load() map[string]string {
	if p := x.m.Load(); p != nil {
		return *p
	}
	return nil
}

// update applies fn to a copy of the index and publishes the copy.
func (x *hostIndex) update(fn func(m map[string]string)) {
	x.mu.Lock()
	defer x.mu.Unlock()
	m := maps.Clone(x.load())
	if m == nil {
		m = map[string]string{}
	}
	fn(m)
	x.m.Store(&m)
}

// dropSites removes the bindings of the named sites from the index (their
// rows went with them: ON DELETE CASCADE).
func (x *hostIndex) dropSites(names ...string) {
	x.update(func(m map[string]string) {
		for host, site := range m {
			for _, n := range names {
				if strings.EqualFold(site, n) {
					delete(m, host)
				}
			}
		}
	})
}

// loadHostIndex reads every binding into the index (at Open).
func (s *Store) loadHostIndex(ctx context.Context) error {
	m := map[string]string{}
	err := eachRow(ctx, s.read, "loading host names", func(r rowScanner) error {
		var host, site string
		if err := r.Scan(&host, &site); err != nil {
			return err
		}
		m[strings.ToLower(host)] = strings.ToLower(site)
		return nil
	}, `SELECT host_name, site FROM host_name_bindings`)
	if err != nil {
		return err
	}
	s.hosts.update(func(dst map[string]string) { maps.Copy(dst, m) })
	return nil
}

const bindingSelect = `SELECT s.resource_group, b.site, b.host_name, b.record_type, b.ssl_state, b.thumbprint, b.created
	FROM host_name_bindings b JOIN sites s ON s.name = b.site`

func scanBinding(r rowScanner) (slipway.HostNameBinding, error) {
	var b slipway.HostNameBinding
	var created int64
	if err := r.Scan(&b.ResourceGroup, &b.Site, &b.HostName, &b.RecordType, &b.SSLState, &b.Thumbprint, &created); err != nil {
		return slipway.HostNameBinding{}, err
	}
	b.Created = fromUnix(created)
	return b, nil
}
