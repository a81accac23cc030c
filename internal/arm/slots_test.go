package arm

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/slipway-dev/slipway"
)

type swapRecorder struct {
	mu    sync.Mutex
	calls []string
}

func (s *swapRecorder) SwapSlots(_ context.Context, rg, app, slot, target, action string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, strings.Join([]string{action, rg, app, slot, target}, " "))
	return nil
}

const slotPath = sitePath + "/slots/staging"

// docs/arm.md §1.11: the requests az sends for slots, and the shapes it reads.
func TestSlots_AsAzDrivesThem(t *testing.T) {
	sw := &swapRecorder{}
	e := newEnvWith(t, func(c *Config) { c.Slots = sw })
	e.seed()
	e.standardPlan()
	// az webapp deployment slot create --slot staging
	r := e.must(200, "PUT", slotPath, `{"location":"West Europe","properties":{"serverFarmId":"x","siteConfig":{},"httpsOnly":false}}`).json(t)
	if r["name"] != "app/staging" || r["type"] != "Microsoft.Web/sites/slots" || !strings.HasSuffix(r["id"].(string), "/sites/app/slots/staging") {
		t.Fatalf("slot resource: %v", r)
	}
	props := r["properties"].(map[string]any)
	if props["defaultHostName"] != "app-staging.localhost:8080" || props["serverFarmId"] == nil {
		t.Fatalf("slot host name / plan: %v", props)
	}
	// A new slot is a live app: it starts (the default page), as a new app does.
	if calls := strings.Join(e.ctl.Calls(), "|"); !strings.Contains(calls, "StartSite rg/app-staging") {
		t.Fatalf("a new slot was not started: %s", calls)
	}
	// slot list
	l := e.must(200, "GET", sitePath+"/slots", "").json(t)
	if v := l["value"].([]any); len(v) != 1 || v[0].(map[string]any)["name"] != "app/staging" {
		t.Fatalf("slot list: %v", l)
	}
	// The slot is not a site of the group.
	if v := e.must(200, "GET", webPath+"/sites", "").json(t)["value"].([]any); len(v) != 1 {
		t.Fatalf("site list shows slots: %v", v)
	}
	// Settings of the slot are its own (config/appsettings under the slot).
	e.must(200, "PUT", slotPath+"/config/appsettings", `{"properties":{"GREETING":"staging"}}`)
	got := e.must(200, "POST", slotPath+"/config/appsettings/list", "").json(t)["properties"].(map[string]any)
	if got["GREETING"] != "staging" {
		t.Fatalf("slot settings: %v", got)
	}
	prod := e.must(200, "POST", sitePath+"/config/appsettings/list", "").json(t)["properties"].(map[string]any)
	if _, leaked := prod["GREETING"]; leaked {
		t.Fatalf("slot setting leaked to production: %v", prod)
	}
	// slotConfigNames lives on production only.
	e.must(404, "GET", slotPath+"/config/slotConfigNames", "")
	// Publishing credentials of the slot.
	pc := e.must(200, "POST", slotPath+"/config/publishingcredentials/list", "").json(t)["properties"].(map[string]any)
	if pc["publishingUserName"] != "$app__staging" {
		t.Fatalf("slot publishing user: %v", pc)
	}
	// swap, preview, reset as az sends them.
	e.must(200, "POST", slotPath+"/slotsswap", `{"targetSlot":"production","preserveVnet":true}`)
	e.must(200, "POST", slotPath+"/applySlotConfig", `{"targetSlot":"production","preserveVnet":true}`)
	e.must(200, "POST", sitePath+"/resetSlotConfig", ``)
	e.must(404, "POST", sitePath+"/slots/nope/slotsswap", `{"targetSlot":"production"}`)
	want := []string{"swap rg app staging production", "preview rg app staging production", "reset rg app  "}
	if strings.Join(sw.calls, "|") != strings.Join(want, "|") {
		t.Fatalf("swap calls = %q, want %q", sw.calls, want)
	}
	// Traffic routing through config/web (az webapp traffic-routing set).
	e.must(200, "PUT", sitePath+"/config/web", `{"properties":{"experiments":{"rampUpRules":[{"actionHostName":"app-staging.localhost","reroutePercentage":20.0,"name":"staging"}]}}}`)
	rules := e.must(200, "GET", sitePath+"/config/web", "").json(t)["properties"].(map[string]any)["experiments"].(map[string]any)["rampUpRules"].([]any)
	if len(rules) != 1 || rules[0].(map[string]any)["reroutePercentage"] != 20.0 || rules[0].(map[string]any)["actionHostName"] != "app-staging.localhost:8080" {
		t.Fatalf("rampUpRules: %v", rules)
	}
	e.must(400, "PUT", sitePath+"/config/web", `{"properties":{"experiments":{"rampUpRules":[{"reroutePercentage":120,"name":"staging"}]}}}`)
	// Auto swap through the slot's config/web.
	e.must(200, "PATCH", slotPath+"/config/web", `{"properties":{"autoSwapSlotName":"production"}}`)
	if v := e.must(200, "GET", slotPath+"/config/web", "").json(t)["properties"].(map[string]any)["autoSwapSlotName"]; v != "production" {
		t.Fatalf("autoSwapSlotName = %v", v)
	}
	// Deleting the slot, then the app with a slot.
	e.ctl.Reset()
	e.must(200, "DELETE", slotPath, "")
	e.must(404, "GET", slotPath, "")
	e.must(200, "PUT", slotPath, `{}`)
	e.must(200, "DELETE", sitePath, "")
	calls := strings.Join(e.ctl.Calls(), "|")
	if !strings.Contains(calls, "app-staging") || strings.Count(calls, "SiteDeleted") < 3 {
		t.Fatalf("controller calls: %s", calls)
	}
}

