package cli

import (
	"bytes"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestQueryThroughCLI runs --query (JMESPath, as az's) through whole
// commands against the fake server and checks what -o json/tsv/table print.
func TestQueryThroughCLI(t *testing.T) {
	f := newFakeServer(t)
	seed(t, f)
	if _, stderr, err := testRun(t, f, "", "webapp", "create", "-g", "rg1", "-p", "plan1", "-n", "second", "--runtime", "PYTHON:3.10"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	// webapp list order follows the fake's map order: sort in the query
	// where order matters.
	list := []string{"webapp", "list", "-g", "rg1"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"index then field, tsv", append(list, "--query", "sort_by(@, &name)[0].name", "-o", "tsv"), "myapp\n"},
		{"index then field, json", append(list, "--query", "sort_by(@, &name)[0].name"), "\"myapp\"\n"},
		{"projection, tsv: one per line", append(list, "--query", "sort_by(@, &name)[].name", "-o", "tsv"), "myapp\nsecond\n"},
		{"projection, json", append(list, "--query", "sort_by(@, &name)[].name"), "[\n  \"myapp\",\n  \"second\"\n]\n"},
		{"filter then pipe", append(list, "--query", "[?name=='second'].defaultHostName | [0]", "-o", "tsv"), "second.localhost\n"},
		{"filter with raw string literal", append(list, "--query", "[?name==`\"myapp\"`].state", "-o", "tsv"), "Running\n"},
		{"filter matching nothing prints nothing", append(list, "--query", "[?name=='nope'] | [0]", "-o", "tsv"), ""},
		{"multiselect hash, tsv keeps the expression's order", append(list, "--query", "sort_by(@, &name)[].{n:name, l:location}", "-o", "tsv"), "myapp\tWest Europe\nsecond\tWest Europe\n"},
		{"multiselect hash, reversed order", append(list, "--query", "sort_by(@, &name)[].{l:location, n:name}", "-o", "tsv"), "West Europe\tmyapp\nWest Europe\tsecond\n"},
		{"multiselect hash, json sorts keys", append(list, "--query", "[?name=='myapp'].{n:name, l:location} | [0]"), "{\n  \"l\": \"West Europe\",\n  \"n\": \"myapp\"\n}\n"},
		{"multiselect hash, table columns in the expression's order", append(list, "--query", "sort_by(@, &name)[].{Name:name, RG:resourceGroup}", "-o", "table"),
			"Name    RG\n------  ----\nmyapp   rg1\nsecond  rg1\n"},
		{"multiselect list, tsv", append(list, "--query", "sort_by(@, &name)[].[name, location]", "-o", "tsv"), "myapp\tWest Europe\nsecond\tWest Europe\n"},
		{"multiselect list, table", append(list, "--query", "sort_by(@, &name)[].[name, state]", "-o", "table"),
			"Column1    Column2\n---------  ---------\nmyapp      Running\nsecond     Running\n"},
		{"length", append(list, "--query", "length(@)", "-o", "tsv"), "2\n"},
		{"contains", append(list, "--query", "[?contains(name, 'sec')].name", "-o", "tsv"), "second\n"},
		{"literal backticks: a top-level list is one line per item", append(list, "--query", "`{\"a\": [1, 2]}`.a", "-o", "tsv"), "1\n2\n"},
		{"literal backticks: a list of lists is one line per inner list", append(list, "--query", "`[[1, 2]]`", "-o", "tsv"), "1\t2\n"},
		{"nested field through a projection", append(list, "--query", "sort_by(@, &name)[].siteConfig.linuxFxVersion", "-o", "tsv"), "PYTHON|3.12\nPYTHON|3.10\n"},
		{"boolean on its own line is lower case", append(list, "--query", "[?name=='myapp'].enabled | [0]", "-o", "tsv"), "true\n"},
		{"booleans and nulls inside a row are Python's", append(list, "--query", "[?name=='myapp'].[enabled, missing]", "-o", "tsv"), "True\tNone\n"},
		{"nested list is its length, nested object empty", append(list, "--query", "[?name=='myapp'].[hostNames, siteConfig, name]", "-o", "tsv"), "1\t\tmyapp\n"},
		{"query result as yaml", append(list, "--query", "sort_by(@, &name)[].{n:name, h:hostNames}", "-o", "yaml"),
			"- h:\n  - myapp.localhost\n  n: myapp\n- h:\n  - second.localhost\n  n: second\n"},
		{"none prints nothing", append(list, "--query", "[].name", "-o", "none"), ""},
		{"group show scalar", []string{"group", "show", "-n", "rg1", "--query", "properties.provisioningState", "-o", "tsv"}, "Succeeded\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := testRun(t, f, "", tt.args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if diff := cmp.Diff(tt.want, stdout); diff != "" {
				t.Errorf("slipway %s: stdout (-want +got):\n%s", strings.Join(tt.args, " "), diff)
			}
		})
	}
}

