package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/slipway-dev/slipway"
)

func configCommands() []command {
	gn := []flagDef{fGroup, fApp}
	list := withUnsupported(gn, uSlot)                  // az's flags of the list commands
	write := withUnsupported(nil, uSlot, uIDs, uPolicy) // ... added to those of a command that changes the site
	return []command{
		{path: "webapp config appsettings set", short: "Set a web app's settings.", run: appSettingsSet, flags: withUnsupported(append(gn[:2:2],
			flagDef{Names: []string{"--settings"}, Kind: kindList, Help: "Space-separated app settings in KEY=VALUE format, or @file.json (az's list output or an object)."},
			flagDef{Names: []string{"--slot-settings"}, Kind: kindList, Help: "Space-separated slot-sticky app settings in KEY=VALUE format, or @file.json."},
		), write)},
		{path: "webapp config appsettings list", short: "Get the details of a web app's settings.", run: appSettingsList, flags: list},
		{path: "webapp config appsettings delete", short: "Delete web app settings.", run: appSettingsDelete, flags: withUnsupported(append(gn[:2:2],
			flagDef{Names: []string{"--setting-names"}, Kind: kindList, Required: true, Help: "Space-separated app setting names."},
		), write)},
		{path: "webapp config connection-string set", short: "Update a web app's connection strings.", run: connStringsSet, flags: withUnsupported(append(gn[:2:2],
			flagDef{Names: []string{"--connection-string-type", "-t"}, Required: true, Help: "Type: MySql, SQLServer, SQLAzure, Custom, NotificationHub, ServiceBus, EventHub, ApiHub, DocDb, RedisCache, PostgreSQL."},
			flagDef{Names: []string{"--settings"}, Kind: kindList, Help: "Space-separated connection strings in NAME=VALUE format."},
			flagDef{Names: []string{"--slot-settings"}, Kind: kindList, Help: "Space-separated slot-sticky connection strings in NAME=VALUE format."},
		), write)},
		{path: "webapp config connection-string list", short: "Get a web app's connection strings.", run: connStringsList, flags: list},
		{path: "webapp config connection-string delete", short: "Delete a web app's connection strings.", run: connStringsDelete, flags: withUnsupported(append(gn[:2:2],
			flagDef{Names: []string{"--setting-names"}, Kind: kindList, Required: true, Help: "Space-separated connection string names."},
		), write)},
		{path: "webapp config set", short: "Set a web app's configuration.", run: configSet, flags: withUnsupported(append(gn[:2:2],
			flagDef{Names: []string{"--startup-file"}, Help: "Startup command or file, e.g. \"gunicorn --bind=0.0.0.0 --timeout 600 app:app\"."},
			flagDef{Names: []string{"--linux-fx-version"}, Help: "Runtime stack, e.g. \"PYTHON|3.12\"."},
			flagDef{Names: []string{"--always-on"}, Kind: kindBool, Help: "Keep the app loaded: true or false."},
			flagDef{Names: []string{"--min-tls-version"}, Help: "The oldest TLS version the app's host names accept: 1.0, 1.1, 1.2 (the default) or 1.3."},
			flagDef{Names: []string{"--http20-enabled"}, Kind: kindBool, Help: "Offer HTTP/2 on the app's host names: true (the default) or false (HTTP/1.1 only)."},
			flagDef{Names: []string{"--web-sockets-enabled"}, Kind: kindBool, Help: "Pass WebSocket connections to the app: true (the default) or false (the front door refuses them with 403)."},
			flagDef{Names: []string{"--min-tls-cipher-suite"}, Help: "The weakest TLS cipher suite the app's host names accept, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (App Service's names and order)."},
			flagDef{Names: []string{"--auto-heal-enabled"}, Kind: kindBool, Help: "The auto-heal switch, kept and shown (auto-heal rules are not supported)."},
			flagDef{Names: []string{"--generic-configurations"}, Help: "Other site configuration as a JSON object, e.g. '{\"healthCheckPath\": \"/health\"}'."},
			flagDef{Names: []string{"--number-of-workers"}, Help: "Number of instances of the app, when its plan has per-site scaling (as `webapp scale --instance-count`)."},
		), write, unsupported(`use --linux-fx-version, e.g. "PYTHON|3.12"`, "--runtime"),
			unsupported("only Linux Python apps are supported",
				"--windows-fx-version", "--net-framework-version", "--php-version", "--python-version", "--powershell-version",
				"--java-version", "--java-container", "--java-container-version", "--use-32bit-worker-process"),
			uContainers,
			unsupported("prewarmed instances are Azure Functions'", "--prewarmed-instance-count"),
			unsupported("this site setting is not supported yet",
				"--remote-debugging-enabled",
				"--ftps-state", "--vnet-route-all-enabled"),
		)},
		{path: "webapp config show", short: "Get the details of a web app's configuration.", run: configShow, flags: withUnsupported(gn, uSlot, uIDs)},
	}
}