// standardPlan scales the seeded plan to S1: slots need Standard or above.
func (e *env) standardPlan() {
	e.t.Helper()
	e.must(200, "PUT", planPath+"?api-version=2025-03-01", `{"location":"westeurope","sku":{"name":"S1","tier":"STANDARD"},"properties":{"reserved":true}}`)
}

// Slots per app as App Service allows them (docs/appservice.md §6): none
// on Basic, production and four on Standard, with App Service's 409; an
// existing slot can still be updated at the limit.
func TestSlots_LimitPerSKU(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.Slots = &swapRecorder{} })
	e.seed()
	r := e.must(409, "PUT", slotPath, `{"location":"westeurope","properties":{}}`)
	if !strings.Contains(string(r.body), `"code":"Conflict"`) || !strings.Contains(string(r.body), "exceed the number of slots allowed for the 'Basic' SKU") {
		t.Fatalf("a slot on Basic: %s", r.body)
	}
	e.standardPlan()
	for _, n := range []string{"s1", "s2", "s3", "s4"} {
		e.must(200, "PUT", sitePath+"/slots/"+n, `{"location":"westeurope","properties":{}}`)
	}
	r = e.must(409, "PUT", sitePath+"/slots/s5", `{"location":"westeurope","properties":{}}`)
	if !strings.Contains(string(r.body), "allowed for the 'Standard' SKU") {
		t.Fatalf("a fifth slot on Standard: %s", r.body)
	}
	e.must(200, "PUT", sitePath+"/slots/s4", `{"location":"westeurope","tags":{"k":"v"},"properties":{}}`)
	if v := e.must(200, "GET", sitePath+"/slots", "").json(t)["value"].([]any); len(v) != 4 {
		t.Fatalf("%d slots, want 4", len(v))
	}
}

