package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// slowSlotApp is slotApp with a route /slow that marks, in the instance's
// persistent home, that it was asked, and then takes two minutes: a swap
// whose warm-up pings it stays in its warm-up phase.
const slowSlotApp = `import os, time
VERSION = open(os.path.join(os.path.dirname(__file__), "VERSION")).read().strip()
def app(environ, start_response):
    if environ.get("PATH_INFO") == "/slow":
        with open("/home/slow-started", "w") as f:
            f.write(VERSION)
        time.sleep(120)
    body = ("%s|%s|%s" % (VERSION, os.environ.get("ENV_NAME", ""), os.environ.get("GREETING", ""))).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
`

// Acceptance 7 (issue 12): the server is killed with SIGKILL in the middle
// of a swap, while the swapped-in content is being warmed up (the warm-up
// ping path answers slowly). After a restart on the same data each slot
// serves one whole version with its own settings: the swap was not
// committed, so both serve what they served before it (the store's swap
// row in phase "warming" is forgotten, docs/slots.md §2), and a new swap
// then works.
func TestSwapKilledServer(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "slipway")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(t.TempDir(), "data")
	s, cmd := startProcess(t, bin, data)
	s.createAppOn("swk", "S1", "GREETING=g1")
	s.mustCLI("", "webapp", "config", "appsettings", "set", "-g", "rg-swk", "-n", "swk", "--slot-settings", "ENV_NAME=prod", "WEBSITE_SWAP_WARMUP_PING_PATH=/slow")
	s.mustCLI("", "webapp", "deployment", "slot", "create", "-g", "rg-swk", "-n", "swk", "--slot", "staging")
	s.mustCLI("", "webapp", "config", "appsettings", "set", "-g", "rg-swk", "-n", "swk", "--slot", "staging", "--settings", "GREETING=g2")
	s.mustCLI("", "webapp", "config", "appsettings", "set", "-g", "rg-swk", "-n", "swk", "--slot", "staging", "--slot-settings", "ENV_NAME=staging")
	s.deploySlotCode("swk", "", "v1", slowSlotApp)
	s.deploySlotCode("swk", "staging", "v2", slowSlotApp)
	both := func(s *testServer) (string, string) {
		_, a := s.get(s.host("swk"), "/")
		_, b := s.get(s.host("swk-staging"), "/")
		return a, b
	}
	eventually(t, 60*time.Second, "both slots serve their version", func() bool {
		a, b := both(s)
		return a == "v1|prod|g1" && b == "v2|staging|g2"
	})

	// The swap warms v2 up under production's name: its warm-up ping of
	// /slow lands in production's home.
	marker := filepath.Join(data, "sites", "swk", "home", "slow-started")
	os.Remove(marker)
	swapped := make(chan string, 1)
	go func() {
		_, stderr, code := s.cli("", "webapp", "deployment", "slot", "swap", "-g", "rg-swk", "-n", "swk", "--slot", "staging")
		swapped <- fmt.Sprintf("%s (exit %d)", strings.TrimSpace(stderr), code)
	}()
	eventually(t, 90*time.Second, "the swap's warm-up reaches /slow", func() bool {
		b, err := os.ReadFile(marker)
		return err == nil && string(b) == "v2"
	})
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	select {
	case msg := <-swapped:
		t.Logf("the swap command ended with the server: %s", msg)
	case <-time.After(30 * time.Second):
		t.Fatal("the swap command still runs 30 s after the server was killed")
	}

	s2, _ := startProcess(t, bin, data)
	a, b := both(s2)
	if a != "v1|prod|g1" || b != "v2|staging|g2" {
		t.Fatalf("after the restart production serves %q, staging %q; want each its own version and settings from before the swap (v1|prod|g1, v2|staging|g2)", a, b)
	}
	t.Logf("after the restart: production %q, staging %q (the uncommitted swap was forgotten)", a, b)

	// The interrupted swap left nothing behind: with a fast warm-up the
	// swap goes through.
	s2.mustCLI("", "webapp", "config", "appsettings", "delete", "-g", "rg-swk", "-n", "swk", "--setting-names", "WEBSITE_SWAP_WARMUP_PING_PATH")
	s2.mustCLI("", "webapp", "deployment", "slot", "swap", "-g", "rg-swk", "-n", "swk", "--slot", "staging")
	if a, b := both(s2); a != "v2|prod|g2" || b != "v1|staging|g1" {
		t.Fatalf("the swap after the restart: production %q, staging %q; want v2|prod|g2 and v1|staging|g1", a, b)
	}
}
