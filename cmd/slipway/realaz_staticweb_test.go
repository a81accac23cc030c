package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// scStaticWebsite is the static website with the real az, as Microsoft's
// "Host a static website in Azure Storage" walks it through with the CLI
// (learn.microsoft.com/azure/storage/blobs/storage-blob-static-website-how-to):
// `storage blob service-properties update --static-website --index-document
// --404-document` with the checks of azure-cli's
// test_storage_blob_update_service_properties, `storage blob upload-batch -d
// '$web'`, `storage account show --query primaryEndpoints.web`, then the site
// read at that URL over HTTPS with the platform's root (what curl --cacert
// does): the index, a folder's index, the 404 document and the content
// types az gave the files; then `--static-website false`.
func scStaticWebsite(s *azScenario, web platformHTTP) {
	a := stNewAccount(s, "rg-st-web", "stweb1")[0]
	url, _ := s.cmd("storage account show -n stweb1 -g rg-st-web --query primaryEndpoints.web").(string)
	if want := fmt.Sprintf("https://stweb1.web.localhost:%d/", s.port); url != want {
		s.t.Fatalf("primaryEndpoints.web = %q, want %q", url, want)
	}
	type page struct {
		status      int
		contentType string
		body        string
		code        string // x-ms-error-code
	}
	get := func(path string) page {
		s.t.Helper()
		resp, err := web.client.Get(strings.TrimSuffix(url, "/") + path)
		if err != nil {
			s.t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return page{resp.StatusCode, resp.Header.Get("Content-Type"), string(b), resp.Header.Get("x-ms-error-code")}
	}
	if p := get("/"); p.status != 404 || p.code != "WebsiteDisabled" {
		s.t.Errorf("before enabling: %+v, want 404 WebsiteDisabled", p)
	}

	// test_storage_blob_update_service_properties
	stCmd(s, a, "storage blob service-properties show", jc("staticWebsite.enabled", false))
	stCmd(s, a, "storage blob service-properties update --static-website --index-document index.html --404-document 404.html",
		jc("staticWebsite.enabled", true), jc("staticWebsite.errorDocument_404Path", "404.html"),
		jc("staticWebsite.indexDocument", "index.html"))
	stCmd(s, a, "storage container exists -n $web", jc("exists", true)) // made for you, as on Azure

	dir := s.t.TempDir()
	for name, body := range map[string]string{
		"index.html":      "<h1>home</h1>",
		"404.html":        "<h1>not found</h1>",
		"docs/index.html": "<h1>docs</h1>",
		"css/site.css":    "h1{color:teal}",
		"js/app.js":       "console.log('hi')",
		"img/logo.svg":    `<svg xmlns="http://www.w3.org/2000/svg"/>`,
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			s.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
	stCmd(s, a, fmt.Sprintf("storage blob upload-batch -d $web -s %q", dir), jc("length(@)", 6))

	for _, tc := range []struct {
		path string
		want page
	}{
		{"/", page{200, "text/html", "<h1>home</h1>", ""}},
		{"/docs/", page{200, "text/html", "<h1>docs</h1>", ""}},
		{"/docs", page{200, "text/html", "<h1>docs</h1>", ""}},
		{"/css/site.css", page{200, "text/css", "h1{color:teal}", ""}},
		{"/img/logo.svg", page{200, "image/svg+xml", `<svg xmlns="http://www.w3.org/2000/svg"/>`, ""}},
		{"/missing/page.html", page{404, "text/html", "<h1>not found</h1>", ""}},
	} {
		if got := get(tc.path); got != tc.want {
			s.t.Errorf("GET %s = %+v, want %+v", tc.path, got, tc.want)
		}
	}
	// Python's mimetypes names .js text/javascript (3.12) or
	// application/javascript (older): either is JavaScript to a browser.
	if p := get("/js/app.js"); p.status != 200 || !strings.HasSuffix(p.contentType, "/javascript") {
		s.t.Errorf("GET /js/app.js = %+v", p)
	}
	// And with curl, trusting only the platform's root, as the how-to
	// checks its site (where curl is installed).
	if curl, err := exec.LookPath("curl"); err == nil {
		ca := ""
		for _, e := range s.cli.env {
			if v, ok := strings.CutPrefix(e, "REQUESTS_CA_BUNDLE="); ok {
				ca = v
			}
		}
		out, err := exec.Command(curl, "-sS", "--cacert", ca, "--resolve", fmt.Sprintf("stweb1.web.localhost:%d:127.0.0.1", s.port),
			"-w", " %{http_code} %{content_type}", url+"docs/").CombinedOutput()
		if err != nil || string(out) != "<h1>docs</h1> 200 text/html" {
			s.t.Errorf("curl %sdocs/: %v %q", url, err, out)
		}
	}
	// Read only: the web endpoint takes no writes, signed or not.
	req, _ := http.NewRequest(http.MethodPut, url+"index.html", strings.NewReader("defaced"))
	req.Header.Set("x-ms-blob-type", "BlockBlob")
	if resp, err := web.client.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		s.t.Errorf("PUT at the web endpoint: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	stCmd(s, a, "storage blob service-properties update --static-website false", jc("staticWebsite.enabled", false))
	if p := get("/"); p.status != 404 || p.code != "WebsiteDisabled" {
		s.t.Errorf("after disabling: %+v, want 404 WebsiteDisabled", p)
	}
	stCmd(s, a, "storage blob exists -c $web -n index.html", jc("exists", true)) // the content stays
}
