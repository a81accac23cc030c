package arm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/slipway-dev/slipway/internal/blob"
)

// TestStorageContainers_List: `az storage container-rm list` GETs the
// blob service's container collection
// (https://learn.microsoft.com/rest/api/storagerp/blob-containers/list) and
// follows nextLink; each page is the account's containers in name order,
// never another account's.
func TestStorageContainers_List(t *testing.T) {
	e, _ := newContainersEnv(t)
	for _, a := range []string{"media1", "other1"} {
		e.must(http.StatusOK, "PUT", stgPath+"/"+a, accountBody)
	}
	want := []string{"alpha", "bravo", "charlie"}
	for _, n := range []string{"charlie", "alpha", "bravo"} {
		e.must(http.StatusCreated, "PUT", accountPath+"/blobServices/default/containers/"+n, `{"properties":{"publicAccess":"Blob"}}`)
	}
	e.must(http.StatusCreated, "PUT", stgPath+"/other1/blobServices/default/containers/theirs", `{"properties":{}}`)

	var got []string
	next := accountPath + "/blobServices/default/containers?api-version=2025-08-01&$maxpagesize=2"
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("nextLink does not end")
		}
		var page struct {
			Value []struct {
				ID, Name, Type string
				Properties     struct{ PublicAccess string }
			}
			NextLink string
		}
		if err := json.Unmarshal(e.must(http.StatusOK, "GET", next, "").body, &page); err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Value {
			if c.Type != "Microsoft.Storage/storageAccounts/blobServices/containers" || c.Properties.PublicAccess != "Blob" ||
				c.ID != fmt.Sprintf("/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/media1/blobServices/default/containers/%s", e.sub, c.Name) {
				t.Errorf("item: %+v", c)
			}
			got = append(got, c.Name)
		}
		next = page.NextLink
		if next != "" {
			next = next[len(e.srv.URL):]
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("containers: %v, want %v", got, want)
	}
	e.must(http.StatusNotFound, "GET", stgPath+"/none1/blobServices/default/containers", "")
}

// newContainersEnv is newEnv with a blob service behind the container
// routes, and the group rg.
func newContainersEnv(t *testing.T) (*env, *blob.Service) {
	t.Helper()
	blobs, err := blob.Open(t.Context(), blob.Config{Dir: t.TempDir(), Accounts: noAccounts{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	e := newEnvWith(t, func(c *Config) { c.Containers = blobs })
	e.must(http.StatusCreated, "PUT", rgPath, `{"location":"westeurope"}`)
	return e, blobs
}

// TestStorageContainers_UpdateDelete: blob_containers.update (PATCH)
// changes what its body names and keeps the rest, and creates nothing
// (https://learn.microsoft.com/rest/api/storagerp/blob-containers/update);
// blob_containers.delete answers 200, then 204 once there is none
// (https://learn.microsoft.com/rest/api/storagerp/blob-containers/delete).
func TestStorageContainers_UpdateDelete(t *testing.T) {
	e, _ := newContainersEnv(t)
	e.must(http.StatusOK, "PUT", accountPath, accountBody)
	c := accountPath + "/blobServices/default/containers/media"
	e.must(http.StatusCreated, "PUT", c, `{"properties":{"publicAccess":"Blob","metadata":{"app":"a"}}}`)
	props := func(r response) map[string]any { return r.json(t)["properties"].(map[string]any) }
	p := props(e.must(http.StatusOK, "PATCH", c, `{"properties":{"metadata":{"app":"b"}}}`))
	if p["publicAccess"] != "Blob" || p["metadata"].(map[string]any)["app"] != "b" {
		t.Errorf("PATCH metadata = %v", p)
	}
	p = props(e.must(http.StatusOK, "PATCH", c, `{"properties":{"publicAccess":"None"}}`))
	if p["publicAccess"] != "None" || p["metadata"].(map[string]any)["app"] != "b" {
		t.Errorf("PATCH publicAccess = %v", p)
	}
	e.must(http.StatusBadRequest, "PATCH", c, `{"properties":{"publicAccess":"Everyone"}}`)
	e.must(http.StatusNotFound, "PATCH", accountPath+"/blobServices/default/containers/nope", `{"properties":{}}`)
	e.must(http.StatusNotFound, "GET", accountPath+"/blobServices/default/containers/nope", "")

	e.must(http.StatusOK, "DELETE", c, "")
	e.must(http.StatusNotFound, "GET", c, "")
	e.must(http.StatusNoContent, "DELETE", c, "")
	e.must(http.StatusNotFound, "DELETE", stgPath+"/nope1/blobServices/default/containers/media", "")
}

// TestStorageContainers_NoMetadataLeftOut: a container without metadata has
// no metadata property, as on Azure (`az storage container-rm create`
// shows it as null; azure-cli's test_storage_container_using_rm_main_scenario);
// Slipway answered {}.
func TestStorageContainers_NoMetadataLeftOut(t *testing.T) {
	e, _ := newContainersEnv(t)
	e.must(http.StatusOK, "PUT", accountPath, accountBody)
	c := accountPath + "/blobServices/default/containers/plain"
	props := e.must(http.StatusCreated, "PUT", c, `{"properties":{"publicAccess":"None"}}`).json(t)["properties"].(map[string]any)
	if md, ok := props["metadata"]; ok {
		t.Errorf("PUT of a container without metadata: metadata = %v, want it left out", md)
	}
	props = e.must(http.StatusOK, "GET", c, "").json(t)["properties"].(map[string]any)
	if md, ok := props["metadata"]; ok {
		t.Errorf("GET of a container without metadata: metadata = %v, want it left out", md)
	}
}
