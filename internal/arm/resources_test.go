package arm

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestListResources: `az resource list` reads GET /subscriptions/{s}/resources
// with a $filter (docs/arm.md, "Measured with the real az"); plans, sites and
// storage accounts are resources, resource groups are not.
func TestListResources(t *testing.T) {
	e := newEnv(t)
	e.seed()
	e.must(200, "PUT", accountPath+"?api-version=2023-05-01", accountBody)
	e.must(201, "PUT", "/subscriptions/{s}/resourcegroups/rg2", `{"location":"eastus"}`)
	e.must(200, "PUT", "/subscriptions/{s}/resourceGroups/rg2/providers/Microsoft.Web/serverfarms/winplan", `{"location":"eastus","sku":{"name":"S1"},"tags":{"Env":"prod","team":"web"}}`)

	const (
		web2  = "/subscriptions/{s}/resourceGroups/rg2/providers/Microsoft.Web"
		site  = webPath + "/sites/app"
		plan  = webPath + "/serverfarms/plan"
		acct  = "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/media1"
		plan2 = web2 + "/serverfarms/winplan"
	)
	everything := []string{acct, plan, site, plan2} // ordered by id
	tests := []struct {
		name, path, filter string
		want               []string // ids, in order
		status             int      // 0: 200
	}{
		{name: "subscription", path: "/subscriptions/{s}/resources", want: everything},
		{name: "resource group", path: "/subscriptions/{s}/resourceGroups/RG/resources", want: []string{acct, plan, site}},
		{name: "missing resource group", path: "/subscriptions/{s}/resourceGroups/nope/resources", status: 404},
		{name: "az resource list -g", path: "/subscriptions/{s}/resources", filter: "resourceGroup eq 'rg2'", want: []string{plan2}},
		{name: "sites", path: "/subscriptions/{s}/resources", filter: "resourceType eq 'Microsoft.Web/sites'", want: []string{site}},
		{name: "type without case", path: "/subscriptions/{s}/resources", filter: "resourceType eq 'microsoft.web/serverfarms'", want: []string{plan, plan2}},
		{name: "storage", path: "/subscriptions/{s}/resources", filter: "resourceType eq 'Microsoft.Storage/storageAccounts'", want: []string{acct}},
		{name: "name", path: "/subscriptions/{s}/resources", filter: "name eq 'APP'", want: []string{site}},
		{name: "group and type", path: "/subscriptions/{s}/resources", filter: "resourceGroup eq 'rg' and resourceType eq 'Microsoft.Web/serverFarms'", want: []string{plan}},
		{name: "location", path: "/subscriptions/{s}/resources", filter: "location eq 'eastus'", want: []string{plan2}},
		{name: "tag name", path: "/subscriptions/{s}/resources", filter: "tagName eq 'env'", want: []string{plan2}},
		{name: "tag name and value", path: "/subscriptions/{s}/resources", filter: "tagname eq 'Env' and tagvalue eq 'prod'", want: []string{plan2}},
		{name: "tag value differs", path: "/subscriptions/{s}/resources", filter: "tagname eq 'Env' and tagvalue eq 'dev'", want: []string{}},
		{name: "tag prefix", path: "/subscriptions/{s}/resources", filter: "startswith(tagname, 'te')", want: []string{plan2}},
		{name: "quote in value", path: "/subscriptions/{s}/resources", filter: "name eq 'o''brien'", want: []string{}},
		{name: "top", path: "/subscriptions/{s}/resources?$top=2&api-version=2024-11-01", want: []string{acct, plan}},
		{name: "unknown field", path: "/subscriptions/{s}/resources", filter: "kind eq 'app'", status: 400},
		{name: "unknown operator", path: "/subscriptions/{s}/resources", filter: "name ne 'app'", status: 400},
		{name: "or", path: "/subscriptions/{s}/resources", filter: "name eq 'app' or name eq 'plan'", status: 400},
		{name: "substringof", path: "/subscriptions/{s}/resources", filter: "substringof('app', name)", status: 400},
		{name: "unquoted", path: "/subscriptions/{s}/resources", filter: "name eq app", status: 400},
		{name: "tag value alone", path: "/subscriptions/{s}/resources", filter: "tagValue eq 'prod'", status: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.path
			if tc.filter != "" {
				p += "?$filter=" + url.QueryEscape(tc.filter) + "&api-version=2024-11-01"
			}
			r := e.do("GET", p, "")
			want := tc.status
			if want == 0 {
				want = 200
			}
			if r.status != want {
				t.Fatalf("status %d, want %d\n%s", r.status, want, r.body)
			}
			if want != 200 {
				if want == 400 && !strings.Contains(r.json(t)["error"].(map[string]any)["message"].(string), tc.filter) {
					t.Errorf("the message does not quote the filter: %s", r.body)
				}
				return
			}
			got := []string{}
			for _, v := range r.json(t)["value"].([]any) {
				got = append(got, v.(map[string]any)["id"].(string))
			}
			wantIDs := []string{}
			for _, id := range tc.want {
				wantIDs = append(wantIDs, e.path(id))
			}
			if diff := cmp.Diff(wantIDs, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("shape", func(t *testing.T) {
		r := e.must(200, "GET", "/subscriptions/{s}/resources", "")
		golden(t, "resources.json", e.normalize(r.body))
	})
}

// TestListResources_IdentitiesAndAutoscale: az resource list shows every
// resource of a group, and user-assigned identities and autoscale
// settings are resources (Microsoft.ManagedIdentity, microsoft.insights),
// as ARM lists them; they were missing, so a script that looks for them
// (or cleans a group up by what it lists) did not find them.
func TestListResources_IdentitiesAndAutoscale(t *testing.T) {
	e := newEnv(t)
	e.seed()
	e.must(200, "PUT", planPath+"?api-version=2025-03-01", `{"location":"westeurope","sku":{"name":"S1"},"properties":{"reserved":true}}`)
	e.must(201, "PUT", msiPath+"/id1", `{"location":"westeurope","tags":{"team":"web"}}`)
	e.must(201, "PUT", asPath+"/as1"+asAPI, asBody(e, "1", "1", "3", cpuRule(e, "Increase", "GreaterThan", "70")))
	got := map[string]string{}
	for _, v := range e.must(200, "GET", "/subscriptions/{s}/resourceGroups/rg/resources", "").json(t)["value"].([]any) {
		m := v.(map[string]any)
		got[m["id"].(string)] = m["type"].(string)
	}
	for id, typ := range map[string]string{
		e.path(msiPath + "/id1"): "Microsoft.ManagedIdentity/userAssignedIdentities",
		e.path(asPath + "/as1"):  "Microsoft.Insights/autoscaleSettings",
	} {
		if got[id] != typ {
			t.Errorf("az resource list -g rg: %s is %q, want %q (listed: %v)", id, got[id], typ, got)
		}
	}
	r := e.must(200, "GET", "/subscriptions/{s}/resources?$filter="+url.QueryEscape("resourceType eq 'Microsoft.ManagedIdentity/userAssignedIdentities'")+"&api-version=2024-11-01", "")
	if v := r.json(t)["value"].([]any); len(v) != 1 || v[0].(map[string]any)["tags"].(map[string]any)["team"] != "web" {
		t.Errorf("identities by type: %s", r.body)
	}
}
