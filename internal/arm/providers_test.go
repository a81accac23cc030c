package arm

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const provAPI = "?api-version=2024-11-01" // what az's ResourceManagementClient sends

// providerOut is a Provider as az's SDK reads it.
type providerOut struct {
	ID                 string `json:"id"`
	Namespace          string `json:"namespace"`
	RegistrationState  string `json:"registrationState"`
	RegistrationPolicy string `json:"registrationPolicy"`
	ResourceTypes      []struct {
		ResourceType string   `json:"resourceType"`
		Locations    []string `json:"locations"`
		APIVersions  []string `json:"apiVersions"`
	} `json:"resourceTypes"`
}

func decodeProvider(t *testing.T, r response) providerOut {
	t.Helper()
	var p providerOut
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("not a provider: %v\n%s", err, r.body)
	}
	return p
}

// TestProviders: `az provider show|list|register|unregister` (Providers -
// Get, List, Register, Unregister).
func TestProviders(t *testing.T) {
	e := newEnv(t)
	base := "/subscriptions/{s}/providers/"

	// show, in the request's casing or any other: Azure's casing back.
	for _, ns := range []string{"Microsoft.Web", "microsoft.web", "MICROSOFT.WEB"} {
		p := decodeProvider(t, e.must(200, "GET", base+ns+provAPI, ""))
		if p.ID != e.path(base+"Microsoft.Web") || p.Namespace != "Microsoft.Web" ||
			p.RegistrationState != "Registered" || p.RegistrationPolicy != "RegistrationRequired" {
			t.Fatalf("GET %s: %+v", ns, p)
		}
	}
	if p := decodeProvider(t, e.must(200, "GET", base+"Microsoft.Insights"+provAPI, "")); p.Namespace != "microsoft.insights" ||
		p.ID != e.path(base+"microsoft.insights") {
		t.Fatalf("Azure spells microsoft.insights in lower case: %+v", p)
	}
	web := e.must(200, "GET", base+"Microsoft.Web"+provAPI, "")
	golden(t, "provider_web.json", e.normalize(web.body))
	p := decodeProvider(t, web)
	var sites []string
	for _, rt := range p.ResourceTypes {
		if rt.ResourceType == "sites" { // az appservice list-locations compares exactly
			sites = rt.Locations
			if rt.APIVersions[0] != "2025-05-01" {
				t.Errorf("sites: newest api-version %s, want the SDK's 2025-05-01", rt.APIVersions[0])
			}
		}
	}
	if diff := cmp.Diff(regionDisplayNames(), sites); diff != "" {
		t.Errorf("sites locations (-want +got):\n%s", diff)
	}

	// list: every namespace, each as show answers it.
	var page struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(e.must(200, "GET", "/subscriptions/{s}/providers"+provAPI, "").body, &page); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, raw := range page.Value {
		var one providerOut
		if err := json.Unmarshal(raw, &one); err != nil {
			t.Fatal(err)
		}
		names = append(names, one.Namespace)
		show := e.must(200, "GET", base+one.Namespace+provAPI, "")
		if diff := cmp.Diff(string(show.body), string(raw)); diff != "" {
			t.Errorf("%s listed unlike shown (-show +list):\n%s", one.Namespace, diff)
		}
	}
	want := []string{"Microsoft.Authorization", "microsoft.insights", "Microsoft.KeyVault", "Microsoft.ManagedIdentity",
		"Microsoft.Resources", "Microsoft.ServiceLinker", "Microsoft.Storage", "Microsoft.Web"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("namespaces (-want +got):\n%s", diff)
	}

	// register: a no-op answering the provider, Registered (az then stops
	// waiting); with the SDK's empty JSON body or none.
	for _, body := range []string{"", "{}"} {
		r := e.must(200, "POST", base+"microsoft.web/register"+provAPI, body)
		if diff := cmp.Diff(string(web.body), string(r.body)); diff != "" {
			t.Errorf("register with body %q (-show +register):\n%s", body, diff)
		}
	}
	// unregister is refused, saying why.
	r := e.must(409, "POST", base+"Microsoft.Web/unregister"+provAPI, "")
	if !strings.Contains(string(r.body), "cannot be unregistered") {
		t.Errorf("unregister: %s", r.body)
	}

	// Errors: ARM's for an unknown namespace, a missing api-version, a
	// foreign subscription, a wrong method.
	for _, tt := range []struct {
		method, path, code, message string
		status                      int
	}{
		{"GET", base + "Microsoft.Compute" + provAPI, "InvalidResourceNamespace", "The resource namespace 'Microsoft.Compute' is invalid.", 404},
		{"POST", base + "Microsoft.Nope/register" + provAPI, "InvalidResourceNamespace", "The resource namespace 'Microsoft.Nope' is invalid.", 404},
		{"POST", base + "Microsoft.Nope/unregister" + provAPI, "InvalidResourceNamespace", "The resource namespace 'Microsoft.Nope' is invalid.", 404},
		{"GET", base + "Microsoft.Web?x=1", "MissingApiVersionParameter", "", 400},
		{"GET", "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Web" + provAPI, "SubscriptionNotFound", "", 404},
		{"GET", base + "Microsoft.Web/register" + provAPI, "MethodNotAllowed", "", 405},
		{"PUT", base + "Microsoft.Web" + provAPI, "MethodNotAllowed", "", 405},
	} {
		r := e.do(tt.method, tt.path, "")
		var got errorBody
		_ = json.Unmarshal(r.body, &got)
		if r.status != tt.status || got.Error.Code != tt.code || (tt.message != "" && got.Error.Message != tt.message) {
			t.Errorf("%s %s = %d %s, want %d %s %q", tt.method, tt.path, r.status, r.body, tt.status, tt.code, tt.message)
		}
	}
}

