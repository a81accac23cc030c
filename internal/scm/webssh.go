package scm

import (
	"net/http"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/webssh"
)

// webSSHHost answers GET /webssh/host, the page where Microsoft's
// documentation sends a browser for an SSH session: a terminal over
// /exec/shell (exec.go), inside a running instance of the app.
func (h *Handler) webSSHHost(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	if h.cfg.Shells == nil {
		return slipway.Errorf(slipway.EUNAVAILABLE, "SSH sessions are not available on this server: it has no sandbox to run them in.")
	}
	if !s.Enabled {
		return slipway.Errorf(slipway.ECONFLICT, "The app '%s' is stopped; start it (az webapp start) to open an SSH session.", s.Name)
	}
	webssh.ServeHost(w, s.Name)
	return nil
}

// webSSHFile answers GET /webssh/<file>: the page's script and the
// terminal's files.
func (h *Handler) webSSHFile(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	if !webssh.ServeFile(w, r, r.PathValue("file")) {
		return slipway.Errorf(slipway.ENOTFOUND, "No route registered for '%s'", r.URL.Path)
	}
	return nil
}