// A plan's perSiteScaling is kept (az appservice plan update
// --per-site-scaling) and a PUT without it leaves it as it was.
func TestPlanPerSiteScalingKept(t *testing.T) {
	e := newEnv(t)
	e.seed()
	e.must(200, "PUT", planPath, `{"location":"westeurope","sku":{"name":"S1"},"properties":{"reserved":true,"perSiteScaling":true}}`)
	if p := e.must(200, "GET", planPath, "").json(t)["properties"].(map[string]any); p["perSiteScaling"] != true {
		t.Fatalf("perSiteScaling after the PUT: %v", p["perSiteScaling"])
	}
	e.must(200, "PUT", planPath, `{"location":"westeurope","sku":{"name":"S2"},"properties":{"reserved":true}}`)
	if p := e.must(200, "GET", planPath, "").json(t)["properties"].(map[string]any); p["perSiteScaling"] != true {
		t.Fatalf("perSiteScaling after a PUT without it: %v", p["perSiteScaling"])
	}
}

// TestSlots_ConfigResourceIDs: a slot's configuration resources (config/web,
// config/appsettings, ...) are the slot's children, as ARM names them:
// <app>/slots/<slot>/config/<name>, of type Microsoft.Web/sites/slots/config
// — never the platform's row name for the slot (<app>-<slot>).
func TestSlots_ConfigResourceIDs(t *testing.T) {
	e := newEnv(t)
	e.seed()
	e.standardPlan()
	e.must(200, "PUT", slotPath, `{"location":"West Europe","properties":{"serverFarmId":"x","siteConfig":{}}}`)
	for _, tc := range []struct{ method, path, name string }{
		{"GET", "/config/web", "app/staging"},
		{"POST", "/config/appsettings/list", "appsettings"},
		{"POST", "/config/connectionstrings/list", "connectionstrings"},
		{"GET", "/config/logs", "logs"},
	} {
		r := e.must(200, tc.method, slotPath+tc.path, "").json(t)
		_, wantID, _ := strings.Cut(strings.TrimSuffix(slotPath+tc.path, "/list"), "/resourceGroups/")
		if id, _ := r["id"].(string); !strings.HasSuffix(id, "/resourceGroups/"+wantID) || r["type"] != "Microsoft.Web/sites/slots/config" || r["name"] != tc.name {
			t.Errorf("%s %s: id %v, type %v, name %v; want id %s", tc.method, tc.path, r["id"], r["type"], r["name"], wantID)
		}
	}
	r := e.must(200, "GET", sitePath+"/config/web", "").json(t)
	if id, _ := r["id"].(string); !strings.HasSuffix(id, "/resourceGroups/rg/providers/Microsoft.Web/sites/app/config/web") || r["type"] != "Microsoft.Web/sites/config" || r["name"] != "app" {
		t.Errorf("production config/web: %v %v %v", r["id"], r["type"], r["name"])
	}
}

// failingConfigChange is the recorder with an app that cannot start after
// a configuration change (a startup file set before its code is deployed).
type failingConfigChange struct{ *recorder }

func (c failingConfigChange) SiteConfigChanged(ctx context.Context, rg, site string) error {
	c.recorder.SiteConfigChanged(ctx, rg, site)
	return slipway.Errorf(slipway.EUNAVAILABLE, "The app did not restart: container app_0 has exited (exit status 3) before answering the warmup request on /robots933456.txt, failing site start.")
}

