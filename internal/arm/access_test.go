package arm

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAccessRestrictions: az webapp config access-restriction add reads
// config/web and PATCHes back the list it read (the unmatched rule Azure
// shows last included) with its new rule; show reads the lists and the
// settings; set PATCHes the settings alone. Rules are routing only: no
// change of them restarts the app.
func TestAccessRestrictions(t *testing.T) {
	e := newEnv(t)
	e.seed()
	cfgPath := sitePath + "/config/web"
	rules := func(field string) []any {
		t.Helper()
		return e.must(200, "GET", cfgPath, "").json(t)["properties"].(map[string]any)[field].([]any)
	}
	allowAll := map[string]any{"ipAddress": "Any", "action": "Allow", "priority": float64(2147483647), "name": "Allow all", "description": "Allow all access"}
	denyAll := map[string]any{"ipAddress": "Any", "action": "Deny", "priority": float64(2147483647), "name": "Deny all", "description": "Deny all access"}

	// No rules: the unmatched rule allows all.
	if diff := cmp.Diff([]any{allowAll}, rules("ipSecurityRestrictions")); diff != "" {
		t.Errorf("rules of a new site (-want +got):\n%s", diff)
	}

	// az access-restriction add --rule-name office --action Deny --ip-address 127.0.0.1/32 --priority 100:
	// what it read, plus its rule, the priority as a string (as az sends it). A bare address is a /32; host bits are
	// cleared, as az itself writes the range.
	e.must(200, "PATCH", cfgPath, `{"properties":{"ipSecurityRestrictions":[
		{"ipAddress":"Any","action":"Allow","priority":2147483647,"name":"Allow all","description":"Allow all access"},
		{"ipAddress":"127.0.0.1","action":"deny","tag":"Default","priority":"100","name":"office","description":"the office"},
		{"ipAddress":"10.1.2.3/8,2001:db8::1","action":"Allow","tag":"Default","priority":50,"name":"two"}]}}`)
	want := []any{
		map[string]any{"ipAddress": "127.0.0.1/32", "action": "Deny", "tag": "Default", "priority": float64(100), "name": "office", "description": "the office"},
		map[string]any{"ipAddress": "10.0.0.0/8,2001:db8::1/128", "action": "Allow", "tag": "Default", "priority": float64(50), "name": "two"},
		denyAll, // rules and no default action: the implicit deny all
	}
	if diff := cmp.Diff(want, rules("ipSecurityRestrictions")); diff != "" {
		t.Errorf("rules after add (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{allowAll}, rules("scmIpSecurityRestrictions")); diff != "" {
		t.Errorf("Kudu's rules after adding the app's (-want +got):\n%s", diff)
	}

	// az's round trip: GET, PUT back unchanged — the "Deny all" entry is
	// not stored as a rule, nothing changes, nothing restarts.
	doc := e.must(200, "GET", cfgPath, "").json(t)
	back, _ := json.Marshal(map[string]any{"properties": doc["properties"]})
	e.must(200, "PUT", cfgPath, string(back))
	if diff := cmp.Diff(want, rules("ipSecurityRestrictions")); diff != "" {
		t.Errorf("rules after the round trip (-want +got):\n%s", diff)
	}

	// az access-restriction set --use-same-restrictions-for-scm-site true --default-action Allow --scm-default-action Deny
	e.must(200, "PATCH", cfgPath, `{"properties":{"scmIpSecurityRestrictionsUseMain":true,"ipSecurityRestrictionsDefaultAction":"allow","scmIpSecurityRestrictionsDefaultAction":"Deny"}}`)
	props := e.must(200, "GET", cfgPath, "").json(t)["properties"].(map[string]any)
	if props["scmIpSecurityRestrictionsUseMain"] != true || props["ipSecurityRestrictionsDefaultAction"] != "Allow" || props["scmIpSecurityRestrictionsDefaultAction"] != "Deny" {
		t.Errorf("settings after set: useMain=%v default=%v scmDefault=%v", props["scmIpSecurityRestrictionsUseMain"], props["ipSecurityRestrictionsDefaultAction"], props["scmIpSecurityRestrictionsDefaultAction"])
	}
	if got := rules("ipSecurityRestrictions"); len(got) != 3 || got[2].(map[string]any)["name"] != "Allow all" {
		t.Errorf("with default action Allow the unmatched rule is %v", got[len(got)-1])
	}
	if diff := cmp.Diff([]any{denyAll}, rules("scmIpSecurityRestrictions")); diff != "" {
		t.Errorf("Kudu's rules with default action Deny (-want +got):\n%s", diff)
	}

	// A round trip with settings and rules still changes nothing.
	doc = e.must(200, "GET", cfgPath, "").json(t)
	back, _ = json.Marshal(map[string]any{"properties": doc["properties"]})
	before := string(e.must(200, "GET", cfgPath, "").body)
	e.must(200, "PUT", cfgPath, string(back))
	if after := string(e.must(200, "GET", cfgPath, "").body); after != before {
		t.Errorf("round trip changed the config:\n%s\n%s", before, after)
	}

	// az access-restriction remove --rule-name office --action Deny: the list without it.
	list := rules("ipSecurityRestrictions")
	body, _ := json.Marshal(map[string]any{"properties": map[string]any{"ipSecurityRestrictions": []any{list[1], list[2]}}})
	e.must(200, "PATCH", cfgPath, string(body))
	if got := rules("ipSecurityRestrictions"); len(got) != 2 || strings.Contains(string(mustJSON(t, got)), "office") {
		t.Errorf("rules after remove: %v", got)
	}

	// The site resource shows and takes them too (siteConfig).
	site := e.must(200, "GET", sitePath, "").json(t)["properties"].(map[string]any)["siteConfig"].(map[string]any)
	if got := site["ipSecurityRestrictions"].([]any); len(got) != 2 {
		t.Errorf("siteConfig.ipSecurityRestrictions of the site: %v", got)
	}
	e.must(200, "PATCH", sitePath, `{"properties":{"siteConfig":{"ipSecurityRestrictions":[{"ipAddress":"192.0.2.0/24","action":"Deny","priority":7}]}}}`)
	if got := rules("ipSecurityRestrictions"); len(got) != 2 || got[0].(map[string]any)["ipAddress"] != "192.0.2.0/24" {
		t.Errorf("rules after a site PATCH: %v", got)
	}

	// An empty list removes every rule.
	e.must(200, "PATCH", cfgPath, `{"properties":{"ipSecurityRestrictions":[],"ipSecurityRestrictionsDefaultAction":"Allow"}}`)
	if got := rules("ipSecurityRestrictions"); len(got) != 1 {
		t.Errorf("rules after clearing: %v", got)
	}

	if calls := e.ctl.Calls(); len(calls) != 0 {
		t.Errorf("changing access restrictions restarted the app: %v", calls)
	}

	// A new site may be created with rules.
	e.must(200, "PUT", webPath+"/sites/ruled", e.path(`{"location":"westeurope","properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan","siteConfig":{"ipSecurityRestrictions":[{"ipAddress":"10.0.0.0/8","action":"Deny","priority":1}]}}}`))
	if got := e.must(200, "GET", webPath+"/sites/ruled/config/web", "").json(t)["properties"].(map[string]any)["ipSecurityRestrictions"].([]any); len(got) != 2 {
		t.Errorf("rules of a site created with one: %v", got)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
