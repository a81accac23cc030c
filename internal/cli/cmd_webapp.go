package cli

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
)

func webappCommands() []command {
	gn := []flagDef{fGroup, fApp}
	read := withUnsupported(gn, uSlot, uIDs)           // az's flags of a command that reads a site
	write := withUnsupported(gn, uSlot, uIDs, uPolicy) // ... and of one that changes it
	return []command{
		{path: "webapp create", short: "Create a web app.", run: webappCreate, flags: withUnsupported([]flagDef{
			fGroup,
			{Names: []string{"--plan", "-p"}, Required: true, Help: "Name or resource id of the App Service plan."},
			{Names: []string{"--name", "-n"}, Required: true, Help: "Name of the new web app."},
			{Names: []string{"--runtime", "-r"}, Help: "Runtime, e.g. \"PYTHON:3.12\" or \"PYTHON|3.12\". See `slipway webapp list-runtimes`."},
			{Names: []string{"--startup-file"}, Help: "Startup command or file, e.g. \"gunicorn app:app\"."},
		}, uContainers,
			unsupported("custom containers are out of scope",
				"--deployment-container-image-name -i", "--container-image-name -c", "--container-registry-url",
				"--container-registry-user --docker-registry-server-user -s",
				"--container-registry-password --docker-registry-server-password -w",
				"--multicontainer-config-type", "--multicontainer-config-file", "--sitecontainers-app"),
			unsupported("Git deployment is not supported yet; use `webapp deploy` or `webapp up`",
				"--deployment-source-url -u", "--deployment-source-branch -b", "--deployment-local-git -l"),
			uTags,
			unsupported("managed identities are not supported yet", "--assign-identity", "--role", "--scope"),
			uVNet, unsupported("network access restrictions are out of scope", "--public-network-access"),
			uTLS, unsupported("end-to-end encryption and site-scoped certificates are not supported yet",
				"--end-to-end-encryption-enabled -e", "--site-scoped-certs"),
			uBasicAuth, uDomainNameScope, uEnrichedErrors, uPolicy)},
		{path: "webapp list", short: "List web apps.", run: webappList, flags: withUnsupported([]flagDef{fGroupOpt},
			unsupported("listing site configurations is not supported yet; use `webapp config show`", "--show-details"))},
		{path: "webapp show", short: "Get the details of a web app.", run: webappShow, flags: read},
		{path: "webapp delete", short: "Delete a web app.", run: webappDelete, flags: withUnsupported([]flagDef{fGroup, fApp,
			{Names: []string{"--keep-empty-plan"}, Kind: kindBool, Help: "Keep the App Service plan even when this was its last app."},
		}, unsupported("the app's metrics go with it", "--keep-metrics"),
			unsupported("Slipway registers no DNS names", "--keep-dns-registration"),
			uSlot, uIDs, uPolicy)},
		{path: "webapp update", short: "Update a web app: --https-only true answers plain HTTP with a 301 to HTTPS.", run: webappUpdate, flags: withUnsupported([]flagDef{fGroup, fApp,
			{Names: []string{"--https-only"}, Kind: kindBool, Help: "Redirect HTTP to HTTPS: true or false."},
			{Names: []string{"--client-affinity-enabled"}, Kind: kindBool, Help: "Pin each client to one instance with ARRAffinity cookies: true or false."},
		},
			unsupported("generic --set/--add/--remove updates are not supported yet; use the named flags", "--set", "--add", "--remove", "--force-string"),
			unsupported("elastic scale and prewarmed instances are not supported yet", "--minimum-elastic-instance-count -i", "--prewarmed-instance-count -w"),
			unsupported("Slipway registers no DNS names", "--force-dns-registration", "--skip-dns-registration", "--skip-custom-domain-verification", "--ttl-in-seconds"),
			unsupported("the front door talks plain HTTP to instances on the host", "--end-to-end-encryption-enabled -e"),
			unsupported("platform release channels are Azure's", "--platform-release-channel"),
			unsupported("site-scoped certificates are not supported yet", "--site-scoped-certs"),
			uBasicAuth, uSlot, uIDs, uPolicy)},
		{path: "webapp restart", short: "Restart a web app.", run: siteAction(http.MethodPost, "/restart"), flags: write},
		{path: "webapp stop", short: "Stop a web app.", run: siteAction(http.MethodPost, "/stop"), flags: write},
		{path: "webapp start", short: "Start a web app.", run: siteAction(http.MethodPost, "/start"), flags: write},
		{path: "webapp browse", short: "Print the URL of a web app (there is no browser to open here).", run: webappBrowse, flags: withUnsupported(write,
			unsupported("streaming the log from browse is not supported yet; run `webapp log tail`", "--logs -l"))},
		{path: "webapp list-runtimes", short: "List the available runtime stacks.", run: webappListRuntimes, flags: withUnsupported([]flagDef{
			{Names: []string{"--os-type", "--os"}, Help: "linux or windows. Default: both."},
		}, unsupported("filtering by runtime or support status is not supported yet", "--runtime", "--support"), uPolicy)},
	}
}

