package cli

// `webapp ssh`: az's SSH session into an app (Microsoft's "Open an SSH
// session to a container in Azure App Service",
// https://learn.microsoft.com/azure/app-service/configure-linux-open-ssh-session),
// without az. az opens Kudu's tunnel (/AppServiceTunnel/Tunnel.ashx, a
// WebSocket that takes the app's publishing credentials), serves it on a
// local port and runs an SSH client against that port as root with App
// Service's fixed password; this carries the SSH connection over the
// WebSocket in process instead, so no local port is opened. The session
// runs inside one of the app's running instances (the one --instance
// names, sent as az sends it, in an ARRAffinity cookie). With a terminal
// it is interactive (raw mode, the window's size followed); without, the
// shell reads its commands from standard input, and the command exits
// with the remote shell's status.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/crypto/ssh"
	"golang.org/x/term"
)

func sshCommands() []command {
	return []command{
		{path: "webapp ssh", short: "Open an SSH session in one of the app's running instances (as the app's user, in its folder).", run: webappSSH, flags: withUnsupported([]flagDef{
			fGroup, fApp,
			{Names: []string{"--instance", "-i"}, Help: "The instance to open the session in (an id from `webapp list-instances`); any running one if not given."},
			{Names: []string{"--timeout", "-t"}, Help: "End the session after this many seconds. Default: none."},
		}, uSlot, uIDs, uPolicy,
			unsupported("the session is carried in process over the tunnel; no local port is opened", "--port -p"))},
	}
}

// sshUser and sshPassword are App Service's, which az sends as they are:
// the tunnel they travel in is what authenticates (the app's publishing
// credentials over HTTPS).
const (
	sshUser     = "root"
	sshPassword = "Docker!"
)

func webappSSH(ctx context.Context, inv *invocation) error {
	instance := inv.flags.str("instance")
	for _, b := range []byte(instance) {
		if !(b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z') {
			return usageErrorf(inv.cmdPath(), "--instance %q is not an instance id; list them with `slipway webapp list-instances`.", instance)
		}
	}
	if t := inv.flags.str("timeout"); t != "" {
		var secs int
		if _, err := fmt.Sscan(t, &secs); err != nil || secs <= 0 {
			return usageErrorf(inv.cmdPath(), "--timeout %q is not a number of seconds.", t)
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(secs)*time.Second)
		defer cancel()
	}
	k, err := inv.appKudu(ctx)
	if err != nil {
		return err
	}
	client, err := k.sshClient(ctx, instance)
	if err != nil {
		return err
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		return exitErrorf("The app allows 4 sessions at once; end one and try again.", "The app refused a session: %v", err)
	}
	defer sess.Close()
	go func() { <-ctx.Done(); client.Close() }() // --timeout, or Ctrl-C without a terminal

	in := inv.r.stdin
	sess.Stdout, sess.Stderr = inv.stdout, inv.stderr
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fd := int(f.Fd())
		w, h, err := term.GetSize(fd)
		if err != nil || w <= 0 || h <= 0 {
			w, h = 80, 24
		}
		tt := os.Getenv("TERM")
		if tt == "" {
			tt = "xterm-256color"
		}
		if err := sess.RequestPty(tt, h, w, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
			return fmt.Errorf("asking for a terminal: %w", err)
		}
		old, err := term.MakeRaw(fd)
		if err != nil {
			return fmt.Errorf("putting the terminal in raw mode: %w", err)
		}
		defer term.Restore(fd, old)
		resized := make(chan os.Signal, 1)
		signal.Notify(resized, syscall.SIGWINCH)
		defer signal.Stop(resized)
		go func() {
			for range resized {
				if w, h, err := term.GetSize(fd); err == nil {
					sess.WindowChange(h, w)
				}
			}
		}()
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		return err
	}
	go func() { io.Copy(stdin, in); stdin.Close() }()
	if err := sess.Shell(); err != nil {
		return fmt.Errorf("starting the shell: %w", err)
	}
	err = sess.Wait()
	var exit *ssh.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exit):
		return &ExitError{Code: exit.ExitStatus()} // the shell's own status; it said why
	case ctx.Err() != nil:
		return exitErrorf("", "The session ended: %v.", context.Cause(ctx))
	default:
		return exitErrorf("", "The session ended: %v.", err)
	}
}

// sshClient opens the app's SSH tunnel (its instance's, when instance is
// not "") and logs in.
func (k *kudu) sshClient(ctx context.Context, instance string) (*ssh.Client, error) {
	u := k.base + "/AppServiceTunnel/Tunnel.ashx"
	switch {
	case strings.HasPrefix(u, "https://"):
		u = "wss://" + strings.TrimPrefix(u, "https://")
	case strings.HasPrefix(u, "http://"):
		u = "ws://" + strings.TrimPrefix(u, "http://")
	}
	h := http.Header{}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(k.creds.User+":"+k.creds.Password)))
	h.Set("x-ms-client-request-id", k.c.requestID)
	if instance != "" {
		h.Set("Cookie", "ARRAffinity="+instance)
	}
	dctx, cancel := context.WithTimeout(ctx, armTimeout)
	defer cancel()
	ws, resp, err := websocket.Dial(dctx, u, &websocket.DialOptions{HTTPClient: k.c.client, HTTPHeader: h})
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			return nil, exitErrorf("Check that the app is running (`slipway webapp start`) and that the server has a sandbox for sessions.",
				"Opening the SSH tunnel of %s failed with status code '%d': %s", k.base, resp.StatusCode, strings.TrimSpace(string(body)))
		}
		return nil, k.c.reachError(fmt.Errorf("opening the SSH tunnel %s: %w", u, err))
	}
	nc := websocket.NetConn(context.WithoutCancel(ctx), ws, websocket.MessageBinary)
	c, chans, reqs, err := ssh.NewClientConn(nc, "tunnel", &ssh.ClientConfig{
		User: sshUser, Auth: []ssh.AuthMethod{ssh.Password(sshPassword)},
		// The server was authenticated by the tunnel's TLS (the platform
		// root) and serves SSH on that stream only: its host key, made by
		// the server, names nothing more.
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         armTimeout,
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("logging in over the SSH tunnel: %w", err)
	}
	return ssh.NewClient(c, chans, reqs), nil
}
