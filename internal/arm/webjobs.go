package arm

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/webjobs"
)

// WebJobs as ARM resources (az webapp webjob triggered|continuous …):
// Microsoft.Web/sites/triggeredwebjobs and continuouswebjobs, and their
// slots', which App Service answers by asking the app's Kudu. Kudu wraps
// its own JSON in ARM's envelope — id, name ("app/job"), type and the Kudu
// object as properties — and so does this, from the same Kudu methods
// (package scm, through the server). Two members Kudu's object lacks and
// the Azure SDKs read are added: web_job_type ("Triggered",
// "Continuous"), and in a history entry properties.runs, the SDKs'
// TriggeredJobHistory, beside the run's own members that Kudu puts there.

// WebJobs is Kudu's side of the WebJobs routes. Each job or run is Kudu's
// JSON object (one that encoding/json renders).
type WebJobs interface {
	WebJobList(ctx context.Context, s slipway.Site, kind webjobs.Kind, base string) ([]NamedJSON, error)
	WebJobGet(ctx context.Context, s slipway.Site, kind webjobs.Kind, name, base string) (NamedJSON, error)
	WebJobRunHistory(ctx context.Context, s slipway.Site, name, base string) ([]NamedJSON, error)
	RunWebJob(ctx context.Context, s slipway.Site, name, args, trigger string) (string, error)
	StartWebJob(ctx context.Context, s slipway.Site, name string) error
	StopWebJob(ctx context.Context, s slipway.Site, name string) error
	DeleteWebJob(ctx context.Context, s slipway.Site, kind webjobs.Kind, name string) error
}

// NamedJSON is a Kudu object and the name ARM's envelope gives it (a job's
// name, a run's id).
type NamedJSON struct {
	Name string
	JSON any
}

// webJobKinds are the kinds of job a WebJobs route's leaf holds:
// triggeredwebjobs, continuouswebjobs, or webjobs (both, triggered first,
// as Kudu's /api/webjobs lists them).
func webJobKinds(leaf string) []webjobs.Kind {
	switch leaf {
	case "triggeredwebjobs":
		return []webjobs.Kind{webjobs.Triggered}
	case "continuouswebjobs":
		return []webjobs.Kind{webjobs.Continuous}
	}
	return []webjobs.Kind{webjobs.Triggered, webjobs.Continuous}
}

// kuduBase is the app's Kudu as its URLs are handed out.
func (h *Handler) kuduBase(s slipway.Site) string {
	scheme := h.cfg.Scheme
	if scheme == "" {
		scheme = "https"
	}
	return scheme + "://" + h.scmHost(s.Name)
}

// webJobSite is the site (or slot) a WebJobs route is for; 404 without
// Kudu's WebJobs on this server.
func (h *Handler) webJobSite(ctx context.Context, p params) (slipway.Site, error) {
	if h.cfg.WebJobs == nil {
		return slipway.Site{}, slipway.Errorf(slipway.ENOTFOUND, "WebJobs are not available on this server.")
	}
	return h.cfg.Store.Site(ctx, p.rg, p.site)
}

// webJobEnvelope wraps a Kudu object in ARM's resource envelope: the id
// under the site's (or slot's), the name of each level below the site.
func webJobEnvelope(sub string, s slipway.Site, leaf string, kind webjobs.Kind, j NamedJSON) (map[string]any, error) {
	props, err := asObject(j.JSON)
	if err != nil {
		return nil, err
	}
	props["web_job_type"] = map[webjobs.Kind]string{webjobs.Triggered: "Triggered", webjobs.Continuous: "Continuous"}[kind]
	return map[string]any{
		"id":         s.ResourceID(sub) + "/" + leaf + "/" + j.Name,
		"name":       siteLevelName(s) + "/" + j.Name,
		"type":       siteSubType(s, leaf),
		"properties": props,
	}, nil
}

// siteLevelName is the name of a site's sub-resource's parent levels:
// "app", or "app/slot".
func siteLevelName(s slipway.Site) string {
	if s.SlotOf != "" {
		return s.SlotOf + "/" + s.Slot
	}
	return s.Name
}

// asObject renders v as a JSON object's members.
func asObject(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// listWebJobs answers GET SITE/triggeredwebjobs, SITE/continuouswebjobs
// and SITE/webjobs.
func (h *Handler) listWebJobs(leaf string) func(http.ResponseWriter, *http.Request, params) error {
	kinds := webJobKinds(leaf)
	return func(w http.ResponseWriter, r *http.Request, p params) error {
		s, err := h.webJobSite(r.Context(), p)
		if err != nil {
			return err
		}
		items := []any{}
		for _, kind := range kinds {
			list, err := h.cfg.WebJobs.WebJobList(r.Context(), s, kind, h.kuduBase(s))
			if err != nil {
				return err
			}
			for _, j := range list {
				e, err := webJobEnvelope(p.sub, s, leaf, kind, j)
				if err != nil {
					return err
				}
				items = append(items, e)
			}
		}
		return writeJSON(w, http.StatusOK, map[string]any{"value": items, "nextLink": nil})
	}
}

// getWebJob answers GET SITE/{triggered,continuous}webjobs/{job}, and
// SITE/webjobs/{job}: the triggered job of the name, else the continuous
// one.
func (h *Handler) getWebJob(leaf string) func(http.ResponseWriter, *http.Request, params) error {
	kinds := webJobKinds(leaf)
	return func(w http.ResponseWriter, r *http.Request, p params) error {
		s, err := h.webJobSite(r.Context(), p)
		if err != nil {
			return err
		}
		for _, kind := range kinds {
			j, err := h.cfg.WebJobs.WebJobGet(r.Context(), s, kind, p.id, h.kuduBase(s))
			if slipway.ErrorCode(err) == slipway.ENOTFOUND && len(kinds) > 1 {
				continue
			}
			if err != nil {
				return err
			}
			e, err := webJobEnvelope(p.sub, s, leaf, kind, j)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, e)
		}
		return slipway.Errorf(slipway.ENOTFOUND, "No WebJob found with the name '%s'.", p.id)
	}
}

