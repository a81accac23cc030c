package identity

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/arm"
)

// The unmodified az CLI registers Slipway as a cloud (discovering the login
// endpoint and audience from ARM's /metadata/endpoints), signs in with a
// service principal against the login handler, and lists subscriptions
// from Slipway's ARM handler, which authorizes the bearer token with Verify
// (docs/arm.md §2.1, §1.2).
func TestAzCLILogin(t *testing.T) {
	py := azcliPython(t)
	az := filepath.Join(filepath.Dir(py), "az")
	e := newEnv(t)
	// ARM needs the login URL, the login service ARM's URL: ARM's handler
	// is set once both servers listen.
	var armHandler atomic.Pointer[arm.Handler]
	mgmt := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := armHandler.Load()
		if h == nil {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	}))
	mgmt.StartTLS()
	t.Cleanup(mgmt.Close)
	mgmtURL := mgmt.URL + "/"
	// The audience az asks for is the one ARM advertises.
	svc, err := New(t.Context(), Config{Store: e.store, TenantID: e.svc.TenantID(), Resources: append(testResources, mgmtURL)})
	if err != nil {
		t.Fatal(err)
	}
	login := httptest.NewTLSServer(svc.Handler())
	t.Cleanup(login.Close)

	authorize := func(r *http.Request) error {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			return slipway.Errorf(slipway.EUNAUTHORIZED, "Authentication failed. The 'Authorization' header is missing.")
		}
		if _, err := svc.Verify(r.Context(), tok, []string{mgmtURL}); err != nil {
			return slipway.Errorf(slipway.EUNAUTHORIZED, "Authentication failed: the access token is not valid.")
		}
		return nil
	}
	armHandler.Store(arm.New(arm.Config{Store: e.store, Authorize: authorize, AuthorityURL: login.URL, ManagementURL: mgmtURL}))

	_, creds := e.servicePrincipal(t)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: login.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, az, args...)
		cmd.Env = append(os.Environ(), "AZURE_CONFIG_DIR="+filepath.Join(dir, "azure"), "REQUESTS_CA_BUNDLE="+ca,
			"SSL_CERT_FILE="+ca, "AZURE_CORE_COLLECT_TELEMETRY=false", "AZURE_CORE_INSTANCE_DISCOVERY=false",
			"AZURE_CORE_ONLY_SHOW_ERRORS=true", "HOME="+dir)
		out, err := cmd.Output()
		if ee, ok := err.(*exec.ExitError); ok {
			t.Logf("az %s %s: %s", args[0], args[1], ee.Stderr) // the other arguments may hold a secret
		}
		return out, err
	}
	if _, err := run("cloud", "register", "-n", "Slipway", "--endpoint-resource-manager", mgmtURL); err != nil {
		t.Fatalf("az cloud register: %v", err)
	}
	if _, err := run("cloud", "set", "-n", "Slipway"); err != nil {
		t.Fatalf("az cloud set: %v", err)
	}
	out, err := run("login", "--service-principal", "-u", creds.AppID, "-p", creds.Password, "--tenant", creds.Tenant, "-o", "json")
	if err != nil {
		t.Fatalf("az login --service-principal: %v", err)
	}
	var subs []map[string]any
	if err := json.Unmarshal(out, &subs); err != nil || len(subs) != 1 {
		t.Fatalf("az login printed %s (%v)", out, err)
	}
	sub, tenant, _ := e.store.Identity(t.Context())
	if subs[0]["id"] != sub || subs[0]["tenantId"] != tenant {
		t.Errorf("az login: %v, want subscription %s in tenant %s", subs[0], sub, tenant)
	}
	// Forget the cached token, which MSAL would otherwise reuse without
	// asking the token service.
	if _, err := run("account", "clear"); err != nil {
		t.Fatalf("az account clear: %v", err)
	}
	if _, err := run("login", "--service-principal", "-u", creds.AppID, "-p", wrongSecret(creds.Password), "--tenant", creds.Tenant); err == nil {
		t.Error("az login with a wrong secret succeeded")
	}
}
