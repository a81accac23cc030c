package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// insightsApp is an app that, on each request, sends one trace to the
// ingestion endpoint its APPLICATIONINSIGHTS_CONNECTION_STRING names, with
// the standard library only (what the Azure Monitor exporters do, without
// their packages), and answers what the endpoint answered.
const insightsApp = `import datetime, json, os, urllib.error, urllib.request

def settings():
    cs = os.environ.get("APPLICATIONINSIGHTS_CONNECTION_STRING", "")
    return dict(p.split("=", 1) for p in cs.split(";") if "=" in p)

def app(environ, start_response):
    cs = settings()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    item = [{"name": "Microsoft.ApplicationInsights.Message", "time": now, "iKey": cs.get("InstrumentationKey", ""),
             "tags": {"ai.cloud.role": os.environ.get("WEBSITE_SITE_NAME", ""),
                      "ai.cloud.roleInstance": os.environ.get("WEBSITE_INSTANCE_ID", "")},
             "data": {"baseType": "MessageData", "baseData": {"ver": 2, "severityLevel": "Warning",
                      "message": "hello from " + environ.get("PATH_INFO", "")}}}]
    headers = {"Content-Type": "application/json"}
    if environ.get("PATH_INFO", "").startswith("/entra"):
        # The app's managed identity's token for ingestion, as
        # configure_azure_monitor(credential=ManagedIdentityCredential()) gets it.
        ask = urllib.request.Request(os.environ["IDENTITY_ENDPOINT"] + "?api-version=2019-08-01&resource=https://monitor.azure.com",
                                     headers={"X-IDENTITY-HEADER": os.environ["IDENTITY_HEADER"]})
        with urllib.request.urlopen(ask, timeout=20) as r:
            headers["Authorization"] = "Bearer " + json.load(r)["access_token"]
    req = urllib.request.Request(cs.get("IngestionEndpoint", "") + "v2.1/track", data=json.dumps(item).encode(),
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            body = r.read()
    except urllib.error.HTTPError as e:
        body = e.read()
    except Exception as e:
        body = json.dumps({"error": repr(e)}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
`

