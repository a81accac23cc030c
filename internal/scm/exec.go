package scm

// `az webapp exec` (az 2.91, preview; docs/appservice.md §5): Kudu's
//
//   - /exec/shell, a WebSocket carrying an interactive shell with a
//     terminal: the client's binary messages are the terminal's input, a
//     text message {"width":W,"height":H} resizes it, and the server's
//     messages are its output; ?shell= names the shell (an absolute path;
//     /bin/bash by default); it runs inside a running instance (the app's
//     container, as an SSH session does), or with ?target=kudu in Kudu's
//     (a sandbox beside the instances, as /api/command runs);
//   - POST /exec/execute {"Command","Args","WorkingDirectory"}, a command
//     started and not waited for: 202 once it has started, with a
//     message; its output is not kept (az says so, and shows how to
//     redirect it to a file).
//
// Both run as SSH sessions do (ssh.go): as the app's user inside the
// running instance the request's ARRAffinity cookie names (`--instance`),
// else any, never as root, within the app's limits on sessions and
// terminals; a started command ends with its instance. A shell ends when its client leaves or is
// idle for tunnelIdle; a started command when it ends, after maxDetached,
// or as a tunnel does when the credentials that started it or the app
// (stopped, deleted) no longer hold (watchTunnel). At most maxDetachedRuns
// run per app at once.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/crypto/ssh"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/deploy"
)

const (
	// maxDetachedRuns bounds the started commands one app runs at once.
	maxDetachedRuns = 4
	// maxExecArgs and maxExecBytes bound an execute request.
	maxExecArgs  = 256
	maxExecBytes = 64 << 10
	// execInputMessage bounds one message of a shell's client.
	execInputMessage = 64 << 10
)

// maxDetached is how long a started command may run (a variable for
// tests): App Service lets it run as long as its container; here it is one
// more sandbox of the app's, which no restart of the app ends.
var maxDetached = 24 * time.Hour

// execShellPath checks a shell or command path a client names.
func execShellPath(p, what string) error {
	if p == "" || len(p) > 1024 || strings.IndexByte(p, 0) >= 0 {
		return slipway.Errorf(slipway.EINVALID, "The %s is empty, too long or holds a NUL byte.", what)
	}
	return nil
}

// execShell answers GET /exec/shell: an interactive shell over a WebSocket.
func (h *Handler) execShell(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	if h.cfg.Shells == nil {
		return slipway.Errorf(slipway.EUNAVAILABLE, "Shell sessions are not available on this server: it has no sandbox to run them in.")
	}
	if !s.Enabled {
		return slipway.Errorf(slipway.ECONFLICT, "The app '%s' is stopped; start it (az webapp start) to open a shell.", s.Name)
	}
	q := r.URL.Query()
	target := strings.ToLower(q.Get("target"))
	if target != "" && target != "app" && target != "kudu" {
		return slipway.Errorf(slipway.EINVALID, "Invalid target %q: use app or kudu.", q.Get("target"))
	}
	shell := q.Get("shell")
	if shell == "" {
		shell = "/bin/bash"
	}
	if err := execShellPath(shell, "shell"); err != nil {
		return err
	}
	if !path.IsAbs(shell) {
		return slipway.Errorf(slipway.EINVALID, "The shell must be an absolute path (e.g. /bin/sh), not %q.", shell)
	}
	leave, err := h.enter("SSH sessions", s, maxSSHSessions)
	if err != nil {
		return err
	}
	defer leave()
	c := acceptLong(w, r)
	if c == nil {
		return nil // Accept has answered
	}
	c.SetReadLimit(execInputMessage)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go h.watchTunnel(ctx, cancel, r, s)

	// A client that leaves, or sends nothing for tunnelIdle, ends the
	// shell (cancel), as a closed SSH channel does.
	ch := &wsChannel{ctx: ctx, c: c, idle: tunnelIdle, gone: cancel}
	// The app's container is a running instance; Kudu's is beside them.
	ss := &sshSession{h: h, site: s, ch: ch, inside: target != "kudu", instance: affinity(r)}
	term := ssh.Marshal(struct {
		Term                      string
		Cols, Rows, Width, Height uint32
		Modes                     string
	}{"xterm-256color", 80, 24, 0, 0, ""})
	if err := ss.openPTY(term); err != nil {
		c.Close(websocket.StatusTryAgainLater, "no terminal is free for this app: "+err.Error())
		return nil
	}
	ch.resize = func(cols, rows uint32) { setWinsize(ss.ptmx, cols, rows) }
	defer func() {
		ss.tty.Close()
		go ss.reap()
	}()
	argv := []string{shell}
	switch path.Base(shell) {
	case "bash", "sh", "dash", "zsh", "ash", "ksh":
		argv = append(argv, "-l")
	}
	ss.run(ctx, argv)
	c.Close(websocket.StatusNormalClosure, "the shell has ended")
	return nil
}

