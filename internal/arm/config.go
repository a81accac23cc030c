package arm

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"

	"github.com/slipway-dev/slipway"
)

// configResource is the envelope of a sites/config resource.
func (h *Handler) configResource(sub string, s slipway.Site, name string, props any) map[string]any {
	typ := "Microsoft.Web/sites/config"
	if s.SlotOf != "" {
		typ = "Microsoft.Web/sites/slots/config" // a slot's own child: <app>/slots/<slot>/config/<name>
	}
	return map[string]any{
		"id":         s.ResourceID(sub) + "/config/" + name,
		"name":       name,
		"type":       typ,
		"location":   displayLocation(s.Location),
		"properties": props,
	}
}

// getSiteConfig answers GET config/web (docs/arm.md §1.15 "SiteConfig"; its
// name is the app's name).
func (h *Handler) getSiteConfig(w http.ResponseWriter, r *http.Request, p params) error {
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	return h.writeSiteConfig(w, r, p.sub, s)
}

func (h *Handler) writeSiteConfig(w http.ResponseWriter, r *http.Request, sub string, s slipway.Site) error {
	res, err := h.siteConfigResource(r.Context(), sub, s)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// siteConfigResource is the site's config/web resource.
func (h *Handler) siteConfigResource(ctx context.Context, sub string, s slipway.Site) (map[string]any, error) {
	props := siteConfigJSON(s)
	if err := h.slotConfigJSON(ctx, s, props); err != nil { // slots.go
		return nil, err
	}
	if err := h.logSwitchesJSON(ctx, s, props); err != nil { // logsconfig.go
		return nil, err
	}
	res := h.configResource(sub, s, "web", props)
	res["name"] = s.Name
	if s.SlotOf != "" {
		res["name"] = s.SlotOf + "/" + s.Slot // as the slot resource names itself
	}
	return res, nil
}

// listSiteConfigs answers GET sites/{app}/config, the app's
// configurations (Web Apps - List Configurations,
// https://learn.microsoft.com/rest/api/appservice/web-apps/list-configurations):
// its one SiteConfig, config/web, as GET config/web shows it. The Azure
// SDK for Go's WebAppsClient.NewListConfigurationsPager reads it.
func (h *Handler) listSiteConfigs(w http.ResponseWriter, r *http.Request, p params) error {
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	res, err := h.siteConfigResource(r.Context(), p.sub, s)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list{Value: []any{res}})
}

