package cgroups

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// openRealV1 opens the host's cgroup v1 hierarchy under a parent unique to
// the test. It skips when not root or without a v1 memory controller, and
// fails instead under CI.
func openRealV1(t *testing.T) *Manager {
	t.Helper()
	skip := t.Skipf
	if os.Getenv("CI") != "" {
		skip = t.Fatalf
	}
	if os.Geteuid() != 0 {
		skip("needs root to create cgroups")
	}
	if _, err := os.Stat("/sys/fs/cgroup/memory/memory.limit_in_bytes"); err != nil {
		skip("no cgroup v1 memory controller: %v", err)
	}
	b := make([]byte, 4)
	rand.Read(b)
	m, err := Open(Config{Parent: "slipway-test-" + hex.EncodeToString(b)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Manager.Close: %v", err)
		}
		for _, c := range v1Controllers {
			if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", c, m.parent)); !os.IsNotExist(err) {
				t.Errorf("parent group left in %s: %v", c, err)
			}
		}
	})
	if m.Version() != 1 {
		t.Fatalf("Version() = %d on a v1 host", m.Version())
	}
	return m
}

func newGroup(t *testing.T, m *Manager, name string, l Limits) *Group {
	t.Helper()
	g, err := m.New(name, l)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := g.Close(); err != nil {
			t.Errorf("Group.Close: %v", err)
		}
	})
	return g
}

func TestV1MemoryLimitOOMKills(t *testing.T) {
	m := openRealV1(t)
	g := newGroup(t, m, "oom", Limits{MemoryBytes: 64 << 20})
	dir := filepath.Join("/sys/fs/cgroup/memory", m.parent, "oom")
	for _, f := range []string{"memory.limit_in_bytes", "memory.memsw.limit_in_bytes"} {
		if got := strings.TrimSpace(readFile(t, filepath.Join(dir, f))); got != strconv.Itoa(64<<20) {
			t.Errorf("%s = %s, want %d", f, got, 64<<20)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	argv := JoinArgv(g.ProcsFiles(), []string{"python3", "-c", "b = b'x' * (200 << 20); print('allocated', len(b))"})
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err == nil {
		t.Fatalf("allocating 200 MiB under a 64 MiB limit succeeded: %s", out)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != -1 || !strings.Contains(ee.String(), "killed") {
		t.Fatalf("want the process killed by SIGKILL, got %v: %s", err, out)
	}
	n, err := g.OOMKills()
	if err != nil {
		t.Fatal(err)
	}
	if n < 1 {
		t.Errorf("OOMKills() = %d, want at least 1", n)
	}
	if _, err := g.MemoryCurrent(); err != nil {
		t.Error(err)
	}
	// Raising the limit above memsw needs memsw raised first.
	if err := g.Update(Limits{MemoryBytes: 256 << 20}); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join(dir, "memory.memsw.limit_in_bytes"))); got != strconv.Itoa(256<<20) {
		t.Errorf("memsw after raising = %s", got)
	}
}

func TestV1PidsLimitStopsForks(t *testing.T) {
	m := openRealV1(t)
	g := newGroup(t, m, "pids", Limits{Pids: 20})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	script := `
import subprocess
ok = fail = 0
for i in range(50):
    try:
        subprocess.Popen(["sleep", "30"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ok += 1
    except OSError:
        fail += 1
print(ok, fail)
`
	argv := JoinArgv(g.ProcsFiles(), []string{"python3", "-c", script})
	start := time.Now()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).Output()
	if err != nil {
		t.Fatalf("spawner: %v: %s", err, out)
	}
	var ok, fail int
	if _, err := fmt.Sscan(string(out), &ok, &fail); err != nil {
		t.Fatalf("spawner output %q: %v", out, err)
	}
	t.Logf("spawned %d, refused %d in %s", ok, fail, time.Since(start))
	if ok >= 20 || fail == 0 {
		t.Errorf("spawned %d and refused %d under a limit of 20 tasks", ok, fail)
	}
	pids, err := g.pids()
	if err != nil {
		t.Fatal(err)
	}
	if len(pids) != ok {
		t.Errorf("%d processes in the group, want the %d sleeps", len(pids), ok)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil && !strings.Contains(string(b), ") Z ") {
			t.Errorf("pid %d still running after Close", pid)
		}
	}
}