// str reads a string field from a JSON object ("" when absent).
func str(m map[string]any, key string) string {
	s, _ := lookup(m, key).(string)
	return s
}

// getSite GETs a site (docs/arm.md §1.15).
func (c *conn) getSite(ctx context.Context, rg, app string) (map[string]any, error) {
	return c.armMap(ctx, http.MethodGet, c.sitePath(rg, app), apiWeb, nil)
}

// scmHost returns the site's SCM host name: hostNameSslStates[hostType == "Repository"].name.
func scmHost(site map[string]any) (string, error) {
	states, _ := lookup(site, "properties.hostNameSslStates").([]any)
	for _, s := range states {
		if m, ok := s.(map[string]any); ok && strings.EqualFold(str(m, "hostType"), "Repository") && str(m, "name") != "" {
			return str(m, "name"), nil
		}
	}
	return "", exitErrorf("The server's site resource has no hostNameSslStates entry with hostType \"Repository\"; update the server.", "Failed to retrieve Scm Uri of app %q.", str(site, "name"))
}

// appHost returns the site's app host name: enabledHostNames[0] (as az
// does), else defaultHostName.
func appHost(site map[string]any) string {
	if names, ok := lookup(site, "properties.enabledHostNames").([]any); ok && len(names) > 0 {
		if s, ok := names[0].(string); ok && s != "" {
			return s
		}
	}
	return str(site, "properties.defaultHostName")
}

// appKudu connects and returns a client for the Kudu of the app the
// command's --resource-group and --name name.
func (inv *invocation) appKudu(ctx context.Context) (*kudu, error) {
	c, err := inv.connect(ctx)
	if err != nil {
		return nil, err
	}
	k, _, err := c.kuduFor(ctx, inv.flags.str("resource-group"), inv.flags.str("name"))
	return k, err
}

// kuduFor returns a Kudu client for an app: its SCM host from the site and
// Basic credentials from publishingcredentials/list (docs/arm.md §1.10).
func (c *conn) kuduFor(ctx context.Context, rg, app string) (*kudu, map[string]any, error) {
	site, err := c.getSite(ctx, rg, app)
	if err != nil {
		return nil, nil, err
	}
	host, err := scmHost(site)
	if err != nil {
		return nil, nil, err
	}
	creds, err := c.publishingCreds(ctx, rg, app)
	if err != nil {
		return nil, nil, err
	}
	return &kudu{c: c, base: c.hostURL(host), creds: creds}, site, nil
}

// publishingCreds POSTs config/publishingcredentials/list.
func (c *conn) publishingCreds(ctx context.Context, rg, app string) (kuduCreds, error) {
	u, err := c.armMap(ctx, http.MethodPost, c.sitePath(rg, app)+"/config/publishingcredentials/list", apiWeb, nil)
	if err != nil {
		return kuduCreds{}, fmt.Errorf("getting publishing credentials: %w", err)
	}
	return kuduCreds{User: str(u, "properties.publishingUserName"), Password: str(u, "properties.publishingPassword")}, nil
}

// normalizeRuntime turns "PYTHON:3.12" / "python|3.12" into "PYTHON|3.12".
func normalizeRuntime(r string) string {
	stack, ver, ok := strings.Cut(r, ":")
	if !ok {
		stack, ver, _ = strings.Cut(r, "|")
	}
	return strings.ToUpper(stack) + "|" + ver
}

