package arm

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/blob"
	"github.com/slipway-dev/slipway/internal/store"
)

const depPath = rgPath + "/providers/Microsoft.Resources/deployments"

// depBody wraps a template and parameters in a deployment request.
func depBody(template string, params string) string {
	if params == "" {
		params = "{}"
	}
	return `{"properties":{"mode":"Incremental","template":` + template + `,"parameters":` + params + `}}`
}

// deploy PUTs deployment name, which ARM answers Accepted, its end told by
// the operation status at Azure-AsyncOperation, and returns the deployment
// as a GET reads it then.
func (e *env) deploy(want int, name, body string) response {
	e.t.Helper()
	r := e.must(want, "PUT", depPath+"/"+name, body)
	if !strings.Contains(string(r.body), `"provisioningState":"Accepted"`) || r.header.Get("Azure-AsyncOperation") == "" {
		e.t.Fatalf("PUT of deployment %s answered %s %s", name, r.header, r.body)
	}
	return e.must(http.StatusOK, "GET", depPath+"/"+name, "")
}

// planAndSiteTemplate is the shape of App Service's Linux quickstart: a
// plan and a site on it, named from uniqueString(resourceGroup().id).
const planAndSiteTemplate = `{
 "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
 "contentVersion": "1.0.0.0",
 "parameters": {
  "prefix": {"type": "string", "defaultValue": "web"},
  "sku": {"type": "string", "defaultValue": "B1", "allowedValues": ["B1", "S1"]},
  "secret": {"type": "securestring"}
 },
 "variables": {
  "site": "[concat(parameters('prefix'), '-', uniqueString(resourceGroup().id))]",
  "plan": "[concat('plan-', variables('site'))]"
 },
 "resources": [
  {"type": "Microsoft.Web/sites", "apiVersion": "2024-11-01", "name": "[variables('site')]",
   "location": "[resourceGroup().location]",
   "dependsOn": ["[resourceId('Microsoft.Web/serverfarms', variables('plan'))]"],
   "properties": {"serverFarmId": "[resourceId('Microsoft.Web/serverfarms', variables('plan'))]",
    "siteConfig": {"linuxFxVersion": "PYTHON|3.12", "appSettings": [{"name": "SECRET", "value": "[parameters('secret')]"}]}}},
  {"type": "Microsoft.Web/serverfarms", "apiVersion": "2024-11-01", "name": "[variables('plan')]",
   "location": "[resourceGroup().location]", "kind": "linux", "sku": {"name": "[parameters('sku')]"},
   "properties": {"reserved": true}}
 ],
 "outputs": {
  "site": {"type": "string", "value": "[variables('site')]"},
  "host": {"type": "string", "value": "[reference(variables('site')).defaultHostName]"},
  "echo": {"type": "securestring", "value": "[parameters('secret')]"}
 }
}`

