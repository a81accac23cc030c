package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// fakeServer is a TEST DOUBLE of the Slipway server: the real server
// (internal/arm, the Kudu API) is being written at the same time as this
// package, so these tests check the CLI against the wire shapes documented
// in docs/arm.md §1/§3 and docs/appservice.md §5 instead. It records every request and
// answers with those shapes from a little in-memory state. The real
// end-to-end test (CLI against the real server, in process) lives in
// cmd/slipway once the server exists.
type fakeServer struct {
	t      *testing.T
	srv    *httptest.Server
	domain string
	sub    string
	token  string

	mu          sync.Mutex
	reqs        []recorded
	groups      map[string]string                                 // name -> location
	plans       map[string]map[string]any                         // name -> plan resource
	sites       map[string]map[string]any                         // name -> site resource
	settings    map[string]map[string]any                         // app -> app settings
	connStrings map[string]map[string]any                         // app -> connection strings
	webConfig   map[string]map[string]any                         // app -> config/web properties
	slotNames   map[string]map[string]any                         // app -> slotConfigNames properties
	deployPolls int                                               // polls of /api/deployments/latest since the last deploy
	deployFail  bool                                              // the next deployment fails
	deployID    string                                            // current deployment id ("" = none)
	zipSizes    []int                                             // sizes of uploaded packages
	staleLatest int                                               // polls answering with an older, finished deployment first
	sendID      bool                                              // answer uploads with SCM-DEPLOYMENT-ID
	override    func(w http.ResponseWriter, r *http.Request) bool // per-test answers; true = handled
}

// recorded is one request as the fake saw it.
type recorded struct {
	Method string
	Host   string // "arm", "scm:<app>" or "app:<app>"
	Path   string
	Query  string // raw query
	Auth   string
	Body   string
}

// line renders a request for sequence assertions: "METHOD host path?query".
func (r recorded) line() string {
	s := r.Method + " " + r.Host + " " + r.Path
	if r.Query != "" {
		s += "?" + r.Query
	}
	return s
}

const (
	fakeSub   = "00000000-1111-2222-3333-444444444444"
	fakeToken = "admin-token-123"
)

