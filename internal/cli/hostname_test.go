package cli

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// hostnameFake answers sites/myapp/hostNameBindings in ARM's shape
// (internal/arm/hostnames.go) on top of the fakeServer, and refuses
// names without a "TXT record" as the real server does.
func hostnameFake(t *testing.T, f *fakeServer) {
	var mu sync.Mutex
	bound := map[string]bool{}
	binding := func(host string) map[string]any {
		return map[string]any{
			"id":   "/subscriptions/" + fakeSub + "/resourceGroups/rg1/providers/Microsoft.Web/sites/myapp/hostNameBindings/" + host,
			"name": "myapp/" + host, "type": "Microsoft.Web/sites/hostNameBindings", "location": "West Europe",
			"properties": map[string]any{"siteName": "myapp", "domainId": nil, "azureResourceName": "myapp", "azureResourceType": "Website",
				"customHostNameDnsRecordType": "CName", "hostNameType": "Verified", "sslState": "Disabled", "thumbprint": nil, "virtualIP": nil},
		}
	}
	prefix := "/subscriptions/" + fakeSub + "/resourceGroups/rg1/providers/Microsoft.Web/sites/myapp/hostNameBindings"
	f.override = func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/subscriptions/"+fakeSub+"/resourceGroups/rg1/providers/Microsoft.Web/sites/myapp" && r.Method == http.MethodGet {
			writeJSONResp(w, 200, map[string]any{"name": "myapp", "id": "/subscriptions/" + fakeSub + "/resourceGroups/rg1/providers/Microsoft.Web/sites/myapp",
				"properties": map[string]any{"defaultHostName": "myapp.localhost", "inboundIpAddress": "192.0.2.10", "hostingEnvironmentProfile": nil}})
			return true
		}
		rest, ok := strings.CutPrefix(r.URL.Path, prefix)
		if !ok {
			return false
		}
		host := strings.TrimPrefix(rest, "/")
		switch {
		case r.Method == http.MethodGet && host == "":
			v := []any{binding("myapp.localhost")}
			for h := range bound {
				v = append(v, binding(h))
			}
			writeJSONResp(w, 200, map[string]any{"value": v, "nextLink": nil})
		case r.Method == http.MethodPut && strings.HasPrefix(host, "nodns."):
			armErr(w, 400, "BadRequest", "A TXT record pointing from asuid."+host+" to ABC was not found.")
		case r.Method == http.MethodPut:
			bound[host] = true
			writeJSONResp(w, 200, binding(host))
		case r.Method == http.MethodDelete:
			delete(bound, host)
			w.WriteHeader(200)
		default:
			return false
		}
		return true
	}
}

func TestHostnameCommands(t *testing.T) {
	f := newFakeServer(t)
	seed(t, f)
	hostnameFake(t, f)
	site := "GET arm " + rgP + "/sites/myapp?" + w
	bindings := rgP + "/sites/myapp/hostNameBindings"

	stdout, stderr, err := testRun(t, f, "", "webapp", "config", "hostname", "add", "-g", "rg1", "--webapp-name", "myapp", "--hostname", "www.contoso.com")
	if err != nil {
		t.Fatalf("add: %v\n%s", err, stderr)
	}
	reqs := f.takeRequests()
	if diff := cmp.Diff([]string{site, "PUT arm " + bindings + "/www.contoso.com?" + w}, lines(reqs)); diff != "" {
		t.Errorf("add requests (-want +got):\n%s", diff)
	}
	if got := reqs[1].Body; got != `{"properties":{"siteName":"myapp"}}` {
		t.Errorf("add body %s", got)
	}
	var added map[string]any
	if err := json.Unmarshal([]byte(stdout), &added); err != nil {
		t.Fatalf("add printed %s", stdout)
	}
	// az's shape: the SDK model with properties lifted, virtualIp, resourceGroup, the full name.
	want := map[string]any{
		"id":   "/subscriptions/" + fakeSub + "/resourceGroups/rg1/providers/Microsoft.Web/sites/myapp/hostNameBindings/www.contoso.com",
		"name": "myapp/www.contoso.com", "type": "Microsoft.Web/sites/hostNameBindings", "resourceGroup": "rg1",
		"siteName": "myapp", "domainId": nil, "azureResourceName": "myapp", "azureResourceType": "Website",
		"customHostNameDnsRecordType": "CName", "hostNameType": "Verified", "sslState": "Disabled", "thumbprint": nil,
		"virtualIp": nil, "systemData": nil, "kind": nil,
	}
	if diff := cmp.Diff(want, added); diff != "" {
		t.Errorf("add output (-want +got):\n%s", diff)
	}

	stdout, stderr, err = testRun(t, f, "", "webapp", "config", "hostname", "list", "-g", "rg1", "--webapp-name", "myapp", "--query", "[].name", "-o", "tsv")
	if err != nil || stdout != "myapp.localhost\nwww.contoso.com\n" {
		t.Errorf("list = %q, %v\n%s", stdout, err, stderr)
	}
	f.takeRequests()

	_, stderr, err = testRun(t, f, "", "webapp", "config", "hostname", "add", "-g", "rg1", "--webapp-name", "myapp", "--hostname", "nodns.contoso.com")
	if err == nil || !strings.Contains(err.Error(), "A TXT record pointing from asuid.nodns.contoso.com to ABC was not found.") {
		t.Errorf("add without TXT: %v\n%s", err, stderr)
	}
	f.takeRequests()

	stdout, stderr, err = testRun(t, f, "", "webapp", "config", "hostname", "delete", "-g", "rg1", "--webapp-name", "myapp", "--hostname", "www.contoso.com")
	if err != nil || stdout != "" {
		t.Errorf("delete = %q, %v\n%s", stdout, err, stderr)
	}
	if diff := cmp.Diff([]string{"DELETE arm " + bindings + "/www.contoso.com?" + w}, lines(f.takeRequests())); diff != "" {
		t.Errorf("delete requests (-want +got):\n%s", diff)
	}

	stdout, stderr, err = testRun(t, f, "", "webapp", "config", "hostname", "get-external-ip", "-g", "rg1", "--webapp-name", "myapp")
	if err != nil || strings.Join(strings.Fields(stdout), "") != `{"ip":"192.0.2.10"}` {
		t.Errorf("get-external-ip = %q, %v\n%s", stdout, err, stderr)
	}

	// az's flag names: --name is not one of them here.
	if _, _, err := testRun(t, f, "", "webapp", "config", "hostname", "list", "-g", "rg1", "-n", "myapp"); err == nil {
		t.Error("list accepted -n, which az does not have for this command")
	}
}
