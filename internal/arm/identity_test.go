package arm

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/store"
)

const (
	msiPath = "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
	msiAPI  = "?api-version=2023-01-31"
)

func TestUserAssignedIdentity_Lifecycle(t *testing.T) {
	e := newEnv(t)
	e.must(201, "PUT", rgPath, `{"location":"westeurope"}`)
	e.must(404, "GET", msiPath+"/id1"+msiAPI, "")
	if r := e.do("PUT", msiPath+"/id1"+msiAPI, `{"tags":{}}`); r.status != 400 || !strings.Contains(string(r.body), "LocationRequired") {
		t.Fatalf("PUT without location = %d %s", r.status, r.body)
	}
	// What `az identity create -g rg -n id1` sends.
	put := e.must(201, "PUT", msiPath+"/id1"+msiAPI, `{"location":"westeurope","tags":{"env":"dev"}}`).json(t)
	props := put["properties"].(map[string]any)
	if put["id"] != e.path(msiPath+"/id1") || put["type"] != "Microsoft.ManagedIdentity/userAssignedIdentities" ||
		props["tenantId"] != e.tenant || len(props["principalId"].(string)) != 36 || len(props["clientId"].(string)) != 36 {
		t.Fatalf("PUT = %v", put)
	}
	p, err := e.store.PrincipalByAppID(t.Context(), props["clientId"].(string))
	if err != nil || p.ObjectID != props["principalId"] || !strings.EqualFold(p.ResourceID, e.path(msiPath+"/id1")) {
		t.Fatalf("principal = %+v, %v", p, err)
	}
	again := e.must(200, "PUT", msiPath+"/id1"+msiAPI, `{"location":"westeurope"}`).json(t)
	if again["properties"].(map[string]any)["clientId"] != props["clientId"] {
		t.Fatalf("a second PUT changed the identity: %v", again)
	}
	e.must(200, "PATCH", msiPath+"/id1"+msiAPI, `{"tags":{"env":"prod"}}`)
	got := e.must(200, "GET", msiPath+"/id1"+msiAPI, "").json(t)
	if got["tags"].(map[string]any)["env"] != "prod" {
		t.Fatalf("GET after PATCH = %v", got)
	}
	e.must(404, "PATCH", msiPath+"/nope"+msiAPI, `{"tags":{}}`)
	// az identity create|update --isolation-scope: None is what every
	// identity has; Regional is refused, not ignored.
	e.must(200, "PATCH", msiPath+"/id1"+msiAPI, `{"properties":{"isolationScope":"None"}}`)
	for _, m := range []string{"PUT", "PATCH"} {
		if r := e.do(m, msiPath+"/id1"+msiAPI, `{"location":"westeurope","properties":{"isolationScope":"Regional"}}`); r.status != 400 || !strings.Contains(string(r.body), "isolationScope can only be 'None'") {
			t.Fatalf("%s isolationScope Regional = %d %s", m, r.status, r.body)
		}
	}
	for _, p := range []string{msiPath, "/subscriptions/{s}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"} {
		if l := e.must(200, "GET", p+msiAPI, "").json(t)["value"].([]any); len(l) != 1 {
			t.Fatalf("GET %s = %v", p, l)
		}
	}
	e.must(200, "DELETE", msiPath+"/id1"+msiAPI, "")
	e.must(204, "DELETE", msiPath+"/id1"+msiAPI, "")
	if _, err := e.store.PrincipalByObjectID(t.Context(), props["principalId"].(string)); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Fatalf("the principal outlived its identity: %v", err)
	}
}

// siteIdentity GETs the site and returns its identity property (nil when
// it has none).
func (e *env) siteIdentity() map[string]any {
	e.t.Helper()
	id, _ := e.must(200, "GET", sitePath, "").json(e.t)["identity"].(map[string]any)
	return id
}

