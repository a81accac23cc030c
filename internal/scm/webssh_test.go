package scm

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// webSSHGet sends GET path to srv, with the app's credentials unless
// anonymous, and the Accept header accept if not "".
func webSSHGet(t *testing.T, srv *httptest.Server, path string, anonymous bool, accept ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	if !anonymous {
		req.SetBasicAuth("$app", "pass")
	}
	if len(accept) > 0 && accept[0] != "" {
		req.Header.Set("Accept", accept[0])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestWebSSHPage: /webssh/host, where Microsoft's documentation sends a
// browser for SSH, is a page of the app's Kudu site: it and its files
// authenticate as every Kudu request does (a browser asks for the app's
// credentials), run nothing but their own scripts, and cannot be framed by
// another site. The session itself is /exec/shell's (TestExecShell; a
// foreign Origin is refused: TestExecRefusals).
func TestWebSSHPage(t *testing.T) {
	srv := newSSHKudu(t, runningSite(), &localShells{})

	resp, _ := webSSHGet(t, srv, "/webssh/host", true)
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("without credentials: %d %q, want 401 with a Basic challenge (a browser then asks)", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	for _, f := range []string{"/webssh/webssh.mjs", "/webssh/xterm.mjs"} {
		if resp, _ := webSSHGet(t, srv, f, true); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s without credentials: %d, want 401", f, resp.StatusCode)
		}
	}

	resp, body := webSSHGet(t, srv, "/webssh/host", false)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("the page: %d %q\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("the page's policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(strings.SplitN(csp[strings.Index(csp, "script-src"):], ";", 2)[0], "unsafe") {
		t.Errorf("the page's policy lets inline scripts run: %q", csp)
	}
	if resp.Header.Get("X-Frame-Options") != "SAMEORIGIN" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("the page's headers: %v", resp.Header)
	}
	if !strings.Contains(body, "<title>SSH: app</title>") || !strings.Contains(body, `src="/webssh/webssh.mjs"`) || strings.Contains(body, "<script>") {
		t.Errorf("the page:\n%s", body)
	}

	// Its files, with their types; nothing else under /webssh/.
	for f, ct := range map[string]string{"webssh.mjs": "text/javascript", "xterm.mjs": "text/javascript",
		"addon-fit.mjs": "text/javascript", "xterm.css": "text/css", "webssh.css": "text/css"} {
		resp, body := webSSHGet(t, srv, "/webssh/"+f, false)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), ct) || len(body) < 100 ||
			resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("/webssh/%s: %d %q, %d bytes", f, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
	}
	for _, p := range []string{"/webssh/LICENSE.xterm", "/webssh/nothing.mjs", "/webssh/..%2fscm.go", "/webssh/%2e%2e%2fwebssh.go",
		"/webssh/static%2fxterm.mjs", "/webssh/.mjs", "/webssh/xterm.mjs.map"} {
		if resp, body := webSSHGet(t, srv, p, false); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404\n%.200s", p, resp.StatusCode, body)
		}
	}

	// The page takes nothing from its URL: a link another site hands a
	// signed-in browser cannot type a command into the shell.
	_, script := webSSHGet(t, srv, "/webssh/webssh.mjs", false)
	for _, risky := range []string{"location.search", "location.hash", "location.href", "URLSearchParams", "postMessage", "addEventListener(\"message\""} {
		if strings.Contains(script, risky) {
			t.Errorf("the page's script reads %s: nothing from outside the page may reach the shell", risky)
		}
	}
}

// TestWebSSHPageRefusals: a stopped app, or a server without sandboxes,
// gets a page that says so instead of a terminal that cannot connect.
func TestWebSSHPageRefusals(t *testing.T) {
	stopped := runningSite()
	stopped.Enabled = false
	for name, srv := range map[string]*httptest.Server{
		"stopped":    newSSHKudu(t, stopped, &localShells{}),
		"no sandbox": newSSHKudu(t, runningSite(), nil),
	} {
		resp, body := webSSHGet(t, srv, "/webssh/host", false)
		want := map[string]int{"stopped": http.StatusConflict, "no sandbox": http.StatusServiceUnavailable}[name]
		if resp.StatusCode != want || !strings.Contains(body, map[string]string{"stopped": "az webapp start", "no sandbox": "no sandbox"}[name]) {
			t.Errorf("%s: %d, want %d with why\n%s", name, resp.StatusCode, want, body)
		}
	}
}
