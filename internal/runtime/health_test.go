package runtime

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/applog"
)

// flippable is a release whose instances answer their id on /, 200 or 500
// on /health as set by /sick and /well, and report the Host and
// X-Forwarded-Proto of the last health ping on /seen.
func flippable(log *applog.Log, n int, h HealthCheck) Release {
	script := `import http.server, os, sys
state = {"sick": False, "seen": ""}
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code, b = 200, os.environ["INSTANCE"]
        if self.path == "/health":
            state["seen"] = self.headers.get("Host", "") + " " + self.headers.get("X-Forwarded-Proto", "") + " " + self.headers.get("User-Agent", "")
            code = 500 if state["sick"] else 200
        elif self.path == "/moved":
            code = 302
        elif self.path == "/sick":
            state["sick"] = True
        elif self.path == "/well":
            state["sick"] = False
        elif self.path == "/seen":
            b = state["seen"]
        b = b.encode()
        self.send_response(code); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()`
	return Release{Instances: n, ReadyTimeout: 20 * time.Second, Log: log, Health: h, Build: func(inst Instance) (Launch, error) {
		return Launch{Argv: []string{"python3", "-c", script}, Env: []string{"PORT=" + strconv.Itoa(inst.Port), "INSTANCE=" + inst.ID, "PATH=" + pathEnv()}}, nil
	}}
}

// get GETs url and returns the body.
func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func healthRuntime(t *testing.T, every, replace time.Duration) *Runtime {
	r := New(Config{Launcher: execLauncher{}, DrainDelay: 200 * time.Millisecond, StopGrace: 5 * time.Second, PingEvery: 50 * time.Millisecond,
		HealthEvery: every, ReplaceAfter: replace})
	t.Cleanup(func() { r.Close() })
	return r
}

func ids(list []Instance) []string {
	var out []string
	for _, in := range list {
		out = append(out, in.ID)
	}
	slices.Sort(out)
	return out
}

// waitFor polls cond every 20 ms for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHealthCheck (docs/appservice.md §9): an instance whose health path
// fails MaxPingFailures times in a row leaves Ready; it comes back when it
// answers 2xx again; at most MaxUnhealthyPercent are out; when all are
// unhealthy none is out.
func TestHealthCheck(t *testing.T) {
	r := healthRuntime(t, 100*time.Millisecond, time.Hour)
	log := applog.NewHub(applog.Config{}).App("app", "")
	h := HealthCheck{Path: "/health", Host: "app.example.test", HTTPS: true, MaxPingFailures: 3, MaxUnhealthyPercent: 50}
	if err := r.Roll(context.Background(), "app", flippable(log, 3, h)); err != nil {
		t.Fatal(err)
	}
	all := r.Instances("app")
	if len(all) != 3 || len(r.Ready("app")) != 3 {
		t.Fatalf("instances %v, ready %v", all, r.Ready("app"))
	}
	base := func(in Instance) string { return "http://" + in.Addr }
	get(t, base(all[0])+"/sick")
	waitFor(t, 5*time.Second, "the sick instance to leave the rotation", func() bool { return len(r.Ready("app")) == 2 })
	if got := ids(r.Ready("app")); slices.Contains(got, all[0].ID) {
		t.Fatalf("ready %v still has the sick instance %s", got, all[0].ID)
	}
	if st := r.Instances("app")[0]; st.State != StateRemoved || st.HealthFailures < 3 {
		t.Fatalf("sick instance listed as %s with %d failures", st.State, st.HealthFailures)
	}
	if seen := get(t, base(all[1])+"/seen"); seen != "app.example.test https HealthCheck/1.0" {
		t.Fatalf("a health ping carried %q, want the default host name, https and the user agent", seen)
	}

	// 50 % of 3 is 1: a second sick instance stays in.
	get(t, base(all[1])+"/sick")
	waitFor(t, 5*time.Second, "the second sick instance to be seen unhealthy", func() bool {
		return r.Instances("app")[1].State == StateUnhealthy
	})
	if n := len(r.Ready("app")); n != 2 {
		t.Fatalf("with 2 of 3 unhealthy and a 50%% cap, %d ready; want 2", n)
	}
	// All unhealthy: none out.
	get(t, base(all[2])+"/sick")
	waitFor(t, 5*time.Second, "every instance back when all are unhealthy", func() bool { return len(r.Ready("app")) == 3 })
	// Recovery: the first comes back and stays; the others go out as far
	// as the cap allows.
	get(t, base(all[0])+"/well")
	get(t, base(all[1])+"/well")
	waitFor(t, 5*time.Second, "only the still-sick instance out", func() bool {
		got := ids(r.Ready("app"))
		return len(got) == 2 && !slices.Contains(got, all[2].ID)
	})
	recent := strings.Join(log.Recent(200), "\n")
	for _, want := range []string{"removed from the load balancer", "healthy again", "returned to the load balancer", "stays in the load balancer"} {
		if !strings.Contains(recent, want) {
			t.Errorf("the log lacks %q:\n%s", want, recent)
		}
	}
}

