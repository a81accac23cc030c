package cli

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWebjobOutput: a job as the server answers (Kudu's members in ARM's
// envelope) prints as the real az 2.91 printed the same answer: the SDK
// model's fields in camelCase, null where absent, Kudu's own extras (a
// run's id and name) dropped, times as Python's isoformat, resourceGroup
// added.
func TestWebjobOutput(t *testing.T) {
	const answer = `{
	  "id": "/subscriptions/s1/resourceGroups/rg-wjx/providers/Microsoft.Web/sites/wjx-app/triggeredwebjobs/report",
	  "name": "wjx-app/report", "type": "Microsoft.Web/sites/triggeredwebjobs",
	  "properties": {
	    "name": "report", "type": "triggered", "run_command": "run.sh", "using_sdk": false, "error": null,
	    "url": "https://wjx-app.scm.localhost/api/triggeredwebjobs/report",
	    "extra_info_url": "https://wjx-app.scm.localhost/azurejobs/#/jobs/triggered/report",
	    "history_url": "https://wjx-app.scm.localhost/api/triggeredwebjobs/report/history",
	    "scheduler_logs_url": "https://wjx-app.scm.localhost/vfs/data/jobs/triggered/report/job_scheduler.log",
	    "settings": {"note": "kept"}, "web_job_type": "Triggered",
	    "latest_run": {"id": "202612071232564954", "name": "202612071232564954", "status": "Running",
	      "start_time": "2026-12-07T12:32:56.4954410Z", "end_time": "0001-01-01T00:00:00", "duration": "00:00:00.0156713",
	      "output_url": null, "error_url": null, "job_name": "report", "trigger": "External - slipway-cli",
	      "url": "https://wjx-app.scm.localhost/api/triggeredwebjobs/report/history/202612071232564954"}
	  }
	}`
	const want = `{
	  "error": null,
	  "extraInfoUrl": "https://wjx-app.scm.localhost/azurejobs/#/jobs/triggered/report",
	  "historyUrl": "https://wjx-app.scm.localhost/api/triggeredwebjobs/report/history",
	  "id": "/subscriptions/s1/resourceGroups/rg-wjx/providers/Microsoft.Web/sites/wjx-app/triggeredwebjobs/report",
	  "kind": null,
	  "latestRun": {
	    "duration": "00:00:00.0156713", "endTime": "0001-01-01T00:00:00", "errorUrl": null, "jobName": "report",
	    "outputUrl": null, "startTime": "2026-12-07T12:32:56.495441+00:00", "status": "Running",
	    "trigger": "External - slipway-cli",
	    "url": "https://wjx-app.scm.localhost/api/triggeredwebjobs/report/history/202612071232564954",
	    "webJobId": null, "webJobName": null
	  },
	  "name": "wjx-app/report",
	  "publicNetworkAccess": null,
	  "resourceGroup": "rg-wjx",
	  "runCommand": "run.sh",
	  "schedulerLogsUrl": "https://wjx-app.scm.localhost/vfs/data/jobs/triggered/report/job_scheduler.log",
	  "settings": {"note": "kept"},
	  "storageAccountRequired": null,
	  "systemData": null,
	  "type": "Microsoft.Web/sites/triggeredwebjobs",
	  "url": "https://wjx-app.scm.localhost/api/triggeredwebjobs/report",
	  "usingSdk": false,
	  "webJobType": "Triggered"
	}`
	var res, wantV map[string]any
	if err := json.Unmarshal([]byte(answer), &res); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &wantV); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantV, triggeredJobModel.resource(res)); diff != "" {
		t.Errorf("triggered job (-az +slipway):\n%s", diff)
	}
}

// TestPythonISOTime: times as azure-mgmt-web parses them and az prints
// them (datetime.isoformat).
func TestPythonISOTime(t *testing.T) {
	for in, want := range map[string]string{
		"2026-12-07T12:32:56.4954415Z": "2026-12-07T12:32:56.495441+00:00", // cut, not rounded, to microseconds
		"2026-12-07T12:32:56.5Z":       "2026-12-07T12:32:56.500000+00:00",
		"2026-12-07T12:32:56Z":         "2026-12-07T12:32:56+00:00",
		"2026-12-07T12:32:56.0000000Z": "2026-12-07T12:32:56+00:00",
		"2026-12-07T12:32:56.25-05:30": "2026-12-07T12:32:56.250000-05:30",
		"0001-01-01T00:00:00":          "0001-01-01T00:00:00", // .NET's zero time, no zone
		"2026-12-07T12:32:56.1234567":  "2026-12-07T12:32:56.123456",
		"not a time":                   "not a time",
	} {
		if got := pythonISOTime(in); got != want {
			t.Errorf("pythonISOTime(%q) = %q, want %q", in, got, want)
		}
	}
}
