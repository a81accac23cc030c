package server

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/slipway/internal/autoscale"
	"github.com/slipway-dev/slipway/internal/cgroups"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/every"
	"github.com/slipway-dev/slipway/internal/frontdoor"
	"github.com/slipway-dev/slipway/internal/store"
)

// The autoscale evaluator: every interval, for each enabled autoscale
// setting (Microsoft.Insights/autoscalesettings, internal/arm/autoscale.go)
// it samples its plan's metrics, keeps a bounded window of samples, asks
// internal/autoscale for a decision, and applies a change of the plan's
// worker count the way `az appservice plan update --number-of-workers`
// does (store the plan's capacity, then the coordinator's PlanChanged,
// which scales with no failed request). Azure writes each autoscale action
// to the activity log; Slipway writes it to the platform log with the
// rules that fired
// (https://learn.microsoft.com/azure/azure-monitor/autoscale/autoscale-understanding-settings).

// autoscaleFlags adds --autoscale-interval.
func autoscaleFlags(fs *flag.FlagSet, cfg *Config, getenv func(string) string) error {
	def := time.Minute
	if v := getenv("SLIPWAY_AUTOSCALE_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("SLIPWAY_AUTOSCALE_INTERVAL=%q is not a duration", v)
		}
		def = d
	}
	fs.DurationVar(&cfg.AutoscaleEvery, "autoscale-interval", def, "how often autoscale settings are evaluated against measured metrics; 0 turns autoscale off (env SLIPWAY_AUTOSCALE_INTERVAL)")
	return nil
}

// planSample is one measurement of a plan: CPU and memory percentages
// averaged over its instances (when Usage: measured from their cgroups),
// and the HTTP requests in progress at the front door for its sites.
type planSample struct {
	CPU, Memory, HTTPQueue float64
	Usage                  bool
}

// planMetrics measures plans; ok is false when the plan runs no instance
// (nothing to measure: no sample is recorded).
type planMetrics interface {
	Sample(ctx context.Context, rg, plan string, now time.Time) (planSample, bool)
}

// planScaler reads and changes a plan's worker count.
type planScaler interface {
	Workers(ctx context.Context, rg, plan string) (int, error)
	SetWorkers(ctx context.Context, rg, plan string, n int) error
}

// Bounds of the sample window: no rule looks further back than 12 hours
// (internal/autoscale's timeWindow limit), and a setting keeps at most
// maxAutoscaleSamples samples of each metric.
const (
	maxAutoscaleWindow  = 12 * time.Hour
	maxAutoscaleSamples = 2048
	maxAutoscaleSetting = 1024 // settings evaluated per tick
)

// autoscaler evaluates the settings. tick is safe to call from one
// goroutine at a time (run's).
type autoscaler struct {
	settings func(ctx context.Context) ([]store.AutoscaleSetting, error)
	metrics  planMetrics
	scaler   planScaler
	now      func() time.Time
	log      *slog.Logger

	mu     sync.Mutex
	states map[string]*autoscaleState // by lower-case "rg/name"
}

// autoscaleState is what the loop keeps of one setting between ticks.
type autoscaleState struct {
	props   string // the properties the evaluator was built from
	target  string
	ev      *autoscale.Evaluator
	profile string
	samples map[string][]autoscale.Sample // by lower-case metric name
}

// run ticks every interval until ctx ends.
func (a *autoscaler) run(ctx context.Context, interval time.Duration) {
	every.Run(ctx, interval, a.tick)
}

