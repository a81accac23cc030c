package scm

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/applog"
)

// startupFixture is a LogFiles whose startup logs the runtime's own writer
// made (applog): on machine slipway0-0 a failed start then one that
// succeeded today, a success yesterday-or-older that is out of the
// summary's window; on slipway0-1 one failure.
func startupFixture(t *testing.T) (logs string) {
	t.Helper()
	logs = filepath.Join(t.TempDir(), "LogFiles")
	os.Mkdir(logs, 0o755)
	hub := applog.NewHub(applog.Config{Machine: "slipway0"})
	l := hub.App("app", logs)
	start := func(machine string, ok bool, out string) {
		a := l.BeginStartup(machine)
		fmt.Fprintln(a.Writer(applog.SourceApp), out)
		a.End(ok, "")
	}
	start("slipway0-0", false, "Traceback: KeyError 'DBUSER'")
	start("slipway0-0", true, "Listening at: http://0.0.0.0:8000")
	start("slipway0-1", false, "ModuleNotFoundError: No module named 'django'")
	old := filepath.Join(logs, applog.StartupDir, "2026_01_02_slipway0-0_success.log")
	os.WriteFile(old, []byte("2026-01-02T00:00:00.000000000Z Startup succeeded: machine slipway0-0, after 1.0s\n"), 0o644)
	return logs
}

// TestStartupLogsAPI: /api/startuplogs lists the startup logs (newest day
// first; by outcome and instance), sends one by name or the latest (the
// failure of the newest day) with KuduLite's X-StartupLog-* headers, and
// /summary counts each instance's starts of the last 24 hours.
func TestStartupLogsAPI(t *testing.T) {
	srv := newKudu(t, startupFixture(t))
	today := time.Now().UTC().Format("2006_01_02")

	status, _, body := get(t, srv, "/api/startuplogs")
	var list []startupLogJSON
	if err := json.Unmarshal(body, &list); status != 200 || err != nil {
		t.Fatalf("list: %d %v\n%s", status, err, body)
	}
	var names []string
	for _, e := range list {
		names = append(names, e.Filename)
	}
	want := []string{today + "_slipway0-0_failure.log", today + "_slipway0-0_success.log", today + "_slipway0-1_failure.log", "2026_01_02_slipway0-0_success.log"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("list = %v, want %v", names, want)
	}
	if e := list[0]; e.Instance != "slipway0-0" || e.Outcome != "failure" || e.Date != strings.ReplaceAll(today, "_", "-") || e.Size == 0 || e.Href != srv.URL+"/api/startuplogs/"+want[0] {
		t.Errorf("first entry: %+v", e)
	}
	for q, want := range map[string]int{"?type=failure": 2, "?type=success": 2, "?instance=slipway0-1": 1, "?type=success&instance=slipway0-1": -404, "?type=crashed": -400, "?instance=nobody": -404} {
		status, _, body := get(t, srv, "/api/startuplogs"+q)
		var l []startupLogJSON
		json.Unmarshal(body, &l)
		if (want < 0 && status != -want) || (want >= 0 && (status != 200 || len(l) != want)) {
			t.Errorf("list%s = %d, %d entries, want %d\n%s", q, status, len(l), want, body)
		}
	}

	status, hdr, body := get(t, srv, "/api/startuplogs?latest=true")
	if status != 200 || hdr.Get("X-StartupLog-Filename") != today+"_slipway0-0_failure.log" || hdr.Get("X-StartupLog-Outcome") != "failure" ||
		hdr.Get("X-StartupLog-Instance") != "slipway0-0" || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") || !strings.Contains(string(body), "KeyError 'DBUSER'") {
		t.Errorf("latest: %d %v\n%s", status, hdr, body)
	}
	status, hdr, body = get(t, srv, "/api/startuplogs?latest=true&instance=slipway0-1")
	if status != 200 || !strings.Contains(string(body), "No module named 'django'") || hdr.Get("X-StartupLog-Instance") != "slipway0-1" {
		t.Errorf("latest of slipway0-1: %d\n%s", status, body)
	}
	status, _, body = get(t, srv, "/api/startuplogs/"+today+"_slipway0-0_success.log")
	if status != 200 || !strings.Contains(string(body), "Listening at") || !strings.Contains(string(body), "Startup succeeded: machine slipway0-0") {
		t.Errorf("one by name: %d\n%s", status, body)
	}
	for name, want := range map[string]int{"2026_01_03_slipway0-0_success.log": 404, "..%2F..%2Fetc%2Fpasswd": 400, "notes.txt": 400} {
		if status, _, body := get(t, srv, "/api/startuplogs/"+name); status != want {
			t.Errorf("GET /api/startuplogs/%s = %d %s, want %d", name, status, body, want)
		}
	}

	status, _, body = get(t, srv, "/api/startuplogs/summary")
	var sum []startupSummaryJSON
	if err := json.Unmarshal(body, &sum); status != 200 || err != nil || len(sum) != 2 {
		t.Fatalf("summary: %d %v\n%s", status, err, body)
	}
	s0, s1 := sum[0], sum[1]
	if s0.InstanceID != "slipway0-0" || s0.Startup.Succeeded != 1 || s0.Startup.Failed != 1 || s0.Startup.MostRecentSuccess == nil || s0.Startup.MostRecentFailure == nil ||
		*s0.Startup.MostRecentSuccess < *s0.Startup.MostRecentFailure || !strings.HasPrefix(s0.Startup.SummaryFetchStatus, "Successfully") {
		t.Errorf("summary of slipway0-0 (the January success is out of the window): %+v", s0)
	}
	if s1.InstanceID != "slipway0-1" || s1.Startup.Succeeded != 0 || s1.Startup.Failed != 1 || s1.Startup.MostRecentSuccess != nil {
		t.Errorf("summary of slipway0-1: %+v", s1)
	}
	status, _, body = get(t, srv, "/api/startuplogs/summary?instance=slipway0-1")
	if err := json.Unmarshal(body, &sum); status != 200 || err != nil || len(sum) != 1 || sum[0].InstanceID != "slipway0-1" {
		t.Errorf("summary of one instance: %d %s", status, body)
	}

	// The built-in configuration checks are not run: a 404 whose text
	// (which az shows) says where to look.
	if status, _, body := get(t, srv, "/api/troubleshoot/config"); status != 404 || !strings.Contains(string(body), "az webapp log startup show") {
		t.Errorf("GET /api/troubleshoot/config = %d %s", status, body)
	}

	// No start logged yet: an empty list and summary; latest is a 404.
	empty := newKudu(t, filepath.Join(t.TempDir(), "LogFiles"))
	for p, want := range map[string]string{"/api/startuplogs": "[]", "/api/startuplogs/summary": "[]"} {
		if status, _, body := get(t, empty, p); status != 200 || string(body) != want {
			t.Errorf("GET %s with no startup logs = %d %s, want 200 %s", p, status, body, want)
		}
	}
	if status, _, _ := get(t, empty, "/api/startuplogs?latest=true"); status != 404 {
		t.Errorf("latest with no startup logs = %d, want 404", status)
	}
}

