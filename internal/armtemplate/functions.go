package armtemplate

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// function is a template function over evaluated arguments.
type function func(e *evaluator, args []any) (any, error)

// functions are the template functions Slipway evaluates, by lower-cased
// name (names match without case, as ARM's do). See
// https://learn.microsoft.com/azure/azure-resource-manager/templates/template-functions.
// if() is evaluated in call, lazily; copyIndex() too. A function, not a
// variable: the table's functions evaluate expressions that call it.
func functionTable() map[string]function {
	return map[string]function{
		"parameters":    fnParameters,
		"variables":     fnVariables,
		"concat":        fnConcat,
		"format":        fnFormat,
		"tolower":       strFn(strings.ToLower),
		"toupper":       strFn(strings.ToUpper),
		"trim":          strFn(strings.TrimSpace),
		"uniquestring":  fnUniqueString,
		"guid":          fnGUID,
		"resourcegroup": fnResourceGroup,
		"subscription":  fnSubscription,
		"deployment":    fnDeployment,
		"environment":   fnEnvironment,
		"resourceid":    fnResourceID,
		"reference":     fnReference,
		"listkeys":      fnListKeys,
		"equals":        fnEquals,
		"not":           fnNot,
		"and":           logical("and", true),
		"or":            logical("or", false),
		"empty":         fnEmpty,
		"length":        fnLength,
		"contains":      fnContains,
		"replace":       fnReplace,
		"substring":     fnSubstring,
		"split":         fnSplit,
		"startswith": strPair("startsWith", func(a, b string) any {
			return strings.HasPrefix(strings.ToLower(a), strings.ToLower(b))
		}),
		"endswith": strPair("endsWith", func(a, b string) any {
			return strings.HasSuffix(strings.ToLower(a), strings.ToLower(b))
		}),
		"indexof":         strPair("indexOf", indexOf),
		"string":          fnString,
		"int":             fnInt,
		"bool":            fnBool,
		"json":            fnJSON,
		"union":           fnUnion,
		"createobject":    fnCreateObject,
		"createarray":     fnCreateArray,
		"array":           fnArray,
		"first":           firstLast("first", true),
		"last":            firstLast("last", false),
		"coalesce":        fnCoalesce,
		"utcnow":          fnUTCNow,
		"newguid":         fnNewGUID,
		"add":             arith(func(a, b int64) (int64, bool) { r := a + b; return r, (r > a) == (b > 0) || b == 0 }),
		"sub":             arith(func(a, b int64) (int64, bool) { r := a - b; return r, (r < a) == (b > 0) || b == 0 }),
		"mul":             arith(mulChecked),
		"div":             arith(func(a, b int64) (int64, bool) { return safeDiv(a, b, false) }),
		"mod":             arith(func(a, b int64) (int64, bool) { return safeDiv(a, b, true) }),
		"less":            compare(func(c int) bool { return c < 0 }),
		"lessorequals":    compare(func(c int) bool { return c <= 0 }),
		"greater":         compare(func(c int) bool { return c > 0 }),
		"greaterorequals": compare(func(c int) bool { return c >= 0 }),
		"min":             minMax(true),
		"max":             minMax(false),
		"range":           fnRange,
		"true":            func(e *evaluator, args []any) (any, error) { return true, nargs("true", args, 0, 0) },
		"false":           func(e *evaluator, args []any) (any, error) { return false, nargs("false", args, 0, 0) },
		"null":            func(e *evaluator, args []any) (any, error) { return nil, nargs("null", args, 0, 0) },
		"base64":          strFn(func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }),
		"take":            takeSkip("take", true),
		"skip":            takeSkip("skip", false),
	}
}

// lazyFunctions evaluate their own arguments.
var lazyFunctions = map[string]bool{"if": true, "copyindex": true}

// knownFunction reports whether name is a function the evaluator has.
func knownFunction(table map[string]function, name string) bool {
	n := strings.ToLower(name)
	_, ok := table[n]
	return ok || lazyFunctions[n]
}

