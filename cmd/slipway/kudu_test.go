package main

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestKuduZipDeploy drives the Kudu API with curl exactly as Microsoft
// documents it (docs/appservice.md §5): sync zipdeploy → 200, isAsync → 202 and
// a Location that reaches status 4, a deploy during a running one → 409,
// wrong credentials → 401.
func TestKuduZipDeploy(t *testing.T) {
	s := startServer(t)
	s.createApp("kudu", "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
	user, pass := s.credentials("kudu")
	scm := "http://" + strings.Replace(s.host("kudu"), ".localhost", ".scm.localhost", 1)
	app := s.host("kudu")

	t.Run("sync zipdeploy returns 200 and serves the new version", func(t *testing.T) {
		z := zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": "v1"})
		out, err := s.curl("-X", "POST", "-u", user+":"+pass, "--data-binary", "@"+z, "-o", "/dev/null", "-w", "%{http_code}", scm+"/api/zipdeploy")
		if err != nil || out != "200" {
			t.Fatalf("zipdeploy: status %q, err %v", out, err)
		}
		if code, body := s.get(app, "/"); code != 200 || body != "hello v1" {
			t.Fatalf("GET / = %d %q, want 200 \"hello v1\"", code, body)
		}
	})

	t.Run("isAsync=true returns 202 and Location polls to status 4", func(t *testing.T) {
		z := zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": "v2"})
		hdrs, err := s.curl("-X", "POST", "-u", user+":"+pass, "--data-binary", "@"+z, "-D", "-", "-o", "/dev/null", scm+"/api/zipdeploy?isAsync=true")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(hdrs, "HTTP/1.1 202") {
			t.Fatalf("want 202, got headers:\n%s", hdrs)
		}
		m := regexp.MustCompile(`(?im)^Location: (\S+)`).FindStringSubmatch(hdrs)
		if m == nil || !strings.Contains(m[1], "/api/deployments/latest") {
			t.Fatalf("no Location to /api/deployments/latest in:\n%s", hdrs)
		}
		var status float64
		for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
			body, err := s.curl("-u", user+":"+pass, m[1])
			if err != nil {
				t.Fatal(err)
			}
			var d map[string]any
			if err := json.Unmarshal([]byte(body), &d); err != nil {
				t.Fatalf("Location body is not JSON: %v\n%s", err, body)
			}
			status, _ = d["status"].(float64)
			if status == 3 || status == 4 {
				for _, k := range []string{"id", "status_text", "author", "deployer", "received_time", "end_time", "complete", "active", "log_url", "site_name"} {
					if _, ok := d[k]; !ok {
						t.Errorf("deployment JSON lacks Kudu field %q: %s", k, body)
					}
				}
				break
			}
		}
		if status != 4 {
			t.Fatalf("deployment ended with status %v, want 4", status)
		}
		if code, body := s.get(app, "/"); code != 200 || body != "hello v2" {
			t.Fatalf("GET / = %d %q, want 200 \"hello v2\"", code, body)
		}
	})

	t.Run("a deploy while one runs gets 409 and isdeploying says so", func(t *testing.T) {
		z := zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": "v3"})
		first, err := s.curl("-X", "POST", "-u", user+":"+pass, "--data-binary", "@"+z, "-o", "/dev/null", "-w", "%{http_code}", scm+"/api/zipdeploy?isAsync=true")
		if err != nil || first != "202" {
			t.Fatalf("first deploy: %q %v", first, err)
		}
		busy, _ := s.curl("-u", user+":"+pass, scm+"/api/isdeploying")
		second, err := s.curl("-X", "POST", "-u", user+":"+pass, "--data-binary", "@"+z, "-w", "\n%{http_code}", scm+"/api/zipdeploy")
		if err != nil || !strings.HasSuffix(second, "409") {
			t.Fatalf("second deploy: %q %v, want 409", second, err)
		}
		if !strings.Contains(second, "deployment currently in progress") {
			t.Errorf("409 body does not say why: %q", second)
		}
		if !strings.Contains(busy, `"value":"True"`) {
			t.Errorf("isdeploying during a deployment = %s", busy)
		}
		if d := s.waitDeployment("kudu", user, pass); d["status"] != float64(4) {
			t.Fatalf("first deployment ended %v", d["status"])
		}
	})

	t.Run("wrong credentials get 401", func(t *testing.T) {
		for _, auth := range [][]string{{"-u", user + ":wrong"}, {"-u", "$other:" + pass}, {}} {
			out, err := s.curl(append(auth, "-X", "POST", "--data-binary", "@/dev/null", "-o", "/dev/null", "-w", "%{http_code}", scm+"/api/zipdeploy")...)
			if err != nil || out != "401" {
				t.Errorf("auth %v: %q %v, want 401", auth, out, err)
			}
		}
		out, _ := s.curl("-u", user+":wrong", "-o", "/dev/null", "-w", "%{http_code}", scm+"/api/deployments")
		if out != "401" {
			t.Errorf("GET deployments with a wrong password: %s", out)
		}
	})

	t.Run("deployments list newest first with logs", func(t *testing.T) {
		body, err := s.curl("-u", user+":"+pass, scm+"/api/deployments")
		if err != nil {
			t.Fatal(err)
		}
		var ds []map[string]any
		if err := json.Unmarshal([]byte(body), &ds); err != nil || len(ds) < 3 {
			t.Fatalf("deployments: %v %s", err, body)
		}
		if ds[0]["active"] != true || ds[1]["active"] == true {
			t.Errorf("the newest deployment should be the only active one: %s", body)
		}
		log := s.deploymentLog("kudu", user, pass, ds[0]["id"].(string))
		for _, want := range []string{"Running oryx build...", "Deployment successful."} {
			if !strings.Contains(log, want) {
				t.Errorf("deployment log lacks %q:\n%s", want, log)
			}
		}
	})
}

