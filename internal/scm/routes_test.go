package scm

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/applog"
	"github.com/slipway-dev/slipway/internal/deploy"
)

// fakeStore holds one site, "app", with publishing credentials user/pass
// and one successful deployment. The real store is SQLite; these tests are
// about routing and files, so a fake keeps them free of it.
type fakeStore struct {
	site     slipway.Site
	settings map[string]string // nil: {"A": "1"}
	basicOff bool              // the scm policy refuses Basic authentication
}

var _ Store = (*fakeStore)(nil)

func (f *fakeStore) BasicAuthAllowed(context.Context, string, string) (bool, error) {
	return !f.basicOff, nil
}

func (f *fakeStore) FindSite(_ context.Context, name string) (slipway.Site, error) {
	if !strings.EqualFold(name, f.site.Name) {
		return slipway.Site{}, slipway.Errorf(slipway.ENOTFOUND, "Site '%s' was not found.", name)
	}
	return f.site, nil
}

func (f *fakeStore) CheckPublishingCredentials(ctx context.Context, site, user, password string) (slipway.Site, error) {
	if user != "$app" || password != "pass" {
		return slipway.Site{}, slipway.Errorf(slipway.EUNAUTHORIZED, "bad credentials")
	}
	return f.FindSite(ctx, site)
}

func (f *fakeStore) deployment() slipway.Deployment {
	t := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	return slipway.Deployment{ID: "d1", Site: "app", Status: slipway.DeploySuccess, ReceivedTime: t, StartTime: t, EndTime: t.Add(time.Second), Active: true}
}

func (f *fakeStore) ListDeployments(context.Context, string) ([]slipway.Deployment, error) {
	return []slipway.Deployment{f.deployment()}, nil
}

func (f *fakeStore) GetDeployment(_ context.Context, _, id string) (slipway.Deployment, error) {
	if id != "d1" {
		return slipway.Deployment{}, slipway.Errorf(slipway.ENOTFOUND, "no deployment %s", id)
	}
	return f.deployment(), nil
}

func (f *fakeStore) DeploymentLog(context.Context, string, string) ([]slipway.DeploymentLogEntry, error) {
	return []slipway.DeploymentLogEntry{{ID: "e1", Message: "Deployment successful.", Details: "line one\nline two\n"}}, nil
}

func (f *fakeStore) DeploymentLogLines(_ context.Context, _, id, entry string) ([]slipway.DeploymentLogLine, error) {
	if id != "d1" || entry != "e1" {
		return nil, nil
	}
	return []slipway.DeploymentLogLine{{Text: "line one"}, {Text: "line two"}}, nil
}

func (f *fakeStore) Settings(context.Context, string, string) (map[string]string, error) {
	if f.settings != nil {
		return f.settings, nil
	}
	return map[string]string{"A": "1"}, nil
}

type fakeDeployer struct{}

var _ Deployer = fakeDeployer{}

func (fakeDeployer) Submit(context.Context, slipway.Site, io.Reader, deploy.Options) (slipway.Deployment, error) {
	return slipway.Deployment{}, slipway.Errorf(slipway.EINVALID, "not in this test")
}
func (fakeDeployer) Redeploy(context.Context, slipway.Site, string, deploy.RedeployOptions) (slipway.Deployment, error) {
	return slipway.Deployment{}, slipway.Errorf(slipway.EINVALID, "not in this test")
}
func (fakeDeployer) Record(context.Context, slipway.Site, deploy.Record) (slipway.Deployment, error) {
	return slipway.Deployment{}, slipway.Errorf(slipway.EINVALID, "not in this test")
}
func (fakeDeployer) DeleteDeployment(context.Context, slipway.Site, string) error {
	return slipway.Errorf(slipway.EINVALID, "not in this test")
}
func (fakeDeployer) Wait(context.Context, string) error { return nil }
func (fakeDeployer) IsDeploying(string) (string, bool)  { return "", false }
func (fakeDeployer) SiteLog(string) *applog.Log         { return nil }

