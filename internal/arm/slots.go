package arm

// Deployment slots as ARM resources (docs/slots.md §1, docs/arm.md §1.11):
// Microsoft.Web/sites/slots, every site sub-resource again under
// .../slots/{slot}, slot swaps (slotsswap, applySlotConfig,
// resetSlotConfig), auto swap (siteConfig.autoSwapSlotName) and traffic
// routing (siteConfig.experiments.rampUpRules).

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/rbac"
)

// SlotController carries out swaps on running apps (the deploy coordinator
// implements it).
type SlotController interface {
	// SwapSlots swaps (or previews, or resets) slot into targetSlot of app;
	// "" or "production" names the app itself.
	SwapSlots(ctx context.Context, rg, app, slot, targetSlot, action string) error
}

// slotOnly are site routes that exist on the production site only: its
// creation and slot-sticky names (az writes them there even for --slot,
// docs/arm.md §1.7).
var slotOnly = []string{"config/slotConfigNames"}

// withSlotRoutes adds the slot routes to rs: each route under the site
// (but the site's own PUT) again under site/slots/{slot}, with the slot's
// row resolved before the handler runs, and the slot-specific ones.
func (h *Handler) withSlotRoutes(site string, rs []route) []route {
	prefix := strings.Split(site, "/")
	slot := append(slices.Clone(prefix), "slots", "{slot}")
	var out []route
	for _, rt := range rs {
		if len(rt.pattern) < len(prefix) || !slices.Equal(rt.pattern[:len(prefix)], prefix) {
			continue
		}
		rest := strings.Join(rt.pattern[len(prefix):], "/")
		if (rest == "" && rt.method == http.MethodPut) || slices.Contains(slotOnly, rest) {
			continue
		}
		fn := rt.fn
		if strings.EqualFold(rest, "config/web") && rt.method != http.MethodGet {
			// config/web also carries traffic routing and auto swap.
			fn = h.withSlotConfig(fn)
		}
		pat := append(slices.Clone(slot), rt.pattern[len(prefix):]...)
		out = append(out, route{method: rt.method, pattern: pat, fn: h.inSlot(fn)})
	}
	r := func(method, pattern string, fn func(http.ResponseWriter, *http.Request, params) error) route {
		return route{method: method, pattern: strings.Split(pattern, "/"), fn: fn}
	}
	out = append(out,
		r(http.MethodGet, site+"/slots", h.listSlots),
		r(http.MethodPut, site+"/slots/{slot}", h.putSlot),
		r(http.MethodPost, site+"/slots/{slot}/slotsswap", h.slotAction("swap")),
		r(http.MethodPost, site+"/slotsswap", h.slotAction("swap")),
		r(http.MethodPost, site+"/slots/{slot}/applySlotConfig", h.slotAction("preview")),
		r(http.MethodPost, site+"/applySlotConfig", h.slotAction("preview")),
		r(http.MethodPost, site+"/slots/{slot}/resetSlotConfig", h.slotAction("reset")),
		r(http.MethodPost, site+"/resetSlotConfig", h.slotAction("reset")),
	)
	for i, rt := range rs {
		if strings.EqualFold(strings.Join(rt.pattern, "/"), site+"/config/web") && rt.method != http.MethodGet {
			rs[i].fn = h.withSlotConfig(rt.fn)
		}
	}
	return append(rs, out...)
}

// inSlot resolves p.slot to its site row before running fn, so that the
// site handlers serve the slot.
func (h *Handler) inSlot(fn func(http.ResponseWriter, *http.Request, params) error) func(http.ResponseWriter, *http.Request, params) error {
	return func(w http.ResponseWriter, r *http.Request, p params) error {
		s, err := h.cfg.Store.Slot(r.Context(), p.rg, p.site, p.slot)
		if err != nil {
			return err
		}
		p.site, p.slot = s.Name, ""
		return fn(w, r, p)
	}
}