// TestQueryErrors: a bad expression is a usage error found before any
// request; a type error at run time is az's "Invalid jmespath query".
func TestQueryErrors(t *testing.T) {
	f := newFakeServer(t)
	seed(t, f)
	_, _, err := testRun(t, f, "", "webapp", "list", "--query", "[?name=='x'")
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != ExitUsage || !strings.HasPrefix(ee.Message, "argument --query: invalid jmespath_type value: '[?name=='x''") || !strings.Contains(ee.Message, "SyntaxError") {
		t.Errorf("bad expression: err = %#v", err)
	}
	if reqs := f.takeRequests(); len(reqs) != 0 {
		t.Errorf("a bad --query still sent %d requests", len(reqs))
	}
	_, _, err = testRun(t, f, "", "webapp", "list", "--query", "length(`1`)")
	if !errors.As(err, &ee) || ee.Code != ExitFailure || !strings.HasPrefix(ee.Message, "Invalid jmespath query supplied for `--query`: ") || ee.Hint != queryHint {
		t.Errorf("runtime error: err = %#v", err)
	}
}

// TestQueryStorageKeys is the deploy-script idiom: take the first key as
// plain text.
func TestQueryStorageKeys(t *testing.T) {
	e := newStorageEnv(t)
	e.seedGroup()
	e.must("storage", "account", "create", "-g", "rg1", "-n", "media1")
	k1, _, err := e.store.StorageAccountKeys(t.Context(), "rg1", "media1")
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, err := e.run("storage", "account", "keys", "list", "-g", "rg1", "-n", "media1", "--query", "[0].value", "-o", "tsv")
	if err != nil || out != k1+"\n" {
		t.Errorf("keys list --query [0].value -o tsv = %q, %v\n%s", out, err, stderr)
	}
}

