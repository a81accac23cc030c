package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
)

var upFlags = withUnsupported([]flagDef{
	{Names: []string{"--name", "-n"}, Help: "Name of the web app. Default: .azure/config, else a generated name."},
	{Names: []string{"--resource-group", "-g"}, Help: "Resource group. Default: .azure/config, the existing app's, else <user>_rg_<NNNN>."},
	{Names: []string{"--plan", "-p"}, Help: "App Service plan. Default: .azure/config, the existing app's, else <user>_asp_<NNNN>."},
	{Names: []string{"--sku"}, Help: "Pricing tier. Default: P1V2, or F1 when --runtime is given (as az)."},
	{Names: []string{"--location", "-l"}, Help: "Location. Default: .azure/config, else westeurope."},
	{Names: []string{"--runtime", "-r"}, Help: "Runtime, e.g. \"PYTHON:3.12\". Default: the server's first Python version."},
	{Names: []string{"--os-type"}, Help: "Only Linux is supported."},
	{Names: []string{"--dryrun"}, Kind: kindBool, Help: "Show what would be created and deployed, and change nothing."},
	{Names: []string{"--logs"}, Kind: kindBool, Help: "Stream the app's log after deploying."},
	{Names: []string{"--launch-browser", "-b"}, Kind: kindBool, Help: "Accepted for compatibility: the URL is printed."},
}, unsupported("only Python apps are supported", "--html"),
	unsupported("App Service Environments are out of scope", "--app-service-environment -e"),
	unsupported("startup tracking and Kudu warm-up are not supported yet", "--track-status", "--enable-kudu-warmup"),
	uBasicAuth, uDomainNameScope, uEnrichedErrors, uIDs, uPolicy)

// upPlan is what `webapp up` resolved before changing anything.
type upPlan struct {
	Dir, Name, Group, Plan, SKU, Location, Runtime string
	Existing                                       map[string]any // the app, when it exists
	GroupExists                                    bool           // the group exists (known for new apps only)
	PlanExists                                     bool           // the plan exists: its SKU and workers stay unless --sku says otherwise
}

// summary is az's JSON result (dry run without URL).
func (p upPlan) summary(url string) map[string]any {
	tier := p.SKU
	if s, err := slipway.ParseSKU(p.SKU); err == nil {
		tier = strings.ToUpper(s.Tier)
	}
	m := map[string]any{
		"name": p.Name, "appserviceplan": p.Plan, "resourcegroup": p.Group, "sku": tier, "os": "Linux",
		"location": p.Location, "src_path": p.Dir, "runtime_version_detected": "-", "runtime_version": strings.ToLower(p.Runtime),
	}
	if url != "" {
		m["URL"] = url
	}
	return m
}

// projectDir is the folder `webapp up` deploys: $PWD, else the process's
// working directory.
func (inv *invocation) projectDir() (string, error) {
	if d := inv.getenv("PWD"); d != "" {
		return d, nil
	}
	d, err := inv.r.getwd()
	if err != nil {
		return "", fmt.Errorf("finding the current folder: %w", err)
	}
	return d, nil
}