// newKudu serves the fake site "app" with its LogFiles at logDir.
func newKudu(t *testing.T, logDir string) *httptest.Server {
	t.Helper()
	h := New(Config{
		Store: &fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: "app"}}, Deployer: fakeDeployer{},
		SiteOf: func(*http.Request) string { return "app" },
		LogDir: func(site string) string { return logDir },
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, srv *httptest.Server, p string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", srv.URL+p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return send(t, req)
}

// send sends req with the app's publishing credentials, following no
// redirect, and returns the answer.
func send(t *testing.T, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	req.SetBasicAuth("$app", "pass")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// TestTrailingSlashIsIgnored: Kudu's routing ignores a trailing slash, and
// `az webapp log deployment show` sends GET /api/deployments/ (docs/arm.md,
// "Measured with the real az"). Served as without it, never redirected.
func TestTrailingSlashIsIgnored(t *testing.T) {
	srv := newKudu(t, t.TempDir())
	for _, p := range []string{
		"/api/deployments", "/deployments", "/api/deployments/latest", "/api/deployments/d1/log",
		"/api/deployments/d1/log/e1", "/api/isdeploying", "/api/settings", "/api/environment", "/api/dump", "/dump",
	} {
		for _, variant := range []string{p + "/", strings.Replace(p, "/", "//", 1)} {
			t.Run(variant, func(t *testing.T) {
				wantStatus, _, want := get(t, srv, p)
				if wantStatus != 200 {
					t.Fatalf("GET %s = %d, want 200", p, wantStatus)
				}
				status, hdr, got := get(t, srv, variant)
				if status != 200 {
					t.Fatalf("GET %s = %d (Location %q), want 200", variant, status, hdr.Get("Location"))
				}
				if !strings.Contains(p, "dump") && !bytes.Equal(got, want) {
					t.Errorf("GET %s differs from GET %s:\n%s\n%s", variant, p, got, want)
				}
			})
		}
	}
}

// TestDumpZipsLogFiles: GET /dump is a zip of the app's LogFiles (`az
// webapp log download`). The app owns LogFiles: a symlink to a host file,
// a hard link and a FIFO planted there are left out, and listed in the
// notes.
func TestDumpZipsLogFiles(t *testing.T) {
	host := t.TempDir()
	secret := filepath.Join(host, "secret.txt")
	if err := os.WriteFile(secret, []byte("HOST-SECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	logs := filepath.Join(home, "LogFiles")
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(logs, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("2026_12_01_host_default_docker.log", "app output\n")
	write("kudu/trace/build.txt", "build ok\n")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink(secret, filepath.Join(logs, "evil.log")))
	must(os.Symlink(host, filepath.Join(logs, "evildir")))
	must(os.Link(filepath.Join(logs, "kudu/trace/build.txt"), filepath.Join(logs, "linked.log")))
	must(mkfifo(filepath.Join(logs, "pipe.log")))

	srv := newKudu(t, logs)
	for _, p := range []string{"/dump", "/api/dump"} {
		t.Run(p, func(t *testing.T) {
			_, files := getZip(t, srv, p)
			if diff := cmp.Diff([]string{
				"LogFiles/2026_12_01_host_default_docker.log", "LogFiles/kudu/", "LogFiles/kudu/trace/", dumpNotes,
			}, keys(files)); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
			if files["LogFiles/2026_12_01_host_default_docker.log"] != "app output\n" {
				t.Errorf("log content: %q", files["LogFiles/2026_12_01_host_default_docker.log"])
			}
			for name, content := range files {
				if strings.Contains(content, "HOST-SECRET") {
					t.Errorf("%s carries the host file's content", name)
				}
			}
			for _, left := range []string{"evil.log", "evildir", "linked.log", "pipe.log", "kudu/trace/build.txt"} {
				if !strings.Contains(files[dumpNotes], left+": ") {
					t.Errorf("notes do not list %s:\n%s", left, files[dumpNotes])
				}
			}
		})
	}
	t.Run("LogFiles a symlink", func(t *testing.T) {
		home := t.TempDir()
		must(os.Symlink(host, filepath.Join(home, "LogFiles")))
		status, _, body := get(t, newKudu(t, filepath.Join(home, "LogFiles")), "/dump")
		if status != http.StatusConflict || bytes.Contains(body, []byte("HOST-SECRET")) {
			t.Errorf("got %d %q, want 409", status, body)
		}
	})
	t.Run("no LogFiles yet", func(t *testing.T) {
		status, _, body := get(t, newKudu(t, filepath.Join(t.TempDir(), "LogFiles")), "/dump")
		if status != 200 || len(unzip(t, body)) != 0 {
			t.Errorf("got %d, want an empty zip", status)
		}
	})
}

// TestDumpIsBounded: the app can fill LogFiles; the dump stops at the
// entry count and leaves out what is over the byte budget.
func TestDumpIsBounded(t *testing.T) {
	logs := filepath.Join(t.TempDir(), "LogFiles")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range maxDumpEntries + 5 {
		if err := os.WriteFile(filepath.Join(logs, fmt.Sprintf("%06d.log", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	big, err := os.Create(filepath.Join(logs, "000000-big.log"))
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Truncate(maxDumpBytes + 1); err != nil { // sparse: costs no disk
		t.Fatal(err)
	}
	big.Close()
	status, _, body := get(t, newKudu(t, logs), "/dump")
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	files := unzip(t, body)
	if n := len(files) - 1; n != maxDumpEntries { // less the notes
		t.Errorf("%d entries, want %d", n, maxDumpEntries)
	}
	if _, ok := files["LogFiles/000000-big.log"]; ok {
		t.Error("a file over the byte budget is in the dump")
	}
	if !strings.Contains(files[dumpNotes], "000000-big.log: ") || !strings.Contains(files[dumpNotes], "more than") {
		t.Errorf("notes:\n%s", files[dumpNotes])
	}
}

// getZip gets p, which must answer a zip, and returns the headers and
// the zip's entries.
func getZip(t *testing.T, srv *httptest.Server, p string) (http.Header, map[string]string) {
	t.Helper()
	status, hdr, body := get(t, srv, p)
	if status != 200 || hdr.Get("Content-Type") != "application/zip" {
		t.Fatalf("GET %s = %d %s\n%s", p, status, hdr.Get("Content-Type"), body)
	}
	return hdr, unzip(t, body)
}

func unzip(t *testing.T, b []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	out := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		c, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = string(c)
	}
	return out
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func mkfifo(p string) error { return syscall.Mkfifo(p, 0o644) }

// dockerLogFixture is a LogFiles as the app could leave it: current and
// older logs of several sources, a rolled file, a file in a subfolder, and
// names that stand for a host file (a symlink, a hard link), its folder, or
// another file of LogFiles.
func dockerLogFixture(t *testing.T) (logs string) {
	t.Helper()
	host := t.TempDir()
	secret := filepath.Join(host, "secret.txt")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(secret, []byte("HOST-SECRET"), 0o600))
	logs = filepath.Join(t.TempDir(), "LogFiles")
	must(os.MkdirAll(filepath.Join(logs, "kudu"), 0o755))
	mtime := time.Date(2026, 12, 6, 4, 5, 6, 700000000, time.UTC)
	for name, content := range map[string]string{
		"2026_12_05_lw0_default_docker.log":   "yesterday\n",
		"2026_12_06_lw0_default_docker.log":   "app output\n",
		"2026_12_06_lw0_docker.log":           "platform\n",
		"2026_12_06_lw0_default_docker.1.log": "rolled\n",
		"2026_11_29_week_docker.log":          "a week behind\n",
		"2026_11_28_old_default_docker.log":   "more than a week behind\n",
		"kudu/2026_12_06_sub_docker.log":      "in a folder\n",
		"notes.txt":                           "not a docker log\n",
	} {
		p := filepath.Join(logs, name)
		must(os.WriteFile(p, []byte(content), 0o644))
		must(os.Chtimes(p, mtime, mtime))
	}
	must(os.Symlink(secret, filepath.Join(logs, "2026_12_07_evil_docker.log")))
	must(os.Link(secret, filepath.Join(logs, "2026_12_07_linked_docker.log")))
	must(os.Symlink(host, filepath.Join(logs, "2026_12_07_dir_docker.log")))
	must(os.Symlink("notes.txt", filepath.Join(logs, "2026_12_07_inner_docker.log"))) // never followed, even inside

	return logs
}

// TestDockerLogsListsCurrentFiles: GET /api/logs/docker lists, as Kudu's
// DiagnosticsController does, the latest non-rolled file of each source
// active within a week of the newest, each with Kudu's fields and a link
// into the VFS API. Names the app planted for a host file are not listed.
func TestDockerLogsListsCurrentFiles(t *testing.T) {
	logs := dockerLogFixture(t)
	srv := newKudu(t, logs)
	entry := func(machine, name string, size int64) dockerLogJSON {
		return dockerLogJSON{
			MachineName: machine, LastUpdated: "2026-12-06T04:05:06.7000000Z", Size: size,
			Href: srv.URL + "/api/vfs/LogFiles/" + name, Path: "/home/LogFiles/" + name,
		}
	}
	want := []dockerLogJSON{
		entry("week", "2026_11_29_week_docker.log", int64(len("a week behind\n"))),
		entry("lw0_default", "2026_12_06_lw0_default_docker.log", int64(len("app output\n"))),
		entry("lw0", "2026_12_06_lw0_docker.log", int64(len("platform\n"))),
	}
	for _, p := range []string{"/api/logs/docker", "/logs/docker", "/api/logs/docker/"} {
		t.Run(p, func(t *testing.T) {
			status, hdr, body := get(t, srv, p)
			if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
				t.Fatalf("GET %s = %d %s\n%s", p, status, hdr.Get("Content-Type"), body)
			}
			var got []dockerLogJSON
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("%v\n%s", err, body)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("list (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("no LogFiles yet", func(t *testing.T) {
		status, _, body := get(t, newKudu(t, filepath.Join(t.TempDir(), "LogFiles")), "/api/logs/docker")
		if status != 200 || string(body) != "[]" {
			t.Errorf("got %d %s, want 200 []", status, body)
		}
	})
}

// TestDockerLogsZip: GET /api/logs/docker/zip holds the files the list
// names, each by its file name, in a zip named as Kudu names it; nothing of
// the host file the app linked in.
func TestDockerLogsZip(t *testing.T) {
	logs := dockerLogFixture(t)
	srv := newKudu(t, logs)
	for _, p := range []string{"/api/logs/docker/zip", "/logs/docker/zip"} {
		t.Run(p, func(t *testing.T) {
			hdr, files := getZip(t, srv, p)
			// Kudu's name: dockerlogs-<MM-dd-HH-mm-ss>.zip, UTC.
			cd := hdr.Get("Content-Disposition")
			disp, params, _ := mime.ParseMediaType(cd)
			stamp, ok := strings.CutPrefix(strings.TrimSuffix(params["filename"], ".zip"), "dockerlogs-")
			if _, err := time.Parse("01-02-15-04-05", stamp); disp != "attachment" || !ok || err != nil {
				t.Errorf("Content-Disposition %q", cd)
			}
			want := map[string]string{
				"2026_11_29_week_docker.log":        "a week behind\n",
				"2026_12_06_lw0_default_docker.log": "app output\n",
				"2026_12_06_lw0_docker.log":         "platform\n",
			}
			if diff := cmp.Diff(want, files); diff != "" {
				t.Errorf("zip (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("LogFiles a symlink", func(t *testing.T) {
		home := t.TempDir()
		if err := os.Symlink(logs, filepath.Join(home, "LogFiles")); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"/api/logs/docker", "/api/logs/docker/zip"} {
			status, _, body := get(t, newKudu(t, filepath.Join(home, "LogFiles")), p)
			if status != 409 {
				t.Errorf("GET %s = %d %q, want 409", p, status, body)
			}
		}
	})
}

// TestUnknownRoutes: a path or method Kudu has no route for is answered as
// KuduLite's catch-all (Error404Controller) answers it — 404 "No route
// registered for '<path>'", for a method another route of the path takes
// too (no 405) — and only once the request has authenticated: without
// credentials every path is a 401, so that nothing tells which routes
// exist.
func TestUnknownRoutes(t *testing.T) {
	srv := newKudu(t, t.TempDir())
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/webjobs/x"}, // WebJobs are under triggered|continuous
		{"POST", "/api/continuouswebjobs/x/run"},
		{"POST", "/api/triggeredwebjobs/x/start"},
		{"GET", "/api/deploymentstatus"},
		{"GET", "/api/nothing/here"},
		{"POST", "/api/deployments"},
		{"GET", "/api/zipdeploy"},
		{"PATCH", "/api/settings"},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), c.method, srv.URL+c.path, nil)
			status, hdr, body := send(t, req)
			want := "No route registered for '" + c.path + "'"
			if status != http.StatusNotFound || !strings.Contains(string(body), want) {
				t.Errorf("%d %q, want 404 %q", status, body, want)
			}
			if hdr.Get("Allow") != "" {
				t.Errorf("Allow: %q, want none", hdr.Get("Allow"))
			}
			anon, _ := http.NewRequestWithContext(t.Context(), c.method, srv.URL+c.path, nil)
			resp, err := srv.Client().Do(anon)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("without credentials: %d, want 401", resp.StatusCode)
			}
		})
	}
}

// newKuduWithSettings serves the fake site "app" with these app settings.
func newKuduWithSettings(t *testing.T, settings map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(New(Config{
		Store:    &fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: "app"}, settings: settings},
		Deployer: fakeDeployer{}, SiteOf: func(*http.Request) string { return "app" },
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSettings: GET /api/settings is KuduLite's SettingsController.GetAll —
// the app settings over Kudu's defaults (DefaultSettingsProvider), merged
// without regard to case, a default keeping its spelling — and GET
// /api/settings/{key} its Get: the value as text, looked up without regard
// to case, an empty value falling through to the default, 404 "The setting
// '<key>' does not exist." without one. Kudu's own settings (POST, DELETE)
// are not kept here: refused with a 400 that says what to use instead.
func TestSettings(t *testing.T) {
	srv := newKuduWithSettings(t, map[string]string{
		"DJANGO_SETTINGS_MODULE": "todo.settings", "DEPLOYMENT_BRANCH": "main",
		"SCM_COMMAND_IDLE_TIMEOUT": "", "EMPTY": "",
	})
	for _, p := range []string{"/api/settings", "/settings"} {
		status, hdr, body := get(t, srv, p)
		if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
			t.Fatalf("GET %s = %d %s %s", p, status, hdr.Get("Content-Type"), body)
		}
		var got map[string]string
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"DJANGO_SETTINGS_MODULE": "todo.settings", "deployment_branch": "main", "SCM_TRACE_LEVEL": "Verbose",
			"SCM_COMMAND_IDLE_TIMEOUT": "", "SCM_LOGSTREAM_TIMEOUT": "1800", "SCM_BUILD_ARGS": "", "EMPTY": "",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GET %s (-want +got):\n%s", p, diff)
		}
	}
	for _, c := range []struct{ key, status, body string }{
		{"DJANGO_SETTINGS_MODULE", "200", "todo.settings"},
		{"django_settings_module", "200", "todo.settings"},
		{"DEPLOYMENT_BRANCH", "200", "main"},
		{"deployment_branch", "200", "main"},
		{"SCM_COMMAND_IDLE_TIMEOUT", "200", "60"},
		{"SCM_LOGSTREAM_TIMEOUT", "200", "1800"},
		{"EMPTY", "404", "The setting 'EMPTY' does not exist."},
		{"SCM_BUILD_ARGS", "404", "The setting 'SCM_BUILD_ARGS' does not exist."},
		{"NOPE", "404", "The setting 'NOPE' does not exist."},
	} {
		for _, prefix := range []string{"/api", ""} {
			status, hdr, body := get(t, srv, prefix+"/settings/"+c.key)
			if fmt.Sprint(status) != c.status || strings.TrimSuffix(string(body), "\n") != c.body {
				t.Errorf("GET %s/settings/%s = %d %q, want %s %q", prefix, c.key, status, body, c.status, c.body)
			}
			if status == 200 && hdr.Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Errorf("GET %s/settings/%s: Content-Type %q", prefix, c.key, hdr.Get("Content-Type"))
			}
		}
	}
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/api/settings", `{"SCM_DO_BUILD_DURING_DEPLOYMENT":"true"}`},
		{"POST", "/settings", `{"key":"A","value":"2"}`},
		{"DELETE", "/api/settings/DJANGO_SETTINGS_MODULE", ""},
		{"DELETE", "/settings/A", ""},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), c.method, srv.URL+c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		status, _, body := send(t, req)
		if status != http.StatusBadRequest || !strings.Contains(string(body), "az webapp config appsettings") {
			t.Errorf("%s %s = %d %q, want 400 naming az webapp config appsettings", c.method, c.path, status, body)
		}
	}
}

