package store

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
)

// TestSiteRouting_FollowsEveryChange: the in-memory table answers what the
// database holds after each kind of write, and answering reads nothing.
func TestSiteRouting_FollowsEveryChange(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	seedSKU(t, s, "S1")
	want := SiteRouting{Name: "app", Enabled: true}
	check := func(step string, want SiteRouting, exists bool) {
		t.Helper()
		before := s.Queries()
		for _, name := range []string{"app", "APP", "App"} {
			got, ok := s.SiteRouting(name)
			if ok != exists || (exists && !cmp.Equal(got, want)) {
				t.Fatalf("%s: SiteRouting(%q) = %+v, %v; want %+v, %v", step, name, got, ok, want, exists)
			}
		}
		if n := s.Queries() - before; n != 0 {
			t.Fatalf("%s: SiteRouting ran %d statements", step, n)
		}
	}
	check("created", want, true)

	site, err := s.FindSite(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	site.HTTPSOnly = true
	site.Config.MinTLSVersion, site.Config.SCMMinTLSVersion, site.Config.ClientAffinity = "1.2", "1.3", true
	site.Config.HTTP20Off = true
	if _, _, err := s.PutSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	want = SiteRouting{Name: "app", Enabled: true, HTTPSOnly: true, MinTLSVersion: "1.2", SCMMinTLSVersion: "1.3", ClientAffinity: true, HTTP20Off: true}
	check("updated", want, true)
	if back, err := s.FindSite(ctx, "app"); err != nil || !back.Config.HTTP20Off {
		t.Fatalf("the site read back: HTTP20Off=%v, %v", back.Config.HTTP20Off, err)
	}

	if _, err := s.SetSiteEnabled(ctx, "rg", "app", false); err != nil {
		t.Fatal(err)
	}
	want.Enabled = false
	check("stopped", want, true)

	sl := seedSlot(t, s)
	if got, ok := s.SiteRouting(sl.Name); !ok || !got.Enabled {
		t.Fatalf("slot: SiteRouting = %+v, %v", got, ok)
	}

	// A store opened again loads the table from the database.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got, ok := s2.SiteRouting("app"); !ok || !cmp.Equal(got, want) {
		t.Fatalf("reopened: SiteRouting = %+v, %v; want %+v", got, ok, want)
	}

	if err := s2.DeleteSite(ctx, "rg", "app-staging"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s2.SiteRouting("app-staging"); ok {
		t.Fatal("a deleted slot still routes")
	}
	if err := s2.DeleteSite(ctx, "rg", "app"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s2.SiteRouting("app"); ok {
		t.Fatal("a deleted site still routes")
	}
}

// TestSiteRouting_GroupDeletesDropTheirSites: both ways of deleting a
// resource group take its sites out of the table, with their host names.
func TestSiteRouting_GroupDeletesDropTheirSites(t *testing.T) {
	for _, withStorage := range []bool{false, true} {
		t.Run(fmt.Sprint("withStorage=", withStorage), func(t *testing.T) {
			s, _ := openTest(t)
			ctx := t.Context()
			seed(t, s)
			if _, _, err := s.AddHostNameBinding(ctx, slipway.HostNameBinding{ResourceGroup: "rg", Site: "app", HostName: "www.contoso.com"}); err != nil {
				t.Fatal(err)
			}
			if _, ok := s.SiteForHostName("www.contoso.com"); !ok {
				t.Fatal("binding not indexed")
			}
			var err error
			if withStorage {
				_, _, err = s.DeleteResourceGroupWithStorage(ctx, "rg")
			} else {
				_, err = s.DeleteResourceGroup(ctx, "rg")
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := s.SiteRouting("app"); ok {
				t.Fatal("a site of a deleted group still routes")
			}
			if _, ok := s.SiteForHostName("www.contoso.com"); ok {
				t.Fatal("a host name of a deleted group's site still routes")
			}
		})
	}
}

// TestSiteRouting_ConcurrentWritersLeaveTheLastState: however writers
// interleave, once they have returned the table holds what the database
// holds (rebuilds are serialized and start after their commit).
func TestSiteRouting_ConcurrentWritersLeaveTheLastState(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	const writers, rounds = 8, 10
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() { // readers race the rebuilds (go test -race)
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			default:
				s.SiteRouting("app")
			}
		}
	}()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				if _, err := s.SetSiteEnabled(ctx, "rg", "app", (w+i)%2 == 0); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	site, err := s.FindSite(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.SiteRouting("app"); got.Enabled != site.Enabled {
		t.Fatalf("table says enabled=%v, database %v", got.Enabled, site.Enabled)
	}
}

// TestQueries_CountsStatements: the counter the no-I/O tests rely on moves
// for reads, writes and transactions.
func TestQueries_CountsStatements(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	for _, tc := range []struct {
		name string
		do   func() error
	}{
		{"read", func() error { _, err := s.FindSite(ctx, "app"); return err }},
		{"write", func() error { _, err := s.ResetPublishingPassword(ctx, "rg", "app"); return err }},
		{"transaction", func() error { _, err := s.SetSiteEnabled(ctx, "rg", "app", true); return err }},
	} {
		before := s.Queries()
		if err := tc.do(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if s.Queries() == before {
			t.Errorf("%s: Queries did not move", tc.name)
		}
	}
}