// webappUp creates what is missing (group, plan, app), zips the folder,
// deploys it with Kudu's async zipdeploy, shows the build log as it runs,
// waits for the app to answer and remembers the names in .azure/config
// (docs/arm.md §1.14, docs/appservice.md §13).
func webappUp(ctx context.Context, inv *invocation) error {
	dir, err := inv.projectDir()
	if err != nil {
		return err
	}
	if osType := strings.ToLower(inv.flags.str("os-type")); osType != "" && osType != "linux" {
		return usageErrorf(inv.cmd.path, "Slipway runs Python apps on Linux only; --os-type %s is not supported.", osType)
	}
	if _, err := os.Stat(filepath.Join(dir, "requirements.txt")); errors.Is(err, fs.ErrNotExist) {
		return &ExitError{Code: ExitFailure, Message: "Could not auto-detect the runtime stack of your app.", Hint: "Are you in the right folder?"}
	} else if err != nil {
		return fmt.Errorf("looking for requirements.txt: %w", err)
	}
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	p, generated, err := inv.resolveUp(ctx, c, dir)
	if err != nil {
		return err
	}
	if inv.flags.boolean("dryrun") {
		return inv.printResult(p.summary(""), nil)
	}
	if generated {
		inv.progressf("Using the generated app name '%s' (pass -n to choose one).", p.Name)
	}
	site, err := inv.ensureUpResources(ctx, c, p)
	if err != nil {
		return err
	}
	// The resources exist now: remember them, so that running `webapp up`
	// again after a failed build reuses them instead of making new ones.
	if err := writeUpDefaults(dir, upDefaults{Group: p.Group, SKU: p.SKU, Plan: p.Plan, Location: p.Location, Web: p.Name}); err != nil {
		return err
	}
	if err := inv.upDeploy(ctx, c, p); err != nil {
		return err
	}
	appURL := c.hostURL(appHost(site))
	if err := inv.waitApp(ctx, c, appURL, p); err != nil {
		return err
	}
	inv.progressf("You can launch the app at %s", appURL)
	if err := inv.printResult(p.summary(appURL), nil); err != nil {
		return err
	}
	if inv.flags.boolean("logs") {
		k, _, err := c.kuduFor(ctx, p.Group, p.Name)
		if err != nil {
			return err
		}
		return k.tail(ctx, inv.stdout)
	}
	return nil
}

