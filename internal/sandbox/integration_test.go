package sandbox_test

import (
	"bufio"
	"context"
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

	"github.com/slipway-dev/slipway/internal/sandbox"
	"github.com/slipway-dev/slipway/internal/startup"
)

// TestGunicornPlanRunsConfined runs what the runtime will run: the startup
// plan for an app (here: the default site) under real gunicorn, inside the
// sandbox as an unprivileged user, with the default site, gunicorn's
// environment and the interpreter bound read-only. It needs root, bubblewrap
// and gunicorn on PATH (pip install gunicorn); it skips without them locally
// and fails under CI.
func TestGunicornPlanRunsConfined(t *testing.T) {
	skip := t.Skipf
	if os.Getenv("CI") != "" {
		skip = t.Fatalf
	}
	if os.Geteuid() != 0 {
		skip("needs root")
	}
	gunicorn, err := exec.LookPath("gunicorn")
	if err != nil {
		skip("gunicorn not on PATH (pip install gunicorn)")
	}
	if strings.Contains(gunicorn, "/.pyenv/shims/") {
		// A pyenv shim is a bash script that needs pyenv; use the real file.
		out, err := exec.Command("pyenv", "which", "gunicorn").Output()
		if err != nil {
			t.Fatalf("resolving pyenv shim %s: %v", gunicorn, err)
		}
		gunicorn = strings.TrimSpace(string(out))
	}
	sb, err := sandbox.New(sandbox.Config{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if ok, reason := sb.Available(); !ok {
		skip("bubblewrap unavailable: %s", reason)
	}
	binds := pythonBinds(t, gunicorn)

	root, err := os.MkdirTemp("", "slipway-it-*") // 0700 parents of t.TempDir would hide it from the app user
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	app, def, home := filepath.Join(root, "app"), filepath.Join(root, "defaultsite"), filepath.Join(root, "home")
	if err := os.Mkdir(app, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := startup.WriteDefaultSite(def); err != nil {
		t.Fatal(err)
	}
	const uid, gid = 64124, 64124
	if err := sandbox.PrepareHome(home, uid, gid); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	plan, err := startup.Detect(startup.Options{AppPath: app, DefaultAppPath: def, BindAddr: addr, CPUCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + filepath.Dir(gunicorn) + ":/usr/bin:/bin", "HOME=/home", "PORT=" + addr[strings.LastIndexByte(addr, ':')+1:]}
	for k, v := range plan.Env {
		env = append(env, k+"="+v)
	}
	logs := &lockedBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd, err := sb.Command(ctx, sandbox.Spec{
		Argv: plan.Argv, Env: env, Dir: plan.Dir, Home: home,
		ReadOnly: append([]string{app, def}, binds...),
		UID:      uid, GID: gid,
		Stdout: logs, Stderr: logs,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		sb.Signal(cmd, syscall.SIGKILL)
		<-done
	}()

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), "Hey, Python developers!") {
				t.Errorf("GET / = %d\n%s", resp.StatusCode, body)
			}
			break
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("gunicorn exited early: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer on %s within 30s\n%s", addr, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A graceful stop: SIGTERM reaches gunicorn, which exits cleanly.
	if err := sb.Signal(cmd, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Errorf("gunicorn exit after SIGTERM = %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("gunicorn did not stop within 30s of SIGTERM\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "Shutting down: Master") {
		t.Errorf("gunicorn did not log a graceful shutdown\n%s", logs.String())
	}
}

// pythonBinds returns the host paths gunicorn's interpreter needs, outside
// /usr (which every sandbox sees): its environment's prefix and the base
// interpreter's prefix (e.g. /root/.pyenv/versions/3.11.7).
func pythonBinds(t *testing.T, gunicorn string) []string {
	t.Helper()
	f, err := os.Open(gunicorn)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(f).ReadString('\n')
	f.Close()
	python := strings.TrimSpace(strings.TrimPrefix(line, "#!"))
	if python == "" || strings.ContainsAny(python, " \t") {
		t.Fatalf("cannot find gunicorn's interpreter from shebang %q", line)
	}
	out, err := exec.Command(python, "-c", "import sys; print(sys.prefix); print(sys.base_prefix)").Output()
	if err != nil {
		t.Fatal(err)
	}
	var binds []string
	for _, p := range strings.Fields(string(out)) {
		if p != "/usr" && !strings.HasPrefix(p, "/usr/") {
			binds = append(binds, p)
		}
	}
	return binds
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
