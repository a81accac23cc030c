package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestSSHSessionInsideInstance: as App Service's SSH is into the app's
// container, a session runs inside a running instance — the one its
// ARRAffinity cookie names (`az webapp ssh --instance`) — with that
// instance's environment and processes, and ends when the instance
// restarts.
func TestSSHSessionInsideInstance(t *testing.T) {
	needSandbox(t, "SSH sessions need")
	s := startServer(t)
	s.createApp("sshin")
	s.mustCLI("", "appservice", "plan", "update", "-g", "rg-sshin", "-n", "plan-sshin", "--number-of-workers", "2")
	var list []struct {
		Name string `json:"name"`
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		list = nil
		out := s.mustCLI("", "webapp", "list-instances", "-g", "rg-sshin", "-n", "sshin", "-o", "json")
		json.Unmarshal([]byte(out), &list)
		if len(list) == 2 && strings.Count(out, "READY") == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("two ready instances never came: %+v", list)
		}
	}
	run := func(instance, command string) string {
		t.Helper()
		c, _ := s.sshTunnelTo("sshin", instance)
		defer c.Close() // an app holds at most 8 tunnels
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		out, err := sess.CombinedOutput(command)
		if err != nil {
			t.Fatalf("%s: %v: %s", command, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	for _, in := range list {
		// Its host name is the instance's, as a container's is its own.
		if got := run(in.Name, "echo $WEBSITE_INSTANCE_ID $(hostname)"); got != in.Name+" "+in.Name[:12] {
			t.Errorf("a session for instance %s ran in %q", in.Name, got)
		}
	}
	// The instance's processes hold a marker the session then sees.
	if got := run(list[1].Name, "ps -eo args= | grep -c '[g]unicorn'"); got == "0" {
		t.Errorf("the session does not see its instance's gunicorn: %q", got)
	}

	// Slipway's own CLI opens the same session (`webapp ssh`, as az's):
	// without a terminal the shell reads its commands from standard input,
	// and the CLI exits with the shell's status.
	var out, errb bytes.Buffer
	code := Run(t.Context(), []string{"webapp", "ssh", "-g", "rg-sshin", "-n", "sshin", "--instance", list[1].Name},
		s.env, strings.NewReader("echo id=$WEBSITE_INSTANCE_ID\nexit 3\n"), &out, &errb)
	if code != 3 || !strings.Contains(out.String(), "id="+list[1].Name+"\n") || strings.Contains(errb.String(), "ERROR") {
		t.Errorf("slipway webapp ssh --instance: exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	if _, errs, code := s.cli("", "webapp", "ssh", "-g", "rg-sshin", "-n", "sshin", "--instance", "../x"); code != 2 || !strings.Contains(errs, "not an instance id") {
		t.Errorf("slipway webapp ssh with a bad --instance: exit %d: %s", code, errs)
	}

	// A restart replaces the instance, and its sessions end with it.
	c, _ := s.sshTunnelTo("sshin", list[0].Name)
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Start("sleep 300"); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() { ended <- sess.Wait() }()
	time.Sleep(500 * time.Millisecond)
	s.mustCLI("", "webapp", "restart", "-g", "rg-sshin", "-n", "sshin")
	select {
	case <-ended:
	case <-time.After(60 * time.Second):
		t.Fatal("a session outlived the restart of its instance")
	}

}

// TestSSHSessionInsideSlotInstance: a new deployment slot serves the
// default page at once, as a new app does, and a session opened on its
// Kudu (`webapp ssh --slot staging`) runs inside the slot's instance, not
// production's.
func TestSSHSessionInsideSlotInstance(t *testing.T) {
	needSandbox(t, "SSH sessions need")
	s := startServer(t)
	s.createAppOn("sshslot", "S1")
	s.mustCLI("", "webapp", "deployment", "slot", "create", "-g", "rg-sshslot", "-n", "sshslot", "--slot", "staging")
	// A new slot is a live app: it serves the default page at once.
	if code, body := s.get(s.host("sshslot-staging"), "/"); code != 200 || !strings.Contains(body, "Slipway") {
		t.Errorf("a new slot answers %d %.200s, want the default page", code, body)
	}
	var slotID string
	for deadline := time.Now().Add(2 * time.Minute); slotID == ""; time.Sleep(200 * time.Millisecond) {
		var list []struct {
			Name string `json:"name"`
		}
		out := s.mustCLI("", "webapp", "list-instances", "-g", "rg-sshslot", "-n", "sshslot", "--slot", "staging", "-o", "json")
		if json.Unmarshal([]byte(out), &list) == nil && len(list) == 1 && strings.Contains(out, "READY") {
			slotID = list[0].Name
		} else if time.Now().After(deadline) {
			t.Fatalf("the slot's instance never became ready: %s", out)
		}
	}
	var out, errb bytes.Buffer
	code := Run(t.Context(), []string{"webapp", "ssh", "-g", "rg-sshslot", "-n", "sshslot", "--slot", "staging"},
		s.env, strings.NewReader("echo $WEBSITE_INSTANCE_ID $WEBSITE_SITE_NAME\n"), &out, &errb)
	if f := strings.Fields(out.String()); code != 0 || len(f) != 2 || f[0] != slotID || !strings.Contains(f[1], "sshslot") {
		t.Errorf("slipway webapp ssh --slot staging: exit %d, want the slot's instance %s\nstdout:\n%s\nstderr:\n%s", code, slotID, out.String(), errb.String())
	}
}
