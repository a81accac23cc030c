package arm

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/store"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

const token = "test-admin-token"

// recorder is a test double for Controller: the real one (the deploy
// coordinator) runs app processes, which these HTTP tests do not need. It
// records every call so tests can assert the side effects.
type recorder struct {
	mu        sync.Mutex
	calls     []string
	instances []string
	panicOn   string
}

var _ Controller = (*recorder)(nil)

func (c *recorder) record(op, rg, site string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.panicOn == op {
		panic("controller exploded")
	}
	c.calls = append(c.calls, op+" "+rg+"/"+site)
}

func (c *recorder) Calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

func (c *recorder) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = nil
}

func (c *recorder) SiteConfigChanged(_ context.Context, rg, site string) error {
	c.record("SiteConfigChanged", rg, site)
	return nil
}
func (c *recorder) LogsConfigChanged(_ context.Context, rg, site string) error {
	c.record("LogsConfigChanged", rg, site)
	return nil
}
func (c *recorder) PlanChanged(_ context.Context, rg, plan string) error {
	c.record("PlanChanged", rg, plan)
	return nil
}
func (c *recorder) RestartSite(_ context.Context, rg, site string) error {
	c.record("RestartSite", rg, site)
	return nil
}
func (c *recorder) StopSite(_ context.Context, rg, site string) error {
	c.record("StopSite", rg, site)
	return nil
}
func (c *recorder) StartSite(_ context.Context, rg, site string) error {
	c.record("StartSite", rg, site)
	return nil
}
func (c *recorder) SiteDeleted(_ context.Context, rg, site string) error {
	c.record("SiteDeleted", rg, site)
	return nil
}
func (c *recorder) StorageAccountDeleted(_ context.Context, rg, account string) error {
	c.record("StorageAccountDeleted", rg, account)
	return nil
}
func (c *recorder) Instances(_ context.Context, rg, site string) ([]Instance, error) {
	c.record("Instances", rg, site)
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Instance
	for i, id := range c.instances {
		out = append(out, Instance{ID: id, Machine: fmt.Sprintf("slipway0-%d", i), Ready: i == 0, Status: []string{"Ready", "Removed"}[i%2], Address: fmt.Sprintf("10.0.0.%d:8000", i+2), HealthCheckFailures: 3 * i})
	}
	return out, nil
}

// SiteStatus answers with the recorded instances: the first started, the
// others failed at the fixed time siteStatusErrorAt.
func (c *recorder) SiteStatus(_ context.Context, rg, site string) ([]InstanceStatus, error) {
	c.record("SiteStatus", rg, site)
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []InstanceStatus
	for i, id := range c.instances {
		st := InstanceStatus{ID: id, Machine: fmt.Sprintf("slipway0-%d", i), State: "Started", Details: "running"}
		if i > 0 {
			st.State, st.LastError, st.LastErrorDetails, st.LastErrorAt = "Failed", "Container exited", "exit status 1", siteStatusErrorAt
		}
		out = append(out, st)
	}
	return out, nil
}

var siteStatusErrorAt = time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)

// env is a running ARM endpoint over a real store.
type env struct {
	t      *testing.T
	srv    *httptest.Server
	store  *store.Store
	ctl    *recorder
	sub    string
	tenant string
	client *http.Client
	logs   *logBuffer    // what the handler logged (rbacEnv)
	swaps  *swapRecorder // the swaps asked for (rbacEnv)
	pg     *fakePostgres // the PostgreSQL backend (rbacEnv, pgEnv)
	rc     *fakeRedis    // the caches' backend (rbacEnv, redisEnv)
	dir    string        // the store's directory
	h      *Handler
}

// logBuffer collects a handler's log output, safe for concurrent writes.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with the handler's Config adjusted by edit.
func newEnvWith(t *testing.T, edit func(*Config)) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sub, tenant, err := st.Identity(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctl := &recorder{instances: []string{"b2c3", "a1b2"}}
	cfg := Config{
		Store: st, Controller: ctl, Domain: "localhost", HostSuffix: ":8080", Scheme: "http",
		PythonVersions: []string{"3.10", "3.11", "3.12", "3.13"},
		AuthorityURL:   "https://login.localhost",
		Authorize: func(r *http.Request) error {
			if r.Header.Get("Authorization") != "Bearer "+token {
				return slipway.Errorf(slipway.EUNAUTHORIZED, "The access token is missing or invalid.")
			}
			return nil
		},
	}
	if edit != nil {
		edit(&cfg)
	}
	h := New(cfg)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	// Never follow redirects: a redirect is a failure here (docs/arm.md §1.1).
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &env{t: t, srv: srv, store: st, ctl: ctl, sub: sub, tenant: tenant, client: client, h: h, dir: dir}
}

