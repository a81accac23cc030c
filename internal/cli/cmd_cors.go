package cli

import (
	"context"
	"slices"
)

// corsCommands are az webapp cors add|remove|show: the site's platform
// CORS, read from and written through config/web as az does
// (custom.py add_cors, remove_cors, show_cors).
func corsCommands() []command {
	gn := []flagDef{fGroup, fApp}
	origins := func(remove bool) flagDef {
		return flagDef{Names: []string{"--allowed-origins", "-a"}, Kind: kindList, Required: !remove, MayBeEmpty: remove,
			Help: "Space-separated origins allowed to make cross-origin calls, e.g. https://www.contoso.com http://localhost:5000; \"*\" alone allows every origin; https://*.contoso.com every subdomain."}
	}
	return []command{
		{path: "webapp cors add", short: "Add allowed origins to a web app's CORS (answered by the front door, before the app's own CORS code).", run: corsAdd,
			flags: withUnsupported(append(gn[:2:2], origins(false)), uSlot, uIDs, uPolicy)},
		{path: "webapp cors remove", short: "Remove allowed origins from a web app's CORS; --allowed-origins with none (or left out) removes all of them.", run: corsRemove,
			flags: withUnsupported(append(gn[:2:2], origins(true)), uSlot, uIDs, uPolicy)},
		{path: "webapp cors show", short: "Show a web app's allowed origins.", run: corsShow, flags: withUnsupported(gn, uSlot, uIDs)},
	}
}

// corsOf is siteConfig.cors of config/web's properties, or nil.
func corsOf(props map[string]any) map[string]any { return asMap(props["cors"]) }

// originsOf is a cors object's allowedOrigins.
func originsOf(cors map[string]any) []any {
	list, _ := cors["allowedOrigins"].([]any)
	return list
}

func corsAdd(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	res, err := c.patchConfig(ctx, inv.flags.str("resource-group"), inv.flags.str("name"), func(props map[string]any) {
		cors := corsOf(props)
		if cors == nil {
			cors = map[string]any{}
		}
		list := originsOf(cors)
		for _, o := range inv.flags.list("allowed-origins") {
			list = append(list, o)
		}
		cors["allowedOrigins"] = list // the server checks them, saying what is wrong
		props["cors"] = cors
	})
	if err != nil {
		return err
	}
	return inv.printResult(corsOf(asMap(res["properties"])), nil)
}

func corsRemove(ctx context.Context, inv *invocation) error {
	rg, app := inv.flags.str("resource-group"), inv.flags.str("name")
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	props, err := c.configProps(ctx, rg, app)
	if err != nil {
		return err
	}
	cors := corsOf(props)
	if cors == nil {
		return nil // nothing to remove: az prints nothing
	}
	keep := []any{}
	if drop := inv.flags.list("allowed-origins"); len(drop) > 0 {
		for _, o := range originsOf(cors) {
			if s, _ := o.(string); !slices.Contains(drop, s) {
				keep = append(keep, o)
			}
		}
	}
	cors["allowedOrigins"] = keep
	res, err := c.writeConfigProps(ctx, rg, app, props)
	if err != nil {
		return err
	}
	return inv.printResult(corsOf(asMap(res["properties"])), nil)
}

func corsShow(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	props, err := c.configProps(ctx, inv.flags.str("resource-group"), inv.flags.str("name"))
	if err != nil {
		return err
	}
	if cors := corsOf(props); cors != nil {
		return inv.printResult(cors, nil)
	}
	return nil // no CORS: az prints nothing
}
