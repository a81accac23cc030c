package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRealAzInsightsComponent: the installed az's generic resource
// commands on an Application Insights component, as Microsoft's scripts
// make one without the application-insights extension (`az resource
// create --resource-type Microsoft.Insights/components --properties
// '{"Application_Type":"web"}'`, then `az resource show --query
// properties.InstrumentationKey`): create, show, list, tag, delete, and a
// template deployment that outputs reference(component).ConnectionString.
// az resolves the api-version from the provider's list (2020-02-02).
func TestRealAzInsightsComponent(t *testing.T) {
	t.Parallel() // its own server and names; az mostly waits (CI time)
	r := startRealAz(t, realAzPath(t))
	cli := r.cli
	rg := "rg-realaz-ai"
	cli.must("group", "create", "-n", rg, "-l", "westeurope", "-o", "none")
	res := []string{"-g", rg, "-n", "ai1", "--resource-type", "Microsoft.Insights/components"}

	out := cli.must(append([]string{"resource", "create", "-l", "westeurope", "--properties", `{"Application_Type":"web"}`, "-o", "json"}, res...)...)
	var created struct {
		ID, Type, Kind string
		Properties     struct {
			InstrumentationKey, AppId, ConnectionString, ProvisioningState string
		}
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Properties.InstrumentationKey == "" ||
		!strings.EqualFold(created.Type, "Microsoft.Insights/components") || created.Properties.ProvisioningState != "Succeeded" {
		t.Fatalf("resource create (%v):\n%s", err, out)
	}
	wantConn := fmt.Sprintf("InstrumentationKey=%s;IngestionEndpoint=https://dc.insights.localhost:%d/;ApplicationId=%s",
		created.Properties.InstrumentationKey, r.port, created.Properties.AppId)
	if created.Properties.ConnectionString != wantConn {
		t.Fatalf("ConnectionString = %q, want %q", created.Properties.ConnectionString, wantConn)
	}

	// What the scripts read back: the key, and the connection string.
	if key := strings.TrimSpace(cli.must(append([]string{"resource", "show", "--query", "properties.InstrumentationKey", "-o", "tsv"}, res...)...)); key != created.Properties.InstrumentationKey {
		t.Fatalf("resource show InstrumentationKey = %q, want %q", key, created.Properties.InstrumentationKey)
	}
	if conn := strings.TrimSpace(cli.must("resource", "show", "--ids", created.ID, "--query", "properties.ConnectionString", "-o", "tsv")); conn != wantConn {
		t.Fatalf("resource show --ids ConnectionString = %q, want %q", conn, wantConn)
	}
	out = cli.must("resource", "list", "-g", rg, "--resource-type", "Microsoft.Insights/components", "-o", "json")
	var list []struct{ Name, Type string }
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0].Name != "ai1" {
		t.Fatalf("resource list (%v):\n%s", err, out)
	}
	out = cli.must(append([]string{"resource", "tag", "--tags", "env=realaz", "-o", "json"}, res...)...)
	if !strings.Contains(out, `"env": "realaz"`) || !strings.Contains(out, created.Properties.InstrumentationKey) {
		t.Fatalf("resource tag: the tag or the key is missing:\n%s", out)
	}

	// Telemetry sent to the connection string's endpoint (as the exporters
	// do) is read back with az rest and a token az gets for Application
	// Insights' API, as Microsoft documents the REST API's use with az.
	item := fmt.Sprintf(`[{"name":"Microsoft.ApplicationInsights.Message","time":%q,"iKey":%q,"tags":{},`+
		`"data":{"baseType":"MessageData","baseData":{"ver":2,"message":"from realaz","severityLevel":"Information"}}}]`,
		time.Now().UTC().Format(time.RFC3339Nano), created.Properties.InstrumentationKey)
	endpoint := wantConn[strings.Index(wantConn, "IngestionEndpoint=")+len("IngestionEndpoint=") : strings.Index(wantConn, ";ApplicationId=")]
	resp, err := r.web.client.Post(endpoint+"v2.1/track", "application/json", strings.NewReader(item))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"itemsAccepted":1`) {
		t.Fatalf("track: %d %s", resp.StatusCode, body)
	}
	out = cli.must("rest", "--method", "get", "--resource", "https://api.applicationinsights.io",
		"--url", fmt.Sprintf("https://api.insights.localhost:%d/v1/apps/%s/events/traces?timespan=PT1H", r.port, created.Properties.AppId))
	if !strings.Contains(out, `"message": "from realaz"`) {
		t.Fatalf("az rest on the events API:\n%s", out)
	}

	// A template makes a component and outputs its connection string, as
	// azd's templates hand it to the app.
	dir := t.TempDir()
	tpl := filepath.Join(dir, "ai.json")
	if err := os.WriteFile(tpl, []byte(`{"$schema":"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#","contentVersion":"1.0.0.0",
 "resources":[{"type":"Microsoft.Insights/components","apiVersion":"2020-02-02","name":"appi-tmpl","location":"[resourceGroup().location]",
   "kind":"web","properties":{"Application_Type":"web","Request_Source":"rest"}}],
 "outputs":{"conn":{"type":"string","value":"[reference(resourceId('Microsoft.Insights/components','appi-tmpl'),'2020-02-02').ConnectionString]"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	conn := strings.TrimSpace(cli.must("deployment", "group", "create", "-g", rg, "-n", "ai", "--template-file", tpl,
		"--query", "properties.outputs.conn.value", "-o", "tsv"))
	key := strings.TrimSpace(cli.must("resource", "show", "-g", rg, "-n", "appi-tmpl", "--resource-type", "Microsoft.Insights/components",
		"--query", "properties.InstrumentationKey", "-o", "tsv"))
	if key == "" || !strings.HasPrefix(conn, "InstrumentationKey="+key+";IngestionEndpoint=https://dc.insights.localhost:") {
		t.Fatalf("deployment output %q; want the connection string of key %q", conn, key)
	}

	cli.must(append([]string{"resource", "delete", "-o", "none"}, res...)...)
	cli.fail(append([]string{"resource", "show", "-o", "none"}, res...)...)
}
