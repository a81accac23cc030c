package arm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-dev/slipway/internal/blob"
)

const blobSvcPath = accountPath + "/blobServices/default"

// TestBlobService_Shape: GET .../blobServices/default answers the
// BlobServiceProperties resource
// (https://learn.microsoft.com/rest/api/storagerp/blob-services/get-service-properties)
// from the data plane's stored properties: what Slipway does not have shows
// as off. The list answers the one service.
func TestBlobService_Shape(t *testing.T) {
	e, _ := newContainersEnv(t)
	e.must(http.StatusOK, "PUT", accountPath, accountBody)
	var got map[string]any
	if err := json.Unmarshal(e.must(http.StatusOK, "GET", blobSvcPath, "").body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"id":   fmt.Sprintf("/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/media1/blobServices/default", e.sub),
		"name": "default", "type": "Microsoft.Storage/storageAccounts/blobServices",
		"sku": map[string]any{"name": "Standard_LRS", "tier": "Standard"},
		"properties": map[string]any{
			"cors":                           map[string]any{"corsRules": []any{}},
			"deleteRetentionPolicy":          map[string]any{"allowPermanentDelete": false, "enabled": false},
			"containerDeleteRetentionPolicy": map[string]any{"enabled": false},
			"isVersioningEnabled":            false,
			"changeFeed":                     map[string]any{"enabled": false},
			"restorePolicy":                  map[string]any{"enabled": false},
			"automaticSnapshotPolicyEnabled": false,
			"staticWebsite":                  map[string]any{"enabled": false},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("GET (-want +got):\n%s", d)
	}
	var list struct{ Value []map[string]any }
	if err := json.Unmarshal(e.must(http.StatusOK, "GET", accountPath+"/blobServices", "").body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Value) != 1 || cmp.Diff(want, list.Value[0]) != "" {
		t.Errorf("list: %+v", list.Value)
	}
	e.must(http.StatusNotFound, "GET", stgPath+"/none1/blobServices/default", "")
	e.must(http.StatusNotFound, "GET", stgPath+"/none1/blobServices", "")
	e.must(http.StatusNotFound, "PUT", stgPath+"/none1/blobServices/default", `{"properties":{}}`)
	e.must(http.StatusNotFound, "GET", accountPath+"/blobServices/other", "")
	e.must(http.StatusNotFound, "PUT", accountPath+"/blobServices/other", `{"properties":{}}`)
	// The account is looked up in the path's group.
	e.must(http.StatusCreated, "PUT", "/subscriptions/{s}/resourcegroups/rg2", `{"location":"westeurope"}`)
	e.must(http.StatusNotFound, "GET", "/subscriptions/{s}/resourceGroups/rg2/providers/Microsoft.Storage/storageAccounts/media1/blobServices/default", "")
}

// TestBlobService_SameAsDataPlane: a PUT or PATCH through ARM sets the
// data plane's blob service properties (blob.Service.ServiceProperties is
// what Get Blob Service Properties answers from), what it leaves out
// stays, and what the data plane sets ARM shows.
func TestBlobService_SameAsDataPlane(t *testing.T) {
	e, blobs := newContainersEnv(t)
	e.must(http.StatusOK, "PUT", accountPath, accountBody)
	put := `{"properties":{"deleteRetentionPolicy":{"enabled":true,"days":7},"cors":{"corsRules":[
	  {"allowedOrigins":["https://shop.example"],"allowedMethods":["GET","PUT"],"maxAgeInSeconds":200,"exposedHeaders":["x-ms-meta-*"],"allowedHeaders":["x-ms-*"]}]},
	  "defaultServiceVersion":"2021-08-06"}}`
	body := string(e.must(http.StatusOK, "PUT", blobSvcPath, put).body)
	for _, s := range []string{`"deleteRetentionPolicy":{"allowPermanentDelete":false,"days":7,"enabled":true}`,
		`"corsRules":[{"allowedOrigins":["https://shop.example"],"allowedMethods":["GET","PUT"],"maxAgeInSeconds":200,"exposedHeaders":["x-ms-meta-*"],"allowedHeaders":["x-ms-*"]}]`,
		`"defaultServiceVersion":"2021-08-06"`} {
		if !strings.Contains(body, s) {
			t.Errorf("PUT answered %s, want %s", body, s)
		}
	}
	got, err := blobs.ServiceProperties(t.Context(), "media1")
	if err != nil {
		t.Fatal(err)
	}
	want := blob.ServiceProperties{
		Cors: []blob.CorsRule{{AllowedOrigins: []string{"https://shop.example"}, AllowedMethods: []string{"GET", "PUT"},
			AllowedHeaders: []string{"x-ms-*"}, ExposedHeaders: []string{"x-ms-meta-*"}, MaxAgeInSeconds: 200}},
		DeleteRetention:       blob.RetentionPolicy{Enabled: true, Days: 7},
		DefaultServiceVersion: "2021-08-06",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("data plane after the PUT (-want +got):\n%s", d)
	}

	// az's update: GET, change, PUT the whole object back.
	var cur map[string]any
	if err := json.Unmarshal(e.must(http.StatusOK, "GET", blobSvcPath, "").body, &cur); err != nil {
		t.Fatal(err)
	}
	cur["properties"].(map[string]any)["deleteRetentionPolicy"] = map[string]any{"enabled": true, "days": 30, "allowPermanentDelete": false}
	back, _ := json.Marshal(cur)
	e.must(http.StatusOK, "PUT", blobSvcPath, string(back))
	if got, _ := blobs.ServiceProperties(t.Context(), "media1"); got.DeleteRetention.Days != 30 || len(got.Cors) != 1 {
		t.Errorf("after az's round trip: %+v", got)
	}

	// PATCH names one thing; the rest stays.
	e.must(http.StatusOK, "PATCH", blobSvcPath, `{"properties":{"deleteRetentionPolicy":{"enabled":false}}}`)
	if got, _ := blobs.ServiceProperties(t.Context(), "media1"); got.DeleteRetention.Enabled || len(got.Cors) != 1 || got.DefaultServiceVersion != "2021-08-06" {
		t.Errorf("after PATCH: %+v", got)
	}

	// Data plane → ARM.
	if err := blobs.SetServiceProperties(t.Context(), "media1", blob.ServicePropertiesUpdate{
		DeleteRetention: &blob.RetentionPolicy{Enabled: true, Days: 3}, Cors: &[]blob.CorsRule{},
		StaticWebsite: &blob.StaticWebsite{Enabled: true, IndexDocument: "index.html"}}); err != nil {
		t.Fatal(err)
	}
	body = string(e.must(http.StatusOK, "GET", blobSvcPath, "").body)
	for _, s := range []string{`"days":3,"enabled":true`, `"corsRules":[]`, `"staticWebsite":{"enabled":true,"indexDocument":"index.html"}`} {
		if !strings.Contains(body, s) {
			t.Errorf("GET answered %s, want %s", body, s)
		}
	}
}

// TestBlobService_Refusals: what Slipway does not have is refused when a
// request turns it on (naming it), accepted when off; a policy or CORS
// rule the data plane would refuse is a 400; a refused request stores
// nothing.
func TestBlobService_Refusals(t *testing.T) {
	e, blobs := newContainersEnv(t)
	e.must(http.StatusOK, "PUT", accountPath, accountBody)
	e.must(http.StatusOK, "PUT", blobSvcPath, `{"properties":{"isVersioningEnabled":false,"changeFeed":{"enabled":false},"restorePolicy":{"enabled":false},
	  "containerDeleteRetentionPolicy":{"enabled":false},"lastAccessTimeTrackingPolicy":{"enable":false},"automaticSnapshotPolicyEnabled":false,
	  "deleteRetentionPolicy":{"enabled":false,"allowPermanentDelete":false}}}`)
	rule := `{"allowedOrigins":["*"],"allowedMethods":["GET"],"maxAgeInSeconds":0,"exposedHeaders":[],"allowedHeaders":[]}`
	for _, c := range []struct{ body, code, says string }{
		{`{"isVersioningEnabled":true}`, "FeatureNotSupported", "isVersioningEnabled: Slipway does not have blob versioning"},
		{`{"changeFeed":{"enabled":true}}`, "FeatureNotSupported", "changeFeed.enabled"},
		{`{"restorePolicy":{"enabled":true,"days":6}}`, "FeatureNotSupported", "restorePolicy.enabled"},
		{`{"containerDeleteRetentionPolicy":{"enabled":true,"days":7}}`, "FeatureNotSupported", "containerDeleteRetentionPolicy.enabled"},
		{`{"lastAccessTimeTrackingPolicy":{"enable":true}}`, "FeatureNotSupported", "lastAccessTimeTrackingPolicy.enable"},
		{`{"automaticSnapshotPolicyEnabled":true}`, "FeatureNotSupported", "automaticSnapshotPolicyEnabled"},
		{`{"deleteRetentionPolicy":{"enabled":true,"days":7,"allowPermanentDelete":true}}`, "FeatureNotSupported", "allowPermanentDelete"},
		{`{"deleteRetentionPolicy":{"enabled":true,"days":0}}`, "InvalidRequestPropertyValue", "1 to 365"},
		{`{"deleteRetentionPolicy":{"enabled":true,"days":366}}`, "InvalidRequestPropertyValue", "1 to 365"},
		{`{"deleteRetentionPolicy":{"enabled":true}}`, "InvalidRequestPropertyValue", "days is required"},
		{`{"cors":{"corsRules":[` + strings.Repeat(rule+",", 5) + rule + `]}}`, "InvalidRequestPropertyValue", "at most 5"},
		{`{"cors":{"corsRules":[{"allowedOrigins":[],"allowedMethods":["GET"]}]}}`, "InvalidRequestPropertyValue", "allowedOrigins"},
		{`{"defaultServiceVersion":"2018"}`, "InvalidRequestPropertyValue", "DefaultServiceVersion"},
		{`{"deleteRetentionPolicy":{"enabled":"yes"}}`, "InvalidRequestContent", "deserialized"},
	} {
		for _, m := range []string{"PUT", "PATCH"} {
			r := e.do(m, blobSvcPath, `{"properties":`+c.body+`}`)
			if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"code":"`+c.code+`"`) || !strings.Contains(string(r.body), c.says) {
				t.Errorf("%s %s: %d %s, want 400 %s saying %q", m, c.body, r.status, r.body, c.code, c.says)
			}
		}
	}
	if got, _ := blobs.ServiceProperties(t.Context(), "media1"); got.DeleteRetention.Enabled || len(got.Cors) != 0 {
		t.Errorf("a refused request was stored: %+v", got)
	}
}

// A template declares the blob service "default" with a delete retention
// policy, and a container under it (the parent/child shape templates use,
// https://learn.microsoft.com/azure/templates/microsoft.storage/storageaccounts/blobservices).
func TestTemplateDeploymentBlobService(t *testing.T) {
	e, blobs := newContainersEnv(t)
	tpl := `{"contentVersion":"1.0.0.0","resources":[
	 {"type":"Microsoft.Storage/storageAccounts","apiVersion":"2023-05-01","name":"media9","location":"westeurope","sku":{"name":"Standard_LRS"},"kind":"StorageV2"},
	 {"type":"Microsoft.Storage/storageAccounts/blobServices","apiVersion":"2023-05-01","name":"media9/default","dependsOn":["media9"],
	  "properties":{"deleteRetentionPolicy":{"enabled":true,"days":14},"cors":{"corsRules":[]}}},
	 {"type":"Microsoft.Storage/storageAccounts/blobServices/containers","apiVersion":"2023-05-01","name":"media9/default/uploads",
	  "dependsOn":["[resourceId('Microsoft.Storage/storageAccounts/blobServices','media9','default')]"],"properties":{"publicAccess":"None"}}]}`
	b := string(e.deploy(http.StatusCreated, "bs", depBody(tpl, "")).body)
	if !strings.Contains(b, `"Succeeded"`) {
		t.Fatalf("deployment: %s", b)
	}
	if got, err := blobs.ServiceProperties(t.Context(), "media9"); err != nil || got.DeleteRetention != (blob.RetentionPolicy{Enabled: true, Days: 14}) {
		t.Errorf("blob service after the deployment: %+v %v", got, err)
	}
	if _, err := blobs.Container(t.Context(), "media9", "uploads"); err != nil {
		t.Errorf("container: %v", err)
	}
	// A template asking for what Slipway does not have fails, saying so.
	bad := strings.Replace(tpl, `"cors":{"corsRules":[]}`, `"isVersioningEnabled":true`, 1)
	b = string(e.deploy(http.StatusCreated, "bs2", depBody(bad, "")).body)
	if !strings.Contains(b, `"Failed"`) || !strings.Contains(b, "isVersioningEnabled") {
		t.Errorf("deployment with versioning: %s", b)
	}
}
