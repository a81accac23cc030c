package armtemplate

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Scope is where a deployment runs: what resourceGroup(), subscription()
// and deployment() return and where resourceId() points by default.
type Scope struct {
	SubscriptionID    string
	SubscriptionName  string
	TenantID          string
	ResourceGroup     string
	Location          string // the resource group's
	ResourceGroupTags map[string]string
	DeploymentName    string
	// Now is the deployment's time, for utcNow().
	Now time.Time
	// Environment is what environment() returns: the cloud's endpoints
	// and suffixes (resourceManager, authentication, suffixes.storage,
	// suffixes.keyvaultDns, ...). Nil: environment() is an error.
	Environment map[string]any
}

func (s Scope) resourceGroupID() string {
	return "/subscriptions/" + s.SubscriptionID + "/resourceGroups/" + s.ResourceGroup
}

// formatNow formats Now with a .NET date format: the standard "u", "s"
// and "o", or a custom one of y, M, d, H, m, s and f runs (other
// characters are literal). utcNow()'s default is "yyyyMMddTHHmmssZ".
func (s Scope) formatNow(f string) (any, error) {
	t := s.Now.UTC()
	switch f {
	case "u":
		return t.Format("2006-01-02 15:04:05Z"), nil
	case "s":
		return t.Format("2006-01-02T15:04:05"), nil
	case "o", "O":
		return t.Format("2006-01-02T15:04:05.0000000Z"), nil
	}
	if len(f) > 200 {
		return nil, fmt.Errorf("the date format is longer than 200 characters")
	}
	var b strings.Builder
	for i := 0; i < len(f); {
		c := f[i]
		j := i
		for j < len(f) && f[j] == c {
			j++
		}
		n := j - i
		switch c {
		case 'y':
			if n == 2 {
				fmt.Fprintf(&b, "%02d", t.Year()%100)
			} else {
				fmt.Fprintf(&b, "%0*d", n, t.Year())
			}
		case 'M':
			fmt.Fprintf(&b, "%0*d", min(n, 2), int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%0*d", min(n, 2), t.Day())
		case 'H':
			fmt.Fprintf(&b, "%0*d", min(n, 2), t.Hour())
		case 'm':
			fmt.Fprintf(&b, "%0*d", min(n, 2), t.Minute())
		case 's':
			fmt.Fprintf(&b, "%0*d", min(n, 2), t.Second())
		case 'f':
			frac := fmt.Sprintf("%09d", t.Nanosecond())
			b.WriteString(frac[:min(n, 7)])
		default:
			b.WriteString(f[i:j])
		}
		i = j
	}
	return b.String(), nil
}

// Template is a parsed ARM template.
type Template struct {
	Schema         string
	ContentVersion string
	params         map[string]paramDef // lower-cased name
	vars           map[string]any      // lower-cased name
	resources      []any
	outputs        map[string]map[string]any
}

// paramDef is a declared parameter.
type paramDef struct {
	Name       string
	Type       string // lower-cased: string, securestring, int, bool, object, secureobject, array
	Default    any
	HasDefault bool
	Allowed    []any
	MinValue   *int64
	MaxValue   *int64
	MinLength  *int64
	MaxLength  *int64
}

// secure reports whether the parameter's value is never echoed.
func (p paramDef) secure() bool { return p.Type == "securestring" || p.Type == "secureobject" }

// armTypeNames are the spellings ARM echoes parameter and output types in.
var armTypeNames = map[string]string{
	"string": "String", "securestring": "SecureString", "int": "Int", "bool": "Bool",
	"object": "Object", "secureobject": "SecureObject", "array": "Array",
}

// Parse reads a template document. Every expression in it is parsed and
// every function it calls must be one Slipway evaluates, so that a
// template Slipway cannot run is refused before anything is deployed.
func Parse(b []byte) (*Template, error) {
	if len(b) > MaxTemplateBytes {
		return nil, invalid("the template is %d bytes; the limit is %d bytes", len(b), MaxTemplateBytes)
	}
	strict, err := StrictJSON(b)
	if err != nil {
		return nil, invalid("the template is not valid JSON: %v", err)
	}
	v, err := decodeJSON(strict)
	if err != nil {
		return nil, invalid("the template is not valid JSON: %v", err)
	}
	return fromValue(v)
}

// FromValue reads a template already decoded from JSON (a deployment
// request's properties.template).
func FromValue(v any) (*Template, error) {
	v, err := normalize(v)
	if err != nil {
		return nil, invalid("%v", err)
	}
	return fromValue(v)
}

func fromValue(v any) (*Template, error) {
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, invalid("the template must be a JSON object, not %s", typeName(v))
	}
	t := &Template{params: map[string]paramDef{}, vars: map[string]any{}, outputs: map[string]map[string]any{}}
	known := map[string]bool{"$schema": true, "contentversion": true, "parameters": true, "variables": true,
		"resources": true, "outputs": true, "apiprofile": true, "metadata": true}
	for k, x := range doc {
		switch lk := strings.ToLower(k); {
		case lk == "functions" || lk == "definitions" || lk == "languageversion" || lk == "imports":
			return nil, invalid("the template property '%s' is not supported by Slipway (user-defined functions and types, symbolic names)", k)
		case !known[lk]:
			return nil, invalid("the template property '%s' is not known", k)
		case lk == "$schema":
			t.Schema, _ = x.(string)
		case lk == "contentversion":
			t.ContentVersion, _ = x.(string)
		}
	}
	if t.ContentVersion == "" {
		return nil, invalid("the template has no contentVersion")
	}
	if err := t.readParameters(doc); err != nil {
		return nil, err
	}
	if vars, ok := member(doc, "variables").(map[string]any); ok {
		if len(vars) > maxVariables {
			return nil, invalid("the template has %d variables; the limit is %d", len(vars), maxVariables)
		}
		for k, x := range vars {
			if strings.EqualFold(k, "copy") {
				return nil, invalid("variable copy loops are not supported by Slipway")
			}
			t.vars[strings.ToLower(k)] = x
		}
	} else if member(doc, "variables") != nil {
		return nil, invalid("'variables' must be an object")
	}
	switch rs := member(doc, "resources").(type) {
	case []any:
		t.resources = rs
	case nil:
		return nil, invalid("the template has no 'resources' array")
	default:
		return nil, invalid("'resources' must be an array (symbolic resource names, languageVersion 2.0, are not supported by Slipway)")
	}
	if outs, ok := member(doc, "outputs").(map[string]any); ok {
		if len(outs) > maxOutputs {
			return nil, invalid("the template has %d outputs; the limit is %d", len(outs), maxOutputs)
		}
		for k, x := range outs {
			o, ok := x.(map[string]any)
			if !ok {
				return nil, invalid("the output '%s' must be an object", k)
			}
			if _, ok := armTypeNames[strings.ToLower(str(member(o, "type")))]; !ok {
				return nil, invalid("the output '%s' has the type '%v'; the types are string, securestring, int, bool, object, secureObject and array", k, member(o, "type"))
			}
			t.outputs[k] = o
		}
	}
	return t, checkExpressions(doc, functionTable())
}

