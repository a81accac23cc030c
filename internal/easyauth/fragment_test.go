package easyauth

import (
	"net/http"
	"strings"
	"testing"
)

// TestFragmentPage: with preserveUrlFragmentsForLogins an unauthenticated
// browser gets the page that carries its URL fragment on (a 200 with a
// hash-pinned script, not a redirect); the request's path, hostile as
// it may be, stays an escaped attribute value; a script's XMLHttpRequest
// still gets its 401 and a POST its redirect.
func TestFragmentPage(t *testing.T) {
	h := newHarness(t)
	s := settings()
	s.Login.PreserveURLFragmentsForLogins = true
	res := h.do("app", s, get(`https://app.localhost/a"><script>alert(1)</script>?q='x'`))
	body := res.rec.Body.String()
	if res.app || res.rec.Code != http.StatusOK || res.rec.Header().Get("Location") != "" {
		t.Fatalf("%d, Location %q", res.rec.Code, res.rec.Header().Get("Location"))
	}
	if csp := res.rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'sha256-") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
	if strings.Count(body, "<script>") != 1 || strings.Contains(body, "alert(1)</script>") {
		t.Fatalf("the request's path reached the page unescaped:\n%s", body)
	}
	if !strings.Contains(body, `data-target="/.auth/login/aad?post_login_redirect_uri=%2Fa%2522%253E%253Cscript%253E`) {
		t.Errorf("the page does not carry the login URL:\n%s", body)
	}
	xhr := get("https://app.localhost/data")
	xhr.Header.Set("X-Requested-With", "XMLHttpRequest")
	if res := h.do("app", s, xhr); res.rec.Code != http.StatusUnauthorized {
		t.Errorf("XMLHttpRequest: %d, want 401", res.rec.Code)
	}
	post := get("https://app.localhost/form")
	post.Method = http.MethodPost
	if res := h.do("app", s, post); res.rec.Code != http.StatusFound {
		t.Errorf("POST: %d, want the redirect", res.rec.Code)
	}
}
