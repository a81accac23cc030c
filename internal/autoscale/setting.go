package autoscale

import (
	"encoding/json"
	"fmt"
	"time"
)

// maxProfiles is Azure's limit of profiles in one autoscale setting
// (https://learn.microsoft.com/azure/azure-monitor/autoscale/autoscale-understanding-settings).
const maxProfiles = 20

// Profiles reads and validates an autoscale setting's properties.profiles
// (each as New does) and returns them with the index of the profile that
// applies with no schedule: the first without recurrence or fixedDate
// (Slipway does not run scheduled profiles; with none unscheduled, the
// first profile applies).
func Profiles(raw json.RawMessage) ([]Profile, int, error) {
	var ps []struct {
		Profile
		Recurrence json.RawMessage `json:"recurrence"`
		FixedDate  json.RawMessage `json:"fixedDate"`
	}
	if err := json.Unmarshal(raw, &ps); err != nil {
		return nil, 0, fmt.Errorf("profiles must be an array of autoscale profiles: %v", err)
	}
	if len(ps) == 0 || len(ps) > maxProfiles {
		return nil, 0, fmt.Errorf("an autoscale setting has from 1 to %d profiles; got %d", maxProfiles, len(ps))
	}
	out := make([]Profile, len(ps))
	active := -1
	for i, p := range ps {
		if _, err := New(p.Profile); err != nil {
			return nil, 0, fmt.Errorf("profile %q: %w", p.Name, err)
		}
		out[i] = p.Profile
		unscheduled := (len(p.Recurrence) == 0 || string(p.Recurrence) == "null") && (len(p.FixedDate) == 0 || string(p.FixedDate) == "null")
		if active < 0 && unscheduled {
			active = i
		}
	}
	return out, max(active, 0), nil
}

// Capacity returns the profile's minimum, maximum and default counts
// (valid after New).
func (e *Evaluator) Capacity() (minimum, maximum, def int) { return e.p.min, e.p.max, e.p.def }

// RuleFired describes, for the log, the rules that fire now and would act
// in direction up (Increase) or down (Decrease), as "metric op threshold".
func (e *Evaluator) RuleFired(now time.Time, up bool, m Metrics) []string {
	var out []string
	for _, r := range e.p.rules {
		if r.increase != up {
			continue
		}
		if v, ok := aggregate(m(r.metric, now.Add(-r.window)), r.agg); ok && compare(v, r.op, r.threshold) {
			out = append(out, fmt.Sprintf("%s %s %s %g (was %.4g over %s)", r.agg, r.metric, r.op, r.threshold, v, r.window))
		}
	}
	return out
}
