package cli

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// slotCommands are `webapp deployment slot create|list|delete|swap|auto-swap`
// and `webapp traffic-routing set|show|clear`, as az's custom.py does them
// (create_webapp_slot, list_slots, delete_slot, swap_slot,
// config_slot_auto_swap, set/show/clear_traffic_routing; docs/arm.md §1.11,
// docs/slots.md).
func slotCommands() []command {
	gn := []flagDef{fGroup, {Names: []string{"--name", "-n"}, Required: true, Help: "Name of the web app."}}
	fSlot := flagDef{Names: []string{"--slot", "-s"}, Required: true, Help: "The name of the slot."}
	return []command{
		{path: "webapp deployment slot create", short: "Create a deployment slot.", run: slotCreate, flags: withUnsupported(append(gn[:2:2], fSlot,
			flagDef{Names: []string{"--configuration-source", "-c"}, Help: "Source slot to clone configurations from: the app's name for production, or a slot name."}),
			unsupported("container images are out of scope", "--container-image-name --deployment-container-image-name -i", "--container-registry-password --docker-registry-server-password -w", "--container-registry-url -r", "--container-registry-user --docker-registry-server-user -u"),
			uPolicy)},
		{path: "webapp deployment slot list", short: "List the deployment slots of an app.", run: slotList, flags: withUnsupported(gn, uIDs)},
		{path: "webapp deployment slot delete", short: "Delete a deployment slot.", run: slotDelete, flags: withUnsupported(append(gn[:2:2], fSlot), uIDs, uPolicy)},
		{path: "webapp deployment slot swap", short: "Swap deployment slots (warmed up first; sticky settings stay).", run: slotSwap, flags: withUnsupported(append(gn[:2:2], fSlot,
			flagDef{Names: []string{"--target-slot"}, Help: "The slot to swap with; production if not given."},
			flagDef{Names: []string{"--action"}, Help: "swap (default), preview (apply the target's slot settings to the source), or reset (cancel a preview)."}),
			unsupported("Slipway has no virtual networks to preserve", "--preserve-vnet"), uIDs, uPolicy)},
		{path: "webapp deployment slot auto-swap", short: "Swap a slot into another after every successful deployment to it.", run: slotAutoSwap, flags: withUnsupported(append(gn[:2:2], fSlot,
			flagDef{Names: []string{"--auto-swap-slot"}, Help: "The slot to swap into; production if not given."},
			flagDef{Names: []string{"--disable"}, Kind: kindBool, Help: "Turn auto swap off."}), uIDs, uPolicy)},
		{path: "webapp traffic-routing set", short: "Send a share of new clients to slots.", run: trafficSet, flags: withUnsupported(append(gn[:2:2],
			flagDef{Names: []string{"--distribution", "-d"}, Kind: kindList, Required: true, Help: "Space-separated slot=percentage pairs, e.g. staging=20."}), uIDs, uPolicy)},
		{path: "webapp traffic-routing show", short: "Show the traffic routing rules.", run: trafficShow, flags: withUnsupported(gn, uIDs)},
		{path: "webapp traffic-routing clear", short: "Send all traffic to production.", run: trafficClear, flags: withUnsupported(gn, uIDs, uPolicy)},
	}
}

func (c *conn) slotPath(rg, app, slot string) string {
	if slot == "" || strings.EqualFold(slot, "production") {
		return c.appPath(rg, app)
	}
	return c.appPath(rg, app) + "/slots/" + url.PathEscape(slot)
}

// slotOutput is a slot as az prints it: flattened, name cut to the slot.
func slotOutput(res map[string]any) map[string]any {
	out := flatten(res)
	if n := str(res, "name"); strings.Contains(n, "/") {
		out["name"] = n[strings.LastIndex(n, "/")+1:]
	}
	return out
}

func slotCreate(ctx context.Context, inv *invocation) error {
	rg, app, slot := inv.flags.str("resource-group"), inv.flags.str("name"), inv.flags.str("slot")
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	site, err := c.armMap(ctx, http.MethodGet, c.appPath(rg, app), apiWeb, nil)
	if err != nil {
		return err
	}
	src := inv.flags.str("configuration-source")
	body := map[string]any{"location": site["location"], "properties": map[string]any{
		"serverFarmId": lookup(site, "properties.serverFarmId"), "httpsOnly": lookup(site, "properties.httpsOnly"),
	}}
	if src == "" {
		body["properties"].(map[string]any)["siteConfig"] = map[string]any{}
	}
	res, err := c.armMap(ctx, http.MethodPut, c.slotPath(rg, app, slot), apiWeb, body)
	if err != nil {
		return err
	}
	if src != "" {
		if err := c.cloneSlotConfig(ctx, rg, app, src, slot); err != nil {
			return err
		}
	}
	return inv.printResult(slotOutput(res), nil)
}

