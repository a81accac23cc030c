package armtemplate

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Resource is one resource of a planned deployment, after conditions and
// copy loops: what to create, where, and after what.
type Resource struct {
	ID         string
	Type       string // full type, e.g. Microsoft.Web/sites/config
	Name       string // full name, e.g. app/web
	APIVersion string
	// DependsOn are the ids of the resources of this deployment that must
	// be deployed first.
	DependsOn []string

	raw     map[string]any
	copyIdx map[string]int64
	loop    string // lower-cased copy loop name, if any
	order   int    // position in the template, for a stable order
}

// Options tune Plan.
type Options struct {
	// CheckType refuses a resource type the deployment cannot create; it
	// is given the resource's id and full type. Nil: every type passes.
	CheckType func(id, typ string) error
	// NewGUID makes newGuid()'s values (tests). Nil: random.
	NewGUID func() string
	// Hidden names parameters whose values are kept as secure ones are
	// whatever their declared type (never echoed, redacted from errors):
	// those the caller read from a key vault.
	Hidden []string
	// Pool is the budget of value bytes this deployment's evaluation
	// shares with others'; Deployment.Release gives its part back. Nil:
	// the evaluation is bounded by its own limit only.
	Pool *Pool
	// Work is the budget of steps this deployment's evaluation shares
	// with others' (those of one deployment tree). Nil: the evaluation is
	// bounded by its own limit only.
	Work *Work
}

// Deployment is a template bound to its parameters and scope, with its
// resources in the order they deploy.
type Deployment struct {
	Resources []*Resource
	ev        *evaluator
}

// Parameters returns the parameters as the deployment echoes them:
// secure values (and hidden ones, Options.Hidden) are left out.
func (d *Deployment) Parameters() map[string]ParameterValue {
	out := map[string]ParameterValue{}
	for k, def := range d.ev.paramDefs {
		pv := ParameterValue{Type: armTypeNames[def.Type]}
		if !def.secure() && !d.ev.hidden[k] {
			pv.Value = d.ev.params[k]
		}
		out[def.Name] = pv
	}
	return out
}

// Plan binds the template to parameter values ({"name": {"value": v}},
// as in a deployment request) and a scope, expands its resources and
// orders them by dependsOn. Nothing is deployed; reference() and
// listKeys() are not evaluated, so errors in resource bodies that depend
// on them show only when Deploy runs, as on Azure.
func Plan(ctx context.Context, t *Template, params map[string]any, scope Scope, opts Options) (*Deployment, error) {
	d, err := plan(ctx, t, params, scope, opts)
	if err != nil {
		d.Release() // what it built is not used: back to the pool
		return nil, err
	}
	return d, nil
}

// plan is Plan; the Deployment it returns holds the evaluator whatever
// the error, for Plan to release.
func plan(ctx context.Context, t *Template, params map[string]any, scope Scope, opts Options) (*Deployment, error) {
	ev := &evaluator{
		ctx: ctx, scope: scope, tpl: t, fns: functionTable(),
		params: map[string]any{}, paramDefs: t.params,
		vars: t.vars, varVals: map[string]any{}, varBusy: map[string]bool{},
		copyIdx: map[string]int64{}, deployed: map[string]bool{}, guid: opts.NewGUID,
		hidden: map[string]bool{}, pool: opts.Pool, work: opts.Work,
	}
	for _, name := range opts.Hidden {
		ev.hidden[strings.ToLower(name)] = true
	}
	if err := ev.bindParameters(params); err != nil {
		// A value checked against its declaration may be quoted; secure
		// and hidden ones are bound by then, so redaction finds them.
		return &Deployment{ev: ev}, ev.redactErr(err)
	}
	p := &planner{ev: ev, opts: opts, skipped: map[string]bool{}}
	for _, x := range t.resources {
		raw, ok := x.(map[string]any)
		if !ok {
			return &Deployment{ev: ev}, invalid("each resource must be an object, not %s", typeName(x))
		}
		if err := p.expand(raw, nil, 0); err != nil {
			return &Deployment{ev: ev}, ev.redactErr(err)
		}
	}
	ordered, err := p.order()
	if err != nil {
		return &Deployment{ev: ev}, ev.redactErr(err)
	}
	ev.resources = ordered
	return &Deployment{Resources: ordered, ev: ev}, nil
}