// putSiteConfig answers PUT and PATCH config/web: the writable fields
// present are applied, read-only ones ignored (docs/arm.md §1.9); a change
// restarts the app through the controller, except one of access
// restrictions or CORS only, which the front door applies at once.
func (h *Handler) putSiteConfig(w http.ResponseWriter, r *http.Request, p params) error {
	var body struct {
		Properties *siteConfigBody `json:"properties"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	ctx := r.Context()
	s, err := h.cfg.Store.Site(ctx, p.rg, p.site)
	if err != nil {
		return err
	}
	old, oldAccess, oldCORS := s.Config, s.Access, s.CORS
	if err := h.apply(ctx, &s, body.Properties); err != nil {
		return err
	}
	if err := h.applyLogSwitches(ctx, s, body.Properties.logSwitches()); err != nil {
		return err
	}
	if s.Config == old && s.Access.Equal(oldAccess) && s.CORS.Equal(oldCORS) {
		return h.writeSiteConfig(w, r, p.sub, s)
	}
	s, _, err = h.cfg.Store.PutSite(ctx, s)
	if err != nil {
		return err
	}
	if !runChanged(old, s.Config) {
		return h.writeSiteConfig(w, r, p.sub, s)
	}
	if err := h.restartWarning(w, h.cfg.Controller.SiteConfigChanged(ctx, s.ResourceGroup, s.Name)); err != nil {
		return fmt.Errorf("applying the new configuration of %s: %w", s.Name, err)
	}
	return h.writeSiteConfig(w, r, p.sub, s)
}

// listAppSettings answers POST config/appsettings/list (docs/arm.md §1.7).
func (h *Handler) listAppSettings(w http.ResponseWriter, r *http.Request, p params) error {
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	settings, err := configAsShown(r.Context(), h, s, true, h.cfg.Store.Settings)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.configResource(p.sub, s, "appsettings", settings))
}

// configAsShown reads a site's app settings (settings) or connection
// strings with read, as App Service shows them: a swap preview's source
// with the target's sticky values (previewOf).
func configAsShown[V any](ctx context.Context, h *Handler, s slipway.Site, settings bool,
	read func(ctx context.Context, rg, site string) (map[string]V, error)) (map[string]V, error) {
	own, err := read(ctx, s.ResourceGroup, s.Name)
	if err != nil {
		return nil, err
	}
	target, sticky, ok, err := h.previewOf(ctx, s, settings)
	if err != nil || !ok {
		return own, err
	}
	other, err := read(ctx, s.ResourceGroup, target)
	if err != nil {
		return nil, err
	}
	_, shown := slipway.SwapConfig(own, other, sticky)
	return shown, nil
}

// previewOf reports whether s is the source of a swap with preview in its
// first phase, and then the target's name and the sticky names of app
// settings (settings) or connection strings: App Service shows the
// source's configuration with the target's sticky values then, as it runs
// it (azure-cli's test_webapp_slot_swap reads them after --action preview).
func (h *Handler) previewOf(ctx context.Context, s slipway.Site, settings bool) (target string, sticky []string, ok bool, err error) {
	app := s.App()
	sw, err := h.cfg.Store.Swap(ctx, app)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return "", nil, false, nil
	} else if err != nil {
		return "", nil, false, err
	}
	if !sw.Previews(s.Name) {
		return "", nil, false, nil
	}
	set, conns, err := h.cfg.Store.SwapStickyNames(ctx, app)
	if err != nil {
		return "", nil, false, err
	}
	if settings {
		return sw.Target, set, true, nil
	}
	return sw.Target, conns, true, nil
}

// putAppSettings replaces the settings in full — a name missing from the
// body is deleted — and restarts the app, as App Service does (docs/arm.md §1.7,
// docs/appservice.md §2).
func (h *Handler) putAppSettings(w http.ResponseWriter, r *http.Request, p params) error {
	var body struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	settings := make(map[string]string, len(body.Properties))
	for k, v := range body.Properties {
		text, err := scalarText("app setting", k, v)
		if err != nil {
			return err
		}
		settings[k] = text
	}
	ctx := r.Context()
	s, err := h.cfg.Store.Site(ctx, p.rg, p.site)
	if err != nil {
		return err
	}
	if err := h.cfg.Store.SetSettings(ctx, s.ResourceGroup, s.Name, settings); err != nil {
		return err
	}
	if err := h.restartWarning(w, h.cfg.Controller.SiteConfigChanged(ctx, s.ResourceGroup, s.Name)); err != nil {
		return fmt.Errorf("applying the new settings of %s: %w", s.Name, err)
	}
	return writeJSON(w, http.StatusOK, h.configResource(p.sub, s, "appsettings", settings))
}

// connStringValue is a connection string on the wire (docs/arm.md §1.8).
type connStringValue struct {
	Value string `json:"value"`
	Type  string `json:"type"`
}

// connStringBody is a connection string in a config/connectionstrings PUT:
// its value may be any JSON scalar (scalarText).
type connStringBody struct {
	Value json.RawMessage `json:"value"`
	Type  string          `json:"type"`
}

// scalarText is the stored text of an app setting's or connection string's
// value. ARM accepts any JSON scalar there and keeps it as a string — `az
// webapp up` sends "SCM_DO_BUILD_DURING_DEPLOYMENT": true — so a string is
// taken as is, a number as its JSON text ("1.5"), a boolean as .NET writes
// one ("True", "False": azure-cli's test_webapp_up_python_e2e, run live
// against Azure, reads back SCM_DO_BUILD_DURING_DEPLOYMENT as "True"),
// null or an absent value as "". An object or array is refused, naming
// the setting: what, if anything, it should mean is a guess.
func scalarText(what, name string, raw json.RawMessage) (string, error) {
	v := bytes.TrimSpace(raw)
	if len(v) == 0 || string(v) == "null" {
		return "", nil
	}
	switch v[0] {
	case '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", fmt.Errorf("decoding the value of %s %q: %w", what, name, err)
		}
		return s, nil
	case '{', '[':
		return "", &apiError{Status: http.StatusBadRequest, Code: "InvalidRequestContent",
			Message: fmt.Sprintf("The value of %s '%s' is a JSON %s; it must be a string, number or boolean.", what, name, map[byte]string{'{': "object", '[': "array"}[v[0]])}
	}
	switch string(v) {
	case "true":
		return "True", nil
	case "false":
		return "False", nil
	}
	return string(v), nil // a number: json.Unmarshal has checked it is valid JSON
}

func connStringsJSON(cs map[string]slipway.ConnectionString) map[string]connStringValue {
	out := make(map[string]connStringValue, len(cs))
	for k, c := range cs {
		out[k] = connStringValue{Value: c.Value, Type: c.Type}
	}
	return out
}

func (h *Handler) listConnectionStrings(w http.ResponseWriter, r *http.Request, p params) error {
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	cs, err := configAsShown(r.Context(), h, s, false, h.cfg.Store.ConnectionStrings)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.configResource(p.sub, s, "connectionstrings", connStringsJSON(cs)))
}

