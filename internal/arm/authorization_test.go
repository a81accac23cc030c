package arm

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/internal/rbac"
)

const (
	raAPI      = "?api-version=2022-04-01"
	readerID   = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	ownerID    = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	principal1 = "7f2c6b4e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"
	raName1    = "9b1f4a1e-6c1d-4f7a-8d3e-2a4b6c8d0e1f"
	raName2    = "9b1f4a1e-6c1d-4f7a-8d3e-2a4b6c8d0e20"
)

func raBody(sub, role, principal string) string {
	return `{"properties":{"roleDefinitionId":"/subscriptions/` + sub + `/providers/Microsoft.Authorization/roleDefinitions/` + role +
		`","principalId":"` + principal + `","principalType":"ServicePrincipal","description":"deployer"}}`
}

func listValues(t *testing.T, r response) []map[string]any {
	t.Helper()
	var page struct {
		Value []map[string]any `json:"value"`
	}
	if err := json.Unmarshal(r.body, &page); err != nil || page.Value == nil {
		t.Fatalf("not a list: %v\n%s", err, r.body)
	}
	return page.Value
}

func TestRoleAssignments_CreateGetListDelete(t *testing.T) {
	e := newEnv(t)
	e.seed()
	siteScope := sitePath
	ra := siteScope + "/providers/Microsoft.Authorization/roleAssignments/" + raName1

	// As azure-mgmt-authorization sends it: "/{scope}" with scope starting
	// with "/", so the path begins with "//".
	r := e.must(http.StatusCreated, "PUT", "/"+ra+raAPI, raBody(e.sub, readerID, principal1))
	got := r.json(t)
	props := got["properties"].(map[string]any)
	wantScope := e.path(siteScope)
	if got["id"] != e.path(ra) || got["name"] != raName1 || got["type"] != "Microsoft.Authorization/roleAssignments" ||
		props["scope"] != wantScope || props["principalId"] != principal1 || props["principalType"] != "ServicePrincipal" ||
		props["roleDefinitionId"] != "/subscriptions/"+e.sub+"/providers/Microsoft.Authorization/roleDefinitions/"+readerID ||
		props["description"] != "deployer" || props["createdOn"] == "" {
		t.Fatalf("created: %s", r.body)
	}
	// The same PUT again: the existing assignment, 200.
	e.must(http.StatusOK, "PUT", ra+raAPI, raBody(e.sub, readerID, principal1))
	// Same role for the same principal at the same scope, another name: 409.
	r = e.must(http.StatusConflict, "PUT", siteScope+"/providers/Microsoft.Authorization/roleAssignments/"+raName2+raAPI, raBody(e.sub, readerID, principal1))
	if c := r.json(t)["error"].(map[string]any); c["code"] != "RoleAssignmentExists" || c["message"] != "The role assignment already exists." {
		t.Fatalf("duplicate: %s", r.body)
	}
	// The same name at another scope.
	r = e.must(http.StatusBadRequest, "PUT", rgPath+"/providers/Microsoft.Authorization/roleAssignments/"+raName1+raAPI, raBody(e.sub, ownerID, principal1))
	if !strings.Contains(string(r.body), "RoleAssignmentUpdateNotPermitted") {
		t.Fatalf("name reused: %s", r.body)
	}

	// GET by name (scope in another casing), and from the wrong scope.
	e.must(http.StatusOK, "GET", strings.ToLower(ra)+raAPI, "")
	r = e.must(http.StatusNotFound, "GET", rgPath+"/providers/Microsoft.Authorization/roleAssignments/"+raName1+raAPI, "")
	if !strings.Contains(string(r.body), "RoleAssignmentNotFound") {
		t.Fatalf("wrong scope: %s", r.body)
	}

	// An Owner assignment at the subscription, for the filters.
	subRA := "/subscriptions/{s}/providers/Microsoft.Authorization/roleAssignments/" + raName2
	other := "0e0e0e0e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"
	e.must(http.StatusCreated, "PUT", subRA+raAPI, raBody(e.sub, ownerID, other))

	names := func(vs []map[string]any) string {
		var n []string
		for _, v := range vs {
			n = append(n, v["name"].(string))
		}
		return strings.Join(n, ",")
	}
	for _, tt := range []struct{ path, want string }{
		// At the site: its own and the inherited one.
		{siteScope + "/providers/Microsoft.Authorization/roleAssignments" + raAPI, raName2 + "," + raName1}, // by scope, then name
		// At the subscription without a filter: at, above and below.
		{"/subscriptions/{s}/providers/Microsoft.Authorization/roleAssignments" + raAPI, raName2 + "," + raName1},
		// atScope(): not the ones below.
		{"/subscriptions/{s}/providers/Microsoft.Authorization/roleAssignments" + raAPI + "&$filter=atScope()", raName2},
		{"/subscriptions/{s}/providers/Microsoft.Authorization/roleAssignments" + raAPI + "&$filter=principalId%20eq%20'" + principal1 + "'", raName1},
		{"/subscriptions/{s}/providers/Microsoft.Authorization/roleAssignments" + raAPI + "&$filter=assignedTo('" + other + "')", raName2},
		{siteScope + "/providers/Microsoft.Authorization/roleAssignments" + raAPI + "&$filter=atScope()%20and%20assignedTo('" + principal1 + "')", raName1},
	} {
		if got := names(listValues(t, e.must(http.StatusOK, "GET", tt.path, ""))); got != tt.want {
			t.Errorf("GET %s = %s, want %s", tt.path, got, tt.want)
		}
	}
	e.must(http.StatusBadRequest, "GET", "/subscriptions/{s}/providers/Microsoft.Authorization/roleAssignments"+raAPI+"&$filter=1%20eq%201", "")

	// Delete: 200 with the assignment, then 204.
	r = e.must(http.StatusOK, "DELETE", ra+raAPI, "")
	if r.json(t)["name"] != raName1 {
		t.Fatalf("delete: %s", r.body)
	}
	e.must(http.StatusNoContent, "DELETE", ra+raAPI, "")
	e.must(http.StatusNotFound, "GET", ra+raAPI, "")
}

