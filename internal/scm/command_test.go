package scm

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
)

// localCommands runs commands as plain local processes, each in a process
// group of its own that is killed when ctx ends: what the handler does
// with time and output is what these tests are about. The sandbox a real
// command runs in is cmd/slipway's TestKuduCommand's.
type localCommands struct {
	mu   sync.Mutex
	dirs []string
}

var _ Commands = (*localCommands)(nil)

func (l *localCommands) Console(ctx context.Context, _ slipway.Site, argv []string, dir string, stdout, stderr io.Writer) error {
	l.mu.Lock()
	l.dirs = append(l.dirs, dir)
	l.mu.Unlock()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	return cmd.Run()
}

func newCommandKudu(t *testing.T, c Commands, settings map[string]string, limit time.Duration) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(New(Config{
		Store: &fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: "app"}, settings: settings}, Deployer: fakeDeployer{},
		SiteOf: func(*http.Request) string { return "app" }, Commands: c, CommandTimeout: limit,
	}))
	t.Cleanup(srv.Close)
	return srv
}

// postCommand sends body as Kudu's clients do and returns the status and
// the answer (decoded when it is a CommandResult).
func postCommand(t *testing.T, srv *httptest.Server, route, contentType, body string) (int, commandResult, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "POST", srv.URL+route, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	status, _, b := send(t, req)
	var res commandResult
	if status == 200 {
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
	}
	return status, res, string(b)
}

