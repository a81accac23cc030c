package slipway_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// The dependency rules of docs/style.md rule 4: domain ← adapters ← coordinators
// ← delivery ← composition root. Each entry lists packages a package must
// not depend on, directly or indirectly.
var forbidden = func() map[string][]string {
	// Parts that adapt one dependency each may use only the domain and the
	// small shared mechanisms (tree, cleartext).
	adapters := []string{"internal/applog", "internal/appenv", "internal/archive", "internal/build",
		"internal/startup", "internal/sandbox", "internal/store", "internal/blob", "internal/runtime",
		"internal/netns", "internal/cgroups", "internal/homefs", "internal/pki", "internal/keyvault", "internal/graph"}
	above := []string{"internal/deploy", "internal/frontdoor", "internal/scm", "internal/arm", "internal/cli", "internal/server"}
	m := map[string][]string{
		"":                     {"internal/"}, // the domain imports only the standard library
		"internal/tree":        {"internal/"},
		"internal/cleartext":   {"internal/"},
		"internal/diskreserve": {"internal/"},
		"internal/armtemplate": {"internal/"}, // the template language: no I/O, no other part
	}
	for _, a := range adapters {
		m[a] = above
	}
	m["internal/applog"] = append(above, "internal/store", "internal/runtime")
	m["internal/runtime"] = append(above, "internal/store", "internal/build", "internal/sandbox")
	// The front door's authentication signs users in through identity;
	// the front door reaches it only through its own Authenticator.
	m["internal/easyauth"] = above
	m["internal/frontdoor"] = []string{"internal/easyauth", "internal/identity", "internal/deploy", "internal/server", "internal/scm", "internal/arm", "internal/cli", "internal/store"}
	m["internal/deploy"] = []string{"internal/server", "internal/scm", "internal/arm", "internal/frontdoor", "internal/cli", "internal/store"}
	m["internal/scm"] = []string{"internal/server", "internal/arm", "internal/cli", "internal/store"}
	m["internal/arm"] = []string{"internal/server", "internal/scm", "internal/cli", "internal/deploy", "internal/runtime"}
	m["internal/cli"] = []string{"internal/server", "internal/store", "internal/deploy", "internal/runtime", "internal/scm", "internal/arm"}
	return m
}()

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
