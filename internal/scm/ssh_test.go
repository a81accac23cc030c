package scm

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/crypto/ssh"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/deploy"
)

// localShells runs sessions' commands as plain local processes: the SSH
// protocol, the tunnel and the terminal are what these tests are about.
// The sandbox a real session runs in is cmd/slipway's TestSSHWithRealAz's.
type localShells struct {
	mu      sync.Mutex
	envs    [][]string
	targets []string // "inside:<instance>" or "beside", per command
	// waitDelay is the command's WaitDelay; 0 is 10 s, longer than
	// TestSSHExec's bound (the sandbox's is 5 s).
	waitDelay time.Duration
}

var _ Shells = (*localShells)(nil)

func (l *localShells) Shell(ctx context.Context, _ slipway.Site, argv []string, dir string, cio deploy.ConsoleIO) error {
	l.mu.Lock()
	l.envs = append(l.envs, cio.Env)
	target := "beside"
	if cio.Inside {
		target = "inside:" + cio.Instance
	}
	l.targets = append(l.targets, target)
	l.mu.Unlock()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=/tmp", "PS1=$ "}, cio.Env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = cio.Stdin, cio.Stdout, cio.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = l.waitDelay
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = 10 * time.Second
	}
	return cmd.Run()
}

func newSSHKudu(t *testing.T, site slipway.Site, shells Shells) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(New(Config{
		Store: &fakeStore{site: site}, Deployer: fakeDeployer{},
		SiteOf: func(*http.Request) string { return "app" }, Shells: shells,
	}))
	t.Cleanup(srv.Close)
	return srv
}

func runningSite() slipway.Site { return slipway.Site{ResourceGroup: "rg", Name: "app", Enabled: true} }

// openTunnel opens the WebSocket az opens, with the app's credentials.
func openTunnel(t *testing.T, srv *httptest.Server, header http.Header) (net.Conn, *http.Response, error) {
	t.Helper()
	if header == nil {
		header = http.Header{}
	}
	header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("$app:pass")))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/AppServiceTunnel/Tunnel.ashx", &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		return nil, resp, err
	}
	nc := websocket.NetConn(context.Background(), c, websocket.MessageBinary)
	t.Cleanup(func() { nc.Close() })
	return nc, resp, nil
}

