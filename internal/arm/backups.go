package arm

import (
	"net/http"

	"github.com/slipway-dev/slipway"
)

// App Service backups (az webapp config backup list|create|restore): a
// site's backups are zip files the platform writes to a storage container
// on a schedule or on request
// (https://learn.microsoft.com/azure/app-service/manage-backup). Slipway
// takes none: an app's content, settings and history live in the
// server's data directory, which is backed up as a whole
// (docs/design.md "State on disk"). So a site's list of backups is
// truthfully empty, and a request for one is refused with the reason,
// never accepted and dropped.

// listBackups answers GET sites/{app}/backups: none.
func (h *Handler) listBackups(w http.ResponseWriter, r *http.Request, p params) error {
	if _, err := h.cfg.Store.Site(r.Context(), p.rg, p.site); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"value": []any{}, "nextLink": nil})
}

// getBackup answers GET sites/{app}/backups/{id}: there is none.
func (h *Handler) getBackup(w http.ResponseWriter, r *http.Request, p params) error {
	if _, err := h.cfg.Store.Site(r.Context(), p.rg, p.site); err != nil {
		return err
	}
	return slipway.Errorf(slipway.ENOTFOUND, "Backup %s not found for site %s: Slipway takes no app backups.", p.id, p.site)
}

// refuseBackup answers POST sites/{app}/backup, the backup schedule
// (PUT config/backup) and a restore.
func (h *Handler) refuseBackup(w http.ResponseWriter, r *http.Request, p params) error {
	if _, err := h.cfg.Store.Site(r.Context(), p.rg, p.site); err != nil {
		return err
	}
	return slipway.Errorf(slipway.EINVALID, "Slipway does not take app backups: an app's content, settings and deployment history live in the server's data directory. Back up that directory (stop the server, or snapshot its file system) to keep them.")
}