// TestKuduLiteRoutes: routes KuduLite maps that a tool may call, answered
// as it answers them on Linux: /environment beside /api/environment
// (MapHttpRouteDual); /api/scm/info with the repository's type (Git, 1)
// and URL; the process API, which without dotnet-monitor is a 400 "Not
// supported on Linux" (LinuxProcessController); and PUT /api/zipdeploy,
// the packageUri form of a zip deployment, which a server without a
// package reader (Config.Packages, packageuri_attack_test.go) refuses
// saying why.
func TestKuduLiteRoutes(t *testing.T) {
	srv := newKudu(t, t.TempDir())
	for _, p := range []string{"/api/environment", "/environment"} {
		status, hdr, body := get(t, srv, p)
		var env struct{ Version string }
		if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") || json.Unmarshal(body, &env) != nil || env.Version == "" {
			t.Errorf("GET %s = %d %s %s", p, status, hdr.Get("Content-Type"), body)
		}
	}
	for _, p := range []string{"/api/scm/info", "/scm/info"} {
		status, _, body := get(t, srv, p)
		if want := `{"Type":1,"GitUrl":"` + srv.URL + `/app.git"}`; status != 200 || string(body) != want {
			t.Errorf("GET %s = %d %s, want 200 %s", p, status, body, want)
		}
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/processes"},
		{"GET", "/api/processes/0"},
		{"DELETE", "/api/processes/42"},
		{"GET", "/api/processes/1/threads"},
		{"GET", "/api/diagnostics/processes"},
		{"GET", "/diagnostics/processes/1/dump"},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), c.method, srv.URL+c.path, nil)
		if status, _, body := send(t, req); status != http.StatusBadRequest || !strings.Contains(string(body), "Not supported on Linux") {
			t.Errorf("%s %s = %d %q, want 400 Not supported on Linux", c.method, c.path, status, body)
		}
	}
	for _, p := range []string{"/api/zipdeploy", "/zipdeploy"} {
		req, _ := http.NewRequestWithContext(t.Context(), "PUT", srv.URL+p, strings.NewReader(`{"packageUri":"https://example.com/app.zip"}`))
		req.Header.Set("Content-Type", "application/json")
		if status, _, body := send(t, req); status != http.StatusBadRequest || !strings.Contains(string(body), "packageUri") {
			t.Errorf("PUT %s = %d %q, want 400 about packageUri", p, status, body)
		}
	}
}

