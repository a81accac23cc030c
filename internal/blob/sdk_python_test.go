package blob

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// pythonWithSDK returns a python3 that can import azure.storage.blob, or
// skips the test (fails it in CI, which installs azure-storage-blob).
func pythonWithSDK(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(py, "-c", "import azure.storage.blob").Run()
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3 with azure-storage-blob is required in CI (pip install azure-storage-blob): %v", err)
		}
		t.Skipf("python3 with azure-storage-blob not available (pip install azure-storage-blob): %v", err)
	}
	return py
}

// TestPythonSDK runs testdata/sdk_python.py, which drives the service with
// the real azure-storage-blob client: containers, chunked uploads, ranged
// downloads, listing, metadata, conditions, SAS, leases, snapshots, copy,
// public access, append blobs, page blobs, blob batches, blob index tags
// and Azure's error codes.
func TestPythonSDK(t *testing.T) {
	py := pythonWithSDK(t)
	ts := startService(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/sdk_python.py")
	cmd.Env = append(os.Environ(), "SLIPWAY_BLOB_CONNECTION_STRING="+ts.conn)
	out, err := cmd.CombinedOutput()
	t.Logf("sdk_python.py output:\n%s", out)
	if err != nil {
		t.Fatalf("sdk_python.py failed: %v", err)
	}
}