func TestV1CPUQuota(t *testing.T) {
	m := openRealV1(t)
	g := newGroup(t, m, "cpu", Limits{CPUs: 1.5, Pids: 100})
	dir := filepath.Join("/sys/fs/cgroup/cpu", m.parent, "cpu")
	read := func(f string) string { return strings.TrimSpace(readFile(t, filepath.Join(dir, f))) }
	if q, p := read("cpu.cfs_quota_us"), read("cpu.cfs_period_us"); q != "150000" || p != "100000" {
		t.Errorf("cfs quota/period = %s/%s, want 150000/100000", q, p)
	}
	if err := g.Update(Limits{}); err != nil {
		t.Fatal(err)
	}
	if q := read("cpu.cfs_quota_us"); q != "-1" {
		t.Errorf("cfs quota after removing the limit = %s, want -1", q)
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join("/sys/fs/cgroup/pids", m.parent, "cpu", "pids.max"))); got != "max" {
		t.Errorf("pids.max after removing the limit = %s, want max", got)
	}
}

// TestV1SubGroup: a group nested in an instance's (a console session's)
// is held by the instance's limits, is killed apart from it, and is closed
// with it.
func TestV1SubGroup(t *testing.T) {
	m := openRealV1(t)
	g := newGroup(t, m, "outer", Limits{Pids: 20})
	start := func(procs []string, n int) *exec.Cmd {
		t.Helper()
		script := `import subprocess, sys, time
ok = fail = 0
for i in range(int(sys.argv[1])):
    try:
        subprocess.Popen(["sleep", "60"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ok += 1
    except OSError:
        fail += 1
print(ok, fail, flush=True)
time.sleep(60)`
		argv := JoinArgv(procs, []string{"python3", "-c", script, strconv.Itoa(n)})
		cmd := exec.Command(argv[0], argv[1:]...)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		var ok, fail int
		if _, err := fmt.Fscan(out, &ok, &fail); err != nil {
			t.Fatalf("spawner: %v", err)
		}
		t.Logf("spawned %d, refused %d", ok, fail)
		return cmd
	}
	start(g.ProcsFiles(), 10) // the instance: 11 tasks of its 20
	sub, err := g.Sub("s-1")
	if err != nil {
		t.Fatal(err)
	}
	start(sub.ProcsFiles(), 30) // the session: refused past the instance's limit
	inSub, err := sub.pids()
	if err != nil {
		t.Fatal(err)
	}
	if len(inSub) == 0 || len(inSub) > 9 {
		t.Errorf("%d processes in the nested group under the outer group's limit of 20 with 11 used", len(inSub))
	}
	before, _ := g.pids()
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range inSub {
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil && !strings.Contains(string(b), ") Z ") {
			t.Errorf("pid %d of the nested group still running after its Close", pid)
		}
	}
	after, _ := g.pids()
	if len(after) != len(before) || len(after) != 11 {
		t.Errorf("the outer group held %d processes before the nested one closed and %d after, want 11", len(before), len(after))
	}
	if err := sub.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	// A nested group still open when the outer one closes goes with it.
	sub2, err := g.Sub("s-2")
	if err != nil {
		t.Fatal(err)
	}
	start(sub2.ProcsFiles(), 2)
	in2, _ := sub2.pids()
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range append(in2, after...) {
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil && !strings.Contains(string(b), ") Z ") {
			t.Errorf("pid %d still running after the outer group's Close", pid)
		}
	}
	for _, c := range v1Controllers {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", c, m.parent, "outer")); !os.IsNotExist(err) {
			t.Errorf("outer group left in %s: %v", c, err)
		}
	}
	if _, err := g.Sub("s-3"); err == nil {
		t.Error("a closed group made a nested one")
	}
}
