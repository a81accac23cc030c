package server

import (
	"context"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/arm"
	"github.com/slipway-dev/slipway/internal/scm"
	"github.com/slipway-dev/slipway/internal/webjobs"
)

// kuduWebJobs answers ARM's WebJobs routes from Kudu, as App Service's
// ARM asks the app's Kudu.
type kuduWebJobs struct{ *scm.Handler }

var _ arm.WebJobs = kuduWebJobs{}

func named(v any) []arm.NamedJSON {
	var out []arm.NamedJSON
	switch l := v.(type) {
	case []scm.TriggeredJob:
		for _, j := range l {
			out = append(out, arm.NamedJSON{Name: j.Name, JSON: j})
		}
	case []scm.ContinuousJob:
		for _, j := range l {
			out = append(out, arm.NamedJSON{Name: j.Name, JSON: j})
		}
	case scm.TriggeredJob:
		out = append(out, arm.NamedJSON{Name: l.Name, JSON: l})
	case scm.ContinuousJob:
		out = append(out, arm.NamedJSON{Name: l.Name, JSON: l})
	}
	return out
}

func (k kuduWebJobs) WebJobList(ctx context.Context, s slipway.Site, kind webjobs.Kind, base string) ([]arm.NamedJSON, error) {
	v, err := k.WebJobs(ctx, s, kind, base)
	return named(v), err
}

func (k kuduWebJobs) WebJobGet(ctx context.Context, s slipway.Site, kind webjobs.Kind, name, base string) (arm.NamedJSON, error) {
	v, err := k.WebJob(ctx, s, kind, name, base)
	if err != nil {
		return arm.NamedJSON{}, err
	}
	return named(v)[0], nil
}

func (k kuduWebJobs) WebJobRunHistory(ctx context.Context, s slipway.Site, name, base string) ([]arm.NamedJSON, error) {
	runs, err := k.WebJobHistory(ctx, s, name, base)
	out := make([]arm.NamedJSON, 0, len(runs))
	for _, r := range runs {
		out = append(out, arm.NamedJSON{Name: r.ID, JSON: r})
	}
	return out, err
}