type planner struct {
	ev   *evaluator
	opts Options
	all  []*Resource
	// skipped holds the lower-cased names, type/names, ids and loop names
	// of resources whose condition is false: a dependsOn on them is
	// dropped, as ARM drops it.
	skipped map[string]bool
	rawDeps [][]string // per resource in all, the evaluated dependsOn
	// implicit are, per resource in all, the names its body passes to
	// reference() or listKeys(): ARM makes a resource depend on a
	// resource of the same template it references by name (not by id),
	// https://learn.microsoft.com/azure/azure-resource-manager/templates/template-functions-resource#implicit-dependency.
	implicit [][]string
}

// templateOnly are the keys of a template resource that are not part of
// its body.
var templateOnly = map[string]bool{
	"type": true, "name": true, "apiversion": true, "dependson": true, "copy": true,
	"condition": true, "resources": true, "comments": true, "metadata": true,
}

func (p *planner) expand(raw map[string]any, parent *Resource, depth int) error {
	if depth > maxChildDepth {
		return invalid("child resources nest deeper than %d levels", maxChildDepth)
	}
	copySpec, hasCopy := member(raw, "copy").(map[string]any)
	if member(raw, "copy") != nil && !hasCopy {
		return invalid("'copy' of a resource must be an object")
	}
	if !hasCopy {
		return p.one(raw, parent, depth, "")
	}
	if parent != nil {
		return invalid("copy is not supported in child resources; declare the resource at the top level")
	}
	p.ev.what = "the copy loop of a resource"
	nameV, err := p.ev.value(member(copySpec, "name"))
	if err != nil {
		return err
	}
	loop, _ := nameV.(string)
	if loop == "" {
		return invalid("a copy loop needs a name")
	}
	countV, err := p.ev.value(member(copySpec, "count"))
	if err != nil {
		return err
	}
	count, ok := countV.(int64)
	if !ok || count < 0 || count > maxCopyCount {
		return invalid("the count of the copy loop '%s' must be an integer from 0 to %d, not %v", loop, maxCopyCount, countV)
	}
	if count == 0 {
		p.skipped[strings.ToLower(loop)] = true
	}
	for i := int64(0); i < count; i++ {
		p.ev.copyIdx = map[string]int64{"": i, strings.ToLower(loop): i}
		if err := p.one(raw, parent, depth, strings.ToLower(loop)); err != nil {
			return err
		}
	}
	p.ev.copyIdx = map[string]int64{}
	return nil
}