func TestTemplateDeployment(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", rgPath, `{"location":"westeurope"}`)
	params := `{"secret":{"value":"hunter2-secret"},"prefix":{"value":"shop"}}`

	// validate: nothing created, the resources listed.
	r := e.must(http.StatusOK, "POST", depPath+"/d1/validate", depBody(planAndSiteTemplate, params))
	if !strings.Contains(string(r.body), `"validatedResources"`) || strings.Contains(string(r.body), "hunter2") {
		t.Fatalf("validate: %s", r.body)
	}
	if s := e.do("GET", depPath+"/d1", "").status; s != http.StatusNotFound {
		t.Fatalf("validate stored a deployment: %d", s)
	}

	r = e.deploy(http.StatusCreated, "d1", depBody(planAndSiteTemplate, params))
	var doc struct {
		Properties struct {
			ProvisioningState string                    `json:"provisioningState"`
			Outputs           map[string]map[string]any `json:"outputs"`
			Parameters        map[string]map[string]any `json:"parameters"`
			OutputResources   []map[string]string       `json:"outputResources"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil || doc.Properties.ProvisioningState != "Succeeded" {
		t.Fatalf("create: %v %s", err, r.body)
	}
	if strings.Contains(string(r.body), "hunter2") {
		t.Fatalf("the secure parameter is echoed: %s", r.body)
	}
	site, _ := doc.Properties.Outputs["site"]["value"].(string)
	if !strings.HasPrefix(site, "shop-") || len(site) != len("shop-")+13 {
		t.Fatalf("site output %q", site)
	}
	if h, _ := doc.Properties.Outputs["host"]["value"].(string); !strings.HasPrefix(h, site+".") {
		t.Fatalf("reference output %q", h)
	}
	if _, ok := doc.Properties.Outputs["echo"]["value"]; ok || doc.Properties.Parameters["secret"]["type"] != "SecureString" {
		t.Fatalf("secure output or parameter returned: %s", r.body)
	}
	if len(doc.Properties.OutputResources) != 2 || !strings.Contains(doc.Properties.OutputResources[0]["id"], "/serverfarms/plan-") {
		t.Fatalf("outputResources (the plan first): %v", doc.Properties.OutputResources)
	}
	// The site exists with its runtime and the secret setting.
	sp := webPath + "/sites/" + site
	if b := string(e.must(http.StatusOK, "GET", sp+"/config/web", "").body); !strings.Contains(b, `"PYTHON|3.12"`) {
		t.Fatalf("site config: %s", b)
	}
	if b := string(e.must(http.StatusOK, "POST", sp+"/config/appsettings/list", "").body); !strings.Contains(b, "hunter2-secret") {
		t.Fatalf("app settings: %s", b)
	}

	// show, list, operations; a re-run is idempotent (200).
	for _, p := range []string{depPath + "/d1", depPath} {
		if b := string(e.must(http.StatusOK, "GET", p, "").body); !strings.Contains(b, `"Succeeded"`) || strings.Contains(b, "hunter2") {
			t.Fatalf("GET %s: %s", p, b)
		}
	}
	ops := string(e.must(http.StatusOK, "GET", rgPath+"/deployments/d1/operations", "").body)
	if strings.Count(ops, `"provisioningOperation":"Create"`) != 2 {
		t.Fatalf("operations: %s", ops)
	}
	e.must(http.StatusOK, "PUT", depPath+"/d1", depBody(planAndSiteTemplate, params))
	var opList struct {
		Value []struct {
			OperationID string `json:"operationId"`
		} `json:"value"`
	}
	if err := json.Unmarshal([]byte(ops), &opList); err != nil || len(opList.Value) != 2 {
		t.Fatalf("operations: %v %s", err, ops)
	}
	if b := string(e.must(http.StatusOK, "GET", depPath+"/d1/operations/"+opList.Value[1].OperationID, "").body); !strings.Contains(b, "Microsoft.Web/sites") {
		t.Fatalf("one operation: %s", b)
	}
	e.must(http.StatusNotFound, "GET", depPath+"/d1/operations/0000", "")
	// az deployment group list --filter "provisioningState eq '...'"
	for filter, want := range map[string]int{"provisioningState%20eq%20'Succeeded'": 1, "provisioningState%20eq%20'Failed'": 0} {
		var l struct{ Value []any }
		if err := json.Unmarshal(e.must(http.StatusOK, "GET", depPath+"?api-version=2025-04-01&$filter="+filter, "").body, &l); err != nil || len(l.Value) != want {
			t.Errorf("filter %s: %d deployments (%v), want %d", filter, len(l.Value), err, want)
		}
	}
	e.must(http.StatusBadRequest, "GET", depPath+"?api-version=2025-04-01&$filter=name%20eq%20'd1'", "")

	// delete: the record goes, the resources stay.
	e.must(http.StatusNoContent, "DELETE", depPath+"/d1", "")
	e.must(http.StatusNotFound, "GET", depPath+"/d1", "")
	e.must(http.StatusOK, "GET", sp, "")
	e.must(http.StatusNoContent, "DELETE", depPath+"/d1", "")
}

// A resource that fails stops the deployment: what was deployed before
// stays (as on Azure), the deployment is Failed with the resource's
// error, and the operations say which.
func TestTemplateDeploymentFailure(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", rgPath, `{"location":"westeurope"}`)
	tpl := `{"contentVersion":"1.0.0.0","resources":[
	 {"type":"Microsoft.Web/serverfarms","apiVersion":"2024-11-01","name":"p1","location":"westeurope","sku":{"name":"B1"},"properties":{"reserved":true}},
	 {"type":"Microsoft.Web/sites","apiVersion":"2024-11-01","name":"s1","location":"westeurope","dependsOn":["p1"],
	  "properties":{"serverFarmId":"[resourceId('Microsoft.Web/serverfarms','nosuchplan')]"}}]}`
	r := e.deploy(http.StatusCreated, "bad", depBody(tpl, ""))
	b := string(r.body)
	if !strings.Contains(b, `"provisioningState":"Failed"`) || !strings.Contains(b, "DeploymentFailed") || !strings.Contains(b, "nosuchplan") {
		t.Fatalf("failed deployment: %s", b)
	}
	e.must(http.StatusOK, "GET", webPath+"/serverfarms/p1", "")
	e.must(http.StatusNotFound, "GET", webPath+"/sites/s1", "")
	ops := string(e.must(http.StatusOK, "GET", depPath+"/bad/operations", "").body)
	if !strings.Contains(ops, `"provisioningState":"Failed"`) || !strings.Contains(ops, `"resourceName":"s1"`) {
		t.Fatalf("operations: %s", ops)
	}
}

// Templates Slipway cannot run are refused before anything is created,
// with the reason.
func TestTemplateDeploymentRefused(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", rgPath, `{"location":"westeurope"}`)
	plan := `{"type":"Microsoft.Web/serverfarms","apiVersion":"2024-11-01","name":"p1","location":"westeurope","sku":{"name":"B1"}}`
	for _, c := range []struct{ body, code, msg string }{
		{depBody(`{"contentVersion":"1.0.0.0","resources":[`+plan+`,{"type":"Microsoft.Sql/servers","apiVersion":"2021-11-01","name":"db"}]}`, ""), "InvalidTemplate", "'Microsoft.Sql/servers'"},
		{depBody(`{"contentVersion":"1.0.0.0","resources":[`+plan+`],"outputs":{"x":{"type":"string","value":"[pickZones('Microsoft.Compute', 'virtualMachines', 'westeurope')]"}}}`, ""), "InvalidTemplate", "'pickZones' is not supported"},
		{`{"properties":{"mode":"Complete","template":{"contentVersion":"1.0.0.0","resources":[]}}}`, "InvalidDeploymentMode", "Complete"},
		{`{"properties":{"templateLink":{"uri":"https://example.com/t.json"}}}`, "InvalidTemplateDeployment", "templateLink"},
	} {
		r := e.do("PUT", depPath+"/x", c.body)
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"code":"`+c.code+`"`) || !strings.Contains(string(r.body), c.msg) {
			t.Errorf("%.120s: %d %s", c.body, r.status, r.body)
		}
	}
	e.must(http.StatusNotFound, "GET", webPath+"/serverfarms/p1", "")
	e.must(http.StatusNotFound, "GET", depPath+"/x", "")
}

