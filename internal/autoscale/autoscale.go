// Package autoscale decides instance counts the way Azure Monitor autoscale
// settings (Microsoft.Insights/autoscalesettings) do for an App Service
// plan: a profile's capacity {minimum, maximum, default} and rules, each a
// metricTrigger (metricName CpuPercentage, MemoryPercentage or
// HttpQueueLength; timeGrain, statistic, timeWindow, timeAggregation,
// operator, threshold) and a scaleAction (direction Increase or Decrease,
// type ChangeCount, value, cooldown) (docs/appservice.md §11;
// https://learn.microsoft.com/azure/azure-monitor/autoscale/autoscale-understanding-settings).
//
// As Azure evaluates them: a scale-out rule that fires scales out (the
// largest increase of those that fire wins); otherwise a scale-in happens
// only when every scale-in rule fires (the smallest decrease wins); the
// result is clamped to [minimum, maximum]; a rule does not act within its
// cooldown after the last scale action ("the amount of time to wait after
// a scale operation before scaling again").
//
// The decision is here (Evaluator.Decide, tested with a fake clock), and
// the reading of a setting's profiles (Profiles). The ARM resource is
// internal/arm/autoscale.go (stored by migration 0015), the CLI `monitor
// autoscale` internal/cli/cmd_autoscale.go, and the loop that samples the
// metrics (instance cgroups, the front door's in-flight requests) and
// applies decisions internal/server/autoscale.go. Scheduled profiles
// (recurrence, fixedDate) are stored but not run: the first profile
// without a schedule applies.
package autoscale

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Capacity is a profile's capacity; Azure sends the numbers as strings.
type Capacity struct {
	Minimum string `json:"minimum"`
	Maximum string `json:"maximum"`
	Default string `json:"default"`
}

// MetricTrigger is when a rule fires.
type MetricTrigger struct {
	MetricName        string  `json:"metricName"`
	MetricResourceURI string  `json:"metricResourceUri"`
	TimeGrain         string  `json:"timeGrain"`       // ISO 8601 duration, e.g. PT1M
	Statistic         string  `json:"statistic"`       // Average, Min, Max, Sum (per time grain, across instances)
	TimeWindow        string  `json:"timeWindow"`      // ISO 8601, e.g. PT10M
	TimeAggregation   string  `json:"timeAggregation"` // Average, Minimum, Maximum, Total, Last, Count
	Operator          string  `json:"operator"`        // GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual, Equals, NotEquals
	Threshold         float64 `json:"threshold"`
}

// ScaleAction is what a rule does.
type ScaleAction struct {
	Direction string `json:"direction"` // Increase, Decrease
	Type      string `json:"type"`      // ChangeCount
	Value     string `json:"value"`
	Cooldown  string `json:"cooldown"` // ISO 8601, e.g. PT5M
}

// Rule is one autoscale rule.
type Rule struct {
	MetricTrigger MetricTrigger `json:"metricTrigger"`
	ScaleAction   ScaleAction   `json:"scaleAction"`
}

// Profile is an autoscale profile (no schedule: the default profile).
type Profile struct {
	Name     string   `json:"name"`
	Capacity Capacity `json:"capacity"`
	Rules    []Rule   `json:"rules"`
}

// Sample is one measurement of a metric (already aggregated across the
// plan's instances by the time grain's statistic).
type Sample struct {
	At    time.Time
	Value float64
}

// Metrics gives a metric's samples since a time.
type Metrics func(metric string, since time.Time) []Sample

// Evaluator decides one plan's instance count with one profile.
type Evaluator struct {
	p       compiled
	last    time.Time // the last scale action
	hasLast bool
}

type compiled struct {
	min, max, def int
	rules         []compiledRule
}

type compiledRule struct {
	metric, agg, op string
	threshold       float64
	window          time.Duration
	increase        bool
	value           int
	cooldown        time.Duration
}

// New validates the profile as Azure would and returns its evaluator.
func New(p Profile) (*Evaluator, error) {
	var c compiled
	var err error
	if c.min, err = count("capacity.minimum", p.Capacity.Minimum); err != nil {
		return nil, err
	}
	if c.max, err = count("capacity.maximum", p.Capacity.Maximum); err != nil {
		return nil, err
	}
	if c.def, err = count("capacity.default", p.Capacity.Default); err != nil {
		return nil, err
	}
	if c.min > c.max || c.def < c.min || c.def > c.max {
		return nil, fmt.Errorf("the capacity must satisfy minimum <= default <= maximum; got %d, %d, %d", c.min, c.def, c.max)
	}
	if len(p.Rules) > 10 {
		return nil, fmt.Errorf("a profile has at most 10 rules; got %d", len(p.Rules))
	}
	for i, r := range p.Rules {
		cr, err := compileRule(r)
		if err != nil {
			return nil, fmt.Errorf("rule %d: %w", i, err)
		}
		c.rules = append(c.rules, cr)
	}
	return &Evaluator{p: c}, nil
}

var metricNames = map[string]bool{"cpupercentage": true, "memorypercentage": true, "httpqueuelength": true}

