package identity

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// azureIdentityScript gets tokens with azure-identity, as a Django app on
// App Service does: ManagedIdentityCredential and DefaultAzureCredential
// from IDENTITY_ENDPOINT/IDENTITY_HEADER, and ClientSecretCredential
// against the login endpoint as a custom authority.
const azureIdentityScript = `
import json, sys
from azure.identity import ManagedIdentityCredential, DefaultAzureCredential, ClientSecretCredential
base, tenant, app, secret, uami = sys.argv[1:6]
out = {}
out["mi"] = ManagedIdentityCredential().get_token("https://vault.azure.net/.default").token
out["uami"] = ManagedIdentityCredential(client_id=uami).get_token("https://vault.azure.net/.default").token
out["default"] = DefaultAzureCredential(exclude_environment_credential=True, exclude_workload_identity_credential=True).get_token("https://storage.azure.com/.default").token
out["sp"] = ClientSecretCredential(tenant, app, secret, authority=base, disable_instance_discovery=True).get_token("https://management.azure.com/.default").token
print(json.dumps(out))
`

// TestAzureIdentityPython runs the real azure-identity when
// SLIPWAY_AZURE_IDENTITY_PYTHON names a Python that has it (the az CLI venv
// does not): python -m venv /tmp/v && /tmp/v/bin/pip install azure-identity.
func TestAzureIdentityPython(t *testing.T) {
	py := os.Getenv("SLIPWAY_AZURE_IDENTITY_PYTHON")
	if py == "" {
		t.Skip("SLIPWAY_AZURE_IDENTITY_PYTHON is not set")
	}
	m := newMSIEnv(t)
	login := loginServer(t, m.env)
	_, creds := m.servicePrincipal(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: login.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", azureIdentityScript, login.URL, creds.Tenant, creds.AppID, creds.Password, m.user.AppID)
	cmd.Env = append(os.Environ(), "REQUESTS_CA_BUNDLE="+ca, "IDENTITY_ENDPOINT="+m.srv.URL+MSIPath, "IDENTITY_HEADER="+m.header1, "HOME="+t.TempDir())
	outb, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("azure-identity: %v\n%s", err, stderr)
	}
	var out map[string]string
	if err := json.Unmarshal(outb, &out); err != nil {
		t.Fatalf("output %q: %v", outb, err)
	}
	for _, tc := range []struct{ name, aud, oid string }{
		{"mi", "https://vault.azure.net", m.app1.ObjectID},
		{"uami", "https://vault.azure.net", m.user.ObjectID},
		{"default", "https://storage.azure.com/", m.app1.ObjectID},
		{"sp", "https://management.azure.com/", ""},
	} {
		c, err := m.svc.Verify(t.Context(), out[tc.name], []string{tc.aud})
		if err != nil || (tc.oid != "" && c.ObjectID != tc.oid) || (tc.oid == "" && c.AppID != creds.AppID) {
			t.Errorf("%s: %+v, %v", tc.name, c, err)
		}
	}
}
