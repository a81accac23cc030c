package arm

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/diskreserve"
)

// TestSiteConfigRefusesWhatItCannotDo: az writes the whole SiteConfig back
// on every `webapp config set`, `cors add` and `config access-restriction
// add`. Values that say what Slipway does go through; a setting Slipway
// would not act on is refused with a reason, never stored or answered 200
// (found with the real az: access-restriction add and cors add exited 0
// and did nothing). IP access restrictions and CORS are applied by the
// front door and so accepted (access_test.go, cors_test.go); the kinds of
// rule it cannot enforce, and origins that are no origins, are not.
func TestSiteConfigRefusesWhatItCannotDo(t *testing.T) {
	e := newEnv(t)
	e.seed()
	cfgPath := sitePath + "/config/web"

	// The round trip az makes: GET, then PUT it back unchanged.
	got := e.must(200, "GET", cfgPath, "")
	var doc map[string]any
	if err := json.Unmarshal(got.body, &doc); err != nil {
		t.Fatal(err)
	}
	back, _ := json.Marshal(map[string]any{"properties": doc["properties"]})
	e.must(200, "PUT", cfgPath, string(back))
	if calls := e.ctl.Calls(); len(calls) != 0 {
		t.Errorf("writing the config back unchanged restarted the app: %v", calls)
	}

	for _, c := range []struct{ name, body, says string }{
		{"plain FTP", `{"properties":{"ftpsState":"AllAllowed"}}`, "serves no FTP"},
		{"auto-heal rules", `{"properties":{"autoHealEnabled":true,"autoHealRules":{"triggers":{"statusCodes":[{"status":500,"count":10,"timeInterval":"00:01:00"}]},"actions":{"actionType":"Recycle"}}}}`, "autoHealRules"},
		{"an unknown cipher suite", `{"properties":{"minTlsCipherSuite":"TLS_RSA_WITH_RC4_128_SHA"}}`, "not one of App Service's cipher suites"},
		{"TLS 1.3's AES-256 alone", `{"properties":{"minTlsCipherSuite":"TLS_AES_256_GCM_SHA384"}}`, "TLS_AES_128_GCM_SHA256"},
		{"a service tag", `{"properties":{"ipSecurityRestrictions":[{"ipAddress":"AzureFrontDoor.Backend","tag":"ServiceTag","action":"Allow","priority":100}]}}`, "service tag"},
		{"a subnet", `{"properties":{"ipSecurityRestrictions":[{"vnetSubnetResourceId":"/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s","action":"Allow","priority":100}]}}`, "virtual networks"},
		{"a header filter", `{"properties":{"ipSecurityRestrictions":[{"ipAddress":"10.0.0.0/8","action":"Allow","priority":100,"headers":{"x-azure-fdid":["abc"]}}]}}`, "header filters"},
		{"an XffProxy tag", `{"properties":{"scmIpSecurityRestrictions":[{"ipAddress":"10.0.0.0/8","tag":"XffProxy","action":"Allow","priority":100}]}}`, "X-Forwarded-For"},
		{"a bad range", `{"properties":{"ipSecurityRestrictions":[{"ipAddress":"10.0.0.0/33","action":"Deny","priority":100}]}}`, "CIDR"},
		{"a host name", `{"properties":{"ipSecurityRestrictions":[{"ipAddress":"example.com","action":"Deny","priority":100}]}}`, "CIDR"},
		{"a bad action", `{"properties":{"ipSecurityRestrictions":[{"ipAddress":"10.0.0.0/8","action":"Block","priority":100}]}}`, "Allow or Deny"},
		{"Any as a rule", `{"properties":{"ipSecurityRestrictions":[{"ipAddress":"Any","action":"Deny","priority":100}]}}`, "unmatched rule"},
		{"a priority that is no number", `{"properties":{"ipSecurityRestrictions":[{"ipAddress":"10.0.0.0/8","action":"Allow","priority":"high"}]}}`, "not an integer"},
		{"a negative priority", `{"properties":{"ipSecurityRestrictions":[{"ipAddress":"10.0.0.0/8","action":"Allow","priority":-1}]}}`, "out of range"},
		{"a bad default action", `{"properties":{"ipSecurityRestrictionsDefaultAction":"Block"}}`, "default action"},
		{"too many rules", `{"properties":{"ipSecurityRestrictions":[` + manyRules(513) + `]}}`, "at most 512"},
		{"nine ranges in a rule", `{"properties":{"ipSecurityRestrictions":[{"ipAddress":"10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4,10.0.0.5,10.0.0.6,10.0.0.7,10.0.0.8,10.0.0.9","action":"Allow","priority":1}]}}`, "at most 8"},
		{"cors origins with a path", `{"properties":{"cors":{"allowedOrigins":["https://example.com/"],"supportCredentials":false}}}`, "https://example.com/"},
	} {
		r := e.do("PATCH", cfgPath, c.body)
		if r.status != 400 || !strings.Contains(string(r.body), c.says) {
			t.Errorf("%s: %d %s; want 400 saying %q", c.name, r.status, r.body, c.says)
		}
	}
	// Nothing of it was kept, and nothing restarted.
	props := e.must(200, "GET", cfgPath, "").json(t)["properties"].(map[string]any)
	if props["http20Enabled"] != true || props["webSocketsEnabled"] != true || props["cors"] != nil || props["ftpsState"] != "Disabled" {
		t.Errorf("config after the refusals: http20Enabled=%v webSocketsEnabled=%v cors=%v ftpsState=%v",
			props["http20Enabled"], props["webSocketsEnabled"], props["cors"], props["ftpsState"])
	}
	if rules, _ := json.Marshal(props["ipSecurityRestrictions"]); !strings.Contains(string(rules), `"Allow all"`) || strings.Contains(string(rules), "10.0.0.0") {
		t.Errorf("ipSecurityRestrictions after the refusals: %s", rules)
	}
	if props["ipSecurityRestrictionsDefaultAction"] != nil {
		t.Errorf("ipSecurityRestrictionsDefaultAction after the refusals: %v", props["ipSecurityRestrictionsDefaultAction"])
	}
	if calls := e.ctl.Calls(); len(calls) != 0 {
		t.Errorf("a refused config restarted the app: %v", calls)
	}

	// What Slipway does anyway is accepted: FtpsOnly (no plain FTP: none at
	// all), an empty CORS list, no rules.
	e.must(200, "PATCH", cfgPath, `{"properties":{"ftpsState":"FtpsOnly","cors":{"allowedOrigins":[]},"ipSecurityRestrictions":[],"http20Enabled":true}}`)
	// ... and reads back as written (azd's App Service module sets
	// FtpsOnly; a tool that compares what it wrote must not see drift).
	for _, v := range []string{"FtpsOnly", "Disabled", "ftpsonly"} {
		if v != "FtpsOnly" {
			e.must(200, "PATCH", cfgPath, `{"properties":{"ftpsState":"`+v+`"}}`)
		}
		want := map[string]string{"FtpsOnly": "FtpsOnly", "Disabled": "Disabled", "ftpsonly": "FtpsOnly"}[v]
		if got := e.must(200, "GET", cfgPath, "").json(t)["properties"].(map[string]any)["ftpsState"]; got != want {
			t.Errorf("ftpsState after setting %s: %v, want %s", v, got, want)
		}
	}

	// A new site whose siteConfig holds a service tag rule is not created.
	r := e.do("PUT", webPath+"/sites/ruled", e.path(`{"location":"westeurope","properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan","siteConfig":{"ipSecurityRestrictions":[{"ipAddress":"AzureCloud","tag":"ServiceTag","action":"Allow","priority":1}]}}}`))
	if r.status != 400 {
		t.Errorf("site with a service tag rule: %d %s", r.status, r.body)
	}
	e.must(404, "GET", webPath+"/sites/ruled", "")
}

