package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// apiAutoscale is the Microsoft.Insights autoscalesettings api-version az
// sends (monitor aaz autoscale, 2022-10-01).
const apiAutoscale = "2022-10-01"

// autoscaleCommands are `monitor autoscale create|show|list|delete|update`
// and `monitor autoscale rule create|list|delete`, as az's monitor module
// does them (operations/autoscale_settings.py): create PUTs one profile
// named "default"; update and the rule commands GET the setting, change
// it, and PUT it back. Slipway autoscales App Service plans on
// CpuPercentage, MemoryPercentage and HttpQueueLength with ChangeCount
// actions (internal/arm/autoscale.go).
func autoscaleCommands() []command {
	fName := flagDef{Names: []string{"--name", "-n", "--autoscale-name"}, Required: true, Help: "Name of the autoscale setting."}
	fAutoscale := flagDef{Names: []string{"--autoscale-name"}, Required: true, Help: "Name of the autoscale setting."}
	fProfile := flagDef{Names: []string{"--profile-name"}, Help: "Name of the profile. Default: default."}
	uEmail := unsupported("Slipway sends no e-mail or webhook notifications (they are stored as sent)", "--email-administrator", "--email-coadministrators")
	uPredict := unsupported("predictive autoscale needs Azure's forecasting service", "--scale-look-ahead-time", "--scale-mode")
	uNamespaced := unsupported("give the App Service plan's resource id (or its name with --resource-group)", "--resource-namespace", "--resource-parent")
	return []command{
		{path: "monitor autoscale create", short: "Create an autoscale setting for an App Service plan.", run: autoscaleCreate, flags: withUnsupported([]flagDef{
			fGroup,
			{Names: []string{"--resource"}, Required: true, Help: "The App Service plan: its resource id, or its name in --resource-group."},
			{Names: []string{"--resource-type"}, Help: "Accepted when it is Microsoft.Web/serverfarms."},
			{Names: []string{"--count"}, Required: true, Help: "The default number of instances."},
			{Names: []string{"--min-count"}, Help: "The minimum number of instances. Default: --count."},
			{Names: []string{"--max-count"}, Help: "The maximum number of instances. Default: --count."},
			{Names: []string{"--name", "-n"}, Help: "Name of the autoscale setting. Default: the plan's name."},
			{Names: []string{"--location", "-l"}, Help: "Location. Default: the resource group's."},
			{Names: []string{"--tags"}, Kind: kindList, Help: "Space-separated tags: key[=value]."},
			{Names: []string{"--disabled"}, Kind: kindBool, Help: "Create the setting disabled."},
		}, uEmail, uPredict, uNamespaced, unsupported("Slipway sends no notifications", "--action -a"), uPolicy)},
		{path: "monitor autoscale show", short: "Show an autoscale setting.", run: autoscaleShow, flags: withUnsupported([]flagDef{fGroup, fName}, uIDs)},
		{path: "monitor autoscale list", short: "List autoscale settings.", run: autoscaleList, flags: withUnsupported([]flagDef{fGroupOpt},
			unsupported("Slipway answers lists in one page", "--max-items", "--next-token"))},
		{path: "monitor autoscale delete", short: "Delete an autoscale setting.", run: autoscaleDelete, flags: withUnsupported([]flagDef{fGroup, fName}, uIDs, uPolicy)},
		{path: "monitor autoscale update", short: "Update an autoscale setting's default profile capacity, state or tags.", run: autoscaleUpdate, flags: withUnsupported([]flagDef{
			fGroup, fName,
			{Names: []string{"--count"}, Help: "The default number of instances."},
			{Names: []string{"--min-count"}, Help: "The minimum number of instances."},
			{Names: []string{"--max-count"}, Help: "The maximum number of instances."},
			{Names: []string{"--enabled"}, Kind: kindBool, Help: "Enable or disable the setting: true or false."},
			{Names: []string{"--tags"}, Kind: kindList, Help: "Space-separated tags: key[=value]; replaces the tags."},
		}, uEmail, uPredict, uIDs, uPolicy,
			unsupported("Slipway sends no notifications", "--add-action --add-actions -a", "--remove-action --remove-actions -r"),
			unsupported("generic updates are not supported; use the named flags", "--add", "--set", "--remove", "--force-string"))},

		{path: "monitor autoscale rule create", short: "Add a scaling rule to an autoscale profile.", run: autoscaleRuleCreate, flags: withUnsupported([]flagDef{
			fGroup, fAutoscale, fProfile,
			{Names: []string{"--condition"}, Kind: kindList, Required: true, Help: `When the rule fires: METRIC {==,!=,>,>=,<,<=} THRESHOLD {avg,min,max,total,count} PERIOD, e.g. "CpuPercentage > 70 avg 10m". METRIC: CpuPercentage, MemoryPercentage or HttpQueueLength.`},
			{Names: []string{"--scale"}, Kind: kindList, Required: true, Help: `What the rule does: "out N" or "in N" instances.`},
			{Names: []string{"--cooldown"}, Help: "Minutes to wait after a scale action before scaling again. Default: 5."},
			{Names: []string{"--timegrain"}, Kind: kindList, Help: `How instances' values combine per time grain: {avg,min,max,sum} PERIOD. Default: "avg 1m".`},
		}, unsupported("rules measure the target plan itself", "--resource", "--resource-namespace", "--resource-parent", "--resource-type"), uPolicy)},
		{path: "monitor autoscale rule list", short: "List the scaling rules of an autoscale profile.", run: autoscaleRuleList, flags: []flagDef{fGroup, fAutoscale, fProfile}},
		{path: "monitor autoscale rule delete", short: "Remove scaling rules from an autoscale profile.", run: autoscaleRuleDelete, flags: withUnsupported([]flagDef{
			fGroup, fAutoscale, fProfile,
			{Names: []string{"--index"}, Kind: kindList, Required: true, Help: "Indices of the rules to remove (from `rule list`), or * for all."},
		}, uPolicy)},
	}
}

