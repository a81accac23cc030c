package arm

import (
	"encoding/json"
	"maps"
	"net/http"
	"strconv"
	"strings"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/autoscale"
	"github.com/slipway-dev/slipway/internal/store"
)

// Autoscale settings (Microsoft.Insights/autoscalesettings, api-version
// 2022-10-01 as `az monitor autoscale` sends it): an App Service plan's
// instance count between a profile's minimum and maximum, driven by rules
// on CpuPercentage, MemoryPercentage and HttpQueueLength
// (https://learn.microsoft.com/rest/api/monitor/autoscale-settings;
// docs/appservice.md §11). Validation is internal/autoscale's; the server's
// evaluator loop (internal/server/autoscale.go) applies the settings.

// autoscaleWriteAction is the operation of writing an autoscale setting
// (https://learn.microsoft.com/azure/role-based-access-control/permissions/monitor).
const autoscaleWriteAction = "Microsoft.Insights/AutoscaleSettings/Write"

func autoscaleID(sub, rg, name string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/microsoft.insights/autoscalesettings/" + name
}

// autoscaleBody is a setting's PUT or PATCH document. properties keeps
// every property the client sent (notifications, predictiveAutoscalePolicy
// and others are stored and returned as they came).
type autoscaleBody struct {
	Location   *string                    `json:"location"`
	Tags       map[string]string          `json:"tags"`
	Properties map[string]json.RawMessage `json:"properties"`
}

// autoscaleComputed are the properties the columns hold, not the JSON.
var autoscaleComputed = []string{"enabled", "targetResourceUri", "name", "targetResourceLocation"}

func (h *Handler) autoscaleJSON(sub string, a store.AutoscaleSetting) map[string]any {
	props := map[string]any{}
	var raw map[string]json.RawMessage
	if json.Unmarshal(a.Properties, &raw) == nil {
		for k, v := range raw {
			props[k] = v
		}
	}
	if _, ok := props["predictiveAutoscalePolicy"]; !ok {
		props["predictiveAutoscalePolicy"] = map[string]any{"scaleMode": "Disabled"}
	}
	if _, ok := props["notifications"]; !ok {
		props["notifications"] = []any{}
	}
	props["enabled"] = a.Enabled
	props["name"] = a.Name
	props["targetResourceUri"] = a.TargetResourceURI
	props["targetResourceLocation"] = displayLocation(a.Location)
	tags := a.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return map[string]any{
		"id":         autoscaleID(sub, a.ResourceGroup, a.Name),
		"name":       a.Name,
		"type":       "Microsoft.Insights/autoscaleSettings",
		"location":   displayLocation(a.Location),
		"tags":       tags,
		"properties": props,
	}
}

func badAutoscale(msg string) error {
	return &apiError{Status: http.StatusBadRequest, Code: "BadRequest", Message: msg}
}

// checkAutoscale validates a setting as Azure does: its profiles
// (minimum <= default <= maximum, the rules' metrics and durations), a
// target that is an existing App Service plan of this subscription in the
// Standard tier or above, a maximum within the tier's worker limit, and
// rules measuring that plan.
func (h *Handler) checkAutoscale(r *http.Request, sub string, a store.AutoscaleSetting, props map[string]json.RawMessage) error {
	profiles, _, err := autoscale.Profiles(props["profiles"])
	if err != nil {
		return badAutoscale("The autoscale setting is invalid: " + err.Error() + ".")
	}
	targetSub, targetRG, targetPlan, ok := store.PlanOfTarget(a.TargetResourceURI)
	if !ok || !strings.EqualFold(targetSub, sub) {
		return badAutoscale("The targetResourceUri '" + a.TargetResourceURI + "' is not an App Service plan of this subscription (/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Web/serverfarms/{plan}); Slipway autoscales App Service plans only.")
	}
	// The setting sets the plan's worker count, as a write of the plan
	// does: the caller must be allowed that write on the plan itself (a
	// linked scope), or a Contributor of one group would scale another
	// group's plan from a setting its owner cannot see. Checked before the
	// plan is looked up, so its existence is not told either.
	if err := h.checkLinked(r, autoscaleWriteAction, autoscaleID(sub, a.ResourceGroup, a.Name),
		planWriteAction, planID(sub, targetRG, targetPlan)); err != nil {
		return err
	}
	plan, err := h.cfg.Store.Plan(r.Context(), targetRG, targetPlan)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return badAutoscale("The target resource '" + a.TargetResourceURI + "' was not found.")
	} else if err != nil {
		return err
	}
	switch strings.ToLower(plan.SKU.Tier) {
	case "free", "shared", "basic":
		// Autoscale is Standard and above; Basic scales out by hand
		// (docs/appservice.md §11).
		return badAutoscale("The App Service plan '" + plan.Name + "' is in the " + plan.SKU.Tier + " tier: autoscale needs Standard or above. Scale up the plan, or set its worker count with `az appservice plan update --number-of-workers`.")
	}
	// One setting per resource: two would fight over the worker count.
	others, err := h.cfg.Store.AutoscaleSettings(r.Context(), "")
	if err != nil {
		return err
	}
	for _, o := range others {
		same := strings.EqualFold(o.ResourceGroup, a.ResourceGroup) && strings.EqualFold(o.Name, a.Name)
		if !same && strings.EqualFold(strings.TrimRight(o.TargetResourceURI, "/"), strings.TrimRight(a.TargetResourceURI, "/")) {
			return &apiError{Status: http.StatusConflict, Code: "Conflict", Message: "The target resource '" + a.TargetResourceURI +
				"' already has the autoscale setting '" + o.Name + "' in resource group '" + o.ResourceGroup + "'; a resource has at most one."}
		}
	}
	limit := plan.SKU.Size().MaxWorkers
	for _, p := range profiles {
		e, _ := autoscale.New(p) // validated by Profiles
		if _, maximum, _ := e.Capacity(); maximum > limit {
			return badAutoscale("The profile '" + p.Name + "' has a maximum capacity above the " + plan.SKU.Tier + " tier's limit of " + strconv.Itoa(limit) + " instances for the App Service plan '" + plan.Name + "'.")
		}
		for _, rule := range p.Rules {
			if u := rule.MetricTrigger.MetricResourceURI; u != "" && !strings.EqualFold(strings.TrimRight(u, "/"), strings.TrimRight(a.TargetResourceURI, "/")) {
				return badAutoscale("The metricResourceUri '" + u + "' of a rule in profile '" + p.Name + "' is not the target resource; Slipway measures the App Service plan's own metrics.")
			}
		}
	}
	return nil
}

