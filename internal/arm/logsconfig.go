package arm

// config/logs (SiteLogsConfig): what `az webapp log config` writes and `az
// webapp log show` reads. Slipway acts on httpLogs.fileSystem (the size
// quota and retention of the app's log files, server.applyLogsConfig); the
// rest is kept and shown as App Service keeps and shows it.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/slipway-dev/slipway"
)

// defaultLogsConfig is what config/logs holds before anything is stored.
var defaultLogsConfig = json.RawMessage(`{"applicationLogs":{"fileSystem":{"level":"Off"}},"httpLogs":{"fileSystem":{"retentionInMb":35,"retentionInDays":0,"enabled":false}},"failedRequestsTracing":{"enabled":false},"detailedErrorMessages":{"enabled":false}}`)

func (h *Handler) getLogsConfig(w http.ResponseWriter, r *http.Request, p params) error {
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	stored, err := h.cfg.Store.LogsConfig(r.Context(), s.ResourceGroup, s.Name)
	if err != nil {
		return err
	}
	doc, err := logsDocument(stored)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.configResource(p.sub, s, "logs", doc))
}

// putLogsConfig lays the sections the request names over the stored
// document and answers with the result. az sends only what its flags name
// (`--docker-container-logging` sends httpLogs alone), and App Service keeps
// the rest: a section, and each destination within one (fileSystem,
// azureBlobStorage, azureTableStorage), is replaced member by member, never
// dropped for being absent. Levels and switches are stored in App Service's
// spelling (logLevel, looseBool). docs/arm.md, "Measured with the real az".
func (h *Handler) putLogsConfig(w http.ResponseWriter, r *http.Request, p params) error {
	var body struct {
		Properties json.RawMessage `json:"properties"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	var sent logsConfig
	if len(body.Properties) > 0 {
		if err := json.Unmarshal(body.Properties, &sent); err != nil {
			if slipway.ErrorCode(err) == slipway.EINVALID {
				return err
			}
			return &apiError{Status: http.StatusBadRequest, Code: "InvalidRequestContent",
				Message: fmt.Sprintf("The request content was invalid and could not be deserialized: '%s'.", err)}
		}
	}
	if err := sent.fileSystemOnly(); err != nil {
		return err
	}
	patch, err := jsonObject(sent)
	if err != nil {
		return err
	}
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	stored, err := h.cfg.Store.UpdateLogsConfig(r.Context(), s.ResourceGroup, s.Name, func(old json.RawMessage) (json.RawMessage, error) {
		doc, err := logsDocument(old)
		if err != nil {
			return nil, err
		}
		mergeJSON(doc, patch)
		return json.Marshal(doc)
	})
	if err != nil {
		return err
	}
	if err := h.cfg.Controller.LogsConfigChanged(r.Context(), s.ResourceGroup, s.Name); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.configResource(p.sub, s, "logs", stored))
}

// logsDocument is a site's whole config/logs document: App Service's
// defaults with the stored document laid over them. A document stored
// before Slipway normalised them (az's raw "level": true, say) is shown
// normalised; one that does not read as a logs configuration at all, as it
// was stored.
func logsDocument(stored json.RawMessage) (map[string]any, error) {
	var doc map[string]any
	if err := json.Unmarshal(defaultLogsConfig, &doc); err != nil {
		return nil, fmt.Errorf("reading the default logs configuration: %w", err)
	}
	if stored == nil {
		return doc, nil
	}
	var c logsConfig
	over := any(stored)
	if json.Unmarshal(stored, &c) == nil {
		over = c
	}
	m, err := jsonObject(over)
	if err != nil {
		return nil, fmt.Errorf("reading the stored logs configuration: %w", err)
	}
	mergeJSON(doc, m)
	return doc, nil
}

// jsonObject returns v's JSON encoding decoded as an object.
func jsonObject(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding a JSON object: %w", err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decoding a JSON object: %w", err)
	}
	return m, nil
}

// mergeJSON lays src's members over dst's, object members recursively; a
// member src lacks or holds as null leaves dst's as it is.
func mergeJSON(dst, src map[string]any) {
	for k, v := range src {
		if v == nil {
			continue
		}
		if sub, ok := v.(map[string]any); ok {
			if d, ok := dst[k].(map[string]any); ok {
				mergeJSON(d, sub)
				continue
			}
		}
		dst[k] = v
	}
}

// logsConfig is the properties of config/logs as a request may send them;
// nil is "not sent". Members Azure does not define are dropped.
type logsConfig struct {
	ApplicationLogs       *logDestinations `json:"applicationLogs,omitempty"`
	HTTPLogs              *logDestinations `json:"httpLogs,omitempty"`
	FailedRequestsTracing *logToggle       `json:"failedRequestsTracing,omitempty"`
	DetailedErrorMessages *logToggle       `json:"detailedErrorMessages,omitempty"`
}

// fileSystemOnly refuses turning on a storage destination of logs (az
// webapp log config --application-logging azureblobstorage): Slipway
// writes an app's logs to its file system only, which is also all App
// Service offers Linux apps ("Enable application logging
// (Linux/Container)": File System;
// https://learn.microsoft.com/azure/app-service/troubleshoot-diagnostic-logs).
// Turning one off (`--application-logging off` sends the blob
// destination's level false) is taken.
func (c logsConfig) fileSystemOnly() error {
	refuse := func(section, dest string) error {
		return &apiError{Status: http.StatusBadRequest, Code: "BadRequest", Message: fmt.Sprintf(
			"Slipway writes an app's logs to its file system only: %s.%s cannot be turned on. Use az webapp log config --application-logging filesystem (or --web-server-logging filesystem) and read them with az webapp log tail or download.", section, dest)}
	}
	if a := c.ApplicationLogs; a != nil {
		for _, d := range []struct {
			name string
			to   *logDestination
		}{{"azureBlobStorage", a.AzureBlobStorage}, {"azureTableStorage", a.AzureTableStorage}} {
			if d.to != nil && d.to.Level != nil && *d.to.Level != "Off" {
				return refuse("applicationLogs", d.name)
			}
		}
	}
	if h := c.HTTPLogs; h != nil && h.AzureBlobStorage != nil && h.AzureBlobStorage.Enabled != nil && bool(*h.AzureBlobStorage.Enabled) {
		return refuse("httpLogs", "azureBlobStorage")
	}
	return nil
}

// logDestinations is applicationLogs or httpLogs: where those logs go (httpLogs
// has no table storage).
type logDestinations struct {
	FileSystem        *logDestination `json:"fileSystem,omitempty"`
	AzureBlobStorage  *logDestination `json:"azureBlobStorage,omitempty"`
	AzureTableStorage *logDestination `json:"azureTableStorage,omitempty"`
}

// logDestination is one destination of logs: application logs have a
// level, HTTP logs a switch and a quota; both may have a retention and a
// storage SAS URL.
type logDestination struct {
	Level           *logLevel  `json:"level,omitempty"`
	Enabled         *looseBool `json:"enabled,omitempty"`
	RetentionInMb   *int       `json:"retentionInMb,omitempty"`
	RetentionInDays *int       `json:"retentionInDays,omitempty"`
	SASURL          *string    `json:"sasUrl,omitempty"`
}

// logToggle is failedRequestsTracing or detailedErrorMessages.
type logToggle struct {
	Enabled *looseBool `json:"enabled,omitempty"`
}

// logLevels are the values of Azure's LogLevel, in its spelling.
var logLevels = []string{"Off", "Verbose", "Information", "Warning", "Error"}

// logLevel is an application log level, one of logLevels, read in any case
// (az sends `--level information` as "information"). az sends a JSON
// boolean where no level is given — true for `--application-logging
// filesystem`, false for `off` — and older az the strings "True" and
// "False"; App Service stores them as Verbose and Off (azure-cli issue
// 17207: a true sent for every level came back as Verbose).
type logLevel string

func (l *logLevel) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	s, _ := v.(string)
	if on, ok := v.(bool); ok {
		s = fmt.Sprint(on)
	}
	switch {
	case strings.EqualFold(s, "true"):
		*l = "Verbose"
		return nil
	case strings.EqualFold(s, "false"):
		*l = "Off"
		return nil
	}
	for _, name := range logLevels {
		if strings.EqualFold(s, name) {
			*l = logLevel(name)
			return nil
		}
	}
	return slipway.Errorf(slipway.EINVALID, "The log level %s is not valid. Use one of: %s.", b, strings.Join(logLevels, ", "))
}

// looseBool is a switch as az may send one: a JSON boolean, or "true" or
// "false" in any case (`--detailed-error-messages`, `--failed-request-tracing`,
// `webapp create --end-to-end-encryption-enabled`), as App Service takes
// them. It is stored as a boolean.
type looseBool bool

func (f *looseBool) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case bool:
		*f = looseBool(v)
		return nil
	case string:
		if strings.EqualFold(v, "true") || strings.EqualFold(v, "false") {
			*f = looseBool(strings.EqualFold(v, "true"))
			return nil
		}
	}
	return slipway.Errorf(slipway.EINVALID, "The value %s is not valid for a switch: use true or false.", b)
}

