package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testRun runs one CLI invocation against f with a data folder holding the
// fake's server.json and the project folder dir as PWD.
func testRun(t *testing.T, f *fakeServer, dir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return testRunWith(t, f, dir, "", nil, nil, args...)
}

// testRunEnv is testRun with stdin and extra environment.
func testRunEnv(t *testing.T, f *fakeServer, dir, stdin string, extraEnv []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return testRunWith(t, f, dir, stdin, extraEnv, nil, args...)
}

// testRunWith is testRun with stdin, extra environment and a change to the
// runner (timeouts) before it runs.
func testRunWith(t *testing.T, f *fakeServer, dir, stdin string, extraEnv []string, tweak func(*runner), args ...string) (stdout, stderr string, err error) {
	t.Helper()
	data := t.TempDir()
	if f != nil {
		f.writeServerJSON(t, data)
	}
	if dir == "" {
		dir = t.TempDir()
	}
	env := append([]string{"HOME=" + t.TempDir(), "SLIPWAY_DATA=" + data, "PWD=" + dir, "USER=alice"}, extraEnv...)
	var out, errb bytes.Buffer
	r := defaultRunner(env, strings.NewReader(stdin), &out, &errb)
	r.pollInterval = 5 * time.Millisecond
	r.appTimeout = 5 * time.Second
	r.deployTimeout = 10 * time.Second
	r.rand = mrand.NewChaCha8([32]byte{7}) // deterministic names
	if tweak != nil {
		tweak(r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = r.run(ctx, args)
	return out.String(), errb.String(), err
}

// lines renders recorded requests for a sequence diff, with the
// subscription shortened to {s}.
func lines(reqs []recorded) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = strings.ReplaceAll(r.line(), fakeSub, "{s}")
	}
	return out
}

const (
	w   = "api-version=2024-11-01"
	rgP = "/subscriptions/{s}/resourceGroups/rg1/providers/Microsoft.Web"
)