// TestListLocations: `az appservice list-locations --sku B1` lists
// geoRegions?sku=BASIC and keeps those whose name Microsoft.Web's "sites"
// type lists among its locations (appservice custom.py list_locations).
func TestListLocations(t *testing.T) {
	e := newEnv(t)
	var geo struct {
		Value []struct {
			ID, Name, Type string
			Properties     struct{ Name, DisplayName string }
		} `json:"value"`
	}
	if err := json.Unmarshal(e.must(200, "GET", "/subscriptions/{s}/providers/Microsoft.Web/geoRegions?sku=BASIC&api-version=2025-05-01", "").body, &geo); err != nil {
		t.Fatal(err)
	}
	var sites []string
	for _, rt := range decodeProvider(t, e.must(200, "GET", "/subscriptions/{s}/providers/Microsoft.Web"+provAPI, "")).ResourceTypes {
		if rt.ResourceType == "sites" {
			sites = rt.Locations
		}
	}
	var kept []string
	for _, g := range geo.Value {
		if g.Type != "Microsoft.Web/geoRegions" || g.ID != e.path("/subscriptions/{s}/providers/Microsoft.Web/geoRegions/"+g.Name) ||
			g.Properties.Name != g.Name || g.Properties.DisplayName != g.Name {
			t.Errorf("geoRegion shape: %+v", g)
		}
		if slices.Contains(sites, g.Name) {
			kept = append(kept, g.Name)
		}
	}
	if diff := cmp.Diff(regionDisplayNames(), kept); diff != "" {
		t.Errorf("az appservice list-locations would list (-want +got):\n%s", diff)
	}
}

// azAPIVersion resolves the api-version of a resource id as az does
// without --api-version (azure-cli resource custom.py,
// _ResourceUtils.resolve_api_version): GET the provider of the id's
// (last) namespace, find the type named like the id's top-level type
// there, ignoring case, and take its first api-version without "preview".
func (e *env) azAPIVersion(id string) string {
	e.t.Helper()
	segs := splitPath(id)
	i := len(segs) - 3
	for i >= 0 && !strings.EqualFold(segs[i], "providers") {
		i--
	}
	if i < 0 {
		e.t.Fatalf("%s: no provider namespace", id)
	}
	p := decodeProvider(e.t, e.must(200, "GET", "/subscriptions/{s}/providers/"+segs[i+1]+provAPI, ""))
	var versions []string
	n := 0
	for _, rt := range p.ResourceTypes {
		if strings.EqualFold(rt.ResourceType, segs[i+2]) {
			versions, n = rt.APIVersions, n+1
		}
	}
	if n != 1 || len(versions) == 0 {
		e.t.Fatalf("%s: %d types named %s with api-versions in %s; az needs one (else \"Resource type %s not found.\")", id, n, segs[i+2], segs[i+1], segs[i+2])
	}
	for _, v := range versions {
		if !strings.Contains(strings.ToLower(v), "preview") {
			return v
		}
	}
	return versions[0]
}

