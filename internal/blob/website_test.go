package blob

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// These tests drive the static website (website.go): its settings with
// the real Go SDK, its web endpoint <account>.web.<domain> with plain
// HTTP requests, as a browser reaches it.

// webSite is a blob service with its web endpoint on a loopback listener.
type webSite struct {
	*testServer
	web *httptest.Server
}

func startWebsite(t *testing.T) *webSite {
	t.Helper()
	ts := startService(t, Config{BaseDomain: "web.test"})
	web := httptest.NewServer(ts.svc.Website())
	t.Cleanup(web.Close)
	return &webSite{ts, web}
}

// get sends method to the web endpoint of account with the raw path (and
// query), as a browser that did not clean it would.
func (ws *webSite) do(t *testing.T, account, method, rawPath string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, ws.web.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = rawPath // sent as given: no cleaning, no re-escaping
	req.Host = account + ".web.web.test"
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := ws.web.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (ws *webSite) get(t *testing.T, rawPath string) (*http.Response, string) {
	t.Helper()
	return ws.do(t, DevelopmentAccountName, http.MethodGet, rawPath, nil)
}

func upload(t *testing.T, c *azblob.Client, cont, name, body, contentType string) {
	t.Helper()
	_, err := c.UploadBuffer(context.Background(), cont, name, []byte(body), &azblob.UploadBufferOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr(contentType)}})
	if err != nil {
		t.Fatalf("upload %s/%s: %v", cont, name, err)
	}
}

func setWebsite(t *testing.T, c *azblob.Client, sw *service.StaticWebsite) error {
	t.Helper()
	_, err := c.ServiceClient().SetProperties(context.Background(), &service.SetPropertiesOptions{StaticWebsite: sw})
	return err
}