// TestFailedDeploysKeepServing: a missing requirement, an app that crashes
// at import and a failing release command each end in status 3 with a log
// that says why, while the previous version answers 200 throughout.
func TestFailedDeploysKeepServing(t *testing.T) {
	s := startServer(t)
	s.createApp("steady", "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
	user, pass := s.credentials("steady")
	scm := "http://" + strings.Replace(s.host("steady"), ".localhost", ".scm.localhost", 1)
	app := s.host("steady")
	z := zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": "good"})
	if out, err := s.curl("-X", "POST", "-u", user+":"+pass, "--data-binary", "@"+z, "-o", "/dev/null", "-w", "%{http_code}", scm+"/api/zipdeploy"); err != nil || out != "200" {
		t.Fatalf("first deploy: %q %v", out, err)
	}

	var failures, total atomic.Int64
	var firstFailure atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 100000; i++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			resp, err := s.client.Get("http://" + app + "/")
			total.Add(1)
			if err != nil {
				failures.Add(1)
				firstFailure.CompareAndSwap(nil, err.Error())
				continue
			}
			b := make([]byte, 64)
			n, _ := resp.Body.Read(b)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b[:n]) != "hello good" {
				failures.Add(1)
				firstFailure.CompareAndSwap(nil, resp.Status+" "+string(b[:n]))
			}
		}
	}()

	cases := []struct {
		name    string
		dir     string
		files   map[string]string
		setting string
		wantLog string
	}{
		{"requirement that does not exist", "testdata/apps/hello",
			map[string]string{"requirements.txt": "gunicorn\nthis-package-does-not-exist-slipway==1.0\n"}, "",
			"requirements.txt"},
		{"app that crashes at import", "testdata/apps/crash", nil, "",
			"has exited"},
		{"release command that fails", "testdata/apps/hello",
			map[string]string{"VERSION": "bad"}, "SLIPWAY_RELEASE_COMMAND=python -c 'raise SystemExit(\"migration failed: table exists\")'",
			"migration failed: table exists"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setting != "" {
				s.mustCLI("", "webapp", "config", "appsettings", "set", "-g", "rg-steady", "-n", "steady", "--settings", tc.setting)
				t.Cleanup(func() {
					name, _, _ := strings.Cut(tc.setting, "=")
					s.mustCLI("", "webapp", "config", "appsettings", "delete", "-g", "rg-steady", "-n", "steady", "--setting-names", name)
				})
			}
			z := zipDir(t, tc.dir, tc.files)
			out, err := s.curl("-X", "POST", "-u", user+":"+pass, "--data-binary", "@"+z, "-o", "/dev/null", "-w", "%{http_code}", scm+"/api/zipdeploy?isAsync=true")
			if err != nil || out != "202" {
				t.Fatalf("deploy: %q %v", out, err)
			}
			d := s.waitDeployment("steady", user, pass)
			if d["status"] != float64(3) {
				t.Fatalf("status = %v, want 3 (failed): %v", d["status"], d)
			}
			log := s.deploymentLog("steady", user, pass, d["id"].(string))
			if !strings.Contains(log, tc.wantLog) || !strings.Contains(log, "previous version keeps serving") {
				t.Errorf("deployment log does not say why (want %q):\n%s", tc.wantLog, log)
			}
		})
	}
	close(stop)
	wg.Wait()
	if total.Load() < 20 {
		t.Fatalf("only %d requests were made", total.Load())
	}
	if f := failures.Load(); f != 0 {
		t.Fatalf("%d of %d requests to the previous version failed; first: %v", f, total.Load(), firstFailure.Load())
	}
	if code, body := s.get(app, "/"); code != 200 || body != "hello good" {
		t.Fatalf("after failed deploys GET / = %d %q", code, body)
	}
	// The failed pushes left no package behind: only the good one stays
	// (for redeploys and rollback).
	pkgs, _ := filepath.Glob(filepath.Join(s.data, "packages", "*"))
	if len(pkgs) != 1 {
		t.Errorf("after 1 good and %d failed deployments the package store holds %d files: %v", len(cases), len(pkgs), pkgs)
	}
}

