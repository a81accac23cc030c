package cli

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCORSCommands: webapp cors add|show|remove read config/web and PATCH
// it back with cors changed, as az's add_cors and remove_cors do; show
// prints siteConfig.cors, and nothing while the site has none.
func TestCORSCommands(t *testing.T) {
	f := newFakeServer(t)
	seed(t, f)
	cfg := rgP + "/sites/myapp/config/web?" + w
	get, patch := "GET arm "+cfg, "PATCH arm "+cfg
	for _, c := range []struct {
		args   []string
		want   []string
		stdout string // exact; "" = nothing printed
	}{
		{[]string{"show"}, []string{get}, ""},
		{[]string{"remove"}, []string{get}, ""},
		{[]string{"add", "--allowed-origins", "http://localhost:5000"}, []string{get, patch},
			"{\n  \"allowedOrigins\": [\n    \"http://localhost:5000\"\n  ]\n}\n"},
		{[]string{"add", "-a", "https://a.test", "https://*.contoso.com"}, []string{get, patch},
			"{\n  \"allowedOrigins\": [\n    \"http://localhost:5000\",\n    \"https://a.test\",\n    \"https://*.contoso.com\"\n  ]\n}\n"},
		{[]string{"show", "-o", "tsv", "--query", "allowedOrigins[1]"}, []string{get}, "https://a.test\n"},
		{[]string{"remove", "--allowed-origins", "https://a.test"}, []string{get, patch},
			"{\n  \"allowedOrigins\": [\n    \"http://localhost:5000\",\n    \"https://*.contoso.com\"\n  ]\n}\n"},
		{[]string{"remove", "--allowed-origins"}, []string{get, patch}, "{\n  \"allowedOrigins\": []\n}\n"},
		{[]string{"remove"}, []string{get, patch}, "{\n  \"allowedOrigins\": []\n}\n"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			args := append([]string{"webapp", "cors"}, c.args[0], "-g", "rg1", "-n", "myapp")
			stdout, stderr, err := testRun(t, f, "", append(args, c.args[1:]...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if diff := cmp.Diff(c.want, lines(f.takeRequests())); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if stdout != c.stdout {
				t.Errorf("printed %q, want %q", stdout, c.stdout)
			}
		})
	}
	// add needs origins.
	if _, _, err := testRun(t, f, "", "webapp", "cors", "add", "-g", "rg1", "-n", "myapp"); err == nil || !strings.Contains(err.Error(), "--allowed-origins") {
		t.Errorf("add without origins: %v", err)
	}
	// The IP restriction lists are not sent back (az sends them only to set them).
	f.webConfig["myapp"]["ipSecurityRestrictions"] = []any{map[string]any{"ipAddress": "Any", "action": "Allow", "priority": 2147483647}}
	f.takeRequests()
	if _, stderr, err := testRun(t, f, "", "webapp", "cors", "add", "-g", "rg1", "-n", "myapp", "-a", "https://b.test"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, r := range f.takeRequests() {
		if r.Method == "PATCH" && strings.Contains(r.Body, "ipSecurityRestrictions") {
			t.Errorf("cors add sent the IP restrictions back: %s", r.Body)
		}
	}
}
