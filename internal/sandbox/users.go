package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// maxUserName is the longest user name useradd accepts on common systems.
const maxUserName = 32

var (
	userNameRE     = regexp.MustCompile(`^[a-z_][a-z0-9_-]*$`)
	userNameUnsafe = regexp.MustCompile(`[^a-z0-9-]+`)
)

// UserName returns the system user name for an app: "sw-" plus the app name
// lower-cased, with anything but letters, digits and '-' replaced by '-'.
// Names longer than 32 characters are shortened and end in a hash of the app
// name, so distinct apps keep distinct users.
func UserName(app string) string { return UserNameWith("sw-", app) }

// UserNameWith is UserName for another kind of tenant than an app, whose
// users' names start with prefix instead (e.g. "swpg-" for PostgreSQL
// servers), so that the two kinds never share a user.
func UserNameWith(prefix, app string) string {
	s := strings.Trim(userNameUnsafe.ReplaceAllString(strings.ToLower(app), "-"), "-")
	name := prefix + s
	if len(name) <= maxUserName && s != "" {
		return name
	}
	sum := sha256.Sum256([]byte(app))
	suffix := "-" + hex.EncodeToString(sum[:4])
	keep := maxUserName - len(suffix)
	if len(name) > keep {
		name = name[:keep]
	}
	return strings.TrimRight(name, "-") + suffix
}

// EnsureTenantUser is EnsureUser for the system user of a tenant's
// resource: UserNameWith(prefix, resource), made for (and owned by) that
// resource alone.
func EnsureTenantUser(ctx context.Context, prefix, resource string) (uid, gid int, err error) {
	return EnsureUser(ctx, UserNameWith(prefix, resource), prefix+strings.ToLower(resource))
}

// legacyUserComment is the comment of the users made before each user
// recorded its owner: the first owner to ask for one claims it.
const legacyUserComment = "Slipway app user"

// userComment is the comment (GECOS) that records a user's owner.
func userComment(owner string) string {
	if !ownerSafe.MatchString(owner) {
		sum := sha256.Sum256([]byte(owner))
		owner = "sha256-" + hex.EncodeToString(sum[:])
	}
	return "Slipway user of " + owner
}

var ownerSafe = regexp.MustCompile(`^[a-z0-9._-]{1,200}$`)