// TestSiteConfigProtocolSwitches: http20Enabled false (az webapp config
// set --http20-enabled false) and webSocketsEnabled false
// (--web-sockets-enabled false, or a template exported from the portal,
// which writes it) are stored, shown and handed to the front door
// (frontdoor's TestHTTP20OffPerSite and TestWebSocketsOffPerSite show what
// it then does); true again restores them; a new site has both on.
func TestSiteConfigProtocolSwitches(t *testing.T) {
	for _, c := range []struct {
		field string
		off   func(cfg slipway.SiteConfig) bool
	}{
		{"http20Enabled", func(c slipway.SiteConfig) bool { return c.HTTP20Off }},
		{"webSocketsEnabled", func(c slipway.SiteConfig) bool { return c.WebSocketsOff }},
	} {
		t.Run(c.field, func(t *testing.T) {
			e := newEnv(t)
			e.seed()
			cfgPath := sitePath + "/config/web"
			show := func() any {
				return e.must(200, "GET", cfgPath, "").json(t)["properties"].(map[string]any)[c.field]
			}
			if v := show(); v != true {
				t.Fatalf("a new site's %s: %v", c.field, v)
			}
			e.must(200, "PATCH", cfgPath, `{"properties":{"`+c.field+`":false}}`)
			if v := show(); v != false {
				t.Errorf("after setting it false: %v", v)
			}
			if s, err := e.store.Site(t.Context(), "rg", "app"); err != nil || !c.off(s.Config) {
				t.Errorf("the stored site: %+v, %v", s.Config, err)
			}
			if r, ok := e.store.SiteRouting("app"); !ok || !c.off(slipway.SiteConfig{HTTP20Off: r.HTTP20Off, WebSocketsOff: r.WebSocketsOff}) {
				t.Errorf("the front door's routing record: %+v", r)
			}
			e.must(200, "PATCH", cfgPath, `{"properties":{"`+c.field+`":true}}`)
			if v := show(); v != true {
				t.Errorf("after setting it true again: %v", v)
			}
			// A site created with it off (a template's siteConfig) has it off.
			e.must(200, "PUT", webPath+"/sites/templated", e.path(`{"location":"westeurope","properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan","siteConfig":{"`+c.field+`":false}}}`))
			if v := e.must(200, "GET", webPath+"/sites/templated/config/web", "").json(t)["properties"].(map[string]any)[c.field]; v != false {
				t.Errorf("a site created with %s false reads %v", c.field, v)
			}
		})
	}
}

