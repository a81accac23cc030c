// Package nodetest finds, for tests, a Node.js that can load the npm
// packages a real client test drives (the Azure SDK for JavaScript, the
// GitHub Action for App Service's library). scripts/setup installs them
// into .ci/node from tests/node/package.json and scripts/test points
// NODE_PATH there. Without them a test skips, or fails when the CI
// environment variable is set, so that CI never passes by skipping.
package nodetest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Node returns the path of a node that can require every one of modules.
func Node(t testing.TB, modules ...string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	for _, m := range modules {
		if err == nil {
			err = exec.Command(node, "-e", "require('"+m+"')").Run()
		}
	}
	if err != nil {
		msg := "node with " + strings.Join(modules, ", ") + " is not available (scripts/setup installs them into .ci/node; scripts/test sets NODE_PATH)"
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: %v", msg, err)
		}
		t.Skipf("%s: %v", msg, err)
	}
	return node
}