func (h *Handler) putAutoscale(w http.ResponseWriter, r *http.Request, p params) error {
	return h.writeAutoscale(w, r, p, false)
}

func (h *Handler) patchAutoscale(w http.ResponseWriter, r *http.Request, p params) error {
	return h.writeAutoscale(w, r, p, true)
}

// writeAutoscale creates (201) or replaces (200) a setting; a PATCH needs
// it to exist and changes the tags and the properties it names (enabled,
// profiles, notifications, ...).
func (h *Handler) writeAutoscale(w http.ResponseWriter, r *http.Request, p params, patch bool) error {
	var body autoscaleBody
	if err := readJSON(r, &body); err != nil {
		return err
	}
	ctx := r.Context()
	a := store.AutoscaleSetting{ResourceGroup: p.rg, Name: p.setting, Tags: body.Tags}
	props := map[string]json.RawMessage{}
	if patch {
		old, err := h.cfg.Store.AutoscaleSetting(ctx, p.rg, p.setting)
		if err != nil {
			return err
		}
		_ = json.Unmarshal(old.Properties, &props)
		a.Location, a.Enabled, a.TargetResourceURI = old.Location, old.Enabled, old.TargetResourceURI
		if a.Tags == nil {
			a.Tags = old.Tags
		}
	} else if body.Location == nil || strings.TrimSpace(*body.Location) == "" {
		return &apiError{Status: http.StatusBadRequest, Code: "LocationRequired", Message: "The location property is required for this definition."}
	}
	if body.Location != nil && !patch {
		a.Location = normalizeLocation(*body.Location)
	}
	if body.Properties == nil && !patch {
		return badAutoscale("The properties of the autoscale setting are required.")
	}
	maps.Copy(props, body.Properties)
	if v, ok := body.Properties["enabled"]; ok {
		if err := json.Unmarshal(v, &a.Enabled); err != nil {
			return badAutoscale("The property 'enabled' must be true or false.")
		}
	} else if !patch {
		a.Enabled = false // the API's default
	}
	if v, ok := body.Properties["targetResourceUri"]; ok {
		if err := json.Unmarshal(v, &a.TargetResourceURI); err != nil {
			return badAutoscale("The property 'targetResourceUri' must be a string.")
		}
	}
	for _, k := range autoscaleComputed {
		delete(props, k)
	}
	if err := h.checkAutoscale(r, p.sub, a, props); err != nil {
		return err
	}
	var err error
	if a.Properties, err = json.Marshal(props); err != nil {
		return err
	}
	stored, created, err := h.cfg.Store.PutAutoscaleSetting(ctx, a)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, h.autoscaleJSON(p.sub, stored))
}

func (h *Handler) getAutoscale(w http.ResponseWriter, r *http.Request, p params) error {
	a, err := h.cfg.Store.AutoscaleSetting(r.Context(), p.rg, p.setting)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.autoscaleJSON(p.sub, a))
}

// listAutoscale lists the settings of a group or of the subscription.
func (h *Handler) listAutoscale(w http.ResponseWriter, r *http.Request, p params) error {
	as, err := h.cfg.Store.AutoscaleSettings(r.Context(), p.rg)
	if err != nil {
		return err
	}
	out := make([]any, 0, len(as))
	for _, a := range as {
		out = append(out, h.autoscaleJSON(p.sub, a))
	}
	return writeJSON(w, http.StatusOK, list{Value: out})
}

// deleteAutoscale deletes a setting: 200, or 204 when there is none.
func (h *Handler) deleteAutoscale(w http.ResponseWriter, r *http.Request, p params) error {
	return h.writeDeleted(w, r, p.rg, h.cfg.Store.DeleteAutoscaleSetting(r.Context(), p.rg, p.setting))
}
