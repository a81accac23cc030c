package deploy

import (
	"strings"
	"testing"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/applog"
)

// TestAttackBuildOutputFillsTheDatabase: a build or release command is
// the app's own code (PRE/POST_BUILD_COMMAND, manage.py), and its output
// went, all of it, into the deployment log's details in the platform's
// database — outside any quota, and read whole into memory by every
// GET /api/deployments/{id}/log. An entry's details are bounded; what
// passes the bound is dropped with a note saying so.
func TestAttackBuildOutputFillsTheDatabase(t *testing.T) {
	store := newRecordingStore()
	c := New(Config{Store: store, Logs: applog.NewHub(applog.Config{}), DataDir: t.TempDir()})
	w := c.details(t.Context(), slipway.Deployment{ID: "d0000000", Site: "app"}, "e1")
	line := strings.Repeat("y", 1023) + "\n"
	chunk := strings.Repeat(line, 1024) // 1 MiB
	for range 3 * maxDetailsBytes >> 20 {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	got := store.details["e1"]
	if len(got) > maxDetailsBytes+1024 {
		t.Fatalf("details hold %d bytes, bound %d", len(got), maxDetailsBytes)
	}
	if !strings.HasPrefix(got, line) || !strings.Contains(got[len(got)-300:], "Output cut here") {
		t.Errorf("details do not say they were cut: ...%q", got[max(0, len(got)-300):])
	}
}