func TestWebsiteServesTheSite(t *testing.T) {
	ws := startWebsite(t)
	ctx := context.Background()
	c := newClient(t, ws.testServer)

	// Before it is enabled: Azure's 404 for a disabled website.
	resp, body := ws.get(t, "/")
	if resp.StatusCode != 404 || resp.Header.Get("x-ms-error-code") != "WebsiteDisabled" || !strings.Contains(body, "WebsiteDisabled") {
		t.Fatalf("disabled: %d %q %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"), body)
	}

	// Enabling creates $web (private: the web endpoint does not ask).
	if err := setWebsite(t, c, &service.StaticWebsite{Enabled: to.Ptr(true), IndexDocument: to.Ptr("index.html"), ErrorDocument404Path: to.Ptr("404.html")}); err != nil {
		t.Fatal(err)
	}
	props, err := c.ServiceClient().NewContainerClient("$web").GetProperties(ctx, nil)
	if err != nil {
		t.Fatalf("$web after enabling: %v", err)
	}
	if props.BlobPublicAccess != nil {
		t.Errorf("$web public access %v, want private", *props.BlobPublicAccess)
	}
	sp, err := c.ServiceClient().GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sw := sp.StaticWebsite; sw == nil || !*sw.Enabled || *sw.IndexDocument != "index.html" || *sw.ErrorDocument404Path != "404.html" {
		t.Fatalf("static website = %+v", sp.StaticWebsite)
	}

	// Enabled but empty: the site's 404 page is not there either.
	resp, body = ws.get(t, "/")
	if resp.StatusCode != 404 || resp.Header.Get("x-ms-error-code") != "WebContentNotFound" ||
		!strings.Contains(body, "The requested content does not exist.") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("empty site: %d %q %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"), body)
	}

	upload(t, c, "$web", "index.html", "<h1>home</h1>", "text/html")
	upload(t, c, "$web", "404.html", "<h1>lost</h1>", "text/html; charset=utf-8")
	upload(t, c, "$web", "docs/index.html", "<h1>docs</h1>", "text/html")
	upload(t, c, "$web", "docs/a b.txt", "spaced", "text/plain")
	upload(t, c, "$web", "app.js", "console.log(1)", "application/javascript")
	upload(t, c, "$web", "Case.txt", "upper", "text/plain")
	_, err = c.UploadBuffer(ctx, "$web", "style.css", []byte("body{}"), &azblob.UploadBufferOptions{HTTPHeaders: &blob.HTTPHeaders{
		BlobContentType: to.Ptr("text/css"), BlobCacheControl: to.Ptr("max-age=60"), BlobContentEncoding: to.Ptr("identity"),
		BlobContentLanguage: to.Ptr("en"), BlobContentDisposition: to.Ptr("inline")}})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		path, body, ctype string
		status            int
	}{
		{"/", "<h1>home</h1>", "text/html", 200},
		{"/index.html", "<h1>home</h1>", "text/html", 200},
		{"/docs/", "<h1>docs</h1>", "text/html", 200},
		{"/docs", "<h1>docs</h1>", "text/html", 200}, // a "directory" serves its index
		{"/docs/index.html", "<h1>docs</h1>", "text/html", 200},
		{"/docs/a%20b.txt", "spaced", "text/plain", 200}, // URL-decoded
		{"/docs%2Fa%20b.txt", "spaced", "text/plain", 200},
		{"/app.js", "console.log(1)", "application/javascript", 200},
		{"/style.css", "body{}", "text/css", 200},
		{"/Case.txt", "upper", "text/plain", 200},
		{"/case.txt", "<h1>lost</h1>", "text/html; charset=utf-8", 404}, // names are case-sensitive
		{"/missing.html", "<h1>lost</h1>", "text/html; charset=utf-8", 404},
		{"/nodir/", "<h1>lost</h1>", "text/html; charset=utf-8", 404},
		{"/?comp=list&restype=container", "<h1>home</h1>", "text/html", 200}, // no listing: the query is not the Blob API's
	} {
		resp, body := ws.get(t, tc.path)
		if resp.StatusCode != tc.status || body != tc.body || resp.Header.Get("Content-Type") != tc.ctype {
			t.Errorf("GET %s: %d %q %q; want %d %q %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.status, tc.ctype, tc.body)
		}
	}
	resp, _ = ws.get(t, "/style.css")
	for k, want := range map[string]string{"Cache-Control": "max-age=60", "Content-Encoding": "identity", "Content-Language": "en",
		"Content-Disposition": "inline", "Accept-Ranges": "bytes", "Content-Length": "6"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("style.css %s = %q, want %q", k, got, want)
		}
	}

	t.Run("HEAD, conditional and range requests", func(t *testing.T) {
		resp, body := ws.do(t, DevelopmentAccountName, http.MethodHead, "/", nil)
		if resp.StatusCode != 200 || body != "" || resp.Header.Get("Content-Length") != "13" || resp.Header.Get("ETag") == "" {
			t.Fatalf("HEAD /: %d %q %v", resp.StatusCode, body, resp.Header)
		}
		etag, lm := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
		for _, tc := range []struct {
			hdr    map[string]string
			status int
			body   string
		}{
			{map[string]string{"If-None-Match": etag}, 304, ""},
			{map[string]string{"If-None-Match": `"other"`}, 200, "<h1>home</h1>"},
			{map[string]string{"If-Modified-Since": lm}, 304, ""},
			{map[string]string{"If-Match": `"other"`}, 412, ""},
			{map[string]string{"Range": "bytes=1-2"}, 206, "h1"},
			{map[string]string{"Range": "bytes=4-"}, 206, "home</h1>"},
			{map[string]string{"Range": "bytes=99-"}, 416, ""},
			{map[string]string{"Range": "bytes=1-2", "If-Range": `"other"`}, 200, "<h1>home</h1>"},
			{map[string]string{"Range": "bytes=1-2", "If-Range": etag}, 206, "h1"},
		} {
			resp, body := ws.do(t, DevelopmentAccountName, http.MethodGet, "/", tc.hdr)
			if resp.StatusCode != tc.status || (tc.status != 412 && tc.status != 416 && body != tc.body) {
				t.Errorf("GET / %v: %d %q; want %d %q", tc.hdr, resp.StatusCode, body, tc.status, tc.body)
			}
			if tc.status == 304 && resp.Header.Get("ETag") != etag {
				t.Errorf("304 ETag %q, want %q", resp.Header.Get("ETag"), etag)
			}
		}
	})

	t.Run("without an error document Azure's page answers", func(t *testing.T) {
		if err := setWebsite(t, c, &service.StaticWebsite{Enabled: to.Ptr(true), IndexDocument: to.Ptr("index.html")}); err != nil {
			t.Fatal(err)
		}
		resp, body := ws.get(t, "/missing.html")
		if resp.StatusCode != 404 || resp.Header.Get("x-ms-error-code") != "WebContentNotFound" || !strings.Contains(body, "<li>ErrorCode: WebContentNotFound</li>") {
			t.Errorf("no error document: %d %q %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"), body)
		}
		// An error document that is not there: the same.
		if err := setWebsite(t, c, &service.StaticWebsite{Enabled: to.Ptr(true), IndexDocument: to.Ptr("index.html"), ErrorDocument404Path: to.Ptr("gone.html")}); err != nil {
			t.Fatal(err)
		}
		if resp, _ := ws.get(t, "/missing.html"); resp.StatusCode != 404 || resp.Header.Get("x-ms-error-code") != "WebContentNotFound" {
			t.Errorf("missing error document: %d %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
		}
	})

	t.Run("default index document path", func(t *testing.T) {
		if err := setWebsite(t, c, &service.StaticWebsite{Enabled: to.Ptr(true), DefaultIndexDocumentPath: to.Ptr("/index.html"), ErrorDocument404Path: to.Ptr("404.html")}); err != nil {
			t.Fatal(err)
		}
		for path, want := range map[string]string{"/": "<h1>home</h1>", "/docs/": "<h1>home</h1>", "/docs": "<h1>home</h1>",
			"/nodir/": "<h1>lost</h1>", "/app.js": "console.log(1)"} {
			if _, body := ws.get(t, path); body != want {
				t.Errorf("GET %s = %q, want %q", path, body, want)
			}
		}
	})

	t.Run("validated as Azure does", func(t *testing.T) {
		for name, sw := range map[string]*service.StaticWebsite{
			"index and default index": {Enabled: to.Ptr(true), IndexDocument: to.Ptr("index.html"), DefaultIndexDocumentPath: to.Ptr("index.html")},
			"too long a name":         {Enabled: to.Ptr(true), IndexDocument: to.Ptr(strings.Repeat("a", 1025))},
		} {
			err := setWebsite(t, c, sw)
			if !bloberror.HasCode(err, "InvalidXmlNodeValue") {
				t.Errorf("%s: %v, want 400 InvalidXmlNodeValue", name, err)
			}
		}
		for name, body := range map[string]string{
			"no Enabled":               `<StorageServiceProperties><StaticWebsite><IndexDocument>i.html</IndexDocument></StaticWebsite></StorageServiceProperties>`,
			"Enabled is not a boolean": `<StorageServiceProperties><StaticWebsite><Enabled>yes</Enabled></StaticWebsite></StorageServiceProperties>`,
		} {
			req, _ := http.NewRequest(http.MethodPut, ws.endpoint()+"/?restype=service&comp=properties", strings.NewReader(body))
			signRequest(t, req, DevelopmentAccountName, DevelopmentAccount().Keys[0])
			resp, err := ws.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 400 {
				t.Errorf("%s: %d %s, want 400", name, resp.StatusCode, resp.Header.Get("x-ms-error-code"))
			}
		}
		// Nothing refused changed the setting.
		if resp, body := ws.get(t, "/nodir/"); resp.StatusCode != 404 || body != "<h1>lost</h1>" {
			t.Errorf("after refusals: %d %q", resp.StatusCode, body)
		}
	})

	t.Run("disabling stops serving and keeps $web", func(t *testing.T) {
		if err := setWebsite(t, c, &service.StaticWebsite{Enabled: to.Ptr(false)}); err != nil {
			t.Fatal(err)
		}
		resp, _ := ws.get(t, "/index.html")
		if resp.StatusCode != 404 || resp.Header.Get("x-ms-error-code") != "WebsiteDisabled" {
			t.Errorf("disabled: %d %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
		}
		if _, err := c.ServiceClient().NewContainerClient("$web").NewBlobClient("index.html").GetProperties(ctx, nil); err != nil {
			t.Errorf("$web/index.html after disabling: %v", err)
		}
		// Enabling again with $web there keeps its content.
		if err := setWebsite(t, c, &service.StaticWebsite{Enabled: to.Ptr(true), IndexDocument: to.Ptr("index.html")}); err != nil {
			t.Fatal(err)
		}
		if _, body := ws.get(t, "/"); body != "<h1>home</h1>" {
			t.Errorf("enabled again: %q", body)
		}
	})
}

