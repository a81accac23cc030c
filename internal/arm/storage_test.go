package arm

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/blob"
	"github.com/slipway-dev/slipway/internal/pythontest"
)

const (
	stgPath     = "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts"
	accountPath = stgPath + "/media1"
	accountBody = `{"location":"westeurope","sku":{"name":"Standard_LRS"},"kind":"StorageV2","properties":{"minimumTlsVersion":"TLS1_2","allowBlobPublicAccess":true}}`
)

// newStorageEnv is newEnv whose handler reports the blob endpoint the way
// the server does for its blob port, with a blob service behind the
// container routes.
func newStorageEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	blobs, err := blob.Open(t.Context(), blob.Config{Dir: t.TempDir(), Accounts: noAccounts{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	h := New(Config{
		Containers: blobs,
		Store:      e.store, Controller: e.ctl, Domain: "localhost", HostSuffix: ":8080", Scheme: "http",
		BlobEndpoint: func(account string) string { return "http://127.0.0.1:10000/" + account + "/" },
		Authorize: func(r *http.Request) error {
			if r.Header.Get("Authorization") != "Bearer "+token {
				return slipway.Errorf(slipway.EUNAUTHORIZED, "The access token is missing or invalid.")
			}
			return nil
		},
	})
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

// TestStorageGolden pins the Microsoft.Storage wire shapes: the
// StorageAccount resource, listKeys, checkNameAvailability and the errors.
func TestStorageGolden(t *testing.T) {
	e := newStorageEnv(t)
	e.must(201, "PUT", rgPath, `{"location":"westeurope"}`)
	put := e.must(200, "PUT", accountPath+"?api-version=2023-05-01", accountBody)
	k1, k2, err := e.store.StorageAccountKeys(t.Context(), "rg", "media1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file string
		resp response
	}{
		{"storage_account_put.json", put},
		{"storage_account.json", e.must(200, "GET", accountPath, "")},
		{"storage_list_keys.json", e.must(200, "POST", accountPath+"/listKeys?api-version=2023-05-01&$expand=kerb", "")},
		{"storage_name_taken.json", e.must(200, "POST", "/subscriptions/{s}/providers/Microsoft.Storage/checkNameAvailability", `{"name":"media1","type":"Microsoft.Storage/storageAccounts"}`)},
		{"storage_name_invalid.json", e.must(200, "POST", "/subscriptions/{s}/providers/Microsoft.Storage/checkNameAvailability", `{"name":"Bad-Name","type":"Microsoft.Storage/storageAccounts"}`)},
		{"storage_name_free.json", e.must(200, "POST", "/subscriptions/{s}/providers/Microsoft.Storage/checkNameAvailability", `{"name":"fresh1","type":"Microsoft.Storage/storageAccounts"}`)},
		{"error_storage_not_found.json", e.must(404, "GET", stgPath+"/nope", "")},
	} {
		t.Run(tc.file, func(t *testing.T) {
			golden(t, tc.file, e.normalize(tc.resp.body, k1, k2))
		})
	}
}

// TestStorageRouteStatusCodes walks every storage route and its errors.
func TestStorageRouteStatusCodes(t *testing.T) {
	e := newStorageEnv(t)
	e.must(201, "PUT", rgPath, `{"location":"westeurope"}`)
	e.must(201, "PUT", "/subscriptions/{s}/resourcegroups/rg2", `{"location":"westeurope"}`)
	steps := []struct {
		name, method, path, body string
		want                     int
		code                     string
	}{
		{"create", "PUT", accountPath, accountBody, 200, ""},
		{"create again is an update", "PUT", accountPath, `{"location":"westeurope","sku":{"name":"standard_grs"},"kind":"StorageV2","tags":{"a":"b"}}`, 200, ""},
		{"name taken in another group", "PUT", "/subscriptions/{s}/resourceGroups/rg2/providers/Microsoft.Storage/storageAccounts/media1", accountBody, 409, "StorageAccountAlreadyTaken"},
		{"invalid name", "PUT", stgPath + "/Bad-Name", accountBody, 400, "AccountNameInvalid"},
		{"bad sku", "PUT", stgPath + "/other1", `{"location":"westeurope","sku":{"name":"Gold"},"kind":"StorageV2"}`, 400, "InvalidValuesForRequestParameters"},
		{"no location", "PUT", stgPath + "/other1", `{"sku":{"name":"Standard_LRS"},"kind":"StorageV2"}`, 400, "LocationRequired"},
		{"group missing", "PUT", "/subscriptions/{s}/resourceGroups/nope/providers/Microsoft.Storage/storageAccounts/other1", accountBody, 404, "ResourceGroupNotFound"},
		{"get", "GET", accountPath, "", 200, ""},
		{"get case-insensitive", "GET", strings.ToUpper(stgPath[:14]) + stgPath[14:] + "/MEDIA1", "", 200, ""},
		{"get in wrong group", "GET", "/subscriptions/{s}/resourceGroups/rg2/providers/Microsoft.Storage/storageAccounts/media1", "", 404, "ResourceNotFound"},
		{"patch tags", "PATCH", accountPath, `{"tags":{"env":"dev"}}`, 200, ""},
		{"list rg", "GET", stgPath, "", 200, ""},
		{"list rg missing", "GET", "/subscriptions/{s}/resourceGroups/nope/providers/Microsoft.Storage/storageAccounts", "", 404, "ResourceGroupNotFound"},
		{"list sub", "GET", "/subscriptions/{s}/providers/Microsoft.Storage/storageAccounts", "", 200, ""},
		{"listKeys", "POST", accountPath + "/listKeys", "", 200, ""},
		{"listKeys missing", "POST", stgPath + "/nope1/listKeys", "", 404, "ResourceNotFound"},
		{"regenerate key1", "POST", accountPath + "/regenerateKey", `{"keyName":"key1"}`, 200, ""},
		{"regenerate bad key", "POST", accountPath + "/regenerateKey", `{"keyName":"key9"}`, 400, "BadRequest"},
		{"check name", "POST", "/subscriptions/{s}/providers/Microsoft.Storage/checkNameAvailability", `{"name":"media1","type":"Microsoft.Storage/storageAccounts"}`, 200, ""},
		{"check name wrong type", "POST", "/subscriptions/{s}/providers/Microsoft.Storage/checkNameAvailability", `{"name":"media1","type":"Microsoft.Web/sites"}`, 400, "InvalidResourceType"},
		{"delete", "DELETE", accountPath, "", 200, ""},
		{"delete again", "DELETE", accountPath, "", 204, ""},
		{"delete in missing group", "DELETE", "/subscriptions/{s}/resourceGroups/nope/providers/Microsoft.Storage/storageAccounts/media1", "", 404, "ResourceGroupNotFound"},
	}
	for _, st := range steps {
		r := e.do(st.method, st.path, st.body)
		if r.status != st.want {
			t.Fatalf("%s: %s %s = %d, want %d\n%s", st.name, st.method, st.path, r.status, st.want, r.body)
		}
		if st.code != "" {
			got, _ := r.json(t)["error"].(map[string]any)["code"].(string)
			if got != st.code {
				t.Errorf("%s: error code = %q, want %q", st.name, got, st.code)
			}
		}
	}
	if diff := cmp.Diff([]string{"StorageAccountDeleted rg/media1"}, e.ctl.Calls()); diff != "" {
		t.Errorf("controller calls (-want +got):\n%s", diff)
	}
}

func TestStorageAccountShape(t *testing.T) {
	e := newStorageEnv(t)
	e.must(201, "PUT", rgPath, `{"location":"West Europe"}`)
	m := e.must(200, "PUT", accountPath, `{"location":"West Europe","sku":{"name":"standard_ragrs"},"kind":"storagev2","tags":{"team":"web"}}`).json(t)
	props := m["properties"].(map[string]any)
	got := map[string]any{
		"name": m["name"], "location": m["location"], "kind": m["kind"], "sku": m["sku"], "tags": m["tags"],
		"state": props["provisioningState"], "endpoints": props["primaryEndpoints"],
	}
	want := map[string]any{
		"name": "media1", "location": "westeurope", "kind": "StorageV2",
		"sku": map[string]any{"name": "Standard_RAGRS", "tier": "Standard"}, "tags": map[string]any{"team": "web"},
		"state": "Succeeded", "endpoints": map[string]any{"blob": "http://127.0.0.1:10000/media1/", "web": "https://media1.web.localhost:8080/"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("account (-want +got):\n%s", diff)
	}

	// A BlobStorage account cannot host a static website: Azure shows it
	// no web endpoint.
	bs := e.must(200, "PUT", stgPath+"/media3", `{"location":"westeurope","sku":{"name":"Standard_LRS"},"kind":"BlobStorage"}`).json(t)
	if eps := bs["properties"].(map[string]any)["primaryEndpoints"].(map[string]any); eps["web"] != nil || eps["blob"] == nil {
		t.Errorf("BlobStorage account's endpoints = %v, want blob only", eps)
	}

	keys := e.must(200, "POST", accountPath+"/listKeys", "").json(t)["keys"].([]any)
	if len(keys) != 2 {
		t.Fatalf("keys = %v", keys)
	}
	k1 := keys[0].(map[string]any)
	raw, err := base64.StdEncoding.DecodeString(k1["value"].(string))
	if k1["keyName"] != "key1" || k1["permissions"] != "FULL" || err != nil || len(raw) != 64 {
		t.Errorf("key1 = %v (decoded %d bytes, %v)", k1, len(raw), err)
	}
	regen := e.must(200, "POST", accountPath+"/regenerateKey", `{"keyName":"key2"}`).json(t)["keys"].([]any)
	if regen[0].(map[string]any)["value"] != k1["value"] || regen[1].(map[string]any)["value"] == keys[1].(map[string]any)["value"] {
		t.Errorf("regenerateKey key2 must keep key1 and change key2: before %v after %v", keys, regen)
	}
}

func TestDeleteResourceGroupCleansUpStorageAccounts(t *testing.T) {
	e := newStorageEnv(t)
	e.seed()
	e.must(200, "PUT", accountPath, accountBody)
	e.must(200, "PUT", stgPath+"/media2", accountBody)
	e.must(200, "DELETE", rgPath, "")
	want := []string{"SiteDeleted rg/app", "StorageAccountDeleted rg/media1", "StorageAccountDeleted rg/media2"}
	if diff := cmp.Diff(want, e.ctl.Calls()); diff != "" {
		t.Errorf("controller calls (-want +got):\n%s", diff)
	}
	if _, err := e.store.FindStorageAccount(t.Context(), "media1"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("account survived its group: %v", err)
	}
}

// TestAzureSDKForPythonStorage drives the Microsoft.Storage routes with the
// real azure-mgmt-storage SDK (what `az storage account` is built on):
// create (a long-running operation), get, list by group and subscription,
// listKeys, regenerateKey, checkNameAvailability and delete.
//
// Needs: pip install -r tests/requirements.txt. Skipped when missing
// locally; fatal under CI.
func TestAzureSDKForPythonStorage(t *testing.T) {
	python := pythontest.Python(t, "azure.mgmt.storage", "azure.mgmt.resource")
	e := newStorageEnv(t)
	pythontest.Run(t, python, "testdata/sdk_storage_client.py", e.srv.URL, e.sub, token)
	if diff := cmp.Diff([]string{"StorageAccountDeleted sdk-rg/sdkstore1"}, e.ctl.Calls()); diff != "" {
		t.Errorf("controller calls (-want +got):\n%s", diff)
	}
	if _, err := e.store.FindStorageAccount(t.Context(), "sdkstore1"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("the SDK's delete left the account: %v", err)
	}
}
