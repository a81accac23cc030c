package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/slipway-dev/slipway/internal/insights"
)

// apiInsights is the Microsoft.Insights/components api-version az's
// application-insights extension sends.
const apiInsights = "2020-02-02"

// insightsCommands are `monitor app-insights component create|show|delete|
// connect-webapp` and `monitor app-insights events show`, with the flags of
// az's application-insights extension (az installs extensions from the
// internet; these are the same requests: ARM for components, Application
// Insights' REST API for events, docs/insights.md).
func insightsCommands() []command {
	fAI := flagDef{Names: []string{"--app", "-a"}, Required: true, Help: "Name of the Application Insights component."}
	uWorkspace := unsupported("Slipway has no Log Analytics workspaces: telemetry stays with the component", "--workspace")
	return []command{
		{path: "monitor app-insights component create", short: "Create an Application Insights component.", run: insightsCreate, flags: withUnsupported([]flagDef{
			fAI, fGroup,
			{Names: []string{"--location", "-l"}, Help: "Location. Default: the resource group's."},
			{Names: []string{"--kind", "-k"}, Help: "The kind of application: web (default), ios, other, store, java, phone."},
			{Names: []string{"--application-type"}, Help: "Type of application: web (default) or other."},
			{Names: []string{"--retention-time"}, Help: "Days telemetry is kept: 30, 60, 90 (default), 120, 180, 270, 365, 550 or 730."},
			{Names: []string{"--ingestion-access"}, Help: "Public network access for ingestion: Enabled or Disabled (recorded)."},
			{Names: []string{"--query-access"}, Help: "Public network access for queries: Enabled or Disabled (recorded)."},
			{Names: []string{"--tags"}, Kind: kindList, Help: "Space-separated tags: key[=value]."},
		}, uWorkspace, uPolicy)},
		{path: "monitor app-insights component show", short: "Show an Application Insights component, or list them.", run: insightsShow,
			flags: []flagDef{{Names: []string{"--app", "-a"}, Help: "Name of the component; all of them if not given."}, fGroupOpt}},
		{path: "monitor app-insights component delete", short: "Delete an Application Insights component and its telemetry.", run: insightsDelete,
			flags: withUnsupported([]flagDef{fAI, fGroup}, uPolicy)},
		{path: "monitor app-insights component connect-webapp", short: "Send a web app's telemetry to a component: sets its connection string as the app's settings.", run: insightsConnect,
			flags: withUnsupported([]flagDef{fAI, fGroup, {Names: []string{"--web-app"}, Required: true, Help: "Name or resource id of the web app."}},
				unsupported("the Profiler and the Snapshot Debugger are Azure services Slipway does not have", "--enable-profiler", "--enable-snapshot-debugger"))},
		{path: "monitor app-insights events show", short: "List events by type, or show one event by id.", run: insightsEvents, flags: withUnsupported([]flagDef{
			{Names: []string{"--type"}, Required: true, Help: "$all, availabilityResults, browserTimings, customEvents, customMetrics, dependencies, exceptions, pageViews, performanceCounters, requests or traces."},
			{Names: []string{"--app", "-a"}, Required: true, Help: "The component's application id (GUID), or its name with --resource-group."},
			fGroupOpt,
			{Names: []string{"--event"}, Help: "The id of one event."},
			{Names: []string{"--offset"}, Help: "How far back from --end-time (or now): e.g. 1h, 30m, 2d, 1d2h. Default: 1h."},
			{Names: []string{"--start-time"}, Help: "Start of the window (ISO 8601)."},
			{Names: []string{"--end-time"}, Help: "End of the window (ISO 8601). Default: now."},
		}, uIDs)},
	}
}

func (c *conn) componentPath(rg, name string) string {
	return c.groupPath(rg) + "/providers/Microsoft.Insights/components/" + url.PathEscape(name)
}