func TestRoleAssignments_BadInput(t *testing.T) {
	e := newEnv(t)
	e.seed()
	base := "/subscriptions/{s}/providers/Microsoft.Authorization/roleAssignments/"
	for _, tt := range []struct {
		path, body, code string
		status           int
	}{
		{base + "not-a-guid", raBody(e.sub, readerID, principal1), "InvalidRoleAssignmentId", 400},
		{base + raName1, raBody(e.sub, "00000000-0000-0000-0000-000000000000", principal1), "RoleDefinitionDoesNotExist", 400},
		{base + raName1, raBody("other-sub", readerID, principal1), "InvalidRoleDefinitionId", 400},
		{base + raName1, `{"properties":{"roleDefinitionId":"Reader","principalId":"` + principal1 + `"}}`, "InvalidRoleDefinitionId", 400},
		{base + raName1, raBody(e.sub, readerID, "someone@example.com"), "InvalidPrincipalId", 400},
		{base + raName1, `{"properties":`, "InvalidRequestContent", 400},
		{"/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleAssignments/" + raName1, raBody(e.sub, readerID, principal1), "SubscriptionNotFound", 404},
		{"/subscriptions/{s}/resourceGroups/nope/providers/Microsoft.Authorization/roleAssignments/" + raName1, raBody(e.sub, readerID, principal1), "ResourceGroupNotFound", 404},
		{webPath + "/sites/nope/providers/Microsoft.Authorization/roleAssignments/" + raName1, raBody(e.sub, readerID, principal1), "ResourceNotFound", 404},
		{aiPath + "/nope/providers/Microsoft.Authorization/roleAssignments/" + raName1, raBody(e.sub, readerID, principal1), "ResourceNotFound", 404},
		{"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/providers/Microsoft.Authorization/roleAssignments/" + raName1, raBody(e.sub, readerID, principal1), "InvalidScope", 400},
		{"/providers/Microsoft.Authorization/roleAssignments/" + raName1, raBody(e.sub, readerID, principal1), "InvalidScope", 400},
	} {
		r := e.do("PUT", tt.path+raAPI, tt.body)
		if r.status != tt.status || !strings.Contains(string(r.body), `"code":"`+tt.code+`"`) {
			t.Errorf("PUT %s: %d %s, want %d %s", tt.path, r.status, r.body, tt.status, tt.code)
		}
	}
	if all, _ := e.store.RoleAssignments(t.Context()); len(all) != 0 {
		t.Fatalf("bad input stored: %+v", all)
	}
}

