package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRealAzSSH: the unmodified az opens SSH sessions to an app as
// Microsoft documents
// (https://learn.microsoft.com/azure/app-service/configure-linux-open-ssh-session):
// `az webapp create-remote-connection` opens the tunnel and OpenSSH's ssh
// logs in through it as root with App Service's password, with the MAC az
// names (-m hmac-sha1); `az webapp ssh` (in a terminal, as a person runs
// it) gets a login shell. The session runs as the app: its user (not
// root), its settings, its home at /home, its Python, its cgroup; another
// app's home and the server's data are out of reach.
func TestRealAzSSH(t *testing.T) {
	t.Parallel() // its own server and names; az mostly waits (CI time)
	needSandbox(t, "SSH sessions need")
	r := startRealAz(t, realAzPath(t))
	cli := r.cli
	rg, plan, app := "rg-realaz-ssh", "plan-realaz-ssh", "realaz-ssh"
	r.s.createApp("other")
	otherHome := filepath.Join(r.s.data, "sites", "other", "home")
	if err := os.WriteFile(filepath.Join(otherHome, "secret.txt"), []byte("OTHER-APP-SECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	cli.must("group", "create", "-n", rg, "-l", "westeurope", "-o", "none")
	cli.must("appservice", "plan", "create", "-g", rg, "-n", plan, "--is-linux", "--sku", "B1", "-o", "none")
	cli.must("webapp", "create", "-g", rg, "-p", plan, "-n", app, "--runtime", "PYTHON:3.12", "-o", "none")
	cli.must("webapp", "config", "appsettings", "set", "-g", rg, "-n", app, "--settings", "GREETING=hello over ssh", "-o", "none")
	cli.mustTimeout(5*time.Minute, "webapp", "deploy", "-g", rg, "-n", app, "--src-path", zipDir(t, "testdata/apps/hello", nil), "--type", "zip", "-o", "none")

	t.Run("create-remote-connection and OpenSSH", func(t *testing.T) {
		// Two instances, and the tunnel to the second (az sends its id as
		// the ARRAffinity cookie): the session runs inside it, as App
		// Service's SSH runs in the app's container.
		cli.must("appservice", "plan", "update", "-g", rg, "-n", plan, "--number-of-workers", "2", "-o", "none")
		var second string // not the first ready one, where a session goes by default
		for deadline := time.Now().Add(2 * time.Minute); second == ""; time.Sleep(300 * time.Millisecond) {
			ids := strings.Fields(cli.must("webapp", "list-instances", "-g", rg, "-n", app, "--query", "[?state=='READY'].[machineName, name]", "-o", "tsv"))
			if len(ids) == 4 {
				second = ids[1]
				if ids[0] == "slipway0-0" {
					second = ids[3]
				}
			} else if time.Now().After(deadline) {
				t.Fatalf("two ready instances never came: %v", ids)
			}
		}
		port := freePort(t)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		tunnel := exec.CommandContext(ctx, cli.az, "webapp", "create-remote-connection", "-g", rg, "-n", app, "--port", fmt.Sprint(port), "--timeout", "120", "--instance", second)
		// az's own warnings say where the tunnel is (the harness shows only errors).
		tunnel.Env = append(append([]string{}, cli.env...), "AZURE_CORE_ONLY_SHOW_ERRORS=false")
		tunnel.Dir, tunnel.WaitDelay = cli.work, 5*time.Second
		said := &lockedLines{}
		stderr, _ := tunnel.StderrPipe()
		if err := tunnel.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { tunnel.Process.Kill(); tunnel.Wait() }()
		go said.read(stderr)
		said.waitFor(t, "SSH is available", 2*time.Minute)
		if !said.has("-m hmac-sha1") {
			t.Fatalf("az printed no ssh command line:\n%s", said)
		}

		askpass := filepath.Join(t.TempDir(), "askpass")
		ssh := func(password string, remote string) (string, error) {
			if err := os.WriteFile(askpass, []byte("#!/bin/sh\necho '"+password+"'\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.CommandContext(ctx, "ssh", "-p", fmt.Sprint(port), "-m", "hmac-sha1",
				"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
				"-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1", "-o", "ConnectTimeout=30",
				"root@127.0.0.1", remote)
			cmd.Env = append(os.Environ(), "SSH_ASKPASS="+askpass, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=none")
			cmd.Stdin = strings.NewReader("")
			cmd.WaitDelay = 5 * time.Second
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		if out, err := ssh("not-the-password", "true"); err == nil {
			t.Fatalf("logged in with a wrong password: %s", out)
		}
		out, err := ssh("Docker!", strings.Join([]string{
			`echo "uid=$(id -u)"`, `echo "greeting=$GREETING"`, "pwd", "ls /home/site/wwwroot",
			"python -c 'import sys; print(\"python\", sys.version_info[0])'",
			"grep -q '/i-[^/]*/session-' /proc/self/cgroup && echo cgroup=instance", // inside the instance's limits
			`echo "instance=$WEBSITE_INSTANCE_ID"`, "ps -eo args= | grep -q '[g]unicorn' && echo sees=gunicorn",
			"curl -s -o /dev/null -w 'app=%{http_code}\\n' http://localhost:$PORT/",
			"cat " + filepath.Join(otherHome, "secret.txt"),
			"cat " + filepath.Join(r.s.data, "server.json"),
			"exit 7",
		}, "; "))
		var exit *exec.ExitError
		if !asExit(err, &exit) || exit.ExitCode() != 7 {
			t.Fatalf("ssh: %v, want exit status 7\n%s", err, out)
		}
		for _, want := range []string{"greeting=hello over ssh", "\n/home\n", "app.py", "python 3", "cgroup=instance", "instance=" + second + "\n", "sees=gunicorn", "app=200"} {
			if !strings.Contains("\n"+out, want) {
				t.Errorf("the session's output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "uid=0\n") || !strings.Contains(out, "uid=") {
			t.Errorf("the session does not run as the app's own user:\n%s", out)
		}
		if strings.Contains(out, "OTHER-APP-SECRET") || strings.Contains(out, "adminToken") {
			t.Errorf("the session read what is not the app's:\n%s", out)
		}

		// az webapp exec --instance all: the command starts inside each
		// instance (az sends each one's ARRAffinity cookie), so each writes
		// its own host name, its instance id's first 12 digits.
		cli.must("webapp", "exec", "-g", rg, "-n", app, "--mode", "execute", "--instance", "all",
			"--shell-command", "echo $(hostname) $WEBSITE_INSTANCE_ID >> /home/data/instances.txt")
		var lines []string
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(300 * time.Millisecond) {
			out, _ := ssh("Docker!", "cat /home/data/instances.txt")
			lines = strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) >= 2 || time.Now().After(deadline) {
				break
			}
		}
		seen := map[string]bool{}
		for _, l := range lines {
			if f := strings.Fields(l); len(f) == 2 && len(f[1]) > 12 && f[0] == f[1][:12] {
				seen[f[1]] = true
			}
		}
		if len(lines) != 2 || len(seen) != 2 || !seen[second] {
			t.Errorf("az webapp exec --instance all: want one line from each instance, with its host name:\n%s", strings.Join(lines, "\n"))
		}

		// scp, which speaks SFTP since OpenSSH 9: a file up into the app's
		// home and back, written as the app's user; the system stays
		// read-only, and another app's home is not there.
		if _, err := os.Stat("/usr/lib/openssh/sftp-server"); err != nil {
			t.Fatalf("OpenSSH's SFTP server is not installed (scripts/setup installs openssh-sftp-server): %v", err)
		}
		scp := func(from, to string) (string, error) {
			cmd := exec.CommandContext(ctx, "scp", "-P", fmt.Sprint(port), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
				"-o", "LogLevel=ERROR", "-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1", from, to)
			cmd.Env = append(os.Environ(), "SSH_ASKPASS="+askpass, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=none")
			cmd.WaitDelay = 5 * time.Second
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		local := filepath.Join(t.TempDir(), "up.txt")
		if err := os.WriteFile(local, []byte("sent by scp\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := scp(local, "root@127.0.0.1:/home/site/up.txt"); err != nil {
			t.Fatalf("scp up: %v\n%s", err, out)
		}
		back := filepath.Join(t.TempDir(), "back.txt")
		if out, err := scp("root@127.0.0.1:/home/site/up.txt", back); err != nil {
			t.Fatalf("scp down: %v\n%s", err, out)
		}
		if b, _ := os.ReadFile(back); string(b) != "sent by scp\n" {
			t.Fatalf("scp down brought %q", b)
		}
		if out, err := ssh("Docker!", `[ "$(stat -c %u /home/site/up.txt)" = "$(id -u)" ] && echo owner=app`); err != nil || !strings.Contains(out, "owner=app") {
			t.Fatalf("the uploaded file is not the app user's: %v\n%s", err, out)
		}
		if out, err := scp(local, "root@127.0.0.1:/usr/local/evil.txt"); err == nil {
			t.Fatalf("scp wrote into the system's /usr:\n%s", out)
		}
		if out, err := scp("root@127.0.0.1:"+filepath.Join(otherHome, "secret.txt"), back); err == nil {
			t.Fatalf("scp read another app's home:\n%s", out)
		}
	})

	t.Run("az webapp ssh", func(t *testing.T) {
		// In a terminal, as a person runs it: az's SSH client (Fabric)
		// asks for one; `script` gives it.
		in, out, _ := azInTerminal(t, cli, "webapp ssh -g "+rg+" -n "+app+" --timeout 90")
		// The login shell's prompt shows the user and the folder.
		deadline := time.Now().Add(2 * time.Minute)
		for !out.has("$ ") && !out.has("# ") {
			if time.Now().After(deadline) {
				t.Fatalf("no shell prompt from az webapp ssh:\n%s", out)
			}
			time.Sleep(200 * time.Millisecond)
		}
		// It starts in the app's folder, as App Service's does (Oryx's
		// lines in ~/.bashrc), where Microsoft's tutorials run `python
		// manage.py migrate`.
		io.WriteString(in, "echo MARK-$((6*7)) $(id -u) $(ls app.py)\n")
		out.waitFor(t, "MARK-42", time.Minute)
		if out.has("MARK-42 0") {
			t.Fatalf("the session runs as root:\n%s", out)
		}
		if !out.has(" app.py\r") {
			t.Errorf("the session does not start in the app's folder:\n%s", out)
		}
		io.WriteString(in, "exit\n")
		// The banner az shows first, and a login shell that found the
		// profile it sources.
		if !out.has("App Service on Linux") || out.has("No such file") {
			t.Fatalf("az webapp ssh printed:\n%s", out)
		}
	})

	t.Run("az webapp exec --mode shell", func(t *testing.T) {
		// az 2.91's shell over Kudu's /exec/shell WebSocket, in a terminal
		// (az refuses without one); it ends when the shell does.
		in, out, ended := azInTerminal(t, cli, "webapp exec -g "+rg+" -n "+app+" --mode shell --shell /bin/bash")
		out.waitFor(t, "Press Ctrl+C twice to exit", 2*time.Minute)
		io.WriteString(in, "echo MARK-$((6*7)) $(id -u) $GREETING\r")
		out.waitFor(t, "MARK-42", time.Minute)
		if out.has("MARK-42 0 ") || !out.has("hello over ssh") {
			t.Fatalf("the shell runs as root or without the app's settings:\n%s", out)
		}
		io.WriteString(in, "exit\r")
		select {
		case <-ended:
		case <-time.After(time.Minute):
			t.Fatalf("az webapp exec did not end when the shell did:\n%s", out)
		}
	})
}

// azInTerminal runs az with args (split at spaces) in a terminal, as a
// person runs it (`script` gives it one): its input, its output as it
// comes, and a channel closed when it has ended. It is killed at the end
// of the test, or after 3 minutes.
func azInTerminal(t *testing.T, cli *realAz, args string) (io.Writer, *lockedLines, <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	cmd := exec.CommandContext(ctx, "script", "-qfec", cli.az+" "+args, "/dev/null")
	cmd.Env = append(append([]string{}, cli.env...), "TERM=xterm", "AZURE_CORE_ONLY_SHOW_ERRORS=false")
	cmd.Dir, cmd.WaitDelay = cli.work, 5*time.Second
	in, _ := cmd.StdinPipe()
	out := &lockedLines{}
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	ended := make(chan struct{})
	go func() {
		out.read(stdout)
		cmd.Wait()
		close(ended)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		select {
		case <-ended:
		case <-time.After(10 * time.Second): // a process that kept its output open
		}
		cancel()
	})
	return in, out, ended
}

func asExit(err error, exit **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*exit = e
	return ok
}

// lockedLines collects a process's output as it comes.
type lockedLines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLines) read(r io.Reader) {
	br := bufio.NewReader(r)
	buf := make([]byte, 4096)
	for {
		n, err := br.Read(buf)
		l.mu.Lock()
		l.b.Write(buf[:n])
		l.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (l *lockedLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedLines) has(s string) bool { return strings.Contains(l.String(), s) }

func (l *lockedLines) waitFor(t *testing.T, s string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !l.has(s) {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %q:\n%s", d, s, l)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
