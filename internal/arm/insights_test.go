package arm

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

const (
	aiPath = "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Insights/components"
	aiAPI  = "?api-version=2020-02-02"
)

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// componentProps returns a component document's properties.
func componentProps(t *testing.T, doc map[string]any) map[string]any {
	t.Helper()
	p, ok := doc["properties"].(map[string]any)
	if !ok {
		t.Fatalf("no properties: %v", doc)
	}
	return p
}

// TestInsightsComponent_Lifecycle: what `az resource create
// --resource-type Microsoft.Insights/components --properties
// '{"Application_Type":"web"}'` sends, then show, tag, list and delete,
// with Azure's shapes (ComponentsCreate.json of the 2020-02-02 REST spec).
func TestInsightsComponent_Lifecycle(t *testing.T) {
	e := newEnv(t)
	e.must(201, "PUT", rgPath, `{"location":"westeurope"}`)
	e.must(404, "GET", aiPath+"/ai1"+aiAPI, "")

	put := e.must(200, "PUT", aiPath+"/ai1"+aiAPI, `{"location":"westeurope","properties":{"Application_Type":"web"}}`).json(t)
	props := componentProps(t, put)
	ikey, _ := props["InstrumentationKey"].(string)
	appID, _ := props["AppId"].(string)
	if !guidRE.MatchString(ikey) || !guidRE.MatchString(appID) || ikey == appID {
		t.Fatalf("keys = %q, %q; want two GUIDs", ikey, appID)
	}
	wantConn := "InstrumentationKey=" + ikey + ";IngestionEndpoint=https://dc.insights.localhost:8080/;ApplicationId=" + appID
	if put["id"] != e.path("/subscriptions/{s}/resourceGroups/rg/providers/microsoft.insights/components/ai1") ||
		put["type"] != "microsoft.insights/components" || put["name"] != "ai1" || put["kind"] != "web" || put["location"] != "westeurope" ||
		props["ConnectionString"] != wantConn || props["ApplicationId"] != "ai1" || props["Application_Type"] != "web" ||
		props["provisioningState"] != "Succeeded" || props["RetentionInDays"] != float64(90) || props["TenantId"] != e.tenant ||
		props["IngestionMode"] != "ApplicationInsights" || props["publicNetworkAccessForIngestion"] != "Enabled" || put["etag"] == nil {
		t.Fatalf("PUT = %v", put)
	}
	if _, ok := props["CreationDate"].(string); !ok {
		t.Fatalf("CreationDate = %v", props["CreationDate"])
	}

	// (The PUT that created it was answered 200, as Azure answers: the
	// Python SDK refuses a 201.) A second PUT (a template redeployed, az
	// resource update) keeps the keys, whatever it says of them;
	// api-version 2015-05-01 too.
	again := e.must(200, "PUT", aiPath+"/AI1?api-version=2015-05-01", `{"location":"West Europe","kind":"other","tags":{"env":"dev"},
		"properties":{"Application_Type":"other","InstrumentationKey":"00000000-0000-4000-8000-000000000000","AppId":"x","RetentionInDays":30,
		"WorkspaceResourceId":"`+e.path("/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/ws")+`"}}`).json(t)
	ap := componentProps(t, again)
	if ap["InstrumentationKey"] != ikey || ap["AppId"] != appID || ap["ConnectionString"] != wantConn || again["name"] != "ai1" ||
		again["kind"] != "other" || ap["RetentionInDays"] != float64(30) || ap["IngestionMode"] != "LogAnalytics" || ap["CreationDate"] != props["CreationDate"] {
		t.Fatalf("second PUT = %v", again)
	}

	// PATCH replaces the tags (Components - Update Tags).
	e.must(200, "PATCH", aiPath+"/ai1"+aiAPI, `{"tags":{"team":"web"}}`)
	got := e.must(200, "GET", aiPath+"/ai1"+aiAPI, "").json(t)
	if tags := got["tags"].(map[string]any); len(tags) != 1 || tags["team"] != "web" || componentProps(t, got)["InstrumentationKey"] != ikey {
		t.Fatalf("GET after PATCH = %v", got)
	}
	e.must(404, "PATCH", aiPath+"/nope"+aiAPI, `{"tags":{}}`)

	for _, p := range []string{aiPath, "/subscriptions/{s}/providers/Microsoft.Insights/components"} {
		if l := e.must(200, "GET", p+aiAPI, "").json(t)["value"].([]any); len(l) != 1 || l[0].(map[string]any)["name"] != "ai1" {
			t.Fatalf("GET %s = %v", p, l)
		}
	}
	res := string(e.must(200, "GET", "/subscriptions/{s}/resources?$filter="+
		"resourceType%20eq%20%27Microsoft.Insights%2Fcomponents%27&api-version=2021-04-01", "").body)
	if !strings.Contains(res, `"name":"ai1"`) || !strings.Contains(res, `"type":"microsoft.insights/components"`) {
		t.Fatalf("resources = %s", res)
	}

	e.must(200, "DELETE", aiPath+"/ai1"+aiAPI, "")
	e.must(204, "DELETE", aiPath+"/ai1"+aiAPI, "")
	e.must(404, "GET", aiPath+"/ai1"+aiAPI, "")
	e.must(404, "DELETE", "/subscriptions/{s}/resourceGroups/nope/providers/Microsoft.Insights/components/ai1"+aiAPI, "")
}