// TestSiteIdentity follows `az webapp identity assign|remove`: each GETs the
// site and PUTs it back with its identity changed (appservice custom.py
// assign_identity, remove_identity).
func TestSiteIdentity(t *testing.T) {
	e := newEnv(t)
	e.seed()
	ctx := t.Context()
	if id := e.siteIdentity(); id != nil {
		t.Fatalf("a new site has identity %v", id)
	}
	uai := e.must(201, "PUT", msiPath+"/id1"+msiAPI, `{"location":"westeurope"}`).json(t)
	uaiID := e.path(msiPath + "/id1")
	uaiClient := uai["properties"].(map[string]any)["clientId"]
	put := func(want int, identity string) response {
		t.Helper()
		return e.must(want, "PUT", sitePath, e.path(`{"location":"West Europe","identity":`+identity+`,"properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan"}}`))
	}

	// assign (no --identities): SystemAssigned.
	res := put(200, `{"type":"SystemAssigned"}`).json(t)
	id := res["identity"].(map[string]any)
	sysOID, _ := id["principalId"].(string)
	if id["type"] != "SystemAssigned" || id["tenantId"] != e.tenant || len(sysOID) != 36 {
		t.Fatalf("identity after assign = %v", id)
	}
	p, err := e.store.PrincipalByObjectID(ctx, sysOID)
	if err != nil || p.Kind != store.SystemAssignedIdentity || !strings.EqualFold(p.ResourceID, e.path(sitePath)) {
		t.Fatalf("system-assigned principal = %+v, %v", p, err)
	}
	// Assigning again keeps the same principal (role assignments stay valid).
	put(200, `{"type":"SystemAssigned","principalId":"`+sysOID+`","tenantId":"`+e.tenant+`"}`)
	if e.siteIdentity()["principalId"] != sysOID {
		t.Fatal("a second assign made a new principal")
	}

	// assign --identities <id>: the GET's type plus UserAssigned.
	put(200, `{"type":"SystemAssigned, UserAssigned","userAssignedIdentities":{"`+uaiID+`":{}}}`)
	id = e.siteIdentity()
	ua, _ := id["userAssignedIdentities"].(map[string]any)
	entry, _ := ua[uaiID].(map[string]any)
	if id["type"] != "SystemAssigned, UserAssigned" || id["principalId"] != sysOID || entry["clientId"] != uaiClient {
		t.Fatalf("identity after assigning id1 = %v", id)
	}
	// Hostile or wrong ids are refused and change nothing.
	for _, bad := range []string{
		`{"type":"UserAssigned","userAssignedIdentities":{"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1":{}}}`,
		`{"type":"UserAssigned","userAssignedIdentities":{"` + strings.Replace(uaiID, "id1", "missing", 1) + `":{}}}`,
		`{"type":"UserAssigned","userAssignedIdentities":{"../../id1":{}}}`,
		`{"type":"UserAssigned","userAssignedIdentities":{}}`,
		`{"type":"Everything"}`,
	} {
		if r := e.do("PUT", sitePath, e.path(`{"location":"West Europe","identity":`+bad+`,"properties":{"serverFarmId":"plan"}}`)); r.status < 400 || r.status >= 500 {
			t.Errorf("identity %s = %d %s; want a 4xx", bad, r.status, r.body)
		}
	}
	if id := e.siteIdentity(); id["type"] != "SystemAssigned, UserAssigned" {
		t.Fatalf("a refused change changed the identity: %v", id)
	}

	// remove [system]: UserAssigned with the remaining identities.
	put(200, `{"type":"UserAssigned","userAssignedIdentities":{"`+uaiID+`":{}}}`)
	if id := e.siteIdentity(); id["type"] != "UserAssigned" || id["principalId"] != nil {
		t.Fatalf("identity after removing the system-assigned one = %v", id)
	}
	if _, err := e.store.PrincipalByObjectID(ctx, sysOID); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Fatalf("the removed system-assigned principal still exists: %v", err)
	}
	// A PATCH adds to the set and removes what it sets to null.
	e.must(201, "PUT", msiPath+"/id2"+msiAPI, `{"location":"westeurope"}`)
	id2 := e.path(msiPath + "/id2")
	e.must(200, "PATCH", sitePath, `{"identity":{"type":"UserAssigned","userAssignedIdentities":{"`+id2+`":{}}}}`)
	if ua := e.siteIdentity()["userAssignedIdentities"].(map[string]any); len(ua) != 2 {
		t.Fatalf("after a PATCH adding id2: %v", ua)
	}
	e.must(200, "PATCH", sitePath, `{"identity":{"type":"UserAssigned","userAssignedIdentities":{"`+uaiID+`":null}}}`)
	if ua := e.siteIdentity()["userAssignedIdentities"].(map[string]any); len(ua) != 1 || ua[id2] == nil {
		t.Fatalf("after a PATCH removing id1: %v", ua)
	}
	// Deleting an identity resource detaches it.
	e.must(200, "DELETE", msiPath+"/id2"+msiAPI, "")
	if id := e.siteIdentity(); id != nil {
		t.Fatalf("identity after deleting id2 = %v", id)
	}

	// A system-assigned identity goes with its site.
	put(200, `{"type":"SystemAssigned"}`)
	sysOID = e.siteIdentity()["principalId"].(string)
	put(200, `{"type":"None"}`)
	if _, err := e.store.PrincipalByObjectID(ctx, sysOID); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Fatalf("type None kept the principal: %v", err)
	}
	put(200, `{"type":"SystemAssigned"}`)
	sysOID = e.siteIdentity()["principalId"].(string)
	e.must(200, "DELETE", sitePath, "")
	if _, err := e.store.PrincipalByObjectID(ctx, sysOID); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Fatalf("the site's identity outlived it: %v", err)
	}
}

