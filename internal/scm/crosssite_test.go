package scm

import (
	"net/http"
	"strings"
	"testing"
)

// TestAttackCrossSiteWrites: a page of another site makes a browser that
// holds the app's Basic credentials send a deployment — a form or a
// no-cors fetch may send curl's own content type, so only Origin and
// Sec-Fetch-Site tell it from a tool. Every write is refused then; tools
// (no Origin) and the Kudu site's own pages are served, and reads are not
// affected.
func TestAttackCrossSiteWrites(t *testing.T) {
	srv := newKudu(t, t.TempDir())
	host := strings.TrimPrefix(srv.URL, "http://")
	do := func(method, path string, header map[string]string) int {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader("PK\x05\x06"+strings.Repeat("\x00", 18)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		status, _, _ := send(t, req)
		return status
	}
	evil := map[string]string{"Origin": "https://evil.example"}
	for _, tc := range []struct {
		method, path string
		header       map[string]string
	}{
		{"POST", "/api/zipdeploy", evil},
		{"POST", "/api/zipdeploy", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"POST", "/api/zipdeploy", map[string]string{"Origin": "null"}},
		{"POST", "/zipdeploy", evil},
		{"POST", "/api/publish?type=zip", evil},
		{"PUT", "/api/vfs/site/wwwroot/x.txt", evil},
		{"DELETE", "/api/deployments/d1", evil},
	} {
		if got := do(tc.method, tc.path, tc.header); got != http.StatusForbidden {
			t.Errorf("%s %s with %v: %d, want 403", tc.method, tc.path, tc.header, got)
		}
	}
	for _, tc := range []struct {
		method, path string
		header       map[string]string
	}{
		{"POST", "/api/zipdeploy", nil},                                           // curl, az
		{"POST", "/api/zipdeploy", map[string]string{"Origin": "http://" + host}}, // the Kudu site's own page
		{"GET", "/api/deployments", evil},                                         // reads: CORS keeps the answer from the page
	} {
		if got := do(tc.method, tc.path, tc.header); got == http.StatusForbidden {
			t.Errorf("%s %s with %v: 403", tc.method, tc.path, tc.header)
		}
	}
}