// A deployment never lets a caller create what it could not create
// directly: a Reader cannot deploy at all, and a Website Contributor
// (deployments/* and sites/*, but no serverFarms/write) cannot get a plan
// created through a template — refused before anything is created.
func TestAttack_DeploymentEscalation(t *testing.T) {
	e, call := rbacEnv(t)
	const principal2 = "7f2c6b4e-1d2a-4c3b-9e8f-0a1b2c3d4e60"
	if s, b := call("", "PUT", rgPath+"/providers/Microsoft.Authorization/roleAssignments/"+raName1, raBody("{s}", readerID, principal1)); s != http.StatusCreated {
		t.Fatalf("assign: %d %s", s, b)
	}
	if s, b := call("", "PUT", rgPath+"/providers/Microsoft.Authorization/roleAssignments/"+raName2, raBody("{s}", websiteContributorID, principal2)); s != http.StatusCreated {
		t.Fatalf("assign: %d %s", s, b)
	}
	tpl := `{"contentVersion":"1.0.0.0","resources":[
	 {"type":"Microsoft.Web/serverfarms","apiVersion":"2024-11-01","name":"evilplan","location":"westeurope","sku":{"name":"P3V3","capacity":30}},
	 {"type":"Microsoft.Web/sites","apiVersion":"2024-11-01","name":"evilsite","location":"westeurope","dependsOn":["evilplan"],
	  "properties":{"serverFarmId":"[resourceId('Microsoft.Web/serverfarms','evilplan')]"}}]}`
	for _, who := range []string{principal1, principal2} {
		for _, op := range []string{"PUT /evil", "POST /evil/validate"} {
			method, suffix, _ := strings.Cut(op, " ")
			s, b := call(who, method, depPath+suffix, depBody(tpl, ""))
			if s < 400 || !strings.Contains(b, "AuthorizationFailed") {
				t.Errorf("%s %s: %d %.300s; want AuthorizationFailed", who, op, s, b)
			}
		}
	}
	for _, p := range []string{webPath + "/serverfarms/evilplan", webPath + "/sites/evilsite"} {
		if s, _ := call("", "GET", p, ""); s != http.StatusNotFound {
			t.Errorf("%s exists after the refused deployments: %d", p, s)
		}
	}
	// What the Website Contributor may create directly, it may deploy: a
	// site on the existing plan.
	ok := `{"contentVersion":"1.0.0.0","resources":[{"type":"Microsoft.Web/sites","apiVersion":"2024-11-01","name":"goodsite","location":"westeurope",
	 "properties":{"serverFarmId":"[resourceId('Microsoft.Web/serverfarms','plan')]"}}]}`
	if s, b := call(principal2, "PUT", depPath+"/good", depBody(ok, "")); s != http.StatusCreated {
		t.Fatalf("website contributor's site deployment: %d %s", s, b)
	}
	if s, b := call(principal2, "GET", depPath+"/good", ""); s != http.StatusOK || !strings.Contains(b, `"Succeeded"`) {
		t.Fatalf("website contributor's site deployment: %d %s", s, b)
	}
	_ = e
}

