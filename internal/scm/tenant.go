package scm

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slipway-dev/slipway"
)

// Home is a site's /home as the server reaches it.
type Home struct {
	// Dir is the directory the app sees as /home, ready for use (its
	// image mounted, with its quota).
	Dir string
	// UID and GID are the app's own OS user and group: the file API
	// works in the home as them, so that what it writes belongs to the
	// app and what the app's permissions forbid stays forbidden. 0 and 0:
	// as the server's own user (a server that is not root).
	UID, GID int
}

// tenantHome is an open home: an os.Root on it, so that no path the app
// controls leads out of it, and the app's identity.
type tenantHome struct {
	root     *os.Root
	uid, gid int
}

// openHome opens the site's home. Nil Config.Home: the file API is not
// served (404).
func (h *Handler) openHome(ctx context.Context, s slipway.Site) (*tenantHome, error) {
	if h.cfg.Home == nil {
		return nil, slipway.Errorf(slipway.ENOTFOUND, "The file API (/api/vfs, /api/zip) is not available on this server.")
	}
	home, err := h.cfg.Home(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("preparing the app's home: %w", err)
	}
	root, err := os.OpenRoot(home.Dir)
	if err != nil {
		return nil, fmt.Errorf("opening the app's home: %w", err)
	}
	return &tenantHome{root: root, uid: home.UID, gid: home.GID}, nil
}

func (t *tenantHome) Close() error { return t.root.Close() }

// do runs fn with the file-system identity of the app's user (fsuid and
// fsgid, which also drop root's file capabilities), on an OS thread of
// its own that ends with it: the identity is never seen by other
// goroutines, and is never switched back. Together with the os.Root this
// is two walls: a path that escaped the root would still meet the app's
// own permissions. The server's supplementary groups are dropped on that
// thread (switchFS); its real and effective identities are left as they
// are.
//
// What fn does may take as long as a client makes it (a folder streamed as
// a zip to a slow reader), and each call holds an OS thread meanwhile, so
// the threads are bounded server-wide (fileThreads): past the bound a call
// waits up to fileThreadWait, then is refused with 503, rather than take
// the process to Go's limit of 10,000 threads, which ends it.
func (t *tenantHome) do(fn func() error) error {
	if t.uid == 0 && t.gid == 0 {
		return fn()
	}
	slots := fileThreads // the place is given back where it was taken
	select {
	case slots <- struct{}{}:
	case <-time.After(fileThreadWait):
		return slipway.Errorf(slipway.EUNAVAILABLE, "The file API is busy: too many file transfers are under way on this server. Try again later.")
	}
	defer func() { <-slots }()
	done := make(chan error, 1)
	go func() {
		// Never unlocked: the thread exits with this goroutine. (A
		// process forked from it would get its parent-death signal then;
		// sandboxes are forked from sandbox.Start's own thread.)
		runtime.LockOSThread()
		defer func() {
			if v := recover(); v != nil {
				done <- fmt.Errorf("panic in the file API: %v", v)
			}
		}()
		if err := switchFS(t.uid, t.gid); err != nil {
			done <- err
			return
		}
		done <- fn()
	}()
	return <-done
}

// fileThreads holds a place for each OS thread the file API runs on
// (tenantHome.do); fileThreadWait is how long a call waits for one.
var (
	fileThreads    = make(chan struct{}, 256)
	fileThreadWait = 10 * time.Second
)

// switchFS sets the calling thread's fsuid and fsgid and checks that they
// took (setfsuid reports no error, only the previous value), and drops the
// thread's supplementary groups (the server's: root's, when it was started
// from a login shell), which file access would otherwise grant too. The
// raw system call changes this thread only, as the locked thread must
// (Go's syscall.Setgroups changes every thread of the process).
func switchFS(uid, gid int) error {
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0); e != 0 {
		return fmt.Errorf("dropping the server's groups for file access as the app's user: %w", e)
	}
	unix.SetfsgidRetGid(gid)
	unix.SetfsuidRetUid(uid)
	gotGID, _ := unix.SetfsgidRetGid(gid)
	gotUID, _ := unix.SetfsuidRetUid(uid)
	if gotUID != uid || gotGID != gid {
		return fmt.Errorf("switching to the app's user %d:%d for file access: the thread is %d:%d", uid, gid, gotUID, gotGID)
	}
	return nil
}

// fsError classifies an error of a file operation in the home, where rel
// names the file as the app sees it (/home/...).
func fsError(what, shown string, err error) error {
	var errno syscall.Errno
	errors.As(err, &errno)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errno == syscall.ENOTDIR:
		return slipway.Errorf(slipway.ENOTFOUND, "'%s' not found.", shown)
	case errno == syscall.EEXIST:
		return inTheWay(shown)
	case errno == syscall.ENOSPC || errno == syscall.EDQUOT:
		return slipway.Errorf(slipway.ECONFLICT, "Could not write to local resource '%s' due to error 'the app's storage (/home) is full: its quota is its pricing tier's; delete files or scale the plan up'.", shown)
	case strings.Contains(err.Error(), "escapes from parent") || errno == syscall.ELOOP:
		return slipway.Errorf(slipway.EFORBIDDEN, "'%s' is not reachable: a symbolic link on its way leads outside the app's home (/home).", shown)
	case errors.Is(err, fs.ErrPermission):
		return slipway.Errorf(slipway.EFORBIDDEN, "'%s': access is denied to the app's user.", shown)
	}
	return fmt.Errorf("%s %s: %w", what, shown, err)
}

// inTheWay refuses to make a folder where the app has a file.
func inTheWay(shown string) error {
	return slipway.Errorf(slipway.ECONFLICT, "'%s' is in the way: a file of that name stands where a folder is needed.", shown)
}
