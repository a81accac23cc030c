package arm

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/slipway-dev/slipway"
)

// OneDeploy runs ARM's OneDeploy extension (PUT SITE/extensions/onedeploy,
// docs/arm.md §1.13 --src-url), which App Service hands to the app's Kudu:
// a OneDeploy publish from a packageUri (package scm's PublishFromURL,
// which reads only blobs of this server's blob service).
type OneDeploy interface {
	// PublishFromURL starts the deployment of the package at packageURI;
	// q holds OneDeploy's parameters (type, path, clean, restart) as
	// Kudu's /api/publish query does.
	PublishFromURL(ctx context.Context, site slipway.Site, packageURI string, q url.Values) (slipway.Deployment, error)
}

// oneDeployProperties are the properties az webapp deploy --src-url sends
// (docs/arm.md §1.13): bools may come as JSON bools or strings.
type oneDeployProperties struct {
	PackageURI    string          `json:"packageUri"`
	Type          string          `json:"type"`
	Path          string          `json:"path"`
	Clean         json.RawMessage `json:"clean"`
	Restart       json.RawMessage `json:"restart"`
	IgnoreStack   json.RawMessage `json:"ignorestack"`
	DeploymentTag string          `json:"deploymentTag"`
}

// putOneDeploy answers PUT SITE/extensions/onedeploy and, as az sends it
// after warming an instance's Kudu, SITE/instances/{id}/extensions/onedeploy
// (one Kudu serves every instance here). It answers once the package has
// been read and its deployment started, as az expects ("Deployment was
// submitted asynchronously"): properties.provisioningState says
// InProgress, and Kudu's deployment record and deploymentStatus tell how
// it ends.
func (h *Handler) putOneDeploy(w http.ResponseWriter, r *http.Request, p params) error {
	if h.cfg.OneDeploy == nil {
		return &apiError{Status: http.StatusNotImplemented, Code: "NotImplemented", Message: "OneDeploy from a URL is not available on this server."}
	}
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	if p.id != "" {
		if err := h.checkInstance(r, p); err != nil {
			return err
		}
	}
	var body struct {
		Properties *oneDeployProperties `json:"properties"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	props := body.Properties
	if props == nil || props.PackageURI == "" {
		return slipway.Errorf(slipway.EINVALID, "properties.packageUri is required: the OneDeploy extension deploys from a URL, a blob of this server's blob service with a SAS (az webapp deploy --src-url). To send the zip itself, use az webapp deploy --src-path (Kudu's /api/publish).")
	}
	if props.DeploymentTag != "" {
		return slipway.Errorf(slipway.EINVALID, "properties.deploymentTag is not supported on this server: deployments are not tagged.")
	}
	q := url.Values{}
	// Without a type the package is a zip (the OneDeploy extension's
	// usual use, and what ARM templates deploying a packageUri mean).
	q.Set("type", strings.ToLower(cmp.Or(props.Type, "zip")))
	if props.Path != "" {
		q.Set("path", props.Path)
	}
	for name, raw := range map[string]json.RawMessage{"clean": props.Clean, "restart": props.Restart} {
		if v, ok, err := boolProperty(name, raw); err != nil {
			return err
		} else if ok {
			q.Set(name, strconv.FormatBool(v))
		}
	}
	if _, _, err := boolProperty("ignorestack", props.IgnoreStack); err != nil {
		return err
	}
	d, err := h.cfg.OneDeploy.PublishFromURL(r.Context(), s, props.PackageURI, q)
	if err != nil {
		return err
	}
	state := "InProgress"
	switch d.Status {
	case slipway.DeploySuccess:
		state = "Succeeded"
	case slipway.DeployFailed:
		state = "Failed"
	}
	dep := h.deploymentJSON(p.sub, s, d)
	props2 := dep["properties"].(map[string]any)
	props2["id"] = d.ID
	props2["provisioningState"] = state
	props2["complete"] = d.Complete()
	return writeJSON(w, http.StatusOK, map[string]any{
		"id":         s.ResourceID(p.sub) + "/extensions/onedeploy",
		"name":       "onedeploy",
		"type":       siteSubType(s, "extensions"),
		"location":   s.Location,
		"properties": props2,
	})
}

// boolProperty reads a bool given as a JSON bool or a string ("true").
func boolProperty(name string, raw json.RawMessage) (v, ok bool, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return false, false, nil
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, true, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if b, err := strconv.ParseBool(s); err == nil {
			return b, true, nil
		}
	}
	return false, false, slipway.Errorf(slipway.EINVALID, "properties.%s must be true or false.", name)
}

// checkInstance answers 404 for an instance the site does not have.
func (h *Handler) checkInstance(r *http.Request, p params) error {
	s, list, err := h.siteInstances(r, p)
	if err != nil {
		return err
	}
	for _, in := range list {
		if strings.EqualFold(in.ID, p.id) {
			return nil
		}
	}
	return slipway.Errorf(slipway.ENOTFOUND, "The instance '%s' of site '%s' was not found: it may have stopped or been replaced. List the current ones with `webapp list-instances`.", p.id, s.Name)
}

// listInstanceDeployments answers GET SITE/instances/{id}/deployments,
// which az sends to warm an instance's Kudu before a deployment from a
// URL (?warmup=true): the site's deployments, one Kudu serving every
// instance here.
func (h *Handler) listInstanceDeployments(w http.ResponseWriter, r *http.Request, p params) error {
	if err := h.checkInstance(r, p); err != nil {
		return err
	}
	return h.listDeployments(w, r, p)
}
