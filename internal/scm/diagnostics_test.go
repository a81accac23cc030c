package scm

import (
	"net/http"
	"os"
	"strings"
	"testing"
)

const diagDefaults = `{"AzureDriveEnabled":false,"AzureDriveTraceLevel":"Error","AzureTableEnabled":false,"AzureTableTraceLevel":"Error","AzureBlobEnabled":false,"AzureBlobTraceLevel":"Error"`

// TestDiagnosticsSettings follows KuduLite's DiagnosticsController: the
// six known settings with their defaults, POST sets a JSON object's
// settings (204; the known ones it leaves out go back to their defaults),
// GET of one answers its JSON value (a trace level as its number), 404
// for one that does not exist, DELETE removes one of the others (204).
// The file is the app's own, in /home/site/diagnostics.
func TestDiagnosticsSettings(t *testing.T) {
	e := newVFS(t)
	e.mkdir("site") // the app's, as PrepareHome makes it
	const p = "/api/diagnostics/settings"
	want(t, "GET defaults", e.do("GET", p, nil), http.StatusOK, diagDefaults+"}")
	want(t, "POST", e.do("POST", p, strings.NewReader(`{"AzureBlobEnabled":true,"AzureBlobTraceLevel":"verbose","team":"ops","n":{"a":[1,2]}}`), "Content-Type", "application/json"), http.StatusNoContent, "")
	want(t, "GET after POST", e.do("GET", "/diagnostics/settings", nil), http.StatusOK,
		`{"AzureDriveEnabled":false,"AzureDriveTraceLevel":"Error","AzureTableEnabled":false,"AzureTableTraceLevel":"Error","AzureBlobEnabled":true,"AzureBlobTraceLevel":"Verbose","team":"ops","n":{"a":[1,2]}}`)
	e.owned("site/diagnostics/settings.json", 0o600)
	for _, tc := range []struct{ key, body string }{{"AzureBlobEnabled", "true"}, {"AzureBlobTraceLevel", "16"}, {"team", `"ops"`}} {
		r := e.do("GET", p+"/"+tc.key, nil)
		if r.status != http.StatusOK || r.body != tc.body {
			t.Errorf("GET %s = %d %q, want 200 %q", tc.key, r.status, r.body, tc.body)
		}
	}
	want(t, "GET missing", e.do("GET", p+"/nope", nil), http.StatusNotFound, "The setting 'nope' does not exist.")
	want(t, "DELETE team", e.do("DELETE", p+"/team", nil), http.StatusNoContent, "")
	want(t, "DELETE known", e.do("DELETE", p+"/AzureBlobEnabled", nil), http.StatusNoContent, "")
	want(t, "GET team after DELETE", e.do("GET", p+"/team", nil), http.StatusNotFound, "")
	want(t, "GET known after DELETE", e.do("GET", p+"/AzureBlobEnabled", nil), http.StatusOK, "true")
	// KuduLite sets every known setting of the object posted, defaults included.
	want(t, "POST other", e.do("POST", p, strings.NewReader(`{"x":1}`), "Content-Type", "application/json"), http.StatusNoContent, "")
	want(t, "GET after other", e.do("GET", p, nil), http.StatusOK, diagDefaults+`,"n":{"a":[1,2]},"x":1}`)

	for _, tc := range []struct{ body, ct, msg string }{
		{`{"AzureDriveEnabled":"yes"}`, "application/json", "must be true or false"},
		{`{"AzureDriveTraceLevel":2}`, "application/json", "trace level"},
		{`{"AzureDriveTraceLevel":"Loud"}`, "application/json", "trace level"},
		{`[1]`, "application/json", "JSON object"},
		{`{"a":1}{"b":2}`, "application/json", "one JSON object"},
		{`{"a":1}`, "application/x-www-form-urlencoded", "Content-Type: application/json"},
		{`{"a":"` + strings.Repeat("x", maxDiagnosticsBytes) + `"}`, "application/json", "larger than"},
	} {
		want(t, "POST "+tc.body[:min(len(tc.body), 40)], e.do("POST", p, strings.NewReader(tc.body), "Content-Type", tc.ct), http.StatusBadRequest, tc.msg)
	}
	want(t, "GET after refusals", e.do("GET", p, nil), http.StatusOK, diagDefaults+`,"n":{"a":[1,2]},"x":1}`)
	// A file the app corrupted reads as the defaults, as KuduLite resets it.
	e.write("site/diagnostics/settings.json", "{not json")
	want(t, "GET corrupted", e.do("GET", p, nil), http.StatusOK, diagDefaults+"}")
	want(t, "another app's credentials", e.doAs("app", "$other", "pass-other", "GET", p, nil), http.StatusUnauthorized, "")
}