// TestSlots_UpdateAsTheSite: `az webapp update --slot` and `webapp identity
// assign --slot` GET the slot and PUT it back with their change, as they
// do the site without --slot; the PUT updates the slot as PUT updates a
// site — the identity assigned, httpsOnly and client affinity stored —
// and stands, as App Service's does, when the slot's app then fails to
// start (a warning header, not a 503).
func TestSlots_UpdateAsTheSite(t *testing.T) {
	e := newEnvWith(t, func(c *Config) {
		c.Slots = &swapRecorder{}
		c.Controller = failingConfigChange{recorder: c.Controller.(*recorder)}
	})
	e.seed()
	e.standardPlan()
	e.must(200, "PUT", slotPath, `{"location":"West Europe","properties":{"serverFarmId":"x","siteConfig":{},"httpsOnly":false}}`)
	got := e.must(200, "GET", slotPath, "").json(t)
	got["identity"] = map[string]any{"type": "SystemAssigned"}
	props := got["properties"].(map[string]any)
	props["httpsOnly"], props["clientAffinityEnabled"] = true, false
	body, _ := json.Marshal(got)
	r := e.must(200, "PUT", slotPath, string(body))
	if w := r.header.Get("X-Slipway-Warning"); !strings.HasPrefix(w, "The app did not restart") {
		t.Errorf("PUT of the slot whose app fails to start: X-Slipway-Warning = %q", w)
	}
	res := r.json(t)
	if id, _ := res["identity"].(map[string]any); id == nil || id["type"] != "SystemAssigned" || id["principalId"] == nil {
		t.Errorf("PUT of the slot with identity SystemAssigned answered identity %v", res["identity"])
	}
	shown := e.must(200, "GET", slotPath, "").json(t)
	sp := shown["properties"].(map[string]any)
	if shown["name"] != "app/staging" || sp["httpsOnly"] != true || sp["clientAffinityEnabled"] != false || shown["identity"] == nil {
		t.Errorf("GET of the slot after the PUT: name %v, httpsOnly %v, clientAffinityEnabled %v, identity %v",
			shown["name"], sp["httpsOnly"], sp["clientAffinityEnabled"], shown["identity"])
	}
}

// TestSlots_PreviewShowsTheTargetsStickySettings: while a swap with
// preview waits in its first phase, the source's app settings and
// connection strings read as it runs them — its own, with the target's
// sticky values (azure-cli's test_webapp_slot_swap checks s1=prod on the
// staging slot after --action preview); the target's read as they are,
// and after the swap ends the source's own again.
func TestSlots_PreviewShowsTheTargetsStickySettings(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.Slots = &swapRecorder{} })
	e.seed()
	e.standardPlan()
	e.must(200, "PUT", slotPath, `{"location":"West Europe","properties":{"serverFarmId":"x","siteConfig":{}}}`)
	e.must(200, "PUT", sitePath+"/config/appsettings", `{"properties":{"s1":"prod","shared":"p"}}`)
	e.must(200, "PUT", slotPath+"/config/appsettings", `{"properties":{"s1":"slot","shared":"s"}}`)
	e.must(200, "PUT", sitePath+"/config/connectionstrings", `{"properties":{"db":{"value":"prod-db","type":"Custom"}}}`)
	e.must(200, "PUT", slotPath+"/config/connectionstrings", `{"properties":{"db":{"value":"slot-db","type":"Custom"}}}`)
	e.must(200, "PUT", sitePath+"/config/slotConfigNames", `{"properties":{"appSettingNames":["s1"],"connectionStringNames":["db"]}}`)
	settings := func(path string) map[string]any {
		return e.must(200, "POST", path+"/config/appsettings/list", "").json(t)["properties"].(map[string]any)
	}
	conn := func(path string) any {
		return e.must(200, "POST", path+"/config/connectionstrings/list", "").json(t)["properties"].(map[string]any)["db"].(map[string]any)["value"]
	}
	if err := e.store.BeginSwap(t.Context(), slipway.Swap{App: "app", Source: "app-staging", Target: "app", Phase: slipway.SwapPreview}); err != nil {
		t.Fatal(err)
	}
	if s := settings(slotPath); s["s1"] != "prod" || s["shared"] != "s" {
		t.Errorf("the source's settings in preview: %v; want s1 from production, shared its own", s)
	}
	if v := conn(slotPath); v != "prod-db" {
		t.Errorf("the source's sticky connection string in preview: %v", v)
	}
	if s := settings(sitePath); s["s1"] != "prod" || s["shared"] != "p" {
		t.Errorf("the target's settings in preview: %v", s)
	}
	if err := e.store.EndSwap(t.Context(), "app"); err != nil {
		t.Fatal(err)
	}
	if s := settings(slotPath); s["s1"] != "slot" || conn(slotPath) != "slot-db" {
		t.Errorf("the source's settings after the preview ended: %v", s)
	}
}
