package arm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAttack_NestedDeploymentRecursionBounded: a template that deploys
// itself (its own text passed on as a parameter, under every spelling of
// the type the router takes for Microsoft.Resources — "Microſoft", U+017F,
// folds to it) would recurse on the server's stack until the process died,
// one tenant's PUT ending every tenant's apps. Deployments nest at most
// maxNesting deep: the innermost is refused, every level fails with the
// reason, and nothing past the bound is created.
func TestAttack_NestedDeploymentRecursionBounded(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", rgPath, `{"location":"westeurope"}`)
	for i, typ := range []string{"Microsoft.Resources/deployments", "Microſoft.Resources/deployments", "MICROSOFT.RESOURCES/deployments"} {
		self := `{"contentVersion":"1.0.0.0","parameters":{"self":{"type":"object"},"level":{"type":"int"}},"resources":[
		 {"type":"Microsoft.Web/serverfarms","apiVersion":"2024-11-01","name":"[concat('p` + fmt.Sprint(i) + `-', parameters('level'))]","location":"westeurope","sku":{"name":"B1"}},
		 {"type":"` + typ + `","apiVersion":"2021-04-01","name":"[concat('d` + fmt.Sprint(i) + `-', parameters('level'))]",
		  "properties":{"mode":"Incremental","template":"[parameters('self')]",
		   "parameters":{"self":{"value":"[parameters('self')]"},"level":{"value":"[add(parameters('level'),1)]"}}}}]}`
		var tpl any
		if err := json.Unmarshal([]byte(self), &tpl); err != nil {
			t.Fatal(err)
		}
		params, _ := json.Marshal(map[string]any{"self": map[string]any{"value": tpl}, "level": map[string]any{"value": 0}})
		done := make(chan response, 1)
		go func() { done <- e.do("PUT", depPath+"/outer"+fmt.Sprint(i), depBody(self, string(params))) }()
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			t.Fatalf("%s: the recursive deployment did not end", typ)
		}
		d := string(e.must(http.StatusOK, "GET", depPath+"/outer"+fmt.Sprint(i), "").body)
		if !strings.Contains(d, `"provisioningState":"Failed"`) || !strings.Contains(d, "NestedDeploymentTooDeep") {
			t.Errorf("%s: the outer deployment: %.600s; want Failed, saying the nesting is too deep", typ, d)
		}
		for level := 0; level <= maxNesting+1; level++ {
			want := http.StatusOK
			if level > maxNesting {
				want = http.StatusNotFound
			}
			if s := e.do("GET", webPath+"/serverfarms/p"+fmt.Sprint(i)+"-"+fmt.Sprint(level), "").status; s != want {
				t.Errorf("%s: the plan of level %d: %d, want %d", typ, level, s, want)
			}
		}
	}
}

