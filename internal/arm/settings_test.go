package arm

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
)

// TestSettingValuesAcceptJSONScalars: ARM takes any JSON scalar as an app
// setting's or connection string's value and stores its text — `az webapp
// up` sends "SCM_DO_BUILD_DURING_DEPLOYMENT": true (docs/arm.md, "Measured with
// the real az") and App Service keeps "True", as .NET writes a boolean
// (azure-cli's test_webapp_up_python_e2e). Objects and arrays are a 400
// naming the setting.
func TestSettingValuesAcceptJSONScalars(t *testing.T) {
	const farm = `"serverFarmId":"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan"`
	tests := []struct {
		name, method, path, body string
		settings                 map[string]string                   // app settings stored after, if not nil
		conns                    map[string]slipway.ConnectionString // connection strings stored after, if not nil
		badName                  string                              // a 400 naming this setting
	}{
		{
			name: "site PUT siteConfig.appSettings", method: "PUT", path: webPath + "/sites/newapp",
			body:     `{"location":"westeurope","properties":{` + farm + `,"siteConfig":{"appSettings":[{"name":"SCM_DO_BUILD_DURING_DEPLOYMENT","value":true},{"name":"OFF","value":false},{"name":"N","value":1.5},{"name":"I","value":42},{"name":"NUL","value":null},{"name":"NONE"},{"name":"S","value":"text"}]}}}`,
			settings: map[string]string{"SCM_DO_BUILD_DURING_DEPLOYMENT": "True", "OFF": "False", "N": "1.5", "I": "42", "NUL": "", "NONE": "", "S": "text"},
		},
		{
			name: "site PUT siteConfig.connectionStrings", method: "PUT", path: webPath + "/sites/newapp",
			body:  `{"location":"westeurope","properties":{` + farm + `,"siteConfig":{"connectionStrings":[{"name":"A","connectionString":7,"type":"Custom"},{"name":"B","connectionString":true,"type":"Custom"},{"name":"C","connectionString":null,"type":"Custom"}]}}}`,
			conns: map[string]slipway.ConnectionString{"A": {Value: "7", Type: "Custom"}, "B": {Value: "True", Type: "Custom"}, "C": {Value: "", Type: "Custom"}},
		},
		{
			name: "config/appsettings PUT", method: "PUT", path: webPath + "/sites/newapp/config/appsettings",
			body:     `{"properties":{"SCM_DO_BUILD_DURING_DEPLOYMENT":true,"WORKERS":4,"RATIO":0.25,"EMPTY":null,"S":"x"}}`,
			settings: map[string]string{"SCM_DO_BUILD_DURING_DEPLOYMENT": "True", "WORKERS": "4", "RATIO": "0.25", "EMPTY": "", "S": "x"},
		},
		{
			name: "config/connectionstrings PUT", method: "PUT", path: webPath + "/sites/newapp/config/connectionstrings",
			body:  `{"properties":{"DB":{"value":false,"type":"Custom"},"N":{"value":3,"type":"Custom"},"Z":{"value":null,"type":"Custom"}}}`,
			conns: map[string]slipway.ConnectionString{"DB": {Value: "False", Type: "Custom"}, "N": {Value: "3", Type: "Custom"}, "Z": {Value: "", Type: "Custom"}},
		},
		{
			name: "site PUT: object value", method: "PUT", path: webPath + "/sites/newapp",
			body:    `{"location":"westeurope","properties":{` + farm + `,"siteConfig":{"appSettings":[{"name":"OBJ","value":{"a":1}}]}}}`,
			badName: "OBJ",
		},
		{
			name: "site PUT: array connection string", method: "PUT", path: webPath + "/sites/newapp",
			body:    `{"location":"westeurope","properties":{` + farm + `,"siteConfig":{"connectionStrings":[{"name":"ARR","connectionString":[1],"type":"Custom"}]}}}`,
			badName: "ARR",
		},
		{
			name: "config/appsettings PUT: array value", method: "PUT", path: webPath + "/sites/newapp/config/appsettings",
			body:    `{"properties":{"OK":"1","LIST":["a"]}}`,
			badName: "LIST",
		},
		{
			name: "config/connectionstrings PUT: object value", method: "PUT", path: webPath + "/sites/newapp/config/connectionstrings",
			body:    `{"properties":{"DB":{"value":{"host":"x"},"type":"Custom"}}}`,
			badName: "DB",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.seed()
			if !strings.HasSuffix(tc.path, "/sites/newapp") {
				e.must(200, "PUT", webPath+"/sites/newapp", e.path(`{"location":"westeurope","properties":{`+farm+`}}`))
			}
			r := e.do(tc.method, tc.path, e.path(tc.body))
			if tc.badName != "" {
				msg, _ := r.json(t)["error"].(map[string]any)["message"].(string)
				if r.status != 400 || !strings.Contains(msg, "'"+tc.badName+"'") {
					t.Fatalf("got %d %s; want 400 naming %s", r.status, r.body, tc.badName)
				}
				return
			}
			if r.status != 200 {
				t.Fatalf("status %d, want 200\n%s", r.status, r.body)
			}
			if tc.settings != nil {
				got, err := e.store.Settings(t.Context(), "rg", "newapp")
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.settings, got); diff != "" {
					t.Errorf("stored settings (-want +got):\n%s", diff)
				}
			}
			if tc.conns != nil {
				got, err := e.store.ConnectionStrings(t.Context(), "rg", "newapp")
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.conns, got); diff != "" {
					t.Errorf("stored connection strings (-want +got):\n%s", diff)
				}
			}
		})
	}
}
