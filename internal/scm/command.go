package scm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os/exec"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/slipway"
)

// Commands runs Kudu commands (package deploy).
type Commands interface {
	// Console runs argv for the site as the app's own user, confined as
	// its instances are, in dir as the command sees it. A non-nil error
	// that is an *exec.ExitError carries the command's exit status. Once
	// ctx is done, Console kills every process the command started and
	// returns.
	Console(ctx context.Context, site slipway.Site, argv []string, dir string, stdout, stderr io.Writer) error
}

const (
	// defaultCommandIdleTimeout is Kudu's SCM_COMMAND_IDLE_TIMEOUT default
	// (KuduLite DeploymentSettingsExtension.DefaultCommandIdleTimeout).
	defaultCommandIdleTimeout = time.Minute
	// defaultCommandTimeout bounds a command however much it prints: App
	// Service's front end ends a request after 230 seconds.
	defaultCommandTimeout = 230 * time.Second
	// maxCommandOutput is what is kept of each of a command's output
	// streams; the rest is counted and left out.
	maxCommandOutput = 1 << 20
	// maxCommandBody bounds the request body.
	maxCommandBody = 64 << 10
	// maxCommands is how many commands one site may run at once: each is
	// one more instance of the app, with a copy of it and its plan's
	// memory.
	maxCommands = 2
	// commandHome is where a command's relative dir starts: the app's
	// home, as Kudu's RootPath is /home.
	commandHome = "/home"
)

// commandResult is Kudu's CommandResult, with its names.
type commandResult struct {
	Output   string
	Error    string
	ExitCode int
}

var (
	errCommandIdle    = errors.New("no output")
	errCommandTimeout = errors.New("ran too long")
)