// slotNames is config/slotConfigNames: which settings stick to a slot.
type slotNames struct {
	AppSettingNames         []string `json:"appSettingNames"`
	ConnectionStringNames   []string `json:"connectionStringNames"`
	AzureStorageConfigNames []string `json:"azureStorageConfigNames"`
}

// getSlotNames GETs config/slotConfigNames; a 404 means none (docs/arm.md §3.9).
func (c *conn) getSlotNames(ctx context.Context, rg, app string) (slotNames, error) {
	var res struct {
		Properties slotNames `json:"properties"`
	}
	err := c.armJSON(ctx, http.MethodGet, c.appPath(rg, app)+"/config/slotConfigNames", apiWeb, nil, &res)
	if err != nil && !isStatus(err, http.StatusNotFound) {
		return slotNames{}, err
	}
	return res.Properties, nil
}

// putSlotNames PUTs config/slotConfigNames with empty lists for nils.
func (c *conn) putSlotNames(ctx context.Context, rg, app string, n slotNames) error {
	for _, l := range []*[]string{&n.AppSettingNames, &n.ConnectionStringNames, &n.AzureStorageConfigNames} {
		if *l == nil {
			*l = []string{}
		}
	}
	_, err := c.arm(ctx, http.MethodPut, c.appPath(rg, app)+"/config/slotConfigNames", apiWeb, nil, map[string]any{"properties": n})
	return err
}

// listDict POSTs config/<kind>/list and returns its properties.
func (c *conn) listDict(ctx context.Context, rg, app, kind string) (map[string]any, error) {
	res, err := c.armMap(ctx, http.MethodPost, c.sitePath(rg, app)+"/config/"+kind+"/list", apiWeb, nil)
	if err != nil {
		return nil, err
	}
	props := asMap(res["properties"])
	if props == nil {
		props = map[string]any{}
	}
	return props, nil
}

// putDict PUTs the whole config/<kind> dictionary and returns what the server stored.
func (c *conn) putDict(ctx context.Context, rg, app, kind string, props map[string]any) (map[string]any, error) {
	res, err := c.armMap(ctx, http.MethodPut, c.sitePath(rg, app)+"/config/"+kind, apiWeb, map[string]any{"properties": props})
	if err != nil {
		return nil, err
	}
	if p := asMap(res["properties"]); p != nil {
		return p, nil
	}
	return props, nil
}

// settingsOutput is az's [{"name","value","slotSetting"}] list, in key order;
// redact sets every value to null as az does after set/delete.
func settingsOutput(props map[string]any, sticky []string, redact bool) []any {
	out := []any{}
	for _, k := range sortedKeys(props) {
		var v any = props[k]
		if redact {
			v = nil
		}
		out = append(out, map[string]any{"name": k, "value": v, "slotSetting": slices.Contains(sticky, k)})
	}
	return out
}

var settingColumns = []column{{"Name", "name"}, {"Value", "value"}, {"SlotSetting", "slotSetting"}}

// updateSticky adds (or removes) names in a sticky list; it reports whether the list changed.
func updateSticky(list *[]string, names []string, add bool) bool {
	changed := false
	for _, n := range names {
		has := slices.Contains(*list, n)
		if add && !has {
			*list = append(*list, n)
			changed = true
		} else if !add && has {
			*list = slices.DeleteFunc(*list, func(s string) bool { return s == n })
			changed = true
		}
	}
	return changed
}