// TestKeyVaultReferenceIdentity: the site property naming the identity Key
// Vault references resolve as is stored from a PUT or PATCH, shown as
// "SystemAssigned" by default, canonicalised, and refused when it names no
// user-assigned identity of this subscription.
func TestKeyVaultReferenceIdentity(t *testing.T) {
	e := newEnv(t)
	e.seed()
	kvri := func() any {
		t.Helper()
		return e.must(200, "GET", sitePath, "").json(t)["properties"].(map[string]any)["keyVaultReferenceIdentity"]
	}
	if got := kvri(); got != "SystemAssigned" {
		t.Fatalf("a new site's keyVaultReferenceIdentity = %v", got)
	}
	uaiID := e.path(msiPath + "/id1")
	// What `az webapp update --set keyVaultReferenceIdentity=<id>` PUTs;
	// the id's case is Azure's, not the caller's.
	e.must(200, "PUT", sitePath, e.path(`{"location":"West Europe","properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan","keyVaultReferenceIdentity":"`+
		strings.Replace(uaiID, "resourceGroups", "RESOURCEGROUPS", 1)+`"}}`))
	if got := kvri(); got != uaiID {
		t.Fatalf("after the PUT keyVaultReferenceIdentity = %v, want %s", got, uaiID)
	}
	s, err := e.store.Site(t.Context(), "rg", "app")
	if err != nil || s.KeyVaultReferenceIdentity != uaiID {
		t.Fatalf("stored site = %+v, %v", s, err)
	}
	// A PATCH without the property keeps it.
	e.must(200, "PATCH", sitePath, `{"properties":{"httpsOnly":true}}`)
	if got := kvri(); got != uaiID {
		t.Fatalf("a PATCH without the property changed it to %v", got)
	}
	for _, bad := range []string{
		"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1",
		e.path("/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/sites/app"),
		"../../id1",
		"UserAssigned",
		"/subscriptions/" + strings.Repeat("a", 2000),
	} {
		if r := e.do("PATCH", sitePath, `{"properties":{"keyVaultReferenceIdentity":"`+bad+`"}}`); r.status != 400 {
			t.Errorf("keyVaultReferenceIdentity %.80q = %d %s; want 400", bad, r.status, r.body)
		}
	}
	if got := kvri(); got != uaiID {
		t.Fatalf("a refused PATCH changed the property to %v", got)
	}
	e.must(200, "PATCH", sitePath, `{"properties":{"keyVaultReferenceIdentity":"systemassigned"}}`)
	if got := kvri(); got != "SystemAssigned" {
		t.Fatalf("after setting SystemAssigned: %v", got)
	}
}

// TestSystemAssignedIdentity_GetByScope follows azure-mgmt-msi's
// system_assigned_identities.get_by_scope: GET {site}/providers/
// Microsoft.ManagedIdentity/identities/default answers the site's
// system-assigned identity, with the principal's ids, and 404 in ARM's
// error shape when the site has none.
func TestSystemAssignedIdentity_GetByScope(t *testing.T) {
	e := newEnv(t)
	e.seed()
	const path = sitePath + "/providers/Microsoft.ManagedIdentity/identities/default?api-version=2024-11-30"
	if r := e.do("GET", path, ""); r.status != 404 || !strings.Contains(string(r.body), `"code":"ResourceNotFound"`) {
		t.Fatalf("without an identity: %d %s", r.status, r.body)
	}
	e.must(200, "PUT", sitePath, e.path(`{"location":"West Europe","identity":{"type":"SystemAssigned"},"properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan"}}`))
	oid := e.siteIdentity()["principalId"].(string)
	p, err := e.store.PrincipalByObjectID(t.Context(), oid)
	if err != nil {
		t.Fatal(err)
	}
	got := e.must(200, "GET", path, "").json(t)
	props := got["properties"].(map[string]any)
	if got["id"] != e.path(strings.TrimSuffix(path, "?api-version=2024-11-30")) || got["name"] != "default" ||
		got["type"] != "Microsoft.ManagedIdentity/identities" || got["location"] != "West Europe" {
		t.Errorf("resource = %v", got)
	}
	if props["principalId"] != oid || props["clientId"] != p.AppID || props["tenantId"] != e.tenant {
		t.Errorf("properties = %v, want principal %s, client %s", props, oid, p.AppID)
	}
	e.must(404, "GET", strings.Replace(path, "/sites/app/", "/sites/nope/", 1), "")
}

