package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// appOutput returns what an app's instances have written to its log so far
// (its *_default_docker.log files, as App Service names them).
func (s *testServer) appOutput(name string) string {
	s.t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.data, "sites", name, "home", "LogFiles", "*_default_docker.log"))
	var b strings.Builder
	for _, f := range files {
		c, _ := os.ReadFile(f)
		b.Write(c)
	}
	return b.String()
}

// TestNewAppStartupLog: a site never deployed serves the default page, and
// its log shows what App Service's Python container prints when it starts
// such a site: the banner with the instance's Python version, then that no
// framework was detected and the default app is used (docs/appservice.md §4).
func TestNewAppStartupLog(t *testing.T) {
	s := startServer(t)
	s.createApp("fresh")
	if code, body := s.get(s.host("fresh"), "/"); code != 200 || !strings.Contains(body, "Hey, Python developers!") {
		t.Fatalf("a new app answers %d, want 200 with the default page:\n%s", code, tail(body, 5))
	}
	// A restart starts it again: the log file then holds a whole start even
	// if the first one's lines came before its LogFiles could take them.
	s.mustCLI("", "webapp", "restart", "-g", "rg-fresh", "-n", "fresh")
	var log string
	eventually(t, 10*time.Second, "the app's log shows its start", func() bool {
		log = s.appOutput("fresh")
		return strings.Contains(log, "Generating `gunicorn` command for 'application:app'")
	})
	if strings.Contains(log, "Detected an app based on") {
		t.Errorf("the default site is logged as a detected app:\n%s", log)
	}
	banner := strings.Index(log, " A P P   S E R V I C E   O N   L I N U X\n")
	version := regexp.MustCompile(`(?m) Python version   : (3\.\d+\.\d+)$`).FindStringSubmatchIndex(log)
	note := strings.Index(log, " Note: Any data outside '/home' is not persisted\n")
	detect := strings.Index(log, " App Command Line not configured, will attempt auto-detect\n")
	noApp := strings.Index(log, " No framework detected; using default app from ")
	if banner < 0 || version == nil || note < 0 || detect < 0 || noApp < 0 ||
		!(banner < version[0] && version[0] < note && note < detect && detect < noApp) {
		t.Fatalf("the start of a new app's log is not App Service's banner, then auto-detection finding no framework:\n%s", log)
	}
	// The version is the one the instance runs: the default site's, whose
	// directory is named for the Python it was built with.
	if v := log[version[2]:version[3]]; !strings.Contains(log[noApp:], "defaultsite-"+v+"\n") {
		t.Errorf("the banner names Python %s, not the default site's:\n%s", v, log)
	}
	if strings.Contains(s.platformLog("fresh"), "S E R V I C E") {
		t.Errorf("the banner is in the platform's events (docker.log), not only in the container's output")
	}
}
