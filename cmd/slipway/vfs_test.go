package main

import (
	"archive/zip"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKuduVFS drives Kudu's file API with the real curl as Microsoft
// documents it (https://github.com/projectkudu/kudu/wiki/REST-API#vfs:
// `curl -X PUT --data-binary @file https://<app>.scm.../api/vfs/site/wwwroot/file`
// with the app's publishing credentials): a file written into the app's
// home is the app's (its user owns it, its instance reads it at /home),
// replacing it needs If-Match, folders list, download and upload as zips,
// a link the app planted to a host file is not followed, and another
// app's credentials open nothing.
func TestKuduVFS(t *testing.T) {
	s := startServer(t)
	s.createApp("vfsapp")
	s.createApp("vfsother")
	user, pass := s.credentials("vfsapp")
	otherUser, otherPass := s.credentials("vfsother")
	scm := "http://" + strings.Replace(s.host("vfsapp"), ".localhost", ".scm.localhost", 1)
	auth := []string{"-u", user + ":" + pass}
	z := zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": "vfs"})
	if out, err := s.curl(append(auth, "-X", "POST", "--data-binary", "@"+z, "-o", "/dev/null", "-w", "%{http_code}", scm+"/api/zipdeploy")...); err != nil || out != "200" {
		t.Fatalf("zipdeploy: %q %v", out, err)
	}
	// status runs curl and returns its body and the status code on the
	// last line.
	status := func(args ...string) (body, code string) {
		t.Helper()
		out, err := s.curl(append(append([]string{}, auth...), append(args, "-w", "\n%{http_code}")...)...)
		if err != nil {
			t.Fatal(err)
		}
		i := strings.LastIndex(out, "\n")
		return out[:i], out[i+1:]
	}

	local := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(local, []byte("written by kudu"), 0o644)
	if _, code := status("-X", "PUT", "--data-binary", "@"+local, scm+"/api/vfs/data/notes.txt"); code != "201" {
		t.Fatalf("PUT a new file = %s, want 201", code)
	}
	if body, code := status(scm + "/api/vfs/data/notes.txt"); code != "200" || body != "written by kudu" {
		t.Fatalf("GET = %s %q", code, body)
	}
	// The app's instance sees it in its /home, and its user owns it.
	// (Polled: the instance a deployment without a build starts may
	// still be booting; a connection it resets is a 502.)
	var read string
	eventually(t, time.Minute, "the app reads /home/data/notes.txt", func() bool {
		_, read = s.get(s.host("vfsapp"), "/read?path="+url.QueryEscape("/home/data/notes.txt"))
		return strings.HasPrefix(read, "READ ") || strings.HasPrefix(read, "DENIED ")
	})
	if !strings.HasPrefix(read, "READ written by kudu") {
		t.Errorf("the app reads /home/data/notes.txt as %q", read)
	}
	fi, err := os.Stat(filepath.Join(s.data, "sites", "vfsapp", "home", "data", "notes.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 && fi.Sys().(*syscall.Stat_t).Uid == 0 {
		t.Errorf("the file is root's, not the app's user's")
	}

	if body, code := status("-X", "PUT", "--data-binary", "@"+local, scm+"/api/vfs/data/notes.txt"); code != "412" || !strings.Contains(body, "If-Match") {
		t.Errorf("PUT over a file without If-Match = %s %q, want 412", code, body)
	}
	if _, code := status("-X", "PUT", "-H", "If-Match: *", "--data-binary", "replaced", scm+"/api/vfs/data/notes.txt"); code != "204" {
		t.Errorf("PUT with If-Match: * = %s, want 204", code)
	}
	if _, code := status("-X", "PUT", scm+"/api/vfs/data/logs/"); code != "201" {
		t.Errorf("PUT a folder = %s, want 201", code)
	}
	body, code := status(scm + "/api/vfs/data/")
	var list []map[string]any
	if code != "200" || json.Unmarshal([]byte(body), &list) != nil {
		t.Fatalf("GET the folder = %s %q", code, body)
	}
	seen := map[string]map[string]any{}
	for _, e := range list {
		seen[e["name"].(string)] = e
	}
	if e := seen["notes.txt"]; e == nil || e["path"] != "/home/data/notes.txt" || e["size"] != float64(len("replaced")) || e["href"] != scm+"/api/vfs/data/notes.txt" {
		t.Errorf("listing entry of notes.txt: %v", e)
	}
	if e := seen["logs"]; e == nil || e["mime"] != "inode/directory" || e["href"] != scm+"/api/vfs/data/logs/" {
		t.Errorf("listing entry of logs: %v", e)
	}

	// Folders as zips, both ways.
	if _, code := status("-X", "PUT", "--data-binary", "@"+z, scm+"/api/zip/data/unzipped/"); code != "200" {
		t.Fatalf("PUT a zip = %s", code)
	}
	if body, code := status(scm + "/api/vfs/data/unzipped/VERSION"); code != "200" || body != "vfs" {
		t.Errorf("a file of the uploaded zip = %s %q", code, body)
	}
	got := filepath.Join(t.TempDir(), "data.zip")
	if _, code := status("-o", got, scm+"/api/zip/data/"); code != "200" {
		t.Fatalf("GET the folder as a zip = %s", code)
	}
	zr, err := zip.OpenReader(got)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
	}
	zr.Close()
	for _, n := range []string{"notes.txt", "logs/", "unzipped/app.py", "unzipped/VERSION"} {
		if !names[n] {
			t.Errorf("the folder's zip lacks %s: %v", n, names)
		}
	}

	// A link the app planted to a host file is not followed.
	if err := os.Symlink("/etc/shadow", filepath.Join(s.data, "sites", "vfsapp", "home", "data", "shadow")); err != nil {
		t.Fatal(err)
	}
	if body, code := status(scm + "/api/vfs/data/shadow"); code != "403" || strings.Contains(body, "root:") {
		t.Errorf("GET a link to /etc/shadow = %s (%d bytes), want 403", code, len(body))
	}
	// Another app's publishing credentials open nothing here.
	out, err := s.curl("-u", otherUser+":"+otherPass, "-o", "/dev/null", "-w", "%{http_code}", scm+"/api/vfs/data/notes.txt")
	if err != nil || out != "401" {
		t.Errorf("GET with another app's credentials = %s %v, want 401", out, err)
	}

	if _, code := status("-X", "DELETE", "-H", "If-Match: *", scm+"/api/vfs/data/notes.txt"); code != "200" {
		t.Errorf("DELETE = %s, want 200", code)
	}
	if _, code := status(scm + "/api/vfs/data/notes.txt"); code != "404" {
		t.Errorf("GET after DELETE = %s, want 404", code)
	}
}