// TestInsightsComponent_Invalid: what Azure refuses is refused with ARM's
// error JSON, and nothing is stored.
func TestInsightsComponent_Invalid(t *testing.T) {
	e := newEnv(t)
	e.must(201, "PUT", rgPath, `{"location":"westeurope"}`)
	for _, c := range []struct{ name, path, body, code string }{
		{"no location", "/bad", `{"kind":"web","properties":{"Application_Type":"web"}}`, "LocationRequired"},
		{"empty Application_Type", "/bad", `{"location":"westeurope","properties":{"Application_Type":""}}`, "BadRequest"},
		{"retention", "/bad", `{"location":"westeurope","properties":{"Application_Type":"web","RetentionInDays":45}}`, "BadRequest"},
		{"ingestion mode", "/bad", `{"location":"westeurope","properties":{"Application_Type":"web","IngestionMode":"Nowhere"}}`, "BadRequest"},
		{"sampling", "/bad", `{"location":"westeurope","properties":{"Application_Type":"web","SamplingPercentage":150}}`, "BadRequest"},
		{"network access", "/bad", `{"location":"westeurope","properties":{"Application_Type":"web","publicNetworkAccessForQuery":"Sometimes"}}`, "BadRequest"},
		{"workspace not a workspace", "/bad", `{"location":"westeurope","properties":{"Application_Type":"web","WorkspaceResourceId":"/subscriptions/x/resourceGroups/rg/providers/Microsoft.Web/sites/app"}}`, "BadRequest"},
		{"workspace of another subscription", "/bad", `{"location":"westeurope","properties":{"Application_Type":"web","WorkspaceResourceId":"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/ws"}}`, "BadRequest"},
		{"wrong JSON type", "/bad", `{"location":"westeurope","properties":{"Application_Type":"web","RetentionInDays":"ninety"}}`, "InvalidRequestContent"},
		{"name ending in a dot", "/bad.", `{"location":"westeurope","properties":{"Application_Type":"web"}}`, "InvalidResourceName"},
		{"name with %", "/a%25b", `{"location":"westeurope","properties":{"Application_Type":"web"}}`, "InvalidResourceName"},
		{"name with \\", "/a%5Cb", `{"location":"westeurope","properties":{"Application_Type":"web"}}`, "InvalidResourceName"},
		{"name with &", "/a&b", `{"location":"westeurope","properties":{"Application_Type":"web"}}`, "InvalidResourceName"},
		{"name with a control character", "/a%01b", `{"location":"westeurope","properties":{"Application_Type":"web"}}`, "InvalidResourceName"},
		{"name too long", "/" + strings.Repeat("a", 261), `{"location":"westeurope","properties":{"Application_Type":"web"}}`, "InvalidResourceName"},
	} {
		r := e.do("PUT", aiPath+c.path+aiAPI, c.body)
		var body errorBody
		if r.status != 400 || json.Unmarshal(r.body, &body) != nil || body.Error.Code != c.code || body.Error.Message == "" {
			t.Errorf("%s: PUT = %d %s; want 400 %s", c.name, r.status, r.body, c.code)
		}
	}
	// A name with a slash is two segments: no such route.
	if r := e.do("PUT", aiPath+"/a%2Fb"+aiAPI, `{"location":"westeurope","properties":{"Application_Type":"web"}}`); r.status < 400 {
		t.Errorf("a name with '/': PUT = %d %s", r.status, r.body)
	}
	if l := e.must(200, "GET", aiPath+aiAPI, "").json(t)["value"].([]any); len(l) != 0 {
		t.Fatalf("refused PUTs stored components: %v", l)
	}
	// A component stays where it was made.
	e.must(200, "PUT", aiPath+"/ai1"+aiAPI, `{"location":"westeurope","properties":{"Application_Type":"web"}}`)
	if r := e.do("PUT", aiPath+"/ai1"+aiAPI, `{"location":"eastus","properties":{"Application_Type":"web"}}`); r.status != 400 ||
		!strings.Contains(string(r.body), "InvalidResourceLocation") {
		t.Errorf("a move: PUT = %d %s", r.status, r.body)
	}
	e.must(404, "PUT", "/subscriptions/{s}/resourceGroups/nope/providers/Microsoft.Insights/components/ai1"+aiAPI,
		`{"location":"westeurope","properties":{"Application_Type":"web"}}`)
}

