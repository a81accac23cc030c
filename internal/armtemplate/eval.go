package armtemplate

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Error is a template or deployment error with ARM's code:
// InvalidTemplate for anything wrong in the template or its parameters
// (found before anything is deployed, where it can be), and the code the
// Runtime reported for a resource that failed.
type Error struct {
	Code    string
	Message string
	// Target names what the error is about (a resource's id), if anything.
	Target string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// invalid returns an InvalidTemplate error.
func invalid(format string, args ...any) *Error {
	return &Error{Code: "InvalidTemplate", Message: "Deployment template validation failed: " + fmt.Sprintf(format, args...)}
}

// Runtime answers the functions that read deployed resources. Deploy
// calls it; Plan never does.
type Runtime interface {
	// Reference returns the resource's state (the body of a GET of id):
	// all of it when full, else its properties.
	Reference(ctx context.Context, id, apiVersion string, full bool) (any, error)
	// List performs a list action (POST id/<action>), e.g. listKeys.
	List(ctx context.Context, id, action, apiVersion string) (any, error)
}

// evaluator evaluates expressions of one template and one set of
// parameter values.
type evaluator struct {
	ctx       context.Context
	scope     Scope
	params    map[string]any // lower-cased name → value
	paramDefs map[string]paramDef
	// hidden are the parameters treated as secure whatever their type
	// (Options.Hidden), lower-cased.
	hidden  map[string]bool
	vars    map[string]any // lower-cased name → raw value
	varVals map[string]any
	varBusy map[string]bool
	tpl     *Template
	rt      Runtime // nil while planning
	// inDefault allows utcNow() and newGuid(), which ARM allows in
	// parameter default values only.
	inDefault bool
	// copyIdx is the index of each enclosing copy loop ("" is the
	// resource's own loop).
	copyIdx map[string]int64
	// what names what is being evaluated, for messages.
	what string
	// resources are the template's expanded resources, for reference()
	// by name; deployed marks those the deployment has created so far.
	resources []*Resource
	deployed  map[string]bool // lower-cased id

	fns   map[string]function
	steps int
	bytes int
	// pool is the budget shared with other deployments' evaluations
	// (Options.Pool), nil for none; taken is what this one took of it.
	pool  *Pool
	taken int64
	// work is the step budget shared with other deployments
	// (Options.Work), nil for none.
	work *Work
	now  func() string
	guid func() string
}

// step counts one unit of work and refuses to go on past the budget.
func (e *evaluator) step() error {
	e.steps++
	if e.steps > maxSteps {
		return invalid("evaluating the template takes more than %d steps; simplify its expressions", maxSteps)
	}
	return e.spend(1)
}

// spend counts n steps against the budget shared with other deployments
// (Options.Work).
func (e *evaluator) spend(n int64) error {
	if e.work != nil && !e.work.take(n) {
		return invalid("evaluating this deployment and the deployments it nests takes more than %d steps; simplify their expressions or deploy fewer modules", e.work.size)
	}
	return nil
}

// grow accounts for n bytes of new values.
func (e *evaluator) grow(n int) error {
	e.bytes += n
	if e.bytes > maxValueBytes {
		return invalid("the template's expressions build more than %d bytes of values", maxValueBytes)
	}
	if e.pool != nil {
		if !e.pool.take(int64(n)) {
			return &Error{Code: "TemplateMemoryBusy", Message: fmt.Sprintf(
				"The server is evaluating other templates that together hold its memory budget for template values (%d MB); nothing more of this deployment was deployed. Retry the deployment in a minute.", e.pool.size>>20)}
		}
		e.taken += int64(n)
	}
	return nil
}

// growBy accounts for v as it will be written out: every string, item
// and property, a value referenced many times (createArray() of one
// array, twice) once per reference, as JSON writes it. It stops counting
// once past the budget, so that a value of billions of references costs
// little to refuse.
func (e *evaluator) growBy(v any) error {
	limit := maxValueBytes - e.bytes + 1
	n := 0
	var walk func(v any) bool
	walk = func(v any) bool {
		switch x := v.(type) {
		case string:
			n += len(x)
		case []any:
			n += 16 * len(x)
			for _, it := range x {
				if n > limit || !walk(it) {
					return false
				}
			}
		case map[string]any:
			n += 32 * len(x)
			for k, it := range x {
				n += len(k)
				if n > limit || !walk(it) {
					return false
				}
			}
		default:
			n += 8
		}
		return n <= limit
	}
	walk(v)
	return e.grow(n)
}

// value evaluates a template JSON value: every string that is an
// expression is replaced by its value, recursively. The copies it makes
// of objects and arrays count against the value limit as the functions'
// do: a copy loop makes hundreds of them.
func (e *evaluator) value(v any) (any, error) {
	switch x := v.(type) {
	case string:
		r, err := e.str(x)
		if err != nil {
			return nil, err
		}
		switch r.(type) {
		case []any, map[string]any:
			// Placed here, it is written out here, however many
			// places already hold it.
			if err := e.growBy(r); err != nil {
				return nil, err
			}
		}
		return r, nil
	case []any:
		if err := e.grow(16 * len(x)); err != nil {
			return nil, err
		}
		out := make([]any, 0, len(x))
		for _, it := range x {
			r, err := e.value(it)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, nil
	case map[string]any:
		if err := e.grow(32 * len(x)); err != nil {
			return nil, err
		}
		out := make(map[string]any, len(x))
		for k, it := range x {
			r, err := e.value(it)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

// str evaluates a template string: an expression's value, or the literal.
func (e *evaluator) str(s string) (any, error) {
	if !isExpression(s) {
		return unescapeLiteral(s), nil
	}
	n, err := parseExpression(s)
	if err != nil {
		return nil, invalid("the expression '%s' of %s is not valid: %v", clip(s), e.what, err)
	}
	v, err := e.eval(n, 0)
	if err != nil {
		var te *Error
		if asError(err, &te) {
			return nil, err
		}
		return nil, invalid("the expression '%s' of %s cannot be evaluated: %v", clip(s), e.what, err)
	}
	return v, nil
}

func asError(err error, te **Error) bool {
	x, ok := err.(*Error)
	if ok {
		*te = x
	}
	return ok
}

// clip shortens a string quoted in a message.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

func (e *evaluator) eval(n node, depth int) (any, error) {
	if err := e.step(); err != nil {
		return nil, err
	}
	if depth > maxExpressionDepth {
		return nil, fmt.Errorf("the expression nests deeper than %d levels", maxExpressionDepth)
	}
	switch x := n.(type) {
	case litNode:
		return x.v, nil
	case propNode:
		v, err := e.eval(x.x, depth+1)
		if err != nil {
			return nil, err
		}
		return property(v, x.name)
	case indexNode:
		v, err := e.eval(x.x, depth+1)
		if err != nil {
			return nil, err
		}
		i, err := e.eval(x.i, depth+1)
		if err != nil {
			return nil, err
		}
		return index(v, i)
	case callNode:
		return e.call(x, depth)
	}
	return nil, fmt.Errorf("unknown expression %T", n)
}

// property reads an object's property; names match without case, as ARM's do.
func property(v any, name string) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the property '%s' cannot be read from a value of type %s", name, typeName(v))
	}
	if x, ok := m[name]; ok {
		return x, nil
	}
	for k, x := range m {
		if strings.EqualFold(k, name) {
			return x, nil
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return nil, fmt.Errorf("the language expression property '%s' doesn't exist, available properties are '%s'", name, strings.Join(keys, ", "))
}

func index(v, i any) (any, error) {
	switch x := v.(type) {
	case []any:
		n, ok := i.(int64)
		if !ok {
			return nil, fmt.Errorf("an array is indexed by an integer, not %s", typeName(i))
		}
		if n < 0 || n >= int64(len(x)) {
			return nil, fmt.Errorf("the index %d is out of the array's range (length %d)", n, len(x))
		}
		return x[n], nil
	case map[string]any:
		s, ok := i.(string)
		if !ok {
			return nil, fmt.Errorf("an object is indexed by a string, not %s", typeName(i))
		}
		return property(x, s)
	}
	return nil, fmt.Errorf("a value of type %s cannot be indexed", typeName(v))
}

// typeName names a value's type as ARM's messages do.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "Null"
	case string:
		return "String"
	case int64:
		return "Integer"
	case bool:
		return "Boolean"
	case []any:
		return "Array"
	case map[string]any:
		return "Object"
	}
	return fmt.Sprintf("%T", v)
}

// normalize converts decoded JSON (json.Number, float64, nested) into the
// evaluator's values: integers as int64.
func normalize(v any) (any, error) { return convert(v, true) }

// convert is normalize; with strict false, non-integer numbers become
// float64 instead of an error.
func convert(v any, strict bool) (any, error) {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n, nil
		}
		if !strict {
			f, _ := x.Float64()
			return f, nil
		}
		return nil, fmt.Errorf("the number %s is not an integer; templates support integers only", x)
	case float64:
		if x != float64(int64(x)) {
			return nil, fmt.Errorf("the number %v is not an integer; templates support integers only", x)
		}
		return int64(x), nil
	case int:
		return int64(x), nil
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			r, err := convert(it, strict)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, it := range x {
			r, err := convert(it, strict)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

// decodeJSON decodes b with integers kept exact.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return normalize(v)
}

// DecodeValue decodes a resource's JSON state for reference() and
// listKeys(): integers exact, other numbers as float64 (a template can
// pass them on but not compute with them).
func DecodeValue(b []byte) (any, error) {
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return convert(v, false)
}
