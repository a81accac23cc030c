package scm

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/redact"
)

// testAddresses are a server's blob addresses: the front door on 8443
// under "localhost", the path-style listener on 10000.
var testAddresses = BlobAddresses{Domain: "localhost", Port: 8443, PathHosts: []string{"127.0.0.1", "localhost"}, BlobPort: 10000}

// TestPackageURIAttacks: a packageUri is fetched by the server, so a
// tenant could aim it at whatever the server reaches (SSRF). Only a blob
// of this server's own blob service is taken, in the forms that service
// answers for blobs (README "Blob storage", "Azure's own names"); every
// other URL is a 400 that says what is accepted.
func TestPackageURIAttacks(t *testing.T) {
	const sas = "?sv=2024-08-04&sr=b&sp=r&se=2030-01-01T00%3A00%3A00Z&sig=c2VjcmV0"
	accepted := []string{
		"https://acct.blob.localhost:8443/c/app.zip" + sas,
		"https://ACCT.Blob.LocalHost:8443/c/dir/app.zip" + sas,
		"https://acct.blob.localhost/c/app.zip" + sas,
		"http://127.0.0.1:10000/acct/c/app.zip" + sas,
		"http://localhost:10000/acct/c/app.zip",
		"https://acct.blob.core.windows.net/c/app.zip" + sas,
		"https://acct.blob.core.windows.net:443/c/app.zip" + sas,
		"https://acct.blob.localhost:8443/c/app.zip#fragment",
	}
	for _, raw := range accepted {
		if _, err := parsePackageURI(raw, testAddresses); err != nil {
			t.Errorf("parsePackageURI(%q) = %v, want it accepted", raw, err)
		}
	}
	refused := []struct{ name, uri string }{
		{"another host", "https://evil.example.com/acct/c/app.zip" + sas},
		{"another host, blob-like", "https://acct.blob.localhost.evil.example.com/c/app.zip"},
		{"a suffix of the domain", "https://acct.blob.xlocalhost:8443/c/app.zip"},
		{"cloud metadata", "http://169.254.169.254/metadata/identity/oauth2/token?resource=x"},
		{"cloud metadata, host-style lookalike", "http://169.254.169.254:10000/acct/c/app.zip"},
		{"loopback, the front door's port", "http://127.0.0.1:8443/acct/c/app.zip"},
		{"loopback, another port", "http://127.0.0.1:22/acct/c/app.zip"},
		{"loopback, no port", "http://127.0.0.1/acct/c/app.zip"},
		{"another loopback address", "http://127.0.0.2:10000/acct/c/app.zip"},
		{"loopback in decimal", "http://2130706433:10000/acct/c/app.zip"},
		{"loopback in hex", "http://0x7f.0.0.1:10000/acct/c/app.zip"},
		{"IPv6 loopback", "http://[::1]:10000/acct/c/app.zip"},
		{"IPv4-mapped loopback", "http://[::ffff:127.0.0.1]:10000/acct/c/app.zip"},
		{"unspecified address", "http://0.0.0.0:10000/acct/c/app.zip"},
		{"private address", "http://10.0.0.1:10000/acct/c/app.zip"},
		{"host-style, another port", "https://acct.blob.localhost:22/c/app.zip"},
		{"Azure name, another port", "https://acct.blob.core.windows.net:8080/c/app.zip"},
		{"userinfo", "https://user:pass@acct.blob.localhost:8443/c/app.zip"},
		{"userinfo hiding another host", "https://acct.blob.localhost:8443@evil.example.com/c/app.zip"},
		{"backslash trick", "https://evil.example.com\\@acct.blob.localhost:8443/c/app.zip"},
		{"file scheme", "file:///etc/passwd"},
		{"ftp scheme", "ftp://acct.blob.localhost/c/app.zip"},
		{"gopher scheme", "gopher://127.0.0.1:10000/_acct"},
		{"no scheme", "acct.blob.localhost:8443/c/app.zip"},
		{"scheme-relative", "//acct.blob.localhost:8443/c/app.zip"},
		{"opaque", "https:acct.blob.localhost/c/app.zip"},
		{"no blob, host-style", "https://acct.blob.localhost:8443/c"},
		{"no blob, path-style", "http://127.0.0.1:10000/acct/c/"},
		{"no account, host-style", "https://.blob.localhost:8443/c/app.zip"},
		{"not an account name", "https://acct-x.blob.localhost:8443/c/app.zip"},
		{"subdomain before the account", "https://a.acct.blob.localhost:8443/c/app.zip"},
		{"not an account name, path-style", "http://127.0.0.1:10000/ACCT_/c/app.zip"},
		{"an operation, not a blob", "https://acct.blob.localhost:8443/c/app.zip?comp=tags"},
		{"a listing", "http://127.0.0.1:10000/acct/c/x?restype=container&comp=list"},
		{"a newline", "https://acct.blob.localhost:8443/c/app.zip\r\nHost: evil"},
		{"empty", ""},
		{"too long", "https://acct.blob.localhost:8443/c/" + strings.Repeat("a", maxPackageURI)},
	}
	for _, c := range refused {
		_, err := parsePackageURI(c.uri, testAddresses)
		if slipway.ErrorCode(err) != slipway.EINVALID || !strings.Contains(slipway.ErrorMessage(err), "blob") {
			t.Errorf("%s: parsePackageURI(%q) = %v, want a 400 naming what is accepted", c.name, c.uri, err)
		}
	}
}

