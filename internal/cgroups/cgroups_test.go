package cgroups

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"app-1", true},
		{"build_42", true},
		{"0", true},
		{"", false},
		{"..", false},
		{".", false},
		{"a/b", false},
		{"/abs", false},
		{"../escape", false},
		{"App", false},
		{"a b", false},
		{"a\n", false},
		{strings.Repeat("a", 101), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateName(tt.name)
			if (err == nil) != tt.ok {
				t.Errorf("validateName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
			}
		})
	}
}

func TestOpenRefusesBadParent(t *testing.T) {
	root := v2Tree(t)
	for _, p := range []string{"", "..", "a/../b", "/x", "a//b", "slipway/.."} {
		if m, err := Open(Config{Root: root, Parent: p, AllowPlainTree: true}); err == nil {
			m.Close()
			t.Errorf("Open with Parent %q succeeded", p)
		}
	}
}

// v2Tree lays out a directory like the top of a cgroup v2 mount.
func v2Tree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "cgroup.controllers"), "cpuset cpu io memory pids\n")
	writeFile(t, filepath.Join(root, "cgroup.subtree_control"), "")
	writeFile(t, filepath.Join(root, "cgroup.procs"), "")
	return root
}

// v1Tree lays out a directory like /sys/fs/cgroup on a v1 host.
func v1Tree(t *testing.T, controllers ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, c := range controllers {
		if err := os.Mkdir(filepath.Join(root, c), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(root, c, "cgroup.procs"), "")
	}
	return root
}

func writeFile(t *testing.T, name, s string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name    string
		root    func(t *testing.T) string
		version int
		errHas  string
	}{
		{"v2", v2Tree, 2, ""},
		{"v1", func(t *testing.T) string { return v1Tree(t, "memory", "cpu", "pids", "cpuacct") }, 1, ""},
		{"v1 without pids", func(t *testing.T) string { return v1Tree(t, "memory", "cpu") }, 0, "pids"},
		{"v2 without memory", func(t *testing.T) string {
			root := v2Tree(t)
			writeFile(t, filepath.Join(root, "cgroup.controllers"), "cpu pids\n")
			return root
		}, 0, "memory"},
		{"hybrid unified mount", func(t *testing.T) string {
			root := v2Tree(t)
			writeFile(t, filepath.Join(root, "cgroup.controllers"), "")
			return root
		}, 0, "cpu, memory, pids"},
		{"empty", func(t *testing.T) string { return t.TempDir() }, 0, "no cgroup file system"},
		{"missing root", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") }, 0, "no cgroup mount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Open(Config{Root: tt.root(t), Parent: "slipway-test", AllowPlainTree: true})
			if tt.errHas != "" {
				if err == nil {
					m.Close()
					t.Fatalf("Open succeeded, want error containing %q", tt.errHas)
				}
				if !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("Open error %q does not mention %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if got := m.Version(); got != tt.version {
				t.Errorf("Version() = %d, want %d", got, tt.version)
			}
		})
	}
}

// TestOpenRefusesPlainTree: a directory that is not a cgroup file system
// is refused unless the config says it is a test tree.
func TestOpenRefusesPlainTree(t *testing.T) {
	_, err := Open(Config{Root: v2Tree(t), Parent: "slipway-test"})
	if err == nil || !strings.Contains(err.Error(), "not a cgroup v2 file system") {
		t.Fatalf("Open = %v, want a not-a-cgroup-file-system error", err)
	}
}

func TestV2PreparedTree(t *testing.T) {
	root := v2Tree(t)
	m, err := Open(Config{Root: root, Parent: "slipway-test", AllowPlainTree: true})
	if err != nil {
		t.Fatal(err)
	}
	g, err := m.New("app-1", Limits{MemoryBytes: 256 << 20, CPUs: 1.5, Pids: 100})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "slipway-test", "app-1")
	want := map[string]string{
		filepath.Join(root, "cgroup.subtree_control"):                 "+cpu +memory +pids",
		filepath.Join(root, "slipway-test", "cgroup.subtree_control"): "+cpu +memory +pids",
		filepath.Join(dir, "memory.max"):                              "268435456",
		filepath.Join(dir, "memory.swap.max"):                         "0",
		filepath.Join(dir, "cpu.max"):                                 "150000 100000",
		filepath.Join(dir, "pids.max"):                                "100",
	}
	got := map[string]string{}
	for f := range want {
		got[f] = readFile(t, f)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files after New (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{filepath.Join(dir, "cgroup.procs")}, g.ProcsFiles()); diff != "" {
		t.Errorf("ProcsFiles (-want +got):\n%s", diff)
	}

	writeFile(t, filepath.Join(dir, "memory.events"), "low 0\nhigh 0\nmax 7\noom 3\noom_kill 2\noom_group_kill 0\n")
	if n, err := g.OOMKills(); err != nil || n != 2 {
		t.Errorf("OOMKills() = %d, %v; want 2", n, err)
	}
	writeFile(t, filepath.Join(dir, "memory.current"), "12345\n")
	if n, err := g.MemoryCurrent(); err != nil || n != 12345 {
		t.Errorf("MemoryCurrent() = %d, %v; want 12345", n, err)
	}

	if err := g.Update(Limits{CPUs: 0.001}); err != nil {
		t.Fatal(err)
	}
	want = map[string]string{
		filepath.Join(dir, "memory.max"):      "max",
		filepath.Join(dir, "memory.swap.max"): "max",
		filepath.Join(dir, "cpu.max"):         "1000 100000", // the kernel's 1 ms minimum
		filepath.Join(dir, "pids.max"):        "max",
	}
	got = map[string]string{}
	for f := range want {
		got[f] = readFile(t, f)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files after Update (-want +got):\n%s", diff)
	}
	if err := g.Update(Limits{MemoryBytes: -1}); err == nil {
		t.Error("Update with a negative memory limit succeeded")
	}

	// A nested group (a console session's) has no limits or controllers
	// of its own: on v2 its parent, which holds processes, may enable none
	// for it. It goes with its parent.
	sub, err := g.Sub("session-1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{filepath.Join(dir, "session-1", "cgroup.procs")}, sub.ProcsFiles()); diff != "" {
		t.Errorf("nested ProcsFiles (-want +got):\n%s", diff)
	}
	for _, f := range []string{filepath.Join(dir, "cgroup.subtree_control"), filepath.Join(dir, "session-1", "memory.max")} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s written for a nested group: %v", f, err)
		}
	}
	if _, err := g.Sub("../escape"); err == nil {
		t.Error("a nested group took a name with a path in it")
	}

	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("group directory still there after Close: %v", err)
	}
	if err := sub.Close(); err != nil {
		t.Errorf("closing a nested group its parent closed: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "slipway-test")); !os.IsNotExist(err) {
		t.Errorf("parent directory still there after Manager.Close: %v", err)
	}
}

