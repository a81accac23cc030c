package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestWebappIdentityCommands checks the requests `webapp identity assign`
// and `remove` send against a stand-in for ARM that keeps one site's
// identity (internal/arm tests the real one): what the identity becomes,
// and the role assignment --role/--scope make for the new principal.
func TestWebappIdentityCommands(t *testing.T) {
	const sub = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
	const oid = "7f2c6b4e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"
	uai := "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"
	var mu sync.Mutex
	var identity map[string]any // the site's, as the stand-in stores it
	var patches, assignments []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		site := func() {
			m := map[string]any{"id": "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.Web/sites/app", "name": "app"}
			if identity != nil {
				m["identity"] = identity
			}
			json.NewEncoder(w).Encode(m)
		}
		switch {
		case strings.HasSuffix(r.URL.Path, "/sites/app") && r.Method == "GET":
			site()
		case strings.HasSuffix(r.URL.Path, "/sites/app") && r.Method == "PATCH":
			patches = append(patches, string(b))
			var in struct{ Identity map[string]any }
			json.Unmarshal(b, &in)
			typ, _ := in.Identity["type"].(string)
			identity = map[string]any{"type": typ}
			if strings.Contains(typ, "SystemAssigned") {
				identity["principalId"] = oid
			}
			if strings.Contains(typ, "UserAssigned") {
				identity["userAssignedIdentities"] = map[string]any{uai: map[string]any{"clientId": "c", "principalId": "p"}}
			}
			site()
		case strings.HasSuffix(r.URL.Path, "/roleDefinitions"):
			json.NewEncoder(w).Encode(map[string]any{"value": []any{map[string]any{"id": "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/r1",
				"properties": map[string]any{"roleName": "Key Vault Secrets User"}}}})
		case r.Method == "PUT" && strings.Contains(r.URL.Path, "/roleAssignments/"):
			assignments = append(assignments, r.URL.Path[:strings.Index(r.URL.Path, "/providers/Microsoft.Authorization")]+" "+string(b))
			w.WriteHeader(201)
			w.Write([]byte(`{}`))
		default:
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(srv.Close)
	env := []string{"SLIPWAY_URL=" + srv.URL, "SLIPWAY_TOKEN=t", "SLIPWAY_SUBSCRIPTION=" + sub}
	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := Run(t.Context(), args, env, strings.NewReader(""), &out, &errb); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
		return out.String()
	}
	lastPatch := func() string {
		mu.Lock()
		defer mu.Unlock()
		return patches[len(patches)-1]
	}
	vault := "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kv1"

	// A bare name is an identity in the app's group; --scope gives the
	// system-assigned identity the role there.
	out := run("webapp", "identity", "assign", "-g", "rg1", "-n", "app", "--identities", "[system]", "id1", "--role", "Key Vault Secrets User", "--scope", vault)
	if got := lastPatch(); !strings.Contains(got, `"type":"SystemAssigned, UserAssigned"`) || !strings.Contains(got, `"`+uai+`":{}`) {
		t.Errorf("assign sent %s", got)
	}
	if len(assignments) != 1 || !strings.HasPrefix(assignments[0], vault+" ") || !strings.Contains(assignments[0], `"principalId":"`+oid+`"`) ||
		!strings.Contains(assignments[0], "roleDefinitions/r1") {
		t.Errorf("role assignments: %v", assignments)
	}
	if !strings.Contains(out, oid) {
		t.Errorf("assign printed %s", out)
	}
	// remove --identities <id>: the user-assigned one goes, the system-assigned one stays.
	run("webapp", "identity", "remove", "-g", "rg1", "-n", "app", "--identities", uai)
	if got := lastPatch(); got != `{"identity":{"type":"SystemAssigned"}}` {
		t.Errorf("remove of the user-assigned identity sent %s", got)
	}
	// remove with nothing: the system-assigned one.
	run("webapp", "identity", "remove", "-g", "rg1", "-n", "app")
	if got := lastPatch(); got != `{"identity":{"type":"None"}}` {
		t.Errorf("remove of the system-assigned identity sent %s", got)
	}
	// --scope without a system-assigned identity is refused before any change.
	n := len(patches)
	var errb bytes.Buffer
	if err := Run(t.Context(), []string{"webapp", "identity", "assign", "-g", "rg1", "-n", "app", "--identities", uai, "--scope", vault}, env, strings.NewReader(""), io.Discard, &errb); err == nil || len(patches) != n {
		t.Errorf("--scope for a user-assigned identity only: %v, %d patches", err, len(patches)-n)
	}
}
