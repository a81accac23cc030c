package scm

// SSH into an app, as App Service offers it (Microsoft's "Open an SSH
// session to a container in Azure App Service",
// https://learn.microsoft.com/azure/app-service/configure-linux-open-ssh-session;
// docs/appservice.md §5): `az webapp ssh` and `az webapp
// create-remote-connection` open a WebSocket to Kudu's
// /AppServiceTunnel/Tunnel.ashx with the app's deployment credentials and
// carry an SSH connection over it, logging in as root with the password
// "Docker!" — a fixed password, which App Service can afford because the
// only way to the container's SSH port is that authenticated tunnel. The
// same holds here: the tunnel (tunnel.go) authenticates as every Kudu
// request does, and the SSH server below runs on the tunnel's stream
// itself, in the server's process; no port is opened anywhere.
//
// A session runs its shell or command inside one of the app's running
// instances, as App Service's runs in the app's container
// (deploy.Coordinator.Shell with ConsoleIO.Inside): the instance the
// tunnel's ARRAffinity cookie names (`az webapp ssh --instance`), else any
// ready one; as the app's own user — never root, whatever name the client
// logs in with — with that instance's files, processes, network, limits
// and environment. With no instance running (a stopped app, one that
// fails to start) it runs beside them as a Kudu command does. With a
// terminal (pty-req) the command gets a pseudo-terminal as its
// controlling terminal, so that job control and Ctrl-C work; without, its
// input and outputs are the channel's.
//
// Only sessions are served: no port forwarding (which would reach the
// server's own network), no agent or X11 forwarding. The one subsystem is
// SFTP (sftp, and scp since OpenSSH 9), OpenSSH's own sftp-server run as
// a session's command, where the host has it (Debian's
// openssh-sftp-server): the app's files, as its user, in its sandbox.
// At most maxSSHSessions sessions run per app at once, holding at most
// maxSSHTerminals terminals; a tunnel whose client has sent nothing for
// tunnelIdle ends, and so does one whose credentials or app no longer hold
// (watchTunnel).

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/deploy"
)

// Shells runs the commands of SSH sessions. *deploy.Coordinator is one.
type Shells interface {
	Shell(ctx context.Context, site slipway.Site, argv []string, dir string, cio deploy.ConsoleIO) error
}

const (
	// sshUser and sshPassword are App Service's (the Microsoft page
	// above): clients such as az send them as they are.
	sshUser     = "root"
	sshPassword = "Docker!"
	// maxSSHSessions bounds the sessions one app runs at once (each is a
	// sandbox with a copy of the release); maxTunnels its tunnels.
	maxSSHSessions = 4
	maxTunnels     = 8
	// maxSSHTerminals bounds the terminals an app's sessions hold,
	// ended sessions' included while a process still holds theirs.
	maxSSHTerminals = 8
	// sshHandshake bounds the SSH handshake and login.
	sshHandshake = 30 * time.Second
	// sessionDir is where a session's shell starts: the app's home.
	sessionDir = "/home"
	// maxSessionEnv bounds the variables a client may set per session.
	maxSessionEnv = 32
)

// tunnelIdle ends a tunnel whose client has sent nothing for this long (a
// variable for tests).
var tunnelIdle = time.Hour

// newSSHConfig returns the SSH server's configuration with key as its host
// key; nil generates one (tests; the server keeps its own).
func newSSHConfig(key ssh.Signer) (*ssh.ServerConfig, error) {
	if key == nil {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		if key, err = ssh.NewSignerFromKey(priv); err != nil {
			return nil, err
		}
	}
	cfg := &ssh.ServerConfig{
		PasswordCallback: func(meta ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			// Both compared whole, so that neither is told apart by time.
			u := subtle.ConstantTimeCompare([]byte(meta.User()), []byte(sshUser))
			p := subtle.ConstantTimeCompare(pw, []byte(sshPassword))
			if u&p != 1 {
				return nil, errors.New("wrong user name or password")
			}
			return nil, nil
		},
		MaxAuthTries:  6,
		ServerVersion: "SSH-2.0-Slipway",
	}
	cfg.AddHostKey(key)
	return cfg, nil
}