// componentOutput is a component as the extension prints it: the
// properties lifted and named as the SDK's model names them (AppId →
// appId, Application_Type → applicationType; the properties' own Name →
// namePropertiesName), with resourceGroup.
func componentOutput(m map[string]any) map[string]any {
	out := map[string]any{}
	if props, ok := m["properties"].(map[string]any); ok {
		for k, v := range props {
			key := strings.ReplaceAll(k, "_", "")
			if k == "Name" {
				key = "namePropertiesName"
			} else if r := []rune(key); len(r) > 0 {
				r[0] = unicode.ToLower(r[0])
				key = string(r)
			}
			out[key] = v
		}
	}
	for k, v := range m {
		if k != "properties" {
			out[k] = v
		}
	}
	if id, ok := m["id"].(string); ok {
		out["resourceGroup"] = resourceGroupOf(id)
	}
	return out
}

var componentColumns = []column{{"Name", "name"}, {"Location", "location"}, {"ResourceGroup", "resourceGroup"}, {"AppId", "appId"}, {"InstrumentationKey", "instrumentationKey"}}

func insightsCreate(ctx context.Context, inv *invocation) error {
	rg, name := inv.flags.str("resource-group"), inv.flags.str("app")
	c, loc, err := inv.connectWithLocation(ctx, rg)
	if err != nil {
		return err
	}
	kind := inv.flags.str("kind")
	if kind == "" {
		kind = "web"
	}
	appType := inv.flags.str("application-type")
	if appType == "" {
		appType = "web"
	}
	props := map[string]any{"Application_Type": appType, "Flow_Type": "Bluefield", "Request_Source": "rest"}
	if v := inv.flags.str("retention-time"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return exitErrorf("", "--retention-time %q is not a number of days.", v)
		}
		props["RetentionInDays"] = n
	}
	for flag, key := range map[string]string{"ingestion-access": "publicNetworkAccessForIngestion", "query-access": "publicNetworkAccessForQuery"} {
		if v := inv.flags.str(flag); v != "" {
			props[key] = v
		}
	}
	res, err := c.armMap(ctx, http.MethodPut, c.componentPath(rg, name), apiInsights,
		map[string]any{"location": loc, "kind": kind, "tags": tagsFlag(inv), "properties": props})
	if err != nil {
		return err
	}
	return inv.printResult(componentOutput(res), componentColumns)
}

func insightsShow(ctx context.Context, inv *invocation) error {
	if name := inv.flags.str("app"); name != "" {
		rg := inv.flags.str("resource-group")
		if rg == "" {
			return usageErrorf(inv.cmd.path, "usage error: --resource-group is required with --app")
		}
		c, err := inv.connect(ctx)
		if err != nil {
			return err
		}
		res, err := c.armMap(ctx, http.MethodGet, c.componentPath(rg, name), apiInsights, nil)
		if err != nil {
			return err
		}
		return inv.printResult(componentOutput(res), componentColumns)
	}
	const typ = "/providers/Microsoft.Insights/components"
	return listResources(ctx, inv, typ, apiInsights, componentOutput, componentColumns,
		func(c *conn, rg string) string { return c.groupPath(rg) + typ })
}

func insightsDelete(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	_, err = c.arm(ctx, http.MethodDelete, c.componentPath(inv.flags.str("resource-group"), inv.flags.str("app")), apiInsights, nil, nil)
	return err
}