// siteConfig carries three switches that are config/logs seen from
// config/web, as App Service keeps them in step: httpLoggingEnabled is
// httpLogs.fileSystem.enabled (az webapp log config --web-server-logging
// filesystem), detailedErrorLoggingEnabled is detailedErrorMessages.enabled
// and requestTracingEnabled is failedRequestsTracing.enabled (azure-cli's
// test_webapp_e2e reads them back from config show after log config).
var logSwitches = []struct {
	field string   // siteConfig's name
	path  []string // its place in config/logs
}{
	{"httpLoggingEnabled", []string{"httpLogs", "fileSystem", "enabled"}},
	{"detailedErrorLoggingEnabled", []string{"detailedErrorMessages", "enabled"}},
	{"requestTracingEnabled", []string{"failedRequestsTracing", "enabled"}},
}

// logSwitchesJSON sets props' three switches from the site's config/logs.
func (h *Handler) logSwitchesJSON(ctx context.Context, s slipway.Site, props map[string]any) error {
	stored, err := h.cfg.Store.LogsConfig(ctx, s.ResourceGroup, s.Name)
	if err != nil {
		return err
	}
	doc, err := logsDocument(stored)
	if err != nil {
		return err
	}
	for _, sw := range logSwitches {
		props[sw.field] = switchAt(doc, sw.path) == true
	}
	return nil
}

