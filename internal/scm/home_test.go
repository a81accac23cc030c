package scm

import (
	"net/http"
	"strings"
	"testing"
)

// TestKuduHome: Kudu's root answers a browser with its home page (the
// environment, SSH, the log stream and the REST API's links, no script, no
// framing by another site) and anything else with a line naming the API;
// both only with credentials.
func TestKuduHome(t *testing.T) {
	srv := newSSHKudu(t, runningSite(), &localShells{})
	get := func(accept string, auth bool) (*http.Response, string) {
		t.Helper()
		return webSSHGet(t, srv, "/", !auth, accept)
	}
	const browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	if resp, _ := get(browser, false); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without credentials: %d", resp.StatusCode)
	}
	resp, body := get(browser, true)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") || resp.Header.Get("X-Frame-Options") != "SAMEORIGIN" {
		t.Fatalf("a browser's request: %d %v", resp.StatusCode, resp.Header)
	}
	for _, want := range []string{"<title>Kudu Services: app</title>", `href="/webssh/host"`, `href="/api/logstream"`, `href="/api/deployments"`, `href="/api/vfs/"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the home page lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<script") {
		t.Errorf("the home page runs a script")
	}
	for _, accept := range []string{"", "*/*", "application/json"} {
		resp, body := get(accept, true)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || !strings.Contains(body, "/api/zipdeploy") ||
			resp.Header.Get("Vary") != "Accept" {
			t.Errorf("Accept %q: %d %q %q", accept, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
}
