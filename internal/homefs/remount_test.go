package homefs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestRemountWhileInUseElsewhere: an unmounted home whose file system is
// still alive — detached lazily while a file on it was open, or kept by a
// copy of the mount in another mount namespace (a process that unshared
// while the home was mounted) — was mounted again through a second loop
// device: a second ext4 over the same image, which saw none of the first
// one's unwritten changes and would corrupt the image writing its own.
// Ensure mounts the live file system again instead.
func TestRemountWhileInUseElsewhere(t *testing.T) {
	for _, holder := range []string{"open file", "mount namespace"} {
		t.Run(holder, func(t *testing.T) {
			h, base := newHomes(t)
			ctx := t.Context()
			home := mkdir(t, filepath.Join(base, "held", "home"), 0)
			if _, err := h.Ensure(ctx, "held", home, 20*mib, nobody, nobody); err != nil {
				t.Fatal(err)
			}
			release := hold(t, holder, home)
			defer release()
			// Written after the holder took its reference: only the live
			// file system has it until it is written back.
			if err := os.WriteFile(filepath.Join(home, "late.txt"), []byte("late"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := h.Unmount("held", home); err != nil {
				t.Fatal(err)
			}
			// A larger quota meanwhile: an offline resize would run e2fsck
			// and resize2fs over the live file system's image.
			// It grows online where the kernel allows (see TestLifecycle).
			if size, err := h.Ensure(ctx, "held", home, 24*mib, nobody, nobody); err != nil || size != 20*mib && size != 24*mib {
				t.Fatalf("Ensure with a larger quota = %d, %v; want the size before or after an online growth", size, err)
			}
			if got, err := os.ReadFile(filepath.Join(home, "late.txt")); err != nil || string(got) != "late" {
				t.Errorf("after mounting again: late.txt = %q, %v", got, err)
			}
			if devs := loopsUnder(t, base); len(devs) != 1 {
				t.Errorf("the image is attached to %d loop devices, want 1: %v", len(devs), devs)
			}
			release()
			if err := h.Unmount("held", home); err != nil {
				t.Fatal(err)
			}
			if devs := loopsLeft(t, base); len(devs) != 0 {
				t.Errorf("loop devices attached after the last user went: %v", devs)
			}
		})
	}
}

// hold keeps the file system mounted at home alive past an unmount: by an
// open file on it, or by a process in a mount namespace of its own, which
// holds a copy of every mount. It returns a function that lets go (and
// waits until the reference is gone).
func hold(t *testing.T, how, home string) (release func()) {
	t.Helper()
	switch how {
	case "open file":
		f, err := os.Create(filepath.Join(home, "open"))
		if err != nil {
			t.Fatal(err)
		}
		return func() { f.Close() }
	default:
		unshare, err := exec.LookPath("unshare")
		if err != nil {
			t.Skip("no unshare here")
		}
		cmd := exec.Command(unshare, "--mount", "--propagation", "private", "sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait until the process is in its own namespace.
		self, _ := os.Readlink("/proc/self/ns/mnt")
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if ns, err := os.Readlink("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/mnt"); err == nil && ns != self {
				if exe, _ := os.Readlink("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/exe"); filepath.Base(exe) == "sleep" {
					break
				}
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatal("unshare did not start in a namespace of its own within 10 s")
			}
		}
		done := false
		return func() {
			if !done {
				done = true
				cmd.Process.Kill()
				cmd.Wait()
			}
		}
	}
}