// serveSSH serves one SSH connection on conn for site s until it ends; its
// sessions run inside the instance whose id is instance (the tunnel's
// ARRAffinity cookie), else inside any running instance.
func (h *Handler) serveSSH(ctx context.Context, conn net.Conn, s slipway.Site, instance string) {
	late := time.AfterFunc(sshHandshake, func() { conn.Close() })
	sc, chans, reqs, err := ssh.NewServerConn(conn, h.ssh)
	if !late.Stop() && err == nil {
		sc.Close() // too late: the connection is closed
		return
	}
	if err != nil {
		h.cfg.Logger.Debug("ssh handshake", "site", s.Name, "err", err)
		conn.Close()
		return
	}
	defer sc.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go ssh.DiscardRequests(reqs) // tcpip-forward and the like: refused
	var wg sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.Prohibited, "only sessions are available here: no port forwarding")
			continue
		}
		leave, err := h.enter("SSH sessions", s, maxSSHSessions)
		if err != nil {
			nc.Reject(ssh.ResourceShortage, err.Error())
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			leave()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer leave()
			h.session(ctx, s, ch, creqs, instance)
		}()
	}
	cancel() // the connection is gone: so are its sessions' commands
	wg.Wait()
}

// sshSession is one session channel's state.
type sshSession struct {
	h    *Handler
	site slipway.Site
	ch   ssh.Channel

	ptmx, tty *os.File // the terminal, after pty-req
	leavePTY  func()   // gives back the app's place for it (reap)
	term      string
	env       []string
	// inside runs the session in a running instance (the one instance
	// names, else any): SSH and `az webapp exec` as App Service runs them,
	// in the app's container. Kudu's container (exec's target=kudu) is
	// beside the instances.
	inside   bool
	instance string
}

// session serves one session channel: its requests until a shell or
// command starts, that command until it ends (or the channel does).
func (h *Handler) session(ctx context.Context, s slipway.Site, ch ssh.Channel, reqs <-chan *ssh.Request, instance string) {
	ss := &sshSession{h: h, site: s, ch: ch, inside: true, instance: instance}
	ctx, cancel := context.WithCancel(ctx)
	var ended chan struct{}
	defer func() {
		cancel() // the client closed the channel first: the command is killed
		if ended != nil {
			<-ended
		}
		ch.Close()
		if ss.ptmx != nil {
			ss.tty.Close()
			go ss.reap()
		}
	}()
	for req := range reqs {
		switch req.Type {
		case "pty-req":
			req.Reply(ended == nil && ss.ptmx == nil && ss.openPTY(req.Payload) == nil, nil)
		case "window-change":
			var p struct{ Cols, Rows, Width, Height uint32 }
			if ss.ptmx != nil && ssh.Unmarshal(req.Payload, &p) == nil {
				setWinsize(ss.ptmx, p.Cols, p.Rows)
			}
			req.Reply(ss.ptmx != nil, nil)
		case "env":
			var p struct{ Name, Value string }
			ok := ended == nil && ssh.Unmarshal(req.Payload, &p) == nil && len(ss.env) < maxSessionEnv && sessionEnvAllowed(p.Name, p.Value)
			if ok {
				ss.env = append(ss.env, p.Name+"="+p.Value)
			}
			req.Reply(ok, nil)
		case "shell", "exec", "subsystem":
			argv := []string{"bash", "-l"}
			switch req.Type {
			case "exec":
				var p struct{ Command string }
				if ssh.Unmarshal(req.Payload, &p) != nil || strings.IndexByte(p.Command, 0) >= 0 {
					req.Reply(false, nil)
					continue
				}
				argv = []string{"bash", "-c", p.Command}
			case "subsystem":
				// SFTP (sftp, and scp since OpenSSH 9): OpenSSH's own server
				// of it, run as any session's command is, without a terminal.
				var p struct{ Name string }
				if ssh.Unmarshal(req.Payload, &p) != nil || p.Name != "sftp" || ss.ptmx != nil || !sftpAvailable() {
					req.Reply(false, nil)
					continue
				}
				argv = []string{sftpServer}
			}
			if ended != nil {
				req.Reply(false, nil)
				continue
			}
			req.Reply(true, nil)
			ended = make(chan struct{})
			go func() {
				defer close(ended)
				status := ss.run(ctx, argv)
				ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
				ch.CloseWrite()
				ch.Close() // ends reqs
			}()
		default: // signal, x11-req, auth-agent-req@openssh.com, ...
			req.Reply(false, nil)
		}
	}
}

