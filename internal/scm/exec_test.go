package scm

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	cryptossh "golang.org/x/crypto/ssh"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/deploy"
)

// dialExec opens az webapp exec's shell WebSocket with the app's
// credentials and the given query and headers.
func dialExec(t *testing.T, srv string, query string, header http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	if header == nil {
		header = http.Header{}
		header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("$app:pass")))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv, "http")+"/exec/shell"+query, &websocket.DialOptions{HTTPHeader: header})
}

// readUntil reads the shell's output until it holds want.
func readUntil(t *testing.T, c *websocket.Conn, out *bytes.Buffer, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for !strings.Contains(out.String(), want) {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("reading the shell for %q: %v; so far:\n%s", want, err, out.String())
		}
		out.Write(data)
	}
}

// TestExecShell: /exec/shell carries a shell with a terminal — input in
// binary messages, a {"width","height"} text message resizes the
// terminal, output comes back — and ends when the shell does.
func TestExecShell(t *testing.T) {
	srv := newSSHKudu(t, runningSite(), &localShells{})
	c, _, err := dialExec(t, srv.URL, "?shell=/bin/sh", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	ctx := context.Background()
	var out bytes.Buffer
	c.Write(ctx, websocket.MessageText, []byte(`{"width":123,"height":45}`))
	c.Write(ctx, websocket.MessageBinary, []byte("echo $((6*7)); tty; stty size\n"))
	readUntil(t, c, &out, "45 123")
	if !strings.Contains(out.String(), "42") || !strings.Contains(out.String(), "/dev/pts/") {
		t.Errorf("shell output lacks its answer or a terminal:\n%s", out.String())
	}
	c.Write(ctx, websocket.MessageBinary, []byte("exit\n"))
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		if _, _, err := c.Read(rctx); err != nil {
			if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
				t.Errorf("the session ended with %v, want a normal closure", err)
			}
			break
		}
	}
}

// TestExecShellEndsWithItsClient: a client that goes away, or sends
// nothing for tunnelIdle, ends its shell session (its command is
// cancelled, as a closed SSH channel's is) and gives back the app's place
// for it: the app's sessions can all be opened again.
func TestExecShellEndsWithItsClient(t *testing.T) {
	srv := newSSHKudu(t, runningSite(), groupShells{})
	for _, leave := range []string{"disconnect", "idle"} {
		t.Run(leave, func(t *testing.T) {
			old := tunnelIdle
			defer func() { tunnelIdle = old }()
			if leave == "idle" {
				tunnelIdle = time.Second
			}
			open := func() *websocket.Conn {
				t.Helper()
				var c *websocket.Conn
				deadline := time.Now().Add(10 * time.Second)
				for {
					var err error
					var resp *http.Response
					if c, resp, err = dialExec(t, srv.URL, "?shell=/bin/sh", nil); err == nil {
						break
					}
					if resp == nil || resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
						t.Fatalf("opening a shell: %v %v (the app's earlier sessions still hold their places)", err, resp)
					}
					time.Sleep(50 * time.Millisecond)
				}
				var out bytes.Buffer
				c.Write(context.Background(), websocket.MessageBinary, []byte("echo READ\"\"Y; sleep 1000\n"))
				readUntil(t, c, &out, "READY")
				return c
			}
			for range maxSSHSessions {
				c := open()
				if leave == "disconnect" {
					c.CloseNow()
				} else {
					defer c.CloseNow()
				}
			}
			tunnelIdle = old
			for range maxSSHSessions {
				defer open().CloseNow()
			}
		})
	}
}

// groupShells runs a session's command as localShells does, but in the
// server's process group's stead one of its own that a cancel kills whole
// (without setsid, which would take the shell out of it), as the sandbox's
// end kills all of a real session: what these tests count is places.
type groupShells struct{}

func (groupShells) Shell(ctx context.Context, _ slipway.Site, argv []string, dir string, cio deploy.ConsoleIO) error {
	if len(argv) > 3 && argv[0] == "setsid" {
		argv = argv[3:]
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/tmp"}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = cio.Stdin, cio.Stdout, cio.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 200 * time.Millisecond
	return cmd.Run()
}

// TestExecRefusals: /exec/shell and /exec/execute authenticate as every
// Kudu request does, refuse a foreign Origin (another site's page with
// credentials a browser holds), a stopped app, a relative or missing shell
// and bad bodies.
func TestExecRefusals(t *testing.T) {
	srv := newSSHKudu(t, runningSite(), &localShells{})
	if _, resp, err := dialExec(t, srv.URL, "", http.Header{}); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Errorf("a shell without credentials: %v %v, want 401", err, resp)
	}
	h := http.Header{}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("$app:pass")))
	h.Set("Origin", "https://evil.example")
	if _, resp, err := dialExec(t, srv.URL, "", h); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Errorf("a shell from a foreign origin: %v %v, want 403", err, resp)
	}
	for q, want := range map[string]int{"?shell=sh": 400, "?target=other": 400, "?shell=%2Fbin%2Fsh%00x": 400} {
		if _, resp, err := dialExec(t, srv.URL, q, nil); err == nil || resp == nil || resp.StatusCode != want {
			t.Errorf("shell%s: %v %v, want %d", q, err, resp, want)
		}
	}
	stopped := newSSHKudu(t, slipway.Site{ResourceGroup: "rg", Name: "app"}, &localShells{})
	if _, resp, err := dialExec(t, stopped.URL, "", nil); err == nil || resp == nil || resp.StatusCode != 409 {
		t.Errorf("a shell in a stopped app: %v %v, want 409", err, resp)
	}
	for body, want := range map[string]int{
		`{}`:                    400,
		`not json`:              400,
		`{"Command":"x\u0000"}`: 400,
		`{"Command":"/bin/true","WorkingDirectory":"relative"}`: 400,
		`{"Command":"no-such-command-here"}`:                    400,
	} {
		status, _, got := postJSON(t, srv, "/exec/execute", body)
		if status != want {
			t.Errorf("POST /exec/execute %s = %d %s, want %d", body, status, got, want)
		}
	}
	if status, _, _ := postJSON(t, stopped, "/exec/execute", `{"Command":"/bin/true"}`); status != 409 {
		t.Errorf("execute in a stopped app = %d, want 409", status)
	}
}

