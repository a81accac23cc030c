package arm

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
)

// oneDeployRecorder records what the OneDeploy extension hands to Kudu.
type oneDeployRecorder struct {
	mu    sync.Mutex
	calls []string // site, packageUri and the encoded query
}

func (o *oneDeployRecorder) PublishFromURL(_ context.Context, s slipway.Site, uri string, q url.Values) (slipway.Deployment, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, s.Name+" "+uri+" "+q.Encode())
	if strings.Contains(uri, "missing") {
		return slipway.Deployment{}, slipway.Errorf(slipway.ENOTFOUND, "The package at %s could not be read: the blob service answered 404 BlobNotFound", uri)
	}
	return slipway.Deployment{ID: "d1", Site: s.Name, Status: slipway.DeployPending, Deployer: "OneDeploy", Message: "OneDeploy from " + uri}, nil
}

// TestOneDeployExtension: PUT SITE/extensions/onedeploy, and the
// instance's form az sends after warming that instance's Kudu (GET
// SITE/instances/{id}/deployments), hand the packageUri and OneDeploy's
// properties to Kudu and answer the started deployment with
// provisioningState InProgress (az prints it and says the deployment
// was submitted asynchronously). Without a packageUri, with a deployment
// tag, with a bad bool or for an instance the site lacks: refused, and
// nothing reaches Kudu; Kudu's refusal is ARM's error.
func TestOneDeployExtension(t *testing.T) {
	rec := &oneDeployRecorder{}
	e := newEnvWith(t, func(c *Config) { c.OneDeploy = rec })
	e.seed()
	const uri = "https://acct.blob.localhost:8443/c/app.zip?sig=x"
	r := e.must(200, "PUT", sitePath+"/extensions/onedeploy", `{"properties":{"packageUri":"`+uri+`","type":"zip","clean":true,"restart":"false","ignorestack":false}}`)
	m := r.json(t)
	props, _ := m["properties"].(map[string]any)
	if m["type"] != "Microsoft.Web/sites/extensions" || props["provisioningState"] != "InProgress" || props["id"] != "d1" || props["deployer"] != "OneDeploy" {
		t.Errorf("PUT extensions/onedeploy answered %s", r.body)
	}
	e.must(200, "GET", sitePath+"/instances/a1b2/deployments?api-version=2024-11-01&warmup=true", "")
	e.must(200, "PUT", sitePath+"/instances/a1b2/extensions/onedeploy", `{"properties":{"packageUri":"`+uri+`"}}`)
	for _, c := range []struct {
		path, body string
		status     int
		want       string
	}{
		{sitePath + "/extensions/onedeploy", `{"properties":{"type":"zip"}}`, 400, "packageUri is required"},
		{sitePath + "/extensions/onedeploy", `{}`, 400, "packageUri is required"},
		{sitePath + "/extensions/onedeploy", `{"properties":{"packageUri":"` + uri + `","deploymentTag":"v1"}}`, 400, "deploymentTag"},
		{sitePath + "/extensions/onedeploy", `{"properties":{"packageUri":"` + uri + `","clean":"maybe"}}`, 400, "clean must be true or false"},
		{sitePath + "/instances/zzzz/extensions/onedeploy", `{"properties":{"packageUri":"` + uri + `"}}`, 404, "zzzz"},
		{webPath + "/sites/nosuch/extensions/onedeploy", `{"properties":{"packageUri":"` + uri + `"}}`, 404, "nosuch"},
	} {
		if r := e.do("PUT", c.path, c.body); r.status != c.status || !strings.Contains(string(r.body), c.want) {
			t.Errorf("PUT %s %s = %d %s, want %d naming %q", c.path, c.body, r.status, r.body, c.status, c.want)
		}
	}
	if r := e.do("PUT", sitePath+"/extensions/onedeploy", `{"properties":{"packageUri":"https://acct.blob.localhost:8443/c/missing.zip"}}`); r.status != 404 || !strings.Contains(string(r.body), "BlobNotFound") {
		t.Errorf("a missing blob: %d %s, want 404 BlobNotFound", r.status, r.body)
	}
	want := []string{
		"app " + uri + " clean=true&restart=false&type=zip",
		"app " + uri + " type=zip",
		"app https://acct.blob.localhost:8443/c/missing.zip type=zip",
	}
	if diff := cmp.Diff(want, rec.calls); diff != "" {
		t.Errorf("handed to Kudu (-want +got):\n%s", diff)
	}
}