// putConnectionStrings replaces the connection strings in full and
// restarts the app.
func (h *Handler) putConnectionStrings(w http.ResponseWriter, r *http.Request, p params) error {
	var body struct {
		Properties map[string]connStringBody `json:"properties"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	cs := make(map[string]slipway.ConnectionString, len(body.Properties))
	for k, v := range body.Properties {
		text, err := scalarText("connection string", k, v.Value)
		if err != nil {
			return err
		}
		cs[k] = slipway.ConnectionString{Value: text, Type: v.Type}
	}
	ctx := r.Context()
	s, err := h.cfg.Store.Site(ctx, p.rg, p.site)
	if err != nil {
		return err
	}
	if err := h.cfg.Store.SetConnectionStrings(ctx, s.ResourceGroup, s.Name, cs); err != nil {
		return err
	}
	if err := h.restartWarning(w, h.cfg.Controller.SiteConfigChanged(ctx, s.ResourceGroup, s.Name)); err != nil {
		return fmt.Errorf("applying the new connection strings of %s: %w", s.Name, err)
	}
	stored, err := h.cfg.Store.ConnectionStrings(ctx, s.ResourceGroup, s.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.configResource(p.sub, s, "connectionstrings", connStringsJSON(stored)))
}

type slotConfigNames struct {
	AppSettingNames         []string `json:"appSettingNames"`
	ConnectionStringNames   []string `json:"connectionStringNames"`
	AzureStorageConfigNames []string `json:"azureStorageConfigNames"`
}

func (h *Handler) getSlotConfigNames(w http.ResponseWriter, r *http.Request, p params) error {
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	return h.writeSlotConfigNames(w, r, p.sub, s)
}

func (h *Handler) writeSlotConfigNames(w http.ResponseWriter, r *http.Request, sub string, s slipway.Site) error {
	a, c, err := h.cfg.Store.SlotConfigNames(r.Context(), s.ResourceGroup, s.Name)
	if err != nil {
		return err
	}
	res := h.configResource(sub, s, "slotConfigNames", slotConfigNames{AppSettingNames: a, ConnectionStringNames: c, AzureStorageConfigNames: []string{}})
	return writeJSON(w, http.StatusOK, res)
}

func (h *Handler) putSlotConfigNames(w http.ResponseWriter, r *http.Request, p params) error {
	var body struct {
		Properties slotConfigNames `json:"properties"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	if err := h.cfg.Store.SetSlotConfigNames(r.Context(), s.ResourceGroup, s.Name, body.Properties.AppSettingNames, body.Properties.ConnectionStringNames); err != nil {
		return err
	}
	return h.writeSlotConfigNames(w, r, p.sub, s)
}

// listPublishingCredentials answers POST config/publishingcredentials/list
// with 200 and the User resource — any other status breaks every Kudu call
// the CLI makes (docs/arm.md §1.10).
func (h *Handler) listPublishingCredentials(w http.ResponseWriter, r *http.Request, p params) error {
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	user, pw, err := h.cfg.Store.PublishingCredentials(r.Context(), s.ResourceGroup, s.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"id":       s.ResourceID(p.sub) + "/publishingcredentials/" + user,
		"name":     s.Name,
		"type":     siteSubType(s, "publishingcredentials"),
		"location": displayLocation(s.Location),
		"properties": map[string]any{
			"name":                       nil,
			"publishingUserName":         user,
			"publishingPassword":         pw,
			"publishingPasswordHash":     nil,
			"publishingPasswordHashSalt": nil,
			"scmUri":                     h.cfg.Scheme + "://" + user + ":" + pw + "@" + h.scmHost(s.Name),
		},
	})
}

