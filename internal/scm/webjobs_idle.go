package scm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/webjobs"
)

// A triggered run that writes nothing and uses no CPU for the app's
// WEBJOBS_IDLE_TIMEOUT (two minutes by default) is taken for a job
// waiting on input that will never come, and aborted, as Kudu's
// IdleManager does ("Command '…' was aborted due to no output nor CPU
// activity for N seconds."). Its CPU time is that of every process of the
// app's user that carries the run's WEBJOBS_RUN_ID, as Kudu finds a job's
// processes by their environment.

const (
	// maxIdleScan bounds the processes one look reads.
	maxIdleScan = 4096
	// maxEnvironRead bounds what is read of one process's environment
	// (an app's hold its settings, some kilobytes): a look reads at most
	// maxIdleScan of them, every few seconds while a run lasts.
	maxEnvironRead = 64 << 10
)

// watchIdle looks at the run every few seconds until ctx ends, and calls
// abort once it has had neither output nor CPU time for idle.
func (h *Handler) watchIdle(ctx context.Context, s slipway.Site, runID string, out *jobLog, idle time.Duration, abort func(quiet time.Duration)) {
	uid := -1
	if h.cfg.Home != nil {
		if home, err := h.cfg.Home(ctx, s); err == nil {
			uid = home.UID
		}
	}
	every := max(min(idle/4, 5*time.Second), 250*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	cpu, cpuAt := int64(-1), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if c, ok := runCPU(uid, runID); ok && c != cpu {
				cpu, cpuAt = c, now
			}
			quiet := min(now.Sub(out.lastOutput()), now.Sub(cpuAt))
			if quiet >= idle {
				abort(quiet)
				return
			}
		}
	}
}

// runCPU is the CPU time, in clock ticks, of the processes of uid (any
// user's for -1) whose environment holds WEBJOBS_RUN_ID=runID, with their
// waited-for children's; false if there is none.
func runCPU(uid int, runID string) (int64, bool) {
	d, err := os.Open("/proc")
	if err != nil {
		return 0, false
	}
	defer d.Close()
	names, _ := d.Readdirnames(maxIdleScan)
	marker := []byte("\x00WEBJOBS_RUN_ID=" + runID + "\x00")
	var total int64
	found := false
	for _, n := range names {
		if n == "" || n[0] < '0' || n[0] > '9' {
			continue
		}
		if uid >= 0 {
			fi, err := os.Stat("/proc/" + n)
			if err != nil {
				continue
			}
			if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != uid {
				continue
			}
		}
		if !environHas("/proc/"+n+"/environ", marker) {
			continue
		}
		if t, ok := statCPU("/proc/" + n + "/stat"); ok {
			total += t
			found = true
		}
	}
	return total, found
}

// environHas reports whether a process's environment holds marker
// ("\x00NAME=value\x00"; the first variable is matched too).
func environHas(path string, marker []byte) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, maxEnvironRead))
	return bytes.Contains(append([]byte{0}, b...), marker)
}

// statCPU reads utime, stime, cutime and cstime from /proc/<pid>/stat.
func statCPU(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	// The command's name, in parentheses, may hold spaces: fields count
	// from after its last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	// After the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
	if len(f) < 15 {
		return 0, false
	}
	var sum int64
	for _, k := range []int{11, 12, 13, 14} {
		v, err := strconv.ParseInt(f[k], 10, 64)
		if err != nil {
			return 0, false
		}
		sum += v
	}
	return sum, true
}

// idleMessage is Kudu's message for a run aborted as idle.
func idleMessage(j webjobs.Job, args string, seconds int64) string {
	cmd := strings.TrimSpace(j.Script + " " + args)
	if len(cmd) > 15 {
		cmd = cmd[:15] + " ..."
	}
	return fmt.Sprintf("Command '%s %s' was aborted due to no output nor CPU activity for %d seconds. "+
		"You can increase the SCM_COMMAND_IDLE_TIMEOUT app setting (or WEBJOBS_IDLE_TIMEOUT if this is a WebJob) if needed.",
		j.Command, cmd, seconds)
}