// one expands one resource (one copy of it) and its children.
func (p *planner) one(raw map[string]any, parent *Resource, depth int, loop string) error {
	ev := p.ev
	ev.what = "a resource"
	if v, ok := raw["scope"]; ok && v != nil {
		return invalid("the resource property 'scope' (extension resources) is not supported by Slipway")
	}
	typV, err := ev.value(member(raw, "type"))
	if err != nil {
		return err
	}
	nameV, err := ev.value(member(raw, "name"))
	if err != nil {
		return err
	}
	typ, _ := typV.(string)
	name, _ := nameV.(string)
	if typ == "" || name == "" {
		return invalid("each resource needs a 'type' and a 'name' (strings)")
	}
	ev.what = fmt.Sprintf("the resource '%s'", name)
	apiV, err := ev.value(member(raw, "apiVersion"))
	if err != nil {
		return err
	}
	api, _ := apiV.(string)
	if api == "" {
		return invalid("the resource '%s' has no apiVersion", name)
	}
	if parent != nil && !strings.Contains(typ, ".") {
		typ = parent.Type + "/" + typ
		name = parent.Name + "/" + name
	}
	rg, err := p.placement(raw, typ, name)
	if err != nil {
		return err
	}
	id, err := buildResourceID(ev.scope.SubscriptionID, rg, typ, []string{name})
	if err != nil {
		return invalid("the resource '%s': %v", name, err)
	}
	if c := member(raw, "condition"); c != nil {
		cv, err := ev.value(c)
		if err != nil {
			return err
		}
		b, ok := cv.(bool)
		if !ok {
			return invalid("the condition of the resource '%s' must be a Boolean, not %s", name, typeName(cv))
		}
		if !b {
			for _, k := range []string{name, typ + "/" + name, id} {
				p.skipped[strings.ToLower(k)] = true
			}
			return nil
		}
	}
	for _, r := range p.all {
		if strings.EqualFold(r.ID, id) {
			return invalid("the resource '%s' is defined multiple times in the template", id)
		}
	}
	if len(p.all) >= maxResources {
		return invalid("the template has more than %d resources (after copy loops)", maxResources)
	}
	if p.opts.CheckType != nil {
		if err := p.opts.CheckType(id, typ); err != nil {
			return err
		}
	}
	r := &Resource{ID: id, Type: typ, Name: name, APIVersion: api, raw: raw, loop: loop, order: len(p.all),
		copyIdx: copyOf(ev.copyIdx)}
	var deps []string
	if parent != nil {
		deps = append(deps, parent.ID)
	}
	if d := member(raw, "dependsOn"); d != nil {
		dv, err := ev.value(d)
		if err != nil {
			return err
		}
		arr, ok := dv.([]any)
		if !ok {
			return invalid("dependsOn of the resource '%s' must be an array", name)
		}
		for _, x := range arr {
			s, ok := x.(string)
			if !ok {
				return invalid("dependsOn of the resource '%s' must hold strings", name)
			}
			deps = append(deps, s)
		}
	}
	p.all = append(p.all, r)
	p.rawDeps = append(p.rawDeps, deps)
	p.implicit = append(p.implicit, p.referencedNames(raw))
	if kids := member(raw, "resources"); kids != nil {
		arr, ok := kids.([]any)
		if !ok {
			return invalid("the child resources of '%s' must be an array", name)
		}
		saved := ev.copyIdx
		for _, k := range arr {
			km, ok := k.(map[string]any)
			if !ok {
				return invalid("each child resource of '%s' must be an object", name)
			}
			ev.copyIdx = copyOf(saved)
			if err := p.expand(km, r, depth+1); err != nil {
				return err
			}
		}
		ev.copyIdx = saved
	}
	return nil
}

// placement is the resource group a resource goes to: the deployment's,
// or for a nested deployment the one its resourceGroup names (in this
// subscription: subscriptionId, if given, must be the deployment's).
func (p *planner) placement(raw map[string]any, typ, name string) (string, error) {
	ev := p.ev
	if !IsDeployments(typ) {
		return ev.scope.ResourceGroup, nil
	}
	if v := member(raw, "subscriptionId"); v != nil {
		sv, err := ev.value(v)
		if err != nil {
			return "", err
		}
		if s, _ := sv.(string); !strings.EqualFold(s, ev.scope.SubscriptionID) {
			return "", invalid("the nested deployment '%s' names another subscription ('%v'): Slipway deploys within its own subscription only", name, sv)
		}
	}
	v := member(raw, "resourceGroup")
	if v == nil {
		return ev.scope.ResourceGroup, nil
	}
	rv, err := ev.value(v)
	if err != nil {
		return "", err
	}
	rg, _ := rv.(string)
	if rg == "" || strings.ContainsAny(rg, "/?#") {
		return "", invalid("the resourceGroup of the nested deployment '%s' must be a resource group's name, not %v", name, rv)
	}
	return rg, nil
}

