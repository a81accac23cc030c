package deploy

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/applog"
	rt "github.com/slipway-dev/slipway/internal/runtime"
	"github.com/slipway-dev/slipway/internal/store"
)

// These tests run swaps end to end below HTTP: the real store, the real
// runtime with real processes, and a planner whose instances answer
// "<version>|<GREETING>|<ENV_NAME>" — the artifact they run and the
// settings they were started with (docs/slots.md §2).

type execLauncher struct{}

type execProc struct{ cmd *exec.Cmd }

func (p execProc) Wait() error                     { return p.cmd.Wait() }
func (p execProc) Signal(sig syscall.Signal) error { return syscall.Kill(-p.cmd.Process.Pid, sig) }

func (execLauncher) Start(ctx context.Context, l rt.Launch) (rt.Process, error) {
	cmd := exec.Command(l.Argv[0], l.Argv[1:]...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = l.Env, l.Dir, l.Stdout, l.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return execProc{cmd}, cmd.Start()
}

// echoPlanner starts instances that echo their version and two settings;
// /warm answers WARM_STATUS (default 200).
type echoPlanner struct{ Planner }

func (echoPlanner) BuildSettings(Snapshot) map[string]string { return map[string]string{} }

const echoScript = `import http.server, os, sys, threading
ver = open(os.path.join(sys.argv[1], "version")).read().strip()
body = ("%s|%s|%s" % (ver, os.environ.get("GREETING", ""), os.environ.get("ENV_NAME", ""))).encode()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        code = int(os.environ.get("WARM_STATUS", "200")) if self.path == "/warm" else 200
        self.send_response(code); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
class S(http.server.ThreadingHTTPServer):
    daemon_threads = True
S(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()`

func (echoPlanner) Instance(ctx context.Context, s Snapshot, art Artifact, inst rt.Instance) (rt.Launch, error) {
	env := []string{"PORT=" + strconv.Itoa(inst.Port), "PATH=/usr/local/bin:/usr/bin:/bin"}
	for k, v := range s.Settings {
		env = append(env, k+"="+v)
	}
	return rt.Launch{Argv: []string{"python3", "-c", echoScript, art.Dir}, Env: env}, nil
}
func (echoPlanner) Publish(ctx context.Context, s Snapshot, art Artifact) error { return nil }
func (echoPlanner) Port(Snapshot) int                                           { return 0 }

type swapEnv struct {
	t  *testing.T
	st *store.Store
	rt *rt.Runtime
	c  *Coordinator
}

func newSwapEnv(t *testing.T) *swapEnv {
	t.Helper()
	ctx := t.Context()
	st, r, c := newRealCoordinator(t, 300*time.Millisecond, func(cfg *Config) {
		cfg.Planner = echoPlanner{}
		cfg.Slots = SlotConfig{Store: cfg.Store.(*store.Store), WarmupTimeout: 5 * time.Second}
	})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := st.PutSlot(ctx, "rg", "app", "staging", slipway.Site{Enabled: true}, nil, nil)
	must(err)
	must(st.SetSettings(ctx, "rg", "app", map[string]string{"GREETING": "hello-v1", "ENV_NAME": "prod"}))
	must(st.SetSettings(ctx, "rg", "app-staging", map[string]string{"GREETING": "hello-v2", "ENV_NAME": "staging"}))
	must(st.SetSlotConfigNames(ctx, "rg", "app", []string{"ENV_NAME"}, nil))
	e := &swapEnv{t: t, st: st, rt: r, c: c}
	e.activate("app", "v1")
	e.activate("app-staging", "v2")
	must(c.Restart(ctx, "rg", "app"))
	must(c.Restart(ctx, "rg", "app-staging"))
	e.want("app", "v1|hello-v1|prod")
	e.want("app-staging", "v2|hello-v2|staging")
	return e
}

// newRealCoordinator opens the real store in a temporary directory, with
// the resource group "rg", its S1 plan "plan" and the enabled site "app",
// and a coordinator over the real runtime running real processes; set
// adjusts the coordinator's configuration (its planner, at least).
func newRealCoordinator(t *testing.T, drain time.Duration, set func(*Config)) (*store.Store, *rt.Runtime, *Coordinator) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is needed")
	}
	ctx := t.Context()
	dir := t.TempDir()
	st, err := store.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := rt.New(rt.Config{Launcher: execLauncher{}, DrainDelay: drain, StopGrace: 5 * time.Second, PingEvery: 20 * time.Millisecond})
	t.Cleanup(func() { r.Close() })
	cfg := Config{Store: st, Runtime: r, Launcher: execLauncher{}, Logs: applog.NewHub(applog.Config{}),
		DataDir: dir, Default: Artifact{Dir: writeVersion(t, "default")}}
	set(&cfg)
	c := New(cfg)
	t.Cleanup(func() { c.Close() })
	seedSite(t, st, "S1")
	return st, r, c
}

