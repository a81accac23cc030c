package arm

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/rbac"
	"github.com/slipway-dev/slipway/internal/store"
)

func siteID(sub, rg, name string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Web/sites/" + name
}

// appHost and scmHost are the site's host names as clients must use them,
// port included when the front door is not on 80/443 (docs/arm.md §4 "Blockers").
func (h *Handler) appHost(site string) string {
	return strings.ToLower(site) + "." + h.cfg.Domain + h.cfg.HostSuffix
}

func (h *Handler) scmHost(site string) string {
	return strings.ToLower(site) + ".scm." + h.cfg.Domain + h.cfg.HostSuffix
}

// siteConfigJSON is a SiteConfig's properties (docs/arm.md §1.15 "SiteConfig"):
// Slipway's fields, and Azure's defaults for the rest so clients that read
// them find what they expect. appSettings/connectionStrings are null here.
func siteConfigJSON(s slipway.Site) map[string]any {
	c := s.Config
	return map[string]any{
		"numberOfWorkers":                        c.NumberOfWorkers,
		"linuxFxVersion":                         c.LinuxFxVersion,
		"windowsFxVersion":                       nil,
		"appCommandLine":                         c.AppCommandLine,
		"alwaysOn":                               c.AlwaysOn,
		"healthCheckPath":                        nullIfEmpty(c.HealthCheckPath),
		"http20Enabled":                          !c.HTTP20Off,
		"minTlsVersion":                          orDefaultTLS(c.MinTLSVersion),
		"scmMinTlsVersion":                       orDefaultTLS(c.SCMMinTLSVersion),
		"ftpsState":                              ftpsState(c.FTPSState),
		"webSocketsEnabled":                      !c.WebSocketsOff,
		"use32BitWorkerProcess":                  false,
		"remoteDebuggingEnabled":                 false,
		"httpLoggingEnabled":                     false,
		"logsDirectorySizeLimit":                 35,
		"detailedErrorLoggingEnabled":            false,
		"requestTracingEnabled":                  false,
		"scmType":                                scmTypeJSON(c.SCMType),
		"managedPipelineMode":                    "Integrated",
		"loadBalancing":                          "LeastRequests",
		"autoHealEnabled":                        c.AutoHealEnabled,
		"minTlsCipherSuite":                      nullIfEmpty(c.MinTLSCipherSuite),
		"vnetRouteAllEnabled":                    false,
		"ipSecurityRestrictions":                 ipRestrictionsJSON(s.Access.Main, s.Access.MainDefault),
		"scmIpSecurityRestrictions":              ipRestrictionsJSON(s.Access.SCM, s.Access.SCMDefault),
		"scmIpSecurityRestrictionsUseMain":       s.Access.SCMUseMain,
		"ipSecurityRestrictionsDefaultAction":    nullIfEmpty(s.Access.MainDefault),
		"scmIpSecurityRestrictionsDefaultAction": nullIfEmpty(s.Access.SCMDefault),
		"cors":                                   corsJSON(s.CORS),
		"experiments":                            map[string]any{"rampUpRules": []any{}},
		"autoSwapSlotName":                       nil,
		"acrUseManagedIdentityCreds":             false,
		"defaultDocuments":                       []string{"Default.htm", "Default.html", "index.html", "hostingstart.html"},
		"virtualApplications":                    []any{map[string]any{"virtualPath": "/", "physicalPath": "site\\wwwroot", "preloadEnabled": c.AlwaysOn}},
		"pythonVersion":                          "",
		"phpVersion":                             "",
		"netFrameworkVersion":                    "v4.0",
		"nodeVersion":                            "",
		"preWarmedInstanceCount":                 0,
		"functionAppScaleLimit":                  0,
		"minimumElasticInstanceCount":            0,
		"azureStorageAccounts":                   map[string]any{},
		"appSettings":                            nil,
		"connectionStrings":                      nil,
	}
}

// unmatchedPriority is the priority of the unmatched rule that Azure shows
// last in every rule list ("Allow all" or "Deny all", ipAddress "Any").
const unmatchedPriority = 2147483647

// ipRestrictionsJSON is a rule list as Azure shows it: the stored rules,
// then the unmatched rule with the action that applies when none matches
// (docs/arm.md §1.9) — Deny when the default is unset and there are rules.
func ipRestrictionsJSON(rules []slipway.IPRestriction, def string) []any {
	out := make([]any, 0, len(rules)+1)
	for _, r := range rules {
		m := map[string]any{"ipAddress": r.IPAddress, "action": r.Action, "tag": "Default", "priority": r.Priority}
		if r.Name != "" {
			m["name"] = r.Name
		}
		if r.Description != "" {
			m["description"] = r.Description
		}
		out = append(out, m)
	}
	action := def
	if action == "" {
		action = slipway.AccessAllow
		if len(rules) > 0 {
			action = slipway.AccessDeny
		}
	}
	return append(out, map[string]any{"ipAddress": "Any", "action": action, "priority": unmatchedPriority,
		"name": action + " all", "description": action + " all access"})
}

// corsJSON is siteConfig.cors: null while the site has none, as on a new
// App Service app (az webapp cors show then prints nothing).
func corsJSON(c slipway.CORS) any {
	if c.AllowedOrigins == nil && !c.SupportCredentials {
		return nil // never set
	}
	origins := c.AllowedOrigins
	if origins == nil {
		origins = []string{}
	}
	return map[string]any{"allowedOrigins": origins, "supportCredentials": c.SupportCredentials}
}

// scmTypeJSON is siteConfig.scmType: "None" when unset.
func scmTypeJSON(v string) string {
	if v == "" {
		return slipway.SCMNone
	}
	return v
}

