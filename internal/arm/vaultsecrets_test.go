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

// TestVaultSecrets_UnsetPropertiesLeftOut: a secret without a content type,
// nbf or exp comes back without those keys, as in Azure's Secrets - Get
// (https://learn.microsoft.com/rest/api/keyvault/keyvault/secrets/get), so
// that the SDKs read None rather than an empty content type.
func TestVaultSecrets_UnsetPropertiesLeftOut(t *testing.T) {
	e := newEnv(t)
	e.must(201, "PUT", rgPath, `{"location":"westeurope"}`)
	e.must(200, "PUT", vaultPath, vaultBodyAz(e.tenant))
	const p = kvPath + "/kv1/secrets/plain?api-version=2024-11-01"
	for _, r := range []response{
		e.must(201, "PUT", p, `{"properties":{"value":"v"}}`),
		e.must(200, "GET", p, ""),
	} {
		props := r.json(t)["properties"].(map[string]any)
		attrs := props["attributes"].(map[string]any)
		_, ct := props["contentType"]
		_, nbf := attrs["nbf"]
		_, exp := attrs["exp"]
		if ct || nbf || exp || attrs["enabled"] != true {
			t.Errorf("properties = %v", props)
		}
	}
	props := e.must(200, "PUT", p, `{"properties":{"value":"v","contentType":"text/plain","attributes":{"exp":4102444800}}}`).json(t)["properties"].(map[string]any)
	if props["contentType"] != "text/plain" || props["attributes"].(map[string]any)["exp"] != float64(4102444800) {
		t.Errorf("set properties = %v", props)
	}
}
