package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// devConnectionString is the development storage account's connection
// string for a server's blob endpoint (the account and key Azurite and the
// Azure tools publish for UseDevelopmentStorage=true).
func devConnectionString(blobURL string) string {
	return "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
		"AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
		"BlobEndpoint=" + blobURL + "/devstoreaccount1;"
}

// TestTodoMediaInBlobStorage: a storage account created with the CLI and
// connected to examples/todo in one step (`webapp connection create
// storage-blob`) keeps an uploaded attachment in the blob service (checked
// with the Azure SDK), and the browser gets it back from there with its
// content type (issue 3, acceptance 2). The development account is served
// too, for UseDevelopmentStorage-style connection strings.
func TestTodoMediaInBlobStorage(t *testing.T) {
	s := startServer(t, "--dev-storage")
	ctx := context.Background()
	dev, err := azblob.NewClientFromConnectionString(devConnectionString(s.info.BlobURL), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dev.CreateContainer(ctx, "scratch", nil); err != nil {
		t.Fatalf("the development account does not work: %v", err)
	}

	s.createApp("blobtodo", "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
	s.mustCLI("", "storage", "account", "create", "-n", "todomedia", "-g", "rg-blobtodo", "-l", "westeurope", "--sku", "Standard_GRS")
	s.mustCLI("", "webapp", "connection", "create", "storage-blob", "-g", "rg-blobtodo", "-n", "blobtodo",
		"--tg", "rg-blobtodo", "--account", "todomedia", "--secret", "--container", "media")
	out := s.mustCLI("", "storage", "account", "show-connection-string", "-n", "todomedia", "-g", "rg-blobtodo")
	var cs struct{ ConnectionString string }
	if err := json.Unmarshal([]byte(out), &cs); err != nil || cs.ConnectionString == "" {
		t.Fatalf("show-connection-string: %v %s", err, out)
	}
	// The connection string names HTTPS, as Azure's do; the SDK verifies
	// the blob endpoint with the platform root added (as SSL_CERT_FILE or
	// a cert pool would), and refuses it without.
	if !strings.HasPrefix(cs.ConnectionString, "DefaultEndpointsProtocol=https;") || !strings.Contains(cs.ConnectionString, "BlobEndpoint=https://") {
		t.Errorf("connection string %q does not name HTTPS", cs.ConnectionString)
	}
	if plain, err := azblob.NewClientFromConnectionString(cs.ConnectionString, nil); err == nil {
		if _, err := plain.ServiceClient().GetAccountInfo(ctx, nil); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("without the platform root the blob endpoint was accepted: %v", err)
		}
	}
	client, err := azblob.NewClientFromConnectionString(cs.ConnectionString, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.rootPool(t)}, ForceAttemptHTTP2: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	// The blob service reports the account as it was created.
	if info, err := client.ServiceClient().GetAccountInfo(ctx, nil); err != nil || string(*info.SKUName) != "Standard_GRS" {
		t.Errorf("Get Account Information: %v; want SKU Standard_GRS", err)
	}

	project := filepath.Join(t.TempDir(), "todo")
	if err := os.CopyFS(project, os.DirFS("../../examples/todo")); err != nil {
		t.Fatal(err)
	}
	user, pass := s.credentials("blobtodo")
	scm := "http://" + strings.Replace(s.host("blobtodo"), ".localhost", ".scm.localhost", 1)
	z := zipDir(t, project, nil)
	if out, err := s.curl("-X", "POST", "-u", user+":"+pass, "--data-binary", "@"+z, "-w", "\n%{http_code}", scm+"/api/zipdeploy"); err != nil || !strings.HasSuffix(out, "200") {
		t.Fatalf("deploy: %q %v", out, err)
	}
	host := s.host("blobtodo")
	if status := s.postTodo(host, "Scan the receipt", "receipt.txt", "text/plain", "blob-stored receipt"); status != 302 {
		t.Fatalf("POST /todos/new/ = %d, want 302", status)
	}

	// The attachment is a blob in the container, seen through the SDK.
	pager := client.NewListBlobsFlatPager("media", nil)
	var names []string
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Segment.BlobItems {
			names = append(names, *b.Name)
		}
	}
	var name string
	for _, n := range names {
		if strings.HasPrefix(n, "attachments/receipt") {
			name = n
		}
	}
	if name == "" {
		t.Fatalf("no attachment blob in the media container; blobs: %v", names)
	}
	dl, err := client.DownloadStream(ctx, "media", name, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(dl.Body)
	dl.Body.Close()
	if string(got) != "blob-stored receipt" {
		t.Fatalf("blob content = %q", got)
	}
	if _, err := os.Stat(filepath.Join(s.data, "sites", "blobtodo", "home", "data", "todo", "media", name)); err == nil {
		t.Errorf("the attachment was also written to the app's disk")
	}

	// Python's azure-storage-blob reads it with the same connection string,
	// trusting the platform root through REQUESTS_CA_BUNDLE (a bundle that
	// keeps the public CAs, as `slipway ca` documents it).
	py := exec.Command("python3", "-c", `
import os, sys
from azure.storage.blob import BlobServiceClient
c = BlobServiceClient.from_connection_string(os.environ["CS"])
print(c.get_blob_client("media", sys.argv[1]).download_blob().readall().decode())`, name)
	py.Env = append(os.Environ(), "CS="+cs.ConnectionString, "REQUESTS_CA_BUNDLE="+filepath.Join(s.data, "pki", "bundle.pem"))
	if out, err := py.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "blob-stored receipt" {
		t.Errorf("python azure-storage-blob over HTTPS with REQUESTS_CA_BUNDLE: %v\n%s", err, tail(string(out), 5))
	}

	// The page links the file at the blob service; the browser gets it from there.
	_, list := s.get(host, "/")
	link := regexp.MustCompile(`href="(https://127\.0\.0\.1:\d+/todomedia/media/attachments/receipt[^"]*)"`).FindStringSubmatch(list)
	if link == nil {
		t.Fatalf("no link to the blob in the list page")
	}
	u := strings.ReplaceAll(link[1], "&amp;", "&")
	browser := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.rootPool(t)}}}
	resp, err := browser.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "blob-stored receipt" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET %s = %d %q %q", u, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
}
