package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRealAzCORS: the unmodified az sets an app's platform CORS as
// Microsoft's tutorial does ("Host a RESTful API with CORS in Azure App
// Service"): `webapp cors add|show|remove`, `resource update --set
// properties.cors.supportCredentials=true`, and `--slot` for a slot's own;
// after each step the front door answers CORS for the app as set: a
// preflight from an allowed origin with 204 and the allowance, an allowed
// origin's GET with Access-Control-Allow-Origin, and another origin with
// nothing.
func TestRealAzCORS(t *testing.T) {
	t.Parallel() // its own server and names; az mostly waits (CI time)
	r := startRealAz(t, realAzPath(t))
	cli, web, port := r.cli, r.web, r.port
	rg, plan, app := "rg-realaz-cors", "plan-realaz-cors", "realaz-cors"
	cli.must("group", "create", "-n", rg, "-l", "westeurope", "-o", "none")
	cli.must("appservice", "plan", "create", "-g", rg, "-n", plan, "--is-linux", "--sku", "S1", "-o", "none")
	cli.must("webapp", "create", "-g", rg, "-p", plan, "-n", app, "--runtime", "PYTHON:3.12", "-o", "none")

	// send makes a request to one of the app's names through the front door.
	send := func(host, method, origin string, hdr ...string) (int, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, fmt.Sprintf("https://%s.localhost:%d/api/todo", host, port), nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := web.client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, req.URL, err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	preflight := func(host, origin string) (int, http.Header) {
		t.Helper()
		return send(host, "OPTIONS", origin, "Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "x-custom")
	}
	eventually(t, time.Minute, "the new app serves its default page", func() bool {
		code, _ := send(app, "GET", "")
		return code == 200
	})
	corsOut := func(out string) map[string]any {
		t.Helper()
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("az printed no CORS object (%v):\n%s", err, out)
		}
		return v
	}

	// A new app has none: show prints nothing, and the app answers for itself.
	if out := cli.must("webapp", "cors", "show", "-g", rg, "-n", app, "-o", "json"); strings.TrimSpace(out) != "" {
		t.Errorf("cors show of a new app printed %q, want nothing", out)
	}
	if _, h := send(app, "GET", "http://localhost:5000"); h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("an app without CORS got an allowance: %v", h)
	}

	// The tutorial's step, and a wildcard subdomain.
	out := cli.must("webapp", "cors", "add", "-g", rg, "-n", app, "--allowed-origins", "http://localhost:5000", "https://*.contoso.com", "-o", "json")
	want := map[string]any{"allowedOrigins": []any{"http://localhost:5000", "https://*.contoso.com"}, "supportCredentials": false}
	if diff := cmp.Diff(want, corsOut(out)); diff != "" {
		t.Errorf("cors add printed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, corsOut(cli.must("webapp", "cors", "show", "-g", rg, "-n", app, "-o", "json"))); diff != "" {
		t.Errorf("cors show (-want +got):\n%s", diff)
	}
	code, h := preflight(app, "http://localhost:5000")
	if code != 204 || h.Get("Access-Control-Allow-Origin") != "http://localhost:5000" || h.Get("Access-Control-Allow-Methods") != "PUT" ||
		h.Get("Access-Control-Allow-Headers") != "x-custom" || h.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("preflight from the allowed origin: %d %v", code, h)
	}
	if code, h := send(app, "GET", "https://api.contoso.com"); code != 200 || h.Get("Access-Control-Allow-Origin") != "https://api.contoso.com" {
		t.Errorf("GET from a wildcard subdomain: %d %v", code, h)
	}
	if code, h := preflight(app, "https://api.contoso.com.evil.test"); code != 204 || h.Get("Access-Control-Allow-Origin") != "" || h.Get("Access-Control-Allow-Methods") != "" {
		t.Errorf("preflight from a lookalike origin: %d %v", code, h)
	}

	// The tutorial's credentials step, through the generic resource update.
	out = cli.must("resource", "update", "--name", "web", "--resource-group", rg, "--namespace", "Microsoft.Web",
		"--resource-type", "config", "--parent", "sites/"+app, "--set", "properties.cors.supportCredentials=true", "-o", "json")
	var res struct {
		Properties struct {
			CORS map[string]any `json:"cors"`
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Properties.CORS["supportCredentials"] != true {
		t.Errorf("resource update printed (%v):\n%s", err, out)
	}
	if code, h := send(app, "GET", "http://localhost:5000"); code != 200 || h.Get("Access-Control-Allow-Origin") != "http://localhost:5000" ||
		h.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("GET with credentials allowed: %d %v", code, h)
	}
	// '*' cannot join credentials: az fails saying why, and nothing changes.
	if msg := cli.fail("webapp", "cors", "add", "-g", rg, "-n", app, "--allowed-origins", "*"); !strings.Contains(msg, "'*'") {
		t.Errorf("cors add '*' with credentials failed saying:\n%s", msg)
	}
	if msg := cli.fail("webapp", "cors", "add", "-g", rg, "-n", app, "--allowed-origins", "https://www.contoso.com/app"); !strings.Contains(msg, "no path") {
		t.Errorf("cors add of an origin with a path failed saying:\n%s", msg)
	}
	want["supportCredentials"] = true
	if diff := cmp.Diff(want, corsOut(cli.must("webapp", "cors", "show", "-g", rg, "-n", app, "-o", "json"))); diff != "" {
		t.Errorf("cors show after the refusals (-want +got):\n%s", diff)
	}

	// A slot has its own.
	cli.must("webapp", "deployment", "slot", "create", "-g", rg, "-n", app, "--slot", "staging", "-o", "none")
	out = cli.must("webapp", "cors", "add", "-g", rg, "-n", app, "--slot", "staging", "--allowed-origins", "https://staging.contoso.test", "-o", "json")
	if diff := cmp.Diff(map[string]any{"allowedOrigins": []any{"https://staging.contoso.test"}, "supportCredentials": false}, corsOut(out)); diff != "" {
		t.Errorf("cors add --slot printed (-want +got):\n%s", diff)
	}
	// A new slot runs nothing until deployed or started; started, it serves
	// the default page.
	cli.must("webapp", "restart", "-g", rg, "-n", app, "--slot", "staging")
	eventually(t, time.Minute, "the new slot serves", func() bool {
		code, _ := send(app+"-staging", "GET", "")
		return code == 200
	})
	if code, h := preflight(app+"-staging", "https://staging.contoso.test"); code != 204 || h.Get("Access-Control-Allow-Origin") != "https://staging.contoso.test" {
		t.Errorf("preflight to the slot from its origin: %d %v", code, h)
	}
	if _, h := preflight(app+"-staging", "http://localhost:5000"); h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("the slot allows production's origin: %v", h)
	}
	if diff := cmp.Diff(want, corsOut(cli.must("webapp", "cors", "show", "-g", rg, "-n", app, "-o", "json"))); diff != "" {
		t.Errorf("production's cors after the slot's add (-want +got):\n%s", diff)
	}

	// remove one origin, then all.
	out = cli.must("webapp", "cors", "remove", "-g", rg, "-n", app, "--allowed-origins", "http://localhost:5000", "-o", "json")
	if got := corsOut(out)["allowedOrigins"]; !cmp.Equal(got, any([]any{"https://*.contoso.com"})) {
		t.Errorf("cors remove printed %v", got)
	}
	if _, h := preflight(app, "http://localhost:5000"); h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("a removed origin is still allowed: %v", h)
	}
	cli.must("webapp", "cors", "remove", "-g", rg, "-n", app, "--allowed-origins", "-o", "none") // no origins: all of them
	if got := corsOut(cli.must("webapp", "cors", "show", "-g", rg, "-n", app, "-o", "json")); !cmp.Equal(got["allowedOrigins"], any([]any{})) {
		t.Errorf("cors show after removing every origin: %v; want allowedOrigins [] (azure-cli's test_webapp_cors)", got)
	}
	if _, h := send(app, "GET", "https://api.contoso.com"); h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("an app whose origins were all removed still answers CORS: %v", h)
	}
	t.Logf("az timings:\n%s", cli.timings.String())
}