// dialSSH logs in over a new tunnel.
func dialSSH(t *testing.T, srv *httptest.Server, user, password string) (*ssh.Client, error) {
	t.Helper()
	nc, _, err := openTunnel(t, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, chans, reqs, err := ssh.NewClientConn(nc, "tunnel", &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{ssh.Password(password)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	client := ssh.NewClient(c, chans, reqs)
	t.Cleanup(func() { client.Close() })
	return client, nil
}

func login(t *testing.T, srv *httptest.Server) *ssh.Client {
	t.Helper()
	c, err := dialSSH(t, srv, "root", "Docker!")
	if err != nil {
		t.Fatalf("logging in as root/Docker!: %v", err)
	}
	return c
}

// TestTunnelStatus: az's GetStatus call, before it opens the tunnel, reads
// state and canReachPort (azure-cli's TunnelServer.is_webapp_up).
func TestTunnelStatus(t *testing.T) {
	stopped := runningSite()
	stopped.Enabled = false
	for _, tc := range []struct {
		name      string
		site      slipway.Site
		shells    Shells
		state     string
		reachable bool
	}{
		{"running", runningSite(), &localShells{}, "STARTED", true},
		{"stopped", stopped, &localShells{}, "STOPPED", false},
		{"no sessions on this server", runningSite(), nil, "STARTED", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSSHKudu(t, tc.site, tc.shells)
			req, _ := http.NewRequest("GET", srv.URL+"/AppServiceTunnel/Tunnel.ashx?GetStatus&GetStatusAPIVer=2", nil)
			status, _, b := send(t, req)
			var st tunnelStatus
			if status != 200 || json.Unmarshal(b, &st) != nil {
				t.Fatalf("%d %s", status, b)
			}
			if st.State != tc.state || st.CanReachPort != tc.reachable {
				t.Fatalf("state %q canReachPort %v, want %q %v: %s", st.State, st.CanReachPort, tc.state, tc.reachable, b)
			}
		})
	}
	srv := newSSHKudu(t, runningSite(), &localShells{})
	resp, err := http.Get(srv.URL + "/AppServiceTunnel/Tunnel.ashx?GetStatus")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without credentials: %d, want 401", resp.StatusCode)
	}
}

// TestSSHExec: a command without a terminal, as `ssh host cmd` runs it:
// its outputs apart, its exit status, the client's locale but nothing
// that changes what runs.
func TestSSHExec(t *testing.T) {
	shells := &localShells{}
	srv := newSSHKudu(t, runningSite(), shells)
	c := login(t, srv)
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Setenv("LANG", "C.UTF-8"); err != nil {
		t.Fatalf("LANG refused: %v", err)
	}
	for _, name := range []string{"LD_PRELOAD", "PATH", "BASH_ENV"} {
		if err := s.Setenv(name, "/tmp/x"); err == nil {
			t.Fatalf("%s accepted", name)
		}
	}
	var out, errOut bytes.Buffer
	s.Stdout, s.Stderr = &out, &errOut
	s.Stdin = strings.NewReader("from stdin\n")
	err = s.Run("read line; echo \"out $line $LANG\"; echo err >&2; exit 3")
	var exit *ssh.ExitError
	if !errors.As(err, &exit) || exit.ExitStatus() != 3 {
		t.Fatalf("exit: %v, want status 3", err)
	}
	if out.String() != "out from stdin C.UTF-8\n" || errOut.String() != "err\n" {
		t.Fatalf("stdout %q stderr %q", out.String(), errOut.String())
	}
	shells.mu.Lock()
	env := strings.Join(shells.envs[0], " ")
	shells.mu.Unlock()
	if strings.Contains(env, "LD_PRELOAD") || strings.Contains(env, "TERM=") {
		t.Fatalf("environment %q", env)
	}

	// A command whose client keeps its input open ends when it does.
	s, err = c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	in, _ := s.StdinPipe()
	defer in.Close()
	start := time.Now()
	if err := s.Run("true"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("a command that ended was told after %v", d)
	}
}

// TestSSHTerminal: with a terminal, the command's controlling terminal is
// it: its size and TERM, and Ctrl-C reaches the command running in front
// (which needs the session of its own that setsid --ctty gives).
func TestSSHTerminal(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("setsid (util-linux) not installed")
	}
	srv := newSSHKudu(t, runningSite(), &localShells{})
	c := login(t, srv)
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RequestPty("xterm-256color", 40, 100, ssh.TerminalModes{ssh.ECHO: 0}); err != nil {
		t.Fatal(err)
	}
	in, _ := s.StdinPipe()
	var out syncBuffer
	s.Stdout = &out
	if err := s.Start("bash --norc -i"); err != nil {
		t.Fatal(err)
	}
	in.Write([]byte("echo T=$TERM; stty size; sleep 30\n"))
	waitFor(t, &out, "40 100")
	// Ctrl-C, then a command that runs once the shell reads again. The
	// shell may not yet have put sleep in front when "40 100" shows (the
	// ^C then reaches the shell alone and sleep goes on), so ^C is sent
	// again, at most 10 times, until the command shows the sleep was
	// interrupted; each ^C discards the line waiting behind it.
	for i := 0; !strings.Contains(out.String(), "after=130"); i++ {
		if i == 10 {
			t.Fatalf("Ctrl-C did not interrupt the command: %q", out.String())
		}
		in.Write([]byte{3}) // Ctrl-C
		in.Write([]byte("echo after=$?\n"))
		waitUntil(&out, "\nafter=", time.Second)
	}
	if strings.Contains(out.String(), "\nafter=0") {
		t.Fatalf("the command ended by itself, not by Ctrl-C: %q", out.String())
	}
	if err := s.WindowChange(50, 120); err != nil {
		t.Fatal(err)
	}
	// The window change is a channel request, which x/crypto/ssh delivers
	// apart from the channel's data: the size is asked until it shows (as
	// a user would see it a moment after resizing), 10 s at most.
	for end := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "50 120") && time.Now().Before(end); {
		in.Write([]byte("stty size\n"))
		time.Sleep(50 * time.Millisecond)
	}
	in.Write([]byte("exit 5\n"))
	err = s.Wait()
	var exit *ssh.ExitError
	if !errors.As(err, &exit) || exit.ExitStatus() != 5 {
		t.Fatalf("exit: %v, want 5; output %q", err, out.String())
	}
	for _, want := range []string{"T=xterm-256color", "40 100", "50 120"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q: %q", want, out.String())
		}
	}
}

