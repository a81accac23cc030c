package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipway-dev/slipway"
)

// openTest opens a store in a fresh temporary directory, closed at cleanup.
func openTest(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(t.Context(), dir, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, dir
}

// seed creates resource group "rg", Linux B1 plan "plan" and site "app".
func seed(t *testing.T, s *Store) slipway.Site {
	t.Helper()
	return seedSKU(t, s, "B1")
}

// seedSKU is seed with the plan on the named SKU ("S1" for an app with
// slots: Basic has none).
func seedSKU(t *testing.T, s *Store, skuName string) slipway.Site {
	t.Helper()
	ctx := t.Context()
	if _, _, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "rg", Location: "westeurope"}); err != nil {
		t.Fatalf("PutResourceGroup: %v", err)
	}
	sku, _ := slipway.ParseSKU(skuName)
	if _, _, err := s.PutPlan(ctx, slipway.Plan{ResourceGroup: "rg", Name: "plan", Location: "westeurope", SKU: sku, Linux: true}); err != nil {
		t.Fatalf("PutPlan: %v", err)
	}
	site, _, err := s.PutSite(ctx, slipway.Site{ResourceGroup: "rg", Name: "app", Plan: "plan", Enabled: true,
		Config: slipway.SiteConfig{LinuxFxVersion: "PYTHON|3.12"}})
	if err != nil {
		t.Fatalf("PutSite: %v", err)
	}
	return site
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := slipway.ErrorCode(err); got != code {
		t.Fatalf("error code = %q, want %q (err: %v)", got, code, err)
	}
}

var ignoreTimes = cmpopts.IgnoreFields(slipway.Site{}, "Created", "Modified")

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestOpen_IdentityIsStableAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	sub, ten, err := s.Identity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !guidRE.MatchString(sub) || !guidRE.MatchString(ten) || sub == ten {
		t.Fatalf("identity = %q, %q; want two different GUIDs", sub, ten)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	sub2, ten2, err := s2.Identity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sub2 != sub || ten2 != ten {
		t.Fatalf("after reopen identity = %q, %q; want %q, %q", sub2, ten2, sub, ten)
	}
}

func TestOpen_MasterKeyFile(t *testing.T) {
	_, dir := openTest(t)
	path := filepath.Join(dir, "keys", "master.key")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != 32 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("master.key: size %d mode %v, want 32 bytes 0600", fi.Size(), fi.Mode().Perm())
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "keys", ".*tmp*"))
	if len(leftovers) > 0 {
		t.Fatalf("temporary files left behind: %v", leftovers)
	}
}

func TestOpen_RefusesCorruptKey(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keys", "master.key"), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(t.Context(), dir, nil); err == nil {
		s.Close()
		t.Fatal("Open with a 5-byte key succeeded; want an error")
	}
}

func TestMigrations_Idempotent(t *testing.T) {
	s, dir := openTest(t)
	ctx := t.Context()
	seed(t, s)
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	// Running migrate again on an up-to-date database changes nothing.
	if err := s.migrate(ctx); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != len(ms) {
		t.Fatalf("schema version = %d, %v; want %d", v, err, len(ms))
	}
	// And so does reopening.
	s2, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	if _, err := s2.Site(ctx, "rg", "app"); err != nil {
		t.Fatalf("site lost after reopen: %v", err)
	}
}

func TestOpen_RefusesNewerSchema(t *testing.T) {
	s, dir := openTest(t)
	if _, err := s.write.ExecContext(t.Context(), "PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	if s2, err := Open(t.Context(), dir, nil); err == nil {
		s2.Close()
		t.Fatal("Open of a database from a newer version succeeded; want an error")
	}
}

func TestResourceGroups(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()

	g, created, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "MyRG", Location: "westeurope", Tags: map[string]string{"env": "dev"}})
	if err != nil || !created {
		t.Fatalf("create: created=%v err=%v", created, err)
	}
	if g.Created.IsZero() {
		t.Error("Created not set")
	}
	// Update through another casing keeps the original casing.
	g2, created, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "myrg", Location: "WestEurope", Tags: map[string]string{"env": "prod"}})
	if err != nil || created {
		t.Fatalf("update: created=%v err=%v", created, err)
	}
	want := slipway.ResourceGroup{Name: "MyRG", Location: "westeurope", Tags: map[string]string{"env": "prod"}, Created: g.Created}
	if diff := cmp.Diff(want, g2); diff != "" {
		t.Errorf("update result (-want +got):\n%s", diff)
	}
	got, err := s.ResourceGroup(ctx, "MYRG")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApproxTime(time.Microsecond)); diff != "" {
		t.Errorf("get (-want +got):\n%s", diff)
	}

	t.Run("location cannot change", func(t *testing.T) {
		_, _, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "MyRG", Location: "eastus"})
		wantCode(t, err, slipway.ECONFLICT)
	})
	t.Run("invalid name", func(t *testing.T) {
		_, _, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "bad/name", Location: "eastus"})
		wantCode(t, err, slipway.EINVALID)
	})
	t.Run("missing location", func(t *testing.T) {
		_, _, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "x"})
		wantCode(t, err, slipway.EINVALID)
	})
	t.Run("not found message", func(t *testing.T) {
		_, err := s.ResourceGroup(ctx, "nope")
		wantCode(t, err, slipway.ENOTFOUND)
		if msg := slipway.ErrorMessage(err); msg != "Resource group 'nope' could not be found." {
			t.Errorf("message = %q", msg)
		}
	})

	if _, _, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "another", Location: "eastus"}); err != nil {
		t.Fatal(err)
	}
	list, err := s.ResourceGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range list {
		names = append(names, g.Name)
	}
	if diff := cmp.Diff([]string{"another", "MyRG"}, names); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}
}