func (c *conn) autoscalePath(rg, name string) string {
	return c.groupPath(rg) + "/providers/microsoft.insights/autoscalesettings/" + url.PathEscape(name)
}

// autoscaleOutput is a setting as az prints it: properties lifted, with
// resourceGroup.
func autoscaleOutput(m map[string]any) map[string]any {
	out := flatten(m)
	if id, ok := m["id"].(string); ok {
		out["resourceGroup"] = resourceGroupOf(id)
	}
	return out
}

var autoscaleColumns = []column{{"Name", "name"}, {"Location", "location"}, {"Enabled", "enabled"}, {"ResourceGroup", "resourceGroup"}, {"TargetResourceUri", "targetResourceUri"}}

// countFlag reads a whole number of instances.
func countFlag(inv *invocation, key string) (string, error) {
	v := inv.flags.str(key)
	if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 1000 {
		return "", exitErrorf("", "--%s %q is not a whole number of instances.", key, v)
	}
	return v, nil
}

func autoscaleCreate(ctx context.Context, inv *invocation) error {
	rg := inv.flags.str("resource-group")
	if t := inv.flags.str("resource-type"); t != "" && !strings.EqualFold(t, "Microsoft.Web/serverfarms") {
		return exitErrorf("Give an App Service plan.", "Slipway autoscales App Service plans (Microsoft.Web/serverfarms), not %s.", t)
	}
	count, err := countFlag(inv, "count")
	if err != nil {
		return err
	}
	minimum, maximum := count, count
	if inv.flags.has("min-count") {
		if minimum, err = countFlag(inv, "min-count"); err != nil {
			return err
		}
	}
	if inv.flags.has("max-count") {
		if maximum, err = countFlag(inv, "max-count"); err != nil {
			return err
		}
	}
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	resource := inv.flags.str("resource")
	if !strings.HasPrefix(resource, "/") {
		resource = c.subPath() + "/resourceGroups/" + url.PathEscape(rg) + "/providers/Microsoft.Web/serverfarms/" + url.PathEscape(resource)
	}
	name := inv.flags.str("name")
	if name == "" {
		name = resource[strings.LastIndex(resource, "/")+1:]
	}
	loc, err := c.location(ctx, inv, rg)
	if err != nil {
		return err
	}
	body := map[string]any{"location": loc, "tags": tagsFlag(inv), "properties": map[string]any{
		"enabled": !inv.flags.boolean("disabled"), "name": name, "targetResourceUri": resource,
		"notifications": []any{map[string]any{"operation": "Scale", "email": map[string]any{"customEmails": []any{},
			"sendToSubscriptionAdministrator": false, "sendToSubscriptionCoAdministrators": false}, "webhooks": []any{}}},
		"profiles": []any{map[string]any{"name": "default",
			"capacity": map[string]any{"default": count, "minimum": minimum, "maximum": maximum}, "rules": []any{}}},
	}}
	res, err := c.armMap(ctx, http.MethodPut, c.autoscalePath(rg, name), apiAutoscale, body)
	if err != nil {
		return err
	}
	if minimum != count || maximum != count {
		inv.warnf("Follow up with `slipway monitor autoscale rule create` to add scaling rules.")
	}
	return inv.printResult(autoscaleOutput(res), autoscaleColumns)
}

func autoscaleShow(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	res, err := c.armMap(ctx, http.MethodGet, c.autoscalePath(inv.flags.str("resource-group"), inv.flags.str("name")), apiAutoscale, nil)
	if err != nil {
		return err
	}
	return inv.printResult(autoscaleOutput(res), autoscaleColumns)
}