// settingsArgs reads --settings and --slot-settings: KEY=VALUE items, or
// @file.json holding az's list output ([{"name","value","slotSetting"}], a
// true slotSetting making the setting sticky) or a {"KEY": "VALUE"} object.
func (inv *invocation) settingsArgs() (plain, sticky [][2]string, err error) {
	for _, flag := range []string{"settings", "slot-settings"} {
		for _, item := range inv.flags.list(flag) {
			if !strings.HasPrefix(item, "@") {
				kv, err := parseKeyValues(inv.cmd.path, "--"+flag, []string{item})
				if err != nil {
					return nil, nil, err
				}
				if flag == "settings" {
					plain = append(plain, kv...)
				} else {
					sticky = append(sticky, kv...)
				}
				continue
			}
			p, err := inv.packagePath(item[1:])
			if err != nil {
				return nil, nil, err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, nil, exitErrorf("Check the path after '@'.", "Cannot read the settings file %s: %v", p, err)
			}
			var list []struct {
				Name        string `json:"name"`
				Value       any    `json:"value"`
				SlotSetting bool   `json:"slotSetting"`
			}
			var dict map[string]any
			switch {
			case json.Unmarshal(data, &list) == nil:
				for _, it := range list {
					kv := [2]string{it.Name, jsonString(it.Value)}
					if it.SlotSetting || flag == "slot-settings" {
						sticky = append(sticky, kv)
					} else {
						plain = append(plain, kv)
					}
				}
			case json.Unmarshal(data, &dict) == nil:
				for _, k := range sortedKeys(dict) {
					kv := [2]string{k, jsonString(dict[k])}
					if flag == "slot-settings" {
						sticky = append(sticky, kv)
					} else {
						plain = append(plain, kv)
					}
				}
			default:
				return nil, nil, usageErrorf(inv.cmd.path, "%s is neither a JSON list of {\"name\", \"value\", \"slotSetting\"} nor a JSON object of settings.", p)
			}
		}
	}
	return plain, sticky, nil
}

// jsonString renders a JSON value as a setting value (strings as-is).
func jsonString(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	default:
		b, _ := json.Marshal(t)
		return string(b)
	}
}

// appSettingsSet reads the whole dictionary, merges the new settings and PUTs
// it back in full, as az does (docs/arm.md §1.7).
func appSettingsSet(ctx context.Context, inv *invocation) error {
	rg, app, path := inv.flags.str("resource-group"), inv.flags.str("name"), inv.cmd.path
	if !inv.flags.has("settings") && !inv.flags.has("slot-settings") {
		return usageErrorf(path, "usage error: --settings |--slot-settings")
	}
	plain, sticky, err := inv.settingsArgs()
	if err != nil {
		return err
	}
	for _, kv := range append(append([][2]string{}, plain...), sticky...) {
		if err := slipway.ValidateSettingName(kv[0]); err != nil {
			return exitErrorf("", "%s", slipway.ErrorMessage(err))
		}
	}
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	props, err := c.listDict(ctx, rg, app, "appsettings")
	if err != nil {
		return err
	}
	for _, kv := range append(append([][2]string{}, plain...), sticky...) {
		props[kv[0]] = kv[1]
	}
	names, err := c.getSlotNames(ctx, rg, app)
	if err != nil {
		return err
	}
	if len(sticky) > 0 {
		keys := make([]string, len(sticky))
		for i, kv := range sticky {
			keys[i] = kv[0]
		}
		if updateSticky(&names.AppSettingNames, keys, true) {
			if err := c.putSlotNames(ctx, rg, app, names); err != nil {
				return err
			}
		}
	}
	stored, err := c.putDict(ctx, rg, app, "appsettings", props)
	if err != nil {
		return err
	}
	inv.warnf("App settings have been redacted. Use `slipway webapp config appsettings list` to view.")
	return inv.printResult(settingsOutput(stored, names.AppSettingNames, true), settingColumns)
}

func appSettingsList(ctx context.Context, inv *invocation) error {
	rg, app := inv.flags.str("resource-group"), inv.flags.str("name")
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	props, err := c.listDict(ctx, rg, app, "appsettings")
	if isStatus(err, http.StatusNotFound) {
		return inv.printResult([]any{}, settingColumns) // az: a 404 lists nothing
	} else if err != nil {
		return err
	}
	names, err := c.getSlotNames(ctx, rg, app)
	if err != nil {
		return err
	}
	return inv.printResult(settingsOutput(props, names.AppSettingNames, false), settingColumns)
}

func appSettingsDelete(ctx context.Context, inv *invocation) error {
	rg, app := inv.flags.str("resource-group"), inv.flags.str("name")
	del := inv.flags.list("setting-names")
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	props, err := c.listDict(ctx, rg, app, "appsettings")
	if err != nil {
		return err
	}
	for _, k := range del {
		delete(props, k)
	}
	names, err := c.getSlotNames(ctx, rg, app)
	if err != nil {
		return err
	}
	if updateSticky(&names.AppSettingNames, del, false) {
		if err := c.putSlotNames(ctx, rg, app, names); err != nil {
			return err
		}
	}
	stored, err := c.putDict(ctx, rg, app, "appsettings", props)
	if err != nil {
		return err
	}
	return inv.printResult(settingsOutput(stored, names.AppSettingNames, true), settingColumns)
}

