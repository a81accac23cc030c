package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// needContainers skips (or, under CI, fails) a test that needs what makes an
// instance a container: root, bubblewrap, network namespaces and cgroups.
func needContainers(t *testing.T) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, tool := range []string{"bwrap", "nft", "ip", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		if os.Getenv("CI") != "" {
			t.Fatalf("instance containers need %s, which CI provides", strings.Join(missing, ", "))
		}
		t.Skipf("instance containers need %s", strings.Join(missing, ", "))
	}
}

// createAppOn creates a group, a plan of the given SKU and an app.
func (s *testServer) createAppOn(name, sku string, settings ...string) {
	s.t.Helper()
	s.mustCLI("", "group", "create", "-n", "rg-"+name, "-l", "westeurope")
	s.mustCLI("", "appservice", "plan", "create", "-g", "rg-"+name, "-n", "plan-"+name, "--sku", sku, "--is-linux")
	s.mustCLI("", "webapp", "create", "-g", "rg-"+name, "-p", "plan-"+name, "-n", name, "--runtime", "PYTHON:3.12")
	if len(settings) > 0 {
		s.mustCLI("", append([]string{"webapp", "config", "appsettings", "set", "-g", "rg-" + name, "-n", name, "--settings"}, settings...)...)
	}
}

// deployZip pushes a zip with Kudu's zipdeploy and returns the HTTP status.
func (s *testServer) deployZip(name, zipPath string) string {
	s.t.Helper()
	user, pass := s.credentials(name)
	scm := "http://" + strings.Replace(s.host(name), ".localhost", ".scm.localhost", 1)
	out, err := s.curl("-X", "POST", "-u", user+":"+pass, "--data-binary", "@"+zipPath, "-o", "/dev/null", "-w", "%{http_code}", scm+"/api/zipdeploy")
	if err != nil {
		s.t.Fatalf("deploy %s: %v", name, err)
	}
	return out
}

// lastDeploymentLog returns the log of the app's latest deployment.
func (s *testServer) lastDeploymentLog(name string) string {
	s.t.Helper()
	user, pass := s.credentials(name)
	d := s.waitDeployment(name, user, pass)
	return s.deploymentLog(name, user, pass, d["id"].(string))
}

// probe asks the probe app (testdata/apps/probe) to try something.
func (s *testServer) probe(app, route string) string {
	s.t.Helper()
	code, body := s.get(s.host(app), route)
	if code != 200 {
		s.t.Fatalf("GET %s%s = %d %s", app, route, code, body)
	}
	return body
}

// eventually polls f until it returns true or the time is up.
func eventually(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// hostAddr returns a non-loopback, non-link-local IPv4 address of the host.
func hostAddr(t *testing.T) string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if ip := ipn.IP.To4(); ip != nil && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() {
				return ip.String()
			}
		}
	}
	t.Skip("the host has no non-loopback IPv4 address")
	return ""
}

// hostService listens on addr and answers every connection.
func hostService(t *testing.T, addr string) int {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("secret\n"))
			c.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// TestInstanceNetworkIsolation: the attacks of a hostile tenant on the