// TestAttack_Website is a hostile tenant (or a stranger) at a web endpoint:
// nothing outside the account's $web, and nothing of another account, is
// ever served; nothing is listed; nothing is written; a blob cannot set
// headers beyond the content properties Azure serves.
func TestAttack_Website(t *testing.T) {
	ws := startWebsite(t)
	ctx := context.Background()
	c := newClient(t, ws.testServer)
	other := testAccounts().m["otheraccount"]
	oc, err := azblob.NewClientFromConnectionString(connectionString(ws.srv.URL+"/otheraccount", other.Name, other.Keys[0]), nil)
	if err != nil {
		t.Fatal(err)
	}
	const secret = "SECRET-CONTENT"
	for _, cl := range []*azblob.Client{c, oc} {
		if _, err := cl.CreateContainer(ctx, "private", nil); err != nil {
			t.Fatal(err)
		}
		upload(t, cl, "private", "secret.txt", secret, "text/plain")
		upload(t, cl, "private", "index.html", secret, "text/html")
	}
	// The other account's $web exists (its website is off) with a secret.
	if _, err := oc.CreateContainer(ctx, "$web", nil); err != nil {
		t.Fatal(err)
	}
	upload(t, oc, "$web", "index.html", secret, "text/html")

	// The error document and the default index name blobs outside $web.
	if err := setWebsite(t, c, &service.StaticWebsite{Enabled: to.Ptr(true), IndexDocument: to.Ptr("index.html"), ErrorDocument404Path: to.Ptr("../private/secret.txt")}); err != nil {
		t.Fatal(err)
	}
	upload(t, c, "$web", "index.html", "home", "text/html")
	upload(t, c, "$web", "sub/page.html", "page", "text/html")

	t.Run("paths never leave $web", func(t *testing.T) {
		for _, p := range []string{
			"/../private/secret.txt", "/sub/../../private/secret.txt", "/%2e%2e/private/secret.txt", "/%2E%2E%2Fprivate%2Fsecret.txt",
			"/..%2fprivate%2fsecret.txt", `/..\private\secret.txt`, "/..%5cprivate%5csecret.txt", "/%252e%252e/private/secret.txt",
			"/..%252fprivate%252fsecret.txt", "/%00/../private/secret.txt", "/secret.txt%00", "/./../private/./secret.txt",
			"/private/secret.txt", "/$web/../private/secret.txt", "/devstoreaccount1/private/secret.txt",
			"/otheraccount/$web/index.html", "/../otheraccount/private/secret.txt", "/../../otheraccount/$web/index.html",
			"/%2e%2e/%2e%2e/otheraccount/private/secret.txt", "/private/", "/../private/", "/..%2fprivate%2f",
			"/private/secret.txt?snapshot=x", "/.//private/secret.txt", "/%2f%2fprivate/secret.txt",
		} {
			resp, body := ws.get(t, p)
			if strings.Contains(body, secret) || resp.StatusCode >= 500 {
				t.Errorf("GET %s: %d %q", p, resp.StatusCode, body)
			}
		}
		// Dot segments resolve inside the site, as a browser resolves them.
		if resp, body := ws.get(t, "/sub/../index.html"); resp.StatusCode != 200 || body != "home" {
			t.Errorf("GET /sub/../index.html: %d %q", resp.StatusCode, body)
		}
		if resp, body := ws.get(t, "/../../sub/page.html"); resp.StatusCode != 200 || body != "page" {
			t.Errorf("GET /../../sub/page.html: %d %q", resp.StatusCode, body)
		}
	})

	t.Run("settings that name blobs outside $web", func(t *testing.T) {
		for _, sw := range []*service.StaticWebsite{
			{Enabled: to.Ptr(true), IndexDocument: to.Ptr("../private/index.html")},
			{Enabled: to.Ptr(true), IndexDocument: to.Ptr("../../otheraccount/$web/index.html")},
			{Enabled: to.Ptr(true), DefaultIndexDocumentPath: to.Ptr("/../private/secret.txt")},
			{Enabled: to.Ptr(true), DefaultIndexDocumentPath: to.Ptr("../../otheraccount/private/secret.txt"), ErrorDocument404Path: to.Ptr("/../../otheraccount/$web/index.html")},
		} {
			if err := setWebsite(t, c, sw); err != nil && !bloberror.HasCode(err, "InvalidXmlNodeValue") {
				t.Fatal(err)
			}
			for _, p := range []string{"/", "/sub/", "/missing", "/../private/"} {
				if resp, body := ws.get(t, p); strings.Contains(body, secret) || resp.StatusCode >= 500 {
					t.Errorf("%+v GET %s: %d %q", sw, p, resp.StatusCode, body)
				}
			}
		}
		if err := setWebsite(t, c, &service.StaticWebsite{Enabled: to.Ptr(true), IndexDocument: to.Ptr("index.html")}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("another account's web endpoint", func(t *testing.T) {
		// Its website is off: its $web is not served, whatever is in it.
		resp, body := ws.do(t, "otheraccount", http.MethodGet, "/", nil)
		if resp.StatusCode != 404 || strings.Contains(body, secret) || resp.Header.Get("x-ms-error-code") != "WebsiteDisabled" {
			t.Errorf("otheraccount (disabled): %d %q", resp.StatusCode, body)
		}
		// An account that does not exist: 404, not a 500.
		for _, acct := range []string{"nosuchaccount", "UPPER", "a", "%2e%2e", "devstoreaccount1.web.test"} {
			resp, body := ws.do(t, acct, http.MethodGet, "/", nil)
			if resp.StatusCode != 404 || strings.Contains(body, secret) || strings.Contains(body, "home") {
				t.Errorf("account %q: %d %q", acct, resp.StatusCode, body)
			}
		}
	})

	t.Run("host names that are not a web endpoint", func(t *testing.T) {
		for _, host := range []string{
			"devstoreaccount1.blob.web.test", "devstoreaccount1.web.evil.test", "x.devstoreaccount1.web.web.test",
			"web.test", ".web.web.test", "devstoreaccount1.web.web.test.evil", "devstoreaccount1",
		} {
			req, _ := http.NewRequest(http.MethodGet, ws.web.URL+"/index.html", nil)
			req.Host = host
			resp, err := ws.web.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 404 || strings.Contains(string(b), "home") {
				t.Errorf("Host %s: %d %q", host, resp.StatusCode, b)
			}
		}
		// The port and case of the name do not matter.
		req, _ := http.NewRequest(http.MethodGet, ws.web.URL+"/index.html", nil)
		req.Host = "DevStoreAccount1.Web.Web.Test:8443"
		resp, err := ws.web.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "home" {
			t.Errorf("mixed-case host: %d %q", resp.StatusCode, b)
		}
	})

	t.Run("read only, with or without credentials", func(t *testing.T) {
		for _, m := range []string{http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodPatch, http.MethodOptions, "PROPFIND"} {
			resp, _ := ws.do(t, DevelopmentAccountName, m, "/index.html", map[string]string{
				"x-ms-blob-type": "BlockBlob", "Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"})
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("%s: %d, allow-origin %q; want 405", m, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
			}
		}
		// A signed write addressed to the web endpoint writes nothing either.
		req, _ := http.NewRequest(http.MethodPut, ws.web.URL+"/index.html", strings.NewReader("defaced"))
		req.Host = DevelopmentAccountName + ".web.web.test"
		req.Header.Set("x-ms-blob-type", "BlockBlob")
		signRequest(t, req, DevelopmentAccountName, DevelopmentAccount().Keys[0])
		resp, err := ws.web.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("signed PUT: %d", resp.StatusCode)
		}
		if _, body := ws.get(t, "/index.html"); body != "home" {
			t.Errorf("index.html now %q", body)
		}
	})

	t.Run("a blob sets only its content headers", func(t *testing.T) {
		_, err := c.UploadBuffer(ctx, "$web", "evil.html", []byte("<p>x</p>"), &azblob.UploadBufferOptions{
			HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("text/html"), BlobCacheControl: to.Ptr("no-cache"),
				BlobContentDisposition: to.Ptr("inline"), BlobContentLanguage: to.Ptr("en"), BlobContentEncoding: to.Ptr("identity")},
			Metadata: map[string]*string{"SetCookie": to.Ptr("a=b"), "Location": to.Ptr("https://evil.example")},
			Tags:     map[string]string{"Set-Cookie": "x"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ServiceClient().NewContainerClient("$web").NewBlobClient("evil.html").SetTier(ctx, blob.AccessTierCool, nil); err != nil {
			t.Fatal(err)
		}
		resp, _ := ws.do(t, DevelopmentAccountName, http.MethodGet, "/evil.html", map[string]string{"Cookie": "ARRAffinity=abc"})
		if resp.StatusCode != 200 {
			t.Fatalf("evil.html: %d", resp.StatusCode)
		}
		allowed := map[string]bool{"Content-Type": true, "Content-Length": true, "Content-Md5": true, "Content-Encoding": true,
			"Content-Language": true, "Content-Disposition": true, "Cache-Control": true, "Etag": true, "Last-Modified": true,
			"Accept-Ranges": true, "Date": true, "Server": true, "X-Ms-Request-Id": true, "X-Ms-Version": true}
		for k := range resp.Header {
			if !allowed[k] {
				t.Errorf("response header %s: %q", k, resp.Header.Values(k))
			}
		}
	})

	t.Run("no listing of $web", func(t *testing.T) {
		// A directory without an index: the 404, not a listing.
		for _, p := range []string{"/sub/", "/sub", "/?restype=container&comp=list", "/sub/?comp=list", "/?comp=list"} {
			resp, body := ws.get(t, p)
			if strings.Contains(body, "page.html") || strings.Contains(body, "EnumerationResults") {
				t.Errorf("GET %s lists: %d %q", p, resp.StatusCode, body)
			}
		}
	})

	t.Run("$web's public access level does not matter", func(t *testing.T) {
		for _, pa := range []*container.PublicAccessType{to.Ptr(container.PublicAccessTypeContainer), nil} {
			if _, err := c.ServiceClient().NewContainerClient("$web").SetAccessPolicy(ctx, &container.SetAccessPolicyOptions{Access: pa}); err != nil {
				t.Fatal(err)
			}
			if resp, body := ws.get(t, "/"); resp.StatusCode != 200 || body != "home" {
				t.Errorf("public access %v: %d %q", pa, resp.StatusCode, body)
			}
		}
	})
}

// signRequest signs req with SharedKey as account with key.
func signRequest(t *testing.T, req *http.Request, account string, key []byte) {
	t.Helper()
	req.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("x-ms-version", "2021-08-06")
	signSharedKey(req, int(max(req.ContentLength, 0)), account, key)
}

// TestPythonSDKStaticWebsite runs testdata/sdk_python_website.py: the real
// azure-storage-blob enables the website with set_service_properties
// (static_website=StaticWebsite(...)), uploads a site to $web and reads it
// back at the web endpoint.
func TestPythonSDKStaticWebsite(t *testing.T) {
	py := pythonWithSDK(t)
	ws := startWebsite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/sdk_python_website.py")
	cmd.Env = append(os.Environ(), "SLIPWAY_BLOB_CONNECTION_STRING="+ws.conn, "SLIPWAY_WEB_URL="+ws.web.URL,
		"SLIPWAY_WEB_HOST="+DevelopmentAccountName+".web.web.test")
	out, err := cmd.CombinedOutput()
	t.Logf("sdk_python_website.py output:\n%s", out)
	if err != nil {
		t.Fatalf("sdk_python_website.py failed: %v", err)
	}
}

// TestWebsiteSkipsSoftDeletedBlobs: with soft delete on, a deleted blob of
// $web is kept but gone: the web endpoint neither serves it nor takes the
// folder it was in for one (DefaultIndexDocumentPath answers folders that
// exist).
func TestWebsiteSkipsSoftDeletedBlobs(t *testing.T) {
	ws := startWebsite(t)
	ctx := context.Background()
	c := newClient(t, ws.testServer)
	enableSoftDelete(t, c, 7)
	if err := setWebsite(t, c, &service.StaticWebsite{Enabled: to.Ptr(true), DefaultIndexDocumentPath: to.Ptr("index.html"), ErrorDocument404Path: to.Ptr("404.html")}); err != nil {
		t.Fatal(err)
	}
	upload(t, c, "$web", "index.html", "<h1>home</h1>", "text/html")
	upload(t, c, "$web", "404.html", "<h1>lost</h1>", "text/html")
	upload(t, c, "$web", "old/page.html", "<h1>old</h1>", "text/html")
	if _, body := ws.get(t, "/old/"); body != "<h1>home</h1>" {
		t.Fatalf("GET /old/ before the delete = %q, want the default index", body)
	}
	if _, err := c.DeleteBlob(ctx, "$web", "old/page.html", nil); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/old/": "<h1>lost</h1>", "/old/page.html": "<h1>lost</h1>"} {
		if resp, body := ws.get(t, path); resp.StatusCode != 404 || body != want {
			t.Errorf("GET %s after the delete = %d %q, want 404 %q", path, resp.StatusCode, body, want)
		}
	}
}
