package cgroups

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// testGroup opens a manager on the test tree root and makes group i-1.
func testGroup(t *testing.T, root string) *Group {
	t.Helper()
	m, err := Open(Config{Root: root, Parent: "slipway-test", AllowPlainTree: true})
	if err != nil {
		t.Fatal(err)
	}
	g, err := m.New("i-1", Limits{CPUs: 1})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestCPUUsage(t *testing.T) {
	t.Run("v2", func(t *testing.T) {
		root := v2Tree(t)
		g := testGroup(t, root)
		f := filepath.Join(root, "slipway-test", "i-1", "cpu.stat")
		writeFile(t, f, "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n")
		if d, err := g.CPUUsage(); err != nil || d != 2500*time.Millisecond {
			t.Fatalf("CPUUsage() = %v, %v; want 2.5s", d, err)
		}
		for _, bad := range []string{"user_usec 1\n", "usage_usec -4\n", "usage_usec 99999999999999999999\n", "usage_usec x\n"} {
			writeFile(t, f, bad)
			if d, err := g.CPUUsage(); err == nil {
				t.Errorf("CPUUsage() of %q = %v, nil; want an error", bad, d)
			}
		}
	})
	t.Run("v1", func(t *testing.T) {
		root := v1Tree(t, "memory", "cpu", "pids")
		g := testGroup(t, root)
		writeFile(t, filepath.Join(root, "cpu", "slipway-test", "i-1", "cpuacct.usage"), "1500000000\n")
		if d, err := g.CPUUsage(); err != nil || d != 1500*time.Millisecond {
			t.Fatalf("CPUUsage() = %v, %v; want 1.5s", d, err)
		}
	})
}

func TestStatTicks(t *testing.T) {
	for line, want := range map[string]int64{
		"1234 (gunicorn: worker [app]) S 1 1234 1234 0 -1 4194560 5000 0 0 0 250 30 0 0 20 0 1 0 100 0 0": 280,
		"1 (a) b c":                             0,
		"garbage":                               0,
		"5 (x) S 1 1 1 0 -1 0 0 0 0 0 -3 4 0 0": 0,
	} {
		if got := statTicks(line); got != want {
			t.Errorf("statTicks(%q) = %d, want %d", line, got, want)
		}
	}
}

// TestCPUUsageProcs: on v1 with cpuacct mounted apart, the group's CPU
// time is its processes' (here this test's own process).
func TestCPUUsageProcs(t *testing.T) {
	root := v1Tree(t, "memory", "cpu", "pids")
	g := testGroup(t, root)
	procs := filepath.Join(root, "memory", "slipway-test", "i-1", "cgroup.procs")
	writeFile(t, procs, "")
	if d, err := g.CPUUsage(); err != nil || d != 0 {
		t.Fatalf("CPUUsage() of an empty group = %v, %v", d, err)
	}
	end := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(end) {
	}
	writeFile(t, procs, strconv.Itoa(os.Getpid())+"\nnot-a-pid\n999999999\n")
	if d, err := g.CPUUsage(); err != nil || d < 10*time.Millisecond {
		t.Fatalf("CPUUsage() of this process = %v, %v; want at least the 50 ms it spun", d, err)
	}
}
