package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// These tests also run against the fakeServer test double (see
// fakeserver_test.go for why).

func writeZip(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "app.zip")
	if err := os.WriteFile(p, []byte("PK\x05\x06"+strings.Repeat("\x00", 18)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestWebappDeployOneDeploy checks docs/arm.md §1.13: site, credentials, then
// POST /api/publish?type=zip with the flags as query parameters, Basic auth,
// the package as the body; then polling until status 4.
func TestWebappDeployOneDeploy(t *testing.T) {
	f := newFakeServer(t)
	seed(t, f)
	zip := writeZip(t)
	stdout, stderr, err := testRun(t, f, "", "webapp", "deploy", "-g", "rg1", "-n", "myapp", "--src-path", zip, "--async", "true", "--restart", "false", "--clean", "true")
	if err != nil {
		t.Fatalf("deploy --async: %v\n%s", err, stderr)
	}
	reqs := f.takeRequests()
	if diff := cmp.Diff([]string{
		"GET arm " + rgP + "/sites/myapp?" + w,
		"POST arm " + rgP + "/sites/myapp/config/publishingcredentials/list?" + w,
		"POST scm:myapp /api/publish?async=true&clean=true&restart=false&trackDeploymentProgress=true&type=zip",
	}, lines(reqs)); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(reqs[2].Auth, "Basic ") || reqs[2].Body != "<22 bytes>" {
		t.Errorf("publish request = %+v", reqs[2])
	}
	if stdout != "" || !strings.Contains(stderr, "/api/deployments/latest") {
		t.Errorf("--async should print where to track the deployment; stdout %q stderr %q", stdout, stderr)
	}

	// Without --async the CLI waits and prints the deployment record.
	stdout, stderr, err = testRun(t, f, "", "webapp", "deploy", "-g", "rg1", "-n", "myapp", "--src-path", zip, "--type", "zip")
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, stderr)
	}
	var d map[string]any
	if err := json.Unmarshal([]byte(stdout), &d); err != nil || d["status"] != 4.0 || d["complete"] != true {
		t.Errorf("output = %s (%v), want the completed deployment", stdout, err)
	}
}

// TestWebappDeployTypes: like az webapp deploy, the type comes from --type
// or else from the file's extension — war, jar, ear and zip are
// themselves, .sh and .bat are startup scripts, anything else is a static
// file — and --target-path is sent as path.
func TestWebappDeployTypes(t *testing.T) {
	f := newFakeServer(t)
	seed(t, f)
	dir := t.TempDir()
	tests := []struct {
		file  string
		args  []string
		query string
	}{
		{"startup.sh", nil, "trackDeploymentProgress=true&type=startup"},
		{"run.BAT", nil, "trackDeploymentProgress=true&type=startup"},
		{"robots.txt", []string{"--target-path", "static/robots.txt"}, "path=static%2Frobots.txt&trackDeploymentProgress=true&type=static"},
		{"app.tar", nil, "trackDeploymentProgress=true&type=static"},
		{"script.sh", []string{"--type", "static", "--target-path", "/home/site/wwwroot/tools/script.sh"}, "path=%2Fhome%2Fsite%2Fwwwroot%2Ftools%2Fscript.sh&trackDeploymentProgress=true&type=static"},
		{"app.war", nil, "trackDeploymentProgress=true&type=war"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			p := filepath.Join(dir, tc.file)
			if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"webapp", "deploy", "-g", "rg1", "-n", "myapp", "--src-path", p, "--async", "true"}, tc.args...)
			if _, stderr, err := testRun(t, f, "", args...); err != nil {
				t.Fatalf("deploy: %v\n%s", err, stderr)
			}
			want := "POST scm:myapp /api/publish?async=true&" + tc.query
			var got []string
			for _, r := range f.takeRequests() {
				if strings.HasPrefix(r.line(), "POST scm:") {
					got = append(got, r.line())
				}
			}
			if len(got) != 1 || got[0] != want {
				t.Errorf("publish requests = %q, want %q", got, want)
			}
		})
	}
}

// TestConfigZipFailure: a deployment that ends in status 3 is an error that
// points at the deployment log.
func TestConfigZipFailure(t *testing.T) {
	f := newFakeServer(t)
	seed(t, f)
	f.deployFail = true
	_, stderr, err := testRun(t, f, "", "webapp", "deployment", "source", "config-zip", "-g", "rg1", "-n", "myapp", "--src", writeZip(t))
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 1 || !strings.Contains(ee.Message, "Oryx build failed") || !strings.Contains(ee.Hint, "slipway webapp log deployment show -g rg1 -n myapp") {
		t.Fatalf("err = %#v\n%s", err, stderr)
	}
	var sawZip bool
	for _, r := range f.takeRequests() {
		sawZip = sawZip || r.line() == "POST scm:myapp /api/zipdeploy?isAsync=true"
	}
	if !sawZip {
		t.Error("no POST /api/zipdeploy?isAsync=true")
	}
	if !strings.Contains(stderr, "Status: Building") {
		t.Errorf("no progress shown:\n%s", stderr)
	}
}