func writeVersion(t *testing.T, v string) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "version"), []byte(v), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// activate records a successful deployment of version v as site's active one.
func (e *swapEnv) activate(site, v string) slipway.Deployment {
	e.t.Helper()
	art := Artifact{Dir: writeVersion(e.t, v)}
	if err := WriteArtifact(art); err != nil {
		e.t.Fatal(err)
	}
	d, err := e.st.CreateDeployment(e.t.Context(), slipway.Deployment{Site: site, Status: slipway.DeploySuccess, ArtifactDir: art.Dir})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.SetActiveDeployment(e.t.Context(), site, d.ID); err != nil {
		e.t.Fatal(err)
	}
	return d
}

func get(site string, r *rt.Runtime) (string, error) {
	b := r.Backends(site)
	if len(b) == 0 {
		return "", io.ErrUnexpectedEOF
	}
	resp, err := http.Get(b[0] + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

func (e *swapEnv) want(site, body string) {
	e.t.Helper()
	got, err := get(site, e.rt)
	if err != nil || got != body {
		e.t.Fatalf("%s answers %q, %v; want %q", site, got, err, body)
	}
}

func TestSwap_UnderLoadMovesContentKeepsStickySettings(t *testing.T) {
	e := newSwapEnv(t)
	ctx := t.Context()
	var failed, served, v2 atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				body, err := get("app", e.rt)
				served.Add(1)
				if err != nil || (body != "v1|hello-v1|prod" && body != "v2|hello-v2|prod") {
					failed.Add(1)
				}
				if body == "v2|hello-v2|prod" {
					v2.Add(1)
				}
			}
		})
	}
	res, err := e.c.Swap(ctx, "rg", "app", "staging", "")
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if failed.Load() != 0 || v2.Load() == 0 {
		t.Fatalf("%d of %d requests failed or saw a mixed version; %d saw v2", failed.Load(), served.Load(), v2.Load())
	}
	t.Logf("swap flipped after %s; %d requests, 0 failed", res.Flip, served.Load())
	e.want("app", "v2|hello-v2|prod")
	e.want("app-staging", "v1|hello-v1|staging")
	d, _ := e.st.ActiveDeployment(ctx, "app")
	log, _ := e.st.DeploymentLog(ctx, d.Site, d.ID)
	if len(log) == 0 || !strings.Contains(log[0].Message, "Swapped in from slot app-staging") {
		t.Errorf("production's new deployment log: %+v", log)
	}
	// Swap back is the same swap again.
	if _, err := e.c.Swap(ctx, "rg", "app", "staging", "production"); err != nil {
		t.Fatal(err)
	}
	e.want("app", "v1|hello-v1|prod")
	e.want("app-staging", "v2|hello-v2|staging")
}

