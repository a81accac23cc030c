package arm

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSiteConfigCORS: siteConfig.cors as az webapp cors add|show|remove
// and az resource update --set properties.cors.supportCredentials=true
// write and read it (they GET config/web and send the whole SiteConfig
// back with cors changed). It is null until set, stored as written, shown
// by config/web and by the site, applied without restarting the app, and
// handed to the front door's routing table.
func TestSiteConfigCORS(t *testing.T) {
	e := newEnv(t)
	e.seed()
	cfgPath := sitePath + "/config/web"
	cors := func(path string) any {
		t.Helper()
		return e.must(200, "GET", path, "").json(t)["properties"].(map[string]any)["cors"]
	}
	if v := cors(cfgPath); v != nil {
		t.Fatalf("a new site's cors: %v, want null (as on Azure)", v)
	}
	// writeBack is az's round trip: GET, change cors, PATCH it all back.
	writeBack := func(method string, change func(c map[string]any)) response {
		t.Helper()
		props := e.must(200, "GET", cfgPath, "").json(t)["properties"].(map[string]any)
		c, _ := props["cors"].(map[string]any)
		if c == nil {
			c = map[string]any{}
		}
		change(c)
		props["cors"] = c
		body, _ := json.Marshal(map[string]any{"properties": props})
		return e.do(method, cfgPath, string(body))
	}
	wantCORS := func(step string, want map[string]any) {
		t.Helper()
		for _, p := range []string{cfgPath, sitePath} {
			got := cors(p)
			if p == sitePath {
				got = e.must(200, "GET", p, "").json(t)["properties"].(map[string]any)["siteConfig"].(map[string]any)["cors"]
			}
			var w any = want
			if want == nil {
				w = nil
			}
			if diff := cmp.Diff(w, got); diff != "" {
				t.Errorf("%s: cors of GET %s (-want +got):\n%s", step, p, diff)
			}
		}
	}

	// az webapp cors add --allowed-origins http://localhost:5000 (az sends
	// no supportCredentials on a site that had none).
	r := writeBack("PATCH", func(c map[string]any) { c["allowedOrigins"] = []any{"http://localhost:5000"} })
	if r.status != 200 {
		t.Fatalf("cors add: %d %s", r.status, r.body)
	}
	want := map[string]any{"allowedOrigins": []any{"http://localhost:5000"}, "supportCredentials": false}
	if got := r.json(t)["properties"].(map[string]any)["cors"]; !cmp.Equal(got, any(want)) {
		t.Errorf("cors add answered cors %v, want %v", got, want)
	}
	wantCORS("after add", want)
	if r, _ := e.store.SiteRouting("app"); !r.CORS.AllowsOrigin("http://localhost:5000") {
		t.Error("the routing table does not allow the added origin")
	}
	// A second add appends, as written.
	writeBack("PATCH", func(c map[string]any) {
		c["allowedOrigins"] = append(c["allowedOrigins"].([]any), "https://*.Contoso.com")
	})
	want["allowedOrigins"] = []any{"http://localhost:5000", "https://*.Contoso.com"}
	wantCORS("after a second add", want)

	// az resource update --set properties.cors.supportCredentials=true: a PUT
	// of what GET showed.
	if r := writeBack("PUT", func(c map[string]any) { c["supportCredentials"] = true }); r.status != 200 {
		t.Fatalf("supportCredentials true: %d %s", r.status, r.body)
	}
	want["supportCredentials"] = true
	wantCORS("with credentials", want)
	if r, _ := e.store.SiteRouting("app"); !r.CORS.Credentials() || !r.CORS.AllowsOrigin("https://api.contoso.com") {
		t.Errorf("the routing table after credentials: %+v", r.CORS)
	}
	if calls := e.ctl.Calls(); len(calls) != 0 {
		t.Errorf("changing CORS restarted the app: %v", calls)
	}

	// What App Service refuses, or Slipway could not apply, is a 400 that
	// says why; nothing of it is kept.
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("https://app%d.test", i)
	}
	for _, c := range []struct {
		name    string
		origins []string
		creds   *bool
		says    string
	}{
		{"'*' with credentials", []string{"*"}, nil, "supportCredentials cannot be true"},
		{"'*' with another origin", []string{"*", "https://a.test"}, ptr(false), "must be the only one"},
		{"a path", []string{"https://a.test/app"}, nil, "no path"},
		{"a trailing slash", []string{"https://a.test/"}, nil, "no path"},
		{"a query", []string{"https://a.test?x=1"}, nil, "query"},
		{"no scheme", []string{"a.test"}, nil, "no scheme"},
		{"null", []string{"null"}, nil, "'null'"},
		{"a bad port", []string{"http://a.test:0"}, nil, "port"},
		{"a wildcard inside a label", []string{"https://a*.test"}, nil, "wildcard"},
		{"too many", many, nil, "at most 100"},
	} {
		r := writeBack("PATCH", func(m map[string]any) {
			m["allowedOrigins"] = c.origins
			if c.creds != nil {
				m["supportCredentials"] = *c.creds
			}
		})
		if r.status != 400 || !strings.Contains(string(r.body), c.says) {
			t.Errorf("%s: %d %s; want 400 saying %q", c.name, r.status, r.body, c.says)
		}
	}
	wantCORS("after the refusals", want)

	// '*' alone, credentials off: every origin.
	writeBack("PATCH", func(c map[string]any) {
		c["allowedOrigins"], c["supportCredentials"] = []any{"*"}, false
	})
	if r, _ := e.store.SiteRouting("app"); !r.CORS.AnyOrigin() {
		t.Error("'*' does not allow every origin in the routing table")
	}

	// az webapp cors remove with no origins: an empty list; the site has no
	// CORS any more, and GET shows the empty list, as App Service does
	// once cors was set (azure-cli's test_webapp_cors checks []).
	writeBack("PATCH", func(c map[string]any) { c["allowedOrigins"] = []any{} })
	wantCORS("after removing every origin", map[string]any{"allowedOrigins": []any{}, "supportCredentials": false})
	if r, _ := e.store.SiteRouting("app"); r.CORS != nil {
		t.Errorf("the routing table after removal: %+v", r.CORS)
	}
	if calls := e.ctl.Calls(); len(calls) != 0 {
		t.Errorf("changing CORS restarted the app: %v", calls)
	}

	// A site created with siteConfig.cors has it from the start; an
	// invalid one is not created.
	e.must(200, "PUT", webPath+"/sites/api", e.path(`{"location":"westeurope","properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan","siteConfig":{"cors":{"allowedOrigins":["https://www.contoso.com"],"supportCredentials":true}}}}`))
	if got := cors(webPath + "/sites/api/config/web"); !cmp.Equal(got, any(map[string]any{"allowedOrigins": []any{"https://www.contoso.com"}, "supportCredentials": true})) {
		t.Errorf("a site created with cors: %v", got)
	}
	r = e.do("PUT", webPath+"/sites/bad", e.path(`{"location":"westeurope","properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan","siteConfig":{"cors":{"allowedOrigins":["*"],"supportCredentials":true}}}}`))
	if r.status != 400 {
		t.Errorf("a site created with '*' and credentials: %d %s", r.status, r.body)
	}
	e.must(404, "GET", webPath+"/sites/bad", "")
}

