package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/autoscale"
	"github.com/slipway-dev/slipway/internal/cgroups"
	"github.com/slipway-dev/slipway/internal/frontdoor"
	"github.com/slipway-dev/slipway/internal/store"
)

type fakeMetrics struct{ cpu float64 }

func (f *fakeMetrics) Sample(context.Context, string, string, time.Time) (planSample, bool) {
	return planSample{CPU: f.cpu, Memory: 20, Usage: true}, true
}

type fakeScaler struct {
	workers int
	calls   []int
}

func (f *fakeScaler) Workers(_ context.Context, rg, plan string) (int, error) {
	if rg != "rg" || plan != "plan" {
		return 0, context.Canceled
	}
	return f.workers, nil
}

func (f *fakeScaler) SetWorkers(_ context.Context, _, _ string, n int) error {
	f.workers = n
	f.calls = append(f.calls, n)
	return nil
}

func testSetting(t *testing.T, enabled bool) store.AutoscaleSetting {
	rule := func(dir, op string, th float64) map[string]any {
		return map[string]any{
			"metricTrigger": map[string]any{"metricName": "CpuPercentage", "timeGrain": "PT1M", "statistic": "Average",
				"timeWindow": "PT5M", "timeAggregation": "Average", "operator": op, "threshold": th},
			"scaleAction": map[string]any{"direction": dir, "type": "ChangeCount", "value": "1", "cooldown": "PT5M"},
		}
	}
	props, err := json.Marshal(map[string]any{"profiles": []any{map[string]any{
		"name":     "default",
		"capacity": map[string]any{"minimum": "1", "maximum": "3", "default": "1"},
		"rules":    []any{rule("Increase", "GreaterThan", 70), rule("Decrease", "LessThan", 30)},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return store.AutoscaleSetting{ResourceGroup: "rg", Name: "as1", Enabled: enabled, Properties: props,
		TargetResourceURI: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan"}
}

// TestAutoscaler_OutThenIn: a busy plan scales out once (its cooldown
// holds the next step), and when it is idle scales in only after the
// cooldown and once the busy samples have left the window.
func TestAutoscaler_OutThenIn(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m, sc := &fakeMetrics{cpu: 90}, &fakeScaler{workers: 1}
	var logs bytes.Buffer
	setting := testSetting(t, true)
	a := &autoscaler{
		settings: func(context.Context) ([]store.AutoscaleSetting, error) { return []store.AutoscaleSetting{setting}, nil },
		metrics:  m, scaler: sc, now: func() time.Time { return now },
		log: slog.New(slog.NewTextHandler(&logs, nil)),
	}
	step := func(d time.Duration) { now = now.Add(d); a.tick(t.Context()) }

	step(time.Minute)
	if sc.workers != 2 {
		t.Fatalf("a busy plan did not scale out: workers %d, calls %v", sc.workers, sc.calls)
	}
	if !strings.Contains(logs.String(), "from=1 to=2") || !strings.Contains(logs.String(), "CpuPercentage greaterthan 70") {
		t.Fatalf("the decision was not logged with its rule: %s", logs.String())
	}
	for range 4 { // still busy, within the 5-minute cooldown
		step(time.Minute)
	}
	if len(sc.calls) != 1 {
		t.Fatalf("scaled within the cooldown: %v", sc.calls)
	}
	step(time.Minute) // cooldown over, still busy: the next step out
	if sc.workers != 3 {
		t.Fatalf("after the cooldown: workers %d, calls %v", sc.workers, sc.calls)
	}
	m.cpu = 5 // idle: the window still averages the busy samples for a while
	step(time.Minute)
	if sc.workers != 3 {
		t.Fatalf("scaled in within the cooldown: %v", sc.calls)
	}
	for i := 0; i < 10 && sc.workers == 3; i++ {
		step(time.Minute)
	}
	if sc.workers != 2 || sc.calls[len(sc.calls)-1] != 2 {
		t.Fatalf("an idle plan did not scale in: workers %d, calls %v", sc.workers, sc.calls)
	}
	if !strings.Contains(logs.String(), "from=3 to=2") || !strings.Contains(logs.String(), "CpuPercentage lessthan 30") {
		t.Fatalf("the scale-in was not logged with its rule: %s", logs.String())
	}
	for range 30 {
		step(time.Minute)
	}
	if sc.workers != 1 {
		t.Fatalf("an idle plan stopped above the minimum: workers %d, calls %v", sc.workers, sc.calls)
	}

	// A disabled setting does nothing, and its state is dropped.
	setting = testSetting(t, false)
	m.cpu = 100
	for range 10 {
		step(time.Minute)
	}
	if sc.workers != 1 || len(a.states) != 0 {
		t.Fatalf("a disabled setting scaled: workers %d, states %d", sc.workers, len(a.states))
	}
}

func TestAutoscaleState_Bounded(t *testing.T) {
	st := &autoscaleState{samples: map[string][]autoscale.Sample{}}
	at := time.Unix(0, 0)
	for i := range maxAutoscaleSamples + 100 {
		st.add("cpupercentage", at.Add(time.Duration(i)*time.Second), float64(i))
	}
	if n := len(st.samples["cpupercentage"]); n != maxAutoscaleSamples {
		t.Fatalf("kept %d samples", n)
	}
	st.add("cpupercentage", at.Add(13*time.Hour), 1)
	if n := len(st.samples["cpupercentage"]); n != 1 {
		t.Fatalf("kept %d samples older than the longest window", n)
	}
}

type fixedBackend struct{}

func (fixedBackend) Backends(site string) []frontdoor.Backend {
	if site != "app" {
		return nil
	}
	return []frontdoor.Backend{{ID: "i1", URL: "http://10.0.0.2:8000"}}
}

type fakeInFlight map[string]int

func (f fakeInFlight) InFlight(urls []string) int {
	n := 0
	for _, u := range urls {
		n += f[u]
	}
	return n
}

// TestLiveMetrics: CPU% is the growth of the instance cgroup's CPU time
// over the plan's cores between samples, memory% its use over the SKU's
// memory, the queue the front door's requests in progress on the site.
func TestLiveMetrics(t *testing.T) {
	ctx := t.Context()
	st := storeWithGroup(t)
	sku, _ := slipway.ParseSKU("B2") // 2 cores, 3.5 GB
	if _, _, err := st.PutPlan(ctx, slipway.Plan{ResourceGroup: "rg", Name: "plan", Location: "westeurope", SKU: sku, Linux: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.PutSite(ctx, slipway.Site{ResourceGroup: "rg", Name: "app", Plan: "plan", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for f, s := range map[string]string{"cgroup.controllers": "cpu memory pids\n", "cgroup.subtree_control": "", "cgroup.procs": ""} {
		if err := os.WriteFile(filepath.Join(root, f), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cg, err := cgroups.Open(cgroups.Config{Root: root, Parent: "slipway-test", AllowPlainTree: true})
	if err != nil {
		t.Fatal(err)
	}
	g, err := cg.New("i-1", cgroups.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "slipway-test", "i-1")
	write := func(f, s string) {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pl := &planner{}
	untrack := pl.trackGroup("App", g)
	m := &liveMetrics{st: st, pl: pl, ready: fixedBackend{}, fd: fakeInFlight{"http://10.0.0.2:8000": 3}}
	t0 := time.Unix(1000, 0)

	write("cpu.stat", "usage_usec 1000000\n")
	write("memory.current", fmt.Sprint(int64(3584)<<20/4)) // a quarter of 3.5 GB
	s, ok := m.Sample(ctx, "rg", "plan", t0)
	if !ok || s.Usage || s.HTTPQueue != 3 {
		t.Fatalf("first sample = %+v, %v; want the queue only (no CPU baseline yet)", s, ok)
	}
	write("cpu.stat", "usage_usec 31000000\n") // 30 s of CPU in 60 s on 2 cores: 25%
	s, ok = m.Sample(ctx, "rg", "plan", t0.Add(time.Minute))
	if !ok || !s.Usage || math.Abs(s.CPU-25) > 0.01 || math.Abs(s.Memory-25) > 0.01 || s.HTTPQueue != 3 {
		t.Fatalf("second sample = %+v, %v; want CPU 25, memory 25, queue 3", s, ok)
	}
	if _, _, err := st.PutSite(ctx, slipway.Site{ResourceGroup: "rg", Name: "other", Plan: "plan", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	untrack()
	untrack() // idempotent
	if s, _ := m.Sample(ctx, "rg", "plan", t0.Add(2*time.Minute)); s.Usage {
		t.Fatalf("a forgotten instance was measured: %+v", s)
	}
	if len(pl.instGroups) != 0 {
		t.Fatalf("instGroups = %v", pl.instGroups)
	}
}
