package runtime

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/applog"
)

// TestSiteStatusAndStartupLogs: each start of an instance leaves a startup
// log of its outcome with the app's output, and the site's runtime status
// names the last error of each instance — a failed start of a new version
// on the instance that keeps serving the previous one, and on a site that
// runs nothing, the failed instance itself.
func TestSiteStatusAndStartupLogs(t *testing.T) {
	r := newRuntime(t)
	dir := filepath.Join(t.TempDir(), "LogFiles")
	os.Mkdir(dir, 0o755)
	log := applog.NewHub(applog.Config{Machine: "m0"}).App("app", dir)
	if err := r.Roll(context.Background(), "app", server(t, log, "good", 1)); err != nil {
		t.Fatal(err)
	}
	st := r.SiteStatus("app")
	if len(st) != 1 || st[0].State != "Started" || st[0].LastError != "" || st[0].Machine != "m0-0" || len(st[0].InstanceID) != 64 {
		t.Fatalf("status of a started site: %+v", st)
	}
	crash := Release{Instances: 1, ReadyTimeout: 20 * time.Second, Log: log, Build: func(Instance) (Launch, error) {
		return Launch{Argv: []string{"python3", "-c", "print('importing settings', flush=True); raise SystemExit('boom: DBUSER missing')"}, Env: []string{"PATH=" + pathEnv()}}, nil
	}}
	if err := r.Roll(context.Background(), "app", crash); err == nil {
		t.Fatal("a crashing version rolled out")
	}
	st = r.SiteStatus("app")
	if len(st) != 1 || st[0].State != "Started" || st[0].LastError != "Container exited before it answered the warmup request" ||
		!strings.Contains(st[0].LastErrorDetails, "exit status 1") || time.Since(st[0].LastErrorAt) > time.Minute || st[0].InstanceID != r.Instances("app")[0].ID {
		t.Fatalf("status after a failed start of a new version: %+v", st)
	}
	day := time.Now().UTC().Format("2006_01_02")
	okLog, err := os.ReadFile(filepath.Join(dir, applog.StartupDir, day+"_m0-0_success.log"))
	if err != nil || !strings.Contains(string(okLog), "initialized successfully") {
		t.Errorf("success startup log: %v\n%s", err, okLog)
	}
	failLog, err := os.ReadFile(filepath.Join(dir, applog.StartupDir, day+"_m0-0_failure.log"))
	if err != nil || !strings.Contains(string(failLog), "importing settings") || !strings.Contains(string(failLog), "boom: DBUSER missing") ||
		!strings.Contains(string(failLog), "Startup failed: machine m0-0") || strings.Contains(string(failLog), "initialized successfully") {
		t.Errorf("failure startup log: %v\n%s", err, failLog)
	}

	// A site that runs nothing: its failed instance is Failed; stopped, Stopped.
	r.Stop(context.Background(), "app")
	if st := r.SiteStatus("app"); len(st) != 1 || st[0].State != "Stopped" || st[0].LastError == "" {
		t.Errorf("status of a stopped site: %+v", st)
	}
	other := applog.NewHub(applog.Config{Machine: "m0"}).App("new", "")
	crash.Log = other
	if err := r.Roll(context.Background(), "new", crash); err == nil {
		t.Fatal("a crashing version rolled out")
	}
	if st := r.SiteStatus("new"); len(st) != 1 || st[0].State != "Failed" || !strings.Contains(st[0].LastErrorDetails, "exit status 1") {
		t.Errorf("status of a site whose only start failed: %+v", st)
	}
	if st := r.SiteStatus("never"); len(st) != 0 {
		t.Errorf("status of an unknown site: %+v", st)
	}
}