// TestAttack_InsightsComponents: a Contributor of rg can neither read nor
// change, nor learn the keys of, a component of the group "other"; the
// subscription's list shows it only rg's; a Reader of rg reads but cannot
// write; a caller with no role reads nothing; another subscription's path
// is refused.
func TestAttack_InsightsComponents(t *testing.T) {
	e, call := scopeEnv(t)
	otherAI := otherRG + "/providers/Microsoft.Insights/components/victim"
	body := `{"location":"westeurope","properties":{"Application_Type":"web"}}`
	if s, b := call("", "PUT", otherAI, body); s != http.StatusOK {
		t.Fatalf("seed other's component: %d %s", s, b)
	}
	if s, b := call("", "PUT", aiPath+"/mine", body); s != http.StatusOK {
		t.Fatalf("seed rg's component: %d %s", s, b)
	}
	_, victimDoc := call("", "GET", otherAI, "")
	var victim struct {
		Properties struct{ InstrumentationKey string }
	}
	if err := json.Unmarshal([]byte(victimDoc), &victim); err != nil || victim.Properties.InstrumentationKey == "" {
		t.Fatalf("victim: %v %s", err, victimDoc)
	}

	for _, c := range []struct{ method, body string }{
		{"GET", ""}, {"PUT", body}, {"PATCH", `{"tags":{"x":"y"}}`}, {"DELETE", ""},
	} {
		s, b := call(principal1, c.method, otherAI, c.body)
		wantDenied(t, "contributor of rg: "+c.method+" other's component", s, b)
		if strings.Contains(b, victim.Properties.InstrumentationKey) {
			t.Errorf("%s of other's component leaks its key: %s", c.method, b)
		}
	}
	s, b := call(principal1, "GET", "/subscriptions/{s}/providers/Microsoft.Insights/components", "")
	if s != http.StatusOK || strings.Contains(b, victim.Properties.InstrumentationKey) || !strings.Contains(b, `"name":"mine"`) {
		t.Errorf("contributor of rg lists the subscription's components: %d %.400s; want rg's only", s, b)
	}
	s, b = call(principal1, "GET", otherRG+"/providers/Microsoft.Insights/components", "")
	wantDenied(t, "contributor of rg lists other's components", s, b)
	if s, _ := call("", "GET", otherAI, ""); s != http.StatusOK {
		t.Fatalf("other's component was changed or deleted: %d", s)
	}

	// A Reader of rg reads its components and changes none.
	if s, b := call("", "PUT", rgPath+"/providers/Microsoft.Authorization/roleAssignments/"+raName3, raBody("{s}", readerID, principal3)); s != http.StatusCreated {
		t.Fatalf("assign Reader: %d %s", s, b)
	}
	if s, b := call(principal3, "GET", aiPath+"/mine", ""); s != http.StatusOK {
		t.Errorf("reader of rg: GET = %d %s", s, b)
	}
	for _, c := range []struct{ method, p, body string }{
		{"PUT", aiPath + "/mine", body}, {"PUT", aiPath + "/new", body}, {"PATCH", aiPath + "/mine", `{"tags":{}}`}, {"DELETE", aiPath + "/mine", ""},
	} {
		s, b := call(principal3, c.method, c.p, c.body)
		wantDenied(t, "reader of rg: "+c.method+" "+c.p, s, b)
	}
	if s, _ := call("", "GET", aiPath+"/new", ""); s != http.StatusNotFound {
		t.Errorf("a Reader's PUT created a component: GET = %d", s)
	}

	// Another subscription's path is refused before anything is read.
	s, b = call("", "GET", "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Insights/components/mine", "")
	if s != http.StatusNotFound || !strings.Contains(b, "SubscriptionNotFound") {
		t.Errorf("another subscription: %d %s", s, b)
	}
	_ = e
}

