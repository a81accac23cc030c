package cli

import (
	"context"
	"net/http"
	"strconv"
)

// scaleCommands are az's per-app scale and instance commands.
func scaleCommands() []command {
	gn := []flagDef{fGroup, fApp}
	return []command{
		{path: "webapp scale", short: "Set the number of instances of a web app; its plan needs per-site scaling (perSiteScaling), else every app runs on every worker of the plan.", run: webappScale,
			flags: withUnsupported(append(gn[:2:2],
				flagDef{Names: []string{"--instance-count"}, Required: true, Help: "Number of instances, at most the plan's workers."},
			), uSlot, uIDs, uPolicy)},
		{path: "webapp list-instances", short: "List a web app's instances: id, state and (Slipway) status, address and failed health checks.", run: webappListInstances,
			flags: withUnsupported(gn, uSlot, uPolicy)},
	}
}

// positiveFlag reads a flag that must be a positive integer.
func positiveFlag(inv *invocation, name string) (int, error) {
	v := inv.flags.str(name)
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, usageErrorf(inv.cmd.path, "argument --%s: %q is not a positive integer", name, v)
	}
	return n, nil
}

// webappScale sets siteConfig numberOfWorkers, as az webapp scale does
// (through update_site_configs).
func webappScale(ctx context.Context, inv *invocation) error {
	n, err := positiveFlag(inv, "instance-count")
	if err != nil {
		return err
	}
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	res, err := c.patchConfig(ctx, inv.flags.str("resource-group"), inv.flags.str("name"), func(props map[string]any) {
		props["numberOfWorkers"] = n
	})
	if err != nil {
		return err
	}
	return inv.printResult(flatten(res), nil)
}

// instanceColumns are the table columns of list-instances.
var instanceColumns = []column{{"Name", "name"}, {"State", "state"}, {"Status", "slipwayInstance.status"}, {"Address", "slipwayInstance.address"}, {"HealthCheckFailures", "slipwayInstance.healthCheckFailures"}}

// webappListInstances lists sites/{app}/instances.
func webappListInstances(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	var res struct {
		Value []map[string]any `json:"value"`
	}
	if err := c.armJSON(ctx, http.MethodGet, c.sitePath(inv.flags.str("resource-group"), inv.flags.str("name"))+"/instances", apiWeb, nil, &res); err != nil {
		return err
	}
	out := make([]any, 0, len(res.Value))
	for _, v := range res.Value {
		out = append(out, flatten(v))
	}
	return inv.printResult(out, instanceColumns)
}