// resolveUp picks every name and value: flag, else .azure/config, else the
// existing app's, else a default. It changes nothing on the server.
func (inv *invocation) resolveUp(ctx context.Context, c *conn, dir string) (upPlan, bool, error) {
	d, err := readUpDefaults(dir)
	if err != nil {
		return upPlan{}, false, err
	}
	pick := func(vals ...string) string {
		for _, v := range vals {
			if v != "" {
				return v
			}
		}
		return ""
	}
	p := upPlan{Dir: dir, Name: pick(inv.flags.str("name"), d.Web)}
	generated := false
	if p.Name != "" {
		if err := slipway.ValidateSiteName(p.Name); err != nil {
			return p, false, exitErrorf("", "%s", slipway.ErrorMessage(err))
		}
		if p.Existing, err = c.findSite(ctx, p.Name); err != nil {
			return p, false, err
		}
		if p.Existing == nil {
			ok, reason, msg, err := c.checkName(ctx, p.Name)
			if err != nil {
				return p, false, err
			}
			if !ok {
				if reason == "Invalid" {
					return p, false, exitErrorf("", "%s", msg)
				}
				return p, false, exitErrorf("Choose another name with -n.", "The name '%s' is not available: %s", p.Name, msg)
			}
		}
	} else {
		// az tries a few generated names until one is free.
		for range 6 {
			name, err := randomAppName(inv.r.rand)
			if err != nil {
				return p, false, err
			}
			ok, _, _, err := c.checkName(ctx, name)
			if err != nil {
				return p, false, err
			}
			if ok {
				p.Name, generated = name, true
				break
			}
		}
		if p.Name == "" {
			return p, false, exitErrorf("Pass a name with -n.", "Could not find a free app name.")
		}
	}
	// az's SKU default: P1V2 when it detected the language, F1 when --runtime
	// was given (docs/arm.md §1.14). Tiers mean nothing to a local server, but
	// scripts that read the output or .azure/config see what az would write.
	skuDefault := "P1V2"
	if inv.flags.str("runtime") != "" {
		skuDefault = "F1"
	}
	user := defaultUser(inv.getenv)
	var existingRG string
	if p.Existing != nil {
		// An existing app keeps its group, plan and location; names given
		// (or remembered) must match them.
		existingRG = siteGroup(p.Existing)
		existingPlan := path.Base(str(p.Existing, "properties.serverFarmId"))
		if g := pick(inv.flags.str("resource-group"), d.Group); g != "" && !strings.EqualFold(g, existingRG) {
			return p, false, exitErrorf("Re-run the command with the correct parameters (or without -g).", "Webapp '%s' exists in resource group '%s' and does not match the value entered '%s'.", p.Name, existingRG, g)
		}
		if pl := inv.flags.str("plan"); pl != "" && !strings.EqualFold(pl, existingPlan) {
			return p, false, exitErrorf("Re-run the command without -p.", "Webapp '%s' runs on App Service plan '%s', not '%s'.", p.Name, existingPlan, pl)
		}
		existingSKU := ""
		if plan, err := c.armMap(ctx, http.MethodGet, c.planPath(existingRG, existingPlan), apiWeb, nil); err == nil {
			existingSKU = str(plan, "sku.name")
		} else if !isStatus(err, http.StatusNotFound) {
			return p, false, err
		}
		p.Group, p.Plan = existingRG, existingPlan
		p.Location = normalizeLocation(str(p.Existing, "location"))
		p.SKU = normalizeSKU(pick(inv.flags.str("sku"), existingSKU, d.SKU, skuDefault))
	} else {
		if p.Group = pick(inv.flags.str("resource-group"), d.Group); p.Group == "" {
			if p.Group, err = defaultGroupName(user, inv.r.rand); err != nil {
				return p, false, err
			}
		}
		p.Plan = pick(inv.flags.str("plan"), d.Plan)
		p.Location = normalizeLocation(pick(inv.flags.str("location"), d.Location, "westeurope"))
		existingSKU := ""
		if p.Plan != "" {
			// A new app on an existing plan leaves the plan's size alone
			// (-r alone must not turn a B1 plan into az's F1 default).
			if plan, err := c.armMap(ctx, http.MethodGet, c.planPath(p.Group, p.Plan), apiWeb, nil); err == nil {
				existingSKU, p.PlanExists = str(plan, "sku.name"), true
			} else if !isStatus(err, http.StatusNotFound) {
				return p, false, err
			}
		}
		p.SKU = normalizeSKU(pick(inv.flags.str("sku"), existingSKU, d.SKU, skuDefault))
	}
	if _, err := slipway.ParseSKU(p.SKU); err != nil {
		return p, false, exitErrorf("", "%s", slipway.ErrorMessage(err))
	}
	switch {
	case inv.flags.str("runtime") != "":
		if p.Runtime, err = c.checkRuntime(ctx, inv.flags.str("runtime")); err != nil {
			return p, false, err
		}
	case p.Existing != nil:
		cfg, err := c.armMap(ctx, http.MethodGet, c.sitePath(existingRG, p.Name)+"/config/web", apiWeb, nil)
		if err != nil {
			return p, false, err
		}
		p.Runtime = str(cfg, "properties.linuxFxVersion")
	}
	if p.Runtime == "" {
		if p.Runtime, err = defaultPythonRuntime(ctx, c); err != nil {
			return p, false, err
		}
	}
	if p.Existing == nil {
		// Does the group exist? (HEAD: 204 yes, 404 no; docs/arm.md §1.14 step 4.)
		_, err := c.arm(ctx, http.MethodHead, c.groupPath(p.Group), apiGroups, nil, nil)
		switch {
		case err == nil:
			p.GroupExists = true
		case !isStatus(err, http.StatusNotFound):
			return p, false, err
		}
		if p.Plan == "" && p.GroupExists {
			// Reuse one of this user's default-named Linux plans in the group,
			// as az does (step 5).
			plans, err := c.armList(ctx, c.webPath(p.Group)+"/serverfarms", apiWeb)
			if err != nil {
				return p, false, err
			}
			for _, it := range plans {
				pl := asMap(it)
				if strings.HasPrefix(str(pl, "name"), user+"_asp_") && lookup(pl, "properties.reserved") == true {
					p.Plan = str(pl, "name")
					break
				}
			}
		}
		if p.Plan == "" {
			if p.Plan, err = defaultPlanName(user, inv.r.rand); err != nil {
				return p, false, err
			}
		}
	}
	return p, generated, nil
}

