package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestUserName(t *testing.T) {
	tests := []struct{ app, want string }{
		{"todo", "sw-todo"},
		{"My_App.Prod", "sw-my-app-prod"},
		{"todo-staging", "sw-todo-staging"},
		{"--weird--", "sw-weird"},
		{"", "sw" + hashSuffix("")},
		{"a-very-long-app-name-that-exceeds-limits", "sw-a-very-long-app-name" + hashSuffix("a-very-long-app-name-that-exceeds-limits")},
	}
	for _, tt := range tests {
		t.Run(tt.app, func(t *testing.T) {
			got := UserName(tt.app)
			if got != tt.want {
				t.Errorf("UserName(%q) = %q, want %q", tt.app, got, tt.want)
			}
			if len(got) > maxUserName || !userNameRE.MatchString(got) {
				t.Errorf("UserName(%q) = %q is not a valid user name", tt.app, got)
			}
		})
	}
	if UserName("a-very-long-app-name-that-exceeds-limits-1") == UserName("a-very-long-app-name-that-exceeds-limits-2") {
		t.Error("long names that differ only at the end map to the same user")
	}
}

// hashSuffix is "-" plus the first 8 hex digits of sha256(app).
func hashSuffix(app string) string {
	sum := sha256.Sum256([]byte(app))
	return "-" + hex.EncodeToString(sum[:4])
}

func TestEnsureUserRejectsBadNames(t *testing.T) {
	for _, name := range []string{"", "Root", "sw app", "sw-" + strings.Repeat("x", 30), "1abc", "a:b"} {
		if _, _, err := EnsureUser(context.Background(), name, "test"); err == nil {
			t.Errorf("EnsureUser(%q) succeeded, want an error", name)
		}
	}
}

// TestEnsureUserCreatesSystemUserOnce creates a real system user (and removes
// it afterwards) and checks the call is idempotent.
func TestEnsureUserCreatesSystemUserOnce(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("useradd"); err != nil {
		skipOrFatal(t, "useradd not found (apt-get install passwd)")
	}
	name := fmt.Sprintf("sw-test-%d", time.Now().UnixNano()%1_000_000_000)
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Logf("userdel %s: %v %s", name, err, out)
		}
	})
	ctx := context.Background()
	uid, gid, err := EnsureUser(ctx, name, "test")
	if err != nil {
		t.Fatal(err)
	}
	if uid == 0 || gid == 0 {
		t.Fatalf("EnsureUser = %d:%d, want a non-root user", uid, gid)
	}
	uid2, gid2, err := EnsureUser(ctx, name, "test")
	if err != nil || uid2 != uid || gid2 != gid {
		t.Fatalf("second EnsureUser = %d:%d, %v; want %d:%d", uid2, gid2, err, uid, gid)
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	if u.HomeDir != "/home" {
		t.Errorf("home dir = %q, want /home (where the sandbox mounts it)", u.HomeDir)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil || g.Name != name {
		t.Errorf("primary group = %v, %v; want a group named %s", g, err, name)
	}
	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(string(passwd), "\n") {
		if strings.HasPrefix(l, name+":") {
			line = l
		}
	}
	if !strings.HasSuffix(line, ":"+nologinShell()) {
		t.Errorf("passwd line %q does not end in the nologin shell %s", line, nologinShell())
	}
	if _, err := os.Stat("/home/" + name); err == nil {
		t.Errorf("/home/%s was created; want --no-create-home", name)
	}
}

// TestPrepareHome: the App Service /home layout (docs/appservice.md §1), owned by
// the app user, home mode 0700; idempotent; symlinks refused.
func TestPrepareHome(t *testing.T) {
	requireRoot(t)
	home := filepath.Join(t.TempDir(), "homes", "todo")
	for i := 0; i < 2; i++ { // idempotent
		if err := PrepareHome(home, testUID, testGID); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]os.FileMode{"": 0o700, "site": 0o755, "site/wwwroot": 0o755, "LogFiles": 0o755, "data": 0o755}
	for rel, mode := range want {
		fi, err := os.Lstat(filepath.Join(home, rel))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if !fi.IsDir() || fi.Mode().Perm() != mode || st.Uid != testUID || st.Gid != testGID {
			t.Errorf("%q: dir=%v mode=%v owner=%d:%d; want dir mode=%v owner=%d:%d",
				rel, fi.IsDir(), fi.Mode().Perm(), st.Uid, st.Gid, mode, testUID, testGID)
		}
	}

	// An app that replaced LogFiles with a symlink must not make Slipway
	// chown or chmod the target.
	target := t.TempDir()
	if err := os.Chmod(target, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(home, "LogFiles")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(home, "LogFiles")); err != nil {
		t.Fatal(err)
	}
	if err := PrepareHome(home, testUID, testGID); err == nil {
		t.Error("PrepareHome accepted a symlink in place of LogFiles")
	}
	fi, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 || fi.Mode().Perm() != 0o711 {
		t.Errorf("symlink target changed: owner %d mode %v", st.Uid, fi.Mode().Perm())
	}
}

// TestAttack_UserOfAnotherOwner: names over 32 characters share a user
// name when their 32-bit hashes match (UserNameWith), which a tenant can
// find for a victim's name in minutes of CPU. The user records the
// resource it was made for, and another resource asking for the same user
// is refused rather than given the victim's uid. A user made before
// owners were recorded is claimed by the first owner that asks.
func TestAttack_UserOfAnotherOwner(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("useradd"); err != nil {
		skipOrFatal(t, "useradd not found (apt-get install passwd)")
	}
	ctx := context.Background()
	newName := func(tag string) string {
		name := fmt.Sprintf("sw-t%s-%d", tag, time.Now().UnixNano()%1_000_000_000)
		t.Cleanup(func() {
			if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
				t.Logf("userdel %s: %v %s", name, err, out)
			}
		})
		return name
	}
	name := newName("own")
	uid, _, err := EnsureUser(ctx, name, "sw-victims-long-application-name-000")
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := EnsureUser(ctx, name, "sw-victims-long-application-name-000"); err != nil || got != uid {
		t.Fatalf("the owner's second call = %d, %v; want %d", got, err, uid)
	}
	if got, _, err := EnsureUser(ctx, name, "sw-attackers-name-with-the-same-hash"); err == nil {
		t.Fatalf("another owner was given the victim's user (uid %d)", got)
	} else if !strings.Contains(err.Error(), "belongs to another resource") {
		t.Errorf("refusal = %v", err)
	}

	// A user made before owners were recorded: the first owner claims it.
	legacy := newName("old")
	if out, err := exec.Command("useradd", "--system", "--no-create-home", "--home-dir", "/home", "--user-group", "--comment", legacyUserComment, legacy).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v %s", err, out)
	}
	if _, _, err := EnsureUser(ctx, legacy, "sw-first"); err != nil {
		t.Fatalf("claiming a legacy user: %v", err)
	}
	if _, _, err := EnsureUser(ctx, legacy, "sw-second"); err == nil {
		t.Fatal("a claimed legacy user was given to another owner")
	}
	if _, _, err := EnsureTenantUser(ctx, "sw-", "Not:Safe,Owner"); err != nil {
		t.Fatalf("an owner with unsafe characters: %v", err)
	} else {
		userdel := exec.Command("userdel", UserName("Not:Safe,Owner"))
		userdel.Run()
	}
}
