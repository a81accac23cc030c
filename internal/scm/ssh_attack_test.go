package scm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/slipway-dev/slipway"
)

// sessionLeftovers counts what the server still holds for SSH sessions:
// goroutines of a session's (and how many of them sit in a system call,
// holding an OS thread), and terminal masters open.
func sessionLeftovers() (goroutines, inSyscall, ptmx int) {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "(*sshSession)") {
			goroutines++
			if head, _, _ := strings.Cut(g, "\n"); strings.Contains(head, "[syscall") {
				inSyscall++
			}
		}
	}
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		if l, _ := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); l == "/dev/ptmx" {
			ptmx++
		}
	}
	return
}

// holdTerminal runs, in a new session with a terminal, a command that
// hands the terminal to a process that outlives the session (in the
// sandbox, one of the app's instances, through a Unix socket in /home;
// here a process of a session of its own) and never writes; it returns
// whether the terminal was given, and kills the holder at the test's end
// or when release is called.
func holdTerminal(t *testing.T, c *ssh.Client) (ok bool, release func()) {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RequestPty("xterm", 24, 80, ssh.TerminalModes{}); err != nil {
		s.Close()
		return false, nil
	}
	var out syncBuffer
	s.Stdout = &out
	done := make(chan error, 1)
	go func() { done <- s.Run("setsid -f sh -c 'echo holder=$$; exec sleep 120'; sleep 0.2") }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%v (%q)", err, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the session did not end with its command, its terminal held elsewhere (%q)", out.String())
	}
	_, pid, _ := strings.Cut(strings.TrimSpace(out.String()), "holder=")
	p, err := strconv.Atoi(strings.TrimSpace(pid))
	if err != nil {
		t.Fatalf("no holder's pid in %q", out.String())
	}
	release = func() { syscall.Kill(p, syscall.SIGKILL) }
	t.Cleanup(release)
	return true, release
}

// TestAttackSSHTerminalHeldElsewhere: a session's command hands its
// terminal to a process that outlives the session and stays quiet. The
// session ends; the server must not spend an OS thread per such terminal
// (they would pile up to Go's limit, which ends the server), and once the
// holder lets go, nothing of the session is left.
func TestAttackSSHTerminalHeldElsewhere(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("setsid (util-linux) not installed")
	}
	defer func(d time.Duration) { outputQuiet = d }(outputQuiet)
	outputQuiet = 200 * time.Millisecond
	g0, _, p0 := sessionLeftovers()
	srv := newSSHKudu(t, runningSite(), &localShells{})
	c := login(t, srv)
	const n = 3
	var releases []func()
	for i := 0; i < n; i++ {
		ok, release := holdTerminal(t, c)
		if !ok {
			t.Fatalf("session %d had no terminal", i)
		}
		releases = append(releases, release)
	}
	time.Sleep(500 * time.Millisecond)
	if _, sys, _ := sessionLeftovers(); sys > 0 {
		t.Errorf("%d goroutines of ended sessions hold an OS thread in a system call", sys)
	}
	for _, r := range releases {
		r()
	}
	var g, p int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if g, _, p = sessionLeftovers(); g <= g0 && p <= p0 {
			return
		}
	}
	t.Fatalf("after %d sessions ended and their terminals were let go, the server still holds %d goroutines and %d terminals", n, g-g0, p-p0)
}

// TestAttackSSHTerminalsHoarded: each terminal a session's command hands
// away stays allocated for as long as the holder keeps it, and terminals
// are the machine's (kernel.pty.max, 4096, with the last 1024 kept for the
// host's own logins, which the server's terminals are taken from). One app
// may hold at most maxSSHTerminals, ended sessions' included: past that its
// sessions get no terminal until a holder lets one go.
func TestAttackSSHTerminalsHoarded(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("setsid (util-linux) not installed")
	}
	defer func(d time.Duration) { outputQuiet = d }(outputQuiet)
	outputQuiet = 200 * time.Millisecond
	srv := newSSHKudu(t, runningSite(), &localShells{})
	c := login(t, srv)
	var first func()
	for i := 0; i < maxSSHTerminals; i++ {
		ok, release := holdTerminal(t, c)
		if !ok {
			t.Fatalf("terminal %d refused", i)
		}
		if i == 0 {
			first = release
		}
	}
	if ok, _ := holdTerminal(t, c); ok {
		t.Fatalf("terminal %d given while the app's others are held", maxSSHTerminals+1)
	}
	first()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		err = s.RequestPty("xterm", 24, 80, ssh.TerminalModes{})
		s.Close()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a terminal let go was not given back to the app")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stallingWriter takes its first write only after stall: a client that
// has taken the whole window the server may send (2 MiB) and reads on
// slowly, over a slow link or paused.
type stallingWriter struct {
	stall time.Duration
	once  sync.Once
	n     atomic.Int64
	mu    sync.Mutex
	last  []byte // the last 3 bytes written, whichever writes they came in
}

func (w *stallingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { time.Sleep(w.stall) })
	w.n.Add(int64(len(p)))
	w.mu.Lock()
	w.last = append(w.last, p[max(0, len(p)-3):]...)
	w.last = w.last[max(0, len(w.last)-3):]
	w.mu.Unlock()
	return len(p), nil
}

func (w *stallingWriter) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.last)
}