// defaultPythonRuntime is az's choice when no runtime is given: the
// lexicographically smallest PYTHON|x.y among the stacks (so "3.10" sorts
// before "3.9", as in az; docs/arm.md §1.14).
func defaultPythonRuntime(ctx context.Context, c *conn) (string, error) {
	rts, err := c.listRuntimes(ctx)
	if err != nil {
		return "", err
	}
	var py []string
	for _, r := range rts {
		if r.OS == "linux" && strings.HasPrefix(strings.ToUpper(r.Version), "PYTHON|") {
			py = append(py, r.Version)
		}
	}
	if len(py) == 0 {
		return "", exitErrorf("Pass one with --runtime, e.g. --runtime PYTHON:3.12.", "The server offers no Python runtime (webAppStacks has no PYTHON| versions).")
	}
	sort.Strings(py)
	return py[0], nil
}

// ensureUpResources creates the group (if missing), creates or updates the
// plan (always, as az does) and creates the app (if missing) or updates its
// runtime. It returns the site.
func (inv *invocation) ensureUpResources(ctx context.Context, c *conn, p upPlan) (map[string]any, error) {
	if p.Existing == nil && !p.GroupExists {
		inv.progressf("Creating Resource group '%s' ...", p.Group)
		if _, err := c.arm(ctx, http.MethodPut, c.groupPath(p.Group), apiGroups, nil, map[string]any{"location": p.Location}); err != nil {
			return nil, err
		}
	} else {
		inv.progressf("Resource group '%s' already exists.", p.Group)
	}
	inv.progressf("Creating AppServicePlan '%s' ...", p.Plan)
	workers := 1
	if p.PlanExists || p.Existing != nil {
		workers = 0 // keep the plan's worker count
	}
	body, err := planBody(p.Location, p.SKU, true, false, workers)
	if err != nil {
		return nil, err
	}
	resp, err := c.arm(ctx, http.MethodPut, c.planPath(p.Group, p.Plan), apiPlanPut, nil, body)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusConflict {
			return nil, exitErrorf("Choose another plan with -p, or change the existing one.", "%s", ae.Message)
		}
		return nil, err
	}
	plan := map[string]any{}
	if resp.Status == http.StatusAccepted || len(resp.Body) == 0 {
		if plan, err = c.armMap(ctx, http.MethodGet, c.planPath(p.Group, p.Plan), apiWeb, nil); err != nil {
			return nil, err
		}
	} else if err := decodeBody(resp, &plan); err != nil {
		return nil, err
	}
	if p.Existing == nil {
		inv.progressf("Creating webapp '%s' ...", p.Name)
		site, err := c.createSite(ctx, plan, siteSpec{
			RG: p.Group, Name: p.Name, Runtime: p.Runtime, HTTPSOnly: true,
			AppSettings: []any{map[string]any{"name": "SCM_DO_BUILD_DURING_DEPLOYMENT", "value": "True"}},
		})
		if err != nil {
			return nil, err
		}
		inv.progressf("Configuring default logging for the app, if not already enabled")
		logs := map[string]any{"properties": map[string]any{
			"applicationLogs": map[string]any{},
			"httpLogs":        map[string]any{"fileSystem": map[string]any{"retentionInMb": 100, "retentionInDays": 3, "enabled": true}},
		}}
		if _, err := c.arm(ctx, http.MethodPut, c.sitePath(p.Group, p.Name)+"/config/logs", apiWeb, nil, logs); err != nil {
			return nil, err
		}
		return site, nil
	}
	inv.progressf("Webapp '%s' already exists. The command will deploy contents to the existing app.", p.Name)
	cfg, err := c.armMap(ctx, http.MethodGet, c.sitePath(p.Group, p.Name)+"/config/web", apiWeb, nil)
	if err != nil {
		return nil, err
	}
	if cur := str(cfg, "properties.linuxFxVersion"); !strings.EqualFold(cur, p.Runtime) {
		inv.progressf("Updating the runtime from '%s' to '%s' ...", cur, p.Runtime)
		// Slipway applies config changes before answering, so az's 30 s sleep is not needed.
		if _, err := c.arm(ctx, http.MethodPatch, c.sitePath(p.Group, p.Name)+"/config/web", apiWeb, nil,
			map[string]any{"properties": map[string]any{"linuxFxVersion": p.Runtime}}); err != nil {
			return nil, err
		}
	}
	// A deploy from `webapp up` must build (Oryx); make sure the app says so.
	settings, err := c.listDict(ctx, p.Group, p.Name, "appsettings")
	if err != nil {
		return nil, err
	}
	if v, _ := settings["SCM_DO_BUILD_DURING_DEPLOYMENT"].(string); !strings.EqualFold(v, "true") && v != "1" {
		settings["SCM_DO_BUILD_DURING_DEPLOYMENT"] = "True"
		if _, err := c.putDict(ctx, p.Group, p.Name, "appsettings", settings); err != nil {
			return nil, err
		}
	}
	return c.getSite(ctx, p.Group, p.Name)
}