// listKeys() and reference() of a storage account the template made,
// as templates build connection strings.
func TestTemplateDeploymentStorageKeys(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", rgPath, `{"location":"westeurope"}`)
	tpl := `{"contentVersion":"1.0.0.0","resources":[
	 {"type":"Microsoft.Storage/storageAccounts","apiVersion":"2023-05-01","name":"media7","location":"westeurope",
	  "sku":{"name":"Standard_LRS"},"kind":"StorageV2","properties":{"minimumTlsVersion":"TLS1_2"}}],
	 "outputs":{
	  "conn":{"type":"string","value":"[concat('AccountName=media7;AccountKey=', listKeys('media7', '2023-05-01').keys[0].value)]"},
	  "blob":{"type":"string","value":"[reference('media7').primaryEndpoints.blob]"},
	  "kind":{"type":"string","value":"[reference(resourceId('Microsoft.Storage/storageAccounts', 'media7'), '2023-05-01', 'Full').kind]"},
	  "suffix":{"type":"string","value":"[environment().suffixes.storage]"}}}`
	b := string(e.deploy(http.StatusCreated, "st", depBody(tpl, "")).body)
	keys := string(e.must(http.StatusOK, "POST", stgPath+"/media7/listKeys", "").body)
	var k struct {
		Keys []struct {
			Value string `json:"value"`
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(keys), &k); err != nil || len(k.Keys) == 0 {
		t.Fatalf("keys: %v %s", err, keys)
	}
	if !strings.Contains(b, "AccountKey="+k.Keys[0].Value) || !strings.Contains(b, `"value":"StorageV2"`) || !strings.Contains(b, "/media7/") ||
		!strings.Contains(b, `"value":"localhost:8080"`) {
		t.Fatalf("outputs: %s", b)
	}
}

// A deployment record outlives the handler (a restart); one a restart
// cut short reads as Failed, saying so.
func TestTemplateDeploymentSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", rgPath, `{"location":"westeurope"}`)
	e.must(http.StatusCreated, "PUT", depPath+"/d1", depBody(`{"contentVersion":"1.0.0.0","resources":[],"outputs":{"o":{"type":"int","value":42}}}`, ""))
	// A record left Running, as a crash mid-run leaves it.
	running := `{"id":"x","name":"d2","type":"Microsoft.Resources/deployments","properties":{"provisioningState":"Running"}}`
	if _, err := e.store.PutTemplateDeployment(t.Context(), store.TemplateDeployment{ResourceGroup: "rg", Name: "d2", Document: []byte(running)}); err != nil {
		t.Fatal(err)
	}
	h := New(Config{Store: e.store, Controller: e.ctl, Authorize: func(*http.Request) error { return nil }})
	get := func(p string) string {
		rec := &innerResponse{header: http.Header{}}
		req, _ := http.NewRequestWithContext(t.Context(), "GET", e.path(p)+"?api-version=2025-04-01", nil)
		req.RemoteAddr = "127.0.0.1:1"
		h.ServeHTTP(rec, req)
		if rec.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", p, rec.status, rec.body.String())
		}
		return rec.body.String()
	}
	if b := get(depPath + "/d1"); !strings.Contains(b, `"value":42`) || !strings.Contains(b, `"Succeeded"`) {
		t.Fatalf("after restart: %s", b)
	}
	if b := get(depPath + "/d2"); !strings.Contains(b, `"provisioningState":"Failed"`) || !strings.Contains(b, "DeploymentInterrupted") {
		t.Fatalf("interrupted deployment: %s", b)
	}
	if b := get(depPath); strings.Count(b, `"type":"Microsoft.Resources/deployments"`) != 2 {
		t.Fatalf("list: %s", b)
	}
}

