package cli

// `webapp webjob triggered list|run|log|remove` and `webapp webjob
// continuous list|start|stop|remove`: an app's WebJobs (docs/webjobs.md)
// through ARM's Microsoft.Web/sites[/slots]/triggeredwebjobs and
// continuouswebjobs, as az's custom.py drives them (list_triggered_webjobs,
// run_triggered_webjob, get_history_triggered_webjob, ...): run, start and
// stop act and then print the job, remove prints nothing, log prints the
// run history. The output is what az prints for the same answers: the
// fields of the SDK's models (TriggeredWebJob, ContinuousWebJob,
// TriggeredJobHistory, TriggeredJobRun) lifted to the top level in
// camelCase, null where the server gave none, and nothing else.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

func webjobCommands() []command {
	gn := []flagDef{fGroup, fApp}
	job := flagDef{Names: []string{"--webjob-name", "-w"}, Required: true, Help: "The name of the webjob."}
	list := withUnsupported(gn, uSlot)
	act := withUnsupported(append(gn[:2:2], job), uSlot, uIDs, uPolicy)
	return []command{
		{path: "webapp webjob triggered list", short: "List all triggered webjobs hosted on a web app.", run: webjobList(triggeredJobModel), flags: list},
		{path: "webapp webjob triggered run", short: "Run a specific triggered webjob hosted on a web app.", run: webjobAct(triggeredJobModel, http.MethodPost, "/run"), flags: act},
		{path: "webapp webjob triggered log", short: "Get history of a specific triggered webjob hosted on a web app.", run: webjobLog, flags: act},
		{path: "webapp webjob triggered remove", short: "Delete a specific triggered webjob hosted on a web app.", run: webjobAct(triggeredJobModel, http.MethodDelete, ""), flags: act},
		{path: "webapp webjob continuous list", short: "List all continuous webjobs on a selected web app.", run: webjobList(continuousJobModel), flags: list},
		{path: "webapp webjob continuous start", short: "Start a specific continuous webjob on a selected web app.", run: webjobAct(continuousJobModel, http.MethodPost, "/start"), flags: act},
		{path: "webapp webjob continuous stop", short: "Stop a specific continuous webjob.", run: webjobAct(continuousJobModel, http.MethodPost, "/stop"), flags: act},
		{path: "webapp webjob continuous remove", short: "Delete a specific continuous webjob.", run: webjobAct(continuousJobModel, http.MethodDelete, ""), flags: act},
	}
}

// sdkModel is an azure-mgmt-web model az prints a resource through: the
// collection it lives in and its properties' fields (the SDK's attribute
// names, which the wire spells the same unless wire says otherwise).
type sdkModel struct {
	leaf   string // triggeredwebjobs, continuouswebjobs
	fields []string
	wire   map[string]string // attribute → the wire's name, where they differ
	nested map[string]*sdkModel
	times  map[string]bool // rfc3339 datetimes, which az prints as Python's isoformat
}

// triggeredRunModel is TriggeredJobRun.
var triggeredRunModel = &sdkModel{
	fields: []string{"web_job_id", "web_job_name", "status", "start_time", "end_time", "duration", "output_url", "error_url", "url", "job_name", "trigger"},
	times:  map[string]bool{"start_time": true, "end_time": true},
}

// triggeredJobModel is TriggeredWebJob(Properties).
var triggeredJobModel = &sdkModel{
	leaf: "triggeredwebjobs",
	fields: []string{"latest_run", "history_url", "scheduler_logs_url", "run_command", "url", "extra_info_url",
		"web_job_type", "error", "using_sdk", "public_network_access", "storage_account_required", "settings"},
	wire:   map[string]string{"public_network_access": "publicNetworkAccess", "storage_account_required": "storageAccountRequired"},
	nested: map[string]*sdkModel{"latest_run": triggeredRunModel},
}

// continuousJobModel is ContinuousWebJob(Properties).
var continuousJobModel = &sdkModel{
	leaf: "continuouswebjobs",
	fields: []string{"status", "detailed_status", "log_url", "run_command", "url", "extra_info_url",
		"web_job_type", "error", "using_sdk", "settings"},
}

// historyModel is TriggeredJobHistory(Properties).
var historyModel = &sdkModel{
	fields: []string{"runs"},
	nested: map[string]*sdkModel{"runs": triggeredRunModel},
}

// object renders m's members through the model: every field, camelCase,
// null when absent.
func (md *sdkModel) object(m map[string]any) map[string]any {
	out := map[string]any{}
	for _, f := range md.fields {
		w := f
		if n, ok := md.wire[f]; ok {
			w = n
		}
		v := m[w]
		switch {
		case md.nested[f] != nil:
			v = md.nested[f].value(v)
		case md.times[f]:
			if s, ok := v.(string); ok {
				v = pythonISOTime(s)
			}
		}
		out[snakeToCamel(f)] = v
	}
	return out
}