// TestHealthCheckRedirectAndSingle: a redirect is a failure, and a single
// instance is never taken out.
func TestHealthCheckRedirectAndSingle(t *testing.T) {
	r := healthRuntime(t, 50*time.Millisecond, time.Hour)
	log := applog.NewHub(applog.Config{}).App("app", "")
	rel := flippable(log, 1, HealthCheck{Path: "/health", MaxPingFailures: 2})
	if err := r.Roll(context.Background(), "app", rel); err != nil {
		t.Fatal(err)
	}
	in := r.Instances("app")[0]
	if err := r.healthPing("http://"+in.Addr, HealthCheck{Path: "/moved"}); err == nil || !strings.Contains(err.Error(), "302") {
		t.Fatalf("a 302 answer: %v, want a failure", err)
	}
	get(t, "http://"+in.Addr+"/sick")
	waitFor(t, 5*time.Second, "the single instance to be seen unhealthy", func() bool { return r.Instances("app")[0].State == StateUnhealthy })
	if len(r.Ready("app")) != 1 {
		t.Fatal("a single unhealthy instance was taken out")
	}
}

// TestHealthCheckReplaces: an instance unhealthy for ReplaceAfter is
// replaced by a fresh one (same id, new process), which serves again.
func TestHealthCheckReplaces(t *testing.T) {
	r := healthRuntime(t, 50*time.Millisecond, 500*time.Millisecond)
	log := applog.NewHub(applog.Config{}).App("app", "")
	if err := r.Roll(context.Background(), "app", flippable(log, 2, HealthCheck{Path: "/health", MaxPingFailures: 2})); err != nil {
		t.Fatal(err)
	}
	sick := r.Instances("app")[0]
	get(t, "http://"+sick.Addr+"/sick")
	waitFor(t, 10*time.Second, "the replacement to be logged", func() bool {
		return strings.Contains(strings.Join(log.Recent(100), "\n"), "replacing it")
	})
	waitFor(t, 10*time.Second, "the replaced instance to serve again", func() bool { return len(r.Ready("app")) == 2 })
	if got := r.Instances("app")[0]; got.ID != sick.ID || got.State != StateReady {
		t.Fatalf("after replacement: %+v", got)
	}
	if st := get(t, "http://"+r.Instances("app")[0].Addr+"/health"); st != sick.ID {
		t.Fatalf("the replaced instance's health answer %q: still the old, sick process?", st)
	}
}

// TestHealthGatesReadiness: with a health check, an instance whose health
// path never answers 2xx never takes traffic and the roll fails saying so.
func TestHealthGatesReadiness(t *testing.T) {
	r := healthRuntime(t, time.Minute, time.Hour)
	log := applog.NewHub(applog.Config{}).App("app", "")
	rel := flippable(log, 1, HealthCheck{Path: "/moved"})
	rel.ReadyTimeout = 2 * time.Second
	err := r.Roll(context.Background(), "app", rel)
	if err == nil || !strings.Contains(err.Error(), "health check path /moved") {
		t.Fatalf("roll with a failing health path: %v", err)
	}
}

// TestScaleUnderLoad: scaling out 1→3 and in 3→1 while a client sends
// requests fails none of them, and the instance that was there first keeps
// its id and keeps running throughout.
func TestScaleUnderLoad(t *testing.T) {
	r := healthRuntime(t, time.Minute, time.Hour)
	log := applog.NewHub(applog.Config{}).App("app", "")
	if err := r.Roll(context.Background(), "app", flippable(log, 1, HealthCheck{})); err != nil {
		t.Fatal(err)
	}
	first := r.Instances("app")[0]

	var failures, total atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				b := r.Backends("app")
				if len(b) == 0 {
					failures.Add(1)
					continue
				}
				total.Add(1)
				resp, err := client.Get(b[0] + "/")
				if err != nil {
					// A refused connection is retried on the next instance by
					// the front door; anything else is a failure.
					if len(b) > 1 {
						if resp, err = client.Get(b[1] + "/"); err == nil {
							resp.Body.Close()
							continue
						}
					}
					failures.Add(1)
					continue
				}
				resp.Body.Close()
			}
		}()
	}
	if err := r.Scale(context.Background(), "app", 3); err != nil {
		t.Fatal(err)
	}
	if got := r.Instances("app"); len(got) != 3 || got[0].ID != first.ID || got[0].Addr != first.Addr {
		t.Fatalf("after scale-out: %+v; want 3 with the first unchanged", got)
	}
	time.Sleep(300 * time.Millisecond)
	if err := r.Scale(context.Background(), "app", 1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // past the drain delay
	close(stop)
	wg.Wait()
	if got := r.Instances("app"); len(got) != 1 || got[0].ID != first.ID {
		t.Fatalf("after scale-in: %+v; want the first instance alone", got)
	}
	if f := failures.Load(); f != 0 || total.Load() < 50 {
		t.Fatalf("%d of %d requests failed during scaling", f, total.Load())
	}
	// A restart keeps the instance ids (WEBSITE_INSTANCE_ID names the worker).
	if err := r.Roll(context.Background(), "app", flippable(log, 2, HealthCheck{})); err != nil {
		t.Fatal(err)
	}
	if got := r.Instances("app"); got[0].ID != first.ID || got[1].ID == first.ID {
		t.Fatalf("ids after a roll: %v, want %s first", ids(got), first.ID)
	}
	if get(t, "http://"+r.Instances("app")[0].Addr+"/") != first.ID {
		t.Fatal("the rolled instance does not see its id")
	}
}
