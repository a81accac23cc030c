package scm

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/webjobs"
)

// blockingShells runs nothing: a job "runs" until its context ends.
type blockingShells struct {
	mu    sync.Mutex
	calls int
}

func (b *blockingShells) Shell(ctx context.Context, _ slipway.Site, _ []string, _ string, _ deploy.ConsoleIO) error {
	b.mu.Lock()
	b.calls++
	b.mu.Unlock()
	<-ctx.Done()
	return ctx.Err()
}

// slowToDie runs nothing until its context ends, then takes a moment to
// end, as a killed process's shell does.
type slowToDie struct{}

func (slowToDie) Shell(ctx context.Context, _ slipway.Site, _ []string, _ string, cio deploy.ConsoleIO) error {
	<-ctx.Done()
	time.Sleep(300 * time.Millisecond)
	cio.Stdout.Write([]byte("a last line\n"))
	return ctx.Err()
}

// newJobsEnv is newVFS with a scheduler's view: the site "app" runs in
// one instance, and its jobs run in shells.
func newJobsEnv(t *testing.T, shells Shells, sites func() []slipway.Site) *vfsEnv {
	return newVFS(t, func(c *Config) {
		c.Shells = shells
		c.Instances = func(string) []RunningInstance { return []RunningInstance{{ID: "instance1", Incarnation: 1}} }
		c.Sites = func(context.Context) ([]slipway.Site, error) { return sites(), nil }
	})
}

// addJob writes a job's files into the app's home.
func (e *vfsEnv) addJob(kind, name string, files map[string]string) {
	e.t.Helper()
	dir := filepath.Join(e.homes["app"], "site/wwwroot/App_Data/jobs", kind, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	for f, body := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	// The app's own files, as a deployment leaves them.
	if fi, err := os.Stat(e.homes["app"]); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			filepath.Walk(filepath.Join(e.homes["app"], "site"), func(p string, _ os.FileInfo, _ error) error {
				return os.Lchown(p, int(st.Uid), int(st.Gid))
			})
		}
	}
}

// A stopping job the scheduler no longer wants is asked to stop at each of
// its looks (and at each poke, which an app's owner can send as fast as
// the API answers): one kill is armed, not a timer per look that lives
// for the job's stopping_wait_time (up to ten minutes).
func TestAttackWebJobStopArmsOneKill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pipe, err := newStopPipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pipe.release()
		var kills atomic.Int32
		stop := stopper(pipe, func() { kills.Add(1) })
		for range 1000 {
			stop(10 * time.Minute)
		}
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if n := kills.Load(); n != 0 {
			t.Fatalf("killed %d times before its stopping_wait_time", n)
		}
		stop(0) // the server stops: at once
		synctest.Wait()
		if n := kills.Load(); n != 1 {
			t.Fatalf("stop(0): killed %d times, want 1", n)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := kills.Load(); n != 1 {
			t.Errorf("%d kills were armed for one job; want 1", n)
		}
	})
}

// Once the scheduler has stopped every job (the server shuts down), no new
// run starts: nothing would stop it, or wait for it.
func TestAttackWebJobNoRunAfterShutdown(t *testing.T) {
	shells := &blockingShells{}
	e := newJobsEnv(t, shells, func() []slipway.Site { return []slipway.Site{runningSite()} })
	e.addJob("triggered", "report", map[string]string{"run.sh": "echo hi\n"})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	e.h.RunWebJobs(ctx, time.Hour)

	id, err := e.h.RunWebJob(t.Context(), runningSite(), "report", "", "test")
	if err == nil {
		e.h.killJob(runningSite(), webjobs.Triggered, "report")
		t.Fatalf("run %s started after the scheduler stopped", id)
	}
	if slipway.ErrorCode(err) != slipway.EUNAVAILABLE {
		t.Errorf("RunWebJob after shutdown: %v, want EUNAVAILABLE", err)
	}
}