// Secure parameter values never reach the platform's log, the stored
// record or an error — also when the deployment fails.
func TestTemplateDeploymentSecretsNotLeaked(t *testing.T) {
	e, call := rbacEnv(t)
	const secret = "s3cr3t-never-logged"
	tpl := `{"contentVersion":"1.0.0.0","parameters":{"pw":{"type":"securestring","allowedValues":["other"]}},"resources":[]}`
	s, b := call("", "PUT", depPath+"/leak", depBody(tpl, `{"pw":{"value":"`+secret+`"}}`))
	if s != http.StatusBadRequest || strings.Contains(b, secret) {
		t.Fatalf("allowedValues error: %d %s", s, b)
	}
	tpl = `{"contentVersion":"1.0.0.0","parameters":{"pw":{"type":"securestring"}},"resources":[
	 {"type":"Microsoft.Web/sites","apiVersion":"2024-11-01","name":"leaky","location":"westeurope",
	  "properties":{"serverFarmId":"[resourceId('Microsoft.Web/serverfarms','ghost')]","siteConfig":{"appSettings":[{"name":"PW","value":"[parameters('pw')]"}]}}}],
	 "outputs":{"o":{"type":"securestring","value":"[parameters('pw')]"}}}`
	s, b = call("", "PUT", depPath+"/leak", depBody(tpl, `{"pw":{"value":"`+secret+`"}}`))
	if s != http.StatusCreated || strings.Contains(b, secret) {
		t.Fatalf("failed deployment: %d %s", s, b)
	}
	if s, b = call("", "GET", depPath+"/leak", ""); s != http.StatusOK || strings.Contains(b, secret) || !strings.Contains(b, `"Failed"`) {
		t.Fatalf("failed deployment: %d %s", s, b)
	}
	d, err := e.store.TemplateDeployment(t.Context(), "rg", "leak")
	if err != nil || strings.Contains(string(d.Document)+string(d.Operations), secret) {
		t.Fatalf("stored record: %v %s %s", err, d.Document, d.Operations)
	}
	if strings.Contains(e.logs.String(), secret) {
		t.Fatalf("log: %s", e.logs.String())
	}
}