// TestInsightsFromAnApp: an Application Insights component made through
// ARM gives a connection string; set as the app's
// APPLICATIONINSIGHTS_CONNECTION_STRING, as on App Service, it leads the
// app's telemetry from inside its sandbox (name, port and certificate of
// the platform's ingestion endpoint) to the component, where the query API
// reads it back.
func TestInsightsFromAnApp(t *testing.T) {
	needSandbox(t, "an app's telemetry from its sandbox needs")
	s := startServer(t)
	const app = "aiapp"
	s.createApp(app)
	var sub struct{ ID string }
	json.Unmarshal([]byte(s.mustCLI("", "webapp", "show", "-g", "rg-"+app, "-n", app)), &sub)
	id := sub.ID[:strings.Index(sub.ID, "/providers/")] + "/providers/Microsoft.Insights/components/ai-" + app
	arm := s.arm
	// Slipway's CLI, as az's application-insights extension: create the
	// component, and connect the app to it (its connection string as the
	// app's setting).
	var comp struct {
		AppID              string `json:"appId"`
		ConnectionString   string `json:"connectionString"`
		InstrumentationKey string `json:"instrumentationKey"`
		ResourceGroup      string `json:"resourceGroup"`
	}
	out := s.mustCLI("", "monitor", "app-insights", "component", "create", "--app", "ai-"+app, "-g", "rg-"+app, "-l", "westeurope", "-o", "json")
	if err := json.Unmarshal([]byte(out), &comp); err != nil || comp.AppID == "" || comp.ResourceGroup != "rg-"+app {
		t.Fatalf("component create: %v\n%s", err, out)
	}
	cs := comp.ConnectionString
	if !strings.Contains(cs, "IngestionEndpoint=https://dc.insights.localhost:") || !strings.Contains(cs, comp.InstrumentationKey) {
		t.Errorf("the connection string names %q", cs)
	}
	s.mustCLI("", "monitor", "app-insights", "component", "connect-webapp", "--app", "ai-"+app, "-g", "rg-"+app, "--web-app", app)
	if got := s.mustCLI("", "webapp", "config", "appsettings", "list", "-g", "rg-"+app, "-n", app, "--query", "[?name=='APPLICATIONINSIGHTS_CONNECTION_STRING'].value", "-o", "tsv"); strings.TrimSpace(got) != cs {
		t.Fatalf("connect-webapp set %q", got)
	}
	if code := s.deployZip(app, zipDir(t, t.TempDir(), map[string]string{"app.py": insightsApp})); code != "200" {
		t.Fatalf("deploy: %s\n%s", code, s.lastDeploymentLog(app))
	}
	code, body := s.get(s.host(app), "/orders")
	if code != 200 || !strings.Contains(body, `"itemsAccepted":1`) {
		t.Fatalf("the app's track: %d %s", code, body)
	}

	// The query API (api.insights.<domain>) through the CLI, as the
	// extension's `events show`: by application id, and by name.
	var events struct {
		Value []struct {
			Trace struct {
				Message       string `json:"message"`
				SeverityLevel int    `json:"severityLevel"`
			} `json:"trace"`
			Cloud struct {
				RoleName string `json:"roleName"`
			} `json:"cloud"`
		} `json:"value"`
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		out := s.mustCLI("", "monitor", "app-insights", "events", "show", "--app", comp.AppID, "--type", "traces", "--offset", "10m", "-o", "json")
		if err := json.Unmarshal([]byte(out), &events); err != nil {
			t.Fatalf("events show: %v\n%s", err, out)
		}
		if strings.Contains(out, "hello from /orders") || time.Now().After(deadline) {
			break
		}
	}
	if out := s.mustCLI("", "monitor", "app-insights", "events", "show", "--app", "ai-"+app, "-g", "rg-"+app, "--type", "traces", "-o", "json"); !strings.Contains(out, "hello from /orders") {
		t.Errorf("events show by name:\n%s", out)
	}
	found := false
	for _, e := range events.Value { // the platform's readiness probe made some too
		if e.Trace.Message == "hello from /orders" && e.Trace.SeverityLevel == 2 && e.Cloud.RoleName == app {
			found = true
		}
	}
	if !found {
		t.Errorf("the app's trace is not among %+v", events.Value)
	}

	// Local authentication off (DisableLocalAuth): the key alone is
	// refused, the app's managed identity's token is refused until the
	// identity has Monitoring Metrics Publisher on the component, then
	// taken.
	if code, b := arm("PUT", id+"?api-version=2020-02-02", `{"location":"westeurope","kind":"web","properties":{"Application_Type":"web","DisableLocalAuth":true}}`); code/100 != 2 {
		t.Fatalf("DisableLocalAuth: %d %s", code, b)
	}
	var identity struct {
		PrincipalID string `json:"principalId"`
	}
	json.Unmarshal([]byte(s.mustCLI("", "webapp", "identity", "assign", "-g", "rg-"+app, "-n", app)), &identity)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(500 * time.Millisecond) {
		// The identity's endpoint reaches the instance with its restart.
		code, body := s.get(s.host(app), "/entra-before")
		if code == 200 && strings.Contains(body, "Monitoring Metrics Publisher") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("with the app's token before its role: %d %s", code, body)
		}
	}
	if code, body := s.get(s.host(app), "/key-only"); code != 200 || !strings.Contains(body, `"statusCode":401`) {
		t.Errorf("the key alone, with local authentication off: %d %s", code, body)
	}
	s.mustCLI("", "role", "assignment", "create", "--role", "Monitoring Metrics Publisher", "--assignee-object-id", identity.PrincipalID, "--scope", id)
	if code, body := s.get(s.host(app), "/entra-after"); code != 200 || !strings.Contains(body, `"itemsAccepted":1`) {
		t.Errorf("with the app's token and its role: %d %s", code, body)
	}

	// Deleting the component takes its telemetry's key away: the app's
	// next item is refused.
	if code, b := arm("DELETE", id+"?api-version=2020-02-02", ""); code/100 != 2 {
		t.Fatalf("deleting the component: %d %s", code, b)
	}
	if code, body := s.get(s.host(app), "/after"); code != 200 || !strings.Contains(body, "Invalid instrumentation key") {
		t.Errorf("after the component's deletion: %d %s", code, body)
	}
}

