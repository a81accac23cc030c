package examples

import (
	"os"
	"os/exec"
	"testing"
)

// TestTodoDjangoSuite runs `python manage.py test` in examples/todo with the
// Python that CI installs the example's requirements into.
func TestTodoDjangoSuite(t *testing.T) {
	python := "python3"
	if err := exec.Command(python, "-c", "import django, whitenoise, dj_database_url, storages").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the example's requirements are not installed (.ci/run installs tests/requirements.txt): %v", err)
		}
		t.Skipf("install examples/todo/requirements.txt to run the example's suite: %v", err)
	}
	cmd := exec.Command(python, "manage.py", "test", "--noinput", "-v", "1")
	cmd.Dir = "todo"
	cmd.Env = append(os.Environ(), "DJANGO_SECRET_KEY=test-only")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("manage.py test failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