func autoscaleList(ctx context.Context, inv *invocation) error {
	const typ = "/providers/microsoft.insights/autoscalesettings"
	return listResources(ctx, inv, typ, apiAutoscale, autoscaleOutput, autoscaleColumns,
		func(c *conn, rg string) string { return c.groupPath(rg) + typ })
}

func autoscaleDelete(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	_, err = c.arm(ctx, http.MethodDelete, c.autoscalePath(inv.flags.str("resource-group"), inv.flags.str("name")), apiAutoscale, nil, nil)
	return err
}

// editAutoscale GETs a setting, lets edit change it, and PUTs it back (as
// az's AutoScaleUpdate does); it returns the stored setting.
func editAutoscale(ctx context.Context, inv *invocation, name string, edit func(res map[string]any) error) (map[string]any, error) {
	c, err := inv.connect(ctx)
	if err != nil {
		return nil, err
	}
	path := c.autoscalePath(inv.flags.str("resource-group"), name)
	res, err := c.armMap(ctx, http.MethodGet, path, apiAutoscale, nil)
	if err != nil {
		return nil, err
	}
	if _, ok := res["properties"].(map[string]any); !ok {
		return nil, fmt.Errorf("the autoscale setting %s has no properties", name)
	}
	if err := edit(res); err != nil {
		return nil, err
	}
	body := map[string]any{"location": res["location"], "tags": res["tags"], "properties": res["properties"]}
	return c.armMap(ctx, http.MethodPut, path, apiAutoscale, body)
}

// profileOf returns the named profile of a setting.
func profileOf(res map[string]any, name string) (map[string]any, error) {
	if name == "" {
		name = "default"
	}
	profiles, _ := res["properties"].(map[string]any)["profiles"].([]any)
	for _, p := range profiles {
		if m, ok := p.(map[string]any); ok && m["name"] == name {
			return m, nil
		}
	}
	return nil, exitErrorf("Check --profile-name.", "The autoscale setting has no profile named '%s'.", name)
}

