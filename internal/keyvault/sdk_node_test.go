package keyvault_test

import (
	"crypto/x509"
	"testing"

	"github.com/slipway-dev/slipway/internal/nodetest"
)

// TestSecretClientForJS drives the data plane with the real Azure SDK for
// JavaScript's SecretClient (testdata/secret_client.cjs): set, get by
// version, list properties and versions (paged), update, beginDeleteSecret,
// get and list deleted, beginRecoverDeletedSecret, purge, backup and
// restore, over HTTPS, with @azure/keyvault-common's challenge handling
// (resource verification left on) and the SDK's own pollers.
//
// Needs the packages of tests/node/package.json (scripts/setup). Skipped
// when they are missing locally; fatal under CI.
//
// It runs with the current package and with 4.8.0 (npm alias
// keyvault-secrets-classic), the last before @azure/keyvault-common, whose
// own challenge policy much deployed code still runs.
func TestSecretClientForJS(t *testing.T) {
	for _, pkg := range []string{"@azure/keyvault-secrets", "keyvault-secrets-classic"} {
		t.Run(pkg, func(t *testing.T) {
			node := nodetest.Node(t, pkg)
			e := newEnv(t)
			cert, err := x509.ParseCertificate(e.srv.TLS.Certificates[0].Certificate[0])
			if err != nil {
				t.Fatal(err)
			}
			nodetest.Run(t, node, nodetest.Script{Path: "testdata/secret_client.cjs", Args: []string{e.vaultURL("kv1"), e.tokens["kv1"], pkg}, Trust: cert})
		})
	}
}