// preparedV1Group is a group named name with limits l in a manager of a
// prepared v1 tree (v1Tree) under the parent slipway-test; it returns the
// tree's root too.
func preparedV1Group(t *testing.T, name string, l Limits) (string, *Group) {
	t.Helper()
	root := v1Tree(t, "memory", "cpu", "pids")
	m, err := Open(Config{Root: root, Parent: "slipway-test", AllowPlainTree: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	g, err := m.New(name, l)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return root, g
}

func TestV1PreparedTree(t *testing.T) {
	root, g := preparedV1Group(t, "build-7", Limits{MemoryBytes: 64 << 20, CPUs: 2, Pids: 20})
	at := func(c, f string) string { return filepath.Join(root, c, "slipway-test", "build-7", f) }
	want := map[string]string{
		at("memory", "memory.limit_in_bytes"):       "67108864",
		at("memory", "memory.memsw.limit_in_bytes"): "67108864",
		at("cpu", "cpu.cfs_period_us"):              "100000",
		at("cpu", "cpu.cfs_quota_us"):               "200000",
		at("pids", "pids.max"):                      "20",
	}
	got := map[string]string{}
	for f := range want {
		got[f] = readFile(t, f)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files after New (-want +got):\n%s", diff)
	}
	wantProcs := []string{at("memory", "cgroup.procs"), at("cpu", "cgroup.procs"), at("pids", "cgroup.procs")}
	if diff := cmp.Diff(wantProcs, g.ProcsFiles()); diff != "" {
		t.Errorf("ProcsFiles (-want +got):\n%s", diff)
	}
	writeFile(t, at("memory", "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n")
	if n, err := g.OOMKills(); err != nil || n != 4 {
		t.Errorf("OOMKills() = %d, %v; want 4", n, err)
	}
}

// TestJoinArgv: the process writes its own pid into every file and then
// execs the command under the same pid.
func TestJoinArgv(t *testing.T) {
	dir := t.TempDir()
	files := []string{filepath.Join(dir, "a"), filepath.Join(dir, "b c")}
	for _, f := range files {
		writeFile(t, f, "")
	}
	argv := JoinArgv(files, []string{"/bin/sh", "-c", `echo "$$ $1"`, "sh", "arg with 'quotes' and $HOME"})
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		t.Fatal(err)
	}
	pid, arg, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if arg != "arg with 'quotes' and $HOME" {
		t.Errorf("argument arrived as %q", arg)
	}
	for _, f := range files {
		if got := strings.TrimSpace(readFile(t, f)); got != pid {
			t.Errorf("%s holds %q, want the command's pid %s", f, got, pid)
		}
	}

	// A file that cannot be written stops the command from running.
	argv = JoinArgv([]string{filepath.Join(dir, "missing", "cgroup.procs")}, []string{"/bin/echo", "ran"})
	out, err = exec.Command(argv[0], argv[1:]...).Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 125 || len(out) != 0 {
		t.Errorf("join failure: output %q, err %v; want exit 125 and no output", out, err)
	}
}

// TestV1SubGroupHierarchicalMemory: on v1 a memory group may be
// non-hierarchical (memory.use_hierarchy 0, inherited from its parent, on
// kernels before the mode was removed), and a group nested in it would not
// be held by its memory limit: a console session inside an instance could
// take all the host's memory. Sub makes the group hierarchical first.
func TestV1SubGroupHierarchicalMemory(t *testing.T) {
	root, g := preparedV1Group(t, "i-1", Limits{MemoryBytes: 64 << 20, Pids: 20})
	flag := filepath.Join(root, "memory", "slipway-test", "i-1", "memory.use_hierarchy")
	writeFile(t, flag, "0") // as the kernel shows an old host's
	sub, err := g.Sub("session-1")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if got := readFile(t, flag); got != "1" {
		t.Errorf("memory.use_hierarchy of a group with a nested one = %q, want 1", got)
	}
}