func TestDeleteResourceGroup_CascadesAndReturnsSites(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	if err := s.SetSettings(ctx, "rg", "app", map[string]string{"K": "V"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateDeployment(ctx, slipway.Deployment{Site: "app"}); err != nil {
		t.Fatal(err)
	}
	sites, err := s.DeleteResourceGroup(ctx, "RG")
	if err != nil {
		t.Fatal(err)
	}
	if len(sites) != 1 || sites[0].Name != "app" {
		t.Fatalf("deleted sites = %+v, want [app]", sites)
	}
	if _, err := s.ResourceGroup(ctx, "rg"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("group still there: %v", err)
	}
	if _, err := s.FindSite(ctx, "app"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("site still there: %v", err)
	}
	if ps, err := s.Plans(ctx, ""); err != nil || len(ps) != 0 {
		t.Errorf("plans after delete = %v, %v", ps, err)
	}
	if ds, err := s.ListDeployments(ctx, "app"); err != nil || len(ds) != 0 {
		t.Errorf("deployments after delete = %v, %v", ds, err)
	}
	// The name is free again, also for settings.
	site := seed(t, s)
	if got, err := s.Settings(ctx, "rg", site.Name); err != nil || len(got) != 0 {
		t.Errorf("settings of a re-created site = %v, %v; want empty", got, err)
	}
	_, err = s.DeleteResourceGroup(ctx, "nope")
	wantCode(t, err, slipway.ENOTFOUND)
}

func TestPlans(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	sku, _ := slipway.ParseSKU("p1v3")

	_, _, err := s.PutPlan(ctx, slipway.Plan{ResourceGroup: "rg", Name: "plan", SKU: sku})
	wantCode(t, err, slipway.ENOTFOUND)

	if _, _, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "rg", Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	p, created, err := s.PutPlan(ctx, slipway.Plan{ResourceGroup: "RG", Name: "Plan", SKU: sku, Linux: true})
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	if p.Location != "westeurope" || p.ResourceGroup != "rg" {
		t.Errorf("plan = %+v; want location from the group and the group's casing", p)
	}
	b2, _ := slipway.ParseSKU("B2")
	b2.Capacity = 3
	p2, created, err := s.PutPlan(ctx, slipway.Plan{ResourceGroup: "rg", Name: "plan", SKU: b2, Linux: true})
	if err != nil || created {
		t.Fatalf("update: %v %v", created, err)
	}
	got, err := s.Plan(ctx, "rg", "PLAN")
	if err != nil {
		t.Fatal(err)
	}
	want := slipway.Plan{ResourceGroup: "rg", Name: "Plan", Location: "westeurope", SKU: slipway.SKU{Name: "B2", Tier: "Basic", Capacity: 3}, Linux: true, Tags: map[string]string{}, Created: p.Created}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("get (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, p2); diff != "" {
		t.Errorf("update result (-want +got):\n%s", diff)
	}

	t.Run("not found", func(t *testing.T) {
		_, err := s.Plan(ctx, "rg", "none")
		wantCode(t, err, slipway.ENOTFOUND)
		if msg := slipway.ErrorMessage(err); msg != "The Resource 'Microsoft.Web/serverFarms/none' under resource group 'rg' was not found." {
			t.Errorf("message = %q", msg)
		}
		_, err = s.Plan(ctx, "norg", "none")
		if msg := slipway.ErrorMessage(err); msg != "Resource group 'norg' could not be found." {
			t.Errorf("message for missing group = %q", msg)
		}
	})
	t.Run("list", func(t *testing.T) {
		if _, _, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "rg2", Location: "eastus"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.PutPlan(ctx, slipway.Plan{ResourceGroup: "rg2", Name: "plan", SKU: sku}); err != nil {
			t.Fatal(err)
		}
		all, err := s.Plans(ctx, "")
		if err != nil || len(all) != 2 {
			t.Fatalf("all plans = %d, %v; want 2", len(all), err)
		}
		one, err := s.Plans(ctx, "RG2")
		if err != nil || len(one) != 1 || one[0].ResourceGroup != "rg2" {
			t.Fatalf("plans of rg2 = %+v, %v", one, err)
		}
		_, err = s.Plans(ctx, "missing")
		wantCode(t, err, slipway.ENOTFOUND)
	})
	t.Run("delete refused while a site uses it", func(t *testing.T) {
		if _, _, err := s.PutSite(ctx, slipway.Site{ResourceGroup: "rg", Name: "app", Plan: "plan", Enabled: true}); err != nil {
			t.Fatal(err)
		}
		if n, err := s.PlanSiteCount(ctx, "rg", "plan"); err != nil || n != 1 {
			t.Fatalf("PlanSiteCount = %d, %v; want 1", n, err)
		}
		err := s.DeletePlan(ctx, "rg", "plan")
		wantCode(t, err, slipway.ECONFLICT)
		if err := s.DeleteSite(ctx, "rg", "app"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeletePlan(ctx, "rg", "PLAN"); err != nil {
			t.Fatalf("delete after the site is gone: %v", err)
		}
		wantCode(t, s.DeletePlan(ctx, "rg", "plan"), slipway.ENOTFOUND)
	})
}

func TestSites(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	site := seed(t, s)
	want := slipway.Site{ResourceGroup: "rg", Name: "app", Plan: "plan", Location: "westeurope", Enabled: true,
		Config: slipway.SiteConfig{LinuxFxVersion: "PYTHON|3.12", NumberOfWorkers: 1}, Tags: map[string]string{}}
	if diff := cmp.Diff(want, site, ignoreTimes); diff != "" {
		t.Errorf("created site (-want +got):\n%s", diff)
	}

	t.Run("get is case-insensitive", func(t *testing.T) {
		for _, tc := range []struct{ rg, name string }{{"rg", "app"}, {"RG", "APP"}, {"Rg", "App"}} {
			got, err := s.Site(ctx, tc.rg, tc.name)
			if err != nil {
				t.Fatalf("Site(%q, %q): %v", tc.rg, tc.name, err)
			}
			if diff := cmp.Diff(want, got, ignoreTimes); diff != "" {
				t.Errorf("Site(%q, %q) (-want +got):\n%s", tc.rg, tc.name, diff)
			}
		}
		got, err := s.FindSite(ctx, "APP")
		if err != nil || got.ResourceGroup != "rg" {
			t.Fatalf("FindSite = %+v, %v", got, err)
		}
	})
	t.Run("names are global", func(t *testing.T) {
		if _, _, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "other", Location: "eastus"}); err != nil {
			t.Fatal(err)
		}
		sku, _ := slipway.ParseSKU("B1")
		if _, _, err := s.PutPlan(ctx, slipway.Plan{ResourceGroup: "other", Name: "plan", SKU: sku}); err != nil {
			t.Fatal(err)
		}
		_, _, err := s.PutSite(ctx, slipway.Site{ResourceGroup: "other", Name: "APP", Plan: "plan"})
		wantCode(t, err, slipway.ECONFLICT)
		if msg := slipway.ErrorMessage(err); msg != "Website with given name APP already exists." {
			t.Errorf("message = %q", msg)
		}
		// Another group does not see it.
		_, err = s.Site(ctx, "other", "app")
		wantCode(t, err, slipway.ENOTFOUND)
		if msg := slipway.ErrorMessage(err); msg != "The Resource 'Microsoft.Web/sites/app' under resource group 'other' was not found." {
			t.Errorf("message = %q", msg)
		}
	})
	t.Run("update keeps name casing, creation time and credentials", func(t *testing.T) {
		_, pw1, err := s.PublishingCredentials(ctx, "rg", "app")
		if err != nil {
			t.Fatal(err)
		}
		upd := want
		upd.Name = "APP"
		upd.Config.AppCommandLine = "gunicorn app:app"
		upd.HTTPSOnly = true
		got, created, err := s.PutSite(ctx, upd)
		if err != nil || created {
			t.Fatalf("update: %v %v", created, err)
		}
		if got.Name != "app" || !got.Created.Equal(site.Created) || got.Config.AppCommandLine != "gunicorn app:app" || !got.HTTPSOnly {
			t.Errorf("updated site = %+v", got)
		}
		if _, pw2, _ := s.PublishingCredentials(ctx, "rg", "app"); pw2 != pw1 {
			t.Error("update changed the publishing password")
		}
	})
	t.Run("validation", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			site slipway.Site
			code string
		}{
			{"bad name", slipway.Site{ResourceGroup: "rg", Name: "-x", Plan: "plan"}, slipway.EINVALID},
			{"bad runtime", slipway.Site{ResourceGroup: "rg", Name: "ok", Plan: "plan", Config: slipway.SiteConfig{LinuxFxVersion: "NODE|20"}}, slipway.EINVALID},
			{"no group", slipway.Site{ResourceGroup: "nope", Name: "ok", Plan: "plan"}, slipway.ENOTFOUND},
			{"no plan", slipway.Site{ResourceGroup: "rg", Name: "ok", Plan: "nope"}, slipway.ENOTFOUND},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, _, err := s.PutSite(ctx, tc.site)
				wantCode(t, err, tc.code)
			})
		}
	})
	t.Run("enable", func(t *testing.T) {
		got, err := s.SetSiteEnabled(ctx, "rg", "app", false)
		if err != nil || got.Enabled {
			t.Fatalf("SetSiteEnabled = %+v, %v", got, err)
		}
		_, err = s.SetSiteEnabled(ctx, "rg", "nope", false)
		wantCode(t, err, slipway.ENOTFOUND)
	})
	t.Run("list and delete", func(t *testing.T) {
		if _, _, err := s.PutSite(ctx, slipway.Site{ResourceGroup: "other", Name: "zed", Plan: "plan", Enabled: true}); err != nil {
			t.Fatal(err)
		}
		all, err := s.Sites(ctx, "")
		if err != nil || len(all) != 2 {
			t.Fatalf("all sites = %d, %v", len(all), err)
		}
		inRG, err := s.Sites(ctx, "OTHER")
		if err != nil || len(inRG) != 1 || inRG[0].Name != "zed" {
			t.Fatalf("sites in other = %+v, %v", inRG, err)
		}
		wantCode(t, s.DeleteSite(ctx, "rg", "zed"), slipway.ENOTFOUND) // wrong group
		if err := s.DeleteSite(ctx, "other", "ZED"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.DeleteSite(ctx, "other", "zed"), slipway.ENOTFOUND)
		wantCode(t, s.DeleteSite(ctx, "nogroup", "zed"), slipway.ENOTFOUND)
	})
}

