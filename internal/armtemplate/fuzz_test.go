package armtemplate

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// FuzzExpression: any expression string parses or fails with an error,
// and evaluating it ends quickly — with a value or an InvalidTemplate
// error, never a panic. `go test` runs the seeds; `go test -fuzz
// FuzzExpression` explores.
func FuzzExpression(f *testing.F) {
	for _, s := range []string{
		"[concat('a', parameters('s'))]", "[[x]", "['it''s']", "[parameters('o').a.b[1]]",
		"[if(true, 1, div(1, 0))]", "[union(createArray(1), createArray(2))]", "[format('{0}{{', 1)]",
		"[json('{\"a\":[1,2]}').a[0]]", "[split('a,b', ',')[1]]", "[ns.fn()]", "[copyIndex('x', 1)]",
		"[range(0, 10000)]", "[replace('aaaa', 'a', 'bbbbbbbb')]", "[-9223372036854775808]", "[((]", "[']",
		"[variables('v')]", "[uniqueString('', '')]", "[take(skip('abc', 1), -1)]", "[substring('é', 0, 1)]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		doc := map[string]any{"contentVersion": "1.0.0.0",
			"parameters": map[string]any{"s": map[string]any{"type": "string", "defaultValue": "x"},
				"o": map[string]any{"type": "object", "defaultValue": map[string]any{"a": map[string]any{"b": []any{1, 2}}}}},
			"variables": map[string]any{"v": "[concat(parameters('s'), parameters('s'))]"},
			"resources": []any{},
			"outputs":   map[string]any{"x": map[string]any{"type": "object", "value": map[string]any{"r": expr}}}}
		b, err := json.Marshal(doc)
		if err != nil {
			return
		}
		start := time.Now()
		done := make(chan error, 1)
		go func() {
			tpl, err := Parse(b)
			if err == nil {
				var d *Deployment
				if d, err = Plan(context.Background(), tpl, nil, testScope, Options{}); err == nil {
					_, err = d.Deploy(context.Background(), nil, nil)
				}
			}
			done <- err
		}()
		err = nil
		select {
		case err = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%q: evaluation did not end within 5s", expr)
		}
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("%q: error %T %v is not an *Error", expr, err, err)
			}
		}
		if time.Since(start) > 2*time.Second {
			t.Fatalf("%q took %v", expr, time.Since(start))
		}
	})
}

// A template at the 4 MB limit parses quickly; one byte more is refused
// before it is read as JSON.
func TestLargeTemplate(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"contentVersion":"1.0.0.0","resources":[],"variables":{`)
	chunk := strings.Repeat("x", (MaxTemplateBytes-1024)/maxVariables-64)
	for i := 0; i < maxVariables; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"v` + itoa(i) + `":"[concat('` + chunk + `', 'y')]"`)
	}
	b.WriteString(`}}`)
	if b.Len() > MaxTemplateBytes || b.Len() < MaxTemplateBytes-64<<10 {
		t.Fatalf("template of %d bytes", b.Len())
	}
	start := time.Now()
	if _, err := Parse([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("parsing took %v", d)
	}
	if _, err := Parse([]byte(b.String() + strings.Repeat(" ", MaxTemplateBytes))); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("an oversized template: %v", err)
	}
}
