package arm

import (
	"strings"
	"testing"
)

const (
	asPath = "/subscriptions/{s}/resourceGroups/rg/providers/microsoft.insights/autoscalesettings"
	asAPI  = "?api-version=2022-10-01"
)

// asBody is what `az monitor autoscale create --resource <plan id> --count 1
// --min-count min --max-count max` sends (monitor operations
// autoscale_settings.py autoscale_create), with rules as `az monitor
// autoscale rule create` adds them.
func asBody(e *env, minimum, def, maximum, rules string) string {
	plan := e.path(planPath)
	return `{"location":"westeurope","tags":{},"properties":{"enabled":true,"name":"as1","targetResourceUri":"` + plan + `",
		"notifications":[{"operation":"scale","email":{"customEmails":[],"sendToSubscriptionAdministrator":false,"sendToSubscriptionCoAdministrators":false},"webhooks":[]}],
		"profiles":[{"name":"default","capacity":{"minimum":"` + minimum + `","maximum":"` + maximum + `","default":"` + def + `"},"rules":[` + rules + `]}]}}`
}

func cpuRule(e *env, dir, op string, threshold string) string {
	return `{"metricTrigger":{"metricName":"CpuPercentage","metricNamespace":"microsoft.web/serverfarms","metricResourceUri":"` + e.path(planPath) + `","timeGrain":"PT1M","statistic":"Average","timeWindow":"PT5M","timeAggregation":"Average","operator":"` + op + `","threshold":` + threshold + `,"dividePerInstance":false},
		"scaleAction":{"direction":"` + dir + `","type":"ChangeCount","value":"1","cooldown":"PT5M"}}`
}

func TestAutoscaleSetting_Lifecycle(t *testing.T) {
	e := newEnv(t)
	e.must(201, "PUT", rgPath, `{"location":"westeurope"}`)
	e.must(200, "PUT", planPath+"?api-version=2025-03-01", `{"location":"westeurope","sku":{"name":"S1"},"properties":{"reserved":true}}`)
	e.must(404, "GET", asPath+"/as1"+asAPI, "")

	rules := cpuRule(e, "Increase", "GreaterThan", "70") + "," + cpuRule(e, "Decrease", "LessThan", "30")
	put := e.must(201, "PUT", asPath+"/as1"+asAPI, asBody(e, "1", "1", "3", rules)).json(t)
	props := put["properties"].(map[string]any)
	if !strings.EqualFold(put["id"].(string), e.path(asPath+"/as1")) || put["type"] != "Microsoft.Insights/autoscaleSettings" ||
		props["enabled"] != true || props["targetResourceUri"] != e.path(planPath) || props["name"] != "as1" {
		t.Fatalf("PUT = %v", put)
	}
	prof := props["profiles"].([]any)[0].(map[string]any)
	if r := prof["rules"].([]any); len(r) != 2 || r[0].(map[string]any)["metricTrigger"].(map[string]any)["metricNamespace"] != "microsoft.web/serverfarms" {
		t.Fatalf("the rules did not round-trip: %v", prof)
	}
	if n := props["notifications"].([]any); len(n) != 1 {
		t.Fatalf("notifications = %v", n)
	}
	e.must(200, "PUT", asPath+"/as1"+asAPI, asBody(e, "1", "2", "3", rules))
	e.must(409, "PUT", asPath+"/as2"+asAPI, asBody(e, "1", "2", "3", rules)) // one setting per plan

	// PATCH: tags and enabled only; the profiles stay.
	e.must(200, "PATCH", asPath+"/as1"+asAPI, `{"tags":{"env":"prod"},"properties":{"enabled":false}}`)
	got := e.must(200, "GET", asPath+"/as1"+asAPI, "").json(t)
	gp := got["properties"].(map[string]any)
	if got["tags"].(map[string]any)["env"] != "prod" || gp["enabled"] != false ||
		gp["profiles"].([]any)[0].(map[string]any)["capacity"].(map[string]any)["default"] != "2" {
		t.Fatalf("GET after PATCH = %v", got)
	}
	e.must(404, "PATCH", asPath+"/nope"+asAPI, `{"tags":{}}`)
	for _, p := range []string{asPath, "/subscriptions/{s}/providers/Microsoft.Insights/autoscalesettings"} {
		if l := e.must(200, "GET", p+asAPI, "").json(t)["value"].([]any); len(l) != 1 {
			t.Fatalf("GET %s = %v", p, l)
		}
	}
	e.must(200, "DELETE", asPath+"/as1"+asAPI, "")
	e.must(204, "DELETE", asPath+"/as1"+asAPI, "")
	e.must(404, "GET", asPath+"/as1"+asAPI, "")
}

func TestAutoscaleSetting_Invalid(t *testing.T) {
	e := newEnv(t)
	e.must(201, "PUT", rgPath, `{"location":"westeurope"}`)
	e.must(200, "PUT", planPath+"?api-version=2025-03-01", `{"location":"westeurope","sku":{"name":"S1"},"properties":{"reserved":true}}`)
	up := cpuRule(e, "Increase", "GreaterThan", "70")
	for name, body := range map[string]string{
		"min above default":    asBody(e, "2", "1", "3", up),
		"default above max":    asBody(e, "1", "3", "2", up),
		"max above S1's limit": asBody(e, "1", "1", "11", up),
		"unknown metric":       asBody(e, "1", "1", "3", strings.Replace(up, "CpuPercentage", "Requests", 1)),
		"window too short":     asBody(e, "1", "1", "3", strings.Replace(up, `"timeWindow":"PT5M"`, `"timeWindow":"PT1M"`, 1)),
		"other metric target":  asBody(e, "1", "1", "3", strings.Replace(up, e.path(planPath), e.path(sitePath), 1)),
		"target not a plan":    strings.Replace(asBody(e, "1", "1", "3", up), `"targetResourceUri":"`+e.path(planPath), `"targetResourceUri":"`+e.path(sitePath), 1),
		"target missing":       strings.Replace(asBody(e, "1", "1", "3", up), `serverfarms/plan"`, `serverfarms/nope"`, 1),
		"no profiles":          `{"location":"westeurope","properties":{"enabled":true,"targetResourceUri":"` + e.path(planPath) + `","profiles":[]}}`,
		"no location":          `{"properties":{}}`,
	} {
		if r := e.do("PUT", asPath+"/bad"+asAPI, body); r.status != 400 {
			t.Errorf("%s: PUT = %d %s", name, r.status, r.body)
		}
	}
	if r := e.do("PUT", asPath+"/a%3Cb"+asAPI, asBody(e, "1", "1", "3", up)); r.status != 400 {
		t.Errorf("a name with '<': PUT = %d %s", r.status, r.body)
	}
	e.must(404, "GET", asPath+"/bad"+asAPI, "")

	// Basic scales out by hand only.
	e.must(200, "PUT", planPath+"?api-version=2025-03-01", `{"location":"westeurope","sku":{"name":"B1"},"properties":{"reserved":true}}`)
	if r := e.do("PUT", asPath+"/bad"+asAPI, asBody(e, "1", "1", "3", up)); r.status != 400 || !strings.Contains(string(r.body), "Standard or above") {
		t.Errorf("a Basic plan: PUT = %d %s", r.status, r.body)
	}
}