// A template puts a secret in a vault it makes (Microsoft.KeyVault/
// vaults/secrets, vaultsecrets.go), from a securestring parameter: the
// secret is stored, its value is never returned, and running the template
// again adds no version; a new value does.
func TestTemplateDeploymentVaultSecret(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", rgPath, `{"location":"westeurope"}`)
	tpl := `{"contentVersion":"1.0.0.0","parameters":{"pw":{"type":"securestring"}},"resources":[
	 {"type":"Microsoft.KeyVault/vaults","apiVersion":"2023-07-01","name":"kvtmpl1","location":"[resourceGroup().location]",
	  "properties":{"tenantId":"[subscription().tenantId]","sku":{"family":"A","name":"standard"},"enableRbacAuthorization":true},
	  "resources":[{"type":"secrets","apiVersion":"2023-07-01","name":"db-password","properties":{"value":"[parameters('pw')]","contentType":"text/plain"}}]}],
	 "outputs":{"uri":{"type":"string","value":"[reference('kvtmpl1/db-password').secretUri]"}}}`
	put := func(pw string) string {
		return string(e.must(http.StatusOK, "PUT", depPath+"/kv", depBody(tpl, `{"pw":{"value":"`+pw+`"}}`)).body)
	}
	e.must(http.StatusCreated, "PUT", depPath+"/kv", depBody(tpl, `{"pw":{"value":"first-pw-1"}}`))
	s, err := e.store.Secret(t.Context(), "kvtmpl1", "db-password", "")
	if err != nil || s.Value != "first-pw-1" || s.ContentType != "text/plain" {
		t.Fatalf("secret: %+v %v", s, err)
	}
	if b := put("first-pw-1"); !strings.Contains(b, "/secrets/db-password") || strings.Contains(b, "first-pw-1") {
		t.Fatalf("re-run: %s", b)
	}
	if b := string(e.must(http.StatusOK, "GET", kvPath+"/kvtmpl1/secrets/db-password", "").body); strings.Contains(b, "first-pw-1") || !strings.Contains(b, "secretUriWithVersion") {
		t.Fatalf("GET secret: %s", b)
	}
	if vs, _ := e.store.SecretVersions(t.Context(), "kvtmpl1", "db-password"); len(vs) != 1 {
		t.Fatalf("a re-run added a version: %d", len(vs))
	}
	put("second-pw-2")
	if vs, _ := e.store.SecretVersions(t.Context(), "kvtmpl1", "db-password"); len(vs) != 2 {
		t.Fatalf("a new value: %d versions", len(vs))
	}
	e.must(http.StatusNotFound, "GET", kvPath+"/kvtmpl1/secrets/nope", "")
	e.must(http.StatusBadRequest, "PUT", kvPath+"/kvtmpl1/secrets/novalue", `{"properties":{}}`)
}

// noAccounts is a blob service's account lookup that finds none: the
// management plane's container calls do not use it.
type noAccounts struct{}

func (noAccounts) Account(context.Context, string) (blob.Account, error) {
	return blob.Account{}, blob.ErrAccountNotFound
}

// A template makes a storage account and a blob container in it
// (storageAccounts/blobServices/containers, storagecontainers.go); a
// re-run updates the container in place.
func TestTemplateDeploymentContainer(t *testing.T) {
	e, blobs := newContainersEnv(t)
	tpl := `{"contentVersion":"1.0.0.0","parameters":{"access":{"type":"string","defaultValue":"None"}},"resources":[
	 {"type":"Microsoft.Storage/storageAccounts","apiVersion":"2023-05-01","name":"media8","location":"westeurope","sku":{"name":"Standard_LRS"},"kind":"StorageV2"},
	 {"type":"Microsoft.Storage/storageAccounts/blobServices/containers","apiVersion":"2023-05-01","name":"media8/default/uploads",
	  "dependsOn":["media8"],"properties":{"publicAccess":"[parameters('access')]","metadata":{"owner":"shop"}}}]}`
	e.must(http.StatusCreated, "PUT", depPath+"/c", depBody(tpl, ""))
	c, err := blobs.Container(t.Context(), "media8", "uploads")
	if err != nil || c.PublicAccess != "" || c.Metadata["owner"] != "shop" {
		t.Fatalf("container: %+v %v", c, err)
	}
	b := string(e.deploy(http.StatusOK, "c", depBody(tpl, `{"access":{"value":"Blob"}}`)).body)
	if !strings.Contains(b, `"Succeeded"`) {
		t.Fatalf("re-run: %s", b)
	}
	if c, _ := blobs.Container(t.Context(), "media8", "uploads"); c.PublicAccess != "blob" {
		t.Fatalf("public access after the re-run: %q", c.PublicAccess)
	}
	get := string(e.must(http.StatusOK, "GET", stgPath+"/media8/blobServices/default/containers/uploads", "").body)
	if !strings.Contains(get, `"publicAccess":"Blob"`) {
		t.Fatalf("GET: %s", get)
	}
	for _, bad := range []string{"/blobServices/default/containers/Bad_Name", "/blobServices/other/containers/ok1"} {
		if r := e.do("PUT", stgPath+"/media8"+bad, `{"properties":{}}`); r.status < 400 {
			t.Errorf("PUT %s: %d", bad, r.status)
		}
	}
	e.must(http.StatusNotFound, "GET", stgPath+"/media8/blobServices/default/containers/none1", "")
}

