package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// realAzStartupLogs checks, with the real az, `webapp log startup list` and
// `show` and `webapp troubleshoot status` on app, whose every start has
// failed (its startup command names a module it does not have): the
// startup log holds gunicorn's own error, and the status names the failed
// instance, its last error and its failed starts of the last 24 hours.
func realAzStartupLogs(t *testing.T, cli *realAz, rg, app string) {
	t.Helper()
	var list []struct{ Filename, Instance, Outcome string }
	out := cli.must("webapp", "log", "startup", "list", "-g", rg, "-n", app, "--outcome", "failure", "-o", "json")
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) == 0 || list[0].Outcome != "failure" || list[0].Instance == "" {
		t.Fatalf("webapp log startup list --outcome failure: %v\n%s", err, out)
	}
	out = cli.must("webapp", "log", "startup", "show", "-g", rg, "-n", app, "-o", "json")
	var show struct{ Filename, Outcome, Instance, Content string }
	if err := json.Unmarshal([]byte(out), &show); err != nil || show.Outcome != "failure" || show.Filename != list[0].Filename ||
		!strings.Contains(show.Content, "nothere") || !strings.Contains(show.Content, "Startup failed") {
		t.Fatalf("webapp log startup show: %v\n%s", err, tail(out, 40))
	}
	out = cli.must("webapp", "log", "startup", "show", "-g", rg, "-n", app, "--filename", list[0].Filename, "-o", "json")
	if !strings.Contains(out, "nothere") {
		t.Errorf("webapp log startup show --filename %s:\n%s", list[0].Filename, tail(out, 20))
	}

	out = cli.must("webapp", "troubleshoot", "status", "-g", rg, "-n", app, "-o", "json")
	var status struct {
		Instances []struct {
			InstanceID  string `json:"instanceId"`
			MachineName string `json:"machineName"`
			State       string `json:"state"`
			LastError   string `json:"lastError"`
			Startup     struct {
				Succeeded, Failed int
			} `json:"startup"`
		} `json:"instances"`
	}
	if err := json.Unmarshal([]byte(out), &status); err != nil || len(status.Instances) != 1 {
		t.Fatalf("webapp troubleshoot status: %v\n%s", err, out)
	}
	in := status.Instances[0]
	if in.State != "Failed" || in.LastError == "" || in.MachineName != list[0].Instance || in.Startup.Failed < 1 || in.Startup.Succeeded != 0 {
		t.Errorf("webapp troubleshoot status: want the instance Failed with its last error and failed starts\n%s", out)
	}

	// The human reports az's tips suggest render what Slipway answers.
	if out := cli.must("webapp", "troubleshoot", "status", "-g", rg, "-n", app, "--report"); !strings.Contains(out, "Failed") || !strings.Contains(out, in.MachineName) {
		t.Errorf("webapp troubleshoot status --report:\n%s", out)
	}
	if out := cli.must("webapp", "troubleshoot", "config", "-g", rg, "-n", app, "--report"); !strings.Contains(out, in.LastError) {
		t.Errorf("webapp troubleshoot config --report lacks the runtime error %q:\n%s", in.LastError, out)
	}

	// troubleshoot config: the built-in checks are not run (Kudu's 404),
	// and the runtime error of the last 15 minutes comes from siteStatus.
	out = cli.must("webapp", "troubleshoot", "config", "-g", rg, "-n", app, "-o", "json")
	var cfg struct {
		ConfigCheck  any `json:"configCheck"`
		RuntimeError *struct {
			InstanceID string `json:"instanceId"`
			LastError  string `json:"lastError"`
		} `json:"runtimeError"`
	}
	if err := json.Unmarshal([]byte(out), &cfg); err != nil || cfg.ConfigCheck != nil || cfg.RuntimeError == nil ||
		cfg.RuntimeError.InstanceID != in.InstanceID || cfg.RuntimeError.LastError == "" {
		t.Errorf("webapp troubleshoot config: want no built-in checks and the instance's runtime error (%v)\n%s", err, out)
	}
}

// realAzExec runs `az webapp exec --mode execute` (az 2.91): a shell
// command started in the app's sandbox, which writes a file under /home
// after az has its answer (read back through Kudu's VFS), and a command
// the sandbox cannot find, which az reports as not started.
func realAzExec(t *testing.T, cli *realAz, web platformHTTP, rg, app string, port int) {
	t.Helper()
	user := strings.TrimSpace(cli.must("webapp", "deployment", "list-publishing-credentials", "-g", rg, "-n", app, "--query", "publishingUserName", "-o", "tsv"))
	pass := strings.TrimSpace(cli.must("webapp", "deployment", "list-publishing-credentials", "-g", rg, "-n", app, "--query", "publishingPassword", "-o", "tsv"))
	cli.must("webapp", "exec", "-g", rg, "-n", app, "--mode", "execute", "--shell-command", "sleep 1; id -un > /home/data/exec.txt; pwd >> /home/data/exec.txt", "--cwd", "/home/site")
	vfs := fmt.Sprintf("https://%s.scm.localhost:%d/api/vfs/data/exec.txt", app, port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := web.getAuth(t, vfs, user, pass)
		if code == 200 && strings.HasSuffix(body, "/home/site\n") {
			if strings.HasPrefix(body, "root\n") {
				t.Errorf("az webapp exec ran the command as root:\n%s", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("az webapp exec --mode execute: the command's file did not appear: GET %s = %d %q", vfs, code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// troubleshoot status of a running app: its instance Started, named
	// by ARM's instances as by its startup logs, with successful starts.
	out := cli.must("webapp", "troubleshoot", "status", "-g", rg, "-n", app, "-o", "json")
	var status struct {
		Instances []struct {
			MachineName string `json:"machineName"`
			State       string `json:"state"`
			Startup     struct{ Succeeded int }
		} `json:"instances"`
	}
	if err := json.Unmarshal([]byte(out), &status); err != nil || len(status.Instances) == 0 || status.Instances[0].State != "Started" ||
		status.Instances[0].MachineName != "slipway0-0" || status.Instances[0].Startup.Succeeded < 1 {
		t.Errorf("webapp troubleshoot status of a running app (%v):\n%s", err, out)
	}

	// troubleshoot deployment (az 2.91): Kudu's latest deployment with
	// ARM's deploymentStatus of it.
	out = cli.must("webapp", "troubleshoot", "deployment", "-g", rg, "-n", app, "-o", "json")
	var dep struct {
		DeploymentID string `json:"deploymentId"`
		State        string `json:"state"`
		Complete     bool   `json:"complete"`
		Active       bool   `json:"active"`
		InProgress   bool   `json:"inProgress"`
	}
	if err := json.Unmarshal([]byte(out), &dep); err != nil || dep.DeploymentID == "" || dep.State != "RuntimeSuccessful" || !dep.Complete || !dep.Active || dep.InProgress {
		t.Errorf("webapp troubleshoot deployment: want the latest deployment complete, active and RuntimeSuccessful (%v)\n%s", err, out)
	}
	// az prints the server's reason as a warning (not shown here: the
	// harness runs az with only errors shown) and fails.
	if msg := cli.fail("webapp", "exec", "-g", rg, "-n", app, "--mode", "execute", "--command", "no-such-program --flag"); !strings.Contains(msg, "not accepted") {
		t.Errorf("az webapp exec of a missing program: %s", msg)
	}
}
