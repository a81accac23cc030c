package deploy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-dev/slipway"
	rt "github.com/slipway-dev/slipway/internal/runtime"
)

func snap(workers, siteWorkers int, perSite bool) Snapshot {
	return Snapshot{
		Site:     slipway.Site{Name: "app", Plan: "p", Enabled: true, Config: slipway.SiteConfig{NumberOfWorkers: siteWorkers, ClientAffinity: true}},
		Plan:     slipway.Plan{Name: "p", SKU: slipway.SKU{Name: "S1", Tier: "Standard", Capacity: workers}, PerSiteScaling: perSite},
		Settings: map[string]string{"A": "1"},
	}
}

func TestInstanceCount(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Snapshot
		want int
	}{
		{"every app on every worker", snap(3, 1, false), 3},
		{"unset capacity is one", snap(0, 1, false), 1},
		{"per-site scaling: the site's count", snap(5, 2, true), 2},
		{"per-site scaling: at most the plan's workers", snap(2, 4, true), 2},
		{"per-site scaling without a site count", snap(3, 0, true), 3},
	} {
		if got := instanceCount(tc.s); got != tc.want {
			t.Errorf("%s: %d instances, want %d", tc.name, got, tc.want)
		}
	}
}

func TestHealthCheckConfig(t *testing.T) {
	s := snap(2, 1, false)
	if h := healthCheck(s, "app.localhost"); h != (rt.HealthCheck{}) {
		t.Errorf("no path: %+v, want none", h)
	}
	s.Site.Config.HealthCheckPath = "healthz"
	s.Site.HTTPSOnly = true
	s.Settings = map[string]string{"WEBSITE_HEALTHCHECK_MAXPINGFAILURES": " 3", "WEBSITE_HEALTHCHECK_MAXUNHEALTHYWORKERPERCENT": "34"}
	want := rt.HealthCheck{Path: "/healthz", Host: "app.localhost", HTTPS: true, MaxPingFailures: 3, MaxUnhealthyPercent: 34}
	if diff := cmp.Diff(want, healthCheck(s, "app.localhost")); diff != "" {
		t.Errorf("health check (-want +got):\n%s", diff)
	}
}

func TestScaleOnly(t *testing.T) {
	was := snap(1, 1, false)
	for _, tc := range []struct {
		name   string
		change func(*Snapshot)
		want   bool
	}{
		{"plan workers", func(s *Snapshot) { s.Plan.SKU.Capacity = 3 }, true},
		{"site workers", func(s *Snapshot) { s.Site.Config.NumberOfWorkers = 2 }, true},
		{"nothing", func(*Snapshot) {}, true},
		{"plan size", func(s *Snapshot) { s.Plan.SKU.Name = "S2" }, false},
		{"an app setting", func(s *Snapshot) { s.Settings = map[string]string{"A": "2"} }, false},
		{"health check path", func(s *Snapshot) { s.Site.Config.HealthCheckPath = "/h" }, false},
		{"affinity", func(s *Snapshot) { s.Site.Config.ClientAffinity = false }, false},
		{"https only", func(s *Snapshot) { s.Site.HTTPSOnly = true }, false},
	} {
		now := snap(1, 1, false)
		tc.change(&now)
		if got := scaleOnly(was, now); got != tc.want {
			t.Errorf("%s: scaleOnly = %v, want %v", tc.name, got, tc.want)
		}
	}
}