func (h *Handler) basicAuthPolicy(ctx context.Context, sub string, s slipway.Site, policy string) (map[string]any, error) {
	allow, err := h.cfg.Store.BasicAuthAllowed(ctx, s.Name, policy)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"id":         s.ResourceID(sub) + "/basicPublishingCredentialsPolicies/" + policy,
		"name":       policy,
		"type":       siteSubType(s, "basicPublishingCredentialsPolicies"),
		"location":   displayLocation(s.Location),
		"properties": map[string]any{"allow": allow},
	}, nil
}

// policyName checks the scm|ftp segment and returns its canonical form.
func policyName(p string) (string, error) {
	switch strings.ToLower(p) {
	case "scm":
		return "scm", nil
	case "ftp":
		return "ftp", nil
	}
	return "", &apiError{Status: http.StatusNotFound, Code: "NotFound",
		Message: fmt.Sprintf("Basic publishing credentials policy '%s' does not exist; use 'scm' or 'ftp'.", p)}
}

// getBasicAuthPolicy answers whether Basic authentication with publishing
// credentials is allowed for the policy: "scm", Kudu and Local Git
// (docs/arm.md §1.10: az asks before every Kudu call, and signs in with an
// Entra token when it is not); "ftp", which Slipway does not serve.
func (h *Handler) getBasicAuthPolicy(w http.ResponseWriter, r *http.Request, p params) error {
	policy, err := policyName(p.policy)
	if err != nil {
		return err
	}
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	body, err := h.basicAuthPolicy(r.Context(), p.sub, s, policy)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, body)
}

