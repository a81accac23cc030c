package main

import (
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/crypto/ssh"
)

// sshTunnel logs in to app's SSH server through Kudu's tunnel, as az does,
// with its publishing credentials; it returns the client and the tunnel's
// TCP connection, which a test may cut.
func (s *testServer) sshTunnel(app string) (*ssh.Client, net.Conn) {
	s.t.Helper()
	return s.sshTunnelTo(app, "")
}

// sshTunnelTo is sshTunnel to the instance whose id is instance (the
// ARRAffinity cookie `az webapp ssh --instance` sends); "" names none.
func (s *testServer) sshTunnelTo(app, instance string) (*ssh.Client, net.Conn) {
	t := s.t
	t.Helper()
	user, pass := s.credentials(app)
	addr := strings.TrimPrefix(s.info.URL, "http://")
	var raw net.Conn
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		raw = c
		return c, err
	}}}
	h := http.Header{}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
	if instance != "" {
		h.Set("Cookie", "ARRAffinity="+instance)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	scm := strings.Replace(s.host(app), ".localhost", ".scm.localhost", 1)
	ws, _, err := websocket.Dial(ctx, "ws://"+scm+"/AppServiceTunnel/Tunnel.ashx", &websocket.DialOptions{HTTPClient: hc, HTTPHeader: h})
	if err != nil {
		t.Fatalf("opening the tunnel: %v", err)
	}
	nc := websocket.NetConn(context.Background(), ws, websocket.MessageBinary)
	c, chans, reqs, err := ssh.NewClientConn(nc, "tunnel", &ssh.ClientConfig{
		User: "root", Auth: []ssh.AuthMethod{ssh.Password("Docker!")},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatalf("logging in: %v", err)
	}
	client := ssh.NewClient(c, chans, reqs)
	t.Cleanup(func() { client.Close() })
	return client, raw
}

// hostProcesses lists the pids on the machine whose command line holds marker.
func hostProcesses(marker string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if strings.Contains(strings.ReplaceAll(string(b), "\x00", " "), marker) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// withEnv reports whether a process whose command line holds cmd has
// variable (NAME=value) in its environment.
func withEnv(cmd, variable string) bool {
	for _, pid := range hostProcesses(cmd) {
		b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
		if strings.Contains("\x00"+string(b), "\x00"+variable+"\x00") {
			return true
		}
	}
	return false
}

// TestAttackSSHSessionSandbox: SSH sessions through the real sandbox. A
// client that vanishes mid-session (its connection cut, no SSH close)
// leaves nothing running, with a terminal or without, even processes that
// ignore SIGHUP and SIGTERM; and an app's settings cannot make the root
// processes that build a session's (or an instance's) sandbox load what
// the app chose, while the session and the instances still get them.
func TestAttackSSHSessionSandbox(t *testing.T) {
	needSandbox(t, "SSH sessions need")
	s := startServer(t)
	s.createApp("sshx")

	// What a session sees: the running instance's processes and network,
	// as App Service's SSH is into the app's container — and nothing of
	// the host's.
	{
		c, _ := s.sshTunnel("sshx")
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		// A service of the host's loopback (the front door's port is one
		// every instance reaches on purpose).
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		out, err := sess.CombinedOutput("ps -eo args=; (echo > /dev/tcp/127.0.0.1/" + port + ") 2>/dev/null && echo REACHED-HOST; " +
			"curl -s -o /dev/null -w 'app:%{http_code}\n' http://localhost:$PORT/robots933456.txt; id -u")
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		f := strings.Fields(string(out))
		if !strings.Contains(string(out), "gunicorn") || !slices.Contains(f, "app:404") && !slices.Contains(f, "app:200") {
			t.Errorf("the session does not see its instance's processes and network: %q", out)
		}
		if strings.Count(string(out), "\n") > 12 || slices.Contains(strings.Split(string(out), "\n"), "REACHED-HOST") || f[len(f)-1] == "0" || strings.Contains(string(out), ".test") {
			t.Errorf("the session sees more than its instance: %q", out)
		}
	}
	for i, pty := range []bool{false, true} {
		marker := strconv.Itoa(3600 + i)
		c, raw := s.sshTunnel("sshx")
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		if pty {
			if err := sess.RequestPty("xterm", 24, 80, ssh.TerminalModes{}); err != nil {
				t.Fatal(err)
			}
		}
		if err := sess.Start("trap '' HUP TERM; (trap '' HUP TERM; sleep " + marker + ") & sleep " + marker + "; wait"); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for len(hostProcesses("sleep "+marker)) < 2 {
			if time.Now().After(deadline) {
				t.Fatalf("pty %v: the session's processes never started", pty)
			}
			time.Sleep(100 * time.Millisecond)
		}
		raw.Close() // the client is gone, without a word
		deadline = time.Now().Add(15 * time.Second)
		for len(hostProcesses("sleep "+marker)) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("pty %v: the session's processes outlived its client: %v", pty, hostProcesses("sleep "+marker))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	trace := filepath.Join(t.TempDir(), "ld")
	s.mustCLI("", "webapp", "config", "appsettings", "set", "-g", "rg-sshx", "-n", "sshx", "--settings", "LD_DEBUG=files", "LD_DEBUG_OUTPUT="+trace)
	c, _ := s.sshTunnel("sshx")
	if sess, err := c.NewSession(); err != nil {
		t.Fatal(err)
	} else if out, err := sess.Output("echo $LD_DEBUG_OUTPUT"); err != nil || !strings.Contains(string(out), trace) {
		t.Fatalf("the session lacks the app's settings: %v %q", err, out)
	}
	// The app's instances are restarted with those settings, and serve.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if withEnv("gunicorn", "LD_DEBUG_OUTPUT="+trace) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no instance of the app runs with its LD_DEBUG settings")
		}
	}
	if code, body := s.get(s.host("sshx"), "/"); code != 200 {
		t.Errorf("the app with LD_DEBUG among its settings answers %d: %.300s", code, body)
	}
	if written, _ := filepath.Glob(trace + "*"); len(written) > 0 {
		t.Errorf("a process outside the sandbox honoured the app's LD_DEBUG_OUTPUT: %v", written)
	}
}
