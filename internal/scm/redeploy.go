package scm

// Kudu's PUT and DELETE /api/deployments/{id}
// (https://github.com/projectkudu/kudu/wiki/REST-API, "Deployment";
// docs/appservice.md §5): redeploy an earlier deployment, delete one.
//
// Both are writes, and a browser that remembers the app's credentials
// must not be made to send them by a page of another site. Their methods
// are the guard: an HTML form sends GET and POST only, and POST is not
// routed here (nor is a method override honoured); a script's
// cross-origin PUT or DELETE needs a CORS preflight, which Kudu never
// grants.

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/deploy"
)

// maxRedeployBody bounds the JSON body of a redeploy Kudu reads options
// from.
const maxRedeployBody = 64 << 10

// redeploy answers PUT /api/deployments/{id} as Kudu's
// DeploymentController.Deploy. With a JSON body that describes a
// deployment made elsewhere (a status of 3 or 4, a message, a deployer and
// an author: TryParseDeployResult) it records that deployment under the
// id (record). Otherwise it runs the deployment again and answers when it
// has finished, 200 with no body (400 saying why when it failed); Kudu
// records the request's Basic user name as the run's deployer, and its
// JSON options clean and needFileUpdate concern a git repository and mean
// nothing to a stored version.
func (h *Handler) redeploy(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	id, err := deploymentID(r)
	if err != nil {
		return err
	}
	rec, ok, err := deploymentRecord(r, id)
	if err != nil {
		return err
	}
	if ok {
		return h.record(w, r, s, rec)
	}
	user, _, _ := r.BasicAuth()
	d, err := h.cfg.Deployer.Redeploy(r.Context(), s, id, deploy.RedeployOptions{Deployer: user})
	if err != nil {
		return err
	}
	return h.finish(w, r, s, d)
}

// deleteDeployment answers DELETE /api/deployments/{id} as KuduLite's
// DeploymentController.Delete: 200 with no body.
func (h *Handler) deleteDeployment(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	id, err := deploymentID(r)
	if err != nil {
		return err
	}
	if err := h.cfg.Deployer.DeleteDeployment(r.Context(), s, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// maxDeploymentID bounds an id: Slipway's are 32 hex digits, Kudu's a
// commit's 40 or "temp-" and 8 more.
const maxDeploymentID = 64

// deploymentID returns the request's deployment id, refusing anything that
// is not one: ids are looked up, never used as paths, but path characters
// (however escaped), NUL and the like have no business going further.
func deploymentID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	ok := id != "" && len(id) <= maxDeploymentID
	for _, c := range []byte(id) {
		ok = ok && ('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_')
	}
	if !ok {
		return "", slipway.Errorf(slipway.EINVALID, "%q is not a deployment id: use an id GET /api/deployments lists.", id)
	}
	return id, nil
}

// deploymentRecord reads the JSON body with which Kudu records a
// deployment made elsewhere under id (DeploymentController's
// GetJsonContent and TryParseDeployResult): ok when the body is such a
// record. As Kudu's, the body is read as JSON whatever its Content-Type,
// and a body that is not a record (none, not JSON, another status) is no
// error: the request redeploys. A record that is one but cannot be kept
// is refused, saying why.
func deploymentRecord(r *http.Request, id string) (rec deploy.Record, ok bool, err error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxRedeployBody+1))
	if err != nil {
		return rec, false, slipway.Errorf(slipway.EINVALID, "The request's body could not be read: %v.", err)
	}
	if len(b) > maxRedeployBody {
		return rec, false, slipway.Errorf(slipway.EINVALID, "The body of a redeploy or a deployment record is at most %d KB.", maxRedeployBody>>10)
	}
	var body struct {
		Status                    *int
		Message, Deployer, Author string
		AuthorEmail               string  `json:"author_email"`
		StartTime                 *string `json:"start_time"`
		EndTime                   *string `json:"end_time"`
		Active                    *bool
		Details                   string
	}
	if json.Unmarshal(b, &body) != nil {
		return rec, false, nil
	}
	if body.Status == nil || (*body.Status != int(slipway.DeployFailed) && *body.Status != int(slipway.DeploySuccess)) ||
		body.Message == "" || body.Deployer == "" || body.Author == "" {
		return rec, false, nil
	}
	status := slipway.DeployStatus(*body.Status)
	if body.Active != nil && *body.Active && status != slipway.DeploySuccess {
		return rec, false, slipway.Errorf(slipway.EINVALID, "Only successful status can be active!") // Kudu's words
	}
	if strings.EqualFold(id, "latest") {
		return rec, false, slipway.Errorf(slipway.EINVALID, "'latest' names the newest deployment and cannot be the id of a recorded one.")
	}
	rec = deploy.Record{ID: id, Status: status, Message: body.Message, Deployer: body.Deployer, Author: body.Author,
		AuthorEmail: body.AuthorEmail, Details: body.Details}
	for _, t := range []struct {
		name string
		in   *string
		out  *time.Time
	}{{"start_time", body.StartTime, &rec.StartTime}, {"end_time", body.EndTime, &rec.EndTime}} {
		if t.in == nil || *t.in == "" {
			continue
		}
		if *t.out, err = recordTime(*t.in); err != nil {
			return rec, false, slipway.Errorf(slipway.EINVALID, "The record's %s %q is not a time: use ISO 8601, e.g. 2026-01-02T15:04:05Z.", t.name, *t.in)
		}
	}
	return rec, true, nil
}

// recordTime reads a record's time: ISO 8601 with a zone, or without one
// in UTC (Kudu reads either).
func recordTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	return time.Parse("2006-01-02T15:04:05.9999999", v)
}

// record answers a PUT that records a deployment made elsewhere, as
// Kudu's CreateDeployment: 200 with the record as GET /api/deployments/{id}
// shows it. Unlike Kudu's, a record never becomes the active deployment
// (deploy.Coordinator.Record); an id the site has is a conflict, where
// Kudu answers 200 and changes nothing.
func (h *Handler) record(w http.ResponseWriter, r *http.Request, s slipway.Site, rec deploy.Record) error {
	ds, err := h.cfg.Store.ListDeployments(r.Context(), s.Name)
	if err != nil {
		return err
	}
	for _, d := range ds {
		if strings.EqualFold(d.ID, rec.ID) {
			return slipway.Errorf(slipway.ECONFLICT, "Deployment with id '%s' exists", d.ID) // Kudu's words
		}
	}
	d, err := h.cfg.Deployer.Record(r.Context(), s, rec)
	if err != nil {
		return err
	}
	ds, err = h.cfg.Store.ListDeployments(r.Context(), s.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, render(r, d, lastSuccess(ds)))
}