// TestIdentityOperationsAndAssociatedResources follows `az identity
// list-operations` (open to every signed-in caller, as on Azure) and `az
// identity list-resources`: the sites an identity is assigned to, of those
// the caller may read. A caller who may act on the identity but not read
// an app it is attached to does not learn of the app.
func TestIdentityOperationsAndAssociatedResources(t *testing.T) {
	e, call := rbacEnv(t)
	const (
		ids = "/subscriptions/{s}/resourceGroups/ids"
		uai = ids + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/shared"
	)
	if s, b := call(principal1, "GET", "/providers/Microsoft.ManagedIdentity/operations", ""); s != http.StatusOK ||
		!strings.Contains(b, `"Microsoft.ManagedIdentity/userAssignedIdentities/read"`) {
		t.Fatalf("operations for a principal without a role: %d %.300s", s, b)
	}
	for _, c := range []struct{ p, body string }{{ids, `{"location":"westeurope"}`}, {uai, `{"location":"westeurope"}`}} {
		if s, b := call("", "PUT", c.p, c.body); s >= 300 {
			t.Fatalf("seed %s: %d %s", c.p, s, b)
		}
	}
	list := func(who string) (int, map[string]any) {
		t.Helper()
		s, b := call(who, "POST", uai+"/listAssociatedResources", "")
		var m map[string]any
		if s == http.StatusOK {
			if err := json.Unmarshal([]byte(b), &m); err != nil {
				t.Fatalf("listAssociatedResources: %v %s", err, b)
			}
		}
		return s, m
	}
	if s, m := list(""); s != http.StatusOK || m["totalCount"] != 0.0 || len(m["value"].([]any)) != 0 {
		t.Fatalf("an unassigned identity: %d %v", s, m)
	}
	if s, b := call("", "PATCH", sitePath, `{"identity":{"type":"UserAssigned","userAssignedIdentities":{"`+e.path(uai)+`":{}}},"properties":{}}`); s != http.StatusOK {
		t.Fatalf("attach: %d %.300s", s, b)
	}
	s, m := list("")
	v, _ := m["value"].([]any)
	if s != http.StatusOK || m["totalCount"] != 1.0 || len(v) != 1 {
		t.Fatalf("after attaching: %d %v", s, m)
	}
	if got := v[0].(map[string]any); got["id"] != e.path(sitePath) || got["name"] != "app" || got["resourceGroup"] != "rg" || got["type"] != "microsoft.web/sites" {
		t.Fatalf("associated resource: %v", got)
	}
	// principal1: Contributor of the identity's group only.
	if s, b := call("", "PUT", ids+"/providers/Microsoft.Authorization/roleAssignments/"+raName1, raBody("{s}", contributorID, principal1)); s != http.StatusCreated {
		t.Fatalf("assign: %d %s", s, b)
	}
	if s, m := list(principal1); s != http.StatusOK || m["totalCount"] != 0.0 || len(m["value"].([]any)) != 0 {
		t.Fatalf("a caller who cannot read the app: %d %v", s, m)
	}
	// With Reader on the app's group, it sees it.
	if s, b := call("", "PUT", rgPath+"/providers/Microsoft.Authorization/roleAssignments/"+raName2, raBody("{s}", readerID, principal1)); s != http.StatusCreated {
		t.Fatalf("assign: %d %s", s, b)
	}
	if s, m := list(principal1); s != http.StatusOK || m["totalCount"] != 1.0 {
		t.Fatalf("a caller who may read the app: %d %v", s, m)
	}
}