// seed creates a group, a plan and an app through the CLI itself.
func seed(t *testing.T, f *fakeServer) {
	t.Helper()
	for _, args := range [][]string{
		{"group", "create", "-n", "rg1", "-l", "westeurope"},
		{"appservice", "plan", "create", "-g", "rg1", "-n", "plan1", "--is-linux", "--sku", "B1"},
		{"webapp", "create", "-g", "rg1", "-p", "plan1", "-n", "myapp", "--runtime", "PYTHON:3.12"},
	} {
		if _, stderr, err := testRun(t, f, "", args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
	}
	f.takeRequests()
}

// TestWebappCreateSequence checks docs/arm.md §1.5: plan GET, name check, stacks,
// site PUT (200), publishxml; and the output (Site + ftpPublishingUrl).
func TestWebappCreateSequence(t *testing.T) {
	f := newFakeServer(t)
	for _, args := range [][]string{
		{"group", "create", "-n", "rg1", "-l", "westeurope"},
		{"appservice", "plan", "create", "-g", "rg1", "-n", "plan1", "--is-linux", "--sku", "b1"},
	} {
		if _, stderr, err := testRun(t, f, "", args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
	}
	reqs := f.takeRequests()
	if diff := cmp.Diff([]string{
		"PUT arm /subscriptions/{s}/resourcegroups/rg1?api-version=2024-11-01",
		// No -l: the plan takes the group's location (docs/arm.md §1.4 step 2).
		"GET arm /subscriptions/{s}/resourcegroups/rg1?api-version=2024-11-01",
		"PUT arm " + rgP + "/serverfarms/plan1?api-version=2025-03-01",
	}, lines(reqs)); diff != "" {
		t.Errorf("group/plan create requests (-want +got):\n%s", diff)
	}
	if got, want := reqs[2].Body, `{"location":"westeurope","properties":{"hyperV":false,"isXenon":false,"perSiteScaling":false,"reserved":true,"zoneRedundant":false},"sku":{"name":"B1","tier":"BASIC"}}`; got != want {
		t.Errorf("plan PUT body:\n got %s\nwant %s", got, want)
	}
	if reqs[0].Auth != "Bearer "+fakeToken {
		t.Errorf("Authorization = %q, want the admin token from server.json", reqs[0].Auth)
	}

	stdout, stderr, err := testRun(t, f, "", "webapp", "create", "-g", "rg1", "-p", "plan1", "-n", "myapp", "--runtime", "PYTHON:3.12", "--startup-file", "gunicorn app:app")
	if err != nil {
		t.Fatalf("webapp create: %v\n%s", err, stderr)
	}
	reqs = f.takeRequests()
	if diff := cmp.Diff([]string{
		"GET arm " + rgP + "/serverfarms/plan1?" + w,
		"POST arm /subscriptions/{s}/providers/Microsoft.Web/checknameavailability?" + w,
		"GET arm /providers/Microsoft.Web/webAppStacks?" + w,
		"PUT arm " + rgP + "/sites/myapp?" + w,
		"POST arm " + rgP + "/sites/myapp/publishxml?" + w,
	}, lines(reqs)); diff != "" {
		t.Errorf("webapp create requests (-want +got):\n%s", diff)
	}
	wantBody := `{"location":"West Europe","properties":{"httpsOnly":false,"serverFarmId":"/subscriptions/` + fakeSub +
		`/resourceGroups/rg1/providers/Microsoft.Web/serverfarms/plan1","siteConfig":{"appCommandLine":"gunicorn app:app","appSettings":[],"linuxFxVersion":"PYTHON|3.12"}}}`
	if reqs[3].Body != wantBody {
		t.Errorf("site PUT body:\n got %s\nwant %s", reqs[3].Body, wantBody)
	}
	if reqs[1].Body != `{"name":"myapp","type":"Site"}` {
		t.Errorf("checknameavailability body = %s", reqs[1].Body)
	}
	var site map[string]any
	if err := json.Unmarshal([]byte(stdout), &site); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout)
	}
	if site["ftpPublishingUrl"] != "ftp://127.0.0.1/site/wwwroot" || site["defaultHostName"] != "myapp.localhost" || site["name"] != "myapp" {
		t.Errorf("webapp create output lacks the flattened site + ftpPublishingUrl:\n%s", stdout)
	}
}

