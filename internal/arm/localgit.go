package arm

// Local Git as az configures it (docs/arm.md §1.16): a site's source
// control (sites/{app}/sourcecontrols/web, which Slipway serves for
// scmType LocalGit only) and the caller's deployment user
// (/providers/Microsoft.Web/publishingUsers/web), whose credentials Kudu
// accepts for every app the caller may deploy to (internal/scm).

import (
	"net/http"

	"github.com/slipway-dev/slipway"
)

// sourceControlJSON is a SiteSourceControl. For LocalGit, repoUrl is the
// app's Kudu, from which az builds the git remote
// (<scheme>://<user>@<host>/<app>.git), and branch the one deployed; for
// None both are null.
func (h *Handler) sourceControlJSON(r *http.Request, sub string, s slipway.Site) (map[string]any, error) {
	var repoURL, branch any
	if s.Config.SCMType == slipway.SCMLocalGit {
		settings, err := h.cfg.Store.Settings(r.Context(), s.ResourceGroup, s.Name)
		if err != nil {
			return nil, err
		}
		repoURL, branch = h.cfg.Scheme+"://"+h.scmHost(s.Name), slipway.DeploymentBranch(settings)
	}
	return map[string]any{
		"id":       s.ResourceID(sub) + "/sourcecontrols/web",
		"name":     "web",
		"type":     "Microsoft.Web/sites/sourcecontrols",
		"location": displayLocation(s.Location),
		"properties": map[string]any{
			"repoUrl":                   repoURL,
			"branch":                    branch,
			"isManualIntegration":       false,
			"isGitHubAction":            false,
			"deploymentRollbackEnabled": false,
			"isMercurial":               false,
		},
	}, nil
}

func (h *Handler) writeSourceControl(w http.ResponseWriter, r *http.Request, sub string, s slipway.Site) error {
	res, err := h.sourceControlJSON(r, sub, s)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// getSourceControl answers GET sourcecontrols/web (az webapp deployment
// source show, and config-local-git for the URL it prints).
func (h *Handler) getSourceControl(w http.ResponseWriter, r *http.Request, p params) error {
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	return h.writeSourceControl(w, r, p.sub, s)
}

// putSourceControl answers PUT sourcecontrols/web (az webapp deployment
// source config --repo-url): Slipway fetches from no external repository,
// so it is refused as a scmType other than LocalGit is.
func (h *Handler) putSourceControl(w http.ResponseWriter, r *http.Request, p params) error {
	var body struct {
		Properties struct {
			RepoURL string `json:"repoUrl"`
		} `json:"properties"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if _, err := h.cfg.Store.Site(r.Context(), p.rg, p.site); err != nil {
		return err
	}
	return slipway.Errorf(slipway.EINVALID, "Linking the repository '%s' is not available: %s", body.Properties.RepoURL, slipway.DeploySources)
}

// deleteSourceControl answers DELETE sourcecontrols/web (az webapp
// deployment source delete): scmType becomes None. The repository is
// kept, as App Service keeps it.
func (h *Handler) deleteSourceControl(w http.ResponseWriter, r *http.Request, p params) error {
	ctx := r.Context()
	s, err := h.cfg.Store.Site(ctx, p.rg, p.site)
	if err != nil {
		return err
	}
	if s.Config.SCMType != "" {
		s.Config.SCMType = ""
		if _, _, err := h.cfg.Store.PutSite(ctx, s); err != nil {
			return err
		}
	}
	return writeEmpty(w, http.StatusOK)
}

// publishingUserJSON is the User resource of publishingUsers/web: the
// name, never the password (null, as on Azure).
func publishingUserJSON(name string) map[string]any {
	return map[string]any{
		"id":   "/providers/Microsoft.Web/publishingUsers/web",
		"name": "web",
		"type": "Microsoft.Web/publishingUsers/web",
		"properties": map[string]any{
			"name":                       "web",
			"publishingUserName":         nullIfEmpty(name),
			"publishingPassword":         nil,
			"publishingPasswordHash":     nil,
			"publishingPasswordHashSalt": nil,
			"scmUri":                     nil,
		},
	}
}

// caller is the principal behind a request, "" for the admin token.
func (h *Handler) caller(r *http.Request) string {
	if h.cfg.CallerObjectID == nil {
		return ""
	}
	return h.cfg.CallerObjectID(r)
}

// getPublishingUser answers GET /providers/Microsoft.Web/publishingUsers/web
// (az webapp deployment user show): the caller's own deployment user.
func (h *Handler) getPublishingUser(w http.ResponseWriter, r *http.Request, p params) error {
	name := ""
	if oid := h.caller(r); oid != "" {
		var err error
		if name, err = h.cfg.Store.PublishingUser(r.Context(), oid); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, publishingUserJSON(name))
}

// putPublishingUser answers PUT /providers/Microsoft.Web/publishingUsers/web
// (az webapp deployment user set): sets the caller's deployment user name
// and password. A name another principal holds is 409.
func (h *Handler) putPublishingUser(w http.ResponseWriter, r *http.Request, p params) error {
	var body struct {
		Properties struct {
			PublishingUserName string `json:"publishingUserName"`
			PublishingPassword string `json:"publishingPassword"`
		} `json:"properties"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	oid := h.caller(r)
	if oid == "" {
		return slipway.Errorf(slipway.EINVALID, "A deployment user belongs to a signed-in principal, and the admin token is none: sign in with az login as the principal that will deploy, then run az webapp deployment user set.")
	}
	name := body.Properties.PublishingUserName
	if err := h.cfg.Store.SetPublishingUser(r.Context(), oid, name, body.Properties.PublishingPassword); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, publishingUserJSON(name))
}