func command(t *testing.T, command, dir string) string {
	t.Helper()
	b, err := json.Marshal(map[string]string{"command": command, "dir": dir})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCommandAnswersAsKudu: POST /api/command runs the command with bash
// and answers Kudu's CommandResult, with its PascalCase names; dir is
// relative to /home, as Kudu's CommandExecutor combines it.
func TestCommandAnswersAsKudu(t *testing.T) {
	lc := &localCommands{}
	srv := newCommandKudu(t, lc, nil, 0)
	for _, route := range []string{"/api/command", "/command"} {
		status, _, body := postCommand(t, srv, route, "application/json; charset=utf-8", command(t, "echo hi; printf oops >&2; exit 3", "site/wwwroot"))
		if want := `{"Output":"hi\n","Error":"oops\n","ExitCode":3}`; status != 200 || body != want {
			t.Errorf("POST %s = %d %s, want 200 %s", route, status, body, want)
		}
	}
	for _, dir := range []string{"", "site", `site\wwwroot`, "/tmp", "site/../.."} {
		postCommand(t, srv, "/api/command", "application/json", command(t, "true", dir))
	}
	want := []string{"/home/site/wwwroot", "/home/site/wwwroot", "/home", "/home/site", "/home/site/wwwroot", "/tmp", "/"}
	if diff := cmp.Diff(want, lc.dirs); diff != "" {
		t.Errorf("dirs (-want +got):\n%s", diff)
	}
}

// TestCommandRefusesWhatIsNotJSON: a command is JSON (Kudu binds
// [FromBody] JSON). A form — which any web page can make a browser send,
// with Basic credentials it remembers — is refused before anything runs.
func TestCommandRefusesWhatIsNotJSON(t *testing.T) {
	lc := &localCommands{}
	srv := newCommandKudu(t, lc, nil, 0)
	for _, c := range []struct {
		contentType, body string
		status            int
	}{
		{"application/x-www-form-urlencoded", `{"command":"true"}`, 415},
		{"text/plain", `{"command":"true"}`, 415},
		{"multipart/form-data; boundary=x", `{"command":"true"}`, 415},
		{"application/json", ``, 400},
		{"application/json", `{"dir":"site"}`, 400},
		{"application/json", `["true"]`, 400},
	} {
		if status, _, body := postCommand(t, srv, "/api/command", c.contentType, c.body); status != c.status {
			t.Errorf("%s %q: %d %s, want %d", c.contentType, c.body, status, body, c.status)
		}
	}
	if len(lc.dirs) != 0 {
		t.Errorf("%d commands ran", len(lc.dirs))
	}
}

// TestAttackCommandStaysQuiet: a command that prints nothing for
// SCM_COMMAND_IDLE_TIMEOUT seconds is stopped, with Kudu's ExitCode -1
// and the reason, what it printed before kept.
func TestAttackCommandStaysQuiet(t *testing.T) {
	srv := newCommandKudu(t, &localCommands{}, map[string]string{"SCM_COMMAND_IDLE_TIMEOUT": "1"}, time.Minute)
	began := time.Now()
	status, res, body := postCommand(t, srv, "/api/command", "application/json", command(t, "echo started; sleep 1000", ""))
	if status != 200 || res.ExitCode != -1 || res.Output != "started\n" || !strings.Contains(res.Error, "SCM_COMMAND_IDLE_TIMEOUT") {
		t.Errorf("got %d %s", status, body)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("answered after %v, want about 1 s", took)
	}
}

// TestAttackCommandRunsOn: a command that keeps printing is never idle;
// it is stopped at CommandTimeout.
func TestAttackCommandRunsOn(t *testing.T) {
	srv := newCommandKudu(t, &localCommands{}, map[string]string{"SCM_COMMAND_IDLE_TIMEOUT": "1"}, 2*time.Second)
	began := time.Now()
	status, res, body := postCommand(t, srv, "/api/command", "application/json", command(t, "while true; do echo tick; sleep 0.1; done", ""))
	if status != 200 || res.ExitCode != -1 || !strings.Contains(res.Error, "aborted after 2 seconds") || !strings.HasPrefix(res.Output, "tick\n") {
		t.Errorf("got %d %.300s", status, body)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("answered after %v, want about 2 s", took)
	}
}

// TestAttackCommandFloods: a command that prints without end costs the
// server at most maxCommandOutput per stream; the answer says it was cut.
func TestAttackCommandFloods(t *testing.T) {
	srv := newCommandKudu(t, &localCommands{}, nil, 2*time.Second)
	status, res, body := postCommand(t, srv, "/api/command", "application/json", command(t, "yes; true", ""))
	if status != 200 || res.ExitCode != -1 {
		t.Fatalf("got %d %.300s", status, body)
	}
	if len(res.Output) > maxCommandOutput+1 || len(res.Output) < maxCommandOutput {
		t.Errorf("kept %d bytes of output, want %d", len(res.Output), maxCommandOutput)
	}
	if !strings.Contains(res.Error, "output was cut") {
		t.Errorf("Error does not say the output was cut: %.300s", res.Error)
	}
}

// blockingCommands holds the first maxCommands commands until release
// is closed; any more end at once.
type blockingCommands struct {
	started chan struct{}
	release chan struct{}
	n       *atomic.Int32
}

func (b blockingCommands) Console(ctx context.Context, _ slipway.Site, _ []string, _ string, _, _ io.Writer) error {
	if b.n.Add(1) > maxCommands {
		return nil
	}
	b.started <- struct{}{}
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return errors.New("stopped")
	}
}

// TestAttackCommandsAtOnce: each command is one more instance of the app;
// a site runs maxCommands at once, and is told to retry past that.
func TestAttackCommandsAtOnce(t *testing.T) {
	bc := blockingCommands{started: make(chan struct{}, maxCommands), release: make(chan struct{}), n: new(atomic.Int32)}
	srv := newCommandKudu(t, bc, nil, time.Minute)
	var wg sync.WaitGroup
	for range maxCommands {
		wg.Go(func() {
			if status, _, body := postCommand(t, srv, "/api/command", "application/json", command(t, "sleep 1000", "")); status != 200 {
				t.Errorf("a command within the bound: %d %s", status, body)
			}
		})
		select {
		case <-bc.started:
		case <-time.After(time.Minute):
			t.Fatal("a command within the bound did not start in a minute")
		}
	}
	if status, _, body := postCommand(t, srv, "/api/command", "application/json", command(t, "true", "")); status != http.StatusServiceUnavailable {
		t.Errorf("command %d past the bound: %d %s, want 503", maxCommands+1, status, body)
	}
	close(bc.release)
	wg.Wait()
	bc.n.Store(0)
	if status, _, body := postCommand(t, srv, "/api/command", "application/json", command(t, "true", "")); status != 200 {
		t.Errorf("after the others ended: %d %s", status, body)
	}
}
