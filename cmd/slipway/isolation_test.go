package main

import (
	"encoding/json"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// TestAppIsolation: an app cannot read another app's home or the data
// directory, and each app runs as its own unprivileged user.
func TestAppIsolation(t *testing.T) {
	needSandbox(t, "isolation needs")
	s := startServer(t)
	for _, name := range []string{"alpha", "beta"} {
		// The build runs the app's own commands: they must be confined too.
		s.createApp(name, "SCM_DO_BUILD_DURING_DEPLOYMENT=true",
			"PRE_BUILD_COMMAND=id -u > build-uid.txt; cat "+filepath.Join(s.data, "server.json")+" > leaked.txt 2>&1; true")
		user, pass := s.credentials(name)
		scm := "http://" + strings.Replace(s.host(name), ".localhost", ".scm.localhost", 1)
		z := zipDir(t, "testdata/apps/hello", nil)
		if out, err := s.curl("-X", "POST", "-u", user+":"+pass, "--data-binary", "@"+z, "-o", "/dev/null", "-w", "%{http_code}", scm+"/api/zipdeploy"); err != nil || out != "200" {
			t.Fatalf("deploy %s: %q %v", name, out, err)
		}
	}
	uid := func(name string) float64 {
		_, body := s.get(s.host(name), "/whoami")
		var v map[string]any
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatalf("whoami: %v %s", err, body)
		}
		return v["uid"].(float64)
	}
	a, b := uid("alpha"), uid("beta")
	if a == 0 || b == 0 || a == b {
		t.Errorf("apps run as uid %v and %v; want two distinct unprivileged users", a, b)
	}
	read := func(path string) string {
		_, body := s.get(s.host("alpha"), "/read?path="+url.QueryEscape(path))
		return body
	}
	betaHome := filepath.Join(s.data, "sites", "beta", "home")
	for _, p := range []string{
		filepath.Join(s.data, "server.json"),
		filepath.Join(s.data, "slipway.db"),
		filepath.Join(s.data, "keys", "master.key"),
		filepath.Join(betaHome, "LogFiles", "x.log"),
		"/root/.bash_history",
	} {
		if got := read(p); strings.HasPrefix(got, "READ") {
			t.Errorf("alpha could read %s: %s", p, got)
		}
	}
	// Another app's home is not even visible.
	if got := read(filepath.Join(betaHome, "LogFiles", "x")); !strings.Contains(got, "NOLIST") {
		t.Errorf("alpha can list beta's LogFiles: %s", got)
	}
	// The build ran as an unprivileged user that could not see the data directory.
	if got := read("build-uid.txt"); !strings.HasPrefix(got, "READ ") || strings.HasPrefix(got, "READ 0\n") {
		t.Errorf("the build ran as root or wrote nothing: %q", got)
	}
	if got := read("leaked.txt"); strings.Contains(got, "adminToken") || !strings.HasPrefix(got, "READ cat: ") {
		t.Errorf("the build could read the server's credentials: %q", got)
	}
	// Its own home is there and writable-looking, and it sees no other app in /home.
	if got := read("/home/LogFiles"); !strings.Contains(got, " LIST ") {
		t.Errorf("alpha cannot list its own /home/LogFiles: %s", got)
	}
	if got := read("/home/../home/site"); !strings.Contains(got, " LIST ") {
		t.Errorf("alpha cannot list /home/site: %s", got)
	}
}
