package cgroups

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// maxStatFile bounds the stat files read here; cpu.stat is a few lines.
const maxStatFile = 64 << 10

// CPUUsage returns the CPU time the group's processes have used since it
// was created: v2 cpu.stat's usage_usec, v1 cpuacct.usage (nanoseconds) in
// the cpu hierarchy, where cpu and cpuacct are co-mounted ("cpu,cpuacct").
// Two readings a known time apart give the group's CPU use in cores.
func (g *Group) CPUUsage() (time.Duration, error) {
	if g.m.version == 1 {
		b, err := g.m.root.ReadFile(path.Join(g.dirs[1], "cpuacct.usage"))
		if err != nil {
			return 0, fmt.Errorf("reading CPU use of cgroup %s: %w (is cpuacct mounted with cpu?)", g.name, err)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("reading CPU use of cgroup %s: %q is not a count of nanoseconds", g.name, strings.TrimSpace(string(b)))
		}
		return time.Duration(n), nil
	}
	p := path.Join(g.dirs[0], "cpu.stat")
	b, err := g.m.root.ReadFile(p)
	if err != nil {
		return 0, fmt.Errorf("reading CPU use of cgroup %s: %w", g.name, err)
	}
	if len(b) > maxStatFile {
		b = b[:maxStatFile]
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil || n < 0 || n > int64(1<<63-1)/1000 {
				return 0, fmt.Errorf("reading CPU use of cgroup %s: bad usage_usec %q", g.name, v)
			}
			return time.Duration(n) * time.Microsecond, nil
		}
	}
	return 0, fmt.Errorf("reading CPU use of cgroup %s: no usage_usec line in %s", g.name, g.m.abs(p))
}