// switchAt is the value at path in a logs document (nil when absent).
func switchAt(doc map[string]any, path []string) any {
	var v any = doc
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// applyLogSwitches writes the switches a siteConfig body sets into the
// site's config/logs, where they differ from what it holds, and then tells
// the controller.
func (h *Handler) applyLogSwitches(ctx context.Context, s slipway.Site, set map[string]bool) error {
	if len(set) == 0 {
		return nil
	}
	changed := false
	_, err := h.cfg.Store.UpdateLogsConfig(ctx, s.ResourceGroup, s.Name, func(old json.RawMessage) (json.RawMessage, error) {
		doc, err := logsDocument(old)
		if err != nil {
			return nil, err
		}
		for _, sw := range logSwitches {
			v, ok := set[sw.field]
			if !ok || switchAt(doc, sw.path) == v {
				continue
			}
			m := doc
			for _, k := range sw.path[:len(sw.path)-1] {
				next, ok := m[k].(map[string]any)
				if !ok {
					next = map[string]any{}
					m[k] = next
				}
				m = next
			}
			m[sw.path[len(sw.path)-1]] = v
			changed = true
		}
		return json.Marshal(doc)
	})
	if err != nil || !changed {
		return err
	}
	return h.cfg.Controller.LogsConfigChanged(ctx, s.ResourceGroup, s.Name)
}
