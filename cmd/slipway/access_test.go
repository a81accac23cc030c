package main

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestAccessRestrictions: a real app behind the front door, reached by the
// test's client from 127.0.0.1. A Deny rule for 127.0.0.1/32 answers App
// Service's 403 and the app never sees the request; an Allow rule for
// 10.0.0.0/8 alone refuses it too (the implicit deny all), whatever
// X-Forwarded-For the client sends; Allow 127.0.0.1 lets it through. Kudu
// has its own rules, or the main ones with scmIpSecurityRestrictionsUseMain.
// The management API is not an app: the rules are changed through it while
// they refuse the client. No change restarts the app.
func TestAccessRestrictions(t *testing.T) {
	s := startServer(t)
	const app = "guarded"
	s.createApp(app)
	if code := s.deployZip(app, zipDir(t, "testdata/apps/hello", nil)); code != "200" {
		t.Fatalf("deploy: %s\n%s", code, s.lastDeploymentLog(app))
	}
	if code, body := s.get(s.host(app), "/"); code != 200 || !strings.HasPrefix(body, "hello") {
		t.Fatalf("GET / before any rule = %d %q", code, body)
	}
	var site struct{ ID string }
	json.Unmarshal([]byte(s.mustCLI("", "webapp", "show", "-g", "rg-"+app, "-n", app)), &site)
	patch := func(props string) {
		t.Helper()
		if code, b := s.arm("PATCH", site.ID+"/config/web?api-version=2024-11-01", `{"properties":`+props+`}`); code != 200 {
			t.Fatalf("PATCH config/web %s: %d %s", props, code, b)
		}
	}
	fetch := func(host, path string, hdr ...string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", s.url(host, path), nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := s.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header.Get("Content-Type")
	}
	refused := func(step, path string, hdr ...string) {
		t.Helper()
		code, body, _ := fetch(s.host(app), path, hdr...)
		if code != 403 || !strings.Contains(body, "Error 403 - Forbidden") || !strings.Contains(body, "The web app you have attempted to reach has blocked your access.") {
			t.Fatalf("%s: GET %s = %d %q; want App Service's 403 page", step, path, code, body)
		}
	}
	user, pass := s.credentials(app)
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	kudu := func() (int, string, string) {
		t.Helper()
		return fetch(s.host(app+".scm"), "/api/deployments", "Authorization", auth)
	}

	// Allow 10.0.0.0/8 only: the implicit deny all refuses the client —
	// and /touch, which leaves a marker next to the code, never runs — and
	// a forged X-Forwarded-For in that range does not help.
	patch(`{"ipSecurityRestrictions":[{"ipAddress":"10.0.0.0/8","action":"Allow","priority":100}]}`)
	refused("implicit deny all", "/touch")
	refused("forged X-Forwarded-For", "/touch", "X-Forwarded-For", "10.1.2.3", "X-Client-IP", "10.1.2.3", "Forwarded", "for=10.1.2.3")

	// Deny 127.0.0.1/32, everyone else allowed: the client is refused;
	// Kudu, under no rules of its own, is not.
	patch(`{"ipSecurityRestrictions":[{"ipAddress":"127.0.0.1/32","action":"Deny","priority":100,"name":"me"}],"ipSecurityRestrictionsDefaultAction":"Allow"}`)
	refused("deny rule", "/touch")
	if code, body, _ := kudu(); code != 200 {
		t.Fatalf("Kudu under the app's rules only: %d %s", code, body)
	}

	// Allow 127.0.0.1, deny the rest: through, and the app sees its first /touch.
	patch(`{"ipSecurityRestrictions":[{"ipAddress":"127.0.0.1","action":"Allow","priority":100}],"ipSecurityRestrictionsDefaultAction":"Deny"}`)
	if code, body, _ := fetch(s.host(app), "/touch"); code != 200 || body != "new" {
		t.Fatalf("allowed: GET /touch = %d %q; want \"new\" (a refused request reached the app?)", code, body)
	}

	// Kudu's own rules: it refuses the client in plain text; the app does not.
	patch(`{"scmIpSecurityRestrictions":[{"ipAddress":"127.0.0.1/32","action":"Deny","priority":1}]}`)
	if code, body, ct := kudu(); code != 403 || !strings.HasPrefix(ct, "text/plain") || !strings.Contains(body, "Forbidden") {
		t.Fatalf("Kudu with a deny rule: %d %s %q", code, ct, body)
	}
	if code, body, _ := fetch(s.host(app), "/"); code != 200 {
		t.Fatalf("the app under Kudu's deny rule: %d %q", code, body)
	}
	// With the main rules (which allow 127.0.0.1), Kudu answers again.
	patch(`{"scmIpSecurityRestrictionsUseMain":true}`)
	if code, body, _ := kudu(); code != 200 {
		t.Fatalf("Kudu on the main rules: %d %s", code, body)
	}

	// None of it restarted the app: the marker is still there.
	if code, body, _ := fetch(s.host(app), "/touch"); code != 200 || body != "existed" {
		t.Fatalf("GET /touch after the rule changes = %d %q; want \"existed\" (the app restarted?)", code, body)
	}
}
