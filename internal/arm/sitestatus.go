package arm

import (
	"net/http"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
)

// InstanceStatus is one instance's runtime status: its state ("Started",
// "Starting", "Restarting", "Unhealthy", "Failed", "Stopped"), what that
// means, and the last error that failed a start of it or ended it.
type InstanceStatus struct {
	ID, Machine, State, Details string
	LastError, LastErrorDetails string
	LastErrorAt                 time.Time // zero: none
}

// siteStatusJSON is one instance's entry of sites/{app}/siteStatus, as App
// Service answers it for Linux apps and `az webapp troubleshoot status` and
// `troubleshoot config` read it (docs/arm.md §1.13): instanceId, state,
// details and the last error with its time (null without one).
func siteStatusJSON(st InstanceStatus) map[string]any {
	var at any
	if !st.LastErrorAt.IsZero() {
		at = armTime(st.LastErrorAt)
	}
	return map[string]any{
		"instanceId": st.ID, "machineName": st.Machine, "state": st.State, "details": st.Details,
		"lastError": st.LastError, "lastErrorDetails": st.LastErrorDetails, "lastErrorTimestamp": at,
	}
}

// getSiteStatus answers GET SITE/siteStatus (every instance: properties is
// a list) and SITE/siteStatus/{id} (one: properties is the object; 404 for
// an instance the site does not have).
func (h *Handler) getSiteStatus(w http.ResponseWriter, r *http.Request, p params) error {
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	list, err := h.cfg.Controller.SiteStatus(r.Context(), s.ResourceGroup, s.Name)
	if err != nil {
		return err
	}
	doc := map[string]any{
		"id": s.ResourceID(p.sub) + "/siteStatus", "name": "siteStatus", "type": siteSubType(s, "siteStatus"),
	}
	if p.id == "" {
		props := make([]any, 0, len(list))
		for _, st := range list {
			props = append(props, siteStatusJSON(st))
		}
		doc["properties"] = props
		return writeJSON(w, http.StatusOK, doc)
	}
	for _, st := range list {
		if strings.EqualFold(st.ID, p.id) || strings.EqualFold(st.Machine, p.id) {
			doc["id"] = doc["id"].(string) + "/" + st.ID
			doc["properties"] = siteStatusJSON(st)
			return writeJSON(w, http.StatusOK, doc)
		}
	}
	return slipway.Errorf(slipway.ENOTFOUND, "The instance '%s' of site '%s' was not found. List the site's instances with `az webapp list-instances`.", p.id, s.Name)
}