func TestRoleDefinitions(t *testing.T) {
	e := newEnv(t)
	e.seed()
	r := e.must(http.StatusOK, "GET", rgPath+"/providers/Microsoft.Authorization/roleDefinitions"+raAPI+"&$filter=roleName%20eq%20'website%20contributor'", "")
	vs := listValues(t, r)
	if len(vs) != 1 || vs[0]["id"] != "/subscriptions/"+e.sub+"/providers/Microsoft.Authorization/roleDefinitions/de139f84-1756-47ae-9be6-808fbbe84772" {
		t.Fatalf("filtered list: %s", r.body)
	}
	p := vs[0]["properties"].(map[string]any)
	if p["roleName"] != "Website Contributor" || p["type"] != "BuiltInRole" {
		t.Fatalf("shape: %s", r.body)
	}
	if n := len(listValues(t, e.must(http.StatusOK, "GET", "/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions"+raAPI, ""))); n != len(rbac.BuiltinRoles()) {
		t.Fatalf("full list has %d roles", n)
	}
	if n := len(listValues(t, e.must(http.StatusOK, "GET", "/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions"+raAPI+"&$filter=roleName%20eq%20'Nope'", ""))); n != 0 {
		t.Fatalf("unknown role listed")
	}
	r = e.must(http.StatusOK, "GET", "/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/"+ownerID+raAPI, "")
	if r.json(t)["properties"].(map[string]any)["roleName"] != "Owner" {
		t.Fatalf("get: %s", r.body)
	}
	e.must(http.StatusOK, "GET", "/providers/Microsoft.Authorization/roleDefinitions/"+ownerID+raAPI, "")
	e.must(http.StatusNotFound, "GET", "/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/00000000-0000-0000-0000-000000000000"+raAPI, "")
	// Custom roles (az role definition create|delete): a 400 saying why,
	// the same for a definition that exists and one that does not.
	for _, c := range []struct{ method, id string }{{"PUT", ownerID}, {"PUT", "11111111-2222-3333-4444-555555555555"}, {"DELETE", ownerID}} {
		r := e.must(http.StatusBadRequest, c.method, "/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/"+c.id+raAPI, "{}")
		if !strings.Contains(string(r.body), "only the built-in roles exist") {
			t.Errorf("%s of a role definition: %s", c.method, r.body)
		}
	}
	e.must(http.StatusMethodNotAllowed, "PATCH", "/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/"+ownerID+raAPI, "{}")
}

// TestAuthorizeRequest_ByRole wires Handler.AuthorizeRequest into Authorize
// as the composition root will: a principal without a role gets
// AuthorizationFailed, a Reader reads but cannot write, and role
// assignments made through the API take effect at once.
func TestAuthorizeRequest_ByRole(t *testing.T) {
	e := newEnv(t)
	e.seed()
	var h *Handler
	h = New(Config{Store: e.store, Controller: e.ctl, Domain: "localhost", Authorize: func(r *http.Request) error {
		p := r.Header.Get("X-Test-Principal") // stands in for a verified token's oid
		if p == "" {
			return nil // the admin token
		}
		return h.AuthorizeRequest(p, r)
	}})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	call := func(who, method, p, body string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+e.path(p)+raAPI, strings.NewReader(body))
		if who != "" {
			req.Header.Set("X-Test-Principal", who)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String()
	}

	status, body := call(principal1, "GET", sitePath, "")
	wantMsg := "The client '" + principal1 + "' with object id '" + principal1 + "' does not have authorization to perform action 'Microsoft.Web/sites/read' over scope '" + e.path(sitePath) + "' or the scope is invalid. If access was recently granted, please refresh your credentials."
	if status != http.StatusForbidden || !strings.Contains(body, `"code":"AuthorizationFailed"`) || !strings.Contains(body, wantMsg) {
		t.Fatalf("no role: %d %s", status, body)
	}
	// The admin makes principal1 a Reader of the group.
	if s, b := call("", "PUT", rgPath+"/providers/Microsoft.Authorization/roleAssignments/"+raName1, raBody(e.sub, readerID, principal1)); s != http.StatusCreated {
		t.Fatalf("assign: %d %s", s, b)
	}
	if s, b := call(principal1, "GET", sitePath, ""); s != http.StatusOK {
		t.Fatalf("reader read: %d %s", s, b)
	}
	if s, b := call(principal1, "POST", sitePath+"/restart", ""); s != http.StatusForbidden || !strings.Contains(b, "Microsoft.Web/sites/restart/action") {
		t.Fatalf("reader restart: %d %s", s, b)
	}
	if s, _ := call(principal1, "PATCH", sitePath, `{"properties":{}}`); s != http.StatusForbidden {
		t.Fatalf("reader write: %d", s)
	}
	// A Reader cannot grant itself more.
	if s, _ := call(principal1, "PUT", rgPath+"/providers/Microsoft.Authorization/roleAssignments/"+raName2, raBody(e.sub, ownerID, principal1)); s != http.StatusForbidden {
		t.Fatalf("reader escalates: %d", s)
	}
	// Revoked: refused again at once.
	call("", "DELETE", rgPath+"/providers/Microsoft.Authorization/roleAssignments/"+raName1, "")
	if s, _ := call(principal1, "GET", sitePath, ""); s != http.StatusForbidden {
		t.Fatalf("after revoke: %d", s)
	}
}