// wsChannel carries a shell session over a WebSocket as ssh.Channel
// carries one over SSH (sshSession.run): reads are the client's input —
// binary messages, and text ones that are not a resize — writes its
// output, as binary messages.
type wsChannel struct {
	ctx    context.Context
	c      *websocket.Conn
	idle   time.Duration
	resize func(cols, rows uint32)
	gone   func() // called once the client has left or been idle too long

	rmu     sync.Mutex
	pending []byte
	wmu     sync.Mutex
}

func (ch *wsChannel) Read(p []byte) (int, error) {
	ch.rmu.Lock()
	defer ch.rmu.Unlock()
	for len(ch.pending) == 0 {
		ctx, cancel := context.WithTimeout(ch.ctx, ch.idle)
		typ, data, err := ch.c.Read(ctx)
		cancel()
		if err != nil {
			ch.gone()
			return 0, io.EOF
		}
		if typ == websocket.MessageText {
			var size struct {
				Width  *uint32 `json:"width"`
				Height *uint32 `json:"height"`
			}
			if json.Unmarshal(data, &size) == nil && size.Width != nil && size.Height != nil {
				if ch.resize != nil {
					ch.resize(*size.Width, *size.Height)
				}
				continue
			}
		}
		ch.pending = data
	}
	n := copy(p, ch.pending)
	ch.pending = ch.pending[n:]
	return n, nil
}