func TestSettings_RoundTripAndFullReplace(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	if err := s.SetSettings(ctx, "rg", "app", map[string]string{"A": "1", "B": "two", "EMPTY": ""}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSettings(ctx, "RG", "APP", map[string]string{"B": "2", "C": "3"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Settings(ctx, "rg", "app")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"B": "2", "C": "3"}, got); diff != "" {
		t.Errorf("settings after full replace (-want +got):\n%s", diff)
	}
	wantCode(t, s.SetSettings(ctx, "rg", "app", map[string]string{"!!": "x"}), slipway.EINVALID)
	wantCode(t, s.SetSettings(ctx, "rg", "nope", map[string]string{}), slipway.ENOTFOUND)
	_, err = s.Settings(ctx, "other", "app")
	wantCode(t, err, slipway.ENOTFOUND)
}

// TestMergeSettings: the platform's own writes (Service Connector) set and
// remove their names and leave every other setting as it is now.
func TestMergeSettings(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	if err := s.SetSettings(ctx, "rg", "app", map[string]string{"A": "1", "OLD": "x", "KEEP": "k"}); err != nil {
		t.Fatal(err)
	}
	if err := s.MergeSettings(ctx, "RG", "APP", map[string]string{"A": "2", "NEW": "n"}, []string{"OLD", "ABSENT"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Settings(ctx, "rg", "app")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"A": "2", "KEEP": "k", "NEW": "n"}, got); diff != "" {
		t.Errorf("settings after the merge (-want +got):\n%s", diff)
	}
	wantCode(t, s.MergeSettings(ctx, "rg", "app", map[string]string{"!!": "x"}, nil), slipway.EINVALID)
	wantCode(t, s.MergeSettings(ctx, "rg", "nope", nil, []string{"A"}), slipway.ENOTFOUND)
	if got, _ := s.Settings(ctx, "rg", "app"); len(got) != 3 {
		t.Errorf("a refused merge changed the settings: %v", got)
	}
}

func TestConnectionStrings(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	in := map[string]slipway.ConnectionString{
		"DB":    {Value: "postgres://u:p@h/db", Type: "postgresql"},
		"CACHE": {Value: "redis://h", Type: "RedisCache"},
	}
	if err := s.SetConnectionStrings(ctx, "rg", "app", in); err != nil {
		t.Fatal(err)
	}
	got, err := s.ConnectionStrings(ctx, "rg", "app")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]slipway.ConnectionString{
		"DB":    {Value: "postgres://u:p@h/db", Type: "PostgreSQL"},
		"CACHE": {Value: "redis://h", Type: "RedisCache"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if err := s.SetConnectionStrings(ctx, "rg", "app", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ConnectionStrings(ctx, "rg", "app"); len(got) != 0 {
		t.Errorf("after replacing with nothing: %v", got)
	}
	wantCode(t, s.SetConnectionStrings(ctx, "rg", "app", map[string]slipway.ConnectionString{"X": {Value: "v", Type: "Oracle"}}), slipway.EINVALID)
}

func TestSlotConfigNamesAndLogsConfig(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	a, c, err := s.SlotConfigNames(ctx, "rg", "app")
	if err != nil || a == nil || c == nil || len(a)+len(c) != 0 {
		t.Fatalf("initial = %v, %v, %v; want two empty non-nil slices", a, c, err)
	}
	if err := s.SetSlotConfigNames(ctx, "rg", "app", []string{"STICKY"}, []string{"DB"}); err != nil {
		t.Fatal(err)
	}
	a, c, err = s.SlotConfigNames(ctx, "rg", "app")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{{"STICKY"}, {"DB"}}, [][]string{a, c}); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// A site PUT does not clobber them.
	site, _ := s.Site(ctx, "rg", "app")
	if _, _, err := s.PutSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	if a, _, _ := s.SlotConfigNames(ctx, "rg", "app"); len(a) != 1 {
		t.Errorf("site PUT cleared slot config names: %v", a)
	}

	doc, err := s.LogsConfig(ctx, "rg", "app")
	if err != nil || doc != nil {
		t.Fatalf("initial logs config = %s, %v", doc, err)
	}
	in := []byte(`{"httpLogs":{"fileSystem":{"enabled":true}}}`)
	if err := s.SetLogsConfig(ctx, "rg", "app", in); err != nil {
		t.Fatal(err)
	}
	if doc, _ := s.LogsConfig(ctx, "rg", "app"); !bytes.Equal(doc, in) {
		t.Errorf("logs config = %s, want %s", doc, in)
	}
	wantCode(t, s.SetLogsConfig(ctx, "rg", "app", []byte(`[1]`)), slipway.EINVALID)
}

// TestUpdateLogsConfig: the update sees the stored document and its result
// is stored; an update that fails, or makes no object, stores nothing.
func TestUpdateLogsConfig(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	var seen []string
	add := func(member string) func(json.RawMessage) (json.RawMessage, error) {
		return func(old json.RawMessage) (json.RawMessage, error) {
			seen = append(seen, string(old))
			if old == nil {
				return json.RawMessage(`{` + member + `}`), nil
			}
			return json.RawMessage(strings.TrimSuffix(string(old), "}") + "," + member + "}"), nil
		}
	}
	if _, err := s.UpdateLogsConfig(ctx, "rg", "app", add(`"a":1`)); err != nil {
		t.Fatal(err)
	}
	doc, err := s.UpdateLogsConfig(ctx, "rg", "app", add(`"b":2`))
	if err != nil || string(doc) != `{"a":1,"b":2}` {
		t.Fatalf("second update = %s, %v", doc, err)
	}
	if diff := cmp.Diff([]string{"", `{"a":1}`}, seen); diff != "" {
		t.Errorf("documents the updates saw (-want +got):\n%s", diff)
	}
	boom := slipway.Errorf(slipway.EINVALID, "no")
	if _, err := s.UpdateLogsConfig(ctx, "rg", "app", func(json.RawMessage) (json.RawMessage, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("a failing update returned %v, want its error", err)
	}
	wantCode(t, func() error {
		_, err := s.UpdateLogsConfig(ctx, "rg", "app", func(json.RawMessage) (json.RawMessage, error) { return json.RawMessage(`"x"`), nil })
		return err
	}(), slipway.EINVALID)
	if doc, _ := s.LogsConfig(ctx, "rg", "app"); string(doc) != `{"a":1,"b":2}` {
		t.Errorf("after refused updates, logs config = %s", doc)
	}
	_, err = s.UpdateLogsConfig(ctx, "rg", "nope", add(`"c":3`))
	wantCode(t, err, slipway.ENOTFOUND)
}

// TestSecretsAreEncryptedAtRest reads the raw database files and checks that
// no secret value appears in them, while names do.
func TestSecretsAreEncryptedAtRest(t *testing.T) {
	s, dir := openTest(t)
	ctx := t.Context()
	seed(t, s)
	const settingValue = "sekrit-setting-value-8c1f3a"
	const connValue = "postgres://user:connstr-secret-77ab@db/x"
	if err := s.SetSettings(ctx, "rg", "app", map[string]string{"MY_SETTING_NAME": settingValue}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetConnectionStrings(ctx, "rg", "app", map[string]slipway.ConnectionString{"DB": {Value: connValue, Type: "PostgreSQL"}}); err != nil {
		t.Fatal(err)
	}
	_, pw, err := s.PublishingCredentials(ctx, "rg", "app")
	if err != nil {
		t.Fatal(err)
	}
	// A backup's container URL carries a SAS that may write the
	// container: kept sealed, shown masked.
	const sasSig = "backup-sas-sig-5d2e9b"
	if _, err := s.CreateBackup(ctx, Backup{Site: "app", Name: "bk", BlobName: "bk.zip", URLShown: "https://a.blob.core.windows.net/c?sig=***",
		URL: "https://a.blob.core.windows.net/c?sig=" + sasSig, Status: "InProgress", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if b, err := s.Backups(ctx, "app"); err != nil || len(b) != 1 || !strings.HasSuffix(b[0].URL, sasSig) {
		t.Fatalf("backups = %+v, %v; want the URL read back", b, err)
	}
	if err := s.Close(); err != nil { // checkpoint WAL into the main file
		t.Fatal(err)
	}
	var all []byte
	for _, name := range []string{"slipway.db", "slipway.db-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if !bytes.Contains(all, []byte("MY_SETTING_NAME")) {
		t.Fatal("setting name not found in the database file: the test reads the wrong file")
	}
	for _, secret := range []string{settingValue, connValue, pw, sasSig} {
		if bytes.Contains(all, []byte(secret)) {
			t.Errorf("secret %q found in clear text in the database", secret)
		}
	}
	// Reopening with the same key still reads them.
	s2, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s2.Settings(ctx, "rg", "app")
	if err != nil || got["MY_SETTING_NAME"] != settingValue {
		t.Fatalf("after reopen settings = %v, %v", got, err)
	}
	t.Cleanup(func() { s2.Close() })
}

func TestSecretsNeedTheKey(t *testing.T) {
	s, dir := openTest(t)
	ctx := t.Context()
	seed(t, s)
	if err := s.SetSettings(ctx, "rg", "app", map[string]string{"K": "V"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Replace the key: the values can no longer be read, and say so.
	if err := os.WriteFile(filepath.Join(dir, "keys", "master.key"), bytes.Repeat([]byte{7}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Settings(ctx, "rg", "app"); err == nil {
		t.Fatal("settings decrypted with the wrong key")
	}
}

func TestPublishingCredentials(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	user, pw, err := s.PublishingCredentials(ctx, "rg", "app")
	if err != nil {
		t.Fatal(err)
	}
	if user != "$app" || !regexp.MustCompile(`^[A-Za-z0-9]{60}$`).MatchString(pw) {
		t.Fatalf("credentials = %q, %q; want $app and 60 letters/digits", user, pw)
	}
	for _, tc := range []struct {
		name, site, user, pw, code string
	}{
		{"ok", "app", "$app", pw, ""},
		{"site name any case", "APP", "$APP", pw, ""},
		{"ftp style user", "app", `app\$app`, pw, ""},
		{"wrong password", "app", "$app", pw[:59] + "!", slipway.EUNAUTHORIZED},
		{"empty password", "app", "$app", "", slipway.EUNAUTHORIZED},
		{"wrong user", "app", "$other", pw, slipway.EUNAUTHORIZED},
		{"unknown site", "nope", "$nope", pw, slipway.EUNAUTHORIZED},
	} {
		t.Run(tc.name, func(t *testing.T) {
			site, err := s.CheckPublishingCredentials(ctx, tc.site, tc.user, tc.pw)
			wantCode(t, err, tc.code)
			if tc.code == "" && site.Name != "app" {
				t.Errorf("site = %+v", site)
			}
		})
	}
	newPW, err := s.ResetPublishingPassword(ctx, "rg", "app")
	if err != nil || newPW == pw {
		t.Fatalf("reset = %q, %v", newPW, err)
	}
	if _, err := s.CheckPublishingCredentials(ctx, "app", "$app", pw); slipway.ErrorCode(err) != slipway.EUNAUTHORIZED {
		t.Errorf("old password still accepted: %v", err)
	}
	if _, err := s.CheckPublishingCredentials(ctx, "app", "$app", newPW); err != nil {
		t.Errorf("new password refused: %v", err)
	}
	_, err = s.ResetPublishingPassword(ctx, "rg", "nope")
	wantCode(t, err, slipway.ENOTFOUND)
}

func TestDeployments(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)

	_, err := s.CreateDeployment(ctx, slipway.Deployment{Site: "nope"})
	wantCode(t, err, slipway.ENOTFOUND)
	_, err = s.LatestDeployment(ctx, "app")
	wantCode(t, err, slipway.ENOTFOUND)

	t0 := time.Date(2026, 11, 25, 4, 0, 0, 0, time.UTC)
	d1, err := s.CreateDeployment(ctx, slipway.Deployment{Site: "APP", Status: slipway.DeployPending, Deployer: "Push-Deployer", ReceivedTime: t0, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(d1.ID) || d1.Site != "app" || d1.ResourceGroup != "rg" || d1.Active {
		t.Fatalf("created = %+v; want a 32-hex id, canonical site and group, not active", d1)
	}
	_, err = s.CreateDeployment(ctx, slipway.Deployment{ID: d1.ID, Site: "app"})
	wantCode(t, err, slipway.ECONFLICT)

	d1.Status, d1.StatusText, d1.EndTime, d1.ArtifactDir, d1.Build = slipway.DeploySuccess, "done", t0.Add(time.Minute), "/a/1", true
	if err := s.UpdateDeployment(ctx, d1); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetDeployment(ctx, "app", d1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(d1, got); diff != "" {
		t.Errorf("after update (-want +got):\n%s", diff)
	}
	wantCode(t, s.UpdateDeployment(ctx, slipway.Deployment{ID: "missing", Site: "app"}), slipway.ENOTFOUND)

	d2, err := s.CreateDeployment(ctx, slipway.Deployment{ID: "0123456789abcdef0123456789abcdef", Site: "app", Status: slipway.DeployBuilding, ReceivedTime: t0.Add(2 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	latest, err := s.GetDeployment(ctx, "app", "latest")
	if err != nil || latest.ID != d2.ID {
		t.Fatalf("latest = %+v, %v; want %s", latest.ID, err, d2.ID)
	}
	list, err := s.ListDeployments(ctx, "app")
	if err != nil || len(list) != 2 || list[0].ID != d2.ID || list[1].ID != d1.ID {
		t.Fatalf("list = %+v, %v; want newest first", list, err)
	}

	t.Run("exactly one active", func(t *testing.T) {
		_, err := s.ActiveDeployment(ctx, "app")
		wantCode(t, err, slipway.ENOTFOUND)
		if err := s.SetActiveDeployment(ctx, "app", d1.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.SetActiveDeployment(ctx, "app", d2.ID); err != nil {
			t.Fatal(err)
		}
		a, err := s.ActiveDeployment(ctx, "app")
		if err != nil || a.ID != d2.ID || !a.Active {
			t.Fatalf("active = %+v, %v", a, err)
		}
		n := 0
		list, _ := s.ListDeployments(ctx, "app")
		for _, d := range list {
			if d.Active {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d active deployments, want 1", n)
		}
		wantCode(t, s.SetActiveDeployment(ctx, "app", "nope"), slipway.ENOTFOUND)
		if a, _ := s.ActiveDeployment(ctx, "app"); a.ID != d2.ID {
			t.Errorf("a failed SetActiveDeployment changed the active one to %s", a.ID)
		}
	})
}

func TestDeploymentLog(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	d, err := s.CreateDeployment(ctx, slipway.Deployment{Site: "app"})
	if err != nil {
		t.Fatal(err)
	}
	e1, err := s.AppendDeploymentLog(ctx, "app", d.ID, slipway.DeploymentLogEntry{Message: "Updating submodules."})
	if err != nil {
		t.Fatal(err)
	}
	e2, err := s.AppendDeploymentLog(ctx, "app", d.ID, slipway.DeploymentLogEntry{Message: "Running oryx build...", Details: "line 1\n"})
	if err != nil {
		t.Fatal(err)
	}
	for _, chunk := range []string{"line 2\n", "line 3\n"} {
		if err := s.AppendDeploymentLogDetails(ctx, "app", d.ID, e2.ID, chunk); err != nil {
			t.Fatal(err)
		}
	}
	e3, err := s.AppendDeploymentLog(ctx, "app", d.ID, slipway.DeploymentLogEntry{Message: "Build failed.", Type: slipway.LogError})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.DeploymentLog(ctx, "app", d.ID)
	if err != nil {
		t.Fatal(err)
	}
	e2.Details = "line 1\nline 2\nline 3\n"
	want := []slipway.DeploymentLogEntry{e1, e2, e3}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	wantCode(t, s.AppendDeploymentLogDetails(ctx, "app", d.ID, "no-such-entry", "x"), slipway.ENOTFOUND)
	_, err = s.AppendDeploymentLog(ctx, "app", "no-such-deployment", slipway.DeploymentLogEntry{Message: "x"})
	wantCode(t, err, slipway.ENOTFOUND)
	if got, err := s.DeploymentLog(ctx, "app", "no-such-deployment"); err != nil || len(got) != 0 {
		t.Errorf("log of unknown deployment = %v, %v; want empty", got, err)
	}
}

// TestPruneDeployments follows Kudu: keep the newest N successful
// deployments (docs/appservice.md §5 "only the last 10 successful ones are kept")
// and whatever is newer than them, never the active or an unfinished one.
func TestPruneDeployments(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	// Oldest first: S0 F1 S2(active) S3 F4 S5 S6 B7(building)
	statuses := []slipway.DeployStatus{slipway.DeploySuccess, slipway.DeployFailed, slipway.DeploySuccess, slipway.DeploySuccess,
		slipway.DeployFailed, slipway.DeploySuccess, slipway.DeploySuccess, slipway.DeployBuilding}
	var ids []string
	for i, st := range statuses {
		d, err := s.CreateDeployment(ctx, slipway.Deployment{ID: fmt.Sprintf("%032d", i), Site: "app", Status: st})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	if err := s.SetActiveDeployment(ctx, "app", ids[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendDeploymentLog(ctx, "app", ids[0], slipway.DeploymentLogEntry{Message: "x", Details: "y"}); err != nil {
		t.Fatal(err)
	}
	pruned, err := s.PruneDeployments(ctx, "app", 3)
	if err != nil {
		t.Fatal(err)
	}
	var gotPruned []string
	for _, d := range pruned {
		gotPruned = append(gotPruned, d.ID)
	}
	// Newest three successes: S6 S5 S3. Older finished ones go, except active S2.
	if diff := cmp.Diff([]string{ids[1], ids[0]}, gotPruned); diff != "" {
		t.Errorf("pruned (-want +got):\n%s", diff)
	}
	list, _ := s.ListDeployments(ctx, "app")
	var left []string
	for _, d := range list {
		left = append(left, d.ID)
	}
	if diff := cmp.Diff([]string{ids[7], ids[6], ids[5], ids[4], ids[3], ids[2]}, left); diff != "" {
		t.Errorf("left (-want +got):\n%s", diff)
	}
	if log, _ := s.DeploymentLog(ctx, "app", ids[0]); len(log) != 0 {
		t.Errorf("log of a pruned deployment survived: %v", log)
	}
	_, err = s.PruneDeployments(ctx, "app", 0)
	wantCode(t, err, slipway.EINVALID)
}

// TestConcurrentWriters hammers the store from several goroutines: with one
// writer connection and a busy timeout no write fails with SQLITE_BUSY.
func TestConcurrentWriters(t *testing.T) {
	s, dir := openTest(t)
	ctx := t.Context()
	seed(t, s)
	// A second Store on the same files (another process, in effect) competes
	// for the write lock too.
	s2, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()

	const workers, perWorker = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker*2)
	for w := range workers {
		wg.Go(func() {
			st := s
			if w%2 == 1 {
				st = s2
			}
			for i := range perWorker {
				if err := st.SetSettings(ctx, "rg", "app", map[string]string{"W": fmt.Sprint(w), "I": fmt.Sprint(i)}); err != nil {
					errs <- fmt.Errorf("worker %d SetSettings: %w", w, err)
				}
				if _, err := st.CreateDeployment(ctx, slipway.Deployment{Site: "app"}); err != nil {
					errs <- fmt.Errorf("worker %d CreateDeployment: %w", w, err)
				}
				if _, err := st.Settings(ctx, "rg", "app"); err != nil {
					errs <- fmt.Errorf("worker %d Settings: %w", w, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	list, err := s.ListDeployments(ctx, "app")
	if err != nil || len(list) != workers*perWorker {
		t.Fatalf("deployments = %d, %v; want %d", len(list), err, workers*perWorker)
	}
}

func TestContextCancelled(t *testing.T) {
	s, _ := openTest(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "rg", Location: "westeurope"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestPragmas checks the SQLite recipe: WAL, foreign keys and a busy
// timeout on the writer; the readers are read-only.
func TestPragmas(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	var mode string
	var fk, busy int
	if err := s.write.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := s.write.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		t.Fatal(err)
	}
	if err := s.write.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || fk != 1 || busy < 1000 {
		t.Errorf("journal_mode=%s foreign_keys=%d busy_timeout=%d; want wal, 1, >=1000", mode, fk, busy)
	}
	if _, err := s.read.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('x', 'y')`); err == nil {
		t.Error("a write through the reader pool succeeded; want it refused")
	}
}

// TestPutSiteWithConfig_IsAtomic: a site PUT carrying settings is stored
// whole or not at all.
func TestPutSiteWithConfig_IsAtomic(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	site := slipway.Site{ResourceGroup: "rg", Name: "second", Plan: "plan", Enabled: true}
	_, _, err := s.PutSiteWithConfig(ctx, site, map[string]string{"A": "1"}, map[string]slipway.ConnectionString{"DB": {Value: "x", Type: "Oracle"}})
	wantCode(t, err, slipway.EINVALID)
	if _, err := s.FindSite(ctx, "second"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Fatalf("site created despite the bad connection string: %v", err)
	}
	got, created, err := s.PutSiteWithConfig(ctx, site, map[string]string{"A": "1"}, map[string]slipway.ConnectionString{"DB": {Value: "x", Type: "custom"}})
	if err != nil || !created || got.Name != "second" {
		t.Fatalf("PutSiteWithConfig = %+v, %v, %v", got, created, err)
	}
	settings, _ := s.Settings(ctx, "rg", "second")
	conns, _ := s.ConnectionStrings(ctx, "rg", "second")
	if diff := cmp.Diff(map[string]string{"A": "1"}, settings); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]slipway.ConnectionString{"DB": {Value: "x", Type: "Custom"}}, conns); diff != "" {
		t.Errorf("connection strings (-want +got):\n%s", diff)
	}
	// nil maps leave both alone.
	if _, _, err := s.PutSiteWithConfig(ctx, got, nil, nil); err != nil {
		t.Fatal(err)
	}
	if settings, _ := s.Settings(ctx, "rg", "second"); len(settings) != 1 {
		t.Errorf("a PUT without settings changed them: %v", settings)
	}
	// A site in another group with the same name fails before touching settings.
	_, _, err = s.PutSiteWithConfig(ctx, slipway.Site{ResourceGroup: "rg", Name: "APP", Plan: "plan"}, map[string]string{"B": "2"}, nil)
	if err != nil {
		t.Fatalf("update of app: %v", err)
	}
}

// TestDeploymentLogLines: each line of a build's output keeps the time its
// piece arrived; a line split across pieces is one line, with the time of
// its first piece, and its entry's type.
func TestDeploymentLogLines(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	d, err := s.CreateDeployment(ctx, slipway.Deployment{Site: "app"})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return t0 }
	e, err := s.AppendDeploymentLog(ctx, "app", d.ID, slipway.DeploymentLogEntry{Message: "Running release command", Type: slipway.LogWarning})
	if err != nil {
		t.Fatal(err)
	}
	for i, piece := range []string{"Operations to perform:\n  Applying auth.0001...", " OK\n", "  Applying auth.0002... OK\n"} {
		s.now = func() time.Time { return t0.Add(time.Duration(i+1) * time.Second) }
		if err := s.AppendDeploymentLogDetails(ctx, "app", d.ID, e.ID, piece); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.DeploymentLogLines(ctx, "app", d.ID, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []slipway.DeploymentLogLine{
		{Time: t0.Add(1 * time.Second), Text: "Operations to perform:", Type: slipway.LogWarning},
		{Time: t0.Add(1 * time.Second), Text: "  Applying auth.0001... OK", Type: slipway.LogWarning},
		{Time: t0.Add(3 * time.Second), Text: "  Applying auth.0002... OK", Type: slipway.LogWarning},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}

// TestBasicAuthPolicies: Basic authentication is allowed until a policy
// of the site turns it off, per site and per policy; the setting goes with
// a deleted site, so a new site of its name starts allowed.
func TestBasicAuthPolicies(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	other, _, err := s.PutSite(ctx, slipway.Site{ResourceGroup: "rg", Name: "other", Plan: "plan", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	allowed := func(site, policy string) bool {
		t.Helper()
		ok, err := s.BasicAuthAllowed(ctx, site, policy)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !allowed("app", "scm") || !allowed("app", "ftp") {
		t.Fatal("a new site refuses Basic authentication")
	}
	for range 2 { // twice: idempotent
		if err := s.SetBasicAuthAllowed(ctx, "APP", "scm", false); err != nil {
			t.Fatal(err)
		}
	}
	if allowed("app", "scm") || !allowed("app", "ftp") || !allowed(other.Name, "scm") {
		t.Error("the scm policy of app did not stay its own")
	}
	wantCode(t, s.SetBasicAuthAllowed(ctx, "nosuch", "scm", false), slipway.ENOTFOUND)
	if err := s.SetBasicAuthAllowed(ctx, "app", "scm", true); err != nil || !allowed("app", "scm") {
		t.Errorf("allowing again: %v", err)
	}
	if err := s.SetBasicAuthAllowed(ctx, "other", "scm", false); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSite(ctx, "rg", "other"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutSite(ctx, slipway.Site{ResourceGroup: "rg", Name: "other", Plan: "plan", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if !allowed("other", "scm") {
		t.Error("a new site inherited a deleted one's policy")
	}
}