// cloneSlotConfig copies the source's site config, app settings and
// connection strings to the slot, sticky ones left out (custom.py
// _update_slot_config_from_source).
func (c *conn) cloneSlotConfig(ctx context.Context, rg, app, src, slot string) error {
	if strings.EqualFold(src, app) {
		src = ""
	}
	cfg, err := c.armMap(ctx, http.MethodGet, c.slotPath(rg, app, src)+"/config/web", apiWeb, nil)
	if err != nil {
		return err
	}
	if _, err := c.armMap(ctx, http.MethodPatch, c.slotPath(rg, app, slot)+"/config/web", apiWeb, map[string]any{"properties": cfg["properties"]}); err != nil {
		return err
	}
	sticky, err := c.getSlotNames(ctx, rg, app)
	if err != nil {
		return err
	}
	for _, kind := range []string{"appsettings", "connectionstrings"} {
		res, err := c.armMap(ctx, http.MethodPost, c.slotPath(rg, app, src)+"/config/"+kind+"/list", apiWeb, nil)
		if err != nil {
			return err
		}
		props, _ := res["properties"].(map[string]any)
		names := sticky.AppSettingNames
		if kind == "connectionstrings" {
			names = sticky.ConnectionStringNames
		}
		for _, n := range names {
			delete(props, n)
		}
		if _, err := c.armMap(ctx, http.MethodPut, c.slotPath(rg, app, slot)+"/config/"+kind, apiWeb, map[string]any{"properties": props}); err != nil {
			return err
		}
	}
	return nil
}

func slotList(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	items, err := c.armList(ctx, c.appPath(inv.flags.str("resource-group"), inv.flags.str("name"))+"/slots", apiWeb)
	if err != nil {
		return err
	}
	out := make([]any, 0, len(items))
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			out = append(out, slotOutput(m))
		}
	}
	return inv.printResult(out, []column{{"Name", "name"}, {"State", "state"}, {"DefaultHostName", "defaultHostName"}})
}

func slotDelete(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	_, err = c.arm(ctx, http.MethodDelete, c.slotPath(inv.flags.str("resource-group"), inv.flags.str("name"), inv.flags.str("slot")), apiWeb, nil, nil)
	return err
}

func slotSwap(ctx context.Context, inv *invocation) error {
	rg, app, slot := inv.flags.str("resource-group"), inv.flags.str("name"), inv.flags.str("slot")
	target := inv.flags.str("target-slot")
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	entity := map[string]any{"targetSlot": target, "preserveVnet": true}
	if target == "" {
		entity["targetSlot"] = "production"
	}
	var path string
	switch action := inv.flags.str("action"); action {
	case "", "swap":
		path = c.slotPath(rg, app, slot) + "/slotsswap"
	case "preview":
		path = c.slotPath(rg, app, slot) + "/applySlotConfig"
	case "reset":
		path, entity = c.slotPath(rg, app, target)+"/resetSlotConfig", nil
	default:
		return exitErrorf("Use --action swap, preview or reset.", "argument --action: invalid choice: %q", action)
	}
	_, err = c.arm(ctx, http.MethodPost, path, apiWeb, nil, entity)
	return err
}

func slotAutoSwap(ctx context.Context, inv *invocation) error {
	rg, app, slot := inv.flags.str("resource-group"), inv.flags.str("name"), inv.flags.str("slot")
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	into := inv.flags.str("auto-swap-slot")
	if into == "" {
		into = "production"
	}
	if inv.flags.boolean("disable") {
		into = ""
	}
	res, err := c.armMap(ctx, http.MethodPatch, c.slotPath(rg, app, slot)+"/config/web", apiWeb, map[string]any{"properties": map[string]any{"autoSwapSlotName": into}})
	if err != nil {
		return err
	}
	return inv.printResult(flatten(res), nil)
}

// setRouting PUTs the rules into the production site's config/web, as
// set_traffic_routing does with update_configuration.
func setRouting(ctx context.Context, inv *invocation, dist []string) error {
	rg, app := inv.flags.str("resource-group"), inv.flags.str("name")
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	site, err := c.armMap(ctx, http.MethodGet, c.appPath(rg, app), apiWeb, nil)
	if err != nil {
		return err
	}
	label, suffix, _ := strings.Cut(str(site, "properties.defaultHostName"), ".")
	if len(label) > 40 {
		label = label[:40]
	}
	rules := []any{}
	for _, d := range dist {
		slot, pct, ok := strings.Cut(d, "=")
		v, err := strconv.ParseFloat(pct, 64)
		if !ok || err != nil {
			return exitErrorf("Give slot=percentage pairs, e.g. --distribution staging=20.", "invalid distribution %q", d)
		}
		rules = append(rules, map[string]any{"actionHostName": label + "-" + slot + "." + suffix, "reroutePercentage": v, "name": slot})
	}
	cfg, err := c.armMap(ctx, http.MethodGet, c.appPath(rg, app)+"/config/web", apiWeb, nil)
	if err != nil {
		return err
	}
	props, _ := cfg["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
	}
	props["experiments"] = map[string]any{"rampUpRules": rules}
	if _, err := c.armMap(ctx, http.MethodPut, c.appPath(rg, app)+"/config/web", apiWeb, map[string]any{"properties": props}); err != nil {
		return err
	}
	return inv.printResult(rules, []column{{"Name", "name"}, {"ReroutePercentage", "reroutePercentage"}, {"ActionHostName", "actionHostName"}})
}

func trafficSet(ctx context.Context, inv *invocation) error {
	return setRouting(ctx, inv, inv.flags.list("distribution"))
}

func trafficClear(ctx context.Context, inv *invocation) error { return setRouting(ctx, inv, nil) }

func trafficShow(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	cfg, err := c.armMap(ctx, http.MethodGet, c.appPath(inv.flags.str("resource-group"), inv.flags.str("name"))+"/config/web", apiWeb, nil)
	if err != nil {
		return err
	}
	rules, _ := lookup(cfg, "properties.experiments.rampUpRules").([]any)
	if rules == nil {
		rules = []any{}
	}
	return inv.printResult(rules, []column{{"Name", "name"}, {"ReroutePercentage", "reroutePercentage"}, {"ActionHostName", "actionHostName"}})
}
