package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startProcess runs the real slipway binary as a separate process, so that
// a test can kill it with SIGKILL.
func startProcess(t *testing.T, bin, data string) (*testServer, *exec.Cmd) {
	t.Helper()
	s := &testServer{t: t, data: data, stderr: &syncBuffer{}}
	s.env = []string{
		"HOME=" + os.Getenv("HOME"), "PATH=" + os.Getenv("PATH"),
		"SLIPWAY_DATA=" + data, "SLIPWAY_CACHE_DIR=" + sharedCache, "USER=tester",
	}
	os.Remove(filepath.Join(data, "server.json"))
	cmd := exec.Command(bin, "server", "--http-port", "0", "--blob-port", "0")
	cmd.Env = s.env
	cmd.Stderr = s.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A stop as an init system does it: SIGTERM, then SIGKILL.
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		// What a server killed with -9 left mounted (its apps' homes).
		unmountUnder(data)
	})
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Slipway is running at") {
				ready <- true
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("slipway server exited before it was ready:\n%s", s.stderr.String())
		}
	case <-time.After(3 * time.Minute):
		t.Fatalf("slipway server not ready after 3 minutes:\n%s", s.stderr.String())
	}
	s.connect()
	return s, cmd
}

// buildForKill builds the slipway binary, to be run as a process a test
// can kill, and names a data folder for it.
func buildForKill(t *testing.T) (bin, data string) {
	t.Helper()
	bin = filepath.Join(t.TempDir(), "slipway")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin, filepath.Join(t.TempDir(), "data")
}