// pendingStore is a fakeStore whose newest deployment, d2, is building.
type pendingStore struct{ fakeStore }

func (p *pendingStore) ListDeployments(ctx context.Context, site string) ([]slipway.Deployment, error) {
	d1 := p.deployment()
	d2 := slipway.Deployment{ID: "d2", Site: "app", Status: slipway.DeployBuilding, ReceivedTime: d1.EndTime.Add(time.Minute), StartTime: d1.EndTime.Add(time.Minute)}
	return []slipway.Deployment{d2, d1}, nil
}

// TestLatestWhilePending: GET /api/deployments/latest answers, while the
// newest deployment has not ended, 202 Accepted with a Location to poll
// (itself), as KuduLite's GetResult does for the URL an async push hands
// out; once it has ended, 200. Another id is 200 either way.
func TestLatestWhilePending(t *testing.T) {
	srv := httptest.NewServer(New(Config{
		Store:    &pendingStore{fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: "app"}}},
		Deployer: fakeDeployer{}, SiteOf: func(*http.Request) string { return "app" },
	}))
	t.Cleanup(srv.Close)
	const poll = "/api/deployments/latest?deployer=Push-Deployer&time=2026-12-01_10-01-01Z"
	status, hdr, body := get(t, srv, poll)
	var d deploymentJSON
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if status != http.StatusAccepted || hdr.Get("Location") != srv.URL+poll || d.ID != "d2" || d.Complete {
		t.Errorf("GET latest while d2 builds = %d Location %q %s; want 202 polling itself, d2", status, hdr.Get("Location"), body)
	}
	if status, hdr, _ := get(t, srv, "/api/deployments/d1"); status != 200 || hdr.Get("Location") != "" {
		t.Errorf("GET d1 = %d Location %q, want 200 without", status, hdr.Get("Location"))
	}
	if status, hdr, _ := get(t, newKudu(t, t.TempDir()), "/api/deployments/latest"); status != 200 || hdr.Get("Location") != "" {
		t.Errorf("GET latest with none pending = %d Location %q, want 200 without", status, hdr.Get("Location"))
	}
}