// putBasicAuthPolicy allows or refuses Basic authentication for the
// policy, as Microsoft documents disabling it
// (https://learn.microsoft.com/azure/app-service/configure-basic-auth-disable):
// with "scm" off, Kudu and Local Git refuse publishing credentials and
// deployment users, and take Microsoft Entra tokens only. Nothing
// restarts.
func (h *Handler) putBasicAuthPolicy(w http.ResponseWriter, r *http.Request, p params) error {
	policy, err := policyName(p.policy)
	if err != nil {
		return err
	}
	var body struct {
		Properties struct {
			Allow *bool `json:"allow"`
		} `json:"properties"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if body.Properties.Allow == nil {
		return slipway.Errorf(slipway.EINVALID, "The policy's properties.allow (true or false) is required.")
	}
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	if err := h.cfg.Store.SetBasicAuthAllowed(r.Context(), s.Name, policy, *body.Properties.Allow); err != nil {
		return err
	}
	out, err := h.basicAuthPolicy(r.Context(), p.sub, s, policy)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// listBasicAuthPolicies answers GET .../basicPublishingCredentialsPolicies
// with both policies.
func (h *Handler) listBasicAuthPolicies(w http.ResponseWriter, r *http.Request, p params) error {
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	var value []map[string]any
	for _, policy := range []string{"ftp", "scm"} {
		v, err := h.basicAuthPolicy(r.Context(), p.sub, s, policy)
		if err != nil {
			return err
		}
		value = append(value, v)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"value": value})
}

// publishProfile is one <publishProfile> of a publish profile document,
// with the attributes of App Service's (docs/appservice.md §5), in its order.
type publishProfile struct {
	XMLName                     xml.Name `xml:"publishProfile"`
	ProfileName                 string   `xml:"profileName,attr"`
	PublishMethod               string   `xml:"publishMethod,attr"`
	PublishURL                  string   `xml:"publishUrl,attr"`
	MSDeploySite                string   `xml:"msdeploySite,attr,omitempty"`
	FTPPassiveMode              string   `xml:"ftpPassiveMode,attr,omitempty"`
	UserName                    string   `xml:"userName,attr"`
	UserPWD                     string   `xml:"userPWD,attr"`
	DestinationAppURL           string   `xml:"destinationAppUrl,attr"`
	SQLServerDBConnectionString string   `xml:"SQLServerDBConnectionString,attr"`
	MySQLDBConnectionString     string   `xml:"mySQLDBConnectionString,attr"`
	HostingProviderForumLink    string   `xml:"hostingProviderForumLink,attr"`
	ControlPanelLink            string   `xml:"controlPanelLink,attr"`
	WebSystem                   string   `xml:"webSystem,attr"`
	Databases                   struct{} `xml:"databases"`
}

type publishData struct {
	XMLName  xml.Name `xml:"publishData"`
	Comment  string   `xml:",comment"`
	Profiles []publishProfile
}

// publishXML answers POST publishxml with the publish profile document:
// Web Deploy, FTP and Zip Deploy profiles (docs/arm.md §1.10, docs/appservice.md §5).
// publishUrl is the SCM host with its port and no scheme, as on Azure.
// Slipway has no FTP server: the FTP profile is kept because clients look
// for it, and a comment in the document says it leads nowhere.
func (h *Handler) publishXML(w http.ResponseWriter, r *http.Request, p params) error {
	var body struct {
		Format string `json:"format"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if f := strings.ToLower(body.Format); f != "" && f != "webdeploy" && f != "ftp" && f != "filezilla3" {
		return slipway.Errorf(slipway.EINVALID, "Publishing profile format '%s' is not supported; use 'WebDeploy'.", body.Format)
	}
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	user, pw, err := h.cfg.Store.PublishingCredentials(r.Context(), s.ResourceGroup, s.Name)
	if err != nil {
		return err
	}
	scm := h.scmHost(s.Name)
	if h.cfg.HostSuffix == "" {
		if h.cfg.Scheme == "https" {
			scm += ":443"
		} else {
			scm += ":80"
		}
	}
	scmHostOnly := strings.ToLower(s.Name) + ".scm." + h.cfg.Domain
	dest := h.cfg.Scheme + "://" + h.appHost(s.Name)
	base := publishProfile{
		UserName: user, UserPWD: pw, DestinationAppURL: dest, WebSystem: "WebSites",
	}
	webDeploy := base
	webDeploy.ProfileName, webDeploy.PublishMethod, webDeploy.PublishURL, webDeploy.MSDeploySite = s.Name+" - Web Deploy", "MSDeploy", scm, s.Name
	ftp := base
	ftp.ProfileName, ftp.PublishMethod, ftp.PublishURL, ftp.FTPPassiveMode = s.Name+" - FTP", "FTP", "ftps://"+scmHostOnly+"/site/wwwroot", "True"
	ftp.UserName = s.Name + `\` + user
	zip := base
	zip.ProfileName, zip.PublishMethod, zip.PublishURL = s.Name+" - Zip Deploy", "ZipDeploy", scm
	doc := publishData{
		Comment:  " Slipway serves no FTP: the FTP profile is listed for compatibility only; deploy with Zip Deploy or Web Deploy's publishUrl. ",
		Profiles: []publishProfile{webDeploy, ftp, zip},
	}
	b, err := xml.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encoding publish profile: %w", err)
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b) // the client went away; nothing to do
	return nil
}

// newPassword resets the site's publishing password (ARM action
// newpassword, docs/appservice.md §5) → 200, empty body.
func (h *Handler) newPassword(w http.ResponseWriter, r *http.Request, p params) error {
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	if _, err := h.cfg.Store.ResetPublishingPassword(r.Context(), s.ResourceGroup, s.Name); err != nil {
		return err
	}
	return writeEmpty(w, http.StatusOK)
}

// restartWarning lets a configuration write, a restart or a start stand
// when the app then fails to start (a startup file set before the code
// that holds it, say): App Service stores the configuration or records the
// action, answers 200 and reports the container's failure in its logs.
// The answer carries the reason in a warning header, which Slipway's CLI
// prints and other clients ignore. Any other error stays an error.
func (h *Handler) restartWarning(w http.ResponseWriter, err error) error {
	if slipway.ErrorCode(err) != slipway.EUNAVAILABLE {
		return err
	}
	msg := strings.Join(strings.Fields(slipway.ErrorMessage(err)), " ") // one header line
	w.Header().Set("X-Slipway-Warning", msg)
	h.logger.Warn("the request stands but the app did not start", "err", err)
	return nil
}
