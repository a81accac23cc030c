package armtemplate

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

func mustParse(t *testing.T, doc string) *Template {
	t.Helper()
	tpl, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// fakeRuntime answers reference() with what create stored.
type fakeRuntime struct{ state map[string]map[string]any }

func (f *fakeRuntime) Reference(_ context.Context, id, _ string, full bool) (any, error) {
	b := f.state[strings.ToLower(id)]
	if full {
		return b, nil
	}
	return b["properties"], nil
}

func (f *fakeRuntime) List(_ context.Context, id, action, _ string) (any, error) {
	return map[string]any{"keys": []any{map[string]any{"value": "k-" + id}}}, nil
}

func deploy(t *testing.T, doc string, params map[string]any) ([]string, map[string]Output, error) {
	t.Helper()
	tpl, err := Parse([]byte(doc))
	if err != nil {
		return nil, nil, err
	}
	d, err := Plan(context.Background(), tpl, params, testScope, Options{})
	if err != nil {
		return nil, nil, err
	}
	rt := &fakeRuntime{state: map[string]map[string]any{}}
	var names []string
	outs, err := d.Deploy(context.Background(), rt, func(_ context.Context, r *Resource, body map[string]any) error {
		names = append(names, r.Type+":"+r.Name)
		rt.state[strings.ToLower(r.ID)] = body
		return nil
	})
	return names, outs, err
}

func TestDependsOnOrder(t *testing.T) {
	names, _, err := deploy(t, `{"contentVersion":"1.0.0.0","resources":[
	 {"type":"Microsoft.Web/sites","apiVersion":"2024-11-01","name":"app","dependsOn":["[resourceId('Microsoft.Web/serverfarms','plan')]"],
	  "resources":[{"type":"config","apiVersion":"2024-11-01","name":"web","properties":{}}]},
	 {"type":"Microsoft.Web/sites/config","apiVersion":"2024-11-01","name":"app/appsettings","dependsOn":["app"]},
	 {"type":"Microsoft.Web/serverfarms","apiVersion":"2024-11-01","name":"plan","dependsOn":["Microsoft.Storage/storageAccounts/st"]},
	 {"type":"Microsoft.Storage/storageAccounts","apiVersion":"2023-01-01","name":"st"}]}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Microsoft.Storage/storageAccounts:st", "Microsoft.Web/serverfarms:plan", "Microsoft.Web/sites:app",
		"Microsoft.Web/sites/config:app/web", "Microsoft.Web/sites/config:app/appsettings"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("order %q, want %q", names, want)
	}
}

func TestCycleRefused(t *testing.T) {
	_, _, err := deploy(t, `{"contentVersion":"1.0.0.0","resources":[
	 {"type":"Microsoft.Web/serverfarms","apiVersion":"x","name":"a","dependsOn":["b"]},
	 {"type":"Microsoft.Web/serverfarms","apiVersion":"x","name":"b","dependsOn":["a"]}]}`, nil)
	if err == nil || !strings.Contains(err.Error(), "circular dependency") {
		t.Fatalf("error %v", err)
	}
}

func TestDependsOnUnknownRefused(t *testing.T) {
	_, _, err := deploy(t, `{"contentVersion":"1.0.0.0","resources":[
	 {"type":"Microsoft.Web/serverfarms","apiVersion":"x","name":"a","dependsOn":["ghost"]}]}`, nil)
	if err == nil || !strings.Contains(err.Error(), "'ghost', which is not defined") {
		t.Fatalf("error %v", err)
	}
}

func TestCopyConditionOutputs(t *testing.T) {
	names, outs, err := deploy(t, `{"contentVersion":"1.0.0.0",
	 "parameters":{"n":{"type":"int","minValue":0,"maxValue":5},"withPlan":{"type":"bool","defaultValue":false},
	   "pw":{"type":"securestring","defaultValue":"s3cret"}},
	 "resources":[
	  {"condition":"[parameters('withPlan')]","type":"Microsoft.Web/serverfarms","apiVersion":"x","name":"plan"},
	  {"type":"Microsoft.Web/sites","apiVersion":"x","name":"[concat('app', copyIndex(1))]","dependsOn":["plan"],
	   "copy":{"name":"apps","count":"[parameters('n')]"},"properties":{"i":"[copyIndex()]"}},
	  {"type":"Microsoft.Storage/storageAccounts","apiVersion":"x","name":"st","dependsOn":["apps"],
	   "properties":{"first":"[reference('app1').i]","full":"[reference(resourceId('Microsoft.Web/sites','app2'), 'x', 'Full').properties.i]"}}],
	 "outputs":{"st":{"type":"object","value":"[reference('st')]"},
	   "names":{"type":"array","copy":{"count":"[parameters('n')]","input":"[concat('app', copyIndex(1))]"}},
	   "key":{"type":"string","value":"[listKeys('st', '2023-01-01').keys[0].value]"},
	   "pw":{"type":"securestring","value":"[parameters('pw')]"},
	   "off":{"condition":false,"type":"string","value":"x"}}}`,
		map[string]any{"n": map[string]any{"value": 2}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Microsoft.Web/sites:app1", "Microsoft.Web/sites:app2", "Microsoft.Storage/storageAccounts:st"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("deployed %q, want %q", names, want)
	}
	if got := outs["st"].Value; !reflect.DeepEqual(got, map[string]any{"first": int64(0), "full": int64(1)}) {
		t.Errorf("st output %#v", got)
	}
	if got := outs["names"].Value; !reflect.DeepEqual(got, []any{"app1", "app2"}) {
		t.Errorf("names output %#v", got)
	}
	if !strings.HasPrefix(outs["key"].Value.(string), "k-/subscriptions/") {
		t.Errorf("key output %#v", outs["key"])
	}
	if o := outs["pw"]; o.Value != nil || o.Type != "SecureString" {
		t.Errorf("secure output returned: %#v", o)
	}
	if _, ok := outs["off"]; ok {
		t.Errorf("output with a false condition returned")
	}
}

// reference() by name makes an implicit dependency (as in ARM); by id
// it does not, and using a resource not deployed yet is an error that
// says to add dependsOn.
func TestReferenceDependencies(t *testing.T) {
	names, _, err := deploy(t, `{"contentVersion":"1.0.0.0","resources":[
	 {"type":"Microsoft.Web/sites","apiVersion":"x","name":"app","properties":{"p":"[reference('plan').x]"}},
	 {"type":"Microsoft.Web/serverfarms","apiVersion":"x","name":"plan","properties":{"x":1}}]}`, nil)
	if err != nil || !reflect.DeepEqual(names, []string{"Microsoft.Web/serverfarms:plan", "Microsoft.Web/sites:app"}) {
		t.Fatalf("implicit dependency: %q %v", names, err)
	}
	_, _, err = deploy(t, `{"contentVersion":"1.0.0.0","resources":[
	 {"type":"Microsoft.Web/sites","apiVersion":"x","name":"app","properties":{"p":"[reference(resourceId('Microsoft.Web/serverfarms', 'plan')).x]"}},
	 {"type":"Microsoft.Web/serverfarms","apiVersion":"x","name":"plan"}]}`, nil)
	if err == nil || !strings.Contains(err.Error(), "add it to dependsOn") {
		t.Fatalf("error %v", err)
	}
	_, _, err = deploy(t, `{"contentVersion":"1.0.0.0","resources":[
	 {"type":"Microsoft.Web/sites","apiVersion":"x","name":"a","properties":{"p":"[reference('b').x]"}},
	 {"type":"Microsoft.Web/sites","apiVersion":"x","name":"b","properties":{"p":"[reference('a').x]"}}]}`, nil)
	if err == nil || !strings.Contains(err.Error(), "circular dependency") {
		t.Fatalf("reference cycle: %v", err)
	}
}

func TestParameters(t *testing.T) {
	const doc = `{"contentVersion":"1.0.0.0","parameters":{
	  "sku":{"type":"string","allowedValues":["B1","S1"],"defaultValue":"B1"},
	  "name":{"type":"string","minLength":3,"maxLength":5},
	  "count":{"type":"int","defaultValue":1,"minValue":1,"maxValue":3},
	  "derived":{"type":"string","defaultValue":"[concat(parameters('name'), '-', parameters('sku'))]"},
	  "stamp":{"type":"string","defaultValue":"[utcNow('yyyy-MM-dd')]"},
	  "pw":{"type":"securestring"}},
	 "resources":[],"outputs":{"d":{"type":"string","value":"[concat(parameters('derived'), parameters('stamp'))]"}}}`
	good := map[string]any{"name": map[string]any{"value": "abc"}, "pw": map[string]any{"value": "secret"}}
	_, outs, err := deploy(t, doc, good)
	if err != nil {
		t.Fatal(err)
	}
	if got := outs["d"].Value; got != "abc-B12026-12-06" {
		t.Fatalf("output %q", got)
	}
	for _, tc := range []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{"pw": map[string]any{"value": "x"}}, "'name' is not provided"},
		{map[string]any{"name": map[string]any{"value": "ab"}, "pw": map[string]any{"value": "x"}}, "has length 2"},
		{map[string]any{"name": map[string]any{"value": "abc"}, "pw": map[string]any{"value": "x"}, "sku": map[string]any{"value": "P1"}}, "not one of the allowed values"},
		{map[string]any{"name": map[string]any{"value": "abc"}, "pw": map[string]any{"value": "x"}, "count": map[string]any{"value": 9}}, "must be between 1 and 3"},
		{map[string]any{"name": map[string]any{"value": 5}, "pw": map[string]any{"value": "x"}}, "expects a value of type 'String'"},
		{map[string]any{"name": map[string]any{"value": "abc"}, "pw": map[string]any{"value": "x"}, "extra": map[string]any{"value": 1}}, "'extra' are not valid"},
		{map[string]any{"name": map[string]any{"value": "abc"}, "pw": map[string]any{"reference": map[string]any{}}}, "Key Vault reference"},
	} {
		_, _, err := deploy(t, doc, tc.params)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("params %v: error %v, want %q", tc.params, err, tc.want)
		}
	}
}

// TestSecureParameterNotEchoed: Parameters() leaves secure values out.
func TestSecureParameterNotEchoed(t *testing.T) {
	tpl := mustParse(t, `{"contentVersion":"1.0.0.0","parameters":{"pw":{"type":"securestring"},"o":{"type":"secureObject"},"n":{"type":"string"}},"resources":[]}`)
	d, err := Plan(context.Background(), tpl, map[string]any{"pw": map[string]any{"value": "hunter2"},
		"o": map[string]any{"value": map[string]any{"k": "hunter3"}}, "n": map[string]any{"value": "v"}}, testScope, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ps := d.Parameters()
	if ps["pw"].Value != nil || ps["o"].Value != nil || ps["pw"].Type != "SecureString" || ps["n"].Value != "v" {
		t.Fatalf("parameters %#v", ps)
	}
}

func TestTemplateLimits(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`{"contentVersion":"1.0.0.0","resources":[{"type":"Microsoft.Web/sites","apiVersion":"x","name":"[concat('a', copyIndex())]","copy":{"name":"l","count":801}}]}`, "from 0 to 800"},
		{`{"contentVersion":"1.0.0.0","resources":[{"type":"Microsoft.Web/sites","apiVersion":"x","name":"a"},{"type":"Microsoft.Web/sites","apiVersion":"x","name":"A"}]}`, "defined multiple times"},
		{`{"contentVersion":"1.0.0.0","resources":{"a":{"type":"Microsoft.Web/sites"}}}`, "symbolic resource names"},
		{`{"contentVersion":"1.0.0.0","functions":[],"resources":[]}`, "'functions' is not supported"},
		{`{"resources":[]}`, "no contentVersion"},
		{`{"contentVersion":"1.0.0.0","resources":[{"type":"Microsoft.Web/sites","apiVersion":"x","name":"a/b"}]}`, "segment"},
		{`{"contentVersion":"1.0.0.0","resources":[{"type":"Microsoft.Web/sites","apiVersion":"x","name":"a","scope":"x"}]}`, "'scope'"},
		{`{"contentVersion":"1.0.0.0","resources":[{"type":"Microsoft.Web/sites","apiVersion":"x","name":"a","properties":{"x":"[bogus()]"}}]}`, "'bogus' is not supported"},
		{`[`, "not valid JSON"},
	} {
		_, _, err := deploy(t, tc.doc, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", clip(tc.doc), err, tc.want)
		}
	}
	huge := `{"contentVersion":"1.0.0.0","resources":[],"x":"` + strings.Repeat("a", MaxTemplateBytes) + `"}`
	if _, err := Parse([]byte(huge)); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("huge template: %v", err)
	}
}

// TestCheckType: a type the deployment cannot create fails planning.
func TestCheckType(t *testing.T) {
	tpl := mustParse(t, `{"contentVersion":"1.0.0.0","resources":[{"type":"Microsoft.Sql/servers","apiVersion":"x","name":"db"}]}`)
	_, err := Plan(context.Background(), tpl, nil, testScope, Options{CheckType: func(id, typ string) error {
		return invalid("the resource type '%s' is not supported", typ)
	}})
	if err == nil || !strings.Contains(err.Error(), "'Microsoft.Sql/servers' is not supported") {
		t.Fatalf("error %v", err)
	}
}

// TestStrictJSON: ARM's relaxed JSON — comments, bare property names, as
// az sends its requests — becomes standard JSON; strings are untouched.
func TestStrictJSON(t *testing.T) {
	in := `{"properties": {"mode": "Incremental", template:{
	  // a comment
	  "contentVersion": "1.0.0.0", /* another */ "resources": [],
	  "outputs": {"x": {"type": "string", "value": "a // b /* c */ d: e"}}}}}`
	out, err := StrictJSON([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	v, err := decodeJSON(out)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	tpl, err := FromValue(v.(map[string]any)["properties"].(map[string]any)["template"])
	if err != nil {
		t.Fatal(err)
	}
	if tpl.outputs["x"]["value"] != "a // b /* c */ d: e" {
		t.Fatalf("string changed: %v", tpl.outputs["x"])
	}
	for _, bad := range []string{`{"a": "unclosed}`, `{/* unclosed`} {
		if _, err := StrictJSON([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