// tick evaluates every enabled setting once.
func (a *autoscaler) tick(ctx context.Context) {
	all, err := a.settings(ctx)
	if err != nil {
		a.log.Warn("autoscale: listing settings", "err", err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.states == nil {
		a.states = map[string]*autoscaleState{}
	}
	seen := map[string]bool{}
	for i, s := range all {
		if i >= maxAutoscaleSetting {
			a.log.Warn("autoscale: too many settings; the rest are not evaluated", "limit", maxAutoscaleSetting)
			break
		}
		if !s.Enabled {
			continue
		}
		key := strings.ToLower(s.ResourceGroup + "/" + s.Name)
		seen[key] = true
		a.evaluate(ctx, key, s)
	}
	for k := range a.states {
		if !seen[k] {
			delete(a.states, k)
		}
	}
}

func (a *autoscaler) evaluate(ctx context.Context, key string, s store.AutoscaleSetting) {
	st := a.states[key]
	if st == nil || st.props != string(s.Properties) || st.target != s.TargetResourceURI {
		var props struct {
			Profiles json.RawMessage `json:"profiles"`
		}
		if err := json.Unmarshal(s.Properties, &props); err != nil {
			a.log.Warn("autoscale: reading setting", "setting", s.Name, "err", err)
			return
		}
		ps, active, err := autoscale.Profiles(props.Profiles)
		if err != nil {
			a.log.Warn("autoscale: reading setting", "setting", s.Name, "err", err)
			return
		}
		ev, _ := autoscale.New(ps[active])
		st = &autoscaleState{props: string(s.Properties), target: s.TargetResourceURI, ev: ev, profile: ps[active].Name, samples: map[string][]autoscale.Sample{}}
		a.states[key] = st
	}
	_, rg, plan, ok := store.PlanOfTarget(s.TargetResourceURI)
	if !ok {
		return
	}
	now := a.now()
	if m, ok := a.metrics.Sample(ctx, rg, plan, now); ok {
		if m.Usage {
			st.add("cpupercentage", now, m.CPU)
			st.add("memorypercentage", now, m.Memory)
		}
		st.add("httpqueuelength", now, m.HTTPQueue)
	}
	current, err := a.scaler.Workers(ctx, rg, plan)
	if err != nil {
		a.log.Warn("autoscale: reading the plan", "setting", s.Name, "plan", plan, "err", err)
		return
	}
	target, change := st.ev.Decide(now, current, st.metrics)
	if !change {
		return
	}
	fired := st.ev.RuleFired(now, target > current, st.metrics)
	if len(fired) == 0 {
		fired = []string{"the instance count was outside the profile's capacity"}
	}
	if err := a.scaler.SetWorkers(ctx, rg, plan, target); err != nil {
		a.log.Warn("autoscale: scaling the plan", "setting", s.Name, "plan", plan, "from", current, "to", target, "err", err)
		return
	}
	a.log.Info("autoscale: scaled the plan", "setting", s.Name, "profile", st.profile, "resourceGroup", rg, "plan", plan,
		"from", current, "to", target, "rules", strings.Join(fired, "; "))
}

// add records a sample, dropping those older than the longest window and
// beyond the count bound.
func (st *autoscaleState) add(metric string, at time.Time, v float64) {
	s := append(st.samples[metric], autoscale.Sample{At: at, Value: v})
	i := 0
	for i < len(s) && (at.Sub(s[i].At) > maxAutoscaleWindow || len(s)-i > maxAutoscaleSamples) {
		i++
	}
	st.samples[metric] = append(s[:0:0], s[i:]...)
}

// metrics is the evaluator's view of the samples: those of a metric since
// a time.
func (st *autoscaleState) metrics(metric string, since time.Time) []autoscale.Sample {
	var out []autoscale.Sample
	for _, s := range st.samples[strings.ToLower(metric)] {
		if !s.At.Before(since) {
			out = append(out, s)
		}
	}
	return out
}

// storeScaler changes a plan's worker count as `az appservice plan update
// --number-of-workers` does (internal/arm putPlan): the capacity is stored,
// then the coordinator brings the plan's apps to it.
type storeScaler struct {
	st    *store.Store
	coord *deploy.Coordinator
}

func (s storeScaler) Workers(ctx context.Context, rg, plan string) (int, error) {
	p, err := s.st.Plan(ctx, rg, plan)
	if err != nil {
		return 0, err
	}
	return p.SKU.Capacity, nil
}

func (s storeScaler) SetWorkers(ctx context.Context, rg, plan string, n int) error {
	p, err := s.st.Plan(ctx, rg, plan)
	if err != nil {
		return err
	}
	p.SKU.Capacity = n
	if _, _, err := s.st.PutPlan(ctx, p); err != nil {
		return err
	}
	return s.coord.PlanChanged(ctx, rg, plan)
}

// trackGroup records an instance's cgroup as the site's until the
// returned func (idempotent) forgets it.
func (p *planner) trackGroup(site string, g *cgroups.Group) func() {
	key := strings.ToLower(site)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.instGroups == nil {
		p.instGroups = map[string]map[*cgroups.Group]bool{}
	}
	if p.instGroups[key] == nil {
		p.instGroups[key] = map[*cgroups.Group]bool{}
	}
	p.instGroups[key][g] = true
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		delete(p.instGroups[key], g)
		if len(p.instGroups[key]) == 0 {
			delete(p.instGroups, key)
		}
	}
}

// siteGroups returns the cgroups of the site's instances.
func (p *planner) siteGroups(site string) []*cgroups.Group {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*cgroups.Group, 0, len(p.instGroups[strings.ToLower(site)]))
	for g := range p.instGroups[strings.ToLower(site)] {
		out = append(out, g)
	}
	return out
}

