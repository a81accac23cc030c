package arm

import (
	"net/http"
	"time"

	"github.com/slipway-dev/slipway"
)

// deploymentJSON is ARM's view of a Kudu deployment (Microsoft.Web/sites/
// deployments): Kudu's status code as an integer and Kudu's snake_case
// field names (author_email, start_time, end_time), as the REST spec has them.
func (h *Handler) deploymentJSON(sub string, s slipway.Site, d slipway.Deployment) map[string]any {
	ts := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	start := d.StartTime
	if start.IsZero() {
		start = d.ReceivedTime
	}
	return map[string]any{
		"id":   s.ResourceID(sub) + "/deployments/" + d.ID,
		"name": d.ID,
		"type": siteSubType(s, "deployments"),
		"properties": map[string]any{
			"status":       int(d.Status),
			"message":      d.Message,
			"author":       d.Author,
			"deployer":     d.Deployer,
			"author_email": d.AuthorEmail,
			"start_time":   ts(start),
			"end_time":     ts(d.EndTime),
			"active":       d.Active,
			"details":      h.cfg.Scheme + "://" + h.scmHost(s.Name) + "/api/deployments/" + d.ID + "/log",
		},
	}
}

// listDeployments answers GET SITE/deployments, newest first.
func (h *Handler) listDeployments(w http.ResponseWriter, r *http.Request, p params) error {
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	ds, err := h.cfg.Store.ListDeployments(r.Context(), s.Name)
	if err != nil {
		return err
	}
	vs := make([]any, 0, len(ds))
	for _, d := range ds {
		vs = append(vs, h.deploymentJSON(p.sub, s, d))
	}
	return writeJSON(w, http.StatusOK, list{Value: vs})
}

// getDeployment answers GET SITE/deployments/{id} ("latest" works too).
func (h *Handler) getDeployment(w http.ResponseWriter, r *http.Request, p params) error {
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	d, err := h.cfg.Store.GetDeployment(r.Context(), s.Name, p.id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.deploymentJSON(p.sub, s, d))
}
