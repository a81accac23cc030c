package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAttackWebJobs: a WebJob is the app's code, and the files the server
// writes and reads for it (its logs, settings.job) are in the app's home,
// which the job can change while it runs. The job points its log at
// another app's file, makes its settings.job a FIFO and floods its
// output; another app's credentials try its WebJobs API. Nothing of the
// other app is written, the API does not hang, the log is bounded and
// keeps working, and the other app is refused.
func TestAttackWebJobs(t *testing.T) {
	needSandbox(t, "WebJobs need")
	s := startServer(t, "--webjobs-interval", "500ms")
	s.createApp("other")
	victim := filepath.Join(s.data, "sites", "other", "home", "secret.txt")
	if err := os.WriteFile(victim, []byte("OTHER-APP-SECRET"), 0o666); err != nil {
		t.Fatal(err)
	}
	os.Chmod(victim, 0o666) // writable by anyone: only the server's care protects it
	s.createApp("evil", "VICTIM="+victim, "WEBJOBS_RESTART_TIME=600")
	s.deploySlotFiles("evil", "", map[string]string{
		"App_Data/jobs/continuous/attack/run.sh": `echo first
sleep 2
# The log the server appends to becomes a link to the other app's file,
# by its absolute path on the host and by a relative path out of /home.
rm -f "$WEBJOBS_DATA_PATH/job_log.txt"
ln -s "$VICTIM" "$WEBJOBS_DATA_PATH/job_log.txt"
ln -s "../../../../../../../../../../..$VICTIM" "$WEBJOBS_DATA_PATH/job_prev_log.txt"
# settings.job becomes a FIFO, which a reader would wait on forever.
rm -f "$WEBJOBS_ROOT_PATH/settings.job"
mkfifo "$WEBJOBS_ROOT_PATH/settings.job"
echo after-the-links
sleep 2
# 30 MB of output as fast as it can (what the log cannot take in time is
# dropped), then enough, paced, to roll the log over onto the link.
head -c 30000000 /dev/zero | tr '\0' x | fold -w 1000; echo
sleep 2
head -c 700000 /dev/zero | tr '\0' y | fold -w 1000; echo
sleep 2
head -c 700000 /dev/zero | tr '\0' z | fold -w 1000; echo
sleep 2
echo flood-done
sleep 600
`,
		"App_Data/jobs/continuous/attack/settings.job": `{}`,
	})

	logDir := filepath.Join(s.data, "sites", "evil", "home", "data", "jobs", "continuous", "attack")
	logText := func() string { b, _ := os.ReadFile(filepath.Join(logDir, "job_log.txt")); return string(b) }
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(logText(), "INFO] flood-done") {
		if time.Now().After(deadline) {
			ents, _ := os.ReadDir(logDir)
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Fatalf("the job's log never said its flood was done; %v:\n%.3000s", names, logText())
		}
		time.Sleep(250 * time.Millisecond)
	}

	if b, _ := os.ReadFile(victim); string(b) != "OTHER-APP-SECRET" {
		t.Errorf("the other app's file was written through the job's log: %q", b)
	}
	for _, name := range []string{"job_log.txt", "job_prev_log.txt"} {
		fi, err := os.Lstat(filepath.Join(logDir, name))
		if err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s is not a regular file again: %v %v", name, fi, err)
			continue
		}
		if fi.Size() > 1<<20+64<<10 {
			t.Errorf("%s holds %d bytes: the log is not bounded", name, fi.Size())
		}
	}
	// The API answers though settings.job is a FIFO.
	start := time.Now()
	code, _, body := s.kudu("evil", "GET", "/api/continuouswebjobs", "", "", nil)
	if code != 200 || !strings.Contains(body, `"name":"attack"`) || time.Since(start) > 20*time.Second {
		t.Errorf("listing with a FIFO for settings.job: %d after %s: %.300s", code, time.Since(start), body)
	}

	// Another app's publishing credentials are no key to this app's jobs.
	user, pass := s.credentials("other")
	for _, p := range []string{"/api/continuouswebjobs", "/api/continuouswebjobs/attack/stop", "/api/triggeredwebjobs"} {
		method := "GET"
		if strings.HasSuffix(p, "/stop") {
			method = "POST"
		}
		out, err := s.curl("-X", method, "-u", user+":"+pass, "-o", "/dev/null", "-w", "%{http_code}",
			"http://"+strings.Replace(s.host("evil"), ".localhost", ".scm.localhost", 1)+p)
		if err != nil || out != "401" {
			t.Errorf("%s %s with the other app's credentials: %q %v", method, p, out, err)
		}
	}
}