// Member is an object's member named name, compared without regard to
// case as ARM compares property names; nil if absent.
func Member(m map[string]any, name string) any { return member(m, name) }

// member reads an object's member without case.
func member(m map[string]any, name string) any {
	if v, ok := m[name]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func (t *Template) readParameters(doc map[string]any) error {
	ps, ok := member(doc, "parameters").(map[string]any)
	if !ok {
		if member(doc, "parameters") != nil {
			return invalid("'parameters' must be an object")
		}
		return nil
	}
	if len(ps) > maxParameters {
		return invalid("the template has %d parameters; the limit is %d", len(ps), maxParameters)
	}
	for name, x := range ps {
		d, ok := x.(map[string]any)
		if !ok {
			return invalid("the parameter '%s' must be an object", name)
		}
		p := paramDef{Name: name, Type: strings.ToLower(str(member(d, "type")))}
		if _, ok := armTypeNames[p.Type]; !ok {
			return invalid("the parameter '%s' has the type '%v'; the types are string, securestring, int, bool, object, secureObject and array", name, member(d, "type"))
		}
		for k, v := range d {
			switch strings.ToLower(k) {
			case "type", "metadata":
			case "defaultvalue":
				p.Default, p.HasDefault = v, true
			case "allowedvalues":
				a, ok := v.([]any)
				if !ok {
					return invalid("allowedValues of the parameter '%s' must be an array", name)
				}
				p.Allowed = a
			case "minvalue", "maxvalue", "minlength", "maxlength":
				n, ok := v.(int64)
				if !ok {
					return invalid("%s of the parameter '%s' must be an integer", k, name)
				}
				switch strings.ToLower(k) {
				case "minvalue":
					p.MinValue = &n
				case "maxvalue":
					p.MaxValue = &n
				case "minlength":
					p.MinLength = &n
				case "maxlength":
					p.MaxLength = &n
				}
			default:
				return invalid("the property '%s' of the parameter '%s' is not supported", k, name)
			}
		}
		t.params[strings.ToLower(name)] = p
	}
	return nil
}

// checkExpressions parses every expression string in v and refuses a
// call of a function the evaluator does not have.
func checkExpressions(v any, table map[string]function) error {
	switch x := v.(type) {
	case string:
		if !isExpression(x) {
			return nil
		}
		n, err := parseExpression(x)
		if err != nil {
			return invalid("the expression '%s' is not valid: %v", clip(x), err)
		}
		return checkCalls(n, table)
	case []any:
		for _, it := range x {
			if err := checkExpressions(it, table); err != nil {
				return err
			}
		}
	case map[string]any:
		for _, it := range x {
			if err := checkExpressions(it, table); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkCalls(n node, table map[string]function) error {
	switch x := n.(type) {
	case callNode:
		if !knownFunction(table, x.name) {
			return unsupportedFunction(x.name)
		}
		for _, a := range x.args {
			if err := checkCalls(a, table); err != nil {
				return err
			}
		}
	case propNode:
		return checkCalls(x.x, table)
	case indexNode:
		if err := checkCalls(x.x, table); err != nil {
			return err
		}
		return checkCalls(x.i, table)
	}
	return nil
}

// ParameterValue is a parameter as the deployment echoes it: its type in
// ARM's spelling and its value, which is nil for secure parameters.
type ParameterValue struct {
	Type  string
	Value any
}

// bindParameters checks the given values ({"name": {"value": v}}) against
// the declarations and fills in defaults.
func (e *evaluator) bindParameters(given map[string]any) error {
	var unknown []string
	for name, x := range given {
		def, ok := e.paramDefs[strings.ToLower(name)]
		if !ok {
			unknown = append(unknown, name)
			continue
		}
		w, ok := x.(map[string]any)
		if !ok {
			return invalid("the value of the parameter '%s' must be an object with a 'value'", name)
		}
		if member(w, "reference") != nil {
			// The deployment (internal/arm) reads Key Vault references
			// before it plans; one left here was not read.
			return invalid("the parameter '%s' is a Key Vault reference that was not resolved: give its value", name)
		}
		v, present := w["value"]
		if !present {
			v = member(w, "value")
		}
		nv, err := normalize(v)
		if err != nil {
			return invalid("the value of the parameter '%s': %v", name, err)
		}
		e.params[strings.ToLower(def.Name)] = nv
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		var names []string
		for _, p := range e.paramDefs {
			names = append(names, p.Name)
		}
		sort.Strings(names)
		return invalid("the template parameters '%s' are not valid; they are not present in the original template and can therefore not be provided at deployment time. The only supported parameters for this template are '%s'", strings.Join(unknown, ", "), strings.Join(names, ", "))
	}
	// Defaults may refer to other parameters: evaluate them in name
	// order, each one after those it uses (a use of a parameter whose
	// value is not known yet is retried after the others).
	var pending []paramDef
	for k, d := range e.paramDefs {
		if _, ok := e.params[k]; !ok {
			if !d.HasDefault {
				return invalid("the value for the template parameter '%s' is not provided", d.Name)
			}
			pending = append(pending, d)
		}
	}
	sort.Slice(pending, func(i, j int) bool { return pending[i].Name < pending[j].Name })
	for len(pending) > 0 {
		var next []paramDef
		var lastErr error
		for _, d := range pending {
			e.inDefault, e.what = true, "the default value of the parameter '"+d.Name+"'"
			v, err := e.value(d.Default)
			e.inDefault = false
			if err != nil {
				if _, stillPending := e.paramDefs[strings.ToLower(d.Name)]; stillPending && strings.Contains(err.Error(), "is used before its value is known") {
					next, lastErr = append(next, d), err
					continue
				}
				return err
			}
			e.params[strings.ToLower(d.Name)] = v
		}
		if len(next) == len(pending) {
			return invalid("the default values of the parameters refer to each other: %v", lastErr)
		}
		pending = next
	}
	for k, d := range e.paramDefs {
		if err := checkParameter(d, e.params[k], e.hidden[k]); err != nil {
			return err
		}
	}
	return nil
}

// checkParameter checks a value against its declaration. A secure or
// hidden value (Options.Hidden) is never quoted: redaction spares values
// too short to hide, and those are the ones an allowedValues list holds.
func checkParameter(d paramDef, v any, hidden bool) error {
	ok := false
	switch d.Type {
	case "string", "securestring":
		_, ok = v.(string)
	case "int":
		_, ok = v.(int64)
	case "bool":
		_, ok = v.(bool)
	case "object", "secureobject":
		_, ok = v.(map[string]any)
	case "array":
		_, ok = v.([]any)
	}
	if !ok {
		return invalid("the template parameter '%s' expects a value of type '%s', but the value given is of type '%s'", d.Name, armTypeNames[d.Type], typeName(v))
	}
	if d.Allowed != nil {
		values := []any{v}
		if a, isArray := v.([]any); isArray {
			values = a
		}
		for _, x := range values {
			found := false
			for _, al := range d.Allowed {
				if equalValues(x, al) {
					found = true
					break
				}
			}
			if !found {
				shown := "the value given"
				if !d.secure() && !hidden {
					shown = fmt.Sprintf("'%v'", x)
				}
				return invalid("the provided value %s for the template parameter '%s' is not valid; it is not one of the allowed values %s", shown, d.Name, allowedList(d.Allowed))
			}
		}
	}
	if n, isInt := v.(int64); isInt {
		if d.MinValue != nil && n < *d.MinValue || d.MaxValue != nil && n > *d.MaxValue {
			return invalid("the provided value for the template parameter '%s' is not valid: it must be between %s and %s", d.Name, bound(d.MinValue), bound(d.MaxValue))
		}
	}
	var l int64 = -1
	switch x := v.(type) {
	case string:
		l = int64(len([]rune(x)))
	case []any:
		l = int64(len(x))
	}
	if l >= 0 && (d.MinLength != nil && l < *d.MinLength || d.MaxLength != nil && l > *d.MaxLength) {
		return invalid("the provided value for the template parameter '%s' has length %d; it must be between %s and %s", d.Name, l, bound(d.MinLength), bound(d.MaxLength))
	}
	return nil
}

func allowedList(a []any) string {
	parts := make([]string, len(a))
	for i, x := range a {
		s, _ := toText(x)
		parts[i] = "'" + s + "'"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func bound(n *int64) string {
	if n == nil {
		return "any"
	}
	return strconv.FormatInt(*n, 10)
}
