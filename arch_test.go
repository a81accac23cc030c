package slipway_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// The dependency rules of STYLE.md rule 4: domain ← adapters ← coordinators
// ← delivery ← composition root. Each entry lists packages a package must
// not depend on, directly or indirectly.
var forbidden = map[string][]string{
	"":                   {"internal/"}, // the domain imports only the standard library
	"internal/appenv":    {"internal/deploy", "internal/server", "internal/scm", "internal/arm", "internal/frontdoor", "internal/cli"},
	"internal/applog":    {"internal/"},
	"internal/archive":   {"internal/"},
	"internal/build":     {"internal/"},
	"internal/startup":   {"internal/"},
	"internal/sandbox":   {"internal/"},
	"internal/store":     {"internal/"},
	"internal/runtime":   {"internal/deploy", "internal/server", "internal/scm", "internal/arm", "internal/frontdoor", "internal/cli", "internal/store"},
	"internal/frontdoor": {"internal/deploy", "internal/server", "internal/scm", "internal/arm", "internal/cli", "internal/store"},
	"internal/deploy":    {"internal/server", "internal/scm", "internal/arm", "internal/frontdoor", "internal/cli", "internal/store"},
	"internal/scm":       {"internal/server", "internal/arm", "internal/cli", "internal/store"},
	"internal/arm":       {"internal/server", "internal/scm", "internal/cli", "internal/deploy", "internal/runtime"},
	"internal/cli":       {"internal/server", "internal/store", "internal/deploy", "internal/runtime", "internal/scm", "internal/arm"},
}

const module = "github.com/slipway-dev/slipway"

type pkg struct {
	ImportPath string
	Doc        string
	Deps       []string
	Standard   bool
	Name       string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "-deps=false", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestDependencyDirection(t *testing.T) {
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		rules, ok := forbidden[rel]
		if !ok {
			continue
		}
		for _, d := range p.Deps {
			if rel == "" && !strings.Contains(strings.Split(d, "/")[0], ".") {
				continue // standard library
			}
			if rel == "" && !strings.HasPrefix(d, module) {
				t.Errorf("the domain package imports %s; it may import only the standard library", d)
			}
			for _, f := range rules {
				if strings.HasPrefix(d, module+"/"+f) && d != p.ImportPath {
					t.Errorf("%s depends on %s, against the dependency direction", p.ImportPath, d)
				}
			}
		}
	}
}

// TestPackageDocs: every package says what it owns.
func TestPackageDocs(t *testing.T) {
	for _, p := range listPackages(t) {
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no doc comment", p.ImportPath)
		}
	}
}
