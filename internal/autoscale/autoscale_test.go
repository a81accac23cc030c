package autoscale

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// profileJSON is a profile as az monitor autoscale create / rule create
// send it: scale out by 2 on CPU > 70 % over 10 minutes, in by 1 when CPU
// < 30 % and the HTTP queue is empty.
const profileJSON = `{"name":"default","capacity":{"minimum":"1","maximum":"5","default":"2"},"rules":[
 {"metricTrigger":{"metricName":"CpuPercentage","timeGrain":"PT1M","statistic":"Average","timeWindow":"PT10M","timeAggregation":"Average","operator":"GreaterThan","threshold":70},
  "scaleAction":{"direction":"Increase","type":"ChangeCount","value":"2","cooldown":"PT5M"}},
 {"metricTrigger":{"metricName":"CpuPercentage","timeGrain":"PT1M","statistic":"Average","timeWindow":"PT10M","timeAggregation":"Average","operator":"LessThan","threshold":30},
  "scaleAction":{"direction":"Decrease","type":"ChangeCount","value":"1","cooldown":"PT5M"}},
 {"metricTrigger":{"metricName":"HttpQueueLength","timeGrain":"PT1M","statistic":"Average","timeWindow":"PT5M","timeAggregation":"Maximum","operator":"LessThanOrEqual","threshold":0},
  "scaleAction":{"direction":"Decrease","type":"ChangeCount","value":"1","cooldown":"PT10M"}}]}`

// series holds one metric's samples, one a minute.
type series map[string][]Sample

func (s series) metrics(metric string, since time.Time) []Sample {
	var out []Sample
	for _, x := range s[metric] {
		if !x.At.Before(since) {
			out = append(out, x)
		}
	}
	return out
}

func (s series) fill(metric string, from, to time.Time, v float64) {
	for t := from; t.Before(to); t = t.Add(time.Minute) {
		s[metric] = append(s[metric], Sample{t, v})
	}
}

func TestDecide(t *testing.T) {
	var p Profile
	if err := json.Unmarshal([]byte(profileJSON), &p); err != nil {
		t.Fatal(err)
	}
	e, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := series{}
	s.fill("CpuPercentage", t0, t0.Add(10*time.Minute), 90)
	s.fill("HttpQueueLength", t0, t0.Add(10*time.Minute), 12)
	now := t0.Add(10 * time.Minute)
	if n, ok := e.Decide(now, 2, s.metrics); !ok || n != 4 {
		t.Fatalf("hot CPU: %d %v, want 4", n, ok)
	}
	// Within the cooldown, still hot: nothing.
	s.fill("CpuPercentage", now, now.Add(3*time.Minute), 95)
	now = now.Add(3 * time.Minute)
	if n, ok := e.Decide(now, 4, s.metrics); ok {
		t.Fatalf("scaled to %d within the cooldown", n)
	}
	// After it: out again, clamped to the maximum.
	s.fill("CpuPercentage", now, now.Add(3*time.Minute), 95)
	now = now.Add(3 * time.Minute)
	if n, ok := e.Decide(now, 4, s.metrics); !ok || n != 5 {
		t.Fatalf("after the cooldown: %d %v, want 5 (the maximum)", n, ok)
	}
	// Cool CPU but a queue: scale-in needs every scale-in rule.
	s.fill("CpuPercentage", now, now.Add(15*time.Minute), 10)
	s.fill("HttpQueueLength", now, now.Add(15*time.Minute), 3)
	now = now.Add(15 * time.Minute)
	if n, ok := e.Decide(now, 5, s.metrics); ok {
		t.Fatalf("scaled in to %d with requests queued", n)
	}
	s.fill("CpuPercentage", now, now.Add(10*time.Minute), 10)
	s.fill("HttpQueueLength", now, now.Add(10*time.Minute), 0)
	now = now.Add(10 * time.Minute)
	if n, ok := e.Decide(now, 5, s.metrics); !ok || n != 4 {
		t.Fatalf("idle: %d %v, want 4", n, ok)
	}
	// No metrics at all: nothing fires; below the minimum: raised to it.
	if _, ok := e.Decide(now.Add(time.Hour), 3, series{}.metrics); ok {
		t.Fatal("scaled without metrics")
	}
	if n, ok := e.Decide(now.Add(2*time.Hour), 0, series{}.metrics); !ok || n != 1 {
		t.Fatalf("below the minimum: %d %v, want 1", n, ok)
	}
}

func TestNewRejects(t *testing.T) {
	var p Profile
	json.Unmarshal([]byte(profileJSON), &p)
	for name, mut := range map[string]func(*Profile){
		"min > max":      func(p *Profile) { p.Capacity.Minimum = "9" },
		"bad count":      func(p *Profile) { p.Capacity.Maximum = "1e9" },
		"metric":         func(p *Profile) { p.Rules[0].MetricTrigger.MetricName = "DiskQueueLength" },
		"operator":       func(p *Profile) { p.Rules[0].MetricTrigger.Operator = "Between" },
		"window":         func(p *Profile) { p.Rules[0].MetricTrigger.TimeWindow = "PT1M" },
		"cooldown":       func(p *Profile) { p.Rules[0].ScaleAction.Cooldown = "5 minutes" },
		"type":           func(p *Profile) { p.Rules[0].ScaleAction.Type = "PercentChangeCount" },
		"value":          func(p *Profile) { p.Rules[0].ScaleAction.Value = "0" },
		"direction":      func(p *Profile) { p.Rules[0].ScaleAction.Direction = "Sideways" },
		"too many rules": func(p *Profile) { p.Rules = append(p.Rules, make([]Rule, 8)...) },
	} {
		q := p
		q.Rules = append([]Rule(nil), p.Rules...)
		mut(&q)
		if _, err := New(q); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"PT1M": time.Minute, "PT10M": 10 * time.Minute, "PT1H30M": 90 * time.Minute, "P1D": 24 * time.Hour, "P1DT1S": 24*time.Hour + time.Second} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "P", "PT", "1M", "PM", "PT1D", "P1M", "PT1", "PT99999999999H", "P" + strings.Repeat("1", 40) + "D"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}