func newFakeServer(t *testing.T) *fakeServer {
	f := &fakeServer{
		t: t, domain: "localhost", sub: fakeSub, token: fakeToken,
		groups: map[string]string{}, plans: map[string]map[string]any{}, sites: map[string]map[string]any{},
		settings: map[string]map[string]any{}, connStrings: map[string]map[string]any{},
		webConfig: map[string]map[string]any{}, slotNames: map[string]map[string]any{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// port is the fake's TCP port.
func (f *fakeServer) port() string {
	_, p, _ := net.SplitHostPort(f.srv.Listener.Addr().String())
	return p
}

// writeServerJSON writes <dir>/server.json as the server would.
func (f *fakeServer) writeServerJSON(t *testing.T, dir string) {
	t.Helper()
	data, _ := json.Marshal(serverFile{URL: f.srv.URL, Domain: f.domain, SubscriptionID: f.sub, TenantID: "t", AdminToken: f.token})
	if err := os.WriteFile(filepath.Join(dir, "server.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// requests returns the recorded requests and forgets them.
func (f *fakeServer) takeRequests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.reqs
	f.reqs = nil
	return r
}

func writeJSONResp(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func armErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSONResp(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

var (
	reGroup  = regexp.MustCompile(`(?i)^/subscriptions/([^/]+)/resourcegroups/([^/]+)$`)
	reGroups = regexp.MustCompile(`(?i)^/subscriptions/([^/]+)/resourcegroups$`)
	rePlan   = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourcegroups/([^/]+)/providers/microsoft\.web/serverfarms/([^/]+)$`)
	reSite   = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourcegroups/([^/]+)/providers/microsoft\.web/sites/([^/]+)(/.*)?$`)
	reRGWeb  = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourcegroups/([^/]+)/providers/microsoft\.web/(serverfarms|sites)$`)
	reSubWeb = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/providers/microsoft\.web/(sites|serverfarms|checknameavailability)$`)
)

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	host, _, _ := net.SplitHostPort(r.Host)
	if host == "" {
		host = r.Host
	}
	kind := "arm"
	app := ""
	switch {
	case strings.HasSuffix(host, ".scm."+f.domain):
		app = strings.TrimSuffix(host, ".scm."+f.domain)
		kind = "scm:" + app
	case strings.HasSuffix(host, "."+f.domain):
		app = strings.TrimSuffix(host, "."+f.domain)
		kind = "app:" + app
	}
	rec := recorded{Method: r.Method, Host: kind, Path: r.URL.Path, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization")}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		rec.Body = strings.TrimSpace(string(body))
	} else if len(body) > 0 {
		rec.Body = fmt.Sprintf("<%d bytes>", len(body))
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, rec)
	override := f.override
	f.mu.Unlock()
	if override != nil && override(w, r) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case kind == "arm":
		if r.Header.Get("Authorization") != "Bearer "+f.token {
			armErr(w, 401, "InvalidAuthenticationToken", "The access token is invalid.")
			return
		}
		if r.URL.Query().Get("api-version") == "" {
			armErr(w, 400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
			return
		}
		f.serveARM(w, r, body)
	case strings.HasPrefix(kind, "scm:"):
		f.serveKudu(w, r, app, body)
	default:
		w.WriteHeader(200)
		fmt.Fprint(w, "hello from "+app)
	}
}

func (f *fakeServer) siteID(rg, app string) string {
	return "/subscriptions/" + f.sub + "/resourceGroups/" + rg + "/providers/Microsoft.Web/sites/" + app
}

func (f *fakeServer) serveARM(w http.ResponseWriter, r *http.Request, body []byte) {
	p := r.URL.Path
	var in map[string]any
	_ = json.Unmarshal(body, &in)
	switch {
	case p == "/subscriptions":
		writeJSONResp(w, 200, map[string]any{"value": []any{map[string]any{"id": "/subscriptions/" + f.sub, "subscriptionId": f.sub, "tenantId": "t", "displayName": "Slipway", "state": "Enabled"}}})
	case strings.EqualFold(p, "/providers/microsoft.web/webappstacks"):
		minor := func(v string) any {
			return map[string]any{"displayText": "Python " + v, "value": v, "stackSettings": map[string]any{"linuxRuntimeSettings": map[string]any{
				"runtimeVersion": "PYTHON|" + v, "isDeprecated": false, "isHidden": false,
				"gitHubActionSettings": map[string]any{"isSupported": true}}}}
		}
		writeJSONResp(w, 200, map[string]any{"value": []any{map[string]any{
			"id": "/providers/Microsoft.Web/webAppStacks/python", "name": "python", "type": "Microsoft.Web/webAppStacks",
			"properties": map[string]any{"displayText": "Python", "value": "python", "preferredOs": "Linux",
				"majorVersions": []any{map[string]any{"displayText": "Python 3", "value": "3",
					"minorVersions": []any{minor("3.9"), minor("3.12"), minor("3.10")}}}}}}, "nextLink": nil})
	case reGroups.MatchString(p):
		var list []any
		for n, l := range f.groups {
			list = append(list, map[string]any{"id": "/subscriptions/" + f.sub + "/resourceGroups/" + n, "name": n, "location": l, "type": "Microsoft.Resources/resourceGroups", "properties": map[string]any{"provisioningState": "Succeeded"}})
		}
		writeJSONResp(w, 200, map[string]any{"value": list})
	case reGroup.MatchString(p):
		rg := reGroup.FindStringSubmatch(r.URL.Path)[2]
		loc, ok := f.groups[rg]
		switch r.Method {
		case http.MethodHead:
			if ok {
				w.WriteHeader(204)
			} else {
				w.WriteHeader(404)
			}
		case http.MethodPut:
			status := 200
			if !ok {
				status = 201
			}
			loc, _ = in["location"].(string)
			f.groups[rg] = loc
			writeJSONResp(w, status, map[string]any{"id": "/subscriptions/" + f.sub + "/resourceGroups/" + rg, "name": rg, "type": "Microsoft.Resources/resourceGroups", "location": loc, "tags": map[string]any{}, "properties": map[string]any{"provisioningState": "Succeeded"}})
		case http.MethodGet:
			if !ok {
				armErr(w, 404, "ResourceGroupNotFound", fmt.Sprintf("Resource group '%s' could not be found.", rg))
				return
			}
			writeJSONResp(w, 200, map[string]any{"id": "/subscriptions/" + f.sub + "/resourceGroups/" + rg, "name": rg, "type": "Microsoft.Resources/resourceGroups", "location": loc, "properties": map[string]any{"provisioningState": "Succeeded"}})
		case http.MethodDelete:
			delete(f.groups, rg)
			w.WriteHeader(200)
		}
	case rePlan.MatchString(p):
		m := rePlan.FindStringSubmatch(r.URL.Path)
		rg, name := m[1], m[2]
		switch r.Method {
		case http.MethodPut:
			sku := in["sku"].(map[string]any)
			f.plans[name] = map[string]any{
				"id":   "/subscriptions/" + f.sub + "/resourceGroups/" + rg + "/providers/Microsoft.Web/serverfarms/" + name,
				"name": name, "type": "Microsoft.Web/serverfarms", "kind": "linux", "location": "West Europe", "tags": map[string]any{},
				"sku":        map[string]any{"name": sku["name"], "tier": "Basic", "size": sku["name"], "family": "B", "capacity": 1},
				"properties": map[string]any{"status": "Ready", "provisioningState": "Succeeded", "reserved": true, "numberOfWorkers": 1, "resourceGroup": rg},
			}
			writeJSONResp(w, 200, f.plans[name])
		case http.MethodGet:
			if pl, ok := f.plans[name]; ok {
				writeJSONResp(w, 200, pl)
				return
			}
			armErr(w, 404, "ResourceNotFound", fmt.Sprintf("The Resource 'Microsoft.Web/serverFarms/%s' under resource group '%s' was not found.", name, rg))
		}
	case reRGWeb.MatchString(p):
		m := reRGWeb.FindStringSubmatch(p)
		src := f.plans
		if strings.EqualFold(m[2], "sites") {
			src = f.sites
		}
		list := []any{}
		for _, it := range src {
			if strings.EqualFold(lookup(it, "properties.resourceGroup").(string), m[1]) {
				list = append(list, it)
			}
		}
		writeJSONResp(w, 200, map[string]any{"value": list})
	case reSubWeb.MatchString(p):
		switch strings.ToLower(reSubWeb.FindStringSubmatch(p)[1]) {
		case "sites":
			list := []any{}
			for _, s := range f.sites {
				list = append(list, s)
			}
			writeJSONResp(w, 200, map[string]any{"value": list})
		case "serverfarms":
			list := []any{}
			for _, s := range f.plans {
				list = append(list, s)
			}
			writeJSONResp(w, 200, map[string]any{"value": list})
		case "checknameavailability":
			name, _ := in["name"].(string)
			if _, ok := f.sites[name]; ok {
				writeJSONResp(w, 200, map[string]any{"nameAvailable": false, "reason": "AlreadyExists", "message": "Hostname '" + name + "' already exists. Please select a different name."})
				return
			}
			writeJSONResp(w, 200, map[string]any{"nameAvailable": true})
		}
	case reSite.MatchString(p):
		m := reSite.FindStringSubmatch(r.URL.Path)
		f.serveSite(w, r, m[1], m[2], strings.ToLower(m[3]), in)
	default:
		armErr(w, 404, "NotFound", "No route for "+r.URL.Path)
	}
}

func (f *fakeServer) serveSite(w http.ResponseWriter, r *http.Request, rg, app, sub string, in map[string]any) {
	site, ok := f.sites[app]
	if !ok && !(sub == "" && r.Method == http.MethodPut) {
		armErr(w, 404, "ResourceNotFound", fmt.Sprintf("The Resource 'Microsoft.Web/sites/%s' under resource group '%s' was not found.", app, rg))
		return
	}
	cfgID := f.siteID(rg, app) + "/config/"
	switch r.Method + " " + sub {
	case "PUT ":
		props := in["properties"].(map[string]any)
		sc, _ := props["siteConfig"].(map[string]any)
		settings := map[string]any{}
		if list, ok := sc["appSettings"].([]any); ok {
			for _, it := range list {
				m := it.(map[string]any)
				settings[m["name"].(string)] = m["value"]
			}
		}
		f.settings[app] = settings
		f.webConfig[app] = map[string]any{"numberOfWorkers": 1, "linuxFxVersion": sc["linuxFxVersion"], "appCommandLine": sc["appCommandLine"], "alwaysOn": false, "minTlsVersion": "1.2"}
		host, scm := app+"."+f.domain, app+".scm."+f.domain
		f.sites[app] = map[string]any{
			"id": f.siteID(rg, app), "name": app, "type": "Microsoft.Web/sites", "kind": "app,linux", "location": "West Europe", "tags": map[string]any{},
			"properties": map[string]any{
				"state": "Running", "enabled": true, "hostNames": []any{host}, "enabledHostNames": []any{host, scm},
				"hostNameSslStates": []any{
					map[string]any{"name": host, "sslState": "Disabled", "hostType": "Standard"},
					map[string]any{"name": scm, "sslState": "Disabled", "hostType": "Repository"}},
				"defaultHostName": host, "serverFarmId": props["serverFarmId"], "sku": "Basic", "reserved": true,
				"resourceGroup": rg, "siteConfig": map[string]any{"numberOfWorkers": 1, "linuxFxVersion": sc["linuxFxVersion"]},
				"httpsOnly": props["httpsOnly"], "possibleOutboundIpAddresses": "127.0.0.1", "outboundIpAddresses": "127.0.0.1",
			},
		}
		writeJSONResp(w, 200, f.sites[app])
	case "GET ":
		writeJSONResp(w, 200, site)
	case "DELETE ":
		delete(f.sites, app)
		w.WriteHeader(200)
	case "POST /restart", "POST /stop", "POST /start":
		w.WriteHeader(200)
	case "POST /publishxml":
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprintf(w, `<publishData><publishProfile profileName="%[1]s - Web Deploy" publishMethod="MSDeploy" publishUrl="%[1]s.scm.localhost:443" userName="$%[1]s" userPWD="pw"><databases /></publishProfile><publishProfile profileName="%[1]s - FTP" publishMethod="FTP" publishUrl="ftp://127.0.0.1/site/wwwroot" userName="%[1]s\$%[1]s" userPWD="pw"><databases /></publishProfile></publishData>`, app)
	case "POST /config/appsettings/list":
		writeJSONResp(w, 200, map[string]any{"id": cfgID + "appsettings", "name": "appsettings", "type": "Microsoft.Web/sites/config", "location": "West Europe", "properties": f.settings[app]})
	case "PUT /config/appsettings":
		f.settings[app] = in["properties"].(map[string]any)
		writeJSONResp(w, 200, map[string]any{"id": cfgID + "appsettings", "name": "appsettings", "type": "Microsoft.Web/sites/config", "properties": f.settings[app]})
	case "POST /config/connectionstrings/list":
		cs := f.connStrings[app]
		if cs == nil {
			cs = map[string]any{}
		}
		writeJSONResp(w, 200, map[string]any{"id": cfgID + "connectionstrings", "name": "connectionstrings", "properties": cs})
	case "PUT /config/connectionstrings":
		f.connStrings[app] = in["properties"].(map[string]any)
		writeJSONResp(w, 200, map[string]any{"id": cfgID + "connectionstrings", "name": "connectionstrings", "properties": f.connStrings[app]})
	case "GET /config/slotconfignames":
		names := f.slotNames[app]
		if names == nil {
			names = map[string]any{"appSettingNames": nil, "connectionStringNames": nil, "azureStorageConfigNames": nil}
		}
		writeJSONResp(w, 200, map[string]any{"id": cfgID + "slotConfigNames", "name": "slotConfigNames", "properties": names})
	case "PUT /config/slotconfignames":
		f.slotNames[app] = in["properties"].(map[string]any)
		writeJSONResp(w, 200, in)
	case "GET /config/web":
		writeJSONResp(w, 200, map[string]any{"id": cfgID + "web", "name": app, "type": "Microsoft.Web/sites/config", "location": "West Europe", "properties": f.webConfig[app]})
	case "PATCH /config/web":
		for k, v := range in["properties"].(map[string]any) {
			f.webConfig[app][k] = v
		}
		writeJSONResp(w, 200, map[string]any{"id": cfgID + "web", "name": app, "type": "Microsoft.Web/sites/config", "location": "West Europe", "properties": f.webConfig[app]})
	case "PUT /config/logs":
		writeJSONResp(w, 200, in)
	case "POST /config/publishingcredentials/list":
		writeJSONResp(w, 200, map[string]any{"id": f.siteID(rg, app) + "/publishingcredentials/$" + app, "name": app, "type": "Microsoft.Web/sites/publishingcredentials",
			"properties": map[string]any{"publishingUserName": "$" + app, "publishingPassword": "secret-pw", "scmUri": "http://$" + app + ":secret-pw@" + app + ".scm.localhost"}})
	default:
		armErr(w, 404, "NotFound", "No route for "+r.Method+" "+r.URL.Path)
	}
}

func (f *fakeServer) serveKudu(w http.ResponseWriter, r *http.Request, app string, body []byte) {
	user, pw, ok := r.BasicAuth()
	if !ok || user != "$"+app || pw != "secret-pw" {
		w.WriteHeader(401)
		return
	}
	scm := "http://" + r.Host
	id := "0123456789abcdef0123456789abcdef"
	switch {
	case r.Method == http.MethodPost && (r.URL.Path == "/api/zipdeploy" || r.URL.Path == "/api/publish"):
		f.zipSizes = append(f.zipSizes, len(body))
		f.deployID, f.deployPolls = id, 0
		if f.sendID || r.URL.Query().Get("trackDeploymentProgress") != "" { // the server names it when asked
			w.Header().Set("SCM-DEPLOYMENT-ID", id)
		}
		if r.URL.Query().Get("isAsync") == "true" || r.URL.Query().Get("async") == "true" {
			w.Header().Set("Location", scm+"/api/deployments/latest")
			w.WriteHeader(202)
			return
		}
		f.deployPolls = 100 // synchronous: finished
		w.WriteHeader(200)
	case r.URL.Path == "/api/deployments/latest":
		if f.deployID == "" {
			w.WriteHeader(404)
			return
		}
		if f.staleLatest > 0 {
			f.staleLatest--
			writeJSONResp(w, 200, map[string]any{"id": "ffffffffffffffffffffffffffffffff", "status": 4, "complete": true, "is_temp": false})
			return
		}
		f.deployPolls++
		status, complete, text := 1, false, "Building"
		switch {
		case f.deployPolls == 1:
			writeJSONResp(w, 200, map[string]any{"id": "temp-1234abcd", "status": 0, "complete": false, "is_temp": true})
			return
		case f.deployPolls >= 5 && f.deployFail:
			status, complete, text = 3, true, "Oryx build failed: pip install returned 1."
		case f.deployPolls >= 5:
			status, complete, text = 4, true, ""
		}
		writeJSONResp(w, 200, map[string]any{"id": id, "status": status, "status_text": text, "complete": complete,
			"progress": "", "is_temp": false, "log_url": scm + "/api/deployments/" + id + "/log", "site_name": app})
	case r.URL.Path == "/api/deployments/"+id+"/log":
		entries := []any{map[string]any{"log_time": "2026-11-25T04:00:00Z", "id": "l1", "message": "Fetching changes.", "type": 0, "details_url": nil}}
		if f.deployPolls >= 2 {
			entries = append(entries, map[string]any{"log_time": "2026-11-25T04:00:01Z", "id": "l2", "message": "Running oryx build...", "type": 0, "details_url": scm + "/api/deployments/" + id + "/log/l2"})
		}
		if f.deployPolls >= 4 {
			entries = append(entries, map[string]any{"log_time": "2026-11-25T04:00:04Z", "id": "l3", "message": "Deployment successful.", "type": 0, "details_url": nil})
		}
		writeJSONResp(w, 200, entries)
	case r.URL.Path == "/api/deployments/"+id+"/log/l2":
		lines := []any{map[string]any{"log_time": "2026-11-25T04:00:02Z", "id": "d1", "message": "Detected requirements.txt", "type": 0, "details_url": nil}}
		// The step's last line lands together with the next summary entry.
		if f.deployPolls >= 4 {
			lines = append(lines, map[string]any{"log_time": "2026-11-25T04:00:03Z", "id": "d2", "message": "Successfully installed Django", "type": 0, "details_url": nil})
		}
		writeJSONResp(w, 200, lines)
	case r.URL.Path == "/api/logstream":
		w.WriteHeader(200)
		fmt.Fprint(w, "2026-11-25T04:00:00 Welcome, you are now connected to log-streaming service.\n")
		fmt.Fprint(w, "2026-11-25T04:00:01 [INFO] Listening at: http://0.0.0.0:8000\n")
	default:
		w.WriteHeader(404)
	}
}