// TestAppSettingsSetSequence checks docs/arm.md §1.7: list, then a PUT of the
// whole dictionary, and az's redacted output.
func TestAppSettingsSetSequence(t *testing.T) {
	f := newFakeServer(t)
	seed(t, f)
	f.settings["myapp"]["EXISTING"] = "keep-me"
	stdout, stderr, err := testRun(t, f, "", "webapp", "config", "appsettings", "set", "-g", "rg1", "-n", "myapp", "--settings", "DEBUG=false", "DJANGO_SETTINGS_MODULE=todoproject.settings", "EMPTY=")
	if err != nil {
		t.Fatalf("appsettings set: %v\n%s", err, stderr)
	}
	reqs := f.takeRequests()
	if diff := cmp.Diff([]string{
		"POST arm " + rgP + "/sites/myapp/config/appsettings/list?" + w,
		"GET arm " + rgP + "/sites/myapp/config/slotConfigNames?" + w,
		"PUT arm " + rgP + "/sites/myapp/config/appsettings?" + w,
	}, lines(reqs)); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if got, want := reqs[2].Body, `{"properties":{"DEBUG":"false","DJANGO_SETTINGS_MODULE":"todoproject.settings","EMPTY":"","EXISTING":"keep-me"}}`; got != want {
		t.Errorf("PUT body does not carry the full dictionary:\n got %s\nwant %s", got, want)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("output is not a JSON list: %v\n%s", err, stdout)
	}
	want := []map[string]any{
		{"name": "DEBUG", "value": nil, "slotSetting": false},
		{"name": "DJANGO_SETTINGS_MODULE", "value": nil, "slotSetting": false},
		{"name": "EMPTY", "value": nil, "slotSetting": false},
		{"name": "EXISTING", "value": nil, "slotSetting": false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if !strings.Contains(stderr, "redacted") {
		t.Errorf("stderr lacks az's redaction warning: %q", stderr)
	}

	// list shows the values and the sticky flag; delete PUTs the rest.
	stdout, _, err = testRun(t, f, "", "webapp", "config", "appsettings", "list", "-g", "rg1", "-n", "myapp")
	if err != nil || !strings.Contains(stdout, `"value": "todoproject.settings"`) {
		t.Errorf("appsettings list: err %v, output:\n%s", err, stdout)
	}
	f.takeRequests()
	if _, _, err := testRun(t, f, "", "webapp", "config", "appsettings", "delete", "-g", "rg1", "-n", "myapp", "--setting-names", "DEBUG", "EMPTY"); err != nil {
		t.Fatal(err)
	}
	reqs = f.takeRequests()
	if last := reqs[len(reqs)-1]; last.Method != "PUT" || strings.Contains(last.Body, "DEBUG") || !strings.Contains(last.Body, "EXISTING") {
		t.Errorf("delete's last request should PUT the dictionary without DEBUG: %+v", last)
	}
}

// TestConfigSetStartupFile checks docs/arm.md §1.9: GET config/web, then PATCH
// the whole SiteConfig with appCommandLine changed.
func TestConfigSetStartupFile(t *testing.T) {
	f := newFakeServer(t)
	seed(t, f)
	stdout, stderr, err := testRun(t, f, "", "webapp", "config", "set", "-g", "rg1", "-n", "myapp", "--startup-file", "gunicorn --bind=0.0.0.0 todoproject.wsgi")
	if err != nil {
		t.Fatalf("config set: %v\n%s", err, stderr)
	}
	reqs := f.takeRequests()
	if diff := cmp.Diff([]string{
		"GET arm " + rgP + "/sites/myapp/config/web?" + w,
		"PATCH arm " + rgP + "/sites/myapp/config/web?" + w,
	}, lines(reqs)); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	want := `{"properties":{"alwaysOn":false,"appCommandLine":"gunicorn --bind=0.0.0.0 todoproject.wsgi","linuxFxVersion":"PYTHON|3.12","minTlsVersion":"1.2","numberOfWorkers":1}}`
	if reqs[1].Body != want {
		t.Errorf("PATCH body:\n got %s\nwant %s", reqs[1].Body, want)
	}
	if !strings.Contains(stdout, `"appCommandLine": "gunicorn --bind=0.0.0.0 todoproject.wsgi"`) {
		t.Errorf("output lacks the new startup command:\n%s", stdout)
	}
}

// writeProject makes a minimal Python project folder.
func writeProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"requirements.txt": "Django==5.1\n",
		"manage.py":        "print('hi')\n",
		".venv/lib/x.py":   "skipped\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestWebappUpNewApp checks docs/arm.md §1.14 for a new app: group, plan, site
// (httpsOnly, SCM_DO_BUILD_DURING_DEPLOYMENT=True), logging, publishing
// credentials, zipdeploy?isAsync=true (202), polling, the streamed build
// log, the URL check, the summary, and .azure/config.
func TestWebappUpNewApp(t *testing.T) {
	f := newFakeServer(t)
	dir := writeProject(t)
	stdout, stderr, err := testRun(t, f, dir, "webapp", "up", "-n", "myapp", "--sku", "B1", "-r", "PYTHON:3.12")
	if err != nil {
		t.Fatalf("webapp up: %v\nstderr:\n%s", err, stderr)
	}
	reqs := f.takeRequests()
	got := lines(reqs)
	// Collapse the polling loop, whose length depends on timing.
	var seq []string
	for _, l := range got {
		if len(seq) > 0 && seq[len(seq)-1] == l {
			continue
		}
		seq = append(seq, l)
	}
	// The group name is generated; read it from the summary instead.
	var sum map[string]any
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("stdout is not the JSON summary: %v\n%s", err, stdout)
	}
	rg, plan := sum["resourcegroup"].(string), sum["appserviceplan"].(string)
	rgW := "/subscriptions/{s}/resourceGroups/" + rg + "/providers/Microsoft.Web"
	want := []string{
		"GET arm /subscriptions/{s}/providers/Microsoft.Web/sites?" + w,
		"POST arm /subscriptions/{s}/providers/Microsoft.Web/checknameavailability?" + w,
		"GET arm /providers/Microsoft.Web/webAppStacks?" + w,
		"HEAD arm /subscriptions/{s}/resourcegroups/" + rg + "?" + w,
		"PUT arm /subscriptions/{s}/resourcegroups/" + rg + "?" + w,
		"PUT arm " + rgW + "/serverfarms/" + plan + "?api-version=2025-03-01",
		"PUT arm " + rgW + "/sites/myapp?" + w,
		"PUT arm " + rgW + "/sites/myapp/config/logs?" + w,
		"GET arm " + rgW + "/sites/myapp?" + w,
		"POST arm " + rgW + "/sites/myapp/config/publishingcredentials/list?" + w,
		"POST scm:myapp /api/zipdeploy?isAsync=true",
		"GET scm:myapp /api/deployments/latest",
	}
	if len(seq) < len(want) {
		t.Fatalf("too few requests:\n%s", strings.Join(seq, "\n"))
	}
	if diff := cmp.Diff(want, seq[:len(want)]); diff != "" {
		t.Errorf("webapp up requests (-want +got):\n%s\nall:\n%s", diff, strings.Join(seq, "\n"))
	}
	if last := seq[len(seq)-1]; last != "GET app:myapp /" {
		t.Errorf("last request = %q, want the app URL check", last)
	}
	if !strings.HasPrefix(rg, "alice_rg_") || len(rg) != len("alice_rg_0000") || !strings.HasPrefix(plan, "alice_asp_") {
		t.Errorf("default names = %q, %q; want alice_rg_NNNN, alice_asp_NNNN", rg, plan)
	}
	for _, r := range reqs {
		switch {
		case strings.HasSuffix(r.Path, "/sites/myapp") && r.Method == "PUT":
			for _, s := range []string{`"httpsOnly":true`, `{"name":"SCM_DO_BUILD_DURING_DEPLOYMENT","value":"True"}`, `"linuxFxVersion":"PYTHON|3.12"`} {
				if !strings.Contains(r.Body, s) {
					t.Errorf("site PUT body lacks %s: %s", s, r.Body)
				}
			}
		case strings.HasSuffix(r.Path, "/serverfarms/"+plan):
			if !strings.Contains(r.Body, `"sku":{"capacity":1,"name":"B1","tier":"BASIC"}`) || !strings.Contains(r.Body, `"reserved":true`) {
				t.Errorf("plan PUT body = %s", r.Body)
			}
		case r.Path == "/api/zipdeploy":
			if r.Auth == "" || !strings.HasPrefix(r.Body, "<") {
				t.Errorf("zipdeploy without Basic auth or body: %+v", r)
			}
		}
	}
	url := "http://myapp.localhost:" + f.port()
	wantSum := map[string]any{"name": "myapp", "appserviceplan": plan, "resourcegroup": rg, "sku": "BASIC", "os": "Linux",
		"location": "westeurope", "src_path": dir, "runtime_version_detected": "-", "runtime_version": "python|3.12", "URL": url}
	if diff := cmp.Diff(wantSum, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	for _, s := range []string{"You can launch the app at " + url, "Running oryx build...", "Detected requirements.txt", "Successfully installed Django"} {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, stderr)
		}
	}
	// The build log streams in log order: details under their entry.
	order := []string{"Deployment endpoint responded with status code 202", "Fetching changes.", "Running oryx build...", "Detected requirements.txt",
		"Successfully installed Django", "Deployment successful.", "You can launch the app at"}
	for i := 1; i < len(order); i++ {
		if strings.Index(stderr, order[i-1]) > strings.Index(stderr, order[i]) {
			t.Errorf("%q printed after %q:\n%s", order[i-1], order[i], stderr)
		}
	}
	if strings.Count(stderr, "Detected requirements.txt") != 1 {
		t.Errorf("build log lines repeated:\n%s", stderr)
	}
	cfg, err := os.ReadFile(filepath.Join(dir, ".azure", "config"))
	if err != nil {
		t.Fatal(err)
	}
	wantCfg := "[defaults]\ngroup = " + rg + "\nsku = B1\nappserviceplan = " + plan + "\nlocation = westeurope\nweb = myapp\n\n"
	if diff := cmp.Diff(wantCfg, string(cfg)); diff != "" {
		t.Errorf(".azure/config (-want +got):\n%s", diff)
	}

	// A second run in the same folder reuses the remembered names: no new
	// group or app, the plan PUT again (az always does), a new deployment.
	stdout, stderr, err = testRun(t, f, dir, "webapp", "up")
	if err != nil {
		t.Fatalf("second webapp up: %v\n%s", err, stderr)
	}
	var sum2 map[string]any
	_ = json.Unmarshal([]byte(stdout), &sum2)
	if sum2["resourcegroup"] != rg || sum2["appserviceplan"] != plan || sum2["name"] != "myapp" || sum2["sku"] != "BASIC" {
		t.Errorf("second run did not reuse .azure/config: %v", sum2)
	}
	for _, r := range f.takeRequests() {
		if (r.Method == "PUT" && strings.HasSuffix(r.Path, "/sites/myapp")) || (r.Method == "PUT" && strings.Contains(r.Path, "/resourcegroups/")) {
			t.Errorf("second run re-created a resource: %s", r.line())
		}
	}
	if len(f.zipSizes) != 2 {
		t.Errorf("packages uploaded = %d, want 2", len(f.zipSizes))
	}
}