// TestResourceByIDWithoutAPIVersion: `az resource show|delete --ids ID`
// without --api-version, for each kind of resource Slipway stores: the
// version az resolves from the provider serves the resource.
func TestResourceByIDWithoutAPIVersion(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.Slots = &swapRecorder{} })
	e.seed()
	e.standardPlan()
	e.must(200, "PUT", slotPath, `{"location":"West Europe","properties":{}}`)
	e.must(200, "PUT", accountPath+"?api-version=2023-05-01", accountBody)
	e.must(200, "PUT", kvPath+"/kv1?api-version=2024-11-01", vaultBodyAz(e.tenant))
	e.must(201, "PUT", msiPath+"/id1"+msiAPI, `{"location":"westeurope"}`)
	e.must(201, "PUT", asPath+"/as1"+asAPI, asBody(e, "1", "1", "2", ""))
	ra := "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/" + raName1
	e.must(201, "PUT", ra+raAPI, raBody(e.sub, readerID, principal1))

	for _, tt := range []struct{ id, version string }{
		{sitePath, "2025-05-01"},
		{slotPath, "2025-05-01"}, // a child: its top-level type's versions
		{planPath, "2025-05-01"},
		{accountPath, "2025-08-01"},
		{kvPath + "/kv1", "2026-02-01"},
		{msiPath + "/id1", "2024-11-30"},
		{asPath + "/as1", "2022-10-01"},
		{ra, "2022-04-01"},
	} {
		v := e.azAPIVersion(e.path(tt.id))
		if v != tt.version {
			t.Errorf("%s: az would send api-version %s, want %s", tt.id, v, tt.version)
		}
		got := e.must(200, "GET", tt.id+"?api-version="+v, "").json(t)
		if id, _ := got["id"].(string); !strings.EqualFold(id, e.path(tt.id)) {
			t.Errorf("GET %s?api-version=%s: id %q", tt.id, v, id)
		}
	}
	// az resource tag --ids: GET, then PUT the resource back with the tags.
	v := e.azAPIVersion(e.path(sitePath))
	got := e.must(200, "GET", sitePath+"?api-version="+v, "").json(t)
	body, err := json.Marshal(map[string]any{"location": got["location"], "kind": got["kind"], "properties": got["properties"], "tags": map[string]string{"env": "dev"}})
	if err != nil {
		t.Fatal(err)
	}
	e.must(200, "PUT", sitePath+"?api-version="+v, string(body))
	if tags := e.must(200, "GET", sitePath+"?api-version="+v, "").json(t)["tags"]; !cmp.Equal(tags, map[string]any{"env": "dev"}) {
		t.Errorf("after resource tag: tags %v", tags)
	}
	// az resource delete --ids, likewise.
	e.must(200, "DELETE", msiPath+"/id1?api-version="+e.azAPIVersion(e.path(msiPath+"/id1")), "")
	e.must(404, "GET", msiPath+"/id1"+msiAPI, "")
}

// TestProviders_Authorization: providers are read by anyone holding a role
// in the subscription, at any scope; registering needs
// {namespace}/register/action there (Contributor, Owner); a principal
// without a role is refused as for any read.
func TestProviders_Authorization(t *testing.T) {
	e, call := rbacEnv(t)
	const (
		rgWebsite      = "0c0c0c0c-1d2a-4c3b-9e8f-0a1b2c3d4e5f" // Website Contributor of rg only
		subReader      = "0d0d0d0d-1d2a-4c3b-9e8f-0a1b2c3d4e5f"
		subContributor = "0e0e0e0e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"
	)
	for i, a := range []struct{ scope, role, who string }{
		{rgPath, websiteContributorID, rgWebsite},
		{"/subscriptions/{s}", readerID, subReader},
		{"/subscriptions/{s}", contributorID, subContributor},
	} {
		name := raName1[:len(raName1)-1] + string(rune('a'+i))
		if s, b := call("", "PUT", a.scope+"/providers/Microsoft.Authorization/roleAssignments/"+name, raBody(e.sub, a.role, a.who)); s != http.StatusCreated {
			t.Fatalf("assign: %d %s", s, b)
		}
	}
	show, list := "/subscriptions/{s}/providers/Microsoft.Web", "/subscriptions/{s}/providers"
	register := "/subscriptions/{s}/providers/Microsoft.Web/register"
	denied := func(action string) string {
		return "does not have authorization to perform action '" + action + "' over scope '/subscriptions/" + e.sub + "'"
	}
	for _, tt := range []struct {
		who, method, path string
		status            int
		message           string // in a 403
	}{
		// No role at all: AuthorizationFailed, naming the operation ARM names.
		{principal1, "GET", show, 403, denied("Microsoft.Resources/subscriptions/providers/read")},
		{principal1, "GET", list, 403, denied("Microsoft.Resources/subscriptions/providers/read")},
		{principal1, "POST", register, 403, denied("Microsoft.Web/register/action")},
		// A role on one resource group: az resource show --ids works
		// there, so the providers read; registering does not.
		{rgWebsite, "GET", show, 200, ""},
		{rgWebsite, "GET", list, 200, ""},
		{rgWebsite, "POST", register, 403, denied("Microsoft.Web/register/action")},
		{rgWebsite, "GET", "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Web", 403, ""},
		// Reader reads, Contributor registers.
		{subReader, "GET", show, 200, ""},
		{subReader, "POST", register, 403, denied("Microsoft.Web/register/action")},
		{subContributor, "POST", register, 200, ""},
	} {
		s, b := call(tt.who, tt.method, tt.path, "")
		if s != tt.status || (s == 403 && (!strings.Contains(b, `"code":"AuthorizationFailed"`) || !strings.Contains(b, tt.message))) {
			t.Errorf("%s %s by %s = %d %s; want %d %s", tt.method, tt.path, tt.who, s, b, tt.status, tt.message)
		}
	}
}