// command answers POST /api/command: it runs {"command": "...", "dir":
// "..."} with bash -c, in dir relative to /home (/home itself when empty),
// and answers {"Output", "Error", "ExitCode"} once it has ended, as Kudu
// does (docs/appservice.md §5; KuduLite CommandController and
// CommandExecutor; https://github.com/projectkudu/kudu/wiki/REST-API).
//
// The command runs as the app, confined as its instances are (Commands).
// As Kudu's, it is stopped when it prints nothing for
// SCM_COMMAND_IDLE_TIMEOUT seconds (60 without the setting; Kudu also
// waits while it uses CPU, Slipway does not), with ExitCode -1 and the
// reason in Error; it is stopped too after CommandTimeout, and when the
// client goes away. Of each output stream the first MiB is kept, and
// Error says what was left out. The body must be JSON (as ASP.NET's
// [FromBody] wants it), which a cross-site form cannot send.
func (h *Handler) command(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	if h.cfg.Commands == nil {
		return slipway.Errorf(slipway.ENOTFOUND, "Commands are not available on this server.")
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnsupportedMediaType)
		io.WriteString(w, "Send the command as JSON, with Content-Type: application/json: {\"command\": \"...\", \"dir\": \"...\"}.\n")
		return nil
	}
	var in struct {
		Command *string `json:"command"`
		Dir     string  `json:"dir"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxCommandBody)).Decode(&in); err != nil || in.Command == nil {
		return slipway.Errorf(slipway.EINVALID, "The body must be a JSON object with the command to run: {\"command\": \"...\", \"dir\": \"...\"} (at most %d KB).", maxCommandBody>>10)
	}
	leave, err := h.enter("commands", s, maxCommands)
	if err != nil {
		return err
	}
	defer leave()
	settings, err := h.cfg.Store.Settings(r.Context(), s.ResourceGroup, s.Name)
	if err != nil {
		return fmt.Errorf("reading the app's settings: %w", err)
	}
	idle := secondsSetting(settings, "SCM_COMMAND_IDLE_TIMEOUT", defaultCommandIdleTimeout)
	limit := h.cfg.CommandTimeout
	if limit <= 0 {
		limit = defaultCommandTimeout
	}

	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	ctx, stop := context.WithTimeoutCause(ctx, limit, errCommandTimeout)
	defer stop()
	quiet := time.AfterFunc(idle, func() { cancel(errCommandIdle) })
	defer quiet.Stop()
	active := func() { quiet.Reset(idle) }
	stdout := &cappedOutput{max: maxCommandOutput, active: active}
	stderr := &cappedOutput{max: maxCommandOutput, active: active}

	argv := []string{"bash", "-c", *in.Command}
	err = h.cfg.Commands.Console(ctx, s, argv, commandDir(in.Dir), stdout, stderr)
	res := commandResult{Output: stdout.text(), Error: stderr.text()}
	var exit *exec.ExitError
	switch cause := context.Cause(ctx); {
	case r.Context().Err() != nil:
		return nil // the client is gone
	case errors.Is(cause, errCommandIdle):
		res.ExitCode = -1
		res.Error += fmt.Sprintf("Command '%s' was aborted due to no output for %d seconds. You can increase the SCM_COMMAND_IDLE_TIMEOUT app setting if needed.\n", commandName(argv), int(idle.Seconds()))
	case errors.Is(cause, errCommandTimeout):
		res.ExitCode = -1
		res.Error += fmt.Sprintf("Command '%s' was aborted after %d seconds, the longest a command may run here (App Service's front end ends a request after 230 seconds).\n", commandName(argv), int(limit.Seconds()))
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitCode()
	case err != nil:
		return err
	}
	for _, o := range []struct {
		name string
		c    *cappedOutput
	}{{"output", stdout}, {"error output", stderr}} {
		if n := o.c.droppedBytes(); n > 0 {
			res.Error += fmt.Sprintf("The command's %s was cut: the first %d bytes are shown, %d more were left out.\n", o.name, o.c.max, n)
		}
	}
	return writeJSON(w, http.StatusOK, res)
}

// commandDir is the directory a command runs in, as Kudu's
// CommandExecutor finds it: dir combined with /home, where an absolute dir
// stands for itself. Backslashes separate folders, as in the examples
// written for Windows ("site\\wwwroot").
func commandDir(dir string) string {
	dir = strings.ReplaceAll(dir, `\`, "/")
	if path.IsAbs(dir) {
		return path.Clean(dir)
	}
	return path.Join(commandHome, dir)
}

// commandName is how Kudu's timeout message names a command: the program
// and the first 15 characters of its arguments.
func commandName(argv []string) string {
	args := strings.TrimSpace(strings.Join(argv[1:], " "))
	if len(args) > 15 {
		args = args[:15] + " ..."
	}
	return argv[0] + " " + args
}

// secondsSetting reads a setting in whole seconds as Kudu reads its time
// spans (negative as 0), or def when it is absent or not a number.
func secondsSetting(settings map[string]string, key string, def time.Duration) time.Duration {
	secs, err := strconv.ParseInt(strings.TrimSpace(settings[key]), 10, 32)
	if err != nil {
		return def
	}
	return time.Duration(max(secs, 0)) * time.Second
}

// cappedOutput keeps the first max bytes written to it and counts the
// rest, calling active on every write.
type cappedOutput struct {
	max    int
	active func()

	mu      sync.Mutex
	buf     bytes.Buffer
	dropped int64
}

func (c *cappedOutput) Write(p []byte) (int, error) {
	c.active()
	c.mu.Lock()
	defer c.mu.Unlock()
	keep := min(len(p), c.max-c.buf.Len())
	c.buf.Write(p[:keep])
	c.dropped += int64(len(p) - keep)
	return len(p), nil
}

// text is what was kept, ending in a newline as Kudu's lines do.
func (c *cappedOutput) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.buf.String()
	if t != "" && !strings.HasSuffix(t, "\n") {
		t += "\n"
	}
	return t
}

func (c *cappedOutput) droppedBytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}
