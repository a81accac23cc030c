package armtemplate

import (
	"context"
	"strings"
	"testing"
)

// TestNestedDeploymentBody: an inner-scoped nested deployment (what Bicep
// makes of a module) hands its template on as written — its expressions
// name its own parameters, which the outer template does not have — with
// its parameters evaluated in the outer scope; an outer-scoped one is
// evaluated whole; resourceGroup places it (and leaves the body), another
// subscription is refused, and an outer reference to the module's outputs
// waits for it.
func TestNestedDeploymentBody(t *testing.T) {
	tpl := mustParse(t, `{"contentVersion":"1.0.0.0","parameters":{"prefix":{"type":"string"}},"resources":[
	 {"type":"Microsoft.Resources/deployments","apiVersion":"2022-09-01","name":"appModule","resourceGroup":"[concat(parameters('prefix'),'-other')]",
	  "properties":{"expressionEvaluationOptions":{"scope":"inner"},"mode":"Incremental",
	   "parameters":{"name":{"value":"[concat(parameters('prefix'),'-app')]"}},
	   "template":{"parameters":{"name":{"type":"string"}},"resources":[],"outputs":{"url":{"type":"string","value":"[concat('https://',parameters('name'))]"}}}}},
	 {"type":"Microsoft.Resources/deployments","apiVersion":"2022-09-01","name":"outerModule",
	  "properties":{"mode":"Incremental","template":{"resources":[],"outputs":{"p":{"type":"string","value":"[parameters('prefix')]"}}}}},
	 {"type":"Microsoft.Web/sites/config","apiVersion":"2024-11-01","name":"app/appsettings",
	  "properties":{"URL":"[reference(resourceId('x-other','Microsoft.Resources/deployments','appModule'),'2022-09-01').outputs.url.value]"}}]}`)
	d, err := Plan(context.Background(), tpl, map[string]any{"prefix": map[string]any{"value": "x"}}, testScope, Options{})
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[string]map[string]any{}
	rt := &fakeRuntime{state: map[string]map[string]any{}}
	_, err = d.Deploy(context.Background(), rt, func(_ context.Context, r *Resource, body map[string]any) error {
		bodies[r.ID] = body
		if IsDeployments(r.Type) {
			rt.state[strings.ToLower(r.ID)] = map[string]any{"properties": map[string]any{
				"outputs": map[string]any{"url": map[string]any{"value": "https://x-app"}}}}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	innerID := "/subscriptions/" + testScope.SubscriptionID + "/resourceGroups/x-other/providers/Microsoft.Resources/deployments/appModule"
	inner, ok := bodies[innerID]
	if !ok {
		t.Fatalf("the inner module was not placed in x-other: %v", keysOf(bodies))
	}
	if _, ok := inner["resourceGroup"]; ok {
		t.Error("resourceGroup was sent in the nested deployment's body")
	}
	props := inner["properties"].(map[string]any)
	if got := props["parameters"].(map[string]any)["name"].(map[string]any)["value"]; got != "x-app" {
		t.Errorf("the module's parameter = %v; want it evaluated in the outer scope", got)
	}
	out := props["template"].(map[string]any)["outputs"].(map[string]any)["url"].(map[string]any)["value"]
	if out != "[concat('https://',parameters('name'))]" {
		t.Errorf("the inner template's expression was evaluated by the outer template: %v", out)
	}
	outer := bodies["/subscriptions/"+testScope.SubscriptionID+"/resourceGroups/"+testScope.ResourceGroup+"/providers/Microsoft.Resources/deployments/outerModule"]
	if v := outer["properties"].(map[string]any)["template"].(map[string]any)["outputs"].(map[string]any)["p"].(map[string]any)["value"]; v != "x" {
		t.Errorf("an outer-scoped template was not evaluated in the outer scope: %v", v)
	}
	for id, b := range bodies {
		if strings.HasSuffix(id, "/config/appsettings") {
			if got := b["properties"].(map[string]any)["URL"]; got != "https://x-app" {
				t.Errorf("the module's output read by the outer template: %v", got)
			}
		}
	}

	_, err = Plan(context.Background(), mustParse(t, `{"contentVersion":"1.0.0.0","resources":[
	 {"type":"Microsoft.Resources/deployments","apiVersion":"2022-09-01","name":"m","subscriptionId":"11111111-0000-0000-0000-000000000009",
	  "properties":{"mode":"Incremental","template":{"resources":[]}}}]}`), nil, testScope, Options{})
	if err == nil || !strings.Contains(err.Error(), "another subscription") {
		t.Errorf("a module in another subscription: %v", err)
	}
}

func keysOf(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