// referencedNames evaluates, where it can at planning time, the first
// argument of each reference() and list*() call in a resource's body and
// returns those that are names rather than ids.
func (p *planner) referencedNames(raw map[string]any) []string {
	var names []string
	var walk func(v any)
	var visit func(n node)
	visit = func(n node) {
		switch x := n.(type) {
		case callNode:
			lower := strings.ToLower(x.name)
			if (lower == "reference" || strings.HasPrefix(lower, "list")) && len(x.args) > 0 {
				if v, err := p.ev.eval(x.args[0], 0); err == nil {
					if s, ok := v.(string); ok && !strings.HasPrefix(strings.ToLower(s), "/subscriptions/") {
						names = append(names, s)
					}
				}
			}
			for _, a := range x.args {
				visit(a)
			}
		case propNode:
			visit(x.x)
		case indexNode:
			visit(x.x)
			visit(x.i)
		}
	}
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			if isExpression(x) {
				if n, err := parseExpression(x); err == nil {
					visit(n)
				}
			}
		case []any:
			for _, it := range x {
				walk(it)
			}
		case map[string]any:
			for _, it := range x {
				walk(it)
			}
		}
	}
	inner := IsDeployments(typeOf(raw)) && innerScope(raw)
	for k, v := range raw {
		if templateOnly[strings.ToLower(k)] {
			continue
		}
		if props, ok := v.(map[string]any); ok && inner && strings.EqualFold(k, "properties") {
			// An inner-scoped template's expressions are its own.
			for pk, pv := range props {
				if !strings.EqualFold(pk, "template") {
					walk(pv)
				}
			}
			continue
		}
		walk(v)
	}
	return names
}

// typeOf is a raw resource's type as written (an expression stays one).
func typeOf(raw map[string]any) string {
	s, _ := member(raw, "type").(string)
	return s
}

