package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/output")

// site is a Site as docs/arm.md §1.15 shows it (trimmed).
const siteJSON = `{
  "id": "/subscriptions/s/resourceGroups/rg1/providers/Microsoft.Web/sites/myapp",
  "name": "myapp", "type": "Microsoft.Web/sites", "kind": "app,linux", "location": "West Europe", "tags": {},
  "properties": {
    "state": "Running", "enabled": true, "defaultHostName": "myapp.localhost", "resourceGroup": "rg1",
    "enabledHostNames": ["myapp.localhost", "myapp.scm.localhost"],
    "serverFarmId": "/subscriptions/s/resourceGroups/rg1/providers/Microsoft.Web/serverfarms/plan1",
    "siteConfig": {"numberOfWorkers": 1, "linuxFxVersion": "PYTHON|3.12"},
    "httpsOnly": false, "containerSize": 0, "clientAffinityEnabled": true,
    "description": "<b>&amp; not escaped</b>"
  }
}`

// TestOutputGolden checks the three output formats against golden files
// (go test ./internal/cli -run TestOutputGolden -update rewrites them).
func TestOutputGolden(t *testing.T) {
	var site map[string]any
	if err := json.Unmarshal([]byte(siteJSON), &site); err != nil {
		t.Fatal(err)
	}
	sites := []any{withPlanName(siteOutput(site)), withPlanName(siteOutput(site))}
	settings := settingsOutput(map[string]any{"DEBUG": "false", "SECRET_KEY": "s3cr3t", "WEBSITES_PORT": "8000"}, []string{"SECRET_KEY"}, false)
	tests := []struct {
		name   string
		format string
		v      any
		cols   []column
	}{
		{"site.json", "json", siteOutput(site), nil},
		{"sites.table", "table", sites, webappColumns},
		{"sites.tsv", "tsv", sites, webappColumns},
		{"settings.json", "json", settings, settingColumns},
		{"settings.table", "table", settings, settingColumns},
		{"settings.redacted.json", "json", settingsOutput(map[string]any{"A": "1"}, nil, true), settingColumns},
		{"auto-columns.table", "table", []any{map[string]any{"name": "a", "count": 2.0, "ok": true, "nested": map[string]any{"x": 1}}}, nil},
		{"strings.table", "table", []any{"PYTHON:3.12", "PYTHON:3.13"}, nil},
		{"empty.json", "json", []any{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			inv := &invocation{stdout: &out, flags: parsedFlags{values: map[string][]string{"output": {tt.format}}}}
			if err := inv.printResult(tt.v, tt.cols); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "output", tt.name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), out.String()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

// TestSiteOutputShape checks the az shape rules: properties flattened,
// serverFarmId renamed appServicePlanId (docs/arm.md §1.6).
func TestSiteOutputShape(t *testing.T) {
	var site map[string]any
	_ = json.Unmarshal([]byte(siteJSON), &site)
	out := siteOutput(site)
	if _, ok := out["properties"]; ok {
		t.Error("properties not flattened")
	}
	if _, ok := out["serverFarmId"]; ok {
		t.Error("serverFarmId not renamed")
	}
	if out["appServicePlanId"] != "/subscriptions/s/resourceGroups/rg1/providers/Microsoft.Web/serverfarms/plan1" || out["defaultHostName"] != "myapp.localhost" || out["name"] != "myapp" {
		t.Errorf("unexpected output %v", out)
	}
}

func TestParseAPIError(t *testing.T) {
	tests := []struct {
		name string
		body string
		want apiError
	}{
		{"arm envelope", `{"error":{"code":"ResourceNotFound","message":"gone"}}`, apiError{Status: 404, Code: "ResourceNotFound", Message: "gone"}},
		{"top level", `{"code":"Conflict","message":"busy"}`, apiError{Status: 404, Code: "Conflict", Message: "busy"}},
		{"text", "There is a deployment currently in progress.\n", apiError{Status: 404, Message: "There is a deployment currently in progress."}},
		{"empty", "", apiError{Status: 404, Message: "The server answered 404 Not Found."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseAPIError(404, []byte(tt.body))
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if got := (&apiError{Code: "ResourceNotFound", Message: "gone"}).Error(); got != "(ResourceNotFound) gone" {
		t.Errorf("rendered as %q, want az's (<code>) <message>", got)
	}
}

func TestRenderExitCodes(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode int
		wantText string
	}{
		{"nil", nil, 0, ""},
		{"not found", toExitError(&apiError{Status: 404, Code: "ResourceNotFound", Message: "gone"}), 3, "ERROR: (ResourceNotFound) gone\nHINT: Check the names with `slipway webapp list` or `slipway appservice plan list`.\n"},
		{"conflict", toExitError(&apiError{Status: 409, Code: "Conflict", Message: "busy"}), 1, "ERROR: (Conflict) busy\nHINT: Wait for the operation under way to finish, or choose another name.\n"},
		// App Service's slot limit is a Conflict too, but waiting or renaming never helps.
		{"slot limit", toExitError(&apiError{Status: 409, Code: "Conflict", Message: "Cannot complete the operation because the site will exceed the number of slots allowed for the 'Basic' SKU."}), 1,
			"ERROR: (Conflict) Cannot complete the operation because the site will exceed the number of slots allowed for the 'Basic' SKU.\n" +
				"HINT: Deployment slots need a Standard (5, counting production) or Premium (20) plan: scale it up with `slipway appservice plan update -g <group> -n <plan> --sku S1`.\n"},
		{"usage", usageErrorf("webapp up", "bad"), 2, "ERROR: bad\nHINT: Run `slipway webapp up --help` for usage.\n"},
		{"plain", os.ErrPermission, 1, "ERROR: permission denied\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if code := render(&b, tt.err); code != tt.wantCode {
				t.Errorf("code = %d, want %d", code, tt.wantCode)
			}
			if diff := cmp.Diff(tt.wantText, b.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
