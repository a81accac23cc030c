package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRealAzWebJobs: the real az drives an app's WebJobs through ARM
// (az webapp webjob triggered list|run|log|remove, continuous
// list|stop|start|remove), as against App Service, on a production app
// and on a slot.
func TestRealAzWebJobs(t *testing.T) {
	t.Parallel() // its own server and names; az mostly waits (CI time)
	needSandbox(t, "WebJobs need")
	r := startRealAz(t, realAzPath(t), "--webjobs-interval", "500ms")
	cli := r.cli
	rg, plan, app := "rg-realaz-jobs", "plan-realaz-jobs", "realaz-jobs"
	cli.must("group", "create", "-n", rg, "-l", "westeurope", "-o", "none")
	cli.must("appservice", "plan", "create", "-g", rg, "-n", plan, "--is-linux", "--sku", "S1", "-o", "none")
	cli.must("webapp", "create", "-g", rg, "-p", plan, "-n", app, "--runtime", "PYTHON:3.12", "-o", "none")
	cli.must("webapp", "deployment", "slot", "create", "-g", rg, "-n", app, "--slot", "staging", "-o", "none")
	files := map[string]string{
		"App_Data/jobs/triggered/report/run.sh":  "echo report ran in $WEBSITE_SITE_NAME\n",
		"App_Data/jobs/continuous/worker/run.sh": "echo worker up; while sleep 0.2; do [ -e \"$WEBJOBS_SHUTDOWN_FILE\" ] && exit 0; done\n",
	}
	zip := zipDir(t, "testdata/apps/hello", files)
	cli.mustTimeout(5*time.Minute, "webapp", "deploy", "-g", rg, "-n", app, "--src-path", zip, "--type", "zip", "-o", "none")
	cli.mustTimeout(5*time.Minute, "webapp", "deploy", "-g", rg, "-n", app, "--slot", "staging", "--src-path", zip, "--type", "zip", "-o", "none")

	for _, slot := range []string{"", "staging"} {
		at := []string{"-g", rg, "-n", app}
		name := app
		if slot != "" {
			at = append(at, "--slot", slot)
			name = app + "/" + slot
		}
		az := func(args ...string) string {
			return cli.must(append(append([]string{"webapp", "webjob"}, args...), at...)...)
		}
		// sameAsSlipway: slipway's own command prints what az printed
		// for the same server answers (args: at the same state).
		sameAsSlipway := func(azOut string, args ...string) {
			t.Helper()
			ours := r.s.mustCLI("", append(append([]string{"webapp", "webjob"}, args...), at...)...)
			var a, b any
			if json.Unmarshal([]byte(azOut), &a) != nil || json.Unmarshal([]byte(ours), &b) != nil {
				if ours != azOut {
					t.Errorf("%s: slipway %s printed\n%s\naz printed\n%s", name, strings.Join(args, " "), ours, azOut)
				}
				return
			}
			if diff := cmp.Diff(a, b); diff != "" {
				t.Errorf("%s: slipway %s and az differ (-az +slipway):\n%s", name, strings.Join(args, " "), diff)
			}
		}

		var list []map[string]any
		if err := json.Unmarshal([]byte(az("triggered", "list")), &list); err != nil || len(list) != 1 ||
			list[0]["name"] != name+"/report" || list[0]["runCommand"] != "run.sh" || list[0]["webJobType"] != "Triggered" {
			t.Fatalf("%s: triggered list: %v %+v", name, err, list)
		}
		// run: az posts, then shows the job; its latest run is the new one.
		var job struct {
			Name      string
			LatestRun struct {
				Status, Trigger string
				OutputURL       string `json:"outputUrl"`
			} `json:"latestRun"`
		}
		if err := json.Unmarshal([]byte(az("triggered", "run", "--webjob-name", "report")), &job); err != nil || job.Name != name+"/report" || !strings.HasPrefix(job.LatestRun.Trigger, "External - AZURECLI/") {
			t.Fatalf("%s: triggered run: %v %+v", name, err, job)
		}
		var runs []struct {
			Name string
			Runs []struct {
				Status, Trigger string
				JobName         string `json:"jobName"`
				WebJobName      string `json:"webJobName"`
				OutputURL       string `json:"outputUrl"`
			}
		}
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(300 * time.Millisecond) {
			if err := json.Unmarshal([]byte(az("triggered", "log", "--webjob-name", "report")), &runs); err != nil {
				t.Fatal(err)
			}
			if len(runs) == 1 && len(runs[0].Runs) == 1 && runs[0].Runs[0].Status == "Success" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: triggered log: %+v", name, runs)
			}
		}
		if rn := runs[0].Runs[0]; rn.WebJobName != "report" || !strings.Contains(rn.OutputURL, "/vfs/data/jobs/triggered/report/") {
			t.Errorf("%s: the run in az's log: %+v", name, rn)
		}
		// The run has ended: the job and its log stay as they are.
		sameAsSlipway(az("triggered", "list"), "triggered", "list")
		sameAsSlipway(az("triggered", "log", "--webjob-name", "report"), "triggered", "log", "--webjob-name", "report")
		if slot == "" { // the formats once: a slot's differ only in names
			sameAsSlipway(az("triggered", "log", "--webjob-name", "report", "-o", "table"), "triggered", "log", "--webjob-name", "report", "-o", "table")
		}

		// The continuous job: running, stopped, started again.
		status := func() string {
			var l []map[string]any
			if err := json.Unmarshal([]byte(az("continuous", "list")), &l); err != nil || len(l) != 1 || l[0]["name"] != name+"/worker" {
				t.Fatalf("%s: continuous list: %v %+v", name, err, l)
			}
			return l[0]["status"].(string)
		}
		eventually(t, time.Minute, name+"'s worker running", func() bool { return status() == "Running" })
		var shown map[string]any
		json.Unmarshal([]byte(az("continuous", "stop", "--webjob-name", "worker")), &shown)
		if shown["name"] != name+"/worker" {
			t.Errorf("%s: continuous stop shows %+v", name, shown)
		}
		eventually(t, time.Minute, name+"'s worker stopped", func() bool { return status() == "Stopped" })
		sameAsSlipway(az("continuous", "list"), "continuous", "list")
		if slot == "" {
			sameAsSlipway(az("continuous", "list", "-o", "table"), "continuous", "list", "-o", "table")
			sameAsSlipway(az("continuous", "list", "-o", "tsv"), "continuous", "list", "-o", "tsv")
		}
		az("continuous", "start", "--webjob-name", "worker")
		eventually(t, time.Minute, name+"'s worker running again", func() bool { return status() == "Running" })

		// Every job at once (sites/webjobs, which the SDKs list and az
		// reaches with az rest), each with its type.
		if slot == "" {
			var all struct {
				Value []struct {
					Name, Type string
					Properties struct {
						WebJobType string `json:"web_job_type"`
					}
				}
			}
			out := cli.must("rest", "--method", "get", "--url", r.sub+"/resourceGroups/"+rg+"/providers/Microsoft.Web/sites/"+app+"/webjobs?api-version=2025-05-01")
			if err := json.Unmarshal([]byte(out), &all); err != nil || len(all.Value) != 2 ||
				all.Value[0].Name != app+"/report" || all.Value[0].Properties.WebJobType != "Triggered" ||
				all.Value[1].Name != app+"/worker" || all.Value[1].Properties.WebJobType != "Continuous" || all.Value[1].Type != "Microsoft.Web/sites/webjobs" {
				t.Errorf("GET sites/webjobs: %v %s", err, out)
			}
		}

		// remove: gone from the lists; a second remove succeeds.
		az("triggered", "remove", "--webjob-name", "report")
		az("continuous", "remove", "--webjob-name", "worker")
		az("continuous", "remove", "--webjob-name", "worker")
		if out := az("triggered", "list"); strings.TrimSpace(out) != "[]" {
			t.Errorf("%s: triggered list after remove: %s", name, out)
		}
		if out := az("continuous", "list"); strings.TrimSpace(out) != "[]" {
			t.Errorf("%s: continuous list after remove: %s", name, out)
		}
		// A job that is not there: az's error, not a crash.
		errs := cli.fail(append([]string{"webapp", "webjob", "triggered", "run", "--webjob-name", "nosuch"}, at...)...)
		if !strings.Contains(errs, "nosuch") {
			t.Errorf("%s: run of a missing job: %s", name, errs)
		}
		// slipway's says the same, and what to do.
		_, ours, code := r.s.cli("", append([]string{"webapp", "webjob", "triggered", "run", "--webjob-name", "nosuch"}, at...)...)
		if first, _, _ := strings.Cut(ours, "\n"); code != 1 || first != strings.TrimSpace(errs) {
			t.Errorf("%s: slipway's run of a missing job: exit %d\n%s\naz's:\n%s", name, code, ours, errs)
		}
	}
	t.Logf("az timings:\n%s", cli.timings.String())
}
