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

// TestKilledServer: the server is killed with SIGKILL in the middle of a
// deployment. Its apps stop with it; after a restart the previous version
// serves again and the interrupted deployment is reported failed, not left
// running forever.
func TestKilledServer(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "slipway")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(t.TempDir(), "data")
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