// stackRuntime is one runtime version from webAppStacks.
type stackRuntime struct {
	OS      string // "linux" or "windows"
	Version string // e.g. "PYTHON|3.12"
}

// listRuntimes GETs webAppStacks (provider scope, no subscription) and
// returns the usable versions: not hidden, not deprecated, not past end of
// life (docs/arm.md §1.15).
func (c *conn) listRuntimes(ctx context.Context) ([]stackRuntime, error) {
	list, err := c.armList(ctx, "/providers/Microsoft.Web/webAppStacks", apiWeb)
	if err != nil {
		return nil, fmt.Errorf("listing runtime stacks: %w", err)
	}
	var out []stackRuntime
	for _, st := range list {
		stack, _ := st.(map[string]any)
		majors, _ := lookup(stack, "properties.majorVersions").([]any)
		for _, mj := range majors {
			minors, _ := lookup(asMap(mj), "minorVersions").([]any)
			for _, mn := range minors {
				for _, os := range []string{"linux", "windows"} {
					s := asMap(lookup(asMap(mn), "stackSettings."+os+"RuntimeSettings"))
					if s == nil || s["isHidden"] == true || s["isDeprecated"] == true {
						continue
					}
					if eol := str(s, "endOfLifeDate"); eol != "" {
						if t, err := time.Parse(time.RFC3339, eol); err == nil && t.Before(time.Now()) {
							continue
						}
					}
					if v := str(s, "runtimeVersion"); v != "" {
						out = append(out, stackRuntime{OS: os, Version: v})
					}
				}
			}
		}
	}
	return out, nil
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// checkRuntime returns the stack's spelling of runtime, or az's error.
func (c *conn) checkRuntime(ctx context.Context, runtime string) (string, error) {
	want := normalizeRuntime(runtime)
	rts, err := c.listRuntimes(ctx)
	if err != nil {
		return "", err
	}
	for _, r := range rts {
		if r.OS == "linux" && strings.EqualFold(r.Version, want) {
			return r.Version, nil
		}
	}
	return "", exitErrorf("Run `slipway webapp list-runtimes --os-type linux` to see the supported runtimes.",
		"Linux Runtime '%s' is not supported.", strings.ToLower(want))
}

// publishXML POSTs publishxml and returns the raw XML.
func (c *conn) publishXML(ctx context.Context, rg, app string) ([]byte, error) {
	resp, err := c.arm(ctx, http.MethodPost, c.sitePath(rg, app)+"/publishxml", apiWeb, nil, map[string]any{"format": "WebDeploy"})
	if err != nil {
		return nil, fmt.Errorf("getting the publish profile: %w", err)
	}
	return resp.Body, nil
}

// parseProfiles turns publishData XML into the list of attribute dicts az
// prints: one per <publishProfile>, attributes by name, child elements as
// null (xmltodict renders the empty <databases/> as None).
func parseProfiles(data []byte) ([]any, error) {
	var doc struct {
		Profiles []struct {
			Attrs    []xml.Attr `xml:",any,attr"`
			Children []struct {
				XMLName xml.Name
			} `xml:",any"`
		} `xml:"publishProfile"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parsing the publish profile XML: %w", err)
	}
	out := []any{}
	for _, p := range doc.Profiles {
		m := map[string]any{}
		for _, a := range p.Attrs {
			m[a.Name.Local] = a.Value
		}
		for _, ch := range p.Children {
			m[ch.XMLName.Local] = nil
		}
		out = append(out, m)
	}
	return out, nil
}

// ftpURL finds the FTP profile's publishUrl (az's ftpPublishingUrl).
func ftpURL(profiles []any) any {
	for _, p := range profiles {
		if m := asMap(p); m != nil && m["publishMethod"] == "FTP" {
			return m["publishUrl"]
		}
	}
	return nil
}

// findPlan GETs a plan; on 404 it lists the subscription's plans and
// matches the name case-insensitively, as az webapp create does (docs/arm.md §1.5).
func (c *conn) findPlan(ctx context.Context, rg, plan string) (map[string]any, error) {
	if strings.HasPrefix(strings.ToLower(plan), "/subscriptions/") {
		parts := strings.Split(strings.Trim(plan, "/"), "/")
		if len(parts) == 8 {
			rg, plan = parts[3], parts[7]
		}
	}
	p, err := c.armMap(ctx, http.MethodGet, c.planPath(rg, plan), apiWeb, nil)
	if err == nil || !isStatus(err, http.StatusNotFound) {
		return p, err
	}
	list, err := c.armList(ctx, c.subPath()+"/providers/Microsoft.Web/serverfarms?detailed=true", apiWeb)
	if err != nil {
		return nil, err
	}
	var found []map[string]any
	for _, it := range list {
		if m := asMap(it); m != nil && strings.EqualFold(str(m, "name"), plan) {
			found = append(found, m)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, &ExitError{Code: ExitNotFound, Message: fmt.Sprintf("The plan '%s' doesn't exist.", plan),
			Hint: fmt.Sprintf("Create it with `slipway appservice plan create -g %s -n %s --is-linux --sku B1`.", rg, plan)}
	default:
		return nil, exitErrorf("Pass the plan's resource id with --plan.", "There are multiple App Service plans named '%s'.", plan)
	}
}

// alwaysOnOff are the SKUs for which az does not turn Always On on.
var alwaysOnOff = map[string]bool{"F1": true, "FREE": true, "SHARED": true, "D1": true, "B1": true, "B2": true, "B3": true, "BASIC": true}

// siteSpec is what createSite sends.
type siteSpec struct {
	RG, Name, Runtime, Startup string
	HTTPSOnly                  bool
	AppSettings                []any // [{"name","value"}]
}

// createSite PUTs a site on plan as az webapp create does (docs/arm.md §1.5 step 4).
func (c *conn) createSite(ctx context.Context, plan map[string]any, s siteSpec) (map[string]any, error) {
	if s.AppSettings == nil {
		s.AppSettings = []any{}
	}
	siteConfig := map[string]any{"appSettings": s.AppSettings}
	if s.Runtime != "" {
		siteConfig["linuxFxVersion"] = s.Runtime
	}
	if s.Startup != "" {
		siteConfig["appCommandLine"] = s.Startup
	}
	if !alwaysOnOff[strings.ToUpper(str(plan, "sku.name"))] {
		siteConfig["alwaysOn"] = true
	}
	body := map[string]any{
		"location": str(plan, "location"),
		"properties": map[string]any{
			"serverFarmId": str(plan, "id"),
			"siteConfig":   siteConfig,
			"httpsOnly":    s.HTTPSOnly,
		},
	}
	resp, err := c.arm(ctx, http.MethodPut, c.sitePath(s.RG, s.Name), apiWeb, nil, body)
	if err != nil {
		return nil, err
	}
	if resp.Status == http.StatusAccepted || len(resp.Body) == 0 {
		return c.getSite(ctx, s.RG, s.Name)
	}
	site := map[string]any{}
	return site, decodeBody(resp, &site)
}

// checkName POSTs checknameavailability and returns (available, reason, message).
func (c *conn) checkName(ctx context.Context, name string) (bool, string, string, error) {
	var res struct {
		NameAvailable bool   `json:"nameAvailable"`
		Reason        string `json:"reason"`
		Message       string `json:"message"`
	}
	err := c.armJSON(ctx, http.MethodPost, c.subPath()+"/providers/Microsoft.Web/checknameavailability", apiWeb,
		map[string]any{"name": name, "type": "Site"}, &res)
	return res.NameAvailable, res.Reason, res.Message, err
}

// findSite looks an app up among all the subscription's sites; nil if absent.
func (c *conn) findSite(ctx context.Context, name string) (map[string]any, error) {
	list, err := c.armList(ctx, c.subPath()+"/providers/Microsoft.Web/sites", apiWeb)
	if err != nil {
		return nil, err
	}
	for _, it := range list {
		if m := asMap(it); m != nil && strings.EqualFold(str(m, "name"), name) {
			return m, nil
		}
	}
	return nil, nil
}

// siteGroup returns the resource group of a site resource.
func siteGroup(site map[string]any) string {
	if rg := str(site, "properties.resourceGroup"); rg != "" {
		return rg
	}
	parts := strings.Split(str(site, "id"), "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], "resourceGroups") {
			return parts[i+1]
		}
	}
	return ""
}

func webappCreate(ctx context.Context, inv *invocation) error {
	rg, name := inv.flags.str("resource-group"), inv.flags.str("name")
	if strings.Contains(name, ".") {
		return exitErrorf("Use letters, digits and hyphens.", "Site name '%s' is invalid: it cannot contain '.'.", name)
	}
	if err := slipway.ValidateSiteName(name); err != nil {
		return exitErrorf("", "%s", slipway.ErrorMessage(err))
	}
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	plan, err := c.findPlan(ctx, rg, inv.flags.str("plan"))
	if err != nil {
		return err
	}
	var keep []any
	ok, reason, msg, err := c.checkName(ctx, name)
	if err != nil {
		return err
	}
	if !ok {
		if reason == "Invalid" {
			return exitErrorf("", "%s", msg)
		}
		existing, err := c.findSite(ctx, name)
		if err != nil {
			return err
		}
		if existing == nil {
			return exitErrorf("Choose another name.", "%s", msg)
		}
		if erg := siteGroup(existing); !strings.EqualFold(erg, rg) {
			return exitErrorf("Re-run the command with the correct parameters.", "Webapp '%s' exists in resource group '%s' and does not match the value entered '%s'.", name, erg, rg)
		}
		// Updating an existing app keeps its settings, as az does.
		settings, err := c.armMap(ctx, http.MethodPost, c.sitePath(rg, name)+"/config/appsettings/list", apiWeb, nil)
		if err != nil {
			return err
		}
		for _, k := range sortedKeys(asMap(settings["properties"])) {
			keep = append(keep, map[string]any{"name": k, "value": asMap(settings["properties"])[k]})
		}
	}
	runtime := ""
	if r := inv.flags.str("runtime"); r != "" {
		if runtime, err = c.checkRuntime(ctx, r); err != nil {
			return err
		}
	}
	site, err := c.createSite(ctx, plan, siteSpec{RG: rg, Name: name, Runtime: runtime, Startup: inv.flags.str("startup-file"), AppSettings: keep})
	if err != nil {
		return err
	}
	xmlBody, err := c.publishXML(ctx, rg, name)
	if err != nil {
		return err
	}
	profiles, err := parseProfiles(xmlBody)
	if err != nil {
		return err
	}
	out := flatten(site)
	out["ftpPublishingUrl"] = ftpURL(profiles)
	return inv.printResult(out, webappColumns)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// webappColumns are az's table columns for web apps (transform_web_output).
var webappColumns = []column{{"Name", "name"}, {"Location", "location"}, {"State", "state"}, {"ResourceGroup", "resourceGroup"}, {"DefaultHostName", "defaultHostName"}, {"AppServicePlan", "appServicePlan"}}

// siteOutput is a site as az webapp list/show print it: flattened, with
// serverFarmId renamed appServicePlanId.
func siteOutput(site map[string]any) map[string]any {
	out := flatten(site)
	out["appServicePlanId"] = out["serverFarmId"]
	delete(out, "serverFarmId")
	return out
}

// withPlanName adds the plan's name for table output only.
func withPlanName(m map[string]any) map[string]any {
	if inv, ok := m["appServicePlanId"].(string); ok {
		m2 := map[string]any{}
		for k, v := range m {
			m2[k] = v
		}
		m2["appServicePlan"] = path.Base(inv)
		return m2
	}
	return m
}

func webappList(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	p := c.subPath() + "/providers/Microsoft.Web/sites"
	if rg := inv.flags.str("resource-group"); rg != "" {
		p = c.webPath(rg) + "/sites"
	}
	list, err := c.armList(ctx, p, apiWeb)
	if err != nil {
		return err
	}
	out := []any{}
	for _, it := range list {
		m := asMap(it)
		kind := str(m, "kind")
		// az drops entries without a kind and function apps (docs/arm.md §1.6).
		if m == nil || kind == "" || strings.Contains(strings.ToLower(kind), "function") {
			continue
		}
		o := siteOutput(m)
		if inv.flags.str("output") == "table" || inv.flags.str("output") == "tsv" {
			o = withPlanName(o)
		}
		out = append(out, o)
	}
	return inv.printResult(out, webappColumns)
}

func webappShow(ctx context.Context, inv *invocation) error {
	rg, name := inv.flags.str("resource-group"), inv.flags.str("name")
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	site, err := c.getSite(ctx, rg, name)
	if err != nil {
		return err
	}
	cfg, err := c.armMap(ctx, http.MethodGet, c.sitePath(rg, name)+"/config/web", apiWeb, nil)
	if err != nil {
		return err
	}
	xmlBody, err := c.publishXML(ctx, rg, name)
	if err != nil {
		return err
	}
	profiles, err := parseProfiles(xmlBody)
	if err != nil {
		return err
	}
	out := siteOutput(site)
	out["siteConfig"] = flatten(cfg)
	out["ftpPublishingUrl"] = ftpURL(profiles)
	if inv.flags.str("output") == "table" || inv.flags.str("output") == "tsv" {
		out = withPlanName(out)
	}
	return inv.printResult(out, webappColumns)
}

// webappUpdate patches the site's properties, as az webapp update does.
func webappUpdate(ctx context.Context, inv *invocation) error {
	rg, name := inv.flags.str("resource-group"), inv.flags.str("name")
	props := map[string]any{}
	if inv.flags.has("https-only") {
		props["httpsOnly"] = inv.flags.boolean("https-only")
	}
	if inv.flags.has("client-affinity-enabled") {
		props["clientAffinityEnabled"] = inv.flags.boolean("client-affinity-enabled")
	}
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	site, err := c.armMap(ctx, http.MethodPatch, c.sitePath(rg, name), apiWeb, map[string]any{"properties": props})
	if err != nil {
		return err
	}
	return inv.printResult(siteOutput(site), webappColumns)
}

// siteAction returns a command that sends one bodiless request to the site
// (or a child action of it) and prints nothing (docs/arm.md §1.6).
func siteAction(method, suffix string) func(context.Context, *invocation) error {
	return func(ctx context.Context, inv *invocation) error {
		c, err := inv.connect(ctx)
		if err != nil {
			return err
		}
		_, err = c.arm(ctx, method, c.sitePath(inv.flags.str("resource-group"), inv.flags.str("name"))+suffix, apiWeb, nil, nil)
		return err
	}
}

// webappDelete deletes a site. As on Azure, its plan goes too when the
// app was the plan's last, unless --keep-empty-plan.
func webappDelete(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	var q url.Values
	if inv.flags.boolean("keep-empty-plan") {
		q = url.Values{"deleteEmptyServerFarm": {"false"}}
	}
	_, err = c.arm(ctx, http.MethodDelete, c.sitePath(inv.flags.str("resource-group"), inv.flags.str("name")), apiWeb, q, nil)
	return err
}

func webappBrowse(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	site, err := c.getSite(ctx, inv.flags.str("resource-group"), inv.flags.str("name"))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(inv.stdout, c.hostURL(appHost(site)))
	return err
}

func webappListRuntimes(ctx context.Context, inv *invocation) error {
	osType := strings.ToLower(inv.flags.str("os-type"))
	if osType != "" && osType != "linux" && osType != "windows" {
		return usageErrorf(inv.cmd.path, "argument --os-type: invalid choice: '%s' (choose from 'linux', 'windows')", osType)
	}
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	rts, err := c.listRuntimes(ctx)
	if err != nil {
		return err
	}
	byOS := map[string][]any{"linux": {}, "windows": {}}
	for _, r := range rts {
		// az lists versions as STACK:VERSION.
		byOS[r.OS] = append(byOS[r.OS], strings.Replace(r.Version, "|", ":", 1))
	}
	if osType != "" {
		return inv.printResult(byOS[osType], nil)
	}
	return inv.printResult(map[string]any{"linux": byOS["linux"], "windows": byOS["windows"]}, nil)
}
