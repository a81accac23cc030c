package deploy

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/applog"
	"github.com/slipway-dev/slipway/internal/keyvault"
	"github.com/slipway-dev/slipway/internal/kvref"
	rt "github.com/slipway-dev/slipway/internal/runtime"
)

// siteStore holds one site with settings, and no deployment (the default
// site runs).
type siteStore struct {
	*recordingStore
	mu       sync.Mutex
	site     slipway.Site
	settings map[string]string
}

func (s *siteStore) Site(ctx context.Context, rg, name string) (slipway.Site, error) {
	return s.site, nil
}
func (s *siteStore) FindSite(ctx context.Context, name string) (slipway.Site, error) {
	return s.site, nil
}
func (s *siteStore) Plan(ctx context.Context, rg, name string) (slipway.Plan, error) {
	return slipway.Plan{}, nil
}
func (s *siteStore) Settings(ctx context.Context, rg, site string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, v := range s.settings {
		out[k] = v
	}
	return out, nil
}
func (s *siteStore) ConnectionStrings(ctx context.Context, rg, site string) (map[string]slipway.ConnectionString, error) {
	return nil, nil
}
func (s *siteStore) ActiveDeployment(ctx context.Context, site string) (slipway.Deployment, error) {
	return slipway.Deployment{}, slipway.Errorf(slipway.ENOTFOUND, "none")
}

// vaultStore is one vault whose secret values the test changes.
type vaultStore struct {
	mu      sync.Mutex
	secrets map[string]string // name → latest value
	version int
}

func (v *vaultStore) FindVault(ctx context.Context, name string) (slipway.Vault, error) {
	if name != "kv1" {
		return slipway.Vault{}, slipway.Errorf(slipway.ENOTFOUND, "no vault")
	}
	return slipway.Vault{Name: "kv1"}, nil
}

func (v *vaultStore) Secret(ctx context.Context, vault, name, version string) (slipway.Secret, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	val, ok := v.secrets[name]
	if !ok {
		return slipway.Secret{}, slipway.Errorf(slipway.ENOTFOUND, "no secret")
	}
	return slipway.Secret{Name: name, Value: val, Enabled: true, Version: strings.Repeat("a", 31) + string(rune('0'+v.version))}, nil
}

func (v *vaultStore) set(name, value string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.secrets[name] = value
	v.version++
}

type allowAll struct{}

func (allowAll) Allow(context.Context, slipway.Vault, keyvault.Principal, keyvault.Operation) error {
	return nil
}

type oneIdentity struct{}

func (oneIdentity) ReferenceIdentity(context.Context, slipway.Site) (kvref.Identity, error) {
	return kvref.Identity{Type: "SystemAssigned", Principal: keyvault.Principal{ObjectID: "oid"}}, nil
}

// countingRuntime counts rolls.
type countingRuntime struct {
	mu    sync.Mutex
	rolls int
}

func (r *countingRuntime) Roll(ctx context.Context, site string, rel rt.Release) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rolls++
	return nil
}
func (r *countingRuntime) Stop(ctx context.Context, site string)               {}
func (r *countingRuntime) Scale(ctx context.Context, site string, n int) error { return nil }
func (r *countingRuntime) Instances(site string) []rt.Instance                 { return nil }
func (r *countingRuntime) SiteStatus(site string) []rt.RuntimeStatus           { return nil }
func (r *countingRuntime) Enter(site, id string) (rt.Running, bool)            { return rt.Running{}, false }
func (r *countingRuntime) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rolls
}

type portPlanner struct{ Planner }

func (portPlanner) Port(Snapshot) int { return 0 }

func (portPlanner) BuildSettings(Snapshot) map[string]string { return map[string]string{} }

