// Package insights is Slipway's Application Insights: the telemetry an
// app's OpenTelemetry distro or Application Insights SDK sends
// (requests, dependencies, exceptions, traces, events, metrics) is taken
// at the ingestion API those clients speak, kept per component, and read
// back through Application Insights' REST API for events.
//
// A component (Microsoft.Insights/components, made through ARM) has an
// instrumentation key and an application id. Its connection string, the
// app setting APPLICATIONINSIGHTS_CONNECTION_STRING as on App Service
// ("Connection strings",
// https://learn.microsoft.com/azure/azure-monitor/app/connection-strings),
// names the platform's ingestion endpoint, so an app configured with
// `configure_azure_monitor()` sends its telemetry here unchanged.
//
// The ingestion API (ingest.go): POST /v2.1/track and /v2/track, a JSON
// array of envelopes (or newline-delimited envelopes), optionally gzipped;
// each envelope names its component by iKey. The answer is Breeze's:
// {"itemsReceived","itemsAccepted","errors":[{"index","statusCode","message"}]},
// 200 when all were taken, 206 when some, 400 when none. Anyone may send
// telemetry to a key they know, as on Azure (where the key is not a
// secret); what is stored is bounded per component in count and age, so
// a flood evicts its own component's oldest items only.
//
// The query API (query.go): GET /v1/apps/{appId}/events/{type}[/{id}],
// Application Insights' REST API for events, to callers the platform's
// access control allows to read the component.
package insights

import (
	"strings"
)

// Label is the label of the service's hosts under the platform's domain:
// the front door routes every <name>.insights.<domain> to it.
const Label = "insights"

// IngestionHost is where telemetry is sent (Azure's
// dc.services.visualstudio.com and <region>.in.applicationinsights.azure.com),
// and QueryHost where it is read (api.applicationinsights.io); the
// instances' sandboxes resolve both to the platform.
func IngestionHost(domain string) string { return "dc." + Label + "." + domain }

// QueryHost: see IngestionHost.
func QueryHost(domain string) string { return "api." + Label + "." + domain }

// IngestionEndpoint is the ingestion endpoint components' connection
// strings name, at the front door's port (hostSuffix, ":8080", or "").
func IngestionEndpoint(domain, hostSuffix string) string {
	return "https://" + IngestionHost(domain) + hostSuffix + "/"
}

// ConnectionString is a component's connection string, in Azure's form:
// InstrumentationKey=<key>;IngestionEndpoint=<endpoint>;ApplicationId=<app id>.
// endpoint is the platform's ingestion endpoint, ending in "/".
func ConnectionString(instrumentationKey, appID, endpoint string) string {
	if !strings.HasSuffix(endpoint, "/") {
		endpoint += "/"
	}
	return "InstrumentationKey=" + instrumentationKey + ";IngestionEndpoint=" + endpoint + ";ApplicationId=" + appID
}
