package server

import (
	"strings"
	"testing"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/deploy"
)

// TestConsoleRefusesUnconfined: on a server without a working sandbox a
// Kudu command is refused, saying why, rather than run with the server's
// view of the machine (the data directory, every app's home).
func TestConsoleRefusesUnconfined(t *testing.T) {
	p := &planner{sandboxed: false, asRoot: true}
	s := deploy.Snapshot{Site: slipway.Site{ResourceGroup: "rg", Name: "app"}}
	_, err := p.Console(t.Context(), s, deploy.Artifact{}, []string{"bash", "-c", "id"}, "/home")
	if slipway.ErrorCode(err) != slipway.EUNAVAILABLE || !strings.Contains(slipway.ErrorMessage(err), "bubblewrap") {
		t.Errorf("got %v, want EUNAVAILABLE naming bubblewrap", err)
	}
}