// TestLogEntryDetails: GET /api/deployments/{id}/log/{logId} lists the
// entry's detail lines; an entry the deployment does not have, or one
// without details, is KuduLite's 404 "LogId '<logId>' was not found in
// Deployment '<id>'." (GetLogEntryDetails).
func TestLogEntryDetails(t *testing.T) {
	srv := newKudu(t, t.TempDir())
	status, _, body := get(t, srv, "/api/deployments/d1/log/e1")
	var lines []logEntryJSON
	if err := json.Unmarshal(body, &lines); status != 200 || err != nil || len(lines) != 2 || lines[0].Message != "line one" {
		t.Errorf("GET e1 = %d %s", status, body)
	}
	srv = httptest.NewServer(New(Config{
		Store:    &detailsStore{fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: "app"}}},
		Deployer: fakeDeployer{}, SiteOf: func(*http.Request) string { return "app" },
	}))
	t.Cleanup(srv.Close)
	for _, entry := range []string{"nope", "e2"} {
		status, _, body = get(t, srv, "/api/deployments/d1/log/"+entry)
		if want := "LogId '" + entry + "' was not found in Deployment 'd1'."; status != 404 || strings.TrimSpace(string(body)) != want {
			t.Errorf("GET %s = %d %q, want 404 %q", entry, status, body, want)
		}
	}
}

