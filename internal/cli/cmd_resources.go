package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/slipway-dev/slipway"
)

// Flag definitions shared by many commands.
var (
	fGroup    = flagDef{Names: []string{"--resource-group", "-g"}, Required: true, Default: "group", Help: "Name of resource group."}
	fGroupOpt = flagDef{Names: []string{"--resource-group", "-g"}, Help: "Name of resource group."}
	fApp      = flagDef{Names: []string{"--name", "-n"}, Required: true, Default: "web", Help: "Name of the web app."}
	fYes      = flagDef{Names: []string{"--yes", "-y"}, Kind: kindBool, Help: "Do not prompt for confirmation."}
)

// az flags many commands share that Slipway refuses by name (see
// TestFlagsMatchAz for which commands az gives them).
var (
	uPolicy = unsupported("Azure Policy tokens and change references are Azure services Slipway does not have",
		"--acquire-policy-token", "--change-reference")
	uIDs = unsupported("resource IDs are not parsed yet; give --resource-group and --name", "--ids")
	// uSlot is az's --slot: the commands that take it act on that
	// deployment slot (conn.sitePath).
	uSlot   = []flagDef{{Names: []string{"--slot", "-s"}, Help: "Name of the deployment slot; the production slot if not given."}}
	uNoWait = unsupported("the command always waits for the operation to finish", "--no-wait")
	uTags   = unsupported("Slipway does not store tags on this resource yet", "--tags")
	uVNet   = unsupported("virtual networks are out of scope", "--vnet", "--subnet")
	// The settings of managed-instance plans (az's is-custom-mode).
	uManagedInstance = unsupported("managed-instance plans are out of scope",
		"--default-identity", "--rdp-enabled", "--registry-adapter", "--install-script", "--storage-mount")
	uEnrichedErrors  = unsupported("enriched error diagnostics are not supported yet", "--enriched-errors")
	uTLS             = unsupported("TLS settings are not supported yet", "--https-only", "--min-tls-version", "--min-tls-cipher-suite")
	uBasicAuth       = unsupported("turning basic auth for publishing off is not supported yet", "--basic-auth")
	uDomainNameScope = unsupported("default host names are always <app>.<domain>", "--domain-name-scope")
	uContainers      = unsupported("custom containers are out of scope", "--acr-use-identity", "--acr-identity")
)

