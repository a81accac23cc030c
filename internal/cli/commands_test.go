package cli

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCommandRequests is a table of the simpler commands: the requests each
// sends (docs/arm.md §1.3-§1.12) and a piece of what it prints. Runs against the
// fakeServer test double (see fakeserver_test.go).
func TestCommandRequests(t *testing.T) {
	site := "GET arm " + rgP + "/sites/myapp?" + w
	creds := "POST arm " + rgP + "/sites/myapp/config/publishingcredentials/list?" + w
	tests := []struct {
		args       []string
		want       []string
		wantStdout string // substring; "" means stdout must be empty
	}{
		{[]string{"group", "show", "-n", "rg1"}, []string{"GET arm /subscriptions/{s}/resourcegroups/rg1?" + w}, `"provisioningState": "Succeeded"`},
		{[]string{"group", "list", "-o", "tsv"}, []string{"GET arm /subscriptions/{s}/resourcegroups?" + w}, "rg1\twesteurope\tSucceeded\n"},
		{[]string{"appservice", "plan", "list"}, []string{"GET arm /subscriptions/{s}/providers/Microsoft.Web/serverfarms?" + w}, `"numberOfWorkers": 1`},
		{[]string{"appservice", "plan", "list", "-g", "rg1", "-o", "table"}, []string{"GET arm " + rgP + "/serverfarms?" + w}, "plan1   West Europe"},
		{[]string{"appservice", "plan", "show", "-g", "rg1", "-n", "plan1"}, []string{"GET arm " + rgP + "/serverfarms/plan1?" + w}, `"kind": "linux"`},
		{[]string{"appservice", "plan", "delete", "-g", "rg1", "-n", "plan1", "--yes"}, []string{"DELETE arm " + rgP + "/serverfarms/plan1?" + w}, ""},
		{[]string{"webapp", "show", "-g", "rg1", "-n", "myapp"}, []string{site, "GET arm " + rgP + "/sites/myapp/config/web?" + w, "POST arm " + rgP + "/sites/myapp/publishxml?" + w}, `"siteConfig": {`},
		{[]string{"webapp", "list", "-g", "rg1", "-o", "table"}, []string{"GET arm " + rgP + "/sites?" + w}, "myapp   West Europe  Running"},
		{[]string{"webapp", "restart", "-g", "rg1", "-n", "myapp"}, []string{"POST arm " + rgP + "/sites/myapp/restart?" + w}, ""},
		{[]string{"webapp", "stop", "-g", "rg1", "-n", "myapp"}, []string{"POST arm " + rgP + "/sites/myapp/stop?" + w}, ""},
		{[]string{"webapp", "start", "-g", "rg1", "-n", "myapp"}, []string{"POST arm " + rgP + "/sites/myapp/start?" + w}, ""},
		{[]string{"webapp", "browse", "-g", "rg1", "-n", "myapp"}, []string{site}, "http://myapp.localhost:PORT\n"},
		{[]string{"webapp", "list-runtimes", "--os-type", "linux"}, []string{"GET arm /providers/Microsoft.Web/webAppStacks?" + w}, "[\n  \"PYTHON:3.9\",\n  \"PYTHON:3.12\",\n  \"PYTHON:3.10\"\n]\n"},
		{[]string{"webapp", "list-runtimes"}, []string{"GET arm /providers/Microsoft.Web/webAppStacks?" + w}, `"windows": []`},
		{[]string{"webapp", "config", "show", "-g", "rg1", "-n", "myapp"}, []string{"GET arm " + rgP + "/sites/myapp/config/web?" + w}, `"linuxFxVersion": "PYTHON|3.12"`},
		{[]string{"webapp", "config", "connection-string", "set", "-g", "rg1", "-n", "myapp", "-t", "postgresql", "--settings", "DB=host=db user=u"},
			[]string{"POST arm " + rgP + "/sites/myapp/config/connectionstrings/list?" + w, "PUT arm " + rgP + "/sites/myapp/config/connectionstrings?" + w},
			"{\n  \"DB\": {\n    \"type\": \"PostgreSQL\",\n    \"value\": null\n  }\n}\n"},
		{[]string{"webapp", "config", "connection-string", "list", "-g", "rg1", "-n", "myapp"},
			[]string{"POST arm " + rgP + "/sites/myapp/config/connectionstrings/list?" + w, "GET arm " + rgP + "/sites/myapp/config/slotConfigNames?" + w},
			`"value": "host=db user=u"`},
		{[]string{"webapp", "config", "connection-string", "delete", "-g", "rg1", "-n", "myapp", "--setting-names", "DB"},
			[]string{"POST arm " + rgP + "/sites/myapp/config/connectionstrings/list?" + w, "GET arm " + rgP + "/sites/myapp/config/slotConfigNames?" + w, "PUT arm " + rgP + "/sites/myapp/config/connectionstrings?" + w},
			"{}\n"},
		{[]string{"webapp", "deployment", "list-publishing-credentials", "-g", "rg1", "-n", "myapp"}, []string{creds}, `"publishingPassword": "secret-pw"`},
		{[]string{"webapp", "deployment", "list-publishing-profiles", "-g", "rg1", "-n", "myapp", "--xml"}, []string{"POST arm " + rgP + "/sites/myapp/publishxml?" + w}, "<publishData>"},
		{[]string{"webapp", "deployment", "list-publishing-profiles", "-g", "rg1", "-n", "myapp", "-o", "table"}, []string{"POST arm " + rgP + "/sites/myapp/publishxml?" + w}, "myapp - FTP         FTP              ftp://127.0.0.1/site/wwwroot"},
		{[]string{"webapp", "create", "-g", "rg1", "-p", "PLAN1", "-n", "second"}, []string{
			"GET arm " + rgP + "/serverfarms/PLAN1?" + w,
			// 404 on the exact name: az lists the plans and matches case-insensitively (docs/arm.md §1.5).
			"GET arm /subscriptions/{s}/providers/Microsoft.Web/serverfarms?" + w + "&detailed=true",
			"POST arm /subscriptions/{s}/providers/Microsoft.Web/checknameavailability?" + w,
			"PUT arm " + rgP + "/sites/second?" + w,
			"POST arm " + rgP + "/sites/second/publishxml?" + w,
		}, `"name": "second"`},
		{[]string{"webapp", "delete", "-g", "rg1", "-n", "second", "--keep-empty-plan"}, []string{"DELETE arm " + rgP + "/sites/second?" + w + "&deleteEmptyServerFarm=false"}, ""},
		{[]string{"webapp", "delete", "-g", "rg1", "-n", "myapp"}, []string{"DELETE arm " + rgP + "/sites/myapp?" + w}, ""},
	}
	f := newFakeServer(t)
	seed(t, f)
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			stdout, stderr, err := testRun(t, f, "", tt.args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if diff := cmp.Diff(tt.want, lines(f.takeRequests())); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			want := strings.ReplaceAll(tt.wantStdout, "PORT", f.port())
			if (want == "" && stdout != "") || !strings.Contains(stdout, want) {
				t.Errorf("stdout does not contain %q:\n%s", want, stdout)
			}
		})
	}
}

// TestEveryGroupHasHelp checks that every command group has a line in
// groupHelp, so that `slipway --help` and each group's help describe every
// subgroup they list, as az's do.
func TestEveryGroupHasHelp(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range commands() {
		words := strings.Fields(c.path)
		for i := 1; i < len(words); i++ {
			g := strings.Join(words[:i], " ")
			if !seen[g] && groupHelp[g] == "" {
				t.Errorf("group %q has no help line in groupHelp", g)
			}
			seen[g] = true
		}
	}
}