// TestWebappUpBuildFails checks that a failed deployment (Kudu status 3)
// ends in an error whose hint names the deployment log command.
func TestWebappUpBuildFails(t *testing.T) {
	f := newFakeServer(t)
	f.deployFail = true
	dir := writeProject(t)
	_, stderr, err := testRun(t, f, dir, "webapp", "up", "-n", "myapp", "-g", "rg9")
	var ee *ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("err = %v, want *ExitError\n%s", err, stderr)
	}
	if ee.Code != 1 || !strings.Contains(ee.Message, "Oryx build failed") || ee.Hint != "See the build and deployment log with `slipway webapp log deployment show -g rg9 -n myapp`." {
		t.Errorf("error = %+v", ee)
	}
	// Defaults are kept so that a rerun reuses the resources just made.
	if _, err := os.Stat(filepath.Join(dir, ".azure", "config")); err != nil {
		t.Errorf(".azure/config not written after the app was created: %v", err)
	}
}

// TestWebappUpNotAProject checks az's message outside a Python project.
func TestWebappUpNotAProject(t *testing.T) {
	f := newFakeServer(t)
	_, _, err := testRun(t, f, t.TempDir(), "webapp", "up", "-n", "x1")
	want := &ExitError{Code: 1, Message: "Could not auto-detect the runtime stack of your app.", Hint: "Are you in the right folder?"}
	if diff := cmp.Diff(error(want), err); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if n := len(f.takeRequests()); n != 0 {
		t.Errorf("%d requests sent before the folder was checked", n)
	}
}

