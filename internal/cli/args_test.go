package cli

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseFlags(t *testing.T) {
	defs := []flagDef{
		{Names: []string{"--resource-group", "-g"}, Required: true},
		{Names: []string{"--name", "-n"}, Required: true},
		{Names: []string{"--settings"}, Kind: kindList},
		{Names: []string{"--is-linux"}, Kind: kindBool},
		{Names: []string{"--async"}, Kind: kindBool},
		{Names: []string{"--help", "-h"}, Kind: kindBool},
		{Names: []string{"--deployment-container-image-name", "-i"}, Unsupported: "custom containers are out of scope"},
	}
	tests := []struct {
		name    string
		args    []string
		want    map[string][]string
		wantErr string // ExitError message; exit code 2 implied
	}{
		{name: "short forms", args: []string{"-g", "rg", "-n", "app"},
			want: map[string][]string{"resource-group": {"rg"}, "name": {"app"}}},
		{name: "long forms with =", args: []string{"--resource-group=rg", "--name=a=b"},
			want: map[string][]string{"resource-group": {"rg"}, "name": {"a=b"}}},
		{name: "list runs to the next flag", args: []string{"--settings", "A=1", "B=2 3", "-g", "rg", "-n", "x"},
			want: map[string][]string{"settings": {"A=1", "B=2 3"}, "resource-group": {"rg"}, "name": {"x"}}},
		{name: "repeated list accumulates", args: []string{"--settings", "A=1", "-g", "rg", "--settings", "B=2", "-n", "x"},
			want: map[string][]string{"settings": {"A=1", "B=2"}, "resource-group": {"rg"}, "name": {"x"}}},
		{name: "bare switch", args: []string{"--is-linux", "-g", "rg", "-n", "x"},
			want: map[string][]string{"is-linux": {"true"}, "resource-group": {"rg"}, "name": {"x"}}},
		{name: "switch with a value", args: []string{"--async", "false", "-g", "rg", "-n", "x", "--is-linux=True"},
			want: map[string][]string{"async": {"false"}, "is-linux": {"true"}, "resource-group": {"rg"}, "name": {"x"}}},
		{name: "last string value wins", args: []string{"-g", "a", "-g", "b", "-n", "x"},
			want: map[string][]string{"resource-group": {"a", "b"}, "name": {"x"}}},
		{name: "help skips required checks", args: []string{"-h"}, want: map[string][]string{"help": {"true"}}},
		{name: "missing required", args: []string{"-g", "rg"}, wantErr: "the following arguments are required: --name/-n"},
		{name: "missing both", args: nil, wantErr: "the following arguments are required: --resource-group/-g, --name/-n"},
		{name: "unknown flag", args: []string{"-g", "rg", "-n", "x", "--nope", "1"}, wantErr: "unrecognized arguments: --nope 1"},
		{name: "positional", args: []string{"stray", "-g", "rg", "-n", "x"}, wantErr: "unrecognized arguments: stray"},
		{name: "value missing", args: []string{"-n", "x", "-g"}, wantErr: "argument --resource-group/-g: expected one argument"},
		{name: "value is a flag", args: []string{"-g", "-n", "x"}, wantErr: "argument --resource-group/-g: expected one argument"},
		{name: "empty list", args: []string{"--settings", "-g", "rg", "-n", "x"}, wantErr: "argument --settings: expected at least one argument"},
		{name: "unsupported flag", args: []string{"-g", "rg", "-n", "x", "-i", "nginx"},
			wantErr: "argument --deployment-container-image-name: not supported by Slipway yet (custom containers are out of scope)"},
		{name: "bad boolean", args: []string{"--async=maybe", "-g", "rg", "-n", "x"}, wantErr: `argument --async: invalid boolean value: "maybe" (use true or false)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFlags("webapp create", defs, tt.args, nil)
			if tt.wantErr != "" {
				var ee *ExitError
				if !errors.As(err, &ee) {
					t.Fatalf("err = %v, want an ExitError", err)
				}
				if ee.Code != ExitUsage || ee.Message != tt.wantErr || ee.Hint != "Run `slipway webapp create --help` for usage." {
					t.Errorf("err = %+v, want code 2, message %q", ee, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.values); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseKeyValues(t *testing.T) {
	got, err := parseKeyValues("x", "--settings", []string{"A=1", "B=", "C=x=y"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][2]string{{"A", "1"}, {"B", ""}, {"C", "x=y"}}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{"NOEQUALS", "=v"} {
		if _, err := parseKeyValues("x", "--settings", []string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestNormalizers(t *testing.T) {
	tests := []struct {
		fn       func(string) string
		in, want string
	}{
		{normalizeRuntime, "PYTHON:3.12", "PYTHON|3.12"},
		{normalizeRuntime, "python|3.11", "PYTHON|3.11"},
		{normalizeLocation, "West Europe", "westeurope"},
		{normalizeSKU, "p1v2", "P1V2"},
		{normalizeSKU, "free", "F1"},
		{normalizeSKU, "Shared", "D1"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := tt.fn(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGetenvLastWins(t *testing.T) {
	r := &runner{env: []string{"A=1", "B=x=y", "A=2", "NOVALUE"}}
	for k, want := range map[string]string{"A": "2", "B": "x=y", "C": "", "NOVALUE": ""} {
		if got := r.getenv(k); got != want {
			t.Errorf("getenv(%q) = %q, want %q", k, got, want)
		}
	}
}