// TestAttackSSHTunnel: what a tunnel must not give. Credentials other than
// App Service's fixed login, port forwarding to the server's own network
// both ways, subsystems, more sessions than an app may run, a tunnel
// opened from another site's page, a stopped app's.
func TestAttackSSHTunnel(t *testing.T) {
	srv := newSSHKudu(t, runningSite(), &localShells{})
	for _, cred := range [][2]string{{"root", "docker!"}, {"app", "Docker!"}, {"root", ""}} {
		if _, err := dialSSH(t, srv, cred[0], cred[1]); err == nil {
			t.Fatalf("logged in as %s/%q", cred[0], cred[1])
		}
	}
	c := login(t, srv)

	// The server's own port (here the Kudu server itself) is not reachable.
	if conn, err := c.Dial("tcp", strings.TrimPrefix(srv.URL, "http://")); err == nil {
		conn.Close()
		t.Fatal("a direct-tcpip channel was opened")
	}
	if l, err := c.Listen("tcp", "127.0.0.1:0"); err == nil {
		l.Close()
		t.Fatal("a remote forward was accepted")
	}
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RequestSubsystem("netconf"); err == nil {
		t.Fatal("the netconf subsystem was started")
	}
	s.Close()
	// SFTP without a terminal only: a pty would mangle its binary stream.
	s, err = c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RequestPty("xterm", 24, 80, nil); err == nil {
		if err := s.RequestSubsystem("sftp"); err == nil {
			t.Fatal("sftp was started on a terminal")
		}
	}
	s.Close()

	// Sessions beyond the app's bound are refused while the others run.
	var held []*ssh.Session
	for i := 0; i < maxSSHSessions; i++ {
		s, err := c.NewSession()
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		if err := s.Start("sleep 30"); err != nil {
			t.Fatal(err)
		}
		held = append(held, s)
	}
	if s, err := c.NewSession(); err == nil {
		s.Close()
		t.Fatalf("session %d opened", maxSSHSessions+1)
	}
	for _, s := range held {
		s.Close()
	}

	// A page of another site cannot open the tunnel with a browser's credentials.
	h := http.Header{}
	h.Set("Origin", "https://evil.example")
	if _, resp, err := openTunnel(t, srv, h); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign Origin: err %v, response %v", err, resp)
	}

	stopped := runningSite()
	stopped.Enabled = false
	if _, resp, err := openTunnel(t, newSSHKudu(t, stopped, &localShells{}), nil); err == nil || resp == nil || resp.StatusCode != http.StatusConflict {
		t.Fatalf("a stopped app's tunnel: err %v", err)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitUntil waits at most d for want in out, and says whether it came.
func waitUntil(out *syncBuffer, want string, d time.Duration) bool {
	for end := time.Now().Add(d); !strings.Contains(out.String(), want); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			return false
		}
	}
	return true
}

func waitFor(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	if !waitUntil(out, want, 10*time.Second) {
		t.Fatalf("no %q in %q", want, out.String())
	}
}

// TestTunnelLetsItsClientCloseFirst: once the SSH connection over a
// tunnel has ended on the server's side (here a client that is not SSH),
// the server leaves the WebSocket for its client to close, for
// tunnelLinger, and closes it itself only then. az's tunnel serves one
// local connection at a time, and a WebSocket closed under it while it
// still reads the local SSH client got it stuck (seen with scp in
// TestRealAzSSH: every later connection waited).
func TestTunnelLetsItsClientCloseFirst(t *testing.T) {
	old := tunnelLinger
	tunnelLinger = 2 * time.Second
	defer func() { tunnelLinger = old }()
	srv := newSSHKudu(t, runningSite(), &localShells{})
	nc, _, err := openTunnel(t, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write([]byte(strings.Repeat("x", 1024))); err != nil { // no version line: the server's handshake fails at once
		t.Fatal(err)
	}
	start := time.Now()
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.Copy(io.Discard, nc) // the server's version line, then its close
	if waited := time.Since(start); waited < tunnelLinger*3/4 || waited > tunnelLinger+5*time.Second {
		t.Errorf("the server closed the ended tunnel after %s, want about tunnelLinger (%s): the client closes first", waited, tunnelLinger)
	}
}