// commands lists every leaf command the CLI knows.
func commands() []command {
	cmds := []command{
		{path: "group create", short: "Create a new resource group.", run: groupCreate, flags: withUnsupported([]flagDef{
			{Names: []string{"--name", "-n", "--resource-group", "-g"}, Required: true, Help: "Name of the new resource group."},
			{Names: []string{"--location", "-l"}, Required: true, Help: "Location, e.g. westeurope."},
		}, uTags, unsupported("Slipway has no managing resources", "--managed-by"), uPolicy)},
		{path: "group list", short: "List resource groups.", run: groupList, flags: unsupported("Slipway does not store tags on resource groups yet", "--tag")},
		{path: "group show", short: "Get a resource group.", run: groupShow, flags: []flagDef{
			{Names: []string{"--name", "-n", "--resource-group", "-g"}, Required: true, Default: "group", Help: "Name of the resource group."},
		}},
		{path: "group delete", short: "Delete a resource group and everything in it.", run: groupDelete, flags: withUnsupported([]flagDef{
			{Names: []string{"--name", "-n", "--resource-group", "-g"}, Required: true, Default: "group", Help: "Name of the resource group."},
			fYes,
		}, unsupported("forced deletion applies to virtual machines and scale sets, which Slipway does not have", "--force-deletion-types -f"),
			uNoWait, uPolicy)},
		{path: "appservice plan create", short: "Create an App Service plan.", run: planCreate, flags: withUnsupported([]flagDef{
			fGroup,
			{Names: []string{"--name", "-n"}, Required: true, Help: "Name of the new App Service plan."},
			{Names: []string{"--sku"}, Help: "Pricing tier, e.g. F1, B1, P1V3. Default: B1."},
			{Names: []string{"--is-linux"}, Kind: kindBool, Help: "Host web apps on Linux workers."},
			{Names: []string{"--number-of-workers"}, Help: "Number of workers to allocate."},
			{Names: []string{"--per-site-scaling"}, Kind: kindBool, Help: "Let each app run on fewer workers than the plan has (`webapp scale --instance-count`)."},
			{Names: []string{"--location", "-l"}, Help: "Location. Default: the resource group's."},
		}, uTags, uManagedInstance, uVNet,
			unsupported("managed-instance plans are out of scope", "--is-managed-instance"),
			unsupported("Windows containers are out of scope", "--hyper-v"),
			unsupported("App Service Environments are out of scope", "--app-service-environment -e"),
			unsupported("zone redundancy and async scaling are not supported yet",
				"--zone-redundant -z", "--async-scaling-enabled"),
			unsupported("managed identities are not supported yet", "--mi-system-assigned", "--mi-user-assigned"),
			uEnrichedErrors, uNoWait, uPolicy)},
		{path: "appservice plan list", short: "List App Service plans.", run: planList, flags: []flagDef{fGroupOpt}},
		{path: "appservice plan show", short: "Get an App Service plan.", run: planShow, flags: withUnsupported([]flagDef{
			fGroup, {Names: []string{"--name", "-n"}, Required: true, Help: "Name of the App Service plan."},
		}, uIDs)},
		{path: "appservice plan update", short: "Update an App Service plan: scale up (--sku) or out (--number-of-workers); its apps restart with the new size, without downtime.", run: planUpdate, flags: withUnsupported([]flagDef{
			fGroup,
			{Names: []string{"--name", "-n"}, Required: true, Help: "Name of the App Service plan."},
			{Names: []string{"--sku"}, Help: "Pricing tier, e.g. F1, B1, P1V3."},
			{Names: []string{"--number-of-workers"}, Help: "Number of workers to allocate."},
		}, unsupported("elastic scale and async scaling are not supported yet",
			"--elastic-scale", "--max-elastic-worker-count -m", "--async-scaling-enabled"),
			uManagedInstance, uVNet,
			unsupported("generic updates are not supported yet; use --sku and --number-of-workers",
				"--set", "--add", "--remove", "--force-string"),
			uNoWait, uIDs, uPolicy)},
		{path: "appservice plan delete", short: "Delete an App Service plan.", run: planDelete, flags: withUnsupported([]flagDef{
			fGroup, {Names: []string{"--name", "-n"}, Required: true, Help: "Name of the App Service plan."}, fYes,
		}, uIDs, uPolicy)},
	}
	cmds = append(cmds, webappCommands()...)
	cmds = append(cmds, sshCommands()...)
	cmds = append(cmds, scaleCommands()...)
	cmds = append(cmds, caCommands()...)
	cmds = append(cmds, sslCommands()...)
	cmds = append(cmds, configCommands()...)
	cmds = append(cmds, corsCommands()...)
	cmds = append(cmds, hostnameCommands()...)
	cmds = append(cmds, slotCommands()...)
	cmds = append(cmds, webjobCommands()...)
	cmds = append(cmds, deployCommands()...)
	cmds = append(cmds, storageAccountCommands()...)
	cmds = append(cmds, blobCommands()...)
	cmds = append(cmds, connectionCommands()...)
	cmds = append(cmds, roleCommands()...)
	cmds = append(cmds, adCommands()...)
	cmds = append(cmds, keyvaultCommands()...)
	cmds = append(cmds, identityCommands()...)
	cmds = append(cmds, autoscaleCommands()...)
	cmds = append(cmds, insightsCommands()...)
	cmds = append(cmds, command{path: "webapp up", short: "Create a web app and deploy code from the current folder.", run: webappUp, flags: upFlags})
	return cmds
}