// TestZeroDowntime: 20 clients keep requesting while the app is redeployed
// and restarted; no request fails.
func TestZeroDowntime(t *testing.T) {
	s := startServer(t)
	s.createApp("zero", "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
	user, pass := s.credentials("zero")
	scm := "http://" + strings.Replace(s.host("zero"), ".localhost", ".scm.localhost", 1)
	app := s.host("zero")
	deploy := func(version string) {
		z := zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": version})
		if out, err := s.curl("-X", "POST", "-u", user+":"+pass, "--data-binary", "@"+z, "-o", "/dev/null", "-w", "%{http_code}", scm+"/api/zipdeploy"); err != nil || out != "200" {
			t.Fatalf("deploy %s: %q %v", version, out, err)
		}
	}
	deploy("one")

	seen := sync.Map{}
	l := s.loadGen("http://"+app+"/", 20, 5*time.Millisecond, func(status int, body string) error {
		seen.Store(body, true)
		if status != 200 {
			return fmt.Errorf("status %d %s", status, body)
		}
		return nil
	})
	time.Sleep(2 * time.Second)
	deploy("two")
	s.mustCLI("", "webapp", "restart", "-g", "rg-zero", "-n", "zero")
	s.mustCLI("", "webapp", "config", "appsettings", "set", "-g", "rg-zero", "-n", "zero", "--settings", "CHANGED=1")
	s.mustCLI("", "appservice", "plan", "update", "-g", "rg-zero", "-n", "plan-zero", "--sku", "B2")
	// The old instances drain and stop under load; and at least 10,000
	// requests cross the four changes (bounded: 90 s).
	time.Sleep(4 * time.Second)
	for deadline := time.Now().Add(90 * time.Second); l.total.Load() < 10000 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	total, failed, errs := l.end()
	if _, ok := seen.Load("hello two"); !ok {
		t.Errorf("the new version was never served")
	}
	if total < 10000 {
		t.Fatalf("only %d requests were made; want at least 10,000", total)
	}
	if failed != 0 {
		t.Fatalf("%d of %d requests failed across a redeploy, a restart, a settings change and a SKU change; first: %v", failed, total, errs)
	}
	t.Logf("%d requests, none failed", total)
}

// TestInstanceEnvironment checks the App Service environment contract an
// instance sees (docs/appservice.md §2, §4).
func TestInstanceEnvironment(t *testing.T) {
	s := startServer(t)
	s.createApp("envapp", "SCM_DO_BUILD_DURING_DEPLOYMENT=true", "MY_SETTING=hello world", "weird-name.x=1")
	s.mustCLI("", "webapp", "config", "connection-string", "set", "-g", "rg-envapp", "-n", "envapp", "-t", "PostgreSQL", "--settings", "MAINDB=host=db user=u")
	s.mustCLI("", "webapp", "config", "connection-string", "set", "-g", "rg-envapp", "-n", "envapp", "-t", "Custom", "--settings", "OTHER=x")
	user, pass := s.credentials("envapp")
	scm := "http://" + strings.Replace(s.host("envapp"), ".localhost", ".scm.localhost", 1)
	z := zipDir(t, "testdata/apps/hello", nil)
	if out, err := s.curl("-X", "POST", "-u", user+":"+pass, "--data-binary", "@"+z, "-o", "/dev/null", "-w", "%{http_code}", scm+"/api/zipdeploy"); err != nil || out != "200" {
		t.Fatalf("deploy: %q %v", out, err)
	}
	code, body := s.get(s.host("envapp"), "/env")
	if code != 200 {
		t.Fatalf("GET /env = %d", code)
	}
	env := map[string]string{}
	for _, line := range strings.Split(body, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	want := map[string]string{
		"WEBSITE_SITE_NAME":                         "envapp",
		"WEBSITE_HOSTNAME":                          "envapp.localhost", // no port, as on Azure
		"WEBSITE_RESOURCE_GROUP":                    "rg-envapp",
		"WEBSITE_SKU":                               "Basic",
		"WEBSITE_ROLE_INSTANCE_ID":                  "0",
		"WEBSITE_SLOT_NAME":                         "Production",
		"APPSETTING_WEBSITE_SITE_NAME":              "envapp",
		"MY_SETTING":                                "hello world",
		"APPSETTING_MY_SETTING":                     "hello world",
		"weirdnamex":                                "1",
		"APPSETTING_SCM_DO_BUILD_DURING_DEPLOYMENT": "true",
		"POSTGRESQLCONNSTR_MAINDB":                  "host=db user=u",
		"CUSTOMCONNSTR_OTHER":                       "x",
		"APPSVC_VIRTUAL_ENV":                        "antenv",
	}
	if _, err := os.Stat("/usr/bin/bwrap"); err == nil {
		want["HOME"] = "/home"
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(env["WEBSITE_INSTANCE_ID"]) {
		t.Errorf("WEBSITE_INSTANCE_ID = %q, want 64 hex chars", env["WEBSITE_INSTANCE_ID"])
	}
	if !regexp.MustCompile(`^[0-9]+$`).MatchString(env["PORT"]) {
		t.Errorf("PORT = %q, want the port the instance listens on", env["PORT"])
	}
	if !strings.HasSuffix(env["VIRTUAL_ENV"], "/antenv") || !strings.HasPrefix(env["PATH"], env["VIRTUAL_ENV"]+"/bin:") {
		t.Errorf("the venv is not active: VIRTUAL_ENV=%q PATH=%q", env["VIRTUAL_ENV"], env["PATH"])
	}
	if env["APP_PATH"] == "" || filepath.Base(filepath.Dir(env["APP_PATH"])) != "run" {
		t.Errorf("APP_PATH = %q, want the instance's own copy of the app", env["APP_PATH"])
	}
	// The app may write next to its code; the write is the instance's own
	// and is gone after a restart, as on App Service (docs/appservice.md §1).
	for i, want := range []string{"new", "existed"} {
		if _, body := s.get(s.host("envapp"), "/touch"); body != want {
			t.Errorf("touch %d = %q, want %q", i, body, want)
		}
	}
	s.mustCLI("", "webapp", "restart", "-g", "rg-envapp", "-n", "envapp")
	if _, body := s.get(s.host("envapp"), "/touch"); body != "new" {
		t.Errorf("after a restart the instance still sees its predecessor's write (%q)", body)
	}
	// Changing a setting restarts the app with the new value.
	s.mustCLI("", "webapp", "config", "appsettings", "set", "-g", "rg-envapp", "-n", "envapp", "--settings", "MY_SETTING=changed")
	if _, body := s.get(s.host("envapp"), "/env"); !strings.Contains(body, "\nMY_SETTING=changed\n") {
		t.Errorf("after changing a setting the app does not see it")
	}
	if _, leaked := env["SLIPWAY_DATA"]; leaked {
		t.Errorf("the server's own environment leaked into the app")
	}
}

// TestHostileZipAndServerRestart: a zip with an escaping path is refused with
// a clear message and writes nothing outside; then the server restarts on
// the same data directory and the app comes back serving its last version.
func TestHostileZipAndServerRestart(t *testing.T) {
	s := startServer(t)
	s.createApp("survivor", "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
	user, pass := s.credentials("survivor")
	scm := "http://" + strings.Replace(s.host("survivor"), ".localhost", ".scm.localhost", 1)
	z := zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": "kept"})
	if out, err := s.curl("-X", "POST", "-u", user+":"+pass, "--data-binary", "@"+z, "-o", "/dev/null", "-w", "%{http_code}", scm+"/api/zipdeploy"); err != nil || out != "200" {
		t.Fatalf("deploy: %q %v", out, err)
	}

	evil := filepath.Join(t.TempDir(), "evil.zip")
	writeZip(t, evil, map[string]string{"app.py": "x", "../../../../escaped-slipway.txt": "pwned"})
	marker := filepath.Join(s.data, "..", "escaped-slipway.txt")
	out, err := s.curl("-X", "POST", "-u", user+":"+pass, "--data-binary", "@"+evil, "-w", "\n%{http_code}", scm+"/api/zipdeploy")
	if err != nil || !strings.HasSuffix(out, "400") {
		t.Fatalf("hostile zip: %q %v, want a 400 failure", out, err)
	}
	if !strings.Contains(out, "escaped-slipway.txt") {
		t.Errorf("the refusal does not name the offending entry: %q", out)
	}
	for _, p := range []string{marker, "/escaped-slipway.txt", filepath.Join(s.data, "escaped-slipway.txt"), filepath.Join(s.data, "tmp", "escaped-slipway.txt")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("the hostile zip wrote %s", p)
		}
	}
	d := s.waitDeployment("survivor", user, pass)
	if d["status"] != float64(3) {
		t.Errorf("hostile zip deployment status = %v, want 3", d["status"])
	}

	// Logs: the stream greets, replays recent lines, then shows new ones.
	req, _ := http.NewRequest("GET", scm+"/api/logstream", nil)
	req.SetBasicAuth(user, pass)
	resp, err := s.client.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("logstream: %v %v", err, resp)
	}
	first := make([]byte, 4096)
	n, _ := resp.Body.Read(first)
	if !strings.Contains(string(first[:n]), "Welcome, you are now connected to log-streaming service.") {
		t.Errorf("logstream greeting missing: %q", first[:n])
	}
	resp.Body.Close()
	files, _ := filepath.Glob(filepath.Join(s.data, "sites", "survivor", "home", "LogFiles", "*_default_docker.log"))
	if len(files) == 0 {
		t.Errorf("no app log file under the app's home LogFiles")
	} else if b, _ := os.ReadFile(files[0]); !strings.Contains(string(b), "Booting worker") {
		t.Errorf("the app's gunicorn output is not in %s", files[0])
	}

	data := s.data
	s.stop()
	s2 := startServerAt(t, data)
	if code, body := s2.get(s2.host("survivor"), "/"); code != 200 || body != "hello kept" {
		t.Fatalf("after a server restart GET / = %d %q", code, body)
	}
	out2 := s2.mustCLI("", "webapp", "config", "appsettings", "list", "-g", "rg-survivor", "-n", "survivor")
	if !strings.Contains(out2, "SCM_DO_BUILD_DURING_DEPLOYMENT") {
		t.Errorf("settings did not survive the restart: %s", out2)
	}
}

func writeZip(t *testing.T, path string, files map[string]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, content := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestKuduZipDeployDeploymentFile: a zip whose .deployment file says
// SCM_DO_BUILD_DURING_DEPLOYMENT=true is built with no app setting, as Kudu
// reads the file (docs/appservice.md §3): the deployment log says the build
// ran and the file's POST_BUILD_COMMAND ran in it, the file is not in
// wwwroot, and the app serves. A package naming a custom deployment script
// is refused with the reason (curl sees the failure), and the version
// before it keeps serving.
func TestKuduZipDeployDeploymentFile(t *testing.T) {
	s := startServer(t)
	s.createApp("dotdeploy")
	user, pass := s.credentials("dotdeploy")
	scm := "http://" + strings.Replace(s.host("dotdeploy"), ".localhost", ".scm.localhost", 1)
	z := zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": "v1",
		".deployment": "[config]\r\nSCM_DO_BUILD_DURING_DEPLOYMENT = true\r\nPOST_BUILD_COMMAND = echo post-build-from-the-deployment-file\r\n"})
	if out, err := s.curl("-X", "POST", "-u", user+":"+pass, "--data-binary", "@"+z, "-o", "/dev/null", "-w", "%{http_code}", scm+"/api/zipdeploy"); err != nil || out != "200" {
		t.Fatalf("zipdeploy: %q %v", out, err)
	}
	if code, body := s.get(s.host("dotdeploy"), "/"); code != 200 || body != "hello v1" {
		t.Fatalf("GET / = %d %q", code, body)
	}
	log, err := s.curl("-u", user+":"+pass, scm+"/api/deployments/latest/log")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log, "Read the package's .deployment file") || !strings.Contains(log, "Running oryx build") {
		t.Fatalf("the deployment log does not show the file read and the build:\n%s", log)
	}
	var entries []struct {
		Message    string `json:"message"`
		DetailsURL string `json:"details_url"`
	}
	if err := json.Unmarshal([]byte(log), &entries); err != nil {
		t.Fatal(err)
	}
	var details string
	for _, e := range entries {
		if strings.Contains(e.Message, "Running oryx build") && e.DetailsURL != "" {
			details, _ = s.curl("-u", user+":"+pass, e.DetailsURL)
		}
	}
	if !strings.Contains(details, "post-build-from-the-deployment-file") {
		t.Errorf("the build's output does not show the file's POST_BUILD_COMMAND:\n%s", details)
	}
	if out, _ := s.curl("-u", user+":"+pass, "-o", "/dev/null", "-w", "%{http_code}", scm+"/api/vfs/site/wwwroot/.deployment"); out != "404" {
		t.Errorf("GET vfs wwwroot/.deployment = %s; want 404 (Kudu keeps it out of wwwroot)", out)
	}

	z = zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": "v2", ".deployment": "[config]\ncommand = deploy.sh\n"})
	out, err := s.curl("-X", "POST", "-u", user+":"+pass, "--data-binary", "@"+z, "-w", "\n%{http_code}", scm+"/api/zipdeploy")
	if err != nil || strings.HasSuffix(out, "\n200") || !strings.Contains(out, "custom deployment script") {
		t.Errorf("a custom deployment script: %q %v; want a failure with the reason", out, err)
	}
	if code, body := s.get(s.host("dotdeploy"), "/"); code != 200 || body != "hello v1" {
		t.Fatalf("after the refusal GET / = %d %q; want v1 serving", code, body)
	}
}