// manyRules is n distinct allow rules, comma-separated.
func manyRules(n int) string {
	rs := make([]string, n)
	for i := range rs {
		rs[i] = fmt.Sprintf(`{"ipAddress":"10.%d.%d.0/24","action":"Allow","priority":%d}`, i/256, i%256, i+1)
	}
	return strings.Join(rs, ",")
}

// TestAlwaysOnNeedsAPaidPlan: App Service refuses Always On on Free and
// Shared plans with 409 (found with the real az: accepted on F1).
func TestAlwaysOnNeedsAPaidPlan(t *testing.T) {
	e := newEnv(t)
	e.seed()
	e.must(200, "PUT", webPath+"/serverfarms/free", `{"location":"westeurope","sku":{"name":"F1"},"properties":{"reserved":true}}`)
	e.must(200, "PUT", webPath+"/sites/freeapp", e.path(`{"location":"westeurope","properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/free"}}`))

	r := e.do("PATCH", webPath+"/sites/freeapp/config/web", `{"properties":{"alwaysOn":true}}`)
	if r.status != 409 || !strings.Contains(string(r.body), "AlwaysOn cannot be set for this site as the plan does not allow it") {
		t.Errorf("Always On on F1: %d %s", r.status, r.body)
	}
	if e.must(200, "GET", webPath+"/sites/freeapp/config/web", "").json(t)["properties"].(map[string]any)["alwaysOn"] != false {
		t.Error("Always On was stored on F1")
	}
	r = e.do("PATCH", webPath+"/sites/freeapp", `{"properties":{"siteConfig":{"alwaysOn":true}}}`)
	if r.status != 409 {
		t.Errorf("Always On on F1 through the site: %d %s", r.status, r.body)
	}
	e.must(200, "PATCH", webPath+"/sites/freeapp/config/web", `{"properties":{"alwaysOn":false}}`)
	// On the B1 plan it is allowed.
	e.must(200, "PATCH", sitePath+"/config/web", `{"properties":{"alwaysOn":true}}`)
}

