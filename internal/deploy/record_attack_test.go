package deploy

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/slipway-dev/slipway"
)

// sitesCounter counts the listings of every site of the server.
type sitesCounter struct {
	Store
	n *atomic.Int64
}

func (s sitesCounter) Sites(ctx context.Context, rg string) ([]slipway.Site, error) {
	if rg == "" {
		s.n.Add(1)
	}
	return s.Store.Sites(ctx, rg)
}

// TestAttack_RecordsScanNoOtherSite: a deployment record costs its sender
// one small PUT, and each past the newest keepDeployments prunes one.
// A pruned record has no package, yet dropping "its" package listed the
// deployments of every site on the server to see whether another used it
// — work for the whole platform on every record a tenant sends. A record
// is pruned without looking at any other site.
func TestAttack_RecordsScanNoOtherSite(t *testing.T) {
	var scans atomic.Int64
	st, _, c := newRealCoordinator(t, 0, func(cfg *Config) { cfg.Store = sitesCounter{cfg.Store, &scans} })
	ctx := t.Context()
	site, err := st.FindSite(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	before := scans.Load()
	for i := range keepDeployments + 3 {
		if _, err := c.Record(ctx, site, Record{ID: fmt.Sprintf("rec%d", i), Status: slipway.DeployFailed,
			Message: "m", Deployer: "d", Author: "a"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := scans.Load() - before; n != 0 {
		t.Errorf("%d records listed every site %d times; want none", keepDeployments+3, n)
	}
	ds, err := st.ListDeployments(ctx, "app")
	if err != nil || len(ds) != keepDeployments {
		t.Fatalf("records kept: %d (%v), want %d", len(ds), err, keepDeployments)
	}
}