// value renders a nested member: an object, or a list of them.
func (md *sdkModel) value(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return md.object(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = md.value(e)
		}
		return out
	}
	return v
}

// resource renders an ARM resource: its envelope (ProxyResource's id,
// name, type, systemData, and kind), its properties lifted beside it, and
// the resourceGroup az adds from the id.
func (md *sdkModel) resource(res map[string]any) map[string]any {
	props, _ := res["properties"].(map[string]any)
	out := md.object(props)
	for _, k := range []string{"id", "name", "type", "systemData", "kind"} {
		out[k] = res[k]
	}
	if id, ok := res["id"].(string); ok {
		if rg := resourceGroupOf(id); rg != "" {
			out["resourceGroup"] = rg
		}
	}
	return out
}

// snakeToCamel is azure-cli's to_camel_case: "latest_run" → "latestRun".
func snakeToCamel(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		parts[i] = upperFirst(parts[i])
	}
	return strings.Join(parts, "")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// pythonISOTime is an RFC 3339 time as the SDK reads it (fractions cut to
// microseconds) and az prints it (datetime.isoformat: microseconds only
// when not zero, the offset as +HH:MM, none for a time without one, as
// Kudu's .NET zero time "0001-01-01T00:00:00"). A time it cannot read is
// left as it is.
func pythonISOTime(s string) string {
	zoned := true
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		if t, err = time.Parse("2006-01-02T15:04:05.999999999", s); err != nil {
			return s
		}
		zoned = false
	}
	t = t.Truncate(time.Microsecond)
	out := t.Format("2006-01-02T15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		out += fmt.Sprintf(".%06d", us)
	}
	if zoned {
		_, off := t.Zone()
		sign := "+"
		if off < 0 {
			sign, off = "-", -off
		}
		out += fmt.Sprintf("%s%02d:%02d", sign, off/3600, off%3600/60)
	}
	return out
}

// webjobPath is the path of the app's (or --slot's) job collection, or of
// one job in it.
func (inv *invocation) webjobPath(c *conn, md *sdkModel, job string) string {
	p := c.sitePath(inv.flags.str("resource-group"), inv.flags.str("name")) + "/" + md.leaf
	if job != "" {
		p += "/" + url.PathEscape(job)
	}
	return p
}

func webjobList(md *sdkModel) func(context.Context, *invocation) error {
	return func(ctx context.Context, inv *invocation) error {
		return inv.printWebjobItems(ctx, md, "", "", md)
	}
}

// printWebjobItems GETs a collection under the app's jobs (of job, with
// suffix) and prints each item through the model out.
func (inv *invocation) printWebjobItems(ctx context.Context, md *sdkModel, job, suffix string, out *sdkModel) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	items, err := c.armList(ctx, inv.webjobPath(c, md, job)+suffix, apiWeb)
	if err != nil {
		return inv.webjobError(err)
	}
	res := make([]any, 0, len(items))
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			res = append(res, out.resource(m))
		}
	}
	return inv.printResult(res, nil)
}

// webjobAct sends method to the job (suffix: its action) and, unless it
// deleted it, prints the job as it then is.
func webjobAct(md *sdkModel, method, suffix string) func(context.Context, *invocation) error {
	return func(ctx context.Context, inv *invocation) error {
		c, err := inv.connect(ctx)
		if err != nil {
			return err
		}
		p := inv.webjobPath(c, md, inv.flags.str("webjob-name"))
		if _, err := c.arm(ctx, method, p+suffix, apiWeb, nil, nil); err != nil {
			return inv.webjobError(err)
		}
		if method == http.MethodDelete {
			return nil
		}
		res, err := c.armMap(ctx, http.MethodGet, p, apiWeb, nil)
		if err != nil {
			return inv.webjobError(err)
		}
		return inv.printResult(md.resource(res), nil)
	}
}

func webjobLog(ctx context.Context, inv *invocation) error {
	return inv.printWebjobItems(ctx, triggeredJobModel, inv.flags.str("webjob-name"), "/history", historyModel)
}

// webjobError is a server's refusal as az's webjob commands show it
// (appservice's ex_handler_factory): App Service's message alone, exit
// code 1, with the next step for a job or an app that is not there.
func (inv *invocation) webjobError(err error) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		return err
	}
	hint := ""
	if ae.Status == http.StatusNotFound {
		at := "-g " + inv.flags.str("resource-group") + " -n " + inv.flags.str("name")
		if s := inv.flags.str("slot"); s != "" {
			at += " --slot " + s
		}
		hint = fmt.Sprintf("List the app's jobs with `slipway webapp webjob triggered list %s` (or `continuous list`), and apps with `slipway webapp list`.", at)
	}
	if e, ok := toExitError(err).(*ExitError); ok && hint == "" {
		hint = e.Hint
	}
	return &ExitError{Code: ExitFailure, Message: ae.Message, Hint: hint}
}
