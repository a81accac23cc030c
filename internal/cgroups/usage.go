package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
)

// maxStatFile bounds the stat files read here; cpu.stat is a few lines.
const maxStatFile = 64 << 10

// CPUUsage returns the CPU time the group's processes have used since it
// was created: v2 cpu.stat's usage_usec, v1 cpuacct.usage (nanoseconds) in
// the cpu hierarchy, where cpu and cpuacct are co-mounted ("cpu,cpuacct");
// with cpuacct mounted apart, the user and system times of the processes
// now in the group (/proc/<pid>/stat), which forget the processes that
// exited. Two readings a known time apart give the group's CPU use in
// cores (a reading below the previous one means a process exited).
func (g *Group) CPUUsage() (time.Duration, error) {
	if g.m.version == 1 {
		b, err := g.m.root.ReadFile(path.Join(g.dirs[1], "cpuacct.usage"))
		if errors.Is(err, fs.ErrNotExist) {
			// cpuacct is a hierarchy of its own, where Slipway makes no
			// groups: add up the group's processes' times instead.
			return g.procsCPU()
		}
		if err != nil {
			return 0, fmt.Errorf("reading CPU use of cgroup %s: %w", g.name, err)
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

// maxProcs bounds the processes procsCPU reads.
const maxProcs = 4096

// userHZ is the unit of /proc/<pid>/stat times (USER_HZ, 100 on Linux).
const userHZ = 100

// procsCPU adds up utime and stime of the processes in the group's first
// hierarchy's cgroup.procs.
func (g *Group) procsCPU() (time.Duration, error) {
	b, err := g.m.root.ReadFile(path.Join(g.dirs[0], "cgroup.procs"))
	if err != nil {
		return 0, fmt.Errorf("reading CPU use of cgroup %s: %w", g.name, err)
	}
	var ticks int64
	for i, line := range strings.Fields(string(b)) {
		if i >= maxProcs {
			break
		}
		pid, err := strconv.Atoi(line)
		if err != nil || pid <= 0 {
			continue
		}
		st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		ticks += statTicks(string(st))
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// statTicks reads utime + stime from a /proc/<pid>/stat line: fields 14
// and 15, counted after the command name in parentheses (which may hold
// spaces and parentheses); 0 when the line is malformed.
func statTicks(stat string) int64 {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil || u < 0 || s < 0 || u > 1<<40 || s > 1<<40 {
		return 0
	}
	return u + s
}
