package arm

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/insights"
)

// Application Insights components (Microsoft.Insights/components; REST:
// https://learn.microsoft.com/rest/api/application-insights/components,
// api-versions 2020-02-02 and 2015-05-01, which share these shapes): PUT
// creates or updates one, GET reads it, PATCH replaces its tags, DELETE
// removes it (200, 204 when there is none), and the group's and the
// subscription's lists. az resource create|show|list|delete
// --resource-type Microsoft.Insights/components, the Azure SDKs and ARM
// templates (reference(...).ConnectionString, as azd's templates set
// APPLICATIONINSIGHTS_CONNECTION_STRING) read them. The instrumentation
// key and application id are made at creation and never change; the
// connection string names Slipway's ingestion endpoint (internal/insights),
// where the app's telemetry goes.

// componentsType is the type Azure answers components with: in lower
// case, as its ids spell the namespace (az monitor app-insights component
// show prints "microsoft.insights/components").
const componentsType = "microsoft.insights/components"

func componentID(sub, rg, name string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/microsoft.insights/components/" + name
}

// componentBody is a component's PUT document. The read-only properties
// a client echoes back (InstrumentationKey, AppId, ConnectionString,
// CreationDate, ...) are ignored, as Azure ignores them.
type componentBody struct {
	Location   *string            `json:"location"`
	Kind       *string            `json:"kind"`
	Tags       map[string]string  `json:"tags"`
	Properties *componentBodyProp `json:"properties"`
}

// componentBodyProp are the writable properties, by Azure's names (JSON
// field names match without regard to case, as ARM's do).
type componentBodyProp struct {
	ApplicationType                 *string  `json:"Application_Type"`
	FlowType                        *string  `json:"Flow_Type"`
	RequestSource                   *string  `json:"Request_Source"`
	RetentionInDays                 *int     `json:"RetentionInDays"`
	SamplingPercentage              *float64 `json:"SamplingPercentage"`
	DisableIPMasking                *bool    `json:"DisableIpMasking"`
	DisableLocalAuth                *bool    `json:"DisableLocalAuth"`
	IngestionMode                   *string  `json:"IngestionMode"`
	WorkspaceResourceID             *string  `json:"WorkspaceResourceId"`
	PublicNetworkAccessForIngestion *string  `json:"publicNetworkAccessForIngestion"`
	PublicNetworkAccessForQuery     *string  `json:"publicNetworkAccessForQuery"`
}