// insightsConnect sets the component's connection string and key as the
// web app's settings, as the extension's connect-webapp does; the app
// sends telemetry with the agent (ApplicationInsightsAgent_EXTENSION_VERSION)
// or with the distro in its own requirements, which read the connection
// string.
func insightsConnect(ctx context.Context, inv *invocation) error {
	rg := inv.flags.str("resource-group")
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	comp, err := c.armMap(ctx, http.MethodGet, c.componentPath(rg, inv.flags.str("app")), apiInsights, nil)
	if err != nil {
		return err
	}
	props, _ := comp["properties"].(map[string]any)
	cs, _ := props["ConnectionString"].(string)
	key, _ := props["InstrumentationKey"].(string)
	if cs == "" || key == "" {
		return exitErrorf("", "The component %s has no connection string.", inv.flags.str("app"))
	}
	appRG, app := rg, inv.flags.str("web-app")
	if strings.HasPrefix(app, "/") {
		appRG, app = resourceGroupOf(app), app[strings.LastIndex(app, "/")+1:]
	}
	settings, err := c.listDict(ctx, appRG, app, "appsettings")
	if err != nil {
		return err
	}
	settings["APPLICATIONINSIGHTS_CONNECTION_STRING"] = cs
	settings["APPINSIGHTS_INSTRUMENTATIONKEY"] = key
	if _, err := c.putDict(ctx, appRG, app, "appsettings", settings); err != nil {
		return err
	}
	inv.warnf("The app's telemetry reaches the component once the app sends it: set the app setting ApplicationInsightsAgent_EXTENSION_VERSION=~3 (and DJANGO_SETTINGS_MODULE for Django) for the agent, or add azure-monitor-opentelemetry to its requirements and call configure_azure_monitor().")
	return inv.printResult(componentOutput(comp), componentColumns)
}

// offsetRE reads the extension's --offset: days, hours, minutes and
// seconds, e.g. 1h, 30m, 1d2h, or an ISO 8601 duration.
var offsetRE = regexp.MustCompile(`^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$`)

func parseOffset(s string) (time.Duration, error) {
	m := offsetRE.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil || s == "" {
		return 0, exitErrorf("", "--offset %q is not a duration such as 1h, 30m, 2d or 1d2h.", s)
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute, time.Second} {
		if m[i+1] != "" {
			n, _ := strconv.Atoi(m[i+1])
			d += time.Duration(n) * unit
		}
	}
	return d, nil
}

// insightsEvents reads events through Application Insights' REST API at
// api.insights.<domain>, with the CLI's token.
func insightsEvents(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	appID := inv.flags.str("app")
	if !guidRE.MatchString(appID) {
		rg := inv.flags.str("resource-group")
		if rg == "" {
			return usageErrorf(inv.cmd.path, "usage error: give --app as the component's application id, or its name with --resource-group")
		}
		comp, err := c.armMap(ctx, http.MethodGet, c.componentPath(rg, appID), apiInsights, nil)
		if err != nil {
			return err
		}
		props, _ := comp["properties"].(map[string]any)
		appID, _ = props["AppId"].(string)
	}
	end := time.Now().UTC()
	if v := inv.flags.str("end-time"); v != "" {
		if end, err = time.Parse(time.RFC3339, v); err != nil {
			return exitErrorf("", "--end-time %q is not an ISO 8601 time (2026-12-07T10:00:00Z).", v)
		}
	}
	var start time.Time
	switch v := inv.flags.str("start-time"); {
	case v != "":
		if start, err = time.Parse(time.RFC3339, v); err != nil {
			return exitErrorf("", "--start-time %q is not an ISO 8601 time (2026-12-07T09:00:00Z).", v)
		}
	default:
		offset := time.Hour
		if o := inv.flags.str("offset"); o != "" {
			if offset, err = parseOffset(o); err != nil {
				return err
			}
		}
		start = end.Add(-offset)
	}
	path := "/v1/apps/" + url.PathEscape(appID) + "/events/" + url.PathEscape(inv.flags.str("type"))
	if e := inv.flags.str("event"); e != "" {
		path += "/" + url.PathEscape(e)
	}
	u := c.hostURL(insights.QueryHost(c.domain)) + path + "?timespan=" + url.QueryEscape(start.Format(time.RFC3339)+"/"+end.Format(time.RFC3339))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	var out map[string]any
	if err := decodeBody(resp, &out); err != nil {
		return err
	}
	// As the extension prints the SDK's EventsResults.
	result := map[string]any{"odataContext": out["@odata.context"], "aiMessages": out["@ai.messages"], "value": out["value"]}
	if result["value"] == nil {
		return fmt.Errorf("the events API answered without events")
	}
	return inv.printResult(result, nil)
}