// TestDiagnosticsSettingsStayInTheHome: a settings file or folder the app
// made a link to a host file or folder: nothing outside the home is read
// or written.
func TestDiagnosticsSettingsStayInTheHome(t *testing.T) {
	const body = `{"AzureDriveEnabled":true}`
	t.Run("file", func(t *testing.T) {
		e, secret, hostDir := hostile(t)
		os.WriteFile(secret, []byte(`{"stolen":"`+hostSecret+`"}`), 0o644)
		e.symlink(secret, "site/diagnostics/settings.json")
		if r := e.do("GET", "/api/diagnostics/settings", nil); strings.Contains(r.body, hostSecret) {
			t.Fatalf("the host file was read: %q", r.body)
		}
		e.do("POST", "/api/diagnostics/settings", strings.NewReader(body), "Content-Type", "application/json")
		if b, _ := os.ReadFile(secret); !strings.Contains(string(b), "stolen") {
			t.Fatalf("the host file was written: %q", b)
		}
		os.WriteFile(secret, []byte(hostSecret), 0o644)
		untouched(t, secret, hostDir)
	})
	t.Run("folder", func(t *testing.T) {
		e, secret, hostDir := hostile(t)
		e.symlink(hostDir, "site/diagnostics")
		r := e.do("POST", "/api/diagnostics/settings", strings.NewReader(body), "Content-Type", "application/json")
		if r.status < 400 {
			t.Errorf("POST through a link out of the home = %d %q, want a refusal", r.status, r.body)
		}
		e.do("DELETE", "/api/diagnostics/settings/x", nil)
		untouched(t, secret, hostDir)
	})
}

// TestRecentLogs follows KuduLite's ApplicationLogsReader: entries of the
// *-*.txt files of /home/LogFiles/Application whose first line is an
// entry (not *-logging-errors.txt), newest first, a line that is not an
// entry's first joined to the entry above; top between 1 and 1000.
func TestRecentLogs(t *testing.T) {
	e, secret, _ := hostile(t)
	e.write("LogFiles/Application/app-1.txt", "2026-01-02T10:00:00  PID[7] Information started\n"+
		"2026-01-02T10:00:05  PID[7] Error boom\nTraceback line\n"+
		"2026-01-02T10:00:03  PID[7] Warning careful\n")
	e.write("LogFiles/Application/app-2.txt", "2026-01-02T10:00:04  PID[8] Information other file\n")
	e.write("LogFiles/Application/x-logging-errors.txt", "2026-01-02T11:00:00  PID[9] Error excluded\n")
	e.write("LogFiles/Application/plain-1.txt", "not an entry\n2026-01-02T12:00:00  PID[9] Error excluded\n")
	e.write("LogFiles/Application/nodash.txt", "2026-01-02T12:00:00  PID[9] Error excluded\n")
	os.WriteFile(secret, []byte("2026-01-02T13:00:00  PID[1] Error "+hostSecret+"\n"), 0o644)
	e.symlink(secret, "LogFiles/Application/host-1.txt")
	if err := os.Link(secret, e.path("LogFiles/Application/hard-1.txt")); err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/api/logs/recent", nil)
	want(t, "GET /api/logs/recent", r, http.StatusOK,
		`[{"timestamp":"2026-01-02T10:00:05+00:00","level":"Error","pid":7,"message":"boom\nTraceback line"},`+
			`{"timestamp":"2026-01-02T10:00:04+00:00","level":"Information","pid":8,"message":"other file"},`+
			`{"timestamp":"2026-01-02T10:00:03+00:00","level":"Warning","pid":7,"message":"careful"},`+
			`{"timestamp":"2026-01-02T10:00:00+00:00","level":"Information","pid":7,"message":"started"}]`)
	want(t, "top=1", e.do("GET", "/api/logs/recent?top=1", nil), http.StatusOK, `[{"timestamp":"2026-01-02T10:00:05+00:00","level":"Error","pid":7,"message":"boom\nTraceback line"}]`)
	for _, top := range []string{"0", "-1", "1001", "x"} {
		want(t, "top="+top, e.do("GET", "/api/logs/recent?top="+top, nil), http.StatusBadRequest, "must be positive and not exceed 1000")
	}
	os.RemoveAll(e.path("LogFiles/Application"))
	want(t, "no logs", e.do("GET", "/logs/recent", nil), http.StatusOK, "[]")
	want(t, "another app's credentials", e.doAs("app", "$other", "pass-other", "GET", "/api/logs/recent", nil), http.StatusUnauthorized, "")
}