// TestKilledServer: the server is killed with SIGKILL in the middle of a
// deployment. Its apps stop with it; after a restart the previous version
// serves again and the interrupted deployment is reported failed, not left
// running forever.
func TestKilledServer(t *testing.T) {
	bin, data := buildForKill(t)
	s, cmd := startProcess(t, bin, data)
	s.createApp("phoenix", "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
	user, pass := s.credentials("phoenix")
	scm := func() string {
		return "http://" + strings.Replace(s.host("phoenix"), ".localhost", ".scm.localhost", 1)
	}
	z := zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": "before"})
	if out, err := s.curl("-X", "POST", "-u", user+":"+pass, "--data-binary", "@"+z, "-o", "/dev/null", "-w", "%{http_code}", scm()+"/api/zipdeploy"); err != nil || out != "200" {
		t.Fatalf("deploy: %q %v", out, err)
	}
	appAddr := instanceAddr(t, data, "phoenix")

	// A deployment whose build takes a while; kill the server while it builds.
	s.mustCLI("", "webapp", "config", "appsettings", "set", "-g", "rg-phoenix", "-n", "phoenix", "--settings", "PRE_BUILD_COMMAND=sleep 60")
	z2 := zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": "interrupted"})
	if out, err := s.curl("-X", "POST", "-u", user+":"+pass, "--data-binary", "@"+z2, "-o", "/dev/null", "-w", "%{http_code}", scm()+"/api/zipdeploy?isAsync=true"); err != nil || out != "202" {
		t.Fatalf("async deploy: %q %v", out, err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		body, _ := s.curl("-u", user+":"+pass, scm()+"/api/deployments/latest")
		var d map[string]any
		json.Unmarshal([]byte(body), &d)
		if d["status"] == float64(1) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deployment never reached Building: %s", body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	// The app's processes die with the server (nothing keeps serving unsupervised).
	time.Sleep(time.Second)
	if _, err := s.curl("-o", "/dev/null", "--max-time", "5", "http://"+appAddr+"/"); err == nil {
		t.Errorf("the app instance at %s still answers after the server was killed", appAddr)
	}

	s2, _ := startProcess(t, bin, data)
	if code, body := s2.get(s2.host("phoenix"), "/"); code != 200 || body != "hello before" {
		t.Fatalf("after the restart GET / = %d %q, want the previous version", code, body)
	}
	scm = func() string {
		return "http://" + strings.Replace(s2.host("phoenix"), ".localhost", ".scm.localhost", 1)
	}
	body, err := s2.curl("-u", user+":"+pass, scm()+"/api/deployments/latest")
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	json.Unmarshal([]byte(body), &d)
	if d["status"] != float64(3) || d["complete"] != true {
		t.Fatalf("the interrupted deployment is %v (complete %v), want failed (3): %s", d["status"], d["complete"], body)
	}
	if log := s2.deploymentLog("phoenix", user, pass, d["id"].(string)); !strings.Contains(log, "server stopped while this deployment was running") {
		t.Errorf("the deployment log does not say what happened:\n%s", log)
	}
	// Deploying works again.
	s2.mustCLI("", "webapp", "config", "appsettings", "delete", "-g", "rg-phoenix", "-n", "phoenix", "--setting-names", "PRE_BUILD_COMMAND")
	if out, err := s2.curl("-X", "POST", "-u", user+":"+pass, "--data-binary", "@"+z2, "-o", "/dev/null", "-w", "%{http_code}", scm()+"/api/zipdeploy"); err != nil || out != "200" {
		t.Fatalf("deploy after recovery: %q %v", out, err)
	}
	if _, body := s2.get(s2.host("phoenix"), "/"); body != "hello interrupted" {
		t.Fatalf("after a new deploy GET / = %q", body)
	}
}

// unmountUnder lazily unmounts every mount below dir, as an operator would
// after a server was killed and not started again.
func unmountUnder(dir string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			exec.Command("umount", "-l", f[4]).Run()
		}
	}
}

// TestKilledServerKeepsVaultsAndRoles: what the CLI was told is stored is
// stored. A key vault, a secret and its new version, a service principal and
// its role assignments are made; the server is killed with SIGKILL right
// after the last answer, and after a restart on the same data folder they
// read back as they were: the secret's value per version (unsealed with the
// key in the data folder) and the role assignments.
func TestKilledServerKeepsVaultsAndRoles(t *testing.T) {
	bin, data := buildForKill(t)
	s, cmd := startProcess(t, bin, data)
	var info struct {
		SubscriptionID string `json:"subscriptionId"`
	}
	if b, err := os.ReadFile(filepath.Join(data, "server.json")); err != nil || json.Unmarshal(b, &info) != nil || info.SubscriptionID == "" {
		t.Fatalf("server.json names no subscriptionId: %v", err)
	}
	sub := "/subscriptions/" + info.SubscriptionID
	s.mustCLI("", "group", "create", "-n", "rg-durable", "-l", "westeurope")
	var kv struct{ ID string }
	if err := json.Unmarshal([]byte(s.mustCLI("", "keyvault", "create", "-g", "rg-durable", "-n", "durablekv1")), &kv); err != nil || kv.ID == "" {
		t.Fatalf("keyvault create: %v", err)
	}
	type secret struct{ ID, Value string }
	set := func(value string) secret {
		t.Helper()
		var sec secret
		if err := json.Unmarshal([]byte(s.mustCLI("", "keyvault", "secret", "set", "--vault-name", "durablekv1", "-n", "db-password", "--value", value)), &sec); err != nil || sec.ID == "" {
			t.Fatalf("keyvault secret set: %v", err)
		}
		return sec
	}
	v1, v2 := set("first-value"), set("second-value")
	if v1.ID == v2.ID {
		t.Fatalf("the second set made no new version: %s", v2.ID)
	}
	var sp struct{ AppID string }
	if err := json.Unmarshal([]byte(s.mustCLI("", "ad", "sp", "create-for-rbac", "-n", "durable-sp", "--role", "Reader",
		"--scopes", sub)), &sp); err != nil || sp.AppID == "" {
		t.Fatalf("ad sp create-for-rbac: %v", err)
	}
	var ra struct{ ID string }
	if err := json.Unmarshal([]byte(s.mustCLI("", "role", "assignment", "create", "--role", "Key Vault Secrets User",
		"--assignee", sp.AppID, "--scope", kv.ID)), &ra); err != nil || ra.ID == "" {
		t.Fatalf("role assignment create: %v", err)
	}
	// Killed right after the last answer: nothing gets a chance to flush.
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	s2, _ := startProcess(t, bin, data)
	show := func(args ...string) secret {
		t.Helper()
		var sec secret
		out := s2.mustCLI("", append([]string{"keyvault", "secret", "show", "--vault-name", "durablekv1", "-n", "db-password"}, args...)...)
		if err := json.Unmarshal([]byte(out), &sec); err != nil {
			t.Fatalf("keyvault secret show %v: %v\n%s", args, err, out)
		}
		return sec
	}
	// The restarted server listens on another port: ids are compared
	// from their path on (/secrets/<name>/<version>).
	same := func(a, b secret) bool {
		pa, pb := strings.Index(a.ID, "/secrets/"), strings.Index(b.ID, "/secrets/")
		return a.Value == b.Value && pa > 0 && pb > 0 && a.ID[pa:] == b.ID[pb:]
	}
	if got := show(); !same(got, v2) {
		t.Errorf("after the restart the latest secret is %+v, want %+v", got, v2)
	}
	if got := show("--version", v1.ID[strings.LastIndex(v1.ID, "/")+1:]); !same(got, v1) {
		t.Errorf("after the restart the first version is %+v, want %+v", got, v1)
	}
	var list []struct{ ID, RoleDefinitionName, Scope string }
	out := s2.mustCLI("", "role", "assignment", "list", "--assignee", sp.AppID, "--all")
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("role assignment list: %v\n%s", err, out)
	}
	roles := map[string]string{}
	for _, a := range list {
		roles[a.RoleDefinitionName] = a.Scope + " " + a.ID
	}
	if !strings.HasPrefix(roles["Reader"], sub+" ") || roles["Key Vault Secrets User"] != kv.ID+" "+ra.ID {
		t.Errorf("after the restart the principal's role assignments are %v; want Reader at the subscription and Key Vault Secrets User at %s (%s)", roles, kv.ID, ra.ID)
	}
}
