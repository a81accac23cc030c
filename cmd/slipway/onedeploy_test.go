package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOneDeployFiles: single files deployed with Slipway's own CLI, as
// with az webapp deploy --type static|startup (docs/appservice.md §5): a
// static file joins the running app and restarts it; a startup script
// becomes how the app starts; a path out of /home/site/wwwroot is refused
// and the app keeps serving.
func TestOneDeployFiles(t *testing.T) {
	s := startServer(t)
	s.createApp("files")
	app := s.host("files")
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	deploy := func(args ...string) (string, int) {
		t.Helper()
		_, stderr, code := s.cli("", append([]string{"webapp", "deploy", "-g", "rg-files", "-n", "files"}, args...)...)
		return stderr, code
	}

	z := zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": "v1"})
	if stderr, code := deploy("--src-path", z); code != 0 {
		t.Fatalf("zip deploy: exit %d\n%s", code, stderr)
	}
	if code, body := s.get(app, "/"); code != 200 || body != "hello v1" {
		t.Fatalf("GET / = %d %q", code, body)
	}

	// A static file replaces VERSION and nothing else; the app restarted
	// with it.
	if stderr, code := deploy("--src-path", write("VERSION", "v2"), "--type", "static", "--target-path", "VERSION"); code != 0 {
		t.Fatalf("static deploy: exit %d\n%s", code, stderr)
	}
	if code, body := s.get(app, "/"); code != 200 || body != "hello v2" {
		t.Fatalf("after the static file GET / = %d %q, want \"hello v2\"", code, body)
	}

	// A startup script (its type inferred from .sh, as az does) starts the
	// app from now on.
	script := "#!/bin/sh\nexport STARTED_BY=onedeploy-startup\nexec gunicorn app:app\n"
	if stderr, code := deploy("--src-path", write("startup.sh", script)); code != 0 {
		t.Fatalf("startup deploy: exit %d\n%s", code, stderr)
	}
	if code, body := s.get(app, "/env"); code != 200 || !strings.Contains(body, "STARTED_BY=onedeploy-startup") {
		t.Fatalf("GET /env = %d; the app did not start with the script:\n%s", code, tail(body, 20))
	}
	log := s.mustCLI("", "webapp", "log", "deployment", "show", "-g", "rg-files", "-n", "files")
	if !strings.Contains(log, "Wrote /home/site/wwwroot/startup.sh") || !strings.Contains(log, "its instances start with this script") {
		t.Errorf("deployment log:\n%s", log)
	}

	// Out of wwwroot: refused, nothing deployed.
	for _, target := range []string{"../x", "/etc/passwd"} {
		stderr, code := deploy("--src-path", write("evil", "x"), "--type", "static", "--target-path", target)
		if code == 0 || !strings.Contains(stderr, "400") {
			t.Errorf("--target-path %s: exit %d, want a refusal (400):\n%s", target, code, stderr)
		}
	}
	if code, body := s.get(app, "/"); code != 200 || body != "hello v2" {
		t.Fatalf("after the refusals GET / = %d %q", code, body)
	}
}

// TestOneDeployZipCleanFalse: `webapp deploy --type zip --clean false`
// (OneDeploy's type=zip&clean=false, docs/appservice.md §5) puts the zip's
// files over the app's and keeps those it lacks: a zip holding only a
// changed VERSION and a new file still runs the app.py of the deployment
// before, and /home/site/wwwroot holds the union. The default (clean=true)
// replaces the app again.
func TestOneDeployZipCleanFalse(t *testing.T) {
	s := startServer(t)
	s.createApp("overlay")
	app := s.host("overlay")
	deploy := func(args ...string) {
		t.Helper()
		if _, stderr, code := s.cli("", append([]string{"webapp", "deploy", "-g", "rg-overlay", "-n", "overlay", "--type", "zip"}, args...)...); code != 0 {
			t.Fatalf("webapp deploy %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
		}
	}
	read := func(name string) string {
		t.Helper()
		_, body := s.get(app, "/read?path="+url.QueryEscape("/home/site/wwwroot/"+name))
		return body
	}
	deploy("--src-path", zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": "v1", "old.txt": "old"}))
	if code, body := s.get(app, "/"); code != 200 || body != "hello v1" {
		t.Fatalf("GET / = %d %q", code, body)
	}

	only := t.TempDir()
	if err := os.WriteFile(filepath.Join(only, "VERSION"), []byte("v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	deploy("--src-path", zipDir(t, only, map[string]string{"new.txt": "new"}), "--clean", "false")
	if code, body := s.get(app, "/"); code != 200 || body != "hello v2" {
		t.Fatalf("after a clean=false zip GET / = %d %q, want \"hello v2\" (the zip's VERSION, the app's app.py)", code, body)
	}
	if got := read("old.txt"); !strings.HasPrefix(got, "READ old") {
		t.Errorf("old.txt after clean=false: %q; want it kept", got)
	}
	if got := read("new.txt"); !strings.HasPrefix(got, "READ new") {
		t.Errorf("new.txt after clean=false: %q; want the zip's", got)
	}
	log := s.mustCLI("", "webapp", "log", "deployment", "show", "-g", "rg-overlay", "-n", "overlay")
	if !strings.Contains(log, "clean=false: kept") || !strings.Contains(log, "Deployment successful") {
		t.Errorf("deployment log:\n%s", log)
	}

	deploy("--src-path", zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": "v3"}))
	if code, body := s.get(app, "/"); code != 200 || body != "hello v3" {
		t.Fatalf("after a clean zip GET / = %d %q", code, body)
	}
	if got := read("old.txt"); strings.HasPrefix(got, "READ") {
		t.Errorf("old.txt after a clean zip: %q; want it gone", got)
	}
}