// EnsureUser makes sure a system user (and its group of the same name)
// exists for owner (the tenant's resource it is made for, as
// EnsureTenantUser names it) and returns its uid and gid. It is
// idempotent: the user owner was given is returned as is. The owner is
// recorded in the user's comment, and a user recorded for another owner is
// refused: a long name is shortened to a hash of 32 bits (UserNameWith),
// which a tenant can match with another name in minutes, and two tenants
// must never share a uid. A user made before owners were recorded is
// claimed by the first owner that asks for it. A new user is created with
// useradd --system --no-create-home --shell <nologin> --user-group and home
// /home, which is where its home is mounted inside the sandbox. Creating a
// user needs root. name must be a valid user name of at most 32 characters
// (see UserName).
func EnsureUser(ctx context.Context, name, owner string) (uid, gid int, err error) {
	if len(name) > maxUserName || !userNameRE.MatchString(name) {
		return 0, 0, fmt.Errorf("ensuring user %q: not a valid user name (lower-case letters, digits, '_' and '-', at most %d characters)", name, maxUserName)
	}
	comment := userComment(owner)
	if uid, gid, ok, err := lookupUser(name); err != nil || ok {
		if err == nil {
			err = claimUser(ctx, name, comment)
		}
		return uid, gid, err
	}
	if os.Geteuid() != 0 {
		return 0, 0, fmt.Errorf("ensuring user %q: creating users needs root", name)
	}
	useradd, err := exec.LookPath("useradd")
	if err != nil {
		useradd = "/usr/sbin/useradd"
	}
	args := []string{"--system", "--no-create-home", "--home-dir", "/home",
		"--shell", nologinShell(), "--user-group", "--comment", comment, name}
	// useradd exits 10 when /etc/passwd is locked by another writer; retry a
	// few times. Exit 9 means the name was taken meanwhile: look it up.
	for attempt := 0; ; attempt++ {
		out, err := exec.CommandContext(ctx, useradd, args...).CombinedOutput()
		if err == nil {
			break
		}
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) && exitErr.ExitCode() == 9 {
			break
		}
		if errors.As(err, &exitErr) && exitErr.ExitCode() == 10 && attempt < 5 {
			select {
			case <-ctx.Done():
				return 0, 0, fmt.Errorf("ensuring user %q: %w", name, ctx.Err())
			case <-time.After(time.Duration(attempt+1) * 100 * time.Millisecond):
			}
			continue
		}
		return 0, 0, fmt.Errorf("ensuring user %q: useradd: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	uid, gid, ok, err := lookupUser(name)
	if err != nil {
		return 0, 0, err
	}
	if !ok {
		return 0, 0, fmt.Errorf("ensuring user %q: useradd succeeded but the user cannot be looked up", name)
	}
	if err := claimUser(ctx, name, comment); err != nil { // made meanwhile by another (exit 9)
		return 0, 0, err
	}
	return uid, gid, nil
}

// claimUser checks that the existing user name was made for the owner
// whose comment is want, claiming a user made before owners were recorded.
func claimUser(ctx context.Context, name, want string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("looking up user %q: %w", name, err)
	}
	switch u.Name {
	case want:
		return nil
	case legacyUserComment:
		usermod, err := exec.LookPath("usermod")
		if err != nil {
			usermod = "/usr/sbin/usermod"
		}
		if out, err := exec.CommandContext(ctx, usermod, "--comment", want, name).CombinedOutput(); err != nil {
			return fmt.Errorf("recording the owner of user %q: usermod: %w: %s", name, err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	return fmt.Errorf("the system user %q belongs to another resource (%q): a long name is shortened to a hash, and this name's matches another's; give the resource another name", name, u.Name)
}

func lookupUser(name string) (uid, gid int, ok bool, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return 0, 0, false, nil
		}
		return 0, 0, false, fmt.Errorf("looking up user %q: %w", name, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return 0, 0, false, fmt.Errorf("looking up user %q: non-numeric uid %q / gid %q", name, u.Uid, u.Gid)
	}
	return uid, gid, true, nil
}

func nologinShell() string {
	for _, p := range []string{"/usr/sbin/nologin", "/sbin/nologin"} {
		if isExecutable(p) {
			return p
		}
	}
	return "/bin/false"
}

// homeDirs are created in an app's home, as App Service's /home has them
// (docs/appservice.md §1).
var homeDirs = []string{"site", "site/wwwroot", "LogFiles", "data"}

// PrepareHome creates an app's home directory dir (mode 0700) with
// site/wwwroot, LogFiles and data (mode 0755), all owned by uid:gid. It is
// idempotent. Existing entries must be real directories: a symlink in their
// place is refused, and work below dir goes through os.Root, so nothing
// outside dir is ever changed even though the app user owns it.
// uid 0 and gid 0 leave ownership alone.
func PrepareHome(dir string, uid, gid int) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("preparing home: %q is not an absolute path", dir)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("preparing home: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("preparing home: %w", err)
	}
	f, err := os.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("preparing home: opening %s (must be a directory, not a symlink): %w", dir, err)
	}
	defer f.Close()
	if uid != 0 || gid != 0 {
		if err := f.Chown(uid, gid); err != nil {
			return fmt.Errorf("preparing home: %w", err)
		}
	}
	if err := f.Chmod(0o700); err != nil {
		return fmt.Errorf("preparing home: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("preparing home: %w", err)
	}
	defer root.Close()
	for _, sub := range homeDirs {
		if err := ensureDir(root, filepath.FromSlash(sub), 0o755, uid, gid); err != nil {
			return fmt.Errorf("preparing home %s: %w", dir, err)
		}
	}
	return nil
}

func ensureDir(root *os.Root, p string, perm os.FileMode, uid, gid int) error {
	if err := root.Mkdir(p, perm); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	fi, err := root.Lstat(p)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s exists and is not a directory (%v)", p, fi.Mode().Type())
	}
	if uid != 0 || gid != 0 {
		if err := root.Lchown(p, uid, gid); err != nil {
			return err
		}
	}
	return root.Chmod(p, perm)
}