// TestTemplateDeploymentInsightsComponent: azd's Python templates create a
// component and give a site its connection string from reference();
// the site gets the component's own, and a Log Analytics workspace in the
// template is refused before anything is created (Slipway has none).
func TestTemplateDeploymentInsightsComponent(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", rgPath, `{"location":"westeurope"}`)
	tpl := `{"contentVersion":"1.0.0.0","resources":[
	 {"type":"Microsoft.Insights/components","apiVersion":"2020-02-02","name":"appi-web","location":"[resourceGroup().location]",
	  "kind":"web","properties":{"Application_Type":"web","Request_Source":"rest"}},
	 {"type":"Microsoft.Web/serverfarms","apiVersion":"2024-11-01","name":"plan1","location":"westeurope","kind":"linux","sku":{"name":"B1"},"properties":{"reserved":true}},
	 {"type":"Microsoft.Web/sites","apiVersion":"2024-11-01","name":"web-ai","location":"westeurope",
	  "dependsOn":["[resourceId('Microsoft.Web/serverfarms','plan1')]","[resourceId('Microsoft.Insights/components','appi-web')]"],
	  "properties":{"serverFarmId":"[resourceId('Microsoft.Web/serverfarms','plan1')]","siteConfig":{"linuxFxVersion":"PYTHON|3.12","appSettings":[
	   {"name":"APPLICATIONINSIGHTS_CONNECTION_STRING","value":"[reference(resourceId('Microsoft.Insights/components','appi-web'),'2020-02-02').ConnectionString]"},
	   {"name":"APPINSIGHTS_INSTRUMENTATIONKEY","value":"[reference(resourceId('Microsoft.Insights/components','appi-web')).InstrumentationKey]"}]}}}],
	 "outputs":{"conn":{"type":"string","value":"[reference('appi-web').ConnectionString]"}}}`
	b := string(e.deploy(http.StatusCreated, "ai", depBody(tpl, "")).body)
	if !strings.Contains(b, `"provisioningState":"Succeeded"`) {
		t.Fatalf("deployment: %s", b)
	}
	comp := componentProps(t, e.must(http.StatusOK, "GET", aiPath+"/appi-web"+aiAPI, "").json(t))
	conn, ikey := comp["ConnectionString"].(string), comp["InstrumentationKey"].(string)
	if conn == "" || ikey == "" || !strings.Contains(b, `"value":"`+conn+`"`) {
		t.Fatalf("outputs: %s; want the connection string %s", b, conn)
	}
	settings := e.must(http.StatusOK, "POST", webPath+"/sites/web-ai/config/appsettings/list", "").json(t)
	sp := settings["properties"].(map[string]any)
	if sp["APPLICATIONINSIGHTS_CONNECTION_STRING"] != conn || sp["APPINSIGHTS_INSTRUMENTATIONKEY"] != ikey {
		t.Fatalf("app settings = %v; want %s and %s", sp, conn, ikey)
	}

	// Workspace-based: the workspace is not a type Slipway deploys.
	ws := `{"contentVersion":"1.0.0.0","resources":[
	 {"type":"Microsoft.OperationalInsights/workspaces","apiVersion":"2022-10-01","name":"log1","location":"westeurope","properties":{"retentionInDays":30}},
	 {"type":"Microsoft.Insights/components","apiVersion":"2020-02-02","name":"appi-ws","location":"westeurope","kind":"web",
	  "dependsOn":["log1"],"properties":{"Application_Type":"web","WorkspaceResourceId":"[resourceId('Microsoft.OperationalInsights/workspaces','log1')]"}}]}`
	r := e.do("PUT", depPath+"/ws", depBody(ws, ""))
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "Microsoft.OperationalInsights/workspaces") {
		t.Fatalf("a workspace: %d %s", r.status, r.body)
	}
	e.must(http.StatusNotFound, "GET", aiPath+"/appi-ws"+aiAPI, "")
}