// sftpServer is OpenSSH's SFTP server (Debian's openssh-sftp-server),
// under /usr, which every sandbox sees.
var sftpServer = "/usr/lib/openssh/sftp-server"

// sftpAvailable reports whether the SFTP server is installed.
func sftpAvailable() bool {
	fi, err := os.Stat(sftpServer)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// openPTY gives the session a terminal as pty-req asks.
func (ss *sshSession) openPTY(payload []byte) error {
	var p struct {
		Term                      string
		Cols, Rows, Width, Height uint32
		Modes                     string
	}
	if err := ssh.Unmarshal(payload, &p); err != nil {
		return err
	}
	if !sessionEnvAllowed("TERM", p.Term) {
		return errors.New("bad terminal name")
	}
	leave, err := ss.h.enter("SSH terminals", ss.site, maxSSHTerminals)
	if err != nil {
		return err
	}
	ptmx, tty, err := pty.Open()
	if err == nil {
		if ptmx, err = pollable(ptmx); err != nil {
			tty.Close()
		}
	}
	if err != nil {
		leave()
		ss.h.cfg.Logger.Warn("opening a terminal for an SSH session", "site", ss.site.Name, "err", err)
		return err
	}
	ss.ptmx, ss.tty, ss.leavePTY, ss.term = ptmx, tty, leave, p.Term
	setWinsize(ptmx, p.Cols, p.Rows)
	return nil
}

// reap closes the terminal of an ended session, and gives back the app's
// place for it, once no process holds it any more. A terminal stays
// allocated for as long as any process holds it open — one the session's
// command handed it to, outside its sandbox — and terminals are the
// machine's: the server's come from the host's own share, which its logins
// need. So the app keeps it counted among its terminals (maxSSHTerminals)
// until the kernel tells the master that the last holder closed it. The
// master is not read meanwhile: a holder that writes fills it and waits.
func (ss *sshSession) reap() {
	defer ss.leavePTY()
	defer ss.ptmx.Close()
	rc, err := ss.ptmx.SyscallConn()
	if err != nil || ss.ptmx.SetReadDeadline(time.Time{}) != nil {
		return
	}
	rc.Read(func(fd uintptr) bool {
		p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		_, err := unix.Poll(p, 0)
		for err == unix.EINTR {
			_, err = unix.Poll(p, 0)
		}
		return err != nil || p[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0
	})
}

// pollable returns a copy of the terminal's master f that the runtime's
// poller reads, and closes f. pty.Open leaves the master in blocking mode
// (its ioctls go through Fd): a read of it holds an OS thread that Close
// does not free, for as long as any process holds the terminal open and
// quiet — one the session's command handed it to, through a Unix socket in
// /home, that outlives the session's sandbox. On the poller, Close ends the
// read.
func pollable(f *os.File) (*os.File, error) {
	defer f.Close()
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// setWinsize sets the terminal's size; sizes a terminal cannot have are
// left alone. (Not pty.Setsize, whose Fd would put the master back in
// blocking mode.)
func setWinsize(ptmx *os.File, cols, rows uint32) {
	if cols == 0 || rows == 0 || cols > 10000 || rows > 10000 {
		return
	}
	if rc, err := ptmx.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Col: uint16(cols), Row: uint16(rows)})
		})
	}
}

// sessionEnvAllowed reports whether a client may set name (as OpenSSH's
// sshd accepts by default on Debian: the locale, and the terminal's
// name): nothing that changes what runs (PATH, LD_PRELOAD, BASH_ENV...).
func sessionEnvAllowed(name, value string) bool {
	if len(value) > 256 || strings.IndexByte(value, 0) >= 0 {
		return false
	}
	return name == "TERM" || name == "LANG" || name == "LANGUAGE" || (strings.HasPrefix(name, "LC_") && len(name) > 3 && !strings.ContainsAny(name, "= \x00"))
}

