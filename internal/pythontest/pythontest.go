// Package pythontest finds, for tests, a python3 that can import the
// Python packages a real client test drives (the Azure SDK for Python's
// management and data-plane clients). .ci/run installs them from
// tests/requirements.txt. Without them a test skips, or fails when the CI
// environment variable is set, so that CI never passes by skipping.
package pythontest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Python returns the path of a python3 that can import every one of
// modules (dotted import names, e.g. "azure.mgmt.web").
func Python(t testing.TB, modules ...string) string {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err == nil && len(modules) > 0 {
		err = exec.Command(python, "-c", "import "+strings.Join(modules, ", ")).Run()
	}
	if err != nil {
		msg := "python3 with " + strings.Join(modules, ", ") + " is not available (pip install -r tests/requirements.txt)"
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: %v", msg, err)
		}
		t.Skipf("%s: %v", msg, err)
	}
	return python
}

// Run runs a client script with python and args, for at most two minutes,
// and fails the test unless it succeeds and prints OK. It returns the
// script's combined output.
func Run(t testing.TB, python string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, args...)
	// A script's imports of its neighbours must not leave __pycache__
	// in the source tree.
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("%s failed: %v\n%s", args[0], err, out)
	}
	return string(out)
}
