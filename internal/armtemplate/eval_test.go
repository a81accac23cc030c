package armtemplate

import (
	"context"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

var testScope = Scope{
	SubscriptionID: "00000000-0000-0000-0000-000000000001", TenantID: "t", ResourceGroup: "rg1",
	Location: "westeurope", DeploymentName: "dep1", Now: time.Date(2026, 12, 6, 9, 5, 7, 0, time.UTC),
}

// evalOne plans a template whose only output is expr and returns its value.
func evalOne(t *testing.T, expr string, params map[string]any) (any, error) {
	t.Helper()
	doc := map[string]any{
		"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "contentVersion": "1.0.0.0",
		"parameters": map[string]any{
			"s":   map[string]any{"type": "string", "defaultValue": "Hello"},
			"n":   map[string]any{"type": "int", "defaultValue": 3},
			"o":   map[string]any{"type": "object", "defaultValue": map[string]any{"a": map[string]any{"b": []any{1, 2}}}},
			"sec": map[string]any{"type": "securestring", "defaultValue": "p@ss"},
		},
		"variables": map[string]any{"v": "[concat(parameters('s'), '-v')]", "self": "[variables('self')]"},
		"resources": []any{},
		"outputs":   map[string]any{"x": map[string]any{"type": "object", "value": map[string]any{"r": expr}}},
	}
	b, _ := json.Marshal(doc)
	tpl, err := Parse(b)
	if err != nil {
		return nil, err
	}
	d, err := Plan(context.Background(), tpl, params, testScope, Options{})
	if err != nil {
		return nil, err
	}
	outs, err := d.Deploy(context.Background(), nil, nil)
	if err != nil {
		return nil, err
	}
	return outs["x"].Value.(map[string]any)["r"], nil
}

func TestExpressions(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want any
	}{
		{"plain", "plain"},
		{"[[literal]", "[literal]"},
		{"['it''s']", "it's"},
		{"[concat('a', 'b', 1)]", "ab1"},
		{"[concat(createArray(1), createArray(2, 3))]", []any{int64(1), int64(2), int64(3)}},
		{"[format('{0}-{1}-{{x}}', 'a', 2)]", "a-2-{x}"},
		{"[toLower('AbC')]", "abc"},
		{"[toUpper(parameters('s'))]", "HELLO"},
		{"[variables('v')]", "Hello-v"},
		{"[parameters('o').a.b[1]]", int64(2)},
		{"[parameters('O')['A'].b[0]]", int64(1)},
		{"[uniqueString('test')]", "rbgf3xv4ufgzg"},
		{"[uniqueString(resourceGroup().id)]", UniqueString("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg1")},
		{"[resourceGroup().location]", "westeurope"},
		{"[subscription().subscriptionId]", "00000000-0000-0000-0000-000000000001"},
		{"[deployment().name]", "dep1"},
		{"[resourceId('Microsoft.Web/serverfarms', 'plan')]", "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg1/providers/Microsoft.Web/serverfarms/plan"},
		{"[resourceId('other', 'Microsoft.Web/sites/config', 'app', 'web')]", "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/other/providers/Microsoft.Web/sites/app/config/web"},
		{"[if(equals(parameters('n'), 3), 'three', 'other')]", "three"},
		{"[if(true, 'yes', variables('self'))]", "yes"}, // the branch not taken is not evaluated
		{"[and(true, not(false), or(false, true))]", true},
		{"[or(false, false)]", false},
		{"[and(true, true, false)]", false},
		{"[first('')]", ""},
		{"[last(createArray(1, 2))]", int64(2)},
		{"[first('abc')]", "a"},
		{"[empty('')]", true},
		{"[empty(createObject())]", true},
		{"[length('héllo')]", int64(5)},
		{"[length(createArray(1, 2))]", int64(2)},
		{"[contains('abc', 'b')]", true},
		{"[contains(createArray('a'), 'b')]", false},
		{"[contains(parameters('o'), 'A')]", true},
		{"[replace('a-b-c', '-', '')]", "abc"},
		{"[substring('abcdef', 2, 3)]", "cde"},
		{"[split('a,b;c', createArray(',', ';'))]", []any{"a", "b", "c"}},
		{"[string(5)]", "5"},
		{"[string(createObject('a', 1))]", `{"a":1}`},
		{"[int('42')]", int64(42)},
		{"[bool('True')]", true},
		{"[json('{\"a\": [1, true]}').a[1]]", true},
		{"[union(createObject('a', 1), createObject('b', 2))]", map[string]any{"a": int64(1), "b": int64(2)}},
		{"[union(createArray(1, 2), createArray(2, 3))]", []any{int64(1), int64(2), int64(3)}},
		{"[first(createArray('x', 'y'))]", "x"},
		{"[last('xyz')]", "z"},
		{"[take('abcdef', 3)]", "abc"},
		{"[skip(createArray(1, 2, 3), 2)]", []any{int64(3)}},
		{"[coalesce(null(), 'b')]", "b"},
		{"[guid('a', 'b')]", GUID("a", "b")},
		{"[add(1, mul(2, 3))]", int64(7)},
		{"[sub(1, div(7, 2))]", int64(-2)},
		{"[mod(7, 3)]", int64(1)},
		{"[less(1, 2)]", true},
		{"[greater('b', 'a')]", true},
		{"[greaterOrEquals(2, 2)]", true},
		{"[range(1, 3)]", []any{int64(1), int64(2), int64(3)}},
		{"[min(3, 1, 2)]", int64(1)},
		{"[-5]", int64(-5)},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			got, err := evalOne(t, tc.expr, nil)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

// TestGUID checks guid() is a version-5 UUID of the dash-joined
// arguments: deterministic, distinct per input, with its version and
// variant bits.
func TestGUID(t *testing.T) {
	a, b := GUID("x", "y"), GUID("x-y")
	if a != b || a == GUID("x", "z") {
		t.Fatalf("GUID: %s %s", a, b)
	}
	if len(a) != 36 || a[14] != '5' || !strings.ContainsRune("89ab", rune(a[19])) {
		t.Fatalf("GUID %s is not a version-5 UUID", a)
	}
}

// TestExpressionErrors: malformed and hostile expressions end in a clear
// InvalidTemplate error, quickly.
func TestExpressionErrors(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"[concat('a']", "',' or ')' is expected"},
		{"['unclosed]", "not closed"},
		{"[foo('a')]", "the template function 'foo' is not supported"},
		{"[ns.fn('a')]", "user-defined function 'ns.fn'"},
		{"[listSecrets('x', '2020-01-01')]", "'listSecrets' is not supported"},
		{"[parameters('nope')]", "'nope' is not found"},
		{"[variables('self')]", "refers to itself"},
		{"[utcNow()]", "only be used in the default value of a parameter"},
		{"[newGuid()]", "only be used in the default value of a parameter"},
		{"[reference('x')]", "'reference' cannot be used"},
		{"[copyIndex()]", "outside a copy loop"},
		{"[div(1, 0)]", "divides by zero"},
		{"[mul(9223372036854775807, 2)]", "overflows"},
		{"[substring('abc', 2, 5)]", "out of the range"},
		{"[createArray(1)[5]]", "out of the array's range"},
		{"[parameters('o').missing]", "doesn't exist"},
		{"[1.5]", "only integers"},
		{"[range(0, 100000)]", "count must be between"},
		{"[format('{0:N2}', 1)]", "not supported"},
		{"[" + strings.Repeat("concat(", 100) + "'a'" + strings.Repeat(")", 100) + "]", "nests deeper"},
		{"[concat('" + strings.Repeat("a", 30000) + "')]", "characters long"},
	} {
		t.Run(clip(tc.expr), func(t *testing.T) {
			_, err := evalOne(t, tc.expr, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if te, ok := err.(*Error); !ok || te.Code != "InvalidTemplate" {
				t.Fatalf("error %#v is not an InvalidTemplate *Error", err)
			}
		})
	}
}

// TestExponentialGrowth: variables that each double the previous one stop
// at the value limits, fast, instead of exhausting memory.
func TestExponentialGrowth(t *testing.T) {
	vars := map[string]any{"v0": strings.Repeat("x", 1000)}
	for i := 1; i <= 40; i++ {
		p := "v" + itoa(i-1)
		vars["v"+itoa(i)] = "[concat(variables('" + p + "'), variables('" + p + "'))]"
	}
	doc := map[string]any{"contentVersion": "1.0.0.0", "variables": vars, "resources": []any{},
		"outputs": map[string]any{"x": map[string]any{"type": "string", "value": "[variables('v40')]"}}}
	b, _ := json.Marshal(doc)
	tpl, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Plan(context.Background(), tpl, nil, testScope, Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = d.Deploy(context.Background(), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "exceeds the limit") {
		t.Fatalf("error %v; want a size limit", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("took %v", time.Since(start))
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
