package blob

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/nodetest"
)

// TestJSSDK runs testdata/sdk_js.cjs, which drives the service with the
// real @azure/storage-blob client.
func TestJSSDK(t *testing.T) {
	node := nodetest.Node(t, "@azure/storage-blob")
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
