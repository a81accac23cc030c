// Package proctest helps tests stand for a crash of a tenant's server: it
// kills, as the kernel's out-of-memory killer would, the processes a
// system user runs.
package proctest

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Kill sends SIGKILL to every process that the system user name runs
// whose program's file name starts with exe, and returns how many. It
// needs root; the test is skipped without it.
func Kill(t *testing.T, name, exe string) int {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("killing another user's processes needs root")
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir("/proc")
	killed := 0
	for _, en := range entries {
		pid, err := strconv.Atoi(en.Name())
		if err != nil {
			continue
		}
		fi, err := os.Stat(filepath.Join("/proc", en.Name()))
		path, _ := os.Readlink(filepath.Join("/proc", en.Name(), "exe"))
		if err != nil || !strings.HasPrefix(filepath.Base(path), exe) || strconv.FormatUint(uint64(fi.Sys().(*syscall.Stat_t).Uid), 10) != u.Uid {
			continue
		}
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			killed++
		}
	}
	return killed
}
