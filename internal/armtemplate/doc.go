// Package armtemplate reads and evaluates Azure Resource Manager (ARM) JSON
// templates, the language of `az deployment group create --template-file`:
// the template document ($schema, contentVersion, parameters, variables,
// resources, outputs), the bracket expression language ("[concat('a',
// parameters('b'))]") and the template functions deploy scripts use
// (https://learn.microsoft.com/azure/azure-resource-manager/templates/syntax,
// https://learn.microsoft.com/azure/azure-resource-manager/templates/template-expressions,
// https://learn.microsoft.com/azure/azure-resource-manager/templates/template-functions).
//
// It owns no I/O: a Scope describes where a deployment runs (subscription,
// resource group, deployment name) and a Runtime answers reference() and
// listKeys() for resources deployed earlier in the same deployment. Plan
// checks a template and its parameters and expands it into the ordered list
// of resources to create (conditions, copy loops, nested child resources,
// dependsOn); Deploy then evaluates each resource's body in that order,
// hands it to the Runtime, and evaluates the outputs.
//
// Templates are untrusted input: sizes, counts, expression depth, value
// growth and the total evaluation work are bounded (limits.go), and an
// unsupported function or construct is an InvalidTemplate error that names
// it, found before anything is deployed.
package armtemplate