// TestKuduConflict maps Kudu's 409 to az's "deployment in progress" text.
func TestKuduConflict(t *testing.T) {
	f := newFakeServer(t)
	seed(t, f)
	f.override = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/zipdeploy" {
			w.WriteHeader(409)
			w.Write([]byte("There is a deployment currently in progress. Please try again when it completes."))
			return true
		}
		return false
	}
	_, _, err := testRun(t, f, "", "webapp", "deployment", "source", "config-zip", "-g", "rg1", "-n", "myapp", "--src", writeZip(t))
	var ee *ExitError
	if !errors.As(err, &ee) || !strings.Contains(ee.Message, "Another deployment is in progress") || !strings.Contains(ee.Message, "currently in progress") {
		t.Fatalf("err = %v", err)
	}
}

// TestLogDeploymentShow prints az's list of log entries, each with its
// details when it has a details_url.
func TestLogDeploymentShow(t *testing.T) {
	f := newFakeServer(t)
	seed(t, f)
	if _, _, err := testRun(t, f, "", "webapp", "deployment", "source", "config-zip", "-g", "rg1", "-n", "myapp", "--src", writeZip(t)); err != nil {
		t.Fatal(err)
	}
	f.takeRequests()
	stdout, stderr, err := testRun(t, f, "", "webapp", "log", "deployment", "show", "-g", "rg1", "-n", "myapp")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if len(got) != 3 || got[0]["message"] != "Fetching changes." || got[1]["details"] == nil {
		t.Fatalf("entries = %v", got)
	}
	details := got[1]["details"].([]any)
	if len(details) != 2 || details[1].(map[string]any)["message"] != "Successfully installed Django" {
		t.Errorf("details = %v", details)
	}
	wantTail := []string{
		"GET scm:myapp /api/deployments/latest",
		"GET scm:myapp /api/deployments/0123456789abcdef0123456789abcdef/log",
		"GET scm:myapp /api/deployments/0123456789abcdef0123456789abcdef/log/l2",
	}
	if l := lines(f.takeRequests()); len(l) < 2 || !cmp.Equal(wantTail, l[len(l)-3:]) {
		t.Errorf("requests end with %v, want %v", l, wantTail)
	}
}

// TestLogTail copies the log stream to stdout until the server closes it.
func TestLogTail(t *testing.T) {
	f := newFakeServer(t)
	seed(t, f)
	stdout, stderr, err := testRun(t, f, "", "webapp", "log", "tail", "-g", "rg1", "-n", "myapp")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	want := "2026-11-25T04:00:00 Welcome, you are now connected to log-streaming service.\n2026-11-25T04:00:01 [INFO] Listening at: http://0.0.0.0:8000\n"
	if stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
}

// TestLogTailCancel: Ctrl-C (context cancellation) ends a tail cleanly.
func TestLogTailCancel(t *testing.T) {
	f := newFakeServer(t)
	seed(t, f)
	started := make(chan struct{})
	f.override = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/api/logstream" {
			return false
		}
		w.WriteHeader(200)
		w.Write([]byte("line 1\n"))
		w.(http.Flusher).Flush()
		close(started)
		<-r.Context().Done() // stream until the client goes away
		return true
	}
	data := t.TempDir()
	f.writeServerJSON(t, data)
	var errb bytes.Buffer
	out := &notifyWriter{first: make(chan struct{})}
	r := defaultRunner([]string{"SLIPWAY_DATA=" + data}, strings.NewReader(""), out, &errb)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.run(ctx, []string{"webapp", "log", "tail", "-g", "rg1", "-n", "myapp"}) }()
	<-started
	<-out.first // the line reached stdout while the stream is still open
	cancel()
	if err := <-done; err != nil {
		t.Errorf("tail ended with %v, want nil after cancellation", err)
	}
	if out.String() != "line 1\n" {
		t.Errorf("stdout = %q", out.String())
	}
}

// TestNotFoundExitCode: a 404 from ARM is az's "(Code) message" and exit 3.
func TestNotFoundExitCode(t *testing.T) {
	f := newFakeServer(t)
	seed(t, f)
	data := t.TempDir()
	f.writeServerJSON(t, data)
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"webapp", "show", "-g", "rg1", "-n", "nope"}, []string{"SLIPWAY_DATA=" + data}, strings.NewReader(""), &out, &errb)
	if code != 3 {
		t.Errorf("exit code = %d, want 3", code)
	}
	if want := "ERROR: (ResourceNotFound) The Resource 'Microsoft.Web/sites/nope' under resource group 'rg1' was not found.\n"; !strings.HasPrefix(errb.String(), want) {
		t.Errorf("stderr = %q, want prefix %q", errb.String(), want)
	}
}

