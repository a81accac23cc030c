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

// TestRoleCommands runs the role commands against a small stand-in for
// ARM's Microsoft.Authorization API (internal/arm tests the real one) and
// checks the requests az's role module would send.
func TestRoleCommands(t *testing.T) {
	const sub = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
	const reader = "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
	var mu sync.Mutex
	var reqs []string
	var stored map[string]any
	const oid = "7f2c6b4e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"
	const appID = "a11ce000-1d2a-4c3b-9e8f-0a1b2c3d4e5f"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		reqs = append(reqs, r.Method+" "+r.URL.Path+" "+r.URL.Query().Get("$filter"))
		w.Header().Set("Content-Type", "application/json")
		switch {
		// The directory, as internal/graph answers (its tests check it).
		case r.URL.Path == "/metadata/endpoints":
			json.NewEncoder(w).Encode(map[string]any{"microsoftGraphResourceId": "http://" + r.Host + "/"})
		case r.URL.Path == "/v1.0/servicePrincipals":
			v := []any{}
			if strings.Contains(r.URL.Query().Get("$filter"), appID) {
				v = append(v, map[string]any{"id": oid, "appId": appID, "servicePrincipalNames": []string{appID}})
			}
			json.NewEncoder(w).Encode(map[string]any{"value": v})
		case r.URL.Path == "/v1.0/users":
			json.NewEncoder(w).Encode(map[string]any{"value": []any{}})
		case r.URL.Path == "/v1.0/directoryObjects/getByIds":
			v := []any{}
			if strings.Contains(string(b), oid) {
				v = append(v, map[string]any{"@odata.type": "#microsoft.graph.servicePrincipal", "id": oid, "appId": appID, "servicePrincipalNames": []string{appID}})
			}
			json.NewEncoder(w).Encode(map[string]any{"value": v})
		case strings.HasSuffix(r.URL.Path, "/roleDefinitions"):
			json.NewEncoder(w).Encode(map[string]any{"value": []any{map[string]any{"id": reader, "name": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
				"type": "Microsoft.Authorization/roleDefinitions", "properties": map[string]any{"roleName": "Reader", "type": "BuiltInRole"}}}})
		case r.Method == "PUT":
			var in struct {
				Properties map[string]any `json:"properties"`
			}
			json.Unmarshal(b, &in)
			i := strings.Index(r.URL.Path, "/providers/Microsoft.Authorization")
			in.Properties["scope"] = r.URL.Path[:i]
			stored = map[string]any{"id": r.URL.Path, "name": r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:], "type": "Microsoft.Authorization/roleAssignments", "properties": in.Properties}
			w.WriteHeader(201)
			json.NewEncoder(w).Encode(stored)
		case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/roleAssignments"):
			v := []any{}
			if stored != nil {
				v = append(v, stored)
			}
			json.NewEncoder(w).Encode(map[string]any{"value": v})
		case r.Method == "DELETE":
			json.NewEncoder(w).Encode(stored)
			stored = nil
		default:
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(srv.Close)
	env := []string{"SLIPWAY_URL=" + srv.URL, "SLIPWAY_TOKEN=t", "SLIPWAY_SUBSCRIPTION=" + sub}
	run := func(args ...string) (string, string, error) {
		var out, errb bytes.Buffer
		err := Run(t.Context(), args, env, strings.NewReader(""), &out, &errb)
		return out.String(), errb.String(), err
	}
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		// Discovery of the directory (once per command) is not counted.
		var r []string
		for _, x := range reqs {
			if x != "GET /metadata/endpoints " {
				r = append(r, x)
			}
		}
		reqs = nil
		return r
	}
	rg := "/subscriptions/" + sub + "/resourceGroups/rg1"

	out, stderr, err := run("role", "assignment", "create", "--role", "Reader", "--scope", rg,
		"--assignee-object-id", oid, "--assignee-principal-type", "ServicePrincipal", "-n", "9b1f4a1e-6c1d-4f7a-8d3e-2a4b6c8d0e1f")
	if err != nil {
		t.Fatalf("create: %v\n%s", err, stderr)
	}
	want := []string{
		"GET " + rg + "/providers/Microsoft.Authorization/roleDefinitions roleName eq 'Reader'",
		"PUT " + rg + "/providers/Microsoft.Authorization/roleAssignments/9b1f4a1e-6c1d-4f7a-8d3e-2a4b6c8d0e1f ",
	}
	if got := take(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("create requests:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var created map[string]any
	if err := json.Unmarshal([]byte(out), &created); err != nil || created["roleDefinitionId"] != reader ||
		created["principalId"] != oid || created["principalType"] != "ServicePrincipal" || created["scope"] != rg {
		t.Fatalf("create printed %s", out)
	}

	out, _, err = run("role", "assignment", "list", "-g", "rg1", "-o", "json")
	if err != nil || !strings.Contains(out, oid) || !strings.Contains(out, `"roleDefinitionName": "Reader"`) ||
		!strings.Contains(out, `"principalName": "`+appID+`"`) {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if got := take(); len(got) != 3 || got[0] != "GET "+rg+"/providers/Microsoft.Authorization/roleAssignments atScope()" ||
		got[2] != "POST /v1.0/directoryObjects/getByIds " {
		t.Fatalf("list requests: %q", got)
	}

	// An object id is looked up as a name first, then by id (az's order).
	if _, stderr, err := run("role", "assignment", "delete", "--assignee", oid, "-g", "rg1"); err != nil {
		t.Fatalf("delete: %v\n%s", err, stderr)
	}
	if got := take(); len(got) != 4 || got[0] != "GET /v1.0/servicePrincipals servicePrincipalNames/any(c:c eq '"+oid+"')" ||
		got[1] != "POST /v1.0/directoryObjects/getByIds " ||
		!strings.HasPrefix(got[3], "DELETE "+rg+"/providers/Microsoft.Authorization/roleAssignments/9b1f4a1e") {
		t.Fatalf("delete requests: %q", got)
	}

	// An app id resolves to its service principal, typed ServicePrincipal.
	out, stderr, err = run("role", "assignment", "create", "--role", "Reader", "--scope", rg, "--assignee", appID, "-n", "9b1f4a1e-6c1d-4f7a-8d3e-2a4b6c8d0e1f")
	if err != nil || !strings.Contains(out, `"principalId": "`+oid+`"`) || !strings.Contains(out, `"principalType": "ServicePrincipal"`) {
		t.Fatalf("create by app id: %v\n%s\n%s", err, out, stderr)
	}
	take()
	// A user name: Slipway's directory has no users.
	_, _, err = run("role", "assignment", "create", "--role", "Reader", "--scope", rg, "--assignee", "alice@example.com")
	if err == nil || !strings.Contains(err.Error(), "Cannot find user or service principal in graph database for 'alice@example.com'") {
		t.Fatalf("UPN assignee: %v", err)
	}
	if got := take(); len(got) != 2 || got[0] != "GET /v1.0/users userPrincipalName eq 'alice@example.com'" {
		t.Fatalf("UPN assignee requests: %q", got)
	}
	for _, args := range [][]string{
		{"role", "assignment", "create", "--role", "Reader", "--scope", rg},
		{"role", "assignment", "create", "--role", "Reader", "--scope", rg, "--assignee", oid, "--assignee-principal-type", "User"},
		{"role", "assignment", "delete"},
		{"role", "assignment", "list", "--all", "-g", "rg1"},
	} {
		if _, _, err := run(args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	if got := take(); len(got) != 0 {
		t.Fatalf("usage errors sent requests: %q", got)
	}
}