// TestWebappUpDryRun prints the plan and changes nothing.
func TestWebappUpDryRun(t *testing.T) {
	f := newFakeServer(t)
	dir := writeProject(t)
	stdout, _, err := testRun(t, f, dir, "webapp", "up", "--dryrun", "-g", "rg1", "-p", "plan1")
	if err != nil {
		t.Fatal(err)
	}
	var sum map[string]any
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatal(err)
	}
	// No --runtime: az's default SKU is P1V2 and the runtime the
	// lexicographically smallest Python ("3.10" < "3.12" < "3.9").
	if sum["sku"] != "PREMIUMV2" || sum["runtime_version"] != "python|3.10" || sum["resourcegroup"] != "rg1" || sum["appserviceplan"] != "plan1" || sum["URL"] != nil {
		t.Errorf("dry run summary = %v", sum)
	}
	if name, _ := sum["name"].(string); len(strings.Split(name, "-")) != 3 || len(strings.Split(name, "-")[2]) != 32 {
		t.Errorf("generated name %q is not <adjective>-<noun>-<32 hex>", name)
	}
	for _, r := range f.takeRequests() {
		if r.Method != "GET" && r.Method != "HEAD" && !strings.HasSuffix(r.Path, "checknameavailability") {
			t.Errorf("dry run changed something: %s", r.line())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".azure")); err == nil {
		t.Errorf("dry run wrote .azure/config")
	}
}