// How a deployment reads a resource's answer: a terminal or absent
// provisioningState ends it, Failed/Canceled or an error status fails it
// with the resource's own error.
func TestDeploymentResourceAnswers(t *testing.T) {
	for _, c := range []struct {
		status  int
		body    string
		pending bool
		code    string
	}{
		{200, `{"properties":{"provisioningState":"Succeeded"}}`, false, ""},
		{201, `{"properties":{}}`, false, ""},
		{201, `{"properties":{"provisioningState":"Accepted"}}`, true, ""},
		{202, `{"properties":{"provisioningState":"InProgress"}}`, true, ""},
		{200, `{"properties":{"provisioningState":"Failed"}}`, false, "ResourceDeploymentFailure"},
		{404, `{"error":{"code":"ResourceGroupNotFound","message":"no"}}`, false, "ResourceGroupNotFound"},
		{500, `not json`, false, "ResourceDeploymentFailure"},
	} {
		if got := provisioningPending([]byte(c.body)); got != c.pending {
			t.Errorf("%d %s: pending %v", c.status, c.body, got)
		}
		err := resourceError(c.status, []byte(c.body))
		if (err == nil) != (c.code == "") || err != nil && err.Code != c.code {
			t.Errorf("%d %s: error %v, want %q", c.status, c.body, err, c.code)
		}
	}
	if d := isoDuration(1500 * time.Millisecond); d != "PT1.5S" {
		t.Errorf("isoDuration = %s", d)
	}
}