func (e *evaluator) call(c callNode, depth int) (any, error) {
	name := strings.ToLower(c.name)
	switch name {
	case "if":
		if len(c.args) != 3 {
			return nil, fmt.Errorf("the function 'if' takes 3 arguments, not %d", len(c.args))
		}
		cond, err := e.eval(c.args[0], depth+1)
		if err != nil {
			return nil, err
		}
		b, ok := cond.(bool)
		if !ok {
			return nil, fmt.Errorf("the condition of 'if' must be a Boolean, not %s", typeName(cond))
		}
		if b {
			return e.eval(c.args[1], depth+1)
		}
		return e.eval(c.args[2], depth+1)
	case "copyindex":
		return e.copyIndex(c, depth)
	}
	fn, ok := e.fns[name]
	if !ok {
		return nil, unsupportedFunction(c.name)
	}
	args := make([]any, len(c.args))
	for i, a := range c.args {
		v, err := e.eval(a, depth+1)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	return fn(e, args)
}

func unsupportedFunction(name string) *Error {
	if strings.Contains(name, ".") {
		return invalid("the user-defined function '%s' is not supported by Slipway", name)
	}
	return invalid("the template function '%s' is not supported by Slipway (see docs/arm.md, \"Template deployments\")", name)
}

func (e *evaluator) copyIndex(c callNode, depth int) (any, error) {
	var loop string
	var offset int64
	for _, a := range c.args {
		v, err := e.eval(a, depth+1)
		if err != nil {
			return nil, err
		}
		switch x := v.(type) {
		case string:
			loop = strings.ToLower(x)
		case int64:
			offset = x
		default:
			return nil, fmt.Errorf("copyIndex takes a loop name and an offset, not %s", typeName(v))
		}
	}
	if len(c.args) > 2 {
		return nil, fmt.Errorf("copyIndex takes at most 2 arguments")
	}
	i, ok := e.copyIdx[loop]
	if !ok {
		if loop == "" {
			return nil, fmt.Errorf("copyIndex() is used outside a copy loop")
		}
		return nil, fmt.Errorf("copyIndex('%s') names no enclosing copy loop", loop)
	}
	return i + offset, nil
}

func nargs(name string, args []any, lo, hi int) error {
	if len(args) < lo || hi >= 0 && len(args) > hi {
		switch {
		case lo == hi:
			return fmt.Errorf("the function '%s' takes %d argument(s), not %d", name, lo, len(args))
		case hi < 0:
			return fmt.Errorf("the function '%s' takes at least %d argument(s), not %d", name, lo, len(args))
		}
		return fmt.Errorf("the function '%s' takes %d to %d arguments, not %d", name, lo, hi, len(args))
	}
	return nil
}

func wantString(fn string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("the function '%s' expects a String, not %s", fn, typeName(v))
	}
	return s, nil
}

func wantInt(fn string, v any) (int64, error) {
	n, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("the function '%s' expects an Integer, not %s", fn, typeName(v))
	}
	return n, nil
}

func wantBool(fn string, v any) (bool, error) {
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("the function '%s' expects a Boolean, not %s", fn, typeName(v))
	}
	return b, nil
}

// newString accounts for a built string and bounds it.
func (e *evaluator) newString(s string) (any, error) {
	if len(s) > maxStringBytes {
		return nil, fmt.Errorf("a string of %d bytes exceeds the limit of %d", len(s), maxStringBytes)
	}
	if err := e.grow(len(s)); err != nil {
		return nil, err
	}
	return s, nil
}

// newArray accounts for a built array and bounds it.
func (e *evaluator) newArray(a []any) (any, error) {
	if len(a) > maxCollectionItems {
		return nil, fmt.Errorf("an array of %d items exceeds the limit of %d", len(a), maxCollectionItems)
	}
	if err := e.growBy(a); err != nil {
		return nil, err
	}
	return a, nil
}

func (e *evaluator) newObject(m map[string]any) (any, error) {
	if len(m) > maxCollectionItems {
		return nil, fmt.Errorf("an object of %d properties exceeds the limit of %d", len(m), maxCollectionItems)
	}
	if err := e.growBy(m); err != nil {
		return nil, err
	}
	return m, nil
}

func strFn(f func(string) string) function {
	return func(e *evaluator, args []any) (any, error) {
		if err := nargs("string function", args, 1, 1); err != nil {
			return nil, err
		}
		s, err := wantString("string function", args[0])
		if err != nil {
			return nil, err
		}
		return e.newString(f(s))
	}
}

func fnParameters(e *evaluator, args []any) (any, error) {
	if err := nargs("parameters", args, 1, 1); err != nil {
		return nil, err
	}
	name, err := wantString("parameters", args[0])
	if err != nil {
		return nil, err
	}
	v, ok := e.params[strings.ToLower(name)]
	if !ok {
		if _, declared := e.paramDefs[strings.ToLower(name)]; declared {
			return nil, fmt.Errorf("the parameter '%s' is used before its value is known (a default value refers to a later parameter?)", name)
		}
		return nil, invalid("the template parameter '%s' is not found", name)
	}
	return v, nil
}