// TestMaskSAS: a SAS's signature never reaches a record or a message.
func TestMaskSAS(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://acct.blob.localhost/c/app.zip?sv=2024-08-04&sp=r&sig=c2VjcmV0%3D", "https://acct.blob.localhost/c/app.zip?sv=2024-08-04&sp=r&sig=***"},
		{"https://acct.blob.localhost/c/app.zip?SIG=c2VjcmV0&sig=other", "https://acct.blob.localhost/c/app.zip?SIG=***&sig=***"},
		{"https://acct.blob.localhost/c/app.zip?%73ig=c2VjcmV0", "https://acct.blob.localhost/c/app.zip?%73ig=***"},
		{"https://acct.blob.localhost/c/app.zip", "https://acct.blob.localhost/c/app.zip"},
		{"https://acct.blob.localhost/c/app.zip?signature=kept", "https://acct.blob.localhost/c/app.zip?signature=kept"},
	} {
		u, err := url.Parse(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := redact.SASURL(u); got != c.want {
			t.Errorf("redact.SASURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// fakePackages serves blobs by URL path; it records what it was asked.
type fakePackages struct {
	mu     sync.Mutex
	blobs  map[string]string // path → content
	err    error
	size   int64 // reported size; 0: the content's
	opened []string
}

func (f *fakePackages) Open(_ context.Context, u *url.URL) (io.ReadCloser, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opened = append(f.opened, u.String())
	if f.err != nil {
		return nil, 0, f.err
	}
	b, ok := f.blobs[u.Path]
	if !ok {
		return nil, 0, slipway.Errorf(slipway.ENOTFOUND, "BlobNotFound: The specified blob does not exist.")
	}
	n := int64(len(b))
	if f.size != 0 {
		n = f.size
	}
	return io.NopCloser(strings.NewReader(b)), n, nil
}

func newURLKudu(t *testing.T, pk Packages) (*httptest.Server, *submitRecorder) {
	t.Helper()
	rec := &submitRecorder{}
	h := New(Config{
		Store: &fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: "app"}}, Deployer: rec,
		SiteOf:   func(*http.Request) string { return "app" },
		Packages: pk, PackageAddresses: testAddresses,
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, rec
}

func sendJSON(t *testing.T, srv *httptest.Server, method, p, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+p, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	status, _, b := send(t, req)
	return status, string(b)
}

// TestDeployFromURL: Kudu's deployments from a packageUri — PUT and POST
// /api/zipdeploy and POST /api/publish with {"packageUri": ...} — deploy
// the blob the URL names, and the record says so with the SAS's
// signature masked.
func TestDeployFromURL(t *testing.T) {
	pk := &fakePackages{blobs: map[string]string{"/c/app.zip": "ZIPDATA", "/acct/c/app.zip": "PATHSTYLE"}}
	srv, rec := newURLKudu(t, pk)
	const sas = "?sv=2024-08-04&sr=b&sp=r&se=2030-01-01T00%3A00%3A00Z&sig=c2VjcmV0"
	hostStyle := "https://acct.blob.localhost:8443/c/app.zip" + sas
	for _, c := range []struct {
		method, path, body string
		wantStatus         int
		wantBody, wantMsg  string
	}{
		{"PUT", "/api/zipdeploy", `{"packageUri":"` + hostStyle + `"}`, 200, "ZIPDATA",
			"Created via a push deployment from https://acct.blob.localhost:8443/c/app.zip?sv=2024-08-04&sr=b&sp=r&se=2030-01-01T00%3A00%3A00Z&sig=***"},
		{"PUT", "/zipdeploy?isAsync=true", `{"packageUri":"http://127.0.0.1:10000/acct/c/app.zip"}`, 202, "PATHSTYLE",
			"Created via a push deployment from http://127.0.0.1:10000/acct/c/app.zip"},
		{"POST", "/api/zipdeploy?message=mine", `{"packageUri":"` + hostStyle + `"}`, 200, "ZIPDATA", "mine"},
		{"POST", "/api/publish?type=zip", `{"packageUri":"` + hostStyle + `"}`, 200, "ZIPDATA",
			"OneDeploy from https://acct.blob.localhost:8443/c/app.zip?sv=2024-08-04&sr=b&sp=r&se=2030-01-01T00%3A00%3A00Z&sig=***"},
		{"PUT", "/api/publish?type=zip&async=true", `{"properties":{"packageUri":"` + hostStyle + `"}}`, 202, "ZIPDATA",
			"OneDeploy from https://acct.blob.localhost:8443/c/app.zip?sv=2024-08-04&sr=b&sp=r&se=2030-01-01T00%3A00%3A00Z&sig=***"},
	} {
		before := len(rec.submitted())
		status, body := sendJSON(t, srv, c.method, c.path, c.body)
		if status != c.wantStatus {
			t.Errorf("%s %s = %d %q, want %d", c.method, c.path, status, body, c.wantStatus)
			continue
		}
		calls := rec.submitted()
		if len(calls) != before+1 {
			t.Errorf("%s %s submitted %d deployments, want 1", c.method, c.path, len(calls)-before)
			continue
		}
		rec.mu.Lock()
		got := rec.body[len(rec.body)-1]
		rec.mu.Unlock()
		if got != c.wantBody || calls[len(calls)-1].Message != c.wantMsg {
			t.Errorf("%s %s deployed %q with message %q, want %q, %q", c.method, c.path, got, calls[len(calls)-1].Message, c.wantBody, c.wantMsg)
		}
		if strings.Contains(calls[len(calls)-1].Message, "c2VjcmV0") {
			t.Errorf("%s %s recorded the SAS signature: %q", c.method, c.path, calls[len(calls)-1].Message)
		}
	}
}

// TestDeployFromURLRefusals: a packageUri that is not this server's blob
// is refused before anything is read; the blob service's refusal (no
// such blob, a bad SAS) comes back as a 4xx in its words, and nothing is
// deployed; without a package reader (Packages nil), URLs are refused.
func TestDeployFromURLRefusals(t *testing.T) {
	pk := &fakePackages{blobs: map[string]string{"/c/app.zip": "ZIPDATA"}}
	srv, rec := newURLKudu(t, pk)
	for _, c := range []struct {
		name, method, path, body string
		wantStatus               int
		wantText                 string
	}{
		{"metadata endpoint", "PUT", "/api/zipdeploy", `{"packageUri":"http://169.254.169.254/metadata/instance"}`, 400, "not this server's blob service"},
		{"another server", "POST", "/api/publish?type=zip", `{"packageUri":"https://example.com/app.zip"}`, 400, "not this server's blob service"},
		{"the front door on loopback", "POST", "/api/zipdeploy", `{"packageUri":"http://127.0.0.1:8443/acct/c/app.zip"}`, 400, "only on port 10000"},
		{"a missing blob", "PUT", "/api/zipdeploy", `{"packageUri":"https://acct.blob.localhost:8443/c/missing.zip?sig=c2VjcmV0"}`, 404, "BlobNotFound"},
		{"no packageUri", "PUT", "/api/zipdeploy", `{"url":"https://acct.blob.localhost:8443/c/app.zip"}`, 400, "no packageUri"},
		{"not JSON", "PUT", "/api/zipdeploy", `{"packageUri":`, 400, "not valid"},
		{"PUT with a zip", "PUT", "/api/zipdeploy", "", 400, "application/json"},
		{"a bad publish type", "POST", "/api/publish?type=war", `{"packageUri":"https://acct.blob.localhost:8443/c/app.zip"}`, 400, "war"},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), c.method, srv.URL+c.path, strings.NewReader(c.body))
		if c.name != "PUT with a zip" {
			req.Header.Set("Content-Type", "application/json")
		}
		status, _, b := send(t, req)
		if status != c.wantStatus || !strings.Contains(string(b), c.wantText) {
			t.Errorf("%s: %s %s = %d %q, want %d containing %q", c.name, c.method, c.path, status, b, c.wantStatus, c.wantText)
		}
		if strings.Contains(string(b), "c2VjcmV0") {
			t.Errorf("%s: the answer shows the SAS signature: %q", c.name, b)
		}
	}
	if n := len(rec.submitted()); n != 0 {
		t.Errorf("%d deployments were submitted, want none", n)
	}
	if diff := cmp.Diff([]string{"https://acct.blob.localhost:8443/c/missing.zip?sig=c2VjcmV0"}, pk.opened); diff != "" {
		t.Errorf("blobs opened (-want +got):\n%s", diff)
	}

	// A package larger than a push may be is refused before it is read.
	big := &fakePackages{blobs: map[string]string{"/c/app.zip": "ZIPDATA"}, size: deploy.DefaultMaxPackage + 1}
	srv2, rec2 := newURLKudu(t, big)
	if status, body := sendJSON(t, srv2, "PUT", "/api/zipdeploy", `{"packageUri":"https://acct.blob.localhost:8443/c/app.zip"}`); status != 400 || !strings.Contains(body, "limit") {
		t.Errorf("a package past the limit: %d %q, want 400 naming the limit", status, body)
	}
	if n := len(rec2.submitted()); n != 0 {
		t.Errorf("a package past the limit was submitted")
	}

	// Without a package reader, a packageUri is refused, as before.
	srv3, _ := newURLKudu(t, nil)
	if status, body := sendJSON(t, srv3, "PUT", "/api/zipdeploy", `{"packageUri":"https://acct.blob.localhost:8443/c/app.zip"}`); status != 400 || !strings.Contains(body, "not supported") {
		t.Errorf("without Packages: %d %q, want 400 not supported", status, body)
	}
}
