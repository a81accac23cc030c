package arm

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The bodies az 2.91 sends for `az webapp log config` (custom.py
// config_diagnostics, serialised by azure-mgmt-web's SdkJSONEncoder): only
// the sections its flags name, a JSON boolean for a missing --level, and
// --detailed-error-messages / --failed-request-tracing as strings.
const (
	// --application-logging filesystem --level information
	azAppLogsInformation = `{"properties": {"applicationLogs": {"fileSystem": {"level": "information"}}}}`
	// --application-logging filesystem
	azAppLogsNoLevel = `{"properties": {"applicationLogs": {"fileSystem": {"level": true}}}}`
	// --application-logging off
	azAppLogsOff = `{"properties": {"applicationLogs": {"fileSystem": {"level": false}, "azureBlobStorage": {"level": false, "retentionInDays": 3}}}}`
	// --docker-container-logging filesystem
	azContainerLogs = `{"properties": {"httpLogs": {"fileSystem": {"retentionInMb": 100, "retentionInDays": 3, "enabled": true}}}}`
	// --detailed-error-messages true
	azDetailedErrors = `{"properties": {"detailedErrorMessages": {"enabled": "true"}}}`
	// --failed-request-tracing false
	azNoFailedRequests = `{"properties": {"failedRequestsTracing": {"enabled": "false"}}}`
)

// logsProps decodes the properties of a config/logs answer.
func logsProps(t *testing.T, r response) map[string]any {
	t.Helper()
	props, ok := r.json(t)["properties"].(map[string]any)
	if !ok {
		t.Fatalf("config/logs answer has no properties object:\n%s", r.body)
	}
	return props
}

// jsonValue decodes s, for comparing with decoded answers.
func jsonValue(t *testing.T, s string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

// TestLogsConfigPartialPutsKeepOtherSections: each `az webapp log config`
// sends only the sections its flags name and App Service keeps the others,
// so successive calls add up; each answer, and a GET after it, is the whole
// document.
func TestLogsConfigPartialPutsKeepOtherSections(t *testing.T) {
	e := newEnv(t)
	e.seed()
	steps := []struct {
		name, body, want string
	}{
		{"--application-logging filesystem --level information", azAppLogsInformation,
			`{"applicationLogs":{"fileSystem":{"level":"Information"}},"httpLogs":{"fileSystem":{"retentionInMb":35,"retentionInDays":0,"enabled":false}},"failedRequestsTracing":{"enabled":false},"detailedErrorMessages":{"enabled":false}}`},
		{"--docker-container-logging filesystem", azContainerLogs,
			`{"applicationLogs":{"fileSystem":{"level":"Information"}},"httpLogs":{"fileSystem":{"retentionInMb":100,"retentionInDays":3,"enabled":true}},"failedRequestsTracing":{"enabled":false},"detailedErrorMessages":{"enabled":false}}`},
		{"--detailed-error-messages true", azDetailedErrors,
			`{"applicationLogs":{"fileSystem":{"level":"Information"}},"httpLogs":{"fileSystem":{"retentionInMb":100,"retentionInDays":3,"enabled":true}},"failedRequestsTracing":{"enabled":false},"detailedErrorMessages":{"enabled":true}}`},
		{"--failed-request-tracing false", azNoFailedRequests,
			`{"applicationLogs":{"fileSystem":{"level":"Information"}},"httpLogs":{"fileSystem":{"retentionInMb":100,"retentionInDays":3,"enabled":true}},"failedRequestsTracing":{"enabled":false},"detailedErrorMessages":{"enabled":true}}`},
		// Within a section, a destination the request does not name is kept.
		{"--application-logging off", azAppLogsOff,
			`{"applicationLogs":{"fileSystem":{"level":"Off"},"azureBlobStorage":{"level":"Off","retentionInDays":3}},"httpLogs":{"fileSystem":{"retentionInMb":100,"retentionInDays":3,"enabled":true}},"failedRequestsTracing":{"enabled":false},"detailedErrorMessages":{"enabled":true}}`},
		{"--application-logging filesystem", azAppLogsNoLevel,
			`{"applicationLogs":{"fileSystem":{"level":"Verbose"},"azureBlobStorage":{"level":"Off","retentionInDays":3}},"httpLogs":{"fileSystem":{"retentionInMb":100,"retentionInDays":3,"enabled":true}},"failedRequestsTracing":{"enabled":false},"detailedErrorMessages":{"enabled":true}}`},
		// webapp up's default logging: an empty applicationLogs changes nothing.
		{"webapp up", `{"properties":{"applicationLogs":{},"httpLogs":{"fileSystem":{"retentionInMb":100,"retentionInDays":3,"enabled":true}}}}`,
			`{"applicationLogs":{"fileSystem":{"level":"Verbose"},"azureBlobStorage":{"level":"Off","retentionInDays":3}},"httpLogs":{"fileSystem":{"retentionInMb":100,"retentionInDays":3,"enabled":true}},"failedRequestsTracing":{"enabled":false},"detailedErrorMessages":{"enabled":true}}`},
	}
	for _, s := range steps {
		want := jsonValue(t, s.want)
		put := logsProps(t, e.must(200, "PUT", sitePath+"/config/logs", s.body))
		if diff := cmp.Diff(want, put); diff != "" {
			t.Fatalf("%s: PUT answer (-want +got):\n%s", s.name, diff)
		}
		if diff := cmp.Diff(want, logsProps(t, e.must(200, "GET", sitePath+"/config/logs", ""))); diff != "" {
			t.Fatalf("%s: GET after it (-want +got):\n%s", s.name, diff)
		}
	}
	if n := strings.Count(strings.Join(e.ctl.Calls(), "\n"), "LogsConfigChanged rg/app"); n != len(steps) {
		t.Errorf("LogsConfigChanged called %d times, want %d: %v", n, len(steps), e.ctl.Calls())
	}
}

// TestLogsConfigLevelNormalised: the level is read in any case and stored
// in App Service's spelling; az's boolean for "no --level" is Verbose, its
// false (and older az's "False") Off.
func TestLogsConfigLevelNormalised(t *testing.T) {
	e := newEnv(t)
	e.seed()
	for _, tc := range []struct{ sent, want string }{
		{`"information"`, "Information"},
		{`"ERROR"`, "Error"},
		{`"warning"`, "Warning"},
		{`"Verbose"`, "Verbose"},
		{`"off"`, "Off"},
		{`true`, "Verbose"},
		{`false`, "Off"},
		{`"True"`, "Verbose"},
		{`"False"`, "Off"},
	} {
		t.Run(tc.sent, func(t *testing.T) {
			props := logsProps(t, e.must(200, "PUT", sitePath+"/config/logs", `{"properties":{"applicationLogs":{"fileSystem":{"level":`+tc.sent+`}}}}`))
			if got := props["applicationLogs"].(map[string]any)["fileSystem"].(map[string]any)["level"]; got != tc.want {
				t.Errorf("level %s stored as %v, want %q", tc.sent, got, tc.want)
			}
		})
	}
}

// TestLogsConfigRefusesBadValues: a level outside Azure's LogLevel, or an
// "enabled" that is not a boolean, is a 400 in ARM's error shape, and
// nothing is stored or applied.
func TestLogsConfigRefusesBadValues(t *testing.T) {
	e := newEnv(t)
	e.seed()
	before := e.must(200, "PUT", sitePath+"/config/logs", azContainerLogs).body
	e.ctl.Reset()
	for _, tc := range []struct{ name, body, code, says string }{
		{"unknown level", `{"properties":{"applicationLogs":{"fileSystem":{"level":"Critical"}}}}`, "BadRequest", "Off, Verbose, Information, Warning, Error"},
		{"numeric level", `{"properties":{"applicationLogs":{"azureBlobStorage":{"level":3}}}}`, "BadRequest", "The log level 3 is not valid"},
		{"empty level", `{"properties":{"applicationLogs":{"fileSystem":{"level":""}}}}`, "BadRequest", "is not valid"},
		{"enabled yes", `{"properties":{"detailedErrorMessages":{"enabled":"yes"}}}`, "BadRequest", "use true or false"},
		{"quota as text", `{"properties":{"httpLogs":{"fileSystem":{"retentionInMb":"lots"}}}}`, "InvalidRequestContent", "could not be deserialized"},
		{"properties not an object", `{"properties":[1]}`, "InvalidRequestContent", "could not be deserialized"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("PUT", sitePath+"/config/logs", tc.body)
			if r.status != 400 {
				t.Fatalf("status %d, want 400\n%s", r.status, r.body)
			}
			errObj := r.json(t)["error"].(map[string]any)
			if errObj["code"] != tc.code || !strings.Contains(errObj["message"].(string), tc.says) {
				t.Errorf("error = %v, want code %s and a message saying %q", errObj, tc.code, tc.says)
			}
		})
	}
	if after := e.must(200, "GET", sitePath+"/config/logs", "").body; string(after) != string(before) {
		t.Errorf("a refused PUT changed the document:\nbefore %s\nafter  %s", before, after)
	}
	if calls := e.ctl.Calls(); len(calls) != 0 {
		t.Errorf("a refused PUT was applied: %v", calls)
	}
}

// TestLogsConfigStoredBeforeNormalising: a document stored as az sent it
// (before Slipway merged and normalised) reads back whole and normalised.
func TestLogsConfigStoredBeforeNormalising(t *testing.T) {
	e := newEnv(t)
	e.seed()
	if err := e.store.SetLogsConfig(t.Context(), "rg", "app", json.RawMessage(`{"applicationLogs":{"fileSystem":{"level":true}},"detailedErrorMessages":{"enabled":"true"}}`)); err != nil {
		t.Fatal(err)
	}
	want := jsonValue(t, `{"applicationLogs":{"fileSystem":{"level":"Verbose"}},"httpLogs":{"fileSystem":{"retentionInMb":35,"retentionInDays":0,"enabled":false}},"failedRequestsTracing":{"enabled":false},"detailedErrorMessages":{"enabled":true}}`)
	if diff := cmp.Diff(want, logsProps(t, e.must(200, "GET", sitePath+"/config/logs", ""))); diff != "" {
		t.Errorf("GET (-want +got):\n%s", diff)
	}
}

// TestLogSwitchesInSiteConfig: config/web's httpLoggingEnabled,
// detailedErrorLoggingEnabled and requestTracingEnabled are config/logs
// seen from there, both ways, as App Service keeps them (azure-cli's
// test_webapp_e2e checks them after `webapp log config`, and
// test_webapp_config_appsettings sets requestTracingEnabled through
// `config set --generic-configurations`); writing back what GET showed
// changes nothing.
func TestLogSwitchesInSiteConfig(t *testing.T) {
	e := newEnv(t)
	e.seed()
	cfg := sitePath + "/config/web"
	show := func() map[string]any {
		return e.must(200, "GET", cfg, "").json(t)["properties"].(map[string]any)
	}
	for _, f := range []string{"httpLoggingEnabled", "detailedErrorLoggingEnabled", "requestTracingEnabled"} {
		if v := show()[f]; v != false {
			t.Fatalf("a new site's %s: %v", f, v)
		}
	}
	e.must(200, "PUT", sitePath+"/config/logs", `{"properties":{"httpLogs":{"fileSystem":{"retentionInMb":35,"enabled":true}},"detailedErrorMessages":{"enabled":true},"failedRequestsTracing":{"enabled":true}}}`)
	p := show()
	if p["httpLoggingEnabled"] != true || p["detailedErrorLoggingEnabled"] != true || p["requestTracingEnabled"] != true {
		t.Errorf("config/web after log config: %v %v %v", p["httpLoggingEnabled"], p["detailedErrorLoggingEnabled"], p["requestTracingEnabled"])
	}
	e.must(200, "PATCH", cfg, `{"properties":{"requestTracingEnabled":false,"httpLoggingEnabled":false}}`)
	logs := string(e.must(200, "GET", sitePath+"/config/logs", "").body)
	if !strings.Contains(logs, `"failedRequestsTracing":{"enabled":false}`) || !strings.Contains(logs, `"detailedErrorMessages":{"enabled":true}`) {
		t.Errorf("config/logs after config/web turned tracing off: %s", logs)
	}
	if p := show(); p["requestTracingEnabled"] != false || p["httpLoggingEnabled"] != false || p["detailedErrorLoggingEnabled"] != true {
		t.Errorf("config/web after turning two off: %v", p)
	}
	// az's round trip: GET config/web, PUT it back unchanged — no change.
	before := string(e.must(200, "GET", sitePath+"/config/logs", "").body)
	back, _ := json.Marshal(map[string]any{"properties": show()})
	e.must(200, "PUT", cfg, string(back))
	if after := string(e.must(200, "GET", sitePath+"/config/logs", "").body); after != before {
		t.Errorf("writing config/web back unchanged changed config/logs:\n%s\n%s", before, after)
	}
}

// TestLogsConfigFileSystemOnly: a storage destination of logs is refused
// when turned on (found by azure-cli's scenario replay: `az webapp log
// config --application-logging azureblobstorage` was stored and answered
// while no log ever went to storage), and taken when turned off, as
// `--application-logging off` sends it.
func TestLogsConfigFileSystemOnly(t *testing.T) {
	e := newEnv(t)
	e.seed()
	before := e.must(200, "PUT", sitePath+"/config/logs", azContainerLogs).body
	for _, tc := range []struct{ name, body, says string }{
		// az 2.91's body for --application-logging azureblobstorage.
		{"app logs to blob", `{"properties": {"applicationLogs": {"azureBlobStorage": {"level": true, "retentionInDays": 3}}}}`, "applicationLogs.azureBlobStorage cannot be turned on"},
		{"app logs to blob with a level", `{"properties":{"applicationLogs":{"azureBlobStorage":{"level":"Error","sasUrl":"https://acct.blob.core.windows.net/logs?sig=x"}}}}`, "applicationLogs.azureBlobStorage"},
		{"app logs to table", `{"properties":{"applicationLogs":{"azureTableStorage":{"level":"Verbose","sasUrl":"https://acct.table.core.windows.net/logs?sig=x"}}}}`, "applicationLogs.azureTableStorage"},
		{"http logs to blob", `{"properties":{"httpLogs":{"azureBlobStorage":{"enabled":true,"sasUrl":"https://acct.blob.core.windows.net/logs?sig=x"}}}}`, "httpLogs.azureBlobStorage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("PUT", sitePath+"/config/logs", tc.body)
			if r.status != 400 {
				t.Fatalf("status %d, want 400\n%s", r.status, r.body)
			}
			if msg := armError(t, r); !strings.Contains(msg, tc.says) || !strings.Contains(msg, "file system only") {
				t.Errorf("message %q, want it to say %q", msg, tc.says)
			}
		})
	}
	if after := e.must(200, "GET", sitePath+"/config/logs", "").body; string(after) != string(before) {
		t.Errorf("a refused PUT changed the document:\nbefore %s\nafter  %s", before, after)
	}
	e.must(200, "PUT", sitePath+"/config/logs", azAppLogsOff)
	e.must(200, "PUT", sitePath+"/config/logs", `{"properties":{"httpLogs":{"azureBlobStorage":{"enabled":false}}}}`)
}
