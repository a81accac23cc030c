package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// devAccountKey is the development storage account's well-known key.
const devAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// TestDeployFromBlobURL: Microsoft's "Deploy ZIP package from URL" — a
// zip uploaded to blob storage (here with the Azure SDK for Go) and
// deployed by a URL with a SAS: PUT /api/zipdeploy with {"packageUri"},
// POST /api/publish?type=zip with it, and `slipway webapp deploy
// --src-url`. The server reads the blob through its own blob service, so
// the blob service's refusals (no such blob, an expired or altered SAS, a
// SAS for HTTPS only named over HTTP) come back as 4xx in its words, and
// a URL of anything else — the cloud metadata address, the front door
// on loopback — is refused; after each refusal the previous version keeps
// serving. The deployment record names the URL, its signature masked.
func TestDeployFromBlobURL(t *testing.T) {
	s := startServer(t, "--dev-storage")
	ctx := context.Background()
	s.createApp("fromurl")
	app := s.host("fromurl")
	user, pass := s.credentials("fromurl")

	cred, err := azblob.NewSharedKeyCredential("devstoreaccount1", devAccountKey)
	if err != nil {
		t.Fatal(err)
	}
	client, err := azblob.NewClientWithSharedKeyCredential(s.info.BlobURL+"/devstoreaccount1/", cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateContainer(ctx, "packages", nil); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"v1", "v2", "v3"} {
		z, err := os.ReadFile(zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": v}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.UploadBuffer(ctx, "packages", "app-"+v+".zip", z, nil); err != nil {
			t.Fatal(err)
		}
	}
	// signed returns the blob's SAS query: read only, valid from an hour
	// ago until expiry, for protocol ("" any, "https" HTTPS only).
	signed := func(blob string, expiry time.Time, protocol sas.Protocol) string {
		t.Helper()
		q, err := sas.BlobSignatureValues{
			Protocol: protocol, StartTime: time.Now().Add(-time.Hour), ExpiryTime: expiry,
			Permissions: (&sas.BlobPermissions{Read: true}).String(), ContainerName: "packages", BlobName: blob,
		}.SignWithSharedKey(cred)
		if err != nil {
			t.Fatal(err)
		}
		return q.Encode()
	}
	hour := time.Now().Add(time.Hour)
	pathStyle := func(blob, query string) string {
		return s.info.BlobURL + "/devstoreaccount1/packages/" + blob + "?" + query
	}
	hostStyle := func(blob, query string) string {
		return fmt.Sprintf("https://devstoreaccount1.blob.localhost:%d/packages/%s?%s", s.info.HTTPPort, blob, query)
	}
	scm := "http://" + strings.Replace(app, ".localhost", ".scm.localhost", 1)
	kudu := func(method, path, packageURI string) (int, string) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"packageUri": packageURI})
		req, err := http.NewRequestWithContext(ctx, method, scm+path, strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(user, pass)
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	serves := func(when, want string) {
		t.Helper()
		if code, body := s.get(app, "/"); code != 200 || body != want {
			t.Fatalf("%s: GET / = %d %q, want 200 %q", when, code, body, want)
		}
	}

	// Kudu's zip deployment from a URL (PUT /api/zipdeploy), path-style.
	sas1 := signed("app-v1.zip", hour, "")
	if code, body := kudu("PUT", "/api/zipdeploy", pathStyle("app-v1.zip", sas1)); code != 200 {
		t.Fatalf("PUT /api/zipdeploy {packageUri}: %d %q", code, body)
	}
	serves("after PUT /api/zipdeploy", "hello v1")

	// OneDeploy from a URL, host-style through the front door, with a
	// SAS for HTTPS only.
	sas2 := signed("app-v2.zip", hour, sas.ProtocolHTTPS)
	if code, body := kudu("POST", "/api/publish?type=zip", hostStyle("app-v2.zip", sas2)); code != 200 {
		t.Fatalf("POST /api/publish?type=zip {packageUri}: %d %q", code, body)
	}
	serves("after POST /api/publish", "hello v2")
	d := s.waitDeployment("fromurl", user, pass)
	msg, _ := d["message"].(string)
	if !strings.HasPrefix(msg, "OneDeploy from https://devstoreaccount1.blob.localhost:") || !strings.Contains(msg, "sig=***") {
		t.Errorf("deployment message %q does not name the URL with its signature masked", msg)
	}

	// Refusals: nothing is deployed, v2 keeps serving, and no answer
	// shows a signature.
	sig := func(q string) string {
		t.Helper()
		for _, kv := range strings.Split(q, "&") {
			if v, ok := strings.CutPrefix(kv, "sig="); ok {
				return v
			}
		}
		t.Fatalf("no sig in %q", q)
		return ""
	}
	altered := strings.Replace(sas1, "sig="+sig(sas1), "sig=AAAA"+sig(sas1)[4:], 1)
	for _, c := range []struct {
		name, uri string
		status    int
		want      string
	}{
		{"a missing blob", pathStyle("nothing.zip", signed("nothing.zip", hour, "")), 404, "BlobNotFound"},
		{"an expired SAS", pathStyle("app-v3.zip", signed("app-v3.zip", time.Now().Add(-time.Minute), "")), 403, "AuthenticationFailed"},
		{"an altered SAS", pathStyle("app-v1.zip", altered), 403, "AuthenticationFailed"},
		{"another blob's SAS", pathStyle("app-v3.zip", sas1), 403, "AuthenticationFailed"},
		{"no SAS (a private container)", pathStyle("app-v3.zip", ""), 404, "ResourceNotFound"},
		{"an HTTPS-only SAS over HTTP", pathStyle("app-v2.zip", sas2), 403, "AuthorizationProtocolMismatch"},
		{"the cloud metadata address", "http://169.254.169.254/metadata/identity/oauth2/token?resource=https://management.azure.com/", 400, "not this server's blob service"},
		{"the front door on loopback", fmt.Sprintf("http://127.0.0.1:%d/devstoreaccount1/packages/app-v3.zip", s.info.HTTPPort), 400, "blob service only on port"},
		{"another server", "https://example.com/app.zip", 400, "not this server's blob service"},
	} {
		code, body := kudu("PUT", "/api/zipdeploy", c.uri)
		if code != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s: PUT /api/zipdeploy = %d %q, want %d naming %s", c.name, code, body, c.status, c.want)
		}
		if strings.Contains(body, sig(sas1)) || strings.Contains(body, sig(sas2)) {
			t.Errorf("%s: the answer shows a SAS signature: %q", c.name, body)
		}
	}
	serves("after the refusals", "hello v2")

	// slipway webapp deploy --src-url, as az webapp deploy --src-url.
	sas3 := signed("app-v3.zip", hour, "")
	out, errs, code := s.cli("", "webapp", "deploy", "-g", "rg-fromurl", "-n", "fromurl", "--src-url", hostStyle("app-v3.zip", sas3), "--type", "zip")
	if code != 0 {
		t.Fatalf("webapp deploy --src-url: exit %d\n%s\n%s", code, out, errs)
	}
	if strings.Contains(out+errs, sig(sas3)) {
		t.Errorf("webapp deploy --src-url printed the SAS signature:\n%s\n%s", out, errs)
	}
	serves("after webapp deploy --src-url", "hello v3")
	req, _ := http.NewRequestWithContext(ctx, "GET", scm+"/api/deployments", nil)
	req.SetBasicAuth(user, pass)
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	list := string(b)
	if n := strings.Count(list, "sig=***"); resp.StatusCode != 200 || n != 3 {
		t.Errorf("GET /api/deployments = %d with %d masked URLs, want 3:\n%s", resp.StatusCode, n, list)
	}
	for _, q := range []string{sas1, sas2, sas3} {
		if strings.Contains(list, sig(q)) || strings.Contains(s.stderr.String(), sig(q)) {
			t.Errorf("a SAS signature reached the deployment records or the server's log")
		}
	}
}