// TestInsightsAgentDjango: App Service's Python autoinstrumentation — the
// app setting ApplicationInsightsAgent_EXTENSION_VERSION with a connection
// string, DJANGO_SETTINGS_MODULE as Microsoft's documentation asks — sends
// a Django app's requests to its component with no change to the app
// (examples/todo has no telemetry package of its own), and the app's log
// says the agent is on.
func TestInsightsAgentDjango(t *testing.T) {
	needSandbox(t, "the agent in an app's sandbox needs")
	s := startServer(t)
	project, _, _ := s.upProject("../../examples/todo", "aitodo")
	rg := defaultGroup(t, project)
	s.mustCLI("", "webapp", "update", "-g", rg, "-n", "aitodo", "--https-only", "false")
	var comp struct {
		AppID string `json:"appId"`
	}
	json.Unmarshal([]byte(s.mustCLI("", "monitor", "app-insights", "component", "create", "--app", "ai-todo", "-g", rg, "-o", "json")), &comp)
	s.mustCLI("", "monitor", "app-insights", "component", "connect-webapp", "--app", "ai-todo", "-g", rg, "--web-app", "aitodo")
	s.mustCLI("", "webapp", "config", "appsettings", "set", "-g", rg, "-n", "aitodo", "--settings",
		"ApplicationInsightsAgent_EXTENSION_VERSION=~3", "DJANGO_SETTINGS_MODULE=todoproject.settings")
	var out string
	for deadline := time.Now().Add(4 * time.Minute); ; time.Sleep(time.Second) {
		if code, body := s.get(s.host("aitodo"), "/?from=agent"); code != 200 || !strings.Contains(body, "open-todos") {
			time.Sleep(3 * time.Second) // the traceback's last lines
			t.Fatalf("GET / = %d %.300s\napp log:\n%s", code, body, tail(s.appOutput("aitodo"), 40))
		}
		out = s.mustCLI("", "monitor", "app-insights", "events", "show", "--app", comp.AppID, "--type", "requests", "--offset", "10m", "-o", "json")
		if strings.Contains(out, `"resultCode": "200"`) || time.Now().After(deadline) {
			break
		}
	}
	var events struct {
		Value []struct {
			Request struct {
				Name       string `json:"name"`
				URL        string `json:"url"`
				ResultCode string `json:"resultCode"`
				Success    string `json:"success"`
			} `json:"request"`
			Cloud struct {
				RoleInstance string `json:"roleInstance"`
			} `json:"cloud"`
		} `json:"value"`
	}
	if err := json.Unmarshal([]byte(out), &events); err != nil {
		t.Fatalf("events: %v\n%s", err, out)
	}
	found := false
	for _, e := range events.Value {
		if strings.HasPrefix(e.Request.Name, "GET") && strings.Contains(e.Request.URL, "from=agent") && e.Request.ResultCode == "200" && e.Request.Success == "True" {
			found = true
		}
	}
	if !found {
		t.Errorf("no GET / request with its status among the agent's telemetry:\n%s\napp log:\n%s", out, tail(s.appOutput("aitodo"), 30))
	}
	if log := s.appOutput("aitodo"); !strings.Contains(log, "Application Insights agent: on") || !strings.Contains(log, "Application Insights agent: sending telemetry") {
		t.Errorf("the app's log does not say the agent is on:\n%s", tail(log, 30))
	}

	// Without DJANGO_SETTINGS_MODULE, OpenTelemetry's Django
	// instrumentation would put Django's default settings in the app's
	// (every request a 500): the agent leaves Django out, and says why.
	s.mustCLI("", "webapp", "config", "appsettings", "delete", "-g", rg, "-n", "aitodo", "--setting-names", "DJANGO_SETTINGS_MODULE")
	if code, body := s.get(s.host("aitodo"), "/"); code != 200 || !strings.Contains(body, "open-todos") {
		t.Fatalf("without DJANGO_SETTINGS_MODULE: GET / = %d %.300s\napp log:\n%s", code, body, tail(s.appOutput("aitodo"), 30))
	}
	if log := s.appOutput("aitodo"); !strings.Contains(log, "set the app setting DJANGO_SETTINGS_MODULE") {
		t.Errorf("the app's log does not say why Django is not instrumented:\n%s", tail(log, 30))
	}
}
