package cli

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/graph"
	"github.com/slipway-dev/slipway/internal/identity"
	"github.com/slipway-dev/slipway/internal/store"
)

// TestADCommands runs the ad commands against the real directory
// (internal/graph over a real store and token service) behind HTTPS, with
// a small stand-in for ARM's role endpoints, as `slipway` is used on the
// server's machine (server.json: URL, admin token, platform root).
func TestADCommands(t *testing.T) {
	st, err := store.Open(t.Context(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sub, tenant, err := st.Identity(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var puts []map[string]any
	var dir http.Handler
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1.0/") {
			dir.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/metadata/endpoints":
			json.NewEncoder(w).Encode(map[string]any{"microsoftGraphResourceId": "https://" + r.Host + "/"})
		case r.URL.Path == "/subscriptions/"+sub:
			json.NewEncoder(w).Encode(map[string]any{"subscriptionId": sub, "tenantId": tenant})
		case strings.HasSuffix(r.URL.Path, "/roleDefinitions"):
			json.NewEncoder(w).Encode(map[string]any{"value": []any{map[string]any{
				"id": "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "properties": map[string]any{"roleName": "Owner"}}}})
		case r.Method == "PUT" && strings.Contains(r.URL.Path, "/roleAssignments/"):
			var in map[string]any
			json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in)
			mu.Lock()
			puts = append(puts, in)
			mu.Unlock()
			w.WriteHeader(201)
			json.NewEncoder(w).Encode(in)
		default:
			w.WriteHeader(404)
			io.WriteString(w, `{"error":{"code":"NotFound","message":"not in this test"}}`)
		}
	}))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	svc, err := identity.New(t.Context(), identity.Config{Store: st, TenantID: tenant, Resources: []string{srv.URL + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := graph.New(graph.Config{Store: st, Tokens: svc, TenantID: tenant, BaseURL: srv.URL, AdminToken: "admin-token"})
	if err != nil {
		t.Fatal(err)
	}
	dir = h

	data := t.TempDir()
	ca := filepath.Join(data, "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)
	sf, _ := json.Marshal(serverFile{URL: srv.URL, SubscriptionID: sub, TenantID: tenant, AdminToken: "admin-token", CAFile: ca})
	os.WriteFile(filepath.Join(data, "server.json"), sf, 0o600)
	env := []string{"SLIPWAY_DATA=" + data, "HOME=" + data}
	run := func(args ...string) (string, string, error) {
		var out, errb bytes.Buffer
		err := Run(t.Context(), args, env, strings.NewReader(""), &out, &errb)
		return out.String(), errb.String(), err
	}

	out, stderr, err := run("ad", "sp", "create-for-rbac", "-n", "deployer", "--role", "Owner", "--scopes", "/subscriptions/"+sub)
	if err != nil {
		t.Fatalf("create-for-rbac: %v\n%s", err, stderr)
	}
	var creds struct{ AppID, DisplayName, Password, Tenant string }
	if err := json.Unmarshal([]byte(out), &creds); err != nil || creds.DisplayName != "deployer" || creds.Tenant != tenant || len(creds.Password) != 40 {
		t.Fatalf("create-for-rbac printed %s (%v)", out, err)
	}
	if !strings.Contains(stderr, "WARNING: Creating 'Owner' role assignment under scope '/subscriptions/"+sub+"'") ||
		!strings.Contains(stderr, "WARNING: The output includes credentials that you must protect.") {
		t.Fatalf("stderr lacks az's warnings:\n%s", stderr)
	}
	sp, err := st.PrincipalByAppID(t.Context(), creds.AppID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CheckPrincipalSecret(t.Context(), creds.AppID, creds.Password, time.Now()); err != nil {
		t.Fatalf("the printed password does not sign in: %v", err)
	}
	mu.Lock()
	if len(puts) != 1 || puts[0]["properties"].(map[string]any)["principalId"] != sp.ObjectID {
		t.Fatalf("role assignment PUTs: %v", puts)
	}
	mu.Unlock()

	// Again with the same name: the application is patched and its
	// password replaced; the service principal stays.
	out2, stderr, err := run("ad", "sp", "create-for-rbac", "-n", "deployer", "--years", "2")
	if err != nil || !strings.Contains(stderr, "Found an existing application instance") {
		t.Fatalf("second create-for-rbac: %v\n%s", err, stderr)
	}
	var creds2 struct{ AppID, Password string }
	json.Unmarshal([]byte(out2), &creds2)
	if creds2.AppID != creds.AppID || creds2.Password == creds.Password {
		t.Fatalf("second create-for-rbac printed %s", out2)
	}
	if _, err := st.CheckPrincipalSecret(t.Context(), creds.AppID, creds.Password, time.Now()); err == nil {
		t.Fatalf("the first password still signs in")
	}

	out, _, err = run("ad", "sp", "show", "--id", creds.AppID, "--query", "id", "-o", "tsv")
	if err != nil || strings.TrimSpace(out) != sp.ObjectID {
		t.Fatalf("sp show: %v %q", err, out)
	}
	out, _, err = run("ad", "sp", "list", "--display-name", "dep", "--query", "[].appId", "-o", "tsv")
	if err != nil || strings.TrimSpace(out) != creds.AppID {
		t.Fatalf("sp list: %v %q", err, out)
	}
	out, stderr, err = run("ad", "sp", "credential", "reset", "--id", sp.ObjectID)
	var reset struct{ AppID, Password, Tenant string }
	if err != nil || json.Unmarshal([]byte(out), &reset) != nil || reset.AppID != creds.AppID || reset.Tenant != tenant {
		t.Fatalf("credential reset: %v %s %s", err, out, stderr)
	}
	if _, err := st.CheckPrincipalSecret(t.Context(), creds.AppID, reset.Password, time.Now()); err != nil {
		t.Fatalf("the reset password does not sign in: %v", err)
	}
	if _, _, err := run("ad", "sp", "credential", "reset", "--id", sp.ObjectID, "--years", "1", "--end-date", "2030-01-01"); err == nil {
		t.Fatal("--years with --end-date: no error")
	}
	if _, _, err := run("ad", "sp", "show", "--id", creds.AppID, "--subscription", sub); err == nil {
		t.Fatal("--subscription on a directory command: no error (az has none)")
	}
	if _, _, err := run("ad", "sp", "create-for-rbac", "--role", "Owner"); err == nil {
		t.Fatal("--role without --scopes: no error")
	}

	out, _, err = run("ad", "app", "show", "--id", creds.AppID, "--query", "displayName", "-o", "tsv")
	if err != nil || strings.TrimSpace(out) != "deployer" {
		t.Fatalf("app show: %v %q", err, out)
	}
	if _, stderr, err := run("ad", "sp", "delete", "--id", creds.AppID); err != nil {
		t.Fatalf("sp delete: %v %s", err, stderr)
	}
	if _, _, err := run("ad", "sp", "show", "--id", sp.ObjectID); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("sp show after delete: %v", err)
	}
	if _, stderr, err := run("ad", "app", "delete", "--id", creds.AppID); err != nil {
		t.Fatalf("app delete: %v %s", err, stderr)
	}
	out, _, err = run("ad", "app", "list", "--all")
	if err != nil || strings.TrimSpace(out) != "[]" {
		t.Fatalf("app list after delete: %v %q", err, out)
	}
}
