package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAttackLoaderVariablesNeverReachRoot: an app's environment comes from
// its owner (app settings, an SSH client's variables). bwrap, nsenter, the
// cgroup join's sh and setpriv run as root (or as the server's user) before
// the app's user takes over; a loader variable among what they are given
// (LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, GCONV_PATH...) would make them load
// the app's code as root, on the host. Here LD_DEBUG_OUTPUT stands for them
// all: a root process that honours it writes a file at a host path the app
// chose. The app's own command still gets every variable.
func TestAttackLoaderVariablesNeverReachRoot(t *testing.T) {
	s := confinedSandbox(t)
	hostDir := t.TempDir()
	out := filepath.Join(hostDir, "ld")
	r := shell(t, s, appHome(t), `echo "app: $LD_DEBUG_OUTPUT $LD_LIBRARY_PATH $PS4 $LANGUAGE."`, func(sp *Spec) {
		sp.Env = append(sp.Env, "LD_DEBUG=files", "LD_DEBUG_OUTPUT="+out, "LD_LIBRARY_PATH=/nowhere", "PS4=+ ", "LANGUAGE=../../../../home/x")
	})
	got := mustSucceed(t, r)
	written, _ := filepath.Glob(out + "*")
	for _, f := range written {
		b, _ := os.ReadFile(f)
		t.Errorf("a process outside the sandbox honoured the app's LD_DEBUG_OUTPUT: %s:\n%.300s", f, b)
	}
	// (The app's own loader writes its debug output where it can.)
	if want := "app: " + out + " /nowhere +  ../../../../home/x."; !strings.Contains(got, want) {
		t.Errorf("the app's command saw %q, want %q", got, want)
	}
}

// TestAttack_ShellFunctionsNeverReachRoot: the build's environment holds
// the app's settings under the names their owner gave them (any text with
// a letter, digit or '_'), and bash imports a variable named
// BASH_FUNC_<name>%% as the function <name> — even as /bin/sh, in POSIX
// mode, where a function named echo or [ comes before the builtin. Where
// /bin/sh is bash, the cgroup join's script (echo, [) and the shell that
// closes the PID namespace's descriptor, both root, would run the app's
// function. The variable must reach only the app's own command.
func TestAttack_ShellFunctionsNeverReachRoot(t *testing.T) {
	s := confinedSandbox(t)
	fn := "BASH_FUNC_echo%%=() { id; }"
	spec := Spec{
		Argv: []string{"/usr/bin/env"},
		Env:  []string{"PATH=/usr/bin:/bin", "HOME=/home", fn, "BASH_FUNC_[()=() { id; }"},
		Dir:  "/home", Home: appHome(t), UID: testUID, GID: testGID,
	}
	cmd, err := s.Command(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range cmd.Env {
		if strings.HasPrefix(kv, "BASH_FUNC_") {
			t.Errorf("%s runs as root with the app's shell function %q", cmd.Path, kv)
		}
	}
	got := mustSucceed(t, run(t, s, spec))
	if !strings.Contains(got, fn+"\n") {
		t.Errorf("the app's command lost %q; its environment:\n%s", fn, got)
	}
}
