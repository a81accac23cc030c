package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Tests in this file reproduce the shapes of Microsoft's own Python samples
// and the deploy steps their tutorials give (docs/conformance.md, "Microsoft's
// Python samples"), with small apps of our own.

// TestMultiWorkersFollowThePlan is the shape the Django and Flask
// quickstarts' azd templates deploy: no startup command, and the app setting
// PYTHON_ENABLE_GUNICORN_MULTIWORKERS=true. App Service's Python container
// then runs gunicorn with (2 × CPUs) + 1 workers
// (https://github.com/microsoft/Oryx/blob/main/doc/configuration.md), the
// CPUs being those of the plan's worker — one on B1, two on B2
// (https://learn.microsoft.com/azure/app-service/overview-hosting-plans) —
// not those of whatever machine runs Slipway. A scale up restarts the app
// with the new size's count.
func TestMultiWorkersFollowThePlan(t *testing.T) {
	s := startServer(t)
	name := "multiworkers"
	s.createAppOn(name, "B1", "SCM_DO_BUILD_DURING_DEPLOYMENT=true", "PYTHON_ENABLE_GUNICORN_MULTIWORKERS=true")
	if code := s.deployZip(name, zipDir(t, "testdata/apps/hello", nil)); code != "200" {
		t.Fatalf("zipdeploy = %s, want 200", code)
	}
	workers := func() string { // the --workers of GUNICORN_CMD_ARGS in the app's environment
		_, body := s.get(s.host(name), "/env")
		_, args, _ := strings.Cut(body, "\nGUNICORN_CMD_ARGS=")
		args, _, _ = strings.Cut(args, "\n")
		_, n, _ := strings.Cut(args, "--workers=")
		n, _, _ = strings.Cut(n, " ")
		return n
	}
	if got := workers(); got != "3" {
		t.Fatalf("on B1 (1 core) gunicorn runs --workers=%s, want 3 = 2 × 1 + 1", got)
	}
	s.mustCLI("", "appservice", "plan", "update", "-g", "rg-"+name, "-n", "plan-"+name, "--sku", "B2")
	eventually(t, 2*time.Minute, "after the scale up to B2 (2 cores) gunicorn runs --workers=5", func() bool { return workers() == "5" })
}

// TestDjangoUntrustedOriginWarned is the shape of Microsoft's Django +
// PostgreSQL sample (testdata/apps/startproject with one line more):
// CSRF_TRUSTED_ORIGINS holds only 'https://' + WEBSITE_HOSTNAME, App
// Service's origin for the site, and no SECURE_PROXY_SSL_HEADER is set. Behind a front door on another port than
// 443 the browser's origin has the port, and Django refuses the admin's
// login form with 403; the deployment log says so, and how to get App
// Service's origin. The refusal is checked too: the same form posted from
// the port-less origin passes Django's check.
func TestDjangoUntrustedOriginWarned(t *testing.T) {
	s := startServer(t)
	name := "origins"
	src := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(src, os.DirFS("testdata/apps/startproject")); err != nil {
		t.Fatal(err)
	}
	settings, err := os.OpenFile(filepath.Join(src, "mysite", "settings.py"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	settings.WriteString("CSRF_TRUSTED_ORIGINS = ['https://' + os.environ['WEBSITE_HOSTNAME']] if not DEBUG else []\n")
	if err := settings.Close(); err != nil {
		t.Fatal(err)
	}
	_, out, errs := s.upProject(src, name)
	origin := "https://" + s.host(name)
	if want := "when a browser posts them from " + origin + ": CSRF_TRUSTED_ORIGINS holds only https://" + name + ".localhost"; !strings.Contains(out+errs, want) {
		t.Fatalf("webapp up does not warn %q:\n%s%s", want, out, errs)
	}
	web := s.httpsView(t)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Transport: web.client.Transport, Jar: jar, Timeout: time.Minute, CheckRedirect: web.client.CheckRedirect}
	login := web.url(s.host(name), "/admin/login/")
	post := func(from string) int {
		t.Helper()
		resp, err := client.Get(login)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		_, token, found := strings.Cut(string(page), `name="csrfmiddlewaretoken" value="`)
		token, _, _ = strings.Cut(token, `"`)
		if resp.StatusCode != 200 || !found {
			t.Fatalf("GET %s = %d without a CSRF token:\n%s", login, resp.StatusCode, tail(string(page), 20))
		}
		form := url.Values{"csrfmiddlewaretoken": {token}, "username": {"nobody"}, "password": {"wrong"}}
		req, _ := http.NewRequest("POST", login, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", from)
		resp, err = client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(origin); code != 403 {
		t.Errorf("the login form posted from %s = %d, want 403 (the origin the warning names)", origin, code)
	}
	if code := post("https://" + name + ".localhost"); code != 200 {
		t.Errorf("the login form posted from App Service's port-less origin = %d, want 200 (a wrong password, past the CSRF check)", code)
	}
}