// upDeploy zips the folder and deploys it with async zipdeploy, streaming
// the build log until the deployment completes.
func (inv *invocation) upDeploy(ctx context.Context, c *conn, p upPlan) error {
	inv.progressf("Creating zip with contents of dir %s ...", p.Dir)
	tmp, err := os.CreateTemp("", "slipway-up-*.zip")
	if err != nil {
		return fmt.Errorf("creating the zip file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := inv.r.zip(ctx, p.Dir, tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("zipping %s: %w", p.Dir, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the zip file: %w", err)
	}
	inv.progressf("Getting scm site credentials for zip deployment")
	k, _, err := c.kuduFor(ctx, p.Group, p.Name)
	if err != nil {
		return err
	}
	inv.progressf("Starting zip deployment. This operation can take a while to complete ...")
	resp, err := k.upload(ctx, "/api/zipdeploy?isAsync=true", tmp.Name())
	if err != nil {
		return kuduPostError(err, k, p.Group, p.Name)
	}
	inv.progressf("Deployment endpoint responded with status code %d", resp.Status)
	if resp.Status != http.StatusAccepted {
		// az requires 202 from an async zipdeploy (docs/arm.md §1.14 step 9).
		return exitErrorf("The server does not follow Kudu's async zipdeploy contract; update it.", "An error occurred during deployment. Status Code: %d", resp.Status)
	}
	_, err = inv.waitDeployment(ctx, k, p.Group, p.Name, true, resp.Header.Get("SCM-DEPLOYMENT-ID"))
	return err
}

// waitApp GETs the app's URL until it answers with a status below 500.
func (inv *invocation) waitApp(ctx context.Context, c *conn, appURL string, p upPlan) error {
	deadline := time.Now().Add(inv.r.appTimeout)
	var last string
	for {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		req, err := http.NewRequestWithContext(rctx, http.MethodGet, appURL, nil)
		if err != nil {
			cancel()
			return fmt.Errorf("building the request for %s: %w", appURL, err)
		}
		resp, err := c.client.Do(req)
		if err == nil {
			resp.Body.Close()
			cancel()
			if resp.StatusCode < 500 {
				return nil
			}
			last = resp.Status
		} else {
			cancel()
			last = rootCause(err).Error()
		}
		if time.Now().After(deadline) {
			return exitErrorf(fmt.Sprintf("The deployment succeeded; see why the app does not start with `slipway webapp log startup show -g %s -n %s` (its last start) or `slipway webapp log tail -g %s -n %s`.", p.Group, p.Name, p.Group, p.Name),
				"The app at %s did not answer within %s (last: %s).", appURL, inv.r.appTimeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(inv.r.pollInterval):
		}
	}
}
