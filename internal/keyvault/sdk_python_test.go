package keyvault_test

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/slipway-dev/slipway/internal/pythontest"
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
	python := pythontest.Python(t, "azure.keyvault.secrets")
	e := newEnv(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	der := e.srv.TLS.Certificates[0].Certificate[0]
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	pythontest.Run(t, python, "testdata/secret_client.py", e.vaultURL("kv1"), ca, e.tokens["kv1"])
}
