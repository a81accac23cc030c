package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKuduCommand drives Kudu's POST /api/command and GET /api/logs/docker
// with the real curl and the app's publishing credentials, as Microsoft's
// Kudu REST API documents them
// (https://github.com/projectkudu/kudu/wiki/REST-API), against a real
// server with a deployed app. The command runs as the app would: its user,
// its settings, its home at /home; and as an attacker holding the
// credentials would run it, it can reach neither another app's home nor
// the data directory, and nothing it started outlives its timeout.
func TestKuduCommand(t *testing.T) {
	needSandbox(t, "commands need")
	s := startServer(t)
	s.createApp("other")
	otherHome := filepath.Join(s.data, "sites", "other", "home")
	if err := os.WriteFile(filepath.Join(otherHome, "secret.txt"), []byte("OTHER-APP-SECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.createApp("cmd", "GREETING=hello from the settings", "SCM_COMMAND_IDLE_TIMEOUT=2")
	user, pass := s.credentials("cmd")
	scm := "http://" + strings.Replace(s.host("cmd"), ".localhost", ".scm.localhost", 1)
	z := zipDir(t, "testdata/apps/hello", nil)
	if out, err := s.curl("-X", "POST", "-u", user+":"+pass, "--data-binary", "@"+z, "-o", "/dev/null", "-w", "%{http_code}", scm+"/api/zipdeploy"); err != nil || out != "200" {
		t.Fatalf("deploy: %q %v", out, err)
	}
	run := func(command, dir string) (res struct {
		Output, Error string
		ExitCode      int
	}) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"command": command, "dir": dir})
		// A command that is not stopped fails the test rather than hang it.
		out, err := s.curl("--max-time", "60", "-u", user+":"+pass, "-H", "Content-Type: application/json", "-d", string(body), scm+"/api/command")
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%s: %v: %s", command, err, out)
		}
		return res
	}

	t.Run("as the app", func(t *testing.T) {
		res := run(`echo "$GREETING"; id -u; pwd; ls; echo to stderr >&2; exit 4`, `site\wwwroot`)
		lines := strings.Split(res.Output, "\n")
		if len(lines) < 4 || lines[0] != "hello from the settings" || lines[1] == "0" || lines[2] != "/home/site/wwwroot" ||
			!strings.Contains(res.Output, "app.py") || res.Error != "to stderr\n" || res.ExitCode != 4 {
			t.Errorf("got %+v", res)
		}
		// The app's Python, as its instances find it (the README's example
		// runs manage.py this way).
		if res := run("python -c 'import sys; print(sys.version_info[0])'", "site/wwwroot"); res.Output != "3\n" || res.ExitCode != 0 {
			t.Errorf("python: %+v", res)
		}
		if res := run("pwd", ""); res.Output != "/home\n" {
			t.Errorf("default dir: %+v", res)
		}
		// In a cgroup of its own, which holds the plan's limits, as an
		// instance's does (prepare names it i-<instance>-<time>).
		if res := run("cat /proc/self/cgroup", ""); !strings.Contains(res.Output, "/i-000000000000-") {
			t.Errorf("not in a cgroup of its own: %+v", res)
		}
	})

	t.Run("attack: other homes and the data directory", func(t *testing.T) {
		res := run(strings.Join([]string{
			"cat " + filepath.Join(otherHome, "secret.txt"),
			"ls /home/..",
			"cat " + filepath.Join(s.data, "server.json"),
			"head -c 16 " + filepath.Join(s.data, "slipway.db"),
			"cat " + filepath.Join(s.data, "keys", "master.key"),
			"ls " + s.data,
			"cat /proc/1/environ",
		}, "; "), "")
		all := res.Output + res.Error
		for _, leak := range []string{"OTHER-APP-SECRET", "adminToken", "SQLite format"} {
			if strings.Contains(all, leak) {
				t.Errorf("the command read %q:\n%s", leak, all)
			}
		}
	})

	t.Run("attack: outliving the timeout", func(t *testing.T) {
		alive := filepath.Join(s.data, "sites", "cmd", "home", "alive")
		began := time.Now()
		res := run("setsid sh -c 'while true; do date +%s%N > /home/alive; sleep 0.1; done' >/dev/null 2>&1 & sleep 1000", "")
		if res.ExitCode != -1 || !strings.Contains(res.Error, "SCM_COMMAND_IDLE_TIMEOUT") {
			t.Errorf("got %+v", res)
		}
		if took := time.Since(began); took > 30*time.Second {
			t.Errorf("answered after %v, want about 2 s", took)
		}
		first, err := os.ReadFile(alive)
		if err != nil {
			t.Fatalf("the background loop never ran: %v", err)
		}
		time.Sleep(time.Second)
		if again, _ := os.ReadFile(alive); !bytes.Equal(first, again) {
			t.Errorf("a process the command started in a session of its own still runs after the timeout")
		}
	})

	t.Run("attack: leaving a process behind", func(t *testing.T) {
		// What the command leaves running ends with it, as an instance's
		// processes end with the instance; the answer does not wait for it.
		began := time.Now()
		res := run("sleep 987654 & echo started", "")
		if res.Output != "started\n" || res.ExitCode != 0 {
			t.Errorf("got %+v", res)
		}
		if took := time.Since(began); took > 5*time.Second {
			t.Errorf("answered after %v", took)
		}
		if out, _ := exec.Command("pgrep", "-f", "^sleep 987654$").Output(); len(out) > 0 {
			t.Errorf("the command's background process still runs: pid %s", out)
		}
	})

	t.Run("attack: flooding the output", func(t *testing.T) {
		res := run("head -c 50000000 /dev/zero | tr '\\0' x", "")
		if len(res.Output) > 1<<20+1 || !strings.Contains(res.Error, "48951424 more were left out") || res.ExitCode != 0 {
			t.Errorf("kept %d bytes; Error %q, ExitCode %d", len(res.Output), res.Error, res.ExitCode)
		}
	})

	t.Run("no credentials", func(t *testing.T) {
		out, err := s.curl("-o", "/dev/null", "-w", "%{http_code}", "-H", "Content-Type: application/json", "-d", `{"command":"id"}`, scm+"/api/command")
		if err != nil || out != "401" {
			t.Errorf("got %q %v, want 401", out, err)
		}
	})

	t.Run("docker logs", func(t *testing.T) {
		var list []struct {
			MachineName, LastUpdated, Href, Path string
			Size                                 int64
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			out, err := s.curl("-u", user+":"+pass, scm+"/api/logs/docker")
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(out), &list); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if len(list) > 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		var app string
		for _, l := range list {
			if strings.HasSuffix(l.MachineName, "_default") && l.Size > 0 {
				app = filepath.Base(l.Path)
				if l.Href != scm+"/api/vfs/LogFiles/"+app || l.Path != "/home/LogFiles/"+app {
					t.Errorf("entry %+v", l)
				}
			}
		}
		if app == "" {
			t.Fatalf("no app log listed: %+v", list)
		}
		zipPath := filepath.Join(t.TempDir(), "logs.zip")
		if out, err := s.curl("-u", user+":"+pass, "-o", zipPath, "-w", "%{http_code}", scm+"/api/logs/docker/zip"); err != nil || out != "200" {
			t.Fatalf("zip: %q %v", out, err)
		}
		zr, err := zip.OpenReader(zipPath)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		if !strings.Contains(strings.Join(names, " "), app) {
			t.Errorf("zip holds %v, not %s", names, app)
		}
	})
}
