package arm

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v5"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/dnstest"
	"github.com/slipway-dev/slipway/internal/dnsverify"
)

// staticToken is an azcore.TokenCredential that hands out the test token.
type staticToken string

func (c staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(c), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// goSDK is an env served over TLS with the options the Azure SDK for Go's
// management clients need to reach it.
type goSDK struct {
	*env
	opts  *azarm.ClientOptions
	cred  azcore.TokenCredential
	swaps *swapRecorder
	dns   *dnstest.Server
	tls   *httptest.Server // the handler over HTTPS
}

// newGoSDK starts an env (with slots and host-name verification) behind
// an HTTPS test server: azcore's bearer-token policy refuses plain http,
// and rather than turn that check off (InsecureAllowCredentialWithHTTP)
// the clients talk TLS to the handler, as they do to Azure, trusting the
// test server's certificate through its client's transport.
func newGoSDK(t *testing.T) *goSDK {
	t.Helper()
	dns := dnstest.Start(t)
	v, err := dnsverify.New(dnsverify.Config{Resolver: dns.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	sw := &swapRecorder{}
	e := newEnvWith(t, func(c *Config) { c.Slots = sw; c.Verifier = v; c.ExternalIP = "127.0.0.1" })
	srv := httptest.NewTLSServer(e.srv.Config.Handler)
	t.Cleanup(srv.Close)
	opts := &azarm.ClientOptions{ClientOptions: policy.ClientOptions{
		Cloud: cloud.Configuration{
			ActiveDirectoryAuthorityHost: "https://login.localhost/",
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: srv.URL, Audience: srv.URL},
			},
		},
		Transport: srv.Client(),
		// A failure is the server's answer, shown at once, not retried.
		Retry: policy.RetryOptions{MaxRetries: -1},
	}}
	return &goSDK{env: e, opts: opts, cred: staticToken(token), swaps: sw, dns: dns, tls: srv}
}

// poll follows an SDK poller to its end with the SDK's own algorithm
// (Azure-AsyncOperation, Location or provisioningState, then the final GET).
func poll[T any](ctx context.Context, t *testing.T, p *runtime.Poller[T], err error) T {
	t.Helper()
	var zero T
	if err != nil {
		t.Fatalf("begin: %v", err)
		return zero
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := p.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: time.Second})
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	return res
}

// pages follows a pager to its end and returns every item.
func pages[P any, T any](ctx context.Context, t *testing.T, p *runtime.Pager[P], items func(P) []T) []T {
	t.Helper()
	var out []T
	for n := 0; p.More(); n++ {
		if n > 100 {
			t.Fatal("pager does not end")
		}
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("page %d: %v", n, err)
		}
		out = append(out, items(page)...)
	}
	return out
}

// armErrorCode asserts that err is an ARM error response with status
// want and a code, and returns the code.
func armErrorCode(t *testing.T, err error, want int) string {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("want an ARM error %d, got %v", want, err)
	}
	if re.StatusCode != want || re.ErrorCode == "" {
		t.Fatalf("want %d with an error code, got %d %q: %v", want, re.StatusCode, re.ErrorCode, err)
	}
	return re.ErrorCode
}

