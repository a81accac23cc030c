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

// TestAttack_SecureValueQuotedInErrors: a securestring is never stored,
// echoed or quoted in errors (docs/arm.md), yet the functions' errors
// quote the values they could not use (int('...'), format('...'), a
// reference() target, a resource name), and a failed deployment's error
// and operations are kept for any Reader of the group to read. A template
// that hands a secret to the wrong function must fail without printing
// it: in the answer, in the stored record and its operations, at
// validation as at deployment, however the value is quoted.
func TestAttack_SecureValueQuotedInErrors(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", rgPath, `{"location":"westeurope"}`)
	long := strings.Repeat("k3y", 100) // clipped where a message quotes it
	params := `{"pw":{"value":"Pa55\"w0rd{x}\u00e9"},"obj":{"value":{"inner":"` + long + `"}}}`
	for _, expr := range []string{
		"int(parameters('pw'))", "bool(parameters('pw'))", "format(parameters('pw'), 1)",
		"reference(parameters('pw'))", "resourceId('Microsoft.Web/sites', parameters('pw'), 'x')",
		"int(parameters('obj').inner)", "reference(parameters('obj').inner)",
	} {
		for where, res := range map[string]string{
			"a property, evaluated as it deploys": `"name":"p1","properties":{"x":"[` + expr + `]"}`,
			"a name, evaluated as it plans":       `"name":"[concat('p', string(length(` + expr + `)))]"`,
		} {
			tpl := `{"contentVersion":"1.0.0.0","parameters":{"pw":{"type":"securestring"},"obj":{"type":"secureObject"}},"resources":[
			 {"type":"Microsoft.Web/serverfarms","apiVersion":"2024-11-01",` + res + `,"location":"westeurope","sku":{"name":"B1"}}]}`
			for _, op := range []string{"POST /leak/validate", "PUT /leak"} {
				method, suffix, _ := strings.Cut(op, " ")
				e.must(http.StatusNoContent, "DELETE", depPath+"/leak", "")
				r := e.do(method, depPath+suffix, depBody(tpl, params))
				d, _ := e.store.TemplateDeployment(t.Context(), "rg", "leak")
				for what, text := range map[string]string{"answer": string(r.body), "record": string(d.Document) + string(d.Operations)} {
					for _, v := range []string{"Pa55", "w0rd", "k3yk3yk3y"} {
						if strings.Contains(text, v) {
							t.Errorf("%s of %s in %s: the %s quotes the secure value (%q): %.400s", op, expr, where, what, v, text)
						}
					}
				}
				if r.status < 400 && !strings.Contains(string(d.Document), `"Failed"`) && !strings.HasSuffix(op, "validate") {
					t.Errorf("%s of %s in %s: %d %.300s; want a failure", op, expr, where, r.status, r.body)
				}
			}
		}
	}
	// A resource that refuses a value quotes it too, in the error its
	// operation keeps.
	tpl := `{"contentVersion":"1.0.0.0","parameters":{"pw":{"type":"securestring"},"obj":{"type":"secureObject"}},"resources":[
	 {"type":"Microsoft.Web/sites","apiVersion":"2024-11-01","name":"s1","location":"westeurope",
	  "properties":{"serverFarmId":"[resourceId('Microsoft.Web/serverfarms', concat(parameters('pw'), parameters('obj').inner))]"}}]}`
	e.must(http.StatusNoContent, "DELETE", depPath+"/leak", "")
	r := e.do("PUT", depPath+"/leak", depBody(tpl, params))
	d, _ := e.store.TemplateDeployment(t.Context(), "rg", "leak")
	ops := string(e.must(http.StatusOK, "GET", depPath+"/leak/operations", "").body)
	if !strings.Contains(ops, `"Failed"`) {
		t.Errorf("the site was not refused: %d %.300s", r.status, ops)
	}
	for what, text := range map[string]string{"answer": string(r.body), "record": string(d.Document) + string(d.Operations), "operations": ops} {
		for _, v := range []string{"Pa55", "w0rd", "k3yk3yk3y"} {
			if strings.Contains(text, v) {
				t.Errorf("a refused value: the %s quotes the secure value (%q): %.400s", what, v, text)
			}
		}
	}
}