// TestExecExecute: /exec/execute starts the command and answers 202 while
// it still runs; the command goes on after the answer.
func TestExecExecute(t *testing.T) {
	srv := newSSHKudu(t, runningSite(), &localShells{})
	done := filepath.Join(t.TempDir(), "done")
	status, _, body := postJSON(t, srv, "/exec/execute",
		`{"Command":"/bin/sh","Args":["-c","sleep 2; echo ran > `+done+`"],"WorkingDirectory":"/home/site"}`)
	if status != 202 || !strings.Contains(string(body), "Message") {
		t.Fatalf("POST /exec/execute = %d %s, want 202 with a message", status, body)
	}
	if _, err := os.Stat(done); err == nil {
		t.Fatalf("the answer waited for the command to end")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(done); err == nil && string(b) == "ran\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the started command did not run to its end")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// postJSON posts body to p with the app's credentials.
func postJSON(t *testing.T, srv *httptest.Server, p, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "POST", srv.URL+p, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return send(t, req)
}

// TestSessionsRunInTheNamedInstance: SSH sessions, exec shells and started
// commands run inside the app's running instance that the ARRAffinity
// cookie names (`az webapp ssh|exec --instance`), else inside any; a cookie
// that cannot be an instance's id names none; exec's target=kudu runs
// beside the instances, in Kudu's place.
func TestSessionsRunInTheNamedInstance(t *testing.T) {
	shells := &localShells{}
	srv := newSSHKudu(t, runningSite(), shells)
	last := func() string {
		t.Helper()
		shells.mu.Lock()
		defer shells.mu.Unlock()
		if len(shells.targets) == 0 {
			t.Fatal("no command ran")
		}
		return shells.targets[len(shells.targets)-1]
	}
	ssh := func(cookie string) string {
		t.Helper()
		h := http.Header{}
		if cookie != "" {
			h.Set("Cookie", cookie)
		}
		nc, _, err := openTunnel(t, srv, h)
		if err != nil {
			t.Fatal(err)
		}
		c, chans, reqs, err := cryptossh.NewClientConn(nc, "tunnel", &cryptossh.ClientConfig{
			User: "root", Auth: []cryptossh.AuthMethod{cryptossh.Password("Docker!")},
			HostKeyCallback: cryptossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		client := cryptossh.NewClient(c, chans, reqs)
		defer client.Close()
		sess, err := client.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		if out, err := sess.CombinedOutput("true"); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return last()
	}
	for cookie, want := range map[string]string{
		"":                            "inside:",
		"ARRAffinity=0a1b2c3d":        "inside:0a1b2c3d",
		"x=1; ARRAffinity=ABCDEF0123": "inside:ABCDEF0123",
		"ARRAffinity=../../etc":       "inside:",
		"ARRAffinity=" + strings.Repeat("a", 129): "inside:",
	} {
		if got := ssh(cookie); got != want {
			t.Errorf("SSH with cookie %q ran %s, want %s", cookie, got, want)
		}
	}

	shell := func(query string, cookie string) string {
		t.Helper()
		h := http.Header{}
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("$app:pass")))
		if cookie != "" {
			h.Set("Cookie", cookie)
		}
		c, _, err := dialExec(t, srv.URL, query, h)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		var out bytes.Buffer
		c.Write(context.Background(), websocket.MessageBinary, []byte("echo rea''dy; exit\n"))
		readUntil(t, c, &out, "ready")
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if _, _, err := c.Read(t.Context()); err != nil || time.Now().After(deadline) {
				break
			}
		}
		return last()
	}
	if got := shell("?shell=/bin/sh", "ARRAffinity=beef01"); got != "inside:beef01" {
		t.Errorf("exec shell ran %s, want inside:beef01", got)
	}
	if got := shell("?shell=/bin/sh&target=kudu", "ARRAffinity=beef01"); got != "beside" {
		t.Errorf("exec shell with target=kudu ran %s, want beside", got)
	}

	req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/exec/execute", strings.NewReader(`{"Command":"/bin/true"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Cookie", "ARRAffinity=cafe42")
	if status, _, body := send(t, req); status != 202 {
		t.Fatalf("POST /exec/execute = %d %s", status, body)
	}
	if got := last(); got != "inside:cafe42" {
		t.Errorf("exec execute ran %s, want inside:cafe42", got)
	}
}
