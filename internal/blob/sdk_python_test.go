package blob

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/pythontest"
)

// pythonWithSDK returns a python3 that can import azure.storage.blob (and
// any of more), or skips the test (fails it in CI, which installs
// tests/requirements.txt).
func pythonWithSDK(t *testing.T, more ...string) string {
	t.Helper()
	return pythontest.Python(t, append([]string{"azure.storage.blob"}, more...)...)
}

// runPythonScript runs a script of testdata against ts, given its
// connection string in SLIPWAY_BLOB_CONNECTION_STRING.
func runPythonScript(t *testing.T, py, script string, ts *testServer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/"+script)
	cmd.Env = append(os.Environ(), "SLIPWAY_BLOB_CONNECTION_STRING="+ts.conn)
	out, err := cmd.CombinedOutput()
	t.Logf("%s output:\n%s", script, out)
	if err != nil {
		t.Fatalf("%s failed: %v", script, err)
	}
}

// TestPythonSDK runs testdata/sdk_python.py, which drives the service with
// the real azure-storage-blob client: containers, chunked uploads, ranged
// downloads, listing, metadata, conditions, SAS, leases, snapshots, copy,
// public access, append blobs, page blobs, blob batches, blob index tags
// and Azure's error codes.
func TestPythonSDK(t *testing.T) {
	py := pythonWithSDK(t)
	runPythonScript(t, py, "sdk_python.py", startService(t, Config{}))
}

// TestPythonAsyncSDK runs testdata/sdk_python_aio.py, which drives the
// service with azure-storage-blob's asyncio client over aiohttp: containers,
// uploads of a stream and downloads (readall, readinto, chunks) with
// several requests at once, listing by prefix with metadata, batch
// deletes and leases.
func TestPythonAsyncSDK(t *testing.T) {
	py := pythonWithSDK(t, "aiohttp")
	runPythonScript(t, py, "sdk_python_aio.py", startService(t, Config{}))
}