// run runs argv as the session's command and returns its exit status,
// once the client has been sent all its output.
func (ss *sshSession) run(ctx context.Context, argv []string) uint32 {
	cio := deploy.ConsoleIO{Env: append(append([]string{}, ss.env...), "SHELL=/bin/bash"), Inside: ss.inside, Instance: ss.instance}
	var (
		copied  sync.WaitGroup
		outputs []*drainReader
		ends    []*os.File // the server's copies of the command's output ends
	)
	copyOut := func(w io.Writer, r *os.File) {
		d := &drainReader{f: r}
		outputs = append(outputs, d)
		copied.Add(1)
		go func() { defer copied.Done(); io.Copy(w, d) }()
	}
	if ss.ptmx != nil {
		cio.Env = append(cio.Env, "TERM="+ss.term)
		// A session of its own whose controlling terminal is the pty, so
		// that the terminal's Ctrl-C and job control reach the command.
		argv = append([]string{"setsid", "--ctty", "--wait"}, argv...)
		cio.Stdin, cio.Stdout, cio.Stderr = ss.tty, ss.tty, ss.tty
		ends = []*os.File{ss.tty}
		copyOut(ss.ch, ss.ptmx)
		go io.Copy(ss.ptmx, ss.ch)
	} else {
		// Pipes of the session's own. Given the channel, os/exec would wait
		// for the client to close its input before telling the command's
		// end, and would give up the command's last output (5 s after its
		// end, the sandbox's WaitDelay) to a client that reads slowly.
		var p [3][2]*os.File
		for i := range p {
			r, w, err := os.Pipe()
			if err != nil {
				for _, q := range p[:i] {
					q[0].Close()
					q[1].Close()
				}
				fmt.Fprintf(ss.ch.Stderr(), "The session could not start: %v\r\n", err)
				return 255
			}
			p[i] = [2]*os.File{r, w}
			defer r.Close()
		}
		in := p[0][1]
		go func() { io.Copy(in, ss.ch); in.Close() }() // ends with the channel
		cio.Stdin, cio.Stdout, cio.Stderr = p[0][0], p[1][1], p[2][1]
		ends = []*os.File{p[1][1], p[2][1]}
		copyOut(ss.ch, p[1][0])
		copyOut(ss.ch.Stderr(), p[2][0])
	}
	err := ss.h.cfg.Shells.Shell(ctx, ss.site, argv, sessionDir, cio)
	// The sandbox is gone with every process in it: the last output is
	// sent, however slowly the client takes it, until the reads end on the
	// closed pipes or terminal — or, where a process outside the sandbox
	// holds them open, find nothing more for outputQuiet.
	for _, f := range ends {
		f.Close()
	}
	for _, d := range outputs {
		d.drain()
	}
	copied.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil || errors.Is(err, exec.ErrWaitDelay):
		return 0
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + uint32(ws.Signal())
		}
		return uint32(exit.ExitCode())
	default:
		fmt.Fprintf(ss.ch.Stderr(), "The session could not start: %s\r\n", slipway.ErrorMessage(err))
		return 255
	}
}

// outputQuiet is how long the output of a session whose command has ended
// is read for more when a process outside the sandbox holds it open (a
// variable for tests).
var outputQuiet = 2 * time.Second

// drainReader reads a command's output; once drain is called, each read
// waits at most outputQuiet.
type drainReader struct {
	f        *os.File // on the poller: a pipe, or the terminal's master (pollable)
	draining atomic.Bool
}

func (d *drainReader) Read(p []byte) (int, error) {
	if d.draining.Load() {
		d.f.SetReadDeadline(time.Now().Add(outputQuiet))
	}
	return d.f.Read(p)
}

// drain bounds the read under way, and the next ones.
func (d *drainReader) drain() {
	d.draining.Store(true)
	d.f.SetReadDeadline(time.Now().Add(outputQuiet))
}