func copyOf(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// order resolves dependsOn entries (an id, a name, a type/name or a copy
// loop's name) and sorts the resources so that each comes after what it
// depends on, in template order otherwise; a cycle is refused.
func (p *planner) order() ([]*Resource, error) {
	n := len(p.all)
	after := make([][]int, n) // after[i]: resources i waits for
	for i, r := range p.all {
		seen := map[int]bool{}
		for _, dep := range p.rawDeps[i] {
			matched := false
			ld := strings.ToLower(dep)
			for j, o := range p.all {
				if j == i {
					continue
				}
				if strings.EqualFold(o.ID, dep) || strings.EqualFold(o.Name, dep) ||
					strings.EqualFold(o.Type+"/"+o.Name, dep) || (o.loop != "" && o.loop == ld) {
					matched = true
					if !seen[j] {
						seen[j] = true
						after[i] = append(after[i], j)
					}
				}
			}
			if !matched && !p.skipped[ld] {
				return nil, invalid("the resource '%s' depends on '%s', which is not defined in the template", r.Name, dep)
			}
		}
		for _, name := range p.implicit[i] {
			for j, o := range p.all {
				if j != i && !seen[j] && strings.EqualFold(o.Name, name) {
					seen[j] = true
					after[i] = append(after[i], j)
				}
			}
		}
		sort.Ints(after[i])
		for _, j := range after[i] {
			r.DependsOn = append(r.DependsOn, p.all[j].ID)
		}
	}
	done := make([]bool, n)
	var out []*Resource
	for len(out) < n {
		progressed := false
		for i := 0; i < n; i++ {
			if done[i] {
				continue
			}
			ready := true
			for _, j := range after[i] {
				if !done[j] {
					ready = false
					break
				}
			}
			if ready {
				done[i], progressed = true, true
				out = append(out, p.all[i])
				break // restart: keep template order among the ready
			}
		}
		if !progressed {
			var cyc []string
			for i := range p.all {
				if !done[i] {
					cyc = append(cyc, "'"+p.all[i].ID+"'")
				}
			}
			return nil, invalid("circular dependency detected on resource(s): %s", strings.Join(cyc, ", "))
		}
	}
	return out, nil
}

// Output is one output of a deployment.
type Output struct {
	Type  string // ARM's spelling: String, Int, SecureString, ...
	Value any    // nil for secure outputs, which are not returned
}

// Create deploys one resource with its evaluated body (the resource
// without its template-only keys) and returns the resource as deployed.
type Create func(ctx context.Context, r *Resource, body map[string]any) error

// Deploy evaluates each resource's body in order and hands it to create,
// then evaluates the outputs. It stops at the first error: resources
// deployed before stay, as they do on Azure.
func (d *Deployment) Deploy(ctx context.Context, rt Runtime, create Create) (map[string]Output, error) {
	ev := d.ev
	ev.ctx, ev.rt = ctx, rt
	for _, r := range d.Resources {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		body, err := d.Body(r)
		if err != nil {
			return nil, ev.redactErr(err)
		}
		if err := create(ctx, r, body); err != nil {
			return nil, ev.redactErr(err)
		}
		ev.deployed[strings.ToLower(r.ID)] = true
	}
	out, err := d.outputs()
	return out, ev.redactErr(err)
}

// Body evaluates a resource's body: every key but the template-only ones.
func (d *Deployment) Body(r *Resource) (map[string]any, error) {
	ev := d.ev
	ev.copyIdx, ev.what = copyOf(r.copyIdx), fmt.Sprintf("the resource '%s'", r.Name)
	body := map[string]any{}
	nested := IsDeployments(r.Type)
	inner := nested && innerScope(r.raw)
	for k, v := range r.raw {
		if templateOnly[strings.ToLower(k)] || nested && nestedOnly[strings.ToLower(k)] {
			continue
		}
		if props, ok := v.(map[string]any); ok && inner && strings.EqualFold(k, "properties") {
			x, err := ev.innerProperties(props)
			if err != nil {
				return nil, err
			}
			body[k] = x
			continue
		}
		x, err := ev.value(v)
		if err != nil {
			return nil, err
		}
		body[k] = x
	}
	return body, nil
}

func (d *Deployment) outputs() (map[string]Output, error) {
	ev := d.ev
	out := map[string]Output{}
	names := make([]string, 0, len(ev.tpl.outputs))
	for k := range ev.tpl.outputs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		o := ev.tpl.outputs[name]
		ev.what, ev.copyIdx = "the output '"+name+"'", map[string]int64{}
		if c := member(o, "condition"); c != nil {
			cv, err := ev.value(c)
			if err != nil {
				return nil, err
			}
			if b, ok := cv.(bool); !ok || !b {
				continue
			}
		}
		typ := strings.ToLower(str(member(o, "type")))
		var v any
		var err error
		if cp, ok := member(o, "copy").(map[string]any); ok {
			v, err = d.outputCopy(name, cp)
		} else {
			v, err = ev.value(member(o, "value"))
		}
		if err != nil {
			return nil, err
		}
		if err := checkParameter(paramDef{Name: name, Type: typ}, v, false); err != nil {
			return nil, invalid("the output '%s' is of type '%s' but its value is of type '%s'", name, armTypeNames[typ], typeName(v))
		}
		if typ == "securestring" || typ == "secureobject" {
			v = nil
		}
		out[name] = Output{Type: armTypeNames[typ], Value: v}
	}
	return out, nil
}

func (d *Deployment) outputCopy(name string, cp map[string]any) (any, error) {
	ev := d.ev
	cv, err := ev.value(member(cp, "count"))
	if err != nil {
		return nil, err
	}
	count, ok := cv.(int64)
	if !ok || count < 0 || count > maxCopyCount {
		return nil, invalid("the count of the copy of the output '%s' must be an integer from 0 to %d", name, maxCopyCount)
	}
	out := make([]any, 0, count)
	for i := int64(0); i < count; i++ {
		ev.copyIdx = map[string]int64{"": i}
		v, err := ev.value(member(cp, "input"))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
