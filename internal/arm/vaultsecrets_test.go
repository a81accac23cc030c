package arm

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestVaultSecrets_List follows azure-mgmt-keyvault's secrets.list: GET
// .../vaults/{vault}/secrets with $top, then each nextLink to the end
// (https://learn.microsoft.com/rest/api/keyvault/keyvault/secrets/list).
// Values never appear; deleted secrets are left out.
func TestVaultSecrets_List(t *testing.T) {
	e := newEnv(t)
	e.must(201, "PUT", rgPath, `{"location":"westeurope"}`)
	e.must(200, "PUT", vaultPath, vaultBodyAz(e.tenant))
	for _, n := range []string{"c", "a", "gone", "b"} {
		e.must(201, "PUT", kvPath+"/kv1/secrets/"+n+"?api-version=2024-11-01", `{"properties":{"value":"value-of-`+n+`"}}`)
	}
	if _, err := e.store.DeleteSecret(t.Context(), "kv1", "gone"); err != nil {
		t.Fatal(err)
	}
	var names []string
	next := kvPath + "/kv1/secrets?api-version=2024-11-01&$top=2"
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatalf("nextLink does not end: %s", next)
		}
		r := e.must(200, "GET", next, "")
		if strings.Contains(string(r.body), "value-of-") {
			t.Fatalf("a secret value in the list: %s", r.body)
		}
		page := r.json(t)
		for _, v := range page["value"].([]any) {
			s := v.(map[string]any)
			if s["type"] != "Microsoft.KeyVault/vaults/secrets" || s["id"] != e.path(kvPath+"/kv1/secrets/")+s["name"].(string) {
				t.Errorf("secret = %v", s)
			}
			names = append(names, s["name"].(string))
		}
		next, _ = page["nextLink"].(string)
		next = strings.TrimPrefix(next, e.srv.URL)
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, names); diff != "" {
		t.Errorf("listed (-want +got):\n%s", diff)
	}
	e.must(404, "GET", kvPath+"/nope/secrets?api-version=2024-11-01", "")
	e.must(400, "GET", kvPath+"/kv1/secrets?api-version=2024-11-01&$top=0", "")
}