// TestSlotCORS: each slot has its own CORS (az webapp cors add --slot),
// and a slot created with siteConfig.cors keeps it.
func TestSlotCORS(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.Slots = &swapRecorder{} })
	e.seed()
	e.standardPlan()
	e.must(200, "PUT", slotPath, `{"location":"West Europe","properties":{"serverFarmId":"x","siteConfig":{"cors":{"allowedOrigins":["https://staging.test"]}}}}`)
	e.must(200, "PATCH", sitePath+"/config/web", `{"properties":{"cors":{"allowedOrigins":["https://prod.test"]}}}`)
	slot, _ := e.store.SiteRouting("app-staging")
	prod, _ := e.store.SiteRouting("app")
	if !slot.CORS.AllowsOrigin("https://staging.test") || slot.CORS.AllowsOrigin("https://prod.test") ||
		!prod.CORS.AllowsOrigin("https://prod.test") || prod.CORS.AllowsOrigin("https://staging.test") {
		t.Errorf("routing: slot %+v, production %+v", slot.CORS, prod.CORS)
	}
	e.must(200, "PATCH", slotPath+"/config/web", `{"properties":{"cors":{"allowedOrigins":["https://staging2.test"],"supportCredentials":true}}}`)
	got := e.must(200, "GET", slotPath+"/config/web", "").json(t)["properties"].(map[string]any)["cors"]
	if want := any(map[string]any{"allowedOrigins": []any{"https://staging2.test"}, "supportCredentials": true}); !cmp.Equal(got, want) {
		t.Errorf("the slot's cors: %v, want %v", got, want)
	}
	got = e.must(200, "GET", sitePath+"/config/web", "").json(t)["properties"].(map[string]any)["cors"]
	if want := any(map[string]any{"allowedOrigins": []any{"https://prod.test"}, "supportCredentials": false}); !cmp.Equal(got, want) {
		t.Errorf("production's cors after the slot's changed: %v, want %v", got, want)
	}
}

func ptr[T any](v T) *T { return &v }