// TestAttackSettingsFillTheDisk: on a disk at its reserve, where the
// platform's store lives, a PUT or PATCH is refused with 503 and
// Retry-After and changes nothing; reads go on, and so does the change
// once there is room.
func TestAttackSettingsFillTheDisk(t *testing.T) {
	var free atomic.Uint64
	free.Store(100 << 30)
	guard := diskreserve.New(diskreserve.Config{Path: t.TempDir(), What: "changes", Reserve: diskreserve.Amount{Bytes: 1 << 30},
		FreeSpace: func(string) (diskreserve.Space, error) {
			return diskreserve.Space{Free: free.Load(), Size: 200 << 30}, nil
		},
		Now: func() time.Time { return time.Now().Add(time.Duration(free.Load())) }}) // a new reading per change
	e := newEnvWith(t, func(c *Config) { c.Reserve = guard })
	e.seed()
	settings := sitePath + "/config/appsettings"
	e.must(200, "PUT", settings, `{"properties":{"A":"1"}}`)

	free.Store(512 << 20) // under the 1 GiB reserve
	r := e.do("PUT", settings, `{"properties":{"A":"2","BIG":"`+strings.Repeat("x", 1<<20)+`"}}`)
	if r.status != 503 || !strings.Contains(string(r.body), "short of disk space") || r.header.Get("Retry-After") == "" {
		t.Fatalf("PUT appsettings on a short disk: %d %.300s", r.status, r.body)
	}
	if r := e.do("PATCH", sitePath+"/config/web", `{"properties":{"alwaysOn":true}}`); r.status != 503 {
		t.Errorf("PATCH config/web on a short disk: %d %.300s", r.status, r.body)
	}
	got := e.must(200, "POST", settings+"/list", "").json(t)["properties"].(map[string]any)
	if got["A"] != "1" || got["BIG"] != nil {
		t.Errorf("the settings after the refusal: A=%v, BIG set: %v", got["A"], got["BIG"] != nil)
	}

	free.Store(100 << 30)
	e.must(200, "PUT", settings, `{"properties":{"A":"2"}}`)
}

// TestListSiteConfigs: GET sites/{app}/config lists the app's
// configurations — its config/web, as GET config/web shows it (the Azure
// SDK for Go's WebAppsClient.NewListConfigurationsPager).
func TestListSiteConfigs(t *testing.T) {
	e := newEnv(t)
	e.seed()
	web := e.must(200, "GET", sitePath+"/config/web", "").json(t)
	var got struct{ Value []map[string]any }
	if err := json.Unmarshal(e.must(200, "GET", sitePath+"/config", "").body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Value) != 1 {
		t.Fatalf("configurations: %v", got.Value)
	}
	if diff := cmp.Diff(web, got.Value[0]); diff != "" {
		t.Errorf("listed config/web (-GET +list):\n%s", diff)
	}
	e.must(404, "GET", webPath+"/sites/nope/config", "")
}

// TestSiteConfigCipherSuiteAutoHealEndToEnd: minTlsCipherSuite is stored
// in App Service's spelling, shown, and handed to the front door's table
// (frontdoor's TestMinTLSCipherSuitePerSite shows what it then accepts);
// autoHealEnabled and the site's endToEndEncryptionEnabled are kept and
// shown (azure-cli's test_webapp_config and
// test_webapp_update_e2e_encryption read them back).
func TestSiteConfigCipherSuiteAutoHealEndToEnd(t *testing.T) {
	e := newEnv(t)
	e.seed()
	cfgPath := sitePath + "/config/web"
	props := func() map[string]any { return e.must(200, "GET", cfgPath, "").json(t)["properties"].(map[string]any) }
	if p := props(); p["minTlsCipherSuite"] != nil || p["autoHealEnabled"] != false {
		t.Fatalf("a new site: minTlsCipherSuite %v, autoHealEnabled %v", p["minTlsCipherSuite"], p["autoHealEnabled"])
	}
	e.must(200, "PATCH", cfgPath, `{"properties":{"minTlsCipherSuite":"tls_ecdhe_rsa_with_aes_128_gcm_sha256","autoHealEnabled":true}}`)
	if p := props(); p["minTlsCipherSuite"] != "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" || p["autoHealEnabled"] != true {
		t.Errorf("after setting them: minTlsCipherSuite %v, autoHealEnabled %v", p["minTlsCipherSuite"], p["autoHealEnabled"])
	}
	if r, ok := e.store.SiteRouting("app"); !ok || r.MinTLSCipherSuite != "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" {
		t.Errorf("the front door's table: %+v", r)
	}
	e.must(200, "PATCH", cfgPath, `{"properties":{"minTlsCipherSuite":""}}`)
	if p := props(); p["minTlsCipherSuite"] != nil {
		t.Errorf("after clearing it: %v", p["minTlsCipherSuite"])
	}
	site := func() map[string]any { return e.must(200, "GET", sitePath, "").json(t)["properties"].(map[string]any) }
	if v := site()["endToEndEncryptionEnabled"]; v != false {
		t.Fatalf("a new site's endToEndEncryptionEnabled: %v", v)
	}
	e.must(200, "PATCH", sitePath, `{"properties":{"endToEndEncryptionEnabled":true}}`)
	if v := site()["endToEndEncryptionEnabled"]; v != true {
		t.Errorf("after setting it: %v", v)
	}
}