// cpuReading is a group's CPU time at a moment.
type cpuReading struct {
	used time.Duration
	at   time.Time
}

// liveMetrics measures plans on this server: CPU percentage of the plan's
// instance size from the growth of each instance cgroup's CPU time since
// the previous sample, memory percentage from its memory use over the
// size's memory, both averaged over the instances (as App Service's
// CpuPercentage and MemoryPercentage are), and the HTTP queue length as the
// front door's requests in progress on the plan's sites' instances.
type liveMetrics struct {
	st    *store.Store
	pl    *planner
	ready frontdoor.Backends
	fd    interface{ InFlight(urls []string) int }

	mu   sync.Mutex
	last map[string]map[*cgroups.Group]cpuReading // by lower-case "rg/plan"
}

func (m *liveMetrics) Sample(ctx context.Context, rg, plan string, now time.Time) (planSample, bool) {
	p, err := m.st.Plan(ctx, rg, plan)
	if err != nil {
		return planSample{}, false
	}
	sites, err := m.st.Sites(ctx, "") // a plan's sites may be in other groups
	if err != nil {
		return planSample{}, false
	}
	size := p.SKU.Size()
	key := strings.ToLower(rg + "/" + plan)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last == nil {
		m.last = map[string]map[*cgroups.Group]cpuReading{}
	}
	prev, next := m.last[key], map[*cgroups.Group]cpuReading{}
	var out planSample
	var cpuSum, memSum float64
	var cpuN, memN, backends int
	for _, s := range sites {
		if !s.OnPlan(p.ResourceGroup, p.Name) {
			continue
		}
		var urls []string
		for _, b := range m.ready.Backends(s.Name) {
			urls = append(urls, b.URL)
		}
		backends += len(urls)
		if m.fd != nil {
			out.HTTPQueue += float64(m.fd.InFlight(urls))
		}
		if m.pl == nil {
			continue
		}
		for _, g := range m.pl.siteGroups(s.Name) {
			if used, err := g.CPUUsage(); err == nil {
				next[g] = cpuReading{used, now}
				if r, ok := prev[g]; ok && now.After(r.at) && used >= r.used && size.Cores > 0 {
					cpuSum += min(100, 100*float64(used-r.used)/(float64(now.Sub(r.at))*size.Cores))
					cpuN++
				}
			}
			if mem, err := g.MemoryCurrent(); err == nil && size.MemoryMB > 0 {
				memSum += min(100, 100*float64(mem)/float64(int64(size.MemoryMB)<<20))
				memN++
			}
		}
	}
	m.last[key] = next
	if cpuN > 0 && memN > 0 {
		out.CPU, out.Memory, out.Usage = cpuSum/float64(cpuN), memSum/float64(memN), true
	}
	return out, backends > 0 || out.Usage
}

// startAutoscale starts the evaluator every cfg.AutoscaleEvery (not at all
// when 0) and returns its closer.
func startAutoscale(ctx context.Context, cfg Config, scaler planScaler, metrics planMetrics,
	settings func(context.Context, string) ([]store.AutoscaleSetting, error), log *slog.Logger) func() error {
	if cfg.AutoscaleEvery <= 0 {
		return func() error { return nil }
	}
	a := &autoscaler{
		settings: func(ctx context.Context) ([]store.AutoscaleSetting, error) { return settings(ctx, "") },
		metrics:  metrics, scaler: scaler, now: time.Now, log: log,
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); a.run(runCtx, cfg.AutoscaleEvery) }()
	return func() error { stop(); <-done; return nil }
}
