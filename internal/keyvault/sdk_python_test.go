package keyvault_test

import (
	"context"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSecretClientForPython drives the data plane with the real Azure SDK
// for Python's SecretClient (testdata/secret_client.py): set, get by
// version, list properties and versions (paged), update, begin_delete,
// get and list deleted, begin_recover, purge, backup and restore, with the
// SDK's own challenge handling and pollers, over HTTPS.
//
// Needs: pip install -r tests/requirements.txt (azure-keyvault-secrets).
// Skipped when it is missing locally; fatal under CI.
func TestSecretClientForPython(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(python, "-c", "import azure.keyvault.secrets").Run()
	}
	if err != nil {
		msg := "python3 with azure-keyvault-secrets is needed (pip install -r tests/requirements.txt)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	e := newEnv(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	der := e.srv.TLS.Certificates[0].Certificate[0]
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "testdata/secret_client.py", e.vaultURL("kv1"), ca, e.tokens["kv1"]).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("SecretClient failed: %v\n%s", err, out)
	}
}