func autoscaleUpdate(ctx context.Context, inv *invocation) error {
	res, err := editAutoscale(ctx, inv, inv.flags.str("name"), func(res map[string]any) error {
		props := res["properties"].(map[string]any)
		if inv.flags.has("enabled") {
			props["enabled"] = inv.flags.boolean("enabled")
		}
		if inv.flags.has("tags") {
			res["tags"] = tagsFlag(inv)
		}
		p, err := profileOf(res, "default")
		if err != nil {
			return err
		}
		capacity, _ := p["capacity"].(map[string]any)
		if capacity == nil {
			capacity = map[string]any{}
			p["capacity"] = capacity
		}
		for flag, key := range map[string]string{"count": "default", "min-count": "minimum", "max-count": "maximum"} {
			if inv.flags.has(flag) {
				v, err := countFlag(inv, flag)
				if err != nil {
					return err
				}
				capacity[key] = v
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return inv.printResult(autoscaleOutput(res), autoscaleColumns)
}

// azPeriod turns az's period shorthand (5m, 1h, 1h30m, 30s, 1d) or an
// ISO 8601 duration into ISO 8601.
func azPeriod(v string) (string, error) {
	s := strings.ToUpper(strings.TrimSpace(v))
	if strings.HasPrefix(s, "P") {
		return s, nil
	}
	var date, clock string
	num := ""
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			num += string(r)
		case num != "" && r == 'D' && clock == "":
			date += num + "D"
			num = ""
		case num != "" && (r == 'H' || r == 'M' || r == 'S'):
			clock += num + string(r)
			num = ""
		default:
			return "", fmt.Errorf("PERIOD %q should be of the form ##h##m##s or ISO 8601", v)
		}
	}
	if num != "" || date+clock == "" {
		return "", fmt.Errorf("PERIOD %q should be of the form ##h##m##s or ISO 8601", v)
	}
	if clock != "" {
		clock = "T" + clock
	}
	return "P" + date + clock, nil
}

const conditionUsage = `--condition METRIC {==,!=,>,>=,<,<=} THRESHOLD {avg,min,max,total,count} PERIOD`

// parseCondition reads az's --condition into a metricTrigger (without
// "where" dimensions, which App Service plan metrics do not need).
func parseCondition(words []string) (map[string]any, error) {
	f := strings.Fields(strings.Join(words, " "))
	ops := map[string]string{"==": "Equals", "!=": "NotEquals", ">": "GreaterThan", ">=": "GreaterThanOrEqual", "<": "LessThan", "<=": "LessThanOrEqual"}
	aggs := map[string]string{"avg": "Average", "min": "Minimum", "max": "Maximum", "total": "Total", "count": "Count"}
	if len(f) != 5 {
		return nil, exitErrorf("", "usage: %s", conditionUsage)
	}
	op, ok := ops[f[1]]
	threshold, err := strconv.ParseFloat(f[2], 64)
	agg, aok := aggs[strings.ToLower(f[3])]
	window, perr := azPeriod(f[4])
	if !ok || err != nil || !aok || perr != nil {
		return nil, exitErrorf("", "usage: %s", conditionUsage)
	}
	return map[string]any{"metricName": f[0], "operator": op, "threshold": threshold, "timeAggregation": agg, "timeWindow": window,
		"metricNamespace": "", "dimensions": []any{}, "dividePerInstance": false}, nil
}

func autoscaleRuleCreate(ctx context.Context, inv *invocation) error {
	trigger, err := parseCondition(inv.flags.list("condition"))
	if err != nil {
		return err
	}
	scale := strings.Fields(strings.Join(inv.flags.list("scale"), " "))
	if len(scale) != 2 {
		return exitErrorf("", "usage: --scale {in,out,to} VALUE[%%]")
	}
	dir := map[string]string{"out": "Increase", "in": "Decrease"}[scale[0]]
	if scale[0] == "to" || strings.HasSuffix(scale[1], "%") {
		return exitErrorf("Use --scale out N or --scale in N.", "Slipway supports ChangeCount scale actions only (not ExactCount or PercentChangeCount).")
	}
	if n, err := strconv.Atoi(scale[1]); dir == "" || err != nil || n < 1 {
		return exitErrorf("", "usage: --scale {in,out,to} VALUE[%%]")
	}
	cooldown := "5"
	if inv.flags.has("cooldown") {
		cooldown = inv.flags.str("cooldown")
		if n, err := strconv.Atoi(cooldown); err != nil || n < 1 {
			return exitErrorf("", "--cooldown %q is not a whole number of minutes.", cooldown)
		}
	}
	grain := []string{"avg", "1m"}
	if g := strings.Fields(strings.Join(inv.flags.list("timegrain"), " ")); len(g) > 0 {
		grain = g
	}
	stats := map[string]string{"avg": "Average", "min": "Min", "max": "Max", "sum": "Sum"}
	stat, ok := stats[strings.ToLower(grain[0])]
	if len(grain) != 2 || !ok {
		return exitErrorf("", "usage: --timegrain {avg,min,max,sum} PERIOD")
	}
	tg, err := azPeriod(grain[1])
	if err != nil {
		return exitErrorf("", "%v", err)
	}
	trigger["statistic"], trigger["timeGrain"] = stat, tg
	rule := map[string]any{"metricTrigger": trigger,
		"scaleAction": map[string]any{"direction": dir, "type": "ChangeCount", "value": scale[1], "cooldown": "PT" + cooldown + "M"}}
	profile := inv.flags.str("profile-name")
	res, err := editAutoscale(ctx, inv, inv.flags.str("autoscale-name"), func(res map[string]any) error {
		p, err := profileOf(res, profile)
		if err != nil {
			return err
		}
		trigger["metricResourceUri"] = res["properties"].(map[string]any)["targetResourceUri"]
		rules, _ := p["rules"].([]any)
		p["rules"] = append(rules, rule)
		return nil
	})
	if err != nil {
		return err
	}
	p, err := profileOf(res, profile)
	if err != nil {
		return err
	}
	rules, _ := p["rules"].([]any)
	if len(rules) == 0 {
		return fmt.Errorf("the server kept no rule")
	}
	return inv.printResult(rules[len(rules)-1], nil)
}

func autoscaleRuleList(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	res, err := c.armMap(ctx, http.MethodGet, c.autoscalePath(inv.flags.str("resource-group"), inv.flags.str("autoscale-name")), apiAutoscale, nil)
	if err != nil {
		return err
	}
	if _, ok := res["properties"].(map[string]any); !ok {
		return fmt.Errorf("the autoscale setting has no properties")
	}
	p, err := profileOf(res, inv.flags.str("profile-name"))
	if err != nil {
		return err
	}
	rules, _ := p["rules"].([]any)
	out := make([]any, 0, len(rules))
	for i, r := range rules {
		if m, ok := r.(map[string]any); ok {
			m["index"] = i // az adds indices for `rule delete --index`
			out = append(out, m)
		}
	}
	return inv.printResult(out, nil)
}

func autoscaleRuleDelete(ctx context.Context, inv *invocation) error {
	index := inv.flags.list("index")
	profile := inv.flags.str("profile-name")
	_, err := editAutoscale(ctx, inv, inv.flags.str("autoscale-name"), func(res map[string]any) error {
		p, err := profileOf(res, profile)
		if err != nil {
			return err
		}
		rules, _ := p["rules"].([]any)
		kept := []any{}
		for i, r := range rules {
			if !containsFold(index, "*") && !containsFold(index, strconv.Itoa(i)) {
				kept = append(kept, r)
			}
		}
		p["rules"] = kept
		return nil
	})
	return err
}
