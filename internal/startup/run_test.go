package startup

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests execute plans with the real parts: /bin/sh, python3 and
// gunicorn. gunicorn is a pip package (pip install gunicorn); without it the
// gunicorn tests skip locally and fail under CI.

func requireTool(t *testing.T, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found on PATH; CI must install it (%s)", name, install)
		}
		t.Skipf("%s not found on PATH (%s); skipping", name, install)
	}
	return path
}

// planEnv returns the process environment for running a plan in a test.
func planEnv(p Plan, extra ...string) []string {
	env := os.Environ()
	for k, v := range p.Env {
		env = append(env, k+"="+v)
	}
	return append(env, extra...)
}

// TestCustomShellScriptRuns: a startup.sh named by the startup command runs
// through /bin/sh with the app dir as working dir and on PATH, and sees $PORT
// (docs/appservice.md §4 rule 1).
func TestCustomShellScriptRuns(t *testing.T) {
	app := filepath.Join(t.TempDir(), "my app") // a space, to prove no path is spliced into shell text
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho \"pwd=$PWD\"\necho \"app=$APP_PATH\"\necho \"port=$PORT\"\ncommand -v startup.sh\n"
	if err := os.WriteFile(filepath.Join(app, "startup.sh"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	plan, err := Detect(Options{AppPath: app, StartupCommand: "startup.sh"})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(plan.Argv[0], plan.Argv[1:]...)
	cmd.Dir = plan.Dir
	cmd.Env = planEnv(plan, "PORT=8123")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("running %q: %v\n%s", plan.Argv, err, out)
	}
	want := fmt.Sprintf("pwd=%s\napp=%s\nport=8123\n%s\n", app, app, filepath.Join(app, "startup.sh"))
	if string(out) != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
}

// TestDefaultSiteWSGI calls the embedded default site's WSGI app with the
// standard library only.
func TestDefaultSiteWSGI(t *testing.T) {
	python := requireTool(t, "python3", "apt-get install python3")
	dir := t.TempDir()
	if err := WriteDefaultSite(dir); err != nil {
		t.Fatal(err)
	}
	prog := `
import application
status = []
body = b"".join(application.app({"REQUEST_METHOD": "GET", "PATH_INFO": "/"}, lambda s, h: status.append(s)))
print(status[0])
print(body.decode())
`
	cmd := exec.Command(python, "-c", prog)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("running default site: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(out), "200 OK\n") || !strings.Contains(string(out), "Hey, Python developers!") {
		t.Errorf("default site output:\n%s", out)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// startPlan runs a gunicorn plan and returns once it answers HTTP on addr.
// The process is stopped with SIGTERM (then SIGKILL) and waited for at cleanup.
func startPlan(t *testing.T, plan Plan, addr string) *syncBuffer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, plan.Argv[0], plan.Argv[1:]...)
	cmd.Dir = plan.Dir
	cmd.Env = planEnv(plan)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cancel()
			<-done
		}
		cancel()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/robots933456.txt")
		if err == nil {
			resp.Body.Close()
			return logs
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("gunicorn exited early: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("gunicorn did not answer on %s within 20s\n%s", addr, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for the writer goroutines of exec.Cmd
// and a reading test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestGunicornServesDefaultSite: an empty app is served by the default site
// under real gunicorn on the plan's loopback bind address.
func TestGunicornServesDefaultSite(t *testing.T) {
	requireTool(t, "gunicorn", "pip install gunicorn")
	root := t.TempDir()
	app, def := filepath.Join(root, "app"), filepath.Join(root, "default site")
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteDefaultSite(def); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	plan, err := Detect(Options{AppPath: app, DefaultAppPath: def, BindAddr: addr})
	if err != nil {
		t.Fatal(err)
	}
	startPlan(t, plan, addr)
	code, body := get(t, "http://"+addr+"/")
	if code != http.StatusOK || !strings.Contains(body, "Hey, Python developers!") {
		t.Errorf("GET / = %d\n%s", code, body)
	}
}

// TestGunicornMultiWorkers: GUNICORN_CMD_ARGS as rendered (quoted chdir with a
// space, '-' log files, --workers) is accepted by real gunicorn, which boots
// the requested number of workers and serves the Flask-style app.py.
func TestGunicornMultiWorkers(t *testing.T) {
	requireTool(t, "gunicorn", "pip install gunicorn")
	app := filepath.Join(t.TempDir(), "my app")
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	src := "def app(environ, start_response):\n" +
		"    start_response('200 OK', [('Content-Type', 'text/plain')])\n" +
		"    return [b'hello from app.py']\n"
	if err := os.WriteFile(filepath.Join(app, "app.py"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	plan, err := Detect(Options{AppPath: app, BindAddr: addr, Settings: map[string]string{
		SettingMultiWorkers: "true", SettingWorkerNum: "2", SettingThreadNum: "2"}})
	if err != nil {
		t.Fatal(err)
	}
	logs := startPlan(t, plan, addr)
	code, body := get(t, "http://"+addr+"/")
	if code != http.StatusOK || body != "hello from app.py" {
		t.Errorf("GET / = %d %q", code, body)
	}
	// Workers boot concurrently; give the second one a moment.
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(logs.String(), "Booting worker") < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := strings.Count(logs.String(), "Booting worker"); n != 2 {
		t.Errorf("gunicorn booted %d workers, want 2\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "Using worker: gthread") {
		t.Errorf("--threads=2 should select the gthread worker\n%s", logs.String())
	}
}

// TestStartupScriptUnderWwwroot: a startup command naming its script as
// /home/site/wwwroot/startup.sh (as Microsoft's docs write it) runs the
// app's script, made executable as App Service does — a script committed
// without its executable bit (git on Windows, a zip made there) starts.
func TestStartupScriptUnderWwwroot(t *testing.T) {
	app := t.TempDir()
	if err := os.WriteFile(filepath.Join(app, "startup.sh"), []byte("#!/bin/sh\necho \"started in $PWD\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	plan, err := Detect(Options{AppPath: app, StartupCommand: "/home/site/wwwroot/startup.sh"})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(app, "startup.sh")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("startup.sh: %v, %v; want mode 0755", fi.Mode(), err)
	}
	cmd := exec.Command(plan.Argv[0], plan.Argv[1:]...)
	cmd.Dir = plan.Dir
	cmd.Env = planEnv(plan, "PORT=8123")
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "started in "+app+"\n" {
		t.Fatalf("running %q: %v\n%s", plan.Argv, err, out)
	}
}