func TestSwap_FailedWarmUpChangesNothing(t *testing.T) {
	e := newSwapEnv(t)
	ctx := t.Context()
	// Non-sticky: they travel with staging's content to the warm-up.
	if err := e.st.SetSettings(ctx, "rg", "app-staging", map[string]string{"GREETING": "hello-v2", "ENV_NAME": "staging",
		"WEBSITE_SWAP_WARMUP_PING_PATH": "/warm", "WEBSITE_SWAP_WARMUP_PING_STATUSES": "200,202", "WARM_STATUS": "503"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.c.Swap(ctx, "rg", "app", "staging", "")
	if slipway.ErrorCode(err) != slipway.EUNAVAILABLE || !strings.Contains(err.Error(), "answered 503") {
		t.Fatalf("Swap = %v; want a refusal naming the warm-up status", err)
	}
	e.want("app", "v1|hello-v1|prod")
	e.want("app-staging", "v2|hello-v2|staging")
	if s, _ := e.st.Settings(ctx, "rg", "app"); s["GREETING"] != "hello-v1" {
		t.Fatalf("production settings changed: %v", s)
	}
	if d, _ := e.st.ActiveDeployment(ctx, "app"); !strings.Contains(d.ArtifactDir, "") || d.Deployer == "Swap" {
		t.Fatalf("production deployment changed: %+v", d)
	}
	if _, err := e.st.Swap(ctx, "app"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Fatalf("swap record left behind: %v", err)
	}
	if !strings.Contains(strings.Join(e.c.SiteLog("app").Recent(20), "\n"), "answered 503") {
		t.Errorf("production's log lacks the reason: %v", e.c.SiteLog("app").Recent(20))
	}
	// With the status accepted, the same swap goes through.
	if err := e.st.SetSettings(ctx, "rg", "app-staging", map[string]string{"GREETING": "hello-v2", "ENV_NAME": "staging",
		"WEBSITE_SWAP_WARMUP_PING_PATH": "/warm", "WEBSITE_SWAP_WARMUP_PING_STATUSES": "200,503", "WARM_STATUS": "503"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Swap(ctx, "rg", "app", "staging", ""); err != nil {
		t.Fatal(err)
	}
	e.want("app", "v2|hello-v2|prod")
}

func TestSwap_PreviewResetAndComplete(t *testing.T) {
	e := newSwapEnv(t)
	ctx := t.Context()
	if err := e.c.SwapSlots(ctx, "rg", "app", "staging", "", string(SwapActionPreview)); err != nil {
		t.Fatal(err)
	}
	// Phase 1: staging runs its content with production's sticky settings.
	e.want("app-staging", "v2|hello-v2|prod")
	e.want("app", "v1|hello-v1|prod")
	// A restart in preview keeps the preview (it is in the store).
	if err := e.c.Restart(ctx, "rg", "app-staging"); err != nil {
		t.Fatal(err)
	}
	e.want("app-staging", "v2|hello-v2|prod")
	if err := e.c.SwapSlots(ctx, "rg", "app", "staging", "", string(SwapActionReset)); err != nil {
		t.Fatal(err)
	}
	e.want("app-staging", "v2|hello-v2|staging")
	if _, err := e.st.Swap(ctx, "app"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Fatalf("reset left the swap: %v", err)
	}
	// Preview, then complete.
	if err := e.c.SwapSlots(ctx, "rg", "app", "staging", "", string(SwapActionPreview)); err != nil {
		t.Fatal(err)
	}
	if err := e.c.SwapSlots(ctx, "rg", "app", "staging", "production", string(SwapActionSwap)); err != nil {
		t.Fatal(err)
	}
	e.want("app", "v2|hello-v2|prod")
	e.want("app-staging", "v1|hello-v1|staging")
}

func TestSwap_AutoSwapAfterDeployment(t *testing.T) {
	e := newSwapEnv(t)
	ctx := t.Context()
	if err := e.st.SetAutoSwapSlot(ctx, "rg", "app-staging", "production"); err != nil {
		t.Fatal(err)
	}
	d := e.activate("app-staging", "v3")
	slot, _ := e.st.FindSite(ctx, "app-staging")
	if err := e.c.Restart(ctx, "rg", "app-staging"); err != nil {
		t.Fatal(err)
	}
	e.c.autoSwap(ctx, slot, d)
	e.want("app", "v3|hello-v2|prod")
	log, _ := e.st.DeploymentLog(ctx, d.Site, d.ID)
	var msgs []string
	for _, l := range log {
		msgs = append(msgs, l.Message)
	}
	if !strings.Contains(strings.Join(msgs, "\n"), "Auto swap succeeded") {
		t.Fatalf("deployment log: %v", msgs)
	}
}

func TestRecover_ForgetsAnUncommittedSwap(t *testing.T) {
	e := newSwapEnv(t)
	ctx := t.Context()
	// A server killed while warming: the record says warming, nothing committed.
	if err := e.st.BeginSwap(ctx, slipway.Swap{App: "app", Source: "app-staging", Target: "app", Phase: slipway.SwapWarming}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.recoverSwaps(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Swap(ctx, "app"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Fatalf("recovery left the swap: %v", err)
	}
	if err := e.c.StartAll(ctx); err != nil {
		t.Fatal(err)
	}
	e.want("app", "v1|hello-v1|prod")
	e.want("app-staging", "v2|hello-v2|staging")
}

func TestNewMigrations(t *testing.T) {
	old, cur := t.TempDir(), t.TempDir()
	for _, f := range []string{"shop/migrations/0001_initial.py", "shop/migrations/__init__.py"} {
		os.MkdirAll(filepath.Join(old, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(old, f), nil, 0o644)
	}
	for _, f := range []string{"shop/migrations/0001_initial.py", "shop/migrations/0002_price.py", "antenv/x/migrations/0001_y.py"} {
		os.MkdirAll(filepath.Join(cur, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(cur, f), nil, 0o644)
	}
	got := newMigrations(Artifact{Dir: cur}, Artifact{Dir: old})
	if len(got) != 1 || got[0] != "shop/migrations/0002_price.py" {
		t.Fatalf("newMigrations = %v", got)
	}
}
