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
	"mime"
	"net/http"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/deploy"
)

// maxRedeployBody bounds the JSON body of a redeploy Kudu reads options
// from.
const maxRedeployBody = 64 << 10

// redeploy answers PUT /api/deployments/{id} as Kudu's
// DeploymentController.Deploy: it runs the deployment again and answers
// when it has finished, 200 with no body (400 saying why when it failed).
// Kudu records the request's Basic user name as the run's deployer. Its
// JSON options clean and needFileUpdate concern a git repository and mean
// nothing to a stored version; a body that would make Kudu record a
// deployment made elsewhere (CreateDeployment) is refused.
func (h *Handler) redeploy(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	id, err := deploymentID(r)
	if err != nil {
		return err
	}
	if err := refuseDeploymentRecord(r); err != nil {
		return err
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

// refuseDeploymentRecord refuses the JSON body with which Kudu records a
// deployment made elsewhere under the id (DeploymentController's
// TryParseDeployResult: a status of 3 or 4, a message, a deployer and an
// author), which this server does not do: taken for a redeploy, it would
// release an old version instead. Other bodies are ignored, as Kudu
// ignores what is not JSON.
func refuseDeploymentRecord(r *http.Request) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return nil
	}
	var body struct {
		Status                    *int
		Message, Deployer, Author string
	}
	if json.NewDecoder(io.LimitReader(r.Body, maxRedeployBody)).Decode(&body) != nil {
		return nil
	}
	if body.Status != nil && (*body.Status == 3 || *body.Status == 4) && body.Message != "" && body.Deployer != "" && body.Author != "" {
		return slipway.Errorf(slipway.EINVALID, "Recording a deployment made elsewhere (a JSON body with status, message, deployer and author) is not supported by this server. Send PUT without a body to redeploy deployment '%s'.", r.PathValue("id"))
	}
	return nil
}
