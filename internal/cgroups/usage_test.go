package cgroups

import (
	"path/filepath"
	"testing"
	"time"
)

func TestCPUUsage(t *testing.T) {
	t.Run("v2", func(t *testing.T) {
		root := v2Tree(t)
		m, err := Open(Config{Root: root, Parent: "slipway-test", AllowPlainTree: true})
		if err != nil {
			t.Fatal(err)
		}
		g, err := m.New("i-1", Limits{CPUs: 1})
		if err != nil {
			t.Fatal(err)
		}
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
		m, err := Open(Config{Root: root, Parent: "slipway-test", AllowPlainTree: true})
		if err != nil {
			t.Fatal(err)
		}
		g, err := m.New("i-1", Limits{CPUs: 1})
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(root, "cpu", "slipway-test", "i-1", "cpuacct.usage"), "1500000000\n")
		if d, err := g.CPUUsage(); err != nil || d != 1500*time.Millisecond {
			t.Fatalf("CPUUsage() = %v, %v; want 1.5s", d, err)
		}
	})
}
