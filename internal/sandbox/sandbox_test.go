package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The confinement tests use the real bubblewrap (apt-get install bubblewrap)
// and need root (to bind /root/.pyenv and to switch to the app user). Without
// them they skip locally and fail under CI.

// testUID/testGID are an app user with no passwd entry; the kernel does not
// care, and the tests need not touch /etc/passwd.
const testUID, testGID = 64123, 64123

func skipOrFatal(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI must provide this: "+format, args...)
	}
	t.Skipf(format, args...)
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFatal(t, "needs root (uid %d)", os.Geteuid())
	}
}

// confinedSandbox returns a Sandbox that confines, or skips.
func confinedSandbox(t *testing.T) *Sandbox {
	t.Helper()
	requireRoot(t)
	s, err := New(Config{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if ok, reason := s.Available(); !ok {
		skipOrFatal(t, "bubblewrap unavailable: %s (apt-get install bubblewrap)", reason)
	}
	return s
}

// appHome prepares an app home owned by the test user.
func appHome(t *testing.T) string {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	if err := PrepareHome(home, testUID, testGID); err != nil {
		t.Fatal(err)
	}
	return home
}

type result struct {
	stdout, stderr string
	err            error
}

// run runs spec to completion (bounded to 30 s) and returns its output.
func run(t *testing.T, s *Sandbox, spec Spec) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	spec.Stdout, spec.Stderr = &stdout, &stderr
	cmd, err := s.Command(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	err = cmd.Run()
	return result{stdout.String(), stderr.String(), err}
}

// shell runs a /bin/sh script as the test user with the app home.
func shell(t *testing.T, s *Sandbox, home, script string, mod ...func(*Spec)) result {
	t.Helper()
	spec := Spec{
		Argv: []string{"/bin/sh", "-c", script},
		Env:  []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/home"},
		Dir:  "/home",
		Home: home,
		UID:  testUID, GID: testGID,
	}
	for _, m := range mod {
		m(&spec)
	}
	return run(t, s, spec)
}

func mustSucceed(t *testing.T, r result) string {
	t.Helper()
	if r.err != nil {
		t.Fatalf("sandboxed command failed: %v\nstdout:\n%s\nstderr:\n%s", r.err, r.stdout, r.stderr)
	}
	return r.stdout
}

// TestHomeIsWritableAtHome: the app's home is /home inside (docs/appservice.md §1)
// and what the app writes there lands in the host directory.
func TestHomeIsWritableAtHome(t *testing.T) {
	s := confinedSandbox(t)
	home := appHome(t)
	out := mustSucceed(t, shell(t, s, home, `pwd; echo "$HOME"; echo hello > /home/site/wwwroot/hello.txt; ls /home`))
	if diff := cmp.Diff("/home\n/home\nLogFiles\ndata\nsite\n", out); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	hostFile := filepath.Join(home, "site", "wwwroot", "hello.txt")
	b, err := os.ReadFile(hostFile)
	if err != nil || string(b) != "hello\n" {
		t.Fatalf("host file %s = %q, %v", hostFile, b, err)
	}
	fi, err := os.Stat(hostFile)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != testUID || st.Gid != testGID {
		t.Errorf("file written in the sandbox is owned by %d:%d, want %d:%d", st.Uid, st.Gid, testUID, testGID)
	}
}

// TestSystemAndReadOnlyPathsAreNotWritable: /usr, /etc and the read-only
// binds cannot be written, even where the host permissions would allow it.
func TestSystemAndReadOnlyPathsAreNotWritable(t *testing.T) {
	s := confinedSandbox(t)
	home := appHome(t)
	artifact := t.TempDir()
	if err := os.WriteFile(filepath.Join(artifact, "app.py"), []byte("app = None\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(artifact, 0o777); err != nil { // only the mount may stop writes
		t.Fatal(err)
	}
	script := fmt.Sprintf(`
cat %[1]s/app.py
for p in /usr/slipway-test /etc/slipway-test /bin/slipway-test %[1]s/new.txt %[1]s/app.py; do
  if ( : > "$p" ) 2>/dev/null; then echo "WROTE $p"; else echo "refused $p"; fi
done`, artifact)
	out := mustSucceed(t, shell(t, s, home, script, func(sp *Spec) { sp.ReadOnly = []string{artifact} }))
	want := fmt.Sprintf("app = None\nrefused /usr/slipway-test\nrefused /etc/slipway-test\nrefused /bin/slipway-test\nrefused %[1]s/new.txt\nrefused %[1]s/app.py\n", artifact)
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(artifact, "new.txt")); err == nil {
		t.Error("new.txt appeared in the read-only artifact on the host")
	}
}

// TestReadWriteBind: a ReadWrite path is writable at the same path.
func TestReadWriteBind(t *testing.T) {
	s := confinedSandbox(t)
	out := t.TempDir()
	if err := os.Chown(out, testUID, testGID); err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, shell(t, s, appHome(t), "echo built > "+out+"/result", func(sp *Spec) { sp.ReadWrite = []string{out} }))
	if b, err := os.ReadFile(filepath.Join(out, "result")); err != nil || string(b) != "built\n" {
		t.Errorf("result = %q, %v", b, err)
	}
}

// TestTmpIsPrivateAndEmpty: /tmp starts empty and what is written there
// never reaches the host's /tmp (docs/appservice.md §1: only /home persists).
func TestTmpIsPrivateAndEmpty(t *testing.T) {
	s := confinedSandbox(t)
	hostMarker, err := os.CreateTemp("", "slipway-host-marker-*")
	if err != nil {
		t.Fatal(err)
	}
	hostMarker.Close()
	t.Cleanup(func() { os.Remove(hostMarker.Name()) })
	inside := fmt.Sprintf("/tmp/slipway-inside-%d", time.Now().UnixNano())
	t.Cleanup(func() { os.Remove(inside) })

	out := mustSucceed(t, shell(t, s, appHome(t), `ls -A /tmp | wc -l; echo x > `+inside+` && cat `+inside))
	if diff := cmp.Diff("0\nx\n", out); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(inside); err == nil {
		t.Errorf("%s written inside the sandbox appeared on the host", inside)
	}
}

// TestHostDirsAreInvisible: another app's home and the data dir next to it
// do not exist inside.
func TestHostDirsAreInvisible(t *testing.T) {
	s := confinedSandbox(t)
	dataDir := t.TempDir()
	mine := filepath.Join(dataDir, "homes", "mine")
	other := filepath.Join(dataDir, "homes", "other")
	for _, h := range []string{mine, other} {
		if err := PrepareHome(h, testUID, testGID); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(other, "data", "secret"), []byte("s3cret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(other, "data", "secret"), testUID, testGID); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`
for p in %s %s %s/data/secret /root /var/lib; do
  if [ -e "$p" ]; then echo "SEES $p"; else echo "absent $p"; fi
done`, dataDir, other, other)
	out := mustSucceed(t, shell(t, s, mine, script))
	want := fmt.Sprintf("absent %s\nabsent %s\nabsent %s/data/secret\nabsent /root\nabsent /var/lib\n", dataDir, other, other)
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

// TestRunsAsGivenUser: the process has the given uid and gid, no
// supplementary groups and no capabilities.
func TestRunsAsGivenUser(t *testing.T) {
	s := confinedSandbox(t)
	out := mustSucceed(t, shell(t, s, appHome(t), `id -u; id -g; id -G; grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs)' /proc/self/status`))
	want := fmt.Sprintf("%d\n%d\n%d\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nNoNewPrivs:\t1\n", testUID, testGID, testGID)
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

// TestOwnPIDNamespace: the process has a small pid and sees only the
// sandbox's processes in /proc.
func TestOwnPIDNamespace(t *testing.T) {
	s := confinedSandbox(t)
	out := mustSucceed(t, shell(t, s, appHome(t), `echo $$; ls /proc | grep -c '^[0-9]'`))
	f := strings.Fields(out)
	if len(f) != 2 {
		t.Fatalf("output %q", out)
	}
	pid, _ := strconv.Atoi(f[0])
	n, _ := strconv.Atoi(f[1])
	if pid < 1 || pid > 3 {
		t.Errorf("pid inside = %d, want 1..3 (own pid namespace)", pid)
	}
	// init, sh, ls, grep: a handful, not the host's processes.
	if n < 2 || n > 6 {
		t.Errorf("/proc inside lists %d processes, want a handful", n)
	}
}

// TestHostsFile: the extra names resolve inside (docs/design.md "Inside an app's
// sandbox, platform names resolve to the front door").
func TestHostsFile(t *testing.T) {
	s := confinedSandbox(t)
	hosts := map[string]string{"myapp.localhost": "127.0.0.1", "myvault.vault.localhost": "127.0.0.1", "v6.localhost": "::1"}
	out := mustSucceed(t, shell(t, s, appHome(t), `grep -v '^#' /etc/hosts; getent hosts myvault.vault.localhost`,
		func(sp *Spec) { sp.Hosts = hosts }))
	want := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.0.1\tsandbox\n" +
		"127.0.0.1\tmyapp.localhost\n127.0.0.1\tmyvault.vault.localhost\n::1\tv6.localhost\n" +
		"127.0.0.1       myvault.vault.localhost\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

// pythonPrefix finds an interpreter prefix to bind: pyenv's 3.12.1 when
// present, else the base prefix of python3 on PATH.
func pythonPrefix(t *testing.T) (prefix, python string) {
	t.Helper()
	if p := "/root/.pyenv/versions/3.12.1"; isExecutable(p + "/bin/python3") {
		return p, p + "/bin/python3"
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		skipOrFatal(t, "no python3 interpreter (apt-get install python3)")
	}
	out, err := exec.Command(py, "-c", "import sys; print(sys.base_prefix)").Output()
	if err != nil {
		t.Fatal(err)
	}
	prefix = strings.TrimSpace(string(out))
	return prefix, filepath.Join(prefix, "bin", "python3")
}

// TestPythonRunsFromBoundPrefix: an interpreter under /root/.pyenv (whose
// /root is mode 0700 on the host) runs as the app user once its prefix is
// bound, with ssl and sqlite3 importable and multiprocessing's semaphores
// working, and can write its home.
func TestPythonRunsFromBoundPrefix(t *testing.T) {
	s := confinedSandbox(t)
	prefix, python := pythonPrefix(t)
	home := appHome(t)
	prog := `import os, sys, ssl, sqlite3, json, multiprocessing
multiprocessing.Lock()  # needs a writable /dev/shm
open("/home/data/py.txt", "w").write("ok")
print(sys.prefix, os.getuid())`
	r := run(t, s, Spec{
		Argv: []string{"python3", "-c", prog},
		Env:  []string{"PATH=" + filepath.Dir(python) + ":/usr/bin:/bin", "HOME=/home"},
		Dir:  "/home", Home: home,
		ReadOnly: []string{prefix},
		UID:      testUID, GID: testGID,
	})
	out := mustSucceed(t, r)
	if want := fmt.Sprintf("%s %d\n", prefix, testUID); out != want {
		t.Errorf("python printed %q, want %q", out, want)
	}
	if b, err := os.ReadFile(filepath.Join(home, "data", "py.txt")); err != nil || string(b) != "ok" {
		t.Errorf("py.txt = %q, %v", b, err)
	}
}

// startLoop starts a sandboxed shell loop that writes a heartbeat into the
// home and traps SIGTERM to finish gracefully. marker tags its command line.
func startLoop(t *testing.T, s *Sandbox, home, marker string) (*exec.Cmd, chan error) {
	t.Helper()
	script := `trap 'sleep 0.3; echo graceful > /home/term; exit 0' TERM
while :; do date +%s%N > /home/beat; sleep 0.05; done # ` + marker
	cmd, err := s.Command(context.Background(), Spec{
		Argv: []string{"/bin/sh", "-c", script},
		Env:  []string{"PATH=/usr/bin:/bin"},
		Home: home, UID: testUID, GID: testGID,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		s.Signal(cmd, syscall.SIGKILL)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("sandboxed process still running at cleanup")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(home, "beat")); err == nil {
			return cmd, done
		}
		if time.Now().After(deadline) {
			t.Fatal("sandboxed loop did not start within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processesWith lists host pids whose command line contains marker.
func processesWith(marker string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(b, []byte(marker)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestKillProcessGroupStopsEverything: SIGKILL to the command's process
// group stops bwrap and everything inside it.
func TestKillProcessGroupStopsEverything(t *testing.T) {
	s := confinedSandbox(t)
	home := appHome(t)
	marker := fmt.Sprintf("slipway-kill-test-%d", time.Now().UnixNano())
	cmd, done := startLoop(t, s, home, marker)
	if len(processesWith(marker)) == 0 {
		t.Fatal("no process carries the marker; the test cannot observe the sandbox")
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err
	case <-time.After(5 * time.Second):
		t.Fatal("bwrap did not exit within 5s of SIGKILL to its process group")
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(processesWith(marker)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("processes %v survived the kill", processesWith(marker))
		}
		time.Sleep(20 * time.Millisecond)
	}
	before, _ := os.ReadFile(filepath.Join(home, "beat"))
	time.Sleep(200 * time.Millisecond)
	after, _ := os.ReadFile(filepath.Join(home, "beat"))
	if !bytes.Equal(before, after) {
		t.Error("heartbeat still changing after the kill")
	}
}

// TestSignalTermIsGraceful: Signal(SIGTERM) reaches the app, not bwrap, so
// its handler completes and the command exits with the app's status.
func TestSignalTermIsGraceful(t *testing.T) {
	s := confinedSandbox(t)
	home := appHome(t)
	marker := fmt.Sprintf("slipway-term-test-%d", time.Now().UnixNano())
	cmd, done := startLoop(t, s, home, marker)
	if err := s.Signal(cmd, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Errorf("exit after SIGTERM = %v, want success (the trap exits 0)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit within 10s of SIGTERM")
	}
	if b, err := os.ReadFile(filepath.Join(home, "term")); err != nil || string(b) != "graceful\n" {
		t.Errorf("term file = %q, %v; the TERM handler did not complete", b, err)
	}
}

// TestEnvironmentIsExactlySpecEnv: nothing of Slipway's environment leaks
// into the process, confined or not.
func TestEnvironmentIsExactlySpecEnv(t *testing.T) {
	t.Setenv("SLIPWAY_SECRET_FOR_LEAK_TEST", "leaked")
	check := func(t *testing.T, s *Sandbox, uid int, extra ...string) {
		r := run(t, s, Spec{
			Argv: []string{"env"},
			Env:  []string{"PATH=/usr/bin:/bin", "GREETING=hi there"},
			UID:  uid, GID: uid,
		})
		out := mustSucceed(t, r)
		got := strings.Split(strings.TrimSpace(out), "\n")
		want := append([]string{"PATH=/usr/bin:/bin", "GREETING=hi there"}, extra...)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("environment (-want +got):\n%s", diff)
		}
	}
	// bwrap sets PWD for its --chdir (/ when Dir is empty).
	t.Run("confined", func(t *testing.T) { check(t, confinedSandbox(t), testUID, "PWD=/") })
	t.Run("disabled", func(t *testing.T) {
		s, err := New(Config{Disabled: true})
		if err != nil {
			t.Fatal(err)
		}
		check(t, s, 0)
	})
}

// TestDisabledRunsPlainProcess: with Disabled the command is the program
// itself (no bwrap), in Dir, as UID/GID, with the host paths unchanged.
func TestDisabledRunsPlainProcess(t *testing.T) {
	s, err := New(Config{Disabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if ok, reason := s.Available(); ok || reason == "" {
		t.Errorf("Available() = %v, %q; want false with a reason", ok, reason)
	}
	dir, err := os.MkdirTemp("", "slipway-plain-*") // not under t.TempDir's 0700 parent
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if got := s.HomeMount(dir); got != dir {
		t.Errorf("HomeMount = %q, want the host path %q", got, dir)
	}
	spec := Spec{Argv: []string{"sh", "-c", "pwd; id -u"}, Env: []string{"PATH=/usr/bin:/bin"}, Dir: dir}
	want := dir + "\n0\n"
	if os.Geteuid() == 0 {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		spec.UID, spec.GID = testUID, testGID
		want = fmt.Sprintf("%s\n%d\n", dir, testUID)
	} else {
		want = fmt.Sprintf("%s\n%d\n", dir, os.Geteuid())
	}
	cmd, err := s.Command(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Path != "/usr/bin/sh" && cmd.Path != "/bin/sh" {
		t.Errorf("cmd.Path = %q, want sh resolved from the spec's PATH", cmd.Path)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, string(out)); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

func TestCommandRejectsBadSpecs(t *testing.T) {
	s, err := New(Config{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	tests := []struct {
		name    string
		spec    Spec
		wantSub string
	}{
		{"empty argv", Spec{}, "empty argv"},
		{"relative dir", Spec{Argv: []string{"true"}, Dir: "site"}, "not absolute"},
		{"missing home", Spec{Argv: []string{"true"}, Home: "/nonexistent/slipway"}, "no such file"},
		{"relative bind", Spec{Argv: []string{"true"}, ReadOnly: []string{"venv"}}, "not absolute"},
		{"missing bind", Spec{Argv: []string{"true"}, ReadOnly: []string{"/nonexistent/slipway"}}, "no such file"},
		{"bind over proc", Spec{Argv: []string{"true"}, ReadWrite: []string{"/proc/sys"}}, "reserved"},
		{"bind under home", Spec{Argv: []string{"true"}, Home: home, ReadOnly: []string{"/home"}}, "under /home"},
		{"bad host name", Spec{Argv: []string{"true"}, Hosts: map[string]string{"bad name\n1.2.3.4 evil": "127.0.0.1"}}, "not a valid host name"},
		{"bad host ip", Spec{Argv: []string{"true"}, Hosts: map[string]string{"ok.localhost": "localhost"}}, "ok.localhost"},
		{"negative uid", Spec{Argv: []string{"true"}, UID: -1}, "invalid uid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Command(context.Background(), tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.wantSub) {
				t.Fatalf("Command error = %v, want one containing %q", err, tt.wantSub)
			}
		})
	}
}

// TestBwrapArgsCreateParentsTraversable: parents of binds on bwrap's tmpfs
// root are created 0755 (bwrap's default 0700 would lock the app user out
// of /root/.pyenv/...), and parents inside bound dirs are left alone.
func TestBwrapArgsCreateParentsTraversable(t *testing.T) {
	s := &Sandbox{cfg: Config{StateDir: t.TempDir()}}
	args, err := s.bwrapArgs(Spec{
		Argv:     []string{"python3"},
		Home:     "/srv/homes/a",
		ReadOnly: []string{"/root/.pyenv/versions/3.12.1", "/usr/local/lib", "/var/lib/slipway/artifacts/x"},
	})
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(args, " ")
	for _, want := range []string{
		"--perms 0755 --dir /root --perms 0755 --dir /root/.pyenv --perms 0755 --dir /root/.pyenv/versions --ro-bind /root/.pyenv/versions/3.12.1 /root/.pyenv/versions/3.12.1",
		"--ro-bind /usr/local/lib /usr/local/lib",
		"--perms 0755 --dir /var --perms 0755 --dir /var/lib --perms 0755 --dir /var/lib/slipway --perms 0755 --dir /var/lib/slipway/artifacts --ro-bind",
		"--bind /srv/homes/a /home",
		"--perms 1777 --tmpfs /tmp",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("bwrap args lack %q:\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "--dir /usr/local") {
		t.Errorf("bwrap args create a dir inside the read-only /usr bind:\n%s", joined)
	}
	if !strings.HasSuffix(joined, " python3") {
		t.Errorf("bwrap args should end with the command:\n%s", joined)
	}
}

// TestLoopbackServerReachableFromHost: the sandbox shares the host network
// namespace, so an app listening on the loopback port it is given is
// reachable by the front door.
func TestLoopbackServerReachableFromHost(t *testing.T) {
	s := confinedSandbox(t)
	prefix, python := pythonPrefix(t)
	home := appHome(t)
	if err := os.WriteFile(filepath.Join(home, "site", "wwwroot", "index.html"), []byte("served from the sandbox"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd, err := s.Command(ctx, Spec{
		Argv:     []string{"python3", "-m", "http.server", "--bind", "127.0.0.1", strconv.Itoa(addr.Port)},
		Env:      []string{"PATH=" + filepath.Dir(python) + ":/usr/bin:/bin", "HOME=/home"},
		Dir:      "/home/site/wwwroot",
		Home:     home,
		ReadOnly: []string{prefix},
		UID:      testUID, GID: testGID,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		s.Signal(cmd, syscall.SIGKILL)
		<-done
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr.String() + "/index.html")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "served from the sandbox" {
				t.Errorf("body = %q", b)
			}
			return
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("server exited early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer from the sandboxed server on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestLeftoverProcessDoesNotHoldWait: a process the command left behind
// (unconfined, nothing kills it with the command) that keeps the output
// pipe open must not hold Wait — the caller (an instance's supervisor, a
// release command, a Kudu command) would wait for it for ever. Wait returns
// within waitDelay of the command's end.
func TestLeftoverProcessDoesNotHoldWait(t *testing.T) {
	s, err := New(Config{Disabled: true})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd, err := s.Command(context.Background(), Spec{Argv: []string{"sh", "-c", "sleep 30 & echo started"}, Env: []string{"PATH=/usr/bin:/bin"}, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the sleep, in the command's session
	cmd.Wait()
	if d := time.Since(start); d > waitDelay+10*time.Second {
		t.Errorf("Wait returned after %v with a leftover process holding the output pipe; want within %v", d, waitDelay)
	}
	if !strings.Contains(out.String(), "started") {
		t.Errorf("output %q", out.String())
	}
}

// TestJoinAnotherSandboxsProcesses: a command given a running sandbox's
// PID namespace (an SSH session inside an instance) sees that sandbox's
// processes and nothing of the host's, and ends when that sandbox's init
// does; a sandbox of its own sees neither.
func TestJoinAnotherSandboxsProcesses(t *testing.T) {
	s := confinedSandbox(t)
	home := appHome(t)
	marker := fmt.Sprintf("slipway-join-test-%d", time.Now().UnixNano())
	cmd, done := startLoop(t, s, home, marker)
	ns, err := s.PIDNamespace(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	list := `for p in /proc/[0-9]*; do tr '\0' ' ' < $p/cmdline; echo; done`
	joined := mustSucceed(t, shell(t, s, home, list, func(sp *Spec) { sp.PIDNamespace = ns }))
	if !strings.Contains(joined, marker) {
		t.Errorf("the joined command does not see the sandbox's processes:\n%s", joined)
	}
	if strings.Contains(joined, "go test") || strings.Contains(joined, os.Args[0]) || strings.Count(joined, "\n") > 12 {
		t.Errorf("the joined command sees more than the sandbox's processes:\n%s", joined)
	}
	own := mustSucceed(t, shell(t, s, home, list))
	if strings.Contains(own, marker) {
		t.Errorf("a sandbox of its own sees another's processes:\n%s", own)
	}

	// A sandbox that has joined has no namespace of its own to lend.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	guest, err := s.Command(ctx, Spec{Argv: []string{"/bin/sleep", "300"}, Env: []string{"PATH=/usr/bin:/bin"},
		Home: home, UID: testUID, GID: testGID, PIDNamespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	if err := Start(guest); err != nil {
		t.Fatal(err)
	}
	guestDone := make(chan error, 1)
	go func() { guestDone <- guest.Wait() }()
	// Once sleep runs, the guest's bwrap child has long led its session.
	sleeping := func() bool {
		for _, pid := range processesWith("300") {
			if exe, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe"); strings.HasSuffix(exe, "/sleep") {
				return true
			}
		}
		return false
	}
	for deadline := time.Now().Add(10 * time.Second); !sleeping(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the joined command never ran")
		}
	}
	if f, err := s.PIDNamespace(guest); err == nil {
		f.Close()
		t.Error("a joined sandbox lent the namespace it joined as its own")
	}
	// The host sandbox's end ends its guest.
	s.Signal(cmd, syscall.SIGKILL)
	<-done
	done <- nil
	select {
	case <-guestDone:
	case <-time.After(10 * time.Second):
		s.Signal(guest, syscall.SIGKILL)
		t.Fatal("the joined command outlived the sandbox it joined")
	}
	if _, err := s.PIDNamespace(cmd); err == nil {
		t.Error("an ended sandbox lent a PID namespace")
	}
}

// TestLoginShellStartsInTheApp: an interactive login shell (`az webapp
// ssh`'s) starts in APP_PATH with the virtual environment's name in its
// prompt, as App Service's startup script has ~/.bashrc do; a command run
// without a terminal stays where it was started.
func TestLoginShellStartsInTheApp(t *testing.T) {
	s := confinedSandbox(t)
	home := appHome(t)
	app := t.TempDir()
	if err := os.Chmod(app, 0o755); err != nil {
		t.Fatal(err)
	}
	env := func(sp *Spec) {
		sp.Env = append(sp.Env, "APP_PATH="+app, "VIRTUAL_ENV="+filepath.Join(app, "antenv"))
		sp.ReadOnly = append(sp.ReadOnly, app)
	}
	out := mustSucceed(t, shell(t, s, home, `exec bash -lic 'echo "prompt=$PS1"; pwd' 2>/dev/null`, env))
	if !strings.Contains(out, "prompt=(antenv) ") || !strings.Contains(out, "\n"+app+"\n") {
		t.Errorf("an interactive login shell: %q, want the prompt with (antenv) in %s", out, app)
	}
	if out := mustSucceed(t, shell(t, s, home, `exec bash -lc pwd`, env)); strings.TrimSpace(out) != "/home" {
		t.Errorf("a non-interactive login shell moved to %q", out)
	}
}

// joinableLoop starts startLoop's loop (marked with prefix) in a home of
// its own and opens its PID namespace, closed at the test's end.
func joinableLoop(t *testing.T, s *Sandbox, prefix string) (home string, cmd *exec.Cmd, done chan error, ns *os.File) {
	t.Helper()
	home = appHome(t)
	cmd, done = startLoop(t, s, home, fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()))
	ns, err := s.PIDNamespace(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return home, cmd, done, ns
}

// TestJoinedCommandHoldsNoNamespace: the PID namespace a joined command
// is given reaches bwrap only: the command itself (an SSH session's
// shell, as the app's user) holds no descriptor of it (bwrap leaves its
// --pidns descriptor open), and what closes it changes nothing else.
func TestJoinedCommandHoldsNoNamespace(t *testing.T) {
	s := confinedSandbox(t)
	home, _, _, ns := joinableLoop(t, s, "slipway-fd-test")
	out := mustSucceed(t, shell(t, s, home, `ls -l /proc/self/fd; id -u; grep CapEff /proc/self/status`, func(sp *Spec) { sp.PIDNamespace = ns }))
	if strings.Contains(out, "pid:[") {
		t.Errorf("the joined command holds a PID namespace:\n%s", out)
	}
	// What closes it runs as root: the command still runs as the app.
	if !strings.Contains(out, "\n"+strconv.Itoa(testUID)+"\n") || !strings.Contains(out, "CapEff:\t0000000000000000") {
		t.Errorf("the joined command does not run as the app's user without capabilities:\n%s", out)
	}
}

// TestPIDNamespaceOfAnEndedSandbox: once a sandbox has ended and been
// waited for, its process number is free, and the next process the
// machine starts may take it — another app's sandbox, on a machine with
// pid_max 32768 soon. The namespace lent for the ended command is then
// none, not the newcomer's. (The number is handed over here rather than
// waited for: the test takes the ended command's number from the running
// one.)
func TestPIDNamespaceOfAnEndedSandbox(t *testing.T) {
	s := confinedSandbox(t)
	home := appHome(t)
	ended, done := startLoop(t, s, home, fmt.Sprintf("slipway-ended-test-%d", time.Now().UnixNano()))
	s.Signal(ended, syscall.SIGKILL)
	<-done
	done <- nil // for startLoop's cleanup
	other, _ := startLoop(t, s, appHome(t), fmt.Sprintf("slipway-other-test-%d", time.Now().UnixNano()))
	if ns, err := s.PIDNamespace(other); err != nil {
		t.Fatalf("the running sandbox lends no namespace: %v", err)
	} else {
		ns.Close()
	}
	own := ended.Process.Pid
	ended.Process.Pid = other.Process.Pid // its number, reused
	if ns, err := s.PIDNamespace(ended); err == nil {
		ns.Close()
		t.Error("an ended sandbox lent the namespace of the process that took its number")
	}
	ended.Process.Pid = own
}

// TestInheritedDescriptorsStayOutside: a descriptor the server inherited
// open across exec (from the shell or supervisor that started it) reaches
// no sandboxed process; otherwise every app's instances would hold the
// same one, a channel between tenants.
func TestInheritedDescriptorsStayOutside(t *testing.T) {
	requireRoot(t)
	var p [2]int
	if err := syscall.Pipe(p[:]); err != nil { // without close-on-exec, as inherited
		t.Fatal(err)
	}
	defer syscall.Close(p[0])
	defer syscall.Close(p[1])
	var st syscall.Stat_t
	if err := syscall.Fstat(p[1], &st); err != nil {
		t.Fatal(err)
	}
	s := confinedSandbox(t)
	out := mustSucceed(t, shell(t, s, appHome(t), `ls -l /proc/self/fd`))
	if pipe := fmt.Sprintf("pipe:[%d]", st.Ino); strings.Contains(out, pipe) {
		t.Errorf("a sandboxed process holds the server's inherited %s:\n%s", pipe, out)
	}
}

// TestJoinAnEndedSandbox: a PID namespace opened while its sandbox ran
// takes no process once the sandbox's init has ended (the kernel refuses
// new processes in it): a session whose instance ends between being
// entered and starting runs nowhere, rather than half in what is left of
// the instance.
func TestJoinAnEndedSandbox(t *testing.T) {
	s := confinedSandbox(t)
	home, cmd, done, ns := joinableLoop(t, s, "slipway-ended-join-test")
	s.Signal(cmd, syscall.SIGKILL)
	<-done
	done <- nil // for startLoop's cleanup
	r := shell(t, s, home, `echo RAN`, func(sp *Spec) { sp.PIDNamespace = ns })
	if r.err == nil || strings.Contains(r.stdout, "RAN") {
		t.Errorf("a command joined an ended sandbox's namespace: %v, %q", r.err, r.stdout)
	}
}

// TestSignalAnEndedSandbox: a stop that races the sandbox's own end (the
// runtime's SIGKILL at a start deadline, a health replacement) signals
// nothing once the command has been waited for, though its number may
// already be another sandbox's (another app's instance) by then. (The
// number is handed over, as in TestPIDNamespaceOfAnEndedSandbox.)
func TestSignalAnEndedSandbox(t *testing.T) {
	s := confinedSandbox(t)
	ended, done := startLoop(t, s, appHome(t), fmt.Sprintf("slipway-ended-signal-test-%d", time.Now().UnixNano()))
	s.Signal(ended, syscall.SIGKILL)
	<-done
	done <- nil // for startLoop's cleanup
	other, otherDone := startLoop(t, s, appHome(t), fmt.Sprintf("slipway-other-signal-test-%d", time.Now().UnixNano()))
	own := ended.Process.Pid
	ended.Process.Pid = other.Process.Pid // its number, reused
	err := s.Signal(ended, syscall.SIGKILL)
	ended.Process.Pid = own
	if err != nil {
		t.Errorf("signalling an ended sandbox: %v", err)
	}
	select {
	case <-otherDone:
		otherDone <- nil
		t.Error("signalling an ended sandbox killed the sandbox that took its number")
	case <-time.After(500 * time.Millisecond):
	}
}

// TestHostnameIsTheSandboxs: a sandbox has the host name its Spec gives
// (an instance's, as a container's is its own), or "sandbox"; /etc/hosts
// resolves it; the host's own name never shows.
func TestHostnameIsTheSandboxs(t *testing.T) {
	s := confinedSandbox(t)
	home := appHome(t)
	own, _ := os.Hostname()
	script := `hostname; getent hosts "$(hostname)" | cut -f1 -d' '; cat /proc/sys/kernel/hostname`
	out := mustSucceed(t, shell(t, s, home, script, func(sp *Spec) { sp.Hostname = "a1b2c3d4e5f6" }))
	if f := strings.Fields(out); len(f) != 3 || f[0] != "a1b2c3d4e5f6" || f[1] != "127.0.0.1" || f[2] != "a1b2c3d4e5f6" {
		t.Errorf("a sandbox named a1b2c3d4e5f6: %q", out)
	}
	out = mustSucceed(t, shell(t, s, home, script))
	if f := strings.Fields(out); len(f) != 3 || f[0] != "sandbox" || f[1] != "127.0.0.1" {
		t.Errorf("a sandbox without a name: %q", out)
	}
	if own != "" && own != "sandbox" && strings.Contains(out, own) {
		t.Errorf("the host's name %q shows in a sandbox: %q", own, out)
	}
	if _, err := s.Command(t.Context(), Spec{Argv: []string{"true"}, Hostname: "bad name"}); err == nil {
		t.Error("a host name with a space was taken")
	}
}

// TestLinksInTheSandboxsTree: Spec.Links makes symbolic links in the
// sandbox's own tree (App Service's /opt/python/3), leading to what the
// sandbox can see; none is made in a bound host directory.
func TestLinksInTheSandboxsTree(t *testing.T) {
	s := confinedSandbox(t)
	home := appHome(t)
	py := t.TempDir()
	if err := os.MkdirAll(filepath.Join(py, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(py, "bin", "tool"), []byte("#!/bin/sh\necho tool ran\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Dir(py), 0o755)
	out := mustSucceed(t, shell(t, s, home, `/opt/python/3/bin/tool; readlink /opt/python/3; ls -ld /opt/python | cut -c1-10`, func(sp *Spec) {
		sp.ReadOnly = append(sp.ReadOnly, py)
		sp.Links = map[string]string{"/opt/python/3.12.1": py, "/opt/python/3.12": "3.12.1", "/opt/python/3": "3.12"}
	}))
	if f := strings.Fields(out); len(f) != 4 || f[0]+" "+f[1] != "tool ran" || f[2] != "3.12" || f[3] != "drwxr-xr-x" {
		t.Errorf("through /opt/python/3: %q", out)
	}
	for _, bad := range []map[string]string{
		{"/home/planted": "/etc/shadow"}, // the app's home is the host's
		{py + "/bin/x": "/"},             // a bound directory
		{"relative": "/"},
		{"/opt/x": ""},
	} {
		if cmd, err := s.Command(t.Context(), Spec{Argv: []string{"true"}, Home: home, ReadOnly: []string{py}, Links: bad}); err == nil {
			Run(cmd)
			t.Errorf("the links %v were taken", bad)
		}
	}
	if _, err := os.Lstat(filepath.Join(home, "planted")); err == nil {
		t.Error("a link was made in the host's home")
	}
}

// TestInHome: a path under a home, as the process sees it.
func TestInHome(t *testing.T) {
	plain, err := New(Config{Disabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := plain.InHome("/srv/x", "/srv/x/run/sock"); got != "/srv/x/run/sock" {
		t.Errorf("unconfined InHome = %q", got)
	}
	s := confinedSandbox(t)
	if got := s.InHome("/srv/x", "/srv/x/run/sock"); got != "/home/run/sock" {
		t.Errorf("confined InHome = %q, want /home/run/sock", got)
	}
	if got := s.InHome("/srv/x", "/srv/x"); got != "/home" {
		t.Errorf("confined InHome of the home = %q, want /home", got)
	}
}