// orDefaultTLS is a minimum TLS version as ARM shows it: "1.2" when unset.
func orDefaultTLS(v string) string {
	if v == "" {
		return slipway.DefaultMinTLSVersion
	}
	return v
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// siteJSON is the Site resource with every field the CLI reads (docs/arm.md
// §1.15 ★ fields): kind, host names with the Repository entry, serverFarmId,
// sku, resourceGroup, possibleOutboundIpAddresses.
func (h *Handler) siteJSON(sub string, s slipway.Site, plan slipway.Plan, hn siteHostNames) map[string]any {
	kind := "app"
	if plan.Linux {
		kind = "app,linux"
	}
	state := "Running"
	if !s.Enabled {
		state = "Stopped"
	}
	tags := s.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	app := h.appHost(s.Name)
	res := map[string]any{
		"id":       siteID(sub, s.ResourceGroup, s.Name),
		"name":     s.Name,
		"type":     "Microsoft.Web/sites",
		"kind":     kind,
		"location": displayLocation(s.Location),
		"tags":     tags,
		"properties": map[string]any{
			"name":                        s.Name,
			"state":                       state,
			"enabled":                     s.Enabled,
			"usageState":                  "Normal",
			"availabilityState":           "Normal",
			"defaultHostName":             app,
			"repositorySiteName":          s.Name,
			"serverFarmId":                planID(sub, plan.ResourceGroup, plan.Name),
			"sku":                         tierJSON(plan),
			"reserved":                    plan.Linux,
			"isXenon":                     false,
			"hyperV":                      false,
			"resourceGroup":               s.ResourceGroup,
			"siteConfig":                  siteConfigJSON(s),
			"httpsOnly":                   s.HTTPSOnly,
			"clientAffinityEnabled":       s.Config.ClientAffinity,
			"endToEndEncryptionEnabled":   s.EndToEndEncryption,
			"clientCertEnabled":           false,
			"clientCertMode":              "Required",
			"outboundIpAddresses":         "127.0.0.1",
			"possibleOutboundIpAddresses": "127.0.0.1",
			"containerSize":               0,
			"dailyMemoryTimeQuota":        0,
			"scmSiteAlsoStopped":          false,
			"hostNamesDisabled":           false,
			"redundancyMode":              "None",
			"publicNetworkAccess":         "Enabled",
			"keyVaultReferenceIdentity":   keyVaultReferenceIdentityJSON(s),
			"lastModifiedTimeUtc":         s.Modified.UTC().Format("2006-01-02T15:04:05.000Z"),
		},
	}
	h.hostNameProps(res["properties"].(map[string]any), s, hn)
	slotIdentity(res, sub, s) // slots.go
	return res
}

// writeSite renders the site with its plan.
func (h *Handler) writeSite(w http.ResponseWriter, r *http.Request, sub string, s slipway.Site) error {
	plan, err := h.cfg.Store.Plan(r.Context(), s.PlanResourceGroup(), s.Plan)
	if err != nil {
		return fmt.Errorf("reading plan of site %s: %w", s.Name, err)
	}
	hn, err := h.siteHostNames(r.Context(), s)
	if err != nil {
		return err
	}
	res := h.siteJSON(sub, s, plan, hn)
	if err := h.addSiteIdentity(r.Context(), res, sub, s); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// nameValue is an app setting in a site's siteConfig.appSettings; its
// value may be any JSON scalar (scalarText).
type nameValue struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
}

// connStringInfo is a connection string in siteConfig.connectionStrings;
// its value may be any JSON scalar (scalarText).
type connStringInfo struct {
	Name             string          `json:"name"`
	ConnectionString json.RawMessage `json:"connectionString"`
	Type             string          `json:"type"`
}

// siteConfigBody is the writable part of a SiteConfig. Pointers tell absent
// from zero; read-only and unsupported fields are ignored (docs/arm.md §1.9).
type siteConfigBody struct {
	LinuxFxVersion    *string           `json:"linuxFxVersion"`
	AppCommandLine    *string           `json:"appCommandLine"`
	HealthCheckPath   *string           `json:"healthCheckPath"`
	AlwaysOn          *bool             `json:"alwaysOn"`
	NumberOfWorkers   *int              `json:"numberOfWorkers"`
	MinTLSVersion     *string           `json:"minTlsVersion"`
	SCMMinTLSVersion  *string           `json:"scmMinTlsVersion"`
	SCMType           *string           `json:"scmType"` // None or LocalGit (az webapp deployment source config-local-git)
	AppSettings       *[]nameValue      `json:"appSettings"`
	ConnectionStrings *[]connStringInfo `json:"connectionStrings"`

	// The front door's protocol switches (http20Enabled: ALPN offers h2;
	// webSocketsEnabled: upgrades pass to the app).
	HTTP20Enabled     *bool `json:"http20Enabled"`
	WebSocketsEnabled *bool `json:"webSocketsEnabled"`

	// The front door's minimum cipher suite for the app's names
	// (slipway.TLSCipherSuites), and the auto-heal switch, kept and shown
	// (its rules, what App Service acts on, are refused).
	MinTLSCipherSuite *string         `json:"minTlsCipherSuite"`
	AutoHealEnabled   *bool           `json:"autoHealEnabled"`
	AutoHealRules     json.RawMessage `json:"autoHealRules"`

	// config/logs seen from here (logsconfig.go, logSwitches).
	HTTPLoggingEnabled          *bool `json:"httpLoggingEnabled"`
	DetailedErrorLoggingEnabled *bool `json:"detailedErrorLoggingEnabled"`
	RequestTracingEnabled       *bool `json:"requestTracingEnabled"`

	// A field Slipway cannot honour but az sends back on every config
	// write (it reads the whole SiteConfig and puts it back): accepted
	// while it says what Slipway does, refused with a reason otherwise,
	// so that a command never exits 0 for a setting that does nothing.
	FTPSState *string `json:"ftpsState"`

	// Platform CORS (cors.go in the domain; the front door answers it).
	CORS *corsSettings `json:"cors"`

	// Access restrictions (access.go in the domain; the front door
	// enforces them): IP rules only.
	IPSecurityRestrictions                 *[]ipRestriction `json:"ipSecurityRestrictions"`
	SCMIPSecurityRestrictions              *[]ipRestriction `json:"scmIpSecurityRestrictions"`
	SCMIPSecurityRestrictionsUseMain       *bool            `json:"scmIpSecurityRestrictionsUseMain"`
	IPSecurityRestrictionsDefaultAction    *string          `json:"ipSecurityRestrictionsDefaultAction"`
	SCMIPSecurityRestrictionsDefaultAction *string          `json:"scmIpSecurityRestrictionsDefaultAction"`
}

// ipRestriction is one entry of ipSecurityRestrictions (Azure's
// IpSecurityRestriction). Subnets, service tags and header filters are
// read only to be refused.
type ipRestriction struct {
	IPAddress   string              `json:"ipAddress"`
	SubnetMask  string              `json:"subnetMask"`
	Action      string              `json:"action"`
	Tag         string              `json:"tag"`
	Priority    json.RawMessage     `json:"priority"` // a number, or (from az) a string of one
	Name        string              `json:"name"`
	Description string              `json:"description"`
	VNet        string              `json:"vnetSubnetResourceId"`
	Headers     map[string][]string `json:"headers"`
}

// accessRules turns a rule list from a request into the domain's, without
// the unmatched rule Azure shows last (a client writes back what GET
// showed), refusing what the front door cannot enforce.
func accessRules(field string, in []ipRestriction) ([]slipway.IPRestriction, error) {
	refuse := func(format string, args ...any) error {
		return slipway.Errorf(slipway.EINVALID, "%s: "+format+" (Slipway: see README, Differences from App Service).", append([]any{field}, args...)...)
	}
	out := make([]slipway.IPRestriction, 0, len(in))
	for _, r := range in {
		text, err := scalarText("the access restriction priority for", r.IPAddress, r.Priority)
		if err != nil {
			return nil, err
		}
		prio, err := strconv.ParseInt(cmp.Or(text, "0"), 10, 64)
		if err != nil {
			return nil, slipway.Errorf(slipway.EINVALID, "%s: the priority '%s' of the rule for '%s' is not an integer.", field, text, r.IPAddress)
		}
		if strings.EqualFold(r.IPAddress, "Any") && prio == unmatchedPriority {
			continue // the unmatched rule: it is the default action, shown
		}
		switch {
		case r.VNet != "":
			return nil, refuse("the rule for subnet '%s' cannot be enforced: Slipway has no virtual networks, so only IP address rules are available", r.VNet)
		case strings.EqualFold(r.Tag, "ServiceTag"):
			return nil, refuse("the rule for service tag '%s' cannot be enforced: Slipway has no Azure service tags, so only IP address rules are available", r.IPAddress)
		case strings.EqualFold(r.Tag, "XffProxy"):
			return nil, refuse("the rule for '%s' with tag XffProxy cannot be enforced: Slipway matches the address of the connection, never X-Forwarded-For", r.IPAddress)
		case r.Tag != "" && !strings.EqualFold(r.Tag, "Default"):
			return nil, refuse("the tag '%s' of the rule for '%s' is not available: only Default (IP address rules)", r.Tag, r.IPAddress)
		case len(r.Headers) > 0:
			return nil, refuse("the rule for '%s' has HTTP header filters, which Slipway does not apply; remove them or restrict by address only", r.IPAddress)
		case r.SubnetMask != "":
			return nil, refuse("the rule for '%s' gives a subnetMask; give the range in CIDR notation instead (e.g. 203.0.113.0/24)", r.IPAddress)
		case strings.EqualFold(r.IPAddress, "Any") || strings.EqualFold(r.IPAddress, "AnyVnets"):
			return nil, refuse("'%s' is only the unmatched rule (priority 2147483647); for every address use 0.0.0.0/0 and ::/0, or set the default action", r.IPAddress)
		}
		ip, err := slipway.CanonicalIPRanges(r.IPAddress)
		if err != nil {
			return nil, err
		}
		action, err := slipway.CanonicalAccessAction(r.Action)
		if err != nil {
			return nil, err
		}
		if prio < 0 || prio >= unmatchedPriority {
			return nil, slipway.Errorf(slipway.EINVALID, "%s: the priority %d of the rule for '%s' is out of range: use 0 to 2147483646 (lower is evaluated first).", field, prio, r.IPAddress)
		}
		out = append(out, slipway.IPRestriction{IPAddress: ip, Action: action, Priority: int(prio), Name: r.Name, Description: r.Description})
	}
	if len(out) > slipway.MaxAccessRules {
		return nil, slipway.Errorf(slipway.EINVALID, "%s has %d rules; App Service allows at most %d.", field, len(out), slipway.MaxAccessRules)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// applyAccess copies the access restriction fields present in b onto a.
func (b *siteConfigBody) applyAccess(a *slipway.AccessRestrictions) error {
	var err error
	if b.IPSecurityRestrictions != nil {
		if a.Main, err = accessRules("ipSecurityRestrictions", *b.IPSecurityRestrictions); err != nil {
			return err
		}
	}
	if b.SCMIPSecurityRestrictions != nil {
		if a.SCM, err = accessRules("scmIpSecurityRestrictions", *b.SCMIPSecurityRestrictions); err != nil {
			return err
		}
	}
	if b.SCMIPSecurityRestrictionsUseMain != nil {
		a.SCMUseMain = *b.SCMIPSecurityRestrictionsUseMain
	}
	for _, v := range []struct {
		in  *string
		out *string
	}{{b.IPSecurityRestrictionsDefaultAction, &a.MainDefault}, {b.SCMIPSecurityRestrictionsDefaultAction, &a.SCMDefault}} {
		if v.in == nil || *v.in == "" {
			continue
		}
		if !strings.EqualFold(*v.in, slipway.AccessAllow) && !strings.EqualFold(*v.in, slipway.AccessDeny) {
			return slipway.Errorf(slipway.EINVALID, "The default action '%s' of the access restrictions is not valid: use Allow or Deny.", *v.in)
		}
		*v.out, _ = slipway.CanonicalAccessAction(*v.in)
	}
	return a.Validate()
}

// corsSettings is siteConfig.cors (Azure's CorsSettings). A field left
// out keeps its value: az sends supportCredentials only once it is set.
type corsSettings struct {
	AllowedOrigins     *[]string `json:"allowedOrigins"`
	SupportCredentials *bool     `json:"supportCredentials"`
}

// applyCORS copies the CORS fields present in b onto c, as az webapp cors
// add|remove and az resource update --set properties.cors... write them:
// the whole origin list each time, kept as written (remove matches by
// text). The domain checks the result.
func (b *corsSettings) applyCORS(c *slipway.CORS) error {
	if b == nil {
		return nil
	}
	next := *c
	if b.AllowedOrigins != nil {
		// An empty list is kept as one: App Service shows it as [] once
		// set, and null only before (azure-cli's test_webapp_cors).
		next.AllowedOrigins = append([]string{}, *b.AllowedOrigins...)
	}
	if b.SupportCredentials != nil {
		next.SupportCredentials = *b.SupportCredentials
	}
	if err := next.Validate(); err != nil {
		return err
	}
	*c = next
	return nil
}

// logSwitches are the config/logs switches the body sets, by siteConfig
// name.
func (b *siteConfigBody) logSwitches() map[string]bool {
	if b == nil {
		return nil
	}
	out := map[string]bool{}
	for name, v := range map[string]*bool{"httpLoggingEnabled": b.HTTPLoggingEnabled,
		"detailedErrorLoggingEnabled": b.DetailedErrorLoggingEnabled, "requestTracingEnabled": b.RequestTracingEnabled} {
		if v != nil {
			out[name] = *v
		}
	}
	return out
}

// ftpsState is siteConfig.ftpsState as shown: as set, Disabled by default
// (Slipway serves no FTP).
func ftpsState(set string) string {
	if set == "" {
		return "Disabled"
	}
	return set
}

// checkUnsupported refuses a value of a field Slipway does not act on
// (docs/arm.md §1.9): auto-heal rules, and FTP, which Slipway does not
// serve at all. (Access restrictions it cannot enforce are refused by
// accessRules.)
func (b *siteConfigBody) checkUnsupported() error {
	refuse := func(format string, args ...any) error {
		return slipway.Errorf(slipway.EINVALID, format+" (Slipway: see README, Differences from App Service).", args...)
	}
	if r := bytes.TrimSpace(b.AutoHealRules); len(r) > 0 && !bytes.Equal(r, []byte("null")) && !bytes.Equal(r, []byte("{}")) {
		return refuse("autoHealRules cannot be set: Slipway does not recycle an app on request, status or memory triggers (restart it with az webapp restart; the health check path replaces an instance that stops answering)")
	}
	if v := b.FTPSState; v != nil && !strings.EqualFold(*v, "Disabled") && !strings.EqualFold(*v, "FtpsOnly") {
		return refuse("ftpsState '%s' is not available: Slipway serves no FTP or FTPS, so only Disabled (and FtpsOnly, which it satisfies) can be set", *v)
	}
	if v := b.SCMType; v != nil && *v != "" {
		if _, err := slipway.CanonicalSCMType(*v); err != nil {
			return err
		}
	}
	return nil
}

// apply copies the fields present in b onto the site's config, access
// restrictions and CORS, checking the runtime and what the site's plan
// allows.
func (h *Handler) apply(ctx context.Context, site *slipway.Site, b *siteConfigBody) error {
	if b == nil {
		return nil
	}
	if err := b.checkUnsupported(); err != nil {
		return err
	}
	if err := b.applyAccess(&site.Access); err != nil {
		return err
	}
	if err := b.CORS.applyCORS(&site.CORS); err != nil {
		return err
	}
	c := &site.Config
	if b.LinuxFxVersion != nil {
		if err := h.checkRuntime(*b.LinuxFxVersion); err != nil {
			return err
		}
		c.LinuxFxVersion = *b.LinuxFxVersion
	}
	if b.AppCommandLine != nil {
		c.AppCommandLine = *b.AppCommandLine
	}
	if b.HealthCheckPath != nil {
		c.HealthCheckPath = *b.HealthCheckPath
	}
	if b.AlwaysOn != nil {
		c.AlwaysOn = *b.AlwaysOn
	}
	if b.HTTP20Enabled != nil {
		c.HTTP20Off = !*b.HTTP20Enabled
	}
	if b.WebSocketsEnabled != nil {
		c.WebSocketsOff = !*b.WebSocketsEnabled
	}
	if b.MinTLSCipherSuite != nil {
		v, err := slipway.CanonicalMinTLSCipherSuite(*b.MinTLSCipherSuite)
		if err != nil {
			return err
		}
		c.MinTLSCipherSuite = v
	}
	if b.AutoHealEnabled != nil {
		c.AutoHealEnabled = *b.AutoHealEnabled
	}
	if v := b.FTPSState; v != nil { // checkUnsupported let only these through
		c.FTPSState = ""
		if strings.EqualFold(*v, "FtpsOnly") {
			c.FTPSState = "FtpsOnly"
		}
	}
	if b.NumberOfWorkers != nil && *b.NumberOfWorkers > 0 {
		c.NumberOfWorkers = *b.NumberOfWorkers
	}
	if b.SCMType != nil && *b.SCMType != "" {
		c.SCMType, _ = slipway.CanonicalSCMType(*b.SCMType) // checked above
		if c.SCMType == slipway.SCMNone {
			c.SCMType = ""
		}
	}
	for _, v := range []struct {
		name string
		in   *string
		out  *string
	}{{"MinTlsVersion", b.MinTLSVersion, &c.MinTLSVersion}, {"ScmMinTlsVersion", b.SCMMinTLSVersion, &c.SCMMinTLSVersion}} {
		if v.in == nil {
			continue
		}
		if !slices.Contains(slipway.TLSVersions, *v.in) {
			return slipway.Errorf(slipway.EINVALID, "The parameter %s has an invalid value '%s'. Allowed values: %s.", v.name, *v.in, strings.Join(slipway.TLSVersions, ", "))
		}
		if *v.in == orDefaultTLS(*v.out) {
			continue // what GET showed, written back: no change (and no restart)
		}
		*v.out = *v.in
	}
	return h.checkAlwaysOn(ctx, *site, b)
}

// runChanged reports whether a config change affects the running app, and
// so restarts it: scmType only says how deployments arrive.
func runChanged(old, c slipway.SiteConfig) bool {
	old.SCMType = c.SCMType
	return old != c
}

// checkAlwaysOn refuses Always On on a Free or Shared plan, as App Service
// does (409, "AlwaysOn cannot be set for this site as the plan does not
// allow it"), when b turns it on.
func (h *Handler) checkAlwaysOn(ctx context.Context, site slipway.Site, b *siteConfigBody) error {
	if b == nil || b.AlwaysOn == nil || !*b.AlwaysOn || site.Plan == "" {
		return nil
	}
	plan, err := h.cfg.Store.Plan(ctx, site.PlanResourceGroup(), site.Plan)
	if err != nil {
		return err
	}
	if plan.SKU.SharedCompute() {
		return slipway.Errorf(slipway.ECONFLICT, "AlwaysOn cannot be set for this site as the plan does not allow it. For more information on pricing and features, please see: https://aka.ms/appservicepricingdetails")
	}
	return nil
}

// checkRuntime accepts "" and PYTHON|x.y for an installed x.y (docs/arm.md §1.5
// step 3 gives the CLI's wording).
func (h *Handler) checkRuntime(fx string) error {
	if fx == "" {
		return nil
	}
	v, err := slipway.ParseLinuxFxVersion(fx)
	if err != nil {
		return err
	}
	if len(h.cfg.PythonVersions) == 0 {
		return nil
	}
	mm := v
	if parts := strings.SplitN(v, ".", 3); len(parts) == 3 {
		mm = parts[0] + "." + parts[1]
	}
	if !slices.Contains(h.cfg.PythonVersions, mm) {
		return slipway.Errorf(slipway.EINVALID, "Linux Runtime '%s' is not supported. Installed Python versions: %s.",
			strings.ToLower(fx), strings.Join(h.cfg.PythonVersions, ", "))
	}
	return nil
}

// planFromID reads the plan's resource group and name from a
// serverFarmId: a bare name is a plan of the site's group rg; an id may
// name a plan of any group of this subscription, as App Service allows
// ("az webapp create -p <plan id>").
func planFromID(id, sub, rg string) (group, name string, err error) {
	segs := splitPath(id)
	if len(segs) == 1 { // a bare plan name
		return rg, segs[0], nil
	}
	if len(segs) != 8 || !strings.EqualFold(segs[0], "subscriptions") || !strings.EqualFold(segs[2], "resourceGroups") ||
		!strings.EqualFold(segs[4], "providers") || !strings.EqualFold(segs[5], "Microsoft.Web") || !strings.EqualFold(segs[6], "serverfarms") {
		return "", "", slipway.Errorf(slipway.EINVALID, "The serverFarmId '%s' is not an App Service plan id of the form /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Web/serverfarms/{plan}.", id)
	}
	if !strings.EqualFold(segs[1], sub) {
		return "", "", slipway.Errorf(slipway.EINVALID, "The App Service plan '%s' is in subscription '%s'; use a plan in subscription '%s'.", segs[7], segs[1], sub)
	}
	return segs[3], segs[7], nil
}

// siteBody is a site PUT/PATCH document.
type siteBody struct {
	Location string            `json:"location"`
	Tags     map[string]string `json:"tags"`
	// Identity assigns and removes managed identities (identity.go).
	Identity   *siteIdentityBody `json:"identity"`
	Properties struct {
		ServerFarmID          *string         `json:"serverFarmId"`
		SiteConfig            *siteConfigBody `json:"siteConfig"`
		HTTPSOnly             *bool           `json:"httpsOnly"`
		ClientAffinityEnabled *bool           `json:"clientAffinityEnabled"`
		// EndToEndEncryptionEnabled is kept and shown: the front door
		// reaches an instance on its own machine (slipway.Site).
		EndToEndEncryptionEnabled *looseBool `json:"endToEndEncryptionEnabled"`
		// HostNameSSLStates with toUpdate bind and unbind certificates
		// (az webapp config ssl bind|unbind).
		HostNameSSLStates []hostNameSSLState `json:"hostNameSslStates"`
		// KeyVaultReferenceIdentity is the identity Key Vault references
		// resolve as: "SystemAssigned" or a user-assigned identity's id.
		KeyVaultReferenceIdentity *string `json:"keyVaultReferenceIdentity"`
		// PublicNetworkAccess is always Enabled (networkisolation.go).
		PublicNetworkAccess *string `json:"publicNetworkAccess"`
	} `json:"properties"`
}

func (h *Handler) putSite(w http.ResponseWriter, r *http.Request, p params) error {
	return h.writeSiteUpdate(w, r, p, false)
}

func (h *Handler) patchSite(w http.ResponseWriter, r *http.Request, p params) error {
	return h.writeSiteUpdate(w, r, p, true)
}

// writeSiteUpdate creates or updates a site from a PUT or PATCH body and
// answers 200 — never 201, which breaks the SDK (docs/arm.md §1.5 step 4, §3.4).
// Fields absent from the body keep their values; a PATCH needs the site to
// exist. Settings given in siteConfig.appSettings replace the site's.
func (h *Handler) writeSiteUpdate(w http.ResponseWriter, r *http.Request, p params, mustExist bool) error {
	var body siteBody
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if err := refuseNetworkIsolation("web app", siteAccessInstead, body.Properties.PublicNetworkAccess, "", nil); err != nil {
		return err
	}
	ctx := r.Context()
	old, err := h.cfg.Store.Site(ctx, p.rg, p.site)
	exists := err == nil
	if err != nil && (mustExist || slipway.ErrorCode(err) != slipway.ENOTFOUND || strings.HasPrefix(slipway.ErrorMessage(err), "Resource group '")) {
		return err
	}
	site := old
	if !exists {
		site = slipway.Site{ResourceGroup: p.rg, Name: p.site, Enabled: true,
			Config: slipway.SiteConfig{ClientAffinity: true, NumberOfWorkers: 1}}
	}
	if body.Properties.ServerFarmID != nil {
		planGroup, plan, err := planFromID(*body.Properties.ServerFarmID, p.sub, p.rg)
		if err != nil {
			return err
		}
		if !exists || !strings.EqualFold(plan, old.Plan) || !strings.EqualFold(planGroup, old.PlanResourceGroup()) {
			// The app will run on the plan's workers: as on Azure, the
			// caller needs to join it (a linked scope), or a role on one
			// app would reach every plan of its group.
			if err := h.checkLinked(r, "Microsoft.Web/sites/write", siteID(p.sub, p.rg, p.site),
				planJoinAction, planID(p.sub, planGroup, plan)); err != nil {
				return err
			}
		}
		site.Plan, site.PlanGroup = plan, planGroup
	} else if !exists {
		return slipway.Errorf(slipway.EINVALID, "The parameter 'properties.serverFarmId' is required to create a site: name its App Service plan.")
	}
	if body.Location != "" {
		site.Location = normalizeLocation(body.Location)
	}
	if body.Tags != nil {
		site.Tags = body.Tags
	}
	if err := h.apply(ctx, &site, body.Properties.SiteConfig); err != nil {
		return err
	}
	if body.Properties.HTTPSOnly != nil {
		site.HTTPSOnly = *body.Properties.HTTPSOnly
	}
	if body.Properties.ClientAffinityEnabled != nil {
		site.Config.ClientAffinity = *body.Properties.ClientAffinityEnabled
	}
	if v := body.Properties.EndToEndEncryptionEnabled; v != nil {
		site.EndToEndEncryption = bool(*v)
	}
	if v := body.Properties.KeyVaultReferenceIdentity; v != nil {
		if site.KeyVaultReferenceIdentity, err = parseKeyVaultReferenceIdentity(*v, p.sub); err != nil {
			return err
		}
	}
	if len(body.Properties.HostNameSSLStates) > 0 {
		if err := h.applySSLStates(ctx, site, body.Properties.HostNameSSLStates); err != nil {
			return err
		}
	}
	var current []store.IdentityRef
	if exists && body.Identity != nil {
		if current, err = h.currentIdentityRefs(ctx, old.Name); err != nil {
			return err
		}
	}
	idChange, err := h.planIdentity(p.sub, body.Identity, current, mustExist)
	if err != nil {
		return err
	}
	// Access first, as ARM checks it: a missing identity of a group the
	// caller has no role in answers as an existing one does.
	if err := h.checkIdentityAssign(r, p.sub, siteID(p.sub, site.ResourceGroup, site.Name), current, idChange); err != nil {
		return err
	}
	if err := h.checkIdentitiesExist(ctx, idChange); err != nil {
		return err
	}
	var settings map[string]string
	var conns map[string]slipway.ConnectionString
	if sc := body.Properties.SiteConfig; sc != nil {
		if sc.AppSettings != nil {
			settings = map[string]string{}
			for _, nv := range *sc.AppSettings {
				if err := slipway.ValidateSettingName(nv.Name); err != nil {
					return err
				}
				text, err := scalarText("app setting", nv.Name, nv.Value)
				if err != nil {
					return err
				}
				settings[nv.Name] = text
			}
		}
		if sc.ConnectionStrings != nil {
			conns = map[string]slipway.ConnectionString{}
			for _, c := range *sc.ConnectionStrings {
				t, err := slipway.CanonicalConnectionStringType(c.Type)
				if err != nil {
					return err
				}
				text, err := scalarText("connection string", c.Name, c.ConnectionString)
				if err != nil {
					return err
				}
				conns[c.Name] = slipway.ConnectionString{Value: text, Type: t}
			}
		}
	}
	stored, created, err := h.cfg.Store.PutSiteWithConfig(ctx, site, settings, conns)
	if err != nil {
		return err
	}
	if err := h.applyLogSwitches(ctx, stored, body.Properties.SiteConfig.logSwitches()); err != nil {
		return err
	}
	if err := h.applyIdentity(ctx, p.sub, stored, idChange); err != nil {
		return fmt.Errorf("assigning the identities of %s: %w", stored.Name, err)
	}
	if created {
		// A new app serves the default page until its first deployment, as on
		// App Service. Failing to start it does not undo the creation: the
		// app exists and its log says why it is not serving.
		if err := h.cfg.Controller.StartSite(ctx, stored.ResourceGroup, stored.Name); err != nil {
			h.cfg.Logger.Warn("starting new site", "site", stored.Name, "err", err)
		}
	}
	// A new reference identity changes what references resolve to: as
	// with any configuration change, they are fetched again (restart).
	if !created && (runChanged(old.Config, stored.Config) || stored.HTTPSOnly != old.HTTPSOnly || stored.Plan != old.Plan ||
		stored.KeyVaultReferenceIdentity != old.KeyVaultReferenceIdentity || settings != nil || conns != nil) {
		if err := h.restartWarning(w, h.cfg.Controller.SiteConfigChanged(ctx, stored.ResourceGroup, stored.Name)); err != nil {
			return fmt.Errorf("applying the new configuration of %s: %w", stored.Name, err)
		}
	}
	return h.writeSite(w, r, p.sub, stored)
}

func (h *Handler) getSite(w http.ResponseWriter, r *http.Request, p params) error {
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	return h.writeSite(w, r, p.sub, s)
}

// listSites lists the sites of a resource group, or of the subscription.
func (h *Handler) listSites(w http.ResponseWriter, r *http.Request, p params) error {
	return h.writeSites(w, r, p, "")
}

// listPlanSites answers GET serverfarms/{plan}/sites, the apps on a plan
// (App Service Plans - List Web Apps,
// https://learn.microsoft.com/rest/api/appservice/app-service-plans/list-web-apps),
// each as the group's list shows it. The Azure SDK for Go's
// PlansClient.NewListWebAppsPager reads it, e.g. to find whether a plan
// is empty before deleting it.
func (h *Handler) listPlanSites(w http.ResponseWriter, r *http.Request, p params) error {
	if _, err := h.cfg.Store.Plan(r.Context(), p.rg, p.plan); err != nil {
		return err
	}
	return h.writeSites(w, r, p, p.plan)
}

// writeSites answers a list of the sites of p's group (or subscription),
// or, when plan is given, of the sites on p's group's plan of that name,
// whatever their group: of those in another group, only the ones the
// caller may read (a role on the plan's group is none on theirs).
func (h *Handler) writeSites(w http.ResponseWriter, r *http.Request, p params, plan string) error {
	ctx := r.Context()
	group := p.rg
	if plan != "" {
		group = ""
	}
	sites, err := h.cfg.Store.Sites(ctx, group)
	if err != nil {
		return err
	}
	plans, err := h.cfg.Store.Plans(ctx, "") // a site's plan may be in another group
	if err != nil {
		return err
	}
	byKey := map[string]slipway.Plan{}
	for _, pl := range plans {
		byKey[strings.ToLower(pl.ResourceGroup+"/"+pl.Name)] = pl
	}
	vs := make([]any, 0, len(sites))
	for _, s := range sites {
		if s.SlotOf != "" {
			continue // slots are listed under their app (slots.go)
		}
		if plan != "" {
			if !s.OnPlan(p.rg, plan) {
				continue
			}
			if !strings.EqualFold(s.ResourceGroup, p.rg) {
				action, scope := rbac.ActionFor(http.MethodGet, siteID(p.sub, s.ResourceGroup, s.Name))
				if _, ok, err := h.callerMay(r, action, scope); err != nil {
					return err
				} else if !ok {
					continue
				}
			}
		}
		pl, ok := byKey[strings.ToLower(s.PlanResourceGroup()+"/"+s.Plan)]
		if !ok { // deleted in between; skip rather than fail the list
			continue
		}
		hn, err := h.siteHostNames(ctx, s)
		if slipway.ErrorCode(err) == slipway.ENOTFOUND { // deleted in between
			continue
		} else if err != nil {
			return err
		}
		res := h.siteJSON(p.sub, s, pl, hn)
		if err := h.addSiteIdentity(ctx, res, p.sub, s); err != nil {
			return err
		}
		vs = append(vs, res)
	}
	return writeJSON(w, http.StatusOK, list{Value: vs})
}

// deleteSite deletes the site, tells the controller, and — as Azure does
// unless deleteEmptyServerFarm=false — deletes its plan if now empty and
// the caller may delete it.
func (h *Handler) deleteSite(w http.ResponseWriter, r *http.Request, p params) error {
	ctx := r.Context()
	s, err := h.cfg.Store.Site(ctx, p.rg, p.site)
	if err != nil {
		return err
	}
	slots, err := h.slotsOf(ctx, s) // deleted with their app
	if err != nil {
		return err
	}
	if err := h.cfg.Store.DeleteSite(ctx, s.ResourceGroup, s.Name); err != nil {
		return err
	}
	if err := h.certificatesChanged(ctx); err != nil { // its names' certificates stop serving
		return err
	}
	for _, n := range append(slots, s.Name) {
		if err := h.cfg.Controller.SiteDeleted(ctx, s.ResourceGroup, n); err != nil {
			return fmt.Errorf("cleaning up deleted site %s: %w", n, err)
		}
	}
	if !strings.EqualFold(r.URL.Query().Get("deleteEmptyServerFarm"), "false") {
		n, err := h.cfg.Store.PlanSiteCount(ctx, s.PlanResourceGroup(), s.Plan)
		if err != nil {
			return err
		}
		// A caller whose role is on the app alone leaves the plan be.
		_, mayDelete, err := h.callerMay(r, planDeleteAction, planID(p.sub, s.PlanResourceGroup(), s.Plan))
		if err != nil {
			return err
		}
		if n == 0 && mayDelete {
			err := h.cfg.Store.DeletePlan(ctx, s.PlanResourceGroup(), s.Plan)
			if err != nil && slipway.ErrorCode(err) != slipway.ECONFLICT && slipway.ErrorCode(err) != slipway.ENOTFOUND {
				return err
			}
		}
	}
	return writeEmpty(w, http.StatusOK)
}

// siteAction runs POST .../restart, /stop or /start → 200, empty body
// (docs/arm.md §1.6). Stop and start also record the state on the site.
// An app that then fails to start (a startup file with no code to run yet,
// say) does not fail the request: App Service answers 200 at once, the site
// stays Running and the container's failure is in its logs; the reason
// rides in a warning header (restartWarning).
func (h *Handler) siteAction(w http.ResponseWriter, r *http.Request, p params) error {
	ctx := r.Context()
	s, err := h.cfg.Store.Site(ctx, p.rg, p.site)
	if err != nil {
		return err
	}
	switch action := strings.ToLower(path.Base(r.URL.Path)); action {
	case "restart":
		err = h.restartWarning(w, h.cfg.Controller.RestartSite(ctx, s.ResourceGroup, s.Name))
	case "stop":
		if _, err = h.cfg.Store.SetSiteEnabled(ctx, s.ResourceGroup, s.Name, false); err == nil {
			err = h.cfg.Controller.StopSite(ctx, s.ResourceGroup, s.Name)
		}
	case "start":
		if _, err = h.cfg.Store.SetSiteEnabled(ctx, s.ResourceGroup, s.Name, true); err == nil {
			err = h.restartWarning(w, h.cfg.Controller.StartSite(ctx, s.ResourceGroup, s.Name))
		}
	default:
		err = fmt.Errorf("routing: unexpected site action %q", action)
	}
	if err != nil {
		return err
	}
	return writeEmpty(w, http.StatusOK)
}

// instanceJSON is a sites/instances resource (docs/arm.md §1.15 "Other
// small shapes"): Azure's name and state, and under slipwayInstance —
// Slipway's extension, not in Azure's schema — the operator's view:
// status, address and health.
func instanceJSON(sub string, s slipway.Site, in Instance) map[string]any {
	state := "UNKNOWN"
	if in.Ready {
		state = "READY"
	}
	return map[string]any{
		"id":   s.ResourceID(sub) + "/instances/" + in.ID,
		"name": in.ID,
		"type": siteSubType(s, "instances"),
		"properties": map[string]any{
			"state": state, "machineName": in.Machine,
			"slipwayInstance": map[string]any{
				"status": in.Status, "address": in.Address, "healthCheckFailures": in.HealthCheckFailures,
			},
		},
	}
}

// siteInstances returns the site and its instances sorted by id (the CLI
// takes the first by sort for its warm-up, docs/arm.md §1.13 step 3).
func (h *Handler) siteInstances(r *http.Request, p params) (slipway.Site, []Instance, error) {
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return s, nil, err
	}
	list, err := h.cfg.Controller.Instances(r.Context(), s.ResourceGroup, s.Name)
	if err != nil {
		return s, nil, err
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	return s, list, nil
}

// listInstances lists the site's running instances (docs/arm.md §1.13 step 3).
func (h *Handler) listInstances(w http.ResponseWriter, r *http.Request, p params) error {
	s, insts, err := h.siteInstances(r, p)
	if err != nil {
		return err
	}
	vs := make([]any, 0, len(insts))
	for _, in := range insts {
		vs = append(vs, instanceJSON(p.sub, s, in))
	}
	return writeJSON(w, http.StatusOK, list{Value: vs})
}

// getInstance shows one instance of the site.
func (h *Handler) getInstance(w http.ResponseWriter, r *http.Request, p params) error {
	s, list, err := h.siteInstances(r, p)
	if err != nil {
		return err
	}
	for _, in := range list {
		if strings.EqualFold(in.ID, p.id) {
			return writeJSON(w, http.StatusOK, instanceJSON(p.sub, s, in))
		}
	}
	return slipway.Errorf(slipway.ENOTFOUND, "The instance '%s' of site '%s' was not found: it may have stopped or been replaced. List the current ones with `webapp list-instances`.", p.id, s.Name)
}

// deploymentStatus maps a Kudu deployment to ARM's deploymentStatus
// (docs/arm.md §1.13 step 5, docs/appservice.md §5): integer instance counts, and on
// failure one error and one log URL so the CLI has something to print.
// Without a failure errors is null, not an empty list, as App Service
// answers (azure-cli's test_webapp_track_runtimestatus_runtimesucessful,
// run live against Azure, checks properties.errors is None).
func (h *Handler) deploymentStatus(w http.ResponseWriter, r *http.Request, p params) error {
	ctx := r.Context()
	s, err := h.cfg.Store.Site(ctx, p.rg, p.site)
	if err != nil {
		return err
	}
	d, err := h.cfg.Store.GetDeployment(ctx, s.Name, p.id)
	if err != nil {
		return err
	}
	var status string
	inProgress, ok, failed := 0, 0, 0
	var errs []any // null unless the deployment failed
	logs := []any{}
	switch d.Status {
	case slipway.DeployPending:
		status, inProgress = "BuildRequestReceived", 1
	case slipway.DeployBuilding:
		status, inProgress = "BuildInProgress", 1
	case slipway.DeployDeploying:
		status, inProgress = "RuntimeStarting", 1
	case slipway.DeploySuccess:
		status = "RuntimeSuccessful"
		list, err := h.cfg.Controller.Instances(ctx, s.ResourceGroup, s.Name)
		if err != nil {
			return err
		}
		ok = max(len(list), 1)
	case slipway.DeployFailed:
		status, failed = "RuntimeFailed", 1
		if d.ArtifactDir == "" { // never got as far as an artifact
			status, failed = "BuildFailed", 0
		}
		msg := d.StatusText
		if msg == "" {
			msg = "The deployment failed. See the deployment log."
		}
		errs = append(errs, map[string]any{"code": status, "extendedCode": status, "message": msg})
		logs = append(logs, h.cfg.Scheme+"://"+h.scmHost(s.Name)+"/api/deployments/"+d.ID+"/log")
	default:
		return fmt.Errorf("deployment %s has unknown status %d", d.ID, d.Status)
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"id":   s.ResourceID(p.sub) + "/deploymentStatus/" + d.ID,
		"name": d.ID,
		"type": siteSubType(s, "deploymentStatus"),
		"properties": map[string]any{
			"deploymentId":                d.ID,
			"status":                      status,
			"numberOfInstancesInProgress": inProgress,
			"numberOfInstancesSuccessful": ok,
			"numberOfInstancesFailed":     failed,
			"failedInstancesLogs":         logs,
			"errors":                      errs,
		},
	})
}