// TestWebappUpReusesPlan: in an existing group, without -p, az reuses the
// user's default-named Linux plan (docs/arm.md §1.14 step 5) instead of making
// a new one.
func TestWebappUpReusesPlan(t *testing.T) {
	f := newFakeServer(t)
	for _, args := range [][]string{
		{"group", "create", "-n", "rg1", "-l", "westeurope"},
		{"appservice", "plan", "create", "-g", "rg1", "-n", "alice_asp_1234", "--is-linux"},
	} {
		if _, stderr, err := testRun(t, f, "", args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
	}
	stdout, stderr, err := testRun(t, f, writeProject(t), "webapp", "up", "-g", "rg1", "-n", "newapp", "--dryrun")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var sum map[string]any
	_ = json.Unmarshal([]byte(stdout), &sum)
	if sum["appserviceplan"] != "alice_asp_1234" {
		t.Errorf("plan = %v, want the existing alice_asp_1234", sum["appserviceplan"])
	}
}

// TestWebappUpExistingAppMismatch: an existing app's group must match -g.
func TestWebappUpExistingAppMismatch(t *testing.T) {
	f := newFakeServer(t)
	seed(t, f)
	_, _, err := testRun(t, f, writeProject(t), "webapp", "up", "-n", "myapp", "-g", "other")
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Message != "Webapp 'myapp' exists in resource group 'rg1' and does not match the value entered 'other'." {
		t.Errorf("err = %v", err)
	}
}

// TestWebappUpLogs: --logs streams the app's log after the summary.
func TestWebappUpLogs(t *testing.T) {
	f := newFakeServer(t)
	stdout, stderr, err := testRun(t, f, writeProject(t), "webapp", "up", "-n", "myapp", "--logs")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	i, j := strings.Index(stdout, `"URL"`), strings.Index(stdout, "connected to log-streaming service")
	if i < 0 || j < i {
		t.Errorf("stdout should be the summary, then the log stream:\n%s", stdout)
	}
}

// TestWebappUpAppNeverAnswers: a deployment that succeeds but whose app
// keeps answering 5xx ends in an error pointing at the log stream; the
// defaults are still written.
func TestWebappUpAppNeverAnswers(t *testing.T) {
	f := newFakeServer(t)
	f.override = func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.Host, "myapp.localhost") {
			w.WriteHeader(http.StatusBadGateway)
			return true
		}
		return false
	}
	dir := writeProject(t)
	_, _, err := testRunWith(t, f, dir, "", nil, func(r *runner) { r.appTimeout = 200 * time.Millisecond }, "webapp", "up", "-n", "myapp", "-g", "rg1")
	var ee *ExitError
	if !errors.As(err, &ee) || !strings.Contains(ee.Message, "did not answer within 200ms (last: 502 Bad Gateway)") || !strings.Contains(ee.Hint, "slipway webapp log tail -g rg1 -n myapp") {
		t.Fatalf("err = %#v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".azure", "config")); err != nil {
		t.Error(err)
	}
}
