package arm

import (
	"context"
	"net/http"
	"strings"
	"unicode"

	"github.com/slipway-dev/slipway"
)

// Operations on a plan that changes of other resources reach: setting its
// worker count (an autoscale setting), deleting it with its last app, and
// putting an app on it
// (https://learn.microsoft.com/azure/role-based-access-control/permissions/web-and-mobile).
const (
	planWriteAction  = "Microsoft.Web/serverfarms/Write"
	planDeleteAction = "Microsoft.Web/serverfarms/Delete"
	planJoinAction   = "Microsoft.Web/serverFarms/join/action"
)

func planID(sub, rg, name string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Web/serverfarms/" + name
}

// skuFamily is the SKU name without its size digits ("P1v3" → "Pv3",
// "B1" → "B"), as Azure reports sku.family.
func skuFamily(name string) string {
	i := strings.IndexFunc(name, unicode.IsDigit)
	if i < 0 {
		return name
	}
	j := i
	for j < len(name) && unicode.IsDigit(rune(name[j])) {
		j++
	}
	return name[:i] + name[j:]
}

func (h *Handler) planJSON(sub string, p slipway.Plan, sites int) map[string]any {
	kind := "app"
	if p.Linux {
		kind = "linux"
	}
	tags := p.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	loc := displayLocation(p.Location)
	return map[string]any{
		"id":       planID(sub, p.ResourceGroup, p.Name),
		"name":     p.Name,
		"type":     "Microsoft.Web/serverfarms",
		"kind":     kind,
		"location": loc,
		"tags":     tags,
		"sku": map[string]any{
			"name": p.SKU.Name, "tier": tierJSON(p), "size": p.SKU.Name,
			"family": skuFamily(p.SKU.Name), "capacity": p.SKU.Capacity,
		},
		"properties": map[string]any{
			"status":                    "Ready",
			"provisioningState":         "Succeeded",
			"reserved":                  p.Linux,
			"numberOfWorkers":           p.SKU.Capacity,
			"maximumNumberOfWorkers":    p.SKU.Size().MaxWorkers,
			"numberOfSites":             sites,
			"geoRegion":                 loc,
			"resourceGroup":             p.ResourceGroup,
			"hyperV":                    false,
			"isXenon":                   false,
			"perSiteScaling":            p.PerSiteScaling,
			"elasticScaleEnabled":       false,
			"maximumElasticWorkerCount": 1,
			"isSpot":                    false,
			"targetWorkerCount":         0,
			"targetWorkerSizeId":        0,
			"zoneRedundant":             false,
		},
	}
}

// putPlan creates or updates a plan and answers 200 either way (docs/arm.md
// §1.4, §3.4). The tier arrives upper-case from the CLI; the canonical tier
// comes from the SKU name. Linux is reserved:true or a kind with "linux".
func (h *Handler) putPlan(w http.ResponseWriter, r *http.Request, p params) error {
	return h.writePlan(w, r, p, false)
}

// patchPlan updates an existing plan (App Service Plans - Update,
// https://learn.microsoft.com/rest/api/appservice/app-service-plans/update):
// the body is an AppServicePlanPatchResource, whose properties (reserved,
// perSiteScaling, ...) change only where given, and the answer is the
// plan, 200. The Azure SDK for Go's PlansClient.Update sends it.
func (h *Handler) patchPlan(w http.ResponseWriter, r *http.Request, p params) error {
	return h.writePlan(w, r, p, true)
}

