package build

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var testInterpreters = []Interpreter{
	{Version: "3.13.0", Path: "/py/3.13.0/bin/python3"},
	{Version: "3.10.13", Path: "/py/3.10.13/bin/python3"},
	{Version: "3.12.1", Path: "/py/3.12.1/bin/python3"},
	{Version: "3.11.7", Path: "/py/3.11.7/bin/python3"},
	{Version: "3.11.2", Path: "/usr/bin/python3.11"},
}

// TestVersionSelection covers docs/appservice.md §3 "Version resolution" in
// Slipway's order: PYTHON_VERSION setting → linuxFxVersion → runtime.txt →
// newest installed; then the highest installed version matching the prefix.
func TestVersionSelection(t *testing.T) {
	const fix = `installed: 3.10.13, 3.11.2, 3.11.7, 3.12.1, 3.13.0. Set linuxFxVersion (az webapp config set --linux-fx-version "PYTHON|3.13") or runtime.txt to one of them.`
	tests := []struct {
		name       string
		settings   map[string]string
		linuxFx    string
		runtimeTxt string
		wantPath   string
		wantSource string
		wantErr    string
	}{
		{name: "nothing set picks newest", wantPath: "/py/3.13.0/bin/python3", wantSource: "default (newest installed)"},
		{name: "linuxFxVersion minor picks highest patch", linuxFx: "PYTHON|3.11", wantPath: "/py/3.11.7/bin/python3", wantSource: "linuxFxVersion PYTHON|3.11"},
		{name: "linuxFxVersion is case-insensitive", linuxFx: "python|3.12", wantPath: "/py/3.12.1/bin/python3", wantSource: "linuxFxVersion python|3.12"},
		{name: "linuxFxVersion exact patch", linuxFx: "PYTHON|3.11.2", wantPath: "/usr/bin/python3.11", wantSource: "linuxFxVersion PYTHON|3.11.2"},
		{name: "runtime.txt with patch", runtimeTxt: "python-3.12.1\n", wantPath: "/py/3.12.1/bin/python3", wantSource: "runtime.txt (python-3.12.1)"},
		{name: "runtime.txt minor only", runtimeTxt: "python-3.10", wantPath: "/py/3.10.13/bin/python3", wantSource: "runtime.txt (python-3.10)"},
		{name: "runtime.txt not python is ignored", runtimeTxt: "node-18", wantPath: "/py/3.13.0/bin/python3", wantSource: "default (newest installed)"},
		{name: "linuxFxVersion beats runtime.txt", linuxFx: "PYTHON|3.10", runtimeTxt: "python-3.12", wantPath: "/py/3.10.13/bin/python3", wantSource: "linuxFxVersion PYTHON|3.10"},
		{name: "PYTHON_VERSION setting beats everything", settings: map[string]string{"PYTHON_VERSION": "3.11"}, linuxFx: "PYTHON|3.10", runtimeTxt: "python-3.12", wantPath: "/py/3.11.7/bin/python3", wantSource: "app setting PYTHON_VERSION"},
		{name: "major only picks newest 3.x", linuxFx: "PYTHON|3", wantPath: "/py/3.13.0/bin/python3", wantSource: "linuxFxVersion PYTHON|3"},
		{
			name:    "missing version from runtime.txt names it and lists installed",
			linuxFx: "", runtimeTxt: "python-3.9",
			wantErr: "Python 3.9 (from runtime.txt (python-3.9)) is not installed on this Slipway server; " + fix,
		},
		{
			name:    "missing version from linuxFxVersion",
			linuxFx: "PYTHON|3.9",
			wantErr: "Python 3.9 (from linuxFxVersion PYTHON|3.9) is not installed on this Slipway server; " + fix,
		},
		{
			name:     "missing patch version from setting says to change the setting",
			settings: map[string]string{"PYTHON_VERSION": "3.12.0"},
			wantErr:  "Python 3.12.0 (from app setting PYTHON_VERSION) is not installed on this Slipway server; " + fix + " The app setting PYTHON_VERSION takes precedence over both: change or delete it.",
		},
		{
			name:    "3.1 does not match 3.10 or 3.11",
			linuxFx: "PYTHON|3.1",
			wantErr: "Python 3.1 (from linuxFxVersion PYTHON|3.1) is not installed on this Slipway server; " + fix,
		},
		{
			name:    "garbage version",
			linuxFx: "PYTHON|latest",
			wantErr: `python version "latest" from linuxFxVersion PYTHON|latest is not a version number like 3.12 or 3.12.1: ` + fix,
		},
		{name: "non-python stack", linuxFx: "NODE|18-lts", wantErr: `linuxFxVersion "NODE|18-lts" is not a Python stack: Slipway builds Python apps only; set it to e.g. "PYTHON|3.12"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := requestedVersion(tt.settings, tt.linuxFx, tt.runtimeTxt)
			var got Interpreter
			if err == nil {
				got, err = selectInterpreter(req, testInterpreters)
			}
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("got %+v, want error %q", got, tt.wantErr)
				}
				if diff := cmp.Diff(tt.wantErr, err.Error()); diff != "" {
					t.Fatalf("error message (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got.Path != tt.wantPath || req.Source != tt.wantSource {
				t.Errorf("got %s via %q, want %s via %q", got.Path, req.Source, tt.wantPath, tt.wantSource)
			}
		})
	}
}

func TestSelectInterpreterNoneInstalled(t *testing.T) {
	_, err := selectInterpreter(versionRequest{}, nil)
	if err == nil || !strings.Contains(err.Error(), "no Python interpreter is installed") {
		t.Fatalf("err = %v, want a 'no Python interpreter is installed' error", err)
	}
}

// TestFindInterpreters runs the real interpreters of this machine (pyenv
// layout), and checks filtering of <3.8, dedupe and sorting.
func TestFindInterpreters(t *testing.T) {
	const pyenv = "/root/.pyenv/versions"
	if _, err := os.Stat(filepath.Join(pyenv, "3.12.1", "bin", "python3")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("pyenv Python 3.12.1 missing in CI: %v", err)
		}
		t.Skip("pyenv Pythons not installed here")
	}
	ctx := context.Background()
	// Listing pyenv twice and one executable directly must not duplicate.
	got, err := FindInterpreters(ctx, pyenv, pyenv, filepath.Join(pyenv, "3.12.1", "bin", "python3"), "/does/not/exist")
	if err != nil {
		t.Fatal(err)
	}
	var versions []string
	for i, in := range got {
		versions = append(versions, in.Version)
		if !filepath.IsAbs(in.Path) {
			t.Errorf("path %q is not absolute", in.Path)
		}
		if i > 0 && compareVersions(got[i-1].Version, in.Version) >= 0 {
			t.Errorf("not sorted or not deduplicated: %v", versions)
		}
	}
	for _, want := range []string{"3.10.13", "3.11.7", "3.12.1", "3.13.0"} {
		if !strings.Contains(strings.Join(versions, " "), want) {
			t.Errorf("versions %v lack %s", versions, want)
		}
	}
	for _, v := range versions {
		if compareVersions(v, "3.8.0") < 0 {
			t.Errorf("found unsupported version %s in %v", v, versions)
		}
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in   string
		want []int
		ok   bool
	}{
		{"3", []int{3}, true},
		{"3.12", []int{3, 12}, true},
		{"3.12.1", []int{3, 12, 1}, true},
		{"3.12.1.4", nil, false},
		{"3.x", nil, false},
		{"+3.1", nil, false},
		{"", nil, false},
		{"3..1", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseVersion(tt.in)
			if ok != tt.ok || !cmp.Equal(got, tt.want) {
				t.Errorf("parseVersion(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}
