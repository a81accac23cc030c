package arm

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/slipway-dev/slipway"
)

func (h *Handler) groupJSON(sub string, g slipway.ResourceGroup) map[string]any {
	tags := g.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return map[string]any{
		"id":         "/subscriptions/" + sub + "/resourceGroups/" + g.Name,
		"name":       g.Name,
		"type":       "Microsoft.Resources/resourceGroups",
		"location":   g.Location,
		"tags":       tags,
		"properties": map[string]any{"provisioningState": "Succeeded"},
	}
}

// putGroup creates (201) or updates (200) a resource group (docs/arm.md §1.3).
func (h *Handler) putGroup(w http.ResponseWriter, r *http.Request, p params) error {
	var body struct {
		Location string            `json:"location"`
		Tags     map[string]string `json:"tags"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if body.Location == "" {
		return &apiError{Status: http.StatusBadRequest, Code: "LocationRequired",
			Message: "The location property is required for this definition."}
	}
	g, created, err := h.cfg.Store.PutResourceGroup(r.Context(), slipway.ResourceGroup{
		Name: p.rg, Location: normalizeLocation(body.Location), Tags: body.Tags})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, h.groupJSON(p.sub, g))
}

func (h *Handler) getGroup(w http.ResponseWriter, r *http.Request, p params) error {
	g, err := h.cfg.Store.ResourceGroup(r.Context(), p.rg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.groupJSON(p.sub, g))
}

// headGroup answers 204 if the group exists, 404 if not (docs/arm.md §1.3).
func (h *Handler) headGroup(w http.ResponseWriter, r *http.Request, p params) error {
	if _, err := h.cfg.Store.ResourceGroup(r.Context(), p.rg); err != nil {
		return err
	}
	return writeEmpty(w, http.StatusNoContent)
}

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request, p params) error {
	gs, err := h.cfg.Store.ResourceGroups(r.Context())
	if err != nil {
		return err
	}
	vs := make([]any, 0, len(gs))
	for _, g := range gs {
		vs = append(vs, h.groupJSON(p.sub, g))
	}
	return writeJSON(w, http.StatusOK, list{Value: vs})
}

// deleteGroup deletes the group with everything in it (its role
// assignments too), then tells the controller about every site and storage
// account that went with it.
func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request, p params) error {
	deleted, err := h.cfg.Store.DeleteResourceGroupContents(r.Context(), p.rg)
	if err != nil {
		return err
	}
	sites, accounts := deleted.Sites, deleted.StorageAccounts
	var errs []error
	if h.cfg.RBAC != nil { // the group's role assignments went with it
		if err := h.cfg.RBAC.Reload(r.Context()); err != nil {
			errs = append(errs, err)
		}
	}
	for _, s := range sites {
		if err := h.cfg.Controller.SiteDeleted(r.Context(), s.ResourceGroup, s.Name); err != nil {
			errs = append(errs, fmt.Errorf("cleaning up deleted site %s: %w", s.Name, err))
		}
	}
	for _, a := range accounts {
		if err := h.cfg.Controller.StorageAccountDeleted(r.Context(), a.ResourceGroup, a.Name); err != nil {
			errs = append(errs, fmt.Errorf("cleaning up deleted storage account %s: %w", a.Name, err))
		}
	}
	for _, name := range deleted.PostgresServers { // and its PostgreSQL servers with their data
		if h.cfg.Postgres == nil {
			break
		}
		if err := h.cfg.Postgres.DeleteServer(context.WithoutCancel(r.Context()), name); err != nil {
			errs = append(errs, fmt.Errorf("deleting PostgreSQL server %s: %w", name, err))
		}
	}
	for _, name := range deleted.RedisCaches { // and its caches
		if h.cfg.Redis == nil {
			break
		}
		if err := h.cfg.Redis.DeleteCache(context.WithoutCancel(r.Context()), backendName(name)); err != nil {
			errs = append(errs, fmt.Errorf("deleting cache %s: %w", name, err))
		}
	}
	if err := h.certificatesChanged(r.Context()); err != nil { // their names' certificates stop serving
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return writeEmpty(w, http.StatusOK)
}