// armMap sends an ARM request and returns the JSON object it answers.
func (c *conn) armMap(ctx context.Context, method, path, apiVersion string, body any) (map[string]any, error) {
	m := map[string]any{}
	if err := c.armJSON(ctx, method, path, apiVersion, body, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// armList GETs an ARM collection and returns its "value" items.
func (c *conn) armList(ctx context.Context, path, apiVersion string) ([]any, error) {
	var page struct {
		Value []any `json:"value"`
	}
	if err := c.armJSON(ctx, http.MethodGet, path, apiVersion, nil, &page); err != nil {
		return nil, err
	}
	if page.Value == nil {
		page.Value = []any{}
	}
	return page.Value, nil
}

// confirm asks az's question on stderr and reads the answer from stdin.
func (inv *invocation) confirm() (bool, error) {
	if inv.flags.boolean("yes") {
		return true, nil
	}
	fmt.Fprint(inv.stderr, "Are you sure you want to perform this operation? (y/n): ")
	line, err := bufio.NewReader(inv.r.stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		fmt.Fprintln(inv.stderr)
		return false, &ExitError{Code: ExitFailure, Message: "Unable to prompt for confirmation as no tty available.", Hint: "Use --yes."}
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}

func groupCreate(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	g := slipway.ResourceGroup{Name: inv.flags.str("name"), Location: normalizeLocation(inv.flags.str("location"))}
	if err := g.Validate(); err != nil {
		return exitErrorf("", "%s", slipway.ErrorMessage(err))
	}
	res, err := c.armMap(ctx, http.MethodPut, c.groupPath(g.Name), apiGroups, map[string]any{"location": g.Location})
	if err != nil {
		return err
	}
	return inv.printResult(res, nil)
}

var groupColumns = []column{{"Name", "name"}, {"Location", "location"}, {"Status", "properties.provisioningState"}}

func groupList(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	list, err := c.armList(ctx, c.subPath()+"/resourcegroups", apiGroups)
	if err != nil {
		return err
	}
	return inv.printResult(list, groupColumns)
}

func groupShow(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	res, err := c.armMap(ctx, http.MethodGet, c.groupPath(inv.flags.str("name")), apiGroups, nil)
	if err != nil {
		return err
	}
	return inv.printResult(res, groupColumns)
}

func groupDelete(ctx context.Context, inv *invocation) error {
	ok, err := inv.confirm()
	if err != nil || !ok {
		return err
	}
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	_, err = c.arm(ctx, http.MethodDelete, c.groupPath(inv.flags.str("name")), apiGroups, nil, nil)
	return err
}

// normalizeLocation maps "West Europe" to "westeurope" as az does.
// location is the command's --location, in ARM's short form, or the
// resource group's when it is not given, as az defaults it.
func (c *conn) location(ctx context.Context, inv *invocation, rg string) (string, error) {
	if loc := normalizeLocation(inv.flags.str("location")); loc != "" {
		return loc, nil
	}
	return c.groupLocation(ctx, rg)
}

// connectWithLocation connects, and reads the command's location for a
// resource in rg.
func (inv *invocation) connectWithLocation(ctx context.Context, rg string) (*conn, string, error) {
	c, err := inv.connect(ctx)
	if err != nil {
		return nil, "", err
	}
	loc, err := c.location(ctx, inv, rg)
	return c, loc, err
}

func normalizeLocation(l string) string {
	return strings.ToLower(strings.ReplaceAll(l, " ", ""))
}

// normalizeSKU upper-cases an SKU name as az's _normalize_sku does.
func normalizeSKU(s string) string {
	switch up := strings.ToUpper(s); up {
	case "FREE":
		return "F1"
	case "SHARED":
		return "D1"
	default:
		return up
	}
}

// planBody is the PUT body az appservice plan create sends (docs/arm.md §1.4).
func planBody(location, sku string, linux, perSiteScaling bool, workers int) (map[string]any, error) {
	parsed, err := slipway.ParseSKU(sku)
	if err != nil {
		return nil, exitErrorf("", "%s", slipway.ErrorMessage(err))
	}
	s := map[string]any{"name": normalizeSKU(sku), "tier": strings.ToUpper(parsed.Tier)}
	if workers > 0 {
		s["capacity"] = workers
	}
	return map[string]any{
		"location": location,
		"sku":      s,
		"properties": map[string]any{
			"reserved": linux, "hyperV": false, "isXenon": false, "perSiteScaling": perSiteScaling, "zoneRedundant": false,
		},
	}, nil
}

// groupLocation reads a resource group's location (for commands without -l).
func (c *conn) groupLocation(ctx context.Context, rg string) (string, error) {
	g, err := c.armMap(ctx, http.MethodGet, c.groupPath(rg), apiGroups, nil)
	if err != nil {
		return "", err
	}
	l, _ := g["location"].(string)
	return l, nil
}

func planCreate(ctx context.Context, inv *invocation) error {
	rg, name := inv.flags.str("resource-group"), inv.flags.str("name")
	sku := inv.flags.str("sku")
	if sku == "" {
		sku = "B1" // az appservice plan create's default
	}
	workers := 0
	if w := inv.flags.str("number-of-workers"); w != "" {
		n, err := strconv.Atoi(w)
		if err != nil || n < 1 {
			return usageErrorf(inv.cmd.path, "argument --number-of-workers: %q is not a positive integer", w)
		}
		workers = n
	}
	if err := (slipway.Plan{Name: name}).Validate(); err != nil {
		return exitErrorf("", "%s", slipway.ErrorMessage(err))
	}
	c, loc, err := inv.connectWithLocation(ctx, rg)
	if err != nil {
		return err
	}
	body, err := planBody(loc, sku, inv.flags.boolean("is-linux"), inv.flags.boolean("per-site-scaling"), workers)
	if err != nil {
		return err
	}
	resp, err := c.arm(ctx, http.MethodPut, c.planPath(rg, name), apiPlanPut, nil, body)
	if err != nil {
		return err
	}
	plan := map[string]any{}
	if resp.Status == http.StatusAccepted || len(resp.Body) == 0 {
		// Accepted: the result is the resource itself once done (docs/arm.md §3.5).
		if plan, err = c.armMap(ctx, http.MethodGet, c.planPath(rg, name), apiWeb, nil); err != nil {
			return err
		}
	} else if err := decodeBody(resp, &plan); err != nil {
		return err
	}
	return inv.printResult(flatten(plan), planColumns)
}

var planColumns = []column{{"Name", "name"}, {"Location", "location"}, {"Status", "status"}, {"ResourceGroup", "resourceGroup"}, {"Sku", "sku.name"}, {"Workers", "numberOfWorkers"}}

func planList(ctx context.Context, inv *invocation) error {
	return listResources(ctx, inv, "/providers/Microsoft.Web/serverfarms", apiWeb, flatten, planColumns,
		func(c *conn, rg string) string { return c.webPath(rg) + "/serverfarms" })
}

// listResources prints a list of ARM resources of one type, subscription-wide
// (subPath under the subscription) or in the --resource-group given (inGroup),
// each shaped by render.
func listResources(ctx context.Context, inv *invocation, subPath, api string, render func(map[string]any) map[string]any, cols []column, inGroup func(c *conn, rg string) string) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	path := c.subPath() + subPath
	if rg := inv.flags.str("resource-group"); rg != "" {
		path = inGroup(c, rg)
	}
	list, err := c.armList(ctx, path, api)
	if err != nil {
		return err
	}
	out := make([]any, 0, len(list))
	for _, it := range list {
		if m, ok := it.(map[string]any); ok {
			out = append(out, render(m))
		}
	}
	return inv.printResult(out, cols)
}

// planUpdate reads the plan and puts it back with the new SKU or worker
// count, as az appservice plan update does.
func planUpdate(ctx context.Context, inv *invocation) error {
	rg, name := inv.flags.str("resource-group"), inv.flags.str("name")
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	plan, err := c.armMap(ctx, http.MethodGet, c.planPath(rg, name), apiWeb, nil)
	if err != nil {
		return err
	}
	sku, _ := plan["sku"].(map[string]any)
	name0, _ := sku["name"].(string)
	workers := 0
	if n, ok := sku["capacity"].(float64); ok {
		workers = int(n)
	}
	if v := inv.flags.str("sku"); v != "" {
		name0 = v
	}
	if w := inv.flags.str("number-of-workers"); w != "" {
		n, err := strconv.Atoi(w)
		if err != nil || n < 1 {
			return usageErrorf(inv.cmd.path, "argument --number-of-workers: %q is not a positive integer", w)
		}
		workers = n
	}
	props, _ := plan["properties"].(map[string]any)
	linux, _ := props["reserved"].(bool)
	perSiteScaling, _ := props["perSiteScaling"].(bool)
	loc, _ := plan["location"].(string)
	body, err := planBody(normalizeLocation(loc), name0, linux, perSiteScaling, workers)
	if err != nil {
		return err
	}
	resp, err := c.arm(ctx, http.MethodPut, c.planPath(rg, name), apiPlanPut, nil, body)
	if err != nil {
		return err
	}
	out := map[string]any{}
	if err := decodeBody(resp, &out); err != nil {
		return err
	}
	return inv.printResult(flatten(out), planColumns)
}

func planShow(ctx context.Context, inv *invocation) error {
	return showResource(ctx, inv, (*conn).planPath, apiWeb, flatten, planColumns)
}

func planDelete(ctx context.Context, inv *invocation) error {
	return deleteResource(ctx, inv, (*conn).planPath, apiWeb)
}

// showResource prints the ARM resource named by --resource-group and --name
// at the path pathOf builds, shaped by render.
func showResource(ctx context.Context, inv *invocation, pathOf func(c *conn, rg, name string) string, api string, render func(map[string]any) map[string]any, cols []column) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	res, err := c.armMap(ctx, http.MethodGet, pathOf(c, inv.flags.str("resource-group"), inv.flags.str("name")), api, nil)
	if err != nil {
		return err
	}
	return inv.printResult(render(res), cols)
}

// deleteResource deletes the ARM resource named by --resource-group and
// --name, after the user confirms (or --yes).
func deleteResource(ctx context.Context, inv *invocation, pathOf func(c *conn, rg, name string) string, api string) error {
	ok, err := inv.confirm()
	if err != nil || !ok {
		return err
	}
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	_, err = c.arm(ctx, http.MethodDelete, pathOf(c, inv.flags.str("resource-group"), inv.flags.str("name")), api, nil, nil)
	return err
}
