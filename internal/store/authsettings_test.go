package store

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipway-dev/slipway"
)

// onSettings are authentication settings with the platform on.
func onSettings(clientID string) slipway.AuthSettings {
	var a slipway.AuthSettings
	a.Platform.Enabled = true
	a.GlobalValidation.RequireAuthentication = true
	a.GlobalValidation.UnauthenticatedClientAction = slipway.AuthReturn401
	a.GlobalValidation.ExcludedPaths = []string{"/health"}
	a.IdentityProviders.AzureActiveDirectory = &slipway.AuthAAD{Enabled: true,
		Registration: slipway.AuthAADRegistration{ClientID: clientID, ClientSecretSettingName: "MICROSOFT_PROVIDER_AUTHENTICATION_SECRET"}}
	return a
}

// TestAuthSettings_StoredAndInTheSiteTable: settings read back as
// written; the in-memory site table carries them, with no database I/O,
// exactly while the platform is enabled; a write that changes nothing
// says so (no restart).
func TestAuthSettings_StoredAndInTheSiteTable(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seedSKU(t, s, "S1")
	if a, configured, err := s.AuthSettings(ctx, "rg", "app"); err != nil || configured || a.AuthOn() {
		t.Fatalf("a new site's settings = %+v, configured %v, %v; want off, never configured", a, configured, err)
	}
	routing := func() *slipway.AuthSettings {
		t.Helper()
		before := s.Queries()
		r, ok := s.SiteRouting("APP")
		if !ok {
			t.Fatal("the site is not in the table")
		}
		if n := s.Queries() - before; n != 0 {
			t.Fatalf("SiteRouting ran %d statements", n)
		}
		return r.Auth
	}
	if got := routing(); got != nil {
		t.Fatalf("Auth of a site never configured = %+v, want nil", got)
	}

	on := onSettings("00001111-aaaa-2222-bbbb-3333cccc4444")
	changed, err := s.SetAuthSettings(ctx, "rg", "APP", on, map[string]string{"MICROSOFT_PROVIDER_AUTHENTICATION_SECRET": "s3cret"})
	if err != nil || !changed {
		t.Fatalf("SetAuthSettings = %v, %v", changed, err)
	}
	got, configured, err := s.AuthSettings(ctx, "rg", "app")
	if err != nil || !configured {
		t.Fatalf("AuthSettings = %v, %v", configured, err)
	}
	if d := cmp.Diff(on, got); d != "" {
		t.Errorf("read back (-want +got):\n%s", d)
	}
	if d := cmp.Diff(&on, routing(), ignoreInstance); d != "" {
		t.Errorf("site table (-want +got):\n%s", d)
	}
	// The secret became an app setting beside the others, sealed like them.
	settings, err := s.Settings(ctx, "rg", "app")
	if err != nil || settings["MICROSOFT_PROVIDER_AUTHENTICATION_SECRET"] != "s3cret" {
		t.Fatalf("settings = %v, %v", settings, err)
	}
	if changed, err := s.SetAuthSettings(ctx, "rg", "app", on, map[string]string{"MICROSOFT_PROVIDER_AUTHENTICATION_SECRET": "s3cret"}); err != nil || changed {
		t.Fatalf("the same write again: changed %v, %v; want nothing changed", changed, err)
	}

	off := on
	off.Platform.Enabled = false
	if changed, err := s.SetAuthSettings(ctx, "rg", "app", off, nil); err != nil || !changed {
		t.Fatalf("turning it off: %v, %v", changed, err)
	}
	if got := routing(); got != nil {
		t.Fatalf("Auth with the platform off = %+v, want nil", got)
	}
	if got, configured, _ := s.AuthSettings(ctx, "rg", "app"); !configured || got.IdentityProviders.AzureActiveDirectory == nil {
		t.Fatalf("settings turned off lost the rest: %+v", got)
	}

	_, err = s.SetAuthSettings(ctx, "rg", "nope", on, nil)
	wantCode(t, err, slipway.ENOTFOUND)
	_, err = s.SetAuthSettings(ctx, "other", "app", on, nil)
	wantCode(t, err, slipway.ENOTFOUND)
	_, _, err = s.AuthSettings(ctx, "rg", "nope")
	wantCode(t, err, slipway.ENOTFOUND)
	_, err = s.SetAuthSettings(ctx, "rg", "app", on, map[string]string{"": "x"})
	wantCode(t, err, slipway.EINVALID)
}

// TestAuthSettings_UnreadableFailsClosed: a stored document that cannot
// be read puts the site behind authentication refusing everyone, never
// in the open.
func TestAuthSettings_UnreadableFailsClosed(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seedSKU(t, s, "S1")
	if _, err := s.write.ExecContext(ctx, `UPDATE sites SET auth_settings = '{"platform":' WHERE name = 'app'`); err != nil {
		t.Fatal(err)
	}
	if err := s.loadSiteIndex(ctx); err != nil {
		t.Fatal(err)
	}
	r, _ := s.SiteRouting("app")
	if r.Auth == nil || !r.Auth.AuthOn() || r.Auth.GlobalValidation.UnauthenticatedClientAction != slipway.AuthReturn401 {
		t.Fatalf("Auth of unreadable settings = %+v, want on and refusing", r.Auth)
	}
}

