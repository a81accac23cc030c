package arm

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAttack_NestedDeploymentByFoldedNamespace: a template must not
// deploy a deployment. The router and RBAC compare names with Unicode
// simple folding, under which "Microſoft.Resources" (U+017F, long s) is
// Microsoft.Resources; refused only by its lower-cased spelling, a nested
// deployment would run, and one that passes its own template on as a
// parameter recurses on the server's stack until the process dies — one
// tenant's PUT ending every tenant's apps.
func TestAttack_NestedDeploymentByFoldedNamespace(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", rgPath, `{"location":"westeurope"}`)
	inner := `{"contentVersion":"1.0.0.0","resources":[{"type":"Microsoft.Web/serverfarms","apiVersion":"2024-11-01","name":"innerplan","location":"westeurope","sku":{"name":"B1"}}]}`
	for _, typ := range []string{"Microſoft.Resources/deployments", "MICROSOFT.RESOURCES/deployments", "Microsoft.Reſources/deployments"} {
		tpl := `{"contentVersion":"1.0.0.0","resources":[{"type":"` + typ + `","apiVersion":"2021-04-01","name":"inner",
		 "properties":{"mode":"Incremental","template":` + inner + `}}]}`
		for _, op := range []string{"POST /outer/validate", "PUT /outer"} {
			method, suffix, _ := strings.Cut(op, " ")
			r := e.do(method, depPath+suffix, depBody(tpl, ""))
			if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "InvalidTemplate") {
				t.Errorf("%s with a resource of type %s: %d %.300s; want 400 InvalidTemplate", op, typ, r.status, r.body)
			}
		}
	}
	for _, p := range []string{depPath + "/inner", depPath + "/outer", webPath + "/serverfarms/innerplan"} {
		if s := e.do("GET", p, "").status; s != http.StatusNotFound {
			t.Errorf("%s exists after the refused deployments: %d", p, s)
		}
	}
}

// TestAttack_DeploymentFromATemplate: whatever path a template's names
// build, a deployment is never run from inside another (dispatch marks
// its requests), so no spelling of the type can make one recurse.
func TestAttack_DeploymentFromATemplate(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", rgPath, `{"location":"westeurope"}`)
	h := e.srv.Config.Handler.(*Handler)
	outer := httptest.NewRequest("PUT", "/", nil)
	outer.Header.Set("Authorization", "Bearer "+token)
	outer.RemoteAddr = "127.0.0.1:1234"
	inner := `{"contentVersion":"1.0.0.0","resources":[{"type":"Microsoft.Web/serverfarms","apiVersion":"2024-11-01","name":"innerplan","location":"westeurope","sku":{"name":"B1"}}]}`
	for _, op := range []string{"PUT /inner", "POST /inner/validate"} {
		method, suffix, _ := strings.Cut(op, " ")
		status, _, body := h.dispatch(t.Context(), outer, method, e.path(depPath+suffix), "2021-04-01", []byte(depBody(inner, "")))
		if status != http.StatusBadRequest || !strings.Contains(string(body), "NestedDeployment") {
			t.Errorf("%s dispatched from a template: %d %.300s; want 400 NestedDeployment", op, status, body)
		}
	}
	for _, p := range []string{depPath + "/inner", webPath + "/serverfarms/innerplan"} {
		if s := e.do("GET", p, "").status; s != http.StatusNotFound {
			t.Errorf("%s exists after the refused dispatch: %d", p, s)
		}
	}
}
