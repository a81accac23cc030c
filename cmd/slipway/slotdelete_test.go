package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSwappedInVersionOutlivesItsDeletedSlot: the blue-green workflow —
// build v2 in a staging slot, swap it into production, delete the slot.
// Production's version was built in the slot's build cache scope and runs
// the Python environment there (docs/slots.md §1); the slot's deletion
// removed that scope, so production's version had no environment left:
// it restarted and scaled out only while a copy of it was still in
// production's local storage, and once production ran another version,
// re-activating this one (a swap back) could not start it. Each version
// keeps its environment as long as a site's deployment names it, and a
// new slot of the deleted one's name still builds its own. The slot's
// other versions, which lie in the app's directory too, go with it.
func TestSwappedInVersionOutlivesItsDeletedSlot(t *testing.T) {
	needContainers(t)
	s := startServer(t)
	build := "SCM_DO_BUILD_DURING_DEPLOYMENT=true"
	s.createAppOn("bg", "S1", build)
	rg := []string{"-g", "rg-bg", "-n", "bg"}
	slot := func(verb, name string) {
		s.mustCLI("", append(append([]string{"webapp", "deployment", "slot", verb}, rg...), "--slot", name)...)
	}
	newSlot := func(name string) {
		slot("create", name)
		s.mustCLI("", append(append([]string{"webapp", "config", "appsettings", "set"}, rg...), "--slot", name, "--settings", build)...)
	}
	// Each version's requirements differ (by a comment), so that each has
	// an environment of its own.
	deploy := func(slot, version string) {
		s.deploySlotFiles("bg", slot, map[string]string{"VERSION": version, "app.py": slotApp,
			"requirements.txt": "gunicorn\n# " + version + "\n"})
	}
	serves := func(host, want string) {
		t.Helper()
		eventually(t, 60*time.Second, host+" serves "+want, func() bool {
			code, body := s.get(s.host(host), "/")
			return code == 200 && body == want
		})
	}
	swap := func(name string) {
		t.Helper()
		if _, stderr, code := s.cli("", append(append([]string{"webapp", "deployment", "slot", "swap"}, rg...), "--slot", name)...); code != 0 {
			t.Fatalf("swapping %s into production: exit %d: %s", name, code, stderr)
		}
	}

	latest := func(slot string) string {
		t.Helper()
		host := "bg"
		if slot != "" {
			host += "-" + slot
		}
		user, pass := s.slotCredentials("bg", slot)
		return s.waitDeployment(host, user, pass)["id"].(string)
	}

	newSlot("staging")
	deploy("", "v1")
	v1 := latest("")
	// A draft first, with v2's requirements (its environment is reused).
	s.deploySlotFiles("bg", "staging", map[string]string{"VERSION": "draft", "app.py": slotApp,
		"requirements.txt": "gunicorn\n# v2\n"})
	deploy("staging", "v2")
	v2 := latest("staging")
	serves("bg", "v1||")
	serves("bg-staging", "v2||")
	swap("staging")
	serves("bg", "v2||")
	slot("delete", "staging")

	// The app's versions left are those its records name: v1, and v2
	// that production runs; not the slot's draft.
	entries, err := os.ReadDir(filepath.Join(s.data, "sites", "bg", "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, e := range entries {
		if e.IsDir() && len(e.Name()) == 32 {
			kept = append(kept, e.Name())
		}
	}
	want := []string{v1, v2}
	slices.Sort(want)
	if !slices.Equal(kept, want) {
		t.Errorf("the app's versions after its slot's deletion: %v; want v1's and v2's %v", kept, want)
	}

	// Production's running version restarts and scales out.
	if _, stderr, code := s.cli("", append([]string{"webapp", "restart"}, rg...)...); code != 0 {
		t.Fatalf("restarting production after its slot was deleted: exit %d: %s", code, stderr)
	}
	serves("bg", "v2||")
	s.mustCLI("", "appservice", "plan", "update", "-g", "rg-bg", "-n", "plan-bg", "--number-of-workers", "2")
	if st := statuses(s.instances("bg")); len(st) != 2 {
		t.Fatalf("production scaled out to 2 after its slot was deleted: %v", st)
	}
	serves("bg", "v2||")

	// v3 comes through another slot; v2 goes to that slot at the swap,
	// and back into production at a swap back.
	newSlot("canary")
	deploy("canary", "v3")
	swap("canary")
	serves("bg", "v3||")
	serves("bg-canary", "v2||")
	swap("canary")
	serves("bg", "v2||")
	serves("bg-canary", "v3||")

	// A new slot of the deleted one's name builds its own environment,
	// even for the requirements whose environment production still runs.
	newSlot("staging")
	deploy("staging", "v2")
	serves("bg-staging", "v2||")
	user, pass := s.slotCredentials("bg", "staging")
	if log := s.deploymentLog("bg-staging", user, pass, "latest"); strings.Contains(log, "Reused the cached Python environment") || !strings.Contains(log, "Cached environment not found") {
		t.Fatalf("the new slot staging reused the deleted slot's environment:\n%s", log)
	}
	serves("bg", "v2||")
}
