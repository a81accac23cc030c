package sandbox

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAttackOtherAppsUsers: an app lists the machine's users and groups to
// learn which other apps (tenants) the host runs — every app's user is
// "sw-<app name>" (UserName). Inside a sandbox /etc/passwd and /etc/group
// hold the host's accounts less every other app's user, group and group
// membership; the app's own user still resolves (id, getpass.getuser()).
func TestAttackOtherAppsUsers(t *testing.T) {
	s := confinedSandbox(t)
	etc := t.TempDir()
	passwd := "root:x:0:0:root:/root:/bin/bash\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n" +
		"sw-other-tenant:x:64124:64124:Slipway app user:/home:/usr/sbin/nologin\n" +
		"sw-mine:x:64123:64123:Slipway app user:/home:/usr/sbin/nologin\n"
	group := "root:x:0:\n" +
		"staff:x:50:sw-other-tenant,alice,sw-mine\n" +
		"sw-other-tenant:x:64124:\n" +
		"sw-mine:x:64123:\n" +
		"nogroup:x:65534:\n"
	for name, content := range map[string]string{"passwd": passwd, "group": group} {
		if err := os.WriteFile(filepath.Join(etc, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := hostEtc
	hostEtc = etc
	t.Cleanup(func() { hostEtc = old })

	out := mustSucceed(t, shell(t, s, appHome(t), `cat /etc/passwd /etc/group; id -un; id -gn`))
	want := "root:x:0:0:root:/root:/bin/bash\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n" +
		"sw-mine:x:64123:64123:Slipway app user:/home:/usr/sbin/nologin\n" +
		"root:x:0:\n" +
		"staff:x:50:alice,sw-mine\n" +
		"sw-mine:x:64123:\n" +
		"nogroup:x:65534:\n" +
		"sw-mine\nsw-mine\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("accounts inside the sandbox (-want +got):\n%s", diff)
	}
}