// TestOutputFormats checks each -o format on the same values, through the
// output path (no command).
func TestOutputFormats(t *testing.T) {
	objs := []any{
		map[string]any{"name": "b", "id": "/x/b", "ok": true, "n": 2.0, "tags": map[string]any{}, "list": []any{"x", "y"}, "none": nil},
		map[string]any{"name": "a", "id": "/x/a", "ok": false, "n": 1.5, "tags": map[string]any{"k": "v"}, "list": []any{}, "none": nil},
	}
	tests := []struct {
		name, format, query string
		v                   any
		cols                []column
		want                string
	}{
		{"json", "json", "", objs[1], nil, "{\n  \"id\": \"/x/a\",\n  \"list\": [],\n  \"n\": 1.5,\n  \"name\": \"a\",\n  \"none\": null,\n  \"ok\": false,\n  \"tags\": {\n    \"k\": \"v\"\n  }\n}\n"},
		{"jsonc is json off a terminal", "jsonc", "", []any{"a"}, nil, "[\n  \"a\"\n]\n"},
		{"yaml sorts keys", "yaml", "", objs[0], nil, "id: /x/b\nlist:\n- x\n- y\nn: 2\nname: b\nnone: null\nok: true\ntags: {}\n"},
		{"yaml quotes strings that look like other types", "yaml", "", map[string]any{"v": "3.12", "b": "true", "e": ""}, nil, "b: \"true\"\ne: \"\"\nv: \"3.12\"\n"},
		{"yamlc is yaml off a terminal", "yamlc", "", []any{}, nil, "[]\n"},
		{"yaml scalar ends the document", "yaml", "", "x", nil, "x\n...\n"},
		{"tsv without columns: sorted values, list length, empty object, None", "tsv", "", objs, nil, "/x/b\t2\t2\tb\tNone\tTrue\t\n/x/a\t0\t1.5\ta\tNone\tFalse\t\n"},
		{"tsv list of strings", "tsv", "", []any{"PYTHON:3.12", "PYTHON:3.13"}, nil, "PYTHON:3.12\nPYTHON:3.13\n"},
		{"tsv scalar", "tsv", "", "x", nil, "x\n"},
		{"tsv with the command's columns", "tsv", "", objs, []column{{"Name", "name"}, {"OK", "ok"}}, "b\tTrue\na\tFalse\n"},
		{"tsv: --query replaces the columns", "tsv", "[].name", objs, []column{{"Name", "name"}, {"OK", "ok"}}, "b\na\n"},
		{"table skips id, nulls and nested values", "table", "", objs, nil, "N    Name    Ok\n---  ------  -----\n2    b       True\n1.5  a       False\n"},
		{"table of strings is a Result column", "table", "", []any{"PYTHON:3.12"}, nil, "Result\n-----------\nPYTHON:3.12\n"},
		{"none", "none", "", objs, nil, ""},
		{"null result prints nothing", "json", "", nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			vals := map[string][]string{"output": {tt.format}}
			if tt.query != "" {
				vals["query"] = []string{tt.query}
			}
			inv := &invocation{stdout: &out, flags: parsedFlags{values: vals}}
			if err := inv.printResult(tt.v, tt.cols); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, out.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestTableUnavailable: a result with no scalar field to show is az's
// "Table output unavailable" error, not blank lines.
func TestTableUnavailable(t *testing.T) {
	var out bytes.Buffer
	inv := &invocation{stdout: &out, flags: parsedFlags{values: map[string][]string{"output": {"table"}}}}
	err := inv.printResult(map[string]any{"linux": []any{"PYTHON:3.12"}, "windows": []any{}}, nil)
	var ee *ExitError
	if !errors.As(err, &ee) || !strings.HasPrefix(ee.Message, "Table output unavailable.") || out.Len() != 0 {
		t.Errorf("err = %v, stdout %q", err, out.String())
	}
}

func TestListRuntimesTableAndTSV(t *testing.T) {
	f := newFakeServer(t)
	for _, tt := range []struct{ format, want string }{
		{"table", "Result\n-----------\nPYTHON:3.9\nPYTHON:3.12\nPYTHON:3.10\n"},
		{"tsv", "PYTHON:3.9\nPYTHON:3.12\nPYTHON:3.10\n"},
	} {
		stdout, stderr, err := testRun(t, f, "", "webapp", "list-runtimes", "--os-type", "linux", "-o", tt.format)
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		if diff := cmp.Diff(tt.want, stdout); diff != "" {
			t.Errorf("-o %s (-want +got):\n%s", tt.format, diff)
		}
	}
	// Without --os-type the result is {"linux": [...], "windows": [...]}.
	stdout, _, _ := testRun(t, f, "", "webapp", "list-runtimes", "-o", "tsv")
	if stdout != "3\t0\n" {
		t.Errorf("-o tsv without --os-type = %q, want az's list lengths", stdout)
	}
	stdout, _, _ = testRun(t, f, "", "webapp", "list-runtimes", "--query", "linux", "-o", "table")
	if !strings.HasPrefix(stdout, "Result\n") {
		t.Errorf("--query linux -o table = %q", stdout)
	}
}

// TestGlobalFlags covers --subscription, --debug masking, --verbose and
// --only-show-errors.
func TestGlobalFlags(t *testing.T) {
	f := newFakeServer(t)
	seed(t, f)
	for _, sub := range []string{fakeSub, "Slipway", "slipway"} {
		if _, stderr, err := testRun(t, f, "", "group", "show", "-n", "rg1", "--subscription", sub); err != nil {
			t.Errorf("--subscription %s: %v\n%s", sub, err, stderr)
		}
	}
	_, _, err := testRun(t, f, "", "group", "show", "-n", "rg1", "--subscription", "other")
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != ExitFailure || ee.Message != "Subscription 'other' not found. Check the spelling and casing and try again." || !strings.Contains(ee.Hint, fakeSub) {
		t.Errorf("unknown subscription: %#v", err)
	}

	_, stderr, err := testRun(t, f, "", "webapp", "deployment", "list-publishing-credentials", "-g", "rg1", "-n", "myapp", "--debug", "-o", "none")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "DEBUG: POST /subscriptions/") || strings.Contains(stderr, fakeToken) || strings.Contains(stderr, "secret-pw") || strings.Contains(stderr, "Bearer") {
		t.Errorf("--debug trace:\n%s", stderr)
	}
	if got := maskedRequestURI(mustURL(t, "http://a/c/b?sv=2025&sig=abc%2F&se=x&sp=r")); got != "/c/b?sv=2025&sig=***&se=x&sp=r" {
		t.Errorf("masked = %q", got)
	}

	_, stderr, _ = testRun(t, f, "", "group", "list", "--verbose", "-o", "none")
	if !strings.Contains(stderr, "INFO: Command ran in ") {
		t.Errorf("--verbose: %q", stderr)
	}
	_, stderr, _ = testRun(t, f, "", "webapp", "config", "appsettings", "set", "-g", "rg1", "-n", "myapp", "--settings", "A=1", "--only-show-errors")
	if stderr != "" {
		t.Errorf("--only-show-errors printed %q", stderr)
	}
}

func TestClosest(t *testing.T) {
	words := []string{"appservice", "group", "storage", "webapp"}
	for in, want := range map[string]string{"webap": "webapp", "WEBAPP": "webapp", "grup": "group", "storag": "storage", "frobnicate": "", "x": ""} {
		if got := closest(in, words); got != want {
			t.Errorf("closest(%q) = %q, want %q", in, got, want)
		}
	}
	defs := []flagDef{{Names: []string{"--settings"}}, {Names: []string{"--name", "-n"}}}
	if got := suggestFlag(defs, []string{"--setings=A=1"}); got != "--settings" {
		t.Errorf("suggestFlag = %q", got)
	}
	if got := suggestFlag(defs, []string{"--nope"}); got != "" {
		t.Errorf("suggestFlag(--nope) = %q", got)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
