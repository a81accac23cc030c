package blob

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// nodeWithSDK returns a node that can require @azure/storage-blob (found
// through NODE_PATH), or skips the test (fails it in CI).
func nodeWithSDK(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		err = exec.Command(node, "-e", "require('@azure/storage-blob')").Run()
	}
	if err != nil {
		msg := "node with @azure/storage-blob not available (npm install @azure/storage-blob in a directory and set NODE_PATH to its node_modules)"
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: %v", msg, err)
		}
		t.Skipf("%s: %v", msg, err)
	}
	return node
}

// TestJSSDK runs testdata/sdk_js.cjs, which drives the service with the
// real @azure/storage-blob client.
func TestJSSDK(t *testing.T) {
	node := nodeWithSDK(t)
	ts := startService(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/sdk_js.cjs")
	cmd.Env = append(os.Environ(), "SLIPWAY_BLOB_CONNECTION_STRING="+ts.conn)
	out, err := cmd.CombinedOutput()
	t.Logf("sdk_js.cjs output:\n%s", out)
	if err != nil {
		t.Fatalf("sdk_js.cjs failed: %v", err)
	}
}