// path expands {s} to the subscription id.
func (e *env) path(p string) string { return strings.ReplaceAll(p, "{s}", e.sub) }

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// do sends a request with the test token; query defaults to api-version=2024-11-01.
func (e *env) do(method, p, body string, hdr ...string) response {
	e.t.Helper()
	u := e.srv.URL + e.path(p)
	if !strings.Contains(p, "?") {
		u += "?api-version=2024-11-01"
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, u, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// must sends a request and fails the test unless the status is want.
func (e *env) must(want int, method, p, body string) response {
	e.t.Helper()
	r := e.do(method, p, body)
	if r.status != want {
		e.t.Fatalf("%s %s = %d, want %d\n%s", method, p, r.status, want, r.body)
	}
	return r
}

const (
	rgPath   = "/subscriptions/{s}/resourcegroups/rg"
	webPath  = "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web"
	planPath = webPath + "/serverfarms/plan"
	sitePath = webPath + "/sites/app"
)

// seed creates rg, a Linux B1 plan and site "app" the way the az CLI does
// (docs/arm.md §1.3–§1.5).
func (e *env) seed() {
	e.t.Helper()
	e.must(201, "PUT", rgPath, `{"location":"westeurope"}`)
	e.must(200, "PUT", planPath+"?api-version=2025-03-01", `{"location":"westeurope","sku":{"name":"B1","tier":"BASIC","capacity":null},"properties":{"reserved":true,"hyperV":false,"isXenon":false,"perSiteScaling":false,"zoneRedundant":false}}`)
	e.must(200, "PUT", sitePath, e.path(`{"location":"West Europe","properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan","siteConfig":{"appSettings":[{"name":"SCM_DO_BUILD_DURING_DEPLOYMENT","value":"True"}],"linuxFxVersion":"PYTHON|3.12","appCommandLine":""},"httpsOnly":true}}`))
	e.ctl.Reset()
}

var (
	timeRE = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z`)
	hexRE  = regexp.MustCompile(`\b[0-9A-F]{64}\b`)
)

// normalize replaces what changes between runs (GUIDs, times, passwords)
// with placeholders and indents JSON, so golden files are stable and readable.
func (e *env) normalize(b []byte, secrets ...string) []byte {
	s := strings.ReplaceAll(string(b), e.sub, "{s}")
	s = strings.ReplaceAll(s, e.tenant, "{T}")
	for _, sec := range secrets {
		s = strings.ReplaceAll(s, sec, "<PASSWORD>")
	}
	s = timeRE.ReplaceAllString(s, "<TIME>")
	s = hexRE.ReplaceAllString(s, "<HEX>")
	var buf bytes.Buffer
	if json.Indent(&buf, []byte(s), "", "  ") == nil {
		return append(buf.Bytes(), '\n')
	}
	return []byte(s + "\n")
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

// TestGolden pins the wire shapes of docs/arm.md §1.15 and §1.10.
func TestGolden(t *testing.T) {
	e := newEnv(t)
	rgPut := e.must(201, "PUT", rgPath, `{"location":"West Europe","tags":{"team":"web"}}`)
	e.must(200, "PUT", planPath+"?api-version=2025-03-01", `{"location":"westeurope","sku":{"name":"B1","tier":"BASIC","capacity":null},"properties":{"reserved":true}}`)
	sitePut := e.must(200, "PUT", sitePath, e.path(`{"location":"West Europe","properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan","siteConfig":{"appSettings":[{"name":"SCM_DO_BUILD_DURING_DEPLOYMENT","value":"True"}],"linuxFxVersion":"PYTHON|3.12","appCommandLine":"gunicorn app:app"},"httpsOnly":true}}`))
	_, pw, err := e.store.PublishingCredentials(t.Context(), "rg", "app")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file string
		resp response
	}{
		{"resource_group.json", rgPut},
		{"plan.json", e.must(200, "GET", planPath, "")},
		{"site_put.json", sitePut},
		{"site.json", e.must(200, "GET", sitePath, "")},
		{"site_config_web.json", e.must(200, "GET", sitePath+"/config/web", "")},
		{"appsettings_list.json", e.must(200, "POST", sitePath+"/config/appsettings/list", "")},
		{"slot_config_names.json", e.must(200, "GET", sitePath+"/config/slotConfigNames", "")},
		{"publishing_credentials.json", e.must(200, "POST", sitePath+"/config/publishingcredentials/list", "")},
		{"basic_auth_policy_scm.json", e.must(200, "GET", sitePath+"/basicPublishingCredentialsPolicies/scm", "")},
		{"publish_profile.xml", e.must(200, "POST", sitePath+"/publishxml", `{"format":"WebDeploy"}`)},
		{"subscriptions.json", e.must(200, "GET", "/subscriptions?api-version=2022-12-01", "")},
		{"web_app_stacks.json", e.must(200, "GET", "/providers/Microsoft.Web/webAppStacks", "")},
		{"instances.json", e.must(200, "GET", sitePath+"/instances", "")},
		{"site_status.json", e.must(200, "GET", sitePath+"/siteStatus?api-version=2024-11-01", "")},
		{"error_site_not_found.json", e.must(404, "GET", webPath+"/sites/nope", "")},
	} {
		t.Run(tc.file, func(t *testing.T) {
			golden(t, tc.file, e.normalize(tc.resp.body, pw))
		})
	}
}

// TestRouteStatusCodes checks the status of every route (docs/arm.md §3.4: sites
// and plans answer 200 on create; resource groups 201/200).
func TestRouteStatusCodes(t *testing.T) {
	e := newEnv(t)
	e.seed()
	steps := []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/subscriptions?api-version=2022-12-01", "", 200},
		{"GET", "/subscriptions/{s}?api-version=2022-12-01", "", 200},
		{"GET", "/subscriptions/00000000-0000-0000-0000-000000000000?api-version=2022-12-01", "", 404},
		{"GET", "/tenants?api-version=2022-12-01", "", 200},
		{"GET", "/subscriptions/{s}/locations?api-version=2022-12-01", "", 200},
		{"GET", "/providers/Microsoft.Web/webAppStacks", "", 200},
		{"POST", "/subscriptions/{s}/providers/Microsoft.Web/checknameavailability", `{"name":"fresh","type":"Site"}`, 200},
		{"GET", "/subscriptions/{s}/providers/Microsoft.Web/geoRegions?sku=P1V2&linuxWorkersEnabled=true&api-version=2024-11-01", "", 200},
		{"GET", "/subscriptions/{s}/resourcegroups", "", 200},
		{"PUT", rgPath, `{"location":"westeurope"}`, 200},
		{"GET", rgPath, "", 200},
		{"HEAD", rgPath, "", 204},
		{"HEAD", "/subscriptions/{s}/resourcegroups/none", "", 404},
		{"GET", webPath + "/serverfarms", "", 200},
		{"GET", "/subscriptions/{s}/providers/Microsoft.Web/serverfarms?detailed=true&api-version=2024-11-01", "", 200},
		{"PUT", planPath, `{"location":"westeurope","sku":{"name":"B2"},"properties":{"reserved":true}}`, 200},
		{"GET", planPath, "", 200},
		{"GET", webPath + "/sites", "", 200},
		{"GET", "/subscriptions/{s}/providers/Microsoft.Web/sites", "", 200},
		{"GET", sitePath + "?api-version=2023-12-01", "", 200},
		{"PATCH", sitePath, `{"properties":{"httpsOnly":false}}`, 200},
		{"PUT", sitePath, `{"properties":{"siteConfig":{"appCommandLine":"startup.sh"}}}`, 200},
		{"POST", sitePath + "/restart", "", 200},
		{"POST", sitePath + "/stop", "", 200},
		{"POST", sitePath + "/start", "", 200},
		{"GET", sitePath + "/instances", "", 200},
		{"GET", sitePath + "/instances/A1B2", "", 200},
		{"GET", sitePath + "/instances/gone", "", 404},
		{"GET", sitePath + "/siteStatus", "", 200},
		{"GET", sitePath + "/siteStatus/A1B2", "", 200},
		{"GET", sitePath + "/siteStatus/slipway0-0", "", 200},
		{"GET", sitePath + "/siteStatus/gone", "", 404},
		{"GET", sitePath + "/config/web", "", 200},
		{"PATCH", sitePath + "/config/web", `{"properties":{"appCommandLine":"x"}}`, 200},
		{"PUT", sitePath + "/config/web", `{"properties":{"appCommandLine":"y"}}`, 200},
		{"POST", sitePath + "/config/appsettings/list", "", 200},
		{"PUT", sitePath + "/config/appsettings", `{"properties":{"A":"1"}}`, 200},
		{"POST", sitePath + "/config/connectionstrings/list", "", 200},
		{"PUT", sitePath + "/config/connectionstrings", `{"properties":{"DB":{"value":"v","type":"PostgreSQL"}}}`, 200},
		{"GET", sitePath + "/config/slotConfigNames", "", 200},
		{"PUT", sitePath + "/config/slotConfigNames", `{"properties":{"appSettingNames":["A"]}}`, 200},
		{"PUT", sitePath + "/config/logs", `{"properties":{"applicationLogs":{},"httpLogs":{"fileSystem":{"retentionInMb":100,"retentionInDays":3,"enabled":true}}}}`, 200},
		{"GET", sitePath + "/config/logs", "", 200},
		{"POST", sitePath + "/config/publishingcredentials/list", "", 200},
		{"GET", sitePath + "/basicPublishingCredentialsPolicies/scm", "", 200},
		{"GET", sitePath + "/basicPublishingCredentialsPolicies/ftp", "", 200},
		{"GET", sitePath + "/basicPublishingCredentialsPolicies/other", "", 404},
		{"PUT", sitePath + "/basicPublishingCredentialsPolicies/scm", `{"properties":{"allow":true}}`, 200},
		{"PUT", sitePath + "/basicPublishingCredentialsPolicies/scm", `{"properties":{"allow":false}}`, 200},
		{"GET", sitePath + "/basicPublishingCredentialsPolicies", "", 200},
		{"PUT", sitePath + "/basicPublishingCredentialsPolicies/scm", `{"properties":{}}`, 400},
		{"PUT", sitePath + "/basicPublishingCredentialsPolicies/scm", `{"properties":{"allow":true}}`, 200},
		{"POST", sitePath + "/publishxml", `{"format":"WebDeploy"}`, 200},
		{"POST", sitePath + "/newpassword", "", 200},
		{"GET", sitePath + "/deploymentStatus/nope", "", 404},
		{"GET", sitePath + "/deployments", "", 200},
		{"GET", sitePath + "/deployments/nope", "", 404},
		{"GET", "/subscriptions/{s}/unknown", "", 404},
		{"POST", sitePath, "", 405},
		{"DELETE", planPath, "", 409}, // the site still uses it
		{"DELETE", sitePath, "", 200},
		{"GET", sitePath, "", 404},
		{"GET", planPath, "", 404}, // deleted with its last site, as Azure does
		{"DELETE", rgPath, "", 200},
		{"GET", rgPath, "", 404},
	}
	for i, s := range steps {
		t.Run(fmt.Sprintf("%02d %s %s", i, s.method, s.path), func(t *testing.T) {
			r := e.do(s.method, s.path, s.body)
			if r.status != s.want {
				t.Fatalf("status = %d, want %d\n%s", r.status, s.want, r.body)
			}
			if r.status >= 400 && s.method != "HEAD" {
				m := r.json(t)
				errObj, _ := m["error"].(map[string]any)
				if errObj["code"] == nil || errObj["message"] == nil {
					t.Errorf("error body lacks error.code/message: %s", r.body)
				}
			}
		})
	}
}

// TestSitePutAnswers200NeverCreated: a 201 on a site PUT breaks the SDK
// (docs/arm.md §1.5 step 4).
func TestSitePutAnswers200NeverCreated(t *testing.T) {
	e := newEnv(t)
	e.must(201, "PUT", rgPath, `{"location":"westeurope"}`)
	e.must(200, "PUT", planPath, `{"sku":{"name":"B1"},"properties":{"reserved":true}}`)
	r := e.do("PUT", webPath+"/sites/brandnew", e.path(`{"location":"westeurope","properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan"}}`))
	if r.status != 200 {
		t.Fatalf("site create = %d, want 200\n%s", r.status, r.body)
	}
	props := r.json(t)["properties"].(map[string]any)
	if props["state"] != "Running" || props["clientAffinityEnabled"] != true || r.json(t)["kind"] != "app,linux" {
		t.Errorf("defaults of a new site: state=%v clientAffinityEnabled=%v kind=%v", props["state"], props["clientAffinityEnabled"], r.json(t)["kind"])
	}
	// A new site starts serving the default page, as on App Service.
	if diff := cmp.Diff([]string{"StartSite rg/brandnew"}, e.ctl.Calls()); diff != "" {
		t.Errorf("controller calls on create (-want +got):\n%s", diff)
	}
}

// TestMissingAPIVersion: docs/arm.md §3.3 exact code and message.
func TestMissingAPIVersion(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/subscriptions?x=1", rgPath + "?", sitePath + "?api-version="} {
		r := e.do("GET", p, "")
		if r.status != 400 {
			t.Fatalf("GET %s = %d, want 400", p, r.status)
		}
		want := map[string]any{"code": "MissingApiVersionParameter", "message": "The api-version query parameter (?api-version=) is required for all requests.",
			"target": nil, "details": []any{}, "additionalInfo": []any{}}
		if diff := cmp.Diff(want, r.json(t)["error"]); diff != "" {
			t.Errorf("GET %s error (-want +got):\n%s", p, diff)
		}
	}
	t.Run("any well-formed and duplicated versions are accepted", func(t *testing.T) {
		for _, q := range []string{"api-version=2025-03-01", "api-version=2020-10-01-preview", "api-version=2022-12-01&api-version=2022-12-01"} {
			if r := e.do("GET", "/subscriptions?"+q, ""); r.status != 200 {
				t.Errorf("%s: %d %s", q, r.status, r.body)
			}
		}
	})
	t.Run("malformed version", func(t *testing.T) {
		r := e.do("GET", "/subscriptions?api-version=latest", "")
		if r.status != 400 || r.json(t)["error"].(map[string]any)["code"] != "InvalidApiVersionParameter" {
			t.Errorf("got %d %s", r.status, r.body)
		}
	})
}

// TestDoubleSlashPathsAreServedNotRedirected: raw az calls arrive as
// //subscriptions/...; a 301 turns a POST into a GET (docs/arm.md §1.1).
func TestDoubleSlashPathsAreServedNotRedirected(t *testing.T) {
	e := newEnv(t)
	e.seed()
	r := e.do("POST", "//subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/sites/app//restart", "")
	if r.status != 200 {
		t.Fatalf("POST //... = %d, want 200 (Location: %q)\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if diff := cmp.Diff([]string{"RestartSite rg/app"}, e.ctl.Calls()); diff != "" {
		t.Errorf("controller calls (-want +got):\n%s", diff)
	}
	if r := e.do("GET", "//subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/sites/app?api-version=2023-12-01", ""); r.status != 200 {
		t.Errorf("GET //... = %d", r.status)
	}
}

// TestCaseInsensitiveSegmentsAndNames: docs/arm.md §3.1–§3.2.
func TestCaseInsensitiveSegmentsAndNames(t *testing.T) {
	e := newEnv(t)
	e.seed()
	for _, p := range []string{
		"/SUBSCRIPTIONS/{s}/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.WEB/SITES/APP",
		"/subscriptions/{s}/resourcegroups/Rg/providers/microsoft.web/sites/App",
		"/subscriptions/" + strings.ToUpper(e.sub) + "/resourceGroups/rg/providers/Microsoft.Web/sites/app",
	} {
		r := e.do("GET", p, "")
		if r.status != 200 {
			t.Fatalf("GET %s = %d\n%s", p, r.status, r.body)
		}
		m := r.json(t)
		want := e.path("/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/sites/app")
		if m["id"] != want || m["name"] != "app" {
			t.Errorf("GET %s: id %v name %v; want the canonical id %s and the creation casing", p, m["id"], m["name"], want)
		}
	}
	if r := e.do("GET", "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverFarms/PLAN", ""); r.status != 200 {
		t.Errorf("serverFarms casing: %d", r.status)
	}
}

// TestAppSettingsPutReplacesInFullAndRestarts: docs/arm.md §1.7, docs/appservice.md §2.
func TestAppSettingsPutReplacesInFullAndRestarts(t *testing.T) {
	e := newEnv(t)
	e.seed()
	e.must(200, "PUT", sitePath+"/config/appsettings", `{"properties":{"A":"1","B":"2"}}`)
	r := e.must(200, "PUT", sitePath+"/config/appsettings", `{"properties":{"B":"3"}}`)
	if diff := cmp.Diff(map[string]any{"B": "3"}, r.json(t)["properties"]); diff != "" {
		t.Errorf("PUT response (-want +got):\n%s", diff)
	}
	l := e.must(200, "POST", sitePath+"/config/appsettings/list", "")
	if diff := cmp.Diff(map[string]any{"B": "3"}, l.json(t)["properties"]); diff != "" {
		t.Errorf("list after full replace (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"SiteConfigChanged rg/app", "SiteConfigChanged rg/app"}, e.ctl.Calls()); diff != "" {
		t.Errorf("controller calls (-want +got):\n%s", diff)
	}
	if r := e.do("PUT", sitePath+"/config/appsettings", `{"properties":{"!!!":"x"}}`); r.status != 400 {
		t.Errorf("bad setting name: %d", r.status)
	}
}

func TestSiteCreateStoresAppSettings(t *testing.T) {
	e := newEnv(t)
	e.seed()
	got, err := e.store.Settings(t.Context(), "rg", "app")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"SCM_DO_BUILD_DURING_DEPLOYMENT": "True"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestConfigChangesCallController(t *testing.T) {
	e := newEnv(t)
	e.seed()
	// Unchanged config: no restart.
	e.must(200, "PATCH", sitePath+"/config/web", `{"properties":{"linuxFxVersion":"PYTHON|3.12","numberOfWorkers":1,"ipSecurityRestrictions":[]}}`)
	if got := e.ctl.Calls(); len(got) != 0 {
		t.Errorf("an unchanged config restarted the app: %v", got)
	}
	r := e.must(200, "PATCH", sitePath+"/config/web", `{"properties":{"appCommandLine":"gunicorn x:y","minTlsVersion":"1.3"}}`)
	if r.json(t)["properties"].(map[string]any)["appCommandLine"] != "gunicorn x:y" {
		t.Errorf("response: %s", r.body)
	}
	e.must(200, "PUT", sitePath+"/config/connectionstrings", `{"properties":{"DB":{"value":"postgres://x","type":"postgresql"}}}`)
	want := []string{"SiteConfigChanged rg/app", "SiteConfigChanged rg/app"}
	if diff := cmp.Diff(want, e.ctl.Calls()); diff != "" {
		t.Errorf("controller calls (-want +got):\n%s", diff)
	}
	l := e.must(200, "POST", sitePath+"/config/connectionstrings/list", "")
	if diff := cmp.Diff(map[string]any{"DB": map[string]any{"value": "postgres://x", "type": "PostgreSQL"}}, l.json(t)["properties"]); diff != "" {
		t.Errorf("connection strings (-want +got):\n%s", diff)
	}
	if r := e.do("PATCH", sitePath+"/config/web", `{"properties":{"linuxFxVersion":"PYTHON|3.8"}}`); r.status != 400 {
		t.Errorf("uninstalled Python accepted: %d %s", r.status, r.body)
	}
	if r := e.do("PATCH", sitePath+"/config/web", `{"properties":{"linuxFxVersion":"NODE|20-lts"}}`); r.status != 400 {
		t.Errorf("Node accepted: %d %s", r.status, r.body)
	}
}

func TestStopStartRecordState(t *testing.T) {
	e := newEnv(t)
	e.seed()
	e.must(200, "POST", sitePath+"/stop", "")
	if st := e.must(200, "GET", sitePath, "").json(t)["properties"].(map[string]any)["state"]; st != "Stopped" {
		t.Errorf("state after stop = %v", st)
	}
	e.must(200, "POST", sitePath+"/start", "")
	if st := e.must(200, "GET", sitePath, "").json(t)["properties"].(map[string]any)["state"]; st != "Running" {
		t.Errorf("state after start = %v", st)
	}
	if diff := cmp.Diff([]string{"StopSite rg/app", "StartSite rg/app"}, e.ctl.Calls()); diff != "" {
		t.Errorf("controller calls (-want +got):\n%s", diff)
	}
}

// TestNotFoundShapes: docs/arm.md §3.8 codes and messages.
func TestNotFoundShapes(t *testing.T) {
	e := newEnv(t)
	e.seed()
	for _, tc := range []struct {
		path, code, message string
	}{
		{"/subscriptions/{s}/resourcegroups/nope", "ResourceGroupNotFound", "Resource group 'nope' could not be found."},
		{"/subscriptions/{s}/resourceGroups/nope/providers/Microsoft.Web/sites/app", "ResourceGroupNotFound", "Resource group 'nope' could not be found."},
		{webPath + "/sites/nope", "ResourceNotFound", "The Resource 'Microsoft.Web/sites/nope' under resource group 'rg' was not found."},
		{webPath + "/serverfarms/nope", "ResourceNotFound", "The Resource 'Microsoft.Web/serverFarms/nope' under resource group 'rg' was not found."},
		{"/subscriptions/11111111-2222-3333-4444-555555555555/resourcegroups/rg", "SubscriptionNotFound", "The subscription '11111111-2222-3333-4444-555555555555' could not be found."},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := e.do("GET", tc.path, "")
			if r.status != 404 {
				t.Fatalf("status %d, want 404", r.status)
			}
			m := r.json(t)
			e := m["error"].(map[string]any)
			if e["code"] != tc.code || e["message"] != tc.message || m["Message"] != tc.message {
				t.Errorf("got %s", r.body)
			}
		})
	}
}

// TestSiteNameConflict: names are global (docs/arm.md §1.5 step 2, §3.8 409).
func TestSiteNameConflict(t *testing.T) {
	e := newEnv(t)
	e.seed()
	e.must(201, "PUT", "/subscriptions/{s}/resourcegroups/rg2", `{"location":"westeurope"}`)
	e.must(200, "PUT", "/subscriptions/{s}/resourceGroups/rg2/providers/Microsoft.Web/serverfarms/plan", `{"sku":{"name":"F1"},"properties":{"reserved":true}}`)
	r := e.do("PUT", "/subscriptions/{s}/resourceGroups/rg2/providers/Microsoft.Web/sites/APP",
		e.path(`{"properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/rg2/providers/Microsoft.Web/serverfarms/plan"}}`))
	if r.status != 409 {
		t.Fatalf("status %d, want 409\n%s", r.status, r.body)
	}
	if e := r.json(t)["error"].(map[string]any); e["code"] != "Conflict" || e["message"] != "Website with given name APP already exists." {
		t.Errorf("body %s", r.body)
	}
	for _, tc := range []struct {
		name string
		want string
	}{
		{"app", `{"nameAvailable":false,"reason":"AlreadyExists","message":"Hostname 'app' already exists. Please select a different name."}`},
		{"APP", `{"nameAvailable":false,"reason":"AlreadyExists","message":"Hostname 'APP' already exists. Please select a different name."}`},
		{"fresh-name", `{"nameAvailable":true}`},
	} {
		r := e.must(200, "POST", "/subscriptions/{s}/providers/Microsoft.Web/checknameavailability", `{"name":"`+tc.name+`","type":"Site"}`)
		if string(r.body) != tc.want {
			t.Errorf("checknameavailability %s = %s, want %s", tc.name, r.body, tc.want)
		}
	}
	r = e.must(200, "POST", "/subscriptions/{s}/providers/Microsoft.Web/checknameavailability", `{"name":"a.b","type":"Site"}`)
	if r.json(t)["reason"] != "Invalid" {
		t.Errorf("invalid name: %s", r.body)
	}
}

// TestUnauthorized: 401 with a Bearer challenge (docs/arm.md §3.8).
func TestUnauthorized(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ name, auth, code string }{
		{"missing", "", "AuthenticationFailed"},
		{"wrong", "Bearer nope", "InvalidAuthenticationToken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", "/subscriptions", "", "Authorization", tc.auth)
			if r.status != 401 {
				t.Fatalf("status %d, want 401", r.status)
			}
			ch := r.header.Get("WWW-Authenticate")
			if !strings.HasPrefix(ch, `Bearer authorization_uri="https://login.localhost/`+e.tenant+`"`) || !strings.Contains(ch, `error="invalid_token"`) {
				t.Errorf("WWW-Authenticate = %q", ch)
			}
			if c := r.json(t)["error"].(map[string]any)["code"]; c != tc.code {
				t.Errorf("code = %v, want %s", c, tc.code)
			}
		})
	}
	t.Run("nil Authorize refuses", func(t *testing.T) {
		h := New(Config{Store: e.store, Controller: e.ctl})
		rec := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/subscriptions?api-version=2022-12-01", nil)
		r.RemoteAddr = "127.0.0.1:50000" // plain HTTP from another machine is refused before (cleartext_attack_test.go)
		h.ServeHTTP(rec, r)
		if rec.Code != 401 {
			t.Errorf("status %d, want 401", rec.Code)
		}
	})
}

func TestRequestIDHeaders(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/subscriptions?api-version=2022-12-01", "", "x-ms-client-request-id", "client-1", "x-ms-correlation-request-id", "corr-1")
	if r.header.Get("x-ms-client-request-id") != "client-1" || r.header.Get("x-ms-correlation-request-id") != "corr-1" {
		t.Errorf("echo headers: %v", r.header)
	}
	id := r.header.Get("x-ms-request-id")
	if !regexp.MustCompile(`^[0-9a-f-]{36}$`).MatchString(id) {
		t.Errorf("x-ms-request-id = %q", id)
	}
	r2 := e.do("GET", "/subscriptions?api-version=2022-12-01", "")
	if r2.header.Get("x-ms-request-id") == id || r2.header.Get("x-ms-correlation-request-id") == "" {
		t.Errorf("second request headers: %v", r2.header)
	}
}

func TestPanicIsRecoveredWithRequestID(t *testing.T) {
	e := newEnv(t)
	e.seed()
	e.ctl.panicOn = "RestartSite"
	r := e.do("POST", sitePath+"/restart", "")
	if r.status != 500 {
		t.Fatalf("status %d, want 500", r.status)
	}
	msg := r.json(t)["error"].(map[string]any)["message"].(string)
	if !strings.Contains(msg, r.header.Get("x-ms-request-id")) || strings.Contains(msg, "exploded") {
		t.Errorf("message %q: want the request id and no panic details", msg)
	}
}

func TestFormContentTypeRefused(t *testing.T) {
	e := newEnv(t)
	r := e.do("PUT", rgPath, `location=westeurope`, "Content-Type", "application/x-www-form-urlencoded")
	if r.status != 415 {
		t.Fatalf("status %d, want 415", r.status)
	}
}

func TestBadJSON(t *testing.T) {
	e := newEnv(t)
	r := e.do("PUT", rgPath, `{"location":`)
	if r.status != 400 || r.json(t)["error"].(map[string]any)["code"] != "InvalidRequestContent" {
		t.Fatalf("got %d %s", r.status, r.body)
	}
}

func TestDeleteResourceGroupCleansUpSites(t *testing.T) {
	e := newEnv(t)
	e.seed()
	e.must(200, "DELETE", "/subscriptions/{s}/resourcegroups/RG", "")
	if diff := cmp.Diff([]string{"SiteDeleted rg/app"}, e.ctl.Calls()); diff != "" {
		t.Errorf("controller calls (-want +got):\n%s", diff)
	}
	if r := e.do("HEAD", rgPath, ""); r.status != 404 {
		t.Errorf("HEAD after delete = %d", r.status)
	}
}

func TestDeleteSiteKeepsPlanWhenAsked(t *testing.T) {
	e := newEnv(t)
	e.seed()
	e.must(200, "DELETE", sitePath+"?deleteMetrics=false&deleteEmptyServerFarm=false&api-version=2024-11-01", "")
	e.must(200, "GET", planPath, "")
	if diff := cmp.Diff([]string{"SiteDeleted rg/app"}, e.ctl.Calls()); diff != "" {
		t.Errorf("controller calls (-want +got):\n%s", diff)
	}
}

func TestPlanShapes(t *testing.T) {
	e := newEnv(t)
	e.must(201, "PUT", rgPath, `{"location":"eastus"}`)
	r := e.must(200, "PUT", planPath, `{"sku":{"name":"p1v3","tier":"PREMIUMV3","capacity":3},"kind":"linux"}`)
	m := r.json(t)
	want := map[string]any{"name": "P1v3", "tier": "PremiumV3", "size": "P1v3", "family": "Pv3", "capacity": float64(3)}
	if diff := cmp.Diff(want, m["sku"]); diff != "" {
		t.Errorf("sku (-want +got):\n%s", diff)
	}
	if m["kind"] != "linux" || m["location"] != "East US" {
		t.Errorf("kind %v location %v", m["kind"], m["location"])
	}
	if r := e.do("PUT", planPath, `{"sku":{"name":"Z9"}}`); r.status != 400 {
		t.Errorf("unknown SKU: %d", r.status)
	}
	if r := e.do("PUT", webPath+"/serverfarms/other", `{"location":"eastus"}`); r.status != 400 {
		t.Errorf("missing SKU on create: %d", r.status)
	}
	// An update without sku keeps the old one.
	r = e.must(200, "PUT", planPath, `{"tags":{"a":"b"}}`)
	if r.json(t)["sku"].(map[string]any)["name"] != "P1v3" {
		t.Errorf("sku lost on update: %s", r.body)
	}
}

// TestPlanPatch: App Service Plans - Update (PATCH, the Azure SDK for Go's
// PlansClient.Update) changes the properties given and keeps the rest;
// it needs the plan to exist.
func TestPlanPatch(t *testing.T) {
	e := newEnv(t)
	e.seed()
	e.must(200, "PUT", planPath, `{"location":"westeurope","sku":{"name":"S1"},"properties":{"reserved":true}}`)
	e.ctl.Reset()
	m := e.must(200, "PATCH", planPath, `{"properties":{"perSiteScaling":true}}`).json(t)
	props := m["properties"].(map[string]any)
	if props["perSiteScaling"] != true || props["reserved"] != true || m["location"] != "West Europe" ||
		m["sku"].(map[string]any)["name"] != "S1" || m["kind"] != "linux" {
		t.Errorf("patched plan: %v", m)
	}
	if diff := cmp.Diff([]string{"PlanChanged rg/plan"}, e.ctl.Calls()); diff != "" {
		t.Errorf("controller calls (-want +got):\n%s", diff)
	}
	if r := e.do("PATCH", webPath+"/serverfarms/none", `{"properties":{}}`); r.status != 404 || armError(t, r) == "" {
		t.Errorf("PATCH of a missing plan: %d %s", r.status, r.body)
	}
}

// TestPlanListWebApps: GET serverfarms/{plan}/sites lists the apps on the
// plan (the Azure SDK for Go's PlansClient.NewListWebAppsPager), not
// those on another plan of the group.
func TestPlanListWebApps(t *testing.T) {
	e := newEnv(t)
	e.seed()
	e.must(200, "PUT", webPath+"/serverfarms/plan2", `{"location":"westeurope","sku":{"name":"B1"},"properties":{"reserved":true}}`)
	e.must(200, "PUT", webPath+"/sites/app2", e.path(`{"location":"westeurope","properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan2"}}`))
	var got struct {
		Value []struct{ ID, Name, Kind string }
	}
	if err := json.Unmarshal(e.must(200, "GET", planPath+"/sites", "").body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Value) != 1 || got.Value[0].Name != "app" || got.Value[0].ID != e.path(sitePath) || got.Value[0].Kind != "app,linux" {
		t.Errorf("apps on the plan: %+v", got.Value)
	}
	if r := e.do("GET", webPath+"/serverfarms/none/sites", ""); r.status != 404 || armError(t, r) == "" {
		t.Errorf("apps on a missing plan: %d %s", r.status, r.body)
	}
}

// TestSiteOnAnotherResourceGroupsPlan: App Service lets an app use a plan
// of another resource group of its subscription (az webapp create -p
// <plan id>; azure-cli's test_create_in_different_group). The plan keeps
// its group's rules: its app lists and counts include the app, it cannot
// be deleted (alone or with its group) while the app runs on it, and the
// app moves only to plans of that group.
func TestSiteOnAnotherResourceGroupsPlan(t *testing.T) {
	e := newEnv(t)
	e.seed()
	e.must(201, "PUT", "/subscriptions/{s}/resourcegroups/rg2", `{"location":"westeurope"}`)
	other := "/subscriptions/{s}/resourceGroups/rg2/providers/Microsoft.Web/sites/other"
	r := e.must(200, "PUT", other, e.path(`{"location":"westeurope","properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/RG/providers/Microsoft.Web/serverfarms/PLAN"}}`))
	site := r.json(t)
	if got := site["properties"].(map[string]any)["serverFarmId"]; got != e.path("/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan") {
		t.Errorf("serverFarmId %v", got)
	}
	if site["kind"] != "app,linux" || site["properties"].(map[string]any)["resourceGroup"] != "rg2" {
		t.Errorf("kind %v, resourceGroup %v", site["kind"], site["properties"].(map[string]any)["resourceGroup"])
	}
	names := func(p string) []string {
		t.Helper()
		var out []string
		for _, v := range e.must(200, "GET", p, "").json(t)["value"].([]any) {
			out = append(out, v.(map[string]any)["name"].(string))
		}
		slices.Sort(out)
		return out
	}
	if got := names("/subscriptions/{s}/resourceGroups/rg2/providers/Microsoft.Web/sites"); !slices.Equal(got, []string{"other"}) {
		t.Errorf("rg2's sites: %v", got)
	}
	if got := names(planPath + "/sites"); !slices.Equal(got, []string{"app", "other"}) {
		t.Errorf("the plan's sites: %v", got)
	}
	if n := e.must(200, "GET", planPath, "").json(t)["properties"].(map[string]any)["numberOfSites"]; n != float64(2) {
		t.Errorf("numberOfSites %v", n)
	}
	// A generic resource list of rg2 reads the site's kind off its plan in rg.
	for _, v := range e.must(200, "GET", "/subscriptions/{s}/resourceGroups/rg2/resources", "").json(t)["value"].([]any) {
		if m := v.(map[string]any); m["name"] == "other" && m["kind"] != "app,linux" {
			t.Errorf("resources list kind %v", m["kind"])
		}
	}
	// Neither the plan nor its group goes while the app runs on it.
	e.must(200, "DELETE", sitePath+"?deleteEmptyServerFarm=false&api-version=2024-04-01", "")
	if r := e.do("DELETE", planPath, ""); r.status != 409 || !strings.Contains(string(r.body), "other") {
		t.Errorf("delete the plan: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", rgPath, ""); r.status != 409 || !strings.Contains(string(r.body), "other") {
		t.Errorf("delete the plan's group: %d %s", r.status, r.body)
	}
	e.must(200, "GET", planPath, "")
	// The app moves only within its plan's group.
	e.must(200, "PUT", "/subscriptions/{s}/resourceGroups/rg2/providers/Microsoft.Web/serverfarms/plan2", `{"location":"westeurope","sku":{"name":"B1"},"properties":{"reserved":true}}`)
	if r := e.do("PATCH", other, e.path(`{"properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/rg2/providers/Microsoft.Web/serverfarms/plan2"}}`)); r.status != 400 || !strings.Contains(string(r.body), "current plan's resource group 'rg'") {
		t.Errorf("move to rg2's plan: %d %s", r.status, r.body)
	}
	e.must(200, "PUT", "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan3", `{"location":"westeurope","sku":{"name":"B1"},"properties":{"reserved":true}}`)
	e.must(200, "PATCH", other, e.path(`{"properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan3"}}`))
	// A bare plan name is a plan of the site's own group.
	if r := e.do("PUT", "/subscriptions/{s}/resourceGroups/rg2/providers/Microsoft.Web/sites/bare", `{"properties":{"serverFarmId":"plan"}}`); r.status != 404 {
		t.Errorf("bare name of another group's plan: %d %s", r.status, r.body)
	}
	if r := e.do("PUT", "/subscriptions/{s}/resourceGroups/rg2/providers/Microsoft.Web/sites/third", `{"properties":{}}`); r.status != 400 {
		t.Errorf("site without serverFarmId: %d %s", r.status, r.body)
	}
	if r := e.do("PUT", "/subscriptions/{s}/resourceGroups/rg2/providers/Microsoft.Web/sites/third",
		`{"properties":{"serverFarmId":"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan"}}`); r.status != 400 {
		t.Errorf("a plan of another subscription: %d %s", r.status, r.body)
	}
	// Once the app has gone, so can the group with its plans.
	e.must(200, "DELETE", other+"?deleteEmptyServerFarm=false&api-version=2024-04-01", "")
	e.must(200, "DELETE", rgPath, "")
}

// TestDeploymentStatus maps Kudu states to ARM's (docs/arm.md §1.13 step 5).
func TestDeploymentStatus(t *testing.T) {
	e := newEnv(t)
	e.seed()
	ctx := t.Context()
	for _, tc := range []struct {
		name     string
		d        slipway.Deployment
		status   string
		counts   [3]float64 // in progress, successful, failed
		hasError bool
	}{
		{"pending", slipway.Deployment{Status: slipway.DeployPending}, "BuildRequestReceived", [3]float64{1, 0, 0}, false},
		{"building", slipway.Deployment{Status: slipway.DeployBuilding}, "BuildInProgress", [3]float64{1, 0, 0}, false},
		{"deploying", slipway.Deployment{Status: slipway.DeployDeploying, ArtifactDir: "/a"}, "RuntimeStarting", [3]float64{1, 0, 0}, false},
		{"success", slipway.Deployment{Status: slipway.DeploySuccess, ArtifactDir: "/a"}, "RuntimeSuccessful", [3]float64{0, 2, 0}, false},
		{"build failed", slipway.Deployment{Status: slipway.DeployFailed, StatusText: "pip failed"}, "BuildFailed", [3]float64{0, 0, 0}, true},
		{"runtime failed", slipway.Deployment{Status: slipway.DeployFailed, ArtifactDir: "/a", StatusText: "app crashed"}, "RuntimeFailed", [3]float64{0, 0, 1}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.d.Site = "app"
			d, err := e.store.CreateDeployment(ctx, tc.d)
			if err != nil {
				t.Fatal(err)
			}
			p := e.must(200, "GET", sitePath+"/deploymentStatus/"+d.ID, "").json(t)["properties"].(map[string]any)
			got := [3]float64{p["numberOfInstancesInProgress"].(float64), p["numberOfInstancesSuccessful"].(float64), p["numberOfInstancesFailed"].(float64)}
			if p["status"] != tc.status || got != tc.counts || p["deploymentId"] != d.ID {
				t.Errorf("got status %v counts %v", p["status"], got)
			}
			errs, _ := p["errors"].([]any)
			logs := p["failedInstancesLogs"].([]any)
			if tc.hasError != (len(errs) == 1 && len(logs) == 1) {
				t.Errorf("errors %v logs %v", errs, logs)
			}
			// App Service's errors is null, not [], when there are none
			// (azure-cli's test_webapp_track_runtimestatus_runtimesucessful).
			if v, ok := p["errors"]; !tc.hasError && (!ok || v != nil) {
				t.Errorf("errors = %#v (present %v), want null", v, ok)
			}
		})
	}
}

func TestNewPasswordChangesCredentials(t *testing.T) {
	e := newEnv(t)
	e.seed()
	before := e.must(200, "POST", sitePath+"/config/publishingcredentials/list", "").json(t)["properties"].(map[string]any)["publishingPassword"]
	e.must(200, "POST", sitePath+"/newpassword", "")
	after := e.must(200, "POST", sitePath+"/config/publishingcredentials/list", "").json(t)["properties"].(map[string]any)["publishingPassword"]
	if before == after {
		t.Error("password unchanged")
	}
}

// TestMinTLSVersion: siteConfig minTlsVersion and scmMinTlsVersion are
// stored and shown ("1.2" by default, as App Service); other values are
// refused naming the allowed ones.
func TestMinTLSVersion(t *testing.T) {
	e := newEnv(t)
	e.seed()
	props := func() map[string]any {
		return e.must(200, "GET", sitePath+"/config/web", "").json(t)["properties"].(map[string]any)
	}
	if p := props(); p["minTlsVersion"] != "1.2" || p["scmMinTlsVersion"] != "1.2" {
		t.Errorf("defaults: minTlsVersion %v, scmMinTlsVersion %v; want 1.2", p["minTlsVersion"], p["scmMinTlsVersion"])
	}
	e.must(200, "PATCH", sitePath+"/config/web", `{"properties":{"minTlsVersion":"1.3","scmMinTlsVersion":"1.0"}}`)
	if p := props(); p["minTlsVersion"] != "1.3" || p["scmMinTlsVersion"] != "1.0" {
		t.Errorf("after PATCH: minTlsVersion %v, scmMinTlsVersion %v", p["minTlsVersion"], p["scmMinTlsVersion"])
	}
	if r := e.do("PATCH", sitePath+"/config/web", `{"properties":{"minTlsVersion":"1.4"}}`); r.status != 400 || !strings.Contains(string(r.body), "1.0, 1.1, 1.2, 1.3") {
		t.Errorf("minTlsVersion 1.4: %d %s", r.status, r.body)
	}
	if p := props(); p["minTlsVersion"] != "1.3" {
		t.Errorf("a refused PATCH changed minTlsVersion to %v", p["minTlsVersion"])
	}
}