// TestAttack_NestedDeploymentsShareOneBudget: copy loops of nested
// deployments cannot multiply the 800 resources a template may hold into
// an unbounded number: the tree of one top-level deployment creates at
// most maxTreeResources (lowered here to keep the test short).
func TestAttack_NestedDeploymentsShareOneBudget(t *testing.T) {
	setForTest(t, &maxTreeResources, 7)
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", rgPath, `{"location":"westeurope"}`)
	inner := `{"contentVersion":"1.0.0.0","parameters":{"m":{"type":"int"}},"resources":[{"copy":{"name":"c","count":3},
	 "type":"Microsoft.Web/serverfarms","apiVersion":"2024-11-01","name":"[concat('p', parameters('m'), 'x', copyIndex())]",
	 "location":"westeurope","sku":{"name":"B1"}}]}`
	outer := `{"contentVersion":"1.0.0.0","resources":[{"copy":{"name":"mods","count":4},"type":"Microsoft.Resources/deployments","apiVersion":"2021-04-01",
	 "name":"[concat('mod', copyIndex())]","properties":{"mode":"Incremental","expressionEvaluationOptions":{"scope":"inner"},
	 "parameters":{"m":{"value":"[copyIndex()]"}},"template":` + inner + `}}]}`
	d := string(e.deploy(http.StatusCreated, "many", depBody(outer, "")).body)
	if !strings.Contains(d, `"provisioningState":"Failed"`) || !strings.Contains(d, "DeploymentQuotaExceeded") {
		t.Errorf("the deployment over the budget: %.600s", d)
	}
	var plans int
	for m := range 4 {
		for x := range 3 {
			if e.do("GET", webPath+"/serverfarms/p"+fmt.Sprint(m)+"x"+fmt.Sprint(x), "").status == http.StatusOK {
				plans++
			}
		}
	}
	// Two modules and their six plans fit in seven, with the third module.
	if plans > 6 {
		t.Errorf("%d plans were created; the budget allows at most 6 beside their modules", plans)
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

// buildingVariables are template variables of a few KB whose "big" is an
// array of n distinct strings of 1 MB.
func buildingVariables(n int) map[string]any {
	vars := map[string]any{"v0": strings.Repeat("x", 1000)}
	for i := 1; i <= 10; i++ {
		p := fmt.Sprint("v", i-1)
		vars[fmt.Sprint("v", i)] = "[concat(variables('" + p + "'), variables('" + p + "'))]"
	}
	var args []string
	for i := range n {
		args = append(args, fmt.Sprintf("concat(variables('v10'), '%d')", i))
	}
	vars["big"] = "[createArray(" + strings.Join(args, ",") + ")]"
	return vars
}

// setForTest sets *p to v for the test's duration.
func setForTest[T any](t *testing.T, p *T, v T) {
	saved := *p
	*p = v
	t.Cleanup(func() { *p = saved })
}

// deploySucceeds deploys body under each name, one after the other, and
// fails the test for each that does not succeed.
func (e *env) deploySucceeds(body string, names ...string) {
	e.t.Helper()
	for _, name := range names {
		if d := string(e.deploy(http.StatusCreated, name, body).body); !strings.Contains(d, `"provisioningState":"Succeeded"`) {
			e.t.Errorf("deployment %s: %.600s; want Succeeded", name, d)
		}
	}
}

// TestAttack_TemplateMemoryShared: a template of a few KB makes its
// evaluation hold tens of MB for as long as its run lasts, and a run goes
// on after its client hangs up, so a tenant's deployments, each within
// its own limit, together held more than the server has. All the runs of
// a server share one budget (templateValueBytes, lowered here): a
// deployment past it fails with TemplateMemoryBusy, and what a run built
// is given back when it ends.
func TestAttack_TemplateMemoryShared(t *testing.T) {
	setForTest(t, &templateValueBytes, 32<<20)
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", rgPath, `{"location":"westeurope"}`)
	inner := map[string]any{"contentVersion": "1.0.0.0", "parameters": map[string]any{"n": map[string]any{"type": "int"}},
		"variables": buildingVariables(8), "resources": []any{},
		"outputs": map[string]any{"n": map[string]any{"type": "int", "value": "[length(variables('big'))]"}}}
	outer := map[string]any{"contentVersion": "1.0.0.0", "variables": buildingVariables(8), "resources": []any{
		map[string]any{"type": "Microsoft.Resources/deployments", "apiVersion": "2021-04-01", "name": "mod",
			"properties": map[string]any{"mode": "Incremental", "expressionEvaluationOptions": map[string]any{"scope": "inner"},
				"parameters": map[string]any{"n": map[string]any{"value": "[length(variables('big'))]"}}, "template": inner}}}}
	b, _ := json.Marshal(outer)
	d := string(e.deploy(http.StatusCreated, "held", depBody(string(b), "")).body)
	if !strings.Contains(d, `"provisioningState":"Failed"`) || !strings.Contains(d, "TemplateMemoryBusy") {
		t.Errorf("a module building 26 MB while its parent holds 26 MB of a 32 MB budget: %.600s; want Failed with TemplateMemoryBusy", d)
	}
	// Each run's share is back once it ended: one at a time, they fit.
	b, _ = json.Marshal(inner)
	e.deploySucceeds(depBody(string(b), `{"n":{"value":1}}`), "one", "two", "three")
	// A validation's share is given back too.
	for range 3 {
		e.must(http.StatusOK, "POST", depPath+"/v/validate", depBody(string(b), `{"n":{"value":1}}`))
	}
}

// TestAttack_SecureValueQuotedByNestedDeployment: a nested deployment of
// outer scope (the default, what Bicep's modules are not but hand-written
// templates often are) is evaluated by its parent, which writes the
// parent's secure values into the module's body as plain text. The module
// knows no secure parameter, so a resource that refuses such a value
// quoted it in the module's own record — its error and operations, which
// any Reader of the group reads. The module's record hides its parents'
// secure values as the parent's own does.
func TestAttack_SecureValueQuotedByNestedDeployment(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", rgPath, `{"location":"westeurope"}`)
	tpl := `{"contentVersion":"1.0.0.0","parameters":{"pw":{"type":"securestring"}},"resources":[
	 {"type":"Microsoft.Resources/deployments","apiVersion":"2021-04-01","name":"mod","properties":{"mode":"Incremental",
	  "template":{"contentVersion":"1.0.0.0","resources":[{"type":"Microsoft.Web/sites","apiVersion":"2024-11-01","name":"s1","location":"westeurope",
	   "properties":{"serverFarmId":"[resourceId('Microsoft.Web/serverfarms', parameters('pw'))]"}}]}}}]}`
	d := string(e.deploy(http.StatusCreated, "outer", depBody(tpl, `{"pw":{"value":"Pa55w0rdXyz"}}`)).body)
	if !strings.Contains(d, `"Failed"`) {
		t.Fatalf("the site on a plan that does not exist was not refused: %.400s", d)
	}
	for _, path := range []string{depPath + "/outer", depPath + "/outer/operations", depPath + "/mod", depPath + "/mod/operations"} {
		text := string(e.must(http.StatusOK, "GET", path, "").body)
		if strings.Contains(text, "Pa55w0rd") {
			t.Errorf("GET %s quotes the parent's secure value: %.600s", path, text)
		}
	}
}

// TestAttack_TemplateReachesAnotherGroup: a Contributor of one group
// cannot, through a template, read or change what another group holds:
// reference() and listKeys() of its resources, a module deployed into
// it, a Key Vault reference to its vault, and a site on its plan are each
// refused as the direct call would be, and no secret of it shows in the
// deployment's record.
func TestAttack_TemplateReachesAnotherGroup(t *testing.T) {
	e, call := rbacEnv(t)
	const mine = "/subscriptions/{s}/resourceGroups/mine"
	e.must(http.StatusCreated, "PUT", mine, `{"location":"westeurope"}`)
	if s, b := call("", "PUT", mine+"/providers/Microsoft.Authorization/roleAssignments/"+raName1, raBody("{s}", contributorID, principal1)); s != http.StatusCreated {
		t.Fatalf("assign: %d %s", s, b)
	}
	if r := e.do("PUT", stgPath+"/victimsa", accountBody); r.status >= 300 {
		t.Fatalf("storage account: %d %s", r.status, r.body)
	}
	keys := string(e.must(http.StatusOK, "POST", stgPath+"/victimsa/listKeys", "").body)
	vault, _ := newKVRefVault(t, e, true)
	site := e.path(sitePath)
	for name, tc := range map[string]struct{ tpl, params string }{
		"listKeys":  {`{"contentVersion":"1.0.0.0","resources":[],"outputs":{"k":{"type":"object","value":"[listKeys(resourceId('rg', 'Microsoft.Storage/storageAccounts', 'victimsa'), '2023-05-01')]"}}}`, ""},
		"reference": {`{"contentVersion":"1.0.0.0","resources":[],"outputs":{"k":{"type":"object","value":"[reference('` + site + `', '2024-11-01', 'Full')]"}}}`, ""},
		"module": {`{"contentVersion":"1.0.0.0","resources":[{"type":"Microsoft.Resources/deployments","apiVersion":"2021-04-01","name":"into","resourceGroup":"rg",
		  "properties":{"mode":"Incremental","template":{"contentVersion":"1.0.0.0","resources":[{"type":"Microsoft.Web/serverfarms","apiVersion":"2024-11-01","name":"planted","location":"westeurope","sku":{"name":"B1"}}]}}}]}`, ""},
		"vault": {`{"contentVersion":"1.0.0.0","parameters":{"pw":{"type":"securestring"}},"resources":[]}`,
			`{"pw":{"reference":{"keyVault":{"id":"` + vault + `"},"secretName":"db-password"}}}`},
		"site on its plan": {`{"contentVersion":"1.0.0.0","resources":[{"type":"Microsoft.Web/sites","apiVersion":"2024-11-01","name":"squatter","location":"westeurope",
		  "properties":{"serverFarmId":"` + e.path(planPath) + `"}}]}`, ""},
	} {
		s, b := call(principal1, "PUT", mine+"/providers/Microsoft.Resources/deployments/x", depBody(tc.tpl, tc.params))
		if s < 300 {
			_, b = call(principal1, "GET", mine+"/providers/Microsoft.Resources/deployments/x", "")
		}
		_, ops := call(principal1, "GET", mine+"/providers/Microsoft.Resources/deployments/x/operations", "")
		if s < 300 && !strings.Contains(b, `"Failed"`) {
			t.Errorf("%s: %d %.400s; want refused or Failed", name, s, b)
		}
		for _, secret := range []string{"second-vault-pw", keys[strings.Index(keys, `"value":"`)+9:][:20]} {
			if strings.Contains(b+ops, secret) {
				t.Errorf("%s: the record shows the other group's secret: %.400s", name, b)
			}
		}
		call("", "DELETE", mine+"/providers/Microsoft.Resources/deployments/x", "")
	}
	for _, p := range []string{webPath + "/serverfarms/planted", "/subscriptions/{s}/resourceGroups/mine/providers/Microsoft.Web/sites/squatter"} {
		if s, _ := call("", "GET", p, ""); s != http.StatusNotFound {
			t.Errorf("%s exists: %d", p, s)
		}
	}
}

// TestAttack_NestedDeploymentsShareOneStepBudget: each evaluation may
// take 2,000,000 steps, and a tree of modules holds up to 4000 of them,
// so one PUT — which runs on after its client hangs up — kept a core
// busy for the whole 30 minutes of a run; a few such PUTs starved every
// tenant. The evaluations of one tree share one budget of steps
// (maxTreeSteps, lowered here), reference() and listKeys() counting
// for many.
func TestAttack_NestedDeploymentsShareOneStepBudget(t *testing.T) {
	setForTest(t, &maxTreeSteps, 3_000_000)
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", rgPath, `{"location":"westeurope"}`)
	ones := strings.TrimSuffix(strings.Repeat("1,", 250), ",")
	outs := map[string]any{}
	for i := range 6 { // 6 × 800 × 252 steps: 1.2 million
		outs[fmt.Sprint("o", i)] = map[string]any{"type": "array", "copy": map[string]any{"count": 800, "input": "[length(createArray(" + ones + "))]"}}
	}
	inner := map[string]any{"contentVersion": "1.0.0.0", "resources": []any{}, "outputs": outs}
	outer := map[string]any{"contentVersion": "1.0.0.0", "resources": []any{
		map[string]any{"copy": map[string]any{"name": "mods", "count": 4}, "type": "Microsoft.Resources/deployments", "apiVersion": "2021-04-01",
			"name": "[concat('burn', copyIndex())]", "properties": map[string]any{"mode": "Incremental",
				"expressionEvaluationOptions": map[string]any{"scope": "inner"}, "template": inner}}}}
	b, _ := json.Marshal(outer)
	d := string(e.deploy(http.StatusCreated, "burn", depBody(string(b), "")).body)
	if !strings.Contains(d, `"provisioningState":"Failed"`) || !strings.Contains(d, "steps") {
		t.Errorf("4 modules of 1.2 million steps each within a budget of 3 million: %.600s; want Failed, saying the steps ran out", d)
	}
	// Apart, two trees each fit.
	b, _ = json.Marshal(inner)
	e.deploySucceeds(depBody(string(b), ""), "one", "two", "three")
}
