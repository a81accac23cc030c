package runtime

import (
	"context"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/applog"
)

// execLauncher runs processes directly: the sandbox has its own tests, these
// are about supervision.
type execLauncher struct{}

type execProc struct{ cmd *exec.Cmd }

func (p execProc) Wait() error                     { return p.cmd.Wait() }
func (p execProc) Signal(sig syscall.Signal) error { return syscall.Kill(-p.cmd.Process.Pid, sig) }

func (execLauncher) Start(ctx context.Context, l Launch) (Process, error) {
	cmd := exec.Command(l.Argv[0], l.Argv[1:]...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = l.Env, l.Dir, l.Stdout, l.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return execProc{cmd}, cmd.Start()
}

// server is a release whose instances serve `text` on every path.
func server(t *testing.T, log *applog.Log, text string, n int) Release {
	script := `import http.server, os, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = sys.argv[1].encode()
        self.send_response(200); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()`
	return Release{Instances: n, ReadyTimeout: 20 * time.Second, Log: log, Build: func(inst Instance) (Launch, error) {
		return Launch{Argv: []string{"python3", "-c", script, text}, Env: []string{"PORT=" + strconv.Itoa(inst.Port), "PATH=" + pathEnv()}}, nil
	}}
}

// pathEnv is the directory of the real python3 (not a pyenv shim, which
// needs bash on PATH).
func pathEnv() string {
	out, _ := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	p := strings.TrimSpace(string(out))
	return p[:strings.LastIndex(p, "/")] + ":/usr/bin:/bin"
}

func fetch(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func newRuntime(t *testing.T) *Runtime {
	r := New(Config{Launcher: execLauncher{}, DrainDelay: 100 * time.Millisecond, StopGrace: 5 * time.Second, PingEvery: 50 * time.Millisecond})
	t.Cleanup(func() { r.Close() })
	return r
}

func TestRollReplacesInstances(t *testing.T) {
	r := newRuntime(t)
	log := applog.NewHub(applog.Config{}).App("app", "")
	if err := r.Roll(context.Background(), "app", server(t, log, "v1", 2)); err != nil {
		t.Fatal(err)
	}
	b := r.Backends("app")
	if len(b) != 2 || fetch(t, b[0]) != "v1" || fetch(t, b[1]) != "v1" {
		t.Fatalf("backends after first roll: %v", b)
	}
	if err := r.Roll(context.Background(), "App", server(t, log, "v2", 1)); err != nil {
		t.Fatal(err)
	}
	nb := r.Backends("app")
	if len(nb) != 1 || fetch(t, nb[0]) != "v2" {
		t.Fatalf("backends after second roll: %v", nb)
	}
	// The old instances stop after the drain delay.
	deadline := time.Now().Add(10 * time.Second)
	for _, old := range b {
		for {
			if _, err := http.Get(old + "/"); err != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("old instance %s still answers", old)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func TestFailedRollKeepsPrevious(t *testing.T) {
	r := newRuntime(t)
	log := applog.NewHub(applog.Config{}).App("app", "")
	if err := r.Roll(context.Background(), "app", server(t, log, "good", 1)); err != nil {
		t.Fatal(err)
	}
	crash := Release{Instances: 1, ReadyTimeout: 20 * time.Second, Log: log, Build: func(Instance) (Launch, error) {
		return Launch{Argv: []string{"python3", "-c", "raise SystemExit('boom')"}, Env: []string{"PATH=" + pathEnv()}}, nil
	}}
	err := r.Roll(context.Background(), "app", crash)
	if err == nil || !strings.Contains(err.Error(), "has exited") {
		t.Fatalf("roll of a crashing app: %v, want an error saying it exited", err)
	}
	slow := Release{Instances: 1, ReadyTimeout: time.Second, Log: log, Build: func(Instance) (Launch, error) {
		return Launch{Argv: []string{"sleep", "30"}, Env: []string{"PATH=/usr/bin:/bin"}}, nil
	}}
	if err := r.Roll(context.Background(), "app", slow); err == nil || !strings.Contains(err.Error(), "didn't respond to HTTP pings") {
		t.Fatalf("roll of an app that never answers: %v", err)
	}
	if b := r.Backends("app"); len(b) != 1 || fetch(t, b[0]) != "good" {
		t.Fatalf("after failed rolls the previous version is not serving: %v", b)
	}
	recent := strings.Join(log.Recent(50), "\n")
	if !strings.Contains(recent, "boom") || !strings.Contains(recent, "failing site start") {
		t.Errorf("log lacks the app's output or the failure:\n%s", recent)
	}
}

func TestCrashedInstanceRestarts(t *testing.T) {
	r := newRuntime(t)
	log := applog.NewHub(applog.Config{}).App("app", "")
	if err := r.Roll(context.Background(), "app", server(t, log, "up", 1)); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	in := r.sites["app"].current.Load().instances()[0]
	r.mu.Unlock()
	in.mu.Lock()
	in.proc.Signal(syscall.SIGKILL)
	in.mu.Unlock()
	deadline := time.Now().Add(20 * time.Second)
	sawDown := false
	for time.Now().Before(deadline) {
		b := r.Backends("app")
		if len(b) == 0 {
			sawDown = true
		} else if sawDown && fetch(t, b[0]) == "up" {
			if !strings.Contains(strings.Join(log.Recent(50), "\n"), "restarting in") {
				t.Errorf("the restart is not in the log")
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the killed instance was not restarted (left rotation: %v)", sawDown)
}

// TestStopDuringBackoff: a server stopping while an instance waits to be
// restarted after crashes stops at once (it used to wait out the backoff,
// up to a minute, on every SIGTERM).
func TestStopDuringBackoff(t *testing.T) {
	r := New(Config{Launcher: execLauncher{}, DrainDelay: 100 * time.Millisecond, StopGrace: 5 * time.Second, PingEvery: 50 * time.Millisecond})
	log := applog.NewHub(applog.Config{}).App("app", "")
	if err := r.Roll(context.Background(), "app", server(t, log, "up", 1)); err != nil {
		t.Fatal(err)
	}
	// From now on every start crashes at once: the supervisor backs off
	// 1 s, 2 s, 4 s, ... between attempts.
	r.mu.Lock()
	in := r.sites["app"].current.Load().instances()[0]
	r.mu.Unlock()
	in.rel.Build = func(inst Instance) (Launch, error) {
		return Launch{Argv: []string{"/bin/false"}}, nil
	}
	in.mu.Lock()
	in.proc.Signal(syscall.SIGKILL)
	in.mu.Unlock()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(strings.Join(log.Recent(50), "\n"), "restarting in 4s") {
		if time.Now().After(deadline) {
			t.Fatalf("the instance never reached a 4 s backoff:\n%s", strings.Join(log.Recent(50), "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	r.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %s while an instance waited in backoff; want it at once", d)
	}
}

// TestEnter: a console session finds the running instance its ARRAffinity
// names, or the first ready one, with the launch that started it; a stopped
// site has none, and a session never reaches a previous release's process.
func TestEnter(t *testing.T) {
	r := newRuntime(t)
	log := applog.NewHub(applog.Config{}).App("app", "")
	if _, ok := r.Enter("app", ""); ok {
		t.Fatal("Enter found an instance of a site that never ran")
	}
	rel := server(t, log, "v1", 2)
	build := rel.Build
	rel.Build = func(inst Instance) (Launch, error) {
		l, err := build(inst)
		l.Extra = "spec-" + strconv.Itoa(inst.Role)
		return l, err
	}
	if err := r.Roll(context.Background(), "app", rel); err != nil {
		t.Fatal(err)
	}
	list := r.Instances("app")
	if len(list) != 2 {
		t.Fatalf("instances: %+v", list)
	}
	first, ok := r.Enter("APP", "")
	if !ok || first.ID != list[0].ID || first.Launch.Extra != "spec-0" || first.Proc == nil || first.Launch.Argv[0] != "python3" {
		t.Fatalf("Enter(app, \"\") = %+v, %v; want role 0's running launch", first, ok)
	}
	second, ok := r.Enter("app", strings.ToUpper(list[1].ID))
	if !ok || second.ID != list[1].ID || second.Launch.Extra != "spec-1" {
		t.Fatalf("Enter by the second instance's id = %+v, %v", second, ok)
	}
	if other, ok := r.Enter("app", "no-such-instance"); !ok || other.ID != list[0].ID {
		t.Fatalf("Enter by an unknown id = %+v, %v; want the first ready instance", other, ok)
	}
	old := first.Proc
	if err := r.Roll(context.Background(), "app", server(t, log, "v2", 1)); err != nil {
		t.Fatal(err)
	}
	now, ok := r.Enter("app", list[1].ID)
	if !ok || now.Proc == old || now.Launch.Extra != nil {
		t.Fatalf("after a roll Enter = %+v, %v; want the new release's instance", now, ok)
	}
	r.Stop(context.Background(), "app")
	if run, ok := r.Enter("app", ""); ok {
		t.Fatalf("Enter found %+v in a stopped site", run)
	}
}