// An app can make job names without end (a folder renamed at each look):
// the scheduler forgets the schedules of jobs, and apps, that are gone.
func TestAttackWebJobSchedulesForgotten(t *testing.T) {
	var mu sync.Mutex
	sites := []slipway.Site{runningSite()}
	e := newJobsEnv(t, &blockingShells{}, func() []slipway.Site { mu.Lock(); defer mu.Unlock(); return sites })
	sched := map[string]string{"run.sh": "true\n", "settings.job": `{"schedule": "0 0 0 1 1 *"}`}
	js := e.h.jobState()
	count := func() int { js.mu.Lock(); defer js.mu.Unlock(); return len(js.next) + len(js.expr) }

	for i := range 5 {
		name := "job" + string(rune('a'+i))
		e.addJob("triggered", name, sched)
		e.h.superviseJobs(t.Context())
		if err := os.RemoveAll(filepath.Join(e.homes["app"], "site/wwwroot/App_Data/jobs/triggered", name)); err != nil {
			t.Fatal(err)
		}
	}
	e.h.superviseJobs(t.Context())
	if n := count(); n != 0 {
		t.Errorf("after the jobs were deleted the scheduler holds %d entries, want 0", n)
	}

	e.addJob("triggered", "kept", sched)
	e.h.superviseJobs(t.Context())
	if n := count(); n != 2 {
		t.Fatalf("a scheduled job: %d entries, want 2", n)
	}
	mu.Lock()
	sites = nil // the app is deleted
	mu.Unlock()
	e.h.superviseJobs(t.Context())
	if n := count(); n != 0 {
		t.Errorf("after the app was deleted the scheduler holds %d entries, want 0", n)
	}
}

// The API's start, stop, upload and settings calls each ask the scheduler
// to look at once, and a look reads every app's jobs: an app's owner
// calling them as fast as the API answers must not keep the scheduler
// reading everyone's homes back to back.
func TestAttackWebJobPokesBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var looks atomic.Int32
		h := New(Config{
			Store: &vfsStore{}, Shells: &blockingShells{},
			Instances: func(string) []RunningInstance { return nil },
			Sites: func(context.Context) ([]slipway.Site, error) {
				looks.Add(1)
				return nil, nil
			},
		})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); h.RunWebJobs(ctx, 10*time.Second) }()
		for range 1000 { // a second of pokes
			h.poke()
			time.Sleep(time.Millisecond)
		}
		cancel()
		<-done
		if n := looks.Load(); n > 3 {
			t.Errorf("a second of pokes made %d looks at every app's jobs; want at most one a second", n)
		}
	})
}

// Job names are matched without regard to case, as Kudu's: an upload
// named as a deployed job in other letters is that job, refused (409)
// rather than reported done and hidden; one named as an uploaded job in
// other letters replaces it rather than making a second.
func TestAttackWebJobUploadCase(t *testing.T) {
	e := newVFS(t)
	if err := os.Chown(filepath.Join(e.homes["app"], "site"), e.uid, e.gid); err != nil {
		t.Fatal(err)
	}
	e.addJob("triggered", "report", map[string]string{"run.sh": "echo deployed\n"})
	upload := func(name, body string) response {
		return e.do("PUT", "/api/triggeredwebjobs/"+name, strings.NewReader(body), "Content-Disposition", "attachment; filename=run.sh")
	}
	if r := upload("REPORT", "echo uploaded\n"); r.status != http.StatusConflict {
		t.Errorf("upload of REPORT over the deployed report: %d %s, want 409", r.status, r.body)
	}
	if r := upload("worker", "echo one\n"); r.status != http.StatusOK {
		t.Fatalf("upload worker: %d %s", r.status, r.body)
	}
	if r := upload("Worker", "echo two\n"); r.status != http.StatusOK {
		t.Fatalf("upload Worker: %d %s", r.status, r.body)
	}
	ents, err := os.ReadDir(filepath.Join(e.homes["app"], "site/jobs/triggered"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range ents {
		names = append(names, d.Name())
	}
	if len(names) != 1 {
		t.Fatalf("site/jobs/triggered holds %q, want one job", names)
	}
	b, err := os.ReadFile(filepath.Join(e.homes["app"], "site/jobs/triggered", names[0], "run.sh"))
	if err != nil || string(b) != "echo two\n" {
		t.Errorf("the job's run.sh: %q %v, want the second upload", b, err)
	}
}

// Deleting a job while it runs kills it and waits for its last lines and
// status, so that its ending does not make its data again in the home.
func TestDeleteWebJobWhileItRuns(t *testing.T) {
	e := newJobsEnv(t, slowToDie{}, func() []slipway.Site { return []slipway.Site{runningSite()} })
	e.addJob("triggered", "report", map[string]string{"run.sh": "sleep 600\n"})
	if _, err := e.h.RunWebJob(t.Context(), runningSite(), "report", "", "test"); err != nil {
		t.Fatal(err)
	}
	if err := e.h.DeleteWebJob(t.Context(), runningSite(), webjobs.Triggered, "report"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * logFlush) // what a run still writing would have written
	data := filepath.Join(e.homes["app"], "data/jobs/triggered/report")
	if _, err := os.Lstat(data); err == nil {
		t.Errorf("the deleted job's data is there again: %s", data)
	}
	if _, ok := e.h.runningRun(runningSite(), "report"); ok {
		t.Error("the deleted job's run is still under way")
	}
}