// deref is *p, or the zero value where the SDK left a field nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// TestAzureSDKForGo drives the endpoint with the real Azure SDK for Go
// management clients (armappservice, armresources) through what a Go
// deploy tool or a Terraform-style provisioner does: every pager followed
// to its end, every long-running operation polled to completion by the
// SDK's own poller.
func TestAzureSDKForGo(t *testing.T) {
	g := newGoSDK(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	res, err := armresources.NewClientFactory(g.sub, g.cred, g.opts)
	if err != nil {
		t.Fatal(err)
	}
	groups := res.NewResourceGroupsClient()
	web, err := armappservice.NewClientFactory(g.sub, g.cred, g.opts)
	if err != nil {
		t.Fatal(err)
	}
	plans, apps := web.NewPlansClient(), web.NewWebAppsClient()
	const rg, planName, app = "rg-go", "plan-go", "app-go"
	planID := "/subscriptions/" + g.sub + "/resourceGroups/" + rg + "/providers/Microsoft.Web/serverfarms/" + planName
	siteID := "/subscriptions/" + g.sub + "/resourceGroups/" + rg + "/providers/Microsoft.Web/sites/" + app

	t.Run("resource groups", func(t *testing.T) {
		r, err := groups.CreateOrUpdate(ctx, rg, armresources.ResourceGroup{Location: to.Ptr("westeurope"), Tags: map[string]*string{"env": to.Ptr("test")}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if deref(r.Name) != rg || deref(r.ID) != "/subscriptions/"+g.sub+"/resourceGroups/"+rg ||
			r.Properties == nil || deref(r.Properties.ProvisioningState) != "Succeeded" || deref(r.Tags["env"]) != "test" {
			t.Fatalf("created group: %s", asJSON(r))
		}
		got, err := groups.Get(ctx, rg, nil)
		if err != nil || deref(got.Location) != "westeurope" {
			t.Fatalf("get: %v %s", err, asJSON(got))
		}
		all := pages(ctx, t, groups.NewListPager(nil), func(p armresources.ResourceGroupsClientListResponse) []*armresources.ResourceGroup { return p.Value })
		if !slices.ContainsFunc(all, func(g *armresources.ResourceGroup) bool { return deref(g.Name) == rg }) {
			t.Fatalf("list: %s", asJSON(all))
		}
		if ex, err := groups.CheckExistence(ctx, rg, nil); err != nil || !ex.Success {
			t.Fatalf("exists: %v %v", ex.Success, err)
		}
		if ex, err := groups.CheckExistence(ctx, "rg-none", nil); err != nil || ex.Success {
			t.Fatalf("exists (absent): %v %v", ex.Success, err)
		}
		_, err = groups.Get(ctx, "rg-none", nil)
		armErrorCode(t, err, http.StatusNotFound)
	})

	t.Run("plans", func(t *testing.T) {
		p, err := plans.BeginCreateOrUpdate(ctx, rg, planName, armappservice.Plan{
			Location: to.Ptr("westeurope"), Kind: to.Ptr("linux"),
			SKU:        &armappservice.SKUDescription{Name: to.Ptr("B1"), Tier: to.Ptr("Basic"), Capacity: to.Ptr[int32](1)},
			Properties: &armappservice.PlanProperties{Reserved: to.Ptr(true)},
		}, nil)
		r := poll(ctx, t, p, err)
		if deref(r.ID) != planID || deref(r.SKU.Name) != "B1" || r.Properties == nil || !deref(r.Properties.Reserved) ||
			deref(r.Properties.ProvisioningState) != armappservice.ProvisioningStateSucceeded || deref(r.Properties.Status) != armappservice.StatusOptionsReady {
			t.Fatalf("created plan: %s", asJSON(r))
		}
		got, err := plans.Get(ctx, rg, planName, nil)
		if err != nil || deref(got.Kind) != "linux" || deref(got.SKU.Tier) != "Basic" || got.Properties == nil ||
			got.Properties.NumberOfSites == nil || deref(got.Properties.MaximumNumberOfWorkers) == 0 ||
			deref(got.Properties.GeoRegion) == "" || deref(got.Properties.ResourceGroup) != rg {
			t.Fatalf("get: %v %s", err, asJSON(got))
		}
		inRG := pages(ctx, t, plans.NewListByResourceGroupPager(rg, nil), func(p armappservice.PlansClientListByResourceGroupResponse) []*armappservice.Plan { return p.Value })
		inSub := pages(ctx, t, plans.NewListPager(&armappservice.PlansClientListOptions{Detailed: to.Ptr(true)}), func(p armappservice.PlansClientListResponse) []*armappservice.Plan { return p.Value })
		if len(inRG) != 1 || len(inSub) != 1 || deref(inSub[0].ID) != planID {
			t.Fatalf("lists: %s %s", asJSON(inRG), asJSON(inSub))
		}
		// Scale up to Standard (slots need it) the way provisioners do: a
		// PUT of the whole plan with the new SKU.
		got.SKU = &armappservice.SKUDescription{Name: to.Ptr("S1"), Tier: to.Ptr("Standard"), Capacity: to.Ptr[int32](1)}
		p, err = plans.BeginCreateOrUpdate(ctx, rg, planName, got.Plan, nil)
		if r = poll(ctx, t, p, err); deref(r.SKU.Name) != "S1" || deref(r.SKU.Tier) != "Standard" {
			t.Fatalf("scaled plan: %s", asJSON(r))
		}
		// PATCH (PlansClient.Update) of the plan's properties.
		u, err := plans.Update(ctx, rg, planName, armappservice.PlanPatchResource{Properties: &armappservice.PlanPatchResourceProperties{PerSiteScaling: to.Ptr(false)}}, nil)
		if err != nil || deref(u.SKU.Name) != "S1" || !deref(u.Properties.Reserved) {
			t.Fatalf("update: %v %s", err, asJSON(u))
		}
	})

	t.Run("web apps", func(t *testing.T) {
		p, err := apps.BeginCreateOrUpdate(ctx, rg, app, armappservice.Site{
			Location: to.Ptr("westeurope"), Kind: to.Ptr("app,linux"),
			Tags:     map[string]*string{"tier": to.Ptr("web")},
			Identity: &armappservice.ManagedServiceIdentity{Type: to.Ptr(armappservice.ManagedServiceIdentityTypeSystemAssigned)},
			Properties: &armappservice.SiteProperties{
				ServerFarmID: to.Ptr(planID), HTTPSOnly: to.Ptr(true),
				SiteConfig: &armappservice.SiteConfig{
					LinuxFxVersion: to.Ptr("PYTHON|3.12"),
					AppSettings:    []*armappservice.NameValuePair{{Name: to.Ptr("SCM_DO_BUILD_DURING_DEPLOYMENT"), Value: to.Ptr("true")}},
				},
			},
		}, nil)
		r := poll(ctx, t, p, err)
		// newEnv's host names carry the front door's port (HostSuffix).
		if deref(r.ID) != siteID || deref(r.Kind) != "app,linux" || r.Properties == nil ||
			deref(r.Properties.DefaultHostName) != app+".localhost:8080" || deref(r.Properties.State) != "Running" ||
			!deref(r.Properties.HTTPSOnly) || deref(r.Properties.ServerFarmID) != planID {
			t.Fatalf("created site: %s", asJSON(r))
		}
		if !deref(r.Properties.Enabled) || deref(r.Properties.ResourceGroup) != rg || deref(r.Properties.OutboundIPAddresses) == "" ||
			len(r.Properties.HostNameSSLStates) != 2 || r.Properties.LastModifiedTimeUTC == nil || deref(r.Properties.SKU) == "" {
			t.Fatalf("site properties: %s", asJSON(r.Properties))
		}
		if r.Identity == nil || deref(r.Identity.Type) != armappservice.ManagedServiceIdentityTypeSystemAssigned ||
			deref(r.Identity.PrincipalID) == "" || deref(r.Identity.TenantID) != g.tenant {
			t.Fatalf("identity: %s", asJSON(r.Identity))
		}
		got, err := apps.Get(ctx, rg, app, nil)
		if err != nil || got.Properties == nil || got.Properties.SiteConfig == nil || deref(got.Properties.SiteConfig.LinuxFxVersion) != "PYTHON|3.12" {
			t.Fatalf("get: %v %s", err, asJSON(got))
		}
		inSub := pages(ctx, t, apps.NewListPager(nil), func(p armappservice.WebAppsClientListResponse) []*armappservice.Site { return p.Value })
		inRG := pages(ctx, t, apps.NewListByResourceGroupPager(rg, nil), func(p armappservice.WebAppsClientListByResourceGroupResponse) []*armappservice.Site { return p.Value })
		if len(inSub) != 1 || len(inRG) != 1 || deref(inRG[0].Name) != app {
			t.Fatalf("lists: %s %s", asJSON(inSub), asJSON(inRG))
		}
		u, err := apps.Update(ctx, rg, app, armappservice.SitePatchResource{Properties: &armappservice.SitePatchResourceProperties{ClientAffinityEnabled: to.Ptr(false)}}, nil)
		if err != nil || deref(u.Properties.ClientAffinityEnabled) || !deref(u.Properties.HTTPSOnly) {
			t.Fatalf("update: %v %s", err, asJSON(u))
		}
		_, err = apps.Get(ctx, rg, "app-none", nil)
		armErrorCode(t, err, http.StatusNotFound)

		// A provisioner's re-apply PUTs the whole site again: the
		// identity it already has is kept, not made anew.
		p, err = apps.BeginCreateOrUpdate(ctx, rg, app, armappservice.Site{
			Location: to.Ptr("westeurope"), Tags: map[string]*string{"tier": to.Ptr("web")},
			Identity:   &armappservice.ManagedServiceIdentity{Type: to.Ptr(armappservice.ManagedServiceIdentityTypeSystemAssigned)},
			Properties: &armappservice.SiteProperties{ServerFarmID: to.Ptr(planID), HTTPSOnly: to.Ptr(true)},
		}, nil)
		if again := poll(ctx, t, p, err); again.Identity == nil || deref(again.Identity.PrincipalID) != deref(r.Identity.PrincipalID) {
			t.Fatalf("identity after a re-apply: %s, was %s", asJSON(again.Identity), asJSON(r.Identity))
		}
		off, err := apps.Update(ctx, rg, app, armappservice.SitePatchResource{Identity: &armappservice.ManagedServiceIdentity{Type: to.Ptr(armappservice.ManagedServiceIdentityTypeNone)}}, nil)
		if err != nil || (off.Identity != nil && deref(off.Identity.Type) != armappservice.ManagedServiceIdentityTypeNone) {
			t.Fatalf("identity None: %v %s", err, asJSON(off.Identity))
		}
	})

	t.Run("settings", func(t *testing.T) {
		s, err := apps.UpdateApplicationSettings(ctx, rg, app, armappservice.StringDictionary{Properties: map[string]*string{"A": to.Ptr("1"), "B": to.Ptr("2")}}, nil)
		if err != nil || deref(s.Properties["A"]) != "1" {
			t.Fatalf("update app settings: %v %s", err, asJSON(s))
		}
		l, err := apps.ListApplicationSettings(ctx, rg, app, nil)
		if err != nil || len(l.Properties) != 2 || deref(l.Properties["B"]) != "2" || deref(l.Name) != "appsettings" {
			t.Fatalf("list app settings: %v %s", err, asJSON(l))
		}
		cs, err := apps.UpdateConnectionStrings(ctx, rg, app, armappservice.ConnectionStringDictionary{Properties: map[string]*armappservice.ConnStringValueTypePair{
			"DB": {Value: to.Ptr("postgres://db"), Type: to.Ptr(armappservice.ConnectionStringTypePostgreSQL)},
		}}, nil)
		if err != nil || deref(cs.Properties["DB"].Type) != armappservice.ConnectionStringTypePostgreSQL {
			t.Fatalf("update connection strings: %v %s", err, asJSON(cs))
		}
		lc, err := apps.ListConnectionStrings(ctx, rg, app, nil)
		if err != nil || deref(lc.Properties["DB"].Value) != "postgres://db" {
			t.Fatalf("list connection strings: %v %s", err, asJSON(lc))
		}
		n, err := apps.UpdateSlotConfigurationNames(ctx, rg, app, armappservice.SlotConfigNamesResource{Properties: &armappservice.SlotConfigNames{
			AppSettingNames: []*string{to.Ptr("A")}, ConnectionStringNames: []*string{to.Ptr("DB")},
		}}, nil)
		if err != nil || len(n.Properties.AppSettingNames) != 1 {
			t.Fatalf("update slot config names: %v %s", err, asJSON(n))
		}
		ln, err := apps.ListSlotConfigurationNames(ctx, rg, app, nil)
		if err != nil || ln.Properties == nil || len(ln.Properties.ConnectionStringNames) != 1 || deref(ln.Properties.ConnectionStringNames[0]) != "DB" {
			t.Fatalf("list slot config names: %v %s", err, asJSON(ln))
		}
	})

	t.Run("site config", func(t *testing.T) {
		c, err := apps.GetConfiguration(ctx, rg, app, nil)
		if err != nil || c.Properties == nil || deref(c.Properties.LinuxFxVersion) != "PYTHON|3.12" || deref(c.Properties.NumberOfWorkers) != 1 {
			t.Fatalf("get: %v %s", err, asJSON(c))
		}
		u, err := apps.UpdateConfiguration(ctx, rg, app, armappservice.SiteConfigResource{Properties: &armappservice.SiteConfig{AppCommandLine: to.Ptr("gunicorn app:app")}}, nil)
		if err != nil || deref(u.Properties.AppCommandLine) != "gunicorn app:app" || deref(u.Properties.LinuxFxVersion) != "PYTHON|3.12" {
			t.Fatalf("update (PATCH): %v %s", err, asJSON(u))
		}
		// PUT of the whole config as read back, one field changed.
		c.Properties.HealthCheckPath = to.Ptr("/health")
		w, err := apps.CreateOrUpdateConfiguration(ctx, rg, app, c.SiteConfigResource, nil)
		if err != nil || deref(w.Properties.HealthCheckPath) != "/health" {
			t.Fatalf("create or update (PUT): %v %s", err, asJSON(w))
		}
	})

	t.Run("slots", func(t *testing.T) {
		p, err := apps.BeginCreateOrUpdateSlot(ctx, rg, app, "staging", armappservice.Site{
			Location:   to.Ptr("westeurope"),
			Properties: &armappservice.SiteProperties{ServerFarmID: to.Ptr(planID)},
		}, nil)
		r := poll(ctx, t, p, err)
		if deref(r.Name) != app+"/staging" || deref(r.Type) != "Microsoft.Web/sites/slots" || deref(r.Properties.DefaultHostName) != app+"-staging.localhost:8080" {
			t.Fatalf("created slot: %s", asJSON(r))
		}
		got, err := apps.GetSlot(ctx, rg, app, "staging", nil)
		if err != nil || deref(got.ID) != siteID+"/slots/staging" {
			t.Fatalf("get: %v %s", err, asJSON(got))
		}
		all := pages(ctx, t, apps.NewListSlotsPager(rg, app, nil), func(p armappservice.WebAppsClientListSlotsResponse) []*armappservice.Site { return p.Value })
		if len(all) != 1 || deref(all[0].Name) != app+"/staging" {
			t.Fatalf("list: %s", asJSON(all))
		}
		if _, err := apps.UpdateApplicationSettingsSlot(ctx, rg, app, "staging", armappservice.StringDictionary{Properties: map[string]*string{"S": to.Ptr("staging")}}, nil); err != nil {
			t.Fatal(err)
		}
		l, err := apps.ListApplicationSettingsSlot(ctx, rg, app, "staging", nil)
		if err != nil || deref(l.Properties["S"]) != "staging" {
			t.Fatalf("slot app settings: %v %s", err, asJSON(l))
		}
		sw, err := apps.BeginSwapSlotWithProduction(ctx, rg, app, armappservice.CsmSlotEntity{TargetSlot: to.Ptr("staging"), PreserveVnet: to.Ptr(true)}, nil)
		poll(ctx, t, sw, err)
		ss, err := apps.BeginSwapSlot(ctx, rg, app, "staging", armappservice.CsmSlotEntity{TargetSlot: to.Ptr("production"), PreserveVnet: to.Ptr(true)}, nil)
		poll(ctx, t, ss, err)
		g.swaps.mu.Lock()
		swaps := slices.Clone(g.swaps.calls)
		g.swaps.mu.Unlock()
		if want := []string{"swap " + rg + " " + app + "  staging", "swap " + rg + " " + app + " staging production"}; !slices.Equal(swaps, want) {
			t.Fatalf("swaps = %q, want %q", swaps, want)
		}
		if _, err := apps.DeleteSlot(ctx, rg, app, "staging", nil); err != nil {
			t.Fatal(err)
		}
		_, err = apps.GetSlot(ctx, rg, app, "staging", nil)
		armErrorCode(t, err, http.StatusNotFound)
	})

	t.Run("host names", func(t *testing.T) {
		s, err := apps.Get(ctx, rg, app, nil)
		if err != nil || deref(s.Properties.CustomDomainVerificationID) == "" {
			t.Fatalf("verification id: %v %s", err, asJSON(s))
		}
		g.dns.SetCNAME("www.contoso.com", app+".localhost")
		g.dns.SetTXT("asuid.www.contoso.com", *s.Properties.CustomDomainVerificationID)
		b, err := apps.CreateOrUpdateHostNameBinding(ctx, rg, app, "www.contoso.com", armappservice.HostNameBinding{Properties: &armappservice.HostNameBindingProperties{SiteName: to.Ptr(app)}}, nil)
		if err != nil || deref(b.Name) != app+"/www.contoso.com" || deref(b.Properties.HostNameType) != armappservice.HostNameTypeVerified ||
			deref(b.Properties.SiteName) != app || deref(b.Properties.CustomHostNameDNSRecordType) != armappservice.CustomHostNameDNSRecordTypeCName {
			t.Fatalf("create: %v %s", err, asJSON(b))
		}
		all := pages(ctx, t, apps.NewListHostNameBindingsPager(rg, app, nil), func(p armappservice.WebAppsClientListHostNameBindingsResponse) []*armappservice.HostNameBinding {
			return p.Value
		})
		if !slices.ContainsFunc(all, func(b *armappservice.HostNameBinding) bool { return deref(b.Name) == app+"/www.contoso.com" }) {
			t.Fatalf("list: %s", asJSON(all))
		}
		if _, err := apps.DeleteHostNameBinding(ctx, rg, app, "www.contoso.com", nil); err != nil {
			t.Fatal(err)
		}
		_, err = apps.GetHostNameBinding(ctx, rg, app, "www.contoso.com", nil)
		armErrorCode(t, err, http.StatusNotFound)
	})

	t.Run("publishing", func(t *testing.T) {
		p, err := apps.BeginListPublishingCredentials(ctx, rg, app, nil)
		c := poll(ctx, t, p, err)
		if deref(c.Type) != "Microsoft.Web/sites/publishingcredentials" || c.Properties == nil || deref(c.Properties.PublishingUserName) != "$"+app || deref(c.Properties.PublishingPassword) == "" || !strings.Contains(deref(c.Properties.ScmURI), "@"+app+".scm.localhost") {
			t.Fatalf("credentials: %s", asJSON(c))
		}
		x, err := apps.ListPublishingProfileXMLWithSecrets(ctx, rg, app, armappservice.CsmPublishingProfileOptions{Format: to.Ptr(armappservice.PublishingProfileFormatWebDeploy)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer x.Body.Close()
		var doc struct {
			Profiles []struct {
				Method string `xml:"publishMethod,attr"`
				URL    string `xml:"publishUrl,attr"`
				User   string `xml:"userName,attr"`
			} `xml:"publishProfile"`
		}
		if err := xml.NewDecoder(x.Body).Decode(&doc); err != nil || len(doc.Profiles) == 0 {
			t.Fatalf("publish profile: %v %+v", err, doc)
		}
		for _, pr := range doc.Profiles {
			if pr.Method == "" || pr.URL == "" || !strings.HasSuffix(pr.User, "$"+app) {
				t.Fatalf("profile: %+v", pr)
			}
		}
	})

	t.Run("actions", func(t *testing.T) {
		g.ctl.Reset()
		if _, err := apps.Restart(ctx, rg, app, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := apps.Stop(ctx, rg, app, nil); err != nil {
			t.Fatal(err)
		}
		if s, err := apps.Get(ctx, rg, app, nil); err != nil || deref(s.Properties.State) != "Stopped" {
			t.Fatalf("after stop: %v %s", err, asJSON(s.Properties))
		}
		if _, err := apps.Start(ctx, rg, app, nil); err != nil {
			t.Fatal(err)
		}
		want := []string{"RestartSite " + rg + "/" + app, "StopSite " + rg + "/" + app, "StartSite " + rg + "/" + app}
		if calls := g.ctl.Calls(); !slices.Equal(calls, want) {
			t.Fatalf("controller calls = %q, want %q", calls, want)
		}
		ids := pages(ctx, t, apps.NewListInstanceIdentifiersPager(rg, app, nil), func(p armappservice.WebAppsClientListInstanceIdentifiersResponse) []*armappservice.WebSiteInstanceStatus {
			return p.Value
		})
		if len(ids) != 2 || deref(ids[0].Name) == "" || deref(ids[0].ID) == "" {
			t.Fatalf("instances: %s", asJSON(ids))
		}
	})

	t.Run("deployments", func(t *testing.T) {
		now := time.Now()
		d, err := g.store.CreateDeployment(ctx, slipway.Deployment{Site: app, Status: slipway.DeploySuccess,
			Deployer: "slipway-test", StartTime: now, EndTime: now.Add(time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		all := pages(ctx, t, apps.NewListDeploymentsPager(rg, app, nil), func(p armappservice.WebAppsClientListDeploymentsResponse) []*armappservice.Deployment { return p.Value })
		if len(all) != 1 || all[0].Properties == nil || deref(all[0].Properties.Deployer) != "slipway-test" ||
			deref(all[0].Properties.Status) != int32(slipway.DeploySuccess) || all[0].Properties.StartTime == nil {
			t.Fatalf("list (%s): %s", d.ID, asJSON(all))
		}
	})

	t.Run("resources and tags", func(t *testing.T) {
		rc := res.NewClient()
		sites := pages(ctx, t, rc.NewListPager(&armresources.ClientListOptions{Filter: to.Ptr("resourceType eq 'Microsoft.Web/sites'")}),
			func(p armresources.ClientListResponse) []*armresources.GenericResourceExpanded { return p.Value })
		if len(sites) != 1 || deref(sites[0].ID) != siteID || deref(sites[0].Type) != "Microsoft.Web/sites" {
			t.Fatalf("list filtered: %s", asJSON(sites))
		}
		inRG := pages(ctx, t, rc.NewListByResourceGroupPager(rg, nil), func(p armresources.ClientListByResourceGroupResponse) []*armresources.GenericResourceExpanded {
			return p.Value
		})
		if len(inRG) < 2 {
			t.Fatalf("list in group: %s", asJSON(inRG))
		}
		tags := res.NewTagsClient()
		tr, err := tags.CreateOrUpdateAtScope(ctx, siteID, armresources.TagsResource{Properties: &armresources.Tags{Tags: map[string]*string{"owner": to.Ptr("go")}}}, nil)
		if err != nil || deref(tr.Properties.Tags["owner"]) != "go" {
			t.Fatalf("put tags: %v %s", err, asJSON(tr))
		}
		tu, err := tags.UpdateAtScope(ctx, siteID, armresources.TagsPatchResource{Operation: to.Ptr(armresources.TagsPatchOperationMerge),
			Properties: &armresources.Tags{Tags: map[string]*string{"cost": to.Ptr("1")}}}, nil)
		if err != nil || len(tu.Properties.Tags) != 2 {
			t.Fatalf("merge tags: %v %s", err, asJSON(tu))
		}
		tg, err := tags.GetAtScope(ctx, siteID, nil)
		if err != nil || deref(tg.Properties.Tags["cost"]) != "1" || deref(tg.Name) != "default" || deref(tg.Type) != "Microsoft.Resources/tags" {
			t.Fatalf("get tags: %v %s", err, asJSON(tg))
		}
		if s, err := apps.Get(ctx, rg, app, nil); err != nil || deref(s.Tags["owner"]) != "go" {
			t.Fatalf("site tags: %v %s", err, asJSON(s.Tags))
		}
	})

	t.Run("template deployment", func(t *testing.T) {
		var template, params map[string]any
		if err := json.Unmarshal([]byte(planAndSiteTemplate), &template); err != nil {
			t.Fatal(err)
		}
		params = map[string]any{"secret": map[string]any{"value": "hunter2-secret"}, "prefix": map[string]any{"value": "tpl"}}
		deps := res.NewDeploymentsClient()
		p, err := deps.BeginCreateOrUpdate(ctx, rg, "dep1", armresources.Deployment{Properties: &armresources.DeploymentProperties{
			Mode: to.Ptr(armresources.DeploymentModeIncremental), Template: template, Parameters: params,
		}}, nil)
		d := poll(ctx, t, p, err)
		if d.Properties == nil || deref(d.Properties.ProvisioningState) != armresources.ProvisioningStateSucceeded || len(d.Properties.OutputResources) != 2 {
			t.Fatalf("deployment: %s", asJSON(d))
		}
		got, err := deps.Get(ctx, rg, "dep1", nil)
		if err != nil || deref(got.Name) != "dep1" || got.Properties.Outputs == nil || got.Properties.Timestamp == nil ||
			deref(got.Properties.Duration) == "" || deref(got.Properties.CorrelationID) == "" || deref(got.Properties.TemplateHash) == "" {
			t.Fatalf("get: %v %s", err, asJSON(got))
		}
		all := pages(ctx, t, deps.NewListByResourceGroupPager(rg, nil), func(p armresources.DeploymentsClientListByResourceGroupResponse) []*armresources.DeploymentExtended {
			return p.Value
		})
		if len(all) != 1 {
			t.Fatalf("list: %s", asJSON(all))
		}
		ops := pages(ctx, t, res.NewDeploymentOperationsClient().NewListPager(rg, "dep1", nil),
			func(p armresources.DeploymentOperationsClientListResponse) []*armresources.DeploymentOperation {
				return p.Value
			})
		for _, op := range ops {
			if deref(op.OperationID) == "" || op.Properties == nil || deref(op.Properties.ProvisioningState) != "Succeeded" || op.Properties.Timestamp == nil ||
				op.Properties.TargetResource == nil || !strings.HasPrefix(deref(op.Properties.TargetResource.ResourceType), "Microsoft.Web/") {
				t.Fatalf("operation: %s", asJSON(op))
			}
		}
		if len(ops) != 2 {
			t.Fatalf("operations: %s", asJSON(ops))
		}
		dp, err := deps.BeginDelete(ctx, rg, "dep1", nil)
		poll(ctx, t, dp, err)
		_, err = deps.Get(ctx, rg, "dep1", nil)
		armErrorCode(t, err, http.StatusNotFound)
	})

	t.Run("failed template deployment", func(t *testing.T) {
		var template map[string]any
		tpl := `{"contentVersion":"1.0.0.0","resources":[
		 {"type":"Microsoft.Web/sites","apiVersion":"2024-11-01","name":"s1","location":"westeurope",
		  "properties":{"serverFarmId":"[resourceId('Microsoft.Web/serverfarms','nosuchplan')]"}}]}`
		if err := json.Unmarshal([]byte(tpl), &template); err != nil {
			t.Fatal(err)
		}
		deps := res.NewDeploymentsClient()
		p, err := deps.BeginCreateOrUpdate(ctx, rg, "bad", armresources.Deployment{Properties: &armresources.DeploymentProperties{
			Mode: to.Ptr(armresources.DeploymentModeIncremental), Template: template,
		}}, nil)
		if err != nil {
			t.Fatalf("begin: %v", err)
		}
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		_, err = p.PollUntilDone(pctx, &runtime.PollUntilDoneOptions{Frequency: time.Second})
		if code := armErrorCode(t, err, http.StatusOK); code != "DeploymentFailed" || !strings.Contains(err.Error(), "nosuchplan") {
			t.Fatalf("poller error: %s %v", code, err)
		}
	})

	t.Run("provisioner reads", func(t *testing.T) {
		// What a Terraform-style provisioner reads back after creating
		// an app, and the writes it makes for an app that uses none of
		// the features.
		if a, err := apps.GetAuthSettings(ctx, rg, app, nil); err != nil || a.Properties == nil || deref(a.Properties.Enabled) {
			t.Fatalf("auth settings: %v %s", err, asJSON(a))
		}
		a2, err := apps.GetAuthSettingsV2(ctx, rg, app, nil)
		if err != nil || a2.Properties == nil || a2.Properties.Platform == nil || deref(a2.Properties.Platform.Enabled) {
			t.Fatalf("auth settings V2: %v %s", err, asJSON(a2))
		}
		if _, err := apps.UpdateAuthSettingsV2(ctx, rg, app, armappservice.SiteAuthSettingsV2{Properties: &armappservice.SiteAuthSettingsV2Properties{
			Platform: &armappservice.AuthPlatform{Enabled: to.Ptr(false), RuntimeVersion: to.Ptr("~1")},
		}}, nil); err != nil {
			t.Fatalf("auth settings V2 off: %v", err)
		}
		logs, err := apps.UpdateDiagnosticLogsConfig(ctx, rg, app, armappservice.SiteLogsConfig{Properties: &armappservice.SiteLogsConfigProperties{
			HTTPLogs: &armappservice.HTTPLogsConfig{FileSystem: &armappservice.FileSystemHTTPLogsConfig{Enabled: to.Ptr(true), RetentionInMb: to.Ptr[int32](35), RetentionInDays: to.Ptr[int32](3)}},
		}}, nil)
		if err != nil || !deref(logs.Properties.HTTPLogs.FileSystem.Enabled) {
			t.Fatalf("logs: %v %s", err, asJSON(logs))
		}
		if l, err := apps.GetDiagnosticLogsConfiguration(ctx, rg, app, nil); err != nil || deref(l.Properties.HTTPLogs.FileSystem.RetentionInDays) != 3 {
			t.Fatalf("logs read back: %v %s", err, asJSON(l))
		}
		if _, err := apps.UpdateScmAllowed(ctx, rg, app, armappservice.CsmPublishingCredentialsPoliciesEntity{Properties: &armappservice.CsmPublishingCredentialsPoliciesEntityProperties{Allow: to.Ptr(true)}}, nil); err != nil {
			t.Fatal(err)
		}
		if scm, err := apps.GetScmAllowed(ctx, rg, app, nil); err != nil || !deref(scm.Properties.Allow) {
			t.Fatalf("scm basic auth: %v %s", err, asJSON(scm))
		}
		if _, err := apps.GetFtpAllowed(ctx, rg, app, nil); err != nil {
			t.Fatal(err)
		}
		pol := pages(ctx, t, apps.NewListBasicPublishingCredentialsPoliciesPager(rg, app, nil),
			func(p armappservice.WebAppsClientListBasicPublishingCredentialsPoliciesResponse) []*armappservice.CsmPublishingCredentialsPoliciesEntity {
				return p.Value
			})
		if len(pol) != 2 {
			t.Fatalf("basic auth policies: %s", asJSON(pol))
		}
		if m, err := apps.ListAzureStorageAccounts(ctx, rg, app, nil); err != nil || len(m.Properties) != 0 {
			t.Fatalf("storage mounts: %v %s", err, asJSON(m))
		}
		if v, err := apps.ListVnetConnections(ctx, rg, app, nil); err != nil || len(v.VnetInfoResourceArray) != 0 {
			t.Fatalf("vnet connections: %v %s", err, asJSON(v))
		}
		if _, err := apps.GetSourceControl(ctx, rg, app, nil); err != nil {
			t.Fatal(err)
		}
		cfgs := pages(ctx, t, apps.NewListConfigurationsPager(rg, app, nil), func(p armappservice.WebAppsClientListConfigurationsResponse) []*armappservice.SiteConfigResource {
			return p.Value
		})
		if len(cfgs) != 1 || deref(cfgs[0].ID) != siteID+"/config/web" || deref(cfgs[0].Properties.HealthCheckPath) != "/health" {
			t.Fatalf("configurations: %s", asJSON(cfgs))
		}
		onPlan := pages(ctx, t, plans.NewListWebAppsPager(rg, planName, nil), func(p armappservice.PlansClientListWebAppsResponse) []*armappservice.Site { return p.Value })
		if len(onPlan) != 1 || deref(onPlan[0].ID) != siteID {
			t.Fatalf("apps on the plan: %s", asJSON(onPlan))
		}
		wc := web.NewWebSiteManagementClient()
		if n, err := wc.CheckNameAvailability(ctx, armappservice.ResourceNameAvailabilityRequest{Name: to.Ptr(app), Type: to.Ptr(armappservice.CheckNameResourceTypesSite)}, nil); err != nil ||
			deref(n.NameAvailable) || deref(n.Reason) != armappservice.InAvailabilityReasonTypeAlreadyExists {
			t.Fatalf("name availability: %v %s", err, asJSON(n))
		}
		regions := pages(ctx, t, wc.NewListGeoRegionsPager(nil), func(p armappservice.WebSiteManagementClientListGeoRegionsResponse) []*armappservice.GeoRegion {
			return p.Value
		})
		stacks := pages(ctx, t, web.NewProviderClient().NewGetWebAppStacksPager(nil), func(p armappservice.ProviderClientGetWebAppStacksResponse) []*armappservice.WebAppStack {
			return p.Value
		})
		if len(regions) == 0 || len(stacks) == 0 {
			t.Fatalf("geo regions %d, web app stacks %d", len(regions), len(stacks))
		}
		// No backup is configured: App Service answers 404, which
		// provisioners take as "none".
		_, err = apps.GetBackupConfiguration(ctx, rg, app, nil)
		armErrorCode(t, err, http.StatusNotFound)
	})

	t.Run("auth settings", func(t *testing.T) {
		// App Service authentication with the Microsoft provider, as a
		// provisioner writes it, read back through both of the SDK's reads.
		const clientID = "00001111-aaaa-2222-bbbb-3333cccc4444"
		tenant := g.tenant
		if _, err := apps.UpdateAuthSettingsV2(ctx, rg, app, armappservice.SiteAuthSettingsV2{Properties: &armappservice.SiteAuthSettingsV2Properties{
			Platform: &armappservice.AuthPlatform{Enabled: to.Ptr(true), RuntimeVersion: to.Ptr("~1")},
			GlobalValidation: &armappservice.GlobalValidation{RequireAuthentication: to.Ptr(true),
				UnauthenticatedClientAction: to.Ptr(armappservice.UnauthenticatedClientActionV2Return401), ExcludedPaths: []*string{to.Ptr("/health")}},
			IdentityProviders: &armappservice.IdentityProviders{AzureActiveDirectory: &armappservice.AzureActiveDirectory{Enabled: to.Ptr(true),
				Registration: &armappservice.AzureActiveDirectoryRegistration{ClientID: to.Ptr(clientID),
					OpenIDIssuer: to.Ptr("https://sts.windows.net/" + tenant + "/v2.0"), ClientSecretSettingName: to.Ptr("MICROSOFT_PROVIDER_AUTHENTICATION_SECRET")}}},
		}}, nil); err != nil {
			t.Fatalf("auth settings V2 on: %v", err)
		}
		a2, err := apps.GetAuthSettingsV2(ctx, rg, app, nil)
		if err != nil || !deref(a2.Properties.Platform.Enabled) || deref(a2.Properties.GlobalValidation.UnauthenticatedClientAction) != armappservice.UnauthenticatedClientActionV2Return401 ||
			deref(a2.Properties.IdentityProviders.AzureActiveDirectory.Registration.ClientID) != clientID {
			t.Fatalf("auth settings V2 read back: %v %s", err, asJSON(a2))
		}
		if w, err := apps.GetAuthSettingsV2WithoutSecrets(ctx, rg, app, nil); err != nil || deref(w.Properties.HTTPSettings.Routes.APIPrefix) != "/.auth" {
			t.Fatalf("auth settings V2 without secrets: %v %s", err, asJSON(w))
		}
		if a, err := apps.GetAuthSettings(ctx, rg, app, nil); err != nil || !deref(a.Properties.Enabled) || deref(a.Properties.ClientID) != clientID {
			t.Fatalf("auth settings (classic) read back: %v %s", err, asJSON(a))
		}
		// Another identity provider is refused, with the reason.
		_, err = apps.UpdateAuthSettings(ctx, rg, app, armappservice.SiteAuthSettings{Properties: &armappservice.SiteAuthSettingsProperties{
			Enabled: to.Ptr(true), GoogleClientID: to.Ptr("g")}}, nil)
		armErrorCode(t, err, http.StatusBadRequest)
		if _, err := apps.UpdateAuthSettingsV2(ctx, rg, app, armappservice.SiteAuthSettingsV2{Properties: &armappservice.SiteAuthSettingsV2Properties{
			Platform: &armappservice.AuthPlatform{Enabled: to.Ptr(false)}}}, nil); err != nil {
			t.Fatalf("auth settings V2 off: %v", err)
		}
	})

	t.Run("absent features", func(t *testing.T) {
		_, err := apps.UpdateAzureStorageAccounts(ctx, rg, app, armappservice.AzureStoragePropertyDictionaryResource{Properties: map[string]*armappservice.AzureStorageInfoValue{
			"media": {Type: to.Ptr(armappservice.AzureStorageTypeAzureBlob), AccountName: to.Ptr("acct"), ShareName: to.Ptr("media"), AccessKey: to.Ptr("key"), MountPath: to.Ptr("/media")},
		}}, nil)
		armErrorCode(t, err, http.StatusBadRequest)
		_, err = apps.Backup(ctx, rg, app, armappservice.BackupRequest{Properties: &armappservice.BackupRequestProperties{StorageAccountURL: to.Ptr("https://x.blob.core.windows.net/b?sig=x")}}, nil)
		armErrorCode(t, err, http.StatusBadRequest)
	})

	t.Run("delete", func(t *testing.T) {
		if _, err := apps.Delete(ctx, rg, app, &armappservice.WebAppsClientDeleteOptions{DeleteEmptyServerFarm: to.Ptr(false)}); err != nil {
			t.Fatal(err)
		}
		_, err := apps.Get(ctx, rg, app, nil)
		armErrorCode(t, err, http.StatusNotFound)
		if _, err := plans.Delete(ctx, rg, planName, nil); err != nil {
			t.Fatal(err)
		}
		p, err := groups.BeginDelete(ctx, rg, nil)
		poll(ctx, t, p, err)
		if ex, err := groups.CheckExistence(ctx, rg, nil); err != nil || ex.Success {
			t.Fatalf("exists after delete: %v %v", ex.Success, err)
		}
		// The group took the template's plan and site with it.
		if left := pages(ctx, t, apps.NewListPager(nil), func(p armappservice.WebAppsClientListResponse) []*armappservice.Site { return p.Value }); len(left) != 0 {
			t.Fatalf("sites left: %s", asJSON(left))
		}
	})
}

// asJSON renders a model for a failure message.
func asJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