// TestAuthSettings_StayWithTheSlotOnSwap: App Service applies the target
// slot's authentication settings to the source before swapping
// (https://learn.microsoft.com/azure/app-service/deploy-staging-slots#swap-operation-steps):
// they do not follow the content.
func TestAuthSettings_StayWithTheSlotOnSwap(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seedSKU(t, s, "S1")
	seedSlot(t, s)
	prod, staging := onSettings("00001111-aaaa-2222-bbbb-000000000001"), onSettings("00001111-aaaa-2222-bbbb-000000000002")
	staging.GlobalValidation.UnauthenticatedClientAction = slipway.AuthAllowAnonymous
	for site, a := range map[string]slipway.AuthSettings{"app": prod, "app-staging": staging} {
		// Each with its own secret, stored as a classic write stores it.
		if _, err := s.SetAuthSettings(ctx, "rg", site, a, map[string]string{"MICROSOFT_PROVIDER_AUTHENTICATION_SECRET": site + "-secret"}); err != nil {
			t.Fatal(err)
		}
	}
	if sticky, _, err := s.SlotConfigNames(ctx, "rg", "app"); err != nil || !cmp.Equal(sticky, []string{"MICROSOFT_PROVIDER_AUTHENTICATION_SECRET"}) {
		t.Fatalf("the app's slot-sticky names = %v, %v; want the secret's setting", sticky, err)
	}
	if err := s.BeginSwap(ctx, slipway.Swap{App: "app", Source: "app-staging", Target: "app", Phase: slipway.SwapWarming}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CommitSwap(ctx, "app", "app-staging", "app"); err != nil {
		t.Fatal(err)
	}
	for site, want := range map[string]slipway.AuthSettings{"app": prod, "app-staging": staging} {
		got, _, err := s.AuthSettings(ctx, "rg", site)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s after the swap (-want +got):\n%s", site, d)
		}
		r, _ := s.SiteRouting(site)
		if d := cmp.Diff(&want, r.Auth, ignoreInstance); d != "" {
			t.Errorf("%s in the site table after the swap (-want +got):\n%s", site, d)
		}
		if settings, _ := s.Settings(ctx, "rg", site); settings["MICROSOFT_PROVIDER_AUTHENTICATION_SECRET"] != site+"-secret" {
			t.Errorf("%s's secret after the swap = %q, want its own", site, settings["MICROSOFT_PROVIDER_AUTHENTICATION_SECRET"])
		}
	}
}

// TestAuthSettings_GoWithTheSite: deleting a site, or its group, deletes
// its settings; a site made again under the name starts unconfigured.
func TestAuthSettings_GoWithTheSite(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	for _, viaGroup := range []bool{false, true} {
		site := seedSKU(t, s, "S1")
		if _, err := s.SetAuthSettings(ctx, "rg", "app", onSettings("00001111-aaaa-2222-bbbb-3333cccc4444"), nil); err != nil {
			t.Fatal(err)
		}
		if viaGroup {
			if _, err := s.DeleteResourceGroup(ctx, "rg"); err != nil {
				t.Fatal(err)
			}
		} else if err := s.DeleteSite(ctx, "rg", site.Name); err != nil {
			t.Fatal(err)
		}
		if _, ok := s.SiteRouting("app"); ok {
			t.Fatal("the deleted site is still in the table")
		}
		seedSKU(t, s, "S1")
		if a, configured, err := s.AuthSettings(ctx, "rg", "app"); err != nil || configured || a.AuthOn() {
			t.Fatalf("the site made again (group deleted %v): %+v, configured %v, %v", viaGroup, a, configured, err)
		}
		if r, _ := s.SiteRouting("app"); r.Auth != nil {
			t.Fatalf("the site made again has Auth %+v", r.Auth)
		}
	}
}

// The site table names each site's creation beside its settings, so that
// what the platform sealed for a deleted site (its users' sessions) does
// not serve a site made again with its name.
func TestAuthSettings_InstanceOfTheSite(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	instance := func() string {
		t.Helper()
		if _, err := s.SetAuthSettings(ctx, "rg", "app", onSettings("00001111-aaaa-2222-bbbb-3333cccc4444"), nil); err != nil {
			t.Fatal(err)
		}
		r, _ := s.SiteRouting("app")
		if r.Auth == nil || r.Auth.Instance == "" {
			t.Fatalf("the site table's settings name no instance: %+v", r.Auth)
		}
		return r.Auth.Instance
	}
	site := seedSKU(t, s, "S1")
	first := instance()
	if again := instance(); again != first {
		t.Fatalf("the instance changed with a write of the settings: %s, then %s", first, again)
	}
	if err := s.DeleteSite(ctx, "rg", site.Name); err != nil {
		t.Fatal(err)
	}
	seedSKU(t, s, "S1")
	if next := instance(); next == first {
		t.Fatalf("the site made again has the deleted one's instance %s", first)
	}
}

// ignoreInstance leaves out the site table's Instance, which the
// settings as written do not have.
var ignoreInstance = cmpopts.IgnoreFields(slipway.AuthSettings{}, "Instance")