// TestServerFromEnvironment: SLIPWAY_URL + SLIPWAY_TOKEN without a
// server.json; the subscription comes from GET /subscriptions, and with no
// domain known every host name is dialled at the server (Kudu calls work).
func TestServerFromEnvironment(t *testing.T) {
	f := newFakeServer(t)
	seed(t, f)
	env := []string{"SLIPWAY_URL=" + f.srv.URL, "SLIPWAY_TOKEN=" + fakeToken, "SLIPWAY_DATA=" + t.TempDir()}
	var out, errb bytes.Buffer
	r := defaultRunner(env, strings.NewReader(""), &out, &errb)
	if err := r.run(context.Background(), []string{"webapp", "deployment", "list-publishing-credentials", "-g", "rg1", "-n", "myapp"}); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), `"publishingUserName": "$myapp"`) {
		t.Errorf("output:\n%s", out.String())
	}
	out.Reset()
	if err := r.run(context.Background(), []string{"webapp", "log", "tail", "-g", "rg1", "-n", "myapp"}); err != nil {
		t.Fatalf("tail: %v", err)
	}
	reqs := lines(f.takeRequests())
	if reqs[0] != "GET arm /subscriptions?api-version=2022-12-01" {
		t.Errorf("first request = %q, want the subscription lookup", reqs[0])
	}
	// A wrong token is the server's 401, rendered with a hint.
	r = defaultRunner([]string{"SLIPWAY_URL=" + f.srv.URL, "SLIPWAY_TOKEN=wrong", "SLIPWAY_SUBSCRIPTION=" + fakeSub}, strings.NewReader(""), &out, &errb)
	err := r.run(context.Background(), []string{"group", "list"})
	var ee *ExitError
	if !errors.As(err, &ee) || !strings.HasPrefix(ee.Message, "(InvalidAuthenticationToken)") || !strings.Contains(ee.Hint, "SLIPWAY_TOKEN") {
		t.Errorf("err = %#v", err)
	}
}

// TestGroupDeleteConfirmation follows az: prompt on stderr, read stdin,
// --yes skips the prompt, no terminal and no --yes is an error.
func TestGroupDeleteConfirmation(t *testing.T) {
	f := newFakeServer(t)
	seed(t, f)
	tests := []struct {
		name, stdin string
		args        []string
		wantDelete  bool
		wantErr     bool
	}{
		{"answer no", "n\n", nil, false, false},
		{"no input", "", nil, false, true},
		{"answer yes", "y\n", nil, true, false},
		{"--yes", "", []string{"--yes"}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.groups["rg1"] = "westeurope"
			f.takeRequests()
			_, stderr, err := testRunEnv(t, f, "", tt.stdin, nil, append([]string{"group", "delete", "-n", "rg1"}, tt.args...)...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			deleted := false
			for _, r := range f.takeRequests() {
				deleted = deleted || r.Method == "DELETE"
			}
			if deleted != tt.wantDelete {
				t.Errorf("deleted = %v, want %v", deleted, tt.wantDelete)
			}
			if (tt.args == nil) != strings.Contains(stderr, "Are you sure you want to perform this operation? (y/n):") {
				t.Errorf("prompt shown wrongly: %q", stderr)
			}
		})
	}
}

// TestSlotSettings: --slot-settings also PUTs slotConfigNames, and list
// marks those settings slotSetting: true.
func TestSlotSettings(t *testing.T) {
	f := newFakeServer(t)
	seed(t, f)
	if _, _, err := testRun(t, f, "", "webapp", "config", "appsettings", "set", "-g", "rg1", "-n", "myapp", "--slot-settings", "STICKY=1"); err != nil {
		t.Fatal(err)
	}
	var put recorded
	for _, r := range f.takeRequests() {
		if r.Method == "PUT" && strings.HasSuffix(r.Path, "/config/slotConfigNames") {
			put = r
		}
	}
	if put.Body != `{"properties":{"appSettingNames":["STICKY"],"connectionStringNames":[],"azureStorageConfigNames":[]}}` {
		t.Errorf("slotConfigNames PUT = %q", put.Body)
	}
	stdout, _, err := testRun(t, f, "", "webapp", "config", "appsettings", "list", "-g", "rg1", "-n", "myapp")
	if err != nil || !strings.Contains(stdout, "\"name\": \"STICKY\",\n    \"slotSetting\": true") {
		t.Errorf("list: %v\n%s", err, stdout)
	}
}