// componentJSON is a component as Azure answers it (ApplicationInsightsComponent).
func (h *Handler) componentJSON(sub, tenant string, c slipway.InsightsComponent) map[string]any {
	tags := c.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	var sampling any // null when not set, as Azure's
	if c.SamplingPercentage > 0 {
		sampling = c.SamplingPercentage
	}
	var workspace any
	if c.WorkspaceResourceID != "" {
		workspace = c.WorkspaceResourceID
	}
	props := map[string]any{
		"ApplicationId":                   c.Name,
		"AppId":                           c.AppID,
		"Application_Type":                c.ApplicationType,
		"Flow_Type":                       nullable(c.FlowType),
		"Request_Source":                  nullable(c.RequestSource),
		"InstrumentationKey":              c.InstrumentationKey,
		"ConnectionString":                insights.ConnectionString(c.InstrumentationKey, c.AppID, insights.IngestionEndpoint(h.cfg.Domain, h.cfg.HostSuffix)),
		"Name":                            c.Name,
		"CreationDate":                    c.Created.UTC().Format("2006-01-02T15:04:05.0000000-07:00"),
		"TenantId":                        tenant,
		"provisioningState":               "Succeeded",
		"SamplingPercentage":              sampling,
		"RetentionInDays":                 c.RetentionInDays,
		"IngestionMode":                   c.IngestionMode,
		"WorkspaceResourceId":             workspace,
		"DisableIpMasking":                c.DisableIPMasking,
		"DisableLocalAuth":                c.DisableLocalAuth,
		"publicNetworkAccessForIngestion": c.PublicNetworkAccessForIngestion,
		"publicNetworkAccessForQuery":     c.PublicNetworkAccessForQuery,
		"Ver":                             "v2",
	}
	doc := map[string]any{
		"id":         componentID(sub, c.ResourceGroup, c.Name),
		"name":       c.Name,
		"type":       componentsType,
		"location":   c.Location,
		"tags":       tags,
		"kind":       c.Kind,
		"properties": props,
	}
	// The etag changes with what a PUT or PATCH can change.
	b, _ := json.Marshal([]any{tags, c.Location, c.Kind, props}) // maps and plain values always encode
	sum := sha256.Sum256(b)
	doc["etag"] = `"` + hex.EncodeToString(sum[:8]) + `"`
	return doc
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func badComponent(code, msg string) error {
	return &apiError{Status: http.StatusBadRequest, Code: code, Message: msg}
}

// putComponent creates or updates a component, answering 200 either way. A new one
// needs a location; kind and Application_Type default to "web" (old
// templates name neither, and Azure creates the component). An update
// changes what the body names and keeps the rest, the keys always.
func (h *Handler) putComponent(w http.ResponseWriter, r *http.Request, p params) error {
	var body componentBody
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if err := slipway.ValidateInsightsComponentName(p.component); err != nil {
		return badComponent("InvalidResourceName", slipway.ErrorMessage(err))
	}
	ctx := r.Context()
	c, err := h.cfg.Store.InsightsComponent(ctx, p.rg, p.component)
	exists := err == nil
	if err != nil && slipway.ErrorCode(err) != slipway.ENOTFOUND {
		return err
	}
	if pr := body.Properties; pr != nil {
		// Private networking, which Slipway does not have
		// (networkisolation.go): never stored and shown as if it held.
		for what, v := range map[string]struct {
			sent *string
			was  string
		}{"publicNetworkAccessForIngestion": {pr.PublicNetworkAccessForIngestion, c.PublicNetworkAccessForIngestion},
			"publicNetworkAccessForQuery": {pr.PublicNetworkAccessForQuery, c.PublicNetworkAccessForQuery}} {
			if v.sent != nil && strings.EqualFold(*v.sent, "Disabled") && !strings.EqualFold(v.was, "Disabled") {
				return badComponent("BadRequest", "Slipway has no private endpoints and does not filter a component's traffic by network: "+what+
					" can only be Enabled. "+insightsAccessInstead)
			}
		}
	}
	if _, gerr := h.cfg.Store.ResourceGroup(ctx, p.rg); gerr != nil {
		return gerr
	}
	if !exists {
		c = slipway.InsightsComponent{ResourceGroup: p.rg, Name: p.component, Kind: "web", ApplicationType: "web"}
		if body.Location == nil || strings.TrimSpace(*body.Location) == "" {
			return badComponent("LocationRequired", "The location property is required for this definition.")
		}
	}
	if body.Location != nil && strings.TrimSpace(*body.Location) != "" {
		loc := normalizeLocation(*body.Location)
		if exists && !strings.EqualFold(loc, normalizeLocation(c.Location)) {
			return badComponent("InvalidResourceLocation", fmt.Sprintf(
				"The resource 'microsoft.insights/components/%s' already exists in location '%s' in resource group '%s'. A resource with the same name cannot be created in location '%s'. Please select a new resource name.",
				c.Name, c.Location, c.ResourceGroup, loc))
		}
		c.Location = loc
	}
	if body.Kind != nil && strings.TrimSpace(*body.Kind) != "" {
		c.Kind = strings.TrimSpace(*body.Kind)
	}
	c.Tags = body.Tags
	if pr := body.Properties; pr != nil {
		setIf(&c.ApplicationType, pr.ApplicationType)
		setIf(&c.FlowType, pr.FlowType)
		setIf(&c.RequestSource, pr.RequestSource)
		setIf(&c.IngestionMode, pr.IngestionMode)
		setIf(&c.WorkspaceResourceID, pr.WorkspaceResourceID)
		setIf(&c.PublicNetworkAccessForIngestion, pr.PublicNetworkAccessForIngestion)
		setIf(&c.PublicNetworkAccessForQuery, pr.PublicNetworkAccessForQuery)
		if pr.RetentionInDays != nil {
			c.RetentionInDays = *pr.RetentionInDays
		}
		if pr.SamplingPercentage != nil {
			c.SamplingPercentage = *pr.SamplingPercentage
		}
		if pr.DisableIPMasking != nil {
			c.DisableIPMasking = *pr.DisableIPMasking
		}
		if pr.DisableLocalAuth != nil {
			c.DisableLocalAuth = *pr.DisableLocalAuth
		}
		if pr.WorkspaceResourceID != nil && pr.IngestionMode == nil && *pr.WorkspaceResourceID != "" {
			c.IngestionMode = slipway.IngestionLogAnalytics // a workspace-based component
		}
	}
	if strings.TrimSpace(c.ApplicationType) == "" {
		return badComponent("BadRequest", "The component's properties.Application_Type is required: use 'web' or 'other'.")
	}
	if c.WorkspaceResourceID != "" {
		if err := h.checkWorkspaceID(p.sub, c.WorkspaceResourceID); err != nil {
			return err
		}
	}
	stored, _, err := h.cfg.Store.PutInsightsComponent(ctx, c)
	if err != nil {
		return err
	}
	// 200 for a new component too: Azure's Components - Create Or Update
	// answers 200 only, and azure-mgmt-applicationinsights refuses a 201.
	return h.writeComponent(w, r, p.sub, stored, http.StatusOK)
}

// checkWorkspaceID checks a WorkspaceResourceId's shape: a Log Analytics
// workspace of this subscription. The workspace is not looked up —
// Slipway has no Log Analytics; telemetry stays with the component — so
// it is only echoed.
func (h *Handler) checkWorkspaceID(sub, id string) error {
	segs := splitPath(id)
	if len(segs) != 8 || !strings.EqualFold(segs[0], "subscriptions") || !strings.EqualFold(segs[2], "resourceGroups") ||
		!strings.EqualFold(segs[4], "providers") || !strings.EqualFold(segs[5], "Microsoft.OperationalInsights") ||
		!strings.EqualFold(segs[6], "workspaces") {
		return badComponent("BadRequest", "The WorkspaceResourceId '"+id+"' is not a Log Analytics workspace id (/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/workspaces/{name}).")
	}
	if !strings.EqualFold(segs[1], sub) {
		return badComponent("BadRequest", "The WorkspaceResourceId '"+id+"' names another subscription.")
	}
	return nil
}

func setIf(dst *string, v *string) {
	if v != nil {
		*dst = strings.TrimSpace(*v)
	}
}

func (h *Handler) writeComponent(w http.ResponseWriter, r *http.Request, sub string, c slipway.InsightsComponent, status int) error {
	_, tenant, err := h.cfg.Store.Identity(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, status, h.componentJSON(sub, tenant, c))
}

func (h *Handler) getComponent(w http.ResponseWriter, r *http.Request, p params) error {
	c, err := h.cfg.Store.InsightsComponent(r.Context(), p.rg, p.component)
	if err != nil {
		return err
	}
	return h.writeComponent(w, r, p.sub, c, http.StatusOK)
}

// patchComponent answers Components - Update Tags: {"tags": {...}}
// replaces the component's tags.
func (h *Handler) patchComponent(w http.ResponseWriter, r *http.Request, p params) error {
	var body struct {
		Tags map[string]string `json:"tags"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	ctx := r.Context()
	c, err := h.cfg.Store.InsightsComponent(ctx, p.rg, p.component)
	if err != nil {
		return err
	}
	if body.Tags != nil {
		c.Tags = body.Tags
	}
	stored, _, err := h.cfg.Store.PutInsightsComponent(ctx, c)
	if err != nil {
		return err
	}
	return h.writeComponent(w, r, p.sub, stored, http.StatusOK)
}

// listComponents lists the components of a group or of the subscription.
func (h *Handler) listComponents(w http.ResponseWriter, r *http.Request, p params) error {
	cs, err := h.cfg.Store.InsightsComponents(r.Context(), p.rg)
	if err != nil {
		return err
	}
	_, tenant, err := h.cfg.Store.Identity(r.Context())
	if err != nil {
		return err
	}
	out := make([]any, 0, len(cs))
	for _, c := range cs {
		out = append(out, h.componentJSON(p.sub, tenant, c))
	}
	return writeJSON(w, http.StatusOK, list{Value: out})
}

// deleteComponent deletes a component: 200, or 204 when there is none.
func (h *Handler) deleteComponent(w http.ResponseWriter, r *http.Request, p params) error {
	return h.writeDeleted(w, r, p.rg, h.cfg.Store.DeleteInsightsComponent(r.Context(), p.rg, p.component))
}
