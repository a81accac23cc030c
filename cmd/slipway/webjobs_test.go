package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// webJobFiles are the WebJobs deployed with the hello app in these tests:
// App_Data/jobs as App Service's docs lay them out ("How WebJobs run in
// Azure App Service").
var webJobFiles = map[string]string{
	// A triggered job in Bash: who and where it runs, its arguments, a
	// line on standard error, the app's own Python.
	"App_Data/jobs/triggered/report/run.sh": `echo "hello $1 $2 from $WEBSITE_INSTANCE_ID in $PWD"
echo "args=$WEBJOBS_COMMAND_ARGUMENTS run=$WEBJOBS_RUN_ID name=$WEBJOBS_NAME type=$WEBJOBS_TYPE data=$WEBJOBS_DATA_PATH"
echo "python=$(python -c 'import sys; print(sys.prefix)')"
echo oops >&2
sleep "${SLEEP:-0}"
`,
	"App_Data/jobs/triggered/report/settings.job": `{"note": "kept"}`,
	// A Python job that fails.
	"App_Data/jobs/triggered/fails/run.py": "import sys\nprint('failing now', flush=True)\nsys.exit(3)\n",
	// A scheduled one, every two seconds (NCRONTAB, seconds first).
	"App_Data/jobs/triggered/tick/run.sh":       "echo tick\n",
	"App_Data/jobs/triggered/tick/settings.job": `{"schedule": "*/2 * * * * *"}`,
	// A folder with nothing to run is no job.
	"App_Data/jobs/triggered/notajob/readme.txt": "nothing to run here\n",
	// A continuous job that stops when asked through its shutdown file.
	"App_Data/jobs/continuous/worker/run.py": `import os, time
print("worker up in", os.environ.get("WEBSITE_INSTANCE_ID"), flush=True)
while True:
    if os.path.exists(os.environ["WEBJOBS_SHUTDOWN_FILE"]):
        print("shutdown file seen, stopping", flush=True)
        break
    time.sleep(0.2)
`,
	"App_Data/jobs/continuous/worker/settings.job": `{"stopping_wait_time": 20}`,
}