// redactConnStrings is az's connection-string set output: the dictionary
// with every value null.
func redactConnStrings(props map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range props {
		out[k] = map[string]any{"value": nil, "type": asMap(v)["type"]}
	}
	return out
}

func connStringsSet(ctx context.Context, inv *invocation) error {
	rg, app, path := inv.flags.str("resource-group"), inv.flags.str("name"), inv.cmd.path
	if !inv.flags.has("settings") && !inv.flags.has("slot-settings") {
		return usageErrorf(path, "usage error: --settings |--slot-settings")
	}
	typ, err := slipway.CanonicalConnectionStringType(inv.flags.str("connection-string-type"))
	if err != nil {
		return usageErrorf(path, "%s", slipway.ErrorMessage(err))
	}
	plain, err := parseKeyValues(path, "--settings", inv.flags.list("settings"))
	if err != nil {
		return err
	}
	sticky, err := parseKeyValues(path, "--slot-settings", inv.flags.list("slot-settings"))
	if err != nil {
		return err
	}
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	props, err := c.listDict(ctx, rg, app, "connectionstrings")
	if err != nil {
		return err
	}
	for _, kv := range append(append([][2]string{}, plain...), sticky...) {
		props[kv[0]] = map[string]any{"value": kv[1], "type": typ}
	}
	if len(sticky) > 0 {
		names, err := c.getSlotNames(ctx, rg, app)
		if err != nil {
			return err
		}
		keys := make([]string, len(sticky))
		for i, kv := range sticky {
			keys[i] = kv[0]
		}
		if updateSticky(&names.ConnectionStringNames, keys, true) {
			if err := c.putSlotNames(ctx, rg, app, names); err != nil {
				return err
			}
		}
	}
	stored, err := c.putDict(ctx, rg, app, "connectionstrings", props)
	if err != nil {
		return err
	}
	return inv.printResult(redactConnStrings(stored), nil)
}

func connStringsList(ctx context.Context, inv *invocation) error {
	rg, app := inv.flags.str("resource-group"), inv.flags.str("name")
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	props, err := c.listDict(ctx, rg, app, "connectionstrings")
	if isStatus(err, http.StatusNotFound) {
		return inv.printResult([]any{}, nil)
	} else if err != nil {
		return err
	}
	names, err := c.getSlotNames(ctx, rg, app)
	if err != nil {
		return err
	}
	out := []any{}
	for _, k := range sortedKeys(props) {
		v := asMap(props[k])
		out = append(out, map[string]any{"name": k, "value": v["value"], "type": v["type"], "slotSetting": slices.Contains(names.ConnectionStringNames, k)})
	}
	return inv.printResult(out, []column{{"Name", "name"}, {"Type", "type"}, {"Value", "value"}, {"SlotSetting", "slotSetting"}})
}

func connStringsDelete(ctx context.Context, inv *invocation) error {
	rg, app := inv.flags.str("resource-group"), inv.flags.str("name")
	del := inv.flags.list("setting-names")
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	props, err := c.listDict(ctx, rg, app, "connectionstrings")
	if err != nil {
		return err
	}
	for _, k := range del {
		delete(props, k)
	}
	names, err := c.getSlotNames(ctx, rg, app)
	if err != nil {
		return err
	}
	if updateSticky(&names.ConnectionStringNames, del, false) {
		if err := c.putSlotNames(ctx, rg, app, names); err != nil {
			return err
		}
	}
	stored, err := c.putDict(ctx, rg, app, "connectionstrings", props)
	if err != nil {
		return err
	}
	return inv.printResult(redactConnStrings(stored), nil)
}

// configSet GETs config/web, changes the given fields and PATCHes the whole
// SiteConfig back (docs/arm.md §1.9).
func configSet(ctx context.Context, inv *invocation) error {
	rg, app := inv.flags.str("resource-group"), inv.flags.str("name")
	fx := inv.flags.str("linux-fx-version")
	if fx != "" {
		if _, err := slipway.ParseLinuxFxVersion(fx); err != nil {
			return exitErrorf("Run `slipway webapp list-runtimes --os-type linux` to see the supported runtimes.", "%s", slipway.ErrorMessage(err))
		}
		fx = normalizeRuntime(fx)
	}
	workers := 0
	if inv.flags.has("number-of-workers") {
		n, err := positiveFlag(inv, "number-of-workers")
		if err != nil {
			return err
		}
		workers = n
	}
	var generic map[string]any
	if g := inv.flags.str("generic-configurations"); g != "" {
		// az also takes KEY=VALUE pairs and @file; Slipway the JSON form
		// Microsoft's health check guide uses.
		if len(g) > 64<<10 || json.Unmarshal([]byte(g), &generic) != nil {
			return usageErrorf(inv.cmd.path, "argument --generic-configurations: give a JSON object, e.g. '{\"healthCheckPath\": \"/health\"}'")
		}
	}
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	res, err := c.patchConfig(ctx, rg, app, func(props map[string]any) {
		maps.Copy(props, generic)
		setConfigFlags(inv, props, fx, workers)
	})
	if err != nil {
		return err
	}
	return configSetRest(ctx, inv, c, rg, app, fx, res)
}