func (ch *wsChannel) Write(p []byte) (int, error) {
	ch.wmu.Lock()
	defer ch.wmu.Unlock()
	if err := ch.c.Write(ch.ctx, websocket.MessageBinary, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (ch *wsChannel) Close() error      { return nil } // execShell closes the WebSocket
func (ch *wsChannel) CloseWrite() error { return nil }
func (ch *wsChannel) SendRequest(string, bool, []byte) (bool, error) {
	return false, nil
}
func (ch *wsChannel) Stderr() io.ReadWriter { return ch }

// execRequest is POST /exec/execute's body.
type execRequest struct {
	Command          string   `json:"Command"`
	Args             []string `json:"Args"`
	WorkingDirectory string   `json:"WorkingDirectory"`
}

// execExecute answers POST /exec/execute: it starts the command in the
// app's sandbox and answers 202 without waiting for it.
func (h *Handler) execExecute(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	if h.cfg.Shells == nil {
		return slipway.Errorf(slipway.EUNAVAILABLE, "Commands are not available on this server: it has no sandbox to run them in.")
	}
	if !s.Enabled {
		return slipway.Errorf(slipway.ECONFLICT, "The app '%s' is stopped; start it (az webapp start) to run a command in it.", s.Name)
	}
	var req execRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxExecBytes))
	if err := dec.Decode(&req); err != nil {
		return slipway.Errorf(slipway.EINVALID, "The body must be JSON {\"Command\": \"...\", \"Args\": [...], \"WorkingDirectory\": \"/home/...\"} of at most %d KB: %v", maxExecBytes>>10, err)
	}
	if err := execShellPath(req.Command, "Command"); err != nil {
		return err
	}
	if len(req.Args) > maxExecArgs {
		return slipway.Errorf(slipway.EINVALID, "At most %d Args are taken.", maxExecArgs)
	}
	for _, a := range req.Args {
		if strings.IndexByte(a, 0) >= 0 {
			return slipway.Errorf(slipway.EINVALID, "An argument holds a NUL byte.")
		}
	}
	dir := sessionDir
	if req.WorkingDirectory != "" {
		if err := execShellPath(req.WorkingDirectory, "WorkingDirectory"); err != nil {
			return err
		}
		if !path.IsAbs(req.WorkingDirectory) {
			return slipway.Errorf(slipway.EINVALID, "WorkingDirectory must be an absolute path, not %q.", req.WorkingDirectory)
		}
		dir = path.Clean(req.WorkingDirectory)
	}
	instance := affinity(r) // `az webapp exec --instance` runs it in each it names
	leave, err := h.enter("started commands", s, maxDetachedRuns)
	if err != nil {
		return err
	}
	// A shell checks that the command is there, says it is starting and
	// runs it in its place; the answer waits for one or the other.
	argv := append([]string{"/bin/sh", "-c", execPreamble, "slipway-exec", req.Command}, req.Args...)
	// It outlives the request: bounded by maxDetached and watched as a
	// tunnel is (the request's headers stay for the watch).
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), maxDetached)
	errs := newStartWatch()
	ended := make(chan error, 1)
	go func() {
		defer leave()
		defer cancel()
		go h.watchTunnel(ctx, cancel, r, s)
		ended <- h.cfg.Shells.Shell(ctx, s, argv, dir, deploy.ConsoleIO{Stdout: io.Discard, Stderr: errs, Inside: true, Instance: instance})
	}()
	select {
	case <-errs.started:
	case err := <-ended:
		select {
		case <-errs.started: // it ran, and has ended already
		default:
			why := strings.TrimSpace(strings.ReplaceAll(errs.text(), execMarker, ""))
			if why == "" {
				why = slipway.ErrorMessage(err)
			}
			if why == "" {
				why = "it ended before it started"
			}
			return slipway.Errorf(slipway.EINVALID, "The command could not be started: %s", why)
		}
	case <-time.After(execStartWatch):
		// Still setting up (a large release to copy): it is on its way.
	case <-r.Context().Done():
		return r.Context().Err()
	}
	return writeJSON(w, http.StatusAccepted, map[string]string{
		"Message": "The command was started in the app's sandbox, as the app's user; its output is not kept (redirect it to a file under /home to read it).",
	})
}

// execPreamble runs as `sh -c execPreamble slipway-exec COMMAND ARGS...`:
// it refuses a command it cannot find, then says it starts (execMarker, on
// standard error, before the command can write there) and runs it.
const execPreamble = `command -v -- "$1" >/dev/null 2>&1 || { printf '%s: command not found\n' "$1" >&2; exit 127; }; printf 'slipway-exec: started\n' >&2; exec "$@"`

const execMarker = "slipway-exec: started\n"

// execStartWatch bounds how long an execute request waits for its command
// to start (a variable for tests).
var execStartWatch = 30 * time.Second

// startWatch is a started command's standard error as execExecute reads
// it: the first few KB (cappedOutput), and started closed once execMarker
// is there; after that, writes are not looked at.
type startWatch struct {
	cappedOutput
	started chan struct{}
	once    sync.Once
}

func newStartWatch() *startWatch {
	return &startWatch{cappedOutput: cappedOutput{max: 4 << 10, active: func() {}}, started: make(chan struct{})}
}

func (sw *startWatch) Write(p []byte) (int, error) {
	select {
	case <-sw.started:
		return len(p), nil
	default:
	}
	sw.cappedOutput.Write(p)
	if strings.Contains(sw.text(), execMarker) {
		sw.once.Do(func() { close(sw.started) })
	}
	return len(p), nil
}