func compileRule(r Rule) (compiledRule, error) {
	t, a := r.MetricTrigger, r.ScaleAction
	cr := compiledRule{metric: t.MetricName, agg: strings.ToLower(t.TimeAggregation), op: strings.ToLower(t.Operator), threshold: t.Threshold}
	if !metricNames[strings.ToLower(t.MetricName)] {
		return cr, fmt.Errorf("metricName %q is not one of CpuPercentage, MemoryPercentage, HttpQueueLength", t.MetricName)
	}
	switch cr.agg {
	case "average", "minimum", "maximum", "total", "last", "count":
	default:
		return cr, fmt.Errorf("timeAggregation %q is not one of Average, Minimum, Maximum, Total, Last, Count", t.TimeAggregation)
	}
	switch cr.op {
	case "greaterthan", "greaterthanorequal", "lessthan", "lessthanorequal", "equals", "notequals":
	default:
		return cr, fmt.Errorf("operator %q is not one of GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual, Equals, NotEquals", t.Operator)
	}
	var err error
	if cr.window, err = ParseDuration(t.TimeWindow); err != nil || cr.window < 5*time.Minute || cr.window > 12*time.Hour {
		return cr, fmt.Errorf("timeWindow %q must be an ISO 8601 duration from PT5M to PT12H", t.TimeWindow)
	}
	if cr.cooldown, err = ParseDuration(a.Cooldown); err != nil || cr.cooldown < time.Minute || cr.cooldown > 7*24*time.Hour {
		return cr, fmt.Errorf("cooldown %q must be an ISO 8601 duration from PT1M to P7D", a.Cooldown)
	}
	switch strings.ToLower(a.Direction) {
	case "increase":
		cr.increase = true
	case "decrease":
	default:
		return cr, fmt.Errorf("direction %q is not Increase or Decrease", a.Direction)
	}
	if !strings.EqualFold(a.Type, "ChangeCount") {
		return cr, fmt.Errorf("scaleAction type %q is not supported; use ChangeCount", a.Type)
	}
	if cr.value, err = count("scaleAction.value", a.Value); err != nil || cr.value < 1 {
		return cr, fmt.Errorf("scaleAction.value %q must be a whole number of at least 1", a.Value)
	}
	return cr, nil
}

func count(field, v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 || n > 1000 {
		return 0, fmt.Errorf("%s %q must be a whole number from 0 to 1000", field, v)
	}
	return n, nil
}

// ParseDuration reads the ISO 8601 durations autoscale uses (PT1M, PT10M,
// PT1H30M, P1D): days, hours, minutes and seconds only.
func ParseDuration(s string) (time.Duration, error) {
	rest, ok := strings.CutPrefix(strings.ToUpper(strings.TrimSpace(s)), "P")
	if !ok || rest == "" || len(rest) > 32 {
		return 0, fmt.Errorf("%q is not an ISO 8601 duration", s)
	}
	var d time.Duration
	inTime := false
	num := ""
	for _, c := range rest {
		switch {
		case c >= '0' && c <= '9':
			num += string(c)
		case c == 'T' && !inTime && num == "":
			inTime = true
		default:
			n, err := strconv.Atoi(num)
			if err != nil || n > 1_000_000 {
				return 0, fmt.Errorf("%q is not an ISO 8601 duration", s)
			}
			var unit time.Duration
			switch {
			case c == 'D' && !inTime:
				unit = 24 * time.Hour
			case c == 'H' && inTime:
				unit = time.Hour
			case c == 'M' && inTime:
				unit = time.Minute
			case c == 'S' && inTime:
				unit = time.Second
			default:
				return 0, fmt.Errorf("%q is not an ISO 8601 duration", s)
			}
			d += time.Duration(n) * unit
			num = ""
		}
	}
	if num != "" || d == 0 {
		return 0, fmt.Errorf("%q is not an ISO 8601 duration", s)
	}
	return d, nil
}

// Default is the profile's default instance count (used when metrics are
// missing).
func (e *Evaluator) Default() int { return e.p.def }

// Decide returns the instance count for the plan now running current
// instances, and whether it changes. A decision that changes the count
// starts that direction's cooldown.
func (e *Evaluator) Decide(now time.Time, current int, m Metrics) (int, bool) {
	target := current
	out, in := 0, -1
	allIn := true
	anyIn := false
	for _, r := range e.p.rules {
		v, ok := aggregate(m(r.metric, now.Add(-r.window)), r.agg)
		fires := ok && compare(v, r.op, r.threshold)
		if r.increase {
			if fires && !e.cooling(now, r) {
				out = max(out, r.value)
			}
			continue
		}
		anyIn = true
		if !fires || e.cooling(now, r) {
			allIn = false
		} else if in < 0 || r.value < in {
			in = r.value
		}
	}
	switch {
	case out > 0:
		target = current + out
	case anyIn && allIn && in > 0:
		target = current - in
	}
	target = min(max(target, e.p.min), e.p.max)
	if target == current {
		return current, false
	}
	e.last, e.hasLast = now, true
	return target, true
}

func (e *Evaluator) cooling(now time.Time, r compiledRule) bool {
	return e.hasLast && now.Sub(e.last) < r.cooldown
}

func aggregate(s []Sample, agg string) (float64, bool) {
	if len(s) == 0 {
		return 0, false
	}
	v := s[0].Value
	switch agg {
	case "average", "total":
		sum := 0.0
		for _, x := range s {
			sum += x.Value
		}
		if agg == "total" {
			return sum, true
		}
		return sum / float64(len(s)), true
	case "minimum":
		for _, x := range s {
			v = min(v, x.Value)
		}
	case "maximum":
		for _, x := range s {
			v = max(v, x.Value)
		}
	case "last":
		return s[len(s)-1].Value, true
	case "count":
		return float64(len(s)), true
	}
	return v, true
}

func compare(v float64, op string, t float64) bool {
	switch op {
	case "greaterthan":
		return v > t
	case "greaterthanorequal":
		return v >= t
	case "lessthan":
		return v < t
	case "lessthanorequal":
		return v <= t
	case "equals":
		return v == t
	case "notequals":
		return v != t
	}
	return false
}
