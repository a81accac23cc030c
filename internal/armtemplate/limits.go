package armtemplate

// Limits on what a template may make the engine do. The ARM ones are
// Azure's documented template limits
// (https://learn.microsoft.com/azure/azure-resource-manager/templates/best-practices#template-limits
// and https://learn.microsoft.com/azure/azure-resource-manager/templates/copy-resources):
// a template of 4 MB, 256 parameters, 256 variables, 800 resources, 64
// outputs, 24,576 characters in an expression, 800 copies in a loop. The
// others are Slipway's, chosen far above what real templates need and far
// below what would hurt the server.
const (
	MaxTemplateBytes    = 4 << 20 // ARM: 4 MB
	MaxParametersBytes  = 4 << 20 // ARM: 4 MB, parameter file
	maxParameters       = 256     // ARM
	maxVariables        = 256     // ARM
	maxResources        = 800     // ARM, after copy loops are expanded
	maxOutputs          = 64      // ARM
	maxExpressionLength = 24576   // ARM
	maxCopyCount        = 800     // ARM

	maxExpressionDepth = 64      // nesting of calls, accesses and parentheses
	maxFunctionArgs    = 256     // arguments of one call
	maxStringBytes     = 1 << 20 // any string a function builds
	maxCollectionItems = 10000   // any array or object a function builds
	maxChildDepth      = 8       // nesting of child resources
	// maxSteps bounds the function calls and variable expansions of one
	// deployment's evaluation, so that a template whose values double at
	// every step (a variable that concats another twice, ten times over)
	// ends quickly with an error.
	maxSteps = 2_000_000
	// maxValueBytes bounds the total size of the strings, arrays and
	// objects all functions build during one evaluation: what it may hold
	// at once, for as long as its run lasts. A server runs many (Pool).
	maxValueBytes = 64 << 20
)
