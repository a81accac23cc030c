package armtemplate

import (
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
)

// planDoc plans a template given as a Go value.
func planDoc(t *testing.T, doc map[string]any, opts Options) *Deployment {
	t.Helper()
	b, _ := json.Marshal(doc)
	tpl, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Plan(context.Background(), tpl, nil, testScope, opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// deployMeasured plans and deploys a template given as a Go value, and
// returns the MB it allocated and Deploy's error.
func deployMeasured(t *testing.T, doc map[string]any) (uint64, error) {
	d := planDoc(t, doc, Options{})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := d.Deploy(context.Background(), nil, nil)
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) >> 20, err
}

// buildingTemplate is a template of a few KB whose output builds n
// distinct strings of 1 MB, all held at once in one array.
func buildingTemplate(t *testing.T, n int) *Template {
	t.Helper()
	vars := map[string]any{"v0": strings.Repeat("x", 1000)}
	for i := 1; i <= 10; i++ {
		p := "v" + itoa(i-1)
		vars["v"+itoa(i)] = "[concat(variables('" + p + "'), variables('" + p + "'))]"
	}
	var args []string
	for i := range n {
		args = append(args, "concat(variables('v10'), '"+itoa(i)+"')")
	}
	vars["big"] = "[createArray(" + strings.Join(args, ",") + ")]"
	doc := map[string]any{"contentVersion": "1.0.0.0", "variables": vars, "resources": []any{},
		"outputs": map[string]any{"x": map[string]any{"type": "int", "value": "[length(variables('big'))]"}}}
	b, _ := json.Marshal(doc)
	tpl, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// TestAttack_TemplateMemoryBounded: a template of 10 KB made one
// evaluation hold 250 MB (and the server's heap 380 MB) in a third of a
// second, and a run goes on after its client hangs up: a tenant firing a
// few dozen such deployments ended the process, every tenant's apps with
// it. One evaluation builds at most maxValueBytes, and the evaluations
// that share a Pool (all of a server's) at most the pool's size together,
// until they are released: past it a deployment fails with a clear error
// instead of the server running out of memory.
func TestAttack_TemplateMemoryBounded(t *testing.T) {
	t.Run("one evaluation", func(t *testing.T) {
		d, err := Plan(context.Background(), buildingTemplate(t, 250), nil, testScope, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Release()
		if _, err := d.Deploy(context.Background(), nil, nil); err == nil || !strings.Contains(err.Error(), "bytes of values") {
			t.Fatalf("a template building 250 MB: err = %v; want the value limit", err)
		}
	})
	t.Run("evaluations sharing a pool", func(t *testing.T) {
		pool := NewPool(32 << 20)
		tpl := buildingTemplate(t, 8) // about 26 MB counted: 8 strings, and the array of them where built and where placed
		first, err := Plan(context.Background(), tpl, nil, testScope, Options{Pool: pool})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := first.Deploy(context.Background(), nil, nil); err != nil {
			t.Fatalf("the first deployment: %v", err)
		}
		second, err := Plan(context.Background(), tpl, nil, testScope, Options{Pool: pool})
		if err != nil {
			t.Fatal(err)
		}
		_, err = second.Deploy(context.Background(), nil, nil)
		second.Release()
		var te *Error
		if err == nil || !asError(err, &te) || te.Code != "TemplateMemoryBusy" {
			t.Fatalf("a second deployment while the first holds the pool: err = %v; want TemplateMemoryBusy", err)
		}
		first.Release()
		first.Release() // twice is harmless
		third, err := Plan(context.Background(), tpl, nil, testScope, Options{Pool: pool})
		if err != nil {
			t.Fatal(err)
		}
		defer third.Release()
		if _, err := third.Deploy(context.Background(), nil, nil); err != nil {
			t.Fatalf("a deployment once the others are released: %v", err)
		}
	})
}

// TestAttack_LiteralCopiesCounted: values a template builds without a
// function — the copies of its literal objects and arrays that an output
// copy loop makes, 800 of them — were not counted against the value
// limit: 700 KB of template made the server hold 2 GB, and a template of
// 4 MB with a few such outputs ended the process at once. They count as
// the functions' do.
func TestAttack_LiteralCopiesCounted(t *testing.T) {
	in := map[string]any{}
	for i := range 50000 {
		in["k"+itoa(i)] = []any{1}
	}
	doc := map[string]any{"contentVersion": "1.0.0.0", "resources": []any{},
		"outputs": map[string]any{"x": map[string]any{"type": "array", "copy": map[string]any{"count": 800, "input": in}}}}
	mb, err := deployMeasured(t, doc)
	if err == nil || !strings.Contains(err.Error(), "bytes of values") {
		t.Errorf("an output copying a 50,000-property object 800 times: err = %v; want the value limit", err)
	}
	if mb > 512 {
		t.Errorf("the evaluation allocated %d MB", mb)
	}
}

// bigRuntime answers each reference() and listKeys() with a new value of
// about 1 MB, as a GET of a large resource (a deployment's record of 16
// MB) decodes to.
type bigRuntime struct{}

func (bigRuntime) Reference(context.Context, string, string, bool) (any, error) {
	return map[string]any{"blob": strings.Repeat("b", 1<<20), "items": make([]any, 1000)}, nil
}

func (bigRuntime) List(context.Context, string, string, string) (any, error) {
	return map[string]any{"keys": []any{strings.Repeat("k", 1<<20)}}, nil
}

// TestAttack_ReferenceResultsCounted: what reference() and listKeys()
// answer was not counted against the value limit, so one expression
// holding 250 references of a large resource (its own deployment record,
// up to 16 MB) made the server hold gigabytes. Their results count as
// the values the functions build.
func TestAttack_ReferenceResultsCounted(t *testing.T) {
	const id = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg1/providers/Microsoft.Web/sites/big"
	for _, fn := range []string{"reference(variables('i'), '1', 'Full')", "listKeys(variables('i'), '1')"} {
		args := make([]string, 250)
		for i := range args {
			args[i] = fn
		}
		doc := map[string]any{"contentVersion": "1.0.0.0", "resources": []any{}, "variables": map[string]any{"i": id},
			"outputs": map[string]any{"x": map[string]any{"type": "int", "value": "[length(createArray(" + strings.Join(args, ",") + "))]"}}}
		d := planDoc(t, doc, Options{})
		if _, err := d.Deploy(context.Background(), bigRuntime{}, nil); err == nil || !strings.Contains(err.Error(), "bytes of values") {
			t.Errorf("250 results of %s held at once: err = %v; want the value limit", fn, err)
		}
	}
}

// TestAttack_SharedValuesCounted: createArray() of one value 256 times
// holds 256 references, counted as 256 items, yet it is 256 copies once
// written out — by string(), or as a resource's body or an output, which
// the server marshals. Four such variables of a 10-byte string were a
// value of 256⁴ strings: 50 GB when written, and the process died of it.
// A value counts for what it is written out as, wherever it is placed.
func TestAttack_SharedValuesCounted(t *testing.T) {
	vars := map[string]any{"v0": "xxxxxxxxxx"}
	for i := 1; i <= 4; i++ {
		args := make([]string, 256)
		for j := range args {
			args[j] = "variables('v" + itoa(i-1) + "')"
		}
		vars["v"+itoa(i)] = "[createArray(" + strings.Join(args, ",") + ")]"
	}
	for _, out := range []map[string]any{
		{"type": "int", "value": "[length(string(variables('v4')))]"},
		{"type": "array", "value": "[variables('v4')]"},
		{"type": "object", "value": map[string]any{"a": "[variables('v4')]"}},
		{"type": "int", "value": "[length(string(variables('v3')))]"},
	} {
		doc := map[string]any{"contentVersion": "1.0.0.0", "variables": vars, "resources": []any{},
			"outputs": map[string]any{"x": out}}
		mb, err := deployMeasured(t, doc)
		if err == nil || !strings.Contains(err.Error(), "bytes of values") {
			t.Errorf("output %v: err = %v; want the value limit", out["value"], err)
		}
		if mb > 256 {
			t.Errorf("output %v: the evaluation allocated %d MB", out["value"], mb)
		}
	}
}