// routeResourceType names the resource type a route serves the way
// resourceProviders lists it: the namespace after the last
// "providers/{Namespace}" (Microsoft.Resources for paths without one),
// then every other path word from there (names skipped), down to two
// levels; a POST's trailing action word (restart, listKeys, register) is
// not a type, unless it is all there is (checkNameAvailability).
func routeResourceType(rt route) (namespace, typ string) {
	segs, namespace := rt.pattern, "Microsoft.Resources"
	for i := 0; i+1 < len(segs); i++ {
		if strings.EqualFold(segs[i], "providers") && !strings.HasPrefix(segs[i+1], "{") {
			namespace, segs, i = segs[i+1], segs[i+2:], -1 // look on for an extension's providers
		}
	}
	if rt.method == http.MethodPost && len(segs)%2 == 1 && len(segs) > 1 {
		segs = segs[:len(segs)-1]
	}
	var types []string
	for i := 0; i < len(segs) && len(types) < 2; i += 2 {
		types = append(types, segs[i])
	}
	return namespace, strings.Join(types, "/")
}

// TestResourceProvidersMatchRoutes: the providers list exactly the
// resource types the routes serve, so that a new route's type is
// listed (else az cannot resolve its api-version) and nothing is listed
// that Slipway does not serve.
func TestResourceProvidersMatchRoutes(t *testing.T) {
	key := func(ns, typ string) string { return strings.ToLower(ns + "/" + typ) }
	served := map[string]bool{
		// authorization.go, routed before the table.
		key(authzNamespace, "roleAssignments"): true,
		key(authzNamespace, "roleDefinitions"): true,
		// tags.go, routed before the table.
		key("Microsoft.Resources", "tags"): true,
	}
	for _, rt := range New(Config{}).routes {
		served[key(routeResourceType(rt))] = true
	}
	listed := map[string]bool{}
	for _, rp := range resourceProviders {
		for _, pt := range rp.types {
			listed[key(rp.namespace, pt.name)] = true
		}
	}
	sorted := func(m map[string]bool) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	if diff := cmp.Diff(sorted(served), sorted(listed)); diff != "" {
		t.Errorf("resource types (-served by routes +listed by resourceProviders):\n%s", diff)
	}
	if !slices.IsSortedFunc(resourceProviders, func(a, b resourceProvider) int {
		return strings.Compare(strings.ToLower(a.namespace), strings.ToLower(b.namespace))
	}) {
		t.Errorf("resourceProviders are not ordered by namespace")
	}
}

// TestUnservedProviderSaysSo: a request for a resource of a provider
// Slipway does not serve (az postgres flexible-server create, a template's
// database) is ARM's 404, naming the provider and what to do instead of
// only the path; a wrong path under a served provider keeps ARM's bare
// message.
func TestUnservedProviderSaysSo(t *testing.T) {
	e := newEnv(t)
	e.seed()
	for ns, p := range map[string]string{
		"Microsoft.DBforPostgreSQL": "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/db",
		"Microsoft.Cache":           "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Cache/redis/cache",
		"Microsoft.Network":         "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet",
	} {
		r := e.do("PUT", p, `{"location":"westeurope"}`)
		if r.status != 404 || !strings.Contains(string(r.body), "does not serve the resource provider '"+ns+"'") || !strings.Contains(string(r.body), "Microsoft.Web") {
			t.Errorf("PUT %s: %d %s", p, r.status, r.body)
		}
	}
	r := e.do("GET", webPath+"/nosuchtype/x", "")
	if r.status != 404 || strings.Contains(string(r.body), "does not serve") {
		t.Errorf("a wrong path under a served provider: %d %s", r.status, r.body)
	}
}