// network, each of which worked while instances shared the host's network.
// Both apps bind 0.0.0.0:8000 in their startup commands, as Microsoft's
// samples do, and serve side by side.
func TestInstanceNetworkIsolation(t *testing.T) {
	needContainers(t)
	s := startServer(t)
	startup := "gunicorn --bind=0.0.0.0:8000 --timeout 600 app:app"
	for _, name := range []string{"alpha", "beta"} {
		s.createApp(name, "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
		s.mustCLI("", "webapp", "config", "set", "-g", "rg-"+name, "-n", name, "--startup-file", startup)
		if code := s.deployZip(name, zipDir(t, "testdata/apps/probe", nil)); code != "200" {
			t.Fatalf("deploy %s: %s\n%s", name, code, s.lastDeploymentLog(name))
		}
	}
	// Both serve, each on its own port 8000.
	if got := s.probe("alpha", "/"); got != "probe alpha" {
		t.Fatalf("alpha answers %q", got)
	}
	if got := s.probe("beta", "/"); got != "probe beta" {
		t.Fatalf("beta answers %q", got)
	}
	loopback := hostService(t, "127.0.0.1:0")
	anyAddr := hostService(t, "0.0.0.0:0")
	host := hostAddr(t)
	betaAddr := strings.TrimSpace(s.probe("beta", "/myaddr"))
	u, _ := url.Parse(s.info.URL)
	_, fdPort, _ := net.SplitHostPort(u.Host)
	connect := []struct {
		name, addr string
		want       bool
	}{
		{"the platform's front door by the app's own name", "alpha.localhost:" + fdPort, true},
		{"a host loopback service (a database, say)", "127.0.0.1:" + strconv.Itoa(loopback), false},
		{"a host service by the host's address", host + ":" + strconv.Itoa(anyAddr), false},
		{"the front door's port by the host's address", host + ":" + fdPort, false},
		{"another app's instance directly", betaAddr + ":8000", false},
		{"the cloud metadata address", "169.254.169.254:80", false},
	}
	for _, c := range connect {
		got := s.probe("alpha", "/connect?addr="+url.QueryEscape(c.addr))
		if (got == "CONNECTED") != c.want {
			t.Errorf("connect to %s (%s) from alpha: %s", c.addr, c.name, got)
		}
	}
	// It sees only its own listening socket, never beta's or the host's.
	if got := s.probe("alpha", "/listening"); got != "[8000]" {
		t.Errorf("alpha sees listening ports %s, want only its own [8000]", got)
	}
	// It cannot listen on the host's interfaces, bypassing the front door.
	if got := s.probe("alpha", "/bind?host="+host+"&port=18080"); got == "BOUND" {
		t.Errorf("alpha could listen on the host's address %s", host)
	}
	// Squatting: beta's instance crashes; nothing alpha does can make beta's
	// traffic reach alpha (it cannot even bind in beta's network), and beta
	// comes back.
	if got := s.probe("alpha", "/bind?port=8001"); got != "BOUND" {
		t.Errorf("alpha cannot bind a port of its own: %s", got)
	}
	s.client.Get("http://" + s.host("beta") + "/exit")
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, body := s.get(s.host("beta"), "/")
		if strings.Contains(body, "probe alpha") {
			t.Fatalf("beta's traffic reached alpha while beta restarted")
		}
		if body == "probe beta" && time.Now().After(deadline.Add(-28*time.Second)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("beta did not come back after its crash; last answer %q", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSpoofedPlatformHeaders: headers only the platform may set never reach
// the app from a client (docs/appservice.md §9): a plain request cannot pass for
// HTTPS or for a signed-in user.
func TestSpoofedPlatformHeaders(t *testing.T) {
	s := startServer(t)
	s.createApp("hdr", "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
	if code := s.deployZip("hdr", zipDir(t, "testdata/apps/probe", nil)); code != "200" {
		t.Fatalf("deploy: %s", code)
	}
	req, _ := http.NewRequest("GET", "http://"+s.host("hdr")+"/headers", nil)
	spoofed := map[string]string{
		"X-Forwarded-Proto": "https", "X-ARR-SSL": "1", "Client-IP": "6.6.6.6", "X-Client-IP": "6.6.6.6",
		"X-Forwarded-For": "6.6.6.6", "X-MS-CLIENT-PRINCIPAL-NAME": "admin@contoso.com",
		"X-MS-CLIENT-PRINCIPAL": "eyJhZG1pbiI6dHJ1ZX0=", "X-Original-URL": "/admin", "X-Forwarded-TlsVersion": "1.3",
	}
	for k, v := range spoofed {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got["HTTP_X_FORWARDED_PROTO"] != "http" {
		t.Errorf("X-Forwarded-Proto = %q, want http: the request was plain HTTP", got["HTTP_X_FORWARDED_PROTO"])
	}
	for _, k := range []string{"HTTP_X_ARR_SSL", "HTTP_X_MS_CLIENT_PRINCIPAL_NAME", "HTTP_X_MS_CLIENT_PRINCIPAL", "HTTP_X_FORWARDED_TLSVERSION"} {
		if v, ok := got[k]; ok {
			t.Errorf("%s reached the app: %q", k, v)
		}
	}
	for _, k := range []string{"HTTP_CLIENT_IP", "HTTP_X_CLIENT_IP", "HTTP_X_FORWARDED_FOR"} {
		if got[k] != "127.0.0.1" {
			t.Errorf("%s = %q, want the real client 127.0.0.1", k, got[k])
		}
	}
	if got["HTTP_X_ORIGINAL_URL"] != "/headers" {
		t.Errorf("X-Original-URL = %q, want the real /headers", got["HTTP_X_ORIGINAL_URL"])
	}
}

// probeWheel is a one-module wheel, installed by a startup command with pip
// (no index, no build): what App Service apps do at startup.
func probeWheel(t *testing.T) string {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	for name, body := range map[string]string{
		"probepkg/__init__.py":                 "VALUE = 'installed-at-startup'\n",
		"probepkg-1.0.dist-info/METADATA":      "Metadata-Version: 2.1\nName: probepkg\nVersion: 1.0\n",
		"probepkg-1.0.dist-info/WHEEL":         "Wheel-Version: 1.0\nGenerator: slipway-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
		"probepkg-1.0.dist-info/top_level.txt": "probepkg\n",
		"probepkg-1.0.dist-info/RECORD":        "",
	} {
		w, err := z.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestAppServiceContract: what apps written for App Service expect of their
// container (docs/appservice.md §1, §2, §4) and found missing before.
func TestAppServiceContract(t *testing.T) {
	needContainers(t)
	s := startServer(t)
	// WEBSITES_PORT names the port; the startup command runs from
	// /home/site/wwwroot (Microsoft's PostgreSQL tutorial does), installs a
	// package with pip at startup, and a PYTHONPATH of the app's is kept.
	s.createApp("gamma", "SCM_DO_BUILD_DURING_DEPLOYMENT=true", "WEBSITES_PORT=5000", "PYTHONPATH=/home/site/wwwroot/extra")
	s.mustCLI("", "webapp", "config", "set", "-g", "rg-gamma", "-n", "gamma", "--startup-file",
		"pip install --no-index --no-deps /home/site/wwwroot/probepkg-1.0-py3-none-any.whl && gunicorn --bind=0.0.0.0:5000 --chdir=/home/site/wwwroot app:app")
	z := zipDir(t, "testdata/apps/probe", map[string]string{
		"probepkg-1.0-py3-none-any.whl": probeWheel(t),
		"extra/extramod.py":             "VALUE = 'from-pythonpath'\n",
	})
	if code := s.deployZip("gamma", z); code != "200" {
		t.Fatalf("deploy gamma: %s\n%s", code, s.lastDeploymentLog("gamma"))
	}
	if got := s.probe("gamma", "/file"); got != "/home/site/wwwroot/app.py" {
		t.Errorf("the app runs from %q, want /home/site/wwwroot/app.py (--chdir=/home/site/wwwroot)", got)
	}
	if got := s.probe("gamma", "/import?mod=probepkg"); !strings.HasPrefix(got, "IMPORTED installed-at-startup") {
		t.Errorf("the package pip installed at startup: %s", got)
	}
	if got := s.probe("gamma", "/import?mod=extramod"); !strings.HasPrefix(got, "IMPORTED from-pythonpath") {
		t.Errorf("the app's PYTHONPATH setting was not kept: %s", got)
	}
	var env map[string]string
	json.Unmarshal([]byte(s.probe("gamma", "/env")), &env)
	if env["PORT"] != "5000" {
		t.Errorf("PORT = %q, want WEBSITES_PORT's 5000", env["PORT"])
	}
	// What pip installed lives in the instance's view of its environment
	// only: the cached environment every instance starts from is untouched.
	venv := env["VIRTUAL_ENV"]
	if venv == "" {
		t.Fatalf("no VIRTUAL_ENV in %v", env)
	}
	site := filepath.Join(sharedCache, "scopes", "gamma", "venvs", "*", "antenv", "lib", "python*", "site-packages")
	if envs, _ := filepath.Glob(filepath.Join(site, "gunicorn")); len(envs) == 0 {
		t.Fatalf("found no cached environment of gamma under %s", site)
	}
	if leaked, _ := filepath.Glob(filepath.Join(site, "probepkg*")); len(leaked) > 0 {
		t.Errorf("pip at startup changed the shared environment: %v", leaked)
	}

	// An app listening on the wrong port is told which one it listens on
	// and which setting fixes it.
	s.createApp("delta", "SCM_DO_BUILD_DURING_DEPLOYMENT=true", "WEBSITES_CONTAINER_START_TIME_LIMIT=10")
	s.mustCLI("", "webapp", "config", "set", "-g", "rg-delta", "-n", "delta", "--startup-file", "gunicorn --bind=0.0.0.0:5000 app:app")
	if code := s.deployZip("delta", zipDir(t, "testdata/apps/probe", nil)); code == "200" {
		t.Fatalf("a deploy of an app that listens on the wrong port succeeded")
	}
	log := s.lastDeploymentLog("delta")
	for _, want := range []string{"0.0.0.0:5000", "not on port 8000", "WEBSITES_PORT=5000"} {
		if !strings.Contains(log, want) {
			t.Errorf("the deployment log does not say %q:\n%s", want, log)
		}
	}
}

// platformLog returns what the platform has logged about an app so far
// (its *_docker.log files, as App Service names them).
func (s *testServer) platformLog(name string) string {
	s.t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.data, "sites", name, "home", "LogFiles", "*_docker.log"))
	var b strings.Builder
	for _, f := range files {
		if strings.HasSuffix(f, "_default_docker.log") {
			continue
		}
		c, _ := os.ReadFile(f)
		b.Write(c)
	}
	return b.String()
}

// TestResourceLimits: an instance gets its plan's size (docs/appservice.md §11)
// and its home the tier's quota (§1): memory, processes and disk past them
// fail for that app alone, and the log stream says what happened.
func TestResourceLimits(t *testing.T) {
	needContainers(t)
	s := startServer(t)
	s.createAppOn("small", "F1", "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
	s.createApp("neighbour", "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
	for _, name := range []string{"small", "neighbour"} {
		if code := s.deployZip(name, zipDir(t, "testdata/apps/probe", nil)); code != "200" {
			t.Fatalf("deploy %s: %s\n%s", name, code, s.lastDeploymentLog(name))
		}
	}
	// Memory: F1 gives 1024 MB; 1400 MB kills the instance, which restarts.
	if resp, err := s.client.Get("http://" + s.host("small") + "/alloc?mb=1400"); err == nil {
		b := make([]byte, 64)
		n, _ := resp.Body.Read(b)
		resp.Body.Close()
		if strings.HasPrefix(string(b[:n]), "ALLOCATED") {
			t.Fatalf("an F1 instance allocated 1400 MB")
		}
	}
	eventually(t, 30*time.Second, "the log stream explains the memory kill", func() bool {
		return strings.Contains(s.platformLog("small"), "killed because it used more than its memory limit of 1024 MB") &&
			strings.Contains(s.platformLog("small"), "B1 has 1792 MB")
	})
	eventually(t, 60*time.Second, "the killed instance serves again", func() bool {
		code, body := s.get(s.host("small"), "/")
		return code == 200 && body == "probe small"
	})
	// Processes: a fork loop stops at the pids limit.
	got := s.probe("small", "/fork?n=1500")
	var started, failed int
	if _, err := fmt.Sscanf(got, "STARTED %d FAILED %d", &started, &failed); err != nil || failed == 0 || started >= 1024 {
		t.Errorf("a fork loop of 1500 in one instance: %q; want it stopped below the limit of 1024", got)
	}
	// Disk: F1's /home holds 1 GB; writing past it is ENOSPC for this app,
	// and its neighbour writes on.
	if got := s.probe("small", "/fill?mb=1200"); !strings.Contains(got, "ERROR 28") {
		t.Errorf("writing 1200 MB to an F1 app's /home: %q, want ENOSPC (28)", got)
	}
	if got := s.probe("neighbour", "/fill?mb=64"); got != "WROTE 64" {
		t.Errorf("the neighbouring app could not write its home: %q", got)
	}
	// Disk outside /home: the instance's writable copy of the app and its
	// view of the environment (a pip install at startup) share F1's 500 MB
	// of local storage (Kudu's table of temporary files); past it is ENOSPC
	// for this app, never the server's disk filling up.
	appPath := func(app string) string {
		var env map[string]string
		if err := json.Unmarshal([]byte(s.probe(app, "/env")), &env); err != nil || env["APP_PATH"] == "" {
			t.Fatalf("no APP_PATH in %s's environment: %v", app, err)
		}
		return env["APP_PATH"]
	}
	for _, p := range []string{appPath("small") + "/fill.bin", appPath("small") + "/antenv/fill.bin"} {
		if got := s.probe("small", "/fill?mb=64&path="+url.QueryEscape(p)); got != "WROTE 64" {
			t.Errorf("writing 64 MB to %s: %q, want WROTE 64", p, got)
		}
		if got := s.probe("small", "/fill?mb=700&path="+url.QueryEscape(p)); !strings.Contains(got, "ERROR 28") {
			t.Errorf("writing 700 MB to an F1 app's %s: %q, want ENOSPC (28) at its 500 MB of local storage", p, got)
		}
	}
	if got := s.probe("neighbour", "/fill?mb=64&path="+url.QueryEscape(appPath("neighbour")+"/fill.bin")); got != "WROTE 64" {
		t.Errorf("the neighbouring app could not write next to its code: %q", got)
	}
	// The server is unharmed and the small app still serves.
	if code, body := s.get(s.host("small"), "/"); code != 200 || body != "probe small" {
		t.Errorf("after the attempts the app answers %d %q", code, body)
	}
	// Scaling the plan up applies the new size with a rolling restart.
	s.mustCLI("", "appservice", "plan", "update", "-g", "rg-small", "-n", "plan-small", "--sku", "B1")
	if got := s.probe("small", "/alloc?mb=1400"); got != "ALLOCATED 1400" {
		t.Errorf("after scaling up to B1 (1792 MB) allocating 1400 MB: %q", got)
	}
}

// TestAttackBuildFillsTheDisk: a build runs the app's own code
// (PRE_BUILD_COMMAND here; setup.py, settings imported by collectstatic),
// which can write without end next to the code or into its HOME, and so
// does the release command. What it
// writes is bounded by its plan's quota (F1: 1 GB), so the build fails with
// ENOSPC, the previous version keeps serving and the server's disk never
// fills; the next build of the app works.
func TestAttackBuildFillsTheDisk(t *testing.T) {
	needContainers(t)
	s := startServer(t)
	s.createAppOn("filler", "F1", "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
	if code := s.deployZip("filler", zipDir(t, "testdata/apps/probe", nil)); code != "200" {
		t.Fatalf("deploy: %s\n%s", code, s.lastDeploymentLog("filler"))
	}
	for _, where := range []string{"big.bin", "$HOME/big.bin"} {
		s.mustCLI("", "webapp", "config", "appsettings", "set", "-g", "rg-filler", "-n", "filler",
			"--settings", "PRE_BUILD_COMMAND=fallocate -l 1600M "+where)
		if code := s.deployZip("filler", zipDir(t, "testdata/apps/probe", nil)); code == "200" {
			t.Errorf("a build that wrote 1600 MB to %s on an F1 plan (1 GB) succeeded", where)
		} else if log := s.lastDeploymentLog("filler"); !strings.Contains(log, "No space left on device") {
			t.Errorf("the failed build's log does not say the space ran out:\n%s", tail(log, 15))
		}
		if code, body := s.get(s.host("filler"), "/"); code != 200 || body != "probe filler" {
			t.Errorf("after the build that filled its storage the app answers %d %q", code, body)
		}
	}
	s.mustCLI("", "webapp", "config", "appsettings", "delete", "-g", "rg-filler", "-n", "filler", "--setting-names", "PRE_BUILD_COMMAND")
	// The release command runs in the new version itself (where a SQLite
	// database next to the code belongs), bounded by the versions' image;
	// on F1 the instance's smaller local storage, which copies the version,
	// would refuse it too, so this case shows that one of the two holds.
	s.mustCLI("", "webapp", "config", "appsettings", "set", "-g", "rg-filler", "-n", "filler",
		"--settings", "SLIPWAY_RELEASE_COMMAND=fallocate -l 1600M big.bin")
	if code := s.deployZip("filler", zipDir(t, "testdata/apps/probe", nil)); code == "200" {
		t.Errorf("a release command that wrote 1600 MB on an F1 plan (1 GB) succeeded")
	} else if log := s.lastDeploymentLog("filler"); !strings.Contains(log, "No space left on device") {
		t.Errorf("the failed release's log does not say the space ran out:\n%s", tail(log, 15))
	}
	if code, body := s.get(s.host("filler"), "/"); code != 200 || body != "probe filler" {
		t.Errorf("after the release that filled its storage the app answers %d %q", code, body)
	}
	s.mustCLI("", "webapp", "config", "appsettings", "delete", "-g", "rg-filler", "-n", "filler", "--setting-names", "SLIPWAY_RELEASE_COMMAND")
	if code := s.deployZip("filler", zipDir(t, "testdata/apps/probe", nil)); code != "200" {
		t.Errorf("the next deploy after the failed ones: %s\n%s", code, tail(s.lastDeploymentLog("filler"), 15))
	}
}

// TestCrashedInstanceRestarts: after a restart, a settings change and a
// start, a crashed instance is started again (the supervisor once kept the
// request's context and never restarted it).
func TestCrashedInstanceRestarts(t *testing.T) {
	s := startServer(t)
	s.createApp("phoenix", "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
	if code := s.deployZip("phoenix", zipDir(t, "testdata/apps/probe", nil)); code != "200" {
		t.Fatalf("deploy: %s", code)
	}
	crash := func(after string) {
		s.client.Get("http://" + s.host("phoenix") + "/exit")
		eventually(t, 30*time.Second, "the instance comes back after a crash following "+after, func() bool {
			code, body := s.get(s.host("phoenix"), "/")
			return code == 200 && body == "probe phoenix"
		})
	}
	s.mustCLI("", "webapp", "restart", "-g", "rg-phoenix", "-n", "phoenix")
	crash("a restart")
	s.mustCLI("", "webapp", "config", "appsettings", "set", "-g", "rg-phoenix", "-n", "phoenix", "--settings", "X=1")
	crash("a settings change")
	s.mustCLI("", "webapp", "stop", "-g", "rg-phoenix", "-n", "phoenix")
	// A stopped app answers App Service's 403 page, not a "starting" 503.
	if code, body := s.get(s.host("phoenix"), "/"); code != 403 || !strings.Contains(body, "This web app is stopped") {
		t.Errorf("a stopped app answers %d %q, want 403 'This web app is stopped'", code, tail(body, 3))
	}
	s.mustCLI("", "webapp", "start", "-g", "rg-phoenix", "-n", "phoenix")
	crash("a start")
}

// TestLogSymlinkAttack: an app that replaces its log file with a symlink to
// a host file cannot make the server (root) write there.
func TestLogSymlinkAttack(t *testing.T) {
	s := startServer(t)
	s.createApp("mallory", "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
	if code := s.deployZip("mallory", zipDir(t, "testdata/apps/probe", nil)); code != "200" {
		t.Fatalf("deploy: %s", code)
	}
	victim := filepath.Join(t.TempDir(), "victim.conf")
	os.WriteFile(victim, []byte("original\n"), 0o644)
	s.probe("mallory", "/print?text=before")
	for _, f := range []string{"default_docker", "docker"} {
		name := time.Now().UTC().Format("2006_01_02") + "_slipway0_" + f + ".log"
		if got := s.probe("mallory", "/symlink?link="+url.QueryEscape("/home/LogFiles/"+name)+"&target="+url.QueryEscape(victim)); got != "LINKED" {
			t.Fatalf("planting the symlink: %s", got)
		}
	}
	for i := 0; i < 20; i++ {
		s.probe("mallory", "/print?text=PWNED")
	}
	s.mustCLI("", "webapp", "restart", "-g", "rg-mallory", "-n", "mallory") // platform events too
	time.Sleep(time.Second)                                                 // past the log's flush delay
	if b, _ := os.ReadFile(victim); string(b) != "original\n" {
		t.Fatalf("the server wrote through the app's symlink into a host file: %q", b)
	}

	// The log files stay under the quota set with az webapp log config.
	out := s.mustCLI("", "webapp", "log", "config", "-g", "rg-mallory", "-n", "mallory", "--docker-container-logging", "filesystem", "--quota-mb", "25", "--retention-days", "7")
	if !strings.Contains(out, `"retentionInMb": 25`) || !strings.Contains(out, `"retentionInDays": 7`) {
		t.Fatalf("webapp log config did not store the quota and retention:\n%s", out)
	}
	s.probe("mallory", "/spam?mb=40")
	time.Sleep(time.Second)
	var total int64
	files, _ := filepath.Glob(filepath.Join(s.data, "sites", "mallory", "home", "LogFiles", "*.log"))
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			total += fi.Size()
		}
	}
	if total == 0 || total > 26<<20 {
		t.Errorf("after 40 MB of output the log files hold %d bytes; want at most the 25 MB quota", total)
	}
}

// TestBuildCachePoisoning: a build that tries to plant code in every cached
// environment and pip cache it can reach affects no other app.
func TestBuildCachePoisoning(t *testing.T) {
	needContainers(t)
	s := startServer(t)
	plant := `for d in $(find / -xdev -type d -writable 2>/dev/null); do echo 'import os; open("/tmp/pwned", "w")' > "$d/zzz_poison.pth" 2>/dev/null; done; true`
	s.createApp("poisoner", "SCM_DO_BUILD_DURING_DEPLOYMENT=true", "PRE_BUILD_COMMAND="+plant, "POST_BUILD_COMMAND="+plant)
	s.createApp("victim", "SCM_DO_BUILD_DURING_DEPLOYMENT=true", "SECRET=victims-secret")
	if code := s.deployZip("poisoner", zipDir(t, "testdata/apps/probe", nil)); code != "200" {
		t.Fatalf("deploy poisoner: %s\n%s", code, s.lastDeploymentLog("poisoner"))
	}
	if code := s.deployZip("victim", zipDir(t, "testdata/apps/probe", nil)); code != "200" {
		t.Fatalf("deploy victim: %s", code)
	}
	// Same requirements, but nothing of the poisoner's reached the victim.
	var found []string
	filepath.WalkDir(sharedCache, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "zzz_poison.pth" && !strings.Contains(p, "/scopes/poisoner/") {
			found = append(found, p)
		}
		return nil
	})
	if len(found) > 0 {
		t.Errorf("the poisoner's build planted files outside its own cache: %v", found)
	}
	if got := s.probe("victim", "/import?mod=zzz_poison"); strings.HasPrefix(got, "IMPORTED") {
		t.Errorf("the victim imports the poisoner's module")
	}
	var env map[string]string
	json.Unmarshal([]byte(s.probe("victim", "/env")), &env)
	if env["SECRET"] != "victims-secret" {
		t.Errorf("the victim lost its secret setting: %v", env["SECRET"])
	}
	// The poisoner's own sealed environment did not take its .pth either.
	sealed, _ := filepath.Glob(filepath.Join(sharedCache, "scopes", "poisoner", "venvs", "*", "antenv", "lib", "python*", "site-packages", "zzz_poison.pth"))
	if len(sealed) > 0 {
		t.Errorf("the post-build command wrote into its sealed environment: %v", sealed)
	}
}

// TestSQLiteNextToTheCode: a `startproject` app keeps its SQLite database
// next to the code. The release step's migrations reach the instances (no
// "no such table"), and the deployment log says that the database is lost
// at every restart and what to set instead.
func TestSQLiteNextToTheCode(t *testing.T) {
	s := startServer(t)
	s.createApp("sqlapp", "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
	if code := s.deployZip("sqlapp", zipDir(t, "testdata/apps/startproject", nil)); code != "200" {
		t.Fatalf("deploy: %s\n%s", code, s.lastDeploymentLog("sqlapp"))
	}
	log := s.lastDeploymentLog("sqlapp")
	for _, want := range []string{"wrote the SQLite database db.sqlite3 next to the code", "lost at the next restart", "os.path.join(os.environ.get('HOME'",
		"Applying auth.0001_initial... OK"} { // migrate's streamed lines keep their " OK"
		if !strings.Contains(log, want) {
			t.Errorf("the deployment log does not say %q:\n%s", want, log)
		}
	}
	if code, body := s.get(s.host("sqlapp"), "/users"); code != 200 || body != "users 0" {
		t.Errorf("GET /users = %d %q, want the migrated database's 0 users", code, tail(body, 5))
	}
	// The build saw WEBSITE_HOSTNAME, so collectstatic ran with the
	// production settings and the CSS is there.
	resp, err := s.client.Get("http://" + s.host("sqlapp") + "/static/admin/css/base.css")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Errorf("GET /static/admin/css/base.css = %d %s, want 200 text/css:\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), log)
	}

	// A project whose ALLOWED_HOSTS lacks the app's host deploys (the
	// readiness ping takes any answer), answers 400 — and the log stream
	// and the deployment log say why and what fixes it.
	s.createApp("badhost", "SCM_DO_BUILD_DURING_DEPLOYMENT=true", "DJANGO_ALLOWED_HOSTS=www.example.com")
	if code := s.deployZip("badhost", zipDir(t, "testdata/apps/startproject", nil)); code != "200" {
		t.Fatalf("deploy badhost: %s\n%s", code, s.lastDeploymentLog("badhost"))
	}
	if code, _ := s.get(s.host("badhost"), "/users"); code != 400 {
		t.Fatalf("GET /users with the wrong ALLOWED_HOSTS = %d, want Django's 400", code)
	}
	fix := "Django refused the host 'badhost.localhost': add it to ALLOWED_HOSTS, e.g. ALLOWED_HOSTS = [os.environ['WEBSITE_HOSTNAME']]"
	eventually(t, 20*time.Second, "the log stream explains the 400", func() bool {
		return strings.Contains(s.platformLog("badhost"), fix)
	})
	if log := s.lastDeploymentLog("badhost"); !strings.Contains(log, fix) {
		t.Errorf("the deployment log does not explain the 400:\n%s", log)
	}
}

// TestDeployScript runs a deploy script written for az, unchanged, with the
// slipway binary standing in for az (issue: deploy scripts work unchanged).
func TestDeployScript(t *testing.T) {
	s := startServer(t)
	bin := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "az"), ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	script, _ := filepath.Abs("testdata/scripts/deploy.sh")
	cmd := exec.Command("bash", script, zipDir(t, "testdata/apps/probe", nil))
	cmd.Env = append(s.env, "PATH="+bin+":"+os.Getenv("PATH"))
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the deploy script failed: %v\n%s", err, out)
	}
	// The startup file set before the code: the write stands, and the CLI
	// says why the app did not restart rather than staying silent.
	if !strings.Contains(string(out), "WARNING: The app did not restart") {
		t.Errorf("the script's output does not warn that the startup file could not start yet:\n%s", out)
	}
	want := "deployed to http://" + s.host("scripted") + "\n"
	if !strings.HasSuffix(string(out), want) {
		t.Errorf("the script printed %q, want it to end with %q", out, want)
	}
	if got := s.probe("scripted", "/"); got != "probe scripted" {
		t.Errorf("the deployed app answers %q", got)
	}
	var env map[string]string
	json.Unmarshal([]byte(s.probe("scripted", "/env")), &env)
	if env["AZURE_ACCOUNT_NAME"] != "scriptedmedia" || len(env["AZURE_ACCOUNT_KEY"]) < 40 {
		t.Errorf("the settings the script set did not reach the app: name %q, key of %d chars", env["AZURE_ACCOUNT_NAME"], len(env["AZURE_ACCOUNT_KEY"]))
	}

	// webapp up -r for a new app on the script's existing B1 plan (with 2
	// workers) leaves the plan as it is: -r alone makes az's default F1,
	// which must not replace a plan's size.
	s.mustCLI("", "appservice", "plan", "update", "-g", "rg-scripted", "-n", "plan-scripted", "--number-of-workers", "2")
	project := t.TempDir()
	os.CopyFS(project, os.DirFS("testdata/apps/probe"))
	// --only-show-errors silences up's progress lines, as az's.
	if _, stderr, code := s.cli(project, "webapp", "up", "-n", "upnew", "-g", "rg-scripted", "-p", "plan-scripted", "-r", "PYTHON:3.12", "--only-show-errors"); code != 0 || stderr != "" {
		t.Errorf("webapp up --only-show-errors: exit %d, stderr %q; want 0 and nothing", code, stderr)
	}
	plan := s.mustCLI("", "appservice", "plan", "show", "-g", "rg-scripted", "-n", "plan-scripted", "--query", "[sku.name, sku.capacity]", "-o", "tsv")
	if got := strings.Join(strings.Fields(plan), " "); got != "B1 2" {
		t.Errorf("after webapp up -r on the existing plan, its SKU and workers are %q, want \"B1 2\"", got)
	}
}

// TestBuildAgainstLibpq: a requirement that compiles against libpq
// (psycopg2 has no wheels, only its source) builds, as on App Service,
// whose build image has the headers (scripts/setup installs them here).
func TestBuildAgainstLibpq(t *testing.T) {
	s := startServer(t)
	s.createApp("pgapp", "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
	z := zipDir(t, "testdata/apps/probe", map[string]string{"requirements.txt": "gunicorn\npsycopg2==2.9.10\n"})
	if code := s.deployZip("pgapp", z); code != "200" {
		t.Fatalf("deploy: %s\n%s", code, s.lastDeploymentLog("pgapp"))
	}
	if got := s.probe("pgapp", "/import?mod=psycopg2"); !strings.HasPrefix(got, "IMPORTED") {
		t.Errorf("psycopg2 built from source does not import: %s", got)
	}
}

// TestAttackDeletedAppLeavesNoBuildCache: app names are free again once an
// app is deleted, and the next app of that name builds as the same user in
// the same cache scope. The deleted app's environments and pip cache (its
// private packages, or a wheel it poisoned) must go with it.
func TestAttackDeletedAppLeavesNoBuildCache(t *testing.T) {
	needContainers(t)
	s := startServer(t)
	s.createApp("heir", "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
	if code := s.deployZip("heir", zipDir(t, "testdata/apps/probe", nil)); code != "200" {
		t.Fatalf("deploy heir: %s\n%s", code, s.lastDeploymentLog("heir"))
	}
	scope := filepath.Join(sharedCache, "scopes", "heir")
	if _, err := os.Stat(scope); err != nil {
		t.Fatalf("the build left no cache scope: %v", err)
	}
	s.mustCLI("", "webapp", "delete", "-g", "rg-heir", "-n", "heir")
	if _, err := os.Stat(scope); err == nil {
		t.Errorf("the deleted app's build cache %s is still there for the next app named heir", scope)
	}
}
