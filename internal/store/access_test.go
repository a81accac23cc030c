package store

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
)

// TestAccessRestrictions_Persist: a site's access restrictions are stored
// with it, survive a reopen, and reach the in-memory routing table
// compiled, without a query on the way.
func TestAccessRestrictions_Persist(t *testing.T) {
	s, dir := openTest(t)
	ctx := t.Context()
	site := seed(t, s)
	if got, _ := s.SiteRouting("app"); got.Access != nil || got.SCMAccess != nil {
		t.Fatalf("a site without rules has routing rules: %+v", got)
	}
	want := slipway.AccessRestrictions{
		Main: []slipway.IPRestriction{
			{IPAddress: "203.0.113.0/24", Action: slipway.AccessAllow, Priority: 200, Name: "office", Description: "the office"},
			{IPAddress: "203.0.113.66/32", Action: slipway.AccessDeny, Priority: 100, Name: "one"},
		},
		SCM:        []slipway.IPRestriction{{IPAddress: "2001:db8::/32", Action: slipway.AccessAllow, Priority: 1}},
		SCMDefault: slipway.AccessDeny,
	}
	site.Access = want
	if _, _, err := s.PutSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	got, err := s.Site(ctx, "rg", "app")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got.Access); diff != "" {
		t.Errorf("stored restrictions (-want +got):\n%s", diff)
	}

	check := func(s *Store) {
		t.Helper()
		before := s.Queries()
		r, ok := s.SiteRouting("APP")
		if !ok {
			t.Fatal("no routing for app")
		}
		for addr, want := range map[string]bool{"203.0.113.7": true, "203.0.113.66": false, "192.0.2.1": false} {
			if got := r.Access.Allows(netip.MustParseAddr(addr)); got != want {
				t.Errorf("app: Allows(%s) = %v, want %v", addr, got, want)
			}
		}
		for addr, want := range map[string]bool{"2001:db8::1": true, "203.0.113.7": false} {
			if got := r.SCMAccess.Allows(netip.MustParseAddr(addr)); got != want {
				t.Errorf("Kudu: Allows(%s) = %v, want %v", addr, got, want)
			}
		}
		if n := s.Queries() - before; n != 0 {
			t.Errorf("SiteRouting ran %d statements", n)
		}
	}
	check(s)

	// Reopened, the table is rebuilt from the database.
	s.Close()
	s2, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	check(s2)
	got, err = s2.Site(ctx, "rg", "app")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got.Access); diff != "" {
		t.Errorf("restrictions after reopen (-want +got):\n%s", diff)
	}

	// Kudu on the main rules.
	got.Access.SCMUseMain = true
	if _, _, err := s2.PutSite(ctx, got); err != nil {
		t.Fatal(err)
	}
	if r, _ := s2.SiteRouting("app"); r.SCMAccess != r.Access {
		t.Error("scmIpSecurityRestrictionsUseMain: Kudu does not take the main rules")
	}

	// Rules the domain refuses are not stored.
	got.Access.Main = []slipway.IPRestriction{{IPAddress: "not-an-address", Action: slipway.AccessAllow}}
	if _, _, err := s2.PutSite(ctx, got); slipway.ErrorCode(err) != slipway.EINVALID {
		t.Errorf("PutSite with a bad rule: %v, want EINVALID", err)
	}
}

// TestAccessRestrictions_Migration: a site row written without the columns
// of migration 0017 (as every site before it) has no restrictions.
func TestAccessRestrictions_Migration(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	if _, err := s.write.ExecContext(ctx, `INSERT INTO sites (name, resource_group, plan, plan_resource_group, location, linux_fx_version,
		app_command_line, health_check_path, always_on, client_affinity, number_of_workers, https_only, enabled, tags,
		created, modified, publishing_user, publishing_password)
		VALUES ('old', 'rg', 'plan', 'rg', 'westeurope', '', '', '', 0, 1, 1, 0, 1, '{}', 0, 0, '$old', X'00')`); err != nil {
		t.Fatal(err)
	}
	got, err := s.Site(ctx, "rg", "old")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Access.Equal(slipway.AccessRestrictions{}) {
		t.Errorf("restrictions of a site from before 0017: %+v", got.Access)
	}
	if err := s.loadSiteIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if r, ok := s.SiteRouting("old"); !ok || r.Access != nil || r.SCMAccess != nil {
		t.Errorf("routing of a site from before 0017: %+v, %v", r, ok)
	}
}

// TestAccessRestrictions_FailClosed: rules the routing table cannot read
// refuse every address rather than none.
func TestAccessRestrictions_FailClosed(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	if _, err := s.write.ExecContext(ctx, `UPDATE sites SET ip_security_restrictions = '{not json' WHERE name = 'app'`); err != nil {
		t.Fatal(err)
	}
	if err := s.loadSiteIndex(ctx); err != nil {
		t.Fatal(err)
	}
	r, ok := s.SiteRouting("app")
	if !ok || r.Access.Allows(netip.MustParseAddr("127.0.0.1")) || r.SCMAccess.Allows(netip.MustParseAddr("127.0.0.1")) {
		t.Errorf("unreadable rules: routing %+v, %v; want every address refused", r, ok)
	}
}