func newRefsCoordinator(t *testing.T, settings map[string]string) (*Coordinator, *siteStore, *vaultStore, *countingRuntime) {
	t.Helper()
	vs := &vaultStore{secrets: map[string]string{"db": "password-one"}}
	res, err := kvref.New(kvref.Config{Store: vs, Access: allowAll{}, Identities: oneIdentity{}, VaultSuffixes: []string{"vault.localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	st := &siteStore{recordingStore: newRecordingStore(), site: slipway.Site{Name: "app", ResourceGroup: "rg", Enabled: true}, settings: settings}
	run := &countingRuntime{}
	hub := applog.NewHub(applog.Config{})
	t.Cleanup(func() { hub.Close() })
	c := New(Config{Store: st, Runtime: run, Planner: portPlanner{}, Logs: hub, DataDir: t.TempDir(), References: res, ReferenceRefresh: 1 << 40})
	t.Cleanup(func() { c.Close() })
	return c, st, vs, run
}

// TestRestartBlockedByReference: a restart whose references do not
// resolve starts nothing and explains why; a lenient app starts.
func TestRestartBlockedByReference(t *testing.T) {
	c, st, _, run := newRefsCoordinator(t, map[string]string{"DB": "@Microsoft.KeyVault(VaultName=kv1;SecretName=missing)"})
	err := c.Restart(t.Context(), "rg", "app")
	if slipway.ErrorCode(err) != slipway.EUNAVAILABLE || !strings.Contains(err.Error(), "app setting DB: SecretNotFound") ||
		!strings.Contains(err.Error(), "previous instances keep serving") {
		t.Fatalf("Restart = %v", err)
	}
	if run.count() != 0 {
		t.Errorf("the blocked version was rolled out")
	}
	if log := strings.Join(c.SiteLog("app").Recent(10), "\n"); !strings.Contains(log, "SecretNotFound") {
		t.Errorf("the app's log does not say why:\n%s", log)
	}
	st.settings[kvref.LenientSetting] = "true"
	if err := c.Restart(t.Context(), "rg", "app"); err != nil || run.count() != 1 {
		t.Errorf("lenient restart = %v, %d rolls", err, run.count())
	}
}

// TestRefreshReferences: a rotated secret restarts the app once; an
// unchanged one does not; the values are masked in the app's log.
func TestRefreshReferences(t *testing.T) {
	c, _, vs, run := newRefsCoordinator(t, map[string]string{"DB": "@Microsoft.KeyVault(VaultName=kv1;SecretName=db)", "PLAIN": "x"})
	ctx := t.Context()
	if err := c.Restart(ctx, "rg", "app"); err != nil {
		t.Fatal(err)
	}
	c.RefreshReferences(ctx)
	if run.count() != 1 {
		t.Fatalf("%d rolls after a refresh without rotation, want 1", run.count())
	}
	vs.set("db", "password-two")
	c.RefreshReferences(ctx)
	if run.count() != 2 {
		t.Fatalf("%d rolls after a rotation, want 2", run.count())
	}
	c.RefreshReferences(ctx)
	if run.count() != 2 {
		t.Fatalf("%d rolls after a second refresh, want 2", run.count())
	}
	// A secret that disappears keeps the running values and is reported once.
	vs.mu.Lock()
	delete(vs.secrets, "db")
	vs.mu.Unlock()
	c.RefreshReferences(ctx)
	c.RefreshReferences(ctx)
	lg := c.SiteLog("app")
	if n := strings.Count(strings.Join(lg.Recent(50), "\n"), "Refreshing Key Vault references failed"); n != 1 || run.count() != 2 {
		t.Errorf("problem reported %d times, %d rolls; want 1 and 2", n, run.count())
	}
	lg.Event("the app printed password-one and password-two")
	if log := strings.Join(lg.Recent(50), "\n"); strings.Contains(log, "password-") {
		t.Errorf("a resolved value reached the app's log:\n%s", log)
	}
	// A stopped site is not refreshed.
	c.StopSite(ctx, "rg", "app")
	vs.set("db", "password-three")
	c.RefreshReferences(ctx)
	if run.count() != 2 {
		t.Errorf("a stopped site was restarted by the refresher")
	}
}