// TestAttack_StartupLogsLinks: the app owns LogFiles. A startup log name
// that is a symlink or a hard link to a host file, or a StartupLogs that
// is a symlink, is never read, listed or counted.
func TestAttack_StartupLogsLinks(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret.txt")
	os.WriteFile(secret, []byte("HOST-SECRET\n2026-12-07T06:00:00.000000000Z Startup failed: forged\n"), 0o600)
	today := time.Now().UTC().Format("2006_01_02")

	logs := filepath.Join(t.TempDir(), "LogFiles")
	dir := filepath.Join(logs, applog.StartupDir)
	os.MkdirAll(dir, 0o755)
	os.Symlink(secret, filepath.Join(dir, today+"_evil-0_failure.log"))
	os.Link(secret, filepath.Join(dir, today+"_linked-0_failure.log"))
	srv := newKudu(t, logs)
	for _, p := range []string{"/api/startuplogs", "/api/startuplogs/summary", "/api/startuplogs?latest=true"} {
		status, _, body := get(t, srv, p)
		if strings.Contains(string(body), "HOST-SECRET") || strings.Contains(string(body), "evil-0") || strings.Contains(string(body), "linked-0") {
			t.Errorf("GET %s = %d served, listed or counted a linked host file:\n%s", p, status, body)
		}
	}
	for _, name := range []string{today + "_evil-0_failure.log", today + "_linked-0_failure.log"} {
		status, _, body := get(t, srv, "/api/startuplogs/"+name)
		if status != 409 || strings.Contains(string(body), "HOST-SECRET") {
			t.Errorf("GET /api/startuplogs/%s = %d, want 409 without the file:\n%s", name, status, body)
		}
	}

	// StartupLogs itself a symlink to a folder of startup logs elsewhere.
	elsewhere := startupFixture(t)
	logs2 := filepath.Join(t.TempDir(), "LogFiles")
	os.Mkdir(logs2, 0o755)
	os.Symlink(filepath.Join(elsewhere, applog.StartupDir), filepath.Join(logs2, applog.StartupDir))
	srv2 := newKudu(t, logs2)
	for _, p := range []string{"/api/startuplogs", "/api/startuplogs/summary", "/api/startuplogs/" + today + "_slipway0-0_failure.log"} {
		if status, _, body := get(t, srv2, p); status != 409 {
			t.Errorf("GET %s through a symlinked StartupLogs = %d, want 409:\n%s", p, status, body)
		}
	}
}