// setConfigFlags copies config set's flags onto config/web's properties.
func setConfigFlags(inv *invocation, props map[string]any, fx string, workers int) {
	if inv.flags.has("startup-file") {
		props["appCommandLine"] = inv.flags.str("startup-file")
	}
	if fx != "" {
		props["linuxFxVersion"] = fx
	}
	if inv.flags.has("always-on") {
		props["alwaysOn"] = inv.flags.boolean("always-on")
	}
	if inv.flags.has("web-sockets-enabled") {
		props["webSocketsEnabled"] = inv.flags.boolean("web-sockets-enabled")
	}
	if inv.flags.has("min-tls-cipher-suite") {
		props["minTlsCipherSuite"] = inv.flags.str("min-tls-cipher-suite")
	}
	if inv.flags.has("auto-heal-enabled") {
		props["autoHealEnabled"] = inv.flags.boolean("auto-heal-enabled")
	}
	if inv.flags.has("http20-enabled") {
		props["http20Enabled"] = inv.flags.boolean("http20-enabled")
	}
	if inv.flags.has("min-tls-version") {
		props["minTlsVersion"] = inv.flags.str("min-tls-version")
	}
	if workers > 0 {
		props["numberOfWorkers"] = workers
	}
}

// patchConfig reads the site's config/web, lets set change its
// properties and PATCHes it back, as az's update_site_configs does.
func (c *conn) patchConfig(ctx context.Context, rg, app string, set func(props map[string]any)) (map[string]any, error) {
	props, err := c.configProps(ctx, rg, app)
	if err != nil {
		return nil, err
	}
	set(props)
	return c.writeConfigProps(ctx, rg, app, props)
}

// configProps GETs the site's config/web and returns its properties.
func (c *conn) configProps(ctx context.Context, rg, app string) (map[string]any, error) {
	cfg, err := c.armMap(ctx, http.MethodGet, c.sitePath(rg, app)+"/config/web", apiWeb, nil)
	if err != nil {
		return nil, err
	}
	props := asMap(cfg["properties"])
	if props == nil {
		props = map[string]any{}
	}
	return props, nil
}

// writeConfigProps PATCHes config/web with the properties read and changed.
func (c *conn) writeConfigProps(ctx context.Context, rg, app string, props map[string]any) (map[string]any, error) {
	// az never sends the IP restriction lists back unless it is setting them.
	delete(props, "ipSecurityRestrictions")
	delete(props, "scmIpSecurityRestrictions")
	return c.armMap(ctx, http.MethodPatch, c.sitePath(rg, app)+"/config/web", apiWeb, map[string]any{"properties": props})
}

// configSetRest finishes config set after the PATCH.
func configSetRest(ctx context.Context, inv *invocation, c *conn, rg, app, fx string, res map[string]any) error {
	if fx != "" {
		// A new stack drops WEBSITES_ENABLE_APP_SERVICE_STORAGE, as az does.
		settings, err := c.listDict(ctx, rg, app, "appsettings")
		if err != nil {
			return err
		}
		if _, ok := settings["WEBSITES_ENABLE_APP_SERVICE_STORAGE"]; ok {
			delete(settings, "WEBSITES_ENABLE_APP_SERVICE_STORAGE")
			if _, err := c.putDict(ctx, rg, app, "appsettings", settings); err != nil {
				return err
			}
		}
	}
	return inv.printResult(flatten(res), nil)
}

func configShow(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	cfg, err := c.armMap(ctx, http.MethodGet, c.sitePath(inv.flags.str("resource-group"), inv.flags.str("name"))+"/config/web", apiWeb, nil)
	if err != nil {
		return fmt.Errorf("getting the site configuration: %w", err)
	}
	return inv.printResult(flatten(cfg), nil)
}
