package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Cmd is one command the builder runs. Argv[0] is an absolute path or a name
// looked up in the PATH entry of Env.
//
// Every command runs the app's own code or code it chose (PRE_BUILD_COMMAND,
// setup.py, packages' build hooks, Django settings), so a Cmd says exactly
// what it may touch. A Runner must make writable exactly the paths in
// Writable — nothing else on the host, in particular not the rest of the
// build cache (other scopes' environments and pip caches, sealed
// environments) — and may make readable only Writable, Readable, Dir, the
// interpreters' installations and the system's own files.
type Cmd struct {
	Argv []string
	Dir  string   // working directory; always inside Writable or Readable
	Env  []string // the complete environment; nothing is inherited
	// Owner is the user to run as (the build's; see Request.Owner). nil
	// means the Runner's own user.
	Owner *Owner
	// Writable are the only host paths the command may write: the artifact
	// directory, its HOME, its scope's pip cache and, only for the commands
	// that build an environment, that environment's directory.
	Writable []string
	// Readable are host paths the command must read beyond Writable, the
	// system and the interpreters, e.g. the sealed environment that
	// collectstatic and POST_BUILD_COMMAND run with.
	Readable []string
	Stdout   io.Writer
	Stderr   io.Writer
}

// Runner runs one command to completion. It must stop the command (and its
// children) when ctx is cancelled, must leave none of its processes running
// when it returns (the builder seals an environment right after the commands
// that built it), and must return a non-nil error when the command fails.
// It must not make anything writable beyond Cmd.Writable. The composition
// root supplies a sandboxed implementation.
type Runner interface {
	Run(ctx context.Context, c Cmd) error
}

// ExecRunner runs commands with os/exec in their own process group; on
// cancellation the whole group is killed. It does not confine commands:
// Cmd.Writable and Cmd.Readable are ignored, so only file permissions stand
// between a command and the rest of the host. When the server runs as root
// and Cmd.Owner is set, the command runs as that user (with no supplementary
// groups); otherwise it runs as the current user. Use it for tests and
// development; production builds need the sandboxed Runner.
type ExecRunner struct {
	// WaitDelay bounds how long Run waits for output pipes after the process
	// exits or is killed. Zero means 5 seconds.
	WaitDelay time.Duration
}

var _ Runner = ExecRunner{}

// Run implements Runner.
func (r ExecRunner) Run(ctx context.Context, c Cmd) error {
	if len(c.Argv) == 0 {
		return errors.New("running command: empty argv")
	}
	name := c.Argv[0]
	if !strings.Contains(name, "/") {
		p, err := lookPath(name, c.Env)
		if err != nil {
			return fmt.Errorf("running %s: %w", name, err)
		}
		name = p
	}
	cmd := exec.CommandContext(ctx, name, c.Argv[1:]...)
	cmd.Args[0] = c.Argv[0]
	cmd.Dir = c.Dir
	cmd.Env = c.Env
	if cmd.Env == nil {
		cmd.Env = []string{} // never inherit the server's environment
	}
	cmd.Stdout = c.Stdout
	cmd.Stderr = c.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c.Owner != nil && os.Geteuid() == 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{
			Uid: uint32(c.Owner.UID), Gid: uint32(c.Owner.GID),
			Groups: []uint32{}, // drop root's supplementary groups
		}
	}
	cmd.Cancel = func() error {
		// Kill the whole process group: pip and shells start children.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = r.WaitDelay
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = 5 * time.Second
	}
	if err := cmd.Run(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("running %s: %w (%w)", c.Argv[0], ctxErr, err)
		}
		return fmt.Errorf("running %s: %w", c.Argv[0], err)
	}
	return nil
}

// lookPath finds name in the PATH entry of env (not the server's PATH).
func lookPath(name string, env []string) (string, error) {
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			continue
		}
		p := dir + "/" + name
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%q not found in PATH %q", name, path)
}

// lineLog copies a subprocess's output to the build log line by line as it
// arrives, optionally prefixing each line, and remembers the last lines so
// that an error message can quote them. It is safe for concurrent use, so the
// same value can serve as Stdout and Stderr.
type lineLog struct {
	mu     sync.Mutex
	out    io.Writer
	prefix func() string // nil → no prefix
	scan   func(string)  // nil, or sees every line (without prefix), under mu
	buf    []byte        // incomplete last line
	tail   []string      // ring of the last maxTail lines
	err    error         // first write error to out
}

const maxTail = 15

func newLineLog(out io.Writer, prefix func() string) *lineLog {
	return &lineLog{out: out, prefix: prefix}
}

// Write implements io.Writer.
func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.emit(string(bytes.TrimRight(l.buf[:i], "\r")))
		l.buf = l.buf[i+1:]
	}
	// A very long line without a newline (progress bars) is flushed anyway.
	if len(l.buf) > 64<<10 {
		l.emit(string(l.buf))
		l.buf = nil
	}
	return len(p), nil
}

// Flush writes any incomplete last line.
func (l *lineLog) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit(string(l.buf))
		l.buf = nil
	}
}

func (l *lineLog) emit(line string) {
	if l.scan != nil {
		l.scan(line)
	}
	l.tail = append(l.tail, line)
	if len(l.tail) > maxTail {
		l.tail = l.tail[len(l.tail)-maxTail:]
	}
	if l.err != nil {
		return
	}
	pre := ""
	if l.prefix != nil {
		pre = l.prefix()
	}
	if _, err := io.WriteString(l.out, pre+line+"\n"); err != nil {
		// A broken log writer must not kill the subprocess (it would get
		// SIGPIPE-like failures); remember the error and keep the tail.
		l.err = err
	}
}

// Tail returns the last lines written, oldest first.
func (l *lineLog) Tail() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.tail...)
}