func fnVariables(e *evaluator, args []any) (any, error) {
	if err := nargs("variables", args, 1, 1); err != nil {
		return nil, err
	}
	name, err := wantString("variables", args[0])
	if err != nil {
		return nil, err
	}
	key := strings.ToLower(name)
	if v, ok := e.varVals[key]; ok {
		return v, nil
	}
	raw, ok := e.vars[key]
	if !ok {
		return nil, invalid("the template variable '%s' is not found", name)
	}
	if e.varBusy[key] {
		return nil, invalid("the template variable '%s' refers to itself", name)
	}
	e.varBusy[key] = true
	defer delete(e.varBusy, key)
	what := e.what
	e.what = "variable '" + name + "'"
	defer func() { e.what = what }()
	v, err := e.value(raw)
	if err != nil {
		return nil, err
	}
	e.varVals[key] = v
	return v, nil
}

// toText is a scalar's text, as concat and string give it.
func toText(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case bool:
		if x {
			return "True", nil
		}
		return "False", nil
	case nil:
		return "", nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func fnConcat(e *evaluator, args []any) (any, error) {
	if len(args) == 0 {
		return nil, nargs("concat", args, 1, -1)
	}
	if _, isArray := args[0].([]any); isArray {
		var out []any
		for _, a := range args {
			arr, ok := a.([]any)
			if !ok {
				return nil, fmt.Errorf("concat of arrays got %s", typeName(a))
			}
			out = append(out, arr...)
			if len(out) > maxCollectionItems {
				return nil, fmt.Errorf("an array of more than %d items exceeds the limit", maxCollectionItems)
			}
		}
		if out == nil {
			out = []any{}
		}
		return e.newArray(out)
	}
	var b strings.Builder
	for _, a := range args {
		if _, ok := a.([]any); ok {
			return nil, fmt.Errorf("concat cannot join a String and an Array")
		}
		s, err := toText(a)
		if err != nil {
			return nil, err
		}
		if b.Len()+len(s) > maxStringBytes {
			return nil, fmt.Errorf("a string of more than %d bytes exceeds the limit", maxStringBytes)
		}
		b.WriteString(s)
	}
	return e.newString(b.String())
}

// fnFormat is format(): .NET composite formatting with {n} items and
// {{ }} escapes; format specifiers ({0:N2}) are not supported.
func fnFormat(e *evaluator, args []any) (any, error) {
	if err := nargs("format", args, 1, -1); err != nil {
		return nil, err
	}
	f, err := wantString("format", args[0])
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch {
		case c == '{' && i+1 < len(f) && f[i+1] == '{':
			b.WriteByte('{')
			i++
		case c == '}' && i+1 < len(f) && f[i+1] == '}':
			b.WriteByte('}')
			i++
		case c == '{':
			end := strings.IndexByte(f[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("the format string '%s' has an unclosed '{'", f)
			}
			item := f[i+1 : i+end]
			n, err := strconv.Atoi(item)
			if err != nil {
				return nil, fmt.Errorf("the format item '{%s}' is not supported: only {0}, {1}, ... are", item)
			}
			if n < 0 || n+1 >= len(args) {
				return nil, fmt.Errorf("the format item '{%d}' has no argument", n)
			}
			s, err := toText(args[n+1])
			if err != nil {
				return nil, err
			}
			b.WriteString(s)
			i += end
		case c == '}':
			return nil, fmt.Errorf("the format string '%s' has an unmatched '}'", f)
		default:
			b.WriteByte(c)
		}
		if b.Len() > maxStringBytes {
			return nil, fmt.Errorf("a string of more than %d bytes exceeds the limit", maxStringBytes)
		}
	}
	return e.newString(b.String())
}

func stringArgs(fn string, args []any) ([]string, error) {
	out := make([]string, len(args))
	for i, a := range args {
		s, err := wantString(fn, a)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

var fnUniqueString = onStrings("uniqueString", 1, -1, func(e *evaluator, ss []string) (any, error) {
	return UniqueString(ss...), nil
})

var fnGUID = onStrings("guid", 1, -1, func(e *evaluator, ss []string) (any, error) {
	return GUID(ss...), nil
})

// armNamespace is the name-space UUID of ARM's guid() function
// (a version-5 UUID over the dash-joined arguments).
var armNamespace = [16]byte{0x11, 0xfb, 0x06, 0xfb, 0x71, 0x2d, 0x4d, 0xdd, 0x98, 0xc7, 0xe7, 0x1b, 0xbd, 0x58, 0x88, 0x30}

// GUID is ARM's guid(): an RFC 4122 version-5 (SHA-1) UUID of the
// arguments joined with '-', in ARM's name space.
func GUID(values ...string) string {
	h := sha1.New()
	h.Write(armNamespace[:])
	h.Write([]byte(strings.Join(values, "-")))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return formatUUID(u)
}

func formatUUID(u [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

func fnNewGUID(e *evaluator, args []any) (any, error) {
	if err := nargs("newGuid", args, 0, 0); err != nil {
		return nil, err
	}
	if !e.inDefault {
		return nil, invalid("the function 'newGuid' can only be used in the default value of a parameter")
	}
	if e.guid != nil {
		return e.guid(), nil
	}
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails on supported platforms
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return formatUUID(u), nil
}

func fnUTCNow(e *evaluator, args []any) (any, error) {
	if err := nargs("utcNow", args, 0, 1); err != nil {
		return nil, err
	}
	if !e.inDefault {
		return nil, invalid("the function 'utcNow' can only be used in the default value of a parameter")
	}
	format := "yyyyMMddTHHmmssZ"
	if len(args) == 1 {
		f, err := wantString("utcNow", args[0])
		if err != nil {
			return nil, err
		}
		format = f
	}
	return e.scope.formatNow(format)
}

func fnResourceGroup(e *evaluator, args []any) (any, error) {
	if err := nargs("resourceGroup", args, 0, 0); err != nil {
		return nil, err
	}
	s := e.scope
	tags := map[string]any{}
	for k, v := range s.ResourceGroupTags {
		tags[k] = v
	}
	return map[string]any{
		"id":         s.resourceGroupID(),
		"name":       s.ResourceGroup,
		"type":       "Microsoft.Resources/resourceGroups",
		"location":   s.Location,
		"tags":       tags,
		"properties": map[string]any{"provisioningState": "Succeeded"},
	}, nil
}

func fnSubscription(e *evaluator, args []any) (any, error) {
	if err := nargs("subscription", args, 0, 0); err != nil {
		return nil, err
	}
	return map[string]any{
		"id":             "/subscriptions/" + e.scope.SubscriptionID,
		"subscriptionId": e.scope.SubscriptionID,
		"tenantId":       e.scope.TenantID,
		"displayName":    e.scope.SubscriptionName,
	}, nil
}

// fnEnvironment is environment(): the cloud this deployment runs in
// (https://learn.microsoft.com/azure/azure-resource-manager/templates/template-functions-deployment#environment).
func fnEnvironment(e *evaluator, args []any) (any, error) {
	if err := nargs("environment", args, 0, 0); err != nil {
		return nil, err
	}
	if e.scope.Environment == nil {
		return nil, fmt.Errorf("environment() is not available here")
	}
	return normalize(e.scope.Environment)
}

func fnDeployment(e *evaluator, args []any) (any, error) {
	if err := nargs("deployment", args, 0, 0); err != nil {
		return nil, err
	}
	cv := ""
	if e.tpl != nil {
		cv = e.tpl.ContentVersion
	}
	return map[string]any{
		"name": e.scope.DeploymentName,
		"properties": map[string]any{
			"template": map[string]any{"contentVersion": cv},
			"mode":     "Incremental",
		},
	}, nil
}

// fnResourceID is resourceId([subscriptionId], [resourceGroupName],
// resourceType, resourceName1, [resourceName2], ...).
func fnResourceID(e *evaluator, args []any) (any, error) {
	ss, err := stringArgs("resourceId", args)
	if err != nil {
		return nil, err
	}
	t := -1
	for i, s := range ss {
		if i > 2 {
			break
		}
		if strings.Contains(s, "/") && strings.Contains(strings.SplitN(s, "/", 2)[0], ".") {
			t = i
			break
		}
	}
	if t < 0 || len(ss) < t+2 {
		return nil, fmt.Errorf("resourceId needs a resource type (namespace/type) and the resource's name(s)")
	}
	sub, rg := e.scope.SubscriptionID, e.scope.ResourceGroup
	switch t {
	case 1:
		rg = ss[0]
	case 2:
		sub, rg = ss[0], ss[1]
	}
	id, err := buildResourceID(sub, rg, ss[t], ss[t+1:])
	if err != nil {
		return nil, err
	}
	return e.newString(id)
}

// buildResourceID joins a resource's type segments with its name segments.
func buildResourceID(sub, rg, typ string, names []string) (string, error) {
	ns, rest, ok := strings.Cut(typ, "/")
	if !ok || ns == "" || rest == "" {
		return "", fmt.Errorf("the resource type '%s' is not of the form 'Namespace/type'", typ)
	}
	types := strings.Split(rest, "/")
	var flat []string
	for _, n := range names {
		flat = append(flat, strings.Split(n, "/")...)
	}
	if len(types) != len(flat) {
		return "", fmt.Errorf("the resource type '%s' has %d type segment(s) but the name '%s' has %d segment(s)", typ, len(types), strings.Join(names, "/"), len(flat))
	}
	var b strings.Builder
	b.WriteString("/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/" + ns)
	for i := range types {
		if flat[i] == "" || types[i] == "" {
			return "", fmt.Errorf("the resource name '%s' of type '%s' has an empty segment", strings.Join(names, "/"), typ)
		}
		b.WriteString("/" + types[i] + "/" + flat[i])
	}
	return b.String(), nil
}

// resolveTarget turns reference()'s first argument (a resource id, or
// the name of a resource in this template) into an id.
func (e *evaluator) resolveTarget(fn, target string) (string, error) {
	if strings.HasPrefix(strings.ToLower(target), "/subscriptions/") {
		return target, nil
	}
	for _, r := range e.resources {
		if strings.EqualFold(r.Name, target) || strings.EqualFold(r.Type+"/"+r.Name, target) {
			return r.ID, nil
		}
	}
	return "", fmt.Errorf("%s('%s') names no resource of this template; give a resourceId()", fn, target)
}

func fnReference(e *evaluator, args []any) (any, error) {
	if err := nargs("reference", args, 1, 3); err != nil {
		return nil, err
	}
	target, err := wantString("reference", args[0])
	if err != nil {
		return nil, err
	}
	apiVersion, full := "", false
	if len(args) > 1 {
		if apiVersion, err = wantString("reference", args[1]); err != nil {
			return nil, err
		}
	}
	if len(args) > 2 {
		f, err := wantString("reference", args[2])
		if err != nil {
			return nil, err
		}
		full = strings.EqualFold(f, "full")
	}
	if e.rt == nil {
		return nil, invalid("the function 'reference' cannot be used in %s: its value is known only while resources are deployed", e.what)
	}
	id, err := e.resolveTarget("reference", target)
	if err != nil {
		return nil, err
	}
	if err := e.checkDeployed("reference", id); err != nil {
		return nil, err
	}
	return e.answered(e.rt.Reference(e.ctx, id, apiVersion, full))
}

// answered counts a Runtime's answer against the value limit, as the
// values the functions build: each call decodes a new one, and a
// resource's state may be megabytes.
func (e *evaluator) answered(v any, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	if err := e.spend(runtimeCallSteps); err != nil {
		return nil, err
	}
	if err := e.growBy(v); err != nil {
		return nil, err
	}
	return v, nil
}

// checkDeployed refuses reference() and listKeys() of a resource of this
// template that has not been deployed yet: a missing dependsOn.
func (e *evaluator) checkDeployed(fn, id string) error {
	for _, r := range e.resources {
		if strings.EqualFold(r.ID, id) && !e.deployed[strings.ToLower(id)] {
			return invalid("%s uses %s() of '%s' before it is deployed: add it to dependsOn", e.what, fn, r.Name)
		}
	}
	return nil
}

var fnListKeys = onStrings("listKeys", 2, 2, func(e *evaluator, ss []string) (any, error) {
	if e.rt == nil {
		return nil, invalid("the function 'listKeys' cannot be used in %s: its value is known only while resources are deployed", e.what)
	}
	id, err := e.resolveTarget("listKeys", ss[0])
	if err != nil {
		return nil, err
	}
	if err := e.checkDeployed("listKeys", id); err != nil {
		return nil, err
	}
	return e.answered(e.rt.List(e.ctx, id, "listKeys", ss[1]))
})

// equalValues compares values: strings without case? No — ARM's equals
// is exact for strings (https://learn.microsoft.com/azure/azure-resource-manager/templates/template-functions-comparison#equals).
func equalValues(a, b any) bool { return reflect.DeepEqual(a, b) }

func fnEquals(e *evaluator, args []any) (any, error) {
	if err := nargs("equals", args, 2, 2); err != nil {
		return nil, err
	}
	return equalValues(args[0], args[1]), nil
}

func fnNot(e *evaluator, args []any) (any, error) {
	if err := nargs("not", args, 1, 1); err != nil {
		return nil, err
	}
	b, err := wantBool("not", args[0])
	return !b, err
}

// logical is and() (isAnd) or or() over two or more Booleans.
func logical(name string, isAnd bool) function {
	return func(e *evaluator, args []any) (any, error) {
		if err := nargs(name, args, 2, -1); err != nil {
			return nil, err
		}
		out := isAnd
		for _, a := range args {
			b, err := wantBool(name, a)
			if err != nil {
				return nil, err
			}
			if isAnd {
				out = out && b
			} else {
				out = out || b
			}
		}
		return out, nil
	}
}

// firstLast is first() (first) or last() of a String or an Array.
func firstLast(name string, first bool) function {
	return func(e *evaluator, args []any) (any, error) {
		if err := nargs(name, args, 1, 1); err != nil {
			return nil, err
		}
		pick := func(n int) int {
			if first {
				return 0
			}
			return n - 1
		}
		switch x := args[0].(type) {
		case string:
			r := []rune(x)
			if len(r) == 0 {
				return "", nil
			}
			return string(r[pick(len(r))]), nil
		case []any:
			if len(x) == 0 {
				return nil, nil
			}
			return x[pick(len(x))], nil
		}
		return nil, fmt.Errorf("%s() takes a String or an Array, not %s", name, typeName(args[0]))
	}
}

func fnEmpty(e *evaluator, args []any) (any, error) {
	if err := nargs("empty", args, 1, 1); err != nil {
		return nil, err
	}
	switch x := args[0].(type) {
	case nil:
		return true, nil
	case string:
		return x == "", nil
	case []any:
		return len(x) == 0, nil
	case map[string]any:
		return len(x) == 0, nil
	}
	return nil, fmt.Errorf("empty() takes a String, Array or Object, not %s", typeName(args[0]))
}

func fnLength(e *evaluator, args []any) (any, error) {
	if err := nargs("length", args, 1, 1); err != nil {
		return nil, err
	}
	switch x := args[0].(type) {
	case string:
		return int64(len([]rune(x))), nil
	case []any:
		return int64(len(x)), nil
	case map[string]any:
		return int64(len(x)), nil
	}
	return nil, fmt.Errorf("length() takes a String, Array or Object, not %s", typeName(args[0]))
}

func fnContains(e *evaluator, args []any) (any, error) {
	if err := nargs("contains", args, 2, 2); err != nil {
		return nil, err
	}
	switch x := args[0].(type) {
	case string:
		s, err := toText(args[1])
		if err != nil {
			return nil, err
		}
		return strings.Contains(x, s), nil
	case []any:
		for _, it := range x {
			if equalValues(it, args[1]) {
				return true, nil
			}
		}
		return false, nil
	case map[string]any:
		k, err := wantString("contains", args[1])
		if err != nil {
			return nil, err
		}
		for key := range x {
			if strings.EqualFold(key, k) {
				return true, nil
			}
		}
		return false, nil
	}
	return nil, fmt.Errorf("contains() takes a String, Array or Object, not %s", typeName(args[0]))
}

var fnReplace = onStrings("replace", 3, 3, func(e *evaluator, ss []string) (any, error) {
	if ss[1] == "" {
		return nil, fmt.Errorf("replace() cannot replace an empty string")
	}
	// Bound the result before building it.
	if n := strings.Count(ss[0], ss[1]); len(ss[0])+n*(len(ss[2])-len(ss[1])) > maxStringBytes {
		return nil, fmt.Errorf("a string of more than %d bytes exceeds the limit", maxStringBytes)
	}
	return e.newString(strings.ReplaceAll(ss[0], ss[1], ss[2]))
})

func fnSubstring(e *evaluator, args []any) (any, error) {
	if err := nargs("substring", args, 2, 3); err != nil {
		return nil, err
	}
	s, err := wantString("substring", args[0])
	if err != nil {
		return nil, err
	}
	r := []rune(s)
	start, err := wantInt("substring", args[1])
	if err != nil {
		return nil, err
	}
	n := int64(len(r)) - start
	if len(args) == 3 {
		if n, err = wantInt("substring", args[2]); err != nil {
			return nil, err
		}
	}
	if start < 0 || n < 0 || start > int64(len(r)) || start+n > int64(len(r)) {
		return nil, fmt.Errorf("substring(%d, %d) is out of the range of a string of length %d", start, n, len(r))
	}
	return string(r[start : start+n]), nil
}

func fnSplit(e *evaluator, args []any) (any, error) {
	if err := nargs("split", args, 2, 2); err != nil {
		return nil, err
	}
	s, err := wantString("split", args[0])
	if err != nil {
		return nil, err
	}
	var seps []string
	switch x := args[1].(type) {
	case string:
		seps = []string{x}
	case []any:
		if seps, err = stringArgs("split", x); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("split() takes a String or an Array of delimiters, not %s", typeName(args[1]))
	}
	parts := []string{s}
	for _, sep := range seps {
		if sep == "" {
			continue
		}
		var next []string
		for _, p := range parts {
			next = append(next, strings.Split(p, sep)...)
			if len(next) > maxCollectionItems {
				return nil, fmt.Errorf("split() makes more than %d parts", maxCollectionItems)
			}
		}
		parts = next
	}
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return e.newArray(out)
}

// onStrings is a function of String arguments only, lo to hi of them
// (hi < 0: no limit).
func onStrings(name string, lo, hi int, f func(e *evaluator, ss []string) (any, error)) function {
	return func(e *evaluator, args []any) (any, error) {
		if err := nargs(name, args, lo, hi); err != nil {
			return nil, err
		}
		ss, err := stringArgs(name, args)
		if err != nil {
			return nil, err
		}
		return f(e, ss)
	}
}

// strPair is a function of two Strings, e.g. startsWith.
func strPair(name string, f func(a, b string) any) function {
	return onStrings(name, 2, 2, func(_ *evaluator, ss []string) (any, error) { return f(ss[0], ss[1]), nil })
}

// indexOf is indexOf(): the position of b in a without case, in
// characters, or -1.
func indexOf(a, b string) any {
	i := strings.Index(strings.ToLower(a), strings.ToLower(b))
	if i < 0 {
		return int64(-1)
	}
	return int64(len([]rune(a[:i])))
}

func fnString(e *evaluator, args []any) (any, error) {
	if err := nargs("string", args, 1, 1); err != nil {
		return nil, err
	}
	s, err := toText(args[0])
	if err != nil {
		return nil, err
	}
	return e.newString(s)
}

func fnInt(e *evaluator, args []any) (any, error) {
	if err := nargs("int", args, 1, 1); err != nil {
		return nil, err
	}
	switch x := args[0].(type) {
	case int64:
		return x, nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("int('%s'): not an integer", clip(x))
		}
		return n, nil
	}
	return nil, fmt.Errorf("int() takes a String or an Integer, not %s", typeName(args[0]))
}

func fnBool(e *evaluator, args []any) (any, error) {
	if err := nargs("bool", args, 1, 1); err != nil {
		return nil, err
	}
	switch x := args[0].(type) {
	case bool:
		return x, nil
	case int64:
		return x != 0, nil
	case string:
		switch strings.ToLower(x) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("bool('%s'): not 'true' or 'false'", clip(x))
	}
	return nil, fmt.Errorf("bool() takes a String, Integer or Boolean, not %s", typeName(args[0]))
}

func fnJSON(e *evaluator, args []any) (any, error) {
	if err := nargs("json", args, 1, 1); err != nil {
		return nil, err
	}
	s, err := wantString("json", args[0])
	if err != nil {
		return nil, err
	}
	v, err := decodeJSON([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("json(): %v", err)
	}
	if err := e.grow(len(s)); err != nil {
		return nil, err
	}
	return v, nil
}

func fnUnion(e *evaluator, args []any) (any, error) {
	if err := nargs("union", args, 2, -1); err != nil {
		return nil, err
	}
	switch args[0].(type) {
	case map[string]any:
		out := map[string]any{}
		for _, a := range args {
			m, ok := a.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("union() of objects got %s", typeName(a))
			}
			for k, v := range m {
				out[k] = v
			}
			if len(out) > maxCollectionItems {
				return nil, fmt.Errorf("an object of more than %d properties exceeds the limit", maxCollectionItems)
			}
		}
		return e.newObject(out)
	case []any:
		var out []any
		for _, a := range args {
			arr, ok := a.([]any)
			if !ok {
				return nil, fmt.Errorf("union() of arrays got %s", typeName(a))
			}
		next:
			for _, it := range arr {
				for _, have := range out {
					if err := e.step(); err != nil {
						return nil, err
					}
					if equalValues(have, it) {
						continue next
					}
				}
				out = append(out, it)
			}
			if len(out) > maxCollectionItems {
				return nil, fmt.Errorf("an array of more than %d items exceeds the limit", maxCollectionItems)
			}
		}
		if out == nil {
			out = []any{}
		}
		return e.newArray(out)
	}
	return nil, fmt.Errorf("union() takes Objects or Arrays, not %s", typeName(args[0]))
}

func fnCreateObject(e *evaluator, args []any) (any, error) {
	if len(args)%2 != 0 {
		return nil, fmt.Errorf("createObject() takes pairs of a key and a value")
	}
	out := map[string]any{}
	for i := 0; i < len(args); i += 2 {
		k, err := wantString("createObject", args[i])
		if err != nil {
			return nil, err
		}
		out[k] = args[i+1]
	}
	return e.newObject(out)
}

func fnCreateArray(e *evaluator, args []any) (any, error) {
	return e.newArray(append([]any{}, args...))
}

func fnArray(e *evaluator, args []any) (any, error) {
	if err := nargs("array", args, 1, 1); err != nil {
		return nil, err
	}
	if a, ok := args[0].([]any); ok {
		return a, nil
	}
	return []any{args[0]}, nil
}

// takeSkip is take() (take true) or skip() over a String or an Array.
func takeSkip(name string, take bool) function {
	return func(e *evaluator, args []any) (any, error) {
		if err := nargs(name, args, 2, 2); err != nil {
			return nil, err
		}
		n, err := wantInt(name, args[1])
		if err != nil {
			return nil, err
		}
		clamp := func(l int) int { return int(max(0, min(n, int64(l)))) }
		switch x := args[0].(type) {
		case string:
			r := []rune(x)
			k := clamp(len(r))
			if take {
				return string(r[:k]), nil
			}
			return string(r[k:]), nil
		case []any:
			k := clamp(len(x))
			if take {
				return append([]any{}, x[:k]...), nil
			}
			return append([]any{}, x[k:]...), nil
		}
		return nil, fmt.Errorf("%s() takes a String or an Array, not %s", name, typeName(args[0]))
	}
}

func fnCoalesce(e *evaluator, args []any) (any, error) {
	if err := nargs("coalesce", args, 1, -1); err != nil {
		return nil, err
	}
	for _, a := range args {
		if a != nil {
			return a, nil
		}
	}
	return nil, nil
}

// intPair reads the two Integer arguments of a function.
func intPair(name string, args []any) (a, b int64, err error) {
	if err = nargs(name, args, 2, 2); err != nil {
		return 0, 0, err
	}
	if a, err = wantInt(name, args[0]); err != nil {
		return 0, 0, err
	}
	b, err = wantInt(name, args[1])
	return a, b, err
}

func arith(f func(a, b int64) (int64, bool)) function {
	return func(e *evaluator, args []any) (any, error) {
		a, b, err := intPair("arithmetic function", args)
		if err != nil {
			return nil, err
		}
		r, ok := f(a, b)
		if !ok {
			return nil, fmt.Errorf("the arithmetic on %d and %d overflows or divides by zero", a, b)
		}
		return r, nil
	}
}

func mulChecked(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	r := a * b
	if r/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, false
	}
	return r, true
}

func safeDiv(a, b int64, mod bool) (int64, bool) {
	if b == 0 || (a == math.MinInt64 && b == -1) {
		return 0, false
	}
	if mod {
		return a % b, true
	}
	return a / b, true
}

func compare(ok func(int) bool) function {
	return func(e *evaluator, args []any) (any, error) {
		if err := nargs("comparison function", args, 2, 2); err != nil {
			return nil, err
		}
		switch a := args[0].(type) {
		case int64:
			b, err := wantInt("comparison function", args[1])
			if err != nil {
				return nil, err
			}
			c := 0
			if a < b {
				c = -1
			} else if a > b {
				c = 1
			}
			return ok(c), nil
		case string:
			b, err := wantString("comparison function", args[1])
			if err != nil {
				return nil, err
			}
			return ok(strings.Compare(a, b)), nil
		}
		return nil, fmt.Errorf("comparisons take Integers or Strings, not %s", typeName(args[0]))
	}
}

func minMax(isMin bool) function {
	return func(e *evaluator, args []any) (any, error) {
		if len(args) == 1 {
			if a, ok := args[0].([]any); ok {
				args = a
			}
		}
		if len(args) == 0 {
			return nil, fmt.Errorf("min() and max() need at least one Integer")
		}
		var out int64
		for i, a := range args {
			n, err := wantInt("min/max", a)
			if err != nil {
				return nil, err
			}
			if i == 0 || isMin && n < out || !isMin && n > out {
				out = n
			}
		}
		return out, nil
	}
}

func fnRange(e *evaluator, args []any) (any, error) {
	start, n, err := intPair("range", args)
	if err != nil {
		return nil, err
	}
	if n < 0 || n > maxCollectionItems {
		return nil, fmt.Errorf("range() of %d items: the count must be between 0 and %d", n, maxCollectionItems)
	}
	out := make([]any, n)
	for i := range out {
		out[i] = start + int64(i)
	}
	return e.newArray(out)
}