// detailsStore is a fakeStore whose deployment's log has an entry
// without details, e2.
type detailsStore struct{ fakeStore }

func (d *detailsStore) DeploymentLog(ctx context.Context, site, id string) ([]slipway.DeploymentLogEntry, error) {
	entries, err := d.fakeStore.DeploymentLog(ctx, site, id)
	return append(entries, slipway.DeploymentLogEntry{ID: "e2", Message: "Deployment successful."}), err
}

func (d *detailsStore) DeploymentLogLines(ctx context.Context, site, id, entry string) ([]slipway.DeploymentLogLine, error) {
	if entry == "e2" {
		return nil, nil
	}
	return d.fakeStore.DeploymentLogLines(ctx, site, id, entry)
}

// TestErrorAfterTheAnswerBeganCutsIt: a handler that fails once its answer
// is on its way (a file or git's pack half sent) cuts the connection: the
// client sees the transfer fail, not a whole answer with the error's text
// at its end. One that fails before it answers gets the error, as ever.
func TestErrorAfterTheAnswerBeganCutsIt(t *testing.T) {
	h := New(Config{
		Store: &fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: "app"}}, Deployer: fakeDeployer{},
		SiteOf: func(*http.Request) string { return "app" },
	})
	h.handle("GET /api/test/half", func(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
		w.Write([]byte("the first half"))
		http.NewResponseController(w).Flush()
		return errors.New("the disk failed")
	})
	h.handle("GET /api/test/flushed", func(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
		http.NewResponseController(w).Flush() // the header alone
		return errors.New("the disk failed")
	})
	h.handle("GET /api/test/none", func(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
		return slipway.Errorf(slipway.ENOTFOUND, "nothing here")
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for _, p := range []string{"/api/test/half", "/api/test/flushed"} {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+p, nil)
		req.SetBasicAuth("$app", "pass")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil || strings.Contains(string(b), "failed") || strings.Contains(string(b), "internal") {
			t.Errorf("%s: read %q, err %v; want the transfer cut, without the error's text", p, b, err)
		}
	}
	if status, _, body := get(t, srv, "/api/test/none"); status != http.StatusNotFound || !strings.Contains(string(body), "nothing here") {
		t.Errorf("an error before the answer: %d %q", status, body)
	}
}