// TestSSHSlowClientGetsAllOutput: a command whose last output is still
// on its way when it ends (its client reads slower than it wrote) — the
// output of `ssh host 'python manage.py dumpdata' > backup.json` over a
// slow link — reaches the client whole, before its exit status, however
// long the client takes: with a terminal and without (where the sandbox's
// command gives up its output pipes 5 s after it ends).
func TestSSHSlowClientGetsAllOutput(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("setsid (util-linux) not installed")
	}
	// The window, and a little more that waits in the pipe or terminal.
	const size = 2<<20 + 8<<10
	for _, tc := range []struct {
		name  string
		pty   bool
		stall time.Duration
	}{{"terminal", true, 3 * time.Second}, {"no terminal", false, 8 * time.Second}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newSSHKudu(t, runningSite(), &localShells{waitDelay: 5 * time.Second})
			c := login(t, srv)
			s, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			if tc.pty {
				if err := s.RequestPty("xterm", 24, 80, ssh.TerminalModes{ssh.ECHO: 0, ssh.OPOST: 0}); err != nil {
					t.Fatal(err)
				}
			}
			w := &stallingWriter{stall: tc.stall}
			s.Stdout = w
			// The last words come once the rest waits for the client.
			err = s.Run(fmt.Sprintf("head -c %d /dev/zero; sleep 0.5; printf END; exit 7", size-3))
			var exit *ssh.ExitError
			if !errors.As(err, &exit) || exit.ExitStatus() != 7 {
				t.Errorf("exit: %v, want status 7", err)
			}
			if got := w.n.Load(); got != size || w.tail() != "END" {
				t.Fatalf("the client got %d bytes of %d (ending %q)", got, size, w.tail())
			}
		})
	}
}

// changingStore is fakeStore whose app can be stopped, deleted or created
// anew, and whose password can be reset or Basic authentication switched
// off, while tunnels are open.
type changingStore struct {
	fakeStore
	mu                      sync.Mutex
	stopped, gone, recreate bool
	password                string
	basicOff                bool
}

func (c *changingStore) BasicAuthAllowed(context.Context, string, string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.basicOff, nil
}

func (c *changingStore) FindSite(ctx context.Context, name string) (slipway.Site, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := c.fakeStore.FindSite(ctx, name)
	switch {
	case err != nil:
	case c.gone:
		return slipway.Site{}, slipway.Errorf(slipway.ENOTFOUND, "Site '%s' was not found.", name)
	case c.stopped:
		s.Enabled = false
	case c.recreate:
		s.Created = s.Created.Add(time.Hour)
	}
	return s, err
}

func (c *changingStore) CheckPublishingCredentials(ctx context.Context, site, user, password string) (slipway.Site, error) {
	c.mu.Lock()
	want := c.password
	c.mu.Unlock()
	if user != "$app" || password != want {
		return slipway.Site{}, slipway.Errorf(slipway.EUNAUTHORIZED, "bad credentials")
	}
	return c.FindSite(ctx, site)
}

// TestAttackSSHTunnelOutlivesItsGrounds: a tunnel is opened on the
// strength of credentials, for an app that runs. When the password is
// reset (it leaked), the app is stopped (its owner's, or the operator's,
// way to halt it, which on App Service ends every SSH session with the
// container) or deleted, or its name is taken by a new app, the tunnel and
// the sessions on it end — so do they when the app's scm Basic
// authentication policy is switched off under a tunnel opened with its
// publishing credentials — rather than go on for as long as their client
// sends a byte an hour, running code as the app.
func TestAttackSSHTunnelOutlivesItsGrounds(t *testing.T) {
	defer func(d time.Duration) { tunnelRecheck = d }(tunnelRecheck)
	tunnelRecheck = 100 * time.Millisecond
	for _, tc := range []struct {
		name   string
		change func(*changingStore)
	}{
		{"password reset", func(c *changingStore) { c.password = "new" }},
		{"app stopped", func(c *changingStore) { c.stopped = true }},
		{"app deleted", func(c *changingStore) { c.gone = true }},
		{"app created anew", func(c *changingStore) { c.recreate = true }},
		{"Basic authentication switched off", func(c *changingStore) { c.basicOff = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &changingStore{fakeStore: fakeStore{site: runningSite()}, password: "pass"}
			srv := httptest.NewServer(New(Config{
				Store: store, Deployer: fakeDeployer{},
				SiteOf: func(*http.Request) string { return "app" }, Shells: &localShells{},
			}))
			t.Cleanup(srv.Close)
			c := login(t, srv)
			s, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Start("sleep 30"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond) // rechecked, and still valid
			done := make(chan error, 1)
			go func() { done <- s.Wait() }()
			select {
			case err := <-done:
				t.Fatalf("the session ended while all held: %v", err)
			default:
			}
			store.mu.Lock()
			tc.change(store)
			store.mu.Unlock()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("the session goes on")
			}
			// The tunnel ends too. Waited for before a new session is
			// asked: x/crypto/ssh's NewSession, called as the client's
			// connection ends, can wait for ever for an answer to a
			// channel it added after the connection dropped its channels.
			ended := make(chan error, 1)
			go func() { ended <- c.Wait() }()
			select {
			case <-ended:
			case <-time.After(5 * time.Second):
				t.Fatal("the tunnel goes on")
			}
			if _, err := c.NewSession(); err == nil {
				t.Fatal("the tunnel still opens sessions")
			}
		})
	}
}