// TestNestedDeployments: a template's modules (nested deployments, what
// Bicep makes of a module) run as deployments of their own: an
// inner-scoped one with its own parameters, placed in another group by
// resourceGroup, its outputs read by the outer template once it ran; an
// outer-scoped one evaluated in the outer scope. Each has its record and
// operations; the outer deployment lists them among its operations. A
// module that fails fails the outer deployment with its reason, and one
// that links its template (templateLink) is refused.
func TestNestedDeployments(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", rgPath, `{"location":"westeurope"}`)
	e.must(http.StatusCreated, "PUT", "/subscriptions/{s}/resourcegroups/rg2", `{"location":"westeurope"}`)
	module := `{"$schema":"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#","contentVersion":"1.0.0.0",
	 "parameters":{"planName":{"type":"string"},"sku":{"type":"string","defaultValue":"B1"}},
	 "resources":[{"type":"Microsoft.Web/serverfarms","apiVersion":"2024-11-01","name":"[parameters('planName')]","location":"[resourceGroup().location]",
	  "kind":"linux","sku":{"name":"[parameters('sku')]"},"properties":{"reserved":true}}],
	 "outputs":{"planId":{"type":"string","value":"[resourceId('Microsoft.Web/serverfarms', parameters('planName'))]"},
	  "group":{"type":"string","value":"[resourceGroup().name]"}}}`
	outer := `{"contentVersion":"1.0.0.0","parameters":{"prefix":{"type":"string"}},"resources":[
	 {"type":"Microsoft.Resources/deployments","apiVersion":"2022-09-01","name":"planModule",
	  "properties":{"expressionEvaluationOptions":{"scope":"inner"},"mode":"Incremental",
	   "parameters":{"planName":{"value":"[concat(parameters('prefix'),'-plan')]"}},"template":` + module + `}},
	 {"type":"Microsoft.Resources/deployments","apiVersion":"2022-09-01","name":"otherGroup","resourceGroup":"rg2",
	  "properties":{"expressionEvaluationOptions":{"scope":"inner"},"mode":"Incremental",
	   "parameters":{"planName":{"value":"far-plan"},"sku":{"value":"S1"}},"template":` + module + `}},
	 {"type":"Microsoft.Resources/deployments","apiVersion":"2022-09-01","name":"outerScoped",
	  "properties":{"mode":"Incremental","template":{"contentVersion":"1.0.0.0","resources":[
	   {"type":"Microsoft.Web/serverfarms","apiVersion":"2024-11-01","name":"[concat(parameters('prefix'),'-outer')]","location":"westeurope","sku":{"name":"B1"}}]}}},
	 {"type":"Microsoft.Web/sites","apiVersion":"2024-11-01","name":"[concat(parameters('prefix'),'-app')]","location":"westeurope",
	  "dependsOn":["planModule"],
	  "properties":{"serverFarmId":"[reference('planModule').outputs.planId.value]","siteConfig":{"linuxFxVersion":"PYTHON|3.12"}}}],
	 "outputs":{"farGroup":{"type":"string","value":"[reference(resourceId('rg2','Microsoft.Resources/deployments','otherGroup'),'2022-09-01').outputs.group.value]"}}}`
	d := e.deploy(http.StatusCreated, "main", depBody(outer, `{"prefix":{"value":"web"}}`)).json(t)
	props := d["properties"].(map[string]any)
	if props["provisioningState"] != "Succeeded" {
		t.Fatalf("the outer deployment: %v", props)
	}
	if got := props["outputs"].(map[string]any)["farGroup"].(map[string]any)["value"]; got != "rg2" {
		t.Errorf("the module's output through the outer template: %v", got)
	}
	e.must(http.StatusOK, "GET", webPath+"/serverfarms/web-plan", "")
	e.must(http.StatusOK, "GET", webPath+"/serverfarms/web-outer", "")
	if sku := e.must(http.StatusOK, "GET", "/subscriptions/{s}/resourceGroups/rg2/providers/Microsoft.Web/serverfarms/far-plan", "").json(t)["sku"].(map[string]any)["name"]; sku != "S1" {
		t.Errorf("the plan the module put in rg2: sku %v", sku)
	}
	site := e.must(http.StatusOK, "GET", webPath+"/sites/web-app", "").json(t)
	if id, _ := site["properties"].(map[string]any)["serverFarmId"].(string); !strings.HasSuffix(strings.ToLower(id), "/serverfarms/web-plan") {
		t.Errorf("the site's plan, from the module's output: %v", id)
	}
	mod := e.must(http.StatusOK, "GET", depPath+"/planModule", "").json(t)["properties"].(map[string]any)
	if mod["provisioningState"] != "Succeeded" || mod["outputs"].(map[string]any)["planId"] == nil {
		t.Errorf("the module's own record: %v", mod)
	}
	e.must(http.StatusOK, "GET", "/subscriptions/{s}/resourcegroups/rg2/providers/Microsoft.Resources/deployments/otherGroup", "")
	if ops := string(e.must(http.StatusOK, "GET", depPath+"/main/operations", "").body); !strings.Contains(ops, `"resourceType":"Microsoft.Resources/deployments"`) {
		t.Errorf("the outer deployment's operations do not list its modules: %.400s", ops)
	}

	failing := `{"contentVersion":"1.0.0.0","resources":[{"type":"Microsoft.Resources/deployments","apiVersion":"2022-09-01","name":"badModule",
	 "properties":{"expressionEvaluationOptions":{"scope":"inner"},"mode":"Incremental","template":{"contentVersion":"1.0.0.0","resources":[
	  {"type":"Microsoft.Web/sites","apiVersion":"2024-11-01","name":"orphan","location":"westeurope",
	   "properties":{"serverFarmId":"[resourceId('Microsoft.Web/serverfarms','nosuchplan')]"}}]}}}]}`
	bad := string(e.deploy(http.StatusCreated, "bad", depBody(failing, "")).body)
	if !strings.Contains(bad, `"provisioningState":"Failed"`) || !strings.Contains(bad, "nosuchplan") {
		t.Errorf("a failing module: %.600s; want the outer deployment failed with the module's reason", bad)
	}
	linked := `{"contentVersion":"1.0.0.0","resources":[{"type":"Microsoft.Resources/deployments","apiVersion":"2022-09-01","name":"linked",
	 "properties":{"mode":"Incremental","templateLink":{"uri":"https://example.com/t.json"}}}]}`
	if l := string(e.deploy(http.StatusCreated, "linkedOuter", depBody(linked, "")).body); !strings.Contains(l, "templateLink") {
		t.Errorf("a linked template: %.600s; want the reason", l)
	}
}