// writePlan stores a plan from a PUT or PATCH body: fields absent from the
// body keep their values; a PATCH needs the plan to exist.
func (h *Handler) writePlan(w http.ResponseWriter, r *http.Request, p params, mustExist bool) error {
	var body struct {
		Location string            `json:"location"`
		Kind     string            `json:"kind"`
		Tags     map[string]string `json:"tags"`
		SKU      *struct {
			Name     string `json:"name"`
			Capacity *int   `json:"capacity"`
		} `json:"sku"`
		Properties struct {
			Reserved       *bool `json:"reserved"`
			PerSiteScaling *bool `json:"perSiteScaling"`
		} `json:"properties"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	ctx := r.Context()
	old, err := h.cfg.Store.Plan(ctx, p.rg, p.plan)
	exists := err == nil
	if err != nil && (mustExist || slipway.ErrorCode(err) != slipway.ENOTFOUND) {
		return err
	}
	if slipway.ErrorCode(err) == slipway.ENOTFOUND && strings.HasPrefix(slipway.ErrorMessage(err), "Resource group '") {
		return err
	}
	plan := slipway.Plan{ResourceGroup: p.rg, Name: p.plan, Location: normalizeLocation(body.Location), Tags: body.Tags}
	if exists && body.Location == "" {
		plan.Location = old.Location
	}
	switch {
	case body.SKU != nil && body.SKU.Name != "":
		sku, err := slipway.ParseSKU(body.SKU.Name)
		if err != nil {
			return err
		}
		if body.SKU.Capacity != nil {
			sku.Capacity = *body.SKU.Capacity
		} else if exists {
			sku.Capacity = old.SKU.Capacity
		}
		plan.SKU = sku
	case exists:
		plan.SKU = old.SKU
	default:
		return &apiError{Status: http.StatusBadRequest, Code: "BadRequest",
			Message: "The parameter 'sku.name' is required to create an App Service plan, e.g. \"B1\"."}
	}
	switch {
	case body.Properties.Reserved != nil:
		plan.Linux = *body.Properties.Reserved
	case body.Kind != "":
		plan.Linux = strings.Contains(strings.ToLower(body.Kind), "linux")
	case exists:
		plan.Linux = old.Linux
	}
	if exists && plan.Tags == nil {
		plan.Tags = old.Tags
	}
	switch {
	case body.Properties.PerSiteScaling != nil:
		plan.PerSiteScaling = *body.Properties.PerSiteScaling
	case exists:
		plan.PerSiteScaling = old.PerSiteScaling
	}
	if exists && plan.SKU.Tier == "Free" && old.SKU.Tier != "Free" {
		if err := h.noCustomDomains(ctx, plan); err != nil {
			return err
		}
	}
	stored, _, err := h.cfg.Store.PutPlan(ctx, plan)
	if err != nil {
		return err
	}
	if exists && (stored.SKU != old.SKU || stored.PerSiteScaling != old.PerSiteScaling) {
		// Scale up or out: the plan's apps restart on the new size. As on
		// App Service the change is stored and answered even when an app
		// then fails to start; the failure is in that app's log stream.
		if err := h.cfg.Controller.PlanChanged(ctx, p.rg, p.plan); err != nil {
			h.cfg.Logger.Warn("applying a plan change", "plan", p.plan, "err", err)
		}
	}
	n, err := h.cfg.Store.PlanSiteCount(ctx, stored.ResourceGroup, stored.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.planJSON(p.sub, stored, n))
}

func (h *Handler) getPlan(w http.ResponseWriter, r *http.Request, p params) error {
	plan, err := h.cfg.Store.Plan(r.Context(), p.rg, p.plan)
	if err != nil {
		return err
	}
	n, err := h.cfg.Store.PlanSiteCount(r.Context(), plan.ResourceGroup, plan.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.planJSON(p.sub, plan, n))
}

// listPlans lists the plans of a resource group, or of the subscription
// when the route has no group (`?detailed=true` is accepted and ignored).
func (h *Handler) listPlans(w http.ResponseWriter, r *http.Request, p params) error {
	plans, err := h.cfg.Store.Plans(r.Context(), p.rg)
	if err != nil {
		return err
	}
	vs := make([]any, 0, len(plans))
	for _, plan := range plans {
		n, err := h.cfg.Store.PlanSiteCount(r.Context(), plan.ResourceGroup, plan.Name)
		if err != nil {
			return err
		}
		vs = append(vs, h.planJSON(p.sub, plan, n))
	}
	return writeJSON(w, http.StatusOK, list{Value: vs})
}

func (h *Handler) deletePlan(w http.ResponseWriter, r *http.Request, p params) error {
	if err := h.cfg.Store.DeletePlan(r.Context(), p.rg, p.plan); err != nil {
		return err
	}
	return writeEmpty(w, http.StatusOK)
}

// tierJSON is a plan's tier as ARM shows it: a Linux plan's Free tier is
// LinuxFree (azure-cli's test_webapp_create_linux_free, recorded against
// Azure, reads sku.tier LinuxFree); the others are their names.
func tierJSON(p slipway.Plan) string {
	if p.Linux && p.SKU.Tier == "Free" {
		return "LinuxFree"
	}
	return p.SKU.Tier
}

// noCustomDomains refuses scaling a plan down to Free (F1) while an app or
// slot on it has a custom domain bound: custom domains, and the
// certificates bound to them, need a paid tier (docs/https.md), and App
// Service fails a scale to a tier without a feature the apps use
// (https://learn.microsoft.com/azure/app-service/manage-scale-up). ⚠ The
// API's own wording was not found; this says which name is in the way.
func (h *Handler) noCustomDomains(ctx context.Context, plan slipway.Plan) error {
	// Every group's: an app may run on a plan of another group.
	sites, err := h.cfg.Store.Sites(ctx, "")
	if err != nil {
		return err
	}
	for _, s := range sites {
		if !s.OnPlan(plan.ResourceGroup, plan.Name) {
			continue
		}
		bindings, err := h.cfg.Store.HostNameBindings(ctx, s.ResourceGroup, s.Name)
		if err != nil {
			return err
		}
		if len(bindings) > 0 {
			return slipway.Errorf(slipway.ECONFLICT, "The App Service plan '%s' cannot be scaled to the Free (F1) tier: '%s' has the custom domain '%s' bound, and custom domains need a paid tier. Delete it first (az webapp config hostname delete).",
				plan.Name, s.Name, bindings[0].HostName)
		}
	}
	return nil
}