// notifyWriter is a stdout that closes first on the first write.
type notifyWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	first chan struct{}
	once  sync.Once
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.once.Do(func() { close(w.first) })
	return w.buf.Write(p)
}

func (w *notifyWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestWaitsForOwnDeployment: when the upload's answer names the deployment
// (SCM-DEPLOYMENT-ID), an older finished deployment still shown as latest
// is not taken for ours.
func TestWaitsForOwnDeployment(t *testing.T) {
	f := newFakeServer(t)
	seed(t, f)
	f.sendID, f.staleLatest = true, 3
	stdout, stderr, err := testRun(t, f, "", "webapp", "deployment", "source", "config-zip", "-g", "rg1", "-n", "myapp", "--src", writeZip(t))
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var d map[string]any
	if err := json.Unmarshal([]byte(stdout), &d); err != nil || d["id"] != "0123456789abcdef0123456789abcdef" || d["status"] != 4.0 {
		t.Errorf("reported deployment = %s", stdout)
	}
}

// TestDebugAndListFilter: --debug traces requests on stderr without the
// token; webapp list drops function apps and kind-less entries (docs/arm.md §1.6)
// and renames serverFarmId.
func TestDebugAndListFilter(t *testing.T) {
	f := newFakeServer(t)
	seed(t, f)
	f.sites["fn1"] = map[string]any{"id": f.siteID("rg1", "fn1"), "name": "fn1", "kind": "functionapp,linux", "properties": map[string]any{"resourceGroup": "rg1"}}
	f.sites["nokind"] = map[string]any{"id": f.siteID("rg1", "nokind"), "name": "nokind", "properties": map[string]any{"resourceGroup": "rg1"}}
	stdout, stderr, err := testRun(t, f, "", "webapp", "list", "--debug")
	if err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(stdout), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0]["name"] != "myapp" || list[0]["appServicePlanId"] == nil || list[0]["serverFarmId"] != nil {
		t.Errorf("list = %v", list)
	}
	if !strings.Contains(stderr, "DEBUG: GET /subscriptions/"+fakeSub+"/providers/Microsoft.Web/sites?api-version=2024-11-01 (Host 127.0.0.1:"+f.port()+") -> 200") {
		t.Errorf("no debug trace:\n%s", stderr)
	}
	if strings.Contains(stderr, fakeToken) {
		t.Error("--debug printed the admin token")
	}
}

// TestAppSettingsFromFile: --settings @file takes az's list output (sticky
// flags included) or a plain object, relative to the current folder.
func TestAppSettingsFromFile(t *testing.T) {
	f := newFakeServer(t)
	seed(t, f)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "list.json"), []byte(`[{"name":"A","value":"1","slotSetting":false},{"name":"B","value":"2","slotSetting":true}]`), 0o644)
	os.WriteFile(filepath.Join(dir, "obj.json"), []byte(`{"C":"3","N":4}`), 0o644)
	if _, stderr, err := testRun(t, f, dir, "webapp", "config", "appsettings", "set", "-g", "rg1", "-n", "myapp", "--settings", "@list.json", "@obj.json", "D=5"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	want := map[string]any{"A": "1", "B": "2", "C": "3", "N": "4", "D": "5"}
	if diff := cmp.Diff(want, f.settings["myapp"]); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
	if names := f.slotNames["myapp"]["appSettingNames"]; !cmp.Equal(names, []any{"B"}) {
		t.Errorf("sticky names = %v, want [B]", names)
	}
	_, _, err := testRun(t, f, dir, "webapp", "config", "appsettings", "set", "-g", "rg1", "-n", "myapp", "--settings", "@missing.json")
	if err == nil || !strings.Contains(err.Error(), "Cannot read the settings file") {
		t.Errorf("err = %v", err)
	}
}

// TestAttackWebappDeployReportsOwnDeployment: webapp deploy reports the
// deployment it pushed, not whatever another deployer's push made the
// latest: it asks the server to name its deployment, as the server does
// only when asked (trackDeploymentProgress).
func TestAttackWebappDeployReportsOwnDeployment(t *testing.T) {
	f := newFakeServer(t)
	seed(t, f)
	f.staleLatest = 3 // another deployment shows as latest first
	p := filepath.Join(t.TempDir(), "robots.txt")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := testRun(t, f, "", "webapp", "deploy", "-g", "rg1", "-n", "myapp", "--src-path", p, "--target-path", "robots.txt")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var d map[string]any
	if err := json.Unmarshal([]byte(stdout), &d); err != nil || d["id"] != "0123456789abcdef0123456789abcdef" {
		t.Errorf("reported deployment = %s; want the one this push made", stdout)
	}
}