// webJobAction answers a WebJobs request that changes something with 200
// once act has done it (ARM's answer; the Azure SDKs take no other).
func (h *Handler) webJobAction(act func(ctx context.Context, s slipway.Site, r *http.Request, job string) error) func(http.ResponseWriter, *http.Request, params) error {
	return func(w http.ResponseWriter, r *http.Request, p params) error {
		s, err := h.webJobSite(r.Context(), p)
		if err != nil {
			return err
		}
		if err := act(r.Context(), s, r, p.id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
}

// deleteWebJob answers DELETE SITE/{triggered,continuous}webjobs/{job}:
// also for a job that is not there (as Kudu's).
func (h *Handler) deleteWebJob(leaf string) func(http.ResponseWriter, *http.Request, params) error {
	kind := webJobKinds(leaf)[0]
	return h.webJobAction(func(ctx context.Context, s slipway.Site, _ *http.Request, job string) error {
		return h.cfg.WebJobs.DeleteWebJob(ctx, s, kind, job)
	})
}

// runWebJob answers POST SITE/triggeredwebjobs/{job}/run: the run starts
// (Kudu answers ARM 200, not 202). Arguments come as Kudu's, in
// ?arguments=.
func (h *Handler) runWebJob() func(http.ResponseWriter, *http.Request, params) error {
	return h.webJobAction(func(ctx context.Context, s slipway.Site, r *http.Request, job string) error {
		_, err := h.cfg.WebJobs.RunWebJob(ctx, s, job, r.URL.Query().Get("arguments"), "External - "+r.UserAgent())
		return err
	})
}

// continuousAction answers POST SITE/continuouswebjobs/{job}/start|stop.
func (h *Handler) continuousAction(start bool) func(http.ResponseWriter, *http.Request, params) error {
	return h.webJobAction(func(ctx context.Context, s slipway.Site, _ *http.Request, job string) error {
		if start {
			return h.cfg.WebJobs.StartWebJob(ctx, s, job)
		}
		return h.cfg.WebJobs.StopWebJob(ctx, s, job)
	})
}

// webJobHistory answers GET SITE/triggeredwebjobs/{job}/history.
func (h *Handler) webJobHistory(w http.ResponseWriter, r *http.Request, p params) error {
	s, err := h.webJobSite(r.Context(), p)
	if err != nil {
		return err
	}
	runs, err := h.cfg.WebJobs.WebJobRunHistory(r.Context(), s, p.id, h.kuduBase(s))
	if err != nil {
		return err
	}
	items := make([]any, 0, len(runs))
	for _, run := range runs {
		e, err := historyEntry(p.sub, s, p.id, run)
		if err != nil {
			return err
		}
		items = append(items, e)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"value": items, "nextLink": nil})
}

// webJobRun answers GET SITE/triggeredwebjobs/{job}/history/{run}.
func (h *Handler) webJobRun(w http.ResponseWriter, r *http.Request, p params) error {
	s, err := h.webJobSite(r.Context(), p)
	if err != nil {
		return err
	}
	runs, err := h.cfg.WebJobs.WebJobRunHistory(r.Context(), s, p.id, h.kuduBase(s))
	if err != nil {
		return err
	}
	for _, run := range runs {
		if run.Name == p.run {
			e, err := historyEntry(p.sub, s, p.id, run)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, e)
		}
	}
	return slipway.Errorf(slipway.ENOTFOUND, "The job '%s' has no run '%s'.", p.id, p.run)
}

// historyEntry is one run in ARM's envelope: Kudu's run members as
// properties, and the SDKs' properties.runs holding the run.
func historyEntry(sub string, s slipway.Site, job string, run NamedJSON) (map[string]any, error) {
	props, err := asObject(run.JSON)
	if err != nil {
		return nil, err
	}
	one, _ := asObject(run.JSON)
	one["web_job_id"], one["web_job_name"] = run.Name, job
	props["runs"] = []any{one}
	return map[string]any{
		"id":         s.ResourceID(sub) + "/triggeredwebjobs/" + job + "/history/" + run.Name,
		"name":       siteLevelName(s) + "/" + job + "/" + run.Name,
		"type":       siteSubType(s, "triggeredwebjobs/history"),
		"properties": props,
	}, nil
}
