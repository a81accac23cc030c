package slipway

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// InsightsComponent is an Application Insights component (ARM type
// Microsoft.Insights/components): where an app's telemetry goes. Apps
// name it by its instrumentation key (in APPLICATIONINSIGHTS_CONNECTION_STRING);
// Application Insights' query API names it by its application id
// (https://learn.microsoft.com/azure/azure-monitor/app/create-workspace-resource).
// Both are random GUIDs made when the component is created and never
// changed, as on Azure ("You cannot specify a different value for
// InstrumentationKey nor AppId in the Put operation",
// https://learn.microsoft.com/rest/api/application-insights/components/create-or-update).
type InsightsComponent struct {
	ResourceGroup string
	Name          string
	Location      string
	Tags          map[string]string
	// Kind is the free-form kind the client gave ("web", "other", ...).
	Kind string
	// ApplicationType is properties.Application_Type ("web", "other").
	ApplicationType    string
	InstrumentationKey string
	AppID              string
	// RetentionInDays is how long telemetry is kept: one of
	// InsightsRetentionDays, DefaultInsightsRetentionDays when not given.
	RetentionInDays int
	// IngestionMode and WorkspaceResourceID are accepted and echoed: a
	// workspace-based component's Log Analytics workspace is not a
	// resource Slipway has; its telemetry is kept with the component.
	IngestionMode       string
	WorkspaceResourceID string
	// FlowType and RequestSource say which tool made the component
	// (Flow_Type, Request_Source), echoed.
	FlowType      string
	RequestSource string
	// SamplingPercentage is the percentage of telemetry the app is asked
	// to send (0 < p <= 100); 0 means not set.
	SamplingPercentage float64
	DisableIPMasking   bool
	DisableLocalAuth   bool
	// PublicNetworkAccessForIngestion and PublicNetworkAccessForQuery are
	// "Enabled" or "Disabled"; recorded, not enforced.
	PublicNetworkAccessForIngestion string
	PublicNetworkAccessForQuery     string
	Created                         time.Time
}

// DefaultInsightsRetentionDays is a component's retention when none is
// given, as on Azure.
const DefaultInsightsRetentionDays = 90

// InsightsRetentionDays are the retentions Azure offers a component.
var InsightsRetentionDays = []int{30, 60, 90, 120, 180, 270, 365, 550, 730}

// Ingestion modes of a component (properties.IngestionMode).
const (
	IngestionApplicationInsights                       = "ApplicationInsights"
	IngestionApplicationInsightsWithDiagnosticSettings = "ApplicationInsightsWithDiagnosticSettings"
	IngestionLogAnalytics                              = "LogAnalytics"
)

// Validate reports whether c can be stored.
func (c InsightsComponent) Validate() error {
	if err := ValidateInsightsComponentName(c.Name); err != nil {
		return err
	}
	if c.RetentionInDays != 0 && !slices.Contains(InsightsRetentionDays, c.RetentionInDays) {
		return Errorf(EINVALID, "RetentionInDays %d is not supported: use one of 30, 60, 90, 120, 180, 270, 365, 550 or 730.", c.RetentionInDays)
	}
	if c.SamplingPercentage < 0 || c.SamplingPercentage > 100 {
		return Errorf(EINVALID, "SamplingPercentage %g is out of range: use a percentage above 0 and at most 100.", c.SamplingPercentage)
	}
	switch c.IngestionMode {
	case "", IngestionApplicationInsights, IngestionApplicationInsightsWithDiagnosticSettings, IngestionLogAnalytics:
	default:
		return Errorf(EINVALID, "IngestionMode '%s' is not supported: use ApplicationInsights, ApplicationInsightsWithDiagnosticSettings or LogAnalytics.", c.IngestionMode)
	}
	for what, v := range map[string]string{"publicNetworkAccessForIngestion": c.PublicNetworkAccessForIngestion, "publicNetworkAccessForQuery": c.PublicNetworkAccessForQuery} {
		if v != "" && v != "Enabled" && v != "Disabled" {
			return Errorf(EINVALID, "%s '%s' is not supported: use Enabled or Disabled.", what, v)
		}
	}
	for what, v := range map[string]string{"kind": c.Kind, "Application_Type": c.ApplicationType, "Flow_Type": c.FlowType,
		"Request_Source": c.RequestSource, "WorkspaceResourceId": c.WorkspaceResourceID} {
		if len(v) > 1024 || !utf8.ValidString(v) || strings.ContainsFunc(v, isControl) {
			return Errorf(EINVALID, "The component's %s must be at most 1024 characters, none of them control characters.", what)
		}
	}
	return nil
}

// ValidateInsightsComponentName checks a component's name as Azure does:
// 1-260 characters, none of %&\?/ or control characters, not ending in a
// space or '.'
// (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftinsights).
// '#', '<', '>' and ':' are refused as well: they cannot round-trip in a
// resource id.
func ValidateInsightsComponentName(name string) error {
	bad := name == "" || utf8.RuneCountInString(name) > 260 || !utf8.ValidString(name) ||
		strings.HasSuffix(name, ".") || strings.HasSuffix(name, " ") ||
		strings.ContainsAny(name, `%&\?/#<>:`) || strings.ContainsFunc(name, isControl)
	if bad {
		return Errorf(EINVALID, "The Application Insights component name '%s' is invalid: use 1-260 characters other than %%&\\?/#<>: and control characters, not ending in '.' or a space.", name)
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