// TestDeploymentListETag: GET /api/deployments carries an ETag, and a
// client polling with If-None-Match (weakly compared) gets 304 without a
// body while nothing changed, as KuduLite answers (GetDeployResults); a
// new deployment changes the tag and the list comes again. "*" is not a
// match there.
func TestDeploymentListETag(t *testing.T) {
	st := &historyStore{fakeStore: fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: "app"}}}
	st.ds = []slipway.Deployment{st.deployment()}
	srv := httptest.NewServer(New(Config{Store: st, Deployer: fakeDeployer{}, SiteOf: func(*http.Request) string { return "app" }}))
	t.Cleanup(srv.Close)
	list := func(inm string) (int, string, []byte) {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/api/deployments", nil)
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		status, hdr, body := send(t, req)
		return status, hdr.Get("ETag"), body
	}
	status, etag, body := list("")
	if status != 200 || !strings.HasPrefix(etag, `"`) || !strings.Contains(string(body), `"d1"`) {
		t.Fatalf("list = %d %q %s", status, etag, body)
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag} {
		if status, again, body := list(inm); status != http.StatusNotModified || again != etag || len(body) != 0 {
			t.Errorf("If-None-Match %s = %d %q %q, want 304 with the same tag and no body", inm, status, again, body)
		}
	}
	if status, _, _ := list("*"); status != 200 {
		t.Errorf("If-None-Match * = %d, want 200", status)
	}
	d2 := st.deployment()
	d2.ID, d2.ReceivedTime = "d2", d2.ReceivedTime.Add(time.Hour)
	st.mu.Lock()
	st.ds = append([]slipway.Deployment{d2}, st.ds...)
	st.mu.Unlock()
	if status, changed, body := list(etag); status != 200 || changed == etag || !strings.Contains(string(body), `"d2"`) {
		t.Errorf("after a new deployment: %d %q %s, want the new list with a new tag", status, changed, body)
	}
}
