package identity

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// azcliPython is the interpreter of the az CLI venv the CI installs, with
// MSAL Python (the library az signs in with) inside.
func azcliPython(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	py := filepath.Join(filepath.Dir(file), "..", "..", ".ci", "azcli", "bin", "python")
	if _, err := os.Stat(py); err != nil {
		if os.Getenv("CI") == "1" {
			t.Fatalf("CI=1 but the az CLI venv is missing: %v", err)
		}
		t.Skipf("no az CLI venv at %s", py)
	}
	return py
}

// msalScript acquires tokens the way azure-cli does: a
// ConfidentialClientApplication for the service principal (tenant and adfs
// authorities, instance discovery off, az's CP1 claims challenge), and a
// ManagedIdentityClient on App Service's IDENTITY_ENDPOINT.
const msalScript = `
import json, os, sys, msal, requests
base, tenant, app, secret = sys.argv[1:5]
out = {}
for name, authority in (("tenant", base + "/" + tenant), ("adfs", base + "/adfs"), ("organizations", base + "/organizations")):
    cca = msal.ConfidentialClientApplication(app, client_credential=secret, authority=authority,
        instance_discovery=False, client_capabilities=["CP1"])
    out[name] = cca.acquire_token_for_client(["https://management.localhost//.default"])
bad = msal.ConfidentialClientApplication(app, client_credential=secret + "x", authority=base + "/" + tenant, instance_discovery=False)
out["bad"] = bad.acquire_token_for_client(["https://management.localhost//.default"])
mi = msal.ManagedIdentityClient(msal.SystemAssignedManagedIdentity(), http_client=requests.Session())
out["mi"] = mi.acquire_token_for_client(resource="https://vault.azure.net")
print(json.dumps(out))
`

func TestMSALPython(t *testing.T) {
	py := azcliPython(t)
	m := newMSIEnv(t)
	login := loginServer(t, m.env)
	_, creds := m.servicePrincipal(t)

	out := runMSALPython(t, py, login.Certificate(), 2*time.Minute, msalScript, []string{login.URL, creds.Tenant, creds.AppID, creds.Password},
		"IDENTITY_ENDPOINT="+m.srv.URL+MSIPath, "IDENTITY_HEADER="+m.header1)
	for _, name := range []string{"tenant", "adfs", "organizations"} {
		tok, _ := out[name]["access_token"].(string)
		c, err := m.svc.Verify(t.Context(), tok, []string{"https://management.localhost/"})
		if err != nil || c.AppID != creds.AppID {
			t.Errorf("%s authority: %v (MSAL answered %v)", name, err, out[name])
		}
	}
	if out["bad"]["error"] != "invalid_client" {
		t.Errorf("a wrong secret: MSAL answered %v", out["bad"])
	}
	tok, _ := out["mi"]["access_token"].(string)
	if c, err := m.svc.Verify(t.Context(), tok, []string{"https://vault.azure.net"}); err != nil || c.ObjectID != m.app1.ObjectID {
		t.Errorf("managed identity: %v (MSAL answered %v)", err, out["mi"])
	}
}

// runMSALPython runs script (MSAL for Python) with args, trusting cert
// for the login host and with env added, within limit, and returns the
// JSON object it prints: one answer of MSAL's per name.
func runMSALPython(t *testing.T, py string, cert *x509.Certificate, limit time.Duration, script string, args []string, env ...string) map[string]map[string]any {
	t.Helper()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{"-c", script}, args...)...)
	cmd.Env = append(append(os.Environ(), "REQUESTS_CA_BUNDLE="+ca, "HOME="+t.TempDir()), env...)
	outb, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("MSAL Python: %v\n%s", err, stderr)
	}
	var out map[string]map[string]any
	if err := json.Unmarshal(outb, &out); err != nil {
		t.Fatalf("output %q: %v", outb, err)
	}
	return out
}