// slotsOf returns the row names of a production site's slots.
func (h *Handler) slotsOf(ctx context.Context, s slipway.Site) ([]string, error) {
	if s.SlotOf != "" {
		return nil, nil
	}
	slots, err := h.cfg.Store.Slots(ctx, s.ResourceGroup, s.Name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, sl := range slots {
		out = append(out, sl.Name)
	}
	return out, nil
}

// siteSubType is the ARM type of a site's sub-resource leaf
// ("deployments"), or of the slot's when s is a slot: nested resources
// are typed by their whole path.
func siteSubType(s slipway.Site, leaf string) string {
	if s.SlotOf != "" {
		return "Microsoft.Web/sites/slots/" + leaf
	}
	return "Microsoft.Web/sites/" + leaf
}

// slotIdentity gives a slot's resource its slot id, name and type.
func slotIdentity(res map[string]any, sub string, s slipway.Site) {
	if s.SlotOf == "" {
		return
	}
	res["id"] = s.ResourceID(sub)
	res["name"] = s.SlotOf + "/" + s.Slot
	res["type"] = "Microsoft.Web/sites/slots"
}

// listSlots answers GET .../sites/{app}/slots.
func (h *Handler) listSlots(w http.ResponseWriter, r *http.Request, p params) error {
	ctx := r.Context()
	slots, err := h.cfg.Store.Slots(ctx, p.rg, p.site)
	if err != nil {
		return err
	}
	vs := make([]any, 0, len(slots))
	for _, s := range slots {
		plan, err := h.cfg.Store.Plan(ctx, s.PlanResourceGroup(), s.Plan)
		if err != nil {
			return err
		}
		hn, err := h.siteHostNames(ctx, s)
		if err != nil {
			return err
		}
		vs = append(vs, h.siteJSON(p.sub, s, plan, hn))
	}
	return writeJSON(w, http.StatusOK, list{Value: vs})
}

// putSlot answers PUT .../sites/{app}/slots/{slot}: az's `deployment slot
// create` (docs/arm.md §1.11). A new slot starts empty and running, on its
// app's plan; siteConfig's stack and startup command apply when given. An
// existing slot is updated as a site is (writeSiteUpdate): `webapp update
// --slot` and `webapp identity assign --slot` PUT back what GET showed with
// their change, identity and all.
func (h *Handler) putSlot(w http.ResponseWriter, r *http.Request, p params) error {
	ctx := r.Context()
	if _, err := h.cfg.Store.Slot(ctx, p.rg, p.site, p.slot); err == nil {
		return h.inSlot(h.patchSite)(w, r, p)
	} else if slipway.ErrorCode(err) != slipway.ENOTFOUND {
		return err
	}
	var body struct {
		Location   string `json:"location"`
		Properties struct {
			HTTPSOnly  *bool `json:"httpsOnly"`
			SiteConfig *struct {
				LinuxFxVersion *string       `json:"linuxFxVersion"`
				AppCommandLine *string       `json:"appCommandLine"`
				CORS           *corsSettings `json:"cors"` // the slot's own (not swapped)
			} `json:"siteConfig"`
		} `json:"properties"`
		Tags map[string]string `json:"tags"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	site := slipway.Site{Enabled: true, Tags: body.Tags}
	if v := body.Properties.HTTPSOnly; v != nil {
		site.HTTPSOnly = *v
	}
	if sc := body.Properties.SiteConfig; sc != nil {
		if sc.LinuxFxVersion != nil {
			site.Config.LinuxFxVersion = *sc.LinuxFxVersion
		}
		if sc.AppCommandLine != nil {
			site.Config.AppCommandLine = *sc.AppCommandLine
		}
		if err := sc.CORS.applyCORS(&site.CORS); err != nil {
			return err
		}
	}
	out, _, err := h.cfg.Store.PutSlot(ctx, p.rg, p.site, p.slot, site, nil, nil)
	if err != nil {
		return err
	}
	// A slot is a live app with its own host name: new and empty, it serves
	// the default page until its first deployment, as a new app does (and
	// as it would after the server's next start). Failing to start it does
	// not undo the creation: its log says why it is not serving.
	if err := h.cfg.Controller.StartSite(ctx, out.ResourceGroup, out.Name); err != nil {
		h.cfg.Logger.Warn("starting new slot", "site", out.Name, "err", err)
	}
	return h.writeSite(w, r, p.sub, out)
}

// slotAction answers slotsswap, applySlotConfig and resetSlotConfig, on
// a slot or on the production site; the body is CsmSlotEntity
// {"targetSlot","preserveVnet"}. A swap on the production site swaps it
// with targetSlot (swap_slot_with_production).
func (h *Handler) slotAction(action string) func(http.ResponseWriter, *http.Request, params) error {
	return func(w http.ResponseWriter, r *http.Request, p params) error {
		var body struct {
			TargetSlot string `json:"targetSlot"`
		}
		if err := readJSON(r, &body); err != nil {
			return err
		}
		if h.cfg.Slots == nil {
			return slipway.Errorf(slipway.EUNAVAILABLE, "This server has no deployment slots.")
		}
		if _, err := h.cfg.Store.Slot(r.Context(), p.rg, p.site, p.slot); err != nil {
			return err
		}
		source, target := p.slot, body.TargetSlot
		if action != "reset" && target == "" {
			if source == "" {
				return slipway.Errorf(slipway.EINVALID, "targetSlot is required.")
			}
			target = slipway.ProductionSlot
		}
		if action != "reset" {
			if err := h.checkSwapTarget(r, p.sub, p.rg, p.site, target); err != nil {
				return err
			}
		}
		if action == "preview" {
			if err := h.previewWithoutAuth(r.Context(), p.rg, p.site, source, target); err != nil {
				return err
			}
		}
		if err := h.cfg.Slots.SwapSlots(r.Context(), p.rg, p.site, source, target, action); err != nil {
			return err
		}
		return writeEmpty(w, http.StatusOK)
	}
}

// previewWithoutAuth refuses a swap with preview when either slot has
// authentication on, as App Service does
// (https://learn.microsoft.com/azure/app-service/deploy-staging-slots#swap-with-preview-multi-phase-swap):
// the preview applies the target's settings to the source, and the
// authentication settings stay with each slot.
func (h *Handler) previewWithoutAuth(ctx context.Context, rg, app string, slots ...string) error {
	for _, slot := range slots {
		s, err := h.cfg.Store.Slot(ctx, rg, app, slot)
		if err != nil {
			return err
		}
		a, _, err := h.cfg.Store.AuthSettings(ctx, s.ResourceGroup, s.Name)
		if err != nil {
			return err
		}
		if a.AuthOn() {
			return slipway.Errorf(slipway.EINVALID, "Swap with preview is not supported when App Service authentication is enabled on either slot (it is on %s). Swap without preview (az webapp deployment slot swap --action swap), or turn authentication off first.", s.Name)
		}
	}
	return nil
}

// checkSwapTarget requires a caller who swaps (or previews, or sets auto
// swap) into target — "production" or another slot of app — to be allowed
// to swap the target as well, as a linked scope: a role on one slot is no
// role on the app, yet a swap changes what the target runs and gives the
// slot the target's settings. The request's own operation and scope are
// what ARM already checked.
func (h *Handler) checkSwapTarget(r *http.Request, sub, rg, app, target string) error {
	action, scope := rbac.ActionFor(r.Method, r.URL.Path)
	linkedAction, linked := "Microsoft.Web/sites/slotsswap/action", siteID(sub, rg, app)
	if !strings.EqualFold(target, slipway.ProductionSlot) {
		linkedAction, linked = "Microsoft.Web/sites/slots/slotsswap/action", linked+"/slots/"+target
	}
	return h.checkLinked(r, action, scope, linkedAction, linked)
}

// slotConfigJSON adds to a site's config/web what slots keep elsewhere:
// the production site's traffic routing rules and a slot's auto swap.
func (h *Handler) slotConfigJSON(ctx context.Context, s slipway.Site, props map[string]any) error {
	if s.SlotOf != "" {
		v, err := h.cfg.Store.AutoSwapSlot(ctx, s.ResourceGroup, s.Name)
		if err != nil {
			return err
		}
		props["autoSwapSlotName"] = nullIfEmpty(v)
		return nil
	}
	rules, err := h.cfg.Store.RampUpRules(ctx, s.ResourceGroup, s.Name)
	if err != nil {
		return err
	}
	out := make([]any, 0, len(rules))
	for _, ru := range rules {
		out = append(out, map[string]any{
			"actionHostName":    h.appHost(slipway.SlotSiteName(s.Name, ru.Slot)), // the slot's defaultHostName, as az builds it
			"reroutePercentage": ru.Percent,
			"name":              ru.Slot,
		})
	}
	props["experiments"] = map[string]any{"rampUpRules": out}
	return nil
}

// withSlotConfig runs a config/web PUT or PATCH and then stores what it
// carries for slots: experiments.rampUpRules on a production site (az
// webapp traffic-routing set|clear) and autoSwapSlotName on a slot (az
// webapp deployment slot auto-swap). Fields absent leave them as they are.
func (h *Handler) withSlotConfig(fn func(http.ResponseWriter, *http.Request, params) error) func(http.ResponseWriter, *http.Request, params) error {
	return func(w http.ResponseWriter, r *http.Request, p params) error {
		b, err := io.ReadAll(r.Body)
		if err != nil { // the handler reports it (e.g. a body too large)
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), errReader{err}))
			return fn(w, r, p)
		}
		var body struct {
			Properties struct {
				AutoSwapSlotName *string `json:"autoSwapSlotName"`
				Experiments      *struct {
					RampUpRules []struct {
						Name              string          `json:"name"`
						ReroutePercentage json.RawMessage `json:"reroutePercentage"`
					} `json:"rampUpRules"`
				} `json:"experiments"`
			} `json:"properties"`
		}
		_ = json.Unmarshal(b, &body) // the handler reports a malformed body
		ctx := r.Context()
		s, err := h.cfg.Store.Site(ctx, p.rg, p.site)
		if err != nil {
			return err
		}
		// Validate before the handler changes anything.
		var rules []slipway.RampUpRule
		setRules := s.SlotOf == "" && body.Properties.Experiments != nil
		if setRules {
			for _, ru := range body.Properties.Experiments.RampUpRules {
				pct, err := strconv.ParseFloat(strings.Trim(string(ru.ReroutePercentage), `"`), 64)
				if err != nil {
					return slipway.Errorf(slipway.EINVALID, "reroutePercentage of %q is not a number.", ru.Name)
				}
				rules = append(rules, slipway.RampUpRule{Slot: ru.Name, Percent: pct})
			}
			if err := slipway.ValidateRampUpRules(s.Name, rules); err != nil {
				return err
			}
		}
		if s.SlotOf != "" && body.Properties.AutoSwapSlotName != nil {
			if t := *body.Properties.AutoSwapSlotName; t != "" {
				if err := h.checkSwapTarget(r, p.sub, s.ResourceGroup, s.SlotOf, t); err != nil {
					return err
				}
			}
			if err := h.cfg.Store.SetAutoSwapSlot(ctx, s.ResourceGroup, s.Name, *body.Properties.AutoSwapSlotName); err != nil {
				return err
			}
		}
		if setRules {
			if err := h.cfg.Store.SetRampUpRules(ctx, s.ResourceGroup, s.Name, rules); err != nil {
				return err
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		return fn(w, r, p)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
