package armtemplate

import (
	"strings"
)

// A template may deploy a template: a resource of type
// Microsoft.Resources/deployments whose properties carry the inner
// template inline (what Bicep makes of a module,
// https://learn.microsoft.com/azure/azure-resource-manager/templates/linked-templates#nested-template).
// Its expressionEvaluationOptions.scope says whose parameters and
// variables the inner template's expressions read: "inner", its own —
// the outer template then leaves properties.template as it is, for the
// nested deployment to evaluate — or "outer" (the default), the outer
// template's, which evaluates the whole body as any other. Its top-level
// resourceGroup puts the nested deployment, and so what it deploys, in
// another group of the subscription.

// DeploymentsType is the type of a nested deployment.
const DeploymentsType = "Microsoft.Resources/deployments"

// IsDeployments reports whether typ is the nested deployment type.
func IsDeployments(typ string) bool { return strings.EqualFold(typ, DeploymentsType) }

// innerScope reports whether a nested deployment's raw body asks for its
// template to be evaluated in its own scope.
func innerScope(raw map[string]any) bool {
	props, _ := member(raw, "properties").(map[string]any)
	opts, _ := member(props, "expressionEvaluationOptions").(map[string]any)
	s, _ := member(opts, "scope").(string)
	return strings.EqualFold(s, "inner")
}

// nestedOnly are the top-level keys of a nested deployment that place it
// rather than form its body.
var nestedOnly = map[string]bool{"resourcegroup": true, "subscriptionid": true}

// innerProperties evaluates an inner-scoped nested deployment's
// properties but its template, which is handed on as written.
func (ev *evaluator) innerProperties(props map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(props))
	for k, v := range props {
		if strings.EqualFold(k, "template") {
			out[k] = v
			continue
		}
		x, err := ev.value(v)
		if err != nil {
			return nil, err
		}
		out[k] = x
	}
	return out, nil
}