// kudu sends a request to the app's Kudu with its publishing credentials
// and returns the status, the Location header and the body.
func (s *testServer) kudu(app, method, path, contentType, disposition string, body io.Reader) (int, string, string) {
	s.t.Helper()
	user, pass := s.credentials(app)
	req, err := http.NewRequest(method, s.url(strings.Replace(s.host(app), ".localhost", ".scm.localhost", 1), path), body)
	if err != nil {
		s.t.Fatal(err)
	}
	req.SetBasicAuth(user, pass)
	req.Header.Set("User-Agent", "webjobs-test/1")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if disposition != "" {
		req.Header.Set("Content-Disposition", disposition)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

type jobRunView struct {
	ID, Status, Trigger string
	OutputURL           *string `json:"output_url"`
	StartTime           string  `json:"start_time"`
	EndTime             string  `json:"end_time"`
	Duration            string
}

// waitRun polls a triggered job's history until its newest run has ended.
func (s *testServer) waitRun(app, job string, within time.Duration) jobRunView {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		code, _, body := s.kudu(app, "GET", "/api/triggeredwebjobs/"+job+"/history", "", "", nil)
		var h struct{ Runs []jobRunView }
		if code == 200 && json.Unmarshal([]byte(body), &h) == nil && len(h.Runs) > 0 && h.Runs[0].Status != "Running" && h.Runs[0].Status != "Initializing" {
			return h.Runs[0]
		}
		if time.Now().After(deadline) {
			out := ""
			if len(h.Runs) > 0 && h.Runs[0].OutputURL != nil {
				out = s.vfsText(app, *h.Runs[0].OutputURL)
			}
			s.t.Fatalf("no ended run of %s after %s: %d %s\n%s", job, within, code, body, out)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// vfsText reads a file through Kudu's VFS URL (as output_url gives it).
func (s *testServer) vfsText(app, u string) string {
	s.t.Helper()
	i := strings.Index(u, "/vfs/")
	if i < 0 {
		s.t.Fatalf("not a VFS URL: %q", u)
	}
	code, _, body := s.kudu(app, "GET", "/api"+u[i:], "", "", nil)
	if code != 200 {
		s.t.Fatalf("GET %s: %d %s", u, code, body)
	}
	return body
}

// TestWebJobs: WebJobs deployed with an app in App_Data/jobs run inside
// its instance, as Kudu's API lists, runs, schedules, starts, stops,
// uploads and deletes them; runs keep Kudu's history and logs.
func TestWebJobs(t *testing.T) {
	needSandbox(t, "WebJobs need")
	s := startServer(t, "--webjobs-interval", "500ms")
	s.createApp("jobs", "WEBJOBS_RESTART_TIME=1")
	s.deploySlotFiles("jobs", "", webJobFiles)
	inst := s.instances("jobs")
	if len(inst) != 1 {
		t.Fatalf("instances: %+v", inst)
	}
	id := inst[0].Name

	// The list: the three folders with an entry point, not the one without.
	code, _, body := s.kudu("jobs", "GET", "/api/triggeredwebjobs", "", "", nil)
	var list []struct {
		Name, Type, URL string
		RunCommand      string         `json:"run_command"`
		HistoryURL      string         `json:"history_url"`
		Settings        map[string]any `json:"settings"`
		LatestRun       *jobRunView    `json:"latest_run"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil {
		t.Fatalf("GET /api/triggeredwebjobs: %d %s", code, body)
	}
	var names []string
	for _, j := range list {
		names = append(names, j.Name+":"+j.RunCommand+":"+j.Type)
	}
	if got := strings.Join(names, " "); got != "fails:run.py:triggered report:run.sh:triggered tick:run.sh:triggered" {
		t.Errorf("triggered jobs: %s", got)
	}
	if len(list) > 1 && (list[1].Settings["note"] != "kept" || !strings.HasSuffix(list[1].HistoryURL, "/api/triggeredwebjobs/report/history")) {
		t.Errorf("report as listed: %+v", list[1])
	}

	// A run: 202 and the run's URL; its output in Kudu's format.
	code, loc, body := s.kudu("jobs", "POST", "/api/triggeredwebjobs/report/run?arguments=a%20%22b%20c%22", "", "", nil)
	if code != 202 || !strings.Contains(loc, "/api/triggeredwebjobs/report/history/") {
		t.Fatalf("run: %d %q %s", code, loc, body)
	}
	run := s.waitRun("jobs", "report", time.Minute)
	if run.Status != "Success" || run.Trigger != "External - webjobs-test/1" || run.OutputURL == nil || !strings.HasSuffix(loc, "/"+run.ID) {
		t.Fatalf("the run: %+v (Location %s)", run, loc)
	}
	out := s.vfsText("jobs", *run.OutputURL)
	short := id[:6]
	for _, want := range []string{
		"> " + short + ": SYS INFO] Status changed to Initializing\n",
		"SYS INFO] Run script 'run.sh' with script host - 'BashScriptHost'\n",
		// Split as Kudu's .NET process start splits them: quotes keep
		// "b c" one argument.
		"> " + short + ": INFO] hello a b c from " + id + " in /tmp/jobs/triggered/report/",
		"INFO] args=a \"b c\" run=" + run.ID + " name=report type=triggered data=/home/data/jobs/triggered/report\n",
		"INFO] python=/", // the instance's Python
		": ERR ] oops\n",
		"SYS INFO] Status changed to Success\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the run's log lacks %q:\n%s", want, out)
		}
	}

	// One run at a time, as Kudu's.
	s.mustCLI("", "webapp", "config", "appsettings", "set", "-g", "rg-jobs", "-n", "jobs", "--settings", "SLEEP=5", "WEBJOBS_RESTART_TIME=1")
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(300 * time.Millisecond) {
		// The setting restarts the app: the run waits for its new instance.
		code, _, body = s.kudu("jobs", "POST", "/api/triggeredwebjobs/report/run", "", "", nil)
		if code == 202 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run after the restart: %d %s", code, body)
		}
	}
	if code, _, body := s.kudu("jobs", "POST", "/api/triggeredwebjobs/report/run", "", "", nil); code != 409 || !strings.Contains(body, "Cannot start a new run since job is already running.") {
		t.Errorf("a second run at once: %d %s", code, body)
	}
	s.waitRun("jobs", "report", time.Minute)

	// A failing job: Failed, with its exit code.
	if code, _, body := s.kudu("jobs", "POST", "/api/triggeredwebjobs/fails/run", "", "", nil); code != 202 {
		t.Fatalf("run fails: %d %s", code, body)
	}
	run = s.waitRun("jobs", "fails", time.Minute)
	if out := s.vfsText("jobs", *run.OutputURL); run.Status != "Failed" || !strings.Contains(out, "INFO] failing now\n") ||
		!strings.Contains(out, "SYS ERR ] Job failed due to exit code 3\n") {
		t.Errorf("a failing run: %+v\n%s", run, out)
	}

	// The schedule runs tick by itself.
	run = s.waitRun("jobs", "tick", time.Minute)
	if run.Status != "Success" || run.Trigger != "Schedule - */2 * * * * *" {
		t.Errorf("a scheduled run: %+v", run)
	}

	// The continuous job runs in the instance; stopped, it is told
	// through its shutdown file and ends by itself; started, it runs again.
	contStatus := func() (string, string) {
		code, _, body := s.kudu("jobs", "GET", "/api/continuouswebjobs/worker", "", "", nil)
		var j struct {
			Status string
			LogURL string `json:"log_url"`
		}
		if code != 200 || json.Unmarshal([]byte(body), &j) != nil {
			t.Fatalf("GET continuous worker: %d %s", code, body)
		}
		return j.Status, j.LogURL
	}
	waitStatus := func(want string) string {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
			st, logURL := contStatus()
			if st == want {
				return logURL
			}
			if time.Now().After(deadline) {
				t.Fatalf("the continuous job is %s, want %s", st, want)
			}
		}
	}
	logURL := waitStatus("Running")
	// (It may first start in the instance that served before the
	// deployment and go down with it: it runs in the app's instances.)
	id = s.instances("jobs")[0].Name
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(s.vfsText("jobs", logURL), "INFO] worker up in "+id); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the worker never said it was up in %s:\n%s", id, s.vfsText("jobs", logURL))
		}
	}
	before := len(s.vfsText("jobs", logURL))
	time.Sleep(1500 * time.Millisecond) // it keeps running: no shutdown file until it is stopped
	if l := s.vfsText("jobs", logURL); strings.Contains(l[before:], "Process went down") || strings.Contains(l[before:], "shutdown file seen") {
		t.Fatalf("the worker ended before it was stopped:\n%s", l)
	}
	atStop := len(s.vfsText("jobs", logURL))
	if code, _, body := s.kudu("jobs", "POST", "/api/continuouswebjobs/worker/stop", "", "", nil); code != 200 {
		t.Fatalf("stop: %d %s", code, body)
	}
	waitStatus("Stopped")
	if l := s.vfsText("jobs", logURL); !strings.Contains(l[atStop:], "INFO] shutdown file seen, stopping\n") {
		t.Errorf("the stopped worker never saw its shutdown file:\n%s", l)
	}
	time.Sleep(1500 * time.Millisecond) // a look or two of the scheduler: it stays stopped
	if st, _ := contStatus(); st != "Stopped" {
		t.Errorf("a stopped job is %s again", st)
	}
	if code, _, body := s.kudu("jobs", "POST", "/api/continuouswebjobs/worker/start", "", "", nil); code != 200 {
		t.Fatalf("start: %d %s", code, body)
	}
	waitStatus("Running")

	// Upload: one file named by Content-Disposition makes a job under
	// site/jobs; a body with nothing to run is refused.
	code, _, body = s.kudu("jobs", "PUT", "/api/triggeredwebjobs/uploaded", "application/octet-stream", `attachment; filename="run.sh"`, strings.NewReader("echo uploaded ran\n"))
	if code != 200 || !strings.Contains(body, `"run_command":"run.sh"`) {
		t.Fatalf("upload: %d %s", code, body)
	}
	if code, _, body := s.kudu("jobs", "POST", "/api/triggeredwebjobs/uploaded/run", "", "", nil); code != 202 {
		t.Fatalf("run uploaded: %d %s", code, body)
	}
	if run := s.waitRun("jobs", "uploaded", time.Minute); run.Status != "Success" || !strings.Contains(s.vfsText("jobs", *run.OutputURL), "INFO] uploaded ran\n") {
		t.Errorf("the uploaded job's run: %+v", run)
	}
	if code, _, body := s.kudu("jobs", "PUT", "/api/triggeredwebjobs/notes", "text/plain", `attachment; filename=readme.txt`, strings.NewReader("hi")); code != 400 || !strings.Contains(body, "No runnable script file was found") {
		t.Errorf("upload without a script: %d %s", code, body)
	}
	if code, _, body := s.kudu("jobs", "PUT", "/api/triggeredwebjobs/report", "application/octet-stream", `attachment; filename=run.sh`, strings.NewReader("echo x")); code != 409 {
		t.Errorf("upload over a deployed job: %d %s", code, body)
	}

	// Delete: the job and its runs go; deleting it again succeeds.
	for range 2 {
		if code, _, body := s.kudu("jobs", "DELETE", "/api/triggeredwebjobs/uploaded", "", "", nil); code != 200 {
			t.Fatalf("delete: %d %s", code, body)
		}
	}
	if code, _, _ := s.kudu("jobs", "GET", "/api/triggeredwebjobs/uploaded", "", "", nil); code != 404 {
		t.Errorf("a deleted job answers %d", code)
	}
	if code, _, body := s.kudu("jobs", "GET", "/api/vfs/data/jobs/triggered/uploaded/", "", "", nil); code != 404 {
		t.Errorf("a deleted job's data: %d %s", code, body)
	}
	// Names that are no job's are 404s, never paths.
	for _, p := range []string{"/api/triggeredwebjobs/..%2f..%2fsite", "/api/triggeredwebjobs/.hidden", "/api/continuouswebjobs/a%00b/start"} {
		if code, _, body := s.kudu("jobs", "GET", p, "", "", nil); code != 404 && code != 405 {
			t.Errorf("GET %s: %d %s", p, code, body)
		}
	}
}

// TestWebJobsPythonQuickstart follows Microsoft's WebJobs quickstart for
// Python ("Create a scheduled WebJob", the Python tab; its sample
// Azure-Samples/App-Service-Python-WebJobs-QuickStart): a zip of a run.sh
// that starts /opt/python/3/bin/python3.13 on a script printing the time,
// added to a Python 3.13 app (the portal's Add: Kudu's PUT with the zip),
// given a schedule, and run. /opt/python is the App Service Python image's
// layout, which the instances have too.
func TestWebJobsPythonQuickstart(t *testing.T) {
	needSandbox(t, "WebJobs need")
	s := startServer(t, "--webjobs-interval", "500ms")
	s.mustCLI("", "group", "create", "-n", "rg-quick", "-l", "westeurope")
	s.mustCLI("", "appservice", "plan", "create", "-g", "rg-quick", "-n", "plan-quick", "--sku", "B1", "--is-linux")
	s.mustCLI("", "webapp", "create", "-g", "rg-quick", "-p", "plan-quick", "-n", "quick", "--runtime", "PYTHON:3.13")
	s.groups = map[string]string{"quick": "rg-quick"}
	eventually(t, 2*time.Minute, "the new app's instance", func() bool { return len(s.instances("quick")) == 1 })

	dir := t.TempDir()
	files := map[string]string{
		"run.sh":    "#!/bin/bash\n/opt/python/3/bin/python3.13 webjob.py\n",
		"webjob.py": "import datetime\nprint('now', datetime.datetime.now())\n",
	}
	z := zipDir(t, dir, files)
	f, err := os.Open(z)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	code, _, body := s.kudu("quick", "PUT", "/api/triggeredwebjobs/quickjob", "application/zip", `attachment; filename="webjob.zip"`, f)
	if code != 200 || !strings.Contains(body, `"run_command":"run.sh"`) {
		t.Fatalf("adding the job: %d %s", code, body)
	}
	// The portal's "Scheduled" trigger: the job's settings.
	if code, _, body := s.kudu("quick", "PUT", "/api/triggeredwebjobs/quickjob/settings", "application/json", "", strings.NewReader(`{"schedule": "*/3 * * * * *"}`)); code != 200 {
		t.Fatalf("scheduling the job: %d %s", code, body)
	}
	run := s.waitRun("quick", "quickjob", time.Minute)
	out := s.vfsText("quick", *run.OutputURL)
	if run.Status != "Success" || run.Trigger != "Schedule - */3 * * * * *" || !regexp.MustCompile(`INFO\] now 20\d\d-\d\d-\d\d \d\d:\d\d:\d\d`).MatchString(out) {
		t.Errorf("the quickstart's scheduled run: %+v\n%s", run, out)
	}
}

// TestWebJobsCLI: slipway's own `webapp webjob triggered|continuous`
// commands drive an app's WebJobs as az's do: a run shows in the log with
// Success, a stopped job lists as Stopped and starts again, remove takes
// jobs off the lists, and a job that is not there is refused with the
// server's message and a non-zero exit.
func TestWebJobsCLI(t *testing.T) {
	needSandbox(t, "WebJobs need")
	s := startServer(t, "--webjobs-interval", "500ms")
	s.createApp("jobcli", "WEBJOBS_RESTART_TIME=1")
	s.deploySlotFiles("jobcli", "", map[string]string{
		"App_Data/jobs/triggered/report/run.sh":        webJobFiles["App_Data/jobs/triggered/report/run.sh"],
		"App_Data/jobs/continuous/worker/run.py":       webJobFiles["App_Data/jobs/continuous/worker/run.py"],
		"App_Data/jobs/continuous/worker/settings.job": webJobFiles["App_Data/jobs/continuous/worker/settings.job"],
	})
	at := []string{"-g", "rg-jobcli", "-n", "jobcli"}
	cli := func(args ...string) string {
		t.Helper()
		return s.mustCLI("", append(append([]string{"webapp", "webjob"}, args...), at...)...)
	}
	decode := func(out string, v any) {
		t.Helper()
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("%v in %s", err, out)
		}
	}

	var list []map[string]any
	decode(cli("triggered", "list"), &list)
	if len(list) != 1 || list[0]["name"] != "jobcli/report" || list[0]["runCommand"] != "run.sh" || list[0]["webJobType"] != "Triggered" ||
		list[0]["resourceGroup"] != "rg-jobcli" {
		t.Fatalf("triggered list: %+v", list)
	}
	// az's model fields only, absent ones null: no Kudu snake_case members.
	if v, ok := list[0]["publicNetworkAccess"]; !ok || v != nil {
		t.Errorf("triggered list: publicNetworkAccess %v (present %v)", v, ok)
	}
	if _, ok := list[0]["run_command"]; ok {
		t.Errorf("triggered list has Kudu's members: %+v", list[0])
	}

	// run prints the job, whose latest run is the new one; log shows it end.
	var job struct {
		Name      string
		LatestRun struct{ Status, Trigger, URL string } `json:"latestRun"`
	}
	decode(cli("triggered", "run", "--webjob-name", "report"), &job)
	if job.Name != "jobcli/report" || job.LatestRun.Trigger != "External - slipway-cli" || job.LatestRun.URL == "" {
		t.Fatalf("triggered run printed %+v", job)
	}
	var runs []struct {
		Name string
		Runs []struct {
			Status     string
			WebJobName string `json:"webJobName"`
			OutputURL  string `json:"outputUrl"`
			StartTime  string `json:"startTime"`
		}
	}
	eventually(t, time.Minute, "the run in the log with Success", func() bool {
		decode(cli("triggered", "log", "-w", "report"), &runs)
		return len(runs) == 1 && len(runs[0].Runs) == 1 && runs[0].Runs[0].Status == "Success"
	})
	if r := runs[0].Runs[0]; r.WebJobName != "report" || !strings.Contains(r.OutputURL, "/vfs/data/jobs/triggered/report/") ||
		!strings.HasSuffix(r.StartTime, "+00:00") {
		t.Errorf("the run in the log: %+v", r)
	}
	if out := cli("triggered", "log", "-w", "report", "-o", "table"); !strings.Contains(out, "jobcli/report/") || !strings.Contains(out, "rg-jobcli") {
		t.Errorf("triggered log -o table:\n%s", out)
	}

	// The continuous job: running, stopped, started again.
	status := func() string {
		var l []map[string]any
		decode(cli("continuous", "list"), &l)
		if len(l) != 1 || l[0]["name"] != "jobcli/worker" {
			t.Fatalf("continuous list: %+v", l)
		}
		st, _ := l[0]["status"].(string)
		return st
	}
	eventually(t, time.Minute, "the worker running", func() bool { return status() == "Running" })
	var shown map[string]any
	decode(cli("continuous", "stop", "-w", "worker"), &shown)
	if shown["name"] != "jobcli/worker" || shown["webJobType"] != "Continuous" {
		t.Errorf("continuous stop printed %+v", shown)
	}
	eventually(t, 30*time.Second, "the worker stopped", func() bool { return status() == "Stopped" })
	decode(cli("continuous", "start", "-w", "worker"), &shown)
	if shown["name"] != "jobcli/worker" {
		t.Errorf("continuous start printed %+v", shown)
	}
	eventually(t, time.Minute, "the worker running again", func() bool { return status() == "Running" })

	// A job that is not there: the server's message, exit 1 (as az's).
	for _, args := range [][]string{
		{"triggered", "run", "-w", "nosuch"},
		{"triggered", "log", "-w", "nosuch"},
		{"continuous", "stop", "-w", "nosuch"},
	} {
		out, errs, code := s.cli("", append(append([]string{"webapp", "webjob"}, args...), at...)...)
		if code != 1 || out != "" || !strings.Contains(errs, "ERROR: No "+args[0]+" job found with the name 'nosuch'") ||
			!strings.Contains(errs, "HINT: List the app's jobs with `slipway webapp webjob triggered list -g rg-jobcli -n jobcli`") {
			t.Errorf("%s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
		}
	}

	// remove prints nothing; the lists are empty after.
	for _, args := range [][]string{{"triggered", "remove", "-w", "report"}, {"continuous", "remove", "-w", "worker"}} {
		if out := cli(args...); out != "" {
			t.Errorf("%s printed %q", strings.Join(args, " "), out)
		}
	}
	for _, kind := range []string{"triggered", "continuous"} {
		if out := cli(kind, "list"); strings.TrimSpace(out) != "[]" {
			t.Errorf("%s list after remove: %s", kind, out)
		}
	}
}

// TestContinuousWebJobFollowsARestart: a restart (or a deployment) gives an
// instance a new process under the same id; the continuous jobs that ended
// with the old one start at once in the new one, not after
// WEBJOBS_RESTART_TIME, which is for a job that ended by itself.
func TestContinuousWebJobFollowsARestart(t *testing.T) {
	needSandbox(t, "WebJobs need")
	s := startServer(t, "--webjobs-interval", "500ms")
	s.createApp("follow", "WEBJOBS_RESTART_TIME=600")
	s.deploySlotFiles("follow", "", map[string]string{
		"App_Data/jobs/continuous/worker/run.sh": "echo up $(cat /proc/sys/kernel/random/uuid)\nexec sleep 3600\n",
	})
	logFile := filepath.Join(s.data, "sites", "follow", "home", "data", "jobs", "continuous", "worker", "job_log.txt")
	ups := func() int { b, _ := os.ReadFile(logFile); return strings.Count(string(b), "INFO] up ") }
	eventually(t, time.Minute, "the worker up", func() bool { return ups() >= 1 })
	time.Sleep(2 * time.Second) // settled in the instance that serves after the deployment
	before := ups()
	s.mustCLI("", "webapp", "restart", "-g", "rg-follow", "-n", "follow")
	eventually(t, time.Minute, "the worker up again after the restart", func() bool { return ups() > before })
}

// TestWebJobIdleTimeout: as Kudu's, a triggered run with neither output
// nor CPU time for WEBJOBS_IDLE_TIMEOUT is aborted as failed, with Kudu's
// message; a run that computes without a word, or talks without
// computing, is not.
func TestWebJobIdleTimeout(t *testing.T) {
	needSandbox(t, "WebJobs need")
	s := startServer(t)
	s.createApp("idlejobs", "WEBJOBS_IDLE_TIMEOUT=3")
	s.deploySlotFiles("idlejobs", "", map[string]string{
		// Waits on nothing, silently: aborted.
		"App_Data/jobs/triggered/stuck/run.sh": "echo waiting\nsleep 60\necho never\n",
		// Computes for 7 seconds without a word (the loop's date processes
		// count, as the shell's children): not idle.
		"App_Data/jobs/triggered/busy/run.sh": "end=$(( $(date +%s) + 7 ))\nwhile [ \"$(date +%s)\" -lt \"$end\" ]; do :; done\necho done\n",
		// Talks every second for 7 seconds, computing nothing: not idle.
		"App_Data/jobs/triggered/talks/run.sh": "for i in 1 2 3 4 5 6 7; do echo $i; sleep 1; done\n",
	})
	for _, job := range []string{"stuck", "busy", "talks"} {
		if code, _, body := s.kudu("idlejobs", "POST", "/api/triggeredwebjobs/"+job+"/run", "", "", nil); code != 202 {
			t.Fatalf("run %s: %d %s", job, code, body)
		}
	}
	stuck := s.waitRun("idlejobs", "stuck", time.Minute)
	log := s.vfsText("idlejobs", *stuck.OutputURL)
	if stuck.Status != "Failed" || !strings.Contains(log, "was aborted due to no output nor CPU activity for 3 seconds") ||
		!strings.Contains(log, "WEBJOBS_IDLE_TIMEOUT") || strings.Contains(log, "never") {
		t.Errorf("the stuck run ended %s:\n%s", stuck.Status, log)
	}
	for _, job := range []string{"busy", "talks"} {
		if run := s.waitRun("idlejobs", job, time.Minute); run.Status != "Success" {
			t.Errorf("%s ended %s:\n%s", job, run.Status, s.vfsText("idlejobs", *run.OutputURL))
		}
	}
}
